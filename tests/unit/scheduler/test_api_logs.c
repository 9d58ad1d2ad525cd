/* SPDX-License-Identifier: Apache-2.0 */
/* SkiffGetTaskLogs on skiffd's side: the log endpoint an agent registers (kept
 * only when usable) and the checks before the read is relayed to that agent. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../../scheduler/skiffd.h"

static struct sched_daemon d;
static const char *const secret = "0123456789abcdef0123456789abcdef";

static void
setup(void)
{
    memset(&d, 0, sizeof d);
    sched_state_init(&d);
    d.region = "us-east-1";
    json_object_set_new(d.tables[SCHED_K_CLUSTER], "default",
                        json_pack("{s:s,s:s}", "clusterName", "default", "status", "ACTIVE"));
    json_object_set_new(d.tables[SCHED_K_INSTANCE], "i1", json_pack("{s:s}", "_id", "i1"));
    json_object_set_new(d.tables[SCHED_K_TASK], "t1",
                        json_pack("{s:s,s:s,s:[{s:s}]}", "_cluster", "default", "_instance", "i1",
                                  "containers", "name", "web"));
}

static void
teardown(void)
{
    d.region = NULL;
    sched_state_done(&d);
}

TestSuite(sched_logs, .init = setup, .fini = teardown);

static json_t *
inst(void)
{
    return json_object_get(d.tables[SCHED_K_INSTANCE], "i1");
}

Test(sched_logs, register_keeps_only_usable_endpoints)
{
    json_t *ep = json_pack("{s:s,s:s}", "address", "10.0.0.2:8250", "secret", secret);
    sched_logs_register(&d, inst(), ep);
    cr_assert_str_eq(json_string_value(json_object_get(inst(), "_logEndpoint")), "10.0.0.2:8250");
    cr_assert_str_eq(json_string_value(json_object_get(inst(), "_logSecret")), secret);
    json_decref(ep);

    const char *bad[][2] = {
        {"0.0.0.0:8250", secret},
        {"10.0.0.2:0", secret},
        {"host:8250", secret},
        {"10.0.0.2:8250", "short"},
        {"10.0.0.2:8250", "0123456789ABCDEF0123456789ABCDEF"},
        {"10.0.0.2:70000", secret},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sched_logs_register(&d, inst(), NULL);
        json_object_set_new(inst(), "_logEndpoint", json_string("10.0.0.2:8250"));
        ep = json_pack("{s:s,s:s}", "address", bad[i][0], "secret", bad[i][1]);
        sched_logs_register(&d, inst(), ep);
        cr_assert_null(json_object_get(inst(), "_logEndpoint"), "%s %s kept", bad[i][0], bad[i][1]);
        cr_assert_null(json_object_get(inst(), "_logSecret"));
        json_decref(ep);
    }
    /* A register without one forgets the old one. */
    ep = json_pack("{s:s,s:s}", "address", "10.0.0.2:8250", "secret", secret);
    sched_logs_register(&d, inst(), ep);
    json_decref(ep);
    sched_logs_register(&d, inst(), NULL);
    cr_assert_null(json_object_get(inst(), "_logEndpoint"));
}

/* Runs the operation on body; returns the error type (NULL on success). */
static char *
call(const char *body)
{
    json_t *in = json_loads(body, 0, NULL), *out = json_object();
    struct sched_call c = {.d = &d, .op = "SkiffGetTaskLogs", .in = in};
    cr_assert_not_null(in);
    int r = sched_op_get_task_logs(&c, in, out);
    json_decref(in);
    json_decref(out);
    free(c.err_msg);
    cr_assert_eq(r < 0, c.err_type != NULL);
    return c.err_type;
}

Test(sched_logs, checks_before_relaying)
{
    const struct {
        const char *body, *want;
    } cases[] = {
        {"{}", "InvalidParameterException"},
        {"{\"task\":\"nope\"}", "InvalidParameterException"},
        {"{\"task\":\"t1\",\"cluster\":\"other\"}", "ClusterNotFoundException"},
        {"{\"task\":\"t1\",\"containerName\":\"db\"}", "InvalidParameterException"},
        {"{\"task\":\"t1\",\"limit\":0}", "InvalidParameterException"},
        {"{\"task\":\"t1\",\"waitMs\":60000}", "InvalidParameterException"},
        /* No endpoint registered by that instance's agent. */
        {"{\"task\":\"arn:aws:ecs:us-east-1:000000000000:task/default/t1\"}", "ClientException"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *t = call(cases[i].body);
        cr_assert_not_null(t, "%s passed", cases[i].body);
        cr_expect_str_eq(t, cases[i].want, "%s: %s", cases[i].body, t);
        free(t);
    }
    /* With an endpoint, everything checks out; without a request to answer there is
     * nothing to relay to. */
    json_t *ep = json_pack("{s:s,s:s}", "address", "127.0.0.1:1", "secret", secret);
    sched_logs_register(&d, inst(), ep);
    json_decref(ep);
    char *t = call("{\"task\":\"t1\",\"containerName\":\"web\",\"waitMs\":100}");
    cr_assert_str_eq(t, "ServerException");
    free(t);
}
