/* SPDX-License-Identifier: Apache-2.0 */
/* File helpers: whole-file reads with a size cap, atomic writes, mkdir -p, rm -rf. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "cm/error.h"

/* Reads the whole file at dirfd/path (AT_FDCWD for cwd) into a NUL-terminated
 * buffer owned by the caller. Fails with EFBIG when it is larger than max. */
int cm_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
                    struct cm_error **err);
/* Writes data to dirfd/name through a temp file, fsync and rename, so that
 * readers see the old or the new content, never a mix. */
int cm_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                            struct cm_error **err);
/* Writes a short string to an existing file (cgroup and /proc knobs). */
int cm_write_file_at(int dirfd, const char *path, const char *data, struct cm_error **err);
/* mkdir -p with mode for the directories it creates. */
int cm_mkdir_p(const char *path, mode_t mode, struct cm_error **err);
/* rm -rf of path; a missing path is not an error. Does not cross mount points. */
int cm_rm_rf(const char *path, struct cm_error **err);
/* rm -rf of name below dirfd without following symlinks; a missing name is
 * not an error. Unlike cm_rm_rf it empties mounts below name too. */
int cm_rm_rf_at(int dirfd, const char *name, struct cm_error **err);
