/* SPDX-License-Identifier: Apache-2.0 */
/* Layer extraction into a snapshot directory, refusing hostile archives. A
 * snapshot records whiteouts the way overlayfs does (a 0/0 character device for
 * ".wh.NAME", xattr trusted.overlay.opaque=y for ".wh..wh..opq"), so snapshots
 * can be stacked as overlay lower dirs or merged by img_snapshot_apply(). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cm/error.h"
#include "img/digest.h"

#define IMG_LAYER_MAX_DEFAULT (64ull << 30) /* uncompressed bytes per layer */
#define IMG_LAYER_ENTRIES_MAX 4000000

struct img_unpack_opts {
    uint64_t max_bytes; /* uncompressed tar size limit; 0 = IMG_LAYER_MAX_DEFAULT */
    bool allow_devices; /* character/block devices; refused otherwise */
};

/* Reads a layer (gzip, zstd or plain tar, detected from its bytes) from in_fd
 * until EOF and extracts it below root_fd, which must be an empty directory.
 * Writes the digest of the uncompressed stream ("sha256:...") to ret_diff_id.
 * On failure the directory may hold part of the layer: the caller removes it.
 * Errors name the offending member. */
int img_layer_extract(int in_fd, int root_fd, const struct img_unpack_opts *o,
                      char ret_diff_id[IMG_DIGEST_MAX], struct cm_error **err);

/* The uncompressed stream of a layer, produced by a thread of its own that
 * reads in_fd to EOF (also after an error or img_layer_stream_free, so a
 * writer never blocks), detects gzip/zstd/plain from the first bytes, enforces
 * max_bytes (0 = IMG_LAYER_MAX_DEFAULT) and hashes what it produces. */
struct img_layer_stream;
struct img_layer_stream *img_layer_stream_start(int in_fd, uint64_t max_bytes,
                                                struct cm_error **err);
/* Next chunk (*buf valid until the next call): its length, 0 at the end, -1 on
 * a decompression error or the size limit. */
ssize_t img_layer_stream_read(struct img_layer_stream *s, const void **buf, struct cm_error **err);
/* Consumes the rest of the stream and writes its digest ("sha256:..."). */
int img_layer_stream_finish(struct img_layer_stream *s, char ret_diff_id[IMG_DIGEST_MAX],
                            struct cm_error **err);
/* Stops the thread (it drains in_fd first) and frees; accepts NULL. */
void img_layer_stream_free(struct img_layer_stream *s);

/* Normalises a tar member name to a relative path without "." components or
 * duplicate slashes ("" for the root). Refuses absolute names, ".." components,
 * NUL-free names longer than PATH_MAX. Owned by the caller. */
int img_member_path_clean(const char *name, char **ret, struct cm_error **err);

enum img_whiteout {
    IMG_WHITEOUT_NONE = 0,
    IMG_WHITEOUT_FILE,   /* ".wh.NAME": *ret_target = dir/NAME */
    IMG_WHITEOUT_OPAQUE, /* ".wh..wh..opq": *ret_target = dir ("" for the root) */
    IMG_WHITEOUT_META,   /* other ".wh..wh." aufs metadata: ignored */
};

/* Classifies a cleaned path; returns -1 for malformed whiteouts (".wh." alone,
 * ".wh.." or ".wh..."). */
int img_whiteout_parse(const char *clean_path, enum img_whiteout *ret, char **ret_target,
                       struct cm_error **err);

/* Applies a snapshot on top of the tree at dest_fd (plain-copy rootfs): whiteout
 * devices remove, opaque directories drop what lower layers put there, hard
 * links within the snapshot stay links, metadata and xattrs are copied. */
int img_snapshot_apply(int snap_fd, int dest_fd, struct cm_error **err);
