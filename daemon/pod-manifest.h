/* PodManifest: the pod manifest (appc-rkt.md §4.3) a prepared pod is run from, made from a
 * PodSpec as rkt's generatePodManifest does, or taken from the spec whole after the checks of
 * rkt's validatePodManifest. Pure: the caller resolves the images first (pod_spec_image_refs,
 * then the image store) and passes them in, in app order. A generated manifest is built in
 * appc's field order and serializes the same way every time. Every refusal is -EINVAL with an
 * ErrorDetail whose field is a path from the call's parameters ("spec.apps[1].name"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "error-detail.h"
#include "image-manifest.h"

#define POD_MANIFEST_AC_VERSION "0.8.11"
/* Pod annotation stage0 always writes: "true" for a mutable pod, "false" for prepare/run. */
#define POD_ANNOTATION_MUTABLE "coreos.com/rkt/stage1/mutable"

/* The resolved image of one app. */
typedef struct PodImage {
        const char *id;                  /* the full image ID */
        const ImageManifest *manifest;
} PodImage;

typedef struct PodManifestOptions {
        bool mutable_pod;                /* the value of POD_ANNOTATION_MUTABLE */
        /* Owner of the minimal app section made when exec is given for an image without one
         * (rkt takes its own uid and gid). */
        uint32_t uid;
        uint32_t gid;
} PodManifestOptions;

/* Builds the manifest of spec.apps: images[i] is the image of spec.apps[i] and n_images must
 * be their number. options NULL: immutable, uid and gid 0. *ret is a new object. */
int pod_manifest_generate(json_object *spec, const PodImage *images, size_t n_images,
                          const PodManifestOptions *options, json_object **ret,
                          ErrorDetail *error);

/* Checks spec.manifest with the images of its apps (images[i] for spec.manifest.apps[i]):
 * each app has an app section here or in its image, the forwarded ports name exactly one
 * app's port and do not collide. *ret is a new reference to spec.manifest, unchanged. */
int pod_manifest_validate(json_object *spec, const PodImage *images, size_t n_images,
                          json_object **ret, ErrorDetail *error);

/* pod_manifest_validate when spec has a manifest, else pod_manifest_generate. */
int pod_manifest_from_spec(json_object *spec, const PodImage *images, size_t n_images,
                           const PodManifestOptions *options, json_object **ret,
                           ErrorDetail *error);

/* rkt's prepareAppImage check: the image has "os" and "arch" labels and they are os and arch
 * (the host's; see pod_host_arch). field is the app's image reference ("spec.apps[0].image"). */
int pod_image_check_os_arch(const ImageManifest *m, const char *os, const char *arch,
                            const char *field, ErrorDetail *error);

/* The appc arch label for a kernel machine name (uname -m): "x86_64" -> "amd64", ... NULL when
 * appc has no name for it. */
const char *pod_appc_arch(const char *machine);
/* The host's appc arch, from uname(2); -ENOTSUP when appc has no name for it. */
int pod_host_arch(const char **ret);

/* The manifest as written to the pod: compact JSON, "/" not escaped. Owned by m. */
const char *pod_manifest_to_string(json_object *m);
