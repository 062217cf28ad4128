/* Unit tests for stage0c's pure parts: the command line (global options anywhere, the
 * environment, command flags and argument counts), call's argument checks, the error line
 * and the other output, the exit status table, and image's references, durations and
 * formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cleanup.h"
#include "cmd-call.h"
#include "cmd-image.h"
#include "command.h"
#include "config.h"
#include "exit-status.h"
#include "options.h"
#include "output.h"

#define DEFAULT_SOCKET "unix:" STAGE0_DEFAULT_SOCKET
#define ARGV(...) ((char *const[]) { "stage0c", __VA_ARGS__, NULL })

static int argv_count(char *const *argv) {
        int n = 0;
        while (argv[n])
                n++;
        return n;
}

static int parse(Options *o, char *const *argv, const char *env, char *error, size_t size) {
        return options_parse(o, argv_count(argv), argv, env, command_syntax_find, error, size);
}

/* Parses argv expecting a usage error whose text contains want. */
static void assert_usage_error(char *const *argv, const char *want) {
        Options o;
        char error[512] = "";

        assert_int_equal(parse(&o, argv, NULL, error, sizeof(error)), -EINVAL);
        if (!strstr(error, want))
                fail_msg("error '%s' does not contain '%s'", error, want);
}

static void test_defaults(void **state) {
        Options o;
        char error[256] = "";

        assert_int_equal(parse(&o, ARGV("info"), NULL, error, sizeof(error)), 0);
        assert_string_equal(o.command->name, "info");
        assert_string_equal(o.socket, DEFAULT_SOCKET);
        assert_false(o.json);
        assert_false(o.help);
        assert_int_equal(o.timeout_usec, 45ULL * 1000000ULL);
        assert_int_equal(o.n_args, 0);
        assert_ptr_equal(command_from_syntax(o.command), &command_info);
        options_done(&o);
}

static void test_global_options_anywhere(void **state) {
        char *const *const cases[] = {
                ARGV("--json", "--socket", "/tmp/s", "--timeout", "2", "introspect", "a.b"),
                ARGV("introspect", "a.b", "--json", "--socket", "/tmp/s", "--timeout", "2"),
                ARGV("--socket=/tmp/s", "introspect", "--timeout=2", "a.b", "--json"),
                ARGV("--json", "--timeout", "2", "--socket", "/tmp/s", "--", "introspect", "a.b"),
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Options o;
                char error[256] = "";

                assert_int_equal(parse(&o, cases[i], "unix:/from/env", error, sizeof(error)), 0);
                assert_string_equal(o.command->name, "introspect");
                assert_true(o.json);
                assert_string_equal(o.socket, "/tmp/s");
                assert_int_equal(o.timeout_usec, 2000000);
                assert_int_equal(o.n_args, 1);
                assert_string_equal(o.args[0], "a.b");
                options_done(&o);
        }
}

static void test_socket_from_environment(void **state) {
        Options o;
        char error[256] = "";

        assert_int_equal(parse(&o, ARGV("info"), "unix:/from/env", error, sizeof(error)), 0);
        assert_string_equal(o.socket, "unix:/from/env");
        options_done(&o);

        /* An empty variable counts as unset. */
        assert_int_equal(parse(&o, ARGV("info"), "", error, sizeof(error)), 0);
        assert_string_equal(o.socket, DEFAULT_SOCKET);
        options_done(&o);

        assert_int_equal(parse(&o, ARGV("info", "--socket", "/bare/path"), "unix:/from/env",
                               error, sizeof(error)), 0);
        assert_string_equal(o.socket, "/bare/path");
        options_done(&o);
}

static void test_timeout(void **state) {
        static const struct {
                const char *text;
                int r;
                uint64_t usec;
        } cases[] = {
                { "45", 0, 45000000 },
                { "0.5", 0, 500000 },
                { "1e3", 0, 1000000000 },
                { "infinity", 0, VARLINK_TIMEOUT_INFINITY },
                { "0", -ERANGE, 0 },
                { "0.0000001", -ERANGE, 0 },
                { "99999999999", -ERANGE, 0 },
                { "-1", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "abc", -EINVAL, 0 },
                { "5s", -EINVAL, 0 },
                { "nan", -EINVAL, 0 },
                { "inf", -EINVAL, 0 },
                { "Infinity", -EINVAL, 0 },
                { " 5", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t usec = 0;

                assert_int_equal(options_parse_timeout(cases[i].text, &usec), cases[i].r);
                if (cases[i].r == 0)
                        assert_int_equal(usec, cases[i].usec);
        }
        assert_usage_error(ARGV("--timeout", "0", "info"), "--timeout");
        assert_usage_error(ARGV("info", "--timeout=soon"), "soon");
}

static void test_usage_errors(void **state) {
        assert_usage_error(ARGV("--bogus", "info"), "unknown option '--bogus'");
        assert_usage_error(ARGV("info", "--bogus"), "unknown option '--bogus' for info");
        assert_usage_error(ARGV("info", "-x"), "unknown option '-x'");
        /* A command's flags belong after it and to it alone. */
        assert_usage_error(ARGV("--more", "call", "a.B"), "unknown option '--more'");
        assert_usage_error(ARGV("info", "--more"), "unknown option '--more' for info");
        assert_usage_error(ARGV("frobnicate"), "unknown command 'frobnicate'");
        assert_usage_error((char *const[]) { "stage0c", NULL }, "missing command");
        assert_usage_error(ARGV("--json"), "missing command");
        assert_usage_error(ARGV("call"), "missing argument; usage: call METHOD");
        assert_usage_error(ARGV("call", "a.B", "{}", "extra"), "too many arguments");
        assert_usage_error(ARGV("info", "extra"), "too many arguments");
        assert_usage_error(ARGV("introspect", "a.b", "c.d"), "too many arguments");
        assert_usage_error(ARGV("info", "--socket"), "--socket needs a value");
        assert_usage_error(ARGV("info", "--socket", ""), "non-empty");
        assert_usage_error(ARGV("info", "--socket="), "non-empty");
        assert_usage_error(ARGV("info", "--json=yes"), "--json takes no value");
        assert_usage_error(ARGV("call", "a.B", "--more=1"), "--more takes no value");
}

static void test_help_and_version(void **state) {
        char *const *const help[] = {
                ARGV("--help"), ARGV("-h"), ARGV("call", "--help"), ARGV("info", "-h"),
        };
        Options o;
        char error[256] = "";

        for (size_t i = 0; i < ELEMENTSOF(help); i++) {
                assert_int_equal(parse(&o, help[i], NULL, error, sizeof(error)), 0);
                assert_true(o.help);
                options_done(&o);
        }
        assert_int_equal(parse(&o, ARGV("--version"), NULL, error, sizeof(error)), 0);
        assert_true(o.version);
        assert_null(o.command);
        options_done(&o);
}

static void test_dash_dash_and_stdin(void **state) {
        Options o;
        char error[256] = "";

        /* After "--" even option-like words are arguments; a lone "-" always is. */
        assert_int_equal(parse(&o, ARGV("call", "--", "a.B", "--json"), NULL, error, sizeof(error)), 0);
        assert_false(o.json);
        assert_int_equal(o.n_args, 2);
        assert_string_equal(o.args[1], "--json");
        options_done(&o);

        assert_int_equal(parse(&o, ARGV("call", "a.B", "-", "--more"), NULL, error, sizeof(error)), 0);
        assert_int_equal(o.n_args, 2);
        assert_string_equal(o.args[1], "-");
        assert_non_null(options_flag(&o, "--more"));
        assert_null(options_flag(&o, "--oneway"));
        assert_null(options_flag(&o, "--nonexistent"));
        options_done(&o);
}

/* Parses a call's command line and then its arguments; returns call_request_parse's result. */
static int call_parse(char *const *argv, const char *input, CallRequest *ret, char *error,
                      size_t size) {
        Options o;
        FILE *f = NULL;
        int r;

        assert_int_equal(parse(&o, argv, NULL, error, size), 0);
        if (input) {
                f = fmemopen((void *) input, strlen(input), "r");
                assert_non_null(f);
        }
        r = call_request_parse(ret, &o, f, error, size);
        if (f)
                fclose(f);
        options_done(&o);
        return r;
}

static void assert_call_error(char *const *argv, const char *input, const char *want) {
        CallRequest request = {};
        char error[512] = "";

        assert_int_equal(call_parse(argv, input, &request, error, sizeof(error)), -EINVAL);
        assert_null(request.parameters);
        if (!strstr(error, want))
                fail_msg("error '%s' does not contain '%s'", error, want);
}

static void test_call_arguments(void **state) {
        CallRequest request = {};
        char error[512] = "";

        assert_int_equal(call_parse(ARGV("call", "org.example.Ping"), NULL, &request, error,
                                    sizeof(error)), 0);
        assert_string_equal(request.method, "org.example.Ping");
        assert_int_equal(json_object_object_length(request.parameters), 0);
        assert_int_equal(request.flags, 0);
        call_request_done(&request);

        assert_int_equal(call_parse(ARGV("call", "a.B", "{\"x\": [1, \"a/b\"]}", "--more"), NULL,
                                    &request, error, sizeof(error)), 0);
        assert_int_equal(request.flags, VARLINK_CALL_MORE);
        assert_string_equal(json_object_to_json_string_ext(request.parameters, OUTPUT_JSON_LINE),
                            "{\"x\":[1,\"a/b\"]}");
        call_request_done(&request);

        assert_int_equal(call_parse(ARGV("call", "--oneway", "a.B", "-"), " {\"y\": true}\n",
                                    &request, error, sizeof(error)), 0);
        assert_int_equal(request.flags, VARLINK_CALL_ONEWAY);
        assert_true(json_object_get_boolean(json_object_object_get(request.parameters, "y")));
        call_request_done(&request);

        assert_call_error(ARGV("call", "a.B", "--more", "--oneway"), NULL, "exclude each other");
        assert_call_error(ARGV("call", "nodot"), NULL, "METHOD must be INTERFACE.Method");
        assert_call_error(ARGV("call", ".B"), NULL, "METHOD must be");
        assert_call_error(ARGV("call", "a."), NULL, "METHOD must be");
        assert_call_error(ARGV("call", "a.B", "{"), NULL, "invalid JSON");
        assert_call_error(ARGV("call", "a.B", "{\"a\":}"), NULL, "unexpected character");
        assert_call_error(ARGV("call", "a.B", "{} {}"), NULL, "invalid JSON");
        assert_call_error(ARGV("call", "a.B", ""), NULL, "invalid JSON");
        assert_call_error(ARGV("call", "a.B", "[1]"), NULL, "must be a JSON object, not array");
        assert_call_error(ARGV("call", "a.B", "42"), NULL, "not int");
        assert_call_error(ARGV("call", "a.B", "null"), NULL, "not null");
        assert_call_error(ARGV("call", "a.B", "{\"s\": \"\xff\"}"), NULL, "invalid JSON");
        assert_call_error(ARGV("call", "a.B", "-"), "not json", "invalid JSON");
        assert_call_error(ARGV("call", "a.B", "-"), "", "invalid JSON");
}

static void assert_error_line(const char *error, const char *parameters, const char *want) {
        _cleanup_json_ json_object *p = parameters ? json_tokener_parse(parameters) : NULL;
        _cleanup_free_ char *line = NULL;

        if (parameters)
                assert_non_null(p);
        assert_int_equal(output_error_line(error, p, &line), 0);
        assert_string_equal(line, want);
}

static void test_error_line(void **state) {
        assert_error_line("org.varlink.service.MethodNotFound", "{\"method\": \"a.B\"}",
                          "stage0c: org.varlink.service.MethodNotFound: method=a.B");
        assert_error_line("org.varlink.service.PermissionDenied", "{}",
                          "stage0c: org.varlink.service.PermissionDenied");
        assert_error_line("org.varlink.service.PermissionDenied", NULL,
                          "stage0c: org.varlink.service.PermissionDenied");
        assert_error_line("io.stage0.Images.InvalidImage",
                          "{\"reason\": \"no manifest\", \"path\": \"/x/y\", \"size\": 12, "
                          "\"ok\": false, \"none\": null}",
                          "stage0c: io.stage0.Images.InvalidImage: reason=\"no manifest\", "
                          "path=/x/y, size=12, ok=false, none=null");
        /* One level only: nested values stay compact JSON. */
        assert_error_line("io.stage0.Images.ImageInUse",
                          "{\"image\": \"sha512-ab\", \"pods\": [\"p 1\", \"p2\"], \"o\": {\"k\": 1}}",
                          "stage0c: io.stage0.Images.ImageInUse: image=sha512-ab, "
                          "pods=[\"p 1\",\"p2\"], o={\"k\":1}");
        /* Strings that could be misread, or break the line, are quoted and escaped. */
        assert_error_line("a.E", "{\"a\": \"\", \"b\": \"x,y=z\", \"c\": \"l1\\nl2\", \"d\": \"q\\\"\"}",
                          "stage0c: a.E: a=\"\", b=\"x,y=z\", c=\"l1\\nl2\", d=\"q\\\"\"");
}

static void test_error_json(void **state) {
        _cleanup_json_ json_object *p = json_tokener_parse("{\"method\": \"a/B\"}");
        _cleanup_json_ json_object *doc = NULL;
        _cleanup_free_ char *text = NULL, *empty = NULL;

        assert_int_equal(output_error_json("org.varlink.service.MethodNotFound", p, &text), 0);
        assert_null(strstr(text, "\\/"));
        doc = json_tokener_parse(text);
        assert_non_null(doc);
        assert_string_equal(json_object_get_string(json_object_object_get(doc, "error")),
                            "org.varlink.service.MethodNotFound");
        assert_string_equal(json_object_get_string(json_object_object_get(
                                json_object_object_get(doc, "parameters"), "method")), "a/B");

        assert_int_equal(output_error_json("a.E", NULL, &empty), 0);
        json_object_put(doc);
        doc = json_tokener_parse(empty);
        assert_true(json_object_is_type(json_object_object_get(doc, "parameters"), json_type_object));
}

static void test_info_text(void **state) {
        _cleanup_json_ json_object *info = json_tokener_parse(
                "{\"vendor\": \"stage0\", \"product\": \"stage0d\", \"version\": \"0.1.0\", "
                "\"url\": \"https://stage0.io\", \"interfaces\": [\"io.stage0.Pods\", \"org.varlink.service\"]}");
        _cleanup_json_ json_object *bad = json_tokener_parse(
                "{\"vendor\": \"stage0\", \"product\": \"stage0d\", \"version\": 1, "
                "\"url\": \"u\", \"interfaces\": []}");
        _cleanup_free_ char *text = NULL, *none = NULL;

        assert_int_equal(output_info_text(info, &text), 0);
        assert_string_equal(text,
                            "vendor:     stage0\n"
                            "product:    stage0d\n"
                            "version:    0.1.0\n"
                            "url:        https://stage0.io\n"
                            "interfaces: io.stage0.Pods\n"
                            "            org.varlink.service\n");
        assert_int_equal(output_info_text(bad, &none), -EBADMSG);
        assert_null(none);
        json_object_object_add(bad, "version", json_object_new_string("1"));
        json_object_object_add(bad, "interfaces", json_object_new_string("x"));
        assert_int_equal(output_info_text(bad, &none), -EBADMSG);
        assert_int_equal(output_info_text(NULL, &none), -EBADMSG);
}

static void test_json_output(void **state) {
        _cleanup_json_ json_object *o = json_tokener_parse("{\"path\": \"/a/b\", \"n\": [1]}");
        _cleanup_free_ char *pretty = NULL, *line = NULL, *empty = NULL;

        assert_int_equal(output_json(o, OUTPUT_JSON_PRETTY, &pretty), 0);
        assert_string_equal(pretty, "{\n  \"path\": \"/a/b\",\n  \"n\": [\n    1\n  ]\n}");
        assert_int_equal(output_json(o, OUTPUT_JSON_LINE, &line), 0);
        assert_string_equal(line, "{\"path\":\"/a/b\",\"n\":[1]}");
        assert_int_equal(output_json(NULL, OUTPUT_JSON_LINE, &empty), 0);
        assert_string_equal(empty, "{}");
}

static void test_exit_status(void **state) {
        assert_int_equal(EXIT_STATUS_SUCCESS, 0);
        assert_int_equal(EXIT_STATUS_SERVICE_ERROR, 1);
        assert_int_equal(EXIT_STATUS_USAGE, 2);
        assert_int_equal(EXIT_STATUS_CONNECTION, 3);

        for (int s = 0; s < _EXIT_STATUS_MAX; s++) {
                assert_non_null(exit_status_to_string((ExitStatus) s));
                assert_non_null(exit_status_description((ExitStatus) s));
                assert_int_equal(exit_status_from_string(exit_status_to_string((ExitStatus) s)), s);
        }
        assert_null(exit_status_to_string(_EXIT_STATUS_MAX));
        assert_null(exit_status_to_string(_EXIT_STATUS_INVALID));
        assert_int_equal(exit_status_from_string("nope"), _EXIT_STATUS_INVALID);
        assert_int_equal(exit_status_from_string(NULL), _EXIT_STATUS_INVALID);

        assert_int_equal(exit_status_from_call(0, NULL), EXIT_STATUS_SUCCESS);
        assert_int_equal(exit_status_from_call(0, "a.E"), EXIT_STATUS_SERVICE_ERROR);
        assert_int_equal(exit_status_from_call(-ETIMEDOUT, NULL), EXIT_STATUS_CONNECTION);
        assert_int_equal(exit_status_from_call(-ECONNRESET, NULL), EXIT_STATUS_CONNECTION);
        assert_int_equal(exit_status_from_call(-EBADMSG, NULL), EXIT_STATUS_CONNECTION);
        assert_int_equal(exit_status_from_call(-ENOENT, NULL), EXIT_STATUS_CONNECTION);
}

static void test_repeated_flag(void **state) {
        Options o;
        char error[256] = "";

        assert_int_equal(parse(&o, ARGV("image", "list", "--label", "a=1", "--full",
                                         "--label=b=2", "--label", "a=3"), NULL, error,
                               sizeof(error)), 0);
        assert_int_equal(options_flag_count(&o, "--label"), 3);
        assert_string_equal(options_flag_nth(&o, "--label", 0), "a=1");
        assert_string_equal(options_flag_nth(&o, "--label", 1), "b=2");
        assert_string_equal(options_flag_nth(&o, "--label", 2), "a=3");
        assert_null(options_flag_nth(&o, "--label", 3));
        /* options_flag still sees the last one. */
        assert_string_equal(options_flag(&o, "--label"), "a=3");
        assert_int_equal(options_flag_count(&o, "--full"), 1);
        assert_int_equal(options_flag_count(&o, "--overwrite"), 0);
        assert_int_equal(options_flag_count(&o, "--nope"), 0);
        assert_int_equal(o.n_args, 1);
        options_done(&o);
}

/* Parses text (with extra labels, "k=v" strings, NULL-terminated) and compares the compact
 * JSON of the reference with want. */
static void assert_ref(const char *text, const char *const *labels, const char *want) {
        _cleanup_json_ json_object *l = NULL, *ref = NULL;
        char error[256] = "";

        if (labels) {
                l = json_object_new_object();
                for (const char *const *p = labels; *p; p++)
                        assert_int_equal(image_label_add(l, *p, error, sizeof(error)), 0);
        }
        if (image_ref_parse(text, l, &ref, error, sizeof(error)) < 0)
                fail_msg("'%s' refused: %s", text, error);
        assert_string_equal(json_object_to_json_string_ext(ref, OUTPUT_JSON_LINE), want);
}

static void assert_ref_error(const char *text, const char *const *labels, const char *want) {
        _cleanup_json_ json_object *l = NULL, *ref = NULL;
        char error[256] = "";

        if (labels) {
                l = json_object_new_object();
                for (const char *const *p = labels; *p; p++)
                        assert_int_equal(image_label_add(l, *p, error, sizeof(error)), 0);
        }
        assert_int_equal(image_ref_parse(text, l, &ref, error, sizeof(error)), -EINVAL);
        assert_null(ref);
        if (!strstr(error, want))
                fail_msg("error '%s' for '%s' does not contain '%s'", error, text, want);
}

#define LABELS(...) ((const char *const[]) { __VA_ARGS__, NULL })

static void test_image_ref(void **state) {
        assert_ref("sha512-ab", NULL, "{\"id\":\"sha512-ab\"}");
        assert_ref("sha512-0123456789ABCDEF", NULL, "{\"id\":\"sha512-0123456789abcdef\"}");
        assert_ref("example.com/busybox", NULL, "{\"name\":\"example.com/busybox\"}");
        assert_ref("example.com/busybox:1.36", NULL,
                   "{\"name\":\"example.com/busybox\",\"labels\":{\"version\":\"1.36\"}}");
        /* Split at the last ':'. */
        assert_ref("a:b:c", NULL, "{\"name\":\"a:b\",\"labels\":{\"version\":\"c\"}}");
        assert_ref("busybox", LABELS("arch=amd64", "os=linux"),
                   "{\"name\":\"busybox\",\"labels\":{\"arch\":\"amd64\",\"os\":\"linux\"}}");
        assert_ref("busybox:1", LABELS("arch=amd64"),
                   "{\"name\":\"busybox\",\"labels\":{\"arch\":\"amd64\",\"version\":\"1\"}}");
        /* An empty value is a value. */
        assert_ref("busybox", LABELS("empty="), "{\"name\":\"busybox\",\"labels\":{\"empty\":\"\"}}");

        char full[8 + 128] = "sha512-";
        memset(full + 7, 'a', 128);
        full[7 + 128] = '\0';
        char want[200];
        snprintf(want, sizeof(want), "{\"id\":\"%s\"}", full);
        assert_ref(full, NULL, want);
}

static void test_image_ref_errors(void **state) {
        char too_long[8 + 129] = "sha512-";

        memset(too_long + 7, 'a', 129);
        too_long[7 + 129] = '\0';
        assert_ref_error("", NULL, "empty");
        assert_ref_error("sha512-", NULL, "2 to 128 hex digits");
        assert_ref_error("sha512-a", NULL, "2 to 128 hex digits");
        assert_ref_error(too_long, NULL, "2 to 128 hex digits");
        assert_ref_error("sha512-abxy", NULL, "'x', not a hex digit");
        assert_ref_error("sha512-ab", LABELS("version=1"), "not an image ID");
        assert_ref_error(":1.0", NULL, "empty name");
        assert_ref_error("busybox:", NULL, "empty version");
        assert_ref_error("busybox:1", LABELS("version=2"), "both");
}

static void test_image_label(void **state) {
        _cleanup_json_ json_object *l = json_object_new_object();
        char error[256] = "";

        assert_int_equal(image_label_add(l, "a=b=c", error, sizeof(error)), 0);
        assert_string_equal(json_object_get_string(json_object_object_get(l, "a")), "b=c");
        assert_int_equal(image_label_add(l, "a=d", error, sizeof(error)), -EINVAL);
        assert_non_null(strstr(error, "given twice"));
        assert_int_equal(image_label_add(l, "novalue", error, sizeof(error)), -EINVAL);
        assert_non_null(strstr(error, "NAME=VALUE"));
        assert_int_equal(image_label_add(l, "=v", error, sizeof(error)), -EINVAL);
        assert_int_equal(json_object_object_length(l), 1);
}

static void test_image_duration(void **state) {
        static const struct {
                const char *text;
                uint64_t usec;
        } good[] = {
                { "0", 0 },
                { "0s", 0 },
                { "90s", 90000000ULL },
                { "30m", 1800000000ULL },
                { "24h", 86400000000ULL },
                { "1h30m", 5400000000ULL },
                { "1h0m10s", 3610000000ULL },
                { "1.5h", 5400000000ULL },
                { ".5s", 500000ULL },
                { "2.s", 2000000ULL },
                { "250ms", 250000ULL },
                { "1s500ms", 1500000ULL },
                { "7us", 7ULL },
                { "7\xc2\xb5s", 7ULL },
                { "1.0000009s", 1000000ULL },   /* rounded down to microseconds */
                { "2562047788h", 2562047788ULL * 3600000000ULL },
        };
        static const char *const bad[] = {
                "", "s", "10", "10x", "1h 30m", "-1h", "+1h", "1..5s", ".s", "1hh", "m5",
                "1ns",
        };
        static const char *const range[] = {
                "2562047789h", "9223372036854775808us", "99999999999999999999999h",
                "2562047788h2562047788h",
        };
        uint64_t usec;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                usec = 1;
                if (image_duration_parse(good[i].text, &usec) < 0)
                        fail_msg("'%s' refused", good[i].text);
                if (usec != good[i].usec)
                        fail_msg("'%s' gave %llu, not %llu", good[i].text,
                                 (unsigned long long) usec, (unsigned long long) good[i].usec);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (image_duration_parse(bad[i], &usec) != -EINVAL)
                        fail_msg("'%s' not refused with -EINVAL", bad[i]);
        for (size_t i = 0; i < ELEMENTSOF(range); i++)
                if (image_duration_parse(range[i], &usec) != -ERANGE)
                        fail_msg("'%s' not refused with -ERANGE", range[i]);
}

static void test_image_formatting(void **state) {
        char buf[IMAGE_TEXT_MAX];
        const uint64_t s = 1000000ULL, now = 1700000000ULL * s;

        assert_string_equal(image_id_short("sha512-0123456789abcdef0123", buf, sizeof(buf)),
                            "sha512-0123456789ab");
        assert_string_equal(image_id_short("sha512-0123456789ab", buf, sizeof(buf)),
                            "sha512-0123456789ab");
        assert_string_equal(image_id_short("other", buf, sizeof(buf)), "other");

        assert_string_equal(image_size_format(0, buf, sizeof(buf)), "0 B");
        assert_string_equal(image_size_format(1023, buf, sizeof(buf)), "1023 B");
        assert_string_equal(image_size_format(1024, buf, sizeof(buf)), "1.0 KiB");
        assert_string_equal(image_size_format(1536, buf, sizeof(buf)), "1.5 KiB");
        assert_string_equal(image_size_format(1048575, buf, sizeof(buf)), "1.0 MiB");
        assert_string_equal(image_size_format(200ULL << 20, buf, sizeof(buf)), "200.0 MiB");
        assert_string_equal(image_size_format(3ULL << 40, buf, sizeof(buf)), "3.0 TiB");
        assert_string_equal(image_size_format(UINT64_MAX, buf, sizeof(buf)), "16.0 EiB");

        assert_string_equal(image_time_format(now, now, buf, sizeof(buf)), "0 seconds ago");
        assert_string_equal(image_time_format(now - 1 * s, now, buf, sizeof(buf)), "1 second ago");
        assert_string_equal(image_time_format(now - 59 * s, now, buf, sizeof(buf)), "59 seconds ago");
        assert_string_equal(image_time_format(now - 60 * s, now, buf, sizeof(buf)), "1 minute ago");
        assert_string_equal(image_time_format(now - 7200 * s, now, buf, sizeof(buf)), "2 hours ago");
        assert_string_equal(image_time_format(now - 6 * 86400 * s, now, buf, sizeof(buf)), "6 days ago");
        assert_string_equal(image_time_format(now - 7 * 86400 * s, now, buf, sizeof(buf)),
                            "2023-11-07T22:13:20Z");
        /* In the future: the clock moved; show the time itself. */
        assert_string_equal(image_time_format(now + 3600 * s, now, buf, sizeof(buf)),
                            "2023-11-14T23:13:20Z");

        assert_string_equal(image_progress_format(0, 100 << 20, 0, buf, sizeof(buf)),
                            "[>                       ]   0%  0 B / 100.0 MiB  0 B/s");
        assert_string_equal(image_progress_format(50 << 20, 100 << 20, 25 << 20, buf, sizeof(buf)),
                            "[============>           ]  50%  50.0 MiB / 100.0 MiB  25.0 MiB/s");
        assert_string_equal(image_progress_format(100 << 20, 100 << 20, 1024, buf, sizeof(buf)),
                            "[========================] 100%  100.0 MiB / 100.0 MiB  1.0 KiB/s");
        /* More than the total (the file grew): the bar stops full, the count stays true. */
        assert_string_equal(image_progress_format(200, 100, 0, buf, sizeof(buf)),
                            "[========================] 100%  200 B / 100 B  0 B/s");
        assert_string_equal(image_progress_format(0, 0, 0, buf, sizeof(buf)),
                            "[========================] 100%  0 B / 0 B  0 B/s");
        assert_string_equal(image_progress_format(5000, -1, 2048, buf, sizeof(buf)),
                            "4.9 KiB  2.0 KiB/s");
        /* A small buffer truncates. */
        assert_string_equal(image_progress_format(5000, -1, 2048, buf, 4), "4.9");
}

static void test_image_usage_errors(void **state) {
        /* The flags of all subcommands parse; image_run refuses the misplaced ones. */
        assert_usage_error(ARGV("image"), "missing argument");
        assert_usage_error(ARGV("image", "list", "--bogus"), "unknown option '--bogus' for image");
        assert_usage_error(ARGV("image", "list", "--label"), "--label needs a value");
}


static void test_command_table(void **state) {
        for (size_t i = 0; i < n_commands; i++) {
                const Command *c = commands[i];

                assert_ptr_equal(command_find(c->syntax.name), c);
                assert_ptr_equal(command_from_syntax(command_syntax_find(c->syntax.name)), c);
                assert_non_null(c->syntax.usage);
                assert_non_null(c->summary);
                assert_non_null(c->run);
                assert_true(c->syntax.n_args_min <= c->syntax.n_args_max);
                assert_true(c->syntax.n_flags <= OPTIONS_COMMAND_FLAGS_MAX);
        }
        assert_null(command_find("nope"));
        assert_null(command_syntax_find(""));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_global_options_anywhere),
                cmocka_unit_test(test_socket_from_environment),
                cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_usage_errors),
                cmocka_unit_test(test_help_and_version),
                cmocka_unit_test(test_dash_dash_and_stdin),
                cmocka_unit_test(test_call_arguments),
                cmocka_unit_test(test_error_line),
                cmocka_unit_test(test_error_json),
                cmocka_unit_test(test_info_text),
                cmocka_unit_test(test_json_output),
                cmocka_unit_test(test_exit_status),
                cmocka_unit_test(test_command_table),
                cmocka_unit_test(test_repeated_flag),
                cmocka_unit_test(test_image_ref),
                cmocka_unit_test(test_image_ref_errors),
                cmocka_unit_test(test_image_label),
                cmocka_unit_test(test_image_duration),
                cmocka_unit_test(test_image_formatting),
                cmocka_unit_test(test_image_usage_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
