/* PodSpec checks; see pod-spec.h. The rules are rkt's (stage0/run.go, common/apps, the rkt CLI
 * flag parsers and appc's schema types); where the IDL states a rule rkt left to stage1 (a
 * mount naming a missing volume), it is refused here, before anything is rendered. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "appc.h"
#include "cleanup.h"
#include "pod-spec.h"

#define UID_MAX_VALID ((int64_t) UINT32_MAX - 1)

/* The member key of obj (absent and null are the same), of type type. */
static int member(json_object *obj, const char *parent, const char *key, json_type type,
                  json_object **ret, ErrorDetail *error) {
        return appc_json_member(obj, parent, key, type, false, ret, error);
}

static int member_string(json_object *obj, const char *parent, const char *key,
                         const char **ret, ErrorDetail *error) {
        json_object *o;
        int r;

        r = member(obj, parent, key, json_type_string, &o, error);
        if (r < 0)
                return r;
        *ret = o ? json_object_get_string(o) : NULL;
        return 0;
}

static bool is_set(json_object *obj, const char *key) {
        json_object *o;

        return json_object_object_get_ex(obj, key, &o) && o;
}

static int check_int_range(json_object *o, const char *path, int64_t min, int64_t max,
                           ErrorDetail *error) {
        int64_t v = json_object_get_int64(o);

        if (!json_object_is_type(o, json_type_int))
                return error_detail_set(error, -EINVAL, path, "must be an integer");
        if (v < min || v > max)
                return error_detail_set(error, -EINVAL, path,
                                        "%" PRIi64 " is out of range %" PRIi64 "..%" PRIi64, v,
                                        min, max);
        return 0;
}

/* A string without embedded NULs (json-c strings are counted). */
static int check_string(json_object *o, const char *path, ErrorDetail *error) {
        if (!json_object_is_type(o, json_type_string))
                return error_detail_set(error, -EINVAL, path, "must be a string");
        if (strlen(json_object_get_string(o)) != (size_t) json_object_get_string_len(o))
                return error_detail_set(error, -EINVAL, path, "contains a NUL character");
        return 0;
}

/* An optional list member of at most POD_SPEC_LIST_MAX entries; *ret_n is 0 when absent. */
static int member_list(json_object *obj, const char *parent, const char *key, size_t max,
                       json_object **ret, size_t *ret_n, ErrorDetail *error) {
        char path[APPC_PATH_MAX];
        int r;

        r = member(obj, parent, key, json_type_array, ret, error);
        if (r < 0)
                return r;
        *ret_n = *ret ? json_object_array_length(*ret) : 0;
        if (*ret_n > max)
                return error_detail_set(error, -EINVAL, appc_path_key(path, parent, key),
                                        "more than %zu entries", max);
        return 0;
}

/* Element i of a list, which must be an object. */
static int list_object(json_object *list, size_t i, const char *parent,
                       char path[static APPC_PATH_MAX], json_object **ret, ErrorDetail *error) {
        json_object *o = json_object_array_get_idx(list, i);

        appc_path_index(path, parent, i);
        if (!json_object_is_type(o, json_type_object))
                return error_detail_set(error, -EINVAL, path, "must be an object");
        *ret = o;
        return 0;
}

static int check_string_list(json_object *list, const char *path, ErrorDetail *error) {
        size_t n = json_object_array_length(list);

        for (size_t i = 0; i < n; i++) {
                char p[APPC_PATH_MAX];
                int r;

                r = check_string(json_object_array_get_idx(list, i), appc_path_index(p, path, i),
                                 error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A [string]string map member: string values, keys accepted by key_ok (NULL: any key). */
static int check_string_map(json_object *obj, const char *parent, const char *key,
                            bool (*key_ok)(const char *), const char *what, size_t max,
                            ErrorDetail *error) {
        char path[APPC_PATH_MAX];
        json_object *map;
        int r;

        r = member(obj, parent, key, json_type_object, &map, error);
        if (r < 0 || !map)
                return r;
        appc_path_key(path, parent, key);
        if ((size_t) json_object_object_length(map) > max)
                return error_detail_set(error, -EINVAL, path, "more than %zu entries", max);
        json_object_object_foreach(map, k, v) {
                char p[APPC_PATH_MAX];

                appc_path_key(p, path, k);
                if (!*k)
                        return error_detail_set(error, -EINVAL, p, "empty name");
                if (key_ok && !key_ok(k))
                        return error_detail_set(error, -EINVAL, p, "not %s: \"%s\"", what, k);
                r = check_string(v, p, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- image references --- */

static bool is_image_id_prefix(const char *s) {
        size_t n;

        if (strncmp(s, "sha512-", 7) != 0)
                return false;
        n = strspn(s + 7, "0123456789abcdef");
        return s[7 + n] == '\0' && n >= 2 && n <= 128;
}

static bool is_label_name(const char *s) {
        return appc_is_identifier(s);
}

int pod_spec_check_image_ref(json_object *ref, const char *field, ErrorDetail *error) {
        const char *id, *name;
        char p[APPC_PATH_MAX];
        int r;

        if (!json_object_is_type(ref, json_type_object))
                return error_detail_set(error, -EINVAL, field, "must be an object");
        r = member_string(ref, field, "id", &id, error);
        if (r < 0)
                return r;
        r = member_string(ref, field, "name", &name, error);
        if (r < 0)
                return r;
        if (!id == !name)
                return error_detail_set(error, -EINVAL, field,
                                        "exactly one of id and name must be set");
        if (id && !is_image_id_prefix(id))
                return error_detail_set(error, -EINVAL, appc_path_key(p, field, "id"),
                                        "not an image ID or ID prefix (\"sha512-\" and 2 to "
                                        "128 lowercase hex digits): \"%s\"", id);
        if (id && is_set(ref, "labels"))
                return error_detail_set(error, -EINVAL, appc_path_key(p, field, "labels"),
                                        "labels go only with an image name");
        if (name && !appc_is_identifier(name))
                return error_detail_set(error, -EINVAL, appc_path_key(p, field, "name"),
                                        "not an ACIdentifier: \"%s\"", name);
        return check_string_map(ref, field, "labels", is_label_name, "an ACIdentifier",
                                POD_SPEC_LIST_MAX, error);
}

/* --- volumes, mounts, ports --- */

static bool is_octal_mode(const char *s) {
        size_t n = strspn(s, "01234567");

        return n >= 1 && n <= 4 && s[n] == '\0';
}

/* Refuses key on a host volume. */
static int volume_refuse_key(json_object *v, const char *path, const char *key,
                             ErrorDetail *error) {
        char p[APPC_PATH_MAX];

        if (is_set(v, key))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, key),
                                        "%s for host volume cannot be set", key);
        return 0;
}

static int check_host_volume(json_object *v, const char *path, const char *source,
                             ErrorDetail *error) {
        static const char *const refused[] = { "mode", "uid", "gid" };
        char p[APPC_PATH_MAX];
        int r;

        appc_path_key(p, path, "source");
        if (!source || !*source)
                return error_detail_set(error, -EINVAL, p,
                                        "source for host volume cannot be empty");
        if (*source != '/')
                return error_detail_set(error, -EINVAL, p,
                                        "source for host volume must be an absolute path: "
                                        "\"%s\"", source);
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                r = volume_refuse_key(v, path, refused[i], error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_empty_volume(json_object *v, const char *path, const char *source,
                              ErrorDetail *error) {
        static const char *const ids[] = { "uid", "gid" };
        char p[APPC_PATH_MAX];
        const char *mode;
        int r;

        if (source && *source)
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "source"),
                                        "source for empty volume must be empty");
        r = member_string(v, path, "mode", &mode, error);
        if (r < 0)
                return r;
        if (mode && !is_octal_mode(mode))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "mode"),
                                        "not an octal mode such as \"0755\": \"%s\"", mode);
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                json_object *o;

                r = member(v, path, ids[i], json_type_int, &o, error);
                if (r < 0)
                        return r;
                if (o) {
                        r = check_int_range(o, appc_path_key(p, path, ids[i]), 0,
                                            UID_MAX_VALID, error);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* A Volume, in the spec or in a manifest (the keys are the same). */
static int check_volume(json_object *v, const char *path, ErrorDetail *error) {
        const char *name, *kind, *source;
        char p[APPC_PATH_MAX];
        json_object *o;
        int r;

        r = appc_json_name(v, path, "name", &name, error);
        if (r < 0)
                return r;
        r = appc_json_member(v, path, "kind", json_type_string, true, &o, error);
        if (r < 0)
                return r;
        kind = json_object_get_string(o);
        r = member_string(v, path, "source", &source, error);
        if (r < 0)
                return r;
        r = member(v, path, "readOnly", json_type_boolean, &o, error);
        if (r < 0)
                return r;
        r = member(v, path, "recursive", json_type_boolean, &o, error);
        if (r < 0)
                return r;
        if (strcmp(kind, "host") == 0)
                return check_host_volume(v, path, source, error);
        if (strcmp(kind, "empty") == 0)
                return check_empty_volume(v, path, source, error);
        return error_detail_set(error, -EINVAL, appc_path_key(p, path, "kind"),
                                "unrecognized volume kind \"%s\": should be one of \"empty\", "
                                "\"host\"", kind);
}

static const char *object_name(json_object *o) {
        json_object *n;

        return json_object_object_get_ex(o, "name", &n) ? json_object_get_string(n) : NULL;
}

/* Index of the first element of list before end named name, or -1. */
static ssize_t find_named(json_object *list, size_t end, const char *name) {
        for (size_t j = 0; j < end; j++) {
                const char *other = object_name(json_object_array_get_idx(list, j));

                if (other && strcmp(other, name) == 0)
                        return (ssize_t) j;
        }
        return -1;
}

static int check_volumes(json_object *obj, const char *parent, ErrorDetail *error) {
        char path[APPC_PATH_MAX];
        json_object *volumes;
        size_t n;
        int r;

        r = member_list(obj, parent, "volumes", POD_SPEC_LIST_MAX, &volumes, &n, error);
        appc_path_key(path, parent, "volumes");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char p[APPC_PATH_MAX], q[APPC_PATH_MAX];
                json_object *v = NULL;

                r = list_object(volumes, i, path, p, &v, error);
                if (r < 0)
                        return r;
                r = check_volume(v, p, error);
                if (r < 0)
                        return r;
                if (find_named(volumes, i, object_name(v)) >= 0)
                        return error_detail_set(error, -EINVAL, appc_path_key(q, p, "name"),
                                                "duplicate volume name \"%s\"", object_name(v));
        }
        return r;
}

/* A Mount; volumes (the pod's, or NULL for a manifest, where appVolume may stand in) must have
 * a volume of its name. In the spec the path is absolute, as the IDL says. */
static int check_mount(json_object *m, const char *path, json_object *volumes, bool spec,
                       ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        const char *volume, *mpath;
        json_object *o;
        int r;

        r = appc_json_name(m, path, "volume", &volume, error);
        if (r < 0)
                return r;
        r = appc_json_member(m, path, "path", json_type_string, true, &o, error);
        if (r < 0)
                return r;
        mpath = json_object_get_string(o);
        appc_path_key(p, path, "path");
        if (!*mpath)
                return error_detail_set(error, -EINVAL, p, "must not be empty");
        if (spec && *mpath != '/')
                return error_detail_set(error, -EINVAL, p, "must be an absolute path: \"%s\"",
                                        mpath);
        if (!spec) {
                r = member(m, path, "appVolume", json_type_object, &o, error);
                if (r < 0 || o)
                        return r < 0 ? r : check_volume(o, appc_path_key(p, path, "appVolume"),
                                                        error);
                return 0;
        }
        if (find_named(volumes, volumes ? json_object_array_length(volumes) : 0, volume) < 0)
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "volume"),
                                        "dangling mount point \"%s\": volume \"%s\" not found",
                                        mpath, volume);
        return 0;
}

static int check_mounts(json_object *obj, const char *parent, json_object *volumes, bool spec,
                        ErrorDetail *error) {
        char path[APPC_PATH_MAX];
        json_object *mounts;
        size_t n;
        int r;

        r = member_list(obj, parent, "mounts", POD_SPEC_LIST_MAX, &mounts, &n, error);
        appc_path_key(path, parent, "mounts");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char p[APPC_PATH_MAX];
                json_object *m = NULL;

                r = list_object(mounts, i, path, p, &m, error);
                if (r < 0)
                        return r;
                r = check_mount(m, p, volumes, spec, error);
        }
        return r;
}

int pod_spec_check_port(json_object *port, const char *ip_key, const char *path,
                        ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        const char *name, *ip;
        struct in_addr addr;
        json_object *o;
        int r;

        r = appc_json_name(port, path, "name", &name, error);
        if (r < 0)
                return r;
        r = appc_json_member(port, path, "hostPort", json_type_int, true, &o, error);
        if (r < 0)
                return r;
        r = check_int_range(o, appc_path_key(p, path, "hostPort"), 1, 65535, error);
        if (r < 0)
                return r;
        r = member_string(port, path, ip_key, &ip, error);
        if (r < 0)
                return r;
        if (ip && inet_pton(AF_INET, ip, &addr) != 1)
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, ip_key),
                                        "not an IPv4 address: \"%s\"", ip);
        return 0;
}

/* An appc Port standing in for an app's (ExposedPort.podPort of a manifest). */
static int check_pod_port(json_object *port, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        const char *protocol;
        json_object *o;
        int r;

        r = appc_json_member(port, path, "protocol", json_type_string, true, &o, error);
        if (r < 0)
                return r;
        protocol = json_object_get_string(o);
        if (strcmp(protocol, "tcp") != 0 && strcmp(protocol, "udp") != 0)
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "protocol"),
                                        "must be \"tcp\" or \"udp\", not \"%s\"", protocol);
        r = appc_json_member(port, path, "port", json_type_int, true, &o, error);
        if (r < 0)
                return r;
        return check_int_range(o, appc_path_key(p, path, "port"), 1, 65535, error);
}

static int check_ports(json_object *obj, const char *parent, const char *ip_key, bool manifest,
                       ErrorDetail *error) {
        char path[APPC_PATH_MAX];
        json_object *ports;
        size_t n;
        int r;

        r = member_list(obj, parent, "ports", POD_SPEC_LIST_MAX, &ports, &n, error);
        appc_path_key(path, parent, "ports");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char p[APPC_PATH_MAX], q[APPC_PATH_MAX];
                json_object *port = NULL, *pod_port;

                r = list_object(ports, i, path, p, &port, error);
                if (r < 0)
                        return r;
                r = pod_spec_check_port(port, ip_key, p, error);
                if (r < 0 || !manifest)
                        continue;
                r = member(port, p, "podPort", json_type_object, &pod_port, error);
                if (r >= 0 && pod_port)
                        r = check_pod_port(pod_port, appc_path_key(q, p, "podPort"), error);
        }
        return r;
}

/* --- isolator overrides (rkt's prepareIsolators inputs) --- */

void pod_isolator_overrides_done(PodIsolatorOverrides *o) {
        json_object **all[] = { &o->memory, &o->cpu, &o->cpu_shares, &o->oom_score_adj,
                                &o->caps, &o->seccomp };

        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                json_object_put(*all[i]);
                *all[i] = NULL;
        }
}

static json_object *isolator_new(const char *name, json_object *value) {
        json_object *o = json_object_new_object();

        if (!o || !value) {
                json_object_put(o);
                json_object_put(value);
                return NULL;
        }
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "value", value);
        return o;
}

/* Checks a built override by appc's rules and reports a refusal at the spec's field. */
static int override_validate(json_object *isolator, const char *field, ErrorDetail *error) {
        ErrorDetail inner = {};
        int r;

        if (!isolator)
                return -ENOMEM;
        r = appc_isolator_validate(isolator, "", &inner);
        if (r < 0)
                return error_detail_set(error, r, field, "%s", inner.reason);
        return 0;
}

/* resource/memory or resource/cpu from a quantity string, request = limit (rkt's --memory and
 * --cpu). */
static int override_resource(json_object *app, const char *app_path, const char *key,
                             const char *name, json_object **ret, ErrorDetail *error) {
        _cleanup_json_ json_object *value = NULL, *isolator = NULL;
        char p[APPC_PATH_MAX];
        const char *q;
        int r;

        r = member_string(app, app_path, key, &q, error);
        if (r < 0 || !q)
                return r;
        value = json_object_new_object();
        if (!value)
                return -ENOMEM;
        json_object_object_add(value, "default", json_object_new_boolean(false));
        json_object_object_add(value, "request", json_object_new_string(q));
        json_object_object_add(value, "limit", json_object_new_string(q));
        isolator = isolator_new(name, TAKE_PTR(value));
        r = override_validate(isolator, appc_path_key(p, app_path, key), error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(isolator);
        return 0;
}

static int override_int(json_object *app, const char *app_path, const char *key,
                        const char *name, json_object **ret, ErrorDetail *error) {
        _cleanup_json_ json_object *isolator = NULL;
        char p[APPC_PATH_MAX];
        json_object *v;
        int r;

        r = member(app, app_path, key, json_type_int, &v, error);
        if (r < 0 || !v)
                return r;
        isolator = isolator_new(name, json_object_new_int64(json_object_get_int64(v)));
        r = override_validate(isolator, appc_path_key(p, app_path, key), error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(isolator);
        return 0;
}

/* {"set": [...]} plus errno when given. */
static json_object *set_value_new(json_object *set, const char *errno_name) {
        json_object *value = json_object_new_object();

        if (!value)
                return NULL;
        json_object_object_add(value, "set", json_object_get(set));
        if (errno_name)
                json_object_object_add(value, "errno", json_object_new_string(errno_name));
        return value;
}

static int override_caps(json_object *app, const char *app_path, json_object **ret,
                         ErrorDetail *error) {
        _cleanup_json_ json_object *isolator = NULL;
        json_object *retain, *remove, *set;
        char p[APPC_PATH_MAX];
        const char *key, *name;
        int r;

        r = member(app, app_path, "capsRetain", json_type_array, &retain, error);
        if (r < 0)
                return r;
        r = member(app, app_path, "capsRemove", json_type_array, &remove, error);
        if (r < 0)
                return r;
        if (retain && remove)
                return error_detail_set(error, -EINVAL, appc_path_key(p, app_path, "capsRemove"),
                                        "cannot use both capsRetain and capsRemove on the same "
                                        "app");
        if (!retain && !remove)
                return 0;
        set = retain ?: remove;
        key = retain ? "capsRetain" : "capsRemove";
        name = retain ? "os/linux/capabilities-retain-set" : "os/linux/capabilities-remove-set";
        appc_path_key(p, app_path, key);
        r = check_string_list(set, p, error);
        if (r < 0)
                return r;
        isolator = isolator_new(name, set_value_new(set, NULL));
        r = override_validate(isolator, p, error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(isolator);
        return 0;
}

static int override_seccomp(json_object *app, const char *app_path, json_object **ret,
                            ErrorDetail *error) {
        _cleanup_json_ json_object *isolator = NULL;
        char path[APPC_PATH_MAX], p[APPC_PATH_MAX];
        json_object *seccomp, *set;
        const char *mode, *errno_name, *name;
        int r;

        r = member(app, app_path, "seccomp", json_type_object, &seccomp, error);
        if (r < 0 || !seccomp)
                return r;
        appc_path_key(path, app_path, "seccomp");
        r = appc_json_member(seccomp, path, "mode", json_type_string, true, &set, error);
        if (r < 0)
                return r;
        mode = json_object_get_string(set);
        if (strcmp(mode, "retain") == 0)
                name = "os/linux/seccomp-retain-set";
        else if (strcmp(mode, "remove") == 0)
                name = "os/linux/seccomp-remove-set";
        else
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "mode"),
                                        "invalid seccomp mode \"%s\": must be \"retain\" or "
                                        "\"remove\"", mode);
        r = member_string(seccomp, path, "errno", &errno_name, error);
        if (r < 0)
                return r;
        r = appc_json_member(seccomp, path, "set", json_type_array, true, &set, error);
        if (r < 0)
                return r;
        r = check_string_list(set, appc_path_key(p, path, "set"), error);
        if (r < 0)
                return r;
        isolator = isolator_new(name, set_value_new(set, errno_name));
        r = override_validate(isolator, path, error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(isolator);
        return 0;
}

int pod_isolator_overrides_build(json_object *app, const char *app_path,
                                 PodIsolatorOverrides *ret, ErrorDetail *error) {
        PodIsolatorOverrides o = {};
        int r;

        r = override_resource(app, app_path, "memory", "resource/memory", &o.memory, error);
        if (r >= 0)
                r = override_resource(app, app_path, "cpu", "resource/cpu", &o.cpu, error);
        if (r >= 0)
                r = override_int(app, app_path, "cpuShares", "os/linux/cpu-shares",
                                 &o.cpu_shares, error);
        if (r >= 0)
                r = override_int(app, app_path, "oomScoreAdj", "os/linux/oom-score-adj",
                                 &o.oom_score_adj, error);
        if (r >= 0)
                r = override_caps(app, app_path, &o.caps, error);
        if (r >= 0)
                r = override_seccomp(app, app_path, &o.seccomp, error);
        if (r < 0) {
                pod_isolator_overrides_done(&o);
                return r;
        }
        *ret = o;
        return 0;
}

/* --- apps --- */

static int check_app_strings(json_object *app, const char *path, ErrorDetail *error) {
        static const char *const keys[] = { "name", "exec", "user", "group",
                                            "workingDirectory" };
        const char *values[ELEMENTSOF(keys)];
        char p[APPC_PATH_MAX];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                r = member_string(app, path, keys[i], &values[i], error);
                if (r < 0)
                        return r;
        }
        if (values[0] && !appc_is_name(values[0]))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "name"),
                                        "invalid app name format: not an ACName: \"%s\"",
                                        values[0]);
        /* As in rkt, an empty exec, user, group or working directory means "not given". */
        if (values[1] && *values[1] && !appc_is_exec(values[1]))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "exec"),
                                        "must be an absolute path or a name to look up in "
                                        "PATH: \"%s\"", values[1]);
        if (values[4] && *values[4] && *values[4] != '/')
                return error_detail_set(error, -EINVAL,
                                        appc_path_key(p, path, "workingDirectory"),
                                        "must be an absolute path: \"%s\"", values[4]);
        return 0;
}

static int check_app_lists(json_object *app, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *list;
        size_t n;
        int r;

        r = member_list(app, path, "args", POD_SPEC_ENV_MAX, &list, &n, error);
        if (r >= 0 && list)
                r = check_string_list(list, appc_path_key(p, path, "args"), error);
        if (r < 0)
                return r;
        r = member_list(app, path, "supplementaryGids", POD_SPEC_LIST_MAX, &list, &n, error);
        appc_path_key(p, path, "supplementaryGids");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char q[APPC_PATH_MAX];

                r = check_int_range(json_object_array_get_idx(list, i),
                                    appc_path_index(q, p, i), 0, UID_MAX_VALID, error);
        }
        return r;
}

static int check_app(json_object *app, const char *path, json_object *volumes,
                     ErrorDetail *error) {
        PodIsolatorOverrides overrides;
        char p[APPC_PATH_MAX];
        json_object *o;
        int r;

        r = appc_json_member(app, path, "image", json_type_object, true, &o, error);
        if (r >= 0)
                r = pod_spec_check_image_ref(o, appc_path_key(p, path, "image"), error);
        if (r >= 0)
                r = check_app_strings(app, path, error);
        if (r >= 0)
                r = check_app_lists(app, path, error);
        if (r >= 0)
                r = check_string_map(app, path, "environment", appc_is_env_name,
                                     "an environment variable name", POD_SPEC_ENV_MAX, error);
        if (r >= 0)
                r = check_mounts(app, path, volumes, true, error);
        if (r >= 0)
                r = member(app, path, "readOnlyRootfs", json_type_boolean, &o, error);
        if (r >= 0)
                r = check_string_map(app, path, "annotations", appc_is_identifier,
                                     "an ACIdentifier", POD_SPEC_LIST_MAX, error);
        if (r >= 0)
                r = check_string_map(app, path, "userAnnotations", NULL, NULL,
                                     POD_SPEC_LIST_MAX, error);
        if (r >= 0)
                r = check_string_map(app, path, "userLabels", NULL, NULL, POD_SPEC_LIST_MAX,
                                     error);
        if (r < 0)
                return r;
        r = pod_isolator_overrides_build(app, path, &overrides, error);
        if (r < 0)
                return r;
        pod_isolator_overrides_done(&overrides);
        return 0;
}

static int check_apps(json_object *spec, ErrorDetail *error) {
        json_object *apps, *volumes;
        size_t n;
        int r;

        r = member_list(spec, "spec", "apps", POD_SPEC_APPS_MAX, &apps, &n, error);
        if (r < 0)
                return r;
        if (n == 0)
                return error_detail_set(error, -EINVAL, "spec.apps",
                                        "at least one app is required");
        r = member(spec, "spec", "volumes", json_type_array, &volumes, error);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char p[APPC_PATH_MAX];
                json_object *app = NULL;

                r = list_object(apps, i, "spec.apps", p, &app, error);
                if (r >= 0)
                        r = check_app(app, p, volumes, error);
        }
        return r;
}

/* --- the pod-wide options --- */

static int check_private_users(json_object *spec, ErrorDetail *error) {
        json_object *pu, *shift, *count;
        bool overlay = false;
        json_object *o;
        int64_t s, c;
        int r;

        r = member(spec, "spec", "overlay", json_type_boolean, &o, error);
        if (r < 0)
                return r;
        overlay = o && json_object_get_boolean(o);
        r = member(spec, "spec", "privateUsers", json_type_object, &pu, error);
        if (r < 0 || !pu)
                return r;
        if (overlay)
                return error_detail_set(error, -EINVAL, "spec.overlay",
                                        "cannot use both overlay and user namespace: not "
                                        "implemented yet. (Try --no-overlay)");
        r = member(pu, "spec.privateUsers", "shift", json_type_int, &shift, error);
        if (r >= 0)
                r = member(pu, "spec.privateUsers", "count", json_type_int, &count, error);
        if (r < 0)
                return r;
        s = shift ? json_object_get_int64(shift) : 1;
        c = count ? json_object_get_int64(count) : 65536;
        if (shift && (s < 1 || s > UINT32_MAX))
                return error_detail_set(error, -EINVAL, "spec.privateUsers.shift",
                                        "%" PRIi64 " is out of range 1..%" PRIu32, s,
                                        UINT32_MAX);
        if (count && (c < 1 || c > UINT32_MAX))
                return error_detail_set(error, -EINVAL, "spec.privateUsers.count",
                                        "%" PRIi64 " is out of range 1..%" PRIu32, c,
                                        UINT32_MAX);
        if (shift && s + c > (int64_t) UINT32_MAX + 1)
                return error_detail_set(error, -EINVAL, "spec.privateUsers",
                                        "shift %" PRIi64 " + count %" PRIi64
                                        " exceeds the 32-bit id range", s, c);
        return 0;
}

static int check_pod_options(json_object *spec, ErrorDetail *error) {
        static const char *const env_maps[] = { "envFromFile", "setEnv" };
        json_object *o;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(env_maps); i++) {
                r = check_string_map(spec, "spec", env_maps[i], appc_is_env_name,
                                     "an environment variable name", POD_SPEC_ENV_MAX, error);
                if (r < 0)
                        return r;
        }
        /* The caller's whole environment: names apps cannot take are left out, not refused. */
        r = check_string_map(spec, "spec", "inheritedEnv", NULL, NULL, POD_SPEC_ENV_MAX, error);
        if (r >= 0)
                r = check_string_map(spec, "spec", "annotations", appc_is_identifier,
                                     "an ACIdentifier", POD_SPEC_LIST_MAX, error);
        if (r >= 0)
                r = check_string_map(spec, "spec", "userAnnotations", NULL, NULL,
                                     POD_SPEC_LIST_MAX, error);
        if (r >= 0)
                r = check_string_map(spec, "spec", "userLabels", NULL, NULL, POD_SPEC_LIST_MAX,
                                     error);
        if (r >= 0)
                r = check_volumes(spec, "spec", error);
        if (r >= 0)
                r = member(spec, "spec", "volumes", json_type_array, &o, error);
        if (r >= 0)
                r = check_mounts(spec, "spec", o, true, error);
        if (r >= 0)
                r = check_ports(spec, "spec", "hostIp", false, error);
        return r;
}

static int check_common(json_object *spec, ErrorDetail *error) {
        json_object *o;
        int r;

        r = check_private_users(spec, error);
        if (r < 0)
                return r;
        r = member(spec, "spec", "stage1Image", json_type_object, &o, error);
        if (r < 0 || !o)
                return r;
        return pod_spec_check_image_ref(o, "spec.stage1Image", error);
}

/* --- a whole manifest --- */

static int check_manifest_app_image(json_object *image, const char *path, const char *app,
                                    ErrorDetail *error) {
        AppcLabel *labels = NULL;
        char p[APPC_PATH_MAX];
        const char *id, *name;
        size_t n_labels = 0;
        json_object *o;
        int r;

        r = member_string(image, path, "id", &id, error);
        if (r < 0)
                return r;
        appc_path_key(p, path, "id");
        if (!id || !*id)
                return error_detail_set(error, -EINVAL, p, "no image ID for app \"%s\"", app);
        if (!appc_is_image_id(id))
                return error_detail_set(error, -EINVAL, p,
                                        "not an image ID (\"sha512-\" and lowercase hex "
                                        "digits): \"%s\"", id);
        r = member_string(image, path, "name", &name, error);
        if (r < 0)
                return r;
        if (name && !appc_is_identifier(name))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "name"),
                                        "not an ACIdentifier: \"%s\"", name);
        r = member(image, path, "labels", json_type_array, &o, error);
        if (r < 0 || !o)
                return r;
        r = appc_labels_parse(o, appc_path_key(p, path, "labels"), &labels, &n_labels, error);
        if (r < 0)
                return r;
        appc_labels_free(labels, n_labels);
        return 0;
}

static int check_manifest_app(json_object *app, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        const char *name;
        json_object *o;
        int r;

        r = appc_json_name(app, path, "name", &name, error);
        if (r < 0)
                return r;
        r = appc_json_member(app, path, "image", json_type_object, true, &o, error);
        if (r >= 0)
                r = check_manifest_app_image(o, appc_path_key(p, path, "image"), name, error);
        if (r >= 0)
                r = member(app, path, "app", json_type_object, &o, error);
        if (r >= 0 && o)
                r = appc_app_validate(o, appc_path_key(p, path, "app"), error);
        if (r >= 0)
                r = member(app, path, "readOnlyRootFS", json_type_boolean, &o, error);
        if (r >= 0)
                r = check_mounts(app, path, NULL, false, error);
        if (r >= 0)
                r = member(app, path, "annotations", json_type_array, &o, error);
        if (r >= 0 && o)
                r = appc_annotations_validate(o, appc_path_key(p, path, "annotations"), error);
        return r;
}

static int check_manifest_apps(json_object *manifest, const char *path, ErrorDetail *error) {
        char apps_path[APPC_PATH_MAX];
        json_object *apps;
        size_t n;
        int r;

        r = member_list(manifest, path, "apps", POD_SPEC_APPS_MAX, &apps, &n, error);
        appc_path_key(apps_path, path, "apps");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char p[APPC_PATH_MAX], q[APPC_PATH_MAX];
                json_object *app = NULL;

                r = list_object(apps, i, apps_path, p, &app, error);
                if (r >= 0)
                        r = check_manifest_app(app, p, error);
                if (r >= 0 && find_named(apps, i, object_name(app)) >= 0)
                        return error_detail_set(error, -EINVAL, appc_path_key(q, p, "name"),
                                                "multiple apps with same name \"%s\"",
                                                object_name(app));
        }
        return r;
}

static int check_manifest_header(json_object *manifest, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *o;
        int r;

        r = appc_json_member(manifest, path, "acKind", json_type_string, true, &o, error);
        if (r < 0)
                return r;
        if (strcmp(json_object_get_string(o), "PodManifest") != 0)
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "acKind"),
                                        "missing or bad ACKind (must be \"PodManifest\"): "
                                        "\"%s\"", json_object_get_string(o));
        r = appc_json_member(manifest, path, "acVersion", json_type_string, true, &o, error);
        if (r < 0)
                return r;
        if (!appc_is_semver(json_object_get_string(o)))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "acVersion"),
                                        "not a semantic version: \"%s\"",
                                        json_object_get_string(o));
        return 0;
}

static int check_manifest(json_object *manifest, ErrorDetail *error) {
        static const char *const path = "spec.manifest";
        json_object *o;
        int r;

        r = check_manifest_header(manifest, path, error);
        if (r >= 0)
                r = check_manifest_apps(manifest, path, error);
        if (r >= 0)
                r = check_volumes(manifest, path, error);
        if (r >= 0)
                r = member(manifest, path, "isolators", json_type_array, &o, error);
        if (r >= 0)
                r = appc_isolators_validate(o, "spec.manifest.isolators", error);
        if (r >= 0)
                r = member(manifest, path, "annotations", json_type_array, &o, error);
        if (r >= 0 && o)
                r = appc_annotations_validate(o, "spec.manifest.annotations", error);
        if (r >= 0)
                r = check_ports(manifest, path, "hostIP", true, error);
        if (r >= 0)
                r = check_string_map(manifest, path, "userAnnotations", NULL, NULL,
                                     POD_SPEC_LIST_MAX, error);
        if (r >= 0)
                r = check_string_map(manifest, path, "userLabels", NULL, NULL,
                                     POD_SPEC_LIST_MAX, error);
        return r;
}

/* With a whole manifest, the spec's own pod description must be absent. */
static int check_manifest_alone(json_object *spec, ErrorDetail *error) {
        static const char *const keys[] = { "apps", "volumes", "mounts", "ports", "annotations",
                                            "userAnnotations", "userLabels", "setEnv",
                                            "envFromFile", "inheritedEnv" };
        char p[APPC_PATH_MAX];

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (is_set(spec, keys[i]))
                        return error_detail_set(error, -EINVAL, appc_path_key(p, "spec", keys[i]),
                                                "cannot be given together with manifest");
        return 0;
}

int pod_spec_check(json_object *spec, ErrorDetail *error) {
        json_object *manifest;
        int r;

        if (!json_object_is_type(spec, json_type_object))
                return error_detail_set(error, -EINVAL, "spec", "must be an object");
        r = member(spec, "spec", "manifest", json_type_object, &manifest, error);
        if (r < 0)
                return r;
        if (manifest) {
                r = check_manifest_alone(spec, error);
                if (r >= 0)
                        r = check_manifest(manifest, error);
        } else {
                r = check_apps(spec, error);
                if (r >= 0)
                        r = check_pod_options(spec, error);
        }
        if (r < 0)
                return r;
        return check_common(spec, error);
}

/* --- image references --- */

static void ref_from_app(PodImageRef *ref, json_object *app, size_t i) {
        json_object *image = json_object_object_get(app, "image"), *o;

        snprintf(ref->field, sizeof(ref->field), "spec.apps[%zu].image", i);
        ref->id = json_object_object_get_ex(image, "id", &o) && o ?
                json_object_get_string(o) : NULL;
        ref->name = json_object_object_get_ex(image, "name", &o) && o ?
                json_object_get_string(o) : NULL;
        ref->labels = json_object_object_get_ex(image, "labels", &o) ? o : NULL;
        ref->app = json_object_object_get_ex(app, "name", &o) && o ?
                json_object_get_string(o) : NULL;
}

static void ref_from_manifest_app(PodImageRef *ref, json_object *app, size_t i) {
        json_object *image = json_object_object_get(app, "image");

        snprintf(ref->field, sizeof(ref->field), "spec.manifest.apps[%zu].image.id", i);
        ref->id = json_object_get_string(json_object_object_get(image, "id"));
        ref->app = json_object_get_string(json_object_object_get(app, "name"));
}

int pod_spec_image_refs(json_object *spec, PodImageRef **ret, size_t *ret_n, ErrorDetail *error) {
        _cleanup_free_ PodImageRef *refs = NULL;
        json_object *manifest, *apps;
        size_t n;
        int r;

        r = pod_spec_check(spec, error);
        if (r < 0)
                return r;
        manifest = json_object_object_get(spec, "manifest");
        apps = json_object_object_get(manifest ?: spec, "apps");
        n = apps ? json_object_array_length(apps) : 0;
        if (n > 0) {
                refs = calloc(n, sizeof(PodImageRef));
                if (!refs)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                if (manifest)
                        ref_from_manifest_app(&refs[i], json_object_array_get_idx(apps, i), i);
                else
                        ref_from_app(&refs[i], json_object_array_get_idx(apps, i), i);
        }
        *ret = TAKE_PTR(refs);
        *ret_n = n;
        return 0;
}
