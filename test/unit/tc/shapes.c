/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The golden shapes: each builds, with the model API only, the rule of one line of
 * test/golden/shapes.txt. The tests check encode against tc's bytes, print against the line,
 * and decode against both.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "shapes.h"

static const uint8_t M1[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t M2[6] = {0x02, 0, 0, 0, 0, 0x02};

const char *fake_ifname(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	(void)ctx;
	if (ifindex == ETH0)
		return strcpy(buf, "eth0");
	if (ifindex == ETH1)
		return strcpy(buf, "eth1");
	return NULL;
}

size_t load_vector(const char *name, char *cmd, size_t cmdlen, uint8_t *buf, size_t buflen)
{
	const char *dir = getenv("NTO_SOURCE_DIR");
	char path[512], line[4096];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/test/golden/%s.hex", dir ? dir : ".", name);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		abort();
	}
	if (!fgets(line, sizeof(line), f) || strncmp(line, "cmd ", 4)) {
		fprintf(stderr, "%s: no cmd line\n", path);
		abort();
	}
	line[strcspn(line, "\n")] = '\0';
	snprintf(cmd, cmdlen, "%s", line + 4);
	while (fgets(line, sizeof(line), f))
		for (char *p = line; p[0] && p[1]; p++) {
			unsigned v;

			if (!isxdigit((unsigned char)p[0]))
				continue;
			if (sscanf(p, "%2x", &v) != 1 || n >= buflen)
				abort();
			buf[n++] = (uint8_t)v;
			p++;
		}
	fclose(f);
	return n;
}

/* --- builders ----------------------------------------------------------------------------- */

static void init(struct tc_rule *r, uint32_t ifindex, enum tc_hook hook, uint16_t protocol,
                 uint16_t prio, uint32_t chain, uint32_t handle)
{
	struct tc_id id = {.ifindex = ifindex,
	                   .hook = hook,
	                   .chain = chain,
	                   .prio = prio,
	                   .protocol = protocol,
	                   .handle = handle};

	tc_rule_init(r, &id);
}

static void ip_proto(struct tc_rule *r, uint8_t p)
{
	r->flower.key.ip_proto = p;
	r->flower.mask.ip_proto = 0xff;
}

static void v4(union tc_addr *k, union tc_addr *m, const char *a, int bits)
{
	inet_pton(AF_INET, a, &k->v4);
	m->v4.s_addr = bits ? htonl(~0u << (32 - bits)) : 0;
}

static void v6(union tc_addr *k, union tc_addr *m, const char *a, int bits)
{
	inet_pton(AF_INET6, a, &k->v6);
	memset(&m->v6, 0, 16);
	for (int i = 0; i < bits; i++)
		m->v6.s6_addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

static void ct_state(struct tc_rule *r, uint16_t key, uint16_t mask)
{
	r->flower.key.ct_state = key;
	r->flower.mask.ct_state = mask;
}

static void ports(struct tc_rule *r, uint16_t sport, uint16_t dport)
{
	if (sport) {
		r->flower.key.src_port = sport;
		r->flower.mask.src_port = 0xffff;
	}
	if (dport) {
		r->flower.key.dst_port = dport;
		r->flower.mask.dst_port = 0xffff;
	}
}

static void gact(struct tc_rule *r, enum tc_verdict v, uint32_t chain)
{
	struct tc_action *a = tc_rule_add_action(r, TC_ACTION_GACT);

	a->verdict = v;
	a->goto_chain = chain;
}

static struct tc_action *ct(struct tc_rule *r, uint16_t flags, uint16_t zone)
{
	struct tc_action *a = tc_rule_add_action(r, TC_ACTION_CT);

	a->ct.flags = flags;
	a->ct.zone = zone;
	return a;
}

static void mirred(struct tc_rule *r, enum tc_mirred_op op, uint32_t ifindex)
{
	struct tc_action *a = tc_rule_add_action(r, TC_ACTION_MIRRED);

	a->mirred.op = op;
	a->mirred.ifindex = ifindex;
	a->verdict = op == TC_MIRRED_EGRESS_REDIRECT || op == TC_MIRRED_INGRESS_REDIRECT
	                 ? TC_VERDICT_STOLEN
	                 : TC_VERDICT_PIPE;
}

static void csum(struct tc_rule *r, uint32_t flags)
{
	tc_rule_add_action(r, TC_ACTION_CSUM)->csum.flags = flags;
}

static void p_mac(struct tc_action *a, enum tc_pedit_field f, const uint8_t mac[6])
{
	struct tc_pedit_op op = {.field = f, .cmd = TC_PEDIT_SET};

	memcpy(op.val.mac, mac, 6);
	tc_pedit_add(&a->pedit, &op);
}

static void p_addr(struct tc_action *a, enum tc_pedit_field f, const char *s)
{
	struct tc_pedit_op op = {.field = f, .cmd = TC_PEDIT_SET};

	inet_pton(f == TC_PEDIT_IP6_SRC || f == TC_PEDIT_IP6_DST ? AF_INET6 : AF_INET, s,
	          &op.val.addr);
	tc_pedit_add(&a->pedit, &op);
}

static void p_port(struct tc_action *a, enum tc_pedit_field f, enum tc_pedit_cmd cmd, uint16_t port)
{
	struct tc_pedit_op op = {.field = f, .cmd = cmd, .val.port = port};

	tc_pedit_add(&a->pedit, &op);
}

static void p_u8(struct tc_action *a, enum tc_pedit_field f, enum tc_pedit_cmd cmd, uint8_t v)
{
	struct tc_pedit_op op = {.field = f, .cmd = cmd, .val.u8 = v};

	tc_pedit_add(&a->pedit, &op);
}

static void ct_chain0(struct tc_rule *r, uint16_t proto, uint16_t prio, uint8_t l4)
{
	init(r, ETH0, TC_HOOK_INGRESS, proto, prio, 0, 0);
	ip_proto(r, l4);
	ct_state(r, 0, TC_CT_TRACKED);
	ct(r, TC_CT_NAT, 5);
	gact(r, TC_VERDICT_GOTO_CHAIN, 1);
}

static void b_ct_chain0_v4(struct tc_rule *r)
{
	ct_chain0(r, ETH_P_IP, 1, IPPROTO_TCP);
}

static void b_ct_chain0_v6(struct tc_rule *r)
{
	ct_chain0(r, ETH_P_IPV6, 2, IPPROTO_UDP);
}

static void b_ct_chain1_est_v4(struct tc_rule *r)
{
	struct tc_action *a;

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IP, 1, 1, 0);
	v4(&r->flower.key.dst, &r->flower.mask.dst, "10.0.2.0", 24);
	ct_state(r, TC_CT_TRACKED | TC_CT_ESTABLISHED, TC_CT_TRACKED | TC_CT_ESTABLISHED);
	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	p_mac(a, TC_PEDIT_ETH_SRC, M1);
	p_mac(a, TC_PEDIT_ETH_DST, M2);
	p_u8(a, TC_PEDIT_IP4_TTL, TC_PEDIT_ADD, 0xff);
	csum(r, TC_CSUM_IPV4HDR | TC_CSUM_TCP | TC_CSUM_UDP);
	mirred(r, TC_MIRRED_EGRESS_REDIRECT, ETH1);
}

static void b_ct_chain1_est_v6(struct tc_rule *r)
{
	struct tc_action *a;

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IPV6, 2, 1, 0);
	v6(&r->flower.key.dst, &r->flower.mask.dst, "2001:db8:2::", 64);
	ct_state(r, TC_CT_TRACKED | TC_CT_ESTABLISHED, TC_CT_TRACKED | TC_CT_ESTABLISHED);
	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	p_mac(a, TC_PEDIT_ETH_SRC, M1);
	p_mac(a, TC_PEDIT_ETH_DST, M2);
	p_u8(a, TC_PEDIT_IP6_HOPLIMIT, TC_PEDIT_ADD, 0xff);
	mirred(r, TC_MIRRED_EGRESS_REDIRECT, ETH1);
}

static void b_ct_chain1_new(struct tc_rule *r)
{
	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IP, 3, 1, 0);
	ct_state(r, TC_CT_TRACKED | TC_CT_NEW, TC_CT_TRACKED | TC_CT_NEW);
	gact(r, TC_VERDICT_OK, 0);
}

/* The flow strategy's per-connection rule: exact 5-tuple, FIN/RST to the CPU, NAT, redirect. */
static void flow(struct tc_rule *r, uint32_t in, uint32_t out, uint32_t handle, const char *src,
                 const char *dst, uint16_t sport, uint16_t dport, const uint8_t *smac,
                 const uint8_t *dmac, enum tc_pedit_field nat_addr, const char *nat_to,
                 enum tc_pedit_field nat_port, uint16_t nat_port_to)
{
	struct tc_action *a;

	init(r, in, TC_HOOK_INGRESS, ETH_P_IP, 10, 0, handle);
	strcpy(r->flower.key.indev, in == ETH0 ? "eth0" : "eth1");
	strcpy(r->flower.mask.indev, r->flower.key.indev);
	ip_proto(r, IPPROTO_TCP);
	v4(&r->flower.key.src, &r->flower.mask.src, src, 32);
	v4(&r->flower.key.dst, &r->flower.mask.dst, dst, 32);
	ports(r, sport, dport);
	r->flower.key.tcp_flags = 0;
	r->flower.mask.tcp_flags = TC_TCP_FIN | TC_TCP_RST;
	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	p_mac(a, TC_PEDIT_ETH_SRC, smac);
	p_mac(a, TC_PEDIT_ETH_DST, dmac);
	p_addr(a, nat_addr, nat_to);
	p_port(a, nat_port, TC_PEDIT_SET, nat_port_to);
	p_u8(a, TC_PEDIT_IP4_TTL, TC_PEDIT_ADD, 0xff);
	csum(r, TC_CSUM_IPV4HDR | TC_CSUM_TCP);
	mirred(r, TC_MIRRED_EGRESS_REDIRECT, out);
}

static void b_flow_orig_snat(struct tc_rule *r)
{
	static const uint8_t cookie[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	                                   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

	flow(r, ETH0, ETH1, 1, "192.168.1.10", "203.0.113.5", 40000, 443, M1, M2, TC_PEDIT_IP4_SRC,
	     "198.51.100.1", TC_PEDIT_TCP_SPORT, 50000);
	r->cookie_len = sizeof(cookie);
	memcpy(r->cookie, cookie, sizeof(cookie));
}

static void b_flow_reply_dnat(struct tc_rule *r)
{
	flow(r, ETH1, ETH0, 2, "203.0.113.5", "198.51.100.1", 443, 50000, M2, M1, TC_PEDIT_IP4_DST,
	     "192.168.1.10", TC_PEDIT_TCP_DPORT, 40000);
}

static void b_flow_udp_v6(struct tc_rule *r)
{
	struct tc_action *a;

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IPV6, 10, 0, 3);
	strcpy(r->flower.key.indev, "eth0");
	strcpy(r->flower.mask.indev, "eth0");
	ip_proto(r, IPPROTO_UDP);
	v6(&r->flower.key.src, &r->flower.mask.src, "2001:db8::10", 128);
	v6(&r->flower.key.dst, &r->flower.mask.dst, "2001:db8:1::20", 128);
	ports(r, 5353, 53);
	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	p_mac(a, TC_PEDIT_ETH_SRC, M1);
	p_mac(a, TC_PEDIT_ETH_DST, M2);
	p_addr(a, TC_PEDIT_IP6_DST, "2001:db8:2::1");
	p_port(a, TC_PEDIT_UDP_DPORT, TC_PEDIT_SET, 5300);
	p_port(a, TC_PEDIT_UDP_SPORT, TC_PEDIT_SET, 1024);
	p_u8(a, TC_PEDIT_IP6_HOPLIMIT, TC_PEDIT_ADD, 0xff);
	mirred(r, TC_MIRRED_EGRESS_REDIRECT, ETH1);
}

static void b_vlan_pop(struct tc_rule *r)
{
	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_8021Q, 3, 0, 0);
	r->flower.key.vlan_id = 100;
	r->flower.mask.vlan_id = 0xffff;
	r->flower.key.vlan_prio = 3;
	r->flower.mask.vlan_prio = 0xff;
	r->flower.key.vlan_eth_type = ETH_P_IP;
	r->flower.mask.vlan_eth_type = 0xffff;
	ip_proto(r, IPPROTO_UDP);
	v4(&r->flower.key.dst, &r->flower.mask.dst, "10.0.0.1", 32);
	tc_rule_add_action(r, TC_ACTION_VLAN)->vlan.op = TC_VLAN_POP;
	mirred(r, TC_MIRRED_EGRESS_REDIRECT, ETH1);
}

static void b_vlan_push(struct tc_rule *r)
{
	struct tc_action *a;

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IP, 3, 0, 0);
	ip_proto(r, IPPROTO_TCP);
	a = tc_rule_add_action(r, TC_ACTION_VLAN);
	a->vlan =
	    (struct tc_act_vlan){.op = TC_VLAN_PUSH, .id = 200, .prio = 5, .proto = ETH_P_8021AD};
	mirred(r, TC_MIRRED_EGRESS_REDIRECT, ETH1);
}

static void b_vlan_modify_qinq(struct tc_rule *r)
{
	struct tc_action *a;

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_8021AD, 4, 0, 0);
	r->flower.key.vlan_id = 10;
	r->flower.mask.vlan_id = 0xffff;
	r->flower.key.vlan_eth_type = ETH_P_8021Q;
	r->flower.mask.vlan_eth_type = 0xffff;
	r->flower.key.cvlan_id = 20;
	r->flower.mask.cvlan_id = 0xffff;
	r->flower.key.cvlan_prio = 1;
	r->flower.mask.cvlan_prio = 0xff;
	r->flower.key.cvlan_eth_type = ETH_P_IPV6;
	r->flower.mask.cvlan_eth_type = 0xffff;
	a = tc_rule_add_action(r, TC_ACTION_VLAN);
	a->vlan =
	    (struct tc_act_vlan){.op = TC_VLAN_MODIFY, .id = 30, .prio = 2, .proto = ETH_P_8021Q};
	gact(r, TC_VERDICT_OK, 0);
}

static void b_mac_drop(struct tc_rule *r)
{
	static const uint8_t oui[6] = {0x02, 0, 0, 0, 0, 0}, oui_mask[6] = {0xff, 0xff, 0xff};

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_ALL, 5, 0, 0);
	memcpy(r->flower.key.eth_dst, M1, 6);
	memset(r->flower.mask.eth_dst, 0xff, 6);
	memcpy(r->flower.key.eth_src, oui, 6);
	memcpy(r->flower.mask.eth_src, oui_mask, 6);
	gact(r, TC_VERDICT_SHOT, 0);
}

static const uint8_t label1[16] = {[15] = 1}, label_mask[16] = {[14] = 0xff, [15] = 0xff};

static void b_ct_commit_mark_label(struct tc_rule *r)
{
	struct tc_action *a;

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IP, 1, 2, 0);
	ct_state(r, TC_CT_TRACKED | TC_CT_NEW, TC_CT_TRACKED | TC_CT_NEW);
	a = ct(r, TC_CT_COMMIT, 5);
	a->ct.mark = 0x2a;
	a->ct.mark_mask = 0xff;
	memcpy(a->ct.label, label1, 16);
	memcpy(a->ct.label_mask, label_mask, 16);
	gact(r, TC_VERDICT_GOTO_CHAIN, 3);
}

static void b_ct_nat_src_range(struct tc_rule *r)
{
	struct tc_action *a;

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IP, 2, 2, 0);
	ip_proto(r, IPPROTO_TCP);
	ct_state(r, TC_CT_TRACKED | TC_CT_NEW, TC_CT_TRACKED | TC_CT_NEW);
	a = ct(r, TC_CT_COMMIT | TC_CT_NAT | TC_CT_NAT_SRC, 7);
	a->ct.nat_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.1", &a->ct.nat_addr_min.v4);
	inet_pton(AF_INET, "198.51.100.10", &a->ct.nat_addr_max.v4);
	a->ct.nat_port_min = 1024;
	a->ct.nat_port_max = 65535;
	gact(r, TC_VERDICT_OK, 0);
}

static void b_ct_clear_matches(struct tc_rule *r)
{
	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IP, 3, 2, 0);
	ct_state(r, TC_CT_TRACKED | TC_CT_ESTABLISHED | TC_CT_REPLY,
	         TC_CT_TRACKED | TC_CT_ESTABLISHED | TC_CT_REPLY);
	r->flower.key.ct_zone = 5;
	r->flower.mask.ct_zone = 0xffff;
	r->flower.key.ct_mark = 0x2a;
	r->flower.mask.ct_mark = 0xff;
	memcpy(r->flower.key.ct_label, label1, 16);
	memcpy(r->flower.mask.ct_label, label_mask, 16);
	ct(r, TC_CT_CLEAR, 0);
	gact(r, TC_VERDICT_OK, 0);
}

static void b_tos_ttl_drop(struct tc_rule *r)
{
	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IP, 6, 0, 0);
	ip_proto(r, IPPROTO_UDP);
	r->flower.key.ip_tos = 0x10;
	r->flower.mask.ip_tos = 0xfc;
	r->flower.key.ip_ttl = 0x40;
	r->flower.mask.ip_ttl = 0xff;
	ports(r, 0, 53);
	gact(r, TC_VERDICT_SHOT, 0);
}

static void b_skip_sw_cookie(struct tc_rule *r)
{
	static const uint8_t cookie[4] = {0xa1, 0xb2, 0xc3, 0xd4};

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IP, 7, 0, 0x2a);
	ip_proto(r, IPPROTO_TCP);
	v4(&r->flower.key.dst, &r->flower.mask.dst, "10.1.2.3", 32);
	r->flower.skip_sw = true;
	mirred(r, TC_MIRRED_EGRESS_MIRROR, ETH1);
	gact(r, TC_VERDICT_SHOT, 0);
	r->cookie_len = sizeof(cookie);
	memcpy(r->cookie, cookie, sizeof(cookie));
}

static void b_block_skip_hw(struct tc_rule *r)
{
	struct tc_id id = {.block_index = 10, .prio = 1, .protocol = ETH_P_IP};

	tc_rule_init(r, &id);
	ip_proto(r, IPPROTO_UDP);
	r->flower.skip_hw = true;
	mirred(r, TC_MIRRED_INGRESS_REDIRECT, ETH1);
}

static void b_egress_mirror(struct tc_rule *r)
{
	init(r, ETH1, TC_HOOK_EGRESS, ETH_P_IPV6, 4, 0, 0);
	ip_proto(r, IPPROTO_TCP);
	v6(&r->flower.key.src, &r->flower.mask.src, "2001:db8::", 32);
	mirred(r, TC_MIRRED_INGRESS_MIRROR, ETH0);
	gact(r, TC_VERDICT_OK, 0);
}

static void b_replace_v4(struct tc_rule *r)
{
	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IP, 10, 0, 1);
	ip_proto(r, IPPROTO_TCP);
	ports(r, 1, 0);
	gact(r, TC_VERDICT_SHOT, 0);
}

static void b_id_only(struct tc_rule *r)
{
	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IP, 10, 0, 1);
}

static void b_ct_nat_dst_v6(struct tc_rule *r)
{
	struct tc_action *a;

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IPV6, 1, 0, 0);
	a = ct(r, TC_CT_COMMIT | TC_CT_FORCE | TC_CT_NAT | TC_CT_NAT_DST, 3);
	a->ct.nat_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &a->ct.nat_addr_min.v6);
	a->ct.nat_addr_max = a->ct.nat_addr_min;
	a->ct.nat_port_min = a->ct.nat_port_max = 80;
}

static void b_pedit_misc_v6(struct tc_rule *r)
{
	struct tc_action *a;

	init(r, ETH0, TC_HOOK_INGRESS, ETH_P_IPV6, 1, 0, 0);
	ip_proto(r, IPPROTO_UDP);
	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	p_addr(a, TC_PEDIT_IP6_SRC, "2001:db8::1");
	p_port(a, TC_PEDIT_UDP_SPORT, TC_PEDIT_ADD, 1);
	a = tc_rule_add_action(r, TC_ACTION_CSUM);
	a->csum.flags = TC_CSUM_UDP;
	a->verdict = TC_VERDICT_GOTO_CHAIN;
	a->goto_chain = 4;
}

static void b_mirred_goto_hexproto(struct tc_rule *r)
{
	init(r, ETH0, TC_HOOK_INGRESS, 0x8847, 1, 0, 0);
	mirred(r, TC_MIRRED_EGRESS_MIRROR, ETH1);
	r->actions[0].verdict = TC_VERDICT_GOTO_CHAIN;
	r->actions[0].goto_chain = 2;
	gact(r, TC_VERDICT_PIPE, 0);
}

const struct shape shapes[] = {
    {"ct_chain0_v4", TC_MSG_NEW, b_ct_chain0_v4},
    {"ct_chain0_v6", TC_MSG_NEW, b_ct_chain0_v6},
    {"ct_chain1_est_v4", TC_MSG_NEW, b_ct_chain1_est_v4},
    {"ct_chain1_est_v6", TC_MSG_NEW, b_ct_chain1_est_v6},
    {"ct_chain1_new", TC_MSG_NEW, b_ct_chain1_new},
    {"flow_orig_snat", TC_MSG_NEW, b_flow_orig_snat},
    {"flow_reply_dnat", TC_MSG_NEW, b_flow_reply_dnat},
    {"flow_udp_v6", TC_MSG_NEW, b_flow_udp_v6},
    {"vlan_pop", TC_MSG_NEW, b_vlan_pop},
    {"vlan_push", TC_MSG_NEW, b_vlan_push},
    {"vlan_modify_qinq", TC_MSG_NEW, b_vlan_modify_qinq},
    {"mac_drop", TC_MSG_NEW, b_mac_drop},
    {"ct_commit_mark_label", TC_MSG_NEW, b_ct_commit_mark_label},
    {"ct_nat_src_range", TC_MSG_NEW, b_ct_nat_src_range},
    {"ct_clear_matches", TC_MSG_NEW, b_ct_clear_matches},
    {"tos_ttl_drop", TC_MSG_NEW, b_tos_ttl_drop},
    {"skip_sw_cookie", TC_MSG_NEW, b_skip_sw_cookie},
    {"block_skip_hw", TC_MSG_NEW, b_block_skip_hw},
    {"egress_mirror", TC_MSG_NEW, b_egress_mirror},
    {"replace_v4", TC_MSG_REPLACE, b_replace_v4},
    {"delete", TC_MSG_DELETE, b_id_only},
    {"get", TC_MSG_GET, b_id_only},
    {"ct_nat_dst_v6", TC_MSG_NEW, b_ct_nat_dst_v6},
    {"pedit_misc_v6", TC_MSG_NEW, b_pedit_misc_v6},
    {"mirred_goto_hexproto", TC_MSG_NEW, b_mirred_goto_hexproto},
};

const unsigned n_shapes = sizeof(shapes) / sizeof(shapes[0]);
