/* ErrorDetail: filled only when asked, truncated rather than overflowed, and the errno passed
 * through for one-line returns. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "error-detail.h"

static void test_set(void **state) {
        ErrorDetail d = {};

        assert_int_equal(error_detail_set(&d, -EINVAL, "labels[2].name", "not an ACIdentifier: %s", "A B"), -EINVAL);
        assert_string_equal(d.field, "labels[2].name");
        assert_string_equal(d.reason, "not an ACIdentifier: A B");
        assert_int_equal(error_detail_set(&d, -ENOENT, NULL, "gone"), -ENOENT);
        assert_string_equal(d.field, "");
}

static void test_null_detail(void **state) {
        assert_int_equal(error_detail_set(NULL, -EBADMSG, "x", "y %d", 1), -EBADMSG);
}

static void test_truncation(void **state) {
        ErrorDetail d = {};
        char long_field[1000];

        memset(long_field, 'f', sizeof(long_field) - 1);
        long_field[sizeof(long_field) - 1] = '\0';
        error_detail_set(&d, -EINVAL, long_field, "%s", long_field);
        assert_int_equal(strlen(d.field), sizeof(d.field) - 1);
        assert_int_equal(strlen(d.reason), sizeof(d.reason) - 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_set),
                cmocka_unit_test(test_null_detail),
                cmocka_unit_test(test_truncation),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
