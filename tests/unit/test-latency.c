/* Latency (bench/latency.c): samples of several threads merge into the calls, p50, p99 and
 * maximum of the row; no sample is an error; durations parse within 0..3600 s. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "latency.h"

static void test_merge(void **state) {
        Latency a = {}, b = {}, empty = {};
        const Latency *sets[] = { &a, &b, &empty };
        LatencyStats s = {};

        (void) state;
        /* 1..100 ns, split unevenly and out of order over two threads. */
        for (uint64_t v = 100; v >= 1; v--)
                assert_int_equal(latency_record(v % 3 ? &a : &b, v), 0);
        assert_int_equal(latency_merge(sets, 3, &s), 0);
        assert_int_equal(s.calls, 100);
        assert_int_equal(s.p50, 50);
        assert_int_equal(s.p99, 99);
        assert_int_equal(s.max, 100);
        assert_int_equal(latency_merge(sets + 2, 1, &s), -ENODATA);
        latency_done(&a);
        latency_done(&b);
        assert_null(a.ns);
        assert_int_equal(a.n, 0);
}

static void test_many_samples(void **state) {
        Latency l = {};
        const Latency *sets[] = { &l };
        LatencyStats s = {};

        (void) state;
        for (uint64_t v = 0; v < 100000; v++)          /* past several reallocations */
                assert_int_equal(latency_record(&l, v), 0);
        assert_int_equal(latency_merge(sets, 1, &s), 0);
        assert_int_equal(s.calls, 100000);
        assert_int_equal(s.max, 99999);
        latency_done(&l);
}

static void test_parse_seconds(void **state) {
        double v = -1;

        (void) state;
        assert_int_equal(latency_parse_seconds("2.5", &v), 0);
        assert_true(v == 2.5);
        assert_int_equal(latency_parse_seconds("0", &v), 0);
        assert_int_equal(latency_parse_seconds("3600", &v), 0);
        assert_int_equal(latency_parse_seconds("3601", &v), -EINVAL);
        assert_int_equal(latency_parse_seconds("-1", &v), -EINVAL);
        assert_int_equal(latency_parse_seconds("1s", &v), -EINVAL);
        assert_int_equal(latency_parse_seconds("", &v), -EINVAL);
        assert_int_equal(latency_parse_seconds("nan", &v), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_merge),
                cmocka_unit_test(test_many_samples),
                cmocka_unit_test(test_parse_seconds),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
