/* VarlinkWire: framing over a socketpair — split and merged messages, the size limit, a NUL
 * in the middle, invalid JSON and UTF-8, and the output bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "cleanup.h"
#include "varlink-wire.h"

typedef struct Pair {
        VarlinkWire wire;
        int peer;
} Pair;

static void pair_open(Pair *p, size_t message_max, size_t output_max) {
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(varlink_wire_init(&p->wire, sv[0], message_max, output_max), 0);
        p->peer = sv[1];
}

static void pair_close(Pair *p) {
        varlink_wire_deinit(&p->wire);
        close(p->peer);
}

static void feed(Pair *p, const void *data, size_t len) {
        assert_int_equal(write(p->peer, data, len), (ssize_t) len);
}

/* Reads whatever is there and takes the next message: 1, 0 or a negative errno. */
static int next(Pair *p, json_object **ret) {
        int r = varlink_wire_read(&p->wire);

        assert_true(r >= 0 || r == -EAGAIN || r == -EMSGSIZE);
        if (r == -EMSGSIZE)
                return r;
        return varlink_wire_next(&p->wire, ret);
}

static void test_split_message(void **state) {
        Pair p;
        json_object *o = NULL;
        const char msg[] = "{\"method\":\"a.b.C\",\"parameters\":{\"x\":1}}";

        pair_open(&p, 1024, 1024);
        for (size_t i = 0; i < sizeof(msg) - 1; i += 5) {
                feed(&p, msg + i, sizeof(msg) - 1 - i < 5 ? sizeof(msg) - 1 - i : 5);
                assert_int_equal(next(&p, &o), 0);
        }
        feed(&p, "", 1);
        assert_int_equal(next(&p, &o), 1);
        assert_string_equal(json_object_get_string(json_object_object_get(o, "method")), "a.b.C");
        json_object_put(o);
        pair_close(&p);
}

static void test_merged_messages(void **state) {
        Pair p;
        json_object *o = NULL;
        const char msgs[] = "{\"n\":1}\0{\"n\":2}\0{\"n\":3}\0{\"n\":";

        pair_open(&p, 1024, 1024);
        feed(&p, msgs, sizeof(msgs) - 1);
        assert_true(varlink_wire_read(&p.wire) > 0);
        for (int i = 1; i <= 3; i++) {
                assert_int_equal(varlink_wire_next(&p.wire, &o), 1);
                assert_int_equal(json_object_get_int(json_object_object_get(o, "n")), i);
                json_object_put(o);
        }
        assert_int_equal(varlink_wire_next(&p.wire, &o), 0);
        feed(&p, "4}", 3);  /* with its NUL */
        assert_int_equal(next(&p, &o), 1);
        assert_int_equal(json_object_get_int(json_object_object_get(o, "n")), 4);
        json_object_put(o);
        assert_int_equal(varlink_wire_input_pending(&p.wire), 0);
        pair_close(&p);
}

static void test_oversize_without_nul(void **state) {
        Pair p;
        json_object *o = NULL;
        char buf[300];
        int r;

        pair_open(&p, 256, 1024);
        memset(buf, ' ', sizeof(buf));
        buf[0] = '{';
        feed(&p, buf, sizeof(buf));
        r = next(&p, &o);
        assert_int_equal(r, -EMSGSIZE);
        pair_close(&p);
}

static void test_oversize_with_nul(void **state) {
        Pair p;
        json_object *o = NULL;
        char buf[300];

        pair_open(&p, 256, 1024);
        memset(buf, ' ', sizeof(buf));
        buf[0] = '{';
        buf[sizeof(buf) - 2] = '}';
        buf[sizeof(buf) - 1] = '\0';
        feed(&p, buf, sizeof(buf));
        assert_int_equal(next(&p, &o), -EMSGSIZE);
        pair_close(&p);
}

static void test_exactly_at_limit(void **state) {
        Pair p;
        json_object *o = NULL;
        char buf[257];

        pair_open(&p, 256, 1024);
        memset(buf, ' ', sizeof(buf));
        buf[0] = '{';
        buf[255] = '}';
        buf[256] = '\0';
        feed(&p, buf, sizeof(buf));
        assert_int_equal(next(&p, &o), 1);
        json_object_put(o);
        pair_close(&p);
}

static void expect_bad(const char *data, size_t len) {
        Pair p;
        json_object *o = NULL;

        pair_open(&p, 1024, 1024);
        feed(&p, data, len);
        assert_int_equal(next(&p, &o), -EBADMSG);
        assert_null(o);
        pair_close(&p);
}

static void test_bad_messages(void **state) {
#define BAD(s) expect_bad(s, sizeof(s))  /* including the literal's NUL as the terminator */
        BAD("");                               /* empty message */
        BAD("{\"a\":1} x");                    /* trailing garbage */
        BAD("{\"a\":1}{\"b\":2}");             /* two objects in one message */
        BAD("[1,2]");                          /* not an object */
        BAD("\"str\"");
        BAD("{\"a\":}");
        BAD("{\"a\":1,}");                     /* strict: trailing comma */
        BAD("{\"a\":\"\xff\xfe\"}");           /* invalid UTF-8 */
        BAD("{\"a\":\"\xc0\xaf\"}");           /* overlong '/' */
        BAD("{\"a\":\"\xed\xa0\x80\"}");       /* UTF-16 surrogate */
        BAD("{\"a\":\"\xf4\x90\x80\x80\"}");   /* above U+10FFFF */
        BAD("{\"a\":\"\xe2\x82\"}");           /* truncated sequence */
#undef BAD
        /* A raw NUL inside a string ends the message there: the first part is malformed. */
        expect_bad("{\"a\":\"x\0y\"}", 12);
}

static void test_utf8_accepts_valid(void **state) {
        Pair p;
        json_object *o = NULL;
        const char msg[] = "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}";

        pair_open(&p, 1024, 1024);
        feed(&p, msg, sizeof(msg));
        assert_int_equal(next(&p, &o), 1);
        assert_string_equal(json_object_get_string(json_object_object_get(o, "a")),
                            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
        json_object_put(o);
        assert_true(varlink_utf8_valid("plain", 5));
        assert_false(varlink_utf8_valid("\x80", 1));
        pair_close(&p);
}

static void test_queue_and_flush(void **state) {
        Pair p;
        _cleanup_json_ json_object *o = json_tokener_parse("{\"path\":\"/a/b\"}");
        char buf[64];
        ssize_t n;

        pair_open(&p, 1024, 1024);
        assert_int_equal(varlink_wire_queue(&p.wire, o), 0);
        assert_int_equal(varlink_wire_queue(&p.wire, o), 0);
        assert_int_equal(varlink_wire_flush(&p.wire), 0);
        assert_int_equal(varlink_wire_output_pending(&p.wire), 0);
        n = read(p.peer, buf, sizeof(buf));
        /* No escaped slashes, one NUL after each message. */
        assert_int_equal(n, 2 * (ssize_t) sizeof("{\"path\":\"/a/b\"}"));
        assert_memory_equal(buf, "{\"path\":\"/a/b\"}\0{\"path\":\"/a/b\"}\0", (size_t) n);
        pair_close(&p);
}

static void test_output_bounds(void **state) {
        Pair p;
        _cleanup_json_ json_object *small = json_tokener_parse("{\"a\":1}");
        _cleanup_json_ json_object *big = json_object_new_object();
        char s[200];

        memset(s, 'x', sizeof(s) - 1);
        s[sizeof(s) - 1] = '\0';
        json_object_object_add(big, "s", json_object_new_string(s));

        pair_open(&p, 128, 64);
        assert_int_equal(varlink_wire_queue(&p.wire, big), -EMSGSIZE);
        for (int i = 0; i < 8; i++)
                assert_int_equal(varlink_wire_queue(&p.wire, small), 0);
        assert_int_equal(varlink_wire_queue(&p.wire, small), -ENOBUFS);
        pair_close(&p);
}

static void test_flush_blocks_then_resumes(void **state) {
        Pair p;
        _cleanup_json_ json_object *o = json_object_new_object();
        char *s = malloc(60000), buf[65536];
        size_t total = 0, expect = 0;
        int r;

        memset(s, 'y', 59999);
        s[59999] = '\0';
        json_object_object_add(o, "s", json_object_new_string(s));
        free(s);
        pair_open(&p, 100000, 10 * 1000 * 1000);
        for (int i = 0; i < 40; i++)
                assert_int_equal(varlink_wire_queue(&p.wire, o), 0);
        expect = varlink_wire_output_pending(&p.wire);
        r = varlink_wire_flush(&p.wire);
        assert_int_equal(r, 1);  /* the socket buffer is full: the rest waits */
        while (total < expect) {
                ssize_t n = read(p.peer, buf, sizeof(buf));
                if (n > 0)
                        total += (size_t) n;
                r = varlink_wire_flush(&p.wire);
                assert_true(r >= 0);
        }
        assert_int_equal(total, expect);
        assert_int_equal(varlink_wire_output_pending(&p.wire), 0);
        pair_close(&p);
}

static void test_eof(void **state) {
        Pair p;
        json_object *o = NULL;

        pair_open(&p, 1024, 1024);
        close(p.peer);
        p.peer = -1;
        assert_int_equal(varlink_wire_read(&p.wire), 0);
        assert_true(p.wire.eof);
        assert_int_equal(varlink_wire_next(&p.wire, &o), 0);
        varlink_wire_deinit(&p.wire);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_split_message),
                cmocka_unit_test(test_merged_messages),
                cmocka_unit_test(test_oversize_without_nul),
                cmocka_unit_test(test_oversize_with_nul),
                cmocka_unit_test(test_exactly_at_limit),
                cmocka_unit_test(test_bad_messages),
                cmocka_unit_test(test_utf8_accepts_valid),
                cmocka_unit_test(test_queue_and_flush),
                cmocka_unit_test(test_output_bounds),
                cmocka_unit_test(test_flush_blocks_then_resumes),
                cmocka_unit_test(test_eof),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
