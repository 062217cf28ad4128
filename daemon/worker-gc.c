/* Worker job: rkt's pod garbage collection, mark and sweep (appc-rkt.md §2.3). Mark: exited
 * pods go to exited-garbage, aborted prepares and prepared pods past their expiry to garbage.
 * Sweep: exited-garbage pods marked longer ago than the grace period, and all of garbage, are
 * deleted under an exclusive lock. A pod that cannot be deleted now (busy, or a mount that
 * will not go) is skipped and reported; the others go on. Only the places that can hold
 * garbage are read, so the cost grows with what is collected and what runs, not with the
 * prepared pods kept. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "worker-pod.h"

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* The UUIDs in one place, NULL-terminated. */
static int list_place(const char *data_dir, PodPlace place, char ***ret) {
        _cleanup_free_ char *dir = NULL;
        char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        DIR *d;
        struct dirent *de;

        if (!l || asprintf(&dir, "%s/pods/%s", data_dir, pod_place_to_string(place)) < 0) {
                free(l);
                return -ENOMEM;
        }
        d = opendir(dir);
        if (!d) {
                *ret = l;
                return errno == ENOENT ? 0 : NEG_ERRNO();
        }
        while ((de = readdir(d))) {
                char **a;

                if (!pod_uuid_valid(de->d_name))
                        continue;
                a = realloc(l, (n + 2) * sizeof(char *));
                if (!a)
                        break;
                l = a;
                l[n] = strdup(de->d_name);
                l[n + 1] = NULL;
                if (l[n])
                        n++;
        }
        closedir(d);
        *ret = l;
        return 0;
}

static void strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

/* Microseconds since the pod's directory last changed (a move sets its ctime). */
static uint64_t age_usec(const char *data_dir, PodPlace place, const char *uuid, uint64_t now) {
        _cleanup_free_ char *p = pod_path(data_dir, place, uuid);
        struct stat st;
        uint64_t t;

        if (!p || stat(p, &st) < 0)
                return 0;
        t = (uint64_t) st.st_ctim.tv_sec * 1000000u + (uint64_t) st.st_ctim.tv_nsec / 1000u;
        return now > t ? now - t : 0;
}

static void add_skipped(json_object *skipped, const char *uuid, const char *what, int r) {
        json_object *o = json_object_new_object();
        char reason[256];

        snprintf(reason, sizeof(reason), "%s: %s", what, strerror(-r));
        json_object_object_add(o, "uuid", json_object_new_string(uuid));
        json_object_object_add(o, "reason", json_object_new_string(reason));
        json_object_array_add(skipped, o);
}

static void mark(const char *data_dir, PodPlace from, PodPlace to, uint64_t expire, uint64_t now,
                 json_object *marked) {
        char **uuids = NULL;

        if (list_place(data_dir, from, &uuids) < 0)
                return;
        for (size_t i = 0; uuids[i]; i++) {
                PodState state;

                if (pod_probe(data_dir, uuids[i], &state, NULL) < 0)
                        continue;
                /* Only finished pods (the lock is free) and expired prepared ones move. */
                if (state == POD_STATE_RUNNING || state == POD_STATE_PREPARING)
                        continue;
                if (from == POD_PLACE_PREPARED && age_usec(data_dir, from, uuids[i], now) < expire)
                        continue;
                if (pod_move(data_dir, uuids[i], from, to) >= 0)
                        json_object_array_add(marked, json_object_new_string(uuids[i]));
        }
        strv_free(uuids);
}

static void sweep(const char *data_dir, PodPlace place, uint64_t grace, uint64_t now,
                  json_object *collected, json_object *skipped) {
        char **uuids = NULL;

        if (list_place(data_dir, place, &uuids) < 0)
                return;
        for (size_t i = 0; uuids[i]; i++) {
                _cleanup_close_ int lock = -EBADF;
                int r;

                if (place == POD_PLACE_EXITED_GARBAGE && age_usec(data_dir, place, uuids[i], now) < grace)
                        continue;
                r = pod_lock_exclusive(data_dir, uuids[i], place, &lock);
                /* Deleted, moved or being deleted by somebody else (in a garbage place only a
                 * remover or another GC holds the lock): theirs, not ours to report. */
                if (r == -ENOENT || r == -ESTALE || r == -EBUSY)
                        continue;
                if (r < 0) {
                        add_skipped(skipped, uuids[i], "cannot lock it", r);
                        continue;
                }
                r = worker_pod_delete(data_dir, uuids[i], place);
                if (r < 0) {
                        add_skipped(skipped, uuids[i], "cannot delete it now", r);
                        continue;
                }
                json_object_array_add(collected, json_object_new_string(uuids[i]));
        }
        strv_free(uuids);
}

int worker_method_collect_pods(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        uint64_t grace = (uint64_t) json_object_get_int64(json_object_object_get(parameters, "gracePeriodUsec"));
        uint64_t expire = (uint64_t) json_object_get_int64(json_object_object_get(parameters, "expirePreparedUsec"));
        bool mark_only = json_object_get_boolean(json_object_object_get(parameters, "markOnly"));
        json_object *collected = json_object_new_array(), *marked = json_object_new_array();
        json_object *skipped = json_object_new_array(), *reply;
        uint64_t now = now_usec();

        mark(w->data_dir, POD_PLACE_RUN, POD_PLACE_EXITED_GARBAGE, 0, now, marked);
        mark(w->data_dir, POD_PLACE_PREPARE, POD_PLACE_GARBAGE, 0, now, marked);
        mark(w->data_dir, POD_PLACE_PREPARED, POD_PLACE_GARBAGE, expire, now, marked);
        if (!mark_only) {
                sweep(w->data_dir, POD_PLACE_EXITED_GARBAGE, grace, now, collected, skipped);
                sweep(w->data_dir, POD_PLACE_GARBAGE, 0, now, collected, skipped);
        }
        reply = json_object_new_object();
        json_object_object_add(reply, "collected", collected);
        json_object_object_add(reply, "marked", marked);
        json_object_object_add(reply, "skipped", skipped);
        return varlink_call_reply(call, reply);
}
