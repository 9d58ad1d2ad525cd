/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for container log files: JSON-lines records, line splitting, rotation, reading. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/logfile.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

static char dir[] = "/tmp/agent-log-XXXXXX";
static char *logpath;

static void
setup(void)
{
    strcpy(dir, "/tmp/agent-log-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    logpath = xasprintf("%s/c.log", dir);
}

static void
teardown(void)
{
    cm_rm_rf(dir, NULL);
    free(logpath);
}

static char *
slurp(const char *path)
{
    char *buf = NULL;
    size_t len;
    cr_assert_eq(cm_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, NULL), 0);
    return buf;
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

TestSuite(agent_logfile, .init = setup, .fini = teardown);

Test(agent_logfile, record_format)
{
    struct agent_logfile *l = agent_logfile_open(logpath, 0, 1, NULL);
    struct timespec ts = {.tv_sec = 1795777203, .tv_nsec = 5};
    cleanup_free char *got = NULL;

    cr_assert_not_null(l);
    cr_assert_eq(agent_logfile_write_record(l, AGENT_LOG_STDERR, "a\"b\\\x01\n", 6, &ts, NULL), 0);
    agent_logfile_close(l);
    got = slurp(logpath);
    cr_assert_str_eq(got, "{\"log\":\"a\\\"b\\\\\\u0001\\n\",\"stream\":\"stderr\","
                          "\"time\":\"2026-11-27T11:00:03.000000005Z\"}\n");
}

Test(agent_logfile, invalid_utf8_replaced_valid_kept)
{
    struct agent_logfile *l = agent_logfile_open(logpath, 0, 1, NULL);
    struct timespec ts = {0};
    cleanup_free char *got = NULL;
    json_auto_t *j = NULL;

    cr_assert_eq(
        agent_logfile_write_record(l, AGENT_LOG_STDOUT, "\xc3\xa9\xff\xc0\x80", 5, &ts, NULL), 0);
    agent_logfile_close(l);
    got = slurp(logpath);
    j = json_loads(got, 0, NULL);
    cr_assert_not_null(j, "record is not valid JSON: %s", got);
    cr_assert_str_eq(json_string_value(json_object_get(j, "log")),
                     "\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

Test(agent_logfile, feed_splits_lines_and_keeps_partial)
{
    struct agent_logfile *l = agent_logfile_open(logpath, 0, 1, NULL);
    struct agent_log_record *r = NULL;
    size_t n = 0;

    cr_assert_eq(agent_logfile_feed(l, AGENT_LOG_STDOUT, "one\ntw", 6, NULL), 0);
    cr_assert_eq(agent_logfile_feed(l, AGENT_LOG_STDERR, "err", 3, NULL), 0);
    cr_assert_eq(agent_logfile_feed(l, AGENT_LOG_STDOUT, "o\nthree", 7, NULL), 0);
    agent_logfile_close(l); /* flushes "three" and "err" */
    cr_assert_eq(agent_log_read(logpath, 1, NULL, 0, &r, &n, NULL), 0);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(r[0].log, "one\n");
    cr_assert_str_eq(r[1].log, "two\n");
    cr_assert_eq(r[1].stream, AGENT_LOG_STDOUT);
    cr_assert_str_eq(r[2].log, "three");
    cr_assert_str_eq(r[3].log, "err");
    cr_assert_eq(r[3].stream, AGENT_LOG_STDERR);
    agent_log_records_free(r, n);
}

Test(agent_logfile, long_line_cut_at_limit)
{
    struct agent_logfile *l = agent_logfile_open(logpath, 0, 1, NULL);
    size_t big = AGENT_LOG_MAX_LINE * 2 + 10;
    cleanup_free char *data = xmalloc(big);
    struct agent_log_record *r = NULL;
    size_t n = 0;

    memset(data, 'x', big);
    data[big - 1] = '\n';
    cr_assert_eq(agent_logfile_feed(l, AGENT_LOG_STDOUT, data, big, NULL), 0);
    agent_logfile_close(l);
    cr_assert_eq(agent_log_read(logpath, 1, NULL, 0, &r, &n, NULL), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(strlen(r[0].log), AGENT_LOG_MAX_LINE);
    cr_assert_eq(strlen(r[2].log), 10);
    agent_log_records_free(r, n);
}

Test(agent_logfile, rotation_keeps_max_files_and_size)
{
    struct agent_logfile *l = agent_logfile_open(logpath, 300, 2, NULL);
    struct agent_log_record *r = NULL;
    size_t n = 0;
    struct stat st;
    char line[32];

    for (int i = 0; i < 40; i++) {
        int len = snprintf(line, sizeof line, "line %02d\n", i);
        cr_assert_eq(agent_logfile_feed(l, AGENT_LOG_STDOUT, line, (size_t)len, NULL), 0);
    }
    agent_logfile_close(l);
    for (int i = 0; i <= 2; i++) {
        cleanup_free char *p = i ? xasprintf("%s.%d", logpath, i) : xstrdup(logpath);
        cr_assert_eq(stat(p, &st), 0, "%s missing", p);
        cr_assert_leq(st.st_size, 300);
    }
    {
        cleanup_free char *p3 = xasprintf("%s.3", logpath);
        cr_assert_neq(stat(p3, &st), 0, "more rotated files than max_files");
    }
    cr_assert_eq(agent_log_read(logpath, 2, NULL, 0, &r, &n, NULL), 0);
    cr_assert_gt(n, 3);
    cr_assert_lt(n, 40, "old records should have been dropped");
    /* Oldest first and contiguous, ending with the last line written. */
    cr_assert_str_eq(r[n - 1].log, "line 39\n");
    for (size_t i = 1; i < n; i++) {
        int a = atoi(r[i - 1].log + 5), b = atoi(r[i].log + 5);
        cr_assert_eq(b, a + 1);
    }
    agent_log_records_free(r, n);
}

Test(agent_logfile, zero_max_files_truncates)
{
    struct agent_logfile *l = agent_logfile_open(logpath, 200, 0, NULL);
    cleanup_free char *got = NULL;

    for (int i = 0; i < 10; i++)
        cr_assert_eq(agent_logfile_feed(l, AGENT_LOG_STDOUT, "0123456789\n", 11, NULL), 0);
    agent_logfile_close(l);
    got = slurp(logpath);
    cr_assert_leq(strlen(got), 200);
    cr_assert_geq(count_lines(got), 1);
}

Test(agent_logfile, reopen_appends_and_counts_existing_size)
{
    struct agent_logfile *l = agent_logfile_open(logpath, 250, 1, NULL);
    struct stat st;

    cr_assert_eq(agent_logfile_feed(l, AGENT_LOG_STDOUT, "first\n", 6, NULL), 0);
    agent_logfile_close(l);
    l = agent_logfile_open(logpath, 250, 1, NULL);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(agent_logfile_feed(l, AGENT_LOG_STDOUT, "more\n", 5, NULL), 0);
    agent_logfile_close(l);
    cr_assert_eq(stat(logpath, &st), 0);
    cr_assert_leq(st.st_size, 250);
}

Test(agent_logfile, read_since_limit_and_damage)
{
    struct agent_logfile *l = agent_logfile_open(logpath, 0, 1, NULL);
    struct agent_log_record *r = NULL;
    size_t n = 0;
    struct timespec since = {.tv_sec = 100};
    FILE *f;

    for (long i = 0; i < 5; i++) {
        struct timespec ts = {.tv_sec = 98 + i};
        cr_assert_eq(agent_logfile_write_record(l, AGENT_LOG_STDOUT, "x", 1, &ts, NULL), 0);
    }
    agent_logfile_close(l);
    f = fopen(logpath, "a");
    fputs("{\"log\":\"torn", f); /* a crash mid-record */
    fclose(f);
    cr_assert_eq(agent_log_read(logpath, 1, &since, 0, &r, &n, NULL), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(r[0].time.tv_sec, 100);
    agent_log_records_free(r, n);
    cr_assert_eq(agent_log_read(logpath, 1, NULL, 2, &r, &n, NULL), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(r[0].time.tv_sec, 101);
    cr_assert_eq(r[1].time.tv_sec, 102);
    agent_log_records_free(r, n);
}

Test(agent_logfile, time_roundtrip_and_rejects)
{
    struct timespec ts = {.tv_sec = 1795777203, .tv_nsec = 123456789}, back;
    char buf[48];

    agent_log_format_time(&ts, buf, sizeof buf);
    cr_assert_eq(agent_log_parse_time(buf, &back), 0);
    cr_assert_eq(back.tv_sec, ts.tv_sec);
    cr_assert_eq(back.tv_nsec, ts.tv_nsec);
    cr_assert_eq(agent_log_parse_time("2026-11-27T11:00:03.5Z", &back), 0);
    cr_assert_eq(back.tv_nsec, 500000000);
    cr_assert_eq(agent_log_parse_time("2026-11-27T11:00:03+01:00", &back), -1);
    cr_assert_eq(agent_log_parse_time("junk", &back), -1);
}

Test(agent_logfile, too_many_files_rejected)
{
    struct cm_error *err = NULL;
    cr_assert_null(agent_logfile_open(logpath, 0, AGENT_LOG_MAX_FILES_LIMIT + 1, &err));
    cr_assert_not_null(err);
    cm_error_free(&err);
}
