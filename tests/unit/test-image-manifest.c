/* ImageManifest and the appc checks: a table of good and bad manifests (each bad one with the
 * JSON path and a piece of the reason it must be refused with), the parsed fields of a good
 * one, the parser's limits, and the value predicates one by one. Manifests are written with
 * ' for " to keep the table readable. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "appc.h"
#include "cleanup.h"
#include "image-manifest.h"

#define HEAD "'acKind':'ImageManifest','acVersion':'0.8.11','name':'example.com/app'"
#define OSARCH "{'name':'os','value':'linux'},{'name':'arch','value':'amd64'}"
#define LABELS "'labels':[" OSARCH "]"
#define M(...) "{" HEAD "," LABELS __VA_ARGS__ "}"
#define APP_BASE "'exec':['/bin/sh','-c','true'],'user':'0','group':'0'"
#define APP(...) M(",'app':{" APP_BASE __VA_ARGS__ "}")
#define ISO(name, value) APP(",'isolators':[{'name':'" name "','value':" value "}]")
#define ISO2(n1, v1, n2, v2) \
        APP(",'isolators':[{'name':'" n1 "','value':" v1 "},{'name':'" n2 "','value':" v2 "}]")

typedef struct Case {
        const char *json;
        const char *field;      /* NULL: the manifest is good */
        const char *reason;     /* a substring of the reason, or NULL */
} Case;

static const Case cases[] = {
        /* good */
        { M(), NULL, NULL },
        { APP(), NULL, NULL },
        { M(",'app':null"), NULL, NULL },
        { M(",'somethingNew':{'x':[1,2]}"), NULL, NULL },
        { "{'acKind':'ImageManifest','acVersion':'0.8.11+git','name':'a',"
          "'labels':[{'name':'os','value':'freebsd'},{'name':'arch','value':'arm'}]}",
          NULL, NULL },
        { "{'acKind':'ImageManifest','acVersion':'0.1.0-alpha.1+b.01','name':'a-b.c~d/e_f',"
          "'labels':[{'name':'arch','value':'x86_64'},{'name':'os','value':'darwin'},"
          "{'name':'version','value':'1.0'}]}", NULL, NULL },
        { M(",'app':{'exec':['sh'],'user':'app','group':'app'}"), NULL, NULL },
        { APP(",'workingDirectory':''"), NULL, NULL },
        { APP(",'workingDirectory':'/srv','supplementaryGIDs':[0,10,4294967294],"
              "'eventHandlers':[{'name':'pre-start','exec':['/bin/true']},"
              "{'name':'post-stop','exec':['true','x']}],"
              "'environment':[{'name':'PATH','value':'/bin'},{'name':'_a.b-c','value':''}],"
              "'mountPoints':[{'name':'data','path':'/data','readOnly':true},"
              "{'name':'logs-2','path':'/var/log'}],"
              "'ports':[{'name':'www','protocol':'tcp','port':80,'count':1,"
              "'socketActivated':true},{'name':'dns','protocol':'udp','port':65535},"
              "{'name':'all','protocol':'tcp','port':1,'count':65535}],"
              "'userAnnotations':{'a':'b'},'userLabels':{'c':'d'}"), NULL, NULL },
        { APP(",'isolators':["
              "{'name':'resource/memory','value':{'request':'512Mi','limit':'1G'}},"
              "{'name':'resource/memory','value':{'limit':1073741824,'default':false}},"
              "{'name':'resource/cpu','value':{'request':'300m','limit':'1.5'}},"
              "{'name':'resource/block-bandwidth','value':{'default':true,'limit':'1e6'}},"
              "{'name':'resource/block-iops','value':{'default':true,'limit':'1k'}},"
              "{'name':'resource/network-bandwidth','value':{'default':true,'limit':'10M'}},"
              "{'name':'os/linux/capabilities-retain-set','value':{'set':['CAP_CHOWN']}},"
              "{'name':'os/linux/capabilities-retain-set','value':{'set':['CAP_KILL','CAP_BPF']}},"
              "{'name':'os/linux/seccomp-remove-set','value':{'set':['@appc.io/empty','ptrace',"
              "'@rkt/default-blacklist'],'errno':'EPERM'}},"
              "{'name':'os/linux/no-new-privileges','value':true},"
              "{'name':'os/linux/no-new-privileges','value':false},"
              "{'name':'os/linux/oom-score-adj','value':-1000},"
              "{'name':'os/linux/cpu-shares','value':262144},"
              "{'name':'os/linux/selinux-context','value':{'user':'system_u','role':'system_r',"
              "'type':'svirt_lxc_net_t','level':'s0:c1,c2'}},"
              "{'name':'os/linux/apparmor-profile','value':{'profile':'docker-default'}},"
              "{'name':'os/unix/sysctl','value':{'net.ipv4.ip_forward':'1'}},"
              "{'name':'example.com/unknown','value':[1,'x',null]},"
              "{'name':'example.com/unknown'}]"), NULL, NULL },
        { ISO("os/linux/seccomp-retain-set", "{'set':['@appc.io/all']}"), NULL, NULL },
        { ISO("os/linux/capabilities-remove-set", "{'set':['CAP_NET_RAW']}"), NULL, NULL },
        { M(",'annotations':[{'name':'created','value':'2024-02-29T23:59:59.123456Z'},"
            "{'name':'homepage','value':'https://example.com/x?y#z'},"
            "{'name':'documentation','value':'HTTP://example.com'},"
            "{'name':'appc.io/executor/supports-systemd-notify','value':'true'},"
            "{'name':'authors','value':'a@example.com'}]"), NULL, NULL },
        { M(",'annotations':[{'name':'created','value':'2000-01-01T00:00:00+05:30'}]"),
          NULL, NULL },
        { M(",'dependencies':[{'imageName':'example.com/base'},"
            "{'imageName':'example.com/other','imageID':'sha512-0123abcd',"
            "'labels':[{'name':'version','value':'1'}],'size':12345}]"), NULL, NULL },
        { M(",'pathWhitelist':['/bin/sh','//etc/./passwd/','/a/../b','/']"), NULL, NULL },
        { M(",'pathWhitelist':[],'dependencies':[],'annotations':[]"), NULL, NULL },

        /* the document */
        { "[]", "", "not a JSON object" },
        { "'x'", "", "not a JSON object" },
        { "", "", "empty" },
        { "  \n", "", "empty" },
        { M() " x", "", "after the JSON value" },
        { M() M(), "", "after the JSON value" },
        { "{'acKind':'ImageManifest',}", "", "not valid JSON" },
        { "{'acKind':'ImageManifest'", "", "ends too early" },
        { "{'acKind':'Image\xff'}", "", "not valid JSON" },
        { "{/* c */}", "", "not valid JSON" },

        /* header */
        { "{'acVersion':'0.8.11','name':'a'," LABELS "}", "acKind", "required" },
        { "{'acKind':'PodManifest','acVersion':'0.8.11','name':'a'," LABELS "}", "acKind",
          "ImageManifest" },
        { "{'acKind':1,'acVersion':'0.8.11','name':'a'," LABELS "}", "acKind",
          "must be a string" },
        { "{'acKind':'ImageManifest','name':'a'," LABELS "}", "acVersion", "required" },
        { "{'acKind':'ImageManifest','acVersion':'1.0.0','name':'a'," LABELS "}", "acVersion",
          NULL },
        { "{'acKind':'ImageManifest','acVersion':'0.8','name':'a'," LABELS "}", "acVersion",
          NULL },
        { "{'acKind':'ImageManifest','acVersion':'0.08.1','name':'a'," LABELS "}", "acVersion",
          NULL },
        { "{'acKind':'ImageManifest','acVersion':'v0.8.1','name':'a'," LABELS "}", "acVersion",
          NULL },
        { "{'acKind':'ImageManifest','acVersion':'0.8.11','name':null," LABELS "}", "name",
          "required" },
        { "{'acKind':'ImageManifest','acVersion':'0.8.11','name':'Example.com'," LABELS "}",
          "name", "ACIdentifier" },
        { "{'acKind':'ImageManifest','acVersion':'0.8.11','name':'a/'," LABELS "}", "name",
          NULL },
        { "{'acKind':'ImageManifest','acVersion':'0.8.11','name':'a//b'," LABELS "}", "name",
          NULL },

        /* labels */
        { "{" HEAD ",'labels':{}}", "labels", "must be an array" },
        { "{" HEAD "}", "labels", "\"os\" label is required" },
        { "{" HEAD ",'labels':[{'name':'os','value':'linux'}]}", "labels",
          "\"arch\" label is required" },
        { "{" HEAD ",'labels':[" OSARCH ",{'name':'Version','value':'1'}]}", "labels[2].name",
          "ACIdentifier" },
        { "{" HEAD ",'labels':[" OSARCH ",{'name':'os','value':'linux'}]}", "labels[2].name",
          "duplicate" },
        { "{" HEAD ",'labels':[" OSARCH ",{'name':'name','value':'x'}]}", "labels[2].name",
          "not allowed" },
        { "{" HEAD ",'labels':[" OSARCH ",{'name':'version'}]}", "labels[2].value",
          "required" },
        { "{" HEAD ",'labels':[" OSARCH ",{'name':'version','value':1}]}", "labels[2].value",
          "must be a string" },
        { "{" HEAD ",'labels':[" OSARCH ",'version']}", "labels[2]", "must be an object" },
        { "{" HEAD ",'labels':[{'name':'os','value':'plan9'},{'name':'arch','value':'amd64'}]}",
          "labels[0].value", "unknown os" },
        { "{" HEAD ",'labels':[{'name':'os','value':'linux'},{'name':'arch','value':'x86_64'}]}",
          "labels[1].value", "not valid for os" },
        { "{" HEAD ",'labels':[{'name':'os','value':'linux'},{'name':'arch','value':'a\\u0000'}]}",
          "labels[1].value", "NUL" },

        /* app */
        { M(",'app':[]"), "app", "must be an object" },
        { M(",'app':{'user':'0','group':'0'}"), "app.exec", "required" },
        { M(",'app':{'exec':[],'user':'0','group':'0'}"), "app.exec", "must not be empty" },
        { M(",'app':{'exec':'/bin/sh','user':'0','group':'0'}"), "app.exec",
          "must be an array" },
        { M(",'app':{'exec':['bin/sh'],'user':'0','group':'0'}"), "app.exec[0]",
          "absolute path" },
        { M(",'app':{'exec':[''],'user':'0','group':'0'}"), "app.exec[0]", NULL },
        { M(",'app':{'exec':['/bin/sh',1],'user':'0','group':'0'}"), "app.exec[1]",
          "must be a string, not an integer" },
        { M(",'app':{'exec':['/bin/sh'],'group':'0'}"), "app.user", "required" },
        { M(",'app':{'exec':['/bin/sh'],'user':0,'group':'0'}"), "app.user",
          "must be a string" },
        { M(",'app':{'exec':['/bin/sh'],'user':'0','group':''}"), "app.group", "empty" },
        { APP(",'supplementaryGIDs':[-1]"), "app.supplementaryGIDs[0]", "out of range" },
        { APP(",'supplementaryGIDs':[1,'2']"), "app.supplementaryGIDs[1]", "an integer" },
        { APP(",'eventHandlers':[{'name':'pre-stop','exec':['/x']}]"),
          "app.eventHandlers[0].name", "pre-start" },
        { APP(",'eventHandlers':[{'name':'pre-start','exec':['/x']},"
              "{'name':'pre-start','exec':['/y']}]"), "app.eventHandlers[1].name",
          "only one" },
        { APP(",'eventHandlers':[{'name':'post-stop'}]"), "app.eventHandlers[0].exec",
          "required" },
        { APP(",'eventHandlers':[{'name':'post-stop','exec':[]}]"),
          "app.eventHandlers[0].exec", "empty" },
        { APP(",'workingDirectory':'srv'"), "app.workingDirectory", "absolute" },
        { APP(",'workingDirectory':7"), "app.workingDirectory", "must be a string" },
        { APP(",'environment':[{'name':'1X','value':''}]"), "app.environment[0].name",
          "environment variable name" },
        { APP(",'environment':[{'name':'A=B','value':''}]"), "app.environment[0].name", NULL },
        { APP(",'environment':[{'name':'A','value':''},{'name':'A','value':'x'}]"),
          "app.environment[1].name", "duplicate" },
        { APP(",'environment':[{'name':'A'}]"), "app.environment[0].value", "required" },
        { APP(",'environment':{'A':'B'}"), "app.environment", "must be an array" },
        { APP(",'mountPoints':[{'name':'Data','path':'/d'}]"), "app.mountPoints[0].name",
          "ACName" },
        { APP(",'mountPoints':[{'name':'a.b','path':'/d'}]"), "app.mountPoints[0].name",
          "ACName" },
        { APP(",'mountPoints':[{'name':'d','path':'/d'},{'name':'d','path':'/e'}]"),
          "app.mountPoints[1].name", "duplicate" },
        { APP(",'mountPoints':[{'name':'d','path':'d'}]"), "app.mountPoints[0].path",
          "absolute" },
        { APP(",'mountPoints':[{'name':'d'}]"), "app.mountPoints[0].path", "required" },
        { APP(",'mountPoints':[{'name':'d','path':'/d','readOnly':'yes'}]"),
          "app.mountPoints[0].readOnly", "boolean" },
        { APP(",'ports':[{'name':'www','protocol':'tcp','port':0}]"), "app.ports[0].port",
          "out of range" },
        { APP(",'ports':[{'name':'a','protocol':'tcp','port':80},"
              "{'name':'www','protocol':'tcp','port':65536}]"), "app.ports[1].port",
          "out of range" },
        { APP(",'ports':[{'name':'www','protocol':'tcp','port':'80'}]"), "app.ports[0].port",
          "an integer" },
        { APP(",'ports':[{'name':'www','protocol':'tcp'}]"), "app.ports[0].port", "required" },
        { APP(",'ports':[{'name':'www','protocol':'tcp','port':80,'count':0}]"),
          "app.ports[0].count", "out of range" },
        { APP(",'ports':[{'name':'www','protocol':'tcp','port':65000,'count':537}]"),
          "app.ports[0].count", "exceeds 65536" },
        { APP(",'ports':[{'name':'www','protocol':'sctp','port':80}]"),
          "app.ports[0].protocol", "tcp" },
        { APP(",'ports':[{'name':'www','port':80}]"), "app.ports[0].protocol", "required" },
        { APP(",'ports':[{'name':'w_w','protocol':'tcp','port':80}]"), "app.ports[0].name",
          "ACName" },
        { APP(",'ports':[{'name':'w','protocol':'tcp','port':80},"
              "{'name':'w','protocol':'udp','port':80}]"), "app.ports[1].name", "duplicate" },
        { APP(",'ports':[{'name':'w','protocol':'tcp','port':80,'socketActivated':1}]"),
          "app.ports[0].socketActivated", "boolean" },
        { APP(",'userLabels':{'a':1}"), "app.userLabels.a", "must be a string" },
        { APP(",'userAnnotations':[]"), "app.userAnnotations", "must be an object" },

        /* isolators */
        { APP(",'isolators':{}"), "app.isolators", "must be an array" },
        { APP(",'isolators':[{'name':'Resource/memory','value':{}}]"),
          "app.isolators[0].name", "ACIdentifier" },
        { APP(",'isolators':[{'name':'resource/memory'}]"), "app.isolators[0].value",
          "required" },
        { ISO("resource/memory", "{'default':true,'limit':'1G'}"),
          "app.isolators[0].value.default", "must be false" },
        { ISO("resource/memory", "{'limit':'1X'}"), "app.isolators[0].value.limit",
          "quantity" },
        { ISO("resource/memory", "{'limit':'-1G'}"), "app.isolators[0].value.limit",
          "negative" },
        { ISO("resource/memory", "'1G'"), "app.isolators[0].value", "must be an object" },
        { ISO("resource/cpu", "{'limit':1.5}"), "app.isolators[0].value.limit",
          "quantity string or an integer" },
        { ISO("resource/cpu", "{'request':'1.'}"), NULL, NULL },
        { ISO("resource/cpu", "{'request':'.'}"), "app.isolators[0].value.request",
          "quantity" },
        { ISO("resource/block-bandwidth", "{'default':false,'limit':'1M'}"),
          "app.isolators[0].value.default", "must be true" },
        { ISO("resource/block-iops", "{'limit':'1M'}"), "app.isolators[0].value.default",
          "required" },
        { ISO("resource/block-iops", "{'default':true,'request':'1','limit':'1M'}"),
          "app.isolators[0].value.request", "must not be set" },
        { ISO("resource/network-bandwidth", "{'default':true}"),
          "app.isolators[0].value.limit", "required" },
        { ISO("os/linux/capabilities-retain-set", "{'set':[]}"),
          "app.isolators[0].value.set", "must not be empty" },
        { ISO("os/linux/capabilities-retain-set", "{}"), "app.isolators[0].value.set",
          "required" },
        { ISO("os/linux/capabilities-retain-set", "{'set':['CAP_CHOWN','CAP_FLY']}"),
          "app.isolators[0].value.set[1]", "capability" },
        { ISO("os/linux/capabilities-remove-set", "{'set':['chown']}"),
          "app.isolators[0].value.set[0]", "capability" },
        { ISO2("os/linux/capabilities-retain-set", "{'set':['CAP_CHOWN']}",
               "os/linux/capabilities-remove-set", "{'set':['CAP_KILL']}"),
          "app.isolators[1]", "conflicts" },
        { ISO("os/linux/seccomp-retain-set", "{'set':['read'],'errno':'eperm'}"),
          "app.isolators[0].value.errno", "errno" },
        { ISO("os/linux/seccomp-retain-set", "{'set':['read'],'errno':'E'}"),
          "app.isolators[0].value.errno", "errno" },
        { ISO("os/linux/seccomp-retain-set", "{'set':['Open']}"),
          "app.isolators[0].value.set[0]", "syscall" },
        { ISO("os/linux/seccomp-remove-set", "{'set':['@']}"),
          "app.isolators[0].value.set[0]", "syscall" },
        { ISO2("os/linux/seccomp-retain-set", "{'set':['read']}",
               "os/linux/seccomp-remove-set", "{'set':['write']}"),
          "app.isolators[1]", "conflicts" },
        { ISO2("os/linux/seccomp-retain-set", "{'set':['read']}",
               "os/linux/seccomp-retain-set", "{'set':['write']}"),
          "app.isolators[1]", "only once" },
        { ISO("os/linux/no-new-privileges", "'true'"), "app.isolators[0].value",
          "boolean" },
        { ISO("os/linux/oom-score-adj", "1001"), "app.isolators[0].value", "out of range" },
        { ISO2("os/linux/oom-score-adj", "1", "os/linux/oom-score-adj", "2"),
          "app.isolators[1]", "only once" },
        { ISO("os/linux/cpu-shares", "1"), "app.isolators[0].value", "out of range" },
        { ISO("os/linux/cpu-shares", "262145"), "app.isolators[0].value", "out of range" },
        { ISO("os/linux/selinux-context",
              "{'user':'u:x','role':'r','type':'t','level':'s0'}"),
          "app.isolators[0].value.user", "':'" },
        { ISO("os/linux/selinux-context", "{'user':'u','role':'r','type':'t'}"),
          "app.isolators[0].value.level", "required" },
        { ISO("os/linux/selinux-context", "{'user':'u','role':'','type':'t','level':'s0'}"),
          "app.isolators[0].value.role", "empty" },
        { ISO("os/linux/apparmor-profile", "{'profile':''}"),
          "app.isolators[0].value.profile", "empty" },
        { ISO("os/unix/sysctl", "{'net.ipv4.ip_forward':1}"),
          "app.isolators[0].value.net.ipv4.ip_forward", "must be a string" },
        { ISO("os/unix/sysctl", "{'../x':'1'}"), "app.isolators[0].value.../x", "sysctl" },

        /* annotations */
        { M(",'annotations':{}"), "annotations", "must be an array" },
        { M(",'annotations':[{'name':'A','value':'x'}]"), "annotations[0].name",
          "ACIdentifier" },
        { M(",'annotations':[{'name':'a','value':'x'},{'name':'a','value':'y'}]"),
          "annotations[1].name", "duplicate" },
        { M(",'annotations':[{'name':'created','value':'2024-13-01T00:00:00Z'}]"),
          "annotations[0].value", "RFC 3339" },
        { M(",'annotations':[{'name':'created','value':'2023-02-29T00:00:00Z'}]"),
          "annotations[0].value", "RFC 3339" },
        { M(",'annotations':[{'name':'created','value':'2024-01-01 00:00:00Z'}]"),
          "annotations[0].value", "RFC 3339" },
        { M(",'annotations':[{'name':'created','value':'2024-01-01T00:00:00'}]"),
          "annotations[0].value", "RFC 3339" },
        { M(",'annotations':[{'name':'homepage','value':'ftp://example.com'}]"),
          "annotations[0].value", "URL" },
        { M(",'annotations':[{'name':'documentation','value':'https://'}]"),
          "annotations[0].value", "URL" },
        { M(",'annotations':[{'name':'homepage','value':'http://a b'}]"),
          "annotations[0].value", "URL" },

        /* dependencies */
        { M(",'dependencies':{}"), "dependencies", "must be an array" },
        { M(",'dependencies':['example.com/base']"), "dependencies[0]", "must be an object" },
        { M(",'dependencies':[{'imageID':'sha512-00'}]"), "dependencies[0].imageName",
          "required" },
        { M(",'dependencies':[{'imageName':'a'},{'imageName':'B'}]"),
          "dependencies[1].imageName", "ACIdentifier" },
        { M(",'dependencies':[{'imageName':'a','imageID':'sha256-00'}]"),
          "dependencies[0].imageID", "image ID" },
        { M(",'dependencies':[{'imageName':'a','imageID':'sha512-ABCD'}]"),
          "dependencies[0].imageID", "image ID" },
        { M(",'dependencies':[{'imageName':'a','imageID':'sha512-'}]"),
          "dependencies[0].imageID", "image ID" },
        { M(",'dependencies':[{'imageName':'a','labels':[{'name':'v','value':'1'},"
            "{'name':'v','value':'2'}]}]"), "dependencies[0].labels[1].name", "duplicate" },
        { M(",'dependencies':[{'imageName':'a','labels':[{'name':'os','value':'beos'}]}]"),
          "dependencies[0].labels[0].value", "unknown os" },
        { M(",'dependencies':[{'imageName':'a','size':-1}]"), "dependencies[0].size",
          "negative" },
        { M(",'dependencies':[{'imageName':'a','size':'1'}]"), "dependencies[0].size",
          "an integer" },

        /* pathWhitelist */
        { M(",'pathWhitelist':'/bin'"), "pathWhitelist", "must be an array" },
        { M(",'pathWhitelist':['/bin','bin/sh']"), "pathWhitelist[1]", "absolute" },
        { M(",'pathWhitelist':['']"), "pathWhitelist[0]", "absolute" },
        { M(",'pathWhitelist':[1]"), "pathWhitelist[0]", "must be a string" },
};

/* s with every ' made ", malloc'd. */
static char *unquote(const char *s) {
        char *r = strdup(s);

        assert_non_null(r);
        for (char *p = r; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return r;
}

static void test_table(void **state) {
        unsigned failures = 0, good = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *json = unquote(cases[i].json);
                ImageManifest *m = NULL;
                ErrorDetail e = {};
                int r;

                r = image_manifest_parse(&m, json, strlen(json), &e);
                if (!cases[i].field) {
                        good++;
                        if (r < 0) {
                                print_error("case %zu: refused at \"%s\": %s\n  %s\n", i,
                                            e.field, e.reason, json);
                                failures++;
                        }
                } else if (r != -EINVAL || m) {
                        print_error("case %zu: expected a refusal at \"%s\", got %d\n  %s\n", i,
                                    cases[i].field, r, json);
                        failures++;
                } else if (strcmp(e.field, cases[i].field) != 0 ||
                           (cases[i].reason && !strstr(e.reason, cases[i].reason))) {
                        print_error("case %zu: expected \"%s\" (%s), got \"%s\": %s\n  %s\n", i,
                                    cases[i].field, cases[i].reason ?: "", e.field, e.reason,
                                    json);
                        failures++;
                }
                image_manifest_free(m);
        }
        assert_true(good >= 15);
        assert_true(ELEMENTSOF(cases) - good >= 60);
        assert_int_equal(failures, 0);
}

static ImageManifest *parse_ok(const char *quoted) {
        _cleanup_free_ char *json = unquote(quoted);
        ImageManifest *m = NULL;
        ErrorDetail e = {};

        if (image_manifest_parse(&m, json, strlen(json), &e) < 0)
                fail_msg("refused at \"%s\": %s", e.field, e.reason);
        return m;
}

static void test_fields(void **state) {
        ImageManifest *m = parse_ok(
                M(",'app':{" APP_BASE "},"
                  "'dependencies':[{'imageName':'example.com/base',"
                  "'labels':[{'name':'version','value':'2'}]},"
                  "{'imageName':'x','imageID':'sha512-abc','size':18446744073709551615}],"
                  "'pathWhitelist':['//etc/./passwd/','/a/b/../../c','/..','/']"));

        assert_string_equal(m->name, "example.com/app");
        assert_int_equal(m->n_labels, 2);
        assert_string_equal(image_manifest_label(m, "os"), "linux");
        assert_string_equal(image_manifest_label(m, "arch"), "amd64");
        assert_null(image_manifest_label(m, "version"));
        assert_non_null(m->app);
        assert_string_equal(json_object_get_string(json_object_object_get(m->app, "user")),
                            "0");

        assert_int_equal(m->n_dependencies, 2);
        assert_string_equal(m->dependencies[0].image_name, "example.com/base");
        assert_null(m->dependencies[0].image_id);
        assert_int_equal(m->dependencies[0].n_labels, 1);
        assert_string_equal(m->dependencies[0].labels[0].name, "version");
        assert_string_equal(m->dependencies[0].labels[0].value, "2");
        assert_int_equal(m->dependencies[0].size, 0);
        assert_string_equal(m->dependencies[1].image_id, "sha512-abc");
        assert_true(m->dependencies[1].size == UINT64_MAX);

        assert_int_equal(m->n_path_whitelist, 4);
        assert_string_equal(m->path_whitelist[0], "/etc/passwd");
        assert_string_equal(m->path_whitelist[1], "/c");
        assert_string_equal(m->path_whitelist[2], "/");
        assert_string_equal(m->path_whitelist[3], "/");
        image_manifest_free(m);

        m = parse_ok(M());
        assert_null(m->app);
        assert_int_equal(m->n_dependencies, 0);
        assert_int_equal(m->n_path_whitelist, 0);
        assert_null(image_manifest_free(m));
        assert_null(image_manifest_free(NULL));
}

static void test_from_json(void **state) {
        _cleanup_free_ char *text = unquote(APP());
        json_object *json = json_tokener_parse(text);
        ImageManifest *m = NULL;
        ErrorDetail e = {};

        assert_non_null(json);
        assert_int_equal(image_manifest_from_json(&m, json, &e), 0);
        assert_ptr_equal(m->json, json);
        /* The manifest holds its own reference. */
        json_object_put(json);
        assert_string_equal(json_object_get_string(json_object_object_get(m->json, "name")),
                            "example.com/app");
        image_manifest_free(m);

        json = json_object_new_array();
        m = NULL;
        assert_int_equal(image_manifest_from_json(&m, json, &e), -EINVAL);
        assert_null(m);
        assert_string_equal(e.field, "");
        json_object_put(json);
}

static void test_limits(void **state) {
        _cleanup_free_ char *head = unquote(M(",'pad':'"));
        size_t n = strlen(head);
        _cleanup_free_ char *big = malloc(IMAGE_MANIFEST_SIZE_MAX + 2);
        ImageManifest *m = NULL;
        ErrorDetail e = {};

        /* Exactly at the limit is accepted, one byte more is not. */
        assert_non_null(big);
        memcpy(big, head, n);
        memset(big + n, 'x', IMAGE_MANIFEST_SIZE_MAX - n - 2);
        memcpy(big + IMAGE_MANIFEST_SIZE_MAX - 2, "\"}", 2);
        assert_int_equal(image_manifest_parse(&m, big, IMAGE_MANIFEST_SIZE_MAX, &e), 0);
        image_manifest_free(m);
        m = NULL;
        big[IMAGE_MANIFEST_SIZE_MAX] = ' ';
        assert_int_equal(image_manifest_parse(&m, big, IMAGE_MANIFEST_SIZE_MAX + 1, &e),
                         -EMSGSIZE);
        assert_null(m);
        assert_non_null(strstr(e.reason, "limit"));

        /* A NUL inside the data, even after the value. */
        memcpy(big, head, n);
        assert_int_equal(image_manifest_parse(&m, "{}\0", 3, &e), -EINVAL);
        assert_non_null(strstr(e.reason, "NUL"));

        /* Nesting deeper than json-c's limit is refused, not crashed on. */
        memset(big, '[', 100000);
        assert_int_equal(image_manifest_parse(&m, big, 100000, &e), -EINVAL);
        assert_null(m);

        /* A NULL ErrorDetail is allowed. */
        assert_int_equal(image_manifest_parse(&m, "[]", 2, NULL), -EINVAL);
}

typedef struct Predicate {
        bool (*check)(const char *s);
        const char *name;
        const char *const good[12];
        const char *const bad[16];
} Predicate;

static const Predicate predicates[] = {
        { appc_is_identifier, "identifier",
          { "a", "0", "example.com/app", "a-b.c_d~e/f", "coreos.com/rkt/stage1/run", NULL },
          { "", "A", "-a", "a-", "a--b", "a/", "/a", "a b", "a\xc3\xa9", "a.-b", NULL } },
        { appc_is_name, "name",
          { "a", "www", "a-1", "0-0-0", NULL },
          { "", "A", "a.b", "a_b", "-a", "a-", "a--b", "a/b", NULL } },
        { appc_is_semver, "semver",
          { "0.0.0", "0.8.11", "1.2.3-alpha", "1.2.3-alpha.1", "1.2.3+build.01",
            "1.2.3-0.a+b-c", "10.20.30", NULL },
          { "", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-", "1.2.3+", "1.2.3-01",
            "1.2.3-a..b", "v1.2.3", "1.2.3 ", "1.2.3-a_b", NULL } },
        { appc_is_image_id, "image id",
          { "sha512-0", "sha512-0123456789abcdef", NULL },
          { "", "sha512-", "sha512-ABC", "sha256-00", "sha512-0g", "sha512", NULL } },
        { appc_is_env_name, "env name",
          { "A", "_", "a1", "PATH", "x.y-z", NULL },
          { "", "1A", "-A", ".A", "A=B", "A B", NULL } },
        { appc_is_quantity, "quantity",
          { "1", "0", "1.5", ".5", "1.", "512Mi", "1G", "300m", "1e3", "1E-3", "+1k", "1Ei" },
          { "", "G", ".", "1X", "1 G", "1Gi ", "1e", "1e+", "1Kb", "1.2.3", "1ki", "--1",
            NULL } },
        { appc_is_rfc3339, "rfc3339",
          { "2024-01-31T12:00:00Z", "2024-02-29T00:00:00.5+01:00", "1999-12-31T23:59:59-12:00",
            "2000-02-29T00:00:00Z", NULL },
          { "", "2024-01-31", "2024-01-31T12:00:00", "2024-01-31t12:00:00Z",
            "2024-01-32T00:00:00Z", "1900-02-29T00:00:00Z", "2024-01-31T24:00:00Z",
            "2024-01-31T12:60:00Z", "2024-01-31T12:00:60Z", "2024-01-31T12:00:00.Z",
            "2024-01-31T12:00:00+1:00", "2024-01-31T12:00:00Zjunk", "24-01-31T12:00:00Z",
            NULL } },
        { appc_is_http_url, "http url",
          { "http://a", "https://example.com/x", "HTTPS://a:8080?q", NULL },
          { "", "http://", "https:///x", "ftp://a", "http:/a", "http://a b", "http://a\n",
            "example.com", NULL } },
        { appc_is_capability, "capability",
          { "CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE", "CAP_NET_BIND_SERVICE",
            NULL },
          { "", "CAP_", "CHOWN", "cap_chown", "CAP_CHOWNX", "CAP_FOO", NULL } },
        { appc_is_exec, "exec",
          { "/bin/sh", "sh", "busybox", "/", NULL },
          { "", "bin/sh", "./sh", "../bin/sh", NULL } },
};

static void test_predicates(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(predicates); i++) {
                const Predicate *p = &predicates[i];

                for (size_t j = 0; j < ELEMENTSOF(p->good) && p->good[j]; j++)
                        if (!p->check(p->good[j]))
                                fail_msg("%s: \"%s\" refused", p->name, p->good[j]);
                for (size_t j = 0; j < ELEMENTSOF(p->bad) && p->bad[j]; j++)
                        if (p->check(p->bad[j]))
                                fail_msg("%s: \"%s\" accepted", p->name, p->bad[j]);
                assert_false(p->check(NULL));
        }
}

static void test_os_arch(void **state) {
        static const char *const linux_archs[] = { "amd64", "i386", "aarch64", "aarch64_be",
                                                   "armv6l", "armv7l", "armv7b", "ppc64",
                                                   "ppc64le", "s390x" };

        for (size_t i = 0; i < ELEMENTSOF(linux_archs); i++)
                assert_true(appc_valid_os_arch("linux", linux_archs[i]));
        assert_true(appc_valid_os_arch("linux", NULL));
        assert_true(appc_valid_os_arch("freebsd", "arm"));
        assert_true(appc_valid_os_arch("freebsd", "amd64"));
        assert_true(appc_valid_os_arch("darwin", "x86_64"));
        assert_true(appc_valid_os_arch("darwin", "i386"));
        assert_false(appc_valid_os_arch("darwin", "amd64"));
        assert_false(appc_valid_os_arch("linux", "x86_64"));
        assert_false(appc_valid_os_arch("linux", "arm"));
        assert_false(appc_valid_os_arch("freebsd", "aarch64"));
        assert_false(appc_valid_os_arch("Linux", "amd64"));
        assert_false(appc_valid_os_arch("windows", NULL));
        assert_false(appc_valid_os_arch(NULL, "amd64"));
}

static void test_default_app_name(void **state) {
        static const struct {
                const char *image;
                const char *app;
        } names[] = {
                { "stage0.io/test/busybox", "busybox" },
                { "busybox", "busybox" },
                { "example.com/My_App.v2", "my-app-v2" },
                { "example.com/a--b", "a-b" },
                { "example.com/-x-", "x" },
                { "example.com/x~y", "x-y" },
                { "A B", "a-b" },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *app = appc_default_app_name(names[i].image);

                assert_non_null(app);
                assert_string_equal(app, names[i].app);
                assert_true(appc_is_name(app));
        }
        errno = 0;
        assert_null(appc_default_app_name("example.com/"));
        assert_int_equal(errno, EINVAL);
        assert_null(appc_default_app_name("example.com/..."));
        assert_null(appc_default_app_name(NULL));
}

static void test_isolator_single(void **state) {
        _cleanup_free_ char *text = unquote("{'name':'os/linux/oom-score-adj','value':'x'}");
        _cleanup_json_ json_object *iso = json_tokener_parse(text);
        ErrorDetail e = {};

        assert_int_equal(appc_isolator_validate(iso, "isolators[3]", &e), -EINVAL);
        assert_string_equal(e.field, "isolators[3].value");
        json_object_object_add(iso, "value", json_object_new_int(-5));
        assert_int_equal(appc_isolator_validate(iso, "isolators[3]", &e), 0);
}

static void test_labels_parse(void **state) {
        _cleanup_free_ char *text = unquote("[{'name':'version','value':'1.0'},"
                                            "{'name':'os','value':'linux'}]");
        _cleanup_json_ json_object *labels = json_tokener_parse(text);
        AppcLabel *l = NULL;
        size_t n = 0;
        ErrorDetail e = {};

        assert_int_equal(appc_labels_parse(labels, "image.labels", &l, &n, &e), 0);
        assert_int_equal(n, 2);
        assert_string_equal(appc_labels_get(l, n, "version"), "1.0");
        assert_string_equal(appc_labels_get(l, n, "os"), "linux");
        assert_null(appc_labels_get(l, n, "arch"));
        appc_labels_free(l, n);

        assert_int_equal(appc_labels_parse(NULL, "x", &l, &n, &e), 0);
        assert_int_equal(n, 0);
        appc_labels_free(l, n);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_from_json),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_predicates),
                cmocka_unit_test(test_os_arch),
                cmocka_unit_test(test_default_app_name),
                cmocka_unit_test(test_isolator_single),
                cmocka_unit_test(test_labels_parse),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
