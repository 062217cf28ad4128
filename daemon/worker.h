/* The worker side: `stage0d --worker` serves io.stage0.Worker on the connected socket it got
 * as fd 3, runs each job synchronously (it has nothing else to do), and exits when stage0d
 * closes the connection. It links the same modules as the daemon (image store, tree store)
 * and calls them directly. */
#pragma once

#include <stdbool.h>

#include "image-store.h"
#include "varlink-server.h"

typedef struct Worker {
        const char *data_dir;
        int fd;                      /* the connection to stage0d */
        ImageStore *images;          /* opened on first use */
} Worker;

/* Runs until the connection on fd closes. Returns the process exit status. */
int worker_main(const char *data_dir, int fd);

/* True when stage0d has hung up: a job may then stop short of results nobody will learn. */
bool worker_peer_gone(const Worker *w);

/* The store, opened on first use. */
int worker_image_store(Worker *w, ImageStore **ret);

/* Sends io.stage0.Worker.Refused carrying a public error and its parameters (taken). */
int worker_refuse(VarlinkCall *call, const char *error, json_object *parameters);

/* The method handlers, one file per job kind. */
int worker_method_import(VarlinkCall *call, json_object *parameters, void *userdata);
int worker_method_render(VarlinkCall *call, json_object *parameters, void *userdata);
int worker_method_verify(VarlinkCall *call, json_object *parameters, void *userdata);
int worker_method_remove(VarlinkCall *call, json_object *parameters, void *userdata);
int worker_method_prepare(VarlinkCall *call, json_object *parameters, void *userdata);
int worker_method_collect_pods(VarlinkCall *call, json_object *parameters, void *userdata);
int worker_method_run(VarlinkCall *call, json_object *parameters, void *userdata);
int worker_method_stop_pod(VarlinkCall *call, json_object *parameters, void *userdata);
int worker_method_remove_pod(VarlinkCall *call, json_object *parameters, void *userdata);
int worker_method_garbage_collect(VarlinkCall *call, json_object *parameters, void *userdata);
