/* SPDX-License-Identifier: Apache-2.0 */
/* skiffd's side of the agent protocol on an in-memory daemon (both found by the
 * sched_agent fuzz target): registering a container instance (the agent's
 * register, and ECS RegisterContainerInstance) finds the same instance by an
 * earlier ARN or host name, but never one that was deregistered; a task report
 * keeps only container fields of ECS's types, with bounded texts. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../../scheduler/skiffd.h"
#include "cm/cleanup.h"
#include "cm/xalloc.h"

static struct sched_daemon *d;

static void
setup(void)
{
    d = xcalloc(1, sizeof(*d));
    d->region = xstrdup("us-east-1");
    sched_state_init(d);
    json_t *in = json_object(), *out = json_object();
    struct sched_call c = {.d = d, .op = "test", .in = in};
    cr_assert_eq(sched_op_create_cluster(&c, in, out), 0);
    json_decref(in);
    json_decref(out);
}

static void
teardown(void)
{
    sched_state_done(d);
    free(d->region);
    free(d);
}

/* Registers host "h1" (with the ARN of an earlier answer, or NULL); returns its id (static). */
static const char *
reg(const char *existing)
{
    static char id[64];
    struct sched_call c = {.d = d, .op = "test", .region = "us-east-1"};
    json_t *inst =
        sched_instance_register(&c, "default", "h1", 1024, 1024, NULL, NULL, existing, NULL);
    cr_assert_not_null(inst);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(inst, "_id")));
    free(c.err_type);
    free(c.err_msg);
    return id;
}

static void
deregister(const char *id)
{
    json_t *in = json_pack("{s:s,s:b}", "containerInstance", id, "force", true);
    json_t *out = json_object();
    struct sched_call c = {.d = d, .op = "test", .in = in};
    cr_assert_eq(sched_op_deregister_container_instance(&c, in, out), 0);
    json_decref(in);
    json_decref(out);
}

static const char *
arn_of(const char *id)
{
    return json_string_value(
        json_object_get(sched_get(d, SCHED_K_INSTANCE, id), "containerInstanceArn"));
}

TestSuite(sched_agent_register, .init = setup, .fini = teardown);

Test(sched_agent_register, same_arn_or_name_is_the_same_instance)
{
    char first[64];
    snprintf(first, sizeof(first), "%s", reg(NULL));
    cr_expect_str_eq(reg(arn_of(first)), first);
    cr_expect_str_eq(reg(NULL), first);
}

Test(sched_agent_register, deregistered_arn_gets_a_new_instance)
{
    char first[64];
    snprintf(first, sizeof(first), "%s", reg(NULL));
    cleanup_free char *arn = xstrdup(arn_of(first));
    deregister(first);
    const char *second = reg(arn);
    cr_expect_str_neq(second, first);
    json_t *old = sched_get(d, SCHED_K_INSTANCE, first);
    cr_expect_str_eq(json_string_value(json_object_get(old, "status")), "INACTIVE");
    cr_expect(json_is_false(json_object_get(old, "agentConnected")));
    cr_expect_eq(json_integer_value(json_object_get(old, "_cpu")), 1024);
    json_t *now = sched_get(d, SCHED_K_INSTANCE, second);
    cr_expect_str_eq(json_string_value(json_object_get(now, "status")), "ACTIVE");
}

/* ---- reports ---- */

TestSuite(sched_agent_report, .init = setup, .fini = teardown);

static const char *
ecs_ok(sched_op_fn fn, const char *body)
{
    json_t *in = json_loads(body, 0, NULL), *out = json_object();
    struct sched_call c = {.d = d, .op = "test", .in = in};
    cr_assert_eq(fn(&c, in, out), 0, "%s: %s", body, c.err_msg);
    static char arn[256];
    snprintf(arn, sizeof(arn), "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(out, "tasks"), 0), "taskArn")));
    json_decref(in);
    json_decref(out);
    return arn;
}

/* The container "web" of the task's ECS view. */
static json_t *
web_of(uint32_t h)
{
    json_t *view = sched_task_view(d, h, false);
    json_t *c = json_incref(json_array_get(json_object_get(view, "containers"), 0));
    json_decref(view);
    return c;
}

Test(sched_agent_report, keeps_only_ecs_types_and_bounded_texts)
{
    const char *id = reg(NULL);
    char iid[64];
    snprintf(iid, sizeof(iid), "%s", id);
    ecs_ok(sched_op_register_task_definition,
           "{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"web\",\"image\":\"i\","
           "\"memory\":64}]}");
    char arn[256];
    snprintf(arn, sizeof(arn), "%s", ecs_ok(sched_op_run_task, "{\"taskDefinition\":\"web\"}"));
    uint32_t h = sched_task_find(d, sched_arn_tail(arn));
    cr_assert_neq(h, SCHED_NO_TASK);

    /* Good values are kept. */
    json_t *r =
        json_pack("{s:s,s:s,s:[{s:s,s:i,s:s,s:s,s:[{s:s,s:i,s:i,s:s}]}]}", "taskArn", arn,
                  "lastStatus", "RUNNING", "containers", "name", "web", "exitCode", 3, "runtimeId",
                  "c0ffee", "healthStatus", "HEALTHY", "networkBindings", "bindIP", "0.0.0.0",
                  "containerPort", 80, "hostPort", 32768, "protocol", "tcp");
    sched_agent_report_task(d, iid, r);
    json_decref(r);
    json_t *c = web_of(h);
    cr_expect_eq(json_integer_value(json_object_get(c, "exitCode")), 3);
    cr_expect_str_eq(json_string_value(json_object_get(c, "runtimeId")), "c0ffee");
    cr_expect_eq(json_array_size(json_object_get(c, "networkBindings")), 1);
    json_decref(c);

    /* Wrong types, unknown values, junk members and huge texts are not. */
    char *huge = xmalloc(1 << 20);
    memset(huge, 'x', (1 << 20) - 1);
    huge[(1 << 20) - 1] = '\0';
    r = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:{},s:[{s:s,s:i,s:i,s:s,s:s},i,"
                  "{s:s,s:i,s:i,s:s}]}]}",
                  "taskArn", arn, "lastStatus", "STOPPED", "stoppedReason", huge, "containers",
                  "name", "web", "exitCode", "137", "reason", huge, "healthStatus", "GREAT",
                  "imageDigest", "networkBindings", "bindIP", "0.0.0.0", "containerPort", 80,
                  "hostPort", 70000, "protocol", "tcp", "junk", "x", 7, "bindIP",
                  "::", "containerPort", 81, "hostPort", 81, "protocol", "udp");
    sched_agent_report_task(d, iid, r);
    json_decref(r);
    c = web_of(h);
    /* The earlier exit code stays; the string one is dropped. */
    cr_expect_eq(json_integer_value(json_object_get(c, "exitCode")), 3);
    cr_expect_eq(json_string_length(json_object_get(c, "reason")), SCHED_AGENT_TEXT_MAX);
    cr_expect_str_eq(json_string_value(json_object_get(c, "healthStatus")), "HEALTHY");
    cr_expect_null(json_object_get(c, "imageDigest"));
    json_t *nb = json_object_get(c, "networkBindings");
    cr_assert_eq(json_array_size(nb), 1, "%s", json_dumps(nb, 0));
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(nb, 0), "hostPort")), 81);
    cr_expect_null(json_object_get(json_array_get(nb, 0), "junk"));
    json_decref(c);
    json_t *view = sched_task_view(d, h, false);
    cr_expect_str_eq(json_string_value(json_object_get(view, "lastStatus")), "STOPPED");
    cr_expect_eq(json_string_length(json_object_get(view, "stoppedReason")), SCHED_AGENT_TEXT_MAX);
    json_decref(view);
    free(huge);
}

Test(sched_agent_report, texts_are_cut_at_a_character_boundary)
{
    char iid[64];
    snprintf(iid, sizeof(iid), "%s", reg(NULL));
    ecs_ok(sched_op_register_task_definition,
           "{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"web\",\"image\":\"i\","
           "\"memory\":64}]}");
    char arn[256];
    snprintf(arn, sizeof(arn), "%s", ecs_ok(sched_op_run_task, "{\"taskDefinition\":\"web\"}"));
    uint32_t h = sched_task_find(d, sched_arn_tail(arn));
    /* "x" then 3-byte characters: byte 1024 falls inside one. */
    char text[3 * 400 + 2] = "x";
    for (int i = 0; i < 400; i++)
        memcpy(text + 1 + 3 * i, "\xe2\x82\xac", 3);
    text[1 + 3 * 400] = '\0';
    json_t *r = json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "taskArn", arn, "lastStatus", "PENDING",
                          "containers", "name", "web", "reason", text);
    sched_agent_report_task(d, iid, r);
    json_decref(r);
    json_t *c = web_of(h);
    const char *got = json_string_value(json_object_get(c, "reason"));
    cr_assert_not_null(got);
    cr_expect_eq(strlen(got), 1 + 3 * 341);
    json_decref(c);
}
