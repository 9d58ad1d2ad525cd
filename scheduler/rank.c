/* SPDX-License-Identifier: Apache-2.0 */
/* Ranking: ECS placement strategies as scorers (higher is better), compared in the order the
 * strategies were given so that later ones only break ties, as ECS documents. Spread keeps
 * per-round counts of the group's tasks per attribute value. */
#include "sched/placement.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cm/error.h"
#include "cm/xalloc.h"
#include "placement-internal.h"

/* Attribute value -> small index (open addressing); counts live in a parallel array so that
 * an instance can remember its value's index for the whole round (one string lookup per
 * instance per round, not per score). Index 0 is "attribute missing". */
struct value_slot {
    const char *value; /* NULL: empty */
    uint32_t index;
};

struct value_table {
    struct value_slot *slots;
    size_t cap, used;
    uint32_t *counts; /* per value index: tasks of the group */
    size_t n_counts, cap_counts;
    uint32_t *by_instance; /* per instance: value index + 1, 0 = not looked up yet */
};

struct ranked {
    struct sched_strategy s;
    struct value_table values; /* SPREAD on an attribute only */
};

struct sched_ranker {
    const struct sched_cluster *c;
    const struct sched_place_request *req;
    struct ranked *r;
    size_t n;
    bool has_spread;
};

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static uint32_t
table_index(struct value_table *t, const char *value)
{
    if (!value)
        return 0;
    if ((t->used + 1) * 2 > t->cap) {
        struct value_slot *old = t->slots;
        size_t old_cap = t->cap;
        t->cap = t->cap ? t->cap * 2 : 16;
        t->slots = xcalloc(t->cap, sizeof(*t->slots));
        for (size_t i = 0; i < old_cap; i++) {
            if (!old[i].value)
                continue;
            size_t j = hash_str(old[i].value) & (t->cap - 1);
            while (t->slots[j].value)
                j = (j + 1) & (t->cap - 1);
            t->slots[j] = old[i];
        }
        free(old);
    }
    for (size_t i = hash_str(value) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        struct value_slot *vs = &t->slots[i];
        if (vs->value && strcmp(vs->value, value) == 0)
            return vs->index;
        if (!vs->value) {
            vs->value = value;
            vs->index = (uint32_t)t->n_counts;
            t->used++;
            t->counts =
                xreallocarray_grow(t->counts, &t->cap_counts, t->n_counts + 1, sizeof(*t->counts));
            t->counts[t->n_counts++] = 0;
            return vs->index;
        }
    }
}

/* Value index of instance I's attribute, looked up once per round. */
static uint32_t
instance_value(struct ranked *r, const struct sched_cluster *c, uint32_t i)
{
    struct value_table *t = &r->values;
    if (!t->by_instance[i])
        t->by_instance[i] =
            table_index(t, sched_instance_attr(&c->instances[i], r->s.attribute)) + 1;
    return t->by_instance[i] - 1;
}

struct sched_ranker *
sched_ranker_new(const struct sched_cluster *c, const struct sched_place_request *req,
                 const struct sched_strategy *strategies, size_t n)
{
    struct sched_ranker *rk = xcalloc(1, sizeof(*rk));

    rk->c = c;
    rk->req = req;
    rk->n = n;
    rk->r = xcalloc(n ? n : 1, sizeof(*rk->r));
    for (size_t i = 0; i < n; i++) {
        rk->r[i].s = strategies[i];
        if (strategies[i].type != SCHED_STRATEGY_SPREAD)
            continue;
        rk->has_spread = true;
        if (strategies[i].field != SCHED_FIELD_ATTRIBUTE)
            continue;
        struct value_table *vt = &rk->r[i].values;
        vt->by_instance = xcalloc(c->n_instances ? c->n_instances : 1, sizeof(*vt->by_instance));
        vt->counts = xreallocarray_grow(NULL, &vt->cap_counts, 1, sizeof(*vt->counts));
        vt->counts[vt->n_counts++] = 0; /* index 0: attribute missing */
        for (size_t t = 0; t < req->n_group_instances; t++) {
            uint32_t idx = req->group_instances[t];
            if (idx < c->n_instances)
                vt->counts[instance_value(&rk->r[i], c, idx)]++;
        }
    }
    return rk;
}

void
sched_ranker_free(struct sched_ranker *rk)
{
    if (!rk)
        return;
    for (size_t i = 0; i < rk->n; i++) {
        free(rk->r[i].values.slots);
        free(rk->r[i].values.counts);
        free(rk->r[i].values.by_instance);
    }
    free(rk->r);
    free(rk);
}

bool
sched_ranker_at_best(const struct sched_ranker *rk, const double *score)
{
    for (size_t i = 0; i < rk->n; i++) {
        const struct ranked *r = &rk->r[i];
        if (r->s.type != SCHED_STRATEGY_SPREAD)
            return false;
        if (r->s.field != SCHED_FIELD_ATTRIBUTE) {
            if (score[i] < 0)
                return false;
            continue;
        }
        /* Index 0 is "attribute missing": not a value to spread over. */
        for (size_t v = 1; v < r->values.n_counts; v++)
            if (-(double)r->values.counts[v] > score[i])
                return false;
    }
    return true;
}

size_t
sched_ranker_n(const struct sched_ranker *rk)
{
    return rk->n;
}

bool
sched_ranker_has_spread(const struct sched_ranker *rk)
{
    return rk->has_spread;
}

void
sched_ranker_score(struct sched_ranker *rk, uint32_t index, const struct sched_slot *slot,
                   uint64_t *rng, double *score)
{
    const struct sched_instance *inst = &rk->c->instances[index];
    const struct sched_task_needs *needs = rk->req->needs;

    for (size_t i = 0; i < rk->n; i++) {
        struct ranked *r = &rk->r[i];
        switch (r->s.type) {
        case SCHED_STRATEGY_BINPACK:
            /* Best fit: the least left over after placing wins. */
            if (r->s.field == SCHED_FIELD_CPU)
                score[i] = -((double)inst->remaining.cpu - slot->cpu - needs->res.cpu);
            else
                score[i] = -((double)inst->remaining.memory - slot->memory - needs->res.memory);
            break;
        case SCHED_STRATEGY_SPREAD:
            if (r->s.field == SCHED_FIELD_ATTRIBUTE)
                score[i] = -(double)r->values.counts[instance_value(r, rk->c, index)];
            else
                score[i] = -(double)slot->group;
            break;
        case SCHED_STRATEGY_RANDOM:
            score[i] = (double)(sched_rng_next(rng) >> 11);
            break;
        }
    }
}

void
sched_ranker_placed(struct sched_ranker *rk, uint32_t index)
{
    for (size_t i = 0; i < rk->n; i++) {
        struct ranked *r = &rk->r[i];
        if (r->s.type != SCHED_STRATEGY_SPREAD || r->s.field != SCHED_FIELD_ATTRIBUTE)
            continue;
        r->values.counts[instance_value(r, rk->c, index)]++;
    }
}

int
sched_strategy_from_ecs(const char *type, const char *field, struct sched_strategy *ret,
                        struct cm_error **err)
{
    struct sched_strategy s = {0};

    if (!type)
        return cm_error_set(err, 0, "placement strategy without a type");
    if (strcmp(type, "random") == 0) {
        s.type = SCHED_STRATEGY_RANDOM;
        s.field = SCHED_FIELD_NONE;
    } else if (strcmp(type, "binpack") == 0) {
        s.type = SCHED_STRATEGY_BINPACK;
        if (field && strcasecmp(field, "cpu") == 0)
            s.field = SCHED_FIELD_CPU;
        else if (field && strcasecmp(field, "memory") == 0)
            s.field = SCHED_FIELD_MEMORY;
        else
            return cm_error_set(err, 0, "binpack field must be 'cpu' or 'memory', not '%s'",
                                field ? field : "");
    } else if (strcmp(type, "spread") == 0) {
        s.type = SCHED_STRATEGY_SPREAD;
        if (field && (strcmp(field, "instanceId") == 0 || strcmp(field, "host") == 0)) {
            s.field = SCHED_FIELD_INSTANCE_ID;
        } else if (field && strncmp(field, "attribute:", 10) == 0 && field[10]) {
            s.field = SCHED_FIELD_ATTRIBUTE;
            s.attribute = field + 10;
        } else {
            return cm_error_set(err, 0,
                                "spread field must be 'instanceId', 'host' or "
                                "'attribute:NAME', not '%s'",
                                field ? field : "");
        }
    } else {
        return cm_error_set(err, 0,
                            "placement strategy type must be 'random', 'spread' or 'binpack', "
                            "not '%s'",
                            type);
    }
    *ret = s;
    return 0;
}
