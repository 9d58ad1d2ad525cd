/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: building, validating, compiling and loading the default
 * seccomp profile (our generator and libseccomp's compiler side by side). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rt/security.h"

#define RUNS 41

static double
now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
report(const char *what, double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    printf("%-36s median %9.1f us   min %9.1f us   max %9.1f us\n", what, v[n / 2], v[0], v[n - 1]);
}

typedef int (*compile_fn)(const struct rt_seccomp *, struct rt_seccomp_filter **,
                          struct cm_error **);

static void
bench_compile(const char *what, compile_fn fn, const struct rt_seccomp *s)
{
    double t[RUNS];
    size_t insns = 0;
    for (int i = 0; i < RUNS; i++) {
        struct rt_seccomp_filter *f = NULL;
        struct cm_error *err = NULL;
        double t0 = now_us();
        if (fn(s, &f, &err) < 0) {
            fprintf(stderr, "%s: %s\n", what, err->msg);
            exit(1);
        }
        t[i] = now_us() - t0;
        rt_seccomp_filter_program(f, &insns);
        rt_seccomp_filter_free(f);
    }
    char label[96];
    snprintf(label, sizeof(label), "%s (%zu insns)", what, insns);
    report(label, t, RUNS);
}

int
main(void)
{
    double t[RUNS];
    struct rt_seccomp *s = NULL;
    size_t names = 0;

    for (int i = 0; i < RUNS; i++) {
        double t0 = now_us();
        struct rt_seccomp *p = rt_seccomp_default_profile();
        t[i] = now_us() - t0;
        if (i == RUNS - 1)
            s = p;
        else
            rt_seccomp_profile_free(p);
    }
    for (size_t i = 0; i < s->n_syscalls; i++)
        for (char **n = s->syscalls[i].names; *n; n++)
            names++;
    printf("default profile: %zu entries, %zu names\n", s->n_syscalls, names);
    report("build default profile", t, RUNS);
    for (int i = 0; i < RUNS; i++) {
        struct cm_error *err = NULL;
        double t0 = now_us();
        if (rt_seccomp_validate(s, &err) < 0)
            return 1;
        t[i] = now_us() - t0;
    }
    report("rt_seccomp_validate", t, RUNS);
    bench_compile("rt_seccomp_compile", rt_seccomp_compile, s);
    bench_compile("rt_seccomp_compile_libseccomp", rt_seccomp_compile_libseccomp, s);

    /* Loading: one seccomp(2) call, measured in throw-away children. */
    struct rt_seccomp_filter *f = NULL;
    struct cm_error *err = NULL;
    if (rt_seccomp_compile(s, &f, &err) < 0)
        return 1;
    for (int i = 0; i < RUNS; i++) {
        int pfd[2];
        if (pipe(pfd) < 0)
            return 1;
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            double t0 = now_us();
            int r = rt_seccomp_load(f, NULL, &err);
            double dt = now_us() - t0;
            (void)!write(pfd[1], &dt, sizeof(dt));
            _exit(r < 0);
        }
        close(pfd[1]);
        if (read(pfd[0], &t[i], sizeof(t[i])) != sizeof(t[i]))
            t[i] = -1;
        close(pfd[0]);
        waitpid(pid, NULL, 0);
    }
    report("rt_seccomp_load", t, RUNS);
    rt_seccomp_filter_free(f);
    rt_seccomp_profile_free(s);
    return 0;
}
