/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for config.json generation: container definition + image config
 * -> OCI config with docker-like defaults, resources and task networking.
 * Every generated config is also fed to the runtime's own parser. */
#include <criterion/criterion.h>
#include <linux/capability.h>
#include <string.h>

#include "agent/bundle.h"
#include "cm/cleanup.h"
#include "rt/config.h"
#include "rt/security.h"

static const char *image_json =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/bin:/bin\","
    "\"IMG=1\"],\"Entrypoint\":[\"/bin/ep\"],\"Cmd\":[\"default\"],\"WorkingDir\":\"/w\","
    "\"StopSignal\":\"SIGQUIT\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"]}}";

static struct agent_bundle_params params = {
    .task_id = "t1",
    .cgroup_parent = "/skiff/t1",
    .netns = "/run/skiff/netns/t1",
    .hostname = "t1-host",
};

static struct img_config *
image(void)
{
    struct img_config *c = NULL;
    struct cm_error *err = NULL;
    cr_assert_eq(img_config_parse(image_json, strlen(image_json), &c, &err), 0, "%s",
                 err ? err->msg : "");
    return c;
}

static struct agent_task_def *
taskdef(const char *containers)
{
    char *text = NULL;
    json_auto_t *j = NULL;
    struct agent_task_def *t = NULL;
    struct cm_error *err = NULL;

    cr_assert_geq(asprintf(&text, "{\"containerDefinitions\":[%s]}", containers), 0);
    j = json_loads(text, 0, NULL);
    free(text);
    cr_assert_not_null(j);
    cr_assert_eq(agent_task_def_from_json(j, &t, &err), 0, "%s", err ? err->msg : "");
    return t;
}

/* Builds the config and checks that the runtime's parser accepts it. */
static json_t *
build(const char *container, const struct agent_bundle_params *p)
{
    cleanup_img_config struct img_config *img = image();
    cleanup_agent_task_def struct agent_task_def *t = taskdef(container);
    json_t *spec = NULL;
    struct cm_error *err = NULL;
    cleanup_free char *text = NULL;
    struct rt_config *rc = NULL;

    cr_assert_eq(agent_bundle_config(img, -1, &t->containers[0], p, &spec, &err), 0, "%s",
                 err ? err->msg : "");
    text = json_dumps(spec, 0);
    cr_assert_eq(rt_config_parse(text, strlen(text), "config.json", &rc, &err), 0,
                 "runtime rejects the generated config: %s", err ? err->msg : "");
    if (rc->linux_.seccomp)
        cr_assert_eq(rt_seccomp_validate(rc->linux_.seccomp, &err), 0, "%s", err ? err->msg : "");
    rt_config_free(rc);
    return spec;
}

static bool
has_string(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static json_t *
at(json_t *j, const char *path)
{
    char buf[256], *save = NULL;
    strncpy(buf, path, sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    for (char *k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
        j = json_object_get(j, k);
    return j;
}

static json_t *
find_mount(json_t *spec, const char *dst)
{
    size_t i;
    json_t *m;
    json_array_foreach (json_object_get(spec, "mounts"), i, m) {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dst) == 0)
            return m;
    }
    return NULL;
}

Test(agent_bundle, docker_like_defaults)
{
    json_auto_t *s = build("{\"name\":\"app\",\"image\":\"x\"}", &params);
    json_t *bounding = at(s, "process.capabilities.bounding");
    json_t *nss = at(s, "linux.namespaces");
    size_t i;
    json_t *ns;
    bool net = false;

    cr_assert_eq(json_array_size(bounding), 14);
    cr_assert(has_string(bounding, "CAP_NET_BIND_SERVICE"));
    cr_assert(has_string(bounding, "CAP_KILL"));
    cr_assert_not(has_string(bounding, "CAP_SYS_ADMIN"));
    cr_assert_not(has_string(bounding, "CAP_NET_ADMIN"));
    cr_assert(json_equal(bounding, at(s, "process.capabilities.effective")));
    cr_assert(json_is_true(at(s, "process.noNewPrivileges")));
    cr_assert_str_eq(json_string_value(at(s, "linux.seccomp.defaultAction")), "SCMP_ACT_ERRNO");
    cr_assert_gt(json_array_size(at(s, "linux.seccomp.syscalls")), 10);
    cr_assert(has_string(at(s, "linux.maskedPaths"), "/proc/kcore"));
    cr_assert(has_string(at(s, "linux.readonlyPaths"), "/proc/sys"));
    cr_assert_eq(json_integer_value(at(s, "linux.resources.cpu.shares")), 2);
    cr_assert_eq(json_integer_value(at(s, "linux.resources.pids.limit")), AGENT_DEFAULT_PIDS_LIMIT);
    cr_assert_null(at(s, "linux.resources.memory"));
    cr_assert_str_eq(json_string_value(at(s, "linux.cgroupsPath")), "/skiff/t1/app");
    json_array_foreach (nss, i, ns) {
        if (strcmp(json_string_value(json_object_get(ns, "type")), "network") == 0) {
            net = true;
            cr_assert_str_eq(json_string_value(json_object_get(ns, "path")), "/run/skiff/netns/t1");
        }
    }
    cr_assert(net, "no network namespace");
    cr_assert_str_eq(json_string_value(json_object_get(s, "hostname")), "t1-host");
    cr_assert_str_eq(
        json_string_value(json_object_get(at(s, "annotations"), AGENT_ANN_STOP_TIMEOUT)), "30");
    cr_assert_str_eq(
        json_string_value(json_object_get(at(s, "annotations"), AGENT_ANN_STOP_SIGNAL)), "SIGQUIT");
    cr_assert_str_eq(json_string_value(json_object_get(at(s, "annotations"), AGENT_ANN_TASK)),
                     "t1");
    /* The image's command, env and workdir. */
    cr_assert_str_eq(json_string_value(json_array_get(at(s, "process.args"), 0)), "/bin/ep");
    cr_assert_str_eq(json_string_value(json_array_get(at(s, "process.args"), 1)), "default");
    cr_assert(has_string(at(s, "process.env"), "IMG=1"));
    cr_assert_str_eq(json_string_value(at(s, "process.cwd")), "/w");
    cr_assert(json_is_false(at(s, "root.readonly")));
}

Test(agent_bundle, definition_overrides_image)
{
    json_auto_t *s = build("{\"name\":\"app\",\"image\":\"x\",\"entryPoint\":[\"/bin/sh\"],"
                           "\"command\":[\"-c\",\"echo hi\"],\"environment\":[{\"name\":\"IMG\","
                           "\"value\":\"2\"},{\"name\":\"NEW\",\"value\":\"v\"}],"
                           "\"workingDirectory\":\"/srv\",\"user\":\"1000:2000\","
                           "\"stopTimeout\":7}",
                           &params);
    json_t *args = at(s, "process.args");

    cr_assert_eq(json_array_size(args), 3);
    cr_assert_str_eq(json_string_value(json_array_get(args, 0)), "/bin/sh");
    cr_assert_str_eq(json_string_value(json_array_get(args, 2)), "echo hi");
    cr_assert(has_string(at(s, "process.env"), "IMG=2"));
    cr_assert_not(has_string(at(s, "process.env"), "IMG=1"));
    cr_assert(has_string(at(s, "process.env"), "NEW=v"));
    cr_assert_str_eq(json_string_value(at(s, "process.cwd")), "/srv");
    cr_assert_eq(json_integer_value(at(s, "process.user.uid")), 1000);
    cr_assert_eq(json_integer_value(at(s, "process.user.gid")), 2000);
    cr_assert_str_eq(
        json_string_value(json_object_get(at(s, "annotations"), AGENT_ANN_STOP_TIMEOUT)), "7");
}

Test(agent_bundle, resources)
{
    json_auto_t *s = build("{\"name\":\"app\",\"image\":\"x\",\"cpu\":256,\"memory\":128,"
                           "\"memoryReservation\":64}",
                           &params);

    cr_assert_eq(json_integer_value(at(s, "linux.resources.cpu.shares")), 256);
    cr_assert_eq(json_integer_value(at(s, "linux.resources.memory.limit")), 128 << 20);
    cr_assert_eq(json_integer_value(at(s, "linux.resources.memory.swap")), 128 << 20);
    cr_assert_eq(json_integer_value(at(s, "linux.resources.memory.reservation")), 64 << 20);
}

Test(agent_bundle, reservation_only_has_no_hard_limit)
{
    json_auto_t *s = build("{\"name\":\"app\",\"image\":\"x\",\"memoryReservation\":32}", &params);

    cr_assert_null(at(s, "linux.resources.memory.limit"));
    cr_assert_eq(json_integer_value(at(s, "linux.resources.memory.reservation")), 32 << 20);
}

Test(agent_bundle, pids_limit_param)
{
    struct agent_bundle_params p = params;
    json_auto_t *s1 = NULL;
    json_auto_t *s2 = NULL;

    p.pids_limit = 100;
    s1 = build("{\"name\":\"app\",\"image\":\"x\"}", &p);
    cr_assert_eq(json_integer_value(at(s1, "linux.resources.pids.limit")), 100);
    p.pids_limit = -1;
    s2 = build("{\"name\":\"app\",\"image\":\"x\"}", &p);
    cr_assert_null(at(s2, "linux.resources.pids"));
}

Test(agent_bundle, privileged_only_when_asked)
{
    json_auto_t *s = build("{\"name\":\"app\",\"image\":\"x\",\"privileged\":true}", &params);

    cr_assert(has_string(at(s, "process.capabilities.bounding"), "CAP_SYS_ADMIN"));
    cr_assert_eq(json_array_size(at(s, "process.capabilities.bounding")),
                 (size_t)rt_cap_last() + 1);
    cr_assert_null(at(s, "linux.seccomp"));
    cr_assert_null(at(s, "linux.maskedPaths"));
    cr_assert_null(at(s, "linux.readonlyPaths"));
    cr_assert(json_is_false(at(s, "process.noNewPrivileges")));
    cr_assert(has_string(json_object_get(find_mount(s, "/sys"), "options"), "rw"));
}

Test(agent_bundle, capabilities_add_drop)
{
    json_auto_t *s = build("{\"name\":\"app\",\"image\":\"x\",\"linuxParameters\":{"
                           "\"capabilities\":{\"add\":[\"NET_ADMIN\",\"CAP_SYS_PTRACE\"],"
                           "\"drop\":[\"MKNOD\",\"net_raw\"]}}}",
                           &params);
    json_t *b = at(s, "process.capabilities.bounding");

    cr_assert(has_string(b, "CAP_NET_ADMIN"));
    cr_assert(has_string(b, "CAP_SYS_PTRACE"));
    cr_assert_not(has_string(b, "CAP_MKNOD"));
    cr_assert_not(has_string(b, "CAP_NET_RAW"));
    cr_assert(has_string(b, "CAP_CHOWN"));
}

Test(agent_bundle, caps_resolve_all_and_unknown)
{
    char *drop_all[] = {"ALL", NULL};
    char *add_chown[] = {"CHOWN", NULL};
    char *bogus[] = {"FLY", NULL};
    uint64_t caps;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_caps_resolve(add_chown, drop_all, false, &caps, NULL), 0);
    cr_assert_eq(caps, UINT64_C(1) << CAP_CHOWN);
    cr_assert_eq(agent_caps_resolve(NULL, NULL, false, &caps, NULL), 0);
    cr_assert_eq(caps, agent_default_caps());
    cr_assert_eq(agent_caps_resolve(bogus, NULL, false, &caps, &err), -1);
    cr_assert(strstr(err->msg, "FLY"));
    cm_error_free(&err);
}

Test(agent_bundle, readonly_root_ulimits_init_and_files)
{
    struct agent_bundle_params p = params;
    json_auto_t *s = NULL;
    json_t *rl, *init;

    p.init_path = "/usr/libexec/skiff/init";
    p.resolv_conf = "/var/lib/skiff/t1/resolv.conf";
    s = build("{\"name\":\"app\",\"image\":\"x\",\"readonlyRootFilesystem\":true,\"ulimits\":[{"
              "\"name\":\"nofile\",\"softLimit\":1024,\"hardLimit\":2048}],\"linuxParameters\":{"
              "\"initProcessEnabled\":true}}",
              &p);
    cr_assert(json_is_true(at(s, "root.readonly")));
    rl = json_array_get(at(s, "process.rlimits"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(rl, "type")), "RLIMIT_NOFILE");
    cr_assert_eq(json_integer_value(json_object_get(rl, "soft")), 1024);
    cr_assert_eq(json_integer_value(json_object_get(rl, "hard")), 2048);
    cr_assert_str_eq(json_string_value(json_array_get(at(s, "process.args"), 0)), "/dev/init");
    cr_assert_str_eq(json_string_value(json_array_get(at(s, "process.args"), 1)), "--");
    cr_assert_str_eq(json_string_value(json_array_get(at(s, "process.args"), 2)), "/bin/ep");
    init = find_mount(s, "/dev/init");
    cr_assert_not_null(init);
    cr_assert_str_eq(json_string_value(json_object_get(init, "source")), p.init_path);
    cr_assert(has_string(json_object_get(init, "options"), "ro"));
    cr_assert_not_null(find_mount(s, "/etc/resolv.conf"));
    cr_assert_null(find_mount(s, "/etc/hosts"));
}

Test(agent_bundle, init_without_binary_is_an_error)
{
    cleanup_img_config struct img_config *img = image();
    cleanup_agent_task_def struct agent_task_def *t =
        taskdef("{\"name\":\"app\",\"image\":\"x\",\"linuxParameters\":{\"initProcessEnabled\":"
                "true}}");
    json_t *spec = NULL;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_bundle_config(img, -1, &t->containers[0], &params, &spec, &err), -1);
    cr_assert(strstr(err->msg, "init"));
    cr_assert_null(spec);
    cm_error_free(&err);
}

Test(agent_bundle, host_mode_has_no_network_namespace)
{
    struct agent_bundle_params p = params;
    json_auto_t *s = NULL;
    size_t i;
    json_t *ns;

    p.netns = NULL;
    s = build("{\"name\":\"app\",\"image\":\"x\"}", &p);
    json_array_foreach (at(s, "linux.namespaces"), i, ns) {
        cr_assert_str_neq(json_string_value(json_object_get(ns, "type")), "network");
    }
    cr_assert_gt(json_array_size(at(s, "linux.namespaces")), 0);
}

Test(agent_bundle, missing_params_rejected)
{
    cleanup_img_config struct img_config *img = image();
    cleanup_agent_task_def struct agent_task_def *t = taskdef("{\"name\":\"app\",\"image\":\"x\"}");
    struct agent_bundle_params p = params;
    json_t *spec = NULL;
    struct cm_error *err = NULL;

    p.cgroup_parent = "relative";
    cr_assert_eq(agent_bundle_config(img, -1, &t->containers[0], &p, &spec, &err), -1);
    cm_error_free(&err);
}

Test(agent_bundle, task_cgroup_limits)
{
    int64_t quota, mem;
    uint64_t period;

    agent_task_cgroup_limits(512, 1024, &quota, &period, &mem);
    cr_assert_eq(period, 100000);
    cr_assert_eq(quota, 50000);
    cr_assert_eq(mem, 1024LL << 20);
    agent_task_cgroup_limits(2048, 0, &quota, &period, &mem);
    cr_assert_eq(quota, 200000);
    cr_assert_eq(mem, -1);
    agent_task_cgroup_limits(0, 0, &quota, &period, &mem);
    cr_assert_eq(quota, -1);
    agent_task_cgroup_limits(1, 0, &quota, &period, &mem);
    cr_assert_eq(quota, 1000, "below the kernel's minimum quota");
    cr_assert_eq(agent_cpu_shares(0), 2);
    cr_assert_eq(agent_cpu_shares(1), 2);
    cr_assert_eq(agent_cpu_shares(1024), 1024);
}

Test(agent_bundle, seccomp_json_roundtrip)
{
    struct rt_seccomp *sc = rt_seccomp_default_profile();
    json_auto_t *j = agent_seccomp_to_json(sc);
    json_auto_t *cfg =
        json_pack("{s:s, s:{s:[s], s:s}, s:{s:s}, s:{s:O}}", "ociVersion", "1.1.0", "process",
                  "args", "/x", "cwd", "/", "root", "path", "rootfs", "linux", "seccomp", j);
    cleanup_free char *text = json_dumps(cfg, 0);
    struct rt_config *rc = NULL;
    struct cm_error *err = NULL;

    cr_assert_eq(rt_config_parse(text, strlen(text), "c", &rc, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(rc->linux_.seccomp->n_syscalls, sc->n_syscalls);
    cr_assert_eq(rc->linux_.seccomp->default_action, sc->default_action);
    for (size_t i = 0; i < sc->n_syscalls; i++) {
        cr_assert_eq(rc->linux_.seccomp->syscalls[i].n_args, sc->syscalls[i].n_args);
        cr_assert_eq(rc->linux_.seccomp->syscalls[i].action, sc->syscalls[i].action);
        cr_assert_str_eq(rc->linux_.seccomp->syscalls[i].names[0], sc->syscalls[i].names[0]);
        for (size_t k = 0; k < sc->syscalls[i].n_args; k++) {
            cr_assert_eq(rc->linux_.seccomp->syscalls[i].args[k].value,
                         sc->syscalls[i].args[k].value);
            cr_assert_eq(rc->linux_.seccomp->syscalls[i].args[k].op, sc->syscalls[i].args[k].op);
        }
    }
    rt_config_free(rc);
    rt_seccomp_profile_free(sc);
}
