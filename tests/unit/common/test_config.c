/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for cm_config: strict keys, types, ranges, and the line numbers
 * in every message. */
#include <criterion/criterion.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/config.h"

static const struct cm_config_key keys[] = {
    {"listen", CM_CONFIG_STRING, 0, 0},
    {"tickMs", CM_CONFIG_UINT, 1, 1000},
    {"debug", CM_CONFIG_BOOL, 0, 0},
    {NULL, CM_CONFIG_STRING, 0, 0},
};

static char *
parse_err(const char *text)
{
    struct cm_error *err = NULL;
    json_t *v = NULL;
    cr_assert_eq(cm_config_parse(text, strlen(text), "f.json", keys, &v, &err), -1, "%s", text);
    char *m = strdup(err->msg);
    cm_error_free(&err);
    return m;
}

Test(cm_config, accepts_known_keys)
{
    static const char text[] = "{\n  \"listen\": \"127.0.0.1:1\",\n  \"tickMs\": 5,\n"
                               "  \"debug\": true\n}\n";
    struct cm_error *err = NULL;
    json_auto_t *v = NULL;
    cr_assert_eq(cm_config_parse(text, strlen(text), "f.json", keys, &v, &err), 0);
    cr_assert_eq(json_integer_value(json_object_get(v, "tickMs")), 5);
}

Test(cm_config, unknown_key_names_its_line)
{
    cleanup_free char *m =
        parse_err("{\n  \"listen\": \"x\",\n  \"nested\": {\"listen\": 1},\n  \"lsten\": \"y\"\n}");
    cr_assert_str_eq(m, "f.json:3: unknown key 'nested' (known keys: listen, tickMs, debug)");
    cleanup_free char *m2 = parse_err("{\n  \"a\": \"lsten\",\n\n  \"lsten\": \"y\"\n}");
    cr_assert_str_eq(m2, "f.json:2: unknown key 'a' (known keys: listen, tickMs, debug)");
}

Test(cm_config, types_and_ranges)
{
    cleanup_free char *a = parse_err("{\"listen\": 5}");
    cr_assert_str_eq(a, "f.json:1: 'listen' must be a string");
    cleanup_free char *b = parse_err("{\n\"tickMs\": 0}");
    cr_assert_str_eq(b, "f.json:2: 'tickMs' must be from 1 to 1000, got 0");
    cleanup_free char *c = parse_err("{\"tickMs\": -3}");
    cr_assert_str_eq(c, "f.json:1: 'tickMs' must be a non-negative integer");
    cleanup_free char *d = parse_err("{\"debug\": \"yes\"}");
    cr_assert_str_eq(d, "f.json:1: 'debug' must be true or false");
    cleanup_free char *e = parse_err("{\"listen\": \"\"}");
    cr_assert_str_eq(e, "f.json:1: 'listen' must be a string");
    cleanup_free char *f = parse_err("[1]");
    cr_assert_str_eq(f, "f.json:1: expected a JSON object of settings");
    cleanup_free char *g = parse_err("{\"listen\": \"a\",\n \"listen\": \"b\"}");
    cr_assert(strstr(g, "f.json:2:"), "%s", g);
    cleanup_free char *h = parse_err("{\"listen\": \"a\\u0000b\"}");
    cr_assert(strstr(h, "must be a string") || strstr(h, "f.json:1:"), "%s", h);
}

Test(cm_config, key_line_skips_values_and_nesting)
{
    static const char t[] = "{\"x\": \"y\",\n \"o\": {\"y\": 1},\n \"y\"\n : 2}";
    cr_assert_eq(cm_config_key_line(t, strlen(t), "y"), 3);
    cr_assert_eq(cm_config_key_line(t, strlen(t), "x"), 1);
    cr_assert_eq(cm_config_key_line(t, strlen(t), "z"), 0);
}
