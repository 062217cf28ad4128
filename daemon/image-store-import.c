/* Importing into the image store; see image-store.h. The blob is written to a temp file in
 * tmp/ (locked, so a concurrent store open leaves it alone), published by rename under the
 * store lock, then indexed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "hex.h"
#include "image-import.h"
#include "image-store-internal.h"

#define TEMP_NAME_MAX 64
#define TEMP_CREATE_TRIES 16

/* A temp file in tmp/, locked; unlinked when it goes out of scope unless published. */
typedef struct TempFile {
        int dir_fd;
        int fd;
        char name[TEMP_NAME_MAX];
} TempFile;

static void temp_file_done(TempFile *t) {
        if (t->name[0])
                (void) unlinkat(t->dir_fd, t->name, 0);
        closep(&t->fd);
}

static int temp_file_try(TempFile *t) {
        uint64_t rnd;
        struct stat st;

        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                return NEG_ERRNO();
        snprintf(t->name, sizeof(t->name), "import-%016llx", (unsigned long long) rnd);
        t->fd = openat(t->dir_fd, t->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                       0600);
        if (t->fd < 0) {
                t->name[0] = 0;
                return errno == EEXIST ? 0 : NEG_ERRNO();
        }
        if (flock(t->fd, LOCK_EX) < 0 || fstat(t->fd, &st) < 0)
                return NEG_ERRNO();
        if (st.st_nlink > 0)
                return 1;
        /* An opening store removed it before we held the lock. */
        t->name[0] = 0;
        closep(&t->fd);
        t->fd = -EBADF;
        return 0;
}

static int temp_file_create(ImageStore *s, TempFile *t) {
        t->dir_fd = s->tmp_fd;
        for (int i = 0; i < TEMP_CREATE_TRIES; i++) {
                int r = temp_file_try(t);

                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return -EBUSY;
}

/* blobs/sha512/<2 hex>, created if needed and made durable. */
static int open_shard(ImageStore *s, const char *key, int *ret) {
        char shard[3] = { key[7], key[8], 0 };

        if (mkdirat(s->blobs_fd, shard, 0700) >= 0) {
                if (fsync(s->blobs_fd) < 0)
                        return NEG_ERRNO();
        } else if (errno != EEXIST)
                return NEG_ERRNO();
        return image_store_open_dir_at(s->blobs_fd, shard, ret);
}

/* Under the store lock: 0 when published now, 1 when the image was indexed already. */
static int publish(ImageStore *s, TempFile *t, const ImageInfo *info, const char *manifest) {
        _cleanup_(image_store_unlockp) int lock = -EBADF;
        _cleanup_close_ int shard_fd = -EBADF;
        int r;

        r = image_store_lock(s, &lock);
        if (r < 0)
                return r;
        r = image_index_contains(s->index, info->key);
        if (r != 0)
                return r;       /* 1: the temp file is dropped by its cleanup */
        r = open_shard(s, info->key, &shard_fd);
        if (r < 0)
                return r;
        /* Over a blob left without a row by a crash: the same bytes, so replacing is safe. */
        if (renameat(t->dir_fd, t->name, shard_fd, info->key) < 0)
                return NEG_ERRNO();
        t->name[0] = 0;
        if (fsync(shard_fd) < 0)
                r = NEG_ERRNO();
        if (r >= 0)
                r = image_index_insert(s->index, info, manifest);
        if (r < 0)
                (void) unlinkat(shard_fd, info->key, 0);
        return r;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* The manifest's refusal as the store reports it: -EBADMSG, field "manifest:<JSON path>". */
static int parse_manifest(const ImageImportResult *res, ImageManifest **ret, ErrorDetail *error) {
        ErrorDetail d = {};
        int r;

        /* The index keeps it as a C string. */
        if (strlen(res->manifest) != res->manifest_size)
                return error_detail_set(error, -EBADMSG, "manifest:", "contains a NUL byte");
        r = image_manifest_parse(ret, res->manifest, res->manifest_size, &d);
        if (r == -ENOMEM)
                return r;
        if (r == -EMSGSIZE)
                return error_detail_set(error, r, "manifest", "%s", d.reason);
        if (r < 0) {
                char field[sizeof(d.field) + 16];

                snprintf(field, sizeof(field), "manifest:%s", d.field);
                return error_detail_set(error, -EBADMSG, field, "%s", d.reason);
        }
        return 0;
}

static void manifest_freep(ImageManifest **m) {
        image_manifest_free(*m);
}

int image_store_import(ImageStore *s, int fd, const ImageImportOptions *options,
                       ImageImportProgress progress, void *userdata, ImageInfo *ret,
                       ErrorDetail *error) {
        _cleanup_(temp_file_done) TempFile t = { .fd = -EBADF };
        _cleanup_(image_import_result_clear) ImageImportResult res = {};
        _cleanup_(manifest_freep) ImageManifest *m = NULL;
        ImageInfo info = {};
        int r, stored;

        r = temp_file_create(s, &t);
        if (r < 0)
                return r;
        r = image_import_stream(fd, t.fd, options, progress, userdata, &res, error);
        if (r < 0)
                return r;
        r = parse_manifest(&res, &m, error);
        if (r < 0)
                return r;
        if (fsync(t.fd) < 0)
                return NEG_ERRNO();

        memcpy(info.id, "sha512-", 7);
        hex_encode(res.digest, sizeof(res.digest), info.id + 7);
        memcpy(info.key, info.id, IMAGE_KEY_LEN);
        info.key[IMAGE_KEY_LEN] = 0;
        info.name = m->name;            /* borrowed for the insert */
        info.labels = m->labels;
        info.n_labels = m->n_labels;
        info.size = res.size;
        memcpy(info.check_digest, res.check_digest, sizeof(info.check_digest));
        info.imported_usec = now_usec();
        stored = publish(s, &t, &info, res.manifest);
        if (stored < 0)
                return stored;
        if (ret) {
                r = image_index_get(s->index, info.key, ret);
                if (r < 0)
                        return r;
        }
        return stored;
}

/* The IDs that an ID prefix names; NULL-terminated, at most IMAGE_STORE_MATCHES_MAX. */
