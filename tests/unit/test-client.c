/* VarlinkClient against canned replies on a socketpair: what it sends, how it reads replies
 * (split, streamed, errors), and each way a call can fail: timeout, peer gone, malformed or
 * oversize reply. Also the address forms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "cleanup.h"
#include "varlink-address.h"
#include "varlink-client.h"

#define MS 1000ULL

typedef struct Fixture {
        VarlinkClient *client;
        int peer;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(varlink_client_new_from_fd(&f->client, sv[0]), 0);
        f->peer = sv[1];
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        varlink_client_free(f->client);
        if (f->peer >= 0)
                close(f->peer);
        free(f);
        return 0;
}

static void peer_write(Fixture *f, const char *data, size_t len) {
        assert_int_equal(write(f->peer, data, len), (ssize_t) len);
}

static void expect_sent(Fixture *f, const char *want, size_t len) {
        char buf[1024];
        ssize_t n = recv(f->peer, buf, sizeof(buf), MSG_DONTWAIT);

        assert_int_equal(n, (ssize_t) len);
        assert_memory_equal(buf, want, len);
}

static void test_call(void **state) {
        Fixture *f = *state;
        VarlinkReply reply = {};
        _cleanup_json_ json_object *p = json_tokener_parse("{\"a\":1}");
        static const char sent[] = "{\"method\":\"x.y.Z\",\"parameters\":{\"a\":1}}";

        peer_write(f, "{\"parameters\":{\"b\":2}}", 23);
        assert_int_equal(varlink_client_call(f->client, "x.y.Z", p, 100 * MS, &reply), 0);
        assert_null(reply.error);
        assert_false(reply.continues);
        assert_int_equal(json_object_get_int(json_object_object_get(reply.parameters, "b")), 2);
        varlink_reply_clear(&reply);
        expect_sent(f, sent, sizeof(sent));
}

static void test_error_reply(void **state) {
        Fixture *f = *state;
        VarlinkReply reply = {};
        static const char r[] = "{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{\"method\":\"x.y.Z\"}}";

        peer_write(f, r, sizeof(r));
        assert_int_equal(varlink_client_call(f->client, "x.y.Z", NULL, 100 * MS, &reply), 0);
        assert_string_equal(reply.error, "org.varlink.service.MethodNotFound");
        assert_string_equal(json_object_get_string(json_object_object_get(reply.parameters, "method")), "x.y.Z");
        varlink_reply_clear(&reply);
        /* Sent {} rather than null parameters. */
        expect_sent(f, "{\"method\":\"x.y.Z\",\"parameters\":{}}", 35);
}

static void test_more_and_pipelining(void **state) {
        Fixture *f = *state;
        VarlinkReply reply = {};
        static const char replies[] = "{\"parameters\":{\"i\":0},\"continues\":true}\0"
                                      "{\"parameters\":{\"i\":1}}\0"
                                      "{\"parameters\":{\"n\":7}}";

        assert_int_equal(varlink_client_send(f->client, "x.y.Count", NULL, VARLINK_CALL_MORE, 100 * MS), 0);
        assert_int_equal(varlink_client_send(f->client, "x.y.Other", NULL, 0, 100 * MS), 0);
        static const char sent[] = "{\"method\":\"x.y.Count\",\"parameters\":{},\"more\":true}\0"
                                   "{\"method\":\"x.y.Other\",\"parameters\":{}}";
        expect_sent(f, sent, sizeof(sent));
        peer_write(f, replies, sizeof(replies));
        for (int i = 0; i < 2; i++) {
                assert_int_equal(varlink_client_read(f->client, &reply, 100 * MS), 0);
                assert_int_equal(json_object_get_int(json_object_object_get(reply.parameters, "i")), i);
                assert_int_equal(reply.continues, i == 0);
                varlink_reply_clear(&reply);
        }
        assert_int_equal(varlink_client_read(f->client, &reply, 100 * MS), 0);
        assert_int_equal(json_object_get_int(json_object_object_get(reply.parameters, "n")), 7);
        varlink_reply_clear(&reply);
}

static void test_oneway(void **state) {
        Fixture *f = *state;
        static const char sent[] = "{\"method\":\"x.y.Z\",\"parameters\":{},\"oneway\":true}";

        assert_int_equal(varlink_client_send(f->client, "x.y.Z", NULL, VARLINK_CALL_ONEWAY, 100 * MS), 0);
        expect_sent(f, sent, sizeof(sent));
        assert_int_equal(varlink_client_send(f->client, "x.y.Z", NULL,
                                             VARLINK_CALL_ONEWAY | VARLINK_CALL_MORE, 100 * MS), -EINVAL);
}

static void test_bad_parameters(void **state) {
        Fixture *f = *state;
        _cleanup_json_ json_object *a = json_tokener_parse("[1]");

        assert_int_equal(varlink_client_send(f->client, "x.y.Z", a, 0, 100 * MS), -EINVAL);
}

static void test_timeout(void **state) {
        Fixture *f = *state;
        VarlinkReply reply = {};

        peer_write(f, "{\"parameters\":", 14);  /* half a reply, never finished */
        assert_int_equal(varlink_client_call(f->client, "x.y.Z", NULL, 50 * MS, &reply), -ETIMEDOUT);
}

static void test_peer_closed(void **state) {
        Fixture *f = *state;
        VarlinkReply reply = {};

        close(f->peer);
        f->peer = -1;
        assert_int_equal(varlink_client_read(f->client, &reply, 100 * MS), -ECONNRESET);
        assert_int_equal(varlink_client_send(f->client, "x.y.Z", NULL, 0, 100 * MS), -ECONNRESET);
}

static void test_malformed_reply(void **state) {
        Fixture *f = *state;
        VarlinkReply reply = {};

        peer_write(f, "{\"parameters\":[]}", 18);
        assert_int_equal(varlink_client_read(f->client, &reply, 100 * MS), -EBADMSG);
}

static void test_oversize_reply(void **state) {
        Fixture *f = *state;
        VarlinkReply reply = {};
        char big[200];

        varlink_client_set_message_size_max(f->client, 64);
        memset(big, ' ', sizeof(big));
        big[0] = '{';
        peer_write(f, big, sizeof(big));
        assert_int_equal(varlink_client_read(f->client, &reply, 100 * MS), -EMSGSIZE);
}

static void test_addresses(void **state) {
        struct sockaddr_un sa;
        socklen_t len;
        char longpath[200];

        assert_int_equal(varlink_address_parse("unix:/run/x", &sa, &len), 0);
        assert_string_equal(sa.sun_path, "/run/x");
        assert_int_equal(varlink_address_parse("/run/x;mode=0600", &sa, &len), 0);
        assert_string_equal(sa.sun_path, "/run/x");
        assert_int_equal(varlink_address_parse("unix:@abstract", &sa, &len), 0);
        assert_int_equal(sa.sun_path[0], '\0');
        assert_memory_equal(sa.sun_path + 1, "abstract", 8);
        assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 9);
        assert_int_equal(varlink_address_parse("tcp:127.0.0.1:1", &sa, &len), -EPROTONOSUPPORT);
        assert_int_equal(varlink_address_parse("unix:relative", &sa, &len), -EINVAL);
        assert_int_equal(varlink_address_parse("relative", &sa, &len), -EINVAL);
        assert_int_equal(varlink_address_parse("unix:", &sa, &len), -EINVAL);
        memset(longpath, 'a', sizeof(longpath) - 1);
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = '\0';
        assert_int_equal(varlink_address_parse(longpath, &sa, &len), -ENAMETOOLONG);
}

static void test_connect_refused(void **state) {
        VarlinkClient *c = NULL;

        assert_int_equal(varlink_client_connect(&c, "unix:/nonexistent/stage0-test.sock"), -ENOENT);
        assert_null(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_call, setup, teardown),
                cmocka_unit_test_setup_teardown(test_error_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_more_and_pipelining, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oneway, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_parameters, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_peer_closed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversize_reply, setup, teardown),
                cmocka_unit_test(test_addresses),
                cmocka_unit_test(test_connect_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
