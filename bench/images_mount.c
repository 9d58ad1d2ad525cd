/* SPDX-License-Identifier: Apache-2.0 */
/* images-mount benchmark: time to make a new container rootfs from a stored
 * image the way the agent does it in its long-running process (index lookup,
 * upper/work/rootfs directories, one overlay mount), median of 21 rounds.
 * Usage: images-mount STORE REF SCRATCHDIR (built and run by bench/images-pull). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <time.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "img/rootfs.h"
#include "img/store.h"
#include "img/unpack.h"

#define ROUNDS 21

static double
now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    struct img_store *s = NULL;
    struct cm_error *err = NULL;
    double t[ROUNDS];
    bool copied = false;

    if (argc != 4) {
        fprintf(stderr, "usage: images-mount STORE REF SCRATCHDIR\n");
        return 2;
    }
    if (img_store_open(argv[1], &s, &err) < 0)
        goto fail;
    for (int i = 0; i < ROUNDS; i++) {
        struct img_image *img = NULL;
        cleanup_free char *dir = NULL;
        cleanup_free char *upper = NULL;
        cleanup_free char *work = NULL;
        cleanup_free char *rootfs = NULL;
        cleanup_free char *name = NULL;
        if (asprintf(&name, "c%d", i) < 0 || asprintf(&dir, "%s/%s", argv[3], name) < 0 ||
            asprintf(&upper, "%s/upper", dir) < 0 || asprintf(&work, "%s/work", dir) < 0 ||
            asprintf(&rootfs, "%s/rootfs", dir) < 0)
            return 1;
        double t0 = now_ms();
        if (img_store_get(s, argv[2], NULL, &img, &err) < 0 ||
            img_rootfs_mount(s, img, upper, work, rootfs, &copied, &err) < 0) {
            img_image_free(img);
            goto fail;
        }
        t[i] = now_ms() - t0;
        img_image_free(img);
        umount2(rootfs, MNT_DETACH);
        cleanup_close int sfd = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cm_rm_rf_at(sfd, name, NULL);
    }
    qsort(t, ROUNDS, sizeof(t[0]), cmp_double);
    printf("%.3f %.3f %.3f %s\n", t[ROUNDS / 2], t[0], t[ROUNDS - 1], copied ? "copy" : "overlay");
    img_store_free(s);
    return 0;
fail:
    fprintf(stderr, "images-mount: %s\n", err->msg);
    cm_error_free(&err);
    img_store_free(s);
    return 1;
}
