/* Pods' garbage collection: Pods.GarbageCollect (rkt's mark and sweep, in a worker), the
 * collection stage0d runs by itself on a timer (pods, then images and trees), and the pods it
 * keeps an eye on because nobody reports their changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "pod-status.h"
#include "pods-internal.h"

/* GarbageCollect: rkt's mark and sweep in a worker. */

static void events_for(Pods *p, json_object *uuids, const char *kind) {
        for (size_t i = 0; uuids && i < json_object_array_length(uuids); i++)
                pods_event(p, json_object_get_string(json_object_array_get_idx(uuids, i)), kind);
}

static void gc_reply(WorkerJob *j, const VarlinkReply *reply) {
        Pods *p = worker_job_userdata(j);
        VarlinkCall *call = worker_job_call(j);

        if (reply->continues)
                return;
        events_for(p, json_object_object_get(reply->parameters, "marked"), "changed");
        events_for(p, json_object_object_get(reply->parameters, "collected"), "removed");
        if (call)
                (void) varlink_call_reply(call, json_object_get(reply->parameters));
}

static const WorkerJobOps gc_ops = {
        .interface = PODS_INTERFACE,
        .reply = gc_reply,
        .done = pods_job_done,
};

static int64_t usec_param(json_object *parameters, const char *key, uint64_t fallback) {
        json_object *v = json_object_object_get(parameters, key);

        return v ? json_object_get_int64(v) : (int64_t) fallback;
}

int pods_method_garbage_collect(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;
        int64_t grace = usec_param(parameters, "gracePeriodUsec", PODS_GC_GRACE_DEFAULT_USEC);
        int64_t expire = usec_param(parameters, "expirePreparedUsec", PODS_GC_EXPIRE_PREPARED_DEFAULT_USEC);
        json_object *params;

        if (grace < 0)
                return varlink_call_error_invalid_parameter(call, "gracePeriodUsec");
        if (expire < 0)
                return varlink_call_error_invalid_parameter(call, "expirePreparedUsec");
        params = json_object_new_object();
        if (!params)
                return -ENOMEM;
        json_object_object_add(params, "gracePeriodUsec", json_object_new_int64(grace));
        json_object_object_add(params, "expirePreparedUsec", json_object_new_int64(expire));
        json_object_object_add(params, "markOnly", json_object_new_boolean(
                json_object_get_boolean(json_object_object_get(parameters, "markOnly"))));
        return pods_start_job(p, call, "io.stage0.Worker.CollectPods", params, &gc_ops, NULL, NULL);
}

/* The GC stage0d runs by itself: pods, then images and trees, one job at a time. */

static void auto_gc_done(WorkerJob *j) {
        Pods *p = worker_job_userdata(j);

        p->auto_gc_running--;
        pods_job_done(j);
}

static void auto_gc_reply(WorkerJob *j, const VarlinkReply *reply) {
        gc_reply(j, reply);
}

static void auto_gc_failed(WorkerJob *j, int r, const VarlinkReply *reply) {
        log_warning("Automatic garbage collection failed: %s", r < 0 ? strerror(-r) : reply->error);
}

static const WorkerJobOps auto_gc_ops = {
        .interface = PODS_INTERFACE,
        .reply = auto_gc_reply,
        .failed = auto_gc_failed,
        .done = auto_gc_done,
};

static void auto_gc_start(Pods *p, const char *method, json_object *params) {
        WorkerJob *j;

        if (worker_job_new(&j, NULL, method, params, &auto_gc_ops, p) < 0)
                return;
        *worker_job_next(j) = p->jobs;
        p->jobs = j;
        p->n_jobs++;
        p->auto_gc_running++;
        if (worker_job_start(j, p->pool) < 0)
                auto_gc_done(j);
}

static int on_gc_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Pods *p = userdata;
        json_object *pods = json_object_new_object(), *images = json_object_new_object();

        if (p->auto_gc_running == 0 && pods && images) {
                log_debug("Collecting garbage");
                json_object_object_add(pods, "gracePeriodUsec", json_object_new_int64(PODS_GC_GRACE_DEFAULT_USEC));
                json_object_object_add(pods, "expirePreparedUsec",
                                       json_object_new_int64(PODS_GC_EXPIRE_PREPARED_DEFAULT_USEC));
                auto_gc_start(p, "io.stage0.Worker.CollectPods", TAKE_PTR(pods));
                json_object_object_add(images, "gracePeriodUsec", json_object_new_int64(PODS_GC_IMAGES_GRACE_USEC));
                if (p->stage1_key) {
                        json_object *keep = json_object_new_array();

                        json_object_array_add(keep, json_object_new_string(p->stage1_key));
                        json_object_object_add(images, "keep", keep);
                }
                auto_gc_start(p, "io.stage0.Worker.GarbageCollect", TAKE_PTR(images));
        }
        json_object_put(pods);
        json_object_put(images);
        (void) sd_event_source_set_time_relative(s, p->gc_interval_usec);
        return 0;
}

/* Pods whose changes nobody reports: those left preparing or running by a stage0d that is
 * gone, or whose worker died. Looked at every PODS_TRACK_USEC until they are done. */

static void track(Pods *p, const char *uuid) {
        TrackedPod *t;

        for (t = p->tracked; t; t = t->next)
                if (strcmp(t->uuid, uuid) == 0)
                        return;
        t = calloc(1, sizeof(*t));
        if (!t)
                return;
        snprintf(t->uuid, sizeof(t->uuid), "%s", uuid);
        t->last = _POD_STATE_INVALID;
        t->next = p->tracked;
        p->tracked = t;
}

void pods_track(Pods *p, const char *uuid) {
        track(p, uuid);
}

static int on_track_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Pods *p = userdata;

        for (TrackedPod **l = &p->tracked; *l;) {
                TrackedPod *t = *l;
                PodState state;
                int r = pod_probe(p->data_dir, t->uuid, &state, NULL);

                if (r >= 0 && state != t->last && t->last != _POD_STATE_INVALID)
                        pods_event(p, t->uuid, "changed");
                if (r < 0 || pod_state_is_final(state)) {
                        *l = t->next;
                        free(t);
                        continue;
                }
                t->last = state;
                l = &t->next;
        }
        (void) sd_event_source_set_time_relative(s, PODS_TRACK_USEC);
        return 0;
}

/* At start: whatever a previous stage0d left in flight. */
static void track_in_flight(Pods *p) {
        char **uuids = NULL;

        if (pod_list(p->data_dir, &uuids) < 0)
                return;
        for (size_t i = 0; uuids[i]; i++) {
                PodState state;

                if (pod_probe(p->data_dir, uuids[i], &state, NULL) >= 0 && !pod_state_is_final(state) &&
                    state != POD_STATE_PREPARED)
                        track(p, uuids[i]);
                free(uuids[i]);
        }
        free(uuids);
}

int pods_gc_init(Pods *p, uint64_t gc_interval_usec) {
        int r;

        track_in_flight(p);
        r = sd_event_add_time_relative(p->event, &p->track_timer, CLOCK_MONOTONIC, PODS_TRACK_USEC,
                                       PODS_TRACK_USEC / 10, on_track_timer, p);
        if (r >= 0)
                r = sd_event_source_set_enabled(p->track_timer, SD_EVENT_ON);
        p->gc_interval_usec = gc_interval_usec ? gc_interval_usec : PODS_GC_INTERVAL_DEFAULT_USEC;
        if (r >= 0 && gc_interval_usec != UINT64_MAX) {
                r = sd_event_add_time_relative(p->event, &p->gc_timer, CLOCK_MONOTONIC, p->gc_interval_usec,
                                               1000000, on_gc_timer, p);
                if (r >= 0)
                        r = sd_event_source_set_enabled(p->gc_timer, SD_EVENT_ON);
        }
        return r < 0 ? r : 0;
}

void pods_gc_done(Pods *p) {
        p->track_timer = sd_event_source_disable_unref(p->track_timer);
        p->gc_timer = sd_event_source_disable_unref(p->gc_timer);
        while (p->tracked) {
                TrackedPod *t = p->tracked;

                p->tracked = t->next;
                free(t);
        }
}
