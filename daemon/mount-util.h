/* Mounts of a pod: its overlays, the overlay directories in the pod dir, the etc/mtab link of
 * an app rootfs, and the removal of everything mounted below a pod.
 *
 * Every mount and unmount goes through libmount, with helpers (/sbin/mount.*) disabled.
 * Errors are negative errnos with our own message in the ErrorDetail: libmount's excode
 * strings are generic and sometimes wrong ("special device overlay does not exist" for a
 * missing lowerdir). Mount tables are read from /proc/self/mountinfo, so everything here is
 * about the caller's mount namespace. */
#pragma once

#include <sys/types.h>

#include "error-detail.h"

/* Named limits. */
#define MOUNT_OPTIONS_MAX 4095          /* mount(2) copies at most a page of options */
#define UMOUNT_ROUNDS 4                 /* plain tries; the last round may detach lazily */

/* Mounts an overlay of lower on target with upper and work (all existing directories);
 * mount_label, when neither NULL nor "", adds context="<label>". Paths must not contain
 * ',', ':', '"' or control characters (they would change the option string). -EINVAL /
 * -ENAMETOOLONG for refused input, otherwise the errno of mount(2); d names the missing
 * directory when there is one ("lowerdir", "upperdir", "workdir", "target"). */
int mount_overlay(const char *lower, const char *upper, const char *work, const char *target,
                  const char *mount_label, ErrorDetail *d);

/* The targets of every mount at path or below it (path is made canonical first; a missing
 * path is taken as written), deepest first, and among equal depths the later mount first, so
 * unmounting in this order never meets a parent before its children. A target mounted twice
 * appears twice. *ret is a NULL-terminated list; free it with mount_list_free(). */
int mount_list_under(const char *path, char ***ret);
char **mount_list_free(char **l);

typedef struct UmountReport {
        unsigned unmounted;     /* removed by a plain unmount */
        unsigned detached;      /* busy, removed with MNT_DETACH after UMOUNT_ROUNDS tries */
        unsigned remaining;     /* still mounted */
} UmountReport;

/* Unmounts everything at path and below it, deepest first, retrying busy mounts with a short
 * back-off and detaching lazily as the last resort. 0 when nothing remains, -EBUSY when some
 * mounts could not be removed (see report, which may be NULL), or the error of reading the
 * mount table. */
int umount_all_under(const char *path, UmountReport *report);

/* 1 when path is the target of a mount, 0 when not, a negative errno when it cannot tell. */
int mount_is_mountpoint(const char *path);

/* Links <rootfs>/etc/mtab to ../proc/self/mounts when etc is a directory and there is no mtab
 * of any kind, as rkt does, because tools like mount(8) expect one. Nothing in the rootfs is
 * followed: an etc that is a symlink (even to a directory) is left alone. */
int ensure_mtab(const char *rootfs);

typedef struct OverlayDirs {
        char *upper;    /* <pod>/overlay/<tree>/upper/<app> ("upper" itself for the stage1) */
        char *work;     /* <pod>/overlay/<tree>/work/<app> */
} OverlayDirs;

/* Lays out the overlay directories of one image in a pod as rkt does: <pod>/overlay (0750,
 * setgid turned off so files made in the pod do not inherit a group), overlay/<tree_id> (0750,
 * group gid unless gid is (gid_t) -1), upper/<app> with the mode of lower, work/<app> 0750,
 * and, when target is not NULL, the mount point target with the mode of lower; target must be
 * below pod_dir, as stage1/rootfs and stage1/rootfs/opt/stage2/<app>/rootfs are. Directories
 * that are created get exactly these modes, whatever the umask; existing ones keep theirs.
 * upper and work get mount_label (no-op when SELinux is off). app is "" for the stage1;
 * tree_id and app must be single path components. Nothing below pod_dir is followed. */
int overlay_prepare_dirs(const char *pod_dir, const char *tree_id, const char *app,
                         const char *lower, const char *target, gid_t gid,
                         const char *mount_label, OverlayDirs *ret, ErrorDetail *d);
void overlay_dirs_done(OverlayDirs *o);
