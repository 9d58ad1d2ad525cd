/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the agent's log endpoint: the query over a task's log files
 * (merge by time, cursor paging, since, tail, limits, stopped) and its cursors,
 * addresses and secret; and the endpoint over HTTP (auth, errors, a read). */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/logfile.h"
#include "agent/logserve.h"
#include "agent/shim.h"
#include "../tmpdir_suite.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

TMPDIR_SUITE(agent_logserve, dir, "/tmp/agent-logserve-XXXXXX");

/* Writes records at times base+t[i] seconds into task T's container C. */
static void
write_log(const char *task, const char *ctr, const long *secs, size_t n, const char *prefix)
{
    cleanup_free char *cdir = xasprintf("%s/tasks/%s/c/%s", dir, task, ctr);
    cleanup_free char *path = xasprintf("%s/%s", cdir, AGENT_SHIM_LOG_NAME);
    struct agent_logfile *l;

    cr_assert_eq(cm_mkdir_p(cdir, 0700, NULL), 0);
    l = agent_logfile_open(path, 0, 0, NULL);
    cr_assert_not_null(l);
    for (size_t i = 0; i < n; i++) {
        struct timespec ts = {.tv_sec = 1700000000 + secs[i], .tv_nsec = 0};
        cleanup_free char *line = xasprintf("%s%zu\n", prefix, i);
        cr_assert_eq(agent_logfile_write_record(l, i % 2 ? AGENT_LOG_STDERR : AGENT_LOG_STDOUT,
                                                line, strlen(line), &ts, NULL),
                     0);
    }
    agent_logfile_close(l);
}

static json_t *
run(const struct agent_logs_query *q)
{
    json_t *res = NULL;
    cleanup_error struct cm_error *err = NULL;
    int r = agent_logs_query_run(dir, 3, q, &res, &err);
    cr_assert_eq(r, 0, "%s", err ? err->msg : "");
    return res;
}

static const char *
ev_log(json_t *res, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(res, "events"), i), "log"));
}

Test(agent_logserve, merges_containers_by_time_and_pages_with_the_cursor)
{
    long a[] = {1, 3, 3, 5}, b[] = {2, 3, 4};
    write_log("t1", "a", a, 4, "a");
    write_log("t1", "b", b, 3, "b");
    struct agent_logs_query q = {.task_id = "t1"};
    json_auto_t *all = run(&q);
    json_t *ev = json_object_get(all, "events");
    cr_assert_eq(json_array_size(ev), 7);
    const char *want[] = {"a0\n", "b0\n", "a1\n", "a2\n", "b1\n", "b2\n", "a3\n"};
    for (size_t i = 0; i < 7; i++)
        cr_assert_str_eq(ev_log(all, i), want[i]);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 1), "container")), "b");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 1), "stream")), "stdout");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ev, 2), "stream")), "stderr");
    cr_assert(json_is_false(json_object_get(all, "stopped")));

    /* Pages of 3 cut inside the three records at second 3: nothing lost, nothing twice. */
    q.limit = 3;
    size_t got = 0;
    for (int page = 0; page < 5; page++) {
        json_auto_t *res = run(&q);
        size_t n = json_array_size(json_object_get(res, "events"));
        for (size_t i = 0; i < n; i++, got++)
            cr_assert_str_eq(ev_log(res, i), want[got]);
        cr_assert_eq(agent_logs_token_parse(json_string_value(json_object_get(res, "nextToken")),
                                            &q.after, &q.skip),
                     0);
        q.has_after = true;
        if (n == 0)
            break;
    }
    cr_assert_eq(got, 7);
}

Test(agent_logserve, container_since_tail_and_stopped)
{
    long a[] = {1, 2, 3, 4};
    write_log("t2", "web", a, 4, "w");
    struct agent_logs_query q = {.task_id = "t2", .container = "web", .has_after = true};
    q.after.tv_sec = 1700000000 + 3;
    json_auto_t *since = run(&q);
    cr_assert_eq(json_array_size(json_object_get(since, "events")), 2);
    cr_assert_str_eq(ev_log(since, 0), "w2\n");

    struct agent_logs_query t = {.task_id = "t2", .tail = 1};
    json_auto_t *tail = run(&t);
    cr_assert_eq(json_array_size(json_object_get(tail, "events")), 1);
    cr_assert_str_eq(ev_log(tail, 0), "w3\n");

    cleanup_free char *ex = xasprintf("%s/tasks/t2/c/web/exit.json", dir);
    FILE *f = fopen(ex, "we");
    cr_assert_not_null(f);
    fclose(f);
    json_auto_t *done = run(&t);
    cr_assert(json_is_true(json_object_get(done, "stopped")));
    /* Not all returned yet: not "stopped". */
    struct agent_logs_query one = {.task_id = "t2", .limit = 1};
    json_auto_t *part = run(&one);
    cr_assert(json_is_false(json_object_get(part, "stopped")));
}

Test(agent_logserve, byte_limit_and_missing)
{
    long a[] = {1, 2, 3};
    write_log("t3", "c", a, 3, "x");
    struct agent_logs_query q = {.task_id = "t3", .max_bytes = 4};
    json_auto_t *res = run(&q);
    cr_assert_eq(json_array_size(json_object_get(res, "events")), 1);
    cr_assert(json_is_true(json_object_get(res, "more")));
    struct agent_logs_query q2 = {.task_id = "t3"};
    json_auto_t *res2 = run(&q2);
    cr_assert_eq(json_array_size(json_object_get(res2, "events")), 3);
    cr_assert(json_is_false(json_object_get(res2, "more")));

    json_t *r2 = NULL;
    cleanup_error struct cm_error *err = NULL;
    struct agent_logs_query none = {.task_id = "nope"};
    cr_assert_eq(agent_logs_query_run(dir, 3, &none, &r2, &err), -1);
    cr_assert_eq(err->code, ENOENT);
    cm_error_free(&err);
    struct agent_logs_query badc = {.task_id = "t3", .container = "d"};
    cr_assert_eq(agent_logs_query_run(dir, 3, &badc, &r2, &err), -1);
    cr_assert_eq(err->code, ENOENT);
    cm_error_free(&err);
    struct agent_logs_query evil = {.task_id = "../t3"};
    cr_assert_eq(agent_logs_query_run(dir, 3, &evil, &r2, &err), -1);
    cr_assert_eq(err->code, 0);
}

Test(agent_logserve, tokens_addresses_secret)
{
    struct timespec t;
    unsigned skip;
    cleanup_free char *s = NULL;
    struct timespec in = {.tv_sec = 1795780000, .tv_nsec = 5};

    s = agent_logs_token_format(&in, 7);
    cr_assert_eq(agent_logs_token_parse(s, &t, &skip), 0);
    cr_assert_eq(t.tv_sec, in.tv_sec);
    cr_assert_eq(t.tv_nsec, 5);
    cr_assert_eq(skip, 7);
    const char *bad[] = {"", "x", "1.2", "1.2:3x", "-1.2:3", "1.1000000000:0", "1.2:99999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(agent_logs_token_parse(bad[i], &t, &skip), -1, "%s", bad[i]);

    cr_assert_eq(agent_logserve_check_address("x", "127.0.0.1:0", true, NULL), 0);
    cr_assert_eq(agent_logserve_check_address("x", "127.0.0.1:0", false, NULL), -1);
    cr_assert_eq(agent_logserve_check_address("x", "localhost:80", true, NULL), -1);
    cr_assert_eq(agent_logserve_check_address("x", "1.2.3.4:65536", true, NULL), -1);

    cleanup_free char *s1 = NULL, *s2 = NULL;
    cr_assert_eq(agent_logserve_secret(dir, &s1, NULL), 0);
    cr_assert_eq(agent_logserve_secret(dir, &s2, NULL), 0);
    cr_assert_str_eq(s1, s2);
    cr_assert_eq(strlen(s1), 48);
}

static long
post(const char *addr, const char *auth, const char *body, char **ret)
{
    CURL *c = curl_easy_init();
    cleanup_free char *url = xasprintf("http://%s%s", addr, AGENT_LOGS_PATH);
    cleanup_free char *h = auth ? xasprintf("Authorization: Bearer %s", auth) : NULL;
    struct curl_slist *hdrs = h ? curl_slist_append(NULL, h) : NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    long status = 0;

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    fclose(f);
    *ret = buf;
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return status;
}

Test(agent_logserve, endpoint_over_http)
{
    long a[] = {1, 2};
    write_log("t4", "c", a, 2, "h");
    cleanup_error struct cm_error *err = NULL;
    struct agent_logserve *ls = agent_logserve_start("127.0.0.1:0", dir, 3, "s3cr3t", &err);
    cr_assert_not_null(ls, "%s", err ? err->msg : "");
    const char *addr = agent_logserve_address(ls);
    cleanup_free char *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL, *b5 = NULL;

    cr_assert_eq(post(addr, NULL, "{\"taskId\":\"t4\"}", &b1), 401);
    cr_assert_eq(post(addr, "wrong!", "{\"taskId\":\"t4\"}", &b2), 401);
    cr_assert_eq(post(addr, "s3cr3t", "{\"taskId\":\"t4\",\"bogus\":1}", &b3), 400);
    cr_assert(strstr(b3, "'bogus'"), "%s", b3);
    cr_assert_eq(post(addr, "s3cr3t", "{\"taskId\":\"t9\"}", &b4), 404);
    cr_assert_eq(
        post(addr, "s3cr3t", "{\"taskId\":\"t4\",\"container\":\"c\",\"waitMs\":100}", &b5), 200);
    json_auto_t *j = json_loads(b5, 0, NULL);
    cr_assert_eq(json_array_size(json_object_get(j, "events")), 2);
    /* A follow with nothing new comes back empty after its wait. */
    cleanup_free char *req = xasprintf("{\"taskId\":\"t4\",\"nextToken\":\"%s\",\"waitMs\":300}",
                                       json_string_value(json_object_get(j, "nextToken")));
    cleanup_free char *b6 = NULL;
    cr_assert_eq(post(addr, "s3cr3t", req, &b6), 200);
    json_auto_t *j6 = json_loads(b6, 0, NULL);
    cr_assert_eq(json_array_size(json_object_get(j6, "events")), 0);
    agent_logserve_stop(ls);
}
