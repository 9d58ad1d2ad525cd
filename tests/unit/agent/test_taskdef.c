/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for parsing ECS task definitions into the agent's structs. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/resource.h>

#include "agent/taskdef.h"

static struct agent_task_def *
parse_ok(const char *text)
{
    json_auto_t *j = json_loads(text, 0, NULL);
    struct agent_task_def *t = NULL;
    struct cm_error *err = NULL;

    cr_assert_not_null(j, "bad test JSON: %s", text);
    cr_assert_eq(agent_task_def_from_json(j, &t, &err), 0, "%s", err ? err->msg : "");
    return t;
}

static char *
parse_err(const char *text)
{
    json_auto_t *j = json_loads(text, 0, NULL);
    struct agent_task_def *t = NULL;
    struct cm_error *err = NULL;
    char *msg;

    cr_assert_not_null(j, "bad test JSON: %s", text);
    cr_assert_eq(agent_task_def_from_json(j, &t, &err), -1, "accepted: %s", text);
    cr_assert_null(t);
    msg = strdup(err->msg);
    cm_error_free(&err);
    return msg;
}

#define EXPECT_ERR(json, needle)                                                                   \
    do {                                                                                           \
        char *m_ = parse_err(json);                                                                \
        cr_assert(strstr(m_, needle), "error '%s' lacks '%s'", m_, needle);                        \
        free(m_);                                                                                  \
    } while (0)

Test(agent_taskdef, full_container)
{
    struct agent_task_def *t = parse_ok(
        "{\"family\":\"web\",\"revision\":3,\"networkMode\":\"bridge\",\"cpu\":\"512\","
        "\"memory\":\"1024\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"reg/app:1\","
        "\"cpu\":256,\"memory\":128,\"memoryReservation\":64,\"essential\":true,"
        "\"command\":[\"serve\",\"--port\",\"80\"],\"entryPoint\":[\"/bin/app\"],"
        "\"environment\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\"}],"
        "\"workingDirectory\":\"/srv\",\"user\":\"1000:1000\",\"ulimits\":[{\"name\":\"nofile\","
        "\"softLimit\":1024,\"hardLimit\":4096}],\"readonlyRootFilesystem\":true,"
        "\"linuxParameters\":{\"capabilities\":{\"add\":[\"NET_ADMIN\"],\"drop\":[\"MKNOD\"]},"
        "\"initProcessEnabled\":true},\"stopTimeout\":10,\"portMappings\":[{\"containerPort\":80,"
        "\"hostPort\":0,\"protocol\":\"tcp\"},{\"containerPort\":53,\"protocol\":\"udp\"}],"
        "\"healthCheck\":{\"command\":[\"CMD-SHELL\",\"wget -q localhost\"],\"interval\":5,"
        "\"timeout\":2,\"retries\":2,\"startPeriod\":1},\"unknownKey\":{\"x\":1}}]}");
    const struct agent_container_def *c = &t->containers[0];

    cr_assert_str_eq(t->family, "web");
    cr_assert_eq(t->revision, 3);
    cr_assert_eq(t->network_mode, AGENT_NET_BRIDGE);
    cr_assert_eq(t->cpu, 512);
    cr_assert_eq(t->memory, 1024);
    cr_assert_eq(t->n_containers, 1);
    cr_assert_str_eq(c->name, "app");
    cr_assert_eq(c->cpu, 256);
    cr_assert_eq(c->memory, 128);
    cr_assert_eq(c->memory_reservation, 64);
    cr_assert_str_eq(c->command[2], "80");
    cr_assert_str_eq(c->entry_point[0], "/bin/app");
    cr_assert_str_eq(c->environment[0], "A=1");
    cr_assert_str_eq(c->environment[1], "B=");
    cr_assert_null(c->environment[2]);
    cr_assert_str_eq(c->working_directory, "/srv");
    cr_assert_eq(c->n_ulimits, 1);
    cr_assert_eq(c->ulimits[0].resource, RLIMIT_NOFILE);
    cr_assert_eq(c->ulimits[0].hard, 4096);
    cr_assert(c->readonly_root_filesystem);
    cr_assert_str_eq(c->cap_add[0], "NET_ADMIN");
    cr_assert_str_eq(c->cap_drop[0], "MKNOD");
    cr_assert(c->init_process_enabled);
    cr_assert_eq(c->stop_timeout, 10);
    cr_assert_eq(c->n_port_mappings, 2);
    cr_assert_eq(c->port_mappings[0].host_port, 0);
    cr_assert(c->port_mappings[1].udp);
    cr_assert(c->health.present);
    cr_assert_str_eq(c->health.command[0], "/bin/sh");
    cr_assert_str_eq(c->health.command[2], "wget -q localhost");
    cr_assert_eq(c->health.interval, 5);
    cr_assert_eq(c->health.start_period, 1);
    agent_task_def_free(t);
}

Test(agent_taskdef, defaults)
{
    struct agent_task_def *t =
        parse_ok("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"busybox\"}]}");
    const struct agent_container_def *c = &t->containers[0];

    cr_assert_eq(t->network_mode, AGENT_NET_BRIDGE);
    cr_assert(c->essential);
    cr_assert_null(c->command);
    cr_assert_null(c->entry_point);
    cr_assert_not_null(c->environment);
    cr_assert_null(c->environment[0]);
    cr_assert_not(c->health.present);
    cr_assert_not(c->privileged);
    agent_task_def_free(t);
}

Test(agent_taskdef, health_cmd_form_and_depends_on)
{
    struct agent_task_def *t = parse_ok(
        "{\"networkMode\":\"awsvpc\",\"containerDefinitions\":[{\"name\":\"db\",\"image\":\"d\","
        "\"healthCheck\":{\"command\":[\"CMD\",\"/bin/check\",\"-q\"]}},{\"name\":\"web\","
        "\"image\":\"w\",\"dependsOn\":[{\"containerName\":\"db\",\"condition\":\"HEALTHY\"}]},"
        "{\"name\":\"init\",\"image\":\"i\",\"essential\":false}]}");
    const struct agent_container_def *db = agent_task_def_container(t, "db");
    const struct agent_container_def *web = agent_task_def_container(t, "web");

    cr_assert_eq(t->network_mode, AGENT_NET_AWSVPC);
    cr_assert_str_eq(db->health.command[0], "/bin/check");
    cr_assert_null(db->health.command[2]);
    cr_assert_eq(db->health.interval, 30);
    cr_assert_eq(db->health.timeout, 5);
    cr_assert_eq(db->health.retries, 3);
    cr_assert_eq(web->n_depends_on, 1);
    cr_assert_eq(web->depends_on[0].condition, AGENT_DEP_HEALTHY);
    cr_assert_null(agent_task_def_container(t, "nope"));
    agent_task_def_free(t);
}

Test(agent_taskdef, rejects_hostile_or_invalid)
{
    EXPECT_ERR("[]", "expected an object");
    EXPECT_ERR("{}", "containerDefinitions");
    EXPECT_ERR("{\"containerDefinitions\":[]}", "1 to 10");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\"}]}", "image");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a/b\",\"image\":\"x\"}]}", "name");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"cpu\":-1}]}",
               "containerDefinitions[0].cpu");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"memory\":4}]}",
               "6 MiB");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"memory\":64,"
               "\"memoryReservation\":128}]}",
               "memoryReservation");
    EXPECT_ERR("{\"networkMode\":\"nat\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":"
               "\"x\"}]}",
               "networkMode");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"a\","
               "\"image\":\"y\"}]}",
               "used twice");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"essential\":false}]}",
               "essential");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"ulimits\":[{\"name\":"
               "\"bogus\",\"softLimit\":1,\"hardLimit\":1}]}]}",
               "bogus");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"ulimits\":[{\"name\":"
               "\"nofile\",\"softLimit\":10,\"hardLimit\":1}]}]}",
               "softLimit");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"portMappings\":[{"
               "\"containerPort\":70000}]}]}",
               "containerPort");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"portMappings\":[{"
               "\"containerPort\":80,\"protocol\":\"sctp\"}]}]}",
               "sctp");
    EXPECT_ERR("{\"networkMode\":\"host\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":"
               "\"x\",\"portMappings\":[{\"containerPort\":80}]}]}",
               "network mode host");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"environment\":[{"
               "\"name\":\"A=B\",\"value\":\"1\"}]}]}",
               "variable name");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"workingDirectory\":"
               "\"rel\"}]}",
               "absolute");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"healthCheck\":{"
               "\"command\":[\"sh\",\"x\"]}}]}",
               "CMD");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"healthCheck\":{"
               "\"command\":[\"CMD\",\"x\"],\"interval\":1}}]}",
               "interval");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"dependsOn\":[{"
               "\"containerName\":\"b\",\"condition\":\"START\"}]}]}",
               "no container 'b'");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"dependsOn\":[{"
               "\"containerName\":\"a\",\"condition\":\"START\"}]}]}",
               "itself");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"dependsOn\":[{"
               "\"containerName\":\"b\",\"condition\":\"START\"}]},{\"name\":\"b\",\"image\":\"y\","
               "\"dependsOn\":[{\"containerName\":\"a\",\"condition\":\"COMPLETE\"}]}]}",
               "cycle");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"dependsOn\":[{"
               "\"containerName\":\"b\",\"condition\":\"HEALTHY\"}]},{\"name\":\"b\",\"image\":"
               "\"y\"}]}",
               "healthCheck");
    EXPECT_ERR("{\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\",\"dependsOn\":[{"
               "\"containerName\":\"b\",\"condition\":\"SOMETIME\"}]},{\"name\":\"b\",\"image\":"
               "\"y\"}]}",
               "SOMETIME");
    EXPECT_ERR("{\"cpu\":\"lots\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\"}]}",
               "cpu");
}

Test(agent_taskdef, ulimit_names)
{
    cr_assert_eq(agent_ulimit_from_name("nofile"), RLIMIT_NOFILE);
    cr_assert_eq(agent_ulimit_from_name("nproc"), RLIMIT_NPROC);
    cr_assert_eq(agent_ulimit_from_name("NOFILE"), -1);
    cr_assert_str_eq(agent_dep_condition_name(AGENT_DEP_SUCCESS), "SUCCESS");
}
