/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ct strategy at run time: the daemon's glue between a plan (chain 0: act_ct, plan.h), the
 * network state (netstate.h) and the forwarding chain built from it (chain 1, ctfwd.h).
 *
 * The runtime keeps the kernel's rules of ours equal to what the plan and the current network
 * state ask for, by diff: every sync dumps the filters of the devices concerned, takes the ones
 * carrying our cookie with rule id 0 (static rules: the flow strategy's per-connection rules
 * carry a conntrack id and belong to flowrt), compares them with the wanted rules
 * (ctfwd_diff(): equal rules are kept untouched, rules with the same place and match but other
 * actions are replaced in place, the rest deleted or added) and applies the difference.
 *
 *  - start: the first sync looks at every device of the namespace, so rules of an earlier run
 *    (kill -9, a crash, on_stop=keep) that still match the plan are adopted, and the rest of
 *    ours, duplicates included, are deleted. Operators' filters (no cookie of ours) are never
 *    touched.
 *  - a new plan (reload, live ruleset change): one sync, over the devices of the old and the new
 *    plan.
 *  - network changes (links, routes, neighbours): debounced, then one sync (chain 1 follows a
 *    neighbour's new MAC, a route's new gateway, ...).
 *  - stop: removes every rule of ours it installed (or leaves them, for a hitless restart).
 *
 * Syncing is not all-or-nothing: a rule the kernel refuses is counted and reported (status,
 * log) with the kernel's extack, the others stay; the next sync tries it again.
 *
 * Refusals. Before any rule is built, every used device of the plan's ct flowtables is probed
 * once (probe.h: test rules in a reserved chain, deleted again; a new plan retries the devices
 * whose probe did not wholly work). A flowtable gets no rules at all, with a reason in the
 * status ("refused_flowtables") and the log, when
 *  - a device's profile says switchdev = yes and its devices are not all ports of one eswitch
 *    ("eswitch: ..."), or
 *  - a device failed a feature the flowtable's rules need ("probe: act_ct nat refused on DEV:
 *    <the kernel's extack> (<errno text>)").
 * Rules that would fail are therefore not attempted. The probe results per device are in the
 * status too ("probes").
 * No global state.
 */
#ifndef NFT_TC_OFFLOAD_CTRT_H
#define NFT_TC_OFFLOAD_CTRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nft-tc-offload/config.h"
#include "nft-tc-offload/loop.h"
#include "nft-tc-offload/netstate.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/rule.h"

struct ctrt;

/* The daemon's logger: level as in config.h, printf-style message (no trailing newline). */
typedef void (*ctrt_log_fn)(void *ctx, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct ctrt_opts {
	struct ev_loop *loop;      /* the daemon's loop: the runtime adds its debounce timer */
	struct nlc_sock *rtnl;     /* dumps and tc batches go through this socket */
	struct netstate *netstate; /* snapshots for chain 1 */
	unsigned debounce_ms;      /* network changes are applied this long after the last one */
	ctrt_log_fn log;           /* may be NULL */
	void *log_ctx;
};

/* What one sync did. */
struct ctrt_sync_stats {
	size_t wanted, kept, changed, added, deleted, failed;
};

/*
 * Starts the runtime for the ct-strategy flowtables of plan (whose rules must carry our cookie:
 * install_mark_plan()); the plan must outlive the runtime or be replaced with ctrt_set_plan()
 * first. Runs the first sync over every device of the namespace (adoption). Returns 0 (also
 * when the kernel refused some rules: see the status), or a negative errno with the reason in
 * err when the runtime could not run at all.
 */
int ctrt_start(struct ctrt **out, const struct ctrt_opts *o, const struct plan *plan, char *err,
               size_t errlen);

/* A new plan: one sync now over the devices of the old and the new plan. 0 or -errno. */
int ctrt_set_plan(struct ctrt *rt, const struct plan *plan);

/* Network state changed: a sync after the debounce time (restarted by every call). */
void ctrt_netstate_changed(struct ctrt *rt);

/* A sync now. all_devices: look at every device of the namespace (a resync after an overrun).
 * 0 or -errno; st (may be NULL) gets what it did. */
int ctrt_sync(struct ctrt *rt, bool all_devices, struct ctrt_sync_stats *st);

/* Stops the runtime and frees it. remove_rules: delete every rule of ours it manages (static
 * rules, on every device of the namespace). Returns the number removed or -errno (NULL: 0). */
long ctrt_stop(struct ctrt *rt, bool remove_rules);

/* Control-socket views (new JSON objects, caller owns them). status: rules per device and
 * chain, syncs, refusals with the last error; devices: per ifindex, rules of ours installed. */
json_t *ctrt_status_json(const struct ctrt *rt);

/* Why the last sync gave a ct flowtable of the current plan no rules (the capability probe or
 * the one-eswitch check, see "Refusals" above), or NULL. */
const char *ctrt_flowtable_refusal(const struct ctrt *rt, const struct plan_flowtable *pf);

/* Rules of ours the last sync left installed on ifindex (chain 0 + chain 1). */
size_t ctrt_device_rules(const struct ctrt *rt, uint32_t ifindex);

/*
 * Why a connection (original direction, as a plan tuple) is or is not carried by the ct
 * strategy: the flowtable and `flow add` rule it falls under (or which exclusion keeps it in
 * software), the chain-0 device, and chain 1's forwarding (route, neighbour, egress) for both
 * directions. Writes lines to buf. Returns 1 when the ct strategy offloads it, 0 when not,
 * -ENOENT when no ct-strategy flowtable's device sees it (in_ifindex 0: any device).
 */
int ctrt_explain(struct ctrt *rt, const struct plan_tuple *t, uint32_t in_ifindex, char *buf,
                 size_t len);

/* Cookie helpers: whether a rule of ours (nto_cookie_is_ours) is a static one (rule id 0). */
bool ctrt_cookie_static(const struct tc_rule *r);

#endif /* NFT_TC_OFFLOAD_CTRT_H */
