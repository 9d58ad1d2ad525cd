/* SPDX-License-Identifier: Apache-2.0 */
/* A docker-like default seccomp profile built from a C table: an allow-list
 * with ERRNO(EPERM) as default action, capability-gated groups, and the
 * argument filters for clone (no namespaces), personality and socket. */
#include "rt/security.h"

#include <linux/capability.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"

#define CAPBIT(c) (UINT64_C(1) << (c))
#define ENOSYS_NR 38

/* Docker's default capability set (moby oci/caps/defaults.go). */
#define DOCKER_DEFAULT_CAPS                                                                        \
    (CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FSETID) | CAPBIT(CAP_FOWNER) |      \
     CAPBIT(CAP_MKNOD) | CAPBIT(CAP_NET_RAW) | CAPBIT(CAP_SETGID) | CAPBIT(CAP_SETUID) |           \
     CAPBIT(CAP_SETFCAP) | CAPBIT(CAP_SETPCAP) | CAPBIT(CAP_NET_BIND_SERVICE) |                    \
     CAPBIT(CAP_SYS_CHROOT) | CAPBIT(CAP_KILL) | CAPBIT(CAP_AUDIT_WRITE))

/* Always allowed: what ordinary programs need. Names of other architectures
 * are harmless (absent there, skipped by libseccomp). */
static const char *const allow_always[] = {"accept",
                                           "accept4",
                                           "access",
                                           "adjtimex",
                                           "alarm",
                                           "bind",
                                           "brk",
                                           "cachestat",
                                           "capget",
                                           "capset",
                                           "chdir",
                                           "chmod",
                                           "chown",
                                           "chown32",
                                           "clock_adjtime",
                                           "clock_adjtime64",
                                           "clock_getres",
                                           "clock_getres_time64",
                                           "clock_gettime",
                                           "clock_gettime64",
                                           "clock_nanosleep",
                                           "clock_nanosleep_time64",
                                           "close",
                                           "close_range",
                                           "connect",
                                           "copy_file_range",
                                           "creat",
                                           "dup",
                                           "dup2",
                                           "dup3",
                                           "epoll_create",
                                           "epoll_create1",
                                           "epoll_ctl",
                                           "epoll_ctl_old",
                                           "epoll_pwait",
                                           "epoll_pwait2",
                                           "epoll_wait",
                                           "epoll_wait_old",
                                           "eventfd",
                                           "eventfd2",
                                           "execve",
                                           "execveat",
                                           "exit",
                                           "exit_group",
                                           "faccessat",
                                           "faccessat2",
                                           "fadvise64",
                                           "fadvise64_64",
                                           "fallocate",
                                           "fanotify_mark",
                                           "fchdir",
                                           "fchmod",
                                           "fchmodat",
                                           "fchmodat2",
                                           "fchown",
                                           "fchown32",
                                           "fchownat",
                                           "fcntl",
                                           "fcntl64",
                                           "fdatasync",
                                           "fgetxattr",
                                           "flistxattr",
                                           "flock",
                                           "fork",
                                           "fremovexattr",
                                           "fsetxattr",
                                           "fstat",
                                           "fstat64",
                                           "fstatat64",
                                           "fstatfs",
                                           "fstatfs64",
                                           "fsync",
                                           "ftruncate",
                                           "ftruncate64",
                                           "futex",
                                           "futex_requeue",
                                           "futex_time64",
                                           "futex_wait",
                                           "futex_waitv",
                                           "futex_wake",
                                           "futimesat",
                                           "getcpu",
                                           "getcwd",
                                           "getdents",
                                           "getdents64",
                                           "getegid",
                                           "getegid32",
                                           "geteuid",
                                           "geteuid32",
                                           "getgid",
                                           "getgid32",
                                           "getgroups",
                                           "getgroups32",
                                           "getitimer",
                                           "getpeername",
                                           "getpgid",
                                           "getpgrp",
                                           "getpid",
                                           "getppid",
                                           "getpriority",
                                           "getrandom",
                                           "getresgid",
                                           "getresgid32",
                                           "getresuid",
                                           "getresuid32",
                                           "getrlimit",
                                           "get_robust_list",
                                           "getrusage",
                                           "getsid",
                                           "getsockname",
                                           "getsockopt",
                                           "get_thread_area",
                                           "gettid",
                                           "gettimeofday",
                                           "getuid",
                                           "getuid32",
                                           "getxattr",
                                           "inotify_add_watch",
                                           "inotify_init",
                                           "inotify_init1",
                                           "inotify_rm_watch",
                                           "io_cancel",
                                           "ioctl",
                                           "io_destroy",
                                           "io_getevents",
                                           "io_pgetevents",
                                           "io_pgetevents_time64",
                                           "ioprio_get",
                                           "ioprio_set",
                                           "io_setup",
                                           "io_submit",
                                           "ipc",
                                           "kill",
                                           "landlock_add_rule",
                                           "landlock_create_ruleset",
                                           "landlock_restrict_self",
                                           "lchown",
                                           "lchown32",
                                           "lgetxattr",
                                           "link",
                                           "linkat",
                                           "listen",
                                           "listxattr",
                                           "llistxattr",
                                           "_llseek",
                                           "lremovexattr",
                                           "lseek",
                                           "lsetxattr",
                                           "lstat",
                                           "lstat64",
                                           "madvise",
                                           "map_shadow_stack",
                                           "membarrier",
                                           "memfd_create",
                                           "memfd_secret",
                                           "mincore",
                                           "mkdir",
                                           "mkdirat",
                                           "mknod",
                                           "mknodat",
                                           "mlock",
                                           "mlock2",
                                           "mlockall",
                                           "mmap",
                                           "mmap2",
                                           "mprotect",
                                           "mq_getsetattr",
                                           "mq_notify",
                                           "mq_open",
                                           "mq_timedreceive",
                                           "mq_timedreceive_time64",
                                           "mq_timedsend",
                                           "mq_timedsend_time64",
                                           "mq_unlink",
                                           "mremap",
                                           "msgctl",
                                           "msgget",
                                           "msgrcv",
                                           "msgsnd",
                                           "msync",
                                           "munlock",
                                           "munlockall",
                                           "munmap",
                                           "name_to_handle_at",
                                           "nanosleep",
                                           "newfstatat",
                                           "_newselect",
                                           "open",
                                           "openat",
                                           "openat2",
                                           "pause",
                                           "pidfd_open",
                                           "pidfd_send_signal",
                                           "pipe",
                                           "pipe2",
                                           "pkey_alloc",
                                           "pkey_free",
                                           "pkey_mprotect",
                                           "poll",
                                           "ppoll",
                                           "ppoll_time64",
                                           "prctl",
                                           "pread64",
                                           "preadv",
                                           "preadv2",
                                           "prlimit64",
                                           "process_mrelease",
                                           "pselect6",
                                           "pselect6_time64",
                                           "ptrace",
                                           "pwrite64",
                                           "pwritev",
                                           "pwritev2",
                                           "read",
                                           "readahead",
                                           "readlink",
                                           "readlinkat",
                                           "readv",
                                           "recv",
                                           "recvfrom",
                                           "recvmmsg",
                                           "recvmmsg_time64",
                                           "recvmsg",
                                           "remap_file_pages",
                                           "removexattr",
                                           "rename",
                                           "renameat",
                                           "renameat2",
                                           "restart_syscall",
                                           "rmdir",
                                           "rseq",
                                           "rt_sigaction",
                                           "rt_sigpending",
                                           "rt_sigprocmask",
                                           "rt_sigqueueinfo",
                                           "rt_sigreturn",
                                           "rt_sigsuspend",
                                           "rt_sigtimedwait",
                                           "rt_sigtimedwait_time64",
                                           "rt_tgsigqueueinfo",
                                           "sched_getaffinity",
                                           "sched_getattr",
                                           "sched_getparam",
                                           "sched_get_priority_max",
                                           "sched_get_priority_min",
                                           "sched_getscheduler",
                                           "sched_rr_get_interval",
                                           "sched_rr_get_interval_time64",
                                           "sched_setaffinity",
                                           "sched_setattr",
                                           "sched_setparam",
                                           "sched_setscheduler",
                                           "sched_yield",
                                           "seccomp",
                                           "select",
                                           "semctl",
                                           "semget",
                                           "semop",
                                           "semtimedop",
                                           "semtimedop_time64",
                                           "send",
                                           "sendfile",
                                           "sendfile64",
                                           "sendmmsg",
                                           "sendmsg",
                                           "sendto",
                                           "setfsgid",
                                           "setfsgid32",
                                           "setfsuid",
                                           "setfsuid32",
                                           "setgid",
                                           "setgid32",
                                           "setgroups",
                                           "setgroups32",
                                           "setitimer",
                                           "setpgid",
                                           "setpriority",
                                           "setregid",
                                           "setregid32",
                                           "setresgid",
                                           "setresgid32",
                                           "setresuid",
                                           "setresuid32",
                                           "setreuid",
                                           "setreuid32",
                                           "setrlimit",
                                           "set_robust_list",
                                           "setsid",
                                           "setsockopt",
                                           "set_thread_area",
                                           "set_tid_address",
                                           "setuid",
                                           "setuid32",
                                           "setxattr",
                                           "shmat",
                                           "shmctl",
                                           "shmdt",
                                           "shmget",
                                           "shutdown",
                                           "sigaltstack",
                                           "signalfd",
                                           "signalfd4",
                                           "sigprocmask",
                                           "sigreturn",
                                           "socketcall",
                                           "socketpair",
                                           "splice",
                                           "stat",
                                           "stat64",
                                           "statfs",
                                           "statfs64",
                                           "statx",
                                           "symlink",
                                           "symlinkat",
                                           "sync",
                                           "sync_file_range",
                                           "syncfs",
                                           "sysinfo",
                                           "tee",
                                           "tgkill",
                                           "time",
                                           "timer_create",
                                           "timer_delete",
                                           "timer_getoverrun",
                                           "timer_gettime",
                                           "timer_gettime64",
                                           "timer_settime",
                                           "timer_settime64",
                                           "timerfd_create",
                                           "timerfd_gettime",
                                           "timerfd_gettime64",
                                           "timerfd_settime",
                                           "timerfd_settime64",
                                           "times",
                                           "tkill",
                                           "truncate",
                                           "truncate64",
                                           "ugetrlimit",
                                           "umask",
                                           "uname",
                                           "unlink",
                                           "unlinkat",
                                           "utime",
                                           "utimensat",
                                           "utimensat_time64",
                                           "utimes",
                                           "vfork",
                                           "vmsplice",
                                           "wait4",
                                           "waitid",
                                           "waitpid",
                                           "write",
                                           "writev",
                                           NULL};

static const char *const x86_only[] = {"arch_prctl", "modify_ldt", NULL};
static const char *const arm_only[] = {"arm_fadvise64_64",
                                       "arm_sync_file_range",
                                       "sync_file_range2",
                                       "breakpoint",
                                       "cacheflush",
                                       "set_tls",
                                       NULL};
static const char *const ppc_only[] = {"sync_file_range2", "swapcontext", NULL};
static const char *const s390_only[] = {"s390_pci_mmio_read", "s390_pci_mmio_write",
                                        "s390_runtime_instr", NULL};
static const char *const riscv_only[] = {"riscv_flush_icache", NULL};

static const char *const sys_admin[] = {"bpf",           "clone",           "clone3",
                                        "fanotify_init", "fsconfig",        "fsmount",
                                        "fsopen",        "fspick",          "lookup_dcookie",
                                        "mount",         "mount_setattr",   "move_mount",
                                        "open_tree",     "perf_event_open", "quotactl",
                                        "quotactl_fd",   "setdomainname",   "sethostname",
                                        "setns",         "syslog",          "umount",
                                        "umount2",       "unshare",         NULL};
static const char *const sys_boot[] = {"reboot", NULL};
static const char *const sys_chroot[] = {"chroot", NULL};
static const char *const sys_module[] = {"delete_module", "init_module", "finit_module", NULL};
static const char *const sys_pacct[] = {"acct", NULL};
static const char *const sys_ptrace[] = {
    "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", NULL};
static const char *const sys_rawio[] = {"iopl", "ioperm", NULL};
static const char *const sys_time[] = {"settimeofday", "stime", "clock_settime", "clock_settime64",
                                       NULL};
static const char *const sys_tty_config[] = {"vhangup", NULL};
static const char *const sys_nice[] = {"get_mempolicy", "mbind", "set_mempolicy",
                                       "set_mempolicy_home_node", NULL};
static const char *const syslog_names[] = {"syslog", NULL};
static const char *const bpf_names[] = {"bpf", NULL};
static const char *const perfmon_names[] = {"perf_event_open", NULL};
static const char *const dac_read_search[] = {"open_by_handle_at", NULL};

/* A group of names allowed when one of `caps` is held (0 = always), on the
 * architectures in `arches` (empty = all). */
struct group {
    const char *const *names;
    uint64_t caps;
    uint32_t arches[3];
};

static const struct group groups[] = {
    {allow_always, 0, {0}},
    {x86_only, 0, {SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32}},
    {arm_only, 0, {SCMP_ARCH_AARCH64, SCMP_ARCH_ARM, 0}},
    {ppc_only, 0, {SCMP_ARCH_PPC64LE, 0, 0}},
    {s390_only, 0, {SCMP_ARCH_S390X, SCMP_ARCH_S390, 0}},
    {riscv_only, 0, {SCMP_ARCH_RISCV64, 0, 0}},
    {dac_read_search, CAPBIT(CAP_DAC_READ_SEARCH), {0}},
    {sys_admin, CAPBIT(CAP_SYS_ADMIN), {0}},
    {sys_boot, CAPBIT(CAP_SYS_BOOT), {0}},
    {sys_chroot, CAPBIT(CAP_SYS_CHROOT), {0}},
    {sys_module, CAPBIT(CAP_SYS_MODULE), {0}},
    {sys_pacct, CAPBIT(CAP_SYS_PACCT), {0}},
    {sys_ptrace, CAPBIT(CAP_SYS_PTRACE), {0}},
    {sys_rawio, CAPBIT(CAP_SYS_RAWIO), {0}},
    {sys_time, CAPBIT(CAP_SYS_TIME), {0}},
    {sys_tty_config, CAPBIT(CAP_SYS_TTY_CONFIG), {0}},
    {sys_nice, CAPBIT(CAP_SYS_NICE), {0}},
    {syslog_names, CAPBIT(CAP_SYSLOG), {0}},
    {bpf_names, CAPBIT(CAP_BPF), {0}},
    {perfmon_names, CAPBIT(CAP_PERFMON), {0}},
};

/* Namespace flags clone() may not use without CAP_SYS_ADMIN:
 * CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET = 0x7e020000. */
#define CLONE_NS_FLAGS UINT64_C(0x7e020000)
#define AF_VSOCK_NR 40

static bool
group_applies(const struct group *g, uint64_t caps, uint32_t native)
{
    if (g->caps && !(g->caps & caps))
        return false;
    if (!g->arches[0])
        return true;
    for (size_t i = 0; i < sizeof(g->arches) / sizeof(g->arches[0]); i++)
        if (g->arches[i] == native)
            return true;
    return false;
}

/* Names the linked libseccomp does not know are dropped, so the profile
 * validates with any libseccomp (a newer one simply knows more). */
static bool
known(const char *name)
{
    return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

struct builder {
    struct rt_seccomp *s;
    size_t cap;
};

static struct rt_seccomp_syscall *
add_entry(struct builder *b, enum rt_seccomp_action action)
{
    b->s->syscalls =
        xreallocarray_grow(b->s->syscalls, &b->cap, b->s->n_syscalls + 1, sizeof(*b->s->syscalls));
    struct rt_seccomp_syscall *sc = &b->s->syscalls[b->s->n_syscalls++];
    memset(sc, 0, sizeof(*sc));
    sc->action = action;
    return sc;
}

static char **
names_vec(const char *const *names, size_t n)
{
    char **v = xcalloc(n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (known(names[i]))
            v[k++] = xstrdup(names[i]);
    return v;
}

static void
add_names(struct builder *b, const char *const *names, size_t n, enum rt_seccomp_action action)
{
    char **v = names_vec(names, n);
    if (!v[0]) {
        free(v);
        return;
    }
    add_entry(b, action)->names = v;
}

static void
add_one_arg(struct builder *b, const char *name, unsigned index, enum rt_seccomp_op op,
            uint64_t value, uint64_t value_two)
{
    const char *names[] = {name};
    struct rt_seccomp_syscall *sc;

    if (!known(name))
        return;
    sc = add_entry(b, RT_SCMP_ALLOW);
    sc->names = names_vec(names, 1);
    sc->args = xcalloc(1, sizeof(*sc->args));
    sc->n_args = 1;
    sc->args[0] =
        (struct rt_seccomp_arg){.index = index, .op = op, .value = value, .value_two = value_two};
}

static char **
host_arches(uint32_t native)
{
    const char *list[4] = {NULL};

    switch (native) {
    case SCMP_ARCH_X86_64:
        list[0] = "SCMP_ARCH_X86_64", list[1] = "SCMP_ARCH_X86", list[2] = "SCMP_ARCH_X32";
        break;
    case SCMP_ARCH_AARCH64:
        list[0] = "SCMP_ARCH_AARCH64", list[1] = "SCMP_ARCH_ARM";
        break;
    case SCMP_ARCH_S390X:
        list[0] = "SCMP_ARCH_S390X", list[1] = "SCMP_ARCH_S390";
        break;
    default:
        return NULL; /* the native architecture only */
    }
    return xstrv_dup((char *const *)list);
}

struct rt_seccomp *
rt_seccomp_default_profile_for_caps(uint64_t caps)
{
    struct builder b = {.s = xcalloc(1, sizeof(struct rt_seccomp)), .cap = 0};
    uint32_t native = seccomp_arch_native();
    unsigned clone_flags_index = (native == SCMP_ARCH_S390X || native == SCMP_ARCH_S390) ? 1 : 0;
    static const uint64_t personalities[] = {0x0, 0x0008, 0x20000, 0x20008, 0xffffffff};

    b.s->default_action = RT_SCMP_ERRNO;
    b.s->has_default_errno_ret = true;
    b.s->default_errno_ret = 1; /* EPERM */
    b.s->architectures = host_arches(native);

    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        size_t n = 0;
        if (!group_applies(&groups[i], caps, native))
            continue;
        while (groups[i].names[n])
            n++;
        add_names(&b, groups[i].names, n, RT_SCMP_ALLOW);
    }
    /* Same index five times: compiled as five rules, i.e. "any of". */
    for (size_t i = 0; i < sizeof(personalities) / sizeof(personalities[0]); i++)
        add_one_arg(&b, "personality", 0, RT_SCMP_CMP_EQ, personalities[i], 0);
    /* Every socket family but AF_VSOCK (host services behind vsock). */
    add_one_arg(&b, "socket", 0, RT_SCMP_CMP_NE, AF_VSOCK_NR, 0);
    if (!(caps & CAPBIT(CAP_SYS_ADMIN))) {
        /* clone without namespace flags; clone3 hides its flags in memory
         * the filter cannot read, so it reports ENOSYS and libc falls back
         * to clone. */
        add_one_arg(&b, "clone", clone_flags_index, RT_SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0);
        if (known("clone3")) {
            const char *names[] = {"clone3"};
            struct rt_seccomp_syscall *sc = add_entry(&b, RT_SCMP_ERRNO);
            sc->names = names_vec(names, 1);
            sc->has_errno_ret = true;
            sc->errno_ret = ENOSYS_NR;
        }
    }
    return b.s;
}

struct rt_seccomp *
rt_seccomp_default_profile(void)
{
    return rt_seccomp_default_profile_for_caps(DOCKER_DEFAULT_CAPS);
}

void
rt_seccomp_profile_free(struct rt_seccomp *s)
{
    if (!s)
        return;
    cm_strv_free(s->architectures);
    cm_strv_free(s->flags);
    free(s->listener_path);
    free(s->listener_metadata);
    for (size_t i = 0; i < s->n_syscalls; i++) {
        cm_strv_free(s->syscalls[i].names);
        free(s->syscalls[i].args);
    }
    free(s->syscalls);
    free(s);
}
