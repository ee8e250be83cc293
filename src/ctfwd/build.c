/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ct strategy's chain 1: forwarding rules from routes and neighbours (see ctfwd.h for the
 * layout and the safety rules). Per ingress device the work is:
 *  1. which egress devices qualify (flowtable device, not D, Ethernet, up, MTU, oif specs);
 *  2. destinations: gatewayed routes (prefix + the gateway's MAC) and valid neighbours on
 *     connected routes (/32, /128), each only where the FIB would choose that route;
 *  3. pass entries for every route (and never-forwarded range) that a broader forwarding entry
 *     would otherwise catch;
 *  4. rules: per entry x protocol, checked against the device's profile; a refused
 *     forwarding rule becomes a pass rule, a refused pass rule drops the family's rules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nft-tc-offload/ctfwd.h"

#define ETH_P_IP_     0x0800
#define ETH_P_IPV6_   0x86dd
#define ARPHRD_ETHER_ 1

struct notes {
	char **v;
	size_t n;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void note(struct notes *ns, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	char **v;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		ns->oom = true;
		return;
	}
	v = realloc(ns->v, (ns->n + 1) * sizeof(*v));
	if (!v) {
		free(s);
		ns->oom = true;
		return;
	}
	ns->v = v;
	ns->v[ns->n++] = s;
}

uint16_t ctfwd_prio(uint16_t base, int family, unsigned len)
{
	if (!base)
		base = CTFWD_DEFAULT_PRIO_BASE;
	if (family == AF_INET)
		return (uint16_t)(base + 2 + (32 - (len > 32 ? 32 : len)));
	return (uint16_t)(base + 35 + (128 - (len > 128 ? 128 : len)));
}

uint16_t ctfwd_guard_prio(uint16_t base, int family)
{
	if (!base)
		base = CTFWD_DEFAULT_PRIO_BASE;
	return (uint16_t)(base + (family == AF_INET ? 0 : 1));
}

uint16_t ctfwd_l2_prio(uint16_t base, int family)
{
	if (!base)
		base = CTFWD_DEFAULT_PRIO_BASE;
	return (uint16_t)(base - CTFWD_L2_PRIOS + (family == AF_INET ? 0 : 1));
}

static unsigned fam_bit(int family)
{
	return family == AF_INET ? PLAN_FAMILY_IPV4 : PLAN_FAMILY_IPV6;
}

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Destinations that are never forwarded: IPv6 link-local and multicast, IPv4 multicast and
 * limited broadcast. */
static bool never_forwarded(int family, const union tc_addr *a, unsigned len)
{
	const uint8_t *b = (const uint8_t *)a;

	if (family == AF_INET6)
		return len >= 10 && ((b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff);
	return len >= 4 && ((b[0] & 0xf0) == 0xe0 || (len == 32 && b[0] == 0xff && b[1] == 0xff &&
	                                              b[2] == 0xff && b[3] == 0xff));
}

static const char *astr(int family, const union tc_addr *a, char *buf, size_t len)
{
	return inet_ntop(family, a, buf, (socklen_t)len) ? buf : "?";
}

static void mask_of(int family, unsigned len, union tc_addr *m)
{
	memset(m, 0, sizeof(*m));
	for (unsigned b = 0; b < len && b < alen(family) * 8; b++)
		((uint8_t *)m)[b / 8] |= (uint8_t)(0x80 >> (b % 8));
}

/* ---- entries: what goes to chain 1 before protocols and profiles ---- */

struct entry {
	int family;
	union tc_addr dst;
	uint8_t len;
	bool pass;
	uint32_t egress;
	uint8_t src_mac[6], dst_mac[6];
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static struct entry *entry_find(const struct entries *es, int family, const union tc_addr *dst,
                                unsigned len)
{
	for (size_t i = 0; i < es->n; i++)
		if (es->v[i].family == family && es->v[i].len == len &&
		    memcmp(&es->v[i].dst, dst, alen(family)) == 0)
			return &es->v[i];
	return NULL;
}

static struct entry *entry_push(struct entries *es)
{
	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 16;
		struct entry *v = realloc(es->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		es->v = v;
		es->cap = cap;
	}
	memset(&es->v[es->n], 0, sizeof(es->v[es->n]));
	return &es->v[es->n++];
}

static const struct ctfwd_device *device_of(const struct ctfwd_input *in, uint32_t ifindex)
{
	for (size_t i = 0; i < in->n_devices; i++)
		if (in->devices[i].ifindex == ifindex)
			return &in->devices[i];
	return NULL;
}

/* Whether E may be the egress for connections entering at D; reason when not. */
static bool egress_ok(const struct ctfwd_input *in, const struct ctfwd_device *d,
                      const struct netstate_link *ld, const struct netstate_link *le, char *why,
                      size_t len)
{
	if (le->arptype != ARPHRD_ETHER_ || !le->has_mac) {
		snprintf(why, len, "not an Ethernet device");
		return false;
	}
	if (!le->up || !le->running) {
		snprintf(why, len, "%s", le->up ? "no carrier (not running)" : "down");
		return false;
	}
	if (le->mtu < ld->mtu) {
		snprintf(why, len,
		         "MTU %u is smaller than %s's %u: packets that need fragmentation or an "
		         "ICMP must reach the stack",
		         le->mtu, ld->name, ld->mtu);
		return false;
	}
	for (size_t i = 0; i < d->n_oif_specs; i++)
		if (!plan_spec_oif_ok(d->oif_specs[i], le->name)) {
			snprintf(why, len,
			         "not allowed by the oifname/oif matches of a `flow add` rule");
			return false;
		}
	return true;
}

/* The route the FIB holds for exactly this prefix: the local table's, else the main table's
 * lowest metric. */
static const struct netstate_route *fib_exact(const struct netstate_snapshot *s, int family,
                                              const union tc_addr *dst, unsigned len)
{
	const struct netstate_route *best = NULL;

	for (size_t i = 0; i < s->n_routes; i++) {
		const struct netstate_route *r = &s->routes[i];

		if (r->family != family || r->dst_len != len ||
		    memcmp(&r->dst, dst, alen(family)) != 0)
			continue;
		if (r->table == NETSTATE_TABLE_LOCAL)
			return r;
		if (r->table == NETSTATE_TABLE_MAIN && (!best || r->priority < best->priority))
			best = r;
	}
	return best;
}

struct dev_ctx {
	const struct ctfwd_input *in;
	const struct ctfwd_device *d;
	const struct netstate_link *ld;
	unsigned fams;
	/* per egress candidate (index into in->devices): usable? */
	bool *ok;
	struct notes *notes;
};

static const struct netstate_link *usable_egress(struct dev_ctx *c, uint32_t oif)
{
	const struct ctfwd_device *e = device_of(c->in, oif);

	if (!e || e->ifindex == c->d->ifindex || !c->ok[e - c->in->devices])
		return NULL;
	return netstate_link_by_index(c->in->snap, oif);
}

static int gateway_entries(struct dev_ctx *c, struct entries *es)
{
	const struct netstate_snapshot *s = c->in->snap;
	char p[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN], st[64];

	for (size_t i = 0; i < s->n_routes; i++) {
		const struct netstate_route *r = &s->routes[i];
		const struct netstate_link *le;
		const struct netstate_neigh *n;
		struct entry *e;

		if (r->table != NETSTATE_TABLE_MAIN || r->type != NETSTATE_RTN_UNICAST ||
		    !(c->fams & fam_bit(r->family)) || !r->has_gateway || r->multipath)
			continue;
		if (fib_exact(s, r->family, &r->dst, r->dst_len) != r)
			continue; /* another route (lower metric, local table) wins */
		if (never_forwarded(r->family, &r->dst, r->dst_len))
			continue;
		le = usable_egress(c, r->oif);
		if (!le)
			continue;
		n = netstate_neigh_find(s, r->family, r->oif, &r->gateway);
		if (!n || !n->valid || !n->has_lladdr) {
			note(c->notes,
			     "%s -> %s: %s/%u via %s: gateway neighbour %s: no rule (the "
			     "stack resolves it)",
			     c->ld->name, le->name, astr(r->family, &r->dst, p, sizeof(p)),
			     r->dst_len, astr(r->family, &r->gateway, g, sizeof(g)),
			     !n               ? "absent"
			     : !n->has_lladdr ? "has no link-layer address"
			                      : netstate_nud_str(n->state, st, sizeof(st)));
			continue;
		}
		e = entry_push(es);
		if (!e)
			return -ENOMEM;
		e->family = r->family;
		e->dst = r->dst;
		e->len = r->dst_len;
		e->egress = le->ifindex;
		memcpy(e->src_mac, le->mac, 6);
		memcpy(e->dst_mac, n->lladdr, 6);
	}
	return 0;
}

static int neighbour_entries(struct dev_ctx *c, struct entries *es)
{
	const struct netstate_snapshot *s = c->in->snap;
	char a[INET6_ADDRSTRLEN], st[64];
	unsigned width;

	for (size_t i = 0; i < s->n_neighs; i++) {
		const struct netstate_neigh *n = &s->neighs[i];
		const struct netstate_route *r;
		const struct netstate_link *le;
		struct entry *e;

		if (!(c->fams & fam_bit(n->family)))
			continue;
		width = n->family == AF_INET ? 32 : 128;
		if (never_forwarded(n->family, &n->addr, width))
			continue;
		le = usable_egress(c, n->ifindex);
		if (!le)
			continue;
		r = netstate_route_lookup(s, n->family, &n->addr);
		if (!r || r->table != NETSTATE_TABLE_MAIN || r->type != NETSTATE_RTN_UNICAST ||
		    r->has_gateway || r->multipath || r->oif != n->ifindex)
			continue; /* the FIB sends this address elsewhere (or nowhere) */
		if (!n->valid || !n->has_lladdr) {
			note(c->notes,
			     "%s -> %s: neighbour %s is %s: no rule (the stack resolves it)",
			     c->ld->name, le->name, astr(n->family, &n->addr, a, sizeof(a)),
			     netstate_nud_str(n->state, st, sizeof(st)));
			continue;
		}
		e = entry_push(es);
		if (!e)
			return -ENOMEM;
		e->family = n->family;
		e->dst = n->addr;
		e->len = (uint8_t)width;
		e->egress = le->ifindex;
		memcpy(e->src_mac, le->mac, 6);
		memcpy(e->dst_mac, n->lladdr, 6);
	}
	return 0;
}

/* Whether a forwarding entry strictly broader than (family, dst, len) covers it. */
static bool shadowed(const struct entries *es, size_t n_fwd, int family, const union tc_addr *dst,
                     unsigned len)
{
	for (size_t i = 0; i < n_fwd; i++) {
		const struct entry *e = &es->v[i];

		if (e->family == family && !e->pass && e->len < len &&
		    netstate_prefix_contains(family, &e->dst, e->len, dst))
			return true;
	}
	return false;
}

static int add_pass(struct entries *es, size_t n_fwd, int family, const union tc_addr *dst,
                    unsigned len)
{
	struct entry *e;

	if (entry_find(es, family, dst, len) || !shadowed(es, n_fwd, family, dst, len))
		return 0;
	e = entry_push(es);
	if (!e)
		return -ENOMEM;
	e->family = family;
	e->dst = *dst;
	e->len = (uint8_t)len;
	e->pass = true;
	return 0;
}

static int pass_entries(struct dev_ctx *c, struct entries *es)
{
	static const struct {
		int family;
		const char *addr;
		unsigned len;
	} never[] = {
	    {AF_INET, "224.0.0.0", 4},
	    {AF_INET, "255.255.255.255", 32},
	    {AF_INET6, "fe80::", 10},
	    {AF_INET6, "ff00::", 8},
	};
	const struct netstate_snapshot *s = c->in->snap;
	size_t n_fwd = es->n;
	int rc;

	for (size_t i = 0; i < s->n_routes; i++) {
		const struct netstate_route *r = &s->routes[i];

		if (!(c->fams & fam_bit(r->family)))
			continue;
		rc = add_pass(es, n_fwd, r->family, &r->dst, r->dst_len);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		union tc_addr a;

		if (!(c->fams & fam_bit(never[i].family)))
			continue;
		memset(&a, 0, sizeof(a));
		inet_pton(never[i].family, never[i].addr, &a);
		rc = add_pass(es, n_fwd, never[i].family, &a, never[i].len);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- rules ---- */

static void rule_base(const struct ctfwd_input *in, struct tc_rule *r, uint32_t ifindex, int family,
                      uint16_t prio)
{
	struct tc_id id = {
	    .ifindex = ifindex,
	    .hook = TC_HOOK_INGRESS,
	    .chain = CTFWD_CHAIN,
	    .prio = prio,
	    .protocol = family == AF_INET ? ETH_P_IP_ : ETH_P_IPV6_,
	};

	tc_rule_init(r, &id);
	r->cookie_len = in->cookie_len;
	memcpy(r->cookie, in->cookie, in->cookie_len);
}

static void fill_entry_rule(const struct ctfwd_input *in, struct tc_rule *r, uint32_t ifindex,
                            const struct entry *e, uint8_t proto, bool pass)
{
	struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	struct tc_action *a;

	rule_base(in, r, ifindex, e->family, ctfwd_prio(in->prio_base, e->family, e->len));
	k->ip_proto = proto;
	m->ip_proto = 0xff;
	if (e->len) {
		mask_of(e->family, e->len, &m->dst);
		k->dst = e->dst;
	}
	k->ct_state = TC_CT_TRACKED | TC_CT_ESTABLISHED;
	m->ct_state = TC_CT_TRACKED | TC_CT_ESTABLISHED;
	k->ct_zone = in->zone;
	m->ct_zone = 0xffff;
	if (pass) {
		a = tc_rule_add_action(r, TC_ACTION_GACT);
		a->verdict = TC_VERDICT_OK;
		return;
	}
	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	{
		struct tc_pedit_op src = {.field = TC_PEDIT_ETH_SRC, .cmd = TC_PEDIT_SET};
		struct tc_pedit_op dst = {.field = TC_PEDIT_ETH_DST, .cmd = TC_PEDIT_SET};
		struct tc_pedit_op ttl = {.cmd = TC_PEDIT_ADD, .val.u8 = 0xff};

		memcpy(src.val.mac, e->src_mac, 6);
		memcpy(dst.val.mac, e->dst_mac, 6);
		ttl.field = e->family == AF_INET ? TC_PEDIT_IP4_TTL : TC_PEDIT_IP6_HOPLIMIT;
		tc_pedit_add(&a->pedit, &src);
		tc_pedit_add(&a->pedit, &dst);
		tc_pedit_add(&a->pedit, &ttl);
	}
	if (e->family == AF_INET) {
		/* the TTL is in the IPv4 header checksum only: TCP/UDP checksums do not cover it,
		 * and act_ct's NAT in chain 0 fixed them already */
		a = tc_rule_add_action(r, TC_ACTION_CSUM);
		a->csum.flags = TC_CSUM_IPV4HDR;
	}
	a = tc_rule_add_action(r, TC_ACTION_MIRRED);
	a->verdict = TC_VERDICT_STOLEN;
	a->mirred.op = TC_MIRRED_EGRESS_REDIRECT;
	a->mirred.ifindex = e->egress;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	c = memcmp(&x->dst, &y->dst, alen(x->family));
	return c;
}

static const char *entry_str(const struct entry *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", astr(e->family, &e->dst, a, sizeof(a)), e->len);
	return buf;
}

static int device_rules(struct dev_ctx *c, struct entries *es, struct tc_rule_vec *out)
{
	static const uint8_t protos[2] = {6, 17};
	const struct ctfwd_device *d = c->d;
	unsigned protomask = d->protos ? d->protos : PLAN_PROTO_ALL;
	unsigned dropped = 0; /* families whose rules are dropped */
	size_t start = out->n;
	bool refusal_noted = false;
	char why[512], ebuf[80];

	if (es->n)
		qsort(es->v, es->n, sizeof(*es->v), cmp_entry);
	for (size_t i = 0; i < es->n; i++) {
		const struct entry *e = &es->v[i];

		for (int p = 0; p < 2; p++) {
			struct tc_rule *r;
			bool pass = e->pass;

			if (!(protomask & (1u << p)) || (dropped & fam_bit(e->family)))
				continue;
			r = tc_rule_vec_add(out);
			if (!r)
				return -ENOMEM;
			fill_entry_rule(c->in, r, d->ifindex, e, protos[p], pass);
			if (!d->profile || profile_check_rule(d->profile, r, why, sizeof(why)))
				continue;
			if (!pass) {
				if (!refusal_noted)
					note(c->notes,
					     "%s: forwarding rule refused (%s): such destinations "
					     "stay in software (first: %s)",
					     c->ld->name, why, entry_str(e, ebuf, sizeof(ebuf)));
				refusal_noted = true;
				fill_entry_rule(c->in, r, d->ifindex, e, protos[p], true);
				if (profile_check_rule(d->profile, r, why, sizeof(why)))
					continue;
			}
			note(c->notes,
			     "%s: pass rule for %s refused (%s): no %s forwarding rules, since a "
			     "broader one would catch its traffic",
			     c->ld->name, entry_str(e, ebuf, sizeof(ebuf)), why,
			     e->family == AF_INET ? "IPv4" : "IPv6");
			dropped |= fam_bit(e->family);
		}
	}
	/* drop the rules of refused families; a family with only pass rules needs none */
	{
		size_t w = start;
		unsigned has_fwd = 0;

		for (size_t i = start; i < out->n; i++)
			if (!(dropped & fam_bit(tc_rule_family(&out->v[i]))) &&
			    out->v[i].actions[0].kind != TC_ACTION_GACT)
				has_fwd |= fam_bit(tc_rule_family(&out->v[i]));
		for (size_t i = start; i < out->n; i++)
			if (has_fwd & fam_bit(tc_rule_family(&out->v[i])))
				out->v[w++] = out->v[i];
		out->n = w;
		/* TTL guards first (lowest prios) for families with forwarding rules */
		if (!c->in->no_ttl_guard) {
			struct tc_rule guards[2];
			size_t n_guards = 0;
			static const int fams[2] = {AF_INET, AF_INET6};

			for (int f = 0; f < 2; f++) {
				struct tc_rule *g = &guards[n_guards];
				struct tc_action *a;

				if (!(has_fwd & fam_bit(fams[f])))
					continue;
				rule_base(c->in, g, d->ifindex, fams[f],
				          ctfwd_guard_prio(c->in->prio_base, fams[f]));
				g->flower.key.ip_ttl = 0;
				g->flower.mask.ip_ttl = 0xfe;
				a = tc_rule_add_action(g, TC_ACTION_GACT);
				a->verdict = TC_VERDICT_OK;
				if (d->profile &&
				    !profile_check_rule(d->profile, g, why, sizeof(why))) {
					g->flower.skip_hw = true;
					note(c->notes,
					     "%s: %s TTL guard refused by the profile (%s): "
					     "installed "
					     "skip_hw, so the hardware may forward TTL <= 1",
					     c->ld->name, fams[f] == AF_INET ? "IPv4" : "IPv6",
					     why);
				}
				n_guards++;
			}
			for (size_t i = 0; i < n_guards; i++)
				if (!tc_rule_vec_add(out))
					return -ENOMEM;
			if (!n_guards)
				return 0;
			memmove(&out->v[start + n_guards], &out->v[start],
			        (out->n - n_guards - start) * sizeof(*out->v));
			memcpy(&out->v[start], guards, n_guards * sizeof(*guards));
		}
	}
	return 0;
}

/* ---- L2: the bridge FDB ---- */

static void fill_l2_rule(const struct ctfwd_input *in, struct tc_rule *r, uint32_t ifindex,
                         int family, uint8_t proto, const uint8_t mac[6], uint32_t egress)
{
	struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	struct tc_action *a;

	rule_base(in, r, ifindex, family, ctfwd_l2_prio(in->prio_base, family));
	k->ip_proto = proto;
	m->ip_proto = 0xff;
	memcpy(k->eth_dst, mac, 6);
	memset(m->eth_dst, 0xff, 6);
	k->ct_state = TC_CT_TRACKED | TC_CT_ESTABLISHED;
	m->ct_state = TC_CT_TRACKED | TC_CT_ESTABLISHED;
	k->ct_zone = in->zone;
	m->ct_zone = 0xffff;
	a = tc_rule_add_action(r, TC_ACTION_MIRRED);
	a->verdict = TC_VERDICT_STOLEN;
	a->mirred.op = TC_MIRRED_EGRESS_REDIRECT;
	a->mirred.ifindex = egress;
}

static const char *mac_str(const uint8_t m[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

/* The L2 rules of D when it is a bridge port: one per FDB entry of its bridge that lives
 * behind another usable flowtable device, per family x protocol (ctfwd.h). */
static int l2_rules(struct dev_ctx *c, struct tc_rule_vec *out)
{
	static const uint8_t protos[2] = {6, 17};
	static const int fams[2] = {AF_INET, AF_INET6};
	const struct netstate_snapshot *s = c->in->snap;
	const struct ctfwd_device *d = c->d;
	unsigned protomask = d->protos ? d->protos : PLAN_PROTO_ALL;
	const struct netstate_link *br;
	bool vlan_noted = false, refusal_noted = false;
	char why[512], mb[24], brname[IFNAMSIZ + 16];

	/* Only a bridge has FDB entries naming it as their master (NDA_MASTER): D's master is
	 * a bridge exactly when some entry names it, whatever its link object says (libnl may
	 * hold a sparse AF_BRIDGE notification for it). */
	if (!c->ld->master)
		return 0;
	br = netstate_link_by_index(s, c->ld->master);
	if (br)
		snprintf(brname, sizeof(brname), "%s", br->name);
	else
		snprintf(brname, sizeof(brname), "ifindex %u", c->ld->master);
	for (size_t i = 0; i < s->n_fdbs; i++) {
		const struct netstate_fdb *f = &s->fdbs[i];
		const struct netstate_link *le;

		if (f->master != c->ld->master || f->ifindex == d->ifindex ||
		    (f->state & NETSTATE_NUD_PERMANENT) || (f->mac[0] & 1))
			continue;
		le = usable_egress(c, f->ifindex);
		if (!le || le->master != c->ld->master)
			continue;
		if (f->vlan) {
			if (!vlan_noted)
				note(c->notes,
				     "%s -> %s: bridge %s: FDB entries with a VLAN id "
				     "(vlan_filtering) "
				     "get no L2 rules (first: %s vlan %u)",
				     c->ld->name, le->name, brname, mac_str(f->mac, mb, sizeof(mb)),
				     f->vlan);
			vlan_noted = true;
			continue;
		}
		for (int fi = 0; fi < 2; fi++) {
			if (!(c->fams & fam_bit(fams[fi])))
				continue;
			for (int p = 0; p < 2; p++) {
				struct tc_rule *r;

				if (!(protomask & (1u << p)))
					continue;
				r = tc_rule_vec_add(out);
				if (!r)
					return -ENOMEM;
				fill_l2_rule(c->in, r, d->ifindex, fams[fi], protos[p], f->mac,
				             le->ifindex);
				if (!d->profile ||
				    profile_check_rule(d->profile, r, why, sizeof(why)))
					continue;
				out->n--;
				if (!refusal_noted)
					note(
					    c->notes,
					    "%s: L2 rule refused (%s): bridged connections stay in "
					    "software (first: %s)",
					    c->ld->name, why, mac_str(f->mac, mb, sizeof(mb)));
				refusal_noted = true;
			}
		}
	}
	return 0;
}

/* Sorts one device's L2 rules (out->v[start..]) by prio, then MAC, then ip_proto. */
static int cmp_l2(const void *a, const void *b)
{
	const struct tc_rule *x = a, *y = b;
	int c;

	if (x->id.prio != y->id.prio)
		return x->id.prio - y->id.prio;
	c = memcmp(x->flower.key.eth_dst, y->flower.key.eth_dst, 6);
	if (c)
		return c;
	return x->flower.key.ip_proto - y->flower.key.ip_proto;
}

static int build_device(const struct ctfwd_input *in, const struct ctfwd_device *d,
                        struct tc_rule_vec *out, struct notes *notes)
{
	struct dev_ctx c = {.in = in, .d = d, .notes = notes};
	struct entries es = {0};
	char why[256];
	int rc;

	c.ld = netstate_link_by_index(in->snap, d->ifindex);
	if (!c.ld) {
		note(notes, "ifindex %u: no such device: no chain-1 rules", d->ifindex);
		return 0;
	}
	if (c.ld->arptype != ARPHRD_ETHER_ || !c.ld->has_mac) {
		note(notes, "%s: not an Ethernet device: no chain-1 rules", c.ld->name);
		return 0;
	}
	c.fams = d->families ? d->families : PLAN_FAMILY_ALL;
	c.ok = calloc(in->n_devices ? in->n_devices : 1, sizeof(*c.ok));
	if (!c.ok)
		return -ENOMEM;
	for (size_t i = 0; i < in->n_devices; i++) {
		const struct ctfwd_device *e = &in->devices[i];
		const struct netstate_link *le;

		if (e->ifindex == d->ifindex)
			continue; /* hairpin: left to the stack */
		le = netstate_link_by_index(in->snap, e->ifindex);
		if (!le) {
			note(notes, "%s -> ifindex %u: no such device", c.ld->name, e->ifindex);
			continue;
		}
		c.ok[i] = egress_ok(in, d, c.ld, le, why, sizeof(why));
		if (!c.ok[i])
			note(notes, "%s -> %s: no forwarding: %s", c.ld->name, le->name, why);
	}
	{
		size_t start = out->n;

		rc = l2_rules(&c, out);
		if (!rc && out->n - start > 1)
			qsort(&out->v[start], out->n - start, sizeof(*out->v), cmp_l2);
	}
	if (!rc)
		rc = gateway_entries(&c, &es);
	if (!rc)
		rc = neighbour_entries(&c, &es);
	if (!rc)
		rc = pass_entries(&c, &es);
	if (!rc)
		rc = device_rules(&c, &es, out);
	free(es.v);
	free(c.ok);
	return rc;
}

void ctfwd_result_free(struct ctfwd_result *r)
{
	if (!r)
		return;
	free(r->rules);
	for (size_t i = 0; i < r->n_notes; i++)
		free(r->notes[i]);
	free(r->notes);
	memset(r, 0, sizeof(*r));
}

int ctfwd_build(const struct ctfwd_input *in, struct ctfwd_result *out)
{
	struct tc_rule_vec rv = {0};
	struct notes notes = {0};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!in->snap || (in->n_devices && !in->devices) || in->cookie_len > TC_COOKIE_MAX)
		return -EINVAL;
	if ((uint32_t)(in->prio_base ? in->prio_base : CTFWD_DEFAULT_PRIO_BASE) + CTFWD_PRIO_SPAN >
	        0xffff ||
	    (in->prio_base && in->prio_base <= CTFWD_L2_PRIOS))
		return -EINVAL;
	for (size_t i = 0; i < in->n_devices && !rc; i++)
		if (in->devices[i].ingress)
			rc = build_device(in, &in->devices[i], &rv, &notes);
	if (!rc && notes.oom)
		rc = -ENOMEM;
	out->rules = rv.v;
	out->n_rules = rv.n;
	out->notes = notes.v;
	out->n_notes = notes.n;
	if (rc)
		ctfwd_result_free(out);
	return rc;
}
