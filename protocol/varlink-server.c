/* The varlink server: listeners, accounting, the interface registry and call dispatch; see
 * varlink-server.h. Connections live in varlink-connection.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "cleanup.h"
#include "varlink-address.h"
#include "varlink-embedded.h"
#include "varlink-message.h"
#include "varlink-server-internal.h"

#define ACCEPT_BURST 64

static int method_get_info(VarlinkCall *call, json_object *parameters, void *userdata);
static int method_get_interface_description(VarlinkCall *call, json_object *parameters,
                                            void *userdata);

static int fd_set_nonblock(int fd) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return NEG_ERRNO();
        return 0;
}

static int strdup_or_empty(char **dst, const char *src) {
        *dst = strdup(src ? src : "");
        return *dst ? 0 : -ENOMEM;
}

int varlink_server_new(VarlinkServer **ret, sd_event *event, const VarlinkServerInfo *info,
                       const VarlinkLimits *limits) {
        VarlinkServer *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        if (limits)
                s->limits = *limits;
        if (!s->limits.connections_max)
                s->limits.connections_max = VARLINK_CONNECTIONS_MAX_DEFAULT;
        if (!s->limits.connections_per_uid_max)
                s->limits.connections_per_uid_max = VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT;
        if (!s->limits.message_size_max)
                s->limits.message_size_max = VARLINK_MESSAGE_SIZE_MAX_DEFAULT;
        if (!s->limits.output_queue_max)
                s->limits.output_queue_max = VARLINK_OUTPUT_QUEUE_MAX_DEFAULT;
        /* One reply must always fit the queue, or a large reply could never be sent. */
        if (s->limits.output_queue_max < s->limits.message_size_max + 1)
                s->limits.output_queue_max = s->limits.message_size_max + 1;

        if ((r = strdup_or_empty(&s->vendor, info ? info->vendor : NULL)) < 0 ||
            (r = strdup_or_empty(&s->product, info ? info->product : NULL)) < 0 ||
            (r = strdup_or_empty(&s->version, info ? info->version : NULL)) < 0 ||
            (r = strdup_or_empty(&s->url, info ? info->url : NULL)) < 0 ||
            (r = varlink_server_add_interface(s, varlink_service_interfaces[0].text, NULL)) < 0 ||
            (r = varlink_server_bind(s, "org.varlink.service.GetInfo", method_get_info, 0, s)) < 0 ||
            (r = varlink_server_bind(s, "org.varlink.service.GetInterfaceDescription",
                                     method_get_interface_description, 0, s)) < 0) {
                varlink_server_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

VarlinkServer *varlink_server_free(VarlinkServer *s) {
        if (!s)
                return NULL;
        while (s->connections)
                connection_free(s->connections);
        for (size_t i = 0; i < s->n_listeners; i++) {
                sd_event_source_disable_unref(s->listeners[i].source);
                close(s->listeners[i].fd);
        }
        free(s->listeners);
        for (size_t i = 0; i < s->n_methods; i++) {
                free(s->methods[i]->name);
                free(s->methods[i]);
        }
        free(s->methods);
        for (size_t i = 0; i < s->n_interfaces; i++)
                varlink_interface_free(s->interfaces[i]);
        free(s->interfaces);
        free(s->uids);
        json_object_put(s->info);
        free(s->vendor);
        free(s->product);
        free(s->version);
        free(s->url);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

static const VarlinkInterface *find_interface(const VarlinkServer *s, const char *name,
                                              size_t len) {
        for (size_t i = 0; i < s->n_interfaces; i++)
                if (strlen(s->interfaces[i]->name) == len &&
                    strncmp(s->interfaces[i]->name, name, len) == 0)
                        return s->interfaces[i];
        return NULL;
}

static int compare_method(const void *a, const void *b) {
        return strcmp((*(VarlinkServerMethod *const *) a)->name,
                      (*(VarlinkServerMethod *const *) b)->name);
}

static VarlinkServerMethod *find_method(const VarlinkServer *s, const char *name) {
        VarlinkServerMethod key = { .name = (char *) name }, *k = &key, **m;

        m = bsearch(&k, s->methods, s->n_methods, sizeof(*s->methods), compare_method);
        return m ? *m : NULL;
}

static int add_methods(VarlinkServer *s, const VarlinkInterface *iface) {
        size_t n = 0;

        for (size_t i = 0; i < iface->n_members; i++)
                n += iface->members[i].kind == VARLINK_MEMBER_METHOD;
        VarlinkServerMethod **a = realloc(s->methods, (s->n_methods + n) * sizeof(*a));
        if (!a && s->n_methods + n > 0)
                return -ENOMEM;
        s->methods = a;
        for (size_t i = 0; i < iface->n_members; i++) {
                const VarlinkMember *m = &iface->members[i];
                VarlinkServerMethod *sm;

                if (m->kind != VARLINK_MEMBER_METHOD)
                        continue;
                sm = calloc(1, sizeof(*sm));
                if (!sm || asprintf(&sm->name, "%s.%s", iface->name, m->name) < 0) {
                        free(sm);
                        return -ENOMEM;
                }
                sm->interface = iface;
                sm->member = m;
                s->methods[s->n_methods++] = sm;
        }
        qsort(s->methods, s->n_methods, sizeof(*s->methods), compare_method);
        return 0;
}

static int compare_interface(const void *a, const void *b) {
        return strcmp((*(VarlinkInterface *const *) a)->name,
                      (*(VarlinkInterface *const *) b)->name);
}

int varlink_server_add_interface(VarlinkServer *s, const char *idl, VarlinkIdlError *error) {
        VarlinkInterface *iface = NULL, **a;
        int r;

        r = varlink_interface_parse(&iface, idl, error);
        if (r < 0)
                return r;
        if (find_interface(s, iface->name, strlen(iface->name))) {
                varlink_interface_free(iface);
                return -EEXIST;
        }
        a = realloc(s->interfaces, (s->n_interfaces + 1) * sizeof(*a));
        if (!a) {
                varlink_interface_free(iface);
                return -ENOMEM;
        }
        s->interfaces = a;
        s->interfaces[s->n_interfaces++] = iface;
        json_object_put(s->info);
        s->info = NULL;
        qsort(s->interfaces, s->n_interfaces, sizeof(*s->interfaces), compare_interface);
        /* A partial failure leaves some methods registered; they answer MethodNotImplemented,
         * and the caller treats -ENOMEM as fatal anyway. */
        return add_methods(s, iface);
}

int varlink_server_bind(VarlinkServer *s, const char *method, VarlinkMethod fn, unsigned flags,
                        void *userdata) {
        VarlinkServerMethod *m = find_method(s, method);

        if (!m)
                return -ENOENT;
        m->fn = fn;
        m->flags = flags;
        m->userdata = userdata;
        return 0;
}

void varlink_server_set_access_check(VarlinkServer *s, VarlinkAccessCheck fn, void *userdata) {
        s->access_check = fn;
        s->access_userdata = userdata;
}

void varlink_server_set_check_replies(VarlinkServer *s, bool on) {
        s->check_replies = on;
}

unsigned varlink_server_n_connections(const VarlinkServer *s) {
        return s->n_connections;
}

/* Accounting of connections per uid: a short array, since few uids talk to one daemon. */
static VarlinkUidCount *uid_count(VarlinkServer *s, uid_t uid, bool create) {
        for (size_t i = 0; i < s->n_uids; i++)
                if (s->uids[i].uid == uid)
                        return &s->uids[i];
        if (!create)
                return NULL;
        VarlinkUidCount *a = realloc(s->uids, (s->n_uids + 1) * sizeof(*a));
        if (!a)
                return NULL;
        s->uids = a;
        s->uids[s->n_uids] = (VarlinkUidCount) { .uid = uid };
        return &s->uids[s->n_uids++];
}

void server_forget_connection(VarlinkServer *s, VarlinkConnection *c) {
        VarlinkUidCount *u = uid_count(s, c->peer.uid, false);

        if (u && u->n > 0 && --u->n == 0)
                *u = s->uids[--s->n_uids];
        if (c->prev)
                c->prev->next = c->next;
        else if (s->connections == c)
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
        s->n_connections--;
}

/* Takes over fd. Over a limit the peer is refused by closing its socket at once: it sees EOF
 * and nobody else notices. */
static int server_add_connection(VarlinkServer *s, int fd) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        VarlinkUidCount *u;
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                r = NEG_ERRNO();
                close(fd);
                return r;
        }
        if (s->shutting_down || s->n_connections >= s->limits.connections_max) {
                close(fd);
                return -EUSERS;
        }
        u = uid_count(s, cred.uid, true);
        if (!u) {
                close(fd);
                return -ENOMEM;
        }
        if (u->n >= s->limits.connections_per_uid_max) {
                close(fd);
                return -EUSERS;
        }
        r = connection_new(s, fd, &cred);
        if (r < 0)
                return r;
        /* connection_new linked it; the uid entry may have moved, so look it up again. */
        uid_count(s, cred.uid, false)->n++;
        return 0;
}

static int on_listener(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        VarlinkServer *s = userdata;

        for (int i = 0; i < ACCEPT_BURST; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0)
                        break;  /* EAGAIN, or a transient error: the next wakeup retries */
                (void) server_add_connection(s, cfd);
        }
        return 0;
}

int varlink_server_listen_fd(VarlinkServer *s, int fd) {
        VarlinkListener *a;
        int accepting = 0, r;
        socklen_t len = sizeof(accepting);

        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0) {
                r = NEG_ERRNO();
                close(fd);
                return r;
        }
        if (!accepting) {
                /* A connected socket, as systemd passes with Accept=yes. */
                r = fd_set_nonblock(fd);
                if (r < 0) {
                        close(fd);
                        return r;
                }
                return server_add_connection(s, fd);
        }
        r = fd_set_nonblock(fd);
        if (r < 0)
                goto fail;
        a = realloc(s->listeners, (s->n_listeners + 1) * sizeof(*a));
        if (!a) {
                r = -ENOMEM;
                goto fail;
        }
        s->listeners = a;
        r = sd_event_add_io(s->event, &a[s->n_listeners].source, fd, EPOLLIN, on_listener, s);
        if (r < 0)
                goto fail;
        a[s->n_listeners++].fd = fd;
        return 0;
fail:
        close(fd);
        return r;
}

/* A socket file that nothing answers on is stale and replaced; a live one is left alone. */
static int remove_stale_socket(const struct sockaddr_un *sa, socklen_t salen) {
        struct stat st;
        _cleanup_close_ int fd = -EBADF;

        if (sa->sun_path[0] == '\0')
                return 0;
        if (lstat(sa->sun_path, &st) < 0)
                return errno == ENOENT ? 0 : NEG_ERRNO();
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return NEG_ERRNO();
        if (connect(fd, (const struct sockaddr *) sa, salen) == 0)
                return -EADDRINUSE;
        if (errno != ECONNREFUSED)
                return NEG_ERRNO();
        if (unlink(sa->sun_path) < 0 && errno != ENOENT)
                return NEG_ERRNO();
        return 0;
}

int varlink_server_listen_address(VarlinkServer *s, const char *address, mode_t mode) {
        struct sockaddr_un sa;
        socklen_t salen;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = varlink_address_parse(address, &sa, &salen);
        if (r < 0)
                return r;
        r = remove_stale_socket(&sa, salen);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return NEG_ERRNO();
        if (bind(fd, (const struct sockaddr *) &sa, salen) < 0)
                return NEG_ERRNO();
        if (sa.sun_path[0] != '\0' && chmod(sa.sun_path, mode) < 0)
                return NEG_ERRNO();
        if (listen(fd, SOMAXCONN) < 0)
                return NEG_ERRNO();
        r = varlink_server_listen_fd(s, fd);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

unsigned varlink_server_shutdown(VarlinkServer *s) {
        s->shutting_down = true;
        for (size_t i = 0; i < s->n_listeners; i++) {
                sd_event_source_disable_unref(s->listeners[i].source);
                close(s->listeners[i].fd);
        }
        free(s->listeners);
        s->listeners = NULL;
        s->n_listeners = 0;
        for (VarlinkConnection *c = s->connections, *next; c; c = next) {
                next = c->next;
                connection_drain(c);
        }
        return s->n_connections;
}

/* Dispatch. */

static json_object *one_string(const char *key, const char *value) {
        json_object *o = json_object_new_object();

        if (o && json_object_object_add(o, key, json_object_new_string(value)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int reply_error(VarlinkCall *call, const char *error, const char *key, const char *value) {
        return varlink_call_error(call, error, key ? one_string(key, value) : NULL);
}

/* A handler failed with an errno and said nothing: tell the peer in the interface's own terms
 * when it declares SystemError, else the connection cannot continue. */
static int reply_errno(VarlinkCall *call, int error) {
        const VarlinkInterface *iface = call->method->interface;
        _cleanup_free_ char *name = NULL;
        const char *errno_name = strerrorname_np(-error);
        json_object *p;

        if (!varlink_interface_find_error(iface, "SystemError"))
                return -EPROTO;
        if (asprintf(&name, "%s.SystemError", iface->name) < 0)
                return -ENOMEM;
        p = json_object_new_object();
        if (!p)
                return -ENOMEM;
        json_object_object_add(p, "errno", json_object_new_int(-error));
        json_object_object_add(p, "errnoName", json_object_new_string(errno_name ? errno_name : ""));
        return varlink_call_error(call, name, p);
}

static VarlinkCall *call_new(VarlinkConnection *c, const VarlinkCallMessage *m) {
        VarlinkCall *call = calloc(1, sizeof(*call));

        if (!call)
                return NULL;
        call->method_name = strdup(m->method);
        if (!call->method_name) {
                free(call);
                return NULL;
        }
        call->n_ref = 1;
        call->connection = c;
        call->more = m->more;
        call->oneway = m->oneway;
        return call;
}

/* Everything a call is checked for before its handler runs, in the order peers expect. */
static int dispatch_checks(VarlinkServer *s, VarlinkCall *call, const VarlinkCallMessage *m,
                           const VarlinkServerMethod **ret) {
        const char *dot = strrchr(m->method, '.');
        const VarlinkServerMethod *sm;
        _cleanup_free_ char *path = NULL, *iface = NULL;

        *ret = NULL;
        if (m->upgrade)
                return reply_error(call, "org.varlink.service.InvalidParameter", "parameter",
                                   "upgrade");
        if (!dot || dot == m->method)
                return reply_error(call, "org.varlink.service.InvalidParameter", "parameter",
                                   "method");
        if (!find_interface(s, m->method, (size_t) (dot - m->method))) {
                iface = strndup(m->method, (size_t) (dot - m->method));
                return reply_error(call, "org.varlink.service.InterfaceNotFound", "interface",
                                   iface ? iface : "");
        }
        sm = find_method(s, m->method);
        if (!sm)
                return reply_error(call, "org.varlink.service.MethodNotFound", "method",
                                   m->method);
        if (s->access_check && strcmp(sm->interface->name, "org.varlink.service") != 0 &&
            !s->access_check(&call->connection->peer, sm->name, s->access_userdata))
                return reply_error(call, "org.varlink.service.PermissionDenied", NULL, NULL);
        if (varlink_interface_validate(sm->interface, sm->member->type, m->parameters, &path) < 0)
                return reply_error(call, "org.varlink.service.InvalidParameter", "parameter",
                                   path ? path : "parameters");
        if (!sm->fn)
                return reply_error(call, "org.varlink.service.MethodNotImplemented", "method",
                                   sm->name);
        if ((sm->flags & VARLINK_METHOD_REQUIRES_MORE) && !m->more)
                return reply_error(call, "org.varlink.service.ExpectedMore", NULL, NULL);
        *ret = sm;
        return 0;
}

int server_dispatch(VarlinkServer *s, VarlinkConnection *c, json_object *message) {
        VarlinkCallMessage m;
        VarlinkCall *call;
        const VarlinkServerMethod *sm;
        _cleanup_json_ json_object *empty = NULL;
        int r;

        r = varlink_message_parse_call(message, &m);
        if (r < 0)
                return r;
        if (m.more && m.oneway)
                return -EPROTO;
        call = call_new(c, &m);
        if (!call)
                return -ENOMEM;
        c->call = call;
        c->state = CONNECTION_CALL;
        varlink_call_ref(call);  /* ours, for as long as the handler runs */

        r = dispatch_checks(s, call, &m, &sm);
        if (r >= 0 && sm) {
                call->method = sm;
                if (!m.parameters)
                        m.parameters = empty = json_object_new_object();
                r = m.parameters ? sm->fn(call, m.parameters, sm->userdata) : -ENOMEM;
                if (r < 0 && !call->finished && call->connection)
                        r = reply_errno(call, r);
                else
                        r = 0;
        }
        varlink_call_unref(call);
        return r < 0 && r != -ENOTCONN ? r : 0;
}

static json_object *build_info(const VarlinkServer *s) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *list = json_object_new_array();

        if (!o || !list || json_object_object_add(o, "interfaces", list) < 0) {
                json_object_put(list);
                return NULL;
        }
        json_object_object_add(o, "vendor", json_object_new_string(s->vendor));
        json_object_object_add(o, "product", json_object_new_string(s->product));
        json_object_object_add(o, "version", json_object_new_string(s->version));
        json_object_object_add(o, "url", json_object_new_string(s->url));
        for (size_t i = 0; i < s->n_interfaces; i++)
                json_object_array_add(list, json_object_new_string(s->interfaces[i]->name));
        return TAKE_PTR(o);
}

/* The answer only changes with the interface set, and GetInfo is what peers poll. */
static int method_get_info(VarlinkCall *call, json_object *parameters, void *userdata) {
        VarlinkServer *s = userdata;

        if (!s->info) {
                s->info = build_info(s);
                if (!s->info)
                        return -ENOMEM;
        }
        return varlink_call_reply(call, json_object_get(s->info));
}

static int method_get_interface_description(VarlinkCall *call, json_object *parameters,
                                            void *userdata) {
        VarlinkServer *s = userdata;
        json_object *v = json_object_object_get(parameters, "interface");
        const char *name = json_object_get_string(v);
        const VarlinkInterface *iface = find_interface(s, name, strlen(name));

        if (!iface)
                return reply_error(call, "org.varlink.service.InterfaceNotFound", "interface",
                                   name);
        return varlink_call_reply(call, one_string("description", iface->description));
}
