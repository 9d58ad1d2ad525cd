/* SPDX-License-Identifier: Apache-2.0 */
/* Builds struct rt_seccomp by hand for tests (the parser is someone else's),
 * heap-allocated like the parser's output so rt_seccomp_profile_free frees it. */
#pragma once

#include <stdarg.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "rt/security.h"

static inline struct rt_seccomp *
sb_new(enum rt_seccomp_action def)
{
    struct rt_seccomp *s = xcalloc(1, sizeof(*s));
    s->default_action = def;
    return s;
}

/* "a,b,c" -> NULL-terminated vector. */
static inline char **
sb_strv(const char *csv)
{
    size_t n = 1;
    for (const char *p = csv; *p; p++)
        n += *p == ',';
    char **v = xcalloc(n + 1, sizeof(char *));
    char *copy = xstrdup(csv), *save = NULL;
    size_t i = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        v[i++] = xstrdup(t);
    free(copy);
    return v;
}

static inline struct rt_seccomp_syscall *
sb_rule(struct rt_seccomp *s, enum rt_seccomp_action action, const char *names)
{
    s->syscalls = xrealloc(s->syscalls, (s->n_syscalls + 1) * sizeof(*s->syscalls));
    struct rt_seccomp_syscall *sc = &s->syscalls[s->n_syscalls++];
    memset(sc, 0, sizeof(*sc));
    sc->action = action;
    sc->names = sb_strv(names);
    return sc;
}

static inline void
sb_errno(struct rt_seccomp_syscall *sc, uint32_t e)
{
    sc->has_errno_ret = true;
    sc->errno_ret = e;
}

static inline void
sb_arg(struct rt_seccomp_syscall *sc, unsigned index, enum rt_seccomp_op op, uint64_t value,
       uint64_t value_two)
{
    sc->args = xrealloc(sc->args, (sc->n_args + 1) * sizeof(*sc->args));
    sc->args[sc->n_args++] =
        (struct rt_seccomp_arg){.index = index, .op = op, .value = value, .value_two = value_two};
}

static inline void
sb_freep(struct rt_seccomp **s)
{
    rt_seccomp_profile_free(*s);
}
#define cleanup_sb __attribute__((cleanup(sb_freep)))
