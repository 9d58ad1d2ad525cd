/* SPDX-License-Identifier: Apache-2.0 */
/* Process security set-up done in the container's init just before exec:
 * seccomp (libseccomp), capabilities (libcap), rlimits, no_new_privs,
 * oomScoreAdj, user and groups, umask. */
#pragma once

#include <stdbool.h>
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
 * For SCMP_ACT_NOTIFY, *ret_notify_fd receives the listener fd (else -1). */
int rt_seccomp_load(struct rt_seccomp_filter *f, int *ret_notify_fd, struct cm_error **err);
void rt_seccomp_filter_free(struct rt_seccomp_filter *f);

/* Sets rlimits (before dropping privileges). */
int rt_rlimits_apply(const struct rt_rlimit *r, size_t n, struct cm_error **err);
/* Writes /proc/self/oom_score_adj when set. */
int rt_oom_score_adj_apply(const struct rt_process *p, struct cm_error **err);
/* setgroups, setresgid, setresuid keeping capabilities across the uid change,
 * then umask. */
int rt_user_apply(const struct rt_user *u, struct cm_error **err);
/* Drops the bounding set, then sets effective/permitted/inheritable and ambient.
 * Call after rt_user_apply. */
int rt_caps_apply(const struct rt_capabilities *c, struct cm_error **err);
/* Sets PR_SET_NO_NEW_PRIVS when asked. */
int rt_no_new_privs_apply(const struct rt_process *p, struct cm_error **err);
