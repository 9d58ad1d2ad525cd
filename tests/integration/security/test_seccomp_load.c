/* SPDX-License-Identifier: Apache-2.0 */
/* Seccomp filters loaded for real in a forked child: errno values, kill
 * actions, trap, log, user notification, no_new_privs rules. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../unit/runtime/seccomp_build.h"
#include "child.h"
#include "cm/error.h"
#include "rt/security.h"

static struct rt_seccomp_filter *
compile(const struct rt_seccomp *s)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_seccomp_filter *f = NULL;
    cr_assert_eq(rt_seccomp_compile(s, &f, &err), 0, "compile: %s", err ? err->msg : "");
    return f;
}

/* Child side: load or exit 99 with the message on stderr. */
static void
load_or_die(struct rt_seccomp_filter *f, int *notify_fd)
{
    cleanup_error struct cm_error *err = NULL;
    if (rt_seccomp_load(f, notify_fd, &err) < 0) {
        fprintf(stderr, "load: %s\n", err->msg);
        _exit(99);
    }
}

static int
child_errno(void *arg)
{
    char buf[256];
    load_or_die(arg, NULL);
    errno = 0;
    CHILD_CHECK(getcwd(buf, sizeof(buf)) == NULL && errno == EACCES);
    errno = 0;
    CHILD_CHECK(mkdir("/rt-security-never-created", 0700) < 0 && errno == EPERM);
    CHILD_CHECK(getpid() > 0);
    return 0;
}

Test(rt_security_seccomp, errno_and_errno_ret, .timeout = 30)
{
    require_root();
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    sb_errno(sb_rule(s, RT_SCMP_ERRNO, "getcwd"), EACCES);
    sb_rule(s, RT_SCMP_ERRNO, "mkdir,mkdirat");
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = compile(s);
    assert_exit0(run_child(child_errno, f));
}

static int
child_getppid(void *arg)
{
    load_or_die(arg, NULL);
    (void)getppid();
    return 0;
}

Test(rt_security_seccomp, kill_process_dies_with_sigsys, .timeout = 30)
{
    require_root();
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    sb_rule(s, RT_SCMP_KILL_PROCESS, "getppid");
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = compile(s);
    int status = run_child(child_getppid, f);
    cr_assert(WIFSIGNALED(status), "child was not killed (status 0x%x)", status);
    cr_expect_eq(WTERMSIG(status), SIGSYS);
}

Test(rt_security_seccomp, kill_thread_of_single_thread_dies, .timeout = 30)
{
    require_root();
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    sb_rule(s, RT_SCMP_KILL, "getppid");
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = compile(s);
    int status = run_child(child_getppid, f);
    cr_assert(WIFSIGNALED(status), "child was not killed (status 0x%x)", status);
    cr_expect_eq(WTERMSIG(status), SIGSYS);
}

static volatile sig_atomic_t trapped_nr = -1;

static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    trapped_nr = si->si_syscall;
}

static int
child_trap(void *arg)
{
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    CHILD_CHECK(sigaction(SIGSYS, &sa, NULL) == 0);
    load_or_die(arg, NULL);
    (void)syscall(SYS_getppid);
    CHILD_CHECK(trapped_nr == SYS_getppid);
    return 0;
}

Test(rt_security_seccomp, trap_raises_sigsys, .timeout = 30)
{
    require_root();
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    sb_rule(s, RT_SCMP_TRAP, "getppid");
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = compile(s);
    assert_exit0(run_child(child_trap, f));
}

static int
child_log(void *arg)
{
    char buf[64];
    pid_t before = getppid();
    load_or_die(arg, NULL);
    CHILD_CHECK(getppid() == before);
    CHILD_CHECK(getpid() > 0);
    errno = 0;
    CHILD_CHECK(getcwd(buf, sizeof(buf)) == NULL && errno == EDOM); /* the filter is active */
    return 0;
}

Test(rt_security_seccomp, log_and_allow_let_calls_through, .timeout = 30)
{
    require_root();
    /* Default ALLOW: an allow-list would also have to cover what ASan and
     * libc do behind our back. */
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    s->flags = sb_strv("SECCOMP_FILTER_FLAG_LOG,SECCOMP_FILTER_FLAG_TSYNC");
    sb_rule(s, RT_SCMP_LOG, "getppid");
    sb_rule(s, RT_SCMP_ALLOW, "getpid");
    sb_errno(sb_rule(s, RT_SCMP_ERRNO, "getcwd"), EDOM);
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = compile(s);
    assert_exit0(run_child(child_log, f));
}

/* Argument filters for real: kill(0, 0) allowed, kill(pid, 0) with a
 * masked check on the signal refused. */
static int
child_args(void *arg)
{
    load_or_die(arg, NULL);
    errno = 0;
    CHILD_CHECK(kill(getpid(), 0) == 0);
    CHILD_CHECK(kill(getpid(), SIGCONT) < 0 && errno == EDOM);
    return 0;
}

Test(rt_security_seccomp, masked_eq_on_real_call, .timeout = 30)
{
    require_root();
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    struct rt_seccomp_syscall *sc = sb_rule(s, RT_SCMP_ERRNO, "kill");
    sb_errno(sc, EDOM);
    sb_arg(sc, 1, RT_SCMP_CMP_MASKED_EQ, 0xff, SIGCONT);
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = compile(s);
    assert_exit0(run_child(child_args, f));
}

/* Without CAP_SYS_ADMIN and without no_new_privs the kernel refuses. */
static int
child_needs_nnp(void *arg)
{
    cleanup_error struct cm_error *err = NULL;
    struct rt_capabilities keep = {.present = true};
    CHILD_CHECK(rt_caps_apply(&keep, &err) == 0);
    CHILD_CHECK(rt_seccomp_load(arg, NULL, &err) < 0);
    CHILD_CHECK(err && err->code == EACCES && strstr(err->msg, "noNewPrivileges"));
    cm_error_free(&err);
    struct rt_process p = {.no_new_privileges = true};
    CHILD_CHECK(rt_no_new_privs_apply(&p, &err) == 0);
    CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
    CHILD_CHECK(rt_seccomp_load(arg, NULL, &err) == 0);
    return 0;
}

Test(rt_security_seccomp, without_sys_admin_needs_no_new_privs, .timeout = 30)
{
    require_root();
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    sb_rule(s, RT_SCMP_ERRNO, "mkdir");
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = compile(s);
    assert_exit0(run_child(child_needs_nnp, f));
}

static int
child_default_profile(void *arg)
{
    char buf[256];
    struct rt_process p = {.no_new_privileges = true};
    cleanup_error struct cm_error *err = NULL;
    CHILD_CHECK(rt_no_new_privs_apply(&p, &err) == 0);
    load_or_die(arg, NULL);
    CHILD_CHECK(getcwd(buf, sizeof(buf)) != NULL);
    errno = 0;
    CHILD_CHECK(umount2("/rt-security-nothing", 0) < 0 && errno == EPERM);
    errno = 0;
    CHILD_CHECK(unshare(CLONE_NEWNS) < 0 && errno == EPERM);
    errno = 0;
    CHILD_CHECK(syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS);
    /* fork goes through clone without namespace flags: allowed. */
    pid_t pid = fork();
    CHILD_CHECK(pid >= 0);
    if (pid == 0)
        _exit(7);
    int st;
    CHILD_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7);
    return 0;
}

Test(rt_security_seccomp, default_profile_loads_and_denies, .timeout = 30)
{
    require_root();
    struct rt_seccomp *s = rt_seccomp_default_profile();
    struct rt_seccomp_filter *f = compile(s);
    int status = run_child(child_default_profile, f);
    rt_seccomp_filter_free(f);
    rt_seccomp_profile_free(s);
    assert_exit0(status);
}

/* SCMP_ACT_NOTIFY: the child gets a listener fd, a grandchild's mkdir waits
 * for the child's answer (EROFS here). */
static int
child_notify(void *arg)
{
    struct seccomp_notif_sizes sizes;
    int fd = -1;

    load_or_die(arg, &fd);
    CHILD_CHECK(fd >= 0);
    pid_t pid = fork();
    CHILD_CHECK(pid >= 0);
    if (pid == 0) {
        close(fd);
        errno = 0;
        _exit(mkdir("/rt-security-notify", 0700) < 0 && errno == EROFS ? 0 : 3);
    }
    CHILD_CHECK(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0);
    struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
    struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
    CHILD_CHECK(req && resp);
    CHILD_CHECK(ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) == 0);
    CHILD_CHECK(req->pid == (unsigned)pid);
    resp->id = req->id;
    resp->error = -EROFS;
    CHILD_CHECK(ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) == 0);
    int st;
    CHILD_CHECK(waitpid(pid, &st, 0) == pid);
    CHILD_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(req);
    free(resp);
    return 0;
}

Test(rt_security_seccomp, notify_returns_listener, .timeout = 30)
{
    require_root();
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    s->listener_path = xstrdup("/unused/by/the/loader.sock");
    s->flags = sb_strv("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
    sb_rule(s, RT_SCMP_NOTIFY, "mkdir,mkdirat");
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = compile(s);
    assert_exit0(run_child(child_notify, f));
}

/* 32-bit x86 system calls: `int $0x80` from a 64-bit process enters the
 * kernel as AUDIT_ARCH_I386, so the filter's x86 branch is exercised for real. */
#if defined(__x86_64__)
static long
int80(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

#define I386_GETPID 20
#define I386_SOCKET 359

static void
require_ia32(void)
{
    require_root();
    if (int80(I386_GETPID, 0, 0, 0) != getpid())
        cr_skip_test("no IA32 emulation in this kernel");
}

static int
child_i386_errno(void *arg)
{
    load_or_die(arg, NULL);
    CHILD_CHECK(int80(I386_GETPID, 0, 0, 0) == -EACCES);
    errno = 0;
    CHILD_CHECK(syscall(SYS_getpid) == -1 && errno == EACCES); /* the same name natively */
    /* socket(AF_UNIX, SOCK_STREAM, 0) by its direct i386 number. */
    CHILD_CHECK(int80(I386_SOCKET, AF_UNIX, SOCK_STREAM, 0) == -EPROTO);
    return 0;
}

Test(rt_security_seccomp, i386_calls_hit_the_x86_rules, .timeout = 30)
{
    require_ia32();
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    s->architectures = sb_strv("SCMP_ARCH_X86_64,SCMP_ARCH_X86");
    sb_errno(sb_rule(s, RT_SCMP_ERRNO, "getpid"), EACCES);
    sb_errno(sb_rule(s, RT_SCMP_ERRNO, "socket"), EPROTO);
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = compile(s);
    assert_exit0(run_child(child_i386_errno, f));
}

static int
child_i386_badarch(void *arg)
{
    load_or_die(arg, NULL);
    (void)int80(I386_GETPID, 0, 0, 0);
    return 0;
}

Test(rt_security_seccomp, i386_without_x86_arch_is_killed, .timeout = 30)
{
    require_ia32();
    cleanup_sb struct rt_seccomp *s = sb_new(RT_SCMP_ALLOW);
    sb_rule(s, RT_SCMP_ERRNO, "mkdir");
    cleanup_rt_seccomp_filter struct rt_seccomp_filter *f = compile(s);
    int status = run_child(child_i386_badarch, f);
    cr_assert(WIFSIGNALED(status), "child was not killed (status 0x%x)", status);
    cr_expect_eq(WTERMSIG(status), SIGSYS);
}
#endif
