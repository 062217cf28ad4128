/* PodManifest; see pod-manifest.h. Generation follows rkt's generatePodManifest,
 * generateRuntimeApp, prepareIsolators, mergeEnvs and MergeMounts step by step, and writes what
 * rkt's JSON encoding of schema.PodManifest writes: every object in appc's field order, empty
 * optional fields left out, string maps sorted by key. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "appc.h"
#include "cleanup.h"
#include "pod-manifest.h"
#include "pod-spec.h"

/* --- small JSON helpers --- */

static json_object *get(json_object *obj, const char *key) {
        json_object *o;

        return json_object_object_get_ex(obj, key, &o) ? o : NULL;
}

static const char *get_string(json_object *obj, const char *key) {
        json_object *o = get(obj, key);

        return json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

/* A string member that rkt counts as given: present and not empty. */
static const char *get_nonempty(json_object *obj, const char *key) {
        const char *s = get_string(obj, key);

        return s && *s ? s : NULL;
}

static int add(json_object *obj, const char *key, json_object *value) {
        if (!value)
                return -ENOMEM;
        if (json_object_object_add(obj, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

static int append(json_object *array, json_object *value) {
        if (!value)
                return -ENOMEM;
        if (json_object_array_add(array, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

static json_object *copy(json_object *o) {
        json_object *c = NULL;

        if (json_object_deep_copy(o, &c, NULL) < 0)
                return NULL;
        return c;
}

static json_object *pair_new(const char *name, const char *value) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (add(o, "name", json_object_new_string(name)) < 0 ||
            add(o, "value", json_object_new_string(value)) < 0)
                return json_object_put(o), NULL;
        return o;
}

static int compare_keys(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* A copy of a string map with its keys sorted, as Go encodes maps. */
static json_object *sorted_map(json_object *map) {
        _cleanup_json_ json_object *out = json_object_new_object();
        _cleanup_free_ const char **keys = NULL;
        size_t n = 0;

        keys = calloc((size_t) json_object_object_length(map) + 1, sizeof(char *));
        if (!out || !keys)
                return NULL;
        json_object_object_foreach(map, k, v) {
                (void) v;
                keys[n++] = k;
        }
        qsort(keys, n, sizeof(char *), compare_keys);
        for (size_t i = 0; i < n; i++)
                if (add(out, keys[i], json_object_get(get(map, keys[i]))) < 0)
                        return NULL;
        return TAKE_PTR(out);
}

static bool is_empty(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_null:
                return true;
        case json_type_array:
                return json_object_array_length(o) == 0;
        case json_type_object:
                return json_object_object_length(o) == 0;
        case json_type_string:
                return json_object_get_string_len(o) == 0;
        default:
                return false;
        }
}

/* --- the app section (types.App) --- */

typedef struct AppSection {
        json_object *exec, *event_handlers, *user, *group, *supplementary_gids,
                *working_directory, *environment, *mount_points, *ports, *isolators,
                *user_annotations, *user_labels;
} AppSection;

static const struct {
        const char *key;
        size_t offset;
        bool always;          /* written even when empty (no omitempty in appc) */
        bool map;             /* a string map, written sorted */
} app_fields[] = {
        { "exec", offsetof(AppSection, exec), true, false },
        { "eventHandlers", offsetof(AppSection, event_handlers), false, false },
        { "user", offsetof(AppSection, user), true, false },
        { "group", offsetof(AppSection, group), true, false },
        { "supplementaryGIDs", offsetof(AppSection, supplementary_gids), false, false },
        { "workingDirectory", offsetof(AppSection, working_directory), false, false },
        { "environment", offsetof(AppSection, environment), false, false },
        { "mountPoints", offsetof(AppSection, mount_points), false, false },
        { "ports", offsetof(AppSection, ports), false, false },
        { "isolators", offsetof(AppSection, isolators), false, false },
        { "userAnnotations", offsetof(AppSection, user_annotations), false, true },
        { "userLabels", offsetof(AppSection, user_labels), false, true },
};

static json_object **app_field(AppSection *s, size_t i) {
        return (json_object **) ((char *) s + app_fields[i].offset);
}

static void app_section_done(AppSection *s) {
        for (size_t i = 0; i < ELEMENTSOF(app_fields); i++) {
                json_object_put(*app_field(s, i));
                *app_field(s, i) = NULL;
        }
}

static void app_set(json_object **field, json_object *value) {
        json_object_put(*field);
        *field = value;
}

/* The image's app section, or rkt's minimal one ({user: uid, group: gid}) for an image
 * without one. */
static int app_section_init(AppSection *s, json_object *image_app,
                            const PodManifestOptions *options) {
        char id[16];

        *s = (AppSection) {};
        if (!image_app) {
                s->exec = json_object_new_array();
                snprintf(id, sizeof(id), "%" PRIu32, options->uid);
                s->user = json_object_new_string(id);
                snprintf(id, sizeof(id), "%" PRIu32, options->gid);
                s->group = json_object_new_string(id);
                return s->exec && s->user && s->group ? 0 : -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(app_fields); i++) {
                json_object *o = get(image_app, app_fields[i].key);

                if (o && !(*app_field(s, i) = copy(o)))
                        return -ENOMEM;
        }
        return 0;
}

static json_object *app_section_to_json(AppSection *s) {
        _cleanup_json_ json_object *app = json_object_new_object();

        if (!app)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(app_fields); i++) {
                json_object *o = *app_field(s, i);

                if (!app_fields[i].always && is_empty(o))
                        continue;
                if (add(app, app_fields[i].key,
                        app_fields[i].map ? sorted_map(o) : json_object_get(o)) < 0)
                        return NULL;
        }
        return TAKE_PTR(app);
}

/* --- environment (mergeEnvs) --- */

static int env_set(json_object **env, const char *name, const char *value, bool override) {
        size_t n;

        if (!*env && !(*env = json_object_new_array()))
                return -ENOMEM;
        n = json_object_array_length(*env);
        for (size_t i = 0; i < n; i++) {
                json_object *var = json_object_array_get_idx(*env, i);
                const char *other = get_string(var, "name");

                if (!other || strcmp(other, name) != 0)
                        continue;
                if (!override)
                        return 0;
                return add(var, "value", json_object_new_string(value));
        }
        return append(*env, pair_new(name, value));
}

/* Merges a [string]string map member of obj into env. Names that are no environment variable
 * names are skipped when skip_invalid (the caller's inherited environment). */
static int env_merge(json_object **env, json_object *obj, const char *key, bool override,
                     bool skip_invalid) {
        json_object *map = get(obj, key);
        int r;

        if (!json_object_is_type(map, json_type_object))
                return 0;
        json_object_object_foreach(map, name, value) {
                if (skip_invalid && !appc_is_env_name(name))
                        continue;
                r = env_set(env, name, json_object_get_string(value), override);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The order is rkt's: the image's, the app's (overriding), inherited (only new names), from
 * file (overriding), explicit (overriding). */
static int app_environment(AppSection *s, json_object *spec, json_object *app_spec) {
        int r;

        r = env_merge(&s->environment, app_spec, "environment", true, false);
        if (r >= 0)
                r = env_merge(&s->environment, spec, "inheritedEnv", false, true);
        if (r >= 0)
                r = env_merge(&s->environment, spec, "envFromFile", true, false);
        if (r >= 0)
                r = env_merge(&s->environment, spec, "setEnv", true, false);
        return r;
}

/* --- isolators (prepareIsolators) --- */

static void isolators_remove(json_object *list, const char *const *names) {
        for (size_t j = json_object_array_length(list); j > 0; j--) {
                const char *name = get_string(json_object_array_get_idx(list, j - 1), "name");

                for (size_t k = 0; name && names[k]; k++)
                        if (strcmp(name, names[k]) == 0) {
                                json_object_array_del_idx(list, j - 1, 1);
                                break;
                        }
        }
}

/* Removes the isolators named names (NULL: none), then appends isolator. */
static int isolators_replace(json_object *list, json_object *isolator,
                             const char *const *names) {
        if (!isolator)
                return 0;
        if (names)
                isolators_remove(list, names);
        return append(list, json_object_get(isolator));
}

static int app_isolators(AppSection *s, json_object *app_spec, const char *app_path,
                         ErrorDetail *error) {
        static const char *const cpu_shares[] = { "os/linux/cpu-shares", NULL };
        static const char *const oom[] = { "os/linux/oom-score-adj", NULL };
        static const char *const caps[] = { "os/linux/capabilities-retain-set",
                                            "os/linux/capabilities-remove-set", NULL };
        static const char *const seccomp[] = { "os/linux/seccomp-remove-set",
                                               "os/linux/seccomp-retain-set", NULL };
        PodIsolatorOverrides o;
        int r;

        r = pod_isolator_overrides_build(app_spec, app_path, &o, error);
        if (r < 0)
                return r;
        if (!json_object_is_type(s->isolators, json_type_array))
                app_set(&s->isolators, json_object_new_array());
        if (!s->isolators)
                r = -ENOMEM;
        /* memory and cpu are appended; the others replace every isolator of their kind. */
        if (r >= 0)
                r = isolators_replace(s->isolators, o.memory, NULL);
        if (r >= 0)
                r = isolators_replace(s->isolators, o.cpu, NULL);
        if (r >= 0)
                r = isolators_replace(s->isolators, o.cpu_shares, cpu_shares);
        if (r >= 0)
                r = isolators_replace(s->isolators, o.oom_score_adj, oom);
        if (r >= 0)
                r = isolators_replace(s->isolators, o.caps, caps);
        if (r >= 0)
                r = isolators_replace(s->isolators, o.seccomp, seccomp);
        pod_isolator_overrides_done(&o);
        return r;
}

/* --- generateRuntimeApp --- */

static int app_overrides(AppSection *s, json_object *app_spec) {
        static const struct {
                const char *spec_key;
                size_t offset;
        } replaced[] = {
                { "supplementaryGids", offsetof(AppSection, supplementary_gids) },
                { "userAnnotations", offsetof(AppSection, user_annotations) },
                { "userLabels", offsetof(AppSection, user_labels) },
        };
        const char *exec = get_nonempty(app_spec, "exec");
        json_object *args = get(app_spec, "args");
        const char *v;

        if (exec) {
                app_set(&s->exec, json_object_new_array());
                if (!s->exec || append(s->exec, json_object_new_string(exec)) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; args && i < json_object_array_length(args); i++)
                if (append(s->exec, json_object_get(json_object_array_get_idx(args, i))) < 0)
                        return -ENOMEM;
        if ((v = get_nonempty(app_spec, "workingDirectory")))
                app_set(&s->working_directory, json_object_new_string(v));
        if ((v = get_nonempty(app_spec, "user")))
                app_set(&s->user, json_object_new_string(v));
        if ((v = get_nonempty(app_spec, "group")))
                app_set(&s->group, json_object_new_string(v));
        for (size_t i = 0; i < ELEMENTSOF(replaced); i++) {
                json_object *o = get(app_spec, replaced[i].spec_key);

                if (o)
                        app_set((json_object **) ((char *) s + replaced[i].offset),
                                json_object_get(o));
        }
        return 0;
}

/* The app section of one app with all overrides; checked by appc's rules in the end. */
static int app_build(json_object *spec, json_object *app_spec, const char *app_path,
                     const PodImage *image, const PodManifestOptions *options,
                     json_object **ret, ErrorDetail *error) {
        _cleanup_json_ json_object *app = NULL;
        _cleanup_(app_section_done) AppSection s = {};
        ErrorDetail inner = {};
        int r;

        r = app_section_init(&s, image->manifest->app, options);
        if (r >= 0)
                r = app_overrides(&s, app_spec);
        if (r >= 0)
                r = app_isolators(&s, app_spec, app_path, error);
        if (r >= 0)
                r = app_environment(&s, spec, app_spec);
        if (r < 0)
                return r;
        app = app_section_to_json(&s);
        if (!app)
                return -ENOMEM;
        r = appc_app_validate(app, "app", &inner);
        if (r < 0)
                return error_detail_set(error, r, app_path,
                                        "the resulting app section is not valid: %s: %s",
                                        inner.field, inner.reason);
        *ret = TAKE_PTR(app);
        return 0;
}

/* --- MergeMounts --- */

/* path.Clean of Go: "//", "." and ".." resolved lexically, no trailing "/". malloc'd. */
static char *path_clean(const char *path) {
        bool rooted = path[0] == '/';
        char *out = malloc(strlen(path) + 2);
        size_t w = 0, floor;

        if (!out)
                return NULL;
        if (rooted)
                out[w++] = '/';
        floor = w;            /* ".." never goes back past this */
        for (const char *p = path; *p;) {
                size_t len = strcspn(p, "/");

                if (len == 2 && p[0] == '.' && p[1] == '.') {
                        if (w > floor) {
                                while (w > floor && out[w - 1] != '/')
                                        w--;
                                if (w > floor)
                                        w--;
                        } else if (!rooted) {
                                if (w > 0)
                                        out[w++] = '/';
                                memcpy(out + w, "..", 2);
                                floor = w += 2;
                        }
                } else if (len > 0 && !(len == 1 && p[0] == '.')) {
                        if (w > 0 && out[w - 1] != '/')
                                out[w++] = '/';
                        memcpy(out + w, p, len);
                        w += len;
                }
                p += len;
                while (*p == '/')
                        p++;
        }
        if (w == 0)
                out[w++] = '.';
        out[w] = '\0';
        return out;
}

/* Appends the mounts of list to out, leaving out those whose cleaned path is in seen. */
static int mounts_merge(json_object *out, json_object *list, char **seen, size_t *n_seen) {
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
                json_object *m = json_object_array_get_idx(list, i), *o;
                char *clean = path_clean(get_string(m, "path"));
                bool dup = false;

                if (!clean)
                        return -ENOMEM;
                for (size_t j = 0; j < *n_seen && !dup; j++)
                        dup = strcmp(seen[j], clean) == 0;
                if (dup) {
                        free(clean);
                        continue;
                }
                seen[(*n_seen)++] = clean;
                o = json_object_new_object();
                if (append(out, o) < 0 ||
                    add(o, "volume", json_object_new_string(get_string(m, "volume"))) < 0 ||
                    add(o, "path", json_object_new_string(get_string(m, "path"))) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The app's mounts, then the pod's; of two with the same cleaned path the first stays. */
static json_object *app_mounts(json_object *spec, json_object *app_spec) {
        json_object *app_list = get(app_spec, "mounts"), *pod_list = get(spec, "mounts");
        size_t n = (app_list ? json_object_array_length(app_list) : 0) +
                   (pod_list ? json_object_array_length(pod_list) : 0), n_seen = 0;
        _cleanup_json_ json_object *out = json_object_new_array();
        char **seen = calloc(n + 1, sizeof(char *));
        int r = -ENOMEM;

        if (out && seen) {
                r = mounts_merge(out, app_list, seen, &n_seen);
                if (r >= 0)
                        r = mounts_merge(out, pod_list, seen, &n_seen);
        }
        for (size_t i = 0; seen && i < n_seen; i++)
                free(seen[i]);
        free(seen);
        return r < 0 ? NULL : TAKE_PTR(out);
}

/* --- the runtime app --- */

static json_object *pairs_from_map(json_object *map) {
        _cleanup_json_ json_object *list = json_object_new_array();

        if (!list)
                return NULL;
        json_object_object_foreach(map, k, v)
                if (append(list, pair_new(k, json_object_get_string(v))) < 0)
                        return NULL;
        return TAKE_PTR(list);
}

static json_object *labels_to_json(const ImageManifest *m) {
        _cleanup_json_ json_object *list = json_object_new_array();

        if (!list)
                return NULL;
        for (size_t i = 0; i < m->n_labels; i++)
                if (append(list, pair_new(m->labels[i].name, m->labels[i].value)) < 0)
                        return NULL;
        return TAKE_PTR(list);
}

static json_object *runtime_image(const PodImage *image) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || add(o, "name", json_object_new_string(image->manifest->name)) < 0 ||
            add(o, "id", json_object_new_string(image->id)) < 0)
                return NULL;
        if (image->manifest->n_labels > 0 &&
            add(o, "labels", labels_to_json(image->manifest)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* Adds what follows "app" in a RuntimeApp: readOnlyRootFS, mounts, annotations. */
static int runtime_app_tail(json_object *ra, json_object *spec, json_object *app_spec) {
        json_object *ro = get(app_spec, "readOnlyRootfs"), *annotations;
        _cleanup_json_ json_object *mounts = app_mounts(spec, app_spec);
        int r;

        if (!mounts)
                return -ENOMEM;
        if (json_object_get_boolean(ro)) {
                r = add(ra, "readOnlyRootFS", json_object_new_boolean(true));
                if (r < 0)
                        return r;
        }
        if (json_object_array_length(mounts) > 0) {
                r = add(ra, "mounts", TAKE_PTR(mounts));
                if (r < 0)
                        return r;
        }
        annotations = get(app_spec, "annotations");
        if (annotations && json_object_object_length(annotations) > 0)
                return add(ra, "annotations", pairs_from_map(annotations));
        return 0;
}

static int runtime_app(json_object *spec, json_object *app_spec, const char *name,
                       const char *app_path, const PodImage *image,
                       const PodManifestOptions *options, json_object **ret,
                       ErrorDetail *error) {
        _cleanup_json_ json_object *ra = json_object_new_object(), *app = NULL;
        int r;

        if (!ra)
                return -ENOMEM;
        r = app_build(spec, app_spec, app_path, image, options, &app, error);
        if (r < 0)
                return r;
        r = add(ra, "name", json_object_new_string(name));
        if (r >= 0)
                r = add(ra, "image", runtime_image(image));
        if (r >= 0)
                r = add(ra, "app", TAKE_PTR(app));
        if (r >= 0)
                r = runtime_app_tail(ra, spec, app_spec);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ra);
        return 0;
}

/* The app's name: given, or rkt's default from the image name; unique in the pod. */
static int app_name(json_object *app_spec, const char *app_path, const ImageManifest *m,
                    json_object *apps, char **ret, ErrorDetail *error) {
        const char *given = get_string(app_spec, "name");
        _cleanup_free_ char *name = NULL;
        char p[APPC_PATH_MAX];

        appc_path_key(p, app_path, "name");
        if (given && *given)
                name = strdup(given);
        else {
                name = appc_default_app_name(m->name);
                if (!name && errno != ENOMEM)
                        return error_detail_set(error, -EINVAL, p,
                                                "cannot make an app name from image name "
                                                "\"%s\"; give one", m->name);
        }
        if (!name)
                return -ENOMEM;
        if (!appc_is_name(name))
                return error_detail_set(error, -EINVAL, p,
                                        "invalid app name format: not an ACName: \"%s\"", name);
        for (size_t i = 0; i < json_object_array_length(apps); i++)
                if (strcmp(get_string(json_object_array_get_idx(apps, i), "name"), name) == 0)
                        return error_detail_set(error, -EINVAL, p,
                                                "multiple apps with name \"%s\"", name);
        *ret = TAKE_PTR(name);
        return 0;
}

static int generate_app(json_object *spec, size_t i, const PodImage *image,
                        const PodManifestOptions *options, json_object *apps,
                        ErrorDetail *error) {
        json_object *app_spec = json_object_array_get_idx(get(spec, "apps"), i), *ra = NULL;
        _cleanup_free_ char *name = NULL;
        char path[APPC_PATH_MAX], p[APPC_PATH_MAX];
        int r;

        appc_path_index(path, "spec.apps", i);
        r = app_name(app_spec, path, image->manifest, apps, &name, error);
        if (r < 0)
                return r;
        if (!image->manifest->app && !get_nonempty(app_spec, "exec"))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "exec"),
                                        "image %s has no app section and exec is not given",
                                        image->id);
        r = runtime_app(spec, app_spec, name, path, image, options, &ra, error);
        if (r < 0)
                return r;
        return append(apps, ra);
}

/* --- pod-level parts --- */

static json_object *volume_to_json(json_object *v) {
        static const char *const keys[] = { "name", "kind", "source", "readOnly", "recursive",
                                            "mode", "uid", "gid" };
        _cleanup_json_ json_object *o = json_object_new_object();
        bool empty = strcmp(get_string(v, "kind"), "empty") == 0;

        if (!o)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                json_object *value = get(v, keys[i]);

                if (!value && empty && strcmp(keys[i], "mode") == 0)
                        value = json_object_new_string("0755");
                else if (!value && empty && (strcmp(keys[i], "uid") == 0 ||
                                             strcmp(keys[i], "gid") == 0))
                        value = json_object_new_int(0);
                else if (!value || (strcmp(keys[i], "source") == 0 && is_empty(value)))
                        continue;
                else
                        value = json_object_get(value);
                if (add(o, keys[i], value) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);
}

static json_object *list_map(json_object *list, json_object *(*f)(json_object *)) {
        _cleanup_json_ json_object *out = json_object_new_array();

        if (!out)
                return NULL;
        for (size_t i = 0; list && i < json_object_array_length(list); i++)
                if (append(out, f(json_object_array_get_idx(list, i))) < 0)
                        return NULL;
        return TAKE_PTR(out);
}

/* PortForward -> appc ExposedPort. */
static json_object *port_to_json(json_object *p) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *ip = get(p, "hostIp");

        if (!o || add(o, "name", json_object_get(get(p, "name"))) < 0 ||
            add(o, "hostPort", json_object_get(get(p, "hostPort"))) < 0)
                return NULL;
        if (ip && add(o, "hostIP", json_object_get(ip)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* stage0's own annotations first; the spec's do not override them. */
static json_object *pod_annotations(json_object *spec, const PodManifestOptions *options) {
        _cleanup_json_ json_object *list = json_object_new_array();
        json_object *given = get(spec, "annotations");

        if (!list || append(list, pair_new(POD_ANNOTATION_MUTABLE,
                                           options->mutable_pod ? "true" : "false")) < 0)
                return NULL;
        if (!given)
                return TAKE_PTR(list);
        json_object_object_foreach(given, k, v) {
                if (strcmp(k, POD_ANNOTATION_MUTABLE) == 0)
                        continue;
                if (append(list, pair_new(k, json_object_get_string(v))) < 0)
                        return NULL;
        }
        return TAKE_PTR(list);
}

static int add_user_maps(json_object *pm, json_object *from) {
        static const char *const keys[] = { "userAnnotations", "userLabels" };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                json_object *map = get(from, keys[i]);
                int r;

                if (is_empty(map))
                        continue;
                r = add(pm, keys[i], sorted_map(map));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- forwarded ports (rkt's networking.ForwardedPorts) --- */

typedef struct ForwardedPort {
        const char *protocol;
        int64_t pod_port;
        int64_t host_port;
        uint32_t host_ip;         /* network order; 0 = all addresses */
} ForwardedPort;

/* The port named name among the apps' sections; refused when two apps declare it. */
static int find_app_port(json_object *const *sections, const char *const *names, size_t n,
                         const char *name, const char *field, json_object **ret,
                         ErrorDetail *error) {
        const char *owner = NULL;

        *ret = NULL;
        for (size_t i = 0; i < n; i++) {
                json_object *ports = get(sections[i], "ports");

                for (size_t j = 0; ports && j < json_object_array_length(ports); j++) {
                        json_object *p = json_object_array_get_idx(ports, j);
                        const char *pn = get_string(p, "name");

                        if (!pn || strcmp(pn, name) != 0)
                                continue;
                        if (owner)
                                return error_detail_set(error, -EINVAL, field,
                                                        "port name \"%s\" defined by more than "
                                                        "one app: \"%s\" and \"%s\"", name,
                                                        owner, names[i]);
                        owner = names[i];
                        *ret = p;
                }
        }
        if (!owner)
                return error_detail_set(error, -EINVAL, field,
                                        "port name \"%s\" could not be found in any apps", name);
        return 0;
}

static bool ports_conflict(const ForwardedPort *a, const ForwardedPort *b) {
        return strcmp(a->protocol, b->protocol) == 0 && a->host_port == b->host_port &&
               (a->host_ip == 0 || b->host_ip == 0 || a->host_ip == b->host_ip);
}

static int forwarded_port(json_object *ep, const char *path, const char *ip_key,
                          json_object *const *sections, const char *const *names, size_t n,
                          ForwardedPort *ret, ErrorDetail *error) {
        json_object *pod_port = get(ep, "podPort");
        const char *ip = get_string(ep, ip_key);
        struct in_addr addr = {};
        char p[APPC_PATH_MAX];
        int r;

        if (!pod_port) {
                r = find_app_port(sections, names, n, get_string(ep, "name"),
                                  appc_path_key(p, path, "name"), &pod_port, error);
                if (r < 0)
                        return r;
        }
        if (ip && inet_pton(AF_INET, ip, &addr) != 1)
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, ip_key),
                                        "not an IPv4 address: \"%s\"", ip);
        *ret = (ForwardedPort) {
                .protocol = get_string(pod_port, "protocol") ?: "tcp",
                .pod_port = json_object_get_int64(get(pod_port, "port")),
                .host_port = json_object_get_int64(get(ep, "hostPort")),
                .host_ip = addr.s_addr,
        };
        return 0;
}

static int check_forwarded_ports(json_object *ports, const char *ports_path, const char *ip_key,
                                 json_object *const *sections, const char *const *names,
                                 size_t n, ErrorDetail *error) {
        size_t n_ports = ports ? json_object_array_length(ports) : 0;
        _cleanup_free_ ForwardedPort *fps = calloc(n_ports + 1, sizeof(ForwardedPort));

        if (!fps)
                return -ENOMEM;
        for (size_t i = 0; i < n_ports; i++) {
                char path[APPC_PATH_MAX], ip[INET_ADDRSTRLEN];
                int r;

                appc_path_index(path, ports_path, i);
                r = forwarded_port(json_object_array_get_idx(ports, i), path, ip_key, sections,
                                   names, n, &fps[i], error);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++) {
                        if (!ports_conflict(&fps[i], &fps[j]))
                                continue;
                        inet_ntop(AF_INET, &fps[i].host_ip, ip, sizeof(ip));
                        return error_detail_set(error, -EINVAL, path,
                                                "port %s-%s:%" PRIi64 " already mapped to pod "
                                                "port %" PRIi64, fps[i].protocol, ip,
                                                fps[i].host_port, fps[j].pod_port);
                }
        }
        return 0;
}

/* The apps' names and app sections (the pod's, else the image's), for the port checks. */
static int apps_sections(json_object *apps, const PodImage *images, json_object ***ret_sections,
                         const char ***ret_names) {
        size_t n = json_object_array_length(apps);
        json_object **sections = calloc(n + 1, sizeof(json_object *));
        const char **names = calloc(n + 1, sizeof(char *));

        if (!sections || !names) {
                free(sections);
                free(names);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *ra = json_object_array_get_idx(apps, i);

                names[i] = get_string(ra, "name");
                sections[i] = get(ra, "app") ?: (images ? images[i].manifest->app : NULL);
        }
        *ret_sections = sections;
        *ret_names = names;
        return 0;
}

static int check_ports_of(json_object *pm, const char *ports_path, const char *ip_key,
                          const PodImage *images, ErrorDetail *error) {
        _cleanup_free_ json_object **sections = NULL;
        _cleanup_free_ const char **names = NULL;
        json_object *apps = get(pm, "apps");
        int r;

        r = apps_sections(apps, images, &sections, &names);
        if (r < 0)
                return r;
        return check_forwarded_ports(get(pm, "ports"), ports_path, ip_key, sections, names,
                                     apps ? json_object_array_length(apps) : 0, error);
}

/* --- the whole pod --- */

static size_t count_apps(json_object *obj) {
        json_object *apps = get(obj, "apps");

        return apps ? json_object_array_length(apps) : 0;
}

static int check_images(size_t n_apps, const PodImage *images, size_t n_images,
                        const char *field, ErrorDetail *error) {
        if (n_images != n_apps)
                return error_detail_set(error, -EINVAL, field, "%zu images for %zu apps",
                                        n_images, n_apps);
        for (size_t i = 0; i < n_images; i++)
                if (!images[i].id || !images[i].manifest)
                        return error_detail_set(error, -EINVAL, field,
                                                "image of app %zu not resolved", i);
        return 0;
}

static int pod_tail(json_object *pm, json_object *spec, const PodManifestOptions *options) {
        int r;

        r = add(pm, "volumes", list_map(get(spec, "volumes"), volume_to_json));
        if (r >= 0)
                r = add(pm, "isolators", json_object_new_array());
        if (r >= 0)
                r = add(pm, "annotations", pod_annotations(spec, options));
        if (r >= 0)
                r = add(pm, "ports", list_map(get(spec, "ports"), port_to_json));
        if (r >= 0)
                r = add_user_maps(pm, spec);
        return r;
}

int pod_manifest_generate(json_object *spec, const PodImage *images, size_t n_images,
                          const PodManifestOptions *options, json_object **ret,
                          ErrorDetail *error) {
        static const PodManifestOptions defaults = {};
        _cleanup_json_ json_object *pm = NULL, *apps = NULL;
        int r;

        options = options ?: &defaults;
        r = pod_spec_check(spec, error);
        if (r < 0)
                return r;
        if (get(spec, "manifest"))
                return error_detail_set(error, -EINVAL, "spec.manifest",
                                        "a given manifest is validated, not generated");
        r = check_images(count_apps(spec), images, n_images, "spec.apps", error);
        if (r < 0)
                return r;
        pm = json_object_new_object();
        apps = json_object_new_array();
        if (!pm || !apps)
                return -ENOMEM;
        for (size_t i = 0; i < n_images; i++) {
                r = generate_app(spec, i, &images[i], options, apps, error);
                if (r < 0)
                        return r;
        }
        r = add(pm, "acVersion", json_object_new_string(POD_MANIFEST_AC_VERSION));
        if (r >= 0)
                r = add(pm, "acKind", json_object_new_string("PodManifest"));
        if (r >= 0)
                r = add(pm, "apps", TAKE_PTR(apps));
        if (r >= 0)
                r = pod_tail(pm, spec, options);
        if (r < 0)
                return r;
        r = check_ports_of(pm, "spec.ports", "hostIP", NULL, error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pm);
        return 0;
}

int pod_manifest_validate(json_object *spec, const PodImage *images, size_t n_images,
                          json_object **ret, ErrorDetail *error) {
        json_object *manifest;
        size_t n;
        int r;

        r = pod_spec_check(spec, error);
        if (r < 0)
                return r;
        manifest = get(spec, "manifest");
        if (!manifest)
                return error_detail_set(error, -EINVAL, "spec.manifest", "is required");
        n = count_apps(manifest);
        r = check_images(n, images, n_images, "spec.manifest.apps", error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                json_object *ra = json_object_array_get_idx(get(manifest, "apps"), i);
                char path[APPC_PATH_MAX];

                if (!get(ra, "app") && !images[i].manifest->app)
                        return error_detail_set(error, -EINVAL,
                                                appc_path_index(path, "spec.manifest.apps", i),
                                                "no app section in the pod manifest or the "
                                                "image manifest");
        }
        r = check_ports_of(manifest, "spec.manifest.ports", "hostIP", images, error);
        if (r < 0)
                return r;
        *ret = json_object_get(manifest);
        return 0;
}

int pod_manifest_from_spec(json_object *spec, const PodImage *images, size_t n_images,
                           const PodManifestOptions *options, json_object **ret,
                           ErrorDetail *error) {
        if (get(spec, "manifest"))
                return pod_manifest_validate(spec, images, n_images, ret, error);
        return pod_manifest_generate(spec, images, n_images, options, ret, error);
}

/* --- os and arch --- */

int pod_image_check_os_arch(const ImageManifest *m, const char *os, const char *arch,
                            const char *field, ErrorDetail *error) {
        const char *image_os = image_manifest_label(m, "os");
        const char *image_arch = image_manifest_label(m, "arch");

        if (!image_os)
                return error_detail_set(error, -EINVAL, field,
                                        "missing os label in the image manifest");
        if (!image_arch)
                return error_detail_set(error, -EINVAL, field,
                                        "missing arch label in the image manifest");
        if (strcmp(image_os, os) != 0)
                return error_detail_set(error, -EINVAL, field,
                                        "bad os \"%s\": this host runs \"%s\"", image_os, os);
        if (strcmp(image_arch, arch) != 0)
                return error_detail_set(error, -EINVAL, field,
                                        "bad arch \"%s\" for os \"%s\": this host is \"%s\"",
                                        image_arch, image_os, arch);
        return 0;
}

const char *pod_appc_arch(const char *machine) {
        static const struct {
                const char *machine;
                const char *arch;
        } table[] = {
                { "x86_64", "amd64" },
                { "i386", "i386" }, { "i486", "i386" }, { "i586", "i386" }, { "i686", "i386" },
                { "aarch64", "aarch64" }, { "arm64", "aarch64" },
                { "aarch64_be", "aarch64_be" },
                { "armv6l", "armv6l" }, { "armv7l", "armv7l" }, { "armv7b", "armv7b" },
                { "ppc64", "ppc64" }, { "ppc64le", "ppc64le" },
                { "s390x", "s390x" },
        };

        for (size_t i = 0; machine && i < ELEMENTSOF(table); i++)
                if (strcmp(table[i].machine, machine) == 0)
                        return table[i].arch;
        return NULL;
}

int pod_host_arch(const char **ret) {
        struct utsname u;
        const char *arch;

        if (uname(&u) < 0)
                return NEG_ERRNO();
        arch = pod_appc_arch(u.machine);
        if (!arch)
                return -ENOTSUP;
        *ret = arch;
        return 0;
}

const char *pod_manifest_to_string(json_object *m) {
        return json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
}
