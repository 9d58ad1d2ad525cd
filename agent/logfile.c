/* SPDX-License-Identifier: Apache-2.0 */
/* Container logs: JSON-lines records with size-based rotation, and reading them back. */
#include "agent/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"

struct line_buf {
    char *data;
    size_t len;
    size_t cap;
};

struct agent_logfile {
    char *path;
    int fd;
    uint64_t size;
    uint64_t max_size;
    unsigned max_files;
    struct line_buf pending[2];
};

static const char *const stream_names[] = {"stdout", "stderr"};

void
agent_log_format_time(const struct timespec *ts, char *buf, size_t size)
{
    struct tm tm;
    char date[24];

    gmtime_r(&ts->tv_sec, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%09ldZ", date, (long)ts->tv_nsec);
}

int
agent_log_parse_time(const char *s, struct timespec *ret)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    long nsec = 0;

    if (!p)
        return -1;
    if (*p == '.') {
        long scale = 100000000;
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            nsec += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (strcmp(p, "Z") != 0)
        return -1;
    ret->tv_sec = timegm(&tm);
    ret->tv_nsec = nsec;
    return 0;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Appends data as the inside of a JSON string; invalid UTF-8 becomes U+FFFD
 * (as docker does) so that every record stays valid JSON. */
static void
json_escape(struct line_buf *out, const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t i = 0;

    while (i < len) {
        char tmp[8];
        const char *piece = tmp;
        size_t plen;
        size_t adv = 1;

        if (s[i] == '"') {
            piece = "\\\"";
            plen = 2;
        } else if (s[i] == '\\') {
            piece = "\\\\";
            plen = 2;
        } else if (s[i] == '\n') {
            piece = "\\n";
            plen = 2;
        } else if (s[i] == '\r') {
            piece = "\\r";
            plen = 2;
        } else if (s[i] == '\t') {
            piece = "\\t";
            plen = 2;
        } else if (s[i] < 0x20 || s[i] == 0x7f) {
            plen = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", s[i]);
        } else if (s[i] < 0x80) {
            piece = (const char *)&s[i];
            plen = 1;
        } else {
            adv = utf8_seq_len(&s[i], len - i);
            if (adv == 0) {
                adv = 1;
                piece = "\\ufffd";
                plen = 6;
            } else {
                piece = (const char *)&s[i];
                plen = adv;
            }
        }
        out->data = xreallocarray_grow(out->data, &out->cap, out->len + plen + 1, 1);
        memcpy(out->data + out->len, piece, plen);
        out->len += plen;
        i += adv;
    }
}

static void
buf_append(struct line_buf *b, const char *s, size_t n)
{
    b->data = xreallocarray_grow(b->data, &b->cap, b->len + n + 1, 1);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

struct agent_logfile *
agent_logfile_open(const char *path, uint64_t max_size, unsigned max_files, struct cm_error **err)
{
    struct agent_logfile *l;
    struct stat st;
    int fd;

    if (max_files > AGENT_LOG_MAX_FILES_LIMIT) {
        cm_error_set(err, 0, "log max files %u over the limit %u", max_files,
                     AGENT_LOG_MAX_FILES_LIMIT);
        return NULL;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        cm_error_errno(err, "open log '%s'", path);
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        cm_error_errno(err, "stat log '%s'", path);
        close(fd);
        return NULL;
    }
    l = xcalloc(1, sizeof *l);
    l->path = xstrdup(path);
    l->fd = fd;
    l->size = (uint64_t)st.st_size;
    l->max_size = max_size;
    l->max_files = max_files;
    return l;
}

static int
rotate(struct agent_logfile *l, struct cm_error **err)
{
    int fd;

    if (l->max_files == 0) {
        if (ftruncate(l->fd, 0) < 0)
            return cm_error_errno(err, "truncate log '%s'", l->path);
        l->size = 0;
        return 0;
    }
    /* Shift PATH.(n-1) -> PATH.n ... PATH -> PATH.1; the oldest falls off. */
    for (unsigned i = l->max_files; i >= 1; i--) {
        cleanup_free char *to = xasprintf("%s.%u", l->path, i);
        cleanup_free char *from = i == 1 ? xstrdup(l->path) : xasprintf("%s.%u", l->path, i - 1);
        if (rename(from, to) < 0 && errno != ENOENT)
            return cm_error_errno(err, "rotate log '%s'", from);
    }
    fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return cm_error_errno(err, "open log '%s'", l->path);
    close(l->fd);
    l->fd = fd;
    l->size = 0;
    return 0;
}

int
agent_logfile_write_record(struct agent_logfile *l, enum agent_log_stream s, const char *data,
                           size_t len, const struct timespec *ts, struct cm_error **err)
{
    struct line_buf rec = {0};
    char tbuf[48];
    size_t off = 0;

    buf_append(&rec, "{\"log\":\"", 8);
    json_escape(&rec, data, len);
    agent_log_format_time(ts, tbuf, sizeof tbuf);
    buf_append(&rec, "\",\"stream\":\"", 12);
    buf_append(&rec, stream_names[s], strlen(stream_names[s]));
    buf_append(&rec, "\",\"time\":\"", 10);
    buf_append(&rec, tbuf, strlen(tbuf));
    buf_append(&rec, "\"}\n", 3);

    if (l->max_size > 0 && l->size > 0 && l->size + rec.len > l->max_size) {
        if (rotate(l, err) < 0) {
            free(rec.data);
            return -1;
        }
    }
    while (off < rec.len) {
        ssize_t n = write(l->fd, rec.data + off, rec.len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            free(rec.data);
            return cm_error_errno(err, "write log '%s'", l->path);
        }
        off += (size_t)n;
    }
    l->size += rec.len;
    free(rec.data);
    return 0;
}

static int
write_now(struct agent_logfile *l, enum agent_log_stream s, const char *data, size_t len,
          struct cm_error **err)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return agent_logfile_write_record(l, s, data, len, &ts, err);
}

int
agent_logfile_feed(struct agent_logfile *l, enum agent_log_stream s, const char *data, size_t len,
                   struct cm_error **err)
{
    struct line_buf *p = &l->pending[s];

    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) + 1 : len;
        size_t room = AGENT_LOG_MAX_LINE - p->len;

        if (take > room)
            take = room;
        buf_append(p, data, take);
        data += take;
        len -= take;
        if (p->data[p->len - 1] == '\n' || p->len >= AGENT_LOG_MAX_LINE) {
            int r = write_now(l, s, p->data, p->len, err);
            p->len = 0;
            if (r < 0)
                return -1;
        }
    }
    return 0;
}

int
agent_logfile_flush(struct agent_logfile *l, enum agent_log_stream s, struct cm_error **err)
{
    struct line_buf *p = &l->pending[s];
    int r;

    if (p->len == 0)
        return 0;
    r = write_now(l, s, p->data, p->len, err);
    p->len = 0;
    return r;
}

struct agent_logfile *
agent_logfile_close(struct agent_logfile *l)
{
    if (!l)
        return NULL;
    for (int s = 0; s < 2; s++) {
        cleanup_error struct cm_error *e = NULL;
        agent_logfile_flush(l, (enum agent_log_stream)s, &e);
        free(l->pending[s].data);
    }
    if (l->fd >= 0)
        close(l->fd);
    free(l->path);
    free(l);
    return NULL;
}

void
agent_log_records_free(struct agent_log_record *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].log);
    free(r);
}

static int
parse_record(const char *line, size_t len, struct agent_log_record *ret)
{
    json_auto_t *j = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    json_t *log, *stream, *time;

    if (!j || !json_is_object(j))
        return -1;
    log = json_object_get(j, "log");
    stream = json_object_get(j, "stream");
    time = json_object_get(j, "time");
    if (!json_is_string(log) || !json_is_string(stream) || !json_is_string(time))
        return -1;
    if (strcmp(json_string_value(stream), "stdout") == 0)
        ret->stream = AGENT_LOG_STDOUT;
    else if (strcmp(json_string_value(stream), "stderr") == 0)
        ret->stream = AGENT_LOG_STDERR;
    else
        return -1;
    if (agent_log_parse_time(json_string_value(time), &ret->time) < 0)
        return -1;
    ret->log = xstrndup(json_string_value(log), json_string_length(log));
    return 0;
}

static bool
before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int
agent_log_read(const char *path, unsigned max_files, const struct timespec *since, size_t max,
               struct agent_log_record **ret, size_t *ret_n, struct cm_error **err)
{
    struct agent_log_record *recs = NULL;
    size_t n = 0, cap = 0;

    if (max_files > AGENT_LOG_MAX_FILES_LIMIT)
        return cm_error_set(err, 0, "log max files %u over the limit %u", max_files,
                            AGENT_LOG_MAX_FILES_LIMIT);
    /* Oldest first: PATH.max_files ... PATH.1, PATH. */
    for (unsigned i = max_files + 1; i-- > 0;) {
        cleanup_free char *name = i == 0 ? xstrdup(path) : xasprintf("%s.%u", path, i);
        cleanup_fclose FILE *f = fopen(name, "re");
        cleanup_free char *line = NULL;
        size_t lcap = 0;
        ssize_t len;

        if (!f) {
            if (errno == ENOENT)
                continue;
            agent_log_records_free(recs, n);
            return cm_error_errno(err, "open log '%s'", name);
        }
        while ((len = getline(&line, &lcap, f)) > 0) {
            struct agent_log_record r = {0};
            if (parse_record(line, (size_t)len, &r) < 0)
                continue; /* a torn last line after a crash, or damage */
            if (since && before(&r.time, since)) {
                free(r.log);
                continue;
            }
            if (max > 0 && n == max) {
                /* Keep the newest max records. */
                free(recs[0].log);
                memmove(recs, recs + 1, (n - 1) * sizeof *recs);
                n--;
            }
            recs = xreallocarray_grow(recs, &cap, n + 1, sizeof *recs);
            recs[n++] = r;
        }
    }
    *ret = recs;
    *ret_n = n;
    return 0;
}
