/* SPDX-License-Identifier: Apache-2.0 */
/* OCI distribution client over libcurl: manifests by tag or digest, blobs with
 * redirects, anonymous/basic/bearer auth (tokens cached until expiry), a
 * containers-certs.d style CA directory, plain HTTP only for listed insecure
 * registries, retries with backoff on 5xx and resets, Range resume. Thread-safe:
 * one client serves parallel layer downloads. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cm/error.h"

struct img_registry_opts {
    char **insecure;       /* "host:port" served over plain HTTP; NULL-terminated or NULL */
    const char *certs_dir; /* NULL: /etc/containers/certs.d then /etc/docker/certs.d */
    const char *auth_file; /* NULL: img_auth_default_file() */
    const char *username;  /* explicit credentials win over the auth file */
    const char *password;
    int retries; /* 0: 5 */
};

struct img_registry;

struct img_registry *img_registry_new(const struct img_registry_opts *o);
struct img_registry *img_registry_free(struct img_registry *r);

/* GETs /v2/REPO/manifests/OBJECT (a tag or a digest) with the Accept header for
 * OCI and Docker schema 2 types. Returns the body (at most IMG_MANIFEST_MAX
 * bytes), its Content-Type and Docker-Content-Digest (NULL when absent). */
int img_registry_get_manifest(struct img_registry *r, const char *registry, const char *repo,
                              const char *object, char **ret_body, size_t *ret_len, char **ret_type,
                              char **ret_digest, struct cm_error **err);

/* Called with each chunk of a blob, in order; returns -1 (with *err set) to stop. */
typedef int (*img_blob_sink_fn)(void *userdata, const void *data, size_t len,
                                struct cm_error **err);

/* Streams blob DIGEST from byte `offset` on to sink; the blob is `size` bytes
 * (-1: unknown). Interrupted transfers are resumed with Range from the last byte
 * delivered. Does not verify the digest: the sink hashes. */
int img_registry_get_blob(struct img_registry *r, const char *registry, const char *repo,
                          const char *digest, int64_t size, uint64_t offset, img_blob_sink_fn sink,
                          void *userdata, struct cm_error **err);

/* Fetches a small blob (config) into memory, at most max bytes, digest verified. */
int img_registry_get_blob_mem(struct img_registry *r, const char *registry, const char *repo,
                              const char *digest, size_t max, char **ret_body, size_t *ret_len,
                              struct cm_error **err);
