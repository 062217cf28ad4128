/* Stage1's entrypoints and run argv; see stage1-args.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appc.h"
#include "cleanup.h"
#include "stage1-args.h"

static const char *annotation(json_object *manifest, const char *name) {
        json_object *a = json_object_object_get(manifest, "annotations");

        for (size_t i = 0; json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i);

                if (strcmp(json_object_get_string(json_object_object_get(e, "name")) ?: "", name) == 0)
                        return json_object_get_string(json_object_object_get(e, "value"));
        }
        return NULL;
}

int stage1_info_read(json_object *manifest, Stage1Info *ret, ErrorDetail *error) {
        Stage1Info s = {
                .run = annotation(manifest, STAGE1_ANNOTATION_RUN),
                .stop = annotation(manifest, STAGE1_ANNOTATION_STOP),
                .gc = annotation(manifest, STAGE1_ANNOTATION_GC),
                .version = 1,
        };
        const char *v = annotation(manifest, STAGE1_ANNOTATION_VERSION);
        const char *paths[] = { s.run, s.stop, s.gc };

        if (!s.run)
                return error_detail_set(error, -EINVAL, STAGE1_ANNOTATION_RUN,
                                        "the stage1 image names no run entrypoint");
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (paths[i] && (paths[i][0] != '/' || strstr(paths[i], "..")))
                        return error_detail_set(error, -EINVAL, "annotations",
                                                "stage1 entrypoint '%s' is not a clean absolute path", paths[i]);
        if (v) {
                char *end;
                long n = strtol(v, &end, 10);

                if (end == v || *end || n < 1 || n > 1000)
                        return error_detail_set(error, -EINVAL, STAGE1_ANNOTATION_VERSION,
                                                "'%s' is not an interface version", v);
                s.version = (unsigned) n;
        }
        s.app_entrypoints = annotation(manifest, "coreos.com/rkt/stage1/app/rm") &&
                            annotation(manifest, "coreos.com/rkt/stage1/app/start") &&
                            annotation(manifest, "coreos.com/rkt/stage1/app/stop");
        *ret = s;
        return 0;
}

void stage1_argv_free(char **argv) {
        for (size_t i = 0; argv && argv[i]; i++)
                free(argv[i]);
        free(argv);
}

typedef struct Argv {
        char **v;
        size_t n;
        int r;
} Argv;

static void push(Argv *a, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void push(Argv *a, const char *format, ...) {
        va_list ap;
        char *s = NULL, **v;

        if (a->r < 0)
                return;
        va_start(ap, format);
        if (vasprintf(&s, format, ap) < 0)
                s = NULL;
        va_end(ap);
        v = s ? realloc(a->v, (a->n + 2) * sizeof(char *)) : NULL;
        if (!v) {
                free(s);
                a->r = -ENOMEM;
                return;
        }
        a->v = v;
        a->v[a->n++] = s;
        a->v[a->n] = NULL;
}

static void warn(json_object *warnings, const char *option, const char *message) {
        json_object *w = json_object_new_object();

        json_object_object_add(w, "option", json_object_new_string(option));
        json_object_object_add(w, "message", json_object_new_string(message));
        json_object_array_add(warnings, w);
}

static bool has_entries(json_object *o, const char *key) {
        json_object *v = json_object_object_get(o, key);

        if (json_object_is_type(v, json_type_array))
                return json_object_array_length(v) > 0;
        return v && json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0;
}

int stage1_dns_modes(json_object *options, const char **ret_resolv, const char **ret_hosts,
                     ErrorDetail *error) {
        bool dns = has_entries(options, "dnsServers") || has_entries(options, "dnsSearch") ||
                   has_entries(options, "dnsOptions") || has_entries(options, "dnsDomain");
        bool hosts = has_entries(options, "hostsEntries");
        const char *resolv_mode = json_object_get_string(json_object_object_get(options, "resolvMode"));
        const char *hosts_mode = json_object_get_string(json_object_object_get(options, "hostsMode"));

        /* rkt: DNS settings given means stage0 writes resolv.conf, hosts entries the hosts. */
        if (!resolv_mode)
                resolv_mode = dns ? "stage0" : "default";
        if (!hosts_mode)
                hosts_mode = hosts ? "stage0" : "default";
        if (dns && strcmp(resolv_mode, "stage0") != 0)
                return error_detail_set(error, -EINVAL, "options.resolvMode",
                                        "DNS settings need resolv mode stage0, not %s", resolv_mode);
        if (hosts && strcmp(hosts_mode, "stage0") != 0)
                return error_detail_set(error, -EINVAL, "options.hostsMode",
                                        "hosts entries need hosts mode stage0, not %s", hosts_mode);
        *ret_resolv = resolv_mode;
        *ret_hosts = hosts_mode;
        return 0;
}

/* rkt's NetList.String(): "default" when empty, else name or name:args joined by ",". */
static int net_string(json_object *nets, char **ret, ErrorDetail *error) {
        static const char *const special[] = { "default", "default-restricted", "host", "none", "all" };
        _cleanup_free_ char *s = NULL;
        size_t n = nets ? json_object_array_length(nets) : 0;

        if (n == 0) {
                *ret = strdup("default");
                return *ret ? 0 : -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(nets, i);
                const char *name = json_object_get_string(json_object_object_get(e, "name"));
                const char *args = json_object_get_string(json_object_object_get(e, "args"));
                bool known = false;
                char field[64], *t;

                snprintf(field, sizeof(field), "options.net[%zu]", i);
                for (size_t k = 0; k < ELEMENTSOF(special); k++)
                        known = known || strcmp(name, special[k]) == 0;
                if (!known && !appc_is_name(name))
                        return error_detail_set(error, -EINVAL, field, "'%s' is not a network name", name);
                if (args && (strcmp(name, "host") == 0 || strcmp(name, "all") == 0))
                        return error_detail_set(error, -EINVAL, field, "network %s takes no arguments", name);
                if (args && strpbrk(args, ",\n"))
                        return error_detail_set(error, -EINVAL, field, "network arguments may not contain ',' or a newline");
                if (asprintf(&t, "%s%s%s%s%s", s ? s : "", s ? "," : "", name, args ? ":" : "", args ? args : "") < 0)
                        return -ENOMEM;
                free(s);
                s = t;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

static bool has_insecure(json_object *options, const char *what) {
        json_object *l = json_object_object_get(options, "insecureOptions");

        for (size_t i = 0; l && i < json_object_array_length(l); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(l, i)), what) == 0)
                        return true;
        return false;
}

static bool bad_value(const char *s) {
        return s && strpbrk(s, "\n\r\t ") != NULL;
}

int stage1_run_argv(const Stage1Info *s1, const Stage1RunParams *params, char ***ret_argv,
                    json_object **ret_warnings, ErrorDetail *error) {
        json_object *o = params->options;
        const char *hostname = json_object_get_string(json_object_object_get(o, "hostname"));
        const char *local_config = json_object_get_string(json_object_object_get(o, "localConfig"));
        const char *ipc = json_object_get_string(json_object_object_get(o, "ipc"));
        const char *resolv, *hosts;
        _cleanup_free_ char *net = NULL;
        _cleanup_json_ json_object *warnings = json_object_new_array();
        Argv a = {};
        int r;

        if (json_object_get_boolean(json_object_object_get(o, "interactive")))
                return error_detail_set(error, -EOPNOTSUPP, "options.interactive",
                                        "interactive pods are not supported yet");
        if (json_object_get_boolean(json_object_object_get(o, "mdsRegister")))
                return error_detail_set(error, -EOPNOTSUPP, "options.mdsRegister",
                                        "registration with a metadata service is not supported yet");
        if (params->mutable_pod && !s1->app_entrypoints)
                return error_detail_set(error, -EOPNOTSUPP, "mutable", "stage1 does not support mutable pods");
        if (bad_value(hostname) || (hostname && !hostname[0]))
                return error_detail_set(error, -EINVAL, "options.hostname", "not a host name");
        if (bad_value(local_config))
                return error_detail_set(error, -EINVAL, "options.localConfig", "not a path");
        r = stage1_dns_modes(o, &resolv, &hosts, error);
        if (r < 0)
                return r;
        r = net_string(json_object_object_get(o, "net"), &net, error);
        if (r < 0)
                return r;

        push(&a, "%s%s", params->rootfs, s1->run);
        if (json_object_get_boolean(json_object_object_get(o, "debug")))
                push(&a, "--debug");
        push(&a, "--net=%s", net);
        if (params->private_users && params->private_users[0])
                push(&a, "--private-users=%s", params->private_users);
        if (local_config && local_config[0])
                push(&a, "--local-config=%s", local_config);
        if (hostname) {
                if (s1->version >= 2)
                        push(&a, "--hostname=%s", hostname);
                else
                        warn(warnings, "options.hostname", "--hostname option is not supported by stage1");
        }
        if (strcmp(resolv, "default") != 0 || strcmp(hosts, "default") != 0) {
                if (s1->version >= 4)
                        push(&a, "--dns-conf-mode=resolv=%s,hosts=%s", resolv, hosts);
                else
                        warn(warnings, strcmp(resolv, "default") != 0 ? "options.resolvMode" : "options.hostsMode", "--dns-conf-mode option not supported by stage1");
        }
        if (s1->version >= 3) {
                if (has_insecure(o, "capabilities"))
                        push(&a, "--disable-capabilities-restriction");
                if (has_insecure(o, "paths"))
                        push(&a, "--disable-paths");
                if (has_insecure(o, "seccomp"))
                        push(&a, "--disable-seccomp");
        } else if (has_entries(o, "insecureOptions")) {
                warn(warnings, "options.insecureOptions", "insecure options are not supported by stage1");
        }
        if (params->mutable_pod)
                push(&a, "--mutable");
        if (ipc) {
                if (s1->version >= 6)
                        push(&a, "--ipc=%s", ipc);
                else
                        warn(warnings, "options.ipc", "--ipc option is not supported by stage1");
        }
        push(&a, "%s", params->uuid);
        if (a.r < 0) {
                stage1_argv_free(a.v);
                return a.r;
        }
        *ret_argv = a.v;
        *ret_warnings = TAKE_PTR(warnings);
        return 0;
}
