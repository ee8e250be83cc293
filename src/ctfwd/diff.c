/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Chain-1 updates: ownership of installed rules, the installed -> wanted diff, and the device
 * list from a plan. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nft-tc-offload/ctfwd.h"

bool ctfwd_owns(const struct tc_rule *r, const uint8_t *cookie, uint8_t cookie_len)
{
	return r->id.chain == CTFWD_CHAIN && r->id.hook == TC_HOOK_INGRESS &&
	       r->cookie_len == cookie_len && memcmp(r->cookie, cookie, cookie_len) == 0;
}

/* Equal but for the handle (w's handle 0 means "any"). */
static bool same_rule(const struct tc_rule *w, const struct tc_rule *i)
{
	struct tc_rule t = *w;

	if (!t.id.handle)
		t.id.handle = i->id.handle;
	return tc_rule_equal(&t, i);
}

/* Same place (device, hook, chain, prio, protocol) and match; actions may differ. */
static bool same_match(const struct tc_rule *w, const struct tc_rule *i)
{
	struct tc_rule t = *w;

	if (!t.id.handle)
		t.id.handle = i->id.handle;
	t.n_actions = i->n_actions;
	memcpy(t.actions, i->actions, sizeof(t.actions));
	t.cookie_len = i->cookie_len;
	memcpy(t.cookie, i->cookie, sizeof(t.cookie));
	return tc_rule_equal(&t, i);
}

void ctfwd_diff_free(struct ctfwd_diff *d)
{
	if (!d)
		return;
	free(d->del);
	free(d->change);
	free(d->add);
	free(d->keep);
	memset(d, 0, sizeof(*d));
}

int ctfwd_diff(const struct tc_rule *installed, size_t n_installed, const struct tc_rule *wanted,
               size_t n_wanted, struct ctfwd_diff *out)
{
	bool *used = calloc(n_installed + 1, sizeof(*used));
	/* per wanted rule: index of its installed counterpart, or -1 */
	long *match = malloc((n_wanted + 1) * sizeof(*match));
	bool *changed = calloc(n_wanted + 1, sizeof(*changed));
	size_t cap_w = n_wanted + 1, cap_i = n_installed + 1;

	memset(out, 0, sizeof(*out));
	out->del = malloc(cap_i * sizeof(*out->del));
	out->keep = malloc(cap_i * sizeof(*out->keep));
	out->change = malloc(cap_w * sizeof(*out->change));
	out->add = malloc(cap_w * sizeof(*out->add));
	if (!used || !match || !changed || !out->del || !out->keep || !out->change || !out->add) {
		free(used);
		free(match);
		free(changed);
		ctfwd_diff_free(out);
		return -ENOMEM;
	}
	/* exact matches first, so an unchanged rule is never taken for a change */
	for (size_t w = 0; w < n_wanted; w++) {
		match[w] = -1;
		for (size_t i = 0; i < n_installed && match[w] < 0; i++)
			if (!used[i] && same_rule(&wanted[w], &installed[i])) {
				used[i] = true;
				match[w] = (long)i;
			}
	}
	for (size_t w = 0; w < n_wanted; w++)
		for (size_t i = 0; i < n_installed && match[w] < 0; i++)
			if (!used[i] && same_match(&wanted[w], &installed[i])) {
				used[i] = true;
				match[w] = (long)i;
				changed[w] = true;
			}
	for (size_t w = 0; w < n_wanted; w++) {
		if (match[w] < 0) {
			out->add[out->n_add++] = wanted[w];
		} else if (changed[w]) {
			struct tc_rule *r = &out->change[out->n_change++];

			*r = wanted[w];
			r->id.handle = installed[match[w]].id.handle;
		} else {
			out->keep[out->n_keep++] = installed[match[w]];
		}
	}
	for (size_t i = 0; i < n_installed; i++)
		if (!used[i])
			out->del[out->n_del++] = installed[i];
	free(used);
	free(match);
	free(changed);
	return 0;
}

static bool block_has_device(const struct plan_block *b, uint32_t ifindex)
{
	for (size_t i = 0; i < b->n_rules; i++)
		if (b->rules[i].id.ifindex == ifindex)
			return true;
	return false;
}

void ctfwd_devices_free(struct ctfwd_device *devs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((void *)devs[i].oif_specs);
		devs[i].oif_specs = NULL;
		devs[i].n_oif_specs = 0;
	}
}

int ctfwd_devices_from_plan(const struct plan_flowtable *pf, struct ctfwd_device *devs,
                            size_t *n_devs)
{
	size_t n = 0;

	for (size_t d = 0; d < pf->n_devices; d++) {
		const struct plan_device *pd = &pf->devices[d];
		struct ctfwd_device *cd;
		const struct plan_spec **specs;

		if (!pd->present || !pd->ifindex)
			continue;
		cd = &devs[n++];
		memset(cd, 0, sizeof(*cd));
		cd->ifindex = pd->ifindex;
		specs = calloc(pf->n_offloads + 1, sizeof(*specs));
		if (!specs) {
			ctfwd_devices_free(devs, n);
			return -ENOMEM;
		}
		cd->oif_specs = specs;
		if (pf->strategy != PROFILE_STRATEGY_CT || !pd->profile)
			continue;
		for (size_t o = 0; o < pf->n_offloads && o < pf->n_blocks; o++) {
			const struct plan_offload *po = &pf->offloads[o];

			if (po->refused || !block_has_device(&pf->blocks[o], pd->ifindex))
				continue;
			cd->ingress = true;
			cd->profile = pd->profile;
			cd->families |= po->elig.match.families;
			cd->protos |= po->elig.match.protos;
			specs[cd->n_oif_specs++] = &po->elig.match;
		}
	}
	*n_devs = n;
	return 0;
}
