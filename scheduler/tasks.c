/* SPDX-License-Identifier: Apache-2.0 */
/* Task documents: creation with ECS's fields, the forward-only lifecycle,
 * stopping, and the per-instance desired-state version agents poll on. */
#include <stdio.h>
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
    uint32_t i = sched_intern_find(d, instance_id);
    if (i) {
        if (i >= d->n_bumped) {
            size_t n = d->n_bumped ? d->n_bumped : 1024;
            while (n <= i)
                n *= 2;
            d->bumped = xrealloc(d->bumped, n * sizeof(*d->bumped));
            memset(d->bumped + d->n_bumped, 0, (n - d->n_bumped) * sizeof(*d->bumped));
            d->n_bumped = n;
        }
        if (d->bumped[i] == d->flush_epoch)
            return; /* already moved in this batch; nobody has seen that version yet */
    }
    json_t *inst = instance_id ? sched_get(d, SCHED_K_INSTANCE, instance_id) : NULL;
    if (!inst)
        return;
    if (i)
        d->bumped[i] = d->flush_epoch;
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

void
sched_task_spec_intern(struct sched_daemon *d, const struct sched_task_spec *spec,
                       struct sched_task_ids *ret)
{
    const char *family = json_string_value(json_object_get(spec->td, "family"));
    char tdkey[320];
    snprintf(tdkey, sizeof(tdkey), "%s:%lld", family ? family : "",
             (long long)json_integer_value(json_object_get(spec->td, "revision")));
    ret->cluster = sched_intern(d, spec->cluster);
    ret->service = sched_intern(d, spec->service);
    ret->td = sched_intern(d, tdkey);
    ret->deployment = sched_intern(d, spec->deployment);
    ret->group = sched_intern(d, spec->group);
    ret->started_by = sched_intern(d, spec->started_by);
    ret->launch_type = sched_intern(d, spec->launch_type ? spec->launch_type : "EC2");
    ret->cpu = (int32_t)json_integer_value(json_object_get(spec->td, "_cpu"));
    ret->memory = (int32_t)json_integer_value(json_object_get(spec->td, "_memory"));
}

uint32_t
sched_task_create(struct sched_daemon *d, const struct sched_task_spec *spec)
{
    struct sched_task_ids own;
    const struct sched_task_ids *ids = spec->ids;
    if (!ids) {
        sched_task_spec_intern(d, spec, &own);
        ids = &own;
    }
    uint32_t h = sched_task_alloc(d);
    struct sched_task_rec *t = sched_task_at(d, h);
    t->cluster = ids->cluster;
    t->service = ids->service;
    t->instance = sched_intern(d, spec->instance_id);
    t->td = ids->td;
    t->deployment = ids->deployment;
    t->group = ids->group;
    t->started_by = ids->started_by;
    t->launch_type = ids->launch_type;
    t->cpu = ids->cpu;
    t->memory = ids->memory;
    t->version = 1;
    t->last_status = 0; /* PROVISIONING */
    t->created_ms = sched_now_ms();
    if (spec->overrides)
        json_object_set_new(sched_task_extra(t), "overrides", json_deep_copy(spec->overrides));
    if (json_array_size(spec->tags) > 0)
        json_object_set_new(sched_task_extra(t), "tags", json_deep_copy(spec->tags));
    if (spec->client_token) {
        json_object_set_new(sched_task_extra(t), "_clientToken", json_string(spec->client_token));
        char hex[33];
        sched_task_hex(t, hex);
        json_t *arr = json_object_get(d->idx_token, spec->client_token);
        if (!arr) {
            arr = json_array();
            json_object_set_new(d->idx_token, spec->client_token, arr);
        }
        json_array_append_new(arr, json_string(hex));
    }
    sched_task_changed(d, h);
    sched_instance_bump(d, spec->instance_id);
    return h;
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

/* Reasons the scheduler itself writes are few and repeat: they are interned.
 * Anything else (a user's or an agent's text) stays with its task. */
static void
set_reason(struct sched_daemon *d, struct sched_task_rec *t, const char *reason, bool ours)
{
    if (ours) {
        t->stopped_reason = sched_intern(d, reason);
        if (t->extra)
            json_object_del(t->extra, "stoppedReason");
    } else {
        t->stopped_reason = 0;
        json_object_set_new(sched_task_extra(t), "stoppedReason", json_string(reason));
    }
}

static bool
has_reason(const struct sched_task_rec *t)
{
    return t->stopped_reason || (t->extra && json_object_get(t->extra, "stoppedReason"));
}

static bool
scheduler_reason(const char *code)
{
    return code && !strcmp(code, "ServiceSchedulerInitiated");
}

void
sched_task_set_stopped(struct sched_daemon *d, uint32_t h, const char *stop_code,
                       const char *reason)
{
    if (h == SCHED_NO_TASK)
        return;
    struct sched_task_rec *t = sched_task_at(d, h);
    if (!(t->flags & SCHED_TF_USED) || !sched_task_live(t))
        return;
    int64_t now = sched_now_ms();
    t->flags |= SCHED_TF_DESIRED_STOP;
    t->last_status = 7; /* STOPPED */
    if (!t->stop_code && stop_code)
        t->stop_code = sched_intern(d, stop_code);
    if (!has_reason(t) && reason)
        set_reason(d, t, reason, scheduler_reason(stop_code));
    if (!t->stopping_ms)
        t->stopping_ms = now;
    t->execution_stopped_ms = now;
    t->stopped_ms = now;
    t->version++;
    sched_task_changed(d, h);
    sched_instance_bump(d, sched_str(d, t->instance));
    d->kick = true;
}

void
sched_task_stop(struct sched_daemon *d, uint32_t h, const char *stop_code, const char *reason)
{
    if (h == SCHED_NO_TASK)
        return;
    struct sched_task_rec *t = sched_task_at(d, h);
    if (!(t->flags & SCHED_TF_USED) || (t->flags & SCHED_TF_DESIRED_STOP))
        return;
    const char *iid = sched_str(d, t->instance);
    json_t *inst = iid ? sched_get(d, SCHED_K_INSTANCE, iid) : NULL;
    if (!inst || !sched_instance_connected(inst) ||
        !strcmp(json_string_value(json_object_get(inst, "status")), "INACTIVE")) {
        /* Nobody will report this task stopping: it is stopped now. */
        sched_task_set_stopped(d, h, stop_code, reason);
        return;
    }
    t->flags |= SCHED_TF_DESIRED_STOP;
    if (stop_code)
        t->stop_code = sched_intern(d, stop_code);
    if (reason)
        set_reason(d, t, reason, scheduler_reason(stop_code));
    t->stopping_ms = sched_now_ms();
    t->version++;
    sched_task_changed(d, h);
    sched_instance_bump(d, iid);
    d->kick = true;
}
