/* The stage1 run argv: rkt's order, and what each interface version may be given. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cleanup.h"
#include "stage1-args.h"

#define UUID "0123abcd-4567-89ef-0123-456789abcdef"

static json_object *stage1_manifest(const char *version) {
        char text[1024];

        snprintf(text, sizeof(text),
                 "{\"acKind\":\"ImageManifest\",\"name\":\"s1\",\"annotations\":["
                 "{\"name\":\"coreos.com/rkt/stage1/run\",\"value\":\"/init\"},"
                 "{\"name\":\"coreos.com/rkt/stage1/stop\",\"value\":\"/stop\"}%s%s%s]}",
                 version ? ",{\"name\":\"coreos.com/rkt/stage1/interface-version\",\"value\":\"" : "",
                 version ? version : "", version ? "\"}" : "");
        return json_tokener_parse(text);
}

/* The argv joined by spaces, after argv[0]. */
static char *argv_of(const char *version, const char *options, const char *private_users,
                     char **ret_warnings, int *ret_r) {
        _cleanup_json_ json_object *m = stage1_manifest(version);
        _cleanup_json_ json_object *o = options ? json_tokener_parse(options) : NULL;
        json_object *warnings = NULL;
        Stage1Info s1;
        ErrorDetail e = {};
        char **argv = NULL, *s = NULL;
        size_t len = 0;
        FILE *f;

        assert_int_equal(stage1_info_read(m, &s1, &e), 0);
        *ret_r = stage1_run_argv(&s1, &(Stage1RunParams) {
                .rootfs = "/pod/stage1/rootfs", .uuid = UUID, .options = o,
                .private_users = private_users }, &argv, &warnings, &e);
        if (*ret_r < 0)
                return strdup(e.field);
        assert_string_equal(argv[0], "/pod/stage1/rootfs/init");
        f = open_memstream(&s, &len);
        for (size_t i = 1; argv[i]; i++)
                fprintf(f, "%s%s", i > 1 ? " " : "", argv[i]);
        fclose(f);
        if (ret_warnings)
                *ret_warnings = strdup(json_object_to_json_string_ext(warnings, JSON_C_TO_STRING_PLAIN));
        json_object_put(warnings);
        stage1_argv_free(argv);
        return s;
}

static void expect(const char *version, const char *options, const char *private_users,
                   const char *want, const char *want_warnings) {
        _cleanup_free_ char *warnings = NULL;
        int r;
        _cleanup_free_ char *got = argv_of(version, options, private_users, &warnings, &r);

        assert_int_equal(r, 0);
        if (strcmp(got, want) != 0)
                fail_msg("argv: got '%s', want '%s'", got, want);
        if (want_warnings && strcmp(warnings, want_warnings) != 0)
                fail_msg("warnings: got '%s', want '%s'", warnings, want_warnings);
}

static void expect_error(const char *options, int want_r, const char *want_field) {
        int r;
        _cleanup_free_ char *field = argv_of("6", options, NULL, NULL, &r);

        assert_int_equal(r, want_r);
        assert_string_equal(field, want_field);
}

static void test_defaults(void **state) {
        expect("6", NULL, NULL, "--net=default " UUID, "[]");
        expect(NULL, "{}", NULL, "--net=default " UUID, "[]");
}

static void test_full_order(void **state) {
        expect("6",
               "{\"debug\":true,\"net\":[{\"name\":\"host\"}],\"localConfig\":\"/etc/rkt\","
               "\"hostname\":\"h1\",\"dnsServers\":[\"8.8.8.8\"],\"hostsEntries\":[{\"ip\":\"1.2.3.4\",\"hostnames\":[\"x\"]}],"
               "\"insecureOptions\":[\"capabilities\",\"paths\",\"seccomp\"],\"ipc\":\"private\"}",
               "65536:65536",
               "--debug --net=host --private-users=65536:65536 --local-config=/etc/rkt --hostname=h1 "
               "--dns-conf-mode=resolv=stage0,hosts=stage0 --disable-capabilities-restriction "
               "--disable-paths --disable-seccomp --ipc=private " UUID, "[]");
}

static void test_net_list(void **state) {
        expect("6", "{\"net\":[{\"name\":\"all\"},{\"name\":\"net1\",\"args\":\"k1=v1;k2=v2\"}]}", NULL,
               "--net=all,net1:k1=v1;k2=v2 " UUID, NULL);
        expect_error("{\"net\":[{\"name\":\"host\",\"args\":\"x=1\"}]}", -EINVAL, "options.net[0]");
        expect_error("{\"net\":[{\"name\":\"Bad Name\"}]}", -EINVAL, "options.net[0]");
}

static void test_versions_drop_options(void **state) {
        const char *all = "{\"hostname\":\"h\",\"resolvMode\":\"host\",\"insecureOptions\":[\"paths\"],\"ipc\":\"parent\"}";

        expect("1", all, NULL, "--net=default " UUID,
               "[{\"option\":\"options.hostname\",\"message\":\"--hostname option is not supported by stage1\"},"
               "{\"option\":\"options.resolvMode\",\"message\":\"--dns-conf-mode option not supported by stage1\"},"
               "{\"option\":\"options.insecureOptions\",\"message\":\"insecure options are not supported by stage1\"},"
               "{\"option\":\"options.ipc\",\"message\":\"--ipc option is not supported by stage1\"}]");
        expect("2", all, NULL, "--net=default --hostname=h " UUID, NULL);
        expect("3", all, NULL, "--net=default --hostname=h --disable-paths " UUID, NULL);
        expect("4", all, NULL, "--net=default --hostname=h --dns-conf-mode=resolv=host,hosts=default --disable-paths " UUID, NULL);
        expect("5", all, NULL, "--net=default --hostname=h --dns-conf-mode=resolv=host,hosts=default --disable-paths " UUID, NULL);
        expect("6", all, NULL, "--net=default --hostname=h --dns-conf-mode=resolv=host,hosts=default --disable-paths --ipc=parent " UUID, "[]");
}

static void test_dns_modes(void **state) {
        const char *resolv, *hosts;
        _cleanup_json_ json_object *o = json_tokener_parse("{\"dnsSearch\":[\"a.b\"]}");
        _cleanup_json_ json_object *bad = json_tokener_parse("{\"dnsServers\":[\"1.1.1.1\"],\"resolvMode\":\"host\"}");
        ErrorDetail e = {};

        assert_int_equal(stage1_dns_modes(o, &resolv, &hosts, &e), 0);
        assert_string_equal(resolv, "stage0");
        assert_string_equal(hosts, "default");
        assert_int_equal(stage1_dns_modes(bad, &resolv, &hosts, &e), -EINVAL);
        assert_string_equal(e.field, "options.resolvMode");
}

static void test_refusals(void **state) {
        expect_error("{\"interactive\":true}", -EOPNOTSUPP, "options.interactive");
        expect_error("{\"mdsRegister\":true}", -EOPNOTSUPP, "options.mdsRegister");
        expect_error("{\"hostname\":\"a b\"}", -EINVAL, "options.hostname");
}

static void test_info(void **state) {
        _cleanup_json_ json_object *none = json_tokener_parse("{\"annotations\":[]}");
        _cleanup_json_ json_object *rel = json_tokener_parse(
                "{\"annotations\":[{\"name\":\"coreos.com/rkt/stage1/run\",\"value\":\"init\"}]}");
        _cleanup_json_ json_object *v0 = stage1_manifest("0"), *vx = stage1_manifest("x"), *v1 = stage1_manifest(NULL);
        Stage1Info s1;
        ErrorDetail e = {};

        assert_int_equal(stage1_info_read(none, &s1, &e), -EINVAL);
        assert_int_equal(stage1_info_read(rel, &s1, &e), -EINVAL);
        assert_int_equal(stage1_info_read(v0, &s1, &e), -EINVAL);
        assert_int_equal(stage1_info_read(vx, &s1, &e), -EINVAL);
        assert_int_equal(stage1_info_read(v1, &s1, &e), 0);
        assert_int_equal(s1.version, 1);
        assert_string_equal(s1.stop, "/stop");
        assert_null(s1.gc);
        assert_false(s1.app_entrypoints);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_full_order),
                cmocka_unit_test(test_net_list),
                cmocka_unit_test(test_versions_drop_options),
                cmocka_unit_test(test_dns_modes),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_info),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
