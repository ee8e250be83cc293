/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Eligibility of one `flow add` rule, shared by both strategies: what the rule selects (its
 * spec) and what must stay in the stack (exclusions: earlier terminal rules of the chain, and
 * the rule's own negated matches), with notes on everything narrowed, and the reason when the
 * rule cannot be offloaded at all.
 *
 * The safety rule: the offloaded set may be narrower than the nft rule's, never broader. So:
 *  - a match of the flow rule that flower can't express refuses the rule;
 *  - a match of an exclusion that can't be expressed is dropped, which makes the exclusion
 *    broader (excluding more is safe), and noted;
 *  - every exclusion also gets its mirror (saddr<->daddr, sport<->dport): the reply direction
 *    of an excluded connection stays in the stack too. That is narrower than nft, where reply
 *    packets that miss the exclusion reach the flow rule, and it is what `tcp dport 22 accept`
 *    before `flow add` is meant to say: SSH stays wholly in software. Since mirrors are always
 *    narrower than nft, leaving one out is safe: drop/reject exclusions get none (their
 *    connections never get established), nor does an exclusion whose mirror no address or
 *    port tells apart (it would be the original again, or every packet on every device).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "plan-internal.h"

static uint64_t ct_state_bits(const struct nft_match *m)
{
	uint64_t bits = 0;

	for (size_t i = 0; i < m->n_values; i++)
		bits |= m->values[i].num;
	return bits;
}

static bool ct_state_allows_est(const struct nft_match *m)
{
	bool est = ct_state_bits(m) & NFT_CT_STATE_ESTABLISHED;

	return m->negate ? !est : est;
}

static bool l4_has_others(const struct nft_match *m)
{
	if (m->key != NFT_MATCH_L4PROTO && m->key != NFT_MATCH_IP_PROTOCOL &&
	    m->key != NFT_MATCH_IP6_NEXTHDR)
		return false;
	for (size_t i = 0; i < m->n_values; i++) {
		const struct nft_value *v = &m->values[i];

		if (v->type == NFT_VALUE_RANGE || (v->num != 6 && v->num != 17))
			return true;
	}
	return false;
}

static const char *unexpressible_why(const struct nft_match *m)
{
	if (m->reason)
		return m->reason;
	if (m->key == NFT_MATCH_META_MARK)
		return "flower has no packet-mark key";
	return "not matchable before act_ct";
}

static const char *mtext(const struct nft_match *m)
{
	return m->text ? m->text : nft_match_key_name(m->key);
}

static int add_exclusion(struct plan_eligibility *el, const struct nft_rule *rule,
                         struct plan_spec *e, bool mirrored, bool from_negation)
{
	struct plan_exclusion *v;

	if (spec_empty(e)) {
		spec_free(e);
		return 0;
	}
	v = realloc(el->exclusions, (el->n_exclusions + 1) * sizeof(*v));
	if (!v) {
		spec_free(e);
		return -ENOMEM;
	}
	el->exclusions = v;
	v[el->n_exclusions++] = (struct plan_exclusion){
	    .rule = rule,
	    .mirrored = mirrored,
	    .from_negation = from_negation,
	    .covers_all = spec_covers(e, &el->match),
	    .match = *e,
	};
	return 0;
}

/* Adds e (restricted to the flow rule's spec) and its mirror. Takes e. */
static int add_with_mirror(struct plan_eligibility *el, const struct nft_rule *rule,
                           struct plan_spec *e, bool from_negation, bool mirror)
{
	struct plan_spec m;
	int rc;

	if (!mirror) {
		if (spec_restrict(e, &el->match)) {
			spec_free(e);
			return -ENOMEM;
		}
		return add_exclusion(el, rule, e, false, from_negation);
	}
	if (spec_restrict(e, &el->match) || spec_copy(&m, e)) {
		spec_free(e);
		return -ENOMEM;
	}
	spec_mirror(&m);
	if (m.saddr.any && m.daddr.any && m.sport.any && m.dport.any) {
		/* Nothing tells the reply packets apart at ingress (the original was told apart by
		 * interface, or by nothing at all): the mirror is either the original again or
		 * every packet on every device. Mirrors are narrower than nft anyway: skip it. */
		spec_free(&m);
		return add_exclusion(el, rule, e, false, from_negation);
	}
	rc = spec_restrict(&m, &el->match);
	if (rc == 0)
		rc = add_exclusion(el, rule, e, false, from_negation);
	else
		spec_free(e);
	if (rc == 0)
		return add_exclusion(el, rule, &m, true, from_negation);
	spec_free(&m);
	return rc;
}

#define MAX_COMPLEMENT_BLOCKS 32

/*
 * A negated address or port match of an exclusion as the exact complement of its values, when
 * that takes few prefixes / port blocks. Returns 1 when applied, 0 when not (the caller drops
 * the match: broader, safe), -ENOMEM.
 */
static int negated_complement(struct plan_spec *e, const struct nft_match *m, bool exact_ports)
{
	struct plan_addr_set as = {.any = true}, ac = {.any = true};
	struct plan_port_set ps = {.any = true}, pc = {.any = true};
	struct plan_portblk *blk = NULL;
	size_t n = 0;
	int family = AF_INET, rc = 0;

	switch (m->key) {
	case NFT_MATCH_IP6_SADDR:
	case NFT_MATCH_IP6_DADDR:
		family = AF_INET6;
		/* fall through */
	case NFT_MATCH_IP_SADDR:
	case NFT_MATCH_IP_DADDR:
		rc = addrset_from_match(m, &as);
		if (rc == 0)
			rc = addrset_complement(&as, family, &ac);
		if (rc == 0 && addrset_cidr_count(&ac, family) <= MAX_COMPLEMENT_BLOCKS)
			rc = addrset_intersect(m->key == NFT_MATCH_IP_SADDR ||
			                               m->key == NFT_MATCH_IP6_SADDR
			                           ? &e->saddr
			                           : &e->daddr,
			                       &ac) == 0
			         ? 1
			         : -ENOMEM;
		break;
	case NFT_MATCH_TCP_SPORT:
	case NFT_MATCH_UDP_SPORT:
	case NFT_MATCH_TH_SPORT:
	case NFT_MATCH_TCP_DPORT:
	case NFT_MATCH_UDP_DPORT:
	case NFT_MATCH_TH_DPORT:
		rc = portset_from_match(m, &ps);
		if (rc == 0)
			rc = portset_complement(&ps, &pc);
		if (rc == 0)
			rc = portset_blocks(&pc, exact_ports, &blk, &n);
		if (rc == 0 && n <= MAX_COMPLEMENT_BLOCKS)
			rc = portset_intersect(m->key == NFT_MATCH_TCP_SPORT ||
			                               m->key == NFT_MATCH_UDP_SPORT ||
			                               m->key == NFT_MATCH_TH_SPORT
			                           ? &e->sport
			                           : &e->dport,
			                       &pc) == 0
			         ? 1
			         : -ENOMEM;
		break;
	default:
		break;
	}
	addrset_free(&as);
	addrset_free(&ac);
	portset_free(&ps);
	portset_free(&pc);
	free(blk);
	if (rc == -EINVAL)
		return 0;
	return rc;
}

/* An earlier terminal rule of the chain. */
static int exclusion_from_rule(const struct nft_table *t, struct plan_eligibility *el,
                               const struct nft_rule *x, bool exact_ports, struct strv *notes)
{
	struct plan_spec e;
	char where[256], at[256];

	loc_line(&x->loc, where, sizeof(where));
	spec_init(&e, table_families(t->family));
	if (x->verdict == NFT_VERDICT_JUMP || x->verdict == NFT_VERDICT_GOTO ||
	    x->verdict == NFT_VERDICT_VMAP)
		strv_addf(notes,
		          "exclusion `%s` (%s): %s taken as terminal for the packets it matches",
		          x->text ? x->text : "?", where, nft_verdict_name(x->verdict));
	for (size_t i = 0; i < x->n_matches; i++) {
		const struct nft_match *m = &x->matches[i];
		bool nomem = false;

		loc_col(&m->loc, at, sizeof(at));
		if (m->key == NFT_MATCH_CT_STATE) {
			if (!ct_state_allows_est(m)) {
				strv_addf(notes,
				          "exclusion `%s` (%s) matches no established connection: "
				          "ignored",
				          x->text ? x->text : "?", where);
				spec_free(&e);
				return 0;
			}
			continue; /* offloaded packets are established: exact */
		}
		if (m->negate) {
			if (spec_apply_negated(&e, m, &nomem)) {
				if (nomem)
					goto nomem;
				if (m->key == NFT_MATCH_CT_MARK)
					strv_addf(
					    notes,
					    "narrowed: `%s` at %s dropped from the exclusion (ct "
					    "mark is not known before act_ct)",
					    mtext(m), at);
				continue;
			}
			switch (negated_complement(&e, m, exact_ports)) {
			case 1:
				continue;
			case 0:
				break;
			default:
				goto nomem;
			}
			strv_addf(notes,
			          "narrowed: `%s` at %s (negated) dropped from the exclusion",
			          mtext(m), at);
			continue;
		}
		switch (spec_apply_positive(&e, m)) {
		case APPLY_NOMEM:
			goto nomem;
		case APPLY_UNEXPRESSIBLE:
			strv_addf(notes, "narrowed: `%s` at %s dropped from the exclusion (%s)",
			          mtext(m), at,
			          m->reason ? m->reason : "tc flower cannot match it in chain 0");
			break;
		case APPLY_OK:
			if (m->key == NFT_MATCH_OIFNAME || m->key == NFT_MATCH_OIF)
				strv_addf(
				    notes,
				    "narrowed: `%s` at %s dropped from the exclusion (the "
				    "egress device is not known at ingress; its reply direction "
				    "is excluded on that device)",
				    mtext(m), at);
			else if (m->key == NFT_MATCH_CT_MARK)
				strv_addf(
				    notes,
				    "narrowed: `%s` at %s dropped from the exclusion (ct mark "
				    "is not known before act_ct)",
				    mtext(m), at);
			break;
		}
	}
	/* drop/reject: the excluded connection never gets established, so its reply direction
	 * needs no exclusion (and a mirror, told apart at no ingress device, would only cost) */
	return add_with_mirror(el, x, &e, false,
	                       x->verdict != NFT_VERDICT_DROP && x->verdict != NFT_VERDICT_REJECT);
nomem:
	spec_free(&e);
	return -ENOMEM;
}

/* A negated match of the flow rule: its positive form with the rule's other matches. */
static int exclusion_from_negation(struct plan_eligibility *el, const struct nft_rule *rule,
                                   const struct nft_match *m, struct strv *notes)
{
	struct plan_spec e;
	char at[256];

	if (spec_copy(&e, &el->match))
		return -ENOMEM;
	loc_col(&m->loc, at, sizeof(at));
	switch (spec_apply_positive(&e, m)) {
	case APPLY_NOMEM:
		spec_free(&e);
		return -ENOMEM;
	case APPLY_UNEXPRESSIBLE:
		strv_addf(notes,
		          "narrowed: `%s` at %s: its positive form cannot be expressed, so "
		          "the exclusion it makes covers the whole rule",
		          mtext(m), at);
		break;
	case APPLY_OK:
		strv_addf(notes, "`%s` at %s: excluded (pass rules for its positive form)",
		          mtext(m), at);
		break;
	}
	return add_with_mirror(el, rule, &e, true, true);
}

void eligibility_free(struct plan_eligibility *el)
{
	spec_free(&el->match);
	for (size_t i = 0; i < el->n_exclusions; i++)
		spec_free(&el->exclusions[i].match);
	free(el->exclusions);
	memset(el, 0, sizeof(*el));
}

int plan_offload_eligibility(const struct plan_ctx *c, const struct nft_table *t,
                             const struct nft_offload_rule *o, struct plan_eligibility *el,
                             struct strv *notes, char **reason)
{
	const struct nft_rule *rule = o->rule;
	const struct nft_match **neg = NULL;
	size_t n_neg = 0;
	bool other_l4 = false;
	char at[256];
	int rc = 0;

	memset(el, 0, sizeof(*el));
	*reason = NULL;
	spec_init(&el->match, table_families(t->family));
	el->zone = c->opts->zone;
	if (!el->match.families) {
		*reason = xasprintf("table family %s has no IPv4/IPv6 forward path",
		                    nft_family_name(t->family));
		return *reason ? 1 : -ENOMEM;
	}
	for (size_t i = 0; i < rule->n_matches; i++) {
		const struct nft_match *m = &rule->matches[i];
		bool nomem = false;

		loc_col(&m->loc, at, sizeof(at));
		if (m->key == NFT_MATCH_CT_STATE) {
			if (!ct_state_allows_est(m)) {
				*reason = xasprintf("match `%s` at %s excludes established "
				                    "connections: nothing to offload",
				                    mtext(m), at);
				goto refuse;
			}
			strv_addf(notes, "`%s`: only established connections are offloaded anyway",
			          mtext(m));
			continue;
		}
		if (m->key == NFT_MATCH_CT_ZONE) {
			if (m->negate || m->n_values != 1 || m->values[0].type != NFT_VALUE_NUM ||
			    m->values[0].num > 0xffff) {
				*reason =
				    xasprintf("match `%s` at %s: act_ct needs exactly one zone",
				              mtext(m), at);
				goto refuse;
			}
			if (c->opts->zone_set && m->values[0].num != c->opts->zone)
				strv_addf(notes,
				          "zone %u from `%s` replaces zone %u of the options",
				          (unsigned)m->values[0].num, mtext(m), c->opts->zone);
			el->zone = (uint16_t)m->values[0].num;
			continue;
		}
		if (m->negate) {
			if (spec_apply_negated(&el->match, m, &nomem)) {
				if (nomem)
					goto nomem;
			} else if (!matchv_add(&neg, &n_neg, m)) {
				goto nomem;
			}
			continue;
		}
		switch (spec_apply_positive(&el->match, m)) {
		case APPLY_NOMEM:
			goto nomem;
		case APPLY_UNEXPRESSIBLE:
			*reason = xasprintf("match `%s` at %s cannot be expressed in tc flower: %s",
			                    mtext(m), at, unexpressible_why(m));
			goto refuse;
		case APPLY_OK:
			other_l4 |= l4_has_others(m);
			break;
		}
	}
	if (!el->match.l4_given || other_l4)
		strv_addf(notes, "only TCP and UDP connections are offloadable");
	for (size_t i = 0; i < el->match.n_oif; i++)
		strv_addf(
		    notes,
		    "egress restriction `%s`: not checkable at ingress; applied by the chain-1 "
		    "forwarding rules / per-connection checks",
		    mtext(el->match.oif[i]));
	for (size_t i = 0; i < el->match.n_ct_mark; i++)
		strv_addf(notes, "`%s`: checked after act_ct (chain 1 / per connection)",
		          mtext(el->match.ct_mark[i]));
	if (spec_empty(&el->match)) {
		*reason = xasprintf("its matches select no TCP/UDP traffic");
		goto refuse;
	}
	for (size_t i = 0; i < o->n_exclusions && rc == 0; i++)
		rc = exclusion_from_rule(t, el, o->exclusions[i], !c->opts->port_masks, notes);
	for (size_t i = 0; i < n_neg && rc == 0; i++)
		rc = exclusion_from_negation(el, rule, neg[i], notes);
	free(neg);
	if (rc)
		return rc;
	return notes->oom ? -ENOMEM : 0;
refuse:
	free(neg);
	if (!*reason)
		return -ENOMEM;
	return 1;
nomem:
	free(neg);
	return -ENOMEM;
}
