/* SPDX-License-Identifier: Apache-2.0 */
/* The container's cgroup, on cgroup v1, hybrid (v1 + a cgroup2 mount at
 * <root>/unified) and pure v2 hosts. A small interface of our own over
 * libcgroup / cgroupfs. `root` is normally "/sys/fs/cgroup"; tests pass a fake
 * tree. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "cm/error.h"
#include "rt/config.h"

enum rt_cgroup_mode { RT_CGROUP_V1 = 1, RT_CGROUP_HYBRID, RT_CGROUP_V2 };

/* One mounted hierarchy (for `cgroup` mounts inside the container and for `features`). */
struct rt_cgroup_hierarchy {
    char *mountpoint;  /* "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified" */
    char *controllers; /* "cpu,cpuacct", "name=systemd", "" for cgroup2 */
    bool v2;
};

struct rt_cgroup; /* opaque: one container's cgroup in every hierarchy */

/* Detects the layout below root. */
int rt_cgroup_detect(const char *root, enum rt_cgroup_mode *ret_mode, struct cm_error **err);
/* Lists the mounted hierarchies below root; free with rt_cgroup_hierarchies_free. */
int rt_cgroup_hierarchies(const char *root, struct rt_cgroup_hierarchy **ret, size_t *ret_n,
                          struct cm_error **err);
void rt_cgroup_hierarchies_free(struct rt_cgroup_hierarchy *h, size_t n);

/* Creates (or reuses, when it exists) the cgroup `path` (linux.cgroupsPath; a
 * relative path is placed below the runtime's default parent "skiff/"; NULL
 * means "skiff/<id>") in every hierarchy, applies res (may be NULL) and
 * returns a handle. On failure nothing it created is left behind. */
int rt_cgroup_create(const char *root, const char *path, const char *id,
                     const struct rt_resources *res, struct rt_cgroup **ret, struct cm_error **err);
/* Re-opens an existing container cgroup from the path recorded in the state. */
int rt_cgroup_open(const char *root, const char *path, struct rt_cgroup **ret,
                   struct cm_error **err);
/* The resolved path ("/skiff/ID" or the absolute cgroupsPath), borrowed. */
const char *rt_cgroup_path(const struct rt_cgroup *cg);
/* Moves pid into the cgroup in every hierarchy. */
int rt_cgroup_enter(struct rt_cgroup *cg, pid_t pid, struct cm_error **err);
/* Applies (new) resource limits: create and `update`. */
int rt_cgroup_apply(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err);
/* Freezer: pause/resume. */
int rt_cgroup_freeze(struct rt_cgroup *cg, bool frozen, struct cm_error **err);
/* Returns "paused" state: true when frozen. */
int rt_cgroup_is_frozen(struct rt_cgroup *cg, bool *ret, struct cm_error **err);
/* Pids in the cgroup (for ps, kill --all); *ret owned by the caller. */
int rt_cgroup_pids(struct rt_cgroup *cg, pid_t **ret, size_t *ret_n, struct cm_error **err);
/* Sends sig to every process in the cgroup (freezing around it so none escape). */
int rt_cgroup_kill_all(struct rt_cgroup *cg, int sig, struct cm_error **err);
/* Removes the cgroup from every hierarchy (kills stragglers first when force). */
int rt_cgroup_destroy(struct rt_cgroup *cg, bool force, struct cm_error **err);
/* Memory OOM-kill count or stats for `events`; optional. */
void rt_cgroup_free(struct rt_cgroup *cg);
static inline void
rt_cgroup_freep(struct rt_cgroup **cg)
{
    rt_cgroup_free(*cg);
}
#define cleanup_rt_cgroup __attribute__((cleanup(rt_cgroup_freep)))
