/* SPDX-License-Identifier: Apache-2.0 */
/* The content-addressable image store and pulling into it.
 *
 *   ROOT/blobs/sha256/HEX        manifests, configs, compressed layers
 *   ROOT/snapshots/sha256/HEX    one extracted layer per diff_id (overlay lower dir)
 *   ROOT/index.json              reference -> image record
 *   ROOT/locks/                  flock files (per layer, index, gc)
 *   ROOT/tmp/                    work in progress, never visible elsewhere
 *
 * Everything appears by rename() of a finished temp, so a kill -9 at any
 * moment leaves no half-written blob or snapshot visible. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm/error.h"
#include "img/manifest.h"
#include "img/registry.h"

#define IMG_STORE_DEFAULT "/var/lib/skiff/images"

struct img_store;

struct img_image {
    char *name;     /* canonical reference "registry/repo:tag" (or @digest) */
    char *digest;   /* what the reference resolved to (index or manifest) */
    char *manifest; /* the platform's image manifest */
    char *config;
    char *platform;
    char **layers;   /* compressed blob digests, NULL-terminated */
    char **diff_ids; /* snapshot ids, same order */
    size_t n_layers;
    int64_t size;   /* compressed bytes */
    int64_t pulled; /* unix time (an unchanged re-pull within the hour keeps it) */
};

enum img_layer_state {
    IMG_LAYER_WAITING = 0,
    IMG_LAYER_DOWNLOADING,
    IMG_LAYER_EXISTS, /* already in the store */
    IMG_LAYER_DONE,
};

struct img_progress {
    size_t layer;
    size_t n_layers;
    const char *digest;
    uint64_t done;
    int64_t total;
    enum img_layer_state state;
};

/* Called from download threads; the callee serialises. */
typedef void (*img_progress_fn)(void *userdata, const struct img_progress *p);

struct img_pull_opts {
    struct img_registry_opts registry;
    const char *default_registry; /* NULL: docker.io */
    const char *platform;         /* "os/arch[/variant]"; NULL: this host */
    int jobs;                     /* parallel layers; 0: 3 */
    uint64_t max_layer_bytes;     /* uncompressed limit per layer; 0: default */
    bool allow_devices;
    img_progress_fn progress;
    void *progress_userdata;
};

int img_store_open(const char *root, struct img_store **ret, struct cm_error **err);
struct img_store *img_store_free(struct img_store *s);
const char *img_store_root(const struct img_store *s);

/* Pulls ref (manifest, config, layers: each verified while streaming) and
 * records it. A stored image costs one manifest round trip. */
int img_pull(struct img_store *s, const char *ref, const struct img_pull_opts *o,
             struct img_image **ret, struct cm_error **err);

/* Looks an image up by reference (normalised like pull) or by digest. ENOENT if absent. */
int img_store_get(struct img_store *s, const char *ref, const char *default_registry,
                  struct img_image **ret, struct cm_error **err);
int img_store_list(struct img_store *s, struct img_image ***ret, size_t *ret_n,
                   struct cm_error **err);
/* Forgets a reference; its blobs and snapshots go at the next prune. */
int img_store_remove(struct img_store *s, const char *ref, const char *default_registry,
                     struct cm_error **err);
/* Removes blobs and snapshots no image references and that keep_diff_ids (in use by
 * containers, may be NULL) does not name, plus stale temp files. */
int img_store_prune(struct img_store *s, char *const *keep_diff_ids, uint64_t *ret_removed,
                    struct cm_error **err);
/* Path of a layer snapshot (owned by the caller). */
char *img_store_snapshot_path(const struct img_store *s, const char *diff_id);
/* Reads a stored blob (manifest/config) into memory, digest verified. */
int img_store_read_blob(struct img_store *s, const char *digest, size_t max, char **ret,
                        size_t *ret_len, struct cm_error **err);
int img_store_read_config(struct img_store *s, const struct img_image *img, struct img_config **ret,
                          struct cm_error **err);

struct img_image *img_image_free(struct img_image *i);
void img_image_list_free(struct img_image **v, size_t n);
/* The record as JSON (for `image inspect` and `--output json`). */
json_t *img_image_to_json(const struct img_image *i);

static inline void
img_image_freep(struct img_image **i)
{
    img_image_free(*i);
}
#define cleanup_img_image __attribute__((cleanup(img_image_freep)))
