/* ImageStore: import in every compression (one ID, the second import changes nothing), every
 * refused tar (named field, nothing left in blobs/, tmp/ or the index), the size limit,
 * resolution by ID prefix and by name and labels, listing, removal, a store reopened after a
 * simulated crash, and concurrent imports from forked processes. Each test has its own
 * mkdtemp data dir; the images are written with libarchive's writer. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "cleanup.h"
#include "image-import.h"
#include "image-store.h"
#include "stream-digest.h"

typedef struct Entry {
        const char *path;
        unsigned type;          /* AE_IFREG when 0 */
        const char *data;       /* a regular file's content */
        size_t len;             /* its length, when not strlen(data) */
        uint64_t zeros;         /* or this many zero bytes */
        const char *link;       /* a symlink's target */
        const char *hardlink;   /* makes the entry a hard link to this path */
} Entry;

#define F(p, d) { .path = (p), .data = (d) }
#define D(p) { .path = (p), .type = AE_IFDIR }
#define L(p, t) { .path = (p), .type = AE_IFLNK, .link = (t) }
#define H(p, t) { .path = (p), .hardlink = (t) }
#define N(p, t) { .path = (p), .type = (t) }
#define Z(p, n) { .path = (p), .zeros = (n) }

typedef struct Fixture {
        char dir[64];
        char images[128];
        ImageStore *store;
        int n_files;            /* names handed out by fixture_file */
} Fixture;

static char files[64][96];      /* the last 64 names that fixture_file handed out */

#define MANIFEST_FMT                                                                    \
        "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"%s\","       \
        "\"labels\":[{\"name\":\"version\",\"value\":\"%s\"},"                          \
        "{\"name\":\"os\",\"value\":\"linux\"},{\"name\":\"arch\",\"value\":\"%s\"}]}"

static char *manifest_for(const char *name, const char *version, const char *arch) {
        char *s;

        assert_true(asprintf(&s, MANIFEST_FMT, name, version, arch) > 0);
        return s;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-image-store-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->images, sizeof(f->images), "%s/images", f->dir);
        assert_int_equal(image_store_open(&f->store, f->dir), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        image_store_free(f->store);
        nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

/* A fresh file name in the fixture's dir (outside images/), valid for the next 63 calls.
 * Not malloc'd, so forked children leak nothing. */
static const char *fixture_file(Fixture *f, const char *suffix) {
        char *s = files[f->n_files % ELEMENTSOF(files)];

        snprintf(s, sizeof(files[0]), "%s/file-%d%s", f->dir, f->n_files, suffix);
        f->n_files++;
        return s;
}

static void write_entry(struct archive *a, const Entry *en) {
        struct archive_entry *e = archive_entry_new();
        unsigned type = en->type ?: AE_IFREG;
        uint64_t size = en->len ?: en->data ? strlen(en->data) : en->zeros;

        archive_entry_set_pathname(e, en->path);
        archive_entry_set_mtime(e, 1700000000, 0);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
        if (en->link)
                archive_entry_set_symlink(e, en->link);
        if (en->hardlink)
                archive_entry_set_hardlink(e, en->hardlink);
        if (type == AE_IFCHR || type == AE_IFBLK)
                archive_entry_set_rdev(e, makedev(1, 3));
        archive_entry_set_size(e, type == AE_IFREG && !en->hardlink ? (la_int64_t) size : 0);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (en->data)
                assert_int_equal(archive_write_data(a, en->data, size), (la_ssize_t) size);
        if (en->zeros) {
                static const char zero[65536];

                for (uint64_t n = 0; n < size; n += sizeof(zero))
                        assert_true(archive_write_data(a, zero, sizeof(zero)) > 0);
        }
        archive_entry_free(e);
}

/* Writes a tar (format: ARCHIVE_FORMAT_TAR_*) through filter (ARCHIVE_FILTER_*). */
static void write_tar(const char *path, int format, int filter, const Entry *entries) {
        struct archive *a = archive_write_new();

        assert_non_null(a);
        assert_int_equal(archive_write_set_format(a, format), ARCHIVE_OK);
        assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (const Entry *en = entries; en->path; en++)
                write_entry(a, en);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

/* A good image named name at version, as a pax tar through filter; returns its path. */
static const char *good_image(Fixture *f, const char *name, const char *version, int filter) {
        _cleanup_free_ char *manifest = manifest_for(name, version, "amd64");
        const char *path = fixture_file(f, ".aci");
        const Entry entries[] = {
                F("manifest", manifest),
                D("rootfs"),
                D("rootfs/bin"),
                F("rootfs/bin/hello", "#!/bin/sh\necho hello\n"),
                L("rootfs/bin/sh", "/bin/hello"),
                H("rootfs/bin/hello2", "rootfs/bin/hello"),
                N("rootfs/fifo", AE_IFIFO),
                {},
        };

        write_tar(path, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, filter, entries);
        return path;
}

static int import_path(ImageStore *s, const char *path, const ImageImportOptions *options,
                       ImageInfo *ret, ErrorDetail *error) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        return image_store_import(s, fd, options, NULL, NULL, ret, error);
}

static void sha512_file(const char *path, char ret[IMAGE_ID_LEN + 1]) {
        static unsigned char buf[65536];
        unsigned char md[64];
        unsigned len = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        assert_true(fd >= 0);
        assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha512(), NULL), 1);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                EVP_DigestUpdate(ctx, buf, (size_t) n);
        assert_int_equal(n, 0);
        EVP_DigestFinal_ex(ctx, md, &len);
        EVP_MD_CTX_free(ctx);
        memcpy(ret, "sha512-", 7);
        for (unsigned i = 0; i < len; i++)
                snprintf(ret + 7 + 2 * i, 3, "%02x", md[i]);
}

static int n_counted;

static int count_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        if (flag == FTW_F)
                n_counted++;
        return 0;
}

static int count_files(const char *dir) {
        n_counted = 0;
        assert_int_equal(nftw(dir, count_entry, 16, FTW_PHYS), 0);
        return n_counted;
}

static int count_blobs(Fixture *f) {
        char dir[256];

        snprintf(dir, sizeof(dir), "%s/blobs", f->images);
        return count_files(dir);
}

static int count_tmp(Fixture *f) {
        char dir[256];

        snprintf(dir, sizeof(dir), "%s/tmp", f->images);
        return count_files(dir);
}

static size_t count_images(ImageStore *s) {
        ImageInfo *a = NULL;
        size_t n = 0;

        assert_int_equal(image_store_list(s, NULL, NULL, 0, &a, &n), 0);
        image_info_array_free(a, n);
        return n;
}

static void assert_store_empty(Fixture *f) {
        assert_int_equal(count_blobs(f), 0);
        assert_int_equal(count_tmp(f), 0);
        assert_int_equal(count_images(f->store), 0);
}

static void test_import_compressions(void **state) {
        static const int filters[] = { ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP,
                                       ARCHIVE_FILTER_BZIP2, ARCHIVE_FILTER_XZ,
                                       ARCHIVE_FILTER_ZSTD };
        Fixture *f = *state;
        char id[IMAGE_ID_LEN + 1] = "";

        for (size_t i = 0; i < ELEMENTSOF(filters); i++) {
                const char *path = good_image(f, "example.com/hello", "1.0", filters[i]);
                ImageInfo info = {};
                ErrorDetail e = {};
                int r;

                if (i == 0)
                        sha512_file(path, id);
                r = import_path(f->store, path, NULL, &info, &e);
                if (r < 0)
                        fail_msg("filter %d: %d at \"%s\": %s", filters[i], r, e.field, e.reason);
                assert_int_equal(r, i == 0 ? 0 : 1);
                assert_string_equal(info.id, id);
                assert_memory_equal(info.key, id, IMAGE_KEY_LEN);
                assert_string_equal(info.name, "example.com/hello");
                assert_int_equal(info.n_labels, 3);
                assert_string_equal(info.labels[0].name, "version");
                assert_string_equal(info.labels[0].value, "1.0");
                assert_true(info.imported_usec > 0);
                assert_int_equal(info.last_used_usec, info.imported_usec);
                image_info_clear(&info);
                assert_int_equal(count_blobs(f), 1);
                assert_int_equal(count_tmp(f), 0);
                assert_int_equal(count_images(f->store), 1);
        }
}

static void test_import_formats(void **state) {
        static const int formats[] = { ARCHIVE_FORMAT_TAR_USTAR, ARCHIVE_FORMAT_TAR_GNUTAR,
                                       ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE };
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                char version[16];
                _cleanup_free_ char *manifest = NULL;
                const char *path = fixture_file(f, ".tar");
                ErrorDetail e = {};
                int r;

                snprintf(version, sizeof(version), "%zu", i);
                manifest = manifest_for("example.com/f", version, "amd64");
                write_tar(path, formats[i], ARCHIVE_FILTER_NONE,
                          (const Entry[]) { F("./manifest", manifest), D("./rootfs/"),
                                            F("./rootfs/a", "a"), {} });
                r = import_path(f->store, path, NULL, NULL, &e);
                if (r != 0)
                        fail_msg("format %d: %d at \"%s\": %s", formats[i], r, e.field, e.reason);
        }
        assert_int_equal(count_images(f->store), ELEMENTSOF(formats));
}

typedef struct BadCase {
        const char *what;
        Entry entries[6];
        const char *field;      /* expected ErrorDetail.field */
} BadCase;

#define M F("manifest", "@")     /* "@" is replaced by a good manifest */
#define R D("rootfs")

static const BadCase bad_cases[] = {
        { "outside", { M, R, F("etc/passwd", "x") }, "etc/passwd" },
        { "outside dir", { M, R, F("rootfsx/a", "x") }, "rootfsx/a" },
        { "absolute", { M, R, F("/rootfs/a", "x") }, "/rootfs/a" },
        { "dotdot", { M, R, F("rootfs/../../evil", "x") }, "rootfs/../../evil" },
        { "dotdot inside", { M, R, F("rootfs/a/../b", "x") }, "rootfs/a/../b" },
        { "through symlink",
          { M, R, L("rootfs/link", "/"),
            F("rootfs/link/etc/passwd", "x") },
          "rootfs/link/etc/passwd" },
        { "through relative symlink",
          { M, R, L("rootfs/a", "../.."), D("rootfs/a/b") },
          "rootfs/a/b" },
        { "through symlink with ./",
          { M, R, L("./rootfs/l", "/"), F("rootfs//l/x", "x") },
          "rootfs//l/x" },
        { "hardlink absolute", { M, R, H("rootfs/h", "/etc/passwd") }, "rootfs/h" },
        { "hardlink dotdot", { M, R, H("rootfs/h", "rootfs/../../etc/passwd") },
          "rootfs/h" },
        { "hardlink to manifest", { M, R, H("rootfs/h", "manifest") }, "rootfs/h" },
        { "hardlink through symlink",
          { M, R, L("rootfs/l", "/etc"),
            H("rootfs/h", "rootfs/l/shadow") },
          "rootfs/h" },
        { "write through a hardlinked symlink",
          { M, R, L("rootfs/l", "/"), H("rootfs/h", "rootfs/l"),
            F("rootfs/h/etc/passwd", "x") },
          "rootfs/h/etc/passwd" },
        { "hardlink to a missing entry", { M, R, H("rootfs/h", "rootfs/nothing") }, "rootfs/h" },
        { "hardlink to a later entry",
          { M, R, H("rootfs/h", "rootfs/later"), F("rootfs/later", "x") }, "rootfs/h" },
        { "hardlink to a directory", { M, R, D("rootfs/d"), H("rootfs/h", "rootfs/d") },
          "rootfs/h" },
        { "directory over a symlink",
          { M, R, L("rootfs/etc", "/tmp"), D("rootfs/etc/"), F("rootfs/etc/evil", "x") },
          "rootfs/etc" },
        { "file over a symlink", { M, R, L("rootfs/etc", "/tmp"), F("rootfs/etc", "x") },
          "rootfs/etc" },
        { "char device", { M, R, N("rootfs/null", AE_IFCHR) }, "rootfs/null" },
        { "block device", { M, R, N("rootfs/sda", AE_IFBLK) }, "rootfs/sda" },
        { "no manifest", { R, F("rootfs/a", "x") }, "manifest" },
        { "two manifests", { M, M, R }, "manifest" },
        { "manifest symlink", { L("manifest", "rootfs/m"), R }, "manifest" },
        { "manifest dir", { D("manifest"), R }, "manifest" },
        { "no rootfs", { M }, "rootfs" },
        { "rootfs symlink", { M, L("rootfs", "/") }, "rootfs" },
        { "rootfs file", { M, F("rootfs", "x") }, "rootfs" },
        { "manifest not json", { F("manifest", "{"), R }, "manifest:" },
        { "manifest with NUL", { { .path = "manifest", .data = "{}\0", .len = 3 }, R },
          "manifest:" },
        { "manifest without acKind",
          { { "manifest", .data = "{\"acVersion\":\"0.8.11\",\"name\":\"a\"}" }, R },
          "manifest:acKind" },
};

static void write_bad_case(const char *path, const BadCase *c, const char *manifest) {
        Entry entries[ELEMENTSOF(c->entries) + 1] = {};

        for (size_t i = 0; i < ELEMENTSOF(c->entries) && c->entries[i].path; i++) {
                entries[i] = c->entries[i];
                if (entries[i].data && strcmp(entries[i].data, "@") == 0)
                        entries[i].data = manifest;
        }
        write_tar(path, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_NONE, entries);
}

static void test_bad_tars(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *manifest = manifest_for("example.com/bad", "1", "amd64");

        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                const char *path = fixture_file(f, ".tar");
                ErrorDetail e = {};
                int r;

                write_bad_case(path, &bad_cases[i], manifest);
                r = import_path(f->store, path, NULL, NULL, &e);
                if (r != -EBADMSG || strcmp(e.field, bad_cases[i].field) != 0 || !e.reason[0])
                        fail_msg("%s: expected -EBADMSG at \"%s\", got %d at \"%s\": %s",
                                 bad_cases[i].what, bad_cases[i].field, r, e.field, e.reason);
                assert_store_empty(f);
        }

        /* A manifest over the limit is a limit of its own. */
        {
                const char *path = fixture_file(f, ".tar");
                ErrorDetail e = {};

                write_tar(path, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_NONE,
                          (const Entry[]) { Z("manifest", IMAGE_MANIFEST_SIZE_MAX + 1), R, {} });
                assert_int_equal(import_path(f->store, path, NULL, NULL, &e), -EMSGSIZE);
                assert_string_equal(e.field, "manifest");
                assert_store_empty(f);
        }
}

/* The images of tests/images, from the build directory next to this test's: every good one
 * imports with the ID in ids.tsv, every bad one is refused as bad/expected.tsv says. */
static bool images_dir(char ret[PATH_MAX]) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        char *slash;

        if (n <= 0)
                return false;
        exe[n] = 0;
        slash = strrchr(exe, '/');
        if (!slash)
                return false;
        *slash = 0;
        snprintf(ret, PATH_MAX, "%.*s/../images", PATH_MAX - 32, exe);
        snprintf(exe, sizeof(exe), "%.*s/images.stamp", PATH_MAX - 32, ret);
        return access(exe, F_OK) == 0;     /* written last by make-images.sh */
}

static void check_corpus_line(Fixture *f, const char *dir, char *line) {
        char *file = strtok(line, "\t"), *error = strtok(NULL, "\t"), *field = strtok(NULL, "\t");
        char path[PATH_MAX + 64], want_field[300];
        ImageImportOptions options = { .size_max = (10u << 20) - 1 };
        ErrorDetail e = {};
        int want = 0, r;

        assert_non_null(file);
        assert_non_null(error);
        assert_non_null(field);
        snprintf(path, sizeof(path), "%s/bad/%s", dir, file);
        if (strcmp(error, "InvalidImage") == 0) {
                want = -EBADMSG;
                snprintf(want_field, sizeof(want_field), "%s", field);
        } else if (strcmp(error, "InvalidManifest") == 0) {
                want = -EBADMSG;
                snprintf(want_field, sizeof(want_field), "manifest:%s",
                         strcmp(field, "(manifest)") == 0 ? "" : field);
        } else if (strcmp(error, "LimitExceeded") == 0 && strcmp(field, "manifestSize") == 0) {
                want = -EMSGSIZE;
                snprintf(want_field, sizeof(want_field), "manifest");
        } else if (strcmp(error, "LimitExceeded") == 0 && strcmp(field, "imageSize") == 0) {
                want = -EFBIG;
                snprintf(want_field, sizeof(want_field), "-");
        } else
                fail_msg("%s: unknown expectation %s %s", file, error, field);
        r = import_path(f->store, path, &options, NULL, &e);
        if (r != want || (strcmp(want_field, "-") != 0 && strcmp(e.field, want_field) != 0))
                fail_msg("%s: expected %d at \"%s\", got %d at \"%s\": %s", file, want,
                         want_field, r, e.field, e.reason);
        assert_store_empty(f);
}

static void test_corpus(void **state) {
        Fixture *f = *state;
        char dir[PATH_MAX], path[PATH_MAX + 64], line[1024];
        ImageImportOptions allow = { .allow_device_nodes = true };
        FILE *tsv;
        size_t n_bad = 0, n_good = 0;

        if (!images_dir(dir))
                skip();     /* not built: tests/images is built by default with the tree */
        snprintf(path, sizeof(path), "%s/bad/expected.tsv", dir);
        tsv = fopen(path, "re");
        assert_non_null(tsv);
        while (fgets(line, sizeof(line), tsv)) {
                line[strcspn(line, "\n")] = 0;
                if (line[0] == '#' || line[0] == 0)
                        continue;
                check_corpus_line(f, dir, line);
                n_bad++;
        }
        fclose(tsv);
        assert_true(n_bad >= 30);

        snprintf(path, sizeof(path), "%s/bad/chardev.aci", dir);
        assert_int_equal(import_path(f->store, path, &allow, NULL, NULL), 0);

        snprintf(path, sizeof(path), "%s/ids.tsv", dir);
        tsv = fopen(path, "re");
        assert_non_null(tsv);
        while (fgets(line, sizeof(line), tsv)) {
                char *file = strtok(line, "\t\n"), *id = strtok(NULL, "\t\n");
                ImageInfo info = {};
                ErrorDetail e = {};
                int r;

                if (!file || !id || file[0] == '#')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, file);
                r = import_path(f->store, path, NULL, &info, &e);
                if (r < 0)
                        fail_msg("%s: %d at \"%s\": %s", file, r, e.field, e.reason);
                assert_string_equal(info.id, id);
                image_info_clear(&info);
                n_good++;
        }
        fclose(tsv);
        assert_true(n_good >= 5);
}

static void write_file(const char *path, const void *data, size_t size) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
}

static void assert_refused_file(Fixture *f, const char *path, const char *what) {
        ErrorDetail e = {};
        int r = import_path(f->store, path, NULL, NULL, &e);

        if (r != -EBADMSG || !e.reason[0])
                fail_msg("%s: expected -EBADMSG, got %d at \"%s\": %s", what, r, e.field,
                         e.reason);
        assert_store_empty(f);
}

static void test_bad_streams(void **state) {
        Fixture *f = *state;
        const char *empty = fixture_file(f, "");
        const char *text = fixture_file(f, "");
        const char *good = good_image(f, "example.com/t", "1", ARCHIVE_FILTER_NONE);
        const char *gz = good_image(f, "example.com/t", "1", ARCHIVE_FILTER_GZIP);
        const char *cut = fixture_file(f, "");
        const char *gzcut = fixture_file(f, "");
        static char buf[1 << 16];
        struct stat st;
        int fd;

        write_file(empty, "", 0);
        assert_refused_file(f, empty, "empty");
        memset(buf, 'x', sizeof(buf));
        write_file(text, buf, sizeof(buf));
        assert_refused_file(f, text, "not a tar");

        /* Truncated in the middle of the hello file's data, and a corrupt gzip stream. */
        fd = open(good, O_RDONLY);
        assert_true(fd >= 0 && fstat(fd, &st) == 0);
        assert_int_equal(read(fd, buf, sizeof(buf)), st.st_size);
        close(fd);
        write_file(cut, buf, 512 * 3 + 700);
        assert_refused_file(f, cut, "truncated");
        fd = open(gz, O_RDONLY);
        assert_true(fd >= 0 && fstat(fd, &st) == 0);
        assert_int_equal(read(fd, buf, sizeof(buf)), st.st_size);
        close(fd);
        memset(buf + 20, 0xff, (size_t) st.st_size - 40);
        write_file(gzcut, buf, (size_t) st.st_size);
        assert_refused_file(f, gzcut, "corrupt gzip");
}

/* A blob that cannot be written: the writing thread fails while the reader is blocked on a
 * full ring, and the error comes back instead of a hang. */
static void test_write_error(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *manifest = manifest_for("example.com/w", "1", "amd64");
        const char *path = fixture_file(f, ".tar");
        const char *out = fixture_file(f, ".blob");
        ImageImportResult res = {};
        ErrorDetail e = {};
        _cleanup_close_ int in = -EBADF, ro = -EBADF;

        write_tar(path, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_NONE,
                  (const Entry[]) { F("manifest", manifest), Z("rootfs/big", 16u << 20), {} });
        write_file(out, "", 0);
        in = open(path, O_RDONLY | O_CLOEXEC);
        ro = open(out, O_RDONLY | O_CLOEXEC);
        assert_true(in >= 0 && ro >= 0);
        assert_int_equal(image_import_stream(in, ro, NULL, NULL, NULL, &res, &e), -EBADF);
        assert_string_equal(e.reason, "cannot write the blob");
        assert_null(res.manifest);
}

static void test_device_nodes_allowed(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *manifest = manifest_for("example.com/dev", "1", "amd64");
        const char *path = fixture_file(f, ".tar");
        const Entry entries[] = {
                F("manifest", manifest),
                N("rootfs/dev/null", AE_IFCHR),
                N("rootfs/dev/sda", AE_IFBLK),
                {},
        };
        ImageImportOptions allow = { .allow_device_nodes = true };
        ErrorDetail e = {};

        write_tar(path, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_NONE, entries);
        assert_int_equal(import_path(f->store, path, NULL, NULL, &e), -EBADMSG);
        assert_string_equal(e.field, "rootfs/dev/null");
        assert_int_equal(import_path(f->store, path, &allow, NULL, &e), 0);
}

/* Feeds path into a pipe from cat(1) (an exec: the child inherits no heap to leak); returns
 * the read end. */
static int feed_pipe(const char *path, pid_t *ret_pid) {
        int pipefd[2];
        pid_t pid;

        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        /* One page: the writer can never be far ahead of the reader. */
        assert_true(fcntl(pipefd[1], F_SETPIPE_SZ, 4096) >= 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (dup2(pipefd[1], STDOUT_FILENO) < 0)
                        _exit(127);
                execl("/bin/cat", "cat", "--", path, (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);
        *ret_pid = pid;
        return pipefd[0];
}

/* 0 when the writer wrote everything, 1 when the reader went away first. */
static int wait_writer(pid_t pid) {
        int status = 0;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE)
                return 1;
        assert_true(WIFEXITED(status));
        assert_int_not_equal(WEXITSTATUS(status), 127);
        return WEXITSTATUS(status) == 0 ? 0 : 1;
}

static void test_size_limit(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *manifest = manifest_for("example.com/bomb", "1", "amd64");
        const char *bomb = fixture_file(f, ".tar.gz");
        const char *good = good_image(f, "example.com/g", "1", ARCHIVE_FILTER_GZIP);
        const Entry entries[] = { F("manifest", manifest), Z("rootfs/zero", 64ull << 20), {} };
        ImageImportOptions small = { .size_max = 1 << 20 };
        ImageImportOptions exact = {};
        ImageInfo info = {};
        ErrorDetail e = {};
        struct stat st;
        pid_t pid;
        int fd;

        /* 64 MiB of zeros in about 64 KiB of gzip, fed through a pipe: the import stops after
         * 1 MiB of output, long before the writer is done. */
        write_tar(bomb, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_GZIP, entries);
        assert_int_equal(stat(bomb, &st), 0);
        assert_true(st.st_size < (2 << 20));
        fd = feed_pipe(bomb, &pid);
        assert_int_equal(image_store_import(f->store, fd, &small, NULL, NULL, NULL, &e), -EFBIG);
        assert_true(strstr(e.reason, "1048576") != NULL);
        close(fd);
        assert_int_equal(wait_writer(pid), 1);
        assert_store_empty(f);

        /* The limit is the uncompressed size: an image of exactly that size passes. */
        assert_int_equal(import_path(f->store, good, NULL, &info, &e), 0);
        exact.size_max = info.size;
        assert_int_equal(image_store_remove(f->store, info.key), 0);
        assert_int_equal(import_path(f->store, good, &exact, NULL, &e), 0);
        assert_int_equal(image_store_remove(f->store, info.key), 0);
        exact.size_max = info.size - 1;
        assert_int_equal(import_path(f->store, good, &exact, NULL, &e), -EFBIG);
        image_info_clear(&info);
        assert_store_empty(f);
}

static int resolve_id(ImageStore *s, const char *id, ImageInfo *ret, char ***matches) {
        ImageRef ref = { .id = id };

        return image_store_resolve(s, &ref, ret, matches);
}

static void import_version(Fixture *f, int v, char ret_id[IMAGE_ID_LEN + 1]) {
        const char *path;
        char version[16];

        snprintf(version, sizeof(version), "1.%d", v);
        path = good_image(f, "example.com/c", version, ARCHIVE_FILTER_NONE);
        sha512_file(path, ret_id);
        if (f->store)
                assert_int_equal(import_path(f->store, path, NULL, NULL, NULL), 0);
        unlink(path);
}

/* Imports two versions of one name whose IDs share their first two hex digits (the IDs are
 * fixed by the content, so which two is fixed too). */
static void import_colliding(Fixture *f, char ids[2][IMAGE_ID_LEN + 1]) {
        int seen[256];
        ImageStore *store = TAKE_PTR(f->store);     /* hash only, until the pair is found */

        for (size_t i = 0; i < ELEMENTSOF(seen); i++)
                seen[i] = -1;
        for (int v = 0; v < 1000; v++) {
                char id[IMAGE_ID_LEN + 1];
                unsigned slot;

                import_version(f, v, id);
                slot = (unsigned) strtoul((char[]) { id[7], id[8], 0 }, NULL, 16);
                if (seen[slot] < 0) {
                        seen[slot] = v;
                        continue;
                }
                f->store = store;
                import_version(f, seen[slot], ids[0]);
                import_version(f, v, ids[1]);
                return;
        }
        f->store = store;
        fail_msg("no two IDs share a prefix");
}

static void test_resolve_prefix(void **state) {
        Fixture *f = *state;
        char ids[2][IMAGE_ID_LEN + 1];
        char prefix[IMAGE_ID_LEN + 2];
        char **matches = NULL;
        ImageInfo info = {};

        import_colliding(f, ids);

        /* The first 2 hex digits are shared: ambiguous, with both IDs. */
        snprintf(prefix, sizeof(prefix), "%.9s", ids[0]);
        assert_int_equal(resolve_id(f->store, prefix, &info, &matches), -ENOTUNIQ);
        assert_non_null(matches);
        assert_non_null(matches[0]);
        assert_non_null(matches[1]);
        assert_null(matches[2]);
        assert_true((strcmp(matches[0], ids[0]) == 0 && strcmp(matches[1], ids[1]) == 0) ||
                    (strcmp(matches[0], ids[1]) == 0 && strcmp(matches[1], ids[0]) == 0));
        for (size_t i = 0; matches[i]; i++)
                free(matches[i]);
        free(matches);
        assert_int_equal(resolve_id(f->store, prefix, &info, NULL), -ENOTUNIQ);

        /* Unique: the key, the full ID, and a prefix longer than the key. */
        for (size_t len = IMAGE_KEY_LEN; len <= IMAGE_ID_LEN; len += 32) {
                snprintf(prefix, sizeof(prefix), "%.*s", (int) len, ids[0]);
                assert_int_equal(resolve_id(f->store, prefix, &info, NULL), 0);
                assert_string_equal(info.id, ids[0]);
                image_info_clear(&info);
        }
        assert_int_equal(resolve_id(f->store, ids[1], &info, NULL), 0);
        assert_string_equal(info.id, ids[1]);
        image_info_clear(&info);

        /* Past the key, a wrong digit matches nothing. */
        snprintf(prefix, sizeof(prefix), "%.80s", ids[0]);
        prefix[79] = prefix[79] == '0' ? '1' : '0';
        assert_int_equal(resolve_id(f->store, prefix, &info, NULL), -ENOENT);
        snprintf(prefix, sizeof(prefix), "sha512-%02x", (unsigned) (strtoul((char[]) { ids[0][7],
                 ids[0][8], 0 }, NULL, 16) + 1) & 0xff);
        if (count_images(f->store) == 2)
                assert_int_equal(resolve_id(f->store, prefix, &info, NULL), -ENOENT);

        /* Malformed: too short, upper case, other characters, another hash, too long. */
        assert_int_equal(resolve_id(f->store, "sha512-", &info, NULL), -EINVAL);
        snprintf(prefix, sizeof(prefix), "%.8s", ids[0]);
        assert_int_equal(resolve_id(f->store, prefix, &info, NULL), -EINVAL);
        assert_int_equal(resolve_id(f->store, "sha512-AB", &info, NULL), -EINVAL);
        assert_int_equal(resolve_id(f->store, "sha512-0g", &info, NULL), -EINVAL);
        assert_int_equal(resolve_id(f->store, "sha512-0%", &info, NULL), -EINVAL);
        assert_int_equal(resolve_id(f->store, "sha256-00", &info, NULL), -EINVAL);
        snprintf(prefix, sizeof(prefix), "%s0", ids[0]);
        assert_int_equal(resolve_id(f->store, prefix, &info, NULL), -EINVAL);

        /* Both or neither of id and name. */
        assert_int_equal(image_store_resolve(f->store, &(ImageRef) {}, &info, NULL), -EINVAL);
        assert_int_equal(image_store_resolve(f->store,
                                             &(ImageRef) { .id = ids[0], .name = "example.com/c" },
                                             &info, NULL),
                         -EINVAL);
}

static void import_named(Fixture *f, const char *name, const char *version, const char *arch,
                         ImageInfo *ret) {
        _cleanup_free_ char *manifest = manifest_for(name, version, arch);
        const char *path = fixture_file(f, ".tar");
        const Entry entries[] = {
                F("manifest", manifest),
                D("rootfs"),
                {},
        };
        ErrorDetail e = {};
        int r;

        write_tar(path, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_NONE, entries);
        usleep(2000);   /* distinct import times */
        r = import_path(f->store, path, NULL, ret, &e);
        if (r != 0)
                fail_msg("%s %s: %d at \"%s\": %s", name, version, r, e.field, e.reason);
}

static int resolve_name(ImageStore *s, const char *name, const AppcLabel *labels, size_t n,
                        char ret_version[32]) {
        ImageRef ref = { .name = name, .labels = labels, .n_labels = n };
        ImageInfo info = {};
        int r;

        r = image_store_resolve(s, &ref, &info, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < info.n_labels; i++)
                if (strcmp(info.labels[i].name, "version") == 0)
                        snprintf(ret_version, 32, "%s", info.labels[i].value);
        image_info_clear(&info);
        return 0;
}

static void test_resolve_name(void **state) {
        Fixture *f = *state;
        char version[32] = "";

        /* 2.0 first, then 1.0: the newest import, not the highest version, wins. */
        import_named(f, "example.com/app", "2.0", "amd64", NULL);
        import_named(f, "example.com/app", "1.0", "amd64", NULL);
        import_named(f, "example.com/app", "3.0", "aarch64", NULL);
        import_named(f, "example.com/other", "9.0", "amd64", NULL);

        assert_int_equal(resolve_name(f->store, "example.com/app", NULL, 0, version), 0);
        assert_string_equal(version, "3.0");
        assert_int_equal(resolve_name(f->store, "example.com/app",
                                      (AppcLabel[]) { { "arch", "amd64" } }, 1, version),
                         0);
        assert_string_equal(version, "1.0");
        assert_int_equal(resolve_name(f->store, "example.com/app",
                                      (AppcLabel[]) { { "version", "2.0" } }, 1, version),
                         0);
        assert_string_equal(version, "2.0");
        assert_int_equal(resolve_name(f->store, "example.com/app",
                                      (AppcLabel[]) { { "version", "2.0" }, { "os", "linux" },
                                                      { "arch", "amd64" } },
                                      3, version),
                         0);
        assert_string_equal(version, "2.0");

        /* All labels must match. */
        assert_int_equal(resolve_name(f->store, "example.com/app",
                                      (AppcLabel[]) { { "version", "2.0" }, { "arch", "aarch64" } },
                                      2, version),
                         -ENOENT);
        assert_int_equal(resolve_name(f->store, "example.com/app",
                                      (AppcLabel[]) { { "version", "4.0" } }, 1, version),
                         -ENOENT);
        assert_int_equal(resolve_name(f->store, "example.com/app",
                                      (AppcLabel[]) { { "color", "red" } }, 1, version),
                         -ENOENT);
        assert_int_equal(resolve_name(f->store, "example.com/app",
                                      (AppcLabel[]) { { "arch", "amd64" }, { "arch", "aarch64" } },
                                      2, version),
                         -ENOENT);
        assert_int_equal(resolve_name(f->store, "example.com/ap", NULL, 0, version), -ENOENT);
        assert_int_equal(resolve_name(f->store, "example.com/none", NULL, 0, version), -ENOENT);
        assert_int_equal(resolve_name(f->store, "Not A Name", NULL, 0, version), -EINVAL);
}

static void assert_list(ImageStore *s, const char *prefix, const AppcLabel *labels, size_t n,
                        const char *const *expected) {
        ImageInfo *a = NULL;
        size_t n_a = 0, i;

        assert_int_equal(image_store_list(s, prefix, labels, n, &a, &n_a), 0);
        for (i = 0; expected[i]; i++) {
                if (i >= n_a)
                        fail_msg("list %s: %zu images, expected more", prefix ?: "", n_a);
                assert_string_equal(a[i].name, expected[i]);
        }
        assert_int_equal(n_a, i);
        image_info_array_free(a, n_a);
}

static void test_list(void **state) {
        Fixture *f = *state;

        import_named(f, "example.com/b", "1", "amd64", NULL);
        import_named(f, "example.com/a", "1", "amd64", NULL);
        import_named(f, "example.com/a", "2", "aarch64", NULL);
        import_named(f, "other.org/c", "1", "amd64", NULL);

        assert_list(f->store, NULL, NULL, 0,
                    (const char *const[]) { "example.com/a", "example.com/a", "example.com/b",
                                            "other.org/c", NULL });
        assert_list(f->store, "example.com/", NULL, 0,
                    (const char *const[]) { "example.com/a", "example.com/a", "example.com/b",
                                            NULL });
        assert_list(f->store, "example.com/a", NULL, 0,
                    (const char *const[]) { "example.com/a", "example.com/a", NULL });
        assert_list(f->store, "", (AppcLabel[]) { { "arch", "aarch64" } }, 1,
                    (const char *const[]) { "example.com/a", NULL });
        assert_list(f->store, NULL, (AppcLabel[]) { { "version", "1" }, { "arch", "amd64" } }, 2,
                    (const char *const[]) { "example.com/a", "example.com/b", "other.org/c",
                                            NULL });
        assert_list(f->store, "nothing", NULL, 0, (const char *const[]) { NULL });
        assert_list(f->store, NULL, (AppcLabel[]) { { "version", "3" } }, 1,
                    (const char *const[]) { NULL });
}

static void test_remove_touch_manifest_blob(void **state) {
        Fixture *f = *state;
        const char *path = good_image(f, "example.com/r", "1", ARCHIVE_FILTER_GZIP);
        const char *plain = good_image(f, "example.com/r", "1", ARCHIVE_FILTER_NONE);
        char id[IMAGE_ID_LEN + 1];
        ImageManifest *m = NULL;
        ImageInfo info = {}, again = {};
        uint64_t imported;
        int fd;

        assert_int_equal(import_path(f->store, path, NULL, &info, NULL), 0);
        imported = info.imported_usec;

        assert_int_equal(image_store_touch(f->store, info.key, imported + 5), 0);
        /* Never a step back. */
        assert_int_equal(image_store_touch(f->store, info.key, imported + 1), 0);
        assert_int_equal(image_store_get(f->store, info.key, &again), 0);
        assert_int_equal(again.last_used_usec, imported + 5);
        assert_int_equal(again.imported_usec, imported);
        image_info_clear(&again);

        assert_int_equal(image_store_manifest(f->store, info.key, &m), 0);
        assert_string_equal(m->name, "example.com/r");
        image_manifest_free(m);

        /* The blob is the uncompressed tar. */
        assert_int_equal(image_store_open_blob(f->store, info.key, &fd), 0);
        {
                char blob[256];

                snprintf(blob, sizeof(blob), "/proc/self/fd/%d", fd);
                sha512_file(blob, id);
                close(fd);
        }
        assert_string_equal(id, info.id);
        sha512_file(plain, id);
        assert_string_equal(id, info.id);

        assert_int_equal(image_store_remove(f->store, info.key), 0);
        assert_store_empty(f);
        assert_int_equal(image_store_get(f->store, info.key, &again), -ENOENT);
        assert_int_equal(image_store_open_blob(f->store, info.key, &fd), -ENOENT);
        assert_int_equal(image_store_remove(f->store, info.key), -ENOENT);
        assert_int_equal(image_store_touch(f->store, info.key, 1), -ENOENT);
        assert_int_equal(image_store_manifest(f->store, info.key, &m), -ENOENT);
        assert_int_equal(image_store_remove(f->store, "sha512-00"), -EINVAL);
        assert_int_equal(image_store_get(f->store, "../../etc/passwd", &again), -EINVAL);

        /* Importable again after removal. */
        assert_int_equal(import_path(f->store, path, NULL, NULL, NULL), 0);
        image_info_clear(&info);
}

static void test_reopen_after_crash(void **state) {
        Fixture *f = *state;
        const char *path = good_image(f, "example.com/crash", "1", ARCHIVE_FILTER_XZ);
        char dead[256], live[256], blob[256], saved[256];
        ImageInfo info = {};
        int live_fd;

        /* A crashed import's temp file and a live import's (locked) one. */
        snprintf(dead, sizeof(dead), "%s/tmp/import-dead", f->images);
        snprintf(live, sizeof(live), "%s/tmp/import-live", f->images);
        write_file(dead, "partial", 7);
        live_fd = open(live, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        assert_true(live_fd >= 0);
        assert_int_equal(flock(live_fd, LOCK_EX), 0);

        /* A blob whose row never committed: imported, then its row removed behind its back. */
        assert_int_equal(import_path(f->store, path, NULL, &info, NULL), 0);
        snprintf(blob, sizeof(blob), "%s/blobs/sha512/%c%c/%s", f->images, info.key[7],
                 info.key[8], info.key);
        snprintf(saved, sizeof(saved), "%s/saved-blob", f->dir);
        assert_int_equal(link(blob, saved), 0);
        assert_int_equal(image_store_remove(f->store, info.key), 0);
        assert_int_equal(rename(saved, blob), 0);

        image_store_free(f->store);
        assert_int_equal(image_store_open(&f->store, f->dir), 0);
        assert_int_equal(access(dead, F_OK), -1);
        assert_int_equal(access(live, F_OK), 0);
        close(live_fd);
        unlink(live);

        /* The orphan blob is invisible, and the next import adopts it. */
        assert_int_equal(count_images(f->store), 0);
        assert_int_equal(image_store_open_blob(f->store, info.key, &live_fd), -ENOENT);
        assert_int_equal(import_path(f->store, path, NULL, NULL, NULL), 0);
        assert_int_equal(count_blobs(f), 1);
        assert_int_equal(count_tmp(f), 0);
        assert_int_equal(count_images(f->store), 1);
        image_info_clear(&info);
}

/* Imports record a check digest (the same for every compression of one tar); an index
 * written before check digests existed (schema 1) is brought up to date on open, its images
 * without one until a render records it. */
static void test_check_digest(void **state) {
        Fixture *f = *state;
        const char *plain = good_image(f, "example.com/check", "1", ARCHIVE_FILTER_NONE);
        const char *gz = good_image(f, "example.com/check", "1", ARCHIVE_FILTER_GZIP);
        char index[256], id[IMAGE_ID_LEN + 1], digest[STREAM_DIGEST_LEN + 1];
        ImageInfo info = {}, again = {};
        sqlite3 *db = NULL;

        assert_int_equal(import_path(f->store, plain, NULL, &info, NULL), 0);
        assert_true(stream_digest_is_valid(info.check_digest));
        assert_int_equal(import_path(f->store, gz, NULL, &again, NULL), 1);
        assert_string_equal(again.check_digest, info.check_digest);
        image_info_clear(&again);
        assert_int_equal(image_store_blob_id(f->store, info.key, id), 0);
        assert_string_equal(id, info.id);
        memcpy(digest, info.check_digest, sizeof(digest));

        /* Back to schema 1, as an older stage0d left it. */
        image_store_free(f->store);
        f->store = NULL;
        snprintf(index, sizeof(index), "%s/index.sqlite", f->images);
        assert_int_equal(sqlite3_open(index, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "ALTER TABLE images DROP COLUMN check_digest;"
                                          "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(image_store_open(&f->store, f->dir), 0);
        assert_int_equal(image_store_get(f->store, info.key, &again), 0);
        assert_string_equal(again.check_digest, "");
        image_info_clear(&again);
        assert_int_equal(image_store_set_check_digest(f->store, info.key, "sha256-nothex"), -EINVAL);
        assert_int_equal(image_store_set_check_digest(f->store, info.key, digest), 0);
        assert_int_equal(image_store_get(f->store, info.key, &again), 0);
        assert_string_equal(again.check_digest, digest);
        image_info_clear(&again);
        image_info_clear(&info);
}

#define N_CONCURRENT 4

static void test_concurrent_import(void **state) {
        Fixture *f = *state;
        const char *path = good_image(f, "example.com/conc", "1", ARCHIVE_FILTER_GZIP);
        char fresh[96];
        pid_t pids[N_CONCURRENT];
        int stored_now = 0;

        /* A fresh data dir, so the processes also race to create the store. The fixture's
         * store is closed first: the children must not inherit an SQLite connection. */
        snprintf(fresh, sizeof(fresh), "%s/fresh", f->dir);
        f->store = image_store_free(f->store);
        for (int i = 0; i < N_CONCURRENT; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        ImageStore *s = NULL;
                        int fd, r;

                        r = image_store_open(&s, fresh);
                        if (r < 0) {
                                fprintf(stderr, "open: %s\n", strerror(-r));
                                _exit(10);
                        }
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        r = image_store_import(s, fd, NULL, NULL, NULL, NULL, NULL);
                        image_store_free(s);
                        _exit(r == 0 ? 0 : r == 1 ? 1 : 20);
                }
        }
        for (int i = 0; i < N_CONCURRENT; i++) {
                int status = 0;

                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                if (WEXITSTATUS(status) > 1)
                        fail_msg("process %d failed: %d", i, WEXITSTATUS(status));
                stored_now += WEXITSTATUS(status) == 0;
        }
        assert_int_equal(stored_now, 1);

        image_store_free(f->store);
        assert_int_equal(image_store_open(&f->store, fresh), 0);
        snprintf(f->images, sizeof(f->images), "%s/images", fresh);
        assert_int_equal(count_blobs(f), 1);
        assert_int_equal(count_tmp(f), 0);
        assert_int_equal(count_images(f->store), 1);
}

typedef struct Progress {
        uint64_t calls, last_read, total;
} Progress;

static void on_progress(uint64_t bytes_read, uint64_t bytes_total, void *userdata) {
        Progress *p = userdata;

        assert_true(bytes_read >= p->last_read);
        p->calls++;
        p->last_read = bytes_read;
        p->total = bytes_total;
}

static void test_progress_and_pipe(void **state) {
        Fixture *f = *state;
        const char *path = good_image(f, "example.com/p", "1", ARCHIVE_FILTER_BZIP2);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        Progress p = {};
        struct stat st;
        int fd2, r;
        pid_t pid;

        assert_true(fd >= 0 && fstat(fd, &st) == 0);
        assert_int_equal(image_store_import(f->store, fd, NULL, on_progress, &p, NULL, NULL), 0);
        assert_true(p.calls >= 1);
        assert_int_equal(p.last_read, st.st_size);
        assert_int_equal(p.total, st.st_size);

        /* From a pipe: the total is unknown (0). */
        fd2 = feed_pipe(path, &pid);
        p = (Progress) {};
        r = image_store_import(f->store, fd2, NULL, on_progress, &p, NULL, NULL);
        close(fd2);
        assert_int_equal(wait_writer(pid), 0);
        assert_int_equal(r, 1);
        assert_int_equal(p.last_read, st.st_size);
        assert_int_equal(p.total, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_import_compressions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_import_formats, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_digest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_tars, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_streams, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corpus, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
                cmocka_unit_test_setup_teardown(test_device_nodes_allowed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resolve_prefix, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resolve_name, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove_touch_manifest_blob, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reopen_after_crash, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_import, setup, teardown),
                cmocka_unit_test_setup_teardown(test_progress_and_pipe, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
