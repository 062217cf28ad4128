/* Policy: who may call what. Root everything; the policy group (primary or supplementary gid)
 * the read-only methods; everyone org.varlink.service; nobody else anything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cleanup.h"
#include "policy.h"

#define GROUP 4242
#define OTHER_GROUP 4343

static const Policy policy = { .has_group = true, .group = GROUP };

static const char *const mutating_methods[] = {
        "io.stage0.Pods.Prepare",
        "io.stage0.Pods.Run",
        "io.stage0.Pods.Stop",
        "io.stage0.Pods.Remove",
        "io.stage0.Images.Import",
        "io.stage0.Images.Remove",
        "io.stage0.Images.GarbageCollect",
        NULL,
};

static const char *const service_methods[] = {
        "org.varlink.service.GetInfo",
        "org.varlink.service.GetInterfaceDescription",
        "org.varlink.service.NoSuchMethod",
        NULL,
};

static void assert_all(const Policy *p, const VarlinkPeer *peer, const char *const *methods,
                       bool allowed) {
        for (size_t i = 0; methods[i]; i++) {
                if (policy_allows(p, peer, methods[i]) != allowed)
                        fail_msg("%s: expected %s for uid %u gid %u", methods[i],
                                 allowed ? "allowed" : "refused", (unsigned) peer->uid,
                                 (unsigned) peer->gid);
        }
}

static void test_root(void **state) {
        VarlinkPeer root = { .pid = 1, .uid = 0, .gid = 0 };

        assert_all(&policy, &root, policy_read_only_methods, true);
        assert_all(&policy, &root, mutating_methods, true);
        assert_all(&policy, &root, service_methods, true);
}

static void test_member_by_primary_gid(void **state) {
        VarlinkPeer member = { .pid = 2, .uid = 1000, .gid = GROUP };

        assert_all(&policy, &member, policy_read_only_methods, true);
        assert_all(&policy, &member, mutating_methods, false);
        assert_all(&policy, &member, service_methods, true);
}

static void test_member_by_supplementary_group(void **state) {
        gid_t groups[] = { 1, OTHER_GROUP, GROUP };
        VarlinkPeer member = { .pid = 3, .uid = 1000, .gid = 1000, .groups = groups,
                               .n_groups = ELEMENTSOF(groups) };

        assert_all(&policy, &member, policy_read_only_methods, true);
        assert_all(&policy, &member, mutating_methods, false);
        assert_all(&policy, &member, service_methods, true);
}

static void test_other_user(void **state) {
        gid_t groups[] = { OTHER_GROUP };
        VarlinkPeer other = { .pid = 4, .uid = 65534, .gid = 65534, .groups = groups,
                              .n_groups = ELEMENTSOF(groups) };

        assert_all(&policy, &other, policy_read_only_methods, false);
        assert_all(&policy, &other, mutating_methods, false);
        assert_all(&policy, &other, service_methods, true);
}

static void test_no_group(void **state) {
        /* Without the group (it does not exist), gid 0 is not special: only uid 0 is. */
        const Policy none = { .has_group = false };
        VarlinkPeer gid0 = { .pid = 5, .uid = 1000, .gid = 0 };
        VarlinkPeer root = { .pid = 6, .uid = 0, .gid = 0 };

        assert_all(&none, &gid0, policy_read_only_methods, false);
        assert_all(&none, &gid0, service_methods, true);
        assert_all(&none, &root, mutating_methods, true);
}

static void test_read_only_table(void **state) {
        static const char *const expected[] = {
                "io.stage0.Images.List", "io.stage0.Images.Inspect", "io.stage0.Images.Verify",
                "io.stage0.Pods.Status", "io.stage0.Pods.List", "io.stage0.Pods.Wait",
                "io.stage0.Pods.Watch", "io.stage0.Pods.Logs",
        };
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                assert_true(policy_method_is_read_only(expected[i]));
        while (policy_read_only_methods[n])
                n++;
        assert_int_equal(n, ELEMENTSOF(expected));

        for (size_t i = 0; mutating_methods[i]; i++)
                assert_false(policy_method_is_read_only(mutating_methods[i]));
}

static void test_near_misses(void **state) {
        VarlinkPeer member = { .pid = 7, .uid = 1000, .gid = GROUP };
        VarlinkPeer other = { .pid = 8, .uid = 1000, .gid = 1000 };

        /* Matches are whole names, not prefixes, and case matters. */
        assert_false(policy_allows(&policy, &member, "io.stage0.Pods.ListAll"));
        assert_false(policy_allows(&policy, &member, "io.stage0.Pods.list"));
        assert_false(policy_allows(&policy, &member, "io.stage0.Pods"));
        assert_false(policy_allows(&policy, &member, ""));
        assert_false(policy_allows(&policy, &other, "org.varlink.serviceX.GetInfo"));
        assert_false(policy_allows(&policy, &other, "org.varlink.service"));
        assert_false(policy_allows(&policy, &member, NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_root),
                cmocka_unit_test(test_member_by_primary_gid),
                cmocka_unit_test(test_member_by_supplementary_group),
                cmocka_unit_test(test_other_user),
                cmocka_unit_test(test_no_group),
                cmocka_unit_test(test_read_only_table),
                cmocka_unit_test(test_near_misses),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
