/* SPDX-License-Identifier: Apache-2.0 */
/* Task commands: run-task, stop-task, list-tasks, describe-tasks. */
#include <string.h>

#include "cm/cleanup.h"
#include "cm/json.h"
#include "cm/xalloc.h"
#include "ecs.h"

/* "49153->80/tcp,..." from the containers' networkBindings. */
static void
task_ports(json_t *task, char *out, size_t size)
{
    size_t i, j;
    json_t *c, *b;
    out[0] = '\0';
    json_array_foreach (json_object_get(task, "containers"), i, c)
        json_array_foreach (json_object_get(c, "networkBindings"), j, b) {
            size_t l = strlen(out);
            snprintf(out + l, size - l, "%s%lld->%lld/%s", l ? "," : "",
                     (long long)json_integer_value(json_object_get(b, "hostPort")),
                     (long long)json_integer_value(json_object_get(b, "containerPort")),
                     json_string_value(json_object_get(b, "protocol")) ?: "tcp");
        }
}

static void
tasks_table(struct cli_ctx *ctx, json_t *tasks)
{
    static const char *const h[] = {"TASK",     "LAST",  "DESIRED", "TASK DEFINITION",
                                    "INSTANCE", "PORTS", "GROUP",   "STOPPED REASON",
                                    NULL};
    struct cli_table *t = cli_table_new(NULL, h);
    size_t i;
    json_t *task;
    json_array_foreach (tasks, i, task) {
        char ports[256];
        task_ports(task, ports, sizeof(ports));
        cli_table_add(
            t, (const char *const[]){
                   cli_arn_tail(json_string_value(json_object_get(task, "taskArn"))),
                   json_string_value(json_object_get(task, "lastStatus")),
                   json_string_value(json_object_get(task, "desiredStatus")),
                   cli_arn_tail(json_string_value(json_object_get(task, "taskDefinitionArn"))),
                   cli_arn_tail(json_string_value(json_object_get(task, "containerInstanceArn"))),
                   ports, json_string_value(json_object_get(task, "group")),
                   json_string_value(json_object_get(task, "stoppedReason"))});
    }
    cli_table_print(ctx->out, t, ctx->format);
    cli_table_free(t);
}

static int
print_tasks(struct cli_ctx *ctx, json_t *out)
{
    if (ctx->format == CLI_OUT_JSON) {
        cli_json_print(ctx->out, out);
    } else {
        json_t *task = json_object_get(out, "task");
        json_auto_t *one = task ? json_pack("[O]", task) : NULL;
        tasks_table(ctx, one ? one : json_object_get(out, "tasks"));
    }
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(out, "failures"), i, f)
        fprintf(stderr, "skiff: failure: %s: %s%s%s\n",
                json_string_value(json_object_get(f, "arn")) ?: "-",
                json_string_value(json_object_get(f, "reason")) ?: "?",
                json_object_get(f, "detail") ? ": " : "",
                json_string_value(json_object_get(f, "detail")) ?: "");
    return json_array_size(json_object_get(out, "failures")) ? 1 : 0;
}

int
cli_cmd_run_task(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = cli_req_cluster(a), *out = NULL;
    long long n = 1;
    const char *v;

    if (cli_arg_int(a, "count", 1, 10, &n, &err) < 0)
        return cli_fail(NULL, a, &err);
    json_object_set_new(in, "taskDefinition", json_string(cli_arg(a, "task-definition")));
    json_object_set_new(in, "count", json_integer(n));
    if ((v = cli_arg(a, "launch-type")))
        json_object_set_new(in, "launchType", json_string(v));
    if ((v = cli_arg(a, "started-by")))
        json_object_set_new(in, "startedBy", json_string(v));
    if (cli_ecs_call(ctx, "RunTask", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    return print_tasks(ctx, out);
}

int
cli_cmd_stop_task(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = cli_req_cluster(a), *out = NULL;
    const char *v;

    json_object_set_new(in, "task", json_string(cli_arg(a, "task")));
    if ((v = cli_arg(a, "reason")))
        json_object_set_new(in, "reason", json_string(v));
    if (cli_ecs_call(ctx, "StopTask", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    return print_tasks(ctx, out);
}

int
cli_cmd_list_tasks(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = cli_req_cluster(a), *all = NULL;
    const char *v;

    if ((v = cli_arg(a, "service-name")))
        json_object_set_new(in, "serviceName", json_string(v));
    if ((v = cli_arg(a, "family")))
        json_object_set_new(in, "family", json_string(v));
    if ((v = cli_arg(a, "container-instance")))
        json_object_set_new(in, "containerInstance", json_string(v));
    if ((v = cli_arg(a, "desired-status")))
        json_object_set_new(in, "desiredStatus", json_string(v));
    if (cli_ecs_list_all(ctx, "ListTasks", in, "taskArns", &all, &err) < 0)
        return cli_fail(ctx, a, &err);
    if (ctx->format == CLI_OUT_JSON) {
        json_auto_t *out = json_pack("{s:O}", "taskArns", all);
        cli_json_print(ctx->out, out);
        return 0;
    }
    json_auto_t *req = cli_req_cluster(a), *tasks = NULL;
    if (cli_ecs_describe_all(ctx, "DescribeTasks", req, "tasks", all, &tasks, &err) < 0)
        return cli_fail(ctx, a, &err);
    tasks_table(ctx, tasks);
    return 0;
}

int
cli_cmd_describe_tasks(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = cli_req_cluster(a), *out = NULL;

    json_object_set_new(in, "tasks", cm_json_array_from_strv(cli_argv(a, "tasks")));
    if (cli_ecs_call(ctx, "DescribeTasks", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    return print_tasks(ctx, out);
}
