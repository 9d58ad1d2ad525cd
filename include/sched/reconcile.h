/* SPDX-License-Identifier: Apache-2.0 */
/* The level-triggered service scheduler: a pure function from a service, its deployments, its
 * tasks and the health of their instances to tasks to start and tasks to stop, following ECS's
 * rolling-update rules (minimumHealthyPercent / maximumPercent), the deployment circuit
 * breaker with rollback, steady-state detection and launch back-off.
 *
 * The daemon calls sched_reconcile() on every change and on a timer, applies the result
 * (places the starts with sched_place(), sets desiredStatus STOPPED on the stops, updates the
 * deployments, emits the events) and persists it. Running it twice on the same input gives the
 * same answer, so lost or repeated passes do no harm. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched/placement.h"

enum sched_rollout {
    SCHED_ROLLOUT_IN_PROGRESS = 0,
    SCHED_ROLLOUT_COMPLETED,
    SCHED_ROLLOUT_FAILED,
};

enum sched_deployment_status {
    SCHED_DEPLOYMENT_PRIMARY = 0,
    SCHED_DEPLOYMENT_ACTIVE, /* an older deployment being scaled down */
};

struct sched_deployment {
    const char *id;              /* "ecs-svc/1234..." */
    const char *task_definition; /* ARN; identifies what its tasks run */
    enum sched_deployment_status status;
    enum sched_rollout rollout;
    /* Circuit breaker count (ECS failedTasks): tasks of this deployment that stopped before
     * reaching RUNNING, or failed health checks after. Kept by the daemon, see
     * sched_task_counts_as_failure(). */
    uint32_t failed_tasks;
    int64_t created_at; /* epoch ms */
};

struct sched_service {
    const char *name;
    uint32_t desired_count;
    uint32_t minimum_healthy_percent; /* default 100 */
    uint32_t maximum_percent;         /* default 200 */
    bool circuit_breaker;             /* deploymentCircuitBreaker.enable */
    bool rollback;                    /* deploymentCircuitBreaker.rollback */
    /* Launch back-off: consecutive tasks that stopped without ever reaching RUNNING, and when
     * the last one did (epoch ms). Reset by the daemon on UpdateService and when a task runs. */
    uint32_t start_failures;
    int64_t last_start_failure_at;
    /* deployments[0] must be the PRIMARY one; the rest ACTIVE, newest first. */
    const struct sched_deployment *deployments;
    size_t n_deployments;
};

enum sched_task_state {
    SCHED_TASK_PROVISIONING = 0, /* placed, the agent has not reported it yet (PENDING) */
    SCHED_TASK_PENDING,          /* agent is pulling / creating */
    SCHED_TASK_RUNNING,
    SCHED_TASK_STOPPED,
};

enum sched_health {
    SCHED_HEALTH_UNKNOWN = 0,
    SCHED_HEALTH_HEALTHY,
    SCHED_HEALTH_UNHEALTHY,
};

struct sched_task {
    const char *id;
    uint32_t instance;   /* index into the cluster, SCHED_NO_INSTANCE if not placed */
    uint32_t deployment; /* index into service->deployments, or UINT32_MAX if none matches */
    enum sched_task_state last_status;
    bool desired_stopped; /* desiredStatus STOPPED already: being stopped, not counted */
    enum sched_health health;
    bool has_health_check; /* with a container health check only HEALTHY counts as healthy */
    bool ever_running;     /* reached RUNNING at least once */
};

enum sched_stop_cause {
    SCHED_STOP_SCALE_IN = 0,  /* more tasks than desired */
    SCHED_STOP_DEPLOYMENT,    /* old deployment scaled down during a rolling update */
    SCHED_STOP_UNHEALTHY,     /* failed health checks: replaced */
    SCHED_STOP_INSTANCE_LOST, /* its instance is disconnected past grace or deregistered */
    SCHED_STOP_DRAINING,      /* its instance is DRAINING: replaced */
};

struct sched_stop {
    size_t task; /* index into the tasks array given to sched_reconcile */
    enum sched_stop_cause cause;
};

/* ECS's stoppedReason text for a cause ("Scaling activity initiated by (deployment ID)",
 * "Task failed container health checks", ...); owned by the caller. DEPLOYMENT_ID may be
 * NULL. stopCode is always ServiceSchedulerInitiated. */
char *sched_stop_reason(enum sched_stop_cause cause, const char *deployment_id);

struct sched_reconcile_result {
    /* Start this many new tasks of deployments[0] (the PRIMARY). */
    uint32_t start;
    /* Tasks to stop (set desiredStatus STOPPED, stopCode ServiceSchedulerInitiated). Owned. */
    struct sched_stop *stops;
    size_t n_stops;
    /* Starts held back by the launch back-off until this time (epoch ms; 0: none). The daemon
     * arms a timer for it. */
    int64_t retry_at;
    uint32_t deferred_starts;

    /* Deployment changes, indices into service->deployments. */
    bool primary_completed; /* set PRIMARY rolloutState COMPLETED */
    bool primary_failed;    /* circuit breaker tripped: rolloutState FAILED */
    /* With rollback: start a new PRIMARY deployment running this task definition (borrowed
     * from the deployment it belonged to); NULL otherwise. */
    const char *rollback_task_definition;
    /* Old deployments with no task left: drop them from deployments[]. Owned. */
    size_t *remove_deployments;
    size_t n_remove_deployments;

    /* Counts ECS shows on the service/deployments, per deployment index (owned arrays of
     * n_deployments): RUNNING tasks and PENDING (placed, not yet running) tasks. */
    uint32_t *running;
    uint32_t *pending;

    /* Events to emit (the daemon prefixes "service NAME " and suppresses repeats). */
    bool steady;    /* "has reached a steady state." */
    bool stuck;     /* "was unable to stop or start tasks during a deployment because of
                       the service deployment configuration. Update the
                       minimumHealthyPercent or maximumPercent value and try again." */
    bool throttled; /* "is unable to consistently start tasks successfully." */
};

void sched_reconcile_result_done(struct sched_reconcile_result *res);

/* The pure reconcile pass. CLUSTER supplies instance status (ACTIVE/DRAINING/INACTIVE) and
 * agent connectivity for the tasks' instance indices; NOW is epoch ms (for the back-off).
 * Returns -1 (EINVAL) only for malformed input (no deployments, bad indices). RET is cleared
 * first, so sched_reconcile_result_done() is always safe. */
int sched_reconcile(const struct sched_service *svc, const struct sched_task *tasks, size_t n_tasks,
                    const struct sched_cluster *cluster, int64_t now,
                    struct sched_reconcile_result *ret, struct cm_error **err);

/* ---- deployment arithmetic (deploy.c) ---- */

/* floor(desired * maximumPercent / 100): most tasks RUNNING or PENDING during a rollout. */
uint32_t sched_deploy_max_tasks(uint32_t desired, uint32_t maximum_percent);
/* ceil(desired * minimumHealthyPercent / 100): fewest healthy RUNNING tasks. */
uint32_t sched_deploy_min_healthy(uint32_t desired, uint32_t minimum_healthy_percent);
/* Circuit breaker threshold: ceil(0.5 * desired) clamped to [3, 200]. */
uint32_t sched_deploy_failure_threshold(uint32_t desired);
/* Does a task that just stopped (or turned UNHEALTHY) count toward its deployment's
 * failedTasks? Stage 1: stopped without reaching RUNNING; stage 2: RUNNING and UNHEALTHY. Only
 * tasks the scheduler did not stop itself count. */
bool sched_task_counts_as_failure(const struct sched_task *t, bool stopped_by_scheduler);

/* ---- launch back-off (backoff.c) ---- */

/* Delay before the next launch attempt after FAILURES consecutive failed starts: none for the
 * first, then 10 s doubling up to ECS's 15 minutes, with +-10% jitter from SEED. In ms. */
int64_t sched_backoff_delay(uint32_t failures, uint64_t seed);
/* Earliest time (epoch ms) the next start may be attempted. */
int64_t sched_backoff_next_attempt(uint32_t failures, int64_t last_failure_at, uint64_t seed);
