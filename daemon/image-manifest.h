/* ImageManifest: an App Container image manifest (appc spec 0.8.11, schema/image.go), validated
 * in full and parsed into what the store and the renderer need. The validated JSON is kept
 * whole, for Inspect and for pod manifests. Also the appc name and value checks that pod
 * manifests reuse. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "error-detail.h"

#define IMAGE_MANIFEST_SIZE_MAX (1024u * 1024u)

typedef struct AppcLabel {
        char *name;
        char *value;
} AppcLabel;

typedef struct AppcDependency {
        char *image_name;
        char *image_id;           /* "sha512-..." or NULL */
        AppcLabel *labels;
        size_t n_labels;
        uint64_t size;            /* 0 when not given */
} AppcDependency;

typedef struct ImageManifest {
        json_object *json;        /* the whole manifest as read */
        char *name;
        AppcLabel *labels;
        size_t n_labels;
        AppcDependency *dependencies;
        size_t n_dependencies;
        char **path_whitelist;    /* absolute paths as given; empty = none */
        size_t n_path_whitelist;
        json_object *app;         /* borrowed from json; NULL when the image has no app */
} ImageManifest;

/* Parses and validates every rule of the spec: acKind, acVersion (semver, major 0), name
 * (ACIdentifier), labels (unique ACIdentifier names, no "name", os/arch valid per ValidOSArch),
 * app (exec, user and group required, eventHandlers, workingDirectory absolute, environment
 * names, mountPoints, ports, isolators and their values), annotations (created RFC 3339,
 * homepage/documentation http(s) URLs), dependencies, pathWhitelist (absolute paths). On
 * failure -EINVAL (or -EMSGSIZE over IMAGE_MANIFEST_SIZE_MAX) with *error naming the field. */
int image_manifest_parse(ImageManifest **ret, const char *data, size_t size, ErrorDetail *error);
/* The same for an already parsed object (a reference is taken). */
int image_manifest_from_json(ImageManifest **ret, json_object *json, ErrorDetail *error);
ImageManifest *image_manifest_free(ImageManifest *m);

/* The value of a label, or NULL. */
const char *image_manifest_label(const ImageManifest *m, const char *name);

/* appc value checks, shared with pod manifests. Each returns true when valid. */
bool appc_is_identifier(const char *s);       /* ACIdentifier */
bool appc_is_name(const char *s);             /* ACName */
bool appc_is_semver(const char *s);
bool appc_is_image_id(const char *s);         /* "sha512-" + lowercase hex, 1..128 digits */
bool appc_is_env_name(const char *s);
bool appc_valid_os_arch(const char *os, const char *arch);  /* arch may be NULL */
/* Validates one isolator object {name, value} by the rules of its name; unknown names pass
 * (executors may ignore them). path is the JSON path of the isolator, for *error. */
int appc_isolator_validate(json_object *isolator, const char *path, ErrorDetail *error);
/* Validates an app section (image or pod manifest). */
int appc_app_validate(json_object *app, const char *path, ErrorDetail *error);
/* "sanitized last path segment of the image name", rkt's default app name. malloc'd. */
char *appc_default_app_name(const char *image_name);
