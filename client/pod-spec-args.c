/* PodArgs: one pass over the arguments with a table of flags. Each flag has a scope that says
 * which object it writes into (the app of the last image, the PodSpec, the RunOptions, or the
 * parse result itself) and the modes that take it; its apply function checks the value's form
 * and writes one field. What cannot be decided flag by flag (the --dns and --hosts-entry
 * magic values, --pod-manifest against everything it replaces) is decided once at the end.
 * A value given twice where the protocol keeps only one is refused rather than overwritten,
 * so nothing a user typed is silently dropped. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd-image.h"
#include "json-member.h"
#include "options.h"
#include "pod-spec-args.h"

#define MODE_PREPARE (1U << POD_ARGS_PREPARE)
#define MODE_RUN (1U << POD_ARGS_RUN)
#define MODE_RUN_PREPARED (1U << POD_ARGS_RUN_PREPARED)
#define MODES_SPEC (MODE_PREPARE | MODE_RUN)
#define MODES_RUNTIME (MODE_RUN | MODE_RUN_PREPARED)
#define MODES_ALL (MODE_PREPARE | MODE_RUN | MODE_RUN_PREPARED)

#define PORT_MAX 65535
/* uid_t and gid_t hold 32 bits and (uid_t) -1 means "unchanged". */
#define ID_MAX ((int64_t) UINT32_MAX - 1)

static const char *const mode_table[_POD_ARGS_MODE_MAX] = {
        [POD_ARGS_PREPARE] = "prepare",
        [POD_ARGS_RUN] = "run",
        [POD_ARGS_RUN_PREPARED] = "run-prepared",
};

const char *pod_args_mode_to_string(PodArgsMode mode) {
        if (mode < 0 || mode >= _POD_ARGS_MODE_MAX)
                return NULL;
        return mode_table[mode];
}

PodArgsMode pod_args_mode_from_string(const char *s) {
        if (!s)
                return _POD_ARGS_MODE_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(mode_table); i++)
                if (strcmp(mode_table[i], s) == 0)
                        return (PodArgsMode) i;
        return _POD_ARGS_MODE_INVALID;
}

typedef enum FlagScope {
        SCOPE_APP,              /* the app of the last image; none yet is an error */
        SCOPE_POD,              /* the PodSpec */
        SCOPE_APP_OR_POD,       /* the PodSpec before the first image, the app after */
        SCOPE_RUN,              /* the RunOptions */
        SCOPE_SELF,             /* the PodArgs: the command's own flags and the global ones */
} FlagScope;

typedef struct Parser {
        PodArgs *out;
        const PodArgsContext *context;
        json_object *spec;      /* owned until handed to out */
        json_object *options;   /* owned until handed to out */
        json_object *apps;      /* owned array */
        json_object *app;       /* borrowed from apps: the app of the last image */
        const char *app_image;  /* the argument that named it */
        bool app_args_given;    /* the app had its "--" section */
        json_object *dns;       /* owned array: the --dns values as given */
        json_object *hosts;     /* owned array: the --hosts-entry values as given */
        bool stop;              /* --help or --version: nothing more to parse */
        char *error;
        size_t error_size;
} Parser;

typedef struct PodFlag PodFlag;
/* target is the object the flag's scope names (NULL for SCOPE_SELF); value is the text given,
 * for a boolean flag "true" or "false". */
typedef int (*FlagApply)(Parser *p, const PodFlag *flag, json_object *target, const char *value);

struct PodFlag {
        const char *name;
        FlagScope scope;
        unsigned modes;
        bool is_bool;
        const char *key;        /* the field it writes, where it writes one */
        FlagApply apply;
};

static void parser_done(Parser *p) {
        json_object_put(p->spec);
        json_object_put(p->options);
        json_object_put(p->apps);
        json_object_put(p->dns);
        json_object_put(p->hosts);
}

static int fail(Parser *p, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int fail(Parser *p, const char *format, ...) {
        va_list ap;

        if (p->error && p->error_size > 0) {
                va_start(ap, format);
                vsnprintf(p->error, p->error_size, format, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* --- small pieces --- */

/* Go's strconv.ParseBool, which rkt's boolean flags use. */
static int bool_parse(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
        static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

/* A decimal integer with an optional sign, nothing else, within [min, max]. */
static int int_parse(const char *s, int64_t min, int64_t max, int64_t *ret) {
        char *end;
        long long v;

        if (!s || !((*s >= '0' && *s <= '9') || *s == '-' || *s == '+'))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || end == s || *end != '\0' || !(end[-1] >= '0' && end[-1] <= '9'))
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static bool ip_valid(const char *s, bool v4_only) {
        unsigned char buf[sizeof(struct in6_addr)];

        if (inet_pton(AF_INET, s, buf) == 1)
                return true;
        return !v4_only && inet_pton(AF_INET6, s, buf) == 1;
}

/* The member key of o, created with the given type when absent. NULL only without memory. */
static json_object *member(json_object *o, const char *key, json_type type) {
        json_object *v;

        if (json_object_object_get_ex(o, key, &v))
                return v;
        v = type == json_type_array ? json_object_new_array() : json_object_new_object();
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return NULL;
        }
        return v;
}

static int append(json_object *array, json_object *value) {
        if (!array || !value) {
                json_object_put(value);
                return -ENOMEM;
        }
        if (json_object_array_add(array, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

static int given_twice(Parser *p, const PodFlag *flag, json_object *target) {
        if (target == p->app)
                return fail(p, "%s is given twice for image '%s'", flag->name, p->app_image);
        return fail(p, "%s is given twice", flag->name);
}

/* Sets target[flag->key] to value (taken over) unless it is set already. */
static int set_once(Parser *p, const PodFlag *flag, json_object *target, json_object *value) {
        if (json_object_object_get_ex(target, flag->key, NULL)) {
                json_object_put(value);
                return given_twice(p, flag, target);
        }
        return json_member_add(target, flag->key, value);
}

/* Splits s at commas into newly allocated parts; an empty part is refused. */
typedef struct Parts {
        char *buf;
        char **v;
        size_t n;
} Parts;

static void parts_done(Parts *parts) {
        free(parts->buf);
        free(parts->v);
        *parts = (Parts) {};
}

static int parts_split(Parser *p, const PodFlag *flag, const char *s, Parts *ret) {
        _cleanup_(parts_done) Parts parts = { .buf = strdup(s) };
        size_t n = 1;

        if (!parts.buf)
                return -ENOMEM;
        for (const char *c = s; *c; c++)
                n += *c == ',';
        parts.v = calloc(n, sizeof(char *));
        if (!parts.v)
                return -ENOMEM;
        for (char *c = parts.buf, *next; c; c = next) {
                next = strchr(c, ',');
                if (next)
                        *next++ = '\0';
                if (*c == '\0')
                        return fail(p, "%s has an empty item in '%s'", flag->name, s);
                parts.v[parts.n++] = c;
        }
        *ret = parts;
        parts = (Parts) {};
        return 0;
}

/* --- apply functions: one field each --- */

static int apply_string(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        if (value[0] == '\0')
                return fail(p, "%s needs a non-empty value", flag->name);
        return set_once(p, flag, target, json_object_new_string(value));
}

static int apply_int(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        int64_t v;

        if (int_parse(value, INT32_MIN, INT32_MAX, &v) < 0)
                return fail(p, "%s needs an integer, not '%s'", flag->name, value);
        return set_once(p, flag, target, json_object_new_int64(v));
}

static int apply_bool(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        return set_once(p, flag, target, json_object_new_boolean(strcmp(value, "true") == 0));
}

/* For a RunOptions switch whose default is off: only "on" is sent. */
static int apply_switch(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        (void) p;
        if (strcmp(value, "true") != 0)
                return 0;
        return json_member_add(target, flag->key, json_object_new_boolean(1));
}

/* NAME=VALUE into the map target[flag->key]. */
static int apply_map_entry(Parser *p, const PodFlag *flag, json_object *target,
                           const char *value) {
        const char *eq = strchr(value, '=');
        _cleanup_free_ char *name = NULL;
        json_object *map;

        if (!eq || eq == value)
                return fail(p, "%s needs NAME=VALUE, not '%s'", flag->name, value);
        name = strndup(value, (size_t) (eq - value));
        map = member(target, flag->key, json_type_object);
        if (!name || !map)
                return -ENOMEM;
        if (json_object_object_get_ex(map, name, NULL)) {
                if (target == p->app)
                        return fail(p, "%s sets '%s' twice for image '%s'", flag->name, name,
                                    p->app_image);
                return fail(p, "%s sets '%s' twice", flag->name, name);
        }
        return json_member_add(map, name, json_object_new_string(eq + 1));
}

/* A comma-separated list of names, such as capabilities. */
static int apply_name_list(Parser *p, const PodFlag *flag, json_object *target,
                           const char *value) {
        _cleanup_(parts_done) Parts parts = {};
        _cleanup_json_ json_object *list = json_object_new_array();
        int r;

        if (!list)
                return -ENOMEM;
        r = parts_split(p, flag, value, &parts);
        if (r < 0)
                return r;
        for (size_t i = 0; i < parts.n; i++) {
                r = append(list, json_object_new_string(parts.v[i]));
                if (r < 0)
                        return r;
        }
        return set_once(p, flag, target, TAKE_PTR(list));
}

static int apply_gids(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        _cleanup_(parts_done) Parts parts = {};
        _cleanup_json_ json_object *list = json_object_new_array();
        int r;

        if (!list)
                return -ENOMEM;
        r = parts_split(p, flag, value, &parts);
        if (r < 0)
                return r;
        for (size_t i = 0; i < parts.n; i++) {
                int64_t gid;

                if (int_parse(parts.v[i], 0, ID_MAX, &gid) < 0)
                        return fail(p, "%s needs group IDs from 0 to %" PRId64 ", not '%s'",
                                    flag->name, ID_MAX, parts.v[i]);
                r = append(list, json_object_new_int64(gid));
                if (r < 0)
                        return r;
        }
        return set_once(p, flag, target, TAKE_PTR(list));
}

/* mode=retain|remove[,errno=ENAME],SYSCALL,... in any order. */
static int seccomp_item(Parser *p, const PodFlag *flag, json_object *seccomp, json_object *set,
                        const char *item) {
        const char *eq = strchr(item, '=');

        if (!eq)
                return append(set, json_object_new_string(item));
        if (strncmp(item, "mode=", 5) == 0) {
                if (json_object_object_get_ex(seccomp, "mode", NULL))
                        return fail(p, "%s gives mode= twice", flag->name);
                if (strcmp(eq + 1, "retain") != 0 && strcmp(eq + 1, "remove") != 0)
                        return fail(p, "%s mode must be retain or remove, not '%s'", flag->name,
                                    eq + 1);
                return json_member_add(seccomp, "mode", json_object_new_string(eq + 1));
        }
        if (strncmp(item, "errno=", 6) == 0) {
                if (json_object_object_get_ex(seccomp, "errno", NULL))
                        return fail(p, "%s gives errno= twice", flag->name);
                if (eq[1] == '\0')
                        return fail(p, "%s has an empty errno=", flag->name);
                return json_member_add(seccomp, "errno", json_object_new_string(eq + 1));
        }
        return fail(p, "%s has an unknown parameter '%.*s' (mode and errno are known)",
                    flag->name, (int) (eq - item), item);
}

static int apply_seccomp(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        _cleanup_(parts_done) Parts parts = {};
        _cleanup_json_ json_object *seccomp = json_object_new_object();
        json_object *set = seccomp ? member(seccomp, "set", json_type_array) : NULL;
        int r;

        if (!set)
                return -ENOMEM;
        r = parts_split(p, flag, value, &parts);
        if (r < 0)
                return r;
        for (size_t i = 0; i < parts.n; i++) {
                r = seccomp_item(p, flag, seccomp, set, parts.v[i]);
                if (r < 0)
                        return r;
        }
        if (!json_object_object_get_ex(seccomp, "mode", NULL))
                return fail(p, "%s needs mode=retain or mode=remove", flag->name);
        if (json_object_array_length(set) == 0)
                return fail(p, "%s needs at least one syscall", flag->name);
        return set_once(p, flag, target, TAKE_PTR(seccomp));
}

/* KEY=VALUE items after the first into o, each key known, once, and not empty. */
static int params_parse(Parser *p, const PodFlag *flag, const Parts *parts, size_t first,
                        const char *const *keys, json_object *o) {
        for (size_t i = first; i < parts->n; i++) {
                const char *item = parts->v[i], *eq = strchr(item, '=');
                bool known = false;
                _cleanup_free_ char *key = NULL;

                if (!eq)
                        return fail(p, "%s needs KEY=VALUE items, not '%s'", flag->name, item);
                key = strndup(item, (size_t) (eq - item));
                if (!key)
                        return -ENOMEM;
                for (const char *const *k = keys; *k; k++)
                        known = known || strcmp(*k, key) == 0;
                if (!known)
                        return fail(p, "%s has an unknown parameter '%s'", flag->name, key);
                if (json_object_object_get_ex(o, key, NULL))
                        return fail(p, "%s gives %s= twice", flag->name, key);
                if (eq[1] == '\0')
                        return fail(p, "%s has an empty %s=", flag->name, key);
                if (json_member_add(o, key, json_object_new_string(eq + 1)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int apply_mount(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        static const char *const keys[] = { "volume", "target", NULL };
        _cleanup_(parts_done) Parts parts = {};
        _cleanup_json_ json_object *given = json_object_new_object(), *mount = NULL;
        json_object *volume, *path;
        int r;

        if (!given)
                return -ENOMEM;
        r = parts_split(p, flag, value, &parts);
        if (r < 0)
                return r;
        r = params_parse(p, flag, &parts, 0, keys, given);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(given, "volume", &volume) ||
            !json_object_object_get_ex(given, "target", &path))
                return fail(p, "%s needs volume=NAME,target=PATH, not '%s'", flag->name, value);
        mount = json_object_new_object();
        if (!mount || json_member_add(mount, "volume", json_object_get(volume)) < 0 ||
            json_member_add(mount, "path", json_object_get(path)) < 0)
                return -ENOMEM;
        return append(member(target, flag->key, json_type_array), TAKE_PTR(mount));
}

/* The typed fields of a volume, converted from the text params_parse collected. */
static int volume_convert(Parser *p, const PodFlag *flag, json_object *given, json_object *volume) {
        json_object_object_foreach(given, key, v) {
                const char *s = json_object_get_string(v);
                json_object *typed;

                if (strcmp(key, "readOnly") == 0 || strcmp(key, "recursive") == 0) {
                        bool b;

                        if (bool_parse(s, &b) < 0)
                                return fail(p, "%s %s= needs true or false, not '%s'", flag->name,
                                            key, s);
                        typed = json_object_new_boolean(b);
                } else if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
                        int64_t id;

                        if (int_parse(s, 0, ID_MAX, &id) < 0)
                                return fail(p, "%s %s= needs a number from 0 to %" PRId64 ", not '%s'",
                                            flag->name, key, ID_MAX, s);
                        typed = json_object_new_int64(id);
                } else if (strcmp(key, "mode") == 0) {
                        if (strlen(s) > 4 || strspn(s, "01234567") != strlen(s))
                                return fail(p, "%s mode= needs octal permissions such as 0755, not '%s'",
                                            flag->name, s);
                        typed = json_object_new_string(s);
                } else if (strcmp(key, "kind") == 0) {
                        if (strcmp(s, "host") != 0 && strcmp(s, "empty") != 0)
                                return fail(p, "%s kind= must be host or empty, not '%s'",
                                            flag->name, s);
                        typed = json_object_new_string(s);
                } else
                        typed = json_object_get(v);
                if (json_member_add(volume, key, typed) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* NAME,kind=host|empty[,source=PATH][,readOnly=BOOL][,recursive=BOOL][,mode=M][,uid=N][,gid=N] */
static int apply_volume(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        static const char *const keys[] = {
                "kind", "source", "readOnly", "recursive", "mode", "uid", "gid", NULL
        };
        _cleanup_(parts_done) Parts parts = {};
        _cleanup_json_ json_object *given = json_object_new_object(), *volume = NULL;
        int r;

        if (!given)
                return -ENOMEM;
        r = parts_split(p, flag, value, &parts);
        if (r < 0)
                return r;
        if (strchr(parts.v[0], '='))
                return fail(p, "%s needs the volume's name first: NAME,kind=host|empty,..., not '%s'",
                            flag->name, value);
        r = params_parse(p, flag, &parts, 1, keys, given);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(given, "kind", NULL))
                return fail(p, "%s needs kind=host or kind=empty in '%s'", flag->name, value);
        volume = json_object_new_object();
        if (!volume || json_member_add(volume, "name", json_object_new_string(parts.v[0])) < 0)
                return -ENOMEM;
        r = volume_convert(p, flag, given, volume);
        if (r < 0)
                return r;
        return append(member(target, flag->key, json_type_array), TAKE_PTR(volume));
}

/* NAME:[HOSTIP:]HOSTPORT, as rkt has it. */
static int apply_port(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        _cleanup_free_ char *copy = strdup(value);
        _cleanup_json_ json_object *port = NULL;
        char *name, *ip = NULL, *number, *third;
        int64_t n;

        if (!copy)
                return -ENOMEM;
        name = copy;
        number = strchr(copy, ':');
        if (!number)
                return fail(p, "%s needs NAME:[HOSTIP:]HOSTPORT, not '%s'", flag->name, value);
        *number++ = '\0';
        third = strchr(number, ':');
        if (third) {
                *third++ = '\0';
                ip = number;
                number = third;
        }
        if (name[0] == '\0')
                return fail(p, "%s has an empty port name in '%s'", flag->name, value);
        if (ip && !ip_valid(ip, true))
                return fail(p, "%s needs an IPv4 address as HOSTIP, not '%s'", flag->name, ip);
        if (int_parse(number, 1, PORT_MAX, &n) < 0)
                return fail(p, "%s needs a host port from 1 to %d, not '%s'", flag->name, PORT_MAX,
                            number);
        port = json_object_new_object();
        if (!port || json_member_add(port, "name", json_object_new_string(name)) < 0 ||
            json_member_add(port, "hostPort", json_object_new_int64(n)) < 0 ||
            (ip && json_member_add(port, "hostIp", json_object_new_string(ip)) < 0))
                return -ENOMEM;
        return append(member(target, flag->key, json_type_array), TAKE_PTR(port));
}

static int file_read(Parser *p, const PodFlag *flag, const char *path, char **ret) {
        PodArgsReadFile reader = p->context && p->context->read_file ? p->context->read_file :
                                                                         pod_args_read_file;
        int r;

        if (path[0] == '\0')
                return fail(p, "%s needs a file name", flag->name);
        r = reader(path, ret, p->context ? p->context->userdata : NULL);
        if (r == -ENOMEM)
                return r;
        if (r == -EFBIG)
                return fail(p, "%s %s: larger than %u bytes", flag->name, path, POD_ARGS_FILE_MAX);
        if (r == -EBADMSG)
                return fail(p, "%s %s: contains a NUL byte", flag->name, path);
        if (r < 0)
                return fail(p, "%s %s: %s", flag->name, path, strerror(-r));
        return 0;
}

static int apply_env_file(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        _cleanup_free_ char *text = NULL;
        json_object *env;
        int r;

        r = file_read(p, flag, value, &text);
        if (r < 0)
                return r;
        env = member(target, flag->key, json_type_object);
        if (!env)
                return -ENOMEM;
        return pod_args_env_file_parse(text, value, env, p->error, p->error_size);
}

static int apply_inherit_env(Parser *p, const PodFlag *flag, json_object *target,
                             const char *value) {
        json_object *env;

        if (strcmp(value, "true") != 0 || json_object_object_get_ex(target, flag->key, NULL))
                return 0;
        env = member(target, flag->key, json_type_object);
        if (!env)
                return -ENOMEM;
        for (char *const *e = p->context ? p->context->environ : NULL; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = NULL;

                /* As getenv() does, the first of two entries of a name is the one seen. */
                if (!eq || eq == *e)
                        continue;
                name = strndup(*e, (size_t) (eq - *e));
                if (!name)
                        return -ENOMEM;
                if (!json_object_object_get_ex(env, name, NULL) &&
                    json_member_add(env, name, json_object_new_string(eq + 1)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int apply_no_overlay(Parser *p, const PodFlag *flag, json_object *target,
                            const char *value) {
        (void) p;
        /* --no-overlay=false asks for the default, which is to leave overlay unset. */
        if (strcmp(value, "true") != 0 || json_object_object_get_ex(target, flag->key, NULL))
                return 0;
        return json_member_add(target, flag->key, json_object_new_boolean(0));
}

static int apply_private_users(Parser *p, const PodFlag *flag, json_object *target,
                               const char *value) {
        (void) p;
        if (strcmp(value, "true") != 0 || json_object_object_get_ex(target, flag->key, NULL))
                return 0;
        return json_member_add(target, flag->key, json_object_new_object());
}

static int apply_pod_manifest(Parser *p, const PodFlag *flag, json_object *target,
                              const char *value) {
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_object *manifest = NULL;
        char reason[256] = "";
        int r;

        if (json_object_object_get_ex(target, flag->key, NULL))
                return given_twice(p, flag, target);
        r = file_read(p, flag, value, &text);
        if (r < 0)
                return r;
        r = options_parse_json_object(text, &manifest, reason, sizeof(reason));
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(p, "%s %s: %s", flag->name, value, reason);
        return json_member_add(target, flag->key, TAKE_PTR(manifest));
}

static int apply_image_ref(Parser *p, const PodFlag *flag, json_object *target,
                           const char *value) {
        json_object *ref = NULL;
        char reason[256] = "";
        int r;

        r = image_ref_parse(value, NULL, &ref, reason, sizeof(reason));
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(p, "%s: %s", flag->name, reason);
        return set_once(p, flag, target, ref);
}

/* --net NAME[:ARGS][,NAME[:ARGS]...], repeatable; the networks keep their order. */
static int apply_net(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        _cleanup_(parts_done) Parts parts = {};
        json_object *list = member(target, flag->key, json_type_array);
        int r;

        if (!list)
                return -ENOMEM;
        r = parts_split(p, flag, value, &parts);
        if (r < 0)
                return r;
        for (size_t i = 0; i < parts.n; i++) {
                char *colon = strchr(parts.v[i], ':');
                _cleanup_json_ json_object *net = json_object_new_object();

                if (colon)
                        *colon++ = '\0';
                if (parts.v[i][0] == '\0')
                        return fail(p, "%s has a network without a name in '%s'", flag->name,
                                    value);
                if (colon && colon[0] == '\0')
                        return fail(p, "%s has empty arguments after '%s:'", flag->name,
                                    parts.v[i]);
                if (!net || json_member_add(net, "name", json_object_new_string(parts.v[i])) < 0 ||
                    (colon && json_member_add(net, "args", json_object_new_string(colon)) < 0))
                        return -ENOMEM;
                r = append(list, TAKE_PTR(net));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A repeatable value kept as one list entry each time it is given. */
static int apply_list_entry(Parser *p, const PodFlag *flag, json_object *target,
                            const char *value) {
        if (value[0] == '\0')
                return fail(p, "%s needs a non-empty value", flag->name);
        return append(member(target, flag->key, json_type_array), json_object_new_string(value));
}

/* --dns and --hosts-entry keep what was given for finish() to read as a whole. */
static int apply_collect(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        json_object **list = strcmp(flag->key, "dns") == 0 ? &p->dns : &p->hosts;

        (void) target;
        if (value[0] == '\0')
                return fail(p, "%s needs a non-empty value", flag->name);
        if (!*list)
                *list = json_object_new_array();
        return append(*list, json_object_new_string(value));
}

static int apply_ipc(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        if (strcmp(value, "auto") != 0 && strcmp(value, "private") != 0 &&
            strcmp(value, "parent") != 0)
                return fail(p, "%s must be auto, private or parent, not '%s'", flag->name, value);
        return set_once(p, flag, target, json_object_new_string(value));
}

static int insecure_add(json_object *list, const char *name) {
        for (size_t i = 0; i < json_object_array_length(list); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(list, i)), name) == 0)
                        return 0;
        return append(list, json_object_new_string(name));
}

/* capabilities, paths, seccomp, or all-run for the three (rkt's names). */
static int apply_insecure(Parser *p, const PodFlag *flag, json_object *target,
                          const char *value) {
        static const char *const all[] = { "capabilities", "paths", "seccomp" };
        _cleanup_(parts_done) Parts parts = {};
        json_object *list = member(target, flag->key, json_type_array);
        int r;

        if (!list)
                return -ENOMEM;
        r = parts_split(p, flag, value, &parts);
        if (r < 0)
                return r;
        for (size_t i = 0; i < parts.n; i++) {
                bool every = strcmp(parts.v[i], "all-run") == 0, known = every;

                for (size_t k = 0; k < ELEMENTSOF(all); k++) {
                        if (!every && strcmp(parts.v[i], all[k]) != 0)
                                continue;
                        known = true;
                        r = insecure_add(list, all[k]);
                        if (r < 0)
                                return r;
                }
                if (!known)
                        return fail(p, "%s knows capabilities, paths, seccomp and all-run, not '%s'",
                                    flag->name, parts.v[i]);
        }
        return 0;
}

static int apply_self(Parser *p, const PodFlag *flag, json_object *target, const char *value) {
        PodArgs *a = p->out;
        bool on = strcmp(value, "true") == 0;

        (void) target;
        if (strcmp(flag->name, "--quiet") == 0)
                a->quiet = on;
        else if (strcmp(flag->name, "--detach") == 0)
                a->detach = on;
        else if (strcmp(flag->name, "--json") == 0)
                a->json = true;
        else if (strcmp(flag->name, "--socket") == 0) {
                if (value[0] == '\0')
                        return fail(p, "--socket needs a non-empty address");
                a->socket = value;
        } else if (strcmp(flag->name, "--timeout") == 0) {
                if (options_parse_timeout(value, &a->timeout_usec) < 0)
                        return fail(p, "--timeout needs a positive number of seconds or \"infinity\", not '%s'",
                                    value);
                a->timeout_set = true;
        } else if (strcmp(flag->name, "--help") == 0 || strcmp(flag->name, "-h") == 0) {
                a->help = true;
                p->stop = true;
        } else if (strcmp(flag->name, "--version") == 0) {
                a->version = true;
                p->stop = true;
        }
        return 0;
}

/* --- the flag table --- */

static const PodFlag pod_flags[] = {
        /* per app */
        { "--name", SCOPE_APP, MODES_SPEC, false, "name", apply_string },
        { "--exec", SCOPE_APP, MODES_SPEC, false, "exec", apply_string },
        { "--user", SCOPE_APP, MODES_SPEC, false, "user", apply_string },
        { "--group", SCOPE_APP, MODES_SPEC, false, "group", apply_string },
        { "--supplementary-gids", SCOPE_APP, MODES_SPEC, false, "supplementaryGids", apply_gids },
        { "--working-dir", SCOPE_APP, MODES_SPEC, false, "workingDirectory", apply_string },
        { "--environment", SCOPE_APP, MODES_SPEC, false, "environment", apply_map_entry },
        { "--readonly-rootfs", SCOPE_APP, MODES_SPEC, true, "readOnlyRootfs", apply_bool },
        { "--memory", SCOPE_APP, MODES_SPEC, false, "memory", apply_string },
        { "--cpu", SCOPE_APP, MODES_SPEC, false, "cpu", apply_string },
        { "--cpu-shares", SCOPE_APP, MODES_SPEC, false, "cpuShares", apply_int },
        { "--oom-score-adj", SCOPE_APP, MODES_SPEC, false, "oomScoreAdj", apply_int },
        { "--caps-retain", SCOPE_APP, MODES_SPEC, false, "capsRetain", apply_name_list },
        { "--caps-remove", SCOPE_APP, MODES_SPEC, false, "capsRemove", apply_name_list },
        { "--seccomp", SCOPE_APP, MODES_SPEC, false, "seccomp", apply_seccomp },
        /* per app after an image, for the pod before the first */
        { "--mount", SCOPE_APP_OR_POD, MODES_SPEC, false, "mounts", apply_mount },
        { "--annotation", SCOPE_APP_OR_POD, MODES_SPEC, false, "annotations", apply_map_entry },
        { "--user-annotation", SCOPE_APP_OR_POD, MODES_SPEC, false, "userAnnotations", apply_map_entry },
        { "--user-label", SCOPE_APP_OR_POD, MODES_SPEC, false, "userLabels", apply_map_entry },
        /* the pod */
        { "--volume", SCOPE_POD, MODES_SPEC, false, "volumes", apply_volume },
        { "--port", SCOPE_POD, MODES_SPEC, false, "ports", apply_port },
        { "--set-env", SCOPE_POD, MODES_SPEC, false, "setEnv", apply_map_entry },
        { "--set-env-file", SCOPE_POD, MODES_SPEC, false, "envFromFile", apply_env_file },
        { "--inherit-env", SCOPE_POD, MODES_SPEC, true, "inheritedEnv", apply_inherit_env },
        { "--no-overlay", SCOPE_POD, MODES_SPEC, true, "overlay", apply_no_overlay },
        { "--private-users", SCOPE_POD, MODES_SPEC, true, "privateUsers", apply_private_users },
        { "--pod-manifest", SCOPE_POD, MODES_SPEC, false, "manifest", apply_pod_manifest },
        { "--stage1-image", SCOPE_POD, MODES_SPEC, false, "stage1Image", apply_image_ref },
        /* how to run */
        { "--net", SCOPE_RUN, MODES_RUNTIME, false, "net", apply_net },
        { "--hostname", SCOPE_RUN, MODES_RUNTIME, false, "hostname", apply_string },
        { "--dns", SCOPE_RUN, MODES_RUNTIME, false, "dns", apply_collect },
        { "--dns-search", SCOPE_RUN, MODES_RUNTIME, false, "dnsSearch", apply_list_entry },
        { "--dns-opt", SCOPE_RUN, MODES_RUNTIME, false, "dnsOptions", apply_list_entry },
        { "--dns-domain", SCOPE_RUN, MODES_RUNTIME, false, "dnsDomain", apply_string },
        { "--hosts-entry", SCOPE_RUN, MODES_RUNTIME, false, "hosts", apply_collect },
        { "--ipc", SCOPE_RUN, MODES_RUNTIME, false, "ipc", apply_ipc },
        { "--insecure-options", SCOPE_RUN, MODES_RUNTIME, false, "insecureOptions", apply_insecure },
        { "--local-config", SCOPE_RUN, MODES_RUNTIME, false, "localConfig", apply_string },
        { "--interactive", SCOPE_RUN, MODES_RUNTIME, true, "interactive", apply_switch },
        { "--mds-register", SCOPE_RUN, MODES_RUNTIME, true, "mdsRegister", apply_switch },
        { "--debug", SCOPE_RUN, MODES_RUNTIME, true, "debug", apply_switch },
        /* the command's own */
        { "--quiet", SCOPE_SELF, MODE_PREPARE, true, NULL, apply_self },
        { "--detach", SCOPE_SELF, MODES_RUNTIME, true, NULL, apply_self },
        /* stage0c's global options; is_bool here means "takes no value" */
        { "--json", SCOPE_SELF, MODES_ALL, true, NULL, apply_self },
        { "--socket", SCOPE_SELF, MODES_ALL, false, NULL, apply_self },
        { "--timeout", SCOPE_SELF, MODES_ALL, false, NULL, apply_self },
        { "--help", SCOPE_SELF, MODES_ALL, true, NULL, apply_self },
        { "-h", SCOPE_SELF, MODES_ALL, true, NULL, apply_self },
        { "--version", SCOPE_SELF, MODES_ALL, true, NULL, apply_self },
};

static bool flag_is_global(const PodFlag *flag) {
        return flag->scope == SCOPE_SELF && flag->modes == MODES_ALL;
}

static const PodFlag *flag_find(const char *name, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(pod_flags); i++)
                if (strlen(pod_flags[i].name) == len && strncmp(pod_flags[i].name, name, len) == 0)
                        return &pod_flags[i];
        return NULL;
}

/* The object a flag writes into; NULL with an error when there is none yet. */
static int flag_target(Parser *p, const PodFlag *flag, json_object **ret) {
        switch (flag->scope) {
        case SCOPE_APP:
                if (!p->app)
                        return fail(p, "%s must follow an image", flag->name);
                *ret = p->app;
                return 0;
        case SCOPE_APP_OR_POD:
                *ret = p->app ? p->app : p->spec;
                return 0;
        case SCOPE_POD:
                *ret = p->spec;
                return 0;
        case SCOPE_RUN:
                *ret = p->options;
                return 0;
        default:
                *ret = NULL;
                return 0;
        }
}

/* The value of a boolean flag as "true" or "false". */
static int bool_value(Parser *p, const PodFlag *flag, const char *given, const char **ret) {
        bool b;

        if (!given) {
                *ret = "true";
                return 0;
        }
        if (flag_is_global(flag))
                return fail(p, "%s takes no value", flag->name);
        if (bool_parse(given, &b) < 0)
                return fail(p, "%s takes true or false, not '%s'", flag->name, given);
        *ret = b ? "true" : "false";
        return 0;
}

/* Handles args[*i], a flag; may consume args[*i + 1] as its value. */
static int flag_take(Parser *p, char *const *args, size_t n_args, size_t *i) {
        const char *arg = args[*i], *eq = strchr(arg, '='), *value = eq ? eq + 1 : NULL;
        size_t len = eq ? (size_t) (eq - arg) : strlen(arg);
        const PodFlag *flag = flag_find(arg, len);
        json_object *target = NULL;
        int r;

        if (!flag || !(flag->modes & (1U << p->out->mode)))
                return fail(p, "unknown option '%.*s' for %s", (int) len, arg,
                            pod_args_mode_to_string(p->out->mode));
        if (flag->is_bool)
                r = bool_value(p, flag, value, &value);
        else if (!value && *i + 1 >= n_args)
                r = fail(p, "%s needs a value", flag->name);
        else {
                if (!value)
                        value = args[++*i];
                r = 0;
        }
        if (r < 0)
                return r;
        r = flag_target(p, flag, &target);
        if (r < 0)
                return r;
        return flag->apply(p, flag, target, value);
}

/* --- positional arguments --- */

static int image_take(Parser *p, const char *arg) {
        _cleanup_json_ json_object *app = NULL;
        json_object *ref = NULL;
        char reason[256] = "";
        int r;

        r = image_ref_parse(arg, NULL, &ref, reason, sizeof(reason));
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(p, "image '%s': %s", arg, reason);
        app = json_object_new_object();
        if (!app || json_member_add(app, "image", ref) < 0)
                return -ENOMEM;
        p->app = app;
        r = append(p->apps, TAKE_PTR(app));
        if (r < 0) {
                p->app = NULL;
                return r;
        }
        p->app_image = arg;
        p->app_args_given = false;
        return 0;
}

static int positional_take(Parser *p, const char *arg) {
        if (p->out->mode != POD_ARGS_RUN_PREPARED)
                return image_take(p, arg);
        if (p->out->uuid)
                return fail(p, "run-prepared takes one UUID; '%s' is one too many", arg);
        if (arg[0] == '\0')
                return fail(p, "the UUID is empty");
        p->out->uuid = arg;
        return 0;
}

/* "--" at args[*i]: everything up to "---" (or the end) is the last app's arguments. */
static int app_args_take(Parser *p, char *const *args, size_t n_args, size_t *i) {
        json_object *list;

        if (p->out->mode == POD_ARGS_RUN_PREPARED)
                return fail(p, "run-prepared takes no app arguments ('--')");
        if (!p->app)
                return fail(p, "app arguments ('--') must follow an image");
        if (p->app_args_given)
                return fail(p, "image '%s' has a second set of app arguments ('--')", p->app_image);
        p->app_args_given = true;
        list = member(p->app, "args", json_type_array);
        if (!list)
                return -ENOMEM;
        for (++*i; *i < n_args && strcmp(args[*i], "---") != 0; ++*i) {
                int r = append(list, json_object_new_string(args[*i]));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- the end: what only the whole command line decides --- */

static int dns_finish(Parser *p) {
        size_t n = p->dns ? json_object_array_length(p->dns) : 0;
        json_object *servers;

        for (size_t i = 0; i < n; i++) {
                const char *d = json_object_get_string(json_object_array_get_idx(p->dns, i));

                if (strcmp(d, "host") != 0 && strcmp(d, "none") != 0)
                        continue;
                if (n > 1)
                        return fail(p, "--dns=%s excludes other --dns values", d);
                if (json_object_object_get_ex(p->options, "dnsSearch", NULL) ||
                    json_object_object_get_ex(p->options, "dnsOptions", NULL) ||
                    json_object_object_get_ex(p->options, "dnsDomain", NULL))
                        return fail(p, "--dns-search, --dns-opt and --dns-domain do not go with --dns=%s",
                                    d);
                return json_member_add(p->options, "resolvMode", json_object_new_string(d));
        }
        for (size_t i = 0; i < n; i++) {
                const PodFlag *flag = flag_find("--dns", 5);
                _cleanup_(parts_done) Parts parts = {};
                int r = parts_split(p, flag, json_object_get_string(json_object_array_get_idx(p->dns, i)),
                                    &parts);

                if (r < 0)
                        return r;
                servers = member(p->options, "dnsServers", json_type_array);
                for (size_t k = 0; k < parts.n; k++) {
                        if (!ip_valid(parts.v[k], false))
                                return fail(p, "--dns needs IP addresses, 'host' or 'none', not '%s'",
                                            parts.v[k]);
                        r = append(servers, json_object_new_string(parts.v[k]));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The entry of ip in entries, created when absent. */
static json_object *hosts_entry(json_object *entries, const char *ip) {
        _cleanup_json_ json_object *entry = NULL;

        for (size_t i = 0; i < json_object_array_length(entries); i++) {
                json_object *e = json_object_array_get_idx(entries, i), *v;

                if (json_object_object_get_ex(e, "ip", &v) &&
                    strcmp(json_object_get_string(v), ip) == 0)
                        return e;
        }
        entry = json_object_new_object();
        if (!entry || json_member_add(entry, "ip", json_object_new_string(ip)) < 0 ||
            !member(entry, "hostnames", json_type_array))
                return NULL;
        if (append(entries, json_object_get(entry)) < 0)
                return NULL;
        return entry;
}

static int hosts_item(Parser *p, json_object *entries, char *item) {
        char *eq = strchr(item, '=');
        json_object *entry, *names;

        if (!eq)
                return fail(p, "--hosts-entry needs IP=HOSTNAME or 'host', not '%s'", item);
        *eq = '\0';
        if (!ip_valid(item, false))
                return fail(p, "--hosts-entry needs an IP address before '=', not '%s'", item);
        if (eq[1] == '\0')
                return fail(p, "--hosts-entry has an empty hostname for %s", item);
        entry = hosts_entry(entries, item);
        if (!entry || !json_object_object_get_ex(entry, "hostnames", &names))
                return -ENOMEM;
        return append(names, json_object_new_string(eq + 1));
}

static int hosts_finish(Parser *p) {
        size_t n = p->hosts ? json_object_array_length(p->hosts) : 0;
        json_object *entries;

        for (size_t i = 0; i < n; i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(p->hosts, i)), "host") == 0) {
                        if (n > 1)
                                return fail(p, "--hosts-entry=host excludes other --hosts-entry values");
                        return json_member_add(p->options, "hostsMode", json_object_new_string("host"));
                }
        if (n == 0)
                return 0;
        entries = member(p->options, "hostsEntries", json_type_array);
        if (!entries)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const PodFlag *flag = flag_find("--hosts-entry", 13);
                _cleanup_(parts_done) Parts parts = {};
                int r = parts_split(p, flag, json_object_get_string(json_object_array_get_idx(p->hosts, i)),
                                    &parts);

                if (r < 0)
                        return r;
                for (size_t k = 0; k < parts.n; k++) {
                        r = hosts_item(p, entries, parts.v[k]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* A pod manifest stands for the apps and everything that generates the manifest. */
static int manifest_finish(Parser *p) {
        static const struct {
                const char *key, *flag;
        } replaced[] = {
                { "volumes", "--volume" },
                { "mounts", "--mount" },
                { "ports", "--port" },
                { "annotations", "--annotation" },
                { "userAnnotations", "--user-annotation" },
                { "userLabels", "--user-label" },
                { "inheritedEnv", "--inherit-env" },
                { "envFromFile", "--set-env-file" },
                { "setEnv", "--set-env" },
        };
        size_t n_apps = json_object_array_length(p->apps);

        if (!json_object_object_get_ex(p->spec, "manifest", NULL)) {
                if (n_apps == 0)
                        return fail(p, "missing IMAGE (or --pod-manifest FILE)");
                return 0;
        }
        if (n_apps > 0)
                return fail(p, "--pod-manifest excludes images: the manifest names the apps");
        for (size_t i = 0; i < ELEMENTSOF(replaced); i++)
                if (json_object_object_get_ex(p->spec, replaced[i].key, NULL))
                        return fail(p, "--pod-manifest excludes %s: the manifest says it",
                                    replaced[i].flag);
        return 0;
}

static int finish(Parser *p) {
        PodArgs *a = p->out;
        int r;

        if (a->mode == POD_ARGS_RUN_PREPARED && !a->uuid)
                return fail(p, "missing UUID");
        if (a->mode != POD_ARGS_RUN_PREPARED) {
                r = manifest_finish(p);
                if (r < 0)
                        return r;
                if (json_object_array_length(p->apps) > 0 &&
                    json_member_add(p->spec, "apps", TAKE_PTR(p->apps)) < 0)
                        return -ENOMEM;
                a->spec = TAKE_PTR(p->spec);
        }
        if (a->mode == POD_ARGS_PREPARE)
                return 0;
        r = dns_finish(p);
        if (r < 0)
                return r;
        r = hosts_finish(p);
        if (r < 0)
                return r;
        if (json_object_object_length(p->options) > 0)
                a->options = TAKE_PTR(p->options);
        return 0;
}

int pod_args_parse(PodArgs *ret, PodArgsMode mode, char *const *args, size_t n_args,
                   const PodArgsContext *context, char *error, size_t error_size) {
        PodArgs a = { .mode = mode };
        _cleanup_(parser_done) Parser p = {
                .out = &a,
                .context = context,
                .spec = json_object_new_object(),
                .options = json_object_new_object(),
                .apps = json_object_new_array(),
                .error = error,
                .error_size = error_size,
        };
        int r = 0;

        if (mode < 0 || mode >= _POD_ARGS_MODE_MAX || (!args && n_args > 0))
                return -EINVAL;
        if (!p.spec || !p.options || !p.apps)
                return -ENOMEM;
        for (size_t i = 0; i < n_args && r >= 0 && !p.stop; i++) {
                const char *arg = args[i];

                if (strcmp(arg, "--") == 0)
                        r = app_args_take(&p, args, n_args, &i);
                else if (strcmp(arg, "---") == 0)
                        r = fail(&p, "'---' ends app arguments, but no '--' began them");
                else if (arg[0] == '-' && arg[1] != '\0')
                        r = flag_take(&p, args, n_args, &i);
                else
                        r = positional_take(&p, arg);
        }
        if (r >= 0 && !p.stop)
                r = finish(&p);
        if (r < 0) {
                pod_args_done(&a);
                return r;
        }
        *ret = a;
        return 0;
}

void pod_args_done(PodArgs *args) {
        if (!args)
                return;
        json_object_put(args->spec);
        json_object_put(args->options);
        args->spec = args->options = NULL;
}

/* --- files --- */

int pod_args_read_file(const char *path, char **ret, void *userdata) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        struct stat st;

        (void) userdata;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NEG_ERRNO();
        if (fstat(fd, &st) < 0)
                return NEG_ERRNO();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        buf = malloc(POD_ARGS_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        /* Read one byte past the bound to tell a file of exactly the bound from a larger one. */
        while (n <= POD_ARGS_FILE_MAX) {
                ssize_t k = read(fd, buf + n, POD_ARGS_FILE_MAX + 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return NEG_ERRNO();
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > POD_ARGS_FILE_MAX)
                return -EFBIG;
        if (memchr(buf, '\0', n))
                return -EBADMSG;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

static int env_line(const char *line, size_t len, const char *name, size_t line_no,
                    json_object *env, char *error, size_t error_size) {
        const char *eq = memchr(line, '=', len);
        _cleanup_free_ char *key = NULL, *value = NULL;

        if (len == 0 || line[0] == '#' || line[0] == ';')
                return 0;
        if (!eq || eq == line) {
                snprintf(error, error_size, "%s:%zu: needs VAR=VALUE, not '%.*s'", name, line_no,
                         (int) len, line);
                return -EINVAL;
        }
        key = strndup(line, (size_t) (eq - line));
        value = strndup(eq + 1, len - (size_t) (eq - line) - 1);
        if (!key || !value)
                return -ENOMEM;
        if (json_object_object_get_ex(env, key, NULL)) {
                snprintf(error, error_size, "%s:%zu: '%s' is set twice", name, line_no, key);
                return -EINVAL;
        }
        return json_member_add(env, key, json_object_new_string(value));
}

int pod_args_env_file_parse(const char *text, const char *name, json_object *env, char *error,
                            size_t error_size) {
        size_t line_no = 0;

        for (const char *line = text; *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                int r;

                r = env_line(line, len, name, ++line_no, env, error, error_size);
                if (r < 0)
                        return r;
                line += len + (nl ? 1 : 0);
        }
        return 0;
}

/* --- output helpers --- */

static int base64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/* One group of four characters into up to three bytes; padding only at the end. */
static int base64_group(const char *g, bool last, uint8_t *out, size_t *n) {
        int v[4];
        size_t pad = 0;

        for (size_t i = 0; i < 4; i++) {
                if (g[i] == '=' && last && i >= 2) {
                        pad++;
                        v[i] = 0;
                        continue;
                }
                if (pad > 0)
                        return -EBADMSG;
                v[i] = base64_value(g[i]);
                if (v[i] < 0)
                        return -EBADMSG;
        }
        out[0] = (uint8_t) (v[0] << 2 | v[1] >> 4);
        out[1] = (uint8_t) ((v[1] & 0xf) << 4 | v[2] >> 2);
        out[2] = (uint8_t) ((v[2] & 0x3) << 6 | v[3]);
        *n = 3 - pad;
        return 0;
}

int pod_args_base64_decode(const char *text, uint8_t **ret, size_t *ret_size) {
        size_t len = strlen(text), n = 0;
        _cleanup_free_ uint8_t *buf = NULL;

        if (len % 4 != 0)
                return -EBADMSG;
        buf = malloc(len / 4 * 3 + 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                size_t k;
                int r = base64_group(text + i, i + 4 == len, buf + n, &k);

                if (r < 0)
                        return r;
                n += k;
        }
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

int pod_args_exit_code(json_object *pod, int *ret) {
        json_object *apps = json_member_get(pod, "apps");

        if (!json_object_is_type(apps, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                json_object *code = json_member_get(json_object_array_get_idx(apps, i), "exitCode");
                int64_t c;

                if (!json_object_is_type(code, json_type_int)) {
                        *ret = 1;
                        return 0;
                }
                c = json_object_get_int64(code);
                if (c != 0) {
                        *ret = c < 0 || c > 255 ? 255 : (int) c;
                        return 0;
                }
        }
        *ret = 0;
        return 0;
}

const char *pod_args_time_format(int64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;
        char date[64];

        if (usec < 0 || !gmtime_r(&t, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                snprintf(buf, size, "@%" PRId64, usec);
        else
                snprintf(buf, size, "%s.%03dZ", date, (int) (usec % 1000000 / 1000));
        return buf;
}

static void time_line(FILE *f, json_object *pod, const char *key, const char *label) {
        json_object *v = json_member_get(pod, key);
        char text[128];

        if (json_object_is_type(v, json_type_int))
                fprintf(f, "%s=%s\n", label,
                        pod_args_time_format(json_object_get_int64(v), text, sizeof(text)));
}

static void networks_line(FILE *f, json_object *networks) {
        const char *sep = "";

        if (!json_object_is_type(networks, json_type_array) || json_object_array_length(networks) == 0)
                return;
        fputs("networks=", f);
        for (size_t i = 0; i < json_object_array_length(networks); i++) {
                json_object *n = json_object_array_get_idx(networks, i);
                const char *name = json_member_string(n, "name") ?: "?";

                if (json_member_string(n, "ipv4"))
                        fprintf(f, "%s%s:ip4=%s", sep, name, json_member_string(n, "ipv4"));
                if (json_member_string(n, "ipv6"))
                        fprintf(f, "%s%s:ip6=%s", json_member_string(n, "ipv4") ? "," : sep, name,
                                json_member_string(n, "ipv6"));
                if (!json_member_string(n, "ipv4") && !json_member_string(n, "ipv6"))
                        fprintf(f, "%s%s", sep, name);
                sep = ",";
        }
        fputc('\n', f);
}

static void status_write(FILE *f, json_object *pod, const char *state, json_object *apps) {
        json_object *pid = json_member_get(pod, "pid");

        fprintf(f, "uuid=%s\nstate=%s\n", json_member_string(pod, "uuid"), state);
        time_line(f, pod, "createdUsec", "created");
        time_line(f, pod, "startedUsec", "started");
        if (json_object_is_type(pid, json_type_int))
                fprintf(f, "pid=%" PRId64 "\n", json_object_get_int64(pid));
        fprintf(f, "exited=%s\n",
                strcmp(state, "exited") == 0 || strcmp(state, "exitedGarbage") == 0 ? "true" : "false");
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                json_object *app = json_object_array_get_idx(apps, i);
                json_object *code = json_member_get(app, "exitCode");

                if (json_object_is_type(code, json_type_int))
                        fprintf(f, "app-%s=%" PRId64 "\n", json_member_string(app, "name") ?: "?",
                                json_object_get_int64(code));
        }
        networks_line(f, json_member_get(pod, "networks"));
}

int pod_args_status_text(json_object *pod, char **ret) {
        /* buf before f: closing a memory stream may still write the buffer pointer. */
        _cleanup_free_ char *buf = NULL;
        const char *state = json_member_string(pod, "state");
        json_object *apps = json_member_get(pod, "apps");
        size_t size;
        FILE *f;
        int r = 0;

        if (!json_member_string(pod, "uuid") || !state || !json_object_is_type(apps, json_type_array))
                return -EBADMSG;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        status_write(f, pod, state, apps);
        if (ferror(f))
                r = -ENOMEM;
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}
