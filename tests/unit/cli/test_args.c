/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the table-driven argument parsing of the ECS commands. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../../cli/ecs.h"
#include "cm/cleanup.h"

static int
parse(const char *cmdline, struct cli_args *a, struct cm_error **err)
{
    char *words[32];
    int n = 0;
    cleanup_free char *copy = strdup(cmdline);
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    int used = 0;
    const struct cli_cmd *cmd = cli_cmd_find(n, words, &used);
    cr_assert_not_null(cmd, "no command in '%s'", cmdline);
    return cli_args_parse(cmd, n - used, words + used, a, err);
}

Test(cli_args, values_flags_and_lists)
{
    struct cli_args a = {0};
    struct cm_error *err = NULL;
    cr_assert_eq(parse("update-service --cluster prod --service=web --desired-count 3 "
                       "--force-new-deployment --output json",
                       &a, &err),
                 0);
    cr_assert_str_eq(a.cmd->name, "update-service");
    cr_assert_str_eq(cli_arg(&a, "cluster"), "prod");
    cr_assert_str_eq(cli_arg(&a, "service"), "web");
    cr_assert_str_eq(cli_arg(&a, "output"), "json");
    cr_assert(cli_flag(&a, "force-new-deployment"));
    cr_assert_not(cli_flag(&a, "debug"));
    long long n = -1;
    cr_assert_eq(cli_arg_int(&a, "desired-count", 0, 10, &n, &err), 0);
    cr_assert_eq(n, 3);
    cli_args_done(&a);

    cr_assert_eq(parse("describe-services --services a b c --cluster x", &a, &err), 0);
    char *const *v = cli_argv(&a, "services");
    cr_assert_str_eq(v[0], "a");
    cr_assert_str_eq(v[2], "c");
    cr_assert_null(v[3]);
    cr_assert_str_eq(cli_arg(&a, "cluster"), "x");
    cli_args_done(&a);
}

Test(cli_args, later_value_wins_and_two_word_commands)
{
    struct cli_args a = {0};
    struct cm_error *err = NULL;
    cr_assert_eq(parse("wait services-stable --services web --timeout 5 --timeout 9", &a, &err), 0);
    cr_assert_str_eq(a.cmd->name, "wait services-stable");
    cr_assert_str_eq(cli_arg(&a, "timeout"), "9");
    cli_args_done(&a);
}

Test(cli_args, errors_name_the_option)
{
    struct cli_args a = {0};
    struct cm_error *err = NULL;
    cr_assert_eq(parse("list-clusters --bogus 1", &a, &err), -1);
    cr_assert_str_eq(err->msg, "unknown option '--bogus' (see 'skiff list-clusters --help')");
    cm_error_free(&err);
    cr_assert_eq(parse("update-service --service", &a, &err), -1);
    cr_assert_str_eq(err->msg, "option '--service' needs a value (NAME)");
    cm_error_free(&err);
    cr_assert_eq(parse("update-service --cluster c", &a, &err), -1);
    cr_assert_str_eq(err->msg, "missing required option '--service NAME'");
    cm_error_free(&err);
    cr_assert_eq(parse("list-clusters stray", &a, &err), -1);
    cr_assert(strstr(err->msg, "unexpected argument 'stray'"));
    cm_error_free(&err);
    cr_assert_eq(parse("delete-service --service a --force=yes", &a, &err), -1);
    cr_assert_str_eq(err->msg, "option '--force' takes no value");
    cm_error_free(&err);
    /* --help skips the required-option check. */
    cr_assert_eq(parse("update-service --help", &a, &err), 0);
    cli_args_done(&a);
}

Test(cli_args, integer_ranges)
{
    struct cli_args a = {0};
    struct cm_error *err = NULL;
    long long n = 7;
    cr_assert_eq(parse("run-task --task-definition t --count 11", &a, &err), 0);
    cr_assert_eq(cli_arg_int(&a, "count", 1, 10, &n, &err), -1);
    cr_assert_str_eq(err->msg, "option '--count': expected an integer from 1 to 10, got '11'");
    cr_assert_eq(n, 7);
    cm_error_free(&err);
    cli_args_done(&a);
    cr_assert_eq(parse("run-task --task-definition t --count 3x", &a, &err), 0);
    cr_assert_eq(cli_arg_int(&a, "count", 1, 10, &n, &err), -1);
    cm_error_free(&err);
    cli_args_done(&a);
}

Test(cli_args, unknown_command)
{
    char *w[] = {"frobnicate"};
    int used = 0;
    cr_assert_null(cli_cmd_find(1, w, &used));
    cr_assert_eq(cli_ecs_main(1, w), -1);
}

Test(cli_args, one_bare_word_for_the_commands_argument)
{
    struct cli_args a = {0};
    struct cm_error *err = NULL;
    cr_assert_eq(parse("logs abc123 --container web --follow", &a, &err), 0);
    cr_assert_str_eq(cli_arg(&a, "task"), "abc123");
    cr_assert_str_eq(cli_arg(&a, "container"), "web");
    cr_assert(cli_flag(&a, "follow"));
    cli_args_done(&a);
    cr_assert_eq(parse("logs --task abc123", &a, &err), 0);
    cr_assert_str_eq(cli_arg(&a, "task"), "abc123");
    cli_args_done(&a);
    /* A second bare word, or one with --task, is an error; so is one for other commands. */
    cr_assert_eq(parse("logs abc def", &a, &err), -1);
    cr_assert(strstr(err->msg, "'def'"));
    cm_error_free(&err);
    cr_assert_eq(parse("logs --task abc def", &a, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(parse("list-tasks abc", &a, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(parse("logs", &a, &err), -1);
    cr_assert(strstr(err->msg, "--task"));
    cm_error_free(&err);
}
