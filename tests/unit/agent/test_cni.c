/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for CNI config generation, plugin confs, modes and the host port pool. */
#include <criterion/criterion.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/cni.h"

static const struct agent_cni_config cfg = {
    .plugin_dir = "/usr/lib/cni",
    .network = "skiff",
    .bridge = "skiff0",
    .subnet = "10.213.0.0/16",
    .ipam_dir = "/var/lib/skiff/ipam",
    .cache_dir = "/var/lib/skiff/cni",
    .portmap = true,
};

Test(agent_cni, modes)
{
    cr_assert_eq(agent_net_mode_from_name("awsvpc"), AGENT_NET_AWSVPC);
    cr_assert_eq(agent_net_mode_from_name("bridge"), AGENT_NET_BRIDGE);
    cr_assert_eq(agent_net_mode_from_name("host"), AGENT_NET_HOST);
    cr_assert_eq(agent_net_mode_from_name("none"), AGENT_NET_NONE);
    cr_assert_eq(agent_net_mode_from_name("nat"), -1);
    cr_assert_str_eq(agent_net_mode_name(AGENT_NET_AWSVPC), "awsvpc");
    cr_assert_not(agent_net_mode_has_netns(AGENT_NET_HOST));
    cr_assert(agent_net_mode_has_netns(AGENT_NET_NONE));
}

Test(agent_cni, config_validation)
{
    struct agent_cni_config c = cfg;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_cni_config_validate(&c, NULL), 0);
    c.bridge = "a-very-long-bridge-name";
    cr_assert_eq(agent_cni_config_validate(&c, &err), -1);
    cr_assert(strstr(err->msg, "bridge"));
    cm_error_free(&err);
    c = cfg;
    c.bridge = "br;rm";
    cr_assert_eq(agent_cni_config_validate(&c, NULL), -1);
    const char *bad_subnets[] = {"10.0.0.0",  "10.0.0.0/33", "10.0.0.0/31", "fd00::/64",
                                 "10.0.0/16", "10.0.0.0/x",  "10.0.0.0/"};
    for (size_t i = 0; i < sizeof bad_subnets / sizeof *bad_subnets; i++) {
        c = cfg;
        c.subnet = bad_subnets[i];
        cr_assert_eq(agent_cni_config_validate(&c, &err), -1, "%s", bad_subnets[i]);
        cm_error_free(&err);
    }
    c = cfg;
    c.ipam_dir = "relative";
    cr_assert_eq(agent_cni_config_validate(&c, NULL), -1);
}

Test(agent_cni, bridge_conflist_has_bridge_then_portmap)
{
    json_auto_t *l = agent_cni_conflist(&cfg, AGENT_NET_BRIDGE);
    json_t *plugins = json_object_get(l, "plugins");
    json_t *br = json_array_get(plugins, 0), *pm = json_array_get(plugins, 1);
    json_t *ipam = json_object_get(br, "ipam");

    cr_assert_str_eq(json_string_value(json_object_get(l, "cniVersion")), "1.0.0");
    cr_assert_str_eq(json_string_value(json_object_get(l, "name")), "skiff");
    cr_assert_eq(json_array_size(plugins), 2);
    cr_assert_str_eq(json_string_value(json_object_get(br, "type")), "bridge");
    cr_assert_str_eq(json_string_value(json_object_get(br, "bridge")), "skiff0");
    cr_assert(json_is_true(json_object_get(br, "isGateway")));
    cr_assert(json_is_true(json_object_get(br, "ipMasq")));
    cr_assert_str_eq(json_string_value(json_object_get(ipam, "type")), "host-local");
    cr_assert_str_eq(json_string_value(json_object_get(ipam, "dataDir")), "/var/lib/skiff/ipam");
    cr_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_array_get(json_object_get(ipam, "ranges"), 0), 0), "subnet")),
        "10.213.0.0/16");
    cr_assert_str_eq(json_string_value(json_object_get(pm, "type")), "portmap");
    cr_assert(json_is_true(json_object_get(json_object_get(pm, "capabilities"), "portMappings")));
}

Test(agent_cni, bridge_conflist_without_portmap_when_the_agent_maps_ports)
{
    struct agent_cni_config c = cfg;
    json_auto_t *l = NULL;
    json_t *plugins;

    c.portmap = false;
    l = agent_cni_conflist(&c, AGENT_NET_BRIDGE);
    plugins = json_object_get(l, "plugins");
    cr_assert_eq(json_array_size(plugins), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(plugins, 0), "type")),
                     "bridge");
}

Test(agent_cni, awsvpc_conflist_has_no_portmap)
{
    json_auto_t *l = agent_cni_conflist(&cfg, AGENT_NET_AWSVPC);
    json_t *plugins = json_object_get(l, "plugins");

    cr_assert_eq(json_array_size(plugins), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(plugins, 0), "type")),
                     "bridge");
}

Test(agent_cni, plugin_conf_chains_prev_result_and_capabilities)
{
    json_auto_t *l = agent_cni_conflist(&cfg, AGENT_NET_BRIDGE);
    struct agent_port_mapping pm[] = {{.container_port = 80, .host_port = 49153},
                                      {.container_port = 53, .host_port = 5353, .udp = true}};
    json_auto_t *rc = agent_cni_runtime_config(pm, 2);
    json_auto_t *prev = json_pack("{s:s}", "cniVersion", "1.0.0");
    json_auto_t *c0 = agent_cni_plugin_conf(l, 0, NULL, rc);
    json_auto_t *c1 = agent_cni_plugin_conf(l, 1, prev, rc);
    json_t *maps;

    /* The bridge did not ask for portMappings: it gets no runtimeConfig. */
    cr_assert_null(json_object_get(c0, "runtimeConfig"));
    cr_assert_null(json_object_get(c0, "prevResult"));
    cr_assert_str_eq(json_string_value(json_object_get(c0, "name")), "skiff");
    cr_assert_str_eq(json_string_value(json_object_get(c0, "cniVersion")), "1.0.0");
    cr_assert_eq(json_object_get(c1, "prevResult"), prev);
    maps = json_object_get(json_object_get(c1, "runtimeConfig"), "portMappings");
    cr_assert_eq(json_array_size(maps), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(maps, 0), "hostPort")), 49153);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(maps, 0), "containerPort")), 80);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(maps, 1), "protocol")),
                     "udp");
    /* The list itself is not modified. */
    cr_assert_null(json_object_get(json_array_get(json_object_get(l, "plugins"), 1), "name"));
}

Test(agent_cni, add_rejects_bad_input_before_exec)
{
    struct agent_port_mapping pm = {.container_port = 80, .host_port = 0};
    struct agent_port_mapping ok = {.container_port = 80, .host_port = 8080};
    struct cm_error *err = NULL;

    cr_assert_eq(agent_cni_add(&cfg, AGENT_NET_BRIDGE, "t1", "/x", &pm, 1, NULL, &err), -1);
    cr_assert(strstr(err->msg, "not resolved"));
    cm_error_free(&err);
    cr_assert_eq(agent_cni_add(&cfg, AGENT_NET_AWSVPC, "t1", "/x", &ok, 1, NULL, &err), -1);
    cr_assert(strstr(err->msg, "bridge"));
    cm_error_free(&err);
    cr_assert_eq(agent_cni_add(&cfg, AGENT_NET_BRIDGE, "../t", "/x", NULL, 0, NULL, &err), -1);
    cm_error_free(&err);
    /* host mode: nothing to do. */
    cr_assert_eq(agent_cni_add(&cfg, AGENT_NET_HOST, "t1", NULL, NULL, 0, NULL, NULL), 0);
}

Test(agent_cni, exec_reports_missing_plugin)
{
    json_auto_t *conf = json_object();
    struct cm_error *err = NULL;

    cr_assert_eq(
        agent_cni_exec("/nonexistent", "bridge", "ADD", "t", "/x", "eth0", conf, NULL, &err), -1);
    cr_assert(strstr(err->msg, "/nonexistent/bridge"));
    cm_error_free(&err);
    cr_assert_eq(
        agent_cni_exec("/usr/lib/cni", "../bin/sh", "ADD", "t", "/x", "eth0", conf, NULL, &err),
        -1);
    cm_error_free(&err);
}

Test(agent_cni, port_pool_round_robin_and_reuse)
{
    struct agent_port_pool p;
    struct agent_port_mapping pm[3] = {
        {.container_port = 1}, {.container_port = 2}, {.container_port = 3, .host_port = 8080}};

    agent_port_pool_init(&p, 40000, 40003, false);
    cr_assert_eq(agent_port_pool_assign(&p, pm, 3, NULL), 0);
    cr_assert_eq(pm[0].host_port, 40000);
    cr_assert_eq(pm[1].host_port, 40001);
    cr_assert_eq(pm[2].host_port, 8080);
    cr_assert(agent_port_pool_is_used(&p, 8080));
    agent_port_pool_release(&p, 40000);
    pm[0].host_port = 0;
    /* Round robin: next comes 40002, then 40003, then the freed 40000. */
    cr_assert_eq(agent_port_pool_assign(&p, pm, 1, NULL), 0);
    cr_assert_eq(pm[0].host_port, 40002);
    pm[0].host_port = 0;
    cr_assert_eq(agent_port_pool_assign(&p, pm, 1, NULL), 0);
    cr_assert_eq(pm[0].host_port, 40003);
    pm[0].host_port = 0;
    cr_assert_eq(agent_port_pool_assign(&p, pm, 1, NULL), 0);
    cr_assert_eq(pm[0].host_port, 40000);
}

Test(agent_cni, port_pool_all_or_nothing)
{
    struct agent_port_pool p;
    struct agent_port_mapping pm[3] = {
        {.container_port = 1}, {.container_port = 2, .host_port = 9000}, {.container_port = 3}};
    struct cm_error *err = NULL;

    agent_port_pool_init(&p, 41000, 41001, false);
    cr_assert_eq(agent_port_pool_reserve(&p, 41001, NULL), 0);
    /* Only 41000 is left, the third mapping finds nothing. */
    cr_assert_eq(agent_port_pool_assign(&p, pm, 3, &err), -1);
    cr_assert_eq(err->code, EADDRINUSE);
    cm_error_free(&err);
    cr_assert_not(agent_port_pool_is_used(&p, 41000));
    cr_assert_not(agent_port_pool_is_used(&p, 9000));
    cr_assert(agent_port_pool_is_used(&p, 41001));
    cr_assert_eq(pm[0].host_port, 0);
    cr_assert_eq(pm[1].host_port, 9000);
    /* An explicit port already taken is EADDRINUSE. */
    cr_assert_eq(agent_port_pool_reserve(&p, 41001, &err), -1);
    cr_assert_eq(err->code, EADDRINUSE);
    cm_error_free(&err);
}

Test(agent_cni, port_pool_probe_skips_bound_port)
{
    struct agent_port_pool p;
    struct agent_port_mapping pm = {.container_port = 1};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    uint16_t taken;

    /* Bind an ephemeral port, then offer a pool that starts with it. */
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    taken = ntohs(sa.sin_port);
    cr_assert_lt(taken, 65535 - 64);
    /* Other ports of the range may be taken by others on this host too. */
    agent_port_pool_init(&p, taken, (uint16_t)(taken + 64), true);
    cr_assert_eq(agent_port_pool_assign(&p, &pm, 1, NULL), 0);
    cr_assert_gt(pm.host_port, taken);
    close(fd);
}
