/* SPDX-License-Identifier: Apache-2.0 */
/* The decompression half of layer extraction, on its own thread: it reads the
 * compressed layer, inflates it (gzip with ISA-L, about 2.5x faster than zlib;
 * zstd through libarchive; plain tar as is), hashes the tar stream (diff_id)
 * and caps its size, handing 1 MiB chunks to the tar reader through a small
 * ring. Decompression and extraction of one layer thus run on two cores, and
 * the tar reader gets the chunks without a copy. */
#include "img/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"

#define SLOTS 4
#define CHUNK (1u << 20)
#define IN_BUF (256u << 10)

struct img_layer_stream {
    int in_fd;
    uint64_t max, total;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    char *slot[SLOTS];
    size_t len[SLOTS];
    size_t head, tail, count; /* count includes the slot the reader holds */
    bool held, eof, cancel;
    struct cm_error *err; /* the producer's, set before eof */
    struct img_hasher diff;
    char digest[IMG_DIGEST_MAX];
    /* producer input */
    unsigned char *in;
    size_t in_len, in_off;
    bool in_eof;
};

static int
in_read(struct img_layer_stream *s, struct cm_error **err)
{
    /* Keep unconsumed bytes: gzip member boundaries may straddle reads. */
    if (s->in_off > 0) {
        memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
        s->in_len -= s->in_off;
        s->in_off = 0;
    }
    while (s->in_len < IN_BUF) {
        ssize_t n = read(s->in_fd, s->in + s->in_len, IN_BUF - s->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cm_error_errno(err, "read layer");
        if (n == 0)
            s->in_eof = true;
        s->in_len += (size_t)n;
        break;
    }
    return 0;
}

/* The next free slot, or NULL once the reader has cancelled. */
static char *
slot_get(struct img_layer_stream *s)
{
    char *p;
    bool cancel;

    pthread_mutex_lock(&s->mu);
    while (s->count == SLOTS && !s->cancel)
        pthread_cond_wait(&s->can_put, &s->mu);
    cancel = s->cancel;
    p = s->slot[s->head];
    pthread_mutex_unlock(&s->mu);
    if (cancel)
        return NULL;
    /* Slots are allocated on first use: most layers are small. Only this
     * thread touches a slot before slot_put() publishes it. */
    if (!p)
        p = s->slot[s->head] = xmalloc(CHUNK);
    return p;
}

static int
slot_put(struct img_layer_stream *s, size_t len, struct cm_error **err)
{
    if (len == 0)
        return 0;
    s->total += len;
    if (s->total > s->max)
        return cm_error_set(err, EFBIG,
                            "uncompressed size exceeds the limit of %llu bytes (possible "
                            "decompression bomb)",
                            (unsigned long long)s->max);
    img_hasher_update(&s->diff, s->slot[s->head], len);
    pthread_mutex_lock(&s->mu);
    s->len[s->head] = len;
    s->head = (s->head + 1) % SLOTS;
    s->count++;
    pthread_cond_signal(&s->can_get);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static const char *
isal_error(int r)
{
    switch (r) {
    case ISAL_INVALID_BLOCK:
        return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
        return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
        return "invalid deflate distance";
    case ISAL_INVALID_WRAPPER:
        return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
        return "unsupported gzip method";
    case ISAL_INCORRECT_CHECKSUM:
        return "gzip checksum mismatch";
    case ISAL_NEED_DICT:
        return "gzip stream needs a dictionary";
    default:
        return "corrupt gzip stream";
    }
}

/* gzip members one after another (RFC 1952 allows several); whatever follows
 * the last member and is not a gzip header is ignored, as libarchive does. */
static int
run_gzip(struct img_layer_stream *s, struct cm_error **err)
{
    cleanup_free struct inflate_state *st = xmalloc(sizeof(*st));
    char *out = slot_get(s);
    size_t out_len = 0;
    int stalls = 0;

    isal_inflate_init(st);
    st->crc_flag = ISAL_GZIP;
    while (out) {
        if (s->in_off == s->in_len && !s->in_eof && in_read(s, err) < 0)
            return -1;
        st->next_in = s->in + s->in_off;
        st->avail_in = (uint32_t)(s->in_len - s->in_off);
        st->next_out = (uint8_t *)out + out_len;
        st->avail_out = (uint32_t)(CHUNK - out_len);
        int r = isal_inflate(st);
        size_t used = (size_t)(st->next_in - (s->in + s->in_off));
        size_t made = CHUNK - out_len - st->avail_out;
        if (r != ISAL_DECOMP_OK)
            return cm_error_set(err, EIO, "decompression: %s", isal_error(r));
        s->in_off += used;
        out_len += made;
        if (out_len == CHUNK) {
            if (slot_put(s, out_len, err) < 0)
                return -1;
            out = slot_get(s);
            out_len = 0;
        }
        if (st->block_state == ISAL_BLOCK_FINISH) {
            /* End of a member: another one follows only if a gzip magic does. */
            while (s->in_len - s->in_off < 2 && !s->in_eof)
                if (in_read(s, err) < 0)
                    return -1;
            if (s->in_len - s->in_off < 2 || s->in[s->in_off] != 0x1f ||
                s->in[s->in_off + 1] != 0x8b)
                break;
            isal_inflate_reset(st);
            st->crc_flag = ISAL_GZIP;
            continue;
        }
        if (used || made) {
            stalls = 0;
            continue;
        }
        /* No progress: the decoder wants more input than there is. */
        if (s->in_eof)
            return cm_error_set(err, EIO, "decompression: truncated gzip stream");
        if (++stalls > 2)
            return cm_error_set(err, EIO, "decompression: gzip stream does not progress");
        if (in_read(s, err) < 0)
            return -1;
    }
    if (out && slot_put(s, out_len, err) < 0)
        return -1;
    return 0;
}

static la_ssize_t
raw_read_cb(struct archive *a, void *ud, const void **buf)
{
    struct img_layer_stream *s = ud;
    struct cm_error *err = NULL;

    if (s->in_off == s->in_len) {
        if (s->in_eof)
            return 0;
        if (in_read(s, &err) < 0) {
            archive_set_error(a, EIO, "%s", err->msg);
            cm_error_free(&err);
            return -1;
        }
    }
    *buf = s->in + s->in_off;
    la_ssize_t n = (la_ssize_t)(s->in_len - s->in_off);
    s->in_off = s->in_len;
    return n;
}

static void
archive_freep(struct archive **a)
{
    if (*a)
        archive_read_free(*a);
}

static int
run_zstd(struct img_layer_stream *s, struct cm_error **err)
{
    __attribute__((cleanup(archive_freep))) struct archive *dec = archive_read_new();
    struct archive_entry *e;
    char *out;

    if (!dec)
        return cm_error_set(err, ENOMEM, "libarchive");
    archive_read_support_filter_zstd(dec);
    archive_read_support_format_raw(dec);
    if (archive_read_open(dec, s, NULL, raw_read_cb, NULL) != ARCHIVE_OK ||
        archive_read_next_header(dec, &e) != ARCHIVE_OK)
        goto fail;
    while ((out = slot_get(s))) {
        size_t out_len = 0;
        while (out_len < CHUNK) {
            la_ssize_t n = archive_read_data(dec, out + out_len, CHUNK - out_len);
            if (n < 0)
                goto fail;
            if (n == 0)
                break;
            out_len += (size_t)n;
        }
        if (slot_put(s, out_len, err) < 0)
            return -1;
        if (out_len < CHUNK)
            break;
    }
    return 0;
fail:
    return cm_error_set(err, EIO, "decompression: %s",
                        archive_error_string(dec) ? archive_error_string(dec)
                                                  : "cannot read the zstd stream");
}

static int
run_plain(struct img_layer_stream *s, struct cm_error **err)
{
    char *out;

    while ((out = slot_get(s))) {
        size_t out_len = 0;
        if (s->in_off < s->in_len) {
            out_len = s->in_len - s->in_off;
            memcpy(out, s->in + s->in_off, out_len);
            s->in_off = s->in_len;
        }
        while (out_len < CHUNK) {
            ssize_t n = read(s->in_fd, out + out_len, CHUNK - out_len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return cm_error_errno(err, "read layer");
            if (n == 0) {
                s->in_eof = true;
                break;
            }
            out_len += (size_t)n;
        }
        if (slot_put(s, out_len, err) < 0)
            return -1;
        if (s->in_eof)
            break;
    }
    return 0;
}

static void *
producer(void *ud)
{
    struct img_layer_stream *s = ud;
    struct cm_error *err = NULL;
    int r = 0;

    while (s->in_len < 4 && !s->in_eof && r == 0)
        r = in_read(s, &err);
    if (r < 0) {
    } else if (s->in_len == 0) {
        r = cm_error_set(&err, EIO, "empty layer stream");
    } else if (s->in_len >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
        r = run_gzip(s, &err);
    } else if (s->in_len >= 4 && !memcmp(s->in, "\x28\xb5\x2f\xfd", 4)) {
        r = run_zstd(s, &err);
    } else {
        r = run_plain(s, &err);
    }
    if (r == 0)
        img_hasher_final(&s->diff, s->digest);
    /* Whoever feeds in_fd (a download thread) must never block on a full pipe. */
    for (;;) {
        ssize_t n = read(s->in_fd, s->in, IN_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
    }
    pthread_mutex_lock(&s->mu);
    s->err = err;
    s->eof = true;
    pthread_cond_broadcast(&s->can_get);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Frees s and what it holds, its producer thread gone or never started. */
static void
stream_destroy(struct img_layer_stream *s)
{
    cm_error_free(&s->err);
    img_hasher_done(&s->diff);
    pthread_cond_destroy(&s->can_get);
    pthread_cond_destroy(&s->can_put);
    pthread_mutex_destroy(&s->mu);
    for (size_t i = 0; i < SLOTS; i++)
        free(s->slot[i]);
    free(s->in);
    free(s);
}

struct img_layer_stream *
img_layer_stream_start(int in_fd, uint64_t max_bytes, struct cm_error **err)
{
    struct img_layer_stream *s = xcalloc(1, sizeof(*s));

    s->in_fd = in_fd;
    s->max = max_bytes ? max_bytes : IMG_LAYER_MAX_DEFAULT;
    s->in = xmalloc(IN_BUF);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->can_put, NULL);
    pthread_cond_init(&s->can_get, NULL);
    if (img_hasher_init(&s->diff, "sha256", err) < 0)
        goto fail;
    if (pthread_create(&s->thread, NULL, producer, s) != 0) {
        cm_error_set(err, EAGAIN, "cannot start the decompression thread");
        goto fail;
    }
    return s;
fail:
    stream_destroy(s);
    return NULL;
}

ssize_t
img_layer_stream_read(struct img_layer_stream *s, const void **buf, struct cm_error **err)
{
    ssize_t n;

    pthread_mutex_lock(&s->mu);
    if (s->held) {
        s->held = false;
        s->tail = (s->tail + 1) % SLOTS;
        s->count--;
        pthread_cond_signal(&s->can_put);
    }
    while (s->count == 0 && !s->eof)
        pthread_cond_wait(&s->can_get, &s->mu);
    if (s->count > 0) {
        s->held = true;
        *buf = s->slot[s->tail];
        n = (ssize_t)s->len[s->tail];
    } else if (s->err) {
        n = cm_error_set(err, s->err->code, "%s", s->err->msg);
    } else {
        n = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

int
img_layer_stream_finish(struct img_layer_stream *s, char ret_diff_id[IMG_DIGEST_MAX],
                        struct cm_error **err)
{
    const void *buf;
    ssize_t n;

    /* The diff_id covers the whole stream, padding after the tar end included. */
    while ((n = img_layer_stream_read(s, &buf, err)) > 0) {
    }
    if (n < 0)
        return -1;
    memcpy(ret_diff_id, s->digest, IMG_DIGEST_MAX);
    return 0;
}

void
img_layer_stream_free(struct img_layer_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->cancel = true;
    pthread_cond_broadcast(&s->can_put);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    stream_destroy(s);
}
