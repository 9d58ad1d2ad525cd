/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI runtime configuration (config.json, runtime-spec 1.x, Linux) as plain
 * structs. Parsed once at the edge by rt_config_load*(); nothing else in the
 * runtime touches JSON. Unknown keys are ignored (spec "Extensibility"),
 * invalid values are errors naming the field ("linux.resources.memory.limit"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cm/error.h"

/* Limits enforced while parsing (hostile bundles). */
#define RT_CONFIG_MAX_BYTES (4u << 20)
#define RT_MAX_ARRAY 4096          /* elements per array, entries per object */
#define RT_MAX_PATH 4096           /* bytes in a path, NUL included (PATH_MAX) */
#define RT_MAX_STRING (128u << 10) /* bytes in any other string (MAX_ARG_STRLEN) */

struct rt_user {
    uid_t uid;
    gid_t gid;
    bool has_umask;
    mode_t umask;
    gid_t *additional_gids;
    size_t n_additional_gids;
    char *username; /* Windows only in the spec; kept for completeness */
};

struct rt_rlimit {
    int resource; /* RLIMIT_* */
    char *type;   /* "RLIMIT_NOFILE" as written */
    uint64_t hard;
    uint64_t soft;
};

/* One capability set as a bitmask over CAP_* numbers (bit n = capability n). */
struct rt_capabilities {
    bool present; /* process.capabilities given at all */
    uint64_t bounding;
    uint64_t effective;
    uint64_t inheritable;
    uint64_t permitted;
    uint64_t ambient;
};

/* process.ioPriority: class is IOPRIO_CLASS_RT (1), _BE (2) or _IDLE (3). */
struct rt_io_priority {
    int klass;
    int priority;
};

/* process.scheduler (sched_setattr(2)). */
struct rt_scheduler {
    int policy; /* SCHED_OTHER, SCHED_FIFO, ... */
    int32_t nice;
    int32_t priority;
    uint64_t flags; /* SCHED_FLAG_* bits */
    uint64_t runtime, deadline, period;
};

struct rt_console_size {
    unsigned height;
    unsigned width;
};

struct rt_process {
    bool terminal;
    bool has_console_size;
    struct rt_console_size console_size;
    struct rt_user user;
    char **args; /* NULL-terminated, at least one element */
    char *command_line;
    char **env; /* NULL-terminated, may be empty */
    char *cwd;  /* absolute */
    struct rt_capabilities caps;
    struct rt_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privileges;
    char *apparmor_profile;
    bool has_oom_score_adj;
    int oom_score_adj;
    char *selinux_label;
    bool has_io_priority;
    struct rt_io_priority io_priority;
    bool has_scheduler;
    struct rt_scheduler scheduler;
    /* process.execCPUAffinity (spec 1.2) cpu lists, NULL = unset */
    char *exec_cpu_affinity_initial;
    char *exec_cpu_affinity_final;
};

struct rt_root {
    char *path; /* as written; relative to the bundle when not absolute */
    bool readonly;
};

struct rt_id_mapping {
    uint32_t container_id;
    uint32_t host_id;
    uint32_t size;
};

struct rt_mount {
    char *destination; /* absolute path inside the container (a deprecated relative
                          destination is made absolute: "tmp" -> "/tmp") */
    char *source;
    char *type;
    char **options; /* NULL-terminated, as written */
    /* Derived from options by the parser: */
    unsigned long flags;        /* MS_* to set (MS_BIND, +MS_REC for rbind, included) */
    unsigned long clear;        /* MS_* explicitly cleared (e.g. "rw", "suid") */
    unsigned long propagation;  /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (+MS_REC) or 0 */
    bool bind;                  /* "bind" or "rbind" */
    bool recursive;             /* "rbind" */
    char *data;                 /* the remaining options joined by ',' (fs-specific), or NULL */
    uid_t *uid_mappings_unused; /* reserved for idmapped mounts */
    /* Recursive attributes ("rro", "rnosuid", ...: mount_setattr(2) with
     * AT_RECURSIVE); MOUNT_ATTR_* bits. */
    uint64_t rec_attr_set;
    uint64_t rec_attr_clr;
    bool idmap;           /* "idmap" or "ridmap" option */
    bool idmap_recursive; /* "ridmap" */
    /* mounts[].uidMappings/gidMappings (idmapped mounts, spec 1.1) */
    struct rt_id_mapping *uid_mappings;
    size_t n_uid_mappings;
    struct rt_id_mapping *gid_mappings;
    size_t n_gid_mappings;
};

struct rt_hook {
    char *path;
    char **args; /* NULL-terminated or NULL */
    char **env;  /* NULL-terminated or NULL */
    bool has_timeout;
    int timeout; /* seconds, > 0 */
};

enum rt_hook_kind {
    RT_HOOK_PRESTART = 0,
    RT_HOOK_CREATE_RUNTIME,
    RT_HOOK_CREATE_CONTAINER,
    RT_HOOK_START_CONTAINER,
    RT_HOOK_POSTSTART,
    RT_HOOK_POSTSTOP,
    RT_HOOK_KIND_COUNT
};

struct rt_hooks {
    struct rt_hook *hooks[RT_HOOK_KIND_COUNT];
    size_t n_hooks[RT_HOOK_KIND_COUNT];
};

enum rt_ns_type {
    RT_NS_PID = 0,
    RT_NS_NETWORK,
    RT_NS_MOUNT,
    RT_NS_IPC,
    RT_NS_UTS,
    RT_NS_USER,
    RT_NS_CGROUP,
    RT_NS_TIME,
    RT_NS_COUNT
};

struct rt_namespace {
    enum rt_ns_type type;
    char *path; /* join this namespace when set, else create a new one */
};

struct rt_device {
    char type; /* 'c', 'b', 'u', 'p' */
    char *path;
    int64_t major;
    int64_t minor;
    bool has_mode;
    mode_t mode;
    bool has_uid;
    uid_t uid;
    bool has_gid;
    gid_t gid;
};

/* linux.resources.devices[] entry (device cgroup rule). */
struct rt_device_rule {
    bool allow;
    char type;      /* 'a', 'c', 'b' (0 = all; the parser writes 'a' when absent) */
    int64_t major;  /* -1 = wildcard */
    int64_t minor;  /* -1 = wildcard */
    char access[4]; /* subset of "rwm" in that order; "rwm" when absent */
};

/* Optional numeric fields carry a has_ flag: absent means "do not touch". */
struct rt_memory {
    bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp, has_swappiness;
    int64_t limit, reservation, swap, kernel, kernel_tcp;
    uint64_t swappiness;
    bool has_disable_oom_killer, disable_oom_killer;
    bool has_use_hierarchy, use_hierarchy;
    bool has_check_before_update, check_before_update;
};

struct rt_cpu {
    bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime, has_realtime_period,
        has_idle;
    uint64_t shares;
    int64_t quota;
    uint64_t burst;
    uint64_t period;
    int64_t realtime_runtime;
    uint64_t realtime_period;
    int64_t idle;
    char *cpus; /* cpuset, NULL = unset */
    char *mems;
};

struct rt_blkio_device {
    int64_t major, minor;
    bool has_weight, has_leaf_weight;
    uint16_t weight, leaf_weight;
};

struct rt_blkio_throttle {
    int64_t major, minor;
    uint64_t rate;
};

struct rt_blkio {
    bool has_weight, has_leaf_weight;
    uint16_t weight, leaf_weight;
    struct rt_blkio_device *weight_device;
    size_t n_weight_device;
    struct rt_blkio_throttle *throttle_read_bps, *throttle_write_bps, *throttle_read_iops,
        *throttle_write_iops;
    size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;
};

struct rt_hugepage_limit {
    char *page_size; /* "2MB", "1GB" */
    uint64_t limit;
};

struct rt_net_prio {
    char *name;
    uint32_t priority;
};

struct rt_rdma {
    char *device; /* key of linux.resources.rdma */
    bool has_hca_handles, has_hca_objects;
    uint32_t hca_handles, hca_objects;
};

struct rt_unified {
    char *key; /* cgroup v2 file name, e.g. "memory.high" */
    char *value;
};

struct rt_resources {
    struct rt_device_rule *devices;
    size_t n_devices;
    bool has_memory;
    struct rt_memory memory;
    bool has_cpu;
    struct rt_cpu cpu;
    bool has_pids;
    int64_t pids_limit; /* <= 0 = unlimited ("max") */
    bool has_blkio;
    struct rt_blkio blkio;
    struct rt_hugepage_limit *hugepage_limits;
    size_t n_hugepage_limits;
    bool has_network;
    bool has_class_id;
    uint32_t class_id;
    struct rt_net_prio *priorities;
    size_t n_priorities;
    struct rt_unified *unified;
    size_t n_unified;
    struct rt_rdma *rdma;
    size_t n_rdma;
};

enum rt_seccomp_action {
    RT_SCMP_KILL = 0,
    RT_SCMP_KILL_PROCESS,
    RT_SCMP_KILL_THREAD,
    RT_SCMP_TRAP,
    RT_SCMP_ERRNO,
    RT_SCMP_TRACE,
    RT_SCMP_ALLOW,
    RT_SCMP_LOG,
    RT_SCMP_NOTIFY,
};

enum rt_seccomp_op {
    RT_SCMP_CMP_NE = 0,
    RT_SCMP_CMP_LT,
    RT_SCMP_CMP_LE,
    RT_SCMP_CMP_EQ,
    RT_SCMP_CMP_GE,
    RT_SCMP_CMP_GT,
    RT_SCMP_CMP_MASKED_EQ,
};

struct rt_seccomp_arg {
    unsigned index; /* 0..5 */
    uint64_t value;
    uint64_t value_two;
    enum rt_seccomp_op op;
};

struct rt_seccomp_syscall {
    char **names; /* NULL-terminated, at least one */
    enum rt_seccomp_action action;
    bool has_errno_ret;
    uint32_t errno_ret;
    struct rt_seccomp_arg *args;
    size_t n_args;
};

struct rt_seccomp {
    enum rt_seccomp_action default_action;
    bool has_default_errno_ret;
    uint32_t default_errno_ret;
    char **architectures; /* "SCMP_ARCH_X86_64" ..., NULL-terminated or NULL */
    char **flags;         /* "SECCOMP_FILTER_FLAG_LOG" ..., NULL-terminated or NULL */
    char *listener_path;
    char *listener_metadata;
    struct rt_seccomp_syscall *syscalls;
    size_t n_syscalls;
};

struct rt_sysctl {
    char *key;
    char *value;
};

/* linux.timeOffsets (time namespace). */
struct rt_time_offset {
    bool present;
    int64_t secs;
    uint32_t nanosecs;
};

enum rt_rootfs_propagation {
    RT_PROPAGATION_DEFAULT = 0, /* rprivate */
    RT_PROPAGATION_PRIVATE,
    RT_PROPAGATION_RPRIVATE,
    RT_PROPAGATION_SLAVE,
    RT_PROPAGATION_RSLAVE,
    RT_PROPAGATION_SHARED,
    RT_PROPAGATION_RSHARED,
    RT_PROPAGATION_UNBINDABLE,
    RT_PROPAGATION_RUNBINDABLE,
};

struct rt_linux {
    struct rt_namespace *namespaces;
    size_t n_namespaces;
    struct rt_id_mapping *uid_mappings;
    size_t n_uid_mappings;
    struct rt_id_mapping *gid_mappings;
    size_t n_gid_mappings;
    struct rt_device *devices;
    size_t n_devices;
    char *cgroups_path; /* NULL = runtime default */
    bool has_resources;
    struct rt_resources resources;
    enum rt_rootfs_propagation rootfs_propagation;
    struct rt_seccomp *seccomp; /* NULL = no filter */
    struct rt_sysctl *sysctl;
    size_t n_sysctl;
    char **masked_paths;   /* NULL-terminated or NULL */
    char **readonly_paths; /* NULL-terminated or NULL */
    char *mount_label;
    bool has_personality;
    char *personality_domain; /* "LINUX" | "LINUX32" */
    char *intel_rdt_clos_id;
    char **personality_flags; /* NULL-terminated or NULL */
    bool has_intel_rdt;
    char *intel_rdt_l3_cache_schema;
    char *intel_rdt_mem_bw_schema;
    char *intel_rdt_schemata; /* spec 1.2 */
    bool intel_rdt_enable_cmt, intel_rdt_enable_mbm;
    struct rt_time_offset time_monotonic, time_boottime;
};

struct rt_annotation {
    char *key;
    char *value;
};

struct rt_config {
    char *oci_version;
    bool has_process; /* process is optional for create, required for start */
    struct rt_process process;
    struct rt_root root;
    char *hostname;
    char *domainname;
    struct rt_mount *mounts;
    size_t n_mounts;
    struct rt_hooks hooks;
    struct rt_annotation *annotations;
    size_t n_annotations;
    struct rt_linux linux_; /* "linux" is a predefined macro with GNU extensions */
};

/* Parses config.json text. *ret is owned by the caller (rt_config_free).
 * Errors (code 0, EFBIG when too large) read "NAME: FIELD.PATH: problem" or
 * "NAME:LINE:COL: text" for malformed JSON. */
int rt_config_parse(const char *buf, size_t len, const char *name, struct rt_config **ret,
                    struct cm_error **err);
/* Loads BUNDLE/config.json (size-capped). */
int rt_config_load(const char *bundle, struct rt_config **ret, struct cm_error **err);
/* Parses a process.json (runc exec --process) into *ret (rt_process_done to free). */
int rt_process_parse(const char *buf, size_t len, const char *name, struct rt_process *ret,
                     struct cm_error **err);
void rt_process_done(struct rt_process *p);
/* Parses a standalone linux.resources object (`update --resources FILE`) into
 * *ret (rt_resources_done to free). Errors name the field ("memory.limit: ..."). */
int rt_resources_parse(const char *buf, size_t len, const char *name, struct rt_resources *ret,
                       struct cm_error **err);
void rt_resources_done(struct rt_resources *r);
void rt_config_free(struct rt_config *c);
static inline void
rt_config_freep(struct rt_config **c)
{
    rt_config_free(*c);
}
#define cleanup_rt_config __attribute__((cleanup(rt_config_freep)))

/* Returns the namespace entry of this type, or NULL when the config has none. */
const struct rt_namespace *rt_config_namespace(const struct rt_config *c, enum rt_ns_type t);

/* Name tables shared by the parser, `features` and error messages. */
const char *rt_ns_type_name(enum rt_ns_type t); /* "pid", "network", ... */
int rt_ns_type_from_name(const char *name);     /* -1 when unknown */
int rt_cap_from_name(const char *name);         /* "CAP_SYS_ADMIN" -> 21; -1 unknown */
const char *rt_cap_name(int cap);               /* NULL when unknown */
int rt_cap_last(void);                          /* highest capability number known */
int rt_rlimit_from_name(const char *name);      /* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 */
const char *rt_rlimit_name(int resource);       /* RLIMIT_NOFILE -> "RLIMIT_NOFILE"; NULL */
const char *rt_seccomp_action_name(enum rt_seccomp_action a);         /* "SCMP_ACT_ERRNO" */
int rt_seccomp_action_from_name(const char *name);                    /* -1 when unknown */
const char *rt_seccomp_op_name(enum rt_seccomp_op op);                /* "SCMP_CMP_EQ" */
int rt_seccomp_op_from_name(const char *name);                        /* -1 when unknown */
const char *rt_rootfs_propagation_name(enum rt_rootfs_propagation p); /* "rprivate"... */

/* `spec`: a default config.json (rootless variant with user namespace and
 * mappings for the calling user). Returns an owned string. */
char *rt_config_default_spec(bool rootless);
/* `features`: the runtime-spec features document (features.md) describing what
 * this parser and runtime accept. Returns an owned string. */
char *rt_config_features_json(void);
