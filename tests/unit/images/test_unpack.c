/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for member-name cleaning and whiteout classification. */
#include <criterion/criterion.h>
#include <string.h>

#include "cm/cleanup.h"
#include "img/unpack.h"

static void
expect_clean(const char *in, const char *out)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *p = NULL;
    cr_assert_eq(img_member_path_clean(in, &p, &err), 0, "'%s': %s", in, err ? err->msg : "");
    cr_assert_str_eq(p, out, "'%s' -> '%s', expected '%s'", in, p, out);
}

static void
expect_refused(const char *in)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *p = NULL;
    cr_assert_eq(img_member_path_clean(in, &p, &err), -1, "'%s' accepted", in);
    cr_assert_not_null(strstr(err->msg, in[0] == '/' ? "absolute" : ".."), "%s", err->msg);
}

Test(img_unpack, clean_names)
{
    expect_clean("./", "");
    expect_clean(".", "");
    expect_clean("./etc/passwd", "etc/passwd");
    expect_clean("etc//./motd", "etc/motd");
    expect_clean("usr/bin/", "usr/bin");
    expect_clean("a/...b/..c", "a/...b/..c");
}

Test(img_unpack, hostile_names_refused)
{
    expect_refused("../etc/passwd");
    expect_refused("./a/../../b");
    expect_refused("a/..");
    expect_refused("/etc/shadow");
    expect_refused("//x");
}

static void
expect_wh(const char *in, enum img_whiteout want, const char *target)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *t = NULL;
    enum img_whiteout got;
    cr_assert_eq(img_whiteout_parse(in, &got, &t, &err), 0, "%s", in);
    cr_assert_eq(got, want, "'%s': %d", in, got);
    if (target)
        cr_assert_str_eq(t, target);
}

Test(img_unpack, whiteouts)
{
    expect_wh("etc/motd", IMG_WHITEOUT_NONE, NULL);
    expect_wh("etc/.wh.motd", IMG_WHITEOUT_FILE, "etc/motd");
    expect_wh(".wh.top", IMG_WHITEOUT_FILE, "top");
    expect_wh("opt/data/.wh..wh..opq", IMG_WHITEOUT_OPAQUE, "opt/data");
    expect_wh(".wh..wh..opq", IMG_WHITEOUT_OPAQUE, "");
    expect_wh("x/.wh..wh.plnk", IMG_WHITEOUT_META, NULL);
    expect_wh("x/.whatever", IMG_WHITEOUT_NONE, NULL);
}

Test(img_unpack, malformed_whiteouts)
{
    static const char *bad[] = {"a/.wh.", "a/.wh..", ".wh..."};
    for (size_t i = 0; i < 3; i++) {
        cleanup_error struct cm_error *err = NULL;
        cleanup_free char *t = NULL;
        enum img_whiteout w;
        /* They would hide "", "." and "..": never a real name. */
        cr_assert_eq(img_whiteout_parse(bad[i], &w, &t, &err), -1, "'%s' accepted", bad[i]);
    }
}
