/* Varlink call and reply objects: what we accept from peers and exactly what we emit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cleanup.h"
#include "varlink-message.h"

static const char *plain(json_object *o) {
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void test_parse_call_forms(void **state) {
        static const char *const no_parameters[] = {
                "{\"method\":\"a.b.C\"}",
                "{\"method\":\"a.b.C\",\"parameters\":null}",
                "{\"method\":\"a.b.C\",\"parameters\":{}}",
                "{\"method\":\"a.b.C\",\"com.example.vendor\":{\"x\":1}}",  /* unknown keys ignored */
        };

        for (size_t i = 0; i < ELEMENTSOF(no_parameters); i++) {
                _cleanup_json_ json_object *o = json_tokener_parse(no_parameters[i]);
                VarlinkCallMessage m;

                assert_int_equal(varlink_message_parse_call(o, &m), 0);
                assert_string_equal(m.method, "a.b.C");
                assert_true(!m.parameters || json_object_object_length(m.parameters) == 0);
                assert_false(m.more || m.oneway || m.upgrade);
        }
}

static void test_parse_call_flags(void **state) {
        _cleanup_json_ json_object *o = json_tokener_parse(
                "{\"method\":\"a.b.C\",\"parameters\":{\"x\":1},\"more\":true,\"oneway\":false,\"upgrade\":true}");
        VarlinkCallMessage m;

        assert_int_equal(varlink_message_parse_call(o, &m), 0);
        assert_true(m.more);
        assert_false(m.oneway);
        assert_true(m.upgrade);
        assert_int_equal(json_object_get_int(json_object_object_get(m.parameters, "x")), 1);
}

static void test_parse_call_bad(void **state) {
        static const char *const bad[] = {
                "{}",
                "{\"method\":1}",
                "{\"method\":null}",
                "{\"method\":\"a.b.C\",\"parameters\":[]}",
                "{\"method\":\"a.b.C\",\"parameters\":\"x\"}",
                "{\"method\":\"a.b.C\",\"more\":1}",
                "{\"method\":\"a.b.C\",\"oneway\":\"yes\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_json_ json_object *o = json_tokener_parse(bad[i]);
                VarlinkCallMessage m;

                assert_non_null(o);
                assert_int_equal(varlink_message_parse_call(o, &m), -EBADMSG);
        }
}

static void test_new_call(void **state) {
        _cleanup_json_ json_object *p = json_tokener_parse("{\"a\":\"/x\"}");
        _cleanup_json_ json_object *c1 = varlink_message_new_call("a.b.C", NULL, false, false);
        _cleanup_json_ json_object *c2 = varlink_message_new_call("a.b.C", p, true, false);
        _cleanup_json_ json_object *c3 = varlink_message_new_call("a.b.C", p, false, true);

        /* Never null parameters: systemd 252 drops a peer that sends them. */
        assert_string_equal(plain(c1), "{\"method\":\"a.b.C\",\"parameters\":{}}");
        assert_string_equal(plain(c2), "{\"method\":\"a.b.C\",\"parameters\":{\"a\":\"/x\"},\"more\":true}");
        assert_string_equal(plain(c3), "{\"method\":\"a.b.C\",\"parameters\":{\"a\":\"/x\"},\"oneway\":true}");
}

static void test_new_reply(void **state) {
        _cleanup_json_ json_object *r1 = varlink_message_new_reply(NULL, NULL, false);
        _cleanup_json_ json_object *r2 = varlink_message_new_reply(json_tokener_parse("{\"i\":0}"), NULL, true);
        _cleanup_json_ json_object *r3 = varlink_message_new_reply(NULL, "org.varlink.service.ExpectedMore", false);

        assert_string_equal(plain(r1), "{\"parameters\":{}}");
        assert_string_equal(plain(r2), "{\"parameters\":{\"i\":0},\"continues\":true}");
        assert_string_equal(plain(r3), "{\"parameters\":{},\"error\":\"org.varlink.service.ExpectedMore\"}");
}

static void test_parse_reply(void **state) {
        struct {
                const char *text;
                int r;
                const char *error;
                bool continues;
        } table[] = {
                { "{\"parameters\":{\"a\":1}}", 0, NULL, false },
                { "{}", 0, NULL, false },
                { "{\"parameters\":null}", 0, NULL, false },
                { "{\"parameters\":{},\"continues\":true}", 0, NULL, true },
                { "{\"parameters\":{},\"error\":\"x.y.Z\"}", 0, "x.y.Z", false },
                { "{\"parameters\":{},\"error\":\"x.y.Z\",\"continues\":true}", -EBADMSG, NULL, false },
                { "{\"parameters\":[],\"error\":\"x.y.Z\"}", -EBADMSG, NULL, false },
                { "{\"error\":5}", -EBADMSG, NULL, false },
                { "{\"continues\":\"yes\"}", -EBADMSG, NULL, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_json_ json_object *o = json_tokener_parse(table[i].text);
                json_object *p = NULL;
                const char *error = NULL;
                bool continues = false;

                assert_int_equal(varlink_message_parse_reply(o, &p, &error, &continues), table[i].r);
                if (table[i].r < 0)
                        continue;
                assert_non_null(p);
                assert_true(json_object_is_type(p, json_type_object));
                if (table[i].error)
                        assert_string_equal(error, table[i].error);
                else
                        assert_null(error);
                assert_int_equal(continues, table[i].continues);
                json_object_put(p);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_call_forms),
                cmocka_unit_test(test_parse_call_flags),
                cmocka_unit_test(test_parse_call_bad),
                cmocka_unit_test(test_new_call),
                cmocka_unit_test(test_new_reply),
                cmocka_unit_test(test_parse_reply),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
