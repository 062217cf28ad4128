/* The cgroups of a pod: <hierarchy>/stage0/<uuid>/<app>, created only in the hierarchies an
 * isolator needs (memory for resource/memory, cpu for resource/cpu and cpu-shares). A
 * controller is used through cgroup v2 when the unified hierarchy offers it and through its
 * cgroup v1 hierarchy otherwise (hybrid hosts). Pod-level limits are set on stage0/<uuid>.
 * Nothing here removes a cgroup with processes in it: gc runs after the pod has exited. */
#pragma once

#include "isolators.h"

/* Creates the pod's and the app's cgroups where iso (the app's) or pod (the pod-level
 * isolators) need them and writes the limits. err names the isolator that could not be
 * applied. */
int cgroup_setup(const char *uuid, const char *app, const Isolators *iso, const Isolators *pod,
                 char *err, size_t err_size);
/* Moves the calling process into every cgroup stage1 created for the app. */
int cgroup_join(const char *uuid, const char *app);
/* Removes stage0/<uuid> and its children from every hierarchy; missing ones are fine. */
int cgroup_remove_pod(const char *uuid, char *err, size_t err_size);
