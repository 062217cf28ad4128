/* App root filesystem setup. Bind mounts use the fd-based mount API (open_tree,
 * mount_setattr, move_mount) so a target is exactly the inode resolved under the app root;
 * fresh filesystems are mounted on /proc/self/fd/N of such an inode. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rootfs.h"
#include "util.h"

#define ERR(r, ...) ({ snprintf(err, err_size, __VA_ARGS__); (r); })

typedef enum NodeKind { NODE_DIR, NODE_FILE, NODE_ANY } NodeKind;

static int openat2_in_root(int root_fd, const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int) syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        return fd < 0 ? NEG_ERRNO() : fd;
}

/* Opens path (relative, under root_fd) as O_PATH, creating missing directories (0755, root)
 * and, when kind is NODE_FILE, an empty last component. An existing node of the wrong kind
 * is replaced, as the ACE spec says for volume targets. */
static int open_in_root(int root_fd, const char *path, NodeKind kind) {
        _cleanup_free_ char *copy = strdup(path);
        char *slash;
        int r;

        if (!copy)
                return -ENOMEM;
        for (slash = copy; (slash = strchr(slash + 1, '/')); ) {
                *slash = '\0';
                r = openat2_in_root(root_fd, copy, O_PATH | O_DIRECTORY);
                if (r == -ENOENT || r == -ENOTDIR) {
                        _cleanup_close_ int parent = -EBADF;
                        char *base = strrchr(copy, '/');
                        if (base) {
                                *base = '\0';
                                parent = openat2_in_root(root_fd, copy, O_PATH | O_DIRECTORY);
                                *base = '/';
                        } else
                                parent = openat2_in_root(root_fd, ".", O_PATH | O_DIRECTORY);
                        if (parent < 0)
                                return parent;
                        const char *name = base ? base + 1 : copy;
                        if (r == -ENOTDIR)
                                unlinkat(parent, name, 0);
                        if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
                                return NEG_ERRNO();
                        r = openat2_in_root(root_fd, copy, O_PATH | O_DIRECTORY);
                }
                if (r < 0)
                        return r;
                close(r);
                *slash = '/';
        }
        r = openat2_in_root(root_fd, path, O_PATH);
        if (r >= 0) {
                struct stat st;
                if (fstat(r, &st) < 0) {
                        close(r);
                        return NEG_ERRNO();
                }
                bool is_dir = S_ISDIR(st.st_mode);
                if (kind == NODE_ANY || (kind == NODE_DIR) == is_dir)
                        return r;
                close(r);
                if (is_dir)
                        return -EISDIR; /* never remove a directory tree from an image */
        } else if (r != -ENOENT)
                return r;

        /* Create the last component in its parent. */
        _cleanup_close_ int parent = -EBADF;
        const char *name = strrchr(path, '/');
        if (name) {
                _cleanup_free_ char *dir = strndup(path, (size_t) (name - path));
                if (!dir)
                        return -ENOMEM;
                parent = openat2_in_root(root_fd, dir, O_PATH | O_DIRECTORY);
                name++;
        } else {
                parent = openat2_in_root(root_fd, ".", O_PATH | O_DIRECTORY);
                name = path;
        }
        if (parent < 0)
                return parent;
        unlinkat(parent, name, 0); /* a dangling symlink or a file where a dir is wanted */
        if (kind == NODE_DIR) {
                if (mkdirat(parent, name, 0755) < 0)
                        return NEG_ERRNO();
        } else {
                /* O_PATH parents cannot be used with openat(O_CREAT): reopen it for real. */
                _cleanup_close_ int pdir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pdir < 0)
                        return NEG_ERRNO();
                int fd = openat(pdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0)
                        return NEG_ERRNO();
                close(fd);
        }
        return openat2_in_root(root_fd, path, O_PATH);
}

static void fd_path(int fd, char *buf, size_t size) {
        snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* Clones src (a path on the host, or fd src_fd when src is NULL) onto target_fd. */
static int bind_onto(int src_fd, const char *src, int target_fd, bool recursive, bool read_only) {
        _cleanup_close_ int tree = -EBADF;
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);

        if (src)
                tree = open_tree(AT_FDCWD, src, flags);
        else
                tree = open_tree(src_fd, "", flags | AT_EMPTY_PATH);
        if (tree < 0)
                return NEG_ERRNO();
        if (read_only) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
                        return NEG_ERRNO();
        }
        if (move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return NEG_ERRNO();
        return 0;
}

static int mount_fresh(int root_fd, const char *path, const char *fstype, unsigned long flags, const char *data) {
        _cleanup_close_ int fd = open_in_root(root_fd, path, NODE_DIR);
        char p[64];

        if (fd < 0)
                return fd;
        fd_path(fd, p, sizeof(p));
        if (mount(fstype, p, fstype, flags, data) < 0)
                return NEG_ERRNO();
        return 0;
}

/* Read-only self-binds and /dev/null masks over the parts of /proc that reach the host. */
static int mask_proc(int root_fd) {
        static const char *const ro[] = { "proc/sys", "proc/sysrq-trigger", "proc/irq", "proc/bus", "proc/fs" };
        static const char *const hide[] = { "proc/kcore", "proc/keys", "proc/timer_list", "proc/sched_debug",
                                             "proc/latency_stats" };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(ro); i++) {
                _cleanup_close_ int fd = openat2_in_root(root_fd, ro[i], O_PATH);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return fd;
                r = bind_onto(fd, NULL, fd, true, true);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(hide); i++) {
                _cleanup_close_ int fd = openat2_in_root(root_fd, hide[i], O_PATH);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return fd;
                r = bind_onto(-1, "/dev/null", fd, false, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int setup_sys(int root_fd, bool read_only) {
        unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (read_only ? MS_RDONLY : 0);
        _cleanup_close_ int fd = -EBADF;

        if (mount_fresh(root_fd, "sys", "sysfs", flags, NULL) >= 0)
                return 0;
        /* Without our own network namespace the kernel may refuse a fresh sysfs: bind the
         * host's instead. */
        fd = open_in_root(root_fd, "sys", NODE_DIR);
        if (fd < 0)
                return fd;
        return bind_onto(-1, "/sys", fd, true, read_only);
}

static int setup_dev(int root_fd) {
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const char *const links[][2] = {
                { "dev/ptmx", "pts/ptmx" }, { "dev/fd", "/proc/self/fd" }, { "dev/stdin", "/proc/self/fd/0" },
                { "dev/stdout", "/proc/self/fd/1" }, { "dev/stderr", "/proc/self/fd/2" },
        };
        _cleanup_close_ int dev = -EBADF;
        int r;

        r = mount_fresh(root_fd, "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536k");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                char path[32], host[32];
                snprintf(path, sizeof(path), "dev/%s", nodes[i]);
                snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
                _cleanup_close_ int fd = open_in_root(root_fd, path, NODE_FILE);
                if (fd < 0)
                        return fd;
                r = bind_onto(-1, host, fd, false, false);
                if (r < 0)
                        return r;
        }
        r = mount_fresh(root_fd, "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                        "newinstance,ptmxmode=0666,mode=0620,gid=5");
        if (r < 0)
                return r;
        r = mount_fresh(root_fd, "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
        if (r < 0)
                return r;
        dev = openat2_in_root(root_fd, "dev", O_RDONLY | O_DIRECTORY);
        if (dev < 0)
                return dev;
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i][1], dev, links[i][0] + 4) < 0)
                        return NEG_ERRNO();
        return 0;
}

static int bind_file_into(int root_fd, const char *host_path, const char *target) {
        _cleanup_close_ int fd = open_in_root(root_fd, target, NODE_FILE);
        if (fd < 0)
                return fd;
        return bind_onto(-1, host_path, fd, false, true);
}

static int write_default_hosts(int root_fd, const char *hostname) {
        _cleanup_close_ int probe = openat2_in_root(root_fd, "etc/hosts", O_PATH);
        _cleanup_close_ int etc = -EBADF;
        char text[512];
        int n;

        if (probe >= 0)
                return 0; /* the image's own file stays */
        etc = open_in_root(root_fd, "etc", NODE_DIR);
        if (etc < 0)
                return etc;
        _cleanup_close_ int etc_dir = openat(etc, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (etc_dir < 0)
                return NEG_ERRNO();
        n = snprintf(text, sizeof(text), "127.0.0.1\tlocalhost localhost.localdomain %s\n"
                     "::1\tlocalhost localhost.localdomain %s\n", hostname, hostname);
        return write_file_atomic_at(etc_dir, "hosts", text, (size_t) n, 0644);
}

static int setup_dns(const RootfsContext *c, int root_fd, char *err, size_t err_size) {
        char path[PATH_MAX];
        int r = 0;

        switch (c->args->hosts_mode) {
        case HOSTS_STAGE0:
                snprintf(path, sizeof(path), "%s/stage1/rootfs/etc/rkt-hosts", c->pod_dir);
                r = bind_file_into(root_fd, path, "etc/hosts");
                break;
        case HOSTS_HOST:
                snprintf(path, sizeof(path), "/etc/hosts");
                r = bind_file_into(root_fd, path, "etc/hosts");
                break;
        default:
                snprintf(path, sizeof(path), "(generated)");
                r = write_default_hosts(root_fd, c->hostname);
                break;
        }
        if (r < 0)
                return ERR(r, "/etc/hosts from %s: %s", path, strerror(-r));
        if (c->args->resolv_mode == RESOLV_STAGE0)
                snprintf(path, sizeof(path), "%s/stage1/rootfs/etc/rkt-resolv.conf", c->pod_dir);
        else if (c->args->resolv_mode == RESOLV_HOST)
                snprintf(path, sizeof(path), "/etc/resolv.conf");
        else
                return 0; /* none and default: the image's file, if any, stays */
        r = bind_file_into(root_fd, path, "etc/resolv.conf");
        if (r < 0)
                return ERR(r, "/etc/resolv.conf from %s: %s", path, strerror(-r));
        return 0;
}

static void volume_source(const RootfsContext *c, const Volume *v, char *buf, size_t size) {
        if (v->is_host)
                snprintf(buf, size, "%s", v->source);
        else
                snprintf(buf, size, "%s/sharedVolumes/%s", c->pod_dir, v->name);
}

static int setup_volumes(const RootfsContext *c, int root_fd, char *err, size_t err_size) {
        for (size_t i = 0; i < c->app->n_mounts; i++) {
                const AppMount *m = &c->app->mounts[i];
                char src[PATH_MAX];
                struct stat st;
                int r;

                volume_source(c, m->volume, src, sizeof(src));
                if (stat(src, &st) < 0)
                        return ERR(NEG_ERRNO(), "volume %s: source %s: %s", m->volume->name, src, strerror(errno));
                _cleanup_close_ int fd = open_in_root(root_fd, m->path + 1, S_ISDIR(st.st_mode) ? NODE_DIR : NODE_FILE);
                if (fd < 0)
                        return ERR(fd, "volume %s: target %s: %s", m->volume->name, m->path, strerror(-fd));
                r = bind_onto(-1, src, fd, m->volume->is_host && m->volume->recursive, m->read_only);
                if (r < 0)
                        return ERR(r, "volume %s: bind %s on %s: %s", m->volume->name, src, m->path, strerror(-r));
                log_debug("app %s: volume %s (%s) at %s%s", c->app->name, m->volume->name, src, m->path,
                          m->read_only ? " read-only" : "");
        }
        return 0;
}

static int pivot(const char *rootfs) {
        if (chdir(rootfs) < 0)
                return NEG_ERRNO();
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return NEG_ERRNO();
        /* The old root is now stacked on "."; detach it so the app cannot reach the host. */
        if (umount2(".", MNT_DETACH) < 0)
                return NEG_ERRNO();
        if (chdir("/") < 0)
                return NEG_ERRNO();
        return 0;
}

int rootfs_setup_and_pivot(const RootfsContext *c, char *err, size_t err_size) {
        _cleanup_close_ int root_fd = -EBADF;
        char rootfs[PATH_MAX];
        bool masks = !c->args->disable_paths;
        int r;

        snprintf(rootfs, sizeof(rootfs), "%s/stage1/rootfs/opt/stage2/%s/rootfs", c->pod_dir, c->app->name);
        if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return ERR(NEG_ERRNO(), "bind %s: %s", rootfs, strerror(errno));
        root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return ERR(NEG_ERRNO(), "open %s: %s", rootfs, strerror(errno));

        r = mount_fresh(root_fd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        if (r < 0)
                return ERR(r, "mount /proc: %s", strerror(-r));
        if (masks && (r = mask_proc(root_fd)) < 0)
                return ERR(r, "read-only /proc paths: %s", strerror(-r));
        r = setup_sys(root_fd, masks);
        if (r < 0)
                return ERR(r, "mount /sys: %s", strerror(-r));
        r = setup_dev(root_fd);
        if (r < 0)
                return ERR(r, "populate /dev: %s", strerror(-r));
        r = setup_dns(c, root_fd, err, err_size);
        if (r < 0)
                return r;
        r = setup_volumes(c, root_fd, err, err_size);
        if (r < 0)
                return r;
        if (c->app->read_only_rootfs) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (mount_setattr(root_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                        return ERR(NEG_ERRNO(), "read-only rootfs: %s", strerror(errno));
        }
        r = pivot(rootfs);
        if (r < 0)
                return ERR(r, "pivot_root into %s: %s", rootfs, strerror(-r));
        return 0;
}

static int check_host_source(const Volume *v, char *err, size_t err_size) {
        _cleanup_free_ char *real = NULL;
        size_t n = strlen(v->source);

        while (n > 1 && v->source[n - 1] == '/')
                n--;
        real = realpath(v->source, NULL);
        if (!real)
                return ERR(NEG_ERRNO(), "volume %s: host source %s: %s", v->name, v->source, strerror(errno));
        if (strlen(real) != n || strncmp(real, v->source, n) != 0)
                return ERR(-ELOOP, "volume %s: host source %s goes through a symlink or . or .. (it is %s)",
                           v->name, v->source, real);
        return 0;
}

static int prepare_volume(const Volume *v, int shared_fd, char *err, size_t err_size) {
        _cleanup_close_ int fd = -EBADF;

        if (v->is_host)
                return check_host_source(v, err, err_size);
        if (mkdirat(shared_fd, v->name, v->mode) < 0 && errno != EEXIST)
                return ERR(NEG_ERRNO(), "volume %s: mkdir: %s", v->name, strerror(errno));
        fd = openat(shared_fd, v->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fchown(fd, v->uid, v->gid) < 0 || fchmod(fd, v->mode) < 0)
                return ERR(NEG_ERRNO(), "volume %s: sharedVolumes/%s: %s", v->name, v->name, strerror(errno));
        return 0;
}

int volumes_prepare(const Pod *p, int poddir_fd, char *err, size_t err_size) {
        _cleanup_close_ int shared = -EBADF;
        int r;

        if (mkdirat(poddir_fd, "sharedVolumes", 0755) < 0 && errno != EEXIST)
                return ERR(NEG_ERRNO(), "mkdir sharedVolumes: %s", strerror(errno));
        shared = openat(poddir_fd, "sharedVolumes", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (shared < 0)
                return ERR(NEG_ERRNO(), "open sharedVolumes: %s", strerror(errno));
        for (size_t i = 0; i < p->n_volumes; i++)
                if ((r = prepare_volume(&p->volumes[i], shared, err, err_size)) < 0)
                        return r;
        for (size_t i = 0; i < p->n_inline_volumes; i++)
                if ((r = prepare_volume(&p->inline_volumes[i], shared, err, err_size)) < 0)
                        return r;
        return 0;
}
