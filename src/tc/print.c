/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tc_print: rule -> one line of `tc -batch` input. The words come in the order tc_encode puts
 * the attributes, so iproute2's tc (6.1) parses the line into exactly the bytes tc_encode
 * produces (the golden tests check both against captures of tc).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "tc_priv.h"

struct out {
	char *buf;
	size_t len;
	size_t pos; /* what the whole line needs so far */
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

static const char *proto_name(uint16_t p, char buf[8])
{
	switch (p) {
	case ETH_P_IP:
		return "ip";
	case ETH_P_IPV6:
		return "ipv6";
	case ETH_P_8021Q:
		return "802.1Q";
	case ETH_P_8021AD:
		return "802.1ad";
	case ETH_P_ALL:
		return "all";
	case ETH_P_ARP:
		return "arp";
	}
	snprintf(buf, 8, "0x%04x", p);
	return buf;
}

static const char *verdict_name(const struct tc_action *a, char buf[32])
{
	switch (a->verdict) {
	case TC_VERDICT_OK:
		return "pass";
	case TC_VERDICT_SHOT:
		return "drop";
	case TC_VERDICT_PIPE:
		return "pipe";
	case TC_VERDICT_STOLEN:
		return "stolen";
	case TC_VERDICT_GOTO_CHAIN:
		snprintf(buf, 32, "goto chain %u", a->goto_chain);
		return buf;
	}
	return "?";
}

static void mac(struct out *o, const char *word, const uint8_t *k, const uint8_t *m)
{
	outf(o, " %s %02x:%02x:%02x:%02x:%02x:%02x", word, k[0] & m[0], k[1] & m[1], k[2] & m[2],
	     k[3] & m[3], k[4] & m[4], k[5] & m[5]);
	if (!nto_all_ones(m, 6))
		outf(o, "/%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int addr(struct out *o, const char *word, int family, const union tc_addr *k,
                const union tc_addr *m)
{
	size_t n = family == AF_INET6 ? 16 : 4;
	uint8_t kb[16], mb[16];
	char s[INET6_ADDRSTRLEN];
	int bits;

	memcpy(kb, k, n);
	memcpy(mb, m, n);
	for (size_t i = 0; i < n; i++)
		kb[i] &= mb[i];
	bits = nto_prefix_len(mb, n);
	if (bits < 0)
		return -EINVAL; /* tc takes prefixes only */
	inet_ntop(family, kb, s, sizeof(s));
	outf(o, " %s %s", word, s);
	if ((size_t)bits != n * 8)
		outf(o, "/%d", bits);
	return 0;
}

static void hex(struct out *o, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		outf(o, "%02x", b[i]);
}

static void ct_state(struct out *o, uint16_t key, uint16_t mask)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} names[] = {
	    {TC_CT_TRACKED, "trk"}, {TC_CT_NEW, "new"},   {TC_CT_ESTABLISHED, "est"},
	    {TC_CT_RELATED, "rel"}, {TC_CT_REPLY, "rpl"}, {TC_CT_INVALID, "inv"},
	};

	outf(o, " ct_state ");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (mask & names[i].bit)
			outf(o, "%c%s", key & names[i].bit ? '+' : '-', names[i].name);
}

static int print_keys(struct out *o, const struct tc_rule *r)
{
	const struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	int family = nto_rule_family(r);
	size_t alen = family == AF_INET6 ? 16 : 4;
	char pb[8];

	if (m->indev[0])
		outf(o, " indev %s", k->indev);
	if (m->vlan_id)
		outf(o, " vlan_id %u", k->vlan_id);
	if (m->vlan_prio)
		outf(o, " vlan_prio %u", k->vlan_prio);
	if (m->vlan_eth_type)
		outf(o, " vlan_ethtype %s", proto_name(k->vlan_eth_type, pb));
	if (m->cvlan_id)
		outf(o, " cvlan_id %u", k->cvlan_id);
	if (m->cvlan_prio)
		outf(o, " cvlan_prio %u", k->cvlan_prio);
	if (m->cvlan_eth_type)
		outf(o, " cvlan_ethtype %s", proto_name(k->cvlan_eth_type, pb));
	if (!nto_all_zero(m->eth_dst, 6))
		mac(o, "dst_mac", k->eth_dst, m->eth_dst);
	if (!nto_all_zero(m->eth_src, 6))
		mac(o, "src_mac", k->eth_src, m->eth_src);
	if (m->ip_proto) {
		if (k->ip_proto == IPPROTO_TCP)
			outf(o, " ip_proto tcp");
		else if (k->ip_proto == IPPROTO_UDP)
			outf(o, " ip_proto udp");
		else if (k->ip_proto == IPPROTO_SCTP)
			outf(o, " ip_proto sctp");
		else if (k->ip_proto == IPPROTO_ICMP && family == AF_INET)
			outf(o, " ip_proto icmp");
		else if (k->ip_proto == IPPROTO_ICMPV6 && family == AF_INET6)
			outf(o, " ip_proto icmpv6");
		else
			outf(o, " ip_proto 0x%02x", k->ip_proto); /* tc reads it as hex */
	}
	if (m->ip_tos)
		outf(o, " ip_tos 0x%x/0x%x", k->ip_tos & m->ip_tos, m->ip_tos);
	if (m->ip_ttl)
		outf(o, " ip_ttl 0x%x/0x%x", k->ip_ttl & m->ip_ttl, m->ip_ttl);
	if (!nto_all_zero(&m->src, alen) && addr(o, "src_ip", family, &k->src, &m->src))
		return -EINVAL;
	if (!nto_all_zero(&m->dst, alen) && addr(o, "dst_ip", family, &k->dst, &m->dst))
		return -EINVAL;
	if (m->src_port)
		outf(o, " src_port %u", k->src_port);
	if (m->dst_port)
		outf(o, " dst_port %u", k->dst_port);
	if (m->tcp_flags)
		outf(o, " tcp_flags 0x%x/0x%x", k->tcp_flags & m->tcp_flags, m->tcp_flags);
	if (m->ct_state)
		ct_state(o, k->ct_state, m->ct_state);
	if (m->ct_zone) {
		outf(o, " ct_zone %u", k->ct_zone & m->ct_zone);
		if (m->ct_zone != 0xffff)
			outf(o, "/0x%x", m->ct_zone);
	}
	if (m->ct_mark)
		outf(o, " ct_mark 0x%x/0x%x", k->ct_mark & m->ct_mark, m->ct_mark);
	if (!nto_all_zero(m->ct_label, TC_CT_LABEL_LEN)) {
		uint8_t l[TC_CT_LABEL_LEN];

		for (size_t i = 0; i < TC_CT_LABEL_LEN; i++)
			l[i] = k->ct_label[i] & m->ct_label[i];
		outf(o, " ct_label ");
		hex(o, l, TC_CT_LABEL_LEN);
		outf(o, "/");
		hex(o, m->ct_label, TC_CT_LABEL_LEN);
	}
	if (r->flower.skip_sw)
		outf(o, " skip_sw");
	if (r->flower.skip_hw)
		outf(o, " skip_hw");
	return 0;
}

static void print_ct(struct out *o, const struct tc_act_ct *c)
{
	char s[INET6_ADDRSTRLEN];

	outf(o, " ct");
	if (c->flags & TC_CT_CLEAR)
		outf(o, " clear");
	if (c->flags & TC_CT_COMMIT)
		outf(o, " commit");
	if (c->flags & TC_CT_FORCE)
		outf(o, " force");
	if (c->zone)
		outf(o, " zone %u", c->zone);
	if (c->mark_mask)
		outf(o, " mark 0x%x/0x%x", c->mark, c->mark_mask);
	if (!nto_all_zero(c->label_mask, TC_CT_LABEL_LEN)) {
		outf(o, " label ");
		hex(o, c->label, TC_CT_LABEL_LEN);
		outf(o, "/");
		hex(o, c->label_mask, TC_CT_LABEL_LEN);
	}
	if (!(c->flags & TC_CT_NAT))
		return;
	outf(o, " nat");
	if (!(c->flags & (TC_CT_NAT_SRC | TC_CT_NAT_DST)))
		return;
	outf(o, c->flags & TC_CT_NAT_SRC ? " src" : " dst");
	inet_ntop(c->nat_family, &c->nat_addr_min, s, sizeof(s));
	outf(o, " addr %s", s);
	if (memcmp(&c->nat_addr_min, &c->nat_addr_max, c->nat_family == AF_INET6 ? 16 : 4)) {
		inet_ntop(c->nat_family, &c->nat_addr_max, s, sizeof(s));
		outf(o, "-%s", s);
	}
	if (c->nat_port_min) {
		outf(o, " port %u", c->nat_port_min);
		if (c->nat_port_max != c->nat_port_min)
			outf(o, "-%u", c->nat_port_max);
	}
}

static void print_pedit(struct out *o, const struct tc_act_pedit *p)
{
	char s[INET6_ADDRSTRLEN];

	outf(o, " pedit ex");
	for (unsigned i = 0; i < p->n_ops; i++) {
		const struct tc_pedit_op *op = &p->ops[i];
		const char *cmd = op->cmd == TC_PEDIT_ADD ? "add" : "set";

		outf(o, " munge %s %s ", nto_pedit_layout(op->field)->tc_name, cmd);
		switch (op->field) {
		case TC_PEDIT_ETH_DST:
		case TC_PEDIT_ETH_SRC:
			outf(o, "%02x:%02x:%02x:%02x:%02x:%02x", op->val.mac[0], op->val.mac[1],
			     op->val.mac[2], op->val.mac[3], op->val.mac[4], op->val.mac[5]);
			break;
		case TC_PEDIT_IP4_SRC:
		case TC_PEDIT_IP4_DST:
			outf(o, "%s", inet_ntop(AF_INET, &op->val.addr.v4, s, sizeof(s)));
			break;
		case TC_PEDIT_IP6_SRC:
		case TC_PEDIT_IP6_DST:
			outf(o, "%s", inet_ntop(AF_INET6, &op->val.addr.v6, s, sizeof(s)));
			break;
		case TC_PEDIT_IP4_TTL:
		case TC_PEDIT_IP6_HOPLIMIT:
			outf(o, "0x%x", op->val.u8);
			break;
		case TC_PEDIT_TCP_SPORT:
		case TC_PEDIT_TCP_DPORT:
		case TC_PEDIT_UDP_SPORT:
		case TC_PEDIT_UDP_DPORT:
			outf(o, "%u", op->val.port);
			break;
		}
	}
}

static void print_csum(struct out *o, uint32_t flags)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
	    {TC_CSUM_IPV4HDR, "iph"}, {TC_CSUM_ICMP, "icmp"}, {TC_CSUM_IGMP, "igmp"},
	    {TC_CSUM_TCP, "tcp"},     {TC_CSUM_UDP, "udp"},   {TC_CSUM_UDPLITE, "udplite"},
	    {TC_CSUM_SCTP, "sctp"},
	};

	outf(o, " csum");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit)
			outf(o, " %s", names[i].name);
}

static int print_action(struct out *o, const struct tc_rule *r, const struct tc_action *a,
                        tc_ifname_fn ifname, void *ctx)
{
	static const char *const mirred_ops[] = {
	    [TC_MIRRED_EGRESS_REDIRECT] = "egress redirect",
	    [TC_MIRRED_EGRESS_MIRROR] = "egress mirror",
	    [TC_MIRRED_INGRESS_REDIRECT] = "ingress redirect",
	    [TC_MIRRED_INGRESS_MIRROR] = "ingress mirror",
	};
	static const char *const vlan_ops[] = {
	    [TC_VLAN_POP] = "pop", [TC_VLAN_PUSH] = "push", [TC_VLAN_MODIFY] = "modify"};
	char vb[32], pb[8], dev[IFNAMSIZ];
	const char *name;
	bool print_verdict = true;

	outf(o, " action");
	switch (a->kind) {
	case TC_ACTION_GACT:
		break; /* the verdict is the action: "action drop" */
	case TC_ACTION_MIRRED: {
		bool redirect = a->mirred.op == TC_MIRRED_EGRESS_REDIRECT ||
		                a->mirred.op == TC_MIRRED_INGRESS_REDIRECT;

		name = ifname(ctx, a->mirred.ifindex, dev);
		if (!name)
			return -EINVAL;
		outf(o, " mirred %s dev %s", mirred_ops[a->mirred.op], name);
		/* Say the verdict only when it is not mirred's default. */
		print_verdict = a->verdict != (redirect ? TC_VERDICT_STOLEN : TC_VERDICT_PIPE);
		break;
	}
	case TC_ACTION_PEDIT:
		print_pedit(o, &a->pedit);
		break;
	case TC_ACTION_CSUM:
		print_csum(o, a->csum.flags);
		break;
	case TC_ACTION_VLAN:
		outf(o, " vlan %s", vlan_ops[a->vlan.op]);
		if (a->vlan.op != TC_VLAN_POP) {
			outf(o, " id %u protocol %s", a->vlan.id, proto_name(a->vlan.proto, pb));
			if (a->vlan.prio)
				outf(o, " priority %u", a->vlan.prio);
		}
		break;
	case TC_ACTION_CT:
		print_ct(o, &a->ct);
		break;
	}
	if (print_verdict)
		outf(o, " %s", verdict_name(a, vb));
	if (r->cookie_len) {
		outf(o, " cookie ");
		hex(o, r->cookie, r->cookie_len);
	}
	return 0;
}

static const char *default_ifname(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	(void)ctx;
	return if_indextoname(ifindex, buf);
}

int tc_print(const struct tc_rule *r, enum tc_msg_op op, tc_ifname_fn ifname, void *ctx, char *buf,
             size_t len)
{
	static const char *const ops[] = {
	    [TC_MSG_NEW] = "add",
	    [TC_MSG_REPLACE] = "replace",
	    [TC_MSG_DELETE] = "del",
	    [TC_MSG_GET] = "get",
	};
	struct out o = {buf, len, 0};
	char dev[IFNAMSIZ], pb[8];
	const char *name;

	if (buf && len)
		buf[0] = '\0';
	if (nto_validate(r, op, NULL, 0))
		return -EINVAL;
	if (!ifname)
		ifname = default_ifname;
	outf(&o, "filter %s", ops[op]);
	if (r->id.block_index) {
		outf(&o, " block %u", r->id.block_index);
	} else {
		name = ifname(ctx, r->id.ifindex, dev);
		if (!name)
			return -EINVAL;
		outf(&o, " dev %s %s", name, r->id.hook == TC_HOOK_EGRESS ? "egress" : "ingress");
	}
	outf(&o, " protocol %s pref %u chain %u", proto_name(r->id.protocol, pb), r->id.prio,
	     r->id.chain);
	if (r->id.handle)
		outf(&o, " handle 0x%x", r->id.handle);
	outf(&o, " flower");
	if (op == TC_MSG_NEW || op == TC_MSG_REPLACE) {
		if (print_keys(&o, r))
			return -EINVAL;
		for (unsigned i = 0; i < r->n_actions; i++)
			if (print_action(&o, r, &r->actions[i], ifname, ctx))
				return -EINVAL;
	}
	if (o.pos > 0x7fffffff)
		return -EINVAL;
	return (int)o.pos;
}
