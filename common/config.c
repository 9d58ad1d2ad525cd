/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON config files whose errors point at the line of the bad key:
 * jansson parses, a small scanner finds where each top-level key sits. */
#include "cm/config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/json.h"
#include "cm/xalloc.h"

unsigned
cm_config_key_line(const char *text, size_t len, const char *key)
{
    size_t klen = strlen(key);
    unsigned line = 1;
    int depth = 0;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\n') {
            line++;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == '"') {
            size_t start = ++i;
            while (i < len && text[i] != '"') {
                if (text[i] == '\\' && i + 1 < len)
                    i++;
                else if (text[i] == '\n')
                    line++;
                i++;
            }
            if (depth != 1 || i - start != klen || memcmp(text + start, key, klen))
                continue;
            /* A key, not a value: the next non-blank character is ':'. */
            size_t j = i + 1;
            while (j < len && strchr(" \t\r\n", text[j]))
                j++;
            if (j < len && text[j] == ':')
                return line;
        }
    }
    return 0;
}

static const char *
type_name(enum cm_config_type t)
{
    switch (t) {
    case CM_CONFIG_STRING:
        return "a string";
    case CM_CONFIG_UINT:
        return "a non-negative integer";
    case CM_CONFIG_BOOL:
        return "true or false";
    }
    return "?";
}

int
cm_config_parse(const char *text, size_t len, const char *name, const struct cm_config_key *keys,
                json_t **ret, struct cm_error **err)
{
    json_auto_t *root = NULL;
    const char *k;
    json_t *v;

    if (cm_json_loadb(text, len, name, &root, err) < 0)
        return -1;
    if (!json_is_object(root))
        return cm_error_set(err, 0, "%s:1: expected a JSON object of settings", name);
    json_object_foreach (root, k, v) {
        unsigned line = cm_config_key_line(text, len, k);
        const struct cm_config_key *key = NULL;
        for (const struct cm_config_key *c = keys; c->name; c++)
            if (!strcmp(c->name, k))
                key = c;
        if (!key) {
            size_t n = 0;
            cleanup_free char *known = xstrdup("");
            for (const struct cm_config_key *c = keys; c->name; c++) {
                char *s = xasprintf("%s%s%s", known, n++ ? ", " : "", c->name);
                free(known);
                known = s;
            }
            return cm_error_set(err, 0, "%s:%u: unknown key '%s' (known keys: %s)", name, line, k,
                                known);
        }
        bool ok = false;
        switch (key->type) {
        case CM_CONFIG_STRING:
            ok = json_is_string(v) && json_string_length(v) > 0 &&
                 strlen(json_string_value(v)) == json_string_length(v);
            break;
        case CM_CONFIG_UINT:
            ok = json_is_integer(v) && json_integer_value(v) >= 0;
            if (ok && ((uint64_t)json_integer_value(v) < key->min ||
                       (uint64_t)json_integer_value(v) > key->max))
                return cm_error_set(err, 0, "%s:%u: '%s' must be from %llu to %llu, got %lld", name,
                                    line, k, (unsigned long long)key->min,
                                    (unsigned long long)key->max, (long long)json_integer_value(v));
            break;
        case CM_CONFIG_BOOL:
            ok = json_is_boolean(v);
            break;
        }
        if (!ok)
            return cm_error_set(err, 0, "%s:%u: '%s' must be %s", name, line, k,
                                type_name(key->type));
    }
    *ret = TAKE_PTR(root);
    return 0;
}

int
cm_config_load(const char *path, const struct cm_config_key *keys, json_t **ret,
               struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (cm_read_file_at(AT_FDCWD, path, CM_CONFIG_MAX_SIZE, &buf, &len, err) < 0)
        return cm_error_wrap(err, "config");
    return cm_config_parse(buf, len, path, keys, ret, err);
}
