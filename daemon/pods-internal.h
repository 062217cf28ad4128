/* What the io.stage0.Pods methods share: pods.c (prepare, status, list, wait, watch, remove)
 * and pods-run.c (run, run-prepared, stop, logs). Not a public header. */
#pragma once

#include <json-c/json.h>

#include "pod-state.h"
#include "pods.h"
#include "worker-job.h"

#define PODS_INTERFACE "io.stage0.Pods"

typedef enum SubscriberKind {
        SUBSCRIBER_WATCH,
        SUBSCRIBER_WAIT,
} SubscriberKind;

typedef struct Subscriber {
        Pods *pods;
        struct Subscriber *prev, *next;
        SubscriberKind kind;
        VarlinkCall *call;
        json_object *filter;                  /* Watch */
        /* A filtered Watch: the pods it was told of as matching, whose removal (or change to
         * not matching) it is told of too; every removal once the list could not grow. */
        char (*matching)[POD_UUID_LEN + 1];
        size_t n_matching, n_matching_max;
        bool matching_lost;
        char uuid[POD_UUID_LEN + 1];          /* Wait */
        PodState last;                        /* Wait: what was sent last */
} Subscriber;

typedef int (*PodsStartFn)(Pods *p, VarlinkCall *call, json_object *parameters);

/* A Prepare or Run waiting for the default stage1's import. */
typedef struct PendingCall {
        struct PendingCall *next;
        VarlinkCall *call;
        json_object *parameters;
        PodsStartFn start;
} PendingCall;

typedef struct TrackedPod {
        struct TrackedPod *next;
        char uuid[POD_UUID_LEN + 1];
        PodState last;
} TrackedPod;

struct Pods {
        struct LogFollow *follows;            /* Logs and attached Run calls */
        sd_event_source *follow_timer;
        json_object *tpm;                     /* the TPM settings for Worker.Run */
        sd_event *event;
        char *data_dir;
        bool debug;
        char *stage1_path;
        char *stage1_key;                     /* once imported */
        char *stage1_error;                   /* why it could not be */
        WorkerJob *stage1_job;
        PendingCall *pending;
        WorkerJob *jobs;
        unsigned n_jobs;
        Subscriber *subscribers;
        sd_event_source *poll;
        TrackedPod *tracked;
        sd_event_source *track_timer;
        sd_event_source *gc_timer;
        uint64_t gc_interval_usec;
        unsigned auto_gc_running;
        void (*stage1_imported)(const char *key, void *userdata);
        void *userdata;
        WorkerPool *pool;
};


/* One change of one pod, for everybody who cares. kind: created, changed or removed. */
void pods_event(Pods *p, const char *uuid, const char *kind);
/* The pod's exit as its Run job learned it from the worker: pod as pod_status_read_exited()
 * gave it (NULL when that failed), gone when the disk no longer has it. This ends its
 * waiters; watchers are told what the disk says. */
void pods_event_exited(Pods *p, const char *uuid, json_object *pod, bool gone);
/* Whether a Run job will still report the exit of the pod (its worker has not ended). */
bool pods_run_pending(Pods *p, const char *uuid);
int pods_start_job(Pods *p, VarlinkCall *call, const char *method, json_object *parameters,
                   const WorkerJobOps *ops, void *data, void (*data_free)(void *));
void pods_job_done(WorkerJob *j);
/* Resolves a UUID prefix, answering the call itself when that fails (then returns 1). */
int pods_resolve_or_reply(Pods *p, VarlinkCall *call, const char *prefix, char uuid[POD_UUID_LEN + 1]);
/* pods_resolve_or_reply() on parameters.uuid, then the pod's state; 1 when the call was
 * answered (no such pod, ambiguous). */
int pods_find_or_reply(Pods *p, VarlinkCall *call, json_object *parameters,
                       char uuid[POD_UUID_LEN + 1], PodState *ret_state, PodPlace *ret_place);
int pods_reply_no_such_pod(VarlinkCall *call, const char *uuid);
int pods_system_error(VarlinkCall *call, int error, const char *message);
int pods_reply_invalid_state(VarlinkCall *call, const char *uuid, PodState state, const char *expected);
/* {"pod": pod} */
json_object *pods_pod_reply(json_object *pod);
/* The stage1 to name in a worker call: the spec's, or the default (NULL and an
 * InvalidPodSpec sent when there is none). */
json_object *pods_stage1_ref(Pods *p, VarlinkCall *call, json_object *spec);
/* Whether a Prepare or Run must wait for the default stage1's import; then pods_defer()
 * keeps the call until it is done and calls start. */
bool pods_stage1_pending(Pods *p, json_object *spec);
int pods_defer(Pods *p, VarlinkCall *call, json_object *parameters, PodsStartFn start);

/* Looks at the pod every PODS_TRACK_USEC until it is done, for changes nobody reports. */
void pods_track(Pods *p, const char *uuid);

/* pods-gc.c: GarbageCollect, the GC timer, tracking. */
int pods_gc_init(Pods *p, uint64_t gc_interval_usec);
void pods_gc_done(Pods *p);
int pods_method_garbage_collect(VarlinkCall *call, json_object *parameters, void *userdata);

int pods_run_bind(Pods *p, VarlinkServer *server);
void pods_run_free(Pods *p);
