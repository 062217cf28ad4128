/* stage0d's io.stage0.Images methods; see images.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "images.h"
#include "log.h"
#include "tree-store.h"
#include "worker-job.h"

struct Images {
        sd_event *event;
        char *data_dir;
        bool debug;
        uint64_t max_image_size;
        WorkerPool *pool;
        ImageStore *store;
        unsigned n_running;
        unsigned n_queued;
        WorkerJob *queue_head, *queue_tail;
        WorkerJob *running;           /* a list, for freeing */
        json_object *keep;            /* keys GC leaves alone */
};

int images_new(Images **ret, const ImagesConfig *config) {
        Images *im = calloc(1, sizeof(*im));
        int r;

        if (!im)
                return -ENOMEM;
        im->event = sd_event_ref(config->event);
        im->debug = config->debug;
        im->max_image_size = config->max_image_size;
        im->pool = config->pool;
        im->data_dir = strdup(config->data_dir);
        if (!im->data_dir) {
                images_free(im);
                return -ENOMEM;
        }
        r = image_store_open(&im->store, config->data_dir);
        if (r < 0) {
                images_free(im);
                return r;
        }
        *ret = im;
        return 0;
}

static void job_unlink_running(Images *im, WorkerJob *j) {
        for (WorkerJob **p = &im->running; *p; p = worker_job_next(*p))
                if (*p == j) {
                        *p = *worker_job_next(j);
                        *worker_job_next(j) = NULL;
                        return;
                }
}

static void job_list_free(WorkerJob *j) {
        while (j) {
                WorkerJob *next = *worker_job_next(j);

                worker_job_free(j);
                j = next;
        }
}

Images *images_free(Images *im) {
        if (!im)
                return NULL;
        job_list_free(im->running);
        job_list_free(im->queue_head);
        image_store_free(im->store);
        json_object_put(im->keep);
        free(im->data_dir);
        sd_event_unref(im->event);
        free(im);
        return NULL;
}

int images_keep(Images *im, const char *key) {
        if (!im->keep && !(im->keep = json_object_new_array()))
                return -ENOMEM;
        return json_object_array_add(im->keep, json_object_new_string(key)) < 0 ? -ENOMEM : 0;
}

ImageStore *images_store(Images *im) {
        return im->store;
}

/* JSON of the public types. */

static json_object *labels_to_json(const AppcLabel *labels, size_t n) {
        json_object *o = json_object_new_object();

        for (size_t i = 0; o && i < n; i++)
                json_object_object_add(o, labels[i].name, json_object_new_string(labels[i].value));
        return o;
}

static json_object *image_to_json(const ImageInfo *info) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_object_new_string(info->id));
        json_object_object_add(o, "name", json_object_new_string(info->name ? info->name : ""));
        json_object_object_add(o, "labels", labels_to_json(info->labels, info->n_labels));
        json_object_object_add(o, "size", json_object_new_int64((int64_t) info->size));
        json_object_object_add(o, "importedUsec", json_object_new_int64((int64_t) info->imported_usec));
        json_object_object_add(o, "lastUsedUsec", json_object_new_int64((int64_t) info->last_used_usec));
        if (info->check_digest[0])
                json_object_object_add(o, "checkDigest", json_object_new_string(info->check_digest));
        return o;
}

static int images_system_error(VarlinkCall *call, int error, const char *message) {
        return reply_system_error(call, "io.stage0.Images", error, message);
}

/* Workers: at most IMAGES_WORKERS_MAX at a time, the rest waiting in call order. */

static void images_start_queued(Images *im);

static void job_done(WorkerJob *j) {
        Images *im = worker_job_userdata(j);

        job_unlink_running(im, j);
        im->n_running--;
        worker_job_free(j);
        images_start_queued(im);
}

static void images_start_queued(Images *im) {
        while (im->queue_head && im->n_running < IMAGES_WORKERS_MAX) {
                WorkerJob *j = im->queue_head;
                int r;

                im->queue_head = *worker_job_next(j);
                if (!im->queue_head)
                        im->queue_tail = NULL;
                im->n_queued--;
                *worker_job_next(j) = im->running;
                im->running = j;
                im->n_running++;
                r = worker_job_start(j, im->pool);
                if (r < 0) {
                        if (worker_job_call(j))
                                (void) images_system_error(worker_job_call(j), r, "cannot start a worker");
                        job_done(j);
                        return;  /* job_done started the next one */
                }
        }
}

/* Queues a job for a worker; takes parameters and data. */
static int images_submit(Images *im, VarlinkCall *call, const char *method, json_object *parameters,
                         const WorkerJobOps *ops, void *data, void (*data_free)(void *)) {
        WorkerJob *j;
        int r;

        if (im->n_queued >= IMAGES_QUEUE_MAX) {
                json_object *p = json_object_new_object();

                json_object_put(parameters);
                if (data_free)
                        data_free(data);
                json_object_object_add(p, "limit", json_object_new_string("imageJobs"));
                json_object_object_add(p, "max", json_object_new_int(IMAGES_QUEUE_MAX));
                return varlink_call_error(call, "io.stage0.Images.LimitExceeded", p);
        }
        r = worker_job_new(&j, call, method, parameters, ops, im);
        if (r < 0) {
                if (data_free)
                        data_free(data);
                return r;
        }
        worker_job_set_data(j, data, data_free);
        if (im->queue_tail)
                *worker_job_next(im->queue_tail) = j;
        else
                im->queue_head = j;
        im->queue_tail = j;
        im->n_queued++;
        images_start_queued(im);
        return 0;
}

/* Import. */

static void import_reply(WorkerJob *j, const VarlinkReply *reply) {
        VarlinkCall *call = worker_job_call(j);
        Images *im = ((Images *) worker_job_userdata(j));
        json_object *p = json_object_new_object(), *v;
        ImageInfo info = {};
        int r;

        if (!p)
                return;
        if (json_object_object_get_ex(reply->parameters, "bytesRead", &v))
                json_object_object_add(p, "bytesRead", json_object_get(v));
        if (json_object_object_get_ex(reply->parameters, "bytesTotal", &v) && v)
                json_object_object_add(p, "bytesTotal", json_object_get(v));
        if (reply->continues) {
                if (varlink_call_wants_more(call))
                        (void) varlink_call_notify(call, p);
                else
                        json_object_put(p);
                return;
        }
        const char *key = json_object_get_string(json_object_object_get(reply->parameters, "key"));
        r = key ? image_store_get(im->store, key, &info) : -EPROTO;
        if (r < 0) {
                json_object_put(p);
                (void) images_system_error(call, r, "the imported image is not in the index");
                return;
        }
        json_object_object_add(p, "image", image_to_json(&info));
        json_object_object_add(p, "alreadyStored",
                json_object_get(json_object_object_get(reply->parameters, "alreadyStored")));
        image_info_clear(&info);
        (void) varlink_call_reply(call, p);
}

static const WorkerJobOps import_ops = {
        .interface = "io.stage0.Images",
        .reply = import_reply,
        .done = job_done,
};

static int method_import(VarlinkCall *call, json_object *parameters, void *userdata) {
        Images *im = userdata;
        const char *path = json_object_get_string(json_object_object_get(parameters, "path"));

        if (path[0] != '/') {
                json_object *p = json_object_new_object();

                json_object_object_add(p, "path", json_object_new_string(path));
                json_object_object_add(p, "reason", json_object_new_string("not an absolute path"));
                return varlink_call_error(call, "io.stage0.Images.InvalidPath", p);
        }
        json_object *p = json_object_new_object();

        if (!p)
                return -ENOMEM;
        json_object_object_add(p, "path", json_object_new_string(path));
        json_object_object_add(p, "allowDeviceNodes",
                json_object_get(json_object_object_get(parameters, "allowDeviceNodes")));
        if (im->max_image_size > 0)
                json_object_object_add(p, "sizeMax", json_object_new_int64((int64_t) im->max_image_size));
        return images_submit(im, call, "io.stage0.Worker.Import", p, &import_ops, NULL, NULL);
}

/* List and Inspect read the index directly: they are quick. */

static int parse_labels(json_object *o, AppcLabel **ret, size_t *ret_n) {
        size_t n = o ? (size_t) json_object_object_length(o) : 0, i = 0;
        AppcLabel *l = calloc(n + 1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        if (o) {
                json_object_object_foreach(o, k, v) {
                        l[i].name = k;           /* borrowed from o */
                        l[i].value = (char *) json_object_get_string(v);
                        i++;
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

static int method_list(VarlinkCall *call, json_object *parameters, void *userdata) {
        Images *im = userdata;
        _cleanup_free_ AppcLabel *labels = NULL;
        ImageInfo *infos = NULL;
        size_t n_labels, n = 0;
        json_object *list, *reply;
        int r;

        r = parse_labels(json_object_object_get(parameters, "labels"), &labels, &n_labels);
        if (r < 0)
                return r;
        r = image_store_list(im->store,
                             json_object_get_string(json_object_object_get(parameters, "namePrefix")),
                             labels, n_labels, &infos, &n);
        if (r < 0)
                return r;
        reply = json_object_new_object();
        list = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(list, image_to_json(&infos[i]));
        json_object_object_add(reply, "images", list);
        image_info_array_free(infos, n);
        return varlink_call_reply(call, reply);
}

/* Resolves an ImageRef object, answering the call itself when that fails (then returns 1). */
static int resolve_or_reply(Images *im, VarlinkCall *call, json_object *ref, const char *param,
                            ImageInfo *ret) {
        json_object *id = json_object_object_get(ref, "id");
        json_object *name = json_object_object_get(ref, "name");
        _cleanup_free_ AppcLabel *labels = NULL;
        char **matches = NULL;
        size_t n_labels;
        ImageRef r_ref = {};
        int r;

        if (!id == !name || (id && json_object_object_get(ref, "labels")))
                return varlink_call_error_invalid_parameter(call, param) < 0 ? -EIO : 1;
        r = parse_labels(json_object_object_get(ref, "labels"), &labels, &n_labels);
        if (r < 0)
                return r;
        r_ref = (ImageRef) {
                .id = json_object_get_string(id),
                .name = json_object_get_string(name),
                .labels = labels,
                .n_labels = n_labels,
        };
        r = image_store_resolve(im->store, &r_ref, ret, &matches);
        if (r == -ENOENT) {
                json_object *p = json_object_new_object();

                json_object_object_add(p, "image", json_object_get(ref));
                (void) varlink_call_error(call, "io.stage0.Images.NoSuchImage", p);
                return 1;
        }
        if (r == -ENOTUNIQ) {
                json_object *p = json_object_new_object(), *m = json_object_new_array();

                for (char **s = matches; s && *s; s++) {
                        json_object_array_add(m, json_object_new_string(*s));
                        free(*s);
                }
                free(matches);
                json_object_object_add(p, "prefix", json_object_get(id));
                json_object_object_add(p, "matches", m);
                (void) varlink_call_error(call, "io.stage0.Images.AmbiguousImage", p);
                return 1;
        }
        if (r == -EINVAL)
                return varlink_call_error_invalid_parameter(call, param) < 0 ? -EIO : 1;
        return r;
}

static int method_inspect(VarlinkCall *call, json_object *parameters, void *userdata) {
        Images *im = userdata;
        _cleanup_(image_info_clear) ImageInfo info = {};
        ImageManifest *m = NULL;
        json_object *reply;
        int r;

        r = resolve_or_reply(im, call, json_object_object_get(parameters, "image"), "image", &info);
        if (r != 0)
                return r < 0 ? r : 0;
        r = image_store_manifest(im->store, info.key, &m);
        if (r < 0)
                return r;
        reply = json_object_new_object();
        json_object_object_add(reply, "image", image_to_json(&info));
        json_object_object_add(reply, "manifest", json_object_get(m->json));
        json_object_object_add(reply, "trees", json_object_new_array());
        image_manifest_free(m);
        return varlink_call_reply(call, reply);
}

/* Remove: references are resolved here, so NoSuchImage and AmbiguousImage name what the caller
 * gave; the worker checks use by pods and removes. */

static void remove_reply(WorkerJob *j, const VarlinkReply *reply) {
        VarlinkCall *call = worker_job_call(j);
        json_object *p = json_object_new_object();

        if (reply->continues) {
                json_object_put(p);
                return;
        }
        json_object_object_add(p, "removed", json_object_get((json_object *) worker_job_data(j)));
        json_object_object_add(p, "removedTrees",
                json_object_get(json_object_object_get(reply->parameters, "removedTrees")));
        (void) varlink_call_reply(call, p);
}

static const WorkerJobOps remove_ops = {
        .interface = "io.stage0.Images",
        .reply = remove_reply,
        .done = job_done,
};

static void json_data_free(void *data) {
        json_object_put(data);
}

static int method_remove(VarlinkCall *call, json_object *parameters, void *userdata) {
        Images *im = userdata;
        json_object *refs = json_object_object_get(parameters, "images");
        _cleanup_json_ json_object *keys = json_object_new_array(), *ids = json_object_new_array();
        json_object *p;
        int r;

        if (!keys || !ids)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(refs); i++) {
                _cleanup_(image_info_clear) ImageInfo info = {};
                char param[64];

                snprintf(param, sizeof(param), "images[%zu]", i);
                r = resolve_or_reply(im, call, json_object_array_get_idx(refs, i), param, &info);
                if (r != 0)
                        return r < 0 ? r : 0;
                json_object_array_add(keys, json_object_new_string(info.key));
                json_object_array_add(ids, json_object_new_string(info.id));
        }
        p = json_object_new_object();
        json_object_object_add(p, "keys", TAKE_PTR(keys));
        return images_submit(im, call, "io.stage0.Worker.Remove", p, &remove_ops, TAKE_PTR(ids),
                             json_data_free);
}

/* Verify and Render: resolve here, the work in a worker. */

static void trees_reply(WorkerJob *j, const VarlinkReply *reply) {
        VarlinkCall *call = worker_job_call(j);
        json_object *p;

        if (reply->continues)
                return;
        p = json_object_new_object();
        json_object_object_add(p, "id", json_object_new_string(worker_job_data(j)));
        json_object_object_add(p, "trees",
                json_object_get(json_object_object_get(reply->parameters, "trees")));
        (void) varlink_call_reply(call, p);
}

static const WorkerJobOps trees_ops = {
        .interface = "io.stage0.Images",
        .reply = trees_reply,
        .done = job_done,
};

static int method_verify(VarlinkCall *call, json_object *parameters, void *userdata) {
        Images *im = userdata;
        _cleanup_(image_info_clear) ImageInfo info = {};
        json_object *p;
        char *id;
        int r;

        r = resolve_or_reply(im, call, json_object_object_get(parameters, "image"), "image", &info);
        if (r != 0)
                return r < 0 ? r : 0;
        id = strdup(info.id);
        p = json_object_new_object();
        if (!id || !p) {
                free(id);
                json_object_put(p);
                return -ENOMEM;
        }
        json_object_object_add(p, "key", json_object_new_string(info.key));
        return images_submit(im, call, "io.stage0.Worker.Verify", p, &trees_ops, id, free);
}

static void render_reply(WorkerJob *j, const VarlinkReply *reply) {
        VarlinkCall *call = worker_job_call(j);
        json_object *p;

        if (reply->continues)
                return;
        p = json_object_new_object();
        json_object_object_add(p, "tree", json_object_get(json_object_object_get(reply->parameters, "tree")));
        (void) varlink_call_reply(call, p);
}

static const WorkerJobOps render_ops = {
        .interface = "io.stage0.Images",
        .reply = render_reply,
        .done = job_done,
};

static int method_render(VarlinkCall *call, json_object *parameters, void *userdata) {
        Images *im = userdata;
        _cleanup_(image_info_clear) ImageInfo info = {};
        json_object *p;
        int r;

        r = resolve_or_reply(im, call, json_object_object_get(parameters, "image"), "image", &info);
        if (r != 0)
                return r < 0 ? r : 0;
        p = json_object_new_object();
        if (!p)
                return -ENOMEM;
        json_object_object_add(p, "key", json_object_new_string(info.key));
        json_object_object_add(p, "target", json_object_get(json_object_object_get(parameters, "target")));
        json_object_object_add(p, "rootfsOnly", json_object_get(json_object_object_get(parameters, "rootfsOnly")));
        json_object_object_add(p, "overwrite", json_object_get(json_object_object_get(parameters, "overwrite")));
        return images_submit(im, call, "io.stage0.Worker.Render", p, &render_ops, NULL, NULL);
}

/* GarbageCollect: the worker's answer is ours. */

static void gc_reply(WorkerJob *j, const VarlinkReply *reply) {
        VarlinkCall *call = worker_job_call(j);

        if (!reply->continues)
                (void) varlink_call_reply(call, json_object_get(reply->parameters));
}

static const WorkerJobOps gc_ops = {
        .interface = "io.stage0.Images",
        .reply = gc_reply,
        .done = job_done,
};

static int method_garbage_collect(VarlinkCall *call, json_object *parameters, void *userdata) {
        Images *im = userdata;
        json_object *grace = json_object_object_get(parameters, "gracePeriodUsec"), *p;

        if (grace && json_object_get_int64(grace) < 0)
                return varlink_call_error_invalid_parameter(call, "gracePeriodUsec");
        p = json_object_new_object();
        if (!p)
                return -ENOMEM;
        json_object_object_add(p, "gracePeriodUsec",
                json_object_new_int64(grace ? json_object_get_int64(grace) : (int64_t) IMAGES_GC_GRACE_DEFAULT_USEC));
        if (im->keep)
                json_object_object_add(p, "keep", json_object_get(im->keep));
        return images_submit(im, call, "io.stage0.Worker.GarbageCollect", p, &gc_ops, NULL, NULL);
}

static const struct {
        const char *method;
        VarlinkMethod fn;
} images_methods[] = {
        { "io.stage0.Images.Import", method_import },
        { "io.stage0.Images.List", method_list },
        { "io.stage0.Images.Inspect", method_inspect },
        { "io.stage0.Images.Remove", method_remove },
        { "io.stage0.Images.Verify", method_verify },
        { "io.stage0.Images.Render", method_render },
        { "io.stage0.Images.GarbageCollect", method_garbage_collect },
};

int images_bind(Images *im, VarlinkServer *server) {
        for (size_t i = 0; i < ELEMENTSOF(images_methods); i++) {
                int r = varlink_server_bind(server, images_methods[i].method, images_methods[i].fn, 0, im);
                if (r < 0)
                        return r;
        }
        return 0;
}
