/* SPDX-License-Identifier: Apache-2.0 */
/* config-parse benchmark: median time of rt_config_parse over the given
 * config.json files (built and run by bench/config-parse). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "rt/config.h"

static double
now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over `rounds` of the mean of `batch` parses, in microseconds. */
static int
bench(const char *label, const char *buf, size_t len)
{
    enum { rounds = 21, batch = 200 };
    double t[rounds];

    for (int r = 0; r < rounds; r++) {
        double t0 = now_us();
        for (int i = 0; i < batch; i++) {
            cleanup_error struct cm_error *err = NULL;
            struct rt_config *c = NULL;
            if (rt_config_parse(buf, len, label, &c, &err) < 0) {
                fprintf(stderr, "%s\n", err->msg);
                return -1;
            }
            rt_config_free(c);
        }
        t[r] = (now_us() - t0) / batch;
    }
    qsort(t, rounds, sizeof(t[0]), cmp_double);
    printf("%-48s %8zu bytes %9.1f us\n", label, len, t[rounds / 2]);
    return 0;
}

int
main(int argc, char **argv)
{
    cleanup_free char *def = rt_config_default_spec(false);
    if (bench("default spec (skiff-runtime spec)", def, strlen(def)) < 0)
        return 1;
    for (int i = 1; i < argc; i++) {
        cleanup_error struct cm_error *err = NULL;
        cleanup_free char *buf = NULL;
        size_t len = 0;
        if (cm_read_file_at(AT_FDCWD, argv[i], RT_CONFIG_MAX_BYTES, &buf, &len, &err) < 0) {
            fprintf(stderr, "%s\n", err->msg);
            return 1;
        }
        if (bench(argv[i], buf, len) < 0)
            return 1;
    }
    return 0;
}
