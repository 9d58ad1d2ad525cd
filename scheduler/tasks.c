/* SPDX-License-Identifier: Apache-2.0 */
/* Task documents: creation with ECS's fields, the forward-only lifecycle,
 * stopping, and the per-instance desired-state version agents poll on. */
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "sched/placement.h"
#include "skiffd.h"

static const char *const lifecycle[] = {"PROVISIONING",   "PENDING",      "ACTIVATING",
                                        "RUNNING",        "DEACTIVATING", "STOPPING",
                                        "DEPROVISIONING", "STOPPED",      NULL};

int
sched_status_rank(const char *s)
{
    for (int i = 0; s && lifecycle[i]; i++)
        if (!strcmp(lifecycle[i], s))
            return i;
    return -1;
}

char *
sched_region_of(struct sched_daemon *d, const char *arn)
{
    /* arn:aws:ecs:REGION:ACCOUNT:... */
    if (arn && !strncmp(arn, "arn:aws:ecs:", 12)) {
        const char *r = arn + 12;
        const char *e = strchr(r, ':');
        if (e && e > r)
            return xstrndup(r, (size_t)(e - r));
    }
    return xstrdup(d->region);
}

void
sched_instance_bump(struct sched_daemon *d, const char *instance_id)
{
    json_t *inst = instance_id ? sched_get(d, SCHED_K_INSTANCE, instance_id) : NULL;
    if (!inst)
        return;
    json_int_t v = json_integer_value(json_object_get(inst, "_version"));
    json_object_set_new(inst, "_version", json_integer(v + 1));
    sched_touch(d, SCHED_K_INSTANCE, instance_id);
}

bool
sched_instance_connected(json_t *inst)
{
    return json_is_true(json_object_get(inst, "agentConnected"));
}

json_t *
sched_td_host_ports(json_t *td)
{
    json_t *ports = json_array();
    const char *net = json_string_value(json_object_get(td, "networkMode"));
    bool host = net && !strcmp(net, "host");
    bool bridge = !net || !strcmp(net, "bridge");
    size_t i, j;
    json_t *cd, *pm;
    if (!host && !bridge)
        return ports;
    json_array_foreach (json_object_get(td, "containerDefinitions"), i, cd) {
        json_array_foreach (json_object_get(cd, "portMappings"), j, pm) {
            json_int_t p =
                json_integer_value(json_object_get(pm, host ? "containerPort" : "hostPort"));
            const char *proto = json_string_value(json_object_get(pm, "protocol"));
            if (p > 0 && p < 65536)
                json_array_append_new(
                    ports,
                    json_integer(SCHED_PORT_KEY(
                        proto && !strcmp(proto, "udp") ? SCHED_PROTO_UDP : SCHED_PROTO_TCP, p)));
        }
    }
    return ports;
}

json_t *
sched_task_create(struct sched_daemon *d, const struct sched_task_spec *spec)
{
    char id[33], uuid[37];
    sched_random_hex(id);
    json_t *cl = sched_get(d, SCHED_K_CLUSTER, spec->cluster);
    const char *cluster_arn = json_string_value(json_object_get(cl, "clusterArn"));
    cleanup_free char *region = sched_region_of(d, cluster_arn);
    cleanup_free char *arn =
        xasprintf("arn:aws:ecs:%s:%s:task/%s/%s", region, SCHED_ACCOUNT, spec->cluster, id);
    json_t *inst = sched_get(d, SCHED_K_INSTANCE, spec->instance_id);
    double now = sched_now();

    json_t *containers = json_array();
    size_t i;
    json_t *cd;
    json_array_foreach (json_object_get(spec->td, "containerDefinitions"), i, cd) {
        sched_uuid(uuid);
        cleanup_free char *carn = xasprintf("arn:aws:ecs:%s:%s:container/%s/%s/%s", region,
                                            SCHED_ACCOUNT, spec->cluster, id, uuid);
        json_t *c = json_pack("{s:s,s:s,s:O,s:O,s:s,s:[],s:[],s:s}", "containerArn", carn,
                              "taskArn", arn, "name", json_object_get(cd, "name"), "image",
                              json_object_get(cd, "image"), "lastStatus", "PENDING",
                              "networkBindings", "networkInterfaces", "healthStatus", "UNKNOWN");
        json_object_set_new(
            c, "cpu",
            json_sprintf("%lld", (long long)json_integer_value(json_object_get(cd, "cpu"))));
        if (json_object_get(cd, "memory"))
            json_object_set_new(
                c, "memory",
                json_sprintf("%lld", (long long)json_integer_value(json_object_get(cd, "memory"))));
        if (json_object_get(cd, "memoryReservation"))
            json_object_set_new(c, "memoryReservation",
                                json_sprintf("%lld", (long long)json_integer_value(json_object_get(
                                                         cd, "memoryReservation"))));
        json_array_append_new(containers, c);
    }
    json_t *t =
        json_pack("{s:s,s:s,s:O,s:O,s:s,s:s,s:o,s:f,s:i,s:s,s:s,s:o,s:o,s:[],s:s}", "taskArn", arn,
                  "clusterArn", cluster_arn, "taskDefinitionArn",
                  json_object_get(spec->td, "taskDefinitionArn"), "containerInstanceArn",
                  json_object_get(inst, "containerInstanceArn"), "lastStatus", "PROVISIONING",
                  "desiredStatus", "RUNNING", "containers", containers, "createdAt", now, "version",
                  1, "launchType", spec->launch_type ? spec->launch_type : "EC2", "group",
                  spec->group, "overrides",
                  spec->overrides ? json_deep_copy(spec->overrides)
                                  : json_pack("{s:[],s:[]}", "containerOverrides",
                                              "inferenceAcceleratorOverrides"),
                  "tags", spec->tags ? json_deep_copy(spec->tags) : json_array(), "attachments",
                  "healthStatus", "UNKNOWN");
    json_object_set_new(
        t, "cpu",
        json_sprintf("%lld", (long long)json_integer_value(json_object_get(spec->td, "_cpu"))));
    json_object_set_new(
        t, "memory",
        json_sprintf("%lld", (long long)json_integer_value(json_object_get(spec->td, "_memory"))));
    json_object_set_new(t, "availabilityZone",
                        json_string(json_string_value(json_object_get(inst, "_az"))
                                        ? json_string_value(json_object_get(inst, "_az"))
                                        : "local"));
    if (spec->started_by)
        json_object_set_new(t, "startedBy", json_string(spec->started_by));
    if (!strcmp(json_string_value(json_object_get(t, "launchType")), "FARGATE"))
        json_object_set_new(t, "platformVersion", json_string("1.4.0"));
    json_object_set_new(t, "_cluster", json_string(spec->cluster));
    json_object_set_new(t, "_instance", json_string(spec->instance_id));
    json_object_set_new(t, "_cpu", json_deep_copy(json_object_get(spec->td, "_cpu")));
    json_object_set_new(t, "_memory", json_deep_copy(json_object_get(spec->td, "_memory")));
    json_object_set_new(t, "_ports", sched_td_host_ports(spec->td));
    if (spec->service)
        json_object_set_new(t, "_service", json_string(spec->service));
    if (spec->deployment)
        json_object_set_new(t, "_deployment", json_string(spec->deployment));
    if (spec->client_token)
        json_object_set_new(t, "_clientToken", json_string(spec->client_token));
    sched_put(d, SCHED_K_TASK, id, t);
    sched_index_task(d, id, t);
    if (spec->client_token) {
        json_t *arr = json_object_get(d->idx_token, spec->client_token);
        if (!arr) {
            arr = json_array();
            json_object_set_new(d->idx_token, spec->client_token, arr);
        }
        json_array_append_new(arr, json_string(id));
    }
    sched_instance_bump(d, spec->instance_id);
    return t;
}

/* The reported healthStatus of the task container named NAME, or NULL. */
static const char *
container_health(json_t *containers, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach (containers, i, c) {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && name && !strcmp(n, name))
            return json_string_value(json_object_get(c, "healthStatus"));
    }
    return NULL;
}

const char *
sched_task_health(json_t *td, json_t *containers)
{
    size_t i;
    json_t *cd;
    bool checked = false, unknown = false;
    json_array_foreach (json_object_get(td, "containerDefinitions"), i, cd) {
        /* Stored task definitions always carry "essential"; absent means essential in ECS. */
        json_t *ess = json_object_get(cd, "essential");
        if (ess && !json_is_true(ess))
            continue;
        const char *hs =
            container_health(containers, json_string_value(json_object_get(cd, "name")));
        /* An UNHEALTHY essential container fails the task even if it has no
         * healthCheck on record (agents only report health for checked ones). */
        if (hs && !strcmp(hs, "UNHEALTHY"))
            return "UNHEALTHY";
        if (!json_object_get(cd, "healthCheck"))
            continue;
        checked = true;
        if (!hs || strcmp(hs, "HEALTHY") != 0)
            unknown = true;
    }
    return checked && !unknown ? "HEALTHY" : "UNKNOWN";
}

static void
task_version_bump(json_t *t)
{
    json_object_set_new(t, "version",
                        json_integer(json_integer_value(json_object_get(t, "version")) + 1));
}

void
sched_task_set_stopped(struct sched_daemon *d, const char *id, const char *stop_code,
                       const char *reason)
{
    json_t *t = sched_get(d, SCHED_K_TASK, id);
    if (!t || !strcmp(json_string_value(json_object_get(t, "lastStatus")), "STOPPED"))
        return;
    double now = sched_now();
    json_object_set_new(t, "desiredStatus", json_string("STOPPED"));
    json_object_set_new(t, "lastStatus", json_string("STOPPED"));
    if (!json_object_get(t, "stopCode") && stop_code)
        json_object_set_new(t, "stopCode", json_string(stop_code));
    if (!json_object_get(t, "stoppedReason") && reason)
        json_object_set_new(t, "stoppedReason", json_string(reason));
    if (!json_object_get(t, "stoppingAt"))
        json_object_set_new(t, "stoppingAt", json_real(now));
    json_object_set_new(t, "executionStoppedAt", json_real(now));
    json_object_set_new(t, "stoppedAt", json_real(now));
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(t, "containers"), i, c)
        json_object_set_new(c, "lastStatus", json_string("STOPPED"));
    task_version_bump(t);
    sched_touch(d, SCHED_K_TASK, id);
    sched_index_task(d, id, t);
    sched_instance_bump(d, json_string_value(json_object_get(t, "_instance")));
    d->kick = true;
}

void
sched_task_stop(struct sched_daemon *d, const char *id, const char *stop_code, const char *reason)
{
    json_t *t = sched_get(d, SCHED_K_TASK, id);
    if (!t || !strcmp(json_string_value(json_object_get(t, "desiredStatus")), "STOPPED"))
        return;
    const char *iid = json_string_value(json_object_get(t, "_instance"));
    json_t *inst = iid ? sched_get(d, SCHED_K_INSTANCE, iid) : NULL;
    if (!inst || !sched_instance_connected(inst) ||
        !strcmp(json_string_value(json_object_get(inst, "status")), "INACTIVE")) {
        /* Nobody will report this task stopping: it is stopped now. */
        sched_task_set_stopped(d, id, stop_code, reason);
        return;
    }
    json_object_set_new(t, "desiredStatus", json_string("STOPPED"));
    if (stop_code)
        json_object_set_new(t, "stopCode", json_string(stop_code));
    if (reason)
        json_object_set_new(t, "stoppedReason", json_string(reason));
    json_object_set_new(t, "stoppingAt", json_real(sched_now()));
    task_version_bump(t);
    sched_touch(d, SCHED_K_TASK, id);
    sched_instance_bump(d, iid);
    d->kick = true;
}

json_t *
sched_task_view(json_t *task, bool with_tags)
{
    json_t *v = sched_public(task);
    if (!with_tags)
        json_object_del(v, "tags");
    return v;
}
