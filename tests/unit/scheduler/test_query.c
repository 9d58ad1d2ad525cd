/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the ECS cluster query language: evaluation and syntax errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "cm/error.h"
#include "fixture.h"

/* No pointers in parameters: they are copied into a freshly executed process. */
struct eval_case {
    char expr[160];
    bool i0; /* t3.large in us-east-1a, 3 running tasks, runs service:db */
    bool i1; /* m5.xlarge in us-east-1b, agent disconnected */
};

ParameterizedTestParameters(sched_query, eval)
{
    static struct eval_case cases[] = {
        {"attribute:ecs.instance-type == t3.large", true, false},
        {"attribute:ecs.instance-type equals m5.xlarge", false, true},
        {"attribute:ecs.instance-type != t3.large", false, true},
        {"attribute:ecs.instance-type not_equals t3.large", false, true},
        {"attribute:ecs.instance-type =~ t3.*", true, false},
        {"attribute:ecs.instance-type =~ t3", false, false}, /* whole value must match */
        {"attribute:ecs.instance-type matches (t3|m5)\\..*", true, true},
        {"attribute:ecs.instance-type !~ m5.*", true, false},
        {"attribute:ecs.availability-zone in [us-east-1a, us-east-1c]", true, false},
        {"attribute:ecs.availability-zone in [us-east-1b]", false, true},
        {"attribute:ecs.availability-zone not in [us-east-1a]", false, true},
        {"attribute:ecs.availability-zone !in [us-east-1a,us-east-1b]", false, false},
        {"attribute:ecs.availability-zone not_in [us-east-1b]", true, false},
        {"attribute:com.amazonaws.ecs.capability.docker-remote-api.1.30 exists", true, true},
        {"attribute:custom exists", true, false},
        {"attribute:custom !exists", false, true},
        {"attribute:custom not_exists", false, true},
        {"attribute:custom == gpu", true, false},
        {"attribute:custom != gpu", false, true}, /* absent counts as different */
        {"attribute:ecs.os-type == linux", false, false},
        {"attribute:ecs.instance-type == t3.large and attribute:ecs.availability-zone == "
         "us-east-1a",
         true, false},
        {"attribute:ecs.instance-type == t3.large && attribute:ecs.availability-zone == "
         "us-east-1b",
         false, false},
        {"attribute:ecs.instance-type == t3.large or attribute:ecs.availability-zone == "
         "us-east-1b",
         true, true},
        {"attribute:ecs.instance-type == x || attribute:custom exists", true, false},
        {"not(attribute:ecs.instance-type == t3.large)", false, true},
        {"!(attribute:ecs.instance-type == t3.large)", false, true},
        {"NOT attribute:custom exists", false, true},
        /* and binds tighter than or */
        {"attribute:custom exists or attribute:ecs.instance-type == m5.xlarge and "
         "attribute:ecs.availability-zone == us-east-1a",
         true, false},
        {"(attribute:custom exists or attribute:ecs.instance-type == m5.xlarge) and "
         "attribute:ecs.availability-zone == us-east-1b",
         false, true},
        {"((attribute:custom exists))", true, false},
        {"agentConnected == true", true, false},
        {"agentConnected == false", false, true},
        {"runningTasksCount > 2", true, false},
        {"runningTasksCount <= 2", false, true},
        {"runningTasksCount greater_than_equal 3", true, false},
        {"runningTasksCount less_than 10", true, true},
        {"attribute:ecs.instance-type =~ [a-z][0-9]\\.(large|xlarge){1,2}", true, true},
        {"attribute:ecs.instance-type =~ [*+]?t3.*", true, false},
        {"task:group == service:db", true, false},
        {"task:group != service:db", false, true},
        {"not(task:group == service:db)", false, true},
        {"task:group in [service:web, service:db]", true, false},
        {"ec2InstanceId == i-0abc", true, false},
        {"registeredAt >= 1700000000", true, false},
    };
    return cr_make_param_array(struct eval_case, cases, sizeof(cases) / sizeof(cases[0]));
}

static bool
has_group(void *userdata, uint32_t instance, const char *group)
{
    (void)userdata;
    return instance == 0 && strcmp(group, "service:db") == 0;
}

ParameterizedTest(struct eval_case *ec, sched_query, eval)
{
    struct fx_cluster f;
    struct cm_error *err = NULL;
    struct sched_attr a0[] = {
        {"ecs.availability-zone", "us-east-1a"},
        {"ecs.instance-type", "t3.large"},
        {"com.amazonaws.ecs.capability.docker-remote-api.1.30", NULL},
        {"custom", "gpu"},
        {"ec2InstanceId", "i-0abc"},
    };
    struct sched_query_ctx ctx = {.instance_has_group = has_group};
    struct sched_query *q = sched_query_parse(ec->expr, &err);

    cr_assert_not_null(q, "'%s': %s", ec->expr, err ? err->msg : "");
    fx_init(&f, 2, 1024, 1024);
    f.inst[0].attrs = a0;
    f.inst[0].n_attrs = 5;
    f.inst[0].running_tasks = 3;
    f.inst[0].registered_at = 1800000000;
    f.inst[1].agent_connected = false;
    f.inst[1].registered_at = 1600000000;
    cr_assert_eq(sched_query_eval(q, &f.c, 0, &ctx), ec->i0, "'%s' on i0", ec->expr);
    cr_assert_eq(sched_query_eval(q, &f.c, 1, &ctx), ec->i1, "'%s' on i1", ec->expr);
    cr_assert_not(sched_query_eval(q, &f.c, 2, &ctx), "out of range index is false");
    sched_query_free(q);
    fx_done(&f);
}

struct syntax_case {
    char expr[96];
    char want[96]; /* substring of the error message */
};

ParameterizedTestParameters(sched_query, syntax_error)
{
    static struct syntax_case cases[] = {
        {"", "empty query expression"},
        {"   ", "empty query expression"},
        {"attribute:x", "column 12: expected an operator, found the end"},
        {"attribute:x ?? y", "column 13: expected an operator"},
        {"attribute:x ==", "column 15: expected a value"},
        {"attribute:x == a b", "column 18: unexpected 'b'"},
        {"attribute:x in a", "column 16: expected '[' after in"},
        {"attribute:x in [a, b", "column 21: expected ',' or ']'"},
        {"attribute:x in [a, ]", "column 20: expected a value in the list"},
        {"foo == bar", "column 1: unknown subject 'foo'"},
        {"attribute: == x", "column 1: unknown subject 'attribute:'"},
        {"(attribute:x exists", "column 20: expected ')' to close the '(' at column 1"},
        {"attribute:x exists)", "column 19: unexpected ')'"},
        {"attribute:x exists and", "column 23: expected a subject"},
        {"attribute:x exists or or attribute:y exists", "column 23: unknown subject 'or'"},
        {"attribute:x =~ a[", "column 16: invalid regular expression 'a['"},
        {"attribute:x =~ a{", "column 16: invalid regular expression 'a{'"},
        {"attribute:x =~ a{1,", "column 16: invalid regular expression"},
        {"attribute:x =~ a++", "column 16: regular expression rejected: stacked repetition"},
        {"attribute:x =~ a{33}", "column 16: regular expression rejected: repetition bounds"},
        {"attribute:x =~ (a)\\1", "column 16: regular expression rejected: backreferences"},
        {"attribute:x =~ ((((((((((a))))))))))", "rejected: groups nested deeper than 8"},
        {"attribute:x =~ a*b*c*d*e*f*g*h*i*j*k*l*m*n*o*p*q*", "more than 16 repetition"},
        {"not", "column 4: expected a subject"},
    };
    return cr_make_param_array(struct syntax_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct syntax_case *sc, sched_query, syntax_error)
{
    struct cm_error *err = NULL;
    struct sched_query *q = sched_query_parse(sc->expr, &err);

    cr_assert_null(q, "'%s' parsed", sc->expr);
    cr_assert_not_null(err);
    cr_assert_eq(err->code, 0, "validation error");
    cr_assert_not_null(strstr(err->msg, sc->want), "'%s': got '%s', want '%s'", sc->expr, err->msg,
                       sc->want);
    cm_error_free(&err);
}

Test(sched_query, limits)
{
    struct cm_error *err = NULL;
    char deep[200], *p = deep;
    char *longer = xmalloc(2100);

    for (int i = 0; i < 40; i++)
        *p++ = '(';
    strcpy(p, "attribute:x exists");
    p += strlen(p);
    for (int i = 0; i < 40; i++)
        *p++ = ')';
    *p = 0;
    cr_assert_null(sched_query_parse(deep, &err));
    cr_assert_not_null(strstr(err->msg, "nested deeper than 32"), "%s", err->msg);
    cm_error_free(&err);

    memset(longer, 'a', 2099);
    longer[2099] = 0;
    cr_assert_null(sched_query_parse(longer, &err));
    cr_assert_not_null(strstr(err->msg, "longer than 2000"));
    cm_error_free(&err);
    free(longer);
    cr_assert_null(sched_query_parse(NULL, &err));
    cm_error_free(&err);
}

/* Hostile input: random mixes of the language's own tokens and bytes never crash, and every
 * failure carries a column inside the input. Deterministic (fixed seed); ASan runs it too. */
Test(sched_query, garbage_never_crashes)
{
    static const char *const parts[] = {"attribute:ecs.instance-type",
                                        " ",
                                        "==",
                                        "!=",
                                        "in",
                                        "[",
                                        "]",
                                        ",",
                                        "(",
                                        ")",
                                        "and",
                                        "or",
                                        "not",
                                        "!",
                                        "&&",
                                        "||",
                                        "=~",
                                        "t2.*",
                                        "a",
                                        "exists",
                                        "!exists",
                                        "task:group",
                                        "\t",
                                        "[a, b]",
                                        "\xff",
                                        "runningTasksCount",
                                        ">",
                                        "10",
                                        "not in",
                                        "(x|y)",
                                        "\\"};
    struct fx_cluster f;
    uint64_t s = 12345;
    unsigned parsed = 0;

    fx_init(&f, 1, 1, 1);
    for (int iter = 0; iter < 20000; iter++) {
        char buf[256] = "";
        size_t len = 0;
        int n = 1 + (int)((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 60);
        for (int k = 0; k < n; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *p = parts[(s >> 33) % (sizeof(parts) / sizeof(parts[0]))];
            if (len + strlen(p) + 2 >= sizeof(buf))
                break;
            len += (size_t)sprintf(buf + len, "%s%s", p, (s >> 20) & 1 ? " " : "");
        }
        struct cm_error *err = NULL;
        struct sched_query *q = sched_query_parse(buf, &err);
        if (q) {
            parsed++;
            (void)sched_query_eval(q, &f.c, 0, NULL);
            sched_query_free(q);
            continue;
        }
        cr_assert_not_null(err);
        unsigned col = 0;
        if (sscanf(err->msg, "column %u:", &col) == 1)
            cr_assert(col >= 1 && col <= len + 1, "'%s': %s", buf, err->msg);
        cm_error_free(&err);
    }
    cr_assert_gt(parsed, 0, "some random expressions are valid");
    fx_done(&f);
}
