/* SPDX-License-Identifier: Apache-2.0 */
/* runc-compatible option parsing and the CLI's pure formatting helpers. */
#include "rt/options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cm/xalloc.h"

int
rt_parse_bool(const char *s, bool *ret)
{
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "t") || !strcmp(s, "TRUE")) {
        *ret = true;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "f") || !strcmp(s, "FALSE")) {
        *ret = false;
        return 0;
    }
    return -1;
}

int
rt_parse_int(const char *s, int *ret)
{
    char *end;
    long v;

    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v > INT_MAX)
        return -1;
    *ret = (int)v;
    return 0;
}

int
rt_parse_user(const char *s, uid_t *ret_uid, gid_t *ret_gid, bool *ret_has_gid)
{
    const char *colon = strchr(s, ':');
    char buf[32];
    int u, g;

    if (colon) {
        size_t n = (size_t)(colon - s);
        if (n >= sizeof(buf))
            return -1;
        memcpy(buf, s, n);
        buf[n] = 0;
        if (rt_parse_int(buf, &u) < 0 || rt_parse_int(colon + 1, &g) < 0)
            return -1;
        *ret_uid = (uid_t)u;
        *ret_gid = (gid_t)g;
        *ret_has_gid = true;
        return 0;
    }
    if (rt_parse_int(s, &u) < 0)
        return -1;
    *ret_uid = (uid_t)u;
    *ret_has_gid = false;
    return 0;
}

int
rt_opt_next(int argc, char **argv, int *ind, const struct rt_opt *opts, size_t n,
            const char **ret_arg, struct cm_error **err)
{
    const char *a, *name, *eq;
    size_t len;

    if (*ind >= argc)
        return RT_OPT_END;
    a = argv[*ind];
    if (a[0] != '-' || !a[1])
        return RT_OPT_END;
    if (!strcmp(a, "--")) {
        (*ind)++;
        return RT_OPT_END;
    }
    name = a + 1 + (a[1] == '-');
    eq = strchr(name, '=');
    len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < n; i++) {
        const struct rt_opt *o = &opts[i];
        bool match = (strlen(o->name) == len && !strncmp(o->name, name, len)) ||
                     (o->short_name && len == 1 && name[0] == o->short_name);
        if (!match)
            continue;
        (*ind)++;
        if (o->has_arg) {
            if (eq)
                *ret_arg = eq + 1;
            else if (*ind < argc)
                *ret_arg = argv[(*ind)++];
            else
                return cm_error_set(err, 0, "option '%s' needs a value", a);
        } else if (eq) {
            bool b;
            if (rt_parse_bool(eq + 1, &b) < 0)
                return cm_error_set(err, 0, "option '%s': invalid boolean", a);
            *ret_arg = b ? "true" : "false";
        } else {
            *ret_arg = "true";
        }
        return o->id;
    }
    return cm_error_set(err, 0, "flag provided but not defined: %s", a);
}

char *
rt_format_table(const char *const *cells, size_t rows, size_t cols)
{
    size_t *w = xcalloc(cols ? cols : 1, sizeof(size_t));
    size_t total = 1;
    char *out, *p;

    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            size_t l = strlen(cells[r * cols + c]);
            if (l > w[c])
                w[c] = l;
        }
    for (size_t c = 0; c + 1 < cols; c++) {
        w[c] += 3;
        if (w[c] < 12)
            w[c] = 12;
    }
    for (size_t c = 0; c < cols; c++)
        total += w[c];
    out = p = xmalloc(rows * (total + 1) + 1);
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            const char *s = cells[r * cols + c];
            size_t l = strlen(s);
            memcpy(p, s, l);
            p += l;
            if (c + 1 < cols) {
                memset(p, ' ', w[c] - l);
                p += w[c] - l;
            }
        }
        *p++ = '\n';
    }
    *p = 0;
    free(w);
    return out;
}
