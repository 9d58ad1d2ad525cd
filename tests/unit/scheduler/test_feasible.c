/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the feasibility chain: one case per checker, plus the chain's order. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "cm/error.h"
#include "fixture.h"

enum setup {
    SET_NONE,
    SET_DRAINING,
    SET_INACTIVE,
    SET_DISCONNECTED,
    SET_LOW_CPU,
    SET_LOW_MEM,
    SET_PORT_USED,
    SET_UDP_PORT_USED,
    SET_GROUP_TASK,
};

/* Parameters are copied into a freshly executed test process: no pointers, only arrays. */
struct feas_case {
    char name[48];
    enum setup setup;
    int cpu, mem;       /* task needs */
    bool with_port;     /* task needs tcp/8080 */
    char required[64];  /* requiresAttributes name, "" for none */
    bool distinct;      /* distinctInstance */
    char member_of[96]; /* memberOf expression, "" for none */
    enum sched_reject want;
};

ParameterizedTestParameters(sched_feasible, checker)
{
    static struct feas_case cases[] = {
        {"fits", SET_NONE, 512, 512, true, "", true, "", SCHED_REJECT_NONE},
        {"exact fit", SET_NONE, 2048, 4096, false, "", false, "", SCHED_REJECT_NONE},
        {"draining", SET_DRAINING, 1, 1, false, "", false, "", SCHED_REJECT_STATUS},
        {"inactive", SET_INACTIVE, 1, 1, false, "", false, "", SCHED_REJECT_INACTIVE},
        {"agent", SET_DISCONNECTED, 1, 1, false, "", false, "", SCHED_REJECT_AGENT},
        {"cpu", SET_NONE, 2049, 1, false, "", false, "", SCHED_REJECT_CPU},
        {"cpu used", SET_LOW_CPU, 1024, 1, false, "", false, "", SCHED_REJECT_CPU},
        {"memory", SET_NONE, 1, 4097, false, "", false, "", SCHED_REJECT_MEMORY},
        {"memory used", SET_LOW_MEM, 1, 2048, false, "", false, "", SCHED_REJECT_MEMORY},
        {"port", SET_PORT_USED, 1, 1, true, "", false, "", SCHED_REJECT_PORTS},
        {"udp port does not block tcp", SET_UDP_PORT_USED, 1, 1, true, "", false, "",
         SCHED_REJECT_NONE},
        {"required attr present", SET_NONE, 1, 1, false,
         "com.amazonaws.ecs.capability.docker-remote-api.1.30", false, "", SCHED_REJECT_NONE},
        {"required attr missing", SET_NONE, 1, 1, false, "ecs.capability.efs", false, "",
         SCHED_REJECT_ATTRIBUTE},
        {"distinct", SET_GROUP_TASK, 1, 1, false, "", true, "", SCHED_REJECT_DISTINCT},
        {"group task without distinct", SET_GROUP_TASK, 1, 1, false, "", false, "",
         SCHED_REJECT_NONE},
        {"memberOf true", SET_NONE, 1, 1, false, "", false,
         "attribute:ecs.instance-type == t3.large", SCHED_REJECT_NONE},
        {"memberOf false", SET_NONE, 1, 1, false, "", false, "attribute:ecs.instance-type =~ m5.*",
         SCHED_REJECT_MEMBER_OF},
        /* Cheapest first: a draining instance is reported as such even when it is also full. */
        {"order status before cpu", SET_DRAINING, 99999, 1, false, "", false, "",
         SCHED_REJECT_STATUS},
        {"order cpu before memory", SET_NONE, 99999, 99999, false, "", false, "", SCHED_REJECT_CPU},
        {"order memory before memberOf", SET_NONE, 1, 99999, false, "", false,
         "attribute:nope exists", SCHED_REJECT_MEMORY},
    };
    return cr_make_param_array(struct feas_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct feas_case *fc, sched_feasible, checker)
{
    struct fx_cluster f;
    struct sched_query *q = NULL;
    struct cm_error *err = NULL;
    uint32_t port = SCHED_PORT_KEY(SCHED_PROTO_TCP, 8080);
    const char *req_attrs[1] = {fc->required};
    struct sched_task_needs needs = {
        .res = {fc->cpu, fc->mem},
        .ports = fc->with_port ? &port : NULL,
        .n_ports = fc->with_port ? 1 : 0,
        .required_attrs = req_attrs,
        .n_required_attrs = fc->required[0] ? 1 : 0,
    };
    struct sched_constraint cons[2];
    size_t n_cons = 0;
    uint32_t group_tasks = 0;

    fx_init(&f, 1, 2048, 4096);
    switch (fc->setup) {
    case SET_NONE:
        break;
    case SET_DRAINING:
        f.inst[0].status = SCHED_INSTANCE_DRAINING;
        break;
    case SET_INACTIVE:
        f.inst[0].status = SCHED_INSTANCE_INACTIVE;
        break;
    case SET_DISCONNECTED:
        f.inst[0].agent_connected = false;
        break;
    case SET_LOW_CPU:
        f.inst[0].remaining.cpu = 1023;
        break;
    case SET_LOW_MEM:
        f.inst[0].remaining.memory = 2047;
        break;
    case SET_PORT_USED: {
        uint32_t k = SCHED_PORT_KEY(SCHED_PROTO_TCP, 8080);
        sched_instance_add_ports(&f.inst[0], &k, 1);
        break;
    }
    case SET_UDP_PORT_USED: {
        uint32_t k = SCHED_PORT_KEY(SCHED_PROTO_UDP, 8080);
        sched_instance_add_ports(&f.inst[0], &k, 1);
        break;
    }
    case SET_GROUP_TASK:
        group_tasks = 1;
        break;
    }
    if (fc->distinct)
        cons[n_cons++] = (struct sched_constraint){.type = SCHED_CONSTRAINT_DISTINCT_INSTANCE};
    if (fc->member_of[0]) {
        q = sched_query_parse(fc->member_of, &err);
        cr_assert_not_null(q, "%s", err ? err->msg : "");
        cons[n_cons++] = (struct sched_constraint){.type = SCHED_CONSTRAINT_MEMBER_OF, .query = q};
    }
    struct sched_place_request req = {
        .group = "service:web",
        .needs = &needs,
        .constraints = cons,
        .n_constraints = n_cons,
        .count = 1,
    };
    enum sched_reject got = sched_feasible(&f.c, 0, &req, group_tasks);
    cr_assert_eq(got, fc->want, "%s: got %d want %d", fc->name, got, fc->want);
    sched_query_free(q);
    fx_done(&f);
}

Test(sched_feasible, out_of_range_index_is_rejected)
{
    struct fx_cluster f;
    struct sched_task_needs needs = {.res = {1, 1}};
    struct sched_place_request req = {.needs = &needs, .count = 1};

    fx_init(&f, 1, 100, 100);
    cr_assert_eq(sched_feasible(&f.c, 1, &req, 0), SCHED_REJECT_INACTIVE);
    fx_done(&f);
}

Test(sched_feasible, ecs_failure_reasons)
{
    cr_assert_str_eq(sched_reject_ecs_reason(SCHED_REJECT_MEMORY), "RESOURCE:MEMORY");
    cr_assert_str_eq(sched_reject_ecs_reason(SCHED_REJECT_CPU), "RESOURCE:CPU");
    cr_assert_str_eq(sched_reject_ecs_reason(SCHED_REJECT_PORTS), "RESOURCE:PORTS");
    cr_assert_str_eq(sched_reject_ecs_reason(SCHED_REJECT_AGENT), "AGENT");
    cr_assert_str_eq(sched_reject_ecs_reason(SCHED_REJECT_INACTIVE), "INACTIVE");
    cr_assert_str_eq(sched_reject_ecs_reason(SCHED_REJECT_STATUS), "DRAINING");
    cr_assert_str_eq(sched_reject_ecs_reason(SCHED_REJECT_MEMBER_OF), "ATTRIBUTE");
}

Test(sched_instance, port_set_stays_sorted_and_unique)
{
    struct fx_cluster f;
    uint32_t a[] = {SCHED_PORT_KEY(0, 80), SCHED_PORT_KEY(0, 22), SCHED_PORT_KEY(1, 53),
                    SCHED_PORT_KEY(0, 80)};
    uint32_t rm[] = {SCHED_PORT_KEY(0, 22), SCHED_PORT_KEY(0, 9999)};

    fx_init(&f, 1, 100, 100);
    sched_instance_add_ports(&f.inst[0], a, 4);
    cr_assert_eq(f.inst[0].n_ports, 3);
    for (size_t i = 1; i < f.inst[0].n_ports; i++)
        cr_assert_lt(f.inst[0].ports[i - 1], f.inst[0].ports[i]);
    sched_instance_remove_ports(&f.inst[0], rm, 2);
    cr_assert_eq(f.inst[0].n_ports, 2);
    cr_assert_not(sched_instance_has_port(&f.inst[0], SCHED_PORT_KEY(0, 22)));
    cr_assert(sched_instance_has_port(&f.inst[0], SCHED_PORT_KEY(1, 53)));
    cr_assert_not(sched_instance_has_port(&f.inst[0], SCHED_PORT_KEY(0, 53)));
    fx_done(&f);
}

Test(sched_instance, release_is_idempotent_and_bounded)
{
    struct fx_cluster f;
    uint32_t port = SCHED_PORT_KEY(0, 80);
    struct sched_task_needs needs = {.res = {256, 512}, .ports = &port, .n_ports = 1};

    fx_init(&f, 1, 1024, 2048);
    sched_instance_commit(&f.inst[0], &needs);
    cr_assert_eq(f.inst[0].remaining.cpu, 768);
    cr_assert_eq(f.inst[0].remaining.memory, 1536);
    cr_assert(sched_instance_has_port(&f.inst[0], port));
    sched_instance_release(&f.inst[0], &needs);
    sched_instance_release(&f.inst[0], &needs); /* a repeated stop report */
    cr_assert_eq(f.inst[0].remaining.cpu, 1024);
    cr_assert_eq(f.inst[0].remaining.memory, 2048);
    cr_assert_not(sched_instance_has_port(&f.inst[0], port));
    cr_assert_str_eq(sched_instance_attr(&f.inst[0], "ecs.availability-zone"), "us-east-1a");
    cr_assert_str_eq(
        sched_instance_attr(&f.inst[0], "com.amazonaws.ecs.capability.docker-remote-api.1.30"), "");
    cr_assert_null(sched_instance_attr(&f.inst[0], "nope"));
    fx_done(&f);
}

/* awsvpc tasks get their own network interface: their ports never collide on the host. */
Test(sched_feasible, awsvpc_ports_take_no_host_port)
{
    struct fx_cluster f;
    uint32_t port = SCHED_PORT_KEY(SCHED_PROTO_TCP, 80);
    struct sched_task_needs needs = {
        .res = {1, 1}, .network_mode = SCHED_NET_AWSVPC, .ports = &port, .n_ports = 1};
    struct sched_place_request req = {.needs = &needs, .count = 1};

    fx_init(&f, 1, 100, 100);
    sched_instance_add_ports(&f.inst[0], &port, 1);
    cr_assert_eq(sched_feasible(&f.c, 0, &req, 0), SCHED_REJECT_NONE);
    sched_instance_remove_ports(&f.inst[0], &port, 1);
    sched_instance_commit(&f.inst[0], &needs);
    cr_assert_not(sched_instance_has_port(&f.inst[0], port), "nothing reserved on the host");
    needs.network_mode = SCHED_NET_BRIDGE;
    sched_instance_commit(&f.inst[0], &needs);
    cr_assert(sched_instance_has_port(&f.inst[0], port));
    cr_assert_eq(sched_feasible(&f.c, 0, &req, 0), SCHED_REJECT_PORTS);
    fx_done(&f);
}
