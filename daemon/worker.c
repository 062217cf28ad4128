/* The worker process's loop; see worker.h. */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "config.h"
#include "log.h"
#include "varlink-embedded.h"
#include "worker.h"

static int on_post(sd_event_source *s, void *userdata) {
        VarlinkServer *server = userdata;

        /* The one connection is stage0d's: when it has gone, the job is over. */
        if (varlink_server_n_connections(server) == 0)
                return sd_event_exit(sd_event_source_get_event(s), 0);
        return 0;
}

bool worker_peer_gone(const Worker *w) {
        struct pollfd p = { .fd = w->fd, .events = POLLRDHUP };

        return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

int worker_image_store(Worker *w, ImageStore **ret) {
        int r;

        if (!w->images) {
                r = image_store_open(&w->images, w->data_dir);
                if (r < 0)
                        return r;
        }
        *ret = w->images;
        return 0;
}

int worker_refuse(VarlinkCall *call, const char *error, json_object *parameters) {
        json_object *p = json_object_new_object();

        if (!p) {
                json_object_put(parameters);
                return -ENOMEM;
        }
        json_object_object_add(p, "error", json_object_new_string(error));
        json_object_object_add(p, "parameters", parameters ? parameters : json_object_new_object());
        return varlink_call_error(call, "io.stage0.Worker.Refused", p);
}

/* A worker names itself after its job (comm "w:Import", "w:Run", ...), so that ps, and tests,
 * can tell a busy worker from an idle spare, which keeps the name "stage0-worker". Every call
 * is allowed: only stage0d is on the other end. */
static bool name_after_job(const VarlinkPeer *peer, const char *method, void *userdata) {
        const char *dot = strrchr(method, '.');
        char name[16];

        snprintf(name, sizeof(name), "w:%s", dot ? dot + 1 : method);
        (void) prctl(PR_SET_NAME, name);
        return true;
}

static const struct {
        const char *method;
        VarlinkMethod fn;
} worker_methods[] = {
        { "io.stage0.Worker.Import", worker_method_import },
        { "io.stage0.Worker.Render", worker_method_render },
        { "io.stage0.Worker.Verify", worker_method_verify },
        { "io.stage0.Worker.Remove", worker_method_remove },
        { "io.stage0.Worker.GarbageCollect", worker_method_garbage_collect },
        { "io.stage0.Worker.Prepare", worker_method_prepare },
        { "io.stage0.Worker.RemovePod", worker_method_remove_pod },
        { "io.stage0.Worker.Run", worker_method_run },
        { "io.stage0.Worker.CollectPods", worker_method_collect_pods },
        { "io.stage0.Worker.StopPod", worker_method_stop_pod },
};

int worker_main(const char *data_dir, int fd) {
        static const VarlinkServerInfo info = { "stage0", "stage0d worker", STAGE0_VERSION, STAGE0_URL };
        Worker w = { .data_dir = data_dir, .fd = fd };
        sd_event *event = NULL;
        VarlinkServer *server = NULL;
        sd_event_source *post = NULL;
        int r;

        /* A worker ends with its connection; it is stage0d that decides about signals. */
        signal(SIGPIPE, SIG_IGN);
        /* fd 3 came without O_CLOEXEC across our exec; what we exec (stage1) must not get it. */
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return EXIT_FAILURE;

        r = sd_event_new(&event);
        if (r >= 0)
                r = varlink_server_new(&server, event, &info, NULL);
        if (r >= 0)
                r = varlink_server_add_interface(server, stage0_worker_interfaces[0].text, NULL);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(worker_methods); i++)
                r = varlink_server_bind(server, worker_methods[i].method, worker_methods[i].fn, 0, &w);
        if (r >= 0) {
                varlink_server_set_access_check(server, name_after_job, NULL);
                r = varlink_server_listen_fd(server, fd);
        }
        if (r >= 0)
                r = sd_event_add_post(event, &post, on_post, server);
        /* Most jobs need the store and a digest or two: open and warm them now, while this
         * worker may still be an idle spare, rather than on the clock of its job. OpenSSL's
         * first use reads its config file; we use no engines or providers from it. A failure
         * is the job's to report. */
        if (r >= 0) {
                ImageStore *store;
                unsigned char md[EVP_MAX_MD_SIZE];
                unsigned len;

                (void) OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
                (void) EVP_Digest("", 0, md, &len, EVP_sha512(), NULL);
                (void) worker_image_store(&w, &store);
        }
        if (r >= 0)
                r = sd_event_loop(event);
        if (r < 0)
                log_error_errno(r, "Worker failed: %m");

        sd_event_source_unref(post);
        varlink_server_free(server);
        image_store_free(w.images);
        sd_event_unref(event);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
