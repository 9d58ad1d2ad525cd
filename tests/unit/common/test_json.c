/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the jansson glue: positions and field paths in errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/json.h"

Test(cm_json, syntax_error_names_position)
{
    cleanup_error struct cm_error *err = NULL;
    json_t *j = NULL;
    const char *bad = "{\n  \"a\": 1,\n  \"b\": }";
    cr_assert_eq(cm_json_loadb(bad, strlen(bad), "config.json", &j, &err), -1);
    cr_assert_null(j);
    cr_assert(strncmp(err->msg, "config.json:3:", 14) == 0, "%s", err->msg);
}

Test(cm_json, duplicate_keys_rejected)
{
    cleanup_error struct cm_error *err = NULL;
    json_t *j = NULL;
    const char *dup = "{\"a\": 1, \"a\": 2}";
    cr_assert_eq(cm_json_loadb(dup, strlen(dup), "x", &j, &err), -1);
    cr_assert(strstr(err->msg, "duplicate"), "%s", err->msg);
}

Test(cm_json, typed_getters_name_the_field)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *j = json_pack("{s:s, s:i, s:[s, i]}", "s", "v", "n", -3, "v", "a", 1);
    const char *s = NULL;
    uint64_t u = 0;
    cleanup_strv char **v = NULL;

    cr_assert_eq(cm_json_get_string(j, "process", "s", true, &s, &err), 0);
    cr_assert_str_eq(s, "v");
    cr_assert_eq(cm_json_get_uint64(j, "process", "n", false, 10, &u, &err), -1);
    cr_assert_str_eq(err->msg, "process.n: expected a non-negative integer");
    cm_error_free(&err);
    cr_assert_eq(cm_json_get_strv(j, "process", "v", false, &v, &err), -1);
    cr_assert_str_eq(err->msg, "process.v[1]: expected a string");
    cm_error_free(&err);
    cr_assert_eq(cm_json_get_string(j, "", "missing", true, &s, &err), -1);
    cr_assert_str_eq(err->msg, "missing: required field missing");
}

Test(cm_json, uint_range_checked)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *j = json_pack("{s:I}", "big", (json_int_t)5000000000LL);
    uint64_t u = 0;
    cr_assert_eq(cm_json_get_uint64(j, "a.b", "big", true, UINT32_MAX, &u, &err), -1);
    cr_assert(strstr(err->msg, "a.b.big: 5000000000 is out of range"), "%s", err->msg);
}
