/* SPDX-License-Identifier: Apache-2.0 */
/* Private name tables of the config parser, shared with `spec` and `features`. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* What a mount option does. */
enum rt_mount_opt_kind {
    RT_MOPT_FLAG = 0, /* sets `set`, clears `clr` (MS_*) */
    RT_MOPT_BIND,     /* "bind" */
    RT_MOPT_RBIND,    /* "rbind" */
    RT_MOPT_PROP,     /* propagation (MS_SHARED... with MS_REC for r*) */
    RT_MOPT_REC_ATTR, /* recursive mount_setattr attribute (MOUNT_ATTR_*) */
    RT_MOPT_IDMAP,    /* "idmap" */
    RT_MOPT_RIDMAP,   /* "ridmap" */
    RT_MOPT_IGNORED,  /* accepted and dropped ("tmpcopyup", "defaults") */
};

struct rt_mount_opt {
    const char *name;
    enum rt_mount_opt_kind kind;
    unsigned long set; /* MS_* (or MOUNT_ATTR_* for RT_MOPT_REC_ATTR) */
    unsigned long clr;
};

extern const struct rt_mount_opt rt_mount_opts[];
extern const size_t rt_n_mount_opts;
/* NULL when the option is not a generic one (it then goes to the fs data). */
const struct rt_mount_opt *rt_mount_opt_lookup(const char *name);

/* seccomp architectures (runtime-spec list) and filter flags. */
extern const char *const rt_seccomp_archs[];
extern const size_t rt_n_seccomp_archs;
extern const char *const rt_seccomp_flags[];
extern const size_t rt_n_seccomp_flags;
#define RT_SCMP_ACTION_COUNT 9
#define RT_SCMP_OP_COUNT 7
#define RT_PROPAGATION_COUNT 9
int rt_rootfs_propagation_from_name(const char *name);

/* process.scheduler policy and flag names, process.ioPriority classes. */
int rt_sched_policy_from_name(const char *name);
int64_t rt_sched_flag_from_name(const char *name);
int rt_ioprio_class_from_name(const char *name);
