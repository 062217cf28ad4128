/* BlobCheck: reads an image blob for libarchive's tar reader and computes its check digest
 * (stream-digest.h) on a second thread, so that a render re-checks every byte it reads and
 * gets each file's content digest for the tree hash without a pass of its own.
 *
 * The blob is read into a ring of buffers. The render passes each data block that libarchive
 * returns (a pointer into the current buffer: tar data is not copied) and each entry's end;
 * the thread hashes them in order, and a buffer is read into again only after the thread has
 * moved past it. An entry's content digest is written to the place the render names, which
 * must stay valid until blob_check_finish() returns. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "stream-digest.h"

struct archive;
typedef struct BlobCheck BlobCheck;

typedef struct ContentDigest {
        uint8_t digest[CONTENT_DIGEST_SIZE];
        bool set;                     /* the entry had data */
} ContentDigest;

/* Takes fd, which is closed by blob_check_free(). */
int blob_check_new(BlobCheck **ret, int fd);
BlobCheck *blob_check_free(BlobCheck *b);
/* The archive_read_open() read callback; userdata is the BlobCheck. */
ssize_t blob_check_read(struct archive *a, void *userdata, const void **ret);
int blob_check_data(BlobCheck *b, const void *data, size_t size, int64_t offset);
/* size: the entry's size in its header; ret may be NULL. */
int blob_check_entry_end(BlobCheck *b, int64_t size, ContentDigest *ret);
/* Reads the rest of the blob and waits for the thread. Returns 0 with the check digest, or
 * -EOPNOTSUPP when libarchive handed out data the digest cannot place (the caller checks the
 * image ID instead), or another negative errno. */
int blob_check_finish(BlobCheck *b, char ret[STREAM_DIGEST_LEN + 1]);
