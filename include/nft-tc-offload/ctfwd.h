/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ct strategy's forwarding chain (chain 1 of clsact ingress on every flowtable device),
 * built from a netstate snapshot. Pure: no kernel access, no global state.
 *
 * Chain 0 (plan.h) sends a flowtable device's TCP/UDP through act_ct and on to chain 1. For an
 * ingress device D, chain 1 holds, per family x ip_proto (tcp, udp):
 *
 *   dst_ip <prefix> ct_state +trk+est ct_zone Z
 *     action pedit ex munge eth src set <E mac> munge eth dst set <nexthop mac>
 *                     munge ip ttl add 0xff            (IPv6: munge ip6 hoplimit add 0xff)
 *     pipe action csum ip4h pipe                        (IPv4 only)
 *     action mirred egress redirect dev E
 *
 * for each destination routed (main table, unicast) out of another flowtable device E:
 *  - a directly connected route: one /32 (/128) rule per VALID neighbour on it;
 *  - a route via a gateway: one rule for the route's prefix with the gateway's VALID MAC.
 * Without a VALID neighbour there is no rule (the packet goes to the stack, which resolves
 * the neighbour); the reason is recorded in the notes. `+trk+new` needs no rule: a packet
 * that matches no chain-1 rule continues to the stack (tc returns TC_ACT_UNSPEC), so new
 * connections meet the nft forward chain.
 *
 * Protocol split: one rule per family x ip_proto (tcp, udp), as in chain 0, rather than one
 * rule without ip_proto: mlx5 refuses IP header rewrites (the TTL decrement) on rules that do
 * not match TCP or UDP (commit bdd66ac0aeed "net/mlx5e: Disallow TC offloading of unsupported
 * match/action combinations"); the kernel and the shipped profiles take either form.
 * csum: `ip4h` only. The TTL is covered by the IPv4 header checksum alone (TCP/UDP checksums
 * do not include it) and act_ct's NAT in chain 0 fixes the L4 checksums itself; IPv6 has no
 * header checksum, so IPv6 rules have no csum action.
 *
 * Ordering: one prio per (family, prefix length), longest first, so a /32 neighbour rule wins
 * over a covering gatewayed prefix; rules of one prefix length share the prio (their masks are
 * equal and their keys disjoint, so flower keeps them in one hash table, and a neighbour
 * change touches one rule only). Prio offsets from the base (CTFWD_PRIO_SPAN in all):
 *   0 / 1           IPv4 / IPv6 TTL guard: `ip_ttl 0/0xfe action pass` (TTL <= 1 goes to the
 *                   stack for its ICMP time exceeded, as in the kernel's flowtable)
 *   2 + (32 - len)  IPv4 prefixes (2 .. 34)
 *   35 + (128 - len) IPv6 prefixes (35 .. 163)
 *
 * Safety: a broader rule must never catch traffic of a more specific route that is not
 * forwarded by a rule of its own (a route out of a non-flowtable device, back out of D, a
 * blackhole, a host's own address in the local table, a connected subnet whose neighbours
 * are not all valid, ...). Such routes get `action pass` rules at their own prefix length
 * whenever a broader forwarding rule covers them, and a refused forwarding rule becomes a
 * pass rule as well.
 *
 * Egress devices must be Ethernet, up and running, and have an MTU at least the ingress
 * device's (else packets that need fragmentation or an ICMP "fragmentation needed" would be
 * dropped at the egress instead of reaching the stack). IPv6 link-local and multicast
 * destinations are never forwarded.
 *
 * L2 (bridged) forwarding: when D is a port of a Linux bridge (its master is named by FDB
 * entries: only a bridge has them), chain 1 also holds, per family x ip_proto, one rule per entry
 * of that bridge's FDB whose port E is another flowtable device:
 *
 *   dst_mac <mac> ct_state +trk+est ct_zone Z action mirred egress redirect dev E
 *
 * exactly what the bridge would do with the frame (no MAC rewrite, no TTL decrement). Left
 * out: the bridge's local (permanent) entries and entries on the bridge device itself (those
 * frames are for this host), multicast MACs, entries on D (hairpin), entries with a VLAN id
 * (vlan_filtering bridges: the tag/PVID handling is not modelled; noted), and ports that fail
 * the egress checks above. They sit at two prios below the TTL guards (ctfwd_l2_prio():
 * base - 2 for IPv4, base - 1 for IPv6), so they come first: a frame addressed to another
 * host's MAC is bridged, never routed by this host, so no L3 rule may take it, and a bridge
 * does not look at the TTL. The rules follow the FDB (a MAC that moves to another port
 * moves its rules; an entry that ages out or is deleted removes them). Packets redirected
 * in tc bypass the bridge, which therefore stops refreshing (learning) their source MACs:
 * entries age out after the bridge's ageing_time, the rules go, the next packets reach the
 * bridge and re-learn, and the rules come back. Whether a bridged connection ever reaches
 * +trk+est depends on conntrack seeing bridged traffic (docs/hardware.md, "L2 bridging").
 */
#ifndef NFT_TC_OFFLOAD_CTFWD_H
#define NFT_TC_OFFLOAD_CTFWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/netstate.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/rule.h"

#define CTFWD_CHAIN             PLAN_CT_CHAIN_FORWARD
#define CTFWD_DEFAULT_PRIO_BASE 0x1000
#define CTFWD_PRIO_SPAN         164 /* prios used from the base */
#define CTFWD_L2_PRIOS          2   /* prios used below the base (L2 rules) */

/* The prio of a (family, prefix length) band, of a family's TTL guard, and of a family's L2
 * (bridge FDB) rules. */
uint16_t ctfwd_prio(uint16_t base, int family, unsigned prefix_len);
uint16_t ctfwd_guard_prio(uint16_t base, int family);
uint16_t ctfwd_l2_prio(uint16_t base, int family);

/* One device of the flowtable. Every device is an egress candidate; devices with ingress set
 * get chain-1 rules. */
struct ctfwd_device {
	uint32_t ifindex;
	bool ingress; /* chain 0 sends connections to chain 1 here */
	/* ingress only: */
	const struct profile *profile; /* refused rules are left out; NULL = no check */
	unsigned families;             /* PLAN_FAMILY_* chain 0 sends here; 0 = both */
	unsigned protos;               /* PLAN_PROTO_* chain 0 sends here; 0 = both */
	/* Egress restriction (the "oif hook"): the specs of the `flow add` rules whose chain-0
	 * rules sit on this device. An egress device gets rules only when its name satisfies
	 * the oifname/oif matches of EVERY one of them (chain 1 cannot tell which chain-0 rule
	 * sent a packet, so the intersection is the safe, narrower choice). */
	const struct plan_spec *const *oif_specs;
	size_t n_oif_specs;
};

struct ctfwd_input {
	const struct netstate_snapshot *snap;
	const struct ctfwd_device *devices;
	size_t n_devices;
	uint16_t zone;      /* matched as ct_zone: chain 0's act_ct zone */
	uint16_t prio_base; /* 0 = CTFWD_DEFAULT_PRIO_BASE; at least CTFWD_L2_PRIOS + 1 */
	bool no_ttl_guard;  /* leave out the TTL <= 1 guard rules */
	uint8_t cookie_len; /* put on every action of every rule */
	uint8_t cookie[TC_COOKIE_MAX];
};

struct ctfwd_result {
	struct tc_rule *rules; /* by ingress device (input order), then prio, then match */
	size_t n_rules;
	char **notes; /* one line each: what got no rule and why */
	size_t n_notes;
};

/* Builds chain 1 for every ingress device. 0, or -ENOMEM / -EINVAL (reason in the notes). */
int ctfwd_build(const struct ctfwd_input *in, struct ctfwd_result *out);
void ctfwd_result_free(struct ctfwd_result *r);

/*
 * Fills devs (n_devs = the flowtable's device count, caller-allocated) from a plan's
 * flowtable: every present device with its ifindex; those with chain-0 rules become ingress
 * devices with their profile, the families/protocols of their `flow add` rules and those
 * rules' specs as oif restrictions. oif_specs arrays are malloc'ed: free them with
 * ctfwd_devices_free(). 0 or -ENOMEM.
 */
int ctfwd_devices_from_plan(const struct plan_flowtable *pf, struct ctfwd_device *devs,
                            size_t *n_devs);
void ctfwd_devices_free(struct ctfwd_device *devs, size_t n);

/* Whether an installed rule is one of ours: chain 1, clsact ingress, our cookie. */
bool ctfwd_owns(const struct tc_rule *r, const uint8_t *cookie, uint8_t cookie_len);

/*
 * What to do to go from the installed chain-1 rules (as dumped: with their handles) to the
 * wanted ones (handles 0): rules equal but for the handle are kept; a wanted rule with the
 * same place and match as an installed one but other actions replaces it in place (change:
 * the wanted content with the installed handle, e.g. a neighbour's new MAC); the rest is
 * deleted or added. Apply in this order: delete, change, add (flower refuses a second filter
 * with the same key in one prio). Arrays are malloc'ed copies.
 */
struct ctfwd_diff {
	struct tc_rule *del;
	size_t n_del;
	struct tc_rule *change;
	size_t n_change;
	struct tc_rule *add;
	size_t n_add;
	struct tc_rule *keep; /* the installed rules that stay */
	size_t n_keep;
};

int ctfwd_diff(const struct tc_rule *installed, size_t n_installed, const struct tc_rule *wanted,
               size_t n_wanted, struct ctfwd_diff *out);
void ctfwd_diff_free(struct ctfwd_diff *d);

#endif /* NFT_TC_OFFLOAD_CTFWD_H */
