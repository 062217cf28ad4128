/* On-disk pods: the place and state tables, creation, moves, lookups, lock probing and the
 * exclusive lock that run-prepared relies on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "cleanup.h"
#include "pod-state.h"

static int setup(void **state) {
        char *dir = strdup("/tmp/test-pod-state.XXXXXX");

        assert_non_null(mkdtemp(dir));
        assert_int_equal(pod_places_init(dir), 0);
        assert_int_equal(pod_places_init(dir), 0);  /* idempotent */
        *state = dir;
        return 0;
}

static int teardown(void **state) {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *) *state);
        assert_int_equal(system(cmd), 0);
        free(*state);
        return 0;
}

static void test_tables(void **state) {
        for (int i = 0; i < _POD_PLACE_MAX; i++)
                assert_int_equal(pod_place_from_string(pod_place_to_string((PodPlace) i)), i);
        for (int i = 0; i < _POD_STATE_MAX; i++)
                assert_int_equal(pod_state_from_string(pod_state_to_string((PodState) i)), i);
        assert_int_equal(pod_place_from_string("nope"), _POD_PLACE_INVALID);
        assert_int_equal(pod_state_from_string(NULL), _POD_STATE_INVALID);
        assert_null(pod_state_to_string(_POD_STATE_MAX));
        assert_string_equal(pod_place_to_string(POD_PLACE_EXITED_GARBAGE), "exited-garbage");
        assert_string_equal(pod_state_to_string(POD_STATE_ABORTED_PREPARE), "abortedPrepare");
}

static void test_state_of(void **state) {
        assert_int_equal(pod_state_of(POD_PLACE_EMBRYO, true), POD_STATE_EMBRYO);
        assert_int_equal(pod_state_of(POD_PLACE_PREPARE, true), POD_STATE_PREPARING);
        assert_int_equal(pod_state_of(POD_PLACE_PREPARE, false), POD_STATE_ABORTED_PREPARE);
        assert_int_equal(pod_state_of(POD_PLACE_PREPARED, false), POD_STATE_PREPARED);
        assert_int_equal(pod_state_of(POD_PLACE_RUN, true), POD_STATE_RUNNING);
        assert_int_equal(pod_state_of(POD_PLACE_RUN, false), POD_STATE_EXITED);
        assert_int_equal(pod_state_of(POD_PLACE_EXITED_GARBAGE, false), POD_STATE_EXITED_GARBAGE);
        assert_int_equal(pod_state_of(POD_PLACE_EXITED_GARBAGE, true), POD_STATE_DELETING);
        assert_int_equal(pod_state_of(POD_PLACE_GARBAGE, false), POD_STATE_GARBAGE);
        assert_int_equal(pod_state_of(POD_PLACE_GARBAGE, true), POD_STATE_DELETING);
}

static void test_uuid_valid(void **state) {
        assert_true(pod_uuid_valid("0123abcd-4567-89ef-0123-456789abcdef"));
        assert_false(pod_uuid_valid("0123ABCD-4567-89ef-0123-456789abcdef"));
        assert_false(pod_uuid_valid("0123abcd-4567-89ef-0123-456789abcde"));
        assert_false(pod_uuid_valid("0123abcd-4567-89ef-0123-456789abcdef0"));
        assert_false(pod_uuid_valid("0123abcd04567-89ef-0123-456789abcdef"));
        assert_false(pod_uuid_valid("../../../etc/passwd-0123-456789abcdef"));
        assert_false(pod_uuid_valid(NULL));
}

static void test_lifecycle(void **state) {
        const char *dir = *state;
        char uuid[POD_UUID_LEN + 1];
        int fd, fd2;
        PodState st;
        PodPlace place;
        char **l = NULL;

        assert_int_equal(pod_create(dir, uuid, &fd), 0);
        assert_true(pod_uuid_valid(uuid));
        assert_int_equal(pod_probe(dir, uuid, &st, &place), 0);
        assert_int_equal(place, POD_PLACE_PREPARE);
        assert_int_equal(st, POD_STATE_PREPARING);
        /* Somebody holds it: nobody else gets it. */
        assert_int_equal(pod_lock_exclusive(dir, uuid, POD_PLACE_PREPARE, &fd2), -EBUSY);
        close(fd);
        assert_int_equal(pod_probe(dir, uuid, &st, NULL), 0);
        assert_int_equal(st, POD_STATE_ABORTED_PREPARE);

        assert_int_equal(pod_move(dir, uuid, POD_PLACE_PREPARE, POD_PLACE_PREPARED), 0);
        assert_int_equal(pod_move(dir, uuid, POD_PLACE_PREPARE, POD_PLACE_PREPARED), -ENOENT);
        assert_int_equal(pod_find(dir, uuid, &place), 0);
        assert_int_equal(place, POD_PLACE_PREPARED);

        /* run-prepared: lock, then move while holding the lock. */
        assert_int_equal(pod_lock_exclusive(dir, uuid, POD_PLACE_PREPARED, &fd), 0);
        assert_int_equal(pod_move(dir, uuid, POD_PLACE_PREPARED, POD_PLACE_RUN), 0);
        assert_int_equal(pod_probe(dir, uuid, &st, NULL), 0);
        assert_int_equal(st, POD_STATE_RUNNING);
        /* A second run-prepared finds nothing in prepared/. */
        assert_int_equal(pod_lock_exclusive(dir, uuid, POD_PLACE_PREPARED, &fd2), -ENOENT);
        close(fd);
        assert_int_equal(pod_probe(dir, uuid, &st, NULL), 0);
        assert_int_equal(st, POD_STATE_EXITED);

        assert_int_equal(pod_list(dir, &l), 0);
        assert_non_null(l[0]);
        assert_string_equal(l[0], uuid);
        assert_null(l[1]);
        free(l[0]);
        free(l);

        assert_int_equal(pod_find(dir, "00000000-0000-0000-0000-000000000000", &place), -ENOENT);
        assert_int_equal(pod_find(dir, "not-a-uuid", &place), -EINVAL);
}

static void test_lock_stale_after_move(void **state) {
        const char *dir = *state;
        char uuid[POD_UUID_LEN + 1];
        int fd, fd2;

        assert_int_equal(pod_create(dir, uuid, &fd), 0);
        close(fd);
        assert_int_equal(pod_move(dir, uuid, POD_PLACE_PREPARE, POD_PLACE_PREPARED), 0);
        /* A probe's short shared lock is waited out. */
        _cleanup_free_ char *p = pod_path(dir, POD_PLACE_PREPARED, uuid);
        int probe = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(flock(probe, LOCK_SH), 0);
        assert_int_equal(pod_lock_exclusive(dir, uuid, POD_PLACE_PREPARED, &fd), -EBUSY);
        close(probe);
        assert_int_equal(pod_lock_exclusive(dir, uuid, POD_PLACE_PREPARED, &fd), 0);
        assert_int_equal(pod_lock_exclusive(dir, uuid, POD_PLACE_PREPARED, &fd2), -EBUSY);
        close(fd);
}

static void test_move_never_replaces(void **state) {
        const char *dir = *state;
        char uuid[POD_UUID_LEN + 1];
        int fd;
        _cleanup_free_ char *other = NULL;

        assert_int_equal(pod_create(dir, uuid, &fd), 0);
        close(fd);
        other = pod_path(dir, POD_PLACE_PREPARED, uuid);
        assert_int_equal(mkdir(other, 0750), 0);
        assert_int_equal(pod_move(dir, uuid, POD_PLACE_PREPARE, POD_PLACE_PREPARED), -EEXIST);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tables),
                cmocka_unit_test(test_state_of),
                cmocka_unit_test(test_uuid_valid),
                cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock_stale_after_move, setup, teardown),
                cmocka_unit_test_setup_teardown(test_move_never_replaces, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
