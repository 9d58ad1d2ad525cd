/* SPDX-License-Identifier: Apache-2.0 */
/* Tasks: RunTask (placement through the pure pipeline), StartTask (named
 * instances), StopTask, DescribeTasks, ListTasks. */
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "skiffd.h"

#define IPE "InvalidParameterException"
#define CE "ClientException"

uint32_t
sched_place_tasks(struct sched_daemon *d, struct sched_snapshot *given,
                  const struct sched_task_spec *tmpl, uint32_t count,
                  const struct sched_placement_spec *ps, const char *service_name,
                  struct sched_handles *created, struct sched_place_result *ret,
                  char **ret_closest_arn)
{
    struct sched_snapshot own;
    struct sched_snapshot *snap = given ? given : &own;
    struct sched_task_needs needs;
    struct sched_plan plan;
    struct sched_plan_result pres = {0};
    size_t n_group = 0;
    cleanup_error struct cm_error *err = NULL;
    uint32_t made = 0;

    memset(ret, 0, sizeof(*ret));
    if (!given)
        sched_snapshot_build(d, tmpl->cluster, &own);
    cleanup_free uint32_t *ports = sched_needs_from_td(tmpl->td, &needs);
    (void)ports; /* storage behind needs.ports */
    cleanup_free uint32_t *group =
        sched_group_instances(d, snap, tmpl->cluster, tmpl->group, &n_group);
    struct sched_place_request req = {
        .group = tmpl->group,
        .service_name = service_name,
        .needs = &needs,
        .constraints = ps ? ps->cons : NULL,
        .n_constraints = ps ? ps->n_cons : 0,
        .strategies = ps ? ps->strats : NULL,
        .n_strategies = ps ? ps->n_strats : 0,
        .group_instances = group,
        .n_group_instances = n_group,
        .count = count,
        .seed = (uint64_t)(sched_now() * 1000),
    };
    sched_plan_init(&plan);
    if (sched_place(&snap->cluster, &req, 0, &plan, ret, &err) < 0) {
        ret->unplaced = count;
        ret->reason = xasprintf("unable to place a task: %s", err->msg);
    } else {
        sched_plan_apply(&snap->cluster, &plan, &pres);
        struct sched_task_ids ids;
        sched_task_spec_intern(d, tmpl, &ids);
        for (size_t i = 0; i < pres.n_accepted; i++) {
            const struct sched_placement *pl = &plan.placements[pres.accepted[i]];
            struct sched_task_spec spec = *tmpl;
            spec.ids = &ids;
            spec.instance_id = snap->cluster.instances[pl->instance].id;
            sched_handles_add(created, sched_task_create(d, &spec));
            made++;
        }
        if (ret_closest_arn && ret->closest_instance != SCHED_NO_INSTANCE &&
            ret->closest_instance < snap->cluster.n_instances &&
            snap->cluster.instances[ret->closest_instance].arn)
            *ret_closest_arn = xstrdup(snap->cluster.instances[ret->closest_instance].arn);
        /* Rejected by the applier: the next pass re-plans them. */
        ret->unplaced += (uint32_t)pres.n_rejected;
        sched_plan_result_done(&pres);
    }
    sched_plan_done(&plan);
    if (!given)
        sched_snapshot_done(&own);
    return made;
}

static int
in_placement(struct sched_call *c, json_t *in, struct sched_placement_spec *ps)
{
    json_t *cons = NULL, *strat = NULL;
    cleanup_error struct cm_error *err = NULL;
    if (sched_in_array(c, in, "placementConstraints", false, 10, &cons) < 0 ||
        sched_in_array(c, in, "placementStrategy", false, 5, &strat) < 0)
        return -1;
    if (sched_placement_spec_init(ps, cons, strat, &err) < 0)
        return sched_fail(c, IPE, "%s", err->msg);
    return 0;
}

static bool
active_instances(struct sched_daemon *d, const char *cluster)
{
    const char *k;
    json_t *v;
    json_t *one;
    json_object_foreach (sched_instances_of_cluster(d, cluster), k, one) {
        v = sched_get(d, SCHED_K_INSTANCE, k);
        if (v && strcmp(json_string_value(json_object_get(v, "status")), "INACTIVE") != 0)
            return true;
    }
    return false;
}

static json_t *
tasks_view(struct sched_daemon *d, json_t *ids, bool with_tags)
{
    json_t *arr = json_array();
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        uint32_t h = sched_task_find(d, json_string_value(id));
        if (h != SCHED_NO_TASK)
            json_array_append_new(arr, sched_task_view(d, h, with_tags));
    }
    return arr;
}

static json_t *
handles_view(struct sched_daemon *d, const struct sched_handles *hs, bool with_tags)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < hs->n; i++)
        json_array_append_new(arr, sched_task_view(d, hs->v[i], with_tags));
    return arr;
}

static int
common_task_inputs(struct sched_call *c, json_t *in, const char **cluster, json_t **td,
                   const char **started_by, const char **group, json_t **overrides, json_t **tags)
{
    const char *ref = NULL;
    if (!sched_cluster_get(c, in, cluster) ||
        sched_in_str(c, in, "taskDefinition", true, &ref) < 0 ||
        sched_in_str(c, in, "startedBy", false, started_by) < 0 ||
        sched_in_str(c, in, "group", false, group) < 0 ||
        sched_in_object(c, in, "overrides", overrides) < 0)
        return -1;
    if (*started_by && strlen(*started_by) > 128)
        return sched_fail(c, IPE, "startedBy can be at most 128 characters.");
    *td = sched_taskdef_resolve(c, ref, true);
    if (!*td)
        return -1;
    *tags = sched_tags_parse(c, json_object_get(in, "tags"));
    if (!*tags)
        return -1;
    return 0;
}

int
sched_op_run_task(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *started_by = NULL, *group = NULL, *lt = "EC2", *token = NULL;
    json_t *td = NULL, *overrides = NULL;
    json_auto_t *tags = NULL;
    int64_t count = 1;
    struct sched_placement_spec ps;

    if (common_task_inputs(c, in, &cluster, &td, &started_by, &group, &overrides, &tags) < 0 ||
        sched_in_int(c, in, "count", false, 1, 10, &count) < 0 ||
        sched_in_str(c, in, "launchType", false, &lt) < 0 ||
        sched_in_str(c, in, "clientToken", false, &token) < 0)
        return -1;
    static const char *const lts[] = {"EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES", NULL};
    bool ok = false;
    for (size_t i = 0; lts[i]; i++)
        ok |= !strcmp(lts[i], lt);
    if (!ok)
        return sched_fail(c, IPE, "launchType '%s' is invalid.", lt);
    /* clientToken: a retried RunTask returns the tasks of the first attempt. */
    if (token && *token) {
        json_t *ids = json_object_get(c->d->idx_token, token);
        if (json_array_size(ids) > 0) {
            json_object_set_new(out, "tasks", tasks_view(c->d, ids, false));
            json_object_set_new(out, "failures", json_array());
            return 0;
        }
    }
    if (in_placement(c, in, &ps) < 0)
        return -1;
    if (!active_instances(c->d, cluster)) {
        sched_placement_spec_done(&ps);
        return sched_fail(c, IPE, "No Container Instances were found in your cluster.");
    }
    cleanup_free char *dgroup =
        group ? xstrdup(group)
              : xasprintf("family:%s", json_string_value(json_object_get(td, "family")));
    struct sched_task_spec spec = {
        .cluster = cluster,
        .td = td,
        .overrides = overrides,
        .started_by = started_by,
        .group = dgroup,
        .launch_type = lt,
        .tags = tags,
        .client_token = token,
    };
    struct sched_handles created = {0};
    struct sched_place_result res;
    cleanup_free char *closest = NULL;
    sched_place_tasks(c->d, NULL, &spec, (uint32_t)count, &ps, NULL, &created, &res, &closest);
    sched_placement_spec_done(&ps);
    json_object_set_new(out, "tasks", handles_view(c->d, &created, false));
    sched_handles_done(&created);
    json_object_set_new(out, "failures", json_array());
    for (uint32_t i = 0; i < res.unplaced; i++) {
        const char *arn = closest;
        json_t *f = json_pack("{s:s}", "reason", sched_reject_ecs_reason(res.closest_reject));
        if (arn)
            json_object_set_new(f, "arn", json_string(arn));
        if (res.reason)
            json_object_set_new(f, "detail", json_string(res.reason));
        json_array_append_new(json_object_get(out, "failures"), f);
    }
    sched_place_result_done(&res);
    return 0;
}

int
sched_op_start_task(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *started_by = NULL, *group = NULL;
    json_t *td = NULL, *overrides = NULL, *refs = NULL;
    json_auto_t *tags = NULL;

    if (common_task_inputs(c, in, &cluster, &td, &started_by, &group, &overrides, &tags) < 0 ||
        sched_in_array(c, in, "containerInstances", true, 10, &refs) < 0)
        return -1;
    cleanup_free char *dgroup =
        group ? xstrdup(group)
              : xasprintf("family:%s", json_string_value(json_object_get(td, "family")));
    struct sched_snapshot snap;
    struct sched_task_needs needs;
    sched_snapshot_build(c->d, cluster, &snap);
    cleanup_free uint32_t *ports = sched_needs_from_td(td, &needs);
    (void)ports; /* storage behind needs.ports */
    struct sched_place_request req = {.group = dgroup, .needs = &needs, .count = 1};
    struct sched_handles created = {0};
    json_object_set_new(out, "failures", json_array());
    size_t i;
    json_t *r;
    json_array_foreach (refs, i, r) {
        const char *ref = json_is_string(r) ? json_string_value(r) : "";
        uint32_t idx = sched_snapshot_find(&snap, sched_arn_tail(ref));
        if (idx == SCHED_NO_INSTANCE) {
            sched_failure_add(out, ref, "MISSING", NULL);
            continue;
        }
        enum sched_reject why = sched_feasible(&snap.cluster, idx, &req, 0);
        if (why != SCHED_REJECT_NONE) {
            sched_failure_add(out, snap.cluster.instances[idx].arn, sched_reject_ecs_reason(why),
                              NULL);
            continue;
        }
        sched_instance_commit(&snap.cluster.instances[idx], &needs);
        struct sched_task_spec spec = {
            .cluster = cluster,
            .td = td,
            .instance_id = snap.cluster.instances[idx].id,
            .overrides = overrides,
            .started_by = started_by,
            .group = dgroup,
            .launch_type = "EC2",
            .tags = tags,
        };
        sched_handles_add(&created, sched_task_create(c->d, &spec));
    }
    sched_snapshot_done(&snap);
    json_object_set_new(out, "tasks", handles_view(c->d, &created, false));
    sched_handles_done(&created);
    return 0;
}

static uint32_t
task_get(struct sched_call *c, const char *cluster, const char *ref)
{
    uint32_t h = sched_task_find(c->d, sched_arn_tail(ref));
    if (h == SCHED_NO_TASK ||
        strcmp(sched_str(c->d, sched_task_at(c->d, h)->cluster), cluster) != 0)
        return SCHED_NO_TASK;
    return h;
}

int
sched_op_stop_task(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *ref = NULL, *reason = "Task stopped by user";
    if (!sched_cluster_get(c, in, &cluster) || sched_in_str(c, in, "task", true, &ref) < 0 ||
        sched_in_str(c, in, "reason", false, &reason) < 0)
        return -1;
    if (strlen(reason) > 1024)
        return sched_fail(c, IPE, "reason can be at most 1024 characters.");
    uint32_t h = task_get(c, cluster, ref);
    if (h == SCHED_NO_TASK)
        return sched_fail(c, IPE, "The referenced task was not found.");
    sched_task_stop(c->d, h, "UserInitiated", reason);
    json_object_set_new(out, "task", sched_task_view(c->d, h, false));
    return 0;
}

int
sched_op_describe_tasks(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL;
    json_t *refs = NULL;
    if (!sched_cluster_get(c, in, &cluster) || sched_in_array(c, in, "tasks", true, 100, &refs) < 0)
        return -1;
    bool with_tags = sched_include_has(in, "TAGS");
    size_t i;
    json_t *v;
    json_t *arr = json_array();
    json_object_set_new(out, "tasks", arr);
    json_object_set_new(out, "failures", json_array());
    json_array_foreach (refs, i, v) {
        const char *ref = json_is_string(v) ? json_string_value(v) : "";
        uint32_t h = task_get(c, cluster, ref);
        if (h == SCHED_NO_TASK) {
            sched_failure_missing(c, out, "task", cluster, ref);
            continue;
        }
        json_array_append_new(arr, sched_task_view(c->d, h, with_tags));
    }
    return 0;
}

int
sched_op_list_tasks(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *inst = NULL, *family = NULL, *started_by = NULL, *service = NULL,
               *desired = "RUNNING", *lt = NULL;
    if (!sched_cluster_get(c, in, &cluster) ||
        sched_in_str(c, in, "containerInstance", false, &inst) < 0 ||
        sched_in_str(c, in, "family", false, &family) < 0 ||
        sched_in_str(c, in, "startedBy", false, &started_by) < 0 ||
        sched_in_str(c, in, "serviceName", false, &service) < 0 ||
        sched_in_str(c, in, "desiredStatus", false, &desired) < 0 ||
        sched_in_str(c, in, "launchType", false, &lt) < 0)
        return -1;
    if (strcmp(desired, "RUNNING") && strcmp(desired, "PENDING") && strcmp(desired, "STOPPED"))
        return sched_fail(c, IPE, "desiredStatus must be RUNNING, PENDING or STOPPED.");
    cleanup_free char *skey = service ? xasprintf("%s/%s", cluster, sched_arn_tail(service)) : NULL;
    cleanup_free char *fam_prefix = family ? xasprintf("%s:", family) : NULL;
    json_auto_t *all = json_array();
    struct sched_daemon *d = c->d;
    uint32_t cl = sched_intern_find(d, cluster);
    uint32_t want_inst = inst ? sched_intern_find(d, sched_arn_tail(inst)) : 0;
    uint32_t want_sb = started_by ? sched_intern_find(d, started_by) : 0;
    uint32_t want_svc = skey ? sched_intern_find(d, skey) : 0;
    uint32_t want_lt = lt ? sched_intern_find(d, lt) : 0;
    bool none = !cl || (inst && !want_inst) || (started_by && !want_sb) || (skey && !want_svc) ||
                (lt && !want_lt);
    for (uint32_t h = 0; !none && h < d->tasks.n; h++) {
        const struct sched_task_rec *t = sched_task_at(d, h);
        if (!(t->flags & SCHED_TF_USED) || t->cluster != cl)
            continue;
        bool ds_stopped = t->flags & SCHED_TF_DESIRED_STOP;
        if (!strcmp(desired, "PENDING")   ? (ds_stopped || t->last_status >= 3)
            : !strcmp(desired, "STOPPED") ? !ds_stopped
                                          : ds_stopped)
            continue;
        if ((want_inst && t->instance != want_inst) || (want_sb && t->started_by != want_sb) ||
            (want_svc && t->service != want_svc) ||
            (want_lt && (t->launch_type ? t->launch_type : sched_intern(d, "EC2")) != want_lt))
            continue;
        const char *tdkey = sched_str(d, t->td);
        if (fam_prefix && (!tdkey || strncmp(tdkey, fam_prefix, strlen(fam_prefix)) != 0))
            continue;
        cleanup_free char *arn = sched_task_arn(d, t);
        json_array_append_new(all, json_string(arn));
    }
    return sched_paginate(c, in, all, "taskArns", out, 100);
}
