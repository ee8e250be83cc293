/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow strategy's per-connection rules: one connection (its original and reply tuples)
 * plus the two resolved forwarding paths become two tc flower rules, original and reply, in
 * the layout of the kernel's own flowtable offload (net/netfilter/nf_flow_table_offload.c),
 * which is what NPU drivers (MediaTek / Airoha PPE) parse:
 *
 *   match:   indev (the META key: the MediaTek driver refuses a rule without it, and the
 *            kernel's layout always carries it), ethertype (or VLAN tags + inner ethertype),
 *            ip_proto, source and destination address (full mask), both ports, and for TCP
 *            `tcp_flags 0/FIN|RST` so FIN and RST reach the CPU (conntrack sees the close);
 *   actions: pedit eth src (offsets 4, 8) then eth dst (0, 4); VLAN pop per ingress tag;
 *            VLAN push per egress tag; pedit SNAT (address then port) and/or DNAT (address
 *            then port) with values from the opposite tuple; TTL / hop-limit decrement
 *            (optional, see below); csum; mirred egress redirect.
 *
 * Pure: no kernel access, no allocation, no global state.
 */
#ifndef NFT_TC_OFFLOAD_FLOWRULE_H
#define NFT_TC_OFFLOAD_FLOWRULE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/rule.h"

/* One direction of a connection, as conntrack reports it. */
struct flow_tuple {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t proto;          /* IPPROTO_TCP or IPPROTO_UDP */
	union tc_addr src, dst; /* network order; IPv4 uses .v4, the rest is zero */
	uint16_t sport, dport;  /* host order */
};

/* A connection: original and reply tuples. NAT shows as a reply that is not the mirror of the
 * original: original.src != reply.dst is SNAT, original.dst != reply.src is DNAT. */
struct flow_conn {
	struct flow_tuple orig, reply;
	uint16_t zone;
	uint32_t mark;
};

enum flow_dir {
	FLOW_DIR_ORIG = 0,
	FLOW_DIR_REPLY = 1,
};

#define FLOW_VLAN_MAX 2

struct flow_vlan {
	uint16_t id;    /* 12 bits */
	uint8_t prio;   /* 3 bits (push only) */
	uint16_t proto; /* ETH_P_8021Q or ETH_P_8021AD */
};

/*
 * Where one direction's packets come in and go out (what the path resolver finds from the
 * routing and neighbour tables).
 */
struct flow_path {
	uint32_t in_ifindex;      /* the device the rule lives on (its clsact ingress) */
	char in_ifname[IFNAMSIZ]; /* its name: the rule's indev match; "" = no indev match */
	uint32_t out_ifindex;     /* where mirred redirects to */
	char out_ifname[IFNAMSIZ];
	uint8_t src_mac[6]; /* the egress device's address */
	uint8_t dst_mac[6]; /* the next hop's address, from a NUD_VALID neighbour only */
	uint8_t n_in_vlan;  /* tags the packets arrive with (outermost first): matched, popped */
	struct flow_vlan in_vlan[FLOW_VLAN_MAX];
	uint8_t n_out_vlan; /* tags to push (outermost first) */
	struct flow_vlan out_vlan[FLOW_VLAN_MAX];
	bool out_pppoe; /* egress is PPPoE: tc has no PPPoE push, the rule is refused */
};

/* How the rules are placed and decorated. */
struct flowrule_opts {
	uint32_t chain;     /* 0 in the kernel layout */
	uint16_t prio;      /* prio of IPv4 rules; IPv6 +1, 802.1Q-tagged +2, 802.1ad +3 (a tc
	                     * prio holds one protocol) */
	uint32_t handle[2]; /* by enum flow_dir; 0 lets the kernel choose */
	uint8_t cookie_len; /* 0 = none; else on every action */
	uint8_t cookie[TC_COOKIE_MAX];
	bool skip_sw;
	bool ttl_dec;  /* pedit ip ttl / ip6 hoplimit add 0xff. The kernel layout has none (the
	                * PPE decrements itself and the MediaTek driver refuses an IP mangle other
	                * than the addresses); the software datapath needs it. */
	bool no_indev; /* leave out the indev (META) match (the kernel layout has it) */
};

#define FLOWRULE_PRIO_V6     1 /* offsets from flowrule_opts.prio */
#define FLOWRULE_PRIO_8021Q  2
#define FLOWRULE_PRIO_8021AD 3
#define FLOWRULE_PRIO_SPAN   4

enum flow_nat_bits {
	FLOW_NAT_SRC = 1 << 0,
	FLOW_NAT_DST = 1 << 1,
};

/* The connection's NAT, as FLOW_NAT_* bits (by comparing the tuples). */
unsigned flowrule_nat(const struct flow_conn *c);

/* The tc protocol (ETH_P_*) and prio of a rule of this family whose packets arrive with an
 * outer VLAN tag of protocol vlan_proto (ETH_P_8021Q / ETH_P_8021AD), or untagged (0). */
uint16_t flowrule_protocol(int family, uint16_t vlan_proto);
uint16_t flowrule_prio(const struct flowrule_opts *o, int family, uint16_t vlan_proto);

/*
 * Builds the rule of one direction into *r. path is that direction's path. Returns 0, or
 * -EINVAL with a one-line reason in why (unsupported family/protocol, tuples of mixed
 * families, PPPoE egress, too many VLAN tags or actions).
 */
int flowrule_build_dir(const struct flow_conn *c, enum flow_dir dir, const struct flow_path *path,
                       const struct flowrule_opts *o, struct tc_rule *r, char *why, size_t len);

/* Both rules: out[FLOW_DIR_ORIG] and out[FLOW_DIR_REPLY] from path[0] and path[1]. */
int flowrule_build(const struct flow_conn *c, const struct flow_path path[2],
                   const struct flowrule_opts *o, struct tc_rule out[2], char *why, size_t len);

#endif
