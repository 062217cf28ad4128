/* Tests of varlink_interface_validate(): every type with and without '?', nested structs,
 * arrays, maps, enums and sets, recursive types, the reported paths, the int64 bounds, float
 * taking an integer, and null versus missing. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "varlink-idl.h"

static const char test_idl[] =
        "interface org.example.validate\n"
        "\n"
        "type Kind (alpha, beta)\n"
        "\n"
        "type App (\n"
        "  name: string,\n"
        "  exitCode: ?int,\n"
        "  kind: Kind,\n"
        "  children: ?[]App\n"
        ")\n"
        "\n"
        "type Spec (\n"
        "  apps: []App,\n"
        "  labels: [string]string,\n"
        "  flags: [string](),\n"
        "  extra: ?object,\n"
        "  ratio: ?float,\n"
        "  inner: ?(deep: (value: int))\n"
        ")\n"
        "\n"
        "method Run(spec: Spec, options: ?(force: bool, timeout: ?int))\n"
        "  -> (uuid: string, anything: object)\n"
        "method NoArgs() -> ()\n"
        "method AllTypes(\n"
        "  b: bool, i: int, f: float, s: string, o: object, e: (x, y),\n"
        "  nb: ?bool, ni: ?int, nf: ?float, ns: ?string, no: ?object, ne: ?(x, y),\n"
        "  ai: []int, ani: []?int, nai: ?[]int,\n"
        "  ms: [string]string, set: [string](), nset: ?[string](),\n"
        "  aa: [][]int\n"
        ") -> ()\n"
        "error Failed (reason: string)\n";

/* A valid AllTypes input; each case below changes one field of it. */
static const char all_types_base[] =
        "{\"b\":true,\"i\":1,\"f\":1.5,\"s\":\"x\",\"o\":{},\"e\":\"x\",\"ai\":[1],"
        "\"ani\":[1,null],\"ms\":{\"a\":\"b\"},\"set\":{\"a\":{}},\"aa\":[[1],[]]}";

static VarlinkInterface *iface;

static int setup(void **state) {
        VarlinkIdlError e = {};

        if (varlink_interface_parse(&iface, test_idl, &e) < 0) {
                fprintf(stderr, "test IDL: %u:%u: %s\n", e.line, e.column, e.message);
                return -1;
        }
        return 0;
}

static int teardown(void **state) {
        iface = varlink_interface_free(iface);
        return 0;
}

/* which: "Run" (a method's input), "Run>" (its output) or "!Failed" (an error). */
static const VarlinkType *struct_of(const char *which) {
        const VarlinkMember *m;
        size_t n = strlen(which);

        if (which[0] == '!') {
                m = varlink_interface_find_error(iface, which + 1);
                assert_non_null(m);
                return m->type;
        }
        if (which[n - 1] == '>') {
                _cleanup_free_ char *name = strndup(which, n - 1);

                m = varlink_interface_find_method(iface, name);
                assert_non_null(m);
                return m->output;
        }
        m = varlink_interface_find_method(iface, which);
        assert_non_null(m);
        return m->type;
}

static json_object *parse_json(const char *text) {
        json_object *o;

        if (!text)
                return NULL;
        o = json_tokener_parse(text);
        if (!o && strcmp(text, "null") != 0)
                fail_msg("bad test JSON: %s", text);
        return o;
}

/* bad_path NULL: the value must pass; otherwise it must fail with exactly that path. */
static void check_value(const char *which, json_object *o, const char *text, const char *bad_path) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = varlink_interface_validate(iface, struct_of(which), o, &path);
        if (!bad_path) {
                if (r != 0)
                        fail_msg("%s %s: refused (%d) at '%s'", which, text, r, path ?: "(null)");
                assert_null(path);
                return;
        }
        if (r != -EINVAL || !path || strcmp(path, bad_path) != 0)
                fail_msg("%s %s: got %d at '%s', want -EINVAL at '%s'",
                         which, text, r, path ?: "(null)", bad_path);
}

static void check(const char *which, const char *text, const char *bad_path) {
        _cleanup_json_ json_object *o = parse_json(text);

        check_value(which, o, text ?: "(NULL)", bad_path);
}

/* Sets (value_json != NULL, "null" for JSON null) or removes one field of the AllTypes base. */
static void check_all_types(const char *key, const char *value_json, const char *bad_path) {
        _cleanup_json_ json_object *o = parse_json(all_types_base);

        assert_non_null(o);
        if (!value_json)
                json_object_object_del(o, key);
        else
                assert_int_equal(json_object_object_add(o, key, parse_json(value_json)), 0);
        check_value("AllTypes", o, json_object_to_json_string(o), bad_path);
}

static void test_base_valid(void **state) {
        check("AllTypes", all_types_base, NULL);
        check_all_types("nb", "true", NULL);
        check_all_types("ni", "-5", NULL);
        check_all_types("nf", "2", NULL);
        check_all_types("ns", "\"\"", NULL);
        check_all_types("no", "{\"a\":[1,{\"b\":null}]}", NULL);
        check_all_types("ne", "\"y\"", NULL);
        check_all_types("nai", "[]", NULL);
        check_all_types("nset", "{\"x\":{}}", NULL);
}

static void test_bool(void **state) {
        check_all_types("b", "false", NULL);
        check_all_types("b", "1", "b");
        check_all_types("b", "\"true\"", "b");
        check_all_types("b", "null", "b");
        check_all_types("b", NULL, "b");
        check_all_types("nb", "null", NULL);
        check_all_types("nb", "0", "nb");
}

static void test_int(void **state) {
        check_all_types("i", "0", NULL);
        check_all_types("i", "-1", NULL);
        check_all_types("i", "1.0", "i");
        check_all_types("i", "1e3", "i");
        check_all_types("i", "\"1\"", "i");
        check_all_types("i", "true", "i");
        check_all_types("i", "[]", "i");
        check_all_types("i", "null", "i");
        check_all_types("i", NULL, "i");
        check_all_types("ni", "null", NULL);
        check_all_types("ni", "\"5\"", "ni");
}

static void test_int64_bounds(void **state) {
        _cleanup_json_ json_object *big = json_object_new_uint64(UINT64_C(1) << 63);
        _cleanup_json_ json_object *fits = json_object_new_uint64(INT64_MAX);

        check_all_types("i", "9223372036854775807", NULL);
        check_all_types("i", "-9223372036854775808", NULL);
        check_all_types("i", "9223372036854775808", "i");
        check_all_types("i", "18446744073709551615", "i");
        check_all_types("i", "99999999999999999999999", "i");
        check_all_types("ni", "9223372036854775808", "ni");
        check_all_types("ai", "[1, 9223372036854775808]", "ai[1]");

        /* values built in code rather than parsed take the same checks */
        check("Run>", "{\"uuid\":\"u\",\"anything\":{}}", NULL);
        {
                _cleanup_json_ json_object *o = parse_json(all_types_base);

                json_object_object_add(o, "i", json_object_get(big));
                check_value("AllTypes", o, "i = 2^63 from json_object_new_uint64", "i");
                json_object_object_add(o, "i", json_object_get(fits));
                check_value("AllTypes", o, "i = INT64_MAX from json_object_new_uint64", NULL);
        }
}

static void test_float(void **state) {
        check_all_types("f", "1", NULL);
        check_all_types("f", "-3", NULL);
        check_all_types("f", "0", NULL);
        check_all_types("f", "1e-5", NULL);
        check_all_types("f", "9223372036854775808", NULL);
        check_all_types("f", "\"1.5\"", "f");
        check_all_types("f", "false", "f");
        check_all_types("f", "1e400", "f");
        check_all_types("f", "NaN", "f");
        check_all_types("f", "-Infinity", "f");
        check_all_types("f", "null", "f");
        check_all_types("nf", "null", NULL);
        check_all_types("nf", "\"x\"", "nf");
}

static void test_string_object_enum(void **state) {
        check_all_types("s", "\"\"", NULL);
        check_all_types("s", "1", "s");
        check_all_types("s", "{}", "s");
        check_all_types("s", "null", "s");
        check_all_types("ns", "null", NULL);
        check_all_types("ns", "[]", "ns");

        check_all_types("o", "{\"x\":[1,2,{\"y\":null}]}", NULL);
        check_all_types("o", "[]", "o");
        check_all_types("o", "\"{}\"", "o");
        check_all_types("o", NULL, "o");
        check_all_types("no", "null", NULL);
        check_all_types("no", "1", "no");

        check_all_types("e", "\"y\"", NULL);
        check_all_types("e", "\"z\"", "e");
        check_all_types("e", "\"X\"", "e");
        check_all_types("e", "\"\"", "e");
        check_all_types("e", "0", "e");
        check_all_types("e", "null", "e");
        check_all_types("ne", "null", NULL);
        check_all_types("ne", "\"q\"", "ne");
}

static void test_arrays(void **state) {
        check_all_types("ai", "[]", NULL);
        check_all_types("ai", "[1,2,3]", NULL);
        check_all_types("ai", "[1,\"2\"]", "ai[1]");
        check_all_types("ai", "[null]", "ai[0]");
        check_all_types("ai", "{}", "ai");
        check_all_types("ai", "null", "ai");
        check_all_types("ani", "[null,1,null]", NULL);
        check_all_types("ani", "[1,null,\"x\"]", "ani[2]");
        check_all_types("nai", "null", NULL);
        check_all_types("nai", "[null]", "nai[0]");
        check_all_types("aa", "[[1],[2,\"x\"]]", "aa[1][1]");
        check_all_types("aa", "[[1],2]", "aa[1]");
        check_all_types("aa", "[[],[],[]]", NULL);
}

static void test_maps_and_sets(void **state) {
        check_all_types("ms", "{}", NULL);
        check_all_types("ms", "{\"os\":\"linux\",\"arch\":\"x86\"}", NULL);
        check_all_types("ms", "{\"os\":1}", "ms[\"os\"]");
        check_all_types("ms", "{\"os\":null}", "ms[\"os\"]");
        check_all_types("ms", "{\"a\\\"b\\\\c\\n\":1}", "ms[\"a\\\"b\\\\c\\u000a\"]");
        check_all_types("ms", "[]", "ms");
        check_all_types("ms", "\"x\"", "ms");

        check_all_types("set", "{}", NULL);
        check_all_types("set", "{\"a\":{},\"b\":{}}", NULL);
        check_all_types("set", "{\"a\":{\"x\":1}}", "set[\"a\"].x");
        check_all_types("set", "{\"a\":null}", "set[\"a\"]");
        check_all_types("set", "{\"a\":true}", "set[\"a\"]");
        check_all_types("set", "[\"a\"]", "set");
        check_all_types("nset", "null", NULL);
        check_all_types("nset", "{\"a\":[]}", "nset[\"a\"]");
}

static const char spec_ok[] =
        "{\"spec\":{\"apps\":[{\"name\":\"a\",\"kind\":\"alpha\"},"
        "{\"name\":\"b\",\"kind\":\"beta\",\"exitCode\":null,"
        "\"children\":[{\"name\":\"c\",\"kind\":\"alpha\",\"children\":[]}]}],"
        "\"labels\":{\"os\":\"linux\"},\"flags\":{\"x\":{}},"
        "\"extra\":{\"free\":\"form\"},\"ratio\":1,\"inner\":{\"deep\":{\"value\":3}}},"
        "\"options\":{\"force\":true,\"timeout\":null}}";

static void test_nested_paths(void **state) {
        check("Run", spec_ok, NULL);
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{}}}", NULL);

        check("Run", "{\"spec\":{\"apps\":[{\"name\":\"a\",\"kind\":\"alpha\"},{\"name\":\"b\","
              "\"kind\":\"beta\"},{\"name\":7,\"kind\":\"alpha\"}],\"labels\":{},\"flags\":{}}}",
              "spec.apps[2].name");
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{\"os\":1},\"flags\":{}}}",
              "spec.labels[\"os\"]");
        check("Run", "{\"spec\":{\"apps\":[{\"kind\":\"alpha\"}],\"labels\":{},\"flags\":{}}}",
              "spec.apps[0].name");
        check("Run", "{\"spec\":{\"apps\":[{\"name\":\"a\",\"kind\":\"gamma\"}],\"labels\":{},"
              "\"flags\":{}}}", "spec.apps[0].kind");
        check("Run", "{\"spec\":{\"apps\":[{\"name\":\"a\",\"kind\":\"beta\",\"children\":["
              "{\"name\":\"c\",\"kind\":\"alpha\",\"children\":[{\"name\":\"d\",\"kind\":\"x\"}]}]}],"
              "\"labels\":{},\"flags\":{}}}", "spec.apps[0].children[0].children[0].kind");
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{},\"inner\":{\"deep\":{}}}}",
              "spec.inner.deep.value");
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{},\"inner\":{\"deep\":null}}}",
              "spec.inner.deep");
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{},\"ratio\":\"1\"}}",
              "spec.ratio");
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{},\"bogus\":1}}", "spec.bogus");
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{}},\"options\":{\"timeout\":1}}",
              "options.force");
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{}},\"options\":[]}", "options");
        check("Run", "{\"spec\":[]}", "spec");
}

static void test_null_versus_missing(void **state) {
        /* a missing parameters object counts as {} */
        check("NoArgs", NULL, NULL);
        check("NoArgs", "{}", NULL);
        check("Run", NULL, "spec");
        check("!Failed", NULL, "reason");

        /* missing and null are the same for a nullable field, and both refused otherwise */
        check("Run", "{\"spec\":null}", "spec");
        check("Run", "{}", "spec");
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{}},\"options\":null}", NULL);
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{}}}", NULL);
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{},\"extra\":null,"
              "\"ratio\":null,\"inner\":null}}", NULL);
        check("Run", "{\"spec\":{\"apps\":null,\"labels\":{},\"flags\":{}}}", "spec.apps");
}

static void test_unknown_and_non_objects(void **state) {
        check("NoArgs", "{\"x\":1}", "x");
        check("NoArgs", "{\"x\":null}", "x");
        check("Run", "{\"spec\":{\"apps\":[],\"labels\":{},\"flags\":{}},\"extra\":true}", "extra");
        /* the parameters themselves are not an object: the path is empty */
        check("NoArgs", "[]", "");
        check("Run", "\"spec\"", "");
        check("Run>", "{\"uuid\":\"u\",\"anything\":{\"a\":1}}", NULL);
        check("Run>", "{\"uuid\":\"u\",\"anything\":[]}", "anything");
        check("!Failed", "{\"reason\":\"r\"}", NULL);
        check("!Failed", "{\"reason\":\"r\",\"more\":1}", "more");
}

static void test_no_path_wanted(void **state) {
        const VarlinkType *t = struct_of("Run");
        _cleanup_json_ json_object *o = parse_json("{\"spec\":1}");

        assert_int_equal(varlink_interface_validate(iface, t, o, NULL), -EINVAL);
        assert_int_equal(varlink_interface_validate(iface, struct_of("NoArgs"), NULL, NULL), 0);
        assert_int_equal(varlink_interface_validate(NULL, t, o, NULL), -EINVAL);
        assert_int_equal(varlink_interface_validate(iface, NULL, o, NULL), -EINVAL);
}

static void test_type_members_directly(void **state) {
        const VarlinkType *app = varlink_interface_find(iface, "App")->type;
        _cleanup_json_ json_object *ok = parse_json("{\"name\":\"a\",\"kind\":\"beta\"}");
        _cleanup_json_ json_object *bad = parse_json("{\"name\":\"a\",\"kind\":1}");
        _cleanup_free_ char *path = NULL;

        assert_int_equal(varlink_interface_validate(iface, app, ok, NULL), 0);
        assert_int_equal(varlink_interface_validate(iface, app, bad, &path), -EINVAL);
        assert_string_equal(path, "kind");
}

/* App.children chained n deep: {"spec":{"apps":[{..."children":[{...}]}], ...}} */
static json_object *deep_spec(size_t n, const char *leaf_kind) {
        json_object *app = NULL, *top, *spec, *apps;

        for (size_t i = 0; i < n; i++) {
                json_object *a = json_object_new_object(), *children;

                json_object_object_add(a, "name", json_object_new_string("x"));
                json_object_object_add(a, "kind", json_object_new_string(i == 0 ? leaf_kind : "alpha"));
                if (app) {
                        children = json_object_new_array();
                        json_object_array_add(children, app);
                        json_object_object_add(a, "children", children);
                }
                app = a;
        }
        apps = json_object_new_array();
        json_object_array_add(apps, app);
        spec = json_object_new_object();
        json_object_object_add(spec, "apps", apps);
        json_object_object_add(spec, "labels", json_object_new_object());
        json_object_object_add(spec, "flags", json_object_new_object());
        top = json_object_new_object();
        json_object_object_add(top, "spec", spec);
        return top;
}

static void test_deep_values(void **state) {
        _cleanup_json_ json_object *fine = deep_spec(40, "beta");
        _cleanup_json_ json_object *bad_leaf = deep_spec(3, "omega");
        _cleanup_json_ json_object *huge = deep_spec(5000, "beta");
        _cleanup_free_ char *path = NULL;

        check_value("Run", fine, "40 levels of children", NULL);
        check_value("Run", bad_leaf, "3 levels, bad leaf",
                    "spec.apps[0].children[0].children[0].kind");

        /* deeper than any parsed message can be: refused, not a stack overflow */
        assert_int_equal(varlink_interface_validate(iface, struct_of("Run"), huge, &path), -EINVAL);
        assert_non_null(path);
        assert_true(strncmp(path, "spec.apps[0].children[0].children[0]", 36) == 0);
        assert_int_equal(varlink_interface_validate(iface, struct_of("Run"), huge, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_base_valid),
                cmocka_unit_test(test_bool),
                cmocka_unit_test(test_int),
                cmocka_unit_test(test_int64_bounds),
                cmocka_unit_test(test_float),
                cmocka_unit_test(test_string_object_enum),
                cmocka_unit_test(test_arrays),
                cmocka_unit_test(test_maps_and_sets),
                cmocka_unit_test(test_nested_paths),
                cmocka_unit_test(test_null_versus_missing),
                cmocka_unit_test(test_unknown_and_non_objects),
                cmocka_unit_test(test_no_path_wanted),
                cmocka_unit_test(test_type_members_directly),
                cmocka_unit_test(test_deep_values),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
