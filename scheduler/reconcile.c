/* SPDX-License-Identifier: Apache-2.0 */
/* The level-triggered service reconcile pass: desired state (count, deployments, their bounds)
 * against actual tasks gives tasks to start and to stop. Pure and idempotent: applying a result
 * and running the pass again yields no further action until something changes. Tasks whose
 * desiredStatus is already STOPPED are not counted anywhere, so a pass never repeats the
 * previous one's stops. */
#include "sched/reconcile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cm/error.h"
#include "cm/xalloc.h"

/* Kinds of stop candidates, in the order they are retired. */
enum cand_kind {
    CAND_OLD = 0,  /* task of an older deployment */
    CAND_DRAINING, /* primary task on a DRAINING instance */
    CAND_SURPLUS,  /* primary task beyond the desired count */
};

struct cand {
    size_t task;
    enum cand_kind kind;
    uint32_t age;  /* old deployments: larger = older, retired first */
    uint32_t load; /* live tasks of the service on its instance: busiest first */
    bool healthy;
};

static int
cand_cmp(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;

    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->age != b->age)
        return a->age > b->age ? -1 : 1;
    if (a->load != b->load)
        return a->load > b->load ? -1 : 1;
    return a->task < b->task ? -1 : a->task > b->task;
}

void
sched_reconcile_result_done(struct sched_reconcile_result *res)
{
    free(res->stops);
    free(res->remove_deployments);
    free(res->running);
    free(res->pending);
    memset(res, 0, sizeof(*res));
}

char *
sched_stop_reason(enum sched_stop_cause cause, const char *deployment_id)
{
    switch (cause) {
    case SCHED_STOP_SCALE_IN:
    case SCHED_STOP_DEPLOYMENT:
        return xasprintf("Scaling activity initiated by (deployment %s)",
                         deployment_id ? deployment_id : "unknown");
    case SCHED_STOP_UNHEALTHY:
        return xasprintf("Task failed container health checks");
    case SCHED_STOP_INSTANCE_LOST:
        return xasprintf("Container instance stopped reporting: its agent missed its heartbeats "
                         "past the grace period or it was deregistered");
    case SCHED_STOP_DRAINING:
        return xasprintf("Container instance is DRAINING: task replaced by (deployment %s)",
                         deployment_id ? deployment_id : "unknown");
    }
    return xasprintf("Stopped by the service scheduler");
}

static uint64_t
name_seed(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void
add_stop(struct sched_reconcile_result *ret, size_t *cap, size_t task, enum sched_stop_cause cause)
{
    ret->stops = xreallocarray_grow(ret->stops, cap, ret->n_stops + 1, sizeof(*ret->stops));
    ret->stops[ret->n_stops++] = (struct sched_stop){.task = task, .cause = cause};
}

static bool
task_healthy(const struct sched_task *t)
{
    if (t->last_status != SCHED_TASK_RUNNING)
        return false;
    return t->has_health_check ? t->health == SCHED_HEALTH_HEALTHY
                               : t->health != SCHED_HEALTH_UNHEALTHY;
}

int
sched_reconcile(const struct sched_service *svc, const struct sched_task *tasks, size_t n_tasks,
                const struct sched_cluster *cluster, int64_t now,
                struct sched_reconcile_result *ret, struct cm_error **err)
{
    size_t n_dep = svc->n_deployments, stops_cap = 0, n_cand = 0;
    const struct sched_deployment *primary;
    uint32_t desired = svc->desired_count;
    uint32_t max_total, min_healthy, total_live = 0, total_healthy = 0;
    uint32_t primary_good = 0, primary_good_healthy = 0, stopped_live = 0, in_flight = 0;
    uint32_t *remaining = NULL, *load = NULL;
    struct cand *cands = NULL;
    bool primary_failed;

    /* RET is valid even on failure, so that callers may always call _done on it. */
    memset(ret, 0, sizeof(*ret));
    if (n_dep == 0 || svc->deployments[0].status != SCHED_DEPLOYMENT_PRIMARY)
        return cm_error_set(err, EINVAL, "service '%s': deployments[0] must be the PRIMARY one",
                            svc->name ? svc->name : "");
    for (size_t i = 0; i < n_tasks; i++) {
        if (tasks[i].deployment != UINT32_MAX && tasks[i].deployment >= n_dep)
            return cm_error_set(err, EINVAL, "task '%s': deployment index %u out of range",
                                tasks[i].id ? tasks[i].id : "", tasks[i].deployment);
        if (tasks[i].instance != SCHED_NO_INSTANCE && tasks[i].instance >= cluster->n_instances)
            return cm_error_set(err, EINVAL, "task '%s': instance index %u out of range",
                                tasks[i].id ? tasks[i].id : "", tasks[i].instance);
    }

    ret->running = xcalloc(n_dep, sizeof(*ret->running));
    ret->pending = xcalloc(n_dep, sizeof(*ret->pending));
    remaining = xcalloc(n_dep, sizeof(*remaining));
    load = xcalloc(cluster->n_instances ? cluster->n_instances : 1, sizeof(*load));
    cands = xcalloc(n_tasks ? n_tasks : 1, sizeof(*cands));

    primary = &svc->deployments[0];
    max_total = sched_deploy_max_tasks(desired, svc->maximum_percent);
    min_healthy = sched_deploy_min_healthy(desired, svc->minimum_healthy_percent);
    primary_failed = primary->rollout == SCHED_ROLLOUT_FAILED;

    /* Circuit breaker: trips once, while the rollout is in progress. */
    if (!primary_failed && primary->rollout == SCHED_ROLLOUT_IN_PROGRESS && svc->circuit_breaker &&
        primary->failed_tasks >= sched_deploy_failure_threshold(desired)) {
        primary_failed = true;
        ret->primary_failed = true;
        if (svc->rollback)
            for (size_t d = 1; d < n_dep; d++)
                if (svc->deployments[d].rollout == SCHED_ROLLOUT_COMPLETED) {
                    ret->rollback_task_definition = svc->deployments[d].task_definition;
                    break;
                }
    }

    /* Pass 1: lost and unhealthy tasks go at once; count everything else. */
    for (size_t i = 0; i < n_tasks; i++) {
        const struct sched_task *t = &tasks[i];
        const struct sched_instance *inst =
            t->instance == SCHED_NO_INSTANCE ? NULL : &cluster->instances[t->instance];
        bool lost = inst && (inst->status == SCHED_INSTANCE_INACTIVE || !inst->agent_connected);

        if (t->last_status == SCHED_TASK_STOPPED)
            continue;
        if (!lost && t->deployment != UINT32_MAX)
            remaining[t->deployment]++;
        if (t->desired_stopped)
            continue;
        if (lost) {
            /* Replaced elsewhere; when the agent comes back, the stop reaches it. */
            add_stop(ret, &stops_cap, i, SCHED_STOP_INSTANCE_LOST);
            continue;
        }
        if (t->last_status == SCHED_TASK_RUNNING && t->health == SCHED_HEALTH_UNHEALTHY) {
            add_stop(ret, &stops_cap, i, SCHED_STOP_UNHEALTHY);
            continue;
        }
        total_live++;
        if (inst)
            load[t->instance]++;
        if (t->deployment != UINT32_MAX) {
            if (t->last_status == SCHED_TASK_RUNNING)
                ret->running[t->deployment]++;
            else
                ret->pending[t->deployment]++;
        }
        if (task_healthy(t))
            total_healthy++;
        else
            in_flight++;
    }

    /* Pass 2: who may have to go (older deployments, draining instances, surplus). */
    for (size_t i = 0; i < n_tasks; i++) {
        const struct sched_task *t = &tasks[i];
        const struct sched_instance *inst =
            t->instance == SCHED_NO_INSTANCE ? NULL : &cluster->instances[t->instance];
        bool draining = inst && inst->status == SCHED_INSTANCE_DRAINING;

        if (t->last_status == SCHED_TASK_STOPPED || t->desired_stopped)
            continue;
        if (inst && (inst->status == SCHED_INSTANCE_INACTIVE || !inst->agent_connected))
            continue;
        if (t->last_status == SCHED_TASK_RUNNING && t->health == SCHED_HEALTH_UNHEALTHY)
            continue;
        struct cand c = {
            .task = i,
            .load = inst ? load[t->instance] : 0,
            .healthy = task_healthy(t),
        };
        if (t->deployment == 0 && !draining) {
            primary_good++;
            if (c.healthy)
                primary_good_healthy++;
            c.kind = CAND_SURPLUS;
        } else if (t->deployment == 0) {
            c.kind = CAND_DRAINING;
        } else {
            c.kind = CAND_OLD;
            c.age = t->deployment == UINT32_MAX ? UINT32_MAX : t->deployment;
        }
        cands[n_cand++] = c;
    }
    /* The common case, a settled service, has nothing to retire: skip the sort. */
    if (primary_good > desired || n_cand > primary_good)
        qsort(cands, n_cand, sizeof(*cands), cand_cmp);
    else
        n_cand = 0;

    /* Pass 3: stops. Tasks that are not healthy cost nothing to stop; healthy ones only down
     * to minimumHealthyPercent. A failed deployment makes no further progress. */
    {
        uint32_t budget = total_healthy > min_healthy ? total_healthy - min_healthy : 0;
        uint32_t surplus = primary_good > desired ? primary_good - desired : 0;

        for (int healthy_round = 0; healthy_round < 2; healthy_round++) {
            for (size_t k = 0; k < n_cand; k++) {
                struct cand *c = &cands[k];
                enum sched_stop_cause cause;

                if (c->healthy != (healthy_round == 1))
                    continue;
                if (c->kind == CAND_SURPLUS) {
                    if (surplus == 0)
                        continue;
                    cause = SCHED_STOP_SCALE_IN;
                } else {
                    if (primary_failed)
                        continue;
                    cause = c->kind == CAND_OLD ? SCHED_STOP_DEPLOYMENT : SCHED_STOP_DRAINING;
                }
                if (c->healthy) {
                    if (budget == 0)
                        continue;
                    budget--;
                }
                if (c->kind == CAND_SURPLUS)
                    surplus--;
                add_stop(ret, &stops_cap, c->task, cause);
                stopped_live++;
            }
        }
    }

    /* Starts: replace what is missing from the primary, within maximumPercent counted after
     * this pass's stops (tasks being stopped no longer count, as in ECS). */
    if (!primary_failed && desired > primary_good) {
        uint32_t need = desired - primary_good;
        uint32_t live_after = total_live - stopped_live;
        uint32_t headroom = max_total > live_after ? max_total - live_after : 0;

        ret->start = need < headroom ? need : headroom;
    }
    if (ret->start > 0 && svc->start_failures > 1) {
        int64_t next = sched_backoff_next_attempt(svc->start_failures, svc->last_start_failure_at,
                                                  name_seed(svc->name));
        if (now < next) {
            ret->deferred_starts = ret->start;
            ret->start = 0;
            ret->retry_at = next;
            ret->throttled = true;
        }
    }

    /* Completion and steady state. */
    {
        bool others_live = total_live != primary_good;
        bool settled = !primary_failed && primary_good == desired &&
                       primary_good_healthy == desired && !others_live && ret->start == 0 &&
                       ret->deferred_starts == 0 && ret->n_stops == 0;

        if (settled && primary->rollout == SCHED_ROLLOUT_IN_PROGRESS)
            ret->primary_completed = true;
        if (settled && (primary->rollout == SCHED_ROLLOUT_COMPLETED || ret->primary_completed)) {
            size_t cap = 0;
            bool all_gone = true;
            for (size_t d = 1; d < n_dep; d++) {
                if (remaining[d] != 0) {
                    all_gone = false;
                    continue;
                }
                ret->remove_deployments = xreallocarray_grow(
                    ret->remove_deployments, &cap, ret->n_remove_deployments + 1, sizeof(size_t));
                ret->remove_deployments[ret->n_remove_deployments++] = d;
            }
            ret->steady = all_gone;
        }
        /* Nothing in flight, nothing allowed: the bounds forbid progress. */
        if (!settled && !primary_failed && ret->start == 0 && ret->deferred_starts == 0 &&
            ret->n_stops == 0 && in_flight == 0 && (primary_good < desired || others_live))
            ret->stuck = true;
    }

    free(remaining);
    free(load);
    free(cands);
    return 0;
}
