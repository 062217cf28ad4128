/* What the server and its connections share; not installed. */
#pragma once

#include <sys/types.h>

#include "varlink-connection.h"
#include "varlink-idl.h"
#include "varlink-server.h"

/* Stop reading calls from a peer while this much output is still unsent. */
#define VARLINK_OUTPUT_HIGH_WATER (256u * 1024u)

struct VarlinkServerMethod {
        char *name;                           /* fully qualified */
        const VarlinkInterface *interface;
        const VarlinkMember *member;
        VarlinkMethod fn;                     /* NULL: MethodNotImplemented */
        unsigned flags;
        void *userdata;
};

typedef struct VarlinkListener {
        int fd;
        sd_event_source *source;
} VarlinkListener;

typedef struct VarlinkUidCount {
        uid_t uid;
        unsigned n;
} VarlinkUidCount;

struct VarlinkServer {
        sd_event *event;
        char *vendor, *product, *version, *url;
        VarlinkLimits limits;
        VarlinkInterface **interfaces;        /* sorted by name */
        size_t n_interfaces;
        VarlinkServerMethod **methods;        /* sorted by name */
        size_t n_methods;
        VarlinkListener *listeners;
        size_t n_listeners;
        VarlinkConnection *connections;
        unsigned n_connections;
        VarlinkUidCount *uids;
        size_t n_uids;
        VarlinkAccessCheck access_check;
        void *access_userdata;
        bool check_replies;
        bool shutting_down;
        json_object *info;                    /* GetInfo's reply, built once per interface set */
};

/* Handles one parsed message of c. A negative return means a protocol violation: the caller
 * closes the connection. */
int server_dispatch(VarlinkServer *s, VarlinkConnection *c, json_object *message);
void server_forget_connection(VarlinkServer *s, VarlinkConnection *c);
