/* Images: stage0d's io.stage0.Images methods. Quick lookups (List, Inspect) read the store's
 * index on the loop; everything slow (Import, Render, Verify, Remove's tree removal, GC) runs
 * in worker processes, at most IMAGES_WORKERS_MAX at a time, the rest queued in call order. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "image-store.h"
#include "worker-process.h"
#include "varlink-server.h"

#define IMAGES_WORKERS_MAX 4
#define IMAGES_QUEUE_MAX 256
#define IMAGES_GC_GRACE_DEFAULT_USEC (24ULL * 3600ULL * 1000000ULL)

typedef struct Images Images;

typedef struct ImagesConfig {
        sd_event *event;
        const char *data_dir;
        bool debug;
        uint64_t max_image_size;      /* 0: the store's default */
        WorkerPool *pool;             /* where jobs get their workers (borrowed) */
} ImagesConfig;

int images_new(Images **ret, const ImagesConfig *config);
Images *images_free(Images *im);
int images_bind(Images *im, VarlinkServer *server);
ImageStore *images_store(Images *im);
/* An image (by key) that garbage collection keeps however long it goes unused. */
int images_keep(Images *im, const char *key);
