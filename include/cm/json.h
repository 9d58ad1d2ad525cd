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

/* jansson 2.14 provides json_auto_t (json_t with a json_decref cleanup). */
