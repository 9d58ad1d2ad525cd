/* SPDX-License-Identifier: Apache-2.0 */
/* The command table of the ECS commands: parsing, --help, `skiff help
 * --markdown` (docs/cli.md) and dispatch all read it, so they cannot drift. */
#include <string.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "ecs.h"

#define END                                                                                        \
    {                                                                                              \
        NULL, CLI_FLAG, NULL, NULL, false                                                          \
    }
#define CLUSTER                                                                                    \
    {                                                                                              \
        "cluster", CLI_VALUE, "NAME", "cluster name or ARN (default: \"default\")", false          \
    }

const struct cli_opt cli_global_opts[] = {
    {"endpoint", CLI_VALUE, "URL",
     "skiffd endpoint (default: $SKIFF_ENDPOINT, $AWS_ENDPOINT_URL_ECS, " CLI_DEFAULT_ENDPOINT ")",
     false},
    {"ca-file", CLI_VALUE, "FILE",
     "PEM CA certificates to verify an https endpoint with (default: $SKIFF_CA_FILE, "
     "$AWS_CA_BUNDLE, the profile's ca_bundle, else the system's CAs)",
     false},
    {"ca-bundle", CLI_VALUE, "FILE", "the same as --ca-file (the aws CLI's name)", false},
    {"profile", CLI_VALUE, "NAME",
     "profile in the aws CLI's credentials/config files ($AWS_PROFILE)", false},
    {"region", CLI_VALUE, "REGION",
     "region for signing ($AWS_REGION, $AWS_DEFAULT_REGION, the profile's region, us-east-1)",
     false},
    {"output", CLI_VALUE, "FORMAT",
     "table (default on a terminal), json (default otherwise; the ECS response as is) or text",
     false},
    {"debug", CLI_FLAG, NULL, "print each request and response on stderr", false},
    {"help", CLI_FLAG, NULL, "show this help", false},
    END,
};

static const struct cli_opt o_register_td[] = {
    {"cli-input-json", CLI_VALUE, "file://FILE|JSON",
     "the RegisterTaskDefinition request: an ECS task definition JSON, unchanged", true},
    END,
};
static const struct cli_opt o_list_td[] = {
    {"family-prefix", CLI_VALUE, "FAMILY", "only this family", false},
    {"status", CLI_VALUE, "STATUS", "ACTIVE (default), INACTIVE or ALL", false},
    {"sort", CLI_VALUE, "ASC|DESC", "order by family and revision", false},
    END,
};
static const struct cli_opt o_td_ref[] = {
    {"task-definition", CLI_VALUE, "FAMILY[:REV]|ARN", "task definition (latest revision if none)",
     true},
    END,
};
static const struct cli_opt o_create_cluster[] = {
    {"cluster-name", CLI_VALUE, "NAME", "cluster name (default: \"default\")", false},
    END,
};
static const struct cli_opt o_list_clusters[] = {END};
static const struct cli_opt o_create_service[] = {
    CLUSTER,
    {"service-name", CLI_VALUE, "NAME", "service name", false},
    {"task-definition", CLI_VALUE, "FAMILY[:REV]|ARN", "task definition to run", false},
    {"desired-count", CLI_VALUE, "N", "number of tasks to keep running (default 1)", false},
    {"launch-type", CLI_VALUE, "TYPE", "EC2 (default) or FARGATE", false},
    {"cli-input-json", CLI_VALUE, "file://FILE|JSON",
     "a full CreateService request; the options above override its fields", false},
    END,
};
static const struct cli_opt o_update_service[] = {
    CLUSTER,
    {"service", CLI_VALUE, "NAME", "service to update", true},
    {"desired-count", CLI_VALUE, "N", "new number of tasks", false},
    {"task-definition", CLI_VALUE, "FAMILY[:REV]|ARN", "roll out this task definition", false},
    {"force-new-deployment", CLI_FLAG, NULL, "replace every task even if nothing changed", false},
    END,
};
static const struct cli_opt o_delete_service[] = {
    CLUSTER,
    {"service", CLI_VALUE, "NAME", "service to delete", true},
    {"force", CLI_FLAG, NULL, "delete even if desired count is not 0 (scales to 0 first)", false},
    END,
};
static const struct cli_opt o_describe_services[] = {
    CLUSTER,
    {"services", CLI_LIST, "NAME...", "services to describe", true},
    {"events", CLI_VALUE, "N", "recent events to show per service in tables (default 10)", false},
    END,
};
static const struct cli_opt o_list_services[] = {CLUSTER, END};
static const struct cli_opt o_run_task[] = {
    CLUSTER,
    {"task-definition", CLI_VALUE, "FAMILY[:REV]|ARN", "task definition to run", true},
    {"count", CLI_VALUE, "N", "number of tasks (1-10, default 1)", false},
    {"launch-type", CLI_VALUE, "TYPE", "EC2 (default) or FARGATE", false},
    {"started-by", CLI_VALUE, "TEXT", "free text recorded in the task", false},
    END,
};
static const struct cli_opt o_stop_task[] = {
    CLUSTER,
    {"task", CLI_VALUE, "ID|ARN", "task to stop", true},
    {"reason", CLI_VALUE, "TEXT", "recorded as the task's stoppedReason", false},
    END,
};
static const struct cli_opt o_list_tasks[] = {
    CLUSTER,
    {"service-name", CLI_VALUE, "NAME", "only tasks of this service", false},
    {"family", CLI_VALUE, "FAMILY", "only tasks of this task definition family", false},
    {"container-instance", CLI_VALUE, "ID|ARN", "only tasks on this instance", false},
    {"desired-status", CLI_VALUE, "STATUS", "RUNNING (default), PENDING or STOPPED", false},
    END,
};
static const struct cli_opt o_describe_tasks[] = {
    CLUSTER,
    {"tasks", CLI_LIST, "ID|ARN...", "tasks to describe", true},
    END,
};
static const struct cli_opt o_list_ci[] = {
    CLUSTER,
    {"status", CLI_VALUE, "STATUS", "ACTIVE, DRAINING, REGISTERING, ...", false},
    END,
};
static const struct cli_opt o_drain[] = {
    CLUSTER,
    {"container-instances", CLI_LIST, "ID|ARN...", "instances to drain", true},
    {"status", CLI_VALUE, "STATUS", "DRAINING (default) or ACTIVE to put them back", false},
    END,
};
static const struct cli_opt o_logs[] = {
    CLUSTER,
    {"task", CLI_ARG, "ID|ARN", "task whose logs to print (the word alone will do)", true},
    {"container", CLI_VALUE, "NAME", "container (default: every container of the task)", false},
    {"tail", CLI_VALUE, "N", "only the last N lines", false},
    {"since", CLI_VALUE, "TIME|DURATION",
     "only lines from then on: RFC 3339 UTC (2026-01-02T15:04:05Z) or back from now (90s, 10m, 2h, "
     "1d)",
     false},
    {"follow", CLI_FLAG, NULL, "keep printing new lines until the task stops (or Ctrl-C)", false},
    END,
};
static const struct cli_opt o_wait_stable[] = {
    CLUSTER,
    {"services", CLI_LIST, "NAME...", "services to wait for", true},
    {"timeout", CLI_VALUE, "SECONDS", "give up after this long (default 600)", false},
    {"interval", CLI_VALUE, "SECONDS", "poll interval (default 2)", false},
    END,
};
static const struct cli_opt o_quickstart[] = {
    {"down", CLI_FLAG, NULL, "stop and remove everything quickstart made", false},
    {"state-dir", CLI_VALUE, "DIR", "state (default " CLI_DEFAULT_STATE ")", false},
    {"log-dir", CLI_VALUE, "DIR", "logs (default /var/log/skiff)", false},
    {"port", CLI_VALUE, "PORT", "skiffd's port on 127.0.0.1 (default 8100)", false},
    {"registry-port", CLI_VALUE, "PORT", "the local registry's port on 127.0.0.1 (default 5000)",
     false},
    {"count", CLI_VALUE, "N", "tasks of the demo service (default 3)", false},
    {"no-agent", CLI_FLAG, NULL, "do not start an agent (control plane and registry only)", false},
    {"bridge", CLI_VALUE, "NAME", "the agent's bridge for bridge mode (default skiff0)", false},
    {"subnet", CLI_VALUE, "CIDR", "the bridge's subnet (default: the agent's, 10.213.0.0/16)",
     false},
    {"agent-runtime", CLI_VALUE, "PATH",
     "OCI runtime binary the agent uses (default: the skiff-runtime library built into the "
     "agent)",
     false},
    {"timeout", CLI_VALUE, "SECONDS", "how long to wait for the service (default 300)", false},
    END,
};
static const struct cli_opt o_help[] = {
    {"markdown", CLI_FLAG, NULL, "print the reference as Markdown (docs/cli.md)", false},
    END,
};

const struct cli_cmd cli_cmds[] = {
    {"register-task-definition", "RegisterTaskDefinition", "register a task definition revision",
     "Takes an ECS task definition JSON as written for `aws ecs register-task-definition "
     "--cli-input-json`.",
     o_register_td, cli_cmd_register_task_definition, false},
    {"list-task-definitions", "ListTaskDefinitions", "list task definition revisions", NULL,
     o_list_td, cli_cmd_list_task_definitions, false},
    {"describe-task-definition", "DescribeTaskDefinition",
     "show a task definition and its containers", NULL, o_td_ref, cli_cmd_describe_task_definition,
     false},
    {"deregister-task-definition", "DeregisterTaskDefinition",
     "mark a revision INACTIVE (running tasks keep it)", NULL, o_td_ref,
     cli_cmd_deregister_task_definition, false},
    {"create-cluster", "CreateCluster", "create a cluster (idempotent)", NULL, o_create_cluster,
     cli_cmd_create_cluster, false},
    {"list-clusters", "ListClusters, DescribeClusters", "list clusters with their counts", NULL,
     o_list_clusters, cli_cmd_list_clusters, false},
    {"create-service", "CreateService", "create a service that keeps N tasks running",
     "Either the options or a full CreateService request with --cli-input-json.", o_create_service,
     cli_cmd_create_service, false},
    {"update-service", "UpdateService",
     "scale a service, roll out a task definition, or force a new deployment", NULL,
     o_update_service, cli_cmd_update_service, false},
    {"delete-service", "DeleteService", "delete a service", NULL, o_delete_service,
     cli_cmd_delete_service, false},
    {"describe-services", "DescribeServices", "show services, their deployments and recent events",
     NULL, o_describe_services, cli_cmd_describe_services, false},
    {"list-services", "ListServices", "list the services of a cluster", NULL, o_list_services,
     cli_cmd_list_services, false},
    {"run-task", "RunTask", "start tasks once (not kept running)", NULL, o_run_task,
     cli_cmd_run_task, false},
    {"stop-task", "StopTask", "stop a task", NULL, o_stop_task, cli_cmd_stop_task, false},
    {"list-tasks", "ListTasks, DescribeTasks", "list tasks with their status", NULL, o_list_tasks,
     cli_cmd_list_tasks, false},
    {"describe-tasks", "DescribeTasks", "show tasks, their containers and ports", NULL,
     o_describe_tasks, cli_cmd_describe_tasks, false},
    {"list-container-instances", "ListContainerInstances, DescribeContainerInstances",
     "list the hosts (agents) of a cluster with their resources", NULL, o_list_ci,
     cli_cmd_list_container_instances, false},
    {"drain", "UpdateContainerInstancesState",
     "drain hosts: their service tasks move elsewhere, no new tasks start there", NULL, o_drain,
     cli_cmd_drain, false},
    {"logs", "DescribeTasks, SkiffGetTaskLogs",
     "print a task's container logs (stdout on stdout, stderr on stderr)",
     "skiffd asks the agent of the task's host for them (its log endpoint, see skiff-agent "
     "--log-listen), so this works from any host that reaches skiffd. Lines of several containers "
     "are merged by time and prefixed with the container name.",
     o_logs, cli_cmd_logs, false},
    {"wait services-stable", "DescribeServices",
     "wait until services have one deployment and run their desired count",
     "Same condition as `aws ecs wait services-stable`; exits 255 on timeout.", o_wait_stable,
     cli_cmd_wait_services_stable, false},
    {"quickstart", "", "start skiffd, a registry and an agent here and run a demo service",
     "Starts skiffd (state under --state-dir, logs under --log-dir), a local registry "
     "(docker-registry on 127.0.0.1), builds a busybox httpd image, pushes it, starts "
     "skiff-agent on this host, registers the `skiff-demo` task definition and runs it as a "
     "3-task service in bridge mode, waits for steady state and prints the endpoints. "
     "Running it again reuses what is running. `--down` removes everything it made.",
     o_quickstart, cli_cmd_quickstart, true},
    {"help", "", "list the commands, or the Markdown reference with --markdown", NULL, o_help,
     cli_cmd_help, true},
};
const size_t cli_n_cmds = sizeof(cli_cmds) / sizeof(cli_cmds[0]);

json_t *
cli_req_cluster(const struct cli_args *a)
{
    const char *c = cli_arg(a, "cluster");
    return c ? json_pack("{s:s}", "cluster", c) : json_object();
}

int
cli_fail(struct cli_ctx *ctx, const struct cli_args *a, struct cm_error **err)
{
    fprintf(stderr, "skiff %s: %s\n", a->cmd->name, (*err)->msg);
    const char *hint = ctx ? cli_error_hint(ctx->err_type) : NULL;
    if (hint)
        fprintf(stderr, "  hint: %s\n", hint);
    cm_error_free(err);
    return 1;
}

int
cli_cmd_help(struct cli_ctx *ctx, const struct cli_args *a)
{
    if (cli_flag(a, "markdown"))
        cli_markdown(ctx->out);
    else
        cli_usage(ctx->out);
    return 0;
}

int
cli_ecs_main(int argc, char **argv)
{
    struct cli_args a = {0};
    struct cli_ctx ctx = {0};
    cleanup_error struct cm_error *err = NULL;
    int used = 0, r;

    const struct cli_cmd *cmd = cli_cmd_find(argc, argv, &used);
    if (!cmd)
        return -1;
    if (cli_args_parse(cmd, argc - used, argv + used, &a, &err) < 0) {
        fprintf(stderr, "skiff %s: %s\n", cmd->name, err->msg);
        fprintf(stderr, "usage: see 'skiff %s --help'\n", cmd->name);
        return 2;
    }
    if (cli_flag(&a, "help")) {
        cli_help_cmd(stdout, cmd);
        cli_args_done(&a);
        return 0;
    }
    if (cli_ctx_init(&ctx, &a, !cmd->local, &err) < 0) {
        r = cli_fail(&ctx, &a, &err);
    } else {
        r = cmd->run(&ctx, &a);
    }
    cli_ctx_done(&ctx);
    cli_args_done(&a);
    return r;
}
