/* SPDX-License-Identifier: Apache-2.0 */
/* Our own seccomp BPF code generator. libseccomp 2.5 needs ~10 ms to turn a
 * docker-like profile (360 names, 3 architectures) into BPF; the whole
 * container start has a budget of about that. Names and architectures still
 * come from libseccomp's tables; only the program layout is ours:
 *
 *   ld arch; per audit arch: jeq -> ja block; ret badarch
 *   block:  ld nr; binary search over number *ranges*; each leaf is either
 *           one `ret` (a run of syscalls with the same unconditional action,
 *           or a gap with the default action) or the syscall's rule chain.
 *
 * Merging runs makes an allow-list small (neighbouring syscalls share ALLOW)
 * and every jump inside a subtree is relative to that subtree, so a far jump
 * can be fixed by inserting one `ja` without touching anything else.
 *
 * Semantics follow libseccomp where it is defined: an unconditional rule for
 * a syscall overrides its conditional rules; conditions of one rule are
 * ANDed; rules are tried fewest conditions first, then in config order. On
 * 32-bit architectures only the low 32 bits of an argument are compared. */
#include "seccomp_internal.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"

#define X32_SYSCALL_BIT 0x40000000u

struct emitter {
    struct sock_filter *v;
    size_t n, cap;
};

static size_t
emit(struct emitter *e, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
    e->v = xreallocarray_grow(e->v, &e->cap, e->n + 1, sizeof(*e->v));
    e->v[e->n] = (struct sock_filter){.code = code, .jt = jt, .jf = jf, .k = k};
    return e->n++;
}

/* Inserts one instruction at index at (shifting the tail). Only used when
 * the tail is a self-contained block whose jumps are all internal. */
static void
insert_at(struct emitter *e, size_t at, struct sock_filter insn)
{
    e->v = xreallocarray_grow(e->v, &e->cap, e->n + 1, sizeof(*e->v));
    memmove(&e->v[at + 1], &e->v[at], (e->n - at) * sizeof(*e->v));
    e->v[at] = insn;
    e->n++;
}

/* One (syscall number, rule) pair of an audit arch. */
struct entry {
    uint32_t nr;
    uint32_t rule; /* index into rules: the order of precedence */
    bool is64;
};

/* A range [start, next segment's start) of syscall numbers. */
struct segment {
    uint32_t start;
    bool simple;         /* one `ret action` */
    uint32_t action;     /* when simple */
    size_t first, count; /* entries of the single syscall, when !simple */
};

static int
cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->nr != y->nr)
        return x->nr < y->nr ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static size_t
arg_off(unsigned index, bool hi)
{
    size_t off = offsetof(struct seccomp_data, args) + 8 * index;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return off + (hi ? 4 : 0);
#else
    return off + (hi ? 0 : 4);
#endif
}

static size_t
cond_len(const struct rt_bpf_cond *c, bool is64)
{
    switch (c->op) {
    case SCMP_CMP_EQ:
    case SCMP_CMP_NE:
        return is64 ? 4 : 2;
    case SCMP_CMP_GT:
    case SCMP_CMP_GE:
    case SCMP_CMP_LT:
    case SCMP_CMP_LE:
        return is64 ? 5 : 2;
    case SCMP_CMP_MASKED_EQ:
        return is64 ? 6 : 3;
    case _SCMP_CMP_MIN:
    case _SCMP_CMP_MAX:
        break;
    }
    return 0;
}

#define LD(off) emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(off))
/* Conditional jump whose targets are absolute indexes. */
static void
jmp(struct emitter *e, uint16_t op, uint32_t k, size_t t_abs, size_t f_abs)
{
    size_t pc = e->n + 1;
    emit(e, BPF_JMP | op | BPF_K, (uint8_t)(t_abs - pc), (uint8_t)(f_abs - pc), k);
}

/* One condition; falls through / jumps to `next` when it holds, to `fail`
 * when not. */
static void
emit_cond(struct emitter *e, const struct rt_bpf_cond *c, bool is64, size_t fail)
{
    size_t next = e->n + cond_len(c, is64);
    uint32_t hi = (uint32_t)(c->a >> 32), lo = (uint32_t)c->a;
    /* MASKED_EQ: a = mask, b = value; bits of the value outside the mask
     * are ignored (libseccomp compares against value & mask). */
    uint32_t mhi = hi, mlo = lo;
    uint32_t vhi = (uint32_t)(c->b >> 32) & mhi, vlo = (uint32_t)c->b & mlo;

    if (is64) {
        LD(arg_off(c->arg, true));
        switch (c->op) {
        case SCMP_CMP_EQ:
            jmp(e, BPF_JEQ, hi, e->n + 1, fail);
            break;
        case SCMP_CMP_NE:
            jmp(e, BPF_JEQ, hi, e->n + 1, next);
            break;
        case SCMP_CMP_GT:
        case SCMP_CMP_GE:
            jmp(e, BPF_JGT, hi, next, e->n + 1);
            jmp(e, BPF_JEQ, hi, e->n + 1, fail);
            break;
        case SCMP_CMP_LT:
        case SCMP_CMP_LE:
            jmp(e, BPF_JGE, hi, e->n + 1, next);
            jmp(e, BPF_JEQ, hi, e->n + 1, fail);
            break;
        case SCMP_CMP_MASKED_EQ:
            emit(e, BPF_ALU | BPF_AND | BPF_K, 0, 0, mhi);
            jmp(e, BPF_JEQ, vhi, e->n + 1, fail);
            break;
        case _SCMP_CMP_MIN:
        case _SCMP_CMP_MAX:
            break;
        }
    }
    LD(arg_off(c->arg, false));
    switch (c->op) {
    case SCMP_CMP_EQ:
        jmp(e, BPF_JEQ, lo, next, fail);
        break;
    case SCMP_CMP_NE:
        jmp(e, BPF_JEQ, lo, fail, next);
        break;
    case SCMP_CMP_GT:
        jmp(e, BPF_JGT, lo, next, fail);
        break;
    case SCMP_CMP_GE:
        jmp(e, BPF_JGE, lo, next, fail);
        break;
    case SCMP_CMP_LT:
        jmp(e, BPF_JGE, lo, fail, next);
        break;
    case SCMP_CMP_LE:
        jmp(e, BPF_JGT, lo, fail, next);
        break;
    case SCMP_CMP_MASKED_EQ:
        emit(e, BPF_ALU | BPF_AND | BPF_K, 0, 0, mlo);
        jmp(e, BPF_JEQ, vlo, next, fail);
        break;
    case _SCMP_CMP_MIN:
    case _SCMP_CMP_MAX:
        break;
    }
}

/* The rule chain of one syscall: conditional rules by fewest conditions,
 * then the default. (An unconditional rule never gets here: simple.) */
static void
emit_chain(struct emitter *e, const struct rt_bpf_input *in, const struct entry *ents, size_t n)
{
    for (size_t k = 1; k <= RT_BPF_MAX_CONDS; k++)
        for (size_t i = 0; i < n && e->n <= BPF_MAXINSNS; i++) {
            const struct rt_bpf_rule *r = &in->rules[ents[i].rule];
            bool is64 = ents[i].is64;
            size_t len = 1;
            if (r->n_conds != k)
                continue;
            for (size_t c = 0; c < r->n_conds; c++)
                len += cond_len(&r->conds[c], is64);
            size_t fail = e->n + len;
            for (size_t c = 0; c < r->n_conds; c++)
                emit_cond(e, &r->conds[c], is64, fail);
            emit(e, BPF_RET | BPF_K, 0, 0, r->action);
        }
    emit(e, BPF_RET | BPF_K, 0, 0, in->def_action);
}

static void
emit_tree(struct emitter *e, const struct rt_bpf_input *in, const struct segment *segs, size_t lo,
          size_t hi, const struct entry *ents)
{
    /* Too large already: stop (rt_bpf_generate fails) instead of building
     * a hostile config's giant program. */
    if (e->n > BPF_MAXINSNS)
        return;
    if (hi - lo == 1) {
        const struct segment *s = &segs[lo];
        if (s->simple)
            emit(e, BPF_RET | BPF_K, 0, 0, s->action);
        else
            emit_chain(e, in, &ents[s->first], s->count);
        return;
    }
    size_t mid = lo + (hi - lo) / 2;
    /* if (nr >= segs[mid].start) goto right; else left */
    size_t p = emit(e, BPF_JMP | BPF_JGE | BPF_K, 0, 0, segs[mid].start);
    emit_tree(e, in, segs, lo, mid, ents);
    size_t left_len = e->n - p - 1;
    if (e->n > BPF_MAXINSNS)
        return;
    if (left_len <= 255) {
        e->v[p].jt = (uint8_t)left_len;
    } else {
        e->v[p].jt = 0, e->v[p].jf = 1;
        insert_at(e, p + 1,
                  (struct sock_filter){.code = BPF_JMP | BPF_JA, .k = (uint32_t)left_len});
    }
    emit_tree(e, in, segs, mid, hi, ents);
}

/* Covers [0, 2^32) with segments. x32_reject: the audit arch is x86_64's
 * and x32 is not in the filter, so numbers with the x32 bit get the bad-arch
 * action (as libseccomp does). */
static void
build_segments(const struct rt_bpf_input *in, const struct entry *ents, size_t n_ents,
               bool x32_reject, struct segment **ret, size_t *ret_n)
{
    struct segment *segs = NULL;
    size_t n = 0, cap = 0;
    uint32_t cursor = 0; /* first number not yet covered */

#define PUSH(seg)                                                                                  \
    do {                                                                                           \
        struct segment s_ = (seg);                                                                 \
        if (n > 0 && s_.simple && segs[n - 1].simple && segs[n - 1].action == s_.action)           \
            break; /* merge with the previous run */                                               \
        segs = xreallocarray_grow(segs, &cap, n + 1, sizeof(*segs));                               \
        segs[n++] = s_;                                                                            \
    } while (0)

    for (size_t i = 0; i < n_ents;) {
        uint32_t nr = ents[i].nr;
        size_t j = i;
        while (j < n_ents && ents[j].nr == nr)
            j++;
        if (x32_reject && nr >= X32_SYSCALL_BIT) {
            i = j;
            continue;
        }
        if (nr > cursor)
            PUSH(((struct segment){.start = cursor, .simple = true, .action = in->def_action}));
        /* The first unconditional rule (lowest index = config order) wins. */
        const struct rt_bpf_rule *uncond = NULL;
        for (size_t k = i; k < j && !uncond; k++)
            if (in->rules[ents[k].rule].n_conds == 0)
                uncond = &in->rules[ents[k].rule];
        if (uncond)
            PUSH(((struct segment){.start = nr, .simple = true, .action = uncond->action}));
        else
            PUSH(((struct segment){.start = nr, .first = i, .count = j - i}));
        cursor = nr + 1;
        i = j;
        if (cursor == 0) /* nr was UINT32_MAX */
            break;
    }
    if (x32_reject) {
        if (cursor < X32_SYSCALL_BIT)
            PUSH(((struct segment){.start = cursor, .simple = true, .action = in->def_action}));
        PUSH(((struct segment){
            .start = X32_SYSCALL_BIT, .simple = true, .action = in->badarch_action}));
    } else if (cursor != 0 || n == 0) {
        PUSH(((struct segment){.start = cursor, .simple = true, .action = in->def_action}));
    }
#undef PUSH
    /* A first segment starting above 0 cannot happen (cursor starts at 0). */
    *ret = segs;
    *ret_n = n;
}

int
rt_bpf_generate(const struct rt_bpf_input *in, struct sock_filter **ret, size_t *ret_n,
                struct cm_error **err)
{
    struct emitter e = {0};
    cleanup_free struct entry *ents = NULL;
    uint32_t audits[RT_BPF_MAX_ARCHES];
    size_t n_audits = 0, jumps[RT_BPF_MAX_ARCHES];

    /* Distinct audit arches (x86_64 and x32 share AUDIT_ARCH_X86_64). */
    for (size_t a = 0; a < in->n_arches; a++) {
        bool dup = false;
        for (size_t b = 0; b < n_audits; b++)
            dup |= audits[b] == in->arches[a].audit;
        if (!dup)
            audits[n_audits++] = in->arches[a].audit;
    }

    emit(&e, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
    for (size_t b = 0; b < n_audits; b++) {
        emit(&e, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, audits[b]);
        jumps[b] = emit(&e, BPF_JMP | BPF_JA, 0, 0, 0);
    }
    emit(&e, BPF_RET | BPF_K, 0, 0, in->badarch_action);

    ents = xcalloc(in->n_pairs ? in->n_pairs : 1, sizeof(*ents));
    for (size_t b = 0; b < n_audits; b++) {
        size_t n_ents = 0, n_segs = 0;
        cleanup_free struct segment *segs = NULL;
        bool has_x86_64 = false, has_x32 = false;

        for (size_t a = 0; a < in->n_arches; a++) {
            if (in->arches[a].audit != audits[b])
                continue;
            has_x32 |= in->arches[a].token == SCMP_ARCH_X32;
            has_x86_64 |= in->arches[a].token == SCMP_ARCH_X86_64;
        }
        for (size_t i = 0; i < in->n_pairs; i++)
            if (in->pairs[i].audit == audits[b])
                ents[n_ents++] = (struct entry){
                    .nr = in->pairs[i].nr, .rule = in->pairs[i].rule, .is64 = in->pairs[i].is64};
        qsort(ents, n_ents, sizeof(*ents), cmp_entry);
        build_segments(in, ents, n_ents, has_x86_64 && !has_x32, &segs, &n_segs);

        e.v[jumps[b]].k = (uint32_t)(e.n - jumps[b] - 1);
        emit(&e, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
        emit_tree(&e, in, segs, 0, n_segs, ents);
    }
    if (e.n > BPF_MAXINSNS) {
        free(e.v);
        return cm_error_set(err, E2BIG, "seccomp filter needs %zu BPF instructions (max %d)", e.n,
                            BPF_MAXINSNS);
    }
    *ret = e.v;
    *ret_n = e.n;
    return 0;
}
