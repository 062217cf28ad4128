/* VarlinkChannel against a real VarlinkServer on one event loop: replies reach the right
 * callbacks in order, streams, errors, a peer that goes away, and a callback that frees the
 * channel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "cleanup.h"
#include "varlink-channel.h"
#include "varlink-server.h"

static const char test_idl[] =
        "interface org.example.chan\n"
        "method Echo(value: string) -> (value: string)\n"
        "method Count(n: int) -> (i: int)\n"
        "method Hold() -> ()\n"
        "error Nope (why: string)\n";

typedef struct Fixture {
        sd_event *event;
        VarlinkServer *server;
        VarlinkChannel *channel;
        VarlinkCall *held;
        char log[4096];
        int closed_r;
        int n_closed;
        bool free_in_callback;
} Fixture;

static int method_echo(VarlinkCall *call, json_object *p, void *userdata) {
        const char *v = json_object_get_string(json_object_object_get(p, "value"));
        json_object *o;

        if (strcmp(v, "bad") == 0) {
                o = json_object_new_object();
                json_object_object_add(o, "why", json_object_new_string("bad value"));
                return varlink_call_error(call, "org.example.chan.Nope", o);
        }
        o = json_object_new_object();
        json_object_object_add(o, "value", json_object_new_string(v));
        return varlink_call_reply(call, o);
}

static int method_count(VarlinkCall *call, json_object *p, void *userdata) {
        int n = json_object_get_int(json_object_object_get(p, "n"));

        for (int i = 0; i < n; i++) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "i", json_object_new_int(i));
                (void) (i + 1 < n ? varlink_call_notify(call, o) : varlink_call_reply(call, o));
        }
        return 0;
}

static int method_hold(VarlinkCall *call, json_object *p, void *userdata) {
        Fixture *f = userdata;

        f->held = varlink_call_ref(call);
        return 0;
}

static void on_reply(VarlinkChannel *ch, int r, const VarlinkReply *reply, void *userdata) {
        Fixture *f = userdata;
        size_t n = strlen(f->log);

        if (r < 0)
                snprintf(f->log + n, sizeof(f->log) - n, "[r=%d]", r);
        else
                snprintf(f->log + n, sizeof(f->log) - n, "[%s%s%s]",
                         reply->error ? reply->error : "",
                         json_object_to_json_string_ext(reply->parameters, JSON_C_TO_STRING_PLAIN),
                         reply->continues ? "+" : "");
        if (f->free_in_callback) {
                f->channel = varlink_channel_free(f->channel);
                f->free_in_callback = false;
        }
}

static void on_closed(VarlinkChannel *ch, int r, void *userdata) {
        Fixture *f = userdata;

        f->closed_r = r;
        f->n_closed++;
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        int sv[2];

        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(varlink_server_new(&f->server, f->event, NULL, NULL), 0);
        assert_int_equal(varlink_server_add_interface(f->server, test_idl, NULL), 0);
        varlink_server_bind(f->server, "org.example.chan.Echo", method_echo, 0, f);
        varlink_server_bind(f->server, "org.example.chan.Count", method_count, 0, f);
        varlink_server_bind(f->server, "org.example.chan.Hold", method_hold, 0, f);
        varlink_server_set_check_replies(f->server, true);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(varlink_server_listen_fd(f->server, sv[0]), 0);
        assert_int_equal(varlink_channel_new(&f->channel, f->event, sv[1]), 0);
        varlink_channel_set_closed(f->channel, on_closed, f);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        varlink_channel_free(f->channel);
        varlink_call_unref(f->held);
        varlink_server_free(f->server);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

static void run_until(Fixture *f, bool (*done)(Fixture *)) {
        for (int i = 0; i < 500 && !done(f); i++)
                assert_true(sd_event_run(f->event, 10000) >= 0);
        assert_true(done(f));
}

static bool none_pending(Fixture *f) {
        return !f->channel || varlink_channel_n_pending(f->channel) == 0;
}

static bool got_closed(Fixture *f) {
        return f->n_closed > 0;
}

static json_object *value(const char *v) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "value", json_object_new_string(v));
        return o;
}

static void test_pipelined(void **state) {
        Fixture *f = *state;
        _cleanup_json_ json_object *a = value("a"), *b = value("bad"), *c = value("c");
        _cleanup_json_ json_object *n = json_tokener_parse("{\"n\":3}");

        assert_int_equal(varlink_channel_call(f->channel, "org.example.chan.Echo", a, 0, on_reply, f), 0);
        assert_int_equal(varlink_channel_call(f->channel, "org.example.chan.Count", n, VARLINK_CALL_MORE, on_reply, f), 0);
        assert_int_equal(varlink_channel_call(f->channel, "org.example.chan.Echo", b, 0, on_reply, f), 0);
        assert_int_equal(varlink_channel_call(f->channel, "org.example.chan.Echo", c, VARLINK_CALL_ONEWAY, NULL, NULL), 0);
        assert_int_equal(varlink_channel_call(f->channel, "org.example.chan.Echo", c, 0, on_reply, f), 0);
        assert_int_equal(varlink_channel_n_pending(f->channel), 4);
        run_until(f, none_pending);
        assert_string_equal(f->log, "[{\"value\":\"a\"}][{\"i\":0}+][{\"i\":1}+][{\"i\":2}]"
                                    "[org.example.chan.Nope{\"why\":\"bad value\"}][{\"value\":\"c\"}]");
        assert_int_equal(f->n_closed, 0);
}

static bool held(Fixture *f) {
        return f->held != NULL;
}

static void test_server_goes_away(void **state) {
        Fixture *f = *state;

        assert_int_equal(varlink_channel_call(f->channel, "org.example.chan.Hold", NULL, 0, on_reply, f), 0);
        run_until(f, held);
        f->server = varlink_server_free(f->server);  /* closes the connection */
        run_until(f, got_closed);
        assert_string_equal(f->log, "[r=-104]");
        assert_int_equal(f->closed_r, -ECONNRESET);
        assert_int_equal(varlink_channel_call(f->channel, "org.example.chan.Echo", NULL, 0, on_reply, f), -ENOTCONN);
}

static void test_free_in_callback(void **state) {
        Fixture *f = *state;
        _cleanup_json_ json_object *a = value("a");

        f->free_in_callback = true;
        assert_int_equal(varlink_channel_call(f->channel, "org.example.chan.Echo", a, 0, on_reply, f), 0);
        assert_int_equal(varlink_channel_call(f->channel, "org.example.chan.Echo", a, 0, on_reply, f), 0);
        run_until(f, none_pending);
        assert_null(f->channel);
        /* The second call's callback never ran: the owner let go of the channel. */
        assert_string_equal(f->log, "[{\"value\":\"a\"}]");
        for (int i = 0; i < 10; i++)
                sd_event_run(f->event, 1000);
        assert_int_equal(f->n_closed, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_goes_away, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_in_callback, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
