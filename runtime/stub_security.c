/* SPDX-License-Identifier: Apache-2.0 */
/* Throwaway stub of process security (rt-security writes the real one); links only. */
#include "rt/security.h"

#include <errno.h>

int
rt_seccomp_validate(const struct rt_seccomp *s, struct cm_error **err)
{
    (void)s;
    return cm_error_set(err, ENOSYS, "seccomp not available yet");
}

int
rt_seccomp_compile(const struct rt_seccomp *s, struct rt_seccomp_filter **ret,
                   struct cm_error **err)
{
    (void)s, (void)ret;
    return cm_error_set(err, ENOSYS, "seccomp not available yet");
}

int
rt_seccomp_load(struct rt_seccomp_filter *f, int *ret_notify_fd, struct cm_error **err)
{
    (void)f, (void)ret_notify_fd;
    return cm_error_set(err, ENOSYS, "seccomp not available yet");
}

void
rt_seccomp_filter_free(struct rt_seccomp_filter *f)
{
    (void)f;
}

int
rt_rlimits_apply(const struct rt_rlimit *r, size_t n, struct cm_error **err)
{
    (void)r, (void)n, (void)err;
    return 0;
}

int
rt_oom_score_adj_apply(const struct rt_process *p, struct cm_error **err)
{
    (void)p, (void)err;
    return 0;
}

int
rt_user_apply(const struct rt_user *u, struct cm_error **err)
{
    (void)u, (void)err;
    return 0;
}

int
rt_caps_apply(const struct rt_capabilities *c, struct cm_error **err)
{
    (void)c, (void)err;
    return 0;
}

int
rt_no_new_privs_apply(const struct rt_process *p, struct cm_error **err)
{
    (void)p, (void)err;
    return 0;
}
