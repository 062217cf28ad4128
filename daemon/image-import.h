/* ImageImport: the one pass over an ACI that an import makes. The input is decompressed
 * (gzip, bzip2, xz, zstd or none, detected by libarchive), and each decompressed block is
 * hashed (SHA-512), written to the blob file and handed to a tar reader that checks every
 * entry and takes the check digest (stream-digest.h) as it goes by, so the input is read once
 * and the blob is never read back.
 * What the tar check refuses (each -EBADMSG, with ErrorDetail.field the entry's path as
 * written, less any trailing "/"):
 *   - entries other than "manifest" and "rootfs" / "rootfs/..." (a leading "./" is allowed);
 *   - absolute paths and ".." components, also in hard link targets;
 *   - an entry below a path that an earlier entry made a symlink (a write through it), and
 *     a non-symlink entry at such a path (a directory over a symlink); a hard link to a
 *     symlink is a symlink for these rules;
 *   - hard links whose target is not under rootfs/ or is not an earlier non-directory
 *     entry, or lies below a symlink;
 *   - character and block devices unless allowed; sockets and unknown types always;
 *   - a manifest that is missing, repeated or not a regular file (field "manifest");
 *   - no rootfs (neither a "rootfs" directory nor any "rootfs/..." entry; field "rootfs");
 *   - a stream that is not a tar, or is truncated or corrupt (field "");
 *   - more than about 1M non-directory entries (IMAGE_IMPORT_PATH_BYTES_MAX).
 * A manifest over IMAGE_MANIFEST_SIZE_MAX is -EMSGSIZE (field "manifest").
 * The manifest's content is not checked here; the caller parses it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error-detail.h"
#include "image-store.h"
#include "stream-digest.h"

#define IMAGE_IMPORT_BUFFER_SIZE (1024u * 1024u)
/* Memory for the paths remembered for the symlink and hard link checks (about 1M entries):
 * a tar with more non-directory entries is refused. */
#define IMAGE_IMPORT_PATH_BYTES_MAX (128u * 1024u * 1024u)

typedef struct ImageImportResult {
        uint8_t digest[64];          /* SHA-512 of the uncompressed tar */
        char check_digest[STREAM_DIGEST_LEN + 1]; /* see stream-digest.h; "" if none */
        uint64_t size;               /* bytes of the uncompressed tar */
        char *manifest;              /* the manifest entry, NUL-terminated, malloc'd */
        size_t manifest_size;
} ImageImportResult;

void image_import_result_clear(ImageImportResult *r);

/* Reads in_fd to its end and writes the uncompressed tar to out_fd (at its current offset).
 * options->size_max (0 = IMAGE_SIZE_MAX_DEFAULT) bounds the uncompressed size: -EFBIG as
 * soon as it is passed. progress, if set, is called after each read of the input with the
 * bytes read so far and the input's size (0 when it is not a regular file). Returns 0,
 * -EBADMSG with *error for a refused image, -EFBIG, -EMSGSIZE, -EOPNOTSUPP when this
 * libarchive cannot decompress one of the formats by itself, or another negative errno. */
int image_import_stream(int in_fd, int out_fd, const ImageImportOptions *options,
                        ImageImportProgress progress, void *userdata, ImageImportResult *ret,
                        ErrorDetail *error);
