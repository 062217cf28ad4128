/* Mounts of a pod; see mount-util.h. libmount does every mount and unmount; this file adds
 * input checks, messages that name the real cause, ordering and retries. */
#include <errno.h>
#include <fcntl.h>
#include <libmount.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "mount-util.h"
#include "selinux-label.h"

#define MOUNTINFO "/proc/self/mountinfo"
#define POD_DIR_MODE 0750       /* rkt's DefaultRegularDirPerm */

static void mnt_free_contextp(struct libmnt_context **c) {
        mnt_free_context(*c);
}
static void mnt_unref_tablep(struct libmnt_table **t) {
        mnt_unref_table(*t);
}
static void mnt_free_iterp(struct libmnt_iter **i) {
        mnt_free_iter(*i);
}

/* libmount: 0 ok, >0 the errno of the syscall, <0 a library error (-errno or MNT_ERR_*). */
static int mnt_result(struct libmnt_context *c, int rc) {
        if (rc == 0)
                return 0;
        if (rc > 0)
                return -rc;
        if (mnt_context_syscall_called(c) && mnt_context_get_syscall_errno(c) > 0)
                return -mnt_context_get_syscall_errno(c);
        return rc > -4096 ? rc : -EIO;
}

static bool option_value_ok(const char *s) {
        if (!s || !*s)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f || *p == ',' || *p == ':' || *p == '"')
                        return false;
        return true;
}

static bool label_ok(const char *s) {
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f || *p == '"')
                        return false;
        return true;
}

static int overlay_check(const char *const dirs[4], const char *const names[4],
                         const char *label, ErrorDetail *d) {
        for (int i = 0; i < 4; i++)
                if (!option_value_ok(dirs[i]))
                        return error_detail_set(d, -EINVAL, names[i],
                                                "empty, or contains ',', ':', '\"' or a control "
                                                "character: \"%.200s\"", dirs[i] ? dirs[i] : "");
        if (label && !label_ok(label))
                return error_detail_set(d, -EINVAL, "mountLabel",
                                        "contains '\"' or a control character");
        return 0;
}

/* Why the mount failed, in terms of our directories: the kernel only logs the real reason. */
static int overlay_error(int r, const char *const dirs[4], const char *const names[4],
                         ErrorDetail *d) {
        struct stat st;

        if (r == -ENOENT || r == -ENOTDIR)
                for (int i = 0; i < 4; i++) {
                        int e = stat(dirs[i], &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;

                        if (e != 0)
                                return error_detail_set(d, r, names[i], "overlay on %s: %s %s: %s",
                                                        dirs[3], names[i], dirs[i], strerror(e));
                }
        return error_detail_set(d, r, "target",
                                "overlay on %s (lowerdir %s, upperdir %s, workdir %s): %s%s",
                                dirs[3], dirs[0], dirs[1], dirs[2], strerror(-r),
                                r == -EINVAL ? " (the kernel log names the refused option)" : "");
}

int mount_overlay(const char *lower, const char *upper, const char *work, const char *target,
                  const char *mount_label, ErrorDetail *d) {
        static const char *const names[4] = { "lowerdir", "upperdir", "workdir", "target" };
        const char *const dirs[4] = { lower, upper, work, target };
        _cleanup_(mnt_free_contextp) struct libmnt_context *c = NULL;
        char options[MOUNT_OPTIONS_MAX + 1];
        int n, r;

        if (mount_label && !*mount_label)
                mount_label = NULL;
        r = overlay_check(dirs, names, mount_label, d);
        if (r < 0)
                return r;
        n = snprintf(options, sizeof(options), "lowerdir=%s,upperdir=%s,workdir=%s%s%s%s",
                     lower, upper, work, mount_label ? ",context=\"" : "",
                     mount_label ? mount_label : "", mount_label ? "\"" : "");
        if (n < 0 || (size_t) n >= sizeof(options))
                return error_detail_set(d, -ENAMETOOLONG, "target",
                                        "overlay options longer than %d bytes", MOUNT_OPTIONS_MAX);
        c = mnt_new_context();
        if (!c)
                return -ENOMEM;
        if (mnt_context_set_fstype(c, "overlay") < 0 || mnt_context_set_source(c, "overlay") < 0 ||
            mnt_context_set_target(c, target) < 0 || mnt_context_set_options(c, options) < 0 ||
            mnt_context_disable_helpers(c, 1) < 0)
                return -ENOMEM;
        r = mnt_result(c, mnt_context_mount(c));
        return r < 0 ? overlay_error(r, dirs, names, d) : 0;
}

char **mount_list_free(char **l) {
        for (size_t i = 0; l && l[i]; i++)
                free(l[i]);
        free(l);
        return NULL;
}

/* The canonical form of path: realpath when it exists, else path without trailing slashes. */
static int canonical(const char *path, char **ret) {
        size_t n;

        if (!path || path[0] != '/')
                return -EINVAL;
        *ret = realpath(path, NULL);
        if (*ret)
                return 0;
        if (errno != ENOENT && errno != ENOTDIR)
                return NEG_ERRNO();
        n = strlen(path);
        while (n > 1 && path[n - 1] == '/')
                n--;
        *ret = strndup(path, n);
        return *ret ? 0 : -ENOMEM;
}

static bool is_at_or_below(const char *target, const char *dir) {
        size_t n = strlen(dir);

        if (strcmp(dir, "/") == 0)
                return true;
        return strncmp(target, dir, n) == 0 && (target[n] == '\0' || target[n] == '/');
}

typedef struct MountEntry {
        char *target;
        size_t depth, order;
} MountEntry;

static size_t path_depth(const char *p) {
        size_t n = 0;

        for (; *p; p++)
                n += *p == '/';
        return n;
}

static int entry_cmp(const void *a, const void *b) {
        const MountEntry *x = a, *y = b;

        if (x->depth != y->depth)
                return x->depth < y->depth ? 1 : -1;
        return x->order < y->order ? 1 : x->order > y->order ? -1 : 0;
}

static int table_read(struct libmnt_table **ret) {
        struct libmnt_table *t = mnt_new_table();
        int r;

        if (!t)
                return -ENOMEM;
        r = mnt_table_parse_file(t, MOUNTINFO);
        if (r < 0) {
                mnt_unref_table(t);
                return r;
        }
        *ret = t;
        return 0;
}

/* Collects the targets at or below dir into a NULL-terminated array of MountEntry targets. */
static int collect(struct libmnt_table *t, const char *dir, MountEntry **ret, size_t *ret_n) {
        _cleanup_(mnt_free_iterp) struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
        struct libmnt_fs *fs;
        MountEntry *e = NULL;
        size_t n = 0, order = 0;

        if (!it)
                return -ENOMEM;
        while (mnt_table_next_fs(t, it, &fs) == 0) {
                const char *target = mnt_fs_get_target(fs);
                MountEntry *bigger;

                order++;
                if (!target || !is_at_or_below(target, dir))
                        continue;
                bigger = realloc(e, (n + 1) * sizeof(*e));
                if (!bigger || !(bigger[n].target = strdup(target))) {
                        e = bigger ? bigger : e;
                        for (size_t i = 0; i < n; i++)
                                free(e[i].target);
                        free(e);
                        return -ENOMEM;
                }
                e = bigger;
                e[n].depth = path_depth(target);
                e[n++].order = order;
        }
        *ret = e;
        *ret_n = n;
        return 0;
}

int mount_list_under(const char *path, char ***ret) {
        _cleanup_(mnt_unref_tablep) struct libmnt_table *t = NULL;
        _cleanup_free_ char *dir = NULL;
        MountEntry *e = NULL;
        char **l;
        size_t n = 0;
        int r;

        r = canonical(path, &dir);
        if (r < 0)
                return r;
        r = table_read(&t);
        if (r < 0)
                return r;
        r = collect(t, dir, &e, &n);
        if (r < 0)
                return r;
        if (n > 0)
                qsort(e, n, sizeof(*e), entry_cmp);
        l = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                if (l)
                        l[i] = e[i].target;
                else
                        free(e[i].target);
        }
        free(e);
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

static int umount_one(const char *target, bool lazy) {
        _cleanup_(mnt_free_contextp) struct libmnt_context *c = mnt_new_context();

        if (!c)
                return -ENOMEM;
        if (mnt_context_set_target(c, target) < 0 || mnt_context_disable_helpers(c, 1) < 0 ||
            (lazy && mnt_context_enable_lazy(c, 1) < 0))
                return -ENOMEM;
        return mnt_result(c, mnt_context_umount(c));
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* One pass over the current mounts; returns how many are left, or a negative errno. Only a
 * busy mount is detached lazily, and only in the last round. */
static int umount_round(const char *path, bool last, UmountReport *rep) {
        char **l = NULL;
        int left = 0, r;

        r = mount_list_under(path, &l);
        if (r < 0)
                return r;
        for (size_t i = 0; l[i]; i++) {
                r = umount_one(l[i], false);
                if (r == -EBUSY && last && umount_one(l[i], true) == 0)
                        rep->detached++;
                else if (r == 0)
                        rep->unmounted++;
                else
                        left++;   /* retried; the final listing tells what really remains */
        }
        mount_list_free(l);
        return left;
}

int umount_all_under(const char *path, UmountReport *report) {
        static const unsigned backoff_ms[UMOUNT_ROUNDS] = { 10, 40, 100, 0 };
        UmountReport rep = {};
        char **l = NULL;
        size_t n = 0;
        int r;

        for (int round = 0; round < UMOUNT_ROUNDS; round++) {
                r = umount_round(path, round == UMOUNT_ROUNDS - 1, &rep);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                sleep_ms(backoff_ms[round]);
        }
        r = mount_list_under(path, &l);
        if (r < 0)
                return r;
        while (l[n])
                n++;
        mount_list_free(l);
        rep.remaining = (unsigned) n;
        if (report)
                *report = rep;
        return n > 0 ? -EBUSY : 0;
}

int mount_is_mountpoint(const char *path) {
        _cleanup_(mnt_unref_tablep) struct libmnt_table *t = NULL;
        _cleanup_free_ char *p = NULL;
        int r;

        if (!path || path[0] != '/')
                return -EINVAL;
        p = realpath(path, NULL);
        if (!p)
                return NEG_ERRNO();
        r = table_read(&t);
        if (r < 0)
                return r;
        return mnt_table_find_target(t, p, MNT_ITER_BACKWARD) ? 1 : 0;
}

int ensure_mtab(const char *rootfs) {
        _cleanup_close_ int root = -EBADF, etc = -EBADF;
        struct stat st;

        root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return NEG_ERRNO();
        etc = openat(root, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (etc < 0)
                /* no etc, a symlink, or not a directory: no mtab, as rkt (minus following) */
                return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? 0 : NEG_ERRNO();
        if (fstatat(etc, "mtab", &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        if (errno != ENOENT)
                return NEG_ERRNO();
        if (symlinkat("../proc/self/mounts", etc, "mtab") < 0 && errno != EEXIST)
                return NEG_ERRNO();
        return 0;
}

void overlay_dirs_done(OverlayDirs *o) {
        free(o->upper);
        free(o->work);
        *o = (OverlayDirs) {};
}

static bool component_ok(const char *s, bool may_be_empty) {
        if (!s)
                return false;
        if (!*s)
                return may_be_empty;
        return strlen(s) <= NAME_MAX && !strchr(s, '/') && strcmp(s, ".") != 0 &&
               strcmp(s, "..") != 0;
}

/* Opens (creating it with exactly mode when missing) the directory name below dirfd. */
static int mkdir_open_at(int dirfd, const char *name, mode_t mode) {
        int fd;

        if (mkdirat(dirfd, name, mode) == 0) {
                if (fchmodat(dirfd, name, mode, 0) < 0)
                        return NEG_ERRNO();
        } else if (errno != EEXIST)
                return NEG_ERRNO();
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? NEG_ERRNO() : fd;
}

/* mkdir -p of rel below dirfd, one component at a time, following nothing; new directories
 * get exactly mode. */
static int mkdir_p_at(int dirfd, const char *rel, mode_t mode) {
        _cleanup_free_ char *p = strdup(rel);
        _cleanup_close_ int cur = -EBADF;
        char *save = NULL;

        if (!p)
                return -ENOMEM;
        for (char *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                int next;

                if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
                        return -EINVAL;
                next = mkdir_open_at(cur >= 0 ? cur : dirfd, c, mode);
                if (next < 0)
                        return next;
                closep(&cur);
                cur = next;
        }
        return 0;
}

/* The part of target below pod_dir, or NULL when target is not below it. */
static const char *below(const char *target, const char *pod_dir) {
        size_t n = strlen(pod_dir);

        while (n > 1 && pod_dir[n - 1] == '/')
                n--;
        if (strncmp(target, pod_dir, n) != 0 || target[n] != '/' || target[n + 1] == '\0')
                return NULL;
        return target + n + 1;
}

/* <tree>/<kind>/<app> (or <tree>/<kind> for the stage1), both levels with mode. */
static int make_layer_dir(int tree, const char *kind, const char *app, mode_t mode) {
        _cleanup_close_ int k = -EBADF, a = -EBADF;

        k = mkdir_open_at(tree, kind, mode);
        if (k < 0 || !*app)
                return k < 0 ? k : 0;
        a = mkdir_open_at(k, app, mode);
        return a < 0 ? a : 0;
}

/* overlay/ and overlay/<tree_id>; returns an fd of the latter. */
static int make_tree_dir(const char *pod_dir, const char *tree_id, gid_t gid) {
        _cleanup_close_ int pod = -EBADF, ov = -EBADF, tree = -EBADF;

        pod = open(pod_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pod < 0)
                return NEG_ERRNO();
        ov = mkdir_open_at(pod, "overlay", POD_DIR_MODE);
        if (ov < 0)
                return ov;
        /* pods/<state>/<uuid> may be setgid; files made in the pod must not inherit it */
        if (fchmod(ov, POD_DIR_MODE) < 0)
                return NEG_ERRNO();
        tree = mkdir_open_at(ov, tree_id, POD_DIR_MODE);
        if (tree < 0)
                return tree;
        /* lets the group read the exit codes in upper/rkt/status, as rkt's status does */
        if (gid != (gid_t) -1 && fchown(tree, (uid_t) -1, gid) < 0)
                return NEG_ERRNO();
        return TAKE_FD(tree);
}

static int make_target(const char *pod_dir, const char *rel, mode_t mode) {
        _cleanup_close_ int pod = open(pod_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return pod < 0 ? NEG_ERRNO() : mkdir_p_at(pod, rel, mode);
}

static int prepare_dirs_at(int tree, const char *app, mode_t img_mode, OverlayDirs *o,
                           const char *label, ErrorDetail *d) {
        int r;

        r = make_layer_dir(tree, "upper", app, img_mode);
        if (r < 0)
                return error_detail_set(d, r, "upperdir", "creating %s: %s", o->upper,
                                        strerror(-r));
        r = make_layer_dir(tree, "work", app, POD_DIR_MODE);
        if (r < 0)
                return error_detail_set(d, r, "workdir", "creating %s: %s", o->work,
                                        strerror(-r));
        r = selinux_label_path(o->upper, label);
        if (r == 0)
                r = selinux_label_path(o->work, label);
        if (r < 0)
                return error_detail_set(d, r, "mountLabel", "labelling %s: %s", o->upper,
                                        strerror(-r));
        return 0;
}

int overlay_prepare_dirs(const char *pod_dir, const char *tree_id, const char *app,
                         const char *lower, const char *target, gid_t gid,
                         const char *mount_label, OverlayDirs *ret, ErrorDetail *d) {
        _cleanup_(overlay_dirs_done) OverlayDirs o = {};
        _cleanup_close_ int tree = -EBADF;
        const char *sep;
        struct stat st;
        int r;

        if (!component_ok(tree_id, false))
                return error_detail_set(d, -EINVAL, "treeStoreID", "not a file name: \"%.200s\"",
                                        tree_id ? tree_id : "");
        if (!component_ok(app, true))
                return error_detail_set(d, -EINVAL, "app", "not a file name: \"%.200s\"",
                                        app ? app : "(null)");
        sep = *app ? "/" : "";
        if (stat(lower, &st) < 0)
                return error_detail_set(d, NEG_ERRNO(), "lowerdir", "%s: %m", lower);
        if (asprintf(&o.upper, "%s/overlay/%s/upper%s%s", pod_dir, tree_id, sep, app) < 0 ||
            asprintf(&o.work, "%s/overlay/%s/work%s%s", pod_dir, tree_id, sep, app) < 0)
                return -ENOMEM;
        if (target && !below(target, pod_dir))
                return error_detail_set(d, -EINVAL, "target", "%s is not below the pod %s",
                                        target, pod_dir);
        if (target && (r = make_target(pod_dir, below(target, pod_dir), st.st_mode & 01777)) < 0)
                return error_detail_set(d, r, "target", "creating %s: %s", target, strerror(-r));
        tree = make_tree_dir(pod_dir, tree_id, gid);
        if (tree < 0)
                return error_detail_set(d, tree, "overlay", "creating %s/overlay/%s: %s", pod_dir,
                                        tree_id, strerror(-tree));
        r = prepare_dirs_at(tree, app, st.st_mode & 01777, &o, mount_label, d);
        if (r < 0)
                return r;
        *ret = o;
        o = (OverlayDirs) {};
        return 0;
}
