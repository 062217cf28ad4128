/* ImageManifest: parsing and validation of an appc image manifest (appc-rkt.md §4.2). An
 * ImageManifest exists only for a manifest that passed every check; its fields are copies
 * except app, which points into json, and json is held by the object. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image-manifest.h"

/* json-c's nesting limit; real manifests stay far below it. */
#define IMAGE_MANIFEST_DEPTH_MAX 64

static void dependency_clear(AppcDependency *d) {
        free(d->image_name);
        free(d->image_id);
        appc_labels_free(d->labels, d->n_labels);
}

ImageManifest *image_manifest_free(ImageManifest *m) {
        if (!m)
                return NULL;
        json_object_put(m->json);
        free(m->name);
        appc_labels_free(m->labels, m->n_labels);
        for (size_t i = 0; i < m->n_dependencies; i++)
                dependency_clear(&m->dependencies[i]);
        free(m->dependencies);
        for (size_t i = 0; i < m->n_path_whitelist; i++)
                free(m->path_whitelist[i]);
        free(m->path_whitelist);
        free(m);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(ImageManifest *, image_manifest_free);

const char *image_manifest_label(const ImageManifest *m, const char *name) {
        return appc_labels_get(m->labels, m->n_labels, name);
}

/* Returns the value of the required string member key, checked by ok. */
static int required_string(json_object *json, const char *key, bool (*ok)(const char *),
                           const char *what, const char **ret, ErrorDetail *error) {
        json_object *o;
        int r;

        r = appc_json_member(json, "", key, json_type_string, true, &o, error);
        if (r < 0)
                return r;
        if (!ok(json_object_get_string(o)))
                return error_detail_set(error, -EINVAL, key, "not %s: \"%s\"", what,
                                        json_object_get_string(o));
        *ret = json_object_get_string(o);
        return 0;
}

static bool is_image_manifest_kind(const char *s) {
        return strcmp(s, "ImageManifest") == 0;
}

/* SemVer, and compatible with spec 0.8.11: major version 0. */
static bool is_supported_version(const char *s) {
        return appc_is_semver(s) && s[0] == '0' && s[1] == '.';
}

static int parse_header(ImageManifest *m, ErrorDetail *error) {
        const char *s = NULL;
        int r;

        r = required_string(m->json, "acKind", is_image_manifest_kind, "\"ImageManifest\"", &s,
                            error);
        if (r < 0)
                return r;
        r = required_string(m->json, "acVersion", is_supported_version,
                            "a semantic version compatible with 0.8.11", &s, error);
        if (r < 0)
                return r;
        r = required_string(m->json, "name", appc_is_identifier, "an ACIdentifier", &s, error);
        if (r < 0)
                return r;
        m->name = strdup(s);
        return m->name ? 0 : -ENOMEM;
}

static int parse_labels(ImageManifest *m, ErrorDetail *error) {
        static const char *const required[] = { "os", "arch" };
        json_object *labels;
        int r;

        r = appc_json_member(m->json, "", "labels", json_type_array, false, &labels, error);
        if (r < 0)
                return r;
        r = appc_labels_parse(labels, "labels", &m->labels, &m->n_labels, error);
        if (r < 0)
                return r;
        /* The spec makes them optional, but an image without them cannot be run (rkt's
         * prepareAppImage refuses it), so it is refused at import. */
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (!image_manifest_label(m, required[i]))
                        return error_detail_set(error, -EINVAL, "labels",
                                                "the \"%s\" label is required", required[i]);
        return 0;
}

static int parse_app(ImageManifest *m, ErrorDetail *error) {
        int r;

        r = appc_json_member(m->json, "", "app", json_type_object, false, &m->app, error);
        if (r < 0 || !m->app)
                return r;
        return appc_app_validate(m->app, "app", error);
}

static int parse_annotations(ImageManifest *m, ErrorDetail *error) {
        json_object *annotations;
        int r;

        r = appc_json_member(m->json, "", "annotations", json_type_array, false, &annotations,
                             error);
        if (r < 0)
                return r;
        return appc_annotations_validate(annotations, "annotations", error);
}

static int parse_dependency_size(json_object *dep, const char *path, uint64_t *ret,
                                 ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *size;
        int r;

        r = appc_json_member(dep, path, "size", json_type_int, false, &size, error);
        if (r < 0 || !size)
                return r;
        if (json_object_get_int64(size) < 0)
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "size"),
                                        "must not be negative");
        *ret = json_object_get_uint64(size);
        return 0;
}

static int parse_dependency(json_object *dep, const char *path, AppcDependency *d,
                            ErrorDetail *error) {
        char p[APPC_PATH_MAX];
        json_object *name, *id, *labels;
        int r;

        r = appc_json_member(dep, path, "imageName", json_type_string, true, &name, error);
        if (r < 0)
                return r;
        if (!appc_is_identifier(json_object_get_string(name)))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "imageName"),
                                        "not an ACIdentifier: \"%s\"",
                                        json_object_get_string(name));
        r = appc_json_member(dep, path, "imageID", json_type_string, false, &id, error);
        if (r < 0)
                return r;
        if (id && !appc_is_image_id(json_object_get_string(id)))
                return error_detail_set(error, -EINVAL, appc_path_key(p, path, "imageID"),
                                        "not an image ID (sha512- and hex digits): \"%s\"",
                                        json_object_get_string(id));
        r = appc_json_member(dep, path, "labels", json_type_array, false, &labels, error);
        if (r < 0)
                return r;
        r = appc_labels_parse(labels, appc_path_key(p, path, "labels"), &d->labels,
                              &d->n_labels, error);
        if (r < 0)
                return r;
        r = parse_dependency_size(dep, path, &d->size, error);
        if (r < 0)
                return r;
        d->image_name = strdup(json_object_get_string(name));
        d->image_id = id ? strdup(json_object_get_string(id)) : NULL;
        return d->image_name && (!id || d->image_id) ? 0 : -ENOMEM;
}

static int parse_dependencies(ImageManifest *m, ErrorDetail *error) {
        json_object *deps;
        size_t n;
        int r;

        r = appc_json_member(m->json, "", "dependencies", json_type_array, false, &deps, error);
        if (r < 0 || !deps)
                return r;
        n = json_object_array_length(deps);
        m->dependencies = calloc(n ? n : 1, sizeof(AppcDependency));
        if (!m->dependencies)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char p[APPC_PATH_MAX];
                json_object *dep = json_object_array_get_idx(deps, i);

                appc_path_index(p, "dependencies", i);
                if (!json_object_is_type(dep, json_type_object))
                        return error_detail_set(error, -EINVAL, p, "must be an object");
                /* Counted before parsing, so a half-filled entry is freed too. */
                m->n_dependencies = i + 1;
                r = parse_dependency(dep, p, &m->dependencies[i], error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* filepath.Clean of an absolute path: no empty, "." or ".." elements, no trailing "/". */
static char *path_clean(const char *path) {
        char *out = malloc(strlen(path) + 2), *o = out;

        if (!out)
                return NULL;
        while (*path) {
                size_t len;

                path += strspn(path, "/");
                len = strcspn(path, "/");
                if (len == 0 || (len == 1 && path[0] == '.')) {
                        /* skip */
                } else if (len == 2 && path[0] == '.' && path[1] == '.') {
                        while (o > out && *--o != '/')
                                ;
                } else {
                        *o++ = '/';
                        memcpy(o, path, len);
                        o += len;
                }
                path += len;
        }
        if (o == out)
                *o++ = '/';
        *o = '\0';
        return out;
}

static int parse_path_whitelist(ImageManifest *m, ErrorDetail *error) {
        json_object *list;
        size_t n;
        int r;

        r = appc_json_member(m->json, "", "pathWhitelist", json_type_array, false, &list, error);
        if (r < 0 || !list)
                return r;
        n = json_object_array_length(list);
        m->path_whitelist = calloc(n ? n : 1, sizeof(char *));
        if (!m->path_whitelist)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(list, i);
                char p[APPC_PATH_MAX];
                const char *s;

                appc_path_index(p, "pathWhitelist", i);
                if (!json_object_is_type(o, json_type_string))
                        return error_detail_set(error, -EINVAL, p, "must be a string");
                s = json_object_get_string(o);
                if (strlen(s) != (size_t) json_object_get_string_len(o))
                        return error_detail_set(error, -EINVAL, p, "contains a NUL character");
                if (*s != '/')
                        return error_detail_set(error, -EINVAL, p,
                                                "must be an absolute path: \"%s\"", s);
                m->path_whitelist[i] = path_clean(s);
                if (!m->path_whitelist[i])
                        return -ENOMEM;
                m->n_path_whitelist = i + 1;
        }
        return 0;
}

int image_manifest_from_json(ImageManifest **ret, json_object *json, ErrorDetail *error) {
        static int (*const steps[])(ImageManifest *m, ErrorDetail *error) = {
                parse_header,
                parse_labels,
                parse_app,
                parse_annotations,
                parse_dependencies,
                parse_path_whitelist,
        };
        _cleanup_(image_manifest_freep) ImageManifest *m = NULL;
        int r;

        if (!json_object_is_type(json, json_type_object))
                return error_detail_set(error, -EINVAL, "", "the manifest is not a JSON object");
        m = calloc(1, sizeof(ImageManifest));
        if (!m)
                return -ENOMEM;
        m->json = json_object_get(json);
        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                r = steps[i](m, error);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

static void json_tokener_freep(json_tokener **tok) {
        if (*tok)
                json_tokener_free(*tok);
}

static bool only_whitespace(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!strchr(" \t\r\n", s[i]))
                        return false;
        return true;
}

int image_manifest_parse(ImageManifest **ret, const char *data, size_t size, ErrorDetail *error) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_json_ json_object *json = NULL;
        enum json_tokener_error e;
        size_t end;

        if (size > IMAGE_MANIFEST_SIZE_MAX)
                return error_detail_set(error, -EMSGSIZE, "",
                                        "the manifest is %zu bytes, more than the limit of %u",
                                        size, IMAGE_MANIFEST_SIZE_MAX);
        if (size == 0 || only_whitespace(data, size))
                return error_detail_set(error, -EINVAL, "", "the manifest is empty");
        if (memchr(data, '\0', size))
                return error_detail_set(error, -EINVAL, "", "the manifest contains a NUL byte");
        tok = json_tokener_new_ex(IMAGE_MANIFEST_DEPTH_MAX);
        if (!tok)
                return -ENOMEM;
        /* Trailing data is allowed by the tokener only so it can be refused below with a
         * clearer reason. */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
                                    JSON_TOKENER_ALLOW_TRAILING_CHARS);
        json = json_tokener_parse_ex(tok, data, (int) size);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (e == json_tokener_continue)
                return error_detail_set(error, -EINVAL, "",
                                        "the manifest is not valid JSON: it ends too early");
        if (e != json_tokener_success || !json)
                return error_detail_set(error, -EINVAL, "",
                                        "the manifest is not valid JSON: %s at byte %zu",
                                        json_tokener_error_desc(e), end);
        if (!only_whitespace(data + end, size - end))
                return error_detail_set(error, -EINVAL, "",
                                        "the manifest has data after the JSON value, at byte %zu",
                                        end);
        return image_manifest_from_json(ret, json, error);
}
