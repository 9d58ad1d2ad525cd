/* SPDX-License-Identifier: Apache-2.0 */
/* Builds the pure scheduler's view of a cluster (sched_cluster) from the
 * instance and task documents: capacity minus what live tasks hold. */
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "skiffd.h"

uint32_t *
sched_needs_from_td(json_t *td, struct sched_task_needs *needs)
{
    json_t *ports = sched_td_host_ports(td);
    size_t n = json_array_size(ports);
    json_t *req = json_object_get(td, "requiresAttributes");
    size_t na = json_array_size(req);
    /* One block the caller frees: the port keys, then the required attribute names
     * (borrowed from td, which outlives the placement). */
    size_t off =
        ((n + 1) * sizeof(uint32_t) + sizeof(char *) - 1) / sizeof(char *) * sizeof(char *);
    char *block = xcalloc(1, off + (na + 1) * sizeof(char *));
    uint32_t *keys = (uint32_t *)(void *)block;
    const char **names = (const char **)(void *)(block + off);
    for (size_t i = 0; i < n; i++)
        keys[i] = (uint32_t)json_integer_value(json_array_get(ports, i));
    json_decref(ports);
    size_t m = 0;
    json_t *ra;
    size_t i;
    json_array_foreach (req, i, ra) {
        const char *name = json_string_value(json_object_get(ra, "name"));
        if (name && *name)
            names[m++] = name;
    }
    const char *net = json_string_value(json_object_get(td, "networkMode"));
    memset(needs, 0, sizeof(*needs));
    needs->res.cpu = (int32_t)json_integer_value(json_object_get(td, "_cpu"));
    needs->res.memory = (int32_t)json_integer_value(json_object_get(td, "_memory"));
    needs->network_mode = !net || !strcmp(net, "bridge") ? SCHED_NET_BRIDGE
                          : !strcmp(net, "host")         ? SCHED_NET_HOST
                          : !strcmp(net, "awsvpc")       ? SCHED_NET_AWSVPC
                                                         : SCHED_NET_NONE;
    needs->ports = keys;
    needs->n_ports = n;
    needs->required_attrs = names;
    needs->n_required_attrs = m;
    return keys;
}

void
sched_snapshot_build(struct sched_daemon *d, const char *cluster, struct sched_snapshot *s)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    memset(s, 0, sizeof(*s));
    s->index = json_object();
    json_t *members = sched_instances_of_cluster(d, cluster), *one;
    n = json_object_size(members);
    s->cluster.instances = xcalloc(n + 1, sizeof(struct sched_instance));
    s->attrs = xcalloc(n + 1, sizeof(struct sched_attr *));
    json_object_foreach (members, k, one) {
        v = sched_get(d, SCHED_K_INSTANCE, k);
        if (!v)
            continue;
        uint32_t i = (uint32_t)s->cluster.n_instances++;
        struct sched_instance *inst = &s->cluster.instances[i];
        struct sched_resources reg = {
            (int32_t)json_integer_value(json_object_get(v, "_cpu")),
            (int32_t)json_integer_value(json_object_get(v, "_memory")),
        };
        sched_instance_init(inst, k, reg);
        inst->arn = json_string_value(json_object_get(v, "containerInstanceArn"));
        const char *st = json_string_value(json_object_get(v, "status"));
        inst->status = !strcmp(st, "ACTIVE")     ? SCHED_INSTANCE_ACTIVE
                       : !strcmp(st, "DRAINING") ? SCHED_INSTANCE_DRAINING
                                                 : SCHED_INSTANCE_INACTIVE;
        inst->agent_connected = sched_instance_connected(v);
        inst->registered_at = (int64_t)json_number_value(json_object_get(v, "registeredAt"));
        json_t *reserved = json_object_get(v, "_ports");
        size_t j;
        json_t *p;
        json_array_foreach (reserved, j, p) {
            uint32_t key = (uint32_t)json_integer_value(p);
            sched_instance_add_ports(inst, &key, 1);
        }
        json_t *attrs = json_object_get(v, "attributes");
        s->attrs[i] = xcalloc(json_array_size(attrs) + 1, sizeof(struct sched_attr));
        json_t *a;
        json_array_foreach (attrs, j, a) {
            s->attrs[i][j].name = json_string_value(json_object_get(a, "name"));
            s->attrs[i][j].value = json_string_value(json_object_get(a, "value"));
        }
        inst->attrs = s->attrs[i];
        inst->n_attrs = json_array_size(attrs);
        json_object_set_new(s->index, k, json_integer(i));
    }
    s->n_by_str = d->strings.n;
    s->by_str = xmalloc((s->n_by_str + 1) * sizeof(*s->by_str));
    memset(s->by_str, 0xff, (s->n_by_str + 1) * sizeof(*s->by_str));
    for (size_t i = 0; i < s->cluster.n_instances; i++) {
        struct sched_instance *inst = &s->cluster.instances[i];
        uint32_t sid = sched_intern(d, inst->id);
        if (sid >= s->n_by_str) {
            s->by_str = xrealloc(s->by_str, (sid + 1) * sizeof(*s->by_str));
            memset(s->by_str + s->n_by_str, 0xff, (sid + 1 - s->n_by_str) * sizeof(*s->by_str));
            s->n_by_str = sid + 1;
        }
        s->by_str[sid] = (uint32_t)i;
        size_t nt = 0;
        cleanup_free uint32_t *hs = sched_tasks_of_instance(d, sid, &nt);
        for (size_t j = 0; j < nt; j++) {
            const struct sched_task_rec *t = sched_task_at(d, hs[j]);
            const struct sched_td_info *ti = sched_td_info(d, t->td);
            struct sched_task_needs needs = {
                .res = {t->cpu, t->memory},
                .ports = ti->ports,
                .n_ports = ti->n_ports,
            };
            sched_instance_commit(inst, &needs);
            if (t->last_status == 3 /* RUNNING */)
                inst->running_tasks++;
        }
    }
}

void
sched_snapshot_done(struct sched_snapshot *s)
{
    for (size_t i = 0; i < s->cluster.n_instances; i++) {
        sched_instance_done(&s->cluster.instances[i]);
        free(s->attrs[i]);
    }
    free(s->cluster.instances);
    free(s->attrs);
    json_decref(s->index);
    free(s->by_str);
    memset(s, 0, sizeof(*s));
}

uint32_t
sched_snapshot_find_idx(const struct sched_snapshot *s, uint32_t id)
{
    return id && id < s->n_by_str ? s->by_str[id] : SCHED_NO_INSTANCE;
}

uint32_t
sched_snapshot_find(const struct sched_snapshot *s, const char *id)
{
    json_t *idx = json_object_get(s->index, id);
    return idx ? (uint32_t)json_integer_value(idx) : SCHED_NO_INSTANCE;
}

/* sched_placement_spec_init without the clean-up on failure. */
static int
placement_spec_parse(struct sched_placement_spec *p, json_t *constraints, json_t *strategy,
                     struct cm_error **err)
{
    size_t i;
    json_t *v;
    if (json_array_size(constraints) > 10)
        return cm_error_set(err, 0, "placementConstraints: at most 10 are allowed");
    if (json_array_size(strategy) > 5)
        return cm_error_set(err, 0, "placementStrategy: at most 5 are allowed");
    json_array_foreach (constraints, i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *expr = json_string_value(json_object_get(v, "expression"));
        if (!type)
            return cm_error_set(err, 0, "placementConstraints[%zu].type is required", i);
        if (!strcmp(type, "distinctInstance")) {
            if (expr && *expr)
                return cm_error_set(err, 0,
                                    "placementConstraints[%zu]: distinctInstance takes no "
                                    "expression",
                                    i);
            p->cons[p->n_cons++].type = SCHED_CONSTRAINT_DISTINCT_INSTANCE;
        } else if (!strcmp(type, "memberOf")) {
            if (!expr || !*expr)
                return cm_error_set(err, 0,
                                    "placementConstraints[%zu]: memberOf needs an expression", i);
            struct sched_query *q = sched_query_parse(expr, err);
            if (!q)
                return cm_error_wrap(err, "placementConstraints[%zu] '%s'", i, expr);
            p->queries[p->n_cons] = q;
            p->cons[p->n_cons].type = SCHED_CONSTRAINT_MEMBER_OF;
            p->cons[p->n_cons++].query = q;
        } else {
            return cm_error_set(err, 0, "placementConstraints[%zu]: unknown type '%s'", i, type);
        }
    }
    json_array_foreach (strategy, i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *field = json_string_value(json_object_get(v, "field"));
        if (!type)
            return cm_error_set(err, 0, "placementStrategy[%zu].type is required", i);
        if (sched_strategy_from_ecs(type, field, &p->strats[p->n_strats], err) < 0)
            return cm_error_wrap(err, "placementStrategy[%zu]", i);
        p->n_strats++;
    }
    return 0;
}

int
sched_placement_spec_init(struct sched_placement_spec *p, json_t *constraints, json_t *strategy,
                          struct cm_error **err)
{
    memset(p, 0, sizeof(*p));
    if (placement_spec_parse(p, constraints, strategy, err) < 0) {
        sched_placement_spec_done(p);
        return -1;
    }
    return 0;
}

void
sched_placement_spec_done(struct sched_placement_spec *p)
{
    for (size_t i = 0; i < 10; i++)
        p->queries[i] = sched_query_free(p->queries[i]);
    p->n_cons = 0;
}

uint32_t *
sched_group_instances(struct sched_daemon *d, const struct sched_snapshot *s, const char *cluster,
                      const char *group, size_t *ret_n)
{
    size_t n = 0, cap = 0;
    uint32_t *out = NULL;
    uint32_t g = sched_intern_find(d, group), cl = sched_intern_find(d, cluster);
    *ret_n = 0;
    if (!g || !cl)
        return NULL;
    /* Service groups come from the service's live list; other groups need a scan. */
    if (!strncmp(group, "service:", 8)) {
        cleanup_free char *skey = xasprintf("%s/%s", cluster, group + 8);
        size_t m = 0;
        cleanup_free uint32_t *hs = sched_tasks_of_service(d, sched_intern_find(d, skey), &m);
        for (size_t i = 0; i < m; i++) {
            const struct sched_task_rec *t = sched_task_at(d, hs[i]);
            if (t->group != g || t->cluster != cl || (t->flags & SCHED_TF_DESIRED_STOP))
                continue;
            uint32_t idx = sched_snapshot_find_idx(s, t->instance);
            if (idx == SCHED_NO_INSTANCE)
                continue;
            out = xreallocarray_grow(out, &cap, n + 1, sizeof(*out));
            out[n++] = idx;
        }
    } else {
        for (uint32_t h = 0; h < d->tasks.n; h++) {
            const struct sched_task_rec *t = sched_task_at(d, h);
            if (!(t->flags & SCHED_TF_USED) || t->group != g || t->cluster != cl ||
                (t->flags & SCHED_TF_DESIRED_STOP))
                continue;
            uint32_t idx = sched_snapshot_find_idx(s, t->instance);
            if (idx == SCHED_NO_INSTANCE)
                continue;
            out = xreallocarray_grow(out, &cap, n + 1, sizeof(*out));
            out[n++] = idx;
        }
    }
    *ret_n = n;
    return out;
}
