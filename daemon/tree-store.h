/* The tree store: images rendered with their dependencies, under <data>/images/trees/<id>/
 *   rootfs/    the flattened filesystem
 *   manifest   the top image's manifest
 *   image      the top image's key
 *   hash       the tree hash (rkt's algorithm, SHA-256 per file), "sha512-" + 64 hex
 *   rendered   empty marker, written last: a tree without it is never used
 * The tree ID is "deps-" + the store key of sha512 over the flattened dependency keys joined
 * by ",", so a tree changes identity when a name-resolved dependency does. A tree is rendered
 * under an exclusive flock of trees/<id>.lck: two renders of one tree at once give one tree.
 * Rendering follows appc's acirenderer: dependency order, first writer wins, pathWhitelist,
 * parents masked by a higher non-directory, every blob re-checked while it is read (against
 * its check digest, see stream-digest.h, or its ID when it has none); owners, modes, setuid
 * bits, xattrs and times kept. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "blob-check.h"
#include "error-detail.h"
#include "image-store.h"

#define TREE_ID_LEN (5 + IMAGE_KEY_LEN)   /* "deps-sha512-" + 64 hex */
#define TREE_HASH_LEN IMAGE_KEY_LEN

typedef struct TreeInfo {
        char id[TREE_ID_LEN + 1];
        char hash[TREE_HASH_LEN + 1];
        char image_key[IMAGE_KEY_LEN + 1];
        char path[4096];            /* of the tree dir; its rootfs is path + "/rootfs" */
} TreeInfo;

typedef struct RenderOptions {
        uid_t uid_shift;            /* added to every uid and gid (private users); 0: none */
        uid_t uid_count;
} RenderOptions;

/* The image and its dependencies in rendering order (appc: each dependency right after its
 * parent), as a NULL-terminated array of keys. A dependency that cannot be resolved gives
 * -ENOENT with *error naming it. */
int tree_flatten(ImageStore *s, const char *key, char ***ret_keys, ErrorDetail *error);
int tree_id_from_keys(char *const *keys, char ret[TREE_ID_LEN + 1]);

/* Renders the flattened images into dir/rootfs (dir is created; it must not exist) and writes
 * dir/manifest. Used by the tree store and directly for copy-mode pods and `image render`.
 * On failure dir is removed again. -EBADMSG with *error for a corrupt blob ("blob of <key>
 * is corrupt") or an entry that cannot be rendered (field: its path); -ERANGE for an owner
 * outside uid_count; -ESTALE when the store no longer flattens keys[0] to keys. */
int tree_render(ImageStore *s, char *const *keys, const char *dir, const RenderOptions *options,
                ErrorDetail *error);

/* The rendered tree of key, rendering it first if needed (errors as tree_flatten and
 * tree_render). Moves the last-use time of every image in it. */
int tree_store_get(ImageStore *s, const char *key, TreeInfo *ret, ErrorDetail *error);
/* Recomputes the hash of a rendered tree: 0 when it matches, -EBADMSG when not (then
 * *ret_actual gets the computed hash, malloc'd). */
int tree_store_verify(ImageStore *s, const char *tree_id, char **ret_actual);
int tree_store_remove(ImageStore *s, const char *tree_id);
/* What is recorded of a rendered tree (its hash and top image); -ENOENT when it is not
 * rendered, -EINVAL for a malformed ID. Renders nothing. */
int tree_store_info(ImageStore *s, const char *tree_id, TreeInfo *ret);
/* IDs of all rendered trees, sorted, NULL-terminated. A tree left half-rendered by a crash is
 * not listed; the next tree_store_get of it renders it again. */
int tree_store_list(ImageStore *s, char ***ret_ids);
/* What a render made, one node per path, so that the tree hash need not walk the tree it
 * just wrote. Content digests are allocated one by one: the render's hashing thread fills
 * them in while the list grows. */
typedef struct TreeNode {
        char *path;                  /* relative to the tree dir ("rootfs/bin/sh") */
        char *hardlink;              /* a hard link: the path linked to; the rest is unset */
        char *symlink;               /* a symlink's target */
        char type;                   /* the tar typeflag: '0' '2' '3' '4' '5' '6' */
        bool from_disk;              /* the metadata below is to be read back from the tree */
        mode_t mode;                 /* & 07777 */
        uid_t uid;
        gid_t gid;
        uint64_t size;
        ContentDigest *content;      /* of a regular file written, or NULL */
} TreeNode;

typedef struct TreeNodes {
        TreeNode *nodes;
        size_t n, allocated;
        bool sorted;
        /* The filesystem (or a security module) gives new files xattrs of its own, which
         * the nodes do not know: the tree hash walks the tree instead. */
        bool incomplete;
} TreeNodes;

/* The tar typeflag of a file type (S_IF*): '0' '2' '3' '4' '5' '6', 0 for a socket. */
char tree_typeflag(mode_t mode);

void tree_nodes_done(TreeNodes *n);
/* A new node for path, zeroed otherwise, or NULL without memory. Pointers to nodes are valid
 * until the next add. */
TreeNode *tree_nodes_add(TreeNodes *n, const char *path);

/* rkt's tree hash over dir (the tree dir, holding rootfs/), by a walk. Files whose content
 * digest known has (may be NULL) are not read. */
int tree_hash(const char *dir, TreeNodes *known, char ret[TREE_HASH_LEN + 1]);
/* The same hash from the nodes of the render that made dir (all of it but the top-level
 * files), reading back only the nodes marked from_disk and files without a digest. Falls
 * back to tree_hash when the nodes are incomplete. */
int tree_hash_nodes(const char *dir, TreeNodes *nodes, char ret[TREE_HASH_LEN + 1]);
/* The same with SHA-512 per file, as trees recorded it before check digests: verify accepts
 * an older tree whose hash matches this way. */
int tree_hash_legacy(const char *dir, char ret[TREE_HASH_LEN + 1]);
