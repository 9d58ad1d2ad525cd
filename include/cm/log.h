/* SPDX-License-Identifier: Apache-2.0 */
/* Leveled logging to a pluggable sink: text lines on stderr (the runtime),
 * JSON lines (the daemons, runc's --log-format json). Libraries log at debug
 * level only; programs log each error once. */
#pragma once

#include "cm/error.h"

enum cm_log_level { CM_LOG_ERROR = 0, CM_LOG_WARN, CM_LOG_INFO, CM_LOG_DEBUG };
enum cm_log_format { CM_LOG_TEXT = 0, CM_LOG_JSON };

/* Sends log lines to fd (default 2); the fd is not closed by the logger. */
void cm_log_set_fd(int fd);
void cm_log_set_format(enum cm_log_format f);
void cm_log_set_level(enum cm_log_level l);
enum cm_log_level cm_log_get_level(void);
/* Program name shown in text lines ("skiff-runtime: ..."). Borrowed, must outlive the logger. */
void cm_log_set_ident(const char *ident);
/* Opens PATH for appending (O_CLOEXEC) and logs there; returns -1 on failure. */
int cm_log_open(const char *path, struct cm_error **err);

void cm_log(enum cm_log_level level, const char *fmt, ...) CM_PRINTF(2, 3);

#define cm_log_error(...) cm_log(CM_LOG_ERROR, __VA_ARGS__)
#define cm_log_warn(...) cm_log(CM_LOG_WARN, __VA_ARGS__)
#define cm_log_info(...) cm_log(CM_LOG_INFO, __VA_ARGS__)
#define cm_log_debug(...)                                                                          \
    do {                                                                                           \
        if (cm_log_get_level() >= CM_LOG_DEBUG)                                                    \
            cm_log(CM_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)
