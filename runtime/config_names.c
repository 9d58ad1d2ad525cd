/* SPDX-License-Identifier: Apache-2.0 */
/* Name tables of the OCI config: namespaces, capabilities, rlimits, seccomp
 * actions/operators/architectures/flags, mount options, propagation. Own tables
 * (not libcap's cap_from_name) so that only the spec's exact spellings pass. */
#include "config_names.h"

#include <linux/mount.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>

#include "rt/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const ns_names[RT_NS_COUNT] = {
    [RT_NS_PID] = "pid",       [RT_NS_NETWORK] = "network", [RT_NS_MOUNT] = "mount",
    [RT_NS_IPC] = "ipc",       [RT_NS_UTS] = "uts",         [RT_NS_USER] = "user",
    [RT_NS_CGROUP] = "cgroup", [RT_NS_TIME] = "time",
};

const char *
rt_ns_type_name(enum rt_ns_type t)
{
    return (unsigned)t < RT_NS_COUNT ? ns_names[t] : NULL;
}

int
rt_ns_type_from_name(const char *name)
{
    for (int i = 0; i < RT_NS_COUNT; i++)
        if (strcmp(ns_names[i], name) == 0)
            return i;
    return -1;
}

/* Index = capability number (linux/capability.h, up to CAP_CHECKPOINT_RESTORE). */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int
rt_cap_from_name(const char *name)
{
    /* Every name starts with "CAP_": compare the rest only. */
    if (strncmp(name, "CAP_", 4) != 0)
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
        if (strcmp(cap_names[i] + 4, name + 4) == 0)
            return (int)i;
    return -1;
}

const char *
rt_cap_name(int cap)
{
    return cap >= 0 && (size_t)cap < ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

int
rt_cap_last(void)
{
    return (int)ARRAY_SIZE(cap_names) - 1;
}

static const struct {
    const char *name;
    int resource;
} rlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

int
rt_rlimit_from_name(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(rlimits); i++)
        if (strcmp(rlimits[i].name, name) == 0)
            return rlimits[i].resource;
    return -1;
}

const char *
rt_rlimit_name(int resource)
{
    for (size_t i = 0; i < ARRAY_SIZE(rlimits); i++)
        if (rlimits[i].resource == resource)
            return rlimits[i].name;
    return NULL;
}

static const char *const action_names[RT_SCMP_ACTION_COUNT] = {
    [RT_SCMP_KILL] = "SCMP_ACT_KILL",
    [RT_SCMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
    [RT_SCMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
    [RT_SCMP_TRAP] = "SCMP_ACT_TRAP",
    [RT_SCMP_ERRNO] = "SCMP_ACT_ERRNO",
    [RT_SCMP_TRACE] = "SCMP_ACT_TRACE",
    [RT_SCMP_ALLOW] = "SCMP_ACT_ALLOW",
    [RT_SCMP_LOG] = "SCMP_ACT_LOG",
    [RT_SCMP_NOTIFY] = "SCMP_ACT_NOTIFY",
};

const char *
rt_seccomp_action_name(enum rt_seccomp_action a)
{
    return (unsigned)a < RT_SCMP_ACTION_COUNT ? action_names[a] : NULL;
}

int
rt_seccomp_action_from_name(const char *name)
{
    for (int i = 0; i < RT_SCMP_ACTION_COUNT; i++)
        if (strcmp(action_names[i], name) == 0)
            return i;
    return -1;
}

static const char *const op_names[RT_SCMP_OP_COUNT] = {
    [RT_SCMP_CMP_NE] = "SCMP_CMP_NE",
    [RT_SCMP_CMP_LT] = "SCMP_CMP_LT",
    [RT_SCMP_CMP_LE] = "SCMP_CMP_LE",
    [RT_SCMP_CMP_EQ] = "SCMP_CMP_EQ",
    [RT_SCMP_CMP_GE] = "SCMP_CMP_GE",
    [RT_SCMP_CMP_GT] = "SCMP_CMP_GT",
    [RT_SCMP_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

const char *
rt_seccomp_op_name(enum rt_seccomp_op op)
{
    return (unsigned)op < RT_SCMP_OP_COUNT ? op_names[op] : NULL;
}

int
rt_seccomp_op_from_name(const char *name)
{
    for (int i = 0; i < RT_SCMP_OP_COUNT; i++)
        if (strcmp(op_names[i], name) == 0)
            return i;
    return -1;
}

/* config-linux.md's list; whether libseccomp knows one is checked by
 * rt_seccomp_validate. */
const char *const rt_seccomp_archs[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};
const size_t rt_n_seccomp_archs = ARRAY_SIZE(rt_seccomp_archs);

const char *const rt_seccomp_flags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};
const size_t rt_n_seccomp_flags = ARRAY_SIZE(rt_seccomp_flags);

static const char *const propagation_names[RT_PROPAGATION_COUNT] = {
    [RT_PROPAGATION_DEFAULT] = "",
    [RT_PROPAGATION_PRIVATE] = "private",
    [RT_PROPAGATION_RPRIVATE] = "rprivate",
    [RT_PROPAGATION_SLAVE] = "slave",
    [RT_PROPAGATION_RSLAVE] = "rslave",
    [RT_PROPAGATION_SHARED] = "shared",
    [RT_PROPAGATION_RSHARED] = "rshared",
    [RT_PROPAGATION_UNBINDABLE] = "unbindable",
    [RT_PROPAGATION_RUNBINDABLE] = "runbindable",
};

const char *
rt_rootfs_propagation_name(enum rt_rootfs_propagation p)
{
    return (unsigned)p < RT_PROPAGATION_COUNT ? propagation_names[p] : NULL;
}

int
rt_rootfs_propagation_from_name(const char *name)
{
    for (int i = 1; i < RT_PROPAGATION_COUNT; i++)
        if (strcmp(propagation_names[i], name) == 0)
            return i;
    return -1;
}

/* The options runc and crun interpret themselves; everything else is handed
 * to the filesystem as data. "rro".."rnosymfollow" are mount_setattr(2)
 * attributes applied recursively (runc 1.1). */
#define F(n, s, c)                                                                                 \
    {                                                                                              \
        n, RT_MOPT_FLAG, s, c                                                                      \
    }
#define P(n, s)                                                                                    \
    {                                                                                              \
        n, RT_MOPT_PROP, s, 0                                                                      \
    }
#define R(n, s, c)                                                                                 \
    {                                                                                              \
        n, RT_MOPT_REC_ATTR, s, c                                                                  \
    }
const struct rt_mount_opt rt_mount_opts[] = {
    F("ro", MS_RDONLY, 0),
    F("rw", 0, MS_RDONLY),
    F("nosuid", MS_NOSUID, 0),
    F("suid", 0, MS_NOSUID),
    F("nodev", MS_NODEV, 0),
    F("dev", 0, MS_NODEV),
    F("noexec", MS_NOEXEC, 0),
    F("exec", 0, MS_NOEXEC),
    F("sync", MS_SYNCHRONOUS, 0),
    F("async", 0, MS_SYNCHRONOUS),
    F("dirsync", MS_DIRSYNC, 0),
    F("remount", MS_REMOUNT, 0),
    F("mand", MS_MANDLOCK, 0),
    F("nomand", 0, MS_MANDLOCK),
    F("atime", 0, MS_NOATIME),
    F("noatime", MS_NOATIME, 0),
    F("diratime", 0, MS_NODIRATIME),
    F("nodiratime", MS_NODIRATIME, 0),
    F("relatime", MS_RELATIME, 0),
    F("norelatime", 0, MS_RELATIME),
    F("strictatime", MS_STRICTATIME, 0),
    F("nostrictatime", 0, MS_STRICTATIME),
    F("lazytime", MS_LAZYTIME, 0),
    F("nolazytime", 0, MS_LAZYTIME),
    F("silent", MS_SILENT, 0),
    F("loud", 0, MS_SILENT),
    F("iversion", MS_I_VERSION, 0),
    F("noiversion", 0, MS_I_VERSION),
    F("nosymfollow", MS_NOSYMFOLLOW, 0),
    F("acl", MS_POSIXACL, 0),
    F("noacl", 0, MS_POSIXACL),
    F("symfollow", 0, MS_NOSYMFOLLOW),
    {"bind", RT_MOPT_BIND, MS_BIND, 0},
    {"rbind", RT_MOPT_RBIND, MS_BIND | MS_REC, 0},
    P("private", MS_PRIVATE),
    P("rprivate", MS_PRIVATE | MS_REC),
    P("shared", MS_SHARED),
    P("rshared", MS_SHARED | MS_REC),
    P("slave", MS_SLAVE),
    P("rslave", MS_SLAVE | MS_REC),
    P("unbindable", MS_UNBINDABLE),
    P("runbindable", MS_UNBINDABLE | MS_REC),
    R("rro", MOUNT_ATTR_RDONLY, 0),
    R("rrw", 0, MOUNT_ATTR_RDONLY),
    R("rnosuid", MOUNT_ATTR_NOSUID, 0),
    R("rsuid", 0, MOUNT_ATTR_NOSUID),
    R("rnodev", MOUNT_ATTR_NODEV, 0),
    R("rdev", 0, MOUNT_ATTR_NODEV),
    R("rnoexec", MOUNT_ATTR_NOEXEC, 0),
    R("rexec", 0, MOUNT_ATTR_NOEXEC),
    R("rnodiratime", MOUNT_ATTR_NODIRATIME, 0),
    R("rdiratime", 0, MOUNT_ATTR_NODIRATIME),
    /* The atime modes are one field: setting one clears the others. */
    R("rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME),
    R("rnorelatime", 0, MOUNT_ATTR__ATIME),
    R("rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME),
    R("ratime", 0, MOUNT_ATTR__ATIME),
    R("rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME),
    R("rnostrictatime", 0, MOUNT_ATTR__ATIME),
    R("rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0),
    R("rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW),
    {"idmap", RT_MOPT_IDMAP, 0, 0},
    {"ridmap", RT_MOPT_RIDMAP, 0, 0},
    {"defaults", RT_MOPT_IGNORED, 0, 0},
    /* crun's copy-up of a tmpfs from the image: nothing to do for us. */
    {"tmpcopyup", RT_MOPT_IGNORED, 0, 0},
};
#undef F
#undef P
#undef R
const size_t rt_n_mount_opts = ARRAY_SIZE(rt_mount_opts);

const struct rt_mount_opt *
rt_mount_opt_lookup(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(rt_mount_opts); i++)
        if (rt_mount_opts[i].name[0] == name[0] && strcmp(rt_mount_opts[i].name, name) == 0)
            return &rt_mount_opts[i];
    return NULL;
}

static const struct {
    const char *name;
    int value;
} sched_policies[] = {
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},       {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
};

int
rt_sched_policy_from_name(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(sched_policies); i++)
        if (strcmp(sched_policies[i].name, name) == 0)
            return sched_policies[i].value;
    return -1;
}

/* SCHED_FLAG_* of linux/sched.h (uapi), not all exposed by glibc. */
static const struct {
    const char *name;
    int64_t value;
} sched_flags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},  {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},     {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

int64_t
rt_sched_flag_from_name(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(sched_flags); i++)
        if (strcmp(sched_flags[i].name, name) == 0)
            return sched_flags[i].value;
    return -1;
}

int
rt_ioprio_class_from_name(const char *name)
{
    if (strcmp(name, "IOPRIO_CLASS_RT") == 0)
        return 1;
    if (strcmp(name, "IOPRIO_CLASS_BE") == 0)
        return 2;
    if (strcmp(name, "IOPRIO_CLASS_IDLE") == 0)
        return 3;
    return -1;
}
