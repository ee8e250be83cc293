/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctnetlink messages read directly, meant for the conntrack dump: the same struct ct_event
 * that libnetfilter_conntrack's object gives through ct_event_from_nfct, without building that
 * object (about 6,000 instructions an entry in the restart's profile). The fuzz target
 * `conntrack` checks both ways against each other on every input the library can parse. Not
 * used by the daemon yet (conntrack.h, ct_dump_fd, says why).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nft-tc-offload/conntrack.h"

#define CTNL_MAX_TYPE 32 /* above every CTA_* the parser reads */

struct tb {
	const struct nlattr *a[CTNL_MAX_TYPE];
};

/* The attributes of [data, data + len) by type (the last of a type wins, as in the library);
 * -EINVAL when one overruns. */
static int parse(const void *data, size_t len, struct tb *tb)
{
	const struct nlattr *a = data;
	ptrdiff_t rem = (ptrdiff_t)len;

	memset(tb, 0, sizeof(*tb));
	while (rem >= (ptrdiff_t)sizeof(*a)) {
		unsigned type = a->nla_type & NLA_TYPE_MASK;

		if (a->nla_len < sizeof(*a) || a->nla_len > rem)
			return -EINVAL;
		if (type < CTNL_MAX_TYPE)
			tb->a[type] = a;
		rem -= (ptrdiff_t)NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

static int nested(const struct nlattr *a, struct tb *tb)
{
	return parse((const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN, tb);
}

static size_t plen(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

static const void *pdata(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

/* A fixed-size attribute's payload into out; -EINVAL when its size is another. */
static int get(const struct nlattr *a, void *out, size_t n)
{
	if (plen(a) != n)
		return -EINVAL;
	memcpy(out, pdata(a), n);
	return 0;
}

static int get_tuple(const struct nlattr *ta, int family, uint8_t proto, struct flow_tuple *t)
{
	struct tb tb, ip, pr;
	int s = family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
	int d = family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST;
	size_t alen = family == AF_INET ? 4 : 16;

	memset(t, 0, sizeof(*t));
	t->family = family;
	t->proto = proto;
	if (!ta || nested(ta, &tb) || !tb.a[CTA_TUPLE_IP] || nested(tb.a[CTA_TUPLE_IP], &ip))
		return -EINVAL;
	if (!ip.a[s] || !ip.a[d] || get(ip.a[s], &t->src, alen) || get(ip.a[d], &t->dst, alen))
		return -EINVAL;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	    proto == IPPROTO_UDPLITE || proto == IPPROTO_DCCP) {
		uint16_t port;

		if (!tb.a[CTA_TUPLE_PROTO])
			return 0;
		if (nested(tb.a[CTA_TUPLE_PROTO], &pr))
			return -EINVAL;
		if (pr.a[CTA_PROTO_SRC_PORT]) {
			if (get(pr.a[CTA_PROTO_SRC_PORT], &port, 2))
				return -EINVAL;
			t->sport = ntohs(port);
		}
		if (pr.a[CTA_PROTO_DST_PORT]) {
			if (get(pr.a[CTA_PROTO_DST_PORT], &port, 2))
				return -EINVAL;
			t->dport = ntohs(port);
		}
	}
	return 0;
}

/* A direction's counters: 64-bit values win over 32-bit ones. has: packets seen. */
static int get_counters(const struct nlattr *ca, uint64_t *packets, uint64_t *bytes, bool *has)
{
	static const int p[2] = {CTA_COUNTERS32_PACKETS, CTA_COUNTERS_PACKETS};
	static const int b[2] = {CTA_COUNTERS32_BYTES, CTA_COUNTERS_BYTES};
	struct tb tb;

	*has = false;
	if (!ca)
		return 0;
	if (nested(ca, &tb))
		return -EINVAL;
	for (int w = 0; w < 2; w++) {
		if (tb.a[p[w]]) {
			uint64_t v64;
			uint32_t v32;

			if (w ? get(tb.a[p[w]], &v64, 8) : get(tb.a[p[w]], &v32, 4))
				return -EINVAL;
			*packets = w ? be64toh(v64) : ntohl(v32);
			*has = true;
		}
		if (tb.a[b[w]]) {
			uint64_t v64;
			uint32_t v32;

			if (w ? get(tb.a[b[w]], &v64, 8) : get(tb.a[b[w]], &v32, 4))
				return -EINVAL;
			*bytes = w ? be64toh(v64) : ntohl(v32);
		}
	}
	return 0;
}

static uint32_t be32_of(const struct nlattr *a, int *rc)
{
	uint32_t v = 0;

	if (get(a, &v, 4))
		*rc = -EINVAL;
	return ntohl(v);
}

int ct_event_from_nlmsg(const void *msg, size_t len, struct ct_event *ev)
{
	const struct nlmsghdr *nlh = msg;
	const struct nfgenmsg *nfg;
	struct tb tb;
	unsigned type;
	int family, rc = 0;
	uint8_t proto = 0;

	memset(ev, 0, sizeof(*ev));
	if (len < NLMSG_HDRLEN + sizeof(*nfg) || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*nfg) ||
	    nlh->nlmsg_len > len || NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
		return -EINVAL;
	type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (type == IPCTNL_MSG_CT_NEW)
		ev->type =
		    nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL) ? CT_EVENT_NEW : CT_EVENT_UPDATE;
	else if (type == IPCTNL_MSG_CT_DELETE)
		ev->type = CT_EVENT_DESTROY;
	else
		return -EINVAL;
	nfg = (const struct nfgenmsg *)((const char *)nlh + NLMSG_HDRLEN);
	family = nfg->nfgen_family;
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (parse((const char *)nfg + NLMSG_ALIGN(sizeof(*nfg)),
	          nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(*nfg)), &tb))
		return -EINVAL;
	if (tb.a[CTA_TUPLE_ORIG]) {
		struct tb t, pr;

		if (nested(tb.a[CTA_TUPLE_ORIG], &t))
			return -EINVAL;
		if (t.a[CTA_TUPLE_PROTO]) {
			if (nested(t.a[CTA_TUPLE_PROTO], &pr))
				return -EINVAL;
			if (pr.a[CTA_PROTO_NUM] && get(pr.a[CTA_PROTO_NUM], &proto, 1))
				return -EINVAL;
		}
	}
	if (get_tuple(tb.a[CTA_TUPLE_ORIG], family, proto, &ev->conn.orig) ||
	    get_tuple(tb.a[CTA_TUPLE_REPLY], family, proto, &ev->conn.reply))
		return -EINVAL;
	if (tb.a[CTA_ZONE]) {
		uint16_t z;

		if (get(tb.a[CTA_ZONE], &z, 2))
			return -EINVAL;
		ev->conn.zone = ntohs(z);
	}
	if (tb.a[CTA_MARK])
		ev->conn.mark = be32_of(tb.a[CTA_MARK], &rc);
	if (tb.a[CTA_ID])
		ev->id = be32_of(tb.a[CTA_ID], &rc);
	if (tb.a[CTA_STATUS])
		ev->status = ct_status_from_ips(be32_of(tb.a[CTA_STATUS], &rc));
	if (tb.a[CTA_TIMEOUT]) {
		ev->has_timeout = true;
		ev->timeout = be32_of(tb.a[CTA_TIMEOUT], &rc);
	}
	if (rc)
		return rc;
	if (tb.a[CTA_HELP]) {
		struct tb h;

		if (nested(tb.a[CTA_HELP], &h))
			return -EINVAL;
		if (h.a[CTA_HELP_NAME]) {
			size_t n = strnlen(pdata(h.a[CTA_HELP_NAME]), plen(h.a[CTA_HELP_NAME]));

			if (n == plen(h.a[CTA_HELP_NAME]))
				return -EINVAL; /* not NUL-terminated */
			if (n > sizeof(ev->helper) - 1)
				n = sizeof(ev->helper) - 1;
			memcpy(ev->helper, pdata(h.a[CTA_HELP_NAME]), n);
			ev->status |= CT_ST_HELPER;
		}
	}
	if (proto == IPPROTO_TCP && tb.a[CTA_PROTOINFO]) {
		struct tb pi, tcp;

		if (nested(tb.a[CTA_PROTOINFO], &pi))
			return -EINVAL;
		if (pi.a[CTA_PROTOINFO_TCP]) {
			if (nested(pi.a[CTA_PROTOINFO_TCP], &tcp))
				return -EINVAL;
			if (tcp.a[CTA_PROTOINFO_TCP_STATE]) {
				if (get(tcp.a[CTA_PROTOINFO_TCP_STATE], &ev->tcp_state, 1))
					return -EINVAL;
				ev->has_tcp_state = true;
			}
		}
	}
	{
		bool has[2];

		if (get_counters(tb.a[CTA_COUNTERS_ORIG], &ev->packets[0], &ev->bytes[0],
		                 &has[0]) ||
		    get_counters(tb.a[CTA_COUNTERS_REPLY], &ev->packets[1], &ev->bytes[1], &has[1]))
			return -EINVAL;
		ev->has_counters = has[0];
		if (!has[0])
			ev->packets[0] = ev->packets[1] = ev->bytes[0] = ev->bytes[1] = 0;
	}
	return 0;
}

/* ---- the dump ------------------------------------------------------------------------------ */

int ct_dump_fd(int fd, const struct ct_handler *hd)
{
	static uint8_t buf[1 << 16] __attribute__((aligned(8)));
	struct {
		struct nlmsghdr nlh;
		struct nfgenmsg nfg;
	} req;
	uint32_t seq = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
	int lost = 0;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = seq;
	req.nfg.nfgen_family = AF_UNSPEC;
	req.nfg.version = NFNETLINK_V0;
	if (send(fd, &req, sizeof(req), 0) < 0) /* the kernel: the socket has no other peer */
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		size_t rem;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS && !lost) {
				/* entries were lost: read the rest to the end, so that nothing of
				 * this dump is left for the handle's next query, then fail */
				lost = -ENOBUFS;
				continue;
			}
			return -errno;
		}
		rem = (size_t)n;
		for (; rem >= NLMSG_HDRLEN && h->nlmsg_len >= NLMSG_HDRLEN && h->nlmsg_len <= rem;
		     rem -= NLMSG_ALIGN(h->nlmsg_len) < rem ? NLMSG_ALIGN(h->nlmsg_len) : rem,
		     h = (const struct nlmsghdr *)((const char *)h + NLMSG_ALIGN(h->nlmsg_len))) {
			struct ct_event ev;

			if (h->nlmsg_seq != seq)
				continue; /* not ours: an earlier request's late reply */
			if (h->nlmsg_type == NLMSG_DONE)
				return lost;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EIO;
				return e->error ? e->error : lost;
			}
			if (lost)
				continue;
			if (ct_event_from_nlmsg(h, h->nlmsg_len, &ev) == 0) {
				ev.type = CT_EVENT_UPDATE; /* a dump's entries, as before */
				hd->fn(hd->ctx, &ev);
			}
		}
	}
}
