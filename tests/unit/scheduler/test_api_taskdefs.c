/* SPDX-License-Identifier: Apache-2.0 */
/* skiffd's ECS handlers called directly on in-memory tables: task definition
 * validation (Fargate table, cpu/memory strings, containers), revisions,
 * listing, pagination, clusters and the task lifecycle helpers. */
#include <criterion/criterion.h>
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
}

static void
teardown(void)
{
    sched_state_done(d);
    free(d->region);
    free(d);
}

TestSuite(sched_api, .init = setup, .fini = teardown);

struct result {
    int rc;
    char *type;
    char *msg;
    json_t *out;
};

static void
result_done(struct result *r)
{
    free(r->type);
    free(r->msg);
    json_decref(r->out);
}

static struct result
call(sched_op_fn fn, const char *in_text)
{
    json_error_t jerr;
    json_t *in = json_loads(in_text, 0, &jerr);
    cr_assert_not_null(in, "bad test JSON: %s", jerr.text);
    struct sched_call c = {.d = d, .op = "test", .in = in};
    struct result r = {.out = json_object()};
    r.rc = fn(&c, in, r.out);
    r.type = c.err_type;
    r.msg = c.err_msg;
    json_decref(in);
    return r;
}

static void
expect_ok(sched_op_fn fn, const char *in, json_t **ret_out)
{
    struct result r = call(fn, in);
    cr_assert_eq(r.rc, 0, "%s: %s", r.type, r.msg);
    if (ret_out)
        *ret_out = json_incref(r.out);
    result_done(&r);
}

static void
expect_fail(sched_op_fn fn, const char *in, const char *type, const char *msg_part)
{
    struct result r = call(fn, in);
    cr_assert_eq(r.rc, -1, "expected %s for %s", type, in);
    cr_assert_str_eq(r.type, type, "%s", r.msg);
    if (msg_part)
        cr_assert(strstr(r.msg, msg_part), "message '%s' lacks '%s'", r.msg, msg_part);
    result_done(&r);
}

struct pair {
    const char *cpu, *mem;
    bool ok;
};

static const struct pair pairs[] = {
    {"256", "512", true},
    {"256", "2048", true},
    {"256", "4096", false},
    {"512", "4096", true},
    {"512", "512", false},
    {"1024", "8192", true},
    {"1024", "9216", false},
    {"2048", "16384", true},
    {"4096", "30720", true},
    {"4096", "31744", false},
    {"8192", "61440", true},
    {"8192", "17408", false},
    {"16384", "122880", true},
    {"16384", "36864", false},
    {"1 vCPU", "2 GB", true},
    {"0.25 vcpu", "0.5 GB", true},
    {"300", "512", false},
    /* MB and MiB are MiB, fractions cut off; unknown units refused */
    {"256", "512 MB", true},
    {"512", "1024.9 mib", true},
    {"1 vCPU", "2 TB", false},
};

Test(sched_api, fargate_table)
{
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const struct pair *p = &pairs[i];
        cleanup_free char *fam = xasprintf("f%zu", i);
        cleanup_free char *in = xasprintf(
            "{\"family\":\"%s\",\"cpu\":\"%s\",\"memory\":\"%s\",\"networkMode\":\"awsvpc\","
            "\"requiresCompatibilities\":[\"FARGATE\"],\"containerDefinitions\":[{\"name\":\"a\","
            "\"image\":\"i\"}]}",
            fam, p->cpu, p->mem);
        if (p->ok)
            expect_ok(sched_op_register_task_definition, in, NULL);
        else
            expect_fail(sched_op_register_task_definition, in, "ClientException", NULL);
    }
}

Test(sched_api, cpu_memory_strings_normalised)
{
    json_auto_t *out = NULL;
    expect_ok(sched_op_register_task_definition,
              "{\"family\":\"f\",\"cpu\":\"0.5 vCPU\",\"memory\":\"3 GB\","
              "\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\"}]}",
              &out);
    json_t *td = json_object_get(out, "taskDefinition");
    cr_assert_str_eq(json_string_value(json_object_get(td, "cpu")), "512");
    cr_assert_str_eq(json_string_value(json_object_get(td, "memory")), "3072");
    cr_assert_str_eq(json_string_value(json_object_get(td, "networkMode")), "bridge");
    json_t *c0 = json_array_get(json_object_get(td, "containerDefinitions"), 0);
    cr_assert(json_is_true(json_object_get(c0, "essential")), "essential defaults to true");
    cr_assert_null(json_object_get(td, "_cpu"), "internal members never leave");
}

Test(sched_api, fargate_needs_awsvpc_and_sizes)
{
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"cpu\":\"256\",\"memory\":\"512\","
                "\"requiresCompatibilities\":[\"FARGATE\"],\"containerDefinitions\":[{\"name\":"
                "\"a\",\"image\":\"i\"}]}",
                "ClientException", "awsvpc");
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"networkMode\":\"awsvpc\",\"memory\":\"512\","
                "\"requiresCompatibilities\":[\"FARGATE\"],\"containerDefinitions\":[{\"name\":"
                "\"a\",\"image\":\"i\"}]}",
                "ClientException", "cpu");
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"networkMode\":\"awsvpc\",\"cpu\":\"256\",\"memory\":\"512\","
                "\"requiresCompatibilities\":[\"FARGATE\"],\"containerDefinitions\":[{\"name\":"
                "\"a\",\"image\":\"i\",\"privileged\":true}]}",
                "ClientException", "Privileged");
}

Test(sched_api, container_rules)
{
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\",\"memory\":5}]}",
                "ClientException", "Container.image should not be null or empty.");
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"containerDefinitions\":[{\"image\":\"a\",\"memory\":5}]}",
                "ClientException", "Container.name");
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\"}]}",
                "ClientException", "memoryReservation");
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
                "\"memory\":64,\"essential\":false}]}",
                "ClientException", "essential");
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"networkMode\":\"awsvpc\",\"containerDefinitions\":[{\"name\":"
                "\"a\",\"image\":\"i\",\"memory\":64,\"portMappings\":[{\"containerPort\":80,"
                "\"hostPort\":8080}]}]}",
                "ClientException", "must match the container port");
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
                "\"memory\":64,\"portMappings\":[{\"containerPort\":80,\"protocol\":\"sctp\"}]}]}",
                "ClientException", "protocol");
    expect_fail(
        sched_op_register_task_definition,
        "{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
        "\"memory\":64,\"dependsOn\":[{\"containerName\":\"a\",\"condition\":\"START\"}]}]}",
        "ClientException", "unknown container");
    expect_fail(
        sched_op_register_task_definition,
        "{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
        "\"memory\":64,\"dependsOn\":[{\"containerName\":\"b\",\"condition\":\"SUCCESS\"}]},"
        "{\"name\":\"b\",\"image\":\"i\",\"memory\":64}]}",
        "ClientException", "non-essential");
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"cpu\":\"256\",\"containerDefinitions\":[{\"name\":\"a\","
                "\"image\":\"i\",\"memory\":64,\"cpu\":512}]}",
                "ClientException", "exceeds");
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
                "\"memory\":64,\"logConfiguration\":{\"logDriver\":\"nope\"}}]}",
                "ClientException", "Log driver");
    expect_fail(sched_op_register_task_definition, "{\"family\":\"f\",\"containerDefinitions\":5}",
                "InvalidParameterException", NULL);
    expect_fail(sched_op_register_task_definition,
                "{\"family\":\"a b\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
                "\"memory\":64}]}",
                "ClientException", "Family");
}

Test(sched_api, revisions_grow_and_are_never_reused)
{
    const char *td = "{\"family\":\"w\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
                     "\"memory\":64}]}";
    json_auto_t *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL;
    expect_ok(sched_op_register_task_definition, td, &o1);
    expect_ok(sched_op_register_task_definition, td, &o2);
    expect_ok(sched_op_deregister_task_definition, "{\"taskDefinition\":\"w:2\"}", &o3);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(o3, "taskDefinition"), "status")),
        "INACTIVE");
    expect_ok(sched_op_describe_task_definition, "{\"taskDefinition\":\"w\"}", &o4);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(o4, "taskDefinition"), "revision")), 1,
        "family resolves to the latest ACTIVE revision");
    json_auto_t *o5 = NULL;
    expect_ok(sched_op_register_task_definition, td, &o5);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o5, "taskDefinition"),
                                                       "taskDefinitionArn")),
                     "arn:aws:ecs:us-east-1:000000000000:task-definition/w:3");
    expect_fail(sched_op_deregister_task_definition, "{\"taskDefinition\":\"w\"}",
                "ClientException", "revision");
}

Test(sched_api, families_and_pagination)
{
    const char *fams[] = {"b", "a", "c", "a2", "d"};
    for (int i = 0; i < 5; i++) {
        cleanup_free char *td = xasprintf("{\"family\":\"%s\",\"containerDefinitions\":[{\"name\":"
                                          "\"a\",\"image\":\"i\",\"memory\":64}]}",
                                          fams[i]);
        expect_ok(sched_op_register_task_definition, td, NULL);
    }
    expect_ok(sched_op_deregister_task_definition, "{\"taskDefinition\":\"c:1\"}", NULL);
    json_auto_t *p1 = NULL, *p2 = NULL, *all = NULL, *inact = NULL;
    expect_ok(sched_op_list_task_definition_families, "{\"maxResults\":2}", &p1);
    cr_assert_eq(json_array_size(json_object_get(p1, "families")), 2);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(p1, "families"), 0)), "a");
    const char *tok = json_string_value(json_object_get(p1, "nextToken"));
    cr_assert_not_null(tok);
    cleanup_free char *in2 = xasprintf("{\"maxResults\":10,\"nextToken\":\"%s\"}", tok);
    expect_ok(sched_op_list_task_definition_families, in2, &p2);
    cr_assert_eq(json_array_size(json_object_get(p2, "families")), 2, "c is INACTIVE");
    cr_assert_null(json_object_get(p2, "nextToken"));
    expect_ok(sched_op_list_task_definition_families, "{\"familyPrefix\":\"a\"}", &all);
    cr_assert_eq(json_array_size(json_object_get(all, "families")), 2);
    expect_ok(sched_op_list_task_definition_families, "{\"status\":\"INACTIVE\"}", &inact);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(inact, "families"), 0)), "c");
    expect_fail(sched_op_list_task_definition_families, "{\"nextToken\":\"skiff-99\"}",
                "InvalidParameterException", "nextToken");
    expect_fail(sched_op_list_task_definition_families, "{\"maxResults\":0}",
                "InvalidParameterException", NULL);
}

Test(sched_api, clusters)
{
    json_auto_t *o = NULL, *o2 = NULL;
    expect_fail(sched_op_list_services, "{}", "ClusterNotFoundException", "Cluster not found.");
    expect_ok(sched_op_create_cluster, "{}", &o);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(o, "cluster"), "clusterArn")),
        "arn:aws:ecs:us-east-1:000000000000:cluster/default");
    expect_ok(sched_op_describe_clusters, "{\"clusters\":[\"default\",\"x\"]}", &o2);
    cr_assert_eq(json_array_size(json_object_get(o2, "clusters")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(o2, "failures"), 0), "reason")),
                     "MISSING");
    expect_fail(sched_op_create_cluster, "{\"clusterName\":\"\"}", "InvalidParameterException",
                NULL);
    expect_fail(sched_op_create_cluster,
                "{\"clusterName\":\"x\",\"tags\":[{\"key\":\"\",\"value\":\"v\"}]}",
                "InvalidParameterException", NULL);
    expect_ok(sched_op_delete_cluster, "{\"cluster\":\"default\"}", NULL);
    expect_fail(sched_op_delete_cluster, "{\"cluster\":\"default\"}", "ClusterNotFoundException",
                NULL);
}

Test(sched_api, lifecycle_order)
{
    cr_assert_lt(sched_status_rank("PROVISIONING"), sched_status_rank("PENDING"));
    cr_assert_lt(sched_status_rank("PENDING"), sched_status_rank("RUNNING"));
    cr_assert_lt(sched_status_rank("RUNNING"), sched_status_rank("STOPPING"));
    cr_assert_lt(sched_status_rank("DEPROVISIONING"), sched_status_rank("STOPPED"));
    cr_assert_eq(sched_status_rank("BOGUS"), -1);
    cr_assert_eq(sched_status_rank(NULL), -1);
}

Test(sched_api, stop_on_a_lost_host_is_immediate)
{
    expect_ok(sched_op_create_cluster, "{}", NULL);
    json_auto_t *o = NULL;
    expect_ok(sched_op_register_task_definition,
              "{\"family\":\"w\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
              "\"memory\":64}]}",
              &o);
    json_t *inst = json_pack("{s:s,s:s,s:s,s:s,s:b,s:i}", "containerInstanceArn",
                             "arn:aws:ecs:us-east-1:000000000000:container-instance/default/i1",
                             "_id", "i1", "_cluster", "default", "status", "ACTIVE",
                             "agentConnected", false, "_version", 1);
    sched_put(d, SCHED_K_INSTANCE, "i1", inst);
    struct sched_task_spec spec = {
        .cluster = "default",
        .td = sched_get(d, SCHED_K_TASKDEF, "w:1"),
        .instance_id = "i1",
        .group = "family:w",
    };
    uint32_t h = sched_task_create(d, &spec);
    json_auto_t *t = sched_task_view(d, h, false);
    cr_assert_str_eq(json_string_value(json_object_get(t, "lastStatus")), "PROVISIONING");
    cr_assert_eq(json_integer_value(json_object_get(inst, "_version")), 2,
                 "a new task bumps the host's desired-state version");
    const char *id = sched_arn_tail(json_string_value(json_object_get(t, "taskArn")));
    cr_assert_eq(strlen(id), 32);
    cr_assert_eq(sched_task_find(d, id), h);
    sched_task_stop(d, h, "UserInitiated", "why");
    json_decref(t);
    t = sched_task_view(d, h, false);
    cr_assert_str_eq(json_string_value(json_object_get(t, "lastStatus")), "STOPPED");
    cr_assert_str_eq(json_string_value(json_object_get(t, "stopCode")), "UserInitiated");
    cr_assert_not_null(json_object_get(t, "stoppedAt"));
    json_int_t v = json_integer_value(json_object_get(t, "version"));
    sched_task_stop(d, h, "UserInitiated", "again");
    json_decref(t);
    t = sched_task_view(d, h, false);
    cr_assert_eq(json_integer_value(json_object_get(t, "version")), v, "stopping twice is a no-op");
    cr_assert_str_eq(json_string_value(json_object_get(t, "stoppedReason")), "why");
}

/* A task definition's requiresAttributes reach placement: an instance without the
 * attribute is not feasible ("ATTRIBUTE"), one with it is. */
Test(sched_api, requires_attributes_constrain_placement)
{
    expect_ok(sched_op_register_task_definition,
              "{\"family\":\"eni\",\"networkMode\":\"awsvpc\",\"containerDefinitions\":[{"
              "\"name\":\"a\",\"image\":\"i\",\"memory\":64}]}",
              NULL);
    json_t *td = sched_get(d, SCHED_K_TASKDEF, "eni:1");
    cr_assert_not_null(td);
    struct sched_task_needs needs;
    cleanup_free uint32_t *storage = sched_needs_from_td(td, &needs);
    cr_assert_eq(needs.n_required_attrs, 1);
    cr_assert_str_eq(needs.required_attrs[0], "ecs.capability.task-eni");

    struct sched_attr without[] = {{"ecs.availability-zone", "a"}};
    struct sched_attr with[] = {{"ecs.availability-zone", "a"}, {"ecs.capability.task-eni", NULL}};
    struct sched_instance inst[2];
    sched_instance_init(&inst[0], "i0", (struct sched_resources){1024, 1024});
    sched_instance_init(&inst[1], "i1", (struct sched_resources){1024, 1024});
    inst[0].attrs = without;
    inst[0].n_attrs = 1;
    inst[1].attrs = with;
    inst[1].n_attrs = 2;
    struct sched_cluster cl = {.instances = inst, .n_instances = 2};
    struct sched_place_request req = {.group = "family:eni", .needs = &needs, .count = 1};
    cr_assert_eq(sched_feasible(&cl, 0, &req, 0), SCHED_REJECT_ATTRIBUTE);
    cr_assert_eq(sched_feasible(&cl, 1, &req, 0), SCHED_REJECT_NONE);
    sched_instance_done(&inst[0]);
    sched_instance_done(&inst[1]);
}

/* Placement constraints and strategies of RunTask/CreateService: a failure
 * anywhere names the entry and frees what was parsed before it (ASan). */
Test(sched_api, placement_spec_errors_name_the_entry)
{
    static const struct {
        const char *cons, *strat, *want;
    } cases[] = {
        {"[{\"type\": \"memberOf\", \"expression\": \"attribute:zone == a\"}, {\"type\": \"x\"}]",
         "[]", "placementConstraints[1]: unknown type 'x'"},
        {"[{\"type\": \"memberOf\", \"expression\": \"attribute:zone == a\"}]",
         "[{\"type\": \"spread\", \"field\": \"instanceId\"}, {}]",
         "placementStrategy[1].type is required"},
        {"[{\"type\": \"distinctInstance\", \"expression\": \"x\"}]", "[]",
         "distinctInstance takes no expression"},
        {"[{\"type\": \"memberOf\"}]", "[]", "memberOf needs an expression"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_auto_t *cons = json_loads(cases[i].cons, 0, NULL);
        json_auto_t *strat = json_loads(cases[i].strat, 0, NULL);
        cleanup_error struct cm_error *err = NULL;
        struct sched_placement_spec p;

        cr_assert(cons && strat, "case %zu: bad test JSON", i);
        cr_assert_eq(sched_placement_spec_init(&p, cons, strat, &err), -1, "case %zu", i);
        cr_assert(strstr(err->msg, cases[i].want), "case %zu: '%s'", i, err->msg);
    }
}

Test(sched_api, placement_spec_parses_constraints_and_strategies)
{
    json_auto_t *cons = json_loads("[{\"type\": \"distinctInstance\"}, {\"type\": \"memberOf\", "
                                   "\"expression\": \"attribute:zone == a\"}]",
                                   0, NULL);
    json_auto_t *strat = json_loads("[{\"type\": \"binpack\", \"field\": \"memory\"}]", 0, NULL);
    cleanup_error struct cm_error *err = NULL;
    struct sched_placement_spec p;

    cr_assert_eq(sched_placement_spec_init(&p, cons, strat, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(p.n_cons, 2);
    cr_assert_eq(p.cons[1].type, SCHED_CONSTRAINT_MEMBER_OF);
    cr_assert_eq(p.n_strats, 1);
    sched_placement_spec_done(&p);
}
