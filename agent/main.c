/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-agent: the per-host daemon (agent/daemon.c), `skiff-agent logs`
 * to read a container's logs from the state directory, and
 * `skiff-agent port-mappings` to see (or repair) the host port mappings. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "agent/daemon.h"
#include "agent/logfile.h"
#include "agent/nat.h"
#include "agent/shim.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/log.h"
#include "cm/xalloc.h"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: skiff-agent --cluster NAME --endpoint URL --join-token-file F --state DIR\n"
            "                   [--config FILE] [--ca-file PEM] [--runtime PATH] [--bridge NAME]\n"
            "                   [--subnet CIDR] [--port-range LO-HI] [--attribute K=V]...\n"
            "                   [--log-listen IPV4:PORT|off] [--log-advertise IPV4:PORT]\n"
            "                   [--port-mapper nft|cni] [--netns-pool N] [--spare-workers 0|1]\n"
            "                   (see docs/agent.md; --endpoint https://... verifies skiffd's\n"
            "                   certificate against --ca-file or the system's CAs)\n"
            "       skiff-agent logs --state DIR TASK_ID CONTAINER [--since RFC3339] [--tail N]\n"
            "       skiff-agent port-mappings [--bridge NAME] [--add|--remove "
            "PROTO:HOSTPORT:IPV4:PORT]...\n");
}

static int
cmd_logs(int argc, char **argv)
{
    const char *state = NULL, *task = NULL, *ctr = NULL;
    struct timespec since = {0};
    bool has_since = false;
    size_t tail = 0;
    struct agent_log_record *r = NULL;
    size_t n = 0;
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *path = NULL;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
            state = argv[++i];
        else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            if (agent_log_parse_time(argv[++i], &since) < 0) {
                fprintf(stderr, "skiff-agent logs: --since '%s' is not RFC 3339 UTC\n", argv[i]);
                return 2;
            }
            has_since = true;
        } else if (strcmp(argv[i], "--tail") == 0 && i + 1 < argc)
            tail = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!task)
            task = argv[i];
        else if (!ctr)
            ctr = argv[i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!state || !task || !ctr || strchr(task, '/') || strchr(ctr, '/') || task[0] == '.' ||
        ctr[0] == '.') {
        usage(stderr);
        return 2;
    }
    path = xasprintf("%s/tasks/%s/c/%s/%s", state, task, ctr, AGENT_SHIM_LOG_NAME);
    if (agent_log_read(path, AGENT_LOG_MAX_FILES_LIMIT, has_since ? &since : NULL, tail, &r, &n,
                       &err) < 0) {
        fprintf(stderr, "skiff-agent logs: %s\n", err->msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        fputs(r[i].log, r[i].stream == AGENT_LOG_STDERR ? stderr : stdout);
    agent_log_records_free(r, n);
    return 0;
}

/* The host port mappings in the agent's nftables table (portMapper "nft"),
 * as `nft list map ip skiff-BRIDGE ports` would show them without nft
 * installed; --add and --remove change them (repairs, and the tests). */
static int
cmd_port_mappings(int argc, char **argv)
{
    const char *bridge = "skiff0";
    cleanup_free struct agent_nat_entry *add = xcalloc((size_t)argc, sizeof *add);
    cleanup_free struct agent_nat_entry *del = xcalloc((size_t)argc, sizeof *del);
    cleanup_free struct agent_nat_entry *cur = NULL;
    size_t n_add = 0, n_del = 0, n_cur = 0;
    struct agent_nat *nat;
    cleanup_error struct cm_error *err = NULL;
    int r = 0;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--bridge") == 0 && i + 1 < argc) {
            bridge = argv[++i];
        } else if ((strcmp(argv[i], "--add") == 0 || strcmp(argv[i], "--remove") == 0) &&
                   i + 1 < argc) {
            bool is_add = argv[i][2] == 'a';
            if (agent_nat_entry_parse(argv[++i], is_add ? &add[n_add] : &del[n_del], &err) < 0) {
                fprintf(stderr, "skiff-agent port-mappings: %s\n", err->msg);
                return 2;
            }
            if (is_add)
                n_add++;
            else
                n_del++;
        } else {
            usage(stderr);
            return 2;
        }
    }
    nat = agent_nat_open(bridge, NULL, &err);
    if (!nat || (n_del && agent_nat_remove(nat, del, n_del, &err) < 0) ||
        (n_add && agent_nat_add(nat, add, n_add, &err) < 0) ||
        agent_nat_list(nat, &cur, &n_cur, &err) < 0) {
        fprintf(stderr, "skiff-agent port-mappings: %s\n", err->msg);
        r = 1;
    }
    for (size_t i = 0; r == 0 && i < n_cur; i++) {
        cleanup_free char *s = agent_nat_entry_format(&cur[i]);
        printf("%s\n", s);
    }
    agent_nat_free(nat);
    return r;
}

/* One agent per state directory: a second one would start every task twice
 * (the end-to-end test once did, through a stray process). The lock dies with
 * the process, so a kill -9 never leaves it held; shims do not inherit it. */
static int
lock_state(const char *state, struct cm_error **err)
{
    cleanup_free char *path = xasprintf("%s/agent.lock", state);
    int fd;

    if (cm_mkdir_p(state, 0700, err) < 0)
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return cm_error_errno(err, "open '%s'", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return cm_error_set(err, EBUSY, "another skiff-agent runs on state '%s'", state);
        errno = e;
        return cm_error_errno(err, "lock '%s'", path);
    }
    return fd; /* held until exit */
}

int
main(int argc, char **argv)
{
    struct agent_config cfg;
    cleanup_error struct cm_error *err = NULL;
    int r;

    cm_log_set_ident("skiff-agent");
    if (argc > 1 && strcmp(argv[1], "logs") == 0)
        return cmd_logs(argc, argv);
    if (argc > 1 && strcmp(argv[1], "port-mappings") == 0)
        return cmd_port_mappings(argc, argv);
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    agent_config_init(&cfg, argv[0]);
    if (agent_config_from_args(argc, argv, &cfg, &err) < 0 ||
        agent_config_validate(&cfg, &err) < 0) {
        fprintf(stderr, "skiff-agent: %s\n", err->msg);
        usage(stderr);
        agent_config_done(&cfg);
        return 2;
    }
    /* The runtime's state lives with ours unless told otherwise. */
    if (!cfg.runtime_root)
        cfg.runtime_root = xasprintf("%s/runtime", cfg.state_dir);
    if (lock_state(cfg.state_dir, &err) < 0) {
        fprintf(stderr, "skiff-agent: %s\n", err->msg);
        agent_config_done(&cfg);
        return 1;
    }
    cm_log_set_format(CM_LOG_JSON);
    r = agent_run(&cfg, &err);
    if (r < 0)
        cm_log_error("%s", err->msg);
    agent_config_done(&cfg);
    return r < 0 ? 1 : 0;
}
