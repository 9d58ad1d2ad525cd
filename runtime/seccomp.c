/* SPDX-License-Identifier: Apache-2.0 */
/* linux.seccomp: validation at create time, compilation to a BPF program with
 * libseccomp before pivot_root, and loading with one seccomp(2) call. */
#include "rt/security.h"

#include "seccomp_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/log.h"
#include "cm/xalloc.h"

/* Older uapi headers lack the newer flags; the values are kernel ABI. */
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* Errno values above this are clamped by the kernel (MAX_ERRNO): refuse them
 * rather than return a different errno than the one configured. */
#define MAX_ERRNO_RET 4095u
/* Conditions per syscall entry: the spec has no limit, a hostile config gets one. */
#define MAX_ARGS_PER_RULE 64
/* (arch, syscall, rule) triples of one filter. A real profile has ~1500; a
 * program holds at most 4096 instructions anyway, so far more than this is
 * a hostile config, refused before it costs memory. */
#define MAX_RULE_PAIRS (1u << 18)

struct rt_seccomp_filter {
    struct sock_filter *prog;
    size_t n_insns;
    unsigned flags; /* SECCOMP_FILTER_FLAG_* passed to seccomp(2) */
};

const char *const rt_seccomp_op_names[] = {
    [RT_SCMP_CMP_NE] = "SCMP_CMP_NE",
    [RT_SCMP_CMP_LT] = "SCMP_CMP_LT",
    [RT_SCMP_CMP_LE] = "SCMP_CMP_LE",
    [RT_SCMP_CMP_EQ] = "SCMP_CMP_EQ",
    [RT_SCMP_CMP_GE] = "SCMP_CMP_GE",
    [RT_SCMP_CMP_GT] = "SCMP_CMP_GT",
    [RT_SCMP_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
    NULL,
};

/* The OCI names map one to one onto libseccomp's lower-case arch names. */
const char *const rt_seccomp_arch_names[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     NULL,
};

static const struct {
    const char *name;
    unsigned flag;
} flag_table[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

const char *const rt_seccomp_flag_names[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    NULL,
};

/* Real syscalls newer than the linked libseccomp's table (2.5.4 as patched by
 * Debian knows up to futex_requeue, 456). A profile written for a newer
 * runtime names them; they are not typos, so they are skipped (like runc
 * skips every name libseccomp does not know) instead of failing the
 * container. Anything else libseccomp does not know is an error. */
static const char *const newer_syscalls[] = {
    "statmount",      "listmount",  "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
    "mseal",          "setxattrat", "getxattrat",        "listxattrat",       "removexattrat",
    "open_tree_attr", "uretprobe",  "file_getattr",      "file_setattr",      NULL,
};

int
rt_seccomp_action_value(enum rt_seccomp_action a, bool has_errno_ret, uint32_t errno_ret,
                        uint32_t *ret, struct cm_error **err)
{
    const char *name = rt_seccomp_action_name(a);

    if (!name)
        return cm_error_set(err, 0, "unknown seccomp action %d", (int)a);
    if (has_errno_ret && a != RT_SCMP_ERRNO && a != RT_SCMP_TRACE)
        return cm_error_set(err, 0,
                            "errnoRet is only valid with SCMP_ACT_ERRNO and "
                            "SCMP_ACT_TRACE, not %s",
                            name);
    uint32_t e = has_errno_ret ? errno_ret : EPERM;
    switch (a) {
    case RT_SCMP_KILL:
    case RT_SCMP_KILL_THREAD:
        *ret = SCMP_ACT_KILL_THREAD;
        return 0;
    case RT_SCMP_KILL_PROCESS:
        *ret = SCMP_ACT_KILL_PROCESS;
        return 0;
    case RT_SCMP_TRAP:
        *ret = SCMP_ACT_TRAP;
        return 0;
    case RT_SCMP_ERRNO:
        if (e > MAX_ERRNO_RET)
            return cm_error_set(err, 0, "errnoRet %" PRIu32 " out of range (0..%u)", e,
                                MAX_ERRNO_RET);
        *ret = SCMP_ACT_ERRNO(e);
        return 0;
    case RT_SCMP_TRACE:
        if (e > 0xffff)
            return cm_error_set(err, 0, "errnoRet %" PRIu32 " out of range (0..65535)", e);
        *ret = SCMP_ACT_TRACE(e);
        return 0;
    case RT_SCMP_ALLOW:
        *ret = SCMP_ACT_ALLOW;
        return 0;
    case RT_SCMP_LOG:
        *ret = SCMP_ACT_LOG;
        return 0;
    case RT_SCMP_NOTIFY:
        *ret = SCMP_ACT_NOTIFY;
        return 0;
    }
    return cm_error_set(err, 0, "unknown seccomp action %d", (int)a);
}

int
rt_seccomp_arch_from_name(const char *name, uint32_t *ret)
{
    static const char prefix[] = "SCMP_ARCH_";
    char lower[32];
    size_t len;

    if (!name || strncmp(name, prefix, sizeof(prefix) - 1) != 0)
        return -1;
    name += sizeof(prefix) - 1;
    len = strlen(name);
    if (len == 0 || len >= sizeof(lower))
        return -1;
    for (size_t i = 0; i <= len; i++) {
        char c = name[i];
        /* Only the upper-case spelling is valid OCI: "SCMP_ARCH_x86" is not. */
        if (c >= 'a' && c <= 'z')
            return -1;
        lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    uint32_t token = seccomp_arch_resolve_name(lower);
    if (token == 0)
        return -1;
    *ret = token;
    return 0;
}

int
rt_seccomp_flag_from_name(const char *name, unsigned *ret)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof(flag_table) / sizeof(flag_table[0]); i++)
        if (strcmp(flag_table[i].name, name) == 0) {
            *ret = flag_table[i].flag;
            return 0;
        }
    return -1;
}

static bool
is_newer_syscall(const char *name)
{
    for (const char *const *p = newer_syscalls; *p; p++)
        if (strcmp(*p, name) == 0)
            return true;
    return false;
}

/* The architectures of the filter: the listed ones plus the native one,
 * which libseccomp always keeps (as runc does). Returns the count. */
static int
collect_arches(const struct rt_seccomp *s, uint32_t *arches, size_t max, struct cm_error **err)
{
    size_t n = 0;

    arches[n++] = seccomp_arch_native();
    for (size_t i = 0; s->architectures && s->architectures[i]; i++) {
        uint32_t a;
        if (rt_seccomp_arch_from_name(s->architectures[i], &a) < 0)
            return cm_error_set(err, 0,
                                "linux.seccomp.architectures[%zu]: unknown architecture '%s'", i,
                                s->architectures[i]);
        bool dup = false;
        for (size_t j = 0; j < n; j++)
            dup |= arches[j] == a;
        if (dup)
            continue;
        if (n == max)
            return cm_error_set(err, 0, "linux.seccomp.architectures: too many");
        arches[n++] = a;
    }
    return (int)n;
}

static bool
rule_uses_notify(const struct rt_seccomp *s)
{
    for (size_t i = 0; i < s->n_syscalls; i++)
        if (s->syscalls[i].action == RT_SCMP_NOTIFY)
            return true;
    return false;
}

static int
collect_flags(const struct rt_seccomp *s, unsigned *ret, struct cm_error **err)
{
    unsigned flags = 0;

    for (size_t i = 0; s->flags && s->flags[i]; i++) {
        unsigned f;
        if (rt_seccomp_flag_from_name(s->flags[i], &f) < 0)
            return cm_error_set(err, 0, "linux.seccomp.flags[%zu]: unknown flag '%s'", i,
                                s->flags[i]);
        flags |= f;
    }
    if (rule_uses_notify(s)) {
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        /* TSYNC and a listener conflict on the thread-sync error path; with
         * TSYNC_ESRCH the kernel accepts both (>= 5.7). */
        if (flags & SECCOMP_FILTER_FLAG_TSYNC)
            flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    } else if (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
        return cm_error_set(err, 0,
                            "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV "
                            "needs a rule with SCMP_ACT_NOTIFY");
    }
    *ret = flags;
    return 0;
}

/* Asks the kernel whether it knows each configured flag, so an old kernel
 * fails at create time naming the flag rather than at load time. With a
 * NULL program seccomp(2) checks the flags first (EINVAL when unknown), then
 * fails to copy the program (EFAULT) or refuses for lack of privilege
 * (EACCES): both mean the flag is fine. Nothing is loaded either way. */
static int
check_kernel_flags(const struct rt_seccomp *s, struct cm_error **err)
{
    for (size_t i = 0; s->flags && s->flags[i]; i++) {
        unsigned f = 0;
        if (rt_seccomp_flag_from_name(s->flags[i], &f) < 0)
            continue; /* reported by collect_flags */
        if (f == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
            f |= SECCOMP_FILTER_FLAG_NEW_LISTENER; /* only valid together */
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, NULL) < 0 && errno == EINVAL)
            return cm_error_set(err, 0,
                                "linux.seccomp.flags[%zu]: '%s' is not supported by "
                                "this kernel",
                                i, s->flags[i]);
    }
    return 0;
}

int
rt_seccomp_validate(const struct rt_seccomp *s, struct cm_error **err)
{
    uint32_t arches[32];
    uint32_t def, act;
    unsigned flags;
    int n_arches;

    if (!s)
        return 0;
    if (s->default_action == RT_SCMP_NOTIFY)
        return cm_error_set(err, 0,
                            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the "
                            "default action");
    if (rt_seccomp_action_value(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
                                &def, err) < 0)
        return cm_error_wrap(err, "linux.seccomp.defaultAction");
    n_arches = collect_arches(s, arches, sizeof(arches) / sizeof(arches[0]), err);
    if (n_arches < 0)
        return -1;
    if (collect_flags(s, &flags, err) < 0)
        return -1;
    if (check_kernel_flags(s, err) < 0)
        return -1;
    if ((flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) && !s->listener_path)
        return cm_error_set(err, 0,
                            "linux.seccomp.listenerPath: required when a rule uses "
                            "SCMP_ACT_NOTIFY");
    if (s->n_syscalls > 0 && !s->syscalls)
        return cm_error_set(err, 0, "linux.seccomp.syscalls: missing");

    for (size_t i = 0; i < s->n_syscalls; i++) {
        const struct rt_seccomp_syscall *sc = &s->syscalls[i];

        if (!sc->names || !sc->names[0])
            return cm_error_set(err, 0, "linux.seccomp.syscalls[%zu].names: empty", i);
        if (rt_seccomp_action_value(sc->action, sc->has_errno_ret, sc->errno_ret, &act, err) < 0)
            return cm_error_wrap(err, "linux.seccomp.syscalls[%zu].action", i);
        if (sc->n_args > 0 && !sc->args)
            return cm_error_set(err, 0, "linux.seccomp.syscalls[%zu].args: missing", i);
        if (sc->n_args > MAX_ARGS_PER_RULE)
            return cm_error_set(err, 0, "linux.seccomp.syscalls[%zu].args: more than %d", i,
                                MAX_ARGS_PER_RULE);
        for (size_t j = 0; j < sc->n_args; j++) {
            if (sc->args[j].index > 5)
                return cm_error_set(err, 0,
                                    "linux.seccomp.syscalls[%zu].args[%zu].index: %u is not 0..5",
                                    i, j, sc->args[j].index);
            if ((unsigned)sc->args[j].op > RT_SCMP_CMP_MASKED_EQ)
                return cm_error_set(err, 0, "linux.seccomp.syscalls[%zu].args[%zu].op: unknown", i,
                                    j);
        }
        for (size_t k = 0; sc->names[k]; k++) {
            const char *name = sc->names[k];
            bool known = false;

            /* The write that hands the listener fd to listenerPath would
             * itself wait on the listener: a deadlock (runc refuses it too). */
            if (sc->action == RT_SCMP_NOTIFY && strcmp(name, "write") == 0)
                return cm_error_set(err, 0,
                                    "linux.seccomp.syscalls[%zu]: SCMP_ACT_NOTIFY cannot be used "
                                    "for 'write'",
                                    i);
            for (int a = 0; a < n_arches && !known; a++)
                known = seccomp_syscall_resolve_name_arch(arches[a], name) != __NR_SCMP_ERROR;
            if (!known && !is_newer_syscall(name))
                return cm_error_set(err, 0,
                                    "linux.seccomp.syscalls[%zu].names[%zu]: unknown syscall '%s' "
                                    "on every architecture of the filter",
                                    i, k, name);
        }
    }
    return 0;
}

static enum scmp_compare
op_to_scmp(enum rt_seccomp_op op)
{
    switch (op) {
    case RT_SCMP_CMP_NE:
        return SCMP_CMP_NE;
    case RT_SCMP_CMP_LT:
        return SCMP_CMP_LT;
    case RT_SCMP_CMP_LE:
        return SCMP_CMP_LE;
    case RT_SCMP_CMP_EQ:
        return SCMP_CMP_EQ;
    case RT_SCMP_CMP_GE:
        return SCMP_CMP_GE;
    case RT_SCMP_CMP_GT:
        return SCMP_CMP_GT;
    case RT_SCMP_CMP_MASKED_EQ:
        return SCMP_CMP_MASKED_EQ;
    }
    return _SCMP_CMP_MIN; /* rejected by rt_seccomp_validate */
}

/* true when two args of an entry test the same index: libseccomp ANDs the
 * conditions of one rule and refuses two on one argument, so (as runc) each
 * arg then becomes a rule of its own, which ORs them. */
static bool
has_repeated_index(const struct rt_seccomp_syscall *sc)
{
    unsigned seen = 0;

    for (size_t j = 0; j < sc->n_args; j++) {
        unsigned bit = 1u << sc->args[j].index;
        if (seen & bit)
            return true;
        seen |= bit;
    }
    return false;
}

static int
add_rule(scmp_filter_ctx ctx, uint32_t act, int nr, const struct scmp_arg_cmp *conds,
         unsigned n_conds, size_t i, const char *name, struct cm_error **err)
{
    int r = seccomp_rule_add_array(ctx, act, nr, n_conds, conds);
    if (r < 0)
        return cm_error_set(err, -r, "linux.seccomp.syscalls[%zu]: adding rule for '%s': %s", i,
                            name, strerror(-r));
    return 0;
}

static int
add_syscall_entry(scmp_filter_ctx ctx, const struct rt_seccomp_syscall *sc, uint32_t act, size_t i,
                  struct cm_error **err)
{
    struct scmp_arg_cmp conds[MAX_ARGS_PER_RULE];
    bool split = has_repeated_index(sc);

    for (size_t j = 0; j < sc->n_args; j++) {
        const struct rt_seccomp_arg *a = &sc->args[j];
        conds[j] = (struct scmp_arg_cmp){
            .arg = a->index,
            .op = op_to_scmp(a->op),
            .datum_a = a->value,
            .datum_b = a->value_two,
        };
    }
    for (size_t k = 0; sc->names[k]; k++) {
        /* The native number; libseccomp translates it for the other arches
         * by name (pseudo numbers < 0 for names absent natively). */
        int nr = seccomp_syscall_resolve_name(sc->names[k]);
        if (nr == __NR_SCMP_ERROR) {
            cm_log_debug("seccomp: syscall '%s' unknown to libseccomp, skipping", sc->names[k]);
            continue;
        }
        if (!split) {
            if (add_rule(ctx, act, nr, conds, (unsigned)sc->n_args, i, sc->names[k], err) < 0)
                return -1;
            continue;
        }
        for (size_t j = 0; j < sc->n_args; j++)
            if (add_rule(ctx, act, nr, &conds[j], 1, i, sc->names[k], err) < 0)
                return -1;
    }
    return 0;
}

/* seccomp_export_bpf writes to an fd; a memfd keeps the program in memory. */
static int
export_program(scmp_filter_ctx ctx, struct rt_seccomp_filter *f, struct cm_error **err)
{
    cleanup_close int fd = memfd_create("skiff-seccomp", MFD_CLOEXEC);
    struct stat st;
    int r;

    if (fd < 0)
        return cm_error_errno(err, "memfd_create");
    r = seccomp_export_bpf(ctx, fd);
    if (r < 0)
        return cm_error_set(err, -r, "seccomp_export_bpf: %s", strerror(-r));
    if (fstat(fd, &st) < 0)
        return cm_error_errno(err, "fstat seccomp program");
    if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
        st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
        return cm_error_set(err, E2BIG, "seccomp program of %lld bytes: too large or malformed",
                            (long long)st.st_size);
    f->prog = xmalloc((size_t)st.st_size);
    f->n_insns = (size_t)st.st_size / sizeof(struct sock_filter);
    for (size_t done = 0; done < (size_t)st.st_size;) {
        ssize_t n = pread(fd, (char *)f->prog + done, (size_t)st.st_size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return cm_error_errno(err, "reading seccomp program");
        done += (size_t)n;
    }
    return 0;
}

static void
ctx_releasep(scmp_filter_ctx *ctx)
{
    if (*ctx)
        seccomp_release(*ctx);
}

int
rt_seccomp_compile_libseccomp(const struct rt_seccomp *s, struct rt_seccomp_filter **ret,
                              struct cm_error **err)
{
    __attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = NULL;
    cleanup_free struct rt_seccomp_filter *f = NULL;
    uint32_t arches[32];
    uint32_t def;
    int n_arches, r;

    if (rt_seccomp_validate(s, err) < 0)
        return -1;
    if (rt_seccomp_action_value(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
                                &def, err) < 0)
        return -1;
    n_arches = collect_arches(s, arches, sizeof(arches) / sizeof(arches[0]), err);
    if (n_arches < 0)
        return -1;

    f = xcalloc(1, sizeof(*f));
    if (collect_flags(s, &f->flags, err) < 0)
        return -1;
    ctx = seccomp_init(def);
    if (!ctx)
        return cm_error_set(err, EINVAL, "seccomp_init: default action %s refused",
                            rt_seccomp_action_name(s->default_action));
    /* We load the exported program ourselves, so libseccomp's load-time
     * attributes (NNP, TSYNC, LOG, SSB) do not apply; NNP is turned off so
     * that a future switch to seccomp_load would not set it behind the
     * config's back. Binary-tree optimisation keeps a 300-syscall allow-list
     * at a few comparisons per syscall. */
    r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (r == 0)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (r < 0)
        return cm_error_set(err, -r, "seccomp_attr_set: %s", strerror(-r));
    for (int a = 1; a < n_arches; a++) {
        r = seccomp_arch_add(ctx, arches[a]);
        if (r < 0 && r != -EEXIST)
            return cm_error_set(err, -r, "seccomp_arch_add: %s", strerror(-r));
    }

    for (size_t i = 0; i < s->n_syscalls; i++) {
        const struct rt_seccomp_syscall *sc = &s->syscalls[i];
        uint32_t act;

        if (rt_seccomp_action_value(sc->action, sc->has_errno_ret, sc->errno_ret, &act, err) < 0)
            return cm_error_wrap(err, "linux.seccomp.syscalls[%zu].action", i);
        /* libseccomp refuses a rule that repeats the default action (EACCES);
         * it would not change the filter anyway. */
        if (act == def)
            continue;
        if (add_syscall_entry(ctx, sc, act, i, err) < 0)
            return -1;
    }
    if (export_program(ctx, f, err) < 0)
        return cm_error_wrap(err, "compiling seccomp filter");
    *ret = TAKE_PTR(f);
    return 0;
}

/* libseccomp's arch token -> the AUDIT_ARCH_* value the kernel reports. The
 * tokens are audit values except x32, which runs under x86_64's. */
static uint32_t
audit_of(uint32_t token)
{
    return token == SCMP_ARCH_X32 ? SCMP_ARCH_X86_64 : token;
}

/* On 32-bit x86 libseccomp names the socket and SysV IPC calls by pseudo
 * numbers (-100 - SYS_x for socketcall's calls, -200 - x for ipc's) and adds
 * the direct syscalls that exist since Linux 4.3 / 5.1 for them. Those
 * numbers (arch/x86/entry/syscalls/syscall_32.tbl): */
static const struct {
    int pseudo, nr;
} x86_direct[] = {
    {-101, 359}, /* socket */ {-102, 361},     /* bind */ {-103, 362},        /* connect */
    {-104, 363}, /* listen */ {-106, 367},     /* getsockname */ {-107, 368}, /* getpeername */
    {-108, 360}, /* socketpair */ {-111, 369}, /* sendto */ {-112, 371},      /* recvfrom */
    {-113, 373}, /* shutdown */ {-114, 366},   /* setsockopt */ {-115, 365},  /* getsockopt */
    {-116, 370}, /* sendmsg */ {-117, 372},    /* recvmsg */ {-118, 364},     /* accept4 */
    {-119, 337}, /* recvmmsg */ {-120, 345},   /* sendmmsg */ {-202, 393},    /* semget */
    {-203, 394}, /* semctl */ {-211, 400},     /* msgsnd */ {-212, 401},      /* msgrcv */
    {-213, 399}, /* msgget */ {-214, 402},     /* msgctl */ {-221, 397},      /* shmat */
    {-222, 398}, /* shmdt */ {-223, 395},      /* shmget */ {-224, 396},      /* shmctl */
};

static int
resolve(uint32_t token, const char *name)
{
    int nr = seccomp_syscall_resolve_name_arch(token, name);
    if (nr < 0 && token == SCMP_ARCH_X86)
        for (size_t i = 0; i < sizeof(x86_direct) / sizeof(x86_direct[0]); i++)
            if (x86_direct[i].pseudo == nr)
                return x86_direct[i].nr;
    return nr;
}

/* libseccomp compares one 32-bit word on these ABIs. */
static bool
abi_is64(uint32_t token)
{
    if (token == SCMP_ARCH_X32 || token == SCMP_ARCH_MIPS64N32 || token == SCMP_ARCH_MIPSEL64N32)
        return false;
    return (token & 0x80000000u) != 0; /* __AUDIT_ARCH_64BIT */
}

int
rt_seccomp_compile(const struct rt_seccomp *s, struct rt_seccomp_filter **ret,
                   struct cm_error **err)
{
    cleanup_free struct rt_seccomp_filter *f = NULL;
    cleanup_free struct rt_bpf_rule *rules = NULL;
    cleanup_free struct rt_bpf_pair *pairs = NULL;
    struct rt_bpf_arch arches[32];
    uint32_t tokens[32];
    size_t n_rules = 0, cap_rules = 0, n_pairs = 0, cap_pairs = 0;
    uint32_t def;
    int n_arches;

    if (rt_seccomp_validate(s, err) < 0)
        return -1;
    if (rt_seccomp_action_value(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
                                &def, err) < 0)
        return -1;
    n_arches = collect_arches(s, tokens, sizeof(tokens) / sizeof(tokens[0]), err);
    if (n_arches < 0)
        return -1;
    for (int a = 0; a < n_arches; a++)
        arches[a] = (struct rt_bpf_arch){.token = tokens[a], .audit = audit_of(tokens[a])};
    f = xcalloc(1, sizeof(*f));
    if (collect_flags(s, &f->flags, err) < 0)
        return -1;

    for (size_t i = 0; i < s->n_syscalls; i++) {
        const struct rt_seccomp_syscall *sc = &s->syscalls[i];
        bool split = has_repeated_index(sc);
        size_t first_rule = n_rules, n_new;
        uint32_t act;

        if (rt_seccomp_action_value(sc->action, sc->has_errno_ret, sc->errno_ret, &act, err) < 0)
            return cm_error_wrap(err, "linux.seccomp.syscalls[%zu].action", i);
        /* Repeating the default action changes nothing (libseccomp even
         * refuses it). */
        if (act == def)
            continue;
        /* Same index twice: one rule per arg (ORed), as runc; else one
         * rule ANDing all args (distinct indexes, so at most 6). */
        n_new = split ? sc->n_args : 1;
        rules = xreallocarray_grow(rules, &cap_rules, n_rules + n_new, sizeof(*rules));
        for (size_t r = 0; r < n_new; r++) {
            struct rt_bpf_rule *rule = &rules[n_rules++];
            size_t from = split ? r : 0, to = split ? r + 1 : sc->n_args;
            memset(rule, 0, sizeof(*rule));
            rule->action = act;
            for (size_t j = from; j < to; j++)
                rule->conds[rule->n_conds++] = (struct rt_bpf_cond){
                    .arg = sc->args[j].index,
                    .op = op_to_scmp(sc->args[j].op),
                    .a = sc->args[j].value,
                    .b = sc->args[j].value_two,
                };
        }
        for (size_t k = 0; sc->names[k]; k++)
            for (int a = 0; a < n_arches; a++) {
                /* < 0: absent on this arch (pseudo number) or unknown to
                 * libseccomp (a newer syscall, see rt_seccomp_validate). */
                int nr = resolve(tokens[a], sc->names[k]);
                if (nr < 0)
                    continue;
                if (n_pairs + n_new > MAX_RULE_PAIRS)
                    return cm_error_set(err, E2BIG,
                                        "linux.seccomp.syscalls: more than %u rules after "
                                        "expanding names, architectures and args",
                                        MAX_RULE_PAIRS);
                pairs = xreallocarray_grow(pairs, &cap_pairs, n_pairs + n_new, sizeof(*pairs));
                for (size_t r = 0; r < n_new; r++)
                    pairs[n_pairs++] = (struct rt_bpf_pair){
                        .audit = arches[a].audit,
                        .nr = (uint32_t)nr,
                        .rule = (uint32_t)(first_rule + r),
                        .is64 = abi_is64(tokens[a]),
                    };
            }
    }

    struct rt_bpf_input in = {
        .def_action = def,
        .badarch_action = SCMP_ACT_KILL_THREAD, /* libseccomp's default */
        .arches = arches,
        .n_arches = (size_t)n_arches,
        .rules = rules,
        .n_rules = n_rules,
        .pairs = pairs,
        .n_pairs = n_pairs,
    };
    if (rt_bpf_generate(&in, &f->prog, &f->n_insns, err) < 0)
        return cm_error_wrap(err, "compiling seccomp filter");
    *ret = TAKE_PTR(f);
    return 0;
}

int
rt_seccomp_load(struct rt_seccomp_filter *f, int *ret_notify_fd, struct cm_error **err)
{
    struct sock_fprog prog = {
        .len = (unsigned short)f->n_insns,
        .filter = f->prog,
    };
    long r;

    if (ret_notify_fd)
        *ret_notify_fd = -1;
    r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog);
    if (r < 0) {
        if (errno == EACCES)
            return cm_error_errno(err, "loading seccomp filter (needs noNewPrivileges or "
                                       "CAP_SYS_ADMIN)");
        if (errno == EINVAL && f->flags)
            return cm_error_errno(err,
                                  "loading seccomp filter (flags 0x%x not supported by "
                                  "this kernel?)",
                                  f->flags);
        return cm_error_errno(err, "loading seccomp filter");
    }
    if (f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
        if (ret_notify_fd)
            *ret_notify_fd = (int)r;
        else
            close((int)r);
    }
    return 0;
}

int
rt_seccomp_send_listener(const char *listener_path, int notify_fd, const char *state_json,
                         struct cm_error **err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    cleanup_close int sock = -1;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctrl;
    size_t len = strlen(state_json);
    struct iovec iov = {.iov_base = (void *)state_json, .iov_len = len};
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctrl.buf,
        .msg_controllen = sizeof(ctrl.buf),
    };
    struct cmsghdr *cm;
    ssize_t n;

    if (strlen(listener_path) >= sizeof(addr.sun_path))
        return cm_error_set(err, 0, "linux.seccomp.listenerPath: '%s' is longer than %zu bytes",
                            listener_path, sizeof(addr.sun_path) - 1);
    if (len == 0)
        return cm_error_set(err, EINVAL, "seccomp listener: empty state");
    strcpy(addr.sun_path, listener_path);
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return cm_error_errno(err, "seccomp listener: socket");
    if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return cm_error_errno(err, "seccomp listener: connecting to '%s'", listener_path);
    memset(ctrl.buf, 0, sizeof(ctrl.buf));
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &notify_fd, sizeof(int));
    do
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return cm_error_errno(err, "seccomp listener: sending to '%s'", listener_path);
    /* The fd travels with the first byte; a short write loses only text. */
    for (size_t done = (size_t)n; done < len;) {
        n = send(sock, state_json + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return cm_error_errno(err, "seccomp listener: sending to '%s'", listener_path);
        done += (size_t)n;
    }
    return 0;
}

void
rt_seccomp_filter_free(struct rt_seccomp_filter *f)
{
    if (!f)
        return;
    free(f->prog);
    free(f);
}

const void *
rt_seccomp_filter_program(const struct rt_seccomp_filter *f, size_t *ret_n)
{
    *ret_n = f->n_insns;
    return f->prog;
}

unsigned
rt_seccomp_filter_flags(const struct rt_seccomp_filter *f)
{
    return f->flags;
}
