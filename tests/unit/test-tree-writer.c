/* TreeWriter: what each kind of entry becomes on disk (owners, modes, setuid bits, xattrs,
 * POSIX ACLs, times, sparse files, devices, hardlinks, missing parents), and that a path
 * through a symlink or out of the tree is refused whatever is on disk. Needs root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "fs-util.h"
#include "tree-writer.h"

#define MTIME 1700000000

typedef struct Ctx {
        char dir[64];
        int dir_fd;
        TreeWriter *w;
} Ctx;

static int setup(void **state) {
        Ctx *ctx = calloc(1, sizeof(*ctx));

        if (geteuid() != 0)
                skip();
        snprintf(ctx->dir, sizeof(ctx->dir), "/tmp/test-tree-writer.XXXXXX");
        assert_non_null(mkdtemp(ctx->dir));
        ctx->dir_fd = open(ctx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(ctx->dir_fd >= 0);
        assert_int_equal(tree_writer_new(&ctx->w, ctx->dir_fd, ctx->dir, NULL), 0);
        *state = ctx;
        return 0;
}

static int teardown(void **state) {
        Ctx *ctx = *state;

        tree_writer_free(ctx->w);
        close(ctx->dir_fd);
        assert_int_equal(rm_rf(ctx->dir), 0);
        free(ctx);
        return 0;
}

static struct archive_entry *entry(mode_t type, mode_t perm, unsigned uid, unsigned gid) {
        struct archive_entry *e = archive_entry_new();

        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        archive_entry_set_mtime(e, MTIME, 5);
        return e;
}

/* begin + data + end of one entry; the result of the first call that fails. */
static int put(Ctx *ctx, struct archive_entry *e, const char *path, const char *data) {
        int r = tree_writer_begin(ctx->w, e, path);

        if (r >= 0 && data)
                r = tree_writer_data(ctx->w, data, strlen(data), 0);
        if (r >= 0)
                r = tree_writer_end(ctx->w);
        archive_entry_free(e);
        return r;
}

static struct stat stat_at(Ctx *ctx, const char *path) {
        struct stat st;

        assert_int_equal(fstatat(ctx->dir_fd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
        return st;
}

/* open() applies the umask; the writer only skips the chmod when that changed nothing. */
static void test_mode_whatever_the_umask(void **state) {
        Ctx *ctx = *state;
        mode_t old = umask(027);

        tree_writer_free(ctx->w);
        assert_int_equal(tree_writer_new(&ctx->w, ctx->dir_fd, ctx->dir, NULL), 0);
        assert_int_equal(put(ctx, entry(AE_IFREG, 0666, 0, 0), "rootfs/open", NULL), 0);
        assert_int_equal(put(ctx, entry(AE_IFREG, 0640, 0, 0), "rootfs/closed", NULL), 0);
        umask(old);
        assert_int_equal(stat_at(ctx, "rootfs/open").st_mode & 07777, 0666);
        assert_int_equal(stat_at(ctx, "rootfs/closed").st_mode & 07777, 0640);
}

static void test_file_owner_mode_times(void **state) {
        Ctx *ctx = *state;
        struct archive_entry *e = entry(AE_IFREG, 04750, 1000, 1001);
        struct stat st;
        char buf[16] = {};
        int fd;

        archive_entry_set_size(e, 5);
        assert_int_equal(put(ctx, e, "rootfs/bin/su", "hello"), 0);
        st = stat_at(ctx, "rootfs/bin/su");
        /* chown clears setuid: the mode must have been set after the owner. */
        assert_int_equal(st.st_mode & 07777, 04750);
        assert_int_equal(st.st_uid, 1000);
        assert_int_equal(st.st_gid, 1001);
        assert_int_equal(st.st_size, 5);
        assert_int_equal(st.st_mtim.tv_sec, MTIME);
        assert_int_equal(st.st_mtim.tv_nsec, 5);
        fd = openat(ctx->dir_fd, "rootfs/bin/su", O_RDONLY | O_CLOEXEC);
        assert_int_equal(read(fd, buf, sizeof(buf)), 5);
        close(fd);
        assert_string_equal(buf, "hello");
        /* The parents nobody gave an entry for: 0755, root. */
        st = stat_at(ctx, "rootfs/bin");
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(st.st_uid, 0);
        /* Nothing is written over. */
        e = entry(AE_IFREG, 0644, 0, 0);
        assert_int_equal(put(ctx, e, "rootfs/bin/su", NULL), -EEXIST);
}

static void test_dir_times_after_children(void **state) {
        Ctx *ctx = *state;
        struct stat st;

        assert_int_equal(put(ctx, entry(AE_IFDIR, 0700, 1000, 1000), "rootfs/home", NULL), 0);
        assert_int_equal(put(ctx, entry(AE_IFREG, 0600, 1000, 1000), "rootfs/home/f", NULL), 0);
        assert_int_equal(tree_writer_close(ctx->w), 0);
        st = stat_at(ctx, "rootfs/home");
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(st.st_uid, 1000);
        assert_int_equal(st.st_mtim.tv_sec, MTIME);
        /* A directory entry for an existing directory applies its own metadata. */
        assert_int_equal(put(ctx, entry(AE_IFDIR, 0711, 7, 7), "rootfs/home", NULL), 0);
        st = stat_at(ctx, "rootfs/home");
        assert_int_equal(st.st_mode & 07777, 0711);
        assert_int_equal(st.st_uid, 7);
}

static void test_sparse_file(void **state) {
        Ctx *ctx = *state;
        struct archive_entry *e = entry(AE_IFREG, 0644, 0, 0);
        char buf[8];
        int fd;

        archive_entry_set_size(e, 1 << 20);
        assert_int_equal(tree_writer_begin(ctx->w, e, "rootfs/sparse"), 0);
        assert_int_equal(tree_writer_data(ctx->w, "ab", 2, 4096), 0);
        assert_int_equal(tree_writer_end(ctx->w), 0);
        archive_entry_free(e);
        assert_int_equal(stat_at(ctx, "rootfs/sparse").st_size, 1 << 20);
        fd = openat(ctx->dir_fd, "rootfs/sparse", O_RDONLY | O_CLOEXEC);
        assert_int_equal(pread(fd, buf, 4, 4094), 4);
        close(fd);
        assert_memory_equal(buf, "\0\0ab", 4);
}

static void test_symlink_fifo_device_hardlink(void **state) {
        Ctx *ctx = *state;
        struct archive_entry *e;
        char target[64] = {};
        struct stat st, first;

        e = entry(AE_IFLNK, 0777, 5, 6);
        archive_entry_set_symlink(e, "../etc/passwd");
        assert_int_equal(put(ctx, e, "rootfs/bin/link", NULL), 0);
        assert_int_equal(readlinkat(ctx->dir_fd, "rootfs/bin/link", target, sizeof(target) - 1), 13);
        assert_string_equal(target, "../etc/passwd");
        st = stat_at(ctx, "rootfs/bin/link");
        assert_int_equal(st.st_uid, 5);
        assert_int_equal(st.st_gid, 6);
        assert_int_equal(st.st_mtim.tv_sec, MTIME);

        assert_int_equal(put(ctx, entry(AE_IFIFO, 0620, 0, 5), "rootfs/fifo", NULL), 0);
        st = stat_at(ctx, "rootfs/fifo");
        assert_true(S_ISFIFO(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0620);

        e = entry(AE_IFCHR, 0666, 0, 0);
        archive_entry_set_rdev(e, makedev(1, 3));
        assert_int_equal(put(ctx, e, "rootfs/dev/null", NULL), 0);
        st = stat_at(ctx, "rootfs/dev/null");
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(major(st.st_rdev), 1);
        assert_int_equal(minor(st.st_rdev), 3);

        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/a", "x"), 0);
        e = entry(AE_IFREG, 0600, 9, 9);
        archive_entry_set_hardlink(e, "rootfs/a");
        assert_int_equal(put(ctx, e, "rootfs/bin/b", NULL), 0);
        first = stat_at(ctx, "rootfs/a");
        st = stat_at(ctx, "rootfs/bin/b");
        assert_int_equal(st.st_ino, first.st_ino);
        assert_int_equal(st.st_mode & 07777, 0644);     /* a link changes nothing */
        /* Data for a hardlink would land in the file linked to. */
        e = entry(AE_IFREG, 0644, 0, 0);
        archive_entry_set_hardlink(e, "rootfs/a");
        archive_entry_set_size(e, 1);
        assert_int_equal(put(ctx, e, "rootfs/c", NULL), -EOPNOTSUPP);
        assert_int_equal(faccessat(ctx->dir_fd, "rootfs/c", F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

static void test_xattrs_and_acls(void **state) {
        Ctx *ctx = *state;
        struct archive_entry *e = entry(AE_IFREG, 0640, 0, 0);
        uint8_t acl[256];
        const struct posix_acl_xattr_entry *ae = (const void *) (acl + 4);
        char value[16] = {};
        ssize_t n;

        archive_entry_xattr_add_entry(e, "user.test", "v1", 2);
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, ARCHIVE_ENTRY_ACL_READ,
                                    ARCHIVE_ENTRY_ACL_USER, 1234, "u");
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
                                    ARCHIVE_ENTRY_ACL_READ | ARCHIVE_ENTRY_ACL_WRITE,
                                    ARCHIVE_ENTRY_ACL_MASK, -1, NULL);
        assert_int_equal(put(ctx, e, "rootfs/f", NULL), 0);
        {
                char p[128];

                snprintf(p, sizeof(p), "%s/rootfs/f", ctx->dir);
                assert_int_equal(lgetxattr(p, "user.test", value, sizeof(value)), 2);
                assert_string_equal(value, "v1");
                n = lgetxattr(p, "system.posix_acl_access", acl, sizeof(acl));
        }
        /* user::rw-, user:1234:r--, group::r--, mask::rw-, other::--- in the kernel's order. */
        assert_int_equal(n, 4 + 5 * 8);
        assert_int_equal(ae[0].e_tag, ACL_USER_OBJ);
        assert_int_equal(ae[0].e_perm, 6);
        assert_int_equal(ae[1].e_tag, ACL_USER);
        assert_int_equal(ae[1].e_id, 1234);
        assert_int_equal(ae[1].e_perm, 4);
        assert_int_equal(ae[2].e_tag, ACL_GROUP_OBJ);
        assert_int_equal(ae[3].e_tag, ACL_MASK);
        assert_int_equal(ae[3].e_perm, 6);
        assert_int_equal(ae[4].e_tag, ACL_OTHER);
        assert_int_equal(ae[4].e_perm, 0);
        /* The mask shows as the group bits. */
        assert_int_equal(stat_at(ctx, "rootfs/f").st_mode & 0777, 0660);

        e = entry(AE_IFDIR, 0755, 0, 0);
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, ARCHIVE_ENTRY_ACL_READ,
                                    ARCHIVE_ENTRY_ACL_USER_OBJ, -1, NULL);
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, ARCHIVE_ENTRY_ACL_READ,
                                    ARCHIVE_ENTRY_ACL_GROUP_OBJ, -1, NULL);
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, 0,
                                    ARCHIVE_ENTRY_ACL_OTHER, -1, NULL);
        assert_int_equal(put(ctx, e, "rootfs/d", NULL), 0);
        {
                char p[128];

                snprintf(p, sizeof(p), "%s/rootfs/d", ctx->dir);
                assert_int_equal(lgetxattr(p, "system.posix_acl_default", acl, sizeof(acl)),
                                 4 + 3 * 8);
        }
        /* A file made in it gets its mode from the default ACL (0440), and then its own. */
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/d/file", NULL), 0);
        assert_int_equal(stat_at(ctx, "rootfs/d/file").st_mode & 07777, 0644);
        /* NFSv4 ACLs have no Linux form. */
        e = entry(AE_IFREG, 0644, 0, 0);
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ALLOW, ARCHIVE_ENTRY_ACL_READ_DATA,
                                    ARCHIVE_ENTRY_ACL_EVERYONE, -1, NULL);
        assert_int_equal(put(ctx, e, "rootfs/nfs4", NULL), -EOPNOTSUPP);
}

static void test_ids_shifted_and_checked(void **state) {
        Ctx *ctx = *state;
        struct archive_entry *e;
        uint8_t acl[256];
        const struct posix_acl_xattr_entry *ae = (const void *) (acl + 4);
        char p[128];

        tree_writer_free(ctx->w);
        assert_int_equal(tree_writer_new(&ctx->w, ctx->dir_fd, ctx->dir,
                                         &(TreeWriterOptions) { .id_shift = 100000,
                                                                .id_count = 65536 }), 0);
        e = entry(AE_IFREG, 0640, 100000, 100000);
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, ARCHIVE_ENTRY_ACL_READ,
                                    ARCHIVE_ENTRY_ACL_GROUP, 5, "g");
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, ARCHIVE_ENTRY_ACL_READ,
                                    ARCHIVE_ENTRY_ACL_MASK, -1, NULL);
        assert_int_equal(put(ctx, e, "rootfs/x/f", NULL), 0);
        snprintf(p, sizeof(p), "%s/rootfs/x/f", ctx->dir);
        assert_int_equal(lgetxattr(p, "system.posix_acl_access", acl, sizeof(acl)), 4 + 5 * 8);
        assert_int_equal(ae[2].e_tag, ACL_GROUP);
        assert_int_equal(ae[2].e_id, 100005);
        assert_int_equal(stat_at(ctx, "rootfs/x").st_uid, 100000);   /* a made parent */

        e = entry(AE_IFREG, 0640, 0, 0);
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, ARCHIVE_ENTRY_ACL_READ,
                                    ARCHIVE_ENTRY_ACL_USER, 70000, "u");
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, ARCHIVE_ENTRY_ACL_READ,
                                    ARCHIVE_ENTRY_ACL_MASK, -1, NULL);
        assert_int_equal(put(ctx, e, "rootfs/x/g", NULL), -ERANGE);
        /* (uid_t) -1 would leave the owner as it is. */
        e = entry(AE_IFREG, 0640, 0, 0);
        archive_entry_set_uid(e, -1);
        assert_int_equal(put(ctx, e, "rootfs/x/h", NULL), -ERANGE);
}

/* Directories are kept open, at most 16, the least recently used closed first: files go
 * where their paths say whatever the order, through evictions, and from a cached ancestor. */
static void test_parents_in_any_order(void **state) {
        Ctx *ctx = *state;
        char path[64];

        for (unsigned i = 0; i < 40; i++) {
                unsigned d = (i * 7) % 20;

                snprintf(path, sizeof(path), "rootfs/d%u/f%u", d, i);
                assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), path, "x"), 0);
                snprintf(path, sizeof(path), "rootfs/d%u/sub%u/g", d, i % 3);
                if (i % 5 == 0)
                        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), path, "y"), 0);
        }
        for (unsigned i = 0; i < 40; i++) {
                snprintf(path, sizeof(path), "rootfs/d%u/f%u", (i * 7) % 20, i);
                assert_true(S_ISREG(stat_at(ctx, path).st_mode));
        }
        assert_true(S_ISREG(stat_at(ctx, "rootfs/d0/sub0/g").st_mode));
        assert_true(S_ISREG(stat_at(ctx, "rootfs/d15/sub2/g").st_mode));
        /* "rootfs/d1" is not above "rootfs/d1x". */
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/d1/a", "x"), 0);
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/d1x/y/b", "x"), 0);
        assert_true(S_ISREG(stat_at(ctx, "rootfs/d1x/y/b").st_mode));
}

/* A file made in a setgid directory gets the directory's group: the chown to the entry's
 * group must not be skipped, even when the directory became setgid after it was first used. */
static void test_group_under_setgid_directory(void **state) {
        Ctx *ctx = *state;
        struct stat st;

        assert_int_equal(put(ctx, entry(AE_IFDIR, 02775, 0, 50), "rootfs/sg", NULL), 0);
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/sg/f", "x"), 0);
        st = stat_at(ctx, "rootfs/sg/f");
        assert_int_equal(st.st_gid, 0);
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 50), "rootfs/sg/g", "x"), 0);
        assert_int_equal(stat_at(ctx, "rootfs/sg/g").st_gid, 50);
        /* A directory made there would also inherit the setgid bit. */
        assert_int_equal(put(ctx, entry(AE_IFDIR, 0755, 0, 0), "rootfs/sg/d", NULL), 0);
        st = stat_at(ctx, "rootfs/sg/d");
        assert_int_equal(st.st_gid, 0);
        assert_int_equal(st.st_mode & 07777, 0755);

        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/late/f1", "x"), 0);
        assert_int_equal(put(ctx, entry(AE_IFDIR, 02775, 0, 50), "rootfs/late", NULL), 0);
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/late/f2", "x"), 0);
        st = stat_at(ctx, "rootfs/late/f2");
        assert_int_equal(st.st_gid, 0);
        assert_int_equal(st.st_uid, 0);
        /* And a plain file of root's is root's. */
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/plain", "x"), 0);
        st = stat_at(ctx, "rootfs/plain");
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(st.st_gid, 0);
}

static void test_no_symlink_or_escape_in_paths(void **state) {
        Ctx *ctx = *state;
        struct archive_entry *e;

        assert_int_equal(mkdirat(ctx->dir_fd, "rootfs", 0755), 0);
        assert_int_equal(symlinkat("/tmp", ctx->dir_fd, "rootfs/evil"), 0);
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/evil/owned", NULL), -ELOOP);
        assert_int_equal(put(ctx, entry(AE_IFDIR, 0755, 0, 0), "rootfs/evil/deeper/d", NULL), -ELOOP);
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "../escaped", NULL), -EXDEV);
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/../../escaped", NULL), -EXDEV);
        /* A hard link's target is resolved the same way. */
        e = entry(AE_IFREG, 0644, 0, 0);
        archive_entry_set_hardlink(e, "rootfs/evil/passwd");
        assert_int_equal(put(ctx, e, "rootfs/stolen", NULL), -ELOOP);
        /* Behind a directory that does not exist yet. */
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/new/../../../escaped", NULL),
                         -EXDEV);
        assert_int_equal(faccessat(AT_FDCWD, "/tmp/owned", F_OK, 0), -1);
        assert_int_equal(faccessat(AT_FDCWD, "/tmp/escaped", F_OK, 0), -1);
        /* The last component is not followed either. */
        assert_int_equal(put(ctx, entry(AE_IFREG, 0644, 0, 0), "rootfs/evil", NULL), -EEXIST);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_file_owner_mode_times, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mode_whatever_the_umask, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dir_times_after_children, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sparse_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlink_fifo_device_hardlink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_xattrs_and_acls, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ids_shifted_and_checked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_parents_in_any_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_under_setgid_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_symlink_or_escape_in_paths, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
