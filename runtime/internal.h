/* SPDX-License-Identifier: Apache-2.0 */
/* Private interfaces between the runtime's files: the init process set-up
 * (linux.c, mount.c, console.c) and the parent side (container.c, exec.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cm/error.h"
#include "rt/cgroup.h"
#include "rt/config.h"
#include "rt/container.h"
#include "rt/state.h"

#define RT_EXEC_FIFO "exec.fifo"
#define RT_CONFIG_COPY "config.json"
#define RT_CGROUP_ROOT "/sys/fs/cgroup"

/* Messages on the parent <-> init socketpair (SOCK_SEQPACKET). */
enum rt_sync_type {
    RT_SYNC_GO = 1,     /* parent -> init: id maps written; payload: host pid */
    RT_SYNC_CGROUP,     /* parent -> init: in the cgroup, state saved */
    RT_SYNC_MOUNTED,    /* init -> parent: mounts ready, run createRuntime hooks */
    RT_SYNC_HOOKS_DONE, /* parent -> init */
    RT_SYNC_READY,      /* init -> parent: waiting on the exec fifo (or about to exec) */
    RT_SYNC_ERROR,      /* init -> parent: payload: message */
};

struct rt_sync_msg {
    int type;
    int value;
    char text[1024];
};

int rt_sync_send(int fd, int type, int value, const char *text);
/* Returns the type, 0 on EOF, -1 on error. */
int rt_sync_recv(int fd, struct rt_sync_msg *m);

/* Everything the init process needs; filled by the parent before clone. */
struct rt_init_ctx {
    const struct rt_config *cfg;
    const struct rt_create_opts *opts;
    const char *rootfs; /* absolute, resolved */
    int sync_fd;
    int fifo_fd;    /* -1 for run */
    int console_fd; /* connected console socket or -1 */
    int join_fds[RT_NS_COUNT];
    unsigned long new_ns_flags; /* CLONE_NEW* created by clone() */
    unsigned long
        late_ns_flags;      /* unshared by init after joins (cgroup, and all with joined user ns) */
    bool has_hooks_mid;     /* prestart/createRuntime/createContainer hooks present */
    struct rt_state *state; /* for hook state JSON (pid filled from GO, or CGROUP) */
    bool wait_go;           /* the parent sends RT_SYNC_GO (uid/gid maps to write first) */
    int self_exe_fd;        /* O_PATH to our own binary (CVE-2019-5736 check) */
    struct rt_cgroup *cg;   /* the container's cgroup (cgroup mounts) */
    bool in_cgroup;         /* RT_SYNC_CGROUP received */
    bool join_planned; /* the cgroup is made after the clone: join it by path on RT_SYNC_CGROUP */
    uint64_t sig_ignored; /* the parent's ignored signals (bit sig-1), reset before execve */
};

/* signals.c: the set of signals this process ignores (bit sig-1); all ones
 * when /proc cannot tell. Read in the parent, where the host's /proc is. */
uint64_t rt_signals_ignored(void);
/* Resets the ignored signals to SIG_DFL and unblocks every signal. Called last
 * before execve (and the seccomp filter): the runtime relies on neither from
 * there on. */
void rt_signals_reset(uint64_t ignored);

/* linux.c: waits (once) for RT_SYNC_CGROUP: the cgroup exists and the init
 * is in it (joining it first when ctx->join_planned). Errors are reported to
 * the parent; false means the init must exit. */
bool rt_init_wait_cgroup(struct rt_init_ctx *ctx);

/* linux.c: the body of the init process; never returns. */
_Noreturn void rt_init_main(struct rt_init_ctx *ctx);
unsigned long rt_ns_clone_flag(enum rt_ns_type t);
int rt_write_id_maps(pid_t pid, const struct rt_config *cfg, struct cm_error **err);
/* Resolves args[0] with PATH from env, opens it O_PATH in the current root and
 * refuses our own binary (also as a script interpreter). */
int rt_resolve_exec(const char *file, char *const *env, int self_exe_fd, int *ret_fd,
                    bool *ret_script, char **ret_path, struct cm_error **err);
/* Marks every fd >= 3 + preserve close-on-exec and clears it on the preserved ones. */
int rt_prepare_fds(int preserve, struct cm_error **err);

/* mount.c */
int rt_rootfs_prepare(struct rt_init_ctx *ctx, struct cm_error **err);
int rt_rootfs_pivot(const struct rt_init_ctx *ctx, struct cm_error **err);
int rt_rootfs_finish(const struct rt_init_ctx *ctx, struct cm_error **err);
/* Opens path below rootfd (RESOLVE_IN_ROOT), creating missing directories and,
 * when file, the last component as an empty file. Returns an O_PATH fd. */
int rt_open_in_root(int rootfd, const char *path, bool create, bool file, struct cm_error **err);
int rt_sysctl_apply(const struct rt_config *cfg, struct cm_error **err);
/* Sysctls allowed only with the namespace that isolates them (pure). */
int rt_sysctl_validate(const struct rt_config *cfg, struct cm_error **err);

/* console.c */
/* Connects to the console socket path; returns the fd. */
int rt_console_connect(const char *path, struct cm_error **err);
/* In the new process: opens a pty, sends the master over sock, makes the
 * slave the controlling terminal and stdio. */
int rt_console_setup(int sock, const struct rt_process *p, bool mount_console,
                     struct cm_error **err);

/* hooks.c */
int rt_hooks_run(const struct rt_hook *hooks, size_t n, const char *state_json,
                 struct cm_error **err);

/* CLONE_NEW* mask helpers */
bool rt_config_has_new_ns(const struct rt_config *cfg, enum rt_ns_type t);
