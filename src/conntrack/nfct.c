/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The edges to libnetfilter_conntrack: object -> struct ct_event, the reverse (tests and
 * queries), the timeout refresh, and the event subscription. Nothing else in the engine
 * knows the library.
 */
#include <errno.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nft-tc-offload/conntrack.h"

/* IPS_* bits of linux/netfilter/nf_conntrack_common.h; the library's copy of that header
 * predates the offload bits, so all are spelled out here. */
#define K_IPS_SEEN_REPLY (1u << 1)
#define K_IPS_ASSURED    (1u << 2)
#define K_IPS_CONFIRMED  (1u << 3)
#define K_IPS_SRC_NAT    (1u << 4)
#define K_IPS_DST_NAT    (1u << 5)
#define K_IPS_SEQ_ADJUST (1u << 6)
#define K_IPS_DYING      (1u << 9)
#define K_IPS_HELPER     (1u << 13)
#define K_IPS_OFFLOAD    (1u << 14)
#define K_IPS_HW_OFFLOAD (1u << 15)

static const struct {
	uint32_t ips, ours;
} status_map[] = {
    {K_IPS_SEEN_REPLY, CT_ST_SEEN_REPLY}, {K_IPS_ASSURED, CT_ST_ASSURED},
    {K_IPS_CONFIRMED, CT_ST_CONFIRMED},   {K_IPS_SRC_NAT, CT_ST_SRC_NAT},
    {K_IPS_DST_NAT, CT_ST_DST_NAT},       {K_IPS_SEQ_ADJUST, CT_ST_SEQ_ADJUST},
    {K_IPS_DYING, CT_ST_DYING},           {K_IPS_HELPER, CT_ST_HELPER},
    {K_IPS_OFFLOAD, CT_ST_OFFLOAD},       {K_IPS_HW_OFFLOAD, CT_ST_HW_OFFLOAD},
};

uint32_t ct_status_from_ips(uint32_t ips)
{
	uint32_t st = 0;

	for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
		if (ips & status_map[i].ips)
			st |= status_map[i].ours;
	return st;
}

static int get_tuple(const struct nf_conntrack *ct, bool reply, int family, uint8_t proto,
                     struct flow_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->family = family;
	t->proto = proto;
	if (family == AF_INET) {
		const enum nf_conntrack_attr s = reply ? ATTR_REPL_IPV4_SRC : ATTR_ORIG_IPV4_SRC;
		const enum nf_conntrack_attr d = reply ? ATTR_REPL_IPV4_DST : ATTR_ORIG_IPV4_DST;

		if (!nfct_attr_is_set(ct, s) || !nfct_attr_is_set(ct, d))
			return -EINVAL;
		t->src.v4.s_addr = nfct_get_attr_u32(ct, s);
		t->dst.v4.s_addr = nfct_get_attr_u32(ct, d);
	} else {
		const enum nf_conntrack_attr s = reply ? ATTR_REPL_IPV6_SRC : ATTR_ORIG_IPV6_SRC;
		const enum nf_conntrack_attr d = reply ? ATTR_REPL_IPV6_DST : ATTR_ORIG_IPV6_DST;

		if (!nfct_attr_is_set(ct, s) || !nfct_attr_is_set(ct, d))
			return -EINVAL;
		memcpy(&t->src.v6, nfct_get_attr(ct, s), 16);
		memcpy(&t->dst.v6, nfct_get_attr(ct, d), 16);
	}
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	    proto == IPPROTO_UDPLITE || proto == IPPROTO_DCCP) {
		const enum nf_conntrack_attr s = reply ? ATTR_REPL_PORT_SRC : ATTR_ORIG_PORT_SRC;
		const enum nf_conntrack_attr d = reply ? ATTR_REPL_PORT_DST : ATTR_ORIG_PORT_DST;

		if (nfct_attr_is_set(ct, s))
			t->sport = ntohs(nfct_get_attr_u16(ct, s));
		if (nfct_attr_is_set(ct, d))
			t->dport = ntohs(nfct_get_attr_u16(ct, d));
	}
	return 0;
}

int ct_event_from_nfct(int nfct_type, const struct nf_conntrack *ct, struct ct_event *ev)
{
	int family;
	uint8_t proto;
	uint32_t ips;
	int rc;

	memset(ev, 0, sizeof(*ev));
	switch (nfct_type) {
	case NFCT_T_NEW:
		ev->type = CT_EVENT_NEW;
		break;
	case NFCT_T_DESTROY:
		ev->type = CT_EVENT_DESTROY;
		break;
	default:
		ev->type = CT_EVENT_UPDATE;
		break;
	}
	if (!nfct_attr_is_set(ct, ATTR_ORIG_L3PROTO))
		return -EINVAL;
	family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	proto =
	    nfct_attr_is_set(ct, ATTR_ORIG_L4PROTO) ? nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) : 0;
	rc = get_tuple(ct, false, family, proto, &ev->conn.orig);
	if (rc == 0)
		rc = get_tuple(ct, true, family, proto, &ev->conn.reply);
	if (rc)
		return rc;
	if (nfct_attr_is_set(ct, ATTR_ZONE))
		ev->conn.zone = nfct_get_attr_u16(ct, ATTR_ZONE);
	if (nfct_attr_is_set(ct, ATTR_MARK))
		ev->conn.mark = nfct_get_attr_u32(ct, ATTR_MARK);
	if (nfct_attr_is_set(ct, ATTR_ID))
		ev->id = nfct_get_attr_u32(ct, ATTR_ID);
	ips = nfct_attr_is_set(ct, ATTR_STATUS) ? nfct_get_attr_u32(ct, ATTR_STATUS) : 0;
	ev->status = ct_status_from_ips(ips);
	if (nfct_attr_is_set(ct, ATTR_HELPER_NAME)) {
		const char *h = nfct_get_attr(ct, ATTR_HELPER_NAME);

		ev->status |= CT_ST_HELPER;
		snprintf(ev->helper, sizeof(ev->helper), "%s", h ? h : "");
	}
	if (proto == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE)) {
		ev->has_tcp_state = true;
		ev->tcp_state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
	}
	if (nfct_attr_is_set(ct, ATTR_TIMEOUT)) {
		ev->has_timeout = true;
		ev->timeout = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
	}
	if (nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_PACKETS)) {
		ev->has_counters = true;
		ev->packets[0] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS);
		ev->bytes[0] = nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_BYTES)
		                   ? nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES)
		                   : 0;
		ev->packets[1] = nfct_attr_is_set(ct, ATTR_REPL_COUNTER_PACKETS)
		                     ? nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS)
		                     : 0;
		ev->bytes[1] = nfct_attr_is_set(ct, ATTR_REPL_COUNTER_BYTES)
		                   ? nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES)
		                   : 0;
	}
	return 0;
}

static void set_tuple(struct nf_conntrack *ct, bool reply, const struct flow_tuple *t)
{
	if (t->family == AF_INET) {
		nfct_set_attr_u32(ct, reply ? ATTR_REPL_IPV4_SRC : ATTR_ORIG_IPV4_SRC,
		                  t->src.v4.s_addr);
		nfct_set_attr_u32(ct, reply ? ATTR_REPL_IPV4_DST : ATTR_ORIG_IPV4_DST,
		                  t->dst.v4.s_addr);
	} else {
		nfct_set_attr(ct, reply ? ATTR_REPL_IPV6_SRC : ATTR_ORIG_IPV6_SRC, &t->src.v6);
		nfct_set_attr(ct, reply ? ATTR_REPL_IPV6_DST : ATTR_ORIG_IPV6_DST, &t->dst.v6);
	}
	nfct_set_attr_u8(ct, reply ? ATTR_REPL_L3PROTO : ATTR_ORIG_L3PROTO, (uint8_t)t->family);
	nfct_set_attr_u8(ct, reply ? ATTR_REPL_L4PROTO : ATTR_ORIG_L4PROTO, t->proto);
	nfct_set_attr_u16(ct, reply ? ATTR_REPL_PORT_SRC : ATTR_ORIG_PORT_SRC, htons(t->sport));
	nfct_set_attr_u16(ct, reply ? ATTR_REPL_PORT_DST : ATTR_ORIG_PORT_DST, htons(t->dport));
}

struct nf_conntrack *ct_event_to_nfct(const struct ct_event *ev)
{
	struct nf_conntrack *ct = nfct_new();
	uint32_t ips = 0;

	if (!ct)
		return NULL;
	set_tuple(ct, false, &ev->conn.orig);
	set_tuple(ct, true, &ev->conn.reply);
	nfct_set_attr_u16(ct, ATTR_ZONE, ev->conn.zone);
	nfct_set_attr_u32(ct, ATTR_MARK, ev->conn.mark);
	if (ev->id)
		nfct_set_attr_u32(ct, ATTR_ID, ev->id);
	for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
		if (ev->status & status_map[i].ours)
			ips |= status_map[i].ips;
	nfct_set_attr_u32(ct, ATTR_STATUS, ips);
	if (ev->helper[0])
		nfct_set_attr(ct, ATTR_HELPER_NAME, ev->helper);
	if (ev->has_tcp_state)
		nfct_set_attr_u8(ct, ATTR_TCP_STATE, ev->tcp_state);
	if (ev->has_timeout)
		nfct_set_attr_u32(ct, ATTR_TIMEOUT, ev->timeout);
	return ct;
}

/* A query object for the connection of key: its original tuple and zone. */
static struct nf_conntrack *key_object(const struct ct_key *key)
{
	struct nf_conntrack *ct = nfct_new();
	struct flow_tuple t = {
	    .family = key->family,
	    .proto = key->proto,
	    .src = key->src,
	    .dst = key->dst,
	    .sport = key->sport,
	    .dport = key->dport,
	};

	if (!ct)
		return NULL;
	set_tuple(ct, false, &t);
	nfct_set_attr_u16(ct, ATTR_ZONE, key->zone);
	return ct;
}

static int update(struct nfct_handle *h, struct nf_conntrack *ct)
{
	int rc = 0;

	if (!ct)
		return -ENOMEM;
	errno = 0;
	if (nfct_query(h, NFCT_Q_UPDATE, ct) < 0)
		rc = errno ? -errno : -EIO;
	nfct_destroy(ct);
	return rc;
}

/* linux/netfilter/nf_conntrack_tcp.h */
#define K_IP_CT_TCP_FLAG_BE_LIBERAL 0x08
#define K_IP_CT_TCP_FLAG_MAXACK_SET 0x20

/* Both directions: window tracking liberal, and "no ACK seen yet". Since 5.x an RST whose
 * sequence number is not exactly the last ACK conntrack saw keeps the entry ESTABLISHED (for
 * a challenge ACK) and only shortens its timeout to the close timeout: no state change, no
 * event. Once our rules carry the segments that ACK is always stale, so the RST of every
 * offloaded connection took that path and the entry only went when it expired. Without
 * MAXACK_SET the check is skipped and the RST moves the entry to CLOSE with an UPDATE event,
 * as the kernel's own flowtable tears a flow down on any RST. */
static void set_tcp_flags(struct nf_conntrack *ct)
{
	const uint8_t mask = K_IP_CT_TCP_FLAG_BE_LIBERAL | K_IP_CT_TCP_FLAG_MAXACK_SET;

	nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, K_IP_CT_TCP_FLAG_BE_LIBERAL);
	nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, mask);
	nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, K_IP_CT_TCP_FLAG_BE_LIBERAL);
	nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, mask);
}

static int tcp_state_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	int *state = data;

	(void)type;
	if (nfct_attr_is_set(ct, ATTR_TCP_STATE))
		*state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
	return NFCT_CB_CONTINUE;
}

/* The TCP state (enum ct_tcp_state) of key's connection now, or a negative errno. */
static int tcp_state_now(struct nfct_handle *h, const struct ct_key *key)
{
	struct nf_conntrack *ct = key_object(key);
	int state = -ENODATA, rc = 0;

	if (!ct)
		return -ENOMEM;
	nfct_callback_unregister(h);
	errno = 0;
	if (nfct_callback_register(h, NFCT_T_ALL, tcp_state_cb, &state) < 0) {
		rc = errno ? -errno : -EIO;
	} else {
		errno = 0;
		if (nfct_query(h, NFCT_Q_GET, ct) < 0)
			rc = errno ? -errno : -EIO;
		nfct_callback_unregister(h);
	}
	nfct_destroy(ct);
	return rc ? rc : state;
}

int ct_refresh_timeout(struct nfct_handle *h, const struct ct_key *key, uint32_t timeout_s)
{
	struct nf_conntrack *ct;

	/* Only an ESTABLISHED entry gets the (long) established timeout. The packets that made
	 * the connection "active" since the last poll may have ended with its FIN, and the
	 * engine learns of the closing state only from an event it has not read yet: an
	 * unconditional update gave a LAST_ACK or CLOSE entry the 5-day timeout, and since
	 * its last segments went through our rules and no packet came after, conntrack kept
	 * it (and the engine tracked it) for 5 days (lab.resources). What is left is the
	 * microseconds between this query and the update. An entry the kernel's flowtable
	 * holds (IPS_OFFLOAD) comes without its TCP state (-ENODATA): the update below then
	 * fails with -EOPNOTSUPP, as before. */
	if (key->proto == IPPROTO_TCP) {
		int st = tcp_state_now(h, key);

		if (st < 0 && st != -ENODATA)
			return st;
		if (st >= 0 && st != CT_TCP_ESTABLISHED)
			return -ENOENT;
	}
	ct = key_object(key);
	if (ct) {
		nfct_set_attr_u32(ct, ATTR_TIMEOUT, timeout_s);
		/* segments that reached the stack since the install (retransmissions, the
		 * first ones after it) set MAXACK again */
		if (key->proto == IPPROTO_TCP)
			set_tcp_flags(ct);
	}
	return update(h, ct);
}

int ct_set_tcp_liberal(struct nfct_handle *h, const struct ct_key *key)
{
	struct nf_conntrack *ct = key_object(key);

	if (ct)
		set_tcp_flags(ct);
	return update(h, ct);
}

struct nfct_handle *ct_events_open(int *err)
{
	struct nfct_handle *h =
	    nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE |
	                             NF_NETLINK_CONNTRACK_DESTROY);

	if (err)
		*err = h ? 0 : (errno ? -errno : -EIO);
	return h;
}

static int handler_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	const struct ct_handler *hd = data;
	struct ct_event ev;

	if (ct_event_from_nfct(type, ct, &ev) == 0)
		hd->fn(hd->ctx, &ev);
	if (hd->budget && *hd->budget && --*hd->budget == 0)
		return NFCT_CB_STOP;
	return NFCT_CB_CONTINUE;
}

int ct_events_set_handler(struct nfct_handle *h, const struct ct_handler *hd)
{
	nfct_callback_unregister(h);
	errno = 0;
	if (nfct_callback_register(h, NFCT_T_ALL, handler_cb, (void *)hd) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

int ct_events_read(struct nfct_handle *h, const struct ct_handler *hd)
{
	for (;;) {
		errno = 0;
		if (nfct_catch(h) >= 0) {
			if (hd && hd->budget && !*hd->budget)
				return -EAGAIN;
			continue; /* a callback stopped it: go on reading */
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			continue;
		return errno ? -errno : -EIO;
	}
}

int ct_dump(struct nfct_handle *h, const struct ct_handler *hd)
{
	uint32_t family = AF_UNSPEC;
	int rc = 0;

	/* through the library (ct_dump_fd, which reads the messages itself, is not used here:
	 * the daemon stopped answering in it once in lab.daemon_flow, docs/benchmarks.md) */
	nfct_callback_unregister(h);
	errno = 0;
	if (nfct_callback_register(h, NFCT_T_ALL, handler_cb, (void *)hd) < 0)
		return errno ? -errno : -EIO;
	errno = 0;
	if (nfct_query(h, NFCT_Q_DUMP, &family) < 0)
		rc = errno ? -errno : -EIO;
	nfct_callback_unregister(h);
	return rc;
}
