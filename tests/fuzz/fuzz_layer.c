/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: layer extraction (gzip/zstd/tar detection, tar parsing,
 * path cleaning, whiteouts, links) into a scratch directory. Run as root in a
 * throw-away environment: it creates files, devices are refused. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm/file.h"
#include "img/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/images-fuzz-XXXXXX"; /* used when FUZZ_SCRATCH is unset */
static int root_fd = -1;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_error *err = NULL;
    struct img_unpack_opts o = {.max_bytes = 64u << 20};
    char diff[IMG_DIGEST_MAX];
    char scratch[] = "scratch";
    int in, dfd;

    if (root_fd < 0) {
        const char *dir = getenv("FUZZ_SCRATCH");
        if (dir) {
            mkdir(dir, 0700);
            root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } else if (!mkdtemp(root)) {
            abort();
        }
    }
    if (root_fd < 0) {
        root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    in = memfd_create("layer", MFD_CLOEXEC);
    if (in < 0 || write(in, data, size) != (ssize_t)size || lseek(in, 0, SEEK_SET) < 0)
        abort();
    mkdirat(root_fd, scratch, 0755);
    dfd = openat(root_fd, scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    img_layer_extract(in, dfd, &o, diff, &err);
    cm_error_free(&err);
    close(dfd);
    close(in);
    cm_rm_rf_at(root_fd, scratch, &err);
    cm_error_free(&err);
    return 0;
}
