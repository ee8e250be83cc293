/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ct strategy's static rules: chain 0 of clsact ingress on every flowtable device.
 *
 * Per `flow add` rule and device D (the rule's iifname/iif matches choose the devices):
 *  1. `pass` rules for the exclusions, at the lower prio numbers (evaluated first): earlier
 *     terminal rules of the forward chain and the flow rule's negated matches, each ALSO
 *     MIRRORED (saddr<->daddr, sport<->dport) so that the reply direction of an excluded
 *     connection stays in the stack as well. Decision: this is narrower than nft (where reply
 *     packets that miss the exclusion would reach `flow add`), and it is what an operator means
 *     by `tcp dport 22 accept` before `flow add`: SSH stays wholly in software. Exclusion
 *     matches tc can't express were dropped (broader exclusion: safe); an exclusion that covers
 *     every packet of the rule on D leaves D without rules.
 *  2. `protocol ip|ipv6 flower ip_proto tcp|udp [addresses] [ports] ct_state -trk action ct
 *     zone Z [nat] pipe action goto chain 1`, one per family x protocol x address/port block.
 *     Only the original direction is matched: replies of a connection selected by addresses or
 *     ports stay in software unless another rule matches them (narrower, safe).
 * Chain 1 (+trk+est forwarding) depends on routes and neighbours and is built at run time.
 *
 * Every rule is checked with profile_check_rule(): a refused ct rule is left out (narrower); a
 * refused pass rule leaves the device without rules for this flow rule, since the exclusion
 * could not be enforced in hardware. Never skip_sw: act_ct needs the software path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "plan-internal.h"

#define ETH_P_IP_   0x0800
#define ETH_P_IPV6_ 0x86dd

/* A spec's prefixes per family and its port blocks. */
struct expansion {
	struct plan_cidr *src[2], *dst[2];
	size_t n_src[2], n_dst[2];
	struct plan_portblk *sp, *dp;
	size_t n_sp, n_dp;
};

static void expansion_free(struct expansion *x)
{
	for (int i = 0; i < 2; i++) {
		free(x->src[i]);
		free(x->dst[i]);
	}
	free(x->sp);
	free(x->dp);
	memset(x, 0, sizeof(*x));
}

static int expand(const struct plan_spec *s, bool exact_ports, struct expansion *x)
{
	static const int afs[2] = {AF_INET, AF_INET6};

	memset(x, 0, sizeof(*x));
	for (int i = 0; i < 2; i++) {
		if (!(s->families & (1u << i)))
			continue;
		if (addrset_cidrs(&s->saddr, afs[i], &x->src[i], &x->n_src[i]) ||
		    addrset_cidrs(&s->daddr, afs[i], &x->dst[i], &x->n_dst[i]))
			goto nomem;
	}
	if (portset_blocks(&s->sport, exact_ports, &x->sp, &x->n_sp) ||
	    portset_blocks(&s->dport, exact_ports, &x->dp, &x->n_dp))
		goto nomem;
	return 0;
nomem:
	expansion_free(x);
	return -ENOMEM;
}

static unsigned proto_count(unsigned protos)
{
	return (protos & PLAN_PROTO_TCP ? 1 : 0) + (protos & PLAN_PROTO_UDP ? 1 : 0);
}

/* Rules the expansion makes (saturating). */
static uint64_t expansion_count(const struct expansion *x, unsigned families, unsigned nproto)
{
	uint64_t total = 0;

	for (int i = 0; i < 2; i++) {
		uint64_t n;

		if (!(families & (1u << i)))
			continue;
		n = (uint64_t)x->n_src[i] * x->n_dst[i];
		if (n > UINT32_MAX)
			return UINT64_MAX;
		n *= (uint64_t)x->n_sp * x->n_dp;
		if (n > UINT32_MAX)
			return UINT64_MAX;
		total += n * nproto;
	}
	return total;
}

static void set_prefix(int af, union tc_addr *key, union tc_addr *mask, const struct plan_cidr *c)
{
	if (!c->family || c->len == 0)
		return;
	*key = c->addr;
	memset(mask, 0, sizeof(*mask));
	if (af == AF_INET) {
		mask->v4.s_addr = htonl(c->len >= 32 ? 0xffffffffu : ~(0xffffffffu >> c->len));
	} else {
		for (unsigned b = 0; b < c->len && b < 128; b++)
			mask->v6.s6_addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	}
}

static void fill_match(struct tc_rule *r, uint32_t ifindex, int af, uint8_t proto,
                       const struct plan_cidr *src, const struct plan_cidr *dst,
                       const struct plan_portblk *sp, const struct plan_portblk *dp)
{
	struct tc_id id = {
	    .ifindex = ifindex,
	    .hook = TC_HOOK_INGRESS,
	    .chain = PLAN_CT_CHAIN_ENTRY,
	    .protocol = af == AF_INET ? ETH_P_IP_ : ETH_P_IPV6_,
	};
	struct tc_flower *f = &r->flower;

	tc_rule_init(r, &id);
	if (proto) {
		f->key.ip_proto = proto;
		f->mask.ip_proto = 0xff;
	}
	set_prefix(af, &f->key.src, &f->mask.src, src);
	set_prefix(af, &f->key.dst, &f->mask.dst, dst);
	if (proto && sp->mask) {
		f->key.src_port = sp->value;
		f->mask.src_port = sp->mask;
	}
	if (proto && dp->mask) {
		f->key.dst_port = dp->value;
		f->mask.dst_port = dp->mask;
	}
}

static void set_cookie(struct tc_rule *r, const struct plan_opts *o)
{
	r->cookie_len = o->cookie_len;
	memcpy(r->cookie, o->cookie, o->cookie_len);
}

/* Appends the rules of spec s on a device: ct rules (ct) or pass rules. */
/* The rules of one device, indexed to drop duplicates as they are made (overlapping set
 * elements, exclusions equal to each other): open addressing over rv's indexes + 1. A scan of
 * every earlier rule made planning quadratic in the rules of a device (a set of a few hundred
 * elements times ports took seconds). */
struct dedup {
	uint32_t *slot;
	size_t mask;
};

static int dedup_init(struct dedup *d, uint64_t bound)
{
	size_t cap = 16;

	while (cap < 2 * bound)
		cap *= 2;
	d->slot = calloc(cap, sizeof(*d->slot));
	d->mask = cap - 1;
	return d->slot ? 0 : -ENOMEM;
}

static uint32_t mix(uint32_t h, const void *p, size_t n, const void *m)
{
	const uint8_t *b = p, *k = m;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)(b[i] & k[i])) * 16777619u;
	return h;
}

/* Over fields tc_rule_equal compares, masked: equal rules hash alike. */
static uint32_t rule_hash(const struct tc_rule *r)
{
	const struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	uint32_t h = 2166136261u ^ r->id.ifindex;

	h = mix(h, &k->ip_proto, sizeof(k->ip_proto), &m->ip_proto);
	h = mix(h, &k->src, sizeof(k->src), &m->src);
	h = mix(h, &k->dst, sizeof(k->dst), &m->dst);
	h = mix(h, &k->src_port, sizeof(k->src_port), &m->src_port);
	h = mix(h, &k->dst_port, sizeof(k->dst_port), &m->dst_port);
	return h ^ (h >> 15);
}

/* True when rv->v[idx] equals an earlier rule; otherwise indexes it. The table holds at least
 * twice the rules (bound), so a free slot always exists. */
static bool dedup_seen(struct dedup *d, const struct tc_rule_vec *rv, size_t idx)
{
	for (size_t i = rule_hash(&rv->v[idx]) & d->mask;; i = (i + 1) & d->mask) {
		if (!d->slot[i]) {
			d->slot[i] = (uint32_t)idx + 1;
			return false;
		}
		if (tc_rule_equal(&rv->v[d->slot[i] - 1], &rv->v[idx]))
			return true;
	}
}

static int emit(const struct plan_opts *opts, struct tc_rule_vec *rv, struct dedup *dd,
                const struct plan_spec *s, const struct expansion *x, uint32_t ifindex, bool ct,
                uint16_t zone)
{
	static const int afs[2] = {AF_INET, AF_INET6};
	static const uint8_t protos[2] = {6, 17};
	/* a pass rule for an exclusion that names no protocol and no port: one per family */
	bool any_proto = !ct && !s->l4_given && s->sport.any && s->dport.any;

	for (int fi = 0; fi < 2; fi++) {
		if (!(s->families & (1u << fi)))
			continue;
		for (int pi = 0; pi < 2; pi++) {
			if (any_proto ? pi > 0 : !(s->protos & (1u << pi)))
				continue;
			for (size_t a = 0; a < x->n_src[fi]; a++)
				for (size_t b = 0; b < x->n_dst[fi]; b++)
					for (size_t p = 0; p < x->n_sp; p++)
						for (size_t q = 0; q < x->n_dp; q++) {
							struct tc_rule *r = tc_rule_vec_add(rv);
							struct tc_action *act;

							if (!r)
								return -ENOMEM;
							fill_match(r, ifindex, afs[fi],
							           any_proto ? 0 : protos[pi],
							           &x->src[fi][a], &x->dst[fi][b],
							           &x->sp[p], &x->dp[q]);
							if (ct) {
								r->flower.mask.ct_state =
								    TC_CT_TRACKED;
								act = tc_rule_add_action(
								    r, TC_ACTION_CT);
								act->ct.zone = zone;
								if (opts->ct_nat)
									act->ct.flags = TC_CT_NAT;
								act = tc_rule_add_action(
								    r, TC_ACTION_GACT);
								act->verdict =
								    TC_VERDICT_GOTO_CHAIN;
								act->goto_chain =
								    PLAN_CT_CHAIN_FORWARD;
							} else {
								act = tc_rule_add_action(
								    r, TC_ACTION_GACT);
								act->verdict = TC_VERDICT_OK;
							}
							set_cookie(r, opts);
							if (dedup_seen(dd, rv, rv->n - 1))
								rv->n--;
						}
		}
	}
	return 0;
}

static uint16_t *prio_slot(struct plan_ctx *c, uint32_t ifindex)
{
	for (size_t i = 0; i < c->n_prio; i++)
		if (c->prio_ifindex[i] == ifindex)
			return &c->prio_next[i];
	{
		uint32_t *a = realloc(c->prio_ifindex, (c->n_prio + 1) * sizeof(*a));
		uint16_t *b;

		if (!a)
			return NULL;
		c->prio_ifindex = a;
		b = realloc(c->prio_next, (c->n_prio + 1) * sizeof(*b));
		if (!b)
			return NULL;
		c->prio_next = b;
		a[c->n_prio] = ifindex;
		b[c->n_prio] = c->opts->prio_base;
		return &b[c->n_prio++];
	}
}

static const char *excl_text(const struct plan_exclusion *e)
{
	return e->rule->text ? e->rule->text : "?";
}

int plan_ct_rule(struct plan_ctx *c, struct plan_flowtable *pf, struct plan_offload *po,
                 struct plan_block *blk, struct strv *notes)
{
	const struct plan_eligibility *el = &po->elig;
	const struct plan_opts *opts = c->opts;
	struct expansion ox, *ex = NULL;
	struct tc_rule_vec out = {0};
	struct strv skipped = {0};
	size_t n_devices = 0, n_iif = 0, n_covered = 0;
	bool covers_differ = false;
	const struct plan_exclusion *all_by = NULL;
	char where[256];
	int rc;

	if (expand(&el->match, !opts->port_masks, &ox))
		return -ENOMEM;
	ex = calloc(el->n_exclusions + 1, sizeof(*ex));
	if (!ex) {
		expansion_free(&ox);
		return -ENOMEM;
	}
	for (size_t i = 0; i < el->n_exclusions; i++)
		if (expand(&el->exclusions[i].match, !opts->port_masks, &ex[i])) {
			rc = -ENOMEM;
			goto out;
		}
	for (size_t d = 0; d < pf->n_devices; d++) {
		const struct plan_device *dev = &pf->devices[d];
		struct tc_rule_vec rv = {0};
		struct dedup dd;
		const struct plan_exclusion *cover = NULL;
		size_t n_pass, kept = 0;
		uint64_t bound;
		uint16_t *next;
		bool refused = false;

		if (!dev->profile)
			continue;
		if (!plan_spec_iif_ok(&el->match, dev->name))
			continue;
		n_iif++;
		for (size_t i = 0; i < el->n_exclusions && !cover; i++)
			if (el->exclusions[i].covers_all &&
			    plan_spec_iif_ok(&el->exclusions[i].match, dev->name))
				cover = &el->exclusions[i];
		if (cover) {
			loc_line(&cover->rule->loc, where, sizeof(where));
			strv_addf(&skipped,
			          "%s: every packet of this rule is excluded by `%s` (%s)",
			          dev->name, excl_text(cover), where);
			covers_differ |= all_by && all_by->rule != cover->rule;
			all_by = cover;
			n_covered++;
			continue;
		}
		/* an upper bound first (before dedup), so a huge product is never built */
		bound = expansion_count(&ox, el->match.families, proto_count(el->match.protos));
		for (size_t i = 0; i < el->n_exclusions; i++) {
			const struct plan_spec *es = &el->exclusions[i].match;
			uint64_t n = expansion_count(&ex[i], es->families, proto_count(es->protos));

			if (plan_spec_iif_ok(es, dev->name))
				bound = n > UINT64_MAX - bound ? UINT64_MAX : bound + n;
		}
		if (bound > 4 * (uint64_t)opts->max_rules) {
			po->refused = true;
			po->reason = xasprintf(
			    "needs %s%llu rules on %s, more than the cap of %u "
			    "per device",
			    bound == UINT64_MAX ? "over " : "",
			    (unsigned long long)(bound == UINT64_MAX ? UINT32_MAX : bound),
			    dev->name, opts->max_rules);
			rc = po->reason ? 0 : -ENOMEM;
			goto out;
		}
		rc = dedup_init(&dd, bound);
		/* the whole expansion at once when it is within the cap (what dedup drops is
		 * little); a larger one grows as it goes, and is refused below */
		if (!rc && bound <= opts->max_rules)
			rc = tc_rule_vec_reserve(&rv, (size_t)bound);
		for (size_t i = 0; !rc && i < el->n_exclusions; i++)
			if (plan_spec_iif_ok(&el->exclusions[i].match, dev->name))
				rc = emit(opts, &rv, &dd, &el->exclusions[i].match, &ex[i],
				          dev->ifindex, false, el->zone);
		n_pass = rv.n;
		if (!rc)
			rc = emit(opts, &rv, &dd, &el->match, &ox, dev->ifindex, true, el->zone);
		free(dd.slot);
		if (rc) {
			free(rv.v);
			goto out;
		}
		if (rv.n > opts->max_rules) {
			free(rv.v);
			po->refused = true;
			po->reason = xasprintf("needs %zu rules on %s, more than the cap of %u per "
			                       "device",
			                       rv.n, dev->name, opts->max_rules);
			rc = po->reason ? 0 : -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < rv.n; i++) {
			char why[512];

			if (profile_check_rule(dev->profile, &rv.v[i], why, sizeof(why))) {
				rv.v[kept++] = rv.v[i];
				continue;
			}
			if (i < n_pass) {
				strv_addf(&skipped,
				          "%s: exclusion rule refused (%s): no rules, since the "
				          "exclusion could not be enforced",
				          dev->name, why);
				refused = true;
				break;
			}
			strv_addf(&skipped, "%s: rule refused (%s)", dev->name, why);
		}
		if (refused || kept <= n_pass) {
			/* nothing but pass rules left (or refused): no use installing them */
			if (!refused)
				strv_addf(&skipped, "%s: no ct rule left", dev->name);
			free(rv.v);
			continue;
		}
		next = prio_slot(c, dev->ifindex);
		if (!next) {
			free(rv.v);
			rc = -ENOMEM;
			goto out;
		}
		if ((uint32_t)*next + kept > (uint32_t)opts->prio_base + opts->prio_count) {
			strv_addf(&skipped, "%s: prio range %u-%u exhausted", dev->name,
			          opts->prio_base, opts->prio_base + opts->prio_count - 1);
			free(rv.v);
			continue;
		}
		if (tc_rule_vec_reserve(&out, kept)) {
			free(rv.v);
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < kept; i++) {
			struct tc_rule *r = tc_rule_vec_add(&out);

			if (!r) {
				free(rv.v);
				rc = -ENOMEM;
				goto out;
			}
			*r = rv.v[i];
			r->id.prio = (*next)++;
		}
		free(rv.v);
		n_devices++;
	}
	for (size_t i = 0; i < skipped.n; i++)
		strv_addf(notes, "%s", skipped.v[i]);
	if (n_devices == 0) {
		po->refused = true;
		if (n_iif == 0)
			po->reason = xasprintf("its iifname/iif matches select none of the "
			                       "flowtable's devices");
		else if (n_covered == n_iif && !covers_differ)
			po->reason = xasprintf(
			    "exclusion `%s` (%s:%u) excludes every packet this rule would offload: "
			    "nothing offloaded",
			    excl_text(all_by),
			    all_by->rule->loc.file ? all_by->rule->loc.file : "?",
			    all_by->rule->loc.line);
		else {
			char *list = strv_join(&skipped, "; ");

			po->reason = list ? xasprintf("no device has rules left: %s", list) : NULL;
			free(list);
		}
		rc = po->reason ? 0 : -ENOMEM;
		goto out;
	}
	blk->rules = out.v;
	blk->n_rules = out.n;
	out.v = NULL;
	rc = notes->oom ? -ENOMEM : 0;
out:
	free(out.v);
	strv_free(&skipped);
	expansion_free(&ox);
	for (size_t i = 0; i < el->n_exclusions; i++)
		expansion_free(&ex[i]);
	free(ex);
	return rc;
}
