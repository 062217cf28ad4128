/* VarlinkServer: a varlink service on an sd-event loop. It accepts connections on listening
 * sockets, frames and parses calls, answers org.varlink.service itself, checks every call's
 * parameters against the registered IDL before a handler runs, and answers each connection's
 * calls strictly in order. One call per connection is in flight at a time; the next one is read
 * only after the final reply (or at once after a oneway call). The loop never blocks on a peer:
 * all sockets are non-blocking and output is queued within a bounded buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "varlink-idl.h"

typedef struct VarlinkServer VarlinkServer;
typedef struct VarlinkCall VarlinkCall;

typedef struct VarlinkServerInfo {
        const char *vendor;
        const char *product;
        const char *version;
        const char *url;
} VarlinkServerInfo;

/* Every quantity a peer controls is bounded; a value of 0 selects the default. */
typedef struct VarlinkLimits {
        unsigned connections_max;          /* default 4096 */
        unsigned connections_per_uid_max;  /* default 1024 */
        size_t message_size_max;           /* default 16 MiB, for calls read and replies queued */
        size_t output_queue_max;           /* default 16 MiB of unsent replies per connection */
} VarlinkLimits;

#define VARLINK_CONNECTIONS_MAX_DEFAULT 4096u
#define VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT 1024u
#define VARLINK_MESSAGE_SIZE_MAX_DEFAULT (16u * 1024u * 1024u)
#define VARLINK_OUTPUT_QUEUE_MAX_DEFAULT (16u * 1024u * 1024u)

/* The peer's credentials, read once with SO_PEERCRED and SO_PEERGROUPS at accept. */
typedef struct VarlinkPeer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        gid_t *groups;                     /* supplementary groups of the peer */
        size_t n_groups;
} VarlinkPeer;

/* A method handler. It answers now or later through call (reply, notify, error); it may keep
 * the call with varlink_call_ref(). parameters has already passed the IDL check and is never
 * NULL (an absent or null "parameters" reads as {}). A handler that returns a negative errno
 * without having sent its final reply gets `<interface>.SystemError (errno, errnoName)` sent
 * for it when its interface declares that error; otherwise the connection is closed. */
typedef int (*VarlinkMethod)(VarlinkCall *call, json_object *parameters, void *userdata);

/* Asked before dispatch of every call outside org.varlink.service; return true to allow.
 * A refused call gets org.varlink.service.PermissionDenied. */
typedef bool (*VarlinkAccessCheck)(const VarlinkPeer *peer, const char *method, void *userdata);

/* Told when a call that a handler kept ends without its final reply (peer gone, server freed).
 * Not called when a reply function itself fails: its return value says so instead. */
typedef void (*VarlinkCallCancel)(VarlinkCall *call, void *userdata);

enum {
        VARLINK_METHOD_REQUIRES_MORE = 1 << 0,  /* calls without "more" get ExpectedMore */
};

int varlink_server_new(VarlinkServer **ret, sd_event *event, const VarlinkServerInfo *info,
                       const VarlinkLimits *limits);
VarlinkServer *varlink_server_free(VarlinkServer *server);

/* Registers an interface from its IDL text (copied). -EINVAL on a parse error (details in
 * *error when not NULL), -EEXIST when the name is taken. Every method of it answers
 * MethodNotImplemented until bound. */
int varlink_server_add_interface(VarlinkServer *server, const char *idl, VarlinkIdlError *error);
/* Binds a handler to "interface.Method"; -ENOENT when the IDL does not declare it. */
int varlink_server_bind(VarlinkServer *server, const char *method, VarlinkMethod fn,
                        unsigned flags, void *userdata);
void varlink_server_set_access_check(VarlinkServer *server, VarlinkAccessCheck fn, void *userdata);
/* When on, every reply and error a handler sends is checked against the IDL and refused with
 * -EBADMSG when it does not match (tests turn this on). */
void varlink_server_set_check_replies(VarlinkServer *server, bool on);

/* Listens on an already-bound listening socket, e.g. one passed by systemd, or serves a single
 * already-connected socket. fd is taken over in every case, closed on failure too. */
int varlink_server_listen_fd(VarlinkServer *server, int fd);
/* Creates, binds and listens on "unix:/path" (or a bare absolute path). A stale socket file is
 * replaced; a live one (something answers on it) gives -EADDRINUSE. */
int varlink_server_listen_address(VarlinkServer *server, const char *address, mode_t mode);

/* Stops accepting. Calls in flight still get their replies; connections close once their
 * output is flushed. Returns the number of connections still open. */
unsigned varlink_server_shutdown(VarlinkServer *server);
unsigned varlink_server_n_connections(const VarlinkServer *server);

/* The calls. */
VarlinkCall *varlink_call_ref(VarlinkCall *call);
VarlinkCall *varlink_call_unref(VarlinkCall *call);
const char *varlink_call_method(const VarlinkCall *call);
const VarlinkPeer *varlink_call_peer(const VarlinkCall *call);
bool varlink_call_wants_more(const VarlinkCall *call);
bool varlink_call_is_oneway(const VarlinkCall *call);
/* False once the peer has gone or the call has had its final reply. */
bool varlink_call_is_open(const VarlinkCall *call);
void varlink_call_set_cancel(VarlinkCall *call, VarlinkCallCancel fn, void *userdata);

/* All of these take ownership of parameters (NULL sends {}). -ENOTCONN when the peer is gone,
 * -EALREADY after the final reply, -ENOBUFS when the connection's output queue is full (the
 * connection is then dropped), -EMSGSIZE when this reply alone exceeds the message limit and
 * -EBADMSG when reply checking is on and the reply does not match the IDL (in both cases
 * nothing was sent and the call stays open). */
int varlink_call_reply(VarlinkCall *call, json_object *parameters);
/* A reply with "continues": true. On a call without "more" it sends ExpectedMore instead and
 * returns -EBADE. */
int varlink_call_notify(VarlinkCall *call, json_object *parameters);
/* error is a fully qualified error name declared by the method's interface or
 * org.varlink.service. */
int varlink_call_error(VarlinkCall *call, const char *error, json_object *parameters);
int varlink_call_error_invalid_parameter(VarlinkCall *call, const char *parameter);
