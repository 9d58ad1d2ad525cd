/* SPDX-License-Identifier: Apache-2.0 */
/* The project's one error type: an errno-like code plus a message that grows
 * context as it travels up ("outer: inner: cause"). */
#pragma once

#include <stdarg.h>

#define CM_PRINTF(a, b) __attribute__((format(printf, a, b)))

struct cm_error {
    int code;  /* errno value; 0 = validation error (bad input) */
    char *msg; /* owned, never NULL once set */
};

/* Sets *err (which must be NULL) to a new error; returns -1 so that call
 * sites can write `return cm_error_set(err, EINVAL, "...")`. A NULL err is
 * allowed: the error is then dropped. */
int cm_error_set(struct cm_error **err, int code, const char *fmt, ...) CM_PRINTF(3, 4);
int cm_error_setv(struct cm_error **err, int code, const char *fmt, va_list ap) CM_PRINTF(3, 0);
/* Like cm_error_set with code = errno and ": strerror(errno)" appended. */
int cm_error_errno(struct cm_error **err, const char *fmt, ...) CM_PRINTF(2, 3);
/* Prefixes the message of an already-set *err with "CONTEXT: "; returns -1. */
int cm_error_wrap(struct cm_error **err, const char *fmt, ...) CM_PRINTF(2, 3);
/* Frees *err and resets it to NULL; accepts NULL and *err == NULL. */
void cm_error_free(struct cm_error **err);
/* Maps an error to an HTTP status: ENOENT 404, EEXIST 409, validation 400, else 500. */
int cm_http_status(const struct cm_error *err);

#define cleanup_error __attribute__((cleanup(cm_error_free)))
