/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the layer decompression stream: gzip (one or several
 * members, trailing bytes, truncation, bad checksum), plain tar bytes, the size
 * limit, the digest of the uncompressed bytes, and a reader that gives up early
 * while a writer still feeds the pipe. */
#include <criterion/criterion.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "img/unpack.h"

#define BIG (9u << 20) /* more than the ring holds: the producer must wait */

static unsigned char *
make_data(size_t n)
{
    unsigned char *d = malloc(n);
    uint32_t x = 12345;
    cr_assert_not_null(d);
    for (size_t i = 0; i < n; i++) {
        /* Half text-like and compressible, half noise. */
        if ((i >> 16) & 1) {
            x = x * 1103515245u + 12345u;
            d[i] = (unsigned char)(x >> 16);
        } else {
            d[i] = (unsigned char)("layer data "[i % 11]);
        }
    }
    return d;
}

static size_t
gzip(const unsigned char *in, size_t n, unsigned char **ret)
{
    struct isal_zstream z;
    size_t cap = n + n / 2 + 1024;
    unsigned char *out = malloc(cap);

    cr_assert_not_null(out);
    isal_deflate_init(&z);
    z.gzip_flag = IGZIP_GZIP;
    z.end_of_stream = 1;
    z.flush = NO_FLUSH;
    z.next_in = (uint8_t *)in;
    z.avail_in = (uint32_t)n;
    z.next_out = out;
    z.avail_out = (uint32_t)cap;
    cr_assert_eq(isal_deflate_stateless(&z), COMP_OK);
    *ret = out;
    return z.total_out;
}

static int
memfd_with(const void *a, size_t na, const void *b, size_t nb)
{
    int fd = memfd_create("layer", MFD_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, a, na), (ssize_t)na);
    if (nb)
        cr_assert_eq(write(fd, b, nb), (ssize_t)nb);
    cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static void
digest_of(const void *d, size_t n, char out[IMG_DIGEST_MAX])
{
    struct img_hasher h;
    cr_assert_eq(img_hasher_init(&h, "sha256", NULL), 0);
    img_hasher_update(&h, d, n);
    img_hasher_final(&h, out);
    img_hasher_done(&h);
}

/* Reads the whole stream; returns -1 with *err on failure. */
static int
slurp(int fd, uint64_t max, unsigned char **ret, size_t *ret_len, char diff[IMG_DIGEST_MAX],
      struct cm_error **err)
{
    struct img_layer_stream *s = img_layer_stream_start(fd, max, err);
    size_t len = 0, cap = 1 << 20;
    unsigned char *all = malloc(cap);
    const void *buf;
    ssize_t n;
    int r = 0;

    cr_assert_not_null(s, "%s", *err ? (*err)->msg : "");
    while ((n = img_layer_stream_read(s, &buf, err)) > 0) {
        while (len + (size_t)n > cap)
            all = realloc(all, cap *= 2);
        memcpy(all + len, buf, (size_t)n);
        len += (size_t)n;
    }
    if (n < 0 || img_layer_stream_finish(s, diff, err) < 0)
        r = -1;
    img_layer_stream_free(s);
    *ret = all;
    *ret_len = len;
    return r;
}

static void
expect_bytes(int fd, const unsigned char *want, size_t n)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free unsigned char *got = NULL;
    size_t len;
    char diff[IMG_DIGEST_MAX], want_diff[IMG_DIGEST_MAX];

    cr_assert_eq(slurp(fd, 0, &got, &len, diff, &err), 0, "%s", err ? err->msg : "");
    cr_assert_eq(len, n, "%zu bytes, expected %zu", len, n);
    cr_assert(!memcmp(got, want, n));
    digest_of(want, n, want_diff);
    cr_assert_str_eq(diff, want_diff);
}

static void
expect_error(int fd, uint64_t max, const char *what)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free unsigned char *got = NULL;
    size_t len;
    char diff[IMG_DIGEST_MAX];

    cr_assert_eq(slurp(fd, max, &got, &len, diff, &err), -1, "accepted, wanted '%s'", what);
    cr_assert_not_null(strstr(err->msg, what), "'%s' does not say '%s'", err->msg, what);
}

Test(img_layer_stream, gzip_round_trip)
{
    cleanup_free unsigned char *d = make_data(BIG);
    cleanup_free unsigned char *z = NULL;
    size_t nz = gzip(d, BIG, &z);
    cleanup_close int fd = memfd_with(z, nz, NULL, 0);
    expect_bytes(fd, d, BIG);
}

Test(img_layer_stream, gzip_members_and_trailing_bytes)
{
    cleanup_free unsigned char *d = make_data(3 << 20);
    cleanup_free unsigned char *z1 = NULL;
    cleanup_free unsigned char *z2 = NULL;
    /* Two members: the output is both halves, one digest over all of it. */
    size_t n1 = gzip(d, 1 << 20, &z1), n2 = gzip(d + (1 << 20), 2 << 20, &z2);
    cleanup_close int fd = memfd_with(z1, n1, z2, n2);
    expect_bytes(fd, d, 3 << 20);
    /* Bytes after the last member that are no gzip header are ignored. */
    cleanup_close int fd2 = memfd_with(z1, n1, "\0\0\0\0garbage", 11);
    expect_bytes(fd2, d, 1 << 20);
}

Test(img_layer_stream, gzip_damage_refused)
{
    cleanup_free unsigned char *d = make_data(1 << 20);
    cleanup_free unsigned char *z = NULL;
    size_t nz = gzip(d, 1 << 20, &z);
    cleanup_close int cut = memfd_with(z, nz / 2, NULL, 0);
    expect_error(cut, 0, "truncated");
    z[nz - 6] ^= 0x55; /* the CRC32 in the trailer */
    cleanup_close int bad = memfd_with(z, nz, NULL, 0);
    expect_error(bad, 0, "checksum");
    memset(z + 20, 0xff, 64);
    cleanup_close int junk = memfd_with(z, nz, NULL, 0);
    expect_error(junk, 0, "decompression");
}

Test(img_layer_stream, plain_and_empty)
{
    cleanup_free unsigned char *d = make_data(BIG);
    cleanup_close int fd = memfd_with(d, BIG, NULL, 0);
    expect_bytes(fd, d, BIG);
    cleanup_close int empty = memfd_create("empty", MFD_CLOEXEC);
    expect_error(empty, 0, "empty");
}

Test(img_layer_stream, size_limit)
{
    cleanup_free unsigned char *d = calloc(1, BIG);
    cleanup_free unsigned char *z = NULL;
    size_t nz = gzip(d, BIG, &z);
    cleanup_close int fd = memfd_with(z, nz, NULL, 0);
    cr_assert_lt(nz, 1u << 20);
    expect_error(fd, 2u << 20, "limit");
    cleanup_close int plain = memfd_with(d, BIG, NULL, 0);
    expect_error(plain, BIG - 1, "limit");
}

struct writer {
    int fd;
    const unsigned char *d;
    size_t n;
    ssize_t written;
};

static void *
writer_main(void *ud)
{
    struct writer *w = ud;
    size_t off = 0;
    while (off < w->n) {
        ssize_t k = write(w->fd, w->d + off, w->n - off);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    w->written = (ssize_t)off;
    close(w->fd);
    return NULL;
}

Test(img_layer_stream, reader_gives_up_early)
{
    cleanup_free unsigned char *d = make_data(BIG);
    cleanup_free unsigned char *z = NULL;
    size_t nz = gzip(d, BIG, &z);
    int p[2];
    pthread_t th;
    const void *buf;
    struct cm_error *err = NULL;

    cr_assert_eq(pipe(p), 0);
    struct writer w = {.fd = p[1], .d = z, .n = nz};
    cr_assert_eq(pthread_create(&th, NULL, writer_main, &w), 0);
    struct img_layer_stream *s = img_layer_stream_start(p[0], 0, &err);
    cr_assert_not_null(s);
    cr_assert_gt(img_layer_stream_read(s, &buf, &err), 0);
    /* Freeing early must still let the writer finish (the pipe is drained). */
    img_layer_stream_free(s);
    pthread_join(th, NULL);
    cr_assert_eq(w.written, (ssize_t)nz);
    close(p[0]);
}
