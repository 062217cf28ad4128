/* What stage0 hands a stage1: its entrypoints and interface version, read from the stage1
 * image manifest's annotations, and the argv of the run entrypoint in the exact order of
 * rkt's stage0 (appc-rkt.md §1.4), with the options the stage1's interface version cannot
 * take dropped and reported as warnings. Pure functions: no I/O. */
#pragma once

#include <stdbool.h>
#include <json-c/json.h>

#include "error-detail.h"

#define STAGE1_ANNOTATION_RUN "coreos.com/rkt/stage1/run"
#define STAGE1_ANNOTATION_STOP "coreos.com/rkt/stage1/stop"
#define STAGE1_ANNOTATION_GC "coreos.com/rkt/stage1/gc"
#define STAGE1_ANNOTATION_VERSION "coreos.com/rkt/stage1/interface-version"

typedef struct Stage1Info {
        const char *run;              /* entrypoint paths in the stage1 rootfs; NULL if absent */
        const char *stop;
        const char *gc;
        unsigned version;             /* 1 when the annotation is absent */
        bool app_entrypoints;         /* app/rm, app/start and app/stop: mutable pods */
} Stage1Info;

/* Strings point into manifest. -EINVAL with *error for a missing run entrypoint, an
 * entrypoint that is not an absolute path or a version that is not a positive integer. */
int stage1_info_read(json_object *manifest, Stage1Info *ret, ErrorDetail *error);

typedef struct Stage1RunParams {
        const char *rootfs;           /* <pod>/stage1/rootfs, for argv[0] */
        const char *uuid;
        json_object *options;         /* io.stage0.Pods.RunOptions, or NULL */
        const char *private_users;    /* "shift:count" from private-users-prepared, or NULL */
        bool mutable_pod;
} Stage1RunParams;

/* The resolv and hosts modes the options ask for (rkt's defaults filled in); -EINVAL with
 * *error when DNS fields or hosts entries come with a mode that cannot use them. */
int stage1_dns_modes(json_object *options, const char **ret_resolv, const char **ret_hosts,
                     ErrorDetail *error);

/* The argv (NULL-terminated, malloc'd) and the warnings (a JSON array of io.stage0.Pods.Warning).
 * -EOPNOTSUPP with *error for what no stage1 gets (interactive, mdsRegister, a mutable pod on
 * a stage1 without app entrypoints); -EINVAL with *error for malformed options. */
int stage1_run_argv(const Stage1Info *s1, const Stage1RunParams *params, char ***ret_argv,
                    json_object **ret_warnings, ErrorDetail *error);
void stage1_argv_free(char **argv);
