/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the placement files (feasible.c, rank.c, select.c, plan.c): the per-round
 * overlay, the feasibility core and a small deterministic PRNG. Private to scheduler/. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sched/placement.h"

/* splitmix64: tiny, fast, and good enough for shuffling candidates; seeded per request so
 * placement is reproducible in tests. */
static inline uint64_t
sched_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) (n > 0); the modulo bias is irrelevant at our sizes. */
static inline uint32_t
sched_rng_below(uint64_t *state, uint32_t n)
{
    return (uint32_t)(sched_rng_next(state) % n);
}

/* Host ports a task really takes: only bridge and host network modes bind ports on the
 * instance (awsvpc tasks get their own interface, none have no network). */
static inline size_t
sched_host_ports(const struct sched_task_needs *needs)
{
    return needs->network_mode == SCHED_NET_BRIDGE || needs->network_mode == SCHED_NET_HOST
               ? needs->n_ports
               : 0;
}

/* What this round has already promised on one instance. */
struct sched_slot {
    int32_t cpu;
    int32_t memory;
    uint32_t group;  /* live tasks of the request's group, existing + placed this round */
    uint32_t placed; /* placed this round (same task definition, so same host ports) */
};

/* The feasibility chain on one instance given what the round already took there. STATIC_OK:
 * the instance already passed the checks that cannot change within a round (status, agent,
 * requiresAttributes, memberOf), so only resources and distinctInstance are looked at. */
enum sched_reject sched_check(const struct sched_cluster *c, uint32_t index,
                              const struct sched_place_request *req, const struct sched_slot *slot,
                              bool static_ok);

/* Ranking: per-round state for the strategies (spread counts per attribute value). */
struct sched_ranker;

struct sched_ranker *sched_ranker_new(const struct sched_cluster *c,
                                      const struct sched_place_request *req,
                                      const struct sched_strategy *strategies, size_t n);
void sched_ranker_free(struct sched_ranker *r);
/* Fills SCORE (one per strategy, higher is better) for placing one task on INDEX. */
void sched_ranker_score(struct sched_ranker *r, uint32_t index, const struct sched_slot *slot,
                        uint64_t *rng, double *score);
/* Records a placement on INDEX (spread counts). */
void sched_ranker_placed(struct sched_ranker *r, uint32_t index);
/* Whether SCORE cannot be beaten by another candidate: every strategy is spread and at its
 * best value (no task of the group on the instance; the least-used attribute value among
 * those seen so far). Binpack and random have no such bound. */
bool sched_ranker_at_best(const struct sched_ranker *r, const double *score);
size_t sched_ranker_n(const struct sched_ranker *r);
bool sched_ranker_has_spread(const struct sched_ranker *r);
