/* Pod supervision. Signals are handled synchronously with sigtimedwait(): the caller has
 * blocked SIGCHLD, SIGTERM, SIGINT and SIGHUP before forking us, so nothing is lost between
 * fork and the first wait. A signal blocked by a PID namespace's init is still delivered
 * (the kernel only drops signals an init ignores), which is what lets the host stop us. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exit-codes.h"
#include "supervisor.h"
#include "util.h"

typedef struct AppState {
        pid_t pid;      /* 0 once exited */
        int code;
        bool exited;
} AppState;

static void record_status(const Supervisor *s, const App *app, int code) {
        char text[16];
        int n = snprintf(text, sizeof(text), "%d", code);
        int r = write_file_atomic_at(s->status_fd, app->name, text, (size_t) n, 0644);
        if (r < 0)
                log_error("app %s: cannot record exit status %d: %s", app->name, code, strerror(-r));
        log_debug("app %s exited with %d", app->name, code);
}

static void touch(int dirfd, const char *name) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0)
                close(fd);
}

static void reap(const Supervisor *s, AppState *st, size_t *running) {
        int status;
        pid_t pid;

        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                for (size_t i = 0; i < s->pod->n_apps; i++)
                        if (st[i].pid == pid) {
                                st[i].pid = 0;
                                st[i].exited = true;
                                st[i].code = exit_code_from_status(status);
                                record_status(s, &s->pod->apps[i], st[i].code);
                                (*running)--;
                        }
}

static void start_apps(const Supervisor *s, AppState *st, size_t *running) {
        for (size_t i = 0; i < s->pod->n_apps; i++) {
                char marker[256];
                snprintf(marker, sizeof(marker), "%s-created", s->pod->apps[i].name);
                touch(s->status_fd, marker);
                pid_t pid = fork();
                if (pid < 0) {
                        log_error("app %s: fork: %m", s->pod->apps[i].name);
                        st[i] = (AppState) { .exited = true, .code = EXIT_STAGE1_APP_SETUP };
                        record_status(s, &s->pod->apps[i], st[i].code);
                        continue;
                }
                if (pid == 0)
                        app_shim_run(&s->apps[i]);
                st[i].pid = pid;
                (*running)++;
        }
}

static int pod_exit_code(const Supervisor *s, const AppState *st) {
        for (size_t i = 0; i < s->pod->n_apps; i++)
                if (st[i].code != 0)
                        return st[i].code;
        return 0;
}

int supervisor_run(const Supervisor *s) {
        _cleanup_free_ AppState *st = calloc(s->pod->n_apps, sizeof(AppState));
        struct timespec deadline = {};
        size_t running = 0;
        bool stopping = false, killed = false;
        sigset_t set;
        int code;

        if (!st)
                return EXIT_STAGE1_SETUP;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        start_apps(s, st, &running);
        while (running > 0) {
                struct timespec now, wait = { .tv_sec = 3600 };
                siginfo_t si;

                clock_gettime(CLOCK_MONOTONIC, &now);
                if (stopping && !killed) {
                        long long left = (deadline.tv_sec - now.tv_sec) * 1000000000LL + (deadline.tv_nsec - now.tv_nsec);
                        if (left <= 0) {
                                log_warning("apps did not stop within %u s: killing them", s->stop_timeout_sec);
                                kill(-1, SIGKILL);
                                killed = true;
                        } else
                                wait = (struct timespec) { left / 1000000000LL, left % 1000000000LL };
                }
                if (sigtimedwait(&set, &si, &wait) < 0)
                        continue;
                if (si.si_signo == SIGCHLD) {
                        reap(s, st, &running);
                        continue;
                }
                if (stopping)
                        continue;
                log_debug("signal %d: stopping the apps", si.si_signo);
                stopping = true;
                clock_gettime(CLOCK_MONOTONIC, &deadline);
                deadline.tv_sec += s->stop_timeout_sec;
                for (size_t i = 0; i < s->pod->n_apps; i++)
                        if (st[i].pid > 0)
                                kill(st[i].pid, SIGTERM);
        }
        /* Daemons an app left behind do not outlive the pod. */
        kill(-1, SIGKILL);
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                ;
        code = pod_exit_code(s, st);
        log_debug("all apps exited; pod exit code %d", code);
        return code;
}
