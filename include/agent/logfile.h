/* SPDX-License-Identifier: Apache-2.0 */
/* Container logs as JSON lines ({"log":"...\n","stream":"stdout","time":"..."},
 * docker's json-file format) with size-based rotation: PATH, PATH.1 (newest
 * rotated) ... PATH.N (oldest). Written by skiff-shim, read by the agent. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cm/error.h"

/* A line longer than this is cut into several records (docker uses 16 KiB). */
#define AGENT_LOG_MAX_LINE (16u * 1024)
#define AGENT_LOG_DEFAULT_MAX_SIZE (10u << 20)
#define AGENT_LOG_DEFAULT_MAX_FILES 3
#define AGENT_LOG_MAX_FILES_LIMIT 100

enum agent_log_stream { AGENT_LOG_STDOUT = 0, AGENT_LOG_STDERR = 1 };

struct agent_logfile;

/* Opens (appending to) path. max_size: rotate when a record would make the file
 * larger (0 = never); max_files: rotated files kept besides path (0 = the file
 * is truncated instead of kept, at most AGENT_LOG_MAX_FILES_LIMIT). */
struct agent_logfile *agent_logfile_open(const char *path, uint64_t max_size, unsigned max_files,
                                         struct cm_error **err);
/* Feeds raw bytes read from a stream: complete lines are written as records,
 * a partial line is kept until its newline (or AGENT_LOG_MAX_LINE bytes). */
int agent_logfile_feed(struct agent_logfile *l, enum agent_log_stream s, const char *data,
                       size_t len, struct cm_error **err);
/* Writes whatever partial line of stream s is buffered (at EOF). */
int agent_logfile_flush(struct agent_logfile *l, enum agent_log_stream s, struct cm_error **err);
/* Writes one record now (time = ts); exposed for tests and callers with whole lines. */
int agent_logfile_write_record(struct agent_logfile *l, enum agent_log_stream s, const char *data,
                               size_t len, const struct timespec *ts, struct cm_error **err);
/* Flushes both streams and frees; NULL ok. Returns NULL. */
struct agent_logfile *agent_logfile_close(struct agent_logfile *l);

/* "2026-11-27T11:00:03.123456789Z" into buf (at least 32 bytes). */
void agent_log_format_time(const struct timespec *ts, char *buf, size_t size);
/* Parses the format above (fractions of any length, 'Z' only). */
int agent_log_parse_time(const char *s, struct timespec *ret);

/* One record as read back. */
struct agent_log_record {
    char *log; /* owned */
    enum agent_log_stream stream;
    struct timespec time;
};

/* Reads every record of path and its rotated files, oldest first, skipping
 * records before since (NULL: all) and damaged lines; at most max records
 * (the newest ones; 0 = no limit). *ret is an owned array of *ret_n records. */
int agent_log_read(const char *path, unsigned max_files, const struct timespec *since, size_t max,
                   struct agent_log_record **ret, size_t *ret_n, struct cm_error **err);
void agent_log_records_free(struct agent_log_record *r, size_t n);
