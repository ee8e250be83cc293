/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tc_encode: rule -> one RTM_{NEW,DEL,GET}TFILTER request, byte for byte what iproute2's tc
 * (6.1) sends for the command line tc_print() writes for the same rule. Attributes come in
 * tc's order: TCA_CHAIN, TCA_KIND, TCA_OPTIONS { keys in command-line order, TCA_FLOWER_ACT,
 * TCA_FLOWER_FLAGS, TCA_FLOWER_KEY_ETH_TYPE }. Like tc, only action options carry NLA_F_NESTED.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_csum.h>
#include <linux/tc_act/tc_ct.h>
#include <linux/tc_act/tc_gact.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/tc_act/tc_pedit.h>
#include <linux/tc_act/tc_vlan.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "tc_priv.h"

/* The largest pedit action: TC_PEDIT_MAX_OPS ops of at most 5 words each. */
#define MAX_PEDIT_KEYS (TC_PEDIT_MAX_OPS * 5)

struct enc {
	struct nlmsghdr *nlh; /* NULL when not even the headers fit */
	size_t cap;
	bool full;
};

/* Inlined: most attributes are of constant size, whose copy and padding then compile to a few
 * stores (the engine's hottest loop; libmnl's checked put was a call per attribute, and the
 * copy and padding two more). */
static inline __attribute__((always_inline)) void put(struct enc *e, uint16_t type, size_t len,
                                                      const void *data)
{
	size_t at, alen = NLA_HDRLEN + len, total = NLA_ALIGN(NLA_HDRLEN + len);
	struct nlattr *a;

	if (e->full)
		return;
	at = e->nlh->nlmsg_len; /* always aligned */
	if (len > UINT16_MAX - NLA_HDRLEN || at + total > e->cap) {
		e->full = true;
		return;
	}
	a = (struct nlattr *)((char *)e->nlh + at);
	a->nla_type = type;
	a->nla_len = (uint16_t)alen;
	if (total != alen) {
		/* deterministic padding: zero the last word, then the value over it */
		static const uint32_t zero;

		memcpy((char *)a + total - 4, &zero, 4);
	}
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	e->nlh->nlmsg_len = (uint32_t)(at + total);
}

static void put_u8(struct enc *e, uint16_t type, uint8_t v)
{
	put(e, type, sizeof(v), &v);
}

static void put_u16(struct enc *e, uint16_t type, uint16_t v)
{
	put(e, type, sizeof(v), &v);
}

static void put_be16(struct enc *e, uint16_t type, uint16_t host)
{
	put_u16(e, type, htons(host));
}

static void put_u32(struct enc *e, uint16_t type, uint32_t v)
{
	put(e, type, sizeof(v), &v);
}

static void put_strz(struct enc *e, uint16_t type, const char *s)
{
	put(e, type, strlen(s) + 1, s);
}

/* Starts a nest; flagged says whether NLA_F_NESTED is set (tc sets it on action options only). */
static struct nlattr *nest_start(struct enc *e, uint16_t type, bool flagged)
{
	struct nlattr *n;
	size_t at;

	if (e->full)
		return NULL;
	at = e->nlh->nlmsg_len;
	if (at + NLA_HDRLEN > e->cap) {
		e->full = true;
		return NULL;
	}
	n = (struct nlattr *)((char *)e->nlh + at);
	n->nla_type = flagged ? (uint16_t)(type | NLA_F_NESTED) : type;
	n->nla_len = NLA_HDRLEN;
	e->nlh->nlmsg_len = (uint32_t)(at + NLA_HDRLEN);
	return n;
}

static void nest_end(struct enc *e, struct nlattr *n)
{
	if (n && !e->full)
		n->nla_len = (uint16_t)((char *)e->nlh + e->nlh->nlmsg_len - (char *)n);
}

/* A key and its mask attribute, the key masked (flower ignores bits outside the mask). */
static void put_masked(struct enc *e, uint16_t ktype, uint16_t mtype, const void *key,
                       const void *mask, size_t n)
{
	uint8_t k[16];

	for (size_t i = 0; i < n; i++)
		k[i] = ((const uint8_t *)key)[i] & ((const uint8_t *)mask)[i];
	put(e, ktype, n, k);
	put(e, mtype, n, mask);
}

static void put_masked_u16(struct enc *e, uint16_t ktype, uint16_t mtype, uint16_t key,
                           uint16_t mask)
{
	put_u16(e, ktype, key & mask);
	put_u16(e, mtype, mask);
}

static void encode_keys(struct enc *e, const struct tc_rule *r)
{
	const struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	bool v6 = nto_rule_family(r) == AF_INET6;
	size_t alen = v6 ? 16 : 4;

	if (m->indev[0])
		put_strz(e, TCA_FLOWER_INDEV, k->indev);
	if (m->vlan_id)
		put_u16(e, TCA_FLOWER_KEY_VLAN_ID, k->vlan_id);
	if (m->vlan_prio)
		put_u8(e, TCA_FLOWER_KEY_VLAN_PRIO, k->vlan_prio);
	if (m->vlan_eth_type)
		put_be16(e, TCA_FLOWER_KEY_VLAN_ETH_TYPE, k->vlan_eth_type);
	if (m->cvlan_id)
		put_u16(e, TCA_FLOWER_KEY_CVLAN_ID, k->cvlan_id);
	if (m->cvlan_prio)
		put_u8(e, TCA_FLOWER_KEY_CVLAN_PRIO, k->cvlan_prio);
	if (m->cvlan_eth_type)
		put_be16(e, TCA_FLOWER_KEY_CVLAN_ETH_TYPE, k->cvlan_eth_type);
	if (!nto_all_zero(m->eth_dst, 6))
		put_masked(e, TCA_FLOWER_KEY_ETH_DST, TCA_FLOWER_KEY_ETH_DST_MASK, k->eth_dst,
		           m->eth_dst, 6);
	if (!nto_all_zero(m->eth_src, 6))
		put_masked(e, TCA_FLOWER_KEY_ETH_SRC, TCA_FLOWER_KEY_ETH_SRC_MASK, k->eth_src,
		           m->eth_src, 6);
	if (m->ip_proto)
		put_u8(e, TCA_FLOWER_KEY_IP_PROTO, k->ip_proto);
	if (m->ip_tos)
		put_masked(e, TCA_FLOWER_KEY_IP_TOS, TCA_FLOWER_KEY_IP_TOS_MASK, &k->ip_tos,
		           &m->ip_tos, 1);
	if (m->ip_ttl)
		put_masked(e, TCA_FLOWER_KEY_IP_TTL, TCA_FLOWER_KEY_IP_TTL_MASK, &k->ip_ttl,
		           &m->ip_ttl, 1);
	if (!nto_all_zero(&m->src, alen))
		put_masked(e, v6 ? TCA_FLOWER_KEY_IPV6_SRC : TCA_FLOWER_KEY_IPV4_SRC,
		           v6 ? TCA_FLOWER_KEY_IPV6_SRC_MASK : TCA_FLOWER_KEY_IPV4_SRC_MASK,
		           &k->src, &m->src, alen);
	if (!nto_all_zero(&m->dst, alen))
		put_masked(e, v6 ? TCA_FLOWER_KEY_IPV6_DST : TCA_FLOWER_KEY_IPV4_DST,
		           v6 ? TCA_FLOWER_KEY_IPV6_DST_MASK : TCA_FLOWER_KEY_IPV4_DST_MASK,
		           &k->dst, &m->dst, alen);
	/* tc sends exact ports without a mask attribute; the kernel then uses all ones. */
	if (m->src_port)
		put_be16(
		    e, k->ip_proto == IPPROTO_TCP ? TCA_FLOWER_KEY_TCP_SRC : TCA_FLOWER_KEY_UDP_SRC,
		    k->src_port);
	if (m->dst_port)
		put_be16(
		    e, k->ip_proto == IPPROTO_TCP ? TCA_FLOWER_KEY_TCP_DST : TCA_FLOWER_KEY_UDP_DST,
		    k->dst_port);
	if (m->tcp_flags) {
		put_be16(e, TCA_FLOWER_KEY_TCP_FLAGS, k->tcp_flags & m->tcp_flags);
		put_be16(e, TCA_FLOWER_KEY_TCP_FLAGS_MASK, m->tcp_flags);
	}
	if (m->ct_state)
		put_masked_u16(e, TCA_FLOWER_KEY_CT_STATE, TCA_FLOWER_KEY_CT_STATE_MASK,
		               k->ct_state, m->ct_state);
	if (m->ct_zone)
		put_masked_u16(e, TCA_FLOWER_KEY_CT_ZONE, TCA_FLOWER_KEY_CT_ZONE_MASK, k->ct_zone,
		               m->ct_zone);
	if (m->ct_mark) {
		put_u32(e, TCA_FLOWER_KEY_CT_MARK, k->ct_mark & m->ct_mark);
		put_u32(e, TCA_FLOWER_KEY_CT_MARK_MASK, m->ct_mark);
	}
	if (!nto_all_zero(m->ct_label, TC_CT_LABEL_LEN))
		put_masked(e, TCA_FLOWER_KEY_CT_LABELS, TCA_FLOWER_KEY_CT_LABELS_MASK, k->ct_label,
		           m->ct_label, TC_CT_LABEL_LEN);
}

static void encode_gact(struct enc *e, const struct tc_action *a)
{
	struct tc_gact p = {.action = (int)nto_verdict_to_tc(a)};

	put(e, TCA_GACT_PARMS, sizeof(p), &p);
}

static void encode_mirred(struct enc *e, const struct tc_action *a)
{
	static const int eaction[] = {
	    [TC_MIRRED_EGRESS_REDIRECT] = TCA_EGRESS_REDIR,
	    [TC_MIRRED_EGRESS_MIRROR] = TCA_EGRESS_MIRROR,
	    [TC_MIRRED_INGRESS_REDIRECT] = TCA_INGRESS_REDIR,
	    [TC_MIRRED_INGRESS_MIRROR] = TCA_INGRESS_MIRROR,
	};
	struct tc_mirred p = {
	    .action = (int)nto_verdict_to_tc(a),
	    .eaction = eaction[a->mirred.op],
	    .ifindex = a->mirred.ifindex,
	};

	put(e, TCA_MIRRED_PARMS, sizeof(p), &p);
}

/*
 * TCA_PEDIT_PARMS_EX is a struct tc_pedit_sel followed by its keys[]; like iproute2 we send
 * sizeof(struct tc_pedit_sel) (24: the 22 bytes of fields padded to the keys' alignment) plus
 * nkeys keys, with the padding zeroed.
 */
#define PEDIT_SEL_SIZE offsetof(struct tc_pedit_sel, keys)
_Static_assert(sizeof(struct tc_pedit_sel) == offsetof(struct tc_pedit_sel, keys),
               "pedit keys follow the selector directly");

static void encode_pedit(struct enc *e, const struct tc_action *a)
{
	uint8_t parms[PEDIT_SEL_SIZE + MAX_PEDIT_KEYS * sizeof(struct tc_pedit_key)];
	uint8_t htypes[MAX_PEDIT_KEYS], cmds[MAX_PEDIT_KEYS];
	struct tc_pedit_sel sel;
	struct nlattr *ex, *kex;
	unsigned n = 0;

	memset(parms, 0, PEDIT_SEL_SIZE); /* each key below is written whole */
	for (unsigned i = 0; i < a->pedit.n_ops; i++) {
		const struct tc_pedit_op *op = &a->pedit.ops[i];
		const struct nto_pedit_layout *l = nto_pedit_layout(op->field);
		uint8_t val[16];
		unsigned first = l->start & ~3u, end = l->start + l->len;

		nto_pedit_value_bytes(op, val);
		for (unsigned off = first; off < end; off += 4, n++) {
			struct tc_pedit_key key = {.off = off};
			uint8_t mask[4], v[4];

			for (unsigned b = 0; b < 4; b++) {
				bool in = off + b >= l->start && off + b < end;

				mask[b] = in ? 0x00 : 0xff;
				v[b] = in ? val[off + b - l->start] : 0;
			}
			memcpy(&key.mask, mask, 4);
			memcpy(&key.val, v, 4);
			memcpy(parms + PEDIT_SEL_SIZE + n * sizeof(key), &key, sizeof(key));
			htypes[n] = l->htype;
			cmds[n] = op->cmd == TC_PEDIT_ADD ? TCA_PEDIT_KEY_EX_CMD_ADD
			                                  : TCA_PEDIT_KEY_EX_CMD_SET;
		}
	}
	memset(&sel, 0, sizeof(sel));
	sel.action = (int)nto_verdict_to_tc(a);
	sel.nkeys = (unsigned char)n;
	/* the fields only: parms already holds the zeroed padding */
	memcpy(parms, &sel, offsetof(struct tc_pedit_sel, flags) + sizeof(sel.flags));
	put(e, TCA_PEDIT_PARMS_EX, PEDIT_SEL_SIZE + n * sizeof(struct tc_pedit_key), parms);
	ex = nest_start(e, TCA_PEDIT_KEYS_EX, true);
	for (unsigned i = 0; i < n; i++) {
		kex = nest_start(e, TCA_PEDIT_KEY_EX, true);
		put_u16(e, TCA_PEDIT_KEY_EX_HTYPE, htypes[i]);
		put_u16(e, TCA_PEDIT_KEY_EX_CMD, cmds[i]);
		nest_end(e, kex);
	}
	nest_end(e, ex);
}

static void encode_csum(struct enc *e, const struct tc_action *a)
{
	struct tc_csum p = {.action = (int)nto_verdict_to_tc(a), .update_flags = a->csum.flags};

	put(e, TCA_CSUM_PARMS, sizeof(p), &p);
}

static void encode_vlan(struct enc *e, const struct tc_action *a)
{
	static const int vact[] = {
	    [TC_VLAN_POP] = TCA_VLAN_ACT_POP,
	    [TC_VLAN_PUSH] = TCA_VLAN_ACT_PUSH,
	    [TC_VLAN_MODIFY] = TCA_VLAN_ACT_MODIFY,
	};
	struct tc_vlan p = {.action = (int)nto_verdict_to_tc(a), .v_action = vact[a->vlan.op]};

	put(e, TCA_VLAN_PARMS, sizeof(p), &p);
	if (a->vlan.op == TC_VLAN_POP)
		return;
	put_u16(e, TCA_VLAN_PUSH_VLAN_ID, a->vlan.id);
	put_be16(e, TCA_VLAN_PUSH_VLAN_PROTOCOL, a->vlan.proto);
	/* tc sends the priority only when given; the kernel's default is 0. */
	if (a->vlan.prio)
		put_u8(e, TCA_VLAN_PUSH_VLAN_PRIORITY, a->vlan.prio);
}

static void encode_ct(struct enc *e, const struct tc_action *a)
{
	const struct tc_act_ct *c = &a->ct;
	struct tc_ct p = {.action = (int)nto_verdict_to_tc(a)};

	if (c->zone)
		put_u16(e, TCA_CT_ZONE, c->zone);
	if (c->mark_mask) {
		put_u32(e, TCA_CT_MARK, c->mark);
		put_u32(e, TCA_CT_MARK_MASK, c->mark_mask);
	}
	if (!nto_all_zero(c->label_mask, TC_CT_LABEL_LEN)) {
		put(e, TCA_CT_LABELS, TC_CT_LABEL_LEN, c->label);
		put(e, TCA_CT_LABELS_MASK, TC_CT_LABEL_LEN, c->label_mask);
	}
	if (c->nat_family == AF_INET) {
		put(e, TCA_CT_NAT_IPV4_MIN, 4, &c->nat_addr_min.v4);
		put(e, TCA_CT_NAT_IPV4_MAX, 4, &c->nat_addr_max.v4);
	} else if (c->nat_family == AF_INET6) {
		put(e, TCA_CT_NAT_IPV6_MIN, 16, &c->nat_addr_min.v6);
		put(e, TCA_CT_NAT_IPV6_MAX, 16, &c->nat_addr_max.v6);
	}
	if (c->nat_port_min) {
		put_be16(e, TCA_CT_NAT_PORT_MIN, c->nat_port_min);
		put_be16(e, TCA_CT_NAT_PORT_MAX, c->nat_port_max);
	}
	put_u16(e, TCA_CT_ACTION, c->flags);
	put(e, TCA_CT_PARMS, sizeof(p), &p);
}

static const char *const kind_names[] = {
    [TC_ACTION_GACT] = "gact", [TC_ACTION_MIRRED] = "mirred", [TC_ACTION_PEDIT] = "pedit",
    [TC_ACTION_CSUM] = "csum", [TC_ACTION_VLAN] = "vlan",     [TC_ACTION_CT] = "ct",
};

static void encode_actions(struct enc *e, const struct tc_rule *r)
{
	struct nlattr *acts, *act, *opts;

	if (!r->n_actions)
		return;
	acts = nest_start(e, TCA_FLOWER_ACT, false);
	for (unsigned i = 0; i < r->n_actions; i++) {
		const struct tc_action *a = &r->actions[i];

		act = nest_start(e, (uint16_t)(i + 1), false);
		put_strz(e, TCA_ACT_KIND, kind_names[a->kind]);
		opts = nest_start(e, TCA_ACT_OPTIONS, true);
		switch (a->kind) {
		case TC_ACTION_GACT:
			encode_gact(e, a);
			break;
		case TC_ACTION_MIRRED:
			encode_mirred(e, a);
			break;
		case TC_ACTION_PEDIT:
			encode_pedit(e, a);
			break;
		case TC_ACTION_CSUM:
			encode_csum(e, a);
			break;
		case TC_ACTION_VLAN:
			encode_vlan(e, a);
			break;
		case TC_ACTION_CT:
			encode_ct(e, a);
			break;
		}
		nest_end(e, opts);
		if (r->cookie_len)
			put(e, TCA_ACT_COOKIE, r->cookie_len, r->cookie);
		nest_end(e, act);
	}
	nest_end(e, acts);
}

int tc_encode(const struct tc_rule *r, enum tc_msg_op op, uint16_t nlmsg_flags, uint32_t seq,
              void *buf, size_t len, char *err, size_t errlen)
{
	struct enc e = {.cap = len};
	struct nlattr *opts;
	struct tcmsg *t;
	uint32_t flags = 0;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	ret = nto_validate(r, op, err, errlen);
	if (ret)
		return ret;
	if (!buf || len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct tcmsg)))
		return 0;

	e.nlh = mnl_nlmsg_put_header(buf);
	e.nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | nlmsg_flags;
	switch (op) {
	case TC_MSG_NEW:
		e.nlh->nlmsg_type = RTM_NEWTFILTER;
		e.nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
		break;
	case TC_MSG_REPLACE:
		/* `tc filter replace` sends NLM_F_CREATE alone: without NLM_F_EXCL the kernel
		 * replaces an existing filter (it does not look at NLM_F_REPLACE). */
		e.nlh->nlmsg_type = RTM_NEWTFILTER;
		e.nlh->nlmsg_flags |= NLM_F_CREATE;
		break;
	case TC_MSG_DELETE:
		e.nlh->nlmsg_type = RTM_DELTFILTER;
		break;
	case TC_MSG_GET:
		e.nlh->nlmsg_type = RTM_GETTFILTER;
		break;
	}
	e.nlh->nlmsg_seq = seq;
	t = mnl_nlmsg_put_extra_header(e.nlh, sizeof(*t));
	t->tcm_family = AF_UNSPEC;
	if (r->id.block_index) {
		t->tcm_ifindex = (int)TCM_IFINDEX_MAGIC_BLOCK;
		t->tcm_block_index = r->id.block_index;
	} else {
		t->tcm_ifindex = (int)r->id.ifindex;
		t->tcm_parent = TC_H_MAKE(
		    TC_H_CLSACT, r->id.hook == TC_HOOK_EGRESS ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
	}
	t->tcm_handle = r->id.handle;
	t->tcm_info = TC_H_MAKE((uint32_t)r->id.prio << 16, htons(r->id.protocol));

	put_u32(&e, TCA_CHAIN, r->id.chain);
	put_strz(&e, TCA_KIND, "flower");
	opts = nest_start(&e, TCA_OPTIONS, false);
	if (op == TC_MSG_NEW || op == TC_MSG_REPLACE) {
		encode_keys(&e, r);
		encode_actions(&e, r);
		flags = (r->flower.skip_sw ? TCA_CLS_FLAGS_SKIP_SW : 0) |
		        (r->flower.skip_hw ? TCA_CLS_FLAGS_SKIP_HW : 0);
	}
	/* Like tc: flags always (0 for delete/get), and the ethertype unless protocol "all". */
	put_u32(&e, TCA_FLOWER_FLAGS, flags);
	if (r->id.protocol != ETH_P_ALL)
		put_be16(&e, TCA_FLOWER_KEY_ETH_TYPE, r->id.protocol);
	nest_end(&e, opts);
	if (e.full)
		return 0;
	return (int)e.nlh->nlmsg_len;
}
