/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup layer on this host's real cgroupfs (hybrid: v1 hierarchies plus
 * a cgroup2 at /sys/fs/cgroup/unified; pure v1 and v2 work too). Each test
 * uses the cgroup /rt-cgroup-test-<pid>; .fini removes whatever a failing test
 * left and fails the test if anything was left. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <libcgroup.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "../../../runtime/cgroup_internal.h"
#include "rt/cgroup.h"

#define ROOT "/sys/fs/cgroup"

static char name[64];
static pid_t children[8];
static size_t n_children;

static void
setup(void)
{
    snprintf(name, sizeof(name), "/rt-cgroup-test-%d", (int)getpid());
    n_children = 0;
}

/* Kills what is in ROOT/<h>/name (and nested cgroups), removes the dirs;
 * returns how many directories were still there. */
static int
scrub(const char *dir)
{
    int left = 0;
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return 0;
    left++;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_type == DT_DIR && de->d_name[0] != '.') {
            cleanup_free char *sub = xasprintf("%s/%s", dir, de->d_name);
            left += scrub(sub);
        }
    }
    cleanup_free char *procs = xasprintf("%s/cgroup.procs", dir);
    cleanup_free char *buf = NULL;
    if (cm_read_file_at(AT_FDCWD, procs, 1 << 20, &buf, NULL, NULL) == 0)
        for (char *p = buf; *p;) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p)
                break;
            kill((pid_t)v, SIGKILL);
            p = end + (*end != '\0');
        }
    cleanup_free char *state = xasprintf("%s/freezer.state", dir);
    FILE *f = fopen(state, "we");
    if (f) {
        fputs("THAWED", f);
        fclose(f);
    }
    for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
        usleep(10000);
    return left;
}

static void
teardown(void)
{
    int left = 0;
    for (size_t i = 0; i < n_children; i++) {
        kill(children[i], SIGKILL);
        waitpid(children[i], NULL, 0);
    }
    cleanup_dir DIR *d = opendir(ROOT);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        cleanup_free char *dir = xasprintf(ROOT "/%s%s", de->d_name, name);
        cleanup_free char *rel = xasprintf(ROOT "/%s/skiff%s", de->d_name, name);
        left += scrub(dir) + scrub(rel);
    }
    cr_expect_eq(left, 0, "%d cgroup directories were left behind", left);
}

TestSuite(rt_cgroup_host, .init = setup, .fini = teardown, .timeout = 30);

static pid_t
spawn_sleeper(void)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        for (;;)
            pause();
    }
    children[n_children++] = pid;
    return pid;
}

static char *
host_file(const char *hier, const char *file)
{
    cleanup_free char *p = xasprintf(ROOT "/%s%s/%s", hier, name, file);
    char *buf = NULL;
    if (cm_read_file_at(AT_FDCWD, p, 1 << 20, &buf, NULL, NULL) < 0)
        return NULL;
    size_t len = strlen(buf);
    while (len && buf[len - 1] == '\n')
        buf[--len] = '\0';
    return buf;
}

static bool
mounted(const char *hier)
{
    cleanup_free char *p = xasprintf(ROOT "/%s/cgroup.procs", hier);
    return access(p, F_OK) == 0;
}

static void
require_layout(void)
{
    if (geteuid() != 0)
        cr_skip_test("requires root");
    enum rt_cgroup_mode mode;
    cleanup_error struct cm_error *err = NULL;
    if (rt_cgroup_detect(ROOT, &mode, &err) < 0)
        cr_skip_test("no cgroups: %s", err->msg);
    if (mode == RT_CGROUP_V2)
        cr_skip_test("written for v1/hybrid hosts (v2 is covered by the unit tests)");
    /* root of a user namespace (unshare -r) cannot write the host's cgroups */
    struct rt_cgroup_hierarchy *h = NULL;
    size_t n = 0;
    if (rt_cgroup_hierarchies(ROOT, &h, &n, &err) == 0 && n > 0) {
        cleanup_free char *procs = xasprintf("%s/cgroup.procs", h[0].mountpoint);
        bool writable = access(procs, W_OK) == 0;
        rt_cgroup_hierarchies_free(h, n);
        if (!writable)
            cr_skip_test("the host's cgroups are not writable here");
    }
}

/* The directory a /proc/PID/cgroup line's hierarchy is mounted at here:
 * "cpu" -> cpu, "name=systemd" -> systemd, "" (cgroup2) -> unified. */
static char *
line_hier_dir(const char *ctrls, size_t len)
{
    if (len == 0)
        return xstrdup(ROOT "/unified");
    if (len > 5 && !strncmp(ctrls, "name=", 5))
        return xasprintf(ROOT "/%.*s", (int)len - 5, ctrls + 5);
    return xasprintf(ROOT "/%.*s", (int)len, ctrls);
}

/* Whether pid is in path in every hierarchy where path exists (the
 * container's cgroup is made only in the hierarchies it uses), and in at
 * least one. */
static bool
proc_in_hiers(pid_t pid, const char *path, bool v1_only)
{
    cleanup_free char *p = xasprintf("/proc/%d/cgroup", (int)pid);
    cleanup_free char *buf = NULL;
    if (cm_read_file_at(AT_FDCWD, p, 1 << 16, &buf, NULL, NULL) < 0)
        return false;
    /* lines "N:ctrls:PATH" */
    int lines = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char *a = strchr(line, ':');
        char *c = a ? strchr(a + 1, ':') : NULL;
        if (!c)
            return false;
        if (v1_only && c == a + 1)
            continue; /* the cgroup2 line "0::PATH" */
        cleanup_free char *hier = line_hier_dir(a + 1, (size_t)(c - a - 1));
        cleanup_free char *dir = xasprintf("%s%s", hier, path);
        if (access(dir, F_OK) < 0)
            continue;
        if (strcmp(c + 1, path) != 0)
            return false;
        lines++;
    }
    return lines > 0;
}

static bool
proc_in(pid_t pid, const char *path)
{
    return proc_in_hiers(pid, path, false);
}

static bool
proc_in_v1(pid_t pid, const char *path)
{
    return proc_in_hiers(pid, path, true);
}

Test(rt_cgroup_host, applies_memory_cpu_pids_cpuset)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {
        .has_memory = true, .has_cpu = true, .has_pids = true, .pids_limit = 64};
    res.memory = (struct rt_memory){.has_limit = true,
                                    .limit = 64 << 20,
                                    .has_reservation = true,
                                    .reservation = 32 << 20,
                                    .has_swappiness = true,
                                    .swappiness = 0};
    res.cpu = (struct rt_cpu){.has_shares = true,
                              .shares = 256,
                              .has_quota = true,
                              .quota = 20000,
                              .has_period = true,
                              .period = 100000,
                              .cpus = "0",
                              .mems = "0"};

    require_layout();
    cr_assert_eq(rt_cgroup_create(ROOT, name, "x", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_str_eq(rt_cgroup_path(cg), name);
    char *v;
    cr_assert_str_eq(v = host_file("memory", "memory.limit_in_bytes"), "67108864");
    free(v);
    cr_assert_str_eq(v = host_file("memory", "memory.soft_limit_in_bytes"), "33554432");
    free(v);
    cr_assert_str_eq(v = host_file("memory", "memory.swappiness"), "0");
    free(v);
    const char *cpu = mounted("cpu,cpuacct") ? "cpu,cpuacct" : "cpu";
    cr_assert_str_eq(v = host_file(cpu, "cpu.shares"), "256");
    free(v);
    cr_assert_str_eq(v = host_file(cpu, "cpu.cfs_quota_us"), "20000");
    free(v);
    cr_assert_str_eq(v = host_file("pids", "pids.max"), "64");
    free(v);
    cr_assert_str_eq(v = host_file("cpuset", "cpuset.cpus"), "0");
    free(v);
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0, "%s", err ? err->msg : "");
}

Test(rt_cgroup_host, enter_pids_freeze_kill_destroy)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    bool frozen = false;
    int status = 0;

    require_layout();
    cr_assert_eq(rt_cgroup_create(ROOT, name, "x", NULL, &cg, &err), 0, "%s", err ? err->msg : "");
    pid_t child = spawn_sleeper();
    cr_assert_eq(rt_cgroup_enter(cg, child, &err), 0, "%s", err ? err->msg : "");
    cr_assert(proc_in(child, name), "child is not in %s everywhere", name);
    cr_assert_eq(rt_cgroup_pids(cg, &pids, &n, &err), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(pids[0], child);
    struct rt_cgroup_stats st;
    cr_assert_eq(rt_cgroup_stats(cg, &st, &err), 0, "%s", err ? err->msg : "");
    cr_assert(st.has_pids && st.has_memory);
    cr_assert_eq(st.pids_current, 1);
    cr_assert_gt(st.memory_limit, 0); /* usage may be 0: charges stay where pages were faulted */

    cr_assert_eq(rt_cgroup_freeze(cg, true, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(rt_cgroup_is_frozen(cg, &frozen, &err), 0);
    cr_assert(frozen);
    cr_assert_eq(rt_cgroup_freeze(cg, false, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(rt_cgroup_is_frozen(cg, &frozen, &err), 0);
    cr_assert(!frozen);

    /* a non-fatal signal leaves a paused container paused */
    cr_assert_eq(rt_cgroup_freeze(cg, true, &err), 0);
    cr_assert_eq(rt_cgroup_kill_all(cg, SIGCONT, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(rt_cgroup_is_frozen(cg, &frozen, &err), 0);
    cr_assert(frozen);

    /* SIGKILL reaches a paused container too */
    cr_assert_eq(rt_cgroup_kill_all(cg, SIGKILL, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(waitpid(child, &status, 0), child);
    n_children = 0;
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0, "%s", err ? err->msg : "");
}

/* The init's way in (rt_cgroup_join_prepare/join_self/join_done, "0" to
 * each v1 `tasks`) and exec's (enter_self) place the process in every
 * hierarchy, like enter does from outside; enter then skips what was joined. */
Test(rt_cgroup_host, join_self_and_enter_self)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    int status = 0;

    require_layout();
    cr_assert_eq(rt_cgroup_create(ROOT, name, "x", NULL, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(rt_cgroup_join_prepare(cg, &err), 0, "%s", err ? err->msg : "");
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        cleanup_error struct cm_error *e = NULL;
        if (rt_cgroup_join_self(cg, &e) < 0)
            _exit(3);
        /* the v2 hierarchy (hybrid's unified) is enter's or clone3's */
        for (;;)
            pause();
    }
    children[n_children++] = child;
    rt_cgroup_join_done(cg, false);
    for (int i = 0; i < 200 && !proc_in_v1(child, name); i++)
        usleep(5000);
    cr_assert(proc_in_v1(child, name), "child did not join the v1 hierarchies by itself");
    cr_assert_eq(rt_cgroup_enter(cg, child, &err), 0, "%s", err ? err->msg : "");
    for (int i = 0; i < 200 && !proc_in(child, name); i++)
        usleep(5000);
    cr_assert(proc_in(child, name), "joined child is not in %s everywhere", name);

    pid_t c2 = fork();
    cr_assert(c2 >= 0);
    if (c2 == 0) {
        cleanup_error struct cm_error *e = NULL;
        if (rt_cgroup_enter_self(cg, &e) < 0)
            _exit(3);
        for (;;)
            pause();
    }
    children[n_children++] = c2;
    for (int i = 0; i < 200 && !proc_in(c2, name); i++)
        usleep(5000);
    cr_assert(proc_in(c2, name), "exec-style child is not in %s everywhere", name);

    cr_assert_eq(rt_cgroup_destroy(cg, true, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFSIGNALED(status), "join_self failed: status %d", status);
    cr_assert_eq(waitpid(c2, &status, 0), c2);
    cr_assert(WIFSIGNALED(status), "enter_self failed: status %d", status);
    n_children = 0;
}

Test(rt_cgroup_host, force_destroy_kills_forked_stragglers)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;

    require_layout();
    cr_assert_eq(rt_cgroup_create(ROOT, name, "x", NULL, &cg, &err), 0);
    /* enter before the forks so the grandchildren are born inside */
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        cleanup_error struct cm_error *e = NULL;
        if (rt_cgroup_enter(cg, getpid(), &e) < 0)
            _exit(3);
        for (int i = 0; i < 3; i++)
            if (fork() == 0)
                break;
        for (;;)
            pause();
    }
    children[n_children++] = child;
    for (int i = 0; i < 200 && n < 4; i++) {
        free(pids);
        pids = NULL;
        cr_assert_eq(rt_cgroup_pids(cg, &pids, &n, &err), 0);
        usleep(5000);
    }
    cr_assert_geq(n, 4, "expected 4+ processes, saw %zu", n);
    /* without force a busy cgroup is not removed */
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), -1);
    cr_assert_eq(err->code, EBUSY, "%s", err->msg);
    cm_error_free(&err);
    rt_cgroup_free(cg);
    cg = NULL;
    cr_assert_eq(rt_cgroup_open(ROOT, name, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(rt_cgroup_destroy(cg, true, &err), 0, "%s", err ? err->msg : "");
    waitpid(child, NULL, 0);
    n_children = 0;
}

Test(rt_cgroup_host, failed_create_leaves_nothing)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    /* a pids limit is written after memory; a bogus cpuset makes the kernel
     * refuse a write late in create */
    struct rt_resources res = {
        .has_memory = true, .has_cpu = true, .has_pids = true, .pids_limit = 10};
    res.memory = (struct rt_memory){.has_limit = true, .limit = 64 << 20};
    res.cpu = (struct rt_cpu){.has_shares = true, .shares = 100, .cpus = "4095"};

    require_layout();
    cleanup_free char *nested = xasprintf("%s/a/b", name);
    cr_assert_eq(rt_cgroup_create(ROOT, nested, "x", &res, &cg, &err), -1);
    cr_assert_null(cg);
    cr_assert(strstr(err->msg, "cpuset.cpus"), "%s", err->msg);
    /* .fini fails the test if anything below name is left */
}

Test(rt_cgroup_host, hugetlb_through_unified)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_hugepage_limit hl[] = {{.page_size = "2MB", .limit = 2 << 21}};
    struct rt_resources res = {.hugepage_limits = hl, .n_hugepage_limits = 1};

    require_layout();
    if (mounted("hugetlb"))
        cr_skip_test("hugetlb is a v1 hierarchy here");
    cleanup_free char *ctl = NULL;
    if (cm_read_file_at(AT_FDCWD, ROOT "/unified/cgroup.controllers", 4096, &ctl, NULL, NULL) < 0 ||
        !strstr(ctl, "hugetlb"))
        cr_skip_test("no hugetlb in the unified hierarchy");
    cr_assert_eq(rt_cgroup_create(ROOT, name, "x", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    char *v = host_file("unified", "hugetlb.2MB.max");
    cr_assert_not_null(v);
    cr_assert_str_eq(v, "4194304");
    free(v);
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0);
}

Test(rt_cgroup_host, mounts_point_at_the_container_cgroup)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_cgroup_mount *m = NULL;
    size_t n = 0;

    require_layout();
    cr_assert_eq(rt_cgroup_create(ROOT, name, "x", NULL, &cg, &err), 0);
    cr_assert_eq(rt_cgroup_mounts(cg, &m, &n, &err), 0);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        cr_assert_eq(stat(m[i].host_path, &st), 0, "%s", m[i].host_path);
        cr_assert(S_ISDIR(st.st_mode));
    }
    rt_cgroup_mounts_free(m, n);
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0);
}

/* Child: joins cg, tries to open path; exits 0 when open succeeds, 1 on
 * EPERM, 2 on anything else. */
static int
open_in_cgroup(struct rt_cgroup *cg, const char *path)
{
    int status = 0;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (rt_cgroup_enter(cg, getpid(), NULL) < 0)
            _exit(3);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        _exit(fd >= 0 ? 0 : errno == EPERM ? 1 : 2);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

Test(rt_cgroup_host, v2_device_program_on_unified)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_device_rule rules[] = {
        {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
        {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rwm"},
    };

    /* a hugepage limit: on hybrid the container is in the cgroup2 mount too */
    struct rt_hugepage_limit hl[] = {{.page_size = "2MB", .limit = 4 << 21}};
    struct rt_resources res = {.hugepage_limits = hl, .n_hugepage_limits = 1};

    require_layout();
    if (rt_cgroup_create(ROOT, name, "x", &res, &cg, &err) < 0)
        cr_skip_test("no hugetlb controller: %s", err->msg);
    int fd = rt_cgroup_v2_fd(cg);
    if (fd < 0)
        cr_skip_test("no cgroup2 hierarchy on this host");
    /* the program a pure v2 host gets, tried on the hybrid unified mount */
    int r = cg_bpf_devices_attach(fd, "unified", rules, 2, &err);
    if (r < 0 && err->code == EPERM) {
        cm_error_free(&err);
        cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0);
        cr_skip_test("no BPF privileges here (user namespace?)");
    }
    cr_assert_eq(r, 0, "%s", err ? err->msg : "");
    cr_assert_eq(open_in_cgroup(cg, "/dev/null"), 1, "/dev/null should be denied");
    cr_assert_eq(open_in_cgroup(cg, "/dev/zero"), 0, "/dev/zero should be allowed");
    /* an update replaces the program instead of stacking a second one */
    cr_assert_eq(cg_bpf_devices_attach(fd, "unified", NULL, 0, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(open_in_cgroup(cg, "/dev/null"), 0, "/dev/null should be allowed again");
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0, "%s", err ? err->msg : "");
}

/* libcgroup as an oracle: every controller it finds mounted must be in one
 * of our hierarchies, at the same mount point. */
Test(rt_cgroup_host, discovery_agrees_with_libcgroup)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup_hierarchy *h = NULL;
    size_t n = 0;
    void *handle = NULL;
    struct cgroup_mount_point info;
    int checked = 0;

    require_layout();
    cr_assert_eq(cgroup_init(), 0);
    cr_assert_eq(rt_cgroup_hierarchies(ROOT, &h, &n, &err), 0, "%s", err ? err->msg : "");
    for (int r = cgroup_get_controller_begin(&handle, &info); r == 0;
         r = cgroup_get_controller_next(&handle, &info)) {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++) {
            if (strcmp(h[i].mountpoint, info.path) != 0)
                continue;
            if (h[i].v2) {
                found = true; /* hybrid: libcgroup lists hugetlb at unified */
                continue;
            }
            size_t len = strlen(info.name);
            for (const char *c = h[i].controllers; (c = strstr(c, info.name)); c += len)
                if ((c == h[i].controllers || c[-1] == ',') && (c[len] == ',' || !c[len]))
                    found = true;
        }
        cr_expect(found, "libcgroup: %s at %s, not in our list", info.name, info.path);
        checked++;
    }
    cgroup_get_controller_end(&handle);
    rt_cgroup_hierarchies_free(h, n);
    cr_assert_gt(checked, 0);
}

static long
read_long(const char *path)
{
    cleanup_free char *buf = NULL;
    if (cm_read_file_at(AT_FDCWD, path, 4096, &buf, NULL, NULL) < 0)
        return -1;
    return strtol(buf, NULL, 10);
}

/* A relative cgroupsPath lands below /skiff, which starts with no realtime
 * budget: the ancestors get one, and destroy hands it back. */
Test(rt_cgroup_host, realtime_below_the_default_parent)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_cpu = true};
    res.cpu = (struct rt_cpu){.has_realtime_period = true,
                              .realtime_period = 1000000,
                              .has_realtime_runtime = true,
                              .realtime_runtime = 10000};

    require_layout();
    if (access(ROOT "/cpu/cpu.rt_runtime_us", F_OK) < 0)
        cr_skip_test("no realtime group scheduling");
    long before = read_long(ROOT "/cpu/skiff/cpu.rt_runtime_us"); /* -1: no /skiff yet */
    cr_assert_eq(rt_cgroup_create(ROOT, name + 1, "x", &res, &cg, &err), 0, "%s",
                 err ? err->msg : "");
    cleanup_free char *leaf = xasprintf(ROOT "/cpu/skiff%s/cpu.rt_runtime_us", name);
    cr_assert_eq(read_long(leaf), 10000);
    cr_assert_geq(read_long(ROOT "/cpu/skiff/cpu.rt_runtime_us"), 10000);
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0, "%s", err ? err->msg : "");
    if (before <= 0)
        cr_assert_eq(read_long(ROOT "/cpu/skiff/cpu.rt_runtime_us"), 0,
                     "the budget lent to /skiff was not handed back");
}
