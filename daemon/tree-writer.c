/* TreeWriter; see tree-writer.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "tree-writer.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);

/* More than any filesystem keeps in one ACL xattr (ext4: one block). */
#define ACL_ENTRIES_MAX 1024

/* Directories kept open: enough for a tar that goes back to a directory after the
 * subdirectories listed in the middle of its files. */
#define PARENTS_CACHED 16

typedef struct Parent {
        char *path;                  /* relative to dir_fd; NULL: free */
        size_t len;
        int fd;                      /* O_PATH */
        gid_t new_gid;               /* of what is created in it: its own if setgid */
        uint64_t used;
} Parent;

typedef struct DirTimes {
        char *path;
        struct timespec times[2];
} DirTimes;

struct TreeWriter {
        int dir_fd;
        char *dir;
        TreeWriterOptions options;
        Parent parents[PARENTS_CACHED];
        uint64_t uses;
        int parent_fd;               /* the current entry's parent, one of parents */
        gid_t new_gid;               /* its Parent's */
        bool dir_created;            /* the current directory entry made its directory */
        uid_t euid;
        gid_t egid;
        struct archive_entry *entry; /* the current one */
        char path[PATH_MAX];
        const char *base;            /* its last component, within path */
        int fd;                      /* the regular file being written */
        int64_t data_end;            /* past its last byte written */
        DirTimes *dirs;
        size_t n_dirs, n_dirs_alloc;
        int umask;                   /* the process's, or -1 if unknown */
        bool default_acls;           /* some directory has one: new files' modes follow it */
};

/* Read, not set and restored: umask() cannot be read without a window where another thread
 * would create files with the wrong mode. */
static int read_umask(void) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        unsigned mask;

        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "Umask: %o", &mask) == 1)
                        return (int) (mask & 0777);
        return -1;
}

int tree_writer_new(TreeWriter **ret, int dir_fd, const char *dir,
                    const TreeWriterOptions *options) {
        TreeWriter *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->dir = strdup(dir);
        if (!w->dir) {
                free(w);
                return -ENOMEM;
        }
        w->dir_fd = dir_fd;
        w->options = options ? *options : (TreeWriterOptions) {};
        w->parent_fd = -EBADF;
        w->fd = -EBADF;
        w->umask = read_umask();
        w->euid = geteuid();
        w->egid = getegid();
        *ret = w;
        return 0;
}

TreeWriter *tree_writer_free(TreeWriter *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < PARENTS_CACHED; i++)
                if (w->parents[i].path) {
                        free(w->parents[i].path);
                        close(w->parents[i].fd);
                }
        if (w->fd >= 0)
                close(w->fd);
        for (size_t i = 0; i < w->n_dirs; i++)
                free(w->dirs[i].path);
        free(w->dirs);
        free(w->dir);
        free(w);
        return NULL;
}

/* ---- paths ---- */

/* One component at a time, never through a symlink and never up: openat2's rules below, for
 * kernels (before 5.6), seccomp filters and tools (valgrind) that lack it. With make_owner,
 * missing directories are made on the way (0755, owned by *make_owner). */
static int walk_dirs(int at, const char *path, const uid_t *make_owner) {
        _cleanup_close_ int fd = fcntl(at, F_DUPFD_CLOEXEC, 3);
        char buf[PATH_MAX], *save = NULL;

        if (fd < 0)
                return NEG_ERRNO();
        if (path[0] == '/')
                return -EXDEV;
        if (strlen(path) >= sizeof(buf))
                return -ENAMETOOLONG;
        strcpy(buf, path);
        for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                struct stat st;
                int next;

                /* Behind a missing directory, openat2 could not see a ".." that climbs out. */
                if (strcmp(c, "..") == 0)
                        return -EXDEV;
                if (strcmp(c, ".") == 0)
                        continue;
                if (make_owner) {
                        if (mkdirat(fd, c, 0755) == 0) {
                                if (fchownat(fd, c, *make_owner, *make_owner,
                                             AT_SYMLINK_NOFOLLOW) < 0 ||
                                    fchmodat(fd, c, 0755, 0) < 0)
                                        return NEG_ERRNO();
                        } else if (errno != EEXIST)
                                return NEG_ERRNO();
                }
                next = openat(fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return NEG_ERRNO();
                close(fd);
                fd = next;
                if (fstat(fd, &st) < 0)
                        return NEG_ERRNO();
                if (!S_ISDIR(st.st_mode))
                        return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
        }
        return TAKE_FD(fd);
}

/* openat2 keeps the walk inside at and off symlinks whatever is on disk, should the
 * selection (which only lets paths under directories this render made through) be wrong. */
static int open_dir_beneath(int at, const char *path) {
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                           RESOLVE_NO_XDEV,
        };
        int fd = (int) syscall(SYS_openat2, at, path, &how, sizeof(how));

        if (fd < 0 && errno == ENOSYS)
                return walk_dirs(at, path, NULL);
        return fd < 0 ? NEG_ERRNO() : fd;
}

/* The cached directory at path[0..len), or the deepest cached one above it (*ret_exact
 * false), or NULL. */
static Parent *find_parent(TreeWriter *w, const char *path, size_t len, bool *ret_exact) {
        Parent *best = NULL;

        *ret_exact = false;
        for (size_t i = 0; i < PARENTS_CACHED; i++) {
                Parent *p = &w->parents[i];

                if (!p->path || p->len > len || memcmp(p->path, path, p->len) != 0)
                        continue;
                if (p->len == len) {
                        *ret_exact = true;
                        return p;
                }
                if (path[p->len] == '/' && (!best || p->len > best->len))
                        best = p;
        }
        return best;
}

/* A directory whose owner or mode changed: what its new files get is no longer known. */
static void forget_parent(TreeWriter *w, const char *path) {
        bool exact;
        Parent *p = find_parent(w, path, strlen(path), &exact);

        if (p && exact) {
                free(p->path);
                close(p->fd);
                *p = (Parent) {};
        }
}

/* The descriptor of w->path's parent. Directories are kept open, the least recently used
 * closed first: a tar lists a directory's files together, so most entries resolve one name,
 * not a whole path, and a new directory is opened from its parent. */
static int open_parent(TreeWriter *w) {
        const char *slash = strrchr(w->path, '/');
        size_t len = slash ? (size_t) (slash - w->path) : 0;
        char parent[PATH_MAX];
        Parent *p, *victim = &w->parents[0];
        struct stat st;
        bool exact;
        int fd;

        w->base = slash ? slash + 1 : w->path;
        p = find_parent(w, w->path, len, &exact);
        if (p && exact) {
                p->used = ++w->uses;
                w->new_gid = p->new_gid;
                return w->parent_fd = p->fd;
        }
        memcpy(parent, w->path, len);
        parent[len] = 0;
        if (len == 0)
                fd = open_dir_beneath(w->dir_fd, ".");
        else if (p)
                fd = open_dir_beneath(p->fd, parent + p->len + 1);
        else
                fd = open_dir_beneath(w->dir_fd, parent);
        if (fd == -ENOENT)
                fd = walk_dirs(w->dir_fd, parent, &w->options.id_shift);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return NEG_ERRNO();
        }
        w->new_gid = st.st_mode & S_ISGID ? st.st_gid : w->egid;
        for (size_t i = 0; i < PARENTS_CACHED; i++) {
                if (!w->parents[i].path) {
                        victim = &w->parents[i];
                        break;
                }
                if (w->parents[i].used < victim->used)
                        victim = &w->parents[i];
        }
        if (victim->path) {
                free(victim->path);
                close(victim->fd);
        }
        *victim = (Parent) { .path = strndup(w->path, len), .len = len, .fd = fd,
                             .new_gid = w->new_gid, .used = ++w->uses };
        if (!victim->path) {
                close(fd);
                *victim = (Parent) {};
                return -ENOMEM;
        }
        return w->parent_fd = fd;
}

/* ---- metadata ---- */

static uint16_t acl_tag(int tag) {
        switch (tag) {
        case ARCHIVE_ENTRY_ACL_USER_OBJ: return ACL_USER_OBJ;
        case ARCHIVE_ENTRY_ACL_USER: return ACL_USER;
        case ARCHIVE_ENTRY_ACL_GROUP_OBJ: return ACL_GROUP_OBJ;
        case ARCHIVE_ENTRY_ACL_GROUP: return ACL_GROUP;
        case ARCHIVE_ENTRY_ACL_MASK: return ACL_MASK;
        case ARCHIVE_ENTRY_ACL_OTHER: return ACL_OTHER;
        default: return 0;
        }
}

static int cmp_acl_entry(const void *a, const void *b) {
        const struct posix_acl_xattr_entry *x = a, *y = b;

        if (x->e_tag != y->e_tag)
                return x->e_tag < y->e_tag ? -1 : 1;
        return x->e_id < y->e_id ? -1 : x->e_id > y->e_id;
}

/* The entry's ACL of one type as Linux keeps it: the system.posix_acl_* xattr, entries in
 * the order the kernel requires (by tag, then id). *ret_size 0: the entry has none. */
static int acl_xattr(TreeWriter *w, int type, void **ret, size_t *ret_size) {
        struct archive_entry *e = w->entry;
        int n = archive_entry_acl_reset(e, type), etype, perm, tag, qual;
        const char *name;
        struct posix_acl_xattr_header *h;
        struct posix_acl_xattr_entry *entries;
        size_t k = 0;

        *ret_size = 0;
        if (n <= 0)
                return 0;
        if (n > ACL_ENTRIES_MAX)
                return -E2BIG;
        h = calloc(1, sizeof(*h) + (size_t) n * sizeof(*entries));
        if (!h)
                return -ENOMEM;
        h->a_version = POSIX_ACL_XATTR_VERSION;
        entries = (struct posix_acl_xattr_entry *) (h + 1);
        while (k < (size_t) n &&
               archive_entry_acl_next(e, type, &etype, &perm, &tag, &qual, &name) == ARCHIVE_OK) {
                uint32_t id = (uint32_t) ACL_UNDEFINED_ID;

                if (tag == ARCHIVE_ENTRY_ACL_USER || tag == ARCHIVE_ENTRY_ACL_GROUP) {
                        if (qual < 0 || (w->options.id_count > 0 &&
                                         (uint32_t) qual >= w->options.id_count)) {
                                free(h);
                                return -ERANGE;
                        }
                        id = (uint32_t) qual + w->options.id_shift;
                }
                entries[k++] = (struct posix_acl_xattr_entry) {
                        .e_tag = acl_tag(tag),
                        .e_perm = (uint16_t) (perm & 07),
                        .e_id = id,
                };
        }
        qsort(entries, k, sizeof(*entries), cmp_acl_entry);
        *ret = h;
        *ret_size = sizeof(*h) + k * sizeof(*entries);
        return 0;
}

/* Sets one xattr through fd, or by name when there is no descriptor (symlinks, devices). */
static int set_xattr(TreeWriter *w, int fd, const char *name, const void *value, size_t size) {
        char full[PATH_MAX];
        int r;

        if (fd >= 0)
                r = fsetxattr(fd, name, value, size, 0);
        else {
                if (snprintf(full, sizeof(full), "%s/%s", w->dir, w->path) >= (int) sizeof(full))
                        return -ENAMETOOLONG;
                r = lsetxattr(full, name, value, size, 0);
        }
        return r < 0 ? NEG_ERRNO() : 0;
}

static int set_acls(TreeWriter *w, int fd) {
        static const struct {
                int type;
                const char *xattr;
        } kinds[] = {
                { ARCHIVE_ENTRY_ACL_TYPE_ACCESS, "system.posix_acl_access" },
                { ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, "system.posix_acl_default" },
        };
        int types = archive_entry_acl_types(w->entry);

        if (types & ~(ARCHIVE_ENTRY_ACL_TYPE_ACCESS | ARCHIVE_ENTRY_ACL_TYPE_DEFAULT))
                return -EOPNOTSUPP;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                _cleanup_free_ void *value = NULL;
                size_t size;
                int r;

                if (!(types & kinds[i].type))
                        continue;
                r = acl_xattr(w, kinds[i].type, &value, &size);
                if (r >= 0 && size > 0)
                        r = set_xattr(w, fd, kinds[i].xattr, value, size);
                if (r >= 0 && size > 0 && kinds[i].type == ARCHIVE_ENTRY_ACL_TYPE_DEFAULT)
                        w->default_acls = true;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int set_xattrs(TreeWriter *w, int fd) {
        const char *name;
        const void *value;
        size_t size;

        archive_entry_xattr_reset(w->entry);
        while (archive_entry_xattr_next(w->entry, &name, &value, &size) == ARCHIVE_OK) {
                int r;

                if (!name || !*name)
                        return -EINVAL;
                r = set_xattr(w, fd, name, value, size);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec times[2]) {
        times[0] = (struct timespec) { .tv_nsec = UTIME_OMIT };
        times[1] = (struct timespec) { .tv_nsec = UTIME_OMIT };
        if (archive_entry_atime_is_set(e))
                times[0] = (struct timespec) { archive_entry_atime(e), archive_entry_atime_nsec(e) };
        if (archive_entry_mtime_is_set(e))
                times[1] = (struct timespec) { archive_entry_mtime(e), archive_entry_mtime_nsec(e) };
}

/* In libarchive's order: owner (which clears setuid bits and file capabilities), mode, ACLs
 * (which rewrite the group bits as the mask), xattrs. fd < 0: through the parent. created:
 * this render just made the inode, so it has our owner (and its parent's group if that is
 * setgid), and a chown to the same ids is skipped: most files of an image are root's. */
static int set_metadata(TreeWriter *w, int fd, bool has_mode, bool created) {
        struct archive_entry *e = w->entry;
        la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
        mode_t mode = archive_entry_mode(e) & 07777;
        int r;

        /* (uid_t) -1 would mean "leave as it is" to chown. */
        if (uid < 0 || gid < 0 || uid >= UINT32_MAX || gid >= UINT32_MAX)
                return -ERANGE;
        if (created && (uid_t) uid == w->euid && (gid_t) gid == w->new_gid)
                r = 0;
        else
                r = fd >= 0 ? fchown(fd, (uid_t) uid, (gid_t) gid)
                            : fchownat(w->parent_fd, w->base, (uid_t) uid, (gid_t) gid,
                                       AT_SYMLINK_NOFOLLOW);
        if (r >= 0 && has_mode)
                r = fd >= 0 ? fchmod(fd, mode) : fchmodat(w->parent_fd, w->base, mode, 0);
        if (r < 0)
                return NEG_ERRNO();
        r = set_acls(w, fd);
        if (r >= 0)
                r = set_xattrs(w, fd);
        return r;
}

/* ---- entries ---- */

static int begin_dir(TreeWriter *w, int parent_fd) {
        struct stat st;

        w->dir_created = mkdirat(parent_fd, w->base, 0700) == 0;
        if (w->dir_created)
                return 0;
        if (errno != EEXIST)
                return NEG_ERRNO();
        if (fstatat(parent_fd, w->base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return NEG_ERRNO();
        return S_ISDIR(st.st_mode) ? 0 : -EEXIST;
}

/* The target's directory is resolved like any parent: never through a symlink or out. */
static int make_link(TreeWriter *w, const char *target, int parent_fd) {
        const char *slash = strrchr(target, '/');
        char dir[PATH_MAX];
        _cleanup_close_ int dir_fd = -EBADF;

        if (!slash)
                return linkat(w->dir_fd, target, parent_fd, w->base, 0) < 0 ? NEG_ERRNO() : 0;
        if ((size_t) (slash - target) >= sizeof(dir))
                return -ENAMETOOLONG;
        memcpy(dir, target, (size_t) (slash - target));
        dir[slash - target] = 0;
        dir_fd = open_dir_beneath(w->dir_fd, dir);
        if (dir_fd < 0)
                return dir_fd;
        return linkat(dir_fd, slash + 1, parent_fd, w->base, 0) < 0 ? NEG_ERRNO() : 0;
}

int tree_writer_begin(TreeWriter *w, struct archive_entry *e, const char *path) {
        size_t len = strlen(path);
        const char *link = archive_entry_hardlink(e);
        mode_t type = archive_entry_filetype(e);
        int parent_fd;

        if (len == 0 || len >= sizeof(w->path))
                return -ENAMETOOLONG;
        memcpy(w->path, path, len + 1);
        w->entry = e;
        w->data_end = 0;
        parent_fd = open_parent(w);
        if (parent_fd < 0)
                return parent_fd;
        if (link) {
                /* libarchive would write such data into the file linked to, behind the back
                 * of that file's content digest; GNU tar never writes any. */
                if (archive_entry_size(e) > 0)
                        return -EOPNOTSUPP;
                return make_link(w, link, parent_fd);
        }
        switch (type) {
        case AE_IFREG:
                w->fd = openat(parent_fd, w->base,
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                               archive_entry_mode(e) & 0777);
                return w->fd < 0 ? NEG_ERRNO() : 0;
        case AE_IFDIR:
                return begin_dir(w, parent_fd);
        case AE_IFLNK:
                if (!archive_entry_symlink(e))
                        return -EINVAL;
                return symlinkat(archive_entry_symlink(e), parent_fd, w->base) < 0 ? NEG_ERRNO() : 0;
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                return mknodat(parent_fd, w->base, type | 0600,
                               type == AE_IFIFO ? 0 : archive_entry_rdev(e)) < 0 ? NEG_ERRNO() : 0;
        default:
                return -EOPNOTSUPP;
        }
}

int tree_writer_data(TreeWriter *w, const void *buf, size_t size, int64_t offset) {
        const uint8_t *p = buf;

        if (w->fd < 0 || offset < 0)
                return -EINVAL;
        while (size > 0) {
                ssize_t n = pwrite(w->fd, p, size, offset);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return NEG_ERRNO();
                p += n;
                size -= (size_t) n;
                offset += n;
        }
        if (offset > w->data_end)
                w->data_end = offset;
        return 0;
}

static int remember_dir_times(TreeWriter *w) {
        DirTimes *d;

        if (w->n_dirs == w->n_dirs_alloc) {
                size_t n = w->n_dirs_alloc ? w->n_dirs_alloc * 2 : 64;
                DirTimes *more = reallocarray(w->dirs, n, sizeof(DirTimes));

                if (!more)
                        return -ENOMEM;
                w->dirs = more;
                w->n_dirs_alloc = n;
        }
        d = &w->dirs[w->n_dirs];
        entry_times(w->entry, d->times);
        d->path = strdup(w->path);
        if (!d->path)
                return -ENOMEM;
        w->n_dirs++;
        return 0;
}

/* open() gave a file its permission bits less the umask (or a parent's default ACL), and
 * chown clears setuid bits: otherwise the mode is already right, and most files of an image
 * take one system call less. */
static bool file_needs_chmod(const TreeWriter *w) {
        mode_t mode = archive_entry_mode(w->entry);

        return (mode & 07000) || w->umask < 0 || (mode & (mode_t) w->umask) || w->default_acls;
}

static int end_file(TreeWriter *w) {
        _cleanup_close_ int fd = TAKE_FD(w->fd);
        int64_t size = archive_entry_size(w->entry);
        struct timespec times[2];
        int r;

        if (size > w->data_end && ftruncate(fd, size) < 0)
                return NEG_ERRNO();
        r = set_metadata(w, fd, file_needs_chmod(w), true);
        if (r < 0)
                return r;
        entry_times(w->entry, times);
        return futimens(fd, times) < 0 ? NEG_ERRNO() : 0;
}

int tree_writer_end(TreeWriter *w) {
        struct archive_entry *e = w->entry;
        struct timespec times[2];
        mode_t type = archive_entry_filetype(e);
        int r;

        if (!e)
                return -EINVAL;
        if (archive_entry_hardlink(e))
                r = 0;
        else if (type == AE_IFREG)
                r = end_file(w);
        else if (type == AE_IFDIR) {
                /* A descriptor only for xattrs and ACLs; else through the parent (the name
                 * was just made or checked to be a directory). */
                bool plain = archive_entry_xattr_count(e) == 0 && archive_entry_acl_types(e) == 0;
                _cleanup_close_ int fd = plain ? -EBADF :
                        openat(w->parent_fd, w->base,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                r = !plain && fd < 0 ? NEG_ERRNO() : set_metadata(w, fd, true, w->dir_created);
                forget_parent(w, w->path);
                if (r >= 0)
                        r = remember_dir_times(w);
        } else {
                r = set_metadata(w, -EBADF, type != AE_IFLNK, false);
                entry_times(e, times);
                if (r >= 0 && utimensat(w->parent_fd, w->base, times, AT_SYMLINK_NOFOLLOW) < 0)
                        r = NEG_ERRNO();
        }
        w->entry = NULL;
        return r;
}

/* Each path was a directory this render made, so nothing is followed. */
int tree_writer_close(TreeWriter *w) {
        for (size_t i = 0; i < w->n_dirs; i++)
                if (utimensat(w->dir_fd, w->dirs[i].path, w->dirs[i].times, AT_SYMLINK_NOFOLLOW) < 0)
                        return NEG_ERRNO();
        return 0;
}
