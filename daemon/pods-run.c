/* stage0d's Pods.Run, RunPrepared, Stop and Logs; see pods.h. A pod runs in its worker; the
 * daemon relays the worker's state replies and, for callers who want it, the pod's output,
 * which it reads from the pod's logs (pod-logs.h) — the same way for an attached Run, for
 * Logs and after a restart of stage0d. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "pod-logs.h"
#include "pod-status.h"
#include "pods-internal.h"

#define FOLLOW_POLL_USEC (100ULL * 1000ULL)
#define LOG_BATCH 256

/* LogFollow: reads a pod's new output now and then and hands it to its owner. */
typedef struct LogFollow LogFollow;
typedef void (*LogFollowFn)(LogFollow *f, json_object *chunks, bool done);

struct LogFollow {
        Pods *pods;
        LogFollow *next;
        char uuid[POD_UUID_LEN + 1];
        PodLogReader reader;
        VarlinkCall *call;
        bool until_exit;              /* keep following until the pod no longer runs */
        LogFollowFn fn;
        LogFollow **slot;             /* an owner's pointer to us, cleared when we go */
};

static void follow_free(LogFollow *f) {
        Pods *p = f->pods;

        for (LogFollow **l = &p->follows; *l; l = &(*l)->next)
                if (*l == f) {
                        *l = f->next;
                        break;
                }
        pod_log_reader_close(&f->reader);
        if (f->slot)
                *f->slot = NULL;
        if (f->call) {
                varlink_call_set_cancel(f->call, NULL, NULL);
                varlink_call_unref(f->call);
        }
        free(f);
}

static void on_follow_cancel(VarlinkCall *call, void *userdata) {
        follow_free(userdata);
}

static void follows_update_timer(Pods *p);

/* Reads what is new; returns the chunks (an array, maybe empty). */
static json_object *follow_read(LogFollow *f) {
        json_object *chunks = json_object_new_array();

        if (chunks)
                (void) pod_log_read(&f->reader, chunks);
        return chunks;
}

static int on_follow_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Pods *p = userdata;
        LogFollow *next;

        for (LogFollow *f = p->follows; f; f = next) {
                PodState state = _POD_STATE_INVALID;
                bool done;

                next = f->next;
                (void) pod_probe(p->data_dir, f->uuid, &state, NULL);
                done = !f->until_exit || pod_state_is_final(state);
                f->fn(f, follow_read(f), done);
        }
        follows_update_timer(p);
        return 0;
}

static void follows_update_timer(Pods *p) {
        if (!p->follows) {
                p->follow_timer = sd_event_source_disable_unref(p->follow_timer);
                return;
        }
        if (!p->follow_timer)
                (void) sd_event_add_time_relative(p->event, &p->follow_timer, CLOCK_MONOTONIC,
                                                  FOLLOW_POLL_USEC, FOLLOW_POLL_USEC / 10, on_follow_timer, p);
        else {
                (void) sd_event_source_set_time_relative(p->follow_timer, FOLLOW_POLL_USEC);
                (void) sd_event_source_set_enabled(p->follow_timer, SD_EVENT_ONESHOT);
        }
}

static int follow_new(Pods *p, VarlinkCall *call, const char *uuid, bool until_exit, LogFollowFn fn,
                      LogFollow **ret) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        LogFollow *f;
        PodPlace place;
        int r;

        r = pod_find(p->data_dir, uuid, &place);
        if (r < 0)
                return r;
        dir = pod_path(p->data_dir, place, uuid);
        if (!dir)
                return -ENOMEM;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return NEG_ERRNO();
        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        r = pod_log_reader_open(&f->reader, fd);
        if (r < 0) {
                pod_log_reader_close(&f->reader);
                free(f);
                return r;
        }
        f->pods = p;
        memcpy(f->uuid, uuid, sizeof(f->uuid));
        f->until_exit = until_exit;
        f->fn = fn;
        f->call = varlink_call_ref(call);
        varlink_call_set_cancel(call, on_follow_cancel, f);
        f->next = p->follows;
        p->follows = f;
        follows_update_timer(p);
        *ret = f;
        return 0;
}

void pods_run_free(Pods *p) {
        while (p->follows)
                follow_free(p->follows);
        p->follow_timer = sd_event_source_disable_unref(p->follow_timer);
}

/* Logs: everything kept, in batches; with follow, then what comes until the pod is done. */

static json_object *chunks_reply(json_object *chunks) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "chunks", chunks);
        return o;
}

static void logs_chunks(LogFollow *f, json_object *chunks, bool done) {
        size_t n = json_object_array_length(chunks);
        VarlinkCall *call = f->call;

        /* Large backlogs go in batches, so no reply comes near the message size limit. */
        for (size_t i = 0; i < n; i += LOG_BATCH) {
                json_object *batch = json_object_new_array();

                for (size_t k = i; k < n && k < i + LOG_BATCH; k++)
                        json_object_array_add(batch, json_object_get(json_object_array_get_idx(chunks, k)));
                if (varlink_call_notify(call, chunks_reply(batch)) < 0) {
                        json_object_put(chunks);
                        follow_free(f);
                        return;
                }
        }
        json_object_put(chunks);
        if (done) {
                (void) varlink_call_reply(call, chunks_reply(json_object_new_array()));
                follow_free(f);
        }
}

static int method_logs(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;
        bool follow = json_object_get_boolean(json_object_object_get(parameters, "follow"));
        char uuid[POD_UUID_LEN + 1];
        LogFollow *f;
        PodState state;
        int r;

        r = pods_resolve_or_reply(p, call, json_object_get_string(json_object_object_get(parameters, "uuid")), uuid);
        if (r != 0)
                return r < 0 ? r : 0;
        r = follow_new(p, call, uuid, follow, logs_chunks, &f);
        if (r == -ENOENT)
                return pods_reply_no_such_pod(call, uuid);
        if (r < 0)
                return r;
        r = pod_probe(p->data_dir, uuid, &state, NULL);
        logs_chunks(f, follow_read(f), !follow || r < 0 || pod_state_is_final(state));
        return 0;
}

/* Run and RunPrepared. The job's data is a RunState. */

typedef struct RunState {
        char uuid[POD_UUID_LEN + 1];
        bool output;
        bool running;
        bool ended;                     /* the worker's final reply or failure is in */
        json_object *warnings;
        LogFollow *follow;
} RunState;

static void run_state_free(void *data) {
        RunState *s = data;

        if (s->follow)
                follow_free(s->follow);
        json_object_put(s->warnings);
        free(s);
}

/* pod: the one to send, else read from disk. */
static json_object *run_reply_json(Pods *p, const RunState *s, json_object *pod, json_object *output) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "uuid", json_object_new_string(s->uuid));
        if (pod || pod_status_read(p->data_dir, s->uuid, false, &pod) >= 0)
                json_object_object_add(o, "pod", pod);
        if (output)
                json_object_object_add(o, "output", output);
        if (s->warnings)
                json_object_object_add(o, "warnings", json_object_get(s->warnings));
        return o;
}

/* An attached caller's output, until the pod is done (the final reply then takes over). */
static void run_output(LogFollow *f, json_object *chunks, bool done) {
        if (json_object_array_length(chunks) > 0) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "uuid", json_object_new_string(f->uuid));
                json_object_object_add(o, "output", chunks);
                if (varlink_call_notify(f->call, o) < 0)
                        follow_free(f);
                return;
        }
        json_object_put(chunks);
}

/* Runs to the pod's exit whether the caller is there or not (detached, or gone): the pod's
 * watchers and waiters learn of its changes here. */
static void run_reply(WorkerJob *j, const VarlinkReply *reply) {
        Pods *p = worker_job_userdata(j);
        RunState *s = worker_job_data(j);
        VarlinkCall *call = worker_job_call(j);
        const char *uuid = json_object_get_string(json_object_object_get(reply->parameters, "uuid"));
        json_object *warnings = json_object_object_get(reply->parameters, "warnings");
        bool more = call && varlink_call_wants_more(call);

        if (uuid && !s->uuid[0]) {
                snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
                pods_event(p, s->uuid, "created");
        }
        if (warnings && !s->warnings)
                s->warnings = json_object_get(warnings);
        if (reply->continues && json_object_object_get(reply->parameters, "pid")) {
                s->running = true;
                pods_event(p, s->uuid, "changed");
                if (call && !more) {
                        /* Detached: the caller learns that it runs, and goes. */
                        (void) varlink_call_reply(call, run_reply_json(p, s, NULL, NULL));
                        return;
                }
                if (!call)
                        return;
                if (s->output && !s->follow &&
                    follow_new(p, call, s->uuid, true, run_output, &s->follow) >= 0)
                        s->follow->slot = &s->follow;
                (void) varlink_call_notify(call, run_reply_json(p, s, NULL, NULL));
                return;
        }
        if (reply->continues) {
                if (more)
                        (void) varlink_call_notify(call, run_reply_json(p, s, NULL, NULL));
                return;
        }
        /* Exited: the pod with the exit codes the worker read (a GC may have taken them from
         * the disk by now), for those who listen; to the caller after the rest of the output. */
        s->ended = true;
        if (!call && !p->subscribers)
                return;
        json_object *pod = NULL, *rest = NULL;
        int gone = pod_status_read_exited(p->data_dir, s->uuid,
                                          json_object_object_get(reply->parameters, "apps"), &pod);
        pods_event_exited(p, s->uuid, pod, gone == 1);
        if (!call) {
                json_object_put(pod);
                return;
        }
        if (s->follow) {
                rest = follow_read(s->follow);
                follow_free(s->follow);
                s->follow = NULL;
        }
        (void) varlink_call_reply(call, run_reply_json(p, s, pod, rest));
}

static void run_failed(WorkerJob *j, int r, const VarlinkReply *reply) {
        Pods *p = worker_job_userdata(j);
        RunState *s = worker_job_data(j);
        VarlinkCall *call = worker_job_call(j);

        s->ended = true;
        if (s->follow) {
                follow_free(s->follow);
                s->follow = NULL;
        }
        if (s->uuid[0]) {
                pods_event(p, s->uuid, "changed");
                /* stage1 may well run on without its worker: keep an eye on it. */
                pods_track(p, s->uuid);
        }
        if (r < 0 && s->uuid[0] && call) {
                json_object *e = json_object_new_object();

                json_object_object_add(e, "uuid", json_object_new_string(s->uuid));
                json_object_object_add(e, "reason", json_object_new_string("the pod's worker ended unexpectedly"));
                (void) varlink_call_error(call, PODS_INTERFACE ".Stage1Failed", e);
                return;
        }
        worker_job_fail_default(j, r, reply);
}

static const WorkerJobOps run_ops = {
        .interface = PODS_INTERFACE,
        .reply = run_reply,
        .failed = run_failed,
        .without_caller = true,
        .done = pods_job_done,
};

bool pods_run_pending(Pods *p, const char *uuid) {
        for (WorkerJob *j = p->jobs; j; j = *worker_job_next(j)) {
                const RunState *s = worker_job_data(j);

                if (worker_job_ops(j) == &run_ops && !s->ended && strcmp(s->uuid, uuid) == 0)
                        return true;
        }
        return false;
}

static int start_run(Pods *p, VarlinkCall *call, json_object *parameters) {
        json_object *spec = json_object_object_get(parameters, "spec");
        json_object *uuid = json_object_object_get(parameters, "uuid");
        json_object *params = json_object_new_object();
        RunState *s = calloc(1, sizeof(*s));

        if (!params || !s) {
                json_object_put(params);
                free(s);
                return -ENOMEM;
        }
        s->output = json_object_get_boolean(json_object_object_get(parameters, "output"));
        if (spec) {
                json_object *stage1 = pods_stage1_ref(p, call, spec);

                if (!stage1) {
                        json_object_put(params);
                        free(s);
                        return 0;
                }
                json_object_object_add(params, "spec", json_object_get(spec));
                json_object_object_add(params, "stage1", stage1);
        } else {
                json_object_object_add(params, "uuid", json_object_get(uuid));
                snprintf(s->uuid, sizeof(s->uuid), "%s", json_object_get_string(uuid));
        }
        if (json_object_object_get(parameters, "options"))
                json_object_object_add(params, "options", json_object_get(json_object_object_get(parameters, "options")));
        if (p->tpm)
                json_object_object_add(params, "tpm", json_object_get(p->tpm));
        return pods_start_job(p, call, "io.stage0.Worker.Run", params, &run_ops, s, run_state_free);
}

static int method_run(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;

        if (pods_stage1_pending(p, json_object_object_get(parameters, "spec")))
                return pods_defer(p, call, parameters, start_run);
        return start_run(p, call, parameters);
}

static int method_run_prepared(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;
        char uuid[POD_UUID_LEN + 1];
        _cleanup_json_ json_object *params = NULL;
        PodState state;
        int r;

        r = pods_find_or_reply(p, call, parameters, uuid, &state, NULL);
        if (r != 0)
                return r < 0 ? r : 0;
        if (state != POD_STATE_PREPARED)
                return pods_reply_invalid_state(call, uuid, state, "prepared");
        params = json_object_get(parameters);
        json_object_object_add(params, "uuid", json_object_new_string(uuid));
        return start_run(p, call, params);
}

/* Stop: the stage1 stop entrypoint, in a worker; the reply once the pod has exited. */

static void stop_reply(WorkerJob *j, const VarlinkReply *reply) {
        Pods *p = worker_job_userdata(j);
        const char *uuid = worker_job_data(j);
        json_object *pod = NULL;

        if (reply->continues)
                return;
        pods_event(p, uuid, "changed");
        if (pod_status_read(p->data_dir, uuid, false, &pod) < 0)
                (void) pods_reply_no_such_pod(worker_job_call(j), uuid);
        else
                (void) varlink_call_reply(worker_job_call(j), pods_pod_reply(pod));
        json_object_put(pod);
}

static const WorkerJobOps stop_ops = {
        .interface = PODS_INTERFACE,
        .reply = stop_reply,
        .done = pods_job_done,
};

static int method_stop(VarlinkCall *call, json_object *parameters, void *userdata) {
        Pods *p = userdata;
        json_object *timeout = json_object_object_get(parameters, "timeoutUsec"), *params;
        char uuid[POD_UUID_LEN + 1];
        PodState state;
        char *data;
        int r;

        if (timeout && json_object_get_int64(timeout) < 0)
                return varlink_call_error_invalid_parameter(call, "timeoutUsec");
        r = pods_find_or_reply(p, call, parameters, uuid, &state, NULL);
        if (r != 0)
                return r < 0 ? r : 0;
        if (state != POD_STATE_RUNNING)
                return pods_reply_invalid_state(call, uuid, state, "running");
        params = json_object_get(parameters);
        data = strdup(uuid);
        if (!data) {
                json_object_put(params);
                return -ENOMEM;
        }
        json_object_object_add(params, "uuid", json_object_new_string(uuid));
        return pods_start_job(p, call, "io.stage0.Worker.StopPod", params, &stop_ops, data, free);
}

static const struct {
        const char *method;
        VarlinkMethod fn;
        unsigned flags;
} run_methods[] = {
        { "io.stage0.Pods.Run", method_run, 0 },
        { "io.stage0.Pods.RunPrepared", method_run_prepared, 0 },
        { "io.stage0.Pods.Stop", method_stop, 0 },
        { "io.stage0.Pods.Logs", method_logs, VARLINK_METHOD_REQUIRES_MORE },
};

int pods_run_bind(Pods *p, VarlinkServer *server) {
        for (size_t i = 0; i < ELEMENTSOF(run_methods); i++) {
                int r = varlink_server_bind(server, run_methods[i].method, run_methods[i].fn,
                                            run_methods[i].flags, p);
                if (r < 0)
                        return r;
        }
        return 0;
}
