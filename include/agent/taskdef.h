/* SPDX-License-Identifier: Apache-2.0 */
/* The parts of an ECS task definition the agent acts on, parsed from the ECS
 * JSON that skiffd hands out (containerDefinitions unchanged). Unknown keys
 * are ignored (ECS has many the agent does not use); wrong types and values
 * out of range are errors naming the field ("containerDefinitions[1].cpu"). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/cni.h"
#include "cm/error.h"

#define AGENT_MAX_CONTAINERS 10 /* ECS: 10 containers per task definition */
#define AGENT_MAX_ENV 1024
#define AGENT_MAX_NAME 255

struct agent_ulimit {
    int resource; /* RLIMIT_* */
    uint64_t soft, hard;
};

enum agent_dep_condition {
    AGENT_DEP_START = 0,
    AGENT_DEP_COMPLETE,
    AGENT_DEP_SUCCESS,
    AGENT_DEP_HEALTHY,
};

struct agent_depends_on {
    char *container;
    enum agent_dep_condition condition;
};

struct agent_health_check {
    bool present;
    char **command;        /* argv to exec: CMD-SHELL becomes ["/bin/sh","-c",cmd] */
    unsigned interval;     /* seconds, default 30 (5..300) */
    unsigned timeout;      /* seconds, default 5 (2..60) */
    unsigned retries;      /* default 3 (1..10) */
    unsigned start_period; /* seconds, default 0 (0..300) */
};

struct agent_container_def {
    char *name;
    char *image;
    uint32_t cpu;                /* units, 0 = unset */
    uint64_t memory;             /* MiB hard limit, 0 = unset */
    uint64_t memory_reservation; /* MiB soft limit, 0 = unset */
    bool essential;              /* default true */
    char **command;              /* NULL = the image's */
    char **entry_point;          /* NULL = the image's */
    char **environment;          /* "K=V", NULL-terminated (may be empty) */
    char *working_directory;
    char *user;
    struct agent_ulimit *ulimits;
    size_t n_ulimits;
    bool readonly_root_filesystem;
    char **cap_add; /* "NET_ADMIN" (ECS spelling, no CAP_ prefix) or "ALL" */
    char **cap_drop;
    bool init_process_enabled;
    uint32_t stop_timeout; /* seconds, 0 = unset (default 30) */
    bool privileged;
    struct agent_port_mapping *port_mappings;
    size_t n_port_mappings;
    struct agent_health_check health;
    struct agent_depends_on *depends_on;
    size_t n_depends_on;
};

struct agent_task_def {
    char *family;
    uint32_t revision;
    enum agent_net_mode network_mode; /* default bridge (ECS on EC2) */
    uint32_t cpu;                     /* task-level units, 0 = unset */
    uint64_t memory;                  /* task-level MiB, 0 = unset */
    struct agent_container_def *containers;
    size_t n_containers;
};

/* Parses a task definition object (ECS DescribeTaskDefinition's taskDefinition). */
int agent_task_def_from_json(json_t *j, struct agent_task_def **ret, struct cm_error **err);
void agent_task_def_free(struct agent_task_def *t);
/* ECS ulimit names ("nofile", "nproc", ...) -> RLIMIT_*; -1 when unknown. */
int agent_ulimit_from_name(const char *name);
const char *agent_dep_condition_name(enum agent_dep_condition c);
/* The container named name, or NULL. */
const struct agent_container_def *agent_task_def_container(const struct agent_task_def *t,
                                                           const char *name);

static inline void
agent_task_def_freep(struct agent_task_def **t)
{
    agent_task_def_free(*t);
}
#define cleanup_agent_task_def __attribute__((cleanup(agent_task_def_freep)))
