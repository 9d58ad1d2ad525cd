/* SPDX-License-Identifier: Apache-2.0 */
/* AWS Signature Version 4 (AWS4-HMAC-SHA256) for header-signed requests:
 * the canonical request, the string to sign, the signing key, and both
 * sides: verify (servers) and sign (the skiff CLI, tests). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cm/error.h"

/* Returns the value of header `lname` (lower-case) or NULL. */
typedef const char *(*cm_sigv4_header_fn)(void *userdata, const char *lname);
/* Returns the secret of access key `akid` (borrowed) or NULL if unknown. */
typedef const char *(*cm_sigv4_secret_fn)(void *userdata, const char *akid);

struct cm_sigv4_header {
    const char *name;
    const char *value;
};

enum cm_sigv4_status {
    CM_SIGV4_OK = 0,
    CM_SIGV4_MISSING,       /* no Authorization header */
    CM_SIGV4_INCOMPLETE,    /* malformed Authorization / missing X-Amz-Date */
    CM_SIGV4_UNKNOWN_KEY,   /* access key id not known */
    CM_SIGV4_BAD_SIGNATURE, /* signature mismatch, wrong service or scope */
    CM_SIGV4_EXPIRED,       /* X-Amz-Date more than 15 minutes off */
};

/* The AWS error code for a status ("InvalidSignatureException", ...). */
const char *cm_sigv4_status_code(enum cm_sigv4_status st);

/* Lower-case hex SHA-256 of data (65 bytes incl. NUL). */
void cm_sha256_hex(const void *data, size_t len, char out[65]);

/* The canonical request (caller frees). path is the raw (still percent-encoded)
 * path, query the raw query string without '?' (NULL = none), signed_headers
 * "a;b;c" lower-case. */
char *cm_sigv4_canonical_request(const char *method, const char *path, const char *query,
                                 const char *signed_headers, cm_sigv4_header_fn get_header,
                                 void *hdr_ud, const char *payload_hash);

struct cm_sigv4_verify_input {
    const char *method, *path, *query;
    cm_sigv4_header_fn get_header; /* lower-case names */
    void *hdr_ud;
    const void *body;
    size_t body_len;
    const char *service; /* the service this endpoint serves ("ecs") */
    time_t now;
    cm_sigv4_secret_fn get_secret;
    void *secret_ud;
};

/* Verifies the request. On CM_SIGV4_OK *ret_akid and *ret_region (may be NULL
 * pointers) get the access key and the scope region; otherwise *ret_msg gets
 * a message for the client. Everything returned is caller-owned. */
enum cm_sigv4_status cm_sigv4_verify(const struct cm_sigv4_verify_input *in, char **ret_akid,
                                     char **ret_region, char **ret_msg);

struct cm_sigv4_sign_input {
    const char *method, *path, *query;
    const struct cm_sigv4_header *headers; /* the headers to sign (host, x-amz-date incl.) */
    size_t n_headers;
    const void *body;
    size_t body_len;
    const char *akid, *secret, *region, *service;
    const char *amz_date; /* YYYYMMDDTHHMMSSZ, must equal the x-amz-date header */
};

/* Returns the Authorization header value (caller frees). */
char *cm_sigv4_sign(const struct cm_sigv4_sign_input *in, struct cm_error **err);

/* Formats t as an X-Amz-Date value. */
void cm_sigv4_amz_date(time_t t, char out[17]);
