/* The pieces of rendering that the tree store and its tests share: the flattened image list,
 * the whitelist and first-writer-wins selection, and the extraction. Each piece takes plain
 * data or callbacks, so it can be tested without an image store.
 *
 * Selection keeps one invariant: every claimed path has all its ancestors claimed as
 * directories (explicitly by an entry, or implicitly because something below them was
 * taken). So nothing is ever written through a symlink or over a file that an image above
 * (or earlier in the same image) provided. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image-manifest.h"
#include "tree-store.h"

#define TREE_IMAGES_MAX 64           /* images in one flattened list, the top one included */
#define TREE_PATH_DEPTH_MAX 256      /* components of one path inside an image */

/* One image of a flattened list. manifest is borrowed from whoever resolved it. */
typedef struct TreeImage {
        char key[IMAGE_KEY_LEN + 1];
        unsigned level;
        size_t parent;               /* index of the image that named it; 0 for the top one */
        const ImageManifest *manifest;
} TreeImage;

/* What flattening needs from a store. manifest() hands out a manifest that stays valid until
 * the resolver is done with; resolve() turns a dependency into a key (-ENOENT, -ENOTUNIQ). */
typedef struct TreeResolver {
        int (*manifest)(void *userdata, const char *key, const ImageManifest **ret);
        int (*resolve)(void *userdata, const AppcDependency *dep, char ret_key[IMAGE_KEY_LEN + 1]);
        void *userdata;
} TreeResolver;

/* appc's order: each dependency is inserted right after its parent. Refuses cycles and more
 * than TREE_IMAGES_MAX images (-ELOOP, -E2BIG) and unresolvable dependencies, with *error. */
int tree_flatten_images(const TreeResolver *resolver, const char *key, TreeImage **ret,
                        size_t *ret_n, ErrorDetail *error);

/* A resolver over an ImageStore; it owns the manifests it loaded. */
typedef struct TreeStoreResolver {
        ImageStore *store;
        ImageManifest **manifests;
        char (*keys)[IMAGE_KEY_LEN + 1];
        size_t n;
} TreeStoreResolver;

void tree_store_resolver_init(TreeStoreResolver *r, ImageStore *s, TreeResolver *ret);
void tree_store_resolver_done(TreeStoreResolver *r);

/* A whitelist as rkt compares it: "rootfs/<path>" after a lexical clean, exact matches only.
 * An empty whitelist holds no paths and means "everything". */
typedef struct TreeWhitelist {
        char **paths;                /* sorted */
        size_t n;
} TreeWhitelist;

int tree_whitelist_init(TreeWhitelist *w, char *const *paths, size_t n);
void tree_whitelist_done(TreeWhitelist *w);
bool tree_whitelist_has(const TreeWhitelist *w, const char *clean_name);

/* appc's getUpperPWLM: the index of the image whose whitelist filters every entry of image
 * pos, or -1 for none. whitelisted[i] tells whether image i has a non-empty whitelist. */
ssize_t tree_upper_whitelist(const TreeImage *images, const bool *whitelisted, size_t pos);

/* Cleans a tar entry name lexically into buf ("./rootfs//a/" -> "rootfs/a"). Refuses absolute
 * names, ".." components, empty names and more than TREE_PATH_DEPTH_MAX components. */
int tree_clean_path(const char *name, char *buf, size_t size);
/* Cleans "rootfs" + whitelist path like Go's filepath.Join+Clean (".." pops). */
int tree_clean_whitelist_path(const char *path, char *buf, size_t size);

/* The paths claimed so far in one render. */
typedef struct TreeClaims TreeClaims;

typedef enum TreeClaim {
        TREE_CLAIM_NONE,
        TREE_CLAIM_IMPLICIT_DIR,     /* a parent of something taken, with no entry of its own yet */
        TREE_CLAIM_DIR,
        TREE_CLAIM_OTHER,            /* anything but a directory */
} TreeClaim;

int tree_claims_new(TreeClaims **ret);
TreeClaims *tree_claims_free(TreeClaims *c);
TreeClaim tree_claims_get(const TreeClaims *c, const char *path);

/* Decides whether an entry of an image is taken, and claims it (and its parents) if so.
 * own: the image's own whitelist; upper: the one from tree_upper_whitelist (NULL: none).
 * Returns 1 when taken, 0 when skipped, negative errno on failure. */
int tree_claims_select(TreeClaims *c, const TreeWhitelist *own, const TreeWhitelist *upper,
                       const char *clean_name, bool is_dir);

/* Renders the images into dir (which must not exist; it is removed again on failure). With
 * nodes, adds what it made, for tree_hash_nodes. */
int tree_render_images(ImageStore *s, const TreeImage *images, size_t n, const char *dir,
                       const RenderOptions *options, TreeNodes *nodes, ErrorDetail *error);

/* Removes a directory tree without following symlinks. Missing is fine. */
int tree_remove_dir(int parent_fd, const char *name);
