/* SPDX-License-Identifier: Apache-2.0 */
/* Placement snapshot types and the pure placement pipeline (feasibility -> ranking ->
 * selection), the cluster query language for memberOf, and the single plan applier.
 *
 * Everything here is plain C over a snapshot the daemon owns: no JSON, no store. Strings in
 * these structs are borrowed from the caller unless a comment says "owned". Instances and
 * tasks refer to each other by index into the cluster's instance array, so a placement costs
 * no string lookups. Instances are never removed from that array while plans are in flight;
 * a deregistered instance becomes SCHED_INSTANCE_INACTIVE. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cm_error;

/* ECS accounts CPU in units of 1/1024 core and memory in MiB. */
struct sched_resources {
    int32_t cpu;
    int32_t memory;
};

enum sched_instance_status {
    SCHED_INSTANCE_ACTIVE = 0,
    SCHED_INSTANCE_DRAINING,
    SCHED_INSTANCE_INACTIVE, /* deregistered: no placements, its tasks are lost */
};

/* One container-instance attribute (ECS: name and optional value). */
struct sched_attr {
    const char *name;  /* e.g. "ecs.availability-zone", "ecs.instance-type", custom */
    const char *value; /* NULL for a value-less attribute (capabilities) */
};

enum sched_proto {
    SCHED_PROTO_TCP = 0,
    SCHED_PROTO_UDP = 1,
};

/* A host port as stored in an instance's port set: (proto << 16) | port. */
#define SCHED_PORT_KEY(proto, port) ((uint32_t)(proto) << 16 | (uint32_t)(uint16_t)(port))
/* No instance (task not placed) in an index field. */
#define SCHED_NO_INSTANCE UINT32_MAX

struct sched_instance {
    const char *id;  /* container instance id (last part of the ARN) */
    const char *arn; /* full ARN, for messages; may be NULL */
    enum sched_instance_status status;
    /* false: the agent missed its heartbeats past the grace period. No new placements, and
     * sched_reconcile() replaces its tasks (so clear it only once the grace has run out). */
    bool agent_connected;
    struct sched_resources registered; /* capacity the agent registered */
    struct sched_resources remaining;  /* registered minus every non-stopped task on it */
    /* Host ports in use (reserved by the agent at registration plus those of its tasks), as
     * SCHED_PORT_KEY values, sorted ascending. Owned: sched_instance_done() frees it;
     * sched_instance_add_ports() and sched_instance_remove_ports() keep it sorted. */
    uint32_t *ports;
    size_t n_ports, cap_ports;
    const struct sched_attr *attrs; /* borrowed, any order, names unique */
    size_t n_attrs;
    uint32_t running_tasks; /* runningTasksCount (for the query language) */
    int64_t registered_at;  /* epoch seconds (for the query language) */
    /* Bumped by every change to remaining/ports/status; the plan applier and callers may use
     * it to see that an instance changed since a snapshot. */
    uint64_t version;
};

/* Initialises an instance with everything zero, no ports, ACTIVE and connected. */
void sched_instance_init(struct sched_instance *inst, const char *id,
                         struct sched_resources registered);
/* Frees the owned port set. */
void sched_instance_done(struct sched_instance *inst);
/* Adds host ports (keys) to the set; a key already present is kept once. */
void sched_instance_add_ports(struct sched_instance *inst, const uint32_t *keys, size_t n);
/* Removes host ports from the set; absent keys are ignored. */
void sched_instance_remove_ports(struct sched_instance *inst, const uint32_t *keys, size_t n);
bool sched_instance_has_port(const struct sched_instance *inst, uint32_t key);
/* Returns the value of attribute NAME, "" if present without value, NULL if absent. */
const char *sched_instance_attr(const struct sched_instance *inst, const char *name);

enum sched_network_mode {
    SCHED_NET_BRIDGE = 0,
    SCHED_NET_HOST,
    SCHED_NET_AWSVPC,
    SCHED_NET_NONE,
};

/* What a task definition needs from an instance. */
struct sched_task_needs {
    struct sched_resources res; /* task-level cpu/memory, or the sum over containers */
    enum sched_network_mode network_mode;
    /* Static host ports as SCHED_PORT_KEY values (bridge: hostPort != 0; host: containerPort).
     * Dynamic (hostPort 0) ports take no host port and are not listed. Ignored (neither
     * checked nor reserved) unless network_mode is BRIDGE or HOST. */
    const uint32_t *ports;
    size_t n_ports;
    /* requiresAttributes: names the instance must carry (value ignored). */
    const char *const *required_attrs;
    size_t n_required_attrs;
};

/* Adds (commit) or gives back (release) what NEEDS takes on INST: cpu, memory, ports. The
 * daemon calls release when a task on the instance has stopped. */
void sched_instance_commit(struct sched_instance *inst, const struct sched_task_needs *needs);
void sched_instance_release(struct sched_instance *inst, const struct sched_task_needs *needs);

/* The snapshot placement runs over. */
struct sched_cluster {
    struct sched_instance *instances;
    size_t n_instances;
};

/* ---- cluster query language (memberOf, ListContainerInstances filter) ---- */

struct sched_query; /* parsed expression, opaque */

/* Parses an ECS cluster query expression, e.g.
 * "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone in [a, b]".
 * Limits: 2000 characters, nesting 32. On a syntax error the message names the 1-based
 * column ("column 17: expected an operator after 'attribute:x'"); code 0 (validation). */
struct sched_query *sched_query_parse(const char *expr, struct cm_error **err);
struct sched_query *sched_query_free(struct sched_query *q);

/* What a query may look at besides the instance itself. */
struct sched_query_ctx {
    /* For "task:group == G": does instance INDEX run a task of group G? NULL: never. */
    bool (*instance_has_group)(void *userdata, uint32_t instance, const char *group);
    void *userdata;
};

/* Evaluates Q against instance number INDEX of CLUSTER. CTX may be NULL. */
bool sched_query_eval(const struct sched_query *q, const struct sched_cluster *cluster,
                      uint32_t index, const struct sched_query_ctx *ctx);

/* ---- constraints and strategies ---- */

enum sched_constraint_type {
    SCHED_CONSTRAINT_DISTINCT_INSTANCE = 0,
    SCHED_CONSTRAINT_MEMBER_OF,
};

struct sched_constraint {
    enum sched_constraint_type type;
    const struct sched_query *query; /* memberOf only; borrowed (parse once per service) */
};

enum sched_strategy_type {
    SCHED_STRATEGY_BINPACK = 0,
    SCHED_STRATEGY_SPREAD,
    SCHED_STRATEGY_RANDOM,
};

enum sched_field {
    SCHED_FIELD_NONE = 0,    /* random */
    SCHED_FIELD_CPU,         /* binpack */
    SCHED_FIELD_MEMORY,      /* binpack */
    SCHED_FIELD_INSTANCE_ID, /* spread "instanceId" or "host" */
    SCHED_FIELD_ATTRIBUTE,   /* spread "attribute:NAME" */
};

struct sched_strategy {
    enum sched_strategy_type type;
    enum sched_field field;
    const char *attribute; /* SCHED_FIELD_ATTRIBUTE: NAME without "attribute:" */
};

/* Parses ECS's (type, field) pair, e.g. ("spread", "attribute:ecs.availability-zone");
 * FIELD may be NULL for random. RET borrows FIELD's storage for the attribute name.
 * Validation errors (code 0) name the bad value. */
int sched_strategy_from_ecs(const char *type, const char *field, struct sched_strategy *ret,
                            struct cm_error **err);

/* ---- placement ---- */

/* Why an instance was rejected, in pipeline order (cheapest check first). The order is also
 * how "closest matching" is decided: the instance that got furthest wins. */
enum sched_reject {
    SCHED_REJECT_NONE = 0,
    SCHED_REJECT_INACTIVE,  /* deregistered (or an index that no longer exists) */
    SCHED_REJECT_STATUS,    /* DRAINING */
    SCHED_REJECT_AGENT,     /* agent disconnected */
    SCHED_REJECT_CPU,       /* insufficient CPU units */
    SCHED_REJECT_MEMORY,    /* insufficient memory */
    SCHED_REJECT_PORTS,     /* a host port is in use */
    SCHED_REJECT_ATTRIBUTE, /* requiresAttributes missing */
    SCHED_REJECT_DISTINCT,  /* distinctInstance: already runs a task of the group */
    SCHED_REJECT_MEMBER_OF, /* memberOf expression false */
};

/* ECS failure reason for RunTask/StartTask failures[] ("RESOURCE:MEMORY", "AGENT", ...). */
const char *sched_reject_ecs_reason(enum sched_reject r);

struct sched_place_request {
    /* Task group ("service:web" or "family:web"): distinctInstance and spread count only
     * tasks of this group. Also handed to task:group queries. */
    const char *group;
    /* Used in the unplaceable message: "service NAME was unable to place a task ...". NULL:
     * the message starts with "unable to place a task" (RunTask). */
    const char *service_name;
    const struct sched_task_needs *needs;
    const struct sched_constraint *constraints;
    size_t n_constraints;
    /* Applied in order; later ones break ties. None given: ECS's default for services,
     * spread(attribute:ecs.availability-zone) then spread(instanceId). */
    const struct sched_strategy *strategies;
    size_t n_strategies;
    /* Instance index of every live (not stopped, not being stopped) task of the group, with
     * repeats: spread and distinctInstance count these. */
    const uint32_t *group_instances;
    size_t n_group_instances;
    uint32_t count; /* tasks to place */
    uint64_t seed;  /* random start and random strategy; same seed, same answer */
    /* Feasible candidates scored per placement. 0: Nomad's default, max(2, ceil(log2 n)),
     * raised to min(n, 100) when a spread strategy is in use. */
    uint32_t limit;
    const struct sched_query_ctx *query_ctx; /* may be NULL */
};

/* One placement decision: put one task of the request on an instance. */
struct sched_placement {
    uint32_t instance;
    const struct sched_task_needs *needs; /* borrowed from the request */
    uint32_t tag; /* caller's cookie (e.g. deployment index); copied from the plan append */
};

/* A plan: what one scheduling round wants to commit. */
struct sched_plan {
    struct sched_placement *placements; /* owned */
    size_t n_placements, cap_placements;
};

void sched_plan_init(struct sched_plan *plan);
void sched_plan_done(struct sched_plan *plan);
void sched_plan_reset(struct sched_plan *plan);

struct sched_place_result {
    uint32_t placed;   /* appended to the plan */
    uint32_t unplaced; /* count - placed */
    /* When unplaced > 0: the ECS event text, owned (free it), e.g. "service web was unable to
     * place a task because no container instance met all of its requirements. The closest
     * matching container-instance 7c1e... has insufficient memory available. For more
     * information, see the Troubleshooting section of the Amazon ECS Developer Guide." */
    char *reason;
    enum sched_reject closest_reject; /* why the closest instance failed (NONE: no instance) */
    uint32_t closest_instance;        /* SCHED_NO_INSTANCE if none */
    uint32_t examined;                /* instances looked at, for the sampling bound */
};

void sched_place_result_done(struct sched_place_result *res);

/* Places up to REQ->count tasks on the SNAPSHOT (not modified), accounting within the round
 * for what it has already placed, and appends each decision to PLAN tagged with TAG. Never
 * fails for lack of room: unplaced tasks are counted and explained in RET. Returns -1 (EINVAL)
 * only for a malformed request. RET is cleared first, so sched_place_result_done() is always
 * safe. */
int sched_place(const struct sched_cluster *snapshot, const struct sched_place_request *req,
                uint32_t tag, struct sched_plan *plan, struct sched_place_result *ret,
                struct cm_error **err);

/* Checks one instance against the request's feasibility chain, cheapest check first, and
 * returns the first failure (NONE: it fits). For StartTask (explicit instances) and tests.
 * GROUP_TASKS is how many tasks of req->group already run there (distinctInstance). */
enum sched_reject sched_feasible(const struct sched_cluster *snapshot, uint32_t index,
                                 const struct sched_place_request *req, uint32_t group_tasks);

/* ---- plan applier ---- */

struct sched_plan_result {
    /* Indices into plan->placements, owned. accepted entries are now committed to CURRENT
     * (remaining resources and ports updated); rejected ones did not fit any more. */
    uint32_t *accepted;
    size_t n_accepted;
    uint32_t *rejected;
    size_t n_rejected;
    enum sched_reject *rejected_why; /* parallel to rejected, owned */
};

void sched_plan_result_done(struct sched_plan_result *res);

/* The single writer: re-checks every placement of PLAN against CURRENT (status, agent, cpu,
 * memory, ports, including what earlier entries of the same plan took) and commits the ones
 * that still fit, in plan order. Rejections are returned, not errors: the caller re-plans
 * them from a fresh snapshot. */
void sched_plan_apply(struct sched_cluster *current, const struct sched_plan *plan,
                      struct sched_plan_result *ret);
