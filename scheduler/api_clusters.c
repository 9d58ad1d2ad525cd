/* SPDX-License-Identifier: Apache-2.0 */
/* ECS cluster operations: Create/Describe/List/Delete/UpdateCluster(Settings). */
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "skiffd.h"

struct cluster_counts {
    int instances, running, pending, services;
};

static bool
is_cluster(json_t *doc, const char *cluster)
{
    const char *c = json_string_value(json_object_get(doc, "_cluster"));
    return c && !strcmp(c, cluster);
}

static void
count_cluster(struct sched_daemon *d, const char *name, struct cluster_counts *n)
{
    const char *k;
    json_t *v;
    memset(n, 0, sizeof(*n));
    json_object_foreach (d->tables[SCHED_K_INSTANCE], k, v) {
        const char *st = json_string_value(json_object_get(v, "status"));
        if (is_cluster(v, name) && st && strcmp(st, "INACTIVE") != 0)
            n->instances++;
    }
    uint32_t cl = sched_intern_find(d, name);
    for (uint32_t h = 0; cl && h < d->tasks.n; h++) {
        const struct sched_task_rec *t = sched_task_at(d, h);
        if (!(t->flags & SCHED_TF_USED) || t->cluster != cl || !sched_task_live(t))
            continue;
        if (t->last_status == 3 /* RUNNING */)
            n->running++;
        else
            n->pending++;
    }
    json_object_foreach (d->tables[SCHED_K_SERVICE], k, v) {
        const char *st = json_string_value(json_object_get(v, "status"));
        if (is_cluster(v, name) && st && strcmp(st, "INACTIVE") != 0)
            n->services++;
    }
}

static json_t *
cluster_view(struct sched_call *c, json_t *cl, bool with_tags, bool with_stats)
{
    struct cluster_counts n;
    json_t *o = sched_public(cl);
    count_cluster(c->d, json_string_value(json_object_get(cl, "clusterName")), &n);
    json_object_set_new(o, "registeredContainerInstancesCount", json_integer(n.instances));
    json_object_set_new(o, "runningTasksCount", json_integer(n.running));
    json_object_set_new(o, "pendingTasksCount", json_integer(n.pending));
    json_object_set_new(o, "activeServicesCount", json_integer(n.services));
    json_object_set_new(o, "statistics", json_array());
    if (with_stats) {
        json_t *st = json_object_get(o, "statistics");
        json_array_append_new(st, json_pack("{s:s,s:o}", "name", "runningEC2TasksCount", "value",
                                            json_sprintf("%d", n.running)));
    }
    if (!with_tags)
        json_object_del(o, "tags");
    return o;
}

static int
parse_settings(struct sched_call *c, json_t *in, json_t **ret)
{
    json_t *arr = NULL;
    if (sched_in_array(c, in, "settings", false, 10, &arr) < 0)
        return -1;
    if (!arr)
        return 0;
    json_t *out = json_array();
    size_t i;
    json_t *s;
    json_array_foreach (arr, i, s) {
        const char *name = NULL, *value = NULL;
        if (!json_is_object(s) || sched_in_str(c, s, "name", true, &name) < 0 ||
            sched_in_str(c, s, "value", true, &value) < 0) {
            json_decref(out);
            return sched_fail(c, "InvalidParameterException", "settings[%zu] is invalid.", i);
        }
        if (strcmp(name, "containerInsights") != 0 ||
            (strcmp(value, "enabled") && strcmp(value, "disabled") && strcmp(value, "enhanced"))) {
            json_decref(out);
            return sched_fail(c, "InvalidParameterException",
                              "Unsupported cluster setting '%s'='%s'.", name, value);
        }
        json_array_append_new(out, json_pack("{s:s,s:s}", "name", name, "value", value));
    }
    *ret = out;
    return 0;
}

int
sched_op_create_cluster(struct sched_call *c, json_t *in, json_t *out)
{
    const char *name = "default";
    json_t *settings = NULL, *tags = NULL, *conf = NULL;

    if (sched_in_str(c, in, "clusterName", false, &name) < 0)
        return -1;
    if (!sched_valid_name(name, 255))
        return sched_fail(c, "InvalidParameterException",
                          "Cluster name '%.300s' is invalid: up to 255 letters (uppercase and "
                          "lowercase), numbers, underscores, and hyphens are allowed.",
                          name);
    json_t *existing = sched_get(c->d, SCHED_K_CLUSTER, name);
    if (existing && !strcmp(json_string_value(json_object_get(existing, "status")), "ACTIVE")) {
        json_object_set_new(out, "cluster", cluster_view(c, existing, false, false));
        return 0;
    }
    if (parse_settings(c, in, &settings) < 0)
        return -1;
    tags = sched_tags_parse(c, json_object_get(in, "tags"));
    if (!tags) {
        json_decref(settings);
        return -1;
    }
    if (sched_in_object(c, in, "configuration", &conf) < 0) {
        json_decref(settings);
        json_decref(tags);
        return -1;
    }
    cleanup_free char *arn = sched_arn(c, "cluster/%s", name);
    json_t *cl = json_pack(
        "{s:s,s:s,s:s,s:o,s:o,s:[],s:[]}", "clusterArn", arn, "clusterName", name, "status",
        "ACTIVE", "settings",
        settings ? settings
                 : json_pack("[{s:s,s:s}]", "name", "containerInsights", "value", "disabled"),
        "tags", tags, "capacityProviders", "defaultCapacityProviderStrategy");
    if (conf)
        json_object_set(cl, "configuration", conf);
    sched_put(c->d, SCHED_K_CLUSTER, name, cl);
    json_object_set_new(out, "cluster", cluster_view(c, cl, false, false));
    return 0;
}

int
sched_op_describe_clusters(struct sched_call *c, json_t *in, json_t *out)
{
    json_t *names = NULL;
    if (sched_in_array(c, in, "clusters", false, 100, &names) < 0 ||
        sched_in_array(c, in, "include", false, 5, &(json_t *){NULL}) < 0)
        return -1;
    json_t *res = json_array();
    json_object_set_new(out, "clusters", res);
    json_object_set_new(out, "failures", json_array());
    json_auto_t *dflt = json_pack("[s]", "default");
    if (!names || json_array_size(names) == 0)
        names = dflt;
    size_t i;
    json_t *v;
    json_array_foreach (names, i, v) {
        if (!json_is_string(v))
            return sched_fail(c, "InvalidParameterException", "clusters[%zu] must be a string.", i);
        const char *ref = json_string_value(v);
        json_t *cl = sched_get(c->d, SCHED_K_CLUSTER, sched_arn_tail(ref));
        if (!cl) {
            sched_failure_missing(c, out, "cluster", NULL, ref);
            continue;
        }
        json_array_append_new(res, cluster_view(c, cl, sched_include_has(in, "TAGS"),
                                                sched_include_has(in, "STATISTICS")));
    }
    return 0;
}

int
sched_op_list_clusters(struct sched_call *c, json_t *in, json_t *out)
{
    json_auto_t *all = json_array();
    const char *k;
    json_t *v;
    json_object_foreach (c->d->tables[SCHED_K_CLUSTER], k, v) {
        if (!strcmp(json_string_value(json_object_get(v, "status")), "ACTIVE"))
            json_array_append(all, json_object_get(v, "clusterArn"));
    }
    return sched_paginate(c, in, all, "clusterArns", out, 100);
}

int
sched_op_delete_cluster(struct sched_call *c, json_t *in, json_t *out)
{
    const char *ref = NULL;
    if (sched_in_str(c, in, "cluster", true, &ref) < 0)
        return -1;
    const char *name = NULL;
    json_t *cl = sched_cluster_get(c, in, &name);
    if (!cl)
        return -1;
    struct cluster_counts n;
    count_cluster(c->d, name, &n);
    if (n.services > 0)
        return sched_fail(c, "ClusterContainsServicesException",
                          "The Cluster cannot be deleted while Services are active.");
    if (n.instances > 0)
        return sched_fail(c, "ClusterContainsContainerInstancesException",
                          "The Cluster cannot be deleted while Container Instances are active "
                          "or draining.");
    if (n.running + n.pending > 0)
        return sched_fail(c, "ClusterContainsTasksException",
                          "The Cluster cannot be deleted while Tasks are active.");
    json_object_set_new(cl, "status", json_string("INACTIVE"));
    sched_touch(c->d, SCHED_K_CLUSTER, name);
    json_object_set_new(out, "cluster", cluster_view(c, cl, false, false));
    return 0;
}

int
sched_op_update_cluster(struct sched_call *c, json_t *in, json_t *out)
{
    const char *ref = NULL, *name = NULL;
    json_t *settings = NULL, *conf = NULL;
    if (sched_in_str(c, in, "cluster", true, &ref) < 0)
        return -1;
    json_t *cl = sched_cluster_get(c, in, &name);
    if (!cl || sched_in_object(c, in, "configuration", &conf) < 0 ||
        parse_settings(c, in, &settings) < 0)
        return -1;
    if (settings)
        json_object_set_new(cl, "settings", settings);
    if (conf)
        json_object_set(cl, "configuration", conf);
    sched_touch(c->d, SCHED_K_CLUSTER, name);
    json_object_set_new(out, "cluster", cluster_view(c, cl, false, false));
    return 0;
}

int
sched_op_update_cluster_settings(struct sched_call *c, json_t *in, json_t *out)
{
    json_t *arr = NULL;
    if (sched_in_array(c, in, "settings", true, 10, &arr) < 0)
        return -1;
    return sched_op_update_cluster(c, in, out);
}
