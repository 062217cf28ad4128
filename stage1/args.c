/* Command-line parsing for run, stop and gc. Flags are accepted in any order, as
 * `--flag=value` or `--flag value`; booleans also as `--flag=true|false` (Go's flag syntax,
 * which rkt's stage1 used). A flag given twice is refused rather than silently overridden. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "util.h"

static const char *const net_mode_table[_NET_MAX] = {
        [NET_HOST] = "host", [NET_NONE] = "none", [NET_DEFAULT] = "default",
};
static const char *const ipc_mode_table[_IPC_MAX] = {
        [IPC_AUTO] = "auto", [IPC_PRIVATE] = "private", [IPC_PARENT] = "parent",
};
static const char *const resolv_mode_table[_RESOLV_MAX] = {
        [RESOLV_DEFAULT] = "default", [RESOLV_HOST] = "host",
        [RESOLV_STAGE0] = "stage0", [RESOLV_NONE] = "none",
};
static const char *const hosts_mode_table[_HOSTS_MAX] = {
        [HOSTS_DEFAULT] = "default", [HOSTS_HOST] = "host", [HOSTS_STAGE0] = "stage0",
};

static int table_lookup(const char *const *table, int n, const char *s) {
        for (int i = 0; i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return i;
        return -EINVAL;
}

#define DEFINE_STRING_TABLE(name, type, max)                                    \
        const char *name##_to_string(type m) {                                  \
                return (m >= 0 && m < max) ? name##_table[m] : NULL;            \
        }                                                                       \
        type name##_from_string(const char *s) {                                \
                return (type) table_lookup(name##_table, max, s);               \
        }

DEFINE_STRING_TABLE(net_mode, NetMode, _NET_MAX)
DEFINE_STRING_TABLE(ipc_mode, IpcMode, _IPC_MAX)
DEFINE_STRING_TABLE(resolv_mode, ResolvMode, _RESOLV_MAX)
DEFINE_STRING_TABLE(hosts_mode, HostsMode, _HOSTS_MAX)

typedef enum FlagKind { FLAG_BOOL, FLAG_STRING } FlagKind;

typedef struct Flag {
        const char *name;
        FlagKind kind;
        size_t offset; /* of the bool or char* in RunArgs/SimpleArgs */
} Flag;

#define BOOL_FLAG(n, T, f) { n, FLAG_BOOL, offsetof(T, f) }
#define STRING_FLAG(n, T, f) { n, FLAG_STRING, offsetof(T, f) }

static const Flag run_flags[] = {
        BOOL_FLAG("debug", RunArgs, debug),
        STRING_FLAG("net", RunArgs, net),
        BOOL_FLAG("interactive", RunArgs, interactive),
        STRING_FLAG("private-users", RunArgs, private_users),
        STRING_FLAG("mds-token", RunArgs, mds_token),
        STRING_FLAG("local-config", RunArgs, local_config),
        STRING_FLAG("hostname", RunArgs, hostname),
        STRING_FLAG("dns-conf-mode", RunArgs, net), /* offset unused: run_special() */
        BOOL_FLAG("disable-capabilities-restriction", RunArgs, disable_capabilities),
        BOOL_FLAG("disable-paths", RunArgs, disable_paths),
        BOOL_FLAG("disable-seccomp", RunArgs, disable_seccomp),
        BOOL_FLAG("mutable", RunArgs, mutable_pod),
        STRING_FLAG("ipc", RunArgs, net),           /* offset unused: run_special() */
};

static const Flag stop_flags[] = {
        BOOL_FLAG("force", SimpleArgs, force),
};

static const Flag gc_flags[] = {
        BOOL_FLAG("debug", SimpleArgs, debug),
        STRING_FLAG("local-config", SimpleArgs, local_config),
};

static int parse_bool(const char *v, bool *ret) {
        if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                *ret = true;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

/* Walks argv, storing flags into obj through the table; special string flags (those whose
 * name is in `special`) are handed to the callback. The single positional is the UUID. */
typedef int (*special_fn)(void *obj, const char *name, const char *value, char *err, size_t err_size);

static int parse_flags(void *obj, const Flag *flags, size_t n_flags, special_fn special,
                       char **uuid, int argc, char **argv, char *err, size_t err_size) {
        bool seen[32] = {};

        for (int i = 1; i < argc; i++) {
                const char *arg = argv[i];
                const Flag *f = NULL;
                _cleanup_free_ char *name = NULL;
                const char *value = NULL;
                size_t k;

                if (arg[0] != '-') {
                        if (*uuid) {
                                snprintf(err, err_size, "unexpected argument '%s' after the UUID", arg);
                                return -EINVAL;
                        }
                        *uuid = strdup(arg);
                        if (!*uuid)
                                return -ENOMEM;
                        continue;
                }
                arg += (arg[1] == '-') ? 2 : 1;
                const char *eq = strchr(arg, '=');
                name = eq ? strndup(arg, (size_t) (eq - arg)) : strdup(arg);
                if (!name)
                        return -ENOMEM;
                value = eq ? eq + 1 : NULL;
                for (k = 0; k < n_flags; k++)
                        if (strcmp(flags[k].name, name) == 0) {
                                f = &flags[k];
                                break;
                        }
                if (!f) {
                        snprintf(err, err_size, "unknown option '%s'", argv[i]);
                        return -EINVAL;
                }
                if (seen[k]) {
                        snprintf(err, err_size, "option --%s given more than once", name);
                        return -EINVAL;
                }
                seen[k] = true;
                if (f->kind == FLAG_BOOL) {
                        if (parse_bool(value, (bool *) ((char *) obj + f->offset)) < 0) {
                                snprintf(err, err_size, "option --%s takes true or false, not '%s'", name, value);
                                return -EINVAL;
                        }
                        continue;
                }
                if (!value) {
                        if (i + 1 >= argc) {
                                snprintf(err, err_size, "option --%s needs a value", name);
                                return -EINVAL;
                        }
                        value = argv[++i];
                }
                if (special) {
                        int r = special(obj, name, value, err, err_size);
                        if (r != -ENOENT) {
                                if (r < 0)
                                        return r;
                                continue;
                        }
                }
                char **slot = (char **) ((char *) obj + f->offset);
                *slot = strdup(value);
                if (!*slot)
                        return -ENOMEM;
        }
        if (!*uuid) {
                snprintf(err, err_size, "missing the pod UUID");
                return -EINVAL;
        }
        if (!uuid_is_valid(*uuid)) {
                snprintf(err, err_size, "'%s' is not a pod UUID in canonical lower-case form", *uuid);
                return -EINVAL;
        }
        return 0;
}

/* --dns-conf-mode=resolv=X,hosts=Y: both keys optional, each at most once. */
static int parse_dns_conf_mode(RunArgs *a, const char *value, char *err, size_t err_size) {
        _cleanup_free_ char *copy = strdup(value);
        bool have_resolv = false, have_hosts = false;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (strncmp(tok, "resolv=", 7) == 0 && !have_resolv) {
                        have_resolv = true;
                        a->resolv_mode = resolv_mode_from_string(tok + 7);
                        if (a->resolv_mode < 0)
                                goto bad;
                } else if (strncmp(tok, "hosts=", 6) == 0 && !have_hosts) {
                        have_hosts = true;
                        a->hosts_mode = hosts_mode_from_string(tok + 6);
                        if (a->hosts_mode < 0)
                                goto bad;
                } else
                        goto bad;
        }
        return 0;
bad:
        snprintf(err, err_size, "invalid --dns-conf-mode '%s': expected resolv=host|stage0|none|default,"
                 "hosts=host|stage0|default", value);
        return -EINVAL;
}

static int run_special(void *obj, const char *name, const char *value, char *err, size_t err_size) {
        RunArgs *a = obj;

        if (strcmp(name, "dns-conf-mode") == 0)
                return parse_dns_conf_mode(a, value, err, err_size);
        if (strcmp(name, "ipc") == 0) {
                a->ipc_mode = ipc_mode_from_string(value);
                if (a->ipc_mode < 0) {
                        snprintf(err, err_size, "invalid --ipc '%s': expected auto, private or parent", value);
                        return -EINVAL;
                }
                return 0;
        }
        return -ENOENT;
}

static bool hostname_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-' || s[0] == '.' || s[n - 1] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
                        return false;
        return true;
}

int run_args_parse(RunArgs *a, int argc, char **argv, char *err, size_t err_size) {
        int r;

        *a = (RunArgs) { .net_mode = _NET_INVALID, .ipc_mode = IPC_AUTO };
        r = parse_flags(a, run_flags, ELEMENTSOF(run_flags), run_special, &a->uuid, argc, argv, err, err_size);
        if (r < 0)
                return r;
        if (!a->net) {
                /* rkt always passes --net; its absence means a caller that is not stage0. */
                snprintf(err, err_size, "missing --net");
                return -EINVAL;
        }
        if (a->hostname && !hostname_is_valid(a->hostname)) {
                snprintf(err, err_size, "invalid --hostname '%s'", a->hostname);
                return -EINVAL;
        }
        if (a->local_config && a->local_config[0] != '/') {
                snprintf(err, err_size, "--local-config must be an absolute path, not '%s'", a->local_config);
                return -EINVAL;
        }
        if (a->private_users) {
                snprintf(err, err_size, "--private-users=%s: user namespaces are not supported by this stage1",
                         a->private_users);
                return -EOPNOTSUPP;
        }
        if (a->interactive) {
                snprintf(err, err_size, "--interactive is not supported by this stage1");
                return -EOPNOTSUPP;
        }
        if (a->mds_token) {
                snprintf(err, err_size, "--mds-token: the metadata service is not supported by this stage1");
                return -EOPNOTSUPP;
        }
        if (a->mutable_pod) {
                snprintf(err, err_size, "--mutable: mutable pods are not supported by this stage1");
                return -EOPNOTSUPP;
        }
        a->net_mode = net_mode_from_string(a->net);
        if (a->net_mode < 0) {
                snprintf(err, err_size, "--net=%s: only host, none and default (loopback only) are supported; "
                         "CNI networks are not implemented", a->net);
                return -EOPNOTSUPP;
        }
        return 0;
}

void run_args_deinit(RunArgs *a) {
        free(a->net);
        free(a->private_users);
        free(a->mds_token);
        free(a->local_config);
        free(a->hostname);
        free(a->uuid);
        *a = (RunArgs) {};
}

int simple_args_parse(SimpleArgs *a, bool is_stop, int argc, char **argv, char *err, size_t err_size) {
        *a = (SimpleArgs) {};
        if (is_stop)
                return parse_flags(a, stop_flags, ELEMENTSOF(stop_flags), NULL, &a->uuid, argc, argv, err, err_size);
        return parse_flags(a, gc_flags, ELEMENTSOF(gc_flags), NULL, &a->uuid, argc, argv, err, err_size);
}

void simple_args_deinit(SimpleArgs *a) {
        free(a->local_config);
        free(a->uuid);
        *a = (SimpleArgs) {};
}
