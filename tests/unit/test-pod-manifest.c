/* PodSpec and PodManifest: a table of Prepare specs with the images their apps resolve to, each
 * with the part of the generated (or validated) manifest it must produce, compared as exact
 * JSON text, or the field and a piece of the reason it must be refused with. Then the image
 * references, the os/arch checks and the options. JSON is written with ' for " to keep the
 * table readable. */
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
#include "pod-manifest.h"
#include "pod-spec.h"

#define IMG_HEAD "'acKind':'ImageManifest','acVersion':'0.8.11'"
#define OSARCH "'labels':[{'name':'os','value':'linux'},{'name':'arch','value':'amd64'}]"

/* b: an app with environment, a port, isolators of most kinds and user labels. */
#define BUSYBOX_APP \
        "{'exec':['/bin/sh','-c','true'],'user':'0','group':'0'," \
        "'environment':[{'name':'PATH','value':'/bin'},{'name':'HOME','value':'/root'}]," \
        "'ports':[{'name':'http','protocol':'tcp','port':80}]," \
        "'isolators':[{'name':'os/linux/cpu-shares','value':512}," \
        "{'name':'os/linux/capabilities-retain-set','value':{'set':['CAP_NET_BIND_SERVICE']}}," \
        "{'name':'os/linux/seccomp-remove-set','value':{'set':['reboot']}}," \
        "{'name':'resource/memory','value':{'limit':'1G'}}]," \
        "'userLabels':{'z':'1','a':'2'}}"
static const char busybox_json[] =
        "{" IMG_HEAD ",'name':'example.com/busybox'," OSARCH ",'app':" BUSYBOX_APP "}";
/* n: no app section. */
static const char noapp_json[] = "{" IMG_HEAD ",'name':'example.com/data'," OSARCH "}";
/* w: a second app with an "http" port, and a name whose last part is no ACName as it is. */
static const char web_json[] =
        "{" IMG_HEAD ",'name':'example.com/tools/web_server'," OSARCH ","
        "'app':{'exec':['/web'],'user':'www','group':'www','workingDirectory':'/srv',"
        "'ports':[{'name':'http','protocol':'tcp','port':8080},"
        "{'name':'https','protocol':'tcp','port':8443}]}}";

#define ID_B "sha512-bb"
#define ID_N "sha512-cc"
#define ID_W "sha512-dd"

/* The busybox app section as written, unchanged (userLabels sorted). */
#define B_ISOLATORS \
        "{'name':'os/linux/cpu-shares','value':512}," \
        "{'name':'os/linux/capabilities-retain-set','value':{'set':['CAP_NET_BIND_SERVICE']}}," \
        "{'name':'os/linux/seccomp-remove-set','value':{'set':['reboot']}}," \
        "{'name':'resource/memory','value':{'limit':'1G'}}"
#define B_ENV "{'name':'PATH','value':'/bin'},{'name':'HOME','value':'/root'}"
#define B_PORTS "'ports':[{'name':'http','protocol':'tcp','port':80}]"
#define B_APP_WITH(exec, env, isolators) \
        "{'exec':" exec ",'user':'0','group':'0','environment':[" env "]," B_PORTS "," \
        "'isolators':[" isolators "],'userLabels':{'a':'2','z':'1'}}"
#define B_APP B_APP_WITH("['/bin/sh','-c','true']", B_ENV, B_ISOLATORS)
#define B_IMAGE "{'name':'example.com/busybox','id':'" ID_B "'," OSARCH "}"

#define APP_B "{'image':{'id':'sha512-bb'}"
#define APP_N "{'image':{'id':'sha512-cc'}"
#define APP_W "{'image':{'name':'example.com/tools/web_server'}"
#define SPEC(...) "{'apps':[" __VA_ARGS__ "]}"
#define SPEC_B(...) SPEC(APP_B __VA_ARGS__ "}")
#define MUTABLE_FALSE "{'name':'coreos.com/rkt/stage1/mutable','value':'false'}"

typedef enum Mode { GENERATE, VALIDATE } Mode;

typedef struct Case {
        const char *title;
        Mode mode;
        const char *images;     /* one letter per app: b, n or w */
        const char *spec;
        const char *select;     /* dot path of the part to compare ("apps.0.app"), or NULL */
        const char *expected;   /* JSON, or NULL when refused */
        const char *field;
        const char *reason;     /* a substring of the reason */
} Case;

#define OK(t, img, spec, sel, exp) { t, GENERATE, img, spec, sel, exp, NULL, NULL }
#define BAD(t, img, spec, field, reason) { t, GENERATE, img, spec, NULL, NULL, field, reason }
#define VOK(t, img, spec) { t, VALIDATE, img, spec, "", NULL, NULL, NULL }
#define VBAD(t, img, spec, field, reason) { t, VALIDATE, img, spec, NULL, NULL, field, reason }

#define PM_HEAD "'acVersion':'0.8.11','acKind':'PodManifest'"
#define PM(...) "{'manifest':{" PM_HEAD __VA_ARGS__ "}}"
#define PM_APP(name, id, ...) "{'name':'" name "','image':{'id':'" id "'}" __VA_ARGS__ "}"

static const Case cases[] = {
        /* --- the whole manifest, and the app section --- */
        OK("one app, nothing overridden", "b", SPEC_B(), "",
           "{" PM_HEAD ",'apps':[{'name':'busybox','image':" B_IMAGE ",'app':" B_APP "}],"
           "'volumes':[],'isolators':[],'annotations':[" MUTABLE_FALSE "],'ports':[]}"),
        OK("default app name from the last part of the image name", "w", SPEC(APP_W "}"),
           "apps.0.name", "'web-server'"),
        OK("given app name", "b", SPEC_B(",'name':'shell'"), "apps.0.name", "'shell'"),
        OK("exec replaces the image's whole exec", "b", SPEC_B(",'exec':'/bin/echo'"),
           "apps.0.app.exec", "['/bin/echo']"),
        OK("a bare exec name is looked up in PATH", "b", SPEC_B(",'exec':'echo'"),
           "apps.0.app.exec", "['echo']"),
        OK("args are appended to the image's exec", "b", SPEC_B(",'args':['x','y']"),
           "apps.0.app.exec", "['/bin/sh','-c','true','x','y']"),
        OK("args are appended to the given exec", "b",
           SPEC_B(",'exec':'/bin/echo','args':['hi']"), "apps.0.app.exec",
           "['/bin/echo','hi']"),
        OK("an empty exec means not given", "b", SPEC_B(",'exec':''"), "apps.0.app.exec",
           "['/bin/sh','-c','true']"),
        OK("no app section: a minimal one with exec, our uid and gid", "n",
           SPEC(APP_N ",'exec':'/bin/true','args':['a']}"), "apps.0.app",
           "{'exec':['/bin/true','a'],'user':'1000','group':'100'}"),
        OK("no app section: the image name still goes into the runtime image", "n",
           SPEC(APP_N ",'exec':'/bin/true'}"), "apps.0.image",
           "{'name':'example.com/data','id':'" ID_N "'," OSARCH "}"),
        OK("user and group replaced", "w", SPEC(APP_W ",'user':'1','group':'/etc/x'}"),
           "apps.0.app", "{'exec':['/web'],'user':'1','group':'/etc/x',"
           "'workingDirectory':'/srv','ports':[{'name':'http','protocol':'tcp','port':8080},"
           "{'name':'https','protocol':'tcp','port':8443}]}"),
        OK("empty user and group mean not given", "w", SPEC(APP_W ",'user':'','group':''}"),
           "apps.0.app.user", "'www'"),
        OK("supplementary gids replaced", "b", SPEC_B(",'supplementaryGids':[5,6]"),
           "apps.0.app.supplementaryGIDs", "[5,6]"),
        OK("working directory replaced", "w", SPEC(APP_W ",'workingDirectory':'/tmp'}"),
           "apps.0.app.workingDirectory", "'/tmp'"),
        OK("an empty working directory means not given", "w",
           SPEC(APP_W ",'workingDirectory':''}"), "apps.0.app.workingDirectory", "'/srv'"),
        OK("app environment overrides the image's and adds", "b",
           SPEC_B(",'environment':{'HOME':'/home','A':'1'}"), "apps.0.app.environment",
           "[{'name':'PATH','value':'/bin'},{'name':'HOME','value':'/home'},"
           "{'name':'A','value':'1'}]"),
        OK("an app environment is created when the image has none", "w",
           SPEC(APP_W ",'environment':{'A':'1'}}"), "apps.0.app.environment",
           "[{'name':'A','value':'1'}]"),
        OK("inherited environment only adds names not set", "b",
           "{'apps':[" APP_B "}],'inheritedEnv':{'PATH':'/host','TERM':'xterm'}}",
           "apps.0.app.environment", "[" B_ENV ",{'name':'TERM','value':'xterm'}]"),
        OK("inherited names apps cannot take are left out", "b",
           "{'apps':[" APP_B "}],'inheritedEnv':{'BASH_FUNC_f%%':'() {}','X':'1'}}",
           "apps.0.app.environment", "[" B_ENV ",{'name':'X','value':'1'}]"),
        OK("inherited does not override the app's environment", "b",
           "{'apps':[" APP_B ",'environment':{'A':'app'}}],'inheritedEnv':{'A':'host'}}",
           "apps.0.app.environment", "[" B_ENV ",{'name':'A','value':'app'}]"),
        OK("envFromFile overrides image, app and inherited", "b",
           "{'apps':[" APP_B ",'environment':{'A':'app'}}],'inheritedEnv':{'T':'host'},"
           "'envFromFile':{'A':'file','T':'file','PATH':'/file'}}",
           "apps.0.app.environment", "[{'name':'PATH','value':'/file'},"
           "{'name':'HOME','value':'/root'},{'name':'A','value':'file'},"
           "{'name':'T','value':'file'}]"),
        OK("setEnv wins over everything", "b",
           "{'apps':[" APP_B ",'environment':{'A':'app'}}],'inheritedEnv':{'A':'h','B':'h'},"
           "'envFromFile':{'A':'file','B':'file'},'setEnv':{'A':'set','HOME':'/set'}}",
           "apps.0.app.environment", "[{'name':'PATH','value':'/bin'},"
           "{'name':'HOME','value':'/set'},{'name':'A','value':'set'},"
           "{'name':'B','value':'file'}]"),
        OK("pod-wide environment reaches every app", "bw",
           "{'apps':[" APP_B "}," APP_W "}],'setEnv':{'S':'1'}}",
           "apps.1.app.environment", "[{'name':'S','value':'1'}]"),

        /* --- mounts --- */
        OK("app mounts first, then the pod's", "b",
           "{'apps':[" APP_B ",'mounts':[{'volume':'a','path':'/a'}]}],"
           "'volumes':[{'name':'a','kind':'empty'},{'name':'p','kind':'empty'}],"
           "'mounts':[{'volume':'p','path':'/p'}]}",
           "apps.0.mounts", "[{'volume':'a','path':'/a'},{'volume':'p','path':'/p'}]"),
        OK("same cleaned path: the app's wins, its path written as given", "b",
           "{'apps':[" APP_B ",'mounts':[{'volume':'a','path':'/data/'}]}],"
           "'volumes':[{'name':'a','kind':'empty'},{'name':'p','kind':'empty'}],"
           "'mounts':[{'volume':'p','path':'/data'}]}",
           "apps.0.mounts", "[{'volume':'a','path':'/data/'}]"),
        OK("paths are cleaned of //, . and ..", "b",
           "{'apps':[" APP_B ",'mounts':[{'volume':'a','path':'/x//a/./b/../c'},"
           "{'volume':'p','path':'/x/a/c'},{'volume':'p','path':'/../x/a/c/'}]}],"
           "'volumes':[{'name':'a','kind':'empty'},{'name':'p','kind':'empty'}]}",
           "apps.0.mounts", "[{'volume':'a','path':'/x//a/./b/../c'}]"),
        OK("pod mounts go to every app", "bw",
           "{'apps':[" APP_B "}," APP_W "}],'volumes':[{'name':'p','kind':'empty'}],"
           "'mounts':[{'volume':'p','path':'/p'}]}",
           "apps.1.mounts", "[{'volume':'p','path':'/p'}]"),

        /* --- isolators --- */
        OK("memory is appended, the image's stays", "b", SPEC_B(",'memory':'512Mi'"),
           "apps.0.app.isolators", "[" B_ISOLATORS ",{'name':'resource/memory','value':"
           "{'default':false,'request':'512Mi','limit':'512Mi'}}]"),
        OK("cpu is appended", "b", SPEC_B(",'cpu':'500m'"), "apps.0.app.isolators.4",
           "{'name':'resource/cpu','value':{'default':false,'request':'500m','limit':'500m'}}"),
        OK("cpu shares replace the image's, at the end", "b", SPEC_B(",'cpuShares':2048"),
           "apps.0.app.isolators",
           "[{'name':'os/linux/capabilities-retain-set','value':{'set':['CAP_NET_BIND_SERVICE']}},"
           "{'name':'os/linux/seccomp-remove-set','value':{'set':['reboot']}},"
           "{'name':'resource/memory','value':{'limit':'1G'}},"
           "{'name':'os/linux/cpu-shares','value':2048}]"),
        OK("oom score adj is added", "w", SPEC(APP_W ",'oomScoreAdj':-500}"),
           "apps.0.app.isolators", "[{'name':'os/linux/oom-score-adj','value':-500}]"),
        OK("caps retain replaces the capability isolators", "b",
           SPEC_B(",'capsRetain':['CAP_CHOWN','CAP_KILL']"), "apps.0.app.isolators",
           "[{'name':'os/linux/cpu-shares','value':512},"
           "{'name':'os/linux/seccomp-remove-set','value':{'set':['reboot']}},"
           "{'name':'resource/memory','value':{'limit':'1G'}},"
           "{'name':'os/linux/capabilities-retain-set','value':{'set':['CAP_CHOWN','CAP_KILL']}}]"),
        OK("caps remove replaces the retain set too", "b",
           SPEC_B(",'capsRemove':['CAP_MKNOD']"), "apps.0.app.isolators.3",
           "{'name':'os/linux/capabilities-remove-set','value':{'set':['CAP_MKNOD']}}"),
        OK("seccomp retain with errno replaces the remove set", "b",
           SPEC_B(",'seccomp':{'mode':'retain','errno':'EPERM','set':['@rkt/default-whitelist','mount']}"),
           "apps.0.app.isolators",
           "[{'name':'os/linux/cpu-shares','value':512},"
           "{'name':'os/linux/capabilities-retain-set','value':{'set':['CAP_NET_BIND_SERVICE']}},"
           "{'name':'resource/memory','value':{'limit':'1G'}},"
           "{'name':'os/linux/seccomp-retain-set','value':{'set':['@rkt/default-whitelist','mount'],"
           "'errno':'EPERM'}}]"),
        OK("seccomp remove without errno", "w",
           SPEC(APP_W ",'seccomp':{'mode':'remove','set':['reboot']}}"),
           "apps.0.app.isolators",
           "[{'name':'os/linux/seccomp-remove-set','value':{'set':['reboot']}}]"),
        OK("all overrides in rkt's order", "w",
           SPEC(APP_W ",'memory':'1G','cpu':'1','cpuShares':100,'oomScoreAdj':5,"
                "'capsRetain':['CAP_KILL'],'seccomp':{'mode':'remove','set':['reboot']}}"),
           "apps.0.app.isolators",
           "[{'name':'resource/memory','value':{'default':false,'request':'1G','limit':'1G'}},"
           "{'name':'resource/cpu','value':{'default':false,'request':'1','limit':'1'}},"
           "{'name':'os/linux/cpu-shares','value':100},"
           "{'name':'os/linux/oom-score-adj','value':5},"
           "{'name':'os/linux/capabilities-retain-set','value':{'set':['CAP_KILL']}},"
           "{'name':'os/linux/seccomp-remove-set','value':{'set':['reboot']}}]"),

        /* --- the rest of the runtime app --- */
        OK("read-only rootfs", "b", SPEC_B(",'readOnlyRootfs':true"), "apps.0.readOnlyRootFS",
           "true"),
        OK("app annotations", "b",
           SPEC_B(",'annotations':{'example.com/x':'1','b':'2'}"), "apps.0.annotations",
           "[{'name':'example.com/x','value':'1'},{'name':'b','value':'2'}]"),

        /* --- pod level --- */
        OK("pod annotations after stage0's, which they cannot override", "b",
           "{'apps':[" APP_B "}],'annotations':{'coreos.com/rkt/stage1/mutable':'true',"
           "'example.com/a':'1'}}", "annotations",
           "[" MUTABLE_FALSE ",{'name':'example.com/a','value':'1'}]"),
        OK("pod user annotations and labels, sorted", "b",
           "{'apps':[" APP_B "}],'userAnnotations':{'b':'1','a':'2'},'userLabels':{'l':'x'}}",
           "", "{" PM_HEAD ",'apps':[{'name':'busybox','image':" B_IMAGE ",'app':" B_APP "}],"
           "'volumes':[],'isolators':[],'annotations':[" MUTABLE_FALSE "],'ports':[],"
           "'userAnnotations':{'a':'2','b':'1'},'userLabels':{'l':'x'}}"),
        OK("empty volume defaults: mode 0755, uid 0, gid 0", "b",
           "{'apps':[" APP_B "}],'volumes':[{'name':'e','kind':'empty'},"
           "{'name':'f','kind':'empty','mode':'0700','uid':5,'gid':6,'readOnly':true}]}",
           "volumes", "[{'name':'e','kind':'empty','mode':'0755','uid':0,'gid':0},"
           "{'name':'f','kind':'empty','readOnly':true,'mode':'0700','uid':5,'gid':6}]"),
        OK("host volume with its options", "b",
           "{'apps':[" APP_B "}],'volumes':[{'name':'h','kind':'host','source':'/srv',"
           "'readOnly':true,'recursive':false}]}",
           "volumes", "[{'name':'h','kind':'host','source':'/srv','readOnly':true,"
           "'recursive':false}]"),
        OK("a forwarded port", "b",
           "{'apps':[" APP_B "}],'ports':[{'name':'http','hostPort':8080,'hostIp':'127.0.0.1'}]}",
           "ports", "[{'name':'http','hostPort':8080,'hostIP':'127.0.0.1'}]"),
        OK("one host port on two addresses", "w",
           "{'apps':[" APP_W "}],'ports':[{'name':'http','hostPort':80,'hostIp':'127.0.0.1'},"
           "{'name':'https','hostPort':80,'hostIp':'127.0.0.2'}]}",
           "ports.1", "{'name':'https','hostPort':80,'hostIP':'127.0.0.2'}"),
        OK("two apps in order", "bw", "{'apps':[" APP_B "}," APP_W ",'name':'w'}]}",
           "apps.1.image.id", "'" ID_W "'"),

        /* --- refused while generating --- */
        BAD("duplicate default names", "bb", SPEC(APP_B "}," APP_B "}"), "spec.apps[1].name",
            "multiple apps with name \"busybox\""),
        BAD("duplicate given names", "bw", SPEC(APP_B ",'name':'x'}," APP_W ",'name':'x'}"),
            "spec.apps[1].name", "multiple apps"),
        BAD("app name not an ACName", "b", SPEC_B(",'name':'Bad_Name'"), "spec.apps[0].name",
            "invalid app name format"),
        BAD("no app section and no exec", "n", SPEC(APP_N "}"), "spec.apps[0].exec",
            "has no app section and exec is not given"),
        BAD("relative exec with a slash", "b", SPEC_B(",'exec':'bin/sh'"), "spec.apps[0].exec",
            "absolute path"),
        BAD("relative working directory", "b", SPEC_B(",'workingDirectory':'tmp'"),
            "spec.apps[0].workingDirectory", "absolute path"),
        BAD("caps retain and remove together", "b",
            SPEC_B(",'capsRetain':['CAP_KILL'],'capsRemove':['CAP_CHOWN']"),
            "spec.apps[0].capsRemove", "cannot use both"),
        BAD("caps retain empty", "b", SPEC_B(",'capsRetain':[]"), "spec.apps[0].capsRetain",
            "empty"),
        BAD("caps retain unknown capability", "b", SPEC_B(",'capsRetain':['NET_ADMIN']"),
            "spec.apps[0].capsRetain", "capability"),
        BAD("seccomp bad mode", "b", SPEC_B(",'seccomp':{'mode':'keep','set':['reboot']}"),
            "spec.apps[0].seccomp.mode", "invalid seccomp mode"),
        BAD("seccomp empty set", "b", SPEC_B(",'seccomp':{'mode':'retain','set':[]}"),
            "spec.apps[0].seccomp", "empty"),
        BAD("seccomp bad errno", "b",
            SPEC_B(",'seccomp':{'mode':'retain','errno':'eperm','set':['reboot']}"),
            "spec.apps[0].seccomp", "errno"),
        BAD("memory not a quantity", "b", SPEC_B(",'memory':'lots'"), "spec.apps[0].memory",
            "quantity"),
        BAD("cpu negative", "b", SPEC_B(",'cpu':'-1'"), "spec.apps[0].cpu", "negative"),
        BAD("cpu shares too low", "b", SPEC_B(",'cpuShares':1"), "spec.apps[0].cpuShares",
            "out of range"),
        BAD("oom score adj too high", "b", SPEC_B(",'oomScoreAdj':1001"),
            "spec.apps[0].oomScoreAdj", "out of range"),
        BAD("negative supplementary gid", "b", SPEC_B(",'supplementaryGids':[1,-1]"),
            "spec.apps[0].supplementaryGids[1]", "out of range"),
        BAD("bad app environment name", "b", SPEC_B(",'environment':{'1X':'v'}"),
            "spec.apps[0].environment.1X", "environment variable name"),
        BAD("bad setEnv name", "b", "{'apps':[" APP_B "}],'setEnv':{'A=B':'v'}}",
            "spec.setEnv.A=B", "environment variable name"),
        BAD("bad app annotation name", "b", SPEC_B(",'annotations':{'Upper':'v'}"),
            "spec.apps[0].annotations.Upper", "ACIdentifier"),
        BAD("bad pod annotation name", "b", "{'apps':[" APP_B "}],'annotations':{'a b':'v'}}",
            "spec.annotations.a b", "ACIdentifier"),
        BAD("port of no app", "b", "{'apps':[" APP_B "}],'ports':[{'name':'dns','hostPort':53}]}",
            "spec.ports[0].name", "could not be found in any apps"),
        BAD("port of two apps", "bw",
            "{'apps':[" APP_B "}," APP_W "}],'ports':[{'name':'http','hostPort':80}]}",
            "spec.ports[0].name", "more than one app: \"busybox\" and \"web-server\""),
        BAD("two ports on one host port", "w",
            "{'apps':[" APP_W "}],'ports':[{'name':'http','hostPort':80,'hostIp':'10.0.0.1'},"
            "{'name':'https','hostPort':80}]}",
            "spec.ports[1]", "port tcp-0.0.0.0:80 already mapped to pod port 8080"),
        BAD("port host IP not IPv4", "b",
            "{'apps':[" APP_B "}],'ports':[{'name':'http','hostPort':80,'hostIp':'::1'}]}",
            "spec.ports[0].hostIp", "IPv4"),
        BAD("host port 0", "b", "{'apps':[" APP_B "}],'ports':[{'name':'http','hostPort':0}]}",
            "spec.ports[0].hostPort", "out of range"),
        BAD("host volume without source", "b",
            "{'apps':[" APP_B "}],'volumes':[{'name':'h','kind':'host'}]}",
            "spec.volumes[0].source", "cannot be empty"),
        BAD("host volume with a relative source", "b",
            "{'apps':[" APP_B "}],'volumes':[{'name':'h','kind':'host','source':'srv'}]}",
            "spec.volumes[0].source", "absolute"),
        BAD("host volume with a mode", "b",
            "{'apps':[" APP_B "}],'volumes':[{'name':'h','kind':'host','source':'/s','mode':'0700'}]}",
            "spec.volumes[0].mode", "cannot be set"),
        BAD("host volume with a uid", "b",
            "{'apps':[" APP_B "}],'volumes':[{'name':'h','kind':'host','source':'/s','uid':1}]}",
            "spec.volumes[0].uid", "cannot be set"),
        BAD("empty volume with a source", "b",
            "{'apps':[" APP_B "}],'volumes':[{'name':'e','kind':'empty','source':'/s'}]}",
            "spec.volumes[0].source", "must be empty"),
        BAD("empty volume with a bad mode", "b",
            "{'apps':[" APP_B "}],'volumes':[{'name':'e','kind':'empty','mode':'0999'}]}",
            "spec.volumes[0].mode", "octal"),
        BAD("duplicate volume names", "b",
            "{'apps':[" APP_B "}],'volumes':[{'name':'e','kind':'empty'},{'name':'e','kind':'empty'}]}",
            "spec.volumes[1].name", "duplicate volume name"),
        BAD("volume name not an ACName", "b",
            "{'apps':[" APP_B "}],'volumes':[{'name':'E','kind':'empty'}]}",
            "spec.volumes[0].name", "ACName"),
        BAD("pod mount of a missing volume", "b",
            "{'apps':[" APP_B "}],'mounts':[{'volume':'v','path':'/v'}]}",
            "spec.mounts[0].volume", "dangling mount point \"/v\": volume \"v\" not found"),
        BAD("app mount with a relative path", "b",
            "{'apps':[" APP_B ",'mounts':[{'volume':'v','path':'v'}]}],"
            "'volumes':[{'name':'v','kind':'empty'}]}",
            "spec.apps[0].mounts[0].path", "absolute"),
        BAD("no apps", "", "{'apps':[]}", "spec.apps", "at least one app"),
        BAD("neither apps nor manifest", "", "{}", "spec.apps", "at least one app"),
        BAD("overlay with private users", "b",
            "{'apps':[" APP_B "}],'overlay':true,'privateUsers':{}}", "spec.overlay",
            "cannot use both overlay and user namespace"),
        BAD("private users past 2^32", "b",
            "{'apps':[" APP_B "}],'privateUsers':{'shift':4294901760,'count':65537}}",
            "spec.privateUsers", "exceeds"),
        BAD("image by id and name", "b",
            SPEC("{'image':{'id':'sha512-bb','name':'example.com/busybox'}}"),
            "spec.apps[0].image", "exactly one of id and name"),
        BAD("image by neither", "b", SPEC("{'image':{}}"), "spec.apps[0].image",
            "exactly one of id and name"),
        BAD("labels with an image id", "b", SPEC("{'image':{'id':'sha512-bb','labels':{}}}"),
            "spec.apps[0].image.labels", "only with an image name"),
        BAD("image id prefix too short", "b", SPEC("{'image':{'id':'sha512-b'}}"),
            "spec.apps[0].image.id", "not an image ID"),
        BAD("image name not an ACIdentifier", "b", SPEC("{'image':{'name':'Busybox'}}"),
            "spec.apps[0].image.name", "ACIdentifier"),
        BAD("bad stage1 image", "b", "{'apps':[" APP_B "}],'stage1Image':{'name':'a','id':'sha512-aa'}}",
            "spec.stage1Image", "exactly one"),
        BAD("a manifest with apps", "", "{'apps':[],'manifest':{}}", "spec.apps",
            "cannot be given together with manifest"),
        BAD("a manifest with setEnv", "", "{'setEnv':{},'manifest':{}}", "spec.setEnv",
            "cannot be given together with manifest"),

        /* --- a whole manifest --- */
        VOK("app section from the image", "b",
            PM(",'apps':[" PM_APP("a", ID_B) "],'ports':[{'name':'http','hostPort':80}]")),
        VOK("app section in the manifest, image without one", "n",
            PM(",'apps':[" PM_APP("a", ID_N, ",'app':{'exec':['/x'],'user':'0','group':'0'}") "]")),
        VOK("a port given with its pod port", "n",
            PM(",'apps':[" PM_APP("a", ID_N, ",'app':{'exec':['/x'],'user':'0','group':'0'}")
               "],'ports':[{'name':'p','hostPort':80,'podPort':{'name':'p','protocol':'udp','port':53}}]")),
        VOK("no apps at all", "", PM(",'apps':[]")),
        VBAD("no image id", "b", PM(",'apps':[{'name':'a','image':{'name':'x'}}]"),
             "spec.manifest.apps[0].image.id", "no image ID for app \"a\""),
        VBAD("image id malformed", "b", PM(",'apps':[" PM_APP("a", "sha256-aa") "]"),
             "spec.manifest.apps[0].image.id", "not an image ID"),
        VBAD("wrong acKind", "b", "{'manifest':{'acKind':'ImageManifest','acVersion':'0.8.11'}}",
             "spec.manifest.acKind", "PodManifest"),
        VBAD("no acVersion", "b", "{'manifest':{'acKind':'PodManifest'}}",
             "spec.manifest.acVersion", "is required"),
        VBAD("bad acVersion", "b", "{'manifest':{'acKind':'PodManifest','acVersion':'1.x'}}",
             "spec.manifest.acVersion", "semantic version"),
        VBAD("duplicate app names", "bb",
             PM(",'apps':[" PM_APP("a", ID_B) "," PM_APP("a", ID_B) "]"),
             "spec.manifest.apps[1].name", "multiple apps with same name \"a\""),
        VBAD("app name not an ACName", "b", PM(",'apps':[" PM_APP("A", ID_B) "]"),
             "spec.manifest.apps[0].name", "ACName"),
        VBAD("no app section anywhere", "n", PM(",'apps':[" PM_APP("a", ID_N) "]"),
             "spec.manifest.apps[0]", "no app section in the pod manifest or the image manifest"),
        VBAD("invalid app section", "b",
             PM(",'apps':[" PM_APP("a", ID_B, ",'app':{'exec':['/x'],'group':'0'}") "]"),
             "spec.manifest.apps[0].app.user", "is required"),
        VBAD("port of no app", "b",
             PM(",'apps':[" PM_APP("a", ID_B) "],'ports':[{'name':'dns','hostPort':53}]"),
             "spec.manifest.ports[0].name", "could not be found"),
        VBAD("port conflict", "b",
             PM(",'apps':[" PM_APP("a", ID_B) "],'ports':[{'name':'http','hostPort':80},"
                "{'name':'http','hostPort':80,'hostIP':'127.0.0.1'}]"),
             "spec.manifest.ports[1]", "already mapped"),
        VBAD("bad volume", "b",
             PM(",'apps':[" PM_APP("a", ID_B) "],'volumes':[{'name':'v','kind':'tmpfs'}]"),
             "spec.manifest.volumes[0].kind", "unrecognized volume kind"),
        VBAD("bad pod isolator", "b",
             PM(",'apps':[" PM_APP("a", ID_B) "],'isolators':[{'name':'os/linux/cpu-shares','value':1}]"),
             "spec.manifest.isolators[0].value", "out of range"),
        VBAD("apps not an array", "b", PM(",'apps':{}"), "spec.manifest.apps", "array"),
};

/* ' -> " ; malloc'd. */
static char *q(const char *s) {
        char *d = strdup(s);

        assert_non_null(d);
        for (char *p = d; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return d;
}

static json_object *parse(const char *s) {
        _cleanup_free_ char *text = q(s);
        json_object *o = json_tokener_parse(text);

        if (!o)
                fail_msg("test JSON does not parse: %s", text);
        return o;
}

static ImageManifest *image(char letter) {
        const char *json = letter == 'b' ? busybox_json : letter == 'n' ? noapp_json : web_json;
        _cleanup_free_ char *text = q(json);
        ImageManifest *m = NULL;
        ErrorDetail e = {};

        if (image_manifest_parse(&m, text, strlen(text), &e) < 0)
                fail_msg("fixture %c refused: %s: %s", letter, e.field, e.reason);
        return m;
}

static const char *image_id(char letter) {
        return letter == 'b' ? ID_B : letter == 'n' ? ID_N : ID_W;
}

/* The part of o at a dot path ("apps.0.app"); "" is o itself. */
static json_object *select_part(json_object *o, const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL;

        for (char *t = strtok_r(copy, ".", &save); t && o; t = strtok_r(NULL, ".", &save))
                o = json_object_is_type(o, json_type_array) ?
                        json_object_array_get_idx(o, (size_t) atoi(t)) :
                        json_object_object_get(o, t);
        return o;
}

static const char *text(json_object *o) {
        return o ? pod_manifest_to_string(o) : "(nothing)";
}

static const PodManifestOptions options = { .mutable_pod = false, .uid = 1000, .gid = 100 };

/* Checks one case; false (after printing why) when it fails. */
static bool run_case(const Case *c) {
        size_t n = strlen(c->images);
        ImageManifest *manifests[8] = {};
        PodImage images[8] = {};
        _cleanup_json_ json_object *spec = parse(c->spec), *out = NULL;
        ErrorDetail e = {};
        bool ok = true;
        int r;

        assert_true(n <= 8);
        for (size_t i = 0; i < n; i++) {
                manifests[i] = image(c->images[i]);
                images[i] = (PodImage) { image_id(c->images[i]), manifests[i] };
        }
        r = c->mode == GENERATE ? pod_manifest_generate(spec, images, n, &options, &out, &e) :
                                  pod_manifest_validate(spec, images, n, &out, &e);
        if (c->field) {
                ok = r == -EINVAL && strcmp(e.field, c->field) == 0 &&
                     strstr(e.reason, c->reason);
                if (!ok)
                        print_error("%s: expected -EINVAL at %s (\"%s\"), got %d at %s: %s\n",
                                    c->title, c->field, c->reason, r, e.field, e.reason);
        } else if (r < 0) {
                ok = false;
                print_error("%s: refused (%d) at %s: %s\n", c->title, r, e.field, e.reason);
        } else if (c->mode == VALIDATE) {
                ok = out == json_object_object_get(spec, "manifest");
                if (!ok)
                        print_error("%s: not the given manifest\n", c->title);
        } else {
                _cleanup_json_ json_object *expected = parse(c->expected);
                _cleanup_free_ char *want = strdup(text(expected));
                const char *got = text(select_part(out, c->select));

                ok = strcmp(want, got) == 0;
                if (!ok)
                        print_error("%s:\n  expected %s\n  got      %s\n", c->title, want, got);
        }
        for (size_t i = 0; i < n; i++)
                image_manifest_free(manifests[i]);
        return ok;
}

static void test_table(void **state) {
        size_t failed = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                failed += !run_case(&cases[i]);
        if (failed > 0)
                fail_msg("%zu of %zu cases failed", failed, ELEMENTSOF(cases));
}

/* App user annotations and labels replace the image's, sorted by key. */
static void test_app_user_maps(void **state) {
        static const Case c = OK("app user maps", "b",
                SPEC_B(",'userAnnotations':{'y':'1','x':'2'},'userLabels':{'k':'v'}"),
                "apps.0.app",
                "{'exec':['/bin/sh','-c','true'],'user':'0','group':'0','environment':[" B_ENV
                "]," B_PORTS ",'isolators':[" B_ISOLATORS "],"
                "'userAnnotations':{'x':'2','y':'1'},'userLabels':{'k':'v'}}");

        assert_true(run_case(&c));
}

static void test_mutable(void **state) {
        static const PodManifestOptions mutable_options = { .mutable_pod = true };
        _cleanup_json_ json_object *spec = parse(SPEC(APP_N ",'exec':'/x'}")), *out = NULL;
        ImageManifest *m = image('n');
        PodImage img = { ID_N, m };
        ErrorDetail e = {};

        assert_int_equal(pod_manifest_generate(spec, &img, 1, &mutable_options, &out, &e), 0);
        assert_string_equal(text(select_part(out, "annotations.0.value")), "\"true\"");
        /* Without options: uid and gid 0. */
        json_object_put(out);
        out = NULL;
        assert_int_equal(pod_manifest_generate(spec, &img, 1, NULL, &out, &e), 0);
        assert_string_equal(text(select_part(out, "apps.0.app.user")), "\"0\"");
        assert_string_equal(text(select_part(out, "annotations.0.value")), "\"false\"");
        image_manifest_free(m);
}

static void test_image_count(void **state) {
        _cleanup_json_ json_object *spec = parse(SPEC_B()), *out = NULL;
        ErrorDetail e = {};

        assert_int_equal(pod_manifest_generate(spec, NULL, 0, NULL, &out, &e), -EINVAL);
        assert_string_equal(e.field, "spec.apps");
        assert_null(out);
}

static void test_refs(void **state) {
        _cleanup_json_ json_object *spec = parse(
                "{'apps':[{'image':{'id':'sha512-bb'},'name':'a'},"
                "{'image':{'name':'example.com/x','labels':{'version':'1'}}}]}");
        _cleanup_json_ json_object *manifest = parse(PM(",'apps':[" PM_APP("m", ID_B) "]"));
        _cleanup_json_ json_object *bad = parse(SPEC_B(",'name':'Bad'"));
        _cleanup_free_ PodImageRef *refs = NULL;
        ErrorDetail e = {};
        size_t n = 0;

        assert_int_equal(pod_spec_image_refs(spec, &refs, &n, &e), 0);
        assert_int_equal(n, 2);
        assert_string_equal(refs[0].field, "spec.apps[0].image");
        assert_string_equal(refs[0].id, "sha512-bb");
        assert_null(refs[0].name);
        assert_string_equal(refs[0].app, "a");
        assert_null(refs[1].id);
        assert_string_equal(refs[1].name, "example.com/x");
        assert_string_equal(json_object_get_string(json_object_object_get(refs[1].labels,
                                                                          "version")), "1");
        assert_null(refs[1].app);
        free(refs);
        refs = NULL;

        assert_int_equal(pod_spec_image_refs(manifest, &refs, &n, &e), 0);
        assert_int_equal(n, 1);
        assert_string_equal(refs[0].field, "spec.manifest.apps[0].image.id");
        assert_string_equal(refs[0].id, ID_B);
        assert_string_equal(refs[0].app, "m");
        free(refs);
        refs = NULL;

        assert_int_equal(pod_spec_image_refs(bad, &refs, &n, &e), -EINVAL);
        assert_string_equal(e.field, "spec.apps[0].name");
        assert_null(refs);
}

static void test_os_arch(void **state) {
        AppcLabel none[] = { { (char *) "version", (char *) "1" } };
        AppcLabel os_only[] = { { (char *) "os", (char *) "linux" } };
        AppcLabel arm[] = { { (char *) "os", (char *) "linux" },
                            { (char *) "arch", (char *) "aarch64" } };
        AppcLabel bsd[] = { { (char *) "os", (char *) "freebsd" },
                            { (char *) "arch", (char *) "amd64" } };
        ImageManifest m = { .name = (char *) "x", .labels = none, .n_labels = 1 };
        ErrorDetail e = {};
        ImageManifest *good = image('b');

        assert_int_equal(pod_image_check_os_arch(&m, "linux", "amd64", "spec.apps[0].image", &e),
                         -EINVAL);
        assert_string_equal(e.field, "spec.apps[0].image");
        assert_string_equal(e.reason, "missing os label in the image manifest");
        m.labels = os_only;
        assert_int_equal(pod_image_check_os_arch(&m, "linux", "amd64", "f", &e), -EINVAL);
        assert_string_equal(e.reason, "missing arch label in the image manifest");
        m.labels = arm;
        m.n_labels = 2;
        assert_int_equal(pod_image_check_os_arch(&m, "linux", "amd64", "f", &e), -EINVAL);
        assert_non_null(strstr(e.reason, "bad arch \"aarch64\""));
        m.labels = bsd;
        assert_int_equal(pod_image_check_os_arch(&m, "linux", "amd64", "f", &e), -EINVAL);
        assert_non_null(strstr(e.reason, "bad os \"freebsd\""));
        assert_int_equal(pod_image_check_os_arch(good, "linux", "amd64", "f", &e), 0);
        image_manifest_free(good);
}

static void test_arch_table(void **state) {
        const char *arch = NULL;

        assert_string_equal(pod_appc_arch("x86_64"), "amd64");
        assert_string_equal(pod_appc_arch("i686"), "i386");
        assert_string_equal(pod_appc_arch("aarch64"), "aarch64");
        assert_string_equal(pod_appc_arch("armv7l"), "armv7l");
        assert_string_equal(pod_appc_arch("ppc64le"), "ppc64le");
        assert_string_equal(pod_appc_arch("s390x"), "s390x");
        assert_null(pod_appc_arch("mips"));
        assert_null(pod_appc_arch(NULL));
        /* Every name the table gives is one appc accepts for linux. */
        assert_true(appc_valid_os_arch("linux", pod_appc_arch("x86_64")));
        assert_true(appc_valid_os_arch("linux", pod_appc_arch("armv6l")));
        if (pod_host_arch(&arch) == 0)
                assert_true(appc_valid_os_arch("linux", arch));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_app_user_maps),
                cmocka_unit_test(test_mutable),
                cmocka_unit_test(test_image_count),
                cmocka_unit_test(test_refs),
                cmocka_unit_test(test_os_arch),
                cmocka_unit_test(test_arch_table),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
