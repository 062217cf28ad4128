/* Isolators: what an app's (or the pod's) appc isolator list asks for, validated and reduced
 * to the values stage1 applies, plus a report of every isolator and what became of it.
 * Report lines are "<name>\t<state>\t<detail>" with state one of:
 *   enforced  stage1 applies it; if applying fails the app does not start (status 254)
 *   ignored   not implemented here and the spec allows running without it
 *   disabled  turned off by a --disable-* flag of the run entrypoint
 * An isolator that can be neither applied nor ignored makes parsing fail. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "seccomp-filter.h"

typedef struct IsolatorOptions {
        bool disable_capabilities;
        bool disable_seccomp;
        bool pod_level;
} IsolatorOptions;

typedef struct Isolators {
        bool has_memory_limit;
        uint64_t memory_limit;   /* bytes */
        bool has_cpu_limit;
        uint64_t cpu_limit_milli;
        bool has_cpu_shares;
        uint64_t cpu_shares;
        bool has_oom_score_adj;
        int oom_score_adj;
        bool restrict_caps;      /* false with --disable-capabilities-restriction */
        uint64_t caps;           /* the bounding set the app gets */
        SeccompSpec seccomp;
        bool no_new_privileges;
        bool no_new_privileges_explicit;
        char *report;
} Isolators;

/* Returns 0; -EINVAL for a malformed isolator; -EOPNOTSUPP for one that must be refused.
 * err names the isolator either way. */
int isolators_parse(Isolators *iso, json_object *list, const IsolatorOptions *opts, char *err, size_t err_size);
void isolators_deinit(Isolators *iso);

/* Kubernetes-style quantity ("512Mi", "1G", "500m") scaled by `scale` (1 for bytes, 1000 for
 * milli-cores), rounded up. */
int quantity_parse(const char *s, uint64_t scale, uint64_t *ret);
