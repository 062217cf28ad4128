/* Pod: what stage1 runs, read from the pod directory (CWD): the pod manifest `pod` and each
 * app's image manifest. A loaded Pod is fully validated: names are ACNames (safe as path
 * components), paths are absolute and free of "..", every app has an exec, every mount has
 * its volume and no two mounts of an app overlap. Nothing here touches the system. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

typedef struct Volume {
        char *name;
        bool is_host;       /* kind "host"; otherwise kind "empty" */
        char *source;       /* host only */
        bool read_only;
        bool recursive;     /* host only; defaults to true */
        mode_t mode;        /* empty only */
        uid_t uid;
        gid_t gid;
} Volume;

typedef struct AppMount {
        char *path;          /* absolute, inside the app */
        const Volume *volume;
        bool read_only;      /* the volume's readOnly or the mountPoint's */
} AppMount;

typedef struct App {
        char *name;
        char **exec;
        char *user;
        char *group;
        uint32_t *supplementary_gids;
        size_t n_supplementary_gids;
        char *working_dir;
        char **environment;  /* KEY=VALUE, the image's then the pod's overrides */
        char **pre_start;    /* NULL when absent */
        char **post_stop;
        bool read_only_rootfs;
        AppMount *mounts;
        size_t n_mounts;
        json_object *isolators; /* array, owned reference; never NULL */
} App;

typedef struct Pod {
        App *apps;
        size_t n_apps;
        Volume *volumes;
        size_t n_volumes;
        json_object *isolators; /* pod-level, array, never NULL */
        Volume *inline_volumes; /* appVolume entries of mounts, owned here */
        size_t n_inline_volumes;
} Pod;

#define POD_MANIFEST_MAX (16u * 1024u * 1024u)

/* Loads and validates the pod in poddir_fd. On failure returns a negative errno and writes a
 * message naming the offending field into err. */
int pod_load(Pod **ret, int poddir_fd, char *err, size_t err_size);
Pod *pod_free(Pod *p);

bool acname_is_valid(const char *s);
