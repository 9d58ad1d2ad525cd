/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the service reconcile pass: scaling, replacements, rolling deployments at
 * several min/max percents (driven to completion by a tiny simulated agent), the circuit
 * breaker with rollback, steady state, launch back-off. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "cm/error.h"
#include "fixture.h"
#include "sched/reconcile.h"

#define MAX_TASKS 64

struct world {
    struct fx_cluster f;
    struct sched_deployment dep[3];
    struct sched_service svc;
    struct sched_task t[MAX_TASKS];
    size_t n;
};

static void
world_init(struct world *w, uint32_t desired, uint32_t min_pct, uint32_t max_pct)
{
    memset(w, 0, sizeof(*w));
    fx_init(&w->f, 4, 4096, 8192);
    w->dep[0] = (struct sched_deployment){.id = "ecs-svc/new",
                                          .task_definition = "web:2",
                                          .status = SCHED_DEPLOYMENT_PRIMARY,
                                          .rollout = SCHED_ROLLOUT_IN_PROGRESS};
    w->dep[1] = (struct sched_deployment){.id = "ecs-svc/old",
                                          .task_definition = "web:1",
                                          .status = SCHED_DEPLOYMENT_ACTIVE,
                                          .rollout = SCHED_ROLLOUT_COMPLETED};
    w->svc = (struct sched_service){.name = "web",
                                    .desired_count = desired,
                                    .minimum_healthy_percent = min_pct,
                                    .maximum_percent = max_pct,
                                    .deployments = w->dep,
                                    .n_deployments = 1};
}

static size_t
add_task(struct world *w, uint32_t dep, uint32_t inst, enum sched_task_state st)
{
    cr_assert_lt(w->n, MAX_TASKS);
    w->t[w->n] = (struct sched_task){.id = "t",
                                     .instance = inst,
                                     .deployment = dep,
                                     .last_status = st,
                                     .ever_running = st == SCHED_TASK_RUNNING};
    return w->n++;
}

static void
run(struct world *w, struct sched_reconcile_result *res)
{
    struct cm_error *err = NULL;
    cr_assert_eq(sched_reconcile(&w->svc, w->t, w->n, &w->f.c, 1000000, res, &err), 0, "%s",
                 err ? err->msg : "");
}

/* Applies a result the way the daemon would: stops get desiredStatus STOPPED, starts become
 * new primary tasks (round robin over instances, PROVISIONING). */
static void
apply(struct world *w, const struct sched_reconcile_result *res)
{
    static uint32_t rr;
    for (size_t i = 0; i < res->n_stops; i++)
        w->t[res->stops[i].task].desired_stopped = true;
    for (uint32_t i = 0; i < res->start; i++)
        add_task(w, 0, rr++ % 4, SCHED_TASK_PROVISIONING);
}

/* The agents: stopping tasks stop, placed tasks start running (healthy). */
static void
agents_step(struct world *w)
{
    for (size_t i = 0; i < w->n; i++) {
        struct sched_task *t = &w->t[i];
        if (t->last_status == SCHED_TASK_STOPPED)
            continue;
        if (t->desired_stopped) {
            t->last_status = SCHED_TASK_STOPPED;
        } else if (t->last_status != SCHED_TASK_RUNNING) {
            t->last_status = SCHED_TASK_RUNNING;
            t->ever_running = true;
        }
    }
}

static uint32_t
count(const struct world *w, int dep, bool healthy_only)
{
    uint32_t n = 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct sched_task *t = &w->t[i];
        if (t->last_status == SCHED_TASK_STOPPED || t->desired_stopped)
            continue;
        if (dep >= 0 && t->deployment != (uint32_t)dep)
            continue;
        if (healthy_only && t->last_status != SCHED_TASK_RUNNING)
            continue;
        n++;
    }
    return n;
}

/* Drops removed deployments the way the daemon would (only the old one exists here). */
static void
drop_deployments(struct world *w, const struct sched_reconcile_result *res)
{
    if (res->n_remove_deployments) {
        cr_assert_eq(res->n_remove_deployments, 1);
        cr_assert_eq(res->remove_deployments[0], 1);
        w->svc.n_deployments = 1;
    }
    if (res->primary_completed)
        w->dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
}

/* ---- scaling and replacement ---- */

Test(sched_reconcile, scale_up_from_nothing)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 3, 100, 200);
    run(&w, &res);
    cr_assert_eq(res.start, 3);
    cr_assert_eq(res.n_stops, 0);
    cr_assert_not(res.steady);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, scale_down_stops_busiest_instance_first)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 2, 100, 200);
    w.dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
    add_task(&w, 0, 0, SCHED_TASK_RUNNING);
    add_task(&w, 0, 1, SCHED_TASK_RUNNING);
    add_task(&w, 0, 1, SCHED_TASK_RUNNING);
    add_task(&w, 0, 2, SCHED_TASK_RUNNING);
    run(&w, &res);
    cr_assert_eq(res.start, 0);
    cr_assert_eq(res.n_stops, 2);
    cr_assert_eq(res.stops[0].cause, SCHED_STOP_SCALE_IN);
    cr_assert_eq(w.t[res.stops[0].task].instance, 1, "busiest instance first");
    cr_assert_eq(w.t[res.stops[1].task].instance, 1);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, scale_in_takes_pending_before_running)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 1, 100, 200);
    w.dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
    add_task(&w, 0, 0, SCHED_TASK_RUNNING);
    size_t pending = add_task(&w, 0, 1, SCHED_TASK_PENDING);
    run(&w, &res);
    cr_assert_eq(res.n_stops, 1);
    cr_assert_eq(res.stops[0].task, pending);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, stopped_tasks_are_replaced)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 3, 100, 200);
    w.dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
    add_task(&w, 0, 0, SCHED_TASK_RUNNING);
    add_task(&w, 0, 1, SCHED_TASK_RUNNING);
    add_task(&w, 0, 2, SCHED_TASK_STOPPED);
    run(&w, &res);
    cr_assert_eq(res.start, 1);
    cr_assert_eq(res.n_stops, 0);
    cr_assert_not(res.steady);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, unhealthy_tasks_are_stopped_and_replaced)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 2, 100, 200);
    w.dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
    add_task(&w, 0, 0, SCHED_TASK_RUNNING);
    size_t sick = add_task(&w, 0, 1, SCHED_TASK_RUNNING);
    w.t[sick].health = SCHED_HEALTH_UNHEALTHY;
    w.t[sick].has_health_check = true;
    run(&w, &res);
    cr_assert_eq(res.n_stops, 1);
    cr_assert_eq(res.stops[0].task, sick);
    cr_assert_eq(res.stops[0].cause, SCHED_STOP_UNHEALTHY);
    cr_assert_eq(res.start, 1);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, health_check_unknown_is_not_yet_healthy)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 1, 100, 200);
    size_t t = add_task(&w, 0, 0, SCHED_TASK_RUNNING);
    w.t[t].has_health_check = true;
    run(&w, &res);
    cr_assert_not(res.primary_completed);
    cr_assert_not(res.stuck, "waiting for health is progress, not a stuck deployment");
    sched_reconcile_result_done(&res);
    w.t[t].health = SCHED_HEALTH_HEALTHY;
    run(&w, &res);
    cr_assert(res.primary_completed);
    cr_assert(res.steady);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, lost_instance_tasks_are_replaced)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 4, 100, 200);
    w.dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
    add_task(&w, 0, 0, SCHED_TASK_RUNNING);
    add_task(&w, 0, 1, SCHED_TASK_RUNNING);
    add_task(&w, 0, 1, SCHED_TASK_RUNNING);
    add_task(&w, 0, 2, SCHED_TASK_RUNNING);
    w.f.inst[1].agent_connected = false;
    run(&w, &res);
    cr_assert_eq(res.n_stops, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(res.stops[i].cause, SCHED_STOP_INSTANCE_LOST);
        cr_assert_eq(w.t[res.stops[i].task].instance, 1);
    }
    cr_assert_eq(res.start, 2);
    apply(&w, &res);
    sched_reconcile_result_done(&res);
    /* The agent comes back: its two tasks still run but are desired STOPPED; nothing more. */
    w.f.inst[1].agent_connected = true;
    agents_step(&w);
    run(&w, &res);
    cr_assert_eq(res.start, 0);
    cr_assert_eq(res.n_stops, 0);
    cr_assert(res.steady);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, draining_instance_replaced_start_before_stop)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 2, 100, 200);
    w.dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
    add_task(&w, 0, 0, SCHED_TASK_RUNNING);
    size_t d = add_task(&w, 0, 1, SCHED_TASK_RUNNING);
    w.f.inst[1].status = SCHED_INSTANCE_DRAINING;
    run(&w, &res);
    cr_assert_eq(res.start, 1, "replacement first");
    cr_assert_eq(res.n_stops, 0, "min healthy 100%% keeps the draining task for now");
    apply(&w, &res);
    sched_reconcile_result_done(&res);
    agents_step(&w);
    run(&w, &res);
    cr_assert_eq(res.start, 0);
    cr_assert_eq(res.n_stops, 1);
    cr_assert_eq(res.stops[0].task, d);
    cr_assert_eq(res.stops[0].cause, SCHED_STOP_DRAINING);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, malformed_input)
{
    struct world w;
    struct sched_reconcile_result res;
    struct cm_error *err = NULL;

    world_init(&w, 1, 100, 200);
    add_task(&w, 2, 0, SCHED_TASK_RUNNING);
    cr_assert_eq(sched_reconcile(&w.svc, w.t, w.n, &w.f.c, 0, &res, &err), -1);
    cm_error_free(&err);
    w.t[0].deployment = 0;
    w.t[0].instance = 99;
    cr_assert_eq(sched_reconcile(&w.svc, w.t, w.n, &w.f.c, 0, &res, &err), -1);
    cm_error_free(&err);
    w.svc.n_deployments = 0;
    cr_assert_eq(sched_reconcile(&w.svc, w.t, w.n, &w.f.c, 0, &res, &err), -1);
    cr_assert_null(res.stops, "the result is cleared even on failure");
    sched_reconcile_result_done(&res);
    cm_error_free(&err);
}

/* ---- rolling deployments ---- */

struct roll_case {
    uint32_t min_pct, max_pct, desired;
    uint32_t first_start, first_stop; /* the first pass, as ECS would act */
};

ParameterizedTestParameters(sched_reconcile, rolling_update)
{
    static struct roll_case cases[] = {
        {100, 200, 4, 4, 0},                      /* start all new first, then stop old */
        {50, 100, 4, 2, 2},                       /* stop half, start half, repeat */
        {0, 100, 4, 4, 4},                        /* stop everything, start everything */
        {100, 150, 4, 2, 0},                      /* two extra at a time */
        {25, 100, 4, 3, 3},                       /* ceil(1) healthy kept */
        {50, 200, 4, 4, 2},  {100, 125, 3, 0, 0}, /* floor(3.75) = 3: no room, no stop: stuck */
        {66, 100, 3, 1, 1},                       /* min ceil(1.98) = 2: one at a time */
        {67, 100, 3, 0, 0}, /* min ceil(2.01) = 3 = max: rounding up leaves no room */
    };
    return cr_make_param_array(struct roll_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct roll_case *rc, sched_reconcile, rolling_update)
{
    struct world w;
    struct sched_reconcile_result res;
    uint32_t max_total = sched_deploy_max_tasks(rc->desired, rc->max_pct);
    uint32_t min_healthy = sched_deploy_min_healthy(rc->desired, rc->min_pct);
    bool completed = false;

    world_init(&w, rc->desired, rc->min_pct, rc->max_pct);
    w.svc.n_deployments = 2;
    for (uint32_t i = 0; i < rc->desired; i++)
        add_task(&w, 1, i % 4, SCHED_TASK_RUNNING);

    run(&w, &res);
    cr_assert_eq(res.start, rc->first_start, "%u/%u: first pass starts %u", rc->min_pct,
                 rc->max_pct, res.start);
    cr_assert_eq(res.n_stops, rc->first_stop, "%u/%u: first pass stops %zu", rc->min_pct,
                 rc->max_pct, res.n_stops);
    for (size_t i = 0; i < res.n_stops; i++) {
        cr_assert_eq(w.t[res.stops[i].task].deployment, 1, "only old tasks are stopped");
        cr_assert_eq(res.stops[i].cause, SCHED_STOP_DEPLOYMENT);
    }
    if (rc->first_start == 0 && rc->first_stop == 0) {
        cr_assert(res.stuck, "the configuration forbids progress: ECS's event");
        sched_reconcile_result_done(&res);
        return;
    }
    sched_reconcile_result_done(&res);

    for (int step = 0; step < 20 && !completed; step++) {
        run(&w, &res);
        cr_assert_not(res.stuck, "step %d stuck", step);
        apply(&w, &res);
        drop_deployments(&w, &res);
        completed = res.steady;
        /* The bounds hold after every decision. */
        cr_assert_leq(count(&w, -1, false), max_total, "step %d: %u tasks > max %u", step,
                      count(&w, -1, false), max_total);
        cr_assert_geq(count(&w, -1, true), min_healthy, "step %d: %u healthy < min %u", step,
                      count(&w, -1, true), min_healthy);
        sched_reconcile_result_done(&res);
        agents_step(&w);
    }
    cr_assert(completed, "%u/%u never reached a steady state", rc->min_pct, rc->max_pct);
    cr_assert_eq(count(&w, 0, true), rc->desired);
    cr_assert_eq(count(&w, 1, false), 0);
    cr_assert_eq(w.svc.n_deployments, 1, "the old deployment left deployments[]");
    cr_assert_eq(w.dep[0].rollout, SCHED_ROLLOUT_COMPLETED);
}

Test(sched_reconcile, rerun_without_change_does_nothing_new)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 4, 100, 200);
    w.svc.n_deployments = 2;
    for (uint32_t i = 0; i < 4; i++)
        add_task(&w, 1, i, SCHED_TASK_RUNNING);
    run(&w, &res);
    cr_assert_eq(res.start, 4);
    apply(&w, &res);
    sched_reconcile_result_done(&res);
    run(&w, &res);
    cr_assert_eq(res.start, 0);
    cr_assert_eq(res.n_stops, 0);
    cr_assert_not(res.stuck);
    cr_assert_eq(res.pending[0], 4);
    cr_assert_eq(res.running[1], 4);
    sched_reconcile_result_done(&res);
}

/* ---- circuit breaker ---- */

Test(sched_reconcile, circuit_breaker_trips_and_rolls_back)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 4, 100, 200);
    w.svc.n_deployments = 2;
    w.svc.circuit_breaker = true;
    w.svc.rollback = true;
    for (uint32_t i = 0; i < 4; i++)
        add_task(&w, 1, i, SCHED_TASK_RUNNING);
    w.dep[0].failed_tasks = 2; /* threshold for 4 is max(3, ceil(2)) = 3 */
    run(&w, &res);
    cr_assert_not(res.primary_failed);
    cr_assert_eq(res.start, 4);
    sched_reconcile_result_done(&res);

    w.dep[0].failed_tasks = 3;
    run(&w, &res);
    cr_assert(res.primary_failed);
    cr_assert_eq(res.start, 0, "a failed deployment launches nothing");
    cr_assert_eq(res.n_stops, 0, "old tasks keep running");
    cr_assert_str_eq(res.rollback_task_definition, "web:1");
    sched_reconcile_result_done(&res);

    /* Once marked FAILED it stays quiet and does not trip again. */
    w.dep[0].rollout = SCHED_ROLLOUT_FAILED;
    run(&w, &res);
    cr_assert_not(res.primary_failed);
    cr_assert_eq(res.start, 0);
    cr_assert_not(res.stuck);
    cr_assert_not(res.steady);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, circuit_breaker_without_rollback_or_disabled)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 4, 100, 200);
    w.svc.n_deployments = 2;
    w.svc.circuit_breaker = true;
    w.dep[0].failed_tasks = 10;
    run(&w, &res);
    cr_assert(res.primary_failed);
    cr_assert_null(res.rollback_task_definition);
    sched_reconcile_result_done(&res);

    w.svc.circuit_breaker = false;
    run(&w, &res);
    cr_assert_not(res.primary_failed);
    cr_assert_eq(res.start, 4);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, failure_counting_rules)
{
    struct sched_task t = {.last_status = SCHED_TASK_STOPPED};

    cr_assert(sched_task_counts_as_failure(&t, false), "stopped before running");
    cr_assert_not(sched_task_counts_as_failure(&t, true), "the scheduler stopped it");
    t.ever_running = true;
    cr_assert_not(sched_task_counts_as_failure(&t, false), "ran, then exited");
    t.last_status = SCHED_TASK_RUNNING;
    t.health = SCHED_HEALTH_UNHEALTHY;
    cr_assert(sched_task_counts_as_failure(&t, false), "stage 2: health checks");
}

/* ---- steady state and completion ---- */

Test(sched_reconcile, steady_state)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 2, 100, 200);
    w.dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
    add_task(&w, 0, 0, SCHED_TASK_RUNNING);
    add_task(&w, 0, 1, SCHED_TASK_RUNNING);
    add_task(&w, 0, 1, SCHED_TASK_STOPPED);
    run(&w, &res);
    cr_assert(res.steady);
    cr_assert_not(res.primary_completed, "already completed");
    cr_assert_eq(res.start, 0);
    cr_assert_eq(res.n_stops, 0);
    cr_assert_eq(res.running[0], 2);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, completion_waits_for_old_tasks_to_stop)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 1, 100, 200);
    w.svc.n_deployments = 2;
    add_task(&w, 0, 0, SCHED_TASK_RUNNING);
    size_t old = add_task(&w, 1, 1, SCHED_TASK_RUNNING);
    w.t[old].desired_stopped = true; /* stopping, not yet stopped */
    run(&w, &res);
    cr_assert(res.primary_completed);
    cr_assert_eq(res.n_remove_deployments, 0, "old deployment still has a task stopping");
    cr_assert_not(res.steady);
    sched_reconcile_result_done(&res);
    w.t[old].last_status = SCHED_TASK_STOPPED;
    w.dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
    run(&w, &res);
    cr_assert_eq(res.n_remove_deployments, 1);
    cr_assert(res.steady);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, desired_zero_stops_everything)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 0, 100, 200);
    w.dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
    add_task(&w, 0, 0, SCHED_TASK_RUNNING);
    add_task(&w, 0, 1, SCHED_TASK_RUNNING);
    run(&w, &res);
    cr_assert_eq(res.n_stops, 2);
    cr_assert_eq(res.start, 0);
    sched_reconcile_result_done(&res);
}

/* ---- launch back-off ---- */

Test(sched_reconcile, back_off_defers_starts)
{
    struct world w;
    struct sched_reconcile_result res;
    struct cm_error *err = NULL;

    world_init(&w, 2, 100, 200);
    w.svc.start_failures = 3;
    w.svc.last_start_failure_at = 1000000;
    cr_assert_eq(sched_reconcile(&w.svc, w.t, w.n, &w.f.c, 1000500, &res, &err), 0);
    cr_assert_eq(res.start, 0);
    cr_assert_eq(res.deferred_starts, 2);
    cr_assert(res.throttled);
    cr_assert_gt(res.retry_at, 1000500);
    int64_t at = res.retry_at;
    sched_reconcile_result_done(&res);
    cr_assert_eq(sched_reconcile(&w.svc, w.t, w.n, &w.f.c, at, &res, &err), 0);
    cr_assert_eq(res.start, 2);
    cr_assert_not(res.throttled);
    sched_reconcile_result_done(&res);
    /* A single failure does not throttle. */
    w.svc.start_failures = 1;
    cr_assert_eq(sched_reconcile(&w.svc, w.t, w.n, &w.f.c, 1000001, &res, &err), 0);
    cr_assert_eq(res.start, 2);
    sched_reconcile_result_done(&res);
}

Test(sched_reconcile, stop_reasons)
{
    char *r = sched_stop_reason(SCHED_STOP_DEPLOYMENT, "ecs-svc/123");
    cr_assert_str_eq(r, "Scaling activity initiated by (deployment ecs-svc/123)");
    free(r);
    r = sched_stop_reason(SCHED_STOP_UNHEALTHY, NULL);
    cr_assert_str_eq(r, "Task failed container health checks");
    free(r);
}

/* After a trip with rollback the daemon starts a new PRIMARY on the old task definition; the
 * failed deployment and the old completed one are both retired and leave deployments[]. */
Test(sched_reconcile, rollback_deployment_runs_to_completion)
{
    struct world w;
    struct sched_reconcile_result res;
    bool steady = false;

    world_init(&w, 4, 100, 200);
    w.dep[0] = (struct sched_deployment){.id = "ecs-svc/rollback",
                                         .task_definition = "web:1",
                                         .status = SCHED_DEPLOYMENT_PRIMARY,
                                         .rollout = SCHED_ROLLOUT_IN_PROGRESS};
    w.dep[1] = (struct sched_deployment){.id = "ecs-svc/failed",
                                         .task_definition = "web:2",
                                         .status = SCHED_DEPLOYMENT_ACTIVE,
                                         .rollout = SCHED_ROLLOUT_FAILED,
                                         .failed_tasks = 3};
    w.dep[2] = (struct sched_deployment){.id = "ecs-svc/old",
                                         .task_definition = "web:1",
                                         .status = SCHED_DEPLOYMENT_ACTIVE,
                                         .rollout = SCHED_ROLLOUT_COMPLETED};
    w.svc.n_deployments = 3;
    w.svc.circuit_breaker = true;
    w.svc.rollback = true;
    for (uint32_t i = 0; i < 4; i++)
        add_task(&w, 2, i, SCHED_TASK_RUNNING);
    add_task(&w, 1, 0, SCHED_TASK_PENDING); /* failed deployment's stragglers */
    add_task(&w, 1, 1, SCHED_TASK_PENDING);

    run(&w, &res);
    cr_assert_eq(res.n_stops, 2, "the failed deployment's pending tasks go first, for free");
    for (size_t i = 0; i < res.n_stops; i++)
        cr_assert_eq(w.t[res.stops[i].task].deployment, 1);
    cr_assert_eq(res.start, 4);
    cr_assert_not(res.primary_failed, "the rollback deployment has its own count");
    apply(&w, &res);
    sched_reconcile_result_done(&res);

    for (int step = 0; step < 10 && !steady; step++) {
        agents_step(&w);
        run(&w, &res);
        cr_assert_geq(count(&w, -1, true), 4, "never below minimumHealthyPercent");
        apply(&w, &res);
        if (res.primary_completed)
            w.dep[0].rollout = SCHED_ROLLOUT_COMPLETED;
        if (res.n_remove_deployments) {
            cr_assert_eq(res.n_remove_deployments, 2);
            cr_assert_eq(res.remove_deployments[0], 1);
            cr_assert_eq(res.remove_deployments[1], 2);
            w.svc.n_deployments = 1;
        }
        steady = res.steady;
        sched_reconcile_result_done(&res);
    }
    cr_assert(steady);
    cr_assert_eq(count(&w, 0, true), 4);
    cr_assert_eq(w.svc.n_deployments, 1);
}

/* New tasks that never pass their health check hold the rollout without stopping old ones. */
Test(sched_reconcile, unhealthy_new_tasks_never_replace_old_ones)
{
    struct world w;
    struct sched_reconcile_result res;

    world_init(&w, 2, 100, 200);
    w.svc.n_deployments = 2;
    add_task(&w, 1, 0, SCHED_TASK_RUNNING);
    add_task(&w, 1, 1, SCHED_TASK_RUNNING);
    for (int i = 0; i < 2; i++) {
        size_t t = add_task(&w, 0, 2 + (uint32_t)i, SCHED_TASK_RUNNING);
        w.t[t].has_health_check = true; /* health UNKNOWN: still starting */
    }
    run(&w, &res);
    cr_assert_eq(res.start, 0);
    cr_assert_eq(res.n_stops, 0, "old tasks stay until new ones are healthy");
    cr_assert_not(res.stuck);
    cr_assert_not(res.steady);
    sched_reconcile_result_done(&res);
}
