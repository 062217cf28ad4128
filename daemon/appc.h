/* appc: the value checks of the App Container spec (0.8.11, schema/types) that image and pod
 * manifests share: names and identifiers, semver, image IDs, os/arch, labels, isolators and
 * the app section. Every check is pure; a refusal names the JSON path it was found at. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "error-detail.h"

/* JSON paths ("app.ports[1].port") fit the ErrorDetail field. */
#define APPC_PATH_MAX 256

typedef struct AppcLabel {
        char *name;
        char *value;
} AppcLabel;

/* Each returns true when s is valid (NULL never is). */
bool appc_is_identifier(const char *s);       /* ACIdentifier */
bool appc_is_name(const char *s);             /* ACName */
bool appc_is_semver(const char *s);           /* SemVer 2.0.0 */
bool appc_is_image_id(const char *s);         /* "sha512-" + lowercase hex, 1..128 digits */
bool appc_is_env_name(const char *s);
bool appc_is_quantity(const char *s);         /* a k8s resource quantity: "512Mi", "300m", "1e3" */
bool appc_is_rfc3339(const char *s);          /* "2024-01-31T12:00:00.5+01:00" */
bool appc_is_http_url(const char *s);         /* http:// or https:// with a host */
bool appc_is_capability(const char *s);       /* "CAP_" + a Linux capability name */
bool appc_is_exec(const char *s);             /* exec[0]: absolute, or a bare name for PATH */
bool appc_valid_os_arch(const char *os, const char *arch);  /* arch may be NULL */

/* Path building for error reports; both return buf. An empty parent gives a top-level path. */
const char *appc_path_key(char buf[static APPC_PATH_MAX], const char *parent, const char *key);
const char *appc_path_index(char buf[static APPC_PATH_MAX], const char *parent, size_t i);

/* The member key of obj when it has JSON type type: 0 with *ret borrowed from obj, or *ret
 * NULL when the member is absent or null and not required. -EINVAL with *error (and *ret
 * NULL) for a wrong type, a missing required member, or a string with an embedded NUL. */
int appc_json_member(json_object *obj, const char *parent, const char *key, json_type type,
                     bool required, json_object **ret, ErrorDetail *error);
/* The required string member key of obj, which must be an ACName; *ret borrowed from obj. */
int appc_json_name(json_object *obj, const char *parent, const char *key, const char **ret,
                   ErrorDetail *error);

/* A label list [{name, value}]: names unique ACIdentifiers other than "name", and when an "os"
 * label is present, os/arch a valid pair. labels may be NULL (no labels). */
int appc_labels_parse(json_object *labels, const char *path, AppcLabel **ret, size_t *ret_n,
                      ErrorDetail *error);
void appc_labels_free(AppcLabel *labels, size_t n);
const char *appc_labels_get(const AppcLabel *labels, size_t n, const char *name);

/* An annotation list [{name, value}]: unique ACIdentifier names; "created" RFC 3339,
 * "homepage" and "documentation" http(s) URLs. */
int appc_annotations_validate(json_object *annotations, const char *path, ErrorDetail *error);

/* Validates one isolator object {name, value} by the rules of its name; unknown names pass
 * (executors may ignore them). path is the JSON path of the isolator, for *error. */
int appc_isolator_validate(json_object *isolator, const char *path, ErrorDetail *error);
/* An isolator list: each isolator, plus multiplicity (one of each kind except the resource ones,
 * capabilities and no-new-privileges; one seccomp set of either kind; never both a
 * capabilities retain and remove set). */
int appc_isolators_validate(json_object *isolators, const char *path, ErrorDetail *error);
/* Validates an app section (image or pod manifest). */
int appc_app_validate(json_object *app, const char *path, ErrorDetail *error);

/* rkt's default app name: the last "/" segment of the image name, lowercased, with invalid
 * characters made "-" and the result trimmed to a valid ACName. NULL with errno EINVAL when
 * nothing valid is left, ENOMEM on allocation failure. malloc'd. */
char *appc_default_app_name(const char *image_name);
