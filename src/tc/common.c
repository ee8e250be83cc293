/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What encode, decode and print share: pedit layouts, verdicts and the validity rules. */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_csum.h>
#include <linux/tc_act/tc_ct.h>
#include <linux/tc_act/tc_pedit.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "tc_priv.h"

/* rule.h names these uapi values so the layers above need no uapi headers; tc/ passes them
 * through unchanged. */
#define SAME(a, b) _Static_assert((long)(a) == (long)(b), #a " != " #b)
SAME(TC_VERDICT_OK, TC_ACT_OK);
SAME(TC_VERDICT_SHOT, TC_ACT_SHOT);
SAME(TC_VERDICT_PIPE, TC_ACT_PIPE);
SAME(TC_VERDICT_STOLEN, TC_ACT_STOLEN);
SAME(TC_CT_NEW, TCA_FLOWER_KEY_CT_FLAGS_NEW);
SAME(TC_CT_ESTABLISHED, TCA_FLOWER_KEY_CT_FLAGS_ESTABLISHED);
SAME(TC_CT_RELATED, TCA_FLOWER_KEY_CT_FLAGS_RELATED);
SAME(TC_CT_TRACKED, TCA_FLOWER_KEY_CT_FLAGS_TRACKED);
SAME(TC_CT_INVALID, TCA_FLOWER_KEY_CT_FLAGS_INVALID);
SAME(TC_CT_REPLY, TCA_FLOWER_KEY_CT_FLAGS_REPLY);
SAME(TC_CSUM_IPV4HDR, TCA_CSUM_UPDATE_FLAG_IPV4HDR);
SAME(TC_CSUM_ICMP, TCA_CSUM_UPDATE_FLAG_ICMP);
SAME(TC_CSUM_IGMP, TCA_CSUM_UPDATE_FLAG_IGMP);
SAME(TC_CSUM_TCP, TCA_CSUM_UPDATE_FLAG_TCP);
SAME(TC_CSUM_UDP, TCA_CSUM_UPDATE_FLAG_UDP);
SAME(TC_CSUM_UDPLITE, TCA_CSUM_UPDATE_FLAG_UDPLITE);
SAME(TC_CSUM_SCTP, TCA_CSUM_UPDATE_FLAG_SCTP);
SAME(TC_CT_COMMIT, TCA_CT_ACT_COMMIT);
SAME(TC_CT_FORCE, TCA_CT_ACT_FORCE);
SAME(TC_CT_CLEAR, TCA_CT_ACT_CLEAR);
SAME(TC_CT_NAT, TCA_CT_ACT_NAT);
SAME(TC_CT_NAT_SRC, TCA_CT_ACT_NAT_SRC);
SAME(TC_CT_NAT_DST, TCA_CT_ACT_NAT_DST);
#undef SAME

int nto_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const struct nto_pedit_layout pedit_layouts[] = {
    [TC_PEDIT_ETH_DST] = {TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 0, 6, "eth dst"},
    [TC_PEDIT_ETH_SRC] = {TCA_PEDIT_KEY_EX_HDR_TYPE_ETH, 6, 6, "eth src"},
    [TC_PEDIT_IP4_SRC] = {TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, 12, 4, "ip src"},
    [TC_PEDIT_IP4_DST] = {TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, 16, 4, "ip dst"},
    [TC_PEDIT_IP4_TTL] = {TCA_PEDIT_KEY_EX_HDR_TYPE_IP4, 8, 1, "ip ttl"},
    [TC_PEDIT_IP6_SRC] = {TCA_PEDIT_KEY_EX_HDR_TYPE_IP6, 8, 16, "ip6 src"},
    [TC_PEDIT_IP6_DST] = {TCA_PEDIT_KEY_EX_HDR_TYPE_IP6, 24, 16, "ip6 dst"},
    [TC_PEDIT_IP6_HOPLIMIT] = {TCA_PEDIT_KEY_EX_HDR_TYPE_IP6, 7, 1, "ip6 hoplimit"},
    [TC_PEDIT_TCP_SPORT] = {TCA_PEDIT_KEY_EX_HDR_TYPE_TCP, 0, 2, "tcp sport"},
    [TC_PEDIT_TCP_DPORT] = {TCA_PEDIT_KEY_EX_HDR_TYPE_TCP, 2, 2, "tcp dport"},
    [TC_PEDIT_UDP_SPORT] = {TCA_PEDIT_KEY_EX_HDR_TYPE_UDP, 0, 2, "udp sport"},
    [TC_PEDIT_UDP_DPORT] = {TCA_PEDIT_KEY_EX_HDR_TYPE_UDP, 2, 2, "udp dport"},
};

const struct nto_pedit_layout *nto_pedit_layout(enum tc_pedit_field f)
{
	if ((unsigned)f >= sizeof(pedit_layouts) / sizeof(pedit_layouts[0]) ||
	    !pedit_layouts[f].htype)
		return NULL;
	return &pedit_layouts[f];
}

void nto_pedit_value_bytes(const struct tc_pedit_op *op, uint8_t out[16])
{
	memset(out, 0, 16);
	switch (op->field) {
	case TC_PEDIT_ETH_DST:
	case TC_PEDIT_ETH_SRC:
		memcpy(out, op->val.mac, 6);
		break;
	case TC_PEDIT_IP4_SRC:
	case TC_PEDIT_IP4_DST:
		memcpy(out, &op->val.addr.v4, 4);
		break;
	case TC_PEDIT_IP6_SRC:
	case TC_PEDIT_IP6_DST:
		memcpy(out, &op->val.addr.v6, 16);
		break;
	case TC_PEDIT_IP4_TTL:
	case TC_PEDIT_IP6_HOPLIMIT:
		out[0] = op->val.u8;
		break;
	case TC_PEDIT_TCP_SPORT:
	case TC_PEDIT_TCP_DPORT:
	case TC_PEDIT_UDP_SPORT:
	case TC_PEDIT_UDP_DPORT:
		out[0] = op->val.port >> 8;
		out[1] = op->val.port & 0xff;
		break;
	}
}

void nto_pedit_set_value(struct tc_pedit_op *op, const uint8_t *b)
{
	memset(&op->val, 0, sizeof(op->val));
	switch (op->field) {
	case TC_PEDIT_ETH_DST:
	case TC_PEDIT_ETH_SRC:
		memcpy(op->val.mac, b, 6);
		break;
	case TC_PEDIT_IP4_SRC:
	case TC_PEDIT_IP4_DST:
		memcpy(&op->val.addr.v4, b, 4);
		break;
	case TC_PEDIT_IP6_SRC:
	case TC_PEDIT_IP6_DST:
		memcpy(&op->val.addr.v6, b, 16);
		break;
	case TC_PEDIT_IP4_TTL:
	case TC_PEDIT_IP6_HOPLIMIT:
		op->val.u8 = b[0];
		break;
	case TC_PEDIT_TCP_SPORT:
	case TC_PEDIT_TCP_DPORT:
	case TC_PEDIT_UDP_SPORT:
	case TC_PEDIT_UDP_DPORT:
		op->val.port = (uint16_t)(b[0] << 8 | b[1]);
		break;
	}
}

int nto_rule_family(const struct tc_rule *r)
{
	return tc_rule_family(r);
}

uint32_t nto_verdict_to_tc(const struct tc_action *a)
{
	if (a->verdict == TC_VERDICT_GOTO_CHAIN)
		return TC_ACT_GOTO_CHAIN | a->goto_chain;
	return (uint32_t)a->verdict;
}

int nto_prefix_len(const uint8_t *mask, size_t n)
{
	int bits = 0;
	bool hole = false;

	for (size_t i = 0; i < n; i++)
		for (int j = 7; j >= 0; j--) {
			if (mask[i] >> j & 1) {
				if (hole)
					return -1;
				bits++;
			} else {
				hole = true;
			}
		}
	return bits;
}

static bool is_vlan_proto(uint16_t p)
{
	return p == ETH_P_8021Q || p == ETH_P_8021AD;
}

#define FAIL(...) nto_fail(err, errlen, __VA_ARGS__)

/* Fields that flower matches without a mask must have an all-ones mask or none. */
#define EXACT_OR_ABSENT(m, name)                                                                   \
	do {                                                                                       \
		if (!nto_all_zero(&(m), sizeof(m)) && !nto_all_ones(&(m), sizeof(m)))              \
			return FAIL("%s is matched exactly: its mask must be all ones", name);     \
	} while (0)

static int validate_flower(const struct tc_rule *r, char *err, size_t errlen)
{
	const struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	int family = nto_rule_family(r);
	uint16_t proto = r->id.protocol;

	if (m->indev[0] && (!k->indev[0] || strnlen(k->indev, IFNAMSIZ) >= IFNAMSIZ))
		return FAIL("indev: empty or unterminated device name");
	EXACT_OR_ABSENT(m->eth_type, "eth_type");
	if (m->eth_type && (k->eth_type != proto || proto == ETH_P_ALL))
		return FAIL("eth_type 0x%04x: flower takes the ethertype from the filter protocol "
		            "(0x%04x)",
		            k->eth_type, proto);
	EXACT_OR_ABSENT(m->vlan_id, "vlan_id");
	EXACT_OR_ABSENT(m->vlan_prio, "vlan_prio");
	EXACT_OR_ABSENT(m->vlan_eth_type, "vlan_ethtype");
	EXACT_OR_ABSENT(m->cvlan_id, "cvlan_id");
	EXACT_OR_ABSENT(m->cvlan_prio, "cvlan_prio");
	EXACT_OR_ABSENT(m->cvlan_eth_type, "cvlan_ethtype");
	EXACT_OR_ABSENT(m->ip_proto, "ip_proto");
	EXACT_OR_ABSENT(m->src_port, "src_port");
	EXACT_OR_ABSENT(m->dst_port, "dst_port");
	if ((m->vlan_id || m->vlan_prio || m->vlan_eth_type) && !is_vlan_proto(proto))
		return FAIL("vlan match needs protocol 802.1Q or 802.1ad");
	if (m->vlan_id && k->vlan_id > 0xfff)
		return FAIL("vlan_id %u out of range", k->vlan_id);
	if (m->vlan_prio && k->vlan_prio > 7)
		return FAIL("vlan_prio %u out of range", k->vlan_prio);
	if ((m->cvlan_id || m->cvlan_prio || m->cvlan_eth_type) &&
	    !(m->vlan_eth_type && is_vlan_proto(k->vlan_eth_type)))
		return FAIL("cvlan match needs vlan_ethtype 802.1Q or 802.1ad");
	if (m->cvlan_id && k->cvlan_id > 0xfff)
		return FAIL("cvlan_id %u out of range", k->cvlan_id);
	if (m->cvlan_prio && k->cvlan_prio > 7)
		return FAIL("cvlan_prio %u out of range", k->cvlan_prio);
	if (m->cvlan_eth_type && is_vlan_proto(k->cvlan_eth_type))
		return FAIL("more than two VLAN tags");
	if ((m->ip_proto || m->ip_tos || m->ip_ttl) && !family)
		return FAIL("ip_proto/ip_tos/ip_ttl need protocol ip or ipv6");
	if ((!nto_all_zero(&m->src, sizeof(m->src)) || !nto_all_zero(&m->dst, sizeof(m->dst))) &&
	    !family)
		return FAIL("src_ip/dst_ip need protocol ip or ipv6");
	if (family == AF_INET &&
	    (!nto_all_zero(&m->src.v6.s6_addr[4], 12) || !nto_all_zero(&m->dst.v6.s6_addr[4], 12)))
		return FAIL("IPv6-sized address mask on an IPv4 rule");
	if ((m->src_port || m->dst_port) &&
	    !(m->ip_proto && (k->ip_proto == IPPROTO_TCP || k->ip_proto == IPPROTO_UDP)))
		return FAIL("src_port/dst_port need ip_proto tcp or udp");
	if (m->tcp_flags && !(m->ip_proto && k->ip_proto == IPPROTO_TCP))
		return FAIL("tcp_flags needs ip_proto tcp");
	if (m->tcp_flags & ~0xfff)
		return FAIL("tcp_flags mask 0x%x has bits beyond the 12 TCP flags", m->tcp_flags);
	if (m->ct_state & ~0x3f)
		return FAIL("ct_state mask 0x%x has unknown bits", m->ct_state);
	if (r->flower.skip_sw && r->flower.skip_hw)
		return FAIL("skip_sw and skip_hw together match nothing");
	return 0;
}

static int validate_verdict(const struct tc_action *a, char *err, size_t errlen)
{
	switch (a->verdict) {
	case TC_VERDICT_OK:
	case TC_VERDICT_SHOT:
	case TC_VERDICT_PIPE:
		return 0;
	case TC_VERDICT_STOLEN:
		if (a->kind == TC_ACTION_GACT)
			return FAIL("gact stolen is not expressible with tc");
		return 0;
	case TC_VERDICT_GOTO_CHAIN:
		if (a->goto_chain > TC_ACT_EXT_VAL_MASK)
			return FAIL("goto chain %u out of range", a->goto_chain);
		return 0;
	}
	return FAIL("unknown verdict %d", (int)a->verdict);
}

static int validate_ct(const struct tc_act_ct *c, char *err, size_t errlen)
{
	uint16_t f = c->flags;
	bool nat_range = f & (TC_CT_NAT_SRC | TC_CT_NAT_DST);

	if (f & ~0x3f)
		return FAIL("ct: unknown flags 0x%x", f);
	if ((f & TC_CT_CLEAR) && (f != TC_CT_CLEAR || c->zone || c->mark_mask ||
	                          !nto_all_zero(c->label_mask, TC_CT_LABEL_LEN)))
		return FAIL("ct clear takes nothing else");
	if ((f & TC_CT_FORCE) && !(f & TC_CT_COMMIT))
		return FAIL("ct force needs commit");
	if ((f & TC_CT_NAT_SRC) && (f & TC_CT_NAT_DST))
		return FAIL("ct nat: src and dst together");
	if (nat_range && !(f & TC_CT_NAT))
		return FAIL("ct: NAT_SRC/NAT_DST need NAT");
	if (nat_range && !(f & TC_CT_COMMIT))
		return FAIL("ct nat src/dst needs commit");
	if ((f & TC_CT_COMMIT) && (f & TC_CT_NAT) && !nat_range)
		return FAIL("ct commit with nat must say src or dst");
	if (nat_range && c->nat_family != AF_INET && c->nat_family != AF_INET6)
		return FAIL("ct nat src/dst needs an address range (tc syntax requires one)");
	if (!nat_range && (c->nat_family || c->nat_port_min || c->nat_port_max))
		return FAIL("ct nat range without nat src/dst");
	if (c->nat_port_min > c->nat_port_max || (!c->nat_port_min && c->nat_port_max))
		return FAIL("ct nat port range %u-%u invalid", c->nat_port_min, c->nat_port_max);
	if (c->mark && !c->mark_mask)
		return FAIL("ct mark without a mask");
	if (!nto_all_zero(c->label, TC_CT_LABEL_LEN) &&
	    nto_all_zero(c->label_mask, TC_CT_LABEL_LEN))
		return FAIL("ct label without a mask");
	return 0;
}

static int validate_action(const struct tc_action *a, unsigned i, char *err, size_t errlen)
{
	int ret = validate_verdict(a, err, errlen);

	if (ret)
		return ret;
	switch (a->kind) {
	case TC_ACTION_GACT:
		return 0;
	case TC_ACTION_MIRRED:
		if (a->mirred.op < TC_MIRRED_EGRESS_REDIRECT ||
		    a->mirred.op > TC_MIRRED_INGRESS_MIRROR)
			return FAIL("action %u: unknown mirred op %d", i + 1, (int)a->mirred.op);
		if (!a->mirred.ifindex)
			return FAIL("action %u: mirred without a device", i + 1);
		/* tc parses no control word after "redirect dev X": it is always stolen */
		if ((a->mirred.op == TC_MIRRED_EGRESS_REDIRECT ||
		     a->mirred.op == TC_MIRRED_INGRESS_REDIRECT) &&
		    a->verdict != TC_VERDICT_STOLEN)
			return FAIL("action %u: mirred redirect is always stolen", i + 1);
		return 0;
	case TC_ACTION_PEDIT:
		if (!a->pedit.n_ops || a->pedit.n_ops > TC_PEDIT_MAX_OPS)
			return FAIL("action %u: pedit with %u ops", i + 1, a->pedit.n_ops);
		for (unsigned j = 0; j < a->pedit.n_ops; j++) {
			if (!nto_pedit_layout(a->pedit.ops[j].field))
				return FAIL("action %u: unknown pedit field %d", i + 1,
				            (int)a->pedit.ops[j].field);
			if (a->pedit.ops[j].cmd != TC_PEDIT_SET &&
			    a->pedit.ops[j].cmd != TC_PEDIT_ADD)
				return FAIL("action %u: unknown pedit cmd %d", i + 1,
				            (int)a->pedit.ops[j].cmd);
		}
		return 0;
	case TC_ACTION_CSUM:
		if (!a->csum.flags || a->csum.flags & ~0x7fU)
			return FAIL("action %u: csum flags 0x%x invalid", i + 1, a->csum.flags);
		return 0;
	case TC_ACTION_VLAN:
		if (a->vlan.op == TC_VLAN_POP)
			return 0;
		if (a->vlan.op != TC_VLAN_PUSH && a->vlan.op != TC_VLAN_MODIFY)
			return FAIL("action %u: unknown vlan op %d", i + 1, (int)a->vlan.op);
		if (a->vlan.id > 0xfff || a->vlan.prio > 7)
			return FAIL("action %u: vlan id %u / priority %u out of range", i + 1,
			            a->vlan.id, a->vlan.prio);
		if (!is_vlan_proto(a->vlan.proto))
			return FAIL("action %u: vlan protocol must be 802.1Q or 802.1ad", i + 1);
		return 0;
	case TC_ACTION_CT:
		ret = validate_ct(&a->ct, err, errlen);
		if (ret && err && errlen) {
			char tmp[256];

			snprintf(tmp, sizeof(tmp), "%s", err);
			snprintf(err, errlen, "action %u: %s", i + 1, tmp);
		}
		return ret;
	}
	return FAIL("action %u: unknown kind %d", i + 1, (int)a->kind);
}

int nto_validate(const struct tc_rule *r, enum tc_msg_op op, char *err, size_t errlen)
{
	const struct tc_id *id = &r->id;
	int ret;

	if (op != TC_MSG_NEW && op != TC_MSG_REPLACE && op != TC_MSG_DELETE && op != TC_MSG_GET)
		return FAIL("unknown message op %d", (int)op);
	if (!id->ifindex == !id->block_index)
		return FAIL("exactly one of ifindex and block_index must be set");
	if (id->block_index && id->hook != TC_HOOK_INGRESS)
		return FAIL("a shared block has no ingress/egress hook");
	if (id->hook != TC_HOOK_INGRESS && id->hook != TC_HOOK_EGRESS)
		return FAIL("unknown hook %d", (int)id->hook);
	if (id->ifindex == 0xffffffffU)
		return FAIL("ifindex 0xffffffff is the block magic");
	if (op == TC_MSG_GET && !id->handle)
		return FAIL("getting a filter needs its handle");
	if (op == TC_MSG_DELETE || op == TC_MSG_GET)
		return 0;
	if (!id->protocol)
		return FAIL("filter protocol 0");
	ret = validate_flower(r, err, errlen);
	if (ret)
		return ret;
	if (r->n_actions > TC_RULE_MAX_ACTIONS)
		return FAIL("%u actions, at most %d", r->n_actions, TC_RULE_MAX_ACTIONS);
	if (r->cookie_len > TC_COOKIE_MAX)
		return FAIL("cookie of %u bytes, at most %d", r->cookie_len, TC_COOKIE_MAX);
	for (unsigned i = 0; i < r->n_actions; i++) {
		ret = validate_action(&r->actions[i], i, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}
