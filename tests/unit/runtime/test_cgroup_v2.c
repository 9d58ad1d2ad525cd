/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the cgroup v2 backend against a fake cgroupfs tree, and for
 * its pure conversions (shares -> weight, swap arithmetic). */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "cgroup_fake.h"
#include "rt/cgroup.h"

FAKE_CGROUP_SUITE(rt_cgroup_v2, root, "/tmp/rt-cgroup-v2-XXXXXX", fake_v2_tree(root));

static struct rt_cgroup *
create_ok(const char *path, const struct rt_resources *res)
{
    struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    int r = rt_cgroup_create(root, path, "c1", res, &cg, &err);
    cr_assert_eq(r, 0, "%s", err ? err->msg : "");
    return cg;
}

Test(rt_cgroup_v2, detects_v2)
{
    cleanup_error struct cm_error *err = NULL;
    enum rt_cgroup_mode mode = 0;
    struct rt_cgroup_hierarchy *h = NULL;
    size_t n = 0;

    cr_assert_eq(rt_cgroup_detect(root, &mode, &err), 0);
    cr_assert_eq(mode, RT_CGROUP_V2);
    cr_assert_eq(rt_cgroup_hierarchies(root, &h, &n, &err), 0);
    cr_assert_eq(n, 1);
    cr_assert(h[0].v2);
    cr_assert_str_eq(h[0].mountpoint, root);
    rt_cgroup_hierarchies_free(h, n);
}

Test(rt_cgroup_v2, enables_controllers_down_the_path)
{
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok(NULL, NULL);

    cr_assert_str_eq(rt_cgroup_path(cg), "/skiff/c1");
    cr_assert_file(root, "cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids");
    cr_assert_file(root, "skiff/cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids");
    /* the leaf itself holds the processes: nothing enabled there */
    cr_assert_file(root, "skiff/c1/cgroup.subtree_control", "");
    cr_assert(rt_cgroup_v2_fd(cg) >= 0);
}

Test(rt_cgroup_v2, enabled_controllers_are_not_rewritten)
{
    /* kernel format: what is enabled already; only pids is missing */
    fake_put(root, "cgroup.subtree_control", "cpuset cpu io memory hugetlb\n");
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok("/top", NULL);
    cr_assert_not_null(cg);
    cr_assert_file(root, "cgroup.subtree_control", "+pids");
    cr_assert_file(root, "top/cgroup.subtree_control", "");
}

Test(rt_cgroup_v2, only_available_controllers_are_enabled)
{
    fake_put(root, "cgroup.controllers", "memory pids\n");
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok("/top", NULL);
    cr_assert_not_null(cg);
    cr_assert_file(root, "cgroup.subtree_control", "+memory +pids");
}

Test(rt_cgroup_v2, writes_memory_with_swap_arithmetic)
{
    struct rt_resources res = {.has_memory = true};
    res.memory = (struct rt_memory){.has_limit = true,
                                    .limit = 256 << 20,
                                    .has_reservation = true,
                                    .reservation = 64 << 20,
                                    .has_swap = true,
                                    .swap = 384 << 20};
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok("/m", &res);
    cr_assert_not_null(cg);

    cr_assert_file(root, "m/memory.max", "268435456");
    cr_assert_file(root, "m/memory.low", "67108864");
    cr_assert_file(root, "m/memory.swap.max", "134217728"); /* 384 - 256 MiB */
}

Test(rt_cgroup_v2, unlimited_memory)
{
    struct rt_resources res = {.has_memory = true};
    res.memory = (struct rt_memory){.has_limit = true, .limit = -1};
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok("/m", &res);
    cr_assert_not_null(cg);

    cr_assert_file(root, "m/memory.max", "max");
    cr_assert_file(root, "m/memory.swap.max", "max");
}

Test(rt_cgroup_v2, swap_conversion_cases)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_memory m;
    bool set;
    int64_t v;

    m = (struct rt_memory){.has_limit = true, .limit = 100, .has_swap = true, .swap = 300};
    cr_assert_eq(cg_swap_to_v2(&m, &set, &v, &err), 0);
    cr_assert(set);
    cr_assert_eq(v, 200);
    m = (struct rt_memory){.has_limit = true, .limit = 100, .has_swap = true, .swap = 100};
    cr_assert_eq(cg_swap_to_v2(&m, &set, &v, &err), 0);
    cr_assert(set);
    cr_assert_eq(v, 0); /* no swap at all */
    m = (struct rt_memory){.has_limit = true, .limit = 100};
    cr_assert_eq(cg_swap_to_v2(&m, &set, &v, &err), 0);
    cr_assert(!set);
    m = (struct rt_memory){.has_limit = true, .limit = 100, .has_swap = true, .swap = -1};
    cr_assert_eq(cg_swap_to_v2(&m, &set, &v, &err), 0);
    cr_assert(set);
    cr_assert_eq(v, -1);
    m = (struct rt_memory){.has_limit = true, .limit = -1};
    cr_assert_eq(cg_swap_to_v2(&m, &set, &v, &err), 0);
    cr_assert(set);
    cr_assert_eq(v, -1);
    m = (struct rt_memory){.has_swap = true, .swap = 300};
    cr_assert_eq(cg_swap_to_v2(&m, &set, &v, &err), -1);
    cr_assert(strstr(err->msg, "needs a memory.limit"), "%s", err->msg);
    cm_error_free(&err);
    m = (struct rt_memory){.has_limit = true, .limit = 300, .has_swap = true, .swap = 100};
    cr_assert_eq(cg_swap_to_v2(&m, &set, &v, &err), -1);
    cr_assert_eq(err->code, 0);
}

Test(rt_cgroup_v2, shares_to_weight)
{
    cr_assert_eq(cg_shares_to_weight(0), 0);
    cr_assert_eq(cg_shares_to_weight(2), 1);
    cr_assert_eq(cg_shares_to_weight(1), 1);
    cr_assert_eq(cg_shares_to_weight(1024), 39);
    cr_assert_eq(cg_shares_to_weight(262144), 10000);
    cr_assert_eq(cg_shares_to_weight(1u << 30), 10000);
    cr_assert_eq(cg_blkio_to_io_weight(10), 1);
    cr_assert_eq(cg_blkio_to_io_weight(500), 4950);
    cr_assert_eq(cg_blkio_to_io_weight(1000), 10000);
}

Test(rt_cgroup_v2, writes_cpu_values)
{
    struct rt_resources res = {.has_cpu = true};
    res.cpu = (struct rt_cpu){.has_shares = true,
                              .shares = 1024,
                              .has_quota = true,
                              .quota = 50000,
                              .has_period = true,
                              .period = 100000,
                              .has_burst = true,
                              .burst = 1000,
                              .cpus = "0-1",
                              .mems = "0"};
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok("/c", &res);
    cr_assert_not_null(cg);

    cr_assert_file(root, "c/cpu.weight", "39");
    cr_assert_file(root, "c/cpu.max", "50000 100000");
    cr_assert_file(root, "c/cpu.max.burst", "1000");
    cr_assert_file(root, "c/cpuset.cpus", "0-1");
    cr_assert_file(root, "c/cpuset.mems", "0");
}

Test(rt_cgroup_v2, cpu_max_keeps_the_unchanged_half)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_resources res = {.has_cpu = true};
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok("/c", NULL);
    cr_assert_not_null(cg);

    fake_put(root, "c/cpu.max", "30000 200000\n");
    res.cpu = (struct rt_cpu){.has_quota = true, .quota = 10000};
    cr_assert_eq(rt_cgroup_apply(cg, &res, &err), 0);
    cr_assert_file(root, "c/cpu.max", "10000 200000");
    res.cpu = (struct rt_cpu){.has_period = true, .period = 50000};
    cr_assert_eq(rt_cgroup_apply(cg, &res, &err), 0);
    cr_assert_file(root, "c/cpu.max", "10000 50000");
    res.cpu = (struct rt_cpu){.has_quota = true, .quota = -1};
    cr_assert_eq(rt_cgroup_apply(cg, &res, &err), 0);
    cr_assert_file(root, "c/cpu.max", "max 50000");
}

Test(rt_cgroup_v2, realtime_is_rejected)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_cpu = true};
    res.cpu = (struct rt_cpu){.has_realtime_runtime = true, .realtime_runtime = 1000};

    cr_assert_eq(rt_cgroup_create(root, "/rt", "x", &res, &cg, &err), -1);
    cr_assert(strstr(err->msg, "realtime"), "%s", err->msg);
    cr_assert(!fake_exists(root, "rt"));
}

Test(rt_cgroup_v2, pids_io_hugetlb)
{
    struct rt_blkio_throttle rb[] = {{.major = 8, .minor = 0, .rate = 1048576}};
    struct rt_blkio_throttle wi[] = {{.major = 8, .minor = 0, .rate = 0}};
    struct rt_hugepage_limit hl[] = {{.page_size = "2MB", .limit = 4194304}};
    struct rt_resources res = {.has_pids = true,
                               .pids_limit = 0,
                               .has_blkio = true,
                               .hugepage_limits = hl,
                               .n_hugepage_limits = 1};
    res.blkio = (struct rt_blkio){
        .has_weight = true, .weight = 500, .throttle_read_bps = rb, .n_throttle_read_bps = 1};
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok("/p", &res);
    cr_assert_not_null(cg);

    cr_assert_file(root, "p/pids.max", "max");
    cr_assert_file(root, "p/io.weight", "default 4950");
    cr_assert_file(root, "p/io.max", "8:0 rbps=1048576");
    cr_assert_file(root, "p/hugetlb.2MB.max", "4194304");

    cleanup_error struct cm_error *err = NULL;
    struct rt_resources upd = {.has_pids = true, .pids_limit = 42, .has_blkio = true};
    upd.blkio = (struct rt_blkio){.throttle_write_iops = wi, .n_throttle_write_iops = 1};
    cr_assert_eq(rt_cgroup_apply(cg, &upd, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "p/pids.max", "42");
    cr_assert_file(root, "p/io.max", "8:0 wiops=max");
}

Test(rt_cgroup_v2, bad_page_size_is_rejected)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_hugepage_limit hl[] = {{.page_size = "2MB/../x", .limit = 1}};
    struct rt_resources res = {.hugepage_limits = hl, .n_hugepage_limits = 1};

    cr_assert_eq(rt_cgroup_create(root, "/h", "x", &res, &cg, &err), -1);
    cr_assert(strstr(err->msg, "pageSize"), "%s", err->msg);
    cr_assert(!fake_exists(root, "h"));
}

Test(rt_cgroup_v2, unified_values_written_verbatim)
{
    struct rt_unified u[] = {{.key = "memory.high", .value = "100M"}};
    struct rt_resources res = {.unified = u, .n_unified = 1};
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok("/u", &res);
    cr_assert_not_null(cg);

    cr_assert_file(root, "u/memory.high", "100M");
}

Test(rt_cgroup_v2, hostile_unified_keys)
{
    static const char *const bad[] = {
        "../../etc/passwd", "memory.high/x", "..",    "nodot", "cgroup.procs",
        "cgroup.kill",      ".hidden",       "a b.c", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cleanup_error struct cm_error *err = NULL;
        cr_assert_eq(cg_check_unified_key(bad[i], &err), -1, "'%s' accepted", bad[i]);
        cr_assert_eq(err->code, 0);
    }
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(cg_check_unified_key("io.bfq.weight", &err), 0);
}

Test(rt_cgroup_v2, unified_unknown_file_fails_cleanly)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_unified u[] = {{.key = "memory.nonexistent", .value = "1"}};
    struct rt_resources res = {.unified = u, .n_unified = 1};

    cr_assert_eq(rt_cgroup_create(root, NULL, "c1", &res, &cg, &err), -1);
    cr_assert(strstr(err->msg, "memory.nonexistent"), "%s", err->msg);
    cr_assert(!fake_exists(root, "skiff"));
}

Test(rt_cgroup_v2, failing_write_removes_every_created_dir)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true, .has_pids = true, .pids_limit = 9};
    res.memory = (struct rt_memory){.has_limit = true, .limit = 1 << 20};

    fake_rm(root, "pids.max"); /* pids not enabled: the file is absent */
    cr_assert_eq(rt_cgroup_create(root, "/a/b/c", "x", &res, &cg, &err), -1);
    cr_assert_eq(err->code, ENOTSUP);
    cr_assert(strstr(err->msg, "pids.max"), "%s", err->msg);
    cr_assert(strstr(err->msg, "controller not enabled"), "%s", err->msg);
    cr_assert(!fake_exists(root, "a"));
}

Test(rt_cgroup_v2, device_rules_validated)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_device_rule rules[] = {{.allow = true, .type = 'x', .major = 1, .minor = 3}};
    struct rt_resources res = {.devices = rules, .n_devices = 1};

    cr_assert_eq(rt_cgroup_create(root, "/d", "x", &res, &cg, &err), -1);
    cr_assert(strstr(err->msg, "devices[0]"), "%s", err->msg);
}

Test(rt_cgroup_v2, freeze_thaw_kill_destroy)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok(NULL, NULL);
    bool frozen = true;

    cr_assert_eq(rt_cgroup_enter(cg, 1234, &err), 0);
    cr_assert_file(root, "skiff/c1/cgroup.procs", "1234");
    cr_assert_eq(rt_cgroup_is_frozen(cg, &frozen, &err), 0);
    cr_assert(!frozen);
    cr_assert_eq(rt_cgroup_freeze(cg, true, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "skiff/c1/cgroup.freeze", "1");
    cr_assert_eq(rt_cgroup_is_frozen(cg, &frozen, &err), 0);
    cr_assert(frozen);
    cr_assert_eq(rt_cgroup_freeze(cg, false, &err), 0);
    cr_assert_file(root, "skiff/c1/cgroup.freeze", "0");
    /* SIGKILL goes through cgroup.kill, no signalling of pids */
    cr_assert_eq(rt_cgroup_kill_all(cg, SIGKILL, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "skiff/c1/cgroup.kill", "1");
    fake_put(root, "skiff/c1/cgroup.procs", "");
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0, "%s", err ? err->msg : "");
    cr_assert(!fake_exists(root, "skiff/c1"));
}

Test(rt_cgroup_v2, mounts_single_entry)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok(NULL, NULL);
    struct rt_cgroup_mount *m = NULL;
    size_t n = 0;

    cr_assert_eq(rt_cgroup_mounts(cg, &m, &n, &err), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(m[0].name, "");
    cr_assert_str_eq(m[0].fstype, "cgroup2");
    cleanup_free char *hp = xasprintf("%s/skiff/c1", root);
    cr_assert_str_eq(m[0].host_path, hp);
    rt_cgroup_mounts_free(m, n);
}

Test(rt_cgroup_v2, stats)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = create_ok(NULL, NULL);
    struct rt_cgroup_stats st;

    fake_put(root, "skiff/c1/pids.current", "2\n"); /* a new cgroup starts at 0 */
    cr_assert_eq(rt_cgroup_stats(cg, &st, &err), 0, "%s", err ? err->msg : "");
    cr_assert(st.has_memory && st.has_oom && st.has_pids && st.has_cpu);
    cr_assert_eq(st.memory_usage, 8192);
    cr_assert_eq(st.memory_limit, UINT64_MAX);
    cr_assert_eq(st.memory_max_usage, 16384);
    cr_assert_eq(st.oom_kills, 1);
    cr_assert_eq(st.pids_current, 2);
    cr_assert_eq(st.cpu_usage_ns, 1500000);
    cr_assert_eq(st.cpu_user_ns, 1000000);
    cr_assert_eq(st.cpu_system_ns, 500000);
}
