/* Pods: stage0d's io.stage0.Pods methods. The pods live on disk (pod-state, pod-status); this
 * object only holds what is in flight: the workers serving calls, the Wait and Watch
 * subscribers, and the default stage1 image, imported at start. Every change stage0d learns
 * of (from a worker, or from polling while somebody waits) becomes one event for the
 * subscribers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "varlink-server.h"
#include "worker-process.h"

typedef struct Pods Pods;

typedef struct PodsConfig {
        sd_event *event;
        const char *data_dir;
        bool debug;
        /* The default stage1 image file, imported at start; NULL for none. */
        const char *stage1_image;
        /* Where pods are measured: NULL / -1 / 0 select the defaults. */
        const char *tpm_tcti;
        int tpm_pcr;
        uint64_t tpm_timeout_usec;
        /* How often stage0d collects garbage by itself; 0: the default, UINT64_MAX: never. */
        uint64_t gc_interval_usec;
        /* Told the key of the default stage1 once it is imported (so image GC keeps it). */
        void (*stage1_imported)(const char *key, void *userdata);
        void *userdata;
        WorkerPool *pool;             /* where jobs get their workers (borrowed) */
} PodsConfig;

#define PODS_WORKERS_MAX 1024
#define PODS_POLL_USEC (250ULL * 1000ULL)
#define PODS_TRACK_USEC (1000ULL * 1000ULL)
#define PODS_GC_INTERVAL_DEFAULT_USEC (10ULL * 60ULL * 1000000ULL)
#define PODS_GC_GRACE_DEFAULT_USEC (30ULL * 60ULL * 1000000ULL)
#define PODS_GC_EXPIRE_PREPARED_DEFAULT_USEC (24ULL * 3600ULL * 1000000ULL)
#define PODS_GC_IMAGES_GRACE_USEC (24ULL * 3600ULL * 1000000ULL)

int pods_new(Pods **ret, const PodsConfig *config);
Pods *pods_free(Pods *p);
int pods_bind(Pods *p, VarlinkServer *server);
/* Ends every Wait and Watch so their connections can close. */
void pods_shutdown(Pods *p);
