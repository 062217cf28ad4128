/* Starting and reaping worker processes; see worker-process.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "worker-process.h"

#define WORKER_FD 3

struct WorkerProcess {
        pid_t pid;
        VarlinkChannel *channel;
        sd_event_source *child;
        WorkerExitFn exit_fn;
        void *exit_userdata;
};

/* stage0-worker beside our own binary (a build tree, or a relocated install), else where it
 * was installed. Resolved once, in the parent: the child may only make async-signal-safe
 * calls. */
static const char *worker_binary(void) {
        static char path[PATH_MAX];
        char self[PATH_MAX];
        ssize_t n;

        if (path[0])
                return path;
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                char *slash;

                self[n] = '\0';
                slash = strrchr(self, '/');
                if (slash && (size_t) (slash - self) + sizeof("/stage0-worker") <= sizeof(path)) {
                        memcpy(path, self, (size_t) (slash - self));
                        memcpy(path + (slash - self), "/stage0-worker", sizeof("/stage0-worker"));
                        if (access(path, X_OK) == 0)
                                return path;
                }
        }
        snprintf(path, sizeof(path), "%s", STAGE0_WORKER_PATH);
        return path;
}

/* In the child between fork and exec: only async-signal-safe calls. */
_Noreturn static void exec_worker(int fd, const char *binary, const WorkerOptions *o) {
        sigset_t none;
        int null;
        char *argv[] = {
                (char *) "stage0-worker", (char *) "--data-dir", (char *) o->data_dir,
                o->debug ? (char *) "--debug" : NULL, NULL,
        };

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0)
                _exit(127);
        if (fd != WORKER_FD) {
                if (dup2(fd, WORKER_FD) < 0)
                        _exit(127);
        } else if (fcntl(fd, F_SETFD, 0) < 0) {
                _exit(127);
        }
        /* Everything else the daemon holds (clients, the listening socket) stays behind. */
        close_range(WORKER_FD + 1, ~0U, 0);
        execv(binary, argv);
        _exit(127);
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        WorkerProcess *w = userdata;

        if (!w) {
                /* Its owner is gone and the loop held the only reference: dropping the
                 * floating flag drops that reference too. */
                sd_event_source_set_floating(s, false);
                return 0;
        }
        w->child = sd_event_source_unref(w->child);
        w->pid = 0;
        if (w->exit_fn)
                w->exit_fn(w, si, w->exit_userdata);
        return 0;
}

int worker_process_spawn(WorkerProcess **ret, sd_event *event, const WorkerOptions *options) {
        WorkerProcess *w;
        const char *binary;
        int sv[2], r;
        pid_t pid;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                free(w);
                return NEG_ERRNO();
        }
        binary = worker_binary();
        pid = fork();
        if (pid < 0) {
                r = NEG_ERRNO();
                close(sv[0]);
                close(sv[1]);
                free(w);
                return r;
        }
        if (pid == 0)
                exec_worker(sv[1], binary, options);
        close(sv[1]);
        w->pid = pid;
        /* A spare starts (exec, dynamic linking, warm-up) only on CPU time nobody else wants,
         * so it never slows the jobs that are running. Set from here, not in the child, so
         * that a take (which sets it back) cannot come first. */
        if (options->spare)
                (void) sched_setscheduler(pid, SCHED_IDLE, &(struct sched_param) {});

        r = sd_event_add_child(event, &w->child, pid, WEXITED, on_child, w);
        if (r < 0) {
                close(sv[0]);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                free(w);
                return r;
        }
        r = varlink_channel_new(&w->channel, event, sv[0]);
        if (r < 0) {
                close(sv[0]);
                worker_process_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

WorkerProcess *worker_process_free(WorkerProcess *w) {
        if (!w)
                return NULL;
        varlink_channel_free(w->channel);
        if (w->child) {
                /* Closing the channel ends the worker; reap it whenever it exits. */
                sd_event_source_set_userdata(w->child, NULL);
                sd_event_source_set_floating(w->child, true);
                sd_event_source_unref(w->child);
        }
        free(w);
        return NULL;
}

VarlinkChannel *worker_process_channel(WorkerProcess *w) {
        return w->channel;
}

pid_t worker_process_pid(const WorkerProcess *w) {
        return w->pid;
}

void worker_process_set_exit(WorkerProcess *w, WorkerExitFn fn, void *userdata) {
        w->exit_fn = fn;
        w->exit_userdata = userdata;
}

/* The pool. */

struct WorkerPool {
        sd_event *event;
        char *data_dir;
        bool debug;
        WorkerProcess *spares[WORKER_POOL_SPARES];
        unsigned n_spares;
        sd_event_source *refill;
};

static WorkerOptions pool_options(const WorkerPool *pool, bool spare) {
        return (WorkerOptions) { .data_dir = pool->data_dir, .debug = pool->debug, .spare = spare };
}

static void pool_forget(WorkerPool *pool, WorkerProcess *w) {
        for (unsigned i = 0; i < pool->n_spares; i++)
                if (pool->spares[i] == w) {
                        pool->spares[i] = pool->spares[--pool->n_spares];
                        return;
                }
}

/* A spare that died is no spare. Refilling waits for the next take, so a worker that cannot
 * start is not restarted in a loop. */
static void on_spare_exit(WorkerProcess *w, const siginfo_t *si, void *userdata) {
        WorkerPool *pool = userdata;

        pool_forget(pool, w);
        worker_process_free(w);
}

static int on_refill(sd_event_source *s, void *userdata) {
        WorkerPool *pool = userdata;
        WorkerOptions o = pool_options(pool, true);

        while (pool->n_spares < WORKER_POOL_SPARES) {
                WorkerProcess *w;

                if (worker_process_spawn(&w, pool->event, &o) < 0)
                        break;
                worker_process_set_exit(w, on_spare_exit, pool);
                pool->spares[pool->n_spares++] = w;
        }
        return 0;
}

int worker_pool_new(WorkerPool **ret, sd_event *event, const WorkerOptions *options) {
        WorkerPool *pool = calloc(1, sizeof(*pool));
        int r;

        if (!pool)
                return -ENOMEM;
        pool->event = sd_event_ref(event);
        pool->debug = options->debug;
        pool->data_dir = strdup(options->data_dir);
        if (!pool->data_dir) {
                worker_pool_free(pool);
                return -ENOMEM;
        }
        r = sd_event_add_defer(event, &pool->refill, on_refill, pool);
        if (r < 0) {
                worker_pool_free(pool);
                return r;
        }
        (void) sd_event_source_set_enabled(pool->refill, SD_EVENT_ONESHOT);
        *ret = pool;
        return 0;
}

/* An idle spare holds nothing worth finishing: it is ended and reaped at once, so that a
 * stopped stage0d leaves no process (and no open file in the data dir) behind. */
static void spare_stop(WorkerProcess *w) {
        pid_t pid = w->pid;

        w->child = sd_event_source_disable_unref(w->child);
        w->pid = 0;
        worker_process_free(w);
        if (pid > 0 && kill(pid, SIGTERM) >= 0)
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
}

WorkerPool *worker_pool_free(WorkerPool *pool) {
        if (!pool)
                return NULL;
        for (unsigned i = 0; i < pool->n_spares; i++)
                spare_stop(pool->spares[i]);
        sd_event_source_disable_unref(pool->refill);
        sd_event_unref(pool->event);
        free(pool->data_dir);
        free(pool);
        return NULL;
}

int worker_pool_take(WorkerPool *pool, WorkerProcess **ret) {
        WorkerOptions o = pool_options(pool, false);

        (void) sd_event_source_set_enabled(pool->refill, SD_EVENT_ONESHOT);
        if (pool->n_spares > 0) {
                /* The oldest spare: it has had the longest to get ready. */
                WorkerProcess *w = pool->spares[0];

                memmove(pool->spares, pool->spares + 1, --pool->n_spares * sizeof(pool->spares[0]));
                worker_process_set_exit(w, NULL, NULL);
                /* Its job runs at the daemon's own priority. */
                (void) sched_setscheduler(w->pid, SCHED_OTHER, &(struct sched_param) {});
                *ret = w;
                return 0;
        }
        return worker_process_spawn(ret, pool->event, &o);
}
