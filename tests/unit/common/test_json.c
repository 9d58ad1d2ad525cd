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

static const char *
no_x(const char *s)
{
    return strchr(s, 'x') ? "must not contain 'x'" : NULL;
}

/* The limited family (the runtime config's): lengths, counts, ranges, has
 * flags, element checks; each error names the field. */
Test(cm_json, limited_getters)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *j = json_pack("{s:s, s:[i,i,i], s:{s:i}, s:i, s:[s,s]}", "s", "abcdef", "a", 1, 2,
                               3, "o", "k", 1, "n", 7, "v", "ok", "oxo");
    const char *s = NULL;
    json_t *c = NULL;
    int64_t i = 0;
    uint64_t u = 0;
    bool has = false;
    cleanup_strv char **v = NULL;

    cr_assert_eq(cm_json_get_string_max(j, "p", "s", true, 5, &s, &err), -1);
    cr_assert_str_eq(err->msg, "p.s: too long (6 bytes, max 5)");
    cm_error_free(&err);
    cr_assert_eq(cm_json_get_container(j, "p", "a", true, true, 2, &c, &err), -1);
    cr_assert_str_eq(err->msg, "p.a: too many elements (3, max 2)");
    cm_error_free(&err);
    cr_assert_eq(cm_json_get_container(j, "", "o", true, false, 1, &c, &err), 0);
    cr_assert_eq(cm_json_get_container(j, "", "a", true, false, 9, &c, &err), -1);
    cr_assert_str_eq(err->msg, "a: expected an object");
    cm_error_free(&err);
    cr_assert_eq(cm_json_get_int64_range(j, "p", "n", true, 0, 5, &has, &i, &err), -1);
    cr_assert_str_eq(err->msg, "p.n: 7 is out of range (0..5)");
    cr_assert(!has);
    cm_error_free(&err);
    cr_assert_eq(cm_json_get_uint64_range(j, "p", "n", true, 9, &has, &u, &err), 0);
    cr_assert(has && u == 7);
    has = false;
    cr_assert_eq(cm_json_get_uint64_range(j, "p", "absent", false, 9, &has, &u, &err), 0);
    cr_assert(!has);
    cr_assert_eq(cm_json_get_uint64_range(j, "p", "absent", true, 9, &has, &u, &err), -1);
    cr_assert_str_eq(err->msg, "p.absent: required field missing");
    cm_error_free(&err);
    cr_assert_eq(cm_json_get_strv_max(j, "p", "v", true, 8, 64, no_x, &v, &err), -1);
    cr_assert_str_eq(err->msg, "p.v[1]: must not contain 'x'");
    cm_error_free(&err);
    cr_assert_eq(cm_json_get_strv_max(j, "", "v", true, 8, 2, NULL, &v, &err), -1);
    cr_assert_str_eq(err->msg, "v[1]: too long (3 bytes, max 2)");
}

/* Go's uint64 values (RLIM_INFINITY) load through the real fallback and read
 * back exactly as integers, only while the flag is on. */
Test(cm_json, wide_integers)
{
    cleanup_error struct cm_error *err = NULL;
    json_t *j = NULL;
    const char *doc = "{\"max\": 18446744073709551615, \"neg\": -1, \"half\": 1.5}";
    uint64_t u = 0;
    int64_t i = 0;

    cr_assert_eq(cm_json_loadb(doc, strlen(doc), "x", &j, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(cm_json_loadb_wide(doc, strlen(doc), "x", &j, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(cm_json_get_uint64_range(j, "", "max", true, UINT64_MAX, NULL, &u, &err), 0);
    cr_assert_eq(u, UINT64_MAX);
    cr_assert_eq(cm_json_get_int64_range(j, "", "neg", true, -5, 5, NULL, &i, &err), 0);
    cr_assert_eq(i, -1);
    cr_assert_eq(cm_json_get_int64_range(j, "", "half", true, -5, 5, NULL, &i, &err), -1);
    cr_assert_str_eq(err->msg, "half: expected an integer");
    cm_error_free(&err);
    cm_json_set_ints_as_real(false);
    cr_assert_eq(cm_json_get_int64_range(j, "", "neg", true, -5, 5, NULL, &i, &err), -1);
    cr_assert_str_eq(err->msg, "neg: expected an integer");
    json_decref(j);
}

Test(cm_json, array_from_strv)
{
    char *v[] = {"a", "b c", NULL};
    json_auto_t *a = cm_json_array_from_strv(v);
    json_auto_t *none = cm_json_array_from_strv(NULL);
    cleanup_free char *text = json_dumps(a, JSON_COMPACT);

    cr_assert_str_eq(text, "[\"a\",\"b c\"]");
    cr_assert(json_is_array(none) && json_array_size(none) == 0);
}
