/* The on-disk pods and their states, rkt's model (appc-rkt.md §2): a pod is the directory
 * pods/<place>/<uuid> under the data dir, and its state is that place plus whether somebody
 * holds an exclusive flock on the directory. Pods move between places only by rename(2),
 * followed by an fsync of the destination's parent; the disk is the truth and stage0d's memory
 * a cache of it. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <systemd/sd-id128.h>

typedef enum PodPlace {
        POD_PLACE_EMBRYO,
        POD_PLACE_PREPARE,
        POD_PLACE_PREPARED,
        POD_PLACE_RUN,
        POD_PLACE_EXITED_GARBAGE,
        POD_PLACE_GARBAGE,
        _POD_PLACE_MAX,
        _POD_PLACE_INVALID = -EINVAL,
} PodPlace;

/* The names of io.stage0.Pods.PodState. */
typedef enum PodState {
        POD_STATE_EMBRYO,
        POD_STATE_PREPARING,
        POD_STATE_ABORTED_PREPARE,
        POD_STATE_PREPARED,
        POD_STATE_RUNNING,
        POD_STATE_EXITED,
        POD_STATE_EXITED_GARBAGE,
        POD_STATE_GARBAGE,
        POD_STATE_DELETING,
        _POD_STATE_MAX,
        _POD_STATE_INVALID = -EINVAL,
} PodState;

#define POD_UUID_LEN 36

const char *pod_place_to_string(PodPlace p);       /* "embryo", "prepare", ... (dir names) */
PodPlace pod_place_from_string(const char *s);
const char *pod_state_to_string(PodState s);       /* "embryo", "abortedPrepare", ... */
PodState pod_state_from_string(const char *s);
/* The state of a pod in place p, locked exclusively by somebody or not. */
PodState pod_state_of(PodPlace p, bool locked);

/* True for a canonical lowercase UUID (8-4-4-4-12 hex). */
bool pod_uuid_valid(const char *s);

/* Creates pods/<place>/ for every place (0750). */
int pod_places_init(const char *data_dir);
/* "<data_dir>/pods/<place>/<uuid>", malloc'd; NULL on OOM. */
char *pod_path(const char *data_dir, PodPlace place, const char *uuid);

/* rkt's NewPod: a fresh UUID, mkdir pods/embryo/<uuid> (0750), an exclusive lock on it, then
 * rename to pods/prepare/<uuid>. Returns the locked directory fd (O_CLOEXEC), which the
 * caller keeps for as long as the pod is being prepared. */
int pod_create(const char *data_dir, char ret_uuid[POD_UUID_LEN + 1], int *ret_lock_fd);

/* Moves a pod from one place to another (rename + fsync of both parents). -ENOENT when it is
 * not in `from`, -EEXIST when `to` already has it. */
int pod_move(const char *data_dir, const char *uuid, PodPlace from, PodPlace to);

/* Where the pod is, looked up in rkt's order. -ENOENT when nowhere. */
int pod_find(const char *data_dir, const char *uuid, PodPlace *ret);

/* The pod's current state. Probes the lock with a non-blocking shared flock, held only for
 * the probe. -ENOENT when the pod does not exist. */
int pod_probe(const char *data_dir, const char *uuid, PodState *ret_state, PodPlace *ret_place);

/* Takes an exclusive lock on the pod in `place` without waiting for long: a prober's brief
 * shared lock is waited out (bounded), a real holder gives -EBUSY. Checks afterwards that the
 * pod is still in place (the path is the locked inode), else -ESTALE. Returns the fd. */
int pod_lock_exclusive(const char *data_dir, const char *uuid, PodPlace place, int *ret_fd);

/* UUIDs of every pod in every place, NULL-terminated, malloc'd. */
int pod_list(const char *data_dir, char ***ret_uuids);
