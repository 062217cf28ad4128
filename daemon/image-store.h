/* ImageStore: the content-addressed store of App Container images under <data>/images/:
 *   blobs/sha512/<2 hex>/<key>   each image's uncompressed tar, key = "sha512-" + 64 hex
 *   index.sqlite                 names, labels, manifests, sizes, import and last-use times (WAL)
 *   tmp/                         imports in progress; emptied when the store is opened
 * A blob is renamed into place (after fsync) before its index row is committed, so a crash at
 * any point leaves either the whole image or nothing that the index knows of. Several
 * processes (stage0d and its workers) may open the same store at once; one ImageStore object
 * is used by one thread at a time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error-detail.h"
#include "image-manifest.h"
#include "stream-digest.h"

#define IMAGE_ID_LEN (7 + 128)    /* "sha512-" + 128 hex */
#define IMAGE_KEY_LEN (7 + 64)    /* "sha512-" + 64 hex */

typedef struct ImageStore ImageStore;

typedef struct ImageInfo {
        char id[IMAGE_ID_LEN + 1];
        char key[IMAGE_KEY_LEN + 1];
        char *name;
        AppcLabel *labels;
        size_t n_labels;
        uint64_t size;              /* bytes of the uncompressed tar */
        uint64_t imported_usec;     /* CLOCK_REALTIME */
        uint64_t last_used_usec;
        char check_digest[STREAM_DIGEST_LEN + 1]; /* what renders re-check; "" if unknown */
} ImageInfo;

void image_info_clear(ImageInfo *info);

/* What a caller names an image by: an ID or key prefix (at least "sha512-" + 2 hex), or a
 * name with labels that must all match (a "version" label picks a version; without one the
 * newest import of the name wins). */
typedef struct ImageRef {
        const char *id;
        const char *name;
        const AppcLabel *labels;
        size_t n_labels;
} ImageRef;

typedef struct ImageImportOptions {
        bool allow_device_nodes;
        uint64_t size_max;          /* of the uncompressed tar; 0 = IMAGE_SIZE_MAX_DEFAULT */
} ImageImportOptions;

#define IMAGE_SIZE_MAX_DEFAULT (8ULL * 1024 * 1024 * 1024)
/* At most this many IDs are reported for an ambiguous prefix. */
#define IMAGE_STORE_MATCHES_MAX 32
/* image_store_list refuses with -E2BIG to return more images than this. */
#define IMAGE_STORE_LIST_MAX 100000

typedef void (*ImageImportProgress)(uint64_t bytes_read, uint64_t bytes_total, void *userdata);

/* Opens (creating as needed) the store under data_dir/images and removes leftovers in tmp/. */
int image_store_open(ImageStore **ret, const char *data_dir);
ImageStore *image_store_free(ImageStore *s);
const char *image_store_path(const ImageStore *s);   /* <data>/images */

/* Imports the ACI read from fd: a tar, plain or compressed (gzip, bzip2, xz, zstd). One pass
 * over the input decompresses, hashes, writes and checks the blob (image-import.h lists what
 * is refused). Returns 0 when the image was stored now; 1 when it was stored already
 * (nothing changed, not even the last-use time: call image_store_touch for that); -EBADMSG
 * with *error for a refused image (nothing is left behind); -EFBIG over size_max; -EMSGSIZE
 * for a manifest over IMAGE_MANIFEST_SIZE_MAX; or another negative errno. A refusal of the
 * tar has the archive path in error->field ("" for the stream as a whole); a refusal of the
 * manifest's content has "manifest:" + its JSON path ("manifest:labels[1].name", "manifest:"
 * for the whole manifest). progress (may be NULL) is called after each read of the input
 * with the input bytes read so far and the file's size (0 when fd is not a regular file).
 * *ret (may be NULL) gets the stored image; after a 1, with its first import time. */
int image_store_import(ImageStore *s, int fd, const ImageImportOptions *options,
                       ImageImportProgress progress, void *userdata, ImageInfo *ret,
                       ErrorDetail *error);

/* -ENOENT when nothing matches, -ENOTUNIQ when an ID prefix matches several images (then
 * *ret_matches, if not NULL, gets their full IDs, NULL-terminated, at most
 * IMAGE_STORE_MATCHES_MAX), -EINVAL for a malformed ref: both or neither of id and name, an
 * ID prefix shorter than "sha512-" + 2 hex digits, longer than a full ID or not lowercase hex,
 * a name that is not an ACIdentifier. An ID prefix longer than a key must still be a prefix
 * of the full ID. Of the images of a name that carry all the labels the newest import wins. */
int image_store_resolve(ImageStore *s, const ImageRef *ref, ImageInfo *ret, char ***ret_matches);
int image_store_get(ImageStore *s, const char *key, ImageInfo *ret);
/* Images whose name starts with name_prefix (NULL: all) and that carry all the labels. */
int image_store_list(ImageStore *s, const char *name_prefix, const AppcLabel *labels,
                     size_t n_labels, ImageInfo **ret, size_t *ret_n);
void image_info_array_free(ImageInfo *a, size_t n);
int image_store_manifest(ImageStore *s, const char *key, ImageManifest **ret);
/* A read-only fd of the blob. */
int image_store_open_blob(ImageStore *s, const char *key, int *ret_fd);
int image_store_touch(ImageStore *s, const char *key, uint64_t now_usec);
/* The SHA-512 of the blob as an image ID, read in full: what an import computed. */
int image_store_blob_id(ImageStore *s, const char *key, char ret[IMAGE_ID_LEN + 1]);
/* For an image indexed before check digests (a render computed it after checking the ID). */
int image_store_set_check_digest(ImageStore *s, const char *key, const char *digest);
/* Removes the index row, then the blob. Rendered trees are the tree store's business. */
int image_store_remove(ImageStore *s, const char *key);
