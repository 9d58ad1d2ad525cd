/* SPDX-License-Identifier: Apache-2.0 */
/* The event loop (timers, signals, hooks) and the HTTP server on it: plain
 * answers, suspended requests answered later, the body size limit. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/http.h"
#include "cm/loop.h"
#include "cm/xalloc.h"

TestSuite(cm_loop_http);

static void
count_timer(struct cm_loop *loop, struct cm_loop_source *t, void *ud)
{
    (void)loop;
    (void)t;
    (*(int *)ud)++;
}

static void
count_hook(struct cm_loop *loop, void *ud)
{
    (void)loop;
    (*(int *)ud)++;
}

Test(cm_loop_http, one_shot_timer_and_hook)
{
    cleanup_error struct cm_error *err = NULL;
    struct cm_loop *loop = cm_loop_new(&err);
    int fired = 0, hooks = 0;
    cr_assert_not_null(cm_loop_add_timer(loop, 5, 0, count_timer, &fired, &err));
    cr_assert_eq(cm_loop_add_before_sleep(loop, count_hook, &hooks, &err), 0);
    for (int i = 0; i < 20 && fired == 0; i++)
        cr_assert_eq(cm_loop_run_once(loop, 50, &err), 0);
    cr_assert_eq(fired, 1);
    cr_assert_eq(cm_loop_run_once(loop, 20, &err), 0);
    cr_assert_eq(fired, 1, "a one-shot timer fires once");
    cr_assert_geq(hooks, 2);
    cm_loop_free(loop);
}

static void
on_usr1(struct cm_loop *loop, int signo, void *ud)
{
    *(int *)ud = signo;
    cm_loop_quit(loop, 7);
}

Test(cm_loop_http, signal_through_signalfd)
{
    cleanup_error struct cm_error *err = NULL;
    struct cm_loop *loop = cm_loop_new(&err);
    int got = 0;
    cr_assert_eq(cm_loop_add_signal(loop, SIGUSR1, on_usr1, &got, &err), 0);
    raise(SIGUSR1);
    cr_assert_eq(cm_loop_run(loop), 7);
    cr_assert_eq(got, SIGUSR1);
    cm_loop_free(loop);
}

struct server_state {
    struct cm_http_request *held;
    int handled;
};

static void
handler(struct cm_http_request *req, void *ud)
{
    struct server_state *s = ud;
    size_t len = 0;
    const char *body = cm_http_request_body(req, &len);
    s->handled++;
    if (cm_http_request_too_large(req)) {
        cm_http_respond(req, 413, "text/plain", "big", 3, NULL);
    } else if (!strcmp(cm_http_request_path(req), "/later")) {
        s->held = req;
        cm_http_suspend(req);
    } else {
        const char *hdrs[] = {"X-Echo-Len", "x", NULL};
        cleanup_free char *out = xasprintf("%s %s %zu %s", cm_http_request_method(req),
                                           cm_http_request_path(req), len, body);
        cm_http_respond(req, 200, "text/plain", out, strlen(out), hdrs);
    }
}

struct client {
    uint16_t port;
    const char *request;
    char response[4096];
    atomic_int done;
};

static void *
client_main(void *p)
{
    struct client *c = p;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c->port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        size_t n = strlen(c->request), off = 0;
        while (off < n) {
            ssize_t w = write(fd, c->request + off, n - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        size_t got = 0;
        ssize_t r;
        while (got < sizeof(c->response) - 1 &&
               (r = read(fd, c->response + got, sizeof(c->response) - 1 - got)) > 0)
            got += (size_t)r;
        c->response[got] = '\0';
    }
    close(fd);
    atomic_store(&c->done, 1);
    return NULL;
}

static void
run_client(struct cm_loop *loop, struct client *c, struct server_state *s, bool answer_held)
{
    pthread_t th;
    cleanup_error struct cm_error *err = NULL;
    pthread_create(&th, NULL, client_main, c);
    for (int i = 0; i < 400 && !atomic_load(&c->done); i++) {
        cm_loop_run_once(loop, 10, &err);
        if (answer_held && s->held) {
            cm_http_respond(s->held, 200, "text/plain", "late", 4, NULL);
            s->held = NULL;
        }
    }
    pthread_join(th, NULL);
}

static struct cm_http_server *
start(struct cm_loop *loop, struct server_state *s)
{
    cleanup_error struct cm_error *err = NULL;
    struct cm_http_config cfg = {
        .listen = "127.0.0.1:8140", /* skiffd-api helper ports: 8100-8149 */
        .max_body = 64,
        .conn_timeout_s = 5,
        .handler = handler,
        .userdata = s,
    };
    struct cm_http_server *srv = cm_http_server_new(loop, &cfg, &err);
    cr_assert_not_null(srv, "%s", err ? err->msg : "");
    cr_assert_gt(cm_http_server_port(srv), 0);
    return srv;
}

/* One request through a fresh loop and server (a suspended one answered
 * when answer_held): the response in c, what the handler saw in s. */
static void
exchange(const char *request, bool answer_held, struct client *c, struct server_state *s)
{
    cleanup_error struct cm_error *err = NULL;
    struct cm_loop *loop = cm_loop_new(&err);
    struct cm_http_server *srv = start(loop, s);

    c->port = cm_http_server_port(srv);
    c->request = request;
    run_client(loop, c, s, answer_held);
    cm_http_server_free(srv);
    cm_loop_free(loop);
}

Test(cm_loop_http, answers_with_body_and_headers)
{
    struct server_state s = {0};
    struct client c = {0};

    exchange("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
             false, &c, &s);
    cr_assert(strstr(c.response, "HTTP/1.1 200"), "%s", c.response);
    cr_assert(strstr(c.response, "X-Echo-Len: x"), "%s", c.response);
    cr_assert(strstr(c.response, "POST /x 5 hello"), "%s", c.response);
}

Test(cm_loop_http, suspended_request_answered_later)
{
    struct server_state s = {0};
    struct client c = {0};

    exchange("GET /later HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", true, &c, &s);
    cr_assert(strstr(c.response, "HTTP/1.1 200"), "%s", c.response);
    cr_assert(strstr(c.response, "late"), "%s", c.response);
}

Test(cm_loop_http, body_over_limit_is_flagged)
{
    struct server_state s = {0};
    struct client c = {0};
    char req[512];
    char body[201];
    memset(body, 'a', 200);
    body[200] = '\0';
    snprintf(req, sizeof(req),
             "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 200\r\nConnection: close\r\n\r\n%s",
             body);
    exchange(req, false, &c, &s);
    cr_assert(strstr(c.response, "HTTP/1.1 413"), "%s", c.response);
    cr_assert_eq(s.handled, 1);
}

Test(cm_loop_http, shutdown_answers_suspended_requests)
{
    cleanup_error struct cm_error *err = NULL;
    struct cm_loop *loop = cm_loop_new(&err);
    struct server_state s = {0};
    struct cm_http_server *srv = start(loop, &s);
    struct client c = {.port = cm_http_server_port(srv),
                       .request = "GET /later HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"};
    pthread_t th;
    pthread_create(&th, NULL, client_main, &c);
    for (int i = 0; i < 400 && !s.held; i++)
        cm_loop_run_once(loop, 10, &err);
    cr_assert_not_null(s.held);
    cm_http_server_free(srv); /* must not hang or crash with a suspended request */
    pthread_join(th, NULL);
    cr_assert(strstr(c.response, "HTTP/1.1 503") || c.response[0] == '\0', "%s", c.response);
    cm_loop_free(loop);
}

Test(cm_loop_http, bad_listen_address)
{
    cleanup_error struct cm_error *err = NULL;
    struct cm_loop *loop = cm_loop_new(&err);
    struct server_state s = {0};
    struct cm_http_config cfg = {
        .listen = "nohost", .max_body = 1, .handler = handler, .userdata = &s};
    cr_assert_null(cm_http_server_new(loop, &cfg, &err));
    cr_assert(strstr(err->msg, "HOST:PORT"));
    cm_loop_free(loop);
}

Test(cm_loop_http, tls_needs_cert_and_key)
{
    cleanup_error struct cm_error *err = NULL;
    struct cm_loop *loop = cm_loop_new(&err);
    struct server_state s = {0};
    struct cm_http_config cfg = {.listen = "127.0.0.1:0",
                                 .max_body = 1,
                                 .handler = handler,
                                 .userdata = &s,
                                 .tls_cert_pem = "-----BEGIN CERTIFICATE-----\n"};
    cr_assert_null(cm_http_server_new(loop, &cfg, &err));
    cr_assert(strstr(err->msg, "both a certificate and a key"), "%s", err->msg);
    cm_error_free(&err);
    /* MHD refuses what is no certificate: an error, not a crash or a plain-HTTP server. */
    cfg.tls_key_pem = "-----BEGIN PRIVATE KEY-----\n";
    cr_assert_null(cm_http_server_new(loop, &cfg, &err));
    cr_assert(strstr(err->msg, "HTTPS"), "%s", err->msg);
    cm_loop_free(loop);
}
