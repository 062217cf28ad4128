/* The `run` entrypoint (coreos.com/rkt/stage1/run). On the host side it validates the
 * command line and the pod, holds the pod lock (RKT_LOCK_FD) for the pod's whole life,
 * creates the cgroups, then forks the pod's PID 1 into new namespaces, writes `pid`, passes
 * stop signals to it and exits with its exit code. Exit codes: stage1/exit-codes.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "cgroup.h"
#include "exit-codes.h"
#include "isolators.h"
#include "pod.h"
#include "rootfs.h"
#include "supervisor.h"
#include "util.h"

typedef struct Run {
        RunArgs args;
        char pod_dir[PATH_MAX];
        int poddir_fd;
        int lock_fd;
        Pod *pod;
        Isolators pod_iso;
        Isolators *app_iso;
        AppContext *apps;
        char hostname[80];
} Run;

static int take_lock_fd(Run *run) {
        const char *s = getenv("RKT_LOCK_FD");
        uint32_t fd;

        if (!s || parse_uint32(s, &fd) < 0 || fd > INT_MAX) {
                log_error("RKT_LOCK_FD is missing or not a file descriptor number: stage0 must pass the pod lock");
                return -EBADF;
        }
        /* The lock is ours to hold, not the apps': they must not inherit it. */
        if (fcntl((int) fd, F_SETFD, FD_CLOEXEC) < 0) {
                log_error("RKT_LOCK_FD=%u: %m", fd);
                return -EBADF;
        }
        /* Re-locking our own open file description converts in place; it fails only when
         * someone else holds the pod lock, i.e. stage0 did not hand us the locked fd. */
        if (flock((int) fd, LOCK_EX | LOCK_NB) < 0) {
                log_error("RKT_LOCK_FD=%u: the pod lock is held by another process: %m", fd);
                return -EBUSY;
        }
        run->lock_fd = (int) fd;
        unsetenv("RKT_LOCK_FD");
        return 0;
}

static int write_report(Run *run, const char *name, const char *report) {
        _cleanup_close_ int dir = -EBADF;

        if (mkdirat(run->poddir_fd, "stage1/rootfs/rkt/isolators", 0755) < 0 && errno != EEXIST)
                return NEG_ERRNO();
        dir = openat(run->poddir_fd, "stage1/rootfs/rkt/isolators", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return NEG_ERRNO();
        /* Lines always end in '\n' (isolators.c); ignored isolators are also said aloud. */
        for (const char *l = report; l && *l; ) {
                const char *end = strchr(l, '\n'), *ign = strstr(l, "\tignored\t");
                if (ign && ign < end)
                        log_warning("%s: isolator %.*s ignored: %.*s", name, (int) (ign - l), l,
                                    (int) (end - ign - 9), ign + 9);
                l = end + 1;
        }
        return write_file_atomic_at(dir, name, report ? report : "", report ? strlen(report) : 0, 0644);
}

static int parse_isolators(Run *run) {
        IsolatorOptions opts = {
                .disable_capabilities = run->args.disable_capabilities,
                .disable_seccomp = run->args.disable_seccomp,
                .pod_level = true,
        };
        char err[512] = "";
        int r;

        r = isolators_parse(&run->pod_iso, run->pod->isolators, &opts, err, sizeof(err));
        if (r < 0) {
                log_error("pod: %s", err[0] ? err : strerror(-r));
                return r;
        }
        r = write_report(run, "_pod", run->pod_iso.report);
        if (r < 0) {
                log_error("cannot write the isolator report: %s", strerror(-r));
                return r;
        }
        opts.pod_level = false;
        run->app_iso = calloc(run->pod->n_apps, sizeof(Isolators));
        if (!run->app_iso)
                return -ENOMEM;
        for (size_t i = 0; i < run->pod->n_apps; i++) {
                const char *name = run->pod->apps[i].name;
                r = isolators_parse(&run->app_iso[i], run->pod->apps[i].isolators, &opts, err, sizeof(err));
                if (r < 0) {
                        log_error("app %s: %s", name, err[0] ? err : strerror(-r));
                        return r;
                }
                r = write_report(run, name, run->app_iso[i].report);
                if (r < 0) {
                        log_error("app %s: cannot write the isolator report: %s", name, strerror(-r));
                        return r;
                }
        }
        return 0;
}

static int setup_cgroups(Run *run) {
        char err[512];

        for (size_t i = 0; i < run->pod->n_apps; i++) {
                int r = cgroup_setup(run->args.uuid, run->pod->apps[i].name, &run->app_iso[i], &run->pod_iso,
                                     err, sizeof(err));
                if (r < 0) {
                        log_error("app %s: %s", run->pod->apps[i].name, err);
                        return r;
                }
        }
        return 0;
}

static int loopback_up(void) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = { .ifr_name = "lo" };

        if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return NEG_ERRNO();
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return NEG_ERRNO();
        return 0;
}

/* Runs as the pod's PID 1. */
static _Noreturn void pod_main(Run *run) {
        int flags = CLONE_NEWNS | CLONE_NEWUTS;
        _cleanup_close_ int status_fd = -EBADF;
        const char *timeout = getenv(STOP_TIMEOUT_ENV);
        uint32_t timeout_sec = STOP_TIMEOUT_DEFAULT_SEC;

        if (run->args.ipc_mode != IPC_PARENT)
                flags |= CLONE_NEWIPC;
        if (run->args.net_mode != NET_HOST)
                flags |= CLONE_NEWNET;
        if (unshare(flags) < 0) {
                log_error("cannot create the pod's namespaces: %m");
                _exit(EXIT_STAGE1_SETUP);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                log_error("cannot make the pod's mounts private: %m");
                _exit(EXIT_STAGE1_SETUP);
        }
        if (sethostname(run->hostname, strlen(run->hostname)) < 0) {
                log_error("sethostname %s: %m", run->hostname);
                _exit(EXIT_STAGE1_SETUP);
        }
        if (run->args.net_mode != NET_HOST && loopback_up() < 0) {
                log_error("cannot bring up the loopback interface: %m");
                _exit(EXIT_STAGE1_SETUP);
        }
        if (timeout && parse_uint32(timeout, &timeout_sec) < 0)
                log_warning("%s=%s is not a number of seconds; using %d", STOP_TIMEOUT_ENV, timeout,
                            STOP_TIMEOUT_DEFAULT_SEC);
        status_fd = openat(run->poddir_fd, "stage1/rootfs/rkt/status", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (status_fd < 0) {
                log_error("stage1/rootfs/rkt/status: %m");
                _exit(EXIT_STAGE1_SETUP);
        }
        _exit(supervisor_run(&(Supervisor) {
                .pod_dir = run->pod_dir, .status_fd = status_fd, .pod = run->pod, .apps = run->apps,
                .stop_timeout_sec = timeout_sec,
        }));
}

/* The host side after the fork: pass stop signals on, exit like the pod. */
static int wait_pod(pid_t child, const sigset_t *set) {
        for (;;) {
                siginfo_t si;
                int status;

                if (sigwaitinfo(set, &si) < 0)
                        continue;
                if (si.si_signo != SIGCHLD) {
                        kill(child, SIGTERM);
                        continue;
                }
                if (waitpid(child, &status, WNOHANG) == child)
                        return exit_code_from_status(status);
        }
}

static int start_pod(Run *run) {
        char text[32];
        sigset_t set;
        pid_t child;
        int n, r;

        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigprocmask(SIG_BLOCK, &set, NULL);
        if (unshare(CLONE_NEWPID) < 0) {
                log_error("cannot create the pod's PID namespace: %m");
                return EXIT_STAGE1_SETUP;
        }
        child = fork();
        if (child < 0) {
                log_error("fork: %m");
                return EXIT_STAGE1_SETUP;
        }
        if (child == 0)
                pod_main(run);
        n = snprintf(text, sizeof(text), "%d", (int) child);
        r = write_file_atomic_at(run->poddir_fd, "pid", text, (size_t) n, 0644);
        if (r < 0) {
                log_error("cannot write the pod's pid file: %s", strerror(-r));
                kill(child, SIGKILL);
        }
        return wait_pod(child, &set);
}

static int prepare(Run *run) {
        char err[1024] = "";
        int r;

        if (!getcwd(run->pod_dir, sizeof(run->pod_dir))) {
                log_error("getcwd: %m");
                return EXIT_STAGE1_SETUP;
        }
        run->poddir_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (run->poddir_fd < 0 || take_lock_fd(run) < 0)
                return EXIT_STAGE1_SETUP;
        r = pod_load(&run->pod, run->poddir_fd, err, sizeof(err));
        if (r < 0) {
                log_error("invalid pod: %s", err[0] ? err : strerror(-r));
                return EXIT_STAGE1_INVALID_POD;
        }
        r = parse_isolators(run);
        if (r < 0)
                return r == -EOPNOTSUPP ? EXIT_STAGE1_UNSUPPORTED : EXIT_STAGE1_INVALID_POD;
        r = volumes_prepare(run->pod, run->poddir_fd, err, sizeof(err));
        if (r < 0) {
                log_error("invalid pod: %s", err);
                return EXIT_STAGE1_INVALID_POD;
        }
        if (setup_cgroups(run) < 0)
                return EXIT_STAGE1_SETUP;
        if (run->args.hostname)
                snprintf(run->hostname, sizeof(run->hostname), "%s", run->args.hostname);
        else
                snprintf(run->hostname, sizeof(run->hostname), "stage0-%s", run->args.uuid);
        run->apps = calloc(run->pod->n_apps, sizeof(AppContext));
        if (!run->apps)
                return EXIT_STAGE1_SETUP;
        for (size_t i = 0; i < run->pod->n_apps; i++)
                run->apps[i] = (AppContext) {
                        .pod_dir = run->pod_dir, .uuid = run->args.uuid, .hostname = run->hostname,
                        .args = &run->args, .app = &run->pod->apps[i], .iso = &run->app_iso[i],
                };
        return 0;
}

static void run_deinit(Run *run) {
        for (size_t i = 0; run->pod && run->app_iso && i < run->pod->n_apps; i++)
                isolators_deinit(&run->app_iso[i]);
        free(run->app_iso);
        isolators_deinit(&run->pod_iso);
        free(run->apps);
        pod_free(run->pod);
        run_args_deinit(&run->args);
        if (run->poddir_fd >= 0)
                close(run->poddir_fd);
        /* lock_fd stays open until exit on purpose: the lock is the pod's liveness. */
}

int main(int argc, char **argv) {
        Run run = { .poddir_fd = -EBADF, .lock_fd = -EBADF };
        char err[512] = "";
        int r;

        log_setup("stage1-run", false);
        r = run_args_parse(&run.args, argc, argv, err, sizeof(err));
        if (r < 0) {
                log_error("%s", err[0] ? err : strerror(-r));
                run_args_deinit(&run.args);
                return r == -EOPNOTSUPP ? EXIT_STAGE1_UNSUPPORTED : EXIT_STAGE1_USAGE;
        }
        log_setup("stage1-run", run.args.debug);
        if (run.args.local_config)
                log_debug("--local-config=%s: this stage1 reads no local configuration", run.args.local_config);
        log_debug("pod %s: net=%s ipc=%s resolv=%s hosts=%s", run.args.uuid, run.args.net,
                  ipc_mode_to_string(run.args.ipc_mode), resolv_mode_to_string(run.args.resolv_mode),
                  hosts_mode_to_string(run.args.hosts_mode));
        r = prepare(&run);
        if (r == 0)
                r = start_pod(&run);
        run_deinit(&run);
        return r;
}
