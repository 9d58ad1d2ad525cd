/* SPDX-License-Identifier: Apache-2.0 */
/* config.json for one container of a task: the image's config, the ECS
 * container definition, docker-like security defaults and the resources. */
#include "agent/bundle.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/json.h"
#include "cm/xalloc.h"
#include "img/spec.h"
#include "rt/security.h"

#define CAPBIT(c) (UINT64_C(1) << (c))

uint64_t
agent_default_caps(void)
{
    /* moby's oci/caps/defaults.go */
    return CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FSETID) | CAPBIT(CAP_FOWNER) |
           CAPBIT(CAP_MKNOD) | CAPBIT(CAP_NET_RAW) | CAPBIT(CAP_SETGID) | CAPBIT(CAP_SETUID) |
           CAPBIT(CAP_SETFCAP) | CAPBIT(CAP_SETPCAP) | CAPBIT(CAP_NET_BIND_SERVICE) |
           CAPBIT(CAP_SYS_CHROOT) | CAPBIT(CAP_KILL) | CAPBIT(CAP_AUDIT_WRITE);
}

static uint64_t
all_caps(void)
{
    int last = rt_cap_last();
    return last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

static int
cap_lookup(const char *name, int *ret, struct cm_error **err)
{
    cleanup_free char *full = NULL;
    int c;

    if (strncasecmp(name, "CAP_", 4) == 0)
        full = xstrdup(name);
    else
        full = xasprintf("CAP_%s", name);
    for (char *p = full; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    c = rt_cap_from_name(full);
    if (c < 0)
        return cm_error_set(err, 0, "unknown capability '%s'", name);
    *ret = c;
    return 0;
}

int
agent_caps_resolve(char *const *add, char *const *drop, bool privileged, uint64_t *ret,
                   struct cm_error **err)
{
    uint64_t caps = privileged ? all_caps() : agent_default_caps();

    /* Docker's order: drops first, then adds (an add beats a drop of ALL). */
    for (char *const *p = drop; p && *p; p++) {
        int c;
        if (strcasecmp(*p, "ALL") == 0) {
            caps = 0;
            continue;
        }
        if (cap_lookup(*p, &c, err) < 0)
            return cm_error_wrap(err, "linuxParameters.capabilities.drop");
        caps &= ~CAPBIT(c);
    }
    for (char *const *p = add; p && *p; p++) {
        int c;
        if (strcasecmp(*p, "ALL") == 0) {
            caps = all_caps();
            continue;
        }
        if (cap_lookup(*p, &c, err) < 0)
            return cm_error_wrap(err, "linuxParameters.capabilities.add");
        caps |= CAPBIT(c);
    }
    *ret = caps;
    return 0;
}

uint64_t
agent_cpu_shares(uint32_t cpu_units)
{
    /* The kernel's minimum; ECS maps an unset cpu to 2 as well. */
    return cpu_units < 2 ? 2 : cpu_units;
}

void
agent_task_cgroup_limits(uint32_t task_cpu, uint64_t task_memory_mib, int64_t *ret_quota_us,
                         uint64_t *ret_period_us, int64_t *ret_memory_bytes)
{
    *ret_period_us = AGENT_CFS_PERIOD_US;
    /* 1024 units = one CPU = one full period per period. */
    *ret_quota_us = task_cpu ? (int64_t)((uint64_t)task_cpu * AGENT_CFS_PERIOD_US / 1024) : -1;
    if (*ret_quota_us >= 0 && *ret_quota_us < 1000)
        *ret_quota_us = 1000; /* the kernel's minimum quota (1 ms) */
    *ret_memory_bytes = task_memory_mib ? (int64_t)(task_memory_mib << 20) : -1;
}

json_t *
agent_seccomp_to_json(const struct rt_seccomp *s)
{
    json_t *j = json_object();
    json_t *calls = json_array();

    json_object_set_new(j, "defaultAction", json_string(rt_seccomp_action_name(s->default_action)));
    if (s->has_default_errno_ret)
        json_object_set_new(j, "defaultErrnoRet", json_integer(s->default_errno_ret));
    if (s->architectures)
        json_object_set_new(j, "architectures", cm_json_array_from_strv(s->architectures));
    if (s->flags)
        json_object_set_new(j, "flags", cm_json_array_from_strv(s->flags));
    for (size_t i = 0; i < s->n_syscalls; i++) {
        const struct rt_seccomp_syscall *sc = &s->syscalls[i];
        json_t *o = json_pack("{s:o, s:s}", "names", cm_json_array_from_strv(sc->names), "action",
                              rt_seccomp_action_name(sc->action));
        if (sc->has_errno_ret)
            json_object_set_new(o, "errnoRet", json_integer(sc->errno_ret));
        if (sc->n_args) {
            json_t *args = json_array();
            for (size_t k = 0; k < sc->n_args; k++)
                json_array_append_new(args, json_pack("{s:I, s:I, s:I, s:s}", "index",
                                                      (json_int_t)sc->args[k].index, "value",
                                                      (json_int_t)sc->args[k].value, "valueTwo",
                                                      (json_int_t)sc->args[k].value_two, "op",
                                                      rt_seccomp_op_name(sc->args[k].op)));
            json_object_set_new(o, "args", args);
        }
        json_array_append_new(calls, o);
    }
    json_object_set_new(j, "syscalls", calls);
    return j;
}

static json_t *
caps_json(uint64_t caps)
{
    json_t *a = json_array();
    for (int c = 0; c <= rt_cap_last() && c < 64; c++) {
        const char *name = rt_cap_name(c);
        if ((caps & CAPBIT(c)) && name)
            json_array_append_new(a, json_string(name));
    }
    return a;
}

static json_t *
rlimits_json(const struct agent_container_def *d)
{
    json_t *a = json_array();
    for (size_t i = 0; i < d->n_ulimits; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:I, s:I}", "type", rt_rlimit_name(d->ulimits[i].resource), "soft",
                         (json_int_t)d->ulimits[i].soft, "hard", (json_int_t)d->ulimits[i].hard));
    return a;
}

static void
add_bind(json_t *mounts, const char *src, const char *dst, bool ro)
{
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s, s, s]}", "destination", dst,
                                            "type", "bind", "source", src, "options", "rbind",
                                            ro ? "ro" : "rw", "nosuid"));
}

/* The network namespace: the task's file, or none at all for host mode. */
static void
set_network_ns(json_t *linux_, const char *netns)
{
    json_t *nss = json_object_get(linux_, "namespaces");
    size_t i;
    json_t *ns;

    json_array_foreach (nss, i, ns) {
        if (strcmp(json_string_value(json_object_get(ns, "type")) ?: "", "network") != 0)
            continue;
        if (netns)
            json_object_set_new(ns, "path", json_string(netns));
        else
            json_array_remove(nss, i);
        return;
    }
    if (netns)
        json_array_append_new(nss, json_pack("{s:s, s:s}", "type", "network", "path", netns));
}

/* Privileged containers get a writable /sys, like docker's. */
static void
sysfs_rw(json_t *mounts)
{
    size_t i;
    json_t *m;

    json_array_foreach (mounts, i, m) {
        json_t *opts = json_object_get(m, "options");
        size_t k;
        json_t *o;
        if (strcmp(json_string_value(json_object_get(m, "destination")) ?: "", "/sys") != 0)
            continue;
        json_array_foreach (opts, k, o) {
            if (strcmp(json_string_value(o) ?: "", "ro") == 0) {
                json_array_set_new(opts, k, json_string("rw"));
                break;
            }
        }
    }
}

int
agent_bundle_config(const struct img_config *img, int rootfs_fd,
                    const struct agent_container_def *def, const struct agent_bundle_params *p,
                    json_t **ret, struct cm_error **err)
{
    struct img_spec_overrides ov = {
        .entrypoint = def->entry_point,
        .cmd = def->command,
        .env = def->environment,
        .workdir = def->working_directory,
        .user = def->user,
        .hostname = p->hostname ? p->hostname : "skiff",
    };
    json_auto_t *spec = NULL;
    json_t *process, *linux_, *mounts, *res, *ann;
    uint64_t caps;
    int64_t pids = p->pids_limit ? p->pids_limit : AGENT_DEFAULT_PIDS_LIMIT;
    cleanup_free char *cgpath = NULL;

    if (!p->task_id || !p->cgroup_parent || p->cgroup_parent[0] != '/')
        return cm_error_set(err, 0, "bundle: task id and an absolute cgroup parent are required");
    if (def->init_process_enabled && !p->init_path)
        return cm_error_set(err, 0,
                            "container '%s': initProcessEnabled, but this agent has no init "
                            "binary configured",
                            def->name);
    if (agent_caps_resolve(def->cap_add, def->cap_drop, def->privileged, &caps, err) < 0)
        return cm_error_wrap(err, "container '%s'", def->name);
    spec = img_spec_from_config(img, rootfs_fd, &ov, err);
    if (!spec)
        return cm_error_wrap(err, "container '%s'", def->name);
    process = json_object_get(spec, "process");
    linux_ = json_object_get(spec, "linux");
    mounts = json_object_get(spec, "mounts");
    ann = json_object_get(spec, "annotations");

    /* Security: docker's defaults unless privileged. */
    json_object_set_new(process, "capabilities",
                        json_pack("{s:o, s:o, s:o}", "bounding", caps_json(caps), "effective",
                                  caps_json(caps), "permitted", caps_json(caps)));
    json_object_set_new(process, "noNewPrivileges", json_boolean(!def->privileged));
    if (def->privileged) {
        json_object_del(linux_, "maskedPaths");
        json_object_del(linux_, "readonlyPaths");
        sysfs_rw(mounts);
    } else {
        struct rt_seccomp *sc = rt_seccomp_default_profile_for_caps(caps);
        json_object_set_new(linux_, "seccomp", agent_seccomp_to_json(sc));
        rt_seccomp_profile_free(sc);
    }
    if (def->n_ulimits)
        json_object_set_new(process, "rlimits", rlimits_json(def));
    if (def->readonly_root_filesystem)
        json_object_set_new(json_object_get(spec, "root"), "readonly", json_true());

    /* initProcessEnabled: a small init as pid 1 (docker's --init) reaps
     * zombies and passes signals on; it runs the command after "--". */
    if (def->init_process_enabled) {
        json_t *args = json_object_get(process, "args");
        json_array_insert_new(args, 0, json_string("--"));
        json_array_insert_new(args, 0, json_string("/dev/init"));
        add_bind(mounts, p->init_path, "/dev/init", true);
    }
    if (p->resolv_conf)
        add_bind(mounts, p->resolv_conf, "/etc/resolv.conf", true);
    if (p->hosts)
        add_bind(mounts, p->hosts, "/etc/hosts", true);

    /* Networking: the task's namespace, shared by its containers. */
    set_network_ns(linux_, p->netns);

    /* Resources. */
    res = json_object();
    json_object_set_new(res, "cpu",
                        json_pack("{s:I}", "shares", (json_int_t)agent_cpu_shares(def->cpu)));
    if (def->memory || def->memory_reservation) {
        json_t *mem = json_object();
        if (def->memory) {
            json_int_t b = (json_int_t)(def->memory << 20);
            json_object_set_new(mem, "limit", json_integer(b));
            json_object_set_new(mem, "swap", json_integer(b)); /* no swap on top */
        }
        if (def->memory_reservation)
            json_object_set_new(mem, "reservation",
                                json_integer((json_int_t)(def->memory_reservation << 20)));
        json_object_set_new(res, "memory", mem);
    }
    if (pids > 0)
        json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)pids));
    json_object_set_new(linux_, "resources", res);
    cgpath = xasprintf("%s/%s", p->cgroup_parent, def->name);
    json_object_set_new(linux_, "cgroupsPath", json_string(cgpath));

    json_object_set_new(ann, AGENT_ANN_TASK, json_string(p->task_id));
    json_object_set_new(ann, AGENT_ANN_CONTAINER, json_string(def->name));
    {
        char t[16];
        snprintf(t, sizeof t, "%u",
                 def->stop_timeout ? def->stop_timeout : AGENT_DEFAULT_STOP_TIMEOUT);
        json_object_set_new(ann, AGENT_ANN_STOP_TIMEOUT, json_string(t));
    }
    *ret = TAKE_PTR(spec);
    return 0;
}
