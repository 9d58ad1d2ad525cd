/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the config.json parser: a full round trip, the default
 * spec, every error class with its field path, hostile inputs, mount options. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "full_config.h"
#include "rt/config.h"

#define BIT(c) (UINT64_C(1) << (c))

static struct rt_config *
parse_ok(const char *text)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_config *c = NULL;
    int r = rt_config_parse(text, strlen(text), "config.json", &c, &err);
    cr_assert_eq(r, 0, "parse failed: %s", err ? err->msg : "?");
    cr_assert_not_null(c);
    return c;
}

/* Returns the error message (owned) of a parse that must fail. */
static char *
parse_fail(const char *text)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_config *c = NULL;
    int r = rt_config_parse(text, strlen(text), "config.json", &c, &err);
    cr_assert_eq(r, -1, "parse unexpectedly succeeded:\n%s", text);
    cr_assert_null(c);
    cr_assert_not_null(err);
    return xstrdup(err->msg);
}

static const char *
find_mount(const struct rt_config *c, const char *dest, const struct rt_mount **ret)
{
    for (size_t i = 0; i < c->n_mounts; i++)
        if (strcmp(c->mounts[i].destination, dest) == 0) {
            *ret = &c->mounts[i];
            return dest;
        }
    cr_assert_fail("no mount at %s", dest);
    return NULL;
}

Test(rt_config, full_config_round_trip)
{
    cleanup_rt_config struct rt_config *c = parse_ok(full_config);
    const struct rt_process *p = &c->process;

    cr_assert_str_eq(c->oci_version, "1.1.0");
    cr_assert(c->has_process);
    cr_assert(p->terminal);
    cr_assert(p->has_console_size);
    cr_assert_eq(p->console_size.height, 25);
    cr_assert_eq(p->console_size.width, 80);
    cr_assert_eq(p->user.uid, 1000);
    cr_assert_eq(p->user.gid, 1001);
    cr_assert(p->user.has_umask);
    cr_assert_eq(p->user.umask, 022);
    cr_assert_eq(p->user.n_additional_gids, 2);
    cr_assert_eq(p->user.additional_gids[0], 5);
    cr_assert_eq(p->user.additional_gids[1], 6);
    cr_assert_str_eq(p->user.username, "bob");
    cr_assert_str_eq(p->args[0], "/bin/sh");
    cr_assert_str_eq(p->args[2], "echo hi");
    cr_assert_null(p->args[3]);
    cr_assert_str_eq(p->command_line, "sh -c 'echo hi'");
    cr_assert_str_eq(p->env[2], "EMPTY=");
    cr_assert_null(p->env[3]);
    cr_assert_str_eq(p->cwd, "/home/bob");
    cr_assert(p->caps.present);
    cr_assert_eq(p->caps.bounding, BIT(0) | BIT(5) | BIT(40));
    cr_assert_eq(p->caps.effective, BIT(5));
    cr_assert_eq(p->caps.inheritable, 0);
    cr_assert_eq(p->caps.permitted, BIT(5) | BIT(21));
    cr_assert_eq(p->caps.ambient, BIT(10));
    cr_assert_eq(p->n_rlimits, 2);
    cr_assert_eq(p->rlimits[0].resource, RLIMIT_NOFILE);
    cr_assert_str_eq(p->rlimits[0].type, "RLIMIT_NOFILE");
    cr_assert_eq(p->rlimits[0].hard, 4096);
    cr_assert_eq(p->rlimits[0].soft, 1024);
    cr_assert_eq(p->rlimits[1].resource, RLIMIT_CORE);
    cr_assert_eq(p->rlimits[1].hard, UINT64_MAX); /* the big-integer fallback */
    cr_assert_eq(p->rlimits[1].soft, 0);
    cr_assert(p->no_new_privileges);
    cr_assert_str_eq(p->apparmor_profile, "acme_secure_profile");
    cr_assert(p->has_oom_score_adj);
    cr_assert_eq(p->oom_score_adj, -500);
    cr_assert_str_eq(p->selinux_label, "system_u:system_r:svirt_lxc_net_t:s0:c124,c675");
    cr_assert(p->has_io_priority);
    cr_assert_eq(p->io_priority.klass, 2);
    cr_assert_eq(p->io_priority.priority, 4);
    cr_assert(p->has_scheduler);
    cr_assert_eq(p->scheduler.policy, 3);
    cr_assert_eq(p->scheduler.nice, 5);
    cr_assert_eq(p->scheduler.flags, 0x11);
    cr_assert_eq(p->scheduler.runtime, 10);
    cr_assert_eq(p->scheduler.deadline, 20);
    cr_assert_eq(p->scheduler.period, 30);
    cr_assert_str_eq(p->exec_cpu_affinity_initial, "0");
    cr_assert_str_eq(p->exec_cpu_affinity_final, "1-3,5");

    cr_assert_str_eq(c->root.path, "rootfs");
    cr_assert(c->root.readonly);
    cr_assert_str_eq(c->hostname, "box");
    cr_assert_str_eq(c->domainname, "example.org");

    cr_assert_eq(c->n_mounts, 4);
    const struct rt_mount *m = &c->mounts[0];
    cr_assert_str_eq(m->destination, "/proc");
    cr_assert_str_eq(m->type, "proc");
    cr_assert_str_eq(m->source, "proc");
    cr_assert_null(m->options);
    cr_assert_eq(m->flags, 0);
    cr_assert_null(m->data);
    m = &c->mounts[1];
    cr_assert_eq(m->flags, MS_NOSUID | MS_STRICTATIME);
    cr_assert_str_eq(m->data, "mode=755,size=65536k");
    cr_assert_str_eq(m->options[3], "size=65536k");
    m = &c->mounts[2];
    cr_assert(m->bind && m->recursive);
    cr_assert_eq(m->flags, MS_BIND | MS_REC);
    cr_assert_eq(m->clear, MS_RDONLY);
    cr_assert_eq(m->propagation, MS_SLAVE | MS_REC);
    cr_assert_eq(m->rec_attr_set, MOUNT_ATTR_RDONLY);
    cr_assert_null(m->data); /* tmpcopyup dropped */
    m = &c->mounts[3];
    cr_assert_str_eq(m->destination, "/relative/dir");
    cr_assert(m->bind && !m->recursive);
    cr_assert_eq(m->flags, MS_BIND | MS_RDONLY);
    cr_assert(m->idmap);
    cr_assert_eq(m->n_uid_mappings, 1);
    cr_assert_eq(m->uid_mappings[0].host_id, 100000);
    cr_assert_eq(m->uid_mappings[0].size, 65536);
    cr_assert_eq(m->n_gid_mappings, 1);
    cr_assert_eq(m->gid_mappings[0].host_id, 200000);

    const struct rt_hooks *h = &c->hooks;
    cr_assert_eq(h->n_hooks[RT_HOOK_PRESTART], 1);
    cr_assert_str_eq(h->hooks[RT_HOOK_PRESTART][0].path, "/usr/bin/fix-mounts");
    cr_assert_str_eq(h->hooks[RT_HOOK_PRESTART][0].args[1], "a");
    cr_assert_str_eq(h->hooks[RT_HOOK_PRESTART][0].env[0], "K=v");
    cr_assert_not(h->hooks[RT_HOOK_PRESTART][0].has_timeout);
    cr_assert_eq(h->n_hooks[RT_HOOK_CREATE_RUNTIME], 2);
    cr_assert_null(h->hooks[RT_HOOK_CREATE_RUNTIME][0].args);
    cr_assert(h->hooks[RT_HOOK_CREATE_RUNTIME][1].has_timeout);
    cr_assert_eq(h->hooks[RT_HOOK_CREATE_RUNTIME][1].timeout, 5);
    cr_assert_str_eq(h->hooks[RT_HOOK_CREATE_CONTAINER][0].path, "/bin/cc");
    cr_assert_str_eq(h->hooks[RT_HOOK_START_CONTAINER][0].path, "/bin/sc");
    cr_assert_eq(h->hooks[RT_HOOK_POSTSTART][0].timeout, 1);
    cr_assert_str_eq(h->hooks[RT_HOOK_POSTSTOP][0].path, "/bin/pst");

    cr_assert_eq(c->n_annotations, 2);
    cr_assert_str_eq(c->annotations[0].key, "com.example.key1");
    cr_assert_str_eq(c->annotations[0].value, "value1");
    cr_assert_str_eq(c->annotations[1].value, "");

    const struct rt_linux *l = &c->linux_;
    cr_assert_eq(l->n_namespaces, 8);
    cr_assert_eq(l->namespaces[1].type, RT_NS_NETWORK);
    cr_assert_str_eq(l->namespaces[1].path, "/var/run/netns/neta");
    cr_assert_null(l->namespaces[0].path);
    cr_assert_eq(rt_config_namespace(c, RT_NS_TIME), &l->namespaces[7]);
    cr_assert_eq(rt_config_namespace(c, RT_NS_NETWORK), &l->namespaces[1]);
    cr_assert_eq(l->n_uid_mappings, 1);
    cr_assert_eq(l->uid_mappings[0].container_id, 0);
    cr_assert_eq(l->uid_mappings[0].host_id, 1000);
    cr_assert_eq(l->uid_mappings[0].size, 32000);
    cr_assert_eq(l->n_gid_mappings, 2);
    cr_assert_eq(l->gid_mappings[1].container_id, 16000);
    cr_assert(l->time_monotonic.present);
    cr_assert_eq(l->time_monotonic.secs, -86400);
    cr_assert_eq(l->time_monotonic.nanosecs, 5);
    cr_assert(l->time_boottime.present);
    cr_assert_eq(l->time_boottime.secs, 3600);
    cr_assert_eq(l->n_devices, 3);
    cr_assert_eq(l->devices[0].type, 'c');
    cr_assert_str_eq(l->devices[0].path, "/dev/fuse");
    cr_assert_eq(l->devices[0].major, 10);
    cr_assert_eq(l->devices[0].minor, 229);
    cr_assert(l->devices[0].has_mode);
    cr_assert_eq(l->devices[0].mode, 0666);
    cr_assert(l->devices[0].has_uid && l->devices[0].has_gid);
    cr_assert_not(l->devices[1].has_mode);
    cr_assert_eq(l->devices[2].type, 'p');
    cr_assert_str_eq(l->cgroups_path, "/myRuntime/myContainer");

    cr_assert(l->has_resources);
    const struct rt_resources *r = &l->resources;
    cr_assert_eq(r->n_devices, 3);
    cr_assert_not(r->devices[0].allow);
    cr_assert_eq(r->devices[0].type, 'a');
    cr_assert_eq(r->devices[0].major, -1);
    cr_assert_str_eq(r->devices[0].access, "rwm");
    cr_assert(r->devices[1].allow);
    cr_assert_eq(r->devices[1].type, 'c');
    cr_assert_eq(r->devices[1].minor, 229);
    cr_assert_str_eq(r->devices[1].access, "rw");
    cr_assert_eq(r->devices[2].minor, -1);
    cr_assert_str_eq(r->devices[2].access, "rwm");
    cr_assert(r->has_memory);
    cr_assert(r->memory.has_limit);
    cr_assert_eq(r->memory.limit, 536870912);
    cr_assert_eq(r->memory.reservation, 268435456);
    cr_assert_eq(r->memory.swap, -1);
    cr_assert(r->memory.has_kernel);
    cr_assert_eq(r->memory.kernel, 0);
    cr_assert_eq(r->memory.kernel_tcp, 1024);
    cr_assert_eq(r->memory.swappiness, 60);
    cr_assert(r->memory.has_disable_oom_killer && r->memory.disable_oom_killer);
    cr_assert(r->memory.has_use_hierarchy && !r->memory.use_hierarchy);
    cr_assert(r->memory.has_check_before_update && r->memory.check_before_update);
    cr_assert(r->has_cpu);
    cr_assert_eq(r->cpu.shares, 1024);
    cr_assert_eq(r->cpu.quota, 1000000);
    cr_assert_eq(r->cpu.burst, 5000);
    cr_assert_eq(r->cpu.period, 500000);
    cr_assert_eq(r->cpu.realtime_runtime, 950000);
    cr_assert_eq(r->cpu.realtime_period, 1000000);
    cr_assert_str_eq(r->cpu.cpus, "2-3");
    cr_assert_str_eq(r->cpu.mems, "0-7");
    cr_assert(r->cpu.has_idle);
    cr_assert_eq(r->cpu.idle, 1);
    cr_assert(r->has_pids);
    cr_assert_eq(r->pids_limit, 32771);
    cr_assert(r->has_blkio);
    cr_assert_eq(r->blkio.weight, 10);
    cr_assert_eq(r->blkio.leaf_weight, 10);
    cr_assert_eq(r->blkio.n_weight_device, 2);
    cr_assert_eq(r->blkio.weight_device[0].leaf_weight, 300);
    cr_assert_not(r->blkio.weight_device[1].has_leaf_weight);
    cr_assert_eq(r->blkio.weight_device[1].minor, 16);
    cr_assert_eq(r->blkio.throttle_read_bps[0].rate, 600);
    cr_assert_eq(r->blkio.throttle_write_bps[0].minor, 1);
    cr_assert_eq(r->blkio.throttle_read_iops[0].rate, 800);
    cr_assert_eq(r->blkio.n_throttle_write_iops, 2);
    cr_assert_eq(r->blkio.throttle_write_iops[1].rate, 901);
    cr_assert_eq(r->n_hugepage_limits, 2);
    cr_assert_str_eq(r->hugepage_limits[0].page_size, "2MB");
    cr_assert_eq(r->hugepage_limits[0].limit, 209715200);
    cr_assert(r->has_network && r->has_class_id);
    cr_assert_eq(r->class_id, 1048577);
    cr_assert_eq(r->n_priorities, 2);
    cr_assert_str_eq(r->priorities[1].name, "eth1");
    cr_assert_eq(r->priorities[1].priority, 1000);
    cr_assert_eq(r->n_rdma, 1);
    cr_assert_str_eq(r->rdma[0].device, "mlx5_1");
    cr_assert_eq(r->rdma[0].hca_objects, 10000);
    cr_assert_eq(r->n_unified, 2);
    cr_assert_str_eq(r->unified[1].key, "memory.high");
    cr_assert_str_eq(r->unified[1].value, "max");

    cr_assert_eq(l->rootfs_propagation, RT_PROPAGATION_RSLAVE);
    const struct rt_seccomp *s = l->seccomp;
    cr_assert_not_null(s);
    cr_assert_eq(s->default_action, RT_SCMP_ERRNO);
    cr_assert(s->has_default_errno_ret);
    cr_assert_eq(s->default_errno_ret, 38);
    cr_assert_str_eq(s->architectures[2], "SCMP_ARCH_X32");
    cr_assert_str_eq(s->flags[0], "SECCOMP_FILTER_FLAG_LOG");
    cr_assert_str_eq(s->listener_path, "/run/seccomp-agent.sock");
    cr_assert_str_eq(s->listener_metadata, "meta");
    cr_assert_eq(s->n_syscalls, 10);
    cr_assert_str_eq(s->syscalls[0].names[1], "write");
    cr_assert_eq(s->syscalls[1].action, RT_SCMP_ERRNO);
    cr_assert_eq(s->syscalls[1].errno_ret, 1);
    cr_assert_eq(s->syscalls[2].n_args, 2);
    cr_assert_eq(s->syscalls[2].args[0].value, 4294967295u);
    cr_assert_eq(s->syscalls[2].args[0].op, RT_SCMP_CMP_EQ);
    cr_assert_eq(s->syscalls[2].args[1].index, 5);
    cr_assert_eq(s->syscalls[2].args[1].value_two, 8);
    cr_assert_eq(s->syscalls[2].args[1].op, RT_SCMP_CMP_MASKED_EQ);
    cr_assert_eq(s->syscalls[3].action, RT_SCMP_NOTIFY);
    cr_assert_eq(s->syscalls[4].action, RT_SCMP_KILL_PROCESS);
    cr_assert_eq(s->syscalls[5].action, RT_SCMP_KILL_THREAD);
    cr_assert_eq(s->syscalls[6].action, RT_SCMP_KILL);
    cr_assert_eq(s->syscalls[7].action, RT_SCMP_LOG);
    cr_assert_eq(s->syscalls[8].action, RT_SCMP_TRACE);
    cr_assert_eq(s->syscalls[8].errno_ret, 7);
    cr_assert_eq(s->syscalls[9].action, RT_SCMP_TRAP);
    cr_assert_eq(l->n_sysctl, 2);
    cr_assert_str_eq(l->sysctl[0].key, "net.ipv4.ip_forward");
    cr_assert_str_eq(l->sysctl[1].value, "256");
    cr_assert_str_eq(l->masked_paths[1], "/proc/keys");
    cr_assert_null(l->masked_paths[2]);
    cr_assert_str_eq(l->readonly_paths[0], "/proc/sys");
    cr_assert_str_eq(l->mount_label, "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811");
    cr_assert(l->has_personality);
    cr_assert_str_eq(l->personality_domain, "LINUX32");
    cr_assert_null(l->personality_flags[0]);
    cr_assert(l->has_intel_rdt);
    cr_assert_str_eq(l->intel_rdt_clos_id, "guaranteed_group");
    cr_assert_str_eq(l->intel_rdt_l3_cache_schema, "L3:0=7f0");
    cr_assert_str_eq(l->intel_rdt_mem_bw_schema, "MB:0=20");
    cr_assert_str_eq(l->intel_rdt_schemata, "L2:0=f");
    cr_assert(l->intel_rdt_enable_cmt && !l->intel_rdt_enable_mbm);
}

Test(rt_config, minimal_config_defaults)
{
    cleanup_rt_config struct rt_config *c =
        parse_ok("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"/abs/rootfs\"}}");
    cr_assert_not(c->has_process);
    cr_assert_str_eq(c->root.path, "/abs/rootfs");
    cr_assert_not(c->root.readonly);
    cr_assert_eq(c->n_mounts, 0);
    cr_assert_eq(c->linux_.n_namespaces, 0);
    cr_assert_null(rt_config_namespace(c, RT_NS_PID));
    cr_assert_null(c->linux_.seccomp);
    cr_assert_not(c->linux_.has_resources);
    cr_assert_eq(c->linux_.rootfs_propagation, RT_PROPAGATION_DEFAULT);
}

Test(rt_config, process_defaults_and_nulls)
{
    /* Go writes null for nil slices: null means absent. */
    cleanup_rt_config struct rt_config *c =
        parse_ok("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"r\"}, \"mounts\": null,"
                 " \"process\": {\"args\": [\"x\"], \"cwd\": \"/\", \"env\": null,"
                 " \"user\": {\"uid\": 0, \"gid\": 0}}, \"linux\": {\"sysctl\": null}}");
    cr_assert_not_null(c->process.env);
    cr_assert_null(c->process.env[0]);
    cr_assert_not(c->process.caps.present);
    cr_assert_not(c->process.user.has_umask);
    cr_assert_not(c->process.has_oom_score_adj);
    cr_assert_eq(c->n_mounts, 0);
}

static void
check_default_spec(bool rootless)
{
    cleanup_free char *text = rt_config_default_spec(rootless);
    cleanup_rt_config struct rt_config *c = parse_ok(text);
    const struct rt_mount *m = NULL;

    cr_assert(c->has_process);
    cr_assert(c->process.terminal);
    cr_assert_str_eq(c->process.args[0], "sh");
    cr_assert_str_eq(c->process.cwd, "/");
    cr_assert(c->process.no_new_privileges);
    uint64_t caps = BIT(29) | BIT(5) | BIT(10); /* AUDIT_WRITE, KILL, NET_BIND_SERVICE */
    cr_assert_eq(c->process.caps.bounding, caps);
    cr_assert_eq(c->process.caps.effective, caps);
    cr_assert_eq(c->process.caps.permitted, caps);
    cr_assert_eq(c->process.n_rlimits, 1);
    cr_assert_eq(c->process.rlimits[0].resource, RLIMIT_NOFILE);
    cr_assert_str_eq(c->root.path, "rootfs");
    cr_assert(c->root.readonly);
    cr_assert_eq(c->n_mounts, 7);
    find_mount(c, "/proc", &m);
    find_mount(c, "/dev/pts", &m);
    cr_assert_eq(m->flags, MS_NOSUID | MS_NOEXEC);
    cr_assert_eq(strstr(m->data, "gid=5") != NULL, !rootless);
    find_mount(c, "/dev/shm", &m);
    find_mount(c, "/dev/mqueue", &m);
    find_mount(c, "/sys/fs/cgroup", &m);
    cr_assert_eq(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
    find_mount(c, "/dev", &m);
    cr_assert_str_eq(m->data, "mode=755,size=65536k");
    find_mount(c, "/sys", &m);
    if (rootless) {
        cr_assert(m->bind && m->recursive);
        cr_assert_str_eq(m->source, "/sys");
    } else {
        cr_assert_str_eq(m->type, "sysfs");
        cr_assert_not(m->bind);
    }
    cr_assert(m->flags & MS_RDONLY);
    cr_assert_not_null(rt_config_namespace(c, RT_NS_PID));
    cr_assert_not_null(rt_config_namespace(c, RT_NS_IPC));
    cr_assert_not_null(rt_config_namespace(c, RT_NS_UTS));
    cr_assert_not_null(rt_config_namespace(c, RT_NS_MOUNT));
    cr_assert_not_null(rt_config_namespace(c, RT_NS_CGROUP));
    cr_assert_eq(rt_config_namespace(c, RT_NS_NETWORK) == NULL, rootless);
    cr_assert_eq(rt_config_namespace(c, RT_NS_USER) != NULL, rootless);
    cr_assert_eq(cm_strv_len(c->linux_.masked_paths), 10);
    cr_assert_eq(cm_strv_len(c->linux_.readonly_paths), 5);
    if (rootless) {
        cr_assert_eq(c->linux_.n_uid_mappings, 1);
        cr_assert_eq(c->linux_.uid_mappings[0].host_id, geteuid());
        cr_assert_eq(c->linux_.uid_mappings[0].size, 1);
        cr_assert_eq(c->linux_.gid_mappings[0].host_id, getegid());
        cr_assert_not(c->linux_.has_resources);
    } else {
        cr_assert_eq(c->linux_.resources.n_devices, 1);
        cr_assert_not(c->linux_.resources.devices[0].allow);
    }
}

Test(rt_config, default_spec_round_trip)
{
    check_default_spec(false);
}

Test(rt_config, default_spec_rootless_round_trip)
{
    check_default_spec(true);
}

/* ---- error classes ----------------------------------------------------- */

static const char base_config[] = "{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": \"rootfs\"},"
                                  " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\":"
                                  " [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1, \"hard\": 2}]},"
                                  " \"linux\": {\"namespaces\": [{\"type\": \"uts\"}]}}";

/* Sets (or with value "null"... "DELETE" removes) a dotted path in a JSON tree. */
static void
set_path(json_t *root, const char *path, const char *value)
{
    cleanup_free char *copy = xstrdup(path);
    json_t *o = root;
    char *save = NULL, *tok = strtok_r(copy, ".", &save);
    for (;;) {
        char *next = strtok_r(NULL, ".", &save);
        if (!next) {
            if (strcmp(value, "DELETE") == 0) {
                json_object_del(o, tok);
                return;
            }
            json_error_t jerr;
            json_t *v = json_loads(value, JSON_DECODE_ANY, &jerr);
            cr_assert_not_null(v, "bad test value %s: %s", value, jerr.text);
            json_object_set_new(o, tok, v);
            return;
        }
        json_t *child = json_object_get(o, tok);
        if (!child) {
            child = json_object();
            json_object_set_new(o, tok, child);
        }
        o = child;
        tok = next;
    }
}

struct err_case {
    const char *path, *value;
    const char *path2, *value2;
    const char *msg; /* expected, after "config.json: " */
};

static char *
mutated(const char *base, const struct err_case *e)
{
    json_error_t jerr;
    json_t *root = json_loads(base, 0, &jerr);
    cr_assert_not_null(root, "%s", jerr.text);
    if (e->path)
        set_path(root, e->path, e->value);
    if (e->path2)
        set_path(root, e->path2, e->value2);
    char *s = json_dumps(root, 0);
    json_decref(root);
    return s;
}

static struct err_case err_cases[] = {
    {"linux.resources.memory.limit", "\"big\"", 0, 0,
     "linux.resources.memory.limit: expected an integer"},
    {"linux.resources.memory.limit", "1.5", 0, 0,
     "linux.resources.memory.limit: expected an integer"},
    {"process.capabilities", "{\"bounding\": [\"CAP_KILL\", \"CAP_CHOWN\", \"CAP_FOO\"]}", 0, 0,
     "process.capabilities.bounding[2]: unknown capability 'CAP_FOO'"},
    {"process.capabilities", "{\"ambient\": [\"cap_kill\"]}", 0, 0,
     "process.capabilities.ambient[0]: unknown capability 'cap_kill'"},
    {"process.capabilities", "[\"CAP_KILL\"]", 0, 0, "process.capabilities: expected an object"},
    {"linux.namespaces", "[{\"type\": \"pid\"}, {\"type\": \"foo\"}]", 0, 0,
     "linux.namespaces[1].type: unknown namespace type 'foo'"},
    {"linux.namespaces", "[{\"type\": \"pid\"}, {\"type\": \"uts\"}, {\"type\": \"pid\"}]", 0, 0,
     "linux.namespaces[2].type: duplicate namespace type 'pid'"},
    {"linux.namespaces", "[{\"type\": \"uts\", \"path\": \"proc/1/ns/uts\"}]", 0, 0,
     "linux.namespaces[0].path: must be an absolute path"},
    {"linux.namespaces", "[\"pid\"]", 0, 0, "linux.namespaces[0]: expected an object"},
    {"process.cwd", "\"relative\"", 0, 0, "process.cwd: must be an absolute path"},
    {"process.cwd", "DELETE", 0, 0, "process.cwd: required field missing"},
    {"process.args", "[]", 0, 0, "process.args: must contain at least one element"},
    {"process.args", "DELETE", 0, 0, "process.args: required field missing"},
    {"process.args", "[\"sh\", 1]", 0, 0, "process.args[1]: expected a string"},
    {"process.env", "[\"A=1\", \"NOEQ\"]", 0, 0, "process.env[1]: expected KEY=value"},
    {"process.env", "[\"=x\"]", 0, 0, "process.env[0]: expected KEY=value"},
    {"process.rlimits", "[{\"type\": \"RLIMIT_FOO\", \"soft\": 1, \"hard\": 1}]", 0, 0,
     "process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'"},
    {"process.rlimits",
     "[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1, \"hard\": 1},"
     " {\"type\": \"RLIMIT_NOFILE\", \"soft\": 2, \"hard\": 2}]",
     0, 0, "process.rlimits[1].type: duplicate rlimit 'RLIMIT_NOFILE'"},
    {"process.rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"soft\": -1, \"hard\": 1}]", 0, 0,
     "process.rlimits[0].soft: expected a non-negative integer"},
    {"process.rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 2048, \"hard\": 1024}]", 0, 0,
     "process.rlimits[0]: soft limit 2048 exceeds hard limit 1024"},
    {"process.rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1}]", 0, 0,
     "process.rlimits[0].hard: required field missing"},
    {"process.user", "{\"uid\": -1, \"gid\": 0}", 0, 0,
     "process.user.uid: expected a non-negative integer"},
    {"process.user", "{\"uid\": 4294967296, \"gid\": 0}", 0, 0,
     "process.user.uid: 4294967296 is out of range (max 4294967295)"},
    {"process.user", "{\"gid\": 0}", 0, 0, "process.user.uid: required field missing"},
    {"process.user", "{\"uid\": 0, \"gid\": 0, \"umask\": 512}", 0, 0,
     "process.user.umask: 512 is out of range (max 511)"},
    {"process.user", "{\"uid\": 0, \"gid\": 0, \"additionalGids\": [1, \"2\"]}", 0, 0,
     "process.user.additionalGids[1]: expected a non-negative integer"},
    {"process.oomScoreAdj", "1001", 0, 0,
     "process.oomScoreAdj: 1001 is out of range (-1000..1000)"},
    {"process.terminal", "\"yes\"", 0, 0, "process.terminal: expected a boolean"},
    {"process.consoleSize", "{\"height\": 1}", 0, 0,
     "process.consoleSize.width: required field missing"},
    {"process.ioPriority", "{\"class\": \"IOPRIO_CLASS_X\"}", 0, 0,
     "process.ioPriority.class: unknown I/O priority class 'IOPRIO_CLASS_X'"},
    {"process.ioPriority", "{\"class\": \"IOPRIO_CLASS_RT\", \"priority\": 8}", 0, 0,
     "process.ioPriority.priority: 8 is out of range (0..7)"},
    {"process.scheduler", "{\"policy\": \"SCHED_X\"}", 0, 0,
     "process.scheduler.policy: unknown scheduling policy 'SCHED_X'"},
    {"process.scheduler", "{\"policy\": \"SCHED_RR\", \"flags\": [\"SCHED_FLAG_NO\"]}", 0, 0,
     "process.scheduler.flags[0]: unknown scheduler flag 'SCHED_FLAG_NO'"},
    {"process", "\"str\"", 0, 0, "process: expected an object"},
    {"root", "DELETE", 0, 0, "root: required field missing"},
    {"root.path", "5", 0, 0, "root.path: expected a string"},
    {"root.path", "\"\"", 0, 0, "root.path: must not be empty"},
    {"root.readonly", "1", 0, 0, "root.readonly: expected a boolean"},
    {"ociVersion", "DELETE", 0, 0, "ociVersion: required field missing"},
    {"ociVersion", "1", 0, 0, "ociVersion: expected a string"},
    {"ociVersion", "\"invalid\"", 0, 0, "ociVersion: 'invalid' is not a SemVer version"},
    {"ociVersion", "\"\"", 0, 0, "ociVersion: '' is not a SemVer version"},
    {"ociVersion", "\"1.0\"", 0, 0, "ociVersion: '1.0' is not a SemVer version"},
    {"ociVersion", "\"1.01.0\"", 0, 0, "ociVersion: '1.01.0' is not a SemVer version"},
    {"ociVersion", "\"1.0.0-\"", 0, 0, "ociVersion: '1.0.0-' is not a SemVer version"},
    {"ociVersion", "\"1.0.0-rc.01\"", 0, 0, "ociVersion: '1.0.0-rc.01' is not a SemVer version"},
    {"ociVersion", "\"1.0.0 \"", 0, 0, "ociVersion: '1.0.0 ' is not a SemVer version"},
    {"ociVersion", "\"2.0.0\"", 0, 0, "ociVersion: version '2.0.0' is not supported (1.x only)"},
    {"ociVersion", "\"10.0.0\"", 0, 0, "ociVersion: version '10.0.0' is not supported (1.x only)"},
    {"hostname", "[]", 0, 0, "hostname: expected a string"},
    {"hostname", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", 0, 0,
     "hostname: too long (65 bytes, max 64)"},
    {"mounts", "{}", 0, 0, "mounts: expected an array"},
    {"mounts", "[{\"type\": \"tmpfs\"}]", 0, 0, "mounts[0].destination: required field missing"},
    {"mounts", "[{\"destination\": \"/a\"}, {\"destination\": \"\"}]", 0, 0,
     "mounts[1].destination: must not be empty"},
    {"mounts", "[{\"destination\": \"/a\", \"options\": [\"ro\", 7]}]", 0, 0,
     "mounts[0].options[1]: expected a string"},
    {"mounts", "[{\"destination\": \"/a\", \"uidMappings\": [{\"containerID\": 0}]}]", 0, 0,
     "mounts[0].uidMappings[0].hostID: required field missing"},
    {"hooks", "{\"prestart\": [{\"path\": \"rel\"}]}", 0, 0,
     "hooks.prestart[0].path: must be an absolute path"},
    {"hooks", "{\"createContainer\": [{\"args\": []}]}", 0, 0,
     "hooks.createContainer[0].path: required field missing"},
    {"hooks", "{\"poststop\": [{\"path\": \"/x\", \"timeout\": 0}]}", 0, 0,
     "hooks.poststop[0].timeout: must be greater than 0"},
    {"hooks", "{\"poststart\": [{\"path\": \"/x\"}, {\"path\": \"/x\", \"timeout\": -3}]}", 0, 0,
     "hooks.poststart[1].timeout: must be greater than 0"},
    {"hooks", "{\"startContainer\": [{\"path\": \"/x\", \"timeout\": \"5\"}]}", 0, 0,
     "hooks.startContainer[0].timeout: expected an integer"},
    {"hooks", "{\"createRuntime\": {}}", 0, 0, "hooks.createRuntime: expected an array"},
    {"annotations", "{\"a\": 1}", 0, 0, "annotations['a']: expected a string"},
    {"annotations", "{\"\": \"x\"}", 0, 0, "annotations: keys must not be empty"},
    {"linux", "[]", 0, 0, "linux: expected an object"},
    {"linux.uidMappings", "[{\"containerID\": 0, \"hostID\": 0}]", 0, 0,
     "linux.uidMappings[0].size: required field missing"},
    {"linux.gidMappings", "[{\"containerID\": 0, \"hostID\": 0, \"size\": 0}]", 0, 0,
     "linux.gidMappings[0].size: must be greater than 0"},
    {"linux.gidMappings", "[{\"containerID\": 0, \"hostID\": 4294967295, \"size\": 2}]", 0, 0,
     "linux.gidMappings[0].size: range exceeds the 32-bit id space"},
    {"linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"x\"}]", 0, 0,
     "linux.devices[0].type: unknown device type 'x' (c, b, u or p)"},
    {"linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 1}]", 0, 0,
     "linux.devices[0].minor: required field missing"},
    {"linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"u\", \"minor\": 1}]", 0, 0,
     "linux.devices[0].major: required field missing"},
    {"linux.devices", "[{\"path\": \"dev/x\", \"type\": \"p\"}]", 0, 0,
     "linux.devices[0].path: must be an absolute path"},
    {"linux.devices", "[{\"path\": \"/dev/x\", \"type\": \"p\", \"fileMode\": 65535}]", 0, 0,
     "linux.devices[0].fileMode: 65535 is out of range (max 4095)"},
    {"linux.resources.devices", "[{\"allow\": true, \"access\": \"rwx\"}]", 0, 0,
     "linux.resources.devices[0].access: invalid access 'rwx' (a subset of \"rwm\")"},
    {"linux.resources.devices", "[{\"access\": \"r\"}]", 0, 0,
     "linux.resources.devices[0].allow: required field missing"},
    {"linux.resources.devices", "[{\"allow\": true, \"type\": \"p\"}]", 0, 0,
     "linux.resources.devices[0].type: unknown device type 'p' (a, c or b)"},
    {"linux.resources.devices", "[{\"allow\": true, \"major\": -2}]", 0, 0,
     "linux.resources.devices[0].major: -2 is out of range (-1..9223372036854775807)"},
    {"linux.resources.memory.swappiness", "101", 0, 0,
     "linux.resources.memory.swappiness: 101 is out of range (max 100)"},
    {"linux.resources.memory.disableOOMKiller", "0", 0, 0,
     "linux.resources.memory.disableOOMKiller: expected a boolean"},
    {"linux.resources.cpu.cpus", "\"a-b\"", 0, 0,
     "linux.resources.cpu.cpus: invalid cpu/node list 'a-b'"},
    {"linux.resources.cpu.shares", "-1", 0, 0,
     "linux.resources.cpu.shares: expected a non-negative integer"},
    {"linux.resources.cpu.quota", "\"1\"", 0, 0, "linux.resources.cpu.quota: expected an integer"},
    {"linux.resources.pids", "{}", 0, 0, "linux.resources.pids.limit: required field missing"},
    {"linux.resources.blockIO.weight", "70000", 0, 0,
     "linux.resources.blockIO.weight: 70000 is out of range (max 65535)"},
    {"linux.resources.blockIO.weightDevice", "[{\"major\": 8}]", 0, 0,
     "linux.resources.blockIO.weightDevice[0].minor: required field missing"},
    {"linux.resources.blockIO.weightDevice", "[{\"major\": 8, \"minor\": 0}]", 0, 0,
     "linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight"},
    {"linux.resources.blockIO.throttleReadBpsDevice", "[{\"major\": 8, \"minor\": 0}]", 0, 0,
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required field missing"},
    {"linux.resources.blockIO.throttleWriteIOPSDevice",
     "[{\"major\": 8, \"minor\": 0, \"rate\": -5}]", 0, 0,
     "linux.resources.blockIO.throttleWriteIOPSDevice[0].rate: expected a non-negative integer"},
    {"linux.resources.hugepageLimits", "[{\"pageSize\": \"2XB\", \"limit\": 1}]", 0, 0,
     "linux.resources.hugepageLimits[0].pageSize: invalid page size '2XB' (e.g. \"2MB\")"},
    {"linux.resources.hugepageLimits", "[{\"pageSize\": \"3MB\", \"limit\": 1}]", 0, 0,
     "linux.resources.hugepageLimits[0].pageSize: invalid page size '3MB' (e.g. \"2MB\")"},
    {"linux.resources.hugepageLimits", "[{\"pageSize\": \"MB\", \"limit\": 1}]", 0, 0,
     "linux.resources.hugepageLimits[0].pageSize: invalid page size 'MB' (e.g. \"2MB\")"},
    {"linux.resources.network.priorities", "[{\"name\": \"eth0\"}]", 0, 0,
     "linux.resources.network.priorities[0].priority: required field missing"},
    {"linux.resources.network.classID", "-1", 0, 0,
     "linux.resources.network.classID: expected a non-negative integer"},
    {"linux.resources.unified", "{\"../../etc/passwd\": \"x\"}", 0, 0,
     "linux.resources.unified['../../etc/passwd']: must be a cgroup file name"},
    {"linux.resources.unified", "{\"memory.max\": 5}", 0, 0,
     "linux.resources.unified['memory.max']: expected a string"},
    {"linux.resources.rdma", "{\"mlx\": {\"hcaHandles\": \"x\"}}", 0, 0,
     "linux.resources.rdma['mlx'].hcaHandles: expected a non-negative integer"},
    {"linux.resources.rdma", "{\"mlx\": {}}", 0, 0,
     "linux.resources.rdma['mlx']: needs hcaHandles or hcaObjects"},
    {"linux.resources.rdma", "[{\"device\": \"mlx5_1\", \"hcaHandles\": 1}]", 0, 0,
     "linux.resources.rdma: expected an object"},
    {"linux.rootfsPropagation", "\"sideways\"", 0, 0,
     "linux.rootfsPropagation: unknown propagation 'sideways'"},
    {"linux.seccomp", "{}", 0, 0, "linux.seccomp.defaultAction: required field missing"},
    {"linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_FOO\"}", 0, 0,
     "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_FOO'"},
    {"linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_NOTIFY\", \"listenerPath\": \"/s\"}", 0, 0,
     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
    {"linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}", 0, 0,
     "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, "
     "not SCMP_ACT_ALLOW"},
    {"linux.seccomp",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
     " \"action\": \"SCMP_ACT_KILL\", \"errnoRet\": 1}]}",
     0, 0,
     "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, "
     "not SCMP_ACT_KILL"},
    {"linux.seccomp",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\":"
     " \"SCMP_ACT_LOG\"}, {\"names\": [\"b\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\":"
     " [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_FOO\"}]}]}",
     0, 0, "linux.seccomp.syscalls[1].args[0].op: unknown operator 'SCMP_CMP_FOO'"},
    {"linux.seccomp",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\":"
     " \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
     0, 0, "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (max 5)"},
    {"linux.seccomp",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\":"
     " \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"op\": \"SCMP_CMP_EQ\"}]}]}",
     0, 0, "linux.seccomp.syscalls[0].args[0].value: required field missing"},
    {"linux.seccomp",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_FOO\"]}", 0, 0,
     "linux.seccomp.architectures[0]: unknown architecture 'SCMP_ARCH_FOO'"},
    {"linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"X\"]}", 0, 0,
     "linux.seccomp.flags[0]: unknown seccomp flag 'X'"},
    {"linux.seccomp",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
     " \"action\": \"SCMP_ACT_NOTIFY\"}]}",
     0, 0, "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used"},
    {"linux.seccomp",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [],"
     " \"action\": \"SCMP_ACT_ALLOW\"}]}",
     0, 0, "linux.seccomp.syscalls[0].names: must contain at least one element"},
    {"linux.seccomp",
     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"x\"]}]}", 0, 0,
     "linux.seccomp.syscalls[0].action: required field missing"},
    {"linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerMetadata\": \"m\"}", 0, 0,
     "linux.seccomp.listenerMetadata: set without listenerPath"},
    {"linux.sysctl", "{\"../x\": \"1\"}", 0, 0, "linux.sysctl['../x']: invalid sysctl name"},
    {"linux.sysctl", "{\"net/../../x\": \"1\"}", 0, 0,
     "linux.sysctl['net/../../x']: invalid sysctl name"},
    {"linux.sysctl", "{\"net.ipv4.ip_forward\": 1}", 0, 0,
     "linux.sysctl['net.ipv4.ip_forward']: expected a string"},
    {"linux.maskedPaths", "[\"/ok\", \"rel\"]", 0, 0,
     "linux.maskedPaths[1]: must be an absolute path"},
    {"linux.readonlyPaths", "\"/proc\"", 0, 0, "linux.readonlyPaths: expected an array"},
    {"linux.personality", "{\"domain\": \"WIN\"}", 0, 0,
     "linux.personality.domain: unknown personality domain 'WIN' (LINUX or LINUX32)"},
    {"linux.personality", "{}", 0, 0, "linux.personality.domain: required field missing"},
    {"linux.personality", "{\"domain\": \"LINUX\", \"flags\": [\"SHORT_INODE\"]}", 0, 0,
     "linux.personality.flags[0]: unknown personality flag 'SHORT_INODE'"},
    {"linux.intelRdt", "{\"memBwSchema\": \"L3:0=1\"}", 0, 0,
     "linux.intelRdt.memBwSchema: must start with \"MB:\" and be one line"},
    {"linux.intelRdt", "{\"memBwSchema\": \"MB:0=20\\nMB:1=3\"}", 0, 0,
     "linux.intelRdt.memBwSchema: must start with \"MB:\" and be one line"},
    {"process.execCPUAffinity", "{\"initial\": \"0-x\"}", 0, 0,
     "process.execCPUAffinity.initial: invalid cpu/node list '0-x'"},
    {"linux.resources.hugepageLimits", "[{\"pageSize\": \"64kB\", \"limit\": 1}]", 0, 0,
     "linux.resources.hugepageLimits[0].pageSize: invalid page size '64kB' (e.g. \"2MB\")"},
    {"linux.timeOffsets", "{\"monotonic\": {\"secs\": 1, \"nanosecs\": 1000000000}}", 0, 0,
     "linux.timeOffsets.monotonic.nanosecs: 1000000000 is out of range (max 999999999)"},
    {"linux.timeOffsets", "{\"boottime\": {\"secs\": 1}}", 0, 0,
     "linux.timeOffsets: given without a time namespace"},
    {"linux.intelRdt", "{\"closID\": \"../x\"}", 0, 0,
     "linux.intelRdt.closID: must be a plain directory name"},
    {"hostname", "\"box\"", "linux.namespaces", "[{\"type\": \"pid\"}]",
     "hostname: setting it needs a UTS namespace (linux.namespaces)"},
    {"domainname", "\"example.org\"", "linux", "DELETE",
     "domainname: setting it needs a UTS namespace (linux.namespaces)"},
};

#define N_ERR_CASES (sizeof(err_cases) / sizeof(err_cases[0]))

/* Criterion re-executes the test binary (PIE: other addresses), so the
 * parameters are indices into the tables, never pointers. */
static size_t *
indices(size_t n)
{
    size_t *v = cr_malloc(n * sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        v[i] = i;
    return v;
}

static void
free_indices(struct criterion_test_params *ctp)
{
    cr_free(ctp->params);
}

ParameterizedTestParameters(rt_config, error_names_field)
{
    return cr_make_param_array(size_t, indices(N_ERR_CASES), N_ERR_CASES, free_indices);
}

ParameterizedTest(size_t *idx, rt_config, error_names_field)
{
    const struct err_case *e = &err_cases[*idx];
    cleanup_free char *text = mutated(base_config, e);
    cleanup_free char *msg = parse_fail(text);
    cleanup_free char *want = xasprintf("config.json: %s", e->msg);
    cr_assert_str_eq(msg, want);
}

Test(rt_config, semver_versions_accepted)
{
    const char *const ok[] = {"1.0.0",      "1.1.0",         "1.0.2-dev",
                              "1.1.0-rc.1", "1.2.3+build.5", "1.0.0-alpha-1.x+sha.abc",
                              "1.10.100",   "0.5.0-dev"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cleanup_free char *v = xasprintf("\"%s\"", ok[i]);
        struct err_case e = {"ociVersion", v, 0, 0, NULL};
        cleanup_free char *text = mutated(base_config, &e);
        cleanup_rt_config struct rt_config *c = parse_ok(text);
        cr_assert_str_eq(c->oci_version, ok[i]);
    }
}

Test(rt_config, hugepage_sizes_accepted)
{
    const char *const ok[] = {"64KB", "2MB", "32MB", "512MB", "1GB", "16GB"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cleanup_free char *v = xasprintf("[{\"pageSize\": \"%s\", \"limit\": 7}]", ok[i]);
        struct err_case e = {"linux.resources.hugepageLimits", v, 0, 0, NULL};
        cleanup_free char *text = mutated(base_config, &e);
        cleanup_rt_config struct rt_config *c = parse_ok(text);
        cr_assert_str_eq(c->linux_.resources.hugepage_limits[0].page_size, ok[i]);
    }
}

Test(rt_config, base_config_is_valid)
{
    /* The error cases above start from it: it must parse on its own. */
    struct err_case none = {0};
    cleanup_free char *text = mutated(base_config, &none);
    cleanup_rt_config struct rt_config *c = parse_ok(text);
    cr_assert_not_null(rt_config_namespace(c, RT_NS_UTS));
}

/* ---- hostile inputs --------------------------------------------------- */

Test(rt_config, huge_array_rejected)
{
    json_error_t jerr;
    json_t *root = json_loads(base_config, 0, &jerr);
    json_t *args = json_array();
    for (int i = 0; i < RT_MAX_ARRAY + 1; i++)
        json_array_append_new(args, json_string("x"));
    json_object_set_new(json_object_get(root, "process"), "args", args);
    cleanup_free char *text = json_dumps(root, 0);
    json_decref(root);
    cleanup_free char *msg = parse_fail(text);
    cr_assert_str_eq(msg, "config.json: process.args: too many elements (4097, max 4096)");
}

Test(rt_config, huge_object_rejected)
{
    json_error_t jerr;
    json_t *root = json_loads(base_config, 0, &jerr);
    json_t *ann = json_object();
    for (int i = 0; i < RT_MAX_ARRAY + 1; i++) {
        char key[32];
        snprintf(key, sizeof(key), "k%d", i);
        json_object_set_new(ann, key, json_string("v"));
    }
    json_object_set_new(root, "annotations", ann);
    cleanup_free char *text = json_dumps(root, 0);
    json_decref(root);
    cleanup_free char *msg = parse_fail(text);
    cr_assert_str_eq(msg, "config.json: annotations: too many entries (4097, max 4096)");
}

Test(rt_config, long_strings_rejected)
{
    cleanup_free char *longpath = xmalloc(RT_MAX_PATH + 2);
    longpath[0] = '/';
    memset(longpath + 1, 'a', RT_MAX_PATH);
    longpath[RT_MAX_PATH + 1] = '\0';
    cleanup_free char *val = xasprintf("\"%s\"", longpath);
    struct err_case e = {"process.cwd", val, 0, 0, NULL};
    cleanup_free char *text = mutated(base_config, &e);
    cleanup_free char *msg = parse_fail(text);
    cr_assert(strstr(msg, "config.json: process.cwd: too long (4097 bytes, max 4095)"), "%s", msg);
}

Test(rt_config, oversized_document_rejected)
{
    size_t len = RT_CONFIG_MAX_BYTES + 1;
    cleanup_free char *buf = xmalloc(len);
    memset(buf, ' ', len);
    cleanup_error struct cm_error *err = NULL;
    struct rt_config *c = NULL;
    cr_assert_eq(rt_config_parse(buf, len, "config.json", &c, &err), -1);
    cr_assert_eq(err->code, EFBIG);
    cr_assert(strstr(err->msg, "too large"), "%s", err->msg);
}

Test(rt_config, deep_nesting_rejected_with_position)
{
    size_t depth = 100000;
    cleanup_free char *buf = xmalloc(2 * depth + 64);
    char *p = buf + sprintf(buf, "{\"x\": ");
    memset(p, '[', depth);
    p += depth;
    memset(p, ']', depth);
    p += depth;
    strcpy(p, "}");
    cleanup_free char *msg = parse_fail(buf);
    cr_assert(strncmp(msg, "config.json:1:", 14) == 0, "%s", msg);
    cr_assert(strstr(msg, "depth"), "%s", msg);
}

Test(rt_config, non_object_root_rejected)
{
    cleanup_free char *m1 = parse_fail("[]");
    cr_assert_str_eq(m1, "config.json: expected a JSON object at the top level");
    cleanup_free char *m2 = parse_fail("42");
    cr_assert(strncmp(m2, "config.json:1:", 14) == 0, "%s", m2);
    cleanup_free char *m3 = parse_fail("");
    cr_assert(strncmp(m3, "config.json:", 12) == 0, "%s", m3);
}

Test(rt_config, truncated_json_names_line_and_column)
{
    cleanup_free char *msg =
        parse_fail("{\n  \"ociVersion\": \"1.1.0\",\n  \"root\": {\"path\": \"rootfs\"");
    cr_assert(strncmp(msg, "config.json:3:", 14) == 0, "%s", msg);
}

Test(rt_config, duplicate_keys_rejected)
{
    cleanup_free char *msg =
        parse_fail("{\"ociVersion\": \"1.1.0\", \"ociVersion\": \"1.0.0\", \"root\": {}}");
    cr_assert(strstr(msg, "duplicate"), "%s", msg);
}

Test(rt_config, nul_in_string_rejected)
{
    cleanup_free char *msg =
        parse_fail("{\"ociVersion\": \"1.1\\u0000\", \"root\": {\"path\": \"r\"}}");
    cr_assert(strncmp(msg, "config.json:1:", 14) == 0, "%s", msg);
}

Test(rt_config, raw_nul_byte_rejected)
{
    static const char doc[] = "{\"ociVersion\": \"1.1.0\",\0 \"root\": {\"path\": \"r\"}}";
    cleanup_error struct cm_error *err = NULL;
    struct rt_config *c = NULL;
    cr_assert_eq(rt_config_parse(doc, sizeof(doc) - 1, "config.json", &c, &err), -1);
    cr_assert(strncmp(err->msg, "config.json:1:", 14) == 0, "%s", err->msg);
}

/* Replaces every member and element of the full config in turn by values of
 * other types: the parser must not crash, and when it refuses the document
 * the message must name the replaced field (or a cross-field rule). */
static const char *const wrong_values[] = {"42", "-1", "1.5",  "\"s\"",      "true",
                                           "[]", "{}", "[{}]", "{\"x\": []}"};

static bool
is_map(const char *path)
{
    return strcmp(path, "annotations") == 0 || strcmp(path, "linux.sysctl") == 0 ||
           strcmp(path, "linux.resources.unified") == 0 ||
           strcmp(path, "linux.resources.rdma") == 0;
}

static void
try_replacements(json_t *root, json_t *parent, const char *key, size_t index, const char *path,
                 size_t *n_tried)
{
    json_t *orig = key ? json_object_get(parent, key) : json_array_get(parent, index);
    json_incref(orig);
    for (size_t w = 0; w < sizeof(wrong_values) / sizeof(wrong_values[0]); w++) {
        json_t *v = json_loads(wrong_values[w], JSON_DECODE_ANY, NULL);
        if (key)
            json_object_set_new(parent, key, v);
        else
            json_array_set_new(parent, index, v);
        cleanup_free char *text = json_dumps(root, 0);
        cleanup_error struct cm_error *err = NULL;
        struct rt_config *c = NULL;
        int r = rt_config_parse(text, strlen(text), "config.json", &c, &err);
        (*n_tried)++;
        if (r == 0) {
            rt_config_free(c);
            continue;
        }
        cr_assert_null(c);
        bool cross = strncmp(err->msg, "config.json: hostname:", 22) == 0 ||
                     strncmp(err->msg, "config.json: linux.timeOffsets: given", 37) == 0;
        /* Rules about an entry as a whole ("soft limit exceeds hard limit")
         * name the entry: "process.rlimits[0]: ..." for process.rlimits[0].hard. */
        cleanup_free char *entry = xstrdup(path);
        char *cut = strrchr(entry, '.');
        if (cut && !strchr(cut, ']'))
            *cut = '\0';
        cleanup_free char *entry_msg = xasprintf("config.json: %s: ", entry);
        bool whole = strncmp(err->msg, entry_msg, strlen(entry_msg)) == 0;
        cr_assert(strstr(err->msg, path) || cross || whole, "replacing %s by %s: %s", path,
                  wrong_values[w], err->msg);
    }
    if (key)
        json_object_set_new(parent, key, orig);
    else
        json_array_set_new(parent, index, orig);
}

static void
walk(json_t *root, json_t *node, const char *path, size_t *n_tried)
{
    if (json_is_object(node)) {
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(node, tmp, key, v)
        {
            cleanup_free char *sub = is_map(path) ? xasprintf("%s['%s']", path, key)
                                     : *path      ? xasprintf("%s.%s", path, key)
                                                  : xstrdup(key);
            try_replacements(root, node, key, 0, sub, n_tried);
            walk(root, json_object_get(node, key), sub, n_tried);
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            cleanup_free char *sub = xasprintf("%s[%zu]", path, i);
            try_replacements(root, node, NULL, i, sub, n_tried);
            walk(root, json_array_get(node, i), sub, n_tried);
        }
    }
}

Test(rt_config, wrong_types_everywhere, .timeout = 120)
{
    json_error_t jerr;
    /* jansson cannot hold 2^64-1 as an integer: use a value it can. */
    cleanup_free char *text = xstrdup(full_config);
    char *big = strstr(text, "18446744073709551615");
    cr_assert_not_null(big);
    memcpy(big, " 9223372036854775807", 20);
    json_t *root = json_loads(text, 0, &jerr);
    cr_assert_not_null(root, "%s", jerr.text);
    size_t n = 0;
    walk(root, root, "", &n);
    json_decref(root);
    cr_assert_gt(n, 2000);
}

Test(rt_config, truncated_at_every_offset, .timeout = 120)
{
    size_t len = strlen(full_config);
    for (size_t n = 0; n < len; n++) {
        cleanup_error struct cm_error *err = NULL;
        struct rt_config *c = NULL;
        /* Only the last byte is a newline: every shorter prefix is incomplete. */
        int r = rt_config_parse(full_config, n, "config.json", &c, &err);
        if (n < len - 1) {
            cr_assert_eq(r, -1, "prefix of %zu bytes parsed", n);
            cr_assert(strncmp(err->msg, "config.json:", 12) == 0 && err->msg[12] >= '0' &&
                          err->msg[12] <= '9',
                      "prefix of %zu bytes: %s", n, err->msg);
        } else {
            cr_assert_eq(r, 0, "%s", err ? err->msg : "");
            rt_config_free(c);
        }
    }
}

/* Random byte changes: the parser must either accept or name a problem,
 * never crash or leak (ASan runs this too). Deterministic seed. */
Test(rt_config, random_corruption_survives, .timeout = 120)
{
    static const char alphabet[] = "{}[]\",:0123456789-.eE tfnrux\\/aZ";
    size_t len = strlen(full_config);
    uint64_t state = 0x2545F4914F6CDD1DULL;
    size_t n_ok = 0, n_err = 0;
    for (int round = 0; round < 3000; round++) {
        cleanup_free char *buf = xstrdup(full_config);
        int changes = 1 + round % 4;
        for (int k = 0; k < changes; k++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            buf[state % len] = alphabet[(state >> 32) % (sizeof(alphabet) - 1)];
        }
        cleanup_error struct cm_error *err = NULL;
        struct rt_config *c = NULL;
        if (rt_config_parse(buf, len, "config.json", &c, &err) == 0) {
            cr_assert_null(err);
            rt_config_free(c);
            n_ok++;
        } else {
            cr_assert_null(c);
            cr_assert(err && err->msg && strncmp(err->msg, "config.json", 11) == 0);
            n_err++;
        }
    }
    cr_assert_gt(n_err, 0);
}

/* ---- mount options ------------------------------------------------------ */

struct mount_case {
    const char *options; /* JSON array text */
    unsigned long flags, clear, propagation;
    bool bind, recursive;
    uint64_t rec_set, rec_clr;
    const char *data;
};

static struct mount_case mount_cases[] = {
    {"[\"ro\"]", MS_RDONLY, 0, 0, false, false, 0, 0, NULL},
    {"[\"rw\"]", 0, MS_RDONLY, 0, false, false, 0, 0, NULL},
    {"[\"ro\", \"rw\"]", 0, MS_RDONLY, 0, false, false, 0, 0, NULL},
    {"[\"rw\", \"ro\"]", MS_RDONLY, 0, 0, false, false, 0, 0, NULL},
    {"[\"nosuid\"]", MS_NOSUID, 0, 0, false, false, 0, 0, NULL},
    {"[\"suid\"]", 0, MS_NOSUID, 0, false, false, 0, 0, NULL},
    {"[\"nodev\"]", MS_NODEV, 0, 0, false, false, 0, 0, NULL},
    {"[\"dev\"]", 0, MS_NODEV, 0, false, false, 0, 0, NULL},
    {"[\"noexec\"]", MS_NOEXEC, 0, 0, false, false, 0, 0, NULL},
    {"[\"exec\"]", 0, MS_NOEXEC, 0, false, false, 0, 0, NULL},
    {"[\"sync\"]", MS_SYNCHRONOUS, 0, 0, false, false, 0, 0, NULL},
    {"[\"async\"]", 0, MS_SYNCHRONOUS, 0, false, false, 0, 0, NULL},
    {"[\"dirsync\"]", MS_DIRSYNC, 0, 0, false, false, 0, 0, NULL},
    {"[\"remount\"]", MS_REMOUNT, 0, 0, false, false, 0, 0, NULL},
    {"[\"mand\"]", MS_MANDLOCK, 0, 0, false, false, 0, 0, NULL},
    {"[\"nomand\"]", 0, MS_MANDLOCK, 0, false, false, 0, 0, NULL},
    {"[\"atime\"]", 0, MS_NOATIME, 0, false, false, 0, 0, NULL},
    {"[\"noatime\"]", MS_NOATIME, 0, 0, false, false, 0, 0, NULL},
    {"[\"diratime\"]", 0, MS_NODIRATIME, 0, false, false, 0, 0, NULL},
    {"[\"nodiratime\"]", MS_NODIRATIME, 0, 0, false, false, 0, 0, NULL},
    {"[\"relatime\"]", MS_RELATIME, 0, 0, false, false, 0, 0, NULL},
    {"[\"norelatime\"]", 0, MS_RELATIME, 0, false, false, 0, 0, NULL},
    {"[\"strictatime\"]", MS_STRICTATIME, 0, 0, false, false, 0, 0, NULL},
    {"[\"nostrictatime\"]", 0, MS_STRICTATIME, 0, false, false, 0, 0, NULL},
    {"[\"lazytime\"]", MS_LAZYTIME, 0, 0, false, false, 0, 0, NULL},
    {"[\"nolazytime\"]", 0, MS_LAZYTIME, 0, false, false, 0, 0, NULL},
    {"[\"silent\"]", MS_SILENT, 0, 0, false, false, 0, 0, NULL},
    {"[\"loud\"]", 0, MS_SILENT, 0, false, false, 0, 0, NULL},
    {"[\"iversion\"]", MS_I_VERSION, 0, 0, false, false, 0, 0, NULL},
    {"[\"noiversion\"]", 0, MS_I_VERSION, 0, false, false, 0, 0, NULL},
    {"[\"nosymfollow\"]", MS_NOSYMFOLLOW, 0, 0, false, false, 0, 0, NULL},
    {"[\"symfollow\"]", 0, MS_NOSYMFOLLOW, 0, false, false, 0, 0, NULL},
    {"[\"acl\"]", MS_POSIXACL, 0, 0, false, false, 0, 0, NULL},
    {"[\"noacl\"]", 0, MS_POSIXACL, 0, false, false, 0, 0, NULL},
    {"[\"bind\"]", MS_BIND, 0, 0, true, false, 0, 0, NULL},
    {"[\"rbind\"]", MS_BIND | MS_REC, 0, 0, true, true, 0, 0, NULL},
    {"[\"private\"]", 0, 0, MS_PRIVATE, false, false, 0, 0, NULL},
    {"[\"rprivate\"]", 0, 0, MS_PRIVATE | MS_REC, false, false, 0, 0, NULL},
    {"[\"shared\"]", 0, 0, MS_SHARED, false, false, 0, 0, NULL},
    {"[\"rshared\"]", 0, 0, MS_SHARED | MS_REC, false, false, 0, 0, NULL},
    {"[\"slave\"]", 0, 0, MS_SLAVE, false, false, 0, 0, NULL},
    {"[\"rslave\"]", 0, 0, MS_SLAVE | MS_REC, false, false, 0, 0, NULL},
    {"[\"unbindable\"]", 0, 0, MS_UNBINDABLE, false, false, 0, 0, NULL},
    {"[\"runbindable\"]", 0, 0, MS_UNBINDABLE | MS_REC, false, false, 0, 0, NULL},
    {"[\"shared\", \"rprivate\"]", 0, 0, MS_PRIVATE | MS_REC, false, false, 0, 0, NULL},
    {"[\"rro\"]", 0, 0, 0, false, false, MOUNT_ATTR_RDONLY, 0, NULL},
    {"[\"rro\", \"rrw\"]", 0, 0, 0, false, false, 0, MOUNT_ATTR_RDONLY, NULL},
    {"[\"rnosuid\", \"rnodev\", \"rnoexec\"]", 0, 0, 0, false, false,
     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, NULL},
    {"[\"rnoatime\"]", 0, 0, 0, false, false, MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, NULL},
    {"[\"rnoatime\", \"rstrictatime\"]", 0, 0, 0, false, false, MOUNT_ATTR_STRICTATIME,
     MOUNT_ATTR__ATIME, NULL},
    {"[\"tmpcopyup\"]", 0, 0, 0, false, false, 0, 0, NULL},
    {"[\"defaults\"]", 0, 0, 0, false, false, 0, 0, NULL},
    {"[\"mode=755\"]", 0, 0, 0, false, false, 0, 0, "mode=755"},
    {"[\"nosuid\", \"mode=1777\", \"ro\", \"size=65536k\", \"x-unknown\"]", MS_NOSUID | MS_RDONLY,
     0, 0, false, false, 0, 0, "mode=1777,size=65536k,x-unknown"},
    {"[\"RO\"]", 0, 0, 0, false, false, 0, 0, "RO"},
    {"[]", 0, 0, 0, false, false, 0, 0, NULL},
};

#define N_MOUNT_CASES (sizeof(mount_cases) / sizeof(mount_cases[0]))

ParameterizedTestParameters(rt_config, mount_option_flags)
{
    return cr_make_param_array(size_t, indices(N_MOUNT_CASES), N_MOUNT_CASES, free_indices);
}

ParameterizedTest(size_t *idx, rt_config, mount_option_flags)
{
    const struct mount_case *mc = &mount_cases[*idx];
    cleanup_free char *mount =
        xasprintf("[{\"destination\": \"/m\", \"type\": \"tmpfs\", \"source\": \"t\","
                  " \"options\": %s}]",
                  mc->options);
    struct err_case e = {"mounts", mount, 0, 0, NULL};
    cleanup_free char *text = mutated(base_config, &e);
    cleanup_rt_config struct rt_config *c = parse_ok(text);
    const struct rt_mount *m = &c->mounts[0];
    cr_assert_eq(m->flags, mc->flags, "%s: flags %#lx", mc->options, m->flags);
    cr_assert_eq(m->clear, mc->clear, "%s: clear %#lx", mc->options, m->clear);
    cr_assert_eq(m->propagation, mc->propagation, "%s: propagation %#lx", mc->options,
                 m->propagation);
    cr_assert_eq(m->bind, mc->bind, "%s", mc->options);
    cr_assert_eq(m->recursive, mc->recursive, "%s", mc->options);
    cr_assert_eq(m->rec_attr_set, mc->rec_set, "%s: rec_set %#llx", mc->options,
                 (unsigned long long)m->rec_attr_set);
    cr_assert_eq(m->rec_attr_clr, mc->rec_clr, "%s: rec_clr %#llx", mc->options,
                 (unsigned long long)m->rec_attr_clr);
    if (mc->data)
        cr_assert_str_eq(m->data, mc->data);
    else
        cr_assert_null(m->data, "%s: data %s", mc->options, m->data);
}

/* ---- process.json, loading, names, features ---------------------------- */

Test(rt_config, process_json_parsed)
{
    const char *text = "{\"args\": [\"ls\", \"-l\"], \"cwd\": \"/tmp\", \"env\": [\"A=b\"],"
                       " \"terminal\": true, \"user\": {\"uid\": 5, \"gid\": 6},"
                       " \"capabilities\": {\"bounding\": [\"CAP_KILL\"]}}";
    cleanup_error struct cm_error *err = NULL;
    struct rt_process p;
    cr_assert_eq(rt_process_parse(text, strlen(text), "process.json", &p, &err), 0);
    cr_assert_str_eq(p.args[1], "-l");
    cr_assert_str_eq(p.cwd, "/tmp");
    cr_assert(p.terminal);
    cr_assert_eq(p.user.uid, 5);
    cr_assert_eq(p.caps.bounding, BIT(5));
    rt_process_done(&p);
    cr_assert_null(p.args);
}

Test(rt_config, process_json_errors_name_field)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_process p;
    const char *text = "{\"args\": [\"ls\"], \"cwd\": \"tmp\"}";
    cr_assert_eq(rt_process_parse(text, strlen(text), "process.json", &p, &err), -1);
    cr_assert_str_eq(err->msg, "process.json: cwd: must be an absolute path");
    cm_error_free(&err);
    text = "{\"args\": [\"ls\"], \"cwd\": \"/\", \"rlimits\": [{\"type\": \"X\"}]}";
    cr_assert_eq(rt_process_parse(text, strlen(text), "process.json", &p, &err), -1);
    cr_assert_str_eq(err->msg, "process.json: rlimits[0].type: unknown rlimit 'X'");
    cm_error_free(&err);
    cr_assert_eq(rt_process_parse("[1]", 3, "process.json", &p, &err), -1);
    cr_assert_str_eq(err->msg, "process.json: expected a JSON object at the top level");
}

Test(rt_config, resources_json_parsed)
{
    const char *text = "{\"memory\": {\"limit\": 1048576, \"swap\": -1},"
                       " \"cpu\": {\"shares\": 512, \"cpus\": \"0\"}, \"pids\": {\"limit\": 10},"
                       " \"blockIO\": {\"weight\": 100}, \"unified\": {\"memory.high\": \"max\"}}";
    cleanup_error struct cm_error *err = NULL;
    struct rt_resources r;
    cr_assert_eq(rt_resources_parse(text, strlen(text), "resources.json", &r, &err), 0, "%s",
                 err ? err->msg : "");
    cr_assert(r.has_memory && r.memory.has_limit && r.memory.has_swap);
    cr_assert_eq(r.memory.limit, 1048576);
    cr_assert_eq(r.memory.swap, -1);
    cr_assert(r.has_cpu);
    cr_assert_eq(r.cpu.shares, 512);
    cr_assert_str_eq(r.cpu.cpus, "0");
    cr_assert(r.has_pids);
    cr_assert_eq(r.pids_limit, 10);
    cr_assert_eq(r.blkio.weight, 100);
    cr_assert_eq(r.n_unified, 1);
    rt_resources_done(&r);
    cr_assert_null(r.unified);
}

Test(rt_config, resources_json_errors_name_field)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_resources r;
    const char *text = "{\"memory\": {\"limit\": \"1g\"}}";
    cr_assert_eq(rt_resources_parse(text, strlen(text), "r.json", &r, &err), -1);
    cr_assert_str_eq(err->msg, "r.json: memory.limit: expected an integer");
    cm_error_free(&err);
    text = "{\"devices\": [{\"allow\": true}, {\"allow\": 1}]}";
    cr_assert_eq(rt_resources_parse(text, strlen(text), "r.json", &r, &err), -1);
    cr_assert_str_eq(err->msg, "r.json: devices[1].allow: expected a boolean");
    cm_error_free(&err);
    cr_assert_eq(rt_resources_parse("[]", 2, "r.json", &r, &err), -1);
    cr_assert_str_eq(err->msg, "r.json: expected a JSON object at the top level");
}

static char tmpdir[64];

static void
mk_tmp(void)
{
    strcpy(tmpdir, "/tmp/rt-config-test.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void
rm_tmp(void)
{
    cm_rm_rf(tmpdir, NULL);
}

Test(rt_config, load_from_bundle, .init = mk_tmp, .fini = rm_tmp)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_config *c = NULL;
    cr_assert_eq(rt_config_load(tmpdir, &c, &err), -1);
    cr_assert_eq(err->code, ENOENT, "%s", err->msg);
    cm_error_free(&err);

    cleanup_free char *path = xasprintf("%s/config.json", tmpdir);
    cr_assert_eq(
        cm_write_file_atomic_at(AT_FDCWD, path, base_config, strlen(base_config), 0644, &err), 0);
    cr_assert_eq(rt_config_load(tmpdir, &c, &err), 0, "%s", err ? err->msg : "");
    cr_assert_str_eq(c->process.args[0], "sh");
    rt_config_free(c);

    const char *bad = "{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": 1}}";
    cr_assert_eq(cm_write_file_atomic_at(AT_FDCWD, path, bad, strlen(bad), 0644, &err), 0);
    cr_assert_eq(rt_config_load(tmpdir, &c, &err), -1);
    cleanup_free char *want = xasprintf("%s: root.path: expected a string", path);
    cr_assert_str_eq(err->msg, want);
}

/* Interoperability: the default specs of the other runtimes on this host. */
static void
parse_other_runtime_spec(const char *runtime, bool rootless)
{
    cleanup_free char *cmd = xasprintf("command -v %s >/dev/null 2>&1", runtime);
    if (system(cmd) != 0)
        cr_skip_test("%s not installed", runtime);
    cleanup_free char *gen = xasprintf("cd '%s' && rm -f config.json && %s spec %s >/dev/null 2>&1",
                                       tmpdir, runtime, rootless ? "--rootless" : "");
    cr_assert_eq(system(gen), 0, "%s", gen);
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_config struct rt_config *c = NULL;
    cr_assert_eq(rt_config_load(tmpdir, &c, &err), 0, "%s spec: %s", runtime, err ? err->msg : "");
    cr_assert(c->has_process);
    cr_assert_gt(c->n_mounts, 0);
    cr_assert_not_null(rt_config_namespace(c, RT_NS_MOUNT));
    cr_assert_eq(rt_config_namespace(c, RT_NS_USER) != NULL, rootless);
}

Test(rt_config, crun_spec_parses, .init = mk_tmp, .fini = rm_tmp)
{
    parse_other_runtime_spec("crun", false);
}

Test(rt_config, crun_spec_rootless_parses, .init = mk_tmp, .fini = rm_tmp)
{
    parse_other_runtime_spec("crun", true);
}

Test(rt_config, runc_spec_parses, .init = mk_tmp, .fini = rm_tmp)
{
    parse_other_runtime_spec("runc", false);
}

Test(rt_config, runc_spec_rootless_parses, .init = mk_tmp, .fini = rm_tmp)
{
    parse_other_runtime_spec("runc", true);
}

Test(rt_config, name_tables)
{
    cr_assert_eq(rt_cap_from_name("CAP_SYS_ADMIN"), 21);
    cr_assert_eq(rt_cap_from_name("CAP_CHOWN"), 0);
    cr_assert_eq(rt_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
    cr_assert_eq(rt_cap_from_name("cap_sys_admin"), -1);
    cr_assert_eq(rt_cap_from_name("SYS_ADMIN"), -1);
    cr_assert_eq(rt_cap_from_name("CAP_"), -1);
    cr_assert_str_eq(rt_cap_name(21), "CAP_SYS_ADMIN");
    cr_assert_null(rt_cap_name(41));
    cr_assert_null(rt_cap_name(-1));
    cr_assert_eq(rt_cap_last(), 40);
    for (int c = 0; c <= rt_cap_last(); c++)
        cr_assert_eq(rt_cap_from_name(rt_cap_name(c)), c);
    for (int t = 0; t < RT_NS_COUNT; t++)
        cr_assert_eq(rt_ns_type_from_name(rt_ns_type_name((enum rt_ns_type)t)), t);
    cr_assert_eq(rt_ns_type_from_name("net"), -1);
    cr_assert_str_eq(rt_ns_type_name(RT_NS_NETWORK), "network");
    cr_assert_eq(rt_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    cr_assert_eq(rt_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
    cr_assert_eq(rt_rlimit_from_name("NOFILE"), -1);
    cr_assert_str_eq(rt_rlimit_name(RLIMIT_STACK), "RLIMIT_STACK");
    cr_assert_eq(rt_seccomp_action_from_name("SCMP_ACT_KILL_THREAD"), RT_SCMP_KILL_THREAD);
    cr_assert_str_eq(rt_seccomp_action_name(RT_SCMP_NOTIFY), "SCMP_ACT_NOTIFY");
    cr_assert_eq(rt_seccomp_op_from_name("SCMP_CMP_MASKED_EQ"), RT_SCMP_CMP_MASKED_EQ);
    cr_assert_str_eq(rt_seccomp_op_name(RT_SCMP_CMP_NE), "SCMP_CMP_NE");
    cr_assert_str_eq(rt_rootfs_propagation_name(RT_PROPAGATION_RSHARED), "rshared");
}

static bool
json_array_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    return false;
}

Test(rt_config, features_document)
{
    cleanup_free char *text = rt_config_features_json();
    json_error_t jerr;
    json_auto_t *f = json_loads(text, 0, &jerr);
    cr_assert_not_null(f, "%s", jerr.text);
    cr_assert_str_eq(json_string_value(json_object_get(f, "ociVersionMin")), "1.0.0");
    cr_assert_str_eq(json_string_value(json_object_get(f, "ociVersionMax")), "1.1.0");
    json_t *hooks = json_object_get(f, "hooks");
    cr_assert_eq(json_array_size(hooks), 6);
    cr_assert(json_array_has(hooks, "prestart"));
    cr_assert(json_array_has(hooks, "startContainer"));
    json_t *mo = json_object_get(f, "mountOptions");
    const char *const must[] = {
        "ro",         "rw",          "nosuid",      "suid",          "nodev",    "dev",
        "noexec",     "exec",        "sync",        "async",         "dirsync",  "remount",
        "mand",       "nomand",      "atime",       "noatime",       "diratime", "nodiratime",
        "relatime",   "norelatime",  "strictatime", "nostrictatime", "lazytime", "nolazytime",
        "silent",     "loud",        "iversion",    "noiversion",    "bind",     "rbind",
        "private",    "rprivate",    "shared",      "rshared",       "slave",    "rslave",
        "unbindable", "runbindable", "rro"};
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        cr_assert(json_array_has(mo, must[i]), "mountOptions lacks %s", must[i]);
    json_t *l = json_object_get(f, "linux");
    cr_assert_eq(json_array_size(json_object_get(l, "namespaces")), RT_NS_COUNT);
    cr_assert(json_array_has(json_object_get(l, "namespaces"), "cgroup"));
    json_t *caps = json_object_get(l, "capabilities");
    cr_assert_eq(json_array_size(caps), (size_t)rt_cap_last() + 1);
    cr_assert(json_array_has(caps, "CAP_SYS_ADMIN"));
    json_t *cg = json_object_get(l, "cgroup");
    cr_assert(json_is_true(json_object_get(cg, "v1")));
    cr_assert(json_is_true(json_object_get(cg, "v2")));
    cr_assert(json_is_false(json_object_get(cg, "systemd")));
    cr_assert(json_is_false(json_object_get(cg, "systemdUser")));
    json_t *sc = json_object_get(l, "seccomp");
    cr_assert(json_is_true(json_object_get(sc, "enabled")));
    cr_assert(json_array_has(json_object_get(sc, "actions"), "SCMP_ACT_NOTIFY"));
    cr_assert(json_array_has(json_object_get(sc, "actions"), "SCMP_ACT_KILL_PROCESS"));
    cr_assert_eq(json_array_size(json_object_get(sc, "operators")), 7);
    cr_assert(json_array_has(json_object_get(sc, "archs"), "SCMP_ARCH_X86_64"));
    cr_assert(json_is_false(json_object_get(json_object_get(l, "apparmor"), "enabled")));
    cr_assert(json_is_false(json_object_get(json_object_get(l, "selinux"), "enabled")));
    cr_assert(json_is_object(json_object_get(f, "annotations")));
    cr_assert_not(json_array_has(mo, "idmap"));
    cr_assert(json_is_false(json_object_get(
        json_object_get(json_object_get(l, "mountExtensions"), "idmap"), "enabled")));
}
