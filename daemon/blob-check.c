/* BlobCheck; see blob-check.h. libarchive's thread and the hashing thread share a queue of
 * items: a new block, a data block inside the current one, an entry's end. The blob is read
 * into the free buffers by whichever thread gets there first: the hashing thread, whenever it
 * has nothing to hash, reads ahead (the extraction is the render's critical path, the hashing
 * thread has time to spare through small files); libarchive's thread reads itself when it
 * finds no block ready. Blocks are numbered: "filled", "taken" by libarchive, "released" by
 * the hashing thread once it is past them; a buffer is filled again only after its release. */
#include <archive.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blob-check.h"

/* The hashing thread is slower than the extraction through large files and idle through
 * small ones: with 4 slots the reader waited for it 13-27 ms per render of the bench image,
 * with 16 not at all. */
#define SLOTS 16
#define SLOT_SIZE (1024 * 1024)
#define HUGE_PAGE_SIZE (2 * 1024 * 1024)
#define QUEUE_SIZE 1024
#define BATCH 64

typedef enum ItemType {
        ITEM_BLOCK,
        ITEM_DATA,
        ITEM_END,
} ItemType;

typedef struct Item {
        ItemType type;
        const void *p;
        size_t size;
        uint64_t n;                  /* BLOCK: its number; DATA: file offset; END: entry size */
        ContentDigest *out;
} Item;

struct BlobCheck {
        int fd;
        uint8_t *ring;               /* SLOTS * SLOT_SIZE, in huge pages where it can */
        void *mapping;
        size_t mapping_size;
        StreamDigest digest;         /* the thread's */
        uint64_t taken;              /* libarchive's */
        pthread_t thread;
        bool started;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        unsigned sleepers;
        Item queue[QUEUE_SIZE];
        uint64_t pushed, popped;
        uint64_t filled, released;
        size_t sizes[SLOTS];         /* of the filled blocks */
        bool filling;                /* one thread is reading the next block */
        bool end;                    /* nothing more to fill: end of file or read_error */
        int read_error;
        bool closing;
        int error;                   /* the thread's first */
};

static void wake(BlobCheck *b) {
        if (b->sleepers > 0)
                pthread_cond_broadcast(&b->cond);
}

static void sleep_on(BlobCheck *b) {
        b->sleepers++;
        pthread_cond_wait(&b->cond, &b->lock);
        b->sleepers--;
}

static int process(BlobCheck *b, const Item *it) {
        int r;

        switch (it->type) {
        case ITEM_BLOCK:
                return stream_digest_block(&b->digest, it->p, it->size);
        case ITEM_DATA:
                return stream_digest_data(&b->digest, it->p, it->size, it->n);
        case ITEM_END:
                if (!it->out)
                        return stream_digest_entry_end(&b->digest, it->n, NULL);
                r = stream_digest_entry_end(&b->digest, it->n, it->out->digest);
                it->out->set = r > 0;
                return r;
        }
        return -EINVAL;
}

static bool can_fill(const BlobCheck *b) {
        return !b->end && !b->filling && b->filled - b->released < SLOTS;
}

/* Reads the next block into its buffer, with the lock dropped meanwhile (the flag keeps the
 * other thread from reading too: blocks are read in order). */
static void fill(BlobCheck *b) {
        uint8_t *slot = b->ring + (b->filled % SLOTS) * SLOT_SIZE;
        ssize_t n;

        b->filling = true;
        pthread_mutex_unlock(&b->lock);
        do
                n = read(b->fd, slot, SLOT_SIZE);
        while (n < 0 && errno == EINTR);
        pthread_mutex_lock(&b->lock);
        b->filling = false;
        if (n <= 0) {
                b->end = true;
                b->read_error = n < 0 ? -errno : 0;
        } else
                b->sizes[b->filled++ % SLOTS] = (size_t) n;
        wake(b);
}

static void *run(void *userdata) {
        BlobCheck *b = userdata;

        pthread_mutex_lock(&b->lock);
        for (;;) {
                /* A batch per lock: taking the lock per item made the reader contend for
                 * it (and sleep in futex calls) thousands of times per image. */
                Item batch[BATCH];
                size_t n = 0;
                uint64_t released = 0;
                bool any_block = false;
                int r = 0;

                if (b->popped == b->pushed) {
                        if (b->closing)
                                break;
                        if (can_fill(b))
                                fill(b);
                        else
                                sleep_on(b);
                        continue;
                }
                while (n < BATCH && b->popped < b->pushed)
                        batch[n++] = b->queue[b->popped++ % QUEUE_SIZE];
                wake(b);
                pthread_mutex_unlock(&b->lock);
                for (size_t i = 0; i < n; i++) {
                        if (r >= 0 && !b->error)
                                r = process(b, &batch[i]);
                        if (batch[i].type == ITEM_BLOCK) {
                                released = batch[i].n;
                                any_block = true;
                        }
                }
                pthread_mutex_lock(&b->lock);
                if (r < 0 && !b->error)
                        b->error = r;
                /* Past a new block, the one before it is done with (even after an error,
                 * so that the reader never waits for good). */
                if (any_block) {
                        b->released = released;
                        wake(b);
                }
        }
        pthread_mutex_unlock(&b->lock);
        return NULL;
}

/* The thread is woken once per block (or when the queue is half full), not per item: it
 * hashes faster than the extraction writes, so a wake-up per data block would cost the
 * reader a futex call and a context switch for every file. */
static void push(BlobCheck *b, Item it) {
        pthread_mutex_lock(&b->lock);
        while (b->pushed - b->popped >= QUEUE_SIZE) {
                wake(b);
                sleep_on(b);
        }
        b->queue[b->pushed++ % QUEUE_SIZE] = it;
        if (it.type == ITEM_BLOCK || b->pushed - b->popped >= QUEUE_SIZE / 2)
                wake(b);
        pthread_mutex_unlock(&b->lock);
}

int blob_check_new(BlobCheck **ret, int fd) {
        BlobCheck *b = calloc(1, sizeof(*b));

        if (!b) {
                close(fd);
                return -ENOMEM;
        }
        b->fd = fd;
        pthread_mutex_init(&b->lock, NULL);
        pthread_cond_init(&b->cond, NULL);
        /* Each worker renders in a fresh process: 4 KiB pages made the ring cost 4,096 page
         * faults per render. Aligned to a huge page, it takes 8 where THP is on. */
        b->mapping_size = SLOTS * SLOT_SIZE + HUGE_PAGE_SIZE;
        b->mapping = mmap(NULL, b->mapping_size, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (b->mapping == MAP_FAILED) {
                b->mapping = NULL;
                blob_check_free(b);
                return -ENOMEM;
        }
        b->ring = (uint8_t *) (((uintptr_t) b->mapping + HUGE_PAGE_SIZE - 1) &
                               ~(uintptr_t) (HUGE_PAGE_SIZE - 1));
        (void) madvise(b->ring, SLOTS * SLOT_SIZE, MADV_HUGEPAGE);
        if (stream_digest_init(&b->digest) < 0) {
                blob_check_free(b);
                return -ENOMEM;
        }
        if (pthread_create(&b->thread, NULL, run, b) != 0) {
                blob_check_free(b);
                return -EAGAIN;
        }
        b->started = true;
        *ret = b;
        return 0;
}

static void stop(BlobCheck *b) {
        if (!b->started)
                return;
        pthread_mutex_lock(&b->lock);
        b->closing = true;
        wake(b);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->thread, NULL);
        b->started = false;
}

BlobCheck *blob_check_free(BlobCheck *b) {
        if (!b)
                return NULL;
        stop(b);
        pthread_cond_destroy(&b->cond);
        pthread_mutex_destroy(&b->lock);
        stream_digest_done(&b->digest);
        if (b->mapping)
                munmap(b->mapping, b->mapping_size);
        if (b->fd >= 0)
                close(b->fd);
        free(b);
        return NULL;
}

/* Takes the next block the thread filled and queues it: its size, 0 at the end, or < 0. */
static ssize_t read_block(BlobCheck *b, const void **ret) {
        size_t size;

        pthread_mutex_lock(&b->lock);
        while (b->taken == b->filled && !b->end) {
                if (can_fill(b))
                        fill(b);
                else {
                        wake(b);
                        sleep_on(b);
                }
        }
        if (b->taken == b->filled) {
                int r = b->read_error;

                pthread_mutex_unlock(&b->lock);
                return r;
        }
        size = b->sizes[b->taken % SLOTS];
        pthread_mutex_unlock(&b->lock);
        *ret = b->ring + (b->taken % SLOTS) * SLOT_SIZE;
        push(b, (Item) { .type = ITEM_BLOCK, .p = *ret, .size = size, .n = b->taken });
        b->taken++;
        return (ssize_t) size;
}

ssize_t blob_check_read(struct archive *a, void *userdata, const void **ret) {
        ssize_t n = read_block(userdata, ret);

        if (n < 0) {
                archive_set_error(a, (int) -n, "reading the blob: %s", strerror((int) -n));
                return -1;
        }
        return n;
}

int blob_check_data(BlobCheck *b, const void *data, size_t size, int64_t offset) {
        if (size > 0)
                push(b, (Item) { .type = ITEM_DATA, .p = data, .size = size,
                                 .n = offset < 0 ? 0 : (uint64_t) offset });
        return 0;
}

int blob_check_entry_end(BlobCheck *b, int64_t size, ContentDigest *ret) {
        push(b, (Item) { .type = ITEM_END, .n = size < 0 ? 0 : (uint64_t) size, .out = ret });
        return 0;
}

int blob_check_finish(BlobCheck *b, char ret[STREAM_DIGEST_LEN + 1]) {
        const void *p;
        ssize_t n;

        /* What follows the end of the archive is part of the blob too. */
        while ((n = read_block(b, &p)) > 0)
                ;
        stop(b);
        if (n < 0)
                return (int) n;
        if (b->error)
                return b->error;
        return stream_digest_final(&b->digest, ret);
}
