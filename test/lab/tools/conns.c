/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conns: many small, long-lived connections for lab scenarios (iperf3 makes one or two at a
 * time; Python takes ~20 s just to start in the TCG VM).
 *
 *   conns serve [--udp] PORT
 *       echo server on every address (IPv4 and IPv6): TCP, any number of connections on one
 *       epoll loop, or UDP.
 *   conns tcp DST PORT N SPORT0 [--until FILE] [--ready FILE] [--close fin|rst] [--interval MS]
 *            [--close-burst yes|no]
 *       opens N TCP connections from source ports SPORT0..SPORT0+N-1, then sends one byte on
 *       each every MS milliseconds (default 1000) and reads the echoes, until FILE exists
 *       (default: forever); then closes them all with FIN (close) or RST (SO_LINGER 0),
 *       128 every 10 ms (--close-burst yes: all at once).
 *       Writes N to the --ready file once all are connected. Prints "sent X echoed Y"; exit 0
 *       when every byte came back.
 *   conns udp DST PORT SPORT MS_TOTAL [--interval MS]
 *       a 512-byte datagram every MS (default 20) for MS_TOTAL milliseconds from SPORT; prints
 *       "sent X echoed Y"; exit 0 when at least 90% came back.
 *   conns burst DST PORT N SPORT0
 *       one 64-byte UDP datagram from each source port SPORT0..SPORT0+N-1, as fast as it goes
 *       (a new conntrack entry each: a flood of conntrack events); prints "sent X".
 *
 * Only ever used between the lab VM's namespaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static __attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "conns: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool exists(const char *path)
{
	struct stat st;

	return path && stat(path, &st) == 0;
}

/* dst:port as a sockaddr; the family from the address */
static socklen_t resolve(const char *host, unsigned port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		return sizeof(*a4);
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return sizeof(*a6);
	}
	die("not an address: %s", host);
}

/* a socket bound to the wildcard address of family at port */
static int bound(int family, int type, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = resolve(family == AF_INET ? "0.0.0.0" : "::", port, &ss);
	int fd = socket(family, type, 0), one = 1, zero = 0;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind port %u: %s", port, strerror(errno));
	return fd;
}

static int serve(unsigned port, bool udp)
{
	char buf[65536];
	struct epoll_event ev, evs[64];
	int ls = bound(AF_INET6, udp ? SOCK_DGRAM : SOCK_STREAM, port), ep;

	if (udp) {
		for (;;) {
			struct sockaddr_storage peer;
			socklen_t pl = sizeof(peer);
			ssize_t n =
			    recvfrom(ls, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl);

			if (n > 0)
				sendto(ls, buf, (size_t)n, 0, (struct sockaddr *)&peer, pl);
		}
	}
	if (listen(ls, 4096) < 0)
		die("listen: %s", strerror(errno));
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t r;

			if (fd == ls) {
				int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);

				if (c >= 0) {
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			r = recv(fd, buf, sizeof(buf), 0);
			if (r > 0) {
				if (send(fd, buf, (size_t)r, MSG_NOSIGNAL) < 0)
					r = 0;
			}
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
	}
}

struct opts {
	const char *until, *ready;
	bool rst, close_pace;
	long interval;
};

static void parse_opts(int argc, char **argv, int first, struct opts *o)
{
	for (int i = first; i < argc; i++) {
		if (i + 1 >= argc)
			die("option %s needs a value", argv[i]);
		if (!strcmp(argv[i], "--until"))
			o->until = argv[++i];
		else if (!strcmp(argv[i], "--ready"))
			o->ready = argv[++i];
		else if (!strcmp(argv[i], "--close-burst")) {
			i++;
			if (strcmp(argv[i], "yes") && strcmp(argv[i], "no"))
				die("--close-burst yes|no");
			o->close_pace = !strcmp(argv[i], "no");
		} else if (!strcmp(argv[i], "--interval"))
			o->interval = atol(argv[++i]);
		else if (!strcmp(argv[i], "--close")) {
			i++;
			if (strcmp(argv[i], "fin") && strcmp(argv[i], "rst"))
				die("--close fin|rst");
			o->rst = !strcmp(argv[i], "rst");
		} else
			die("unknown option %s", argv[i]);
	}
	if (o->interval <= 0)
		die("--interval: milliseconds > 0");
}

/* reads what is there on every socket; returns the bytes */
#define CONNECT_WINDOW 128

/* per connection: bytes sent and echoed, and how its reading ended */
struct conn_count {
	long sent, echoed;
	int err; /* the first recv error (errno), or -1 for the peer's close */
};

/* Reads what the readable sockets hold, waiting up to timeout_ms for the first (epoll: a recv
 * on each of 10,000 sockets every 20 ms kept the TCG VM's one CPU busy on its own); a socket
 * that failed or was closed by the peer leaves the epoll set. */
static long drain(int ep, const int *fds, struct conn_count *cc, int timeout_ms)
{
	struct epoll_event ev[256];
	char buf[4096];
	long got = 0;
	int k = epoll_wait(ep, ev, 256, timeout_ms);

	for (int j = 0; j < k; j++) {
		uint32_t i = ev[j].data.u32;

		for (;;) {
			ssize_t r = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);

			if (r <= 0) {
				if (!cc[i].err && (r == 0 || (errno != EAGAIN && errno != EINTR)))
					cc[i].err = r == 0 ? -1 : errno;
				if (r == 0 || (errno != EAGAIN && errno != EINTR))
					epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
				break;
			}
			got += r;
			cc[i].echoed += r;
		}
	}
	return got;
}

/* What the connections short of echoes have in common (stderr): how many, their recv errors,
 * and the kernel's view of the first few (TCP_INFO) */
static void report_short(const int *fds, const struct conn_count *cc, int n, unsigned sport0)
{
	int shown = 0, n_short = 0, n_reset = 0, n_eof = 0, n_other = 0, n_unacked = 0;

	for (int i = 0; i < n; i++) {
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		if (cc[i].echoed >= cc[i].sent)
			continue;
		n_short++;
		n_reset += cc[i].err == ECONNRESET;
		n_eof += cc[i].err == -1;
		n_other += cc[i].err > 0 && cc[i].err != ECONNRESET;
		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fds[i], IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0)
			continue;
		n_unacked += ti.tcpi_unacked > 0;
		if (shown++ < 8)
			fprintf(stderr,
			        "short: port %u sent %ld echoed %ld err %d state %u unacked %u "
			        "retransmits %u total_retrans %u rto %u ms last_data_recv %u ms "
			        "last_ack_recv %u ms\n",
			        sport0 + (unsigned)i, cc[i].sent, cc[i].echoed, cc[i].err,
			        ti.tcpi_state, ti.tcpi_unacked, ti.tcpi_retransmits,
			        ti.tcpi_total_retrans, ti.tcpi_rto / 1000, ti.tcpi_last_data_recv,
			        ti.tcpi_last_ack_recv);
	}
	fprintf(stderr,
	        "short: %d connections short of echoes: %d reset, %d closed by the peer, %d other "
	        "errors, %d with unacknowledged data\n",
	        n_short, n_reset, n_eof, n_other, n_unacked);
}

static int tcp(int argc, char **argv)
{
	struct opts o = {.interval = 1000, .close_pace = true};
	struct sockaddr_storage dst;
	socklen_t dl;
	long sent = 0, echoed = 0;
	int n, *fds, ep;
	struct conn_count *cc;
	unsigned sport0;

	if (argc < 6)
		die("tcp DST PORT N SPORT0 [options]");
	dl = resolve(argv[2], (unsigned)atoi(argv[3]), &dst);
	n = atoi(argv[4]);
	sport0 = (unsigned)atoi(argv[5]);
	parse_opts(argc, argv, 6, &o);
	if (n <= 0 || sport0 + (unsigned)n > 65536)
		die("N and SPORT0: ports up to 65535");
	fds = calloc((size_t)n, sizeof(*fds));
	cc = calloc((size_t)n, sizeof(*cc));
	if (!fds || !cc)
		die("out of memory");
	/* CONNECT_WINDOW handshakes at a time (non-blocking): one after the other, 10,000
	 * connections took minutes in the TCG VM */
	for (int first = 0; first < n; first += CONNECT_WINDOW) {
		int last = first + CONNECT_WINDOW < n ? first + CONNECT_WINDOW : n;
		struct pollfd pf[CONNECT_WINDOW];
		int pending = 0;

		for (int i = first; i < last; i++) {
			fds[i] = bound(dst.ss_family, SOCK_STREAM, sport0 + (unsigned)i);
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
			if (connect(fds[i], (struct sockaddr *)&dst, dl) < 0 &&
			    errno != EINPROGRESS)
				die("connect from port %u: %s", sport0 + (unsigned)i,
				    strerror(errno));
			pf[i - first] = (struct pollfd){.fd = fds[i], .events = POLLOUT};
			pending++;
		}
		for (long long end = now_ms() + 10000; pending > 0;) {
			int r = poll(pf, (nfds_t)(last - first), 100);

			if (r < 0 && errno != EINTR)
				die("poll: %s", strerror(errno));
			for (int k = 0; r > 0 && k < last - first; k++) {
				int err = 0;
				socklen_t el = sizeof(err);

				if (pf[k].fd < 0 || !pf[k].revents)
					continue;
				getsockopt(pf[k].fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err)
					die("connect from port %u: %s",
					    sport0 + (unsigned)(first + k), strerror(err));
				pf[k].fd = -1;
				pending--;
			}
			if (pending && now_ms() > end)
				die("connect: %d of ports %u.. not connected after 10 s", pending,
				    sport0 + (unsigned)first);
		}
	}
	if (o.ready) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", o.ready);
		f = fopen(tmp, "w");
		if (!f)
			die("%s: %s", tmp, strerror(errno));
		fprintf(f, "%d\n", n);
		fclose(f);
		rename(tmp, o.ready);
	}
	ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0)
			die("epoll_ctl: %s", strerror(errno));
	}
	while (!exists(o.until)) {
		long long next = now_ms() + o.interval;

		for (int i = 0; i < n; i++)
			if (send(fds[i], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
				sent++;
				cc[i].sent++;
			}
		for (long long now = now_ms(); now < next; now = now_ms())
			echoed += drain(ep, fds, cc, (int)(next - now < 100 ? next - now : 100));
	}
	/* the last echoes: until 3 s pass without one arriving (a busy VM may need longer than
	 * 3 s for thousands of them), 60 s at most */
	for (long long end = now_ms() + 3000, cap = now_ms() + 60000;
	     echoed < sent && now_ms() < end && now_ms() < cap;) {
		long got;

		got = drain(ep, fds, cc, 20);
		echoed += got;
		if (got > 0)
			end = now_ms() + 3000;
	}
	if (echoed != sent)
		report_short(fds, cc, n, sport0);
	/* closed CONNECT_WINDOW at a time, 10 ms apart: 10,000 closes at once made the kernel
	 * reset connections instead ("TCP: too many orphaned sockets"), and a burst of resets,
	 * which nobody retransmits, can be dropped on the way (docs/reliability.md) */
	for (int i = 0; i < n; i++) {
		if (o.rst) {
			struct linger l = {.l_onoff = 1, .l_linger = 0};

			setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(fds[i]);
		if (o.close_pace && (i + 1) % CONNECT_WINDOW == 0)
			usleep(10000);
	}
	close(ep);
	free(fds);
	free(cc);
	printf("sent %ld echoed %ld\n", sent, echoed);
	return sent && echoed == sent ? 0 : 1;
}

static int udp(int argc, char **argv)
{
	struct opts o = {.interval = 20};
	struct sockaddr_storage dst;
	socklen_t dl;
	char buf[2048];
	long sent = 0, echoed = 0;
	long long end;
	int fd;

	if (argc < 6)
		die("udp DST PORT SPORT MS_TOTAL [--interval MS]");
	dl = resolve(argv[2], (unsigned)atoi(argv[3]), &dst);
	fd = bound(dst.ss_family, SOCK_DGRAM, (unsigned)atoi(argv[4]));
	end = now_ms() + atol(argv[5]);
	parse_opts(argc, argv, 6, &o);
	memset(buf, 'u', 512);
	while (now_ms() < end) {
		if (sendto(fd, buf, 512, 0, (struct sockaddr *)&dst, dl) == 512)
			sent++;
		usleep((useconds_t)o.interval * 1000);
		while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			echoed++;
	}
	usleep(500000);
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		echoed++;
	printf("sent %ld echoed %ld\n", sent, echoed);
	return echoed * 10 >= sent * 9 ? 0 : 1;
}

static int burst(int argc, char **argv)
{
	struct sockaddr_storage dst;
	socklen_t dl;
	char buf[64];
	long sent = 0;
	unsigned n, sport0;

	if (argc != 6)
		die("burst DST PORT N SPORT0");
	dl = resolve(argv[2], (unsigned)atoi(argv[3]), &dst);
	n = (unsigned)atoi(argv[4]);
	sport0 = (unsigned)atoi(argv[5]);
	if (!n || sport0 + n > 65536)
		die("N and SPORT0: ports up to 65535");
	memset(buf, 'b', sizeof(buf));
	for (unsigned i = 0; i < n; i++) {
		int fd = bound(dst.ss_family, SOCK_DGRAM, sport0 + i);

		if (sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&dst, dl) == sizeof(buf))
			sent++;
		close(fd);
	}
	printf("sent %ld\n", sent);
	return sent == (long)n ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "serve")) {
		bool u = argc == 4 && !strcmp(argv[2], "--udp");

		return serve((unsigned)atoi(argv[u ? 3 : 2]), u);
	}
	if (argc >= 2 && !strcmp(argv[1], "tcp"))
		return tcp(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "udp"))
		return udp(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "burst"))
		return burst(argc, argv);
	die("usage: conns serve [--udp] PORT | tcp DST PORT N SPORT0 [...] | udp DST PORT SPORT "
	    "MS");
}
