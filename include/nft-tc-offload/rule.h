/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tc rule model: one tc flower filter with its ordered action list, as plain data.
 *
 * Everything above the tc/ layer builds and reads these structs; only src/tc/ knows the TCA_*
 * attributes they become (see tc.h). Conventions:
 *  - numbers are in host byte order (ports, ethertypes, VLAN ids, ct_state, tcp_flags);
 *    addresses and MACs are in network order, as they appear on the wire;
 *  - a match field takes part when its mask is non-zero; fields that flower matches without a
 *    mask (ip_proto, VLAN id/prio/ethtype) use an all-ones mask to say "present";
 *  - the network ethertype comes from id.protocol (flower derives its eth_type key from it);
 *    leave flower.key/mask.eth_type zero: decode does, and tc_rule_equal() treats an eth_type
 *    equal to the protocol as absent;
 *  - the rule owns no heap memory: copy it with '=' and compare it with tc_rule_equal().
 */
#ifndef NFT_TC_OFFLOAD_RULE_H
#define NFT_TC_OFFLOAD_RULE_H

#include <netinet/in.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TC_RULE_MAX_ACTIONS 16 /* the kernel flowtable layout needs at most 16 */
#define TC_PEDIT_MAX_OPS    12 /* eth src+dst, ttl, 2 addresses, 2 ports fit easily */
#define TC_COOKIE_MAX       16 /* TC_COOKIE_MAX_SIZE */
#define TC_CT_LABEL_LEN     16

enum tc_hook {
	TC_HOOK_INGRESS = 0, /* clsact ingress (or the ingress qdisc) */
	TC_HOOK_EGRESS,      /* clsact egress */
};

/* Where a filter lives and which one it is (OVS calls it struct tcf_id). */
struct tc_id {
	uint32_t ifindex;     /* device, or 0 when block_index is set */
	uint32_t block_index; /* shared block, 0 when ifindex is set */
	enum tc_hook hook;
	uint32_t chain;
	uint16_t prio;     /* tc "pref"; 0 lets the kernel choose (not for our rules) */
	uint16_t protocol; /* ETH_P_* of the filter, e.g. ETH_P_IP, ETH_P_ALL */
	uint32_t handle;   /* 0 lets the kernel choose */
};

union tc_addr {
	struct in_addr v4;
	struct in6_addr v6;
};

/* TCA_FLOWER_KEY_CT_FLAGS_* bits, named here so the layers above need no uapi headers. */
enum tc_ct_state_bits {
	TC_CT_NEW = 1 << 0,
	TC_CT_ESTABLISHED = 1 << 1,
	TC_CT_RELATED = 1 << 2,
	TC_CT_TRACKED = 1 << 3,
	TC_CT_INVALID = 1 << 4,
	TC_CT_REPLY = 1 << 5,
};

/* TCP header flag bits as tcp_flags matches them. */
enum tc_tcp_flag_bits {
	TC_TCP_FIN = 0x01,
	TC_TCP_SYN = 0x02,
	TC_TCP_RST = 0x04,
	TC_TCP_PSH = 0x08,
	TC_TCP_ACK = 0x10,
};

/* One side of a flower match: the key, or its mask. */
struct tc_flower_key {
	char indev[IFNAMSIZ]; /* flower's indev: by name; in the mask any non-empty string */
	uint16_t eth_type;
	uint8_t eth_dst[6];
	uint8_t eth_src[6];
	uint16_t vlan_id; /* 12 bits */
	uint8_t vlan_prio;
	uint16_t vlan_eth_type;
	uint16_t cvlan_id;
	uint8_t cvlan_prio;
	uint16_t cvlan_eth_type;
	uint8_t ip_proto;
	uint8_t ip_tos;
	uint8_t ip_ttl;
	union tc_addr src; /* IPv4 or IPv6, by the network ethertype of the rule */
	union tc_addr dst;
	uint16_t src_port; /* TCP or UDP, by ip_proto */
	uint16_t dst_port;
	uint16_t tcp_flags;
	uint16_t ct_state; /* enum tc_ct_state_bits */
	uint16_t ct_zone;
	uint32_t ct_mark;
	uint8_t ct_label[TC_CT_LABEL_LEN];
};

struct tc_flower {
	struct tc_flower_key key;
	struct tc_flower_key mask;
	bool skip_sw;
	bool skip_hw;
};

enum tc_action_kind {
	TC_ACTION_GACT = 1,
	TC_ACTION_MIRRED,
	TC_ACTION_PEDIT,
	TC_ACTION_CSUM,
	TC_ACTION_VLAN,
	TC_ACTION_CT,
};

/* What happens after an action: TC_ACT_* values of linux/pkt_cls.h, named here. */
enum tc_verdict {
	TC_VERDICT_OK = 0,         /* "pass" */
	TC_VERDICT_SHOT = 2,       /* "drop" */
	TC_VERDICT_PIPE = 3,       /* "pipe": continue with the next action */
	TC_VERDICT_STOLEN = 4,     /* "stolen" (mirred redirect's default) */
	TC_VERDICT_GOTO_CHAIN = 5, /* "goto chain N": goto_chain holds N */
};

enum tc_mirred_op {
	TC_MIRRED_EGRESS_REDIRECT = 1,
	TC_MIRRED_EGRESS_MIRROR,
	TC_MIRRED_INGRESS_REDIRECT,
	TC_MIRRED_INGRESS_MIRROR,
};

struct tc_act_mirred {
	enum tc_mirred_op op;
	uint32_t ifindex;
};

/* A pedit operation on a named header field; tc/ expands it to the kernel's 32-bit keys in the
 * layout iproute2 (and the kernel's nf_flow_table_offload.c) uses. */
enum tc_pedit_field {
	TC_PEDIT_ETH_DST = 1,
	TC_PEDIT_ETH_SRC,
	TC_PEDIT_IP4_SRC,
	TC_PEDIT_IP4_DST,
	TC_PEDIT_IP4_TTL,
	TC_PEDIT_IP6_SRC,
	TC_PEDIT_IP6_DST,
	TC_PEDIT_IP6_HOPLIMIT,
	TC_PEDIT_TCP_SPORT,
	TC_PEDIT_TCP_DPORT,
	TC_PEDIT_UDP_SPORT,
	TC_PEDIT_UDP_DPORT,
};

enum tc_pedit_cmd {
	TC_PEDIT_SET = 0,
	TC_PEDIT_ADD,
};

struct tc_pedit_op {
	enum tc_pedit_field field;
	enum tc_pedit_cmd cmd;
	union {
		uint8_t mac[6];
		union tc_addr addr;
		uint16_t port; /* host order */
		uint8_t u8;    /* ttl / hop limit (ADD 0xff decrements) */
	} val;
};

struct tc_act_pedit {
	uint8_t n_ops;
	struct tc_pedit_op ops[TC_PEDIT_MAX_OPS];
};

/* TCA_CSUM_UPDATE_FLAG_* bits. */
enum tc_csum_bits {
	TC_CSUM_IPV4HDR = 1,
	TC_CSUM_ICMP = 2,
	TC_CSUM_IGMP = 4,
	TC_CSUM_TCP = 8,
	TC_CSUM_UDP = 16,
	TC_CSUM_UDPLITE = 32,
	TC_CSUM_SCTP = 64,
};

struct tc_act_csum {
	uint32_t flags; /* enum tc_csum_bits */
};

enum tc_vlan_op {
	TC_VLAN_POP = 1,
	TC_VLAN_PUSH,
	TC_VLAN_MODIFY,
};

struct tc_act_vlan {
	enum tc_vlan_op op;
	uint16_t id;    /* push/modify */
	uint8_t prio;   /* push/modify */
	uint16_t proto; /* ETH_P_8021Q or ETH_P_8021AD; push/modify */
};

/* TCA_CT_ACT_* bits. */
enum tc_ct_flag_bits {
	TC_CT_COMMIT = 1 << 0,
	TC_CT_FORCE = 1 << 1,
	TC_CT_CLEAR = 1 << 2,
	TC_CT_NAT = 1 << 3,
	TC_CT_NAT_SRC = 1 << 4,
	TC_CT_NAT_DST = 1 << 5,
};

struct tc_act_ct {
	uint16_t flags; /* enum tc_ct_flag_bits; NAT alone = restore the connection's NAT */
	uint16_t zone;
	uint32_t mark, mark_mask;
	uint8_t label[TC_CT_LABEL_LEN], label_mask[TC_CT_LABEL_LEN];
	/* NAT range, with NAT_SRC or NAT_DST: family 0 = no address range */
	int nat_family; /* AF_INET, AF_INET6 or 0 */
	union tc_addr nat_addr_min, nat_addr_max;
	uint16_t nat_port_min, nat_port_max; /* host order, 0 = no port range */
};

struct tc_action {
	enum tc_action_kind kind;
	enum tc_verdict verdict;
	uint32_t goto_chain; /* with TC_VERDICT_GOTO_CHAIN */
	union {              /* by kind; gact has nothing beyond the verdict */
		struct tc_act_mirred mirred;
		struct tc_act_pedit pedit;
		struct tc_act_csum csum;
		struct tc_act_vlan vlan;
		struct tc_act_ct ct;
	};
};

/* What the kernel reports about an installed rule (decode only; ignored by encode). */
struct tc_rule_state {
	bool valid;
	bool in_hw, not_in_hw;
	uint32_t in_hw_count;
	uint64_t bytes, packets;       /* all paths */
	uint64_t hw_bytes, hw_packets; /* of which in hardware */
	uint64_t lastused_ms;          /* time since the rule last matched, per the kernel */
};

struct tc_rule {
	struct tc_id id;
	struct tc_flower flower;
	uint8_t n_actions;
	struct tc_action actions[TC_RULE_MAX_ACTIONS];
	uint8_t cookie_len; /* 0 = no cookie; else put on every action */
	uint8_t cookie[TC_COOKIE_MAX];
	struct tc_rule_state state;
};

/*
 * A filter as a terse dump (TCA_DUMP_FLAGS_TERSE) shows it: its place, the flower flags, how
 * many actions it has, their cookie and counters. Neither the match nor the actions' options,
 * and no lastused_ms (state.lastused_ms stays 0).
 */
struct tc_brief {
	struct tc_id id;
	bool skip_sw, skip_hw;
	uint8_t n_actions;
	uint8_t cookie_len;
	uint8_t cookie[TC_COOKIE_MAX];
	struct tc_rule_state state;
};

/* A growable array of rules: the one rule container that owns heap memory. Start it zeroed. */
struct tc_rule_vec {
	struct tc_rule *v;
	size_t n, cap;
};

/* Appends a rule initialised as by tc_rule_init (no actions) and returns it; NULL when out of
 * memory. */
struct tc_rule *tc_rule_vec_add(struct tc_rule_vec *rv);
/* Room for n more rules without moving the array (0, or -ENOMEM: nothing changed). */
int tc_rule_vec_reserve(struct tc_rule_vec *rv, size_t n);
void tc_rule_vec_free(struct tc_rule_vec *rv);

/* A zeroed rule with the given id: no match, no actions (the unused entries of actions[] are
 * left as they were: only the first n_actions are ever read). */
void tc_rule_init(struct tc_rule *r, const struct tc_id *id);

/* Appends an action; returns it (zeroed except kind and a PIPE verdict), or NULL when full. */
struct tc_action *tc_rule_add_action(struct tc_rule *r, enum tc_action_kind kind);

/* Appends a pedit op to a pedit action; false when full. */
bool tc_pedit_add(struct tc_act_pedit *p, const struct tc_pedit_op *op);

/* Compares id, match, flags, actions and cookie; ignores state. */
bool tc_rule_equal(const struct tc_rule *a, const struct tc_rule *b);

/* The network family of a rule's addresses: AF_INET, AF_INET6, or 0. */
int tc_rule_family(const struct tc_rule *r);

#endif
