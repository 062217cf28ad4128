/* SELinux labels: category pairs (parsing, picking: distinct, ordered, in range, avoiding the
 * used set, exhaustion), the lxc_contexts parser, label building, the tree walk, and the
 * disabled path (no libselinux label call, so no security.selinux xattr appears). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "selinux-label.h"

#define N_PAIRS (SELINUX_MCS_CATEGORIES * (SELINUX_MCS_CATEGORIES - 1) / 2)

static void test_pair_parse(void **state) {
        McsPair p;

        assert_int_equal(selinux_label_mcs_pair("system_u:system_r:container_t:s0:c3,c7", &p), 0);
        assert_int_equal(p.x, 3);
        assert_int_equal(p.y, 7);
        assert_int_equal(selinux_label_mcs_pair("s0:c1023,c0", &p), 0);
        assert_int_equal(p.x, 0);
        assert_int_equal(p.y, 1023);
        assert_int_equal(selinux_label_mcs_pair("c5,c6", &p), 0);
        assert_int_equal(p.x, 5);

        const char *bad[] = { "", "s0", "a:b:c:s0", "s0:c1,c1", "s0:c1,c1024", "s0:c1",
                              "s0:c1,c2,c3", "s0:c1.c3", "s0:c,c2", "s0:c-1,c2", "s0:c1, c2",
                              "s0:c99999999999,c1" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(selinux_label_mcs_pair(bad[i], &p), -EINVAL);
}

typedef struct Script {
        const uint32_t *values;
        size_t n, at;
} Script;

/* Replays values, then repeats the last one forever. */
static uint32_t scripted(void *userdata) {
        Script *s = userdata;

        return s->values[s->at < s->n ? s->at++ : s->n - 1];
}

static void test_pick_random(void **state) {
        static char labels[300][48];
        const char *used[300];

        /* every pick is ordered, in range, and differs from all earlier ones */
        for (size_t i = 0; i < ELEMENTSOF(labels); i++) {
                McsPair p;

                assert_int_equal(selinux_mcs_pick(used, i, NULL, NULL, &p), 0);
                assert_true(p.x < p.y);
                assert_true(p.y < SELINUX_MCS_CATEGORIES);
                for (size_t j = 0; j < i; j++) {
                        McsPair q;

                        assert_int_equal(selinux_label_mcs_pair(used[j], &q), 0);
                        assert_false(q.x == p.x && q.y == p.y);
                }
                snprintf(labels[i], sizeof(labels[i]), "system_u:system_r:container_t:s0:c%u,c%u",
                         p.x, p.y);
                used[i] = labels[i];
        }
}

static void test_pick_avoids_used(void **state) {
        const uint32_t v[] = { 9, 5, 7, 7, 5 + 1024 * 3, 9 };  /* (5,9) twice, a tie, then (5,9) */
        Script s = { v, ELEMENTSOF(v), 0 };
        const char *used[] = { "x:y:z:s0:c5,c9", "garbage", NULL };
        McsPair p;

        /* the first draw is used, the second a tie; then (5,9) forever: the scan must answer */
        assert_int_equal(selinux_mcs_pick(used, ELEMENTSOF(used), scripted, &s, &p), 0);
        assert_true(p.x < p.y && p.y < SELINUX_MCS_CATEGORIES);
        assert_false(p.x == 5 && p.y == 9);
        /* with nothing used, the first draw is taken as is, ordered */
        s.at = 0;
        assert_int_equal(selinux_mcs_pick(NULL, 0, scripted, &s, &p), 0);
        assert_int_equal(p.x, 5);
        assert_int_equal(p.y, 9);
}

static void test_pick_exhaustion(void **state) {
        char **labels = calloc(N_PAIRS, sizeof(char *));
        char *buf = malloc((size_t) N_PAIRS * 16);
        size_t n = 0;
        McsPair p;

        assert_non_null(labels);
        assert_non_null(buf);
        for (unsigned x = 0; x < SELINUX_MCS_CATEGORIES; x++)
                for (unsigned y = x + 1; y < SELINUX_MCS_CATEGORIES; y++) {
                        labels[n] = buf + n * 16;
                        snprintf(labels[n], 16, "s0:c%u,c%u", x, y);
                        n++;
                }
        assert_int_equal(n, N_PAIRS);
        /* all but (500,501): that one must be found */
        size_t hole = SIZE_MAX;
        for (size_t i = 0; i < n; i++)
                if (strcmp(labels[i], "s0:c500,c501") == 0)
                        hole = i;
        assert_true(hole < n);
        labels[hole] = (char *) "not a label";
        assert_int_equal(selinux_mcs_pick((const char *const *) labels, n, NULL, NULL, &p), 0);
        assert_int_equal(p.x, 500);
        assert_int_equal(p.y, 501);
        labels[0] = (char *) "s0:c501,c500";  /* now (0,1) is the free one */
        assert_int_equal(selinux_mcs_pick((const char *const *) labels, n, NULL, NULL, &p), 0);
        assert_int_equal(p.x, 0);
        assert_int_equal(p.y, 1);
        labels[hole] = (char *) "s0:c0,c1";   /* every pair is used */
        assert_int_equal(selinux_mcs_pick((const char *const *) labels, n, NULL, NULL, &p),
                         -ENOSPC);
        free(buf);
        free(labels);
}

static void test_lxc_parse(void **state) {
        _cleanup_free_ char *process = NULL, *file = NULL, *p2 = NULL, *f2 = NULL;
        const char *sample =
                "# lxc_contexts as shipped with container-selinux\n"
                "process = \"system_u:system_r:spc_t:s0\"\n"
                "  content=\"system_u:object_r:virt_var_lib_t:s0\"\n"
                "file = 'system_u:object_r:svirt_sandbox_file_t:s0'  \r\n"
                "\n"
                "ro_file=\"system_u:object_r:container_ro_file_t:s0\"\n"
                "sandbox_kvm_process = \"system_u:system_r:container_kvm_t:s0\"\n";

        assert_int_equal(selinux_lxc_contexts_parse(sample, &process, &file), 0);
        assert_string_equal(process, "system_u:system_r:spc_t:s0");
        assert_string_equal(file, "system_u:object_r:svirt_sandbox_file_t:s0");

        /* only process given: file falls back to the default; a level is optional */
        assert_int_equal(selinux_lxc_contexts_parse("process=u:r:t\n", &p2, &f2), 0);
        assert_string_equal(p2, "u:r:t");
        assert_string_equal(f2, SELINUX_DEFAULT_FILE);

        const char *bad[] = { "process\n", "process = \"\"\n", "file = \"u:r\"\n",
                              "file = \"u:r:t:\"\n", "process = \"u::t:s0\"\n",
                              "process = \"u:r:t:s0 extra\"\n", "process = \"u:r:t:s0\n",
                              "just words\n" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *a = NULL, *b = NULL;

                assert_int_equal(selinux_lxc_contexts_parse(bad[i], &a, &b), -EBADMSG);
                assert_null(a);
                assert_null(b);
        }
}

static void test_lxc_load(void **state) {
        char path[] = "/tmp/test-selinux-label.XXXXXX";
        _cleanup_free_ char *process = NULL, *file = NULL, *p2 = NULL, *f2 = NULL;
        int fd = mkstemp(path);
        const char *text = "file = \"system_u:object_r:container_file_t:s0\"\n"
                           "process = \"system_u:system_r:container_t:s0\"\n";

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        assert_int_equal(selinux_lxc_contexts_load(path, &process, &file), 0);
        assert_string_equal(process, "system_u:system_r:container_t:s0");
        assert_string_equal(file, "system_u:object_r:container_file_t:s0");
        assert_int_equal(unlink(path), 0);
        /* a missing file means the defaults */
        assert_int_equal(selinux_lxc_contexts_load(path, &p2, &f2), 0);
        assert_string_equal(p2, SELINUX_DEFAULT_PROCESS);
        assert_string_equal(f2, SELINUX_DEFAULT_FILE);
        /* a file that is too large is refused */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, SELINUX_LXC_CONTEXTS_MAX + 1), 0);
        close(fd);
        {
                char *a = NULL, *b = NULL;

                assert_int_equal(selinux_lxc_contexts_load(path, &a, &b), -EBADMSG);
        }
        assert_int_equal(unlink(path), 0);
}

static void test_build(void **state) {
        _cleanup_free_ char *process = NULL, *mount = NULL, *p2 = NULL, *m2 = NULL;
        char *a = NULL, *b = NULL;

        assert_int_equal(selinux_labels_build(SELINUX_DEFAULT_PROCESS, SELINUX_DEFAULT_FILE,
                                              (McsPair) { 3, 1000 }, &process, &mount), 0);
        assert_string_equal(process, "system_u:system_r:container_t:s0:c3,c1000");
        assert_string_equal(mount, "system_u:object_r:container_file_t:s0:c3,c1000");
        /* an existing range is replaced, a missing one added */
        assert_int_equal(selinux_labels_build("u:r:t:s0:c1,c2", "u:object_r:f", (McsPair) { 0, 1 },
                                              &p2, &m2), 0);
        assert_string_equal(p2, "u:r:t:s0:c0,c1");
        assert_string_equal(m2, "u:object_r:f:s0:c0,c1");

        assert_int_equal(selinux_labels_build("garbage", SELINUX_DEFAULT_FILE, (McsPair) { 0, 1 },
                                              &a, &b), -EINVAL);
        assert_int_equal(selinux_labels_build(SELINUX_DEFAULT_PROCESS, SELINUX_DEFAULT_FILE,
                                              (McsPair) { 2, 2 }, &a, &b), -EINVAL);
        assert_int_equal(selinux_labels_build(SELINUX_DEFAULT_PROCESS, SELINUX_DEFAULT_FILE,
                                              (McsPair) { 2, 1024 }, &a, &b), -EINVAL);
        assert_null(a);
        assert_null(b);
}

typedef struct Visits {
        char seen[16][256];
        size_t n;
        size_t fail_at;
} Visits;

static int record(const char *path, const char *label, void *userdata) {
        Visits *v = userdata;

        assert_string_equal(label, "L");
        if (v->n == v->fail_at)
                return -EPERM;
        assert_true(v->n < ELEMENTSOF(v->seen));
        snprintf(v->seen[v->n++], sizeof(v->seen[0]), "%s", path);
        return 0;
}

static bool visited(const Visits *v, const char *path) {
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->seen[i], path) == 0)
                        return true;
        return false;
}

/* root/{f, d/{g, e/}, link -> /etc} */
static void make_tree(char *root) {
        char p[300];

        assert_non_null(mkdtemp(root));
        snprintf(p, sizeof(p), "%s/f", root);
        assert_int_equal(close(creat(p, 0644)), 0);
        snprintf(p, sizeof(p), "%s/d", root);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/d/g", root);
        assert_int_equal(close(creat(p, 0644)), 0);
        snprintf(p, sizeof(p), "%s/d/e", root);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/link", root);
        assert_int_equal(symlink("/etc", p), 0);
}

static void remove_tree(const char *root) {
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

static void test_walk(void **state) {
        char root[] = "/tmp/test-selinux-walk.XXXXXX";
        const char *rel[] = { "", "/f", "/d", "/d/g", "/d/e", "/link" };
        Visits v = { .fail_at = SIZE_MAX };
        char p[300];

        make_tree(root);
        assert_int_equal(selinux_label_tree_with(root, "L", record, &v), 0);
        assert_int_equal(v.n, ELEMENTSOF(rel));   /* nothing below /etc */
        for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
                snprintf(p, sizeof(p), "%s%s", root, rel[i]);
                assert_true(visited(&v, p));
        }
        assert_string_equal(v.seen[0], root);     /* the root first */

        /* an error stops the walk and comes back */
        v = (Visits) { .fail_at = 2 };
        assert_int_equal(selinux_label_tree_with(root, "L", record, &v), -EPERM);
        assert_int_equal(v.n, 2);
        snprintf(p, sizeof(p), "%s/nonexistent", root);
        assert_int_equal(selinux_label_tree_with(p, "L", record, &v), -ENOENT);
        remove_tree(root);
}

static void assert_no_label(const char *path) {
        char buf[256];

        assert_int_equal(lgetxattr(path, "security.selinux", buf, sizeof(buf)), -1);
        assert_true(errno == ENODATA || errno == ENOTSUP);
}

static void test_disabled(void **state) {
        char root[] = "/tmp/test-selinux-off.XXXXXX";
        const char *rel[] = { "", "/f", "/d", "/d/g", "/d/e", "/link" };
        SelinuxLabels *l = NULL;
        const char *used[] = { "s0:c1,c2" };
        char p[300];

        if (selinux_label_enabled())
                skip();   /* this test is about hosts without SELinux */
        assert_int_equal(selinux_labels_new(&l, used, 1), 0);
        assert_string_equal(l->process, "");
        assert_string_equal(l->mount, "");
        assert_null(selinux_labels_free(l));

        make_tree(root);
        assert_int_equal(selinux_label_tree(root, "system_u:object_r:container_file_t:s0:c1,c2"), 0);
        snprintf(p, sizeof(p), "%s/f", root);
        assert_int_equal(selinux_label_path(p, "system_u:object_r:container_file_t:s0:c1,c2"), 0);
        for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
                snprintf(p, sizeof(p), "%s%s", root, rel[i]);
                assert_no_label(p);
        }
        /* empty labels are no-ops whatever the host */
        assert_int_equal(selinux_label_tree(root, ""), 0);
        assert_int_equal(selinux_label_path(root, NULL), 0);
        assert_no_label(root);
        remove_tree(root);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pair_parse),
                cmocka_unit_test(test_pick_random),
                cmocka_unit_test(test_pick_avoids_used),
                cmocka_unit_test(test_pick_exhaustion),
                cmocka_unit_test(test_lxc_parse),
                cmocka_unit_test(test_lxc_load),
                cmocka_unit_test(test_build),
                cmocka_unit_test(test_walk),
                cmocka_unit_test(test_disabled),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
