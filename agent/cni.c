/* SPDX-License-Identifier: Apache-2.0 */
/* CNI: network config generation, plugin execution (libcni's list semantics),
 * task network namespaces and the host port pool. */
#include "agent/cni.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/json.h"
#include "cm/log.h"
#include "cm/xalloc.h"

static const char *const mode_names[] = {
    [AGENT_NET_NONE] = "none",
    [AGENT_NET_HOST] = "host",
    [AGENT_NET_BRIDGE] = "bridge",
    [AGENT_NET_AWSVPC] = "awsvpc",
};

int
agent_net_mode_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
        if (strcmp(name, mode_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *
agent_net_mode_name(enum agent_net_mode m)
{
    return (size_t)m < sizeof mode_names / sizeof *mode_names ? mode_names[m] : "?";
}

bool
agent_net_mode_has_netns(enum agent_net_mode m)
{
    return m != AGENT_NET_HOST;
}

static bool
valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > 0 && n <= max &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_.-") == n;
}

int
agent_cni_config_validate(const struct agent_cni_config *c, struct cm_error **err)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash;
    char *end;
    long prefix;
    struct in_addr a;

    if (!c->plugin_dir || c->plugin_dir[0] != '/')
        return cm_error_set(err, 0, "cni: plugin dir must be an absolute path");
    if (!c->ipam_dir || c->ipam_dir[0] != '/' || !c->cache_dir || c->cache_dir[0] != '/')
        return cm_error_set(err, 0, "cni: ipam and cache dirs must be absolute paths");
    if (!c->network || !valid_name(c->network, 64))
        return cm_error_set(err, 0, "cni: invalid network name '%s'", c->network ?: "");
    /* IFNAMSIZ - 1 */
    if (!c->bridge || !valid_name(c->bridge, 15))
        return cm_error_set(err, 0, "cni: invalid bridge name '%s' (1-15 of [A-Za-z0-9_.-])",
                            c->bridge ?: "");
    if (!c->subnet || !(slash = strchr(c->subnet, '/')) ||
        (size_t)(slash - c->subnet) >= sizeof addr)
        return cm_error_set(err, 0, "cni: subnet '%s' is not an IPv4 CIDR", c->subnet ?: "");
    memcpy(addr, c->subnet, (size_t)(slash - c->subnet));
    addr[slash - c->subnet] = '\0';
    errno = 0;
    prefix = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, addr, &a) != 1 || errno || *end || end == slash + 1 || prefix < 8 ||
        prefix > 30)
        return cm_error_set(err, 0, "cni: subnet '%s' is not an IPv4 CIDR with a /8../30 prefix",
                            c->subnet);
    return 0;
}

json_t *
agent_cni_conflist(const struct agent_cni_config *c, enum agent_net_mode mode)
{
    json_t *plugins = json_array();
    json_t *bridge = json_pack("{s:s, s:s, s:b, s:b, s:b, s:{s:s, s:[[{s:s}]], s:[{s:s}], s:s}}",
                               "type", "bridge", "bridge", c->bridge, "isGateway", 1, "ipMasq", 1,
                               "hairpinMode", 1, "ipam", "type", "host-local", "ranges", "subnet",
                               c->subnet, "routes", "dst", "0.0.0.0/0", "dataDir", c->ipam_dir);

    json_array_append_new(plugins, bridge);
    if (mode == AGENT_NET_BRIDGE && c->portmap)
        json_array_append_new(plugins, json_pack("{s:s, s:b, s:{s:b}}", "type", "portmap", "snat",
                                                 1, "capabilities", "portMappings", 1));
    return json_pack("{s:s, s:s, s:o}", "cniVersion", AGENT_CNI_VERSION, "name", c->network,
                     "plugins", plugins);
}

json_t *
agent_cni_runtime_config(const struct agent_port_mapping *pm, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:i, s:i, s:s}", "hostPort", pm[i].host_port,
                                             "containerPort", pm[i].container_port, "protocol",
                                             pm[i].udp ? "udp" : "tcp"));
    return json_pack("{s:o}", "portMappings", arr);
}

json_t *
agent_cni_plugin_conf(json_t *conflist, size_t i, json_t *prev_result, json_t *runtime_config)
{
    json_t *plugin = json_array_get(json_object_get(conflist, "plugins"), i);
    json_t *conf = json_deep_copy(plugin);
    json_t *caps = json_object_get(plugin, "capabilities");
    json_t *rc = json_object();
    const char *key;
    json_t *val;

    json_object_set(conf, "name", json_object_get(conflist, "name"));
    json_object_set(conf, "cniVersion", json_object_get(conflist, "cniVersion"));
    if (prev_result)
        json_object_set(conf, "prevResult", prev_result);
    /* Only what the plugin asked for through its capabilities (CNI conventions). */
    json_object_foreach (runtime_config, key, val) {
        if (json_is_true(json_object_get(caps, key)))
            json_object_set(rc, key, val);
    }
    if (json_object_size(rc) > 0)
        json_object_set_new(conf, "runtimeConfig", rc);
    else
        json_decref(rc);
    return conf;
}

/* Reads fd to EOF into a buffer of at most max bytes. */
static int
read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
    char *buf = xmalloc(max + 1);
    size_t len = 0;

    for (;;) {
        ssize_t r = read(fd, buf + len, max - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == max) {
            /* Too much: drain and fail. */
            char sink[4096];
            while (read(fd, sink, sizeof sink) > 0)
                ;
            free(buf);
            errno = EFBIG;
            return -1;
        }
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    return 0;
}

int
agent_cni_exec(const char *plugin_dir, const char *type, const char *command,
               const char *container_id, const char *netns, const char *ifname, json_t *conf,
               json_t **ret_result, struct cm_error **err)
{
    cleanup_free char *path = NULL;
    cleanup_free char *in = json_dumps(conf, JSON_COMPACT);
    cleanup_free char *out = NULL;
    size_t out_len = 0;
    int pin[2], pout[2];
    pid_t pid;
    int status;
    size_t off = 0, in_len = strlen(in);
    int rr;

    if (!valid_name(type, 64))
        return cm_error_set(err, 0, "cni: invalid plugin type '%s'", type);
    path = xasprintf("%s/%s", plugin_dir, type);
    if (access(path, X_OK) < 0)
        return cm_error_errno(err, "cni: plugin '%s'", path);
    if (pipe2(pin, O_CLOEXEC) < 0)
        return cm_error_errno(err, "pipe");
    if (pipe2(pout, O_CLOEXEC) < 0) {
        close(pin[0]);
        close(pin[1]);
        return cm_error_errno(err, "pipe");
    }
    pid = fork();
    if (pid < 0) {
        close(pin[0]);
        close(pin[1]);
        close(pout[0]);
        close(pout[1]);
        return cm_error_errno(err, "fork");
    }
    if (pid == 0) {
        char *env[] = {
            xasprintf("CNI_COMMAND=%s", command),
            xasprintf("CNI_CONTAINERID=%s", container_id),
            xasprintf("CNI_NETNS=%s", netns),
            xasprintf("CNI_IFNAME=%s", ifname),
            xasprintf("CNI_PATH=%s", plugin_dir),
            /* The plugins exec iptables and friends. */
            xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            NULL,
        };
        char *argv[] = {path, NULL};
        sigset_t all;
        int null = open("/dev/null", O_WRONLY);
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        if (null >= 0)
            dup2(null, 2);
        execve(path, argv, env);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    /* Confs are small (well under the pipe buffer), so writing before reading
     * cannot deadlock against a plugin that writes a large result. */
    while (off < in_len) {
        ssize_t w = write(pin[1], in + off, in_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            break; /* the plugin did not read its stdin: its exit status tells */
        off += (size_t)w;
    }
    close(pin[1]);
    rr = read_all(pout[0], AGENT_CNI_MAX_OUTPUT, &out, &out_len);
    close(pout[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return cm_error_errno(err, "cni: wait for '%s'", type);
    }
    if (rr < 0)
        return cm_error_set(err, EFBIG, "cni: %s %s: output over %u bytes", type, command,
                            AGENT_CNI_MAX_OUTPUT);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        json_auto_t *e = out_len ? json_loadb(out, out_len, 0, NULL) : NULL;
        const char *msg = json_string_value(json_object_get(e, "msg"));
        const char *details = json_string_value(json_object_get(e, "details"));
        if (msg)
            return cm_error_set(err, EIO, "cni: %s %s: %s%s%s", type, command, msg,
                                details && *details ? ": " : "", details ? details : "");
        return cm_error_set(err, EIO, "cni: %s %s failed (status %d)", type, command, status);
    }
    if (ret_result) {
        *ret_result = NULL;
        if (out_len > 0) {
            json_error_t jerr;
            json_t *res = json_loadb(out, out_len, 0, &jerr);
            if (!res || !json_is_object(res)) {
                json_decref(res);
                return cm_error_set(err, EIO, "cni: %s %s: bad result: %s", type, command,
                                    jerr.text);
            }
            *ret_result = res;
        }
    }
    return 0;
}

/* ---- the task attachment ---- */

static char *
cache_path(const struct agent_cni_config *c, const char *task_id)
{
    return xasprintf("%s/%s.json", c->cache_dir, task_id);
}

static int
run_list(const struct agent_cni_config *c, json_t *list, const char *command, const char *task_id,
         const char *netns, json_t *prev, json_t *rc, json_t **ret_result, struct cm_error **err)
{
    json_t *plugins = json_object_get(list, "plugins");
    size_t n = json_array_size(plugins);
    json_auto_t *result = json_incref(prev);
    int first_rc = 0;

    for (size_t k = 0; k < n; k++) {
        /* DEL runs the list backwards. */
        size_t i = strcmp(command, "DEL") == 0 ? n - 1 - k : k;
        json_auto_t *conf = agent_cni_plugin_conf(list, i, result, rc);
        json_t *out = NULL;
        const char *type = json_string_value(json_object_get(conf, "type"));
        struct cm_error *e = NULL;

        /* portmap 1.1.x's CHECK wants ip6tables rules it never made for an
         * IPv4-only task (containernetworking/plugins#819): it cannot pass. */
        if (strcmp(command, "CHECK") == 0 && strcmp(type, "portmap") == 0)
            continue;
        if (agent_cni_exec(c->plugin_dir, type, command, task_id, netns, "eth0", conf,
                           strcmp(command, "ADD") == 0 ? &out : NULL, &e) < 0) {
            if (strcmp(command, "DEL") != 0) {
                cm_error_set(err, e->code, "%s", e->msg);
                cm_error_free(&e);
                return -1;
            }
            if (first_rc == 0)
                cm_error_set(err, e->code, "%s", e->msg);
            cm_error_free(&e);
            first_rc = -1;
            continue;
        }
        if (out) {
            json_decref(result);
            result = out;
        }
    }
    if (ret_result)
        *ret_result = json_incref(result);
    return first_rc;
}

static char *
result_ipv4(json_t *result)
{
    size_t i;
    json_t *ip;

    json_array_foreach (json_object_get(result, "ips"), i, ip) {
        const char *a = json_string_value(json_object_get(ip, "address"));
        const char *slash;
        if (!a || strchr(a, ':'))
            continue;
        slash = strchr(a, '/');
        return slash ? xstrndup(a, (size_t)(slash - a)) : xstrdup(a);
    }
    return NULL;
}

static int
load_cache(const struct agent_cni_config *c, const char *task_id, json_t **ret,
           struct cm_error **err)
{
    cleanup_free char *path = cache_path(c, task_id);
    return cm_json_load_file(path, 1 << 20, ret, err);
}

/* The list ADD ran: portmap as the cache entry says (entries from before
 * the agent mapped ports itself have no "portmap": bridge mode always ran it). */
static json_t *
cached_conflist(const struct agent_cni_config *c, enum agent_net_mode mode, json_t *cache)
{
    struct agent_cni_config k = *c;
    json_t *pm = json_object_get(cache, "portmap");

    k.portmap = pm ? json_is_true(pm) : mode == AGENT_NET_BRIDGE;
    return agent_cni_conflist(&k, mode);
}

/* An attachment's id (a file name in the cache) and its resolved port mappings. */
static int
check_attachment(const char *what, const char *id, const struct agent_port_mapping *pm, size_t n,
                 struct cm_error **err)
{
    if (!valid_name(id, 128))
        return cm_error_set(err, 0, "cni: invalid %s id '%s'", what, id);
    if (n > AGENT_MAX_PORT_MAPPINGS)
        return cm_error_set(err, 0, "cni: %zu port mappings, at most %d", n,
                            AGENT_MAX_PORT_MAPPINGS);
    for (size_t i = 0; i < n; i++)
        if (pm[i].host_port == 0 || pm[i].container_port == 0)
            return cm_error_set(err, 0, "cni: port mapping %zu is not resolved", i);
    return 0;
}

int
agent_cni_add_ports(const struct agent_cni_config *c, const char *id, const char *netns,
                    const struct agent_port_mapping *pm, size_t n, struct cm_error **err)
{
    json_auto_t *cache = NULL;
    json_auto_t *list = NULL;
    json_auto_t *rc = NULL;
    json_auto_t *result = NULL;
    cleanup_free char *dump = NULL;
    cleanup_free char *name = NULL;
    cleanup_close int dfd = -1;

    if (check_attachment("attachment", id, pm, n, err) < 0)
        return -1;
    if (load_cache(c, id, &cache, err) < 0 || !json_object_get(cache, "result"))
        return cm_error_wrap(err, "cni: '%s' has no cached attachment", id);
    list = agent_cni_conflist(c, AGENT_NET_BRIDGE);
    json_array_remove(json_object_get(list, "plugins"), 0); /* the bridge is attached */
    rc = agent_cni_runtime_config(pm, n);
    /* The cache first: DEL must know the mappings even if ADD is cut short. */
    json_object_set_new(cache, "mode", json_string(agent_net_mode_name(AGENT_NET_BRIDGE)));
    json_object_set_new(cache, "portmap", json_boolean(c->portmap));
    json_object_set(cache, "runtimeConfig", rc);
    dump = json_dumps(cache, JSON_COMPACT);
    dfd = open(c->cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return cm_error_errno(err, "open '%s'", c->cache_dir);
    name = xasprintf("%s.json", id);
    if (cm_write_file_atomic_at(dfd, name, dump, strlen(dump), 0600, err) < 0)
        return -1;
    if (n == 0 || !c->portmap)
        return 0;
    if (run_list(c, list, "ADD", id, netns, json_object_get(cache, "result"), rc, &result, err) < 0)
        return cm_error_wrap(err, "'%s'", id);
    json_object_set(cache, "result", result);
    free(dump);
    dump = json_dumps(cache, JSON_COMPACT);
    return cm_write_file_atomic_at(dfd, name, dump, strlen(dump), 0600, err);
}

int
agent_cni_add(const struct agent_cni_config *c, enum agent_net_mode mode, const char *task_id,
              const char *netns, const struct agent_port_mapping *pm, size_t n, char **ret_ip,
              struct cm_error **err)
{
    json_auto_t *list = NULL;
    json_auto_t *rc = NULL;
    json_auto_t *result = NULL;
    json_auto_t *cache = NULL;
    cleanup_free char *cpath = NULL;
    cleanup_free char *dump = NULL;
    cleanup_close int dfd = -1;

    if (ret_ip)
        *ret_ip = NULL;
    if (mode == AGENT_NET_HOST)
        return 0;
    if (n > 0 && mode != AGENT_NET_BRIDGE)
        return cm_error_set(err, 0, "cni: port mappings need network mode bridge, not %s",
                            agent_net_mode_name(mode));
    if (check_attachment("task", task_id, pm, n, err) < 0)
        return -1;
    if (agent_cni_config_validate(c, err) < 0)
        return -1;
    if (mode == AGENT_NET_NONE)
        return 0;
    if (cm_mkdir_p(c->cache_dir, 0700, err) < 0 || cm_mkdir_p(c->ipam_dir, 0700, err) < 0)
        return -1;
    list = agent_cni_conflist(c, mode);
    rc = agent_cni_runtime_config(pm, n);
    /* The cache first: a crash after ADD still leaves what DEL needs. */
    cpath = cache_path(c, task_id);
    cache = json_pack("{s:s, s:s, s:O, s:b}", "mode", agent_net_mode_name(mode), "netns", netns,
                      "runtimeConfig", rc, "portmap", mode == AGENT_NET_BRIDGE && c->portmap);
    dump = json_dumps(cache, JSON_COMPACT);
    dfd = open(c->cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return cm_error_errno(err, "open '%s'", c->cache_dir);
    {
        cleanup_free char *name = xasprintf("%s.json", task_id);
        if (cm_write_file_atomic_at(dfd, name, dump, strlen(dump), 0600, err) < 0)
            return -1;
        if (run_list(c, list, "ADD", task_id, netns, NULL, rc, &result, err) < 0) {
            run_list(c, list, "DEL", task_id, netns, NULL, rc, NULL, NULL);
            unlinkat(dfd, name, 0);
            return cm_error_wrap(err, "task '%s'", task_id);
        }
        json_object_set(cache, "result", result);
        free(dump);
        dump = json_dumps(cache, JSON_COMPACT);
        if (cm_write_file_atomic_at(dfd, name, dump, strlen(dump), 0600, err) < 0) {
            run_list(c, list, "DEL", task_id, netns, result, rc, NULL, NULL);
            unlinkat(dfd, name, 0);
            return -1;
        }
    }
    if (ret_ip)
        *ret_ip = result_ipv4(result);
    return 0;
}

int
agent_cni_check(const struct agent_cni_config *c, enum agent_net_mode mode, const char *task_id,
                const char *netns, struct cm_error **err)
{
    json_auto_t *cache = NULL;
    json_auto_t *list = NULL;

    if (mode == AGENT_NET_HOST || mode == AGENT_NET_NONE)
        return 0;
    if (!valid_name(task_id, 128))
        return cm_error_set(err, 0, "cni: invalid task id '%s'", task_id);
    if (load_cache(c, task_id, &cache, err) < 0)
        return cm_error_wrap(err, "cni: task '%s' has no cached attachment", task_id);
    list = cached_conflist(c, mode, cache);
    if (run_list(c, list, "CHECK", task_id, netns, json_object_get(cache, "result"),
                 json_object_get(cache, "runtimeConfig"), NULL, err) < 0)
        return cm_error_wrap(err, "task '%s'", task_id);
    return 0;
}

int
agent_cni_del(const struct agent_cni_config *c, enum agent_net_mode mode, const char *task_id,
              const char *netns, struct cm_error **err)
{
    json_auto_t *cache = NULL;
    json_auto_t *list = NULL;
    cleanup_free char *path = NULL;
    struct cm_error *e = NULL;
    int r;

    if (mode == AGENT_NET_HOST || mode == AGENT_NET_NONE)
        return 0;
    if (!valid_name(task_id, 128))
        return cm_error_set(err, 0, "cni: invalid task id '%s'", task_id);
    /* Without a cache entry DEL still runs (plugins accept a missing prevResult). */
    if (load_cache(c, task_id, &cache, &e) < 0)
        cm_error_free(&e);
    list = cached_conflist(c, mode, cache);
    r = run_list(c, list, "DEL", task_id, netns, json_object_get(cache, "result"),
                 json_object_get(cache, "runtimeConfig"), NULL, err);
    if (r < 0)
        return cm_error_wrap(err, "task '%s'", task_id);
    path = cache_path(c, task_id);
    if (unlink(path) < 0 && errno != ENOENT)
        return cm_error_errno(err, "remove '%s'", path);
    return 0;
}

/* ---- network namespaces ---- */

int
agent_netns_create(const char *dir, const char *name, char **ret_path, struct cm_error **err)
{
    cleanup_free char *path = NULL;
    int fd;
    pid_t pid;
    int status;

    if (!valid_name(name, 128))
        return cm_error_set(err, 0, "netns: invalid name '%s'", name);
    if (cm_mkdir_p(dir, 0755, err) < 0)
        return -1;
    path = xasprintf("%s/%s", dir, name);
    fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0)
        return cm_error_errno(err, "netns: create '%s'", path);
    close(fd);
    pid = fork();
    if (pid < 0) {
        unlink(path);
        return cm_error_errno(err, "fork");
    }
    if (pid == 0) {
        struct ifreq ifr = {.ifr_name = "lo"};
        int s;
        if (unshare(CLONE_NEWNET) < 0)
            _exit(1);
        /* lo up here: what CNI's loopback plugin would do, without its exec. */
        s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
            _exit(3);
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
            _exit(3);
        if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
            _exit(2);
        _exit(0);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            unlink(path);
            return cm_error_errno(err, "netns: wait");
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        unlink(path);
        return cm_error_set(err, EPERM, "netns: %s '%s' failed",
                            !WIFEXITED(status)         ? "create"
                            : WEXITSTATUS(status) == 1 ? "unshare"
                            : WEXITSTATUS(status) == 3 ? "loopback up in"
                                                       : "mount",
                            path);
    }
    *ret_path = TAKE_PTR(path);
    return 0;
}

int
agent_netns_delete(const char *path, struct cm_error **err)
{
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return cm_error_errno(err, "netns: unmount '%s'", path);
    if (unlink(path) < 0 && errno != ENOENT)
        return cm_error_errno(err, "netns: remove '%s'", path);
    return 0;
}

/* ---- host ports ---- */

void
agent_port_pool_init(struct agent_port_pool *p, uint16_t lo, uint16_t hi, bool probe)
{
    memset(p, 0, sizeof *p);
    if (lo == 0)
        lo = 1;
    if (hi < lo)
        hi = lo;
    p->lo = lo;
    p->hi = hi;
    p->next = lo;
    p->probe = probe;
}

bool
agent_port_pool_is_used(const struct agent_port_pool *p, uint16_t port)
{
    return p->used[port / 8] & (1u << (port % 8));
}

static void
mark(struct agent_port_pool *p, uint16_t port, bool used)
{
    if (used)
        p->used[port / 8] |= (uint8_t)(1u << (port % 8));
    else
        p->used[port / 8] &= (uint8_t) ~(1u << (port % 8));
}

int
agent_port_pool_reserve(struct agent_port_pool *p, uint16_t port, struct cm_error **err)
{
    if (port == 0)
        return cm_error_set(err, 0, "host port 0 cannot be reserved");
    if (agent_port_pool_is_used(p, port))
        return cm_error_set(err, EADDRINUSE, "host port %u is already in use", port);
    mark(p, port, true);
    return 0;
}

void
agent_port_pool_release(struct agent_port_pool *p, uint16_t port)
{
    mark(p, port, false);
}

/* Whether someone outside the pool holds the port (bind test). */
static bool
port_free_on_host(uint16_t port, bool udp)
{
    cleanup_close int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

    if (fd < 0)
        return true; /* cannot tell: let CNI find out */
    return bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
}

int
agent_port_pool_assign(struct agent_port_pool *p, struct agent_port_mapping *pm, size_t n,
                       struct cm_error **err)
{
    cleanup_free bool *picked = xcalloc(n ? n : 1, sizeof *picked);
    size_t done;

    for (done = 0; done < n; done++) {
        uint32_t span = (uint32_t)p->hi - p->lo + 1;

        if (pm[done].host_port != 0) {
            if (agent_port_pool_reserve(p, pm[done].host_port, err) < 0)
                goto undo;
            continue;
        }
        for (uint32_t k = 0; k < span && !picked[done]; k++) {
            uint16_t port = (uint16_t)(p->lo + ((uint32_t)p->next - p->lo + k) % span);
            if (agent_port_pool_is_used(p, port))
                continue;
            if (p->probe && !port_free_on_host(port, pm[done].udp))
                continue;
            mark(p, port, true);
            pm[done].host_port = port;
            p->next = port == p->hi ? p->lo : (uint16_t)(port + 1);
            picked[done] = true;
        }
        if (!picked[done]) {
            cm_error_set(err, EADDRINUSE, "no free host port in %u-%u", p->lo, p->hi);
            goto undo;
        }
    }
    return 0;

undo:
    /* All or nothing: give back what this call took, forget picked ports. */
    for (size_t i = 0; i < done; i++) {
        agent_port_pool_release(p, pm[i].host_port);
        if (picked[i])
            pm[i].host_port = 0;
    }
    return -1;
}
