/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which ct flowtables the runtime refuses before building rules (ctrt-internal.h): devices of
 * a switchdev profile on more than one eswitch, and features the probe found missing. Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrt-internal.h"

unsigned ctrt_flowtable_needs(const struct plan_flowtable *pf)
{
	unsigned needs = PROBE_CHAIN1_NEEDS;

	for (size_t b = 0; b < pf->n_blocks; b++)
		for (size_t i = 0; i < pf->blocks[b].n_rules; i++)
			needs |= probe_rule_needs(&pf->blocks[b].rules[i]);
	return needs;
}

static bool used(const struct plan_device *pd)
{
	return pd->profile && pd->present && pd->ifindex;
}

bool ctrt_refuse_flowtable(const struct plan_flowtable *pf, const struct netstate_snapshot *snap,
                           const struct probe_device *probes, size_t n, char *reason, size_t len)
{
	const struct profile *switchdev = NULL;
	uint32_t *ifx;
	size_t n_used = 0;
	unsigned needs;
	char why[512];

	if (len)
		reason[0] = '\0';
	ifx = calloc(pf->n_devices + 1, sizeof(*ifx));
	if (!ifx) {
		snprintf(reason, len, "out of memory");
		return true;
	}
	for (size_t i = 0; i < pf->n_devices; i++) {
		if (!used(&pf->devices[i]))
			continue;
		ifx[n_used++] = pf->devices[i].ifindex;
		if (!switchdev && pf->devices[i].profile->switchdev)
			switchdev = pf->devices[i].profile;
	}
	if (switchdev && !netstate_same_eswitch(snap, ifx, n_used, why, sizeof(why))) {
		snprintf(reason, len,
		         "eswitch: profile %s is a switchdev profile and the flowtable's devices "
		         "must be ports of one eswitch: %s",
		         switchdev->name, why);
		free(ifx);
		return true;
	}
	free(ifx);
	needs = ctrt_flowtable_needs(pf);
	for (size_t i = 0; i < pf->n_devices; i++) {
		const struct plan_device *pd = &pf->devices[i];
		const struct probe_device *d = NULL;

		if (!used(pd))
			continue;
		for (size_t k = 0; k < n && !d; k++)
			if (probes[k].ifindex == pd->ifindex)
				d = &probes[k];
		if (!d) {
			snprintf(reason, len, "probe: %s was not probed", pd->name);
			return true;
		}
		if (!probe_check(d, needs, reason, len))
			return true;
	}
	return false;
}
