/* SPDX-License-Identifier: Apache-2.0 */
/* Manifests, indexes and image configs (OCI and Docker schema 2), platform selection. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm/error.h"

#define IMG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define IMG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define IMG_MT_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* Limits on what a registry may send us. */
#define IMG_MANIFEST_MAX (4u << 20)
#define IMG_CONFIG_MAX (8u << 20)
#define IMG_LAYERS_MAX 512
#define IMG_INDEX_ENTRIES_MAX 1024

struct img_platform {
    char *os;
    char *arch;
    char *variant; /* NULL when none */
};

struct img_descriptor {
    char *media_type;
    char *digest;
    int64_t size;
    bool has_platform;
    bool attestation; /* a BuildKit attestation or unknown/unknown entry */
    struct img_platform platform;
};

enum img_manifest_kind { IMG_MANIFEST_INDEX = 0, IMG_MANIFEST_IMAGE };

struct img_manifest {
    enum img_manifest_kind kind;
    char *media_type;
    struct img_descriptor config;  /* IMG_MANIFEST_IMAGE */
    struct img_descriptor *layers; /* IMG_MANIFEST_IMAGE */
    size_t n_layers;
    struct img_descriptor *manifests; /* IMG_MANIFEST_INDEX */
    size_t n_manifests;
};

/* Parses a manifest or index. content_type (may be NULL) is the registry's
 * Content-Type; the document's mediaType and shape decide when it is missing.
 * Schema 1 manifests are refused with a message saying so. */
int img_manifest_parse(const char *buf, size_t len, const char *content_type,
                       struct img_manifest **ret, struct cm_error **err);
struct img_manifest *img_manifest_free(struct img_manifest *m);

/* "os/arch[/variant]" */
int img_platform_parse(const char *s, struct img_platform *ret, struct cm_error **err);
/* The platform of this host (linux/amd64, linux/arm64/v8, ...). */
void img_platform_host(struct img_platform *ret);
void img_platform_done(struct img_platform *p);
/* "os/arch[/variant]", owned by the caller. */
char *img_platform_string(const struct img_platform *p);
/* Picks the index entry for want: os and arch must match; a wanted variant must
 * match (arm64 without variant counts as v8); attestation entries are skipped.
 * Returns a borrowed descriptor or NULL with an error listing what is offered. */
const struct img_descriptor *img_manifest_select(const struct img_manifest *index,
                                                 const struct img_platform *want,
                                                 struct cm_error **err);

struct img_config {
    char *os;
    char *arch;
    char *variant;
    char **entrypoint; /* NULL-terminated, NULL when unset */
    char **cmd;
    char **env;
    char *workdir;
    char *user;
    char *stop_signal;
    char **exposed_ports; /* "80/tcp", ... */
    char **diff_ids;
    size_t n_diff_ids;
    json_t *labels; /* object or NULL; owned reference */
};

int img_config_parse(const char *buf, size_t len, struct img_config **ret, struct cm_error **err);
struct img_config *img_config_free(struct img_config *c);

static inline void
img_manifest_freep(struct img_manifest **m)
{
    img_manifest_free(*m);
}
static inline void
img_config_freep(struct img_config **c)
{
    img_config_free(*c);
}
#define cleanup_img_manifest __attribute__((cleanup(img_manifest_freep)))
#define cleanup_img_config __attribute__((cleanup(img_config_freep)))
