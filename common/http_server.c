/* SPDX-License-Identifier: Apache-2.0 */
/* libmicrohttpd inside the cm_loop (see include/cm/http.h). */
#include "cm/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/log.h"
#include "cm/loop.h"
#include "cm/xalloc.h"

struct cm_http_request {
    struct cm_http_server *srv;
    struct MHD_Connection *conn;
    char *method;
    char *path;
    char *body;
    size_t len, cap;
    bool too_large;
    bool dispatched;
    bool suspended;
    bool want_suspend;
    bool answered; /* a response was given (queued or pending) */
    struct MHD_Response *pending;
    unsigned pending_status;
    void *data;
    void (*free_fn)(void *);
    struct cm_http_request *prev, *next; /* list of suspended requests */
};

struct cm_http_server {
    struct cm_loop *loop;
    struct MHD_Daemon *d;
    struct cm_loop_source *fdsrc;
    struct cm_loop_source *timer;
    struct cm_http_config cfg;
    char *tls_cert, *tls_key; /* MHD reads them through the daemon's lifetime */
    uint16_t port;
    struct cm_http_request *suspended; /* head of the list */
    bool resumed;                      /* a resumed request waits for MHD_run */
};

static void
suspended_unlink(struct cm_http_request *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (r->srv->suspended == r)
        r->srv->suspended = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static enum MHD_Result
queue_pending(struct cm_http_request *r)
{
    enum MHD_Result ret = MHD_queue_response(r->conn, r->pending_status, r->pending);
    MHD_destroy_response(r->pending);
    r->pending = NULL;
    return ret;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct cm_http_server *srv = cls;
    struct cm_http_request *r = *con_cls;
    (void)version;

    if (!r) {
        r = xcalloc(1, sizeof(*r));
        r->srv = srv;
        r->conn = conn;
        r->method = xstrdup(method);
        r->path = xstrdup(url);
        r->body = xstrdup("");
        r->cap = 1;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (!r->too_large && r->len + n > srv->cfg.max_body) {
            r->too_large = true;
            free(r->body);
            r->body = xstrdup("");
            r->len = 0;
            r->cap = 1;
        }
        if (!r->too_large) {
            r->body = xreallocarray_grow(r->body, &r->cap, r->len + n + 1, 1);
            memcpy(r->body + r->len, upload_data, n);
            r->len += n;
            r->body[r->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->pending) /* resumed after an answer, or answered synchronously */
        return queue_pending(r);
    if (r->dispatched) /* resumed without an answer: should not happen */
        return MHD_NO;
    r->dispatched = true;
    srv->cfg.handler(r, srv->cfg.userdata);
    if (r->pending)
        return queue_pending(r);
    if (r->want_suspend) {
        r->want_suspend = false;
        r->suspended = true;
        r->next = srv->suspended;
        if (r->next)
            r->next->prev = r;
        srv->suspended = r;
        MHD_suspend_connection(conn);
        return MHD_YES;
    }
    cm_log_error("http: handler for '%s' gave no answer", r->path);
    return MHD_NO;
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct cm_http_request *r = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (!r)
        return;
    if (r->suspended)
        suspended_unlink(r);
    if (r->free_fn)
        r->free_fn(r->data);
    if (r->pending)
        MHD_destroy_response(r->pending);
    free(r->method);
    free(r->path);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void
rearm_timer(struct cm_http_server *srv)
{
    if (srv->resumed) {
        srv->resumed = false;
        cm_loop_timer_set(srv->timer, 1, 0, NULL);
        return;
    }
    MHD_UNSIGNED_LONG_LONG t = 0;
    if (MHD_get_timeout(srv->d, &t) == MHD_YES)
        cm_loop_timer_set(srv->timer, t > 0 ? t : 1, 0, NULL);
    else
        cm_loop_timer_set(srv->timer, 0, 0, NULL);
}

static void
on_ready(struct cm_loop *loop, int fd, uint32_t events, void *userdata)
{
    struct cm_http_server *srv = userdata;
    (void)loop;
    (void)fd;
    (void)events;
    MHD_run(srv->d);
}

static void
on_timer(struct cm_loop *loop, struct cm_loop_source *t, void *userdata)
{
    struct cm_http_server *srv = userdata;
    (void)loop;
    (void)t;
    MHD_run(srv->d);
}

/* MHD's timeouts move with every request, so re-read them once per iteration. */
static void
before_sleep(struct cm_loop *loop, void *userdata)
{
    struct cm_http_server *srv = userdata;
    (void)loop;
    if (srv->d)
        rearm_timer(srv);
}

/* MHD's own messages (a client's broken TLS handshake, say) go to our log
 * in its format, not raw to stderr; they are about one connection. */
__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    cleanup_free char *msg = NULL;
    (void)cls;
    if (vasprintf(&msg, fmt, ap) < 0)
        return;
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    cm_log_warn("http: %s", msg);
}

static int
parse_listen(const char *listen, struct sockaddr_in *sa, struct cm_error **err)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return cm_error_set(err, 0, "listen address '%s': expected HOST:PORT", listen);
    cleanup_free char *host = xstrndup(listen, (size_t)(colon - listen));
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || !*(colon + 1) || *end || port > 65535)
        return cm_error_set(err, 0, "listen address '%s': bad port", listen);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return cm_error_set(err, 0, "listen address '%s': bad IPv4 address", listen);
    return 0;
}

struct cm_http_server *
cm_http_server_new(struct cm_loop *loop, const struct cm_http_config *cfg, struct cm_error **err)
{
    struct sockaddr_in sa;
    if (parse_listen(cfg->listen, &sa, err) < 0)
        return NULL;
    /* Our own socket with SO_REUSEADDR only: MHD's socket gets SO_REUSEPORT,
     * and a second daemon could then bind the same port and silently share
     * our connections; this way it fails with EADDRINUSE. */
    cleanup_close int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1024) < 0) {
        cm_error_errno(err, "listen on '%s'", cfg->listen);
        return NULL;
    }
    bool tls = cfg->tls_cert_pem || cfg->tls_key_pem;
    if (tls && (!cfg->tls_cert_pem || !cfg->tls_key_pem)) {
        cm_error_set(err, 0, "HTTPS on '%s' needs both a certificate and a key", cfg->listen);
        return NULL;
    }
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        cm_error_set(err, ENOTSUP, "HTTPS on '%s': this libmicrohttpd was built without TLS",
                     cfg->listen);
        return NULL;
    }
    struct cm_http_server *srv = xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->cfg = *cfg;
    srv->tls_cert = tls ? xstrdup(cfg->tls_cert_pem) : NULL;
    srv->tls_key = tls ? xstrdup(cfg->tls_key_pem) : NULL;
    srv->cfg.tls_cert_pem = srv->tls_cert;
    srv->cfg.tls_key_pem = srv->tls_key;
    /* TLS 1.2 and 1.3 only: GnuTLS's NORMAL still allows 1.0 and 1.1. */
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, srv->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)CM_HTTP_TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    srv->d = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0), 0,
        /* The logger first: libmicrohttpd warns about (and logs raw) anything said before it. */
        NULL, NULL, access_cb, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->conn_timeout_s, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!srv->d) {
        if (tls)
            cm_error_set(err, EINVAL, "start HTTPS server on '%s': certificate or key refused",
                         cfg->listen);
        else
            cm_error_errno(err, "start HTTP server on '%s'", cfg->listen);
        free(srv->tls_cert);
        free(srv->tls_key);
        free(srv);
        return NULL;
    }
    TAKE_FD(lfd); /* MHD owns and closes it now */
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_EPOLL_FD);
    socklen_t salen = sizeof(sa);
    srv->port = getsockname(MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_LISTEN_FD)->listen_fd,
                            (struct sockaddr *)&sa, &salen) == 0
                    ? ntohs(sa.sin_port)
                    : 0;
    srv->fdsrc = cm_loop_add_fd(loop, di->epoll_fd, EPOLLIN, on_ready, srv, err);
    if (!srv->fdsrc)
        return cm_http_server_free(srv);
    srv->timer = cm_loop_add_timer(loop, 0, 0, on_timer, srv, err);
    if (!srv->timer)
        return cm_http_server_free(srv);
    cm_loop_add_before_sleep(loop, before_sleep, srv, NULL);
    return srv;
}

struct cm_http_server *
cm_http_server_free(struct cm_http_server *srv)
{
    if (!srv)
        return NULL;
    /* MHD refuses to stop with suspended connections: answer them first. */
    while (srv->suspended) {
        struct cm_http_request *r = srv->suspended;
        static const char msg[] = "{\"message\":\"server shutting down\"}";
        cm_http_respond(r, 503, "application/json", msg, sizeof(msg) - 1, NULL);
    }
    if (srv->d) {
        MHD_run(srv->d);
        MHD_stop_daemon(srv->d);
        srv->d = NULL;
    }
    cm_loop_remove(srv->fdsrc);
    cm_loop_remove(srv->timer);
    if (srv->tls_key)
        explicit_bzero(srv->tls_key, strlen(srv->tls_key));
    free(srv->tls_cert);
    free(srv->tls_key);
    free(srv);
    return NULL;
}

uint16_t
cm_http_server_port(const struct cm_http_server *srv)
{
    return srv->port;
}

const char *
cm_http_request_method(const struct cm_http_request *req)
{
    return req->method;
}

const char *
cm_http_request_path(const struct cm_http_request *req)
{
    return req->path;
}

const char *
cm_http_request_header(const struct cm_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
cm_http_request_query(const struct cm_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
cm_http_request_body(const struct cm_http_request *req, size_t *ret_len)
{
    if (ret_len)
        *ret_len = req->len;
    return req->body;
}

bool
cm_http_request_too_large(const struct cm_http_request *req)
{
    return req->too_large;
}

void
cm_http_request_set_data(struct cm_http_request *req, void *data, void (*free_fn)(void *))
{
    req->data = data;
    req->free_fn = free_fn;
}

void *
cm_http_request_get_data(const struct cm_http_request *req)
{
    return req->data;
}

int
cm_http_respond(struct cm_http_request *req, unsigned status, const char *content_type,
                const char *body, size_t len, const char *const *headers)
{
    if (req->answered)
        return -1;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        abort();
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    req->answered = true;
    req->pending = resp;
    req->pending_status = status;
    req->want_suspend = false;
    if (req->suspended) {
        req->suspended = false;
        suspended_unlink(req);
        MHD_resume_connection(req->conn);
        /* Without an internal thread MHD does not wake itself: run it soon
         * (not from here, we may be inside one of its callbacks). */
        req->srv->resumed = true;
        cm_loop_timer_set(req->srv->timer, 1, 0, NULL);
    }
    return 0;
}

void
cm_http_suspend(struct cm_http_request *req)
{
    if (!req->answered)
        req->want_suspend = true;
}
