/* The org.varlink.certification sequence as data: each step's reply is a JSON text parsed on
 * demand, and each step's expected input is derived from the reply of the step before it, so
 * the chain "every output is the next input" holds by construction. */
#include <stdio.h>
#include <string.h>

#include "cert-common.h"
#include "cleanup.h"

static const char *const cert_step_table[_CERT_STEP_MAX] = {
        [CERT_START] = "Start",
        [CERT_TEST01] = "Test01",
        [CERT_TEST02] = "Test02",
        [CERT_TEST03] = "Test03",
        [CERT_TEST04] = "Test04",
        [CERT_TEST05] = "Test05",
        [CERT_TEST06] = "Test06",
        [CERT_TEST07] = "Test07",
        [CERT_TEST08] = "Test08",
        [CERT_TEST09] = "Test09",
        [CERT_TEST10] = "Test10",
        [CERT_TEST11] = "Test11",
        [CERT_END] = "End",
};

/* The replies of Test01..Test09, as the reference server sends them. Test03's float is 1.0 and
 * Test05's is pi written to full double precision; the nullable members of MyType are left
 * out, which the IDL allows and the reference does. */
static const char *const cert_reply_table[_CERT_STEP_MAX] = {
        [CERT_TEST01] = "{\"bool\": true}",
        [CERT_TEST02] = "{\"int\": 1}",
        [CERT_TEST03] = "{\"float\": 1.0}",
        [CERT_TEST04] = "{\"string\": \"ping\"}",
        [CERT_TEST05] = "{\"bool\": false, \"int\": 2, \"float\": 3.141592653589793,"
                        " \"string\": \"a lot of string\"}",
        [CERT_TEST06] = "{\"struct\": {\"bool\": false, \"int\": 2, \"float\": 3.141592653589793,"
                        " \"string\": \"a lot of string\"}}",
        [CERT_TEST07] = "{\"map\": {\"bar\": \"Bar\", \"foo\": \"Foo\"}}",
        [CERT_TEST08] = "{\"set\": {\"one\": {}, \"two\": {}, \"three\": {}}}",
        [CERT_TEST09] = "{\"mytype\": {"
                        "\"object\": {\"method\": \"org.varlink.certification.Test09\","
                        " \"parameters\": {\"map\": {\"foo\": \"Foo\", \"bar\": \"Bar\"}}},"
                        " \"enum\": \"two\","
                        " \"struct\": {\"first\": 1, \"second\": \"2\"},"
                        " \"array\": [\"one\", \"two\", \"three\"],"
                        " \"dictionary\": {\"foo\": \"Foo\", \"bar\": \"Bar\"},"
                        " \"stringset\": {\"one\": {}, \"two\": {}, \"three\": {}},"
                        " \"interface\": {"
                        "\"foo\": [null, {\"Foo\": \"foo\", \"Bar\": \"bar\"}, null,"
                        " {\"one\": \"foo\", \"two\": \"bar\"}],"
                        " \"anon\": {\"foo\": true, \"bar\": false}}}}",
};

const char *cert_step_to_string(CertStep s) {
        if (s < 0 || s >= _CERT_STEP_MAX)
                return NULL;
        return cert_step_table[s];
}

CertStep cert_step_from_string(const char *s) {
        if (!s)
                return _CERT_STEP_INVALID;
        for (CertStep i = 0; i < _CERT_STEP_MAX; i++)
                if (strcmp(cert_step_table[i], s) == 0)
                        return i;
        return _CERT_STEP_INVALID;
}

bool cert_step_wants_more(CertStep s) {
        return s == CERT_TEST10;
}

bool cert_step_is_oneway(CertStep s) {
        return s == CERT_TEST11;
}

static int parse_json(const char *text, json_object **ret) {
        json_object *o = json_tokener_parse(text);
        if (!o)
                return -ENOMEM; /* the texts are ours and valid: only allocation can fail */
        *ret = o;
        return 0;
}

int cert_step_reply(CertStep s, json_object **ret) {
        if (s < 0 || s >= _CERT_STEP_MAX || !cert_reply_table[s])
                return -EINVAL;
        return parse_json(cert_reply_table[s], ret);
}

int cert_more_reply(unsigned i, json_object **ret) {
        char text[64];

        if (i < 1 || i > CERT_MORE_REPLIES)
                return -EINVAL;
        snprintf(text, sizeof(text), "{\"string\": \"Reply number %u\"}", i);
        return parse_json(text, ret);
}

static int more_replies_input(json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *a = json_object_new_array();

        if (!o || !a || json_object_object_add(o, "last_more_replies", a) < 0) {
                json_object_put(a);
                return -ENOMEM;
        }
        for (unsigned i = 1; i <= CERT_MORE_REPLIES; i++) {
                char text[32];
                json_object *e;

                snprintf(text, sizeof(text), "Reply number %u", i);
                e = json_object_new_string(text);
                if (!e || json_object_array_add(a, e) < 0) {
                        json_object_put(e);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int cert_step_input(CertStep s, json_object **ret) {
        json_object *o;

        switch (s) {
        case CERT_START:
        case CERT_TEST01:
        case CERT_END:
                o = json_object_new_object();
                if (!o)
                        return -ENOMEM;
                *ret = o;
                return 0;
        case CERT_TEST11:
                return more_replies_input(ret);
        default:
                if (s < CERT_START || s >= _CERT_STEP_MAX)
                        return -EINVAL;
                return cert_step_reply(s - 1, ret);
        }
}

static bool is_number(json_object *o) {
        return json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double);
}

static bool numbers_equal(json_object *a, json_object *b) {
        if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int))
                return json_object_get_int64(a) == json_object_get_int64(b);
        return json_object_get_double(a) == json_object_get_double(b);
}

/* Every member of a has its equal in b (an absent member of b reading as null). */
static bool object_covered(json_object *a, json_object *b) {
        json_object_object_foreach(a, key, value) {
                json_object *other = NULL;

                (void) json_object_object_get_ex(b, key, &other);
                if (!cert_json_equal(value, other))
                        return false;
        }
        return true;
}

static bool arrays_equal(json_object *a, json_object *b) {
        size_t n = json_object_array_length(a);

        if (n != json_object_array_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!cert_json_equal(json_object_array_get_idx(a, i),
                                     json_object_array_get_idx(b, i)))
                        return false;
        return true;
}

bool cert_json_equal(json_object *a, json_object *b) {
        /* json-c represents JSON null as NULL. */
        if (!a || !b)
                return !a && !b;
        if (is_number(a) && is_number(b))
                return numbers_equal(a, b);
        if (json_object_get_type(a) != json_object_get_type(b))
                return false;

        switch (json_object_get_type(a)) {
        case json_type_boolean:
                return json_object_get_boolean(a) == json_object_get_boolean(b);
        case json_type_string:
                return json_object_get_string_len(a) == json_object_get_string_len(b) &&
                       memcmp(json_object_get_string(a), json_object_get_string(b),
                              (size_t) json_object_get_string_len(a)) == 0;
        case json_type_object:
                return object_covered(a, b) && object_covered(b, a);
        case json_type_array:
                return arrays_equal(a, b);
        default:
                return false;
        }
}

const char *cert_json_text(json_object *o) {
        if (!o)
                return "null";
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}
