/* SPDX-License-Identifier: Apache-2.0 */
/* SkiffGetTaskLogs: skiffd keeps no logs; the agent of the task's host does
 * (JSON-lines files next to each container). This operation finds the task's
 * container instance and relays the read to the log endpoint that agent
 * registered (agent/logserve.c, docs/agent-protocol.md "Logs"), over a
 * non-blocking connection driven by skiffd's loop, so that a follow (a long
 * poll of at most SCHED_LOGS_MAX_WAIT_MS) never holds up the other requests. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/http.h"
#include "cm/log.h"
#include "cm/loop.h"
#include "cm/xalloc.h"
#include "skiffd.h"

#define SCHED_LOGS_PATH "/logs/v1/read"
#define SCHED_LOGS_MAX_WAIT_MS 20000
#define SCHED_LOGS_MAX_LIMIT 10000
#define SCHED_LOGS_MAX_ANSWER (8u << 20) /* the agent sends at most 1 MiB of text */
#define SCHED_LOGS_GRACE_MS 10000        /* on top of the wait, for the agent to answer */
#define JSON_CT "application/x-amz-json-1.1"

/* "A.B.C.D:PORT" with a routable address and a port; fills sa when given. */
static bool
endpoint_ok(const char *s, struct sockaddr_in *sa)
{
    char host[INET_ADDRSTRLEN];
    const char *colon = s ? strrchr(s, ':') : NULL;
    struct sockaddr_in tmp = {.sin_family = AF_INET};
    char *end;
    unsigned long port;

    if (!colon || (size_t)(colon - s) >= sizeof host)
        return false;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (inet_pton(AF_INET, host, &tmp.sin_addr) != 1 || tmp.sin_addr.s_addr == INADDR_ANY ||
        errno || *end || end == colon + 1 || port == 0 || port > 65535)
        return false;
    tmp.sin_port = htons((uint16_t)port);
    if (sa)
        *sa = tmp;
    return true;
}

void
sched_logs_register(struct sched_daemon *d, json_t *inst, json_t *ep)
{
    const char *id = json_string_value(json_object_get(inst, "_id"));
    const char *addr = json_string_value(json_object_get(ep, "address"));
    const char *secret = json_string_value(json_object_get(ep, "secret"));
    size_t slen = secret ? strlen(secret) : 0;

    if (!id)
        return;
    if (endpoint_ok(addr, NULL) && slen >= 32 && slen <= 128 &&
        strspn(secret, "0123456789abcdef") == slen) {
        json_object_set_new(inst, "_logEndpoint", json_string(addr));
        json_object_set_new(inst, "_logSecret", json_string(secret));
    } else {
        if (ep)
            cm_log_warn("container instance '%s': unusable log endpoint in its registration, "
                        "ignoring",
                        id);
        json_object_del(inst, "_logEndpoint");
        json_object_del(inst, "_logSecret");
    }
    sched_touch(d, SCHED_K_INSTANCE, id);
}

/* ---- the relay ---- */

struct relay {
    struct sched_daemon *d;
    struct cm_http_request *req;
    int fd;
    struct cm_loop_source *src, *timer;
    char *out; /* the request to the agent */
    size_t out_len, out_off;
    char *in; /* its answer */
    size_t in_len, in_cap;
    char *where; /* "instance ID at ADDR", for messages */
    bool done;
};

static void
relay_close(struct relay *r)
{
    cm_loop_remove(r->src);
    cm_loop_remove(r->timer);
    r->src = r->timer = NULL;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

static void
relay_free(void *p)
{
    struct relay *r = p;
    relay_close(r);
    free(r->out);
    free(r->in);
    free(r->where);
    free(r);
}

static void relay_fail(struct relay *r, const char *fmt, ...) CM_PRINTF(2, 3);

static void
relay_fail(struct relay *r, const char *fmt, ...)
{
    va_list ap;
    cleanup_free char *m = NULL, *msg = NULL;

    if (r->done)
        return;
    r->done = true;
    relay_close(r);
    va_start(ap, fmt);
    m = xvasprintf(fmt, ap);
    va_end(ap);
    msg = xasprintf("Reading the logs from the agent of %s failed: %s", r->where, m);
    cm_log_warn("%s", msg);
    sched_respond_error(r->req, 500, "ServerException", msg);
}

/* The agent's whole answer is in: status line, headers, body. */
static void
relay_finish(struct relay *r)
{
    unsigned status = 0;
    const char *hdr_end;
    json_auto_t *ans = NULL;
    json_error_t jerr;

    r->in = xrealloc(r->in, r->in_len + 1);
    r->in[r->in_len] = '\0';
    hdr_end = strstr(r->in, "\r\n\r\n");
    if (!hdr_end || sscanf(r->in, "HTTP/1.%*[01] %u", &status) != 1)
        return relay_fail(r, "malformed HTTP answer");
    const char *body = hdr_end + 4;
    size_t blen = r->in_len - (size_t)(body - r->in);
    ans = json_loadb(body, blen, 0, &jerr);
    if (!ans || !json_is_object(ans))
        return relay_fail(r, "HTTP %u with a body that is not a JSON object", status);
    const char *msg = json_string_value(json_object_get(ans, "message"));
    if (status == 404 || status == 400)
        return (void)(r->done = true, relay_close(r),
                      sched_respond_error(r->req, 400, "InvalidParameterException",
                                          msg ? msg : "The agent has no logs of this task."));
    if (status == 401)
        return relay_fail(r, "it refused skiffd's log secret (restart the agent so that it "
                             "registers again)");
    if (status != 200)
        return relay_fail(r, "HTTP %u: %s", status, msg ? msg : "(no message)");
    json_t *events = json_object_get(ans, "events");
    if (!json_is_array(events) || !json_is_string(json_object_get(ans, "nextToken")))
        return relay_fail(r, "answer without events and nextToken");
    r->done = true;
    relay_close(r);
    json_auto_t *out = json_pack("{s:O,s:O,s:b,s:b}", "events", events, "nextToken",
                                 json_object_get(ans, "nextToken"), "stopped",
                                 json_is_true(json_object_get(ans, "stopped")), "more",
                                 json_is_true(json_object_get(ans, "more")));
    sched_respond_json(r->req, 200, out);
}

static void
on_io(struct cm_loop *loop, int fd, uint32_t events, void *userdata)
{
    struct relay *r = userdata;
    cleanup_error struct cm_error *err = NULL;
    (void)loop;

    if (r->out_off < r->out_len) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
            return relay_fail(r, "connect: %s", strerror(soerr));
        if (!(events & EPOLLOUT))
            return;
        ssize_t n = send(fd, r->out + r->out_off, r->out_len - r->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return relay_fail(r, "send: %m");
        if (n > 0)
            r->out_off += (size_t)n;
        if (r->out_off == r->out_len && cm_loop_mod_fd(r->src, EPOLLIN, &err) < 0)
            return relay_fail(r, "%s", err->msg);
        return;
    }
    for (;;) {
        if (r->in_cap - r->in_len < 65536) {
            r->in_cap = r->in_cap ? r->in_cap * 2 : 65536;
            r->in = xrealloc(r->in, r->in_cap);
        }
        ssize_t n = recv(fd, r->in + r->in_len, r->in_cap - r->in_len, 0);
        if (n == 0)
            return relay_finish(r);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            return relay_fail(r, "recv: %m");
        }
        r->in_len += (size_t)n;
        if (r->in_len > SCHED_LOGS_MAX_ANSWER)
            return relay_fail(r, "answer larger than %u bytes", SCHED_LOGS_MAX_ANSWER);
    }
}

static void
on_timeout(struct cm_loop *loop, struct cm_loop_source *t, void *userdata)
{
    (void)loop;
    (void)t;
    relay_fail(userdata, "no answer in time");
}

static int
relay_start(struct sched_call *c, const char *where, const struct sockaddr_in *sa,
            const char *secret, json_t *body, uint64_t wait_ms)
{
    struct relay *r = xcalloc(1, sizeof *r);
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *text = json_dumps(body, JSON_COMPACT);
    char host[INET_ADDRSTRLEN] = "";

    r->d = c->d;
    r->req = c->req;
    r->fd = -1;
    r->where = xstrdup(where);
    inet_ntop(AF_INET, &sa->sin_addr, host, sizeof host);
    r->out_len =
        (size_t)asprintf(&r->out,
                         "POST %s HTTP/1.1\r\nHost: %s:%u\r\nAuthorization: Bearer %s\r\n"
                         "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n%s",
                         SCHED_LOGS_PATH, host, ntohs(sa->sin_port), secret, strlen(text), text);
    if (!r->out)
        abort();
    r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (r->fd < 0 ||
        (connect(r->fd, (const struct sockaddr *)sa, sizeof *sa) < 0 && errno != EINPROGRESS)) {
        int e = errno;
        relay_free(r);
        return sched_fail(c, "ServerException", "Cannot reach the agent of %s: %s", where,
                          strerror(e));
    }
    r->src = cm_loop_add_fd(c->d->loop, r->fd, EPOLLOUT, on_io, r, &err);
    r->timer = r->src ? cm_loop_add_timer(c->d->loop, wait_ms + SCHED_LOGS_GRACE_MS, 0, on_timeout,
                                          r, &err)
                      : NULL;
    if (!r->timer) {
        relay_free(r);
        return sched_fail(c, "ServerException", "%s", err->msg);
    }
    cm_http_request_set_data(c->req, r, relay_free);
    cm_http_suspend(c->req);
    c->deferred = true;
    return 0;
}

/* ---- the operation ---- */

int
sched_op_get_task_logs(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cname = NULL, *ref = NULL, *ctr = NULL, *since = NULL, *token = NULL;
    int64_t limit = 0, tail = 0, wait = 0;
    (void)out;

    if (!sched_cluster_get(c, in, &cname) || sched_in_str(c, in, "task", true, &ref) < 0 ||
        sched_in_str(c, in, "containerName", false, &ctr) < 0 ||
        sched_in_str(c, in, "since", false, &since) < 0 ||
        sched_in_str(c, in, "nextToken", false, &token) < 0 ||
        sched_in_int(c, in, "limit", false, 1, SCHED_LOGS_MAX_LIMIT, &limit) < 0 ||
        sched_in_int(c, in, "tail", false, 0, 1000000, &tail) < 0 ||
        sched_in_int(c, in, "waitMs", false, 0, SCHED_LOGS_MAX_WAIT_MS, &wait) < 0)
        return -1;
    const char *id = sched_arn_tail(ref);
    uint32_t h = sched_task_find(c->d, id);
    const struct sched_task_rec *t = h != SCHED_NO_TASK ? sched_task_at(c->d, h) : NULL;
    if (!t || strcmp(sched_str(c->d, t->cluster), cname) != 0)
        return sched_fail(c, "InvalidParameterException", "The referenced task was not found.");
    if (ctr) {
        size_t i;
        json_t *cd;
        bool found = false;
        /* A task's containers are its task definition's. */
        json_array_foreach (json_object_get(sched_task_td(c->d, t), "containerDefinitions"), i,
                            cd) {
            const char *name = json_string_value(json_object_get(cd, "name"));
            found |= name && !strcmp(ctr, name);
        }
        if (!found)
            return sched_fail(c, "InvalidParameterException", "Task '%s' has no container '%s'.",
                              id, ctr);
    }
    if ((since && strlen(since) > 64) || (token && strlen(token) > 64))
        return sched_fail(c, "InvalidParameterException",
                          "since and nextToken are at most 64 characters.");
    const char *iid = sched_str(c->d, t->instance);
    json_t *inst = iid ? sched_get(c->d, SCHED_K_INSTANCE, iid) : NULL;
    const char *addr = json_string_value(json_object_get(inst, "_logEndpoint"));
    const char *secret = json_string_value(json_object_get(inst, "_logSecret"));
    struct sockaddr_in sa;
    if (!inst || !secret || !endpoint_ok(addr, &sa))
        return sched_fail(c, "ClientException",
                          "The agent of container instance '%s' serves no logs (it registered "
                          "without a log endpoint; see skiff-agent --log-listen).",
                          iid ? iid : "?");
    json_auto_t *body = json_pack("{s:s}", "taskId", id);
    if (ctr)
        json_object_set_new(body, "container", json_string(ctr));
    if (since)
        json_object_set_new(body, "since", json_string(since));
    if (token && *token)
        json_object_set_new(body, "nextToken", json_string(token));
    if (limit)
        json_object_set_new(body, "limit", json_integer(limit));
    if (tail)
        json_object_set_new(body, "tail", json_integer(tail));
    if (wait)
        json_object_set_new(body, "waitMs", json_integer(wait));
    if (!c->req)
        return sched_fail(c, "ServerException", "SkiffGetTaskLogs answers HTTP requests only.");
    cleanup_free char *where = xasprintf("container instance '%s' at %s", iid, addr);
    return relay_start(c, where, &sa, secret, body, (uint64_t)wait);
}
