/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for deployment arithmetic (ECS rounding rules, circuit breaker threshold) and the
 * launch back-off curve. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "sched/reconcile.h"

struct bounds_case {
    uint32_t desired, min_pct, max_pct;
    uint32_t want_min, want_max;
};

ParameterizedTestParameters(sched_deploy, bounds)
{
    static struct bounds_case cases[] = {
        {4, 100, 200, 4, 8},  {4, 50, 100, 2, 4},
        {4, 0, 100, 0, 4},    {3, 50, 150, 2, 4},
        {3, 34, 133, 2, 3},   {1, 50, 150, 1, 1},
        {10, 75, 125, 8, 12}, {0, 100, 200, 0, 0},
        {7, 99, 199, 7, 13},  {5000, 100, 200, 5000, 10000},
    };
    return cr_make_param_array(struct bounds_case, cases, sizeof(cases) / sizeof(cases[0]));
}

/* minimumHealthyPercent rounds up, maximumPercent rounds down. */
ParameterizedTest(struct bounds_case *bc, sched_deploy, bounds)
{
    cr_assert_eq(sched_deploy_min_healthy(bc->desired, bc->min_pct), bc->want_min, "min(%u, %u%%)",
                 bc->desired, bc->min_pct);
    cr_assert_eq(sched_deploy_max_tasks(bc->desired, bc->max_pct), bc->want_max, "max(%u, %u%%)",
                 bc->desired, bc->max_pct);
}

struct threshold_case {
    uint32_t desired, want;
};

ParameterizedTestParameters(sched_deploy, circuit_breaker_threshold)
{
    static struct threshold_case cases[] = {{0, 3},     {1, 3},     {4, 3},     {6, 3},
                                            {7, 4},     {10, 5},    {11, 6},    {399, 200},
                                            {400, 200}, {401, 200}, {5000, 200}};
    return cr_make_param_array(struct threshold_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct threshold_case *tc, sched_deploy, circuit_breaker_threshold)
{
    cr_assert_eq(sched_deploy_failure_threshold(tc->desired), tc->want, "desired %u", tc->desired);
}

Test(sched_backoff, grows_to_fifteen_minutes_with_bounded_jitter)
{
    int64_t prev = 0;

    cr_assert_eq(sched_backoff_delay(0, 1), 0);
    cr_assert_eq(sched_backoff_delay(1, 1), 0, "one failure retries at once");
    for (uint32_t f = 2; f < 40; f++) {
        int64_t nominal = 10000LL << (f - 2 > 7 ? 7 : f - 2);
        if (nominal > 900000)
            nominal = 900000;
        for (uint64_t seed = 0; seed < 50; seed++) {
            int64_t d = sched_backoff_delay(f, seed);
            cr_assert_geq(d, nominal - nominal / 10, "failures %u seed %lu: %ld", f,
                          (unsigned long)seed, (long)d);
            cr_assert_leq(d, nominal + nominal / 10);
            cr_assert_leq(d, 900000, "never more than ECS's 15 minutes");
        }
        int64_t d = sched_backoff_delay(f, 7);
        if (f < 9)
            cr_assert_gt(d, prev, "grows: %u failures gave %ld after %ld", f, (long)d, (long)prev);
        prev = d;
    }
    cr_assert_eq(sched_backoff_next_attempt(3, 5000, 9), 5000 + sched_backoff_delay(3, 9));
    cr_assert_eq(sched_backoff_delay(UINT32_MAX, 3) <= 900000, true);
}

Test(sched_backoff, jitter_differs_between_seeds)
{
    int64_t first = sched_backoff_delay(5, 0);
    bool differs = false;

    for (uint64_t s = 1; s < 20 && !differs; s++)
        differs = sched_backoff_delay(5, s) != first;
    cr_assert(differs, "services failing together must not retry in lockstep");
}
