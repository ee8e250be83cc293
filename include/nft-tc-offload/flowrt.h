/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow strategy at run time: the daemon's glue between conntrack, the engine
 * (conntrack.h), the network state (netstate.h) and the netlink core (nl.h).
 *
 * One flowrt serves every flow-strategy flowtable of a plan. It owns a conntrack event socket
 * (NEW/UPDATE/DESTROY, registered on the daemon's loop), does a full conntrack dump at start and
 * after overruns, resolves both directions of each eligible connection through a netstate
 * snapshot, installs and deletes the two rules per connection through pipelined tc batches,
 * polls rule stats on a timer to refresh conntrack timeouts and retire idle flows, and re-resolves
 * paths when links, routes or neighbours change. Everything it installs carries our cookie
 * (install.h) with the conntrack id as rule id, so a restarted daemon can adopt or remove it.
 * No global state.
 */
#ifndef NFT_TC_OFFLOAD_FLOWRT_H
#define NFT_TC_OFFLOAD_FLOWRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nft-tc-offload/config.h"
#include "nft-tc-offload/loop.h"
#include "nft-tc-offload/netstate.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/plan.h"

struct flowrt;

/* The daemon's logger: level as in config.h, printf-style message (no trailing newline). */
typedef void (*flowrt_log_fn)(void *ctx, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct flowrt_opts {
	struct ev_loop *loop;      /* the daemon's loop: the runtime adds its fds and timers */
	struct nlc_sock *rtnl;     /* tc batches go through this socket */
	struct netstate *netstate; /* links, routes, neighbours (path resolution) */
	const struct config *cfg;  /* [flow] policies, stats interval */
	flowrt_log_fn log;
	void *log_ctx;
};

/*
 * Starts the runtime for the flow-strategy flowtables of plan (the plan must outlive the
 * runtime or be replaced with flowrt_set_plan first). Opens the conntrack event socket, dumps
 * the conntrack table and offloads what is eligible. Returns 0, or a negative errno with the
 * reason in err.
 */
int flowrt_start(struct flowrt **out, const struct flowrt_opts *o, const struct plan *plan,
                 char *err, size_t errlen);

/* A new plan (reload): re-checks every tracked connection; rules of connections no longer
 * eligible are deleted, newly eligible ones installed. */
int flowrt_set_plan(struct flowrt *rt, const struct plan *plan);

/* The daemon calls this from its netstate change callback (or after a resync): paths are
 * re-resolved and rules whose path changed are replaced; rules of vanished devices removed. */
void flowrt_netstate_changed(struct flowrt *rt);

/* Stops the runtime. remove_rules: delete every rule it installed (else leave them, for a
 * hitless restart). */
void flowrt_stop(struct flowrt *rt, bool remove_rules);

/* Control-socket views (new JSON objects, caller owns them):
 * status: counts (tracked, offloaded, in software, refused by reason), capacity use,
 *         overruns, conntrack/netlink errors;
 * flows:  one object per tracked connection: tuples, state, rules' handles and stats. */
json_t *flowrt_status_json(const struct flowrt *rt);
json_t *flowrt_flows_json(const struct flowrt *rt);

/*
 * Why tracked connections are (not) offloaded: every connection whose original or reply
 * direction the query selects (`explain SADDR DADDR [PROTO [SPORT DPORT]]`). Writes one or
 * more lines to buf; returns 0 when at least one of them is offloaded, 1 when connections match
 * but none is offloaded, or -ENOENT when no tracked connection matches.
 */
int flowrt_explain(const struct flowrt *rt, const struct plan_query *q, char *buf, size_t len);

#endif
