/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's epoll loop: fds, timerfds and one signalfd. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "nft-tc-offload/loop.h"

enum handler_type { H_FD, H_TIMER, H_SIGNAL };

/* One epoll registration. Handlers removed during a dispatch round are only marked dead and
 * freed after the round, so an event already fetched for them is skipped, not dereferenced. */
struct handler {
	enum handler_type type;
	int fd;
	bool dead;
	struct handler *next; /* all handlers, for lookup and teardown */
	union {
		struct {
			ev_fd_cb cb;
			void *arg;
		} io;
		struct ev_timer *timer;
	};
};

struct ev_timer {
	struct ev_loop *loop;
	struct handler *h;
	ev_timer_cb cb;
	void *arg;
	bool armed;
	uint64_t interval_ms;
};

#define MAX_SIGNAL 65

struct ev_loop {
	int epfd;
	bool stop;
	int dispatching;
	struct handler *handlers;
	struct handler *sig_handler;
	sigset_t sigmask;
	struct {
		ev_signal_cb cb;
		void *arg;
	} signals[MAX_SIGNAL];
};

uint64_t ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct ev_loop *ev_loop_new(void)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int e = errno;

		free(loop);
		errno = e;
		return NULL;
	}
	sigemptyset(&loop->sigmask);
	return loop;
}

static int handler_add(struct ev_loop *loop, struct handler *h)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = h};

	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0)
		return -errno;
	h->next = loop->handlers;
	loop->handlers = h;
	return 0;
}

static void handler_free_now(struct handler *h)
{
	if (h->type != H_FD)
		close(h->fd);
	free(h);
}

/* Unregisters h; frees it now, or after the current dispatch round. */
static void handler_remove(struct ev_loop *loop, struct handler *h)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	h->dead = true;
	if (loop->dispatching)
		return;
	for (struct handler **p = &loop->handlers; *p; p = &(*p)->next) {
		if (*p == h) {
			*p = h->next;
			break;
		}
	}
	handler_free_now(h);
}

static void reap_dead(struct ev_loop *loop)
{
	struct handler **p = &loop->handlers;

	while (*p) {
		struct handler *h = *p;

		if (h->dead) {
			*p = h->next;
			handler_free_now(h);
		} else {
			p = &h->next;
		}
	}
}

void ev_loop_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	while (loop->handlers) {
		struct handler *h = loop->handlers;

		loop->handlers = h->next;
		if (h->type == H_TIMER && h->timer)
			h->timer->h = NULL;
		handler_free_now(h);
	}
	if (!sigisemptyset(&loop->sigmask))
		sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
	close(loop->epfd);
	free(loop);
}

int ev_loop_add_fd(struct ev_loop *loop, int fd, ev_fd_cb cb, void *arg)
{
	struct handler *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return -ENOMEM;
	h->type = H_FD;
	h->fd = fd;
	h->io.cb = cb;
	h->io.arg = arg;
	ret = handler_add(loop, h);
	if (ret < 0)
		free(h);
	return ret;
}

int ev_loop_del_fd(struct ev_loop *loop, int fd)
{
	for (struct handler *h = loop->handlers; h; h = h->next) {
		if (h->type == H_FD && h->fd == fd && !h->dead) {
			handler_remove(loop, h);
			return 0;
		}
	}
	return -ENOENT;
}

struct ev_timer *ev_timer_new(struct ev_loop *loop, ev_timer_cb cb, void *arg)
{
	struct ev_timer *t = calloc(1, sizeof(*t));
	struct handler *h = calloc(1, sizeof(*h));

	if (!t || !h)
		goto fail;
	h->type = H_TIMER;
	h->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->fd < 0)
		goto fail;
	h->timer = t;
	t->loop = loop;
	t->h = h;
	t->cb = cb;
	t->arg = arg;
	if (handler_add(loop, h) < 0) {
		close(h->fd);
		goto fail;
	}
	return t;
fail:
	free(t);
	free(h);
	return NULL;
}

static struct timespec ms_to_ts(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
	                      .tv_nsec = (long)(ms % 1000) * 1000000};

	return ts;
}

int ev_timer_arm(struct ev_timer *t, uint64_t first_ms, uint64_t interval_ms)
{
	struct itimerspec its = {.it_value = ms_to_ts(first_ms ? first_ms : 1),
	                         .it_interval = ms_to_ts(interval_ms)};

	if (!t->h)
		return -EBADF;
	if (timerfd_settime(t->h->fd, 0, &its, NULL) < 0)
		return -errno;
	t->armed = true;
	t->interval_ms = interval_ms;
	return 0;
}

int ev_timer_disarm(struct ev_timer *t)
{
	struct itimerspec its = {0};

	if (!t->h)
		return -EBADF;
	t->armed = false;
	if (timerfd_settime(t->h->fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

bool ev_timer_armed(const struct ev_timer *t)
{
	return t->armed;
}

void ev_timer_free(struct ev_timer *t)
{
	if (!t)
		return;
	if (t->h) {
		t->h->timer = NULL;
		handler_remove(t->loop, t->h);
	}
	free(t);
}

int ev_loop_add_signal(struct ev_loop *loop, int signo, ev_signal_cb cb, void *arg)
{
	int fd;

	if (signo <= 0 || signo >= MAX_SIGNAL)
		return -EINVAL;
	sigaddset(&loop->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) < 0)
		return -errno;
	fd = signalfd(loop->sig_handler ? loop->sig_handler->fd : -1, &loop->sigmask,
	              SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	loop->signals[signo].cb = cb;
	loop->signals[signo].arg = arg;
	if (!loop->sig_handler) {
		struct handler *h = calloc(1, sizeof(*h));
		int ret;

		if (!h) {
			close(fd);
			return -ENOMEM;
		}
		h->type = H_SIGNAL;
		h->fd = fd;
		ret = handler_add(loop, h);
		if (ret < 0) {
			close(fd);
			free(h);
			return ret;
		}
		loop->sig_handler = h;
	}
	return 0;
}

static void dispatch_timer(struct ev_loop *loop, struct handler *h)
{
	struct ev_timer *t = h->timer;
	uint64_t expirations;

	if (read(h->fd, &expirations, sizeof(expirations)) != sizeof(expirations) || !t)
		return;
	if (!t->interval_ms)
		t->armed = false;
	t->cb(loop, t, t->arg);
}

static void dispatch_signals(struct ev_loop *loop, struct handler *h)
{
	struct signalfd_siginfo si;

	while (read(h->fd, &si, sizeof(si)) == sizeof(si)) {
		int signo = (int)si.ssi_signo;

		if (signo > 0 && signo < MAX_SIGNAL && loop->signals[signo].cb)
			loop->signals[signo].cb(loop, signo, loop->signals[signo].arg);
	}
}

int ev_loop_run_once(struct ev_loop *loop, int timeout_ms)
{
	struct epoll_event events[32];
	int n = epoll_wait(loop->epfd, events, 32, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->dispatching++;
	for (int i = 0; i < n; i++) {
		struct handler *h = events[i].data.ptr;

		if (h->dead)
			continue;
		switch (h->type) {
		case H_FD:
			h->io.cb(loop, h->fd, events[i].events, h->io.arg);
			break;
		case H_TIMER:
			dispatch_timer(loop, h);
			break;
		case H_SIGNAL:
			dispatch_signals(loop, h);
			break;
		}
	}
	if (--loop->dispatching == 0)
		reap_dead(loop);
	return n;
}

int ev_loop_run(struct ev_loop *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		int ret = ev_loop_run_once(loop, -1);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void ev_loop_stop(struct ev_loop *loop)
{
	loop->stop = true;
}
