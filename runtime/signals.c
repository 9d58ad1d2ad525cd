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

void
rt_signals_reset(uint64_t ignored)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;

    for (int sig = 1; sig < NSIG && sig <= 64; sig++) {
        if (!(ignored & (UINT64_C(1) << (sig - 1))) || sig == SIGKILL || sig == SIGSTOP)
            continue;
        /* Fails (EINVAL) only for the C library's own internal signals. */
        sigaction(sig, &dfl, NULL);
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}
