/* SPDX-License-Identifier: Apache-2.0 */
/* Image references as users write them: [host[:port]/]repo/name[:tag][@algo:hex]. */
#pragma once

#include "cm/error.h"

#define IMG_DEFAULT_REGISTRY "docker.io"

struct img_ref {
    char *registry;   /* "docker.io", "localhost:5000", "[::1]:5000" */
    char *repository; /* "library/busybox" */
    char *tag;        /* NULL when only a digest was given */
    char *digest;     /* NULL unless "@sha256:..." was given */
};

/* Parses s; default_registry (NULL: docker.io) is used when s names no host. A
 * reference with neither tag nor digest gets tag "latest". Validation errors name s. */
int img_ref_parse(const char *s, const char *default_registry, struct img_ref **ret,
                  struct cm_error **err);
/* Frees r (NULL allowed); returns NULL. */
struct img_ref *img_ref_free(struct img_ref *r);
/* Canonical form "registry/repository[:tag][@digest]", owned by the caller. */
char *img_ref_string(const struct img_ref *r);
/* The tag or digest to ask the registry for (digest wins); borrowed. */
const char *img_ref_object(const struct img_ref *r);

static inline void
img_ref_freep(struct img_ref **r)
{
    img_ref_free(*r);
}
#define cleanup_img_ref __attribute__((cleanup(img_ref_freep)))
