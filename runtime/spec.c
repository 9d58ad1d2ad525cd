/* SPDX-License-Identifier: Apache-2.0 */
/* `spec` and `features`: the default config.json (as `runc spec` writes it)
 * and the runtime-spec features document, both built from the parser's own
 * tables so that they cannot drift from what rt_config_parse accepts. */
#include "rt/config.h"

#include <ctype.h>
#include <jansson.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm/xalloc.h"
#include "config_names.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static json_t *
mount_json(const char *dest, const char *type, const char *source, const char *const *opts)
{
    json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dest, "type", type, "source", source);
    if (opts) {
        json_t *o = json_array();
        for (; *opts; opts++)
            json_array_append_new(o, json_string(*opts));
        json_object_set_new(m, "options", o);
    }
    return m;
}

static json_t *
strv_json(const char *const *v)
{
    json_t *a = json_array();
    for (; *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

char *
rt_config_default_spec(bool rootless)
{
    static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};
    static const char *const masked[] = {"/proc/acpi",
                                         "/proc/asound",
                                         "/proc/kcore",
                                         "/proc/keys",
                                         "/proc/latency_stats",
                                         "/proc/timer_list",
                                         "/proc/timer_stats",
                                         "/proc/sched_debug",
                                         "/sys/firmware",
                                         "/proc/scsi",
                                         NULL};
    static const char *const readonly[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};
    static const char *const dev_opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k",
                                           NULL};
    /* Rootless: no gid=5 (group 5 is not mapped in the user namespace). */
    static const char *const pts_opts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                                           "mode=0620", "gid=5",  NULL};
    static const char *const pts_opts_rootless[] = {"nosuid",        "noexec",    "newinstance",
                                                    "ptmxmode=0666", "mode=0620", NULL};
    static const char *const shm_opts[] = {"nosuid",    "noexec",      "nodev",
                                           "mode=1777", "size=65536k", NULL};
    static const char *const nse_opts[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const sys_opts[] = {"nosuid", "noexec", "nodev", "ro", NULL};
    static const char *const sys_opts_rootless[] = {"rbind", "nosuid", "noexec",
                                                    "nodev", "ro",     NULL};
    static const char *const cg_opts[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};

    json_t *capobj = json_object();
    json_object_set_new(capobj, "bounding", strv_json(caps));
    json_object_set_new(capobj, "effective", strv_json(caps));
    json_object_set_new(capobj, "permitted", strv_json(caps));
    json_object_set_new(capobj, "ambient", strv_json(caps));

    json_t *process =
        json_pack("{s:b, s:{s:i, s:i}, s:[s], s:[s, s], s:s, s:o, s:[{s:s, s:i, s:i}], s:b}",
                  "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env", DEFAULT_PATH,
                  "TERM=xterm", "cwd", "/", "capabilities", capobj, "rlimits", "type",
                  "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", 1);

    json_t *mounts = json_array();
    json_array_append_new(mounts, mount_json("/proc", "proc", "proc", NULL));
    json_array_append_new(mounts, mount_json("/dev", "tmpfs", "tmpfs", dev_opts));
    json_array_append_new(mounts, mount_json("/dev/pts", "devpts", "devpts",
                                             rootless ? pts_opts_rootless : pts_opts));
    json_array_append_new(mounts, mount_json("/dev/shm", "tmpfs", "shm", shm_opts));
    json_array_append_new(mounts, mount_json("/dev/mqueue", "mqueue", "mqueue", nse_opts));
    if (rootless)
        /* A user namespace without its own network namespace cannot mount sysfs. */
        json_array_append_new(mounts, mount_json("/sys", "none", "/sys", sys_opts_rootless));
    else
        json_array_append_new(mounts, mount_json("/sys", "sysfs", "sysfs", sys_opts));
    json_array_append_new(mounts, mount_json("/sys/fs/cgroup", "cgroup", "cgroup", cg_opts));

    json_t *linux_ = json_object();
    json_t *ns = json_array();
    const char *const ns_root[] = {"pid", "network", "ipc", "uts", "mount", "cgroup", NULL};
    const char *const ns_rootless[] = {"pid", "ipc", "uts", "mount", "cgroup", "user", NULL};
    for (const char *const *t = rootless ? ns_rootless : ns_root; *t; t++)
        json_array_append_new(ns, json_pack("{s:s}", "type", *t));
    if (rootless) {
        json_object_set_new(linux_, "uidMappings",
                            json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID",
                                      (json_int_t)geteuid(), "size", 1));
        json_object_set_new(linux_, "gidMappings",
                            json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID",
                                      (json_int_t)getegid(), "size", 1));
    } else {
        /* Deny all devices; the runtime re-allows its default set. */
        json_object_set_new(linux_, "resources",
                            json_pack("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm"));
    }
    json_object_set_new(linux_, "namespaces", ns);
    json_object_set_new(linux_, "maskedPaths", strv_json(masked));
    json_object_set_new(linux_, "readonlyPaths", strv_json(readonly));

    json_t *spec = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.1.0",
                             "process", process, "root", "path", "rootfs", "readonly", 1,
                             "hostname", "skiff", "mounts", mounts, "linux", linux_);
    char *s = json_dumps(spec, JSON_INDENT(2));
    json_decref(spec);
    if (!s)
        abort();
    char *out = xasprintf("%s\n", s);
    free(s);
    return out;
}

/* libseccomp's name for SCMP_ARCH_X86_64 is "x86_64". */
static bool
seccomp_knows_arch(const char *spec_name)
{
    char lower[32];
    const char *n = spec_name + strlen("SCMP_ARCH_");
    size_t i = 0;
    for (; n[i] && i < sizeof(lower) - 1; i++)
        lower[i] = (char)tolower((unsigned char)n[i]);
    lower[i] = '\0';
    return seccomp_arch_resolve_name(lower) != 0;
}

char *
rt_config_features_json(void)
{
    json_t *f = json_object();
    json_object_set_new(f, "ociVersionMin", json_string("1.0.0"));
    json_object_set_new(f, "ociVersionMax", json_string("1.1.0"));

    json_t *hooks = json_pack("[s, s, s, s, s, s]", "prestart", "createRuntime", "createContainer",
                              "startContainer", "poststart", "poststop");
    json_object_set_new(f, "hooks", hooks);

    /* idmapped mounts are parsed but not set up (yet): not advertised, and
     * linux.mountExtensions.idmap says so. */
    json_t *mopts = json_array();
    for (size_t i = 0; i < rt_n_mount_opts; i++)
        if (rt_mount_opts[i].kind != RT_MOPT_IDMAP && rt_mount_opts[i].kind != RT_MOPT_RIDMAP)
            json_array_append_new(mopts, json_string(rt_mount_opts[i].name));
    json_object_set_new(f, "mountOptions", mopts);

    json_t *linux_ = json_object();
    json_t *ns = json_array();
    for (int t = 0; t < RT_NS_COUNT; t++)
        json_array_append_new(ns, json_string(rt_ns_type_name((enum rt_ns_type)t)));
    json_object_set_new(linux_, "namespaces", ns);
    json_t *caps = json_array();
    for (int c = 0; c <= rt_cap_last(); c++)
        json_array_append_new(caps, json_string(rt_cap_name(c)));
    json_object_set_new(linux_, "capabilities", caps);
    json_object_set_new(linux_, "cgroup",
                        json_pack("{s:b, s:b, s:b, s:b, s:b}", "v1", 1, "v2", 1, "systemd", 0,
                                  "systemdUser", 0, "rdma", 0));

    json_t *sc = json_object();
    json_object_set_new(sc, "enabled", json_true());
    json_t *actions = json_array();
    for (int a = 0; a < RT_SCMP_ACTION_COUNT; a++)
        json_array_append_new(actions,
                              json_string(rt_seccomp_action_name((enum rt_seccomp_action)a)));
    json_object_set_new(sc, "actions", actions);
    json_t *ops = json_array();
    for (int o = 0; o < RT_SCMP_OP_COUNT; o++)
        json_array_append_new(ops, json_string(rt_seccomp_op_name((enum rt_seccomp_op)o)));
    json_object_set_new(sc, "operators", ops);
    json_t *archs = json_array();
    for (size_t i = 0; i < rt_n_seccomp_archs; i++)
        if (seccomp_knows_arch(rt_seccomp_archs[i]))
            json_array_append_new(archs, json_string(rt_seccomp_archs[i]));
    json_object_set_new(sc, "archs", archs);
    json_t *known = json_array();
    for (size_t i = 0; i < rt_n_seccomp_flags; i++)
        json_array_append_new(known, json_string(rt_seccomp_flags[i]));
    json_object_set_new(sc, "knownFlags", known);
    /* WAIT_KILLABLE_RECV needs libseccomp >= 2.6. */
    json_object_set_new(sc, "supportedFlags",
                        json_pack("[s, s, s]", "SECCOMP_FILTER_FLAG_TSYNC",
                                  "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
    json_object_set_new(linux_, "seccomp", sc);
    json_object_set_new(linux_, "apparmor", json_pack("{s:b}", "enabled", 0));
    json_object_set_new(linux_, "selinux", json_pack("{s:b}", "enabled", 0));
    json_object_set_new(linux_, "intelRdt", json_pack("{s:b}", "enabled", 0));
    json_object_set_new(linux_, "mountExtensions", json_pack("{s:{s:b}}", "idmap", "enabled", 0));
    json_object_set_new(f, "linux", linux_);

    const struct scmp_version *v = seccomp_version();
    char *ver = xasprintf("%u.%u.%u", v->major, v->minor, v->micro);
    json_object_set_new(f, "annotations",
                        json_pack("{s:s, s:s}", "io.github.seccomp.libseccomp.version", ver,
                                  "org.skiff.runtime.checkpoint.enabled", "false"));
    free(ver);

    char *s = json_dumps(f, JSON_INDENT(2));
    json_decref(f);
    if (!s)
        abort();
    char *out = xasprintf("%s\n", s);
    free(s);
    return out;
}
