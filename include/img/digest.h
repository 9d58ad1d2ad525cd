/* SPDX-License-Identifier: Apache-2.0 */
/* Content digests ("sha256:<64 hex>", "sha512:<128 hex>") and streaming hashers (OpenSSL EVP). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cm/error.h"

#define IMG_DIGEST_MAX 140 /* "sha512:" + 128 hex + NUL, rounded up */

/* Checks the syntax of a digest: known algorithm, lower-case hex of the right length. */
int img_digest_validate(const char *digest, struct cm_error **err);
/* Returns the hex part of a validated digest (borrowed, points into digest). */
const char *img_digest_hex(const char *digest);

struct img_hasher {
    void *ctx; /* EVP_MD_CTX */
    char algo[8];
};

/* Starts a hasher for the algorithm of digest ("sha256:..." or just "sha256"). */
int img_hasher_init(struct img_hasher *h, const char *algo_or_digest, struct cm_error **err);
void img_hasher_update(struct img_hasher *h, const void *data, size_t len);
/* Finishes and writes "algo:hex" into out (IMG_DIGEST_MAX bytes). The hasher is reset. */
void img_hasher_final(struct img_hasher *h, char out[IMG_DIGEST_MAX]);
/* Releases the hasher; safe on a zeroed or finished one. */
void img_hasher_done(struct img_hasher *h);
/* One-shot: digest of buf with the algorithm of `want`; fails naming both digests on mismatch. */
int img_digest_verify(const void *buf, size_t len, const char *want, const char *what,
                      struct cm_error **err);
