/* SPDX-License-Identifier: Apache-2.0 */
/* The container lifecycle (runtime-spec "Lifecycle"): create leaves the init
 * process blocked on the exec fifo, start releases it, run does both and waits.
 * Every operation takes the state root (--root) and a validated id. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "cm/error.h"
#include "rt/config.h"
#include "rt/state.h"

struct rt_create_opts {
    const char *root; /* state root, e.g. RT_DEFAULT_ROOT */
    const char *id;
    const char *bundle; /* NULL = current directory */
    const char *pid_file;
    const char *console_socket;
    bool no_pivot;
    int preserve_fds;
    bool systemd_cgroup;
};

/* create: on failure nothing is left behind (process, cgroup, state directory). */
int rt_container_create(const struct rt_create_opts *o, struct cm_error **err);
/* start: releases a created container's init and runs the poststart hooks. */
int rt_container_start(const char *root, const char *id, struct cm_error **err);
/* run: create + start; unless detach, waits and sets *ret_status to the
 * container's exit status (128+signal when killed) and deletes it. */
int rt_container_run(const struct rt_create_opts *o, bool detach, int *ret_status,
                     struct cm_error **err);
/* state: the spec's state JSON (owned string, runc's indentation). */
int rt_container_state(const char *root, const char *id, char **ret_json, struct cm_error **err);
/* kill: sends sig to the init (all = every process of its cgroup). */
int rt_container_kill(const char *root, const char *id, int sig, bool all, struct cm_error **err);
/* delete: only a stopped container unless force (which kills it first). */
int rt_container_delete(const char *root, const char *id, bool force, struct cm_error **err);
/* pause/resume through the freezer. */
int rt_container_pause(const char *root, const char *id, bool pause, struct cm_error **err);
/* The pids of the container's cgroup. */
int rt_container_pids(const char *root, const char *id, pid_t **ret, size_t *ret_n,
                      struct cm_error **err);
/* update: applies new resources to a running container's cgroup. */
int rt_container_update(const char *root, const char *id, const struct rt_resources *res,
                        struct cm_error **err);

struct rt_exec_opts {
    const char *root;
    const char *id;
    const struct rt_process *process; /* complete process (defaults already merged) */
    const char *console_socket;
    const char *pid_file;
    bool detach;
    int preserve_fds;
};
/* exec: runs a new process in a running container's namespaces and cgroup.
 * Unless detach, waits and sets *ret_status like run. */
int rt_container_exec(const struct rt_exec_opts *o, int *ret_status, struct cm_error **err);
/* Loads the config stored at create time (exec uses its process as defaults). */
int rt_container_config(const char *root, const char *id, struct rt_config **ret,
                        struct cm_error **err);

/* Signal names as kill accepts them ("KILL", "SIGKILL", "9"); -1 when unknown. */
int rt_signal_from_name(const char *name);
