/* Asynchronous varlink client connection; see varlink-channel.h. A FIFO of pending calls
 * matches replies to calls. Callbacks may free the channel, so every dispatch holds a
 * reference and re-checks `closed` after each callback. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "varlink-address.h"
#include "varlink-channel.h"
#include "varlink-message.h"
#include "varlink-wire.h"

#define CHANNEL_MESSAGE_SIZE_MAX (16u * 1024u * 1024u)
#define CHANNEL_OUTPUT_MAX (64u * 1024u * 1024u)

typedef struct PendingCall {
        struct PendingCall *next;
        VarlinkReplyFn fn;
        void *userdata;
} PendingCall;

struct VarlinkChannel {
        unsigned n_ref;
        bool freed;               /* the owner let go; only in-flight dispatch holds it */
        bool closed;
        VarlinkWire wire;
        sd_event_source *io;
        PendingCall *head, *tail;
        unsigned n_pending;
        VarlinkChannelClosedFn closed_fn;
        void *closed_userdata;
};

static void channel_drop_pending(VarlinkChannel *ch) {
        while (ch->head) {
                PendingCall *p = ch->head;

                ch->head = p->next;
                free(p);
        }
        ch->tail = NULL;
        ch->n_pending = 0;
}

static void channel_unref(VarlinkChannel *ch) {
        if (--ch->n_ref > 0)
                return;
        channel_drop_pending(ch);
        sd_event_source_disable_unref(ch->io);
        varlink_wire_deinit(&ch->wire);
        free(ch);
}

VarlinkChannel *varlink_channel_free(VarlinkChannel *ch) {
        if (!ch)
                return NULL;
        ch->freed = true;
        ch->closed = true;
        (void) sd_event_source_set_enabled(ch->io, SD_EVENT_OFF);
        channel_unref(ch);
        return NULL;
}

void varlink_channel_set_closed(VarlinkChannel *ch, VarlinkChannelClosedFn fn, void *userdata) {
        ch->closed_fn = fn;
        ch->closed_userdata = userdata;
}

unsigned varlink_channel_n_pending(const VarlinkChannel *ch) {
        return ch->n_pending;
}

/* Fails every pending call, then tells the owner. */
static void channel_fail(VarlinkChannel *ch, int r) {
        if (ch->closed)
                return;
        ch->closed = true;
        (void) sd_event_source_set_enabled(ch->io, SD_EVENT_OFF);
        while (ch->head && !ch->freed) {
                PendingCall *p = ch->head;

                ch->head = p->next;
                if (!ch->head)
                        ch->tail = NULL;
                ch->n_pending--;
                if (p->fn)
                        p->fn(ch, r, NULL, p->userdata);
                free(p);
        }
        if (!ch->freed && ch->closed_fn)
                ch->closed_fn(ch, r, ch->closed_userdata);
}

static void channel_update_events(VarlinkChannel *ch) {
        uint32_t events = EPOLLIN;

        if (varlink_wire_output_pending(&ch->wire) > 0)
                events |= EPOLLOUT;
        (void) sd_event_source_set_io_events(ch->io, events);
}

/* Hands one parsed reply to the call at the head of the queue. */
static int channel_dispatch(VarlinkChannel *ch, json_object *message) {
        VarlinkReply reply = {};
        const char *error;
        PendingCall *p = ch->head;
        int r;

        if (!p)
                return -EBADMSG;  /* a reply nobody asked for */
        r = varlink_message_parse_reply(message, &reply.parameters, &error, &reply.continues);
        if (r < 0)
                return r;
        reply.error = (char *) error;
        if (!reply.continues) {
                ch->head = p->next;
                if (!ch->head)
                        ch->tail = NULL;
                ch->n_pending--;
        }
        if (p->fn)
                p->fn(ch, 0, &reply, p->userdata);
        json_object_put(reply.parameters);
        if (!reply.continues)
                free(p);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VarlinkChannel *ch = userdata;
        int r = 0;

        ch->n_ref++;
        if (revents & EPOLLOUT) {
                r = varlink_wire_flush(&ch->wire);
                if (r < 0)
                        goto fail;
        }
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                r = varlink_wire_read(&ch->wire);
                if (r < 0 && r != -EAGAIN)
                        goto fail;
                for (;;) {
                        _cleanup_json_ json_object *message = NULL;

                        r = varlink_wire_next(&ch->wire, &message);
                        if (r < 0)
                                goto fail;
                        if (r == 0)
                                break;
                        r = channel_dispatch(ch, message);
                        if (r < 0)
                                goto fail;
                        if (ch->closed)
                                goto out;
                }
                if (ch->wire.eof) {
                        r = ch->n_pending > 0 ? -ECONNRESET : 0;
                        goto fail;
                }
        }
        channel_update_events(ch);
        goto out;
fail:
        channel_fail(ch, r);
out:
        channel_unref(ch);
        return 0;
}

int varlink_channel_new(VarlinkChannel **ret, sd_event *event, int fd) {
        VarlinkChannel *ch;
        int flags, r;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return NEG_ERRNO();
        ch = calloc(1, sizeof(*ch));
        if (!ch)
                return -ENOMEM;
        ch->n_ref = 1;
        r = varlink_wire_init(&ch->wire, fd, CHANNEL_MESSAGE_SIZE_MAX, CHANNEL_OUTPUT_MAX);
        if (r >= 0)
                r = sd_event_add_io(event, &ch->io, fd, EPOLLIN, on_io, ch);
        if (r < 0) {
                ch->wire.fd = -EBADF;  /* the caller keeps its fd on failure */
                varlink_wire_deinit(&ch->wire);
                free(ch);
                return r;
        }
        *ret = ch;
        return 0;
}

int varlink_channel_connect(VarlinkChannel **ret, sd_event *event, const char *address) {
        int fd = varlink_address_connect(address), r;

        if (fd < 0)
                return fd;
        r = varlink_channel_new(ret, event, fd);
        if (r < 0)
                close(fd);
        return r;
}

int varlink_channel_call(VarlinkChannel *ch, const char *method, json_object *parameters,
                         unsigned flags, VarlinkReplyFn fn, void *userdata) {
        _cleanup_json_ json_object *message = NULL;
        bool oneway = flags & VARLINK_CALL_ONEWAY;
        PendingCall *p = NULL;
        int r;

        if (ch->closed)
                return -ENOTCONN;
        if (!method || ((flags & VARLINK_CALL_MORE) && oneway))
                return -EINVAL;
        message = varlink_message_new_call(method, parameters, flags & VARLINK_CALL_MORE, oneway);
        if (!message)
                return -ENOMEM;
        if (!oneway) {
                p = calloc(1, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                *p = (PendingCall) { .fn = fn, .userdata = userdata };
        }
        r = varlink_wire_queue(&ch->wire, message);
        if (r < 0) {
                free(p);
                return r;
        }
        if (p) {
                if (ch->tail)
                        ch->tail->next = p;
                else
                        ch->head = p;
                ch->tail = p;
                ch->n_pending++;
        }
        /* Write now: the peer should not wait for our next loop iteration. */
        r = varlink_wire_flush(&ch->wire);
        if (r < 0 && r != -EAGAIN) {
                /* Report the failure through the callbacks, from the loop, not from here. */
                (void) sd_event_source_set_io_events(ch->io, EPOLLIN | EPOLLOUT);
                return 0;
        }
        channel_update_events(ch);
        return 0;
}
