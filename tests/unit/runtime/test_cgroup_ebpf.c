/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the cgroup v2 device program: the generated eBPF is run by a
 * tiny interpreter of the instructions it uses, against device requests. */
#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <stdint.h>

#include "../../../runtime/cgroup_internal.h"
#include "cm/cleanup.h"

/* Returns the program's verdict for (type, access, major, minor); asserts on
 * anything the generator should never emit. */
static int
run(const struct bpf_insn *p, size_t n, uint32_t type, uint32_t access, uint32_t major,
    uint32_t minor)
{
    struct bpf_cgroup_dev_ctx ctx = {
        .access_type = (access << 16) | type, .major = major, .minor = minor};
    uint64_t r[11] = {0};
    size_t pc = 0;
    for (int steps = 0; steps < 100000; steps++) {
        cr_assert_lt(pc, n, "fell off the program");
        const struct bpf_insn *i = &p[pc++];
        uint32_t imm = (uint32_t)i->imm;
        switch (i->code) {
        case BPF_LDX | BPF_W | BPF_MEM:
            cr_assert_eq(i->src_reg, 1);
            cr_assert(i->off == 0 || i->off == 4 || i->off == 8);
            r[i->dst_reg] = *(uint32_t *)((char *)&ctx + i->off);
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            r[i->dst_reg] = (uint32_t)r[i->dst_reg] & imm;
            break;
        case BPF_ALU | BPF_RSH | BPF_K:
            r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> imm;
            break;
        case BPF_ALU | BPF_MOV | BPF_X:
            r[i->dst_reg] = (uint32_t)r[i->src_reg];
            break;
        case BPF_ALU | BPF_MOV | BPF_K:
            r[i->dst_reg] = imm;
            break;
        case 0x06 | BPF_JNE | BPF_K:
            if ((uint32_t)r[i->dst_reg] != imm)
                pc += (size_t)i->off;
            break;
        case 0x06 | BPF_JEQ | BPF_K:
            if ((uint32_t)r[i->dst_reg] == imm)
                pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_EXIT:
            return (int)r[0];
        default:
            cr_assert_fail("unexpected opcode 0x%x", i->code);
        }
    }
    cr_assert_fail("no exit");
    return -1;
}

#define C BPF_DEVCG_DEV_CHAR
#define B BPF_DEVCG_DEV_BLOCK
#define R BPF_DEVCG_ACC_READ
#define W BPF_DEVCG_ACC_WRITE
#define M BPF_DEVCG_ACC_MKNOD

Test(rt_cgroup_ebpf, last_matching_rule_decides)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free struct bpf_insn *p = NULL;
    size_t n = 0;
    struct rt_device_rule rules[] = {
        {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
        {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
        {.allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rw"},
        {.allow = false, .type = 'c', .major = 1, .minor = 3, .access = "w"},
    };

    cr_assert_eq(cg_bpf_devices_program(rules, 4, &p, &n, &err), 0);
    cr_assert_eq(run(p, n, C, R, 1, 3), 1, "read /dev/null");
    cr_assert_eq(run(p, n, C, W, 1, 3), 0, "write /dev/null is denied last");
    cr_assert_eq(run(p, n, C, R | W, 1, 3), 0, "rw includes the denied w");
    cr_assert_eq(run(p, n, C, M, 1, 3), 1, "mknod /dev/null");
    cr_assert_eq(run(p, n, C, R, 1, 5), 0, "zero is not listed");
    cr_assert_eq(run(p, n, C, R | W, 136, 7), 1, "any pty");
    cr_assert_eq(run(p, n, C, M, 136, 7), 0, "mknod of a pty is not in rw");
    cr_assert_eq(run(p, n, B, R, 1, 3), 0, "block 1:3 is another device");
}

Test(rt_cgroup_ebpf, no_rules_allow_everything)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free struct bpf_insn *p = NULL;
    size_t n = 0;

    cr_assert_eq(cg_bpf_devices_program(NULL, 0, &p, &n, &err), 0);
    cr_assert_eq(run(p, n, B, R | W | M, 8, 0), 1);
}

Test(rt_cgroup_ebpf, wildcards_and_block_devices)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free struct bpf_insn *p = NULL;
    size_t n = 0;
    struct rt_device_rule rules[] = {
        {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = ""},
        {.allow = true, .type = 'b', .major = -1, .minor = -1, .access = "m"},
        {.allow = true, .type = 'b', .major = 8, .minor = -1, .access = "r"},
        {.allow = true, .type = 'c', .major = 4000000000, .minor = 1, .access = "r"},
    };

    cr_assert_eq(cg_bpf_devices_program(rules, 4, &p, &n, &err), 0);
    cr_assert_eq(run(p, n, B, M, 259, 1), 1);
    cr_assert_eq(run(p, n, B, R, 259, 1), 0);
    cr_assert_eq(run(p, n, B, R, 8, 16), 1);
    cr_assert_eq(run(p, n, B, W, 8, 16), 0);
    cr_assert_eq(run(p, n, C, R, 4000000000u, 1), 1, "majors above 2^31 compare right");
    cr_assert_eq(run(p, n, C, M, 1, 1), 0);
}

Test(rt_cgroup_ebpf, invalid_rule_is_named)
{
    cleanup_error struct cm_error *err = NULL;
    struct bpf_insn *p = NULL;
    size_t n = 0;
    struct rt_device_rule rules[] = {
        {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
        {.allow = true, .type = 'q', .major = 1, .minor = 3, .access = "rwm"},
    };

    cr_assert_eq(cg_bpf_devices_program(rules, 2, &p, &n, &err), -1);
    cr_assert_null(p);
    cr_assert(strstr(err->msg, "devices[1]"), "%s", err->msg);
}
