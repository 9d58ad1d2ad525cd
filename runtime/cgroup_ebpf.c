/* SPDX-License-Identifier: Apache-2.0 */
/* Device rules on cgroup v2: v2 has no devices controller; access is decided
 * by an eBPF program of type CGROUP_DEVICE attached to the cgroup. We compile
 * linux.resources.devices into such a program (no libbpf, a few dozen
 * instructions) and attach it, replacing the one we attached before. */
#include <assert.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "cm/cleanup.h"
#include "cm/log.h"
#include "cm/xalloc.h"

#define OP_LDXW (BPF_LDX | BPF_W | BPF_MEM)
#define OP_AND32 (BPF_ALU | BPF_AND | BPF_K)
#define OP_RSH32 (BPF_ALU | BPF_RSH | BPF_K)
#define OP_MOV32_REG (BPF_ALU | BPF_MOV | BPF_X)
#define OP_MOV32_IMM (BPF_ALU | BPF_MOV | BPF_K)
#define OP_JNE32 (0x06 /* BPF_JMP32 */ | BPF_JNE | BPF_K)
#define OP_JEQ32 (0x06 /* BPF_JMP32 */ | BPF_JEQ | BPF_K)
#define OP_EXIT (BPF_JMP | BPF_EXIT)

static struct bpf_insn
insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/* Registers: r2 = device type, r3 = requested access, r4 = major, r5 = minor,
 * r6 = scratch. */
int
cg_bpf_devices_program(const struct rt_device_rule *rules, size_t n, struct bpf_insn **ret,
                       size_t *ret_n, struct cm_error **err)
{
    /* prologue 6 + per rule at most 9 + epilogue 2 */
    size_t cap = 8 + n * 9;
    cleanup_free struct bpf_insn *p = xcalloc(cap, sizeof(*p));
    size_t k = 0;
    bool unconditional = false;

    if (n > RT_MAX_ARRAY)
        return cm_error_set(err, 0, "devices: more than %d rules", RT_MAX_ARRAY);
    p[k++] = insn(OP_LDXW, 2, 1, 0, 0);
    p[k++] = insn(OP_AND32, 2, 0, 0, 0xffff);
    p[k++] = insn(OP_LDXW, 3, 1, 0, 0);
    p[k++] = insn(OP_RSH32, 3, 0, 0, 16);
    p[k++] = insn(OP_LDXW, 4, 1, 4, 0);
    p[k++] = insn(OP_LDXW, 5, 1, 8, 0);
    /* Later rules override earlier ones (the v1 list semantics): test them
     * last to first, the first match decides. */
    for (size_t i = 0; i < n; i++) {
        char line[80];
        if (cg_device_rule_line(&rules[i], line, sizeof(line), err) < 0)
            return cm_error_wrap(err, "devices[%zu]", i);
    }
    for (size_t i = n; i-- > 0;) {
        const struct rt_device_rule *r = &rules[i];
        int acc = 0;
        const char *a = r->access[0] ? r->access : "rwm";
        for (; *a; a++)
            acc |= *a == 'r'   ? BPF_DEVCG_ACC_READ
                   : *a == 'w' ? BPF_DEVCG_ACC_WRITE
                               : BPF_DEVCG_ACC_MKNOD;
        char type = r->type ? r->type : 'a';
        size_t start = k;
        /* jumps below are patched to the end of this block */
        if (type != 'a')
            p[k++] =
                insn(OP_JNE32, 2, 0, 0, type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
        if (acc != 7) {
            p[k++] = insn(OP_MOV32_REG, 6, 3, 0, 0);
            if (r->allow) {
                /* allowed only when every requested bit is in the rule */
                p[k++] = insn(OP_AND32, 6, 0, 0, ~acc & 7);
                p[k++] = insn(OP_JNE32, 6, 0, 0, 0);
            } else {
                /* denied when any requested bit is in the rule */
                p[k++] = insn(OP_AND32, 6, 0, 0, acc);
                p[k++] = insn(OP_JEQ32, 6, 0, 0, 0);
            }
        }
        if (type != 'a' && r->major >= 0)
            p[k++] = insn(OP_JNE32, 4, 0, 0, (int32_t)(uint32_t)r->major);
        if (type != 'a' && r->minor >= 0)
            p[k++] = insn(OP_JNE32, 5, 0, 0, (int32_t)(uint32_t)r->minor);
        p[k++] = insn(OP_MOV32_IMM, 0, 0, 0, r->allow ? 1 : 0);
        p[k++] = insn(OP_EXIT, 0, 0, 0, 0);
        for (size_t j = start; j < k - 2; j++)
            if (p[j].code == OP_JNE32 || p[j].code == OP_JEQ32)
                p[j].off = (int16_t)(k - j - 1);
        /* A rule without conditions always decides: anything after it
         * would be unreachable, which the verifier rejects. */
        if (k - start == 2) {
            unconditional = true;
            break;
        }
    }
    /* No rule matched: like a fresh v1 cgroup below the root, allow. A
     * config that wants a closed list starts with a deny-all rule. */
    if (!unconditional) {
        p[k++] = insn(OP_MOV32_IMM, 0, 0, 0, 1);
        p[k++] = insn(OP_EXIT, 0, 0, 0, 0);
    }
    assert(k <= cap);
    *ret = TAKE_PTR(p);
    *ret_n = k;
    return 0;
}

static int
sys_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

int
cg_bpf_devices_attach(int cgroup_fd, const char *dir, const struct rt_device_rule *rules, size_t n,
                      struct cm_error **err)
{
    cleanup_free struct bpf_insn *prog = NULL;
    size_t count = 0;
    uint32_t old_ids[64];
    uint32_t n_old = 64;
    union bpf_attr attr;
    char log[4096] = "";

    if (cg_bpf_devices_program(rules, n, &prog, &count, err) < 0)
        return -1;
    /* what we (or a previous `update`) attached before, to replace it */
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
    attr.query.prog_cnt = n_old;
    if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
        return cm_error_errno(err, "query device programs of '%s'", dir);
    n_old = attr.query.prog_cnt;

    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = (uint32_t)count;
    attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
    cleanup_close int prog_fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (prog_fd < 0) {
        /* load again with the verifier log (a log buffer needs a level) */
        int saved = errno;
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = sizeof(log);
        attr.log_level = 1;
        int again = sys_bpf(BPF_PROG_LOAD, &attr);
        if (again >= 0)
            close(again);
        errno = saved;
        return cm_error_errno(err, "load device program (%zu instructions%s%.200s)", count,
                              log[0] ? ": " : "", log);
    }
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
        return cm_error_errno(err, "attach device program to '%s'", dir);
    for (uint32_t i = 0; i < n_old && i < 64; i++) {
        memset(&attr, 0, sizeof(attr));
        attr.prog_id = old_ids[i];
        cleanup_close int old_fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
        if (old_fd < 0)
            continue;
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)old_fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_DETACH, &attr) < 0)
            cm_log_debug("cgroup: detach old device program %u from '%s': %s, ignoring", old_ids[i],
                         dir, strerror(errno));
    }
    cm_log_debug("cgroup: %s: device program of %zu instructions attached", dir, count);
    return 0;
}
