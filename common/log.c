/* SPDX-License-Identifier: Apache-2.0 */
/* Logger: one line per call, written with a single write(2) so that lines from
 * several processes sharing a log file do not interleave. */
#include "cm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum cm_log_format log_format = CM_LOG_TEXT;
static enum cm_log_level log_level = CM_LOG_INFO;
static const char *log_ident = "skiff";

void
cm_log_set_fd(int fd)
{
    log_fd = fd;
}

void
cm_log_set_format(enum cm_log_format f)
{
    log_format = f;
}

void
cm_log_set_level(enum cm_log_level l)
{
    log_level = l;
}

enum cm_log_level
cm_log_get_level(void)
{
    return log_level;
}

void
cm_log_set_ident(const char *ident)
{
    log_ident = ident;
}

int
cm_log_open(const char *path, struct cm_error **err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return cm_error_errno(err, "open log '%s'", path);
    log_fd = fd;
    return 0;
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};

/* Appends s to buf as a JSON string body (without quotes). */
static size_t
json_escape(char *buf, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else if (c < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    return n;
}

void
cm_log(enum cm_log_level level, const char *fmt, ...)
{
    char msg[2048];
    char line[4608];
    int saved = errno;
    va_list ap;
    size_t n;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (log_format == CM_LOG_JSON) {
        struct timespec ts;
        struct tm tm;
        char tbuf[64];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
        n = (size_t)snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"",
                             level_names[level]);
        n += json_escape(line + n, sizeof(line) - n - 64, msg);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"time\":\"%s.%09ldZ\"}\n", tbuf,
                              ts.tv_nsec);
    } else {
        n = (size_t)snprintf(line, sizeof(line), "%s: %s%s\n", log_ident,
                             level == CM_LOG_ERROR  ? ""
                             : level == CM_LOG_WARN ? "warning: "
                                                    : "",
                             msg);
    }
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    ssize_t r = write(log_fd, line, n);
    (void)r;
    errno = saved;
}
