/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-agent: configuration and the daemon. The agent registers its host
 * with skiffd, long-polls the desired state, reconciles it locally (tasks
 * started under skiff-shim, networked through CNI, sized through cgroups),
 * reports every change until skiffd has it, and re-adopts its containers
 * after a restart from what the shims recorded on disk. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cm/error.h"

#define AGENT_NETNS_POOL_MAX 64

struct agent_config {
    char *cluster;
    char *endpoint;
    char *ca_file; /* PEM CAs for an https endpoint (default: the system's) */
    char *join_token_file;
    char *state_dir;
    char *hostname;     /* default: uname nodename */
    char *runtime;      /* "builtin" (default: the runtime library inside each shim) or
                           an OCI runtime binary with runc's command line */
    char *runtime_cli;  /* binary for `exec` (health checks) when runtime is builtin;
                           default: skiff-runtime beside the agent */
    char *runtime_root; /* default: STATE/runtime */
    char *shim;         /* default: skiff-shim beside the agent */
    char *worker;       /* the slow jobs' program, default: skiff-agent-worker beside the agent */
    char *image_store;  /* default: STATE/images */
    char **insecure_registries;
    char *default_registry;
    char *cni_plugin_dir;         /* default /usr/lib/cni */
    char *bridge;                 /* default "skiff0" */
    char *subnet;                 /* default "10.213.0.0/16" */
    char *netns_dir;              /* default /run/skiff/netns */
    char *cgroup_root;            /* default "/skiff" */
    char *init_path;              /* init binary for initProcessEnabled; NULL = unsupported */
    uint16_t port_lo, port_hi;    /* hostPort 0 range, default 49153-65535 */
    uint64_t reserved_memory_mib; /* default 256 */
    json_t *attributes;           /* object of strings, may be NULL */
    uint64_t log_max_size;        /* default 10 MiB */
    unsigned log_max_files;       /* default 3 */
    unsigned retention_s;         /* stopped tasks' files kept, default 3600 */
    int64_t pids_limit;           /* per container, default 4096 */
    unsigned image_gc_percent;    /* disk use of the image store's filesystem above
                                     which unused images are removed (default 85) */
    unsigned netns_pool;          /* network namespaces kept attached to the bridge
                                     ahead of time for awsvpc/bridge tasks (default 0) */
    char *log_listen;             /* "IPv4:PORT" of the log endpoint skiffd reads
                                     (agent/logserve.c); default "127.0.0.1:0", "off" = none */
    char *log_advertise;          /* "IPv4:PORT" skiffd should use, when not the listen address */
    char *port_mapper;            /* bridge tasks' host ports: "nft" (default: the agent's own
                                     nftables table, agent/nat.c) or "cni" (the portmap plugin) */
    unsigned spare_workers;       /* idle workers kept exec'd ahead of the next job: 0
                                     (default, less memory) or 1 (faster starts under load) */
};

/* Defaults for every field (argv0 locates skiff-runtime and skiff-shim). */
void agent_config_init(struct agent_config *c, const char *argv0);
void agent_config_done(struct agent_config *c);
/* Reads a JSON config file (strict: unknown keys are errors) over c. Keys are
 * the long option names in camelCase: cluster, endpoint, caFile, joinTokenFile,
 * state, hostname, runtime, runtimeRoot, shim, worker, imageStore,
 * insecureRegistries, defaultRegistry, cniPluginDir, bridge, subnet, netnsDir,
 * cgroupRoot, initPath, portRange ("lo-hi"), reservedMemory, attributes,
 * logMaxSize, logMaxFiles, retention, pidsLimit, imageGcPercent, netnsPool,
 * logListen, logAdvertise, portMapper ("nft" or "cni"), spareWorkers (0 or 1). */
int agent_config_load(const char *path, struct agent_config *c, struct cm_error **err);
/* Command line: --config F first, then --cluster, --endpoint,
 * --join-token-file, --state, ... (the same names, dashed) override it. */
int agent_config_from_args(int argc, char **argv, struct agent_config *c, struct cm_error **err);
int agent_config_validate(const struct agent_config *c, struct cm_error **err);

/* Runs the daemon until SIGTERM/SIGINT (containers keep running). */
int agent_run(const struct agent_config *c, struct cm_error **err);
