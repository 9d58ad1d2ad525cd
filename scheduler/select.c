/* SPDX-License-Identifier: Apache-2.0 */
/* Selection, Nomad-shaped: visit instances in a random order (random start, random stride
 * coprime to n, so no O(n) shuffle), keep the first LIMIT feasible ones, score them, take the
 * best. An instance found infeasible is remembered for the rest of the round ("does not fit"
 * cache): within a round capacity only shrinks, so the answer cannot change. When a full pass
 * finds nothing, the round is exhausted and the remaining tasks fail at once. Instances that
 * passed once skip the checks that cannot change within a round (memberOf expressions). With
 * spread strategies only, sampling stops early once the best candidate is at the best possible
 * score (no task of the group there, least-used attribute value): more samples cannot win. */
#include "sched/placement.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cm/error.h"
#include "cm/xalloc.h"
#include "placement-internal.h"

#define MAX_STRATEGIES 8
#define SPREAD_LIMIT 100
#define EARLY_MIN 8

static const struct sched_strategy default_strategies[] = {
    {.type = SCHED_STRATEGY_SPREAD,
     .field = SCHED_FIELD_ATTRIBUTE,
     .attribute = "ecs.availability-zone"},
    {.type = SCHED_STRATEGY_SPREAD, .field = SCHED_FIELD_INSTANCE_ID},
};

void
sched_place_result_done(struct sched_place_result *res)
{
    free(res->reason);
    memset(res, 0, sizeof(*res));
    res->closest_instance = SCHED_NO_INSTANCE;
}

static uint32_t
log2_ceil(uint64_t n)
{
    return n <= 1 ? 0 : 64 - (uint32_t)__builtin_clzll(n - 1);
}

static uint64_t
gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static uint32_t
default_limit(size_t n, bool spread)
{
    uint32_t l = log2_ceil(n);
    if (l < 2)
        l = 2;
    if (spread && l < SPREAD_LIMIT)
        l = SPREAD_LIMIT;
    return l;
}

static char *
unplaceable_message(const struct sched_cluster *c, const struct sched_place_request *req,
                    enum sched_reject closest, uint32_t index)
{
    static const char head[] =
        "was unable to place a task because no container instance met all of its requirements.";
    static const char tail[] =
        "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";
    const char *what = NULL;
    char *prefix = req->service_name ? xasprintf("service %s %s", req->service_name, head)
                                     : xasprintf("%s", head + 4 /* "unable ..." */);
    char *msg;

    switch (closest) {
    case SCHED_REJECT_NONE:
    case SCHED_REJECT_INACTIVE:
    case SCHED_REJECT_STATUS:
        msg = xasprintf("%s Reason: No Container Instances were found in your cluster. %s", prefix,
                        tail);
        free(prefix);
        return msg;
    case SCHED_REJECT_AGENT:
        what = "encountered error \"AGENT\".";
        break;
    case SCHED_REJECT_CPU:
        what = "has insufficient CPU units available.";
        break;
    case SCHED_REJECT_MEMORY:
        what = "has insufficient memory available.";
        break;
    case SCHED_REJECT_PORTS:
        what = "is already using a port required by your task.";
        break;
    case SCHED_REJECT_ATTRIBUTE:
    case SCHED_REJECT_MEMBER_OF:
        what = "is missing an attribute required by your task.";
        break;
    case SCHED_REJECT_DISTINCT:
        what = "is already running a task of this group (distinctInstance placement constraint).";
        break;
    }
    msg = xasprintf("%s The closest matching container-instance %s %s %s", prefix,
                    c->instances[index].id ? c->instances[index].id : "?", what, tail);
    free(prefix);
    return msg;
}

/* Lexicographic: the first strategy decides, later ones break ties. */
static bool
better(const double *a, const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] > b[i])
            return true;
        if (a[i] < b[i])
            return false;
    }
    return false;
}

int
sched_place(const struct sched_cluster *snapshot, const struct sched_place_request *req,
            uint32_t tag, struct sched_plan *plan, struct sched_place_result *ret,
            struct cm_error **err)
{
    const struct sched_strategy *strategies = req->strategies;
    size_t n_strategies = req->n_strategies;
    size_t n = snapshot->n_instances;
    struct sched_ranker *rk = NULL;
    struct sched_slot *slots = NULL;
    uint64_t *nofit = NULL, *static_ok = NULL;
    uint64_t rng = req->seed ^ 0x5851f42d4c957f2dULL;
    uint32_t limit, stride = 1;
    double score[MAX_STRATEGIES], best[MAX_STRATEGIES];

    /* RET is valid even on failure, so that callers may always call _done on it. */
    memset(ret, 0, sizeof(*ret));
    ret->closest_instance = SCHED_NO_INSTANCE;
    if (!req->needs)
        return cm_error_set(err, EINVAL, "placement request without task needs");
    if (req->needs->res.cpu < 0 || req->needs->res.memory < 0)
        return cm_error_set(err, EINVAL, "negative cpu or memory in a placement request");
    if (n_strategies > MAX_STRATEGIES)
        return cm_error_set(err, EINVAL, "at most %d placement strategies", MAX_STRATEGIES);
    if (n_strategies == 0) {
        strategies = default_strategies;
        n_strategies = sizeof(default_strategies) / sizeof(default_strategies[0]);
    }
    for (size_t i = 0; i < n_strategies; i++)
        if (strategies[i].field == SCHED_FIELD_ATTRIBUTE && !strategies[i].attribute)
            return cm_error_set(err, EINVAL, "spread on an attribute without its name");
    for (size_t i = 0; i < req->n_constraints; i++)
        if (req->constraints[i].type == SCHED_CONSTRAINT_MEMBER_OF && !req->constraints[i].query)
            return cm_error_set(err, EINVAL, "memberOf constraint without an expression");

    if (req->count == 0)
        return 0;
    if (n == 0) {
        ret->unplaced = req->count;
        ret->reason = unplaceable_message(snapshot, req, SCHED_REJECT_NONE, 0);
        return 0;
    }

    rk = sched_ranker_new(snapshot, req, strategies, n_strategies);
    limit = req->limit ? req->limit : default_limit(n, sched_ranker_has_spread(rk));
    slots = xcalloc(n, sizeof(*slots));
    nofit = xcalloc((n + 63) / 64, sizeof(*nofit));
    static_ok = xcalloc((n + 63) / 64, sizeof(*static_ok));
    for (size_t i = 0; i < req->n_group_instances; i++)
        if (req->group_instances[i] < n)
            slots[req->group_instances[i]].group++;
    if (n > 1) {
        stride = 1 + sched_rng_below(&rng, (uint32_t)n - 1);
        while (gcd(stride, n) != 1)
            stride = stride % ((uint32_t)n - 1) + 1;
    }

    for (uint32_t t = 0; t < req->count; t++) {
        uint32_t found = 0, best_i = SCHED_NO_INSTANCE;
        uint32_t i = sched_rng_below(&rng, (uint32_t)n);

        for (size_t v = 0; v < n && found < limit; v++) {
            if (v) {
                i += stride;
                if (i >= n)
                    i -= (uint32_t)n;
            }
            if (nofit[i / 64] & (1ULL << (i % 64)))
                continue;
            ret->examined++;
            bool known = static_ok[i / 64] & (1ULL << (i % 64));
            enum sched_reject why = sched_check(snapshot, i, req, &slots[i], known);
            if (why != SCHED_REJECT_NONE) {
                nofit[i / 64] |= 1ULL << (i % 64);
                if (ret->closest_instance == SCHED_NO_INSTANCE || why > ret->closest_reject) {
                    ret->closest_reject = why;
                    ret->closest_instance = i;
                }
                continue;
            }
            static_ok[i / 64] |= 1ULL << (i % 64);
            found++;
            sched_ranker_score(rk, i, &slots[i], &rng, score);
            if (best_i == SCHED_NO_INSTANCE || better(score, best, n_strategies)) {
                best_i = i;
                memcpy(best, score, n_strategies * sizeof(*score));
            }
            /* Nothing can beat the best any more (ties never replace it): stop sampling.
             * A few candidates first, so that the attribute values are known. */
            if (found >= EARLY_MIN && sched_ranker_at_best(rk, best))
                break;
        }
        if (best_i == SCHED_NO_INSTANCE) {
            /* A full pass found nothing; capacity only shrinks within the round, so the rest
             * cannot be placed either. */
            ret->unplaced += req->count - t;
            break;
        }
        slots[best_i].cpu += req->needs->res.cpu;
        slots[best_i].memory += req->needs->res.memory;
        slots[best_i].group++;
        slots[best_i].placed++;
        sched_ranker_placed(rk, best_i);
        plan->placements = xreallocarray_grow(plan->placements, &plan->cap_placements,
                                              plan->n_placements + 1, sizeof(*plan->placements));
        plan->placements[plan->n_placements++] = (struct sched_placement){
            .instance = best_i,
            .needs = req->needs,
            .tag = tag,
        };
        ret->placed++;
    }
    if (ret->unplaced)
        ret->reason =
            unplaceable_message(snapshot, req, ret->closest_reject, ret->closest_instance);
    sched_ranker_free(rk);
    free(slots);
    free(nofit);
    free(static_ok);
    return 0;
}
