/* The Pod object read from disk: states, exit codes from stage1's status dir, filters, and the
 * pod as its exit is reported when a GC has taken the codes, or the pod, from the disk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "pod-state.h"
#include "pod-status.h"

#define MANIFEST "{\"acKind\":\"PodManifest\",\"acVersion\":\"0.8.11\",\"apps\":[" \
        "{\"name\":\"web\",\"image\":{\"id\":\"sha512-aa\",\"name\":\"example.com/web\"}}," \
        "{\"name\":\"db\",\"image\":{\"id\":\"sha512-bb\"}}]," \
        "\"userLabels\":{\"tier\":\"front\"}}"

typedef struct Fixture {
        char dir[64];
        char uuid[POD_UUID_LEN + 1];
} Fixture;

static void write_at(const char *dir, const char *name, const char *text) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

/* An exited pod in run/ as stage1 leaves it: manifest, status dir, web exited 0, db 3. */
static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        _cleanup_free_ char *pod = NULL;
        char path[512], cmd[600];
        int lock_fd;

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-pod-status.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        assert_int_equal(pod_places_init(f->dir), 0);
        assert_int_equal(pod_create(f->dir, f->uuid, &lock_fd), 0);
        assert_int_equal(pod_move(f->dir, f->uuid, POD_PLACE_PREPARE, POD_PLACE_RUN), 0);
        close(lock_fd);
        pod = pod_path(f->dir, POD_PLACE_RUN, f->uuid);
        assert_non_null(pod);
        write_at(pod, "pod", MANIFEST);
        write_at(pod, "pod-created", "");
        write_at(pod, "stage1ImageID", "sha512-11\n");
        snprintf(path, sizeof(path), "%s/stage1/rootfs/rkt/status", pod);
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
        assert_int_equal(system(cmd), 0);
        write_at(path, "web", "0");
        write_at(path, "db", "3");
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static json_object *app(json_object *pod, size_t i) {
        return json_object_array_get_idx(json_object_object_get(pod, "apps"), i);
}

static const char *str(json_object *o, const char *key) {
        return json_object_get_string(json_object_object_get(o, key));
}

static bool has(json_object *o, const char *key) {
        return json_object_object_get(o, key) != NULL;
}

/* What the worker read before it let go of the pod: both apps exited 0. */
static json_object *worker_apps(void) {
        return json_tokener_parse("[{\"name\":\"web\",\"imageId\":\"sha512-aa\",\"exitCode\":0},"
                                  "{\"name\":\"db\",\"imageId\":\"sha512-bb\",\"exitCode\":0}]");
}

static void remove_status(const Fixture *f, PodPlace place) {
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -r '%s/pods/%s/%s/stage1'", f->dir, pod_place_to_string(place), f->uuid);
        assert_int_equal(system(cmd), 0);
}

static void test_read(void **state) {
        Fixture *f = *state;
        _cleanup_json_ json_object *pod = NULL;

        assert_int_equal(pod_status_read(f->dir, f->uuid, false, &pod), 0);
        assert_string_equal(str(pod, "uuid"), f->uuid);
        assert_string_equal(str(pod, "state"), "exited");
        assert_string_equal(str(pod, "stage1Image"), "sha512-11");
        assert_true(has(pod, "createdUsec"));
        assert_false(has(pod, "manifest"));
        assert_false(has(pod, "pid"));
        assert_string_equal(str(app(pod, 0), "name"), "web");
        assert_string_equal(str(app(pod, 0), "imageName"), "example.com/web");
        assert_int_equal(json_object_get_int(json_object_object_get(app(pod, 0), "exitCode")), 0);
        assert_string_equal(str(app(pod, 1), "imageId"), "sha512-bb");
        assert_false(has(app(pod, 1), "imageName"));
        assert_int_equal(json_object_get_int(json_object_object_get(app(pod, 1), "exitCode")), 3);
        assert_string_equal(str(json_object_object_get(pod, "userLabels"), "tier"), "front");
        json_object_put(pod);

        pod = NULL;
        assert_int_equal(pod_status_read(f->dir, f->uuid, true, &pod), 0);
        assert_string_equal(str(json_object_object_get(pod, "manifest"), "acKind"), "PodManifest");
        json_object_put(pod);

        /* Marked by a GC: a garbage place, and the time it was marked. */
        pod = NULL;
        assert_int_equal(pod_move(f->dir, f->uuid, POD_PLACE_RUN, POD_PLACE_EXITED_GARBAGE), 0);
        assert_int_equal(pod_status_read(f->dir, f->uuid, false, &pod), 0);
        assert_string_equal(str(pod, "state"), "exitedGarbage");
        assert_true(has(pod, "gcMarkedUsec"));
        assert_int_equal(pod_status_read(f->dir, "00000000-0000-0000-0000-000000000000", false, &pod), -ENOENT);
}

/* The disk has the codes: they win over the worker's (which can only agree in real life). */
static void test_exited_from_disk(void **state) {
        Fixture *f = *state;
        _cleanup_json_ json_object *apps = worker_apps(), *pod = NULL;

        assert_int_equal(pod_status_read_exited(f->dir, f->uuid, apps, &pod), 0);
        assert_string_equal(str(pod, "state"), "exited");
        assert_int_equal(json_object_get_int(json_object_object_get(app(pod, 1), "exitCode")), 3);
}

/* A GC has begun to delete the pod: stage1's status dir is gone, the manifest not yet. */
static void test_exited_codes_deleted(void **state) {
        Fixture *f = *state;
        _cleanup_json_ json_object *apps = worker_apps(), *pod = NULL, *bare = NULL;

        assert_int_equal(pod_move(f->dir, f->uuid, POD_PLACE_RUN, POD_PLACE_EXITED_GARBAGE), 0);
        remove_status(f, POD_PLACE_EXITED_GARBAGE);
        assert_int_equal(pod_status_read(f->dir, f->uuid, false, &bare), 0);
        assert_false(has(app(bare, 0), "exitCode"));

        assert_int_equal(pod_status_read_exited(f->dir, f->uuid, apps, &pod), 0);
        assert_string_equal(str(pod, "state"), "exitedGarbage");
        assert_true(has(pod, "stage1Image"));
        assert_int_equal(json_object_array_length(json_object_object_get(pod, "apps")), 2);
        assert_int_equal(json_object_get_int(json_object_object_get(app(pod, 1), "exitCode")), 0);
        assert_string_equal(str(app(pod, 1), "name"), "db");
}

/* A GC has removed the pod: the worker's view of it, and 1 to say the disk had nothing. */
static void test_exited_pod_gone(void **state) {
        Fixture *f = *state;
        _cleanup_json_ json_object *apps = worker_apps(), *pod = NULL, *empty = json_object_new_array();
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -r '%s/pods/run/%s'", f->dir, f->uuid);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(pod_status_read_exited(f->dir, f->uuid, apps, &pod), 1);
        assert_string_equal(str(pod, "uuid"), f->uuid);
        assert_string_equal(str(pod, "state"), "exited");
        assert_int_equal(json_object_get_int(json_object_object_get(app(pod, 0), "exitCode")), 0);
        json_object_put(pod);

        /* Without what the worker read there is nothing to tell. */
        pod = NULL;
        assert_int_equal(pod_status_read_exited(f->dir, f->uuid, NULL, &pod), -ENOENT);
        assert_int_equal(pod_status_read_exited(f->dir, f->uuid, empty, &pod), -ENOENT);
        assert_null(pod);
}

/* A pod whose worker reported no apps (stage1 failed) is what the disk says. */
static void test_exited_no_worker_apps(void **state) {
        Fixture *f = *state;
        _cleanup_json_ json_object *pod = NULL;

        remove_status(f, POD_PLACE_RUN);
        assert_int_equal(pod_status_read_exited(f->dir, f->uuid, NULL, &pod), 0);
        assert_false(has(app(pod, 0), "exitCode"));
}

static void test_filter(void **state) {
        Fixture *f = *state;
        _cleanup_json_ json_object *pod = NULL;
        static const struct {
                const char *filter;
                bool match;
        } cases[] = {
                { "{}", true },
                { "{\"states\":[\"exited\",\"running\"]}", true },
                { "{\"states\":[\"running\"]}", false },
                { "{\"appNames\":[\"db\"]}", true },
                { "{\"appNames\":[\"d\"]}", false },
                { "{\"imageIds\":[\"sha512-b\"]}", true },
                { "{\"imageIds\":[\"sha512-c\"]}", false },
                { "{\"imageNames\":[\"example.com/web\"]}", true },
                { "{\"imageNames\":[\"example.com\"]}", false },
                { "{\"userLabels\":{\"tier\":\"front\"}}", true },
                { "{\"userLabels\":{\"tier\":\"back\"}}", false },
                { "{\"userLabels\":{\"zone\":\"front\"}}", false },
                { "{\"states\":[\"exited\"],\"appNames\":[\"nope\"]}", false },
        };

        assert_int_equal(pod_status_read(f->dir, f->uuid, false, &pod), 0);
        assert_true(pod_filter_match(NULL, pod));
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_json_ json_object *filter = json_tokener_parse(cases[i].filter);

                assert_non_null(filter);
                if (pod_filter_match(filter, pod) != cases[i].match)
                        fail_msg("filter %s: want %s", cases[i].filter, cases[i].match ? "match" : "no match");
        }
}

static void test_resolve(void **state) {
        Fixture *f = *state;
        char uuid[POD_UUID_LEN + 1], prefix[9];

        snprintf(prefix, sizeof(prefix), "%.8s", f->uuid);
        assert_int_equal(pod_resolve(f->dir, prefix, uuid, NULL), 0);
        assert_string_equal(uuid, f->uuid);
        assert_int_equal(pod_resolve(f->dir, f->uuid, uuid, NULL), 0);
        assert_int_equal(pod_resolve(f->dir, "", uuid, NULL), -EINVAL);
        assert_int_equal(pod_resolve(f->dir, "../x", uuid, NULL), -EINVAL);
        assert_int_equal(pod_resolve(f->dir, f->uuid[0] == 'f' ? "e" : "f", uuid, NULL), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exited_from_disk, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exited_codes_deleted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exited_pod_gone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exited_no_worker_apps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
