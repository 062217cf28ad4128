/* VarlinkClient: a blocking varlink client on one connection, for command-line tools, shims
 * and tests. Calls may be pipelined: send several, then read their replies in order. Every
 * wait is bounded by the timeout given to the call. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

typedef struct VarlinkClient VarlinkClient;

enum {
        VARLINK_CALL_MORE = 1 << 0,
        VARLINK_CALL_ONEWAY = 1 << 1,
};

#define VARLINK_TIMEOUT_DEFAULT_USEC (45ULL * 1000000ULL)
#define VARLINK_TIMEOUT_INFINITY UINT64_MAX

/* A reply as read off the wire. parameters is never NULL after a successful read. */
typedef struct VarlinkReply {
        json_object *parameters;
        char *error;              /* fully qualified error name, or NULL */
        bool continues;
} VarlinkReply;

void varlink_reply_clear(VarlinkReply *reply);

/* address: "unix:/path", "unix:@abstract" or a bare path; ";params" are ignored. */
int varlink_client_connect(VarlinkClient **ret, const char *address);
/* Takes over a connected stream socket. */
int varlink_client_new_from_fd(VarlinkClient **ret, int fd);
VarlinkClient *varlink_client_free(VarlinkClient *client);
int varlink_client_fd(const VarlinkClient *client);
/* Limit on one reply's size (default 16 MiB); a larger reply fails the read with -EMSGSIZE. */
void varlink_client_set_message_size_max(VarlinkClient *client, size_t size);

/* Queues and writes one call. parameters is borrowed; NULL sends {}. more and oneway together
 * give -EINVAL. */
int varlink_client_send(VarlinkClient *client, const char *method, json_object *parameters,
                        unsigned flags, uint64_t timeout_usec);
/* Reads the next reply. -ETIMEDOUT when none arrives in time, -ECONNRESET when the peer
 * closed, -EBADMSG/-EMSGSIZE for a malformed or oversize reply. */
int varlink_client_read(VarlinkClient *client, VarlinkReply *ret, uint64_t timeout_usec);

/* send + read for a call with one reply. Returns 0 with ret->error NULL on success, 0 with
 * ret->error set when the service answered an error, or a negative errno as above. */
int varlink_client_call(VarlinkClient *client, const char *method, json_object *parameters,
                        uint64_t timeout_usec, VarlinkReply *ret);
