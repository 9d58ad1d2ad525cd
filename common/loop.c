/* SPDX-License-Identifier: Apache-2.0 */
/* The epoll event loop of the daemons (see include/cm/loop.h). */
#include "cm/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"

enum source_kind { SRC_FD, SRC_TIMER, SRC_SIGNAL };

struct cm_loop_source {
    struct cm_loop *loop;
    enum source_kind kind;
    int fd;
    bool dead; /* removed while callbacks may still see it this iteration */
    cm_loop_fd_fn fd_fn;
    cm_loop_timer_fn timer_fn;
    void *userdata;
    struct cm_loop_source *next;
};

struct signal_handler {
    int signo;
    cm_loop_signal_fn fn;
    void *userdata;
};

struct hook {
    cm_loop_hook_fn fn;
    void *userdata;
};

struct cm_loop {
    int epfd;
    struct cm_loop_source *sources; /* all sources, incl. dead ones until reaped */
    struct cm_loop_source *sigsrc;
    sigset_t sigmask;
    struct signal_handler *sigs;
    size_t n_sigs, cap_sigs;
    struct hook *hooks;
    size_t n_hooks, cap_hooks;
    bool quit;
    int exit_code;
    int dispatching;
};

uint64_t
cm_loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct cm_loop *
cm_loop_new(struct cm_error **err)
{
    struct cm_loop *loop = xcalloc(1, sizeof(*loop));
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        cm_error_errno(err, "epoll_create1");
        free(loop);
        return NULL;
    }
    sigemptyset(&loop->sigmask);
    return loop;
}

static void
source_destroy(struct cm_loop_source *s)
{
    if (s->kind != SRC_FD && s->fd >= 0)
        close(s->fd);
    free(s);
}

struct cm_loop *
cm_loop_free(struct cm_loop *loop)
{
    if (!loop)
        return NULL;
    struct cm_loop_source *s = loop->sources;
    while (s) {
        struct cm_loop_source *next = s->next;
        source_destroy(s);
        s = next;
    }
    if (loop->n_sigs > 0)
        sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
    close(loop->epfd);
    free(loop->sigs);
    free(loop->hooks);
    free(loop);
    return NULL;
}

static struct cm_loop_source *
source_add(struct cm_loop *loop, enum source_kind kind, int fd, uint32_t events,
           struct cm_error **err)
{
    struct cm_loop_source *s = xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->kind = kind;
    s->fd = fd;
    struct epoll_event ev = {.events = events, .data.ptr = s};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        cm_error_errno(err, "epoll_ctl add fd %d", fd);
        free(s);
        return NULL;
    }
    s->next = loop->sources;
    loop->sources = s;
    return s;
}

struct cm_loop_source *
cm_loop_add_fd(struct cm_loop *loop, int fd, uint32_t events, cm_loop_fd_fn fn, void *userdata,
               struct cm_error **err)
{
    struct cm_loop_source *s = source_add(loop, SRC_FD, fd, events, err);
    if (!s)
        return NULL;
    s->fd_fn = fn;
    s->userdata = userdata;
    return s;
}

int
cm_loop_mod_fd(struct cm_loop_source *src, uint32_t events, struct cm_error **err)
{
    struct epoll_event ev = {.events = events, .data.ptr = src};
    if (epoll_ctl(src->loop->epfd, EPOLL_CTL_MOD, src->fd, &ev) < 0)
        return cm_error_errno(err, "epoll_ctl mod fd %d", src->fd);
    return 0;
}

int
cm_loop_timer_set(struct cm_loop_source *timer, uint64_t first_ms, uint64_t interval_ms,
                  struct cm_error **err)
{
    struct itimerspec its = {
        .it_value = {.tv_sec = first_ms / 1000, .tv_nsec = (first_ms % 1000) * 1000000},
        .it_interval = {.tv_sec = interval_ms / 1000, .tv_nsec = (interval_ms % 1000) * 1000000},
    };
    if (timerfd_settime(timer->fd, 0, &its, NULL) < 0)
        return cm_error_errno(err, "timerfd_settime");
    return 0;
}

struct cm_loop_source *
cm_loop_add_timer(struct cm_loop *loop, uint64_t first_ms, uint64_t interval_ms,
                  cm_loop_timer_fn fn, void *userdata, struct cm_error **err)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0) {
        cm_error_errno(err, "timerfd_create");
        return NULL;
    }
    struct cm_loop_source *s = source_add(loop, SRC_TIMER, fd, EPOLLIN, err);
    if (!s) {
        close(fd);
        return NULL;
    }
    s->timer_fn = fn;
    s->userdata = userdata;
    if (cm_loop_timer_set(s, first_ms, interval_ms, err) < 0) {
        cm_loop_remove(s);
        return NULL;
    }
    return s;
}

int
cm_loop_add_signal(struct cm_loop *loop, int signo, cm_loop_signal_fn fn, void *userdata,
                   struct cm_error **err)
{
    sigaddset(&loop->sigmask, signo);
    if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) < 0)
        return cm_error_errno(err, "sigprocmask");
    if (!loop->sigsrc) {
        int fd = signalfd(-1, &loop->sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0)
            return cm_error_errno(err, "signalfd");
        loop->sigsrc = source_add(loop, SRC_SIGNAL, fd, EPOLLIN, err);
        if (!loop->sigsrc) {
            close(fd);
            return -1;
        }
    } else if (signalfd(loop->sigsrc->fd, &loop->sigmask, 0) < 0) {
        return cm_error_errno(err, "signalfd");
    }
    loop->sigs =
        xreallocarray_grow(loop->sigs, &loop->cap_sigs, loop->n_sigs + 1, sizeof(*loop->sigs));
    loop->sigs[loop->n_sigs++] = (struct signal_handler){signo, fn, userdata};
    return 0;
}

int
cm_loop_add_before_sleep(struct cm_loop *loop, cm_loop_hook_fn fn, void *userdata,
                         struct cm_error **err)
{
    (void)err;
    loop->hooks =
        xreallocarray_grow(loop->hooks, &loop->cap_hooks, loop->n_hooks + 1, sizeof(*loop->hooks));
    loop->hooks[loop->n_hooks++] = (struct hook){fn, userdata};
    return 0;
}

void
cm_loop_remove(struct cm_loop_source *src)
{
    if (!src || src->dead)
        return;
    struct cm_loop *loop = src->loop;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
    src->dead = true;
    /* Pending events of this iteration may still point at src: free it only
     * when no dispatch is running. */
    if (loop->dispatching == 0) {
        for (struct cm_loop_source **pp = &loop->sources; *pp; pp = &(*pp)->next) {
            if (*pp == src) {
                *pp = src->next;
                break;
            }
        }
        source_destroy(src);
    }
}

static void
reap_dead(struct cm_loop *loop)
{
    struct cm_loop_source **pp = &loop->sources;
    while (*pp) {
        struct cm_loop_source *s = *pp;
        if (s->dead) {
            *pp = s->next;
            source_destroy(s);
        } else {
            pp = &s->next;
        }
    }
}

static void
dispatch_signals(struct cm_loop *loop)
{
    struct signalfd_siginfo si;
    while (read(loop->sigsrc->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        for (size_t i = 0; i < loop->n_sigs; i++)
            if (loop->sigs[i].signo == (int)si.ssi_signo)
                loop->sigs[i].fn(loop, (int)si.ssi_signo, loop->sigs[i].userdata);
    }
}

int
cm_loop_run_once(struct cm_loop *loop, int timeout_ms, struct cm_error **err)
{
    struct epoll_event evs[64];

    for (size_t i = 0; i < loop->n_hooks && !loop->quit; i++)
        loop->hooks[i].fn(loop, loop->hooks[i].userdata);
    if (loop->quit)
        return 0;
    int n = epoll_wait(loop->epfd, evs, 64, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return cm_error_errno(err, "epoll_wait");
    }
    loop->dispatching++;
    for (int i = 0; i < n; i++) {
        struct cm_loop_source *s = evs[i].data.ptr;
        if (s->dead)
            continue;
        switch (s->kind) {
        case SRC_FD:
            s->fd_fn(loop, s->fd, evs[i].events, s->userdata);
            break;
        case SRC_TIMER: {
            uint64_t ticks;
            if (read(s->fd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks) && s->timer_fn)
                s->timer_fn(loop, s, s->userdata);
            break;
        }
        case SRC_SIGNAL:
            dispatch_signals(loop);
            break;
        }
    }
    loop->dispatching--;
    reap_dead(loop);
    return 0;
}

int
cm_loop_run(struct cm_loop *loop)
{
    cleanup_error struct cm_error *err = NULL;
    while (!loop->quit) {
        if (cm_loop_run_once(loop, -1, &err) < 0)
            return -1;
    }
    return loop->exit_code;
}

void
cm_loop_quit(struct cm_loop *loop, int code)
{
    loop->quit = true;
    loop->exit_code = code;
}
