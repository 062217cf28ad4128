/* Daemon: the one stage0d process state. It owns the sd-event loop, the VarlinkServer with every
 * io.stage0 interface, the listening socket (passed by systemd or created at the configured
 * path), the access policy and the list of Pods.Watch subscribers. Everything runs on the one
 * loop; nothing here blocks on a peer.
 *
 * Lifecycle: daemon_new() sets up and listens, daemon_run() tells the service manager READY=1
 * and runs the loop until SIGTERM/SIGINT; shutdown stops accepting, lets replies in flight go
 * out, and ends when every connection has closed or after DAEMON_SHUTDOWN_TIMEOUT_USEC. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "policy.h"
#include "varlink-server.h"

#define DAEMON_SHUTDOWN_TIMEOUT_USEC (5ULL * 1000ULL * 1000ULL)
#define DAEMON_SOCKET_FDNAME "varlink"

typedef struct Images Images;
typedef struct Pods Pods;
typedef struct WorkerPool WorkerPool;

typedef struct DaemonConfig {
        const char *socket_path;     /* absolute; used only when systemd passes no socket */
        const char *data_dir;        /* absolute; created 0700 when missing */
        const char *stage1_image;    /* absolute or NULL */
        const char *group;           /* members may call read-only methods; owns the socket */
        VarlinkLimits limits;        /* 0 selects the library default */
        bool check_replies;          /* check every reply against the IDL (tests) */
        uint64_t max_image_size;     /* uncompressed bytes; 0 selects the default */
        const char *tpm_tcti;        /* NULL: the default device */
        int tpm_pcr;                 /* -1: the default */
        uint64_t tpm_timeout_usec;   /* 0: the default */
        uint64_t gc_interval_usec;   /* 0: the default; UINT64_MAX: never */
} DaemonConfig;

typedef struct Daemon {
        sd_event *event;
        VarlinkServer *server;
        Policy policy;

        char *data_dir;
        char *stage1_image;

        /* The socket file this process created, unlinked on exit if it is still ours
         * (same inode); NULL when the socket came from systemd. */
        char *socket_path;
        dev_t socket_dev;
        ino_t socket_ino;

        Images *images;              /* io.stage0.Images */
        Pods *pods;                  /* io.stage0.Pods */
        WorkerPool *workers;         /* where both get their workers */
        bool debug;

        sd_event_source *sigterm_source;
        sd_event_source *sigint_source;
        sd_event_source *shutdown_timer;
        sd_event_source *shutdown_check;
        bool shutting_down;
} Daemon;

int daemon_new(Daemon **ret, const DaemonConfig *config);
Daemon *daemon_free(Daemon *d);
/* Runs until shutdown has finished; 0 on a clean exit. */
int daemon_run(Daemon *d);

static inline void daemon_freep(Daemon **d) {
        daemon_free(*d);
}
