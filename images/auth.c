/* SPDX-License-Identifier: Apache-2.0 */
/* WWW-Authenticate parsing and credential lookup in auth files. */
#include "img/auth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/json.h"
#include "cm/xalloc.h"

#define AUTH_FILE_MAX (1u << 20)

void
img_challenge_done(struct img_challenge *c)
{
    free(c->scheme);
    free(c->realm);
    free(c->service);
    free(c->scope);
    c->scheme = c->realm = c->service = c->scope = NULL;
}

static const char *
skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int
img_auth_parse_challenge(const char *header, struct img_challenge *ret, struct cm_error **err)
{
    const char *p = skip_ws(header), *s = p;

    memset(ret, 0, sizeof(*ret));
    while (*p && *p != ' ' && *p != '\t')
        p++;
    if (p == s)
        return cm_error_set(err, 0, "empty WWW-Authenticate header");
    ret->scheme = xstrndup(s, (size_t)(p - s));
    for (char *c = ret->scheme; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (;;) {
        cleanup_free char *key = NULL;
        cleanup_free char *val = NULL;
        p = skip_ws(p);
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        s = p;
        while (*p && *p != '=' && *p != ',' && *p != ' ')
            p++;
        key = xstrndup(s, (size_t)(p - s));
        p = skip_ws(p);
        if (*p != '=') {
            img_challenge_done(ret);
            return cm_error_set(err, 0, "WWW-Authenticate: parameter '%s' has no value", key);
        }
        p = skip_ws(p + 1);
        if (*p == '"') {
            size_t cap = strlen(p) + 1, n = 0;
            val = xmalloc(cap);
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                val[n++] = *p++;
            }
            if (*p != '"') {
                img_challenge_done(ret);
                return cm_error_set(err, 0, "WWW-Authenticate: unterminated quoted value");
            }
            p++;
            val[n] = '\0';
        } else {
            s = p;
            while (*p && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            val = xstrndup(s, (size_t)(p - s));
        }
        char **slot = NULL;
        if (!strcasecmp(key, "realm"))
            slot = &ret->realm;
        else if (!strcasecmp(key, "service"))
            slot = &ret->service;
        else if (!strcasecmp(key, "scope"))
            slot = &ret->scope;
        if (slot) {
            free(*slot);
            *slot = TAKE_PTR(val);
        }
    }
    if (!strcmp(ret->scheme, "bearer") && !ret->realm) {
        img_challenge_done(ret);
        return cm_error_set(err, 0, "WWW-Authenticate: bearer challenge without realm");
    }
    return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
img_base64_encode(const void *data, size_t len)
{
    const unsigned char *in = data;
    char *out = xmalloc(4 * ((len + 2) / 3) + 1), *o = out;
    size_t i = 0;

    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

int
img_base64_decode(const char *s, char **ret, size_t *ret_len, struct cm_error **err)
{
    size_t n = strlen(s), o = 0;
    cleanup_free char *out = xmalloc(n / 4 * 3 + 4);
    unsigned v = 0;
    int bits = 0, pad = 0;

    for (size_t i = 0; i < n; i++) {
        const char *c;
        if (s[i] == '=') {
            pad++;
            continue;
        }
        if (pad || !(c = strchr(b64, s[i])) || !s[i])
            return cm_error_set(err, 0, "invalid base64");
        v = v << 6 | (unsigned)(c - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((v >> bits) & 0xff);
        }
    }
    if (pad > 2 || bits >= 6)
        return cm_error_set(err, 0, "invalid base64");
    out[o] = '\0';
    *ret = TAKE_PTR(out);
    if (ret_len)
        *ret_len = o;
    return 0;
}

/* "https://host:port/v1/" -> "host:port" */
static char *
key_host(const char *key)
{
    const char *p = strstr(key, "://");
    p = p ? p + 3 : key;
    size_t n = strcspn(p, "/");
    return xstrndup(p, n);
}

int
img_auth_lookup(const char *path, const char *registry, char **ret_user, char **ret_pass,
                struct cm_error **err)
{
    json_auto_t *root = NULL;
    json_t *auths = NULL, *entry = NULL, *v;
    const char *k;
    const char *want = registry;

    if (!path || access(path, F_OK) < 0)
        return 0;
    if (cm_json_load_file(path, AUTH_FILE_MAX, &root, err) < 0)
        return -1;
    if (!json_is_object(root))
        return cm_error_set(err, 0, "%s: expected a JSON object", path);
    if (cm_json_get_object(root, "", "auths", false, &auths, err) < 0)
        return cm_error_wrap(err, "%s", path);
    if (!auths)
        return 0;
    if (!strcmp(registry, "docker.io") || !strcmp(registry, "registry-1.docker.io"))
        want = "index.docker.io";
    json_object_foreach (auths, k, v) {
        cleanup_free char *h = key_host(k);
        if (!strcmp(h, want) || !strcmp(h, registry) ||
            (!strcmp(want, "index.docker.io") && !strcmp(h, "docker.io"))) {
            entry = v;
            break;
        }
    }
    if (!entry || !json_is_object(entry))
        return 0;
    {
        const char *auth = NULL, *user = NULL, *pass = NULL;
        if (cm_json_get_string(entry, "auths", "auth", false, &auth, err) < 0 ||
            cm_json_get_string(entry, "auths", "username", false, &user, err) < 0 ||
            cm_json_get_string(entry, "auths", "password", false, &pass, err) < 0)
            return cm_error_wrap(err, "%s", path);
        if (auth && *auth) {
            cleanup_free char *dec = NULL;
            char *colon;
            if (img_base64_decode(auth, &dec, NULL, err) < 0)
                return cm_error_wrap(err, "%s: auths['%s'].auth", path, registry);
            colon = strchr(dec, ':');
            if (!colon)
                return cm_error_set(err, 0, "%s: auths['%s'].auth: no ':' in user:password", path,
                                    registry);
            *colon = '\0';
            *ret_user = xstrdup(dec);
            *ret_pass = xstrdup(colon + 1);
            return 1;
        }
        if (user && pass) {
            *ret_user = xstrdup(user);
            *ret_pass = xstrdup(pass);
            return 1;
        }
    }
    return 0;
}

char *
img_auth_default_file(void)
{
    const char *e = getenv("REGISTRY_AUTH_FILE");
    char *p;

    if (e && *e)
        return xstrdup(e);
    e = getenv("XDG_RUNTIME_DIR");
    if (e && *e) {
        p = xasprintf("%s/containers/auth.json", e);
        if (access(p, R_OK) == 0)
            return p;
        free(p);
    }
    e = getenv("HOME");
    if (e && *e) {
        p = xasprintf("%s/.docker/config.json", e);
        if (access(p, R_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}
