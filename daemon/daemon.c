/* The stage0d process: event loop, listening socket, VarlinkServer, policy and shutdown.
 * Invariants: the server serves every interface of stage0_interfaces; a socket file is
 * unlinked only by the process that created it, and only while it is still the same inode;
 * once shutting_down is set nothing new is accepted and the loop exits as soon as the last
 * connection has closed, or after DAEMON_SHUTDOWN_TIMEOUT_USEC. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <fcntl.h>
#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "images.h"
#include "pods.h"
#include "worker-process.h"
#include "varlink-embedded.h"

static bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static const VarlinkServerInfo daemon_server_info = {
        .vendor = "stage0",
        .product = "stage0d",
        .version = STAGE0_VERSION,
        .url = STAGE0_URL,
};

/* Creates dir and its missing parents; parents get 0755, dir itself gets mode. An existing
 * dir is left as it is; an existing non-directory gives -ENOTDIR. */
static int mkdir_p(const char *dir, mode_t mode) {
        _cleanup_free_ char *p = strdup(dir);
        struct stat st;

        if (!p)
                return -ENOMEM;
        for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        if (stat(p, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int daemon_setup_data_dir(Daemon *d) {
        int r = mkdir_p(d->data_dir, 0700);

        if (r < 0)
                return log_error_errno(r, "Failed to create data directory %s: %m", d->data_dir);
        return 0;
}

static void daemon_setup_policy(Daemon *d, const char *group) {
        struct group *g;

        errno = 0;
        g = getgrnam(group);
        if (!g) {
                /* The group is optional: without it only root is privileged. */
                if (errno != 0 && errno != ENOENT)
                        log_warning_errno(errno, "Failed to look up group '%s', only root may call "
                                          "io.stage0 methods: %m", group);
                else
                        log_debug("Group '%s' not found, only root may call io.stage0 methods",
                                  group);
                d->policy = (Policy) { .has_group = false };
                return;
        }
        d->policy = (Policy) { .has_group = true, .group = g->gr_gid };
        log_debug("Members of group '%s' (%u) may call read-only methods", group,
                  (unsigned) g->gr_gid);
}

static bool daemon_access_check(const VarlinkPeer *peer, const char *method, void *userdata) {
        Daemon *d = userdata;

        if (policy_allows(&d->policy, peer, method))
                return true;
        log_debug("Refused %s to pid %d uid %u gid %u", method, (int) peer->pid,
                  (unsigned) peer->uid, (unsigned) peer->gid);
        return false;
}

/* Image GC must not take the stage1 that pods get by default. */
static void daemon_stage1_imported(const char *key, void *userdata) {
        Daemon *d = userdata;

        if (images_keep(d->images, key) < 0)
                log_warning("Out of memory: image GC may remove the default stage1 %s", key);
}

/* --stage1-image, or the stage1 installed with stage0 when there is one. */
static const char *daemon_stage1_image(Daemon *d) {
        static const char installed[] = STAGE0_LIBDIR "/stage0/stage1.aci";

        if (d->stage1_image)
                return d->stage1_image;
        if (access(installed, R_OK) == 0)
                return installed;
        log_info("No stage1 image at %s: pods must name one", installed);
        return NULL;
}

static int daemon_setup_server(Daemon *d, const DaemonConfig *config) {
        int r;

        r = varlink_server_new(&d->server, d->event, &daemon_server_info, &config->limits);
        if (r < 0)
                return log_error_errno(r, "Failed to create varlink server: %m");

        for (const VarlinkEmbedded *e = stage0_interfaces; e->name; e++) {
                VarlinkIdlError error = {};

                r = varlink_server_add_interface(d->server, e->text, &error);
                if (r == -EINVAL)
                        return log_error_errno(r, "Interface %s does not parse at %u:%u: %s",
                                               e->name, error.line, error.column, error.message);
                if (r < 0)
                        return log_error_errno(r, "Failed to add interface %s: %m", e->name);
        }

        varlink_server_set_access_check(d->server, daemon_access_check, d);
        varlink_server_set_check_replies(d->server, config->check_replies);

        r = worker_pool_new(&d->workers, d->event, &(WorkerOptions) {
                .data_dir = d->data_dir,
                .debug = log_get_max_level() >= LOG_DEBUG,
        });
        if (r < 0)
                return log_error_errno(r, "Failed to set up the workers: %m");
        r = images_new(&d->images, &(ImagesConfig) {
                .event = d->event,
                .data_dir = d->data_dir,
                .debug = log_get_max_level() >= LOG_DEBUG,
                .max_image_size = config->max_image_size,
                .pool = d->workers,
        });
        if (r < 0)
                return log_error_errno(r, "Failed to open the image store in %s: %m", d->data_dir);
        r = images_bind(d->images, d->server);
        if (r < 0)
                return log_error_errno(r, "Failed to bind io.stage0.Images: %m");

        r = pods_new(&d->pods, &(PodsConfig) {
                .event = d->event,
                .data_dir = d->data_dir,
                .debug = log_get_max_level() >= LOG_DEBUG,
                .stage1_image = daemon_stage1_image(d),
                .tpm_tcti = config->tpm_tcti,
                .tpm_pcr = config->tpm_pcr,
                .tpm_timeout_usec = config->tpm_timeout_usec,
                .gc_interval_usec = config->gc_interval_usec,
                .stage1_imported = daemon_stage1_imported,
                .userdata = d,
                .pool = d->workers,
        });
        if (r < 0)
                return log_error_errno(r, "Failed to set up the pods in %s: %m", d->data_dir);
        r = pods_bind(d->pods, d->server);
        if (r < 0)
                return log_error_errno(r, "Failed to bind io.stage0.Pods: %m");
        return 0;
}

/* Picks the varlink socket among the n > 0 fds systemd passed: the one named "varlink", or a
 * single unnamed one. Returns the fd, or a negative errno (logged) for a layout we do not
 * understand; every passed fd that is not returned is closed. */
static int daemon_pick_passed_fd(int n, char **names) {
        int picked = -1, n_named = 0;

        for (int i = 0; i < n; i++)
                if (names[i] && streq(names[i], DAEMON_SOCKET_FDNAME)) {
                        picked = i;
                        n_named++;
                }
        if (n_named == 0 && n == 1 && names[0] && streq(names[0], "unknown"))
                picked = 0;   /* no LISTEN_FDNAMES: systemd calls an unnamed fd "unknown" */
        if (n_named > 1)
                picked = -1;

        for (int i = 0; i < n; i++) {
                if (i == picked)
                        continue;
                if (picked >= 0)
                        log_warning("Ignoring passed socket fd %d named '%s'",
                                    SD_LISTEN_FDS_START + i, names[i] ? names[i] : "");
                close(SD_LISTEN_FDS_START + i);
        }

        if (n_named > 1)
                return log_error_errno(-EINVAL, "systemd passed %d sockets named '%s', expected one",
                                       n_named, DAEMON_SOCKET_FDNAME);
        if (picked < 0)
                return log_error_errno(-EINVAL, "systemd passed %d socket(s), none named '%s' "
                                       "(set FileDescriptorName=%s)", n, DAEMON_SOCKET_FDNAME,
                                       DAEMON_SOCKET_FDNAME);
        return SD_LISTEN_FDS_START + picked;
}

static void strv_free(char **l) {
        if (!l)
                return;
        for (char **s = l; *s; s++)
                free(*s);
        free(l);
}

/* Returns 1 when systemd passed a socket and the server listens on it, 0 when none was passed. */
static int daemon_listen_passed(Daemon *d) {
        char **names = NULL;
        int n, fd, r;

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to read the sockets passed by systemd: %m");
        if (n == 0) {
                strv_free(names);
                return 0;
        }
        fd = daemon_pick_passed_fd(n, names);
        strv_free(names);
        if (fd < 0)
                return fd;

        r = sd_is_socket_unix(fd, SOCK_STREAM, -1, NULL, 0);
        if (r <= 0)
                close(fd);
        if (r < 0)
                return log_error_errno(r, "Failed to check the passed fd %d: %m", fd);
        if (r == 0)
                return log_error_errno(-ENOTSOCK, "Passed fd %d is not a Unix stream socket", fd);
        /* Workers we fork later must not inherit the listening socket. */
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                log_debug_errno(errno, "Failed to set FD_CLOEXEC on fd %d: %m", fd);

        r = varlink_server_listen_fd(d->server, fd);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on the socket passed by systemd: %m");
        log_info("Listening on the socket passed by systemd (fd %d)", fd);
        return 1;
}

static int daemon_chown_socket(Daemon *d) {
        if (!d->policy.has_group)
                return 0;
        if (fchownat(AT_FDCWD, d->socket_path, (uid_t) -1, d->policy.group, AT_SYMLINK_NOFOLLOW) < 0)
                return log_error_errno(errno, "Failed to give socket %s to group %u: %m",
                                       d->socket_path, (unsigned) d->policy.group);
        return 0;
}

static int daemon_listen_path(Daemon *d, const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        struct stat st;
        char *slash;
        int r;

        if (!dir)
                return log_error_errno(-ENOMEM, "Out of memory");
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                r = mkdir_p(dir, 0755);
                if (r < 0)
                        return log_error_errno(r, "Failed to create socket directory %s: %m", dir);
        }

        r = varlink_server_listen_address(d->server, path, 0660);
        if (r == -EADDRINUSE)
                return log_error_errno(r, "Another stage0d is already answering on %s, refusing to "
                                       "replace its socket", path);
        if (r == -EEXIST)
                return log_error_errno(r, "%s exists and is not a socket, refusing to replace it",
                                       path);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on %s: %m", path);

        d->socket_path = strdup(path);
        if (!d->socket_path)
                return log_error_errno(-ENOMEM, "Out of memory");
        if (lstat(path, &st) < 0)
                return log_error_errno(errno, "Failed to stat socket %s: %m", path);
        d->socket_dev = st.st_dev;
        d->socket_ino = st.st_ino;

        r = daemon_chown_socket(d);
        if (r < 0)
                return r;
        log_info("Listening on %s", path);
        return 0;
}

static void daemon_unlink_socket(Daemon *d) {
        struct stat st;

        if (!d->socket_path)
                return;
        /* Only our own socket: a file someone put there since is not ours to remove. */
        if (lstat(d->socket_path, &st) < 0 || st.st_dev != d->socket_dev ||
            st.st_ino != d->socket_ino)
                return;
        if (unlink(d->socket_path) < 0)
                log_debug_errno(errno, "Failed to remove socket %s: %m", d->socket_path);
}

static int daemon_finish_if_idle(Daemon *d) {
        unsigned n = varlink_server_n_connections(d->server);

        if (n > 0)
                return 0;
        log_debug("All connections closed");
        return sd_event_exit(d->event, 0);
}

static int on_shutdown_check(sd_event_source *s, void *userdata) {
        return daemon_finish_if_idle(userdata);
}

static int on_shutdown_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;

        log_warning("%u connection(s) still open after %llu s, exiting anyway",
                    varlink_server_n_connections(d->server),
                    (unsigned long long) (DAEMON_SHUTDOWN_TIMEOUT_USEC / 1000000ULL));
        return sd_event_exit(d->event, 0);
}

static int daemon_begin_shutdown(Daemon *d) {
        unsigned n;
        int r;

        d->shutting_down = true;
        pods_shutdown(d->pods);
        n = varlink_server_shutdown(d->server);
        log_info("Shutting down, %u connection(s) open", n);
        (void) sd_notifyf(false, "STOPPING=1\nSTATUS=Shutting down, %u connection(s) open", n);
        if (n == 0)
                return sd_event_exit(d->event, 0);

        /* Post sources run after every dispatch: the first one with no connection left ends it. */
        r = sd_event_add_post(d->event, &d->shutdown_check, on_shutdown_check, d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch connections during shutdown: %m");
        r = sd_event_add_time_relative(d->event, &d->shutdown_timer, CLOCK_MONOTONIC,
                                       DAEMON_SHUTDOWN_TIMEOUT_USEC, 0, on_shutdown_timeout, d);
        if (r < 0)
                return log_error_errno(r, "Failed to arm the shutdown timer: %m");
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        int r;

        if (d->shutting_down) {
                log_info("Received SIG%s again, exiting now", sigabbrev_np(si->ssi_signo));
                return sd_event_exit(d->event, 0);
        }
        log_debug("Received SIG%s", sigabbrev_np(si->ssi_signo));
        r = daemon_begin_shutdown(d);
        if (r < 0)
                return sd_event_exit(d->event, r);
        return 0;
}

static int daemon_setup_signals(Daemon *d) {
        sigset_t mask;
        int r;

        /* sd-event takes signals through a signalfd, which needs them blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        /* Workers are reaped by sd-event child sources, which need SIGCHLD blocked too. */
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block SIGTERM, SIGINT and SIGCHLD: %m");

        r = sd_event_add_signal(d->event, &d->sigterm_source, SIGTERM, on_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->event, &d->sigint_source, SIGINT, on_signal, d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGTERM and SIGINT: %m");
        return 0;
}

static int daemon_copy_config(Daemon *d, const DaemonConfig *config) {
        d->data_dir = strdup(config->data_dir);
        if (!d->data_dir)
                return -ENOMEM;
        if (config->stage1_image) {
                d->stage1_image = strdup(config->stage1_image);
                if (!d->stage1_image)
                        return -ENOMEM;
        }
        return 0;
}

static int daemon_setup(Daemon *d, const DaemonConfig *config) {
        int r;

        r = daemon_copy_config(d, config);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        r = sd_event_new(&d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create event loop: %m");
        r = daemon_setup_signals(d);
        if (r < 0)
                return r;
        r = daemon_setup_data_dir(d);
        if (r < 0)
                return r;
        daemon_setup_policy(d, config->group);
        r = daemon_setup_server(d, config);
        if (r < 0)
                return r;

        r = daemon_listen_passed(d);
        if (r == 0)
                r = daemon_listen_path(d, config->socket_path);
        return r < 0 ? r : 0;
}

int daemon_new(Daemon **ret, const DaemonConfig *config) {
        _cleanup_(daemon_freep) Daemon *d = NULL;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return log_error_errno(-ENOMEM, "Out of memory");
        r = daemon_setup(d, config);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

Daemon *daemon_free(Daemon *d) {
        if (!d)
                return NULL;
        /* The server goes first: freeing it cancels every kept call, whose holders let go. */
        varlink_server_free(d->server);
        images_free(d->images);
        pods_free(d->pods);
        worker_pool_free(d->workers);
        sd_event_source_unref(d->shutdown_check);
        sd_event_source_unref(d->shutdown_timer);
        sd_event_source_unref(d->sigterm_source);
        sd_event_source_unref(d->sigint_source);
        sd_event_unref(d->event);
        daemon_unlink_socket(d);
        free(d->socket_path);
        free(d->data_dir);
        free(d->stage1_image);
        free(d);
        return NULL;
}

int daemon_run(Daemon *d) {
        int r;

        (void) sd_notify(false, "READY=1\nSTATUS=Processing requests");
        r = sd_event_loop(d->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}
