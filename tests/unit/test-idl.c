/* Tests of the varlink IDL parser: every grammar construct on real and inline interfaces, the
 * exact position and reason of each refused text, the description kept byte for byte, member
 * lookups, the enum string tables, and robustness against truncated, mutated and deep input. */

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

#define CERTIFICATION_IDL "/usr/share/gocode/src/github.com/varlink/go/cmd/varlink-go-certification/" \
        "orgvarlinkcertification/org.varlink.certification.varlink"

DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkInterface *, varlink_interface_free);
#define _cleanup_iface_ _cleanup_(varlink_interface_freep)

/* Returns the file's contents, or NULL if it does not exist. */
static char *read_text(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0;
        FILE *out;
        int c;

        if (!f)
                return NULL;
        out = open_memstream(&buf, &size);
        assert_non_null(out);
        while ((c = fgetc(f)) != EOF)
                fputc(c, out);
        fclose(f);
        assert_int_equal(fclose(out), 0);
        return buf;
}

static VarlinkInterface *parse_ok(const char *text) {
        VarlinkInterface *iface = NULL;
        VarlinkIdlError e = {};
        int r;

        r = varlink_interface_parse(&iface, text, &e);
        if (r < 0)
                fail_msg("parse failed (%d) at %u:%u: %s", r, e.line, e.column, e.message);
        assert_non_null(iface);
        return iface;
}

static const VarlinkField *field(const VarlinkType *t, const char *name) {
        assert_non_null(t);
        for (size_t i = 0; i < t->n_fields; i++)
                if (strcmp(t->fields[i].name, name) == 0)
                        return &t->fields[i];
        fail_msg("no field '%s'", name);
        return NULL;
}

static const VarlinkType *field_type(const VarlinkType *t, const char *name) {
        return field(t, name)->type;
}

static void assert_kind(const VarlinkType *t, VarlinkTypeKind kind, bool nullable) {
        assert_non_null(t);
        assert_string_equal(varlink_type_kind_to_string(t->kind), varlink_type_kind_to_string(kind));
        assert_int_equal(t->nullable, nullable);
}

static void assert_enum(const VarlinkType *t, bool nullable, size_t n, ...) {
        va_list ap;

        assert_kind(t, VARLINK_TYPE_ENUM, nullable);
        assert_int_equal(t->n_fields, n);
        va_start(ap, n);
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(t->fields[i].name, va_arg(ap, const char *));
                assert_null(t->fields[i].type);
        }
        va_end(ap);
}

static void test_service_interface(void **state) {
        _cleanup_iface_ VarlinkInterface *iface = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *root = getenv("SOURCE_ROOT");
        const VarlinkMember *m;

        if (!root)
                skip();
        assert_true(asprintf(&path, "%s/protocol/org.varlink.service.varlink", root) > 0);
        text = read_text(path);
        assert_non_null(text);

        iface = parse_ok(text);
        assert_string_equal(iface->name, "org.varlink.service");
        assert_string_equal(iface->description, text);
        assert_int_equal(iface->n_members, 8);

        m = varlink_interface_find_method(iface, "GetInfo");
        assert_non_null(m);
        assert_kind(m->type, VARLINK_TYPE_STRUCT, false);
        assert_int_equal(m->type->n_fields, 0);
        assert_int_equal(m->output->n_fields, 5);
        assert_string_equal(m->output->fields[0].name, "vendor");
        assert_kind(field_type(m->output, "interfaces"), VARLINK_TYPE_ARRAY, false);
        assert_kind(field_type(m->output, "interfaces")->element, VARLINK_TYPE_STRING, false);

        m = varlink_interface_find_method(iface, "GetInterfaceDescription");
        assert_non_null(m);
        assert_kind(field_type(m->type, "interface"), VARLINK_TYPE_STRING, false);

        m = varlink_interface_find_error(iface, "PermissionDenied");
        assert_non_null(m);
        assert_kind(m->type, VARLINK_TYPE_STRUCT, false);
        assert_int_equal(m->type->n_fields, 0);
        assert_null(m->output);
        assert_non_null(varlink_interface_find_error(iface, "InvalidParameter"));
        assert_non_null(varlink_interface_find_error(iface, "ExpectedMore"));
}

static void test_certification_interface(void **state) {
        _cleanup_iface_ VarlinkInterface *iface = NULL;
        _cleanup_free_ char *text = read_text(CERTIFICATION_IDL);
        const VarlinkType *t, *u;
        const VarlinkMember *m;

        if (!text)
                skip();
        iface = parse_ok(text);
        assert_string_equal(iface->name, "org.varlink.certification");
        assert_string_equal(iface->description, text);
        assert_int_equal(iface->n_members, 17);

        /* foo: ?[]?[string](foo, bar, baz) */
        m = varlink_interface_find(iface, "Interface");
        assert_non_null(m);
        assert_int_equal(m->kind, VARLINK_MEMBER_TYPE);
        t = field_type(m->type, "foo");
        assert_kind(t, VARLINK_TYPE_ARRAY, true);
        assert_kind(t->element, VARLINK_TYPE_MAP, true);
        assert_enum(t->element->element, false, 3, "foo", "bar", "baz");
        t = field_type(m->type, "anon");
        assert_kind(t, VARLINK_TYPE_STRUCT, false);
        assert_kind(field_type(t, "bar"), VARLINK_TYPE_BOOL, false);

        m = varlink_interface_find(iface, "MyType");
        assert_non_null(m);
        assert_int_equal(m->type->n_fields, 9);
        assert_kind(field_type(m->type, "object"), VARLINK_TYPE_OBJECT, false);
        assert_enum(field_type(m->type, "enum"), false, 3, "one", "two", "three");
        assert_kind(field_type(field_type(m->type, "struct"), "first"), VARLINK_TYPE_INT, false);
        assert_kind(field_type(m->type, "dictionary")->element, VARLINK_TYPE_STRING, false);
        u = field_type(m->type, "stringset");
        assert_kind(u, VARLINK_TYPE_MAP, false);
        assert_kind(u->element, VARLINK_TYPE_STRUCT, false);
        assert_int_equal(u->element->n_fields, 0);
        assert_kind(field_type(m->type, "nullable"), VARLINK_TYPE_STRING, true);
        u = field_type(m->type, "nullable_array_struct");
        assert_kind(u, VARLINK_TYPE_ARRAY, true);
        assert_kind(u->element, VARLINK_TYPE_STRUCT, false);
        u = field_type(m->type, "interface");
        assert_kind(u, VARLINK_TYPE_ALIAS, false);
        assert_string_equal(u->alias, "Interface");

        m = varlink_interface_find_method(iface, "Test03");
        assert_kind(field_type(m->output, "float"), VARLINK_TYPE_FLOAT, false);
        m = varlink_interface_find_method(iface, "Test11");
        assert_int_equal(m->output->n_fields, 0);
        m = varlink_interface_find_error(iface, "CertificationError");
        assert_kind(field_type(m->type, "wants"), VARLINK_TYPE_OBJECT, false);
}

/* Every construct, with comments and odd but legal spacing wherever whitespace may be. */
static const char all_constructs[] =
        "# The interface's doc comment.\n"
        "interface org.example.all-in-1.v2 # trailing comment\n"
        "\n"
        "# A type's doc comment.\n"
        "type Everything (\n"
        "  b: bool, i: int, f: float, s: string, o: object, # after a field\n"
        "  nb: ?bool,\n"
        "  arr: []string,\n"
        "  dict: [string]int,\n"
        "  set: [string](),\n"
        "  nested: [][]int,\n"
        "  deep: ?[]?[string](a, b),\n"
        "  anon: (x: int, y: (z: ?Other)),\n"
        "  e: (one),\n"
        "  alias: Other,\n"
        "  self: ?Everything,\n"
        "  snake_case_name2: int,\n"
        "  Upper: int,\n"
        "  # field names may be type words\n"
        "  int: string, type: bool\n"
        ")\n"
        "type Other (a, b)\r\n"
        "method Ping(\t# comment inside a struct\n"
        "  p: int)->(q: ? int)\n"
        "method Empty ( ) # between\n"
        " -> # input and output\n"
        " ( )\n"
        "error Oops ()\n"
        "error Bad (why: string, where: ?[]int)";

static void test_all_constructs(void **state) {
        _cleanup_iface_ VarlinkInterface *iface = parse_ok(all_constructs);
        const VarlinkMember *m;
        const VarlinkType *t, *u;

        assert_string_equal(iface->name, "org.example.all-in-1.v2");
        assert_int_equal(iface->n_members, 6);
        /* members keep their source order */
        assert_string_equal(iface->members[0].name, "Everything");
        assert_string_equal(iface->members[5].name, "Bad");

        t = varlink_interface_find(iface, "Everything")->type;
        assert_int_equal(t->n_fields, 19);
        assert_kind(field_type(t, "b"), VARLINK_TYPE_BOOL, false);
        assert_kind(field_type(t, "i"), VARLINK_TYPE_INT, false);
        assert_kind(field_type(t, "f"), VARLINK_TYPE_FLOAT, false);
        assert_kind(field_type(t, "s"), VARLINK_TYPE_STRING, false);
        assert_kind(field_type(t, "o"), VARLINK_TYPE_OBJECT, false);
        assert_kind(field_type(t, "nb"), VARLINK_TYPE_BOOL, true);
        assert_kind(field_type(t, "arr")->element, VARLINK_TYPE_STRING, false);
        assert_kind(field_type(t, "dict"), VARLINK_TYPE_MAP, false);
        assert_kind(field_type(t, "dict")->element, VARLINK_TYPE_INT, false);
        assert_kind(field_type(t, "set")->element, VARLINK_TYPE_STRUCT, false);
        u = field_type(t, "nested");
        assert_kind(u, VARLINK_TYPE_ARRAY, false);
        assert_kind(u->element, VARLINK_TYPE_ARRAY, false);
        assert_kind(u->element->element, VARLINK_TYPE_INT, false);
        u = field_type(t, "deep");
        assert_kind(u, VARLINK_TYPE_ARRAY, true);
        assert_kind(u->element, VARLINK_TYPE_MAP, true);
        assert_enum(u->element->element, false, 2, "a", "b");
        u = field_type(field_type(field_type(t, "anon"), "y"), "z");
        assert_kind(u, VARLINK_TYPE_ALIAS, true);
        assert_string_equal(u->alias, "Other");
        assert_enum(field_type(t, "e"), false, 1, "one");
        assert_string_equal(field_type(t, "alias")->alias, "Other");
        assert_kind(field_type(t, "self"), VARLINK_TYPE_ALIAS, true);
        assert_kind(field_type(t, "snake_case_name2"), VARLINK_TYPE_INT, false);
        assert_kind(field_type(t, "Upper"), VARLINK_TYPE_INT, false);
        assert_kind(field_type(t, "int"), VARLINK_TYPE_STRING, false);
        assert_kind(field_type(t, "type"), VARLINK_TYPE_BOOL, false);

        assert_enum(varlink_interface_find(iface, "Other")->type, false, 2, "a", "b");

        m = varlink_interface_find_method(iface, "Ping");
        assert_kind(field_type(m->type, "p"), VARLINK_TYPE_INT, false);
        assert_kind(field_type(m->output, "q"), VARLINK_TYPE_INT, true);
        m = varlink_interface_find_method(iface, "Empty");
        assert_int_equal(m->type->n_fields, 0);
        assert_int_equal(m->output->n_fields, 0);
        m = varlink_interface_find_error(iface, "Bad");
        assert_kind(field_type(m->type, "where"), VARLINK_TYPE_ARRAY, true);
        assert_kind(field_type(m->type, "where")->element, VARLINK_TYPE_INT, false);
}

typedef struct BadCase {
        const char *text;
        unsigned line, column;
        const char *message;      /* a substring of the message */
} BadCase;

static const BadCase bad_cases[] = {
        { "", 1, 1, "expected 'interface'" },
        { "# only a comment\n", 2, 1, "expected 'interface'" },
        { "type A ()", 1, 1, "expected 'interface'" },
        { "interface", 1, 10, "expected interface name" },
        { "interface foo\ntype A ()", 1, 11, "invalid interface name 'foo'" },
        { "interface foo.-bar\ntype A ()", 1, 11, "invalid interface name" },
        { "interface foo.bar-\ntype A ()", 1, 11, "invalid interface name 'foo.bar-'" },
        { "interface 1foo.bar\ntype A ()", 1, 11, "invalid interface name" },
        { "interface foo..bar\ntype A ()", 1, 11, "invalid interface name" },
        { "interface foo.bar.\ntype A ()", 1, 11, "invalid interface name" },
        { "interface foo_x.bar\ntype A ()", 1, 11, "invalid interface name" },
        { "interface a.b\n", 2, 1, "interface has no members" },
        { "interface a.b interface c.d", 1, 15, "expected 'type', 'method' or 'error'" },
        { "interface a.b\nfoo A()", 2, 1, "expected 'type', 'method' or 'error'" },
        { "interface a.b\ntype", 2, 5, "expected type name" },
        { "interface a.b\ntype int ()", 2, 6, "invalid type name 'int'" },
        { "interface a.b\nmethod foo() -> ()", 2, 8, "invalid method name 'foo'" },
        { "interface a.b\nerror E_X ()", 2, 7, "invalid error name 'E_X'" },
        { "interface a.b\n# c\r\n\ttype a ()", 3, 7, "invalid type name 'a'" },
        { "interface a.b\ntype A", 2, 7, "expected '(' after type name" },
        { "interface a.b\ntype A int", 2, 8, "expected '(' after type name" },
        { "interface a.b\nmethod A()", 2, 11, "expected '->' after method input" },
        { "interface a.b\nmethod A() -> int", 2, 15, "expected '(' to start the method output" },
        { "interface a.b\nmethod A -> ()", 2, 10, "expected '(' to start the method input" },
        { "interface a.b\nmethod M(x, y) -> ()", 2, 9, "method input must be a struct" },
        { "interface a.b\nmethod M() -> (x)", 2, 15, "method output must be a struct" },
        { "interface a.b\nerror E (a, b)", 2, 9, "error parameters must be a struct" },
        { "interface a.b\nerror E", 2, 8, "expected '(' to start the error parameters" },
        { "interface a.b\ntype A (a int)", 2, 11, "expected ':' after field name" },
        { "interface a.b\ntype A (a: int, b int)", 2, 19, "expected ':' after field name" },
        { "interface a.b\ntype A (a: int, b)", 2, 18, "expected ':' after field name" },
        { "interface a.b\ntype A (a, b: int)", 2, 13, "unexpected ':' in an enum" },
        { "interface a.b\ntype A (a, b c)", 2, 14, "expected ',' or ')' after enum value" },
        { "interface a.b\ntype A (a: int", 2, 15, "expected ',' or ')' after field type" },
        { "interface a.b\ntype A (a: (x: ()", 2, 18, "expected ',' or ')' after field type" },
        { "interface a.b\ntype A (a: int,)", 2, 16, "expected field name" },
        { "interface a.b\ntype A (,)", 2, 9, "expected field name" },
        { "interface a.b\ntype A (_a: int)", 2, 9, "invalid field name '_a'" },
        { "interface a.b\ntype A (a__b: int)", 2, 9, "invalid field name 'a__b'" },
        { "interface a.b\ntype A (a_: int)", 2, 9, "invalid field name 'a_'" },
        { "interface a.b\ntype A (a.b: int)", 2, 9, "invalid field name 'a.b'" },
        { "interface a.b\ntype A (a: Foo)", 2, 12, "unknown type 'Foo'" },
        { "interface a.b\ntype A (a: uint)", 2, 12, "unknown type 'uint'" },
        { "interface a.b\ntype A (a: ??int)", 2, 13, "'?\?' is not allowed" },
        { "interface a.b\ntype A (a: ? ?int)", 2, 14, "'?\?' is not allowed" },
        { "interface a.b\ntype A (a: ?[]??int)", 2, 16, "'?\?' is not allowed" },
        { "interface a.b\ntype A (a: ?)", 2, 13, "expected a type" },
        { "interface a.b\ntype A (a: )", 2, 12, "expected a type" },
        { "interface a.b\ntype A (a: [int]int)", 2, 12, "expected '[]' or '[string]'" },
        { "interface a.b\ntype A (a: [ ]int)", 2, 12, "expected '[]' or '[string]'" },
        { "interface a.b\ntype A (a: int) $", 2, 17, "unexpected character '$'" },
        { "interface a.b\nmethod F(a: int) - > ()", 2, 18, "unexpected character '-'" },
        { "interface a.b\ntype A (a: int)\xc3\xa9", 2, 16, "unexpected byte 0xc3" },
        { "interface a.b\ntype A (a: int)\x01", 2, 16, "unexpected byte 0x01" },
        { "interface a.b\ntype A (a: int)\ntype A (b: int)", 3, 6, "duplicate member 'A'" },
        { "interface a.b\ntype A (a: int)\nmethod A () -> ()", 3, 8, "duplicate member 'A'" },
        { "interface a.b\nerror B ()\nerror C ()\nerror B ()\nerror C ()", 4, 7, "duplicate member 'B'" },
        { "interface a.b\ntype A (a: int, a: string)", 2, 17, "duplicate field 'a'" },
        { "interface a.b\ntype A (x, y, x)", 2, 15, "duplicate enum value 'x'" },
        { "interface a.b\nmethod F() -> ()\ntype T (a: F)", 3, 12, "'F' is a method, not a type" },
        { "interface a.b\nmethod F() -> (a: E)\nerror E ()", 2, 19, "'E' is an error, not a type" },
        { "interface a.b\ntype A (a: B, b: C)\ntype C ()", 2, 12, "unknown type 'B'" },
};

static void test_invalid_interfaces(void **state) {
        assert_true(ELEMENTSOF(bad_cases) >= 25);

        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                const BadCase *c = &bad_cases[i];
                VarlinkInterface *iface = NULL;
                VarlinkIdlError e = {};
                int r;

                r = varlink_interface_parse(&iface, c->text, &e);
                if (r != -EINVAL || e.line != c->line || e.column != c->column ||
                    !strstr(e.message, c->message))
                        fail_msg("case %zu \"%s\": got %d at %u:%u \"%s\", want %u:%u \"%s\"",
                                 i, c->text, r, e.line, e.column, e.message,
                                 c->line, c->column, c->message);
                assert_null(iface);
        }
}

static void test_error_pointer_optional(void **state) {
        VarlinkInterface *iface = NULL;

        assert_int_equal(varlink_interface_parse(&iface, "interface a.b", NULL), -EINVAL);
        assert_int_equal(varlink_interface_parse(&iface, NULL, NULL), -EINVAL);
        assert_int_equal(varlink_interface_parse(NULL, "interface a.b\nerror E ()", NULL), -EINVAL);
        assert_null(iface);
        assert_null(varlink_interface_free(NULL));
}

static void test_description_byte_for_byte(void **state) {
        static const char text[] =
                "# caf\xc3\xa9 \t doc  \r\n"
                "interface   x.y  \n"
                "\n\n"
                "# Doc of A.\n"
                "type A\t(\t)   # tail\n"
                "   \n";
        _cleanup_iface_ VarlinkInterface *iface = parse_ok(text);

        assert_int_equal(strlen(iface->description), sizeof(text) - 1);
        assert_memory_equal(iface->description, text, sizeof(text));
        assert_ptr_not_equal(iface->description, text);
}

static void test_lookups(void **state) {
        _cleanup_iface_ VarlinkInterface *iface = parse_ok(all_constructs);
        const VarlinkMember *m;

        m = varlink_interface_find(iface, "Ping");
        assert_non_null(m);
        assert_int_equal(m->kind, VARLINK_MEMBER_METHOD);
        assert_ptr_equal(varlink_interface_find_method(iface, "Ping"), m);
        assert_null(varlink_interface_find_error(iface, "Ping"));

        m = varlink_interface_find(iface, "Oops");
        assert_int_equal(m->kind, VARLINK_MEMBER_ERROR);
        assert_ptr_equal(varlink_interface_find_error(iface, "Oops"), m);
        assert_null(varlink_interface_find_method(iface, "Oops"));

        m = varlink_interface_find(iface, "Other");
        assert_int_equal(m->kind, VARLINK_MEMBER_TYPE);
        assert_null(varlink_interface_find_method(iface, "Other"));
        assert_null(varlink_interface_find_error(iface, "Other"));

        /* short names only, exact case */
        assert_null(varlink_interface_find(iface, "org.example.all-in-1.v2.Ping"));
        assert_null(varlink_interface_find(iface, "ping"));
        assert_null(varlink_interface_find(iface, ""));
        assert_null(varlink_interface_find(iface, NULL));
        assert_null(varlink_interface_find(NULL, "Ping"));
        assert_null(varlink_interface_find_method(NULL, "Ping"));
        assert_null(varlink_interface_find_error(NULL, "Oops"));
}

static void test_kind_tables(void **state) {
        for (int k = 0; k < _VARLINK_TYPE_KIND_MAX; k++) {
                const char *s = varlink_type_kind_to_string(k);

                assert_non_null(s);
                assert_int_equal(varlink_type_kind_from_string(s), k);
        }
        for (int k = 0; k < _VARLINK_MEMBER_KIND_MAX; k++) {
                const char *s = varlink_member_kind_to_string(k);

                assert_non_null(s);
                assert_int_equal(varlink_member_kind_from_string(s), k);
        }
        assert_string_equal(varlink_type_kind_to_string(VARLINK_TYPE_MAP), "map");
        assert_string_equal(varlink_member_kind_to_string(VARLINK_MEMBER_ERROR), "error");
        assert_null(varlink_type_kind_to_string(_VARLINK_TYPE_KIND_MAX));
        assert_null(varlink_type_kind_to_string(_VARLINK_TYPE_KIND_INVALID));
        assert_null(varlink_member_kind_to_string(_VARLINK_MEMBER_KIND_MAX));
        assert_null(varlink_member_kind_to_string(_VARLINK_MEMBER_KIND_INVALID));
        assert_int_equal(varlink_type_kind_from_string("nope"), _VARLINK_TYPE_KIND_INVALID);
        assert_int_equal(varlink_type_kind_from_string(NULL), _VARLINK_TYPE_KIND_INVALID);
        assert_int_equal(varlink_member_kind_from_string("Type"), _VARLINK_MEMBER_KIND_INVALID);
        assert_int_equal(varlink_member_kind_from_string(NULL), _VARLINK_MEMBER_KIND_INVALID);
}

/* "interface a.b\ntype A (f: " + n times `prefix` + "int" + n times `suffix` + ")" */
static char *nested_text(size_t n, const char *prefix, const char *suffix) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        fputs("interface a.b\ntype A (f: ", f);
        for (size_t i = 0; i < n; i++)
                fputs(prefix, f);
        fputs("int", f);
        for (size_t i = 0; i < n; i++)
                fputs(suffix, f);
        fputs(")", f);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void assert_depth(size_t n, const char *prefix, const char *suffix, int expected) {
        _cleanup_free_ char *text = nested_text(n, prefix, suffix);
        VarlinkInterface *iface = NULL;
        VarlinkIdlError e = {};

        assert_int_equal(varlink_interface_parse(&iface, text, &e), expected);
        if (expected < 0)
                assert_non_null(strstr(e.message, "nested deeper than 64"));
        varlink_interface_free(iface);
}

static void test_nesting_depth(void **state) {
        /* the member's struct is level 1, its field type level 2 */
        assert_depth(62, "[]", "", 0);
        assert_depth(63, "[]", "", -EINVAL);
        assert_depth(62, "(x: ", ")", 0);
        assert_depth(63, "(x: ", ")", -EINVAL);
        assert_depth(31, "?[]", "", 0);
        assert_depth(32, "?[]", "", -EINVAL);
        assert_depth(100000, "[]", "", -EINVAL);
        assert_depth(100000, "?[string]", "", -EINVAL);
        assert_depth(100000, "(x: ", ")", -EINVAL);
}

static void test_many_members(void **state) {
        _cleanup_free_ char *buf = NULL;
        VarlinkInterface *iface = NULL;
        VarlinkIdlError e = {};
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        fputs("interface a.b\n", f);
        for (unsigned i = 0; i < 20000; i++)
                fprintf(f, "type T%u (a: int, b: ?T%u)\n", i, (i * 7919) % 20000);
        assert_int_equal(fflush(f), 0);
        iface = parse_ok(buf);
        assert_int_equal(iface->n_members, 20000);
        assert_non_null(varlink_interface_find(iface, "T19999"));
        iface = varlink_interface_free(iface);

        /* line 1 is the header, so T17 is on line 19; the duplicate goes on line 20002 */
        fputs("type T17 ()\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(varlink_interface_parse(&iface, buf, &e), -EINVAL);
        assert_int_equal(e.line, 20002);
        assert_int_equal(e.column, 6);
        assert_string_equal(e.message, "duplicate member 'T17'");
}

static void parse_anything(const char *text) {
        VarlinkInterface *iface = NULL;
        VarlinkIdlError e = {};
        int r;

        r = varlink_interface_parse(&iface, text, &e);
        if (r == 0) {
                assert_non_null(iface);
                assert_string_equal(iface->description, text);
                varlink_interface_free(iface);
                return;
        }
        assert_int_equal(r, -EINVAL);
        assert_null(iface);
        assert_true(e.line >= 1 && e.column >= 1);
        assert_true(e.message[0] != '\0');
}

/* Every prefix of a valid text, and deterministic random mutations of it, either parse or fail
 * cleanly with a position (valgrind and ASan turn a bad read or a leak into a failure here). */
static void test_truncated_and_mutated(void **state) {
        static const char alphabet[] = "()[]?:,->#\n\t .aZ_string";
        size_t n = strlen(all_constructs);
        _cleanup_free_ char *copy = malloc(n + 1);
        uint32_t seed = 12345;

        assert_non_null(copy);
        for (size_t i = 0; i <= n; i++) {
                memcpy(copy, all_constructs, i);
                copy[i] = '\0';
                parse_anything(copy);
        }
        for (unsigned round = 0; round < 3000; round++) {
                memcpy(copy, all_constructs, n + 1);
                for (unsigned k = 0; k < 1 + round % 4; k++) {
                        seed = seed * 1103515245u + 12345u;
                        size_t at = (seed >> 8) % n;
                        seed = seed * 1103515245u + 12345u;
                        copy[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
                }
                parse_anything(copy);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_service_interface),
                cmocka_unit_test(test_certification_interface),
                cmocka_unit_test(test_all_constructs),
                cmocka_unit_test(test_invalid_interfaces),
                cmocka_unit_test(test_error_pointer_optional),
                cmocka_unit_test(test_description_byte_for_byte),
                cmocka_unit_test(test_lookups),
                cmocka_unit_test(test_kind_tables),
                cmocka_unit_test(test_nesting_depth),
                cmocka_unit_test(test_many_members),
                cmocka_unit_test(test_truncated_and_mutated),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
