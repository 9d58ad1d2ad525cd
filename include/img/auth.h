/* SPDX-License-Identifier: Apache-2.0 */
/* Registry authentication helpers: WWW-Authenticate challenges and Docker-style
 * config.json / containers auth.json credentials. */
#pragma once

#include <stddef.h>

#include "cm/error.h"

struct img_challenge {
    char *scheme; /* "bearer" or "basic", lower-case */
    char *realm;
    char *service; /* may be NULL */
    char *scope;   /* may be NULL */
};

/* Parses one WWW-Authenticate header value (RFC 7235 auth-params, quoted or not). */
int img_auth_parse_challenge(const char *header, struct img_challenge *ret, struct cm_error **err);
void img_challenge_done(struct img_challenge *c);

/* Looks registry up in the "auths" object of the JSON file at path; keys may be
 * "host[:port]", "https://host[:port]" or a URL with a path, and docker.io also
 * matches "https://index.docker.io/v1/". Entries hold "auth" (base64 user:pass)
 * or "username"/"password". Returns 1 and owned strings when found, 0 when the
 * file or entry is absent, -1 on a malformed file. */
int img_auth_lookup(const char *path, const char *registry, char **ret_user, char **ret_pass,
                    struct cm_error **err);
/* The first existing default auth file: $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, $HOME/.docker/config.json; NULL if none. */
char *img_auth_default_file(void);

/* Base64 (standard alphabet) helpers; decode fails on bad input. */
char *img_base64_encode(const void *data, size_t len);
int img_base64_decode(const char *s, char **ret, size_t *ret_len, struct cm_error **err);
