/* JsonMember: members of the wrong type read as absent, NULL objects are fine, and adding
 * takes the value over, also when it fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "json-member.h"

static void test_get(void **state) {
        json_object *o = json_tokener_parse("{\"s\":\"x\",\"i\":-3,\"a\":[1],\"n\":null}");
        int64_t v = 7;

        (void) state;
        assert_non_null(o);
        assert_string_equal(json_member_string(o, "s"), "x");
        assert_null(json_member_string(o, "i"));
        assert_null(json_member_string(o, "missing"));
        assert_true(json_member_int(o, "i", &v));
        assert_int_equal(v, -3);
        assert_false(json_member_int(o, "s", &v));
        assert_int_equal(v, -3);                         /* untouched */
        assert_non_null(json_member_array(o, "a"));
        assert_null(json_member_array(o, "s"));
        assert_null(json_member_get(o, "n"));
        assert_non_null(json_member_get(o, "i"));
        assert_null(json_member_get(NULL, "s"));
        assert_null(json_member_string(NULL, "s"));
        json_object_put(o);
}

static void test_add(void **state) {
        json_object *o = json_object_new_object(), *one;

        (void) state;
        assert_int_equal(json_member_add(o, "k", json_object_new_int(1)), 0);
        assert_int_equal(json_object_get_int(json_member_get(o, "k")), 1);
        assert_int_equal(json_member_add(o, "k", NULL), -ENOMEM);
        assert_int_equal(json_object_get_int(json_member_get(o, "k")), 1);
        json_object_put(o);

        one = json_member_only("uuid", json_object_new_string("u"));
        assert_non_null(one);
        assert_int_equal(json_object_object_length(one), 1);
        assert_string_equal(json_member_string(one, "uuid"), "u");
        json_object_put(one);
        assert_null(json_member_only("uuid", NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_get),
                cmocka_unit_test(test_add),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
