/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-shim: one small daemon per container, the parent (subreaper) of the
 * container's init. It creates and starts the container, writes its stdout and
 * stderr to a JSON-lines log, waits for it and records the exit status
 * atomically in the container's shim directory, so that the agent can die and
 * come back at any time without losing a container or an exit code.
 *
 * The shim directory (one per container) holds:
 *   shim.json      who runs it: shim pid/start time, container init pid/start time
 *   exit.json      the exit record, written once the container has exited
 *   container.log  the logs (+ .1 .. .N rotated)
 *   ctl            a FIFO: the agent writes "kill SIGNO\n" to signal the init
 *   shim.log       the shim's own diagnostics, runtime.log the OCI runtime's */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cm/error.h"

#define AGENT_SHIM_LOG_NAME "container.log"
/* --runtime value (or none) for the runtime library inside the shim. */
#define AGENT_SHIM_BUILTIN "builtin"

struct agent_shim_opts {
    const char *id;           /* container id (runtime id, validated) */
    const char *bundle;       /* OCI bundle directory */
    const char *dir;          /* the shim directory (exists) */
    const char *runtime;      /* OCI runtime binary (runc command line); NULL or
                                 AGENT_SHIM_BUILTIN: the runtime library, in-process */
    const char *runtime_root; /* its --root, NULL = its default */
    uint64_t log_max_size;    /* 0 = AGENT_LOG_DEFAULT_MAX_SIZE */
    unsigned log_max_files;
    /* Set by the shim for itself (--supervise PID,OUT,ERR,CTL [--mem-cgroup
     * DIR]): once the container runs, the shim re-executes itself to
     * supervise it with a fresh address space, without the pages creating it
     * touched (the runtime library's): a shim's resident set stays small. */
    pid_t sup_pid;
    int sup_out, sup_err, sup_ctl;
    const char *mem_cgroup;
};

/* How the container ended. */
struct agent_exit_record {
    int exit_code;   /* 0-255, 128+signal when killed by a signal (docker's rule) */
    int signal;      /* the signal that killed it, 0 when it exited */
    bool oom_killed; /* its memory cgroup saw an OOM kill */
    struct timespec finished;
};

/* Who runs a container (shim.json). Start times (field 22 of /proc/PID/stat)
 * tell a live process from a recycled pid. */
struct agent_shim_record {
    pid_t shim_pid;
    uint64_t shim_start;
    pid_t pid; /* the container's init */
    uint64_t pid_start;
};

enum agent_shim_state {
    AGENT_SHIM_RUNNING = 0, /* the shim is alive and the container has not exited */
    AGENT_SHIM_EXITED,      /* exit.json is there */
    AGENT_SHIM_LOST,        /* no exit record and no live shim (shim killed, or never started) */
};

char *agent_exit_record_to_json(const struct agent_exit_record *r);
int agent_exit_record_from_json(const char *buf, size_t len, struct agent_exit_record *ret,
                                struct cm_error **err);
/* DIR/exit.json, written through a temp file and rename. */
int agent_exit_record_save(const char *dir, const struct agent_exit_record *r,
                           struct cm_error **err);
/* ENOENT when the container has not exited (no record). */
int agent_exit_record_load(const char *dir, struct agent_exit_record *ret, struct cm_error **err);

char *agent_shim_record_to_json(const struct agent_shim_record *r);
int agent_shim_record_from_json(const char *buf, size_t len, struct agent_shim_record *ret,
                                struct cm_error **err);
int agent_shim_record_save(const char *dir, const struct agent_shim_record *r,
                           struct cm_error **err);
int agent_shim_record_load(const char *dir, struct agent_shim_record *ret, struct cm_error **err);

/* What became of the container whose shim directory is dir (for re-adoption):
 * ret_exit is filled when EXITED, ret_rec (may be NULL) when shim.json exists. */
int agent_shim_inspect(const char *dir, enum agent_shim_state *ret_state,
                       struct agent_exit_record *ret_exit, struct agent_shim_record *ret_rec,
                       struct cm_error **err);

/* Exit status as waitpid() returns it -> code/signal (128+signal when killed). */
void agent_exit_from_wait_status(int status, struct agent_exit_record *ret);

/* Reads the OOM kill count of the memory cgroup the process pid is in now
 * (cgroup v1 memory.oom_control or v2 memory.events "oom_kill"); resolves the
 * cgroup directory into ret_dir (owned) so it can be read again after the
 * process has gone. */
int agent_memory_cgroup_dir(pid_t pid, char **ret_dir, struct cm_error **err);
int agent_oom_kill_count(const char *cgroup_dir, uint64_t *ret, struct cm_error **err);
/* Parses "oom_kill N" out of oom_control/memory.events text; 0 when absent. */
uint64_t agent_parse_oom_kill(const char *text);

/* ---- agent side ---- */

/* Runs shim_path with o's options and waits until the container runs (0, the
 * shim's pid in *ret_shim_pid) or creating it failed (-1, the runtime's error).
 * The shim is daemonised: it is not a child of the caller. */
int agent_shim_spawn(const char *shim_path, const struct agent_shim_opts *o, pid_t *ret_shim_pid,
                     struct cm_error **err);
/* The same in two steps for an event loop: agent_shim_launch starts the
 * shim (its launcher is *ret_pid, a child of the caller) and hands out the
 * read end of its report pipe; once that pipe is at EOF, agent_shim_launched
 * takes what was read (NUL-terminated, at most AGENT_SHIM_REPORT_MAX bytes),
 * reaps the launcher and tells the outcome as agent_shim_spawn does. */
#define AGENT_SHIM_REPORT_MAX 4096
int agent_shim_launch(const char *shim_path, const struct agent_shim_opts *o, pid_t *ret_pid,
                      int *ret_ready_fd, struct cm_error **err);
int agent_shim_launched(const char *shim_path, const struct agent_shim_opts *o, pid_t launcher,
                        const char *report, pid_t *ret_shim_pid, struct cm_error **err);
/* Asks the shim to send sig to the container's init (through DIR/ctl). */
int agent_shim_signal(const char *dir, int sig, struct cm_error **err);

/* ---- shim side ---- */

/* The shim's body after daemonising: creates and starts the container, reports
 * "ok PID\n" or "error MESSAGE\n" on ready_fd (then closes it), copies the
 * output to the log until the container has exited, records the exit and
 * deletes the container from the runtime. Returns 0 once the exit is recorded. */
int agent_shim_run(const struct agent_shim_opts *o, int ready_fd, struct cm_error **err);
/* Parses skiff-shim's command line into o (strings borrowed from argv). */
int agent_shim_parse_args(int argc, char **argv, struct agent_shim_opts *o, struct cm_error **err);
