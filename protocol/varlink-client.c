/* A blocking varlink client over VarlinkWire; see varlink-client.h. The socket itself is
 * non-blocking so that every wait goes through poll() with the caller's deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cleanup.h"
#include "varlink-address.h"
#include "varlink-client.h"
#include "varlink-message.h"
#include "varlink-wire.h"

#define CLIENT_MESSAGE_SIZE_MAX (16u * 1024u * 1024u)
/* Pipelined calls may queue up before the first reply is read. */
#define CLIENT_OUTPUT_MAX (64u * 1024u * 1024u)

struct VarlinkClient {
        VarlinkWire wire;
};

void varlink_reply_clear(VarlinkReply *reply) {
        if (!reply)
                return;
        json_object_put(reply->parameters);
        free(reply->error);
        *reply = (VarlinkReply) {};
}

int varlink_client_new_from_fd(VarlinkClient **ret, int fd) {
        VarlinkClient *c;
        int flags, r;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return NEG_ERRNO();
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = varlink_wire_init(&c->wire, fd, CLIENT_MESSAGE_SIZE_MAX, CLIENT_OUTPUT_MAX);
        if (r < 0) {
                c->wire.fd = -EBADF;  /* the caller keeps its fd on failure */
                varlink_wire_deinit(&c->wire);
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int varlink_client_connect(VarlinkClient **ret, const char *address) {
        int fd = varlink_address_connect(address), r;

        if (fd < 0)
                return fd;
        r = varlink_client_new_from_fd(ret, fd);
        if (r < 0)
                close(fd);
        return r;
}

VarlinkClient *varlink_client_free(VarlinkClient *c) {
        if (!c)
                return NULL;
        varlink_wire_deinit(&c->wire);
        free(c);
        return NULL;
}

int varlink_client_fd(const VarlinkClient *c) {
        return c->wire.fd;
}

void varlink_client_set_message_size_max(VarlinkClient *c, size_t size) {
        c->wire.message_size_max = size ? size : CLIENT_MESSAGE_SIZE_MAX;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static uint64_t deadline_after(uint64_t timeout_usec) {
        uint64_t now = now_usec();

        return timeout_usec >= UINT64_MAX - now ? UINT64_MAX : now + timeout_usec;
}

/* Waits for events until the deadline: 0 when ready, -ETIMEDOUT otherwise. Looks at least
 * once, so a deadline already past (a zero timeout) still sees what is ready now. */
static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                int ms = -1, r;

                if (deadline != UINT64_MAX) {
                        uint64_t now = now_usec();

                        ms = now >= deadline ? 0 : (int) ((deadline - now + 999) / 1000);
                        if (ms < 0)
                                ms = INT32_MAX;
                }
                r = poll(&p, 1, ms);
                if (r < 0 && errno != EINTR)
                        return NEG_ERRNO();
                if (r > 0)
                        return 0;
                if (r == 0 && ms == 0)
                        return -ETIMEDOUT;
        }
}

int varlink_client_send(VarlinkClient *c, const char *method, json_object *parameters,
                        unsigned flags, uint64_t timeout_usec) {
        _cleanup_json_ json_object *message = NULL;
        uint64_t deadline = deadline_after(timeout_usec);
        int r;

        if (!method || ((flags & VARLINK_CALL_MORE) && (flags & VARLINK_CALL_ONEWAY)))
                return -EINVAL;
        if (parameters && !json_object_is_type(parameters, json_type_object))
                return -EINVAL;
        message = varlink_message_new_call(method, parameters, flags & VARLINK_CALL_MORE,
                                           flags & VARLINK_CALL_ONEWAY);
        if (!message)
                return -ENOMEM;
        r = varlink_wire_queue(&c->wire, message);
        if (r < 0)
                return r;
        while ((r = varlink_wire_flush(&c->wire)) > 0) {
                r = wait_fd(c->wire.fd, POLLOUT, deadline);
                if (r < 0)
                        return r;
        }
        return r == -EPIPE ? -ECONNRESET : r;
}

int varlink_client_read(VarlinkClient *c, VarlinkReply *ret, uint64_t timeout_usec) {
        _cleanup_json_ json_object *message = NULL;
        uint64_t deadline = deadline_after(timeout_usec);
        json_object *parameters;
        const char *error;
        bool continues;
        int r;

        for (;;) {
                r = varlink_wire_next(&c->wire, &message);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;
                if (c->wire.eof)
                        return -ECONNRESET;
                /* Nothing buffered: the reply is rarely there already, so wait first rather
                 * than spend a read(2) on EAGAIN. */
                r = wait_fd(c->wire.fd, POLLIN, deadline);
                if (r < 0)
                        return r;
                r = varlink_wire_read(&c->wire);
                if (r < 0 && r != -EAGAIN)
                        return r;
        }
        r = varlink_message_parse_reply(message, &parameters, &error, &continues);
        if (r < 0)
                return r;
        *ret = (VarlinkReply) { .parameters = parameters, .continues = continues };
        if (error) {
                ret->error = strdup(error);
                if (!ret->error) {
                        varlink_reply_clear(ret);
                        return -ENOMEM;
                }
        }
        return 0;
}

int varlink_client_call(VarlinkClient *c, const char *method, json_object *parameters,
                        uint64_t timeout_usec, VarlinkReply *ret) {
        int r;

        r = varlink_client_send(c, method, parameters, 0, timeout_usec);
        if (r < 0)
                return r;
        return varlink_client_read(c, ret, timeout_usec);
}
