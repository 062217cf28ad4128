/* appc: the App Container spec's value checks (appc-rkt.md §4.1-4.5). Predicates are pure and
 * take NUL-terminated strings; validators never modify the JSON they are given and report the
 * first refusal with its JSON path. Unknown keys are allowed everywhere (the spec is lenient)
 * but every known key must have its JSON type. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appc.h"
#include "cleanup.h"

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Runs of [a-z0-9] separated by single separator characters, neither first nor last. */
static bool is_separated_alnum(const char *s, const char *separators) {
        bool after_alnum = false;

        if (!s || !*s)
                return false;
        for (; *s; s++) {
                if (is_lower_alnum(*s))
                        after_alnum = true;
                else if (after_alnum && strchr(separators, *s))
                        after_alnum = false;
                else
                        return false;
        }
        return after_alnum;
}

bool appc_is_identifier(const char *s) {
        return is_separated_alnum(s, "-._~/");
}

bool appc_is_name(const char *s) {
        return is_separated_alnum(s, "-");
}

/* A run of digits without a leading zero; advances *p past it. */
static bool parse_numeric(const char **p) {
        const char *s = *p;

        if (!is_digit(*s))
                return false;
        if (*s == '0' && is_digit(s[1]))
                return false;
        while (is_digit(*s))
                s++;
        *p = s;
        return true;
}

/* Dot-separated identifiers of [0-9A-Za-z-]; numeric ones without leading zeros when
 * numeric_strict (pre-release) but not in build metadata. Advances *p. */
static bool parse_dot_identifiers(const char **p, bool numeric_strict) {
        const char *s = *p;

        for (;;) {
                const char *start = s;
                bool numeric = true;

                while (isalnum((unsigned char) *s) || *s == '-') {
                        if (!is_digit(*s))
                                numeric = false;
                        s++;
                }
                if (s == start)
                        return false;
                if (numeric_strict && numeric && *start == '0' && s - start > 1)
                        return false;
                if (*s != '.')
                        break;
                s++;
        }
        *p = s;
        return true;
}

bool appc_is_semver(const char *s) {
        if (!s)
                return false;
        for (int i = 0; i < 3; i++) {
                if (!parse_numeric(&s))
                        return false;
                if (i < 2 && *s++ != '.')
                        return false;
        }
        if (*s == '-') {
                s++;
                if (!parse_dot_identifiers(&s, true))
                        return false;
        }
        if (*s == '+') {
                s++;
                if (!parse_dot_identifiers(&s, false))
                        return false;
        }
        return *s == '\0';
}

bool appc_is_image_id(const char *s) {
        static const char prefix[] = "sha512-";
        size_t n;

        if (!s || strncmp(s, prefix, sizeof(prefix) - 1) != 0)
                return false;
        s += sizeof(prefix) - 1;
        n = strspn(s, "0123456789abcdef");
        return n >= 1 && n <= 128 && s[n] == '\0';
}

bool appc_is_env_name(const char *s) {
        if (!s || !(isalpha((unsigned char) *s) || *s == '_'))
                return false;
        for (s++; *s; s++)
                if (!(isalnum((unsigned char) *s) || strchr("_.-", *s)))
                        return false;
        return true;
}

/* k8s ParseQuantity: a signed decimal number and one suffix, either a binary (Ki..Ei) or a
 * decimal SI (n u m "" k M G T P E) multiplier or an exponent e<int>. */
bool appc_is_quantity(const char *s) {
        static const char *const suffixes[] = {
                "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
                "n", "u", "m", "k", "M", "G", "T", "P", "E",
        };
        size_t digits = 0;

        if (!s)
                return false;
        if (*s == '+' || *s == '-')
                s++;
        while (is_digit(*s)) {
                s++;
                digits++;
        }
        if (*s == '.')
                for (s++; is_digit(*s); s++)
                        digits++;
        if (digits == 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (strcmp(s, suffixes[i]) == 0)
                        return true;
        if (*s != 'e' && *s != 'E')
                return false;
        s++;
        if (*s == '+' || *s == '-')
                s++;
        if (!is_digit(*s))
                return false;
        while (is_digit(*s))
                s++;
        return *s == '\0';
}

/* n digits as a number, or -1. Advances *p. */
static int parse_fixed_digits(const char **p, int n) {
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!is_digit((*p)[i]))
                        return -1;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        return v;
}

static int days_in_month(int year, int month) {
        static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

        return month == 2 && leap ? 29 : days[month - 1];
}

static bool parse_rfc3339_offset(const char *s) {
        int hour, min;

        if (*s == 'Z')
                return s[1] == '\0';
        if (*s != '+' && *s != '-')
                return false;
        s++;
        hour = parse_fixed_digits(&s, 2);
        if (hour < 0 || hour > 23 || *s++ != ':')
                return false;
        min = parse_fixed_digits(&s, 2);
        return min >= 0 && min <= 59 && *s == '\0';
}

bool appc_is_rfc3339(const char *s) {
        int year, month, day, hour, min, sec;

        if (!s)
                return false;
        year = parse_fixed_digits(&s, 4);
        if (year < 0 || *s++ != '-')
                return false;
        month = parse_fixed_digits(&s, 2);
        if (month < 1 || month > 12 || *s++ != '-')
                return false;
        day = parse_fixed_digits(&s, 2);
        if (day < 1 || day > days_in_month(year, month) || *s++ != 'T')
                return false;
        hour = parse_fixed_digits(&s, 2);
        if (hour < 0 || hour > 23 || *s++ != ':')
                return false;
        min = parse_fixed_digits(&s, 2);
        if (min < 0 || min > 59 || *s++ != ':')
                return false;
        sec = parse_fixed_digits(&s, 2);
        if (sec < 0 || sec > 59)
                return false;
        if (*s == '.') {
                if (!is_digit(*++s))
                        return false;
                while (is_digit(*s))
                        s++;
        }
        return parse_rfc3339_offset(s);
}

bool appc_is_http_url(const char *s) {
        size_t host;

        if (!s)
                return false;
        if (strncasecmp(s, "http://", 7) == 0)
                s += 7;
        else if (strncasecmp(s, "https://", 8) == 0)
                s += 8;
        else
                return false;
        host = strcspn(s, "/?#");
        if (host == 0 || s[0] == '@' || s[0] == ':')
                return false;
        for (; *s; s++)
                if ((unsigned char) *s <= ' ' || *s == 0x7f)
                        return false;
        return true;
}

bool appc_is_capability(const char *s) {
        static const char *const names[] = {
                "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
                "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
                "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE",
                "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT",
                "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
                "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN",
                "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
                "CHECKPOINT_RESTORE",
        };

        if (!s || strncmp(s, "CAP_", 4) != 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(s + 4, names[i]) == 0)
                        return true;
        return false;
}

bool appc_is_exec(const char *s) {
        /* A name with a "/" that is not absolute would be looked up relative to the working
         * directory, which the spec does not allow. */
        return s && *s && (*s == '/' || !strchr(s, '/'));
}

bool appc_valid_os_arch(const char *os, const char *arch) {
        static const struct {
                const char *os;
                const char *const archs[11];
        } table[] = {
                { "linux", { "amd64", "i386", "aarch64", "aarch64_be", "armv6l", "armv7l",
                             "armv7b", "ppc64", "ppc64le", "s390x", NULL } },
                { "freebsd", { "amd64", "i386", "arm", NULL } },
                { "darwin", { "x86_64", "i386", NULL } },
        };

        if (!os)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                if (strcmp(table[i].os, os) != 0)
                        continue;
                if (!arch)
                        return true;
                for (size_t j = 0; table[i].archs[j]; j++)
                        if (strcmp(table[i].archs[j], arch) == 0)
                                return true;
                return false;
        }
        return false;
}

/* A path too long for the field keeps its head and ends in "...": still enough to find it. */
static const char *path_finish(char buf[static APPC_PATH_MAX], int n) {
        if (n < 0 || n >= APPC_PATH_MAX)
                memcpy(buf + APPC_PATH_MAX - 4, "...", 4);
        return buf;
}

const char *appc_path_key(char buf[static APPC_PATH_MAX], const char *parent, const char *key) {
        if (!parent || !*parent)
                return path_finish(buf, snprintf(buf, APPC_PATH_MAX, "%s", key));
        return path_finish(buf, snprintf(buf, APPC_PATH_MAX, "%s.%s", parent, key));
}

const char *appc_path_index(char buf[static APPC_PATH_MAX], const char *parent, size_t i) {
        return path_finish(buf, snprintf(buf, APPC_PATH_MAX, "%s[%zu]", parent ? parent : "",
                                         i));
}

static const char *json_type_article(json_type type) {
        switch (type) {
        case json_type_null:    return "null";
        case json_type_boolean: return "a boolean";
        case json_type_double:  return "a fractional number";
        case json_type_int:     return "an integer";
        case json_type_object:  return "an object";
        case json_type_array:   return "an array";
        case json_type_string:  return "a string";
        }
        return "an unknown type";
}

/* Checks that o has type type (strings without embedded NULs). */
static int check_type(json_object *o, json_type type, const char *path, ErrorDetail *error) {
        if (!json_object_is_type(o, type))
                return error_detail_set(error, -EINVAL, path, "must be %s, not %s",
                                        json_type_article(type),
                                        json_type_article(json_object_get_type(o)));
        if (type == json_type_string &&
            strlen(json_object_get_string(o)) != (size_t) json_object_get_string_len(o))
                return error_detail_set(error, -EINVAL, path, "contains a NUL character");
        return 0;
}

int appc_json_member(json_object *obj, const char *parent, const char *key, json_type type,
                     bool required, json_object **ret, ErrorDetail *error) {
        char path[APPC_PATH_MAX];
        json_object *o = NULL;
        int r;

        *ret = NULL;
        appc_path_key(path, parent, key);
        if (!json_object_object_get_ex(obj, key, &o) || !o) {
                if (required)
                        return error_detail_set(error, -EINVAL, path, "is required");
                return 0;
        }
        r = check_type(o, type, path, error);
        if (r < 0)
                return r;
        *ret = o;
        return 0;
}

int appc_json_name(json_object *obj, const char *parent, const char *key, const char **ret,
                   ErrorDetail *error) {
        char path[APPC_PATH_MAX];
        json_object *o;
        int r;

        r = appc_json_member(obj, parent, key, json_type_string, true, &o, error);
        if (r < 0)
                return r;
        *ret = json_object_get_string(o);
        if (!appc_is_name(*ret))
                return error_detail_set(error, -EINVAL, appc_path_key(path, parent, key),
                                        "not an ACName: \"%s\"", *ret);
        return 0;
}

/* A required string member, returned borrowed. */
static int member_string(json_object *obj, const char *parent, const char *key, bool required,
                         const char **ret, ErrorDetail *error) {
        json_object *o;
        int r;

        r = appc_json_member(obj, parent, key, json_type_string, required, &o, error);
        if (r < 0)
                return r;
        *ret = o ? json_object_get_string(o) : NULL;
        return 0;
}

/* Element i of array as type type, with its path in path. */
static int array_element(json_object *array, size_t i, const char *parent, json_type type,
                         char path[static APPC_PATH_MAX], json_object **ret,
                         ErrorDetail *error) {
        json_object *o = json_object_array_get_idx(array, i);

        appc_path_index(path, parent, i);
        if (!o)
                return error_detail_set(error, -EINVAL, path, "must be %s, not null",
                                        json_type_article(type));
        *ret = o;
        return check_type(o, type, path, error);
}

/* A {name, value} list: names are checked by name_ok and unique, values are strings. Calls
 * each(name, value, path of the element) when not NULL. */
typedef int (*PairCallback)(const char *name, const char *value, const char *path,
                            void *userdata, ErrorDetail *error);

static bool name_seen_before(json_object *array, size_t i, const char *name) {
        for (size_t j = 0; j < i; j++) {
                json_object *other = json_object_array_get_idx(array, j), *n;

                if (json_object_object_get_ex(other, "name", &n) &&
                    strcmp(json_object_get_string(n), name) == 0)
                        return true;
        }
        return false;
}

static int validate_pairs(json_object *array, const char *parent, bool (*name_ok)(const char *),
                          const char *what, PairCallback each, void *userdata,
                          ErrorDetail *error) {
        size_t n = json_object_array_length(array);

        for (size_t i = 0; i < n; i++) {
                char path[APPC_PATH_MAX], name_path[APPC_PATH_MAX];
                json_object *o;
                const char *name, *value;
                int r;

                r = array_element(array, i, parent, json_type_object, path, &o, error);
                if (r < 0)
                        return r;
                r = member_string(o, path, "name", true, &name, error);
                if (r < 0)
                        return r;
                r = member_string(o, path, "value", true, &value, error);
                if (r < 0)
                        return r;
                appc_path_key(name_path, path, "name");
                if (!name_ok(name))
                        return error_detail_set(error, -EINVAL, name_path, "not %s: \"%s\"",
                                                what, name);
                if (name_seen_before(array, i, name))
                        return error_detail_set(error, -EINVAL, name_path,
                                                "duplicate name \"%s\"", name);
                if (each) {
                        r = each(name, value, path, userdata, error);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int label_check(const char *name, const char *value, const char *path, void *userdata,
                       ErrorDetail *error) {
        char p[APPC_PATH_MAX];

        if (strcmp(name, "name") == 0)
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "name"),
                                        "\"name\" is not allowed as a label name");
        return 0;
}

void appc_labels_free(AppcLabel *labels, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(labels[i].name);
                free(labels[i].value);
        }
        free(labels);
}

const char *appc_labels_get(const AppcLabel *labels, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(labels[i].name, name) == 0)
                        return labels[i].value;
        return NULL;
}

static int labels_check_os_arch(json_object *labels, const char *path, ErrorDetail *error) {
        const char *os = NULL, *arch = NULL;
        size_t os_index = 0, arch_index = 0, n = json_object_array_length(labels);
        char p[APPC_PATH_MAX], q[APPC_PATH_MAX];

        for (size_t i = 0; i < n; i++) {
                json_object *l = json_object_array_get_idx(labels, i), *name, *value;

                json_object_object_get_ex(l, "name", &name);
                json_object_object_get_ex(l, "value", &value);
                if (strcmp(json_object_get_string(name), "os") == 0) {
                        os = json_object_get_string(value);
                        os_index = i;
                } else if (strcmp(json_object_get_string(name), "arch") == 0) {
                        arch = json_object_get_string(value);
                        arch_index = i;
                }
        }
        if (!os)
                return 0;       /* arch means something only together with os */
        if (!appc_valid_os_arch(os, NULL))
                return error_detail_set(error, -EINVAL,
                                        appc_path_key(p, appc_path_index(q, path, os_index),
                                                      "value"),
                                        "unknown os \"%s\"", os);
        if (arch && !appc_valid_os_arch(os, arch))
                return error_detail_set(error, -EINVAL,
                                        appc_path_key(p, appc_path_index(q, path, arch_index),
                                                      "value"),
                                        "arch \"%s\" is not valid for os \"%s\"", arch, os);
        return 0;
}

static int labels_copy(json_object *labels, AppcLabel **ret, size_t *ret_n) {
        size_t n = json_object_array_length(labels);
        AppcLabel *a = calloc(n ? n : 1, sizeof(AppcLabel));

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *l = json_object_array_get_idx(labels, i), *name, *value;

                json_object_object_get_ex(l, "name", &name);
                json_object_object_get_ex(l, "value", &value);
                a[i].name = strdup(json_object_get_string(name));
                a[i].value = strdup(json_object_get_string(value));
                if (!a[i].name || !a[i].value) {
                        appc_labels_free(a, i + 1);
                        return -ENOMEM;
                }
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int appc_labels_parse(json_object *labels, const char *path, AppcLabel **ret, size_t *ret_n,
                      ErrorDetail *error) {
        int r;

        if (!labels) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        r = check_type(labels, json_type_array, path, error);
        if (r < 0)
                return r;
        r = validate_pairs(labels, path, appc_is_identifier, "an ACIdentifier", label_check,
                           NULL, error);
        if (r < 0)
                return r;
        r = labels_check_os_arch(labels, path, error);
        if (r < 0)
                return r;
        return labels_copy(labels, ret, ret_n);
}

static int annotation_check(const char *name, const char *value, const char *path,
                            void *userdata, ErrorDetail *error) {
        char p[APPC_PATH_MAX];

        appc_path_key(p, path, "value");
        if (strcmp(name, "created") == 0 && !appc_is_rfc3339(value))
                return error_detail_set(error, -EINVAL, p,
                                        "\"created\" is not an RFC 3339 time: \"%s\"", value);
        if ((strcmp(name, "homepage") == 0 || strcmp(name, "documentation") == 0) &&
            !appc_is_http_url(value))
                return error_detail_set(error, -EINVAL, p,
                                        "\"%s\" is not an http or https URL: \"%s\"", name,
                                        value);
        return 0;
}

int appc_annotations_validate(json_object *annotations, const char *path, ErrorDetail *error) {
        int r;

        if (!annotations)
                return 0;
        r = check_type(annotations, json_type_array, path, error);
        if (r < 0)
                return r;
        return validate_pairs(annotations, path, appc_is_identifier, "an ACIdentifier",
                              annotation_check, NULL, error);
}

/* An array of strings, each accepted by ok (NULL: any); non-empty when required. */
static int validate_string_array(json_object *array, const char *path, bool non_empty,
                                 bool (*ok)(const char *), const char *what,
                                 ErrorDetail *error) {
        size_t n;
        int r;

        r = check_type(array, json_type_array, path, error);
        if (r < 0)
                return r;
        n = json_object_array_length(array);
        if (non_empty && n == 0)
                return error_detail_set(error, -EINVAL, path, "must not be empty");
        for (size_t i = 0; i < n; i++) {
                char p[APPC_PATH_MAX];
                json_object *o;

                r = array_element(array, i, path, json_type_string, p, &o, error);
                if (r < 0)
                        return r;
                if (ok && !ok(json_object_get_string(o)))
                        return error_detail_set(error, -EINVAL, p, "not %s: \"%s\"", what,
                                                json_object_get_string(o));
        }
        return 0;
}

/* --- isolators (§4.4) --- */

/* A quantity member: a string by k8s rules or a JSON integer, never negative. */
static int check_quantity_member(json_object *obj, const char *parent, const char *key,
                                 bool required, ErrorDetail *error) {
        char path[APPC_PATH_MAX];
        json_object *q = NULL;
        const char *s;

        appc_path_key(path, parent, key);
        if (!json_object_object_get_ex(obj, key, &q) || !q) {
                if (required)
                        return error_detail_set(error, -EINVAL, path, "is required");
                return 0;
        }
        if (json_object_is_type(q, json_type_int)) {
                if (json_object_get_int64(q) < 0)
                        return error_detail_set(error, -EINVAL, path, "must not be negative");
                return 0;
        }
        if (!json_object_is_type(q, json_type_string))
                return error_detail_set(error, -EINVAL, path,
                                        "must be a quantity string or an integer, not %s",
                                        json_type_article(json_object_get_type(q)));
        s = json_object_get_string(q);
        if (!appc_is_quantity(s))
                return error_detail_set(error, -EINVAL, path, "not a resource quantity: \"%s\"",
                                        s);
        if (*s == '-')
                return error_detail_set(error, -EINVAL, path, "must not be negative");
        return 0;
}

static int check_resource(json_object *value, const char *path, bool default_true,
                          ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *d, *request;
        int r;

        r = check_type(value, json_type_object, path, error);
        if (r < 0)
                return r;
        r = appc_json_member(value, path, "default", json_type_boolean, default_true, &d, error);
        if (r < 0)
                return r;
        appc_path_key(p, path, "default");
        if (default_true) {
                if (!json_object_get_boolean(d))
                        return error_detail_set(error, -EINVAL, p, "must be true");
                if (json_object_object_get_ex(value, "request", &request) && request)
                        return error_detail_set(error, -EINVAL, appc_path_key(p, path, "request"),
                                                "must not be set for this isolator");
                return check_quantity_member(value, path, "limit", true, error);
        }
        if (d && json_object_get_boolean(d))
                return error_detail_set(error, -EINVAL, p, "must be false");
        r = check_quantity_member(value, path, "request", false, error);
        if (r < 0)
                return r;
        return check_quantity_member(value, path, "limit", false, error);
}

static int check_resource_default_false(json_object *value, const char *path,
                                        ErrorDetail *error) {
        return check_resource(value, path, false, error);
}

static int check_resource_default_true(json_object *value, const char *path,
                                       ErrorDetail *error) {
        return check_resource(value, path, true, error);
}

/* A "set" member: a non-empty array of strings accepted by ok. */
static int check_set(json_object *value, const char *path, bool (*ok)(const char *),
                     const char *what, ErrorDetail *error) {
        json_object *set;
        char p[APPC_PATH_MAX];
        int r;

        r = check_type(value, json_type_object, path, error);
        if (r < 0)
                return r;
        r = appc_json_member(value, path, "set", json_type_array, true, &set, error);
        if (r < 0)
                return r;
        return validate_string_array(set, appc_path_key(p, path, "set"), true, ok, what, error);
}

static int check_capabilities(json_object *value, const char *path, ErrorDetail *error) {
        return check_set(value, path, appc_is_capability, "a Linux capability (CAP_...)", error);
}

/* A syscall name, or a group such as "@appc.io/all" or "@rkt/default-blacklist". */
static bool is_syscall_or_group(const char *s) {
        if (*s == '@')
                return appc_is_identifier(s + 1);
        if (!(islower((unsigned char) *s) || *s == '_'))
                return false;
        for (; *s; s++)
                if (!(islower((unsigned char) *s) || is_digit(*s) || *s == '_'))
                        return false;
        return true;
}

static bool is_errno_name(const char *s) {
        if (s[0] != 'E' || !s[1])
                return false;
        for (s++; *s; s++)
                if (!(isupper((unsigned char) *s) || is_digit(*s)))
                        return false;
        return true;
}

static int check_seccomp(json_object *value, const char *path, ErrorDetail *error) {
        const char *e;
        char p[APPC_PATH_MAX];
        int r;

        r = check_set(value, path, is_syscall_or_group, "a syscall name or @group", error);
        if (r < 0)
                return r;
        r = member_string(value, path, "errno", false, &e, error);
        if (r < 0)
                return r;
        if (e && !is_errno_name(e))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "errno"),
                                        "not an errno name (E followed by capitals or digits): "
                                        "\"%s\"", e);
        return 0;
}

static int check_boolean(json_object *value, const char *path, ErrorDetail *error) {
        return check_type(value, json_type_boolean, path, error);
}

static int check_int_range(json_object *value, const char *path, int64_t min, int64_t max,
                           ErrorDetail *error) {
        int64_t v;
        int r;

        r = check_type(value, json_type_int, path, error);
        if (r < 0)
                return r;
        v = json_object_get_int64(value);
        if (v < min || v > max)
                return error_detail_set(error, -EINVAL, path,
                                        "%" PRIi64 " is out of range %" PRIi64 "..%" PRIi64, v,
                                        min, max);
        return 0;
}

static int check_oom_score_adj(json_object *value, const char *path, ErrorDetail *error) {
        return check_int_range(value, path, -1000, 1000, error);
}

static int check_cpu_shares(json_object *value, const char *path, ErrorDetail *error) {
        return check_int_range(value, path, 2, 262144, error);
}

/* A required non-empty string member, without ':' when no_colon. */
static int check_context_part(json_object *obj, const char *path, const char *key,
                              bool no_colon, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        const char *s;
        int r;

        r = member_string(obj, path, key, true, &s, error);
        if (r < 0)
                return r;
        appc_path_key(p, path, key);
        if (!*s)
                return error_detail_set(error, -EINVAL, p, "must not be empty");
        if (no_colon && strchr(s, ':'))
                return error_detail_set(error, -EINVAL, p, "must not contain ':'");
        return 0;
}

static int check_selinux_context(json_object *value, const char *path, ErrorDetail *error) {
        static const char *const parts[] = { "user", "role", "type" };
        int r;

        r = check_type(value, json_type_object, path, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                r = check_context_part(value, path, parts[i], true, error);
                if (r < 0)
                        return r;
        }
        return check_context_part(value, path, "level", false, error);
}

static int check_apparmor_profile(json_object *value, const char *path, ErrorDetail *error) {
        int r;

        r = check_type(value, json_type_object, path, error);
        if (r < 0)
                return r;
        return check_context_part(value, path, "profile", false, error);
}

static bool is_sysctl_name(const char *name) {
        if (!isalnum((unsigned char) *name) || strstr(name, ".."))
                return false;
        for (const char *s = name; *s; s++)
                if (!(isalnum((unsigned char) *s) || strchr("_-./", *s)))
                        return false;
        return true;
}

static int check_sysctl(json_object *value, const char *path, ErrorDetail *error) {
        int r;

        r = check_type(value, json_type_object, path, error);
        if (r < 0)
                return r;
        json_object_object_foreach(value, key, v) {
                char p[APPC_PATH_MAX];

                appc_path_key(p, path, key);
                if (!is_sysctl_name(key))
                        return error_detail_set(error, -EINVAL, p, "not a sysctl name");
                if (!v)
                        return error_detail_set(error, -EINVAL, p, "must be a string, not null");
                r = check_type(v, json_type_string, p, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef enum IsolatorGroup {
        ISOLATOR_GROUP_NONE,
        ISOLATOR_GROUP_SECCOMP,         /* at most one of retain and remove */
        ISOLATOR_GROUP_CAPABILITIES,    /* retain and remove do not mix */
} IsolatorGroup;

typedef struct IsolatorType {
        const char *name;
        int (*check)(json_object *value, const char *path, ErrorDetail *error);
        bool multiple;
        IsolatorGroup group;
} IsolatorType;

static const IsolatorType isolator_types[] = {
        { "resource/memory", check_resource_default_false, true, ISOLATOR_GROUP_NONE },
        { "resource/cpu", check_resource_default_false, true, ISOLATOR_GROUP_NONE },
        { "resource/block-bandwidth", check_resource_default_true, true, ISOLATOR_GROUP_NONE },
        { "resource/block-iops", check_resource_default_true, true, ISOLATOR_GROUP_NONE },
        { "resource/network-bandwidth", check_resource_default_true, true, ISOLATOR_GROUP_NONE },
        { "os/linux/capabilities-retain-set", check_capabilities, true,
          ISOLATOR_GROUP_CAPABILITIES },
        { "os/linux/capabilities-remove-set", check_capabilities, true,
          ISOLATOR_GROUP_CAPABILITIES },
        { "os/linux/seccomp-retain-set", check_seccomp, false, ISOLATOR_GROUP_SECCOMP },
        { "os/linux/seccomp-remove-set", check_seccomp, false, ISOLATOR_GROUP_SECCOMP },
        { "os/linux/no-new-privileges", check_boolean, true, ISOLATOR_GROUP_NONE },
        { "os/linux/oom-score-adj", check_oom_score_adj, false, ISOLATOR_GROUP_NONE },
        { "os/linux/cpu-shares", check_cpu_shares, false, ISOLATOR_GROUP_NONE },
        { "os/linux/selinux-context", check_selinux_context, false, ISOLATOR_GROUP_NONE },
        { "os/linux/apparmor-profile", check_apparmor_profile, false, ISOLATOR_GROUP_NONE },
        { "os/unix/sysctl", check_sysctl, false, ISOLATOR_GROUP_NONE },
};

static const IsolatorType *isolator_type(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(isolator_types); i++)
                if (strcmp(isolator_types[i].name, name) == 0)
                        return &isolator_types[i];
        return NULL;
}

/* The name of a validated isolator. */
static const char *isolator_name(json_object *isolator) {
        json_object *name;

        json_object_object_get_ex(isolator, "name", &name);
        return json_object_get_string(name);
}

int appc_isolator_validate(json_object *isolator, const char *path, ErrorDetail *error) {
        const IsolatorType *type;
        json_object *value;
        const char *name;
        char p[APPC_PATH_MAX];
        int r;

        r = check_type(isolator, json_type_object, path, error);
        if (r < 0)
                return r;
        r = member_string(isolator, path, "name", true, &name, error);
        if (r < 0)
                return r;
        if (!appc_is_identifier(name))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "name"),
                                        "not an ACIdentifier: \"%s\"", name);
        type = isolator_type(name);
        if (!type)
                return 0;
        appc_path_key(p, path, "value");
        if (!json_object_object_get_ex(isolator, "value", &value) || !value)
                return error_detail_set(error, -EINVAL, p, "is required for %s", name);
        return type->check(value, p, error);
}

/* Refuses a second isolator of a single-instance kind, or a mix within its group. */
static int isolator_check_multiplicity(json_object *isolators, size_t i, const char *path,
                                       ErrorDetail *error) {
        const IsolatorType *type = isolator_type(isolator_name(
                json_object_array_get_idx(isolators, i)));
        char p[APPC_PATH_MAX];

        if (!type)
                return 0;
        appc_path_index(p, path, i);
        for (size_t j = 0; j < i; j++) {
                const IsolatorType *other = isolator_type(isolator_name(
                        json_object_array_get_idx(isolators, j)));

                if (!other)
                        continue;
                if (other == type && !type->multiple)
                        return error_detail_set(error, -EINVAL, p,
                                                "%s may appear only once", type->name);
                if (other != type && type->group != ISOLATOR_GROUP_NONE &&
                    other->group == type->group)
                        return error_detail_set(error, -EINVAL, p,
                                                "%s conflicts with %s at [%zu]", type->name,
                                                other->name, j);
        }
        return 0;
}

int appc_isolators_validate(json_object *isolators, const char *path, ErrorDetail *error) {
        size_t n;
        int r;

        if (!isolators)
                return 0;
        r = check_type(isolators, json_type_array, path, error);
        if (r < 0)
                return r;
        n = json_object_array_length(isolators);
        for (size_t i = 0; i < n; i++) {
                char p[APPC_PATH_MAX];
                json_object *o;

                r = array_element(isolators, i, path, json_type_object, p, &o, error);
                if (r < 0)
                        return r;
                r = appc_isolator_validate(o, p, error);
                if (r < 0)
                        return r;
                r = isolator_check_multiplicity(isolators, i, path, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- the app section (§4.2) --- */

static int check_exec(json_object *exec, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        const char *first;
        int r;

        r = validate_string_array(exec, path, true, NULL, NULL, error);
        if (r < 0)
                return r;
        first = json_object_get_string(json_object_array_get_idx(exec, 0));
        if (!appc_is_exec(first))
                return error_detail_set(error, -EINVAL, appc_path_index(p, path, 0),
                                        "must be an absolute path or a name to look up in "
                                        "PATH: \"%s\"", first);
        return 0;
}

static int app_check_exec(json_object *app, const char *path, ErrorDetail *error) {
        json_object *exec;
        char p[APPC_PATH_MAX];
        int r;

        r = appc_json_member(app, path, "exec", json_type_array, true, &exec, error);
        if (r < 0)
                return r;
        return check_exec(exec, appc_path_key(p, path, "exec"), error);
}

static int app_check_user_group(json_object *app, const char *path, ErrorDetail *error) {
        static const char *const keys[] = { "user", "group" };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                char p[APPC_PATH_MAX];
                const char *s;
                int r;

                r = member_string(app, path, keys[i], true, &s, error);
                if (r < 0)
                        return r;
                if (!*s)
                        return error_detail_set(error, -EINVAL, appc_path_key(p, path, keys[i]),
                                                "must not be empty");
        }
        return 0;
}

/* The array member key, or NULL when absent; then n is 0. */
static int member_array(json_object *obj, const char *path, const char *key,
                        char p[static APPC_PATH_MAX], json_object **ret, size_t *ret_n,
                        ErrorDetail *error) {
        int r;

        r = appc_json_member(obj, path, key, json_type_array, false, ret, error);
        if (r < 0)
                return r;
        appc_path_key(p, path, key);
        *ret_n = *ret ? json_object_array_length(*ret) : 0;
        return 0;
}

static int app_check_supplementary_gids(json_object *app, const char *path,
                                        ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *gids;
        size_t n;
        int r;

        r = member_array(app, path, "supplementaryGIDs", p, &gids, &n, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char q[APPC_PATH_MAX];
                json_object *o;

                r = array_element(gids, i, p, json_type_int, q, &o, error);
                if (r < 0)
                        return r;
                r = check_int_range(o, q, 0, UINT32_MAX - 1, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_event_handler(json_object *handlers, size_t i, const char *path,
                               ErrorDetail *error) {
        char p[APPC_PATH_MAX], q[APPC_PATH_MAX];
        json_object *o, *exec;
        const char *name;
        int r;

        r = array_element(handlers, i, path, json_type_object, p, &o, error);
        if (r < 0)
                return r;
        r = member_string(o, p, "name", true, &name, error);
        if (r < 0)
                return r;
        appc_path_key(q, p, "name");
        if (strcmp(name, "pre-start") != 0 && strcmp(name, "post-stop") != 0)
                return error_detail_set(error, -EINVAL, q,
                                        "must be \"pre-start\" or \"post-stop\", not \"%s\"",
                                        name);
        if (name_seen_before(handlers, i, name))
                return error_detail_set(error, -EINVAL, q,
                                        "only one \"%s\" handler is allowed", name);
        r = appc_json_member(o, p, "exec", json_type_array, true, &exec, error);
        if (r < 0)
                return r;
        return check_exec(exec, appc_path_key(q, p, "exec"), error);
}

static int app_check_event_handlers(json_object *app, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *handlers;
        size_t n;
        int r;

        r = member_array(app, path, "eventHandlers", p, &handlers, &n, error);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = check_event_handler(handlers, i, p, error);
        return r;
}

static int app_check_working_directory(json_object *app, const char *path,
                                       ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        const char *dir;
        int r;

        r = member_string(app, path, "workingDirectory", false, &dir, error);
        if (r < 0)
                return r;
        /* The spec lets "" mean the default, "/". */
        if (dir && *dir && *dir != '/')
                return error_detail_set(error, -EINVAL,
                                        appc_path_key(p, path, "workingDirectory"),
                                        "must be an absolute path: \"%s\"", dir);
        return 0;
}

static int app_check_environment(json_object *app, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *env;
        size_t n;
        int r;

        r = member_array(app, path, "environment", p, &env, &n, error);
        if (r < 0 || !env)
                return r;
        return validate_pairs(env, p, appc_is_env_name, "an environment variable name", NULL,
                              NULL, error);
}

/* Element i of array: an object whose "name" is an ACName no earlier element has. Its path
 * goes to p. */
static int named_element(json_object *array, size_t i, const char *path, char p[APPC_PATH_MAX],
                         json_object **ret, const char **ret_name, ErrorDetail *error) {
        char q[APPC_PATH_MAX];
        int r;

        r = array_element(array, i, path, json_type_object, p, ret, error);
        if (r < 0)
                return r;
        r = appc_json_name(*ret, p, "name", ret_name, error);
        if (r < 0)
                return r;
        if (name_seen_before(array, i, *ret_name))
                return error_detail_set(error, -EINVAL, appc_path_key(q, p, "name"),
                                        "duplicate name \"%s\"", *ret_name);
        return 0;
}

static int check_mount_point(json_object *mounts, size_t i, const char *path,
                             ErrorDetail *error) {
        char p[APPC_PATH_MAX], q[APPC_PATH_MAX];
        const char *name, *mpath;
        json_object *o, *ro;
        int r;

        r = named_element(mounts, i, path, p, &o, &name, error);
        if (r < 0)
                return r;
        r = member_string(o, p, "path", true, &mpath, error);
        if (r < 0)
                return r;
        if (*mpath != '/')
                return error_detail_set(error, -EINVAL, appc_path_key(q, p, "path"),
                                        "must be an absolute path: \"%s\"", mpath);
        return appc_json_member(o, p, "readOnly", json_type_boolean, false, &ro, error);
}

static int app_check_mount_points(json_object *app, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *mounts;
        size_t n;
        int r;

        r = member_array(app, path, "mountPoints", p, &mounts, &n, error);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = check_mount_point(mounts, i, p, error);
        return r;
}

static int check_port_numbers(json_object *port, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *number, *count;
        int64_t c = 1;
        int r;

        r = appc_json_member(port, path, "port", json_type_int, true, &number, error);
        if (r < 0)
                return r;
        r = check_int_range(number, appc_path_key(p, path, "port"), 1, 65535, error);
        if (r < 0)
                return r;
        r = appc_json_member(port, path, "count", json_type_int, false, &count, error);
        if (r < 0)
                return r;
        if (count) {
                r = check_int_range(count, appc_path_key(p, path, "count"), 1, 65535, error);
                if (r < 0)
                        return r;
                c = json_object_get_int64(count);
        }
        if (json_object_get_int64(number) + c > 65536)
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "count"),
                                        "port %" PRIi64 " + count %" PRIi64 " exceeds 65536",
                                        json_object_get_int64(number), c);
        return 0;
}

static int check_port(json_object *ports, size_t i, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX], q[APPC_PATH_MAX];
        const char *name, *protocol;
        json_object *o, *sa;
        int r;

        r = named_element(ports, i, path, p, &o, &name, error);
        if (r < 0)
                return r;
        r = member_string(o, p, "protocol", true, &protocol, error);
        if (r < 0)
                return r;
        if (strcmp(protocol, "tcp") != 0 && strcmp(protocol, "udp") != 0)
                return error_detail_set(error, -EINVAL, appc_path_key(q, p, "protocol"),
                                        "must be \"tcp\" or \"udp\", not \"%s\"", protocol);
        r = check_port_numbers(o, p, error);
        if (r < 0)
                return r;
        return appc_json_member(o, p, "socketActivated", json_type_boolean, false, &sa, error);
}

static int app_check_ports(json_object *app, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *ports;
        size_t n;
        int r;

        r = member_array(app, path, "ports", p, &ports, &n, error);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = check_port(ports, i, p, error);
        return r;
}

static int app_check_isolators(json_object *app, const char *path, ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *isolators;
        size_t n;
        int r;

        r = member_array(app, path, "isolators", p, &isolators, &n, error);
        if (r < 0)
                return r;
        return appc_isolators_validate(isolators, p, error);
}

/* userAnnotations and userLabels: string to string maps. */
static int app_check_user_maps(json_object *app, const char *path, ErrorDetail *error) {
        static const char *const keys[] = { "userAnnotations", "userLabels" };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                char p[APPC_PATH_MAX];
                json_object *map;
                int r;

                r = appc_json_member(app, path, keys[i], json_type_object, false, &map, error);
                if (r < 0)
                        return r;
                if (!map)
                        continue;
                appc_path_key(p, path, keys[i]);
                json_object_object_foreach(map, key, v) {
                        char q[APPC_PATH_MAX];

                        appc_path_key(q, p, key);
                        if (!v)
                                return error_detail_set(error, -EINVAL, q,
                                                        "must be a string, not null");
                        r = check_type(v, json_type_string, q, error);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int appc_app_validate(json_object *app, const char *path, ErrorDetail *error) {
        static int (*const checks[])(json_object *app, const char *path, ErrorDetail *error) = {
                app_check_exec,
                app_check_user_group,
                app_check_supplementary_gids,
                app_check_event_handlers,
                app_check_working_directory,
                app_check_environment,
                app_check_mount_points,
                app_check_ports,
                app_check_isolators,
                app_check_user_maps,
        };
        int r;

        r = check_type(app, json_type_object, path, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
                r = checks[i](app, path, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

char *appc_default_app_name(const char *image_name) {
        const char *segment;
        char *name, *out;

        if (!image_name) {
                errno = EINVAL;
                return NULL;
        }
        segment = strrchr(image_name, '/');
        segment = segment ? segment + 1 : image_name;
        name = malloc(strlen(segment) + 1);
        if (!name) {
                errno = ENOMEM;
                return NULL;
        }
        /* Lowercase, map anything else to "-", and squeeze runs of "-" and drop them at the
         * edges, so the result is an ACName. */
        out = name;
        for (const char *s = segment; *s; s++) {
                char c = (char) tolower((unsigned char) *s);

                if (!is_lower_alnum(c))
                        c = '-';
                if (c == '-' && (out == name || out[-1] == '-'))
                        continue;
                *out++ = c;
        }
        if (out > name && out[-1] == '-')
                out--;
        *out = '\0';
        if (!*name) {
                free(name);
                errno = EINVAL;
                return NULL;
        }
        return name;
}
