/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's decisions as pure functions (unit-tested): local reconcile of
 * the desired state, dependsOn gating, how a container's end is reported,
 * health-check bookkeeping and the task status derived from its containers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agent/shim.h"
#include "agent/taskdef.h"
#include "cm/error.h"

#define AGENT_OOM_REASON "OutOfMemoryError: Container killed due to memory usage"
#define AGENT_ESSENTIAL_EXITED "Essential container in task exited"

/* ---- reconcile ---- */

struct agent_desired_task {
    const char *arn;
    bool run; /* desiredStatus RUNNING (else STOPPED) */
};

struct agent_local_task {
    const char *arn;
    bool stopped;  /* every container has ended */
    bool stopping; /* a stop is under way */
};

enum agent_action_kind {
    AGENT_ACT_START = 0,
    AGENT_ACT_STOP,
    AGENT_ACT_REPORT_STOPPED, /* desired STOPPED, never started here: say so */
};

struct agent_action {
    enum agent_action_kind kind;
    size_t index; /* START, REPORT_STOPPED: into desired; STOP: into local */
    const char *reason;
};

/* Start what should run and is not known here; stop what runs and should
 * not (desired STOPPED, or no longer assigned here); report STOPPED what is
 * desired STOPPED but was never started here (skiffd keeps listing it until
 * it hears so). A task that has stopped is never started again: the
 * scheduler places a replacement. out must hold
 * n_desired + n_local actions; returns how many were written. */
size_t agent_reconcile(const struct agent_desired_task *desired, size_t n_desired,
                       const struct agent_local_task *local, size_t n_local,
                       struct agent_action *out);

/* ---- skiffd's answers (docs/agent-protocol.md), parsed as pure functions ---- */

/* The task list of a desired-state (poll) answer as agent_reconcile's input: one entry per
 * element, arn "" when it has none (never acted on), run when desiredStatus is "RUNNING".
 * The strings are borrowed from ans; *ret is malloc'd (n + 1 entries). -1 (with *ret NULL)
 * when there is no usable list: "tasks" missing, not an array, or over max entries. */
int agent_desired_parse(json_t *ans, size_t max, struct agent_desired_task **ret, size_t *ret_n);
/* A register answer: *ret_arn (borrowed) the containerInstanceArn (at most 2048 bytes),
 * *ret_poll_ms its pollTimeoutMs when in 1..599999, else 20000. */
int agent_register_answer(json_t *ans, const char **ret_arn, long *ret_poll_ms,
                          struct cm_error **err);
/* Whether a desired task's taskArn (at most 2048 bytes) and taskId (1-64 letters, digits,
 * '_' and '-': it names directories) are usable. */
bool agent_task_ident_ok(const char *arn, const char *id);
/* An id usable as a file name: 1-64 letters, digits, '_' and '-'. */
bool agent_valid_id(const char *s);

/* ---- containers ---- */

enum agent_cstate {
    AGENT_C_PENDING = 0, /* not started yet */
    AGENT_C_RUNNING,
    AGENT_C_STOPPED,
};

enum agent_health { AGENT_HEALTH_UNKNOWN = 0, AGENT_HEALTH_HEALTHY, AGENT_HEALTH_UNHEALTHY };

const char *agent_cstate_name(enum agent_cstate s); /* "PENDING", "RUNNING", "STOPPED" */
const char *agent_health_name(enum agent_health h); /* "UNKNOWN", "HEALTHY", "UNHEALTHY" */

/* What the gate needs to know about a container. */
struct agent_cview {
    const char *name;
    enum agent_cstate state;
    int exit_code; /* when STOPPED */
    enum agent_health health;
};

enum agent_gate { AGENT_GATE_WAIT = 0, AGENT_GATE_READY, AGENT_GATE_NEVER };

/* Whether def may start now given the other containers (views, by name):
 * START needs the dependency started, COMPLETE ended, SUCCESS ended with 0,
 * HEALTHY reported healthy. NEVER when a condition can no longer be met
 * (SUCCESS after a non-zero exit, HEALTHY after it stopped); *ret_blocker
 * (may be NULL) names the dependency. */
enum agent_gate agent_deps_gate(const struct agent_container_def *def,
                                const struct agent_cview *views, size_t n,
                                const char **ret_blocker);

/* The exit code and reason reported for a container's end: an OOM kill is
 * reported as ECS does (137, AGENT_OOM_REASON); a lost container (no exit
 * record, shim gone) has no code (*ret_has_code false). *ret_reason is static
 * or NULL. */
void agent_exit_report(const struct agent_exit_record *rec, bool lost, int *ret_code,
                       bool *ret_has_code, const char **ret_reason);

/* Health checks. */
struct agent_health_state {
    enum agent_health status;
    unsigned failures;   /* consecutive */
    int64_t started_ms;  /* when the container started */
    int64_t last_run_ms; /* when the last check started, 0 = never */
};

/* Whether a check is due at now_ms (interval elapsed since the last). */
bool agent_health_due(const struct agent_health_check *hc, const struct agent_health_state *st,
                      int64_t now_ms);
/* Records one check's outcome (passed, or failed/timed out). Failures inside
 * startPeriod do not count (ECS), but a pass ends the start period. */
void agent_health_record(const struct agent_health_check *hc, struct agent_health_state *st,
                         bool passed, int64_t now_ms);

/* ---- task ---- */

enum agent_tstate {
    AGENT_T_PENDING = 0,
    AGENT_T_RUNNING,
    AGENT_T_STOPPING,
    AGENT_T_STOPPED,
};

const char *agent_tstate_name(enum agent_tstate s);
/* The task's health: UNHEALTHY if an essential container is, HEALTHY when
 * every essential container with a check is, else UNKNOWN. */
enum agent_health agent_task_health(const struct agent_task_def *t,
                                    const struct agent_cview *views);
