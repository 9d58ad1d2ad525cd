/* SPDX-License-Identifier: Apache-2.0 */
/* Lifecycle: create/start/state/kill/delete, run's exit status, list, ps,
 * pause/resume, the rule that only stopped containers are deleted. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm/file.h"
#include "harness.h"

TestSuite(rt_lifecycle, .init = h_setup, .fini = h_teardown, .timeout = 60);

/* Writes the config, runs it as container id and expects needle in its output. */
static void
run_expect(const char *id, const char *needle)
{
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, h_id(id), NULL), 0, "%s", h_err);
    cr_assert_not_null(strstr(h_out, needle), "%s", h_out);
}

Test(rt_lifecycle, create_start_kill_delete)
{
    const char *id = h_id("life");
    char pidfile[256], statedir[256];
    char *buf = NULL;
    size_t len = 0;
    struct stat st;

    h_args("sleep", "30", NULL);
    h_write_config();
    snprintf(pidfile, sizeof(pidfile), "%s/pid", H.dir);
    cr_assert_eq(h_rt("create", "--bundle", H.bundle, "--pid-file", pidfile, id, NULL), 0, "%s",
                 h_err);
    cr_assert_str_eq(h_status(id), "created");
    cr_assert_eq(cm_read_file_at(AT_FDCWD, pidfile, 64, &buf, &len, NULL), 0);
    cr_assert_gt(atoi(buf), 1);
    free(buf);
    cr_assert_eq(h_rt("start", id, NULL), 0, "%s", h_err);
    cr_assert_str_eq(h_status(id), "running");
    cr_assert_neq(h_rt("start", id, NULL), 0, "start twice must fail");
    cr_assert_eq(h_rt("kill", id, "KILL", NULL), 0, "%s", h_err);
    for (int i = 0; i < 200 && strcmp(h_status(id), "stopped"); i++)
        usleep(10000);
    cr_assert_str_eq(h_status(id), "stopped");
    cr_assert_eq(h_rt("delete", id, NULL), 0, "%s", h_err);
    snprintf(statedir, sizeof(statedir), "%s/%s", H.root, id);
    cr_assert_neq(stat(statedir, &st), 0, "state directory left behind");
    cr_assert(!h_cgroup_exists(id), "cgroup left behind");
    cr_assert_neq(h_rt("state", id, NULL), 0);
}

Test(rt_lifecycle, delete_running_is_error_without_effect)
{
    const char *id = h_id("nodel");

    h_args("sleep", "30", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "--detach", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    cr_assert_str_eq(h_status(id), "running");
    cr_assert_neq(h_rt("delete", id, NULL), 0);
    cr_assert_str_eq(h_status(id), "running");
    cr_assert(h_cgroup_exists(id));
    cr_assert_eq(h_rt("delete", "--force", id, NULL), 0, "%s", h_err);
    cr_assert(!h_cgroup_exists(id));
    cr_assert_neq(h_rt("state", id, NULL), 0);
}

Test(rt_lifecycle, run_exit_status)
{
    h_args("exit", "7", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, h_id("exit7"), NULL), 7, "%s", h_err);
    /* pid 1 of a pid namespace cannot kill itself: run this one without. */
    json_t *ns = json_object_get(json_object_get(H.config, "linux"), "namespaces");
    for (size_t i = 0; i < json_array_size(ns); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(ns, i), "type")), "pid"))
            json_array_remove(ns, i);
    h_args("signal", "9", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, h_id("sig9"), NULL), 128 + 9, "%s", h_err);
    /* run deletes the container when it exits */
    cr_assert_neq(h_rt("state", H.ids[1], NULL), 0);
}

Test(rt_lifecycle, run_sees_namespaces_and_hostname)
{
    json_object_set_new(H.config, "hostname", json_string("rt-core-host"));
    run_expect("ns", "pid=1\n");
    cr_assert_not_null(strstr(h_out, "hostname=rt-core-host\n"), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "cwd=/\n"), "%s", h_out);
}

Test(rt_lifecycle, list_ps_pause_resume)
{
    const char *id = h_id("list");

    h_args("sleep", "30", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "-d", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    cr_assert_eq(h_rt("list", NULL), 0);
    cr_assert_not_null(strstr(h_out, "ID "), "%s", h_out);
    cr_assert_not_null(strstr(h_out, id), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "running"), "%s", h_out);
    cr_assert_eq(h_rt("list", "--format", "json", NULL), 0);
    cr_assert_eq(h_out[0], '[', "%s", h_out);
    cr_assert_eq(h_rt("ps", "--format", "json", id, NULL), 0, "%s", h_err);
    cr_assert_eq(h_out[0], '[', "%s", h_out);
    cr_assert_gt(atoi(h_out + 1), 1, "%s", h_out);
    cr_assert_eq(h_rt("pause", id, NULL), 0, "%s", h_err);
    cr_assert_str_eq(h_status(id), "paused");
    cr_assert_eq(h_rt("resume", id, NULL), 0, "%s", h_err);
    cr_assert_str_eq(h_status(id), "running");
}

/* The v1 freezer directory is made at the first pause and every process is
 * moved into it first, also while the container keeps forking: none is left
 * running, none forks on while paused. */
Test(rt_lifecycle, pause_catches_a_forking_container)
{
    const char *id = h_id("frk");
    char pids[160], frz[160], state[160];
    char *a = NULL, *b = NULL, *st = NULL;

    snprintf(pids, sizeof(pids), "/sys/fs/cgroup/pids/skiff/%s/cgroup.procs", id);
    snprintf(frz, sizeof(frz), "/sys/fs/cgroup/freezer/skiff/%s/cgroup.procs", id);
    snprintf(state, sizeof(state), "/sys/fs/cgroup/freezer/skiff/%s/freezer.state", id);
    if (access("/sys/fs/cgroup/freezer/cgroup.procs", F_OK) != 0 ||
        access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) != 0)
        cr_skip_test("no cgroup v1 freezer and pids hierarchies here");
    h_args("forks", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "-d", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    cr_assert_neq(access(state, F_OK), 0, "freezer made before any pause");
    usleep(100000);
    cr_assert_eq(h_rt("pause", id, NULL), 0, "%s", h_err);
    cr_assert_str_eq(h_status(id), "paused");
    cr_assert_eq(cm_read_file_at(AT_FDCWD, state, 4096, &st, NULL, NULL), 0);
    cr_assert_str_eq(st, "FROZEN\n");
    cr_assert_eq(cm_read_file_at(AT_FDCWD, pids, 1 << 20, &a, NULL, NULL), 0);
    usleep(100000);
    cr_assert_eq(cm_read_file_at(AT_FDCWD, pids, 1 << 20, &b, NULL, NULL), 0);
    cr_assert_str_eq(a, b, "processes came or went while paused");
    cr_assert_gt(strlen(a), 0);
    free(b);
    cr_assert_eq(cm_read_file_at(AT_FDCWD, frz, 1 << 20, &b, NULL, NULL), 0);
    cr_assert_str_eq(a, b, "not every process is in the freezer");
    cr_assert_eq(h_rt("resume", id, NULL), 0, "%s", h_err);
    cr_assert_str_eq(h_status(id), "running");
    cr_assert_eq(h_rt("delete", "-f", id, NULL), 0, "%s", h_err);
    cr_assert_neq(access(state, F_OK), 0, "freezer left behind");
    free(a);
    free(b);
    free(st);
}

/* The default device nodes and linux.devices: type, numbers, mode and owner
 * as asked, whatever the runtime's umask. */
Test(rt_lifecycle, device_nodes)
{
    json_t *devs =
        json_pack("[{s:s, s:s, s:i, s:i, s:i, s:i, s:i}]", "path", "/dev/rtcpu-dev", "type", "c",
                  "major", 1, "minor", 3, "fileMode", 0620, "uid", 1234, "gid", 5678);
    mode_t old = umask(077);

    json_object_set_new(json_object_get(H.config, "linux"), "devices", devs);
    h_args("stat", "/dev/null", "/dev/zero", "/dev/tty", "/dev/rtcpu-dev", "/dev/ptmx", NULL);
    h_write_config();
    int rc = h_rt("run", "--bundle", H.bundle, h_id("dev"), NULL);
    umask(old);
    cr_assert_eq(rc, 0, "%s", h_err);
    cr_assert_not_null(strstr(h_out, "/dev/null c 0666 0:0 1:3\n"), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "/dev/zero c 0666 0:0 1:5\n"), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "/dev/tty c 0666 0:0 5:0\n"), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "/dev/rtcpu-dev c 0620 1234:5678 1:3\n"), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "/dev/ptmx l "), "%s", h_out);
}

/* The v1 device policy: the config's "deny all" then runc's defaults and the
 * linux.devices nodes, each rule reaching the kernel. */
Test(rt_lifecycle, device_cgroup_rules)
{
    const char *id = h_id("devcg");
    char path[160];
    char *list = NULL;
    json_t *res = json_pack("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm");
    json_t *devs = json_pack("[{s:s, s:s, s:i, s:i}]", "path", "/dev/rtcpu-dev", "type", "c",
                             "major", 1, "minor", 9);

    snprintf(path, sizeof(path), "/sys/fs/cgroup/devices/skiff/%s/devices.list", id);
    if (access("/sys/fs/cgroup/devices/devices.list", F_OK) != 0)
        cr_skip_test("no cgroup v1 devices hierarchy here");
    json_object_set_new(json_object_get(H.config, "linux"), "resources", res);
    json_object_set_new(json_object_get(H.config, "linux"), "devices", devs);
    h_args("sleep", "30", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "-d", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    cr_assert_eq(cm_read_file_at(AT_FDCWD, path, 1 << 20, &list, NULL, NULL), 0);
    cr_assert_null(strstr(list, "a *:* rwm"), "%s", list);
    static const char *const want[] = {"c *:* m\n",     "b *:* m\n",   "c 1:3 rwm\n",
                                       "c 1:5 rwm\n",   "c 5:0 rwm\n", "c 5:2 rwm\n",
                                       "c 136:* rwm\n", "c 1:9 rwm\n", "c 10:200 rwm\n"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert_not_null(strstr(list, want[i]), "no %s in\n%s", want[i], list);
    free(list);
    cr_assert_eq(h_rt("delete", "-f", id, NULL), 0, "%s", h_err);
}

Test(rt_lifecycle, invalid_ids_rejected)
{
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, "../escape", NULL), 0);
    cr_assert_not_null(strstr(h_err, "invalid container id"), "%s", h_err);
    cr_assert_neq(h_rt("state", "a/b", NULL), 0);
}

Test(rt_lifecycle, crash_leftovers_are_deletable)
{
    char dir[256];
    const char *id = h_id("crash");

    /* A create that died right after mkdir: no state.json. */
    snprintf(dir, sizeof(dir), "%s", H.root);
    mkdir(dir, 0700);
    snprintf(dir, sizeof(dir), "%s/%s", H.root, id);
    cr_assert_eq(mkdir(dir, 0700), 0);
    cr_assert_str_eq(h_status(id), "stopped");
    cr_assert_eq(h_rt("delete", id, NULL), 0, "%s", h_err);
    cr_assert_neq(access(dir, F_OK), 0);
}

/* A create that died after making its cgroup and before its first
 * state.json: delete finds the cgroup from the saved config copy. */
Test(rt_lifecycle, crash_leftover_cgroup_is_deleted)
{
    char dir[256], cg[256], cfg[700];
    const char *id = h_id("crashcg");

    if (access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) != 0)
        cr_skip_test("no cgroup v1 pids hierarchy here");
    h_write_config();
    mkdir(H.root, 0700);
    snprintf(dir, sizeof(dir), "%s/%s", H.root, id);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(cfg, sizeof(cfg), "cp %s/config.json %s/config.json", H.bundle, dir);
    cr_assert_eq(system(cfg), 0);
    mkdir("/sys/fs/cgroup/pids/skiff", 0755);
    snprintf(cg, sizeof(cg), "/sys/fs/cgroup/pids/skiff/%s", id);
    cr_assert_eq(mkdir(cg, 0755), 0, "%s", strerror(errno));
    cr_assert_str_eq(h_status(id), "stopped");
    cr_assert_eq(h_rt("delete", id, NULL), 0, "%s", h_err);
    cr_assert_neq(access(dir, F_OK), 0);
    cr_assert_neq(access(cg, F_OK), 0, "%s left behind", cg);
}

Test(rt_lifecycle, no_pivot)
{
    h_write_config();
    cr_assert_eq(h_rt("run", "--no-pivot", "--bundle", H.bundle, h_id("nopivot"), NULL), 0, "%s",
                 h_err);
    cr_assert_not_null(strstr(h_out, "cwd=/\n"), "%s", h_out);
}

Test(rt_lifecycle, exec_in_running_container)
{
    const char *id = h_id("exec");

    h_args("sleep", "30", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "-d", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    cr_assert_eq(h_rt("exec", "--cwd", "/proc", id, "/init", "report", NULL), 0, "%s", h_err);
    cr_assert_null(strstr(h_out, "pid=1\n"), "exec'd process must not be pid 1: %s", h_out);
    cr_assert_not_null(strstr(h_out, "cwd=/proc\n"), "%s", h_out);
    cr_assert_null(strstr(h_out, "fd="), "fd leaked into exec: %s", h_out);
    cr_assert_eq(h_rt("exec", id, "/init", "exit", "3", NULL), 3, "%s", h_err);
    cr_assert_neq(h_rt("exec", id, "/nonexistent", NULL), 0);
}

Test(rt_lifecycle, user_namespace_with_mappings)
{
    json_t *linux_ = json_object_get(H.config, "linux");
    json_array_append_new(json_object_get(linux_, "namespaces"), json_pack("{ss}", "type", "user"));
    json_object_set_new(linux_, "uidMappings",
                        json_pack("[{sisisi}]", "containerID", 0, "hostID", 200000, "size", 65536));
    json_object_set_new(linux_, "gidMappings",
                        json_pack("[{sisisi}]", "containerID", 0, "hostID", 200000, "size", 65536));
    /* The rootfs must be reachable by the mapped root, and its mount points
     * exist already (the mapped root cannot create them in a host-owned tree). */
    chmod(H.dir, 0755);
    const char *dirs[] = {"proc",          "dev",     "sys",     "sys/fs",
                          "sys/fs/cgroup", "dev/pts", "dev/shm", "dev/mqueue"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char d[512];
        snprintf(d, sizeof(d), "%s/%s", H.rootfs, dirs[i]);
        mkdir(d, 0755);
    }
    h_args("cat", "/proc/self/uid_map", NULL);
    run_expect("userns", "200000");
}

Test(rt_lifecycle, update_resources)
{
    const char *id = h_id("update");
    char path[256];
    char *buf = NULL;
    size_t len = 0;

    h_args("sleep", "30", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "-d", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    cr_assert_eq(h_rt("update", "--pids-limit", "77", id, NULL), 0, "%s", h_err);
    snprintf(path, sizeof(path), "/sys/fs/cgroup/pids/skiff/%s/pids.max", id);
    if (access(path, F_OK) != 0)
        snprintf(path, sizeof(path), "/sys/fs/cgroup/skiff/%s/pids.max", id);
    cr_assert_eq(cm_read_file_at(AT_FDCWD, path, 64, &buf, &len, NULL), 0, "%s", path);
    cr_assert_eq(atoi(buf), 77, "%s", buf);
    free(buf);
    cr_assert_neq(h_rt("update", "--memory", "bogus", id, NULL), 0);
}

/* On v1 the container is made only in the hierarchies it uses (no cpuset
 * here): update of a cpuset makes its directory and moves the processes in. */
Test(rt_lifecycle, update_adds_the_cpuset_hierarchy)
{
    const char *id = h_id("upcpuset");
    char dir[256], path[320];
    char *buf = NULL, *procs = NULL;

    if (access("/sys/fs/cgroup/cpuset/cgroup.procs", F_OK) != 0)
        cr_skip_test("no v1 cpuset hierarchy");
    h_args("sleep", "30", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "-d", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    snprintf(dir, sizeof(dir), "/sys/fs/cgroup/cpuset/skiff/%s", id);
    cr_assert_neq(access(dir, F_OK), 0, "%s made without a cpuset in the config", dir);
    cr_assert_eq(h_rt("update", "--cpuset-cpus", "0", id, NULL), 0, "%s", h_err);
    snprintf(path, sizeof(path), "%s/cpuset.cpus", dir);
    cr_assert_eq(cm_read_file_at(AT_FDCWD, path, 64, &buf, NULL, NULL), 0, "%s", path);
    cr_assert_eq(strcmp(buf, "0\n"), 0, "%s", buf);
    snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    cr_assert_eq(cm_read_file_at(AT_FDCWD, path, 4096, &procs, NULL, NULL), 0, "%s", path);
    cr_assert_gt(atoi(procs), 0, "no process moved into %s", dir);
    free(buf);
    free(procs);
    cr_assert_eq(h_rt("delete", "-f", id, NULL), 0, "%s", h_err);
    cr_assert_neq(access(dir, F_OK), 0, "%s left behind", dir);
}

/* The cgroup is made while the init builds its rootfs and the init joins it
 * by path before pivot_root, also when no `cgroup` mount asks for it. */
Test(rt_lifecycle, cgroup_joined_without_a_cgroup_mount)
{
    const char *id = h_id("nocgmnt");
    json_t *mounts = json_object_get(H.config, "mounts");
    char want[128];
    size_t i;
    json_t *m;

    json_array_foreach (mounts, i, m) {
        if (!strcmp(json_string_value(json_object_get(m, "type")) ?: "", "cgroup")) {
            json_array_remove(mounts, i);
            break;
        }
    }
    /* without a cgroup namespace /proc/self/cgroup shows the host paths */
    json_t *nss = json_object_get(json_object_get(H.config, "linux"), "namespaces");
    json_array_foreach (nss, i, m) {
        if (!strcmp(json_string_value(json_object_get(m, "type")) ?: "", "cgroup")) {
            json_array_remove(nss, i);
            break;
        }
    }
    h_args("cat", "/proc/self/cgroup", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    snprintf(want, sizeof(want), ":/skiff/%s\n", id);
    if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
        cr_assert_not_null(strstr(h_out, want), "%s", h_out);
        return;
    }
    static const char *const hiers[] = {"memory", "pids", "cpuacct", "devices"};
    for (size_t k = 0; k < sizeof(hiers) / sizeof(hiers[0]); k++) {
        char line[160];
        snprintf(line, sizeof(line), ":%s:/skiff/%s\n", hiers[k], id);
        cr_assert_not_null(strstr(h_out, line), "no %s in\n%s", line, h_out);
    }
}

/* process.ioPriority and process.scheduler reach the container process,
 * and an exec'd one (its own process.json). */
Test(rt_lifecycle, io_priority_and_scheduler)
{
    const char *id = h_id("sched");
    json_t *proc = json_object_get(H.config, "process");

    json_object_set_new(proc, "ioPriority",
                        json_pack("{sssi}", "class", "IOPRIO_CLASS_BE", "priority", 6));
    json_object_set_new(proc, "scheduler", json_pack("{sssi}", "policy", "SCHED_BATCH", "nice", 7));
    h_args("sched", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    cr_assert_not_null(strstr(h_out, "policy=3\n"), "%s", h_out); /* SCHED_BATCH */
    cr_assert_not_null(strstr(h_out, "nice=7\n"), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "ioprio=16390\n"), "%s", h_out); /* BE << 13 | 6 */

    /* exec: the process.json's own values */
    const char *id2 = h_id("schedx");
    h_args("sleep", "30", NULL);
    json_object_del(proc, "ioPriority");
    json_object_del(proc, "scheduler");
    h_write_config();
    cr_assert_eq(h_rt("run", "-d", "--bundle", H.bundle, id2, NULL), 0, "%s", h_err);
    char pj[256];
    snprintf(pj, sizeof(pj), "%s/process.json", H.dir);
    json_t *xp =
        json_pack("{s[ss]sss[s]s{sisi}s{sssi}s{sssi}}", "args", "/init", "sched", "cwd", "/", "env",
                  "PATH=/", "user", "uid", 0, "gid", 0, "ioPriority", "class", "IOPRIO_CLASS_IDLE",
                  "priority", 0, "scheduler", "policy", "SCHED_OTHER", "nice", 3);
    cr_assert_eq(json_dump_file(xp, pj, 0), 0);
    json_decref(xp);
    cr_assert_eq(h_rt("exec", "--process", pj, id2, NULL), 0, "%s", h_err);
    cr_assert_not_null(strstr(h_out, "policy=0\n"), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "nice=3\n"), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "ioprio=24576\n"), "%s", h_out); /* IDLE << 13 */
}

/* linux.timeOffsets: the container's clocks are shifted in its new time
 * namespace; offsets on a joined one are refused. */
Test(rt_lifecycle, time_namespace_offsets)
{
    const char *id = h_id("timens");
    json_t *lx = json_object_get(H.config, "linux");

    if (access("/proc/self/ns/time", F_OK) != 0)
        cr_skip_test("no time namespaces");
    json_array_append_new(json_object_get(lx, "namespaces"), json_pack("{ss}", "type", "time"));
    json_object_set_new(lx, "timeOffsets",
                        json_pack("{s{sIsi}s{sIsi}}", "monotonic", "secs", (json_int_t)86400 * 3650,
                                  "nanosecs", 0, "boottime", "secs", (json_int_t)86400 * 7300,
                                  "nanosecs", 500000000));
    h_args("clock", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    long long mono = -1, boot = -1;
    const char *m = strstr(h_out, "monotonic="), *b = strstr(h_out, "boottime=");
    cr_assert(m && b, "%s", h_out);
    mono = atoll(m + 10);
    boot = atoll(b + 9);
    cr_assert_geq(mono, 86400LL * 3650, "%s", h_out);
    cr_assert_lt(mono, 86400LL * 3651, "%s", h_out);
    cr_assert_geq(boot, 86400LL * 7300, "%s", h_out);

    /* a joined time namespace keeps its offsets: refused before anything runs */
    json_t *nss = json_object_get(lx, "namespaces");
    json_array_remove(nss, json_array_size(nss) - 1);
    json_array_append_new(nss, json_pack("{ssss}", "type", "time", "path", "/proc/self/ns/time"));
    h_write_config();
    cr_assert_neq(h_rt("run", "--bundle", H.bundle, h_id("timens2"), NULL), 0);
    cr_assert_not_null(strstr(h_err, "timeOffsets"), "%s", h_err);
}

Test(rt_lifecycle, recursive_readonly_bind_and_personality)
{
    char src[256];

    snprintf(src, sizeof(src), "%s/data", H.dir);
    cr_assert_eq(mkdir(src, 0755), 0);
    strcat(src, "/x");
    close(open(src, O_CREAT | O_WRONLY, 0644));
    src[strlen(src) - 2] = 0;
    h_add_mount("/data", "bind", src, "rbind", "rro", NULL);
    json_object_set_new(json_object_get(H.config, "linux"), "personality",
                        json_pack("{ss}", "domain", "LINUX32"));
    h_args("write", "/data/x", NULL);
    run_expect("rro", "write=Read-only file system");
}

/* Bind sources relative to the bundle (the init's working directory while it
 * mounts), "ro" binds of a directory and of a file, and options on a tmpfs. */
Test(rt_lifecycle, relative_and_readonly_binds)
{
    char p[256];

    snprintf(p, sizeof(p), "%s/reldata", H.bundle);
    cr_assert_eq(mkdir(p, 0755), 0);
    strcat(p, "/x");
    close(open(p, O_CREAT | O_WRONLY, 0644));
    snprintf(p, sizeof(p), "%s/relfile", H.bundle);
    close(open(p, O_CREAT | O_WRONLY, 0644));
    h_add_mount("/data", "bind", "reldata", "bind", "ro", NULL);
    h_add_mount("/tmp/file", "bind", "./relfile", "bind", "ro", NULL);
    h_add_mount("/scratch", "tmpfs", "tmpfs", "ro", "nosuid", NULL);
    h_args("write", "/data/x", NULL);
    run_expect("relbind", "write=Read-only file system");
    h_args("write", "/tmp/file", NULL);
    run_expect("relbind2", "write=Read-only file system");
    h_args("cat", "/proc/self/mountinfo", NULL);
    run_expect("relbind3", " /scratch ro,nosuid");
}

/* root.readonly and readonlyPaths: read-only, and a read-only path keeps
 * its mount's other flags (/dev/shm's nosuid, nodev, noexec). */
Test(rt_lifecycle, readonly_root_and_paths)
{
    char p[256];

    snprintf(p, sizeof(p), "%s/rofile", H.rootfs);
    close(open(p, O_CREAT | O_WRONLY, 0644));
    json_object_set_new(json_object_get(H.config, "root"), "readonly", json_true());
    json_object_set_new(json_object_get(H.config, "linux"), "readonlyPaths",
                        json_pack("[ss]", "/proc/sys", "/dev/shm"));
    h_args("write", "/rofile", NULL);
    run_expect("ro1", "write=Read-only file system");
    h_args("cat", "/proc/self/mountinfo", NULL);
    run_expect("ro2", " /proc/sys ro");
    cr_assert_not_null(strstr(h_out, " /dev/shm ro,nosuid,nodev,noexec"), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "/rootfs / ro,"), "%s", h_out);
}
