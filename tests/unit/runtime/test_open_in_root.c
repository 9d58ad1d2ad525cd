/* SPDX-License-Identifier: Apache-2.0 */
/* rt_open_in_root: mount targets opened (and made when missing) inside the
 * rootfs, never through a symlink out of it (CVE-2021-30465). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../runtime/internal.h"
#include "cm/cleanup.h"
#include "cm/error.h"
#include "cm/file.h"

static char dir[64];
static int rootfd = -1;

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/rt-oir-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(rootfd, 0);
}

static void
teardown(void)
{
    if (rootfd >= 0)
        close(rootfd);
    cm_rm_rf(dir, NULL);
}

TestSuite(rt_open_in_root, .init = setup, .fini = teardown);

static bool
is_dir(const char *rel)
{
    struct stat st;
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool
is_file(const char *rel)
{
    struct stat st;
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The usual case: only the last component is missing. */
Test(rt_open_in_root, makes_the_last_component)
{
    cleanup_error struct cm_error *err = NULL;
    char p[256];
    snprintf(p, sizeof(p), "%s/dev", dir);
    cr_assert_eq(mkdir(p, 0755), 0);
    int fd = rt_open_in_root(rootfd, "/dev/pts", true, false, &err);
    cr_assert_geq(fd, 0, "%s", err ? err->msg : "");
    close(fd);
    cr_assert(is_dir("dev/pts"));
    fd = rt_open_in_root(rootfd, "/dev/console/", true, true, &err);
    cr_assert_geq(fd, 0, "%s", err ? err->msg : "");
    close(fd);
    cr_assert(is_file("dev/console"));
}

/* Missing parents too: the walk from the root makes each level. */
Test(rt_open_in_root, makes_missing_parents)
{
    cleanup_error struct cm_error *err = NULL;
    int fd = rt_open_in_root(rootfd, "a/b/c", true, false, &err);
    cr_assert_geq(fd, 0, "%s", err ? err->msg : "");
    close(fd);
    cr_assert(is_dir("a/b/c"));
    fd = rt_open_in_root(rootfd, "/x/y/f", true, true, &err);
    cr_assert_geq(fd, 0, "%s", err ? err->msg : "");
    close(fd);
    cr_assert(is_dir("x/y"));
    cr_assert(is_file("x/y/f"));
}

/* A symlink to an absolute path or up and out resolves inside the root: what
 * is made lands there, not on the host. */
Test(rt_open_in_root, symlinks_stay_inside)
{
    cleanup_error struct cm_error *err = NULL;
    char p[256], outside[80];
    snprintf(outside, sizeof(outside), "%s-out", dir);
    snprintf(p, sizeof(p), "%s/up", dir);
    cr_assert_eq(symlink("../../../..", p), 0);
    snprintf(p, sizeof(p), "%s/abs", dir);
    cr_assert_eq(symlink(outside, p), 0);
    int fd = rt_open_in_root(rootfd, "/up/made", true, false, &err);
    cr_assert_geq(fd, 0, "%s", err ? err->msg : "");
    close(fd);
    cr_assert(is_dir("made"), "not made at the root's top");
    /* a link to a host path that the rootfs lacks is not followed out (nor
     * made through: the target does not exist inside) */
    cr_assert_eq(rt_open_in_root(rootfd, "/abs/made2", true, false, &err), -1);
    cr_assert_neq(access(outside, F_OK), 0, "made outside the root");
    cm_error_free(&err);
    snprintf(p, sizeof(p), "%s/abs-target", dir);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/abs2", dir);
    cr_assert_eq(symlink("/abs-target", p), 0);
    fd = rt_open_in_root(rootfd, "/abs2/made3", true, false, &err);
    cr_assert_geq(fd, 0, "%s", err ? err->msg : "");
    close(fd);
    cr_assert(is_dir("abs-target/made3"), "an absolute link is taken from the root");
}

Test(rt_open_in_root, missing_without_create_is_an_error)
{
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(rt_open_in_root(rootfd, "/nope/x", false, false, &err), -1);
    cr_assert_eq(err->code, ENOENT);
}
