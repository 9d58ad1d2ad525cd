/* SPDX-License-Identifier: Apache-2.0 */
/* Registering a container instance (the agent protocol's register, and ECS
 * RegisterContainerInstance) on an in-memory daemon: an earlier ARN or host
 * name finds the same instance, but never one that was deregistered (found by
 * the sched_agent fuzz target). */
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
