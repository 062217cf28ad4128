/* The filesystem view of one app: its rootfs (bind-mounted onto itself), /proc, /sys, a
 * minimal /dev, /etc/hosts and /etc/resolv.conf per the DNS modes, the volumes, and finally
 * pivot_root into it. Runs in a process that has its own mount namespace. Every target
 * inside the rootfs is opened with RESOLVE_IN_ROOT, so symlinks in an image can never point
 * a mount at a host path. */
#pragma once

#include "args.h"
#include "pod.h"

typedef struct RootfsContext {
        const char *pod_dir;    /* absolute */
        const RunArgs *args;
        const App *app;
        const char *hostname;
} RootfsContext;

/* On failure err says which step and path failed. */
int rootfs_setup_and_pivot(const RootfsContext *c, char *err, size_t err_size);

/* Creates <pod>/sharedVolumes/<name> for every empty volume with its mode and owner
 * (idempotent) and checks host volume sources: present and reached without symlinks. */
int volumes_prepare(const Pod *p, int poddir_fd, char *err, size_t err_size);
