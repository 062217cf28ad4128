/* What stage0d reports of a pod (io.stage0.Pods.Pod), read from the pod's directory each
 * time: the disk is the truth. Also UUID prefixes and the filters of List and Watch. */
#pragma once

#include <stdbool.h>
#include <json-c/json.h>

#include "pod-state.h"

/* Resolves a UUID or a unique prefix of one. -ENOENT when none matches, -ENOTUNIQ when
 * several do (then *ret_matches gets them, NULL-terminated, malloc'd), -EINVAL when it is
 * empty or not hex and dashes. */
int pod_resolve(const char *data_dir, const char *prefix, char ret[POD_UUID_LEN + 1],
                char ***ret_matches);

/* The Pod object of one pod. -ENOENT when it does not exist (any more). */
int pod_status_read(const char *data_dir, const char *uuid, bool with_manifest, json_object **ret);

/* The pod as its exit is reported, from disk as pod_status_read() has it, completed with the
 * apps (AppStatus objects, with their exit codes) that the pod's worker read before it let go
 * of the pod: a GC may have marked the pod, begun to delete it (its apps then lack their exit
 * codes) or removed it (then the pod is the worker's view of it, state exited, and 1 is
 * returned). */
int pod_status_read_exited(const char *data_dir, const char *uuid, json_object *worker_apps,
                           json_object **ret);

/* Whether a Pod object matches a PodFilter object (NULL matches everything). */
bool pod_filter_match(json_object *filter, json_object *pod);

/* Pods that are done: no longer embryo, preparing, prepared or running. */
bool pod_state_is_final(PodState s);
