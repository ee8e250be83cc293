/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tc rule model's small helpers: construction and comparison. */
#include <errno.h>
#include <linux/if_ether.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nft-tc-offload/rule.h"

void tc_rule_init(struct tc_rule *r, const struct tc_id *id)
{
	/* all but actions[], most of the struct's 5 KB: tc_rule_add_action and the decoder zero
	 * each action they add, and nothing reads past n_actions (the engine builds and deletes
	 * two rules per connection, and zeroing them was its largest single cost) */
	memset(r, 0, offsetof(struct tc_rule, actions));
	memset((char *)r + offsetof(struct tc_rule, cookie_len), 0,
	       sizeof(*r) - offsetof(struct tc_rule, cookie_len));
	if (id)
		r->id = *id;
}

int tc_rule_vec_reserve(struct tc_rule_vec *rv, size_t n)
{
	struct tc_rule *v;
	size_t cap;

	if (n <= rv->cap - rv->n)
		return 0;
	if (n > SIZE_MAX / sizeof(*v) - rv->n)
		return -ENOMEM;
	/* At least double, so that reserving per device (plan_ct_rule) stays
	 * linear in the number of devices instead of copying every time. */
	cap = rv->n + n;
	if (rv->cap <= SIZE_MAX / sizeof(*v) / 2 && cap < 2 * rv->cap)
		cap = 2 * rv->cap;
	v = realloc(rv->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	rv->v = v;
	rv->cap = cap;
	return 0;
}

struct tc_rule *tc_rule_vec_add(struct tc_rule_vec *rv)
{
	if (rv->n == rv->cap && tc_rule_vec_reserve(rv, rv->cap ? rv->cap : 16))
		return NULL;
	tc_rule_init(&rv->v[rv->n], NULL);
	return &rv->v[rv->n++];
}

void tc_rule_vec_free(struct tc_rule_vec *rv)
{
	free(rv->v);
	memset(rv, 0, sizeof(*rv));
}

struct tc_action *tc_rule_add_action(struct tc_rule *r, enum tc_action_kind kind)
{
	struct tc_action *a;

	if (r->n_actions >= TC_RULE_MAX_ACTIONS)
		return NULL;
	a = &r->actions[r->n_actions++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->verdict = TC_VERDICT_PIPE;
	return a;
}

bool tc_pedit_add(struct tc_act_pedit *p, const struct tc_pedit_op *op)
{
	if (p->n_ops >= TC_PEDIT_MAX_OPS)
		return false;
	p->ops[p->n_ops++] = *op;
	return true;
}

int tc_rule_family(const struct tc_rule *r)
{
	uint16_t et = r->flower.mask.eth_type ? r->flower.key.eth_type : r->id.protocol;

	/* Behind VLAN tags the network type is in the innermost vlan_eth_type. */
	if (et == ETH_P_8021Q || et == ETH_P_8021AD) {
		et = r->flower.key.vlan_eth_type;
		if (et == ETH_P_8021Q || et == ETH_P_8021AD)
			et = r->flower.key.cvlan_eth_type;
	}
	if (et == ETH_P_IP)
		return AF_INET;
	if (et == ETH_P_IPV6)
		return AF_INET6;
	return 0;
}

static bool pedit_op_equal(const struct tc_pedit_op *a, const struct tc_pedit_op *b)
{
	if (a->field != b->field || a->cmd != b->cmd)
		return false;
	switch (a->field) {
	case TC_PEDIT_ETH_DST:
	case TC_PEDIT_ETH_SRC:
		return memcmp(a->val.mac, b->val.mac, 6) == 0;
	case TC_PEDIT_IP4_SRC:
	case TC_PEDIT_IP4_DST:
		return a->val.addr.v4.s_addr == b->val.addr.v4.s_addr;
	case TC_PEDIT_IP6_SRC:
	case TC_PEDIT_IP6_DST:
		return memcmp(&a->val.addr.v6, &b->val.addr.v6, 16) == 0;
	case TC_PEDIT_IP4_TTL:
	case TC_PEDIT_IP6_HOPLIMIT:
		return a->val.u8 == b->val.u8;
	case TC_PEDIT_TCP_SPORT:
	case TC_PEDIT_TCP_DPORT:
	case TC_PEDIT_UDP_SPORT:
	case TC_PEDIT_UDP_DPORT:
		return a->val.port == b->val.port;
	}
	return false;
}

static bool ct_equal(const struct tc_act_ct *a, const struct tc_act_ct *b)
{
	if (a->flags != b->flags || a->zone != b->zone || a->mark != b->mark ||
	    a->mark_mask != b->mark_mask || memcmp(a->label, b->label, TC_CT_LABEL_LEN) ||
	    memcmp(a->label_mask, b->label_mask, TC_CT_LABEL_LEN) ||
	    a->nat_family != b->nat_family || a->nat_port_min != b->nat_port_min ||
	    a->nat_port_max != b->nat_port_max)
		return false;
	if (a->nat_family == AF_INET)
		return a->nat_addr_min.v4.s_addr == b->nat_addr_min.v4.s_addr &&
		       a->nat_addr_max.v4.s_addr == b->nat_addr_max.v4.s_addr;
	if (a->nat_family == AF_INET6)
		return memcmp(&a->nat_addr_min.v6, &b->nat_addr_min.v6, 16) == 0 &&
		       memcmp(&a->nat_addr_max.v6, &b->nat_addr_max.v6, 16) == 0;
	return true;
}

static bool action_equal(const struct tc_action *a, const struct tc_action *b)
{
	if (a->kind != b->kind || a->verdict != b->verdict)
		return false;
	if (a->verdict == TC_VERDICT_GOTO_CHAIN && a->goto_chain != b->goto_chain)
		return false;
	switch (a->kind) {
	case TC_ACTION_GACT:
		return true;
	case TC_ACTION_MIRRED:
		return a->mirred.op == b->mirred.op && a->mirred.ifindex == b->mirred.ifindex;
	case TC_ACTION_PEDIT:
		if (a->pedit.n_ops != b->pedit.n_ops)
			return false;
		for (unsigned i = 0; i < a->pedit.n_ops; i++)
			if (!pedit_op_equal(&a->pedit.ops[i], &b->pedit.ops[i]))
				return false;
		return true;
	case TC_ACTION_CSUM:
		return a->csum.flags == b->csum.flags;
	case TC_ACTION_VLAN:
		if (a->vlan.op != b->vlan.op)
			return false;
		return a->vlan.op == TC_VLAN_POP ||
		       (a->vlan.id == b->vlan.id && a->vlan.prio == b->vlan.prio &&
		        a->vlan.proto == b->vlan.proto);
	case TC_ACTION_CT:
		return ct_equal(&a->ct, &b->ct);
	}
	return false;
}

/* The eth_type match a rule really has: flower takes it from the filter's protocol, so an
 * explicit eth_type equal to the protocol is the same rule as none (decode gives the latter). */
static uint16_t effective_eth_type(const struct tc_rule *r)
{
	if (r->flower.mask.eth_type && r->flower.key.eth_type != r->id.protocol)
		return r->flower.key.eth_type;
	return 0;
}

/* Flower keys are compared under their masks, so bits outside a mask never count. */
static bool bytes_equal_masked(const uint8_t *a, const uint8_t *b, const uint8_t *mask, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((a[i] ^ b[i]) & mask[i])
			return false;
	return true;
}

static bool flower_equal(const struct tc_flower *a, const struct tc_flower *b)
{
	const struct tc_flower_key *ka = &a->key, *kb = &b->key;
	const struct tc_flower_key *ma = &a->mask, *mb = &b->mask;

	if (a->skip_sw != b->skip_sw || a->skip_hw != b->skip_hw)
		return false;
	if ((ma->indev[0] != 0) != (mb->indev[0] != 0) ||
	    (ma->indev[0] && strncmp(ka->indev, kb->indev, IFNAMSIZ)))
		return false;
#define SAME_MASK(f) (memcmp(&ma->f, &mb->f, sizeof(ma->f)) == 0)
#define SAME_KEY(f)                                                                                \
	(SAME_MASK(f) && bytes_equal_masked((const uint8_t *)&ka->f, (const uint8_t *)&kb->f,      \
	                                    (const uint8_t *)&ma->f, sizeof(ka->f)))
	return SAME_KEY(eth_dst) && SAME_KEY(eth_src) && SAME_KEY(vlan_id) && SAME_KEY(vlan_prio) &&
	       SAME_KEY(vlan_eth_type) && SAME_KEY(cvlan_id) && SAME_KEY(cvlan_prio) &&
	       SAME_KEY(cvlan_eth_type) && SAME_KEY(ip_proto) && SAME_KEY(ip_tos) &&
	       SAME_KEY(ip_ttl) && SAME_KEY(src) && SAME_KEY(dst) && SAME_KEY(src_port) &&
	       SAME_KEY(dst_port) && SAME_KEY(tcp_flags) && SAME_KEY(ct_state) &&
	       SAME_KEY(ct_zone) && SAME_KEY(ct_mark) && SAME_KEY(ct_label);
#undef SAME_KEY
#undef SAME_MASK
}

bool tc_rule_equal(const struct tc_rule *a, const struct tc_rule *b)
{
	if (a->id.ifindex != b->id.ifindex || a->id.block_index != b->id.block_index ||
	    a->id.hook != b->id.hook || a->id.chain != b->id.chain || a->id.prio != b->id.prio ||
	    a->id.protocol != b->id.protocol || a->id.handle != b->id.handle)
		return false;
	if (effective_eth_type(a) != effective_eth_type(b) || !flower_equal(&a->flower, &b->flower))
		return false;
	if (a->n_actions != b->n_actions || a->cookie_len != b->cookie_len ||
	    memcmp(a->cookie, b->cookie, a->cookie_len))
		return false;
	for (unsigned i = 0; i < a->n_actions; i++)
		if (!action_equal(&a->actions[i], &b->actions[i]))
			return false;
	return true;
}
