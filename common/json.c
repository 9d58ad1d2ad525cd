/* SPDX-License-Identifier: Apache-2.0 */
/* jansson glue with error messages that name the file position or the field:
 * the one family of typed getters (the runtime's config parser uses the
 * limited variants, the other modules the plain ones). */
#include "cm/json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

int
cm_json_loadb(const char *buf, size_t len, const char *name, json_t **ret, struct cm_error **err)
{
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return cm_error_set(err, 0, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
    *ret = j;
    return 0;
}

int
cm_json_load_file(const char *path, size_t max, json_t **ret, struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (cm_read_file_at(AT_FDCWD, path, max, &buf, &len, err) < 0)
        return -1;
    return cm_json_loadb(buf, len, path, ret, err);
}

/* Set while walking a document that could only be loaded with
 * JSON_DECODE_INT_AS_REAL (cm_json_loadb_wide). */
static __thread bool ints_as_real;

void
cm_json_set_ints_as_real(bool on)
{
    ints_as_real = on;
}

int
cm_json_loadb_wide(const char *buf, size_t len, const char *name, json_t **ret,
                   struct cm_error **err)
{
    json_error_t jerr;
    ints_as_real = false;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j && json_error_code(&jerr) == json_error_numeric_overflow) {
        /* Go writes uint64 values (RLIM_INFINITY, seccomp masks) that do not
         * fit jansson's int64: reparse with reals, accepted where integral. */
        j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
        ints_as_real = j != NULL;
    }
    if (!j)
        return cm_error_set(err, 0, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
    *ret = j;
    return 0;
}

int
cm_json_error(struct cm_error **err, const char *path, const char *key, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = xvasprintf(fmt, ap);
    va_end(ap);
    if (key && path && *path)
        cm_error_set(err, 0, "%s.%s: %s", path, key, msg);
    else if (key)
        cm_error_set(err, 0, "%s: %s", key, msg);
    else
        cm_error_set(err, 0, "%s: %s", path ? path : "", msg);
    free(msg);
    return -1;
}

json_t *
cm_json_field(json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return v && !json_is_null(v) ? v : NULL;
}

static int
missing(struct cm_error **err, const char *path, const char *key)
{
    return cm_json_error(err, path, key, "required field missing");
}

int
cm_json_check_string(json_t *v, const char *path, const char *key, size_t max, const char **ret,
                     struct cm_error **err)
{
    if (!json_is_string(v))
        return cm_json_error(err, path, key, "expected a string");
    if (json_string_length(v) > max)
        return cm_json_error(err, path, key, "too long (%zu bytes, max %zu)", json_string_length(v),
                             max);
    *ret = json_string_value(v);
    return 0;
}

int
cm_json_get_string_max(json_t *obj, const char *path, const char *key, bool required, size_t max,
                       const char **ret, struct cm_error **err)
{
    json_t *v = cm_json_field(obj, key);
    if (!v)
        return required ? missing(err, path, key) : 0;
    return cm_json_check_string(v, path, key, max, ret, err);
}

int
cm_json_dup_string_max(json_t *obj, const char *path, const char *key, bool required, size_t max,
                       char **ret, struct cm_error **err)
{
    const char *s = NULL;
    if (cm_json_get_string_max(obj, path, key, required, max, &s, err) < 0)
        return -1;
    if (s) {
        free(*ret);
        *ret = xstrdup(s);
    }
    return 0;
}

int
cm_json_get_container(json_t *obj, const char *path, const char *key, bool required, bool array,
                      size_t max, json_t **ret, struct cm_error **err)
{
    json_t *v = cm_json_field(obj, key);
    *ret = NULL;
    if (!v)
        return required ? missing(err, path, key) : 0;
    if (array ? !json_is_array(v) : !json_is_object(v))
        return cm_json_error(err, path, key, array ? "expected an array" : "expected an object");
    size_t n = array ? json_array_size(v) : json_object_size(v);
    if (n > max)
        return cm_json_error(err, path, key, "too many %s (%zu, max %zu)",
                             array ? "elements" : "entries", n, max);
    *ret = v;
    return 0;
}

/* Integer value of v: exact for JSON integers; integral reals only in the
 * INT_AS_REAL fallback. *big is set for reals at or beyond 2^63. */
static bool
int_value(json_t *v, int64_t *ret, bool *big)
{
    *big = false;
    if (json_is_integer(v)) {
        *ret = json_integer_value(v);
        return true;
    }
    if (ints_as_real && json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= 9223372036854775808.0) {
            /* Every double this large is integral. */
            *big = true;
            *ret = INT64_MAX;
            return true;
        }
        if (!(d >= -9223372036854775808.0))
            return false;
        int64_t x = (int64_t)d;
        if ((double)x != d)
            return false;
        *ret = x;
        return true;
    }
    return false;
}

int
cm_json_check_int64(json_t *v, const char *path, const char *key, int64_t min, int64_t max,
                    int64_t *ret, struct cm_error **err)
{
    int64_t x;
    bool big;
    if (!int_value(v, &x, &big))
        return cm_json_error(err, path, key, "expected an integer");
    if (big)
        return cm_json_error(err, path, key, "out of range (%" PRId64 "..%" PRId64 ")", min, max);
    if (x < min || x > max)
        return cm_json_error(err, path, key,
                             "%" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")", x, min, max);
    *ret = x;
    return 0;
}

int
cm_json_check_uint64(json_t *v, const char *path, const char *key, uint64_t max, uint64_t *ret,
                     struct cm_error **err)
{
    int64_t x;
    bool big;
    uint64_t u;
    if (!int_value(v, &x, &big) || x < 0)
        return cm_json_error(err, path, key, "expected a non-negative integer");
    if (big) {
        /* Only reachable in the fallback: 2^64-1 rounds to 2^64 as a double. */
        double d = json_real_value(v);
        if (d > 18446744073709551616.0)
            return cm_json_error(err, path, key, "out of range (max %" PRIu64 ")", max);
        u = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
    } else {
        u = (uint64_t)x;
    }
    if (u > max)
        return cm_json_error(err, path, key, "%" PRIu64 " is out of range (max %" PRIu64 ")", u,
                             max);
    *ret = u;
    return 0;
}

int
cm_json_get_int64_range(json_t *obj, const char *path, const char *key, bool required, int64_t min,
                        int64_t max, bool *has, int64_t *ret, struct cm_error **err)
{
    json_t *v = cm_json_field(obj, key);
    if (!v)
        return required ? missing(err, path, key) : 0;
    if (cm_json_check_int64(v, path, key, min, max, ret, err) < 0)
        return -1;
    if (has)
        *has = true;
    return 0;
}

int
cm_json_get_uint64_range(json_t *obj, const char *path, const char *key, bool required,
                         uint64_t max, bool *has, uint64_t *ret, struct cm_error **err)
{
    json_t *v = cm_json_field(obj, key);
    if (!v)
        return required ? missing(err, path, key) : 0;
    if (cm_json_check_uint64(v, path, key, max, ret, err) < 0)
        return -1;
    if (has)
        *has = true;
    return 0;
}

/* "PATH.KEY[I]" (or "KEY[I]" at the top) for an element's messages. */
static void
element_path(char *buf, size_t size, const char *path, const char *key, size_t i)
{
    if (path && *path)
        snprintf(buf, size, "%s.%s[%zu]", path, key, i);
    else
        snprintf(buf, size, "%s[%zu]", key, i);
}

int
cm_json_get_strv_max(json_t *obj, const char *path, const char *key, bool required, size_t n_max,
                     size_t max, cm_json_strv_check_fn check, char ***ret, struct cm_error **err)
{
    char p[256];
    json_t *arr, *v;
    size_t i;

    if (cm_json_get_container(obj, path, key, required, true, n_max, &arr, err) < 0)
        return -1;
    if (!arr)
        return 0;
    cleanup_strv char **out = xcalloc(json_array_size(arr) + 1, sizeof(char *));
    json_array_foreach (arr, i, v) {
        const char *s;
        /* The element's path is only built for a message. */
        if (!json_is_string(v) || json_string_length(v) > max) {
            element_path(p, sizeof(p), path, key, i);
            return cm_json_check_string(v, p, NULL, max, &s, err);
        }
        s = json_string_value(v);
        const char *bad = check ? check(s) : NULL;
        if (bad) {
            element_path(p, sizeof(p), path, key, i);
            return cm_json_error(err, p, NULL, "%s", bad);
        }
        out[i] = xstrdup(s);
    }
    cm_strv_free(*ret);
    *ret = TAKE_PTR(out);
    return 0;
}

/* ---- the first family: no limits beyond the type ---- */

int
cm_json_get_string(json_t *obj, const char *path, const char *key, bool required, const char **ret,
                   struct cm_error **err)
{
    return cm_json_get_string_max(obj, path, key, required, SIZE_MAX, ret, err);
}

int
cm_json_dup_string(json_t *obj, const char *path, const char *key, bool required, char **ret,
                   struct cm_error **err)
{
    return cm_json_dup_string_max(obj, path, key, required, SIZE_MAX, ret, err);
}

int
cm_json_get_bool(json_t *obj, const char *path, const char *key, bool required, bool *ret,
                 struct cm_error **err)
{
    json_t *v = cm_json_field(obj, key);
    if (!v)
        return required ? missing(err, path, key) : 0;
    if (!json_is_boolean(v))
        return cm_json_error(err, path, key, "expected a boolean");
    *ret = json_is_true(v);
    return 0;
}

int
cm_json_get_int64(json_t *obj, const char *path, const char *key, bool required, int64_t *ret,
                  struct cm_error **err)
{
    return cm_json_get_int64_range(obj, path, key, required, INT64_MIN, INT64_MAX, NULL, ret, err);
}

int
cm_json_get_uint64(json_t *obj, const char *path, const char *key, bool required, uint64_t max,
                   uint64_t *ret, struct cm_error **err)
{
    return cm_json_get_uint64_range(obj, path, key, required, max, NULL, ret, err);
}

int
cm_json_get_object(json_t *obj, const char *path, const char *key, bool required, json_t **ret,
                   struct cm_error **err)
{
    return cm_json_get_container(obj, path, key, required, false, SIZE_MAX, ret, err);
}

int
cm_json_get_array(json_t *obj, const char *path, const char *key, bool required, json_t **ret,
                  struct cm_error **err)
{
    return cm_json_get_container(obj, path, key, required, true, SIZE_MAX, ret, err);
}

json_t *
cm_json_array_from_strv(char *const *v)
{
    json_t *a = json_array();
    for (; v && *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

int
cm_json_get_strv(json_t *obj, const char *path, const char *key, bool required, char ***ret,
                 struct cm_error **err)
{
    return cm_json_get_strv_max(obj, path, key, required, SIZE_MAX, SIZE_MAX, NULL, ret, err);
}
