/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The planner: nft flowtable model + hardware profiles -> tc rules (ct strategy) or per-connection
 * templates and eligibility constraints (flow strategy). Pure: no kernel access, no global state.
 *
 * plan_build() accounts for every flowtable of every table: either it gets blocks of tc rules
 * (one block per `flow add` rule, with a comment naming the nft rule and what was narrowed or
 * refused), or a reason why nothing is offloaded. The safety rule throughout: what is offloaded
 * may be NARROWER than what the nft rule offloads, never broader.
 *
 * Devices are resolved through a callback (plan_resolve_fn), so a plan can be built for devices
 * that do not exist on this machine (translate gives pseudo ifindexes).
 *
 * Lifetime: a plan points into the ruleset it was built from (rules, matches, names): free the
 * plan before the ruleset. Everything else (comments, notes, rules) is owned by the plan.
 */
#ifndef NFT_TC_OFFLOAD_PLAN_H
#define NFT_TC_OFFLOAD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/rule.h"
#include "nft-tc-offload/tc.h"

#define PLAN_DEFAULT_PRIO_BASE  0x1000 /* our prio range in chain 0: [base, base + count) */
#define PLAN_DEFAULT_PRIO_COUNT 0x1000
#define PLAN_DEFAULT_MAX_RULES  256 /* chain-0 rules per device per `flow add` rule */
#define PLAN_CT_CHAIN_ENTRY     0   /* ct strategy: chain 0 sends connections through act_ct */
#define PLAN_CT_CHAIN_FORWARD   1   /* ... and on to chain 1 (forwarding, built at run time) */

/* What the resolver knows about one device. */
struct plan_device_info {
	uint32_t ifindex;                /* non-zero */
	bool present;                    /* the device exists here (translate: may be false) */
	char driver[PROFILE_DRIVER_MAX]; /* empty when unknown */
	bool has_pci_id;
	uint16_t pci_vendor, pci_device;
};

/* Resolves a device name: returns 0 and fills *info, or -ENODEV when there is no such device
 * (the plan then says so); any other negative errno is reported as a failure to resolve. */
typedef int (*plan_resolve_fn)(void *ctx, const char *ifname, struct plan_device_info *info);

struct plan_opts {
	const struct profile_set *profiles; /* required */
	const char *force_profile;          /* --profile NAME: this profile for every device */
	plan_resolve_fn resolve;            /* required */
	void *resolve_ctx;
	bool zone_set;      /* zone given explicitly (a `ct zone N` match of the rule still wins) */
	uint16_t zone;      /* act_ct zone (default 0) */
	bool ct_nat;        /* `action ct ... nat` restores the connection's NAT (default on) */
	uint8_t cookie_len; /* put on every action of every rule */
	uint8_t cookie[TC_COOKIE_MAX];
	uint16_t prio_base, prio_count;
	unsigned max_rules; /* cap per device per `flow add` rule */
	/* Port ranges become flower value/mask blocks (1000-1999: 1000/0xfff8, 1008/0xfff0, ...).
	 * Off by default: the tc layer (like tc(8)'s syntax) matches ports exactly, so ranges
	 * become one rule per port, within max_rules. */
	bool port_masks;
};

/* Defaults: zone 0, nat on, no cookie, PLAN_DEFAULT_* ranges; profiles and resolve unset. */
void plan_opts_init(struct plan_opts *o);

/* ---- match constraints (what a `flow add` rule or an exclusion selects) ---- */

#define PLAN_FAMILY_IPV4 (1u << 0)
#define PLAN_FAMILY_IPV6 (1u << 1)
#define PLAN_FAMILY_ALL  (PLAN_FAMILY_IPV4 | PLAN_FAMILY_IPV6)
#define PLAN_PROTO_TCP   (1u << 0)
#define PLAN_PROTO_UDP   (1u << 1)
#define PLAN_PROTO_ALL   (PLAN_PROTO_TCP | PLAN_PROTO_UDP)

/* An inclusive address range of one family, in network order. */
struct plan_addr_range {
	int family; /* AF_INET or AF_INET6 */
	union tc_addr lo, hi;
};

/* A set of addresses: any, or the union of n ranges (sorted by family then lo, disjoint). */
struct plan_addr_set {
	bool any;
	size_t n;
	struct plan_addr_range *v;
};

struct plan_port_range {
	uint16_t lo, hi; /* inclusive, host order */
};

struct plan_port_set {
	bool any;
	size_t n;
	struct plan_port_range *v; /* sorted, disjoint */
};

/*
 * What a rule selects, in the original direction of a connection. Sets are intersections of
 * the rule's matches. Interface and chain-1 constraints are kept as the rule's own matches
 * (pointers into the ruleset): every one of them must hold (negate included).
 */
struct plan_spec {
	unsigned families; /* PLAN_FAMILY_* */
	unsigned protos;   /* PLAN_PROTO_* */
	bool l4_given;     /* the rule names a protocol or a port (else: any protocol) */
	struct plan_addr_set saddr, daddr;
	struct plan_port_set sport, dport;
	const struct nft_match **iif; /* iifname / iif */
	size_t n_iif;
	const struct nft_match **oif; /* oifname / oif: checked at egress (chain 1 / flow engine) */
	size_t n_oif;
	const struct nft_match **ct_mark; /* checked after act_ct (chain 1 / flow engine) */
	size_t n_ct_mark;
};

/* Whether an interface name satisfies every iif (or oif) match of a spec. */
bool plan_spec_iif_ok(const struct plan_spec *s, const char *ifname);
bool plan_spec_oif_ok(const struct plan_spec *s, const char *ifname);

/* One connection direction, for the flow engine's checks. Addresses in network order. */
struct plan_tuple {
	int family;    /* AF_INET / AF_INET6 */
	uint8_t proto; /* IPPROTO_TCP / IPPROTO_UDP */
	union tc_addr saddr, daddr;
	uint16_t sport, dport; /* host order */
};

/* Whether the tuple satisfies the spec's family, protocol, address and port sets (interface,
 * ct mark constraints are checked apart). */
bool plan_spec_match_tuple(const struct plan_spec *s, const struct plan_tuple *t);

/* An operator's question about connections (`explain SADDR DADDR [PROTO [SPORT DPORT]]`):
 * the addresses always, the protocol and the ports when given. */
struct plan_query {
	struct plan_tuple t; /* proto 0: any protocol; ports meaningful only with has_ports */
	bool has_ports;
};

/* Whether one direction of a connection is what the query asks about (the query's source is
 * the direction's source). */
bool plan_query_match(const struct plan_query *q, const struct plan_tuple *dir);

/* Formats the query as it is written on the command line ("10.0.1.2 10.0.2.2 tcp 1 2"). */
void plan_query_format(const struct plan_query *q, char *buf, size_t len);

/* An earlier terminal rule (or a negated match of the flow rule) whose packets stay in the stack.
 */
struct plan_exclusion {
	const struct nft_rule *rule; /* the nft rule it comes from (the flow rule for negations) */
	bool mirrored;               /* reply direction: saddr<->daddr, sport<->dport */
	bool from_negation;          /* from a negated match of the flow rule */
	bool covers_all;        /* selects every packet the flow rule selects (on its devices) */
	struct plan_spec match; /* already restricted to the flow rule's families/protocols */
};

/* Eligibility of a connection for one `flow add` rule: it matches `match` (original direction)
 * and no exclusion matches it (exclusions include the mirrored ones for the reply direction). */
struct plan_eligibility {
	struct plan_spec match;
	struct plan_exclusion *exclusions;
	size_t n_exclusions;
	uint16_t zone;
};

/* ---- the plan ---- */

struct plan_device {
	char *name;
	uint32_t ifindex;
	bool present;
	const struct profile *profile; /* NULL when the device is not used */
	char *reason;                  /* why the device is not used (NULL when used) */
};

/* A group of rules with a comment (lines separated by '\n', without '#'). */
struct plan_block {
	char *comment;
	struct tc_rule *rules; /* ordered by device, then prio */
	size_t n_rules;
	char **template_lines; /* flow strategy: per-connection rule templates (tc -batch text) */
	size_t n_template_lines;
};

/* One `flow add` rule of a flowtable and what became of it. */
struct plan_offload {
	const struct nft_offload_rule *src;
	bool refused;                 /* nothing offloaded for it; reason in the block comment */
	char *reason;                 /* with refused */
	struct plan_eligibility elig; /* valid when not refused */
};

struct plan_flowtable {
	const struct nft_table *table;
	const struct nft_flowtable *flowtable;
	enum profile_strategy strategy; /* NONE when nothing is offloaded */
	struct plan_device *devices;    /* every device of the flowtable, sorted by name */
	size_t n_devices;
	struct plan_offload *offloads;
	size_t n_offloads;
	struct plan_block *blocks;
	size_t n_blocks;
	char **notes;
	size_t n_notes;
	char *reason; /* non-NULL when nothing is offloaded */
};

struct plan {
	struct plan_flowtable *flowtables; /* sorted by table (family, name), flowtable name */
	size_t n_flowtables;
};

/*
 * Builds the plan. Returns 0 and sets *out, or a negative errno (-ENOMEM, -EINVAL for missing
 * options) with a message in err. A flowtable that cannot be offloaded is not an error.
 */
int plan_build(const struct nft_ruleset *rs, const struct plan_opts *opts, struct plan **out,
               char *err, size_t errlen);
void plan_free(struct plan *p);

/* A tc_ifname_fn over the plan's devices (ctx = the plan): pseudo ifindexes back to names. */
const char *plan_ifname(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ]);

/*
 * Renders the plan as `tc -batch` text with '#' comments, or as JSON. Both return a malloc'ed
 * NUL-terminated string (NULL on allocation failure or a rule tc_print refuses, -errno in *rc
 * when rc is not NULL).
 */
char *plan_render_text(const struct plan *p, int *rc);
char *plan_render_json(const struct plan *p, int *rc);

#endif /* NFT_TC_OFFLOAD_PLAN_H */
