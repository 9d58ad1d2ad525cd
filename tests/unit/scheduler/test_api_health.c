/* SPDX-License-Identifier: Apache-2.0 */
/* sched_task_health: ECS's task-level healthStatus derived from the essential containers'
 * health checks and the health each container reports. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../../scheduler/skiffd.h"

/* Returns the derived health of a task whose definition is TD_TEXT and containers CS_TEXT. */
static const char *
health(const char *td_text, const char *cs_text)
{
    json_error_t jerr;
    json_t *td = json_loads(td_text, 0, &jerr);
    cr_assert_not_null(td, "bad test JSON: %s", jerr.text);
    json_t *cs = json_loads(cs_text, 0, &jerr);
    cr_assert_not_null(cs, "bad test JSON: %s", jerr.text);
    const char *r = sched_task_health(td, cs);
    json_decref(td);
    json_decref(cs);
    return r;
}

#define HC "\"healthCheck\":{\"command\":[\"CMD\",\"true\"]}"
/* a: essential with a check; b: essential with a check; n: non-essential with a check;
 * p: essential without a check. */
static const char *const td_two =
    "{\"containerDefinitions\":[{\"name\":\"a\",\"essential\":true," HC "},"
    "{\"name\":\"b\",\"essential\":true," HC "},"
    "{\"name\":\"n\",\"essential\":false," HC "},"
    "{\"name\":\"p\",\"essential\":true}]}";

static const char *
two(const char *a, const char *b, const char *n)
{
    static char buf[512];
    snprintf(buf, sizeof(buf),
             "[{\"name\":\"a\",\"healthStatus\":\"%s\"},{\"name\":\"b\",\"healthStatus\":\"%s\"},"
             "{\"name\":\"n\",\"healthStatus\":\"%s\"},{\"name\":\"p\"}]",
             a, b, n);
    return buf;
}

Test(sched_health, every_combination_of_two_essential_checks)
{
    static const char *const st[] = {"HEALTHY", "UNHEALTHY", "UNKNOWN"};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++) {
                const char *want =
                    !strcmp(st[i], "UNHEALTHY") || !strcmp(st[j], "UNHEALTHY") ? "UNHEALTHY"
                    : !strcmp(st[i], "HEALTHY") && !strcmp(st[j], "HEALTHY")   ? "HEALTHY"
                                                                               : "UNKNOWN";
                const char *got = health(td_two, two(st[i], st[j], st[k]));
                cr_expect_str_eq(got, want, "a=%s b=%s n=%s: got %s, want %s", st[i], st[j], st[k],
                                 got, want);
            }
}

Test(sched_health, no_health_checks_is_unknown)
{
    const char *td = "{\"containerDefinitions\":[{\"name\":\"a\",\"essential\":true}]}";
    cr_expect_str_eq(health(td, "[{\"name\":\"a\"}]"), "UNKNOWN");
    cr_expect_str_eq(health(td, "[{\"name\":\"a\",\"healthStatus\":\"HEALTHY\"}]"), "UNKNOWN");
    cr_expect_str_eq(health(td, "[]"), "UNKNOWN");
}

Test(sched_health, only_non_essential_checks_do_not_count)
{
    const char *td = "{\"containerDefinitions\":[{\"name\":\"a\",\"essential\":true},"
                     "{\"name\":\"n\",\"essential\":false," HC "}]}";
    cr_expect_str_eq(health(td, "[{\"name\":\"n\",\"healthStatus\":\"UNHEALTHY\"}]"), "UNKNOWN");
    cr_expect_str_eq(health(td, "[{\"name\":\"n\",\"healthStatus\":\"HEALTHY\"}]"), "UNKNOWN");
}

Test(sched_health, not_yet_reported_is_unknown)
{
    const char *td = "{\"containerDefinitions\":[{\"name\":\"a\"," HC "}]}";
    cr_expect_str_eq(health(td, "[{\"name\":\"a\"}]"), "UNKNOWN");
    cr_expect_str_eq(health(td, "[]"), "UNKNOWN");
    /* essential defaults to true when the member is absent */
    cr_expect_str_eq(health(td, "[{\"name\":\"a\",\"healthStatus\":\"HEALTHY\"}]"), "HEALTHY");
    cr_expect_str_eq(health(td, "[{\"name\":\"a\",\"healthStatus\":\"UNHEALTHY\"}]"), "UNHEALTHY");
}

Test(sched_health, hostile_documents_do_not_crash)
{
    cr_expect_str_eq(sched_task_health(NULL, NULL), "UNKNOWN");
    cr_expect_str_eq(health("{\"containerDefinitions\":[{\"name\":\"a\"," HC "}]}",
                            "[{\"name\":\"a\",\"healthStatus\":7},{\"name\":3},5]"),
                     "UNKNOWN");
    cr_expect_str_eq(health("{\"containerDefinitions\":[{\"essential\":true," HC "}]}",
                            "[{\"name\":\"a\",\"healthStatus\":\"HEALTHY\"}]"),
                     "UNKNOWN");
}
