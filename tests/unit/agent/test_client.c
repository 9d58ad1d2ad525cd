/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the agent's HTTP/1.1 client (agent/client.c) against a
 * scripted server on 127.0.0.1 (ephemeral port): Content-Length, chunked and
 * up-to-EOF answers, skiffd's errors, limits, timeouts, the non-blocking poll,
 * kept-alive connections; and TLS against skiffd's own HTTPS server with a
 * throwaway PKI: verified calls and long poll, wrong CA, wrong name, plain
 * HTTP to the HTTPS port. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/client.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/http.h"
#include "cm/loop.h"
#include "cm/xalloc.h"

struct server {
    int lfd;
    const char *answer; /* written after the request's blank line + body */
    size_t answer_len;
    char request[8192];
    bool stall;   /* never answer */
    int accepts;  /* connections served one after the other (default 1) */
    int per_conn; /* requests answered on each (default 1) */
    int served;   /* requests answered */
    pthread_t th;
};

/* Reads one request up to the end of its body (its Content-Length); false at EOF. */
static bool
read_request(int fd, struct server *s)
{
    size_t len = 0;

    for (;;) {
        ssize_t n = read(fd, s->request + len, sizeof s->request - 1 - len);
        char *hend, *cl;
        if (n <= 0)
            return false;
        len += (size_t)n;
        s->request[len] = '\0';
        hend = strstr(s->request, "\r\n\r\n");
        cl = strcasestr(s->request, "Content-Length: ");
        if (hend && cl && len >= (size_t)(hend + 4 - s->request) + strtoul(cl + 16, NULL, 10))
            return true;
    }
}

static void *
serve(void *arg)
{
    struct server *s = arg;

    for (int k = 0; k < (s->accepts ? s->accepts : 1); k++) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        for (int r = 0; r < (s->per_conn ? s->per_conn : 1); r++) {
            if (!read_request(fd, s))
                break;
            if (s->stall) {
                sleep(2);
                break;
            }
            if (s->answer_len && write(fd, s->answer, s->answer_len) < 0)
                break; /* the client went away */
            s->served++;
        }
        close(fd);
    }
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

/* Two calls to a server s (started here, answering {} each time), pause_us
 * apart; how many answers it served. */
static int
two_calls(struct server *s, useconds_t pause_us)
{
    const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    cleanup_free char *url = start(s, a, strlen(a));
    struct agent_client *c = agent_client_new(url, "tok", NULL);
    json_auto_t *body = json_object();
    struct cm_error *err = NULL;

    for (int i = 0; i < 2; i++) {
        json_auto_t *ans = NULL;
        cr_assert_eq(agent_client_call(c, "report", body, 2000, &ans, NULL, &err), 0, "call %d: %s",
                     i, err ? err->msg : "");
        usleep(pause_us);
    }
    agent_client_free(c);
    stop(s); /* joins the server: served is final */
    return s->served;
}

/* Two calls on one connection: the server accepts once and answers twice. */
Test(agent_client, keeps_the_connection_alive)
{
    struct server s = {.per_conn = 2};
    cr_assert_eq(two_calls(&s, 0), 2);
}

/* The server closes after each answer: the next call connects anew. */
Test(agent_client, reconnects_when_the_server_closed)
{
    struct server s = {.accepts = 2};
    cr_assert_eq(two_calls(&s, 50 * 1000), 2); /* the pause lets the server's close arrive */
}

/* ---- TLS: skiffd's own HTTPS server (common/http_server.c, GnuTLS) with a
 * throwaway CA and a certificate for IP 127.0.0.1 made by openssl(1). ---- */

struct tls_server {
    char dir[64];
    char *ca, *other_ca;
    struct cm_loop *loop;
    struct cm_http_server *http;
    struct cm_loop_source *later;
    struct cm_http_request *held; /* a suspended poll */
    int stop_fd;
    uint16_t port;
    int requests;
    pthread_t th;
};

static void
tls_answer_held(struct cm_loop *loop, struct cm_loop_source *t, void *userdata)
{
    struct tls_server *ts = userdata;
    (void)loop;
    (void)t;
    if (ts->held)
        cm_http_respond(ts->held, 200, "application/json", "{\"version\": 9}", 14, NULL);
    ts->held = NULL;
}

static void
tls_handle(struct cm_http_request *req, void *userdata)
{
    struct tls_server *ts = userdata;
    cleanup_error struct cm_error *err = NULL;

    ts->requests++;
    if (strstr(cm_http_request_path(req), "/poll")) {
        /* A long poll: answered 300 ms later from the loop. */
        ts->held = req;
        cm_http_suspend(req);
        ts->later = cm_loop_add_timer(ts->loop, 300, 0, tls_answer_held, ts, &err);
        return;
    }
    cm_http_respond(req, 200, "application/json", "{\"ok\": true}", 12, NULL);
}

static void
tls_on_stop(struct cm_loop *loop, int fd, uint32_t events, void *userdata)
{
    (void)fd;
    (void)events;
    (void)userdata;
    cm_loop_quit(loop, 0);
}

static void *
tls_thread(void *p)
{
    struct tls_server *ts = p;
    cm_loop_run(ts->loop);
    return NULL;
}

static char *
slurp(const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(cm_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, &err), 0, "%s", err->msg);
    return buf;
}

static void
tls_start(struct tls_server *ts)
{
    cleanup_free char *cmd = NULL;
    cleanup_free char *cert = NULL;
    cleanup_free char *key = NULL;
    cleanup_free char *certf = NULL;
    cleanup_free char *keyf = NULL;
    cleanup_error struct cm_error *err = NULL;
    struct cm_http_config hc = {.listen = "127.0.0.1:0",
                                .max_body = 1 << 20,
                                .conn_timeout_s = 30,
                                .handler = tls_handle,
                                .userdata = ts};

    if (system("command -v openssl >/dev/null") != 0)
        cr_skip_test("openssl(1) missing");
    snprintf(ts->dir, sizeof ts->dir, "/tmp/agent-client-tls.XXXXXX");
    cr_assert(mkdtemp(ts->dir));
    cmd = xasprintf(
        "set -e; cd %s; for ca in ca other-ca; do openssl req -x509 -newkey ec -pkeyopt "
        "ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.pem -days 2 -subj /CN=$ca; "
        "done; openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
        "server.key -out server.csr -subj /CN=127.0.0.1; printf '%%s\\n' "
        "subjectAltName=IP:127.0.0.1 extendedKeyUsage=serverAuth >ext.cnf; openssl x509 -req "
        "-in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out "
        "server.pem",
        ts->dir);
    {
        cleanup_free char *quiet = xasprintf("(%s) >/dev/null 2>&1", cmd);
        cr_assert_eq(system(quiet), 0, "openssl could not make the PKI");
    }
    ts->ca = xasprintf("%s/ca.pem", ts->dir);
    ts->other_ca = xasprintf("%s/other-ca.pem", ts->dir);
    certf = xasprintf("%s/server.pem", ts->dir);
    keyf = xasprintf("%s/server.key", ts->dir);
    cert = slurp(certf);
    key = slurp(keyf);
    hc.tls_cert_pem = cert;
    hc.tls_key_pem = key;
    ts->loop = cm_loop_new(&err);
    cr_assert(ts->loop);
    ts->http = cm_http_server_new(ts->loop, &hc, &err);
    cr_assert(ts->http, "%s", err ? err->msg : "");
    ts->port = cm_http_server_port(ts->http);
    ts->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    cr_assert(cm_loop_add_fd(ts->loop, ts->stop_fd, EPOLLIN, tls_on_stop, ts, &err));
    cr_assert_eq(pthread_create(&ts->th, NULL, tls_thread, ts), 0);
}

static void
tls_stop(struct tls_server *ts)
{
    uint64_t one = 1;
    cleanup_free char *cmd = xasprintf("rm -rf %s", ts->dir);

    cr_assert_eq(write(ts->stop_fd, &one, sizeof one), (ssize_t)sizeof one);
    pthread_join(ts->th, NULL);
    cm_http_server_free(ts->http);
    cm_loop_free(ts->loop);
    close(ts->stop_fd);
    free(ts->ca);
    free(ts->other_ca);
    cr_assert_eq(system(cmd), 0);
}

Test(agent_client, tls_verified_calls_and_long_poll)
{
    struct tls_server ts = {0};
    cleanup_free char *url = NULL;
    struct agent_client *c;
    json_auto_t *body = json_object();
    json_auto_t *ans = NULL;
    struct cm_error *err = NULL;
    int r = 0;

    tls_start(&ts);
    url = xasprintf("https://127.0.0.1:%u", ts.port);
    c = agent_client_new(url, "tok", ts.ca);
    for (int i = 0; i < 2; i++) {
        json_auto_t *a = NULL;
        cr_assert_eq(agent_client_call(c, "report", body, 5000, &a, NULL, &err), 0, "%s",
                     err ? err->msg : "");
        cr_assert(json_is_true(json_object_get(a, "ok")));
    }
    /* The poll, non-blocking: handshake, request, a held answer. */
    cr_assert_eq(agent_client_poll_start(c, body, 5000, &err), 0);
    for (int i = 0; i < 400 && !agent_client_poll_done(c); i++) {
        uint32_t ev = 0;
        int fd = agent_client_poll_fd(c, &ev);
        struct pollfd p = {.fd = fd, .events = (ev & EPOLLOUT) ? POLLOUT : POLLIN};
        cr_assert_geq(fd, 0);
        poll(&p, 1, 50);
        agent_client_poll_io(c);
    }
    r = agent_client_poll_result(c, &ans, NULL, &err);
    cr_assert_eq(r, 1, "%s", err ? err->msg : "");
    cr_assert_eq(json_integer_value(json_object_get(ans, "version")), 9);
    agent_client_free(c);
    tls_stop(&ts);
    cr_assert_eq(ts.requests, 3);
}

Test(agent_client, tls_verification_failures)
{
    struct tls_server ts = {0};
    cleanup_free char *url = NULL;
    cleanup_free char *by_name = NULL;
    cleanup_free char *plain = NULL;
    struct agent_client *c;
    json_auto_t *body = json_object();
    json_auto_t *ans = NULL;
    struct cm_error *err = NULL;

    tls_start(&ts);
    url = xasprintf("https://127.0.0.1:%u", ts.port);
    /* Another CA: the chain does not verify. */
    c = agent_client_new(url, "tok", ts.other_ca);
    cr_assert_eq(agent_client_call(c, "register", body, 5000, &ans, NULL, &err), -1);
    cr_assert_eq(err->code, EKEYREJECTED, "%s", err->msg);
    cr_assert(strstr(err->msg, "TLS certificate verification failed"), "%s", err->msg);
    cr_assert(strstr(err->msg, "give the CA that signed skiffd's certificate with --ca-file"), "%s",
              err->msg);
    cm_error_free(&err);
    agent_client_free(c);
    /* The right CA, but the certificate names 127.0.0.1, not "localhost". */
    by_name = xasprintf("https://localhost:%u", ts.port);
    c = agent_client_new(by_name, "tok", ts.ca);
    cr_assert_eq(agent_client_call(c, "register", body, 5000, &ans, NULL, &err), -1);
    cr_assert_eq(err->code, EKEYREJECTED, "%s", err->msg);
    cr_assert(strstr(err->msg, "mismatch"), "%s", err->msg);
    cm_error_free(&err);
    agent_client_free(c);
    /* Plain HTTP to the HTTPS port: no answer, and a hint. */
    plain = xasprintf("http://127.0.0.1:%u", ts.port);
    c = agent_client_new(plain, "tok", NULL);
    cr_assert_eq(agent_client_call(c, "register", body, 5000, &ans, NULL, &err), -1);
    cr_assert(strstr(err->msg, "use an https:// endpoint"), "%s", err->msg);
    cm_error_free(&err);
    agent_client_free(c);
    tls_stop(&ts);
    cr_assert_eq(ts.requests, 0);
}

/* ---- the parser alone (agent_client_parse_answer), as tests/fuzz/agent_proto.c drives it ---- */

static int
parse(const char *text, bool https, json_t **ret, long *status, struct cm_error **err)
{
    /* A copy: a chunked body is decoded in place. */
    cleanup_free char *buf = xstrdup(text);
    *ret = NULL;
    return agent_client_parse_answer(buf, strlen(buf), https, "poll", ret, status, err);
}

Test(agent_client, parse_answer_framing)
{
    json_t *j = NULL;
    long st = 0;
    struct cm_error *err = NULL;
    /* Content-Length wins over what follows (the next answer on a kept connection). */
    cr_assert_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{\"a\":1}\nGARBAGE", false, &j,
                       &st, &err),
                 0);
    cr_expect_eq(st, 200);
    cr_expect_eq(json_integer_value(json_object_get(j, "a")), 1);
    json_decref(j);
    cr_assert_eq(parse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{\"b\r\n"
                       "4\r\n\":2}\r\n0\r\n\r\n",
                       false, &j, &st, &err),
                 0);
    cr_expect_eq(json_integer_value(json_object_get(j, "b")), 2);
    json_decref(j);
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}",                 /* cut short */
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}",                 /* negative */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffff\r\n{}", /* chunk past end */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",     /* not hex */
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",                  /* not an object */
        "HTTP/1.1 200 OK\r\n\r\n",                                         /* empty */
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",                        /* header never ends */
        "SSH-2.0-OpenSSH_9.2\r\n\r\n",                                     /* not HTTP */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(parse(bad[i], false, &j, &st, &err), -1, "%s", bad[i]);
        cr_expect_null(j);
        cr_assert_not_null(err, "%s", bad[i]);
        cm_error_free(&err);
    }
}

Test(agent_client, parse_answer_errors)
{
    json_t *j = NULL;
    long st = 0;
    struct cm_error *err = NULL;
    cr_assert_eq(parse("HTTP/1.1 404 Not Found\r\nContent-Length: 44\r\n\r\n{\"error\":"
                       "\"UnknownInstance\",\"message\":\"gone\"}",
                       false, &j, &st, &err),
                 -1);
    cr_expect_eq(st, 404);
    cr_expect_eq(err->code, ENOENT);
    cr_expect(strstr(err->msg, "UnknownInstance: gone"), "%s", err->msg);
    cm_error_free(&err);
    /* An error with a body that is not skiffd's: still an error, with the status. */
    cr_assert_eq(
        parse("HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\n[1]", false, &j, &st, &err), -1);
    cr_expect_eq(err->code, EACCES);
    cm_error_free(&err);
    /* A TLS alert in answer to plain HTTP says to use https. */
    cr_assert_eq(parse("\x15\x03\x03\x00\x02\x02\x46", false, &j, &st, &err), -1);
    cr_expect(strstr(err->msg, "https://"), "%s", err->msg);
    cm_error_free(&err);
}

Test(agent_client, answer_complete)
{
    cr_expect_not(agent_client_answer_complete("", 0));
    cr_expect_not(agent_client_answer_complete("HTTP/1.1 200 OK\r\n", 17));
    static const char cl[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{}";
    cr_expect_not(agent_client_answer_complete(cl, strlen(cl)));
    static const char cl2[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    cr_expect(agent_client_answer_complete(cl2, strlen(cl2)));
    static const char ch[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n";
    cr_expect_not(agent_client_answer_complete(ch, strlen(ch)));
    static const char ch2[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
    cr_expect(agent_client_answer_complete(ch2, strlen(ch2)));
    static const char huge[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}";
    cr_expect_not(agent_client_answer_complete(huge, strlen(huge)));
    /* Up to EOF: never complete by itself. */
    static const char eof[] = "HTTP/1.0 200 OK\r\n\r\n{}";
    cr_expect_not(agent_client_answer_complete(eof, strlen(eof)));
}
