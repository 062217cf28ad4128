/* Which images and trees the pods on disk use, for image removal and garbage collection.
 * Pods that are exitedGarbage, garbage or deleting use nothing: they are on their way out.
 * Read from the pods' own files (the pod manifest's image IDs, stage1TreeStoreID and
 * appsinfo/<app>/treeStoreID), so it holds whatever stage0d remembers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct PodUse {
        char *id;             /* an image ID or a tree ID */
        char pod[37];         /* the UUID of the pod that uses it */
} PodUse;

typedef struct PodUsage {
        PodUse *images;       /* one entry per (pod, image) */
        PodUse *trees;        /* one entry per (pod, tree) */
        size_t n_images, n_trees;
} PodUsage;

int pod_usage_collect(const char *data_dir, PodUsage *ret);
void pod_usage_done(PodUsage *u);

/* The pods that use the image (ID or key: a prefix match on the full ID), NULL-terminated and
 * malloc'd (the strings are borrowed from u). */
int pod_usage_image_pods(const PodUsage *u, const char *image_id_or_key, const char ***ret);
bool pod_usage_has_tree(const PodUsage *u, const char *tree_id);
