/* SPDX-License-Identifier: Apache-2.0 */
/* The service scheduler pass: for every service, build the pure reconcile
 * input from the documents, call sched_reconcile() (the one scheduling call),
 * and apply its answer: place starts through the pipeline and plan applier,
 * stop surplus, move deployments, emit ECS-style service events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "sched/reconcile.h"
#include "skiffd.h"

void sched_service_start_deployment(json_t *svc, const char *td_arn);

static enum sched_task_state
task_state(int r)
{
    if (r <= 0)
        return SCHED_TASK_PROVISIONING;
    if (r < 3)
        return SCHED_TASK_PENDING;
    if (r < 7)
        return SCHED_TASK_RUNNING;
    return SCHED_TASK_STOPPED;
}

static json_t *
td_of(struct sched_daemon *d, const char *arn)
{
    const char *tail = arn ? strstr(arn, ":task-definition/") : NULL;
    return tail ? sched_get(d, SCHED_K_TASKDEF, tail + strlen(":task-definition/")) : NULL;
}

static void
append_task_list(struct sched_daemon *d, char **msg, const uint32_t *hs, size_t n, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        if (i >= max) {
            char *m = xasprintf("%s ...", *msg);
            free(*msg);
            *msg = m;
            break;
        }
        char hex[33];
        sched_task_hex(sched_task_at(d, hs[i]), hex);
        char *m = xasprintf("%s (task %s)", *msg, hex);
        free(*msg);
        *msg = m;
    }
}

/* The service event ECS writes after a pass that started or stopped tasks:
 * "(service NAME) has VERB N WHAT: (task ID) ... (10 at most)." */
static void
tasks_event(struct sched_daemon *d, const char *key, json_t *svc, const char *name,
            const char *verb, const char *what, const struct sched_handles *hs)
{
    if (hs->n == 0)
        return;
    cleanup_free char *msg = xasprintf("(service %s) has %s %zu %s:", name, verb, hs->n, what);
    append_task_list(d, &msg, hs->v, hs->n, 10);
    cleanup_free char *m = xasprintf("%s.", msg);
    sched_service_event(d, key, svc, m);
}

static void
service_pass_one(struct sched_daemon *d, const char *key, json_t *svc, int64_t now_ms,
                 struct sched_snapshot *snap)
{
    const char *name = json_string_value(json_object_get(svc, "serviceName"));
    const char *cluster = json_string_value(json_object_get(svc, "_cluster"));
    const char *status = json_string_value(json_object_get(svc, "status"));
    json_t *deps = json_object_get(svc, "deployments");
    json_t *dc = json_object_get(svc, "deploymentConfiguration");
    json_t *cb = json_object_get(dc, "deploymentCircuitBreaker");
    size_t nd = json_array_size(deps);
    if (nd == 0)
        return;

    json_auto_t *before = json_deep_copy(svc);
    cleanup_free struct sched_deployment *sd = xcalloc(nd, sizeof(*sd));
    for (size_t i = 0; i < nd; i++) {
        json_t *dd = json_array_get(deps, i);
        const char *rs = json_string_value(json_object_get(dd, "rolloutState"));
        sd[i].id = json_string_value(json_object_get(dd, "id"));
        sd[i].task_definition = json_string_value(json_object_get(dd, "taskDefinition"));
        sd[i].status = i == 0 ? SCHED_DEPLOYMENT_PRIMARY : SCHED_DEPLOYMENT_ACTIVE;
        sd[i].rollout = !strcmp(rs, "COMPLETED") ? SCHED_ROLLOUT_COMPLETED
                        : !strcmp(rs, "FAILED")  ? SCHED_ROLLOUT_FAILED
                                                 : SCHED_ROLLOUT_IN_PROGRESS;
        sd[i].failed_tasks = (uint32_t)json_integer_value(json_object_get(dd, "failedTasks"));
        sd[i].created_at = (int64_t)(json_number_value(json_object_get(dd, "createdAt")) * 1000);
    }
    struct sched_service s = {
        .name = name,
        .desired_count = (uint32_t)json_integer_value(json_object_get(svc, "desiredCount")),
        .minimum_healthy_percent =
            (uint32_t)json_integer_value(json_object_get(dc, "minimumHealthyPercent")),
        .maximum_percent = (uint32_t)json_integer_value(json_object_get(dc, "maximumPercent")),
        .circuit_breaker = json_is_true(json_object_get(cb, "enable")),
        .rollback = json_is_true(json_object_get(cb, "rollback")),
        .start_failures = (uint32_t)json_integer_value(json_object_get(svc, "_startFailures")),
        .last_start_failure_at = json_integer_value(json_object_get(svc, "_lastStartFailureAt")),
        .deployments = sd,
        .n_deployments = nd,
    };

    size_t nt = 0;
    uint32_t svc_idx = sched_intern(d, key);
    cleanup_free uint32_t *handles = sched_tasks_of_service(d, svc_idx, &nt);
    struct sched_task *tasks = xcalloc(nt + 1, sizeof(*tasks));
    uint32_t *dep_idx = xcalloc(nd, sizeof(*dep_idx));
    for (size_t i = 0; i < nd; i++)
        dep_idx[i] = sched_intern_find(d, sd[i].id);
    for (size_t x = 0; x < nt; x++) {
        const struct sched_task_rec *t = sched_task_at(d, handles[x]);
        struct sched_task *st = &tasks[x];
        st->id = NULL; /* handles[x] names it */
        st->instance = sched_snapshot_find_idx(snap, t->instance);
        st->deployment = UINT32_MAX;
        for (size_t i = 0; t->deployment && i < nd; i++)
            if (dep_idx[i] == t->deployment)
                st->deployment = (uint32_t)i;
        st->last_status = task_state(t->last_status);
        st->desired_stopped = t->flags & SCHED_TF_DESIRED_STOP;
        st->health = t->health == SCHED_TH_HEALTHY     ? SCHED_HEALTH_HEALTHY
                     : t->health == SCHED_TH_UNHEALTHY ? SCHED_HEALTH_UNHEALTHY
                                                       : SCHED_HEALTH_UNKNOWN;
        st->has_health_check = sched_td_info(d, t->td)->has_health_check;
        st->ever_running = t->flags & SCHED_TF_EVER_RUNNING;
    }
    free(dep_idx);

    struct sched_reconcile_result res = {0};
    cleanup_error struct cm_error *err = NULL;
    int r = sched_reconcile(&s, tasks, nt, &snap->cluster, now_ms, &res, &err);
    if (r < 0) {
        cm_log_error("service '%s': reconcile: %s", key, err->msg);
        free(tasks);
        return;
    }

    /* Stops first: they free room for the starts of this same pass. */
    struct sched_handles stopped = {0};
    for (size_t i = 0; i < res.n_stops; i++) {
        const struct sched_task *st = &tasks[res.stops[i].task];
        const char *dep_id = st->deployment < nd ? sd[st->deployment].id : sd[0].id;
        cleanup_free char *why = sched_stop_reason(res.stops[i].cause, dep_id);
        sched_task_stop(d, handles[res.stops[i].task], "ServiceSchedulerInitiated", why);
        sched_handles_add(&stopped, handles[res.stops[i].task]);
    }
    tasks_event(d, key, svc, name, "stopped", "running tasks", &stopped);
    sched_handles_done(&stopped);

    if (res.start > 0) {
        json_t *td = td_of(d, sd[0].task_definition);
        json_t *cons = json_object_get(svc, "placementConstraints");
        json_t *strat = json_object_get(svc, "placementStrategy");
        struct sched_placement_spec ps;
        cleanup_error struct cm_error *perr = NULL;
        if (!td) {
            cm_log_error("service '%s': task definition '%s' is gone", key, sd[0].task_definition);
        } else if (sched_placement_spec_init(&ps, cons, strat, &perr) < 0) {
            cm_log_error("service '%s': placement: %s", key, perr->msg);
        } else {
            cleanup_free char *group = xasprintf("service:%s", name);
            struct sched_task_spec spec = {
                .cluster = cluster,
                .td = td,
                .started_by = sd[0].id,
                .group = group,
                .launch_type = json_string_value(json_object_get(svc, "launchType")),
                .tags = json_string_value(json_object_get(svc, "propagateTags")) &&
                                !strcmp(json_string_value(json_object_get(svc, "propagateTags")),
                                        "SERVICE")
                            ? json_object_get(svc, "tags")
                            : NULL,
                .service = key,
                .deployment = sd[0].id,
            };
            struct sched_handles created = {0};
            struct sched_place_result pres;
            sched_place_tasks(d, snap, &spec, res.start, &ps, name, &created, &pres, NULL);
            sched_placement_spec_done(&ps);
            tasks_event(d, key, svc, name, "started", "tasks", &created);
            sched_handles_done(&created);
            if (pres.unplaced > 0 && pres.reason) {
                /* ECS writes "(service web) was unable to place a task ..." */
                const char *rs = pres.reason;
                cleanup_free char *m = NULL;
                size_t pl = strlen("service ") + strlen(name);
                if (!strncmp(rs, "service ", 8) && !strncmp(rs + 8, name, strlen(name)))
                    m = xasprintf("(service %s)%s", name, rs + pl);
                else
                    m = xasprintf("(service %s) %s", name, rs);
                sched_service_event(d, key, svc, m);
            }
            sched_place_result_done(&pres);
        }
    }

    /* Deployments. */
    json_t *primary = json_array_get(deps, 0);
    if (res.primary_failed &&
        strcmp(json_string_value(json_object_get(primary, "rolloutState")), "FAILED") != 0) {
        json_object_set_new(primary, "rolloutState", json_string("FAILED"));
        json_object_set_new(primary, "rolloutStateReason",
                            json_string("ECS deployment circuit breaker: tasks failed to start."));
        cleanup_free char *m = xasprintf("(service %s) (deployment %s) deployment failed: tasks "
                                         "failed to start.",
                                         name, sd[0].id);
        sched_service_event(d, key, svc, m);
        if (res.rollback_task_definition) {
            cleanup_free char *tdarn = xstrdup(res.rollback_task_definition);
            json_object_set_new(svc, "taskDefinition", json_string(tdarn));
            sched_service_start_deployment(svc, tdarn);
            json_t *np = json_array_get(deps, 0);
            json_object_set(np, "desiredCount", json_object_get(svc, "desiredCount"));
            json_object_set_new(svc, "_startFailures", json_integer(0));
            cleanup_free char *m2 =
                xasprintf("(service %s) rolling back to deployment %s (task definition %s).", name,
                          json_string_value(json_object_get(np, "id")), tdarn);
            sched_service_event(d, key, svc, m2);
            res.n_remove_deployments = 0; /* indices moved: next pass cleans up */
        }
    }
    if (res.primary_completed &&
        strcmp(json_string_value(json_object_get(primary, "rolloutState")), "COMPLETED") != 0 &&
        json_array_get(deps, 0) == primary) {
        json_object_set_new(primary, "rolloutState", json_string("COMPLETED"));
        json_object_set_new(primary, "rolloutStateReason",
                            json_sprintf("ECS deployment %s completed.", sd[0].id));
        cleanup_free char *m =
            xasprintf("(service %s) (deployment %s) deployment completed.", name, sd[0].id);
        sched_service_event(d, key, svc, m);
    }
    if (res.running && json_array_get(deps, 0) == primary) {
        uint32_t run = 0, pend = 0;
        for (size_t i = 0; i < nd; i++) {
            json_t *dd = json_array_get(deps, i);
            json_object_set_new(dd, "runningCount", json_integer(res.running[i]));
            json_object_set_new(dd, "pendingCount", json_integer(res.pending[i]));
            if (!json_object_get(dd, "failedTasks"))
                json_object_set_new(dd, "failedTasks", json_integer(0));
            run += res.running[i];
            pend += res.pending[i];
        }
        json_object_set_new(svc, "runningCount", json_integer(run));
        json_object_set_new(svc, "pendingCount", json_integer(pend));
    }
    /* Remove finished old deployments, highest index first. */
    for (size_t i = res.n_remove_deployments; i-- > 0;) {
        size_t idx = res.remove_deployments[i];
        if (idx > 0 && idx < json_array_size(deps))
            json_array_remove(deps, idx);
    }
    if (res.steady) {
        cleanup_free char *m = xasprintf("(service %s) has reached a steady state.", name);
        sched_service_event(d, key, svc, m);
    }
    if (res.stuck) {
        cleanup_free char *m = xasprintf(
            "(service %s) was unable to stop or start tasks during a deployment because of the "
            "service deployment configuration. Update the minimumHealthyPercent or "
            "maximumPercent value and try again.",
            name);
        sched_service_event(d, key, svc, m);
    }
    if (res.throttled) {
        cleanup_free char *m =
            xasprintf("(service %s) is unable to consistently start tasks successfully.", name);
        sched_service_event(d, key, svc, m);
    }
    /* A deleted service becomes INACTIVE once its last task is gone. */
    if (!strcmp(status, "DRAINING") && nt == 0)
        json_object_set_new(svc, "status", json_string("INACTIVE"));
    sched_reconcile_result_done(&res);
    free(tasks);
    if (!json_equal(before, svc))
        sched_touch(d, SCHED_K_SERVICE, key);
}

struct pass_snapshot {
    char *cluster;
    struct sched_snapshot snap;
};

void
sched_service_pass(struct sched_daemon *d)
{
    int64_t now_ms = (int64_t)(sched_now() * 1000);
    const char *k;
    json_t *svc;
    /* One snapshot per cluster per pass: placements are committed into it by
     * the plan applier, so later services of the pass see them. */
    struct pass_snapshot *snaps = NULL;
    size_t n_snaps = 0, cap = 0;
    json_object_foreach (d->tables[SCHED_K_SERVICE], k, svc) {
        const char *st = json_string_value(json_object_get(svc, "status"));
        const char *cl = json_string_value(json_object_get(svc, "_cluster"));
        if (!strcmp(st, "INACTIVE") || !cl)
            continue;
        struct sched_snapshot *snap = NULL;
        for (size_t i = 0; i < n_snaps && !snap; i++)
            if (!strcmp(snaps[i].cluster, cl))
                snap = &snaps[i].snap;
        if (!snap) {
            snaps = xreallocarray_grow(snaps, &cap, n_snaps + 1, sizeof(*snaps));
            snaps[n_snaps].cluster = xstrdup(cl);
            sched_snapshot_build(d, cl, &snaps[n_snaps].snap);
            snap = &snaps[n_snaps++].snap;
        }
        service_pass_one(d, k, svc, now_ms, snap);
    }
    for (size_t i = 0; i < n_snaps; i++) {
        sched_snapshot_done(&snaps[i].snap);
        free(snaps[i].cluster);
    }
    free(snaps);
}
