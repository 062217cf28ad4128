/* WorkerJob: one client call served by a worker process. stage0d starts the worker, calls one
 * io.stage0.Worker method with more, hands every reply to the job's owner, and hands the
 * worker's refusals on to the caller as the public errors they are. A caller that leaves does
 * not stop the job: it runs to its end (the worker may be half-way through a store write). */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "varlink-channel.h"
#include "varlink-server.h"
#include "worker-process.h"

typedef struct WorkerJob WorkerJob;

typedef struct WorkerJobOps {
        const char *interface;        /* whose SystemError the caller gets: "io.stage0.Pods" */
        /* A reply that is not an error; reply->continues for the ones before the last. Runs
         * while the caller is there, and always for a job started without one. */
        void (*reply)(WorkerJob *j, const VarlinkReply *reply);
        /* The worker ended before its final reply (r < 0) or refused (r > 0, the refusal in
         * reply). Default: SystemError, or the refusal handed on. Runs like reply. */
        void (*failed)(WorkerJob *j, int r, const VarlinkReply *reply);
        /* reply and failed run after the caller has gone too (worker_job_call() is then
         * NULL): for jobs whose progress others learn of, as Watch learns of a pod's exit. */
        bool without_caller;
        /* The job is over, with or without its caller; the owner frees it here. */
        void (*done)(WorkerJob *j);
} WorkerJobOps;

/* Takes parameters. The call (may be NULL for a job nobody waits for) is kept. */
int worker_job_new(WorkerJob **ret, VarlinkCall *call, const char *method, json_object *parameters,
                   const WorkerJobOps *ops, void *userdata);
int worker_job_start(WorkerJob *j, WorkerPool *pool);
WorkerJob *worker_job_free(WorkerJob *j);

/* The caller's call while it is still there, else NULL. */
VarlinkCall *worker_job_call(const WorkerJob *j);
void *worker_job_userdata(const WorkerJob *j);
/* Per-job state of the owner's choice, freed with the job. */
void worker_job_set_data(WorkerJob *j, void *data, void (*free_fn)(void *));
void *worker_job_data(const WorkerJob *j);
/* Which kind of job it is: the ops it was made with. */
const WorkerJobOps *worker_job_ops(const WorkerJob *j);
/* Intrusive list link for the owner's queues. */
WorkerJob **worker_job_next(WorkerJob *j);

/* What happens without an ops->failed: SystemError for r < 0, the refusal handed on. */
void worker_job_fail_default(WorkerJob *j, int r, const VarlinkReply *reply);

/* `<interface>.SystemError (errno, errnoName, message)`. */
int reply_system_error(VarlinkCall *call, const char *interface, int error, const char *message);
