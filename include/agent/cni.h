/* SPDX-License-Identifier: Apache-2.0 */
/* Task networking through CNI plugins (Debian's containernetworking-plugins):
 * one network namespace per task (a bind-mounted file), the bridge plugin with
 * host-local IPAM, portmap for bridge-mode port mappings, loopback. The agent
 * execs the plugins the way libcni does (CNI spec 1.0: CNI_COMMAND ADD, CHECK,
 * DEL; the network config on stdin; prevResult chained through the list). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm/error.h"

#define AGENT_CNI_VERSION "1.0.0"
#define AGENT_CNI_MAX_OUTPUT (1u << 20)
#define AGENT_MAX_PORT_MAPPINGS 100

enum agent_net_mode {
    AGENT_NET_NONE = 0, /* own netns, loopback only */
    AGENT_NET_HOST,     /* the host's netns, no CNI */
    AGENT_NET_BRIDGE,   /* own netns on the bridge, host ports through portmap */
    AGENT_NET_AWSVPC,   /* own netns and address on the bridge, no host ports */
};

/* "none", "host", "bridge", "awsvpc" (ECS networkMode); -1 when unknown. */
int agent_net_mode_from_name(const char *name);
const char *agent_net_mode_name(enum agent_net_mode m);
/* Whether the mode gives the task its own network namespace. */
bool agent_net_mode_has_netns(enum agent_net_mode m);

struct agent_port_mapping {
    uint16_t container_port;
    uint16_t host_port; /* 0 = pick one from the ephemeral range */
    bool udp;           /* protocol "udp", else "tcp" */
};

struct agent_cni_config {
    const char *plugin_dir; /* CNI_PATH, e.g. /usr/lib/cni */
    const char *network;    /* network name, e.g. "skiff" */
    const char *bridge;     /* bridge device, e.g. "skiff0" (at most 15 bytes) */
    const char *subnet;     /* IPv4 CIDR handed out by host-local, e.g. "10.213.0.0/16" */
    const char *ipam_dir;   /* host-local's dataDir */
    const char *cache_dir;  /* results of ADD, needed by CHECK and DEL */
    bool portmap;           /* bridge mode maps host ports with the portmap plugin
                               (portMapper "cni"); else the agent does (agent/nat.c) */
};

/* Validates c (names, CIDR, absolute dirs). */
int agent_cni_config_validate(const struct agent_cni_config *c, struct cm_error **err);
/* The network configuration list for a mode with its own address (bridge:
 * bridge, + portmap when c->portmap; awsvpc: bridge). New reference. */
json_t *agent_cni_conflist(const struct agent_cni_config *c, enum agent_net_mode mode);
/* runtimeConfig for the port mappings (host ports must be resolved). */
json_t *agent_cni_runtime_config(const struct agent_port_mapping *pm, size_t n);
/* The stdin of plugin i of a list: its object plus name and cniVersion, the
 * previous result (NULL: none) and the runtimeConfig keys the plugin declares
 * in its capabilities. New reference. */
json_t *agent_cni_plugin_conf(json_t *conflist, size_t i, json_t *prev_result,
                              json_t *runtime_config);

/* Execs PLUGIN_DIR/TYPE with the CNI environment and conf on stdin. For ADD
 * and the like *ret_result gets the parsed stdout (NULL when empty). A
 * plugin error ({"code","msg","details"}) becomes the message. */
int agent_cni_exec(const char *plugin_dir, const char *type, const char *command,
                   const char *container_id, const char *netns, const char *ifname, json_t *conf,
                   json_t **ret_result, struct cm_error **err);

/* Attaches the task's netns (made by agent_netns_create, which has brought
 * its loopback up already): for bridge/awsvpc the network list with the port
 * mappings (given to portmap when c->portmap, else left to the caller);
 * caches the result and whether portmap ran, so that DEL undoes what ADD did
 * whatever the configuration says by then. *ret_ip (may be NULL) gets
 * the task's IPv4 address without prefix, NULL for none. On failure whatever
 * was added is removed again. */
int agent_cni_add(const struct agent_cni_config *c, enum agent_net_mode mode, const char *task_id,
                  const char *netns, const struct agent_port_mapping *pm, size_t n, char **ret_ip,
                  struct cm_error **err);
/* Port mappings for an attachment made ahead of time in awsvpc mode (a
 * pre-warmed netns, id being its CNI container id): portmap ADD chained on
 * the cached bridge result; the cache entry becomes a bridge one, so that
 * agent_cni_del(BRIDGE, id, ...) undoes both. */
int agent_cni_add_ports(const struct agent_cni_config *c, const char *id, const char *netns,
                        const struct agent_port_mapping *pm, size_t n, struct cm_error **err);
/* Verifies the attachment against the cached result (CHECK). */
int agent_cni_check(const struct agent_cni_config *c, enum agent_net_mode mode, const char *task_id,
                    const char *netns, struct cm_error **err);
/* Detaches (DEL in reverse order, best effort: every plugin is run, the first
 * error is returned) and removes the cache entry. Safe to repeat. */
int agent_cni_del(const struct agent_cni_config *c, enum agent_net_mode mode, const char *task_id,
                  const char *netns, struct cm_error **err);

/* Network namespaces as files (like `ip netns`): DIR/NAME bind-mounts a new
 * netns with its loopback up. Created by a short-lived child so the caller's
 * own netns is untouched. */
int agent_netns_create(const char *dir, const char *name, char **ret_path, struct cm_error **err);
/* Unmounts and removes it; a missing one is not an error. */
int agent_netns_delete(const char *path, struct cm_error **err);

/* Host ports: an ephemeral range for hostPort 0 and a record of what is taken. */
struct agent_port_pool {
    uint16_t lo, hi, next;
    bool probe; /* also check with bind() that nobody else holds the port */
    uint8_t used[65536 / 8];
};

void agent_port_pool_init(struct agent_port_pool *p, uint16_t lo, uint16_t hi, bool probe);
/* Marks an explicit host port taken; EADDRINUSE when it already is. */
int agent_port_pool_reserve(struct agent_port_pool *p, uint16_t port, struct cm_error **err);
void agent_port_pool_release(struct agent_port_pool *p, uint16_t port);
bool agent_port_pool_is_used(const struct agent_port_pool *p, uint16_t port);
/* Resolves the mappings in place: explicit host ports are reserved, 0 gets the
 * next free port of the range (round robin). All or nothing. */
int agent_port_pool_assign(struct agent_port_pool *p, struct agent_port_mapping *pm, size_t n,
                           struct cm_error **err);
