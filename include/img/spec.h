/* SPDX-License-Identifier: Apache-2.0 */
/* Image config -> OCI runtime config.json (used by the agent to build bundles). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cm/error.h"
#include "img/manifest.h"

struct img_spec_overrides {
    char **entrypoint; /* non-NULL replaces the image's Entrypoint (and drops its Cmd) */
    char **cmd;        /* non-NULL replaces Cmd */
    char **env;        /* "K=V" entries added or replacing the image's */
    const char *workdir;
    const char *user; /* "name", "uid", "name:group", "uid:gid" */
    const char *hostname;
    bool terminal;
};

/* Resolves a Docker USER string against passwd/group file contents (either may
 * be NULL when the rootfs has none). Names must resolve; numeric ids need not.
 * Additional gids are the user's memberships in group (when a name was given). */
int img_user_resolve(const char *user, const char *passwd, const char *group, uid_t *ret_uid,
                     gid_t *ret_gid, gid_t **ret_gids, size_t *ret_n_gids, struct cm_error **err);

/* Builds a config.json document (ociVersion, process with Docker's default
 * capabilities and RLIMIT_NOFILE 1024, root "rootfs", hostname,
 * default mounts, namespaces, annotations for exposed ports and stop signal).
 * rootfs_fd (-1: none) is the unpacked/mounted rootfs, read for /etc/passwd and
 * /etc/group without following symlinks out of it. Returns a new reference. */
json_t *img_spec_from_config(const struct img_config *cfg, int rootfs_fd,
                             const struct img_spec_overrides *ov, struct cm_error **err);
