/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nftables front end: reads an `nft -f` style ruleset (text) into a flowtable model.
 *
 * What the model keeps, per table (family + name):
 *  - flowtables: hook, resolved priority, devices (variables and nested sets expanded, sorted,
 *    unique), flags offload / counter;
 *  - every chain with its rules in order, each rule as parsed matches + verdict (+ the flowtable
 *    of a `flow add|offload @NAME` statement);
 *  - offload rules: every rule with `flow add|offload @NAME` in a `type filter hook forward` base
 *    chain, with the earlier rules of that chain that carry a verdict ("exclusions": packets
 *    they end never reach the offload rule).
 *
 * Matches the planner can express are parsed into values (enum nft_match_key); anything else
 * before the flow statement is kept as NFT_MATCH_UNSUPPORTED with its source text and a reason,
 * never dropped. A rule whose matches are all known has `complete` set.
 *
 * Conventions: numbers in host order; addresses in network order; every string and array is
 * owned by the ruleset and freed by nft_ruleset_free(); pointers between model parts (offload
 * rule -> chain, rule, exclusions; locations -> file names) stay valid until then. Nothing in
 * this module keeps global state.
 */
#ifndef NFT_TC_OFFLOAD_NFT_H
#define NFT_TC_OFFLOAD_NFT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NFT_MAX_INCLUDE_DEPTH 16 /* nested include files */
#define NFT_MAX_NEST_DEPTH    32 /* nested braces / sets */
#define NFT_MAX_INPUT_SIZE    (16u << 20)

/* A position in the ruleset source: file (display name), 1-based line and column (bytes). */
struct nft_loc {
	const char *file; /* owned by the ruleset (or the error); NULL when unknown (kernel) */
	unsigned int line;
	unsigned int col;
};

enum nft_family {
	NFT_FAMILY_IP = 0,
	NFT_FAMILY_IP6,
	NFT_FAMILY_INET,
	NFT_FAMILY_ARP,
	NFT_FAMILY_BRIDGE,
	NFT_FAMILY_NETDEV,
};

struct nft_flowtable {
	char *name;
	char *hook;     /* always "ingress" (anything else is a parse error) */
	int priority;   /* resolved: `filter + 10` -> 10 (flowtables only accept `filter`) */
	char **devices; /* sorted, unique */
	size_t n_devices;
	bool offload; /* flags offload */
	bool counter;
	struct nft_loc loc; /* the name in the (first) declaration */
};

enum nft_match_key {
	NFT_MATCH_UNSUPPORTED = 0, /* see text and reason */
	NFT_MATCH_L4PROTO,         /* meta l4proto: values are protocol numbers */
	NFT_MATCH_IP_PROTOCOL,     /* ip protocol: implies IPv4 */
	NFT_MATCH_IP6_NEXTHDR,     /* ip6 nexthdr: implies IPv6 */
	NFT_MATCH_NFPROTO,         /* meta nfproto: values NFPROTO_IPV4 (2) / NFPROTO_IPV6 (10) */
	NFT_MATCH_META_PROTOCOL,   /* meta protocol: ethertype values (0x0800, 0x86dd, ...) */
	NFT_MATCH_IP_SADDR,        /* IPv4 values */
	NFT_MATCH_IP_DADDR,
	NFT_MATCH_IP6_SADDR, /* IPv6 values */
	NFT_MATCH_IP6_DADDR,
	NFT_MATCH_IIFNAME, /* name values; a trailing '*' is a prefix wildcard */
	NFT_MATCH_OIFNAME,
	NFT_MATCH_IIF, /* iif/oif: by name (the kernel resolves it to an index at load time) */
	NFT_MATCH_OIF,
	NFT_MATCH_TCP_SPORT, /* port values / ranges; tcp/udp imply the l4 protocol */
	NFT_MATCH_TCP_DPORT,
	NFT_MATCH_UDP_SPORT,
	NFT_MATCH_UDP_DPORT,
	NFT_MATCH_TH_SPORT, /* th: any transport header with ports */
	NFT_MATCH_TH_DPORT,
	NFT_MATCH_CT_STATE, /* values are NFT_CT_STATE_* bits; the match is "any of them" */
	NFT_MATCH_CT_ZONE,
	NFT_MATCH_META_MARK, /* (mark & mask) == value; mask ~0 when none given */
	NFT_MATCH_CT_MARK,
	NFT_MATCH_KEY_MAX,
};

/* ct state bits, as the kernel's NF_CT_STATE_* values. */
enum nft_ct_state_bits {
	NFT_CT_STATE_INVALID = 1 << 0,
	NFT_CT_STATE_ESTABLISHED = 1 << 1,
	NFT_CT_STATE_RELATED = 1 << 2,
	NFT_CT_STATE_NEW = 1 << 3,
	NFT_CT_STATE_UNTRACKED = 1 << 6,
};

enum nft_value_type {
	NFT_VALUE_NUM = 0, /* num */
	NFT_VALUE_RANGE,   /* num .. num_hi, inclusive */
	NFT_VALUE_IPV4,    /* addr.v4 / prefix_len, or addr.v4 .. addr_hi.v4 when addr_range */
	NFT_VALUE_IPV6,
	NFT_VALUE_NAME, /* name (interface names) */
};

union nft_addr {
	struct in_addr v4;
	struct in6_addr v6;
};

struct nft_value {
	enum nft_value_type type;
	uint64_t num;
	uint64_t num_hi;
	union nft_addr addr;
	union nft_addr addr_hi;
	unsigned int prefix_len; /* 32 / 128 for a single address */
	bool addr_range;
	char *name;
};

/*
 * One match: the key's value is one of `values` (a set when n_values > 1); `negate` turns it
 * into "none of them". For marks, the packet's mark is and-ed with `mask` first.
 */
struct nft_match {
	enum nft_match_key key;
	bool negate;
	struct nft_value *values; /* sorted, unique */
	size_t n_values;
	uint32_t mask;
	char *text;   /* the source text of the match (tokens joined by one space) */
	char *reason; /* NFT_MATCH_UNSUPPORTED: why it can't be expressed; else NULL */
	struct nft_loc loc;
};

enum nft_verdict {
	NFT_VERDICT_NONE = 0, /* no verdict: evaluation continues with the next rule */
	NFT_VERDICT_ACCEPT,
	NFT_VERDICT_DROP,
	NFT_VERDICT_REJECT,
	NFT_VERDICT_QUEUE,
	NFT_VERDICT_JUMP, /* to `target`; possibly terminal */
	NFT_VERDICT_GOTO,
	NFT_VERDICT_RETURN,
	NFT_VERDICT_CONTINUE,
	NFT_VERDICT_VMAP, /* verdict map: some verdict, depending on the packet */
};

struct nft_rule {
	struct nft_match *matches; /* in source order (flow rules: those before `flow`) */
	size_t n_matches;
	bool complete; /* no NFT_MATCH_UNSUPPORTED among matches */
	enum nft_verdict verdict;
	char *target;    /* jump/goto chain, else NULL */
	char *flowtable; /* `flow add|offload @NAME`, else NULL */
	char *comment;   /* comment "..." or NULL */
	char *text;      /* the whole rule, tokens joined by one space */
	struct nft_loc loc;
	struct nft_loc flow_loc;   /* the flow statement, when flowtable is set */
	struct nft_loc target_loc; /* the jump/goto target, when target is set */
};

enum nft_policy { NFT_POLICY_NONE = 0, NFT_POLICY_ACCEPT, NFT_POLICY_DROP };

struct nft_chain {
	char *name;
	bool base;  /* has `type ... hook ...` */
	char *type; /* filter / nat / route; NULL for regular chains */
	char *hook; /* NULL for regular chains */
	int priority;
	enum nft_policy policy;
	struct nft_rule *rules;
	size_t n_rules;
	struct nft_loc loc;
};

/* A rule that offloads flows (in a forward filter base chain). */
struct nft_offload_rule {
	const struct nft_chain *chain;
	const struct nft_rule *rule; /* rule->flowtable names the flowtable */
	const struct nft_flowtable *flowtable;
	/* earlier rules of the chain with a verdict (not CONTINUE/NONE), in order */
	const struct nft_rule **exclusions;
	size_t n_exclusions;
	bool exclusions_complete; /* every exclusion's matches parsed */
};

struct nft_table {
	enum nft_family family;
	char *name;
	struct nft_flowtable *flowtables; /* sorted by name */
	size_t n_flowtables;
	struct nft_chain *chains; /* sorted by name */
	size_t n_chains;
	struct nft_offload_rule *offload_rules; /* chains by name, then rule order */
	size_t n_offload_rules;
	struct nft_loc loc;
};

struct nft_ruleset {
	struct nft_table *tables; /* sorted by family, then name */
	size_t n_tables;
	char **warnings; /* "FILE:LINE:COL: warning: ..." for ignored things worth a note */
	size_t n_warnings;
	char **files; /* every file read (owns the names locations point to) */
	size_t n_files;
};

struct nft_error {
	char *file; /* NULL when the error has no position (e.g. out of memory) */
	unsigned int line;
	unsigned int col;
	char *message;   /* e.g. "unterminated string" */
	char *formatted; /* "FILE:LINE:COL: error: MESSAGE\n<source line>\n<caret>\n" */
};

/*
 * Parse a ruleset from memory. `name` is the display name used in locations; includes are
 * resolved relative to its directory. Returns 0 and sets *out, or -1 and fills *err (when
 * err is non-NULL; free it with nft_error_clear()).
 */
int nft_parse_buffer(const char *buf, size_t len, const char *name, struct nft_ruleset **out,
                     struct nft_error *err);
int nft_parse_file(const char *path, struct nft_ruleset **out, struct nft_error *err);
void nft_ruleset_free(struct nft_ruleset *rs);
void nft_error_clear(struct nft_error *err);

/* Lookups (NULL when absent). */
const struct nft_table *nft_ruleset_table(const struct nft_ruleset *rs, enum nft_family family,
                                          const char *name);
const struct nft_flowtable *nft_table_flowtable(const struct nft_table *t, const char *name);
const struct nft_chain *nft_table_chain(const struct nft_table *t, const char *name);

/*
 * Resolve a priority keyword (raw, mangle, dstnat, filter, security, srcnat; bridge: dstnat,
 * filter, out, srcnat) for a family and hook, as nft(8) defines them. Flowtables resolve as
 * netdev/ingress, where only `filter` (0) exists. Returns 0 or -1 when not valid there.
 */
int nft_priority_keyword(const char *kw, enum nft_family family, const char *hook, int *out);

const char *nft_family_name(enum nft_family f);
const char *nft_match_key_name(enum nft_match_key k); /* e.g. "tcp dport" */
const char *nft_verdict_name(enum nft_verdict v);

/*
 * Canonical dumps, for comparing a file's model with the one read back from the kernel.
 * Tables, flowtables, chains, devices and set values are sorted; matches of a rule are sorted
 * by key. NFT_DUMP_NO_SOURCE leaves out locations, source texts, comments and warnings.
 * Both return a malloc'ed string (NULL on allocation failure).
 */
enum nft_dump_flags {
	NFT_DUMP_NO_SOURCE = 1 << 0,
};
char *nft_ruleset_dump_text(const struct nft_ruleset *rs, unsigned int flags);
char *nft_ruleset_dump_json(const struct nft_ruleset *rs, unsigned int flags);

#endif /* NFT_TC_OFFLOAD_NFT_H */
