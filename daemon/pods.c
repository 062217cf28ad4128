/* stage0d's io.stage0.Pods methods; see pods.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "pod-state.h"
#include "pod-status.h"
#include "pods-internal.h"

/* Errors. */

int pods_reply_no_such_pod(VarlinkCall *call, const char *uuid) {
        json_object *p = json_object_new_object();

        json_object_object_add(p, "uuid", json_object_new_string(uuid));
        return varlink_call_error(call, PODS_INTERFACE ".NoSuchPod", p);
}

int pods_resolve_or_reply(Pods *p, VarlinkCall *call, const char *prefix, char uuid[POD_UUID_LEN + 1]) {
        char **matches = NULL;
        int r;

        r = pod_resolve(p->data_dir, prefix, uuid, &matches);
        if (r == -ENOENT || r == -EINVAL) {
                (void) pods_reply_no_such_pod(call, prefix);
                return 1;
        }
        if (r == -ENOTUNIQ) {
                json_object *o = json_object_new_object(), *m = json_object_new_array();

                for (size_t i = 0; matches && matches[i]; i++) {
                        json_object_array_add(m, json_object_new_string(matches[i]));
                        free(matches[i]);
                }
                free(matches);
                json_object_object_add(o, "prefix", json_object_new_string(prefix));
                json_object_object_add(o, "matches", m);
                (void) varlink_call_error(call, PODS_INTERFACE ".AmbiguousPod", o);
                return 1;
        }
        return r;
}

int pods_find_or_reply(Pods *p, VarlinkCall *call, json_object *parameters,
                       char uuid[POD_UUID_LEN + 1], PodState *ret_state, PodPlace *ret_place) {
        int r;

        r = pods_resolve_or_reply(p, call, json_object_get_string(json_object_object_get(parameters, "uuid")), uuid);
        if (r != 0)
                return r;
        r = pod_probe(p->data_dir, uuid, ret_state, ret_place);
        if (r == -ENOENT) {
                (void) pods_reply_no_such_pod(call, uuid);
                return 1;
        }
        return r;
}

int pods_system_error(VarlinkCall *call, int error, const char *message) {
        return reply_system_error(call, PODS_INTERFACE, error, message);
}

/* Subscribers. */

static void subscriber_free(Subscriber *s) {
        Pods *p = s->pods;

        if (s->prev)
                s->prev->next = s->next;
        else if (p->subscribers == s)
                p->subscribers = s->next;
        if (s->next)
                s->next->prev = s->prev;
        if (s->call) {
                varlink_call_set_cancel(s->call, NULL, NULL);
                varlink_call_unref(s->call);
        }
        json_object_put(s->filter);
        free(s->matching);
        free(s);
}

static void on_subscriber_cancel(VarlinkCall *call, void *userdata) {
        subscriber_free(userdata);
}

static void pods_update_poll(Pods *p);

static Subscriber *subscriber_new(Pods *p, VarlinkCall *call, SubscriberKind kind) {
        Subscriber *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->pods = p;
        s->kind = kind;
        s->last = _POD_STATE_INVALID;
        s->call = varlink_call_ref(call);
        varlink_call_set_cancel(call, on_subscriber_cancel, s);
        s->next = p->subscribers;
        if (p->subscribers)
                p->subscribers->prev = s;
        p->subscribers = s;
        return s;
}

static json_object *event_json(const char *kind, const char *uuid, json_object *pod) {
        json_object *o = json_object_new_object(), *e = json_object_new_object();

        json_object_object_add(e, "kind", json_object_new_string(kind));
        if (uuid)
                json_object_object_add(e, "uuid", json_object_new_string(uuid));
        if (pod)
                json_object_object_add(e, "pod", json_object_get(pod));
        json_object_object_add(o, "event", e);
        return o;
}

json_object *pods_pod_reply(json_object *pod) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "pod", json_object_get(pod));
        return o;
}

/* Tells a waiter the pod's state; ends the wait once the pod has finished or is gone. While
 * the pod's Run job is on, its report ends the wait (exit_report): what the disk says then may
 * be a GC's work, the exit codes deleted or the pod gone, and the job has the codes. */
static void waiter_update(Subscriber *s, json_object *pod, bool exit_report) {
        PodState state = pod ? pod_state_from_string(json_object_get_string(json_object_object_get(pod, "state")))
                             : _POD_STATE_INVALID;

        if ((!pod || pod_state_is_final(state)) && !exit_report && pods_run_pending(s->pods, s->uuid))
                return;
        if (!pod) {
                (void) pods_reply_no_such_pod(s->call, s->uuid);
                subscriber_free(s);
                return;
        }
        if (pod_state_is_final(state)) {
                (void) varlink_call_reply(s->call, pods_pod_reply(pod));
                subscriber_free(s);
                return;
        }
        if (state != s->last && varlink_call_wants_more(s->call))
                (void) varlink_call_notify(s->call, pods_pod_reply(pod));
        s->last = state;
}

static void matching_set(Subscriber *s, const char *uuid, bool matches) {
        size_t i;

        for (i = 0; i < s->n_matching && strcmp(s->matching[i], uuid) != 0; i++)
                ;
        if (!matches && i < s->n_matching)
                memmove(s->matching[i], s->matching[--s->n_matching], sizeof(s->matching[i]));
        if (!matches || i < s->n_matching)
                return;
        if (s->n_matching == s->n_matching_max) {
                size_t n = s->n_matching_max ? 2 * s->n_matching_max : 16;
                void *m = reallocarray(s->matching, n, sizeof(s->matching[0]));

                if (!m) {
                        s->matching_lost = true;
                        return;
                }
                s->matching = m;
                s->n_matching_max = n;
        }
        snprintf(s->matching[s->n_matching++], sizeof(s->matching[0]), "%s", uuid);
}

/* Whether a watcher hears of a change: when the pod matches its filter before or after it.
 * Without its list of matching pods (it could not grow once) it hears of every removal. */
static bool watcher_cares(Subscriber *s, const char *uuid, json_object *pod) {
        bool before = false, after = pod && pod_filter_match(s->filter, pod);

        if (!s->filter)
                return true;
        if (s->matching_lost)
                return after || !pod;
        for (size_t i = 0; !before && i < s->n_matching; i++)
                before = strcmp(s->matching[i], uuid) == 0;
        if (before != after)
                matching_set(s, uuid, after);
        return before || after;
}

/* pod is NULL when it has gone; waiters may get a different view of it than watchers. */
static void event_send(Pods *p, const char *uuid, const char *kind, json_object *pod,
                       json_object *waiters_pod, bool exit_report) {
        Subscriber *next;

        for (Subscriber *s = p->subscribers; s; s = next) {
                next = s->next;
                if (s->kind == SUBSCRIBER_WAIT) {
                        if (strcmp(s->uuid, uuid) == 0)
                                waiter_update(s, waiters_pod, exit_report);
                        continue;
                }
                if (!watcher_cares(s, uuid, pod))
                        continue;
                if (varlink_call_notify(s->call, event_json(pod ? kind : "removed", uuid, pod)) < 0)
                        subscriber_free(s);
        }
        pods_update_poll(p);
}

void pods_event(Pods *p, const char *uuid, const char *kind) {
        _cleanup_json_ json_object *pod = NULL;

        /* Reading the pod is most of the cost of an event: only for somebody who listens. */
        if (!p->subscribers)
                return;
        (void) pod_status_read(p->data_dir, uuid, false, &pod);
        event_send(p, uuid, kind, pod, pod, false);
}

void pods_event_exited(Pods *p, const char *uuid, json_object *pod, bool gone) {
        event_send(p, uuid, "changed", gone ? NULL : pod, pod, true);
}

/* Changes nobody tells stage0d of (a pod's stage1 exiting while its worker is gone) are
 * found by looking, but only at the pods somebody waits for. */
static int on_poll(sd_event_source *source, uint64_t usec, void *userdata) {
        Pods *p = userdata;
        Subscriber *next;

        for (Subscriber *s = p->subscribers; s; s = next) {
                PodState state;

                next = s->next;
                if (s->kind != SUBSCRIBER_WAIT)
                        continue;
                if (pod_probe(p->data_dir, s->uuid, &state, NULL) < 0 || state != s->last) {
                        _cleanup_json_ json_object *pod = NULL;

                        (void) pod_status_read(p->data_dir, s->uuid, false, &pod);
                        waiter_update(s, pod, false);
                }
        }
        pods_update_poll(p);
        return 0;
}

static void pods_update_poll(Pods *p) {
        bool waiting = false;

        for (Subscriber *s = p->subscribers; s && !waiting; s = s->next)
                waiting = s->kind == SUBSCRIBER_WAIT;
        if (!waiting) {
                p->poll = sd_event_source_disable_unref(p->poll);
                return;
        }
        if (!p->poll)
                (void) sd_event_add_time_relative(p->event, &p->poll, CLOCK_MONOTONIC, PODS_POLL_USEC,
                                                  PODS_POLL_USEC / 10, on_poll, p);
        else {
                (void) sd_event_source_set_time_relative(p->poll, PODS_POLL_USEC);
                (void) sd_event_source_set_enabled(p->poll, SD_EVENT_ONESHOT);
        }
}

/* Jobs: one worker per pod operation. */

void pods_job_done(WorkerJob *j) {
        Pods *p = worker_job_userdata(j);

        for (WorkerJob **l = &p->jobs; *l; l = worker_job_next(*l))
                if (*l == j) {
                        *l = *worker_job_next(j);
                        break;
                }
        p->n_jobs--;
        worker_job_free(j);
}

int pods_start_job(Pods *p, VarlinkCall *call, const char *method, json_object *parameters,
                          const WorkerJobOps *ops, void *data, void (*data_free)(void *)) {
        WorkerJob *j;
        int r;

        if (p->n_jobs >= PODS_WORKERS_MAX) {
                json_object *e = json_object_new_object();

                json_object_put(parameters);
                if (data_free)
                        data_free(data);
                json_object_object_add(e, "limit", json_object_new_string("podWorkers"));
                json_object_object_add(e, "max", json_object_new_int(PODS_WORKERS_MAX));
                return varlink_call_error(call, PODS_INTERFACE ".LimitExceeded", e);
        }
        r = worker_job_new(&j, call, method, parameters, ops, p);
        if (r < 0) {
                if (data_free)
                        data_free(data);
                return r;
        }
        worker_job_set_data(j, data, data_free);
        *worker_job_next(j) = p->jobs;
        p->jobs = j;
        p->n_jobs++;
        r = worker_job_start(j, p->pool);
        if (r < 0) {
                (void) pods_system_error(call, r, "cannot start the pod's worker");
                pods_job_done(j);
        }
        return 0;
}

/* Prepare. The job's data is the pod's UUID once the worker has announced it. */

static void prepare_reply(WorkerJob *j, const VarlinkReply *reply) {
        Pods *p = worker_job_userdata(j);
        VarlinkCall *call = worker_job_call(j);
        const char *uuid = json_object_get_string(json_object_object_get(reply->parameters, "uuid"));
        _cleanup_json_ json_object *pod = NULL;
        json_object *o;

        if (!uuid)
                return;
        if (reply->continues) {
                char *copy = strdup(uuid);

                worker_job_set_data(j, copy, free);
                pods_event(p, uuid, "created");
                if (varlink_call_wants_more(call) && pod_status_read(p->data_dir, uuid, false, &pod) >= 0) {
                        o = json_object_new_object();
                        json_object_object_add(o, "uuid", json_object_new_string(uuid));
                        json_object_object_add(o, "pod", TAKE_PTR(pod));
                        (void) varlink_call_notify(call, o);
                }
                return;
        }
        pods_event(p, uuid, "changed");
        if (pod_status_read(p->data_dir, uuid, false, &pod) < 0) {
                (void) pods_system_error(call, -ENOENT, "the prepared pod has disappeared");
                return;
        }
        o = json_object_new_object();
        json_object_object_add(o, "uuid", json_object_new_string(uuid));
        json_object_object_add(o, "pod", TAKE_PTR(pod));
        (void) varlink_call_reply(call, o);
}

/* A worker that dies while preparing leaves an aborted prepare: say so, with its UUID. */
static void prepare_failed(WorkerJob *j, int r, const VarlinkReply *reply) {
        Pods *p = worker_job_userdata(j);
        const char *uuid = worker_job_data(j);
        VarlinkCall *call = worker_job_call(j);

        if (uuid) {
                pods_event(p, uuid, "changed");
                pods_track(p, uuid);
        }
        if (r < 0 && uuid && call) {
                json_object *e = json_object_new_object();

                json_object_object_add(e, "uuid", json_object_new_string(uuid));
                json_object_object_add(e, "reason", json_object_new_string("the pod's worker ended unexpectedly"));
                (void) varlink_call_error(call, PODS_INTERFACE ".PrepareAborted", e);
                return;
        }
        worker_job_fail_default(j, r, reply);
}

static const WorkerJobOps prepare_ops = {
        .interface = PODS_INTERFACE,
        .reply = prepare_reply,
        .failed = prepare_failed,
        .done = pods_job_done,
};

json_object *pods_stage1_ref(Pods *p, VarlinkCall *call, json_object *spec) {
        json_object *stage1 = json_object_object_get(spec, "stage1Image"), *e;
        char reason[512];

        if (stage1)
                return json_object_get(stage1);
        if (p->stage1_key) {
                stage1 = json_object_new_object();
                json_object_object_add(stage1, "id", json_object_new_string(p->stage1_key));
                return stage1;
        }
        e = json_object_new_object();
        snprintf(reason, sizeof(reason), "no stage1 image: name one%s%s",
                 p->stage1_error ? ", the default could not be imported: " : ", or start stage0d with --stage1-image",
                 p->stage1_error ? p->stage1_error : "");
        json_object_object_add(e, "field", json_object_new_string("spec.stage1Image"));
        json_object_object_add(e, "reason", json_object_new_string(reason));
        (void) varlink_call_error(call, PODS_INTERFACE ".InvalidPodSpec", e);
        return NULL;
}

bool pods_stage1_pending(Pods *p, json_object *spec) {
        return p->stage1_job && !json_object_object_get(spec, "stage1Image");
}

int pods_defer(Pods *p, VarlinkCall *call, json_object *parameters, PodsStartFn start) {
        PendingCall *pc = calloc(1, sizeof(*pc));

        if (!pc)
                return -ENOMEM;
        pc->call = varlink_call_ref(call);
        pc->parameters = json_object_get(parameters);
        pc->start = start;
        pc->next = p->pending;
        p->pending = pc;
        return 0;
}

static int start_prepare(Pods *p, VarlinkCall *call, json_object *parameters) {
        json_object *spec = json_object_object_get(parameters, "spec");
        json_object *params, *stage1 = pods_stage1_ref(p, call, spec);

        if (!stage1)
                return 0;
        params = json_object_new_object();
        if (!params) {
                json_object_put(stage1);
                return -ENOMEM;
        }
        json_object_object_add(params, "spec", json_object_get(spec));
        json_object_object_add(params, "stage1", stage1);
        return pods_start_job(p, call, "io.stage0.Worker.Prepare", params, &prepare_ops, NULL, NULL);
}

static int method_prepare(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;

        /* While the default stage1 is being imported, a pod that needs it waits. */
        if (pods_stage1_pending(p, json_object_object_get(parameters, "spec")))
                return pods_defer(p, call, parameters, start_prepare);
        return start_prepare(p, call, parameters);
}

/* The default stage1, imported by a worker when stage0d starts. */

static void stage1_reply(WorkerJob *j, const VarlinkReply *reply) {
        Pods *p = worker_job_userdata(j);
        const char *key = json_object_get_string(json_object_object_get(reply->parameters, "key"));

        if (!reply->continues && key) {
                free(p->stage1_key);
                p->stage1_key = strdup(key);
                log_info("Default stage1 image %s is %s", p->stage1_path, key);
                if (p->stage1_imported)
                        p->stage1_imported(key, p->userdata);
        }
}

static void stage1_failed(WorkerJob *j, int r, const VarlinkReply *reply) {
        Pods *p = worker_job_userdata(j);
        char buf[512];

        if (r < 0)
                snprintf(buf, sizeof(buf), "%s: the import worker ended unexpectedly", p->stage1_path);
        else
                snprintf(buf, sizeof(buf), "%s: %s", p->stage1_path,
                         json_object_to_json_string_ext(reply->parameters, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        free(p->stage1_error);
        p->stage1_error = strdup(buf);
        log_error("Cannot import the default stage1 image %s", buf);
}

static void stage1_done(WorkerJob *j) {
        Pods *p = worker_job_userdata(j);

        worker_job_free(j);
        p->stage1_job = NULL;
        /* The waiting calls go, in the order they came. */
        PendingCall *reversed = NULL;
        while (p->pending) {
                PendingCall *pc = p->pending;

                p->pending = pc->next;
                pc->next = reversed;
                reversed = pc;
        }
        while (reversed) {
                PendingCall *pc = reversed;
                int r;

                reversed = pc->next;
                if (varlink_call_is_open(pc->call) && (r = pc->start(p, pc->call, pc->parameters)) < 0)
                        (void) pods_system_error(pc->call, r, NULL);
                varlink_call_unref(pc->call);
                json_object_put(pc->parameters);
                free(pc);
        }
}

static const WorkerJobOps stage1_ops = {
        .interface = PODS_INTERFACE,
        .reply = stage1_reply,
        .failed = stage1_failed,
        .done = stage1_done,
};

static int pods_import_stage1(Pods *p) {
        json_object *params = json_object_new_object();
        int r;

        if (!params)
                return -ENOMEM;
        json_object_object_add(params, "path", json_object_new_string(p->stage1_path));
        r = worker_job_new(&p->stage1_job, NULL, "io.stage0.Worker.Import", params, &stage1_ops, p);
        if (r < 0)
                return r;
        r = worker_job_start(p->stage1_job, p->pool);
        if (r < 0)
                p->stage1_job = worker_job_free(p->stage1_job);
        return r;
}

/* Status, List, Wait, Watch: read from disk. */

static int method_status(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;
        char uuid[POD_UUID_LEN + 1];
        _cleanup_json_ json_object *pod = NULL;
        int r;

        r = pods_resolve_or_reply(p, call, json_object_get_string(json_object_object_get(parameters, "uuid")), uuid);
        if (r != 0)
                return r < 0 ? r : 0;
        r = pod_status_read(p->data_dir, uuid, true, &pod);
        if (r == -ENOENT)
                return pods_reply_no_such_pod(call, uuid);
        if (r < 0)
                return r;
        return varlink_call_reply(call, pods_pod_reply(pod));
}

static int compare_created(const void *a, const void *b) {
        json_object *x = *(json_object *const *) a, *y = *(json_object *const *) b;
        int64_t cx = json_object_get_int64(json_object_object_get(x, "createdUsec"));
        int64_t cy = json_object_get_int64(json_object_object_get(y, "createdUsec"));

        if (cx != cy)
                return cx < cy ? -1 : 1;
        return strcmp(json_object_get_string(json_object_object_get(x, "uuid")),
                      json_object_get_string(json_object_object_get(y, "uuid")));
}

/* Every pod that matches filter, oldest first. */
static int list_pods(Pods *p, json_object *filter, bool manifests, json_object **ret) {
        json_object *list = json_object_new_array();
        char **uuids = NULL;
        int r;

        if (!list)
                return -ENOMEM;
        r = pod_list(p->data_dir, &uuids);
        if (r < 0) {
                json_object_put(list);
                return r;
        }
        for (size_t i = 0; uuids[i]; i++) {
                json_object *pod = NULL;

                if (pod_status_read(p->data_dir, uuids[i], manifests, &pod) < 0)
                        ;  /* gone meanwhile */
                else if (!pod_filter_match(filter, pod))
                        json_object_put(pod);
                else
                        json_object_array_add(list, pod);
                free(uuids[i]);
        }
        free(uuids);
        json_object_array_sort(list, compare_created);
        *ret = list;
        return 0;
}

static int method_list(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;
        json_object *list, *o;
        int r;

        r = list_pods(p, json_object_object_get(parameters, "filter"),
                      json_object_get_boolean(json_object_object_get(parameters, "manifests")), &list);
        if (r < 0)
                return r;
        o = json_object_new_object();
        json_object_object_add(o, "pods", list);
        return varlink_call_reply(call, o);
}

static int method_wait(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;
        _cleanup_json_ json_object *pod = NULL;
        Subscriber *s;
        char uuid[POD_UUID_LEN + 1];
        int r;

        r = pods_resolve_or_reply(p, call, json_object_get_string(json_object_object_get(parameters, "uuid")), uuid);
        if (r != 0)
                return r < 0 ? r : 0;
        r = pod_status_read(p->data_dir, uuid, false, &pod);
        if (r == -ENOENT)
                return pods_reply_no_such_pod(call, uuid);
        if (r < 0)
                return r;
        s = subscriber_new(p, call, SUBSCRIBER_WAIT);
        if (!s)
                return -ENOMEM;
        memcpy(s->uuid, uuid, sizeof(s->uuid));
        waiter_update(s, pod, false);
        pods_update_poll(p);
        return 0;
}

static int method_watch(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;
        json_object *filter = json_object_object_get(parameters, "filter"), *list = NULL;
        Subscriber *s;
        int r;

        r = list_pods(p, filter, false, &list);
        if (r < 0)
                return r;
        s = subscriber_new(p, call, SUBSCRIBER_WATCH);
        if (!s) {
                json_object_put(list);
                return -ENOMEM;
        }
        s->filter = json_object_get(filter);
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *pod = json_object_array_get_idx(list, i);
                const char *uuid = json_object_get_string(json_object_object_get(pod, "uuid"));

                if (filter)
                        matching_set(s, uuid, true);
                r = varlink_call_notify(call, event_json("existing", uuid, pod));
                if (r < 0)
                        break;
        }
        json_object_put(list);
        if (r >= 0)
                r = varlink_call_notify(call, event_json("synced", NULL, NULL));
        if (r < 0) {
                subscriber_free(s);
                return r == -ENOTCONN || r == -EALREADY ? 0 : r;
        }
        return 0;
}

/* Remove: the pod goes to its garbage place now (so it is no longer prepared or exited to
 * anybody), then a worker deletes it under its lock. */

static void remove_reply(WorkerJob *j, const VarlinkReply *reply) {
        Pods *p = worker_job_userdata(j);
        const char *uuid = worker_job_data(j);
        json_object *o;

        if (reply->continues)
                return;
        pods_event(p, uuid, "removed");
        o = json_object_new_object();
        json_object_object_add(o, "uuid", json_object_new_string(uuid));
        (void) varlink_call_reply(worker_job_call(j), o);
}

static const WorkerJobOps remove_ops = {
        .interface = PODS_INTERFACE,
        .reply = remove_reply,
        .done = pods_job_done,
};

int pods_reply_invalid_state(VarlinkCall *call, const char *uuid, PodState state, const char *expected) {
        json_object *e = json_object_new_object(), *x = json_object_new_array();
        _cleanup_free_ char *copy = strdup(expected);
        char *save = NULL;

        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
                json_object_array_add(x, json_object_new_string(t));
        json_object_object_add(e, "uuid", json_object_new_string(uuid));
        json_object_object_add(e, "state", json_object_new_string(pod_state_to_string(state)));
        json_object_object_add(e, "expected", x);
        return varlink_call_error(call, PODS_INTERFACE ".InvalidState", e);
}

static int method_remove(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;
        char uuid[POD_UUID_LEN + 1];
        PodState state;
        PodPlace place, to;
        json_object *params;
        char *data;
        int r;

        r = pods_find_or_reply(p, call, parameters, uuid, &state, &place);
        if (r != 0)
                return r < 0 ? r : 0;
        switch (state) {
        case POD_STATE_PREPARED:
        case POD_STATE_ABORTED_PREPARE:
                to = POD_PLACE_GARBAGE;
                break;
        case POD_STATE_EXITED:
                to = POD_PLACE_EXITED_GARBAGE;
                break;
        case POD_STATE_EXITED_GARBAGE:
        case POD_STATE_GARBAGE:
                to = place;
                break;
        default:
                return pods_reply_invalid_state(call, uuid, state,
                                           "prepared,abortedPrepare,exited,exitedGarbage,garbage");
        }
        if (to != place && (r = pod_move(p->data_dir, uuid, place, to)) < 0)
                return r == -ENOENT ? pods_reply_no_such_pod(call, uuid) : r;
        params = json_object_new_object();
        data = strdup(uuid);
        if (!params || !data) {
                json_object_put(params);
                free(data);
                return -ENOMEM;
        }
        json_object_object_add(params, "uuid", json_object_new_string(uuid));
        pods_event(p, uuid, "changed");
        return pods_start_job(p, call, "io.stage0.Worker.RemovePod", params, &remove_ops, data, free);
}

/* Setup. */

int pods_new(Pods **ret, const PodsConfig *config) {
        Pods *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(config->event);
        p->debug = config->debug;
        p->stage1_imported = config->stage1_imported;
        p->pool = config->pool;
        p->userdata = config->userdata;
        p->data_dir = strdup(config->data_dir);
        if (!p->data_dir) {
                pods_free(p);
                return -ENOMEM;
        }
        if (config->tpm_tcti || config->tpm_pcr >= 0 || config->tpm_timeout_usec > 0) {
                p->tpm = json_object_new_object();
                if (!p->tpm) {
                        pods_free(p);
                        return -ENOMEM;
                }
                if (config->tpm_tcti)
                        json_object_object_add(p->tpm, "tcti", json_object_new_string(config->tpm_tcti));
                if (config->tpm_pcr >= 0)
                        json_object_object_add(p->tpm, "pcr", json_object_new_int(config->tpm_pcr));
                if (config->tpm_timeout_usec > 0)
                        json_object_object_add(p->tpm, "timeoutUsec", json_object_new_int64((int64_t) config->tpm_timeout_usec));
        }
        r = pod_places_init(p->data_dir);
        if (r < 0) {
                pods_free(p);
                return r;
        }
        r = pods_gc_init(p, config->gc_interval_usec);
        if (r < 0) {
                pods_free(p);
                return r;
        }
        if (config->stage1_image) {
                p->stage1_path = strdup(config->stage1_image);
                if (!p->stage1_path || (r = pods_import_stage1(p)) < 0) {
                        pods_free(p);
                        return r < 0 ? r : -ENOMEM;
                }
        }
        *ret = p;
        return 0;
}

Pods *pods_free(Pods *p) {
        if (!p)
                return NULL;
        while (p->subscribers)
                subscriber_free(p->subscribers);
        while (p->pending) {
                PendingCall *pc = p->pending;

                p->pending = pc->next;
                varlink_call_unref(pc->call);
                json_object_put(pc->parameters);
                free(pc);
        }
        pods_run_free(p);
        while (p->jobs) {
                WorkerJob *j = p->jobs;

                p->jobs = *worker_job_next(j);
                worker_job_free(j);
        }
        worker_job_free(p->stage1_job);
        sd_event_source_disable_unref(p->poll);
        pods_gc_done(p);
        json_object_put(p->tpm);
        free(p->stage1_path);
        free(p->stage1_key);
        free(p->stage1_error);
        free(p->data_dir);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}

void pods_shutdown(Pods *p) {
        while (p->subscribers) {
                Subscriber *s = p->subscribers;

                /* A final reply ends the stream, so the connection can close. */
                if (s->kind == SUBSCRIBER_WATCH)
                        (void) varlink_call_reply(s->call, event_json("synced", NULL, NULL));
                else
                        (void) pods_system_error(s->call, -ESHUTDOWN, "stage0d is shutting down");
                subscriber_free(s);
        }
        pods_update_poll(p);
}

static const struct {
        const char *method;
        VarlinkMethod fn;
        unsigned flags;
} pods_methods[] = {
        { "io.stage0.Pods.Prepare", method_prepare, 0 },
        { "io.stage0.Pods.Status", method_status, 0 },
        { "io.stage0.Pods.List", method_list, 0 },
        { "io.stage0.Pods.Wait", method_wait, 0 },
        { "io.stage0.Pods.Watch", method_watch, VARLINK_METHOD_REQUIRES_MORE },
        { "io.stage0.Pods.Remove", method_remove, 0 },
        { "io.stage0.Pods.GarbageCollect", pods_method_garbage_collect, 0 },
};

int pods_bind(Pods *p, VarlinkServer *server) {
        for (size_t i = 0; i < ELEMENTSOF(pods_methods); i++) {
                int r = varlink_server_bind(server, pods_methods[i].method, pods_methods[i].fn,
                                            pods_methods[i].flags, p);
                if (r < 0)
                        return r;
        }
        return pods_run_bind(p, server);
}
