/* ImageIndex: the SQLite index of the image store (images/index.sqlite). One row per image
 * (key, full ID, name, manifest text, size, import and last-use times) and its labels in a
 * table of their own, so names and labels are looked up without reading manifests. The
 * database runs in WAL mode with a busy timeout, so several processes may use it at once;
 * every write is one IMMEDIATE transaction, every multi-statement read one read transaction.
 * The schema version lives in PRAGMA user_version; a newer schema than ours is refused.
 * The index knows nothing of blobs: the store keeps the two in step. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "image-store.h"

#define IMAGE_INDEX_SCHEMA_VERSION 2
#define IMAGE_INDEX_BUSY_TIMEOUT_MS 10000

typedef struct ImageIndex ImageIndex;

int image_index_open(ImageIndex **ret, const char *path);
ImageIndex *image_index_free(ImageIndex *x);

/* Adds an image with the name and labels of info. Returns 0 when the row was added, 1 when
 * the key was there already (nothing changed). */
int image_index_insert(ImageIndex *x, const ImageInfo *info, const char *manifest);
/* 1 when key is indexed, 0 when not. */
int image_index_contains(ImageIndex *x, const char *key);
int image_index_get(ImageIndex *x, const char *key, ImageInfo *ret);
/* The manifest text as imported, malloc'd and NUL-terminated. */
int image_index_manifest(ImageIndex *x, const char *key, char **ret);
/* Full IDs of the images whose key starts with key_prefix, at most max of them (more are not
 * looked for), as a NULL-terminated array; returns how many. */
int image_index_find_key_prefix(ImageIndex *x, const char *key_prefix, size_t max,
                                char ***ret_ids);
/* The key of the newest import named name that carries all the labels; -ENOENT if none. */
int image_index_find_name(ImageIndex *x, const char *name, const AppcLabel *labels,
                          size_t n_labels, char ret_key[IMAGE_KEY_LEN + 1]);
/* Images whose name starts with name_prefix (NULL: any) and that carry all the labels,
 * sorted by name and then newest import first; -E2BIG over max rows. */
int image_index_list(ImageIndex *x, const char *name_prefix, const AppcLabel *labels,
                     size_t n_labels, size_t max, ImageInfo **ret, size_t *ret_n);
/* Moves last_used forward to now_usec (never back); -ENOENT for an unknown key. */
int image_index_touch(ImageIndex *x, const char *key, uint64_t now_usec);
/* Records the check digest (stream-digest.h) of an image indexed without one. */
int image_index_set_check_digest(ImageIndex *x, const char *key, const char *digest);
/* Deletes the row and its labels; -ENOENT for an unknown key. */
int image_index_remove(ImageIndex *x, const char *key);
