/* Unit tests for PodArgs: rkt-style command lines of prepare, run and run-prepared, each
 * compared with the PodSpec and RunOptions it must give (as JSON, compared as values), and
 * every usage error with its reason; then the env file reader, base64, the exit code of an
 * attached run and the status lines. Files and the environment are fakes from tables, so
 * nothing here touches the disk except the test of the real file reader. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "pod-spec-args.h"

#define A(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define NONE ((const char *const[]) { NULL })

static const struct {
        const char *path;
        const char *text;
} fake_files[] = {
        { "env1", "# a comment\nA=1\n\n; another comment\nB=two words\nEMPTY=\nEQ=a=b\n" },
        { "env2", "C=3" },
        { "env-dup", "A=1\nA=2\n" },
        { "env-bad", "A=1\nnot a variable\n" },
        { "env-noname", "=value\n" },
        { "env-empty", "" },
        { "manifest.json", "{\"acKind\": \"PodManifest\", \"acVersion\": \"0.8.11\", \"apps\": []}" },
        { "not-json", "{\"acKind\": " },
        { "array.json", "[1, 2]" },
};

static int fake_read(const char *path, char **ret, void *userdata) {
        (void) userdata;
        if (strcmp(path, "enomem") == 0)
                return -ENOMEM;
        if (strcmp(path, "huge") == 0)
                return -EFBIG;
        if (strcmp(path, "nul") == 0)
                return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(fake_files); i++)
                if (strcmp(fake_files[i].path, path) == 0) {
                        *ret = strdup(fake_files[i].text);
                        return *ret ? 0 : -ENOMEM;
                }
        return -ENOENT;
}

static char *const fake_environ[] = {
        "HOME=/root", "PATH=/usr/bin:/bin", "NOEQUALS", "=nameless", "HOME=/second", "EMPTY=",
        NULL,
};

static const PodArgsContext context = {
        .environ = fake_environ,
        .read_file = fake_read,
};

static size_t count(const char *const *args) {
        size_t n = 0;
        while (args[n])
                n++;
        return n;
}

static int parse(PodArgs *a, PodArgsMode mode, const char *const *args, char *error,
                 size_t size) {
        return pod_args_parse(a, mode, (char *const *) args, count(args), &context, error, size);
}

static void assert_json(json_object *got, const char *want, const char *what, size_t i) {
        _cleanup_json_ json_object *w = NULL;

        if (!want) {
                if (got)
                        fail_msg("case %zu: %s: want none, got %s", i, what,
                                 json_object_to_json_string(got));
                return;
        }
        w = json_tokener_parse(want);
        if (!w)
                fail_msg("case %zu: %s: the expected JSON does not parse: %s", i, what, want);
        if (!got || !json_object_equal(got, w))
                fail_msg("case %zu: %s:\n got  %s\n want %s", i, what,
                         got ? json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN) : "(none)",
                         json_object_to_json_string_ext(w, JSON_C_TO_STRING_PLAIN));
}

typedef struct Case {
        PodArgsMode mode;
        const char *const *args;
        const char *spec;       /* NULL: no spec expected */
        const char *options;    /* NULL: no options expected */
} Case;

#define BB "{\"image\": {\"name\": \"busybox\"}}"

static const Case cases[] = {
        /* images */
        { POD_ARGS_PREPARE, A("busybox"), "{\"apps\": [" BB "]}", NULL },
        { POD_ARGS_PREPARE, A("example.com/app:1.2"),
          "{\"apps\": [{\"image\": {\"name\": \"example.com/app\", \"labels\": {\"version\": \"1.2\"}}}]}", NULL },
        { POD_ARGS_PREPARE, A("sha512-ABcd01"), "{\"apps\": [{\"image\": {\"id\": \"sha512-abcd01\"}}]}", NULL },
        { POD_ARGS_PREPARE, A("a", "b", "a"),
          "{\"apps\": [{\"image\": {\"name\": \"a\"}}, {\"image\": {\"name\": \"b\"}}, {\"image\": {\"name\": \"a\"}}]}", NULL },
        /* app flags apply to the image before them, in both spellings */
        { POD_ARGS_PREPARE,
          A("a", "--name", "one", "--exec=/bin/sh", "b", "--name=two", "--user", "1000", "--group", "users"),
          "{\"apps\": [{\"image\": {\"name\": \"a\"}, \"name\": \"one\", \"exec\": \"/bin/sh\"},"
          " {\"image\": {\"name\": \"b\"}, \"name\": \"two\", \"user\": \"1000\", \"group\": \"users\"}]}", NULL },
        { POD_ARGS_PREPARE,
          A("busybox", "--working-dir", "/tmp", "--supplementary-gids", "10,20,0", "--readonly-rootfs"),
          "{\"apps\": [{\"image\": {\"name\": \"busybox\"}, \"workingDirectory\": \"/tmp\","
          " \"supplementaryGids\": [10, 20, 0], \"readOnlyRootfs\": true}]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--readonly-rootfs=false"),
          "{\"apps\": [{\"image\": {\"name\": \"busybox\"}, \"readOnlyRootfs\": false}]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--readonly-rootfs=1"),
          "{\"apps\": [{\"image\": {\"name\": \"busybox\"}, \"readOnlyRootfs\": true}]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--environment", "A=1", "--environment=B=x=y", "--environment", "C="),
          "{\"apps\": [{\"image\": {\"name\": \"busybox\"}, \"environment\": {\"A\": \"1\", \"B\": \"x=y\", \"C\": \"\"}}]}", NULL },
        /* isolators */
        { POD_ARGS_PREPARE,
          A("busybox", "--memory", "512Mi", "--cpu=500m", "--cpu-shares", "1024", "--oom-score-adj=-500"),
          "{\"apps\": [{\"image\": {\"name\": \"busybox\"}, \"memory\": \"512Mi\", \"cpu\": \"500m\","
          " \"cpuShares\": 1024, \"oomScoreAdj\": -500}]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--caps-retain", "CAP_NET_ADMIN,CAP_KILL"),
          "{\"apps\": [{\"image\": {\"name\": \"busybox\"}, \"capsRetain\": [\"CAP_NET_ADMIN\", \"CAP_KILL\"]}]}", NULL },
        /* Both capability flags reach the daemon, which owns that rule. */
        { POD_ARGS_PREPARE, A("busybox", "--caps-remove=CAP_MKNOD", "--caps-retain=CAP_KILL"),
          "{\"apps\": [{\"image\": {\"name\": \"busybox\"}, \"capsRemove\": [\"CAP_MKNOD\"], \"capsRetain\": [\"CAP_KILL\"]}]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--seccomp", "mode=retain,errno=EPERM,chmod,chown"),
          "{\"apps\": [{\"image\": {\"name\": \"busybox\"}, \"seccomp\": {\"mode\": \"retain\", \"errno\": \"EPERM\","
          " \"set\": [\"chmod\", \"chown\"]}}]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--seccomp=@rkt/default-whitelist,mode=remove"),
          "{\"apps\": [{\"image\": {\"name\": \"busybox\"}, \"seccomp\": {\"mode\": \"remove\","
          " \"set\": [\"@rkt/default-whitelist\"]}}]}", NULL },
        /* app arguments */
        { POD_ARGS_PREPARE, A("a", "--", "-c", "--exec", "x", "--", "---", "b", "--", "y"),
          "{\"apps\": [{\"image\": {\"name\": \"a\"}, \"args\": [\"-c\", \"--exec\", \"x\", \"--\"]},"
          " {\"image\": {\"name\": \"b\"}, \"args\": [\"y\"]}]}", NULL },
        { POD_ARGS_PREPARE, A("a", "--exec", "/bin/ov", "--", "--loglevel", "verbose", "---", "--exec", "/late"),
          NULL, NULL },         /* an error: --exec after '---' is the same app's second --exec */
        { POD_ARGS_PREPARE, A("a", "--", "---", "--name", "n"),
          "{\"apps\": [{\"image\": {\"name\": \"a\"}, \"args\": [], \"name\": \"n\"}]}", NULL },
        /* --mount and the annotation flags: the pod before the first image, the app after */
        { POD_ARGS_PREPARE,
          A("--mount", "volume=data,target=/data", "a", "--mount=volume=logs,target=/var/log", "b"),
          "{\"mounts\": [{\"volume\": \"data\", \"path\": \"/data\"}],"
          " \"apps\": [{\"image\": {\"name\": \"a\"}, \"mounts\": [{\"volume\": \"logs\", \"path\": \"/var/log\"}]},"
          " {\"image\": {\"name\": \"b\"}}]}", NULL },
        { POD_ARGS_PREPARE, A("a", "--mount", "target=/x,volume=v", "--mount", "volume=w,target=/y"),
          "{\"apps\": [{\"image\": {\"name\": \"a\"}, \"mounts\": [{\"volume\": \"v\", \"path\": \"/x\"},"
          " {\"volume\": \"w\", \"path\": \"/y\"}]}]}", NULL },
        { POD_ARGS_PREPARE,
          A("--annotation", "k=pod", "--user-annotation", "ua=1", "--user-label", "ul=2",
            "a", "--annotation=k=app", "--user-annotation=ua=3", "--user-label=ul=4"),
          "{\"annotations\": {\"k\": \"pod\"}, \"userAnnotations\": {\"ua\": \"1\"}, \"userLabels\": {\"ul\": \"2\"},"
          " \"apps\": [{\"image\": {\"name\": \"a\"}, \"annotations\": {\"k\": \"app\"},"
          " \"userAnnotations\": {\"ua\": \"3\"}, \"userLabels\": {\"ul\": \"4\"}}]}", NULL },
        /* pod flags stand anywhere */
        { POD_ARGS_PREPARE,
          A("--volume", "data,kind=host,source=/srv,readOnly=true,recursive=false", "busybox",
            "--volume=tmp,kind=empty,mode=0700,uid=1,gid=2"),
          "{\"volumes\": [{\"name\": \"data\", \"kind\": \"host\", \"source\": \"/srv\", \"readOnly\": true,"
          " \"recursive\": false}, {\"name\": \"tmp\", \"kind\": \"empty\", \"mode\": \"0700\", \"uid\": 1, \"gid\": 2}],"
          " \"apps\": [" BB "]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--port", "http:8080", "--port=dns:127.0.0.1:53"),
          "{\"ports\": [{\"name\": \"http\", \"hostPort\": 8080},"
          " {\"name\": \"dns\", \"hostPort\": 53, \"hostIp\": \"127.0.0.1\"}], \"apps\": [" BB "]}", NULL },
        { POD_ARGS_PREPARE, A("--set-env", "A=1", "busybox", "--set-env=B=", "--set-env-file", "env1", "--set-env-file=env2"),
          "{\"setEnv\": {\"A\": \"1\", \"B\": \"\"}, \"envFromFile\": {\"A\": \"1\", \"B\": \"two words\","
          " \"EMPTY\": \"\", \"EQ\": \"a=b\", \"C\": \"3\"}, \"apps\": [" BB "]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--set-env-file", "env-empty"),
          "{\"envFromFile\": {}, \"apps\": [" BB "]}", NULL },
        { POD_ARGS_PREPARE, A("--inherit-env", "busybox", "--inherit-env=true"),
          "{\"inheritedEnv\": {\"HOME\": \"/root\", \"PATH\": \"/usr/bin:/bin\", \"EMPTY\": \"\"},"
          " \"apps\": [" BB "]}", NULL },
        { POD_ARGS_PREPARE, A("--inherit-env=false", "busybox"), "{\"apps\": [" BB "]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--no-overlay", "--private-users"),
          "{\"overlay\": false, \"privateUsers\": {}, \"apps\": [" BB "]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--no-overlay=false", "--private-users=F"), "{\"apps\": [" BB "]}", NULL },
        { POD_ARGS_PREPARE, A("--stage1-image", "sha512-0123", "busybox"),
          "{\"stage1Image\": {\"id\": \"sha512-0123\"}, \"apps\": [" BB "]}", NULL },
        { POD_ARGS_PREPARE, A("busybox", "--stage1-image=stage0.io/stage1:0.1"),
          "{\"stage1Image\": {\"name\": \"stage0.io/stage1\", \"labels\": {\"version\": \"0.1\"}}, \"apps\": [" BB "]}", NULL },
        /* a pod manifest, with what still applies to it */
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--no-overlay", "--stage1-image", "s1"),
          "{\"manifest\": {\"acKind\": \"PodManifest\", \"acVersion\": \"0.8.11\", \"apps\": []},"
          " \"overlay\": false, \"stage1Image\": {\"name\": \"s1\"}}", NULL },
        /* --quiet and the global options */
        { POD_ARGS_PREPARE, A("--quiet", "busybox", "--json", "--socket", "unix:/x", "--timeout=5"),
          "{\"apps\": [" BB "]}", NULL },
        /* run: everything of prepare plus the runtime flags */
        { POD_ARGS_RUN, A("busybox", "--exec", "/bin/true"),
          "{\"apps\": [{\"image\": {\"name\": \"busybox\"}, \"exec\": \"/bin/true\"}]}", NULL },
        { POD_ARGS_RUN, A("--net", "default", "busybox", "--net=foo:IP=10.0.0.2;X=1,host", "--net", "bar"),
          "{\"apps\": [" BB "]}",
          "{\"net\": [{\"name\": \"default\"}, {\"name\": \"foo\", \"args\": \"IP=10.0.0.2;X=1\"},"
          " {\"name\": \"host\"}, {\"name\": \"bar\"}]}" },
        { POD_ARGS_RUN, A("busybox", "--hostname", "pod1", "--ipc=private", "--local-config", "/etc/stage0"),
          "{\"apps\": [" BB "]}", "{\"hostname\": \"pod1\", \"ipc\": \"private\", \"localConfig\": \"/etc/stage0\"}" },
        { POD_ARGS_RUN,
          A("busybox", "--dns", "8.8.8.8,::1", "--dns=1.1.1.1", "--dns-search", "a.example",
            "--dns-search=b.example", "--dns-opt", "ndots:2", "--dns-domain", "example"),
          "{\"apps\": [" BB "]}",
          "{\"dnsServers\": [\"8.8.8.8\", \"::1\", \"1.1.1.1\"], \"dnsSearch\": [\"a.example\", \"b.example\"],"
          " \"dnsOptions\": [\"ndots:2\"], \"dnsDomain\": \"example\"}" },
        { POD_ARGS_RUN, A("busybox", "--dns=host"), "{\"apps\": [" BB "]}", "{\"resolvMode\": \"host\"}" },
        { POD_ARGS_RUN, A("busybox", "--dns", "none"), "{\"apps\": [" BB "]}", "{\"resolvMode\": \"none\"}" },
        { POD_ARGS_RUN,
          A("busybox", "--hosts-entry", "10.0.0.1=db", "--hosts-entry=10.0.0.2=web,10.0.0.1=database,::1=six"),
          "{\"apps\": [" BB "]}",
          "{\"hostsEntries\": [{\"ip\": \"10.0.0.1\", \"hostnames\": [\"db\", \"database\"]},"
          " {\"ip\": \"10.0.0.2\", \"hostnames\": [\"web\"]}, {\"ip\": \"::1\", \"hostnames\": [\"six\"]}]}" },
        { POD_ARGS_RUN, A("busybox", "--hosts-entry", "host"), "{\"apps\": [" BB "]}", "{\"hostsMode\": \"host\"}" },
        { POD_ARGS_RUN, A("busybox", "--insecure-options", "paths,capabilities", "--insecure-options=paths,seccomp"),
          "{\"apps\": [" BB "]}", "{\"insecureOptions\": [\"paths\", \"capabilities\", \"seccomp\"]}" },
        { POD_ARGS_RUN, A("busybox", "--insecure-options=all-run"),
          "{\"apps\": [" BB "]}", "{\"insecureOptions\": [\"capabilities\", \"paths\", \"seccomp\"]}" },
        { POD_ARGS_RUN, A("busybox", "--interactive", "--mds-register=true", "--debug"),
          "{\"apps\": [" BB "]}", "{\"interactive\": true, \"mdsRegister\": true, \"debug\": true}" },
        { POD_ARGS_RUN, A("busybox", "--interactive=false", "--debug=0", "--detach"), "{\"apps\": [" BB "]}", NULL },
        /* run-prepared: a UUID and the runtime flags */
        { POD_ARGS_RUN_PREPARED, A("0123abcd"), NULL, NULL },
        { POD_ARGS_RUN_PREPARED, A("--net=none", "0123abcd", "--hostname", "h", "--detach"),
          NULL, "{\"net\": [{\"name\": \"none\"}], \"hostname\": \"h\"}" },
};

static void test_cases(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                PodArgs a = {};
                char error[512] = "";
                int r = parse(&a, cases[i].mode, cases[i].args, error, sizeof(error));

                if (!cases[i].spec && cases[i].mode != POD_ARGS_RUN_PREPARED) {
                        /* A case that documents a refusal; its message is checked below. */
                        assert_int_equal(r, -EINVAL);
                        continue;
                }
                if (r < 0)
                        fail_msg("case %zu: %s", i, error);
                assert_int_equal(a.mode, cases[i].mode);
                assert_json(a.spec, cases[i].spec, "spec", i);
                assert_json(a.options, cases[i].options, "options", i);
                pod_args_done(&a);
        }
}

static void test_self_flags(void **state) {
        PodArgs a = {};
        char error[256] = "";

        (void) state;
        assert_int_equal(parse(&a, POD_ARGS_PREPARE,
                               A("--quiet", "busybox", "--json", "--socket", "unix:/x", "--timeout=5"),
                               error, sizeof(error)), 0);
        assert_true(a.quiet);
        assert_false(a.detach);
        assert_true(a.json);
        assert_string_equal(a.socket, "unix:/x");
        assert_true(a.timeout_set);
        assert_int_equal(a.timeout_usec, 5000000);
        assert_null(a.uuid);
        pod_args_done(&a);

        assert_int_equal(parse(&a, POD_ARGS_RUN, A("busybox", "--detach", "--timeout", "infinity"),
                               error, sizeof(error)), 0);
        assert_true(a.detach);
        assert_false(a.json);
        assert_null(a.socket);
        assert_int_equal(a.timeout_usec, UINT64_MAX);
        pod_args_done(&a);

        assert_int_equal(parse(&a, POD_ARGS_RUN_PREPARED, A("--detach=false", "abc"), error,
                               sizeof(error)), 0);
        assert_false(a.detach);
        assert_string_equal(a.uuid, "abc");
        assert_null(a.spec);
        assert_null(a.options);
        pod_args_done(&a);
}

/* --help and --version end the parse at once and succeed, whatever follows. */
static void test_help_and_version(void **state) {
        PodArgs a = {};
        char error[256] = "";

        (void) state;
        assert_int_equal(parse(&a, POD_ARGS_PREPARE, A("--help", "--no-such-flag"), error, sizeof(error)), 0);
        assert_true(a.help);
        assert_null(a.spec);
        pod_args_done(&a);
        assert_int_equal(parse(&a, POD_ARGS_RUN_PREPARED, A("-h"), error, sizeof(error)), 0);
        assert_true(a.help);
        pod_args_done(&a);
        assert_int_equal(parse(&a, POD_ARGS_RUN, A("busybox", "--version"), error, sizeof(error)), 0);
        assert_true(a.version);
        pod_args_done(&a);
        /* Inside app arguments they are the app's. */
        assert_int_equal(parse(&a, POD_ARGS_RUN, A("busybox", "--", "--help"), error, sizeof(error)), 0);
        assert_false(a.help);
        pod_args_done(&a);
}

typedef struct ErrorCase {
        PodArgsMode mode;
        const char *const *args;
        const char *want;       /* the reason must contain this */
} ErrorCase;

static const ErrorCase error_cases[] = {
        /* what is missing */
        { POD_ARGS_PREPARE, NONE, "missing IMAGE (or --pod-manifest FILE)" },
        { POD_ARGS_RUN, A("--net", "host"), "missing IMAGE (or --pod-manifest FILE)" },
        { POD_ARGS_RUN_PREPARED, NONE, "missing UUID" },
        { POD_ARGS_RUN_PREPARED, A("a", "b"), "run-prepared takes one UUID; 'b' is one too many" },
        { POD_ARGS_RUN_PREPARED, A(""), "the UUID is empty" },
        /* unknown and misplaced flags */
        { POD_ARGS_PREPARE, A("busybox", "--nope"), "unknown option '--nope' for prepare" },
        { POD_ARGS_PREPARE, A("busybox", "--nope=1"), "unknown option '--nope' for prepare" },
        { POD_ARGS_PREPARE, A("busybox", "-x"), "unknown option '-x' for prepare" },
        { POD_ARGS_PREPARE, A("busybox", "--net", "host"), "unknown option '--net' for prepare" },
        { POD_ARGS_PREPARE, A("busybox", "--detach"), "unknown option '--detach' for prepare" },
        { POD_ARGS_RUN, A("busybox", "--quiet"), "unknown option '--quiet' for run" },
        { POD_ARGS_RUN_PREPARED, A("u", "--exec", "/x"), "unknown option '--exec' for run-prepared" },
        { POD_ARGS_RUN_PREPARED, A("u", "--volume", "v,kind=empty"), "unknown option '--volume' for run-prepared" },
        { POD_ARGS_RUN_PREPARED, A("u", "--", "x"), "run-prepared takes no app arguments ('--')" },
        { POD_ARGS_PREPARE, A("--exec", "/bin/sh", "busybox"), "--exec must follow an image" },
        { POD_ARGS_PREPARE, A("--name=x", "busybox"), "--name must follow an image" },
        { POD_ARGS_PREPARE, A("--environment", "A=1"), "--environment must follow an image" },
        { POD_ARGS_PREPARE, A("--seccomp", "mode=retain,x"), "--seccomp must follow an image" },
        { POD_ARGS_PREPARE, A("--readonly-rootfs", "busybox"), "--readonly-rootfs must follow an image" },
        /* values */
        { POD_ARGS_PREPARE, A("busybox", "--exec"), "--exec needs a value" },
        { POD_ARGS_PREPARE, A("busybox", "--exec="), "--exec needs a non-empty value" },
        { POD_ARGS_PREPARE, A("busybox", "--readonly-rootfs=yes"), "--readonly-rootfs takes true or false, not 'yes'" },
        { POD_ARGS_PREPARE, A("busybox", "--json=true"), "--json takes no value" },
        { POD_ARGS_PREPARE, A("busybox", "--socket="), "--socket needs a non-empty address" },
        { POD_ARGS_PREPARE, A("busybox", "--timeout", "0"), "--timeout needs a positive number of seconds" },
        { POD_ARGS_PREPARE, A("busybox", "--timeout", "soon"), "not 'soon'" },
        /* given twice */
        { POD_ARGS_PREPARE, A("busybox", "--exec", "/a", "--exec", "/b"), "--exec is given twice for image 'busybox'" },
        { POD_ARGS_PREPARE, A("a", "--exec", "/ov", "--", "x", "---", "--exec", "/late"), "--exec is given twice for image 'a'" },
        { POD_ARGS_PREPARE, A("busybox", "--name", "a", "--name=b"), "--name is given twice for image 'busybox'" },
        { POD_ARGS_PREPARE, A("busybox", "--memory", "1G", "--memory", "2G"), "--memory is given twice" },
        { POD_ARGS_PREPARE, A("busybox", "--caps-retain", "A", "--caps-retain", "B"), "--caps-retain is given twice" },
        { POD_ARGS_PREPARE, A("busybox", "--readonly-rootfs", "--readonly-rootfs"), "--readonly-rootfs is given twice" },
        { POD_ARGS_PREPARE, A("busybox", "--seccomp", "mode=retain,a", "--seccomp", "mode=retain,b"), "--seccomp is given twice" },
        { POD_ARGS_PREPARE, A("--stage1-image", "a", "busybox", "--stage1-image", "b"), "--stage1-image is given twice" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--pod-manifest=manifest.json"), "--pod-manifest is given twice" },
        { POD_ARGS_RUN, A("busybox", "--hostname", "a", "--hostname", "b"), "--hostname is given twice" },
        { POD_ARGS_RUN, A("busybox", "--ipc", "auto", "--ipc", "auto"), "--ipc is given twice" },
        { POD_ARGS_RUN, A("busybox", "--dns-domain", "a", "--dns-domain=b"), "--dns-domain is given twice" },
        { POD_ARGS_PREPARE, A("busybox", "--environment", "A=1", "--environment", "A=2"),
          "--environment sets 'A' twice for image 'busybox'" },
        { POD_ARGS_PREPARE, A("--set-env", "A=1", "busybox", "--set-env", "A=1"), "--set-env sets 'A' twice" },
        { POD_ARGS_PREPARE, A("--user-label", "a=1", "--user-label", "a=2", "b"), "--user-label sets 'a' twice" },
        /* NAME=VALUE */
        { POD_ARGS_PREPARE, A("busybox", "--environment", "A"), "--environment needs NAME=VALUE, not 'A'" },
        { POD_ARGS_PREPARE, A("busybox", "--set-env", "=1"), "--set-env needs NAME=VALUE, not '=1'" },
        { POD_ARGS_PREPARE, A("busybox", "--annotation", "x"), "--annotation needs NAME=VALUE, not 'x'" },
        { POD_ARGS_PREPARE, A("busybox", "--user-annotation", ""), "--user-annotation needs NAME=VALUE, not ''" },
        /* integers and lists */
        { POD_ARGS_PREPARE, A("busybox", "--cpu-shares", "lots"), "--cpu-shares needs an integer, not 'lots'" },
        { POD_ARGS_PREPARE, A("busybox", "--cpu-shares", "10x"), "--cpu-shares needs an integer, not '10x'" },
        { POD_ARGS_PREPARE, A("busybox", "--cpu-shares", " 10"), "--cpu-shares needs an integer, not ' 10'" },
        { POD_ARGS_PREPARE, A("busybox", "--oom-score-adj", "99999999999"), "--oom-score-adj needs an integer" },
        { POD_ARGS_PREPARE, A("busybox", "--oom-score-adj", "-"), "--oom-score-adj needs an integer, not '-'" },
        { POD_ARGS_PREPARE, A("busybox", "--supplementary-gids", "1,,2"), "--supplementary-gids has an empty item in '1,,2'" },
        { POD_ARGS_PREPARE, A("busybox", "--supplementary-gids", "-1"), "--supplementary-gids needs group IDs from 0 to 4294967294, not '-1'" },
        { POD_ARGS_PREPARE, A("busybox", "--supplementary-gids", "4294967295"), "not '4294967295'" },
        { POD_ARGS_PREPARE, A("busybox", "--caps-retain", "CAP_A,"), "--caps-retain has an empty item in 'CAP_A,'" },
        /* seccomp */
        { POD_ARGS_PREPARE, A("busybox", "--seccomp", "chmod"), "--seccomp needs mode=retain or mode=remove" },
        { POD_ARGS_PREPARE, A("busybox", "--seccomp", "mode=keep,chmod"), "--seccomp mode must be retain or remove, not 'keep'" },
        { POD_ARGS_PREPARE, A("busybox", "--seccomp", "mode=retain"), "--seccomp needs at least one syscall" },
        { POD_ARGS_PREPARE, A("busybox", "--seccomp", "mode=retain,errno=EPERM"), "--seccomp needs at least one syscall" },
        { POD_ARGS_PREPARE, A("busybox", "--seccomp", "mode=retain,mode=remove,x"), "--seccomp gives mode= twice" },
        { POD_ARGS_PREPARE, A("busybox", "--seccomp", "errno=A,errno=B,mode=retain,x"), "--seccomp gives errno= twice" },
        { POD_ARGS_PREPARE, A("busybox", "--seccomp", "mode=retain,errno=,x"), "--seccomp has an empty errno=" },
        { POD_ARGS_PREPARE, A("busybox", "--seccomp", "mode=retain,signal=KILL,x"),
          "--seccomp has an unknown parameter 'signal' (mode and errno are known)" },
        /* mounts */
        { POD_ARGS_PREPARE, A("busybox", "--mount", "volume=v"), "--mount needs volume=NAME,target=PATH, not 'volume=v'" },
        { POD_ARGS_PREPARE, A("busybox", "--mount", "target=/x"), "--mount needs volume=NAME,target=PATH" },
        { POD_ARGS_PREPARE, A("busybox", "--mount", "v,target=/x"), "--mount needs KEY=VALUE items, not 'v'" },
        { POD_ARGS_PREPARE, A("busybox", "--mount", "volume=v,target=/x,readOnly=true"), "--mount has an unknown parameter 'readOnly'" },
        { POD_ARGS_PREPARE, A("busybox", "--mount", "volume=v,volume=w,target=/x"), "--mount gives volume= twice" },
        { POD_ARGS_PREPARE, A("busybox", "--mount", "volume=,target=/x"), "--mount has an empty volume=" },
        /* volumes */
        { POD_ARGS_PREPARE, A("busybox", "--volume", "kind=host,source=/x"), "--volume needs the volume's name first" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", "v"), "--volume needs kind=host or kind=empty in 'v'" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", "v,kind=tmpfs"), "--volume kind= must be host or empty, not 'tmpfs'" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", "v,kind=host,source=/x,readOnly=maybe"),
          "--volume readOnly= needs true or false, not 'maybe'" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", "v,kind=empty,uid=-1"), "--volume uid= needs a number from 0 to" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", "v,kind=empty,gid=x"), "--volume gid= needs a number from 0 to" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", "v,kind=empty,mode=0799"), "--volume mode= needs octal permissions such as 0755, not '0799'" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", "v,kind=empty,mode=07777"), "not '07777'" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", "v,kind=host,size=1G"), "--volume has an unknown parameter 'size'" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", "v,kind=host,kind=empty"), "--volume gives kind= twice" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", "v,kind=host,source="), "--volume has an empty source=" },
        { POD_ARGS_PREPARE, A("busybox", "--volume", ",kind=host"), "--volume has an empty item in ',kind=host'" },
        /* ports */
        { POD_ARGS_PREPARE, A("busybox", "--port", "http"), "--port needs NAME:[HOSTIP:]HOSTPORT, not 'http'" },
        { POD_ARGS_PREPARE, A("busybox", "--port", ":80"), "--port has an empty port name in ':80'" },
        { POD_ARGS_PREPARE, A("busybox", "--port", "http:0"), "--port needs a host port from 1 to 65535, not '0'" },
        { POD_ARGS_PREPARE, A("busybox", "--port", "http:65536"), "not '65536'" },
        { POD_ARGS_PREPARE, A("busybox", "--port", "http:"), "--port needs a host port from 1 to 65535, not ''" },
        { POD_ARGS_PREPARE, A("busybox", "--port", "http:localhost:80"), "--port needs an IPv4 address as HOSTIP, not 'localhost'" },
        { POD_ARGS_PREPARE, A("busybox", "--port", "http:::1:80"), "--port needs an IPv4 address as HOSTIP, not ''" },
        /* files */
        { POD_ARGS_PREPARE, A("busybox", "--set-env-file", "missing"), "--set-env-file missing: No such file or directory" },
        { POD_ARGS_PREPARE, A("busybox", "--set-env-file", ""), "--set-env-file needs a file name" },
        { POD_ARGS_PREPARE, A("busybox", "--set-env-file", "huge"), "--set-env-file huge: larger than 16777216 bytes" },
        { POD_ARGS_PREPARE, A("busybox", "--set-env-file", "nul"), "--set-env-file nul: contains a NUL byte" },
        { POD_ARGS_PREPARE, A("busybox", "--set-env-file", "env-dup"), "env-dup:2: 'A' is set twice" },
        { POD_ARGS_PREPARE, A("busybox", "--set-env-file", "env-bad"), "env-bad:2: needs VAR=VALUE, not 'not a variable'" },
        { POD_ARGS_PREPARE, A("busybox", "--set-env-file", "env-noname"), "env-noname:1: needs VAR=VALUE, not '=value'" },
        { POD_ARGS_PREPARE, A("busybox", "--set-env-file", "env1", "--set-env-file", "env1"), "env1:2: 'A' is set twice" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "missing"), "--pod-manifest missing: No such file or directory" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "not-json"), "--pod-manifest not-json: invalid JSON" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "array.json"), "--pod-manifest array.json: parameters must be a JSON object, not array" },
        /* --pod-manifest replaces the apps and what generates the manifest */
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "busybox"), "--pod-manifest excludes images: the manifest names the apps" },
        { POD_ARGS_PREPARE, A("busybox", "--pod-manifest", "manifest.json"), "--pod-manifest excludes images" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--volume", "v,kind=empty"), "--pod-manifest excludes --volume: the manifest says it" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--mount", "volume=v,target=/x"), "--pod-manifest excludes --mount" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--port", "p:1"), "--pod-manifest excludes --port" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--annotation", "a=b"), "--pod-manifest excludes --annotation" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--user-annotation", "a=b"), "--pod-manifest excludes --user-annotation" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--user-label", "a=b"), "--pod-manifest excludes --user-label" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--inherit-env"), "--pod-manifest excludes --inherit-env" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--set-env-file", "env-empty"), "--pod-manifest excludes --set-env-file" },
        { POD_ARGS_PREPARE, A("--pod-manifest", "manifest.json", "--set-env", "A=1"), "--pod-manifest excludes --set-env" },
        /* image references */
        { POD_ARGS_PREPARE, A(""), "image '': the image is empty" },
        { POD_ARGS_PREPARE, A("busybox:"), "image 'busybox:': image 'busybox:' has an empty version after ':'" },
        { POD_ARGS_PREPARE, A("sha512-xyz"), "image 'sha512-xyz': image ID 'sha512-xyz' holds 'x', not a hex digit" },
        { POD_ARGS_PREPARE, A("busybox", "--stage1-image", "sha512-1"), "--stage1-image: image ID 'sha512-1' must have" },
        /* app arguments */
        { POD_ARGS_PREPARE, A("--", "x"), "app arguments ('--') must follow an image" },
        { POD_ARGS_PREPARE, A("a", "--", "x", "---", "--", "y"), "image 'a' has a second set of app arguments ('--')" },
        { POD_ARGS_PREPARE, A("a", "---"), "'---' ends app arguments, but no '--' began them" },
        /* runtime values */
        { POD_ARGS_RUN, A("busybox", "--net", ""), "--net has an empty item in ''" },
        { POD_ARGS_RUN, A("busybox", "--net", "a,,b"), "--net has an empty item in 'a,,b'" },
        { POD_ARGS_RUN, A("busybox", "--net", ":IP=1"), "--net has a network without a name in ':IP=1'" },
        { POD_ARGS_RUN, A("busybox", "--net", "foo:"), "--net has empty arguments after 'foo:'" },
        { POD_ARGS_RUN, A("busybox", "--ipc", "shared"), "--ipc must be auto, private or parent, not 'shared'" },
        { POD_ARGS_RUN, A("busybox", "--insecure-options", "image"), "--insecure-options knows capabilities, paths, seccomp and all-run, not 'image'" },
        { POD_ARGS_RUN, A("busybox", "--hostname="), "--hostname needs a non-empty value" },
        { POD_ARGS_RUN, A("busybox", "--dns-search="), "--dns-search needs a non-empty value" },
        { POD_ARGS_RUN, A("busybox", "--dns", "8.8.8.8.8"), "--dns needs IP addresses, 'host' or 'none', not '8.8.8.8.8'" },
        { POD_ARGS_RUN, A("busybox", "--dns", "8.8.8.8,"), "--dns has an empty item in '8.8.8.8,'" },
        { POD_ARGS_RUN, A("busybox", "--dns", "host", "--dns", "8.8.8.8"), "--dns=host excludes other --dns values" },
        { POD_ARGS_RUN, A("busybox", "--dns", "1.1.1.1", "--dns", "none"), "--dns=none excludes other --dns values" },
        { POD_ARGS_RUN, A("busybox", "--dns", "host", "--dns-search", "x"),
          "--dns-search, --dns-opt and --dns-domain do not go with --dns=host" },
        { POD_ARGS_RUN, A("busybox", "--dns-domain", "d", "--dns", "none"), "do not go with --dns=none" },
        { POD_ARGS_RUN, A("busybox", "--hosts-entry", "db"), "--hosts-entry needs IP=HOSTNAME or 'host', not 'db'" },
        { POD_ARGS_RUN, A("busybox", "--hosts-entry", "db=10.0.0.1"), "--hosts-entry needs an IP address before '=', not 'db'" },
        { POD_ARGS_RUN, A("busybox", "--hosts-entry", "10.0.0.1="), "--hosts-entry has an empty hostname for 10.0.0.1" },
        { POD_ARGS_RUN, A("busybox", "--hosts-entry", "10.0.0.1=a,"), "--hosts-entry has an empty item in '10.0.0.1=a,'" },
        { POD_ARGS_RUN, A("busybox", "--hosts-entry", "host", "--hosts-entry=1.2.3.4=a"),
          "--hosts-entry=host excludes other --hosts-entry values" },
        { POD_ARGS_RUN, A("busybox", "--interactive=maybe"), "--interactive takes true or false, not 'maybe'" },
};

static void test_errors(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
                PodArgs a = {};
                char error[512] = "";
                int r = parse(&a, error_cases[i].mode, error_cases[i].args, error, sizeof(error));

                if (r != -EINVAL)
                        fail_msg("error case %zu (%s...): got %d, want -EINVAL", i,
                                 error_cases[i].args[0] ?: "", r);
                if (!strstr(error, error_cases[i].want))
                        fail_msg("error case %zu: reason '%s' does not contain '%s'", i, error,
                                 error_cases[i].want);
                assert_null(a.spec);
                assert_null(a.options);
        }
}

/* Only the errno of the reader comes back when it is out of memory. */
static void test_read_enomem(void **state) {
        PodArgs a = {};
        char error[256] = "";

        (void) state;
        assert_int_equal(parse(&a, POD_ARGS_PREPARE, A("busybox", "--set-env-file", "enomem"), error,
                               sizeof(error)), -ENOMEM);
        assert_int_equal(pod_args_parse(&a, _POD_ARGS_MODE_MAX, NULL, 0, NULL, error, sizeof(error)),
                         -EINVAL);
}

/* Without a context: no environment to inherit, files read from the disk. */
static void test_real_files(void **state) {
        char path[] = "/tmp/test-pod-spec-args.XXXXXX";
        int fd = mkstemp(path);
        PodArgs a = {};
        char error[256] = "", *text = NULL;
        _cleanup_json_ json_object *want = json_tokener_parse("{\"X\": \"1\", \"Y\": \"\"}");
        json_object *env;

        (void) state;
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "X=1\nY=\n", 7), 7);
        close(fd);
        char *const args[] = { "busybox", "--set-env-file", path, "--inherit-env" };
        assert_int_equal(pod_args_parse(&a, POD_ARGS_PREPARE, args, 4, NULL, error, sizeof(error)), 0);
        assert_true(json_object_object_get_ex(a.spec, "envFromFile", &env));
        assert_true(json_object_equal(env, want));
        assert_true(json_object_object_get_ex(a.spec, "inheritedEnv", &env));
        assert_int_equal(json_object_object_length(env), 0);
        pod_args_done(&a);

        assert_int_equal(pod_args_read_file(path, &text, NULL), 0);
        assert_string_equal(text, "X=1\nY=\n");
        free(text);
        fd = open(path, O_WRONLY | O_TRUNC);
        assert_int_equal(write(fd, "A\0B", 3), 3);
        close(fd);
        assert_int_equal(pod_args_read_file(path, &text, NULL), -EBADMSG);
        assert_int_equal(truncate(path, POD_ARGS_FILE_MAX), 0);
        fd = open(path, O_WRONLY | O_TRUNC);
        close(fd);
        assert_int_equal(truncate(path, (off_t) POD_ARGS_FILE_MAX + 1), 0);
        assert_int_equal(pod_args_read_file(path, &text, NULL), -EFBIG);
        unlink(path);
        assert_int_equal(pod_args_read_file(path, &text, NULL), -ENOENT);
        assert_int_equal(pod_args_read_file("/", &text, NULL), -EISDIR);
}

static void test_env_file(void **state) {
        _cleanup_json_ json_object *env = json_object_new_object();
        _cleanup_json_ json_object *want =
                json_tokener_parse("{\"A\": \"1\", \"B\": \" spaced \", \"C\": \"\", \"D\": \"x\"}");
        char error[256] = "";

        (void) state;
        /* No trailing newline, CR kept as part of the value is not our business: only \n splits. */
        assert_int_equal(pod_args_env_file_parse("A=1\n#x\n;y\n\nB= spaced \nC=\nD=x", "f", env,
                                                 error, sizeof(error)), 0);
        assert_true(json_object_equal(env, want));
        assert_int_equal(pod_args_env_file_parse("E=1\nD=2\n", "g", env, error, sizeof(error)), -EINVAL);
        assert_string_equal(error, "g:2: 'D' is set twice");
        assert_int_equal(pod_args_env_file_parse(" # not a comment\n", "h", env, error, sizeof(error)),
                         -EINVAL);
        assert_string_equal(error, "h:1: needs VAR=VALUE, not ' # not a comment'");
}

static void test_base64(void **state) {
        static const struct {
                const char *text;
                const char *want;
                size_t size;
        } good[] = {
                { "", "", 0 },
                { "Zg==", "f", 1 },
                { "Zm8=", "fo", 2 },
                { "Zm9v", "foo", 3 },
                { "Zm9vYmFy", "foobar", 6 },
                { "aGVsbG8K", "hello\n", 6 },
                { "AP8=", "\x00\xff", 2 },
                { "+/+/", "\xfb\xff\xbf", 3 },
        };
        static const char *const bad[] = { "Z", "Zg=", "Zg", "Z===", "=Zg=", "Zg=a", "Zg==Zg==", "Zm9v!A==", "Zm 9" };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                uint8_t *out = NULL;
                size_t n = 99;

                assert_int_equal(pod_args_base64_decode(good[i].text, &out, &n), 0);
                assert_int_equal(n, good[i].size);
                assert_memory_equal(out, good[i].want, n);
                free(out);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                uint8_t *out = NULL;
                size_t n;

                if (pod_args_base64_decode(bad[i], &out, &n) != -EBADMSG)
                        fail_msg("'%s' decoded", bad[i]);
        }
}

static void test_exit_code(void **state) {
        static const struct {
                const char *pod;
                int want;
        } exits[] = {
                { "{\"apps\": []}", 0 },
                { "{\"apps\": [{\"name\": \"a\", \"exitCode\": 0}]}", 0 },
                { "{\"apps\": [{\"name\": \"a\", \"exitCode\": 3}]}", 3 },
                { "{\"apps\": [{\"name\": \"a\", \"exitCode\": 0}, {\"name\": \"b\", \"exitCode\": 7},"
                  " {\"name\": \"c\", \"exitCode\": 9}]}", 7 },
                { "{\"apps\": [{\"name\": \"a\"}, {\"name\": \"b\", \"exitCode\": 7}]}", 1 },
                { "{\"apps\": [{\"name\": \"a\", \"exitCode\": 300}]}", 255 },
                { "{\"apps\": [{\"name\": \"a\", \"exitCode\": -1}]}", 255 },
                { "{\"apps\": [{\"name\": \"a\", \"exitCode\": \"2\"}]}", 1 },
        };
        int code;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(exits); i++) {
                _cleanup_json_ json_object *pod = json_tokener_parse(exits[i].pod);

                code = -1;
                assert_int_equal(pod_args_exit_code(pod, &code), 0);
                if (code != exits[i].want)
                        fail_msg("case %zu: exit code %d, want %d", i, code, exits[i].want);
        }
        assert_int_equal(pod_args_exit_code(NULL, &code), -EBADMSG);
}

static void test_status_text(void **state) {
        _cleanup_json_ json_object *running = json_tokener_parse(
                "{\"uuid\": \"u-1\", \"state\": \"running\", \"createdUsec\": 1000000000123456,"
                " \"startedUsec\": 1000000000999999, \"pid\": 42, \"apps\": [{\"name\": \"a\", \"imageId\": \"sha512-1\"}],"
                " \"networks\": [{\"name\": \"default\", \"ipv4\": \"172.16.28.2\"},"
                " {\"name\": \"six\", \"ipv4\": \"10.1.1.1\", \"ipv6\": \"fd00::2\"}, {\"name\": \"host\"}]}");
        _cleanup_json_ json_object *exited = json_tokener_parse(
                "{\"uuid\": \"u-2\", \"state\": \"exitedGarbage\", \"apps\": [{\"name\": \"a\", \"imageId\": \"x\", \"exitCode\": 0},"
                " {\"name\": \"b\", \"imageId\": \"y\", \"exitCode\": 3}], \"networks\": []}");
        _cleanup_json_ json_object *bad = json_tokener_parse("{\"uuid\": \"u\", \"apps\": []}");
        _cleanup_free_ char *a = NULL, *b = NULL;
        char *c = NULL;
        char buf[64];

        (void) state;
        assert_int_equal(pod_args_status_text(running, &a), 0);
        assert_string_equal(a, "uuid=u-1\nstate=running\n"
                               "created=2001-09-09T01:46:40.123Z\nstarted=2001-09-09T01:46:40.999Z\n"
                               "pid=42\nexited=false\n"
                               "networks=default:ip4=172.16.28.2,six:ip4=10.1.1.1,six:ip6=fd00::2,host\n");
        assert_int_equal(pod_args_status_text(exited, &b), 0);
        assert_string_equal(b, "uuid=u-2\nstate=exitedGarbage\nexited=true\napp-a=0\napp-b=3\n");
        assert_int_equal(pod_args_status_text(bad, &c), -EBADMSG);
        assert_null(c);
        assert_string_equal(pod_args_time_format(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
        assert_string_equal(pod_args_time_format(-5, buf, sizeof(buf)), "@-5");
}

static void test_mode_table(void **state) {
        (void) state;
        for (int m = 0; m < _POD_ARGS_MODE_MAX; m++)
                assert_int_equal(pod_args_mode_from_string(pod_args_mode_to_string((PodArgsMode) m)), m);
        assert_null(pod_args_mode_to_string(_POD_ARGS_MODE_MAX));
        assert_null(pod_args_mode_to_string(_POD_ARGS_MODE_INVALID));
        assert_int_equal(pod_args_mode_from_string("start"), _POD_ARGS_MODE_INVALID);
        assert_int_equal(pod_args_mode_from_string(NULL), _POD_ARGS_MODE_INVALID);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cases),
                cmocka_unit_test(test_self_flags),
                cmocka_unit_test(test_help_and_version),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_read_enomem),
                cmocka_unit_test(test_real_files),
                cmocka_unit_test(test_env_file),
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_exit_code),
                cmocka_unit_test(test_status_text),
                cmocka_unit_test(test_mode_table),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
