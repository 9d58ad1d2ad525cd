/* SPDX-License-Identifier: Apache-2.0 */
/* Task definition commands: register (ECS JSON unchanged), list, describe, deregister. */
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "ecs.h"

static void
td_table(struct cli_ctx *ctx, json_t *td)
{
    static const char *const h[] = {"FAMILY", "REVISION", "STATUS", "NETWORK",
                                    "CPU",    "MEMORY",   NULL};
    static const char *const ch[] = {"CONTAINER", "IMAGE", "CPU", "MEMORY", "PORTS", NULL};
    struct cli_table *t = cli_table_new(NULL, h);
    char rev[24];
    snprintf(rev, sizeof(rev), "%lld",
             (long long)json_integer_value(json_object_get(td, "revision")));
    cli_table_add(t, (const char *const[]){json_string_value(json_object_get(td, "family")), rev,
                                           json_string_value(json_object_get(td, "status")),
                                           json_string_value(json_object_get(td, "networkMode")),
                                           json_string_value(json_object_get(td, "cpu")),
                                           json_string_value(json_object_get(td, "memory"))});
    cli_table_print(ctx->out, t, ctx->format);
    cli_table_free(t);
    if (ctx->format == CLI_OUT_TEXT)
        return;
    fprintf(ctx->out, "\n");
    t = cli_table_new(NULL, ch);
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(td, "containerDefinitions"), i, c) {
        char cpu[24], mem[24], ports[256] = "";
        size_t j;
        json_t *pm;
        snprintf(cpu, sizeof(cpu), "%lld",
                 (long long)json_integer_value(json_object_get(c, "cpu")));
        snprintf(mem, sizeof(mem), "%lld",
                 (long long)json_integer_value(json_object_get(
                     c, json_object_get(c, "memory") ? "memory" : "memoryReservation")));
        json_array_foreach (json_object_get(c, "portMappings"), j, pm) {
            size_t l = strlen(ports);
            snprintf(ports + l, sizeof(ports) - l, "%s%lld->%lld/%s", l ? "," : "",
                     (long long)json_integer_value(json_object_get(pm, "hostPort")),
                     (long long)json_integer_value(json_object_get(pm, "containerPort")),
                     json_string_value(json_object_get(pm, "protocol")) ?: "tcp");
        }
        cli_table_add(t, (const char *const[]){json_string_value(json_object_get(c, "name")),
                                               json_string_value(json_object_get(c, "image")), cpu,
                                               mem, ports});
    }
    cli_table_print(ctx->out, t, ctx->format);
    cli_table_free(t);
}

static int
print_td(struct cli_ctx *ctx, json_t *out)
{
    if (ctx->format == CLI_OUT_JSON)
        cli_json_print(ctx->out, out);
    else
        td_table(ctx, json_object_get(out, "taskDefinition"));
    return 0;
}

int
cli_cmd_register_task_definition(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = NULL, *out = NULL;

    if (cli_input_json(cli_arg(a, "cli-input-json"), &in, &err) < 0 ||
        cli_ecs_call(ctx, "RegisterTaskDefinition", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    return print_td(ctx, out);
}

int
cli_cmd_describe_task_definition(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = json_pack("{s:s}", "taskDefinition", cli_arg(a, "task-definition"));
    json_auto_t *out = NULL;

    if (cli_ecs_call(ctx, "DescribeTaskDefinition", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    return print_td(ctx, out);
}

int
cli_cmd_deregister_task_definition(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = json_pack("{s:s}", "taskDefinition", cli_arg(a, "task-definition"));
    json_auto_t *out = NULL;

    if (cli_ecs_call(ctx, "DeregisterTaskDefinition", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    return print_td(ctx, out);
}

int
cli_cmd_list_task_definitions(struct cli_ctx *ctx, const struct cli_args *a)
{
    static const char *const h[] = {"FAMILY:REVISION", "ARN", NULL};
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = json_object(), *all = NULL;
    const char *v;

    if ((v = cli_arg(a, "family-prefix")))
        json_object_set_new(in, "familyPrefix", json_string(v));
    if ((v = cli_arg(a, "status")))
        json_object_set_new(in, "status", json_string(v));
    if ((v = cli_arg(a, "sort")))
        json_object_set_new(in, "sort", json_string(v));
    if (cli_ecs_list_all(ctx, "ListTaskDefinitions", in, "taskDefinitionArns", &all, &err) < 0)
        return cli_fail(ctx, a, &err);
    if (ctx->format == CLI_OUT_JSON) {
        json_auto_t *out = json_pack("{s:O}", "taskDefinitionArns", all);
        cli_json_print(ctx->out, out);
        return 0;
    }
    struct cli_table *t = cli_table_new(NULL, h);
    size_t i;
    json_t *arn;
    json_array_foreach (all, i, arn) {
        const char *s = json_string_value(arn);
        cli_table_add(t, (const char *const[]){cli_arn_tail(s), s});
    }
    cli_table_print(ctx->out, t, ctx->format);
    cli_table_free(t);
    return 0;
}
