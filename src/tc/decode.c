/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tc_decode: an RTM_NEWTFILTER message (our own request, its echo, or a dump reply in the
 * kernel's fl_dump layout) -> rule. Every attribute is bounds-checked before it is read: the
 * input may be anything. The result is canonical, so decode(encode(x)) == x:
 *  - the flower ethertype is implied by id.protocol (mask.eth_type stays 0);
 *  - keys are stored masked; ports, ip_proto, VLAN fields get all-ones masks;
 *  - pedit keys are mapped back to named fields, or the message is refused.
 * What fl_dump adds (masks for everything, TCA_FLOWER_IN_HW_COUNT, in_hw flags, per-action
 * stats, TM, index/refcnt in the parms) lands in r->state or is ignored.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/gen_stats.h>
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
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "tc_priv.h"

/* USER_HZ: the kernel reports tcf_t times in clock ticks of 1/100 s. */
#define NTO_USER_HZ 100

struct dec {
	char *err;
	size_t errlen;
};

#define FAIL(d, ...) nto_fail((d)->err, (d)->errlen, __VA_ARGS__)

/*
 * libmnl's attribute accessors, inline: a dump decodes about 70 attributes per filter, and the
 * calls into the shared library were a fifth of tc_decode's instructions (callgrind, a 20,000-
 * filter dump; docs/benchmarks.md §6). Same semantics as mnl_attr_ok / _get_type /
 * _get_payload / _get_payload_len / attr_for_each_nested.
 */
/* rem is signed: past the end of a nest whose length is not aligned it is negative */
static inline bool attr_ok(const struct nlattr *a, ptrdiff_t rem)
{
	return rem >= (ptrdiff_t)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= rem;
}

static inline unsigned attr_type(const struct nlattr *a)
{
	return a->nla_type & NLA_TYPE_MASK;
}

static inline const void *attr_data(const struct nlattr *a)
{
	return (const char *)a + MNL_ATTR_HDRLEN;
}

static inline size_t attr_len(const struct nlattr *a)
{
	return a->nla_len - MNL_ATTR_HDRLEN;
}

static inline ptrdiff_t attr_rest(const struct nlattr *nest, const struct nlattr *a)
{
	return (const char *)attr_data(nest) + attr_len(nest) - (const char *)a;
}

#define attr_for_each_nested(a, nest)                                                              \
	for ((a) = attr_data(nest); attr_ok((a), attr_rest((nest), (a)));                          \
	     (a) = (const void *)((const char *)(a) + MNL_ALIGN((a)->nla_len)))

/* Attribute tables: tb[type] = last attribute of that type; anything beyond max is skipped. */
#define TB(name, max) const struct nlattr *name[(max) + 1]

/*
 * Splits [data, data+len) into attributes. Fails on any attribute whose header or length does
 * not fit, or on trailing bytes that are not one attribute's padding.
 */
static int parse(struct dec *d, const void *data, size_t len, const struct nlattr **tb,
                 unsigned max, const char *what)
{
	const struct nlattr *a = data;
	size_t rem = len;

	if (tb)
		memset(tb, 0, (max + 1) * sizeof(*tb));
	while (rem >= sizeof(struct nlattr)) {
		size_t step;

		if (!attr_ok(a, (ptrdiff_t)(rem > PTRDIFF_MAX ? PTRDIFF_MAX : rem)))
			return FAIL(d, "%s: attribute %u with bad length %u (%zu bytes left)", what,
			            a->nla_type & NLA_TYPE_MASK, a->nla_len, rem);
		if (tb && attr_type(a) <= max)
			tb[attr_type(a)] = a;
		step = MNL_ALIGN(a->nla_len);
		if (step >= rem)
			return 0;
		rem -= step;
		a = (const struct nlattr *)((const char *)a + step);
	}
	if (rem)
		return FAIL(d, "%s: %zu stray bytes after the attributes", what, rem);
	return 0;
}

static int parse_nested(struct dec *d, const struct nlattr *n, const struct nlattr **tb,
                        unsigned max, const char *what)
{
	return parse(d, attr_data(n), attr_len(n), tb, max, what);
}

/* Copies an attribute of exactly n bytes (or at least n when at_least) into out. */
static int get(struct dec *d, const struct nlattr *a, void *out, size_t n, bool at_least,
               const char *what)
{
	size_t plen = attr_len(a);

	if (plen < n || (!at_least && plen != n))
		return FAIL(d, "%s: payload of %zu bytes, expected %s%zu", what, plen,
		            at_least ? "at least " : "", n);
	memcpy(out, attr_data(a), n);
	return 0;
}

#define GET(a, out, what) get(d, a, out, sizeof(*(out)), false, what)

static int get_be16(struct dec *d, const struct nlattr *a, uint16_t *out, const char *what)
{
	int ret = GET(a, out, what);

	*out = ntohs(*out);
	return ret;
}

static int get_string(struct dec *d, const struct nlattr *a, char *out, size_t n, const char *what)
{
	size_t plen = attr_len(a);
	const char *s = attr_data(a);
	size_t slen = strnlen(s, plen);

	if (slen == plen || slen >= n)
		return FAIL(d, "%s: unterminated or too long string", what);
	memcpy(out, s, slen + 1);
	return 0;
}

/* A key attribute and its optional mask (all ones when absent), stored masked. */
static int get_masked(struct dec *d, const struct nlattr *ka, const struct nlattr *ma, void *key,
                      void *mask, size_t n, const char *what)
{
	uint8_t *k = key, *m = mask;

	if (get(d, ka, k, n, false, what))
		return -EINVAL;
	if (ma) {
		if (get(d, ma, m, n, false, what))
			return -EINVAL;
	} else {
		memset(m, 0xff, n);
	}
	for (size_t i = 0; i < n; i++)
		k[i] &= m[i];
	return 0;
}

static int get_masked_be16(struct dec *d, const struct nlattr *ka, const struct nlattr *ma,
                           uint16_t *key, uint16_t *mask, const char *what)
{
	int ret = get_masked(d, ka, ma, key, mask, 2, what);

	*key = ntohs(*key);
	*mask = ntohs(*mask);
	return ret;
}

/* Flower attributes the model carries; any other flower attribute is a match we cannot hold. */
static bool flower_attr_known(unsigned t)
{
	switch (t) {
	case TCA_FLOWER_INDEV:
	case TCA_FLOWER_ACT:
	case TCA_FLOWER_FLAGS:
	case TCA_FLOWER_IN_HW_COUNT:
	case TCA_FLOWER_KEY_ETH_TYPE:
	case TCA_FLOWER_KEY_ETH_DST:
	case TCA_FLOWER_KEY_ETH_DST_MASK:
	case TCA_FLOWER_KEY_ETH_SRC:
	case TCA_FLOWER_KEY_ETH_SRC_MASK:
	case TCA_FLOWER_KEY_VLAN_ID:
	case TCA_FLOWER_KEY_VLAN_PRIO:
	case TCA_FLOWER_KEY_VLAN_ETH_TYPE:
	case TCA_FLOWER_KEY_CVLAN_ID:
	case TCA_FLOWER_KEY_CVLAN_PRIO:
	case TCA_FLOWER_KEY_CVLAN_ETH_TYPE:
	case TCA_FLOWER_KEY_IP_PROTO:
	case TCA_FLOWER_KEY_IP_TOS:
	case TCA_FLOWER_KEY_IP_TOS_MASK:
	case TCA_FLOWER_KEY_IP_TTL:
	case TCA_FLOWER_KEY_IP_TTL_MASK:
	case TCA_FLOWER_KEY_IPV4_SRC:
	case TCA_FLOWER_KEY_IPV4_SRC_MASK:
	case TCA_FLOWER_KEY_IPV4_DST:
	case TCA_FLOWER_KEY_IPV4_DST_MASK:
	case TCA_FLOWER_KEY_IPV6_SRC:
	case TCA_FLOWER_KEY_IPV6_SRC_MASK:
	case TCA_FLOWER_KEY_IPV6_DST:
	case TCA_FLOWER_KEY_IPV6_DST_MASK:
	case TCA_FLOWER_KEY_TCP_SRC:
	case TCA_FLOWER_KEY_TCP_SRC_MASK:
	case TCA_FLOWER_KEY_TCP_DST:
	case TCA_FLOWER_KEY_TCP_DST_MASK:
	case TCA_FLOWER_KEY_UDP_SRC:
	case TCA_FLOWER_KEY_UDP_SRC_MASK:
	case TCA_FLOWER_KEY_UDP_DST:
	case TCA_FLOWER_KEY_UDP_DST_MASK:
	case TCA_FLOWER_KEY_TCP_FLAGS:
	case TCA_FLOWER_KEY_TCP_FLAGS_MASK:
	case TCA_FLOWER_KEY_CT_STATE:
	case TCA_FLOWER_KEY_CT_STATE_MASK:
	case TCA_FLOWER_KEY_CT_ZONE:
	case TCA_FLOWER_KEY_CT_ZONE_MASK:
	case TCA_FLOWER_KEY_CT_MARK:
	case TCA_FLOWER_KEY_CT_MARK_MASK:
	case TCA_FLOWER_KEY_CT_LABELS:
	case TCA_FLOWER_KEY_CT_LABELS_MASK:
		return true;
	}
	return false;
}

static int check_flower_attrs(struct dec *d, const struct nlattr *opts)
{
	const struct nlattr *a;

	attr_for_each_nested(a, opts)
	{
		if (!flower_attr_known(attr_type(a)))
			return FAIL(d, "flower attribute %u is not supported by the rule model",
			            attr_type(a));
	}
	return 0;
}

static bool is_vlan_proto(uint16_t p)
{
	return p == ETH_P_8021Q || p == ETH_P_8021AD;
}

static int decode_addrs(struct dec *d, const struct nlattr **tb, struct tc_rule *r)
{
	struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	int family = nto_rule_family(r);
	bool v4 = tb[TCA_FLOWER_KEY_IPV4_SRC] || tb[TCA_FLOWER_KEY_IPV4_DST];
	bool v6 = tb[TCA_FLOWER_KEY_IPV6_SRC] || tb[TCA_FLOWER_KEY_IPV6_DST];

	if ((v4 && family != AF_INET) || (v6 && family != AF_INET6))
		return FAIL(d, "address match does not fit the filter's ethertype");
	if (v4 && tb[TCA_FLOWER_KEY_IPV4_SRC] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_IPV4_SRC], tb[TCA_FLOWER_KEY_IPV4_SRC_MASK], &k->src,
	               &m->src, 4, "ipv4 src"))
		return -EINVAL;
	if (v4 && tb[TCA_FLOWER_KEY_IPV4_DST] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_IPV4_DST], tb[TCA_FLOWER_KEY_IPV4_DST_MASK], &k->dst,
	               &m->dst, 4, "ipv4 dst"))
		return -EINVAL;
	if (v6 && tb[TCA_FLOWER_KEY_IPV6_SRC] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_IPV6_SRC], tb[TCA_FLOWER_KEY_IPV6_SRC_MASK], &k->src,
	               &m->src, 16, "ipv6 src"))
		return -EINVAL;
	if (v6 && tb[TCA_FLOWER_KEY_IPV6_DST] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_IPV6_DST], tb[TCA_FLOWER_KEY_IPV6_DST_MASK], &k->dst,
	               &m->dst, 16, "ipv6 dst"))
		return -EINVAL;
	return 0;
}

static int decode_port(struct dec *d, const struct nlattr *ka, const struct nlattr *ma,
                       uint16_t *key, uint16_t *mask, const char *what)
{
	if (!ka)
		return 0;
	if (get_masked_be16(d, ka, ma, key, mask, what))
		return -EINVAL;
	if (*mask == 0) /* a dump of "no port match" would not carry the key at all */
		*key = 0;
	return 0;
}

static int decode_keys(struct dec *d, const struct nlattr **tb, struct tc_rule *r)
{
	struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	uint16_t proto = r->id.protocol;

	if (tb[TCA_FLOWER_INDEV]) {
		if (get_string(d, tb[TCA_FLOWER_INDEV], k->indev, IFNAMSIZ, "indev"))
			return -EINVAL;
		if (k->indev[0])
			memcpy(m->indev, k->indev, IFNAMSIZ);
	}
	if (tb[TCA_FLOWER_KEY_VLAN_ID] || tb[TCA_FLOWER_KEY_VLAN_PRIO] ||
	    tb[TCA_FLOWER_KEY_VLAN_ETH_TYPE]) {
		if (!is_vlan_proto(proto))
			return FAIL(d, "vlan match on a filter of protocol 0x%04x", proto);
	}
	if (tb[TCA_FLOWER_KEY_VLAN_ID]) {
		if (GET(tb[TCA_FLOWER_KEY_VLAN_ID], &k->vlan_id, "vlan_id"))
			return -EINVAL;
		m->vlan_id = 0xffff;
	}
	if (tb[TCA_FLOWER_KEY_VLAN_PRIO]) {
		if (GET(tb[TCA_FLOWER_KEY_VLAN_PRIO], &k->vlan_prio, "vlan_prio"))
			return -EINVAL;
		m->vlan_prio = 0xff;
	}
	if (tb[TCA_FLOWER_KEY_VLAN_ETH_TYPE]) {
		if (get_be16(d, tb[TCA_FLOWER_KEY_VLAN_ETH_TYPE], &k->vlan_eth_type,
		             "vlan_ethtype"))
			return -EINVAL;
		m->vlan_eth_type = 0xffff;
	}
	if (tb[TCA_FLOWER_KEY_CVLAN_ID] || tb[TCA_FLOWER_KEY_CVLAN_PRIO] ||
	    tb[TCA_FLOWER_KEY_CVLAN_ETH_TYPE]) {
		if (!m->vlan_eth_type || !is_vlan_proto(k->vlan_eth_type))
			return FAIL(d, "cvlan match without an inner VLAN ethertype");
	}
	if (tb[TCA_FLOWER_KEY_CVLAN_ID]) {
		if (GET(tb[TCA_FLOWER_KEY_CVLAN_ID], &k->cvlan_id, "cvlan_id"))
			return -EINVAL;
		m->cvlan_id = 0xffff;
	}
	if (tb[TCA_FLOWER_KEY_CVLAN_PRIO]) {
		if (GET(tb[TCA_FLOWER_KEY_CVLAN_PRIO], &k->cvlan_prio, "cvlan_prio"))
			return -EINVAL;
		m->cvlan_prio = 0xff;
	}
	if (tb[TCA_FLOWER_KEY_CVLAN_ETH_TYPE]) {
		if (get_be16(d, tb[TCA_FLOWER_KEY_CVLAN_ETH_TYPE], &k->cvlan_eth_type,
		             "cvlan_ethtype"))
			return -EINVAL;
		m->cvlan_eth_type = 0xffff;
	}
	if (tb[TCA_FLOWER_KEY_ETH_TYPE]) {
		uint16_t et;

		if (get_be16(d, tb[TCA_FLOWER_KEY_ETH_TYPE], &et, "eth_type"))
			return -EINVAL;
		/* Requests carry the protocol; dumps of VLAN filters carry the inner type, which
		 * the vlan/cvlan ethtype attributes already hold. */
		if (et != proto && !is_vlan_proto(proto))
			return FAIL(d, "eth_type 0x%04x differs from the filter protocol 0x%04x",
			            et, proto);
	}
	if (tb[TCA_FLOWER_KEY_ETH_DST] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_ETH_DST], tb[TCA_FLOWER_KEY_ETH_DST_MASK], k->eth_dst,
	               m->eth_dst, 6, "eth dst"))
		return -EINVAL;
	if (tb[TCA_FLOWER_KEY_ETH_SRC] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_ETH_SRC], tb[TCA_FLOWER_KEY_ETH_SRC_MASK], k->eth_src,
	               m->eth_src, 6, "eth src"))
		return -EINVAL;
	if (tb[TCA_FLOWER_KEY_IP_PROTO]) {
		if (GET(tb[TCA_FLOWER_KEY_IP_PROTO], &k->ip_proto, "ip_proto"))
			return -EINVAL;
		m->ip_proto = 0xff;
	}
	if ((tb[TCA_FLOWER_KEY_IP_PROTO] || tb[TCA_FLOWER_KEY_IP_TOS] ||
	     tb[TCA_FLOWER_KEY_IP_TTL]) &&
	    !nto_rule_family(r))
		return FAIL(d, "IP match on a non-IP filter");
	if (tb[TCA_FLOWER_KEY_IP_TOS] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_IP_TOS], tb[TCA_FLOWER_KEY_IP_TOS_MASK], &k->ip_tos,
	               &m->ip_tos, 1, "ip_tos"))
		return -EINVAL;
	if (tb[TCA_FLOWER_KEY_IP_TTL] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_IP_TTL], tb[TCA_FLOWER_KEY_IP_TTL_MASK], &k->ip_ttl,
	               &m->ip_ttl, 1, "ip_ttl"))
		return -EINVAL;
	if (decode_addrs(d, tb, r))
		return -EINVAL;
	if (tb[TCA_FLOWER_KEY_TCP_SRC] || tb[TCA_FLOWER_KEY_TCP_DST] ||
	    tb[TCA_FLOWER_KEY_TCP_FLAGS]) {
		if (!m->ip_proto || k->ip_proto != IPPROTO_TCP)
			return FAIL(d, "TCP match without ip_proto tcp");
		if (tb[TCA_FLOWER_KEY_UDP_SRC] || tb[TCA_FLOWER_KEY_UDP_DST])
			return FAIL(d, "both TCP and UDP ports");
	}
	if ((tb[TCA_FLOWER_KEY_UDP_SRC] || tb[TCA_FLOWER_KEY_UDP_DST]) &&
	    (!m->ip_proto || k->ip_proto != IPPROTO_UDP))
		return FAIL(d, "UDP match without ip_proto udp");
	if (decode_port(d, tb[TCA_FLOWER_KEY_TCP_SRC], tb[TCA_FLOWER_KEY_TCP_SRC_MASK],
	                &k->src_port, &m->src_port, "tcp src") ||
	    decode_port(d, tb[TCA_FLOWER_KEY_TCP_DST], tb[TCA_FLOWER_KEY_TCP_DST_MASK],
	                &k->dst_port, &m->dst_port, "tcp dst") ||
	    decode_port(d, tb[TCA_FLOWER_KEY_UDP_SRC], tb[TCA_FLOWER_KEY_UDP_SRC_MASK],
	                &k->src_port, &m->src_port, "udp src") ||
	    decode_port(d, tb[TCA_FLOWER_KEY_UDP_DST], tb[TCA_FLOWER_KEY_UDP_DST_MASK],
	                &k->dst_port, &m->dst_port, "udp dst"))
		return -EINVAL;
	if (tb[TCA_FLOWER_KEY_TCP_FLAGS] &&
	    get_masked_be16(d, tb[TCA_FLOWER_KEY_TCP_FLAGS], tb[TCA_FLOWER_KEY_TCP_FLAGS_MASK],
	                    &k->tcp_flags, &m->tcp_flags, "tcp_flags"))
		return -EINVAL;
	if (tb[TCA_FLOWER_KEY_CT_STATE] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_CT_STATE], tb[TCA_FLOWER_KEY_CT_STATE_MASK],
	               &k->ct_state, &m->ct_state, 2, "ct_state"))
		return -EINVAL;
	if (tb[TCA_FLOWER_KEY_CT_ZONE] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_CT_ZONE], tb[TCA_FLOWER_KEY_CT_ZONE_MASK], &k->ct_zone,
	               &m->ct_zone, 2, "ct_zone"))
		return -EINVAL;
	if (tb[TCA_FLOWER_KEY_CT_MARK] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_CT_MARK], tb[TCA_FLOWER_KEY_CT_MARK_MASK], &k->ct_mark,
	               &m->ct_mark, 4, "ct_mark"))
		return -EINVAL;
	if (tb[TCA_FLOWER_KEY_CT_LABELS] &&
	    get_masked(d, tb[TCA_FLOWER_KEY_CT_LABELS], tb[TCA_FLOWER_KEY_CT_LABELS_MASK],
	               k->ct_label, m->ct_label, TC_CT_LABEL_LEN, "ct_label"))
		return -EINVAL;
	if (m->ct_state & ~0x3f)
		return FAIL(d, "ct_state mask 0x%x has unknown bits", m->ct_state);
	return 0;
}

/* --- actions ------------------------------------------------------------------------------ */

static int decode_verdict(struct dec *d, int32_t v, struct tc_action *a, unsigned i)
{
	uint32_t u = (uint32_t)v;

	if ((u & ~(uint32_t)TC_ACT_EXT_VAL_MASK) == TC_ACT_GOTO_CHAIN) {
		a->verdict = TC_VERDICT_GOTO_CHAIN;
		a->goto_chain = u & TC_ACT_EXT_VAL_MASK;
		return 0;
	}
	switch (v) {
	case TC_ACT_OK:
	case TC_ACT_SHOT:
	case TC_ACT_PIPE:
	case TC_ACT_STOLEN:
		a->verdict = (enum tc_verdict)v;
		return 0;
	}
	return FAIL(d, "action %u: unsupported control action 0x%x", i + 1, u);
}

/* Keeps the most recent use over all actions. */
static void note_tm(struct tc_rule *r, const struct nlattr *tm)
{
	struct tcf_t t;

	if (!tm || attr_len(tm) < sizeof(t))
		return;
	memcpy(&t, attr_data(tm), sizeof(t));
	uint64_t ms = (uint64_t)t.lastuse * (1000 / NTO_USER_HZ);
	if (ms < r->state.lastused_ms) /* UINT64_MAX until the first TM */
		r->state.lastused_ms = ms;
	r->state.valid = true;
}

static int decode_gact(struct dec *d, const struct nlattr *opts, struct tc_action *a, unsigned i,
                       struct tc_rule *r)
{
	TB(tb, TCA_GACT_MAX);
	struct tc_gact p;

	if (parse_nested(d, opts, tb, TCA_GACT_MAX, "gact"))
		return -EINVAL;
	if (tb[TCA_GACT_PROB])
		return FAIL(d, "action %u: random gact is not supported", i + 1);
	if (!tb[TCA_GACT_PARMS])
		return FAIL(d, "action %u: gact without parms", i + 1);
	if (get(d, tb[TCA_GACT_PARMS], &p, sizeof(p), true, "gact parms"))
		return -EINVAL;
	note_tm(r, tb[TCA_GACT_TM]);
	return decode_verdict(d, p.action, a, i);
}

static int decode_mirred(struct dec *d, const struct nlattr *opts, struct tc_action *a, unsigned i,
                         struct tc_rule *r)
{
	TB(tb, TCA_MIRRED_MAX);
	struct tc_mirred p;

	if (parse_nested(d, opts, tb, TCA_MIRRED_MAX, "mirred"))
		return -EINVAL;
	if (!tb[TCA_MIRRED_PARMS])
		return FAIL(d, "action %u: mirred without parms", i + 1);
	if (get(d, tb[TCA_MIRRED_PARMS], &p, sizeof(p), true, "mirred parms"))
		return -EINVAL;
	switch (p.eaction) {
	case TCA_EGRESS_REDIR:
		a->mirred.op = TC_MIRRED_EGRESS_REDIRECT;
		break;
	case TCA_EGRESS_MIRROR:
		a->mirred.op = TC_MIRRED_EGRESS_MIRROR;
		break;
	case TCA_INGRESS_REDIR:
		a->mirred.op = TC_MIRRED_INGRESS_REDIRECT;
		break;
	case TCA_INGRESS_MIRROR:
		a->mirred.op = TC_MIRRED_INGRESS_MIRROR;
		break;
	default:
		return FAIL(d, "action %u: unknown mirred eaction %d", i + 1, p.eaction);
	}
	if (!p.ifindex)
		return FAIL(d, "action %u: mirred without a device", i + 1);
	a->mirred.ifindex = p.ifindex;
	note_tm(r, tb[TCA_MIRRED_TM]);
	return decode_verdict(d, p.action, a, i);
}

struct pedit_key {
	uint8_t mask[4], val[4];
	uint32_t off;
	uint16_t htype, cmd;
};

/* Does the run of keys at k (n left) spell field f? On success returns the number of keys and
 * sets op. */
static unsigned pedit_match(const struct pedit_key *k, unsigned n, enum tc_pedit_field f,
                            struct tc_pedit_op *op)
{
	const struct nto_pedit_layout *l = nto_pedit_layout(f);
	unsigned first = l->start & ~3u, end = l->start + l->len, used = 0;
	uint8_t val[16];

	for (unsigned off = first; off < end; off += 4, used++) {
		if (used >= n || k[used].htype != l->htype || k[used].off != off ||
		    k[used].cmd != k[0].cmd)
			return 0;
		for (unsigned b = 0; b < 4; b++) {
			bool in = off + b >= l->start && off + b < end;

			if (k[used].mask[b] != (in ? 0x00 : 0xff))
				return 0;
			if (in)
				val[off + b - l->start] = k[used].val[b];
			else if (k[used].val[b])
				return 0;
		}
	}
	op->field = f;
	op->cmd = k[0].cmd == TCA_PEDIT_KEY_EX_CMD_ADD ? TC_PEDIT_ADD : TC_PEDIT_SET;
	nto_pedit_set_value(op, val);
	return used;
}

static int decode_pedit(struct dec *d, const struct nlattr *opts, struct tc_action *a, unsigned i,
                        struct tc_rule *r)
{
	TB(tb, TCA_PEDIT_MAX);
	struct tc_pedit_sel sel;
	struct pedit_key keys[128];
	const struct nlattr *kex;
	const uint8_t *raw;
	unsigned n, got = 0;

	if (parse_nested(d, opts, tb, TCA_PEDIT_MAX, "pedit"))
		return -EINVAL;
	if (!tb[TCA_PEDIT_PARMS_EX] || !tb[TCA_PEDIT_KEYS_EX])
		return FAIL(d, "action %u: pedit without extended keys is not supported", i + 1);
	if (get(d, tb[TCA_PEDIT_PARMS_EX], &sel, sizeof(sel), true, "pedit parms"))
		return -EINVAL;
	n = sel.nkeys;
	if (n == 0 || n > sizeof(keys) / sizeof(keys[0]) ||
	    attr_len(tb[TCA_PEDIT_PARMS_EX]) <
	        sizeof(struct tc_pedit_sel) + n * sizeof(struct tc_pedit_key))
		return FAIL(d, "action %u: pedit with %u keys does not fit its attribute", i + 1,
		            n);
	if (sel.flags)
		return FAIL(d, "action %u: pedit flags 0x%x not supported", i + 1, sel.flags);
	raw = (const uint8_t *)attr_data(tb[TCA_PEDIT_PARMS_EX]) + sizeof(struct tc_pedit_sel);
	for (unsigned j = 0; j < n; j++) {
		struct tc_pedit_key pk;

		memcpy(&pk, raw + j * sizeof(pk), sizeof(pk));
		if (pk.at || pk.offmask || pk.shift)
			return FAIL(d, "action %u: pedit key %u uses at/offmask/shift", i + 1, j);
		memcpy(keys[j].mask, &pk.mask, 4);
		memcpy(keys[j].val, &pk.val, 4);
		keys[j].off = pk.off;
	}
	if (parse_nested(d, tb[TCA_PEDIT_KEYS_EX], NULL, 0, "pedit keys_ex"))
		return -EINVAL;
	attr_for_each_nested(kex, tb[TCA_PEDIT_KEYS_EX])
	{
		TB(kt, TCA_PEDIT_KEY_EX_MAX);

		if (attr_type(kex) != TCA_PEDIT_KEY_EX)
			continue;
		if (got >= n)
			return FAIL(d, "action %u: more extended pedit keys than keys", i + 1);
		if (parse_nested(d, kex, kt, TCA_PEDIT_KEY_EX_MAX, "pedit key_ex"))
			return -EINVAL;
		if (!kt[TCA_PEDIT_KEY_EX_HTYPE] || !kt[TCA_PEDIT_KEY_EX_CMD] ||
		    GET(kt[TCA_PEDIT_KEY_EX_HTYPE], &keys[got].htype, "pedit htype") ||
		    GET(kt[TCA_PEDIT_KEY_EX_CMD], &keys[got].cmd, "pedit cmd"))
			return FAIL(d, "action %u: pedit extended key %u incomplete", i + 1, got);
		if (keys[got].cmd > TCA_PEDIT_KEY_EX_CMD_ADD)
			return FAIL(d, "action %u: pedit cmd %u unknown", i + 1, keys[got].cmd);
		got++;
	}
	if (got != n)
		return FAIL(d, "action %u: %u pedit keys but %u extended keys", i + 1, n, got);

	for (unsigned j = 0; j < n;) {
		struct tc_pedit_op op;
		unsigned used = 0;

		for (int f = TC_PEDIT_ETH_DST; f <= TC_PEDIT_UDP_DPORT && !used; f++)
			used = pedit_match(&keys[j], n - j, (enum tc_pedit_field)f, &op);
		if (!used)
			return FAIL(
			    d,
			    "action %u: pedit key %u (htype %u offset %u mask %02x%02x%02x%02x) "
			    "is no field the rule model knows",
			    i + 1, j, keys[j].htype, keys[j].off, keys[j].mask[0], keys[j].mask[1],
			    keys[j].mask[2], keys[j].mask[3]);
		if (!tc_pedit_add(&a->pedit, &op))
			return FAIL(d, "action %u: more than %d pedit ops", i + 1,
			            TC_PEDIT_MAX_OPS);
		j += used;
	}
	note_tm(r, tb[TCA_PEDIT_TM]);
	return decode_verdict(d, sel.action, a, i);
}

static int decode_csum(struct dec *d, const struct nlattr *opts, struct tc_action *a, unsigned i,
                       struct tc_rule *r)
{
	TB(tb, TCA_CSUM_MAX);
	struct tc_csum p;

	if (parse_nested(d, opts, tb, TCA_CSUM_MAX, "csum"))
		return -EINVAL;
	if (!tb[TCA_CSUM_PARMS])
		return FAIL(d, "action %u: csum without parms", i + 1);
	if (get(d, tb[TCA_CSUM_PARMS], &p, sizeof(p), true, "csum parms"))
		return -EINVAL;
	if (!p.update_flags || p.update_flags & ~0x7fU)
		return FAIL(d, "action %u: csum flags 0x%x", i + 1, p.update_flags);
	a->csum.flags = p.update_flags;
	note_tm(r, tb[TCA_CSUM_TM]);
	return decode_verdict(d, p.action, a, i);
}

static int decode_vlan(struct dec *d, const struct nlattr *opts, struct tc_action *a, unsigned i,
                       struct tc_rule *r)
{
	TB(tb, TCA_VLAN_MAX);
	struct tc_vlan p;

	if (parse_nested(d, opts, tb, TCA_VLAN_MAX, "vlan"))
		return -EINVAL;
	if (!tb[TCA_VLAN_PARMS])
		return FAIL(d, "action %u: vlan without parms", i + 1);
	if (get(d, tb[TCA_VLAN_PARMS], &p, sizeof(p), true, "vlan parms"))
		return -EINVAL;
	switch (p.v_action) {
	case TCA_VLAN_ACT_POP:
		a->vlan.op = TC_VLAN_POP;
		break;
	case TCA_VLAN_ACT_PUSH:
		a->vlan.op = TC_VLAN_PUSH;
		break;
	case TCA_VLAN_ACT_MODIFY:
		a->vlan.op = TC_VLAN_MODIFY;
		break;
	default:
		return FAIL(d, "action %u: vlan action %d not supported", i + 1, p.v_action);
	}
	if (a->vlan.op != TC_VLAN_POP) {
		if (!tb[TCA_VLAN_PUSH_VLAN_ID] ||
		    GET(tb[TCA_VLAN_PUSH_VLAN_ID], &a->vlan.id, "vlan id"))
			return FAIL(d, "action %u: vlan push/modify without an id", i + 1);
		a->vlan.proto = ETH_P_8021Q; /* the kernel's default */
		if (tb[TCA_VLAN_PUSH_VLAN_PROTOCOL] &&
		    get_be16(d, tb[TCA_VLAN_PUSH_VLAN_PROTOCOL], &a->vlan.proto, "vlan protocol"))
			return -EINVAL;
		if (tb[TCA_VLAN_PUSH_VLAN_PRIORITY] &&
		    GET(tb[TCA_VLAN_PUSH_VLAN_PRIORITY], &a->vlan.prio, "vlan priority"))
			return -EINVAL;
	}
	note_tm(r, tb[TCA_VLAN_TM]);
	return decode_verdict(d, p.action, a, i);
}

static int decode_ct(struct dec *d, const struct nlattr *opts, struct tc_action *a, unsigned i,
                     struct tc_rule *r)
{
	TB(tb, TCA_CT_PAD);
	struct tc_act_ct *c = &a->ct;
	struct tc_ct p;

	if (parse_nested(d, opts, tb, TCA_CT_PAD, "ct"))
		return -EINVAL;
	/* Helper attributes come after TCA_CT_PAD in newer kernels: refuse what we can't hold. */
	{
		const struct nlattr *x;

		attr_for_each_nested(x, opts)
		{
			if (attr_type(x) > TCA_CT_PAD)
				return FAIL(d, "action %u: ct attribute %u not supported", i + 1,
				            attr_type(x));
		}
	}
	if (!tb[TCA_CT_PARMS])
		return FAIL(d, "action %u: ct without parms", i + 1);
	if (get(d, tb[TCA_CT_PARMS], &p, sizeof(p), true, "ct parms"))
		return -EINVAL;
	if (tb[TCA_CT_ACTION] && GET(tb[TCA_CT_ACTION], &c->flags, "ct action"))
		return -EINVAL;
	if (tb[TCA_CT_ZONE] && GET(tb[TCA_CT_ZONE], &c->zone, "ct zone"))
		return -EINVAL;
	if (tb[TCA_CT_MARK]) {
		if (GET(tb[TCA_CT_MARK], &c->mark, "ct mark"))
			return -EINVAL;
		c->mark_mask = 0xffffffff;
		if (tb[TCA_CT_MARK_MASK] &&
		    GET(tb[TCA_CT_MARK_MASK], &c->mark_mask, "ct mark mask"))
			return -EINVAL;
	}
	if (tb[TCA_CT_LABELS]) {
		if (get(d, tb[TCA_CT_LABELS], c->label, TC_CT_LABEL_LEN, false, "ct label"))
			return -EINVAL;
		memset(c->label_mask, 0xff, TC_CT_LABEL_LEN);
		if (tb[TCA_CT_LABELS_MASK] && get(d, tb[TCA_CT_LABELS_MASK], c->label_mask,
		                                  TC_CT_LABEL_LEN, false, "ct label mask"))
			return -EINVAL;
	}
	if (c->flags & (TC_CT_NAT_SRC | TC_CT_NAT_DST)) {
		if (tb[TCA_CT_NAT_IPV4_MIN]) {
			c->nat_family = AF_INET;
			if (get(d, tb[TCA_CT_NAT_IPV4_MIN], &c->nat_addr_min.v4, 4, false,
			        "nat min"))
				return -EINVAL;
			c->nat_addr_max = c->nat_addr_min;
			if (tb[TCA_CT_NAT_IPV4_MAX] &&
			    get(d, tb[TCA_CT_NAT_IPV4_MAX], &c->nat_addr_max.v4, 4, false,
			        "nat max"))
				return -EINVAL;
		} else if (tb[TCA_CT_NAT_IPV6_MIN]) {
			c->nat_family = AF_INET6;
			if (get(d, tb[TCA_CT_NAT_IPV6_MIN], &c->nat_addr_min.v6, 16, false,
			        "nat min"))
				return -EINVAL;
			c->nat_addr_max = c->nat_addr_min;
			if (tb[TCA_CT_NAT_IPV6_MAX] &&
			    get(d, tb[TCA_CT_NAT_IPV6_MAX], &c->nat_addr_max.v6, 16, false,
			        "nat max"))
				return -EINVAL;
		}
		if (tb[TCA_CT_NAT_PORT_MIN]) {
			if (get_be16(d, tb[TCA_CT_NAT_PORT_MIN], &c->nat_port_min, "nat port min"))
				return -EINVAL;
			c->nat_port_max = c->nat_port_min;
			if (tb[TCA_CT_NAT_PORT_MAX] &&
			    get_be16(d, tb[TCA_CT_NAT_PORT_MAX], &c->nat_port_max, "nat port max"))
				return -EINVAL;
		}
	}
	if (c->flags & ~0x3f)
		return FAIL(d, "action %u: ct flags 0x%x unknown", i + 1, c->flags);
	note_tm(r, tb[TCA_CT_TM]);
	return decode_verdict(d, p.action, a, i);
}

static void decode_stats(const struct nlattr *st, struct tc_rule_state *state)
{
	const struct nlattr *a;
	struct gnet_stats_basic b;
	uint64_t bytes, packets;

	/* Stats are informative: anything malformed is skipped, not fatal. */
	if (parse_nested(&(struct dec){0}, st, NULL, 0, "stats"))
		return;
	attr_for_each_nested(a, st)
	{
		unsigned t = attr_type(a);

		if ((t != TCA_STATS_BASIC && t != TCA_STATS_BASIC_HW) || attr_len(a) < 12)
			continue;
		memset(&b, 0, sizeof(b));
		memcpy(&b, attr_data(a), 12);
		bytes = b.bytes;
		packets = b.packets;
		if (t == TCA_STATS_BASIC && packets >= state->packets) {
			state->bytes = bytes;
			state->packets = packets;
		} else if (t == TCA_STATS_BASIC_HW && packets >= state->hw_packets) {
			state->hw_bytes = bytes;
			state->hw_packets = packets;
		}
		state->valid = true;
	}
}

static const char *const kind_names[] = {
    [TC_ACTION_GACT] = "gact", [TC_ACTION_MIRRED] = "mirred", [TC_ACTION_PEDIT] = "pedit",
    [TC_ACTION_CSUM] = "csum", [TC_ACTION_VLAN] = "vlan",     [TC_ACTION_CT] = "ct",
};

/* The rule has one cookie: every action must carry the same one (or none at all). */
static int take_cookie(struct dec *d, const struct nlattr *c, unsigned i, uint8_t *cookie_len,
                       uint8_t *cookie, bool *cookie_seen)
{
	size_t len;

	if (!c) {
		if (*cookie_seen)
			return FAIL(d, "action %u: no cookie while the first action has one",
			            i + 1);
		return 0;
	}
	len = attr_len(c);
	if (len == 0 || len > TC_COOKIE_MAX)
		return FAIL(d, "action %u: cookie of %zu bytes", i + 1, len);
	if (i == 0) {
		*cookie_len = (uint8_t)len;
		memcpy(cookie, attr_data(c), len);
		*cookie_seen = true;
	} else if (!*cookie_seen || len != *cookie_len || memcmp(cookie, attr_data(c), len)) {
		return FAIL(d, "action %u: cookie differs from the first action's", i + 1);
	}
	return 0;
}

static int decode_action(struct dec *d, const struct nlattr *act, unsigned i, struct tc_rule *r,
                         bool *cookie_seen)
{
	TB(tb, TCA_ACT_MAX);
	char kind[IFNAMSIZ];
	struct tc_action *a = &r->actions[i];
	int k;

	if (parse_nested(d, act, tb, TCA_ACT_MAX, "action"))
		return -EINVAL;
	if (!tb[TCA_ACT_KIND] || get_string(d, tb[TCA_ACT_KIND], kind, sizeof(kind), "action kind"))
		return FAIL(d, "action %u without a kind", i + 1);
	for (k = TC_ACTION_GACT; k <= TC_ACTION_CT; k++)
		if (!strcmp(kind, kind_names[k]))
			break;
	if (k > TC_ACTION_CT)
		return FAIL(d, "action %u: kind \"%s\" not supported", i + 1, kind);
	if (!tb[TCA_ACT_OPTIONS])
		return FAIL(d, "action %u: %s without options", i + 1, kind);

	memset(a, 0, sizeof(*a));
	a->kind = (enum tc_action_kind)k;
	r->n_actions = (uint8_t)(i + 1);

	if (take_cookie(d, tb[TCA_ACT_COOKIE], i, &r->cookie_len, r->cookie, cookie_seen))
		return -EINVAL;
	if (tb[TCA_ACT_STATS])
		decode_stats(tb[TCA_ACT_STATS], &r->state);

	switch (a->kind) {
	case TC_ACTION_GACT:
		return decode_gact(d, tb[TCA_ACT_OPTIONS], a, i, r);
	case TC_ACTION_MIRRED:
		return decode_mirred(d, tb[TCA_ACT_OPTIONS], a, i, r);
	case TC_ACTION_PEDIT:
		return decode_pedit(d, tb[TCA_ACT_OPTIONS], a, i, r);
	case TC_ACTION_CSUM:
		return decode_csum(d, tb[TCA_ACT_OPTIONS], a, i, r);
	case TC_ACTION_VLAN:
		return decode_vlan(d, tb[TCA_ACT_OPTIONS], a, i, r);
	case TC_ACTION_CT:
		return decode_ct(d, tb[TCA_ACT_OPTIONS], a, i, r);
	}
	return -EINVAL;
}

static int decode_actions(struct dec *d, const struct nlattr *acts, struct tc_rule *r)
{
	const struct nlattr *a;
	bool cookie_seen = false;
	unsigned i = 0, last = 0;

	if (parse_nested(d, acts, NULL, 0, "actions"))
		return -EINVAL;
	r->state.lastused_ms = UINT64_MAX;
	attr_for_each_nested(a, acts)
	{
		unsigned prio = attr_type(a);

		if (prio <= last)
			return FAIL(d, "actions out of order (%u after %u)", prio, last);
		last = prio;
		if (i >= TC_RULE_MAX_ACTIONS)
			return FAIL(d, "more than %d actions", TC_RULE_MAX_ACTIONS);
		if (decode_action(d, a, i, r, &cookie_seen))
			return -EINVAL;
		i++;
	}
	if (r->state.lastused_ms == UINT64_MAX)
		r->state.lastused_ms = 0;
	return 0;
}

/*
 * The header and top-level attributes of an RTM_NEWTFILTER or RTM_DELTFILTER message into tb
 * and id. Returns 0, -ENOENT when the filter is not flower, or -EINVAL.
 */
static int decode_head(struct dec *d, const void *buf, size_t len, const struct nlattr **tb,
                       struct tc_id *id)
{
	const struct nlmsghdr *nlh = buf;
	struct tcmsg t;
	char kind[IFNAMSIZ];

	if (!buf || len < sizeof(*nlh))
		return FAIL(d, "message shorter than a netlink header");
	if ((uintptr_t)buf % 4)
		return FAIL(d, "message not 4-byte aligned");
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(t) || nlh->nlmsg_len > len)
		return FAIL(d, "nlmsg_len %u does not fit (%zu bytes given)", nlh->nlmsg_len, len);
	if (nlh->nlmsg_type != RTM_NEWTFILTER && nlh->nlmsg_type != RTM_DELTFILTER)
		return FAIL(d, "message type %u is not a filter", nlh->nlmsg_type);
	memcpy(&t, mnl_nlmsg_get_payload(nlh), sizeof(t));
	if (parse(d, (const char *)mnl_nlmsg_get_payload(nlh) + NLMSG_ALIGN(sizeof(t)),
	          nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(t)), tb, TCA_MAX, "filter"))
		return -EINVAL;
	if (!tb[TCA_KIND] || get_string(d, tb[TCA_KIND], kind, sizeof(kind), "kind"))
		return -EINVAL;
	if (strcmp(kind, "flower"))
		return -ENOENT;

	if ((uint32_t)t.tcm_ifindex == TCM_IFINDEX_MAGIC_BLOCK) {
		id->block_index = t.tcm_block_index;
		if (!id->block_index)
			return FAIL(d, "block index 0");
	} else {
		id->ifindex = (uint32_t)t.tcm_ifindex;
		if (t.tcm_parent == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS))
			id->hook = TC_HOOK_EGRESS;
		else if (t.tcm_parent == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS) ||
		         t.tcm_parent == TC_H_INGRESS)
			id->hook = TC_HOOK_INGRESS;
		else
			return FAIL(d, "parent %x:%x is not clsact ingress/egress",
			            TC_H_MAJ(t.tcm_parent) >> 16, TC_H_MIN(t.tcm_parent));
	}
	id->prio = (uint16_t)(t.tcm_info >> 16);
	id->protocol = ntohs((uint16_t)TC_H_MIN(t.tcm_info));
	id->handle = t.tcm_handle;
	if (tb[TCA_CHAIN] && GET(tb[TCA_CHAIN], &id->chain, "chain"))
		return -EINVAL;
	return 0;
}

/* The flower flags and in_hw_count into state (skip flags returned in *flags). */
static int decode_hw_state(struct dec *d, const struct nlattr **ftb, uint32_t *flags,
                           struct tc_rule_state *state)
{
	*flags = 0;
	if (ftb[TCA_FLOWER_FLAGS] && GET(ftb[TCA_FLOWER_FLAGS], flags, "flower flags"))
		return -EINVAL;
	state->in_hw = *flags & TCA_CLS_FLAGS_IN_HW;
	state->not_in_hw = *flags & TCA_CLS_FLAGS_NOT_IN_HW;
	if (ftb[TCA_FLOWER_IN_HW_COUNT]) {
		if (GET(ftb[TCA_FLOWER_IN_HW_COUNT], &state->in_hw_count, "in_hw_count"))
			return -EINVAL;
		state->valid = true;
	}
	if (*flags & (TCA_CLS_FLAGS_IN_HW | TCA_CLS_FLAGS_NOT_IN_HW))
		state->valid = true;
	return 0;
}

int tc_decode(const void *buf, size_t len, struct tc_rule *r, char *err, size_t errlen)
{
	struct dec dd = {err, errlen}, *d = &dd;
	TB(tb, TCA_MAX);
	TB(ftb, TCA_FLOWER_MAX);
	uint32_t flags = 0;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	/* not the actions (most of the 5 KB): decode_action zeroes each one it fills */
	tc_rule_init(r, NULL);
	rc = decode_head(d, buf, len, tb, &r->id);
	if (rc)
		return rc;
	if (!tb[TCA_OPTIONS])
		return 0; /* e.g. a deletion notification: id only */

	if (parse_nested(d, tb[TCA_OPTIONS], ftb, TCA_FLOWER_MAX, "flower") ||
	    check_flower_attrs(d, tb[TCA_OPTIONS]) || decode_keys(d, ftb, r))
		return -EINVAL;
	if (decode_hw_state(d, ftb, &flags, &r->state))
		return -EINVAL;
	r->flower.skip_sw = flags & TCA_CLS_FLAGS_SKIP_SW;
	r->flower.skip_hw = flags & TCA_CLS_FLAGS_SKIP_HW;
	if (ftb[TCA_FLOWER_ACT] && decode_actions(d, ftb[TCA_FLOWER_ACT], r))
		return -EINVAL;
	return 0;
}

/* ---- brief: a terse dump's filter (or any filter, read for its id, flags and cookie) ---- */

static int brief_actions(struct dec *d, const struct nlattr *acts, struct tc_brief *b,
                         unsigned flags)
{
	const struct nlattr *a;
	bool cookie_seen = false;
	unsigned i = 0, last = 0;

	if (parse_nested(d, acts, NULL, 0, "actions"))
		return -EINVAL;
	attr_for_each_nested(a, acts)
	{
		unsigned prio = attr_type(a);
		TB(tb, TCA_ACT_MAX);

		if (prio <= last)
			return FAIL(d, "actions out of order (%u after %u)", prio, last);
		last = prio;
		if (i >= TC_RULE_MAX_ACTIONS)
			return FAIL(d, "more than %d actions", TC_RULE_MAX_ACTIONS);
		if (parse_nested(d, a, tb, TCA_ACT_MAX, "action"))
			return -EINVAL;
		if (!tb[TCA_ACT_KIND])
			return FAIL(d, "action %u without a kind", i + 1);
		if (take_cookie(d, tb[TCA_ACT_COOKIE], i, &b->cookie_len, b->cookie, &cookie_seen))
			return -EINVAL;
		if (tb[TCA_ACT_STATS] && !(flags & TC_BRIEF_NO_STATS))
			decode_stats(tb[TCA_ACT_STATS], &b->state);
		i++;
	}
	b->n_actions = (uint8_t)i;
	return 0;
}

int tc_decode_brief(const void *buf, size_t len, struct tc_brief *b, char *err, size_t errlen)
{
	return tc_decode_brief_flags(buf, len, b, 0, err, errlen);
}

int tc_decode_brief_flags(const void *buf, size_t len, struct tc_brief *b, unsigned flags,
                          char *err, size_t errlen)
{
	struct dec dd = {err, errlen}, *d = &dd;
	TB(tb, TCA_MAX);
	TB(ftb, TCA_FLOWER_MAX);
	uint32_t fl = 0;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	memset(b, 0, sizeof(*b));
	rc = decode_head(d, buf, len, tb, &b->id);
	if (rc)
		return rc;
	if (!tb[TCA_OPTIONS])
		return 0;
	if (parse_nested(d, tb[TCA_OPTIONS], ftb, TCA_FLOWER_MAX, "flower") ||
	    decode_hw_state(d, ftb, &fl, &b->state))
		return -EINVAL;
	b->skip_sw = fl & TCA_CLS_FLAGS_SKIP_SW;
	b->skip_hw = fl & TCA_CLS_FLAGS_SKIP_HW;
	if (ftb[TCA_FLOWER_ACT] && brief_actions(d, ftb[TCA_FLOWER_ACT], b, flags))
		return -EINVAL;
	return 0;
}
