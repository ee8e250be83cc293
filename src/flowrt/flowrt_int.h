/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow runtime's insides, shared by its files and its unit tests (test/unit/flowrt):
 *
 *   path.c    the path resolver: a netstate snapshot and a flowtable's devices -> struct
 *             flow_path of one direction (pure)
 *   policy.c  admission (min packets / bytes, capacity, prefer tcp), timeouts from sysctl
 *   core.c    the runtime without sockets: one conntrack engine per flow-strategy flowtable,
 *             the pending operations (coalesced into one delete batch and one install batch
 *             per flush), stats polls, re-resolution, resync sweeps, the JSON views, explain.
 *             Kernel access goes through struct fr_backend, so tests plug in fakes.
 *   flowrt.c  flowrt.h: the real backend (nl.h, conntrack.h edges), the event socket and the
 *             timers on the daemon's loop.
 */
#ifndef NTO_FLOWRT_INT_H
#define NTO_FLOWRT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/config.h"
#include "nft-tc-offload/conntrack.h"
#include "nft-tc-offload/flowrt.h"
#include "nft-tc-offload/netstate.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/plan.h"

struct fr_core;

/* ---- path resolution (path.c) ----------------------------------------------------------- */

struct fr_path_opts {
	const struct netstate_snapshot *snap;
	const struct plan_flowtable *pf; /* ingress devices must be devices of it (by name) */
	bool hw_only; /* the profile installs skip_sw: VLAN devices are refused (the rule would
	               * need the lower device with VLAN match/pop/push, see path.c) */
};

/* A ct_path_fn over fr_path_opts (ctx). */
int fr_path_resolve(void *ctx, int family, const union tc_addr *src, const union tc_addr *dst,
                    struct flow_path *out, char *why, size_t len);

/* ---- backend ------------------------------------------------------------------------------ */

/* The kernel, as the core sees it. tc calls return the number of failed rules (res per rule,
 * as nl.h's batches); conntrack calls 0 or a negative errno. dump() runs a conntrack dump
 * that calls fr_dump_entry() per entry. */
struct fr_backend {
	int (*clsact)(void *ctx, uint32_t ifindex, char *why, size_t len);
	int (*replace)(void *ctx, const struct tc_rule *rules, size_t n, struct nlc_tc_result *res);
	int (*del)(void *ctx, const struct tc_rule *rules, size_t n, struct nlc_tc_result *res);
	int (*get)(void *ctx, const struct tc_id *ids, size_t n, struct nlc_tc_result *res);
	int (*refresh)(void *ctx, const struct ct_key *k, uint32_t timeout_s);
	int (*liberal)(void *ctx, const struct ct_key *k);
	int (*dump)(void *ctx, struct fr_core *rt);
	void *ctx;
};

/* What the core needs besides the backend. */
struct fr_params {
	const struct plan *plan;
	const struct config *cfg;
	struct fr_backend be;
	flowrt_log_fn log;
	void *log_ctx;
	bool acct;              /* conntrack accounting is on (min_packets / min_bytes usable) */
	uint32_t tcp_timeout_s; /* 0 = the engine's default */
	uint32_t udp_timeout_s;
	uint32_t idle_s; /* 0 = the engine's default */
};

int fr_create(struct fr_core **out, const struct fr_params *p, char *err, size_t errlen);
void fr_destroy(struct fr_core *rt);

/* The network state the paths are resolved from (the core takes ownership of *snap's arrays
 * and zeroes it). True when it forwards differently from the one before (or is the first):
 * netstate_snapshot_fwd_equal. */
bool fr_set_snapshot(struct fr_core *rt, struct netstate_snapshot *snap);

/* One conntrack event. */
void fr_event(struct fr_core *rt, const struct ct_event *ev, uint32_t now_s);

/* A dump: fr_dump_begin, fr_dump_entry per entry, fr_dump_end (connections not seen are
 * treated as destroyed: their DESTROY events may have been lost). fr_dump_entry flushes the
 * pending list when it holds FR_PENDING_CAP operations; the backend's liberal() is not called
 * between fr_dump_begin and fr_dump_end (the updates are applied by fr_dump_end), so the
 * backend may run it on the handle that reads the dump. */
void fr_dump_begin(struct fr_core *rt);
void fr_dump_entry(struct fr_core *rt, const struct ct_event *ev);
void fr_dump_end(struct fr_core *rt, bool complete, uint32_t now_s);

/*
 * Adoption at start (after a restart): fr_adopt_begin, fr_adopt_rule for every filter a terse
 * tc dump of the flowtables' devices finds (rules of ours whose cookie owner is a flow-strategy
 * flowtable of the plan are indexed, 32 bytes each; fr_adopt_reset forgets a device hook's when
 * its dump restarts), fr_adopt_index (sorts; new handles start above the installed ones), then
 * a conntrack dump (fr_resync): a connection whose planned rules equal installed rules of its
 * conntrack id (same owner, device, chain, prio, protocol; the same check of the contents in
 * the cookie, see rule_check in core.c) adopts them without a netlink write; otherwise its
 * rules replace installed ones of that connection
 * in place, or are new. fr_adopt_end deletes every indexed rule no connection claimed
 * (orphans, duplicates, what a changed plan refuses) and returns the number gone; then
 * fr_flush sends the replaces and installs still pending. Installs flushed during the dump
 * that flower refuses with EEXIST (an orphan with the same key: the connection's tuple reused
 * under a new conntrack id) are held and queued again by fr_adopt_end after its deletes
 * (fr_adopt_stats retried). fr_adopt_abort drops the index (dump failed).
 */
struct fr_adopt_stats {
	uint64_t found, adopted, replaced, deleted, delete_errors; /* rules */
	uint64_t retried; /* installs flower refused (EEXIST: an orphan's key) sent again after
	                   * the deletes */
	bool done;
	uint64_t reconcile_ms; /* flowrt_start: tc dump to the last install acknowledged */
};
void fr_adopt_begin(struct fr_core *rt);
int fr_adopt_rule(struct fr_core *rt, const struct tc_brief *b);
void fr_adopt_reset(struct fr_core *rt, uint32_t ifindex, enum tc_hook hook);
void fr_adopt_index(struct fr_core *rt);
size_t fr_adopt_end(struct fr_core *rt);
void fr_adopt_abort(struct fr_core *rt);
void fr_set_startup_reconcile_ms(struct fr_core *rt, uint64_t ms);
/* The same for a re-plan's adoption (status: replans, last_replan_reconcile). */
void fr_set_replan_reconcile_ms(struct fr_core *rt, uint64_t ms);
const struct fr_adopt_stats *fr_adopt_stats(const struct fr_core *rt);

/* Runs a dump through the backend (begin/entries/end). */
int fr_resync(struct fr_core *rt, uint32_t now_s);
/* The same dump without the sweep: what fr_poll asks for (candidates waiting for counters or
 * room, flows whose rules idled out). No event was lost, and a conntrack dump is no consistent
 * snapshot: under churn it can miss entries, which a sweep would take for destroyed (seen in
 * lab.resources at 10,000 connections: 752 swept, their rules deleted and put back). */
int fr_recheck(struct fr_core *rt, uint32_t now_s);

/*
 * The most operations the pending list holds before a pass that emits one per connection (a
 * dump, its sweep, a poll's idle deletes, a re-resolution, fr_remove_all) flushes it (the list
 * can exceed it by what one engine call emits: two per flowtable). An operation is ~10 KB (two
 * struct tc_rule) and a flush copies the rules once more, so 256 is ~5 MB at most, at any
 * connection count (1024 would be ~20 MB, a sixth of a 128 MB router); a batch of 512 rules
 * still keeps the netlink window full, so larger batches would not send faster.
 */
#define FR_PENDING_CAP 256

/* Sends what is pending: one delete batch, one install batch (and the deletes of installs
 * that failed). Returns the number of tc requests sent. */
size_t fr_flush(struct fr_core *rt);
size_t fr_pending(const struct fr_core *rt);

/* One stats poll: gets every offloaded rule's stats, refreshes conntrack timeouts of active
 * flows, deletes idle ones (then flushes). Tries capacity-refused flows again when there is
 * room. Returns true when a conntrack dump is wanted (flows waiting for the packet policy). */
bool fr_poll(struct fr_core *rt, uint32_t now_s);

/* Re-resolves the flows refused for their path or by the kernel against the current snapshot,
 * and every offloaded flow too when fwd_changed (what fr_set_snapshot returned): neighbours
 * going from REACHABLE to STALE and back, or a resync that found nothing new, cost nothing
 * per connection. */
void fr_reresolve(struct fr_core *rt, uint32_t now_s, bool fwd_changed);

/* Every rule of ours installed now gets deleted (stop with remove). */
void fr_remove_all(struct fr_core *rt);

/* Counters of the runtime itself (status JSON). */
struct fr_counters {
	uint64_t events, dumps, dump_entries, swept, enobufs, resyncs;
	uint64_t batches, rules_sent, install_errors, delete_errors, get_errors;
	uint64_t refresh_ok, refresh_errors, refresh_offload, liberal_ok, liberal_errors;
	uint64_t coalesced; /* install + delete pairs that never reached the kernel */
	uint64_t carried_packets, carried_bytes; /* by our rules, from polls and final reads */
	uint64_t enospc, reresolves, path_changes, polls;
	uint64_t netstate_unchanged; /* re-resolutions skipped: the network forwarded alike */
	uint64_t pending_max;        /* the pending list's high-water mark (operations) */
	uint64_t liberal_deferred;   /* be_liberal updates that waited for the end of a dump */
};
const struct fr_counters *fr_counters(const struct fr_core *rt);

/* The loop-side bits that status reports (set by flowrt.c). */
struct fr_sock_info {
	size_t ct_rcvbuf;
	bool acct_enabled_by_us;
	const char *acct_note;    /* NULL or why min_packets / min_bytes are not applied */
	const char *timeout_note; /* NULL or why connections may die under the kernel flowtable */
};
void fr_set_sock_info(struct fr_core *rt, const struct fr_sock_info *si);
struct fr_counters *fr_counters_mut(struct fr_core *rt);

/* Number of flow-strategy flowtables served, and the engine of one (tests). */
size_t fr_n_flowtables(const struct fr_core *rt);
struct ct_engine *fr_engine(struct fr_core *rt, size_t i);

/* The smallest stats interval among the profiles (or the config's). */
unsigned fr_stats_interval_ms(const struct fr_core *rt);

/* flowrt.h's views over the core. */
json_t *fr_status_json(const struct fr_core *rt);
json_t *fr_flows_json(const struct fr_core *rt);
int fr_explain(const struct fr_core *rt, const struct plan_query *q, char *buf, size_t len);

/* Replaces the plan and keeps the installed rules: pending installs are dropped, pending
 * deletes sent, the engines rebuilt empty. The caller adopts the rules as after a restart
 * (fr_adopt_begin .. fr_resync .. fr_adopt_end). */
int fr_set_plan_keep(struct fr_core *rt, const struct plan *plan, char *err, size_t errlen);
/* The plan in use. */
const struct plan *fr_plan(const struct fr_core *rt);

#endif
