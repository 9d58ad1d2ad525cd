/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for skiff-agent-worker's request handling (agent/prepare.c):
 * hostile or incomplete requests get {"ok": false, "error": ...}, never a
 * crash; the task cgroup's limits on fake cgroupfs trees (v1/hybrid and v2).
 * The rest of the work is covered by the agent's integration tests. */
#include <criterion/criterion.h>
#include <string.h>

#include "../runtime/cgroup_fake.h"
#include "agent/prepare.h"
#include "cm/cleanup.h"

static json_t *
handle(const char *text)
{
    json_auto_t *req = json_loads(text, 0, NULL);
    cr_assert_not_null(req, "bad test JSON: %s", text);
    return agent_worker_handle(req);
}

static void
assert_error(const char *text, const char *want)
{
    json_auto_t *ans = handle(text);
    const char *msg = json_string_value(json_object_get(ans, "error"));

    cr_assert(json_is_false(json_object_get(ans, "ok")), "%s: not refused", text);
    cr_assert(msg && strstr(msg, want), "%s: error '%s' does not name '%s'", text,
              msg ? msg : "(none)", want);
}

#define CFG                                                                                        \
    "\"cfg\": {\"stateDir\": \"/nonexistent/agt\", \"netnsDir\": \"/nonexistent/ns\", "            \
    "\"cgroupRoot\": \"/agt-unit\"}"

Test(agent_worker, refuses_incomplete_requests)
{
    assert_error("{}", "stateDir");
    assert_error("{\"op\": \"prepare\", \"cfg\": {\"stateDir\": \"relative\"}}", "stateDir");
    assert_error("{\"op\": \"fly\", " CFG "}", "unknown op 'fly'");
    assert_error("{" CFG "}", "unknown op");
}

Test(agent_worker, refuses_bad_tasks_and_ids)
{
    assert_error("{\"op\": \"prepare\", " CFG "}", "taskId");
    assert_error("{\"op\": \"prepare\", " CFG ", \"task\": {\"taskId\": \"../x\"}}", "taskId");
    assert_error("{\"op\": \"prepare\", " CFG ", \"task\": {\"taskId\": \"t1\", "
                 "\"taskDefinition\": 7}}",
                 "t1");
    assert_error("{\"op\": \"warm\", " CFG ", \"id\": \"../../etc\"}", "bad pool id");
    assert_error("{\"op\": \"unwarm\", " CFG ", \"id\": \"warm-1/x\"}", "bad pool id");
    assert_error("{\"op\": \"ports\", " CFG ", \"id\": \"t1\", \"netns\": \"/x\"}", "pool id");
    /* release only touches netns files in netnsDir */
    assert_error("{\"op\": \"release\", " CFG ", \"id\": \"t1\", \"mode\": \"bridge\", "
                 "\"netns\": \"/etc/passwd\"}",
                 "netnsDir");
    assert_error("{\"op\": \"release\", " CFG ", \"id\": \"t1\", \"mode\": \"bridge\", "
                 "\"netns\": \"/nonexistent/ns/../../etc\"}",
                 "netnsDir");
}

Test(agent_worker, refuses_unresolved_ports)
{
    /* bridge mode: every mapping must come with its host port. */
    assert_error(
        "{\"op\": \"prepare\", " CFG ", \"task\": {\"taskId\": \"t1\", \"taskDefinition\": "
        "{\"family\": \"f\", \"networkMode\": \"bridge\", \"containerDefinitions\": [{\"name\": "
        "\"c\", \"image\": \"busybox\", \"portMappings\": [{\"containerPort\": 80}]}]}}, "
        "\"ports\": {\"c\": [[80, 0, false]]}}",
        "port mapping 0 is invalid");
}

FAKE_CGROUP_SUITE(agent_task_cgroup, cgroot, "/tmp/agent-task-cgroup-XXXXXX");

static void
setup_ok(const char *path, uint32_t cpu, uint64_t memory_mib)
{
    cleanup_error struct cm_error *err = NULL;
    int r = agent_task_cgroup_setup(cgroot, path, cpu, memory_mib, &err);
    cr_assert_eq(r, 0, "%s", err ? err->msg : "");
}

Test(agent_task_cgroup, v1_quota_and_memory_limit)
{
    fake_v1_tree(cgroot, true);
    /* 512 units = half of each 100 ms period; 256 MiB */
    setup_ok("/agt/t1", 512, 256);
    cr_assert_file(cgroot, "cpu,cpuacct/agt/t1/cpu.cfs_period_us", "100000");
    cr_assert_file(cgroot, "cpu,cpuacct/agt/t1/cpu.cfs_quota_us", "50000");
    cr_assert_file(cgroot, "memory/agt/t1/memory.limit_in_bytes", "268435456");
    /* hybrid: nothing the task needs lives in the cgroup2 mount */
    cr_assert(!fake_exists(cgroot, "unified/agt/t1"));
}

Test(agent_task_cgroup, v1_unset_limits_stay_unlimited)
{
    fake_v1_tree(cgroot, false);
    setup_ok("/agt/t2", 0, 0);
    cr_assert(fake_exists(cgroot, "cpu,cpuacct/agt/t2"));
    cr_assert(fake_exists(cgroot, "memory/agt/t2"));
    cr_assert_file(cgroot, "cpu,cpuacct/agt/t2/cpu.cfs_quota_us", "-1");
    cr_assert_file(cgroot, "memory/agt/t2/memory.limit_in_bytes", "9223372036854771712");
}

Test(agent_task_cgroup, v2_quota_and_memory_limit)
{
    cleanup_free char *enabled = NULL;

    fake_v2_tree(cgroot);
    setup_ok("/agt/t3", 2048, 64);
    cr_assert_file(cgroot, "agt/t3/cpu.max", "200000 100000");
    cr_assert_file(cgroot, "agt/t3/memory.max", "67108864");
    /* the controllers are enabled down to the task's cgroup */
    enabled = fake_get(cgroot, "agt/cgroup.subtree_control");
    cr_assert(enabled && strstr(enabled, "+cpu") && strstr(enabled, "+memory"), "%s", enabled);
}

Test(agent_task_cgroup, reused_after_a_restart)
{
    fake_v2_tree(cgroot);
    setup_ok("/agt/t4", 1024, 32);
    /* a preparation started again (agent restart) finds the cgroup made */
    setup_ok("/agt/t4", 1024, 32);
    cr_assert_file(cgroot, "agt/t4/cpu.max", "100000 100000");
}

Test(agent_task_cgroup, failure_leaves_nothing)
{
    cleanup_error struct cm_error *err = NULL;

    fake_v1_tree(cgroot, false);
    fake_rm(cgroot, "memory/memory.limit_in_bytes");
    cr_assert_eq(agent_task_cgroup_setup(cgroot, "/agt/t5", 512, 128, &err), -1);
    cr_assert(err && strstr(err->msg, "memory.limit_in_bytes"), "%s", err ? err->msg : "");
    cr_assert(!fake_exists(cgroot, "memory/agt"));
    cr_assert(!fake_exists(cgroot, "cpu,cpuacct/agt"));
}
