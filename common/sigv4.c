/* SPDX-License-Identifier: Apache-2.0 */
/* AWS SigV4, both sides (see include/cm/sigv4.h). The canonical form follows
 * the AWS documentation and the requests the aws CLI sends (digest 1.4). */
#include "cm/sigv4.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"

#define AMZ_ALGO "AWS4-HMAC-SHA256"
#define MAX_SKEW_S (15 * 60)

struct buf {
    char *s;
    size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
    b->s = xreallocarray_grow(b->s, &b->cap, b->len + n + 1, 1);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void
buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void
buf_addc(struct buf *b, char c)
{
    buf_add(b, &c, 1);
}

const char *
cm_sigv4_status_code(enum cm_sigv4_status st)
{
    switch (st) {
    case CM_SIGV4_OK:
        return "OK";
    case CM_SIGV4_MISSING:
        return "MissingAuthenticationTokenException";
    case CM_SIGV4_INCOMPLETE:
        return "IncompleteSignatureException";
    case CM_SIGV4_UNKNOWN_KEY:
        return "UnrecognizedClientException";
    case CM_SIGV4_BAD_SIGNATURE:
    case CM_SIGV4_EXPIRED:
        return "InvalidSignatureException";
    }
    return "InvalidSignatureException";
}

static void
hex(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

void
cm_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
        abort();
    hex(md, 32, out);
}

static void
hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int olen = 32;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &olen))
        abort();
}

static bool
unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

static void
uri_encode(struct buf *b, const char *s, size_t n, bool keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            buf_addc(b, (char)c);
        } else {
            char e[3] = {'%', digits[c >> 4], digits[c & 15]};
            buf_add(b, e, 3);
        }
    }
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new string. */
static char *
uri_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* Canonical URI: normalise segments ("", ".", ".."), then encode once more. */
static void
canonical_uri(struct buf *b, const char *path)
{
    const char *segs[256];
    size_t lens[256];
    size_t n = 0;
    const char *p = path && *path ? path : "/";
    bool trailing = p[strlen(p) - 1] == '/';

    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchrnul(p, '/');
        size_t l = (size_t)(e - p);
        if (l == 1 && p[0] == '.') {
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            if (n > 0)
                n--;
        } else if (n < 256) {
            segs[n] = p;
            lens[n++] = l;
        }
        p = e;
    }
    struct buf raw = {0};
    buf_addc(&raw, '/');
    for (size_t i = 0; i < n; i++) {
        buf_add(&raw, segs[i], lens[i]);
        if (i + 1 < n)
            buf_addc(&raw, '/');
    }
    if (trailing && n > 0)
        buf_addc(&raw, '/');
    uri_encode(b, raw.s, raw.len, true);
    free(raw.s);
}

struct qpair {
    char *k, *v;
};

static int
qpair_cmp(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static void
canonical_query(struct buf *b, const char *query)
{
    if (!query || !*query)
        return;
    size_t n = 1;
    for (const char *p = query; *p; p++)
        n += *p == '&';
    struct qpair *pairs = xcalloc(n, sizeof(*pairs));
    size_t m = 0;
    const char *p = query;
    while (*p || p == query) {
        const char *e = strchrnul(p, '&');
        if (e > p) {
            const char *eq = memchr(p, '=', (size_t)(e - p));
            const char *kend = eq ? eq : e;
            cleanup_free char *k = uri_decode(p, (size_t)(kend - p));
            cleanup_free char *v = eq ? uri_decode(eq + 1, (size_t)(e - eq - 1)) : xstrdup("");
            struct buf kb = {0}, vb = {0};
            uri_encode(&kb, k, strlen(k), false);
            uri_encode(&vb, v, strlen(v), false);
            pairs[m].k = kb.s ? kb.s : xstrdup("");
            pairs[m].v = vb.s ? vb.s : xstrdup("");
            m++;
        }
        if (!*e)
            break;
        p = e + 1;
    }
    qsort(pairs, m, sizeof(*pairs), qpair_cmp);
    for (size_t i = 0; i < m; i++) {
        if (i)
            buf_addc(b, '&');
        buf_adds(b, pairs[i].k);
        buf_addc(b, '=');
        buf_adds(b, pairs[i].v);
        free(pairs[i].k);
        free(pairs[i].v);
    }
    free(pairs);
}

/* Header value: trimmed, inner whitespace runs collapsed to one space. */
static void
header_value(struct buf *b, const char *v)
{
    bool space = false, started = false;
    for (const char *p = v; *p; p++) {
        if (isspace((unsigned char)*p)) {
            space = started;
            continue;
        }
        if (space)
            buf_addc(b, ' ');
        space = false;
        started = true;
        buf_addc(b, *p);
    }
}

char *
cm_sigv4_canonical_request(const char *method, const char *path, const char *query,
                           const char *signed_headers, cm_sigv4_header_fn get_header, void *hdr_ud,
                           const char *payload_hash)
{
    struct buf b = {0};
    buf_adds(&b, method);
    buf_addc(&b, '\n');
    canonical_uri(&b, path);
    buf_addc(&b, '\n');
    canonical_query(&b, query);
    buf_addc(&b, '\n');
    const char *p = signed_headers;
    while (*p) {
        const char *e = strchrnul(p, ';');
        cleanup_free char *name = xstrndup(p, (size_t)(e - p));
        const char *v = get_header(hdr_ud, name);
        buf_adds(&b, name);
        buf_addc(&b, ':');
        header_value(&b, v ? v : "");
        buf_addc(&b, '\n');
        p = *e ? e + 1 : e;
    }
    buf_addc(&b, '\n');
    buf_adds(&b, signed_headers);
    buf_addc(&b, '\n');
    buf_adds(&b, payload_hash);
    return b.s;
}

static void
signature(const char *secret, const char *day, const char *region, const char *service,
          const char *amz_date, const char *creq, char out[65])
{
    char creq_hash[65];
    unsigned char k[32];
    cm_sha256_hex(creq, strlen(creq), creq_hash);
    cleanup_free char *sts = xasprintf(AMZ_ALGO "\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, day,
                                       region, service, creq_hash);
    cleanup_free char *kseed = xasprintf("AWS4%s", secret);
    hmac(kseed, strlen(kseed), day, k);
    hmac(k, 32, region, k);
    hmac(k, 32, service, k);
    hmac(k, 32, "aws4_request", k);
    unsigned char sig[32];
    hmac(k, 32, sts, sig);
    hex(sig, 32, out);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(kseed, strlen(kseed));
}

static time_t
parse_amz_date(const char *s)
{
    struct tm tm = {0};
    if (!s || strlen(s) != 16)
        return (time_t)-1;
    const char *e = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
    if (!e || *e)
        return (time_t)-1;
    return timegm(&tm);
}

void
cm_sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static bool
valid_signed_headers(const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' || *p == ';'))
            return false;
    return true;
}

static bool
has_token(const char *list, const char *tok)
{
    size_t l = strlen(tok);
    for (const char *p = list; p && *p;) {
        const char *e = strchrnul(p, ';');
        if ((size_t)(e - p) == l && !strncmp(p, tok, l))
            return true;
        p = *e ? e + 1 : e;
    }
    return false;
}

enum cm_sigv4_status
cm_sigv4_verify(const struct cm_sigv4_verify_input *in, char **ret_akid, char **ret_region,
                char **ret_msg)
{
    const char *auth = in->get_header(in->hdr_ud, "authorization");
    cleanup_free char *cred = NULL, *signed_h = NULL, *sig = NULL;
    cleanup_strv char **scope = NULL;

    *ret_msg = NULL;
    if (!auth || !*auth) {
        *ret_msg = xstrdup("Missing Authentication Token");
        return CM_SIGV4_MISSING;
    }
    if (strncmp(auth, AMZ_ALGO " ", strlen(AMZ_ALGO) + 1) != 0) {
        *ret_msg = xstrdup("Authorization header requires the AWS4-HMAC-SHA256 algorithm.");
        return CM_SIGV4_INCOMPLETE;
    }
    /* Fields: "Credential=..., SignedHeaders=..., Signature=..." in any order. */
    const char *p = auth + strlen(AMZ_ALGO) + 1;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *e = strchrnul(p, ',');
        const char *te = e;
        while (te > p && te[-1] == ' ')
            te--;
        size_t l = (size_t)(te - p);
        if (l > 11 && !strncmp(p, "Credential=", 11) && !cred)
            cred = xstrndup(p + 11, l - 11);
        else if (l > 14 && !strncmp(p, "SignedHeaders=", 14) && !signed_h)
            signed_h = xstrndup(p + 14, l - 14);
        else if (l > 10 && !strncmp(p, "Signature=", 10) && !sig)
            sig = xstrndup(p + 10, l - 10);
        p = e;
    }
    if (!cred || !signed_h || !sig) {
        *ret_msg = xstrdup("Authorization header requires 'Credential', 'Signature' and "
                           "'SignedHeaders' parameters.");
        return CM_SIGV4_INCOMPLETE;
    }
    /* akid/day/region/service/aws4_request */
    scope = xcalloc(6, sizeof(char *));
    size_t ns = 0;
    p = cred;
    while (ns < 5) {
        const char *e = strchrnul(p, '/');
        scope[ns++] = xstrndup(p, (size_t)(e - p));
        if (!*e)
            break;
        p = e + 1;
    }
    if (ns != 5 || strchr(p, '/') || strcmp(scope[4], "aws4_request") != 0 || !*scope[0] ||
        strlen(scope[1]) != 8 || !*scope[2] || !valid_signed_headers(signed_h) ||
        strlen(sig) != 64) {
        *ret_msg = xasprintf("Credential should be scoped to a valid region, not '%s'.", cred);
        return CM_SIGV4_INCOMPLETE;
    }
    const char *secret = in->get_secret(in->secret_ud, scope[0]);
    if (!secret) {
        *ret_msg = xstrdup("The security token included in the request is invalid.");
        return CM_SIGV4_UNKNOWN_KEY;
    }
    if (in->service && strcmp(scope[3], in->service) != 0) {
        *ret_msg = xasprintf("Credential should be scoped to correct service: '%s'.", in->service);
        return CM_SIGV4_BAD_SIGNATURE;
    }
    const char *amz_date = in->get_header(in->hdr_ud, "x-amz-date");
    time_t t = parse_amz_date(amz_date);
    if (t == (time_t)-1) {
        *ret_msg = xstrdup("Authorization header requires existence of either a 'X-Amz-Date' or "
                           "a 'Date' header.");
        return CM_SIGV4_INCOMPLETE;
    }
    if (strncmp(amz_date, scope[1], 8) != 0) {
        *ret_msg = xasprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                             "version of date from HTTP: '%s' != '%.8s'",
                             scope[1], amz_date);
        return CM_SIGV4_BAD_SIGNATURE;
    }
    if (t > in->now + MAX_SKEW_S || t < in->now - MAX_SKEW_S) {
        char now_s[17];
        cm_sigv4_amz_date(in->now, now_s);
        *ret_msg = xasprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
                             amz_date, now_s, now_s);
        return CM_SIGV4_EXPIRED;
    }
    if (!has_token(signed_h, "host")) {
        *ret_msg = xstrdup("'Host' must be a signed header.");
        return CM_SIGV4_BAD_SIGNATURE;
    }
    char payload[65];
    const char *content_sha = in->get_header(in->hdr_ud, "x-amz-content-sha256");
    if (content_sha && strlen(content_sha) == 64)
        snprintf(payload, sizeof(payload), "%s", content_sha);
    else
        cm_sha256_hex(in->body ? in->body : "", in->body_len, payload);
    cleanup_free char *creq = cm_sigv4_canonical_request(in->method, in->path, in->query, signed_h,
                                                         in->get_header, in->hdr_ud, payload);
    char expect[65];
    signature(secret, scope[1], scope[2], scope[3], amz_date, creq, expect);
    for (char *c = sig; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (CRYPTO_memcmp(expect, sig, 64) != 0) {
        *ret_msg = xstrdup("The request signature we calculated does not match the signature "
                           "you provided. Check your AWS Secret Access Key and signing method. "
                           "Consult the service documentation for details.");
        return CM_SIGV4_BAD_SIGNATURE;
    }
    if (ret_akid)
        *ret_akid = xstrdup(scope[0]);
    if (ret_region)
        *ret_region = xstrdup(scope[2]);
    return CM_SIGV4_OK;
}

struct sign_hdrs {
    const struct cm_sigv4_header *h;
    size_t n;
};

static const char *
sign_lookup(void *ud, const char *lname)
{
    struct sign_hdrs *s = ud;
    for (size_t i = 0; i < s->n; i++)
        if (!strcasecmp(s->h[i].name, lname))
            return s->h[i].value;
    return NULL;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
cm_sigv4_sign(const struct cm_sigv4_sign_input *in, struct cm_error **err)
{
    if (!in->amz_date || strlen(in->amz_date) != 16)
        return cm_error_set(err, 0, "sigv4: bad x-amz-date '%s'", in->amz_date ? in->amz_date : ""),
               NULL;
    char **names = xcalloc(in->n_headers + 1, sizeof(char *));
    for (size_t i = 0; i < in->n_headers; i++) {
        names[i] = xstrdup(in->headers[i].name);
        for (char *c = names[i]; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    qsort(names, in->n_headers, sizeof(char *), cmp_str);
    struct buf sh = {0};
    for (size_t i = 0; i < in->n_headers; i++) {
        if (i && !strcmp(names[i], names[i - 1]))
            continue;
        if (sh.len)
            buf_addc(&sh, ';');
        buf_adds(&sh, names[i]);
    }
    cm_strv_free(names);
    if (!sh.s)
        return cm_error_set(err, 0, "sigv4: no headers to sign"), NULL;
    struct sign_hdrs sd = {in->headers, in->n_headers};
    char payload[65];
    cm_sha256_hex(in->body ? in->body : "", in->body_len, payload);
    cleanup_free char *creq = cm_sigv4_canonical_request(in->method, in->path, in->query, sh.s,
                                                         sign_lookup, &sd, payload);
    char day[9];
    memcpy(day, in->amz_date, 8);
    day[8] = '\0';
    char sig[65];
    signature(in->secret, day, in->region, in->service, in->amz_date, creq, sig);
    char *auth =
        xasprintf(AMZ_ALGO " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                  in->akid, day, in->region, in->service, sh.s, sig);
    free(sh.s);
    return auth;
}
