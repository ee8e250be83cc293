/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's event loop: one epoll instance, file descriptors with callbacks, timers on
 * timerfds and signals through a signalfd. No globals: everything hangs off struct ev_loop.
 */
#ifndef NFT_TC_OFFLOAD_LOOP_H
#define NFT_TC_OFFLOAD_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct ev_loop;
struct ev_fd;
struct ev_timer;

/* Called when fd is readable (events has EPOLLIN) or has an error/hangup. */
typedef void (*ev_fd_cb)(struct ev_loop *loop, int fd, uint32_t events, void *arg);
typedef void (*ev_timer_cb)(struct ev_loop *loop, struct ev_timer *t, void *arg);
typedef void (*ev_signal_cb)(struct ev_loop *loop, int signo, void *arg);

/* Returns NULL with errno set on failure. */
struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop *loop);

/* Watches fd for input. The loop does not own fd. Returns 0 or -errno. */
int ev_loop_add_fd(struct ev_loop *loop, int fd, ev_fd_cb cb, void *arg);
int ev_loop_del_fd(struct ev_loop *loop, int fd);

/* A timer firing after first_ms, then every interval_ms (0 = once). NULL on failure. */
struct ev_timer *ev_timer_new(struct ev_loop *loop, ev_timer_cb cb, void *arg);
int ev_timer_arm(struct ev_timer *t, uint64_t first_ms, uint64_t interval_ms);
int ev_timer_disarm(struct ev_timer *t);
bool ev_timer_armed(const struct ev_timer *t);
void ev_timer_free(struct ev_timer *t);

/* Blocks signo and delivers it through the loop's signalfd. Returns 0 or -errno. */
int ev_loop_add_signal(struct ev_loop *loop, int signo, ev_signal_cb cb, void *arg);

/* Runs until ev_loop_stop(); returns 0, or -errno when epoll itself fails. */
int ev_loop_run(struct ev_loop *loop);
/* Dispatches what is ready within timeout_ms (-1 = wait); returns events handled or -errno. */
int ev_loop_run_once(struct ev_loop *loop, int timeout_ms);
void ev_loop_stop(struct ev_loop *loop);

/* Monotonic milliseconds. */
uint64_t ev_now_ms(void);

#endif
