/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nftables change notifications: NFNLGRP_NFTABLES through libmnl, as a trigger to re-read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "daemon-internal.h"

struct nftmon {
	struct ev_loop *loop;
	struct mnl_socket *nl;
	size_t rcvbuf_max;
	nftmon_changed_fn changed;
	void *ctx;
	struct nftmon_stats st;
};

static size_t get_rcvbuf(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) < 0 || v < 0)
		return 0;
	return (size_t)v;
}

static void set_rcvbuf(int fd, size_t bytes)
{
	int v = bytes > (size_t)(INT32_MAX / 2) ? INT32_MAX / 2 : (int)bytes;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

size_t daemon_grow_rcvbuf(int fd, size_t max)
{
	/* the kernel reports twice what was asked (its bookkeeping overhead) */
	size_t cur = get_rcvbuf(fd) / 2, want = cur * 2;

	if (cur >= max)
		return 0;
	if (want > max)
		want = max;
	set_rcvbuf(fd, want);
	return get_rcvbuf(fd) / 2 > cur ? get_rcvbuf(fd) : 0;
}

static void readable(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct nftmon *m = arg;
	char buf[MNL_SOCKET_BUFFER_SIZE * 2];
	uint64_t before = m->st.messages;
	bool overrun = false;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(m->nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh;
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				overrun = true;
				continue; /* the socket stays usable; read what is still queued */
			}
			break; /* EAGAIN: drained */
		}
		len = (int)n;
		/* mnl_nlmsg_ok() lets nlmsg_len >= 2^31 through (see src/nl/batch.c) */
		for (nlh = (const struct nlmsghdr *)buf;
		     mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (uint32_t)len;
		     nlh = mnl_nlmsg_next(nlh, &len))
			if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES)
				m->st.messages++;
	}
	if (overrun) {
		size_t grown;

		m->st.overruns++;
		grown = daemon_grow_rcvbuf(fd, m->rcvbuf_max);
		m->st.rcvbuf = grown ? grown : get_rcvbuf(fd);
		m->changed(m->ctx, true);
		return;
	}
	if (m->st.messages != before) {
		m->st.batches++;
		m->changed(m->ctx, false);
	}
}

int nftmon_open(struct nftmon **out, struct ev_loop *loop, size_t rcvbuf, size_t rcvbuf_max,
                nftmon_changed_fn changed, void *ctx, char *err, size_t errlen)
{
	struct nftmon *m = calloc(1, sizeof(*m));
	int group = NFNLGRP_NFTABLES, rc;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->loop = loop;
	m->rcvbuf_max = rcvbuf_max;
	m->changed = changed;
	m->ctx = ctx;
	m->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->nl) {
		rc = -errno;
		snprintf(err, errlen, "nftables notifications: cannot open a netfilter socket: %s",
		         strerror(errno));
		free(m);
		return rc;
	}
	if (mnl_socket_bind(m->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(m->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "nftables notifications: cannot subscribe: %s",
		         strerror(errno));
		goto fail;
	}
	if (rcvbuf)
		set_rcvbuf(mnl_socket_get_fd(m->nl), rcvbuf);
	m->st.rcvbuf = get_rcvbuf(mnl_socket_get_fd(m->nl));
	rc = ev_loop_add_fd(loop, mnl_socket_get_fd(m->nl), readable, m);
	if (rc < 0) {
		snprintf(err, errlen, "nftables notifications: %s", strerror(-rc));
		goto fail;
	}
	*out = m;
	return 0;
fail:
	mnl_socket_close(m->nl);
	free(m);
	return rc;
}

void nftmon_close(struct nftmon *m)
{
	if (!m)
		return;
	ev_loop_del_fd(m->loop, mnl_socket_get_fd(m->nl));
	mnl_socket_close(m->nl);
	free(m);
}

const struct nftmon_stats *nftmon_stats(const struct nftmon *m)
{
	return &m->st;
}
