/* SPDX-License-Identifier: Apache-2.0 */
/* Service commands: create, update (scale, roll out, force a deployment),
 * delete, describe (deployments and recent events), list, and
 * `wait services-stable`. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/json.h"
#include "cm/xalloc.h"
#include "ecs.h"

static void
count_str(json_t *o, const char *key, char out[24])
{
    snprintf(out, 24, "%lld", (long long)json_integer_value(json_object_get(o, key)));
}

static void
services_table(struct cli_ctx *ctx, json_t *services, long long n_events)
{
    static const char *const h[] = {"SERVICE", "STATUS",          "DESIRED", "RUNNING",
                                    "PENDING", "TASK DEFINITION", NULL};
    static const char *const dh[] = {"DEPLOYMENT", "STATUS",          "ROLLOUT",
                                     "DESIRED",    "RUNNING",         "PENDING",
                                     "FAILED",     "TASK DEFINITION", NULL};
    static const char *const eh[] = {"TIME", "EVENT", NULL};
    struct cli_table *t = cli_table_new(NULL, h);
    size_t i, j;
    json_t *s, *d;

    json_array_foreach (services, i, s) {
        char des[24], run[24], pen[24];
        count_str(s, "desiredCount", des);
        count_str(s, "runningCount", run);
        count_str(s, "pendingCount", pen);
        cli_table_add(t,
                      (const char *const[]){
                          json_string_value(json_object_get(s, "serviceName")),
                          json_string_value(json_object_get(s, "status")), des, run, pen,
                          cli_arn_tail(json_string_value(json_object_get(s, "taskDefinition")))});
    }
    cli_table_print(ctx->out, t, ctx->format);
    cli_table_free(t);
    if (ctx->format == CLI_OUT_TEXT)
        return;
    json_array_foreach (services, i, s) {
        const char *name = json_string_value(json_object_get(s, "serviceName"));
        cleanup_free char *title = xasprintf("\ndeployments of %s:", name ? name : "?");
        t = cli_table_new(title, dh);
        json_array_foreach (json_object_get(s, "deployments"), j, d) {
            char des[24], run[24], pen[24], fail[24];
            count_str(d, "desiredCount", des);
            count_str(d, "runningCount", run);
            count_str(d, "pendingCount", pen);
            count_str(d, "failedTasks", fail);
            cli_table_add(
                t, (const char *const[]){
                       json_string_value(json_object_get(d, "id")),
                       json_string_value(json_object_get(d, "status")),
                       json_string_value(json_object_get(d, "rolloutState")), des, run, pen, fail,
                       cli_arn_tail(json_string_value(json_object_get(d, "taskDefinition")))});
        }
        cli_table_print(ctx->out, t, ctx->format);
        cli_table_free(t);
        free(title);
        title = xasprintf("\nrecent events of %s:", name ? name : "?");
        t = cli_table_new(title, eh);
        json_t *events = json_object_get(s, "events");
        for (size_t k = 0; k < json_array_size(events) && (long long)k < n_events; k++) {
            json_t *e = json_array_get(events, k);
            char when[32];
            cli_time_fmt(json_number_value(json_object_get(e, "createdAt")), when);
            cli_table_add(
                t, (const char *const[]){when, json_string_value(json_object_get(e, "message"))});
        }
        cli_table_print(ctx->out, t, ctx->format);
        cli_table_free(t);
    }
}

static int
print_service(struct cli_ctx *ctx, json_t *out)
{
    if (ctx->format == CLI_OUT_JSON) {
        cli_json_print(ctx->out, out);
        return 0;
    }
    json_auto_t *one = json_pack("[O]", json_object_get(out, "service"));
    services_table(ctx, one, 5);
    return 0;
}

int
cli_cmd_create_service(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = NULL, *out = NULL;
    const char *v;
    long long n = -1;

    if (cli_arg(a, "cli-input-json")) {
        if (cli_input_json(cli_arg(a, "cli-input-json"), &in, &err) < 0)
            return cli_fail(ctx, a, &err);
    } else {
        in = json_object();
    }
    if ((v = cli_arg(a, "cluster")))
        json_object_set_new(in, "cluster", json_string(v));
    if ((v = cli_arg(a, "service-name")))
        json_object_set_new(in, "serviceName", json_string(v));
    if ((v = cli_arg(a, "task-definition")))
        json_object_set_new(in, "taskDefinition", json_string(v));
    if ((v = cli_arg(a, "launch-type")))
        json_object_set_new(in, "launchType", json_string(v));
    if (cli_arg_int(a, "desired-count", 0, 100000, &n, &err) < 0)
        return cli_fail(NULL, a, &err);
    if (n >= 0)
        json_object_set_new(in, "desiredCount", json_integer(n));
    if (!json_object_get(in, "serviceName") || !json_object_get(in, "taskDefinition")) {
        fprintf(stderr, "skiff create-service: needs --service-name NAME and --task-definition "
                        "FAMILY[:REV] (or both in --cli-input-json)\n");
        return 2;
    }
    if (cli_ecs_call(ctx, "CreateService", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    return print_service(ctx, out);
}

int
cli_cmd_update_service(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = cli_req_cluster(a), *out = NULL;
    const char *v;
    long long n = -1;

    json_object_set_new(in, "service", json_string(cli_arg(a, "service")));
    if (cli_arg_int(a, "desired-count", 0, 100000, &n, &err) < 0)
        return cli_fail(NULL, a, &err);
    if (n >= 0)
        json_object_set_new(in, "desiredCount", json_integer(n));
    if ((v = cli_arg(a, "task-definition")))
        json_object_set_new(in, "taskDefinition", json_string(v));
    if (cli_flag(a, "force-new-deployment"))
        json_object_set_new(in, "forceNewDeployment", json_true());
    if (cli_ecs_call(ctx, "UpdateService", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    return print_service(ctx, out);
}

int
cli_cmd_delete_service(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = cli_req_cluster(a), *out = NULL;

    json_object_set_new(in, "service", json_string(cli_arg(a, "service")));
    if (cli_flag(a, "force"))
        json_object_set_new(in, "force", json_true());
    if (cli_ecs_call(ctx, "DeleteService", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    return print_service(ctx, out);
}

static json_t *
services_req(const struct cli_args *a)
{
    json_t *in = cli_req_cluster(a);
    json_object_set_new(in, "services", cm_json_array_from_strv(cli_argv(a, "services")));
    return in;
}

int
cli_cmd_describe_services(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = services_req(a), *out = NULL;
    long long n_events = 10;

    if (cli_arg_int(a, "events", 0, 100, &n_events, &err) < 0)
        return cli_fail(NULL, a, &err);
    if (cli_ecs_call(ctx, "DescribeServices", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    if (ctx->format == CLI_OUT_JSON) {
        cli_json_print(ctx->out, out);
        return 0;
    }
    services_table(ctx, json_object_get(out, "services"), n_events);
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(out, "failures"), i, f)
        fprintf(stderr, "skiff describe-services: '%s': %s\n",
                cli_arn_tail(json_string_value(json_object_get(f, "arn"))),
                json_string_value(json_object_get(f, "reason")));
    return json_array_size(json_object_get(out, "failures")) ? 1 : 0;
}

int
cli_cmd_list_services(struct cli_ctx *ctx, const struct cli_args *a)
{
    static const char *const h[] = {"SERVICE", "ARN", NULL};
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = cli_req_cluster(a), *all = NULL;

    if (cli_ecs_list_all(ctx, "ListServices", in, "serviceArns", &all, &err) < 0)
        return cli_fail(ctx, a, &err);
    if (ctx->format == CLI_OUT_JSON) {
        json_auto_t *out = json_pack("{s:O}", "serviceArns", all);
        cli_json_print(ctx->out, out);
        return 0;
    }
    struct cli_table *t = cli_table_new(NULL, h);
    size_t i;
    json_t *arn;
    json_array_foreach (all, i, arn)
        cli_table_add(
            t, (const char *const[]){cli_arn_tail(json_string_value(arn)), json_string_value(arn)});
    cli_table_print(ctx->out, t, ctx->format);
    cli_table_free(t);
    return 0;
}

/* The condition of `aws ecs wait services-stable`: every service ACTIVE with
 * exactly one deployment and runningCount == desiredCount. A missing or
 * INACTIVE service fails the wait at once, like the aws waiter does. */
static int
services_stable(json_t *out, char **ret_why, struct cm_error **err)
{
    size_t i;
    json_t *s, *f;

    json_array_foreach (json_object_get(out, "failures"), i, f)
        return cm_error_set(err, ENOENT, "service '%s': %s",
                            cli_arn_tail(json_string_value(json_object_get(f, "arn"))),
                            json_string_value(json_object_get(f, "reason")));
    json_array_foreach (json_object_get(out, "services"), i, s) {
        const char *name = json_string_value(json_object_get(s, "serviceName"));
        const char *status = json_string_value(json_object_get(s, "status"));
        if (status && strcmp(status, "ACTIVE"))
            return cm_error_set(err, ENOENT, "service '%s' is %s", name, status);
        size_t nd = json_array_size(json_object_get(s, "deployments"));
        json_int_t run = json_integer_value(json_object_get(s, "runningCount"));
        json_int_t des = json_integer_value(json_object_get(s, "desiredCount"));
        if (nd != 1 || run != des) {
            *ret_why = xasprintf("%s: %lld/%lld running, %zu deployment(s)", name ? name : "?",
                                 (long long)run, (long long)des, nd);
            return 0;
        }
    }
    *ret_why = NULL;
    return 1;
}

int
cli_cmd_wait_services_stable(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = services_req(a);
    long long timeout = 600, interval = 2;
    struct timespec start, now;
    cleanup_free char *last = NULL;

    if (cli_arg_int(a, "timeout", 1, 86400, &timeout, &err) < 0 ||
        cli_arg_int(a, "interval", 1, 3600, &interval, &err) < 0)
        return cli_fail(NULL, a, &err);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        json_auto_t *out = NULL;
        cleanup_free char *why = NULL;
        if (cli_ecs_call(ctx, "DescribeServices", in, &out, &err) < 0)
            return cli_fail(ctx, a, &err);
        int r = services_stable(out, &why, &err);
        if (r < 0)
            return cli_fail(ctx, a, &err);
        if (r > 0) {
            if (isatty(STDERR_FILENO))
                fprintf(stderr, "services stable\n");
            return 0;
        }
        if (isatty(STDERR_FILENO) && (!last || strcmp(last, why))) {
            fprintf(stderr, "waiting: %s\n", why);
            free(last);
            last = xstrdup(why);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec + interval > timeout) {
            fprintf(stderr, "skiff wait services-stable: not stable after %llds (%s)\n", timeout,
                    why);
            fprintf(stderr, "  hint: 'skiff describe-services --services ...' shows the "
                            "deployments and events that say why\n");
            return 255;
        }
        sleep((unsigned)interval);
    }
}
