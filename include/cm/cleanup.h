/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound cleanup helpers (GCC/clang cleanup attribute) and ownership hand-off. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
cm_freep(void *p)
{
    free(*(void **)p);
}

static inline void
cm_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void
cm_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

static inline void
cm_closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

/* Frees a NULL-terminated vector of strings and the vector. */
static inline void
cm_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static inline void
cm_strv_freep(char ***v)
{
    cm_strv_free(*v);
}

#define cleanup_free __attribute__((cleanup(cm_freep)))
#define cleanup_close __attribute__((cleanup(cm_closep)))
#define cleanup_fclose __attribute__((cleanup(cm_fclosep)))
#define cleanup_dir __attribute__((cleanup(cm_closedirp)))
#define cleanup_strv __attribute__((cleanup(cm_strv_freep)))

/* CM_DEFINE_CLEANUP(struct foo *, foo_free) defines foo_freep() for use as
 * __attribute__((cleanup(foo_freep))). fn must accept NULL. */
#define CM_DEFINE_CLEANUP(type, fn)                                                                \
    static inline void fn##p(type *p)                                                              \
    {                                                                                              \
        fn(*p);                                                                                    \
    }

/* Hands ownership out of a cleanup variable: returns the value, resets the variable. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _tp_ = (p);                                                                  \
        (p) = NULL;                                                                                \
        _tp_;                                                                                      \
    })
#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _tf_ = (fd);                                                                           \
        (fd) = -1;                                                                                 \
        _tf_;                                                                                      \
    })
