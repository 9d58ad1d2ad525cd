/* SPDX-License-Identifier: Apache-2.0 */
/* Container definition + image config -> OCI config.json (the bundle's
 * config), with docker-like defaults: the default capability set, the
 * default seccomp profile for those capabilities, no-new-privileges, masked
 * and read-only /proc and /sys paths; privileged only when asked. Resources:
 * container cpu units -> cpu shares, memory -> hard limit, memoryReservation
 * -> soft limit, a pids limit; the task's CPU quota lives on the task cgroup
 * (agent_task_cgroup_limits). A pure function over its inputs (besides
 * reading the rootfs's /etc/passwd and /etc/group to resolve a user name). */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "agent/taskdef.h"
#include "cm/error.h"
#include "img/manifest.h"
#include "rt/config.h"

#define AGENT_DEFAULT_PIDS_LIMIT 4096
#define AGENT_DEFAULT_STOP_TIMEOUT 30
#define AGENT_CFS_PERIOD_US 100000

/* Annotations the agent reads back from a bundle. */
#define AGENT_ANN_STOP_SIGNAL "org.opencontainers.image.stopSignal"
#define AGENT_ANN_STOP_TIMEOUT "io.skiff.stopTimeout"
#define AGENT_ANN_TASK "io.skiff.task"
#define AGENT_ANN_CONTAINER "io.skiff.container"

struct agent_bundle_params {
    const char *task_id;
    const char *cgroup_parent; /* the task's cgroup, e.g. "/skiff/TASK" */
    const char *netns;         /* the task's netns file; NULL = host network */
    const char *hostname;      /* NULL = "skiff" (ignored in host mode) */
    const char *init_path;   /* host path of the init for initProcessEnabled; NULL = unsupported */
    const char *resolv_conf; /* host file bind-mounted read-only at /etc/resolv.conf; NULL = none */
    const char *hosts;       /* likewise /etc/hosts */
    int64_t pids_limit;      /* 0 = AGENT_DEFAULT_PIDS_LIMIT, -1 = unlimited */
};

/* Docker's default capabilities as a mask over CAP_* numbers. */
uint64_t agent_default_caps(void);
/* The capability set after add/drop ("ALL" allowed in either; names with or
 * without "CAP_"); unknown names are validation errors. */
int agent_caps_resolve(char *const *add, char *const *drop, bool privileged, uint64_t *ret,
                       struct cm_error **err);
/* ECS cpu units -> cpu.shares (2 when unset or below, as ECS does). */
uint64_t agent_cpu_shares(uint32_t cpu_units);
/* Task-level limits for the task cgroup: quota = cpu/1024 periods (0 = none). */
void agent_task_cgroup_limits(uint32_t task_cpu, uint64_t task_memory_mib, int64_t *ret_quota_us,
                              uint64_t *ret_period_us, int64_t *ret_memory_bytes);
/* An rt_seccomp as config.json's linux.seccomp object. New reference. */
json_t *agent_seccomp_to_json(const struct rt_seccomp *s);

/* Builds config.json for container def of a task. rootfs_fd as for
 * img_spec_from_config. *ret is a new reference. */
int agent_bundle_config(const struct img_config *img, int rootfs_fd,
                        const struct agent_container_def *def, const struct agent_bundle_params *p,
                        json_t **ret, struct cm_error **err);
