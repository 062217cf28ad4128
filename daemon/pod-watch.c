/* io.stage0.Pods.Watch: a subscriber first gets the current pods replayed, then one "synced"
 * event, then every change as it happens, all with "continues". Every PodWatch in
 * daemon->watches holds a reference to a call that is still open; the cancel callback is the
 * one place a watch is freed because its peer went away. */
#include <errno.h>
#include <stdlib.h>

#include "cleanup.h"
#include "daemon.h"
#include "log.h"
#include "pod-watch.h"

#define POD_WATCH_METHOD "io.stage0.Pods.Watch"

static void pod_watch_unlink(PodWatch *w) {
        Daemon *d = w->daemon;

        if (w->prev)
                w->prev->next = w->next;
        else if (d->watches == w)
                d->watches = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->prev = w->next = NULL;
}

PodWatch *pod_watch_free(PodWatch *w) {
        if (!w)
                return NULL;
        pod_watch_unlink(w);
        if (w->call) {
                varlink_call_set_cancel(w->call, NULL, NULL);
                varlink_call_unref(w->call);
        }
        free(w);
        return NULL;
}

static void pod_watch_freep(PodWatch **w) {
        pod_watch_free(*w);
}

static void on_watch_cancel(VarlinkCall *call, void *userdata) {
        PodWatch *w = userdata;

        log_debug("Pods.Watch subscriber went away");
        pod_watch_free(w);
}

static int pod_watch_new(PodWatch **ret, Daemon *d, VarlinkCall *call) {
        PodWatch *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->daemon = d;
        w->call = varlink_call_ref(call);
        varlink_call_set_cancel(call, on_watch_cancel, w);

        w->next = d->watches;
        if (d->watches)
                d->watches->prev = w;
        d->watches = w;
        *ret = w;
        return 0;
}

/* The parameters of the event that ends the replay of existing pods. */
static json_object *pod_event_synced(void) {
        _cleanup_json_ json_object *params = json_object_new_object(), *event = json_object_new_object();

        if (!params || !event)
                return NULL;
        if (json_object_object_add(event, "kind", json_object_new_string("synced")) < 0)
                return NULL;
        if (json_object_object_add(params, "event", TAKE_PTR(event)) < 0)
                return NULL;
        return TAKE_PTR(params);
}

static int pod_watch_send(PodWatch *w, json_object *parameters) {
        int r = varlink_call_notify(w->call, parameters);

        if (r < 0)
                log_debug_errno(r, "Failed to send a pod event to a watcher: %m");
        return r;
}

static int pods_watch(VarlinkCall *call, json_object *parameters, void *userdata) {
        _cleanup_(pod_watch_freep) PodWatch *w = NULL;
        Daemon *d = userdata;
        json_object *synced;
        int r;

        r = pod_watch_new(&w, d, call);
        if (r < 0)
                return r;

        /* The pod registry does not exist yet, so there is nothing to replay. */
        synced = pod_event_synced();
        if (!synced)
                return -ENOMEM;
        r = pod_watch_send(w, synced);
        if (r < 0)
                return r;
        if (d->shutting_down)
                return varlink_call_reply(call, NULL);

        TAKE_PTR(w);
        return 0;
}

int pod_watch_bind(Daemon *d) {
        int r = varlink_server_bind(d->server, POD_WATCH_METHOD, pods_watch,
                                    VARLINK_METHOD_REQUIRES_MORE, d);

        if (r == -ENOENT) {
                log_debug("%s is not declared, leaving it unbound", POD_WATCH_METHOD);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to bind %s: %m", POD_WATCH_METHOD);
        return 0;
}

void pod_watch_broadcast(Daemon *d, json_object *parameters) {
        PodWatch *next;

        for (PodWatch *w = d->watches; w; w = next) {
                next = w->next;
                if (pod_watch_send(w, json_object_get(parameters)) < 0)
                        pod_watch_free(w);
        }
        json_object_put(parameters);
}

void pod_watch_end_all(Daemon *d) {
        while (d->watches) {
                PodWatch *w = d->watches;

                /* A final reply without "continues" ends the stream; the peer sees the
                 * connection close right after. */
                (void) varlink_call_reply(w->call, pod_event_synced());
                pod_watch_free(w);
        }
}

void pod_watch_free_all(Daemon *d) {
        while (d->watches)
                pod_watch_free(d->watches);
}
