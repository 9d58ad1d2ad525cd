/* SPDX-License-Identifier: Apache-2.0 */
/* Single-threaded epoll event loop (shaped like redis' ae.c): fd callbacks,
 * timerfd timers, signalfd for SIGTERM/SIGINT/SIGCHLD and before-sleep hooks
 * that batch work (state writes, HTTP timeouts) once per iteration. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cm/error.h"

struct cm_loop;
struct cm_loop_source;

/* events is an EPOLLIN/EPOLLOUT/... mask. */
typedef void (*cm_loop_fd_fn)(struct cm_loop *loop, int fd, uint32_t events, void *userdata);
typedef void (*cm_loop_timer_fn)(struct cm_loop *loop, struct cm_loop_source *timer,
                                 void *userdata);
typedef void (*cm_loop_signal_fn)(struct cm_loop *loop, int signo, void *userdata);
typedef void (*cm_loop_hook_fn)(struct cm_loop *loop, void *userdata);

struct cm_loop *cm_loop_new(struct cm_error **err);
/* Frees the loop and every source still registered; accepts NULL, returns NULL. */
struct cm_loop *cm_loop_free(struct cm_loop *loop);

/* Watches fd (not owned, not closed by the loop). */
struct cm_loop_source *cm_loop_add_fd(struct cm_loop *loop, int fd, uint32_t events,
                                      cm_loop_fd_fn fn, void *userdata, struct cm_error **err);
int cm_loop_mod_fd(struct cm_loop_source *src, uint32_t events, struct cm_error **err);

/* A timer: fires once after first_ms (0 = disarmed), then every interval_ms
 * (0 = one-shot). Re-arm with cm_loop_timer_set. */
struct cm_loop_source *cm_loop_add_timer(struct cm_loop *loop, uint64_t first_ms,
                                         uint64_t interval_ms, cm_loop_timer_fn fn, void *userdata,
                                         struct cm_error **err);
int cm_loop_timer_set(struct cm_loop_source *timer, uint64_t first_ms, uint64_t interval_ms,
                      struct cm_error **err);

/* Blocks signo and delivers it through a signalfd. */
int cm_loop_add_signal(struct cm_loop *loop, int signo, cm_loop_signal_fn fn, void *userdata,
                       struct cm_error **err);

/* Called before every epoll_wait, in registration order. */
int cm_loop_add_before_sleep(struct cm_loop *loop, cm_loop_hook_fn fn, void *userdata,
                             struct cm_error **err);

/* Removes a source (fd or timer); safe from inside its own callback. Accepts NULL. */
void cm_loop_remove(struct cm_loop_source *src);

/* Runs until cm_loop_quit; returns the exit code given to cm_loop_quit. */
int cm_loop_run(struct cm_loop *loop);
/* One iteration: before-sleep hooks, wait at most timeout_ms (-1 forever), dispatch. */
int cm_loop_run_once(struct cm_loop *loop, int timeout_ms, struct cm_error **err);
void cm_loop_quit(struct cm_loop *loop, int code);
/* Milliseconds from CLOCK_MONOTONIC. */
uint64_t cm_loop_now_ms(void);
