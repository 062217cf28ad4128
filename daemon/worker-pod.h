/* The pod jobs of a worker: Prepare (and, with the run issue, Run). Shared between them: the
 * preparation itself, which leaves an exclusively locked pod in pods/prepare/. */
#pragma once

#include <stdbool.h>
#include <json-c/json.h>

#include "pod-state.h"
#include "varlink-server.h"
#include "worker.h"

/* A pod that worker_pod_prepare() has prepared. The lock fd keeps it "preparing" until the
 * caller moves it on (prepared, or run). */
typedef struct PreparedPod {
        char uuid[POD_UUID_LEN + 1];
        int lock_fd;
        char *dir;                    /* pods/prepare/<uuid> */
        json_object *manifest;        /* the pod manifest written */
} PreparedPod;

void prepared_pod_done(PreparedPod *p);

/* Checks the spec and every image before anything is created, then creates and prepares the
 * pod. Refusals are sent on call (a Worker.Refused with a public error): then returns 1 and
 * nothing, or an aborted pod, is left. With more, the first reply (continues) announces the
 * UUID as soon as the pod exists. */
int worker_pod_prepare(Worker *w, VarlinkCall *call, json_object *parameters, PreparedPod *ret);

/* rkt's prepareLock, <data>/locks/prepare.lck: shared while a pod is prepared, exclusive while
 * images and trees are collected, so collection never takes what a new pod is about to use. */
int worker_prepare_lock(const char *data_dir, bool exclusive, int *ret);

/* Deletes a pod in place (a garbage place): stage1's gc entrypoint when it ran, every mount
 * below the pod, its directory. -EBUSY when a mount could not be removed. */
int worker_pod_delete(const char *data_dir, const char *uuid, PodPlace place);
