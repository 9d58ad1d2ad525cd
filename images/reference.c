/* SPDX-License-Identifier: Apache-2.0 */
/* Image reference parsing, following the distribution/reference grammar. */
#include "img/reference.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "img/digest.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

struct img_ref *
img_ref_free(struct img_ref *r)
{
    if (!r)
        return NULL;
    free(r->registry);
    free(r->repository);
    free(r->tag);
    free(r->digest);
    free(r);
    return NULL;
}

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool
valid_component(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    while (i < n) {
        if (is_lower_alnum(s[i])) {
            i++;
            continue;
        }
        /* a separator run */
        size_t j = i;
        while (j < n && !is_lower_alnum(s[j]))
            j++;
        size_t len = j - i;
        const char *sep = s + i;
        bool ok = (len == 1 && (sep[0] == '.' || sep[0] == '_' || sep[0] == '-')) ||
                  (len == 2 && sep[0] == '_' && sep[1] == '_');
        if (!ok) {
            ok = true;
            for (size_t k = 0; k < len; k++)
                if (sep[k] != '-')
                    ok = false;
        }
        if (!ok)
            return false;
        i = j;
    }
    return true;
}

static bool
valid_repository(const char *s)
{
    const char *p = s;
    if (strlen(s) > NAME_MAX_LEN)
        return false;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!valid_component(p, n))
            return false;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

/* host: DNS labels or an IPv4 address or "[IPv6]", then an optional ":port". */
static bool
valid_registry(const char *s)
{
    const char *p = s, *port = NULL;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close || close == p + 1)
            return false;
        for (const char *q = p + 1; q < close; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
                return false;
        p = close + 1;
        if (*p && *p != ':')
            return false;
        port = *p ? p + 1 : NULL;
    } else {
        const char *colon = strchr(p, ':');
        size_t hn = colon ? (size_t)(colon - p) : strlen(p);
        if (hn == 0 || hn > 253)
            return false;
        for (size_t i = 0; i < hn; i++) {
            char c = p[i];
            if (!isalnum((unsigned char)c) && c != '.' && c != '-')
                return false;
            if ((c == '.' || c == '-') && (i == 0 || i == hn - 1))
                return false;
        }
        port = colon ? colon + 1 : NULL;
    }
    if (port) {
        size_t n = strlen(port);
        if (n == 0 || n > 5 || strspn(port, "0123456789") != n)
            return false;
        long v = strtol(port, NULL, 10);
        if (v < 1 || v > 65535)
            return false;
    }
    return true;
}

static bool
valid_tag(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TAG_MAX_LEN)
        return false;
    if (!isalnum((unsigned char)s[0]) && s[0] != '_')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* Docker's rule: the first component names a host when it contains '.' or ':'
 * or is "localhost" (or has upper-case letters, which repositories cannot). */
static bool
looks_like_host(const char *s, size_t n)
{
    if (n == 9 && !strncmp(s, "localhost", 9))
        return true;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == ':' || s[i] == '[' || isupper((unsigned char)s[i]))
            return true;
    return false;
}

int
img_ref_parse(const char *s, const char *default_registry, struct img_ref **ret,
              struct cm_error **err)
{
    cleanup_free char *copy = NULL;
    struct img_ref *r = NULL;
    char *name, *at, *slash, *colon;

    if (!s || !*s)
        return cm_error_set(err, 0, "empty image reference");
    if (strlen(s) > 1024)
        return cm_error_set(err, 0, "image reference too long (%zu bytes)", strlen(s));
    copy = xstrdup(s);
    r = xcalloc(1, sizeof(*r));
    name = copy;

    at = strchr(name, '@');
    if (at) {
        *at = '\0';
        struct cm_error *derr = NULL;
        if (img_digest_validate(at + 1, &derr) < 0) {
            cm_error_free(&derr);
            img_ref_free(r);
            return cm_error_set(err, 0, "invalid image reference '%s': bad digest '%s'", s, at + 1);
        }
        r->digest = xstrdup(at + 1);
    }
    slash = strchr(name, '/');
    if (slash && looks_like_host(name, (size_t)(slash - name))) {
        r->registry = xstrndup(name, (size_t)(slash - name));
        name = slash + 1;
    } else {
        r->registry = xstrdup(default_registry ? default_registry : IMG_DEFAULT_REGISTRY);
    }
    /* A tag is a ':' after the last '/'. */
    slash = strrchr(name, '/');
    colon = strrchr(slash ? slash : name, ':');
    if (colon) {
        *colon = '\0';
        if (!valid_tag(colon + 1)) {
            img_ref_free(r);
            return cm_error_set(err, 0, "invalid image reference '%s': bad tag '%s'", s, colon + 1);
        }
        r->tag = xstrdup(colon + 1);
    }
    if (!valid_registry(r->registry)) {
        cm_error_set(err, 0, "invalid image reference '%s': bad registry host '%s'", s,
                     r->registry);
        img_ref_free(r);
        return -1;
    }
    if (!strcmp(r->registry, "docker.io") && !strchr(name, '/'))
        r->repository = xasprintf("library/%s", name);
    else
        r->repository = xstrdup(name);
    if (!valid_repository(r->repository)) {
        cm_error_set(err, 0,
                     "invalid image reference '%s': bad repository name '%s' (lower-case "
                     "letters, digits and separators only)",
                     s, name);
        img_ref_free(r);
        return -1;
    }
    if (!r->tag && !r->digest)
        r->tag = xstrdup("latest");
    *ret = r;
    return 0;
}

char *
img_ref_string(const struct img_ref *r)
{
    return xasprintf("%s/%s%s%s%s%s", r->registry, r->repository, r->tag ? ":" : "",
                     r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

const char *
img_ref_object(const struct img_ref *r)
{
    return r->digest ? r->digest : r->tag;
}
