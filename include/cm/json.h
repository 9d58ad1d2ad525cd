/* SPDX-License-Identifier: Apache-2.0 */
/* jansson glue: loading with positions in errors, typed field access whose
 * errors name the field's path (e.g. "process.args[2]"). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cm/error.h"

/* Loads a JSON file (duplicate keys rejected). Errors read "PATH:LINE:COL: text". */
int cm_json_load_file(const char *path, size_t max, json_t **ret, struct cm_error **err);
/* Parses a buffer; errors read "NAME:LINE:COL: text". */
int cm_json_loadb(const char *buf, size_t len, const char *name, json_t **ret,
                  struct cm_error **err);

/* Field readers. `path` is the JSON path of obj for messages ("linux.resources").
 * A missing key leaves *ret unchanged and returns 0 unless required; a key of the
 * wrong type is a validation error naming PATH.KEY. */
int cm_json_get_string(json_t *obj, const char *path, const char *key, bool required,
                       const char **ret, struct cm_error **err);
int cm_json_dup_string(json_t *obj, const char *path, const char *key, bool required, char **ret,
                       struct cm_error **err);
int cm_json_get_bool(json_t *obj, const char *path, const char *key, bool required, bool *ret,
                     struct cm_error **err);
int cm_json_get_int64(json_t *obj, const char *path, const char *key, bool required, int64_t *ret,
                      struct cm_error **err);
/* Unsigned values range-checked against max. */
int cm_json_get_uint64(json_t *obj, const char *path, const char *key, bool required, uint64_t max,
                       uint64_t *ret, struct cm_error **err);
/* Returns the object/array member (borrowed) or NULL when absent; type-checked. */
int cm_json_get_object(json_t *obj, const char *path, const char *key, bool required, json_t **ret,
                       struct cm_error **err);
int cm_json_get_array(json_t *obj, const char *path, const char *key, bool required, json_t **ret,
                      struct cm_error **err);
/* Array of strings -> NULL-terminated vector owned by the caller. */
int cm_json_get_strv(json_t *obj, const char *path, const char *key, bool required, char ***ret,
                     struct cm_error **err);
/* NULL-terminated vector (NULL: none) -> array of strings; a new reference. */
json_t *cm_json_array_from_strv(char *const *v);

/* ---- The same family with limits, ranges and "has" flags (the OCI config
 * parser's). Messages read "PATH.KEY: ...", "KEY: ..." when path is empty,
 * "PATH: ..." when key is NULL (an element: "process.args[2]"). ---- */

/* Like cm_json_loadb, but a document with integers beyond int64 (Go's
 * uint64 values: RLIM_INFINITY, seccomp masks) is reparsed with reals, and
 * the getters below then accept integral reals until
 * cm_json_set_ints_as_real(false) (per thread). */
int cm_json_loadb_wide(const char *buf, size_t len, const char *name, json_t **ret,
                       struct cm_error **err);
void cm_json_set_ints_as_real(bool on);
/* Sets the field error above; returns -1. */
int cm_json_error(struct cm_error **err, const char *path, const char *key, const char *fmt, ...)
    CM_PRINTF(4, 5);
/* The member, or NULL when absent or JSON null (Go writes null for nil slices). */
json_t *cm_json_field(json_t *obj, const char *key);
/* A string of at most max bytes (without NUL). */
int cm_json_check_string(json_t *v, const char *path, const char *key, size_t max, const char **ret,
                         struct cm_error **err);
int cm_json_get_string_max(json_t *obj, const char *path, const char *key, bool required,
                           size_t max, const char **ret, struct cm_error **err);
int cm_json_dup_string_max(json_t *obj, const char *path, const char *key, bool required,
                           size_t max, char **ret, struct cm_error **err);
/* An array (array true) or object with at most max elements/entries. */
int cm_json_get_container(json_t *obj, const char *path, const char *key, bool required, bool array,
                          size_t max, json_t **ret, struct cm_error **err);
/* Integers in min..max (unsigned: 0..max); *has (may be NULL) set when present. */
int cm_json_check_int64(json_t *v, const char *path, const char *key, int64_t min, int64_t max,
                        int64_t *ret, struct cm_error **err);
int cm_json_check_uint64(json_t *v, const char *path, const char *key, uint64_t max, uint64_t *ret,
                         struct cm_error **err);
int cm_json_get_int64_range(json_t *obj, const char *path, const char *key, bool required,
                            int64_t min, int64_t max, bool *has, int64_t *ret,
                            struct cm_error **err);
int cm_json_get_uint64_range(json_t *obj, const char *path, const char *key, bool required,
                             uint64_t max, bool *has, uint64_t *ret, struct cm_error **err);
/* Array of at most n_max strings of at most max bytes, each checked by check
 * when given (it returns a message, or NULL when the string is fine). */
typedef const char *(*cm_json_strv_check_fn)(const char *s);
int cm_json_get_strv_max(json_t *obj, const char *path, const char *key, bool required,
                         size_t n_max, size_t max, cm_json_strv_check_fn check, char ***ret,
                         struct cm_error **err);

/* jansson 2.14 provides json_auto_t (json_t with a json_decref cleanup). */
