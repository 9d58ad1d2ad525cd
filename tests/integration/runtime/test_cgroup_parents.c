/* SPDX-License-Identifier: Apache-2.0 */
/* The container's cgroup on the real host: delete removes the levels a
 * relative cgroupsPath made below /skiff (and only those), and limits this
 * host cannot enforce fail create clearly, leaving nothing behind. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* "conformance-PID": the top level below /skiff every test here uses. */
static char top[64];

static const char *const hierarchies[] = {"blkio",   "cpu",    "cpuacct", "cpuset",  "devices",
                                          "freezer", "memory", "pids",    "systemd", "unified"};

static bool
exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Whether TOP/rel exists below /sys/fs/cgroup/H/skiff in any hierarchy. */
static bool
left_anywhere(const char *rel)
{
    for (size_t i = 0; i < sizeof(hierarchies) / sizeof(hierarchies[0]); i++) {
        char p[512];
        snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/skiff/%s%s%s", hierarchies[i], top,
                 rel[0] ? "/" : "", rel);
        if (exists(p))
            return true;
    }
    return false;
}

/* rmdir -r of /sys/fs/cgroup/H/skiff/TOP everywhere (cgroupfs: directories only). */
static void
rm_cgroups(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        char sub[768];
        snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
        rm_cgroups(sub);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void
setup(void)
{
    snprintf(top, sizeof(top), "conformance-%d", (int)getpid());
    h_setup();
}

static void
teardown(void)
{
    h_teardown();
    for (size_t i = 0; i < sizeof(hierarchies) / sizeof(hierarchies[0]); i++) {
        char p[256];
        snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/skiff/%s", hierarchies[i], top);
        rm_cgroups(p);
    }
}

TestSuite(rt_cgroup_parents, .init = setup, .fini = teardown, .timeout = 60);

static void
set_cgroups_path(const char *rel)
{
    char path[256];
    snprintf(path, sizeof(path), "%s%s%s", top, rel[0] ? "/" : "", rel);
    json_t *linux_ = json_object_get(H.config, "linux");
    cr_assert_not_null(linux_);
    json_object_set_new(linux_, "cgroupsPath", json_string(path));
}

static void
create(const char *id)
{
    h_args("sleep", "30", NULL);
    h_write_config();
    cr_assert_eq(h_rt("create", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
}

Test(rt_cgroup_parents, delete_removes_levels_made_below_skiff)
{
    const char *id = h_id("par");

    set_cgroups_path("mid/leaf");
    create(id);
    cr_assert(left_anywhere("mid/leaf"), "the container's cgroup was not created");
    cr_assert_eq(h_rt("delete", "--force", id, NULL), 0, "%s", h_err);
    cr_assert(!left_anywhere(""), "delete left skiff/%s behind", top);
    cr_assert(exists("/sys/fs/cgroup/pids/skiff"), "our own parent must stay");
}

Test(rt_cgroup_parents, a_level_still_used_by_another_container_stays)
{
    const char *a = h_id("para");
    const char *b = h_id("parb");

    set_cgroups_path("shared/a");
    create(a);
    set_cgroups_path("shared/b");
    create(b);
    cr_assert_eq(h_rt("delete", "--force", a, NULL), 0, "%s", h_err);
    cr_assert(!left_anywhere("shared/a"));
    cr_assert(left_anywhere("shared/b"), "the other container lost its cgroup");
    cr_assert_str_eq(h_status(b), "created");
    cr_assert_eq(h_rt("delete", "--force", b, NULL), 0, "%s", h_err);
    cr_assert(!left_anywhere(""), "the last delete left skiff/%s behind", top);
}

Test(rt_cgroup_parents, unmounted_net_cls_is_a_clear_error)
{
    const char *id = h_id("net");

    if (exists("/sys/fs/cgroup/net_cls") || exists("/sys/fs/cgroup/net_cls,net_prio") ||
        !exists("/sys/fs/cgroup/memory"))
        cr_skip_test("needs a v1 host without net_cls");
    set_cgroups_path("net");
    json_t *res = json_pack("{s:{s:i}}", "network", "classID", 255);
    json_object_set_new(json_object_get(H.config, "linux"), "resources", res);
    h_args("sleep", "30", NULL);
    h_write_config();
    cr_assert_neq(h_rt("create", "--bundle", H.bundle, id, NULL), 0);
    cr_assert_not_null(
        strstr(h_err, "linux.resources.network.classID: the net_cls controller is not mounted"),
        "%s", h_err);
    cr_assert(!left_anywhere(""), "a failed create left skiff/%s behind", top);
}

/* Whatever this kernel does with kernel memory limits, the answer is honest:
 * either the limit is in place, or create fails naming memory.kernel. */
Test(rt_cgroup_parents, kernel_memory_is_kept_or_refused)
{
    const char *id = h_id("kmem");
    char file[512];

    if (!exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        cr_skip_test("needs a v1 memory hierarchy");
    set_cgroups_path("kmem");
    json_t *res = json_pack("{s:{s:I}}", "memory", "kernel", (json_int_t)50593792);
    json_object_set_new(json_object_get(H.config, "linux"), "resources", res);
    h_args("sleep", "30", NULL);
    h_write_config();
    if (h_rt("create", "--bundle", H.bundle, id, NULL) == 0) {
        char *buf = NULL;
        FILE *f;
        size_t cap = 0;
        snprintf(file, sizeof(file),
                 "/sys/fs/cgroup/memory/skiff/%s/kmem/memory.kmem.limit_in_bytes", top);
        f = fopen(file, "re");
        cr_assert_not_null(f, "%s", file);
        cr_assert_gt(getline(&buf, &cap, f), 0);
        fclose(f);
        cr_assert_eq(strtoull(buf, NULL, 10), 50593792ULL, "kernel memory limit not in place: %s",
                     buf);
        free(buf);
    } else {
        cr_assert_not_null(strstr(h_err, "memory.kernel:"), "%s", h_err);
        cr_assert(!left_anywhere(""), "a failed create left skiff/%s behind", top);
    }
}
