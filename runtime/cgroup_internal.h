/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the cgroup layer: the handle, the per-layout backend table
 * (crun-style function pointers) and the helpers shared by cgroup.c,
 * cgroup_v1.c and cgroup_v2.c. Exposed to the unit tests, which drive the
 * backends against fake cgroupfs trees. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cm/error.h"
#include "rt/cgroup.h"
#include "rt/config.h"

/* Controllers we know by name, as bits. */
enum {
    CG_CPU = 1u << 0,
    CG_CPUACCT = 1u << 1,
    CG_CPUSET = 1u << 2,
    CG_MEMORY = 1u << 3,
    CG_DEVICES = 1u << 4,
    CG_FREEZER = 1u << 5,
    CG_BLKIO = 1u << 6,
    CG_PIDS = 1u << 7,
    CG_HUGETLB = 1u << 8,
    CG_NET_CLS = 1u << 9,
    CG_NET_PRIO = 1u << 10,
    CG_PERF_EVENT = 1u << 11,
    CG_RDMA = 1u << 12,
    CG_MISC = 1u << 13,
    CG_IO = 1u << 14, /* v2 only */
};

/* The longest cgroupsPath we accept (the kernel's PATH_MAX minus room for the
 * mount point and a file name). */
#define CG_PATH_MAX 3072

/* One mounted hierarchy and, once a cgroup is created or opened, the
 * container's directory in it. */
struct cg_hier {
    char *mountpoint;  /* "/sys/fs/cgroup/memory" */
    char *name;        /* below root: "memory", "cpu,cpuacct", "unified"; "" when root itself */
    char *controllers; /* v1: "cpu,cpuacct", "name=systemd"; v2: "" */
    bool v2;
    unsigned mask; /* v1: its controllers; v2: the root's cgroup.controllers */
    int fd;        /* the container's cgroup directory, -1 when absent */
    int created;   /* leading path components that already existed; -1 = none created */
    char *dir;     /* mountpoint + path, for messages */
    int join_fd;   /* v1: the container's `tasks` opened for writing, for the init to join
                    * itself (rt_cgroup_join_prepare); -1 otherwise */
    bool joined;   /* the init joined by itself (v1 tasks, v2 CLONE_INTO_CGROUP): enter skips it */
    bool wanted;   /* the container has (or gets, rt_cgroup_plan) a directory here */
};

struct rt_cgroup;

/* A backend: one per layout. Hybrid uses the v1 table, which also serves the
 * unified hierarchy (membership, hugetlb through v2 files). */
struct cg_ops {
    const char *name;
    /* Called for each directory level of the path, new or existing
     * (parent_fd is the level above, or -1 for the mount point, which is
     * opened only if needed; is_new: this call made it; dir names the leaf
     * for messages), e.g. v1 cpuset inheritance where cpus/mems are empty. */
    int (*init_dir)(struct rt_cgroup *cg, struct cg_hier *h, int parent_fd, int fd, bool is_new,
                    const char *dir, struct cm_error **err);
    /* Called once per hierarchy when the leaf exists, before resources are
     * applied (v2: enabling controllers down the path). */
    int (*prepare)(struct rt_cgroup *cg, struct cg_hier *h, struct cm_error **err);
    int (*apply)(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err);
    int (*freeze)(struct rt_cgroup *cg, bool frozen, struct cm_error **err);
    int (*is_frozen)(struct rt_cgroup *cg, bool *ret, struct cm_error **err);
    int (*stats)(struct rt_cgroup *cg, struct rt_cgroup_stats *ret, struct cm_error **err);
    /* Optional: called after the container's directories are removed. */
    void (*removed)(struct rt_cgroup *cg);
    /* Optional fast kill of everything (v2 cgroup.kill); returns 1 when done,
     * 0 when the generic freeze/signal/thaw loop must run. */
    int (*kill)(struct rt_cgroup *cg, int sig, struct cm_error **err);
};

struct rt_cgroup {
    char *root; /* "/sys/fs/cgroup" */
    char *path; /* resolved, absolute: "/skiff/ID" */
    enum rt_cgroup_mode mode;
    const struct cg_ops *ops;
    struct cg_hier *h;
    size_t n;
};

extern const struct cg_ops cg_v1_ops;
extern const struct cg_ops cg_v2_ops;

/* Test hooks: on a fake tree nothing populates a new directory with control
 * files nor lets rmdir remove them; the unit tests install these to play the
 * kernel's part. NULL in production. */
struct cg_fake_kernel {
    void (*populate)(int parent_fd, int dir_fd);
    void (*depopulate)(int dir_fd);
};
extern const struct cg_fake_kernel *cg_fake_kernel;

/* Discovers the hierarchies below root (see cgroup.c for the rules). */
int cg_discover(const char *root, enum rt_cgroup_mode *ret_mode, struct cg_hier **ret,
                size_t *ret_n, struct cm_error **err);
void cg_hiers_free(struct cg_hier *h, size_t n);
/* Controller name -> CG_* bit; 0 when unknown. */
unsigned cg_controller_bit(const char *name, size_t len);
/* Resolves linux.cgroupsPath (NULL, absolute, relative, "slice:prefix:name")
 * into a normalised absolute path; validation errors name the problem. */
int cg_resolve_path(const char *path, const char *id, char **ret, struct cm_error **err);

/* The hierarchy of a v1 controller (or NULL), the v2 hierarchy (or NULL). */
struct cg_hier *cg_v1_find(struct rt_cgroup *cg, unsigned bit);
struct cg_hier *cg_v2_find(struct rt_cgroup *cg);

/* Small file I/O relative to the hierarchy's container directory. */
int cg_write(const struct cg_hier *h, const char *file, const char *value, struct cm_error **err);
int cg_writef(const struct cg_hier *h, const char *file, struct cm_error **err, const char *fmt,
              ...) CM_PRINTF(4, 5);
/* Reads a small file (trailing newline stripped) into buf. */
int cg_read(const struct cg_hier *h, const char *file, char *buf, size_t size,
            struct cm_error **err);
int cg_read_at(int dfd, const char *dir, const char *file, char *buf, size_t size,
               struct cm_error **err);
bool cg_exists(const struct cg_hier *h, const char *file);
/* Reads a number ("max" = UINT64_MAX); with key, the value of the line
 * "KEY N" (memory.events, cpu.stat, memory.oom_control). -1 when missing or
 * malformed (err set). */
int cg_read_u64(const struct cg_hier *h, const char *file, const char *key, uint64_t *ret,
                struct cm_error **err);
/* Writes value to file in dfd (no O_CREAT; O_TRUNC on fake trees only); sets
 * errno on failure. */
int cg_write_raw(int dfd, const char *file, const char *value);

/* v1: makes the container's directory in the freezer hierarchy h when it
 * has none yet and moves every process of the container into it. */
int cg_adopt_freezer(struct rt_cgroup *cg, struct cg_hier *h, struct cm_error **err);

/* v2 pieces shared with the hybrid backend. */
int cg_v2_enable_controllers(struct rt_cgroup *cg, struct cg_hier *h, unsigned want,
                             struct cm_error **err);
int cg_v2_apply_hugetlb(struct rt_cgroup *cg, struct cg_hier *h, const struct rt_resources *res,
                        struct cm_error **err);
int cg_v2_apply_unified(struct cg_hier *h, const struct rt_resources *res, struct cm_error **err);
int cg_v2_freeze_hier(struct cg_hier *h, bool frozen, struct cm_error **err);
int cg_v2_is_frozen_hier(struct cg_hier *h, bool *ret, struct cm_error **err);
/* A v1 device rule as written to devices.allow/deny: "c 1:3 rwm". */
int cg_device_rule_line(const struct rt_device_rule *d, char *buf, size_t size,
                        struct cm_error **err);

/* linux.resources.devices followed by the default devices every container
 * may use (runc's list); *ret owned by the caller. */
struct rt_device_rule *cg_effective_device_rules(const struct rt_resources *res, size_t *ret_n);

/* cgroup v2 device rules as an eBPF program (cgroup_ebpf.c). */
struct bpf_insn;
int cg_bpf_devices_program(const struct rt_device_rule *rules, size_t n, struct bpf_insn **ret,
                           size_t *ret_n, struct cm_error **err);
/* Loads the program for rules and attaches it to the cgroup directory fd,
 * replacing device programs attached there before. */
int cg_bpf_devices_attach(int cgroup_fd, const char *dir, const struct rt_device_rule *rules,
                          size_t n, struct cm_error **err);

/* Conversions (pure, unit-tested). */
uint64_t cg_shares_to_weight(uint64_t shares);
uint64_t cg_blkio_to_io_weight(uint64_t weight);
/* OCI memory.swap (memory+swap) and limit -> memory.swap.max; *ret = -1
 * means "max"; ret_set false = leave swap alone. */
int cg_swap_to_v2(const struct rt_memory *m, bool *ret_set, int64_t *ret, struct cm_error **err);
/* Whether a v1 kmem limit file read back as readback holds the limit wanted
 * (>= 0): the kernel rounds down to pages, a dropped write reads "max". */
bool cg_kmem_kept(int64_t wanted, const char *readback);
/* Validates a hugepage size such as "2MB", "1GB", "64KB". */
int cg_check_page_size(const char *size, struct cm_error **err);
/* Validates a linux.resources.unified key. */
int cg_check_unified_key(const char *key, struct cm_error **err);
