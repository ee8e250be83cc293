/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ct runtime's internals: a growable rule array and the diff-apply helpers (sync.c). */
#ifndef NTO_CTRT_INTERNAL_H
#define NTO_CTRT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/netstate.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/probe.h"
#include "nft-tc-offload/rule.h"
#include "nft-tc-offload/tc.h"

int rulev_push(struct tc_rule_vec *v, const struct tc_rule *r);

/* Which dumped filters take part (ours, static). */
typedef bool (*sync_select_fn)(const struct tc_rule *r);

/* Appends the selected filters of each device (ingress and egress, every chain) to out. A device
 * that vanished is skipped. 0, or -errno with the reason in err. */
int sync_dump(struct nlc_sock *s, const uint32_t *ifindexes, size_t n, sync_select_fn select,
              struct tc_rule_vec *out, char *err, size_t errlen);

struct sync_apply_opts {
	tc_ifname_fn ifname; /* names devices in failure messages */
	void *ifname_ctx;
	void (*on_failure)(void *ctx, const char *msg); /* one call per refused request */
	void *ctx;
};

struct sync_result {
	size_t kept, changed, added, deleted, failed;
	struct tc_rule_vec
	    now; /* the rules of ours installed afterwards (kept + changed + added) */
};

/* Deletes, changes and adds what ctfwd_diff() says (in that order), with a clsact on every
 * device that gets a rule. Returns 0 or -ENOMEM; refusals are counted in out->failed. */
/* ctfwd_diff() of the same arguments, grouped first by place and match (sync.c): the same
 * result (rule order may differ) without comparing every rule with every other. */
struct ctfwd_diff;
int sync_diff(const struct tc_rule *installed, size_t n_installed, const struct tc_rule *wanted,
              size_t n_wanted, struct ctfwd_diff *out);

int sync_apply(struct nlc_sock *s, const struct tc_rule_vec *installed,
               const struct tc_rule_vec *wanted, const struct sync_apply_opts *o,
               struct sync_result *out);

/* explain.c: ctrt_explain() over a plan and a snapshot (pure). */
int ctrt_explain_plan(const struct plan *plan, const struct netstate_snapshot *s,
                      const struct plan_tuple *t, uint32_t in_ifindex, char *buf, size_t len);

/* Why the runtime gives a ct flowtable no rules (NULL: it does not refuse it). */
typedef const char *(*ctrt_refusal_fn)(void *ctx, const struct plan_flowtable *pf);

/* The same, with the runtime's own refusals (refusal may be NULL). */
int ctrt_explain_plan_refused(const struct plan *plan, const struct netstate_snapshot *s,
                              const struct plan_tuple *t, uint32_t in_ifindex,
                              ctrt_refusal_fn refusal, void *refusal_ctx, char *buf, size_t len);

/*
 * refuse.c (pure): whether the runtime refuses a ct flowtable of the plan, before building any
 * rule for it:
 *  1. mixed eswitch: when a used device's profile says switchdev = yes, every used device
 *     (present, with a profile) must be a port of one eswitch (netstate_same_eswitch());
 *  2. probe: every used device must have a probe (probes, n) in which each feature the
 *     flowtable's rules need worked: the chain-0 rules of the plan (probe_rule_needs()) and
 *     chain 1's (PROBE_CHAIN1_NEEDS).
 * Returns true with the reason in reason ("eswitch: ..." or "probe: ..."), else false.
 */
bool ctrt_refuse_flowtable(const struct plan_flowtable *pf, const struct netstate_snapshot *snap,
                           const struct probe_device *probes, size_t n, char *reason, size_t len);

/* The features a ct flowtable's rules need (chain 0 of the plan and chain 1). */
unsigned ctrt_flowtable_needs(const struct plan_flowtable *pf);

#endif
