/* SPDX-License-Identifier: Apache-2.0 */
/* skiffd internals shared by the scheduler module's files (private header):
 * the daemon state, the in-memory object tables with write-through to the
 * store, and the helpers the API handlers share. */
#pragma once

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "cm/error.h"

struct cm_loop;
struct cm_loop_source;
struct cm_http_server;
struct cm_http_request;
struct sched_store;

#define SCHED_ACCOUNT "000000000000"
#define SCHED_ECS_TARGET_PREFIX "AmazonEC2ContainerServiceV20141113."
#define SCHED_MAX_BODY (1024 * 1024)

/* Object kinds; each is a table key -> JSON document, persisted as is. Keys
 * starting with '_' inside documents are internal and never sent to clients. */
enum sched_kind {
    SCHED_K_CLUSTER = 0, /* name */
    SCHED_K_TASKDEF,     /* family:revision */
    SCHED_K_FAMILY,      /* family -> {"last": N} */
    SCHED_K_INSTANCE,    /* 32-hex id */
    SCHED_K_SERVICE,     /* cluster/name */
    SCHED_K_TASK,        /* 32-hex id */
    SCHED_K_TOKEN,       /* join token -> {"cluster": name or null} */
    SCHED_K_META,        /* misc counters */
    SCHED_K_MAX,
};

struct sched_waiter; /* a suspended agent long poll */

/* Interned strings: cluster names, service keys, instance ids, task-definition
 * keys, deployment ids, groups, reasons. A task refers to them by index, so
 * that a million tasks do not carry a million copies. Index 0 is "none". */
struct sched_intern {
    char **strs; /* [0] unused */
    size_t n, cap;
    uint32_t *slots; /* open addressing over strs indexes, 0 = empty */
    size_t n_slots;
    size_t n_stored; /* strs[1 .. n_stored) are in the store (task rows refer to them) */
};

/* No task (a handle value). */
#define SCHED_NO_TASK UINT32_MAX

enum sched_task_flag {
    SCHED_TF_USED = 1,          /* the slot holds a task */
    SCHED_TF_DIRTY = 2,         /* written at the next flush */
    SCHED_TF_LINKED = 4,        /* on its service's and instance's live lists */
    SCHED_TF_EVER_RUNNING = 8,  /* reached RUNNING once */
    SCHED_TF_DESIRED_STOP = 16, /* desiredStatus STOPPED */
    SCHED_TF_CONNECTIVITY = 32, /* connectivity CONNECTED was set */
};

enum sched_task_health_v { SCHED_TH_UNKNOWN = 0, SCHED_TH_HEALTHY, SCHED_TH_UNHEALTHY };

/* One task, compact: the ECS JSON of a task is rendered from this on demand
 * (sched_task_view). Timestamps are epoch milliseconds, 0 = unset. */
struct sched_task_rec {
    uint8_t id[16];             /* the task id is these bytes in lower-case hex */
    int64_t seq;                /* its row in the store */
    uint32_t svc_pos, inst_pos; /* where it is in its live lists */
    /* Interned strings (sched_str), 0 = none. */
    uint32_t cluster, service, instance, td, deployment, group, started_by, launch_type, stop_code,
        stopped_reason;
    int32_t cpu, memory;
    uint32_t version;
    uint8_t last_status; /* sched_status_rank() of lastStatus */
    uint8_t health;      /* enum sched_task_health_v */
    uint16_t flags;      /* enum sched_task_flag */
    int64_t created_ms, pull_started_ms, pull_stopped_ms, started_ms, connectivity_ms, stopping_ms,
        execution_stopped_ms, stopped_ms;
    /* Rare members, or NULL: "overrides", "tags", "_clientToken", and
     * "_containers" (container name -> what its agent reported). */
    json_t *extra;
};

#define SCHED_TASK_PAGE 4096

/* The live tasks of one service or instance: handles in no particular order. Arrays rather
 * than linked lists, so that walking them does not chase pointers through a million
 * records. */
struct sched_hvec {
    uint32_t *v;
    uint32_t n, cap;
};

/* Every task, by handle (an index into pages), with the hash by id, the live
 * lists per service and per instance, and what the next flush writes. */
struct sched_tasktab {
    struct sched_task_rec **pages;
    size_t n_pages;
    uint32_t n; /* handles handed out so far (high-water mark) */
    size_t count;
    uint32_t *free_list, *limbo; /* limbo: forgotten since the last flush */
    size_t n_free, cap_free, n_limbo, cap_limbo;
    /* Linear probing; h = SCHED_NO_TASK: empty; tag: the high half of the entry's hash. */
    struct {
        uint32_t h, tag;
    } * hash;
    size_t n_hash;
    uint32_t *dirty;
    size_t n_dirty, cap_dirty;
    int64_t *deleted;
    size_t n_deleted, cap_deleted;
    int64_t next_seq;
    /* Indexed by interned service key / instance id. */
    struct sched_hvec *svc_lists, *inst_lists;
    size_t n_lists;
};

/* What placement needs of a task definition, cached per interned td key. */
struct sched_td_info {
    bool known;
    bool has_health_check;
    uint32_t *ports;
    size_t n_ports;
};

struct sched_daemon {
    struct cm_loop *loop;
    struct cm_http_server *http;
    struct sched_store *store;
    char *state_dir;
    char *region;                /* default region for ARNs when the request has none */
    json_t *creds;               /* access key id -> secret */
    json_t *tables[SCHED_K_MAX]; /* every kind but SCHED_K_TASK (that is `tasks`) */
    json_t *dirty[SCHED_K_MAX];  /* key -> true, written at the next flush */
    json_t *last_seen;           /* instance id -> monotonic ms (not persisted) */
    struct sched_intern strings;
    struct sched_tasktab tasks;
    struct sched_td_info *td_info; /* by interned td key */
    /* Agents only ever see versions after a flush, so one bump per instance per batch is
     * enough: flush_epoch counts flushes, bumped[interned id] the epoch of the last bump. */
    uint64_t flush_epoch;
    uint64_t *bumped;
    size_t n_bumped;
    size_t n_td_info;
    json_t *idx_cluster;  /* cluster -> {instance id: true} */
    json_t *idx_hostname; /* "cluster\nhostname" -> instance id (not INACTIVE when filed) */
    json_t *idx_token;    /* RunTask clientToken -> [task id] */
    struct sched_waiter *waiters;
    struct cm_loop_source *tick;
    bool kick;        /* a scheduling pass is wanted before sleeping */
    bool state_stale; /* a failed batch could not be undone yet (reload failed) */
    uint64_t heartbeat_grace_ms;
    uint64_t task_grace_ms;
    uint64_t poll_timeout_ms;
    uint64_t started_ms;
    uint64_t stopped_retention_ms; /* STOPPED tasks are forgotten after this */
    uint64_t last_pass_ms, last_pass_cost_ms, last_gc_ms;
    struct cm_loop_source *kick_timer; /* a coalesced pass that is due */
};

/* --- tasktab.c: interned strings and the task table ----------------------- */
/* A growable list of task handles. */
struct sched_handles {
    uint32_t *v;
    size_t n, cap;
};
void sched_handles_add(struct sched_handles *hs, uint32_t h);
void sched_handles_done(struct sched_handles *hs);

uint32_t sched_intern(struct sched_daemon *d, const char *s);            /* NULL -> 0 */
uint32_t sched_intern_find(const struct sched_daemon *d, const char *s); /* 0: absent */
const char *sched_str(const struct sched_daemon *d, uint32_t i);         /* 0 -> NULL */
static inline struct sched_task_rec *
sched_task_at(struct sched_daemon *d, uint32_t h)
{
    return &d->tasks.pages[h / SCHED_TASK_PAGE][h % SCHED_TASK_PAGE];
}
/* Handle of the task with this id (32 hex characters or an ARN's tail), else SCHED_NO_TASK. */
uint32_t sched_task_find(struct sched_daemon *d, const char *id);
/* A new zeroed task with a fresh random id and store row; dirty. */
uint32_t sched_task_alloc(struct sched_daemon *d);
/* After any change: marks it dirty and files it on (or off) the live lists. */
void sched_task_changed(struct sched_daemon *d, uint32_t h);
/* Forgets a task (memory and store). */
void sched_task_forget(struct sched_daemon *d, uint32_t h);
void sched_task_hex(const struct sched_task_rec *t, char out[33]);
static inline bool
sched_task_live(const struct sched_task_rec *t)
{
    return t->last_status != 7 /* STOPPED */;
}
/* Handles of the live tasks of a service key / instance id (interned), malloc'd. */
uint32_t *sched_tasks_of_service(struct sched_daemon *d, uint32_t svc, size_t *ret_n);
uint32_t *sched_tasks_of_instance(struct sched_daemon *d, uint32_t inst, size_t *ret_n);
size_t sched_n_tasks_of_service(struct sched_daemon *d, uint32_t svc);
/* Ports and health-check presence of an interned td key (cached; td docs do not change). */
const struct sched_td_info *sched_td_info(struct sched_daemon *d, uint32_t td);
/* The task definition document of a task, or NULL. */
json_t *sched_task_td(struct sched_daemon *d, const struct sched_task_rec *t);
char *sched_task_arn(struct sched_daemon *d, const struct sched_task_rec *t);
/* What an agent reported per container, as the array sched_task_health() reads (new). */
json_t *sched_task_reported_containers(struct sched_task_rec *t);
/* The members of an extra object, created on demand. */
json_t *sched_task_extra(struct sched_task_rec *t);
/* Serialises a task for the store (malloc'd, *len set) and back. */
void *sched_task_encode(struct sched_daemon *d, const struct sched_task_rec *t, size_t *len);
int sched_task_decode(struct sched_daemon *d, int64_t seq, const void *data, size_t len,
                      struct cm_error **err);
void sched_tasktab_done(struct sched_daemon *d);
/* Makes a record of a task stored as a JSON document (the format before the tasks table). */
int sched_task_from_document(struct sched_daemon *d, const char *id, json_t *doc,
                             struct cm_error **err);
/* Sizes the id hash for COUNT tasks at once (a load knows how many are coming). */
void sched_tasktab_reserve(struct sched_daemon *d, size_t count);
/* Loading: the stored strings, in id order, must get the same ids again. */
int sched_intern_load(struct sched_daemon *d, int64_t id, const char *text, struct cm_error **err);
int64_t sched_now_ms(void);

/* --- state.c: tables with write-through ---------------------------------- */
const char *sched_kind_name(enum sched_kind k);
json_t *sched_get(struct sched_daemon *d, enum sched_kind k, const char *key);
/* Stores doc (reference stolen) under key and marks it dirty. */
void sched_put(struct sched_daemon *d, enum sched_kind k, const char *key, json_t *doc);
/* Marks an in-place modified document dirty. */
void sched_touch(struct sched_daemon *d, enum sched_kind k, const char *key);
void sched_del(struct sched_daemon *d, enum sched_kind k, const char *key);
/* Allocates / frees the tables, dirty sets and indexes of d. */
void sched_state_init(struct sched_daemon *d);
void sched_state_done(struct sched_daemon *d);
void sched_index_instance(struct sched_daemon *d, const char *id, json_t *inst);
void sched_index_rebuild(struct sched_daemon *d);
/* The instance id last registered with this host name in the cluster, or NULL. */
const char *sched_instance_by_hostname(struct sched_daemon *d, const char *cluster,
                                       const char *host);
/* Borrowed {id: true} object; NULL when empty. */
json_t *sched_instances_of_cluster(struct sched_daemon *d, const char *cluster);
/* Writes every dirty record in one transaction; durable on return. On failure the
 * in-memory state goes back to the last committed one (sched_state_reload). */
int sched_flush(struct sched_daemon *d, struct cm_error **err);
/* Drops what the store backs (tables, tasks, strings, indexes) and loads it again. */
int sched_state_reload(struct sched_daemon *d, struct cm_error **err);
int sched_load(struct sched_daemon *d, struct cm_error **err);
bool sched_has_dirty(const struct sched_daemon *d);

/* Wall clock, epoch seconds with milliseconds (ECS timestamps). */
double sched_now(void);
/* 32 lower-case hex characters from getrandom. */
void sched_random_hex(char out[33]);
/* A version 4 UUID string. */
void sched_uuid(char out[37]);
/* Deep copy of doc without the '_' internal members (at any depth). */
json_t *sched_public(json_t *doc);
/* Next value of a persisted counter. */
uint64_t sched_counter_next(struct sched_daemon *d, const char *name);

/* --- auth.c: credentials file -------------------------------------------- */
/* Loads DIR/credentials, creating it with a fresh admin key pair if absent. */
int sched_auth_load(struct sched_daemon *d, struct cm_error **err);
/* Makes sure a join token for any cluster exists and is in DIR/join-token. */
int sched_auth_join_token_file(struct sched_daemon *d, struct cm_error **err);
/* Returns the cluster the token is bound to ("" = any), or NULL if invalid. */
const char *sched_join_token_check(struct sched_daemon *d, const char *token);
char *sched_join_token_new(struct sched_daemon *d, const char *cluster);

/* --- api.c: the ECS JSON 1.1 endpoint ------------------------------------- */
struct sched_call {
    struct sched_daemon *d;
    const char *op;
    char *region;
    char *err_type;
    char *err_msg;
    json_t *in;
    struct cm_http_request *req; /* NULL when not called for a request */
    bool deferred;               /* the operation suspended req and answers it later */
};

void sched_http_handler(struct cm_http_request *req, void *userdata);
/* An ECS answer (with its x-amzn-RequestId) and an ECS error shape; also for deferred calls. */
void sched_respond_json(struct cm_http_request *req, unsigned status, json_t *body);
void sched_respond_error(struct cm_http_request *req, unsigned status, const char *type,
                         const char *msg);
int sched_fail(struct sched_call *c, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
char *sched_arn(struct sched_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Last path part of an ARN ("arn:...:cluster/x" -> "x"), or s itself. */
const char *sched_arn_tail(const char *s);
/* Typed optional/required readers that fail the call with InvalidParameterException. */
int sched_in_str(struct sched_call *c, json_t *in, const char *key, bool required,
                 const char **ret);
int sched_in_int(struct sched_call *c, json_t *in, const char *key, bool required, int64_t min,
                 int64_t max, int64_t *ret);
int sched_in_bool(struct sched_call *c, json_t *in, const char *key, bool *ret);
int sched_in_array(struct sched_call *c, json_t *in, const char *key, bool required, size_t max,
                   json_t **ret);
int sched_in_object(struct sched_call *c, json_t *in, const char *key, json_t **ret);
/* Resolves in.cluster (default "default") to an ACTIVE cluster. */
json_t *sched_cluster_get(struct sched_call *c, json_t *in, const char **ret_name);
/* Applies maxResults/nextToken to all (array of strings), sets out[key] and nextToken. */
int sched_paginate(struct sched_call *c, json_t *in, json_t *all, const char *key, json_t *out,
                   int64_t max_page);
/* Validates a tags array; returns a new array of {key,value}. */
json_t *sched_tags_parse(struct sched_call *c, json_t *arr);
/* Adds a "failures" member entry. */
void sched_failure_add(json_t *out, const char *arn, const char *reason, const char *detail);
/* A describe call's "MISSING" failure for ref: ref itself when it is an ARN,
 * else the ARN of KIND/CLUSTER/REF (KIND/REF when cluster is NULL). */
void sched_failure_missing(struct sched_call *c, json_t *out, const char *kind, const char *cluster,
                           const char *ref);
/* A cluster, service or family name: 1..max letters, digits, '-' and '_'. */
bool sched_valid_name(const char *s, size_t max);
/* Whether the request's "include" array names what ("TAGS", "STATISTICS"). */
bool sched_include_has(json_t *in, const char *what);

typedef int (*sched_op_fn)(struct sched_call *c, json_t *in, json_t *out);

/* Per-area operation handlers (api_*.c). */
int sched_op_create_cluster(struct sched_call *c, json_t *in, json_t *out);
int sched_op_describe_clusters(struct sched_call *c, json_t *in, json_t *out);
int sched_op_list_clusters(struct sched_call *c, json_t *in, json_t *out);
int sched_op_delete_cluster(struct sched_call *c, json_t *in, json_t *out);
int sched_op_update_cluster(struct sched_call *c, json_t *in, json_t *out);
int sched_op_update_cluster_settings(struct sched_call *c, json_t *in, json_t *out);

int sched_op_register_task_definition(struct sched_call *c, json_t *in, json_t *out);
int sched_op_describe_task_definition(struct sched_call *c, json_t *in, json_t *out);
int sched_op_deregister_task_definition(struct sched_call *c, json_t *in, json_t *out);
int sched_op_list_task_definitions(struct sched_call *c, json_t *in, json_t *out);
int sched_op_list_task_definition_families(struct sched_call *c, json_t *in, json_t *out);
/* Resolves family | family:rev | ARN; active_only refuses INACTIVE revisions. */
json_t *sched_taskdef_resolve(struct sched_call *c, const char *ref, bool active_only);

/* --- tasks.c: task documents and their lifecycle -------------------------- */
/* ECS lifecycle order; reports that do not move a task forward are ignored. */
int sched_status_rank(const char *last_status);
/* Region part of an ECS ARN ("us-east-1"); returns the daemon default if none. */
char *sched_region_of(struct sched_daemon *d, const char *arn);

struct sched_task_spec {
    const char *cluster;     /* name */
    json_t *td;              /* the task definition document (borrowed) */
    const char *instance_id; /* where it was placed */
    json_t *overrides;       /* may be NULL (borrowed) */
    const char *started_by;  /* may be NULL */
    const char *group;       /* "service:web" / "family:web" */
    const char *launch_type; /* EC2 / FARGATE / ... */
    json_t *tags;            /* may be NULL (borrowed) */
    const char *service;     /* service key "cluster/name" or NULL */
    const char *deployment;  /* ecs-svc/... or NULL */
    const char *client_token;
    /* The above interned (sched_task_spec_intern), or NULL: a batch of tasks from one spec
     * looks its strings up once. */
    const struct sched_task_ids *ids;
};
struct sched_task_ids {
    uint32_t cluster, service, td, deployment, group, started_by, launch_type;
    int32_t cpu, memory;
};
void sched_task_spec_intern(struct sched_daemon *d, const struct sched_task_spec *spec,
                            struct sched_task_ids *ret);
/* Creates a task (PROVISIONING -> the agent takes it from there); returns its handle. */
uint32_t sched_task_create(struct sched_daemon *d, const struct sched_task_spec *spec);
/* Marks a task to stop; when its agent is gone it is STOPPED at once. */
void sched_task_stop(struct sched_daemon *d, uint32_t h, const char *stop_code, const char *reason);
/* Sets lastStatus STOPPED with the given code and reason (terminal). */
void sched_task_set_stopped(struct sched_daemon *d, uint32_t h, const char *stop_code,
                            const char *reason);
/* ECS's task-level healthStatus derived from the task definition TD and the task's
 * CONTAINERS (their reported healthStatus): "UNHEALTHY" as soon as an essential container
 * is UNHEALTHY, "HEALTHY" when every essential container with a healthCheck is HEALTHY
 * (and there is at least one), else "UNKNOWN". Non-essential containers do not count. */
const char *sched_task_health(json_t *td, json_t *containers);
/* Public view of a task (containers etc.); tags only when with_tags. */
json_t *sched_task_view(struct sched_daemon *d, uint32_t h, bool with_tags);
/* Bumps the desired-state version of an instance (agents long-poll on it). */
void sched_instance_bump(struct sched_daemon *d, const char *instance_id);
/* Host ports (SCHED_PORT_KEY values) a task definition takes on its host. */
json_t *sched_td_host_ports(json_t *td);
/* Resolves a container instance reference (id or ARN) inside a cluster. */
json_t *sched_instance_get(struct sched_daemon *d, const char *cluster, const char *ref,
                           const char **ret_id);
/* Whether the agent of an instance is connected. */
bool sched_instance_connected(json_t *inst);

/* --- api_instances.c / api_tasks.c / api_services.c / api_tags.c ---------- */
int sched_op_register_container_instance(struct sched_call *c, json_t *in, json_t *out);
int sched_op_deregister_container_instance(struct sched_call *c, json_t *in, json_t *out);
int sched_op_describe_container_instances(struct sched_call *c, json_t *in, json_t *out);
int sched_op_list_container_instances(struct sched_call *c, json_t *in, json_t *out);
int sched_op_update_container_instances_state(struct sched_call *c, json_t *in, json_t *out);
json_t *sched_instance_view(struct sched_daemon *d, json_t *inst, bool with_tags);
/* Registers (or re-registers) an instance; shared by the ECS op and the agent protocol. */
json_t *sched_instance_register(struct sched_call *c, const char *cluster, const char *hostname,
                                int64_t cpu, int64_t memory, json_t *attrs, json_t *ports,
                                const char *existing, json_t *tags);

int sched_op_run_task(struct sched_call *c, json_t *in, json_t *out);
int sched_op_start_task(struct sched_call *c, json_t *in, json_t *out);
int sched_op_stop_task(struct sched_call *c, json_t *in, json_t *out);
int sched_op_describe_tasks(struct sched_call *c, json_t *in, json_t *out);
int sched_op_list_tasks(struct sched_call *c, json_t *in, json_t *out);

int sched_op_create_service(struct sched_call *c, json_t *in, json_t *out);
int sched_op_update_service(struct sched_call *c, json_t *in, json_t *out);
int sched_op_delete_service(struct sched_call *c, json_t *in, json_t *out);
int sched_op_describe_services(struct sched_call *c, json_t *in, json_t *out);
int sched_op_list_services(struct sched_call *c, json_t *in, json_t *out);

int sched_op_tag_resource(struct sched_call *c, json_t *in, json_t *out);
int sched_op_untag_resource(struct sched_call *c, json_t *in, json_t *out);
int sched_op_list_tags_for_resource(struct sched_call *c, json_t *in, json_t *out);
int sched_op_create_join_token(struct sched_call *c, json_t *in, json_t *out);

/* --- api_logs.c: SkiffGetTaskLogs, relayed to the task's agent ------------- */
int sched_op_get_task_logs(struct sched_call *c, json_t *in, json_t *out);
/* Keeps (or forgets) the log endpoint {"address","secret"} an agent registered
 * (may be NULL) in the instance document inst. */
void sched_logs_register(struct sched_daemon *d, json_t *inst, json_t *ep);

/* --- agent.c / service_loop.c --------------------------------------------- */
void sched_agent_http(struct sched_daemon *d, struct cm_http_request *req);
/* Failure detection: disconnect silent agents, lose their tasks after the grace. */
void sched_agent_check(struct sched_daemon *d);
/* Answers long polls whose instance version moved. */
void sched_agent_wake(struct sched_daemon *d);
void sched_agent_free_waiters(struct sched_daemon *d);
/* Longest reason text (container reason, stoppedReason) kept from an agent's report. */
#define SCHED_AGENT_TEXT_MAX 1024
/* Applies one task report of an agent (docs/agent-protocol.md) for instance iid: container
 * fields of ECS's types only (others dropped), texts cut to SCHED_AGENT_TEXT_MAX. */
void sched_agent_report_task(struct sched_daemon *d, const char *iid, json_t *report);
/* One level-triggered pass over every service. */
void sched_service_pass(struct sched_daemon *d);
/* Adds a service event (newest first, capped), unless it repeats the last one. */
void sched_service_event(struct sched_daemon *d, const char *key, json_t *svc, const char *msg);

/* --- snapshot.c: the placement view of one cluster ------------------------ */
#include "sched/placement.h"

struct sched_snapshot {
    struct sched_cluster cluster; /* instances[i].id borrows the instance table keys */
    struct sched_attr **attrs;    /* per instance, owned */
    json_t *index;                /* instance id -> index */
    uint32_t *by_str;             /* interned instance id -> index (SCHED_NO_INSTANCE) */
    size_t n_by_str;
};

/* Builds the snapshot of a cluster from the instance and task tables. */
void sched_snapshot_build(struct sched_daemon *d, const char *cluster, struct sched_snapshot *s);
void sched_snapshot_done(struct sched_snapshot *s);
/* Index of an instance in the snapshot, SCHED_NO_INSTANCE if absent. */
uint32_t sched_snapshot_find(const struct sched_snapshot *s, const char *id);
/* The same by interned instance id. */
uint32_t sched_snapshot_find_idx(const struct sched_snapshot *s, uint32_t id);
/* The needs of a task definition, its requiresAttributes among them; ports and
 * required_attrs point into the returned storage (free it) and into td. */
uint32_t *sched_needs_from_td(json_t *td, struct sched_task_needs *needs);

/* Constraints and strategies of a RunTask / service, converted for sched_place. */
struct sched_placement_spec {
    struct sched_constraint cons[10];
    struct sched_query *queries[10];
    size_t n_cons;
    struct sched_strategy strats[5];
    size_t n_strats;
};
/* Validates ECS placementConstraints / placementStrategy arrays (either may be
 * NULL); the spec borrows strings from them. Errors are validation errors. */
int sched_placement_spec_init(struct sched_placement_spec *p, json_t *constraints, json_t *strategy,
                              struct cm_error **err);
void sched_placement_spec_done(struct sched_placement_spec *p);
/* Instance indices of the live tasks of a group (for spread / distinctInstance). */
uint32_t *sched_group_instances(struct sched_daemon *d, const struct sched_snapshot *s,
                                const char *cluster, const char *group, size_t *ret_n);

/* Places up to count tasks of tmpl->td in tmpl->cluster through the pure
 * pipeline and the plan applier, and creates those that fit. Appends created
 * task ids to `created`; ret (done by the caller) tells why others did not fit. */
/* snap: the pass's snapshot of tmpl->cluster (placements are committed into
 * it), or NULL to build a fresh one. */
uint32_t sched_place_tasks(struct sched_daemon *d, struct sched_snapshot *snap,
                           const struct sched_task_spec *tmpl, uint32_t count,
                           const struct sched_placement_spec *ps, const char *service_name,
                           struct sched_handles *created, struct sched_place_result *ret,
                           char **ret_closest_arn);
