/* ImageManifest: an App Container image manifest (appc spec 0.8.11, schema/image.go), validated
 * in full and parsed into what the store and the renderer need. The validated JSON is kept
 * whole, for Inspect and for pod manifests. The appc name and value checks that pod manifests
 * reuse are in appc.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "appc.h"
#include "error-detail.h"

#define IMAGE_MANIFEST_SIZE_MAX (1024u * 1024u)

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
        char **path_whitelist;    /* absolute paths, cleaned ("//", "." and ".." resolved, no
                                   * trailing "/"), as the renderer compares them; empty = none */
        size_t n_path_whitelist;
        json_object *app;         /* borrowed from json; NULL when the image has no app */
} ImageManifest;

/* Parses and validates every rule of the spec: acKind, acVersion (semver, major 0), name
 * (ACIdentifier), labels (unique ACIdentifier names, no "name", "os" and "arch" both present
 * and a valid pair per ValidOSArch), app (exec, user and group required, eventHandlers,
 * workingDirectory absolute, environment names, mountPoints, ports, isolators and their
 * values), annotations (created RFC 3339, homepage/documentation http(s) URLs), dependencies,
 * pathWhitelist (absolute paths). Unknown keys are allowed; known keys must have their JSON
 * type. data must be strict JSON in UTF-8 with nothing after the value but whitespace. On
 * failure -EINVAL (or -EMSGSIZE over IMAGE_MANIFEST_SIZE_MAX) with *error naming the field
 * ("" for the manifest as a whole), or -ENOMEM. */
int image_manifest_parse(ImageManifest **ret, const char *data, size_t size, ErrorDetail *error);
/* The same for an already parsed object (a reference is taken on success). */
int image_manifest_from_json(ImageManifest **ret, json_object *json, ErrorDetail *error);
ImageManifest *image_manifest_free(ImageManifest *m);

/* The value of a label, or NULL. */
const char *image_manifest_label(const ImageManifest *m, const char *name);
