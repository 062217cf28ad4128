/* Pod status from disk; see pod-status.h. Times come from the files rkt uses: pod-created's
 * mtime (created), pid's mtime (started), the directory's ctime after a move to a garbage
 * place (gc marked); exit codes from stage1/rootfs/rkt/status/<app>, or from the stage1
 * overlay's upper dir when the pod was prepared with overlay. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "pod-status.h"

#define SMALL_FILE_MAX 256
#define POD_MANIFEST_DEPTH 64

bool pod_state_is_final(PodState s) {
        return s != POD_STATE_EMBRYO && s != POD_STATE_PREPARING && s != POD_STATE_PREPARED &&
               s != POD_STATE_RUNNING;
}

static bool prefix_valid(const char *p) {
        size_t n = strlen(p);

        if (n == 0 || n > POD_UUID_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || p[i] == '-'))
                        return false;
        return true;
}

static void strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

int pod_resolve(const char *data_dir, const char *prefix, char ret[POD_UUID_LEN + 1],
                char ***ret_matches) {
        char **uuids = NULL, **matches;
        size_t n = 0, len = strlen(prefix);
        int r;

        if (!prefix_valid(prefix))
                return -EINVAL;
        r = pod_list(data_dir, &uuids);
        if (r < 0)
                return r;
        matches = calloc(1, sizeof(char *));
        for (size_t i = 0; matches && uuids[i]; i++) {
                bool seen = false;

                if (strncmp(uuids[i], prefix, len) != 0)
                        continue;
                /* A pod that moved while we listed shows up twice. */
                for (size_t j = 0; j < n; j++)
                        seen = seen || strcmp(matches[j], uuids[i]) == 0;
                if (seen)
                        continue;
                char **a = realloc(matches, (n + 2) * sizeof(char *));
                if (!a) {
                        strv_free(matches);
                        matches = NULL;
                        break;
                }
                matches = a;
                matches[n] = strdup(uuids[i]);
                matches[n + 1] = NULL;
                if (!matches[n++]) {
                        strv_free(matches);
                        matches = NULL;
                }
        }
        strv_free(uuids);
        if (!matches)
                return -ENOMEM;
        if (n == 1)
                memcpy(ret, matches[0], POD_UUID_LEN + 1);
        if (n > 1 && ret_matches) {
                *ret_matches = matches;
                return -ENOTUNIQ;
        }
        strv_free(matches);
        return n == 1 ? 0 : n == 0 ? -ENOENT : -ENOTUNIQ;
}

static int read_small(int dir_fd, const char *name, char buf[SMALL_FILE_MAX]) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ssize_t n;

        if (fd < 0)
                return NEG_ERRNO();
        n = read(fd, buf, SMALL_FILE_MAX - 1);
        if (n < 0)
                return NEG_ERRNO();
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

static int64_t usec_of(const struct timespec *ts) {
        return (int64_t) ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

static void add_time(json_object *o, const char *key, int dir_fd, const char *name, bool ctime) {
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) == 0)
                json_object_object_add(o, key, json_object_new_int64(usec_of(ctime ? &st.st_ctim : &st.st_mtim)));
}

/* Where stage1 keeps the apps' exit codes: the overlay's upper dir when there is one. */
static int open_status_dir(int pod_fd) {
        char tree[SMALL_FILE_MAX], path[SMALL_FILE_MAX + 64];
        struct stat st;

        if (fstatat(pod_fd, "overlay-prepared", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            read_small(pod_fd, "stage1TreeStoreID", tree) >= 0 && !strchr(tree, '/')) {
                snprintf(path, sizeof(path), "overlay/%s/upper/rkt/status", tree);
                int fd = openat(pod_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0)
                        return fd;
        }
        return openat(pod_fd, "stage1/rootfs/rkt/status", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

static json_object *app_status(json_object *app, int status_fd) {
        json_object *o = json_object_new_object(), *image = json_object_object_get(app, "image");
        const char *name = json_object_get_string(json_object_object_get(app, "name"));
        char buf[SMALL_FILE_MAX], started[SMALL_FILE_MAX + 16];

        json_object_object_add(o, "name", json_object_new_string(name ? name : ""));
        json_object_object_add(o, "imageId",
                json_object_new_string(json_object_get_string(json_object_object_get(image, "id")) ?: ""));
        if (json_object_object_get(image, "name"))
                json_object_object_add(o, "imageName", json_object_get(json_object_object_get(image, "name")));
        if (status_fd < 0 || !name || strchr(name, '/'))
                return o;
        snprintf(started, sizeof(started), "%s-started", name);
        add_time(o, "startedUsec", status_fd, started, false);
        if (read_small(status_fd, name, buf) >= 0) {
                char *end;
                long code = strtol(buf, &end, 10);

                if (end != buf && *end == '\0')
                        json_object_object_add(o, "exitCode", json_object_new_int((int) code));
        }
        return o;
}

static json_object *read_manifest(int pod_fd) {
        _cleanup_close_ int fd = openat(pod_fd, "pod", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        return fd < 0 ? NULL : json_object_from_fd_ex(fd, POD_MANIFEST_DEPTH);
}

static int status_of(const char *data_dir, const char *uuid, PodState state, PodPlace place,
                     bool with_manifest, json_object **ret) {
        _cleanup_free_ char *path = pod_path(data_dir, place, uuid);
        _cleanup_close_ int fd = -EBADF, status_fd = -EBADF;
        _cleanup_json_ json_object *manifest = NULL;
        json_object *o, *apps = json_object_new_array(), *a;
        char buf[SMALL_FILE_MAX];

        if (!path || !apps)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                json_object_put(apps);
                return errno == ENOENT ? -ENOENT : NEG_ERRNO();
        }
        o = json_object_new_object();
        json_object_object_add(o, "uuid", json_object_new_string(uuid));
        json_object_object_add(o, "state", json_object_new_string(pod_state_to_string(state)));
        add_time(o, "createdUsec", fd, "pod-created", false);
        if (place == POD_PLACE_RUN || place == POD_PLACE_EXITED_GARBAGE) {
                add_time(o, "startedUsec", fd, "pid", false);
                /* A pid only means something while the pod runs. */
                if (state == POD_STATE_RUNNING && read_small(fd, "pid", buf) >= 0 && atoi(buf) > 0)
                        json_object_object_add(o, "pid", json_object_new_int(atoi(buf)));
        }
        if (place == POD_PLACE_EXITED_GARBAGE || place == POD_PLACE_GARBAGE)
                add_time(o, "gcMarkedUsec", fd, "", true);
        if (read_small(fd, "stage1ImageID", buf) >= 0)
                json_object_object_add(o, "stage1Image", json_object_new_string(buf));

        manifest = read_manifest(fd);
        status_fd = open_status_dir(fd);
        a = json_object_object_get(manifest, "apps");
        for (size_t i = 0; json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++)
                json_object_array_add(apps, app_status(json_object_array_get_idx(a, i), status_fd));
        json_object_object_add(o, "apps", apps);
        if (json_object_object_get(manifest, "userAnnotations"))
                json_object_object_add(o, "userAnnotations", json_object_get(json_object_object_get(manifest, "userAnnotations")));
        if (json_object_object_get(manifest, "userLabels"))
                json_object_object_add(o, "userLabels", json_object_get(json_object_object_get(manifest, "userLabels")));
        if (with_manifest && manifest)
                json_object_object_add(o, "manifest", TAKE_PTR(manifest));
        *ret = o;
        return 0;
}

int pod_status_read(const char *data_dir, const char *uuid, bool with_manifest, json_object **ret) {
        /* The pod may move between the probe and the reads: look again, a few times. */
        for (int attempt = 0; attempt < 3; attempt++) {
                PodState state;
                PodPlace place;
                int r;

                r = pod_probe(data_dir, uuid, &state, &place);
                if (r < 0)
                        return r;
                r = status_of(data_dir, uuid, state, place, with_manifest, ret);
                if (r != -ENOENT)
                        return r;
        }
        return -ENOENT;
}

static bool all_have_exit_codes(json_object *apps) {
        if (!json_object_is_type(apps, json_type_array) || json_object_array_length(apps) == 0)
                return false;
        for (size_t i = 0; i < json_object_array_length(apps); i++)
                if (!json_object_object_get(json_object_array_get_idx(apps, i), "exitCode"))
                        return false;
        return true;
}

int pod_status_read_exited(const char *data_dir, const char *uuid, json_object *worker_apps,
                           json_object **ret) {
        json_object *pod = NULL;
        int r = pod_status_read(data_dir, uuid, false, &pod);

        if (r < 0 && r != -ENOENT)
                return r;
        if (!json_object_is_type(worker_apps, json_type_array) || json_object_array_length(worker_apps) == 0) {
                if (r < 0)
                        return r;
                *ret = pod;
                return 0;
        }
        if (!pod) {
                pod = json_object_new_object();
                if (!pod)
                        return -ENOMEM;
                json_object_object_add(pod, "uuid", json_object_new_string(uuid));
                json_object_object_add(pod, "state", json_object_new_string(pod_state_to_string(POD_STATE_EXITED)));
        }
        if (!all_have_exit_codes(json_object_object_get(pod, "apps")))
                json_object_object_add(pod, "apps", json_object_get(worker_apps));
        *ret = pod;
        return r < 0;
}

static bool string_in(json_object *array, const char *s) {
        for (size_t i = 0; s && i < json_object_array_length(array); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(array, i)), s) == 0)
                        return true;
        return false;
}

/* True when some app of the pod has `key` in values (or values is absent). */
static bool any_app(json_object *pod, const char *key, json_object *values, bool prefix) {
        json_object *apps = json_object_object_get(pod, "apps");

        if (!values)
                return true;
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                const char *v = json_object_get_string(json_object_object_get(json_object_array_get_idx(apps, i), key));

                for (size_t j = 0; v && j < json_object_array_length(values); j++) {
                        const char *want = json_object_get_string(json_object_array_get_idx(values, j));

                        if (prefix ? strncmp(v, want, strlen(want)) == 0 : strcmp(v, want) == 0)
                                return true;
                }
        }
        return false;
}

bool pod_filter_match(json_object *filter, json_object *pod) {
        json_object *states, *labels, *pod_labels;

        if (!filter)
                return true;
        states = json_object_object_get(filter, "states");
        if (states && !string_in(states, json_object_get_string(json_object_object_get(pod, "state"))))
                return false;
        if (!any_app(pod, "name", json_object_object_get(filter, "appNames"), false) ||
            !any_app(pod, "imageId", json_object_object_get(filter, "imageIds"), true) ||
            !any_app(pod, "imageName", json_object_object_get(filter, "imageNames"), false))
                return false;
        labels = json_object_object_get(filter, "userLabels");
        pod_labels = json_object_object_get(pod, "userLabels");
        if (labels) {
                json_object_object_foreach(labels, k, v) {
                        json_object *have = json_object_object_get(pod_labels, k);

                        if (!have || strcmp(json_object_get_string(have), json_object_get_string(v)) != 0)
                                return false;
                }
        }
        return true;
}
