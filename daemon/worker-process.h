/* WorkerProcess: stage0d's handle on one worker — a fresh exec of stage0d in worker mode,
 * started for one job with its end of a socket pair as fd 3. stage0d talks to it through a
 * VarlinkChannel (io.stage0.Worker) and reaps it from the event loop. Freeing the handle
 * closes the channel, which makes the worker finish and exit; its exit is still reaped. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "varlink-channel.h"

typedef struct WorkerProcess WorkerProcess;

/* Called once when the worker has exited (si->si_code CLD_EXITED, CLD_KILLED, ...). */
typedef void (*WorkerExitFn)(WorkerProcess *w, const siginfo_t *si, void *userdata);

typedef struct WorkerOptions {
        const char *data_dir;
        bool debug;
        bool spare;     /* started ahead of need: SCHED_IDLE until it is given a job */
} WorkerOptions;

/* SIGCHLD must be blocked (sd-event reaps through a signalfd). */
int worker_process_spawn(WorkerProcess **ret, sd_event *event, const WorkerOptions *options);
WorkerProcess *worker_process_free(WorkerProcess *w);
VarlinkChannel *worker_process_channel(WorkerProcess *w);
pid_t worker_process_pid(const WorkerProcess *w);
void worker_process_set_exit(WorkerProcess *w, WorkerExitFn fn, void *userdata);

/* WorkerPool: where jobs get their workers. It keeps a few started ahead of need (exec'd,
 * libraries loaded, idle on their connection), so a job does not wait for that, and starts
 * the next spare once one is taken. Each job still gets a fresh process of its own. */
typedef struct WorkerPool WorkerPool;

#define WORKER_POOL_SPARES 2

int worker_pool_new(WorkerPool **ret, sd_event *event, const WorkerOptions *options);
WorkerPool *worker_pool_free(WorkerPool *pool);
/* A started worker: a spare when there is one, else a new one. */
int worker_pool_take(WorkerPool *pool, WorkerProcess **ret);
