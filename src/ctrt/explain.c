/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Why the ct strategy carries a connection, or why not: plan eligibility, then chain 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrt-internal.h"
#include "nft-tc-offload/ctfwd.h"
#include "nft-tc-offload/ctrt.h"

struct out {
	char *buf;
	size_t len, at;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->at >= o->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->at, o->len - o->at, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->at = o->at + (size_t)n >= o->len ? o->len : o->at + (size_t)n;
}

static const char *name_of(const struct netstate_snapshot *s, uint32_t ifindex)
{
	const struct netstate_link *l = netstate_link_by_index(s, ifindex);

	return l ? l->name : "?";
}

static bool block_has(const struct plan_block *b, uint32_t ifindex)
{
	for (size_t i = 0; i < b->n_rules; i++)
		if (b->rules[i].id.ifindex == ifindex)
			return true;
	return false;
}

static bool ft_has(const struct plan_flowtable *pf, uint32_t ifindex)
{
	for (size_t i = 0; i < pf->n_devices; i++)
		if (pf->devices[i].present && pf->devices[i].ifindex == ifindex)
			return true;
	return false;
}

/* One direction's chain-1 forwarding towards dst. Returns true when a rule forwards it. */
static bool forwarding(struct out *o, const struct netstate_snapshot *s,
                       const struct plan_flowtable *pf, const char *dir, uint32_t in, int family,
                       const union tc_addr *dst)
{
	const struct netstate_route *r = netstate_route_lookup(s, family, dst);
	const struct netstate_neigh *n;
	const union tc_addr *hop;
	char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];

	inet_ntop(family, dst, a, sizeof(a));
	if (!r) {
		put(o, "  %s: no route to %s: the stack handles it\n", dir, a);
		return false;
	}
	if (r->type != NETSTATE_RTN_UNICAST || r->table != NETSTATE_TABLE_MAIN) {
		put(o, "  %s: %s is routed by a %s route (type %u): not forwarded by chain 1\n",
		    dir, a, r->table == NETSTATE_TABLE_LOCAL ? "local-table" : "non-unicast",
		    r->type);
		return false;
	}
	if (r->multipath || !r->oif) {
		put(o, "  %s: the route to %s has several or no next hops: not forwarded\n", dir,
		    a);
		return false;
	}
	if (!ft_has(pf, r->oif)) {
		put(o, "  %s: %s leaves through %s, which is not a device of flowtable %s\n", dir,
		    a, name_of(s, r->oif), pf->flowtable->name);
		return false;
	}
	if (r->oif == in) {
		put(o, "  %s: %s leaves through its ingress device %s: not forwarded\n", dir, a,
		    name_of(s, in));
		return false;
	}
	hop = r->has_gateway ? &r->gateway : dst;
	inet_ntop(family, hop, g, sizeof(g));
	n = netstate_neigh_lookup(s, family, r->oif, hop);
	if (!n) {
		put(o,
		    "  %s: no valid neighbour entry for %s on %s: no chain-1 rule until the stack "
		    "resolves it\n",
		    dir, g, name_of(s, r->oif));
		return false;
	}
	put(o,
	    "  %s: chain 1 on %s (prio %u): ct_state +trk+est, redirect to %s, eth dst "
	    "%02x:%02x:%02x:%02x:%02x:%02x (%s%s)\n",
	    dir, name_of(s, in),
	    ctfwd_prio(CTFWD_DEFAULT_PRIO_BASE, family,
	               r->has_gateway ? r->dst_len : (family == AF_INET ? 32 : 128)),
	    name_of(s, r->oif), n->lladdr[0], n->lladdr[1], n->lladdr[2], n->lladdr[3],
	    n->lladdr[4], n->lladdr[5], r->has_gateway ? "gateway " : "neighbour ", g);
	return true;
}

int ctrt_explain_plan(const struct plan *plan, const struct netstate_snapshot *s,
                      const struct plan_tuple *t, uint32_t in_ifindex, char *buf, size_t len)
{
	return ctrt_explain_plan_refused(plan, s, t, in_ifindex, NULL, NULL, buf, len);
}

int ctrt_explain_plan_refused(const struct plan *plan, const struct netstate_snapshot *s,
                              const struct plan_tuple *t, uint32_t in_ifindex,
                              ctrt_refusal_fn refusal, void *refusal_ctx, char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len};
	const struct netstate_route *back;
	uint32_t in = in_ifindex, out_dev = 0;
	bool seen = false;

	buf[0] = '\0';
	/* the ingress device of the original direction: the route back to its source */
	if (!in) {
		back = netstate_route_lookup(s, t->family, &t->saddr);
		in = back && !back->multipath ? back->oif : 0;
	}
	{
		const struct netstate_route *fw = netstate_route_lookup(s, t->family, &t->daddr);

		out_dev = fw && !fw->multipath ? fw->oif : 0;
	}
	for (size_t f = 0; plan && f < plan->n_flowtables; f++) {
		const struct plan_flowtable *pf = &plan->flowtables[f];

		if (pf->strategy != PROFILE_STRATEGY_CT && !(pf->reason && ft_has(pf, in)))
			continue;
		if (!ft_has(pf, in))
			continue;
		seen = true;
		put(&o, "flowtable %s %s %s (ct strategy), ingress %s:\n",
		    nft_family_name(pf->table->family), pf->table->name, pf->flowtable->name,
		    name_of(s, in));
		if (pf->reason) {
			put(&o, "  not offloaded: %s\n", pf->reason);
			continue;
		}
		if (refusal && refusal(refusal_ctx, pf)) {
			put(&o, "  not offloaded: %s\n", refusal(refusal_ctx, pf));
			continue;
		}
		for (size_t k = 0; k < pf->n_offloads && k < pf->n_blocks; k++) {
			const struct plan_offload *po = &pf->offloads[k];
			const struct nft_rule *fr = po->src->rule;
			bool fwd1, fwd2;

			if (po->refused) {
				put(&o, "  rule at line %u (%s): refused: %s\n", fr->loc.line,
				    fr->text, po->reason ? po->reason : "?");
				continue;
			}
			if (!plan_spec_match_tuple(&po->elig.match, t)) {
				put(&o, "  rule at line %u (%s): does not select this connection\n",
				    fr->loc.line, fr->text);
				continue;
			}
			if (!block_has(&pf->blocks[k], in) ||
			    !plan_spec_iif_ok(&po->elig.match, name_of(s, in))) {
				put(&o, "  rule at line %u (%s): no chain-0 rule on %s\n",
				    fr->loc.line, fr->text, name_of(s, in));
				continue;
			}
			if (out_dev && !plan_spec_oif_ok(&po->elig.match, name_of(s, out_dev))) {
				put(&o, "  rule at line %u (%s): its oif match excludes %s\n",
				    fr->loc.line, fr->text, name_of(s, out_dev));
				continue;
			}
			for (size_t e = 0; e < po->elig.n_exclusions; e++) {
				const struct plan_exclusion *x = &po->elig.exclusions[e];

				if (!plan_spec_match_tuple(&x->match, t))
					continue;
				put(&o,
				    "  stays in software: excluded by the rule at line %u (%s)%s, "
				    "before "
				    "the flow add rule at line %u\n",
				    x->rule->loc.line, x->rule->text,
				    x->mirrored ? " (for the reply direction)" : "", fr->loc.line);
				return 0;
			}
			put(&o,
			    "  selected by the rule at line %u (%s): chain 0 sends it through "
			    "act_ct "
			    "zone %u%s to chain 1\n",
			    fr->loc.line, fr->text, po->elig.zone,
			    " (new connections, +trk+new, go on to the nft forward chain)");
			fwd1 = forwarding(&o, s, pf, "original", in, t->family, &t->daddr);
			fwd2 = out_dev
			           ? forwarding(&o, s, pf, "reply", out_dev, t->family, &t->saddr)
			           : false;
			if (!out_dev)
				put(&o,
				    "  reply: no egress device known for the original direction\n");
			if (fwd1 && fwd2) {
				put(&o, "  offloaded: established packets of both directions are "
				        "forwarded by tc\n");
				return 1;
			}
			put(&o, "  not (fully) offloaded: see above\n");
			return 0;
		}
		put(&o, "  no flow add rule of this flowtable selects it\n");
		return 0;
	}
	if (!seen)
		return -ENOENT;
	return 0;
}
