/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's state directory (--root, one directory per container) and the
 * state of one container: id validation, the stored record, the status
 * derived from the live process, and the spec's state JSON. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cm/error.h"

#define RT_DEFAULT_ROOT "/run/skiff-runtime"
#define RT_OCI_VERSION "1.1.0"
#define RT_ID_MAX 255

enum rt_status {
    RT_STATUS_CREATING = 0,
    RT_STATUS_CREATED,
    RT_STATUS_RUNNING,
    RT_STATUS_PAUSED,
    RT_STATUS_STOPPED,
};

struct rt_kv {
    char *key;
    char *value;
};

/* What state.json records. Strings are owned. */
struct rt_state {
    char *id;
    char *bundle;
    char *rootfs;
    char *created; /* RFC 3339 with nanoseconds, UTC */
    char *owner;
    char *cgroup_path;   /* NULL before the cgroup exists */
    pid_t pid;           /* 0 before the init process exists */
    uint64_t start_time; /* field 22 of /proc/<pid>/stat: detects pid reuse */
    bool created_done;   /* false while create is still in progress */
    bool systemd_cgroup;
    struct rt_kv *annotations;
    size_t n_annotations;
};

/* runc's rule: [A-Za-z0-9_+.-]+, not "." or "..", at most RT_ID_MAX bytes. */
int rt_id_validate(const char *id, struct cm_error **err);

const char *rt_status_name(enum rt_status s);

/* Reads /proc/<pid>/stat: *ret_start_time (field 22) and whether the process
 * is alive (not a zombie). Returns -1 (ESRCH) when there is no such process. */
int rt_proc_stat(pid_t pid, uint64_t *ret_start_time, bool *ret_alive, struct cm_error **err);
/* Parses the text of /proc/<pid>/stat (pure; for tests). */
int rt_proc_stat_parse(const char *buf, uint64_t *ret_start_time, char *ret_state,
                       struct cm_error **err);

/* The directory of one container: ROOT/ID (id validated first). Owned string. */
char *rt_state_dir(const char *root, const char *id, struct cm_error **err);

/* Serialises the record (state.json) and parses it back. */
char *rt_state_to_json(const struct rt_state *s);
int rt_state_from_json(const char *buf, size_t len, struct rt_state *ret, struct cm_error **err);
void rt_state_done(struct rt_state *s);

/* The spec's state JSON (ociVersion, id, status, pid, bundle, rootfs,
 * created, owner, annotations), as `state` prints it and hooks receive it.
 * Owned string; pretty adds runc's two-space indentation. */
char *rt_state_spec_json(const struct rt_state *s, enum rt_status status, bool pretty);

/* Creates ROOT/ID exclusively (EEXIST when the container exists). */
int rt_state_dir_create(const char *root, const char *id, struct cm_error **err);
/* Writes ROOT/ID/state.json atomically (temp file + rename). */
int rt_state_save(const char *root, const struct rt_state *s, struct cm_error **err);
/* Loads ROOT/ID/state.json; ENOENT when the container does not exist. A
 * directory without state.json (a crash during create) loads as a record
 * with only the id set. */
int rt_state_load(const char *root, const char *id, struct rt_state *ret, struct cm_error **err);
/* The live status: stopped when the process is gone or its start time differs. */
enum rt_status rt_state_status(const char *root, const struct rt_state *s);
/* Temp file + rename without fsync: readers see the old or the new content
 * even if the runtime dies midway; the state directory does not outlive a
 * reboot, so it need not survive a power loss (and fsync costs a disk flush
 * when /run is not a tmpfs). */
int rt_write_atomic_nosync(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                           struct cm_error **err);
/* Removes ROOT/ID and everything in it. */
int rt_state_remove(const char *root, const char *id, struct cm_error **err);
/* Lists the container ids below root (sorted); *ret is a NULL-terminated vector. */
int rt_state_list(const char *root, char ***ret, struct cm_error **err);
/* Current time in the `created` format. Owned string. */
char *rt_timestamp_now(void);
