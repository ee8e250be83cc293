/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The netlink socket: a libmnl socket (or a test transport) plus its options and counters. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "nl_priv.h"

static int mnl_send(void *ctx, const void *buf, size_t len)
{
	ssize_t n = mnl_socket_sendto(ctx, buf, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

static ssize_t mnl_recv(void *ctx, void *buf, size_t len, bool wait)
{
	int fd = mnl_socket_get_fd(ctx);

	for (;;) {
		struct sockaddr_nl addr;
		struct iovec iov = {.iov_base = buf, .iov_len = len};
		struct msghdr msg = {
		    .msg_name = &addr,
		    .msg_namelen = sizeof(addr),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(fd, &msg, wait ? 0 : MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return wait ? -ETIMEDOUT : -EAGAIN;
			return -errno;
		}
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (addr.nl_pid != 0) /* only the kernel talks to us */
			continue;
		return n;
	}
}

static const struct nlc_transport mnl_transport = {
    .send = mnl_send,
    .recv = mnl_recv,
};

static struct nlc_sock *sock_new(void)
{
	struct nlc_sock *s = calloc(1, sizeof(*s));

	if (s)
		s->seq = (uint32_t)time(NULL); /* like iproute2: distinct across restarts */
	return s;
}

static bool set_flag(struct mnl_socket *mnl, int opt)
{
	int one = 1;

	return mnl_socket_setsockopt(mnl, opt, &one, sizeof(one)) == 0;
}

static int set_timeout(int fd, int timeout_ms)
{
	struct timeval tv = {0};

	if (timeout_ms == 0)
		timeout_ms = NLC_DEFAULT_TIMEOUT_MS;
	if (timeout_ms > 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static int read_rcvbuf(struct nlc_sock *s)
{
	int val = 0;
	socklen_t len = sizeof(val);

	if (getsockopt(mnl_socket_get_fd(s->mnl), SOL_SOCKET, SO_RCVBUF, &val, &len) < 0)
		return -errno;
	s->rcvbuf = (size_t)val;
	return 0;
}

int nlc_open(struct nlc_sock **sp, int bus, const struct nlc_sock_opts *o)
{
	static const struct nlc_sock_opts defaults;
	struct nlc_sock *s;
	int err;

	*sp = NULL;
	if (!o)
		o = &defaults;
	s = sock_new();
	if (!s)
		return -ENOMEM;
	s->mnl = mnl_socket_open(bus);
	if (!s->mnl) {
		err = -errno;
		goto fail;
	}
	if (mnl_socket_bind(s->mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	s->tr = &mnl_transport;
	s->tr_ctx = s->mnl;
	s->portid = mnl_socket_get_portid(s->mnl);
	s->feat.ext_ack = set_flag(s->mnl, NETLINK_EXT_ACK);
	s->feat.strict_chk = set_flag(s->mnl, NETLINK_GET_STRICT_CHK); /* refused before 4.20 */
	if (o->cap_ack)
		s->feat.cap_ack = set_flag(s->mnl, NETLINK_CAP_ACK);
	err = set_timeout(mnl_socket_get_fd(s->mnl), o->timeout_ms);
	if (err)
		goto fail;
	err = o->rcvbuf ? nlc_set_rcvbuf(s, o->rcvbuf) : read_rcvbuf(s);
	if (err)
		goto fail;
	*sp = s;
	return 0;
fail:
	nlc_close(s);
	return err;
}

int nlc_open_transport(struct nlc_sock **sp, const struct nlc_transport *t, void *ctx,
                       size_t rcvbuf)
{
	struct nlc_sock *s;

	*sp = NULL;
	if (!t || !t->send || !t->recv)
		return -EINVAL;
	s = sock_new();
	if (!s)
		return -ENOMEM;
	s->tr = t;
	s->tr_ctx = ctx;
	s->rcvbuf = rcvbuf;
	*sp = s;
	return 0;
}

void nlc_close(struct nlc_sock *s)
{
	if (!s)
		return;
	if (s->mnl)
		mnl_socket_close(s->mnl);
	free(s);
}

int nlc_set_rcvbuf(struct nlc_sock *s, size_t bytes)
{
	int fd, val;

	if (!s->mnl) {
		s->rcvbuf = bytes;
		return 0;
	}
	fd = mnl_socket_get_fd(s->mnl);
	val = bytes > INT_MAX / 2 ? INT_MAX / 2 : (int)bytes;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &val, sizeof(val)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &val, sizeof(val)) < 0)
		return -errno;
	return read_rcvbuf(s);
}

size_t nlc_rcvbuf(const struct nlc_sock *s)
{
	return s->rcvbuf;
}

int nlc_fd(const struct nlc_sock *s)
{
	return s->mnl ? mnl_socket_get_fd(s->mnl) : -1;
}

uint32_t nlc_portid(const struct nlc_sock *s)
{
	return s->portid;
}

const struct nlc_features *nlc_features(const struct nlc_sock *s)
{
	return &s->feat;
}

const struct nlc_stats *nlc_stats(const struct nlc_sock *s)
{
	return &s->stats;
}

int nlc_send_raw(struct nlc_sock *s, const void *buf, size_t len)
{
	int err = s->tr->send(s->tr_ctx, buf, len);

	if (!err)
		s->stats.sendmsgs++;
	return err;
}

ssize_t nlc_recv_raw(struct nlc_sock *s, bool wait)
{
	ssize_t n = s->tr->recv(s->tr_ctx, s->rbuf, sizeof(s->rbuf), wait);

	if (n >= 0)
		s->stats.recvs++;
	else if (n == -ENOBUFS)
		s->stats.enobufs++;
	return n;
}

int nlc_stamp(void *buf, int len, size_t room, uint32_t seq, uint16_t flags)
{
	struct nlmsghdr *nlh = buf;

	/* The size must be the header's length (possibly rounded up to the alignment). */
	if (len < (int)NLMSG_HDRLEN || (size_t)len > room || nlh->nlmsg_len > (uint32_t)len ||
	    NLMSG_ALIGN(nlh->nlmsg_len) < (uint32_t)len)
		return -EPROTO;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | flags;
	return 0;
}
