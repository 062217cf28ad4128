/* A server-side varlink connection and the calls on it; see varlink-connection.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "varlink-message.h"
#include "varlink-server-internal.h"

static const char *const connection_state_table[_CONNECTION_STATE_MAX] = {
        [CONNECTION_IDLE] = "idle",
        [CONNECTION_CALL] = "call",
        [CONNECTION_DRAINING] = "draining",
        [CONNECTION_CLOSED] = "closed",
};

const char *connection_state_to_string(ConnectionState s) {
        if (s < 0 || s >= _CONNECTION_STATE_MAX)
                return NULL;
        return connection_state_table[s];
}

ConnectionState connection_state_from_string(const char *s) {
        for (int i = 0; s && i < _CONNECTION_STATE_MAX; i++)
                if (strcmp(connection_state_table[i], s) == 0)
                        return (ConnectionState) i;
        return _CONNECTION_STATE_INVALID;
}

static void connection_process(VarlinkConnection *c);

/* Detaches the current call; its holders see it closed and, if unfinished, are told. */
static void connection_end_call(VarlinkConnection *c) {
        VarlinkCall *call = TAKE_PTR(c->call);

        if (!call)
                return;
        call->connection = NULL;
        if (!call->finished && call->cancel) {
                call->finished = true;
                call->cancel(call, call->cancel_userdata);
        }
        call->finished = true;
        varlink_call_unref(call);
}

void connection_free(VarlinkConnection *c) {
        if (!c)
                return;
        connection_end_call(c);
        server_forget_connection(c->server, c);
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->defer);
        varlink_wire_deinit(&c->wire);
        free(c->peer.groups);
        free(c);
}

/* Frees now, or at the end of connection_process() when we are inside it. */
static void connection_close(VarlinkConnection *c) {
        c->state = CONNECTION_CLOSED;
        connection_end_call(c);
        if (!c->in_process)
                connection_free(c);
}

static void connection_schedule(VarlinkConnection *c) {
        if (!c->in_process)
                (void) sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
}

void connection_drain(VarlinkConnection *c) {
        if (c->state == CONNECTION_IDLE)
                c->state = CONNECTION_DRAINING;
        connection_schedule(c);
}

static void connection_update_events(VarlinkConnection *c, bool output_blocked) {
        uint32_t events = 0;

        if (c->state == CONNECTION_IDLE && !c->wire.eof &&
            varlink_wire_output_pending(&c->wire) < VARLINK_OUTPUT_HIGH_WATER)
                events |= EPOLLIN;
        if (output_blocked)
                events |= EPOLLOUT;
        (void) sd_event_source_set_io_events(c->io, events);
}

static void connection_process(VarlinkConnection *c) {
        int r;

        c->in_process = true;
        while (c->state == CONNECTION_IDLE) {
                _cleanup_json_ json_object *message = NULL;

                if (c->server->shutting_down) {
                        c->state = CONNECTION_DRAINING;
                        break;
                }
                r = varlink_wire_next(&c->wire, &message);
                if (r < 0) {
                        c->state = CONNECTION_CLOSED;
                        break;
                }
                if (r == 0) {
                        if (c->wire.eof)
                                c->state = CONNECTION_DRAINING;
                        break;
                }
                if (server_dispatch(c->server, c, message) < 0)
                        c->state = CONNECTION_CLOSED;
        }

        r = c->state == CONNECTION_CLOSED ? -ECONNABORTED : varlink_wire_flush(&c->wire);
        c->in_process = false;
        if (r < 0 || (c->state == CONNECTION_DRAINING && r == 0) ||
            c->state == CONNECTION_CLOSED) {
                connection_close(c);
                return;
        }
        connection_update_events(c, r > 0);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VarlinkConnection *c = userdata;
        int r;

        if (c->state == CONNECTION_IDLE && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                r = varlink_wire_read(&c->wire);
                if (r < 0 && r != -EAGAIN) {
                        connection_close(c);
                        return 0;
                }
        } else if (revents & (EPOLLHUP | EPOLLERR)) {
                /* The peer is gone while a call is in flight: nobody is left to answer. */
                connection_close(c);
                return 0;
        }
        connection_process(c);
        return 0;
}

static int on_defer(sd_event_source *s, void *userdata) {
        VarlinkConnection *c = userdata;

        if (c->state == CONNECTION_CLOSED)
                connection_free(c);
        else
                connection_process(c);
        return 0;
}

static int read_peer(int fd, const struct ucred *cred, VarlinkPeer *ret) {
        socklen_t len = 0;
        gid_t *groups = NULL;

        *ret = (VarlinkPeer) { .pid = cred->pid, .uid = cred->uid, .gid = cred->gid };
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) < 0 && errno != ERANGE)
                return errno == ENOPROTOOPT ? 0 : NEG_ERRNO();
        if (len == 0)
                return 0;
        groups = malloc(len);
        if (!groups)
                return -ENOMEM;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
                free(groups);
                return NEG_ERRNO();
        }
        ret->groups = groups;
        ret->n_groups = len / sizeof(gid_t);
        return 0;
}

int connection_new(VarlinkServer *s, int fd, const struct ucred *cred) {
        VarlinkConnection *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        c->server = s;
        r = varlink_wire_init(&c->wire, fd, s->limits.message_size_max,
                              s->limits.output_queue_max);
        if (r < 0)
                goto fail;
        r = read_peer(fd, cred, &c->peer);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, on_io, c);
        if (r < 0)
                goto fail;
        r = sd_event_add_defer(s->event, &c->defer, on_defer, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);

        c->next = s->connections;
        if (s->connections)
                s->connections->prev = c;
        s->connections = c;
        s->n_connections++;
        return 0;
fail:
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->defer);
        varlink_wire_deinit(&c->wire);
        free(c->peer.groups);
        free(c);
        return r;
}

/* Calls. */

VarlinkCall *varlink_call_ref(VarlinkCall *call) {
        if (call)
                call->n_ref++;
        return call;
}

VarlinkCall *varlink_call_unref(VarlinkCall *call) {
        if (!call || --call->n_ref > 0)
                return NULL;
        free(call->method_name);
        free(call);
        return NULL;
}

const char *varlink_call_method(const VarlinkCall *call) {
        return call->method_name;
}

const VarlinkPeer *varlink_call_peer(const VarlinkCall *call) {
        static const VarlinkPeer gone = { .pid = 0, .uid = (uid_t) -1, .gid = (gid_t) -1 };

        return call->connection ? &call->connection->peer : &gone;
}

bool varlink_call_wants_more(const VarlinkCall *call) {
        return call->more;
}

bool varlink_call_is_oneway(const VarlinkCall *call) {
        return call->oneway;
}

bool varlink_call_is_open(const VarlinkCall *call) {
        return call->connection && !call->finished;
}

void varlink_call_set_cancel(VarlinkCall *call, VarlinkCallCancel fn, void *userdata) {
        call->cancel = fn;
        call->cancel_userdata = userdata;
}

static int check_reply(VarlinkCall *call, json_object *parameters, const char *error) {
        const VarlinkInterface *iface;
        const VarlinkMember *m;
        _cleanup_free_ char *path = NULL;
        const char *dot;

        /* Errors of the service interface may answer any call, even one that never reached
         * a method (unknown interface, denied, invalid). */
        if (error && strncmp(error, "org.varlink.service.", 20) == 0)
                return 0;
        if (!call->method)
                return -EBADMSG;
        iface = call->method->interface;
        if (!error)
                return varlink_interface_validate(iface, call->method->member->output,
                                                  parameters, &path) < 0 ? -EBADMSG : 0;
        dot = strrchr(error, '.');
        if (!dot)
                return -EBADMSG;
        if ((size_t) (dot - error) != strlen(iface->name) ||
            strncmp(error, iface->name, (size_t) (dot - error)) != 0)
                return -EBADMSG;
        m = varlink_interface_find_error(iface, dot + 1);
        if (!m || varlink_interface_validate(iface, m->type, parameters, &path) < 0)
                return -EBADMSG;
        return 0;
}

/* The one path every reply, stream reply and error takes. Owns parameters. */
static int call_send(VarlinkCall *call, json_object *parameters, const char *error,
                     bool continues) {
        _cleanup_json_ json_object *p = parameters;
        _cleanup_json_ json_object *message = NULL;
        VarlinkConnection *c = call->connection;
        int r;

        if (call->finished)
                return -EALREADY;
        if (!c)
                return -ENOTCONN;
        if (c->server->check_replies && !call->oneway) {
                r = check_reply(call, p, error);
                if (r < 0)
                        return r;
        }
        if (!call->oneway) {
                message = varlink_message_new_reply(TAKE_PTR(p), error, continues);
                if (!message)
                        return -ENOMEM;
                r = varlink_wire_queue(&c->wire, message);
                /* A reply too large to send leaves the call open, so the handler (or the
                 * server on its behalf) can still answer with an error. */
                if (r == -EMSGSIZE)
                        return r;
                if (r < 0) {
                        /* The handler learns of the failure from us: no cancel on top. */
                        call->finished = true;
                        connection_close(c);
                        return r;
                }
        }
        if (!continues)
                call->finished = true;
        /* A stream's replies go out at once, even from a handler that keeps running (a
         * worker reporting progress); final replies are flushed together after dispatch. */
        if (continues && !call->oneway) {
                r = varlink_wire_flush(&c->wire);
                if (r < 0) {
                        call->finished = true;
                        connection_close(c);
                        return r;
                }
        }
        if (!continues) {
                connection_end_call(c);
                if (c->state == CONNECTION_CALL)
                        c->state = c->server->shutting_down ? CONNECTION_DRAINING
                                                            : CONNECTION_IDLE;
        }
        connection_schedule(c);
        return 0;
}

int varlink_call_reply(VarlinkCall *call, json_object *parameters) {
        return call_send(call, parameters, NULL, false);
}

int varlink_call_notify(VarlinkCall *call, json_object *parameters) {
        if (!call->more) {
                json_object_put(parameters);
                (void) call_send(call, NULL, "org.varlink.service.ExpectedMore", false);
                return -EBADE;
        }
        return call_send(call, parameters, NULL, true);
}

int varlink_call_error(VarlinkCall *call, const char *error, json_object *parameters) {
        if (!error || !strchr(error, '.')) {
                json_object_put(parameters);
                return -EINVAL;
        }
        return call_send(call, parameters, error, false);
}

int varlink_call_error_invalid_parameter(VarlinkCall *call, const char *parameter) {
        json_object *p = json_object_new_object();

        if (!p || json_object_object_add(p, "parameter", json_object_new_string(parameter)) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        return call_send(call, p, "org.varlink.service.InvalidParameter", false);
}
