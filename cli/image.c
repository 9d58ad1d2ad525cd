/* SPDX-License-Identifier: Apache-2.0 */
/* `skiff image pull|unpack|ls|inspect|rm|prune`. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cm/cleanup.h"
#include "cm/json.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "img/digest.h"
#include "img/rootfs.h"
#include "img/store.h"

#define CONFIG_DEFAULT "/etc/skiff/config.json"
#define CONFIG_MAX (1u << 20)

static const char *arg_store;
static char **arg_insecure;
static size_t arg_n_insecure;
static const char *arg_platform;
static const char *arg_certs_dir;
static const char *arg_authfile;
static char *arg_user, *arg_pass;
static const char *arg_config;
static bool arg_quiet;
static bool arg_json;
static int arg_jobs;
static unsigned long long arg_max_layer;
static char *cfg_store; /* from the config file */
static const char *arg_default_registry;

enum {
    OPT_STORE = 1000,
    OPT_INSECURE,
    OPT_PLATFORM,
    OPT_CERTS,
    OPT_AUTHFILE,
    OPT_CREDS,
    OPT_CONFIG,
    OPT_OUTPUT,
    OPT_JOBS,
    OPT_MAX_LAYER,
    OPT_DEFAULT_REGISTRY,
};

static const struct option options[] = {
    {"store", required_argument, NULL, OPT_STORE},
    {"insecure-registry", required_argument, NULL, OPT_INSECURE},
    {"platform", required_argument, NULL, OPT_PLATFORM},
    {"certs-dir", required_argument, NULL, OPT_CERTS},
    {"authfile", required_argument, NULL, OPT_AUTHFILE},
    {"creds", required_argument, NULL, OPT_CREDS},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"max-layer-size", required_argument, NULL, OPT_MAX_LAYER},
    {"default-registry", required_argument, NULL, OPT_DEFAULT_REGISTRY},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: skiff image pull [OPTIONS] REF\n"
            "       skiff image unpack [OPTIONS] REF ROOTFS\n"
            "       skiff image ls|inspect REF|rm REF...|prune [OPTIONS]\n"
            "       skiff image mount REF DIR   (overlay at DIR/rootfs)  |  umount DIR\n\n"
            "options:\n"
            "  --store DIR                image store (default %s)\n"
            "  --insecure-registry HOST:PORT   use plain HTTP for this registry (repeatable)\n"
            "  --platform OS/ARCH[/VARIANT]    platform to pull (default: this host)\n"
            "  --certs-dir DIR            CA directory laid out as DIR/HOST:PORT/ca.crt\n"
            "  --authfile FILE            Docker-style config.json with \"auths\"\n"
            "  --creds USER:PASSWORD      registry credentials\n"
            "  --config FILE              skiff config (default %s)\n"
            "  --jobs N                   layers pulled in parallel (default 3)\n"
            "  --max-layer-size BYTES     uncompressed size limit per layer (default 64 GiB)\n"
            "  --default-registry HOST    registry for references without one (docker.io)\n"
            "  -q, --quiet                no progress output\n"
            "  --output json              machine-readable output\n",
            IMG_STORE_DEFAULT, CONFIG_DEFAULT);
}

static void
add_insecure(const char *h)
{
    arg_insecure = xrealloc(arg_insecure, (arg_n_insecure + 2) * sizeof(char *));
    arg_insecure[arg_n_insecure++] = xstrdup(h);
    arg_insecure[arg_n_insecure] = NULL;
}

/* Options may also come from the config file: {"images": {"store": DIR,
 * "insecure_registries": [...], "certs_dir": DIR, "auth_file": FILE}}. */
static int
load_config(void)
{
    const char *path = arg_config ? arg_config : CONFIG_DEFAULT;
    json_auto_t *j = NULL;
    cleanup_error struct cm_error *err = NULL;
    json_t *im = NULL;
    cleanup_strv char **ins = NULL;
    char *s = NULL;

    if (!arg_config && access(path, F_OK) < 0)
        return 0;
    if (cm_json_load_file(path, CONFIG_MAX, &j, &err) < 0 ||
        cm_json_get_object(j, "", "images", false, &im, &err) < 0)
        goto fail;
    if (!im)
        return 0;
    if (cm_json_dup_string(im, "images", "store", false, &cfg_store, &err) < 0 ||
        cm_json_get_strv(im, "images", "insecure_registries", false, &ins, &err) < 0)
        goto fail;
    for (char **p = ins; p && *p; p++)
        add_insecure(*p);
    if (!arg_certs_dir && cm_json_dup_string(im, "images", "certs_dir", false, &s, &err) == 0 && s)
        arg_certs_dir = s; /* lives until exit */
    s = NULL;
    if (!arg_authfile && cm_json_dup_string(im, "images", "auth_file", false, &s, &err) == 0 && s)
        arg_authfile = s;
    s = NULL;
    if (!arg_default_registry &&
        cm_json_dup_string(im, "images", "default_registry", false, &s, &err) == 0 && s)
        arg_default_registry = s;
    if (err)
        goto fail;
    return 0;
fail:
    cm_log_error("config: %s", err->msg);
    return -1;
}

static int
parse_opts(int argc, char **argv)
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+qh", options, NULL)) != -1) {
        switch (c) {
        case OPT_STORE:
            arg_store = optarg;
            break;
        case OPT_INSECURE:
            add_insecure(optarg);
            break;
        case OPT_PLATFORM:
            arg_platform = optarg;
            break;
        case OPT_CERTS:
            arg_certs_dir = optarg;
            break;
        case OPT_AUTHFILE:
            arg_authfile = optarg;
            break;
        case OPT_CREDS: {
            char *colon = strchr(optarg, ':');
            if (!colon) {
                cm_log_error("--creds: USER:PASSWORD expected");
                return -1;
            }
            arg_user = xstrndup(optarg, (size_t)(colon - optarg));
            arg_pass = xstrdup(colon + 1);
            break;
        }
        case OPT_CONFIG:
            arg_config = optarg;
            break;
        case OPT_OUTPUT:
            if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
                cm_log_error("--output: 'json' or 'text' expected");
                return -1;
            }
            arg_json = !strcmp(optarg, "json");
            break;
        case OPT_JOBS:
            arg_jobs = atoi(optarg);
            if (arg_jobs < 1 || arg_jobs > 32) {
                cm_log_error("--jobs: 1..32 expected");
                return -1;
            }
            break;
        case OPT_DEFAULT_REGISTRY:
            arg_default_registry = optarg;
            break;
        case OPT_MAX_LAYER: {
            char *end;
            arg_max_layer = strtoull(optarg, &end, 10);
            if (*end || arg_max_layer == 0) {
                cm_log_error("--max-layer-size: a positive number of bytes expected");
                return -1;
            }
            break;
        }
        case 'q':
            arg_quiet = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    return load_config();
}

static struct img_store *
open_store(void)
{
    struct img_store *s = NULL;
    cleanup_error struct cm_error *err = NULL;
    if (img_store_open(arg_store ? arg_store : cfg_store, &s, &err) < 0) {
        cm_log_error("%s", err->msg);
        return NULL;
    }
    return s;
}

/* --- progress --------------------------------------------------------------- */

struct bar {
    enum img_layer_state state;
    uint64_t done;
    int64_t total;
    char digest[32];
    bool seen;
};

struct progress {
    pthread_mutex_t lock;
    bool tty;
    struct bar *bars;
    size_t n;
    bool drawn;
    struct timespec start, last;
};

static double
since(const struct timespec *a)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - a->tv_sec) + (double)(now.tv_nsec - a->tv_nsec) / 1e9;
}

static void
human(char *buf, size_t n, double v)
{
    if (v >= 1e9)
        snprintf(buf, n, "%.2f GB", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, n, "%.1f MB", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, n, "%.1f kB", v / 1e3);
    else
        snprintf(buf, n, "%.0f B", v);
}

static void
draw(struct progress *pg)
{
    double t = since(&pg->start);
    if (pg->drawn)
        fprintf(stderr, "\033[%zuA", pg->n);
    for (size_t i = 0; i < pg->n; i++) {
        struct bar *b = &pg->bars[i];
        char done[32], total[32], speed[32];
        int width = 30, fill = 0;
        human(done, sizeof(done), (double)b->done);
        human(total, sizeof(total), (double)(b->total > 0 ? b->total : 0));
        human(speed, sizeof(speed), t > 0 ? (double)b->done / t : 0);
        if (b->total > 0)
            fill = (int)((double)b->done * width / (double)b->total);
        if (b->state == IMG_LAYER_DONE || b->state == IMG_LAYER_EXISTS)
            fill = width;
        fprintf(stderr, "\r\033[K%-14s [", b->digest);
        for (int k = 0; k < width; k++)
            fputc(k < fill ? '=' : ' ', stderr);
        fprintf(stderr, "] ");
        switch (b->state) {
        case IMG_LAYER_WAITING:
            fprintf(stderr, "waiting\n");
            break;
        case IMG_LAYER_DOWNLOADING:
            fprintf(stderr, "%s / %s  %s/s\n", done, total, speed);
            break;
        case IMG_LAYER_EXISTS:
            fprintf(stderr, "already stored\n");
            break;
        case IMG_LAYER_DONE:
            fprintf(stderr, "done %s\n", total);
            break;
        }
    }
    pg->drawn = true;
    fflush(stderr);
}

static void
on_progress(void *ud, const struct img_progress *p)
{
    struct progress *pg = ud;
    struct bar *b;
    bool changed;

    pthread_mutex_lock(&pg->lock);
    if (!pg->bars) {
        pg->n = p->n_layers;
        pg->bars = xcalloc(pg->n ? pg->n : 1, sizeof(*pg->bars));
        for (size_t i = 0; i < pg->n; i++)
            snprintf(pg->bars[i].digest, sizeof(pg->bars[i].digest), "layer %zu", i + 1);
    }
    b = &pg->bars[p->layer];
    changed = b->state != p->state || !b->seen;
    b->seen = true;
    b->state = p->state;
    b->done = p->done;
    b->total = p->total;
    snprintf(b->digest, sizeof(b->digest), "%.12s", img_digest_hex(p->digest));
    if (pg->tty) {
        if (changed || since(&pg->last) > 0.1) {
            draw(pg);
            clock_gettime(CLOCK_MONOTONIC, &pg->last);
        }
    } else if (changed && p->state != IMG_LAYER_WAITING && p->state != IMG_LAYER_DOWNLOADING) {
        char total[32];
        human(total, sizeof(total), (double)(p->total > 0 ? p->total : 0));
        fprintf(stderr, "layer %zu/%zu %s: %s\n", p->layer + 1, p->n_layers, p->digest,
                p->state == IMG_LAYER_EXISTS ? "already stored" : total);
    } else if (changed && p->state == IMG_LAYER_DOWNLOADING) {
        fprintf(stderr, "layer %zu/%zu %s: pulling\n", p->layer + 1, p->n_layers, p->digest);
    }
    pthread_mutex_unlock(&pg->lock);
}

static int
do_pull(struct img_store *s, const char *ref, struct img_image **ret, double *ret_secs)
{
    cleanup_error struct cm_error *err = NULL;
    struct progress pg = {.tty = isatty(2) && !arg_json};
    struct img_pull_opts o = {
        .registry = {.insecure = arg_insecure,
                     .certs_dir = arg_certs_dir,
                     .auth_file = arg_authfile,
                     .username = arg_user,
                     .password = arg_pass},
        .platform = arg_platform,
        .default_registry = arg_default_registry,
        .jobs = arg_jobs,
        .max_layer_bytes = arg_max_layer,
        .progress = arg_quiet || arg_json ? NULL : on_progress,
        .progress_userdata = &pg,
    };
    int r;

    pthread_mutex_init(&pg.lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &pg.start);
    pg.last = pg.start;
    r = img_pull(s, ref, &o, ret, &err);
    if (pg.tty && pg.bars)
        draw(&pg);
    *ret_secs = since(&pg.start);
    free(pg.bars);
    pthread_mutex_destroy(&pg.lock);
    if (r < 0) {
        cm_log_error("%s", err->msg);
        return -1;
    }
    return 0;
}

/* A failed library call: its message, exit status 1. */
static int
failed(const struct cm_error *err)
{
    cm_log_error("%s", err->msg);
    return 1;
}

/* The subcommands get the open store (NULL for umount) and their operands. */
static int
cmd_pull(struct img_store *s, char **args)
{
    cleanup_img_image struct img_image *img = NULL;
    double secs = 0;

    if (do_pull(s, args[0], &img, &secs) < 0)
        return 1;
    if (arg_json) {
        json_auto_t *j = img_image_to_json(img);
        json_object_set_new(j, "seconds", json_real(secs));
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
    } else if (!arg_quiet) {
        char size[32];
        human(size, sizeof(size), (double)img->size);
        printf("%s %s (%zu layers, %s, %.2f s)\n", img->name, img->digest, img->n_layers, size,
               secs);
    } else {
        printf("%s\n", img->digest);
    }
    return 0;
}

static int
cmd_unpack(struct img_store *s, char **args)
{
    cleanup_img_image struct img_image *img = NULL;
    cleanup_error struct cm_error *err = NULL;

    if (img_store_get(s, args[0], arg_default_registry, &img, &err) < 0) {
        double secs;
        if (err->code != ENOENT)
            return failed(err);
        cm_error_free(&err);
        if (do_pull(s, args[0], &img, &secs) < 0)
            return 1;
    }
    if (img_rootfs_unpack(s, img, args[1], &err) < 0)
        return failed(err);
    if (!arg_quiet && !arg_json)
        printf("unpacked %s into %s\n", img->name, args[1]);
    return 0;
}

/* `image mount REF DIR`: DIR/rootfs becomes an overlay of the image's layers
 * with DIR/upper and DIR/work (what the agent does for a container). */
static int
cmd_mount(struct img_store *s, char **args)
{
    cleanup_img_image struct img_image *img = NULL;
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *upper = xasprintf("%s/upper", args[1]);
    cleanup_free char *work = xasprintf("%s/work", args[1]);
    cleanup_free char *target = xasprintf("%s/rootfs", args[1]);
    bool copied = false;

    if (img_store_get(s, args[0], arg_default_registry, &img, &err) < 0 ||
        img_rootfs_mount(s, img, upper, work, target, &copied, &err) < 0)
        return failed(err);
    if (!arg_quiet)
        printf("%s (%s)\n", target, copied ? "copy" : "overlay");
    return 0;
}

static int
cmd_umount(struct img_store *s, char **args)
{
    cleanup_free char *target = xasprintf("%s/rootfs", args[0]);

    (void)s;
    if (umount2(target, MNT_DETACH) < 0) {
        cm_log_error("umount '%s': %m", target);
        return 1;
    }
    return 0;
}

static int
cmd_ls(struct img_store *s, char **args)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_image **v = NULL;
    size_t n = 0;

    (void)args;
    if (img_store_list(s, &v, &n, &err) < 0)
        return failed(err);
    if (arg_json) {
        json_auto_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, img_image_to_json(v[i]));
        json_dumpf(a, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        printf("%-50s %-14s %-8s %10s\n", "NAME", "DIGEST", "LAYERS", "SIZE");
        for (size_t i = 0; i < n; i++) {
            char size[32];
            human(size, sizeof(size), (double)v[i]->size);
            printf("%-50s %-14.12s %-8zu %10s\n", v[i]->name, img_digest_hex(v[i]->digest),
                   v[i]->n_layers, size);
        }
    }
    img_image_list_free(v, n);
    return 0;
}

static int
cmd_inspect(struct img_store *s, char **args)
{
    cleanup_img_image struct img_image *img = NULL;
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *cbuf = NULL;
    json_auto_t *j = NULL;
    json_t *cfg = NULL;
    size_t clen = 0;

    if (img_store_get(s, args[0], arg_default_registry, &img, &err) < 0 ||
        img_store_read_blob(s, img->config, 8u << 20, &cbuf, &clen, &err) < 0 ||
        cm_json_loadb(cbuf, clen, "config", &cfg, &err) < 0)
        return failed(err);
    j = img_image_to_json(img);
    json_object_set_new(j, "image_config", cfg);
    json_dumpf(j, stdout, JSON_INDENT(2));
    putchar('\n');
    return 0;
}

static int
cmd_rm(struct img_store *s, char **args)
{
    int rc = 0;

    for (; *args; args++) {
        cleanup_error struct cm_error *err = NULL;
        if (img_store_remove(s, *args, arg_default_registry, &err) < 0)
            rc = failed(err);
        else if (!arg_quiet)
            printf("untagged %s\n", *args);
    }
    return rc;
}

static int
cmd_prune(struct img_store *s, char **args)
{
    cleanup_error struct cm_error *err = NULL;
    uint64_t removed = 0;

    (void)args;
    if (img_store_prune(s, NULL, &removed, &err) < 0)
        return failed(err);
    if (!arg_quiet)
        printf("removed %llu blobs and snapshots\n", (unsigned long long)removed);
    return 0;
}

int
cli_image(int argc, char **argv)
{
    /* min..max operands after the options (max -1: any number); store: the
     * subcommand works on the image store, opened here. */
    static const struct {
        const char *name;
        int (*run)(struct img_store *, char **);
        int min, max;
        bool store;
    } subs[] = {
        {"pull", cmd_pull, 1, 1, true},       {"unpack", cmd_unpack, 2, 2, true},
        {"ls", cmd_ls, 0, -1, true},          {"list", cmd_ls, 0, -1, true},
        {"inspect", cmd_inspect, 1, 1, true}, {"rm", cmd_rm, 1, -1, true},
        {"prune", cmd_prune, 0, -1, true},    {"mount", cmd_mount, 2, 2, true},
        {"umount", cmd_umount, 1, 1, false},
    };
    int rc = 2;

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        struct img_store *s = NULL;
        int n;

        if (strcmp(argv[1], subs[i].name))
            continue;
        if (parse_opts(argc - 1, argv + 1) < 0)
            return 2;
        n = argc - 1 - optind;
        if (n < subs[i].min || (subs[i].max >= 0 && n > subs[i].max)) {
            usage(stderr);
            goto out;
        }
        rc = 1;
        if (subs[i].store && !(s = open_store()))
            goto out;
        rc = subs[i].run(s, argv + 1 + optind);
        img_store_free(s);
        goto out;
    }
    fprintf(stderr, "skiff image: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
out:
    cm_strv_free(arg_insecure);
    arg_insecure = NULL;
    arg_n_insecure = 0;
    free(arg_user);
    free(arg_pass);
    free(cfg_store);
    return rc;
}
