/* SPDX-License-Identifier: Apache-2.0 */
/* cm_error: the project's error type (see include/cm/error.h). */
#include "cm/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm/xalloc.h"

int
cm_error_setv(struct cm_error **err, int code, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    /* Setting twice leaks the first message and hides a bug: keep the first. */
    if (*err)
        return -1;
    struct cm_error *e = xmalloc(sizeof(*e));
    e->code = code;
    e->msg = xvasprintf(fmt, ap);
    *err = e;
    return -1;
}

int
cm_error_set(struct cm_error **err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cm_error_setv(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

int
cm_error_errno(struct cm_error **err, const char *fmt, ...)
{
    int saved = errno;
    char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = xvasprintf(fmt, ap);
    va_end(ap);
    cm_error_set(err, saved, "%s: %s", msg, strerror(saved));
    free(msg);
    errno = saved;
    return -1;
}

int
cm_error_wrap(struct cm_error **err, const char *fmt, ...)
{
    char *ctx = NULL;
    va_list ap;

    if (!err || !*err)
        return -1;
    va_start(ap, fmt);
    ctx = xvasprintf(fmt, ap);
    va_end(ap);
    char *msg = xasprintf("%s: %s", ctx, (*err)->msg);
    free(ctx);
    free((*err)->msg);
    (*err)->msg = msg;
    return -1;
}

void
cm_error_free(struct cm_error **err)
{
    if (!err || !*err)
        return;
    free((*err)->msg);
    free(*err);
    *err = NULL;
}

int
cm_http_status(const struct cm_error *err)
{
    if (!err)
        return 200;
    switch (err->code) {
    case 0:
    case EINVAL:
        return 400;
    case ENOENT:
        return 404;
    case EEXIST:
        return 409;
    case EACCES:
    case EPERM:
        return 403;
    default:
        return 500;
    }
}
