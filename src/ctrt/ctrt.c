/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ct strategy at run time: chain 0 from the plan, chain 1 from netstate, kept by diff. */
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
#include "nft-tc-offload/install.h"

#define CTRT_ERR_MAX 1536

/* A ct flowtable the runtime gives no rules, and why (refuse.c). */
struct ctrt_refusal {
	const struct plan_flowtable *pf; /* of the current plan */
	char *id;                        /* "inet lab ft": compared across plans */
	char *reason;
};

struct ctrt_devcount {
	uint32_t ifindex;
	size_t chain0, chain1;
};

struct ctrt {
	struct ctrt_opts o;
	const struct plan *plan;
	struct ev_timer *debounce;
	uint32_t *devs; /* devices with rules of ours after the last sync */
	size_t n_devs;
	struct ctrt_devcount *counts; /* per device, after the last sync */
	size_t n_counts;
	char **notes; /* chain-1 notes of the last sync */
	size_t n_notes;
	struct probe_device *probes; /* per device probed (probe.h), kept across syncs */
	size_t n_probes;
	struct ctrt_refusal *refusals; /* of the last sync */
	size_t n_refusals;
	/* counters */
	uint64_t syncs, sync_errors, refused, netstate_triggers;
	struct ctrt_sync_stats last;
	uint64_t last_sync_ms;
	char last_error[CTRT_ERR_MAX];
};

#define LOG(rt, lvl, ...)                                                                          \
	do {                                                                                       \
		if ((rt)->o.log)                                                                   \
			(rt)->o.log((rt)->o.log_ctx, lvl, __VA_ARGS__);                            \
	} while (0)

bool ctrt_cookie_static(const struct tc_rule *r)
{
	if (!nto_cookie_is_ours(r) || r->cookie_len < NTO_COOKIE_LEN)
		return false;
	for (int i = 8; i < 16; i++)
		if (r->cookie[i])
			return false;
	return true;
}

static const char *snap_ifname(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	const struct netstate_link *l = ctx ? netstate_link_by_index(ctx, ifindex) : NULL;

	if (l) {
		snprintf(buf, IFNAMSIZ, "%s", l->name);
		return buf;
	}
	return if_indextoname(ifindex, buf);
}

static void on_failure(void *ctx, const char *msg)
{
	struct ctrt *rt = ctx;

	rt->refused++;
	snprintf(rt->last_error, sizeof(rt->last_error), "%s", msg);
	LOG(rt, LOG_LEVEL_ERROR, "ct: the kernel refused: %s", msg);
}

static void free_refusals(struct ctrt_refusal *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].reason);
	}
	free(v);
}

static const struct probe_device *probe_of(const struct ctrt *rt, uint32_t ifindex)
{
	for (size_t i = 0; i < rt->n_probes; i++)
		if (rt->probes[i].ifindex == ifindex)
			return &rt->probes[i];
	return NULL;
}

static void log_probe(struct ctrt *rt, const struct probe_device *d)
{
	unsigned n_ok = 0, n = 0;

	if (d->error) {
		LOG(rt, LOG_LEVEL_ERROR, "ct: probe %s: %s", d->name, d->msg);
		return;
	}
	for (int f = 0; f < PROBE_FEATURE_COUNT; f++) {
		const struct probe_result *r = &d->r[f];

		if (!r->tested)
			continue;
		n++;
		if (r->ok) {
			n_ok++;
			continue;
		}
		LOG(rt, LOG_LEVEL_WARNING, "ct: probe %s: %s refused: %s%s%s", d->name,
		    probe_feature_label((enum probe_feature)f),
		    r->mismatch ? "" : strerror(-r->error),
		    r->extack[0] && !r->mismatch ? ": " : "", r->extack);
	}
	if (d->leftovers)
		LOG(rt, LOG_LEVEL_WARNING,
		    "ct: probe %s: %u test rules could not be deleted (chain %u prio %u)", d->name,
		    d->leftovers, PROBE_CHAIN, PROBE_PRIO);
	LOG(rt, n_ok == n ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING,
	    "ct: probe %s (profile %s): %u of %u features work", d->name, d->profile, n_ok, n);
}

/* Probes every used device of the plan's ct flowtables that has no probe yet. */
static int run_probes(struct ctrt *rt)
{
	for (size_t f = 0; rt->plan && f < rt->plan->n_flowtables; f++) {
		const struct plan_flowtable *pf = &rt->plan->flowtables[f];

		if (pf->strategy != PROFILE_STRATEGY_CT || pf->reason)
			continue;
		for (size_t i = 0; i < pf->n_devices; i++) {
			const struct plan_device *pd = &pf->devices[i];
			struct probe_device *v;

			if (!pd->profile || !pd->present || !pd->ifindex ||
			    probe_of(rt, pd->ifindex))
				continue;
			v = realloc(rt->probes, (rt->n_probes + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			rt->probes = v;
			probe_run(rt->o.rtnl, pd->ifindex, pd->name, pd->profile,
			          &rt->probes[rt->n_probes]);
			log_probe(rt, &rt->probes[rt->n_probes++]);
		}
	}
	return 0;
}

/* Forgets the probes that did not wholly work: a new plan (a reload) retries them. */
static void forget_probes(struct ctrt *rt)
{
	size_t w = 0;

	for (size_t i = 0; i < rt->n_probes; i++)
		if (probe_all_ok(&rt->probes[i]))
			rt->probes[w++] = rt->probes[i];
	rt->n_probes = w;
}

static const char *refusal_of(void *ctx, const struct plan_flowtable *pf)
{
	const struct ctrt *rt = ctx;

	for (size_t i = 0; i < rt->n_refusals; i++)
		if (rt->refusals[i].pf == pf)
			return rt->refusals[i].reason;
	return NULL;
}

const char *ctrt_flowtable_refusal(const struct ctrt *rt, const struct plan_flowtable *pf)
{
	return rt ? refusal_of((void *)rt, pf) : NULL;
}

static void free_notes(struct ctrt *rt)
{
	for (size_t i = 0; i < rt->n_notes; i++)
		free(rt->notes[i]);
	free(rt->notes);
	rt->notes = NULL;
	rt->n_notes = 0;
}

static int add_dev(uint32_t **v, size_t *n, uint32_t ifindex)
{
	uint32_t *nv;

	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == ifindex)
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = ifindex;
	*v = nv;
	return 0;
}

static uint16_t flowtable_zone(const struct plan_flowtable *pf)
{
	for (size_t o = 0; o < pf->n_offloads; o++)
		if (!pf->offloads[o].refused)
			return pf->offloads[o].elig.zone;
	return 0;
}

/* Chain 1 of one ct flowtable, appended to wanted. ingress_taken: devices whose chain 1 an
 * earlier flowtable already fills (one chain 1 per device). */
static int build_chain1(struct ctrt *rt, const struct plan_flowtable *pf,
                        const struct netstate_snapshot *snap, uint32_t **taken, size_t *n_taken,
                        struct tc_rule_vec *wanted)
{
	struct ctfwd_device *devs = calloc(pf->n_devices + 1, sizeof(*devs));
	struct ctfwd_input in = {0};
	struct ctfwd_result res = {0};
	size_t n = 0;
	int rc;

	if (!devs)
		return -ENOMEM;
	rc = ctfwd_devices_from_plan(pf, devs, &n);
	if (rc) {
		free(devs);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		if (!devs[i].ingress)
			continue;
		for (size_t k = 0; k < *n_taken && !seen; k++)
			seen = (*taken)[k] == devs[i].ifindex;
		if (seen) {
			devs[i].ingress = false;
			LOG(rt, LOG_LEVEL_WARNING,
			    "ct: flowtable %s: ifindex %u is in another ct flowtable too; its "
			    "chain 1 "
			    "follows the first",
			    pf->flowtable->name, devs[i].ifindex);
		} else if ((rc = add_dev(taken, n_taken, devs[i].ifindex))) {
			goto out;
		}
	}
	in.snap = snap;
	in.devices = devs;
	in.n_devices = n;
	in.zone = flowtable_zone(pf);
	in.cookie_len = NTO_COOKIE_LEN;
	nto_cookie_make(in.cookie,
	                nto_cookie_owner(nft_family_name(pf->table->family), pf->table->name,
	                                 pf->flowtable->name),
	                0);
	rc = ctfwd_build(&in, &res);
	if (rc)
		goto out;
	for (size_t i = 0; i < res.n_rules && !rc; i++)
		rc = rulev_push(wanted, &res.rules[i]);
	for (size_t i = 0; i < res.n_notes && !rc; i++) {
		char **v = realloc(rt->notes, (rt->n_notes + 1) * sizeof(*v));

		if (!v) {
			rc = -ENOMEM;
			break;
		}
		rt->notes = v;
		rt->notes[rt->n_notes] = strdup(res.notes[i]);
		if (!rt->notes[rt->n_notes])
			rc = -ENOMEM;
		else
			rt->n_notes++;
	}
	ctfwd_result_free(&res);
out:
	ctfwd_devices_free(devs, n);
	free(devs);
	return rc;
}

/* Records a refusal of pf (logged when it is new or its reason changed). */
static int refuse(struct ctrt *rt, const struct plan_flowtable *pf, const char *reason,
                  const struct ctrt_refusal *old, size_t n_old)
{
	struct ctrt_refusal *v = realloc(rt->refusals, (rt->n_refusals + 1) * sizeof(*v));
	char id[512];
	bool seen = false;

	if (!v)
		return -ENOMEM;
	rt->refusals = v;
	snprintf(id, sizeof(id), "%s %s %s", nft_family_name(pf->table->family), pf->table->name,
	         pf->flowtable->name);
	v[rt->n_refusals] =
	    (struct ctrt_refusal){.pf = pf, .id = strdup(id), .reason = strdup(reason)};
	if (!v[rt->n_refusals].id || !v[rt->n_refusals].reason) {
		free(v[rt->n_refusals].id);
		free(v[rt->n_refusals].reason);
		return -ENOMEM;
	}
	rt->n_refusals++;
	for (size_t i = 0; i < n_old && !seen; i++)
		seen = !strcmp(old[i].id, id) && !strcmp(old[i].reason, reason);
	if (!seen)
		LOG(rt, LOG_LEVEL_ERROR, "ct: flowtable %s: not offloaded: %s", id, reason);
	return 0;
}

static int build_wanted(struct ctrt *rt, const struct netstate_snapshot *snap,
                        struct tc_rule_vec *wanted)
{
	struct ctrt_refusal *old = rt->refusals;
	size_t n_old = rt->n_refusals;
	uint32_t *taken = NULL;
	size_t n_taken = 0;
	int rc = 0;

	free_notes(rt);
	rt->refusals = NULL;
	rt->n_refusals = 0;
	if (!rt->plan) {
		free_refusals(old, n_old);
		return 0;
	}
	for (size_t f = 0; f < rt->plan->n_flowtables && !rc; f++) {
		const struct plan_flowtable *pf = &rt->plan->flowtables[f];
		char reason[1024];

		if (pf->strategy != PROFILE_STRATEGY_CT || pf->reason)
			continue;
		/* rules that would fail are not attempted: the flowtable is refused instead */
		if (ctrt_refuse_flowtable(pf, snap, rt->probes, rt->n_probes, reason,
		                          sizeof(reason))) {
			rc = refuse(rt, pf, reason, old, n_old);
			continue;
		}
		for (size_t b = 0; b < pf->n_blocks && !rc; b++)
			for (size_t i = 0; i < pf->blocks[b].n_rules && !rc; i++)
				rc = rulev_push(wanted, &pf->blocks[b].rules[i]);
		if (!rc)
			rc = build_chain1(rt, pf, snap, &taken, &n_taken, wanted);
	}
	free(taken);
	free_refusals(old, n_old);
	return rc;
}

static void count_rules(struct ctrt *rt, const struct tc_rule_vec *now)
{
	free(rt->counts);
	rt->counts = NULL;
	rt->n_counts = 0;
	free(rt->devs);
	rt->devs = NULL;
	rt->n_devs = 0;
	for (size_t i = 0; i < now->n; i++) {
		const struct tc_rule *r = &now->v[i];
		struct ctrt_devcount *c = NULL;

		for (size_t k = 0; k < rt->n_counts && !c; k++)
			if (rt->counts[k].ifindex == r->id.ifindex)
				c = &rt->counts[k];
		if (!c) {
			struct ctrt_devcount *v =
			    realloc(rt->counts, (rt->n_counts + 1) * sizeof(*v));

			if (!v)
				return;
			rt->counts = v;
			c = &rt->counts[rt->n_counts++];
			*c = (struct ctrt_devcount){.ifindex = r->id.ifindex};
			add_dev(&rt->devs, &rt->n_devs, r->id.ifindex);
		}
		if (r->id.chain == CTFWD_CHAIN)
			c->chain1++;
		else
			c->chain0++;
	}
}

int ctrt_sync(struct ctrt *rt, bool all_devices, struct ctrt_sync_stats *st)
{
	struct netstate_snapshot snap = {0};
	struct tc_rule_vec wanted = {0}, installed = {0};
	struct sync_result res = {0};
	struct sync_apply_opts ao = {.ifname = snap_ifname, .on_failure = on_failure, .ctx = rt};
	uint32_t *devs = NULL;
	size_t n_devs = 0;
	char err[512];
	int rc;

	if (st)
		memset(st, 0, sizeof(*st));
	if (rt->debounce)
		ev_timer_disarm(rt->debounce);
	rc = netstate_snapshot(rt->o.netstate, &snap);
	if (rc) {
		snprintf(rt->last_error, sizeof(rt->last_error), "netstate snapshot: %s",
		         strerror(-rc));
		goto out;
	}
	ao.ifname_ctx = &snap;
	rc = run_probes(rt);
	if (rc) {
		snprintf(rt->last_error, sizeof(rt->last_error), "probing the devices: %s",
		         strerror(-rc));
		goto out;
	}
	rc = build_wanted(rt, &snap, &wanted);
	if (rc) {
		snprintf(rt->last_error, sizeof(rt->last_error), "building the rules: %s",
		         strerror(-rc));
		goto out;
	}
	/* the devices to look at: every one (adoption, resync), else ours and the wanted ones */
	if (all_devices) {
		for (size_t i = 0; i < snap.n_links && !rc; i++)
			rc = add_dev(&devs, &n_devs, snap.links[i].ifindex);
	} else {
		for (size_t i = 0; i < rt->n_devs && !rc; i++)
			if (netstate_link_by_index(&snap, rt->devs[i]))
				rc = add_dev(&devs, &n_devs, rt->devs[i]);
	}
	for (size_t i = 0; i < wanted.n && !rc; i++)
		rc = add_dev(&devs, &n_devs, wanted.v[i].id.ifindex);
	if (rc)
		goto out;
	rc = sync_dump(rt->o.rtnl, devs, n_devs, ctrt_cookie_static, &installed, err, sizeof(err));
	if (rc) {
		snprintf(rt->last_error, sizeof(rt->last_error), "%s", err);
		goto out;
	}
	rc = sync_apply(rt->o.rtnl, &installed, &wanted, &ao, &res);
	count_rules(rt, &res.now);
	rt->last = (struct ctrt_sync_stats){.wanted = wanted.n,
	                                    .kept = res.kept,
	                                    .changed = res.changed,
	                                    .added = res.added,
	                                    .deleted = res.deleted,
	                                    .failed = res.failed};
	if (st)
		*st = rt->last;
	if (res.changed || res.added || res.deleted || res.failed)
		LOG(rt, res.failed ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO,
		    "ct: sync: %zu rules wanted: kept %zu, changed %zu, added %zu, deleted %zu, "
		    "refused %zu",
		    wanted.n, res.kept, res.changed, res.added, res.deleted, res.failed);
	else
		LOG(rt, LOG_LEVEL_DEBUG, "ct: sync: %zu rules, nothing to change", wanted.n);
out:
	rt->syncs++;
	rt->last_sync_ms = ev_now_ms();
	if (rc) {
		rt->sync_errors++;
		LOG(rt, LOG_LEVEL_ERROR, "ct: sync failed: %s", rt->last_error);
	}
	tc_rule_vec_free(&res.now);
	tc_rule_vec_free(&wanted);
	tc_rule_vec_free(&installed);
	free(devs);
	netstate_snapshot_free(&snap);
	return rc;
}

static void debounce_fired(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	ctrt_sync(arg, false, NULL);
}

int ctrt_start(struct ctrt **out, const struct ctrt_opts *o, const struct plan *plan, char *err,
               size_t errlen)
{
	struct ctrt *rt = calloc(1, sizeof(*rt));

	*out = NULL;
	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rt->o = *o;
	rt->plan = plan;
	if (o->loop) {
		rt->debounce = ev_timer_new(o->loop, debounce_fired, rt);
		if (!rt->debounce) {
			snprintf(err, errlen, "cannot make a timer: %s", strerror(errno));
			free(rt);
			return -errno;
		}
	}
	if (ctrt_sync(rt, true, NULL) && rt->syncs == 1 && rt->sync_errors == 1 &&
	    strncmp(rt->last_error, "cannot list", 11) == 0) {
		/* without a view of what is installed nothing can be adopted or removed safely */
		snprintf(err, errlen, "%s", rt->last_error);
		ctrt_stop(rt, false);
		return -EIO;
	}
	*out = rt;
	return 0;
}

int ctrt_set_plan(struct ctrt *rt, const struct plan *plan)
{
	/* the refusals point into the old plan: the sync below rebuilds them */
	for (size_t i = 0; i < rt->n_refusals; i++)
		rt->refusals[i].pf = NULL;
	forget_probes(rt);
	rt->plan = plan;
	return ctrt_sync(rt, false, NULL);
}

void ctrt_netstate_changed(struct ctrt *rt)
{
	rt->netstate_triggers++;
	if (rt->debounce)
		ev_timer_arm(rt->debounce, rt->o.debounce_ms ? rt->o.debounce_ms : 1, 0);
	else
		ctrt_sync(rt, false, NULL);
}

long ctrt_stop(struct ctrt *rt, bool remove_rules)
{
	long removed = 0;

	if (!rt)
		return 0;
	if (remove_rules) {
		struct netstate_snapshot snap = {0};
		struct tc_rule_vec installed = {0}, none = {0};
		struct sync_result res = {0};
		struct sync_apply_opts ao = {
		    .ifname = snap_ifname, .on_failure = on_failure, .ctx = rt};
		uint32_t *devs = NULL;
		size_t n_devs = 0;
		char err[512];

		/* every device: rules of ours may sit where the plan no longer puts any */
		if (netstate_snapshot(rt->o.netstate, &snap) == 0) {
			for (size_t i = 0; i < snap.n_links; i++)
				add_dev(&devs, &n_devs, snap.links[i].ifindex);
			ao.ifname_ctx = &snap;
		} else {
			for (size_t i = 0; i < rt->n_devs; i++)
				add_dev(&devs, &n_devs, rt->devs[i]);
		}
		removed = sync_dump(rt->o.rtnl, devs, n_devs, ctrt_cookie_static, &installed, err,
		                    sizeof(err));
		if (removed == 0 && sync_apply(rt->o.rtnl, &installed, &none, &ao, &res) == 0)
			removed = (long)(res.deleted - res.failed);
		else if (removed)
			LOG(rt, LOG_LEVEL_ERROR, "ct: cannot remove our rules: %s", err);
		tc_rule_vec_free(&res.now);
		tc_rule_vec_free(&installed);
		free(devs);
		netstate_snapshot_free(&snap);
	}
	if (rt->debounce)
		ev_timer_free(rt->debounce);
	free_notes(rt);
	free_refusals(rt->refusals, rt->n_refusals);
	free(rt->probes);
	free(rt->devs);
	free(rt->counts);
	free(rt);
	return removed;
}

size_t ctrt_device_rules(const struct ctrt *rt, uint32_t ifindex)
{
	for (size_t i = 0; rt && i < rt->n_counts; i++)
		if (rt->counts[i].ifindex == ifindex)
			return rt->counts[i].chain0 + rt->counts[i].chain1;
	return 0;
}

json_t *ctrt_status_json(const struct ctrt *rt)
{
	json_t *o = json_object(), *devs = json_array(), *notes = json_array();
	size_t c0 = 0, c1 = 0;

	for (size_t i = 0; i < rt->n_counts; i++) {
		char name[IFNAMSIZ];

		c0 += rt->counts[i].chain0;
		c1 += rt->counts[i].chain1;
		json_array_append_new(
		    devs,
		    json_pack("{s:I, s:s, s:I, s:I}", "ifindex", (json_int_t)rt->counts[i].ifindex,
		              "name", if_indextoname(rt->counts[i].ifindex, name) ? name : "?",
		              "chain0", (json_int_t)rt->counts[i].chain0, "chain1",
		              (json_int_t)rt->counts[i].chain1));
	}
	for (size_t i = 0; i < rt->n_notes; i++)
		json_array_append_new(notes, json_string(rt->notes[i]));
	json_object_set_new(o, "rules_chain0", json_integer((json_int_t)c0));
	json_object_set_new(o, "rules_chain1", json_integer((json_int_t)c1));
	json_object_set_new(o, "devices", devs);
	json_object_set_new(o, "syncs", json_integer((json_int_t)rt->syncs));
	json_object_set_new(o, "sync_errors", json_integer((json_int_t)rt->sync_errors));
	json_object_set_new(o, "refused", json_integer((json_int_t)rt->refused));
	json_object_set_new(o, "netstate_triggers",
	                    json_integer((json_int_t)rt->netstate_triggers));
	json_object_set_new(
	    o, "last_sync",
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "wanted", (json_int_t)rt->last.wanted,
	              "kept", (json_int_t)rt->last.kept, "changed", (json_int_t)rt->last.changed,
	              "added", (json_int_t)rt->last.added, "deleted", (json_int_t)rt->last.deleted,
	              "refused", (json_int_t)rt->last.failed));
	json_object_set_new(o, "last_sync_age_ms",
	                    json_integer((json_int_t)(ev_now_ms() - rt->last_sync_ms)));
	json_object_set_new(o, "last_error",
	                    rt->last_error[0] ? json_string(rt->last_error) : json_null());
	json_object_set_new(o, "notes", notes);
	{
		json_t *probes = json_array(), *refused = json_array();

		for (size_t i = 0; i < rt->n_probes; i++)
			json_array_append_new(probes, probe_device_json(&rt->probes[i]));
		for (size_t i = 0; i < rt->n_refusals; i++) {
			const struct ctrt_refusal *r = &rt->refusals[i];

			json_array_append_new(refused, json_pack("{s:s, s:s}", "flowtable", r->id,
			                                         "reason", r->reason));
		}
		json_object_set_new(o, "probes", probes);
		json_object_set_new(o, "refused_flowtables", refused);
	}
	return o;
}

int ctrt_explain(struct ctrt *rt, const struct plan_tuple *t, uint32_t in_ifindex, char *buf,
                 size_t len)
{
	struct netstate_snapshot snap = {0};
	int rc = netstate_snapshot(rt->o.netstate, &snap);

	if (rc) {
		snprintf(buf, len, "cannot read the network state: %s\n", strerror(-rc));
		return rc;
	}
	rc = ctrt_explain_plan_refused(rt->plan, &snap, t, in_ifindex, refusal_of, rt, buf, len);
	netstate_snapshot_free(&snap);
	return rc;
}
