/* SPDX-License-Identifier: Apache-2.0 */
/* Container instances: registration (ECS API and agent protocol), describe,
 * list (with the cluster query language filter), ACTIVE/DRAINING, deregister. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/loop.h"
#include "cm/xalloc.h"
#include "sched/placement.h"
#include "skiffd.h"

#define IPE "InvalidParameterException"

struct usage {
    int64_t cpu, mem;
    int running, pending;
    json_t *ports; /* port keys in use by tasks */
};

static void
instance_usage(struct sched_daemon *d, const char *id, struct usage *u)
{
    memset(u, 0, sizeof(*u));
    u->ports = json_array();
    size_t n = 0;
    cleanup_free uint32_t *hs = sched_tasks_of_instance(d, sched_intern_find(d, id), &n);
    for (size_t i = 0; i < n; i++) {
        const struct sched_task_rec *t = sched_task_at(d, hs[i]);
        u->cpu += t->cpu;
        u->mem += t->memory;
        if (t->last_status == 3 /* RUNNING */)
            u->running++;
        else
            u->pending++;
        const struct sched_td_info *ti = sched_td_info(d, t->td);
        for (size_t j = 0; j < ti->n_ports; j++)
            json_array_append_new(u->ports, json_integer(ti->ports[j]));
    }
}

static json_t *
resources(int64_t cpu, int64_t mem, json_t *ports)
{
    json_t *tcp = json_array(), *udp = json_array();
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p) {
        uint32_t key = (uint32_t)json_integer_value(p);
        json_array_append_new((key >> 16) == SCHED_PROTO_UDP ? udp : tcp,
                              json_sprintf("%u", key & 0xffff));
    }
    return json_pack("[{s:s,s:s,s:f,s:I,s:I},{s:s,s:s,s:f,s:I,s:I},{s:s,s:s,s:f,s:I,s:I,s:o},"
                     "{s:s,s:s,s:f,s:I,s:I,s:o}]",
                     "name", "CPU", "type", "INTEGER", "doubleValue", 0.0, "longValue",
                     (json_int_t)0, "integerValue", (json_int_t)cpu, "name", "MEMORY", "type",
                     "INTEGER", "doubleValue", 0.0, "longValue", (json_int_t)0, "integerValue",
                     (json_int_t)mem, "name", "PORTS", "type", "STRINGSET", "doubleValue", 0.0,
                     "longValue", (json_int_t)0, "integerValue", (json_int_t)0, "stringSetValue",
                     tcp, "name", "PORTS_UDP", "type", "STRINGSET", "doubleValue", 0.0, "longValue",
                     (json_int_t)0, "integerValue", (json_int_t)0, "stringSetValue", udp);
}

json_t *
sched_instance_view(struct sched_daemon *d, json_t *inst, bool with_tags)
{
    struct usage u;
    const char *id = json_string_value(json_object_get(inst, "_id"));
    instance_usage(d, id, &u);
    json_t *v = sched_public(inst);
    int64_t cpu = json_integer_value(json_object_get(inst, "_cpu"));
    int64_t mem = json_integer_value(json_object_get(inst, "_memory"));
    json_t *reserved = json_object_get(inst, "_ports");
    json_auto_t *none = json_array();
    if (!reserved)
        reserved = none;
    json_auto_t *all_ports = json_deep_copy(reserved);
    json_array_extend(all_ports, u.ports);
    json_object_set_new(v, "registeredResources", resources(cpu, mem, reserved));
    json_object_set_new(v, "remainingResources", resources(cpu - u.cpu, mem - u.mem, all_ports));
    json_decref(u.ports);
    json_object_set_new(v, "runningTasksCount", json_integer(u.running));
    json_object_set_new(v, "pendingTasksCount", json_integer(u.pending));
    if (!with_tags)
        json_object_del(v, "tags");
    return v;
}

json_t *
sched_instance_get(struct sched_daemon *d, const char *cluster, const char *ref,
                   const char **ret_id)
{
    const char *id = sched_arn_tail(ref);
    json_t *inst = sched_get(d, SCHED_K_INSTANCE, id);
    if (!inst)
        return NULL;
    const char *cl = json_string_value(json_object_get(inst, "_cluster"));
    if (cluster && (!cl || strcmp(cl, cluster) != 0))
        return NULL;
    if (ret_id)
        *ret_id = json_string_value(json_object_get(inst, "_id"));
    return inst;
}

static void
attr_set(json_t *attrs, const char *name, const char *value)
{
    size_t i;
    json_t *a;
    json_array_foreach (attrs, i, a) {
        if (!strcmp(json_string_value(json_object_get(a, "name")), name)) {
            if (value)
                json_object_set_new(a, "value", json_string(value));
            return;
        }
    }
    json_t *a2 = json_pack("{s:s}", "name", name);
    if (value)
        json_object_set_new(a2, "value", json_string(value));
    json_array_append_new(attrs, a2);
}

json_t *
sched_instance_register(struct sched_call *c, const char *cluster, const char *hostname,
                        int64_t cpu, int64_t memory, json_t *attrs, json_t *ports,
                        const char *existing, json_t *tags)
{
    struct sched_daemon *d = c->d;
    const char *k;
    json_t *v;
    json_t *inst = NULL;
    const char *id = NULL;

    /* Re-registering (by ARN, or the same host name in the cluster) keeps the
     * instance and its tasks: a lost register reply must not create a twin. */
    if (existing) {
        inst = sched_instance_get(d, cluster, existing, &id);
        /* A deregistered instance stays so (its tasks are gone, and reviving it would
         * answer an agent with an instance every poll refuses): a new one, as by name. */
        if (inst && !strcmp(json_string_value(json_object_get(inst, "status")), "INACTIVE")) {
            inst = NULL;
            id = NULL;
        }
    }
    if (!inst && hostname) {
        k = sched_instance_by_hostname(d, cluster, hostname);
        v = k ? sched_get(d, SCHED_K_INSTANCE, k) : NULL;
        if (v && strcmp(json_string_value(json_object_get(v, "status")), "INACTIVE") != 0 &&
            json_is_string(json_object_get(v, "ec2InstanceId")) &&
            !strcmp(json_string_value(json_object_get(v, "ec2InstanceId")), hostname)) {
            inst = v;
            id = json_string_value(json_object_get(v, "_id"));
        }
    }
    json_t *attributes = json_array();
    attr_set(attributes, "ecs.os-type", "linux");
    attr_set(attributes, "ecs.os-family", "LINUX");
    attr_set(attributes, "ecs.cpu-architecture", "x86_64");
    attr_set(attributes, "ecs.instance-type", "skiff");
    attr_set(attributes, "ecs.availability-zone", "local");
    attr_set(attributes, "ecs.capability.task-eni", NULL);
    size_t i;
    json_t *a;
    json_array_foreach (attrs, i, a) {
        const char *an = json_string_value(json_object_get(a, "name"));
        if (an && *an && strlen(an) <= 128)
            attr_set(attributes, an, json_string_value(json_object_get(a, "value")));
    }
    const char *az = "local";
    json_array_foreach (attributes, i, a)
        if (!strcmp(json_string_value(json_object_get(a, "name")), "ecs.availability-zone"))
            az = json_string_value(json_object_get(a, "value"));

    if (inst) {
        json_object_set_new(inst, "attributes", attributes);
        json_object_set_new(inst, "_cpu", json_integer(cpu));
        json_object_set_new(inst, "_memory", json_integer(memory));
        json_object_set_new(inst, "_ports", ports ? json_deep_copy(ports) : json_array());
        json_object_set_new(inst, "_az", json_string(az ? az : "local"));
        json_object_set_new(inst, "agentConnected", json_true());
        json_object_set_new(inst, "version",
                            json_integer(json_integer_value(json_object_get(inst, "version")) + 1));
        sched_touch(d, SCHED_K_INSTANCE, id);
        sched_instance_bump(d, id);
        json_object_set_new(d->last_seen, id, json_integer((json_int_t)cm_loop_now_ms()));
        return inst;
    }
    char hid[33];
    sched_random_hex(hid);
    cleanup_free char *arn = sched_arn(c, "container-instance/%s/%s", cluster, hid);
    inst = json_pack("{s:s,s:s,s:i,s:{s:s},s:s,s:b,s:o,s:f,s:o,s:[]}", "containerInstanceArn", arn,
                     "ec2InstanceId", hostname ? hostname : hid, "version", 1, "versionInfo",
                     "agentVersion", "skiff-1", "status", "ACTIVE", "agentConnected", true,
                     "attributes", attributes, "registeredAt", sched_now(), "tags",
                     tags ? json_deep_copy(tags) : json_array(), "attachments");
    json_object_set_new(inst, "_id", json_string(hid));
    json_object_set_new(inst, "_cluster", json_string(cluster));
    json_object_set_new(inst, "_cpu", json_integer(cpu));
    json_object_set_new(inst, "_memory", json_integer(memory));
    json_object_set_new(inst, "_ports", ports ? json_deep_copy(ports) : json_array());
    json_object_set_new(inst, "_az", json_string(az ? az : "local"));
    json_object_set_new(inst, "_version", json_integer(1));
    sched_put(d, SCHED_K_INSTANCE, hid, inst);
    sched_index_instance(d, hid, inst);
    json_object_set_new(d->last_seen, hid, json_integer((json_int_t)cm_loop_now_ms()));
    d->kick = true;
    return inst;
}

/* totalResources [{name: CPU|MEMORY, integerValue}, {name: PORTS, stringSetValue}] */
static int
parse_total(struct sched_call *c, json_t *in, int64_t *cpu, int64_t *mem, json_t **ports)
{
    json_t *arr = NULL;
    if (sched_in_array(c, in, "totalResources", false, 10, &arr) < 0)
        return -1;
    *ports = json_array();
    size_t i;
    json_t *r;
    json_array_foreach (arr, i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        if (!name)
            continue;
        if (!strcmp(name, "CPU") || !strcmp(name, "MEMORY")) {
            json_int_t v = json_integer_value(json_object_get(r, "integerValue"));
            if (v <= 0 || v > (1 << 24)) {
                json_decref(*ports);
                return sched_fail(c, IPE, "totalResources %s must be positive.", name);
            }
            *(!strcmp(name, "CPU") ? cpu : mem) = v;
        } else if (!strcmp(name, "PORTS") || !strcmp(name, "PORTS_UDP")) {
            size_t j;
            json_t *p;
            json_array_foreach (json_object_get(r, "stringSetValue"), j, p) {
                long port = json_is_string(p) ? strtol(json_string_value(p), NULL, 10) : 0;
                if (port > 0 && port < 65536)
                    json_array_append_new(
                        *ports,
                        json_integer(SCHED_PORT_KEY(
                            !strcmp(name, "PORTS") ? SCHED_PROTO_TCP : SCHED_PROTO_UDP, port)));
            }
        }
    }
    return 0;
}

int
sched_op_register_container_instance(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *existing = NULL, *doc = NULL;
    json_t *attrs = NULL;
    int64_t cpu = 1024, mem = 2048;
    json_auto_t *ports = NULL;
    if (!sched_cluster_get(c, in, &cluster) ||
        sched_in_str(c, in, "containerInstanceArn", false, &existing) < 0 ||
        sched_in_str(c, in, "instanceIdentityDocument", false, &doc) < 0 ||
        sched_in_array(c, in, "attributes", false, 100, &attrs) < 0 ||
        parse_total(c, in, &cpu, &mem, &ports) < 0)
        return -1;
    json_t *tags = sched_tags_parse(c, json_object_get(in, "tags"));
    if (!tags)
        return -1;
    json_t *inst =
        sched_instance_register(c, cluster, NULL, cpu, mem, attrs, ports, existing, tags);
    json_decref(tags);
    json_object_set_new(out, "containerInstance", sched_instance_view(c->d, inst, false));
    return 0;
}

int
sched_op_deregister_container_instance(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *ref = NULL, *id = NULL;
    bool force = false;
    if (!sched_cluster_get(c, in, &cluster) ||
        sched_in_str(c, in, "containerInstance", true, &ref) < 0 ||
        sched_in_bool(c, in, "force", &force) < 0)
        return -1;
    json_t *inst = sched_instance_get(c->d, cluster, ref, &id);
    if (!inst || !strcmp(json_string_value(json_object_get(inst, "status")), "INACTIVE"))
        return sched_fail(c, IPE, "The referenced container instance '%s' was not found.", ref);
    size_t n = 0;
    cleanup_free uint32_t *live = sched_tasks_of_instance(c->d, sched_intern_find(c->d, id), &n);
    bool has_tasks = n > 0;
    if (has_tasks && !force)
        return sched_fail(c, "ClientException",
                          "Found running tasks on the instance; use force to deregister it.");
    json_object_set_new(inst, "status", json_string("INACTIVE"));
    json_object_set_new(inst, "agentConnected", json_false());
    sched_touch(c->d, SCHED_K_INSTANCE, id);
    for (size_t i = 0; i < n; i++)
        sched_task_set_stopped(c->d, live[i], "TaskFailedToStart",
                               "Container instance deregistration forced by user");
    sched_instance_bump(c->d, id);
    c->d->kick = true;
    json_object_set_new(out, "containerInstance", sched_instance_view(c->d, inst, false));
    return 0;
}

int
sched_op_describe_container_instances(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL;
    json_t *refs = NULL;
    if (!sched_cluster_get(c, in, &cluster) ||
        sched_in_array(c, in, "containerInstances", true, 100, &refs) < 0)
        return -1;
    json_t *res = json_array();
    json_object_set_new(out, "containerInstances", res);
    json_object_set_new(out, "failures", json_array());
    size_t i;
    json_t *r;
    json_array_foreach (refs, i, r) {
        if (!json_is_string(r))
            return sched_fail(c, IPE, "containerInstances[%zu] must be a string.", i);
        json_t *inst = sched_instance_get(c->d, cluster, json_string_value(r), NULL);
        if (!inst) {
            sched_failure_missing(c, out, "container-instance", cluster, json_string_value(r));
            continue;
        }
        json_array_append_new(res, sched_instance_view(c->d, inst, sched_include_has(in, "TAGS")));
    }
    return 0;
}

int
sched_op_list_container_instances(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *status = NULL, *filter = NULL;
    if (!sched_cluster_get(c, in, &cluster) || sched_in_str(c, in, "status", false, &status) < 0 ||
        sched_in_str(c, in, "filter", false, &filter) < 0)
        return -1;
    static const char *const sts[] = {
        "ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED", NULL};
    bool ok = !status;
    for (size_t i = 0; status && sts[i]; i++)
        ok |= !strcmp(sts[i], status);
    if (!ok)
        return sched_fail(c, IPE, "Invalid status '%s'.", status);
    struct sched_query *q = NULL;
    if (filter && *filter) {
        cleanup_error struct cm_error *err = NULL;
        q = sched_query_parse(filter, &err);
        if (!q)
            return sched_fail(c, IPE, "Invalid filter: %s", err->msg);
    }
    struct sched_snapshot snap;
    sched_snapshot_build(c->d, cluster, &snap);
    json_auto_t *all = json_array();
    for (uint32_t i = 0; i < snap.cluster.n_instances; i++) {
        json_t *inst = sched_get(c->d, SCHED_K_INSTANCE, snap.cluster.instances[i].id);
        const char *st = json_string_value(json_object_get(inst, "status"));
        if (status ? strcmp(st, status) != 0 : !strcmp(st, "INACTIVE"))
            continue;
        if (q && !sched_query_eval(q, &snap.cluster, i, NULL))
            continue;
        json_array_append(all, json_object_get(inst, "containerInstanceArn"));
    }
    sched_snapshot_done(&snap);
    sched_query_free(q);
    return sched_paginate(c, in, all, "containerInstanceArns", out, 100);
}

int
sched_op_update_container_instances_state(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *status = NULL;
    json_t *refs = NULL;
    if (!sched_cluster_get(c, in, &cluster) ||
        sched_in_array(c, in, "containerInstances", true, 10, &refs) < 0 ||
        sched_in_str(c, in, "status", true, &status) < 0)
        return -1;
    if (strcmp(status, "ACTIVE") && strcmp(status, "DRAINING"))
        return sched_fail(c, IPE, "Container instance status must be ACTIVE or DRAINING.");
    json_t *res = json_array();
    json_object_set_new(out, "containerInstances", res);
    json_object_set_new(out, "failures", json_array());
    size_t i;
    json_t *r;
    json_array_foreach (refs, i, r) {
        const char *id = NULL;
        json_t *inst =
            json_is_string(r) ? sched_instance_get(c->d, cluster, json_string_value(r), &id) : NULL;
        if (!inst || !strcmp(json_string_value(json_object_get(inst, "status")), "INACTIVE")) {
            sched_failure_add(out, json_is_string(r) ? json_string_value(r) : "", "MISSING", NULL);
            continue;
        }
        json_object_set_new(inst, "status", json_string(status));
        sched_touch(c->d, SCHED_K_INSTANCE, id);
        json_array_append_new(res, sched_instance_view(c->d, inst, false));
    }
    c->d->kick = true;
    return 0;
}
