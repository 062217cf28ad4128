/* Hex: encoding gives lowercase digits and a NUL; only lowercase hex digits pass the check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hex.h"

static void test_encode(void **state) {
        static const uint8_t data[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
        char out[2 * sizeof(data) + 2];

        (void) state;
        memset(out, 'x', sizeof(out));
        hex_encode(data, sizeof(data), out);
        assert_string_equal(out, "00017f80abff");
        assert_int_equal(out[sizeof(out) - 1], 'x');     /* nothing past the NUL */
        hex_encode(data, 0, out);
        assert_string_equal(out, "");
}

static void test_is_lower(void **state) {
        (void) state;
        assert_true(hex_is_lower("0123456789abcdef", 16));
        assert_true(hex_is_lower("", 0));
        assert_true(hex_is_lower("abZ", 2));             /* only the n given count */
        assert_false(hex_is_lower("abcdeF", 6));
        assert_false(hex_is_lower("12g4", 4));
        assert_false(hex_is_lower("12 4", 4));
        assert_false(hex_is_lower("1/:4", 4));            /* the bytes around '0'..'9' */
        assert_false(hex_is_lower("`g", 2));              /* and around 'a'..'f' */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_encode),
                cmocka_unit_test(test_is_lower),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
