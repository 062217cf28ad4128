/* Interface definitions embedded into a binary at build time from the *.varlink files, which
 * are the single source of truth; see embed-varlink.py. */
#pragma once

typedef struct VarlinkEmbedded {
        const char *name;
        const char *text;
} VarlinkEmbedded;

/* org.varlink.service, which every VarlinkServer serves. */
extern const VarlinkEmbedded varlink_service_interfaces[];
/* io.stage0.*, served by stage0d. */
extern const VarlinkEmbedded stage0_interfaces[];
/* io.stage0.Worker, between stage0d and its workers. */
extern const VarlinkEmbedded stage0_worker_interfaces[];
