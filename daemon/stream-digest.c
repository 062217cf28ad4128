/* StreamDigest; see stream-digest.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "hex.h"
#include "stream-digest.h"

static const uint8_t zeros[64 * 1024];

int stream_digest_init(StreamDigest *d) {
        *d = (StreamDigest) {
                .outer = EVP_MD_CTX_new(),
                .contents = EVP_MD_CTX_new(),
                .content = EVP_MD_CTX_new(),
        };
        if (!d->outer || !d->contents || !d->content ||
            EVP_DigestInit_ex(d->outer, EVP_sha256(), NULL) != 1 ||
            EVP_DigestInit_ex(d->contents, EVP_sha256(), NULL) != 1) {
                stream_digest_done(d);
                return -ENOMEM;
        }
        return 0;
}

void stream_digest_done(StreamDigest *d) {
        EVP_MD_CTX_free(d->outer);
        EVP_MD_CTX_free(d->contents);
        EVP_MD_CTX_free(d->content);
        *d = (StreamDigest) {};
}

static int update(EVP_MD_CTX *md, const void *p, size_t n) {
        return n == 0 || EVP_DigestUpdate(md, p, n) == 1 ? 0 : -EIO;
}

static int update_zeros(EVP_MD_CTX *md, uint64_t n) {
        while (n > 0) {
                size_t k = n < sizeof(zeros) ? (size_t) n : sizeof(zeros);

                if (update(md, zeros, k) < 0)
                        return -EIO;
                n -= k;
        }
        return 0;
}

int stream_digest_block(StreamDigest *d, const void *block, size_t size) {
        int r = 0;

        if (d->block && !d->broken)
                r = update(d->outer, d->block + d->cursor, d->block_size - d->cursor);
        d->block = block;
        d->block_size = size;
        d->cursor = 0;
        return r;
}

int stream_digest_data(StreamDigest *d, const void *data, size_t size, uint64_t offset) {
        const uint8_t *p = data;
        int r;

        if (size == 0 || d->broken)
                return 0;
        if (!d->block || p < d->block + d->cursor || p + size > d->block + d->block_size ||
            offset < d->content_at) {
                d->broken = true;
                return 0;
        }
        if (!d->in_entry) {
                if (EVP_DigestInit_ex(d->content, EVP_sha256(), NULL) != 1)
                        return -EIO;
                d->in_entry = true;
                d->content_at = 0;
        }
        r = update(d->outer, d->block + d->cursor, (size_t) (p - (d->block + d->cursor)));
        if (r >= 0)
                r = update_zeros(d->content, offset - d->content_at);
        if (r >= 0)
                r = update(d->content, p, size);
        if (r < 0)
                return r;
        d->cursor = (size_t) (p + size - d->block);
        d->content_at = offset + size;
        return 0;
}

int stream_digest_entry_end(StreamDigest *d, uint64_t size, uint8_t ret[CONTENT_DIGEST_SIZE]) {
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        int r = 0;

        if (!d->in_entry)
                return 0;
        d->in_entry = false;
        if (size > d->content_at)
                r = update_zeros(d->content, size - d->content_at);
        d->content_at = 0;
        if (r < 0 || EVP_DigestFinal_ex(d->content, digest, &len) != 1 || len != CONTENT_DIGEST_SIZE)
                return -EIO;
        /* Data past the break were not hashed: this digest is not the file's. */
        if (d->broken)
                return 0;
        if (update(d->contents, digest, len) < 0)
                return -EIO;
        if (ret)
                memcpy(ret, digest, CONTENT_DIGEST_SIZE);
        return 1;
}

int stream_digest_final(StreamDigest *d, char ret[STREAM_DIGEST_LEN + 1]) {
        uint8_t both[2 * CONTENT_DIGEST_SIZE], digest[EVP_MAX_MD_SIZE];
        unsigned len = 0, len2 = 0;
        int r;

        if (d->in_entry || d->broken)
                return -EOPNOTSUPP;
        r = stream_digest_block(d, NULL, 0);
        if (r < 0)
                return r;
        if (EVP_DigestFinal_ex(d->outer, both, &len) != 1 || len != CONTENT_DIGEST_SIZE ||
            EVP_DigestFinal_ex(d->contents, both + len, &len2) != 1 || len2 != CONTENT_DIGEST_SIZE ||
            EVP_Digest(both, sizeof(both), digest, &len, EVP_sha256(), NULL) != 1)
                return -EIO;
        memcpy(ret, STREAM_DIGEST_PREFIX, 7);
        hex_encode(digest, CONTENT_DIGEST_SIZE, ret + 7);
        return 0;
}

bool stream_digest_is_valid(const char *s) {
        return s && strlen(s) == STREAM_DIGEST_LEN && strncmp(s, STREAM_DIGEST_PREFIX, 7) == 0 &&
               hex_is_lower(s + 7, STREAM_DIGEST_LEN - 7);
}
