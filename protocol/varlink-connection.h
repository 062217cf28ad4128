/* VarlinkConnection (internal to the server): one accepted peer. Its state machine reads one
 * call, dispatches it, and reads the next only after the final reply has been queued, so
 * replies leave in call order. EPOLLIN is off while a call is in flight or while too much
 * output is queued; EPOLLHUP ends the connection at any time. All work happens in
 * connection_process(), run from the io event or from a deferred event after an
 * asynchronous reply. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "varlink-server.h"
#include "varlink-wire.h"

typedef struct VarlinkConnection VarlinkConnection;
typedef struct VarlinkServerMethod VarlinkServerMethod;

typedef enum ConnectionState {
        CONNECTION_IDLE,          /* waiting for the next call */
        CONNECTION_CALL,          /* a handler owns the current call */
        CONNECTION_DRAINING,      /* no more calls: flush the output, then close */
        CONNECTION_CLOSED,
        _CONNECTION_STATE_MAX,
        _CONNECTION_STATE_INVALID = -EINVAL,
} ConnectionState;

const char *connection_state_to_string(ConnectionState s);
ConnectionState connection_state_from_string(const char *s);

struct VarlinkCall {
        unsigned n_ref;
        VarlinkConnection *connection;   /* NULL once the peer is gone */
        const VarlinkServerMethod *method;
        char *method_name;
        bool more;
        bool oneway;
        bool finished;                   /* final reply sent */
        VarlinkCallCancel cancel;
        void *cancel_userdata;
};

struct VarlinkConnection {
        VarlinkServer *server;
        VarlinkConnection *prev, *next;
        VarlinkWire wire;
        sd_event_source *io;
        sd_event_source *defer;
        VarlinkPeer peer;
        ConnectionState state;
        VarlinkCall *call;
        bool in_process;
};

/* Takes over fd. On success the connection is linked into the server. */
int connection_new(VarlinkServer *server, int fd, const struct ucred *cred);
/* Unlinks and frees; cancels a call in flight. */
void connection_free(VarlinkConnection *c);
/* Stop reading calls; close once the current call is answered and output is flushed. */
void connection_drain(VarlinkConnection *c);
