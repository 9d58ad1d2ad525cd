/* SPDX-License-Identifier: Apache-2.0 */
/* CNI networking with the real plugins, inside a network (and mount)
 * namespace each test makes for itself: the bridge, iptables rules and netns
 * mounts vanish with the test process, whatever happens. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/cni.h"
#include "cni_host.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static struct cni_host host;
static pid_t server = -1;

static void
setup(void)
{
    /* these tests cover the CNI path (portMapper "cni") */
    cni_host_setup(
        &host, "agt-cni",
        (struct agent_cni_config){
            .network = "agtnet", .bridge = "agt-br0", .subnet = "10.231.7.0/24", .portmap = true});
}

static void
teardown(void)
{
    if (server > 0) {
        kill(server, SIGKILL);
        waitpid(server, NULL, 0);
        server = -1;
    }
    cni_host_teardown(&host);
}

TestSuite(agent_cni_it, .init = setup, .fini = teardown, .timeout = 60);

/* A TCP server on port 80 inside netns: answers "hi\n". */
static void
start_server(const char *netns)
{
    server = cni_host_server(netns, SOCK_STREAM, 80);
}

/* Connects to addr:port; returns what was read (owned) or NULL. */
static char *
fetch(const char *addr, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    cleanup_close int s = socket(AF_INET, SOCK_STREAM, 0);
    char buf[16] = {0};
    ssize_t n;

    inet_pton(AF_INET, addr, &sa.sin_addr);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
        return NULL;
    n = read(s, buf, sizeof buf - 1);
    return n > 0 ? xstrdup(buf) : NULL;
}

static int
count_nat_rules_for_port(uint16_t port)
{
    char cmd[128], line[512];
    int n = 0;
    FILE *f;

    snprintf(cmd, sizeof cmd, "iptables -t nat -S 2>/dev/null | grep -c -- '--dport %u '", port);
    f = popen(cmd, "r");
    cr_assert_not_null(f);
    if (fgets(line, sizeof line, f))
        n = atoi(line);
    pclose(f);
    return n;
}

Test(agent_cni_it, netns_create_and_delete)
{
    cleanup_free char *path = NULL;
    struct statfs fs;
    struct stat a, b;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_netns_create(host.nsdir, "agt-task1", &path, &err), 0, "%s",
                 err ? err->msg : "");
    cr_assert_eq(statfs(path, &fs), 0);
    cr_assert_eq(fs.f_type, NSFS_MAGIC, "not a namespace file");
    cr_assert_eq(stat(path, &a), 0);
    cr_assert_eq(stat("/proc/self/ns/net", &b), 0);
    cr_assert_neq(a.st_ino, b.st_ino, "the task got our own netns");
    /* A second one with the same name is refused. */
    {
        cleanup_free char *p2 = NULL;
        cr_assert_eq(agent_netns_create(host.nsdir, "agt-task1", &p2, &err), -1);
        cr_assert_eq(err->code, EEXIST);
        cm_error_free(&err);
    }
    cr_assert_eq(agent_netns_delete(path, NULL), 0);
    cr_assert_neq(access(path, F_OK), 0);
    cr_assert_eq(agent_netns_delete(path, NULL), 0, "deleting twice must be fine");
}

Test(agent_cni_it, bridge_portmap_reachable_on_host_port)
{
    cleanup_free char *ns = NULL;
    cleanup_free char *ip = NULL;
    cleanup_free char *got = NULL;
    cleanup_free char *got_local = NULL;
    struct agent_port_pool pool;
    struct agent_port_mapping pm = {.container_port = 80, .host_port = 0};
    struct cm_error *err = NULL;

    agent_port_pool_init(&pool, 49153, 65535, true);
    cr_assert_eq(agent_port_pool_assign(&pool, &pm, 1, NULL), 0);
    cr_assert_geq(pm.host_port, 49153);
    cr_assert_eq(agent_netns_create(host.nsdir, "agt-t-bridge", &ns, NULL), 0);
    cr_assert_eq(agent_cni_add(&host.cfg, AGENT_NET_BRIDGE, "agt-t-bridge", ns, &pm, 1, &ip, &err),
                 0, "%s", err ? err->msg : "");
    cr_assert_not_null(ip);
    cr_assert_eq(strncmp(ip, "10.231.7.", 9), 0, "address %s outside the subnet", ip);
    cr_assert_eq(agent_cni_check(&host.cfg, AGENT_NET_BRIDGE, "agt-t-bridge", ns, &err), 0, "%s",
                 err ? err->msg : "");
    start_server(ns);
    /* Through the host port on the gateway address and on localhost. */
    got = fetch("10.231.7.1", pm.host_port);
    cr_assert_not_null(got, "host port %u not reachable", pm.host_port);
    cr_assert_str_eq(got, "hi\n");
    got_local = fetch("127.0.0.1", pm.host_port);
    cr_assert_not_null(got_local, "host port %u not reachable on 127.0.0.1", pm.host_port);
    cr_assert_gt(count_nat_rules_for_port(pm.host_port), 0);

    cr_assert_eq(agent_cni_del(&host.cfg, AGENT_NET_BRIDGE, "agt-t-bridge", ns, &err), 0, "%s",
                 err ? err->msg : "");
    cr_assert_eq(count_nat_rules_for_port(pm.host_port), 0, "DNAT rules left after DEL");
    cr_assert_null(fetch("127.0.0.1", pm.host_port));
    /* DEL again (a restarted agent repeating itself) is harmless. */
    cr_assert_eq(agent_cni_del(&host.cfg, AGENT_NET_BRIDGE, "agt-t-bridge", ns, &err), 0, "%s",
                 err ? err->msg : "");
    cr_assert_eq(agent_netns_delete(ns, NULL), 0);
}

Test(agent_cni_it, awsvpc_task_has_own_address_and_release_frees_it)
{
    cleanup_free char *ns1 = NULL;
    cleanup_free char *ns2 = NULL;
    cleanup_free char *ip1 = NULL;
    cleanup_free char *ip2 = NULL;
    cleanup_free char *got = NULL;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_netns_create(host.nsdir, "agt-t-a1", &ns1, NULL), 0);
    cr_assert_eq(agent_netns_create(host.nsdir, "agt-t-a2", &ns2, NULL), 0);
    cr_assert_eq(agent_cni_add(&host.cfg, AGENT_NET_AWSVPC, "agt-t-a1", ns1, NULL, 0, &ip1, &err),
                 0, "%s", err ? err->msg : "");
    cr_assert_eq(agent_cni_add(&host.cfg, AGENT_NET_AWSVPC, "agt-t-a2", ns2, NULL, 0, &ip2, &err),
                 0, "%s", err ? err->msg : "");
    cr_assert_str_neq(ip1, ip2);
    start_server(ns1);
    got = fetch(ip1, 80);
    cr_assert_not_null(got, "task address %s not reachable", ip1);
    cr_assert_str_eq(got, "hi\n");
    cr_assert_eq(agent_cni_del(&host.cfg, AGENT_NET_AWSVPC, "agt-t-a1", ns1, NULL), 0);
    cr_assert_eq(agent_cni_del(&host.cfg, AGENT_NET_AWSVPC, "agt-t-a2", ns2, NULL), 0);
    /* host-local released both leases. */
    {
        cleanup_free char *lease = xasprintf("%s/agtnet/%s", host.ipam, ip1);
        cr_assert_neq(access(lease, F_OK), 0, "lease %s kept after DEL", ip1);
    }
    agent_netns_delete(ns1, NULL);
    agent_netns_delete(ns2, NULL);
}

Test(agent_cni_it, none_mode_loopback_only)
{
    cleanup_free char *ns = NULL;
    cleanup_free char *ip = NULL;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_netns_create(host.nsdir, "agt-t-none", &ns, NULL), 0);
    cr_assert_eq(agent_cni_add(&host.cfg, AGENT_NET_NONE, "agt-t-none", ns, NULL, 0, &ip, &err), 0,
                 "%s", err ? err->msg : "");
    cr_assert_null(ip);
    start_server(ns);
    /* Not reachable from the host: the netns has no link but lo. */
    cr_assert_eq(agent_cni_del(&host.cfg, AGENT_NET_NONE, "agt-t-none", ns, NULL), 0);
    agent_netns_delete(ns, NULL);
}

Test(agent_cni_it, failed_add_rolls_back)
{
    cleanup_free char *ns = NULL;
    struct agent_port_mapping pm = {.container_port = 80, .host_port = 45000};
    struct agent_cni_config bad = host.cfg;
    struct cm_error *err = NULL;
    cleanup_free char *c = NULL;

    cr_assert_eq(agent_netns_create(host.nsdir, "agt-t-fail", &ns, NULL), 0);
    /* A netns path that is not a namespace: the bridge plugin fails. */
    cr_assert_eq(agent_cni_add(&bad, AGENT_NET_BRIDGE, "agt-t-fail", "/tmp", &pm, 1, NULL, &err),
                 -1);
    cr_assert_not_null(err);
    cr_assert(strstr(err->msg, "agt-t-fail") || strstr(err->msg, "loopback"), "%s", err->msg);
    cm_error_free(&err);
    c = xasprintf("%s/agt-t-fail.json", host.cache);
    cr_assert_neq(access(c, F_OK), 0, "cache entry left after a failed ADD");
    cr_assert_eq(count_nat_rules_for_port(45000), 0);
    agent_netns_delete(ns, NULL);
}
