/* StreamDigest: an image's check digest, which a render re-checks instead of the image ID.
 *
 * Rendering must re-check every byte of the blob it reads, and the tree hash needs the
 * SHA-256 of every file it writes. Re-hashing the blob with SHA-512 (the ID) and then each
 * file's bytes again is two passes; on these CPUs SHA-512 alone runs at ~420 MB/s, slower
 * than extraction. The check digest is one pass of SHA-256 (~1.2 GB/s with SHA-NI) that
 * gives both. The data bytes of each entry (the bytes libarchive hands out for it) are set
 * apart from the rest of the stream:
 *
 *   rest     = SHA-256 of the stream with every entry's data bytes left out;
 *   contents = SHA-256 of the content digests, in entry order, of the entries that have data:
 *              each the SHA-256 of the entry's file content (its data at the offsets
 *              libarchive gives, holes of sparse files and any tail up to the entry's size
 *              as zero bytes);
 *   check digest = "sha256-" + hex of SHA-256(rest || contents).
 *
 * Where the data lies follows from the headers, which are in rest, so the pair determines
 * the stream. (Putting each content digest in rest at the end of its data would not do:
 * libarchive may or may not have read the padding after the data by then, depending on where
 * the blocks end.)
 * So every byte of the stream is covered (headers, padding and trailing bytes directly, data
 * through the content digests), and the content digests are those the tree hash records.
 * The value does not depend on how the stream is cut into blocks. Import computes it (its
 * data comes from the same libarchive tar reader) and the index keeps it; a render compares.
 *
 * Use: stream_digest_block() for each block handed to libarchive's tar reader (and for each
 * block after the end of the archive), stream_digest_data() for each data block the reader
 * returns (it must lie in the current block: libarchive returns tar data without copying),
 * stream_digest_entry_end() after each entry's data. A data block that does not lie in the
 * current block makes the stream uncheckable: stream_digest_final() returns -EOPNOTSUPP and
 * the caller falls back to the SHA-512. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_DIGEST_PREFIX "sha256-"
#define STREAM_DIGEST_LEN (7 + 64)
#define CONTENT_DIGEST_SIZE 32

typedef struct evp_md_ctx_st EVP_MD_CTX;

typedef struct StreamDigest {
        EVP_MD_CTX *outer;          /* "rest" */
        EVP_MD_CTX *contents;
        EVP_MD_CTX *content;        /* the current entry's */
        const uint8_t *block;       /* the current block; outer has its bytes up to cursor */
        size_t block_size;
        size_t cursor;
        uint64_t content_at;        /* the entry's file offset that content has reached */
        bool in_entry;              /* content has data of the current entry */
        bool broken;
} StreamDigest;

int stream_digest_init(StreamDigest *d);
void stream_digest_done(StreamDigest *d);
/* The next block of the stream: what outer has not taken of the last one goes in first. */
int stream_digest_block(StreamDigest *d, const void *block, size_t size);
int stream_digest_data(StreamDigest *d, const void *data, size_t size, uint64_t offset);
/* Ends the current entry (size: its size in the header). Returns 1 with its content
 * digest in ret (may be NULL) when it had data, 0 when it had none or the stream could not
 * be followed (ret untouched: the tree hash then reads the file). */
int stream_digest_entry_end(StreamDigest *d, uint64_t size, uint8_t ret[CONTENT_DIGEST_SIZE]);
/* Takes the rest of the current block and formats the digest. */
int stream_digest_final(StreamDigest *d, char ret[STREAM_DIGEST_LEN + 1]);

/* True for "sha256-" and 64 lowercase hex digits. */
bool stream_digest_is_valid(const char *s);
