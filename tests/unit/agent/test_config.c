/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for skiff-agent's configuration: defaults, the JSON file
 * (strict), flags overriding it, validation. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/daemon.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

static char dir[] = "/tmp/agent-cfg-XXXXXX";
static struct agent_config cfg;

static void
setup(void)
{
    strcpy(dir, "/tmp/agent-cfg-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    agent_config_init(&cfg, "/usr/bin/skiff-agent");
}

static void
teardown(void)
{
    agent_config_done(&cfg);
    cm_rm_rf(dir, NULL);
}

TestSuite(agent_config, .init = setup, .fini = teardown);

static char *
write_cfg(const char *text)
{
    char *path = xasprintf("%s/agent.json", dir);
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    cr_assert_eq(cm_write_file_atomic_at(dfd, "agent.json", text, strlen(text), 0644, NULL), 0);
    return path;
}

Test(agent_config, defaults)
{
    cr_assert_eq(cfg.port_lo, 49153);
    cr_assert_eq(cfg.port_hi, 65535);
    cr_assert_eq(cfg.reserved_memory_mib, 256);
    cr_assert_str_eq(cfg.cni_plugin_dir, "/usr/lib/cni");
    cr_assert_str_eq(cfg.cgroup_root, "/skiff");
    cr_assert_not_null(strstr(cfg.shim, "skiff-shim"));
    cr_assert_str_eq(cfg.runtime, "builtin");
    cr_assert_not_null(strstr(cfg.runtime_cli, "skiff-runtime"));
    cr_assert_not_null(cfg.hostname);
}

Test(agent_config, file_then_flags_override)
{
    cleanup_free char *path = write_cfg(
        "{\"cluster\":\"c1\",\"endpoint\":\"http://127.0.0.1:1\",\"joinTokenFile\":\"/t\","
        "\"state\":\"/var/lib/skiff\",\"portRange\":\"40000-40010\",\"reservedMemory\":512,"
        "\"attributes\":{\"rack\":\"r1\"},\"insecureRegistries\":[\"a:5000\",\"b:5000\"],"
        "\"pidsLimit\":-1}");
    char *argv[] = {"skiff-agent",        "--cluster",   "c2", "--config", path,
                    "--attribute=zone=z", "--retention", "60", NULL};
    struct cm_error *err = NULL;

    cr_assert_eq(agent_config_from_args(8, argv, &cfg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_str_eq(cfg.cluster, "c2", "a flag beats the file wherever it stands");
    cr_assert_str_eq(cfg.endpoint, "http://127.0.0.1:1");
    cr_assert_eq(cfg.port_lo, 40000);
    cr_assert_eq(cfg.port_hi, 40010);
    cr_assert_eq(cfg.reserved_memory_mib, 512);
    cr_assert_eq(cfg.retention_s, 60);
    cr_assert_eq(cfg.pids_limit, -1);
    cr_assert_str_eq(json_string_value(json_object_get(cfg.attributes, "rack")), "r1");
    cr_assert_str_eq(json_string_value(json_object_get(cfg.attributes, "zone")), "z");
    cr_assert_str_eq(cfg.insecure_registries[1], "b:5000");
    cr_assert_null(cfg.insecure_registries[2]);
    cr_assert_eq(agent_config_validate(&cfg, &err), 0, "%s", err ? err->msg : "");
}

Test(agent_config, file_is_strict)
{
    const char *bad[] = {
        "{\"clustr\":\"c\"}",
        "{\"cluster\":1}",
        "{\"portRange\":\"10-20\"}",
        "{\"portRange\":\"50000-40000\"}",
        "{\"reservedMemory\":\"x\"}",
        "{\"attributes\":[\"a\"]}",
        "{\"insecureRegistries\":\"a\"}",
        "[]",
        "{\"cluster\":\"a\",\"cluster\":\"b\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cleanup_free char *path = write_cfg(bad[i]);
        struct cm_error *err = NULL;
        cr_assert_eq(agent_config_load(path, &cfg, &err), -1, "accepted %s", bad[i]);
        cr_assert_not_null(err);
        cm_error_free(&err);
    }
}

Test(agent_config, flags_errors)
{
    char *unknown[] = {"skiff-agent", "--frob", "1", NULL};
    char *missing[] = {"skiff-agent", "--state", NULL};
    char *badattr[] = {"skiff-agent", "--attribute", "novalue", NULL};
    struct cm_error *err = NULL;

    cr_assert_eq(agent_config_from_args(3, unknown, &cfg, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(agent_config_from_args(2, missing, &cfg, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(agent_config_from_args(3, badattr, &cfg, &err), -1);
    cm_error_free(&err);
}

Test(agent_config, validate)
{
    struct cm_error *err = NULL;

    cr_assert_eq(agent_config_validate(&cfg, &err), -1, "no endpoint");
    cm_error_free(&err);
    cfg.endpoint = xstrdup("http://x");
    cfg.join_token_file = xstrdup("/t");
    cfg.state_dir = xstrdup("relative");
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cr_assert(strstr(err->msg, "--state"));
    cm_error_free(&err);
    free(cfg.state_dir);
    cfg.state_dir = xstrdup("/var/lib/skiff");
    cr_assert_eq(agent_config_validate(&cfg, NULL), 0);
    cr_assert_eq(cfg.image_gc_percent, 85);
    cfg.image_gc_percent = 101;
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cm_error_free(&err);
    cfg.image_gc_percent = 0;
    free(cfg.bridge);
    cfg.bridge = xstrdup("a-bridge-name-too-long");
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cm_error_free(&err);
    free(cfg.bridge);
    cfg.bridge = xstrdup("skiff0");
    free(cfg.cgroup_root);
    cfg.cgroup_root = xstrdup("/a/../b");
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cm_error_free(&err);
    free(cfg.cgroup_root);
    cfg.cgroup_root = xstrdup("/skiff");
    /* The log endpoint: loopback with a free port by default, IPv4:PORT or "off". */
    cr_assert_str_eq(cfg.log_listen, "127.0.0.1:0");
    free(cfg.log_listen);
    cfg.log_listen = xstrdup("localhost:80");
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cr_assert(strstr(err->msg, "--log-listen"));
    cm_error_free(&err);
    free(cfg.log_listen);
    cfg.log_listen = xstrdup("off");
    cr_assert_eq(agent_config_validate(&cfg, NULL), 0);
    cfg.log_advertise = xstrdup("10.0.0.1:0");
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cr_assert(strstr(err->msg, "--log-advertise"));
    cm_error_free(&err);
}

/* --ca-file: only with https, must exist and hold a PEM certificate; the
 * config file's caFile is the same setting. */
Test(agent_config, ca_file)
{
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    cr_assert_eq(cm_write_file_atomic_at(dfd, "ca.pem", pem, strlen(pem), 0644, NULL), 0);
    cr_assert_eq(cm_write_file_atomic_at(dfd, "junk.pem", "hello\n", 6, 0644, NULL), 0);
    cleanup_free char *ca = xasprintf("%s/ca.pem", dir);
    cleanup_free char *junk = xasprintf("%s/junk.pem", dir);
    cleanup_free char *missing = xasprintf("%s/missing.pem", dir);
    cleanup_free char *text = xasprintf("{\"endpoint\":\"https://127.0.0.1:1\",\"caFile\":\"%s\","
                                        "\"joinTokenFile\":\"/t\",\"state\":\"/var/lib/skiff\"}",
                                        ca);
    cleanup_free char *path = write_cfg(text);
    struct cm_error *err = NULL;

    cr_assert_eq(agent_config_load(path, &cfg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_str_eq(cfg.ca_file, ca);
    cr_assert_eq(agent_config_validate(&cfg, &err), 0, "%s", err ? err->msg : "");

    char *argv[] = {"skiff-agent", "--ca-file", junk, NULL};
    cr_assert_eq(agent_config_from_args(3, argv, &cfg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cr_assert(strstr(err->msg, junk) && strstr(err->msg, "no PEM certificate"), "%s", err->msg);
    cm_error_free(&err);

    free(cfg.ca_file);
    cfg.ca_file = xstrdup(missing);
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cr_assert(strstr(err->msg, missing), "%s", err->msg);
    cm_error_free(&err);

    /* A CA for a plain-HTTP endpoint is a mistake (the token would go in clear). */
    free(cfg.ca_file);
    cfg.ca_file = xstrdup(ca);
    free(cfg.endpoint);
    cfg.endpoint = xstrdup("http://127.0.0.1:1");
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cr_assert(strstr(err->msg, "https://"), "%s", err->msg);
    cm_error_free(&err);

    free(cfg.endpoint);
    cfg.endpoint = xstrdup("httpx://127.0.0.1:1");
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cm_error_free(&err);
}

/* spareWorkers: none by default, one on request, never more than one. */
Test(agent_config, spare_workers)
{
    cleanup_free char *path =
        write_cfg("{\"endpoint\":\"http://x\",\"joinTokenFile\":\"/t\",\"state\":\"/s\","
                  "\"spareWorkers\":1}");
    char *argv[] = {"skiff-agent", "--spare-workers", "2", NULL};
    struct cm_error *err = NULL;

    cr_assert_eq(cfg.spare_workers, 0);
    cr_assert_eq(agent_config_load(path, &cfg, NULL), 0);
    cr_assert_eq(cfg.spare_workers, 1);
    cr_assert_eq(agent_config_validate(&cfg, NULL), 0);
    cr_assert_eq(agent_config_from_args(3, argv, &cfg, NULL), 0);
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cr_assert(strstr(err->msg, "--spare-workers 2"), "%s", err->msg);
    cm_error_free(&err);
}

/* portMapper: the agent's nftables table by default, CNI's portmap on request. */
Test(agent_config, port_mapper)
{
    cleanup_free char *path =
        write_cfg("{\"endpoint\":\"http://x\",\"joinTokenFile\":\"/t\",\"state\":\"/s\","
                  "\"portMapper\":\"cni\"}");
    char *argv[] = {"skiff-agent", "--port-mapper", "iptables", NULL};
    struct cm_error *err = NULL;

    cr_assert_str_eq(cfg.port_mapper, "nft");
    cr_assert_eq(agent_config_load(path, &cfg, NULL), 0);
    cr_assert_str_eq(cfg.port_mapper, "cni");
    cr_assert_eq(agent_config_validate(&cfg, NULL), 0);
    cr_assert_eq(agent_config_from_args(3, argv, &cfg, NULL), 0);
    cr_assert_eq(agent_config_validate(&cfg, &err), -1);
    cr_assert(strstr(err->msg, "--port-mapper 'iptables'"), "%s", err->msg);
    cm_error_free(&err);
}
