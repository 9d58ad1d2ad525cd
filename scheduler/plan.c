/* SPDX-License-Identifier: Apache-2.0 */
/* Instance bookkeeping (resources, host-port sets) and the single plan applier: every plan
 * computed on a possibly stale snapshot is re-checked against current state and only what
 * still fits is committed (optimistic concurrency, as Nomad's plan applier and Omega do). */
#include "sched/placement.h"

#include <stdlib.h>
#include <string.h>

#include "cm/xalloc.h"
#include "placement-internal.h"

void
sched_instance_init(struct sched_instance *inst, const char *id, struct sched_resources registered)
{
    memset(inst, 0, sizeof(*inst));
    inst->id = id;
    inst->status = SCHED_INSTANCE_ACTIVE;
    inst->agent_connected = true;
    inst->registered = registered;
    inst->remaining = registered;
}

void
sched_instance_done(struct sched_instance *inst)
{
    free(inst->ports);
    inst->ports = NULL;
    inst->n_ports = inst->cap_ports = 0;
}

/* Index of the first key >= KEY. */
static size_t
port_lower_bound(const struct sched_instance *inst, uint32_t key)
{
    size_t lo = 0, hi = inst->n_ports;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (inst->ports[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool
sched_instance_has_port(const struct sched_instance *inst, uint32_t key)
{
    size_t i = port_lower_bound(inst, key);
    return i < inst->n_ports && inst->ports[i] == key;
}

void
sched_instance_add_ports(struct sched_instance *inst, const uint32_t *keys, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = port_lower_bound(inst, keys[k]);
        if (i < inst->n_ports && inst->ports[i] == keys[k])
            continue;
        inst->ports = xreallocarray_grow(inst->ports, &inst->cap_ports, inst->n_ports + 1,
                                         sizeof(*inst->ports));
        memmove(inst->ports + i + 1, inst->ports + i, (inst->n_ports - i) * sizeof(*inst->ports));
        inst->ports[i] = keys[k];
        inst->n_ports++;
    }
    if (n)
        inst->version++;
}

void
sched_instance_remove_ports(struct sched_instance *inst, const uint32_t *keys, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = port_lower_bound(inst, keys[k]);
        if (i >= inst->n_ports || inst->ports[i] != keys[k])
            continue;
        memmove(inst->ports + i, inst->ports + i + 1,
                (inst->n_ports - i - 1) * sizeof(*inst->ports));
        inst->n_ports--;
    }
    if (n)
        inst->version++;
}

const char *
sched_instance_attr(const struct sched_instance *inst, const char *name)
{
    for (size_t i = 0; i < inst->n_attrs; i++)
        if (strcmp(inst->attrs[i].name, name) == 0)
            return inst->attrs[i].value ? inst->attrs[i].value : "";
    return NULL;
}

void
sched_instance_commit(struct sched_instance *inst, const struct sched_task_needs *needs)
{
    inst->remaining.cpu -= needs->res.cpu;
    inst->remaining.memory -= needs->res.memory;
    sched_instance_add_ports(inst, needs->ports, sched_host_ports(needs));
    inst->version++;
}

void
sched_instance_release(struct sched_instance *inst, const struct sched_task_needs *needs)
{
    inst->remaining.cpu += needs->res.cpu;
    inst->remaining.memory += needs->res.memory;
    /* Never hand back more than was registered: a repeated release must do no harm. */
    if (inst->remaining.cpu > inst->registered.cpu)
        inst->remaining.cpu = inst->registered.cpu;
    if (inst->remaining.memory > inst->registered.memory)
        inst->remaining.memory = inst->registered.memory;
    sched_instance_remove_ports(inst, needs->ports, sched_host_ports(needs));
    inst->version++;
}

void
sched_plan_init(struct sched_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
}

void
sched_plan_done(struct sched_plan *plan)
{
    free(plan->placements);
    sched_plan_init(plan);
}

void
sched_plan_reset(struct sched_plan *plan)
{
    plan->n_placements = 0;
}

void
sched_plan_result_done(struct sched_plan_result *res)
{
    free(res->accepted);
    free(res->rejected);
    free(res->rejected_why);
    memset(res, 0, sizeof(*res));
}

/* The resource part of the feasibility chain, against committed state only. */
static enum sched_reject
still_fits(const struct sched_instance *inst, const struct sched_task_needs *needs)
{
    if (inst->status != SCHED_INSTANCE_ACTIVE)
        return inst->status == SCHED_INSTANCE_INACTIVE ? SCHED_REJECT_INACTIVE
                                                       : SCHED_REJECT_STATUS;
    if (!inst->agent_connected)
        return SCHED_REJECT_AGENT;
    if (inst->remaining.cpu < needs->res.cpu)
        return SCHED_REJECT_CPU;
    if (inst->remaining.memory < needs->res.memory)
        return SCHED_REJECT_MEMORY;
    for (size_t i = 0; i < sched_host_ports(needs); i++)
        if (sched_instance_has_port(inst, needs->ports[i]))
            return SCHED_REJECT_PORTS;
    return SCHED_REJECT_NONE;
}

void
sched_plan_apply(struct sched_cluster *current, const struct sched_plan *plan,
                 struct sched_plan_result *ret)
{
    size_t n = plan->n_placements;

    memset(ret, 0, sizeof(*ret));
    ret->accepted = xmalloc(n * sizeof(*ret->accepted));
    ret->rejected = xmalloc(n * sizeof(*ret->rejected));
    ret->rejected_why = xmalloc(n * sizeof(*ret->rejected_why));
    for (size_t i = 0; i < n; i++) {
        const struct sched_placement *p = &plan->placements[i];
        enum sched_reject why;

        if (p->instance >= current->n_instances) {
            why = SCHED_REJECT_INACTIVE; /* the instance is gone */
        } else {
            why = still_fits(&current->instances[p->instance], p->needs);
        }
        if (why == SCHED_REJECT_NONE) {
            sched_instance_commit(&current->instances[p->instance], p->needs);
            ret->accepted[ret->n_accepted++] = (uint32_t)i;
        } else {
            ret->rejected_why[ret->n_rejected] = why;
            ret->rejected[ret->n_rejected++] = (uint32_t)i;
        }
    }
}
