/* SPDX-License-Identifier: Apache-2.0 */
/* Bad input and failures at each step of create leave nothing behind: no
 * state directory, no cgroup, no process. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

TestSuite(rt_failures, .init = h_setup, .fini = h_teardown, .timeout = 60);

/* True when a process runs with our bundle's rootfs as its root. */
static bool
process_in_rootfs(void)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    bool found = false;
    while (d && (de = readdir(d))) {
        char p[300], target[512];
        ssize_t n;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(p, sizeof(p), "/proc/%s/root", de->d_name);
        n = readlink(p, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = 0;
        if (!strcmp(target, H.rootfs))
            found = true;
    }
    if (d)
        closedir(d);
    return found;
}

static void
assert_nothing_left(const char *id)
{
    char dir[256];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/%s", H.root, id);
    cr_assert_neq(stat(dir, &st), 0, "state directory left behind");
    cr_assert(!h_cgroup_exists(id), "cgroup left behind");
    cr_assert(!process_in_rootfs(), "process left behind");
}

Test(rt_failures, bad_mount_source)
{
    const char *id = h_id("badmount");
    h_add_mount("/data", "bind", "/nonexistent/rt-core", "rbind", NULL);
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "/nonexistent/rt-core"), "%s", h_err);
    assert_nothing_left(id);
}

Test(rt_failures, failing_prestart_hook)
{
    const char *id = h_id("badhook");
    h_add_hook("prestart", "exit 3", 0);
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "status 3"), "%s", h_err);
    assert_nothing_left(id);
}

Test(rt_failures, hook_timeout)
{
    const char *id = h_id("slowhook");
    h_add_hook("createRuntime", "sleep 20", 1);
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "timed out"), "%s", h_err);
    assert_nothing_left(id);
}

Test(rt_failures, bad_sysctl_in_init)
{
    const char *id = h_id("sysctl");
    json_object_set_new(json_object_get(H.config, "linux"), "sysctl",
                        json_pack("{ss}", "net.ipv4.rt_core_nonexistent", "1"));
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "rt_core_nonexistent"), "%s", h_err);
    assert_nothing_left(id);
}

Test(rt_failures, non_namespaced_sysctl)
{
    const char *id = h_id("sysctl2");
    json_object_set_new(json_object_get(H.config, "linux"), "sysctl",
                        json_pack("{ss}", "kernel.panic", "1"));
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "kernel.panic"), "%s", h_err);
    assert_nothing_left(id);
}

Test(rt_failures, missing_executable)
{
    const char *id = h_id("noexec");
    json_object_set_new(json_object_get(H.config, "process"), "args", json_pack("[s]", "nope"));
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "nope"), "%s", h_err);
    assert_nothing_left(id);
}

Test(rt_failures, unknown_namespace_capability_syscall)
{
    const char *id = h_id("unknown");
    json_t *linux_ = json_object_get(H.config, "linux");

    json_array_append_new(json_object_get(linux_, "namespaces"),
                          json_pack("{ss}", "type", "rt-core-bogus"));
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "rt-core-bogus"), "%s", h_err);
    assert_nothing_left(id);

    json_array_remove(json_object_get(linux_, "namespaces"),
                      json_array_size(json_object_get(linux_, "namespaces")) - 1);
    json_array_append_new(
        json_object_get(json_object_get(json_object_get(H.config, "process"), "capabilities"),
                        "bounding"),
        json_string("CAP_RT_CORE_BOGUS"));
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "CAP_RT_CORE_BOGUS"), "%s", h_err);
    assert_nothing_left(id);
}

Test(rt_failures, unknown_syscall)
{
    const char *id = h_id("syscall");
    json_object_set_new(json_object_get(H.config, "linux"), "seccomp",
                        json_pack("{s:s, s:[{s:[s], s:s}]}", "defaultAction", "SCMP_ACT_ALLOW",
                                  "syscalls", "names", "rt_core_bogus_syscall", "action",
                                  "SCMP_ACT_ERRNO"));
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "rt_core_bogus_syscall"), "%s", h_err);
    assert_nothing_left(id);
}

Test(rt_failures, malformed_config_names_field)
{
    const char *id = h_id("malformed");
    json_object_set_new(json_object_get(H.config, "process"), "cwd", json_integer(5));
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "process.cwd"), "%s", h_err);
    assert_nothing_left(id);
}

Test(rt_failures, unenforceable_network_limit)
{
    const char *id = h_id("netcls");
    struct stat st;

    if (stat("/sys/fs/cgroup/net_cls", &st) == 0 ||
        stat("/sys/fs/cgroup/net_cls,net_prio", &st) == 0)
        cr_skip_test("this host has net_cls");
    json_object_set_new(json_object_get(json_object_get(H.config, "linux"), "resources"), "network",
                        json_pack("{si}", "classID", 1048577));
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(strstr(h_err, "linux.resources.network.classID"), "%s", h_err);
    assert_nothing_left(id);
}

Test(rt_failures, runtime_killed_mid_create_is_recoverable)
{
    const char *id = h_id("crash");

    /* The createRuntime hook's parent is the runtime: SIGKILL it mid-create. */
    h_add_hook("createRuntime", "kill -9 $PPID; sleep 5", 10);
    h_write_config();
    cr_assert_eq(h_rt("create", "--bundle", H.bundle, id, NULL), 128 + 9, "%s", h_err);
    /* The init (still in its cgroup, before pivot_root) dies with the runtime. */
    char procs[256];
    snprintf(procs, sizeof(procs), "/sys/fs/cgroup/pids/skiff/%s/cgroup.procs", id);
    bool empty = false;
    for (int i = 0; i < 200 && !empty; i++) {
        FILE *f = fopen(procs, "r");
        int c = f ? fgetc(f) : EOF;
        if (f)
            fclose(f);
        empty = c == EOF;
        if (!empty)
            usleep(10000);
    }
    cr_assert(empty, "the init outlived the runtime");
    cr_assert(h_cgroup_exists(id), "cgroup should still be there before delete");
    cr_assert_str_eq(h_status(id), "stopped");
    cr_assert_eq(h_rt("delete", id, NULL), 0, "%s", h_err);
    assert_nothing_left(id);
}
