/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the seccomp layer: validation messages, the action table,
 * and the compiled program's behaviour, checked with a BPF interpreter. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bpf_eval.h"
#include "cm/error.h"
#include "rt/security.h"
#include "seccomp_build.h"

/* Compiles s and runs the program for syscall `name` on arch (0 = native). */
static uint32_t
eval_arch(const struct rt_seccomp *s, uint32_t arch, const char *name, uint64_t a0, uint64_t a1,
          uint64_t a2)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = NULL;
    struct seccomp_data d = {0};
    size_t n;

    cr_assert_eq(rt_seccomp_compile(s, &f, &err), 0, "compile: %s", err ? err->msg : "");
    d.arch = arch ? arch : seccomp_arch_native();
    d.nr = seccomp_syscall_resolve_name_arch(d.arch, name);
    cr_assert_geq(d.nr, 0, "'%s' has no number on arch 0x%x", name, d.arch);
    d.args[0] = a0, d.args[1] = a1, d.args[2] = a2;
    const struct sock_filter *prog = rt_seccomp_filter_program(f, &n);
    return bpf_eval(prog, n, &d);
}

static uint32_t
eval(const struct rt_seccomp *s, const char *name, uint64_t a0, uint64_t a1, uint64_t a2)
{
    return eval_arch(s, 0, name, a0, a1, a2);
}

static void
expect_invalid(const struct rt_seccomp *s, const char *part1, const char *part2)
{
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(rt_seccomp_validate(s, &err), -1, "expected an error mentioning '%s'", part1);
    cr_assert_not_null(err);
    cr_expect(strstr(err->msg, part1), "'%s' lacks '%s'", err->msg, part1);
    if (part2)
        cr_expect(strstr(err->msg, part2), "'%s' lacks '%s'", err->msg, part2);
    cr_expect_eq(err->code, 0, "validation errors carry code 0");
}

static void
expect_valid(const struct rt_seccomp *s)
{
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(rt_seccomp_validate(s, &err), 0, "%s", err ? err->msg : "");
}

Test(rt_seccomp, null_is_valid)
{
    cr_assert_eq(rt_seccomp_validate(NULL, NULL), 0);
}

Test(rt_seccomp, unknown_name_names_entry_and_syscall)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    sb_rule(s, RT_SCMP_ERRNO, "getcwd");
    sb_rule(s, RT_SCMP_ERRNO, "mkdir,no_such_syscall");
    expect_invalid(s, "syscalls[1]", "'no_such_syscall'");
}

Test(rt_seccomp, name_absent_on_listed_arches_is_skipped)
{
    /* socketcall exists on x86 only; with x86_64 alone it is skipped, not an error. */
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    s->architectures = sb_strv("SCMP_ARCH_X86_64");
    sb_rule(s, RT_SCMP_ERRNO, "socketcall,arch_prctl,_llseek");
    expect_valid(s);
    if (seccomp_arch_native() == SCMP_ARCH_X86_64)
        cr_expect_eq(eval(s, "arch_prctl", 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
}

Test(rt_seccomp, name_known_on_one_arch_applies_there)
{
    if (seccomp_arch_native() != SCMP_ARCH_X86_64)
        cr_skip_test("x86_64 host only");
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    s->architectures = sb_strv("SCMP_ARCH_X86_64,SCMP_ARCH_X86");
    sb_rule(s, RT_SCMP_ERRNO, "socketcall");
    cr_expect_eq(eval_arch(s, SCMP_ARCH_X86, "socketcall", 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
    cr_expect_eq(eval_arch(s, SCMP_ARCH_X86, "getpid", 0, 0, 0), SECCOMP_RET_ALLOW);
}

Test(rt_seccomp, newer_kernel_syscall_is_skipped)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ERRNO);
    sb_rule(s, RT_SCMP_ALLOW, "getpid,mseal,statmount");
    expect_valid(s);
    cr_expect_eq(eval(s, "getpid", 0, 0, 0), SECCOMP_RET_ALLOW);
}

Test(rt_seccomp, bad_arch)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    s->architectures = sb_strv("SCMP_ARCH_X86_64,SCMP_ARCH_VAX");
    expect_invalid(s, "architectures[1]", "'SCMP_ARCH_VAX'");
}

Test(rt_seccomp, arch_names_are_upper_case)
{
    uint32_t a;
    cr_expect_eq(rt_seccomp_arch_from_name("SCMP_ARCH_x86_64", &a), -1);
    cr_expect_eq(rt_seccomp_arch_from_name("x86_64", &a), -1);
    cr_expect_eq(rt_seccomp_arch_from_name("SCMP_ARCH_", &a), -1);
    cr_expect_eq(rt_seccomp_arch_from_name(NULL, &a), -1);
    for (const char *const *n = rt_seccomp_arch_names; *n; n++)
        cr_expect_eq(rt_seccomp_arch_from_name(*n, &a), 0, "%s", *n);
    cr_assert_eq(rt_seccomp_arch_from_name("SCMP_ARCH_AARCH64", &a), 0);
    cr_expect_eq(a, SCMP_ARCH_AARCH64);
}

Test(rt_seccomp, bad_flag)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    s->flags = sb_strv("SECCOMP_FILTER_FLAG_LOG,SECCOMP_FILTER_FLAG_BOGUS");
    expect_invalid(s, "flags[1]", "'SECCOMP_FILTER_FLAG_BOGUS'");
}

Test(rt_seccomp, flags_reach_the_filter)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = NULL;
    s->flags = sb_strv("SECCOMP_FILTER_FLAG_TSYNC,SECCOMP_FILTER_FLAG_LOG,"
                       "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
    cr_assert_eq(rt_seccomp_compile(s, &f, &err), 0);
    cr_expect_eq(rt_seccomp_filter_flags(f), SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG |
                                                 SECCOMP_FILTER_FLAG_SPEC_ALLOW);
}

Test(rt_seccomp, notify_adds_listener_flag)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = NULL;
    s->flags = sb_strv("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,SECCOMP_FILTER_FLAG_TSYNC");
    s->listener_path = xstrdup("/run/listener.sock");
    sb_rule(s, RT_SCMP_NOTIFY, "mkdir");
    cr_assert_eq(rt_seccomp_compile(s, &f, &err), 0, "%s", err ? err->msg : "");
    unsigned flags = rt_seccomp_filter_flags(f);
    cr_expect(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
    cr_expect(flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    cr_expect(flags & SECCOMP_FILTER_FLAG_TSYNC_ESRCH, "TSYNC with a listener needs TSYNC_ESRCH");
    cr_expect_eq(eval(s, "mkdir", 0, 0, 0), SECCOMP_RET_USER_NOTIF);
}

Test(rt_seccomp, wait_killable_without_notify)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    s->flags = sb_strv("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
    expect_invalid(s, "WAIT_KILLABLE_RECV", "SCMP_ACT_NOTIFY");
}

Test(rt_seccomp, notify_checks)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_NOTIFY);
    expect_invalid(s, "defaultAction", "SCMP_ACT_NOTIFY");
    s->default_action = RT_SCMP_ALLOW;
    sb_rule(s, RT_SCMP_NOTIFY, "mkdir");
    expect_invalid(s, "listenerPath", NULL);
    s->listener_path = xstrdup("/run/l.sock");
    expect_valid(s);
    sb_rule(s, RT_SCMP_NOTIFY, "write");
    expect_invalid(s, "syscalls[1]", "'write'");
}

Test(rt_seccomp, errno_ret_only_for_errno_and_trace)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    sb_errno(sb_rule(s, RT_SCMP_KILL_PROCESS, "mkdir"), 5);
    expect_invalid(s, "syscalls[0].action", "errnoRet");
}

Test(rt_seccomp, default_errno_ret_only_for_errno_and_trace)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    s->has_default_errno_ret = true;
    s->default_errno_ret = 1;
    expect_invalid(s, "defaultAction", "errnoRet");
}

Test(rt_seccomp, errno_ret_range)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    sb_errno(sb_rule(s, RT_SCMP_ERRNO, "mkdir"), 70000);
    expect_invalid(s, "syscalls[0]", "70000");
}

Test(rt_seccomp, empty_names_and_bad_args)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    struct rt_seccomp_syscall *sc = sb_rule(s, RT_SCMP_ERRNO, "mkdir");
    sb_arg(sc, 6, RT_SCMP_CMP_EQ, 1, 0);
    expect_invalid(s, "syscalls[0].args[0].index", NULL);
    sc->args[0].index = 1;
    sc->args[0].op = (enum rt_seccomp_op)42;
    expect_invalid(s, "syscalls[0].args[0].op", NULL);
    sc->args[0].op = RT_SCMP_CMP_EQ;
    expect_valid(s);
    sc->n_args = 3;
    free(sc->args);
    sc->args = NULL;
    expect_invalid(s, "syscalls[0].args", "missing");
    sc->n_args = 0;
    free(sc->names[0]);
    sc->names[0] = NULL;
    expect_invalid(s, "syscalls[0].names", "empty");
}

/* Action table, parameterized. No pointers in the parameters (they cross
 * into Criterion's worker process). */
struct action_case {
    int action;
    bool has_errno;
    uint32_t errno_ret;
    bool ok;
    uint32_t value;
};

ParameterizedTestParameters(rt_seccomp, action_table)
{
    static struct action_case cases[] = {
        {RT_SCMP_KILL, false, 0, true, SCMP_ACT_KILL_THREAD},
        {RT_SCMP_KILL_THREAD, false, 0, true, SCMP_ACT_KILL_THREAD},
        {RT_SCMP_KILL_PROCESS, false, 0, true, SCMP_ACT_KILL_PROCESS},
        {RT_SCMP_TRAP, false, 0, true, SCMP_ACT_TRAP},
        {RT_SCMP_ERRNO, false, 0, true, SCMP_ACT_ERRNO(EPERM)},
        {RT_SCMP_ERRNO, true, ENOSYS, true, SCMP_ACT_ERRNO(ENOSYS)},
        {RT_SCMP_ERRNO, true, 0, true, SCMP_ACT_ERRNO(0)},
        {RT_SCMP_ERRNO, true, 4096, false, 0},
        {RT_SCMP_TRACE, false, 0, true, SCMP_ACT_TRACE(EPERM)},
        {RT_SCMP_TRACE, true, 1234, true, SCMP_ACT_TRACE(1234)},
        {RT_SCMP_TRACE, true, 65536, false, 0},
        {RT_SCMP_ALLOW, false, 0, true, SCMP_ACT_ALLOW},
        {RT_SCMP_ALLOW, true, 1, false, 0},
        {RT_SCMP_LOG, false, 0, true, SCMP_ACT_LOG},
        {RT_SCMP_NOTIFY, false, 0, true, SCMP_ACT_NOTIFY},
        {RT_SCMP_NOTIFY, true, 1, false, 0},
        {99, false, 0, false, 0},
    };
    return cr_make_param_array(struct action_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct action_case *c, rt_seccomp, action_table)
{
    cleanup_error struct cm_error *err = NULL;
    uint32_t v = 0xffffffff;
    int r = rt_seccomp_action_value((enum rt_seccomp_action)c->action, c->has_errno, c->errno_ret,
                                    &v, &err);
    if (c->ok) {
        cr_assert_eq(r, 0, "action %d: %s", c->action, err ? err->msg : "");
        cr_expect_eq(v, c->value, "action %d: 0x%x != 0x%x", c->action, v, c->value);
    } else {
        cr_assert_eq(r, -1, "action %d should be refused", c->action);
        cr_expect_not_null(err);
    }
}

Test(rt_seccomp, action_names)
{
    cr_expect_str_eq(rt_seccomp_action_name(RT_SCMP_KILL_PROCESS), "SCMP_ACT_KILL_PROCESS");
    cr_expect_str_eq(rt_seccomp_action_name(RT_SCMP_NOTIFY), "SCMP_ACT_NOTIFY");
    cr_expect_null(rt_seccomp_action_name((enum rt_seccomp_action)77));
}

Test(rt_seccomp, compile_produces_program)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = NULL;
    size_t n = 0;
    sb_rule(s, RT_SCMP_ERRNO, "getcwd");
    cr_assert_eq(rt_seccomp_compile(s, &f, &err), 0, "%s", err ? err->msg : "");
    const struct sock_filter *prog = rt_seccomp_filter_program(f, &n);
    cr_assert_not_null(prog);
    cr_assert_gt(n, 3);
    /* The last instruction of a seccomp program returns. */
    cr_expect_eq(BPF_CLASS(prog[n - 1].code), BPF_RET);
}

Test(rt_seccomp, compile_rejects_what_validate_rejects)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    cleanup_error struct cm_error *err = NULL;
    struct rt_seccomp_filter *f = NULL;
    sb_rule(s, RT_SCMP_ERRNO, "nope_nope");
    cr_assert_eq(rt_seccomp_compile(s, &f, &err), -1);
    cr_expect_null(f);
    cr_expect(strstr(err->msg, "nope_nope"));
}

Test(rt_seccomp, actions_in_program)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    sb_errno(sb_rule(s, RT_SCMP_ERRNO, "getcwd"), EACCES);
    sb_rule(s, RT_SCMP_ERRNO, "mkdir");
    sb_rule(s, RT_SCMP_KILL_PROCESS, "reboot");
    sb_rule(s, RT_SCMP_KILL, "swapon");
    sb_rule(s, RT_SCMP_TRAP, "acct");
    sb_errno(sb_rule(s, RT_SCMP_TRACE, "chroot"), 7);
    sb_rule(s, RT_SCMP_LOG, "sync");
    cr_expect_eq(eval(s, "getcwd", 0, 0, 0), SECCOMP_RET_ERRNO | EACCES);
    cr_expect_eq(eval(s, "mkdir", 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
    cr_expect_eq(eval(s, "reboot", 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
    cr_expect_eq(eval(s, "swapon", 0, 0, 0), SECCOMP_RET_KILL_THREAD);
    cr_expect_eq(eval(s, "acct", 0, 0, 0), SECCOMP_RET_TRAP);
    cr_expect_eq(eval(s, "chroot", 0, 0, 0), SECCOMP_RET_TRACE | 7);
    cr_expect_eq(eval(s, "sync", 0, 0, 0), SECCOMP_RET_LOG);
    cr_expect_eq(eval(s, "getpid", 0, 0, 0), SECCOMP_RET_ALLOW);
}

Test(rt_seccomp, default_errno_ret)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ERRNO);
    s->has_default_errno_ret = true;
    s->default_errno_ret = ENOSYS;
    sb_rule(s, RT_SCMP_ALLOW, "getpid");
    cr_expect_eq(eval(s, "mkdir", 0, 0, 0), SECCOMP_RET_ERRNO | ENOSYS);
    cr_expect_eq(eval(s, "getpid", 0, 0, 0), SECCOMP_RET_ALLOW);
}

Test(rt_seccomp, rule_equal_to_default_is_skipped)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ERRNO);
    sb_rule(s, RT_SCMP_ERRNO, "mkdir"); /* same as the default: libseccomp would refuse it */
    sb_errno(sb_rule(s, RT_SCMP_ERRNO, "rmdir"), EPERM);
    sb_errno(sb_rule(s, RT_SCMP_ERRNO, "getcwd"), EACCES); /* differs: kept */
    cr_expect_eq(eval(s, "mkdir", 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
    cr_expect_eq(eval(s, "rmdir", 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
    cr_expect_eq(eval(s, "getcwd", 0, 0, 0), SECCOMP_RET_ERRNO | EACCES);
}

Test(rt_seccomp, args_distinct_index_are_anded)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    struct rt_seccomp_syscall *sc = sb_rule(s, RT_SCMP_ERRNO, "kill");
    sb_arg(sc, 0, RT_SCMP_CMP_EQ, 1, 0);
    sb_arg(sc, 1, RT_SCMP_CMP_EQ, 9, 0);
    cr_expect_eq(eval(s, "kill", 1, 9, 0), SECCOMP_RET_ERRNO | EPERM);
    cr_expect_eq(eval(s, "kill", 1, 15, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "kill", 2, 9, 0), SECCOMP_RET_ALLOW);
}

Test(rt_seccomp, args_same_index_become_separate_rules)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ERRNO);
    struct rt_seccomp_syscall *sc = sb_rule(s, RT_SCMP_ALLOW, "personality");
    sb_arg(sc, 0, RT_SCMP_CMP_EQ, 0, 0);
    sb_arg(sc, 0, RT_SCMP_CMP_EQ, 8, 0);
    sb_arg(sc, 0, RT_SCMP_CMP_EQ, 0xffffffff, 0);
    cr_expect_eq(eval(s, "personality", 0, 0, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "personality", 8, 0, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "personality", 0xffffffff, 0, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "personality", 1, 0, 0), SECCOMP_RET_ERRNO | EPERM);
}

struct op_case {
    int op;
    uint64_t value, value_two;
    uint64_t arg;
    bool match;
};

ParameterizedTestParameters(rt_seccomp, ops)
{
    static struct op_case cases[] = {
        {RT_SCMP_CMP_NE, 5, 0, 5, false},
        {RT_SCMP_CMP_NE, 5, 0, 6, true},
        {RT_SCMP_CMP_LT, 5, 0, 4, true},
        {RT_SCMP_CMP_LT, 5, 0, 5, false},
        {RT_SCMP_CMP_LE, 5, 0, 5, true},
        {RT_SCMP_CMP_LE, 5, 0, 6, false},
        {RT_SCMP_CMP_EQ, 0x100000005ull, 0, 0x100000005ull, true},
        {RT_SCMP_CMP_EQ, 0x100000005ull, 0, 5, false}, /* upper 32 bits count */
        {RT_SCMP_CMP_GE, 5, 0, 5, true},
        {RT_SCMP_CMP_GE, 5, 0, 4, false},
        {RT_SCMP_CMP_GT, 5, 0, 6, true},
        {RT_SCMP_CMP_GT, 5, 0, 5, false},
        {RT_SCMP_CMP_MASKED_EQ, 0xf0, 0x30, 0x3f, true},
        {RT_SCMP_CMP_MASKED_EQ, 0xf0, 0x30, 0x4f, false},
        {RT_SCMP_CMP_MASKED_EQ, 0x7e020000, 0, 0x11, true},
        {RT_SCMP_CMP_MASKED_EQ, 0x7e020000, 0, 0x10000000, false},
    };
    return cr_make_param_array(struct op_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct op_case *c, rt_seccomp, ops)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    struct rt_seccomp_syscall *sc = sb_rule(s, RT_SCMP_ERRNO, "kill");
    sb_arg(sc, 1, (enum rt_seccomp_op)c->op, c->value, c->value_two);
    uint32_t want = c->match ? (SECCOMP_RET_ERRNO | EPERM) : SECCOMP_RET_ALLOW;
    cr_expect_eq(eval(s, "kill", 0, c->arg, 0), want, "op %d value %#llx arg %#llx", c->op,
                 (unsigned long long)c->value, (unsigned long long)c->arg);
}

Test(rt_seccomp, foreign_arch_not_in_filter_is_killed)
{
    if (seccomp_arch_native() != SCMP_ARCH_X86_64)
        cr_skip_test("x86_64 host only");
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    cr_expect_eq(eval_arch(s, SCMP_ARCH_X86, "getpid", 0, 0, 0), SECCOMP_RET_KILL_THREAD);
    cm_strv_free(s->architectures);
    s->architectures = sb_strv("SCMP_ARCH_X86_64,SCMP_ARCH_X86,SCMP_ARCH_X32");
    cr_expect_eq(eval_arch(s, SCMP_ARCH_X86, "getpid", 0, 0, 0), SECCOMP_RET_ALLOW);
}

/* ---- the default profile ---- */

Test(rt_seccomp_profile, default_validates_and_compiles)
{
    struct rt_seccomp *s = rt_seccomp_default_profile();
    cleanup_error struct cm_error *err = NULL;
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = NULL;
    cr_assert_not_null(s);
    cr_expect_gt(s->n_syscalls, 10);
    cr_expect_eq(rt_seccomp_compile(s, &f, &err), 0, "%s", err ? err->msg : "");
    rt_seccomp_profile_free(s);
}

Test(rt_seccomp_profile, default_behaviour)
{
    cleanup_sb struct rt_seccomp *s = rt_seccomp_default_profile();
    cr_expect_eq(eval(s, "getcwd", 0, 0, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "execve", 0, 0, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "chroot", 0, 0, 0), SECCOMP_RET_ALLOW); /* CAP_SYS_CHROOT by default */
    cr_expect_eq(eval(s, "mount", 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
    cr_expect_eq(eval(s, "kexec_load", 0, 0, 0), SECCOMP_RET_ERRNO | EPERM);
    cr_expect_eq(eval(s, "clone", 0x11 /* SIGCHLD|... */, 0, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "clone", 0x10000000 /* CLONE_NEWUSER */, 0, 0), SECCOMP_RET_ERRNO | EPERM);
    cr_expect_eq(eval(s, "clone3", 0, 0, 0), SECCOMP_RET_ERRNO | ENOSYS);
    cr_expect_eq(eval(s, "personality", 0, 0, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "personality", 1, 0, 0), SECCOMP_RET_ERRNO | EPERM);
    cr_expect_eq(eval(s, "socket", 2 /* AF_INET */, 1, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "socket", 40 /* AF_VSOCK */, 1, 0), SECCOMP_RET_ERRNO | EPERM);
}

Test(rt_seccomp_profile, sys_admin_opens_mount_and_namespaces)
{
    cleanup_sb struct rt_seccomp *s =
        rt_seccomp_default_profile_for_caps(UINT64_C(1) << CAP_SYS_ADMIN);
    cr_expect_eq(eval(s, "mount", 0, 0, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "clone", 0x10000000, 0, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "clone3", 0, 0, 0), SECCOMP_RET_ALLOW);
    cr_expect_eq(eval(s, "chroot", 0, 0, 0), SECCOMP_RET_ERRNO | EPERM); /* no CAP_SYS_CHROOT */
}

Test(rt_seccomp_profile, free_accepts_null)
{
    rt_seccomp_profile_free(NULL);
}

/* ---- handing the listener fd to the seccomp agent ---- */

Test(rt_seccomp, send_listener_passes_fd_and_state)
{
    char dir[] = "/tmp/rt-security-listener-XXXXXX";
    char path[128];
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    cleanup_error struct cm_error *err = NULL;
    const char *state = "{\"ociVersion\":\"1.1.0\",\"fds\":[\"seccompFd\"],\"pid\":1}";
    int efd;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/l.sock", dir);
    strcpy(addr.sun_path, path);
    int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(lsock, 0);
    cr_assert_eq(bind(lsock, (struct sockaddr *)&addr, sizeof(addr)), 0);
    cr_assert_eq(listen(lsock, 1), 0);
    efd = eventfd(7, EFD_CLOEXEC);
    cr_assert_geq(efd, 0);

    int r = rt_seccomp_send_listener(path, efd, state, &err);
    int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
    char buf[256] = {0};
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } ctrl;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.b, .msg_controllen = sizeof(ctrl.b)};
    ssize_t n = conn >= 0 ? recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) : -1;
    int got_fd = -1;
    struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (cm && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&got_fd, CMSG_DATA(cm), sizeof(int));
    uint64_t v = 0;
    bool same = got_fd >= 0 && read(got_fd, &v, sizeof(v)) == sizeof(v) && v == 7;

    if (got_fd >= 0)
        close(got_fd);
    if (conn >= 0)
        close(conn);
    close(lsock);
    close(efd);
    unlink(path);
    rmdir(dir);
    cr_assert_eq(r, 0, "%s", err ? err->msg : "");
    cr_expect_eq(n, (ssize_t)strlen(state));
    cr_expect_str_eq(buf, state);
    cr_expect(same, "the received fd is not our eventfd");
}

Test(rt_seccomp, send_listener_errors_name_the_path)
{
    cleanup_error struct cm_error *err = NULL;
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    cr_assert_eq(rt_seccomp_send_listener(longpath, 0, "{}", &err), -1);
    cr_expect(strstr(err->msg, "listenerPath"));
    cm_error_free(&err);
    cr_assert_eq(rt_seccomp_send_listener("/nonexistent/rt-security.sock", 0, "{}", &err), -1);
    cr_expect(strstr(err->msg, "/nonexistent/rt-security.sock"));
    cr_expect_eq(err->code, ENOENT);
}

/* Hostile sizes fail cleanly (and quickly) instead of building giant programs. */
Test(rt_seccomp, too_large_program_is_refused, .timeout = 20)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    cleanup_error struct cm_error *err = NULL;
    struct rt_seccomp_filter *f = NULL;
    for (unsigned i = 0; i < 2000; i++) {
        struct rt_seccomp_syscall *sc = sb_rule(s, RT_SCMP_ERRNO, "kill");
        sb_arg(sc, 0, RT_SCMP_CMP_EQ, i, 0);
        sb_arg(sc, 1, RT_SCMP_CMP_EQ, i, 0);
    }
    cr_assert_eq(rt_seccomp_compile(s, &f, &err), -1);
    cr_expect_null(f);
    cr_expect_eq(err->code, E2BIG);
    cr_expect(strstr(err->msg, "BPF instructions"), "%s", err->msg);
}

Test(rt_seccomp, too_many_rules_are_refused, .timeout = 20)
{
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    cleanup_error struct cm_error *err = NULL;
    struct rt_seccomp_filter *f = NULL;
    s->architectures = sb_strv("SCMP_ARCH_X86_64,SCMP_ARCH_X86,SCMP_ARCH_X32");
    struct rt_seccomp_syscall *sc = sb_rule(s, RT_SCMP_ERRNO, "kill,tkill,getpid,mkdir");
    for (unsigned i = 0; i < 64; i++)
        sb_arg(sc, 0, RT_SCMP_CMP_EQ, i, 0); /* 64 rules per name and arch */
    for (unsigned i = 0; i < 1500; i++)
        sb_rule(s, RT_SCMP_ERRNO, "kill")->args = NULL; /* cheap filler entries */
    for (size_t i = 1; i < s->n_syscalls; i++) {
        s->syscalls[i].args = s->syscalls[0].args;
        s->syscalls[i].n_args = 64;
    }
    cr_assert_eq(rt_seccomp_compile(s, &f, &err), -1);
    /* The shared args must be freed once. */
    for (size_t i = 1; i < s->n_syscalls; i++) {
        s->syscalls[i].args = NULL;
        s->syscalls[i].n_args = 0;
    }
    cr_expect_null(f);
    cr_expect_eq(err->code, E2BIG);
    cr_expect(strstr(err->msg, "rules"), "%s", err->msg);
}
