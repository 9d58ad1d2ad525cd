/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the agent's pure decisions: reconcile, dependsOn gates, exit
 * reports (OOM as ECS), health-check bookkeeping, task health; and the parsing of
 * skiffd's poll and register answers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "agent/state.h"
#include "cm/xalloc.h"

Test(agent_state, reconcile_starts_missing_and_stops_surplus)
{
    struct agent_desired_task d[] = {{"a", true}, {"b", true}, {"c", false}, {"a", true}};
    struct agent_local_task l[] = {
        {"b", false, false}, /* runs and should: nothing */
        {"c", false, false}, /* desired STOPPED: stop */
        {"x", false, false}, /* not listed: stop */
        {"y", true, false},  /* already stopped: nothing */
        {"z", false, true},  /* stopping already: nothing */
    };
    struct agent_action out[9];
    size_t n = agent_reconcile(d, 4, l, 5, out);

    cr_assert_eq(n, 3);
    cr_assert_eq(out[0].kind, AGENT_ACT_START);
    cr_assert_eq(out[0].index, 0, "a starts once although listed twice");
    cr_assert_eq(out[1].kind, AGENT_ACT_STOP);
    cr_assert_eq(out[1].index, 1);
    cr_assert(strstr(out[1].reason, "scheduler"));
    cr_assert_eq(out[2].kind, AGENT_ACT_STOP);
    cr_assert_eq(out[2].index, 2);
    cr_assert(strstr(out[2].reason, "no longer assigned"));
}

Test(agent_state, reconcile_reports_unknown_stopped_tasks_once)
{
    struct agent_desired_task d[] = {{"n", false}, {"n", false}, {"k", false}};
    struct agent_local_task l[] = {{"k", true, false}};
    struct agent_action out[4];
    size_t n = agent_reconcile(d, 3, l, 1, out);

    cr_assert_eq(n, 1);
    cr_assert_eq(out[0].kind, AGENT_ACT_REPORT_STOPPED);
    cr_assert_eq(out[0].index, 0);
    cr_assert(strstr(out[0].reason, "before it started"));
}

Test(agent_state, reconcile_is_idempotent_and_never_restarts_stopped)
{
    struct agent_desired_task d[] = {{"a", true}};
    struct agent_local_task running[] = {{"a", false, false}};
    struct agent_local_task stopped[] = {{"a", true, false}};
    struct agent_action out[2];

    cr_assert_eq(agent_reconcile(d, 1, running, 1, out), 0);
    cr_assert_eq(agent_reconcile(d, 1, stopped, 1, out), 0);
    cr_assert_eq(agent_reconcile(NULL, 0, NULL, 0, out), 0);
}

static struct agent_container_def
dep_def(struct agent_depends_on *deps, size_t n)
{
    return (struct agent_container_def){.name = "web", .depends_on = deps, .n_depends_on = n};
}

Test(agent_state, gates)
{
    struct agent_depends_on deps[] = {{"db", AGENT_DEP_START}};
    struct agent_container_def def = dep_def(deps, 1);
    struct agent_cview v[] = {{.name = "db", .state = AGENT_C_PENDING}};
    const char *blocker = NULL;

    cr_assert_eq(agent_deps_gate(&def, v, 1, &blocker), AGENT_GATE_WAIT);
    cr_assert_str_eq(blocker, "db");
    v[0].state = AGENT_C_RUNNING;
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_READY);
    v[0].state = AGENT_C_STOPPED;
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_READY, "started, then ended");

    deps[0].condition = AGENT_DEP_COMPLETE;
    v[0].state = AGENT_C_RUNNING;
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_WAIT);
    v[0].state = AGENT_C_STOPPED;
    v[0].exit_code = 3;
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_READY);

    deps[0].condition = AGENT_DEP_SUCCESS;
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_NEVER);
    v[0].exit_code = 0;
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_READY);
    v[0].state = AGENT_C_RUNNING;
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_WAIT);

    deps[0].condition = AGENT_DEP_HEALTHY;
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_WAIT);
    v[0].health = AGENT_HEALTH_HEALTHY;
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_READY);
    v[0].state = AGENT_C_STOPPED;
    v[0].health = AGENT_HEALTH_UNKNOWN;
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_NEVER);
}

Test(agent_state, gate_needs_all_and_never_wins)
{
    struct agent_depends_on deps[] = {{"a", AGENT_DEP_START}, {"b", AGENT_DEP_SUCCESS}};
    struct agent_container_def def = dep_def(deps, 2);
    struct agent_cview v[] = {{.name = "a", .state = AGENT_C_RUNNING},
                              {.name = "b", .state = AGENT_C_RUNNING}};
    const char *blocker = NULL;

    cr_assert_eq(agent_deps_gate(&def, v, 2, &blocker), AGENT_GATE_WAIT);
    cr_assert_str_eq(blocker, "b");
    v[0].state = AGENT_C_PENDING;
    v[1].state = AGENT_C_STOPPED;
    v[1].exit_code = 1;
    cr_assert_eq(agent_deps_gate(&def, v, 2, &blocker), AGENT_GATE_NEVER);
    cr_assert_str_eq(blocker, "b");
    cr_assert_eq(agent_deps_gate(&def, v, 1, NULL), AGENT_GATE_NEVER, "unknown dependency");
    def.n_depends_on = 0;
    cr_assert_eq(agent_deps_gate(&def, NULL, 0, NULL), AGENT_GATE_READY);
}

Test(agent_state, exit_reports)
{
    struct agent_exit_record oom = {.exit_code = 137, .signal = 9, .oom_killed = true};
    struct agent_exit_record oom_other = {.exit_code = 1, .oom_killed = true};
    struct agent_exit_record ok = {.exit_code = 0};
    struct agent_exit_record killed = {.exit_code = 143, .signal = 15};
    int code;
    bool has;
    const char *reason;

    agent_exit_report(&oom, false, &code, &has, &reason);
    cr_assert(has);
    cr_assert_eq(code, 137);
    cr_assert_str_eq(reason, "OutOfMemoryError: Container killed due to memory usage");
    agent_exit_report(&oom_other, false, &code, &has, &reason);
    cr_assert_eq(code, 137);
    cr_assert_str_eq(reason, AGENT_OOM_REASON);
    agent_exit_report(&ok, false, &code, &has, &reason);
    cr_assert_eq(code, 0);
    cr_assert_null(reason);
    agent_exit_report(&killed, false, &code, &has, &reason);
    cr_assert_eq(code, 143);
    agent_exit_report(NULL, true, &code, &has, &reason);
    cr_assert_not(has);
    cr_assert(strstr(reason, "lost"));
}

Test(agent_state, health_due_and_interval)
{
    struct agent_health_check hc = {.present = true, .interval = 5, .timeout = 2, .retries = 3};
    struct agent_health_state st = {.started_ms = 1000};

    cr_assert(agent_health_due(&hc, &st, 1000));
    st.last_run_ms = 1000;
    cr_assert_not(agent_health_due(&hc, &st, 5999));
    cr_assert(agent_health_due(&hc, &st, 6000));
    hc.present = false;
    cr_assert_not(agent_health_due(&hc, &st, 100000));
}

Test(agent_state, health_retries_and_start_period)
{
    struct agent_health_check hc = {
        .present = true, .interval = 5, .timeout = 2, .retries = 2, .start_period = 10};
    struct agent_health_state st = {.started_ms = 0};

    /* Failures inside the start period do not count. */
    agent_health_record(&hc, &st, false, 1000);
    agent_health_record(&hc, &st, false, 6000);
    cr_assert_eq(st.status, AGENT_HEALTH_UNKNOWN);
    cr_assert_eq(st.failures, 0);
    agent_health_record(&hc, &st, true, 8000);
    cr_assert_eq(st.status, AGENT_HEALTH_HEALTHY);
    /* After a pass, failures count even inside the start period. */
    agent_health_record(&hc, &st, false, 9000);
    cr_assert_eq(st.status, AGENT_HEALTH_HEALTHY);
    cr_assert_eq(st.failures, 1);
    agent_health_record(&hc, &st, false, 14000);
    cr_assert_eq(st.status, AGENT_HEALTH_UNHEALTHY);
    agent_health_record(&hc, &st, true, 19000);
    cr_assert_eq(st.status, AGENT_HEALTH_HEALTHY);
    cr_assert_eq(st.failures, 0);
}

Test(agent_state, task_health)
{
    struct agent_container_def cs[3] = {
        {.name = "a", .essential = true, .health = {.present = true}},
        {.name = "b", .essential = false, .health = {.present = true}},
        {.name = "c", .essential = true},
    };
    struct agent_task_def t = {.containers = cs, .n_containers = 3};
    struct agent_cview v[3] = {{.name = "a"}, {.name = "b"}, {.name = "c"}};

    cr_assert_eq(agent_task_health(&t, v), AGENT_HEALTH_UNKNOWN);
    v[0].health = AGENT_HEALTH_HEALTHY;
    v[1].health = AGENT_HEALTH_UNHEALTHY; /* not essential: ignored */
    cr_assert_eq(agent_task_health(&t, v), AGENT_HEALTH_HEALTHY);
    v[0].health = AGENT_HEALTH_UNHEALTHY;
    cr_assert_eq(agent_task_health(&t, v), AGENT_HEALTH_UNHEALTHY);
    cs[0].health.present = false;
    cr_assert_eq(agent_task_health(&t, v), AGENT_HEALTH_UNKNOWN, "no checks at all");
    cr_assert_str_eq(agent_tstate_name(AGENT_T_STOPPING), "STOPPING");
    cr_assert_str_eq(agent_cstate_name(AGENT_C_RUNNING), "RUNNING");
    cr_assert_str_eq(agent_health_name(AGENT_HEALTH_UNHEALTHY), "UNHEALTHY");
}

/* ---- skiffd's answers ---- */

static json_t *
jparse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    cr_assert_not_null(j, "bad test JSON: %s", jerr.text);
    return j;
}

Test(agent_state, desired_parse_lists_every_entry)
{
    json_t *ans = jparse("{\"tasks\":[{\"taskArn\":\"a\",\"desiredStatus\":\"RUNNING\"},"
                         "{\"taskArn\":\"b\",\"desiredStatus\":\"STOPPED\"},{\"desiredStatus\":"
                         "\"RUNNING\"},7,{\"taskArn\":5,\"desiredStatus\":[\"RUNNING\"]}]}");
    struct agent_desired_task *d = NULL;
    size_t n = 0;
    cr_assert_eq(agent_desired_parse(ans, 1024, &d, &n), 0);
    cr_assert_eq(n, 5);
    cr_expect_str_eq(d[0].arn, "a");
    cr_expect(d[0].run);
    cr_expect_str_eq(d[1].arn, "b");
    cr_expect_not(d[1].run);
    /* No usable arn: "" (apply_desired never acts on it), whatever else the entry says. */
    cr_expect_str_eq(d[2].arn, "");
    cr_expect_str_eq(d[3].arn, "");
    cr_expect_not(d[3].run);
    cr_expect_str_eq(d[4].arn, "");
    cr_expect_not(d[4].run);
    free(d);
    json_decref(ans);
}

Test(agent_state, desired_parse_refuses_unusable_lists)
{
    static const char *const bad[] = {"{}", "{\"tasks\":null}", "{\"tasks\":{\"a\":1}}",
                                      "{\"tasks\":\"x\"}", "{\"tasks\":[1,2,3]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *ans = jparse(bad[i]);
        struct agent_desired_task *d = (void *)1;
        size_t n = 9;
        /* The last one is over the limit of 2 entries. */
        cr_expect_eq(agent_desired_parse(ans, 2, &d, &n), -1, "%s", bad[i]);
        cr_expect_null(d, "%s", bad[i]);
        cr_expect_eq(n, 0, "%s", bad[i]);
        json_decref(ans);
    }
    json_t *empty = jparse("{\"tasks\":[]}");
    struct agent_desired_task *d = NULL;
    size_t n = 9;
    cr_expect_eq(agent_desired_parse(empty, 2, &d, &n), 0);
    cr_expect_eq(n, 0);
    free(d);
    json_decref(empty);
}

Test(agent_state, register_answer)
{
    const char *arn = NULL;
    long ms = 0;
    struct cm_error *err = NULL;
    json_t *ok = jparse("{\"containerInstanceArn\":\"arn:x\",\"pollTimeoutMs\":1500}");
    cr_assert_eq(agent_register_answer(ok, &arn, &ms, &err), 0);
    cr_expect_str_eq(arn, "arn:x");
    cr_expect_eq(ms, 1500);
    json_decref(ok);
    /* A poll timeout that is missing, not positive or 10 minutes and more: the default. */
    static const char *const clamp[] = {
        "{\"containerInstanceArn\":\"a\"}", "{\"containerInstanceArn\":\"a\",\"pollTimeoutMs\":0}",
        "{\"containerInstanceArn\":\"a\",\"pollTimeoutMs\":-5}",
        "{\"containerInstanceArn\":\"a\",\"pollTimeoutMs\":600000}",
        "{\"containerInstanceArn\":\"a\",\"pollTimeoutMs\":\"100\"}"};
    for (size_t i = 0; i < sizeof clamp / sizeof *clamp; i++) {
        json_t *j = jparse(clamp[i]);
        cr_expect_eq(agent_register_answer(j, &arn, &ms, &err), 0, "%s", clamp[i]);
        cr_expect_eq(ms, 20000, "%s", clamp[i]);
        json_decref(j);
    }
    char *long_arn = xmalloc(2050 + 64);
    memset(long_arn, 'a', 2049);
    long_arn[2049] = '\0';
    json_t *bad[] = {jparse("{}"), jparse("{\"containerInstanceArn\":7}"),
                     json_pack("{s:s}", "containerInstanceArn", long_arn)};
    for (size_t i = 0; i < 3; i++) {
        cr_expect_eq(agent_register_answer(bad[i], &arn, &ms, &err), -1);
        cr_assert_not_null(err);
        cr_expect(strstr(err->msg, "containerInstanceArn"), "%s", err->msg);
        cm_error_free(&err);
        json_decref(bad[i]);
    }
    free(long_arn);
}

Test(agent_state, task_ident_names_no_path)
{
    cr_expect(agent_task_ident_ok("arn:t", "0123456789abcdef0123456789abcdef"));
    cr_expect_not(agent_task_ident_ok("arn:t", "../../etc"));
    cr_expect_not(agent_task_ident_ok("arn:t", "a/b"));
    cr_expect_not(agent_task_ident_ok("arn:t", ""));
    cr_expect_not(agent_task_ident_ok("arn:t", NULL));
    cr_expect_not(agent_task_ident_ok(NULL, "abc"));
    char id[66];
    memset(id, 'a', 65);
    id[65] = '\0';
    cr_expect_not(agent_task_ident_ok("arn:t", id));
    id[64] = '\0';
    cr_expect(agent_task_ident_ok("arn:t", id));
}
