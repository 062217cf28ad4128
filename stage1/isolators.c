/* Parsing appc isolators (reference/appc-rkt.md §4.4). Several capability sets are merged
 * (union of retains, union of removes); a retain and a remove set together are refused, as
 * rkt's CLI does; so are two seccomp isolators. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "isolators.h"
#include "util.h"

#define ERR(code, ...) ({ snprintf(err, err_size, __VA_ARGS__); (code); })

static int report_add(Isolators *iso, const char *name, const char *state, const char *detail) {
        char *n;
        if (asprintf(&n, "%s%s\t%s\t%s\n", iso->report ? iso->report : "", name, state, detail) < 0)
                return -ENOMEM;
        free(iso->report);
        iso->report = n;
        return 0;
}

int quantity_parse(const char *s, uint64_t scale, uint64_t *ret) {
        static const struct { const char *suffix; long double mult; } suffixes[] = {
                { "", 1 }, { "m", 1e-3L }, { "k", 1e3L }, { "M", 1e6L }, { "G", 1e9L }, { "T", 1e12L },
                { "P", 1e15L }, { "E", 1e18L }, { "Ki", 0x1p10L }, { "Mi", 0x1p20L }, { "Gi", 0x1p30L },
                { "Ti", 0x1p40L }, { "Pi", 0x1p50L }, { "Ei", 0x1p60L },
        };
        long double v, mult = -1;
        char *end;

        if (!s)
                return -EINVAL;
        /* Parse the number by hand so strtold's hex, inf and exponent syntax cannot slip in. */
        size_t n = strspn(s + (*s == '+'), "0123456789.");
        if (n == 0 || n > 40)
                return -EINVAL;
        char num[48];
        memcpy(num, s + (*s == '+'), n);
        num[n] = '\0';
        if (strchr(num, '.') != strrchr(num, '.'))
                return -EINVAL;
        v = strtold(num, &end);
        if (*end)
                return -EINVAL;
        const char *suffix = s + (*s == '+') + n;
        if ((suffix[0] == 'e' || suffix[0] == 'E') && suffix[1] != '\0') {
                char *e2;
                long exp = strtol(suffix + 1, &e2, 10);
                if (*e2 || exp < -18 || exp > 18)
                        return -EINVAL;
                mult = powl(10, (long double) exp);
        } else
                for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                        if (strcmp(suffix, suffixes[i].suffix) == 0)
                                mult = suffixes[i].mult;
        if (mult < 0)
                return -EINVAL;
        v = ceill(v * mult * (long double) scale);
        if (v > 0x1p63L)
                return -ERANGE;
        *ret = (uint64_t) v;
        return 0;
}

static const char *value_string(json_object *value, const char *key) {
        json_object *x;
        if (!json_object_object_get_ex(value, key, &x))
                return NULL;
        return json_object_get_string(x); /* numbers are accepted as their text */
}

static int parse_resource(Isolators *iso, const char *name, json_object *value, uint64_t scale,
                          bool *has, uint64_t *limit, char *err, size_t err_size) {
        json_object *x;
        const char *l = value_string(value, "limit");

        if (json_object_object_get_ex(value, "default", &x) && json_object_get_boolean(x))
                return ERR(-EINVAL, "isolator %s: default must be false", name);
        if (value_string(value, "request") && quantity_parse(value_string(value, "request"), scale, &(uint64_t){0}) < 0)
                return ERR(-EINVAL, "isolator %s: invalid request '%s'", name, value_string(value, "request"));
        if (!l)
                return report_add(iso, name, "ignored", "no limit given; requests are not enforced");
        if (quantity_parse(l, scale, limit) < 0 || *limit == 0)
                return ERR(-EINVAL, "isolator %s: invalid limit '%s'", name, l);
        *has = true;
        return report_add(iso, name, "enforced", "limit via cgroups; requests are not enforced");
}

static int parse_caps(json_object *value, const char *name, uint64_t *set, char *err, size_t err_size) {
        json_object *arr;

        if (!json_object_object_get_ex(value, "set", &arr) || !json_object_is_type(arr, json_type_array) ||
            json_object_array_length(arr) == 0)
                return ERR(-EINVAL, "isolator %s: needs a non-empty \"set\"", name);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                const char *c = json_object_get_string(json_object_array_get_idx(arr, i));
                int n = c ? cap_from_name(c) : -EINVAL;
                if (n < 0)
                        return ERR(-EINVAL, "isolator %s: unknown capability '%s'", name, c ? c : "");
                *set |= UINT64_C(1) << n;
        }
        return 0;
}

static int parse_seccomp(Isolators *iso, json_object *value, const char *name, SeccompMode mode,
                         const IsolatorOptions *opts, char *err, size_t err_size) {
        json_object *arr;
        const char *e = value_string(value, "errno"), *bad = NULL;

        if (iso->seccomp.set)
                return ERR(-EINVAL, "isolator %s: only one seccomp isolator is allowed per app", name);
        if (!json_object_object_get_ex(value, "set", &arr) || !json_object_is_type(arr, json_type_array) ||
            json_object_array_length(arr) == 0)
                return ERR(-EINVAL, "isolator %s: needs a non-empty \"set\"", name);
        iso->seccomp.set = calloc(1, sizeof(char *));
        if (!iso->seccomp.set)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
                if (!s || !*s)
                        return ERR(-EINVAL, "isolator %s: set[%zu] is not a syscall name", name, i);
                if (strv_push(&iso->seccomp.set, strdup(s)) < 0)
                        return -ENOMEM;
        }
        iso->seccomp.errno_value = 0;
        if (e) {
                int n = errno_from_name(e);
                if (n < 0)
                        return ERR(-EINVAL, "isolator %s: unknown errno '%s'", name, e);
                iso->seccomp.errno_value = n;
        }
        iso->seccomp.mode = mode;
        if (seccomp_spec_check(&iso->seccomp, &bad) < 0)
                return ERR(-EINVAL, "isolator %s: unknown syscall or group '%s'", name, bad);
        if (opts->disable_seccomp) {
                iso->seccomp.mode = SECCOMP_MODE_NONE;
                return report_add(iso, name, "disabled", "--disable-seccomp");
        }
        return report_add(iso, name, "enforced", e ? e : "SIGSYS");
}

static int parse_one(Isolators *iso, json_object *item, const IsolatorOptions *opts,
                     uint64_t *retain, uint64_t *remove, char *err, size_t err_size) {
        json_object *value = NULL, *n;
        const char *name = NULL;

        if (json_object_object_get_ex(item, "name", &n) && json_object_is_type(n, json_type_string))
                name = json_object_get_string(n);
        if (!name || !json_object_object_get_ex(item, "value", &value))
                return ERR(-EINVAL, "isolator without name or value");

        if (strcmp(name, "resource/memory") == 0)
                return parse_resource(iso, name, value, 1, &iso->has_memory_limit, &iso->memory_limit, err, err_size);
        if (strcmp(name, "resource/cpu") == 0)
                return parse_resource(iso, name, value, 1000, &iso->has_cpu_limit, &iso->cpu_limit_milli, err, err_size);
        if (strcmp(name, "os/linux/cpu-shares") == 0) {
                int64_t v = json_object_get_int64(value);
                if (!json_object_is_type(value, json_type_int) || v < 2 || v > 262144)
                        return ERR(-EINVAL, "isolator %s: must be an integer in 2..262144", name);
                iso->has_cpu_shares = true;
                iso->cpu_shares = (uint64_t) v;
                return report_add(iso, name, "enforced", "cgroups");
        }
        if (opts->pod_level)
                goto pod_level;
        if (strcmp(name, "os/linux/oom-score-adj") == 0) {
                int64_t v = json_object_get_int64(value);
                if (!json_object_is_type(value, json_type_int) || v < -1000 || v > 1000 || iso->has_oom_score_adj)
                        return ERR(-EINVAL, "isolator %s: must be one integer in -1000..1000", name);
                iso->has_oom_score_adj = true;
                iso->oom_score_adj = (int) v;
                return report_add(iso, name, "enforced", "/proc/self/oom_score_adj");
        }
        if (strcmp(name, "os/linux/capabilities-retain-set") == 0 ||
            strcmp(name, "os/linux/capabilities-remove-set") == 0) {
                bool is_retain = strstr(name, "retain") != NULL;
                int r = parse_caps(value, name, is_retain ? retain : remove, err, err_size);
                if (r < 0)
                        return r;
                if (*retain && *remove)
                        return ERR(-EINVAL, "isolator %s: capability retain and remove sets cannot be combined", name);
                return report_add(iso, name, opts->disable_capabilities ? "disabled" : "enforced",
                                  opts->disable_capabilities ? "--disable-capabilities-restriction" : "bounding set");
        }
        if (strcmp(name, "os/linux/seccomp-retain-set") == 0)
                return parse_seccomp(iso, value, name, SECCOMP_MODE_RETAIN, opts, err, err_size);
        if (strcmp(name, "os/linux/seccomp-remove-set") == 0)
                return parse_seccomp(iso, value, name, SECCOMP_MODE_REMOVE, opts, err, err_size);
        if (strcmp(name, "os/linux/no-new-privileges") == 0) {
                if (!json_object_is_type(value, json_type_boolean))
                        return ERR(-EINVAL, "isolator %s: must be a boolean", name);
                iso->no_new_privileges |= json_object_get_boolean(value);
                iso->no_new_privileges_explicit = true;
                return report_add(iso, name, "enforced", json_object_get_boolean(value) ? "true" : "false");
        }
        if (strcmp(name, "os/linux/apparmor-profile") == 0 || strcmp(name, "os/linux/selinux-context") == 0)
                return ERR(-EOPNOTSUPP, "isolator %s: not supported by this stage1; refusing to run the app "
                           "without its security profile", name);
        return report_add(iso, name, "ignored", "not implemented by this stage1");

pod_level:
        if (strncmp(name, "os/linux/capabilities-", 22) == 0 || strncmp(name, "os/linux/seccomp-", 17) == 0 ||
            strcmp(name, "os/linux/no-new-privileges") == 0 || strcmp(name, "os/linux/apparmor-profile") == 0 ||
            strcmp(name, "os/linux/selinux-context") == 0)
                return ERR(-EOPNOTSUPP, "pod isolator %s: only supported at app level by this stage1", name);
        return report_add(iso, name, "ignored", "not implemented at pod level by this stage1");
}

int isolators_parse(Isolators *iso, json_object *list, const IsolatorOptions *opts, char *err, size_t err_size) {
        uint64_t retain = 0, remove = 0;
        int r;

        *iso = (Isolators) {};
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
                r = parse_one(iso, json_object_array_get_idx(list, i), opts, &retain, &remove, err, err_size);
                if (r < 0)
                        return r;
        }
        if (opts->pod_level)
                return 0;
        iso->restrict_caps = !opts->disable_capabilities;
        iso->caps = retain ? retain : (CAPS_DEFAULT_APPC & ~remove);
        if (!iso->seccomp.set && !opts->disable_seccomp) {
                iso->seccomp.mode = SECCOMP_MODE_REMOVE;
                iso->seccomp.errno_value = EPERM;
                if (strv_push(&iso->seccomp.set, strdup(SECCOMP_DEFAULT_GROUP)) < 0)
                        return -ENOMEM;
                r = report_add(iso, "os/linux/seccomp-remove-set", "enforced", "default: " SECCOMP_DEFAULT_GROUP " EPERM");
                if (r < 0)
                        return r;
        } else if (!iso->seccomp.set)
                r = report_add(iso, "os/linux/seccomp-remove-set", "disabled", "--disable-seccomp (no default filter)");
        return 0;
}

void isolators_deinit(Isolators *iso) {
        strv_free(iso->seccomp.set);
        free(iso->report);
        *iso = (Isolators) {};
}
