/* SPDX-License-Identifier: Apache-2.0 */
/* Store internals shared by store.c and pull.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cm/error.h"
#include "img/store.h"

struct img_store {
    char *root;
    int root_fd;
};

/* "blobs"|"snapshots" + "sha256:HEX" -> "blobs/sha256/HEX" */
char *img_store_digest_rel(const char *kind, const char *digest);
/* flock on ROOT/locks/NAME; returns the fd, -2 for EWOULDBLOCK with LOCK_NB. */
int img_store_lock(struct img_store *s, const char *name, int op, struct cm_error **err);
bool img_store_has(struct img_store *s, const char *kind, const char *digest);
int img_store_put_blob(struct img_store *s, const char *digest, const char *buf, size_t len,
                       struct cm_error **err);
int img_store_index_put(struct img_store *s, const struct img_image *img, struct cm_error **err);
