/* SPDX-License-Identifier: Apache-2.0 */
/* Process security set-up done in the container's init just before exec:
 * seccomp (libseccomp), capabilities (libcap), rlimits, no_new_privs,
 * oomScoreAdj, user and groups, umask. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/capability.h>
#include <sys/types.h>

#include "cm/error.h"
#include "rt/config.h"

/* Checks a seccomp section without loading it: unknown syscall names (on every
 * listed architecture), actions, architectures and flags are errors naming the
 * entry. Called at create time so a bad config fails before any process exists. */
int rt_seccomp_validate(const struct rt_seccomp *s, struct cm_error **err);

/* A compiled filter ready to load (built before pivot_root, loaded last). */
struct rt_seccomp_filter;
int rt_seccomp_compile(const struct rt_seccomp *s, struct rt_seccomp_filter **ret,
                       struct cm_error **err);
/* Loads the filter into the calling thread (no_new_privs or CAP_SYS_ADMIN needed).
 * For SCMP_ACT_NOTIFY, *ret_notify_fd receives the listener fd (else -1).
 * The filter was turned into a BPF program by rt_seccomp_compile, so loading is
 * one seccomp(2) call: no allocation, no file, no libseccomp. We never set
 * no_new_privs implicitly (libseccomp's SCMP_FLTATR_CTL_NNP behaviour): the
 * caller sets it through rt_no_new_privs_apply when the config asks, otherwise
 * loading needs CAP_SYS_ADMIN. Order (as runc): without noNewPrivileges load
 * BEFORE rt_user_apply/rt_caps_apply (capabilities may drop CAP_SYS_ADMIN);
 * with it, load last, just before execve, so the filter need not allow the
 * set-up syscalls. The filter must allow execve either way. */
int rt_seccomp_load(struct rt_seccomp_filter *f, int *ret_notify_fd, struct cm_error **err);
void rt_seccomp_filter_free(struct rt_seccomp_filter *f);

/* Hands the listener fd of a SCMP_ACT_NOTIFY filter to the seccomp agent at
 * linux.seccomp.listenerPath (runtime-spec "Seccomp Notify"): connects to the
 * unix stream socket and sends state_json (the containerProcessState built by
 * the caller, with "fds": ["seccompFd"]) with notify_fd as SCM_RIGHTS, in one
 * message. Does not close notify_fd. */
int rt_seccomp_send_listener(const char *listener_path, int notify_fd, const char *state_json,
                             struct cm_error **err);

/* Sets rlimits (before dropping privileges). */
int rt_rlimits_apply(const struct rt_rlimit *r, size_t n, struct cm_error **err);
/* Writes /proc/self/oom_score_adj when set. */
int rt_oom_score_adj_apply(const struct rt_process *p, struct cm_error **err);
/* process.ioPriority through ioprio_set(2), when set. */
int rt_ioprio_apply(const struct rt_process *p, struct cm_error **err);
/* process.scheduler through sched_setattr(2), when set (before privileges
 * drop: real-time policies need CAP_SYS_NICE). */
int rt_sched_apply(const struct rt_process *p, struct cm_error **err);
/* linux.timeOffsets into /proc/self/timens_offsets, right after
 * unshare(CLONE_NEWTIME) and before any process enters the namespace (the
 * caller itself does at its execve). */
int rt_time_offsets_apply(const struct rt_linux *l, struct cm_error **err);
/* setgroups, setresgid, setresuid keeping capabilities across the uid change,
 * then umask. */
int rt_user_apply(const struct rt_user *u, struct cm_error **err);
/* Drops the bounding set, then sets effective/permitted/inheritable and ambient.
 * Call after rt_user_apply. */
int rt_caps_apply(const struct rt_capabilities *c, struct cm_error **err);
/* Sets PR_SET_NO_NEW_PRIVS when asked. */
int rt_no_new_privs_apply(const struct rt_process *p, struct cm_error **err);

/* ---- Additions: name tables, pure helpers (used by tests, `features`, the agent) ---- */

/* libseccomp action value for an action; errno_ret (ERRNO, TRACE) defaults to
 * EPERM. errnoRet on any other action, or out of range, is a validation error. */
int rt_seccomp_action_value(enum rt_seccomp_action a, bool has_errno_ret, uint32_t errno_ret,
                            uint32_t *ret, struct cm_error **err);
/* "SCMP_ARCH_X86_64" -> SCMP_ARCH_X86_64 token; -1 when unknown. */
int rt_seccomp_arch_from_name(const char *name, uint32_t *ret);
/* "SECCOMP_FILTER_FLAG_LOG" -> SECCOMP_FILTER_FLAG_LOG; -1 when unknown. */
int rt_seccomp_flag_from_name(const char *name, unsigned *ret);
/* NULL-terminated static tables of the names we accept (for `features`). */
extern const char *const rt_seccomp_arch_names[];
extern const char *const rt_seccomp_flag_names[];
extern const char *const rt_seccomp_op_names[];

/* The same result through libseccomp's own compiler (seccomp_export_bpf):
 * ~10 ms for a docker-like profile on 3 architectures, against ~0.1 ms for
 * rt_seccomp_compile's generator. Kept as the reference the tests compare
 * rt_seccomp_compile against, and as a fallback. */
int rt_seccomp_compile_libseccomp(const struct rt_seccomp *s, struct rt_seccomp_filter **ret,
                                  struct cm_error **err);

/* The compiled BPF program (borrowed; struct sock_filter[*ret_n]) and the
 * seccomp(2) flags it will be loaded with. */
const void *rt_seccomp_filter_program(const struct rt_seccomp_filter *f, size_t *ret_n);
unsigned rt_seccomp_filter_flags(const struct rt_seccomp_filter *f);
static inline void
rt_seccomp_filter_freep(struct rt_seccomp_filter **f)
{
    rt_seccomp_filter_free(*f);
}
#define cleanup_rt_seccomp_filter __attribute__((cleanup(rt_seccomp_filter_freep)))

/* A docker-like default profile (allow-list, default ERRNO(EPERM), the host's
 * architectures) for a process with the given capability mask (bit n = CAP n):
 * the capability-gated groups (mount with CAP_SYS_ADMIN, ...) are added when
 * the capability is in the mask. Every field is heap-allocated like the
 * parser's output, so rt_config_free may free it as part of a config;
 * otherwise free it with rt_seccomp_profile_free. Names the linked libseccomp
 * does not know are left out, so the profile always validates. */
struct rt_seccomp *rt_seccomp_default_profile_for_caps(uint64_t caps);
/* The same for Docker's default capability set. */
struct rt_seccomp *rt_seccomp_default_profile(void);
/* Frees a struct rt_seccomp built by hand or by the functions above; NULL ok. */
void rt_seccomp_profile_free(struct rt_seccomp *s);

/* Capabilities: the process's current state and the masking rules. */
struct rt_caps_state {
    int last_cap;         /* the running kernel's last capability */
    uint64_t bounding;    /* our bounding set */
    uint64_t permitted;   /* our permitted set */
    uint64_t inheritable; /* our inheritable set */
};
/* The running kernel's last capability (probed with PR_CAPBSET_READ, the
 * value of /proc/sys/kernel/cap_last_cap); cached. */
int rt_caps_kernel_last_cap(void);
int rt_caps_state_read(struct rt_caps_state *ret, struct cm_error **err);
/* Pure: the sets that can really be applied from state `st`. Capabilities the
 * kernel does not know or we do not hold are left out; *ret_skipped (may be
 * NULL) receives the union of what was left out. See caps.c for the rules. */
void rt_caps_plan(const struct rt_capabilities *req, const struct rt_caps_state *st,
                  struct rt_capabilities *ret, uint64_t *ret_skipped);
/* Mask <-> libcap. rt_caps_to_libcap returns a cap_t to cap_free. */
cap_t rt_caps_to_libcap(uint64_t effective, uint64_t permitted, uint64_t inheritable);
uint64_t rt_caps_from_libcap(cap_t c, cap_flag_t flag);
