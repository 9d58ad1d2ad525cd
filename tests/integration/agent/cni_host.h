/* SPDX-License-Identifier: Apache-2.0 */
/* A private "host" for the CNI and port mapper tests (test_cni.c,
 * test_nat.c): a fresh network and mount namespace with its loopback up, a
 * temp directory holding netns/, ipam/ and cache/, and a CNI config on the
 * test's own bridge. The bridge, rules and netns mounts vanish with the test
 * process whatever happens; cni_host_teardown detaches the netns files a
 * failed test left so that the directory can go. */
#pragma once

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/cni.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

struct cni_host {
    char dir[64];
    char *nsdir, *ipam, *cache;
    struct agent_cni_config cfg;
};

/* net names the network, bridge and subnet (and portmap); the rest is filled in. */
static inline void
cni_host_setup(struct cni_host *h, const char *prefix, struct agent_cni_config net)
{
    json_auto_t *lo =
        json_pack("{s:s, s:s, s:s}", "cniVersion", "1.0.0", "name", "lo", "type", "loopback");
    if (geteuid() != 0)
        cr_skip_test("requires root");
    if (access("/usr/lib/cni/bridge", X_OK) != 0)
        cr_skip_test("containernetworking-plugins not installed");
    cr_assert_eq(unshare(CLONE_NEWNET | CLONE_NEWNS), 0, "unshare: %m");
    cr_assert_eq(mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    snprintf(h->dir, sizeof h->dir, "/tmp/%s-XXXXXX", prefix);
    cr_assert_not_null(mkdtemp(h->dir));
    h->nsdir = xasprintf("%s/netns", h->dir);
    h->ipam = xasprintf("%s/ipam", h->dir);
    h->cache = xasprintf("%s/cache", h->dir);
    h->cfg = net;
    h->cfg.plugin_dir = "/usr/lib/cni";
    h->cfg.ipam_dir = h->ipam;
    h->cfg.cache_dir = h->cache;
    cr_assert_eq(agent_cni_exec("/usr/lib/cni", "loopback", "ADD", "host", "/proc/self/ns/net",
                                "lo", lo, NULL, NULL),
                 0);
}

static inline void
cni_host_teardown(struct cni_host *h)
{
    cleanup_dir DIR *d = h->nsdir ? opendir(h->nsdir) : NULL;
    struct dirent *de;

    while (d && (de = readdir(d)) != NULL) {
        cleanup_free char *p = xasprintf("%s/%s", h->nsdir, de->d_name);
        if (de->d_name[0] != '.')
            agent_netns_delete(p, NULL);
    }
    if (h->dir[0])
        cm_rm_rf(h->dir, NULL);
    free(h->nsdir);
    free(h->ipam);
    free(h->cache);
    *h = (struct cni_host){0};
}

/* Forks a server inside netns on 0.0.0.0:port and returns its pid once it
 * listens: SOCK_STREAM answers "hi\n" to every connection, SOCK_DGRAM echoes
 * every datagram. The caller kills it. */
static inline pid_t
cni_host_server(const char *netns, int type, uint16_t port)
{
    int sync[2];
    char c;
    pid_t pid;

    cr_assert_eq(pipe(sync), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int nfd = open(netns, O_RDONLY);
        int s, one = 1;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0)
            _exit(1);
        s = socket(AF_INET, type, 0);
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            (type == SOCK_STREAM && listen(s, 8) < 0))
            _exit(2);
        if (write(sync[1], "l", 1) != 1)
            _exit(3);
        for (;;) {
            char buf[64];
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            if (type == SOCK_STREAM) {
                int conn = accept(s, NULL, NULL);
                if (conn >= 0) {
                    if (write(conn, "hi\n", 3) != 3)
                        _exit(4);
                    close(conn);
                }
                continue;
            }
            ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (n > 0)
                sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        }
    }
    close(sync[1]);
    cr_assert_eq(read(sync[0], &c, 1), 1, "server did not start");
    close(sync[0]);
    return pid;
}
