/* ImageStore; see image-store.h. How the store stays consistent across crashes and across
 * processes:
 *   - An import streams into tmp/import-<random>, held under an exclusive flock for its whole
 *     life. Opening the store removes only temp files whose flock it can take, i.e. those
 *     of crashed imports; a creator that finds its new file unlinked before it got the
 *     lock (st_nlink 0) starts over with another name.
 *   - Publishing (index check, rename into blobs/, fsync, index insert) and removal (index
 *     delete, unlink, fsync) run under an exclusive flock of images/lock, so a blob is never
 *     unlinked under an import that has just found it, and two imports of one image give
 *     one copy and one row.
 *   - A blob is in place and durable before its row commits; a row is deleted before its
 *     blob. So a crash leaves at most a blob without a row, which nothing reads (every
 *     lookup goes through the index) and the next import of that image renames over. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "fs-util.h"
#include "hex.h"
#include "image-index.h"
#include "image-store-internal.h"



void image_info_clear(ImageInfo *info) {
        if (!info)
                return;
        free(info->name);
        appc_labels_free(info->labels, info->n_labels);
        *info = (ImageInfo) {};
}

void image_info_array_free(ImageInfo *a, size_t n) {
        if (!a)
                return;
        for (size_t i = 0; i < n; i++)
                image_info_clear(&a[i]);
        free(a);
}

static bool is_key(const char *key) {
        return key && strlen(key) == IMAGE_KEY_LEN && strncmp(key, "sha512-", 7) == 0 &&
               hex_is_lower(key + 7, IMAGE_KEY_LEN - 7);
}

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != 0)
                        continue;
                char c = *s;

                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return NEG_ERRNO();
                *s = c;
                if (c == 0)
                        return 0;
        }
}

int image_store_open_dir_at(int dir_fd, const char *path, int *ret) {
        int fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return NEG_ERRNO();
        *ret = fd;
        return 0;
}

static int make_dirs(ImageStore *s) {
        static const char *const dirs[] = { "blobs", "blobs/sha512", "trees", "tmp" };
        int r;

        r = mkdir_p(s->path, 0700);
        if (r < 0)
                return r;
        r = image_store_open_dir_at(AT_FDCWD, s->path, &s->dir_fd);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (mkdirat(s->dir_fd, dirs[i], 0700) < 0 && errno != EEXIST)
                        return NEG_ERRNO();
        r = image_store_open_dir_at(s->dir_fd, "blobs/sha512", &s->blobs_fd);
        if (r >= 0)
                r = image_store_open_dir_at(s->dir_fd, "tmp", &s->tmp_fd);
        if (r < 0)
                return r;
        s->lock_fd = openat(s->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        return s->lock_fd < 0 ? NEG_ERRNO() : 0;
}

/* Removes name from tmp/ unless a live import holds its lock. */
static void clean_temp_entry(ImageStore *s, const char *name) {
        _cleanup_close_ int fd = -EBADF;

        fd = openat(s->tmp_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
                return;
        if (unlinkat(s->tmp_fd, name, 0) < 0 && errno == EISDIR)
                (void) unlinkat(s->tmp_fd, name, AT_REMOVEDIR);
}

static int clean_temp(ImageStore *s) {
        DIR *d;
        struct dirent *de;
        int fd;

        fd = openat(s->tmp_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return NEG_ERRNO();
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return NEG_ERRNO();
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        clean_temp_entry(s, de->d_name);
        closedir(d);
        return 0;
}

void image_store_unlockp(int *fd) {
        if (*fd >= 0)
                (void) flock(*fd, LOCK_UN);
}

int image_store_lock(ImageStore *s, int *ret) {
        if (flock(s->lock_fd, LOCK_EX) < 0)
                return NEG_ERRNO();
        *ret = s->lock_fd;
        return 0;
}

/* Under the store lock: SQLite cannot switch a new database to WAL or create its schema
 * while another process does the same (it fails with SQLITE_BUSY or a vanished journal
 * instead of waiting), and the first open of a data dir is often concurrent. */
static int open_index(ImageStore *s, const char *path) {
        _cleanup_(image_store_unlockp) int lock = -EBADF;
        int r;

        r = image_store_lock(s, &lock);
        if (r < 0)
                return r;
        return image_index_open(&s->index, path);
}

ImageStore *image_store_free(ImageStore *s) {
        if (!s)
                return NULL;
        image_index_free(s->index);
        closep(&s->lock_fd);
        closep(&s->tmp_fd);
        closep(&s->blobs_fd);
        closep(&s->dir_fd);
        free(s->path);
        free(s);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageStore *, image_store_free);

int image_store_open(ImageStore **ret, const char *data_dir) {
        _cleanup_(image_store_freep) ImageStore *s = NULL;
        _cleanup_free_ char *index_path = NULL;
        int r;

        if (!data_dir || data_dir[0] == 0)
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->dir_fd = s->blobs_fd = s->tmp_fd = s->lock_fd = -EBADF;
        if (asprintf(&s->path, "%s/images", data_dir) < 0) {
                s->path = NULL;
                return -ENOMEM;
        }
        r = make_dirs(s);
        if (r < 0)
                return r;
        r = clean_temp(s);
        if (r < 0)
                return r;
        if (asprintf(&index_path, "%s/index.sqlite", s->path) < 0) {
                index_path = NULL;
                return -ENOMEM;
        }
        r = open_index(s, index_path);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

const char *image_store_path(const ImageStore *s) {
        return s->path;
}

static int resolve_id(ImageStore *s, const char *prefix, char ***ret_ids, size_t *ret_n) {
        char key_prefix[IMAGE_KEY_LEN + 1];
        char **ids = NULL;
        size_t len = strlen(prefix), n = 0;
        int r;

        if (len < 9 || len > IMAGE_ID_LEN || strncmp(prefix, "sha512-", 7) != 0 ||
            !hex_is_lower(prefix + 7, len - 7))
                return -EINVAL;
        len = len < IMAGE_KEY_LEN ? len : IMAGE_KEY_LEN;
        memcpy(key_prefix, prefix, len);
        key_prefix[len] = 0;
        len = strlen(prefix);
        r = image_index_find_key_prefix(s->index, key_prefix, IMAGE_STORE_MATCHES_MAX, &ids);
        if (r < 0)
                return r;
        /* Past the key's length, the rest of the prefix must match the full ID too. */
        for (size_t i = 0; ids[i]; i++) {
                if (strncmp(ids[i], prefix, len) == 0)
                        ids[n++] = ids[i];
                else
                        free(ids[i]);
        }
        ids[n] = NULL;
        *ret_ids = ids;
        *ret_n = n;
        return 0;
}

static void strv_free(char **v) {
        if (v)
                for (char **p = v; *p; p++)
                        free(*p);
        free(v);
}

static int resolve_by_id(ImageStore *s, const char *prefix, ImageInfo *ret, char ***ret_matches) {
        char **ids = NULL;
        char key[IMAGE_KEY_LEN + 1];
        size_t n = 0;
        int r;

        r = resolve_id(s, prefix, &ids, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                strv_free(ids);
                return -ENOENT;
        }
        if (n > 1) {
                if (ret_matches)
                        *ret_matches = ids;
                else
                        strv_free(ids);
                return -ENOTUNIQ;
        }
        snprintf(key, sizeof(key), "%s", ids[0]);
        strv_free(ids);
        return image_index_get(s->index, key, ret);
}

static int check_labels(const AppcLabel *labels, size_t n) {
        if (n > 0 && !labels)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!labels[i].name || !labels[i].value)
                        return -EINVAL;
        return 0;
}

int image_store_resolve(ImageStore *s, const ImageRef *ref, ImageInfo *ret, char ***ret_matches) {
        char key[IMAGE_KEY_LEN + 1];
        int r;

        if (!ref || !!ref->id == !!ref->name)
                return -EINVAL;
        if (ref->id)
                return resolve_by_id(s, ref->id, ret, ret_matches);
        if (!appc_is_identifier(ref->name))
                return -EINVAL;
        r = check_labels(ref->labels, ref->n_labels);
        if (r < 0)
                return r;
        r = image_index_find_name(s->index, ref->name, ref->labels, ref->n_labels, key);
        if (r < 0)
                return r;
        return image_index_get(s->index, key, ret);
}

int image_store_get(ImageStore *s, const char *key, ImageInfo *ret) {
        if (!is_key(key))
                return -EINVAL;
        return image_index_get(s->index, key, ret);
}

int image_store_list(ImageStore *s, const char *name_prefix, const AppcLabel *labels,
                     size_t n_labels, ImageInfo **ret, size_t *ret_n) {
        int r = check_labels(labels, n_labels);

        if (r < 0)
                return r;
        return image_index_list(s->index, name_prefix, labels, n_labels, IMAGE_STORE_LIST_MAX,
                                ret, ret_n);
}

int image_store_manifest(ImageStore *s, const char *key, ImageManifest **ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (!is_key(key))
                return -EINVAL;
        r = image_index_manifest(s->index, key, &text);
        if (r < 0)
                return r;
        r = image_manifest_parse(ret, text, strlen(text), NULL);
        /* It was valid when imported: a refusal now means a damaged index. */
        return r == -EINVAL || r == -EMSGSIZE ? -EUCLEAN : r;
}

static void blob_path(char buf[3 + IMAGE_KEY_LEN + 1], const char *key) {
        snprintf(buf, 3 + IMAGE_KEY_LEN + 1, "%c%c/%s", key[7], key[8], key);
}

int image_store_open_blob(ImageStore *s, const char *key, int *ret_fd) {
        char path[3 + IMAGE_KEY_LEN + 1];
        int r, fd;

        if (!is_key(key))
                return -EINVAL;
        r = image_index_contains(s->index, key);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        blob_path(path, key);
        fd = openat(s->blobs_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT || errno == ELOOP ? -EUCLEAN : NEG_ERRNO();
        /* A row whose blob is gone or is not a plain file any more: the store is damaged. */
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -EUCLEAN;
        }
        *ret_fd = fd;
        return 0;
}

int image_store_touch(ImageStore *s, const char *key, uint64_t now) {
        if (!is_key(key))
                return -EINVAL;
        return image_index_touch(s->index, key, now);
}

int image_store_blob_id(ImageStore *s, const char *key, char ret[IMAGE_ID_LEN + 1]) {
        static const size_t buffer_size = 1024 * 1024;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = malloc(buffer_size);
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        ssize_t n;
        int r;

        r = image_store_open_blob(s, key, &fd);
        if (r < 0 || !buf || !md || EVP_DigestInit_ex(md, EVP_sha512(), NULL) != 1) {
                EVP_MD_CTX_free(md);
                return r < 0 ? r : -ENOMEM;
        }
        while ((n = read(fd, buf, buffer_size)) > 0 || (n < 0 && errno == EINTR))
                if (n > 0 && EVP_DigestUpdate(md, buf, (size_t) n) != 1)
                        break;
        r = n < 0 ? NEG_ERRNO() : n > 0 ? -EIO : 0;
        if (r >= 0 && (EVP_DigestFinal_ex(md, digest, &len) != 1 || len != 64))
                r = -EIO;
        EVP_MD_CTX_free(md);
        if (r < 0)
                return r;
        memcpy(ret, "sha512-", 7);
        hex_encode(digest, len, ret + 7);
        return 0;
}

int image_store_set_check_digest(ImageStore *s, const char *key, const char *digest) {
        if (!is_key(key) || !stream_digest_is_valid(digest))
                return -EINVAL;
        return image_index_set_check_digest(s->index, key, digest);
}

int image_store_remove(ImageStore *s, const char *key) {
        _cleanup_(image_store_unlockp) int lock = -EBADF;
        char shard[3];
        _cleanup_close_ int shard_fd = -EBADF;
        int r;

        if (!is_key(key))
                return -EINVAL;
        r = image_store_lock(s, &lock);
        if (r < 0)
                return r;
        r = image_index_remove(s->index, key);
        if (r < 0)
                return r;
        snprintf(shard, sizeof(shard), "%c%c", key[7], key[8]);
        r = image_store_open_dir_at(s->blobs_fd, shard, &shard_fd);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (unlinkat(shard_fd, key, 0) < 0 && errno != ENOENT) {
                char blob[PATH_MAX];

                /* Whatever took the blob's place goes with it, or it would never go. */
                if (errno != EISDIR)
                        return NEG_ERRNO();
                snprintf(blob, sizeof(blob), "%s/blobs/sha512/%s/%s", s->path, shard, key);
                r = rm_rf(blob);
                if (r < 0)
                        return r;
        }
        return fsync(shard_fd) < 0 ? NEG_ERRNO() : 0;
}
