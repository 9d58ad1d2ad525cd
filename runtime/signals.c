/* SPDX-License-Identifier: Apache-2.0 */
/* The container process starts with every signal unblocked and at its default
 * action, like under runc and crun: execve keeps the caller's signal mask and
 * its ignored signals (a shim that blocks SIGTERM, a shell's `trap '' TERM`,
 * our own SIGPIPE), which would leave the program deaf to SIGTERM. Handlers
 * need nothing: execve resets them itself. */
#include "internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

uint64_t
rt_signals_ignored(void)
{
    char buf[4096];
    ssize_t n;
    const char *line;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

    /* One read of our status instead of a sigaction query per signal. */
    if (fd < 0)
        return UINT64_MAX;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return UINT64_MAX;
    buf[n] = 0;
    line = strstr(buf, "\nSigIgn:\t");
    if (!line)
        return UINT64_MAX;
    return strtoull(line + 9, NULL, 16);
}

/* The kernel's struct sigaction (asm-generic layout): glibc's sigaction()
 * refuses its two internal signals (32, 33), but a caller may have left them
 * ignored too, and the container must not inherit that. */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

void
rt_signals_reset(uint64_t ignored)
{
    struct kernel_sigaction dfl = {.handler = SIG_DFL};
    sigset_t none;

    for (int sig = 1; sig <= 64; sig++) {
        if (!(ignored & (UINT64_C(1) << (sig - 1))) || sig == SIGKILL || sig == SIGSTOP)
            continue;
        syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}
