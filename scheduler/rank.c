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

/* Attribute value -> tasks of the group on instances with that value. */
struct value_count {
    const char *value; /* NULL: empty bucket */
    uint32_t count;
};

struct value_table {
    struct value_count *slots;
    size_t cap, used;
    uint32_t missing; /* instances without the attribute form one bucket of their own */
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

static void table_grow(struct value_table *t);

static uint32_t *
table_slot(struct value_table *t, const char *value, bool insert)
{
    if (!value)
        return &t->missing;
    if (insert && (t->used + 1) * 2 > t->cap)
        table_grow(t);
    if (t->cap == 0)
        return NULL;
    for (size_t i = hash_str(value) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        struct value_count *vc = &t->slots[i];
        if (!vc->value) {
            if (!insert)
                return NULL;
            vc->value = value;
            t->used++;
            return &vc->count;
        }
        if (strcmp(vc->value, value) == 0)
            return &vc->count;
    }
}

static void
table_grow(struct value_table *t)
{
    struct value_table bigger = {.cap = t->cap ? t->cap * 2 : 16, .missing = t->missing};

    bigger.slots = xcalloc(bigger.cap, sizeof(*bigger.slots));
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].value)
            *table_slot(&bigger, t->slots[i].value, true) = t->slots[i].count;
    free(t->slots);
    *t = bigger;
}

static uint32_t
table_get(struct value_table *t, const char *value)
{
    uint32_t *p = table_slot(t, value, false);
    return p ? *p : 0;
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
        for (size_t t = 0; t < req->n_group_instances; t++) {
            uint32_t idx = req->group_instances[t];
            if (idx >= c->n_instances)
                continue;
            const char *v = sched_instance_attr(&c->instances[idx], strategies[i].attribute);
            (*table_slot(&rk->r[i].values, v, true))++;
        }
    }
    return rk;
}

void
sched_ranker_free(struct sched_ranker *rk)
{
    if (!rk)
        return;
    for (size_t i = 0; i < rk->n; i++)
        free(rk->r[i].values.slots);
    free(rk->r);
    free(rk);
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
                score[i] =
                    -(double)table_get(&r->values, sched_instance_attr(inst, r->s.attribute));
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
        const char *v = sched_instance_attr(&rk->c->instances[index], r->s.attribute);
        (*table_slot(&r->values, v, true))++;
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
