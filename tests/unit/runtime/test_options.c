/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of runc-compatible option parsing and the CLI's pure helpers. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "rt/container.h"
#include "rt/options.h"

enum { A_BUNDLE, A_DETACH, A_PID };
static const struct rt_opt opts[] = {
    {"bundle", 'b', true, A_BUNDLE},
    {"detach", 'd', false, A_DETACH},
    {"pid-file", 0, true, A_PID},
};

TestSuite(rt_options);

Test(rt_options, long_short_equals_single_dash)
{
    char *argv[] = {"create", "--bundle", "/b", "-d", "--pid-file=/p", "-bundle", "/c", "id", NULL};
    int argc = 8, ind = 1;
    const char *arg = NULL;

    cr_assert_eq(rt_opt_next(argc, argv, &ind, opts, 3, &arg, NULL), A_BUNDLE);
    cr_assert_str_eq(arg, "/b");
    cr_assert_eq(rt_opt_next(argc, argv, &ind, opts, 3, &arg, NULL), A_DETACH);
    cr_assert_str_eq(arg, "true");
    cr_assert_eq(rt_opt_next(argc, argv, &ind, opts, 3, &arg, NULL), A_PID);
    cr_assert_str_eq(arg, "/p");
    cr_assert_eq(rt_opt_next(argc, argv, &ind, opts, 3, &arg, NULL), A_BUNDLE);
    cr_assert_str_eq(arg, "/c");
    cr_assert_eq(rt_opt_next(argc, argv, &ind, opts, 3, &arg, NULL), RT_OPT_END);
    cr_assert_eq(ind, 7);
    cr_assert_str_eq(argv[ind], "id");
}

Test(rt_options, bool_with_value_and_double_dash)
{
    char *argv[] = {"x", "--detach=false", "--", "-d", NULL};
    int ind = 1;
    const char *arg = NULL;

    cr_assert_eq(rt_opt_next(4, argv, &ind, opts, 3, &arg, NULL), A_DETACH);
    cr_assert_str_eq(arg, "false");
    cr_assert_eq(rt_opt_next(4, argv, &ind, opts, 3, &arg, NULL), RT_OPT_END);
    cr_assert_eq(ind, 3);
}

Test(rt_options, errors)
{
    char *argv1[] = {"x", "--nope", NULL};
    char *argv2[] = {"x", "--bundle", NULL};
    char *argv3[] = {"x", "--detach=maybe", NULL};
    int ind = 1;
    const char *arg = NULL;
    struct cm_error *e = NULL;

    cr_assert_eq(rt_opt_next(2, argv1, &ind, opts, 3, &arg, &e), -1);
    cr_assert_not_null(strstr(e->msg, "--nope"));
    cm_error_free(&e);
    ind = 1;
    cr_assert_eq(rt_opt_next(2, argv2, &ind, opts, 3, &arg, NULL), -1);
    ind = 1;
    cr_assert_eq(rt_opt_next(2, argv3, &ind, opts, 3, &arg, NULL), -1);
}

Test(rt_options, parse_int_and_user)
{
    int v = 0;
    uid_t u = 0;
    gid_t g = 0;
    bool hg = false;

    cr_assert_eq(rt_parse_int("12", &v), 0);
    cr_assert_eq(v, 12);
    cr_assert_eq(rt_parse_int("-1", &v), -1);
    cr_assert_eq(rt_parse_int("1x", &v), -1);
    cr_assert_eq(rt_parse_int("99999999999", &v), -1);
    cr_assert_eq(rt_parse_user("1000:100", &u, &g, &hg), 0);
    cr_assert_eq(u, 1000);
    cr_assert_eq(g, 100);
    cr_assert(hg);
    cr_assert_eq(rt_parse_user("7", &u, &g, &hg), 0);
    cr_assert_eq(u, 7);
    cr_assert(!hg);
    cr_assert_eq(rt_parse_user("root", &u, &g, &hg), -1);
    cr_assert_eq(rt_parse_user("1:x", &u, &g, &hg), -1);
}

Test(rt_options, table_like_tabwriter)
{
    const char *cells[] = {"ID", "PID", "OWNER", "a-very-long-container-id", "1", "root"};
    char *t = rt_format_table(cells, 2, 3);
    cr_assert_str_eq(t, "ID"
                        "                         "
                        "PID         OWNER\n"
                        "a-very-long-container-id   1           root\n");
    free(t);
}

Test(rt_options, signals)
{
    cr_assert_eq(rt_signal_from_name("KILL"), SIGKILL);
    cr_assert_eq(rt_signal_from_name("SIGTERM"), SIGTERM);
    cr_assert_eq(rt_signal_from_name("sigusr1"), SIGUSR1);
    cr_assert_eq(rt_signal_from_name("9"), 9);
    cr_assert_eq(rt_signal_from_name("RTMIN+1"), SIGRTMIN + 1);
    cr_assert_eq(rt_signal_from_name("NOPE"), -1);
    cr_assert_eq(rt_signal_from_name("0"), -1);
    cr_assert_eq(rt_signal_from_name("999"), -1);
}
