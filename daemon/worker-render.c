/* Worker job: render an image with its dependencies into the tree store. */
#include <errno.h>
#include <string.h>

#include "worker.h"
#include "tree-store.h"

/* A refused render: a missing dependency is NoSuchImage, a blob that fails its hash is
 * ImageCorrupted; ErrorDetail.field names the image. */
static int refuse_render(VarlinkCall *call, int r, const char *key, const ErrorDetail *d) {
        json_object *p = json_object_new_object(), *ref = json_object_new_object();

        if (r == -ENOENT) {
                json_object_object_add(ref, "name", json_object_new_string(d->field));
                json_object_object_add(p, "image", ref);
                json_object_object_add(p, "requiredBy", json_object_new_string(key));
                return worker_refuse(call, "io.stage0.Images.NoSuchImage", p);
        }
        json_object_put(ref);
        json_object_object_add(p, "image", json_object_new_string(d->field[0] ? d->field : key));
        json_object_object_add(p, "expected", json_object_new_string(d->field[0] ? d->field : key));
        json_object_object_add(p, "actual", json_object_new_string(d->reason));
        return worker_refuse(call, "io.stage0.Images.ImageCorrupted", p);
}

int worker_method_render(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        const char *key = json_object_get_string(json_object_object_get(parameters, "key"));
        ErrorDetail detail = {};
        ImageStore *store;
        TreeInfo tree;
        json_object *reply;
        int r;

        r = worker_image_store(w, &store);
        if (r < 0)
                return r;
        r = tree_store_get(store, key, &tree, &detail);
        if (r == -ENOENT || r == -EBADMSG)
                return refuse_render(call, r, key, &detail);
        if (r < 0)
                return r;
        reply = json_object_new_object();
        json_object_object_add(reply, "treeId", json_object_new_string(tree.id));
        json_object_object_add(reply, "treeHash", json_object_new_string(tree.hash));
        return varlink_call_reply(call, reply);
}
