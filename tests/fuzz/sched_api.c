/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: skiffd's ECS request bodies. The first byte picks the
 * operation, the rest is the JSON body handed to its handler on an in-memory
 * daemon (state kept across inputs, reset every 256, so that later inputs
 * meet clusters, task definitions, instances and services made by earlier
 * ones). Any body must be answered or refused with an ECS error; never crash,
 * leak or read out of bounds. A scheduling pass runs after each input.
 * Run: scripts/fuzz sched_api [SECONDS]
 * fuzz-sources: scheduler/api.c scheduler/api_clusters.c scheduler/api_instances.c
 * scheduler/api_services.c scheduler/api_tags.c scheduler/api_taskdefs.c scheduler/api_tasks.c
 * scheduler/auth.c scheduler/agent.c scheduler/state.c scheduler/store.c scheduler/tasks.c
 * scheduler/snapshot.c scheduler/service_loop.c scheduler/backoff.c scheduler/deploy.c
 * scheduler/feasible.c scheduler/plan.c scheduler/query.c scheduler/rank.c scheduler/reconcile.c
 * scheduler/select.c scheduler/tasktab.c scheduler/api_logs.c common/error.c common/file.c
 * common/http_server.c common/json.c common/log.c common/loop.c common/sigv4.c common/xalloc.c
 * fuzz-pkgs: jansson sqlite3 libmicrohttpd libcrypto
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../scheduler/skiffd.h"
#include "cm/log.h"
#include "cm/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const sched_op_fn ops[] = {
    sched_op_create_cluster,
    sched_op_describe_clusters,
    sched_op_list_clusters,
    sched_op_delete_cluster,
    sched_op_update_cluster,
    sched_op_register_task_definition,
    sched_op_describe_task_definition,
    sched_op_deregister_task_definition,
    sched_op_list_task_definitions,
    sched_op_list_task_definition_families,
    sched_op_register_container_instance,
    sched_op_deregister_container_instance,
    sched_op_describe_container_instances,
    sched_op_list_container_instances,
    sched_op_update_container_instances_state,
    sched_op_create_service,
    sched_op_update_service,
    sched_op_delete_service,
    sched_op_describe_services,
    sched_op_list_services,
    sched_op_run_task,
    sched_op_start_task,
    sched_op_stop_task,
    sched_op_describe_tasks,
    sched_op_list_tasks,
    sched_op_tag_resource,
    sched_op_untag_resource,
    sched_op_list_tags_for_resource,
    sched_op_create_join_token,
};

static struct sched_daemon *d;
static unsigned runs;

static void
reset(void)
{
    if (d) {
        sched_state_done(d);
        free(d->region);
        free(d);
    }
    d = xcalloc(1, sizeof(*d));
    d->region = xstrdup("us-east-1");
    sched_state_init(d);
    d->heartbeat_grace_ms = 30000;
    d->task_grace_ms = 60000;
    /* A populated cluster, so that bodies naming "default", "web" or "svc"
     * reach the deeper paths (placement, deployments, tasks). */
    static const struct {
        sched_op_fn fn;
        const char *body;
    } setup[] = {
        {sched_op_create_cluster, "{}"},
        {sched_op_register_task_definition,
         "{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
         "\"memory\":64,\"cpu\":64,\"portMappings\":[{\"containerPort\":80,\"hostPort\":80}]}]}"},
        {sched_op_register_container_instance,
         "{\"totalResources\":[{\"name\":\"CPU\",\"integerValue\":1024},{\"name\":\"MEMORY\","
         "\"integerValue\":1024}],\"attributes\":[{\"name\":\"ecs.availability-zone\","
         "\"value\":\"a\"}]}"},
        {sched_op_register_container_instance,
         "{\"totalResources\":[{\"name\":\"CPU\",\"integerValue\":512},{\"name\":\"MEMORY\","
         "\"integerValue\":512}]}"},
        {sched_op_create_service,
         "{\"serviceName\":\"svc\",\"taskDefinition\":\"web\",\"desiredCount\":2,"
         "\"placementStrategy\":[{\"type\":\"spread\",\"field\":\"instanceId\"}]}"},
        {sched_op_run_task, "{\"taskDefinition\":\"web\",\"count\":2}"},
    };
    for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
        json_t *in = json_loads(setup[i].body, 0, NULL);
        struct sched_call c = {.d = d, .op = "setup", .in = in};
        json_t *out = json_object();
        setup[i].fn(&c, in, out);
        json_decref(out);
        json_decref(in);
        free(c.err_type);
        free(c.err_msg);
    }
    sched_service_pass(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* SCHED_FUZZ_STATELESS=1: a fresh daemon per input (pins a leak to its input). */
    if (!d || ++runs % 256 == 0 || getenv("SCHED_FUZZ_STATELESS")) {
        cm_log_set_level(CM_LOG_ERROR);
        reset();
    }
    sched_op_fn fn = ops[data[0] % (sizeof(ops) / sizeof(ops[0]))];
    json_error_t jerr;
    json_t *in = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (!in || !json_is_object(in)) {
        json_decref(in);
        return 0;
    }
    struct sched_call c = {.d = d, .op = "fuzz", .in = in};
    json_t *out = json_object();
    fn(&c, in, out);
    json_decref(out);
    json_decref(in);
    free(c.err_type);
    free(c.err_msg);
    sched_service_pass(d);
    for (int k = 0; k < SCHED_K_MAX; k++)
        json_object_clear(d->dirty[k]);
    return 0;
}
