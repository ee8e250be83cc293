/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Event loop and sd_notify protocol tests. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "nft-tc-offload/loop.h"
#include "nft-tc-offload/sdnotify.h"

struct counts {
	int fired;
};

static void count_timer(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct counts *c = arg;

	if (++c->fired == 3)
		ev_loop_stop(loop);
}

static void test_periodic_timer(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct counts c = {0};
	struct ev_timer *t = ev_timer_new(loop, count_timer, &c);
	uint64_t start = ev_now_ms();

	assert_non_null(t);
	assert_int_equal(ev_timer_arm(t, 5, 5), 0);
	assert_int_equal(ev_loop_run(loop), 0);
	assert_int_equal(c.fired, 3);
	assert_true(ev_now_ms() - start >= 14); /* three periods of 5 ms, scheduler slack aside */
	assert_true(ev_timer_armed(t));
	ev_timer_free(t);
	ev_loop_free(loop);
}

static void test_one_shot_and_disarm(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct counts c = {0};
	struct ev_timer *t = ev_timer_new(loop, count_timer, &c);

	assert_int_equal(ev_timer_arm(t, 1, 0), 0);
	while (c.fired == 0)
		assert_true(ev_loop_run_once(loop, 1000) >= 0);
	assert_false(ev_timer_armed(t));
	/* Disarmed: nothing fires within 30 ms. */
	assert_int_equal(ev_timer_arm(t, 10, 0), 0);
	assert_int_equal(ev_timer_disarm(t), 0);
	assert_int_equal(ev_loop_run_once(loop, 30), 0);
	assert_int_equal(c.fired, 1);
	ev_timer_free(t);
	ev_loop_free(loop);
}

/* Two pipes ready in the same epoll batch; whichever callback runs first removes the other's
 * registration (the "other" fd). The removed one must not be called: exactly one runs. */
struct pair {
	struct ev_loop *loop;
	int fds[2];
	int calls;
};

static void on_pipe(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct pair *p = arg;
	int other = fd == p->fds[0] ? p->fds[1] : p->fds[0];
	char buf[16];

	assert_true(read(fd, buf, sizeof(buf)) > 0);
	p->calls++;
	assert_int_equal(ev_loop_del_fd(loop, other), 0);
}

static void test_fd_and_removal_during_dispatch(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct pair pr = {.loop = loop};
	int a[2], b[2];

	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	pr.fds[0] = a[0];
	pr.fds[1] = b[0];
	assert_int_equal(ev_loop_add_fd(loop, a[0], on_pipe, &pr), 0);
	assert_int_equal(ev_loop_add_fd(loop, b[0], on_pipe, &pr), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "y", 1), 1);
	assert_int_equal(ev_loop_run_once(loop, 1000), 2); /* both were ready */
	assert_int_equal(pr.calls, 1);
	/* One registration is left; once removed, nothing is dispatched any more. */
	assert_true(ev_loop_del_fd(loop, a[0]) == 0 || ev_loop_del_fd(loop, b[0]) == 0);
	assert_int_equal(ev_loop_del_fd(loop, a[0]), -ENOENT);
	assert_int_equal(ev_loop_del_fd(loop, b[0]), -ENOENT);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(ev_loop_run_once(loop, 20), 0);
	assert_int_equal(pr.calls, 1);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	ev_loop_free(loop);
}

static void on_signal(struct ev_loop *loop, int signo, void *arg)
{
	int *got = arg;

	*got = signo;
	ev_loop_stop(loop);
}

static void test_signal(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	int got = 0;

	assert_int_equal(ev_loop_add_signal(loop, SIGUSR1, on_signal, &got), 0);
	assert_int_equal(ev_loop_add_signal(loop, SIGUSR2, on_signal, &got), 0);
	assert_int_equal(raise(SIGUSR2), 0); /* blocked: queued for the signalfd, not fatal */
	assert_int_equal(ev_loop_run(loop), 0);
	assert_int_equal(got, SIGUSR2);
	assert_int_equal(ev_loop_add_signal(loop, 0, on_signal, &got), -EINVAL);
	ev_loop_free(loop);
}

static int bind_dgram(const char *path, bool abstract)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	socklen_t len;

	assert_true(fd >= 0);
	strcpy(a.sun_path, path);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	if (abstract) {
		a.sun_path[0] = '\0';
		len--;
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_sd_notify_path_and_abstract(void **state)
{
	char path[64], abstract[64];
	struct sd_notifier n;
	int fd;

	snprintf(path, sizeof(path), "/tmp/nto-notify-%d", (int)getpid());
	unlink(path);
	fd = bind_dgram(path, false);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sd_notifier_init(&n), 0);
	assert_true(sd_notifier_enabled(&n));
	assert_int_equal(sd_notify_send(&n, "READY=1\nSTATUS=ok"), 0);
	expect_datagram(fd, "READY=1\nSTATUS=ok");
	sd_notifier_close(&n);
	close(fd);
	unlink(path);

	snprintf(abstract, sizeof(abstract), "@nto-notify-%d", (int)getpid());
	fd = bind_dgram(abstract, true);
	setenv("NOTIFY_SOCKET", abstract, 1);
	assert_int_equal(sd_notifier_init(&n), 0);
	assert_int_equal(sd_notify_send(&n, "WATCHDOG=1"), 0);
	expect_datagram(fd, "WATCHDOG=1");
	sd_notifier_close(&n);
	close(fd);
}

static void test_sd_notify_off_and_bad(void **state)
{
	struct sd_notifier n;
	char pid[32];

	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "3000000", 1);
	assert_int_equal(sd_notifier_init(&n), 0);
	assert_false(sd_notifier_enabled(&n));
	assert_int_equal(sd_notify_send(&n, "READY=1"), 0);
	assert_int_equal(sd_notifier_watchdog_ms(&n), 1500);

	/* The watchdog belongs to another process: not ours to ping. */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sd_notifier_init(&n), 0);
	assert_int_equal(sd_notifier_watchdog_ms(&n), 0);
	setenv("WATCHDOG_USEC", "12x", 1);
	unsetenv("WATCHDOG_PID");
	assert_int_equal(sd_notifier_init(&n), 0);
	assert_int_equal(sd_notifier_watchdog_ms(&n), 0);

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(sd_notifier_init(&n), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_periodic_timer),
	    cmocka_unit_test(test_one_shot_and_disarm),
	    cmocka_unit_test(test_fd_and_removal_during_dispatch),
	    cmocka_unit_test(test_signal),
	    cmocka_unit_test(test_sd_notify_path_and_abstract),
	    cmocka_unit_test(test_sd_notify_off_and_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
