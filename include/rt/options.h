/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line parsing the way runc (urfave/cli) accepts it: "--name value",
 * "--name=value", "-name value", short "-n value", boolean flags with an
 * optional "=true|false", options before the positional arguments. Plus the
 * small pure helpers of the CLI verbs (user spec, `list` table). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cm/error.h"

struct rt_opt {
    const char *name; /* long name without dashes */
    char short_name;  /* 0 = none */
    bool has_arg;
    int id;
};

#define RT_OPT_END (-2)

/* Returns the id of the next option at argv[*ind] (advancing *ind), RT_OPT_END
 * at the first positional argument or after "--", -1 on an unknown option or
 * a missing value. *ret_arg is the value (has_arg) or "true"/"false". */
int rt_opt_next(int argc, char **argv, int *ind, const struct rt_opt *opts, size_t n,
                const char **ret_arg, struct cm_error **err);
/* "true"/"1"/"false"/"0" -> bool; -1 otherwise. */
int rt_parse_bool(const char *s, bool *ret);
/* Non-negative decimal int; -1 on junk or overflow. */
int rt_parse_int(const char *s, int *ret);
/* "UID[:GID]" -> ids; -1 when not numeric. */
int rt_parse_user(const char *s, uid_t *ret_uid, gid_t *ret_gid, bool *ret_has_gid);

/* Text table like Go's tabwriter(minwidth 12, padding 3): every column but the
 * last padded to max(width + 3, 12). cells has rows*cols entries, row-major.
 * Owned string. */
char *rt_format_table(const char *const *cells, size_t rows, size_t cols);
