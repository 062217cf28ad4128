/* A client call served by a worker; see worker-job.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker-job.h"

struct WorkerJob {
        WorkerJob *next;
        VarlinkCall *call;            /* NULL once the caller has gone */
        char *method;
        json_object *parameters;
        WorkerProcess *worker;
        const WorkerJobOps *ops;
        void *userdata;
        void *data;
        void (*data_free)(void *);
        bool over;
        bool has_caller;              /* started for a client call (else internal) */
};

int reply_system_error(VarlinkCall *call, const char *interface, int error, const char *message) {
        json_object *p = json_object_new_object();
        const char *name = strerrorname_np(error < 0 ? -error : error);
        char full[128];

        if (!p)
                return -ENOMEM;
        snprintf(full, sizeof(full), "%s.SystemError", interface);
        json_object_object_add(p, "errno", json_object_new_int(error < 0 ? -error : error));
        json_object_object_add(p, "errnoName", json_object_new_string(name ? name : ""));
        if (message)
                json_object_object_add(p, "message", json_object_new_string(message));
        return varlink_call_error(call, full, p);
}

static void on_call_cancel(VarlinkCall *call, void *userdata) {
        WorkerJob *j = userdata;

        j->call = varlink_call_unref(j->call);
}

int worker_job_new(WorkerJob **ret, VarlinkCall *call, const char *method, json_object *parameters,
                   const WorkerJobOps *ops, void *userdata) {
        WorkerJob *j = calloc(1, sizeof(*j));

        if (!j || !(j->method = strdup(method))) {
                free(j);
                json_object_put(parameters);
                return -ENOMEM;
        }
        j->parameters = parameters;
        j->ops = ops;
        j->userdata = userdata;
        if (call) {
                j->has_caller = true;
                j->call = varlink_call_ref(call);
                varlink_call_set_cancel(call, on_call_cancel, j);
        }
        *ret = j;
        return 0;
}

WorkerJob *worker_job_free(WorkerJob *j) {
        if (!j)
                return NULL;
        worker_process_free(j->worker);
        if (j->call) {
                varlink_call_set_cancel(j->call, NULL, NULL);
                varlink_call_unref(j->call);
        }
        json_object_put(j->parameters);
        free(j->method);
        if (j->data_free)
                j->data_free(j->data);
        free(j);
        return NULL;
}

VarlinkCall *worker_job_call(const WorkerJob *j) {
        return j->call && varlink_call_is_open(j->call) ? j->call : NULL;
}

void *worker_job_userdata(const WorkerJob *j) {
        return j->userdata;
}

void worker_job_set_data(WorkerJob *j, void *data, void (*free_fn)(void *)) {
        j->data = data;
        j->data_free = free_fn;
}

void *worker_job_data(const WorkerJob *j) {
        return j->data;
}

const WorkerJobOps *worker_job_ops(const WorkerJob *j) {
        return j->ops;
}

WorkerJob **worker_job_next(WorkerJob *j) {
        return &j->next;
}

/* The worker's error replies: its refusals are public errors to hand on as they are. */
static void forward_error(WorkerJob *j, VarlinkCall *call, const VarlinkReply *reply) {
        json_object *e, *p;

        if (strcmp(reply->error, "io.stage0.Worker.Refused") == 0 &&
            json_object_object_get_ex(reply->parameters, "error", &e) &&
            json_object_object_get_ex(reply->parameters, "parameters", &p)) {
                (void) varlink_call_error(call, json_object_get_string(e), json_object_get(p));
                return;
        }
        if (strcmp(reply->error, "io.stage0.Worker.SystemError") == 0) {
                int error = json_object_get_int(json_object_object_get(reply->parameters, "errno"));
                const char *m = json_object_get_string(json_object_object_get(reply->parameters, "message"));

                (void) reply_system_error(call, j->ops->interface, -error, m);
                return;
        }
        (void) reply_system_error(call, j->ops->interface, -EPROTO, reply->error);
}

static void on_reply(VarlinkChannel *ch, int r, const VarlinkReply *reply, void *userdata) {
        WorkerJob *j = userdata;
        VarlinkCall *call = worker_job_call(j);
        bool final = r < 0 || !reply->continues;

        if (call || !j->has_caller || j->ops->without_caller) {
                if (r < 0 || reply->error) {
                        if (j->ops->failed)
                                j->ops->failed(j, r < 0 ? r : 1, reply);
                        else if (r < 0 && call)
                                (void) reply_system_error(call, j->ops->interface, r,
                                                          "the worker ended unexpectedly");
                        else if (call)
                                forward_error(j, call, reply);
                } else {
                        j->ops->reply(j, reply);
                }
        }
        if (final && !j->over) {
                j->over = true;
                j->ops->done(j);
        }
}

/* For an ops->failed that wants the default for what it does not handle itself. */
void worker_job_fail_default(WorkerJob *j, int r, const VarlinkReply *reply) {
        VarlinkCall *call = worker_job_call(j);

        if (!call)
                return;
        if (r < 0)
                (void) reply_system_error(call, j->ops->interface, r, "the worker ended unexpectedly");
        else
                forward_error(j, call, reply);
}

int worker_job_start(WorkerJob *j, WorkerPool *pool) {
        int r;

        r = worker_pool_take(pool, &j->worker);
        if (r < 0)
                return r;
        return varlink_channel_call(worker_process_channel(j->worker), j->method, j->parameters,
                                    VARLINK_CALL_MORE, on_reply, j);
}
