/* SPDX-License-Identifier: Apache-2.0 */
/* Registry client (OCI distribution spec) over libcurl. */
#include "img/registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/json.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "img/auth.h"
#include "img/digest.h"
#include "img/manifest.h"

#define ERROR_BODY_MAX 2048
#define TOKEN_BODY_MAX (256u << 10)
#define SYSTEM_CA_PATH "/etc/ssl/certs"
#define USER_AGENT "skiff/0.1"

static const char manifest_accept[] = "Accept: " IMG_MT_OCI_INDEX ", " IMG_MT_OCI_MANIFEST
                                      ", " IMG_MT_DOCKER_LIST ", " IMG_MT_DOCKER_MANIFEST ";q=0.9";

struct token {
    char *registry;
    char *scope;
    char *header; /* "Authorization: Bearer ..." */
    time_t expires;
};

struct hostauth {
    char *registry;
    bool basic; /* the registry asked for basic auth */
};

struct img_registry {
    pthread_mutex_t lock;
    char **insecure;
    char *certs_dir;
    char *auth_file;
    char *username, *password;
    int retries;
    struct token *tokens;
    size_t n_tokens, cap_tokens;
    struct hostauth *hosts;
    size_t n_hosts, cap_hosts;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
}

struct img_registry *
img_registry_new(const struct img_registry_opts *o)
{
    struct img_registry *r = xcalloc(1, sizeof(*r));

    pthread_once(&curl_once, curl_init_once);
    pthread_mutex_init(&r->lock, NULL);
    r->insecure = xstrv_dup(o && o->insecure ? o->insecure : NULL);
    r->certs_dir = o && o->certs_dir ? xstrdup(o->certs_dir) : NULL;
    r->auth_file = o && o->auth_file ? xstrdup(o->auth_file) : img_auth_default_file();
    r->username = o && o->username ? xstrdup(o->username) : NULL;
    r->password = o && o->password ? xstrdup(o->password) : NULL;
    r->retries = o && o->retries > 0 ? o->retries : 5;
    return r;
}

struct img_registry *
img_registry_free(struct img_registry *r)
{
    if (!r)
        return NULL;
    cm_strv_free(r->insecure);
    free(r->certs_dir);
    free(r->auth_file);
    free(r->username);
    free(r->password);
    for (size_t i = 0; i < r->n_tokens; i++) {
        free(r->tokens[i].registry);
        free(r->tokens[i].scope);
        free(r->tokens[i].header);
    }
    free(r->tokens);
    for (size_t i = 0; i < r->n_hosts; i++)
        free(r->hosts[i].registry);
    free(r->hosts);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return NULL;
}

static bool
is_insecure(struct img_registry *r, const char *registry)
{
    for (char **p = r->insecure; p && *p; p++)
        if (!strcmp(*p, registry))
            return true;
    return false;
}

static char *
base_url(struct img_registry *r, const char *registry)
{
    const char *host = !strcmp(registry, "docker.io") ? "registry-1.docker.io" : registry;
    return xasprintf("%s://%s", is_insecure(r, registry) ? "http" : "https", host);
}

/* containers-certs.d: DIR/HOST:PORT/ca.crt (or any *.crt there). */
static char *
find_ca(struct img_registry *r, const char *registry)
{
    const char *defaults[] = {"/etc/containers/certs.d", "/etc/docker/certs.d", NULL};
    const char *one[] = {r->certs_dir, NULL};
    const char **dirs = r->certs_dir ? one : defaults;

    for (const char **d = dirs; *d; d++) {
        char *p = xasprintf("%s/%s/ca.crt", *d, registry);
        cleanup_free char *dir = NULL;
        cleanup_dir DIR *dh = NULL;
        struct dirent *de;
        if (access(p, R_OK) == 0)
            return p;
        free(p);
        dir = xasprintf("%s/%s", *d, registry);
        dh = opendir(dir);
        while (dh && (de = readdir(dh))) {
            size_t n = strlen(de->d_name);
            if (n > 4 && !strcmp(de->d_name + n - 4, ".crt"))
                return xasprintf("%s/%s", dir, de->d_name);
        }
    }
    return NULL;
}

/* --- one HTTP exchange ---------------------------------------------------- */

struct req {
    /* body handling */
    img_blob_sink_fn sink;
    void *ud;
    char *body;
    size_t len, max;
    uint64_t skip;       /* leading bytes to drop (a server that ignored Range) */
    uint64_t range_from; /* 0: no Range header */
    uint64_t delivered;
    bool started; /* this attempt has seen body bytes */
    struct cm_error *sink_err;
    bool too_big;
    /* response */
    CURL *curl;
    long status;
    char *content_type;
    char *docker_digest;
    char *www_auth;
    char *content_range;
    char *errbody;
    size_t errlen;
};

static void
req_reset_response(struct req *q)
{
    free(q->content_type);
    free(q->docker_digest);
    free(q->www_auth);
    free(q->content_range);
    free(q->errbody);
    q->content_type = q->docker_digest = q->www_auth = q->content_range = q->errbody = NULL;
    q->errlen = 0;
    q->status = 0;
}

static char *
header_value(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n <= k + 1 || strncasecmp(line, name, k) || line[k] != ':')
        return NULL;
    const char *v = line + k + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    return xstrndup(v, (size_t)(end - v));
}

static size_t
header_cb(char *data, size_t size, size_t n, void *ud)
{
    struct req *q = ud;
    size_t len = size * n;
    char *v;

    if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
        /* A new response (after a redirect): forget the previous one's headers. */
        req_reset_response(q);
        return len;
    }
    if ((v = header_value(data, len, "content-type"))) {
        free(q->content_type);
        q->content_type = v;
    } else if ((v = header_value(data, len, "docker-content-digest"))) {
        free(q->docker_digest);
        q->docker_digest = v;
    } else if ((v = header_value(data, len, "content-range"))) {
        free(q->content_range);
        q->content_range = v;
    } else if ((v = header_value(data, len, "www-authenticate"))) {
        /* Prefer a bearer challenge when several are offered. */
        if (!q->www_auth || !strncasecmp(v, "bearer", 6)) {
            free(q->www_auth);
            q->www_auth = v;
        } else {
            free(v);
        }
    }
    return len;
}

static size_t
write_cb(char *data, size_t size, size_t n, void *ud)
{
    struct req *q = ud;
    size_t len = size * n;
    long status = 0;

    curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
        size_t room = ERROR_BODY_MAX - q->errlen;
        size_t take = len < room ? len : room;
        if (!q->errbody)
            q->errbody = xmalloc(ERROR_BODY_MAX + 1);
        memcpy(q->errbody + q->errlen, data, take);
        q->errlen += take;
        q->errbody[q->errlen] = '\0';
        return len;
    }
    if (!q->started) {
        q->started = true;
        if (q->range_from && status == 200) {
            /* The server ignored Range: drop what we already have. */
            q->skip = q->range_from;
        } else if (q->range_from && status == 206) {
            unsigned long long first = 0;
            if (!q->content_range || sscanf(q->content_range, "bytes %llu-", &first) != 1 ||
                first != q->range_from) {
                cm_error_set(&q->sink_err, EIO, "server answered Range %llu- with '%s'",
                             (unsigned long long)q->range_from,
                             q->content_range ? q->content_range : "no Content-Range");
                return 0;
            }
        }
    }
    if (q->skip) {
        size_t d = q->skip < len ? (size_t)q->skip : len;
        q->skip -= d;
        data += d;
        len -= d;
        if (!len)
            return size * n;
    }
    if (q->sink) {
        if (q->sink(q->ud, data, len, &q->sink_err) < 0)
            return 0;
        q->delivered += len;
        return size * n;
    }
    if (q->len + len > q->max) {
        q->too_big = true;
        return 0;
    }
    q->body = xrealloc(q->body, q->len + len + 1);
    memcpy(q->body + q->len, data, len);
    q->len += len;
    q->body[q->len] = '\0';
    return size * n;
}

static CURLcode
perform(struct img_registry *r, const char *registry, const char *url, const char *accept,
        const char *auth, struct req *q)
{
    struct curl_slist *hdrs = NULL;
    cleanup_free char *ca = NULL;
    char range[64];
    CURLcode rc;
    CURL *c = curl_easy_init();

    if (!c)
        return CURLE_OUT_OF_MEMORY;
    q->curl = c;
    req_reset_response(q);
    if (accept)
        hdrs = curl_slist_append(hdrs, accept);
    if (auth)
        hdrs = curl_slist_append(hdrs, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    if (q->range_from) {
        snprintf(range, sizeof(range), "%llu-", (unsigned long long)q->range_from);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    if (registry && (ca = find_ca(r, registry))) {
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        curl_easy_setopt(c, CURLOPT_CAPATH, SYSTEM_CA_PATH);
    }
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    q->curl = NULL;
    return rc;
}

static bool
retriable(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_PARTIAL_FILE || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM || rc == CURLE_SSL_CONNECT_ERROR;
}

static void
backoff(int attempt)
{
    unsigned ms = 250u << (attempt < 5 ? attempt : 5);
    if (ms > 4000)
        ms = 4000;
    usleep(ms * 1000);
}

/* --- auth ------------------------------------------------------------------ */

static void
credentials(struct img_registry *r, const char *registry, char **ret_user, char **ret_pass)
{
    cleanup_error struct cm_error *err = NULL;

    *ret_user = *ret_pass = NULL;
    if (r->username && r->password) {
        *ret_user = xstrdup(r->username);
        *ret_pass = xstrdup(r->password);
        return;
    }
    if (img_auth_lookup(r->auth_file, registry, ret_user, ret_pass, &err) < 0)
        cm_log_debug("auth file '%s': %s, ignoring", r->auth_file, err->msg);
}

static char *
basic_header(const char *user, const char *pass)
{
    cleanup_free char *up = xasprintf("%s:%s", user, pass);
    cleanup_free char *b = img_base64_encode(up, strlen(up));
    return xasprintf("Authorization: Basic %s", b);
}

/* The Authorization header to send first (cached token, or basic for hosts
 * that asked for it); NULL for anonymous. Caller frees. */
static char *
cached_auth(struct img_registry *r, const char *registry, const char *scope)
{
    char *h = NULL;
    time_t now = time(NULL);
    bool basic = false;

    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_tokens; i++)
        if (!strcmp(r->tokens[i].registry, registry) && !strcmp(r->tokens[i].scope, scope) &&
            r->tokens[i].expires > now) {
            h = xstrdup(r->tokens[i].header);
            break;
        }
    for (size_t i = 0; !h && i < r->n_hosts; i++)
        if (!strcmp(r->hosts[i].registry, registry))
            basic = r->hosts[i].basic;
    pthread_mutex_unlock(&r->lock);
    if (!h && basic) {
        cleanup_free char *u = NULL;
        cleanup_free char *p = NULL;
        credentials(r, registry, &u, &p);
        if (u)
            h = basic_header(u, p);
    }
    return h;
}

static void
remember_basic(struct img_registry *r, const char *registry)
{
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_hosts; i++)
        if (!strcmp(r->hosts[i].registry, registry)) {
            r->hosts[i].basic = true;
            pthread_mutex_unlock(&r->lock);
            return;
        }
    r->hosts = xreallocarray_grow(r->hosts, &r->cap_hosts, r->n_hosts + 1, sizeof(*r->hosts));
    r->hosts[r->n_hosts].registry = xstrdup(registry);
    r->hosts[r->n_hosts].basic = true;
    r->n_hosts++;
    pthread_mutex_unlock(&r->lock);
}

static int
fetch_token(struct img_registry *r, const char *registry, const struct img_challenge *ch,
            const char *scope, char **ret_header, struct cm_error **err)
{
    cleanup_free char *user = NULL;
    cleanup_free char *pass = NULL;
    cleanup_free char *auth = NULL;
    cleanup_free char *url = NULL;
    struct req q = {.max = TOKEN_BODY_MAX};
    json_auto_t *j = NULL;
    const char *tok = NULL;
    int64_t expires_in = 60;
    CURLcode rc = CURLE_OK;
    CURL *esc = curl_easy_init();
    char *es = NULL, *sc = NULL;

    if (!esc)
        return cm_error_set(err, ENOMEM, "curl");
    es = ch->service ? curl_easy_escape(esc, ch->service, 0) : NULL;
    sc = curl_easy_escape(esc, ch->scope ? ch->scope : scope, 0);
    url = xasprintf("%s%sscope=%s%s%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?", sc,
                    es ? "&service=" : "", es ? es : "");
    curl_free(es);
    curl_free(sc);
    curl_easy_cleanup(esc);
    credentials(r, registry, &user, &pass);
    if (user)
        auth = basic_header(user, pass);
    for (int attempt = 0; attempt <= r->retries; attempt++) {
        free(q.body);
        q.body = NULL;
        q.len = 0;
        rc = perform(r, registry, url, NULL, auth, &q);
        if ((rc != CURLE_OK && retriable(rc)) || q.status >= 500 || q.status == 429) {
            if (attempt < r->retries)
                backoff(attempt);
            continue;
        }
        break;
    }
    if (rc != CURLE_OK) {
        cm_error_set(err, EIO, "token from '%s': %s", ch->realm, curl_easy_strerror(rc));
        goto out;
    }
    if (q.status != 200) {
        cm_error_set(err, q.status == 401 || q.status == 403 ? EACCES : EIO,
                     "token from '%s': HTTP %ld%s", ch->realm, q.status,
                     q.status == 401 ? " (bad credentials?)" : "");
        goto out;
    }
    if (cm_json_loadb(q.body ? q.body : "", q.len, "token response", &j, err) < 0 ||
        !json_is_object(j)) {
        if (j)
            cm_error_set(err, 0, "token response: expected a JSON object");
        goto out;
    }
    tok = json_string_value(json_object_get(j, "token"));
    if (!tok || !*tok)
        tok = json_string_value(json_object_get(j, "access_token"));
    if (!tok || !*tok) {
        cm_error_set(err, 0, "token response from '%s' holds no token", ch->realm);
        goto out;
    }
    if (json_is_integer(json_object_get(j, "expires_in")))
        expires_in = json_integer_value(json_object_get(j, "expires_in"));
    if (expires_in < 60)
        expires_in = 60; /* the spec's minimum */
    *ret_header = xasprintf("Authorization: Bearer %s", tok);
    pthread_mutex_lock(&r->lock);
    r->tokens = xreallocarray_grow(r->tokens, &r->cap_tokens, r->n_tokens + 1, sizeof(*r->tokens));
    r->tokens[r->n_tokens].registry = xstrdup(registry);
    r->tokens[r->n_tokens].scope = xstrdup(scope);
    r->tokens[r->n_tokens].header = xstrdup(*ret_header);
    r->tokens[r->n_tokens].expires = time(NULL) + expires_in - 10;
    r->n_tokens++;
    pthread_mutex_unlock(&r->lock);
out:
    req_reset_response(&q);
    free(q.body);
    return *ret_header ? 0 : -1;
}

/* Runs a GET with auth, retries and (for blobs) resume; q holds the result. */
static int
request(struct img_registry *r, const char *registry, const char *repo, const char *path,
        const char *accept, struct req *q, const char *what, struct cm_error **err)
{
    cleanup_free char *base = base_url(r, registry);
    cleanup_free char *url = xasprintf("%s/v2/%s/%s", base, repo, path);
    cleanup_free char *scope = xasprintf("repository:%s:pull", repo);
    cleanup_free char *auth = cached_auth(r, registry, scope);
    bool challenged = false;
    uint64_t start = q->range_from;
    CURLcode rc;

    for (int attempt = 0;;) {
        q->range_from = start + q->delivered;
        q->skip = 0;
        q->started = false;
        if (!q->sink)
            q->len = 0; /* in-memory bodies restart from scratch */
        rc = perform(r, registry, url, accept, auth, q);
        if (q->sink_err) {
            *err = TAKE_PTR(q->sink_err);
            return cm_error_wrap(err, "%s", what);
        }
        if (q->too_big)
            return cm_error_set(err, EFBIG, "%s: response larger than %zu bytes", what, q->max);
        if (rc != CURLE_OK) {
            if (retriable(rc) && attempt < r->retries) {
                cm_log_debug("%s: %s, retrying", what, curl_easy_strerror(rc));
                backoff(attempt++);
                continue;
            }
            if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
                return cm_error_set(err, EIO,
                                    "%s: TLS: %s (add the registry's CA as "
                                    "certs.d/%s/ca.crt, or list it as insecure for plain HTTP)",
                                    what, curl_easy_strerror(rc), registry);
            return cm_error_set(err, EIO, "%s: %s", what, curl_easy_strerror(rc));
        }
        if (q->status == 401 && !challenged && q->www_auth) {
            struct img_challenge ch;
            challenged = true;
            if (img_auth_parse_challenge(q->www_auth, &ch, err) < 0)
                return cm_error_wrap(err, "%s", what);
            free(auth);
            auth = NULL;
            if (!strcmp(ch.scheme, "basic")) {
                cleanup_free char *u = NULL;
                cleanup_free char *p = NULL;
                credentials(r, registry, &u, &p);
                img_challenge_done(&ch);
                if (!u)
                    return cm_error_set(err, EACCES,
                                        "%s: registry '%s' requires credentials (none found "
                                        "in the auth file)",
                                        what, registry);
                remember_basic(r, registry);
                auth = basic_header(u, p);
            } else if (!strcmp(ch.scheme, "bearer")) {
                int t = fetch_token(r, registry, &ch, scope, &auth, err);
                img_challenge_done(&ch);
                if (t < 0)
                    return cm_error_wrap(err, "%s", what);
            } else {
                cm_error_set(err, EACCES, "%s: unsupported auth scheme '%s'", what, ch.scheme);
                img_challenge_done(&ch);
                return -1;
            }
            continue;
        }
        if ((q->status >= 500 || q->status == 429) && attempt < r->retries) {
            cm_log_debug("%s: HTTP %ld, retrying", what, q->status);
            backoff(attempt++);
            continue;
        }
        break;
    }
    if (q->status == 401 || q->status == 403)
        return cm_error_set(err, EACCES, "%s: access denied (HTTP %ld)%s", what, q->status,
                            auth ? " with the credentials given" : "");
    if (q->status == 404)
        return cm_error_set(err, ENOENT, "%s: not found in '%s/%s'", what, registry, repo);
    if (q->status == 416)
        return cm_error_set(err, EIO, "%s: range not satisfiable", what);
    if (q->status < 200 || q->status >= 300)
        return cm_error_set(err, EIO, "%s: HTTP %ld%s%.200s", what, q->status,
                            q->errbody ? ": " : "", q->errbody ? q->errbody : "");
    return 0;
}

int
img_registry_get_manifest(struct img_registry *r, const char *registry, const char *repo,
                          const char *object, char **ret_body, size_t *ret_len, char **ret_type,
                          char **ret_digest, struct cm_error **err)
{
    struct req q = {.max = IMG_MANIFEST_MAX};
    cleanup_free char *path = xasprintf("manifests/%s", object);
    cleanup_free char *what = xasprintf("manifest '%s'", object);
    int rc = request(r, registry, repo, path, manifest_accept, &q, what, err);

    if (rc == 0) {
        *ret_body = q.body ? q.body : xstrdup("");
        q.body = NULL;
        *ret_len = q.len;
        *ret_type = TAKE_PTR(q.content_type);
        *ret_digest = TAKE_PTR(q.docker_digest);
    }
    req_reset_response(&q);
    free(q.body);
    return rc;
}

int
img_registry_get_blob(struct img_registry *r, const char *registry, const char *repo,
                      const char *digest, int64_t size, uint64_t offset, img_blob_sink_fn sink,
                      void *userdata, struct cm_error **err)
{
    struct req q = {.sink = sink, .ud = userdata, .range_from = offset};
    cleanup_free char *path = xasprintf("blobs/%s", digest);
    cleanup_free char *what = xasprintf("blob '%s'", digest);
    int rc;

    if (size >= 0 && offset >= (uint64_t)size) {
        return 0;
    }
    rc = request(r, registry, repo, path, NULL, &q, what, err);
    req_reset_response(&q);
    if (rc == 0 && size >= 0 && offset + q.delivered != (uint64_t)size)
        return cm_error_set(err, EIO, "%s: got %llu bytes, expected %lld", what,
                            (unsigned long long)(offset + q.delivered), (long long)size);
    return rc;
}

int
img_registry_get_blob_mem(struct img_registry *r, const char *registry, const char *repo,
                          const char *digest, size_t max, char **ret_body, size_t *ret_len,
                          struct cm_error **err)
{
    struct req q = {.max = max};
    cleanup_free char *path = xasprintf("blobs/%s", digest);
    cleanup_free char *what = xasprintf("blob '%s'", digest);
    int rc = request(r, registry, repo, path, NULL, &q, what, err);

    req_reset_response(&q);
    if (rc == 0 && img_digest_verify(q.body ? q.body : "", q.len, digest, what, err) < 0)
        rc = -1;
    if (rc < 0) {
        free(q.body);
        return -1;
    }
    *ret_body = q.body ? q.body : xstrdup("");
    *ret_len = q.len;
    return 0;
}
