/* SPDX-License-Identifier: Apache-2.0 */
/* ECS services: Create/Update/Delete/Describe/ListServices. The scheduling
 * itself happens in service_loop.c; this file keeps the desired state. */
#include <stdio.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "skiffd.h"

#define IPE "InvalidParameterException"

void
sched_service_event(struct sched_daemon *d, const char *key, json_t *svc, const char *msg)
{
    json_t *events = json_object_get(svc, "events");
    if (!events) {
        events = json_array();
        json_object_set_new(svc, "events", events);
    }
    json_t *last = json_array_get(events, 0);
    if (last && !strcmp(json_string_value(json_object_get(last, "message")), msg))
        return;
    char id[37];
    sched_uuid(id);
    json_array_insert_new(
        events, 0, json_pack("{s:s,s:f,s:s}", "id", id, "createdAt", sched_now(), "message", msg));
    while (json_array_size(events) > 100)
        json_array_remove(events, json_array_size(events) - 1);
    sched_touch(d, SCHED_K_SERVICE, key);
}

static json_t *
deployment_new(json_t *svc, const char *td_arn)
{
    char digits[20];
    char hex[33];
    sched_random_hex(hex);
    for (int i = 0; i < 19; i++)
        digits[i] = (char)('0' + (unsigned char)hex[i + 8] % 10);
    digits[0] = (char)('1' + (unsigned char)hex[0] % 9);
    digits[19] = '\0';
    cleanup_free char *id = xasprintf("ecs-svc/%s", digits);
    double now = sched_now();
    json_t *dep = json_pack(
        "{s:s,s:s,s:s,s:O,s:i,s:i,s:i,s:f,s:f,s:O,s:s,s:o}", "id", id, "status", "PRIMARY",
        "taskDefinition", td_arn, "desiredCount", json_object_get(svc, "desiredCount"),
        "pendingCount", 0, "runningCount", 0, "failedTasks", 0, "createdAt", now, "updatedAt", now,
        "launchType", json_object_get(svc, "launchType"), "rolloutState", "IN_PROGRESS",
        "rolloutStateReason", json_sprintf("ECS deployment %s in progress.", id));
    json_t *nc = json_object_get(svc, "networkConfiguration");
    if (nc)
        json_object_set(dep, "networkConfiguration", nc);
    return dep;
}

/* Makes a new PRIMARY deployment; the previous primary keeps its tasks as ACTIVE. */
static void
start_deployment(json_t *svc, const char *td_arn)
{
    json_t *deps = json_object_get(svc, "deployments");
    size_t i;
    json_t *dd;
    json_array_foreach (deps, i, dd)
        json_object_set_new(dd, "status", json_string("ACTIVE"));
    json_array_insert_new(deps, 0, deployment_new(svc, td_arn));
}

static int
parse_deploy_config(struct sched_call *c, json_t *in, json_t *cur, json_t **ret)
{
    json_t *dc = NULL;
    if (sched_in_object(c, in, "deploymentConfiguration", &dc) < 0)
        return -1;
    json_t *out =
        cur ? json_deep_copy(cur)
            : json_pack("{s:i,s:i,s:{s:b,s:b}}", "maximumPercent", 200, "minimumHealthyPercent",
                        100, "deploymentCircuitBreaker", "enable", false, "rollback", false);
    if (dc) {
        int64_t maxp = json_integer_value(json_object_get(out, "maximumPercent"));
        int64_t minp = json_integer_value(json_object_get(out, "minimumHealthyPercent"));
        json_t *cb = NULL;
        if (sched_in_int(c, dc, "maximumPercent", false, 100, 2000, &maxp) < 0 ||
            sched_in_int(c, dc, "minimumHealthyPercent", false, 0, 100, &minp) < 0 ||
            sched_in_object(c, dc, "deploymentCircuitBreaker", &cb) < 0) {
            json_decref(out);
            return -1;
        }
        if (cb) {
            bool en = false, rb = false;
            if (!json_is_boolean(json_object_get(cb, "enable")) ||
                !json_is_boolean(json_object_get(cb, "rollback"))) {
                json_decref(out);
                return sched_fail(c, IPE,
                                  "deploymentCircuitBreaker needs both enable and rollback.");
            }
            en = json_is_true(json_object_get(cb, "enable"));
            rb = json_is_true(json_object_get(cb, "rollback"));
            json_object_set_new(out, "deploymentCircuitBreaker",
                                json_pack("{s:b,s:b}", "enable", en, "rollback", rb));
        }
        json_object_set_new(out, "maximumPercent", json_integer(maxp));
        json_object_set_new(out, "minimumHealthyPercent", json_integer(minp));
        const char *strategy = NULL;
        if (sched_in_str(c, dc, "strategy", false, &strategy) < 0) {
            json_decref(out);
            return -1;
        }
        if (strategy && strcmp(strategy, "ROLLING") != 0) {
            json_decref(out);
            return sched_fail(c, "UnsupportedFeatureException",
                              "Deployment strategy '%s' is not supported; use ROLLING.", strategy);
        }
    }
    *ret = out;
    return 0;
}

static int
check_placement(struct sched_call *c, json_t *in, const char *launch_type)
{
    json_t *cons = NULL, *strat = NULL;
    struct sched_placement_spec ps;
    cleanup_error struct cm_error *err = NULL;
    if (sched_in_array(c, in, "placementConstraints", false, 10, &cons) < 0 ||
        sched_in_array(c, in, "placementStrategy", false, 5, &strat) < 0)
        return -1;
    if (sched_placement_spec_init(&ps, cons, strat, &err) < 0)
        return sched_fail(c, IPE, "%s", err->msg);
    sched_placement_spec_done(&ps);
    if (launch_type && !strcmp(launch_type, "FARGATE") &&
        (json_array_size(cons) || json_array_size(strat)))
        return sched_fail(c, IPE,
                          "Task placement constraints and strategies are not supported with "
                          "the FARGATE launch type.");
    return 0;
}

static json_t *
service_view(json_t *svc, bool with_tags)
{
    json_t *v = sched_public(svc);
    if (!with_tags)
        json_object_del(v, "tags");
    return v;
}

static json_t *
service_get(struct sched_call *c, const char *cluster, const char *ref, char **ret_key)
{
    cleanup_free char *key = xasprintf("%s/%s", cluster, sched_arn_tail(ref));
    json_t *svc = sched_get(c->d, SCHED_K_SERVICE, key);
    if (svc && ret_key)
        *ret_key = TAKE_PTR(key);
    return svc;
}

int
sched_op_create_service(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *name = NULL, *tdref = NULL, *lt = "EC2", *ss = "REPLICA";
    int64_t desired = 0, grace = 0;
    json_t *td = NULL, *dctl = NULL, *nc = NULL, *lbs = NULL;
    json_t *dc = NULL;

    if (!sched_cluster_get(c, in, &cluster) ||
        sched_in_str(c, in, "serviceName", true, &name) < 0 ||
        sched_in_str(c, in, "taskDefinition", false, &tdref) < 0 ||
        sched_in_int(c, in, "desiredCount", false, 0, 100000, &desired) < 0 ||
        sched_in_str(c, in, "launchType", false, &lt) < 0 ||
        sched_in_str(c, in, "schedulingStrategy", false, &ss) < 0 ||
        sched_in_object(c, in, "deploymentController", &dctl) < 0 ||
        sched_in_object(c, in, "networkConfiguration", &nc) < 0 ||
        sched_in_array(c, in, "loadBalancers", false, 5, &lbs) < 0 ||
        sched_in_int(c, in, "healthCheckGracePeriodSeconds", false, 0, 2147483647, &grace) < 0)
        return -1;
    if (!sched_valid_name(name, 255))
        return sched_fail(c, IPE,
                          "Service name '%.300s' is invalid: up to 255 letters, numbers, "
                          "hyphens and underscores are allowed.",
                          name);
    if (strcmp(lt, "EC2") && strcmp(lt, "FARGATE") && strcmp(lt, "EXTERNAL"))
        return sched_fail(c, IPE, "launchType '%s' is invalid.", lt);
    if (!strcmp(ss, "DAEMON"))
        return sched_fail(c, "UnsupportedFeatureException",
                          "The DAEMON scheduling strategy is not supported.");
    if (strcmp(ss, "REPLICA"))
        return sched_fail(c, IPE, "schedulingStrategy '%s' is invalid.", ss);
    const char *ctl = dctl ? json_string_value(json_object_get(dctl, "type")) : "ECS";
    if (!ctl || strcmp(ctl, "ECS"))
        return sched_fail(c, "UnsupportedFeatureException",
                          "Only the ECS deployment controller is supported.");
    if (!tdref)
        return sched_fail(c, IPE, "TaskDefinition can not be blank.");
    td = sched_taskdef_resolve(c, tdref, true);
    if (!td || check_placement(c, in, lt) < 0 || parse_deploy_config(c, in, NULL, &dc) < 0)
        return -1;
    cleanup_free char *key = xasprintf("%s/%s", cluster, name);
    json_t *old = sched_get(c->d, SCHED_K_SERVICE, key);
    if (old && strcmp(json_string_value(json_object_get(old, "status")), "INACTIVE") != 0) {
        json_decref(dc);
        return sched_fail(c, IPE, "Creation of service was not idempotent.");
    }
    json_t *tags = sched_tags_parse(c, json_object_get(in, "tags"));
    if (!tags) {
        json_decref(dc);
        return -1;
    }
    cleanup_free char *arn = sched_arn(c, "service/%s/%s", cluster, name);
    json_t *cl = sched_get(c->d, SCHED_K_CLUSTER, cluster);
    json_t *svc = json_pack(
        "{s:s,s:s,s:O,s:s,s:I,s:i,s:i,s:s,s:O,s:o,s:[],s:[],s:f,s:s,s:s,s:{s:s},s:o,s:b,s:b,"
        "s:s}",
        "serviceArn", arn, "serviceName", name, "clusterArn", json_object_get(cl, "clusterArn"),
        "status", "ACTIVE", "desiredCount", (json_int_t)desired, "runningCount", 0, "pendingCount",
        0, "launchType", lt, "taskDefinition", json_object_get(td, "taskDefinitionArn"),
        "deploymentConfiguration", dc, "deployments", "events", "createdAt", sched_now(),
        "createdBy", "arn:aws:iam::" SCHED_ACCOUNT ":root", "schedulingStrategy", ss,
        "deploymentController", "type", "ECS", "tags", tags, "enableECSManagedTags",
        json_is_true(json_object_get(in, "enableECSManagedTags")), "enableExecuteCommand",
        json_is_true(json_object_get(in, "enableExecuteCommand")), "propagateTags",
        json_string_value(json_object_get(in, "propagateTags")) ?: "NONE");
    static const char *const pkeys[] = {"placementConstraints", "placementStrategy", NULL};
    for (int i = 0; pkeys[i]; i++) {
        json_t *v = json_object_get(in, pkeys[i]);
        json_object_set_new(svc, pkeys[i], v ? json_deep_copy(v) : json_array());
    }
    if (!strcmp(lt, "FARGATE"))
        json_object_set_new(svc, "platformVersion", json_string("LATEST"));
    if (nc)
        json_object_set(svc, "networkConfiguration", nc);
    json_object_set_new(svc, "loadBalancers", lbs ? json_deep_copy(lbs) : json_array());
    json_object_set_new(svc, "serviceRegistries", json_array());
    if (json_object_get(in, "healthCheckGracePeriodSeconds"))
        json_object_set_new(svc, "healthCheckGracePeriodSeconds", json_integer(grace));
    start_deployment(svc, json_string_value(json_object_get(td, "taskDefinitionArn")));
    json_object_set_new(svc, "_cluster", json_string(cluster));
    json_object_set_new(svc, "_lastCompletedTaskDefinition", json_null());
    sched_put(c->d, SCHED_K_SERVICE, key, svc);
    json_object_set_new(out, "service", service_view(svc, false));
    return 0;
}

int
sched_op_update_service(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *ref = NULL, *tdref = NULL;
    int64_t desired = -1, grace = -1;
    bool force = false;
    json_t *nc = NULL, *dc = NULL;
    cleanup_free char *key = NULL;

    if (!sched_cluster_get(c, in, &cluster) || sched_in_str(c, in, "service", true, &ref) < 0 ||
        sched_in_str(c, in, "taskDefinition", false, &tdref) < 0 ||
        sched_in_int(c, in, "desiredCount", false, 0, 100000, &desired) < 0 ||
        sched_in_bool(c, in, "forceNewDeployment", &force) < 0 ||
        sched_in_object(c, in, "networkConfiguration", &nc) < 0 ||
        sched_in_int(c, in, "healthCheckGracePeriodSeconds", false, 0, 2147483647, &grace) < 0)
        return -1;
    json_t *svc = service_get(c, cluster, ref, &key);
    if (!svc)
        return sched_fail(c, "ServiceNotFoundException", "Service not found.");
    if (strcmp(json_string_value(json_object_get(svc, "status")), "ACTIVE") != 0)
        return sched_fail(c, "ServiceNotActiveException", "Service was not ACTIVE.");
    json_t *td = NULL;
    if (tdref && !(td = sched_taskdef_resolve(c, tdref, true)))
        return -1;
    const char *lt = json_string_value(json_object_get(svc, "launchType"));
    if (check_placement(c, in, lt) < 0 ||
        parse_deploy_config(c, in, json_object_get(svc, "deploymentConfiguration"), &dc) < 0)
        return -1;
    json_object_set_new(svc, "deploymentConfiguration", dc);
    bool redeploy = force;
    if (td && strcmp(json_string_value(json_object_get(td, "taskDefinitionArn")),
                     json_string_value(json_object_get(svc, "taskDefinition"))) != 0) {
        json_object_set(svc, "taskDefinition", json_object_get(td, "taskDefinitionArn"));
        redeploy = true;
    }
    static const char *const pkeys[] = {"placementConstraints", "placementStrategy", NULL};
    for (int i = 0; pkeys[i]; i++) {
        json_t *v = json_object_get(in, pkeys[i]);
        if (v && !json_equal(v, json_object_get(svc, pkeys[i]))) {
            json_object_set(svc, pkeys[i], v);
            redeploy = true;
        }
    }
    if (nc && !json_equal(nc, json_object_get(svc, "networkConfiguration"))) {
        json_object_set(svc, "networkConfiguration", nc);
        redeploy = true;
    }
    if (desired >= 0)
        json_object_set_new(svc, "desiredCount", json_integer(desired));
    if (grace >= 0)
        json_object_set_new(svc, "healthCheckGracePeriodSeconds", json_integer(grace));
    if (redeploy)
        start_deployment(svc, json_string_value(json_object_get(svc, "taskDefinition")));
    json_t *primary = json_array_get(json_object_get(svc, "deployments"), 0);
    json_object_set(primary, "desiredCount", json_object_get(svc, "desiredCount"));
    json_object_set_new(primary, "updatedAt", json_real(sched_now()));
    /* A user action ends the launch back-off. */
    json_object_set_new(svc, "_startFailures", json_integer(0));
    sched_touch(c->d, SCHED_K_SERVICE, key);
    json_object_set_new(out, "service", service_view(svc, false));
    return 0;
}

int
sched_op_delete_service(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *ref = NULL;
    bool force = false;
    cleanup_free char *key = NULL;
    if (!sched_cluster_get(c, in, &cluster) || sched_in_str(c, in, "service", true, &ref) < 0 ||
        sched_in_bool(c, in, "force", &force) < 0)
        return -1;
    json_t *svc = service_get(c, cluster, ref, &key);
    if (!svc || !strcmp(json_string_value(json_object_get(svc, "status")), "INACTIVE"))
        return sched_fail(c, "ServiceNotFoundException", "Service not found.");
    if (json_integer_value(json_object_get(svc, "desiredCount")) > 0 && !force)
        return sched_fail(c, IPE, "The service cannot be stopped while it is scaled above 0.");
    json_object_set_new(svc, "status", json_string("DRAINING"));
    json_object_set_new(svc, "desiredCount", json_integer(0));
    sched_touch(c->d, SCHED_K_SERVICE, key);
    json_object_set_new(out, "service", service_view(svc, false));
    return 0;
}

int
sched_op_describe_services(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL;
    json_t *refs = NULL;
    if (!sched_cluster_get(c, in, &cluster) ||
        sched_in_array(c, in, "services", true, 10, &refs) < 0)
        return -1;
    bool with_tags = sched_include_has(in, "TAGS");
    size_t i;
    json_t *v;
    json_t *arr = json_array();
    json_object_set_new(out, "services", arr);
    json_object_set_new(out, "failures", json_array());
    json_array_foreach (refs, i, v) {
        const char *ref = json_is_string(v) ? json_string_value(v) : "";
        json_t *svc = service_get(c, cluster, ref, NULL);
        if (!svc) {
            sched_failure_missing(c, out, "service", cluster, ref);
            continue;
        }
        json_array_append_new(arr, service_view(svc, with_tags));
    }
    return 0;
}

int
sched_op_list_services(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL, *lt = NULL, *ss = NULL;
    if (!sched_cluster_get(c, in, &cluster) || sched_in_str(c, in, "launchType", false, &lt) < 0 ||
        sched_in_str(c, in, "schedulingStrategy", false, &ss) < 0)
        return -1;
    json_auto_t *all = json_array();
    const char *k;
    json_t *svc;
    json_object_foreach (c->d->tables[SCHED_K_SERVICE], k, svc) {
        if (strcmp(json_string_value(json_object_get(svc, "_cluster")), cluster) != 0 ||
            !strcmp(json_string_value(json_object_get(svc, "status")), "INACTIVE"))
            continue;
        if (lt && strcmp(json_string_value(json_object_get(svc, "launchType")), lt))
            continue;
        if (ss && strcmp(json_string_value(json_object_get(svc, "schedulingStrategy")), ss))
            continue;
        json_array_append(all, json_object_get(svc, "serviceArn"));
    }
    return sched_paginate(c, in, all, "serviceArns", out, 100);
}

/* Exposed for service_loop.c: a rollback starts a deployment like UpdateService. */
void sched_service_start_deployment(json_t *svc, const char *td_arn);

void
sched_service_start_deployment(json_t *svc, const char *td_arn)
{
    start_deployment(svc, td_arn);
}
