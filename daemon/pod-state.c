/* On-disk pods and their states; see pod-state.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "hex.h"
#include "pod-state.h"

#define POD_DIR_MODE 0750
/* How long pod_lock_exclusive() waits out brief shared locks of probes. */
#define LOCK_PROBE_WAIT_MS 200

static const char *const pod_place_table[_POD_PLACE_MAX] = {
        [POD_PLACE_EMBRYO] = "embryo",
        [POD_PLACE_PREPARE] = "prepare",
        [POD_PLACE_PREPARED] = "prepared",
        [POD_PLACE_RUN] = "run",
        [POD_PLACE_EXITED_GARBAGE] = "exited-garbage",
        [POD_PLACE_GARBAGE] = "garbage",
};

static const char *const pod_state_table[_POD_STATE_MAX] = {
        [POD_STATE_EMBRYO] = "embryo",
        [POD_STATE_PREPARING] = "preparing",
        [POD_STATE_ABORTED_PREPARE] = "abortedPrepare",
        [POD_STATE_PREPARED] = "prepared",
        [POD_STATE_RUNNING] = "running",
        [POD_STATE_EXITED] = "exited",
        [POD_STATE_EXITED_GARBAGE] = "exitedGarbage",
        [POD_STATE_GARBAGE] = "garbage",
        [POD_STATE_DELETING] = "deleting",
};

const char *pod_place_to_string(PodPlace p) {
        return p >= 0 && p < _POD_PLACE_MAX ? pod_place_table[p] : NULL;
}

PodPlace pod_place_from_string(const char *s) {
        for (int i = 0; s && i < _POD_PLACE_MAX; i++)
                if (strcmp(pod_place_table[i], s) == 0)
                        return (PodPlace) i;
        return _POD_PLACE_INVALID;
}

const char *pod_state_to_string(PodState s) {
        return s >= 0 && s < _POD_STATE_MAX ? pod_state_table[s] : NULL;
}

PodState pod_state_from_string(const char *s) {
        for (int i = 0; s && i < _POD_STATE_MAX; i++)
                if (strcmp(pod_state_table[i], s) == 0)
                        return (PodState) i;
        return _POD_STATE_INVALID;
}

PodState pod_state_of(PodPlace p, bool locked) {
        switch (p) {
        case POD_PLACE_EMBRYO:
                return POD_STATE_EMBRYO;
        case POD_PLACE_PREPARE:
                return locked ? POD_STATE_PREPARING : POD_STATE_ABORTED_PREPARE;
        case POD_PLACE_PREPARED:
                return POD_STATE_PREPARED;
        case POD_PLACE_RUN:
                return locked ? POD_STATE_RUNNING : POD_STATE_EXITED;
        case POD_PLACE_EXITED_GARBAGE:
                return locked ? POD_STATE_DELETING : POD_STATE_EXITED_GARBAGE;
        case POD_PLACE_GARBAGE:
                return locked ? POD_STATE_DELETING : POD_STATE_GARBAGE;
        default:
                return _POD_STATE_INVALID;
        }
}

bool pod_uuid_valid(const char *s) {
        if (!s || strlen(s) != POD_UUID_LEN)
                return false;
        for (int i = 0; i < POD_UUID_LEN; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != '-' : !hex_is_lower(s + i, 1))
                        return false;
        }
        return true;
}

static char *place_path(const char *data_dir, PodPlace place) {
        char *p;

        return asprintf(&p, "%s/pods/%s", data_dir, pod_place_to_string(place)) < 0 ? NULL : p;
}

char *pod_path(const char *data_dir, PodPlace place, const char *uuid) {
        char *p;

        return asprintf(&p, "%s/pods/%s/%s", data_dir, pod_place_to_string(place), uuid) < 0 ? NULL : p;
}

static int fsync_path(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 || fsync(fd) < 0)
                return NEG_ERRNO();
        return 0;
}

int pod_places_init(const char *data_dir) {
        _cleanup_free_ char *pods = NULL;

        if (asprintf(&pods, "%s/pods", data_dir) < 0)
                return -ENOMEM;
        if (mkdir(pods, POD_DIR_MODE) < 0 && errno != EEXIST)
                return NEG_ERRNO();
        for (int i = 0; i < _POD_PLACE_MAX; i++) {
                _cleanup_free_ char *p = place_path(data_dir, (PodPlace) i);

                if (!p)
                        return -ENOMEM;
                if (mkdir(p, POD_DIR_MODE) < 0 && errno != EEXIST)
                        return NEG_ERRNO();
        }
        return 0;
}

int pod_move(const char *data_dir, const char *uuid, PodPlace from, PodPlace to) {
        _cleanup_free_ char *src = pod_path(data_dir, from, uuid);
        _cleanup_free_ char *dst = pod_path(data_dir, to, uuid);
        _cleanup_free_ char *dst_parent = place_path(data_dir, to);
        _cleanup_free_ char *src_parent = place_path(data_dir, from);
        int r;

        if (!src || !dst || !dst_parent || !src_parent)
                return -ENOMEM;
        /* RENAME_NOREPLACE: a pod never lands on another with its UUID. */
        if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) < 0)
                return NEG_ERRNO();
        r = fsync_path(dst_parent);
        if (r < 0)
                return r;
        return fsync_path(src_parent);
}

int pod_create(const char *data_dir, char ret_uuid[POD_UUID_LEN + 1], int *ret_lock_fd) {
        _cleanup_free_ char *embryo = NULL;
        _cleanup_close_ int fd = -EBADF;
        char uuid[SD_ID128_UUID_STRING_MAX];
        sd_id128_t id;
        int r;

        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        sd_id128_to_uuid_string(id, uuid);
        embryo = pod_path(data_dir, POD_PLACE_EMBRYO, uuid);
        if (!embryo)
                return -ENOMEM;
        if (mkdir(embryo, POD_DIR_MODE) < 0)
                return NEG_ERRNO();
        fd = open(embryo, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = NEG_ERRNO();
                (void) rmdir(embryo);
                return r;
        }
        r = pod_move(data_dir, uuid, POD_PLACE_EMBRYO, POD_PLACE_PREPARE);
        if (r < 0) {
                (void) rmdir(embryo);
                return r;
        }
        memcpy(ret_uuid, uuid, POD_UUID_LEN + 1);
        *ret_lock_fd = TAKE_FD(fd);
        return 0;
}

int pod_find(const char *data_dir, const char *uuid, PodPlace *ret) {
        if (!pod_uuid_valid(uuid))
                return -EINVAL;
        for (int i = 0; i < _POD_PLACE_MAX; i++) {
                _cleanup_free_ char *p = pod_path(data_dir, (PodPlace) i, uuid);
                struct stat st;

                if (!p)
                        return -ENOMEM;
                if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
                        *ret = (PodPlace) i;
                        return 0;
                }
        }
        return -ENOENT;
}

int pod_probe(const char *data_dir, const char *uuid, PodState *ret_state, PodPlace *ret_place) {
        /* A pod may move while we look: a couple of retries find it in its new place. */
        for (int attempt = 0; attempt < 3; attempt++) {
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *p = NULL;
                PodPlace place;
                bool locked;
                int r;

                r = pod_find(data_dir, uuid, &place);
                if (r < 0)
                        return r;
                p = pod_path(data_dir, place, uuid);
                if (!p)
                        return -ENOMEM;
                fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT)
                                continue;
                        return NEG_ERRNO();
                }
                if (flock(fd, LOCK_SH | LOCK_NB) == 0)
                        locked = false;
                else if (errno == EWOULDBLOCK)
                        locked = true;
                else
                        return NEG_ERRNO();
                if (ret_state)
                        *ret_state = pod_state_of(place, locked);
                if (ret_place)
                        *ret_place = place;
                return 0;
        }
        return -ENOENT;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
}

int pod_lock_exclusive(const char *data_dir, const char *uuid, PodPlace place, int *ret_fd) {
        _cleanup_free_ char *p = pod_path(data_dir, place, uuid);
        _cleanup_close_ int fd = -EBADF;
        struct stat a, b;
        unsigned waited = 0;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return NEG_ERRNO();
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return NEG_ERRNO();
                if (waited >= LOCK_PROBE_WAIT_MS)
                        return -EBUSY;
                sleep_ms(5);
                waited += 5;
        }
        /* Somebody may have moved it between our open and our lock. */
        if (fstat(fd, &a) < 0)
                return NEG_ERRNO();
        if (lstat(p, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
                return -ESTALE;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int strv_push(char ***l, size_t *n, const char *s) {
        char **a = realloc(*l, (*n + 2) * sizeof(char *));

        if (!a)
                return -ENOMEM;
        *l = a;
        a[*n] = strdup(s);
        if (!a[*n])
                return -ENOMEM;
        a[++*n] = NULL;
        return 0;
}

int pod_list(const char *data_dir, char ***ret_uuids) {
        char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        int r = 0;

        if (!l)
                return -ENOMEM;
        for (int i = 0; i < _POD_PLACE_MAX && r >= 0; i++) {
                _cleanup_free_ char *p = place_path(data_dir, (PodPlace) i);
                DIR *d;
                struct dirent *de;

                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                d = opendir(p);
                if (!d) {
                        if (errno == ENOENT)
                                continue;
                        r = NEG_ERRNO();
                        break;
                }
                while ((de = readdir(d)) && r >= 0)
                        if (pod_uuid_valid(de->d_name))
                                r = strv_push(&l, &n, de->d_name);
                closedir(d);
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(l[i]);
                free(l);
                return r;
        }
        *ret_uuids = l;
        return 0;
}
