/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the cgroup v1 / hybrid backend against fake cgroupfs trees. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "cgroup_fake.h"
#include "rt/cgroup.h"

FAKE_CGROUP_SUITE(rt_cgroup_v1, root, "/tmp/rt-cgroup-v1-XXXXXX");

static const char *const all_hiers[] = {"cpu,cpuacct", "cpuset", "memory", "devices",
                                        "freezer",     "blkio",  "pids",   "systemd"};

static void
assert_nothing_below(const char *rel)
{
    for (size_t i = 0; i < sizeof(all_hiers) / sizeof(all_hiers[0]); i++) {
        cleanup_free char *p = xasprintf("%s/%s", all_hiers[i], rel);
        cr_assert(!fake_exists(root, p), "%s was left behind", p);
    }
    cleanup_free char *u = xasprintf("unified/%s", rel);
    cr_assert(!fake_exists(root, u), "%s was left behind", u);
}

Test(rt_cgroup_v1, detects_hybrid_and_lists_hierarchies)
{
    cleanup_error struct cm_error *err = NULL;
    enum rt_cgroup_mode mode = 0;
    struct rt_cgroup_hierarchy *h = NULL;
    size_t n = 0;
    bool saw_cpu = false, saw_systemd = false, saw_unified = false;

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_detect(root, &mode, &err), 0);
    cr_assert_eq(mode, RT_CGROUP_HYBRID);
    cr_assert_eq(rt_cgroup_hierarchies(root, &h, &n, &err), 0);
    cr_assert_eq(n, 9);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(h[i].controllers, "cpu,cpuacct"))
            saw_cpu = !h[i].v2;
        if (!strcmp(h[i].controllers, "name=systemd"))
            saw_systemd = true;
        if (h[i].v2) {
            saw_unified = true;
            cr_assert(strstr(h[i].mountpoint, "/unified"));
        }
    }
    rt_cgroup_hierarchies_free(h, n);
    cr_assert(saw_cpu && saw_systemd && saw_unified);
}

Test(rt_cgroup_v1, detects_pure_v1)
{
    cleanup_error struct cm_error *err = NULL;
    enum rt_cgroup_mode mode = 0;

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_detect(root, &mode, &err), 0);
    cr_assert_eq(mode, RT_CGROUP_V1);
}

Test(rt_cgroup_v1, empty_root_is_an_error)
{
    cleanup_error struct cm_error *err = NULL;
    enum rt_cgroup_mode mode = 0;

    cr_assert_eq(rt_cgroup_detect(root, &mode, &err), -1);
    cr_assert_eq(err->code, ENOENT);
}

/* The default path, in the hierarchies every container uses (cpu, cpuacct,
 * memory, pids, devices); cpuset, blkio, named hierarchies and the hybrid
 * cgroup2 only when the config needs them, the freezer at the first pause. */
Test(rt_cgroup_v1, creates_default_path_where_needed)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    static const char *const used[] = {"cpu,cpuacct", "memory", "devices", "pids"};
    static const char *const unused[] = {"cpuset", "blkio", "systemd", "unified", "freezer"};

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, NULL, "c1", NULL, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_str_eq(rt_cgroup_path(cg), "/skiff/c1");
    cr_assert_eq(rt_cgroup_get_mode(cg), RT_CGROUP_HYBRID);
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
        cleanup_free char *p = xasprintf("%s/skiff/c1/cgroup.procs", used[i]);
        cr_assert(fake_exists(root, p), "%s missing", p);
    }
    for (size_t i = 0; i < sizeof(unused) / sizeof(unused[0]); i++) {
        cleanup_free char *p = xasprintf("%s/skiff/c1", unused[i]);
        cr_assert(!fake_exists(root, p), "%s made for nothing", p);
    }
    cr_assert_eq(rt_cgroup_v2_fd(cg), -1);
}

Test(rt_cgroup_v1, config_resources_add_their_hierarchies)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_hugepage_limit hl[] = {{.page_size = "2MB", .limit = 4 << 21}};
    struct rt_resources res = {.has_cpu = true,
                               .cpu = {.mems = "0"},
                               .has_blkio = true,
                               .hugepage_limits = hl,
                               .n_hugepage_limits = 1};

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, NULL, "c2", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert(fake_exists(root, "cpuset/skiff/c2/cgroup.procs"));
    cr_assert(fake_exists(root, "blkio/skiff/c2/cgroup.procs"));
    cr_assert(fake_exists(root, "unified/skiff/c2/cgroup.procs"));
    cr_assert(!fake_exists(root, "systemd/skiff/c2"));
    cr_assert(rt_cgroup_v2_fd(cg) >= 0);
}

/* update of a resource whose hierarchy the container is not in: the
 * directory is made and the container's processes are moved there */
Test(rt_cgroup_v1, update_adds_a_hierarchy_and_moves_the_processes)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_cpu = true, .cpu = {.cpus = "1"}};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "u", NULL, &cg, &err), 0, "%s", err ? err->msg : "");
    rt_cgroup_free(cg);
    cg = NULL;
    fake_put(root, "memory/skiff/u/cgroup.procs", "4242\n");
    cr_assert(!fake_exists(root, "cpuset/skiff/u"));
    cr_assert_eq(rt_cgroup_open(root, "/skiff/u", &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(rt_cgroup_apply(cg, &res, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "cpuset/skiff/u/cpuset.cpus", "1");
    cr_assert_file(root, "cpuset/skiff/u/cpuset.mems", "0");
    cr_assert_file(root, "cpuset/skiff/u/cgroup.procs", "4242");
    /* frozen meanwhile: the freezer was made for it, and thawed again */
    cr_assert_file(root, "freezer/skiff/u/cgroup.procs", "4242");
    cr_assert_file(root, "freezer/skiff/u/freezer.state", "THAWED");
}

Test(rt_cgroup_v1, cpuset_inherits_parent_cpus_and_mems)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;

    struct rt_resources res = {.has_cpu = true, .cpu = {.cpus = "0-1"}};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, "/a/b", "x", &res, &cg, &err), 0, "%s",
                 err ? err->msg : "");
    cr_assert_file(root, "cpuset/a/cpuset.cpus", "0-1");
    cr_assert_file(root, "cpuset/a/b/cpuset.cpus", "0-1");
    cr_assert_file(root, "cpuset/a/b/cpuset.mems", "0");
}

Test(rt_cgroup_v1, empty_existing_cpuset_is_filled)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;

    struct rt_resources res = {.has_cpu = true, .cpu = {.mems = "0"}};

    fake_v1_tree(root, false);
    fake_put(root, "cpuset/old/cpuset.cpus", "");
    fake_put(root, "cpuset/old/cpuset.mems", "");
    fake_put(root, "cpuset/old/cgroup.procs", "");
    cr_assert_eq(rt_cgroup_create(root, "/old", "x", &res, &cg, &err), 0, "%s",
                 err ? err->msg : "");
    cr_assert_file(root, "cpuset/old/cpuset.cpus", "0-1");
    cr_assert_file(root, "cpuset/old/cpuset.mems", "0");
}

Test(rt_cgroup_v1, writes_memory_values)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true};
    res.memory = (struct rt_memory){
        .has_limit = true,
        .limit = 256 << 20,
        .has_reservation = true,
        .reservation = 128 << 20,
        .has_swap = true,
        .swap = 512 << 20,
        .has_swappiness = true,
        .swappiness = 10,
        .has_disable_oom_killer = true,
        .disable_oom_killer = true,
        .has_kernel = true,
        .kernel = 64 << 20,
    };

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, "/m", "x", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "memory/m/memory.limit_in_bytes", "268435456");
    cr_assert_file(root, "memory/m/memory.soft_limit_in_bytes", "134217728");
    cr_assert_file(root, "memory/m/memory.memsw.limit_in_bytes", "536870912");
    cr_assert_file(root, "memory/m/memory.swappiness", "10");
    cr_assert_file(root, "memory/m/memory.oom_control", "1");
    cr_assert_file(root, "memory/m/memory.kmem.limit_in_bytes", "67108864");
}

Test(rt_cgroup_v1, unlimited_memory_means_unlimited_swap)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true};
    res.memory = (struct rt_memory){.has_limit = true, .limit = -1};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, "/m", "x", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "memory/m/memory.limit_in_bytes", "-1");
    cr_assert_file(root, "memory/m/memory.memsw.limit_in_bytes", "-1");
}

Test(rt_cgroup_v1, swap_below_limit_is_rejected_and_cleaned_up)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true};
    res.memory =
        (struct rt_memory){.has_limit = true, .limit = 1 << 30, .has_swap = true, .swap = 1 << 20};

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, NULL, "c1", &res, &cg, &err), -1);
    cr_assert_null(cg);
    cr_assert_eq(err->code, 0);
    cr_assert(strstr(err->msg, "memory.swap"), "%s", err->msg);
    assert_nothing_below("skiff");
}

Test(rt_cgroup_v1, swap_without_accounting)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true};

    fake_v1_tree(root, false);
    fake_rm(root, "memory/memory.memsw.limit_in_bytes");
    /* swap == limit asks for no swap at all: fine without accounting */
    res.memory =
        (struct rt_memory){.has_limit = true, .limit = 1 << 30, .has_swap = true, .swap = 1 << 30};
    cr_assert_eq(rt_cgroup_create(root, "/s", "x", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "memory/s/memory.limit_in_bytes", "1073741824");
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0);
    rt_cgroup_free(cg);
    cg = NULL;
    /* a real swap allowance cannot be enforced: error, nothing left */
    res.memory.swap = 2ll << 30;
    cr_assert_eq(rt_cgroup_create(root, "/s", "x", &res, &cg, &err), -1);
    cr_assert_eq(err->code, ENOTSUP);
    cr_assert(strstr(err->msg, "swap accounting"), "%s", err->msg);
    assert_nothing_below("s");
}

Test(rt_cgroup_v1, memsw_written_first_when_growing)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true};

    fake_v1_tree(root, false);
    res.memory = (struct rt_memory){
        .has_limit = true, .limit = 100 << 20, .has_swap = true, .swap = 200 << 20};
    cr_assert_eq(rt_cgroup_create(root, "/g", "x", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    /* shrinking: limit first, then memsw; both end up as asked */
    res.memory.limit = 50 << 20;
    res.memory.swap = 60 << 20;
    cr_assert_eq(rt_cgroup_apply(cg, &res, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "memory/g/memory.limit_in_bytes", "52428800");
    cr_assert_file(root, "memory/g/memory.memsw.limit_in_bytes", "62914560");
}

Test(rt_cgroup_v1, check_before_update_refuses_limit_below_usage)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, "/u", "x", NULL, &cg, &err), 0);
    fake_put(root, "memory/u/memory.usage_in_bytes", "1048576\n");
    res.memory = (struct rt_memory){.has_limit = true,
                                    .limit = 4096,
                                    .has_check_before_update = true,
                                    .check_before_update = true};
    cr_assert_eq(rt_cgroup_apply(cg, &res, &err), -1);
    cr_assert_eq(err->code, EBUSY);
}

Test(rt_cgroup_v1, writes_cpu_values)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_cpu = true};
    res.cpu = (struct rt_cpu){
        .has_shares = true,
        .shares = 512,
        .has_quota = true,
        .quota = 50000,
        .has_period = true,
        .period = 200000,
        .has_realtime_runtime = true,
        .realtime_runtime = 1000,
        .has_realtime_period = true,
        .realtime_period = 500000,
        .cpus = "1",
        .mems = "0",
    };

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, "/c", "x", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "cpu,cpuacct/c/cpu.shares", "512");
    cr_assert_file(root, "cpu,cpuacct/c/cpu.cfs_quota_us", "50000");
    cr_assert_file(root, "cpu,cpuacct/c/cpu.cfs_period_us", "200000");
    cr_assert_file(root, "cpu,cpuacct/c/cpu.rt_runtime_us", "1000");
    cr_assert_file(root, "cpu,cpuacct/c/cpu.rt_period_us", "500000");
    cr_assert_file(root, "cpuset/c/cpuset.cpus", "1");
    cr_assert_file(root, "cpuset/c/cpuset.mems", "0");
}

Test(rt_cgroup_v1, pids_limit_and_unlimited)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_pids = true, .pids_limit = 100};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, "/p", "x", &res, &cg, &err), 0);
    cr_assert_file(root, "pids/p/pids.max", "100");
    res.pids_limit = -1;
    cr_assert_eq(rt_cgroup_apply(cg, &res, &err), 0);
    cr_assert_file(root, "pids/p/pids.max", "max");
}

Test(rt_cgroup_v1, device_rules)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_device_rule rules[] = {
        {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
        {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rw"},
    };
    struct rt_resources res = {.devices = rules, .n_devices = 2};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, "/d", "x", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "devices/d/devices.deny", "a *:* rwm");
    /* the fake file keeps only the last write: runc's defaults follow ours */
    cr_assert_file(root, "devices/d/devices.allow", "c 5:2 rwm");
}

/* The container passes runc's defaults itself: they are not written twice,
 * but one allowed only before a deny still follows it. */
Test(rt_cgroup_v1, effective_device_rules_skip_allowed_defaults)
{
    struct rt_device_rule rules[] = {
        {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rwm"},
        {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
        {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
        {.allow = true, .type = 'c', .major = 1, .minor = 8, .access = "rw"},
    };
    struct rt_resources res = {.devices = rules, .n_devices = 4};
    size_t n = 0, n_null = 0, n_zero = 0, n_random = 0;
    cleanup_free struct rt_device_rule *eff = cg_effective_device_rules(&res, &n);

    cr_assert_gt(n, 4);
    for (size_t i = 0; i < n; i++) {
        if (eff[i].type != 'c' || eff[i].major != 1)
            continue;
        n_null += eff[i].minor == 3;
        n_zero += eff[i].minor == 5;
        n_random += eff[i].minor == 8;
    }
    cr_assert_eq(n_null, 1, "c 1:3 rwm is allowed after the deny already");
    cr_assert_eq(n_zero, 2, "c 1:5 before the deny does not count");
    cr_assert_eq(n_random, 2, "c 1:8 rw differs from the default's rwm");
    struct rt_resources none = {0};
    size_t nd = 0;
    cleanup_free struct rt_device_rule *defs = cg_effective_device_rules(&none, &nd);
    cr_assert_eq(n, 4 + nd - 1);
}

Test(rt_cgroup_v1, effective_device_rules_append_defaults)
{
    struct rt_device_rule rules[] = {
        {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
        {.allow = true, .type = 'b', .major = 8, .minor = 0, .access = "r"},
    };
    struct rt_resources res = {.devices = rules, .n_devices = 2};
    size_t n = 0;
    cleanup_free struct rt_device_rule *eff = cg_effective_device_rules(&res, &n);
    char line[80];

    cr_assert_gt(n, 8);
    cr_assert_eq(cg_device_rule_line(&eff[0], line, sizeof(line), NULL), 0);
    cr_assert_str_eq(line, "a *:* rwm");
    cr_assert_eq(cg_device_rule_line(&eff[1], line, sizeof(line), NULL), 0);
    cr_assert_str_eq(line, "b 8:0 r");
    bool null_ok = false;
    for (size_t i = 2; i < n; i++) {
        cr_assert(eff[i].allow);
        null_ok |= eff[i].type == 'c' && eff[i].major == 1 && eff[i].minor == 3;
    }
    cr_assert(null_ok);
}

Test(rt_cgroup_v1, bad_device_access_is_rejected)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_device_rule rules[] = {
        {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwx"}};
    struct rt_resources res = {.devices = rules, .n_devices = 1};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, "/d", "x", &res, &cg, &err), -1);
    cr_assert(strstr(err->msg, "devices[0]"), "%s", err->msg);
    assert_nothing_below("d");
}

Test(rt_cgroup_v1, hugetlb_goes_to_unified_on_hybrid)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_hugepage_limit hl[] = {{.page_size = "2MB", .limit = 4 << 21}};
    struct rt_resources res = {.hugepage_limits = hl, .n_hugepage_limits = 1};

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, NULL, "h", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "unified/cgroup.subtree_control", "+hugetlb");
    cr_assert_file(root, "unified/skiff/cgroup.subtree_control", "+hugetlb");
    cr_assert_file(root, "unified/skiff/h/hugetlb.2MB.max", "8388608");
}

Test(rt_cgroup_v1, hugetlb_without_controller_fails_cleanly)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_hugepage_limit hl[] = {{.page_size = "2MB", .limit = 1}};
    struct rt_resources res = {.hugepage_limits = hl, .n_hugepage_limits = 1};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "h", &res, &cg, &err), -1);
    cr_assert_eq(err->code, ENOTSUP);
    assert_nothing_below("skiff");
}

Test(rt_cgroup_v1, blkio_missing_weight_file_is_named)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_blkio = true};
    res.blkio = (struct rt_blkio){.has_weight = true, .weight = 500};

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, NULL, "b", &res, &cg, &err), -1);
    cr_assert(strstr(err->msg, "blkio.weight"), "%s", err->msg);
    assert_nothing_below("skiff");
}

Test(rt_cgroup_v1, blkio_throttle)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_blkio_throttle rb[] = {{.major = 8, .minor = 0, .rate = 1048576}};
    struct rt_blkio_throttle wi[] = {{.major = 8, .minor = 16, .rate = 300}};
    struct rt_resources res = {.has_blkio = true};
    res.blkio = (struct rt_blkio){.throttle_read_bps = rb,
                                  .n_throttle_read_bps = 1,
                                  .throttle_write_iops = wi,
                                  .n_throttle_write_iops = 1};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, "/b", "x", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "blkio/b/blkio.throttle.read_bps_device", "8:0 1048576");
    cr_assert_file(root, "blkio/b/blkio.throttle.write_iops_device", "8:16 300");
}

Test(rt_cgroup_v1, failing_write_removes_every_created_dir)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true, .has_pids = true, .pids_limit = 5};
    res.memory = (struct rt_memory){.has_limit = true, .limit = 1 << 20};

    fake_v1_tree(root, true);
    /* the kernel would offer pids.max; this "kernel" does not */
    fake_rm(root, "pids/pids.max");
    cr_assert_eq(rt_cgroup_create(root, "/x/y/z", "i", &res, &cg, &err), -1);
    cr_assert_null(cg);
    cr_assert_eq(err->code, ENOENT);
    cr_assert(strstr(err->msg, "pids.max"), "%s", err->msg);
    cr_assert(strstr(err->msg, "cgroup '/x/y/z'"), "%s", err->msg);
    assert_nothing_below("x");
}

Test(rt_cgroup_v1, failure_keeps_what_existed_before)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_pids = true, .pids_limit = 5};

    fake_v1_tree(root, false);
    fake_put(root, "memory/skiff/keep", "");
    fake_rm(root, "pids/pids.max");
    cr_assert_eq(rt_cgroup_create(root, NULL, "c1", &res, &cg, &err), -1);
    cr_assert(fake_exists(root, "memory/skiff/keep"));
    cr_assert(!fake_exists(root, "memory/skiff/c1"));
    cr_assert(!fake_exists(root, "pids/skiff"));
}

Test(rt_cgroup_v1, existing_cgroup_is_reused_and_kept_on_failure)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_pids = true, .pids_limit = 5};

    fake_v1_tree(root, false);
    fake_put(root, "pids/shared/cgroup.procs", "");
    cr_assert_eq(rt_cgroup_create(root, "/shared", "x", &res, &cg, &err), -1);
    cr_assert(fake_exists(root, "pids/shared/cgroup.procs"));
    cr_assert(!fake_exists(root, "memory/shared"));
}

Test(rt_cgroup_v1, enter_pids_and_destroy)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;

    /* a hugepage limit: the container is in the hybrid cgroup2 too */
    struct rt_hugepage_limit hl[] = {{.page_size = "2MB", .limit = 4 << 21}};
    struct rt_resources res = {.hugepage_limits = hl, .n_hugepage_limits = 1};

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, NULL, "e", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(rt_cgroup_enter(cg, 4242, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "memory/skiff/e/cgroup.procs", "4242");
    cr_assert_file(root, "unified/skiff/e/cgroup.procs", "4242");
    /* a nested cgroup made by the container counts too */
    fake_put(root, "pids/skiff/e/cgroup.procs", "4242\n77\n");
    fake_put(root, "pids/skiff/e/inner/cgroup.procs", "88\n77\n");
    cr_assert_eq(rt_cgroup_pids(cg, &pids, &n, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(n, 3);
    bool s4242 = false, s77 = false, s88 = false;
    for (size_t i = 0; i < n; i++) {
        s4242 |= pids[i] == 4242;
        s77 |= pids[i] == 77;
        s88 |= pids[i] == 88;
    }
    cr_assert(s4242 && s77 && s88);
    /* a cgroup with processes is not removed, from any hierarchy; the
     * unified hierarchy's cgroup.events says so first */
    fake_put(root, "unified/skiff/e/cgroup.events", "populated 1\nfrozen 0\n");
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), -1);
    cr_assert_eq(err->code, EBUSY);
    cm_error_free(&err);
    static const char *const used[] = {"cpu,cpuacct", "memory", "devices", "pids"};
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
        cleanup_free char *p = xasprintf("%s/skiff/e/cgroup.procs", used[i]);
        cr_assert(fake_exists(root, p), "%s removed from a busy cgroup", p);
        fake_put(root, p, "");
    }
    fake_put(root, "unified/skiff/e/cgroup.procs", "");
    fake_put(root, "unified/skiff/e/cgroup.events", "populated 0\nfrozen 0\n");
    fake_put(root, "pids/skiff/e/inner/cgroup.procs", "");
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0, "%s", err ? err->msg : "");
    assert_nothing_below("skiff/e");
    cr_assert(fake_exists(root, "memory/skiff"), "the shared parent stays");
}

Test(rt_cgroup_v1, pure_v1_busy_check_reads_pids)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "b", NULL, &cg, &err), 0);
    /* the kernel counts a process in a nested cgroup in pids.current */
    fake_put(root, "memory/skiff/b/sub/cgroup.procs", "31\n");
    fake_put(root, "pids/skiff/b/pids.current", "1\n");
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), -1);
    cr_assert_eq(err->code, EBUSY);
    cr_assert(fake_exists(root, "memory/skiff/b"));
}

Test(rt_cgroup_v1, open_finds_existing_cgroup)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    cleanup_rt_cgroup struct rt_cgroup *again = NULL;

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, "rel", "x", NULL, &cg, &err), 0);
    cr_assert_str_eq(rt_cgroup_path(cg), "/skiff/rel");
    cr_assert_eq(rt_cgroup_open(root, rt_cgroup_path(cg), &again, &err), 0);
    cr_assert_eq(rt_cgroup_enter(again, 99, &err), 0);
    cr_assert_file(root, "memory/skiff/rel/cgroup.procs", "99");
}

Test(rt_cgroup_v1, open_missing_is_enoent)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_open(root, "/nope", &cg, &err), -1);
    cr_assert_eq(err->code, ENOENT);
    cr_assert_null(cg);
}

Test(rt_cgroup_v1, freeze_and_thaw)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    bool frozen = true;

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, NULL, "f", NULL, &cg, &err), 0);
    /* no freezer directory until the first pause: not frozen, and a thaw
     * has nothing to do */
    cr_assert(!fake_exists(root, "freezer/skiff/f"));
    cr_assert_eq(rt_cgroup_is_frozen(cg, &frozen, &err), 0);
    cr_assert(!frozen);
    cr_assert_eq(rt_cgroup_freeze(cg, false, &err), 0, "%s", err ? err->msg : "");
    cr_assert(!fake_exists(root, "freezer/skiff/f"));
    fake_put(root, "pids/skiff/f/cgroup.procs", "4242\n");
    cr_assert_eq(rt_cgroup_freeze(cg, true, &err), 0, "%s", err ? err->msg : "");
    /* made then, with the container's processes moved in before freezing */
    cr_assert_file(root, "freezer/skiff/f/cgroup.procs", "4242");
    cr_assert_file(root, "freezer/skiff/f/freezer.state", "FROZEN");
    cr_assert_eq(rt_cgroup_is_frozen(cg, &frozen, &err), 0);
    cr_assert(frozen);
    cr_assert_eq(rt_cgroup_freeze(cg, false, &err), 0);
    cr_assert_file(root, "freezer/skiff/f/freezer.state", "THAWED");
}

/* The freezer made by a pause goes with the container, also when the handle
 * removing it (run's own) was made before the pause. */
Test(rt_cgroup_v1, destroy_removes_a_freezer_made_later)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    cleanup_rt_cgroup struct rt_cgroup *other = NULL;

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "late", NULL, &cg, &err), 0);
    cr_assert_eq(rt_cgroup_open(root, "/skiff/late", &other, &err), 0);
    cr_assert_eq(rt_cgroup_freeze(other, true, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(rt_cgroup_freeze(other, false, &err), 0, "%s", err ? err->msg : "");
    cr_assert(fake_exists(root, "freezer/skiff/late/freezer.state"));
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0, "%s", err ? err->msg : "");
    assert_nothing_below("skiff/late");
}

/* exec's handle predates the first pause's freezer: joining by itself, the
 * exec'd process looks for it after the other hierarchies and goes in. */
Test(rt_cgroup_v1, enter_self_joins_a_freezer_made_after_open)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    cleanup_rt_cgroup struct rt_cgroup *exec_cg = NULL;

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "ex", NULL, &cg, &err), 0);
    cr_assert_eq(rt_cgroup_open(root, "/skiff/ex", &exec_cg, &err), 0);
    cr_assert_not(fake_exists(root, "freezer/skiff/ex"));
    cr_assert_eq(rt_cgroup_freeze(cg, true, &err), 0, "%s", err ? err->msg : "");
    fake_put(root, "freezer/skiff/ex/tasks", "");
    fake_put(root, "memory/skiff/ex/tasks", "");
    cr_assert_eq(rt_cgroup_enter_self(exec_cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "memory/skiff/ex/tasks", "0");
    cr_assert_file(root, "freezer/skiff/ex/tasks", "0");
}

/* A process the freezer never shows (it keeps forking faster than it is
 * moved; the fake file keeps only the last pid written): EBUSY, bounded. */
Test(rt_cgroup_v1, freeze_gives_up_on_processes_it_cannot_move)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "fb", NULL, &cg, &err), 0);
    fake_put(root, "pids/skiff/fb/cgroup.procs", "41\n42\n");
    cr_assert_eq(rt_cgroup_freeze(cg, true, &err), -1);
    cr_assert_eq(err->code, EBUSY, "%s", err->msg);
}

Test(rt_cgroup_v1, kill_all_freezes_around_signal)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "k", NULL, &cg, &err), 0);
    /* no processes: nothing to signal; the freezer ends thawed */
    cr_assert_eq(rt_cgroup_kill_all(cg, SIGTERM, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "freezer/skiff/k/freezer.state", "THAWED");
}

Test(rt_cgroup_v1, mounts_for_the_container)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_cgroup_mount *m = NULL;
    size_t n = 0;
    bool saw_cpu = false, saw_systemd = false, saw_unified = false;

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, NULL, "mnt", NULL, &cg, &err), 0);
    /* one entry per hierarchy the container is in */
    cr_assert_eq(rt_cgroup_mounts(cg, &m, &n, &err), 0);
    cr_assert_eq(n, 4);
    rt_cgroup_mounts_free(m, n);
    rt_cgroup_free(cg);
    cg = NULL;
    /* a cgroup made by someone else in every hierarchy: all of them */
    for (size_t i = 0; i < sizeof(all_hiers) / sizeof(all_hiers[0]); i++) {
        cleanup_free char *p = xasprintf("%s/skiff/mnt/cgroup.procs", all_hiers[i]);
        fake_put(root, p, "");
    }
    fake_put(root, "unified/skiff/mnt/cgroup.procs", "");
    cr_assert_eq(rt_cgroup_open(root, "/skiff/mnt", &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(rt_cgroup_mounts(cg, &m, &n, &err), 0);
    cr_assert_eq(n, 9);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(m[i].name, "cpu,cpuacct")) {
            saw_cpu = true;
            cr_assert_str_eq(m[i].fstype, "cgroup");
            cr_assert_str_eq(m[i].data, "cpu,cpuacct");
            cr_assert_not_null(m[i].symlinks);
            cr_assert_str_eq(m[i].symlinks[0], "cpu");
            cr_assert_str_eq(m[i].symlinks[1], "cpuacct");
            cr_assert_null(m[i].symlinks[2]);
            cleanup_free char *hp = xasprintf("%s/cpu,cpuacct/skiff/mnt", root);
            cr_assert_str_eq(m[i].host_path, hp);
        } else if (!strcmp(m[i].name, "systemd")) {
            saw_systemd = true;
            cr_assert_str_eq(m[i].data, "none,name=systemd");
            cr_assert_null(m[i].symlinks);
        } else if (!strcmp(m[i].name, "unified")) {
            saw_unified = true;
            cr_assert_str_eq(m[i].fstype, "cgroup2");
            cr_assert_null(m[i].data);
        }
    }
    rt_cgroup_mounts_free(m, n);
    cr_assert(saw_cpu && saw_systemd && saw_unified);
}

Test(rt_cgroup_v1, stats)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_cgroup_stats st;

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, NULL, "st", NULL, &cg, &err), 0);
    fake_put(root, "pids/skiff/st/pids.current", "3\n");
    cr_assert_eq(rt_cgroup_stats(cg, &st, &err), 0, "%s", err ? err->msg : "");
    cr_assert(st.has_memory && st.has_oom && st.has_pids && st.has_cpu);
    cr_assert_eq(st.memory_usage, 4096);
    cr_assert_eq(st.memory_limit, 9223372036854771712ull);
    cr_assert_eq(st.memory_max_usage, 8192);
    cr_assert_eq(st.oom_kills, 2);
    cr_assert_eq(st.pids_current, 3);
    cr_assert_eq(st.pids_limit, UINT64_MAX);
    cr_assert_eq(st.cpu_usage_ns, 5000000);
    cr_assert_eq(st.cpu_user_ns, 3000000);
    cr_assert_eq(st.cpu_system_ns, 2000000);
}

Test(rt_cgroup_v1, stats_reject_garbage)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_cgroup_stats st;

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "st", NULL, &cg, &err), 0);
    fake_put(root, "pids/skiff/st/pids.current", "12abc\n");
    cr_assert_eq(rt_cgroup_stats(cg, &st, &err), -1);
    cr_assert(strstr(err->msg, "pids.current"), "%s", err->msg);
}

Test(rt_cgroup_v1, network_without_net_cls_is_an_error)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_network = true, .has_class_id = true, .class_id = 255};

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, "rel/n", "x", &res, &cg, &err), -1);
    cr_assert_null(cg);
    cr_assert_eq(err->code, ENOTSUP);
    cr_assert(
        strstr(err->msg, "linux.resources.network.classID: the net_cls controller is not mounted"),
        "%s", err->msg);
    assert_nothing_below("skiff");
}

Test(rt_cgroup_v1, network_priorities_without_net_prio_are_an_error)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_net_prio prio[] = {{.name = "lo", .priority = 10}};
    struct rt_resources res = {.has_network = true, .priorities = prio, .n_priorities = 1};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "n", &res, &cg, &err), -1);
    cr_assert_eq(err->code, ENOTSUP);
    cr_assert(strstr(err->msg,
                     "linux.resources.network.priorities: the net_prio controller is not mounted"),
              "%s", err->msg);
    assert_nothing_below("skiff");
}

Test(rt_cgroup_v1, network_class_zero_asks_for_nothing)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_network = true, .has_class_id = true, .class_id = 0};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "n", &res, &cg, &err), 0, "%s", err ? err->msg : "");
}

Test(rt_cgroup_v1, network_written_when_mounted)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_net_prio prio[] = {{.name = "lo", .priority = 10}};
    struct rt_resources res = {.has_network = true,
                               .has_class_id = true,
                               .class_id = 255,
                               .priorities = prio,
                               .n_priorities = 1};

    fake_v1_tree(root, false);
    fake_put(root, "net_cls,net_prio/cgroup.procs", "");
    fake_put(root, "net_cls,net_prio/net_cls.classid", "0\n");
    fake_put(root, "net_cls,net_prio/net_prio.ifpriomap", "");
    cr_assert_eq(rt_cgroup_create(root, NULL, "n", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "net_cls,net_prio/skiff/n/net_cls.classid", "255");
    cr_assert_file(root, "net_cls,net_prio/skiff/n/net_prio.ifpriomap", "lo 10");
}

Test(rt_cgroup_v1, kmem_kept_reads_the_kernel_answer)
{
    cr_assert(cg_kmem_kept(50593792, "50593792"));
    cr_assert(cg_kmem_kept(50593793, "50593792"), "rounded down to a page");
    cr_assert(!cg_kmem_kept(50593792, "9223372036854771712"), "a dropped write reads max");
    cr_assert(!cg_kmem_kept(4096, ""));
    cr_assert(!cg_kmem_kept(4096, "12x"));
}

Test(rt_cgroup_v1, kernel_memory_without_kmem_files_is_an_error)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true};
    res.memory = (struct rt_memory){
        .has_limit = true, .limit = 1 << 30, .has_kernel = true, .kernel = 64 << 20};

    fake_v1_tree(root, true);
    fake_rm(root, "memory/memory.kmem.limit_in_bytes");
    cr_assert_eq(rt_cgroup_create(root, NULL, "k", &res, &cg, &err), -1);
    cr_assert_eq(err->code, ENOTSUP);
    cr_assert(strstr(err->msg, "memory.kernel: kernel memory limits are not supported"), "%s",
              err->msg);
    assert_nothing_below("skiff");
}

Test(rt_cgroup_v1, unlimited_kernel_memory_needs_no_kmem_files)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true};
    res.memory = (struct rt_memory){
        .has_kernel = true, .kernel = -1, .has_kernel_tcp = true, .kernel_tcp = -1};

    fake_v1_tree(root, true);
    fake_rm(root, "memory/memory.kmem.limit_in_bytes");
    fake_rm(root, "memory/memory.kmem.tcp.limit_in_bytes");
    cr_assert_eq(rt_cgroup_create(root, NULL, "k", &res, &cg, &err), 0, "%s", err ? err->msg : "");
}

Test(rt_cgroup_v1, kernel_tcp_memory_is_written)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_memory = true};
    res.memory = (struct rt_memory){.has_kernel_tcp = true, .kernel_tcp = 16 << 20};

    fake_v1_tree(root, false);
    cr_assert_eq(rt_cgroup_create(root, NULL, "k", &res, &cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert_file(root, "memory/skiff/k/memory.kmem.tcp.limit_in_bytes", "16777216");
}

Test(rt_cgroup_v1, blkio_missing_leaf_weight_is_named)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_cgroup *cg = NULL;
    struct rt_resources res = {.has_blkio = true};
    res.blkio = (struct rt_blkio){
        .has_weight = true, .weight = 500, .has_leaf_weight = true, .leaf_weight = 300};

    fake_v1_tree(root, true);
    fake_put(root, "blkio/blkio.bfq.weight", "100\n");
    cr_assert_eq(rt_cgroup_create(root, NULL, "b", &res, &cg, &err), -1);
    cr_assert_eq(err->code, ENOTSUP);
    cr_assert(strstr(err->msg, "blockIO.leafWeight: this kernel has no blkio.leaf_weight"), "%s",
              err->msg);
    assert_nothing_below("skiff");
}

Test(rt_cgroup_v1, destroy_removes_parents_made_below_skiff)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *a = NULL;
    cleanup_rt_cgroup struct rt_cgroup *b = NULL;

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, "testdir/cgrouptest/a", "a", NULL, &a, &err), 0);
    cr_assert_eq(rt_cgroup_create(root, "testdir/other", "b", NULL, &b, &err), 0);
    /* testdir still holds b: only cgrouptest goes with a */
    cr_assert_eq(rt_cgroup_destroy(a, false, &err), 0, "%s", err ? err->msg : "");
    assert_nothing_below("skiff/testdir/cgrouptest");
    cr_assert(fake_exists(root, "memory/skiff/testdir/other/cgroup.procs"));
    cr_assert(fake_exists(root, "memory/skiff/testdir/cgroup.procs"));
    cr_assert_eq(rt_cgroup_destroy(b, false, &err), 0, "%s", err ? err->msg : "");
    assert_nothing_below("skiff/testdir");
    /* our own parent stays for the next container */
    cr_assert(fake_exists(root, "memory/skiff"));
    cr_assert(fake_exists(root, "pids/skiff"));
}

Test(rt_cgroup_v1, destroy_leaves_parents_outside_skiff)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;

    fake_v1_tree(root, true);
    cr_assert_eq(rt_cgroup_create(root, "/outside/x/c", "c", NULL, &cg, &err), 0);
    cr_assert_eq(rt_cgroup_destroy(cg, false, &err), 0, "%s", err ? err->msg : "");
    cr_assert(!fake_exists(root, "memory/outside/x/c"));
    cr_assert(fake_exists(root, "memory/outside/x"));
    cr_assert(fake_exists(root, "pids/outside/x"));
}
