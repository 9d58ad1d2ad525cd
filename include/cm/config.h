/* SPDX-License-Identifier: Apache-2.0 */
/* Daemon config files: one strict JSON object of scalar keys. Unknown keys,
 * wrong types and out-of-range numbers are errors naming the file and line. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "cm/error.h"

#define CM_CONFIG_MAX_SIZE (256 * 1024)

enum cm_config_type {
    CM_CONFIG_STRING = 0,
    CM_CONFIG_UINT, /* integer in [min, max] */
    CM_CONFIG_BOOL,
};

struct cm_config_key {
    const char *name;
    enum cm_config_type type;
    uint64_t min, max; /* CM_CONFIG_UINT only */
};

/* Loads and validates PATH against keys (terminated by a NULL name); *ret
 * gets the object. Errors read "PATH:LINE: ...". */
int cm_config_load(const char *path, const struct cm_config_key *keys, json_t **ret,
                   struct cm_error **err);
/* Same for text already in memory; name is used in messages. */
int cm_config_parse(const char *text, size_t len, const char *name,
                    const struct cm_config_key *keys, json_t **ret, struct cm_error **err);
/* 1-based line of the top-level key in JSON text, or 0 if not found. */
unsigned cm_config_key_line(const char *text, size_t len, const char *key);
