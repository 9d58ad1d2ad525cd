/* SPDX-License-Identifier: Apache-2.0 */
/* Fake cgroupfs trees for the cgroup unit tests: a temp dir with the control
 * files of each hierarchy, and a "kernel" (cg_fake_kernel hooks) that fills a
 * new cgroup directory with its parent's files and lets rmdir remove them. */
#pragma once

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../runtime/cgroup_internal.h"
#include "../tmpdir_suite.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

static inline void
fake_put_at(int dfd, const char *name, const char *content)
{
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0, "create %s", name);
    if (content && *content)
        cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
}

/* Files a new cgroup starts with (what the kernel does on mkdir). The real
 * cgroup.controllers follows the parent's subtree_control as it changes; a
 * static copy cannot, so children see all of the parent's controllers. */
static inline void
fake_populate(int parent_fd, int dir_fd)
{
    int dup_fd = openat(parent_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fdopendir(dup_fd);
    struct dirent *de;
    cr_assert_not_null(d);
    while ((de = readdir(d))) {
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        const char *n = de->d_name;
        if (!strcmp(n, "cgroup.procs") || !strcmp(n, "tasks") ||
            !strcmp(n, "cgroup.subtree_control") || !strcmp(n, "cpuset.cpus") ||
            !strcmp(n, "cpuset.mems") || !strcmp(n, "devices.allow") ||
            !strcmp(n, "devices.deny")) {
            fake_put_at(dir_fd, n, ""); /* v1 cpuset starts empty */
        } else if (!strcmp(n, "pids.current")) {
            fake_put_at(dir_fd, n, "0\n"); /* nothing in a new cgroup */
        } else {
            cleanup_free char *buf = NULL;
            cr_assert_eq(cm_read_file_at(parent_fd, n, 1 << 20, &buf, NULL, NULL), 0);
            fake_put_at(dir_fd, n, buf);
        }
    }
    closedir(d);
}

static inline void
fake_depopulate(int dir_fd)
{
    int dup_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fdopendir(dup_fd);
    struct dirent *de;
    cr_assert_not_null(d);
    while ((de = readdir(d))) {
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

static const struct cg_fake_kernel fake_kernel = {
    .populate = fake_populate,
    .depopulate = fake_depopulate,
};

/* Criterion suite `suite` whose tests each start on a fresh fake tree at
 * `root` (a mkdtemp template tmpl) with the fake kernel hooked in, after
 * which the optional statements run (e.g. fake_v2_tree(root)); the tree is
 * removed after each test. */
#define FAKE_CGROUP_SUITE(suite, root, tmpl, ...)                                                  \
    TMPDIR_SUITE(suite, root, tmpl, cg_fake_kernel = &fake_kernel; __VA_ARGS__)

/* Writes root/rel (creating the directories above it). */
static inline void
fake_put(const char *root, const char *rel, const char *content)
{
    cleanup_free char *p = xasprintf("%s/%s", root, rel);
    cleanup_free char *dir = xstrdup(p);
    *strrchr(dir, '/') = '\0';
    cr_assert_eq(cm_mkdir_p(dir, 0755, NULL), 0);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0, "create %s", p);
    if (*content)
        cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
}

/* Content of root/rel, trailing newline stripped; NULL when missing. */
static inline char *
fake_get(const char *root, const char *rel)
{
    cleanup_free char *p = xasprintf("%s/%s", root, rel);
    char *buf = NULL;
    if (cm_read_file_at(AT_FDCWD, p, 1 << 20, &buf, NULL, NULL) < 0)
        return NULL;
    size_t len = strlen(buf);
    while (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    return buf;
}

static inline bool
fake_exists(const char *root, const char *rel)
{
    cleanup_free char *p = xasprintf("%s/%s", root, rel);
    return access(p, F_OK) == 0;
}

static inline void
fake_rm(const char *root, const char *rel)
{
    cleanup_free char *p = xasprintf("%s/%s", root, rel);
    cr_assert_eq(unlink(p), 0, "unlink %s", p);
}

#define cr_assert_file(root, rel, expected)                                                        \
    do {                                                                                           \
        char *got_ = fake_get(root, rel);                                                          \
        cr_assert_not_null(got_, "%s is missing", rel);                                            \
        cr_assert_str_eq(got_, expected, "%s: '%s' != '%s'", rel, got_, expected);                 \
        free(got_);                                                                                \
    } while (0)

/* The hierarchies of this host's hybrid layout (cpu and cpuacct co-mounted to
 * exercise that case too), each with the files our writer touches. */
static inline void
fake_v1_tree(const char *root, bool with_unified)
{
    static const char *const common[] = {"cgroup.procs", "tasks", "cgroup.clone_children"};
    static const char *const hiers[] = {"cpu,cpuacct", "cpuset", "memory", "devices",
                                        "freezer",     "blkio",  "pids",   "systemd"};
    for (size_t i = 0; i < sizeof(hiers) / sizeof(hiers[0]); i++)
        for (size_t j = 0; j < 3; j++) {
            cleanup_free char *rel = xasprintf("%s/%s", hiers[i], common[j]);
            fake_put(root, rel, "");
        }
    fake_put(root, "memory/memory.limit_in_bytes", "9223372036854771712\n");
    fake_put(root, "memory/memory.soft_limit_in_bytes", "9223372036854771712\n");
    fake_put(root, "memory/memory.memsw.limit_in_bytes", "9223372036854771712\n");
    fake_put(root, "memory/memory.kmem.limit_in_bytes", "9223372036854771712\n");
    fake_put(root, "memory/memory.kmem.tcp.limit_in_bytes", "9223372036854771712\n");
    fake_put(root, "memory/memory.swappiness", "60\n");
    fake_put(root, "memory/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    fake_put(root, "memory/memory.max_usage_in_bytes", "8192\n");
    fake_put(root, "pids/pids.current", "3\n");
    fake_put(root, "cpu,cpuacct/cpuacct.usage", "5000000\n");
    fake_put(root, "cpu,cpuacct/cpuacct.usage_user", "3000000\n");
    fake_put(root, "cpu,cpuacct/cpuacct.usage_sys", "2000000\n");
    fake_put(root, "memory/memory.usage_in_bytes", "4096\n");
    fake_put(root, "memory/memory.use_hierarchy", "1\n");
    fake_put(root, "cpu,cpuacct/cpu.shares", "1024\n");
    fake_put(root, "cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    fake_put(root, "cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    fake_put(root, "cpu,cpuacct/cpu.cfs_burst_us", "0\n");
    fake_put(root, "cpu,cpuacct/cpu.rt_period_us", "1000000\n");
    fake_put(root, "cpu,cpuacct/cpu.rt_runtime_us", "0\n");
    fake_put(root, "cpu,cpuacct/cpu.idle", "0\n");
    fake_put(root, "cpuset/cpuset.cpus", "0-1\n");
    fake_put(root, "cpuset/cpuset.mems", "0\n");
    fake_put(root, "pids/pids.max", "max\n");
    fake_put(root, "devices/devices.allow", "");
    fake_put(root, "devices/devices.deny", "");
    fake_put(root, "freezer/freezer.state", "THAWED\n");
    fake_put(root, "blkio/blkio.throttle.read_bps_device", "");
    fake_put(root, "blkio/blkio.throttle.write_iops_device", "");
    if (with_unified) {
        fake_put(root, "unified/cgroup.procs", "");
        fake_put(root, "unified/cgroup.controllers", "hugetlb\n");
        fake_put(root, "unified/cgroup.subtree_control", "");
        fake_put(root, "unified/cgroup.events", "populated 0\n");
        fake_put(root, "unified/cgroup.freeze", "0\n");
        fake_put(root, "unified/hugetlb.2MB.max", "max\n");
        fake_put(root, "unified/hugetlb.1GB.max", "max\n");
    }
}

/* A pure v2 root with the files of the usual controllers. */
static inline void
fake_v2_tree(const char *root)
{
    fake_put(root, "cgroup.procs", "");
    fake_put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
    fake_put(root, "cgroup.subtree_control", "");
    fake_put(root, "cgroup.events", "populated 0\n");
    fake_put(root, "cgroup.freeze", "0\n");
    fake_put(root, "cgroup.kill", "");
    fake_put(root, "memory.max", "max\n");
    fake_put(root, "memory.low", "0\n");
    fake_put(root, "memory.high", "max\n");
    fake_put(root, "memory.swap.max", "max\n");
    fake_put(root, "memory.current", "8192\n");
    fake_put(root, "memory.peak", "16384\n");
    fake_put(root, "memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
    fake_put(root, "pids.current", "2\n");
    fake_put(root, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
    fake_put(root, "cpu.weight", "100\n");
    fake_put(root, "cpu.max", "max 100000\n");
    fake_put(root, "cpu.max.burst", "0\n");
    fake_put(root, "cpu.idle", "0\n");
    fake_put(root, "cpuset.cpus", "");
    fake_put(root, "cpuset.mems", "");
    fake_put(root, "pids.max", "max\n");
    fake_put(root, "io.weight", "default 100\n");
    fake_put(root, "io.max", "");
    fake_put(root, "hugetlb.2MB.max", "max\n");
}
