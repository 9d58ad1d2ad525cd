/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the seccomp files: the input of our BPF generator. */
#pragma once

#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm/error.h"

#define RT_BPF_MAX_CONDS 6 /* one per argument index */
#define RT_BPF_MAX_ARCHES 32

struct rt_bpf_cond {
    unsigned arg;
    enum scmp_compare op;
    uint64_t a, b; /* value (mask for MASKED_EQ), value_two */
};

struct rt_bpf_rule {
    uint32_t action; /* SECCOMP_RET_* with data */
    size_t n_conds;  /* 0 = unconditional */
    struct rt_bpf_cond conds[RT_BPF_MAX_CONDS];
};

struct rt_bpf_arch {
    uint32_t token; /* SCMP_ARCH_* */
    uint32_t audit; /* AUDIT_ARCH_* seen in seccomp_data.arch */
};

/* "On audit arch `audit`, syscall `nr` has rule `rule`." */
struct rt_bpf_pair {
    uint32_t audit;
    uint32_t nr;
    uint32_t rule;
    bool is64; /* 64-bit ABI: compare both argument words */
};

struct rt_bpf_input {
    uint32_t def_action;
    uint32_t badarch_action;
    const struct rt_bpf_arch *arches;
    size_t n_arches;
    const struct rt_bpf_rule *rules; /* index = precedence among equals */
    size_t n_rules;
    const struct rt_bpf_pair *pairs;
    size_t n_pairs;
};

/* Generates the program; *ret is malloc'ed. Fails (E2BIG) above BPF_MAXINSNS. */
int rt_bpf_generate(const struct rt_bpf_input *in, struct sock_filter **ret, size_t *ret_n,
                    struct cm_error **err);
