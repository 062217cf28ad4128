/* Worker jobs on the image store besides Import: Render, Verify, Remove, GarbageCollect.
 * Refusals are the public io.stage0.Images errors, handed to stage0d through Worker.Refused. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs-util.h"
#include "pod-usage.h"
#include "tree-store.h"
#include "worker.h"
#include "worker-pod.h"


static void strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static json_object *tree_json(const TreeInfo *t) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_string(t->id));
        json_object_object_add(o, "hash", json_object_new_string(t->hash));
        return o;
}

static int refuse_corrupted(VarlinkCall *call, const char *image, const char *tree_id,
                            const char *expected, const char *actual) {
        json_object *p = json_object_new_object();

        json_object_object_add(p, "image", json_object_new_string(image));
        if (tree_id)
                json_object_object_add(p, "treeId", json_object_new_string(tree_id));
        json_object_object_add(p, "expected", json_object_new_string(expected));
        json_object_object_add(p, "actual", json_object_new_string(actual));
        return worker_refuse(call, "io.stage0.Images.ImageCorrupted", p);
}

static int refuse_path(VarlinkCall *call, const char *path, const char *reason, int error) {
        json_object *p = json_object_new_object();

        json_object_object_add(p, "path", json_object_new_string(path));
        json_object_object_add(p, "reason", json_object_new_string(reason));
        if (error < 0) {
                const char *name = strerrorname_np(-error);

                json_object_object_add(p, "errno", json_object_new_int(-error));
                json_object_object_add(p, "errnoName", json_object_new_string(name ? name : ""));
        }
        return worker_refuse(call, "io.stage0.Images.InvalidPath", p);
}

/* tree_flatten and tree_render failures: a missing dependency or a corrupt blob. */
static int refuse_render(VarlinkCall *call, int r, const char *key, const ErrorDetail *d) {
        if (r == -ENOENT) {
                json_object *p = json_object_new_object(), *ref = json_object_new_object();

                json_object_object_add(ref, "name", json_object_new_string(d->field));
                json_object_object_add(p, "image", ref);
                json_object_object_add(p, "requiredBy", json_object_new_string(key));
                return worker_refuse(call, "io.stage0.Images.NoSuchImage", p);
        }
        return refuse_corrupted(call, key, NULL, key, d->reason);
}

/* Render into target: the tree store's tree first (so it is there for pods), then target. */
static int render_target(VarlinkCall *call, ImageStore *s, const char *key, const char *target,
                         bool rootfs_only, bool overwrite) {
        _cleanup_free_ char *copy = strdup(target), *tmp = NULL, *tmp_rootfs = NULL;
        char **keys = NULL;
        ErrorDetail d = {};
        int r;

        if (!copy)
                return -ENOMEM;
        if (target[0] != '/')
                return refuse_path(call, target, "not an absolute path", 0);
        if (access(dirname(copy), F_OK) < 0)
                return refuse_path(call, target, "its parent directory does not exist", NEG_ERRNO());
        if (overwrite) {
                r = rm_rf(target);
                if (r < 0)
                        return refuse_path(call, target, "cannot remove what is there", r);
        } else {
                r = dir_is_empty(target);
                if (r == 0 || r == -ENOTDIR)
                        return refuse_path(call, target, "exists and is not an empty directory", 0);
                if (r == 1 && rmdir(target) < 0)
                        return refuse_path(call, target, "cannot replace the empty directory", NEG_ERRNO());
        }
        r = tree_flatten(s, key, &keys, &d);
        if (r < 0)
                return r == -ENOENT ? refuse_render(call, r, key, &d) : r;
        if (!rootfs_only) {
                r = tree_render(s, keys, target, &(RenderOptions) {}, &d);
        } else if (asprintf(&tmp, "%s.render-%d", target, (int) getpid()) < 0 ||
                   asprintf(&tmp_rootfs, "%s/rootfs", tmp) < 0) {
                r = -ENOMEM;
        } else {
                r = tree_render(s, keys, tmp, &(RenderOptions) {}, &d);
                if (r >= 0 && rename(tmp_rootfs, target) < 0)
                        r = NEG_ERRNO();
                (void) rm_rf(tmp);
        }
        strv_free(keys);
        if (r == -EBADMSG || r == -ENOENT)
                return refuse_render(call, r, key, &d);
        return r;
}

int worker_method_render(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        const char *key = json_object_get_string(json_object_object_get(parameters, "key"));
        const char *target = json_object_get_string(json_object_object_get(parameters, "target"));
        bool rootfs_only = json_object_get_boolean(json_object_object_get(parameters, "rootfsOnly"));
        bool overwrite = json_object_get_boolean(json_object_object_get(parameters, "overwrite"));
        ErrorDetail detail = {};
        ImageStore *store;
        TreeInfo tree;
        json_object *reply;
        int r;

        r = worker_image_store(w, &store);
        if (r < 0)
                return r;
        r = tree_store_get(store, key, &tree, &detail);
        if (r >= 0 && target) {
                /* As rkt's `image render`: a tree that no longer matches its hash is
                 * rendered again rather than handed out. */
                _cleanup_free_ char *actual = NULL;

                r = tree_store_verify(store, tree.id, &actual);
                if (r == -EBADMSG && (r = tree_store_remove(store, tree.id)) >= 0)
                        r = tree_store_get(store, key, &tree, &detail);
        }
        if (r == -ENOENT || r == -EBADMSG)
                return refuse_render(call, r, key, &detail);
        if (r < 0)
                return r;
        if (target) {
                r = render_target(call, store, key, target, rootfs_only, overwrite);
                if (r < 0 || !varlink_call_is_open(call))
                        return r;  /* failed, or refused with a reply already sent */
        }
        reply = json_object_new_object();
        json_object_object_add(reply, "tree", tree_json(&tree));
        return varlink_call_reply(call, reply);
}

/* The rendered trees with key on top, NULL-terminated. */
static int trees_of(ImageStore *s, const char *key, TreeInfo **ret, size_t *ret_n) {
        char **ids = NULL;
        TreeInfo *a = NULL;
        size_t n = 0;
        int r;

        r = tree_store_list(s, &ids);
        if (r < 0)
                return r;
        for (size_t i = 0; ids[i] && r >= 0; i++) {
                TreeInfo t;

                if (tree_store_info(s, ids[i], &t) < 0 || strcmp(t.image_key, key) != 0)
                        continue;
                TreeInfo *b = realloc(a, (n + 1) * sizeof(*a));
                if (!b) {
                        r = -ENOMEM;
                        break;
                }
                a = b;
                a[n++] = t;
        }
        strv_free(ids);
        if (r < 0) {
                free(a);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int worker_method_verify(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        const char *key = json_object_get_string(json_object_object_get(parameters, "key"));
        _cleanup_(image_info_clear) ImageInfo info = {};
        _cleanup_free_ TreeInfo *trees = NULL;
        char actual[IMAGE_ID_LEN + 1];
        json_object *list, *reply;
        ImageStore *store;
        size_t n = 0;
        int r;

        r = worker_image_store(w, &store);
        if (r < 0 || (r = image_store_get(store, key, &info)) < 0)
                return r;
        r = image_store_blob_id(store, key, actual);
        if (r == -EUCLEAN)
                return refuse_corrupted(call, info.id, NULL, info.id, "the stored image is missing or not a file");
        if (r < 0)
                return r;
        if (strcmp(actual, info.id) != 0)
                return refuse_corrupted(call, info.id, NULL, info.id, actual);
        r = trees_of(store, key, &trees, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *tree_actual = NULL;

                r = tree_store_verify(store, trees[i].id, &tree_actual);
                if (r == -EBADMSG)
                        return refuse_corrupted(call, info.id, trees[i].id, trees[i].hash,
                                                tree_actual ? tree_actual : "");
                if (r < 0)
                        return r;
        }
        list = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(list, tree_json(&trees[i]));
        reply = json_object_new_object();
        json_object_object_add(reply, "trees", list);
        return varlink_call_reply(call, reply);
}

/* Pods using the image: by the image ID in their manifests, or by a tree with it on top. */
static int image_users(const PodUsage *u, const ImageInfo *info, const TreeInfo *trees,
                       size_t n_trees, json_object **ret) {
        const char **pods = NULL;
        json_object *list = json_object_new_array();
        int r;

        r = pod_usage_image_pods(u, info->id, &pods);
        if (r < 0) {
                json_object_put(list);
                return r;
        }
        for (size_t i = 0; pods[i]; i++)
                json_object_array_add(list, json_object_new_string(pods[i]));
        free(pods);
        for (size_t i = 0; i < n_trees; i++)
                for (size_t j = 0; j < u->n_trees; j++)
                        if (strcmp(u->trees[j].id, trees[i].id) == 0)
                                json_object_array_add(list, json_object_new_string(u->trees[j].pod));
        *ret = list;
        return (int) json_object_array_length(list);
}

static int remove_image(ImageStore *s, const char *key, const TreeInfo *trees, size_t n,
                        json_object *removed_trees) {
        int r;

        for (size_t i = 0; i < n; i++) {
                r = tree_store_remove(s, trees[i].id);
                if (r < 0)
                        return r;
                if (removed_trees)
                        json_object_array_add(removed_trees, json_object_new_string(trees[i].id));
        }
        return image_store_remove(s, key);
}

int worker_method_remove(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        json_object *keys = json_object_object_get(parameters, "keys"), *removed, *reply;
        _cleanup_(pod_usage_done) PodUsage usage = {};
        _cleanup_close_ int prepare_lock = -EBADF;
        ImageStore *store;
        int r;

        r = worker_image_store(w, &store);
        if (r < 0 || (r = worker_prepare_lock(w->data_dir, true, &prepare_lock)) < 0 ||
            (r = pod_usage_collect(w->data_dir, &usage)) < 0)
                return r;
        /* All checks first: a refusal removes nothing. */
        for (size_t i = 0; i < json_object_array_length(keys); i++) {
                const char *key = json_object_get_string(json_object_array_get_idx(keys, i));
                _cleanup_(image_info_clear) ImageInfo info = {};
                _cleanup_free_ TreeInfo *trees = NULL;
                json_object *pods = NULL;
                size_t n = 0;

                if ((r = image_store_get(store, key, &info)) < 0 ||
                    (r = trees_of(store, key, &trees, &n)) < 0 ||
                    (r = image_users(&usage, &info, trees, n, &pods)) < 0)
                        return r;
                if (r > 0) {
                        json_object *p = json_object_new_object();

                        json_object_object_add(p, "image", json_object_new_string(info.id));
                        json_object_object_add(p, "pods", pods);
                        return worker_refuse(call, "io.stage0.Images.ImageInUse", p);
                }
                json_object_put(pods);
        }
        removed = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(keys); i++) {
                const char *key = json_object_get_string(json_object_array_get_idx(keys, i));
                _cleanup_free_ TreeInfo *trees = NULL;
                size_t n = 0;

                r = trees_of(store, key, &trees, &n);
                if (r >= 0)
                        r = remove_image(store, key, trees, n, removed);
                if (r < 0 && r != -ENOENT) {
                        json_object_put(removed);
                        return r;
                }
        }
        reply = json_object_new_object();
        json_object_object_add(reply, "removedTrees", removed);
        return varlink_call_reply(call, reply);
}

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Trees first: a tree no pod uses goes whatever its images' age. */
static int collect_trees(ImageStore *s, const PodUsage *u, json_object *removed, uint64_t *freed) {
        char **ids = NULL;
        int r;

        r = tree_store_list(s, &ids);
        if (r < 0)
                return r;
        for (size_t i = 0; ids[i] && r >= 0; i++) {
                TreeInfo t;
                uint64_t size = 0;

                if (pod_usage_has_tree(u, ids[i]))
                        continue;
                if (tree_store_info(s, ids[i], &t) >= 0)
                        (void) disk_usage(t.path, &size);
                r = tree_store_remove(s, ids[i]);
                if (r >= 0) {
                        *freed += size;
                        json_object_array_add(removed, json_object_new_string(ids[i]));
                }
        }
        strv_free(ids);
        return r;
}

/* Images stage0d needs whether or not a pod uses them now (its default stage1). */
static bool kept(json_object *parameters, const char *key) {
        json_object *keep = json_object_object_get(parameters, "keep");

        for (size_t i = 0; keep && i < json_object_array_length(keep); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(keep, i)), key) == 0)
                        return true;
        return false;
}

int worker_method_garbage_collect(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        uint64_t grace = (uint64_t) json_object_get_int64(json_object_object_get(parameters, "gracePeriodUsec"));
        uint64_t now = now_realtime_usec(), freed = 0;
        _cleanup_(pod_usage_done) PodUsage usage = {};
        json_object *removed_trees = json_object_new_array(), *removed_images = json_object_new_array();
        json_object *reply;
        ImageInfo *images = NULL;
        ImageStore *store;
        _cleanup_close_ int prepare_lock = -EBADF;
        size_t n = 0;
        int r;

        r = worker_image_store(w, &store);
        if (r >= 0)
                r = worker_prepare_lock(w->data_dir, true, &prepare_lock);
        if (r >= 0)
                r = pod_usage_collect(w->data_dir, &usage);
        if (r >= 0)
                r = collect_trees(store, &usage, removed_trees, &freed);
        if (r >= 0)
                r = image_store_list(store, NULL, NULL, 0, &images, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ TreeInfo *trees = NULL;
                json_object *pods = NULL;
                size_t n_trees = 0;

                if (images[i].last_used_usec + grace > now || kept(parameters, images[i].key))
                        continue;
                r = trees_of(store, images[i].key, &trees, &n_trees);
                if (r >= 0)
                        r = image_users(&usage, &images[i], trees, n_trees, &pods);
                json_object_put(pods);
                if (r != 0)
                        continue;  /* in use, or it failed: r < 0 ends the loop */
                r = remove_image(store, images[i].key, trees, n_trees, removed_trees);
                if (r >= 0) {
                        freed += images[i].size;
                        json_object_array_add(removed_images, json_object_new_string(images[i].id));
                }
        }
        image_info_array_free(images, n);
        if (r < 0) {
                json_object_put(removed_trees);
                json_object_put(removed_images);
                return r;
        }
        reply = json_object_new_object();
        json_object_object_add(reply, "removedImages", removed_images);
        json_object_object_add(reply, "removedTrees", removed_trees);
        json_object_object_add(reply, "freedBytes", json_object_new_int64((int64_t) freed));
        return varlink_call_reply(call, reply);
}
