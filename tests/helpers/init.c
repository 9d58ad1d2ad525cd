/* SPDX-License-Identifier: Apache-2.0 */
/* The container process of the runtime's integration tests (static, no libc
 * needed in the rootfs): reports what it sees, one "key=value" per line.
 *   init report        pid, uid, gid, cwd, hostname, fds >= 3, CapEff, SigBlk, SigIgn, tty
 *   init exit N        exits with N
 *   init sleep N       sleeps N seconds
 *   init signal SIG    kills itself with SIG
 *   init cat PATH      prints the file
 *   init write PATH    tries to open PATH for writing, reports the result
 *   init sched         scheduling policy, nice and I/O priority
 *   init clock         CLOCK_MONOTONIC and CLOCK_BOOTTIME seconds */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static void
report(void)
{
    char buf[PATH_MAX], host[256];
    DIR *d;
    struct dirent *de;
    FILE *f;

    printf("pid=%d\nuid=%d\ngid=%d\n", (int)getpid(), (int)getuid(), (int)getgid());
    printf("cwd=%s\n", getcwd(buf, sizeof(buf)) ? buf : strerror(errno));
    if (gethostname(host, sizeof(host)) == 0)
        printf("hostname=%s\n", host);
    printf("tty=%d\n", isatty(0));
    if (getenv("LISTEN_FDS"))
        printf("listen_fds=%s listen_pid=%s\n", getenv("LISTEN_FDS"),
               getenv("LISTEN_PID") ? getenv("LISTEN_PID") : "");
    d = opendir("/proc/self/fd");
    if (d) {
        int dfd = dirfd(d);
        while ((de = readdir(d))) {
            int fd = atoi(de->d_name);
            char link[64], target[PATH_MAX];
            ssize_t n;
            if (de->d_name[0] == '.' || fd < 3 || fd == dfd)
                continue;
            snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
            n = readlink(link, target, sizeof(target) - 1);
            target[n > 0 ? n : 0] = 0;
            printf("fd=%d:%s\n", fd, target);
        }
        closedir(d);
    }
    f = fopen("/proc/self/status", "r");
    while (f && fgets(buf, sizeof(buf), f))
        if (!strncmp(buf, "CapEff:", 7) || !strncmp(buf, "NoNewPrivs:", 11) ||
            !strncmp(buf, "SigBlk:", 7) || !strncmp(buf, "SigIgn:", 7))
            printf("%s", buf);
    if (f)
        fclose(f);
}

int
main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "report";

    if (!strcmp(cmd, "report")) {
        report();
    } else if (!strcmp(cmd, "exit") && argc > 2) {
        return atoi(argv[2]);
    } else if (!strcmp(cmd, "sleep") && argc > 2) {
        sleep((unsigned)atoi(argv[2]));
    } else if (!strcmp(cmd, "stat")) {
        /* type, mode, owner and device numbers of each path */
        for (int i = 2; i < argc; i++) {
            struct stat st;
            if (lstat(argv[i], &st) < 0) {
                printf("%s error=%s\n", argv[i], strerror(errno));
                continue;
            }
            printf("%s %c %04o %u:%u %u:%u\n", argv[i],
                   S_ISCHR(st.st_mode)   ? 'c'
                   : S_ISBLK(st.st_mode) ? 'b'
                   : S_ISLNK(st.st_mode) ? 'l'
                                         : '?',
                   (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid,
                   major(st.st_rdev), minor(st.st_rdev));
        }
    } else if (!strcmp(cmd, "forks")) {
        /* Keeps forking short-lived children (a pause must catch them all). */
        for (;;) {
            pid_t c = fork();
            if (c == 0) {
                usleep(20000);
                _exit(0);
            }
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
            usleep(1000);
        }
    } else if (!strcmp(cmd, "signal") && argc > 2) {
        signal(atoi(argv[2]), SIG_DFL);
        kill(getpid(), atoi(argv[2]));
        pause();
    } else if (!strcmp(cmd, "cat") && argc > 2) {
        char buf[4096];
        ssize_t n;
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0) {
            printf("error=%s\n", strerror(errno));
            return 1;
        }
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            fwrite(buf, 1, (size_t)n, stdout);
        close(fd);
    } else if (!strcmp(cmd, "write") && argc > 2) {
        int fd = open(argv[2], O_WRONLY);
        printf("write=%s\n", fd < 0 ? strerror(errno) : "ok");
        if (fd >= 0)
            close(fd);
    } else if (!strcmp(cmd, "sched")) {
        errno = 0;
        int nice = getpriority(PRIO_PROCESS, 0);
        printf("policy=%d\nnice=%d\nioprio=%ld\n", sched_getscheduler(0), errno ? -100 : nice,
               syscall(SYS_ioprio_get, 1, 0));
    } else if (!strcmp(cmd, "clock")) {
        struct timespec m, b;
        clock_gettime(CLOCK_MONOTONIC, &m);
        clock_gettime(CLOCK_BOOTTIME, &b);
        printf("monotonic=%lld\nboottime=%lld\n", (long long)m.tv_sec, (long long)b.tv_sec);
    } else {
        fprintf(stderr, "init: unknown command '%s'\n", cmd);
        return 2;
    }
    fflush(stdout);
    return 0;
}
