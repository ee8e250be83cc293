/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * plan_build(): every flowtable of every table, its devices and profiles, its `flow add` rules,
 * and the strategy that turns them into blocks (ct.c, flow.c) — or the reason nothing is
 * offloaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan-internal.h"

void plan_opts_init(struct plan_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ct_nat = true;
	o->prio_base = PLAN_DEFAULT_PRIO_BASE;
	o->prio_count = PLAN_DEFAULT_PRIO_COUNT;
	o->max_rules = PLAN_DEFAULT_MAX_RULES;
}

const char *plan_ifname(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	const struct plan *p = ctx;

	for (size_t i = 0; i < p->n_flowtables; i++)
		for (size_t j = 0; j < p->flowtables[i].n_devices; j++)
			if (p->flowtables[i].devices[j].ifindex == ifindex) {
				snprintf(buf, IFNAMSIZ, "%s", p->flowtables[i].devices[j].name);
				return buf;
			}
	return NULL;
}

static void block_free(struct plan_block *b)
{
	free(b->comment);
	free(b->rules);
	for (size_t i = 0; i < b->n_template_lines; i++)
		free(b->template_lines[i]);
	free(b->template_lines);
}

static void flowtable_free(struct plan_flowtable *f)
{
	for (size_t i = 0; i < f->n_devices; i++) {
		free(f->devices[i].name);
		free(f->devices[i].reason);
	}
	free(f->devices);
	for (size_t i = 0; i < f->n_offloads; i++) {
		free(f->offloads[i].reason);
		eligibility_free(&f->offloads[i].elig);
	}
	free(f->offloads);
	for (size_t i = 0; i < f->n_blocks; i++)
		block_free(&f->blocks[i]);
	free(f->blocks);
	for (size_t i = 0; i < f->n_notes; i++)
		free(f->notes[i]);
	free(f->notes);
	free(f->reason);
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_flowtables; i++)
		flowtable_free(&p->flowtables[i]);
	free(p->flowtables);
	free(p);
}

/* Resolves the flowtable's devices and picks their profiles. */
static int resolve_devices(struct plan_ctx *c, struct plan_flowtable *pf)
{
	const struct plan_opts *o = c->opts;
	const struct nft_flowtable *ft = pf->flowtable;

	pf->devices = calloc(ft->n_devices + 1, sizeof(*pf->devices));
	if (!pf->devices)
		return -ENOMEM;
	for (size_t i = 0; i < ft->n_devices; i++) {
		struct plan_device *d = &pf->devices[pf->n_devices++];
		struct plan_device_info info;
		char why[512];
		int rc;

		d->name = strdup(ft->devices[i]);
		if (!d->name)
			return -ENOMEM;
		memset(&info, 0, sizeof(info));
		rc = o->resolve(o->resolve_ctx, d->name, &info);
		if (rc == -ENODEV) {
			d->reason = xasprintf("device does not exist");
		} else if (rc < 0) {
			d->reason = xasprintf("cannot resolve the device: %s", strerror(-rc));
		} else {
			d->ifindex = info.ifindex;
			d->present = info.present;
			if (o->force_profile) {
				d->profile = profile_set_find(o->profiles, o->force_profile);
			} else if (!info.present) {
				d->reason =
				    xasprintf("no profile: device not present (use --profile)");
			} else {
				struct profile_device pd = {
				    .ifname = d->name,
				    .driver = info.driver[0] ? info.driver : NULL,
				    .has_pci_id = info.has_pci_id,
				    .pci_vendor = info.pci_vendor,
				    .pci_device = info.pci_device,
				};

				why[0] = '\0';
				d->profile = profile_select(o->profiles, &pd, why, sizeof(why));
				if (!d->profile)
					d->reason = xasprintf("no profile: %s", why);
			}
			if (d->profile)
				continue;
		}
		if (!d->reason)
			return -ENOMEM;
	}
	return 0;
}

/* Why a flowtable has no offload rule: no reference, or a reference outside forward chains. */
static char *why_no_rule(const struct nft_table *t, const struct nft_flowtable *ft)
{
	for (size_t i = 0; i < t->n_chains; i++) {
		const struct nft_chain *ch = &t->chains[i];

		for (size_t j = 0; j < ch->n_rules; j++) {
			const struct nft_rule *r = &ch->rules[j];

			if (r->flowtable && strcmp(r->flowtable, ft->name) == 0)
				return xasprintf(
				    "its `flow add @%s` rule (%s:%u) sits in chain %s, "
				    "which no forward hook reaches",
				    ft->name, r->loc.file ? r->loc.file : "?", r->loc.line,
				    ch->name);
		}
	}
	return xasprintf("no `flow add @%s` rule refers to it", ft->name);
}

static int strv_take(struct strv *s, char ***v, size_t *n)
{
	if (s->oom) {
		strv_free(s);
		return -ENOMEM;
	}
	*v = s->v;
	*n = s->n;
	memset(s, 0, sizeof(*s));
	return 0;
}

static char *block_comment(const struct nft_table *t, const struct plan_flowtable *pf,
                           const struct plan_offload *po, const struct strv *notes)
{
	const struct nft_rule *r = po->src->rule;
	struct sbuf b = {0};
	char where[256];

	loc_line(&r->loc, where, sizeof(where));
	sb_printf(&b, "rule %s (table %s %s, chain %s): %s", where, nft_family_name(t->family),
	          t->name, po->src->chain->name, r->text ? r->text : "?");
	if (po->refused) {
		sb_printf(&b, "\nrefused: %s", po->reason);
	} else {
		sb_printf(&b, "\noffloads: ");
		spec_describe(&po->elig.match, &b);
		if (pf->strategy == PROFILE_STRATEGY_CT)
			sb_printf(&b, "; ct zone %u", po->elig.zone);
		for (size_t i = 0; i < po->elig.n_exclusions; i++) {
			const struct plan_exclusion *e = &po->elig.exclusions[i];

			loc_line(&e->rule->loc, where, sizeof(where));
			sb_printf(&b, "\nexcluded%s: ", e->mirrored ? " (reply direction)" : "");
			spec_describe(&e->match, &b);
			if (e->from_negation)
				sb_printf(&b, " (negated match of this rule)");
			else
				sb_printf(&b, " (`%s` %s)", e->rule->text ? e->rule->text : "?",
				          where);
		}
	}
	for (size_t i = 0; i < notes->n; i++)
		sb_printf(&b, "\nnote: %s", notes->v[i]);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

static int plan_flowtable_build(struct plan_ctx *c, const struct nft_table *t,
                                struct plan_flowtable *pf)
{
	const struct nft_flowtable *ft = pf->flowtable;
	struct strv ftnotes = {0}, reasons = {0};
	unsigned strategies = 0;
	size_t n_used = 0, n_absent = 0, n_rules = 0, n_ok = 0;
	int rc;

	rc = resolve_devices(c, pf);
	if (rc)
		return rc;
	for (size_t i = 0; i < t->n_offload_rules; i++)
		if (t->offload_rules[i].flowtable == ft ||
		    (t->offload_rules[i].rule->flowtable &&
		     strcmp(t->offload_rules[i].rule->flowtable, ft->name) == 0))
			n_rules++;
	for (size_t i = 0; i < pf->n_devices; i++) {
		const struct plan_device *d = &pf->devices[i];

		if (d->profile) {
			n_used++;
			strategies |= 1u << d->profile->strategy;
		} else {
			n_absent += strcmp(d->reason, "device does not exist") == 0;
			strv_addf(&ftnotes, "%s: %s", d->name, d->reason);
		}
	}
	if (n_rules == 0) {
		pf->reason = why_no_rule(t, ft);
		goto done;
	}
	if (pf->n_devices == 0) {
		pf->reason = xasprintf("it has no devices");
		goto done;
	}
	if (n_used == 0) {
		if (n_absent == pf->n_devices) {
			pf->reason = xasprintf("none of its devices exists");
		} else {
			char *list = strv_join(&ftnotes, "; ");

			pf->reason =
			    xasprintf("no profile matches its devices (%s)", list ? list : "");
			free(list);
		}
		goto done;
	}
	if (strategies & (strategies - 1)) {
		struct sbuf b = {0};

		sb_printf(&b, "its devices resolve to profiles of different strategies:");
		for (int s = PROFILE_STRATEGY_CT; s <= PROFILE_STRATEGY_FLOW; s++) {
			size_t k = 0;

			for (size_t i = 0; i < pf->n_devices; i++) {
				const struct plan_device *d = &pf->devices[i];

				if (!d->profile || (int)d->profile->strategy != s)
					continue;
				if (k++ == 0)
					sb_printf(&b, "%s %s on",
					          s == PROFILE_STRATEGY_CT ? "" : ";",
					          profile_strategy_name((enum profile_strategy)s));
				sb_printf(&b, "%s %s (%s)", k > 1 ? "," : "", d->name,
				          d->profile->name);
			}
		}
		if (b.oom) {
			free(b.s);
			rc = -ENOMEM;
			goto out;
		}
		pf->reason = b.s;
		goto done;
	}
	for (size_t i = 0; i < pf->n_devices; i++)
		if (pf->devices[i].profile)
			pf->strategy = pf->devices[i].profile->strategy;

	pf->offloads = calloc(n_rules, sizeof(*pf->offloads));
	pf->blocks = calloc(n_rules, sizeof(*pf->blocks));
	if (!pf->offloads || !pf->blocks) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->n_offload_rules; i++) {
		const struct nft_offload_rule *o = &t->offload_rules[i];
		struct plan_offload *po;
		struct plan_block *blk;
		struct strv notes = {0};

		if (!(o->flowtable == ft ||
		      (o->rule->flowtable && strcmp(o->rule->flowtable, ft->name) == 0)))
			continue;
		po = &pf->offloads[pf->n_offloads++];
		blk = &pf->blocks[pf->n_blocks++];
		po->src = o;
		rc = plan_offload_eligibility(c, t, o, &po->elig, &notes, &po->reason);
		if (rc == 1) {
			po->refused = true;
			rc = 0;
		} else if (rc == 0) {
			if (pf->strategy == PROFILE_STRATEGY_CT)
				rc = plan_ct_rule(c, pf, po, blk, &notes);
			else
				rc = plan_flow_rule(c, pf, po, blk, &notes);
		}
		if (rc == 0 && notes.oom)
			rc = -ENOMEM;
		if (rc == 0) {
			blk->comment = block_comment(t, pf, po, &notes);
			if (!blk->comment)
				rc = -ENOMEM;
		}
		strv_free(&notes);
		if (rc)
			goto out;
		if (po->refused) {
			char where[256];

			loc_line(&o->rule->loc, where, sizeof(where));
			strv_addf(&reasons, "rule %s: %s", where, po->reason);
		} else {
			n_ok++;
		}
	}
	if (n_ok == 0) {
		char *list = strv_join(&reasons, "; ");

		pf->strategy = PROFILE_STRATEGY_NONE;
		pf->reason = list;
		if (!list) {
			rc = -ENOMEM;
			goto out;
		}
	}
done:
	if (!pf->reason && n_ok == 0)
		rc = -ENOMEM; /* every path without an offloaded rule sets a reason */
	else
		rc = strv_take(&ftnotes, &pf->notes, &pf->n_notes);
out:
	strv_free(&ftnotes);
	strv_free(&reasons);
	return rc;
}

int plan_build(const struct nft_ruleset *rs, const struct plan_opts *opts, struct plan **out,
               char *err, size_t errlen)
{
	struct plan_ctx c = {.opts = opts};
	struct plan *p;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	if (!opts->profiles || !opts->resolve) {
		snprintf(err, errlen, "plan: profiles and a device resolver are required");
		return -EINVAL;
	}
	if (opts->force_profile && !profile_set_find(opts->profiles, opts->force_profile)) {
		snprintf(err, errlen, "unknown profile \"%s\"", opts->force_profile);
		return -EINVAL;
	}
	if (opts->max_rules == 0 || opts->prio_count == 0 || opts->prio_base == 0) {
		snprintf(err, errlen, "plan: the rule cap and the prio range must not be empty");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	for (size_t i = 0; i < rs->n_tables; i++)
		n += rs->tables[i].n_flowtables;
	p->flowtables = calloc(n + 1, sizeof(*p->flowtables));
	if (!p->flowtables)
		goto nomem;
	c.plan = p;
	for (size_t i = 0; i < rs->n_tables && rc == 0; i++) {
		const struct nft_table *t = &rs->tables[i];

		for (size_t j = 0; j < t->n_flowtables && rc == 0; j++) {
			struct plan_flowtable *pf = &p->flowtables[p->n_flowtables++];

			pf->table = t;
			pf->flowtable = &t->flowtables[j];
			rc = plan_flowtable_build(&c, t, pf);
		}
	}
	free(c.prio_ifindex);
	free(c.prio_next);
	if (rc) {
		plan_free(p);
		snprintf(err, errlen, "plan: %s", strerror(-rc));
		return rc;
	}
	*out = p;
	return 0;
nomem:
	plan_free(p);
	snprintf(err, errlen, "plan: %s", strerror(ENOMEM));
	return -ENOMEM;
}
