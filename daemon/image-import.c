/* ImageImport; see image-import.h. Two libarchive readers are chained: "raw" reads the input
 * through the decompression filters and yields the uncompressed bytes; "tar" reads those
 * bytes through a callback (tar_read) that first hashes and writes them. The tar reader
 * drives the pass; whatever follows the end of the tar is drained the same way, so the hash
 * and the blob always cover the whole uncompressed stream. Blocks are passed between the
 * readers by pointer (libarchive keeps a block valid until the next read).
 * Hashing and writing run in a second thread (Sink), fed through a ring of slots: SHA-512
 * costs about as much as gzip decompression, so on two cores the pass takes about as long
 * as the slower of the two instead of their sum. This is the one copy we make.
 * The tar reader reads every entry's data (rather than skipping it) so that this thread also
 * takes the check digest (stream-digest.h) from the same blocks, without copying them.
 * Errors of our own (read, write, size) are kept in Pass.error, because libarchive reports
 * them to its caller only as ARCHIVE_FATAL. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "image-import.h"
#include "stream-digest.h"

#define SINK_SLOTS 8
#define SINK_SLOT_SIZE (256u * 1024u)       /* fits a core's L2 cache */

/* The hashing and writing thread. The producer fills slot produced % SINK_SLOTS while fewer
 * than SINK_SLOTS slots are full; the thread empties slot consumed % SINK_SLOTS. Everything
 * below `lock` is shared under it; slots in [consumed, produced) belong to the thread, the
 * others to the producer. */
typedef struct Sink {
        EVP_MD_CTX *md;             /* the thread's while it runs */
        int fd;
        uint8_t *slots;             /* SINK_SLOTS * SINK_SLOT_SIZE */
        size_t fill;                /* bytes in the producer's current slot */
        pthread_t thread;
        bool started;

        pthread_mutex_t lock;
        pthread_cond_t cond;        /* any change below; waiters check their condition */
        size_t used[SINK_SLOTS];
        uint64_t produced;
        uint64_t consumed;
        bool closing;               /* no more slots come */
        int error;                  /* the thread's error; it stops at the first */
} Sink;

typedef struct Pass {
        int in_fd;
        struct archive *raw;
        struct archive *tar;
        Sink sink;
        void *in_buf;
        uint64_t bytes_read;
        uint64_t bytes_total;
        uint64_t size;
        uint64_t size_max;
        ImageImportProgress progress;
        void *userdata;
        bool raw_eof;
        StreamDigest check;         /* the check digest, on this thread */
        int error;                  /* our first error, 0 if none */
        ErrorDetail *detail;

        /* The tar check's state. */
        void *paths;                /* tsearch tree: canonical paths of non-directories */
        void *symlinks;             /* and of the symlinks among them */
        size_t path_bytes;          /* memory of both, roughly */
        bool allow_device_nodes;
        bool have_rootfs;
        char *manifest;
        size_t manifest_size;
} Pass;

void image_import_result_clear(ImageImportResult *r) {
        free(r->manifest);
        *r = (ImageImportResult) {};
}

/* ARCHIVE_OK or ARCHIVE_WARN: the call produced what it returns (RETRY, FAILED, FATAL
 * did not). */
static bool archive_ok(int r) {
        return r == ARCHIVE_OK || r == ARCHIVE_WARN;
}

/* Records our first error (with its detail) and returns it. */
static int pass_fail(Pass *p, int r, const char *field, const char *reason) {
        if (p->error == 0) {
                p->error = r;
                error_detail_set(p->detail, r, field, "%s", reason);
        }
        return p->error;
}

static ssize_t input_read(struct archive *a, void *userdata, const void **ret) {
        Pass *p = userdata;
        ssize_t n;

        do
                n = read(p->in_fd, p->in_buf, IMAGE_IMPORT_BUFFER_SIZE);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                pass_fail(p, NEG_ERRNO(), "", "cannot read the image file");
                archive_set_error(a, -p->error, "read failed");
                return -1;
        }
        p->bytes_read += (uint64_t) n;
        if (p->progress)
                p->progress(p->bytes_read, p->bytes_total, p->userdata);
        *ret = p->in_buf;
        return n;
}

static int write_all(int fd, const void *buf, size_t size) {
        const char *s = buf;

        while (size > 0) {
                ssize_t n = write(fd, s, size);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return NEG_ERRNO();
                if (n == 0)
                        return -EIO;
                s += n;
                size -= (size_t) n;
        }
        return 0;
}

static uint8_t *sink_slot(Sink *k, uint64_t i) {
        return k->slots + (size_t) (i % SINK_SLOTS) * SINK_SLOT_SIZE;
}

static int sink_drain_one(Sink *k, uint64_t i, size_t size) {
        if (EVP_DigestUpdate(k->md, sink_slot(k, i), size) != 1)
                return -ENOMEM;
        return write_all(k->fd, sink_slot(k, i), size);
}

static void *sink_run(void *userdata) {
        Sink *k = userdata;

        pthread_mutex_lock(&k->lock);
        for (;;) {
                uint64_t i = k->consumed;
                int r;

                while (i == k->produced && !k->closing)
                        pthread_cond_wait(&k->cond, &k->lock);
                if (i == k->produced)
                        break;          /* closing, and all done */
                pthread_mutex_unlock(&k->lock);
                r = sink_drain_one(k, i, k->used[i % SINK_SLOTS]);
                pthread_mutex_lock(&k->lock);
                if (r < 0) {
                        k->error = r;
                        pthread_cond_broadcast(&k->cond);
                        break;
                }
                k->consumed++;
                pthread_cond_broadcast(&k->cond);
        }
        pthread_mutex_unlock(&k->lock);
        return NULL;
}

static int sink_start(Sink *k, int fd) {
        k->fd = fd;
        k->slots = malloc((size_t) SINK_SLOTS * SINK_SLOT_SIZE);
        k->md = EVP_MD_CTX_new();
        if (!k->slots || !k->md)
                return -ENOMEM;
        if (EVP_DigestInit_ex(k->md, EVP_sha512(), NULL) != 1)
                return -EOPNOTSUPP;
        if (pthread_create(&k->thread, NULL, sink_run, k) != 0)
                return -EAGAIN;
        k->started = true;
        return 0;
}

/* Hands the current slot to the thread, then waits until the next one is free. */
static int sink_push(Sink *k) {
        int r;

        pthread_mutex_lock(&k->lock);
        k->used[k->produced % SINK_SLOTS] = k->fill;
        k->produced++;
        pthread_cond_broadcast(&k->cond);
        while (k->produced - k->consumed >= SINK_SLOTS && !k->error)
                pthread_cond_wait(&k->cond, &k->lock);
        r = k->error;
        pthread_mutex_unlock(&k->lock);
        k->fill = 0;
        return r;
}

static int sink_write(Sink *k, const void *buf, size_t size) {
        const uint8_t *s = buf;

        while (size > 0) {
                size_t n = SINK_SLOT_SIZE - k->fill;

                if (n > size)
                        n = size;
                memcpy(sink_slot(k, k->produced) + k->fill, s, n);
                k->fill += n;
                s += n;
                size -= n;
                if (k->fill == SINK_SLOT_SIZE) {
                        int r = sink_push(k);

                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Stops the thread after it has emptied every full slot (all of them unless it failed). */
static int sink_stop(Sink *k) {
        if (!k->started)
                return 0;
        pthread_mutex_lock(&k->lock);
        k->closing = true;
        pthread_cond_broadcast(&k->cond);
        pthread_mutex_unlock(&k->lock);
        pthread_join(k->thread, NULL);
        k->started = false;
        return k->error;
}

/* The rest of the stream, then the digest. */
static int sink_finish(Sink *k, uint8_t digest[64]) {
        unsigned len = 0;
        int r = 0;

        if (k->fill > 0)
                r = sink_push(k);
        if (r >= 0)
                r = sink_stop(k);
        if (r < 0)
                return r;
        if (EVP_DigestFinal_ex(k->md, digest, &len) != 1 || len != 64)
                return -EIO;
        return 0;
}

static void sink_done(Sink *k) {
        if (k->started)
                (void) sink_stop(k);
        pthread_cond_destroy(&k->cond);
        pthread_mutex_destroy(&k->lock);
        EVP_MD_CTX_free(k->md);
        free(k->slots);
}

/* One block of the uncompressed stream: bounded, then hashed and written by the sink. */
static int consume(Pass *p, const void *buf, size_t size) {
        char reason[128];
        int r;

        if (size > p->size_max - p->size) {
                snprintf(reason, sizeof(reason), "larger than %" PRIu64 " bytes uncompressed",
                         p->size_max);
                return pass_fail(p, -EFBIG, "", reason);
        }
        p->size += size;
        r = sink_write(&p->sink, buf, size);
        if (r < 0)
                return pass_fail(p, r, "", "cannot write the blob");
        return 0;
}

/* The next uncompressed block, consumed: 1 with *ret and *ret_size, 0 at the end, or < 0. */
static int raw_next(Pass *p, const void **ret, size_t *ret_size) {
        for (;;) {
                const void *buf;
                size_t size;
                int64_t offset;
                int r;

                if (p->raw_eof)
                        return 0;
                /* The last block is valid only until the next read. */
                r = stream_digest_block(&p->check, NULL, 0);
                if (r < 0)
                        return pass_fail(p, r, "", "cannot hash the stream");
                r = archive_read_data_block(p->raw, &buf, &size, &offset);
                if (r == ARCHIVE_EOF) {
                        p->raw_eof = true;
                        return 0;
                }
                if (!archive_ok(r)) {
                        char reason[256];

                        snprintf(reason, sizeof(reason), "cannot decompress: %s",
                                 archive_error_string(p->raw) ?: "unknown error");
                        return pass_fail(p, -EBADMSG, "", reason);
                }
                if (size == 0)
                        continue;
                r = consume(p, buf, size);
                if (r >= 0)
                        r = stream_digest_block(&p->check, buf, size);
                if (r < 0)
                        return pass_fail(p, r, "", "cannot hash the stream");
                *ret = buf;
                *ret_size = size;
                return 1;
        }
}

static ssize_t tar_read(struct archive *a, void *userdata, const void **ret) {
        Pass *p = userdata;
        size_t size = 0;
        int r;

        r = raw_next(p, ret, &size);
        if (r < 0) {
                archive_set_error(a, -r, "reading the uncompressed stream failed");
                return -1;
        }
        return r == 0 ? 0 : (ssize_t) size;
}

static int drain(Pass *p) {
        const void *buf;
        size_t size;
        int r;

        while ((r = raw_next(p, &buf, &size)) > 0)
                ;
        return r;
}

static int pass_refuse(Pass *p, const char *path, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

static int pass_refuse(Pass *p, const char *path, const char *format, ...) {
        char reason[512];
        va_list ap;

        va_start(ap, format);
        vsnprintf(reason, sizeof(reason), format, ap);
        va_end(ap);
        return pass_fail(p, -EBADMSG, path, reason);
}

/* The path without "." and empty components, in *ret (malloc'd). -EBADMSG for an absolute
 * path or a ".." component. */
static int canonicalize(Pass *p, const char *field, const char *path, char **ret) {
        _cleanup_free_ char *c = NULL;
        size_t n = 0;

        if (path[0] == '/')
                return pass_refuse(p, field, "absolute path %s", path);
        if (strlen(path) >= PATH_MAX)
                return pass_refuse(p, field, "%s", "path too long");
        c = malloc(strlen(path) + 1);
        if (!c)
                return -ENOMEM;
        for (const char *s = path; *s;) {
                size_t len = strcspn(s, "/");

                if (len == 2 && s[0] == '.' && s[1] == '.')
                        return pass_refuse(p, field, "path contains '..': %s", path);
                if (len > 0 && !(len == 1 && s[0] == '.')) {
                        if (n > 0)
                                c[n++] = '/';
                        memcpy(c + n, s, len);
                        n += len;
                }
                s += len;
                s += strspn(s, "/");
        }
        c[n] = 0;
        *ret = TAKE_PTR(c);
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(a, b);
}

static bool known(void *const *tree, const char *path) {
        return *tree && tfind(path, tree, cmp_str) != NULL;
}

/* Adds path to a tree (paths or symlinks), within IMAGE_IMPORT_PATH_BYTES_MAX. */
static int remember(Pass *p, void **tree, const char *field, const char *path) {
        size_t cost = strlen(path) + 1 + 8 * sizeof(void *);    /* the string and its node */
        char *copy;

        if (known(tree, path))
                return 0;
        if (cost > IMAGE_IMPORT_PATH_BYTES_MAX - p->path_bytes)
                return pass_refuse(p, field, "%s", "too many entries");
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        if (!tsearch(copy, tree, cmp_str)) {
                free(copy);
                return -ENOMEM;
        }
        p->path_bytes += cost;
        return 0;
}

/* The symlink that a proper prefix of path names, or NULL. path is scratch: restored. */
static const char *symlink_above(Pass *p, char *path) {
        if (!p->symlinks)
                return NULL;
        for (char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
                void *found;

                *s = 0;
                found = tfind(path, &p->symlinks, cmp_str);
                *s = '/';
                if (found)
                        return *(const char **) found;
        }
        return NULL;
}

static bool is_under_rootfs(const char *canonical) {
        return strncmp(canonical, "rootfs/", 7) == 0;
}

/* A hard link: to an earlier non-directory entry under rootfs/, not through a symlink. */
static int check_hardlink(Pass *p, const char *field, const char *path, const char *target) {
        _cleanup_free_ char *c = NULL;
        const char *through;
        int r;

        r = canonicalize(p, field, target, &c);
        if (r < 0)
                return r;
        if (!is_under_rootfs(c))
                return pass_refuse(p, field, "hard link out of rootfs/ to %s", target);
        through = symlink_above(p, c);
        if (through)
                return pass_refuse(p, field, "hard link through the symlink %s", through);
        /* Else the link would be made to whatever the renderer finds there: maybe a file of
         * another image. */
        if (!known(&p->paths, c))
                return pass_refuse(p, field, "hard link to %s, which is not an earlier entry",
                                   target);
        r = remember(p, &p->paths, field, path);
        /* A hard link to a symlink is a symlink too. */
        if (r >= 0 && known(&p->symlinks, c))
                r = remember(p, &p->symlinks, field, path);
        return r;
}

static int check_type(Pass *p, struct archive_entry *e, const char *field, const char *path) {
        int r;

        switch (archive_entry_filetype(e)) {
        case AE_IFDIR:
                return 0;
        case AE_IFREG:
        case AE_IFIFO:
                break;
        case AE_IFLNK:
                r = remember(p, &p->paths, field, path);
                return r < 0 ? r : remember(p, &p->symlinks, field, path);
        case AE_IFCHR:
        case AE_IFBLK:
                if (p->allow_device_nodes)
                        break;
                return pass_refuse(p, field, "%s", "device node (not allowed)");
        default:
                return pass_refuse(p, field, "%s", "unsupported entry type");
        }
        return remember(p, &p->paths, field, path);
}

static int read_manifest(Pass *p, struct archive_entry *e, const char *field) {
        la_int64_t size = archive_entry_size(e);
        char reason[128];

        if (archive_entry_hardlink(e) || archive_entry_filetype(e) != AE_IFREG)
                return pass_refuse(p, field, "%s", "manifest is not a regular file");
        if (p->manifest)
                return pass_refuse(p, field, "%s", "more than one manifest");
        snprintf(reason, sizeof(reason), "manifest larger than %u bytes", IMAGE_MANIFEST_SIZE_MAX);
        if (size < 0 || size > IMAGE_MANIFEST_SIZE_MAX)
                return pass_fail(p, -EMSGSIZE, "manifest", reason);
        p->manifest = calloc(1, (size_t) size + 1);
        if (!p->manifest)
                return -ENOMEM;
        for (;;) {
                const void *buf;
                size_t k;
                la_int64_t offset;
                int r = archive_read_data_block(p->tar, &buf, &k, &offset);

                if (r == ARCHIVE_EOF)
                        break;
                if (!archive_ok(r))
                        return p->error ?: pass_refuse(p, field, "cannot read the manifest: %s",
                                                       archive_error_string(p->tar) ?: "");
                if (offset < 0 || (uint64_t) offset + k > (uint64_t) size)
                        return pass_refuse(p, field, "%s", "manifest longer than its header says");
                memcpy(p->manifest + offset, buf, k);
                r = stream_digest_data(&p->check, buf, k, (uint64_t) offset);
                if (r < 0)
                        return pass_fail(p, r, "", "cannot hash the stream");
        }
        p->manifest_size = (size_t) size;
        return 0;
}

/* The rest of the entry's data, read (rather than skipped) for the check digest. */
static int entry_data(Pass *p, struct archive_entry *e) {
        la_int64_t size = archive_entry_size(e);
        int r;

        for (;;) {
                const void *buf;
                size_t k;
                la_int64_t offset;

                r = archive_read_data_block(p->tar, &buf, &k, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (!archive_ok(r))
                        return p->error ?: pass_refuse(p, "", "not a valid tar archive: %s",
                                                       archive_error_string(p->tar) ?: "");
                r = stream_digest_data(&p->check, buf, k, offset < 0 ? 0 : (uint64_t) offset);
                if (r < 0)
                        return pass_fail(p, r, "", "cannot hash the stream");
        }
        r = stream_digest_entry_end(&p->check, size < 0 ? 0 : (uint64_t) size, NULL);
        return r < 0 ? pass_fail(p, r, "", "cannot hash the stream") : 0;
}

static bool is_symlink_entry(struct archive_entry *e) {
        return !archive_entry_hardlink(e) && archive_entry_filetype(e) == AE_IFLNK;
}

static int check_path(Pass *p, struct archive_entry *e, const char *field, char *path) {
        const char *through;

        if (strcmp(path, "rootfs") == 0) {
                if (archive_entry_hardlink(e) || archive_entry_filetype(e) != AE_IFDIR)
                        return pass_refuse(p, field, "%s", "rootfs is not a directory");
                p->have_rootfs = true;
                return 0;
        }
        if (!is_under_rootfs(path))
                return pass_refuse(p, field, "%s", "entry outside manifest and rootfs/");
        through = symlink_above(p, path);
        if (through)
                return pass_refuse(p, field, "write through the symlink %s", through);
        /* A directory (or file) over a symlink: extraction would either follow the symlink
         * or replace it, depending on the extractor; neither belongs in an image. */
        if (!is_symlink_entry(e) && known(&p->symlinks, path))
                return pass_refuse(p, field, "%s", "replaces an earlier symlink");
        p->have_rootfs = true;
        if (archive_entry_hardlink(e)) {
                /* pax lets a hard link carry data, which would overwrite the file linked to
                 * after it was written: not something an image needs, and refused. */
                if (archive_entry_size(e) > 0)
                        return pass_refuse(p, field, "%s", "hard link carrying data");
                return check_hardlink(p, field, path, archive_entry_hardlink(e));
        }
        return check_type(p, e, field, path);
}

static int check_entry(Pass *p, struct archive_entry *e) {
        _cleanup_free_ char *path = NULL;
        const char *name = archive_entry_pathname(e);
        char field[sizeof(((ErrorDetail *) NULL)->field)];
        size_t len;
        int r;

        if (!name)
                return pass_refuse(p, "", "%s", "entry without a readable name");
        /* Errors name the entry as written, less the trailing "/" that tar gives directories. */
        snprintf(field, sizeof(field), "%s", name);
        for (len = strlen(field); len > 1 && field[len - 1] == '/'; len--)
                field[len - 1] = 0;
        r = canonicalize(p, field, name, &path);
        if (r < 0)
                return r;
        if (path[0] == 0) {
                /* "." or "./": the archive's own top directory. */
                if (archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e))
                        return 0;
                return pass_refuse(p, field, "%s", "entry without a name");
        }
        if (strcmp(path, "manifest") == 0)
                return read_manifest(p, e, field);
        return check_path(p, e, field, path);
}

static int check_tar(Pass *p) {
        struct archive_entry *e;
        int r;

        for (;;) {
                r = archive_read_next_header(p->tar, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (!archive_ok(r))
                        return p->error ?: pass_refuse(p, "", "not a valid tar archive: %s",
                                                       archive_error_string(p->tar) ?: "");
                r = check_entry(p, e);
                if (r >= 0)
                        r = entry_data(p, e);
                if (r < 0)
                        return r;
        }
        if (!p->manifest)
                return pass_refuse(p, "manifest", "%s", "the image has no manifest");
        if (!p->have_rootfs)
                return pass_refuse(p, "rootfs", "%s", "the image has no rootfs");
        return 0;
}

/* The decompressing reader, with its input open and its one "raw" entry started. */
static int open_raw(Pass *p) {
        struct archive_entry *e;

        p->raw = archive_read_new();
        if (!p->raw)
                return -ENOMEM;
        /* Only filters that libarchive runs itself: an ARCHIVE_WARN here means it would run
         * an external program, which a daemon must not do for untrusted input. */
        if (archive_read_support_filter_gzip(p->raw) != ARCHIVE_OK ||
            archive_read_support_filter_bzip2(p->raw) != ARCHIVE_OK ||
            archive_read_support_filter_xz(p->raw) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(p->raw) != ARCHIVE_OK ||
            archive_read_support_format_raw(p->raw) != ARCHIVE_OK)
                return -EOPNOTSUPP;
        if (archive_read_open(p->raw, p, NULL, input_read, NULL) != ARCHIVE_OK ||
            !archive_ok(archive_read_next_header(p->raw, &e))) {
                if (p->error)
                        return p->error;
                if (p->bytes_read == 0)
                        return pass_refuse(p, "", "%s", "the image file is empty");
                return pass_refuse(p, "", "cannot read the image: %s",
                                   archive_error_string(p->raw) ?: "");
        }
        return 0;
}

static int open_tar(Pass *p) {
        p->tar = archive_read_new();
        if (!p->tar)
                return -ENOMEM;
        if (archive_read_support_format_tar(p->tar) != ARCHIVE_OK)
                return -EOPNOTSUPP;
        if (archive_read_open(p->tar, p, NULL, tar_read, NULL) != ARCHIVE_OK)
                return p->error ?: pass_refuse(p, "", "not a tar archive: %s",
                                               archive_error_string(p->tar) ?: "");
        return 0;
}

static void pass_done(Pass *p) {
        if (p->tar)
                archive_read_free(p->tar);
        if (p->raw)
                archive_read_free(p->raw);
        sink_done(&p->sink);
        stream_digest_done(&p->check);
        free(p->in_buf);
        tdestroy(p->symlinks, free);
        tdestroy(p->paths, free);
        free(p->manifest);
}

static int pass_init(Pass *p, int in_fd, int out_fd, const ImageImportOptions *options) {
        struct stat st;

        p->in_fd = in_fd;
        p->size_max = options && options->size_max ? options->size_max : IMAGE_SIZE_MAX_DEFAULT;
        p->allow_device_nodes = options && options->allow_device_nodes;
        if (fstat(in_fd, &st) < 0)
                return NEG_ERRNO();
        if (S_ISREG(st.st_mode))
                p->bytes_total = (uint64_t) st.st_size;
        p->in_buf = malloc(IMAGE_IMPORT_BUFFER_SIZE);
        if (!p->in_buf || stream_digest_init(&p->check) < 0)
                return -ENOMEM;
        return sink_start(&p->sink, out_fd);
}

static int pass_run(Pass *p, ImageImportResult *ret) {
        int r;

        r = open_raw(p);
        if (r >= 0)
                r = open_tar(p);
        if (r >= 0)
                r = check_tar(p);
        if (r >= 0)
                r = drain(p);
        if (r < 0)
                return r;
        r = sink_finish(&p->sink, ret->digest);
        if (r < 0)
                return pass_fail(p, r, "", "cannot write the blob");
        /* A stream the digest cannot follow is still a good image: renders check its ID. */
        r = stream_digest_final(&p->check, ret->check_digest);
        if (r == -EOPNOTSUPP)
                ret->check_digest[0] = 0;
        else if (r < 0)
                return pass_fail(p, r, "", "cannot hash the stream");
        ret->size = p->size;
        ret->manifest = TAKE_PTR(p->manifest);
        ret->manifest_size = p->manifest_size;
        return 0;
}

int image_import_stream(int in_fd, int out_fd, const ImageImportOptions *options,
                        ImageImportProgress progress, void *userdata, ImageImportResult *ret,
                        ErrorDetail *error) {
        Pass p = {
                .sink = {
                        .lock = PTHREAD_MUTEX_INITIALIZER,
                        .cond = PTHREAD_COND_INITIALIZER,
                },
                .progress = progress,
                .userdata = userdata,
                .detail = error,
        };
        ImageImportResult result = {};
        int r;

        r = pass_init(&p, in_fd, out_fd, options);
        if (r >= 0)
                r = pass_run(&p, &result);
        pass_done(&p);
        if (r < 0)
                return r;
        *ret = result;
        return 0;
}
