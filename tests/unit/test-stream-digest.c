/* The check digest (StreamDigest) and its threaded reader (BlobCheck): the digest does not
 * depend on how the stream is cut into blocks; content digests are the SHA-256 of each file's
 * bytes, holes included; a changed byte anywhere (data, padding, the end blocks) changes it;
 * BlobCheck gives what StreamDigest gives; data the digest cannot place makes it refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <cmocka.h>

#include "blob-check.h"
#include "stream-digest.h"

#define TAR_MAX (2 * 1024 * 1024)
#define BIG_SIZE (300 * 1024 + 17)
#define SPARSE_SIZE 100000
#define TRAILER 1000

typedef struct Tar {
        uint8_t *data;
        size_t size;
        size_t a_offset;             /* where the data of rootfs/a starts */
} Tar;

static uint8_t pattern(size_t i) {
        return (uint8_t) (i * 7 + i / 251);
}

static void add_file(struct archive *a, const char *path, size_t size, struct archive_entry *e) {
        uint8_t *buf = malloc(size + 1);

        assert_non_null(buf);
        for (size_t i = 0; i < size; i++)
                buf[i] = pattern(i);
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t) size);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, buf, size), (la_ssize_t) size);
        archive_entry_clear(e);
        free(buf);
}

/* manifest, rootfs/, a (3000 bytes), empty, link -> a, big (300 KB), sparse (two runs of
 * 4096 bytes in 100000), in pax format (for the sparse map). */
static Tar make_tar(void) {
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        Tar t = { .data = calloc(1, TAR_MAX) };
        uint8_t run[4096], *sparse;

        assert_non_null(t.data);
        assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_memory(a, t.data, TAR_MAX, &t.size), ARCHIVE_OK);
        add_file(a, "manifest", 40, e);
        archive_entry_set_pathname(e, "rootfs");
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        archive_entry_clear(e);
        add_file(a, "rootfs/a", 3000, e);
        add_file(a, "rootfs/empty", 0, e);
        archive_entry_set_pathname(e, "rootfs/link");
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, "a");
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        archive_entry_clear(e);
        add_file(a, "rootfs/big", BIG_SIZE, e);
        archive_entry_set_pathname(e, "rootfs/sparse");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, SPARSE_SIZE);
        archive_entry_sparse_add_entry(e, 0, sizeof(run));
        archive_entry_sparse_add_entry(e, 65536, sizeof(run));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        /* The writer takes the whole content and stores only the runs. */
        sparse = calloc(1, SPARSE_SIZE);
        assert_non_null(sparse);
        for (size_t i = 0; i < sizeof(run); i++)
                sparse[i] = sparse[65536 + i] = pattern(i);
        assert_int_equal(archive_write_data(a, sparse, SPARSE_SIZE), SPARSE_SIZE);
        free(sparse);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        archive_entry_free(e);
        /* rootfs/a's data follows its ustar header (the block that starts with its name). */
        for (size_t off = 0; off + 512 <= t.size; off += 512)
                if (memcmp(t.data + off, "rootfs/a\0", 9) == 0) {
                        t.a_offset = off + 512;
                        break;
                }
        assert_true(t.a_offset > 0);
        /* Bytes after the end of the archive belong to the blob as well. */
        for (size_t i = 0; i < TRAILER; i++)
                t.data[t.size++] = pattern(i);
        assert_int_equal(t.data[t.a_offset], pattern(0));
        assert_int_equal(t.data[t.a_offset + 1], pattern(1));
        return t;
}

/* Hands the tar to libarchive in blocks of a given size, each a fresh copy (so pointers
 * into an old block would be wrong to use). */
typedef struct Feed {
        const Tar *tar;
        size_t at, block;
        uint8_t *buf;
        StreamDigest *d;
} Feed;

static la_ssize_t feed_read(struct archive *a, void *userdata, const void **ret) {
        Feed *f = userdata;
        size_t n = f->tar->size - f->at < f->block ? f->tar->size - f->at : f->block;

        (void) a;
        assert_int_equal(stream_digest_block(f->d, NULL, 0), 0);
        free(f->buf);
        f->buf = malloc(n ? n : 1);
        assert_non_null(f->buf);
        memcpy(f->buf, f->tar->data + f->at, n);
        f->at += n;
        if (n > 0)
                assert_int_equal(stream_digest_block(f->d, f->buf, n), 0);
        *ret = f->buf;
        return (la_ssize_t) n;
}

/* The check digest computed in the reading thread, in blocks of the given size; content[i]
 * for the i-th entry (at most n_max). Returns stream_digest_final's result. */
static int reference_digest(const Tar *t, size_t block, char digest[STREAM_DIGEST_LEN + 1],
                            ContentDigest *content, size_t n_max, size_t *ret_n) {
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        StreamDigest d;
        Feed f = { .tar = t, .block = block, .d = &d };
        size_t i = 0;
        int r;

        assert_int_equal(stream_digest_init(&d), 0);
        assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
        assert_int_equal(archive_read_open(a, &f, NULL, feed_read, NULL), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                const void *p;
                size_t n;
                la_int64_t offset;
                int k;

                while (archive_read_data_block(a, &p, &n, &offset) == ARCHIVE_OK)
                        assert_int_equal(stream_digest_data(&d, p, n, (uint64_t) offset), 0);
                assert_true(i < n_max);
                k = stream_digest_entry_end(&d, (uint64_t) archive_entry_size(e), content[i].digest);
                assert_true(k >= 0);
                content[i++].set = k == 1;
        }
        /* The rest of the stream, as an import drains it. */
        while (f.at < t->size) {
                const void *p;

                feed_read(a, &f, &p);
        }
        r = stream_digest_final(&d, digest);
        archive_read_free(a);
        stream_digest_done(&d);
        free(f.buf);
        *ret_n = i;
        return r;
}

typedef struct Result {
        int r;
        char digest[STREAM_DIGEST_LEN + 1];
        uint8_t content[8][CONTENT_DIGEST_SIZE];   /* by entry index, when it had data */
        bool has_content[8];
} Result;

static Result digest_in_blocks(const Tar *t, size_t block) {
        ContentDigest content[8] = {};
        Result res = {};
        size_t n = 0;

        res.r = reference_digest(t, block, res.digest, content, 8, &n);
        assert_int_equal(n, 7);
        for (size_t i = 0; i < n; i++) {
                res.has_content[i] = content[i].set;
                memcpy(res.content[i], content[i].digest, CONTENT_DIGEST_SIZE);
        }
        return res;
}

static void sha256(const void *p, size_t n, uint8_t ret[CONTENT_DIGEST_SIZE]) {
        unsigned len = 0;

        assert_int_equal(EVP_Digest(p, n, ret, &len, EVP_sha256(), NULL), 1);
        assert_int_equal(len, CONTENT_DIGEST_SIZE);
}

static void test_blocks_do_not_matter(void **state) {
        Tar t = make_tar();
        Result whole = digest_in_blocks(&t, t.size);
        static const size_t blocks[] = { 1 << 20, 65536, 4096, 777, 512 };

        (void) state;
        assert_int_equal(whole.r, 0);
        assert_true(stream_digest_is_valid(whole.digest));
        for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
                Result r = digest_in_blocks(&t, blocks[i]);

                assert_int_equal(r.r, 0);
                assert_string_equal(r.digest, whole.digest);
                assert_memory_equal(r.content, whole.content, sizeof(r.content));
        }
        free(t.data);
}

static void test_content_digests(void **state) {
        Tar t = make_tar();
        Result res = digest_in_blocks(&t, 1000);
        uint8_t *buf = calloc(1, SPARSE_SIZE), want[CONTENT_DIGEST_SIZE];

        (void) state;
        assert_non_null(buf);
        for (size_t i = 0; i < BIG_SIZE && i < SPARSE_SIZE; i++)
                buf[i] = pattern(i);
        sha256(buf, 3000, want);                      /* rootfs/a */
        assert_true(res.has_content[2]);
        assert_memory_equal(res.content[2], want, sizeof(want));
        assert_false(res.has_content[1]);             /* rootfs: no data */
        assert_false(res.has_content[3]);             /* empty */
        assert_false(res.has_content[4]);             /* link */
        free(buf);
        buf = malloc(BIG_SIZE);
        assert_non_null(buf);
        for (size_t i = 0; i < BIG_SIZE; i++)
                buf[i] = pattern(i);
        sha256(buf, BIG_SIZE, want);
        assert_memory_equal(res.content[5], want, sizeof(want));
        /* The sparse file: its runs at 0 and 65536, zeros around them, up to its size. */
        free(buf);
        buf = calloc(1, SPARSE_SIZE);
        assert_non_null(buf);
        for (size_t i = 0; i < 4096; i++)
                buf[i] = buf[65536 + i] = pattern(i);
        sha256(buf, SPARSE_SIZE, want);
        assert_true(res.has_content[6]);
        assert_memory_equal(res.content[6], want, sizeof(want));
        free(buf);
        free(t.data);
}

/* A byte changed in the data, in the padding after it, in the end-of-archive blocks and after
 * them: each gives another digest (and the tar still reads). */
static void test_every_byte_counts(void **state) {
        Tar t = make_tar();
        Result base = digest_in_blocks(&t, 4096);
        size_t offsets[] = { t.a_offset + 10, t.a_offset + 3000 + 5, t.size - TRAILER - 3,
                             t.size - TRAILER + 3, t.size - 1 };

        (void) state;
        for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
                Result r;

                t.data[offsets[i]] ^= 0x20;
                r = digest_in_blocks(&t, 4096);
                assert_int_equal(r.r, 0);
                assert_string_not_equal(r.digest, base.digest);
                t.data[offsets[i]] ^= 0x20;
        }
        free(t.data);
}

static void test_unplaceable_data(void **state) {
        static const uint8_t block[64], elsewhere[16];
        uint8_t content[CONTENT_DIGEST_SIZE];
        char digest[STREAM_DIGEST_LEN + 1];
        StreamDigest d;

        (void) state;
        assert_int_equal(stream_digest_init(&d), 0);
        assert_int_equal(stream_digest_block(&d, block, sizeof(block)), 0);
        assert_int_equal(stream_digest_data(&d, elsewhere, sizeof(elsewhere), 0), 0);
        assert_int_equal(stream_digest_entry_end(&d, 16, NULL), 0);
        assert_int_equal(stream_digest_final(&d, digest), -EOPNOTSUPP);
        stream_digest_done(&d);
        /* Data going backwards in the file is refused the same way. */
        assert_int_equal(stream_digest_init(&d), 0);
        assert_int_equal(stream_digest_block(&d, block, sizeof(block)), 0);
        assert_int_equal(stream_digest_data(&d, block + 8, 8, 100), 0);
        assert_int_equal(stream_digest_data(&d, block + 16, 8, 50), 0);
        /* The entry had data, but not all of it was hashed: no content digest is handed out,
         * or the tree hash would record a wrong one. */
        memset(content, 0xaa, sizeof(content));
        assert_int_equal(stream_digest_entry_end(&d, 200, content), 0);
        for (size_t i = 0; i < sizeof(content); i++)
                assert_int_equal(content[i], 0xaa);
        assert_int_equal(stream_digest_final(&d, digest), -EOPNOTSUPP);
        stream_digest_done(&d);
}

/* Reads the blob at path through a BlobCheck as a render does: the digest into digest,
 * content digests into content (at most n_max entries); returns the number of entries.
 * pause_every: the reading side sleeps after that many entries, so the hashing thread reads
 * ahead until its ring is full; 0: never. */
static size_t run_blob_check(const char *path, size_t pause_every,
                             char digest[STREAM_DIGEST_LEN + 1], ContentDigest *content,
                             size_t n_max) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        BlobCheck *b = NULL;
        size_t i = 0;

        assert_true(fd >= 0);
        assert_int_equal(blob_check_new(&b, fd), 0);
        assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
        assert_int_equal(archive_read_open(a, b, NULL, blob_check_read, NULL), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                const void *p;
                size_t n;
                la_int64_t offset;

                while (archive_read_data_block(a, &p, &n, &offset) == ARCHIVE_OK)
                        assert_int_equal(blob_check_data(b, p, n, offset), 0);
                assert_true(i < n_max);
                assert_int_equal(blob_check_entry_end(b, archive_entry_size(e), &content[i++]), 0);
                if (pause_every && i % pause_every == 0)
                        usleep(2000);
        }
        assert_int_equal(blob_check_finish(b, digest), 0);
        archive_read_free(a);
        blob_check_free(b);
        return i;
}

static void write_blob(const Tar *t, char *path) {
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, t->data, t->size), (ssize_t) t->size);
        close(fd);
}

static void test_blob_check(void **state) {
        char path[] = "/tmp/test-stream-digest.XXXXXX", digest[STREAM_DIGEST_LEN + 1];
        Tar t = make_tar();
        Result want = digest_in_blocks(&t, 4096);
        ContentDigest got[8] = {};

        (void) state;
        write_blob(&t, path);
        assert_int_equal(run_blob_check(path, 0, digest, got, 8), 7);
        assert_string_equal(digest, want.digest);
        for (size_t i = 0; i < 7; i++) {
                assert_int_equal(got[i].set, want.has_content[i]);
                if (got[i].set)
                        assert_memory_equal(got[i].digest, want.content[i], CONTENT_DIGEST_SIZE);
        }
        unlink(path);
        free(t.data);
}

/* ---- a blob larger than BlobCheck's ring ---- */

#define RING_FILES 600
#define RING_BIG (3 * 1024 * 1024 + 5)

/* 40 files of RING_BIG among 560 small ones: ~120 MiB, so every buffer of the 16 MiB ring is
 * read into several times, by either thread. */
static Tar make_ring_tar(void) {
        size_t cap = 40 * (RING_BIG + 1024) + RING_FILES * 4096 + (1 << 20);
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        Tar t = { .data = malloc(cap) };
        char name[64];

        assert_non_null(t.data);
        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_memory(a, t.data, cap, &t.size), ARCHIVE_OK);
        for (size_t i = 0; i < RING_FILES; i++) {
                snprintf(name, sizeof(name), "rootfs/f%zu", i);
                add_file(a, name, i % 15 == 0 ? RING_BIG : 1 + i * 3, e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        archive_entry_free(e);
        return t;
}

typedef struct RingResult {
        char digest[STREAM_DIGEST_LEN + 1];
        ContentDigest content[RING_FILES];
} RingResult;

/* What BlobCheck must give: the digest computed in the reading thread. */
static void ring_reference(const Tar *t, RingResult *res) {
        size_t n = 0;

        assert_int_equal(reference_digest(t, 65536, res->digest, res->content, RING_FILES, &n), 0);
        assert_int_equal(n, RING_FILES);
}

static void ring_blob_check(const char *path, size_t pause_every, RingResult *res) {
        assert_int_equal(run_blob_check(path, pause_every, res->digest, res->content, RING_FILES),
                         RING_FILES);
}

static void test_blob_check_around_the_ring(void **state) {
        char path[] = "/tmp/test-stream-digest.XXXXXX";
        static RingResult want, got;
        static const size_t pauses[] = { 0, 7, 100 };
        Tar t = make_ring_tar();
        int fd;

        (void) state;
        write_blob(&t, path);
        ring_reference(&t, &want);
        for (size_t k = 0; k < sizeof(pauses) / sizeof(pauses[0]); k++) {
                memset(&got, 0, sizeof(got));
                ring_blob_check(path, pauses[k], &got);
                assert_string_equal(got.digest, want.digest);
                for (size_t i = 0; i < RING_FILES; i++) {
                        assert_int_equal(got.content[i].set, want.content[i].set);
                        assert_memory_equal(got.content[i].digest, want.content[i].digest,
                                            CONTENT_DIGEST_SIZE);
                }
        }
        /* A byte changed in the last big file, far past the first round of the ring. */
        t.data[t.size - 2 * 1024 * 1024] ^= 1;
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_int_equal(write(fd, t.data, t.size), (ssize_t) t.size);
        close(fd);
        ring_blob_check(path, 0, &got);
        assert_string_not_equal(got.digest, want.digest);
        unlink(path);
        free(t.data);
}

static void test_is_valid(void **state) {
        char good[STREAM_DIGEST_LEN + 1] = "sha256-";

        (void) state;
        memset(good + 7, 'a', 64);
        good[STREAM_DIGEST_LEN] = 0;
        assert_true(stream_digest_is_valid(good));
        good[20] = 'A';
        assert_false(stream_digest_is_valid(good));
        good[20] = 'a';
        good[0] = 'x';
        assert_false(stream_digest_is_valid(good));
        assert_false(stream_digest_is_valid("sha256-abc"));
        assert_false(stream_digest_is_valid(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_blocks_do_not_matter),
                cmocka_unit_test(test_content_digests),
                cmocka_unit_test(test_every_byte_counts),
                cmocka_unit_test(test_unplaceable_data),
                cmocka_unit_test(test_blob_check),
                cmocka_unit_test(test_blob_check_around_the_ring),
                cmocka_unit_test(test_is_valid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
