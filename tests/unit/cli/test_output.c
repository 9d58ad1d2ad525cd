/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for table, text and JSON output. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../../cli/ecs.h"
#include "cm/cleanup.h"

static char *
render(struct cli_table *t, enum cli_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_table_print(f, t, fmt);
    fclose(f);
    return buf;
}

Test(cli_output, table_aligns_columns)
{
    static const char *const h[] = {"NAME", "STATUS", "N", NULL};
    struct cli_table *t = cli_table_new(NULL, h);
    cli_table_add(t, (const char *const[]){"default", "ACTIVE", "3"});
    cli_table_add(t, (const char *const[]){"x", NULL, ""});
    cleanup_free char *s = render(t, CLI_OUT_TABLE);
    cr_assert_str_eq(s, "NAME     STATUS  N\n"
                        "default  ACTIVE  3\n"
                        "x        -       -\n");
    cleanup_free char *txt = render(t, CLI_OUT_TEXT);
    cr_assert_str_eq(txt, "default\tACTIVE\t3\nx\t-\t-\n");
    cli_table_free(t);
}

Test(cli_output, hostile_cells_stay_on_one_line)
{
    static const char *const h[] = {"A", "B", NULL};
    struct cli_table *t = cli_table_new("title", h);
    cli_table_add(t, (const char *const[]){"a\nb", "c\td"});
    cleanup_free char *s = render(t, CLI_OUT_TEXT);
    cr_assert_str_eq(s, "a b\tc d\n");
    cleanup_free char *tab = render(t, CLI_OUT_TABLE);
    cr_assert_str_eq(tab, "title\nA    B\na b  c d\n");
    cli_table_free(t);
}

Test(cli_output, empty_table_says_none)
{
    static const char *const h[] = {"TASK", NULL};
    struct cli_table *t = cli_table_new(NULL, h);
    cleanup_free char *s = render(t, CLI_OUT_TABLE);
    cr_assert_str_eq(s, "TASK\n(none)\n");
    cleanup_free char *txt = render(t, CLI_OUT_TEXT);
    cr_assert_str_eq(txt, "");
    cli_table_free(t);
}

Test(cli_output, json_like_the_aws_cli)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_auto_t *v = json_pack("{s:[s]}", "clusterArns", "arn:x");
    cli_json_print(f, v);
    fclose(f);
    cr_assert_str_eq(buf, "{\n    \"clusterArns\": [\n        \"arn:x\"\n    ]\n}\n");
    free(buf);
}

Test(cli_output, formats_and_helpers)
{
    enum cli_format fmt;
    struct cm_error *err = NULL;
    cr_assert_eq(cli_format_parse("json", &fmt, &err), 0);
    cr_assert_eq(fmt, CLI_OUT_JSON);
    cr_assert_eq(cli_format_parse("yaml", &fmt, &err), -1);
    cr_assert_str_eq(err->msg, "--output 'yaml': expected table, json or text");
    cm_error_free(&err);
    cr_assert_str_eq(cli_arn_tail("arn:aws:ecs:us-east-1:0:service/c/web"), "web");
    cr_assert_str_eq(cli_arn_tail("web"), "web");
    char t[32];
    cli_time_fmt(1700000000.5, t);
    cr_assert_str_eq(t, "2023-11-14 22:13:20");
    cli_time_fmt(0, t);
    cr_assert_str_eq(t, "-");
}
