/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the agent's HTTP/1.1 client (agent/client.c) against a
 * scripted server on 127.0.0.1 (ephemeral port): Content-Length, chunked and
 * up-to-EOF answers, skiffd's errors, limits, timeouts, the non-blocking poll. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/client.h"
#include "cm/cleanup.h"
#include "cm/xalloc.h"

struct server {
    int lfd;
    const char *answer; /* written after the request's blank line + body */
    size_t answer_len;
    char request[8192];
    bool stall; /* never answer */
    pthread_t th;
};

static void *
serve(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    size_t len = 0;

    if (fd < 0)
        return NULL;
    /* Read up to the end of the body (Content-Length of the request). */
    for (;;) {
        ssize_t n = read(fd, s->request + len, sizeof s->request - 1 - len);
        char *hend, *cl;
        if (n <= 0)
            break;
        len += (size_t)n;
        s->request[len] = '\0';
        hend = strstr(s->request, "\r\n\r\n");
        cl = strcasestr(s->request, "Content-Length: ");
        if (hend && cl && len >= (size_t)(hend + 4 - s->request) + strtoul(cl + 16, NULL, 10))
            break;
    }
    if (s->stall) {
        sleep(2);
    } else if (s->answer_len && write(fd, s->answer, s->answer_len) < 0) {
        /* the client went away */
    }
    close(fd);
    return NULL;
}

static char *
start(struct server *s, const char *answer, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;

    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s->lfd, 0);
    cr_assert_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(s->lfd, 4), 0);
    cr_assert_eq(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->answer = answer;
    s->answer_len = len;
    cr_assert_eq(pthread_create(&s->th, NULL, serve, s), 0);
    /* "localhost" may resolve to ::1 first, where nobody listens. */
    return xasprintf("http://localhost:%d/base/", ntohs(a.sin_port));
}

static void
stop(struct server *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static int
call(const char *answer, json_t **ret, long *status, struct cm_error **err, struct server *s)
{
    cleanup_free char *url = start(s, answer, strlen(answer));
    struct agent_client *c = agent_client_new(url, "tok", NULL);
    json_auto_t *body = json_pack("{s:s}", "k", "v");
    int r = agent_client_call(c, "report", body, 2000, ret, status, err);

    agent_client_free(c);
    stop(s);
    return r;
}

Test(agent_client, content_length_answer_and_request_shape)
{
    struct server s = {0};
    json_auto_t *ans = NULL;
    long status = 0;
    struct cm_error *err = NULL;

    cr_assert_eq(
        call("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"a\": 1}xyz", &ans, &status, &err, &s),
        -1, "a body cut at Content-Length that is not JSON must fail");
    cm_error_free(&err);
    memset(&s, 0, sizeof s);
    cr_assert_eq(
        call("HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n{\"a\": 1}", &ans, &status, &err, &s), 0,
        "%s", err ? err->msg : "");
    cr_assert_eq(status, 200);
    cr_assert_eq(json_integer_value(json_object_get(ans, "a")), 1);
    cr_assert(strstr(s.request, "POST /base/agent/v1/report HTTP/1.1\r\n"), "%s", s.request);
    cr_assert(strstr(s.request, "Authorization: Bearer tok\r\n"));
    cr_assert(strstr(s.request, "\r\n\r\n{\"k\":\"v\"}"));
}

Test(agent_client, chunked_answer)
{
    struct server s = {0};
    json_auto_t *ans = NULL;
    struct cm_error *err = NULL;

    cr_assert_eq(call("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4\r\n{\"b\"\r\n5\r\n: 22}\r\n0\r\n\r\n",
                      &ans, NULL, &err, &s),
                 0, "%s", err ? err->msg : "");
    cr_assert_eq(json_integer_value(json_object_get(ans, "b")), 22);
}

Test(agent_client, answer_up_to_eof)
{
    struct server s = {0};
    json_auto_t *ans = NULL;
    struct cm_error *err = NULL;

    cr_assert_eq(call("HTTP/1.0 200 OK\r\n\r\n{\"c\": true}", &ans, NULL, &err, &s), 0, "%s",
                 err ? err->msg : "");
    cr_assert(json_is_true(json_object_get(ans, "c")));
}

Test(agent_client, skiffd_errors_map_to_codes)
{
    struct server s = {0};
    json_auto_t *ans = NULL;
    long status = 0;
    struct cm_error *err = NULL;
    const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 48\r\n\r\n"
                     "{\"error\": \"NotFound\", \"message\": \"no such host\"}";

    cr_assert_eq(call(nf, &ans, &status, &err, &s), -1);
    cr_assert_eq(status, 404);
    cr_assert_eq(err->code, ENOENT);
    cr_assert(strstr(err->msg, "NotFound: no such host"), "%s", err->msg);
    cm_error_free(&err);
    memset(&s, 0, sizeof s);
    cr_assert_eq(
        call("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", &ans, &status, &err, &s),
        -1);
    cr_assert_eq(err->code, EACCES);
    cm_error_free(&err);
    memset(&s, 0, sizeof s);
    cr_assert_eq(call("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}", &ans, &status, &err, &s),
                 -1);
    cr_assert(strstr(err->msg, "cut short"), "%s", err->msg);
    cm_error_free(&err);
    memset(&s, 0, sizeof s);
    cr_assert_eq(call("garbage\r\n\r\n", &ans, &status, &err, &s), -1);
    cr_assert(strstr(err->msg, "not an HTTP answer"), "%s", err->msg);
    cm_error_free(&err);
}

Test(agent_client, unreachable)
{
    json_auto_t *body = json_object();
    json_auto_t *ans = NULL;
    struct cm_error *err = NULL;

    /* Port 1 on loopback: nobody listens, whichever the scheme. */
    for (int i = 0; i < 2; i++) {
        struct agent_client *c =
            agent_client_new(i ? "https://127.0.0.1:1" : "http://127.0.0.1:1", "tok", NULL);
        cr_assert_eq(agent_client_call(c, "register", body, 1000, &ans, NULL, &err), -1);
        cr_assert_eq(err->code, EHOSTUNREACH, "%s", err->msg);
        cr_assert(strstr(err->msg, "connect"), "%s", err->msg);
        cm_error_free(&err);
        agent_client_free(c);
    }
}

Test(agent_client, call_times_out)
{
    struct server s = {.stall = true};
    cleanup_free char *url = start(&s, "", 0);
    struct agent_client *c = agent_client_new(url, "tok", NULL);
    json_auto_t *body = json_object();
    json_auto_t *ans = NULL;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_client_call(c, "poll", body, 200, &ans, NULL, &err), -1);
    cr_assert(strstr(err->msg, "no answer in time"), "%s", err->msg);
    cm_error_free(&err);
    agent_client_free(c);
    stop(&s);
}

Test(agent_client, nonblocking_poll)
{
    struct server s = {0};
    const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"version\": 7}";
    cleanup_free char *url = start(&s, a, strlen(a));
    struct agent_client *c = agent_client_new(url, "tok", NULL);
    json_auto_t *body = json_object();
    json_auto_t *ans = NULL;
    struct cm_error *err = NULL;
    int r = 0;

    cr_assert_eq(agent_client_poll_start(c, body, 2000, &err), 0);
    cr_assert(agent_client_poll_active(c));
    cr_assert_eq(agent_client_poll_start(c, body, 2000, &err), -1, "one poll at a time");
    cm_error_free(&err);
    for (int i = 0; i < 200 && !agent_client_poll_done(c); i++) {
        uint32_t ev = 0;
        int fd = agent_client_poll_fd(c, &ev);
        struct pollfd p = {.fd = fd, .events = (ev & EPOLLOUT) ? POLLOUT : POLLIN};
        cr_assert_geq(fd, 0);
        poll(&p, 1, 50);
        agent_client_poll_io(c);
    }
    cr_assert(agent_client_poll_done(c));
    r = agent_client_poll_result(c, &ans, NULL, &err);
    cr_assert_eq(r, 1, "%s", err ? err->msg : "");
    cr_assert_eq(json_integer_value(json_object_get(ans, "version")), 7);
    cr_assert_not(agent_client_poll_active(c));
    agent_client_free(c);
    stop(&s);
}
