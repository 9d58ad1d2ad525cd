/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for skiff-agent-worker's request handling (agent/prepare.c):
 * hostile or incomplete requests get {"ok": false, "error": ...}, never a
 * crash; the work itself is covered by the agent's integration tests. */
#include <criterion/criterion.h>
#include <string.h>

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
