/* SPDX-License-Identifier: Apache-2.0 */
/* Deployment arithmetic as ECS defines it: the rolling-update bounds (maximumPercent rounds
 * down, minimumHealthyPercent rounds up) and the circuit breaker's failure threshold. Kept
 * apart from reconcile.c so that the rounding rules are tested on their own. */
#include "sched/reconcile.h"

uint32_t
sched_deploy_max_tasks(uint32_t desired, uint32_t maximum_percent)
{
    return (uint32_t)(((uint64_t)desired * maximum_percent) / 100);
}

uint32_t
sched_deploy_min_healthy(uint32_t desired, uint32_t minimum_healthy_percent)
{
    return (uint32_t)(((uint64_t)desired * minimum_healthy_percent + 99) / 100);
}

uint32_t
sched_deploy_failure_threshold(uint32_t desired)
{
    uint32_t half = (uint32_t)(((uint64_t)desired + 1) / 2); /* ceil(0.5 * desired) */

    if (half < 3)
        return 3;
    if (half > 200)
        return 200;
    return half;
}

bool
sched_task_counts_as_failure(const struct sched_task *t, bool stopped_by_scheduler)
{
    if (stopped_by_scheduler)
        return false;
    /* Stage 1: stopped before it ever ran (image pull, container create, essential exit
     * during start). */
    if (t->last_status == SCHED_TASK_STOPPED && !t->ever_running)
        return true;
    /* Stage 2: ran, then failed its health checks. */
    if (t->last_status == SCHED_TASK_RUNNING && t->health == SCHED_HEALTH_UNHEALTHY)
        return true;
    return false;
}
