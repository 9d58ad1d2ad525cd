/* SPDX-License-Identifier: Apache-2.0 */
/* A task's preparation (network namespace + CNI, task cgroup, images,
 * overlay rootfs, config.json per container) and image garbage collection:
 * the slow work of the agent. It runs in skiff-agent-worker, one process per
 * job, so that the agent's loop never waits for it, jobs overlap, and the
 * agent itself does not load the image libraries (libcurl, OpenSSL,
 * libarchive).
 *
 * The agent writes one JSON request on the worker's stdin and reads one JSON
 * answer from its stdout:
 *   {"op": "prepare", "cfg": {...}, "task": <skiffd's task object>,
 *    "ports": {"NAME": [[containerPort, hostPort, udp], ...]},
 *    "pool": {"id": "warm-N", "netns": PATH, "ip": IP} (optional: awsvpc/bridge
 *    tasks given a netns attached ahead of time; bridge adds its ports
 *    unless "noPorts": true)}
 *     -> {"ok": true, "netns": PATH|null, "ip": IP|null, "netMs": N, "pullMs": N,
 *         "stopSignals": {"NAME": SIGNO}}
 *   {"op": "warm", "cfg": {...}, "id": "warm-N"}   a netns attached in awsvpc
 *     mode ahead of time (NETNS_DIR/warm-N) -> {"ok": true, "netns", "ip"}
 *   {"op": "ports", "cfg": {...}, "id": "warm-N", "netns": PATH, "task": {...},
 *    "ports": {...}} -> {"ok": true}   a bridge task's host ports on its
 *     pre-warmed netns, mapped while its containers start
 *   {"op": "release", "cfg": {...}, "id": CNI_ID, "netns": PATH, "mode": M}
 *     -> {"ok": true}   a stopped task's CNI DEL and netns removal
 *   {"op": "unwarm", "cfg": {...}, "id": "warm-N", "mode": M} -> {"ok": true}
 *   {"op": "gc", "cfg": {...}, "inUse": [IMAGE, ...], "percent": P}
 *     -> {"ok": true, "removed": [NAME, ...]}
 *   any failure -> {"ok": false, "error": MESSAGE}
 * "cfg" holds stateDir, imageStore, insecureRegistries, defaultRegistry,
 * cniPluginDir, bridge, subnet, netnsDir, cgroupRoot, initPath, pidsLimit,
 * portMapper ("cni": bridge tasks' host ports through CNI's portmap plugin;
 * "nft": the agent maps them itself, agent/nat.c, and the worker leaves
 * portmap out of the network list). */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "cm/error.h"

/* Creates (or reuses) the task's cgroup `path` (the agent's cgroupRoot/TASK)
 * below the cgroup filesystem at cgroupfs ("/sys/fs/cgroup"; tests pass a fake
 * tree) with the task's CPU quota and memory limit (agent_task_cgroup_limits;
 * 0 = unset), through the runtime's cgroup layer, so v1, hybrid and v2 hosts
 * get what the runtime gives containers. The containers' cgroups are made
 * below it by the runtime. Nothing it created is left behind on failure. */
int agent_task_cgroup_setup(const char *cgroupfs, const char *path, uint32_t task_cpu,
                            uint64_t task_memory_mib, struct cm_error **err);
/* Answers one request (never NULL: failures become {"ok": false, ...}). */
json_t *agent_worker_handle(json_t *request);
