/* The pod's PID 1 (inside the new PID namespace): starts one shim per app, reaps every
 * process, records each app's exit code in stage1/rootfs/rkt/status/<app>, and on SIGTERM,
 * SIGINT or SIGHUP stops the apps: SIGTERM to each, SIGKILL to everything after the stop
 * timeout. Returns when every app has exited, with the pod's exit code (see README). */
#pragma once

#include "app.h"

#define STOP_TIMEOUT_ENV "STAGE0_STAGE1_STOP_TIMEOUT"
#define STOP_TIMEOUT_DEFAULT_SEC 10

typedef struct Supervisor {
        const char *pod_dir;
        int status_fd;            /* stage1/rootfs/rkt/status */
        const Pod *pod;
        AppContext *apps;         /* one per pod->apps entry */
        unsigned stop_timeout_sec;
} Supervisor;

int supervisor_run(const Supervisor *s);
