/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-agent's configuration: defaults, JSON config file (strict), command line. */
#include "agent/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/cni.h"
#include "agent/logfile.h"
#include "agent/logserve.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/json.h"
#include "cm/xalloc.h"

/* System CA bundles are a few hundred KiB. */
#define AGENT_CA_FILE_MAX (8u << 20)

static char *
beside(const char *argv0, const char *name)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cleanup_free char *copy = NULL;

    if (n > 0) {
        self[n] = '\0';
        copy = xstrdup(self);
    } else {
        copy = xstrdup(argv0 ? argv0 : "./skiff-agent");
    }
    return xasprintf("%s/%s", dirname(copy), name);
}

void
agent_config_init(struct agent_config *c, const char *argv0)
{
    struct utsname u;

    memset(c, 0, sizeof *c);
    uname(&u);
    c->hostname = xstrdup(u.nodename);
    c->runtime = xstrdup("builtin");
    c->runtime_cli = beside(argv0, "skiff-runtime");
    /* initProcessEnabled needs skiff-init; without it such tasks fail to start. */
    c->init_path = beside(argv0, "skiff-init");
    if (access(c->init_path, X_OK) != 0) {
        free(c->init_path);
        c->init_path = NULL;
    }
    c->shim = beside(argv0, "skiff-shim");
    c->worker = beside(argv0, "skiff-agent-worker");
    c->cni_plugin_dir = xstrdup("/usr/lib/cni");
    c->bridge = xstrdup("skiff0");
    c->subnet = xstrdup("10.213.0.0/16");
    c->netns_dir = xstrdup("/run/skiff/netns");
    c->cgroup_root = xstrdup("/skiff");
    c->port_lo = 49153;
    c->port_hi = 65535;
    c->reserved_memory_mib = 256;
    c->log_max_size = AGENT_LOG_DEFAULT_MAX_SIZE;
    c->log_max_files = AGENT_LOG_DEFAULT_MAX_FILES;
    c->retention_s = 3600;
    c->pids_limit = 4096;
    c->image_gc_percent = 85;
    /* skiffd reads logs through this endpoint; loopback suits a single host. */
    c->log_listen = xstrdup("127.0.0.1:0");
    c->port_mapper = xstrdup("nft");
    c->spare_workers = 0;
}

void
agent_config_done(struct agent_config *c)
{
    char **strs[] = {&c->cluster,    &c->endpoint,    &c->join_token_file,  &c->state_dir,
                     &c->hostname,   &c->runtime,     &c->runtime_cli,      &c->runtime_root,
                     &c->shim,       &c->image_store, &c->default_registry, &c->cni_plugin_dir,
                     &c->bridge,     &c->subnet,      &c->netns_dir,        &c->cgroup_root,
                     &c->init_path,  &c->worker,      &c->log_listen,       &c->log_advertise,
                     &c->port_mapper};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    free(c->ca_file);
    c->ca_file = NULL;
    cm_strv_free(c->insecure_registries);
    c->insecure_registries = NULL;
    json_decref(c->attributes);
    c->attributes = NULL;
}

/* Option table shared by the file and the command line. */
enum opt_kind { O_STR, O_STRV, O_PORTS, O_U64, O_UINT, O_I64, O_ATTRS };
struct opt {
    const char *json;
    const char *flag;
    enum opt_kind kind;
    size_t off;
};

#define OFF(f) offsetof(struct agent_config, f)
static const struct opt opts[] = {
    {"cluster", "--cluster", O_STR, OFF(cluster)},
    {"endpoint", "--endpoint", O_STR, OFF(endpoint)},
    {"caFile", "--ca-file", O_STR, OFF(ca_file)},
    {"joinTokenFile", "--join-token-file", O_STR, OFF(join_token_file)},
    {"state", "--state", O_STR, OFF(state_dir)},
    {"hostname", "--hostname", O_STR, OFF(hostname)},
    {"runtime", "--runtime", O_STR, OFF(runtime)},
    {"runtimeRoot", "--runtime-root", O_STR, OFF(runtime_root)},
    {"runtimeCli", "--runtime-cli", O_STR, OFF(runtime_cli)},
    {"shim", "--shim", O_STR, OFF(shim)},
    {"worker", "--worker", O_STR, OFF(worker)},
    {"imageStore", "--image-store", O_STR, OFF(image_store)},
    {"insecureRegistries", "--insecure-registry", O_STRV, OFF(insecure_registries)},
    {"defaultRegistry", "--default-registry", O_STR, OFF(default_registry)},
    {"cniPluginDir", "--cni-plugin-dir", O_STR, OFF(cni_plugin_dir)},
    {"bridge", "--bridge", O_STR, OFF(bridge)},
    {"subnet", "--subnet", O_STR, OFF(subnet)},
    {"netnsDir", "--netns-dir", O_STR, OFF(netns_dir)},
    {"cgroupRoot", "--cgroup-root", O_STR, OFF(cgroup_root)},
    {"initPath", "--init-path", O_STR, OFF(init_path)},
    {"portRange", "--port-range", O_PORTS, 0},
    {"reservedMemory", "--reserved-memory", O_U64, OFF(reserved_memory_mib)},
    {"attributes", "--attribute", O_ATTRS, OFF(attributes)},
    {"logMaxSize", "--log-max-size", O_U64, OFF(log_max_size)},
    {"logMaxFiles", "--log-max-files", O_UINT, OFF(log_max_files)},
    {"retention", "--retention", O_UINT, OFF(retention_s)},
    {"pidsLimit", "--pids-limit", O_I64, OFF(pids_limit)},
    {"imageGcPercent", "--image-gc-percent", O_UINT, OFF(image_gc_percent)},
    {"netnsPool", "--netns-pool", O_UINT, OFF(netns_pool)},
    {"logListen", "--log-listen", O_STR, OFF(log_listen)},
    {"logAdvertise", "--log-advertise", O_STR, OFF(log_advertise)},
    {"portMapper", "--port-mapper", O_STR, OFF(port_mapper)},
    {"spareWorkers", "--spare-workers", O_UINT, OFF(spare_workers)},
};

static int
parse_u64(const char *name, const char *s, uint64_t max, uint64_t *ret, struct cm_error **err)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v > max)
        return cm_error_set(err, 0, "%s: '%s' is not a number up to %llu", name, s,
                            (unsigned long long)max);
    *ret = v;
    return 0;
}

static int
set_ports(struct agent_config *c, const char *name, const char *s, struct cm_error **err)
{
    uint64_t lo, hi;
    const char *dash = strchr(s, '-');
    cleanup_free char *a = NULL;

    if (!dash)
        return cm_error_set(err, 0, "%s: '%s' is not LO-HI", name, s);
    a = xstrndup(s, (size_t)(dash - s));
    if (parse_u64(name, a, 65535, &lo, err) < 0 || parse_u64(name, dash + 1, 65535, &hi, err) < 0)
        return -1;
    if (lo < 1024 || hi < lo)
        return cm_error_set(err, 0, "%s: '%s' must be 1024 <= LO <= HI", name, s);
    c->port_lo = (uint16_t)lo;
    c->port_hi = (uint16_t)hi;
    return 0;
}

/* Applies one textual value (command line form). */
static int
apply(struct agent_config *c, const struct opt *o, const char *v, struct cm_error **err)
{
    void *field = (char *)c + o->off;
    uint64_t n;

    switch (o->kind) {
    case O_STR:
        free(*(char **)field);
        *(char **)field = xstrdup(v);
        return 0;
    case O_STRV: {
        char ***vp = field;
        size_t len = cm_strv_len(*vp);
        *vp = xrealloc(*vp, (len + 2) * sizeof **vp);
        (*vp)[len] = xstrdup(v);
        (*vp)[len + 1] = NULL;
        return 0;
    }
    case O_PORTS:
        return set_ports(c, o->flag, v, err);
    case O_U64:
        if (parse_u64(o->flag, v, UINT64_MAX >> 20, &n, err) < 0)
            return -1;
        *(uint64_t *)field = n;
        return 0;
    case O_UINT:
        if (parse_u64(o->flag, v, UINT32_MAX, &n, err) < 0)
            return -1;
        *(unsigned *)field = (unsigned)n;
        return 0;
    case O_I64:
        if (strcmp(v, "-1") == 0) {
            *(int64_t *)field = -1;
            return 0;
        }
        if (parse_u64(o->flag, v, INT64_MAX, &n, err) < 0)
            return -1;
        *(int64_t *)field = (int64_t)n;
        return 0;
    case O_ATTRS: {
        const char *eq = strchr(v, '=');
        cleanup_free char *k = NULL;
        if (!eq || eq == v)
            return cm_error_set(err, 0, "%s: '%s' is not KEY=VALUE", o->flag, v);
        if (!c->attributes)
            c->attributes = json_object();
        k = xstrndup(v, (size_t)(eq - v));
        json_object_set_new(c->attributes, k, json_string(eq + 1));
        return 0;
    }
    }
    return cm_error_set(err, 0, "bad option kind");
}

int
agent_config_load(const char *path, struct agent_config *c, struct cm_error **err)
{
    json_auto_t *j = NULL;
    const char *key;
    json_t *v;

    if (cm_json_load_file(path, 1 << 20, &j, err) < 0)
        return -1;
    if (!json_is_object(j))
        return cm_error_set(err, 0, "%s: expected a JSON object", path);
    json_object_foreach (j, key, v) {
        const struct opt *o = NULL;
        for (size_t i = 0; i < sizeof opts / sizeof *opts && !o; i++)
            if (strcmp(opts[i].json, key) == 0)
                o = &opts[i];
        if (!o)
            return cm_error_set(err, 0, "%s: unknown key '%s'", path, key);
        if (o->kind == O_STRV || o->kind == O_ATTRS) {
            size_t i;
            json_t *e;
            const char *k2;
            if (o->kind == O_STRV && !json_is_array(v))
                return cm_error_set(err, 0, "%s: %s: expected an array of strings", path, key);
            if (o->kind == O_ATTRS && !json_is_object(v))
                return cm_error_set(err, 0, "%s: %s: expected an object of strings", path, key);
            if (o->kind == O_STRV) {
                json_array_foreach (v, i, e) {
                    if (!json_is_string(e))
                        return cm_error_set(err, 0, "%s: %s[%zu]: expected a string", path, key, i);
                    if (apply(c, o, json_string_value(e), err) < 0)
                        return cm_error_wrap(err, "%s", path);
                }
            } else {
                json_object_foreach (v, k2, e) {
                    cleanup_free char *kv = NULL;
                    if (!json_is_string(e))
                        return cm_error_set(err, 0, "%s: %s.%s: expected a string", path, key, k2);
                    kv = xasprintf("%s=%s", k2, json_string_value(e));
                    if (apply(c, o, kv, err) < 0)
                        return cm_error_wrap(err, "%s", path);
                }
            }
            continue;
        }
        if (json_is_string(v)) {
            if (apply(c, o, json_string_value(v), err) < 0)
                return cm_error_wrap(err, "%s", path);
        } else if (json_is_integer(v) && o->kind != O_STR && o->kind != O_PORTS) {
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            if (apply(c, o, num, err) < 0)
                return cm_error_wrap(err, "%s", path);
        } else {
            return cm_error_set(err, 0, "%s: %s: wrong type", path, key);
        }
    }
    return 0;
}

int
agent_config_from_args(int argc, char **argv, struct agent_config *c, struct cm_error **err)
{
    /* The config file first, so that flags override it wherever they are. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return cm_error_set(err, 0, "--config needs a value");
            if (agent_config_load(argv[i + 1], c, err) < 0)
                return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        const struct opt *o = NULL;
        const char *eq = strchr(a, '=');
        size_t alen = eq ? (size_t)(eq - a) : strlen(a);
        if (strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        for (size_t k = 0; k < sizeof opts / sizeof *opts && !o; k++)
            if (strlen(opts[k].flag) == alen && strncmp(opts[k].flag, a, alen) == 0)
                o = &opts[k];
        if (!o)
            return cm_error_set(err, 0, "unknown option '%s'", a);
        if (eq) {
            v = eq + 1;
        } else {
            if (i + 1 >= argc)
                return cm_error_set(err, 0, "option '%s' needs a value", a);
            v = argv[++i];
        }
        if (apply(c, o, v, err) < 0)
            return -1;
    }
    return 0;
}

/* A CA file only means something for https, and must hold certificates: say
 * so at start rather than at every failed registration. */
static int
check_ca_file(const struct agent_config *c, struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (strncasecmp(c->endpoint, "https://", 8) != 0)
        return cm_error_set(err, 0,
                            "--ca-file '%s' is for an https:// endpoint, but the endpoint is '%s'",
                            c->ca_file, c->endpoint);
    if (cm_read_file_at(AT_FDCWD, c->ca_file, AGENT_CA_FILE_MAX, &buf, &len, err) < 0)
        return cm_error_wrap(err, "--ca-file '%s'", c->ca_file);
    if (!memmem(buf, len, "-----BEGIN CERTIFICATE-----", 27))
        return cm_error_set(err, 0, "--ca-file '%s': no PEM certificate in it", c->ca_file);
    return 0;
}

int
agent_config_validate(const struct agent_config *c, struct cm_error **err)
{
    struct agent_cni_config cni = {.plugin_dir = c->cni_plugin_dir,
                                   .network = "skiff",
                                   .bridge = c->bridge,
                                   .subnet = c->subnet,
                                   .ipam_dir = "/x",
                                   .cache_dir = "/x"};

    if (!c->endpoint || (strncasecmp(c->endpoint, "http://", 7) != 0 &&
                         strncasecmp(c->endpoint, "https://", 8) != 0))
        return cm_error_set(err, 0, "--endpoint URL (http:// or https://) is required");
    if (c->ca_file && check_ca_file(c, err) < 0)
        return -1;
    if (!c->join_token_file)
        return cm_error_set(err, 0, "--join-token-file is required");
    if (!c->state_dir || c->state_dir[0] != '/')
        return cm_error_set(err, 0, "--state must be an absolute directory");
    if (c->cluster && (strlen(c->cluster) == 0 || strlen(c->cluster) > 255))
        return cm_error_set(err, 0, "--cluster: 1 to 255 characters");
    if (!c->cgroup_root || c->cgroup_root[0] != '/' || strstr(c->cgroup_root, ".."))
        return cm_error_set(err, 0, "--cgroup-root must be an absolute cgroup path");
    if (!c->netns_dir || c->netns_dir[0] != '/')
        return cm_error_set(err, 0, "--netns-dir must be absolute");
    if (c->netns_pool > AGENT_NETNS_POOL_MAX)
        return cm_error_set(err, 0, "--netns-pool %u: at most %u", c->netns_pool,
                            AGENT_NETNS_POOL_MAX);
    if (!c->port_mapper ||
        (strcmp(c->port_mapper, "nft") != 0 && strcmp(c->port_mapper, "cni") != 0))
        return cm_error_set(err, 0, "--port-mapper '%s': nft or cni",
                            c->port_mapper ? c->port_mapper : "");
    if (c->spare_workers > 1)
        return cm_error_set(err, 0, "--spare-workers %u: 0 or 1", c->spare_workers);
    if (c->image_gc_percent > 100)
        return cm_error_set(err, 0, "--image-gc-percent: 0 to 100");
    if (c->log_max_files > AGENT_LOG_MAX_FILES_LIMIT)
        return cm_error_set(err, 0, "--log-max-files: at most %d", AGENT_LOG_MAX_FILES_LIMIT);
    if (c->log_listen && *c->log_listen && strcmp(c->log_listen, "off") != 0 &&
        agent_logserve_check_address("--log-listen", c->log_listen, true, err) < 0)
        return -1;
    if (c->log_advertise &&
        agent_logserve_check_address("--log-advertise", c->log_advertise, false, err) < 0)
        return -1;
    if (c->attributes) {
        const char *k;
        json_t *v;
        if (json_object_size(c->attributes) > 64)
            return cm_error_set(err, 0, "at most 64 attributes");
        json_object_foreach (c->attributes, k, v) {
            if (strlen(k) > 128 || strlen(json_string_value(v)) > 256)
                return cm_error_set(err, 0, "attribute '%.40s': name <= 128, value <= 256", k);
        }
    }
    return agent_cni_config_validate(&cni, err);
}
