/* The tree store: flattening order, whitelist and first-writer-wins selection, rendering real
 * images (built here with libarchive, busybox from Debian's busybox-static) into expected
 * trees, the tree hash, verification, corrupt blobs, concurrent renders and id shifting.
 * Everything runs in a fresh mkdtemp data dir; needs root (owners, setuid) or skips. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "cleanup.h"
#include "tree-render.h"
#include "tree-store.h"

#define KEY(c) "sha512-" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
        c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

#define EXPECTED_TREE_ID_HEX "a5a6d492c50b5ad5979fcba098fa9343efc9cd384fce17ee3c2593c82f3351f8"
#define MTIME 1600000000
#define LABELS "[{\"name\":\"os\",\"value\":\"linux\"},{\"name\":\"arch\",\"value\":\"amd64\"}," \
        "{\"name\":\"version\",\"value\":\"1.0\"}]"

/* ---- flattening with a fake resolver ---- */

typedef struct FakeImage {
        const char *key;
        ImageManifest manifest;
} FakeImage;

typedef struct Fake {
        FakeImage *images;
        size_t n;
} Fake;

static int fake_manifest(void *userdata, const char *key, const ImageManifest **ret) {
        Fake *f = userdata;

        for (size_t i = 0; i < f->n; i++)
                if (strcmp(f->images[i].key, key) == 0) {
                        *ret = &f->images[i].manifest;
                        return 0;
                }
        return -ENOENT;
}

/* Dependencies here name images by the key itself, as image_id. */
static int fake_resolve(void *userdata, const AppcDependency *dep, char ret[IMAGE_KEY_LEN + 1]) {
        Fake *f = userdata;

        for (size_t i = 0; i < f->n; i++)
                if (strcmp(f->images[i].key, dep->image_id) == 0) {
                        strcpy(ret, dep->image_id);
                        return 0;
                }
        return -ENOENT;
}

static AppcDependency *deps(size_t n, ...) {
        AppcDependency *d = calloc(n, sizeof(*d));
        va_list ap;

        va_start(ap, n);
        for (size_t i = 0; i < n; i++) {
                d[i].image_id = va_arg(ap, char *);
                d[i].image_name = (char *) "example.com/dep";
        }
        va_end(ap);
        return d;
}

static void fake_set(FakeImage *img, const char *key, size_t n_deps, AppcDependency *d) {
        *img = (FakeImage) { .key = key };
        img->manifest.name = (char *) key;
        img->manifest.dependencies = d;
        img->manifest.n_dependencies = n_deps;
}

static void fake_free(Fake *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->images[i].manifest.dependencies);
        free(f->images);
}

static int flatten_fake(Fake *f, const char *key, TreeImage **ret, size_t *ret_n, ErrorDetail *e) {
        TreeResolver r = { .manifest = fake_manifest, .resolve = fake_resolve, .userdata = f };

        return tree_flatten_images(&r, key, ret, ret_n, e);
}

static void test_flatten_order(void **state) {
        /* A->[B,C], C->[D], B->[E]: appc's order is A, C, D, B, E. */
        Fake f = { .images = calloc(5, sizeof(FakeImage)), .n = 5 };
        const char *expected[] = { KEY("a"), KEY("c"), KEY("d"), KEY("b"), KEY("e") };
        const unsigned levels[] = { 0, 1, 2, 1, 2 };
        const size_t parents[] = { 0, 0, 1, 0, 3 };
        TreeImage *images = NULL;
        size_t n = 0;

        fake_set(&f.images[0], KEY("a"), 2, deps(2, KEY("b"), KEY("c")));
        fake_set(&f.images[1], KEY("b"), 1, deps(1, KEY("e")));
        fake_set(&f.images[2], KEY("c"), 1, deps(1, KEY("d")));
        fake_set(&f.images[3], KEY("d"), 0, NULL);
        fake_set(&f.images[4], KEY("e"), 0, NULL);
        assert_int_equal(flatten_fake(&f, KEY("a"), &images, &n, NULL), 0);
        assert_int_equal(n, 5);
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(images[i].key, expected[i]);
                assert_int_equal(images[i].level, levels[i]);
                assert_int_equal(images[i].parent, parents[i]);
        }
        free(images);
        fake_free(&f);
}

static void test_flatten_diamond_missing_cycle(void **state) {
        Fake f = { .images = calloc(4, sizeof(FakeImage)), .n = 4 };
        TreeImage *images = NULL;
        ErrorDetail e = {};
        size_t n = 0;

        /* A diamond is fine: D is rendered twice, as in appc. */
        fake_set(&f.images[0], KEY("a"), 2, deps(2, KEY("b"), KEY("c")));
        fake_set(&f.images[1], KEY("b"), 1, deps(1, KEY("d")));
        fake_set(&f.images[2], KEY("c"), 1, deps(1, KEY("d")));
        fake_set(&f.images[3], KEY("d"), 0, NULL);
        assert_int_equal(flatten_fake(&f, KEY("a"), &images, &n, NULL), 0);
        assert_int_equal(n, 5);
        free(images);

        /* A missing dependency is named. */
        free(f.images[3].manifest.dependencies);
        fake_set(&f.images[3], KEY("d"), 2, deps(2, KEY("a") /* cycle */, KEY("f")));
        f.images[3].manifest.n_dependencies = 2;
        f.images[3].manifest.dependencies[0].image_id = (char *) KEY("9");
        assert_int_equal(flatten_fake(&f, KEY("a"), &images, &n, &e), -ENOENT);
        assert_string_equal(e.field, "dependencies[0]");
        assert_non_null(strstr(e.reason, KEY("9")));

        /* D -> A is a cycle. */
        f.images[3].manifest.dependencies[0].image_id = (char *) KEY("a");
        assert_int_equal(flatten_fake(&f, KEY("a"), &images, &n, &e), -ELOOP);
        assert_non_null(strstr(e.reason, "cycle"));
        fake_free(&f);
}

static void test_flatten_limit(void **state) {
        /* 8 images each depending on all 7 after it: far more than TREE_IMAGES_MAX paths. */
        static char keys[8][IMAGE_KEY_LEN + 1];
        Fake f = { .images = calloc(8, sizeof(FakeImage)), .n = 8 };
        TreeImage *images = NULL;
        ErrorDetail e = {};
        size_t n = 0;

        for (size_t i = 0; i < 8; i++) {
                AppcDependency *d = calloc(8, sizeof(*d));

                memset(keys[i], '0' + (int) i, IMAGE_KEY_LEN);
                memcpy(keys[i], "sha512-", 7);
                for (size_t j = i + 1; j < 8; j++)
                        d[j - i - 1].image_id = keys[j];
                fake_set(&f.images[i], keys[i], 7 - i, d);
        }
        assert_int_equal(flatten_fake(&f, keys[0], &images, &n, &e), -E2BIG);
        assert_non_null(strstr(e.reason, "more than 64"));
        fake_free(&f);
}

/* ---- paths, whitelists, selection ---- */

static void test_clean_path(void **state) {
        static const struct {
                const char *in, *out;
        } good[] = {
                { "rootfs", "rootfs" }, { "./rootfs/", "rootfs" }, { "rootfs//a/./b/", "rootfs/a/b" },
                { ".", "." }, { "./", "." }, { "manifest", "manifest" },
        };
        static const char *const bad[] = { "/rootfs/a", "rootfs/../x", "..", "rootfs/a/..", NULL };
        char buf[256];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                assert_int_equal(tree_clean_path(good[i].in, buf, sizeof(buf)), 0);
                assert_string_equal(buf, good[i].out);
        }
        for (size_t i = 0; bad[i]; i++)
                assert_true(tree_clean_path(bad[i], buf, sizeof(buf)) < 0);
        assert_int_equal(tree_clean_whitelist_path("/etc/foo/", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "rootfs/etc/foo");
        assert_int_equal(tree_clean_whitelist_path("/", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "rootfs");
        assert_int_equal(tree_clean_whitelist_path("/a/../b", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "rootfs/b");
}

static void test_upper_whitelist(void **state) {
        static const struct {
                unsigned levels[6];
                bool whitelisted[6];
                size_t n;
                ssize_t expected[6];
        } cases[] = {
                /* No whitelists: none. */
                { { 0, 1, 2, 1 }, { 0, 0, 0, 0 }, 4, { -1, -1, -1, -1 } },
                /* The top one filters every dependency, never itself. */
                { { 0, 1, 2, 1 }, { 1, 0, 0, 0 }, 4, { -1, 0, 0, 0 } },
                /* A, C(wl), D, B, E: C's whitelist filters its subtree (D), and, acirenderer's
                 * quirk, also B and E: scanning back from them, C is lower than D. */
                { { 0, 1, 2, 1, 2 }, { 0, 1, 0, 0, 0 }, 5, { -1, -1, 1, 1, 1 } },
                /* The nearest the top wins. */
                { { 0, 1, 2, 3 }, { 1, 1, 1, 0 }, 4, { -1, 0, 0, 0 } },
                { { 0, 1, 2, 3 }, { 0, 1, 1, 0 }, 4, { -1, -1, 1, 1 } },
                /* Without D between them, B is not filtered by C. */
                { { 0, 1, 1 }, { 0, 1, 0 }, 3, { -1, -1, -1 } },
        };

        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                TreeImage images[6] = {};

                for (size_t i = 0; i < cases[c].n; i++)
                        images[i].level = cases[c].levels[i];
                for (size_t i = 0; i < cases[c].n; i++)
                        if (tree_upper_whitelist(images, cases[c].whitelisted, i) != cases[c].expected[i])
                                fail_msg("case %zu image %zu: got %zd want %zd", c, i,
                                         tree_upper_whitelist(images, cases[c].whitelisted, i),
                                         cases[c].expected[i]);
        }
}

static void test_select(void **state) {
        char *own_paths[] = { (char *) "/bin/sh", (char *) "/etc/" };
        char *upper_paths[] = { (char *) "/bin", (char *) "/bin/sh", (char *) "/lib/x" };
        TreeWhitelist none = {}, own, upper;
        TreeClaims *c = NULL;
        static const struct {
                const char *path;
                bool is_dir;
                int image;          /* 0: no whitelist, 1: own whitelist, 2: upper too */
                int expected;
        } table[] = {
                { "rootfs", true, 0, 1 },
                { "rootfs/lib", false, 0, 1 },          /* a symlink in the top image */
                { "rootfs/lib/libc.so", false, 0, 0 },  /* masked by it */
                { "rootfs/lib", true, 0, 0 },           /* first writer wins */
                { "rootfs/usr/bin/env", false, 0, 1 },  /* claims usr, usr/bin implicitly */
                { "rootfs/usr", false, 0, 0 },          /* a file where a dir is implied */
                { "rootfs/usr", true, 0, 1 },           /* a dir entry brings its metadata */
                { "rootfs/usr", true, 0, 0 },           /* but only once */
                { "rootfs/bin/sh", false, 1, 1 },       /* in its own whitelist */
                { "rootfs/bin/ls", false, 1, 0 },       /* not in it */
                { "rootfs/etc", true, 1, 1 },           /* dirs pass their own whitelist */
                { "rootfs/etc/foo", false, 1, 0 },      /* "/etc/" does not list children */
                { "rootfs/bin", true, 2, 1 },           /* upper lists it */
                { "rootfs/sbin", true, 2, 0 },          /* upper filters dirs too */
                { "rootfs/bin/sh", false, 2, 0 },       /* taken already */
                { "rootfs/bin/cat", false, 2, 0 },      /* not in upper */
        };

        assert_int_equal(tree_whitelist_init(&own, own_paths, 2), 0);
        assert_int_equal(tree_whitelist_init(&upper, upper_paths, 3), 0);
        assert_true(tree_whitelist_has(&own, "rootfs/etc"));
        assert_false(tree_whitelist_has(&none, "rootfs/etc"));
        assert_int_equal(tree_claims_new(&c), 0);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                const TreeWhitelist *o = table[i].image >= 1 ? &own : &none;
                const TreeWhitelist *u = table[i].image == 2 ? &upper : NULL;
                int r = tree_claims_select(c, o, u, table[i].path, table[i].is_dir);

                if (r != table[i].expected)
                        fail_msg("row %zu (%s): got %d want %d", i, table[i].path, r,
                                 table[i].expected);
        }
        assert_int_equal(tree_claims_get(c, "rootfs/usr/bin"), TREE_CLAIM_IMPLICIT_DIR);
        assert_int_equal(tree_claims_get(c, "rootfs/usr"), TREE_CLAIM_DIR);
        assert_int_equal(tree_claims_get(c, "rootfs/lib"), TREE_CLAIM_OTHER);
        assert_int_equal(tree_claims_get(c, "rootfs/lib/libc.so"), TREE_CLAIM_NONE);
        /* Many paths: the table grows. */
        for (int i = 0; i < 5000; i++) {
                char p[64];

                snprintf(p, sizeof(p), "rootfs/many/%d", i);
                assert_int_equal(tree_claims_select(c, &none, NULL, p, false), 1);
        }
        assert_int_equal(tree_claims_get(c, "rootfs/many/4999"), TREE_CLAIM_OTHER);
        tree_claims_free(c);
        tree_whitelist_done(&own);
        tree_whitelist_done(&upper);
}

static void test_tree_id(void **state) {
        /* printf 'sha512-aa,sha512-bb' | sha512sum | cut -c1-64 */
        char *keys[] = { (char *) "sha512-aa", (char *) "sha512-bb", NULL };
        char id[TREE_ID_LEN + 1];

        assert_int_equal(tree_id_from_keys(keys, id), 0);
        assert_int_equal(strlen(id), TREE_ID_LEN);
        assert_memory_equal(id, "deps-sha512-", 12);
        assert_string_equal(id + 12, EXPECTED_TREE_ID_HEX);
}

/* ---- real images in a real store ---- */

typedef struct Entry {
        const char *path;            /* under rootfs/ */
        mode_t type;                 /* AE_IFREG, AE_IFDIR, AE_IFLNK; 0: hardlink to data */
        mode_t perm;
        unsigned uid, gid;
        const char *data;            /* content, symlink or hardlink target; "@busybox" */
        const char *xattr;           /* value of user.test */
} Entry;

typedef struct Ctx {
        char dir[64];
        ImageStore *store;
        char base[IMAGE_KEY_LEN + 1], app[IMAGE_KEY_LEN + 1], wl[IMAGE_KEY_LEN + 1];
        char base_id[IMAGE_ID_LEN + 1];
        char *busybox;
        size_t busybox_size;
        int n_images;
} Ctx;

static const Entry base_entries[] = {
        { "bin", AE_IFDIR, 0755, 0, 0, NULL, NULL },
        { "bin/busybox", AE_IFREG, 0755, 0, 0, "@busybox", NULL },
        { "bin/sh", AE_IFLNK, 0777, 0, 0, "busybox", NULL },
        { "bin/ls", 0, 0755, 0, 0, "rootfs/bin/busybox", NULL },
        { "etc", AE_IFDIR, 0755, 0, 0, NULL, NULL },
        { "etc/passwd", AE_IFREG, 0644, 0, 0, "root:x:0:0:root:/root:/bin/sh\n", NULL },
        { "etc/hostname", AE_IFREG, 0644, 0, 0, "base\n", "base" },
        { "usr/bin/su", AE_IFREG, 04755, 0, 0, "su", NULL },   /* no usr, usr/bin entries */
        { "home/user", AE_IFDIR, 0700, 1000, 1000, NULL, NULL },
        { "lib/libfoo.so", AE_IFREG, 0644, 0, 0, "foo", NULL },
};

static const Entry app_entries[] = {
        { "etc/passwd", AE_IFREG, 0600, 0, 0, "app passwd\n", NULL },
        { "app/run", AE_IFREG, 0755, 1000, 1000, "#!/bin/sh\necho hi\n", NULL },
        { "lib", AE_IFLNK, 0777, 0, 0, "usr/lib", NULL },
};

static const Entry wl_entries[] = {
        { "wl", AE_IFDIR, 0755, 0, 0, NULL, NULL },
        { "wl/kept", AE_IFREG, 0644, 0, 0, "k", NULL },
        { "wl/dropped", AE_IFREG, 0644, 0, 0, "d", NULL },
};

static char *manifest_json(const char *name, const char *extra) {
        char *m = NULL;

        assert_true(asprintf(&m, "{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\","
                             "\"name\":\"%s\",\"labels\":" LABELS "%s}", name, extra) > 0);
        return m;
}

static void add_entry(struct archive *a, Ctx *ctx, const Entry *en) {
        struct archive_entry *e = archive_entry_new();
        const char *data = en->data;
        size_t size = data ? strlen(data) : 0;
        char path[256];

        snprintf(path, sizeof(path), "rootfs/%s", en->path);
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, en->type ? en->type : AE_IFREG);
        archive_entry_set_perm(e, en->perm);
        archive_entry_set_uid(e, en->uid);
        archive_entry_set_gid(e, en->gid);
        archive_entry_set_mtime(e, MTIME, 0);
        if (en->xattr)
                archive_entry_xattr_add_entry(e, "user.test", en->xattr, strlen(en->xattr));
        if (en->type == AE_IFLNK)
                archive_entry_set_symlink(e, data);
        else if (en->type == 0)
                archive_entry_set_hardlink(e, data);
        if (data && strcmp(data, "@busybox") == 0) {
                data = ctx->busybox;
                size = ctx->busybox_size;
        }
        if (en->type == AE_IFREG)
                archive_entry_set_size(e, (la_int64_t) size);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (en->type == AE_IFREG && size > 0)
                assert_int_equal(archive_write_data(a, data, size), (la_ssize_t) size);
        archive_entry_free(e);
}

static void write_aci(Ctx *ctx, const char *file, const char *manifest, const Entry *entries,
                      size_t n) {
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();

        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_filename(a, file), ARCHIVE_OK);
        archive_entry_set_pathname(e, "manifest");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t) strlen(manifest));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, manifest, strlen(manifest)), (la_ssize_t) strlen(manifest));
        archive_entry_clear(e);
        archive_entry_set_pathname(e, "rootfs");
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_mtime(e, MTIME, 0);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        archive_entry_free(e);
        for (size_t i = 0; i < n; i++)
                add_entry(a, ctx, &entries[i]);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static void import_aci(Ctx *ctx, const char *name, const char *extra, const Entry *entries,
                       size_t n, char key[IMAGE_KEY_LEN + 1], char *id) {
        _cleanup_free_ char *manifest = manifest_json(name, extra);
        char file[128];
        ErrorDetail error = {};
        ImageInfo info = {};
        int fd, r;

        snprintf(file, sizeof(file), "%s/image-%d.aci", ctx->dir, ctx->n_images++);
        write_aci(ctx, file, manifest, entries, n);
        fd = open(file, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        r = image_store_import(ctx->store, fd, NULL, NULL, NULL, &info, &error);
        if (r < 0)
                fail_msg("import %s: %s: %s: %s", name, strerror(-r), error.field, error.reason);
        close(fd);
        strcpy(key, info.key);
        if (id)
                strcpy(id, info.id);
        image_info_clear(&info);
}

static char *read_file(const char *path, size_t *ret_size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char *buf;

        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        buf = malloc((size_t) st.st_size + 1);
        assert_non_null(buf);
        assert_int_equal(read(fd, buf, (size_t) st.st_size), st.st_size);
        buf[st.st_size] = 0;
        close(fd);
        if (ret_size)
                *ret_size = (size_t) st.st_size;
        return buf;
}

static int setup(void **state) {
        Ctx *ctx = calloc(1, sizeof(*ctx));
        char extra[512];

        if (geteuid() != 0) {
                free(ctx);
                return 0;
        }
        strcpy(ctx->dir, "/tmp/test-tree-store.XXXXXX");
        assert_non_null(mkdtemp(ctx->dir));
        assert_int_equal(image_store_open(&ctx->store, ctx->dir), 0);
        ctx->busybox = read_file("/bin/busybox", &ctx->busybox_size);
        import_aci(ctx, "example.com/base", "", base_entries, ELEMENTSOF(base_entries), ctx->base,
                   ctx->base_id);
        import_aci(ctx, "example.com/app",
                   ",\"dependencies\":[{\"imageName\":\"example.com/base\",\"labels\":"
                   "[{\"name\":\"version\",\"value\":\"1.0\"}]}]",
                   app_entries, ELEMENTSOF(app_entries), ctx->app, NULL);
        snprintf(extra, sizeof(extra),
                 ",\"dependencies\":[{\"imageName\":\"example.com/base\",\"imageID\":\"%s\"}],"
                 "\"pathWhitelist\":[\"/bin/busybox\",\"/etc/passwd\",\"/wl/kept\"]",
                 ctx->base_id);
        import_aci(ctx, "example.com/wl", extra, wl_entries, ELEMENTSOF(wl_entries), ctx->wl, NULL);
        *state = ctx;
        return 0;
}

static int teardown(void **state) {
        Ctx *ctx = *state;

        if (!ctx)
                return 0;
        image_store_free(ctx->store);
        assert_int_equal(tree_remove_dir(AT_FDCWD, ctx->dir), 0);
        free(ctx->busybox);
        free(ctx);
        return 0;
}

static Ctx *need_root(void **state) {
        if (!*state)
                skip();
        return *state;
}

static void assert_stat(const char *dir, const char *path, mode_t mode, unsigned uid, unsigned gid) {
        char full[4400];
        struct stat st;

        snprintf(full, sizeof(full), "%s/%s", dir, path);
        if (lstat(full, &st) < 0)
                fail_msg("%s: %m", full);
        if (st.st_mode != mode || st.st_uid != uid || st.st_gid != gid)
                fail_msg("%s: mode 0%o %u:%u, want 0%o %u:%u", path, st.st_mode, st.st_uid,
                         st.st_gid, mode, uid, gid);
        if (!S_ISLNK(mode) && !strstr(path, "usr") && st.st_mtim.tv_sec != MTIME)
                fail_msg("%s: mtime %lld", path, (long long) st.st_mtim.tv_sec);
}

static void assert_stat_any_time(const char *dir, const char *path, mode_t mode, unsigned uid,
                                 unsigned gid) {
        char full[4400];
        struct stat st;

        snprintf(full, sizeof(full), "%s/%s", dir, path);
        if (lstat(full, &st) < 0)
                fail_msg("%s: %m", full);
        if (st.st_mode != mode || st.st_uid != uid || st.st_gid != gid)
                fail_msg("%s: mode 0%o %u:%u, want 0%o %u:%u", path, st.st_mode, st.st_uid,
                         st.st_gid, mode, uid, gid);
}

static void assert_content(const char *dir, const char *path, const char *content) {
        char full[4400];
        _cleanup_free_ char *got = NULL;

        snprintf(full, sizeof(full), "%s/%s", dir, path);
        got = read_file(full, NULL);
        assert_string_equal(got, content);
}

static void assert_absent(const char *dir, const char *path) {
        char full[4400];
        struct stat st;

        snprintf(full, sizeof(full), "%s/%s", dir, path);
        if (lstat(full, &st) == 0)
                fail_msg("%s should not exist", path);
}

/* Every path under dir/rootfs, sorted, joined by " ". */
static void list_tree(const char *dir, const char *rel, char *out, size_t size) {
        char full[4400];
        struct dirent **names;
        int n;

        snprintf(full, sizeof(full), "%s/%s", dir, rel);
        n = scandir(full, &names, NULL, alphasort);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
                char sub[4400];

                if (names[i]->d_name[0] == '.' && (!names[i]->d_name[1] ||
                    (names[i]->d_name[1] == '.' && !names[i]->d_name[2]))) {
                        free(names[i]);
                        continue;
                }
                snprintf(sub, sizeof(sub), "%s/%s", rel, names[i]->d_name);
                strncat(out, " ", size - strlen(out) - 1);
                strncat(out, sub + 7, size - strlen(out) - 1);
                if (names[i]->d_type == DT_DIR)
                        list_tree(dir, sub, out, size);
                free(names[i]);
        }
        free(names);
}

static void check_app_tree(Ctx *ctx, const char *dir, unsigned shift) {
        char list[2048] = "", full[512], value[16];
        struct stat a, b;
        ssize_t n;

        list_tree(dir, "rootfs", list, sizeof(list));
        assert_string_equal(list, " app app/run bin bin/busybox bin/ls bin/sh etc etc/hostname "
                            "etc/passwd home home/user lib usr usr/bin usr/bin/su");
        assert_stat(dir, "rootfs", S_IFDIR | 0755, shift, shift);
        assert_stat(dir, "rootfs/app/run", S_IFREG | 0755, 1000 + shift, 1000 + shift);
        assert_content(dir, "rootfs/app/run", "#!/bin/sh\necho hi\n");
        assert_stat(dir, "rootfs/etc/passwd", S_IFREG | 0600, shift, shift);
        assert_content(dir, "rootfs/etc/passwd", "app passwd\n");
        assert_stat(dir, "rootfs/usr/bin/su", S_IFREG | 04755, shift, shift);
        assert_stat(dir, "rootfs/home/user", S_IFDIR | 0700, 1000 + shift, 1000 + shift);
        assert_stat(dir, "rootfs/etc", S_IFDIR | 0755, shift, shift);
        /* No image has entries for these: made 0755 and owned by root whatever the umask. */
        assert_stat(dir, "rootfs/usr", S_IFDIR | 0755, shift, shift);
        assert_stat(dir, "rootfs/usr/bin", S_IFDIR | 0755, shift, shift);
        assert_stat(dir, "rootfs/lib", S_IFLNK | 0777, shift, shift);
        snprintf(full, sizeof(full), "%s/rootfs/lib", dir);
        n = readlink(full, value, sizeof(value));
        assert_int_equal(n, 7);
        assert_memory_equal(value, "usr/lib", 7);
        snprintf(full, sizeof(full), "%s/rootfs/etc/hostname", dir);
        n = lgetxattr(full, "user.test", value, sizeof(value));
        assert_int_equal(n, 4);
        assert_memory_equal(value, "base", 4);
        /* bin/ls is a hardlink of busybox, whose bytes are Debian's. */
        snprintf(full, sizeof(full), "%s/rootfs/bin/busybox", dir);
        assert_int_equal(stat(full, &a), 0);
        snprintf(full, sizeof(full), "%s/rootfs/bin/ls", dir);
        assert_int_equal(stat(full, &b), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        assert_int_equal(a.st_nlink, 2);
        assert_int_equal(a.st_size, ctx->busybox_size);
        {
                _cleanup_free_ char *bytes = read_file(full, NULL);
                assert_memory_equal(bytes, ctx->busybox, ctx->busybox_size);
        }
}

/* Sets an image's last use behind the store's back, as time passing would. */
static void set_last_used(Ctx *ctx, const char *key, uint64_t usec) {
        char index[512], sql[256];
        sqlite3 *db = NULL;

        snprintf(index, sizeof(index), "%s/index.sqlite", image_store_path(ctx->store));
        snprintf(sql, sizeof(sql), "UPDATE images SET last_used_usec = %llu WHERE key = '%s'",
                 (unsigned long long) usec, key);
        assert_int_equal(sqlite3_open(index, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_changes(db), 1);
        sqlite3_close(db);
}

static void test_render_app(void **state) {
        Ctx *ctx = need_root(state);
        _cleanup_free_ char *manifest = NULL, *expected = manifest_json("example.com/app",
                ",\"dependencies\":[{\"imageName\":\"example.com/base\",\"labels\":"
                "[{\"name\":\"version\",\"value\":\"1.0\"}]}]");
        TreeInfo info = {}, again = {};
        ImageInfo used = {};
        ErrorDetail error = {};
        char full[4200], **ids = NULL;
        struct stat st1, st2;
        uint64_t last_used;
        int r;

        r = tree_store_get(ctx->store, ctx->app, &info, &error);
        if (r < 0)
                fail_msg("get: %s: %s: %s", strerror(-r), error.field, error.reason);
        check_app_tree(ctx, info.path, 0);
        snprintf(full, sizeof(full), "%s/manifest", info.path);
        manifest = read_file(full, NULL);
        assert_string_equal(manifest, expected);
        assert_string_equal(info.image_key, ctx->app);
        assert_int_equal(strlen(info.hash), TREE_HASH_LEN);
        /* Rendering counts as a use of every image in the tree. */
        assert_int_equal(image_store_get(ctx->store, ctx->base, &used), 0);
        assert_true(used.last_used_usec > (uint64_t) MTIME * 1000000);
        image_info_clear(&used);
        snprintf(full, sizeof(full), "%s/rendered", info.path);
        assert_int_equal(stat(full, &st1), 0);

        /* A second get finds the rendered tree and leaves it alone, and a use within the last
         * minute is not written again. */
        assert_int_equal(image_store_get(ctx->store, ctx->base, &used), 0);
        last_used = used.last_used_usec;
        image_info_clear(&used);
        assert_int_equal(tree_store_get(ctx->store, ctx->app, &again, NULL), 0);
        assert_string_equal(again.id, info.id);
        assert_string_equal(again.hash, info.hash);
        assert_int_equal(stat(full, &st2), 0);
        assert_int_equal(st1.st_ino, st2.st_ino);
        assert_int_equal(image_store_get(ctx->store, ctx->base, &used), 0);
        assert_int_equal(used.last_used_usec, last_used);
        image_info_clear(&used);
        /* One older than that moves (a touch never goes back: the index is set directly). */
        set_last_used(ctx, ctx->base, last_used - 120 * 1000000ULL);
        assert_int_equal(tree_store_get(ctx->store, ctx->app, &again, NULL), 0);
        assert_int_equal(image_store_get(ctx->store, ctx->base, &used), 0);
        assert_true(used.last_used_usec >= last_used);
        image_info_clear(&used);

        assert_int_equal(tree_store_list(ctx->store, &ids), 0);
        assert_non_null(ids[0]);
        assert_string_equal(ids[0], info.id);
        assert_null(ids[1]);
        for (size_t i = 0; ids[i]; i++)
                free(ids[i]);
        free(ids);
        assert_int_equal(tree_store_verify(ctx->store, info.id, NULL), 0);
        assert_int_equal(tree_store_remove(ctx->store, info.id), 0);
        assert_absent(info.path, "");
        assert_int_equal(tree_store_verify(ctx->store, info.id, NULL), -ENOENT);
}

static void test_render_whitelist(void **state) {
        Ctx *ctx = need_root(state);
        char list[1024] = "";
        TreeInfo info = {};
        ErrorDetail error = {};
        int r;

        r = tree_store_get(ctx->store, ctx->wl, &info, &error);
        if (r < 0)
                fail_msg("get: %s: %s: %s", strerror(-r), error.field, error.reason);
        /* The top image's whitelist filters every file (and directory) of its dependencies;
         * its own directories stay, its own files only when listed. */
        list_tree(info.path, "rootfs", list, sizeof(list));
        assert_string_equal(list, " bin bin/busybox etc etc/passwd wl wl/kept");
        assert_content(info.path, "rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        assert_stat(info.path, "rootfs/wl", S_IFDIR | 0755, 0, 0);
        assert_int_equal(tree_store_remove(ctx->store, info.id), 0);
}

static void test_flatten_store(void **state) {
        Ctx *ctx = need_root(state);
        char **keys = NULL;

        assert_int_equal(tree_flatten(ctx->store, ctx->app, &keys, NULL), 0);
        assert_string_equal(keys[0], ctx->app);
        assert_string_equal(keys[1], ctx->base);
        assert_null(keys[2]);
        for (size_t i = 0; keys[i]; i++)
                free(keys[i]);
        free(keys);
}

static void test_missing_dependency(void **state) {
        Ctx *ctx = need_root(state);
        char key[IMAGE_KEY_LEN + 1], orphan_tree[TREE_ID_LEN + 1], path[4400];
        ErrorDetail error = {};
        TreeInfo info;
        struct stat st;

        import_aci(ctx, "example.com/orphan",
                   ",\"dependencies\":[{\"imageName\":\"example.com/nowhere\"}]",
                   app_entries, 1, key, NULL);
        assert_int_equal(tree_store_get(ctx->store, key, &info, &error), -ENOENT);
        assert_string_equal(error.field, "dependencies[0]");
        assert_non_null(strstr(error.reason, "example.com/nowhere"));
        /* Nothing was rendered: there is no tree of the image alone either. */
        assert_int_equal(tree_id_from_keys((char *[]) { key, NULL }, orphan_tree), 0);
        snprintf(path, sizeof(path), "%s/trees/%s", image_store_path(ctx->store), orphan_tree);
        assert_int_equal(lstat(path, &st), -1);
        assert_int_equal(errno, ENOENT);
}

static void render_to(Ctx *ctx, const char *key, const char *name, const RenderOptions *o,
                      char *dir, size_t size, int expected) {
        char **keys = NULL;
        ErrorDetail error = {};
        int r;

        snprintf(dir, size, "%s/%s", ctx->dir, name);
        assert_int_equal(tree_flatten(ctx->store, key, &keys, NULL), 0);
        r = tree_render(ctx->store, keys, dir, o, &error);
        if (r != expected)
                fail_msg("render: %d %s: %s: %s", r, strerror(-r), error.field, error.reason);
        for (size_t i = 0; keys[i]; i++)
                free(keys[i]);
        free(keys);
}

static void test_tree_hash(void **state) {
        Ctx *ctx = need_root(state);
        char one[128], two[128], h1[TREE_HASH_LEN + 1], h2[TREE_HASH_LEN + 1], path[256];
        char cwd_before[4096], cwd_after[4096];
        int fd;

        render_to(ctx, ctx->app, "hash-1", NULL, one, sizeof(one), 0);
        render_to(ctx, ctx->app, "hash-2", NULL, two, sizeof(two), 0);
        /* The walk works from inside each directory and must come back. */
        assert_non_null(getcwd(cwd_before, sizeof(cwd_before)));
        assert_int_equal(tree_hash(one, NULL, h1), 0);
        assert_non_null(getcwd(cwd_after, sizeof(cwd_after)));
        assert_string_equal(cwd_after, cwd_before);
        assert_int_equal(tree_hash(two, NULL, h2), 0);
        assert_string_equal(h1, h2);
        assert_memory_equal(h1, "sha512-", 7);

        snprintf(path, sizeof(path), "%s/rootfs/usr/bin/su", two);
        assert_int_equal(chmod(path, 0755), 0);          /* drop setuid */
        assert_int_equal(tree_hash(two, NULL, h2), 0);
        assert_string_not_equal(h1, h2);
        assert_int_equal(chmod(path, 04755), 0);
        assert_int_equal(tree_hash(two, NULL, h2), 0);
        assert_string_equal(h1, h2);

        assert_int_equal(lchown(path, 1, 0), 0);
        assert_int_equal(tree_hash(two, NULL, h2), 0);
        assert_string_not_equal(h1, h2);
        assert_int_equal(lchown(path, 0, 0), 0);
        assert_int_equal(chmod(path, 04755), 0);         /* chown dropped setuid */

        snprintf(path, sizeof(path), "%s/rootfs/etc/hostname", two);
        assert_int_equal(lsetxattr(path, "user.test", "basf", 4, 0), 0);
        assert_int_equal(tree_hash(two, NULL, h2), 0);
        assert_string_not_equal(h1, h2);
        assert_int_equal(lsetxattr(path, "user.test", "base", 4, 0), 0);

        fd = open(path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "B", 1, 0), 1);      /* same size, other bytes */
        close(fd);
        assert_int_equal(tree_hash(two, NULL, h2), 0);
        assert_string_not_equal(h1, h2);

        assert_int_equal(tree_remove_dir(AT_FDCWD, one), 0);
        assert_int_equal(tree_remove_dir(AT_FDCWD, two), 0);
}

/* The record format is what recorded tree hashes were made with: a change to it would make
 * every rendered tree fail `image verify`. The value was computed by the walk as it was before
 * trees were hashed from render nodes. */
static void test_tree_hash_format(void **state) {
        Ctx *ctx = need_root(state);
        char dir[128], path[256], other[256], hash[TREE_HASH_LEN + 1];
        static const char *const dirs[] = { "", "/rootfs", "/rootfs/etc", "/rootfs/bin" };
        int fd;

        snprintf(dir, sizeof(dir), "%s/format", ctx->dir);
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                snprintf(path, sizeof(path), "%s%s", dir, dirs[i]);
                assert_int_equal(mkdir(path, 0755), 0);
                assert_int_equal(chmod(path, i == 2 ? 0700 : 0755), 0);
        }
        snprintf(path, sizeof(path), "%s/manifest", dir);       /* not hashed */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
        snprintf(path, sizeof(path), "%s/rootfs/etc/passwd", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_int_equal(write(fd, "root:x:0:0\n", 11), 11);
        close(fd);
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(lsetxattr(path, "user.k", "v\"1", 3, 0), 0);
        snprintf(path, sizeof(path), "%s/rootfs/bin/tool", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_int_equal(write(fd, "bb", 2), 2);
        close(fd);
        assert_int_equal(chown(path, 5, 6), 0);
        assert_int_equal(chmod(path, 04711), 0);
        snprintf(other, sizeof(other), "%s/rootfs/bin/alias", dir);
        assert_int_equal(link(path, other), 0);
        snprintf(path, sizeof(path), "%s/rootfs/bin/link", dir);
        assert_int_equal(symlink("tool", path), 0);
        snprintf(path, sizeof(path), "%s/rootfs/fifo", dir);
        assert_int_equal(mkfifo(path, 0620), 0);
        assert_int_equal(chmod(path, 0620), 0);

        assert_int_equal(tree_hash(dir, NULL, hash), 0);
        assert_string_equal(hash, "sha512-28b3ce038c909689ac7ce952ed40bebbd9466597fb617c91af43144bd857fdb2");
        assert_int_equal(tree_remove_dir(AT_FDCWD, dir), 0);
}

static void test_verify_tampered(void **state) {
        Ctx *ctx = need_root(state);
        _cleanup_free_ char *actual = NULL;
        TreeInfo info = {};
        char path[4200];
        int fd;

        assert_int_equal(tree_store_get(ctx->store, ctx->app, &info, NULL), 0);
        assert_int_equal(tree_store_verify(ctx->store, info.id, NULL), 0);
        snprintf(path, sizeof(path), "%s/rootfs/app/run", info.path);
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
        assert_int_equal(tree_store_verify(ctx->store, info.id, &actual), -EBADMSG);
        assert_non_null(actual);
        assert_string_not_equal(actual, info.hash);
        assert_int_equal(tree_store_verify(ctx->store, "deps-sha512-nothex", NULL), -EINVAL);
        assert_int_equal(tree_store_remove(ctx->store, info.id), 0);
}

/* A tree recorded before check digests (SHA-512 per file in its hash) still verifies, and
 * tampering with it is still found. */
static void test_verify_legacy_tree(void **state) {
        Ctx *ctx = need_root(state);
        char path[4200], legacy[TREE_HASH_LEN + 1];
        TreeInfo info = {};
        FILE *f;

        assert_int_equal(tree_store_get(ctx->store, ctx->app, &info, NULL), 0);
        assert_int_equal(tree_hash_legacy(info.path, legacy), 0);
        assert_string_not_equal(legacy, info.hash);
        snprintf(path, sizeof(path), "%s/hash", info.path);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(legacy, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(tree_store_verify(ctx->store, info.id, NULL), 0);
        snprintf(path, sizeof(path), "%s/rootfs/app/run", info.path);
        f = fopen(path, "ae");
        assert_non_null(f);
        assert_int_equal(fputs("x", f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(tree_store_verify(ctx->store, info.id, NULL), -EBADMSG);
        assert_int_equal(tree_store_remove(ctx->store, info.id), 0);
}

static void test_corrupt_blob(void **state) {
        Ctx *ctx = need_root(state);
        char key[IMAGE_KEY_LEN + 1], blob[512], **ids = NULL;
        ErrorDetail error = {};
        TreeInfo info;
        struct stat st;
        int fd;

        import_aci(ctx, "example.com/corrupt", "", base_entries, 2, key, NULL);
        snprintf(blob, sizeof(blob), "%s/blobs/sha512/%.2s/%s", image_store_path(ctx->store),
                 key + 7, key);
        fd = open(blob, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        /* A byte in the middle of busybox: the tar still parses, the hash does not match. */
        assert_int_equal(pwrite(fd, "\xff\xfe", 2, st.st_size / 2), 2);
        close(fd);
        assert_int_equal(tree_store_get(ctx->store, key, &info, &error), -EBADMSG);
        assert_non_null(strstr(error.reason, "corrupt"));
        assert_non_null(strstr(error.reason, key));
        assert_int_equal(tree_store_list(ctx->store, &ids), 0);
        assert_null(ids[0]);
        free(ids);
}

/* An image indexed without a check digest (by an older stage0d), or with a wrong one (a
 * recorded value gone bad, or a libarchive that reads the tar differently since), renders
 * after its blob's SHA-512 is compared with its ID, and the render records the right digest;
 * the tree hash it writes is the one a verify (which reads every file back) computes. */
static void test_render_without_check_digest(void **state) {
        static const char *const updates[] = {
                "UPDATE images SET check_digest = NULL",
                "UPDATE images SET check_digest = 'sha256-"
                "0000000000000000000000000000000000000000000000000000000000000000'",
        };
        Ctx *ctx = need_root(state);
        char key[IMAGE_KEY_LEN + 1], index[512];
        ImageInfo before = {}, after = {};
        ErrorDetail error = {};
        TreeInfo info;

        import_aci(ctx, "example.com/old", "", base_entries, 2, key, NULL);
        assert_int_equal(image_store_get(ctx->store, key, &before), 0);
        assert_true(stream_digest_is_valid(before.check_digest));
        snprintf(index, sizeof(index), "%s/index.sqlite", image_store_path(ctx->store));
        for (size_t i = 0; i < ELEMENTSOF(updates); i++) {
                sqlite3 *db = NULL;

                assert_int_equal(sqlite3_open(index, &db), SQLITE_OK);
                assert_int_equal(sqlite3_exec(db, updates[i], NULL, NULL, NULL), SQLITE_OK);
                sqlite3_close(db);
                assert_int_equal(image_store_get(ctx->store, key, &after), 0);
                assert_string_not_equal(after.check_digest, before.check_digest);
                image_info_clear(&after);

                assert_int_equal(tree_store_get(ctx->store, key, &info, &error), 0);
                assert_int_equal(image_store_get(ctx->store, key, &after), 0);
                assert_string_equal(after.check_digest, before.check_digest);
                image_info_clear(&after);
                assert_int_equal(tree_store_verify(ctx->store, info.id, NULL), 0);
                assert_int_equal(tree_store_remove(ctx->store, info.id), 0);
        }
        image_info_clear(&before);
}

/* The child side of test_concurrent_get, run as a fresh exec of this binary: prints the inode
 * of the tree's `rendered` marker. */
static int child_get(const char *data_dir, const char *key) {
        ImageStore *s = NULL;
        TreeInfo info;
        char path[4200];
        struct stat st;
        int r;

        r = image_store_open(&s, data_dir);
        if (r >= 0)
                r = tree_store_get(s, key, &info, NULL);
        image_store_free(s);
        if (r < 0)
                return 1;
        snprintf(path, sizeof(path), "%s/rendered", info.path);
        if (stat(path, &st) < 0)
                return 1;
        printf("%llu\n", (unsigned long long) st.st_ino);
        return 0;
}

static void test_concurrent_get(void **state) {
        Ctx *ctx = need_root(state);
        char self[4096], command[8192], **ids = NULL;
        unsigned long long inodes[2];
        FILE *children[2];
        ssize_t n;

        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        assert_true(n > 0);
        self[n] = 0;
        snprintf(command, sizeof(command), "'%s' --get '%s' '%s'", self, ctx->dir, ctx->app);
        for (int i = 0; i < 2; i++) {
                children[i] = popen(command, "r");
                assert_non_null(children[i]);
        }
        for (int i = 0; i < 2; i++) {
                assert_int_equal(fscanf(children[i], "%llu", &inodes[i]), 1);
                assert_int_equal(pclose(children[i]), 0);
        }
        /* Both got the same tree, rendered once. */
        assert_int_equal(inodes[0], inodes[1]);
        assert_int_equal(tree_store_list(ctx->store, &ids), 0);
        assert_non_null(ids[0]);
        assert_null(ids[1]);
        assert_int_equal(tree_store_remove(ctx->store, ids[0]), 0);
        free(ids[0]);
        free(ids);
}

static void test_uid_shift(void **state) {
        Ctx *ctx = need_root(state);
        RenderOptions shifted = { .uid_shift = 100000, .uid_count = 65536 };
        RenderOptions narrow = { .uid_shift = 100000, .uid_count = 1000 };
        char dir[128];
        struct stat st;
        mode_t mask;

        mask = umask(077);
        render_to(ctx, ctx->app, "shifted", &shifted, dir, sizeof(dir), 0);
        umask(mask);
        check_app_tree(ctx, dir, 100000);
        assert_int_equal(tree_remove_dir(AT_FDCWD, dir), 0);
        /* uid 1000 does not fit in 1000 ids: refused, nothing left. */
        render_to(ctx, ctx->app, "narrow", &narrow, dir, sizeof(dir), -ERANGE);
        assert_int_equal(lstat(dir, &st), -1);
}

/* The images of tests/images, built next to this binary's directory by the build. */
static bool images_dir(char *buf, size_t size) {
        char self[2048];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        struct stat st;

        if (n <= 0)
                return false;
        self[n] = 0;
        *strrchr(self, '/') = 0;
        if ((size_t) snprintf(buf, size, "%s/../images/ids.tsv", self) >= size || stat(buf, &st) < 0)
                return false;
        *strrchr(buf, '/') = 0;
        return true;
}

static void import_file(Ctx *ctx, const char *dir, const char *name, char key[IMAGE_KEY_LEN + 1]) {
        char path[4400];
        ImageInfo info = {};
        ErrorDetail error = {};
        int fd, r;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        r = image_store_import(ctx->store, fd, NULL, NULL, NULL, &info, &error);
        close(fd);
        if (r < 0)
                fail_msg("import %s: %s: %s: %s", name, strerror(-r), error.field, error.reason);
        strcpy(key, info.key);
        image_info_clear(&info);
}

static void render_repo_image(Ctx *ctx, const char *key, const char *name, char *dir, size_t size) {
        render_to(ctx, key, name, NULL, dir, size, 0);
}

static void test_repo_images(void **state) {
        Ctx *ctx = need_root(state);
        char images[4096], dir[128], base[IMAGE_KEY_LEN + 1], key[IMAGE_KEY_LEN + 1];
        char full[4400], value[8];
        struct stat st, passwd;

        if (!images_dir(images, sizeof(images))) {
                print_message("tests/images not built; skipping\n");
                skip();
        }
        import_file(ctx, images, "base.aci", base);

        import_file(ctx, images, "app-with-dep.aci", key);
        render_repo_image(ctx, key, "repo-app", dir, sizeof(dir));
        assert_content(dir, "rootfs/etc/overridden", "from app\n");
        assert_content(dir, "rootfs/etc/app-file", "app\n");
        snprintf(full, sizeof(full), "%s/rootfs/usr/share/base/file-a", dir);
        assert_int_equal(stat(full, &st), 0);
        assert_int_equal(tree_remove_dir(AT_FDCWD, dir), 0);

        import_file(ctx, images, "app-with-dep-by-id.aci", key);
        render_repo_image(ctx, key, "repo-app-id", dir, sizeof(dir));
        assert_content(dir, "rootfs/etc/overridden", "from app by id\n");
        assert_int_equal(tree_remove_dir(AT_FDCWD, dir), 0);

        import_file(ctx, images, "whitelist.aci", key);
        render_repo_image(ctx, key, "repo-wl", dir, sizeof(dir));
        snprintf(full, sizeof(full), "%s/rootfs/bin/cat", dir);
        assert_int_equal(lstat(full, &st), 0);
        assert_absent(dir, "rootfs/bin/ls");
        assert_absent(dir, "rootfs/etc/not-whitelisted");
        assert_absent(dir, "rootfs/usr/share/base/file-a");
        assert_absent(dir, "rootfs/etc/overridden");
        assert_int_equal(tree_remove_dir(AT_FDCWD, dir), 0);

        import_file(ctx, images, "special.aci", key);
        render_repo_image(ctx, key, "repo-special", dir, sizeof(dir));
        assert_stat_any_time(dir, "rootfs/home/app", S_IFDIR | 0700, 1000, 1000);
        assert_stat_any_time(dir, "rootfs/home/app/private", S_IFREG | 0600, 1000, 1000);
        assert_stat_any_time(dir, "rootfs/setuid", S_IFREG | 04755, 0, 0);
        assert_stat_any_time(dir, "rootfs/setgid", S_IFREG | 02711, 0, 1000);
        assert_stat_any_time(dir, "rootfs/sticky", S_IFDIR | 01777, 0, 0);
        assert_stat_any_time(dir, "rootfs/fifo", S_IFIFO | 0640, 0, 0);
        snprintf(full, sizeof(full), "%s/rootfs/mtime", dir);
        assert_int_equal(lstat(full, &st), 0);
        assert_int_equal(st.st_mtim.tv_sec, 1234567890);
        snprintf(full, sizeof(full), "%s/rootfs/xattr", dir);
        assert_int_equal(lgetxattr(full, "user.stage0", value, sizeof(value)), 3);
        assert_memory_equal(value, "yes", 3);
        snprintf(full, sizeof(full), "%s/rootfs/hardlink", dir);
        assert_int_equal(lstat(full, &st), 0);
        snprintf(full, sizeof(full), "%s/rootfs/etc/passwd", dir);
        assert_int_equal(lstat(full, &passwd), 0);
        assert_int_equal(st.st_ino, passwd.st_ino);
        snprintf(full, sizeof(full), "%s/rootfs/abs-link", dir);
        assert_int_equal(readlink(full, value, sizeof(value)), 8);
        assert_int_equal(tree_remove_dir(AT_FDCWD, dir), 0);
}

/* A higher image's symlink to a host directory must mask the paths a lower image puts below
 * it, and a hardlink through it must fail the render: nothing may land outside the tree. */
static void test_no_escape(void **state) {
        Ctx *ctx = need_root(state);
        char outside[128], dir[128], list[256] = "", key[IMAGE_KEY_LEN + 1], path[4400];
        const Entry lower[] = {
                { "evil", AE_IFDIR, 0755, 0, 0, NULL, NULL },
                { "evil/x", AE_IFREG, 0644, 0, 0, "x", NULL },
                { "evil/y", AE_IFREG, 0644, 0, 0, "y", NULL },
                { "hl", 0, 0644, 0, 0, "rootfs/evil/y", NULL },
        };
        Entry upper[] = { { "evil", AE_IFLNK, 0777, 0, 0, outside, NULL } };
        char **keys = NULL;
        ErrorDetail error = {};
        struct stat st;

        snprintf(outside, sizeof(outside), "%s/outside", ctx->dir);
        assert_int_equal(mkdir(outside, 0755), 0);

        /* Without the hardlink: the symlink wins, the lower files are masked. */
        import_aci(ctx, "example.com/evil-base", "", lower, 3, key, NULL);
        import_aci(ctx, "example.com/evil", ",\"dependencies\":[{\"imageName\":\"example.com/evil-base\"}]",
                   upper, 1, key, NULL);
        render_to(ctx, key, "evil", NULL, dir, sizeof(dir), 0);
        list_tree(dir, "rootfs", list, sizeof(list));
        assert_string_equal(list, " evil");
        snprintf(path, sizeof(path), "%s/rootfs/evil", dir);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(tree_remove_dir(AT_FDCWD, dir), 0);

        /* With a hardlink to a masked path: refused, nothing left. */
        import_aci(ctx, "example.com/evil-base2", "", lower, 4, key, NULL);
        import_aci(ctx, "example.com/evil2", ",\"dependencies\":[{\"imageName\":\"example.com/evil-base2\"}]",
                   upper, 1, key, NULL);
        snprintf(dir, sizeof(dir), "%s/evil2", ctx->dir);
        assert_int_equal(tree_flatten(ctx->store, key, &keys, NULL), 0);
        assert_int_equal(tree_render(ctx->store, keys, dir, NULL, &error), -EBADMSG);
        assert_string_equal(error.field, "rootfs/hl");
        assert_int_equal(lstat(dir, &st), -1);
        for (size_t i = 0; keys[i]; i++)
                free(keys[i]);
        free(keys);

        list[0] = 0;
        list_tree(ctx->dir, "outside", list, sizeof(list));
        assert_string_equal(list, "");
        assert_int_equal(rmdir(outside), 0);
}

/* ---- the tree hash from a render's nodes ---- */

static void add_raw(struct archive *a, struct archive_entry *e, const char *data) {
        archive_entry_set_mtime(e, MTIME, 0);
        if (data && !archive_entry_hardlink(e))
                archive_entry_set_size(e, (la_int64_t) strlen(data));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (data && !archive_entry_hardlink(e))
                assert_int_equal(archive_write_data(a, data, strlen(data)), (la_ssize_t) strlen(data));
        archive_entry_free(e);
}

static struct archive_entry *raw(const char *path, mode_t type, mode_t perm, unsigned uid) {
        struct archive_entry *e = archive_entry_new();

        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, uid);
        return e;
}

/* Everything the nodes must get right to agree with a walk: a hard link whose path comes
 * before its target's in walk order (so the link's path is recorded as the file), a hard link
 * to a symlink, "a-b" against "a/b" (bytewise, '-' sorts before '/'), a directory whose entry
 * comes after its files, parents no entry names, no rootfs entry at all, and the nodes that
 * are read back: a device, a file with an xattr, one with an ACL. */
static void write_tricky_aci(const char *file) {
        _cleanup_free_ char *manifest = manifest_json("stage0.io/test/tricky", "");
        struct archive *a = archive_write_new();
        struct archive_entry *e;

        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_filename(a, file), ARCHIVE_OK);
        add_raw(a, raw("manifest", AE_IFREG, 0644, 0), manifest);
        add_raw(a, raw("rootfs/zz", AE_IFREG, 0640, 3), "target");
        e = raw("rootfs/aa", AE_IFREG, 0, 0);
        archive_entry_set_hardlink(e, "rootfs/zz");
        add_raw(a, e, NULL);
        add_raw(a, raw("rootfs/a-b", AE_IFREG, 0644, 0), "dash");
        add_raw(a, raw("rootfs/a/b", AE_IFREG, 04755, 0), "slash");
        e = raw("rootfs/sym", AE_IFLNK, 0777, 7);
        archive_entry_set_symlink(e, "zz");
        add_raw(a, e, NULL);
        e = raw("rootfs/hard-to-sym", AE_IFREG, 0, 0);
        archive_entry_set_hardlink(e, "rootfs/sym");
        add_raw(a, e, NULL);
        add_raw(a, raw("rootfs/late/f", AE_IFREG, 0600, 5), "f");
        add_raw(a, raw("rootfs/late", AE_IFDIR, 0700, 5), NULL);
        add_raw(a, raw("rootfs/fifo", AE_IFIFO, 0620, 0), NULL);
        e = raw("rootfs/dev/null", AE_IFCHR, 0666, 0);
        archive_entry_set_rdev(e, makedev(1, 3));
        add_raw(a, e, NULL);
        e = raw("rootfs/xattr", AE_IFREG, 0644, 0);
        archive_entry_xattr_add_entry(e, "user.test", "v", 1);
        add_raw(a, e, "x");
        e = raw("rootfs/acl", AE_IFREG, 0640, 0);
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, ARCHIVE_ENTRY_ACL_READ,
                                    ARCHIVE_ENTRY_ACL_USER, 1234, "u");
        archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
                                    ARCHIVE_ENTRY_ACL_READ | ARCHIVE_ENTRY_ACL_WRITE,
                                    ARCHIVE_ENTRY_ACL_MASK, -1, NULL);
        add_raw(a, e, "acl");
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static void test_nodes_hash_is_the_walk_hash(void **state) {
        Ctx *ctx = need_root(state);
        _cleanup_(tree_nodes_done) TreeNodes nodes = {};
        TreeStoreResolver sr;
        TreeResolver resolver;
        TreeImage *images = NULL;
        size_t n = 0;
        char file[128], dir[128], walked[TREE_HASH_LEN + 1], from_nodes[TREE_HASH_LEN + 1];
        ImageImportOptions options = { .allow_device_nodes = true };
        ErrorDetail error = {};
        ImageInfo info = {};
        TreeNode *late = NULL;
        int fd, r;

        snprintf(file, sizeof(file), "%s/tricky.aci", ctx->dir);
        write_tricky_aci(file);
        fd = open(file, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        r = image_store_import(ctx->store, fd, &options, NULL, NULL, &info, &error);
        if (r < 0)
                fail_msg("import: %s: %s: %s", strerror(-r), error.field, error.reason);
        close(fd);
        tree_store_resolver_init(&sr, ctx->store, &resolver);
        assert_int_equal(tree_flatten_images(&resolver, info.key, &images, &n, &error), 0);
        snprintf(dir, sizeof(dir), "%s/tricky", ctx->dir);
        r = tree_render_images(ctx->store, images, n, dir, NULL, &nodes, &error);
        if (r < 0)
                fail_msg("render: %s: %s: %s", strerror(-r), error.field, error.reason);
        assert_false(nodes.incomplete);
        assert_int_equal(tree_hash(dir, NULL, walked), 0);
        assert_int_equal(tree_hash_nodes(dir, &nodes, from_nodes), 0);
        assert_string_equal(from_nodes, walked);

        /* The same nodes, believed incomplete, walk the tree instead. */
        nodes.incomplete = true;
        assert_int_equal(tree_hash_nodes(dir, &nodes, from_nodes), 0);
        assert_string_equal(from_nodes, walked);
        nodes.incomplete = false;
        /* And a node that says something else gives another hash: the comparison can fail. */
        for (size_t i = 0; i < nodes.n; i++)
                if (strcmp(nodes.nodes[i].path, "rootfs/late") == 0)
                        late = &nodes.nodes[i];
        assert_non_null(late);
        assert_int_equal(late->mode, 0700);
        late->mode = 0755;
        assert_int_equal(tree_hash_nodes(dir, &nodes, from_nodes), 0);
        assert_string_not_equal(from_nodes, walked);

        assert_int_equal(tree_remove_dir(AT_FDCWD, dir), 0);
        free(images);
        tree_store_resolver_done(&sr);
        image_info_clear(&info);
}

int main(int argc, char **argv) {
        const struct CMUnitTest pure[] = {
                cmocka_unit_test(test_flatten_order),
                cmocka_unit_test(test_flatten_diamond_missing_cycle),
                cmocka_unit_test(test_flatten_limit),
                cmocka_unit_test(test_clean_path),
                cmocka_unit_test(test_upper_whitelist),
                cmocka_unit_test(test_select),
                cmocka_unit_test(test_tree_id),
        };
        const struct CMUnitTest store[] = {
                cmocka_unit_test(test_flatten_store),
                cmocka_unit_test(test_render_app),
                cmocka_unit_test(test_render_whitelist),
                cmocka_unit_test(test_missing_dependency),
                cmocka_unit_test(test_tree_hash),
                cmocka_unit_test(test_tree_hash_format),
                cmocka_unit_test(test_verify_tampered),
                cmocka_unit_test(test_concurrent_get),
                cmocka_unit_test(test_uid_shift),
                cmocka_unit_test(test_no_escape),
                cmocka_unit_test(test_repo_images),
                cmocka_unit_test(test_verify_legacy_tree),
                cmocka_unit_test(test_corrupt_blob),
                cmocka_unit_test(test_render_without_check_digest),
                cmocka_unit_test(test_nodes_hash_is_the_walk_hash),
        };
        int r;

        if (argc == 4 && strcmp(argv[1], "--get") == 0)
                return child_get(argv[2], argv[3]);
        r = cmocka_run_group_tests_name("tree-store-pure", pure, NULL, NULL);

        return r + cmocka_run_group_tests_name("tree-store", store, setup, teardown);
}
