/* SPDX-License-Identifier: Apache-2.0 */
/* The rest of the container process's set-up: rlimits, oomScoreAdj,
 * ioPriority, scheduler, time namespace offsets, user and groups, umask,
 * no_new_privs. */
#include "rt/security.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cm/cleanup.h"

static const char *const rlimit_names[] = {
    [RLIMIT_CPU] = "RLIMIT_CPU",           [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
    [RLIMIT_DATA] = "RLIMIT_DATA",         [RLIMIT_STACK] = "RLIMIT_STACK",
    [RLIMIT_CORE] = "RLIMIT_CORE",         [RLIMIT_RSS] = "RLIMIT_RSS",
    [RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
    [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
    [RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
    [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
    [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

static const char *
rlimit_name(const struct rt_rlimit *r)
{
    if (r->type)
        return r->type;
    if (r->resource >= 0 && (size_t)r->resource < sizeof(rlimit_names) / sizeof(rlimit_names[0]) &&
        rlimit_names[r->resource])
        return rlimit_names[r->resource];
    return "RLIMIT_?";
}

int
rt_rlimits_apply(const struct rt_rlimit *rl, size_t n, struct cm_error **err)
{
    for (size_t i = 0; i < n; i++) {
        const struct rt_rlimit *r = &rl[i];
        /* OCI uses uint64 with UINT64_MAX for unlimited, = RLIM_INFINITY. */
        struct rlimit lim = {.rlim_cur = (rlim_t)r->soft, .rlim_max = (rlim_t)r->hard};
        struct rlimit cur;

        if (r->soft > r->hard)
            return cm_error_set(
                err, 0, "process.rlimits: %s: soft limit %" PRIu64 " above hard limit %" PRIu64,
                rlimit_name(r), r->soft, r->hard);
        if (setrlimit((__rlimit_resource_t)r->resource, &lim) == 0)
            continue;
        if (errno != EPERM || getrlimit((__rlimit_resource_t)r->resource, &cur) < 0)
            return cm_error_errno(err, "setting %s to soft %" PRIu64 " hard %" PRIu64,
                                  rlimit_name(r), r->soft, r->hard);
        if (lim.rlim_max > cur.rlim_max)
            return cm_error_errno(err,
                                  "setting %s: raising the hard limit from %llu to %" PRIu64
                                  " needs CAP_SYS_RESOURCE",
                                  rlimit_name(r), (unsigned long long)cur.rlim_max, r->hard);
        /* RLIMIT_NOFILE is also capped by fs.nr_open, even for root. */
        return cm_error_errno(err, "setting %s to soft %" PRIu64 " hard %" PRIu64 "%s",
                              rlimit_name(r), r->soft, r->hard,
                              r->resource == RLIMIT_NOFILE ? " (above fs.nr_open?)" : "");
    }
    return 0;
}

int
rt_oom_score_adj_apply(const struct rt_process *p, struct cm_error **err)
{
    char buf[16];
    cleanup_close int fd = -1;
    int len;

    if (!p || !p->has_oom_score_adj)
        return 0;
    if (p->oom_score_adj < -1000 || p->oom_score_adj > 1000)
        return cm_error_set(err, 0, "process.oomScoreAdj: %d is not in -1000..1000",
                            p->oom_score_adj);
    len = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
    fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return cm_error_errno(err, "opening /proc/self/oom_score_adj");
    if (write(fd, buf, (size_t)len) != len) {
        if (errno == EACCES)
            return cm_error_errno(err,
                                  "setting oomScoreAdj %d (lowering it needs CAP_SYS_RESOURCE)",
                                  p->oom_score_adj);
        return cm_error_errno(err, "setting oomScoreAdj %d", p->oom_score_adj);
    }
    return 0;
}

/* ioprio_set(2) has no glibc wrapper: IOPRIO_PRIO_VALUE(class, data). */
#define RT_IOPRIO_CLASS_SHIFT 13
#define RT_IOPRIO_WHO_PROCESS 1

int
rt_ioprio_apply(const struct rt_process *p, struct cm_error **err)
{
    if (!p || !p->has_io_priority)
        return 0;
    int value = (p->io_priority.klass << RT_IOPRIO_CLASS_SHIFT) | p->io_priority.priority;
    if (syscall(SYS_ioprio_set, RT_IOPRIO_WHO_PROCESS, 0, value) < 0)
        return cm_error_errno(err, "process.ioPriority: ioprio_set class %d priority %d",
                              p->io_priority.klass, p->io_priority.priority);
    return 0;
}

/* struct sched_attr of sched_setattr(2) (glibc has neither). */
struct rt_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

int
rt_sched_apply(const struct rt_process *p, struct cm_error **err)
{
    if (!p || !p->has_scheduler)
        return 0;
    const struct rt_scheduler *s = &p->scheduler;
    if (s->priority < 0)
        return cm_error_set(err, 0, "process.scheduler.priority: %d is negative", s->priority);
    struct rt_sched_attr a = {
        .size = sizeof(a),
        .sched_policy = (uint32_t)s->policy,
        .sched_flags = s->flags,
        .sched_nice = s->nice,
        .sched_priority = (uint32_t)s->priority,
        .sched_runtime = s->runtime,
        .sched_deadline = s->deadline,
        .sched_period = s->period,
    };
    if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) {
        int e = errno;
        /* EPERM for a real-time policy: CAP_SYS_NICE, or on cgroup v1 a cpu
         * cgroup without cpu.rt_runtime_us (linux.resources.cpu.realtimeRuntime) */
        cm_error_errno(err, "process.scheduler: sched_setattr policy %d priority %d nice %d%s",
                       s->policy, s->priority, s->nice,
                       e == EPERM    ? " (a real-time policy needs CAP_SYS_NICE and real-time "
                                       "runtime in the cpu cgroup)"
                       : e == EINVAL ? " (invalid for this policy)"
                                     : "");
        return -1;
    }
    return 0;
}

int
rt_time_offsets_apply(const struct rt_linux *l, struct cm_error **err)
{
    char buf[128];
    int len = 0;

    if (l->time_monotonic.present)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, "monotonic %" PRId64 " %" PRIu32 "\n",
                        l->time_monotonic.secs, l->time_monotonic.nanosecs);
    if (l->time_boottime.present)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, "boottime %" PRId64 " %" PRIu32 "\n",
                        l->time_boottime.secs, l->time_boottime.nanosecs);
    if (len == 0)
        return 0;
    /* Only before any process entered the namespace: the init enters it at
     * execve, and hooks forked after this line would be the first ones. */
    cleanup_close int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return cm_error_errno(err, "linux.timeOffsets: open /proc/self/timens_offsets");
    if (write(fd, buf, (size_t)len) != len)
        return cm_error_errno(err, "linux.timeOffsets: write '%.*s'", len - 1, buf);
    return 0;
}

/* setgroups(2) fails with EPERM in a user namespace whose setgroups file
 * says "deny" (unprivileged mappings); then we cannot change groups at all. */
static bool
setgroups_denied(void)
{
    char buf[8] = {0};
    cleanup_close int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (read(fd, buf, sizeof(buf) - 1) <= 0)
        return false;
    return strncmp(buf, "deny", 4) == 0;
}

int
rt_user_apply(const struct rt_user *u, struct cm_error **err)
{
    int r;

    if (u->has_umask && (u->umask & ~(mode_t)0777))
        return cm_error_set(err, 0, "process.user.umask: %#o is not a file mode",
                            (unsigned)u->umask);
    if (u->n_additional_gids > 0 && !u->additional_gids)
        return cm_error_set(err, 0, "process.user.additionalGids: missing");
    /* Try first, ask why only on failure: the common case costs one syscall. */
    if (setgroups(u->n_additional_gids, u->additional_gids) < 0) {
        if (errno != EPERM || !setgroups_denied())
            return cm_error_errno(err, "setgroups");
        if (u->n_additional_gids > 0)
            return cm_error_set(err, EPERM,
                                "process.user.additionalGids: cannot set groups, setgroups is "
                                "denied in this user namespace");
    }
    if (setresgid(u->gid, u->gid, u->gid) < 0)
        return cm_error_errno(err, "setresgid(%u)", (unsigned)u->gid);
    /* Keep the permitted set across the uid change so rt_caps_apply can
     * still set the config's capabilities for a non-root user. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return cm_error_errno(err, "prctl(PR_SET_KEEPCAPS)");
    r = setresuid(u->uid, u->uid, u->uid);
    if (r < 0) {
        cm_error_errno(err, "setresuid(%u)", (unsigned)u->uid);
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        return -1;
    }
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return cm_error_errno(err, "prctl(PR_SET_KEEPCAPS, 0)");
    if (u->has_umask)
        umask(u->umask);
    return 0;
}

int
rt_no_new_privs_apply(const struct rt_process *p, struct cm_error **err)
{
    if (!p || !p->no_new_privileges)
        return 0;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return cm_error_errno(err, "prctl(PR_SET_NO_NEW_PRIVS)");
    return 0;
}
