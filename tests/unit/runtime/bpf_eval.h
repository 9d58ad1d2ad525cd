/* SPDX-License-Identifier: Apache-2.0 */
/* A small classic-BPF interpreter for seccomp programs, so unit tests can ask
 * "what does this filter return for syscall N with these args on arch A"
 * without loading anything into the kernel. */
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Returns the filter's SECCOMP_RET_* value, or 0xdeadbeef for a program the
 * kernel would reject (bad opcode, jump or load out of range). */
static inline uint32_t
bpf_eval(const struct sock_filter *prog, size_t n, const struct seccomp_data *d)
{
    uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
    const uint8_t *data = (const uint8_t *)d;

    for (size_t pc = 0; pc < n; pc++) {
        const struct sock_filter *i = &prog[pc];
        uint32_t src = BPF_SRC(i->code) == BPF_X ? x : i->k;
        switch (BPF_CLASS(i->code)) {
        case BPF_LD:
            if (BPF_MODE(i->code) == BPF_ABS && BPF_SIZE(i->code) == BPF_W) {
                if (i->k + 4 > sizeof(*d) || i->k % 4)
                    return 0xdeadbeef;
                memcpy(&a, data + i->k, 4);
            } else if (BPF_MODE(i->code) == BPF_IMM) {
                a = i->k;
            } else if (BPF_MODE(i->code) == BPF_MEM && i->k < BPF_MEMWORDS) {
                a = mem[i->k];
            } else if (BPF_MODE(i->code) == BPF_LEN) {
                a = sizeof(*d);
            } else {
                return 0xdeadbeef;
            }
            break;
        case BPF_LDX:
            if (BPF_MODE(i->code) == BPF_IMM)
                x = i->k;
            else if (BPF_MODE(i->code) == BPF_MEM && i->k < BPF_MEMWORDS)
                x = mem[i->k];
            else if (BPF_MODE(i->code) == BPF_LEN)
                x = sizeof(*d);
            else
                return 0xdeadbeef;
            break;
        case BPF_ST:
        case BPF_STX:
            if (i->k >= BPF_MEMWORDS)
                return 0xdeadbeef;
            mem[i->k] = BPF_CLASS(i->code) == BPF_ST ? a : x;
            break;
        case BPF_ALU:
            switch (BPF_OP(i->code)) {
            case BPF_ADD:
                a += src;
                break;
            case BPF_SUB:
                a -= src;
                break;
            case BPF_MUL:
                a *= src;
                break;
            case BPF_DIV:
                if (!src)
                    return 0xdeadbeef;
                a /= src;
                break;
            case BPF_AND:
                a &= src;
                break;
            case BPF_OR:
                a |= src;
                break;
            case BPF_XOR:
                a ^= src;
                break;
            case BPF_LSH:
                a <<= (src & 31);
                break;
            case BPF_RSH:
                a >>= (src & 31);
                break;
            case BPF_NEG:
                a = -a;
                break;
            default:
                return 0xdeadbeef;
            }
            break;
        case BPF_JMP: {
            int taken;
            if (BPF_OP(i->code) == BPF_JA) {
                pc += i->k;
                continue;
            }
            switch (BPF_OP(i->code)) {
            case BPF_JEQ:
                taken = a == src;
                break;
            case BPF_JGT:
                taken = a > src;
                break;
            case BPF_JGE:
                taken = a >= src;
                break;
            case BPF_JSET:
                taken = (a & src) != 0;
                break;
            default:
                return 0xdeadbeef;
            }
            pc += taken ? i->jt : i->jf;
            break;
        }
        case BPF_RET:
            return BPF_RVAL(i->code) == BPF_A ? a : i->k;
        case BPF_MISC:
            if (BPF_MISCOP(i->code) == BPF_TAX)
                x = a;
            else
                a = x;
            break;
        default:
            return 0xdeadbeef;
        }
    }
    return 0xdeadbeef; /* fell off the end: the kernel rejects such programs */
}
