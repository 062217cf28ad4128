/* The tree store; see tree-store.h. What stays true on disk: a tree dir with a `rendered`
 * file is complete and synced (rootfs, manifest, hash, image were written and synced before
 * `rendered` was created), and `rendered` is the first thing removal deletes. Everything under
 * trees/<id>/ changes only under the exclusive flock of trees/<id>.lck. A lock file may be
 * unlinked by removal, so a locker checks after flock() that the file it holds is still the
 * one at that path. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "archive-dl.h"
#include "cleanup.h"
#include "hex.h"
#include "tree-render.h"
#include "tree-store.h"

#define TREE_ID_PREFIX "deps-sha512-"

static bool tree_id_is_valid(const char *id) {
        if (!id || strlen(id) != TREE_ID_LEN || strncmp(id, TREE_ID_PREFIX, 12) != 0)
                return false;
        return hex_is_lower(id + 12, TREE_ID_LEN - 12);
}

int tree_id_from_keys(char *const *keys, char ret[TREE_ID_LEN + 1]) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        int r = 0;

        if (!md || EVP_DigestInit_ex(md, EVP_sha512(), NULL) != 1)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && keys[i]; i++)
                if ((i > 0 && EVP_DigestUpdate(md, ",", 1) != 1) ||
                    EVP_DigestUpdate(md, keys[i], strlen(keys[i])) != 1)
                        r = -EIO;
        if (r >= 0 && (EVP_DigestFinal_ex(md, digest, &len) != 1 || len < 32))
                r = -EIO;
        EVP_MD_CTX_free(md);
        if (r < 0)
                return r;
        strcpy(ret, TREE_ID_PREFIX);
        hex_encode(digest, 32, ret + 12);
        return 0;
}

static void free_strv(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static int keys_from_images(const TreeImage *images, size_t n, char ***ret) {
        char **keys = calloc(n + 1, sizeof(char *));

        if (!keys)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                keys[i] = strdup(images[i].key);
                if (!keys[i]) {
                        free_strv(keys);
                        return -ENOMEM;
                }
        }
        *ret = keys;
        return 0;
}

/* Flattens key with a resolver over s; the manifests live as long as *sr. */
static int flatten_in_store(ImageStore *s, const char *key, TreeStoreResolver *sr,
                            TreeImage **ret, size_t *ret_n, ErrorDetail *error) {
        TreeResolver resolver;

        tree_store_resolver_init(sr, s, &resolver);
        return tree_flatten_images(&resolver, key, ret, ret_n, error);
}

int tree_flatten(ImageStore *s, const char *key, char ***ret_keys, ErrorDetail *error) {
        TreeStoreResolver sr;
        TreeImage *images = NULL;
        size_t n = 0;
        int r;

        r = flatten_in_store(s, key, &sr, &images, &n, error);
        if (r >= 0)
                r = keys_from_images(images, n, ret_keys);
        free(images);
        tree_store_resolver_done(&sr);
        return r;
}

static bool keys_match(const TreeImage *images, size_t n, char *const *keys) {
        for (size_t i = 0; i < n; i++)
                if (!keys[i] || strcmp(keys[i], images[i].key) != 0)
                        return false;
        return keys[n] == NULL;
}

int tree_render(ImageStore *s, char *const *keys, const char *dir, const RenderOptions *options,
                ErrorDetail *error) {
        TreeStoreResolver sr;
        TreeImage *images = NULL;
        size_t n = 0;
        int r;

        if (!keys || !keys[0])
                return -EINVAL;
        /* The levels and whitelists come from the manifests, so flatten again and make sure
         * the store still gives the list the caller had. */
        r = flatten_in_store(s, keys[0], &sr, &images, &n, error);
        if (r >= 0 && !keys_match(images, n, keys))
                r = error_detail_set(error, -ESTALE, "dependencies",
                                     "the dependencies of %s changed", keys[0]);
        if (r >= 0)
                r = tree_render_images(s, images, n, dir, options, NULL, error);
        free(images);
        tree_store_resolver_done(&sr);
        return r;
}

/* ---- the store on disk ---- */

static int open_trees_dir(ImageStore *s, char *path, size_t size) {
        int fd;

        if ((size_t) snprintf(path, size, "%s/trees", image_store_path(s)) >= size)
                return -ENAMETOOLONG;
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return NEG_ERRNO();
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? NEG_ERRNO() : fd;
}

static int lock_tree(int trees_fd, const char *id, int op) {
        char name[TREE_ID_LEN + 5];
        struct stat held, now;

        snprintf(name, sizeof(name), "%s.lck", id);
        for (;;) {
                _cleanup_close_ int fd = openat(trees_fd, name,
                                                O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
                int r;

                if (fd < 0)
                        return NEG_ERRNO();
                do
                        r = flock(fd, op);
                while (r < 0 && errno == EINTR);
                if (r < 0)
                        return NEG_ERRNO();
                if (fstat(fd, &held) < 0)
                        return NEG_ERRNO();
                if (fstatat(trees_fd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
                    now.st_ino == held.st_ino && now.st_dev == held.st_dev)
                        return TAKE_FD(fd);
                /* Removed (and maybe re-created) while we waited: lock the current one. */
        }
}

static bool is_rendered(int trees_fd, const char *id) {
        char name[TREE_ID_LEN + 10];
        struct stat st;

        if ((size_t) snprintf(name, sizeof(name), "%s/rendered", id) >= sizeof(name))
                return false;
        return fstatat(trees_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int read_small_file(int dir_fd, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return NEG_ERRNO();
        n = read(fd, buf, size - 1);
        if (n < 0)
                return NEG_ERRNO();
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

static int write_small_file(int dir_fd, const char *name, const char *content) {
        _cleanup_close_ int fd = openat(dir_fd, name,
                                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        size_t len = strlen(content);

        if (fd < 0)
                return NEG_ERRNO();
        if (write(fd, content, len) != (ssize_t) len)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

static int tree_info_fill(int trees_fd, const char *trees_path, const char *id, TreeInfo *ret) {
        _cleanup_close_ int fd = openat(trees_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        TreeInfo info = {};
        int r;

        if (fd < 0)
                return NEG_ERRNO();
        snprintf(info.id, sizeof(info.id), "%s", id);
        if ((size_t) snprintf(info.path, sizeof(info.path), "%s/%s", trees_path, id) >= sizeof(info.path))
                return -ENAMETOOLONG;
        r = read_small_file(fd, "hash", info.hash, sizeof(info.hash));
        if (r >= 0)
                r = read_small_file(fd, "image", info.image_key, sizeof(info.image_key));
        if (r < 0)
                return r;
        *ret = info;
        return 0;
}

/* Renders into trees/<id>/ and publishes it: the tree, hash and image are synced before the
 * `rendered` marker is created, and the marker is synced with its directory. */
static int render_and_publish(ImageStore *s, const TreeImage *images, size_t n, int trees_fd,
                              const char *path, ErrorDetail *error) {
        _cleanup_close_ int fd = -EBADF, marker = -EBADF;
        _cleanup_(tree_nodes_done) TreeNodes nodes = {};
        char hash[TREE_HASH_LEN + 1];
        int r;

        r = tree_render_images(s, images, n, path, NULL, &nodes, error);
        if (r < 0)
                return r;
        r = tree_hash_nodes(path, &nodes, hash);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return NEG_ERRNO();
        r = write_small_file(fd, "hash", hash);
        if (r >= 0)
                r = write_small_file(fd, "image", images[0].key);
        if (r < 0)
                return r;
        if (syncfs(fd) < 0)
                return NEG_ERRNO();
        marker = openat(fd, "rendered", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (marker < 0)
                return NEG_ERRNO();
        if (fsync(marker) < 0 || fsync(fd) < 0 || fsync(trees_fd) < 0)
                return NEG_ERRNO();
        return 0;
}

static int get_locked(ImageStore *s, const TreeImage *images, size_t n, int trees_fd,
                      const char *trees_path, const char *id, TreeInfo *ret, ErrorDetail *error) {
        char path[4096];
        int r;

        if ((size_t) snprintf(path, sizeof(path), "%s/%s", trees_path, id) >= sizeof(path))
                return -ENAMETOOLONG;
        if (!is_rendered(trees_fd, id)) {
                archive_dl_preload();
                r = tree_remove_dir(trees_fd, id);
                if (r < 0)
                        return r;
                r = render_and_publish(s, images, n, trees_fd, path, error);
                if (r < 0) {
                        (void) tree_remove_dir(trees_fd, id);
                        return r;
                }
        }
        return tree_info_fill(trees_fd, trees_path, id, ret);
}

/* Last use only has to be as fine as GC's grace periods (hours): an image used within the last
 * minute is not written again, which spares every prepare a database commit per image. */
#define TOUCH_PRECISION_USEC (60ULL * 1000000ULL)

/* A rendered tree uses its images: their last-use time moves, as rkt's ReadStream does it.
 * Best effort: a busy index must not fail a render that succeeded. */
static void touch_images(ImageStore *s, const TreeImage *images, size_t n) {
        struct timespec ts;
        uint64_t now;

        clock_gettime(CLOCK_REALTIME, &ts);
        now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        for (size_t i = 0; i < n; i++) {
                ImageInfo info = {};
                bool recent = image_store_get(s, images[i].key, &info) >= 0 &&
                              info.last_used_usec <= now &&
                              now - info.last_used_usec < TOUCH_PRECISION_USEC;

                image_info_clear(&info);
                if (!recent)
                        (void) image_store_touch(s, images[i].key, now);
        }
}

static int get_images(ImageStore *s, const TreeImage *images, size_t n, TreeInfo *ret,
                      ErrorDetail *error) {
        _cleanup_close_ int trees_fd = -EBADF, lock = -EBADF;
        char trees_path[4096], id[TREE_ID_LEN + 1];
        char **keys = NULL;
        int r;

        r = keys_from_images(images, n, &keys);
        if (r < 0)
                return r;
        r = tree_id_from_keys(keys, id);
        free_strv(keys);
        if (r < 0)
                return r;
        trees_fd = open_trees_dir(s, trees_path, sizeof(trees_path));
        if (trees_fd < 0)
                return trees_fd;
        lock = lock_tree(trees_fd, id, LOCK_EX);
        if (lock < 0)
                return lock;
        r = get_locked(s, images, n, trees_fd, trees_path, id, ret, error);
        if (r >= 0)
                touch_images(s, images, n);
        return r;
}

int tree_store_get(ImageStore *s, const char *key, TreeInfo *ret, ErrorDetail *error) {
        TreeStoreResolver sr;
        TreeImage *images = NULL;
        size_t n = 0;
        int r;

        r = flatten_in_store(s, key, &sr, &images, &n, error);
        if (r >= 0)
                r = get_images(s, images, n, ret, error);
        free(images);
        tree_store_resolver_done(&sr);
        return r;
}

int tree_store_verify(ImageStore *s, const char *tree_id, char **ret_actual) {
        _cleanup_close_ int trees_fd = -EBADF, lock = -EBADF;
        char trees_path[4096], actual[TREE_HASH_LEN + 1], legacy[TREE_HASH_LEN + 1];
        TreeInfo info;
        int r;

        if (!tree_id_is_valid(tree_id))
                return -EINVAL;
        trees_fd = open_trees_dir(s, trees_path, sizeof(trees_path));
        if (trees_fd < 0)
                return trees_fd;
        lock = lock_tree(trees_fd, tree_id, LOCK_SH);
        if (lock < 0)
                return lock;
        if (!is_rendered(trees_fd, tree_id))
                return -ENOENT;
        r = tree_info_fill(trees_fd, trees_path, tree_id, &info);
        if (r < 0)
                return r;
        r = tree_hash(info.path, NULL, actual);
        if (r < 0)
                return r;
        if (strcmp(actual, info.hash) == 0)
                return 0;
        r = tree_hash_legacy(info.path, legacy);
        if (r < 0)
                return r;
        if (strcmp(legacy, info.hash) == 0)
                return 0;
        if (ret_actual) {
                *ret_actual = strdup(actual);
                if (!*ret_actual)
                        return -ENOMEM;
        }
        return -EBADMSG;
}

static int remove_locked(int trees_fd, const char *id) {
        char name[TREE_ID_LEN + 10];
        _cleanup_close_ int fd = openat(trees_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r;

        if (fd < 0)
                return NEG_ERRNO();
        /* Unpublish first and make that durable: a crash below leaves a partial tree that
         * never looks rendered. */
        if (unlinkat(fd, "rendered", 0) < 0 && errno != ENOENT)
                return NEG_ERRNO();
        if (fsync(fd) < 0)
                return NEG_ERRNO();
        r = tree_remove_dir(trees_fd, id);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "%s.lck", id);
        if (unlinkat(trees_fd, name, 0) < 0 && errno != ENOENT)
                return NEG_ERRNO();
        return fsync(trees_fd) < 0 ? NEG_ERRNO() : 0;
}

int tree_store_remove(ImageStore *s, const char *tree_id) {
        _cleanup_close_ int trees_fd = -EBADF, lock = -EBADF;
        char trees_path[4096];

        if (!tree_id_is_valid(tree_id))
                return -EINVAL;
        trees_fd = open_trees_dir(s, trees_path, sizeof(trees_path));
        if (trees_fd < 0)
                return trees_fd;
        lock = lock_tree(trees_fd, tree_id, LOCK_EX);
        if (lock < 0)
                return lock;
        return remove_locked(trees_fd, tree_id);
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Appends a copy of s to the NULL-terminated *v of n strings. */
static int strv_push(char ***v, size_t *n, const char *s) {
        char **more = reallocarray(*v, *n + 2, sizeof(char *));

        if (!more)
                return -ENOMEM;
        *v = more;
        more[*n] = strdup(s);
        if (!more[*n])
                return -ENOMEM;
        more[++*n] = NULL;
        return 0;
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

int tree_store_list(ImageStore *s, char ***ret_ids) {
        _cleanup_close_ int trees_fd = -EBADF;
        _cleanup_(closedirp) DIR *d = NULL;
        char trees_path[4096];
        char **ids = NULL;
        size_t n = 0;
        struct dirent *de;

        trees_fd = open_trees_dir(s, trees_path, sizeof(trees_path));
        if (trees_fd < 0)
                return trees_fd;
        d = opendir(trees_path);
        if (!d)
                return NEG_ERRNO();
        ids = calloc(1, sizeof(char *));
        if (!ids)
                return -ENOMEM;
        while ((de = readdir(d))) {
                if (!tree_id_is_valid(de->d_name) || !is_rendered(trees_fd, de->d_name))
                        continue;
                if (strv_push(&ids, &n, de->d_name) < 0) {
                        free_strv(ids);
                        return -ENOMEM;
                }
        }
        qsort(ids, n, sizeof(char *), strcmp_ptr);
        *ret_ids = ids;
        return 0;
}

int tree_store_info(ImageStore *s, const char *tree_id, TreeInfo *ret) {
        char path[4096];
        _cleanup_close_ int trees_fd = -EBADF;

        if (!tree_id_is_valid(tree_id))
                return -EINVAL;
        trees_fd = open_trees_dir(s, path, sizeof(path));
        if (trees_fd < 0)
                return trees_fd;
        if (!is_rendered(trees_fd, tree_id))
                return -ENOENT;
        return tree_info_fill(trees_fd, path, tree_id, ret);
}
