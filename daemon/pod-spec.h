/* PodSpec: the semantic checks of the `spec` parameter of io.stage0.Pods.Prepare and Run
 * (protocol/io.stage0.Pods.varlink), after the IDL type check, and the image references it
 * names. A pod manifest given whole (spec.manifest) is a free-form object, so it is checked
 * here against the appc schema (appc-rkt.md §4.3) as rkt's JSON decoding does. Pure: no I/O,
 * no store; everything returned borrows from the spec. Every refusal is -EINVAL with an
 * ErrorDetail whose field is a path from the call's parameters ("spec.apps[1].name"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "error-detail.h"

/* Limits on what a caller may put in one spec; the checks are quadratic in some of them. */
#define POD_SPEC_APPS_MAX 256u        /* apps in a pod */
#define POD_SPEC_LIST_MAX 1024u       /* entries of any one list: volumes, mounts, ports, ... */
#define POD_SPEC_ENV_MAX 4096u        /* variables in any one environment map */

/* Where an app's image comes from. For spec.apps, exactly one of id and name is set; for a
 * whole manifest, id is. */
typedef struct PodImageRef {
        char field[64];               /* "spec.apps[0].image", "spec.manifest.apps[0].image.id" */
        const char *id;               /* an ID or an ID prefix; NULL when by name */
        const char *name;             /* NULL when by ID */
        json_object *labels;          /* name only: {label: value} the image must have; or NULL */
        const char *app;              /* the app's name when given, else NULL */
} PodImageRef;

/* The overrides of one AppSpec turned into appc isolators ({name, value}, owned), each
 * validated by appc's rules; NULL where the spec does not set one. */
typedef struct PodIsolatorOverrides {
        json_object *memory;          /* resource/memory, request = limit */
        json_object *cpu;             /* resource/cpu, request = limit */
        json_object *cpu_shares;      /* os/linux/cpu-shares */
        json_object *oom_score_adj;   /* os/linux/oom-score-adj */
        json_object *caps;            /* os/linux/capabilities-retain-set or -remove-set */
        json_object *seccomp;         /* os/linux/seccomp-retain-set or -remove-set */
} PodIsolatorOverrides;

/* Checks everything that does not need the images: which of apps and manifest is given (and
 * that nothing else goes with a manifest), the manifest's schema, app names, exec, working
 * directory, environment names, mounts (each naming a volume of the pod), volumes, ports,
 * annotations, isolator overrides (caps-retain with caps-remove refused), overlay with
 * privateUsers (refused), privateUsers ranges, stage1Image. */
int pod_spec_check(json_object *spec, ErrorDetail *error);

/* The image references of the spec, one per app in order (spec.apps or spec.manifest.apps),
 * after pod_spec_check. *ret is malloc'd (NULL when there are none). */
int pod_spec_image_refs(json_object *spec, PodImageRef **ret, size_t *ret_n, ErrorDetail *error);

/* An ImageRef object: exactly one of id and name, labels only with name, valid forms. For
 * spec.stage1Image too. */
int pod_spec_check_image_ref(json_object *ref, const char *field, ErrorDetail *error);

/* Builds the isolator overrides of the AppSpec app, whose path is app_path. */
int pod_isolator_overrides_build(json_object *app, const char *app_path,
                                 PodIsolatorOverrides *ret, ErrorDetail *error);
void pod_isolator_overrides_done(PodIsolatorOverrides *o);

/* A PortForward (spec.ports[i], key "hostIp") or an appc ExposedPort (manifest, "hostIP"):
 * name an ACName, hostPort 1..65535, the host IP an IPv4 address. */
int pod_spec_check_port(json_object *port, const char *ip_key, const char *path,
                        ErrorDetail *error);
