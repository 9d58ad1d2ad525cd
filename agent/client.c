/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP client for skiffd's agent API over libcurl (easy for calls, multi for the poll). */
#include "agent/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"

struct body {
    char *data;
    size_t len, cap;
    bool too_big;
};

struct agent_client {
    char *endpoint;
    char *auth;
    char *ca_file; /* NULL: the system's CAs */
    bool https;
    CURL *call; /* kept for its connection: no TLS handshake per report */
    char call_errbuf[CURL_ERROR_SIZE];
    CURLM *multi;
    CURL *poll;
    struct curl_slist *poll_hdrs;
    char *poll_req;
    struct body poll_body;
    bool poll_done;
    CURLcode poll_rc;
    char poll_errbuf[CURL_ERROR_SIZE];
};

static size_t
on_data(char *ptr, size_t size, size_t n, void *userdata)
{
    struct body *b = userdata;
    size_t len = size * n;

    if (b->len + len > AGENT_CLIENT_MAX_BODY) {
        b->too_big = true;
        return 0; /* aborts the transfer */
    }
    b->data = xreallocarray_grow(b->data, &b->cap, b->len + len + 1, 1);
    memcpy(b->data + b->len, ptr, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

struct agent_client *
agent_client_new(const char *endpoint, const char *token, const char *ca_file)
{
    struct agent_client *c = xcalloc(1, sizeof *c);
    size_t n = strlen(endpoint);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    c->endpoint = xstrndup(endpoint, n);
    c->auth = xasprintf("Authorization: Bearer %s", token);
    c->https = strncasecmp(c->endpoint, "https://", 8) == 0;
    c->ca_file = ca_file ? xstrdup(ca_file) : NULL;
    c->multi = curl_multi_init();
    return c;
}

static void
poll_reset(struct agent_client *c)
{
    if (c->poll) {
        curl_multi_remove_handle(c->multi, c->poll);
        curl_easy_cleanup(c->poll);
        c->poll = NULL;
    }
    curl_slist_free_all(c->poll_hdrs);
    c->poll_hdrs = NULL;
    free(c->poll_req);
    c->poll_req = NULL;
    free(c->poll_body.data);
    memset(&c->poll_body, 0, sizeof c->poll_body);
    c->poll_done = false;
}

struct agent_client *
agent_client_free(struct agent_client *c)
{
    if (!c)
        return NULL;
    poll_reset(c);
    if (c->call)
        curl_easy_cleanup(c->call);
    curl_multi_cleanup(c->multi);
    free(c->endpoint);
    free(c->auth);
    free(c->ca_file);
    free(c);
    return NULL;
}

/* Sets up e (a new handle if NULL) for one POST. */
static CURL *
make_easy(struct agent_client *c, CURL *e, const char *path, const char *req, long timeout_ms,
          struct curl_slist **hdrs, struct body *b, char *errbuf)
{
    if (!e)
        e = curl_easy_init();
    if (!e)
        abort(); /* out of memory */
    cleanup_free char *url = xasprintf("%s/agent/v1/%s", c->endpoint, path);

    *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    *hdrs = curl_slist_append(*hdrs, c->auth);
    *hdrs = curl_slist_append(*hdrs, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
    errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    /* Only the endpoint's own scheme: an https endpoint is never spoken to
     * in clear, and verification stays on (curl's default, said here). */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->https ? "https" : "http");
    if (c->https) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
        if (c->ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    }
    return e;
}

/* A transport failure, with what to do about TLS ones. */
static int
transport_error(const struct agent_client *c, CURLcode rc, const char *errbuf, const char *path,
                struct cm_error **err)
{
    const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);

    if (rc == CURLE_PEER_FAILED_VERIFICATION)
        return cm_error_set(err, EKEYREJECTED,
                            "skiffd %s: TLS certificate verification failed for '%s': %s "
                            "(trusting %s; give the CA that signed skiffd's certificate "
                            "with --ca-file)",
                            path, c->endpoint, why,
                            c->ca_file ? c->ca_file : "the system's CA certificates");
    if (rc == CURLE_SSL_CACERT_BADFILE)
        return cm_error_set(err, EKEYREJECTED, "skiffd %s: TLS: cannot use the CA file '%s': %s",
                            path, c->ca_file ? c->ca_file : "(system default)", why);
    if (rc == CURLE_SSL_CONNECT_ERROR)
        return cm_error_set(err, EPROTO, "skiffd %s: TLS handshake with '%s' failed: %s", path,
                            c->endpoint, why);
    if (rc == CURLE_GOT_NOTHING && !c->https)
        return cm_error_set(err, EHOSTUNREACH,
                            "skiffd %s: %s (if skiffd serves HTTPS, use an https:// endpoint)",
                            path, why);
    return cm_error_set(err, EHOSTUNREACH, "skiffd %s: %s", path, why);
}

/* Turns a finished transfer into a JSON answer or an error. */
static int
finish(const struct agent_client *c, CURL *e, CURLcode rc, struct body *b, const char *errbuf,
       const char *path, json_t **ret, long *ret_status, struct cm_error **err)
{
    long status = 0;
    json_error_t jerr;
    json_t *j;

    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (ret_status)
        *ret_status = status;
    if (b->too_big)
        return cm_error_set(err, EFBIG, "skiffd %s: answer over %u bytes", path,
                            AGENT_CLIENT_MAX_BODY);
    if (rc != CURLE_OK)
        return transport_error(c, rc, errbuf, path, err);
    j = b->len ? json_loadb(b->data, b->len, 0, &jerr) : NULL;
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
    cleanup_free char *req = json_dumps(body, JSON_COMPACT);
    struct curl_slist *hdrs = NULL;
    struct body b = {0};
    CURL *e = c->call = make_easy(c, c->call, path, req, timeout_ms, &hdrs, &b, c->call_errbuf);
    CURLcode rc = curl_easy_perform(e);
    int r = finish(c, e, rc, &b, c->call_errbuf, path, ret, ret_status, err);

    /* Forget this call's options (they point at freed memory), keep the
     * handle's connection for the next call. */
    curl_easy_reset(e);
    curl_slist_free_all(hdrs);
    free(b.data);
    return r;
}

int
agent_client_poll_start(struct agent_client *c, json_t *body, long timeout_ms,
                        struct cm_error **err)
{
    if (c->poll)
        return cm_error_set(err, EBUSY, "a poll is already running");
    c->poll_req = json_dumps(body, JSON_COMPACT);
    c->poll = make_easy(c, NULL, "poll", c->poll_req, timeout_ms, &c->poll_hdrs, &c->poll_body,
                        c->poll_errbuf);
    if (curl_multi_add_handle(c->multi, c->poll) != CURLM_OK) {
        poll_reset(c);
        return cm_error_set(err, EIO, "cannot start the poll");
    }
    return 0;
}

bool
agent_client_poll_active(const struct agent_client *c)
{
    return c->poll != NULL;
}

int
agent_client_wait(struct agent_client *c, int extra_fd, int timeout_ms, struct cm_error **err)
{
    struct curl_waitfd extra = {.fd = extra_fd, .events = CURL_WAIT_POLLIN};
    int running = 0;
    CURLMsg *m;
    int left;

    if (curl_multi_poll(c->multi, extra_fd >= 0 ? &extra : NULL, extra_fd >= 0 ? 1 : 0, timeout_ms,
                        NULL) != CURLM_OK)
        return cm_error_set(err, EIO, "curl_multi_poll failed");
    curl_multi_perform(c->multi, &running);
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == c->poll) {
            c->poll_done = true;
            c->poll_rc = m->data.result;
        }
    }
    return 0;
}

int
agent_client_poll_result(struct agent_client *c, json_t **ret, long *ret_status,
                         struct cm_error **err)
{
    int r;

    if (!c->poll || !c->poll_done)
        return 0;
    r = finish(c, c->poll, c->poll_rc, &c->poll_body, c->poll_errbuf, "poll", ret, ret_status, err);
    poll_reset(c);
    return r < 0 ? -1 : 1;
}
