/* Rendering: flattening an image's dependencies (appc's acirenderer order), choosing which
 * entries of which image end up in the tree (first writer wins, pathWhitelist, masking by a
 * higher non-directory), and extracting them with libarchive in one pass per blob, while a
 * second thread (blob-check.h) re-checks the blob and takes each file's content digest.
 *
 * Where we differ from acirenderer, on purpose:
 *  - the parents of a taken path count as claimed directories, so a lower image cannot put a
 *    file where a higher image implied a directory (rkt would fail or replace it); a lower
 *    directory entry for such a parent still brings its owner, mode and times, as in rkt;
 *  - the "rootfs" entry is first-writer-wins like every other (rkt lets the last one win);
 *  - a hardlink must point at a non-directory taken earlier in this render, else the render
 *    fails (rkt fails too when the target is missing);
 *  - tar names with ".." or a leading "/" fail the render (import never stores them);
 *  - file flags (chattr) are not restored: an immutable bit would make the tree unremovable.
 * libarchive extracts relative to the current directory, so rendering changes the process's
 * cwd for its duration and restores it: no other thread of the caller may use relative paths
 * meanwhile (workers are single-threaded; our own hasher thread touches no paths). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <dirent.h>

#include "cleanup.h"
#include "tree-render.h"
#include "tree-writer.h"

/* ---- flattening ---- */

static bool image_has_ancestor(const TreeImage *images, size_t i, const char *key) {
        for (;;) {
                if (strcmp(images[i].key, key) == 0)
                        return true;
                if (i == 0)
                        return false;
                i = images[i].parent;
        }
}

static void describe_dependency(const AppcDependency *d, char *buf, size_t size) {
        size_t off = (size_t) snprintf(buf, size, "%s", d->image_id ? d->image_id : d->image_name);

        for (size_t i = 0; !d->image_id && i < d->n_labels && off < size; i++)
                off += (size_t) snprintf(buf + off, size - off, "%s%s=%s", i == 0 ? " " : ",",
                                         d->labels[i].name, d->labels[i].value);
}

static int dependency_error(ErrorDetail *error, int r, const ImageManifest *parent, size_t d) {
        const AppcDependency *dep = &parent->dependencies[d];
        char field[64], what[256];

        snprintf(field, sizeof(field), "dependencies[%zu]", d);
        describe_dependency(dep, what, sizeof(what));
        if (r == -ENOENT)
                return error_detail_set(error, r, field, "dependency %s of %s not found", what,
                                        parent->name);
        if (r == -ENOTUNIQ)
                return error_detail_set(error, r, field, "dependency %s of %s is ambiguous", what,
                                        parent->name);
        if (r == -ELOOP)
                return error_detail_set(error, r, field, "dependency %s of %s is a cycle", what,
                                        parent->name);
        if (r == -E2BIG)
                return error_detail_set(error, r, field,
                                        "more than %d images in the dependencies of %s",
                                        TREE_IMAGES_MAX, parent->name);
        return error_detail_set(error, r, field, "dependency %s of %s: %s", what, parent->name,
                                strerror(-r));
}

/* Inserts at pos, shifting the rest; parent indexes at or after pos move with their images. */
static void images_insert(TreeImage *images, size_t *n, size_t pos, const TreeImage *img) {
        memmove(images + pos + 1, images + pos, (*n - pos) * sizeof(*images));
        (*n)++;
        for (size_t j = 1; j < *n; j++)
                if (j != pos && images[j].parent >= pos)
                        images[j].parent++;
        images[pos] = *img;
}

static int flatten_dependencies(const TreeResolver *resolver, TreeImage *images, size_t *n,
                                size_t i, ErrorDetail *error) {
        const ImageManifest *m = images[i].manifest;

        for (size_t d = 0; d < m->n_dependencies; d++) {
                TreeImage dep = { .level = images[i].level + 1, .parent = i };
                int r;

                r = resolver->resolve(resolver->userdata, &m->dependencies[d], dep.key);
                if (r < 0)
                        return dependency_error(error, r, m, d);
                if (image_has_ancestor(images, i, dep.key))
                        return dependency_error(error, -ELOOP, m, d);
                if (*n >= TREE_IMAGES_MAX)
                        return dependency_error(error, -E2BIG, m, d);
                r = resolver->manifest(resolver->userdata, dep.key, &dep.manifest);
                if (r < 0)
                        return dependency_error(error, r, m, d);
                images_insert(images, n, i + 1, &dep);
        }
        return 0;
}

int tree_flatten_images(const TreeResolver *resolver, const char *key, TreeImage **ret,
                        size_t *ret_n, ErrorDetail *error) {
        _cleanup_free_ TreeImage *images = NULL;
        size_t n = 1;
        int r;

        if (strlen(key) != IMAGE_KEY_LEN)
                return error_detail_set(error, -EINVAL, "image", "not an image key: %s", key);
        images = calloc(TREE_IMAGES_MAX, sizeof(*images));
        if (!images)
                return -ENOMEM;
        memcpy(images[0].key, key, IMAGE_KEY_LEN + 1);
        r = resolver->manifest(resolver->userdata, key, &images[0].manifest);
        if (r < 0)
                return error_detail_set(error, r, "image", "image %s: %s", key, strerror(-r));

        /* n grows while we walk: the dependencies of each image are walked in turn. */
        for (size_t i = 0; i < n; i++) {
                r = flatten_dependencies(resolver, images, &n, i, error);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(images);
        *ret_n = n;
        return 0;
}

/* ---- the store-backed resolver ---- */

static int store_manifest(void *userdata, const char *key, const ImageManifest **ret) {
        TreeStoreResolver *r = userdata;
        ImageManifest *m = NULL, **ms;
        char (*ks)[IMAGE_KEY_LEN + 1];
        int k;

        for (size_t i = 0; i < r->n; i++)
                if (strcmp(r->keys[i], key) == 0) {
                        *ret = r->manifests[i];
                        return 0;
                }
        ms = reallocarray(r->manifests, r->n + 1, sizeof(*ms));
        if (!ms)
                return -ENOMEM;
        r->manifests = ms;
        ks = reallocarray(r->keys, r->n + 1, sizeof(*ks));
        if (!ks)
                return -ENOMEM;
        r->keys = ks;
        k = image_store_manifest(r->store, key, &m);
        if (k < 0)
                return k;
        snprintf(r->keys[r->n], sizeof(r->keys[r->n]), "%s", key);
        r->manifests[r->n++] = m;
        *ret = m;
        return 0;
}

static int store_resolve(void *userdata, const AppcDependency *dep, char ret_key[IMAGE_KEY_LEN + 1]) {
        TreeStoreResolver *r = userdata;
        char prefix[IMAGE_KEY_LEN + 1];
        ImageInfo info = {};
        ImageRef ref = {};
        int k;

        if (dep->image_id) {
                /* An image ID names its key by its first 64 hex digits (rkt's ResolveKey). */
                snprintf(prefix, sizeof(prefix), "%s", dep->image_id);
                ref.id = prefix;
        } else {
                ref.name = dep->image_name;
                ref.labels = dep->labels;
                ref.n_labels = dep->n_labels;
        }
        k = image_store_resolve(r->store, &ref, &info, NULL);
        if (k < 0)
                return k;
        memcpy(ret_key, info.key, IMAGE_KEY_LEN + 1);
        image_info_clear(&info);
        return 0;
}

void tree_store_resolver_init(TreeStoreResolver *r, ImageStore *s, TreeResolver *ret) {
        *r = (TreeStoreResolver) { .store = s };
        *ret = (TreeResolver) { .manifest = store_manifest, .resolve = store_resolve, .userdata = r };
}

void tree_store_resolver_done(TreeStoreResolver *r) {
        for (size_t i = 0; i < r->n; i++)
                image_manifest_free(r->manifests[i]);
        free(r->manifests);
        free(r->keys);
        *r = (TreeStoreResolver) {};
}

/* ---- paths and whitelists ---- */

/* Lexical clean into buf. With dotdot_pops, ".." removes the previous component (Go's
 * filepath.Clean); without, it is refused. A leading "/" is refused unless allowed. */
static int clean_path(const char *name, bool dotdot_pops, char *buf, size_t size) {
        size_t len = 0, depth = 0;
        const char *p = name;

        while (*p) {
                size_t c = strcspn(p, "/");

                if (c == 0 || (c == 1 && p[0] == '.')) {
                        /* empty or "." component */
                } else if (c == 2 && p[0] == '.' && p[1] == '.') {
                        if (!dotdot_pops || depth == 0)
                                return -EINVAL;
                        while (len > 0 && buf[len - 1] != '/')
                                len--;
                        if (len > 0)
                                len--;
                        depth--;
                } else {
                        if (++depth > TREE_PATH_DEPTH_MAX)
                                return -ENAMETOOLONG;
                        if (len + (len > 0) + c + 1 > size)
                                return -ENAMETOOLONG;
                        if (len > 0)
                                buf[len++] = '/';
                        memcpy(buf + len, p, c);
                        len += c;
                }
                p += c;
                if (*p == '/')
                        p++;
        }
        if (len == 0) {
                if (size < 2)
                        return -ENAMETOOLONG;
                buf[len++] = '.';
        }
        buf[len] = 0;
        return 0;
}

int tree_clean_path(const char *name, char *buf, size_t size) {
        if (!name || name[0] == '/')
                return -EINVAL;
        return clean_path(name, false, buf, size);
}

int tree_clean_whitelist_path(const char *path, char *buf, size_t size) {
        _cleanup_free_ char *joined = NULL;

        if (asprintf(&joined, "rootfs/%s", path) < 0)
                return -ENOMEM;
        return clean_path(joined, true, buf, size);
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int tree_whitelist_init(TreeWhitelist *w, char *const *paths, size_t n) {
        char buf[PATH_MAX];

        *w = (TreeWhitelist) {};
        if (n == 0)
                return 0;
        w->paths = calloc(n, sizeof(char *));
        if (!w->paths)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r = tree_clean_whitelist_path(paths[i], buf, sizeof(buf));

                if (r < 0) {
                        tree_whitelist_done(w);
                        return r;
                }
                w->paths[i] = strdup(buf);
                if (!w->paths[i]) {
                        tree_whitelist_done(w);
                        return -ENOMEM;
                }
                w->n++;
        }
        qsort(w->paths, w->n, sizeof(char *), strcmp_ptr);
        return 0;
}

void tree_whitelist_done(TreeWhitelist *w) {
        for (size_t i = 0; i < w->n; i++)
                free(w->paths[i]);
        free(w->paths);
        *w = (TreeWhitelist) {};
}

bool tree_whitelist_has(const TreeWhitelist *w, const char *clean_name) {
        return w->n > 0 &&
                bsearch(&clean_name, w->paths, w->n, sizeof(char *), strcmp_ptr) != NULL;
}

/* Scanning back from pos, an image counts when its level is below that of the image seen just
 * before it; the last one counted (the nearest the top) wins. This is acirenderer's rule,
 * quirks included: it may pick an image of a sibling subtree. */
ssize_t tree_upper_whitelist(const TreeImage *images, const bool *whitelisted, size_t pos) {
        unsigned level = images[pos].level;
        ssize_t found = -1;

        for (size_t i = pos + 1; i-- > 0;) {
                if (images[i].level < level && whitelisted[i])
                        found = (ssize_t) i;
                level = images[i].level;
        }
        return found;
}

/* ---- claims: an open-addressing hash table of path -> TreeClaim ---- */

typedef struct ClaimSlot {
        char *path;
        size_t len;
        uint64_t hash;
        TreeClaim claim;
} ClaimSlot;

struct TreeClaims {
        ClaimSlot *slots;
        size_t n_slots;               /* a power of two */
        size_t n_used;
};

static uint64_t hash_path(const char *p, size_t len) {
        uint64_t h = 14695981039346656037ULL;   /* FNV-1a */

        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char) p[i];
                h *= 1099511628211ULL;
        }
        return h;
}

int tree_claims_new(TreeClaims **ret) {
        TreeClaims *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->n_slots = 1024;
        c->slots = calloc(c->n_slots, sizeof(ClaimSlot));
        if (!c->slots) {
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

TreeClaims *tree_claims_free(TreeClaims *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_slots; i++)
                free(c->slots[i].path);
        free(c->slots);
        free(c);
        return NULL;
}

static ClaimSlot *claims_find(const TreeClaims *c, const char *path, size_t len, uint64_t h) {
        size_t mask = c->n_slots - 1;

        for (size_t i = h & mask;; i = (i + 1) & mask) {
                ClaimSlot *s = &c->slots[i];

                if (!s->path || (s->hash == h && s->len == len && memcmp(s->path, path, len) == 0))
                        return s;
        }
}

static int claims_grow(TreeClaims *c) {
        TreeClaims bigger = { .n_slots = c->n_slots * 2 };

        bigger.slots = calloc(bigger.n_slots, sizeof(ClaimSlot));
        if (!bigger.slots)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_slots; i++)
                if (c->slots[i].path)
                        *claims_find(&bigger, c->slots[i].path, c->slots[i].len,
                                     c->slots[i].hash) = c->slots[i];
        free(c->slots);
        c->slots = bigger.slots;
        c->n_slots = bigger.n_slots;
        return 0;
}

static TreeClaim claims_get_n(const TreeClaims *c, const char *path, size_t len) {
        ClaimSlot *s = claims_find(c, path, len, hash_path(path, len));

        return s->path ? s->claim : TREE_CLAIM_NONE;
}

TreeClaim tree_claims_get(const TreeClaims *c, const char *path) {
        return claims_get_n(c, path, strlen(path));
}

static int claims_set(TreeClaims *c, const char *path, size_t len, TreeClaim claim) {
        uint64_t h = hash_path(path, len);
        ClaimSlot *s;

        if ((c->n_used + 1) * 2 > c->n_slots) {
                int r = claims_grow(c);
                if (r < 0)
                        return r;
        }
        s = claims_find(c, path, len, h);
        if (!s->path) {
                s->path = strndup(path, len);
                if (!s->path)
                        return -ENOMEM;
                s->len = len;
                s->hash = h;
                c->n_used++;
        }
        s->claim = claim;
        return 0;
}

/* Length of the parent of the first len bytes of path, or 0 at the top. */
static size_t parent_len(const char *path, size_t len) {
        while (len > 0 && path[len - 1] != '/')
                len--;
        return len > 0 ? len - 1 : 0;
}

int tree_claims_select(TreeClaims *c, const TreeWhitelist *own, const TreeWhitelist *upper,
                       const char *clean_name, bool is_dir) {
        size_t len = strlen(clean_name), top = 0;
        TreeClaim claim;
        int r;

        if (!is_dir && own && own->n > 0 && !tree_whitelist_has(own, clean_name))
                return 0;
        if (upper && !tree_whitelist_has(upper, clean_name))
                return 0;

        claim = claims_get_n(c, clean_name, len);
        if (claim == TREE_CLAIM_IMPLICIT_DIR && is_dir)
                return claims_set(c, clean_name, len, TREE_CLAIM_DIR) < 0 ? -ENOMEM : 1;
        if (claim != TREE_CLAIM_NONE)
                return 0;

        /* Every claimed path has claimed directories above it, so the walk up stops at the
         * first claimed ancestor. */
        for (size_t p = parent_len(clean_name, len); p > 0; p = parent_len(clean_name, p)) {
                claim = claims_get_n(c, clean_name, p);
                if (claim == TREE_CLAIM_OTHER)
                        return 0;
                if (claim != TREE_CLAIM_NONE) {
                        top = p;
                        break;
                }
        }
        for (size_t p = parent_len(clean_name, len); p > top; p = parent_len(clean_name, p)) {
                r = claims_set(c, clean_name, p, TREE_CLAIM_IMPLICIT_DIR);
                if (r < 0)
                        return r;
        }
        r = claims_set(c, clean_name, len, is_dir ? TREE_CLAIM_DIR : TREE_CLAIM_OTHER);
        return r < 0 ? r : 1;
}

/* ---- removal ---- */

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static int remove_contents(int fd) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return NEG_ERRNO();
        }
        while ((errno = 0, de = readdir(d))) {
                int k;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                k = tree_remove_dir(dirfd(d), de->d_name);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (errno != 0 && r == 0)
                r = NEG_ERRNO();
        return r;
}

int tree_remove_dir(int parent_fd, const char *name) {
        int fd, r;

        if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return NEG_ERRNO();
        fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : NEG_ERRNO();
        r = remove_contents(fd);
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return r < 0 ? r : NEG_ERRNO();
        return r;
}

/* ---- extraction ---- */

typedef struct Render {
        ImageStore *store;
        TreeNodes *nodes;            /* what was made, if wanted */
        BlobCheck *check;            /* of the image being rendered */
        const TreeImage *images;
        size_t n;
        const RenderOptions *options;
        const char *dir;
        int dir_fd;
        TreeClaims *claims;
        TreeWhitelist *whitelists;   /* one per image */
        bool *whitelisted;
        TreeWriter *writer;
        bool manifest_written;
        ErrorDetail *error;
} Render;

static void render_done(Render *rd) {
        tree_writer_free(rd->writer);
        for (size_t i = 0; rd->whitelists && i < rd->n; i++)
                tree_whitelist_done(&rd->whitelists[i]);
        free(rd->whitelists);
        free(rd->whitelisted);
        tree_claims_free(rd->claims);
        if (rd->dir_fd >= 0)
                close(rd->dir_fd);
}

static bool is_transient(int e) {
        return e == ENOSPC || e == EDQUOT || e == EIO || e == ENOMEM || e == EROFS ||
                e == EMFILE || e == ENFILE;
}

/* The writer refused path: a full disk is itself, anything else a bad image. */
static int write_failure(Render *rd, const char *path, int r) {
        if (r == -ENOMEM)
                return r;
        return error_detail_set(rd->error, is_transient(-r) || r == -ERANGE ? r : -EBADMSG, path,
                                "cannot extract: %s", strerror(-r));
}

static int write_all(int fd, const void *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return NEG_ERRNO();
                p = (const uint8_t *) p + k;
                n -= (size_t) k;
        }
        return 0;
}

/* Feeds the rest of the entry's data to the blob check, and ends the entry there. */
static int finish_entry_data(Render *rd, struct archive *a, struct archive_entry *e,
                             const char *path, ContentDigest *out) {
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r;

        while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK)
                (void) blob_check_data(rd->check, buf, size, offset);
        if (r != ARCHIVE_EOF)
                return error_detail_set(rd->error, -EBADMSG, path, "cannot read: %s",
                                        archive_error_string(a));
        return blob_check_entry_end(rd->check, archive_entry_size(e), out);
}

static int render_manifest(Render *rd, struct archive *a, struct archive_entry *e) {
        la_int64_t size = archive_entry_size(e);
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        const void *block;
        size_t n;
        la_int64_t offset;
        int r;

        if (rd->manifest_written)
                return 0;
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
            size <= 0 || size > IMAGE_MANIFEST_SIZE_MAX)
                return error_detail_set(rd->error, -EBADMSG, "manifest",
                                        "the manifest of %s is not a regular file of 1..%u bytes",
                                        rd->images[0].key, IMAGE_MANIFEST_SIZE_MAX);
        buf = calloc(1, (size_t) size);
        if (!buf)
                return -ENOMEM;
        while ((r = archive_read_data_block(a, &block, &n, &offset)) == ARCHIVE_OK) {
                if (offset < 0 || (uint64_t) offset + n > (uint64_t) size)
                        break;
                memcpy(buf + offset, block, n);
                (void) blob_check_data(rd->check, block, n, offset);
        }
        if (r != ARCHIVE_EOF)
                return error_detail_set(rd->error, -EBADMSG, "manifest",
                                        "the manifest of %s is truncated", rd->images[0].key);
        fd = openat(rd->dir_fd, "manifest", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return NEG_ERRNO();
        rd->manifest_written = true;
        return write_all(fd, buf, (size_t) size);
}

static int shift_ids(Render *rd, struct archive_entry *e, const char *path) {
        const RenderOptions *o = rd->options;
        la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);

        if (!o || o->uid_shift == 0)
                return 0;
        if (uid < 0 || gid < 0 || uid >= o->uid_count || gid >= o->uid_count)
                return error_detail_set(rd->error, -ERANGE, path,
                                        "owner %lld:%lld is outside the %u ids of the pod",
                                        (long long) uid, (long long) gid, (unsigned) o->uid_count);
        archive_entry_set_uid(e, uid + o->uid_shift);
        archive_entry_set_gid(e, gid + o->uid_shift);
        return 0;
}

/* A hardlink may only point at a non-directory this render already put in the tree: that
 * path was created with nothing but real directories above it, so link(2) stays inside. */
static int check_hardlink(Render *rd, struct archive_entry *e, const char *path) {
        const char *link = archive_entry_hardlink(e);
        char target[PATH_MAX];

        if (!link)
                return 0;
        if (tree_clean_path(link, target, sizeof(target)) < 0 ||
            strncmp(target, "rootfs/", 7) != 0 ||
            tree_claims_get(rd->claims, target) != TREE_CLAIM_OTHER)
                return error_detail_set(rd->error, -EBADMSG, path,
                                        "hardlink to %s, which is not a file in the tree", link);
        archive_entry_set_hardlink(e, target);
        return 0;
}

static int check_type(Render *rd, struct archive_entry *e, const char *path) {
        switch (archive_entry_filetype(e)) {
        case AE_IFREG:
        case AE_IFDIR:
        case AE_IFLNK:
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                return 0;
        default:
                return error_detail_set(rd->error, -EBADMSG, path, "unsupported file type 0%o",
                                        (unsigned) archive_entry_filetype(e));
        }
}

static int copy_data(Render *rd, struct archive *a, const char *path) {
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r;

        while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
                (void) blob_check_data(rd->check, buf, size, offset);
                r = tree_writer_data(rd->writer, buf, size, offset);
                if (r < 0)
                        return write_failure(rd, path, r);
        }
        if (r != ARCHIVE_EOF)
                return error_detail_set(rd->error, -EBADMSG, path, "cannot read: %s",
                                        archive_error_string(a));
        return 0;
}

/* What the entry becomes, for the tree hash; *ret_out: where its content digest goes. The
 * writer sets owners and modes exactly as the entry has them, but a device number goes
 * through the kernel's encoding, a file capability may be rewritten by the kernel, and ACLs
 * change the group bits: such nodes are read back. */
static int record_node(Render *rd, struct archive_entry *e, const char *path,
                       ContentDigest **ret_out) {
        const char *link = archive_entry_hardlink(e);
        mode_t type = archive_entry_filetype(e);
        TreeNode *nd;

        if (!rd->nodes)
                return 0;
        nd = tree_nodes_add(rd->nodes, path);
        if (!nd)
                return -ENOMEM;
        if (link) {
                nd->hardlink = strdup(link);
                return nd->hardlink ? 0 : -ENOMEM;
        }
        nd->type = tree_typeflag(type);       /* AE_IF* are the S_IF* values */
        nd->mode = type == AE_IFLNK ? 0777 : archive_entry_mode(e) & 07777;
        nd->uid = (uid_t) archive_entry_uid(e);
        nd->gid = (gid_t) archive_entry_gid(e);
        nd->from_disk = type == AE_IFCHR || type == AE_IFBLK || archive_entry_xattr_count(e) > 0 ||
                archive_entry_acl_types(e) != 0;
        if (type == AE_IFLNK) {
                nd->symlink = strdup(archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
                if (!nd->symlink)
                        return -ENOMEM;
        }
        if (type == AE_IFREG) {
                nd->size = (uint64_t) archive_entry_size(e);
                nd->content = calloc(1, sizeof(ContentDigest));
                if (!nd->content)
                        return -ENOMEM;
                *ret_out = nd->content;
        }
        return 0;
}

/* The directories the writer made for what was below them (0755, the shifted root), and
 * rootfs itself when no entry gave it: the setup made it, with this process's umask. */
static int record_implied_dirs(Render *rd) {
        uid_t root = rd->options ? rd->options->uid_shift : 0;
        TreeClaim top = tree_claims_get(rd->claims, "rootfs");

        if (!rd->nodes)
                return 0;
        for (size_t i = 0; i < rd->claims->n_slots; i++) {
                const ClaimSlot *c = &rd->claims->slots[i];
                TreeNode *nd;

                if (!c->path || c->claim != TREE_CLAIM_IMPLICIT_DIR ||
                    strcmp(c->path, "rootfs") == 0)
                        continue;
                nd = tree_nodes_add(rd->nodes, c->path);
                if (!nd)
                        return -ENOMEM;
                *nd = (TreeNode) { .path = nd->path, .type = '5', .mode = 0755, .uid = root,
                                   .gid = root };
        }
        if (top == TREE_CLAIM_NONE || top == TREE_CLAIM_IMPLICIT_DIR) {
                TreeNode *nd = tree_nodes_add(rd->nodes, "rootfs");

                if (!nd)
                        return -ENOMEM;
                nd->type = '5';
                nd->from_disk = true;
        }
        return 0;
}

/* Whether new files here come with xattrs of their own (an SELinux label, say), which the
 * nodes would not know: then the tree hash walks the tree. */
static bool fs_adds_xattrs(int dir_fd) {
        _cleanup_close_ int dir = openat(dir_fd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                         O_CLOEXEC);
        _cleanup_close_ int file = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        int fds[] = { dir, file };

        /* Without a file to ask (O_TMPFILE unsupported, say), assume it does. */
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                ssize_t n;

                if (fds[i] < 0)
                        return true;
                n = flistxattr(fds[i], NULL, 0);
                if (n > 0 || (n < 0 && errno != ENOTSUP))
                        return true;
        }
        return false;
}

/* *ret_out: where the content digest of a regular file goes, if the caller wants them. */
static int extract_entry(Render *rd, struct archive *a, struct archive_entry *e, const char *path,
                         ContentDigest **ret_out) {
        int r;

        r = check_hardlink(rd, e, path);
        if (r >= 0 && !archive_entry_hardlink(e))
                r = check_type(rd, e, path);
        if (r >= 0)
                r = shift_ids(rd, e, path);
        if (r < 0)
                return r;
        r = tree_writer_begin(rd->writer, e, path);
        if (r < 0)
                return write_failure(rd, path, r);
        r = record_node(rd, e, path, ret_out);
        if (r < 0)
                return r;
        if (archive_entry_size(e) > 0) {
                r = copy_data(rd, a, path);
                if (r < 0)
                        return r;
        }
        r = tree_writer_end(rd->writer);
        return r < 0 ? write_failure(rd, path, r) : 0;
}

static int render_entry(Render *rd, size_t i, const TreeWhitelist *upper, struct archive *a,
                        struct archive_entry *e, ContentDigest **ret_out) {
        const char *name = archive_entry_pathname(e);
        bool is_dir = archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e);
        char path[PATH_MAX];
        int r;

        if (!name || tree_clean_path(name, path, sizeof(path)) < 0)
                return error_detail_set(rd->error, -EBADMSG, name ? name : "",
                                        "unsafe path in image %s", rd->images[i].key);
        if (strcmp(path, "manifest") == 0)
                return i == 0 ? render_manifest(rd, a, e) : 0;
        if (strcmp(path, "rootfs") == 0)
                r = is_dir ? tree_claims_select(rd->claims, NULL, NULL, path, true) : 0;
        else if (strncmp(path, "rootfs/", 7) == 0)
                r = tree_claims_select(rd->claims, &rd->whitelists[i], upper, path, is_dir);
        else
                return 0;
        if (r <= 0)
                return r;
        return extract_entry(rd, a, e, path, ret_out);
}

static void archive_read_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

static int blob_corrupt(Render *rd, const char *key, const char *why) {
        return error_detail_set(rd->error, -EBADMSG, key, "blob of %s is corrupt%s%s", key,
                                why ? ": " : "", why ? why : "");
}

static void blob_check_freep(BlobCheck **b) {
        *b = blob_check_free(*b);
}

/* The blob was read through; now compare. The ID decides whenever the check digest cannot:
 * none recorded (an image indexed before there were any), a stream the digest cannot follow,
 * or a mismatch, which may also be a recorded digest gone bad or a libarchive that reads the
 * tar differently since the import. Then the blob's SHA-512 is compared with the ID, and if
 * the blob is good, the digest computed here is recorded for the next render. */
static int check_blob(Render *rd, const char *key, int checked, const char *digest) {
        ImageInfo info = {};
        char id[IMAGE_ID_LEN + 1];
        bool ok;
        int r;

        if (checked < 0 && checked != -EOPNOTSUPP)
                return checked;
        r = image_store_get(rd->store, key, &info);
        if (r < 0)
                return r;
        ok = checked >= 0 && strcmp(digest, info.check_digest) == 0;
        if (!ok) {
                r = image_store_blob_id(rd->store, key, id);
                ok = r >= 0 && strcmp(id, info.id) == 0;
                if (ok && checked >= 0)
                        (void) image_store_set_check_digest(rd->store, key, digest);
        }
        image_info_clear(&info);
        if (r < 0)
                return r;
        return ok ? 0 : blob_corrupt(rd, key, NULL);
}

static int render_image(Render *rd, size_t i) {
        const char *key = rd->images[i].key;
        ssize_t u = tree_upper_whitelist(rd->images, rd->whitelisted, i);
        const TreeWhitelist *upper = u >= 0 ? &rd->whitelists[u] : NULL;
        _cleanup_(blob_check_freep) BlobCheck *b = NULL;
        _cleanup_(archive_read_freep) struct archive *a = NULL;
        char digest[STREAM_DIGEST_LEN + 1];
        struct archive_entry *e;
        int fd, r;

        r = image_store_open_blob(rd->store, key, &fd);
        if (r < 0)
                return error_detail_set(rd->error, r, key, "cannot open the blob of %s: %s", key,
                                        strerror(-r));
        r = blob_check_new(&b, fd);
        if (r < 0)
                return r;
        rd->check = b;
        a = archive_read_new();
        if (!a)
                return -ENOMEM;
        if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
            archive_read_open(a, b, NULL, blob_check_read, NULL) != ARCHIVE_OK)
                return blob_corrupt(rd, key, archive_error_string(a));

        while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
                ContentDigest *out = NULL;

                if (r < ARCHIVE_WARN)
                        return blob_corrupt(rd, key, archive_error_string(a));
                r = render_entry(rd, i, upper, a, e, &out);
                if (r >= 0)
                        r = finish_entry_data(rd, a, e, archive_entry_pathname(e), out);
                if (r < 0)
                        return r;
        }
        r = blob_check_finish(b, digest);
        rd->check = NULL;
        return check_blob(rd, key, r, digest);
}

static int render_setup(Render *rd) {
        const RenderOptions *o = rd->options;
        int r;

        if (mkdirat(rd->dir_fd, "rootfs", 0755) < 0)
                return NEG_ERRNO();
        if (rd->nodes && fs_adds_xattrs(rd->dir_fd))
                rd->nodes->incomplete = true;
        r = tree_claims_new(&rd->claims);
        if (r < 0)
                return r;
        rd->whitelists = calloc(rd->n, sizeof(TreeWhitelist));
        rd->whitelisted = calloc(rd->n, sizeof(bool));
        if (!rd->whitelists || !rd->whitelisted)
                return -ENOMEM;
        for (size_t i = 0; i < rd->n; i++) {
                const ImageManifest *m = rd->images[i].manifest;

                r = tree_whitelist_init(&rd->whitelists[i], m->path_whitelist, m->n_path_whitelist);
                if (r < 0)
                        return error_detail_set(rd->error, -EBADMSG, "pathWhitelist",
                                                "bad pathWhitelist in %s", rd->images[i].key);
                rd->whitelisted[i] = rd->whitelists[i].n > 0;
        }
        return tree_writer_new(&rd->writer, rd->dir_fd, rd->dir, &(TreeWriterOptions) {
                        .id_shift = o ? o->uid_shift : 0,
                        .id_count = o && o->uid_shift ? o->uid_count : 0,
                });
}

/* Directory times are set when the writer closes, after every image: creating the files of
 * the next image in a directory would change them again. */
static int render_all(Render *rd) {
        int r;

        for (size_t i = 0; i < rd->n; i++) {
                r = render_image(rd, i);
                if (r < 0)
                        return r;
        }
        r = tree_writer_close(rd->writer);
        if (r < 0)
                return write_failure(rd, "rootfs", r);
        r = record_implied_dirs(rd);
        if (r < 0)
                return r;
        if (!rd->manifest_written)
                return error_detail_set(rd->error, -EBADMSG, "manifest", "image %s has no manifest",
                                        rd->images[0].key);
        return 0;
}

static int render_in(Render *rd) {
        int r;

        rd->dir_fd = open(rd->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rd->dir_fd < 0)
                return NEG_ERRNO();
        r = render_setup(rd);
        return r < 0 ? r : render_all(rd);
}

int tree_render_images(ImageStore *s, const TreeImage *images, size_t n, const char *dir,
                       const RenderOptions *options, TreeNodes *nodes, ErrorDetail *error) {
        Render rd = { .store = s, .images = images, .n = n, .options = options, .dir = dir,
                      .dir_fd = -EBADF, .nodes = nodes, .error = error };
        int r;

        if (n == 0 || n > TREE_IMAGES_MAX)
                return -EINVAL;
        if (options && options->uid_shift != 0 &&
            (options->uid_count == 0 || options->uid_shift + options->uid_count < options->uid_shift))
                return error_detail_set(error, -EINVAL, "uidShift", "bad id range %u+%u",
                                        (unsigned) options->uid_shift, (unsigned) options->uid_count);
        if (mkdir(dir, 0755) < 0)
                return NEG_ERRNO();
        r = render_in(&rd);
        render_done(&rd);
        if (r < 0)
                (void) tree_remove_dir(AT_FDCWD, dir);
        return r;
}
