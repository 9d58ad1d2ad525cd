/* SPDX-License-Identifier: Apache-2.0 */
/* Throwaway stub of the cgroup layer (rt-cgroup writes the real one); links only. */
#include "rt/cgroup.h"

#include <errno.h>

int
rt_cgroup_detect(const char *root, enum rt_cgroup_mode *ret_mode, struct cm_error **err)
{
    (void)ret_mode;
    return cm_error_set(err, ENOSYS, "%s: cgroups not available yet", root);
}

int
rt_cgroup_hierarchies(const char *root, struct rt_cgroup_hierarchy **ret, size_t *ret_n,
                      struct cm_error **err)
{
    (void)ret, (void)ret_n;
    return cm_error_set(err, ENOSYS, "%s: cgroups not available yet", root);
}

void
rt_cgroup_hierarchies_free(struct rt_cgroup_hierarchy *h, size_t n)
{
    (void)h, (void)n;
}

int
rt_cgroup_create(const char *root, const char *path, const char *id, const struct rt_resources *res,
                 struct rt_cgroup **ret, struct cm_error **err)
{
    (void)path, (void)id, (void)res, (void)ret;
    return cm_error_set(err, ENOSYS, "%s: cgroups not available yet", root);
}

int
rt_cgroup_open(const char *root, const char *path, struct rt_cgroup **ret, struct cm_error **err)
{
    (void)path, (void)ret;
    return cm_error_set(err, ENOSYS, "%s: cgroups not available yet", root);
}

const char *
rt_cgroup_path(const struct rt_cgroup *cg)
{
    (void)cg;
    return "/";
}

#define STUB(...)                                                                                  \
    {                                                                                              \
        (void)cg;                                                                                  \
        return cm_error_set(err, ENOSYS, "cgroups not available yet");                             \
    }

int
rt_cgroup_enter(struct rt_cgroup *cg, pid_t pid, struct cm_error **err)
{
    (void)pid;
    STUB();
}

int
rt_cgroup_apply(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err)
{
    (void)res;
    STUB();
}

int
rt_cgroup_freeze(struct rt_cgroup *cg, bool frozen, struct cm_error **err)
{
    (void)frozen;
    STUB();
}

int
rt_cgroup_is_frozen(struct rt_cgroup *cg, bool *ret, struct cm_error **err)
{
    (void)ret;
    STUB();
}

int
rt_cgroup_pids(struct rt_cgroup *cg, pid_t **ret, size_t *ret_n, struct cm_error **err)
{
    (void)ret, (void)ret_n;
    STUB();
}

int
rt_cgroup_kill_all(struct rt_cgroup *cg, int sig, struct cm_error **err)
{
    (void)sig;
    STUB();
}

int
rt_cgroup_destroy(struct rt_cgroup *cg, bool force, struct cm_error **err)
{
    (void)force;
    STUB();
}

void
rt_cgroup_free(struct rt_cgroup *cg)
{
    (void)cg;
}
