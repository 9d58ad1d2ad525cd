/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the plan applier: plans made on a stale snapshot commit only what still fits. */
#include <criterion/criterion.h>

#include "cm/error.h"
#include "fixture.h"

/* Copies SRC's instances into DST (a second, independent "current state"). */
static void
fx_copy(struct fx_cluster *dst, const struct fx_cluster *src)
{
    fx_init(dst, src->c.n_instances, 0, 0);
    for (size_t i = 0; i < src->c.n_instances; i++) {
        dst->inst[i].status = src->inst[i].status;
        dst->inst[i].agent_connected = src->inst[i].agent_connected;
        dst->inst[i].registered = src->inst[i].registered;
        dst->inst[i].remaining = src->inst[i].remaining;
        sched_instance_add_ports(&dst->inst[i], src->inst[i].ports, src->inst[i].n_ports);
    }
}

Test(sched_plan, applies_everything_on_an_unchanged_state)
{
    struct fx_cluster snap, cur;
    struct sched_plan plan;
    struct sched_plan_result res;
    struct sched_place_result pr;
    struct sched_task_needs needs = {.res = {256, 512}};
    struct sched_strategy s = {.type = SCHED_STRATEGY_SPREAD, .field = SCHED_FIELD_INSTANCE_ID};
    struct sched_place_request req = {
        .group = "service:web", .needs = &needs, .strategies = &s, .n_strategies = 1, .count = 8};

    fx_init(&snap, 4, 1024, 2048);
    fx_copy(&cur, &snap);
    sched_plan_init(&plan);
    cr_assert_eq(sched_place(&snap.c, &req, 0, &plan, &pr, NULL), 0);
    cr_assert_eq(pr.placed, 8);
    sched_plan_apply(&cur.c, &plan, &res);
    cr_assert_eq(res.n_accepted, 8);
    cr_assert_eq(res.n_rejected, 0);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(cur.inst[i].remaining.cpu, 512);
        cr_assert_eq(cur.inst[i].remaining.memory, 1024);
        /* The snapshot itself was not touched by placement. */
        cr_assert_eq(snap.inst[i].remaining.cpu, 1024);
    }
    sched_plan_result_done(&res);
    sched_place_result_done(&pr);
    sched_plan_done(&plan);
    fx_done(&snap);
    fx_done(&cur);
}

Test(sched_plan, conflicts_are_rejected_and_the_rest_committed)
{
    struct fx_cluster snap, cur;
    struct sched_plan plan;
    struct sched_plan_result res;
    uint32_t port = SCHED_PORT_KEY(SCHED_PROTO_TCP, 443);
    struct sched_task_needs big = {.res = {512, 1024}};
    struct sched_task_needs web = {.res = {10, 10}, .ports = &port, .n_ports = 1};

    fx_init(&snap, 4, 1024, 2048);
    fx_copy(&cur, &snap);
    sched_plan_init(&plan);
    /* Hand-made plan: two bigs on i0, one big on i1 (about to fill up), one big on i2 (about
     * to drain), one web on i3 (its port about to be taken), two webs on i1 (the second one
     * collides with the first inside the same plan). */
    struct sched_placement ps[] = {
        {0, &big, 1}, {0, &big, 2}, {1, &big, 3}, {2, &big, 4},
        {3, &web, 5}, {1, &web, 6}, {1, &web, 7}, {9, &web, 8},
    };
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        plan.placements = xreallocarray_grow(plan.placements, &plan.cap_placements,
                                             plan.n_placements + 1, sizeof(*plan.placements));
        plan.placements[plan.n_placements++] = ps[i];
    }
    /* Meanwhile the world moved on. */
    cur.inst[1].remaining.memory = 1000; /* someone else's task landed */
    cur.inst[2].status = SCHED_INSTANCE_DRAINING;
    sched_instance_add_ports(&cur.inst[3], &port, 1);

    sched_plan_apply(&cur.c, &plan, &res);
    cr_assert_eq(res.n_accepted, 3);
    cr_assert_eq(res.accepted[0], 0);
    cr_assert_eq(res.accepted[1], 1);
    cr_assert_eq(res.accepted[2], 5);
    cr_assert_eq(res.n_rejected, 5);
    uint32_t want_rej[] = {2, 3, 4, 6, 7};
    enum sched_reject want_why[] = {SCHED_REJECT_MEMORY, SCHED_REJECT_STATUS, SCHED_REJECT_PORTS,
                                    SCHED_REJECT_PORTS, SCHED_REJECT_INACTIVE};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(res.rejected[i], want_rej[i], "rejected[%zu]", i);
        cr_assert_eq(res.rejected_why[i], want_why[i], "why[%zu]", i);
    }
    cr_assert_eq(cur.inst[0].remaining.cpu, 0);
    cr_assert_eq(cur.inst[0].remaining.memory, 0);
    cr_assert_eq(cur.inst[1].remaining.memory, 990);
    cr_assert(sched_instance_has_port(&cur.inst[1], port));
    cr_assert_eq(cur.inst[2].remaining.memory, 2048);
    sched_plan_result_done(&res);
    sched_plan_done(&plan);
    fx_done(&snap);
    fx_done(&cur);
}

Test(sched_plan, disconnected_agent_rejects)
{
    struct fx_cluster cur;
    struct sched_plan plan;
    struct sched_plan_result res;
    struct sched_task_needs needs = {.res = {1, 1}};

    fx_init(&cur, 1, 10, 10);
    cur.inst[0].agent_connected = false;
    sched_plan_init(&plan);
    plan.placements = xreallocarray_grow(NULL, &plan.cap_placements, 1, sizeof(*plan.placements));
    plan.placements[plan.n_placements++] = (struct sched_placement){0, &needs, 0};
    sched_plan_apply(&cur.c, &plan, &res);
    cr_assert_eq(res.n_rejected, 1);
    cr_assert_eq(res.rejected_why[0], SCHED_REJECT_AGENT);
    cr_assert_eq(cur.inst[0].remaining.cpu, 10);
    sched_plan_result_done(&res);
    sched_plan_done(&plan);
    fx_done(&cur);
}
