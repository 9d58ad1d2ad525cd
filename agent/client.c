/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 client for skiffd's agent API: a small one over plain sockets,
 * not libcurl, because loading libcurl and OpenSSL alone costs the agent more
 * resident memory (~9 MiB) than its whole budget. One exchange per
 * connection ("Connection: close"); answers with Content-Length, chunked
 * transfer coding or up to EOF; bodies limited to AGENT_CLIENT_MAX_BODY. */
#include "agent/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"

#define MAX_HEADER (64u << 10)

enum xstate { X_CONNECTING, X_SENDING, X_RECEIVING, X_DONE };

/* One request/answer exchange. */
struct xfer {
    int fd;
    enum xstate st;
    char *req;
    size_t req_len, req_off;
    char *buf;
    size_t len, cap;
    int64_t deadline;
    int fail_code;  /* errno-like, 0 = none */
    char *fail_msg; /* transport failure */
};

struct agent_client {
    char *host, *port, *base, *hostport;
    bool https;
    char *token;
    struct xfer *poll;
};

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct agent_client *
agent_client_new(const char *endpoint, const char *token)
{
    struct agent_client *c = xcalloc(1, sizeof *c);
    const char *p = endpoint, *hs, *he, *slash;
    size_t n;

    if (strncmp(p, "https://", 8) == 0) {
        c->https = true;
        p += 8;
    } else if (strncmp(p, "http://", 7) == 0) {
        p += 7;
    }
    slash = strchr(p, '/');
    he = slash ? slash : p + strlen(p);
    hs = p;
    if (*hs == '[') { /* [v6]:port */
        const char *rb = memchr(hs, ']', (size_t)(he - hs));
        c->host = rb ? xstrndup(hs + 1, (size_t)(rb - hs - 1)) : xstrndup(hs, (size_t)(he - hs));
        c->port = rb && rb + 1 < he && rb[1] == ':' ? xstrndup(rb + 2, (size_t)(he - rb - 2))
                                                    : xstrdup(c->https ? "443" : "80");
    } else {
        const char *colon = memchr(hs, ':', (size_t)(he - hs));
        c->host = xstrndup(hs, (size_t)((colon ? colon : he) - hs));
        c->port = colon ? xstrndup(colon + 1, (size_t)(he - colon - 1))
                        : xstrdup(c->https ? "443" : "80");
    }
    c->hostport = xstrndup(hs, (size_t)(he - hs));
    n = slash ? strlen(slash) : 0;
    while (n > 0 && slash[n - 1] == '/')
        n--;
    c->base = slash ? xstrndup(slash, n) : xstrdup("");
    c->token = xstrdup(token);
    return c;
}

static struct xfer *
xfer_free(struct xfer *x)
{
    if (!x)
        return NULL;
    if (x->fd >= 0)
        close(x->fd);
    free(x->req);
    free(x->buf);
    free(x->fail_msg);
    free(x);
    return NULL;
}

struct agent_client *
agent_client_free(struct agent_client *c)
{
    if (!c)
        return NULL;
    xfer_free(c->poll);
    free(c->host);
    free(c->port);
    free(c->base);
    free(c->hostport);
    free(c->token);
    free(c);
    return NULL;
}

static void
xfer_fail(struct xfer *x, int code, const char *msg)
{
    if (x->st == X_DONE)
        return;
    x->fail_code = code;
    x->fail_msg = xasprintf("%s%s%s", msg, code ? ": " : "", code ? strerror(code) : "");
    x->st = X_DONE;
}

/* Starts connecting (non-blocking) and queues the request. */
static struct xfer *
xfer_start(struct agent_client *c, const char *path, json_t *body, long timeout_ms)
{
    struct xfer *x = xcalloc(1, sizeof *x);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    cleanup_free char *data = json_dumps(body, JSON_COMPACT);
    int r;

    x->fd = -1;
    x->deadline = mono_ms() + timeout_ms;
    x->req = xasprintf("POST %s/agent/v1/%s HTTP/1.1\r\nHost: %s\r\n"
                       "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                       c->base, path, c->hostport, c->token, strlen(data), data);
    x->req_len = strlen(x->req);
    if (c->https) {
        xfer_fail(x, 0,
                  "https endpoints are not supported by the agent (use http:// on a "
                  "trusted network)");
        return x;
    }
    r = getaddrinfo(c->host, c->port, &hints, &res);
    if (r != 0 || !res) {
        x->fail_msg = xasprintf("resolve '%s': %s", c->host, gai_strerror(r));
        x->fail_code = EHOSTUNREACH;
        x->st = X_DONE;
        return x;
    }
    /* Each address in turn while connecting fails at once ("localhost" as
     * ::1 with skiffd on 127.0.0.1 only); one still under way is kept. */
    r = -1;
    errno = EHOSTUNREACH;
    for (struct addrinfo *ai = res; ai && r < 0; ai = ai->ai_next) {
        if (x->fd >= 0)
            close(x->fd);
        x->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (x->fd < 0)
            continue;
        r = connect(x->fd, ai->ai_addr, ai->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS)
            break;
    }
    freeaddrinfo(res);
    if (r < 0 && errno != EINPROGRESS) {
        xfer_fail(x, errno, "connect");
        return x;
    }
    x->st = r == 0 ? X_SENDING : X_CONNECTING;
    return x;
}

static uint32_t
xfer_events(const struct xfer *x)
{
    return x->st == X_CONNECTING || x->st == X_SENDING ? EPOLLOUT
           : x->st == X_RECEIVING                      ? EPOLLIN
                                                       : 0;
}

/* Whether buf holds a complete chunked body starting at off. */
static bool
chunked_complete(const char *buf, size_t len, size_t off)
{
    while (off < len) {
        char *end;
        unsigned long long n = strtoull(buf + off, &end, 16);
        const char *nl = memmem(buf + off, len - off, "\r\n", 2);
        if (!nl || end == buf + off)
            return false;
        off = (size_t)(nl - buf) + 2;
        if (n == 0)
            return memmem(buf + off - 2, len - off + 2, "\r\n\r\n", 4) != NULL;
        if (n > len || off + n + 2 > len)
            return false;
        off += n + 2;
    }
    return false;
}

/* Where the header ends (past the blank line), 0 while incomplete. */
static size_t
header_end(const struct xfer *x)
{
    const char *e = x->len ? memmem(x->buf, x->len, "\r\n\r\n", 4) : NULL;
    return e ? (size_t)(e - x->buf) + 4 : 0;
}

/* Finds a header's value (case-insensitive name) in the header block. */
static const char *
header_value(const char *buf, size_t hend, const char *name, size_t *ret_len)
{
    size_t nl = strlen(name);
    const char *p = memmem(buf, hend, "\r\n", 2);

    while (p && (size_t)(p - buf) + 2 < hend) {
        const char *line = p + 2;
        const char *eol = memmem(line, hend - (size_t)(line - buf), "\r\n", 2);
        if (!eol)
            break;
        if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *ret_len = (size_t)(eol - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}

static bool
answer_complete(const struct xfer *x)
{
    size_t hend = header_end(x), vl;
    const char *v;

    if (!hend)
        return false;
    v = header_value(x->buf, hend, "Content-Length", &vl);
    if (v)
        return x->len - hend >= strtoull(v, NULL, 10);
    v = header_value(x->buf, hend, "Transfer-Encoding", &vl);
    if (v && vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0)
        return chunked_complete(x->buf, x->len, hend);
    return false; /* up to EOF */
}

/* Advances the exchange as far as it goes without blocking. */
static void
xfer_io(struct xfer *x)
{
    if (x->st == X_CONNECTING) {
        int e = 0;
        socklen_t el = sizeof e;
        if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
            e = errno;
        if (e == EINPROGRESS || e == EALREADY)
            return;
        if (e) {
            xfer_fail(x, e, "connect");
            return;
        }
        x->st = X_SENDING;
    }
    while (x->st == X_SENDING) {
        ssize_t n = send(x->fd, x->req + x->req_off, x->req_len - x->req_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            if (errno == ENOTCONN) /* connect still under way */
                return;
            xfer_fail(x, errno, "send");
            return;
        }
        x->req_off += (size_t)n;
        if (x->req_off == x->req_len)
            x->st = X_RECEIVING;
    }
    while (x->st == X_RECEIVING) {
        ssize_t n;
        if (x->len + 4096 + 1 > x->cap) {
            if (x->cap > AGENT_CLIENT_MAX_BODY + MAX_HEADER) {
                xfer_fail(x, EFBIG, "answer too big");
                return;
            }
            x->buf = xreallocarray_grow(x->buf, &x->cap, x->len + 4096 + 1, 1);
        }
        n = recv(x->fd, x->buf + x->len, x->cap - x->len - 1, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            xfer_fail(x, errno, "receive");
            return;
        }
        if (n == 0) {
            x->st = X_DONE;
            break;
        }
        x->len += (size_t)n;
        x->buf[x->len] = '\0';
        if (answer_complete(x))
            x->st = X_DONE;
    }
}

/* Decodes a chunked body in place; false when malformed. */
static bool
dechunk(char *body, size_t len, size_t *ret_len)
{
    size_t in = 0, out = 0;

    while (in < len) {
        char *end;
        unsigned long long n = strtoull(body + in, &end, 16);
        char *nl = memmem(body + in, len - in, "\r\n", 2);
        if (!nl || end == body + in)
            return false;
        in = (size_t)(nl - body) + 2;
        if (n == 0) {
            *ret_len = out;
            return true;
        }
        if (n > len - in)
            return false;
        memmove(body + out, body + in, n);
        out += n;
        in += n + 2;
    }
    return false;
}

/* Turns a finished exchange into a JSON answer or an error. */
static int
xfer_finish(struct xfer *x, const char *path, json_t **ret, long *ret_status, struct cm_error **err)
{
    size_t hend, vl, blen;
    long status = 0;
    const char *v;
    char *body;
    json_error_t jerr;
    json_t *j;

    if (ret_status)
        *ret_status = 0;
    if (x->fail_msg)
        return cm_error_set(err, x->fail_code == EFBIG ? EFBIG : EHOSTUNREACH, "skiffd %s: %s",
                            path, x->fail_msg);
    hend = header_end(x);
    if (!hend || sscanf(x->buf, "HTTP/1.%*d %ld", &status) != 1)
        return cm_error_set(err, EHOSTUNREACH, "skiffd %s: not an HTTP answer", path);
    if (ret_status)
        *ret_status = status;
    body = x->buf + hend;
    blen = x->len - hend;
    v = header_value(x->buf, hend, "Content-Length", &vl);
    if (v) {
        unsigned long long cl = strtoull(v, NULL, 10);
        if (cl > blen)
            return cm_error_set(err, EHOSTUNREACH, "skiffd %s: answer cut short", path);
        blen = (size_t)cl;
    } else if ((v = header_value(x->buf, hend, "Transfer-Encoding", &vl)) && vl >= 7 &&
               strncasecmp(v + vl - 7, "chunked", 7) == 0) {
        if (!dechunk(body, blen, &blen))
            return cm_error_set(err, EHOSTUNREACH, "skiffd %s: bad chunked answer", path);
    }
    if (blen > AGENT_CLIENT_MAX_BODY)
        return cm_error_set(err, EFBIG, "skiffd %s: answer over %u bytes", path,
                            AGENT_CLIENT_MAX_BODY);
    j = blen ? json_loadb(body, blen, 0, &jerr) : NULL;
    if (status < 200 || status > 299) {
        const char *code = json_string_value(json_object_get(j, "error"));
        const char *msg = json_string_value(json_object_get(j, "message"));
        int e2 = status == 404 ? ENOENT : (status == 401 || status == 403) ? EACCES : EIO;
        cm_error_set(err, e2, "skiffd %s: HTTP %ld %s%s%s", path, status, code ? code : "",
                     msg ? ": " : "", msg ? msg : "");
        json_decref(j);
        return -1;
    }
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return cm_error_set(err, EIO, "skiffd %s: answer is not a JSON object", path);
    }
    *ret = j;
    return 0;
}

int
agent_client_call(struct agent_client *c, const char *path, json_t *body, long timeout_ms,
                  json_t **ret, long *ret_status, struct cm_error **err)
{
    struct xfer *x = xfer_start(c, path, body, timeout_ms);
    int r;

    while (x->st != X_DONE) {
        int64_t left = x->deadline - mono_ms();
        struct pollfd pfd = {.fd = x->fd, .events = x->st == X_RECEIVING ? POLLIN : POLLOUT};
        if (left <= 0) {
            xfer_fail(x, ETIMEDOUT, "no answer in time");
            break;
        }
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
            xfer_fail(x, errno, "poll");
            break;
        }
        xfer_io(x);
    }
    r = xfer_finish(x, path, ret, ret_status, err);
    xfer_free(x);
    return r;
}

int
agent_client_poll_start(struct agent_client *c, json_t *body, long timeout_ms,
                        struct cm_error **err)
{
    if (c->poll)
        return cm_error_set(err, EBUSY, "a poll is already running");
    c->poll = xfer_start(c, "poll", body, timeout_ms);
    return 0;
}

bool
agent_client_poll_active(const struct agent_client *c)
{
    return c->poll != NULL;
}

int
agent_client_poll_fd(const struct agent_client *c, uint32_t *ret_events)
{
    if (!c->poll || c->poll->st == X_DONE || c->poll->fd < 0)
        return -1;
    *ret_events = xfer_events(c->poll);
    return c->poll->fd;
}

void
agent_client_poll_io(struct agent_client *c)
{
    if (c->poll)
        xfer_io(c->poll);
}

bool
agent_client_poll_done(const struct agent_client *c)
{
    return c->poll && (c->poll->st == X_DONE || mono_ms() >= c->poll->deadline);
}

int
agent_client_poll_result(struct agent_client *c, json_t **ret, long *ret_status,
                         struct cm_error **err)
{
    int r;

    if (!c->poll)
        return 0;
    if (c->poll->st != X_DONE && mono_ms() >= c->poll->deadline)
        xfer_fail(c->poll, ETIMEDOUT, "no answer in time");
    if (c->poll->st != X_DONE)
        return 0;
    r = xfer_finish(c->poll, "poll", ret, ret_status, err);
    c->poll = xfer_free(c->poll);
    return r < 0 ? -1 : 1;
}
