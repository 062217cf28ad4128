/* Mounts of a pod: an overlay written through, its errors naming the directory at fault,
 * listing and unmounting nested and stacked mounts deepest first, a busy mount detached
 * lazily, the mtab link cases and the overlay directory layout. Runs in a private mount
 * namespace on a tmpfs, so nothing leaks into the host; exits 77 when that is not possible. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "mount-util.h"
#include "selinux-label.h"

static char base[] = "/tmp/test-mount-util.XXXXXX";

static void pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *buf, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, PATH_MAX, fmt, ap);
        va_end(ap);
        assert_true(n > 0 && n < PATH_MAX);
}

/* mkdir <base>/<name> */
static void mkdir_in_base(mode_t mode, const char *name) {
        char p[PATH_MAX];

        pathf(p, "%s/%s", base, name);
        assert_int_equal(mkdir(p, mode), 0);
}

static void tmpfs_on(const char *path) {
        assert_int_equal(mount("tmpfs", path, "tmpfs", 0, "size=1m"), 0);
}

static void write_file(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        assert_int_equal(close(fd), 0);
}

static size_t list_length(char **l) {
        size_t n = 0;

        while (l[n])
                n++;
        return n;
}

static void test_overlay(void **state) {
        char lower[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], target[PATH_MAX], p[PATH_MAX];
        UmountReport rep;
        ErrorDetail d = {};
        struct stat st;

        mkdir_in_base(0755, "ov");
        pathf(lower, "%s/ov/lower", base);
        pathf(upper, "%s/ov/upper", base);
        pathf(work, "%s/ov/work", base);
        pathf(target, "%s/ov/target", base);
        assert_int_equal(mkdir(lower, 0755), 0);
        assert_int_equal(mkdir(upper, 0755), 0);
        assert_int_equal(mkdir(work, 0755), 0);
        assert_int_equal(mkdir(target, 0755), 0);
        pathf(p, "%s/a", lower);
        write_file(p, "from lower");

        assert_int_equal(mount_is_mountpoint(target), 0);
        assert_int_equal(mount_overlay(lower, upper, work, target, NULL, &d), 0);
        assert_int_equal(mount_is_mountpoint(target), 1);
        pathf(p, "%s/a", target);
        assert_int_equal(stat(p, &st), 0);
        pathf(p, "%s/b", target);
        write_file(p, "written through");
        pathf(p, "%s/b", upper);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_size, strlen("written through"));
        pathf(p, "%s/b", lower);
        assert_int_equal(stat(p, &st), -1);

        pathf(p, "%s/ov", base);
        assert_int_equal(umount_all_under(p, &rep), 0);
        assert_int_equal(rep.unmounted, 1);
        assert_int_equal(rep.detached, 0);
        assert_int_equal(rep.remaining, 0);
        assert_int_equal(mount_is_mountpoint(target), 0);
        /* an empty label means no context= option */
        assert_int_equal(mount_overlay(lower, upper, work, target, "", NULL), 0);
        assert_int_equal(umount_all_under(target, NULL), 0);
        /* a label with commas stays one option; without SELinux libmount drops context= */
        if (!selinux_label_enabled()) {
                assert_int_equal(mount_overlay(lower, upper, work, target,
                                               "system_u:object_r:container_file_t:s0:c1,c2",
                                               &d), 0);
                assert_int_equal(umount_all_under(target, NULL), 0);
        }
}

static void expect_overlay_error(const char *l, const char *u, const char *w, const char *t,
                                 const char *label, int error, const char *field) {
        ErrorDetail d = {};

        assert_int_equal(mount_overlay(l, u, w, t, label, &d), error);
        assert_string_equal(d.field, field);
        assert_true(strlen(d.reason) > 0);
}

static void test_overlay_errors(void **state) {
        char dir[PATH_MAX], missing[PATH_MAX], comma[PATH_MAX], colon[PATH_MAX];
        char longp[MOUNT_OPTIONS_MAX];
        ErrorDetail d = {};

        mkdir_in_base(0755, "err");
        pathf(dir, "%s/err", base);
        pathf(missing, "%s/err/missing", base);
        pathf(comma, "%s/err/a,b", base);
        pathf(colon, "%s/err/a:b", base);
        expect_overlay_error(missing, dir, dir, dir, NULL, -ENOENT, "lowerdir");
        expect_overlay_error(dir, dir, missing, dir, NULL, -ENOENT, "workdir");
        expect_overlay_error(dir, dir, dir, missing, NULL, -ENOENT, "target");
        assert_int_equal(mount_overlay(missing, dir, dir, dir, NULL, &d), -ENOENT);
        assert_non_null(strstr(d.reason, missing));
        expect_overlay_error(comma, dir, dir, dir, NULL, -EINVAL, "lowerdir");
        expect_overlay_error(dir, colon, dir, dir, NULL, -EINVAL, "upperdir");
        expect_overlay_error(dir, dir, "", dir, NULL, -EINVAL, "workdir");
        expect_overlay_error(dir, dir, dir, "/x\n", NULL, -EINVAL, "target");
        expect_overlay_error(dir, dir, dir, dir, "a\"b", -EINVAL, "mountLabel");
        memset(longp, 'x', sizeof(longp) - 1);
        longp[0] = '/';
        longp[sizeof(longp) - 1] = '\0';
        expect_overlay_error(longp, dir, dir, dir, NULL, -ENAMETOOLONG, "target");
        assert_int_equal(mount_is_mountpoint(missing), -ENOENT);
        assert_int_equal(mount_is_mountpoint("relative"), -EINVAL);
}

/* d/a, d/a/b, d/a/b/c each on a tmpfs made inside the previous one; d/x twice; dd beside. */
static void test_nested_deep(void **state) {
        char p[PATH_MAX], n_dir[PATH_MAX], trailing[PATH_MAX];
        const char *chain[] = { "d", "d/a", "d/a/b", "d/a/b/c" };
        char **l = NULL;
        UmountReport rep;

        for (size_t i = 0; i < ELEMENTSOF(chain); i++) {
                mkdir_in_base(0755, chain[i]);
                if (i > 0) {
                        pathf(p, "%s/%s", base, chain[i]);
                        tmpfs_on(p);
                }
        }
        mkdir_in_base(0755, "d/x");
        pathf(p, "%s/d/x", base);
        tmpfs_on(p);
        tmpfs_on(p);
        mkdir_in_base(0755, "dd");
        pathf(p, "%s/dd", base);
        tmpfs_on(p);
        pathf(n_dir, "%s/d", base);

        assert_int_equal(mount_list_under(n_dir, &l), 0);
        assert_int_equal(list_length(l), 5);
        pathf(p, "%s/d/a/b/c", base);
        assert_string_equal(l[0], p);
        pathf(p, "%s/d/a/b", base);
        assert_string_equal(l[1], p);
        /* equal depths: the later mount first */
        pathf(p, "%s/d/x", base);
        assert_string_equal(l[2], p);
        assert_string_equal(l[3], p);
        pathf(p, "%s/d/a", base);
        assert_string_equal(l[4], p);
        mount_list_free(l);

        /* a trailing slash names the same directory */
        pathf(trailing, "%s/d/", base);
        assert_int_equal(umount_all_under(trailing, &rep), 0);
        assert_int_equal(rep.unmounted, 5);
        assert_int_equal(rep.detached, 0);
        assert_int_equal(rep.remaining, 0);
        assert_int_equal(mount_list_under(n_dir, &l), 0);
        assert_int_equal(list_length(l), 0);
        mount_list_free(l);
        /* the neighbour with a longer name is not "under" d */
        pathf(p, "%s/dd", base);
        assert_int_equal(mount_is_mountpoint(p), 1);
        assert_int_equal(umount_all_under(p, NULL), 0);
        assert_int_equal(mount_is_mountpoint(p), 0);
        /* nothing mounted, or a path that does not exist: nothing to do */
        assert_int_equal(umount_all_under(n_dir, &rep), 0);
        assert_int_equal(rep.unmounted, 0);
        pathf(p, "%s/nonexistent", base);
        assert_int_equal(umount_all_under(p, NULL), 0);
        assert_int_equal(umount_all_under("relative/path", NULL), -EINVAL);
}

static void test_busy(void **state) {
        char p[PATH_MAX];
        UmountReport rep;
        int fds[2], status;
        pid_t pid;
        char c;

        mkdir_in_base(0755, "busy");
        pathf(p, "%s/busy", base);
        tmpfs_on(p);
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (chdir(p) < 0 || write(fds[1], "x", 1) != 1)
                        _exit(1);
                pause();
                _exit(0);
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], &c, 1), 1);
        close(fds[0]);

        assert_int_equal(umount_all_under(p, &rep), 0);
        assert_int_equal(rep.unmounted, 0);
        assert_int_equal(rep.detached, 1);
        assert_int_equal(rep.remaining, 0);
        assert_int_equal(mount_is_mountpoint(p), 0);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void assert_mtab_link(const char *rootfs) {
        char p[PATH_MAX], target[64];
        ssize_t n;

        pathf(p, "%s/etc/mtab", rootfs);
        n = readlink(p, target, sizeof(target) - 1);
        assert_true(n > 0);
        target[n] = '\0';
        assert_string_equal(target, "../proc/self/mounts");
}

static void test_mtab(void **state) {
        char root[PATH_MAX], p[PATH_MAX], victim[PATH_MAX];
        struct stat st;
        bool slash_mtab;

        mkdir_in_base(0755, "mt");
        pathf(root, "%s/mt", base);
        /* no etc: nothing */
        assert_int_equal(ensure_mtab(root), 0);
        pathf(p, "%s/etc", root);
        assert_int_equal(lstat(p, &st), -1);
        /* etc present: the link; a second call keeps it */
        assert_int_equal(mkdir(p, 0755), 0);
        assert_int_equal(ensure_mtab(root), 0);
        assert_mtab_link(root);
        assert_int_equal(ensure_mtab(root), 0);
        assert_mtab_link(root);
        /* an mtab of the image stays, even a dangling symlink */
        pathf(p, "%s/etc/mtab", root);
        assert_int_equal(unlink(p), 0);
        write_file(p, "image's own\n");
        assert_int_equal(ensure_mtab(root), 0);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(unlink(p), 0);
        assert_int_equal(symlink("/nonexistent", p), 0);
        assert_int_equal(ensure_mtab(root), 0);
        assert_int_equal(readlink(p, victim, sizeof(victim)), strlen("/nonexistent"));
        /* etc a symlink to a directory outside, or to /: nothing is created there */
        pathf(victim, "%s/mt-victim", base);
        assert_int_equal(mkdir(victim, 0755), 0);
        pathf(p, "%s/etc/mtab", root);
        assert_int_equal(unlink(p), 0);
        pathf(p, "%s/etc", root);
        assert_int_equal(rmdir(p), 0);
        assert_int_equal(symlink(victim, p), 0);
        assert_int_equal(ensure_mtab(root), 0);
        pathf(p, "%s/mtab", victim);
        assert_int_equal(lstat(p, &st), -1);
        pathf(p, "%s/etc", root);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(symlink("/", p), 0);
        slash_mtab = lstat("/mtab", &st) == 0;
        assert_int_equal(ensure_mtab(root), 0);
        assert_int_equal(lstat("/mtab", &st) == 0, slash_mtab);
        /* etc a regular file: nothing */
        assert_int_equal(unlink(p), 0);
        write_file(p, "");
        assert_int_equal(ensure_mtab(root), 0);
        /* a missing rootfs is an error */
        pathf(p, "%s/no-rootfs", base);
        assert_int_equal(ensure_mtab(p), -ENOENT);
}

static void assert_dir(const char *path, mode_t mode, gid_t gid) {
        struct stat st;

        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, mode);
        if (gid != (gid_t) -1)
                assert_int_equal(st.st_gid, gid);
}

static void test_prepare_dirs(void **state) {
        char pod[PATH_MAX], lower[PATH_MAX], target[PATH_MAX], p[PATH_MAX], s1[PATH_MAX];
        OverlayDirs o = {}, o2 = {};
        ErrorDetail d = {};
        mode_t old_umask;

        pathf(pod, "%s/pod", base);
        assert_int_equal(mkdir(pod, 0750), 0);
        assert_int_equal(chmod(pod, 02750), 0);     /* as pods/<state>/<uuid> may be */
        pathf(lower, "%s/tree-rootfs", base);
        assert_int_equal(mkdir(lower, 0711), 0);
        assert_int_equal(chmod(lower, 0711), 0);
        pathf(target, "%s/stage1/rootfs/opt/stage2/web/rootfs", pod);

        old_umask = umask(077);
        assert_int_equal(overlay_prepare_dirs(pod, "deps-sha512-aa", "web", lower, target, 1234,
                                              NULL, &o, &d), 0);
        umask(old_umask);
        pathf(p, "%s/overlay/deps-sha512-aa/upper/web", pod);
        assert_string_equal(o.upper, p);
        pathf(p, "%s/overlay/deps-sha512-aa/work/web", pod);
        assert_string_equal(o.work, p);
        pathf(p, "%s/overlay", pod);
        assert_dir(p, 0750, (gid_t) -1);            /* setgid turned off */
        pathf(p, "%s/overlay/deps-sha512-aa", pod);
        assert_dir(p, 0750, 1234);
        pathf(p, "%s/overlay/deps-sha512-aa/upper", pod);
        assert_dir(p, 0711, (gid_t) -1);
        assert_dir(o.upper, 0711, (gid_t) -1);
        pathf(p, "%s/overlay/deps-sha512-aa/work", pod);
        assert_dir(p, 0750, (gid_t) -1);
        assert_dir(o.work, 0750, (gid_t) -1);
        assert_dir(target, 0711, (gid_t) -1);
        pathf(p, "%s/stage1", pod);
        assert_dir(p, 0711, (gid_t) -1);

        /* the dirs are usable as they are */
        assert_int_equal(mount_overlay(lower, o.upper, o.work, target, NULL, &d), 0);
        assert_int_equal(umount_all_under(pod, NULL), 0);

        /* the stage1: no app level; an existing overlay/ gets its mode back */
        pathf(p, "%s/overlay", pod);
        assert_int_equal(chmod(p, 02777), 0);
        pathf(s1, "%s/stage1/rootfs", pod);
        assert_int_equal(overlay_prepare_dirs(pod, "deps-sha512-bb", "", lower, NULL,
                                              (gid_t) -1, "", &o2, NULL), 0);
        pathf(p, "%s/overlay/deps-sha512-bb/upper", pod);
        assert_string_equal(o2.upper, p);
        pathf(p, "%s/overlay/deps-sha512-bb/work", pod);
        assert_string_equal(o2.work, p);
        pathf(p, "%s/overlay", pod);
        assert_dir(p, 0750, (gid_t) -1);
        assert_dir(o2.upper, 0711, (gid_t) -1);
        assert_dir(o2.work, 0750, (gid_t) -1);
        overlay_dirs_done(&o);
        overlay_dirs_done(&o2);
        assert_null(o.upper);
}

static void test_prepare_dirs_refused(void **state) {
        char pod[PATH_MAX], lower[PATH_MAX], victim[PATH_MAX], p[PATH_MAX];
        const char *bad_ids[] = { "", ".", "..", "a/b", "../x" };
        OverlayDirs o = {};
        ErrorDetail d = {};

        pathf(pod, "%s/pod2", base);
        assert_int_equal(mkdir(pod, 0750), 0);
        pathf(lower, "%s/pod2-lower", base);
        assert_int_equal(mkdir(lower, 0755), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad_ids); i++) {
                assert_int_equal(overlay_prepare_dirs(pod, bad_ids[i], "a", lower, NULL,
                                                      (gid_t) -1, NULL, &o, &d), -EINVAL);
                assert_string_equal(d.field, "treeStoreID");
        }
        assert_int_equal(overlay_prepare_dirs(pod, "t", "..", lower, NULL, (gid_t) -1, NULL, &o,
                                              &d), -EINVAL);
        assert_string_equal(d.field, "app");
        assert_int_equal(overlay_prepare_dirs(pod, "t", NULL, lower, NULL, (gid_t) -1, NULL, &o,
                                              &d), -EINVAL);
        pathf(p, "%s/missing", base);
        assert_int_equal(overlay_prepare_dirs(pod, "t", "a", p, NULL, (gid_t) -1, NULL, &o, &d),
                         -ENOENT);
        assert_string_equal(d.field, "lowerdir");
        /* overlay/ as a symlink out of the pod is not followed */
        pathf(victim, "%s/pod2-victim", base);
        assert_int_equal(mkdir(victim, 0755), 0);
        pathf(p, "%s/overlay", pod);
        assert_int_equal(symlink(victim, p), 0);
        assert_true(overlay_prepare_dirs(pod, "t", "a", lower, NULL, (gid_t) -1, NULL, &o, &d) < 0);
        assert_string_equal(d.field, "overlay");
        pathf(p, "%s/t", victim);
        assert_int_equal(access(p, F_OK), -1);
        assert_null(o.upper);
        /* the target: below the pod, and no symlink on the way is followed */
        pathf(p, "%s/overlay", pod);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(overlay_prepare_dirs(pod, "t", "a", lower, "/elsewhere/rootfs",
                                              (gid_t) -1, NULL, &o, &d), -EINVAL);
        assert_string_equal(d.field, "target");
        pathf(p, "%s/stage1", pod);
        assert_int_equal(symlink(victim, p), 0);
        pathf(p, "%s/stage1/rootfs", pod);
        assert_true(overlay_prepare_dirs(pod, "t", "", lower, p, (gid_t) -1, NULL, &o, &d) < 0);
        assert_string_equal(d.field, "target");
        pathf(p, "%s/rootfs", victim);
        assert_int_equal(access(p, F_OK), -1);
        assert_null(o.upper);
}

static int group_setup(void **state) {
        if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "no private mount namespace (%m): skipping\n");
                exit(77);
        }
        assert_non_null(mkdtemp(base));
        if (mount("tmpfs", base, "tmpfs", 0, "size=8m,mode=0755") < 0) {
                fprintf(stderr, "cannot mount tmpfs (%m): skipping\n");
                exit(77);
        }
        return 0;
}

static int group_teardown(void **state) {
        umount2(base, MNT_DETACH);
        rmdir(base);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_overlay),
                cmocka_unit_test(test_overlay_errors),
                cmocka_unit_test(test_nested_deep),
                cmocka_unit_test(test_busy),
                cmocka_unit_test(test_mtab),
                cmocka_unit_test(test_prepare_dirs),
                cmocka_unit_test(test_prepare_dirs_refused),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
