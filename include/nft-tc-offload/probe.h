/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-device capability probe of the ct strategy (the idea of OVS's tc probes: ask the
 * kernel rather than guess from its version).
 *
 * For one device, probe_run() installs one small test rule per feature in a reserved place of
 * the device's clsact ingress: chain PROBE_CHAIN, prio PROBE_PRIO, protocol ip, handles 1..N.
 * Nothing ever jumps to PROBE_CHAIN (the planner uses chain 0 and chain 1 with prios from
 * 0x1000, ctfwd chain 1 from 0x1000 as well), so the test rules never see a packet. Each rule
 * is installed with an echo (nl.h), read back with a get and decoded (tc.h), compared with the
 * request, then deleted. The rules carry a cookie of ours with rule id 0 (owner
 * nto_cookie_owner("probe", "nto", "probe")), so a probe cut short by a crash leaves rules
 * that the ct runtime's next adoption sweep deletes like any orphan of ours.
 *
 * Features (one rule each, all `protocol ip flower ip_proto tcp dst_port 65520+F` plus, F the
 * feature's number: flower refuses two filters of one prio with the same key and mask):
 *   flower          action pass                                  (cls_flower, act_gact)
 *   ct_state_trk    ct_state +trk, action pass                   (and est/new/rpl/rel/inv:
 *   ct_state_est    ct_state +trk+est, action pass                each with +trk, which the
 *   ...                                                           kernel requires)
 *   ct_zone_match   ct_zone Z, action pass
 *   goto_chain      action goto chain PROBE_GOTO_CHAIN
 *   ct              action ct zone Z pipe, action pass           (act_ct, a non-zero zone)
 *   ct_nat          action ct zone Z nat pipe, action pass
 *   skip_sw         skip_sw, action pass                          (only when the profile
 *                                                                  says skip_sw = yes)
 * Z is 1 (clamped into the profile's ct_zones; 0 only when the profile allows zone 0 alone).
 *
 * What the results mean: a feature works when the kernel installed the rule, echoed it and a
 * get returned it equal to the request. Rules are installed without skip_sw (except the
 * skip_sw test), so a driver that does not take a rule in hardware does not fail it: in_hw
 * records what the kernel reported for the rule read back, for information only.
 *
 * The pure parts (which rules, which features a rule needs, the refusal reason) have unit
 * tests; probe_run() is tested in the lab (test/lab/tests/ct_probe.sh).
 */
#ifndef NFT_TC_OFFLOAD_PROBE_H
#define NFT_TC_OFFLOAD_PROBE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/rule.h"

/* The reserved place of the test rules. Chain indexes above 0x0fffffff are refused by the
 * kernel (TC_ACT_EXT_VAL_MASK); these are the last two below it. */
#define PROBE_CHAIN      0x0ffffff0u
#define PROBE_GOTO_CHAIN 0x0ffffff1u /* target of the goto test; never holds a rule */
#define PROBE_PRIO       0xfff0      /* tc pref 65520: far above the planner's 0x1000-0x1fff */

enum probe_feature {
	PROBE_FLOWER = 0,
	PROBE_CT_STATE_TRK,
	PROBE_CT_STATE_EST,
	PROBE_CT_STATE_NEW,
	PROBE_CT_STATE_RPL,
	PROBE_CT_STATE_REL,
	PROBE_CT_STATE_INV,
	PROBE_CT_ZONE_MATCH,
	PROBE_GOTO,
	PROBE_CT,
	PROBE_CT_NAT,
	PROBE_SKIP_SW,
	PROBE_FEATURE_COUNT
};

#define PROBE_BIT(f) (1u << (f))

/* "ct_nat": the key in status JSON. */
const char *probe_feature_key(enum probe_feature f);
/* "act_ct nat": the words of a refusal ("probe: act_ct nat refused on DEV: ..."). */
const char *probe_feature_label(enum probe_feature f);

/* The outcome of one feature's test rule. */
struct probe_result {
	bool tested;
	bool ok;
	int error;     /* 0, or the kernel's (or the transport's) negative errno */
	bool mismatch; /* installed, but the echo or the read-back differs from the request */
	bool in_hw;    /* what the kernel reported for the rule read back (information) */
	char extack[NLC_EXTACK_MSG_MAX]; /* the kernel's message, or ours for a mismatch */
};

/* One device's probe. */
struct probe_device {
	uint32_t ifindex;
	char name[IFNAMSIZ];
	char profile[PROFILE_NAME_MAX];
	uint16_t zone; /* the zone the ct tests used */
	int error;     /* the probe could not run at all (e.g. no clsact): -errno, msg says */
	char msg[NLC_EXTACK_MSG_MAX + 64];
	unsigned leftovers; /* test rules the final delete did not remove */
	struct probe_result r[PROBE_FEATURE_COUNT];
};

/* Which features probe_run() tests for a device of this profile (skip_sw only when the profile
 * installs with skip_sw). */
unsigned probe_features(const struct profile *p);

/* The zone the ct tests use for this profile (see above). */
uint16_t probe_zone(const struct profile *p);

/*
 * The test rule of feature f on ifindex (handle f + 1), with the probe's cookie. Returns 0,
 * or -EINVAL for an unknown feature.
 */
int probe_build_rule(enum probe_feature f, uint32_t ifindex, uint16_t zone, struct tc_rule *r);

/* The features a rule needs from the kernel (PROBE_BIT set): flower always, each ct_state flag
 * it matches on (set or cleared), ct_zone match, a goto verdict, act_ct, act_ct nat, skip_sw. */
unsigned probe_rule_needs(const struct tc_rule *r);

/* The features chain 1 (ctfwd) always needs: its rules match ct_state +trk+est. */
#define PROBE_CHAIN1_NEEDS                                                                         \
	(PROBE_BIT(PROBE_FLOWER) | PROBE_BIT(PROBE_CT_STATE_TRK) | PROBE_BIT(PROBE_CT_STATE_EST))

/*
 * Whether the device can take rules needing `needs`. Returns true, or false with the reason
 * of the first failing feature (in enum order: the most basic first), e.g.
 * "probe: act_ct nat refused on rt-cli: Failed to load TC action module (No such file or
 * directory)", or "probe: skip_sw not tested on DEV", or "probe: cannot probe DEV: ...".
 */
bool probe_check(const struct probe_device *d, unsigned needs, char *reason, size_t len);

/* True when every tested feature worked and the probe ran. */
bool probe_all_ok(const struct probe_device *d);

/*
 * Runs the probe on one device: a clsact (created when missing, as the runtime would), the
 * test rules of probe_features(p) installed with an echo, read back with a get, deleted.
 * Earlier leftovers at the reserved place are deleted first. Returns 0 when the probe ran
 * (whatever the kernel accepted: see out->r), or a negative errno when it could not run
 * (out->error, out->msg).
 */
int probe_run(struct nlc_sock *s, uint32_t ifindex, const char *ifname, const struct profile *p,
              struct probe_device *out);

/* {"ifindex", "name", "profile", "zone", "ok", "error", "leftovers", "features": {KEY: {"ok",
 * "error", "extack", "in_hw"}}}: a new object. */
json_t *probe_device_json(const struct probe_device *d);

#endif /* NFT_TC_OFFLOAD_PROBE_H */
