/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the placement pipeline: ranking strategies, constraints, sampling bound,
 * the "does not fit" cache and ECS's unplaceable message. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "cm/error.h"
#include "cm/xalloc.h"
#include "fixture.h"

static struct sched_place_result
place(struct fx_cluster *f, struct sched_place_request *req, struct sched_plan *plan)
{
    struct sched_place_result res;
    struct cm_error *err = NULL;

    cr_assert_eq(sched_place(&f->c, req, 7, plan, &res, &err), 0, "%s", err ? err->msg : "");
    return res;
}

Test(sched_select, binpack_memory_picks_the_fullest_that_fits)
{
    struct fx_cluster f;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {128, 512}};
    struct sched_strategy s = {.type = SCHED_STRATEGY_BINPACK, .field = SCHED_FIELD_MEMORY};
    /* limit 64: score every instance of this small cluster, so best fit is exact. */
    struct sched_place_request req = {.group = "service:web",
                                      .needs = &needs,
                                      .strategies = &s,
                                      .n_strategies = 1,
                                      .count = 1,
                                      .limit = 64};

    fx_init(&f, 4, 4096, 4096);
    f.inst[0].remaining.memory = 3000;
    f.inst[1].remaining.memory = 600; /* fullest that fits */
    f.inst[2].remaining.memory = 400; /* does not fit */
    f.inst[3].remaining.memory = 1000;
    sched_plan_init(&plan);
    struct sched_place_result res = place(&f, &req, &plan);
    cr_assert_eq(res.placed, 1);
    cr_assert_eq(plan.placements[0].instance, 1);
    cr_assert_eq(plan.placements[0].tag, 7);
    /* Next: i1 has 88 MiB left in the round, so the next fullest is i3. */
    sched_plan_reset(&plan);
    req.count = 2;
    place(&f, &req, &plan);
    cr_assert_eq(plan.placements[0].instance, 1);
    cr_assert_eq(plan.placements[1].instance, 3);
    sched_plan_done(&plan);
    fx_done(&f);
}

Test(sched_select, binpack_cpu_fills_one_instance_before_the_next)
{
    struct fx_cluster f;
    struct sched_plan plan;
    unsigned counts[FX_MAX];
    struct sched_task_needs needs = {.res = {256, 64}};
    struct sched_strategy s = {.type = SCHED_STRATEGY_BINPACK, .field = SCHED_FIELD_CPU};
    struct sched_place_request req = {.group = "service:web",
                                      .needs = &needs,
                                      .strategies = &s,
                                      .n_strategies = 1,
                                      .count = 8,
                                      .limit = 64};

    fx_init(&f, 3, 1024, 8192);
    f.inst[2].remaining.cpu = 1000; /* slightly used: packed first */
    sched_plan_init(&plan);
    place(&f, &req, &plan);
    fx_count(&plan, counts);
    cr_assert_eq(counts[2], 3); /* 1000 / 256 */
    cr_assert_eq(counts[0] + counts[1], 5);
    cr_assert(counts[0] == 4 || counts[1] == 4, "one instance filled before the other");
    sched_plan_done(&plan);
    fx_done(&f);
}

Test(sched_select, spread_instance_id_balances)
{
    struct fx_cluster f;
    struct sched_plan plan;
    unsigned counts[FX_MAX];
    struct sched_task_needs needs = {.res = {10, 10}};
    struct sched_strategy s = {.type = SCHED_STRATEGY_SPREAD, .field = SCHED_FIELD_INSTANCE_ID};
    uint32_t existing[] = {0, 0, 0};
    struct sched_place_request req = {.group = "service:web",
                                      .needs = &needs,
                                      .strategies = &s,
                                      .n_strategies = 1,
                                      .group_instances = existing,
                                      .n_group_instances = 3,
                                      .count = 9};

    fx_init(&f, 4, 4096, 4096);
    sched_plan_init(&plan);
    place(&f, &req, &plan);
    fx_count(&plan, counts);
    /* 3 existing on i0 + 9 new = 12 over 4 instances: 3 each. */
    cr_assert_eq(counts[0], 0);
    cr_assert_eq(counts[1], 3);
    cr_assert_eq(counts[2], 3);
    cr_assert_eq(counts[3], 3);
    sched_plan_done(&plan);
    fx_done(&f);
}

Test(sched_select, spread_attribute_fills_the_emptiest_zone_first)
{
    struct fx_cluster f;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {10, 10}};
    struct sched_strategy s = {.type = SCHED_STRATEGY_SPREAD,
                               .field = SCHED_FIELD_ATTRIBUTE,
                               .attribute = "ecs.availability-zone"};
    uint32_t existing[] = {0, 3}; /* both in us-east-1a */
    struct sched_place_request req = {.group = "service:web",
                                      .needs = &needs,
                                      .strategies = &s,
                                      .n_strategies = 1,
                                      .group_instances = existing,
                                      .n_group_instances = 2,
                                      .count = 4};
    unsigned per_az[3] = {0};

    fx_init(&f, 6, 4096, 4096);
    sched_plan_init(&plan);
    place(&f, &req, &plan);
    for (size_t i = 0; i < 2; i++)
        cr_assert_neq(plan.placements[i].instance % 3, 0, "zone a already has 2");
    for (size_t i = 0; i < plan.n_placements; i++)
        per_az[plan.placements[i].instance % 3]++;
    /* 2 + 4 = 6 tasks over 3 zones: 2 each. */
    cr_assert_eq(per_az[0], 0);
    cr_assert_eq(per_az[1], 2);
    cr_assert_eq(per_az[2], 2);
    sched_plan_done(&plan);
    fx_done(&f);
}

Test(sched_select, default_strategies_spread_zones_then_instances)
{
    struct fx_cluster f;
    struct sched_plan plan;
    unsigned counts[FX_MAX];
    struct sched_task_needs needs = {.res = {10, 10}};
    struct sched_place_request req = {.group = "service:web", .needs = &needs, .count = 9};

    fx_init(&f, 9, 4096, 4096);
    sched_plan_init(&plan);
    place(&f, &req, &plan);
    fx_count(&plan, counts);
    for (size_t i = 0; i < 9; i++)
        cr_assert_eq(counts[i], 1, "instance %zu got %u", i, counts[i]);
    sched_plan_done(&plan);
    fx_done(&f);
}

Test(sched_select, strategies_apply_in_order_later_ones_break_ties)
{
    struct fx_cluster f;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {10, 100}};
    struct sched_strategy s[] = {
        {.type = SCHED_STRATEGY_SPREAD,
         .field = SCHED_FIELD_ATTRIBUTE,
         .attribute = "ecs.availability-zone"},
        {.type = SCHED_STRATEGY_BINPACK, .field = SCHED_FIELD_MEMORY},
    };
    uint32_t existing[] = {0, 1}; /* zones a and b have one each */
    struct sched_place_request req = {.group = "service:web",
                                      .needs = &needs,
                                      .strategies = s,
                                      .n_strategies = 2,
                                      .group_instances = existing,
                                      .n_group_instances = 2,
                                      .count = 1};

    fx_init(&f, 6, 4096, 4096);
    f.inst[3].remaining.memory = 200;  /* zone a, fullest overall: spread wins over binpack */
    f.inst[5].remaining.memory = 1000; /* zone c, fuller than i2 */
    sched_plan_init(&plan);
    place(&f, &req, &plan);
    cr_assert_eq(plan.placements[0].instance, 5);
    sched_plan_done(&plan);
    fx_done(&f);
}

Test(sched_select, random_is_reproducible_and_uses_several_instances)
{
    struct fx_cluster f;
    struct sched_plan a, b;
    unsigned counts[FX_MAX];
    struct sched_task_needs needs = {.res = {1, 1}};
    struct sched_strategy s = {.type = SCHED_STRATEGY_RANDOM};
    struct sched_place_request req = {.group = "service:web",
                                      .needs = &needs,
                                      .strategies = &s,
                                      .n_strategies = 1,
                                      .count = 40,
                                      .seed = 42};
    size_t used = 0;

    fx_init(&f, 8, 4096, 4096);
    sched_plan_init(&a);
    sched_plan_init(&b);
    place(&f, &req, &a);
    place(&f, &req, &b);
    cr_assert_eq(a.n_placements, 40);
    for (size_t i = 0; i < 40; i++)
        cr_assert_eq(a.placements[i].instance, b.placements[i].instance);
    fx_count(&a, counts);
    for (size_t i = 0; i < 8; i++)
        used += counts[i] > 0;
    cr_assert_geq(used, 6, "40 random placements touched only %zu of 8 instances", used);
    sched_plan_done(&a);
    sched_plan_done(&b);
    fx_done(&f);
}

Test(sched_select, distinct_instance_places_one_per_instance)
{
    struct fx_cluster f;
    struct sched_plan plan;
    unsigned counts[FX_MAX];
    struct sched_task_needs needs = {.res = {10, 10}};
    struct sched_constraint k = {.type = SCHED_CONSTRAINT_DISTINCT_INSTANCE};
    uint32_t existing[] = {1};
    struct sched_place_request req = {.group = "service:web",
                                      .service_name = "web",
                                      .needs = &needs,
                                      .constraints = &k,
                                      .n_constraints = 1,
                                      .group_instances = existing,
                                      .n_group_instances = 1,
                                      .count = 5};

    fx_init(&f, 4, 4096, 4096);
    sched_plan_init(&plan);
    struct sched_place_result res = place(&f, &req, &plan);
    cr_assert_eq(res.placed, 3);
    cr_assert_eq(res.unplaced, 2);
    fx_count(&plan, counts);
    cr_assert_eq(counts[1], 0);
    cr_assert_eq(res.closest_reject, SCHED_REJECT_DISTINCT);
    cr_assert_not_null(strstr(res.reason, "distinctInstance"));
    sched_place_result_done(&res);
    sched_plan_done(&plan);
    fx_done(&f);
}

Test(sched_select, member_of_limits_candidates)
{
    struct fx_cluster f;
    struct sched_plan plan;
    struct cm_error *err = NULL;
    struct sched_task_needs needs = {.res = {10, 10}};
    struct sched_query *q = sched_query_parse(
        "attribute:ecs.instance-type == m5.xlarge and attribute:ecs.availability-zone != "
        "us-east-1b",
        &err);
    struct sched_constraint k = {.type = SCHED_CONSTRAINT_MEMBER_OF, .query = q};
    struct sched_place_request req = {
        .group = "service:web", .needs = &needs, .constraints = &k, .n_constraints = 1, .count = 6};

    cr_assert_not_null(q);
    fx_init(&f, 12, 4096, 4096);
    sched_plan_init(&plan);
    place(&f, &req, &plan);
    cr_assert_eq(plan.n_placements, 6);
    for (size_t i = 0; i < plan.n_placements; i++) {
        uint32_t idx = plan.placements[i].instance;
        cr_assert(idx % 2 == 1 && idx % 3 != 1, "instance %u violates memberOf", idx);
    }
    sched_plan_done(&plan);
    sched_query_free(q);
    fx_done(&f);
}

Test(sched_select, host_ports_allow_one_copy_per_instance)
{
    struct fx_cluster f;
    struct sched_plan plan;
    unsigned counts[FX_MAX];
    uint32_t port = SCHED_PORT_KEY(SCHED_PROTO_TCP, 80);
    struct sched_task_needs needs = {
        .res = {10, 10}, .network_mode = SCHED_NET_HOST, .ports = &port, .n_ports = 1};
    struct sched_place_request req = {
        .group = "service:web", .service_name = "web", .needs = &needs, .count = 5};

    fx_init(&f, 3, 4096, 4096);
    sched_instance_add_ports(&f.inst[0], &port, 1); /* someone else holds :80 on i0 */
    sched_plan_init(&plan);
    struct sched_place_result res = place(&f, &req, &plan);
    fx_count(&plan, counts);
    cr_assert_eq(res.placed, 2);
    cr_assert_eq(counts[0], 0);
    cr_assert_eq(counts[1], 1);
    cr_assert_eq(counts[2], 1);
    cr_assert_eq(res.closest_reject, SCHED_REJECT_PORTS);
    cr_assert_not_null(strstr(res.reason, "is already using a port required by your task"));
    sched_place_result_done(&res);
    sched_plan_done(&plan);
    fx_done(&f);
}

/* ECS's wording, with the instance that got furthest down the chain. */
Test(sched_select, unplaceable_message_names_closest_instance)
{
    struct fx_cluster f;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {512, 1024}};
    struct sched_place_request req = {
        .group = "service:web", .service_name = "web", .needs = &needs, .count = 1};

    fx_init(&f, 3, 1024, 4096);
    f.inst[0].status = SCHED_INSTANCE_DRAINING;
    f.inst[1].remaining.cpu = 100;     /* fails at CPU */
    f.inst[2].remaining.memory = 1000; /* fails at memory: got further */
    sched_plan_init(&plan);
    struct sched_place_result res = place(&f, &req, &plan);
    cr_assert_eq(res.placed, 0);
    cr_assert_eq(res.unplaced, 1);
    cr_assert_eq(res.closest_instance, 2);
    cr_assert_eq(res.closest_reject, SCHED_REJECT_MEMORY);
    cr_assert_str_eq(res.reason,
                     "service web was unable to place a task because no container instance met all "
                     "of its requirements. The closest matching container-instance i2 has "
                     "insufficient memory available. For more information, see the "
                     "Troubleshooting section of the Amazon ECS Developer Guide.");
    sched_place_result_done(&res);
    sched_plan_done(&plan);
    fx_done(&f);
}

Test(sched_select, unplaceable_message_cpu_and_no_instances)
{
    struct fx_cluster f;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {2048, 10}};
    struct sched_place_request req = {
        .group = "service:api", .service_name = "api", .needs = &needs, .count = 2};

    fx_init(&f, 2, 1024, 4096);
    sched_plan_init(&plan);
    struct sched_place_result res = place(&f, &req, &plan);
    cr_assert_eq(res.unplaced, 2);
    cr_assert_not_null(strstr(res.reason, "has insufficient CPU units available."));
    sched_place_result_done(&res);

    f.c.n_instances = 0;
    res = place(&f, &req, &plan);
    cr_assert_str_eq(res.reason,
                     "service api was unable to place a task because no container instance met all "
                     "of its requirements. Reason: No Container Instances were found in your "
                     "cluster. For more information, see the Troubleshooting section of the Amazon "
                     "ECS Developer Guide.");
    sched_place_result_done(&res);
    f.c.n_instances = 2;
    sched_plan_done(&plan);
    fx_done(&f);
}

Test(sched_select, malformed_requests_are_rejected)
{
    struct fx_cluster f;
    struct sched_plan plan;
    struct sched_place_result res;
    struct cm_error *err = NULL;
    struct sched_task_needs needs = {.res = {1, 1}};
    struct sched_constraint k = {.type = SCHED_CONSTRAINT_MEMBER_OF, .query = NULL};
    struct sched_place_request req = {.needs = NULL, .count = 1};

    fx_init(&f, 1, 10, 10);
    sched_plan_init(&plan);
    cr_assert_eq(sched_place(&f.c, &req, 0, &plan, &res, &err), -1);
    cm_error_free(&err);
    req.needs = &needs;
    req.constraints = &k;
    req.n_constraints = 1;
    needs.res.cpu = -1;
    cr_assert_eq(sched_place(&f.c, &req, 0, &plan, &res, &err), -1);
    cr_assert_not_null(strstr(err->msg, "negative"));
    cm_error_free(&err);
    needs.res.cpu = 1;
    cr_assert_eq(sched_place(&f.c, &req, 0, &plan, &res, &err), -1);
    cr_assert_not_null(strstr(err->msg, "memberOf"));
    cr_assert_null(res.reason, "the result is cleared even on failure");
    sched_place_result_done(&res);
    cm_error_free(&err);
    sched_plan_done(&plan);
    fx_done(&f);
}

/* ---- large clusters: the sampling bound and the does-not-fit cache ---- */

struct big {
    struct sched_cluster c;
    struct sched_instance *inst;
    char (*ids)[24];
};

static void
big_init(struct big *b, size_t n, int mem)
{
    b->inst = xcalloc(n, sizeof(*b->inst));
    b->ids = xcalloc(n, sizeof(*b->ids));
    for (size_t i = 0; i < n; i++) {
        snprintf(b->ids[i], sizeof(b->ids[i]), "i%zu", i);
        sched_instance_init(&b->inst[i], b->ids[i], (struct sched_resources){65536, mem});
    }
    b->c.instances = b->inst;
    b->c.n_instances = n;
}

static void
big_done(struct big *b)
{
    for (size_t i = 0; i < b->c.n_instances; i++)
        sched_instance_done(&b->inst[i]);
    free(b->inst);
    free(b->ids);
}

struct sampling_case {
    size_t n;
    uint32_t limit; /* expected default limit: max(2, ceil(log2 n)) */
};

ParameterizedTestParameters(sched_select, sampling_bound)
{
    static struct sampling_case cases[] = {{2, 2}, {16, 4}, {1000, 10}, {4096, 12}, {10000, 14}};
    return cr_make_param_array(struct sampling_case, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Binpack scores only `limit` feasible candidates per placement, whatever the cluster size. */
ParameterizedTest(struct sampling_case *sc, sched_select, sampling_bound)
{
    struct big b;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {1, 1}};
    struct sched_strategy s = {.type = SCHED_STRATEGY_BINPACK, .field = SCHED_FIELD_MEMORY};
    struct sched_place_request req = {.group = "service:web",
                                      .needs = &needs,
                                      .strategies = &s,
                                      .n_strategies = 1,
                                      .count = 100,
                                      .seed = 1};
    struct sched_place_result res;

    big_init(&b, sc->n, 1 << 20);
    sched_plan_init(&plan);
    cr_assert_eq(sched_place(&b.c, &req, 0, &plan, &res, NULL), 0);
    cr_assert_eq(res.placed, 100);
    cr_assert_eq(res.examined, 100 * sc->limit, "n=%zu: examined %u, want %u", sc->n, res.examined,
                 100 * sc->limit);
    sched_place_result_done(&res);
    sched_plan_done(&plan);
    big_done(&b);
}

/* A full cluster is scanned once per round, not once per task. */
Test(sched_select, does_not_fit_cache_makes_failures_cheap)
{
    struct big b;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {1, 512}};
    struct sched_place_request req = {
        .group = "service:web", .service_name = "web", .needs = &needs, .count = 500};
    struct sched_place_result res;

    big_init(&b, 1000, 256);
    b.inst[999].remaining.memory = 300; /* the closest one */
    req.count = 2000000000; /* a hostile count costs nothing more once the round is full */
    sched_plan_init(&plan);
    cr_assert_eq(sched_place(&b.c, &req, 0, &plan, &res, NULL), 0);
    cr_assert_eq(res.unplaced, 2000000000);
    cr_assert_eq(res.examined, 1000);
    cr_assert_eq(res.closest_reject, SCHED_REJECT_MEMORY);
    sched_place_result_done(&res);
    sched_plan_done(&plan);
    big_done(&b);
}

/* Capacity runs out mid-round: every task that fits is placed, no instance is overfilled. */
Test(sched_select, round_never_overcommits)
{
    struct big b;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {100, 300}};
    struct sched_place_request req = {.group = "service:web", .needs = &needs, .count = 1000};
    struct sched_place_result res;
    unsigned *per = xcalloc(200, sizeof(*per));

    big_init(&b, 200, 1000); /* 3 tasks each: 600 fit */
    sched_plan_init(&plan);
    cr_assert_eq(sched_place(&b.c, &req, 0, &plan, &res, NULL), 0);
    cr_assert_eq(res.placed, 600);
    cr_assert_eq(res.unplaced, 400);
    for (size_t i = 0; i < plan.n_placements; i++)
        per[plan.placements[i].instance]++;
    for (size_t i = 0; i < 200; i++)
        cr_assert_eq(per[i], 3);
    free(per);
    sched_place_result_done(&res);
    sched_plan_done(&plan);
    big_done(&b);
}

Test(sched_select, strategy_from_ecs)
{
    struct sched_strategy s;
    struct cm_error *err = NULL;

    cr_assert_eq(sched_strategy_from_ecs("spread", "attribute:ecs.availability-zone", &s, &err), 0);
    cr_assert_eq(s.field, SCHED_FIELD_ATTRIBUTE);
    cr_assert_str_eq(s.attribute, "ecs.availability-zone");
    cr_assert_eq(sched_strategy_from_ecs("spread", "host", &s, &err), 0);
    cr_assert_eq(s.field, SCHED_FIELD_INSTANCE_ID);
    cr_assert_eq(sched_strategy_from_ecs("binpack", "MEMORY", &s, &err), 0);
    cr_assert_eq(s.field, SCHED_FIELD_MEMORY);
    cr_assert_eq(sched_strategy_from_ecs("random", NULL, &s, &err), 0);
    cr_assert_eq(sched_strategy_from_ecs("binpack", "disk", &s, &err), -1);
    cr_assert_not_null(strstr(err->msg, "'disk'"));
    cm_error_free(&err);
    cr_assert_eq(sched_strategy_from_ecs("spread", "attribute:", &s, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(sched_strategy_from_ecs("pack", "cpu", &s, &err), -1);
    cm_error_free(&err);
}

/* Sampling must not ruin spread: 3,000 tasks with ECS's default strategies over 1,000
 * instances in 3 zones stay balanced per zone and per instance. */
Test(sched_select, sampled_spread_stays_balanced)
{
    struct big b;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {1, 1}};
    struct sched_attr zones[3][1] = {{{"ecs.availability-zone", "a"}},
                                     {{"ecs.availability-zone", "b"}},
                                     {{"ecs.availability-zone", "c"}}};
    uint32_t *placed = xcalloc(3000, sizeof(*placed));
    unsigned *per = xcalloc(1000, sizeof(*per));
    unsigned per_zone[3] = {0}, max_per = 0;
    size_t n_placed = 0;

    big_init(&b, 1000, 1 << 20);
    for (size_t i = 0; i < 1000; i++) {
        b.inst[i].attrs = zones[i % 3];
        b.inst[i].n_attrs = 1;
    }
    sched_plan_init(&plan);
    /* Ten rounds of 300, each seeing the group's earlier placements, as the daemon does. */
    for (int round = 0; round < 10; round++) {
        struct sched_place_result res;
        struct sched_place_request req = {.group = "service:web",
                                          .needs = &needs,
                                          .group_instances = placed,
                                          .n_group_instances = n_placed,
                                          .count = 300,
                                          .seed = (uint64_t)round + 11};
        sched_plan_reset(&plan);
        cr_assert_eq(sched_place(&b.c, &req, 0, &plan, &res, NULL), 0);
        cr_assert_eq(res.placed, 300);
        for (size_t i = 0; i < plan.n_placements; i++)
            placed[n_placed++] = plan.placements[i].instance;
        sched_place_result_done(&res);
    }
    for (size_t i = 0; i < n_placed; i++) {
        per[placed[i]]++;
        per_zone[placed[i] % 3]++;
    }
    for (size_t i = 0; i < 1000; i++)
        max_per = per[i] > max_per ? per[i] : max_per;
    /* 1000 instances: zone a has 334, b and c 333; 3000 tasks = 1000 per zone. */
    for (int z = 0; z < 3; z++)
        cr_assert(per_zone[z] >= 999 && per_zone[z] <= 1001, "zone %d has %u", z, per_zone[z]);
    cr_assert_leq(max_per, 5, "an instance got %u tasks (average 3)", max_per);
    free(placed);
    free(per);
    sched_plan_done(&plan);
    big_done(&b);
}

/* Spread-only strategies stop sampling once the best candidate cannot be beaten: in a
 * large, mostly empty cluster a placement costs a handful of candidates, not 100, and the
 * result is as balanced as ever. Binpack keeps its fixed sample (sampling_bound). */
Test(sched_select, spread_stops_sampling_at_the_best_score)
{
    struct big b;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {1, 1}};
    struct sched_attr zones[3][1] = {{{"ecs.availability-zone", "a"}},
                                     {{"ecs.availability-zone", "b"}},
                                     {{"ecs.availability-zone", "c"}}};
    unsigned *per = xcalloc(10000, sizeof(*per));
    unsigned per_zone[3] = {0};

    big_init(&b, 10000, 1 << 20);
    for (size_t i = 0; i < 10000; i++) {
        b.inst[i].attrs = zones[i % 3];
        b.inst[i].n_attrs = 1;
    }
    sched_plan_init(&plan);
    struct sched_place_result res;
    struct sched_place_request req = {
        .group = "service:web", .needs = &needs, .count = 1000, .seed = 5};
    cr_assert_eq(sched_place(&b.c, &req, 0, &plan, &res, NULL), 0);
    cr_assert_eq(res.placed, 1000);
    cr_assert_lt(res.examined, 1000 * 20, "examined %u for 1000 placements", res.examined);
    cr_assert_geq(res.examined, 1000 * 8, "at least 8 candidates each, examined %u", res.examined);
    for (size_t i = 0; i < plan.n_placements; i++) {
        per[plan.placements[i].instance]++;
        per_zone[plan.placements[i].instance % 3]++;
    }
    for (size_t i = 0; i < 10000; i++)
        cr_assert_leq(per[i], 1, "instance %zu got %u tasks of the group", i, per[i]);
    for (int z = 0; z < 3; z++)
        cr_assert(per_zone[z] >= 333 && per_zone[z] <= 334, "zone %d has %u", z, per_zone[z]);
    sched_place_result_done(&res);
    free(per);
    sched_plan_done(&plan);
    big_done(&b);
}

/* Instances that cannot take work are never chosen, however large the cluster. */
Test(sched_select, large_cluster_skips_unusable_instances)
{
    struct big b;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {1, 1}};
    struct sched_place_request req = {.group = "service:web", .needs = &needs, .count = 2000};
    struct sched_place_result res;

    big_init(&b, 5000, 1 << 20);
    for (size_t i = 0; i < 5000; i++) {
        if (i % 3 == 0)
            b.inst[i].status = SCHED_INSTANCE_DRAINING;
        else if (i % 3 == 1)
            b.inst[i].agent_connected = false;
    }
    sched_plan_init(&plan);
    cr_assert_eq(sched_place(&b.c, &req, 0, &plan, &res, NULL), 0);
    cr_assert_eq(res.placed, 2000);
    for (size_t i = 0; i < plan.n_placements; i++)
        cr_assert_eq(plan.placements[i].instance % 3, 2);
    sched_place_result_done(&res);
    sched_plan_done(&plan);
    big_done(&b);
}

struct msg_case {
    int setup; /* 0 inactive, 1 draining, 2 agent, 3 cpu, 4 memory, 5 port, 6 attr, 7 memberOf */
    char tail[96];
};

ParameterizedTestParameters(sched_select, unplaceable_messages)
{
    static struct msg_case cases[] = {
        {0, "Reason: No Container Instances were found in your cluster."},
        {1, "Reason: No Container Instances were found in your cluster."},
        {2, "The closest matching container-instance i0 encountered error \"AGENT\"."},
        {3, "The closest matching container-instance i0 has insufficient CPU units available."},
        {4, "The closest matching container-instance i0 has insufficient memory available."},
        {5, "The closest matching container-instance i0 is already using a port required by your "
            "task."},
        {6, "The closest matching container-instance i0 is missing an attribute required by your "
            "task."},
        {7, "The closest matching container-instance i0 is missing an attribute required by your "
            "task."},
    };
    return cr_make_param_array(struct msg_case, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Every ECS variant of the event, on a one-instance cluster. */
ParameterizedTest(struct msg_case *mc, sched_select, unplaceable_messages)
{
    struct fx_cluster f;
    struct sched_plan plan;
    struct cm_error *err = NULL;
    uint32_t port = SCHED_PORT_KEY(SCHED_PROTO_TCP, 80);
    const char *need_attr[] = {"ecs.capability.secrets.asm.environment-variables"};
    struct sched_task_needs needs = {.res = {100, 100}, .ports = &port, .n_ports = 1};
    struct sched_query *q = sched_query_parse("attribute:ecs.os-type == windows", &err);
    struct sched_constraint k = {.type = SCHED_CONSTRAINT_MEMBER_OF, .query = q};
    struct sched_place_request req = {
        .group = "service:web", .service_name = "web", .needs = &needs, .count = 1};
    char *want;

    fx_init(&f, 1, 1024, 1024);
    switch (mc->setup) {
    case 0:
        f.inst[0].status = SCHED_INSTANCE_INACTIVE;
        break;
    case 1:
        f.inst[0].status = SCHED_INSTANCE_DRAINING;
        break;
    case 2:
        f.inst[0].agent_connected = false;
        break;
    case 3:
        needs.res.cpu = 2048;
        break;
    case 4:
        needs.res.memory = 2048;
        break;
    case 5:
        sched_instance_add_ports(&f.inst[0], &port, 1);
        break;
    case 6:
        needs.required_attrs = need_attr;
        needs.n_required_attrs = 1;
        break;
    case 7:
        req.constraints = &k;
        req.n_constraints = 1;
        break;
    default:
        break;
    }
    sched_plan_init(&plan);
    struct sched_place_result res = place(&f, &req, &plan);
    want = xasprintf("service web was unable to place a task because no container instance met "
                     "all of its requirements. %s For more information, see the Troubleshooting "
                     "section of the Amazon ECS Developer Guide.",
                     mc->tail);
    cr_assert_eq(res.unplaced, 1);
    cr_assert_str_eq(res.reason, want);
    free(want);
    sched_place_result_done(&res);
    sched_plan_done(&plan);
    sched_query_free(q);
    fx_done(&f);
}

/* RunTask has no service: the text starts with "unable to place a task". */
Test(sched_select, unplaceable_message_without_service)
{
    struct fx_cluster f;
    struct sched_plan plan;
    struct sched_task_needs needs = {.res = {1, 4096}};
    struct sched_place_request req = {.group = "family:web", .needs = &needs, .count = 1};

    fx_init(&f, 1, 1024, 1024);
    sched_plan_init(&plan);
    struct sched_place_result res = place(&f, &req, &plan);
    cr_assert(strncmp(res.reason, "unable to place a task because no container instance", 52) == 0,
              "%s", res.reason);
    cr_assert_str_eq(sched_reject_ecs_reason(res.closest_reject), "RESOURCE:MEMORY");
    sched_place_result_done(&res);
    sched_plan_done(&plan);
    fx_done(&f);
}
