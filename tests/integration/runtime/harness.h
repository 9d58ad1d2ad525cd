/* SPDX-License-Identifier: Apache-2.0 */
/* Shared set-up of the runtime integration tests: a bundle whose rootfs holds
 * the static init helper, a private --root, the runtime run as a subprocess,
 * and clean-up of every container, cgroup and directory even on failure. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct harness {
    char dir[64];     /* /tmp/rt-core-XXXXXX: bundle + root live here */
    char bundle[128]; /* dir/bundle */
    char rootfs[160]; /* dir/bundle/rootfs */
    char root[128];   /* dir/root (--root) */
    json_t *config;   /* edited by the test, written by h_write_config */
    char ids[8][64];  /* containers to delete -f at teardown */
    int n_ids;
};

extern struct harness H;

/* Criterion .init/.fini of every suite: skips unless root and the runtime works. */
void h_setup(void);
void h_teardown(void);

/* The runtime's path: $SKIFF_RUNTIME, else OUT/bin (OUT=build|build/asan...). */
const char *h_runtime(void);
/* Sets process.args from a NULL-terminated list (args[0] "/init" implied when NULL). */
void h_args(const char *first, ...);
void h_write_config(void);
/* A container id unique to this test, registered for teardown. */
const char *h_id(const char *suffix);
/* Runs the runtime with --root H.root and the given args (NULL-terminated);
 * captures stdout/stderr (owned by the harness until the next call). Returns
 * the exit status (128+sig when killed). extra_fd >= 0 is left open (not
 * CLOEXEC) in the runtime. */
int h_rt(const char *arg, ...);
int h_rt_fd(int extra_fd, const char *cwd, const char *arg, ...);
extern char *h_out;
extern char *h_err;
/* Status string from `state` ("" when it fails). */
const char *h_status(const char *id);
/* True when some path in the cgroup v1 pids hierarchy (or v2) for skiff/ID exists. */
bool h_cgroup_exists(const char *id);
/* Adds a mount {destination, type, source, options...} to the config. */
void h_add_mount(const char *dest, const char *type, const char *source, const char *opt, ...);
/* Adds a hook of kind ("prestart", ...) running /bin/sh -c script, timeout (0 = none). */
void h_add_hook(const char *kind, const char *script, int timeout);
