/* SPDX-License-Identifier: Apache-2.0 */
/* jansson glue with error messages that name the file position or the field. */
#include "cm/json.h"

#include <errno.h>
#include <fcntl.h>
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

static int
type_error(struct cm_error **err, const char *path, const char *key, const char *want)
{
    if (path && *path)
        return cm_error_set(err, 0, "%s.%s: expected %s", path, key, want);
    return cm_error_set(err, 0, "%s: expected %s", key, want);
}

static int
missing(struct cm_error **err, const char *path, const char *key)
{
    if (path && *path)
        return cm_error_set(err, 0, "%s.%s: required field missing", path, key);
    return cm_error_set(err, 0, "%s: required field missing", key);
}

static json_t *
member(json_t *obj, const char *path, const char *key, bool required, int *rc,
       struct cm_error **err)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    *rc = 0;
    if (!v || json_is_null(v)) {
        if (required)
            *rc = missing(err, path, key);
        return NULL;
    }
    return v;
}

int
cm_json_get_string(json_t *obj, const char *path, const char *key, bool required, const char **ret,
                   struct cm_error **err)
{
    int rc;
    json_t *v = member(obj, path, key, required, &rc, err);
    if (!v)
        return rc;
    if (!json_is_string(v))
        return type_error(err, path, key, "a string");
    *ret = json_string_value(v);
    return 0;
}

int
cm_json_dup_string(json_t *obj, const char *path, const char *key, bool required, char **ret,
                   struct cm_error **err)
{
    const char *s = NULL;
    if (cm_json_get_string(obj, path, key, required, &s, err) < 0)
        return -1;
    if (s) {
        free(*ret);
        *ret = xstrdup(s);
    }
    return 0;
}

int
cm_json_get_bool(json_t *obj, const char *path, const char *key, bool required, bool *ret,
                 struct cm_error **err)
{
    int rc;
    json_t *v = member(obj, path, key, required, &rc, err);
    if (!v)
        return rc;
    if (!json_is_boolean(v))
        return type_error(err, path, key, "a boolean");
    *ret = json_is_true(v);
    return 0;
}

int
cm_json_get_int64(json_t *obj, const char *path, const char *key, bool required, int64_t *ret,
                  struct cm_error **err)
{
    int rc;
    json_t *v = member(obj, path, key, required, &rc, err);
    if (!v)
        return rc;
    if (!json_is_integer(v))
        return type_error(err, path, key, "an integer");
    *ret = (int64_t)json_integer_value(v);
    return 0;
}

int
cm_json_get_uint64(json_t *obj, const char *path, const char *key, bool required, uint64_t max,
                   uint64_t *ret, struct cm_error **err)
{
    int rc;
    json_t *v = member(obj, path, key, required, &rc, err);
    if (!v)
        return rc;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return type_error(err, path, key, "a non-negative integer");
    if ((uint64_t)json_integer_value(v) > max) {
        if (path && *path)
            return cm_error_set(err, 0, "%s.%s: %lld is out of range (max %llu)", path, key,
                                (long long)json_integer_value(v), (unsigned long long)max);
        return cm_error_set(err, 0, "%s: %lld is out of range (max %llu)", key,
                            (long long)json_integer_value(v), (unsigned long long)max);
    }
    *ret = (uint64_t)json_integer_value(v);
    return 0;
}

int
cm_json_get_object(json_t *obj, const char *path, const char *key, bool required, json_t **ret,
                   struct cm_error **err)
{
    int rc;
    json_t *v = member(obj, path, key, required, &rc, err);
    *ret = NULL;
    if (!v)
        return rc;
    if (!json_is_object(v))
        return type_error(err, path, key, "an object");
    *ret = v;
    return 0;
}

int
cm_json_get_array(json_t *obj, const char *path, const char *key, bool required, json_t **ret,
                  struct cm_error **err)
{
    int rc;
    json_t *v = member(obj, path, key, required, &rc, err);
    *ret = NULL;
    if (!v)
        return rc;
    if (!json_is_array(v))
        return type_error(err, path, key, "an array");
    *ret = v;
    return 0;
}

int
cm_json_get_strv(json_t *obj, const char *path, const char *key, bool required, char ***ret,
                 struct cm_error **err)
{
    json_t *arr = NULL, *v;
    size_t i;

    if (cm_json_get_array(obj, path, key, required, &arr, err) < 0)
        return -1;
    if (!arr)
        return 0;
    cleanup_strv char **out = xcalloc(json_array_size(arr) + 1, sizeof(char *));
    json_array_foreach (arr, i, v) {
        if (!json_is_string(v)) {
            if (path && *path)
                return cm_error_set(err, 0, "%s.%s[%zu]: expected a string", path, key, i);
            return cm_error_set(err, 0, "%s[%zu]: expected a string", key, i);
        }
        out[i] = xstrdup(json_string_value(v));
    }
    cm_strv_free(*ret);
    *ret = TAKE_PTR(out);
    return 0;
}
