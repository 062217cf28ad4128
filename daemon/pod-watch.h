/* PodWatch: one io.stage0.Pods.Watch subscriber. The handler keeps the call (a reference)
 * and links the watch into Daemon.watches; the watch lives until the peer goes away (the
 * call's cancel callback frees it) or the daemon shuts down. Pod events are sent to every
 * watch with daemon-wide pod_watch_broadcast(). */
#pragma once

#include <json-c/json.h>

#include "varlink-server.h"

typedef struct Daemon Daemon;
typedef struct PodWatch PodWatch;

struct PodWatch {
        Daemon *daemon;
        VarlinkCall *call;         /* our reference */
        PodWatch *prev, *next;     /* in daemon->watches */
};

/* Binds io.stage0.Pods.Watch when the interface declares it; 0 when it does not. */
int pod_watch_bind(Daemon *d);
/* Sends event (the Watch reply parameters; ownership taken) with "continues" to every watch. A
 * watch whose connection cannot take it any more is dropped. */
void pod_watch_broadcast(Daemon *d, json_object *parameters);
/* At shutdown: ends every watch so its connection can close. */
void pod_watch_end_all(Daemon *d);
void pod_watch_free_all(Daemon *d);
PodWatch *pod_watch_free(PodWatch *w);
