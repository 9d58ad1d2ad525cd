/* SPDX-License-Identifier: Apache-2.0 */
/* skiffd: the ECS-compatible control plane (thin main over the scheduler library). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/config.h"
#include "cm/log.h"
#include "sched/daemon.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: skiffd --listen HOST:PORT --state DIR [options]\n"
               "  --config FILE            JSON settings (docs/config.md); flags override them\n"
               "  --listen HOST:PORT       API and agent endpoint (default 127.0.0.1:8100)\n"
               "  --state DIR              state directory (SQLite store, credentials)\n"
               "  --region NAME            region used in ARNs (default us-east-1)\n"
               "  --heartbeat-grace MS     agent silence before DISCONNECTED (default 30000)\n"
               "  --task-grace MS          then tasks are replaced after (default 60000)\n"
               "  --poll-timeout MS        agent long-poll timeout (default 20000)\n"
               "  --tick MS                periodic scheduling pass (default 1000)\n"
               "  --stopped-retention MS   STOPPED tasks stay describable (default 3600000)\n"
               "  --tls-cert FILE          serve HTTPS with this PEM certificate (chain)...\n"
               "  --tls-key FILE           ...and this PEM private key (default: plain HTTP)\n"
               "  --log-json               JSON log lines\n"
               "  --debug                  debug logging\n");
}

static uint64_t
parse_ms(const char *s, const char *opt)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v == 0 || v > 86400000ULL) {
        fprintf(stderr, "skiffd: %s: expected milliseconds (1..86400000), got '%s'\n", opt, s);
        exit(2);
    }
    return v;
}

/* The config file's keys: the long options' names in camelCase. */
static const struct cm_config_key config_keys[] = {
    {"listen", CM_CONFIG_STRING, 0, 0},
    {"state", CM_CONFIG_STRING, 0, 0},
    {"region", CM_CONFIG_STRING, 0, 0},
    {"heartbeatGraceMs", CM_CONFIG_UINT, 1, 86400000},
    {"taskGraceMs", CM_CONFIG_UINT, 1, 86400000},
    {"pollTimeoutMs", CM_CONFIG_UINT, 1, 86400000},
    {"tickMs", CM_CONFIG_UINT, 1, 86400000},
    {"tlsCert", CM_CONFIG_STRING, 0, 0},
    {"tlsKey", CM_CONFIG_STRING, 0, 0},
    {"logJson", CM_CONFIG_BOOL, 0, 0},
    {"debug", CM_CONFIG_BOOL, 0, 0},
    {NULL, CM_CONFIG_STRING, 0, 0},
};

/* Applies the config file (validated) to cfg; the strings stay owned by *ret_json. */
static int
load_config(const char *path, struct sched_daemon_config *cfg, json_t **ret_json)
{
    struct cm_error *err = NULL;
    json_t *j = NULL;
    if (cm_config_load(path, config_keys, &j, &err) < 0) {
        fprintf(stderr, "skiffd: %s\n", err->msg);
        cm_error_free(&err);
        return -1;
    }
    json_t *v;
    if ((v = json_object_get(j, "listen")))
        cfg->listen = json_string_value(v);
    if ((v = json_object_get(j, "state")))
        cfg->state_dir = json_string_value(v);
    if ((v = json_object_get(j, "region")))
        cfg->region = json_string_value(v);
    if ((v = json_object_get(j, "heartbeatGraceMs")))
        cfg->heartbeat_grace_ms = (uint64_t)json_integer_value(v);
    if ((v = json_object_get(j, "taskGraceMs")))
        cfg->task_grace_ms = (uint64_t)json_integer_value(v);
    if ((v = json_object_get(j, "pollTimeoutMs")))
        cfg->poll_timeout_ms = (uint64_t)json_integer_value(v);
    if ((v = json_object_get(j, "tickMs")))
        cfg->tick_ms = (uint64_t)json_integer_value(v);
    if ((v = json_object_get(j, "tlsCert")))
        cfg->tls_cert = json_string_value(v);
    if ((v = json_object_get(j, "tlsKey")))
        cfg->tls_key = json_string_value(v);
    if (json_is_true(json_object_get(j, "logJson")))
        cm_log_set_format(CM_LOG_JSON);
    if (json_is_true(json_object_get(j, "debug")))
        cm_log_set_level(CM_LOG_DEBUG);
    *ret_json = j;
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"state", required_argument, NULL, 's'},
        {"region", required_argument, NULL, 'r'},
        {"heartbeat-grace", required_argument, NULL, 'H'},
        {"task-grace", required_argument, NULL, 'T'},
        {"poll-timeout", required_argument, NULL, 'P'},
        {"tick", required_argument, NULL, 't'},
        {"stopped-retention", required_argument, NULL, 'R'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"log-json", no_argument, NULL, 'j'},
        {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sched_daemon_config cfg = {.listen = "127.0.0.1:8100"};
    int c;
    json_auto_t *file_cfg = NULL;

    cm_log_set_ident("skiffd");
    cm_log_set_level(CM_LOG_INFO);
    /* The file first, so that the flags parsed below override it. */
    opterr = 0; /* bad flags are reported once, by the second pass */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
        if (c == 'c' && load_config(optarg, &cfg, &file_cfg) < 0)
            return 2;
    opterr = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            break;
        case 'l':
            cfg.listen = optarg;
            break;
        case 's':
            cfg.state_dir = optarg;
            break;
        case 'r':
            cfg.region = optarg;
            break;
        case 'H':
            cfg.heartbeat_grace_ms = parse_ms(optarg, "--heartbeat-grace");
            break;
        case 'T':
            cfg.task_grace_ms = parse_ms(optarg, "--task-grace");
            break;
        case 'P':
            cfg.poll_timeout_ms = parse_ms(optarg, "--poll-timeout");
            break;
        case 't':
            cfg.tick_ms = parse_ms(optarg, "--tick");
            break;
        case 'R':
            cfg.stopped_retention_ms = parse_ms(optarg, "--stopped-retention");
            break;
        case 'C':
            cfg.tls_cert = optarg;
            break;
        case 'K':
            cfg.tls_key = optarg;
            break;
        case 'j':
            cm_log_set_format(CM_LOG_JSON);
            break;
        case 'd':
            cm_log_set_level(CM_LOG_DEBUG);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!cfg.state_dir || optind != argc) {
        usage(stderr);
        return 2;
    }
    struct cm_error *err = NULL;
    struct sched_daemon *d = sched_daemon_new(&cfg, &err);
    if (!d) {
        cm_log_error("%s", err->msg);
        cm_error_free(&err);
        return 1;
    }
    int r = sched_daemon_run(d);
    sched_daemon_free(d);
    return r;
}
