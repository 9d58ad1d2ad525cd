/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's own host port mapper (agent/nat.c) against the kernel, inside
 * a network (and mount) namespace each test makes for itself: the table,
 * the bridge, the veths and netns mounts vanish with the test process,
 * whatever happens. A "container" netns is attached to the bridge by the
 * real CNI bridge plugin (as the agent does, without portmap) and serves a
 * one-line TCP answer; the mapping must forward from the host (localhost and
 * its addresses), from a netns outside the bridge and from another container
 * (hairpin), and stop forwarding once removed. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "agent/cni.h"
#include "agent/nat.h"
#include "cni_host.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

#define BRIDGE "ports-br0"
#define SUBNET "10.232.7.0/24"
#define GATEWAY "10.232.7.1"

static struct cni_host host;
static pid_t children[4];
static size_t n_children;

static void
setup(void)
{
    cni_host_setup(
        &host, "ports-nat",
        (struct agent_cni_config){
            .network = "portsnet", .bridge = BRIDGE, .subnet = SUBNET, .portmap = false});
}

static void
teardown(void)
{
    for (size_t i = 0; i < n_children; i++) {
        kill(children[i], SIGKILL);
        waitpid(children[i], NULL, 0);
    }
    n_children = 0;
    cni_host_teardown(&host);
}

TestSuite(agent_nat_it, .init = setup, .fini = teardown, .timeout = 60);

/* A TCP server on 0.0.0.0:port inside netns answering "hi\n". */
static void
start_server(const char *netns, uint16_t port)
{
    children[n_children++] = cni_host_server(netns, SOCK_STREAM, port);
}

/* Connects to addr:port from our netns (netns NULL) or another one; true
 * when "hi" came back. */
static bool
reaches(const char *netns, const char *addr, uint16_t port)
{
    pid_t pid = fork();
    int status;

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        struct timeval tv = {.tv_sec = 2};
        char buf[8] = {0};
        int s;
        if (netns) {
            int nfd = open(netns, O_RDONLY);
            if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0)
                _exit(10);
        }
        s = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        inet_pton(AF_INET, addr, &sa.sin_addr);
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
            _exit(1);
        if (read(s, buf, sizeof buf - 1) != 3 || strcmp(buf, "hi\n") != 0)
            _exit(2);
        _exit(0);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A netns attached to the bridge by the CNI bridge plugin; *ret_ip its address. */
static char *
attach(const char *name, char **ret_ip)
{
    char *ns = NULL;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_netns_create(host.nsdir, name, &ns, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(agent_cni_add(&host.cfg, AGENT_NET_BRIDGE, name, ns, NULL, 0, ret_ip, &err), 0,
                 "%s", err ? err->msg : "");
    cr_assert_not_null(*ret_ip);
    return ns;
}

/* A netns outside the bridge: a veth to our netns, 10.232.8.2 <-> .1. ip(8)
 * moves a link into a netns by name or pid: a child sits in it meanwhile. */
static char *
outsider(void)
{
    char *ns = NULL;
    char cmd[512];
    int sync[2];
    char c;
    pid_t holder;

    cr_assert_eq(agent_netns_create(host.nsdir, "ports-client", &ns, NULL), 0);
    cr_assert_eq(system("ip link add ports-v0 type veth peer name ports-v1 && "
                        "ip addr add 10.232.8.1/24 dev ports-v0 && ip link set ports-v0 up"),
                 0);
    cr_assert_eq(pipe(sync), 0);
    holder = fork();
    cr_assert_geq(holder, 0);
    if (holder == 0) {
        int nfd = open(ns, O_RDONLY);
        if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0)
            _exit(10);
        if (write(sync[1], "s", 1) != 1)
            _exit(11);
        pause();
        _exit(0);
    }
    children[n_children++] = holder;
    close(sync[1]);
    cr_assert_eq(read(sync[0], &c, 1), 1);
    close(sync[0]);
    snprintf(cmd, sizeof cmd,
             "ip link set ports-v1 netns %d && nsenter --net=%s sh -c '"
             "ip addr add 10.232.8.2/24 dev ports-v1 && ip link set ports-v1 up && "
             "ip route add default via 10.232.8.1'",
             (int)holder, ns);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    return ns;
}

static struct agent_nat_entry
entry(int proto, uint16_t hp, const char *ip, uint16_t cp)
{
    struct agent_nat_entry e = {.proto = (uint8_t)proto, .host_port = hp, .container_port = cp};
    cr_assert_eq(inet_pton(AF_INET, ip, &e.addr), 1);
    return e;
}

static size_t
count(struct agent_nat *nat)
{
    cleanup_free struct agent_nat_entry *v = NULL;
    size_t n = 99;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_nat_list(nat, &v, &n, &err), 0, "%s", err ? err->msg : "");
    return n;
}

Test(agent_nat_it, forwards_from_host_outside_and_hairpin_until_removed)
{
    cleanup_free char *ip = NULL;
    cleanup_free char *ip2 = NULL;
    cleanup_free char *ns = attach("ports-c1", &ip);
    cleanup_free char *ns2 = attach("ports-c2", &ip2);
    cleanup_free char *client = outsider();
    struct agent_nat *nat;
    struct agent_nat_entry e;
    struct cm_error *err = NULL;

    nat = agent_nat_open(BRIDGE, SUBNET, &err);
    cr_assert_not_null(nat, "%s", err ? err->msg : "");
    cr_assert_eq(agent_nat_setup(nat, &err), 0, "%s", err ? err->msg : "");
    start_server(ns, 8080);
    e = entry(IPPROTO_TCP, 18210, ip, 8080);
    cr_assert_not(reaches(NULL, "127.0.0.1", 18210), "forwarding before the mapping");
    cr_assert_eq(agent_nat_add(nat, &e, 1, &err), 0, "%s", err ? err->msg : "");

    cr_assert(reaches(NULL, "127.0.0.1", 18210), "localhost");
    cr_assert(reaches(NULL, GATEWAY, 18210), "the host's bridge address");
    cr_assert(reaches(NULL, "10.232.8.1", 18210), "the host's other address");
    cr_assert(reaches(client, "10.232.8.1", 18210), "from a netns outside the bridge");
    cr_assert(reaches(ns2, GATEWAY, 18210), "from another container (hairpin)");
    cr_assert(reaches(ns, GATEWAY, 18210), "from the container itself (hairpin)");
    /* Only the mapped protocol and port, only to local addresses. */
    cr_assert_not(reaches(NULL, "127.0.0.1", 18211));
    cr_assert_not(reaches(client, "10.232.7.77", 18210), "DNAT of traffic to other hosts");

    cr_assert_eq(agent_nat_remove(nat, &e, 1, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(count(nat), 0);
    cr_assert_not(reaches(NULL, "127.0.0.1", 18210), "forwarding after removal");
    cr_assert_not(reaches(client, "10.232.8.1", 18210), "forwarding after removal (outside)");
    /* Removing again (a release repeated after a restart) is fine. */
    cr_assert_eq(agent_nat_remove(nat, &e, 1, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(agent_nat_destroy(nat, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(agent_nat_destroy(nat, &err), 0, "%s", err ? err->msg : "");
    agent_nat_free(nat);
    agent_cni_del(&host.cfg, AGENT_NET_BRIDGE, "ports-c1", ns, NULL);
    agent_cni_del(&host.cfg, AGENT_NET_BRIDGE, "ports-c2", ns2, NULL);
}

Test(agent_nat_it, setup_again_keeps_the_mappings)
{
    cleanup_free char *ip = NULL;
    cleanup_free char *ns = attach("ports-c1", &ip);
    struct agent_nat *nat = agent_nat_open(BRIDGE, SUBNET, NULL);
    struct agent_nat *nat2 = agent_nat_open(BRIDGE, SUBNET, NULL);
    struct agent_nat_entry e = entry(IPPROTO_TCP, 18212, ip, 8080);
    struct cm_error *err = NULL;

    cr_assert_eq(count(nat), 0, "no table yet: nothing mapped");
    cr_assert_eq(agent_nat_setup(nat, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(agent_nat_add(nat, &e, 1, &err), 0, "%s", err ? err->msg : "");
    start_server(ns, 8080);
    /* A restarted agent (another socket) sets the table up again. */
    cr_assert_eq(agent_nat_setup(nat2, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(count(nat2), 1);
    cr_assert(reaches(NULL, "127.0.0.1", 18212));
    /* Adding the same mapping again is harmless. */
    cr_assert_eq(agent_nat_add(nat2, &e, 1, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(count(nat2), 1);
    agent_nat_free(nat);
    agent_nat_free(nat2);
    agent_cni_del(&host.cfg, AGENT_NET_BRIDGE, "ports-c1", ns, NULL);
}

Test(agent_nat_it, add_replaces_a_stale_element_and_reconcile_converges)
{
    struct agent_nat *nat = agent_nat_open(BRIDGE, SUBNET, NULL);
    struct agent_nat_entry stale = entry(IPPROTO_TCP, 18213, "10.232.7.50", 80);
    struct agent_nat_entry fresh = entry(IPPROTO_TCP, 18213, "10.232.7.51", 80);
    struct agent_nat_entry other = entry(IPPROTO_UDP, 18213, "10.232.7.52", 53);
    struct agent_nat_entry dup[] = {fresh, fresh};
    struct agent_nat_entry want[] = {other, entry(IPPROTO_TCP, 18214, "10.232.7.53", 80)};
    cleanup_free struct agent_nat_entry *v = NULL;
    size_t n = 0, removed = 9, added = 9;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_nat_setup(nat, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(agent_nat_add(nat, &stale, 1, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(agent_nat_add(nat, &other, 1, &err), 0, "%s", err ? err->msg : "");
    /* Same key, other container: replaced in one go. */
    cr_assert_eq(agent_nat_add(nat, &fresh, 1, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(agent_nat_list(nat, &v, &n, NULL), 0);
    cr_assert_eq(n, 2);
    for (size_t i = 0; i < n; i++)
        if (v[i].proto == IPPROTO_TCP)
            cr_assert_eq(v[i].addr, fresh.addr);
    /* Hostile input never reaches the kernel. */
    cr_assert_eq(agent_nat_add(nat, dup, 2, &err), -1);
    cr_assert_eq(err->code, EADDRINUSE);
    cm_error_free(&err);
    /* A restart: the map must hold exactly what the adopted tasks own. */
    cr_assert_eq(agent_nat_reconcile(nat, want, 2, &removed, &added, &err), 0, "%s",
                 err ? err->msg : "");
    cr_assert_eq(removed, 1, "tcp 18213 belongs to no task");
    cr_assert_eq(added, 1, "tcp 18214 was missing");
    cr_assert_eq(count(nat), 2);
    cr_assert_eq(agent_nat_reconcile(nat, want, 2, &removed, &added, NULL), 0);
    cr_assert_eq(removed + added, 0, "a second reconcile changes nothing");
    cr_assert_eq(agent_nat_reconcile(nat, NULL, 0, &removed, &added, NULL), 0);
    cr_assert_eq(removed, 2);
    cr_assert_eq(count(nat), 0);
    agent_nat_free(nat);
}

/* A UDP echo server on 0.0.0.0:port inside netns. */
static void
start_udp_echo(const char *netns, uint16_t port)
{
    children[n_children++] = cni_host_server(netns, SOCK_DGRAM, port);
}

/* One datagram from 127.0.0.1:src to 127.0.0.1:port; true when echoed. */
static bool
udp_echoes(int s, uint16_t port)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    char buf[16] = {0};

    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (sendto(s, "ping", 4, 0, (struct sockaddr *)&to, sizeof to) != 4)
        return false;
    return recv(s, buf, sizeof buf, 0) == 4 && memcmp(buf, "ping", 4) == 0;
}

/* A UDP flow that reached the host port before it was mapped keeps its
 * conntrack entry (to the host itself): mapping the port deletes it, so the
 * same client's next datagram goes to the container. */
Test(agent_nat_it, udp_flow_from_before_the_mapping_follows_it)
{
    cleanup_free char *ip = NULL;
    cleanup_free char *ns = attach("ports-c1", &ip);
    struct agent_nat *nat = agent_nat_open(BRIDGE, SUBNET, NULL);
    struct agent_nat_entry e = entry(IPPROTO_UDP, 18216, ip, 5353);
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = htons(18217)};
    struct timeval tv = {.tv_sec = 1};
    cleanup_close int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct cm_error *err = NULL;

    inet_pton(AF_INET, "127.0.0.1", &src.sin_addr);
    cr_assert_eq(bind(s, (struct sockaddr *)&src, sizeof src), 0);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    start_udp_echo(ns, 5353);
    cr_assert_eq(agent_nat_setup(nat, &err), 0, "%s", err ? err->msg : "");
    cr_assert_not(udp_echoes(s, 18216), "echoed before the mapping");
    cr_assert_eq(agent_nat_add(nat, &e, 1, &err), 0, "%s", err ? err->msg : "");
    cr_assert(udp_echoes(s, 18216), "the flow still follows its conntrack entry from before");
    agent_nat_free(nat);
    agent_cni_del(&host.cfg, AGENT_NET_BRIDGE, "ports-c1", ns, NULL);
}

/* A table of ours from another version (a map of another type) is made anew. */
Test(agent_nat_it, incompatible_table_is_made_anew)
{
    char buf[8192];
    struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
    struct nftnl_table *t = nftnl_table_alloc();
    struct nftnl_set *s = nftnl_set_alloc();
    struct agent_nat *nat = agent_nat_open(BRIDGE, SUBNET, NULL);
    struct agent_nat_entry e = entry(IPPROTO_TCP, 18215, "10.232.7.60", 80);
    struct nlmsghdr *nlh;
    size_t len = 0;
    struct cm_error *err = NULL;
    cleanup_free char *table = agent_nat_table_name(BRIDGE);

    cr_assert_not_null(nl);
    cr_assert_eq(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
    nlh = nftnl_batch_begin(buf, 1);
    len += nlh->nlmsg_len;
    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
    nlh = nftnl_nlmsg_build_hdr(buf + len, NFT_MSG_NEWTABLE, NFPROTO_IPV4, NLM_F_CREATE, 2);
    nftnl_table_nlmsg_build_payload(nlh, t);
    len += nlh->nlmsg_len;
    nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(s, NFTNL_SET_NAME, AGENT_NAT_MAP);
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
    nftnl_set_set_u32(s, NFTNL_SET_ID, 1);
    nlh = nftnl_nlmsg_build_hdr(buf + len, NFT_MSG_NEWSET, NFPROTO_IPV4, NLM_F_CREATE, 3);
    nftnl_set_nlmsg_build_payload(nlh, s);
    len += nlh->nlmsg_len;
    nlh = nftnl_batch_end(buf + len, 4);
    len += nlh->nlmsg_len;
    cr_assert_geq(mnl_socket_sendto(nl, buf, len), 0);
    nftnl_table_free(t);
    nftnl_set_free(s);
    mnl_socket_close(nl);

    cr_assert_eq(agent_nat_setup(nat, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(agent_nat_add(nat, &e, 1, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(count(nat), 1);
    agent_nat_free(nat);
}
