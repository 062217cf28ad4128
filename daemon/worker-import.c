/* Worker jobs on images: Import (and, as the tree store lands, Render). Refusals are the
 * public io.stage0.Images errors, handed to stage0d through Worker.Refused. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "worker.h"

/* Progress at most this often: each report is a message to stage0d and on to its caller. */
#define PROGRESS_INTERVAL_USEC 200000ULL

typedef struct ImportProgress {
        VarlinkCall *call;
        uint64_t last_usec;
} ImportProgress;

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static json_object *progress_json(uint64_t bytes_read, uint64_t bytes_total) {
        json_object *p = json_object_new_object();

        if (!p)
                return NULL;
        json_object_object_add(p, "bytesRead", json_object_new_int64((int64_t) bytes_read));
        if (bytes_total > 0)
                json_object_object_add(p, "bytesTotal", json_object_new_int64((int64_t) bytes_total));
        return p;
}

static void on_progress(uint64_t bytes_read, uint64_t bytes_total, void *userdata) {
        ImportProgress *ip = userdata;
        uint64_t now = now_usec();

        if (!varlink_call_wants_more(ip->call) || now - ip->last_usec < PROGRESS_INTERVAL_USEC)
                return;
        ip->last_usec = now;
        (void) varlink_call_notify(ip->call, progress_json(bytes_read, bytes_total));
}

static int refuse_path(VarlinkCall *call, const char *path, const char *reason, int error) {
        json_object *p = json_object_new_object();

        json_object_object_add(p, "path", json_object_new_string(path));
        json_object_object_add(p, "reason", json_object_new_string(reason));
        if (error) {
                const char *name = strerrorname_np(-error);

                json_object_object_add(p, "errno", json_object_new_int(-error));
                json_object_object_add(p, "errnoName", json_object_new_string(name ? name : ""));
        }
        return worker_refuse(call, "io.stage0.Images.InvalidPath", p);
}

/* ErrorDetail from the store: "manifest:<json path>" for manifest errors, else a tar path. */
static int refuse_image(VarlinkCall *call, const ErrorDetail *d) {
        json_object *p = json_object_new_object();

        if (strncmp(d->field, "manifest:", 9) == 0) {
                json_object_object_add(p, "field", json_object_new_string(d->field + 9));
                json_object_object_add(p, "reason", json_object_new_string(d->reason));
                return worker_refuse(call, "io.stage0.Images.InvalidManifest", p);
        }
        json_object_object_add(p, "reason", json_object_new_string(d->reason));
        if (d->field[0])
                json_object_object_add(p, "path", json_object_new_string(d->field));
        return worker_refuse(call, "io.stage0.Images.InvalidImage", p);
}

static int refuse_limit(VarlinkCall *call, const char *limit, uint64_t max) {
        json_object *p = json_object_new_object();

        json_object_object_add(p, "limit", json_object_new_string(limit));
        json_object_object_add(p, "max", json_object_new_int64((int64_t) max));
        return worker_refuse(call, "io.stage0.Images.LimitExceeded", p);
}

int worker_method_import(VarlinkCall *call, json_object *parameters, void *userdata) {
        Worker *w = userdata;
        const char *path = json_object_get_string(json_object_object_get(parameters, "path"));
        json_object *size_max = json_object_object_get(parameters, "sizeMax");
        ImageImportOptions o = {
                .allow_device_nodes = json_object_get_boolean(json_object_object_get(parameters, "allowDeviceNodes")),
                .size_max = size_max ? (uint64_t) json_object_get_int64(size_max) : 0,
        };
        ImportProgress ip = { .call = call };
        _cleanup_(image_info_clear) ImageInfo info = {};
        ErrorDetail detail = {};
        _cleanup_close_ int fd = -EBADF;
        ImageStore *store;
        struct stat st;
        json_object *reply;
        int r;

        if (o.size_max == 0)
                o.size_max = IMAGE_SIZE_MAX_DEFAULT;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return refuse_path(call, path, "cannot open the file", NEG_ERRNO());
        if (fstat(fd, &st) < 0)
                return NEG_ERRNO();
        if (S_ISDIR(st.st_mode))
                return refuse_path(call, path, "is a directory", -EISDIR);
        r = worker_image_store(w, &store);
        if (r < 0)
                return r;
        r = image_store_import(store, fd, &o, on_progress, &ip, &info, &detail);
        if (r == -EBADMSG)
                return refuse_image(call, &detail);
        if (r == -EFBIG)
                return refuse_limit(call, "imageSize", o.size_max);
        if (r == -EMSGSIZE)
                return refuse_limit(call, "manifestSize", IMAGE_MANIFEST_SIZE_MAX);
        if (r < 0)
                return r;
        if (r == 1) {
                struct timespec ts;

                /* Importing again counts as a use, as the IDL says. */
                clock_gettime(CLOCK_REALTIME, &ts);
                (void) image_store_touch(store, info.key,
                                         (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u);
        }

        reply = progress_json(S_ISREG(st.st_mode) ? (uint64_t) st.st_size : 0,
                              S_ISREG(st.st_mode) ? (uint64_t) st.st_size : 0);
        json_object_object_add(reply, "key", json_object_new_string(info.key));
        json_object_object_add(reply, "alreadyStored", json_object_new_boolean(r == 1));
        return varlink_call_reply(call, reply);
}
