/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The action attributes and parameter structs of linux/tc_act/tc_*.h, restated: the uapi
 * headers define struct tc_gact, tc_mirred, tc_csum, tc_vlan, tc_ct and tc_pedit, which are
 * also the rule model's names (rule.h), so src/tc cannot include both. wire_check.c includes
 * this file with the uapi headers and asserts that every value and layout is the same.
 */
#ifndef NTO_TC_WIRE_H
#define NTO_TC_WIRE_H

#include <stdint.h>

/* tc_gen: the head of every action's parms. */
struct nto_tc_gen {
	uint32_t index;
	uint32_t capab;
	int32_t action;
	int32_t refcnt;
	int32_t bindcnt;
};

struct nto_tc_mirred {
	struct nto_tc_gen gen;
	int32_t eaction;
	uint32_t ifindex;
};

struct nto_tc_csum {
	struct nto_tc_gen gen;
	uint32_t update_flags;
};

struct nto_tc_vlan {
	struct nto_tc_gen gen;
	int32_t v_action;
};

struct nto_tc_pedit_sel {
	struct nto_tc_gen gen;
	uint8_t nkeys;
	uint8_t flags;
	/* struct nto_tc_pedit_key keys[] follow, after padding to 4 bytes */
};

#define NTO_PEDIT_SEL_SIZE 24 /* sizeof(struct tc_pedit_sel) */

struct nto_tc_pedit_key {
	uint32_t mask; /* AND: bytes kept */
	uint32_t val;  /* XOR (or ADD): new bytes */
	uint32_t off;
	uint32_t at;
	uint32_t offmask;
	uint32_t shift;
};

enum {
	NTO_GACT_TM = 1,
	NTO_GACT_PARMS = 2,
	NTO_GACT_PROB = 3,
	NTO_GACT_MAX = 4,

	NTO_MIRRED_TM = 1,
	NTO_MIRRED_PARMS = 2,
	NTO_MIRRED_MAX = 3,
	NTO_MIRRED_EGRESS_REDIR = 1,
	NTO_MIRRED_EGRESS_MIRROR = 2,
	NTO_MIRRED_INGRESS_REDIR = 3,
	NTO_MIRRED_INGRESS_MIRROR = 4,

	NTO_PEDIT_TM = 1,
	NTO_PEDIT_PARMS = 2,
	NTO_PEDIT_PARMS_EX = 4,
	NTO_PEDIT_KEYS_EX = 5,
	NTO_PEDIT_KEY_EX = 6,
	NTO_PEDIT_MAX = 6,
	NTO_PEDIT_KEY_EX_HTYPE = 1,
	NTO_PEDIT_KEY_EX_CMD = 2,
	NTO_PEDIT_KEY_EX_MAX = 2,
	NTO_PEDIT_CMD_SET = 0,
	NTO_PEDIT_CMD_ADD = 1,

	NTO_CSUM_PARMS = 1,
	NTO_CSUM_TM = 2,
	NTO_CSUM_MAX = 3,

	NTO_VLAN_TM = 1,
	NTO_VLAN_PARMS = 2,
	NTO_VLAN_PUSH_VLAN_ID = 3,
	NTO_VLAN_PUSH_VLAN_PROTOCOL = 4,
	NTO_VLAN_PUSH_VLAN_PRIORITY = 6,
	NTO_VLAN_MAX = 8,
	NTO_VLAN_ACT_POP = 1,
	NTO_VLAN_ACT_PUSH = 2,
	NTO_VLAN_ACT_MODIFY = 3,

	NTO_CT_PARMS = 1,
	NTO_CT_TM = 2,
	NTO_CT_ACTION = 3,
	NTO_CT_ZONE = 4,
	NTO_CT_MARK = 5,
	NTO_CT_MARK_MASK = 6,
	NTO_CT_LABELS = 7,
	NTO_CT_LABELS_MASK = 8,
	NTO_CT_NAT_IPV4_MIN = 9,
	NTO_CT_NAT_IPV4_MAX = 10,
	NTO_CT_NAT_IPV6_MIN = 11,
	NTO_CT_NAT_IPV6_MAX = 12,
	NTO_CT_NAT_PORT_MIN = 13,
	NTO_CT_NAT_PORT_MAX = 14,
	NTO_CT_PAD = 15, /* the last attribute of 6.1; helpers come after it in later kernels */
};

#endif
