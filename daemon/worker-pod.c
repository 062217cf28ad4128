/* Preparing a pod in its worker: the seed's Prepare. Order of work: every check that can
 * refuse the request (spec, images, os/arch, the generated manifest) runs before the pod
 * directory exists, so bad input leaves nothing on disk; after that, a failure leaves an
 * aborted prepare that GC collects. The pod directory is laid out as rkt lays it out. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs-util.h"
#include "pod-manifest.h"
#include "pod-spec.h"
#include "tree-store.h"
#include "worker-pod.h"

#define FILE_MODE 0640
#define DIR_MODE 0750
#define PRIVATE_USERS_COUNT 0x10000u

typedef struct PodImages {
        size_t n;
        PodImageRef *refs;
        ImageInfo *infos;
        ImageManifest **manifests;
        PodImage *images;
        ImageInfo stage1;
        ImageManifest *stage1_manifest;
} PodImages;

static void pod_images_done(PodImages *p) {
        for (size_t i = 0; i < p->n; i++) {
                image_info_clear(&p->infos[i]);
                image_manifest_free(p->manifests ? p->manifests[i] : NULL);
        }
        free(p->refs);
        free(p->infos);
        free(p->manifests);
        free(p->images);
        image_info_clear(&p->stage1);
        image_manifest_free(p->stage1_manifest);
        *p = (PodImages) {};
}

void prepared_pod_done(PreparedPod *p) {
        if (p->lock_fd >= 0)
                close(p->lock_fd);
        free(p->dir);
        json_object_put(p->manifest);
        *p = (PreparedPod) { .lock_fd = -EBADF };
}

/* Refusals, in the terms of io.stage0.Pods. */

static int refuse(VarlinkCall *call, const char *error, json_object *p) {
        (void) worker_refuse(call, error, p);
        return 1;
}

static int refuse_spec(VarlinkCall *call, const ErrorDetail *d) {
        json_object *p = json_object_new_object();

        json_object_object_add(p, "field", json_object_new_string(d->field));
        json_object_object_add(p, "reason", json_object_new_string(d->reason));
        return refuse(call, "io.stage0.Pods.InvalidPodSpec", p);
}

static json_object *ref_json(const char *id, const char *name, json_object *labels) {
        json_object *o = json_object_new_object();

        if (id)
                json_object_object_add(o, "id", json_object_new_string(id));
        if (name)
                json_object_object_add(o, "name", json_object_new_string(name));
        if (labels)
                json_object_object_add(o, "labels", json_object_get(labels));
        return o;
}

static int refuse_no_image(VarlinkCall *call, json_object *ref, const char *app) {
        json_object *p = json_object_new_object();

        json_object_object_add(p, "image", ref);
        if (app)
                json_object_object_add(p, "app", json_object_new_string(app));
        return refuse(call, "io.stage0.Pods.NoSuchImage", p);
}

static int refuse_aborted(VarlinkCall *call, const char *uuid, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
static int refuse_aborted(VarlinkCall *call, const char *uuid, const char *format, ...) {
        json_object *p = json_object_new_object();
        char reason[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(reason, sizeof(reason), format, ap);
        va_end(ap);
        json_object_object_add(p, "uuid", json_object_new_string(uuid));
        json_object_object_add(p, "reason", json_object_new_string(reason));
        return refuse(call, "io.stage0.Pods.PrepareAborted", p);
}

/* Resolving the images, before anything is created. */

static int labels_of(json_object *labels, AppcLabel **ret, size_t *ret_n) {
        size_t n = labels ? (size_t) json_object_object_length(labels) : 0, i = 0;
        AppcLabel *l = calloc(n + 1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        if (labels) {
                json_object_object_foreach(labels, k, v) {
                        l[i].name = k;
                        l[i++].value = (char *) json_object_get_string(v);
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

/* 0 resolved, 1 refused (replied), < 0 failed. */
static int resolve_one(VarlinkCall *call, ImageStore *s, const char *id, const char *name,
                       json_object *labels, const char *app, const char *field, ImageInfo *ret,
                       ImageManifest **ret_manifest) {
        _cleanup_free_ AppcLabel *l = NULL;
        const char *arch;
        char **matches = NULL;
        size_t n;
        ErrorDetail d = {};
        int r;

        r = labels_of(labels, &l, &n);
        if (r < 0)
                return r;
        r = image_store_resolve(s, &(ImageRef) { .id = id, .name = name, .labels = l, .n_labels = n },
                                ret, &matches);
        if (r == -ENOENT || r == -EINVAL)
                return refuse_no_image(call, ref_json(id, name, labels), app);
        if (r == -ENOTUNIQ) {
                json_object *p = json_object_new_object(), *m = json_object_new_array();

                for (size_t i = 0; matches && matches[i]; i++) {
                        json_object_array_add(m, json_object_new_string(matches[i]));
                        free(matches[i]);
                }
                free(matches);
                json_object_object_add(p, "prefix", json_object_new_string(id ? id : ""));
                json_object_object_add(p, "matches", m);
                return refuse(call, "io.stage0.Pods.AmbiguousImage", p);
        }
        if (r < 0)
                return r;
        r = image_store_manifest(s, ret->key, ret_manifest);
        if (r < 0)
                return r;
        r = pod_host_arch(&arch);
        if (r < 0)
                return r;
        r = pod_image_check_os_arch(*ret_manifest, "linux", arch, field, &d);
        if (r < 0) {
                json_object *p = json_object_new_object();

                json_object_object_add(p, "image", json_object_new_string(ret->id));
                if (app)
                        json_object_object_add(p, "app", json_object_new_string(app));
                json_object_object_add(p, "reason", json_object_new_string(d.reason));
                return refuse(call, "io.stage0.Pods.UnsuitableImage", p);
        }
        return 0;
}

static int resolve_images(VarlinkCall *call, ImageStore *s, json_object *spec, json_object *stage1,
                          PodImages *p) {
        ErrorDetail d = {};
        int r;

        r = pod_spec_image_refs(spec, &p->refs, &p->n, &d);
        if (r == -EINVAL)
                return refuse_spec(call, &d);
        if (r < 0)
                return r;
        p->infos = calloc(p->n + 1, sizeof(ImageInfo));
        p->manifests = calloc(p->n + 1, sizeof(ImageManifest *));
        p->images = calloc(p->n + 1, sizeof(PodImage));
        if (!p->infos || !p->manifests || !p->images)
                return -ENOMEM;
        for (size_t i = 0; i < p->n; i++) {
                PodImageRef *ref = &p->refs[i];

                r = resolve_one(call, s, ref->id, ref->name, ref->labels, ref->app, ref->field,
                                &p->infos[i], &p->manifests[i]);
                if (r != 0)
                        return r;
                p->images[i] = (PodImage) { .id = p->infos[i].id, .manifest = p->manifests[i] };
        }
        return resolve_one(call, s,
                           json_object_get_string(json_object_object_get(stage1, "id")),
                           json_object_get_string(json_object_object_get(stage1, "name")),
                           json_object_object_get(stage1, "labels"), NULL, "spec.stage1Image",
                           &p->stage1, &p->stage1_manifest);
}

/* rkt's test: overlay listed in /proc/filesystems, and a data dir that reports d_type. */
static bool overlay_supported(const char *data_dir) {
        _cleanup_free_ char *line = NULL;
        size_t n = 0;
        bool found = false;
        FILE *f = fopen("/proc/filesystems", "re");
        DIR *d;
        struct dirent *de;

        if (!f)
                return false;
        while (!found && getline(&line, &n, f) > 0)
                found = strcmp(line, "nodev\toverlay\n") == 0;
        fclose(f);
        if (!found || !(d = opendir(data_dir)))
                return false;
        while ((de = readdir(d)) && strcmp(de->d_name, ".") == 0)
                ;
        found = de && de->d_type != DT_UNKNOWN;
        closedir(d);
        return found;
}

/* Writing the pod. */

static int write_at(int dir_fd, const char *name, const char *content, mode_t mode) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        size_t len = strlen(content);

        if (fd < 0)
                return NEG_ERRNO();
        if (fchmod(fd, mode) < 0 || write(fd, content, len) != (ssize_t) len)
                return errno ? NEG_ERRNO() : -EIO;
        return 0;
}

static int mkdir_at(int dir_fd, const char *name) {
        if (mkdirat(dir_fd, name, DIR_MODE) < 0 && errno != EEXIST)
                return NEG_ERRNO();
        return 0;
}

typedef struct PrepareMode {
        bool overlay;
        uid_t shift, count;           /* private users when shift > 0 */
} PrepareMode;

static int render_or_record(ImageStore *s, const char *key, const PrepareMode *m, const char *dir,
                            char tree_id[TREE_ID_LEN + 1], ErrorDetail *d) {
        char **keys = NULL;
        int r;

        if (m->overlay) {
                TreeInfo t;

                r = tree_store_get(s, key, &t, d);
                if (r >= 0)
                        memcpy(tree_id, t.id, TREE_ID_LEN + 1);
                return r;
        }
        r = tree_flatten(s, key, &keys, d);
        if (r >= 0)
                r = tree_id_from_keys(keys, tree_id);
        if (r >= 0)
                r = tree_render(s, keys, dir, &(RenderOptions) { .uid_shift = m->shift, .uid_count = m->count }, d);
        for (size_t i = 0; keys && keys[i]; i++)
                free(keys[i]);
        free(keys);
        return r;
}

static int write_stage1(ImageStore *s, int pod_fd, const char *pod_dir, const PodImages *p,
                        const PrepareMode *m, ErrorDetail *d) {
        _cleanup_free_ char *stage1 = NULL;
        char tree_id[TREE_ID_LEN + 1];
        int r;

        if (asprintf(&stage1, "%s/stage1", pod_dir) < 0)
                return -ENOMEM;
        if (m->overlay) {
                /* The rootfs is an overlay over the tree store's tree, mounted at run. */
                if ((r = mkdir_at(pod_fd, "stage1")) < 0 ||
                    (r = mkdir_at(pod_fd, "stage1/rootfs")) < 0 ||
                    (r = write_at(pod_fd, "stage1/manifest",
                                  json_object_to_json_string_ext(p->stage1_manifest->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                                  FILE_MODE)) < 0)
                        return r;
        }
        r = render_or_record(s, p->stage1.key, m, stage1, tree_id, d);
        if (r < 0)
                return r;
        if ((r = write_at(pod_fd, "stage1TreeStoreID", tree_id, FILE_MODE)) < 0 ||
            (r = write_at(pod_fd, "stage1ImageID", p->stage1.id, FILE_MODE)) < 0)
                return r;
        return 0;
}

static int write_app(ImageStore *s, int pod_fd, const char *pod_dir, const char *app,
                     const ImageInfo *info, const ImageManifest *im, const PrepareMode *m,
                     ErrorDetail *d) {
        _cleanup_free_ char *info_dir = NULL, *app_dir = NULL, *manifest = NULL, *tree_file = NULL;
        char tree_id[TREE_ID_LEN + 1];
        int r;

        if (asprintf(&info_dir, "appsinfo/%s", app) < 0 ||
            asprintf(&manifest, "appsinfo/%s/manifest", app) < 0 ||
            asprintf(&tree_file, "appsinfo/%s/treeStoreID", app) < 0 ||
            asprintf(&app_dir, "%s/stage1/rootfs/opt/stage2/%s", pod_dir, app) < 0)
                return -ENOMEM;
        if ((r = mkdir_at(pod_fd, info_dir)) < 0)
                return r;
        if (!m->overlay && ((r = mkdir_at(pod_fd, "stage1/rootfs/opt")) < 0 ||
                            (r = mkdir_at(pod_fd, "stage1/rootfs/opt/stage2")) < 0))
                return r;
        r = render_or_record(s, info->key, m, app_dir, tree_id, d);
        if (r < 0)
                return r;
        if (m->overlay && (r = write_at(pod_fd, tree_file, tree_id, FILE_MODE)) < 0)
                return r;
        if (!m->overlay && m->shift > 0 && chown(app_dir, m->shift, m->shift) < 0)
                return NEG_ERRNO();
        return write_at(pod_fd, manifest,
                        json_object_to_json_string_ext(im->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                        FILE_MODE);
}

static int write_pod(ImageStore *s, PreparedPod *pod, const PodImages *p, const PrepareMode *m,
                     ErrorDetail *d) {
        _cleanup_close_ int fd = open(pod->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        json_object *apps = json_object_object_get(pod->manifest, "apps");
        char users[64];
        int r;

        if (fd < 0)
                return NEG_ERRNO();
        if ((r = mkdir_at(fd, "appsinfo")) < 0 || (r = write_stage1(s, fd, pod->dir, p, m, d)) < 0)
                return r;
        for (size_t i = 0; i < p->n; i++) {
                const char *app = json_object_get_string(json_object_object_get(json_object_array_get_idx(apps, i), "name"));

                r = write_app(s, fd, pod->dir, app, &p->infos[i], p->manifests[i], m, d);
                if (r < 0)
                        return r;
        }
        if ((r = write_at(fd, "pod.lck", "", 0600)) < 0 ||
            (r = write_at(fd, "pod", pod_manifest_to_string(pod->manifest), FILE_MODE)) < 0 ||
            (r = write_at(fd, "pod-created", "", FILE_MODE)) < 0)
                return r;
        if (m->overlay && (r = write_at(fd, "overlay-prepared", "", FILE_MODE)) < 0)
                return r;
        if (m->shift > 0) {
                snprintf(users, sizeof(users), "%u:%u", (unsigned) m->shift, (unsigned) m->count);
                if ((r = write_at(fd, "private-users-prepared", users, FILE_MODE)) < 0)
                        return r;
        }
        return syncfs(fd) < 0 ? NEG_ERRNO() : 0;
}

static int prepare_mode(VarlinkCall *call, const char *data_dir, json_object *spec, PrepareMode *ret) {
        json_object *overlay = json_object_object_get(spec, "overlay");
        json_object *users = json_object_object_get(spec, "privateUsers");
        bool supported = overlay_supported(data_dir);
        PrepareMode m = {};

        /* Private users need a copy (overlay with them is refused by the spec check). */
        m.overlay = overlay ? json_object_get_boolean(overlay) : supported && !users;
        if (m.overlay && !supported) {
                json_object *p = json_object_new_object();

                json_object_object_add(p, "option", json_object_new_string("overlay"));
                json_object_object_add(p, "reason", json_object_new_string(
                        "the data dir does not support overlayfs (no overlay in /proc/filesystems, or no d_type)"));
                return refuse(call, "io.stage0.Pods.NotSupported", p);
        }
        if (users) {
                json_object *shift = json_object_object_get(users, "shift");
                json_object *count = json_object_object_get(users, "count");
                unsigned n;

                /* rkt: a random n << 16 with n in 1..0x7FFF, so devpts never sees the MSB. */
                if (getentropy(&n, sizeof(n)) < 0)
                        return NEG_ERRNO();
                m.shift = shift ? (uid_t) json_object_get_int64(shift) : (uid_t) ((n % 0x7FFF + 1) << 16);
                m.count = count ? (uid_t) json_object_get_int64(count) : PRIVATE_USERS_COUNT;
        }
        *ret = m;
        return 0;
}

/* rkt's prepareLock: image GC takes it exclusively, so it never collects a tree that a pod
 * being prepared is about to use. */
int worker_prepare_lock(const char *data_dir, bool exclusive, int *ret) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int fd;

        if (asprintf(&dir, "%s/locks", data_dir) < 0 || asprintf(&path, "%s/prepare.lck", dir) < 0)
                return -ENOMEM;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return NEG_ERRNO();
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return NEG_ERRNO();
        if (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
                close(fd);
                return NEG_ERRNO();
        }
        *ret = fd;
        return 0;
}

static json_object *uuid_json(const char *uuid) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "uuid", json_object_new_string(uuid));
        return o;
}

int worker_pod_prepare(Worker *w, VarlinkCall *call, json_object *parameters, PreparedPod *ret) {
        json_object *spec = json_object_object_get(parameters, "spec");
        _cleanup_(pod_images_done) PodImages images = {};
        _cleanup_(prepared_pod_done) PreparedPod pod = { .lock_fd = -EBADF };
        _cleanup_close_ int prepare_lock = -EBADF;
        PodManifestOptions options = { .mutable_pod = false, .uid = getuid(), .gid = getgid() };
        ErrorDetail d = {};
        PrepareMode mode;
        ImageStore *store;
        int r;

        r = worker_image_store(w, &store);
        if (r < 0)
                return r;
        r = resolve_images(call, store, spec, json_object_object_get(parameters, "stage1"), &images);
        if (r != 0)
                return r;
        r = pod_manifest_from_spec(spec, images.images, images.n, &options, &pod.manifest, &d);
        if (r == -EINVAL)
                return refuse_spec(call, &d);
        if (r < 0)
                return r;
        r = prepare_mode(call, w->data_dir, spec, &mode);
        if (r != 0)
                return r;

        r = worker_prepare_lock(w->data_dir, false, &prepare_lock);
        if (r < 0 || (r = pod_places_init(w->data_dir)) < 0 ||
            (r = pod_create(w->data_dir, pod.uuid, &pod.lock_fd)) < 0)
                return r;
        pod.dir = pod_path(w->data_dir, POD_PLACE_PREPARE, pod.uuid);
        if (!pod.dir)
                return -ENOMEM;
        if (varlink_call_wants_more(call))
                (void) varlink_call_notify(call, uuid_json(pod.uuid));

        r = write_pod(store, &pod, &images, &mode, &d);
        if (r < 0)
                return refuse_aborted(call, pod.uuid, "%s%s%s", d.reason[0] ? d.reason : strerror(-r),
                                      d.field[0] ? ": " : "", d.field);
        *ret = pod;
        pod = (PreparedPod) { .lock_fd = -EBADF };
        return 0;
}

/* Worker.Prepare: prepare, then leave the pod prepared. */
int worker_method_prepare(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        _cleanup_(prepared_pod_done) PreparedPod pod = { .lock_fd = -EBADF };
        int r;

        r = worker_pod_prepare(w, call, parameters, &pod);
        if (r != 0)
                return r < 0 ? r : 0;
        /* Nobody learnt this pod's UUID: rather an aborted prepare that GC takes than a
         * prepared pod that waits forever. */
        if (worker_peer_gone(w))
                return 0;
        r = pod_move(w->data_dir, pod.uuid, POD_PLACE_PREPARE, POD_PLACE_PREPARED);
        if (r < 0) {
                (void) refuse_aborted(call, pod.uuid, "cannot move the pod to prepared: %s", strerror(-r));
                return 0;
        }
        return varlink_call_reply(call, uuid_json(pod.uuid));
}

/* Worker.RemovePod: stage0d has moved the pod to a garbage place; delete it under its lock. */
int worker_method_remove_pod(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        const char *uuid = json_object_get_string(json_object_object_get(parameters, "uuid"));
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ char *dir = NULL;
        PodPlace place;
        int r;

        r = pod_find(w->data_dir, uuid, &place);
        if (r < 0)
                return r;
        if (place != POD_PLACE_GARBAGE && place != POD_PLACE_EXITED_GARBAGE)
                return -EBUSY;
        r = pod_lock_exclusive(w->data_dir, uuid, place, &lock);
        if (r < 0)
                return r;
        dir = pod_path(w->data_dir, place, uuid);
        if (!dir)
                return -ENOMEM;
        r = worker_pod_delete(w->data_dir, uuid, place);
        if (r < 0)
                return r;
        return varlink_call_reply(call, uuid_json(uuid));
}
