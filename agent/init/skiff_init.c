/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-init: the small pid 1 of containers with initProcessEnabled (docker's
 * --init, like tini). `skiff-init -- CMD [ARG...]` runs CMD as its child,
 * passes the signals it receives on to it, reaps every orphan, and exits with
 * CMD's status (128 + signal when it was killed). Built static: it is bind-
 * mounted into rootfs that may have no libc. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    sigset_t all, none;
    pid_t child;
    int first = 1;

    if (argc > 1 && strcmp(argv[1], "--") == 0)
        first = 2;
    if (first >= argc) {
        fprintf(stderr, "usage: skiff-init -- CMD [ARG...]\n");
        return 2;
    }
    sigfillset(&all);
    sigemptyset(&none);
    /* Block everything before the fork: no signal is lost in between. */
    sigprocmask(SIG_SETMASK, &all, NULL);
    child = fork();
    if (child < 0) {
        perror("skiff-init: fork");
        return 1;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[first], argv + first);
        fprintf(stderr, "skiff-init: exec '%s': %s\n", argv[first], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);

        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            /* Stop and continue signals of our own are not passed on. */
            if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU)
                kill(child, sig);
            continue;
        }
        for (;;) {
            int status;
            pid_t p = waitpid(-1, &status, WNOHANG);
            if (p <= 0)
                break;
            if (p == child)
                return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        }
    }
}
