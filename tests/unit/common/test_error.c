/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for cm_error. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "cm/error.h"

Test(cm_error, set_and_wrap)
{
    struct cm_error *err = NULL;
    cr_assert_eq(cm_error_set(&err, ENOENT, "no '%s'", "x"), -1);
    cr_assert_eq(cm_error_wrap(&err, "load %d", 3), -1);
    cr_assert_str_eq(err->msg, "load 3: no 'x'");
    cr_assert_eq(err->code, ENOENT);
    cr_assert_eq(cm_http_status(err), 404);
    cm_error_free(&err);
    cr_assert_null(err);
}

Test(cm_error, first_error_wins)
{
    cleanup_error struct cm_error *err = NULL;
    cm_error_set(&err, EINVAL, "first");
    cm_error_set(&err, EIO, "second");
    cr_assert_str_eq(err->msg, "first");
    cr_assert_eq(cm_http_status(err), 400);
}

Test(cm_error, errno_appends_strerror)
{
    cleanup_error struct cm_error *err = NULL;
    errno = EACCES;
    cm_error_errno(&err, "open '%s'", "f");
    cr_assert_eq(err->code, EACCES);
    cr_assert(strstr(err->msg, "open 'f': ") == err->msg);
    cr_assert(strstr(err->msg, strerror(EACCES)));
}

Test(cm_error, null_err_is_allowed)
{
    cr_assert_eq(cm_error_set(NULL, EIO, "dropped"), -1);
    cr_assert_eq(cm_error_wrap(NULL, "ctx"), -1);
    cm_error_free(NULL);
}
