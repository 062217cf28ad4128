/* VarlinkServer and its connections, driven in-process: a socketpair end is handed to the
 * server as an accepted connection and the test speaks raw varlink on the other end while it
 * runs the event loop. Covers ordering with pipelined calls, oneway, more, the dispatch checks,
 * asynchronous replies, disconnects mid-stream, the limits and shutdown. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <cmocka.h>

#include "cleanup.h"
#include "varlink-server.h"

static const char test_idl[] =
        "# A test interface.\n"
        "interface org.example.test\n"
        "\n"
        "type Item (name: string, n: ?int)\n"
        "method Echo(value: string, item: ?Item) -> (value: string)\n"
        "method Count(n: int) -> (i: int)\n"
        "method Later(value: string) -> (value: string)\n"
        "method Stream() -> (i: int)\n"
        "method Fail(errno: int) -> ()\n"
        "method Bad() -> (x: int)\n"
        "method Unbound() -> ()\n"
        "error SystemError (errno: int, errnoName: string)\n";

typedef struct Fixture {
        sd_event *event;
        VarlinkServer *server;
        int peer;                 /* our end of the connection */
        char buf[1 << 16];
        size_t len;
        VarlinkCall *later;       /* a call answered from the test body */
        VarlinkCall *stream;
        int cancelled;
        bool deny;
} Fixture;

static int method_echo(VarlinkCall *call, json_object *p, void *userdata) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "value", json_object_get(json_object_object_get(p, "value")));
        return varlink_call_reply(call, o);
}

static int method_count(VarlinkCall *call, json_object *p, void *userdata) {
        int n = json_object_get_int(json_object_object_get(p, "n")), r;

        for (int i = 0; i < n; i++) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "i", json_object_new_int(i));
                r = i + 1 < n ? varlink_call_notify(call, o) : varlink_call_reply(call, o);
                if (r < 0)
                        return r == -EBADE ? 0 : r;  /* ExpectedMore has been sent */
        }
        return 0;
}

static int method_later(VarlinkCall *call, json_object *p, void *userdata) {
        Fixture *f = userdata;

        f->later = varlink_call_ref(call);
        return 0;
}

static void on_cancel(VarlinkCall *call, void *userdata) {
        Fixture *f = userdata;

        f->cancelled++;
}

static int method_stream(VarlinkCall *call, json_object *p, void *userdata) {
        Fixture *f = userdata;

        f->stream = varlink_call_ref(call);
        varlink_call_set_cancel(call, on_cancel, f);
        return 0;
}

static int method_fail(VarlinkCall *call, json_object *p, void *userdata) {
        return -json_object_get_int(json_object_object_get(p, "errno"));
}

static int method_bad(VarlinkCall *call, json_object *p, void *userdata) {
        return varlink_call_reply(call, json_tokener_parse("{\"x\":\"not an int\"}"));
}

static bool access_check(const VarlinkPeer *peer, const char *method, void *userdata) {
        Fixture *f = userdata;

        return !f->deny;
}

static int setup_server(Fixture *f, const VarlinkLimits *limits) {
        static const VarlinkServerInfo info = { "Vendor", "Product", "1.0", "https://example.org" };

        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(varlink_server_new(&f->server, f->event, &info, limits), 0);
        assert_int_equal(varlink_server_add_interface(f->server, test_idl, NULL), 0);
        assert_int_equal(varlink_server_add_interface(f->server, test_idl, NULL), -EEXIST);
        assert_int_equal(varlink_server_bind(f->server, "org.example.test.Echo", method_echo, 0, f), 0);
        assert_int_equal(varlink_server_bind(f->server, "org.example.test.Count", method_count, 0, f), 0);
        assert_int_equal(varlink_server_bind(f->server, "org.example.test.Later", method_later, 0, f), 0);
        assert_int_equal(varlink_server_bind(f->server, "org.example.test.Stream", method_stream,
                                             VARLINK_METHOD_REQUIRES_MORE, f), 0);
        assert_int_equal(varlink_server_bind(f->server, "org.example.test.Fail", method_fail, 0, f), 0);
        assert_int_equal(varlink_server_bind(f->server, "org.example.test.Bad", method_bad, 0, f), 0);
        assert_int_equal(varlink_server_bind(f->server, "org.example.test.Nope", method_fail, 0, f), -ENOENT);
        varlink_server_set_access_check(f->server, access_check, f);
        varlink_server_set_check_replies(f->server, true);
        return 0;
}

/* A connected peer: one end to the server, the other stays ours. */
static int connect_peer(Fixture *f) {
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(varlink_server_listen_fd(f->server, sv[0]), 0);
        return sv[1];
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        setup_server(f, NULL);
        f->peer = connect_peer(f);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        varlink_call_unref(f->later);
        varlink_call_unref(f->stream);
        if (f->peer >= 0)
                close(f->peer);
        varlink_server_free(f->server);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

static void send_raw(int fd, const char *data, size_t len) {
        assert_int_equal(write(fd, data, len), (ssize_t) len);
}

/* Sends NUL-separated messages given as one string with '\n' standing for NUL. */
static void send_msgs(Fixture *f, const char *text) {
        char *copy = strdup(text);
        size_t n = strlen(copy);

        for (size_t i = 0; i < n; i++)
                if (copy[i] == '\n')
                        copy[i] = '\0';
        send_raw(f->peer, copy, n);
        free(copy);
}

static size_t count_nul(const Fixture *f) {
        size_t n = 0;

        for (size_t i = 0; i < f->len; i++)
                n += f->buf[i] == '\0';
        return n;
}

/* Runs the loop until `want` messages came back (or the peer closed); returns what came, with
 * NULs shown as '\n'. Bounded: 2000 iterations of at most 5 ms; with want 0, a fixed 20 so
 * that the server has had its chance to (wrongly) answer. */
static char *collect(Fixture *f, size_t want) {
        for (int i = 0; i < 2000 && (want == 0 ? i < 20 : count_nul(f) < want); i++) {
                ssize_t n;

                assert_true(sd_event_run(f->event, 5000) >= 0);
                n = recv(f->peer, f->buf + f->len, sizeof(f->buf) - 1 - f->len, MSG_DONTWAIT);
                if (n == 0)
                        break;
                if (n > 0)
                        f->len += (size_t) n;
        }
        char *s = malloc(f->len + 1);
        memcpy(s, f->buf, f->len);
        s[f->len] = '\0';
        for (size_t i = 0; i < f->len; i++)
                if (s[i] == '\0')
                        s[i] = '\n';
        f->len = 0;
        return s;
}

static void expect(Fixture *f, size_t n, const char *want) {
        _cleanup_free_ char *got = collect(f, n);

        if (strcmp(got, want) != 0)
                fail_msg("got:  %s\nwant: %s", got, want);
}

/* True when the server has closed our connection. */
static bool peer_closed(Fixture *f) {
        for (int i = 0; i < 200; i++) {
                char c;
                ssize_t n;

                (void) sd_event_run(f->event, 5000);
                n = recv(f->peer, &c, 1, MSG_DONTWAIT);
                if (n == 0)
                        return true;
                if (n < 0 && errno != EAGAIN)
                        return true;
        }
        return false;
}

static void test_pipelined_order(void **state) {
        Fixture *f = *state;

        send_msgs(f, "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"a\"}}\n"
                     "{\"method\":\"org.example.test.Later\",\"parameters\":{\"value\":\"b\"}}\n"
                     "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"c\"}}\n");
        expect(f, 1, "{\"parameters\":{\"value\":\"a\"}}\n");
        /* c waits behind b, which is still in flight. */
        expect(f, 0, "");
        assert_non_null(f->later);
        assert_true(varlink_call_is_open(f->later));
        assert_int_equal(varlink_call_reply(f->later, json_tokener_parse("{\"value\":\"b\"}")), 0);
        assert_false(varlink_call_is_open(f->later));
        assert_int_equal(varlink_call_reply(f->later, NULL), -EALREADY);
        expect(f, 2, "{\"parameters\":{\"value\":\"b\"}}\n{\"parameters\":{\"value\":\"c\"}}\n");
}

static void test_many_pipelined(void **state) {
        Fixture *f = *state;
        char call[128], want[4096] = "";

        for (int i = 0; i < 100; i++) {
                snprintf(call, sizeof(call),
                         "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"%d\"}}\n", i);
                send_msgs(f, call);
                snprintf(want + strlen(want), sizeof(want) - strlen(want),
                         "{\"parameters\":{\"value\":\"%d\"}}\n", i);
        }
        expect(f, 100, want);
}

static void test_oneway(void **state) {
        Fixture *f = *state;

        send_msgs(f, "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"x\"},\"oneway\":true}\n"
                     "{\"method\":\"org.example.test.Nope\",\"oneway\":true}\n"
                     "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"y\"}}\n");
        expect(f, 1, "{\"parameters\":{\"value\":\"y\"}}\n");
}

static void test_more(void **state) {
        Fixture *f = *state;

        send_msgs(f, "{\"method\":\"org.example.test.Count\",\"parameters\":{\"n\":3},\"more\":true}\n"
                     "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"after\"}}\n");
        expect(f, 4, "{\"parameters\":{\"i\":0},\"continues\":true}\n"
                     "{\"parameters\":{\"i\":1},\"continues\":true}\n"
                     "{\"parameters\":{\"i\":2}}\n"
                     "{\"parameters\":{\"value\":\"after\"}}\n");
        /* Without more, a streaming handler gets ExpectedMore sent for it. */
        send_msgs(f, "{\"method\":\"org.example.test.Count\",\"parameters\":{\"n\":3}}\n");
        expect(f, 1, "{\"parameters\":{},\"error\":\"org.varlink.service.ExpectedMore\"}\n");
        /* A method that requires more is refused without it, before its handler runs. */
        send_msgs(f, "{\"method\":\"org.example.test.Stream\"}\n");
        expect(f, 1, "{\"parameters\":{},\"error\":\"org.varlink.service.ExpectedMore\"}\n");
        assert_null(f->stream);
}

static void test_parameters_forms(void **state) {
        Fixture *f = *state;

        send_msgs(f, "{\"method\":\"org.example.test.Unbound\"}\n"
                     "{\"method\":\"org.example.test.Unbound\",\"parameters\":null}\n"
                     "{\"method\":\"org.example.test.Unbound\",\"parameters\":{},\"x.y\":1}\n");
        expect(f, 3,
               "{\"parameters\":{\"method\":\"org.example.test.Unbound\"},\"error\":\"org.varlink.service.MethodNotImplemented\"}\n"
               "{\"parameters\":{\"method\":\"org.example.test.Unbound\"},\"error\":\"org.varlink.service.MethodNotImplemented\"}\n"
               "{\"parameters\":{\"method\":\"org.example.test.Unbound\"},\"error\":\"org.varlink.service.MethodNotImplemented\"}\n");
}

static void test_dispatch_errors(void **state) {
        Fixture *f = *state;

        send_msgs(f, "{\"method\":\"org.example.nope.X\"}\n"
                     "{\"method\":\"org.example.test.Nope\"}\n"
                     "{\"method\":\"nodot\"}\n"
                     "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":5}}\n"
                     "{\"method\":\"org.example.test.Echo\",\"parameters\":{}}\n"
                     "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"v\",\"extra\":1}}\n"
                     "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"v\",\"item\":{\"n\":1}}}\n"
                     "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"v\"},\"upgrade\":true}\n");
        expect(f, 8,
               "{\"parameters\":{\"interface\":\"org.example.nope\"},\"error\":\"org.varlink.service.InterfaceNotFound\"}\n"
               "{\"parameters\":{\"method\":\"org.example.test.Nope\"},\"error\":\"org.varlink.service.MethodNotFound\"}\n"
               "{\"parameters\":{\"parameter\":\"method\"},\"error\":\"org.varlink.service.InvalidParameter\"}\n"
               "{\"parameters\":{\"parameter\":\"value\"},\"error\":\"org.varlink.service.InvalidParameter\"}\n"
               "{\"parameters\":{\"parameter\":\"value\"},\"error\":\"org.varlink.service.InvalidParameter\"}\n"
               "{\"parameters\":{\"parameter\":\"extra\"},\"error\":\"org.varlink.service.InvalidParameter\"}\n"
               "{\"parameters\":{\"parameter\":\"item.name\"},\"error\":\"org.varlink.service.InvalidParameter\"}\n"
               "{\"parameters\":{\"parameter\":\"upgrade\"},\"error\":\"org.varlink.service.InvalidParameter\"}\n");
}

static void test_system_error_and_checked_replies(void **state) {
        Fixture *f = *state;

        send_msgs(f, "{\"method\":\"org.example.test.Fail\",\"parameters\":{\"errno\":2}}\n"
                     "{\"method\":\"org.example.test.Bad\"}\n");
        /* Bad's reply does not match its IDL: refused, and the failure becomes SystemError. */
        expect(f, 2,
               "{\"parameters\":{\"errno\":2,\"errnoName\":\"ENOENT\"},\"error\":\"org.example.test.SystemError\"}\n"
               "{\"parameters\":{\"errno\":74,\"errnoName\":\"EBADMSG\"},\"error\":\"org.example.test.SystemError\"}\n");
}

static void test_service_interface(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *got = NULL;
        _cleanup_json_ json_object *o = NULL, *d = NULL;

        send_msgs(f, "{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":null}\n");
        expect(f, 1, "{\"parameters\":{\"interfaces\":[\"org.example.test\",\"org.varlink.service\"],"
                     "\"vendor\":\"Vendor\",\"product\":\"Product\",\"version\":\"1.0\",\"url\":\"https://example.org\"}}\n");
        send_msgs(f, "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{\"interface\":\"org.example.test\"}}\n");
        got = collect(f, 1);
        got[strlen(got) - 1] = '\0';
        o = json_tokener_parse(got);
        assert_non_null(o);
        json_object_object_get_ex(o, "parameters", &d);
        assert_string_equal(json_object_get_string(json_object_object_get(d, "description")), test_idl);
        d = NULL;
        send_msgs(f, "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{\"interface\":\"x.y\"}}\n");
        expect(f, 1, "{\"parameters\":{\"interface\":\"x.y\"},\"error\":\"org.varlink.service.InterfaceNotFound\"}\n");
}

static void test_access_denied(void **state) {
        Fixture *f = *state;

        f->deny = true;
        send_msgs(f, "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"a\"}}\n"
                     "{\"method\":\"org.example.nope.X\"}\n"
                     "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{\"interface\":\"x.y\"}}\n");
        expect(f, 3,
               "{\"parameters\":{},\"error\":\"org.varlink.service.PermissionDenied\"}\n"
               "{\"parameters\":{\"interface\":\"org.example.nope\"},\"error\":\"org.varlink.service.InterfaceNotFound\"}\n"
               "{\"parameters\":{\"interface\":\"x.y\"},\"error\":\"org.varlink.service.InterfaceNotFound\"}\n");
}

static void test_disconnect_mid_stream(void **state) {
        Fixture *f = *state;
        int other = connect_peer(f);

        send_msgs(f, "{\"method\":\"org.example.test.Stream\",\"more\":true}\n");
        expect(f, 0, "");
        assert_non_null(f->stream);
        assert_int_equal(varlink_call_notify(f->stream, json_tokener_parse("{\"i\":0}")), 0);
        expect(f, 1, "{\"parameters\":{\"i\":0},\"continues\":true}\n");
        close(f->peer);
        f->peer = other;
        for (int i = 0; i < 10 && f->cancelled == 0; i++)
                sd_event_run(f->event, 5000);
        assert_int_equal(f->cancelled, 1);
        assert_false(varlink_call_is_open(f->stream));
        assert_int_equal(varlink_call_notify(f->stream, json_tokener_parse("{\"i\":1}")), -EALREADY);
        assert_int_equal(varlink_server_n_connections(f->server), 1);
        /* The other connection is unaffected. */
        send_msgs(f, "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"ok\"}}\n");
        expect(f, 1, "{\"parameters\":{\"value\":\"ok\"}}\n");
}

static void test_protocol_violations_close_only_that_peer(void **state) {
        static const char *const bad[] = {
                "{\"method\":\"org.example.test.Echo\",\"more\":true,\"oneway\":true}",
                "not json",
                "{\"method\":5}",
                "[]",
                "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"\xc0\xaf\"}}",
        };
        Fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int p = connect_peer(f);

                send_raw(p, bad[i], strlen(bad[i]) + 1);
                int saved = f->peer;
                f->peer = p;
                assert_true(peer_closed(f));
                f->peer = saved;
                close(p);
        }
        send_msgs(f, "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"ok\"}}\n");
        expect(f, 1, "{\"parameters\":{\"value\":\"ok\"}}\n");
}

static void test_message_size_limit(void **state) {
        Fixture f = {};
        const VarlinkLimits limits = { .message_size_max = 256 };
        char big[400];
        int other;

        setup_server(&f, &limits);
        f.peer = connect_peer(&f);
        other = connect_peer(&f);
        memset(big, ' ', sizeof(big));
        big[0] = '{';
        send_raw(f.peer, big, sizeof(big));
        assert_true(peer_closed(&f));
        close(f.peer);
        f.peer = other;
        send_msgs(&f, "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"ok\"}}\n");
        expect(&f, 1, "{\"parameters\":{\"value\":\"ok\"}}\n");
        close(f.peer);
        varlink_server_free(f.server);
        sd_event_unref(f.event);
}

static void test_connection_limits(void **state) {
        Fixture f = {};
        const VarlinkLimits limits = { .connections_per_uid_max = 2, .connections_max = 10 };
        char dir[] = "/tmp/test-server.XXXXXX", path[128];
        int fds[3];

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "unix:%s/sock", dir);
        setup_server(&f, &limits);
        assert_int_equal(varlink_server_listen_address(f.server, path, 0600), 0);
        for (int i = 0; i < 3; i++) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };

                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
                fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                assert_int_equal(connect(fds[i], (struct sockaddr *) &sa, sizeof(sa)), 0);
        }
        for (int i = 0; i < 20; i++)
                sd_event_run(f.event, 1000);
        assert_int_equal(varlink_server_n_connections(f.server), 2);
        f.peer = fds[2];
        assert_true(peer_closed(&f));
        f.peer = fds[0];
        send_msgs(&f, "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"ok\"}}\n");
        expect(&f, 1, "{\"parameters\":{\"value\":\"ok\"}}\n");
        /* A live socket is never taken over. */
        assert_int_equal(varlink_server_listen_address(f.server, path, 0600), -EADDRINUSE);
        for (int i = 0; i < 3; i++)
                close(fds[i]);
        varlink_server_free(f.server);
        sd_event_unref(f.event);
        snprintf(path, sizeof(path), "%s/sock", dir);
        unlink(path);
        rmdir(dir);
}

static void test_shutdown_answers_in_flight(void **state) {
        Fixture *f = *state;

        send_msgs(f, "{\"method\":\"org.example.test.Later\",\"parameters\":{\"value\":\"b\"}}\n"
                     "{\"method\":\"org.example.test.Echo\",\"parameters\":{\"value\":\"never\"}}\n");
        expect(f, 0, "");
        assert_int_equal(varlink_server_shutdown(f->server), 1);
        assert_int_equal(varlink_call_reply(f->later, json_tokener_parse("{\"value\":\"b\"}")), 0);
        expect(f, 1, "{\"parameters\":{\"value\":\"b\"}}\n");
        assert_true(peer_closed(f));
        assert_int_equal(varlink_server_n_connections(f->server), 0);
}

static void test_state_strings(void **state) {
        /* The connection state table is internal; GetInfo and the enums of the IDL are covered
         * elsewhere. Here: the limits' documented defaults. */
        assert_int_equal(VARLINK_MESSAGE_SIZE_MAX_DEFAULT, 16u * 1024u * 1024u);
        assert_int_equal(VARLINK_CONNECTIONS_MAX_DEFAULT, 4096u);
        assert_int_equal(VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT, 1024u);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pipelined_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_many_pipelined, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oneway, setup, teardown),
                cmocka_unit_test_setup_teardown(test_more, setup, teardown),
                cmocka_unit_test_setup_teardown(test_parameters_forms, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dispatch_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_system_error_and_checked_replies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_service_interface, setup, teardown),
                cmocka_unit_test_setup_teardown(test_access_denied, setup, teardown),
                cmocka_unit_test_setup_teardown(test_disconnect_mid_stream, setup, teardown),
                cmocka_unit_test_setup_teardown(test_protocol_violations_close_only_that_peer, setup, teardown),
                cmocka_unit_test(test_message_size_limit),
                cmocka_unit_test(test_connection_limits),
                cmocka_unit_test_setup_teardown(test_shutdown_answers_in_flight, setup, teardown),
                cmocka_unit_test(test_state_strings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
