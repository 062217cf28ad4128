/* The app shim and the exec path of app processes. The shim runs with every signal it waits
 * for blocked (inherited from PID 1); app processes get a clean signal mask. The order in
 * exec_app_process() matters: the bounding set is dropped while still privileged, ids are
 * changed next, no_new_privs and the seccomp filter come last so the filter never has to
 * allow stage1's own setup calls. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "app.h"
#include "caps.h"
#include "cgroup.h"
#include "exit-codes.h"
#include "rootfs.h"
#include "seccomp-filter.h"
#include "users.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct Credentials {
        uid_t uid;
        gid_t gid;
        char **env;
} Credentials;

int exit_code_from_status(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return EXIT_STAGE1_APP_SETUP;
}

static const char *env_get(char **env, const char *name) {
        size_t n = strlen(name);
        for (char **e = env; e && *e; e++)
                if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

static int env_default(char ***env, const char *name, const char *value, bool force) {
        char *entry;
        size_t n = strlen(name);

        if (!value || (!force && env_get(*env, name)))
                return 0;
        if (asprintf(&entry, "%s=%s", name, value) < 0)
                return -ENOMEM;
        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
                        free(*e);
                        *e = entry;
                        return 0;
                }
        return strv_push(env, entry);
}

/* The app's environment plus what the ACE spec requires. AC_METADATA_URL is set but empty:
 * this stage1 runs no metadata service. */
static int build_env(const AppContext *c, const UserInfo *u, char ***ret) {
        _cleanup_strv_free_ char **env = calloc(1, sizeof(char *));
        int r = 0;

        if (!env)
                return -ENOMEM;
        for (char **e = c->app->environment; e && *e; e++)
                if ((r = strv_push(&env, strdup(*e))) < 0)
                        return r;
        if ((r = env_default(&env, "PATH", DEFAULT_PATH, false)) < 0 ||
            (r = env_default(&env, "AC_APP_NAME", c->app->name, true)) < 0 ||
            (r = env_default(&env, "AC_METADATA_URL", "", true)) < 0 ||
            (r = env_default(&env, "container", "stage0", true)) < 0 ||
            (r = env_default(&env, "HOME", u->home ? u->home : "/", false)) < 0 ||
            (r = env_default(&env, "USER", u->name, false)) < 0 ||
            (r = env_default(&env, "LOGNAME", u->name, false)) < 0 ||
            (r = env_default(&env, "SHELL", u->shell, false)) < 0)
                return r;
        *ret = TAKE_PTR(env);
        return 0;
}

static int resolve_credentials(const AppContext *c, Credentials *cred) {
        UserInfo u;
        int r;

        r = user_resolve(c->app->user, &u);
        if (r < 0) {
                log_error("app %s: user '%s' is not in the app's /etc/passwd and is not a number",
                          c->app->name, c->app->user);
                return r;
        }
        cred->uid = u.uid;
        r = group_resolve(c->app->group, &cred->gid);
        if (r < 0)
                log_error("app %s: group '%s' is not in the app's /etc/group and is not a number",
                          c->app->name, c->app->group);
        else
                r = build_env(c, &u, &cred->env);
        user_info_deinit(&u);
        return r;
}

static void exec_in_path(char *const argv[], char **env) {
        const char *path = env_get(env, "PATH");
        int saved = ENOENT;

        if (strchr(argv[0], '/')) {
                execve(argv[0], argv, env);
                return;
        }
        for (const char *p = path ? path : DEFAULT_PATH; ; ) {
                size_t n = strcspn(p, ":");
                char full[PATH_MAX];
                if (n > 0 && snprintf(full, sizeof(full), "%.*s/%s", (int) n, p, argv[0]) < (int) sizeof(full)) {
                        execve(full, argv, env);
                        if (errno != ENOENT && errno != ENOTDIR)
                                saved = errno;
                }
                if (p[n] == '\0')
                        break;
                p += n + 1;
        }
        errno = saved;
}

/* Runs in the forked child; returns only on failure, with a message logged. */
static void exec_app_process(const AppContext *c, const Credentials *cred, char *const argv[]) {
        const Isolators *iso = c->iso;
        sigset_t none;
        int r;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (iso->has_oom_score_adj) {
                char v[16];
                snprintf(v, sizeof(v), "%d", iso->oom_score_adj);
                r = write_string_file("/proc/self/oom_score_adj", v);
                if (r < 0)
                        return log_error("app %s: isolator os/linux/oom-score-adj=%s cannot be applied: %s",
                                         c->app->name, v, strerror(-r));
        }
        if (iso->restrict_caps && (r = caps_restrict_bounding(iso->caps)) < 0)
                return log_error("app %s: isolator os/linux/capabilities: cannot restrict: %s",
                                 c->app->name, strerror(-r));
        if (setgroups(c->app->n_supplementary_gids, c->app->supplementary_gids) < 0 ||
            setresgid(cred->gid, cred->gid, cred->gid) < 0 || setresuid(cred->uid, cred->uid, cred->uid) < 0)
                return log_error("app %s: cannot switch to uid %u gid %u: %m", c->app->name,
                                 (unsigned) cred->uid, (unsigned) cred->gid);
        if (chdir(c->app->working_dir) < 0)
                return log_error("app %s: working directory %s: %m", c->app->name, c->app->working_dir);
        bool nnp = iso->no_new_privileges || (cred->uid != 0 && iso->seccomp.mode != SECCOMP_MODE_NONE);
        if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_error("app %s: isolator os/linux/no-new-privileges: %m", c->app->name);
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return log_error("app %s: close_range: %m", c->app->name);
        if ((r = seccomp_spec_apply(&iso->seccomp)) < 0)
                return log_error("app %s: isolator os/linux/seccomp: cannot load the filter: %s",
                                 c->app->name, strerror(-r));
        exec_in_path(argv, cred->env);
        log_error("app %s: exec %s: %m", c->app->name, argv[0]);
}

/* Forks and execs argv as the app. Returns the child's pid; *started says whether execve
 * succeeded (learned through a close-on-exec pipe). */
static pid_t spawn(const AppContext *c, const Credentials *cred, char *const argv[], bool *started) {
        int p[2];
        pid_t pid;
        char b;

        if (pipe2(p, O_CLOEXEC) < 0)
                return NEG_ERRNO();
        pid = fork();
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                return NEG_ERRNO();
        }
        if (pid == 0) {
                close(p[0]);
                exec_app_process(c, cred, argv);
                (void) !write(p[1], "x", 1);
                _exit(EXIT_STAGE1_APP_SETUP);
        }
        close(p[1]);
        *started = read(p[0], &b, 1) == 0;
        close(p[0]);
        return pid;
}

static int wait_pid(pid_t pid) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return EXIT_STAGE1_APP_SETUP;
        return exit_code_from_status(status);
}

static int run_handler(const AppContext *c, const Credentials *cred, char **argv, const char *what) {
        bool started;
        pid_t pid = spawn(c, cred, argv, &started);
        int code;

        if (pid < 0) {
                log_error("app %s: %s: fork: %s", c->app->name, what, strerror((int) -pid));
                return EXIT_STAGE1_APP_SETUP;
        }
        code = wait_pid(pid);
        if (code != 0)
                log_error("app %s: %s handler exited with %d", c->app->name, what, code);
        return code;
}

/* Waits for the app, passing stop signals on. Other children (none are expected: orphans go
 * to PID 1) are reaped on the way. */
static int supervise_main(pid_t main_pid) {
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        for (;;) {
                siginfo_t si;
                int status;
                pid_t pid;

                if (sigwaitinfo(&set, &si) < 0)
                        continue;
                if (si.si_signo != SIGCHLD) {
                        kill(main_pid, si.si_signo);
                        continue;
                }
                while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                        if (pid == main_pid)
                                return exit_code_from_status(status);
        }
}

static void touch_marker(int status_fd, const char *app, const char *suffix) {
        char name[256];
        int fd;

        snprintf(name, sizeof(name), "%s-%s", app, suffix);
        fd = openat(status_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                log_warning("app %s: cannot write status marker %s: %m", app, name);
        else
                close(fd);
}

_Noreturn void app_shim_run(const AppContext *c) {
        char err[1024] = "", path[PATH_MAX];
        Credentials cred = {};
        int status_fd, r, code;
        bool started;
        pid_t pid;

        snprintf(path, sizeof(path), "%s/stage1/rootfs/rkt/status", c->pod_dir);
        /* Kept across pivot_root to write the -started marker; close-on-exec for the app. */
        status_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (status_fd < 0) {
                log_error("app %s: %s: %m", c->app->name, path);
                _exit(EXIT_STAGE1_APP_SETUP);
        }
        if (unshare(CLONE_NEWNS) < 0) {
                log_error("app %s: new mount namespace: %m", c->app->name);
                _exit(EXIT_STAGE1_APP_SETUP);
        }
        r = cgroup_join(c->uuid, c->app->name);
        if (r < 0) {
                log_error("app %s: cannot join its cgroups: %s", c->app->name, strerror(-r));
                _exit(EXIT_STAGE1_APP_SETUP);
        }
        r = rootfs_setup_and_pivot(&(RootfsContext) { .pod_dir = c->pod_dir, .args = c->args, .app = c->app,
                                                      .hostname = c->hostname }, err, sizeof(err));
        if (r < 0) {
                log_error("app %s: %s", c->app->name, err);
                _exit(EXIT_STAGE1_APP_SETUP);
        }
        if (resolve_credentials(c, &cred) < 0)
                _exit(EXIT_STAGE1_APP_SETUP);
        if (c->app->pre_start && run_handler(c, &cred, c->app->pre_start, "pre-start") != 0)
                _exit(EXIT_STAGE1_APP_SETUP);
        pid = spawn(c, &cred, c->app->exec, &started);
        if (pid < 0) {
                log_error("app %s: fork: %s", c->app->name, strerror((int) -pid));
                _exit(EXIT_STAGE1_APP_SETUP);
        }
        if (started)
                touch_marker(status_fd, c->app->name, "started");
        code = supervise_main(pid);
        if (c->app->post_stop)
                (void) run_handler(c, &cred, c->app->post_stop, "post-stop");
        _exit(code);
}
