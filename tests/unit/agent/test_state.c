/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the agent's pure decisions: reconcile, dependsOn gates, exit
 * reports (OOM as ECS), health-check bookkeeping, task health. */
#include <criterion/criterion.h>
#include <string.h>

#include "agent/state.h"

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
