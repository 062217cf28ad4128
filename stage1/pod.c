/* Loading the pod manifest and the app image manifests (appc 0.8.11 schema, see
 * /work/shared/reference/appc-rkt.md §4.2-4.3). The runtime app's `app` section replaces the
 * image's entirely, except the environment: the image's variables come first and the pod's
 * override them by name (stage0 writes its overrides there). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "pod.h"
#include "util.h"

#define ERR(...) ({ snprintf(err, err_size, __VA_ARGS__); -EINVAL; })

bool acname_is_valid(const char *s) {
        /* ^[a-z0-9]+([-][a-z0-9]+)*$ */
        bool prev_dash = true;

        if (!s || !*s)
                return false;
        for (; *s; s++) {
                if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
                        prev_dash = false;
                else if (*s == '-' && !prev_dash)
                        prev_dash = true;
                else
                        return false;
        }
        return !prev_dash;
}

static bool env_name_is_valid(const char *s) {
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
                return false;
        for (s++; *s; s++)
                if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
                      *s == '_' || *s == '.' || *s == '-'))
                        return false;
        return true;
}

/* Absolute, no "." or ".." components, no NUL: safe to resolve under a root. */
static bool app_path_is_valid(const char *p) {
        if (p[0] != '/')
                return false;
        for (const char *c = p; *c; ) {
                while (*c == '/')
                        c++;
                size_t n = strcspn(c, "/");
                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c += n;
        }
        return true;
}

static const char *json_string_field(json_object *o, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        /* A string with an embedded NUL would be silently truncated later: treat it as absent. */
        if (strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
                return NULL;
        return json_object_get_string(v);
}

static bool json_has(json_object *o, const char *key) {
        return json_object_object_get_ex(o, key, NULL);
}

static int json_string_array(json_object *arr, char ***ret) {
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));

        if (!v)
                return -ENOMEM;
        if (!json_object_is_type(arr, json_type_array))
                return -EINVAL;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                if (!json_object_is_type(e, json_type_string) ||
                    strlen(json_object_get_string(e)) != (size_t) json_object_get_string_len(e))
                        return -EINVAL;
                int r = strv_push(&v, strdup(json_object_get_string(e)));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static int load_json(int dirfd, const char *path, json_object **ret, char *err, size_t err_size) {
        _cleanup_free_ char *text = NULL;
        json_tokener *tok;
        json_object *o;
        size_t size;
        int r;

        r = read_file_at(dirfd, path, POD_MANIFEST_MAX, &text, &size);
        if (r < 0) {
                snprintf(err, err_size, "%s: cannot read: %s", path, strerror(-r));
                return r;
        }
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, text, (int) size);
        if (!o || json_tokener_get_error(tok) != json_tokener_success || tok->char_offset != (int) size) {
                snprintf(err, err_size, "%s: not valid JSON", path);
                json_object_put(o);
                json_tokener_free(tok);
                return -EINVAL;
        }
        json_tokener_free(tok);
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return ERR("%s: not a JSON object", path);
        }
        *ret = o;
        return 0;
}

static int parse_volume(Volume *v, json_object *o, const char *where, char *err, size_t err_size) {
        const char *name = json_string_field(o, "name"), *kind = json_string_field(o, "kind");
        json_object *x;

        *v = (Volume) { .recursive = true, .mode = 0755 };
        if (!json_object_is_type(o, json_type_object))
                return ERR("%s: not an object", where);
        if (!acname_is_valid(name))
                return ERR("%s.name: missing or not an ACName", where);
        v->name = strdup(name);
        if (!v->name)
                return -ENOMEM;
        if (!kind || (strcmp(kind, "host") != 0 && strcmp(kind, "empty") != 0))
                return ERR("%s.kind: must be \"host\" or \"empty\"", where);
        v->is_host = strcmp(kind, "host") == 0;
        if (json_object_object_get_ex(o, "readOnly", &x)) {
                if (!json_object_is_type(x, json_type_boolean))
                        return ERR("%s.readOnly: not a boolean", where);
                v->read_only = json_object_get_boolean(x);
        }
        if (json_object_object_get_ex(o, "recursive", &x)) {
                if (!json_object_is_type(x, json_type_boolean))
                        return ERR("%s.recursive: not a boolean", where);
                v->recursive = json_object_get_boolean(x);
        }
        if (v->is_host) {
                const char *src = json_string_field(o, "source");
                if (!src || src[0] != '/')
                        return ERR("%s.source: a host volume needs an absolute source", where);
                if (json_has(o, "mode") || json_has(o, "uid") || json_has(o, "gid"))
                        return ERR("%s: mode, uid and gid are not allowed on a host volume", where);
                v->source = strdup(src);
                return v->source ? 0 : -ENOMEM;
        }
        if (json_has(o, "source") && (!json_string_field(o, "source") || *json_string_field(o, "source")))
                return ERR("%s.source: an empty volume has no source", where);
        if (json_object_object_get_ex(o, "mode", &x)) {
                const char *m = json_object_is_type(x, json_type_string) ? json_object_get_string(x) : NULL;
                char *end;
                unsigned long mode = m && *m ? strtoul(m, &end, 8) : 0;
                if (!m || !*m || *end || mode > 07777)
                        return ERR("%s.mode: not an octal mode string", where);
                v->mode = (mode_t) mode;
        }
        const char *ids[] = { "uid", "gid" };
        for (size_t i = 0; i < 2; i++) {
                if (!json_object_object_get_ex(o, ids[i], &x))
                        continue;
                int64_t id = json_object_is_type(x, json_type_int) ? json_object_get_int64(x) : -1;
                if (id < 0 || id >= UINT32_MAX)
                        return ERR("%s.%s: not a valid id", where, ids[i]);
                if (i == 0)
                        v->uid = (uid_t) id;
                else
                        v->gid = (gid_t) id;
        }
        return 0;
}

static void volume_deinit(Volume *v) {
        free(v->name);
        free(v->source);
}

static const Volume *find_volume(const Pod *p, const char *name) {
        for (size_t i = 0; i < p->n_volumes; i++)
                if (strcmp(p->volumes[i].name, name) == 0)
                        return &p->volumes[i];
        return NULL;
}

static bool paths_overlap(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        while (la > 1 && a[la - 1] == '/')
                la--;
        while (lb > 1 && b[lb - 1] == '/')
                lb--;
        size_t n = la < lb ? la : lb;
        if (strncmp(a, b, n) != 0)
                return false;
        if (la == lb)
                return true;
        const char *longer = la > lb ? a : b;
        return n == 1 || longer[n] == '/';
}

static int add_mount(App *app, const char *path, const Volume *vol, bool ro) {
        AppMount *m = realloc(app->mounts, (app->n_mounts + 1) * sizeof(AppMount));
        if (!m)
                return -ENOMEM;
        app->mounts = m;
        m[app->n_mounts] = (AppMount) { .path = strdup(path), .volume = vol, .read_only = ro };
        if (!m[app->n_mounts].path)
                return -ENOMEM;
        app->n_mounts++;
        return 0;
}

static int parse_mounts(Pod *p, App *app, json_object *ra, json_object *appsec, char *err, size_t err_size) {
        json_object *mounts = NULL, *mps = NULL;
        int r;

        if (json_object_object_get_ex(ra, "mounts", &mounts) && !json_object_is_type(mounts, json_type_array))
                return ERR("apps[%s].mounts: not an array", app->name);
        for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
                json_object *m = json_object_array_get_idx(mounts, i), *av;
                const char *vname = json_string_field(m, "volume"), *path = json_string_field(m, "path");
                const Volume *vol;

                if (!path || !app_path_is_valid(path))
                        return ERR("apps[%s].mounts[%zu].path: missing, relative or with . or .. components",
                                   app->name, i);
                if (json_object_object_get_ex(m, "appVolume", &av) && !json_object_is_type(av, json_type_null)) {
                        /* pod_load() sized the array for every mount, so it never moves. */
                        Volume *iv = p->inline_volumes;
                        char where[128];
                        snprintf(where, sizeof(where), "apps[%s].mounts[%zu].appVolume", app->name, i);
                        r = parse_volume(&iv[p->n_inline_volumes], av, where, err, err_size);
                        p->n_inline_volumes++;
                        if (r < 0)
                                return r;
                        vol = &iv[p->n_inline_volumes - 1];
                } else {
                        if (!vname || !(vol = find_volume(p, vname)))
                                return ERR("apps[%s].mounts[%zu].volume: no volume named '%s'", app->name, i,
                                           vname ? vname : "");
                }
                r = add_mount(app, path, vol, vol->read_only);
                if (r < 0)
                        return r;
        }
        if (appsec && json_object_object_get_ex(appsec, "mountPoints", &mps) &&
            !json_object_is_type(mps, json_type_array))
                return ERR("apps[%s].app.mountPoints: not an array", app->name);
        for (size_t i = 0; mps && i < json_object_array_length(mps); i++) {
                json_object *mp = json_object_array_get_idx(mps, i), *x;
                const char *name = json_string_field(mp, "name"), *path = json_string_field(mp, "path");
                bool ro = false, found = false;

                if (!acname_is_valid(name) || !path || !app_path_is_valid(path))
                        return ERR("apps[%s].app.mountPoints[%zu]: needs an ACName and a clean absolute path",
                                   app->name, i);
                if (json_object_object_get_ex(mp, "readOnly", &x))
                        ro = json_object_get_boolean(x);
                for (size_t k = 0; k < app->n_mounts; k++)
                        if (strcmp(app->mounts[k].path, path) == 0) {
                                app->mounts[k].read_only |= ro;
                                found = true;
                        }
                if (found)
                        continue;
                const Volume *vol = find_volume(p, name);
                if (!vol)
                        return ERR("apps[%s].app.mountPoints[%zu]: no mount and no volume for mount point '%s'",
                                   app->name, i, name);
                r = add_mount(app, path, vol, vol->read_only || ro);
                if (r < 0)
                        return r;
        }
        for (size_t a = 0; a < app->n_mounts; a++)
                for (size_t b = a + 1; b < app->n_mounts; b++)
                        if (paths_overlap(app->mounts[a].path, app->mounts[b].path))
                                return ERR("apps[%s]: mounts at %s and %s overlap", app->name,
                                           app->mounts[a].path, app->mounts[b].path);
        return 0;
}

static int env_set(char ***env, const char *name, const char *value) {
        size_t n = strlen(name);
        char *entry;

        if (asprintf(&entry, "%s=%s", name, value) < 0)
                return -ENOMEM;
        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
                        free(*e);
                        *e = entry;
                        return 0;
                }
        return strv_push(env, entry);
}

static int parse_environment(char ***env, json_object *appsec, const char *where, char *err, size_t err_size) {
        json_object *arr;

        if (!appsec || !json_object_object_get_ex(appsec, "environment", &arr))
                return 0;
        if (!json_object_is_type(arr, json_type_array))
                return ERR("%s.environment: not an array", where);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                const char *name = json_string_field(e, "name"), *value = json_string_field(e, "value");
                if (!name || !env_name_is_valid(name) || !value)
                        return ERR("%s.environment[%zu]: needs a valid name and a string value", where, i);
                int r = env_set(env, name, value);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_event_handlers(App *app, json_object *appsec, char *err, size_t err_size) {
        json_object *arr;

        if (!json_object_object_get_ex(appsec, "eventHandlers", &arr))
                return 0;
        if (!json_object_is_type(arr, json_type_array))
                return ERR("apps[%s].app.eventHandlers: not an array", app->name);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *h = json_object_array_get_idx(arr, i), *exec;
                const char *name = json_string_field(h, "name");
                char ***slot;

                if (name && strcmp(name, "pre-start") == 0)
                        slot = &app->pre_start;
                else if (name && strcmp(name, "post-stop") == 0)
                        slot = &app->post_stop;
                else
                        return ERR("apps[%s].app.eventHandlers[%zu].name: must be pre-start or post-stop",
                                   app->name, i);
                if (*slot)
                        return ERR("apps[%s].app.eventHandlers: %s given twice", app->name, name);
                if (!json_object_object_get_ex(h, "exec", &exec) || json_string_array(exec, slot) < 0 ||
                    strv_length(*slot) == 0)
                        return ERR("apps[%s].app.eventHandlers[%zu].exec: needs a non-empty string array",
                                   app->name, i);
        }
        return 0;
}

static int parse_app_section(App *app, json_object *appsec, char *err, size_t err_size) {
        const char *user = json_string_field(appsec, "user"), *group = json_string_field(appsec, "group");
        const char *wd = json_string_field(appsec, "workingDirectory");
        json_object *x;
        int r;

        if (!json_object_object_get_ex(appsec, "exec", &x) || json_string_array(x, &app->exec) < 0 ||
            strv_length(app->exec) == 0 || app->exec[0][0] == '\0')
                return ERR("apps[%s].app.exec: needs a non-empty string array", app->name);
        if (!user || !*user || !group || !*group)
                return ERR("apps[%s].app: user and group are required", app->name);
        app->user = strdup(user);
        app->group = strdup(group);
        if (wd && *wd && !app_path_is_valid(wd) && strcmp(wd, "/") != 0)
                return ERR("apps[%s].app.workingDirectory: must be a clean absolute path", app->name);
        app->working_dir = strdup(wd && *wd ? wd : "/");
        if (!app->user || !app->group || !app->working_dir)
                return -ENOMEM;
        if (json_object_object_get_ex(appsec, "supplementaryGIDs", &x)) {
                if (!json_object_is_type(x, json_type_array))
                        return ERR("apps[%s].app.supplementaryGIDs: not an array", app->name);
                size_t n = json_object_array_length(x);
                app->supplementary_gids = calloc(n ? n : 1, sizeof(uint32_t));
                if (!app->supplementary_gids)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        json_object *g = json_object_array_get_idx(x, i);
                        int64_t v = json_object_is_type(g, json_type_int) ? json_object_get_int64(g) : -1;
                        if (v < 0 || v >= UINT32_MAX)
                                return ERR("apps[%s].app.supplementaryGIDs[%zu]: not a gid", app->name, i);
                        app->supplementary_gids[i] = (uint32_t) v;
                }
                app->n_supplementary_gids = n;
        }
        r = parse_event_handlers(app, appsec, err, err_size);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(appsec, "isolators", &x)) {
                if (!json_object_is_type(x, json_type_array))
                        return ERR("apps[%s].app.isolators: not an array", app->name);
                app->isolators = json_object_get(x);
        }
        return 0;
}

static int load_image_manifest(int poddir_fd, const char *app, json_object **ret, char *err, size_t err_size) {
        char path[256];
        const char *kind;
        int r;

        snprintf(path, sizeof(path), "stage1/rootfs/opt/stage2/%s/manifest", app);
        if (faccessat(poddir_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                snprintf(path, sizeof(path), "appsinfo/%s/manifest", app);
        r = load_json(poddir_fd, path, ret, err, err_size);
        if (r < 0)
                return r;
        kind = json_string_field(*ret, "acKind");
        if (!kind || strcmp(kind, "ImageManifest") != 0) {
                json_object_put(*ret);
                *ret = NULL;
                return ERR("%s: acKind is not ImageManifest", path);
        }
        return 0;
}

static int parse_app(Pod *p, App *app, json_object *ra, int poddir_fd, size_t idx, char *err, size_t err_size) {
        _cleanup_json_ json_object *im = NULL;
        json_object *appsec = NULL, *image_app = NULL, *x;
        const char *name = json_string_field(ra, "name");
        char where[128];
        int r;

        if (!json_object_is_type(ra, json_type_object) || !acname_is_valid(name))
                return ERR("apps[%zu].name: missing or not an ACName", idx);
        app->name = strdup(name);
        if (!app->name)
                return -ENOMEM;
        for (size_t i = 0; i < idx; i++)
                if (strcmp(p->apps[i].name, name) == 0)
                        return ERR("apps[%zu].name: '%s' is used twice", idx, name);
        r = load_image_manifest(poddir_fd, name, &im, err, err_size);
        if (r < 0)
                return r;
        json_object_object_get_ex(im, "app", &image_app);
        if (image_app && json_object_is_type(image_app, json_type_null))
                image_app = NULL;
        if (json_object_object_get_ex(ra, "app", &appsec) && json_object_is_type(appsec, json_type_null))
                appsec = NULL;
        if (!appsec)
                appsec = image_app;
        if (!appsec || !json_object_is_type(appsec, json_type_object))
                return ERR("apps[%s]: neither the pod manifest nor the image gives an app section", name);
        r = parse_app_section(app, appsec, err, err_size);
        if (r < 0)
                return r;
        app->environment = calloc(1, sizeof(char *));
        if (!app->environment)
                return -ENOMEM;
        snprintf(where, sizeof(where), "apps[%s] image app", name);
        r = parse_environment(&app->environment, image_app, where, err, err_size);
        if (r < 0)
                return r;
        if (appsec != image_app) {
                snprintf(where, sizeof(where), "apps[%s].app", name);
                r = parse_environment(&app->environment, appsec, where, err, err_size);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(ra, "readOnlyRootFS", &x)) {
                if (!json_object_is_type(x, json_type_boolean))
                        return ERR("apps[%s].readOnlyRootFS: not a boolean", name);
                app->read_only_rootfs = json_object_get_boolean(x);
        }
        if (!app->isolators)
                app->isolators = json_object_new_array();
        if (!app->isolators)
                return -ENOMEM;
        return parse_mounts(p, app, ra, appsec, err, err_size);
}

static void app_deinit(App *a) {
        free(a->name);
        strv_free(a->exec);
        free(a->user);
        free(a->group);
        free(a->supplementary_gids);
        free(a->working_dir);
        strv_free(a->environment);
        strv_free(a->pre_start);
        strv_free(a->post_stop);
        for (size_t i = 0; i < a->n_mounts; i++)
                free(a->mounts[i].path);
        free(a->mounts);
        json_object_put(a->isolators);
}

Pod *pod_free(Pod *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_apps; i++)
                app_deinit(&p->apps[i]);
        free(p->apps);
        for (size_t i = 0; i < p->n_volumes; i++)
                volume_deinit(&p->volumes[i]);
        free(p->volumes);
        for (size_t i = 0; i < p->n_inline_volumes; i++)
                volume_deinit(&p->inline_volumes[i]);
        free(p->inline_volumes);
        json_object_put(p->isolators);
        free(p);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Pod *, pod_free);

static int count_inline_volumes(json_object *apps) {
        int n = 0;
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                json_object *mounts, *ra = json_object_array_get_idx(apps, i);
                if (!json_object_is_type(ra, json_type_object) ||
                    !json_object_object_get_ex(ra, "mounts", &mounts) ||
                    !json_object_is_type(mounts, json_type_array))
                        continue;
                n += (int) json_object_array_length(mounts);
        }
        return n;
}

int pod_load(Pod **ret, int poddir_fd, char *err, size_t err_size) {
        _cleanup_(pod_freep) Pod *p = NULL;
        _cleanup_json_ json_object *pm = NULL;
        json_object *apps, *vols, *iso;
        const char *kind;
        int r;

        r = load_json(poddir_fd, "pod", &pm, err, err_size);
        if (r < 0)
                return r;
        kind = json_string_field(pm, "acKind");
        if (!kind || strcmp(kind, "PodManifest") != 0)
                return ERR("pod: acKind is not PodManifest");
        if (!json_string_field(pm, "acVersion"))
                return ERR("pod: acVersion is missing");
        p = calloc(1, sizeof(Pod));
        if (!p)
                return -ENOMEM;
        if (json_object_object_get_ex(pm, "volumes", &vols) && !json_object_is_type(vols, json_type_null)) {
                if (!json_object_is_type(vols, json_type_array))
                        return ERR("pod.volumes: not an array");
                size_t n = json_object_array_length(vols);
                p->volumes = calloc(n ? n : 1, sizeof(Volume));
                if (!p->volumes)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        char where[64];
                        snprintf(where, sizeof(where), "volumes[%zu]", i);
                        r = parse_volume(&p->volumes[i], json_object_array_get_idx(vols, i), where, err, err_size);
                        p->n_volumes++;
                        if (r < 0)
                                return r;
                        for (size_t k = 0; k < i; k++)
                                if (strcmp(p->volumes[k].name, p->volumes[i].name) == 0)
                                        return ERR("volumes[%zu].name: '%s' is used twice", i, p->volumes[i].name);
                }
        }
        if (!json_object_object_get_ex(pm, "apps", &apps) || !json_object_is_type(apps, json_type_array) ||
            json_object_array_length(apps) == 0)
                return ERR("pod.apps: missing or empty");
        /* Inline volumes are referenced by pointer from AppMount: size their array up front so
         * it never moves. */
        p->inline_volumes = calloc((size_t) count_inline_volumes(apps) + 1, sizeof(Volume));
        p->apps = calloc(json_object_array_length(apps), sizeof(App));
        if (!p->apps || !p->inline_volumes)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                p->n_apps++;
                r = parse_app(p, &p->apps[i], json_object_array_get_idx(apps, i), poddir_fd, i, err, err_size);
                if (r < 0)
                        return r;
        }
        if (json_object_object_get_ex(pm, "isolators", &iso) && !json_object_is_type(iso, json_type_null)) {
                if (!json_object_is_type(iso, json_type_array))
                        return ERR("pod.isolators: not an array");
                p->isolators = json_object_get(iso);
        } else if (!(p->isolators = json_object_new_array()))
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}
