/* Running a pod in its worker: the seed's Run. The pod is prepared (or was), moved to
 * pods/run/ under its lock, its overlays mounted, its DNS files written, the stage1 argv built
 * for the stage1's interface version and measured into the TPM; then the worker forks, the
 * child execs stage1 with the lock fd (the only fd it inherits besides stdio), and the worker
 * stays its parent: it writes stage1's output to the pod's logs, reaps it and reports the
 * apps' exit codes. The pod is running exactly while stage1 (or the worker, until it closes
 * its copy after stage1 exits) holds the lock. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "dns-files.h"
#include "fs-util.h"
#include "mount-util.h"
#include "pod-logs.h"
#include "selinux-label.h"
#include "stage1-args.h"
#include "tpm.h"
#include "worker-pod.h"

#define SMALL_FILE_MAX 4096
#define STAGE1_MANIFEST_MAX (1024u * 1024u)

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static int refuse(VarlinkCall *call, const char *error, json_object *p) {
        (void) worker_refuse(call, error, p);
        return 1;
}

static int refuse_field(VarlinkCall *call, const char *error, const char *key, const ErrorDetail *d) {
        json_object *p = json_object_new_object();

        json_object_object_add(p, key, json_object_new_string(d->field));
        json_object_object_add(p, "reason", json_object_new_string(d->reason));
        return refuse(call, error, p);
}

static int refuse_entrypoint(VarlinkCall *call, const char *uuid, const char *entrypoint,
                             const char *reason, int exit_code) {
        json_object *p = json_object_new_object();

        json_object_object_add(p, "uuid", json_object_new_string(uuid));
        json_object_object_add(p, "entrypoint", json_object_new_string(entrypoint));
        json_object_object_add(p, "reason", json_object_new_string(reason));
        if (exit_code >= 0)
                json_object_object_add(p, "exitCode", json_object_new_int(exit_code));
        return refuse(call, "io.stage0.Pods.Stage1Failed", p);
}

static int refuse_stage1(VarlinkCall *call, const char *uuid, const char *reason, int exit_code) {
        return refuse_entrypoint(call, uuid, "run", reason, exit_code);
}

static int read_file_at(int dir_fd, const char *name, size_t max, char **ret) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_free_ char *buf = malloc(max + 1);
        ssize_t n;

        if (fd < 0)
                return NEG_ERRNO();
        if (!buf)
                return -ENOMEM;
        n = read(fd, buf, max + 1);
        if (n < 0)
                return NEG_ERRNO();
        if ((size_t) n > max)
                return -EFBIG;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Options that no pod may have are refused before anything is created: a dry run of the argv
 * for the newest interface version. */
static int check_options(VarlinkCall *call, json_object *options) {
        Stage1Info any = { .run = "/init", .version = 6 };
        json_object *warnings = NULL;
        char **argv = NULL;
        ErrorDetail d = {};
        int r;

        r = stage1_run_argv(&any, &(Stage1RunParams) { .rootfs = "", .uuid = "x", .options = options },
                            &argv, &warnings, &d);
        stage1_argv_free(argv);
        json_object_put(warnings);
        if (r == -EOPNOTSUPP) {
                json_object *p = json_object_new_object();

                json_object_object_add(p, "option", json_object_new_string(d.field));
                json_object_object_add(p, "reason", json_object_new_string(d.reason));
                return refuse(call, "io.stage0.Pods.NotSupported", p);
        }
        if (r == -EINVAL)
                return refuse_field(call, "io.stage0.Pods.InvalidRunOptions", "field", &d);
        return r;
}

/* The pod's filesystems: overlays of the tree store's trees (when prepared so), mtab links. */

static int mount_image(const char *data_dir, const char *pod_dir, int pod_fd, const char *tree_file,
                       const char *app, const char *target, const char *label, ErrorDetail *d) {
        _cleanup_free_ char *tree = NULL, *lower = NULL;
        OverlayDirs dirs = {};
        int r;

        r = read_file_at(pod_fd, tree_file, SMALL_FILE_MAX, &tree);
        if (r < 0)
                return error_detail_set(d, r, tree_file, "cannot read the tree ID: %s", strerror(-r));
        tree[strcspn(tree, "\n")] = '\0';
        if (strchr(tree, '/') || asprintf(&lower, "%s/images/trees/%s/rootfs", data_dir, tree) < 0)
                return error_detail_set(d, -EINVAL, tree_file, "bad tree ID");
        r = overlay_prepare_dirs(pod_dir, tree, app, lower, target, (gid_t) -1, label, &dirs, d);
        if (r >= 0 && mount_is_mountpoint(target) != 1)
                r = mount_overlay(lower, dirs.upper, dirs.work, target, label, d);
        overlay_dirs_done(&dirs);
        return r;
}

static int setup_filesystems(const char *data_dir, const char *pod_dir, int pod_fd, json_object *manifest,
                             const char *label, ErrorDetail *d) {
        json_object *apps = json_object_object_get(manifest, "apps");
        bool overlay = faccessat(pod_fd, "overlay-prepared", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
        _cleanup_free_ char *stage1 = NULL;
        int r;

        if (asprintf(&stage1, "%s/stage1/rootfs", pod_dir) < 0)
                return -ENOMEM;
        if (overlay) {
                r = mount_image(data_dir, pod_dir, pod_fd, "stage1TreeStoreID", "", stage1, label, d);
                if (r < 0)
                        return r;
                /* Exit codes are read from the upper dir: make rkt/status exist there. */
                (void) utimensat(pod_fd, "stage1/rootfs/rkt/status", NULL, AT_SYMLINK_NOFOLLOW);
        }
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                const char *app = json_object_get_string(json_object_object_get(json_object_array_get_idx(apps, i), "name"));
                _cleanup_free_ char *dir = NULL, *rootfs = NULL, *tree_file = NULL, *manifest_copy = NULL;
                _cleanup_free_ char *text = NULL, *info = NULL;

                if (asprintf(&dir, "stage1/rootfs/opt/stage2/%s", app) < 0 ||
                    asprintf(&rootfs, "%s/%s/rootfs", pod_dir, dir) < 0 ||
                    asprintf(&tree_file, "appsinfo/%s/treeStoreID", app) < 0 ||
                    asprintf(&info, "appsinfo/%s/manifest", app) < 0 ||
                    asprintf(&manifest_copy, "%s/manifest", dir) < 0)
                        return -ENOMEM;
                if (overlay) {
                        if ((r = mkdirat(pod_fd, "stage1/rootfs/opt", 0755)) < 0 && errno != EEXIST)
                                return NEG_ERRNO();
                        if ((r = mkdirat(pod_fd, "stage1/rootfs/opt/stage2", 0755)) < 0 && errno != EEXIST)
                                return NEG_ERRNO();
                        if (mkdirat(pod_fd, dir, 0750) < 0 && errno != EEXIST)
                                return NEG_ERRNO();
                        /* copyAppManifest: the image manifest beside the app's rootfs. */
                        r = read_file_at(pod_fd, info, 1024 * 1024, &text);
                        if (r >= 0 && faccessat(pod_fd, manifest_copy, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
                                _cleanup_close_ int fd = openat(pod_fd, manifest_copy,
                                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
                                if (fd < 0 || write(fd, text, strlen(text)) < 0)
                                        r = NEG_ERRNO();
                        }
                        if (r < 0)
                                return r;
                        r = mount_image(data_dir, pod_dir, pod_fd, tree_file, app, rootfs, label, d);
                        if (r < 0)
                                return r;
                }
                r = ensure_mtab(rootfs);
                if (r < 0)
                        return error_detail_set(d, r, rootfs, "cannot create etc/mtab: %s", strerror(-r));
        }
        return 0;
}

/* DNS files in the stage1 rootfs, as the modes ask. */

static char **strv_of(json_object *a) {
        size_t n = a ? json_object_array_length(a) : 0;
        char **v = calloc(n + 1, sizeof(char *));

        for (size_t i = 0; v && i < n; i++)
                v[i] = (char *) json_object_get_string(json_object_array_get_idx(a, i));
        return v;
}

static int write_dns(const char *stage1_rootfs, json_object *options, ErrorDetail *d) {
        const char *resolv, *hosts;
        int r;

        r = stage1_dns_modes(options, &resolv, &hosts, d);
        if (r < 0)
                return r;
        if (strcmp(resolv, "stage0") == 0) {
                DnsConfig c = {
                        .servers = strv_of(json_object_object_get(options, "dnsServers")),
                        .search = strv_of(json_object_object_get(options, "dnsSearch")),
                        .options = strv_of(json_object_object_get(options, "dnsOptions")),
                        .domain = (char *) json_object_get_string(json_object_object_get(options, "dnsDomain")),
                };

                r = c.servers && c.search && c.options ? dns_write_resolv_conf(stage1_rootfs, &c, d) : -ENOMEM;
                free(c.servers);
                free(c.search);
                free(c.options);
                if (r < 0)
                        return r;
        }
        if (strcmp(hosts, "stage0") == 0) {
                json_object *e = json_object_object_get(options, "hostsEntries");
                size_t n = e ? json_object_array_length(e) : 0;
                HostsEntry *entries = calloc(n + 1, sizeof(HostsEntry));

                for (size_t i = 0; entries && i < n; i++) {
                        json_object *x = json_object_array_get_idx(e, i);

                        entries[i].ip = (char *) json_object_get_string(json_object_object_get(x, "ip"));
                        entries[i].hostnames = strv_of(json_object_object_get(x, "hostnames"));
                }
                r = entries ? dns_write_hosts(stage1_rootfs, entries, n, d) : -ENOMEM;
                for (size_t i = 0; entries && i < n; i++)
                        free(entries[i].hostnames);
                free(entries);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The TPM: measured, or not when there is none; never waited on past its deadline. */
static void measure(json_object *tpm, const char *data_dir, const char *uuid, const char *manifest,
                    char **argv, json_object *warnings) {
        _cleanup_free_ char *event = NULL, *log_path = tpm_log_path(data_dir);
        json_object *t;
        TpmConfig c = {
                .tcti = TPM_TCTI_DEFAULT,
                .pcr = TPM_PCR_DEFAULT,
                .timeout_usec = TPM_TIMEOUT_USEC_DEFAULT,
                .log_path = log_path,
        };
        int r;

        if (json_object_object_get_ex(tpm, "tcti", &t) && t)
                c.tcti = json_object_get_string(t);
        if (json_object_object_get_ex(tpm, "pcr", &t) && t)
                c.pcr = (unsigned) json_object_get_int(t);
        if (json_object_object_get_ex(tpm, "timeoutUsec", &t) && t)
                c.timeout_usec = (uint64_t) json_object_get_int64(t);
        if (!log_path || tpm_event_text(NULL, manifest, argv, &event) < 0)
                return;
        r = tpm_measure(&c, uuid, event);
        if (r < 0 && r != -ENODEV) {
                json_object *w = json_object_new_object();
                char m[256];

                snprintf(m, sizeof(m), "the pod was not measured into the TPM: %s", strerror(-r));
                json_object_object_add(w, "option", json_object_new_string("tpm"));
                json_object_object_add(w, "message", json_object_new_string(m));
                json_object_array_add(warnings, w);
        }
}

/* Running stage1. */

typedef struct Stage1Process {
        pid_t pid;
        int pidfd;
        int out, err;                 /* read ends of stage1's stdout and stderr */
} Stage1Process;

/* In the child: only async-signal-safe calls until exec. */
_Noreturn static void exec_stage1(int pod_fd, int lock_fd, int out, int err, char **argv, char **envp) {
        sigset_t none;
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
            dup2(err, STDERR_FILENO) < 0 || fchdir(pod_fd) < 0)
                _exit(127);
        /* The lock fd is the one descriptor stage1 inherits on purpose. */
        if (fcntl(lock_fd, F_SETFD, 0) < 0)
                _exit(127);
        setsid();
        execve(argv[0], argv, envp);
        _exit(127);
}

static char **build_env(int lock_fd, const SelinuxLabels *labels) {
        extern char **environ;
        size_t n = 0;
        char **env;

        while (environ[n])
                n++;
        env = calloc(n + 4, sizeof(char *));
        if (!env)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "RKT_", 4) != 0 && strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0)
                        env[k++] = environ[i];
        if (asprintf(&env[k++], "RKT_LOCK_FD=%d", lock_fd) < 0 ||
            asprintf(&env[k++], "RKT_SELINUX_CONTEXT=%s", labels->process) < 0 ||
            asprintf(&env[k++], "RKT_SELINUX_MOUNT_CONTEXT=%s", labels->mount) < 0) {
                free(env);
                return NULL;
        }
        return env;
}

static int start_stage1(int pod_fd, int lock_fd, char **argv, const SelinuxLabels *labels, Stage1Process *ret) {
        int out[2], err[2];
        char **env = build_env(lock_fd, labels);
        pid_t pid;
        int r;

        if (!env)
                return -ENOMEM;
        if (pipe2(out, O_CLOEXEC) < 0) {
                r = NEG_ERRNO();
                free(env);
                return r;
        }
        if (pipe2(err, O_CLOEXEC) < 0) {
                r = NEG_ERRNO();
                close(out[0]);
                close(out[1]);
                free(env);
                return r;
        }
        pid = fork();
        if (pid == 0)
                exec_stage1(pod_fd, lock_fd, out[1], err[1], argv, env);
        r = pid < 0 ? NEG_ERRNO() : 0;
        close(out[1]);
        close(err[1]);
        /* The three we made; the rest of env is borrowed from environ. */
        for (size_t i = 0; env[i]; i++)
                if (strncmp(env[i], "RKT_", 4) == 0)
                        free(env[i]);
        free(env);
        if (r < 0) {
                close(out[0]);
                close(err[0]);
                return r;
        }
        *ret = (Stage1Process) { .pid = pid, .out = out[0], .err = err[0],
                                 .pidfd = (int) syscall(SYS_pidfd_open, pid, 0) };
        return 0;
}

/* Copies stage1's output into the logs until both pipes close, then reaps it. */
static int supervise(Stage1Process *p, PodLogWriter *logs, int *ret_status) {
        char buf[POD_LOG_CHUNK_MAX];
        struct pollfd fds[2] = { { .fd = p->out, .events = POLLIN }, { .fd = p->err, .events = POLLIN } };
        int open_pipes = 2, status;

        while (open_pipes > 0) {
                if (poll(fds, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return NEG_ERRNO();
                }
                for (int i = 0; i < 2; i++) {
                        ssize_t n;

                        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        n = read(fds[i].fd, buf, sizeof(buf));
                        if (n > 0) {
                                (void) pod_log_write(logs, i == 0 ? POD_LOG_STDOUT : POD_LOG_STDERR,
                                                     now_usec(), buf, (size_t) n);
                                continue;
                        }
                        if (n < 0 && errno == EINTR)
                                continue;
                        close(fds[i].fd);
                        fds[i].fd = -1;
                        open_pipes--;
                }
        }
        p->out = p->err = -EBADF;
        while (waitpid(p->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return NEG_ERRNO();
        *ret_status = status;
        return 0;
}

/* The apps' exit codes, from where stage1 left them. */
static json_object *exit_codes(int pod_fd, json_object *manifest) {
        _cleanup_free_ char *tree = NULL, *dir = NULL;
        _cleanup_close_ int status_fd = -EBADF;
        json_object *apps = json_object_object_get(manifest, "apps"), *list = json_object_new_array();

        if (faccessat(pod_fd, "overlay-prepared", F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
            read_file_at(pod_fd, "stage1TreeStoreID", SMALL_FILE_MAX, &tree) >= 0) {
                tree[strcspn(tree, "\n")] = '\0';
                if (asprintf(&dir, "overlay/%s/upper/rkt/status", tree) >= 0)
                        status_fd = openat(pod_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        }
        if (status_fd < 0)
                status_fd = openat(pod_fd, "stage1/rootfs/rkt/status", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                json_object *entry = json_object_array_get_idx(apps, i);
                json_object *image = json_object_object_get(entry, "image");
                const char *app = json_object_get_string(json_object_object_get(entry, "name"));
                const char *image_id = json_object_get_string(json_object_object_get(image, "id"));
                const char *image_name = json_object_get_string(json_object_object_get(image, "name"));
                _cleanup_free_ char *code = NULL;
                json_object *o = json_object_new_object();

                /* An AppStatus as Pods.Status has it: stage0d answers with this when GC has
                 * taken the pod before the answer. */
                json_object_object_add(o, "name", json_object_new_string(app));
                json_object_object_add(o, "imageId", json_object_new_string(image_id ? image_id : ""));
                if (image_name)
                        json_object_object_add(o, "imageName", json_object_new_string(image_name));
                if (status_fd >= 0 && read_file_at(status_fd, app, 64, &code) >= 0)
                        json_object_object_add(o, "exitCode", json_object_new_int(atoi(code)));
                json_object_array_add(list, o);
        }
        return list;
}

/* The last line stage1 wrote to stderr, for an error message: what it said when it gave up. */
static void last_stderr_line(int pod_fd, char *buf, size_t size) {
        _cleanup_json_ json_object *chunks = json_object_new_array();
        PodLogReader reader;
        unsigned char data[POD_LOG_CHUNK_MAX + 4];

        buf[0] = '\0';
        if (!chunks || pod_log_reader_open(&reader, pod_fd) < 0)
                return;
        (void) pod_log_read(&reader, chunks);
        pod_log_reader_close(&reader);
        for (size_t i = json_object_array_length(chunks); i > 0; i--) {
                json_object *c = json_object_array_get_idx(chunks, i - 1);
                const char *b64 = json_object_get_string(json_object_object_get(c, "data"));
                int n;

                if (strcmp(json_object_get_string(json_object_object_get(c, "stream")), "stderr") != 0)
                        continue;
                if (strlen(b64) > 4 * (POD_LOG_CHUNK_MAX / 3 + 1))
                        return;
                n = EVP_DecodeBlock(data, (const unsigned char *) b64, (int) strlen(b64));
                while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\0'))
                        n--;
                if (n <= 0)
                        return;
                data[n] = '\0';
                char *line = strrchr((char *) data, '\n');
                snprintf(buf, size, "%.200s", line ? line + 1 : (char *) data);
                return;
        }
}

static bool any_exit_code(json_object *apps) {
        for (size_t i = 0; i < json_object_array_length(apps); i++)
                if (json_object_object_get(json_object_array_get_idx(apps, i), "exitCode"))
                        return true;
        return false;
}

static json_object *running_json(const char *uuid, pid_t pid, json_object *warnings) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "uuid", json_object_new_string(uuid));
        json_object_object_add(o, "pid", json_object_new_int(pid));
        json_object_object_add(o, "warnings", json_object_get(warnings));
        return o;
}

static int safe_close(int fd) {
        if (fd >= 0)
                close(fd);
        return -EBADF;
}

/* Everything between holding the locked pod in pods/run/ and the exec; takes lock_fd. */
static int run_pod(Worker *w, VarlinkCall *call, const char *uuid, int lock_fd, json_object *options,
                   json_object *tpm) {
        _cleanup_free_ char *pod_dir = pod_path(w->data_dir, POD_PLACE_RUN, uuid), *stage1_rootfs = NULL;
        _cleanup_free_ char *manifest_text = NULL, *s1_text = NULL, *private_users = NULL;
        _cleanup_json_ json_object *manifest = NULL, *s1_manifest = NULL, *warnings = NULL;
        _cleanup_close_ int pod_fd = -EBADF;
        PodLogWriter logs = { .fd = -EBADF, .dir_fd = -EBADF };
        Stage1Process p = { .out = -EBADF, .err = -EBADF, .pidfd = -EBADF };
        SelinuxLabels *labels = NULL;
        Stage1Info s1;
        char **argv = NULL;
        ErrorDetail d = {};
        int r, status;

        if (!pod_dir || asprintf(&stage1_rootfs, "%s/stage1/rootfs", pod_dir) < 0) {
                r = -ENOMEM;
                goto out;
        }
        pod_fd = open(pod_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pod_fd < 0) {
                r = NEG_ERRNO();
                goto out;
        }
        if (read_file_at(pod_fd, "pod", 16 * 1024 * 1024, &manifest_text) < 0 ||
            read_file_at(pod_fd, "stage1/manifest", STAGE1_MANIFEST_MAX, &s1_text) < 0) {
                r = refuse_stage1(call, uuid, "the pod is incomplete: no pod or stage1 manifest", -1);
                goto out;
        }
        (void) read_file_at(pod_fd, "private-users-prepared", SMALL_FILE_MAX, &private_users);
        manifest = json_tokener_parse(manifest_text);
        s1_manifest = json_tokener_parse(s1_text);
        if (!manifest || !s1_manifest) {
                r = refuse_stage1(call, uuid, "the pod or stage1 manifest does not parse", -1);
                goto out;
        }
        r = stage1_info_read(s1_manifest, &s1, &d);
        if (r < 0) {
                r = refuse_stage1(call, uuid, d.reason, -1);
                goto out;
        }
        r = stage1_run_argv(&s1, &(Stage1RunParams) {
                        .rootfs = stage1_rootfs, .uuid = uuid, .options = options,
                        .private_users = private_users }, &argv, &warnings, &d);
        if (r == -EOPNOTSUPP) {
                json_object *e = json_object_new_object();

                json_object_object_add(e, "option", json_object_new_string(d.field));
                json_object_object_add(e, "reason", json_object_new_string(d.reason));
                r = refuse(call, "io.stage0.Pods.NotSupported", e);
        }
        if (r != 0)
                goto out;

        r = selinux_labels_new(&labels, NULL, 0);
        if (r < 0)
                goto out;
        r = setup_filesystems(w->data_dir, pod_dir, pod_fd, manifest, labels->mount, &d);
        if (r < 0) {
                r = refuse_stage1(call, uuid, d.reason[0] ? d.reason : strerror(-r), -1);
                goto out;
        }
        /* With overlay the mount carries the label; a copied tree is labelled file by file. */
        if (selinux_label_enabled() && faccessat(pod_fd, "overlay-prepared", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
            (r = selinux_label_tree(stage1_rootfs, labels->mount)) < 0) {
                r = refuse_stage1(call, uuid, "cannot label the pod's files for SELinux", -1);
                goto out;
        }
        r = write_dns(stage1_rootfs, options, &d);
        if (r < 0) {
                r = refuse_field(call, "io.stage0.Pods.InvalidRunOptions", "field", &d);
                goto out;
        }
        measure(tpm, w->data_dir, uuid, manifest_text, argv, warnings);
        r = pod_log_writer_open(&logs, pod_fd, 0);
        if (r >= 0)
                r = start_stage1(pod_fd, lock_fd, argv, labels, &p);
        if (r < 0)
                goto out;
        if (varlink_call_wants_more(call))
                (void) varlink_call_notify(call, running_json(uuid, p.pid, warnings));

        r = supervise(&p, &logs, &status);
        if (r < 0)
                goto out;
        /* The exit codes before our copy of the lock goes: with stage1 gone, that makes the
         * pod exited, and a GC may take it at once. */
        json_object *apps = exit_codes(pod_fd, manifest);
        lock_fd = safe_close(lock_fd);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code != 0 && !any_exit_code(apps)) {
                /* No app ever ran: stage1 itself failed (its stderr is in the pod's logs). */
                char reason[512], last[256];

                json_object_put(apps);
                last_stderr_line(pod_fd, last, sizeof(last));
                if (code == 127)
                        snprintf(reason, sizeof(reason), "stage1 could not be executed");
                else
                        snprintf(reason, sizeof(reason), "stage1 exited with status %d before any app ran%s%s",
                                 code, last[0] ? ": " : "; see the pod's logs", last);
                r = refuse_stage1(call, uuid, reason, code);
                goto out;
        }
        json_object *reply = running_json(uuid, p.pid, warnings);
        json_object_object_add(reply, "apps", apps);
        json_object_object_add(reply, "stage1Status", json_object_new_int(code));
        r = varlink_call_reply(call, reply);
out:
        /* Whatever happened, the pod no longer runs once we return. */
        safe_close(lock_fd);
        if (p.pidfd >= 0)
                close(p.pidfd);
        pod_log_writer_close(&logs);
        stage1_argv_free(argv);
        selinux_labels_free(labels);
        return r < 0 ? r : 0;
}

/* Worker.Run: prepare (or take a prepared pod), then run it. */
int worker_method_run(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        json_object *options = json_object_object_get(parameters, "options");
        const char *uuid = json_object_get_string(json_object_object_get(parameters, "uuid"));
        _cleanup_(prepared_pod_done) PreparedPod pod = { .lock_fd = -EBADF };
        int r;

        r = check_options(call, options);
        if (r != 0)
                return r < 0 ? r : 0;
        if (uuid) {
                /* run-prepared: of two at once, exactly one gets the lock and the move. */
                r = pod_lock_exclusive(w->data_dir, uuid, POD_PLACE_PREPARED, &pod.lock_fd);
                if (r == -ENOENT || r == -EBUSY || r == -ESTALE) {
                        json_object *p = json_object_new_object();
                        PodState state = POD_STATE_PREPARED;

                        (void) pod_probe(w->data_dir, uuid, &state, NULL);
                        json_object_object_add(p, "uuid", json_object_new_string(uuid));
                        json_object_object_add(p, "state", json_object_new_string(
                                r == -EBUSY ? "running" : pod_state_to_string(state)));
                        (void) refuse(call, "io.stage0.Pods.InvalidState", p);
                        return 0;
                }
                if (r < 0)
                        return r;
                memcpy(pod.uuid, uuid, sizeof(pod.uuid));
                r = pod_move(w->data_dir, uuid, POD_PLACE_PREPARED, POD_PLACE_RUN);
                if (r < 0)
                        return r;
                if (varlink_call_wants_more(call)) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "uuid", json_object_new_string(uuid));
                        (void) varlink_call_notify(call, o);
                }
        } else {
                r = worker_pod_prepare(w, call, parameters, &pod);
                if (r != 0)
                        return r < 0 ? r : 0;
                if (worker_peer_gone(w))
                        return 0;  /* as for Prepare: the pod ends aborted */
                /* rkt run: straight from prepare to run, keeping the lock. */
                r = pod_move(w->data_dir, pod.uuid, POD_PLACE_PREPARE, POD_PLACE_RUN);
                if (r < 0)
                        return r;
        }
        r = run_pod(w, call, pod.uuid, pod.lock_fd, options, json_object_object_get(parameters, "tpm"));
        pod.lock_fd = -EBADF;  /* run_pod closed it, or stage1 holds it */
        return r;
}

/* Stopping: stage1's stop entrypoint, gracefully first, forced after the timeout. */

static int run_entrypoint(int pod_fd, char **argv) {
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return NEG_ERRNO();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                if (null < 0 || dup2(null, STDIN_FILENO) < 0 || fchdir(pod_fd) < 0)
                        _exit(127);
                execv(argv[0], argv);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return NEG_ERRNO();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits until the pod no longer runs, or the deadline; true when it has stopped. */
static bool wait_stopped(const char *data_dir, const char *uuid, uint64_t timeout_usec) {
        struct timespec step = { .tv_nsec = 20 * 1000 * 1000 };

        for (uint64_t waited = 0;; waited += 20000) {
                PodState state;

                if (pod_probe(data_dir, uuid, &state, NULL) < 0 || state != POD_STATE_RUNNING)
                        return true;
                if (waited >= timeout_usec)
                        return false;
                nanosleep(&step, NULL);
        }
}

int worker_method_stop_pod(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        const char *uuid = json_object_get_string(json_object_object_get(parameters, "uuid"));
        bool force = json_object_get_boolean(json_object_object_get(parameters, "force"));
        json_object *t = json_object_object_get(parameters, "timeoutUsec");
        uint64_t timeout = t ? (uint64_t) json_object_get_int64(t) : 10ULL * 1000000ULL;
        _cleanup_free_ char *pod_dir = pod_path(w->data_dir, POD_PLACE_RUN, uuid), *text = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_json_ json_object *m = NULL;
        _cleanup_close_ int pod_fd = -EBADF;
        Stage1Info s1;
        ErrorDetail d = {};
        int r;

        if (!pod_dir)
                return -ENOMEM;
        pod_fd = open(pod_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pod_fd < 0)
                return NEG_ERRNO();
        if (read_file_at(pod_fd, "stage1/manifest", STAGE1_MANIFEST_MAX, &text) < 0 ||
            !(m = json_tokener_parse(text)) || stage1_info_read(m, &s1, &d) < 0)
                return refuse_entrypoint(call, uuid, "stop", "the pod's stage1 manifest cannot be read", -1);
        if (!s1.stop) {
                json_object *p = json_object_new_object();

                json_object_object_add(p, "uuid", json_object_new_string(uuid));
                json_object_object_add(p, "entrypoint", json_object_new_string("stop"));
                json_object_object_add(p, "reason", json_object_new_string("stop is not implemented by the pod's stage1"));
                return refuse(call, "io.stage0.Pods.Stage1Failed", p);
        }
        if (asprintf(&path, "%s/stage1/rootfs%s", pod_dir, s1.stop) < 0)
                return -ENOMEM;
        if (!force && timeout > 0) {
                char *argv[] = { path, (char *) uuid, NULL };

                r = run_entrypoint(pod_fd, argv);
                if (r == 127)
                        return refuse_entrypoint(call, uuid, "stop", "the stop entrypoint cannot be run", r);
                if (wait_stopped(w->data_dir, uuid, timeout))
                        return varlink_call_reply(call, NULL);
        }
        char *argv[] = { path, (char *) "--force", (char *) uuid, NULL };
        r = run_entrypoint(pod_fd, argv);
        if (r == 127)
                return refuse_entrypoint(call, uuid, "stop", "the stop entrypoint cannot be run", r);
        if (!wait_stopped(w->data_dir, uuid, 10ULL * 1000000ULL))
                return refuse_entrypoint(call, uuid, "stop", "the pod still runs after a forced stop", -1);
        return varlink_call_reply(call, NULL);
}

/* Deleting a pod: what stage1 made outside the pod (its gc entrypoint, for a pod that ran,
 * with the stage1 rootfs mounted again if a reboot took the overlay), then every mount below
 * the pod, deepest first, then its files. */
int worker_pod_delete(const char *data_dir, const char *uuid, PodPlace place) {
        _cleanup_free_ char *dir = pod_path(data_dir, place, uuid), *text = NULL, *gc = NULL, *rootfs = NULL;
        _cleanup_json_ json_object *m = NULL;
        _cleanup_close_ int pod_fd = -EBADF;
        UmountReport report = {};
        Stage1Info s1;
        ErrorDetail d = {};
        int r;

        if (!dir || asprintf(&rootfs, "%s/stage1/rootfs", dir) < 0)
                return -ENOMEM;
        pod_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pod_fd < 0)
                return errno == ENOENT ? 0 : NEG_ERRNO();
        if (place == POD_PLACE_EXITED_GARBAGE &&
            read_file_at(pod_fd, "stage1/manifest", STAGE1_MANIFEST_MAX, &text) >= 0 &&
            (m = json_tokener_parse(text)) && stage1_info_read(m, &s1, &d) >= 0 && s1.gc) {
                if (faccessat(pod_fd, "overlay-prepared", F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
                    mount_is_mountpoint(rootfs) != 1)
                        (void) mount_image(data_dir, dir, pod_fd, "stage1TreeStoreID", "", rootfs, "", &d);
                if (asprintf(&gc, "%s%s", rootfs, s1.gc) < 0)
                        return -ENOMEM;
                char *argv[] = { gc, (char *) uuid, NULL };
                (void) run_entrypoint(pod_fd, argv);
        }
        r = umount_all_under(dir, &report);
        if (r < 0)
                return r;
        return rm_rf(dir);
}
