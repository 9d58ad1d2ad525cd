/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster commands: create-cluster, list-clusters (with their counts). */
#include <string.h>

#include "cm/cleanup.h"
#include "ecs.h"

static void
cluster_rows(struct cli_table *t, json_t *clusters)
{
    size_t i;
    json_t *c;
    json_array_foreach (clusters, i, c) {
        char n[4][24];
        static const char *const keys[] = {"registeredContainerInstancesCount",
                                           "activeServicesCount", "runningTasksCount",
                                           "pendingTasksCount"};
        for (int k = 0; k < 4; k++)
            snprintf(n[k], sizeof(n[k]), "%lld",
                     (long long)json_integer_value(json_object_get(c, keys[k])));
        cli_table_add(t, (const char *const[]){json_string_value(json_object_get(c, "clusterName")),
                                               json_string_value(json_object_get(c, "status")),
                                               n[0], n[1], n[2], n[3]});
    }
}

static const char *const cluster_hdr[] = {"NAME",    "STATUS",  "INSTANCES", "SERVICES",
                                          "RUNNING", "PENDING", NULL};

int
cli_cmd_create_cluster(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = json_object(), *out = NULL;
    const char *name = cli_arg(a, "cluster-name");

    if (name)
        json_object_set_new(in, "clusterName", json_string(name));
    if (cli_ecs_call(ctx, "CreateCluster", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    if (ctx->format == CLI_OUT_JSON) {
        cli_json_print(ctx->out, out);
        return 0;
    }
    struct cli_table *t = cli_table_new(NULL, cluster_hdr);
    json_auto_t *one = json_pack("[O]", json_object_get(out, "cluster"));
    cluster_rows(t, one);
    cli_table_print(ctx->out, t, ctx->format);
    cli_table_free(t);
    return 0;
}

int
cli_cmd_list_clusters(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = json_object(), *all = NULL;

    if (cli_ecs_list_all(ctx, "ListClusters", in, "clusterArns", &all, &err) < 0)
        return cli_fail(ctx, a, &err);
    if (ctx->format == CLI_OUT_JSON) {
        json_auto_t *out = json_pack("{s:O}", "clusterArns", all);
        cli_json_print(ctx->out, out);
        return 0;
    }
    struct cli_table *t = cli_table_new(NULL, cluster_hdr);
    /* DescribeClusters takes at most 100 names per call. */
    for (size_t off = 0; off < json_array_size(all); off += 100) {
        json_auto_t *names = json_array(), *out = NULL;
        for (size_t i = off; i < off + 100 && i < json_array_size(all); i++)
            json_array_append(names, json_array_get(all, i));
        json_auto_t *req = json_pack("{s:O}", "clusters", names);
        if (cli_ecs_call(ctx, "DescribeClusters", req, &out, &err) < 0) {
            cli_table_free(t);
            return cli_fail(ctx, a, &err);
        }
        cluster_rows(t, json_object_get(out, "clusters"));
    }
    cli_table_print(ctx->out, t, ctx->format);
    cli_table_free(t);
    return 0;
}
