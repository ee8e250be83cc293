/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Compile-time proof that tc_wire.h restates the uapi action headers exactly. */
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_csum.h>
#include <linux/tc_act/tc_ct.h>
#include <linux/tc_act/tc_gact.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/tc_act/tc_pedit.h>
#include <linux/tc_act/tc_vlan.h>
#include <stddef.h>

#include "tc_wire.h"

#define SAME(a, b) _Static_assert((long)(a) == (long)(b), #a " != " #b)

SAME(sizeof(struct nto_tc_gen), sizeof(struct tc_gact));
SAME(sizeof(struct nto_tc_mirred), sizeof(struct tc_mirred));
SAME(offsetof(struct nto_tc_mirred, eaction), offsetof(struct tc_mirred, eaction));
SAME(offsetof(struct nto_tc_mirred, ifindex), offsetof(struct tc_mirred, ifindex));
SAME(sizeof(struct nto_tc_csum), sizeof(struct tc_csum));
SAME(offsetof(struct nto_tc_csum, update_flags), offsetof(struct tc_csum, update_flags));
SAME(sizeof(struct nto_tc_vlan), sizeof(struct tc_vlan));
SAME(offsetof(struct nto_tc_vlan, v_action), offsetof(struct tc_vlan, v_action));
SAME(sizeof(struct nto_tc_gen), sizeof(struct tc_ct));
SAME(NTO_PEDIT_SEL_SIZE, sizeof(struct tc_pedit_sel));
SAME(offsetof(struct nto_tc_pedit_sel, nkeys), offsetof(struct tc_pedit_sel, nkeys));
SAME(offsetof(struct nto_tc_pedit_sel, flags), offsetof(struct tc_pedit_sel, flags));
SAME(sizeof(struct nto_tc_pedit_key), sizeof(struct tc_pedit_key));
SAME(offsetof(struct nto_tc_gen, action), offsetof(struct tc_gact, action));

SAME(NTO_GACT_TM, TCA_GACT_TM);
SAME(NTO_GACT_PARMS, TCA_GACT_PARMS);
SAME(NTO_GACT_PROB, TCA_GACT_PROB);
SAME(NTO_GACT_MAX, TCA_GACT_MAX);
SAME(NTO_MIRRED_TM, TCA_MIRRED_TM);
SAME(NTO_MIRRED_PARMS, TCA_MIRRED_PARMS);
SAME(NTO_MIRRED_EGRESS_REDIR, TCA_EGRESS_REDIR);
SAME(NTO_MIRRED_EGRESS_MIRROR, TCA_EGRESS_MIRROR);
SAME(NTO_MIRRED_INGRESS_REDIR, TCA_INGRESS_REDIR);
SAME(NTO_MIRRED_INGRESS_MIRROR, TCA_INGRESS_MIRROR);
SAME(NTO_PEDIT_TM, TCA_PEDIT_TM);
SAME(NTO_PEDIT_PARMS, TCA_PEDIT_PARMS);
SAME(NTO_PEDIT_PARMS_EX, TCA_PEDIT_PARMS_EX);
SAME(NTO_PEDIT_KEYS_EX, TCA_PEDIT_KEYS_EX);
SAME(NTO_PEDIT_KEY_EX, TCA_PEDIT_KEY_EX);
SAME(NTO_PEDIT_MAX, TCA_PEDIT_MAX);
SAME(NTO_PEDIT_KEY_EX_HTYPE, TCA_PEDIT_KEY_EX_HTYPE);
SAME(NTO_PEDIT_KEY_EX_CMD, TCA_PEDIT_KEY_EX_CMD);
SAME(NTO_PEDIT_KEY_EX_MAX, TCA_PEDIT_KEY_EX_MAX);
SAME(NTO_PEDIT_CMD_SET, TCA_PEDIT_KEY_EX_CMD_SET);
SAME(NTO_PEDIT_CMD_ADD, TCA_PEDIT_KEY_EX_CMD_ADD);
SAME(NTO_CSUM_PARMS, TCA_CSUM_PARMS);
SAME(NTO_CSUM_TM, TCA_CSUM_TM);
SAME(NTO_VLAN_TM, TCA_VLAN_TM);
SAME(NTO_VLAN_PARMS, TCA_VLAN_PARMS);
SAME(NTO_VLAN_PUSH_VLAN_ID, TCA_VLAN_PUSH_VLAN_ID);
SAME(NTO_VLAN_PUSH_VLAN_PROTOCOL, TCA_VLAN_PUSH_VLAN_PROTOCOL);
SAME(NTO_VLAN_PUSH_VLAN_PRIORITY, TCA_VLAN_PUSH_VLAN_PRIORITY);
SAME(NTO_VLAN_ACT_POP, TCA_VLAN_ACT_POP);
SAME(NTO_VLAN_ACT_PUSH, TCA_VLAN_ACT_PUSH);
SAME(NTO_VLAN_ACT_MODIFY, TCA_VLAN_ACT_MODIFY);
SAME(NTO_CT_PARMS, TCA_CT_PARMS);
SAME(NTO_CT_TM, TCA_CT_TM);
SAME(NTO_CT_ACTION, TCA_CT_ACTION);
SAME(NTO_CT_ZONE, TCA_CT_ZONE);
SAME(NTO_CT_MARK, TCA_CT_MARK);
SAME(NTO_CT_MARK_MASK, TCA_CT_MARK_MASK);
SAME(NTO_CT_LABELS, TCA_CT_LABELS);
SAME(NTO_CT_LABELS_MASK, TCA_CT_LABELS_MASK);
SAME(NTO_CT_NAT_IPV4_MIN, TCA_CT_NAT_IPV4_MIN);
SAME(NTO_CT_NAT_IPV4_MAX, TCA_CT_NAT_IPV4_MAX);
SAME(NTO_CT_NAT_IPV6_MIN, TCA_CT_NAT_IPV6_MIN);
SAME(NTO_CT_NAT_IPV6_MAX, TCA_CT_NAT_IPV6_MAX);
SAME(NTO_CT_NAT_PORT_MIN, TCA_CT_NAT_PORT_MIN);
SAME(NTO_CT_NAT_PORT_MAX, TCA_CT_NAT_PORT_MAX);
SAME(NTO_CT_PAD, TCA_CT_PAD);
