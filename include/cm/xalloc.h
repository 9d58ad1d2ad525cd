/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation that never fails: out of memory aborts (not an error path). */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "cm/error.h"

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array to hold at least `need` elements of `size` (doubling); updates *cap. */
void *xreallocarray_grow(void *p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) CM_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) CM_PRINTF(1, 0);
/* Returns a NULL-terminated deep copy of v (NULL stays NULL). */
char **xstrv_dup(char *const *v);
size_t cm_strv_len(char *const *v);
