/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 client for skiffd's agent API: a small one over plain sockets,
 * not libcurl, because loading libcurl and OpenSSL alone costs the agent more
 * resident memory (~9 MiB) than its whole budget. An https endpoint uses
 * GnuTLS, loaded (dlopen) at the first https connection only: an agent on
 * plain HTTP does not need it, and one serving logs has it mapped already
 * (libmicrohttpd), so it costs far less than OpenSSL 3. Connections are kept alive
 * (one for calls, one for the poll: no TLS handshake per report); answers
 * with Content-Length, chunked transfer coding or up to EOF; bodies limited
 * to AGENT_CLIENT_MAX_BODY. */
#include "agent/client.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"

#define MAX_HEADER (64u << 10)

/* ---- GnuTLS, loaded on demand ---- */

/* GnuTLS 3's soname (Debian 12's libgnutls30). */
#define LIBTLS_SONAME "libgnutls.so.30"
/* As skiffd's server (CM_HTTP_TLS_PRIORITIES): TLS 1.2 and 1.3 only. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Every GnuTLS function used, called through pointers of the header's own
 * types (checked by the compiler); none is linked, so none is loaded early. */
#define TLS_FUNCS(X)                                                                               \
    X(gnutls_certificate_allocate_credentials)                                                     \
    X(gnutls_certificate_free_credentials)                                                         \
    X(gnutls_certificate_set_x509_trust_file)                                                      \
    X(gnutls_certificate_set_x509_system_trust)                                                    \
    X(gnutls_init)                                                                                 \
    X(gnutls_deinit)                                                                               \
    X(gnutls_priority_set_direct)                                                                  \
    X(gnutls_credentials_set)                                                                      \
    X(gnutls_server_name_set)                                                                      \
    X(gnutls_session_set_verify_cert)                                                              \
    X(gnutls_session_get_verify_cert_status)                                                       \
    X(gnutls_transport_set_int2)                                                                   \
    X(gnutls_handshake)                                                                            \
    X(gnutls_record_get_direction)                                                                 \
    X(gnutls_record_send)                                                                          \
    X(gnutls_record_recv)                                                                          \
    X(gnutls_strerror)

#define TLS_DECL(f) __typeof__(f) *f;
static struct {
    bool tried;
    char *why; /* why it could not be loaded */
    TLS_FUNCS(TLS_DECL)
} tls;

/* 0, or -1 with *why (borrowed). The handle stays open for the process. */
static int
tls_load(const char **why)
{
    void *h;

    if (tls.tried) {
        *why = tls.why;
        return tls.why ? -1 : 0;
    }
    tls.tried = true;
    h = dlopen(LIBTLS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        tls.why = xasprintf("cannot load %s (%s)", LIBTLS_SONAME, dlerror());
        *why = tls.why;
        return -1;
    }
#define TLS_LOAD(f)                                                                                \
    {                                                                                              \
        void *p = dlsym(h, #f);                                                                    \
        if (!p && !tls.why)                                                                        \
            tls.why = xasprintf("%s has no %s", LIBTLS_SONAME, #f);                                \
        memcpy(&tls.f, &p, sizeof p);                                                              \
    }
    TLS_FUNCS(TLS_LOAD)
#undef TLS_LOAD
    *why = tls.why;
    return tls.why ? -1 : 0;
}

/* Why a certificate did not verify, from GnuTLS's status bits. */
static const char *
verify_reason(unsigned status)
{
    if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
        return "the certificate does not name this host (name mismatch)";
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
        return "unable to get local issuer certificate (its issuer is not trusted)";
    if (status & GNUTLS_CERT_EXPIRED)
        return "the certificate has expired";
    if (status & GNUTLS_CERT_NOT_ACTIVATED)
        return "the certificate is not yet valid";
    if (status & GNUTLS_CERT_REVOKED)
        return "the certificate is revoked";
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
        return "the certificate uses an insecure algorithm";
    if (status & GNUTLS_CERT_SIGNER_NOT_CA)
        return "the certificate's signer is not a CA";
    return "the certificate is invalid";
}

/* ---- connections and exchanges ---- */

enum xstate { X_CONNECTING, X_HANDSHAKE, X_SENDING, X_RECEIVING, X_DONE };

struct conn {
    int fd; /* -1: none */
    gnutls_session_t tls;
};

struct agent_client;

/* One request/answer exchange. */
struct xfer {
    struct agent_client *c;
    struct conn *slot; /* where a kept-alive connection goes back */
    struct conn conn;
    bool reused;  /* the connection served an earlier exchange */
    bool retried; /* already reconnected once */
    enum xstate st;
    uint32_t want; /* what TLS waits for (EPOLLIN/EPOLLOUT), 0: by state */
    char *req;
    size_t req_len, req_off;
    char *buf;
    size_t len, cap;
    int64_t deadline;
    int fail_code;  /* errno-like, 0 = none */
    char *fail_msg; /* transport failure */
};

struct agent_client {
    char *host, *port, *base, *hostport, *endpoint;
    bool https, host_is_ip;
    char *token;
    char *ca_file;
    gnutls_certificate_credentials_t cred;
    struct conn idle_call, idle_poll;
    struct xfer *poll;
};

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
conn_close(struct conn *k)
{
    if (k->tls)
        tls.gnutls_deinit(k->tls);
    k->tls = NULL;
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
}

struct agent_client *
agent_client_new(const char *endpoint, const char *token, const char *ca_file)
{
    struct agent_client *c = xcalloc(1, sizeof *c);
    const char *p = endpoint, *hs, *he, *slash;
    unsigned char addr[16];
    size_t n;

    if (strncasecmp(p, "https://", 8) == 0) {
        c->https = true;
        p += 8;
    } else if (strncasecmp(p, "http://", 7) == 0) {
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
    c->host_is_ip =
        inet_pton(AF_INET, c->host, addr) == 1 || inet_pton(AF_INET6, c->host, addr) == 1;
    c->hostport = xstrndup(hs, (size_t)(he - hs));
    n = slash ? strlen(slash) : 0;
    while (n > 0 && slash[n - 1] == '/')
        n--;
    c->base = slash ? xstrndup(slash, n) : xstrdup("");
    c->endpoint = xasprintf("%s://%s%s", c->https ? "https" : "http", c->hostport, c->base);
    c->token = xstrdup(token);
    c->ca_file = ca_file ? xstrdup(ca_file) : NULL;
    c->idle_call.fd = c->idle_poll.fd = -1;
    return c;
}

static struct xfer *
xfer_free(struct xfer *x)
{
    if (!x)
        return NULL;
    conn_close(&x->conn);
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
    conn_close(&c->idle_call);
    conn_close(&c->idle_poll);
    if (c->cred)
        tls.gnutls_certificate_free_credentials(c->cred);
    free(c->host);
    free(c->port);
    free(c->base);
    free(c->hostport);
    free(c->endpoint);
    free(c->token);
    free(c->ca_file);
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

/* Plain HTTP that got nothing (or a TLS record) back: likely skiffd's HTTPS port. */
static void
xfer_fail_plain(struct xfer *x, int code, const char *msg)
{
    cleanup_free char *m = NULL;

    if (x->c->https) {
        xfer_fail(x, code, msg);
        return;
    }
    m = xasprintf("%s%s%s (if skiffd serves HTTPS, use an https:// endpoint)", msg,
                  code ? ": " : "", code ? strerror(code) : "");
    xfer_fail(x, 0, m);
    x->fail_code = code ? code : EPROTO;
}

/* The trusted CAs: the CA file or the system's. */
static bool
tls_cred(struct xfer *x)
{
    struct agent_client *c = x->c;
    const char *why = NULL;
    int r;

    if (c->cred)
        return true;
    if (tls_load(&why) < 0) {
        cleanup_free char *m = xasprintf("TLS: %s", why);
        xfer_fail(x, 0, m);
        x->fail_code = EPROTO;
        return false;
    }
    if (tls.gnutls_certificate_allocate_credentials(&c->cred) < 0) {
        c->cred = NULL;
        xfer_fail(x, ENOMEM, "TLS credentials");
        return false;
    }
    r = c->ca_file
            ? tls.gnutls_certificate_set_x509_trust_file(c->cred, c->ca_file, GNUTLS_X509_FMT_PEM)
            : tls.gnutls_certificate_set_x509_system_trust(c->cred);
    if (r <= 0) {
        cleanup_free char *m = xasprintf("TLS: cannot use the CA file '%s': %s",
                                         c->ca_file ? c->ca_file : "(system default)",
                                         r < 0 ? tls.gnutls_strerror(r) : "no certificate in it");
        tls.gnutls_certificate_free_credentials(c->cred);
        c->cred = NULL;
        xfer_fail(x, 0, m);
        x->fail_code = EKEYREJECTED;
        return false;
    }
    return true;
}

/* Opens a new connection (non-blocking) for x; the old one, if any, is
 * closed only after, so that the new socket never gets its number (a loop
 * watching the old one would take it for the same). */
static void
xfer_connect(struct xfer *x)
{
    struct agent_client *c = x->c;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    struct conn old = x->conn;
    int r, fd = -1;

    x->conn = (struct conn){.fd = -1};
    x->reused = false;
    x->want = 0;
    x->req_off = 0;
    x->len = 0;
    if (c->https && !tls_cred(x))
        goto out;
    r = getaddrinfo(c->host, c->port, &hints, &res);
    if (r != 0 || !res) {
        cleanup_free char *m = xasprintf("resolve '%s': %s", c->host, gai_strerror(r));
        xfer_fail(x, 0, m);
        x->fail_code = EHOSTUNREACH;
        goto out;
    }
    /* Each address in turn while connecting fails at once ("localhost" as
     * ::1 with skiffd on 127.0.0.1 only); one still under way is kept. */
    r = -1;
    errno = EHOSTUNREACH;
    for (struct addrinfo *ai = res; ai && r < 0; ai = ai->ai_next) {
        if (fd >= 0)
            close(fd);
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS)
            break;
    }
    freeaddrinfo(res);
    if (r < 0 && errno != EINPROGRESS) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        xfer_fail(x, e, "connect");
        goto out;
    }
    x->conn.fd = fd;
    x->st = X_CONNECTING;
    if (c->https) {
        if (tls.gnutls_init(&x->conn.tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0) {
            x->conn.tls = NULL;
            xfer_fail(x, ENOMEM, "TLS session");
            goto out;
        }
        if (tls.gnutls_priority_set_direct(x->conn.tls, TLS_PRIORITIES, NULL) < 0 ||
            tls.gnutls_credentials_set(x->conn.tls, GNUTLS_CRD_CERTIFICATE, c->cred) < 0) {
            xfer_fail(x, EINVAL, "TLS session");
            goto out;
        }
        /* The certificate must name what the endpoint names (a DNS name or an
         * IP address SAN); SNI for names only. */
        tls.gnutls_session_set_verify_cert(x->conn.tls, c->host, 0);
        if (!c->host_is_ip)
            tls.gnutls_server_name_set(x->conn.tls, GNUTLS_NAME_DNS, c->host, strlen(c->host));
        tls.gnutls_transport_set_int2(x->conn.tls, fd, fd);
    }
out:
    conn_close(&old);
}

/* Whether a kept connection still looks usable: nothing to read (an idle
 * server that closed it makes it readable, with EOF or a TLS alert). */
static bool
conn_alive(const struct conn *k)
{
    struct pollfd p = {.fd = k->fd, .events = POLLIN};
    return k->fd >= 0 && poll(&p, 1, 0) == 0;
}

/* Starts the exchange on slot's kept connection or a new one. */
static struct xfer *
xfer_start(struct agent_client *c, struct conn *slot, const char *path, json_t *body,
           long timeout_ms)
{
    struct xfer *x = xcalloc(1, sizeof *x);
    cleanup_free char *data = json_dumps(body, JSON_COMPACT);

    x->c = c;
    x->slot = slot;
    x->conn.fd = -1;
    x->deadline = mono_ms() + timeout_ms;
    x->req = xasprintf("POST %s/agent/v1/%s HTTP/1.1\r\nHost: %s\r\n"
                       "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       c->base, path, c->hostport, c->token, strlen(data), data);
    x->req_len = strlen(x->req);
    if (conn_alive(slot)) {
        x->conn = *slot;
        *slot = (struct conn){.fd = -1};
        x->reused = true;
        x->st = X_SENDING;
        return x;
    }
    conn_close(slot);
    xfer_connect(x);
    return x;
}

static uint32_t
xfer_events(const struct xfer *x)
{
    if (x->want)
        return x->want;
    return x->st == X_CONNECTING || x->st == X_SENDING ? EPOLLOUT : x->st == X_DONE ? 0 : EPOLLIN;
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
static size_t buf_header_end(const char *buf, size_t len);

static size_t
header_end(const struct xfer *x)
{
    return buf_header_end(x->buf, x->len);
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
is_chunked(const char *buf, size_t hend)
{
    size_t vl;
    const char *v = header_value(buf, hend, "Transfer-Encoding", &vl);
    return v && vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0;
}

/* Where the header of buf ends (past the blank line), 0 while incomplete. */
static size_t
buf_header_end(const char *buf, size_t len)
{
    const char *e = len ? memmem(buf, len, "\r\n\r\n", 4) : NULL;
    return e ? (size_t)(e - buf) + 4 : 0;
}

bool
agent_client_answer_complete(const char *buf, size_t len)
{
    size_t hend = buf_header_end(buf, len), vl;
    const char *v;

    if (!hend)
        return false;
    v = header_value(buf, hend, "Content-Length", &vl);
    if (v)
        return len - hend >= strtoull(v, NULL, 10);
    if (is_chunked(buf, hend))
        return chunked_complete(buf, len, hend);
    return false; /* up to EOF */
}

static bool
answer_complete(const struct xfer *x)
{
    return agent_client_answer_complete(x->buf, x->len);
}

/* Whether the connection can serve the next exchange: an HTTP/1.1 answer
 * framed by its length, and no "Connection: close". */
static bool
answer_keeps_alive(const struct xfer *x)
{
    size_t hend = header_end(x), vl;
    const char *v;

    if (!hend || strncmp(x->buf, "HTTP/1.1 ", 9) != 0)
        return false;
    v = header_value(x->buf, hend, "Connection", &vl);
    if (v && vl == 5 && strncasecmp(v, "close", 5) == 0)
        return false;
    return header_value(x->buf, hend, "Content-Length", &vl) || is_chunked(x->buf, hend);
}

/* A kept connection the server had closed in the meantime (EOF or reset
 * before any answer): one new connection and the request again. The request
 * never reached skiffd's handler then. */
static bool
xfer_retry(struct xfer *x)
{
    if (!x->reused || x->retried || x->len > 0)
        return false;
    x->retried = true;
    xfer_connect(x);
    return true;
}

enum io_result { IO_OK, IO_AGAIN, IO_EOF, IO_ERR };

/* What a failed GnuTLS call (r < 0) means: waiting (x->want set), EOF or an
 * error (*tls_err = r). */
static enum io_result
tls_result(struct xfer *x, int r, int *tls_err)
{
    *tls_err = 0;
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
        x->want = tls.gnutls_record_get_direction(x->conn.tls) ? EPOLLOUT : EPOLLIN;
        return IO_AGAIN;
    }
    if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PUSH_ERROR || r == GNUTLS_E_PULL_ERROR)
        return IO_EOF;
    *tls_err = r;
    return IO_ERR;
}

static void
handshake_failed(struct xfer *x, int tls_err)
{
    struct agent_client *c = x->c;
    cleanup_free char *m = NULL;

    if (tls_err == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        m = xasprintf("TLS certificate verification failed for '%s': %s (trusting %s; give the "
                      "CA that signed skiffd's certificate with --ca-file)",
                      c->endpoint,
                      verify_reason(tls.gnutls_session_get_verify_cert_status(x->conn.tls)),
                      c->ca_file ? c->ca_file : "the system's CA certificates");
        xfer_fail(x, 0, m);
        x->fail_code = EKEYREJECTED;
        return;
    }
    m = xasprintf("TLS handshake with '%s' failed: %s", c->endpoint,
                  tls_err ? tls.gnutls_strerror(tls_err) : "connection closed by the server");
    xfer_fail(x, 0, m);
    x->fail_code = EPROTO;
}

/* One write of what is left of the request. */
static enum io_result
xfer_send(struct xfer *x, int *tls_err)
{
    const char *p = x->req + x->req_off;
    size_t left = x->req_len - x->req_off;
    ssize_t n;

    *tls_err = 0;
    if (x->conn.tls) {
        n = tls.gnutls_record_send(x->conn.tls, p, left);
        if (n < 0)
            return tls_result(x, (int)n, tls_err);
    } else {
        n = send(x->conn.fd, p, left, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR || errno == ENOTCONN ? IO_AGAIN
                   : errno == EPIPE || errno == ECONNRESET                ? IO_EOF
                                                                          : IO_ERR;
    }
    x->req_off += (size_t)n;
    return IO_OK;
}

/* One read into the answer buffer. */
static enum io_result
xfer_recv(struct xfer *x, int *tls_err)
{
    size_t room = x->cap - x->len - 1;
    ssize_t n;

    *tls_err = 0;
    if (x->conn.tls) {
        n = tls.gnutls_record_recv(x->conn.tls, x->buf + x->len, room);
        if (n < 0)
            return tls_result(x, (int)n, tls_err);
        if (n == 0)
            return IO_EOF;
    } else {
        n = recv(x->conn.fd, x->buf + x->len, room, 0);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? IO_AGAIN
                   : errno == ECONNRESET             ? IO_EOF
                                                     : IO_ERR;
        if (n == 0)
            return IO_EOF;
    }
    x->len += (size_t)n;
    x->buf[x->len] = '\0';
    return IO_OK;
}

static void
io_failed(struct xfer *x, int tls_err, const char *what)
{
    cleanup_free char *m = NULL;

    if (!tls_err) {
        xfer_fail(x, errno, what);
        return;
    }
    m = xasprintf("%s: TLS: %s", what, tls.gnutls_strerror(tls_err));
    xfer_fail(x, 0, m);
    x->fail_code = EPROTO;
}

/* Advances the exchange as far as it goes without blocking. */
static void
xfer_io(struct xfer *x)
{
    int tls_err;

    x->want = 0;
    if (x->st == X_CONNECTING) {
        struct pollfd p = {.fd = x->conn.fd, .events = POLLOUT};
        int e = 0;
        socklen_t el = sizeof e;
        if (poll(&p, 1, 0) == 0)
            return; /* still connecting */
        if (getsockopt(x->conn.fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
            e = errno;
        if (e == EINPROGRESS || e == EALREADY)
            return;
        if (e) {
            xfer_fail(x, e, "connect");
            return;
        }
        x->st = x->conn.tls ? X_HANDSHAKE : X_SENDING;
    }
    if (x->st == X_HANDSHAKE) {
        int r = tls.gnutls_handshake(x->conn.tls);
        if (r < 0) {
            enum io_result ir = tls_result(x, r, &tls_err);
            if (ir != IO_AGAIN)
                handshake_failed(x, tls_err);
            return;
        }
        x->st = X_SENDING;
    }
    while (x->st == X_SENDING) {
        errno = 0;
        switch (xfer_send(x, &tls_err)) {
        case IO_AGAIN:
            return;
        case IO_EOF:
            if (xfer_retry(x))
                return; /* connecting anew: wait for it */
            xfer_fail_plain(x, errno, "send");
            return;
        case IO_ERR:
            io_failed(x, tls_err, "send");
            return;
        case IO_OK:
            if (x->req_off == x->req_len)
                x->st = X_RECEIVING;
        }
    }
    while (x->st == X_RECEIVING) {
        if (x->len + 4096 + 1 > x->cap) {
            if (x->cap > AGENT_CLIENT_MAX_BODY + MAX_HEADER) {
                xfer_fail(x, EFBIG, "answer too big");
                return;
            }
            x->buf = xreallocarray_grow(x->buf, &x->cap, x->len + 4096 + 1, 1);
        }
        errno = 0;
        switch (xfer_recv(x, &tls_err)) {
        case IO_AGAIN:
            return;
        case IO_EOF:
            if (xfer_retry(x))
                return;
            if (x->len == 0) {
                xfer_fail_plain(x, errno, "connection closed without an answer");
                return;
            }
            x->st = X_DONE;
            return;
        case IO_ERR:
            io_failed(x, tls_err, "receive");
            return;
        case IO_OK:
            if (answer_complete(x)) {
                x->st = X_DONE;
                /* Framed and not closing: the connection serves the next exchange. */
                if (answer_keeps_alive(x) && x->slot->fd < 0) {
                    *x->slot = x->conn;
                    x->conn = (struct conn){.fd = -1};
                }
            }
        }
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
    if (ret_status)
        *ret_status = 0;
    if (x->fail_msg) {
        int code = x->fail_code == EFBIG || x->fail_code == EKEYREJECTED || x->fail_code == EPROTO
                       ? x->fail_code
                       : EHOSTUNREACH;
        return cm_error_set(err, code, "skiffd %s: %s", path, x->fail_msg);
    }
    return agent_client_parse_answer(x->buf, x->len, x->c->https, path, ret, ret_status, err);
}

int
agent_client_parse_answer(char *buf, size_t len, bool https, const char *path, json_t **ret,
                          long *ret_status, struct cm_error **err)
{
    size_t hend, vl, blen;
    long status = 0;
    const char *v;
    char *body;
    json_error_t jerr;
    json_t *j;

    if (ret_status)
        *ret_status = 0;
    hend = buf_header_end(buf, len);
    if (!hend || sscanf(buf, "HTTP/1.%*d %ld", &status) != 1) {
        /* A TLS record (an alert) in answer to plain HTTP: skiffd's HTTPS port. */
        if (!https && len > 0 && (buf[0] == 0x15 || buf[0] == 0x16))
            return cm_error_set(err, EHOSTUNREACH,
                                "skiffd %s: not an HTTP answer (if skiffd serves HTTPS, use an "
                                "https:// endpoint)",
                                path);
        return cm_error_set(err, EHOSTUNREACH, "skiffd %s: not an HTTP answer", path);
    }
    if (ret_status)
        *ret_status = status;
    body = buf + hend;
    blen = len - hend;
    v = header_value(buf, hend, "Content-Length", &vl);
    if (v) {
        unsigned long long cl = strtoull(v, NULL, 10);
        if (cl > blen)
            return cm_error_set(err, EHOSTUNREACH, "skiffd %s: answer cut short", path);
        blen = (size_t)cl;
    } else if (is_chunked(buf, hend)) {
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
    struct xfer *x = xfer_start(c, &c->idle_call, path, body, timeout_ms);
    int r;

    xfer_io(x);
    while (x->st != X_DONE) {
        int64_t left = x->deadline - mono_ms();
        uint32_t ev = xfer_events(x);
        struct pollfd pfd = {.fd = x->conn.fd, .events = (ev & EPOLLOUT) ? POLLOUT : POLLIN};
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
    c->poll = xfer_start(c, &c->idle_poll, "poll", body, timeout_ms);
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
    if (!c->poll || c->poll->st == X_DONE || c->poll->conn.fd < 0)
        return -1;
    *ret_events = xfer_events(c->poll);
    return c->poll->conn.fd;
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
