/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The event model's pure helpers: names, a conntrack(8)-like line, the table key.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nft-tc-offload/conntrack.h"

const char *ct_tcp_state_name(unsigned state)
{
	static const char *const names[CT_TCP_STATE_MAX] = {
	    [CT_TCP_NONE] = "NONE",         [CT_TCP_SYN_SENT] = "SYN_SENT",
	    [CT_TCP_SYN_RECV] = "SYN_RECV", [CT_TCP_ESTABLISHED] = "ESTABLISHED",
	    [CT_TCP_FIN_WAIT] = "FIN_WAIT", [CT_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	    [CT_TCP_LAST_ACK] = "LAST_ACK", [CT_TCP_TIME_WAIT] = "TIME_WAIT",
	    [CT_TCP_CLOSE] = "CLOSE",       [CT_TCP_SYN_SENT2] = "SYN_SENT2",
	};

	return state < CT_TCP_STATE_MAX ? names[state] : "?";
}

const char *ct_reason_name(enum ct_reason r)
{
	static const char *const names[CT_R_COUNT] = {
	    [CT_R_NONE] = "none",
	    [CT_R_FAMILY] = "family",
	    [CT_R_PROTO] = "protocol",
	    [CT_R_TCP_STATE] = "tcp-state",
	    [CT_R_TCP_CLOSING] = "tcp-closing",
	    [CT_R_NOT_ASSURED] = "not-assured",
	    [CT_R_UDP_UNREPLIED] = "udp-unreplied",
	    [CT_R_HELPER] = "helper",
	    [CT_R_SEQ_ADJUST] = "seq-adjust",
	    [CT_R_NO_RULE] = "no-rule",
	    [CT_R_SPEC] = "not-selected",
	    [CT_R_ZONE] = "zone",
	    [CT_R_MARK] = "mark",
	    [CT_R_IIF] = "iif",
	    [CT_R_OIF] = "oif",
	    [CT_R_EXCLUDED] = "excluded",
	    [CT_R_PATH] = "path",
	    [CT_R_RULE] = "rule",
	    [CT_R_PROFILE] = "profile",
	    [CT_R_INSTALL] = "install",
	    [CT_R_FULL] = "table-full",
	    [CT_R_POLICY] = "policy",
	    [CT_R_IDLE] = "idle",
	};

	return (unsigned)r < CT_R_COUNT ? names[r] : "?";
}

static const char *proto_name(uint8_t p, char buf[8])
{
	if (p == IPPROTO_TCP)
		return "tcp";
	if (p == IPPROTO_UDP)
		return "udp";
	snprintf(buf, 8, "%u", p);
	return buf;
}

struct out {
	char *buf;
	size_t len, pos;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->pos < o->len ? o->len - o->pos : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

static void tuple(struct out *o, const struct flow_tuple *t)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int f = t->family == AF_INET6 ? AF_INET6 : AF_INET;

	inet_ntop(f, &t->src, s, sizeof(s));
	inet_ntop(f, &t->dst, d, sizeof(d));
	outf(o, " src=%s dst=%s sport=%u dport=%u", s, d, t->sport, t->dport);
}

int ct_event_format(const struct ct_event *ev, char *buf, size_t len)
{
	static const char *const types[] = {"?", "NEW", "UPDATE", "DESTROY"};
	struct out o = {buf, len, 0};
	char pb[8];

	if (len)
		buf[0] = '\0';
	outf(&o, "%s %s", types[(unsigned)ev->type < 4 ? ev->type : 0],
	     proto_name(ev->conn.orig.proto, pb));
	if (ev->has_timeout)
		outf(&o, " %u", ev->timeout);
	if (ev->conn.orig.proto == IPPROTO_TCP && ev->has_tcp_state)
		outf(&o, " %s", ct_tcp_state_name(ev->tcp_state));
	tuple(&o, &ev->conn.orig);
	if (!(ev->status & CT_ST_SEEN_REPLY))
		outf(&o, " [UNREPLIED]");
	tuple(&o, &ev->conn.reply);
	if (ev->status & CT_ST_OFFLOAD)
		outf(&o, " [OFFLOAD]");
	if (ev->status & CT_ST_HW_OFFLOAD)
		outf(&o, " [HW_OFFLOAD]");
	if (ev->status & CT_ST_ASSURED)
		outf(&o, " [ASSURED]");
	if (ev->status & CT_ST_SEQ_ADJUST)
		outf(&o, " [SEQ_ADJUST]");
	if (ev->status & CT_ST_HELPER)
		outf(&o, " helper=%s", ev->helper[0] ? ev->helper : "?");
	outf(&o, " mark=%u zone=%u id=%u", ev->conn.mark, ev->conn.zone, ev->id);
	return (int)o.pos;
}

void ct_key_from_conn(const struct flow_conn *c, struct ct_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)c->orig.family;
	k->proto = c->orig.proto;
	k->zone = c->zone;
	k->sport = c->orig.sport;
	k->dport = c->orig.dport;
	if (c->orig.family == AF_INET) {
		k->src.v4 = c->orig.src.v4;
		k->dst.v4 = c->orig.dst.v4;
	} else {
		k->src = c->orig.src;
		k->dst = c->orig.dst;
	}
}
