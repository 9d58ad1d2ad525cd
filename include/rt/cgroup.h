/* SPDX-License-Identifier: Apache-2.0 */
/* The container's cgroup, on cgroup v1, hybrid (v1 + a cgroup2 mount at
 * <root>/unified) and pure v2 hosts. A small interface of our own over
 * libcgroup / cgroupfs. `root` is normally "/sys/fs/cgroup"; tests pass a fake
 * tree. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
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
/* rt_cgroup_create in two steps, so that create can make the directories
 * while the init builds its rootfs: plan resolves the path and picks the
 * hierarchies (nothing on the host changes); realize makes, prepares and
 * configures them (on failure it removes what it made). */
int rt_cgroup_plan(const char *root, const char *path, const char *id,
                   const struct rt_resources *res, struct rt_cgroup **ret, struct cm_error **err);
int rt_cgroup_realize(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err);
/* Whether the plan uses a cgroup2 hierarchy (joined through clone3
 * CLONE_INTO_CGROUP, so realized before the clone). */
bool rt_cgroup_plan_needs_v2(const struct rt_cgroup *cg);
/* The init's way in after the parent realized the plan: "0" to each planned
 * v1 hierarchy's `tasks`, by path (host root, no user namespace: the files'
 * permissions apply). mark_joined tells the parent's handle that enter has
 * nothing left to do there. */
int rt_cgroup_join_planned(struct rt_cgroup *cg, struct cm_error **err);
void rt_cgroup_mark_joined(struct rt_cgroup *cg);
/* Re-opens an existing container cgroup from the path recorded in the state. */
int rt_cgroup_open(const char *root, const char *path, struct rt_cgroup **ret,
                   struct cm_error **err);
/* The resolved path ("/skiff/ID" or the absolute cgroupsPath), borrowed. */
const char *rt_cgroup_path(const struct rt_cgroup *cg);
/* Moves pid into the cgroup in every hierarchy (but those the process joined
 * by itself: rt_cgroup_join_done). */
int rt_cgroup_enter(struct rt_cgroup *cg, pid_t pid, struct cm_error **err);
/* A new process joins the v1 hierarchies by itself (no RCU grace period):
 * prepare (parent, before fork/clone) opens each hierarchy's `tasks`;
 * join_self (the child) writes "0" to them and closes its copies; join_done
 * (parent, after the fork) closes the parent's copies and marks them joined,
 * and the v2 hierarchy too when v2_joined (clone3 CLONE_INTO_CGROUP). */
int rt_cgroup_join_prepare(struct rt_cgroup *cg, struct cm_error **err);
int rt_cgroup_join_self(struct rt_cgroup *cg, struct cm_error **err);
void rt_cgroup_join_done(struct rt_cgroup *cg, bool v2_joined);
/* The calling (single-threaded) process joins the cgroup in every hierarchy. */
int rt_cgroup_enter_self(struct rt_cgroup *cg, struct cm_error **err);
/* Applies (new) resource limits: create and `update`. Mapping tables in
 * docs/cgroups.md. When res->devices is not empty, runc's default device
 * rules (null, zero, full, random, urandom, tty, console, ptmx, ptys, mknod)
 * are allowed after it; allow rules for linux.devices nodes are the
 * caller's to append. On pure v2 device rules become an eBPF program. */
int rt_cgroup_apply(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err);
/* Freezer: pause/resume. */
int rt_cgroup_freeze(struct rt_cgroup *cg, bool frozen, struct cm_error **err);
/* Returns "paused" state: true when frozen. */
int rt_cgroup_is_frozen(struct rt_cgroup *cg, bool *ret, struct cm_error **err);
/* Pids in the cgroup (for ps, kill --all); *ret owned by the caller. */
int rt_cgroup_pids(struct rt_cgroup *cg, pid_t **ret, size_t *ret_n, struct cm_error **err);
/* Sends sig to every process in the cgroup (freezing around it so none escape). */
int rt_cgroup_kill_all(struct rt_cgroup *cg, int sig, struct cm_error **err);
/* Removes the cgroup from every hierarchy (kills stragglers first when force).
 * Without force, a cgroup that still has processes fails with EBUSY and
 * nothing is removed. Then the levels between /skiff and the container's
 * directory (a relative cgroupsPath's "a/b" of /skiff/a/b/ID) are removed
 * when empty, deepest first; /skiff itself and ancestors outside it stay. */
int rt_cgroup_destroy(struct rt_cgroup *cg, bool force, struct cm_error **err);
/* --- Added by the cgroup layer (not in the first draft of this header) --- */

/* Resource usage for `events --stats` and the agent's metrics. A group a host
 * does not offer keeps its has_ flag false. Limits read "max" as UINT64_MAX. */
struct rt_cgroup_stats {
    bool has_memory;
    uint64_t memory_usage;     /* bytes: v1 memory.usage_in_bytes, v2 memory.current */
    uint64_t memory_limit;     /* v1 memory.limit_in_bytes, v2 memory.max */
    uint64_t memory_max_usage; /* v1 memory.max_usage_in_bytes, v2 memory.peak (0 if absent) */
    bool has_oom;
    uint64_t oom_kills; /* v1 memory.oom_control oom_kill, v2 memory.events oom_kill */
    bool has_pids;
    uint64_t pids_current, pids_limit;
    bool has_cpu;
    uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns; /* v1 cpuacct.usage*, v2 cpu.stat */
};
int rt_cgroup_stats(struct rt_cgroup *cg, struct rt_cgroup_stats *ret, struct cm_error **err);

/* Resolves linux.cgroupsPath the way rt_cgroup_create does, without touching
 * the host: NULL or "" -> "/skiff/<id>", "rel/x" -> "/skiff/rel/x", "/abs" ->
 * "/abs" (normalised), systemd form "slice:prefix:name" ->
 * "/<slice expanded>/prefix-name.scope" (e.g. "machine.slice:libpod:ab" ->
 * "/machine.slice/libpod-ab.scope"; "a-b.slice" nests as
 * "/a.slice/a-b.slice"). Rejects "." and ".." components, control
 * characters, components over 255 bytes, paths over 3071 bytes and the root
 * cgroup itself (validation errors, code 0). *ret is owned by the caller. */
int rt_cgroup_resolve_path(const char *path, const char *id, char **ret, struct cm_error **err);
/* The layout the handle works on. */
enum rt_cgroup_mode rt_cgroup_get_mode(const struct rt_cgroup *cg);
/* The container's directory in the cgroup2 hierarchy (pure v2, or the hybrid
 * host's unified mount), for clone3(CLONE_INTO_CGROUP); -1 when there is
 * none. Borrowed, O_CLOEXEC; valid until rt_cgroup_destroy/free. On hybrid
 * hosts the v1 hierarchies still need rt_cgroup_enter. */
int rt_cgroup_v2_fd(const struct rt_cgroup *cg);

/* What a `cgroup` mount in the container needs, one entry per hierarchy, in
 * the order of the host's mounts. The mount code creates a tmpfs at the
 * destination (v1 and hybrid) and, for each entry, either
 *  - without a cgroup namespace: bind-mounts host_path onto DEST/name (runc's
 *    way: the container sees only its own cgroup), or
 *  - with a cgroup namespace: mounts fstype at DEST/name with data
 *    (mount(2)'s data argument: "memory", "none,name=systemd"; NULL for
 *    cgroup2),
 * then creates each symlinks[i] -> name in DEST (comounted controllers:
 * "cpu" -> "cpu,cpuacct"). On pure v2 there is one entry with name "": mount
 * cgroup2 (or bind host_path) at DEST itself, with no tmpfs. The mount's
 * read-only flag applies to every entry. */
struct rt_cgroup_mount {
    char *name;   /* below DEST: "memory", "cpu,cpuacct", "systemd", "unified"; "" = DEST */
    char *fstype; /* "cgroup" or "cgroup2" */
    char *data;   /* mount data for a fresh mount, NULL for cgroup2 */
    char
        *host_path; /* the container's cgroup in that hierarchy: "/sys/fs/cgroup/memory/skiff/ID" */
    char **symlinks; /* NULL-terminated names to link to `name`, or NULL */
};
/* Fills *ret (free with rt_cgroup_mounts_free). Never fails today; err kept for
 * the interface. */
int rt_cgroup_mounts(const struct rt_cgroup *cg, struct rt_cgroup_mount **ret, size_t *ret_n,
                     struct cm_error **err);
void rt_cgroup_mounts_free(struct rt_cgroup_mount *m, size_t n);

void rt_cgroup_free(struct rt_cgroup *cg);
static inline void
rt_cgroup_freep(struct rt_cgroup **cg)
{
    rt_cgroup_free(*cg);
}
#define cleanup_rt_cgroup __attribute__((cleanup(rt_cgroup_freep)))
