/* SPDX-License-Identifier: Apache-2.0 */
/* Feasibility: the hard requirements an instance must meet, checked cheapest first so that most
 * rejections cost a couple of integer compares. The order also defines "closest matching"
 * instance for the unplaceable message: the one that got furthest down this chain. */
#include "sched/placement.h"

#include "placement-internal.h"

enum sched_reject
sched_check(const struct sched_cluster *c, uint32_t index, const struct sched_place_request *req,
            const struct sched_slot *slot, bool static_ok)
{
    const struct sched_instance *inst = &c->instances[index];
    const struct sched_task_needs *needs = req->needs;

    if (!static_ok && inst->status != SCHED_INSTANCE_ACTIVE)
        return inst->status == SCHED_INSTANCE_INACTIVE ? SCHED_REJECT_INACTIVE
                                                       : SCHED_REJECT_STATUS;
    if (!static_ok && !inst->agent_connected)
        return SCHED_REJECT_AGENT;
    if ((int64_t)inst->remaining.cpu - slot->cpu < needs->res.cpu)
        return SCHED_REJECT_CPU;
    if ((int64_t)inst->remaining.memory - slot->memory < needs->res.memory)
        return SCHED_REJECT_MEMORY;
    if (sched_host_ports(needs) > 0) {
        /* Every task of a round shares one task definition, hence the same host ports: a
         * second copy on the same instance always collides. */
        if (slot->placed > 0)
            return SCHED_REJECT_PORTS;
        for (size_t i = 0; i < needs->n_ports; i++)
            if (sched_instance_has_port(inst, needs->ports[i]))
                return SCHED_REJECT_PORTS;
    }
    for (size_t i = 0; !static_ok && i < needs->n_required_attrs; i++)
        if (!sched_instance_attr(inst, needs->required_attrs[i]))
            return SCHED_REJECT_ATTRIBUTE;
    for (size_t i = 0; i < req->n_constraints; i++) {
        const struct sched_constraint *k = &req->constraints[i];
        switch (k->type) {
        case SCHED_CONSTRAINT_DISTINCT_INSTANCE:
            if (slot->group > 0)
                return SCHED_REJECT_DISTINCT;
            break;
        case SCHED_CONSTRAINT_MEMBER_OF:
            break;
        }
    }
    /* memberOf last: evaluating an expression is the most expensive check. */
    for (size_t i = 0; !static_ok && i < req->n_constraints; i++) {
        const struct sched_constraint *k = &req->constraints[i];
        if (k->type == SCHED_CONSTRAINT_MEMBER_OF && k->query &&
            !sched_query_eval(k->query, c, index, req->query_ctx))
            return SCHED_REJECT_MEMBER_OF;
    }
    return SCHED_REJECT_NONE;
}

enum sched_reject
sched_feasible(const struct sched_cluster *snapshot, uint32_t index,
               const struct sched_place_request *req, uint32_t group_tasks)
{
    struct sched_slot slot = {.group = group_tasks};

    if (index >= snapshot->n_instances)
        return SCHED_REJECT_INACTIVE;
    return sched_check(snapshot, index, req, &slot, false);
}

const char *
sched_reject_ecs_reason(enum sched_reject r)
{
    switch (r) {
    case SCHED_REJECT_NONE:
        return "";
    case SCHED_REJECT_INACTIVE:
        return "INACTIVE";
    case SCHED_REJECT_STATUS:
        return "DRAINING";
    case SCHED_REJECT_AGENT:
        return "AGENT";
    case SCHED_REJECT_CPU:
        return "RESOURCE:CPU";
    case SCHED_REJECT_MEMORY:
        return "RESOURCE:MEMORY";
    case SCHED_REJECT_PORTS:
        return "RESOURCE:PORTS";
    case SCHED_REJECT_ATTRIBUTE:
    case SCHED_REJECT_DISTINCT:
    case SCHED_REJECT_MEMBER_OF:
        return "ATTRIBUTE";
    }
    return "ATTRIBUTE";
}
