/* SPDX-License-Identifier: Apache-2.0 */
/* Container root filesystems from stored images: an overlayfs of the layer
 * snapshots (a copy where overlayfs is missing), or a plain copy (`unpack`). */
#pragma once

#include <stdbool.h>

#include "cm/error.h"
#include "img/store.h"

/* Mounts the image's snapshots (lowest layer last in lowerdir) with upper and
 * work (created if missing, same filesystem) at target. Where overlayfs is not
 * available, copies the layers into upper and bind-mounts it at target instead;
 * *ret_copied (may be NULL) says which happened. */
int img_rootfs_mount(struct img_store *s, const struct img_image *img, const char *upper,
                     const char *work, const char *target, bool *ret_copied, struct cm_error **err);

/* Materialises a plain copy of the image's rootfs in dest (created if missing,
 * must be empty), applying the layers in order with whiteouts resolved. */
int img_rootfs_unpack(struct img_store *s, const struct img_image *img, const char *dest,
                      struct cm_error **err);
