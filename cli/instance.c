/* SPDX-License-Identifier: Apache-2.0 */
/* Container instance commands: list-container-instances, drain. */
#include <string.h>

#include "cm/cleanup.h"
#include "cm/json.h"
#include "ecs.h"

static long long
resource(json_t *ci, const char *which, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(ci, which), i, r)
        if (!strcmp(json_string_value(json_object_get(r, "name")) ?: "", name))
            return (long long)json_integer_value(json_object_get(r, "integerValue"));
    return 0;
}

static const char *
attribute(json_t *ci, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(ci, "attributes"), i, r)
        if (!strcmp(json_string_value(json_object_get(r, "name")) ?: "", name))
            return json_string_value(json_object_get(r, "value"));
    return NULL;
}

static void
instances_table(struct cli_ctx *ctx, json_t *cis)
{
    static const char *const h[] = {"INSTANCE", "HOST",     "STATUS",   "AGENT", "RUNNING",
                                    "PENDING",  "CPU FREE", "MEM FREE", NULL};
    struct cli_table *t = cli_table_new(NULL, h);
    size_t i;
    json_t *ci;
    json_array_foreach (cis, i, ci) {
        char run[24], pen[24], cpu[48], mem[48];
        snprintf(run, sizeof(run), "%lld",
                 (long long)json_integer_value(json_object_get(ci, "runningTasksCount")));
        snprintf(pen, sizeof(pen), "%lld",
                 (long long)json_integer_value(json_object_get(ci, "pendingTasksCount")));
        snprintf(cpu, sizeof(cpu), "%lld/%lld", resource(ci, "remainingResources", "CPU"),
                 resource(ci, "registeredResources", "CPU"));
        snprintf(mem, sizeof(mem), "%lld/%lld", resource(ci, "remainingResources", "MEMORY"),
                 resource(ci, "registeredResources", "MEMORY"));
        const char *host = attribute(ci, "skiff.hostname");
        if (!host)
            host = json_string_value(json_object_get(ci, "ec2InstanceId"));
        cli_table_add(
            t,
            (const char *const[]){
                cli_arn_tail(json_string_value(json_object_get(ci, "containerInstanceArn"))), host,
                json_string_value(json_object_get(ci, "status")),
                json_is_true(json_object_get(ci, "agentConnected")) ? "connected" : "disconnected",
                run, pen, cpu, mem});
    }
    cli_table_print(ctx->out, t, ctx->format);
    cli_table_free(t);
}

int
cli_cmd_list_container_instances(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = cli_req_cluster(a), *all = NULL;
    const char *v;

    if ((v = cli_arg(a, "status")))
        json_object_set_new(in, "status", json_string(v));
    if (cli_ecs_list_all(ctx, "ListContainerInstances", in, "containerInstanceArns", &all, &err) <
        0)
        return cli_fail(ctx, a, &err);
    if (ctx->format == CLI_OUT_JSON) {
        json_auto_t *out = json_pack("{s:O}", "containerInstanceArns", all);
        cli_json_print(ctx->out, out);
        return 0;
    }
    json_auto_t *req = cli_req_cluster(a), *cis = NULL;
    if (cli_ecs_describe_all(ctx, "DescribeContainerInstances", req, "containerInstances", all,
                             &cis, &err) < 0)
        return cli_fail(ctx, a, &err);
    instances_table(ctx, cis);
    return 0;
}

int
cli_cmd_drain(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = cli_req_cluster(a), *out = NULL;
    const char *status = cli_arg(a, "status");

    json_object_set_new(in, "containerInstances",
                        cm_json_array_from_strv(cli_argv(a, "container-instances")));
    json_object_set_new(in, "status", json_string(status ? status : "DRAINING"));
    if (cli_ecs_call(ctx, "UpdateContainerInstancesState", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    if (ctx->format == CLI_OUT_JSON)
        cli_json_print(ctx->out, out);
    else
        instances_table(ctx, json_object_get(out, "containerInstances"));
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(out, "failures"), i, f)
        fprintf(stderr, "skiff drain: '%s': %s\n", json_string_value(json_object_get(f, "arn")),
                json_string_value(json_object_get(f, "reason")));
    return json_array_size(json_object_get(out, "failures")) ? 1 : 0;
}
