/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for file helpers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tmpdir_suite.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

TMPDIR_SUITE(cm_file, dir, "/tmp/cm-file-XXXXXX");

Test(cm_file, atomic_write_then_read)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *buf = NULL;
    size_t len = 0;

    cr_assert_eq(cm_write_file_atomic_at(dfd, "state.json", "{}", 2, 0600, &err), 0);
    cr_assert_eq(cm_read_file_at(dfd, "state.json", 1024, &buf, &len, &err), 0);
    cr_assert_eq(len, 2);
    cr_assert_str_eq(buf, "{}");
    cr_assert_eq(faccessat(dfd, "state.json.tmp", F_OK, 0), -1);
}

Test(cm_file, read_cap_enforced)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *buf = NULL;

    cr_assert_eq(cm_write_file_atomic_at(dfd, "big", "0123456789", 10, 0600, &err), 0);
    cr_assert_eq(cm_read_file_at(dfd, "big", 5, &buf, NULL, &err), -1);
    cr_assert_eq(err->code, EFBIG);
}

Test(cm_file, mkdir_p_and_rm_rf)
{
    cleanup_error struct cm_error *err = NULL;
    char path[256];
    snprintf(path, sizeof(path), "%s/a/b/c/", dir);
    cr_assert_eq(cm_mkdir_p(path, 0700, &err), 0);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    snprintf(path, sizeof(path), "%s/a", dir);
    cr_assert_eq(cm_rm_rf(path, &err), 0);
    cr_assert_eq(stat(path, &st), -1);
    cr_assert_eq(cm_rm_rf(path, &err), 0, "missing path is fine");
}

Test(cm_file, rm_rf_at_removes_below_dirfd_without_following_links)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *keep = xasprintf("%s/keep", dir);
    cleanup_free char *deep = xasprintf("%s/t/a/b", dir);

    cr_assert_eq(cm_mkdir_p(keep, 0755, NULL), 0);
    cr_assert_eq(cm_mkdir_p(deep, 0755, NULL), 0);
    cr_assert_eq(cm_write_file_atomic_at(dfd, "keep/f", "x", 1, 0644, NULL), 0);
    cr_assert_eq(cm_write_file_atomic_at(dfd, "t/a/b/f", "x", 1, 0644, NULL), 0);
    cr_assert_eq(symlinkat("../keep", dfd, "t/a/link"), 0);
    cr_assert_eq(cm_rm_rf_at(dfd, "t", &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(faccessat(dfd, "t", F_OK, AT_SYMLINK_NOFOLLOW), -1);
    cr_assert_eq(faccessat(dfd, "keep/f", F_OK, 0), 0, "the link's target stays");
    cr_assert_eq(cm_rm_rf_at(dfd, "t", &err), 0, "a missing name is not an error");
}
