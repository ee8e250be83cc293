/* SPDX-License-Identifier: GPL-2.0-or-later */
/* profile_check_rule(): what each shipped profile refuses, with the exact reason. */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nft-tc-offload/profile.h"

static int setup(void **state)
{
	static struct profile_set s;
	char err[PROFILE_ERR_MAX];

	profile_set_init(&s);
	if (profile_set_load_builtin(&s, err, sizeof(err)))
		return -1;
	*state = &s;
	return 0;
}

static int teardown(void **state)
{
	profile_set_free(*state);
	return 0;
}

static const struct profile *get(void **state, const char *name)
{
	const struct profile *p = profile_set_find(*state, name);

	assert_non_null(p);
	return p;
}

static void pedit(struct tc_act_pedit *pe, enum tc_pedit_field f)
{
	struct tc_pedit_op op = {.field = f, .cmd = TC_PEDIT_SET};

	if (f == TC_PEDIT_IP4_TTL || f == TC_PEDIT_IP6_HOPLIMIT) {
		op.cmd = TC_PEDIT_ADD;
		op.val.u8 = 0xff;
	}
	assert_true(tc_pedit_add(pe, &op));
}

/* The flow strategy's rule for one IPv4 TCP direction, in the kernel flowtable layout, with
 * SNAT: eth src/dst, ip src, tcp sport, csum, redirect. */
static void flow_v4(struct tc_rule *r)
{
	struct tc_id id = {.ifindex = 2, .hook = TC_HOOK_INGRESS, .prio = 1, .protocol = ETH_P_IP};
	struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	struct tc_action *a;

	tc_rule_init(r, &id);
	strcpy(k->indev, "eth0");
	strcpy(m->indev, "eth0");
	k->eth_type = ETH_P_IP;
	m->eth_type = 0xffff;
	k->ip_proto = 6;
	m->ip_proto = 0xff;
	inet_pton(AF_INET, "192.168.1.10", &k->src.v4);
	inet_pton(AF_INET, "198.51.100.7", &k->dst.v4);
	memset(&m->src.v4, 0xff, 4);
	memset(&m->dst.v4, 0xff, 4);
	k->src_port = 40000;
	k->dst_port = 443;
	m->src_port = m->dst_port = 0xffff;
	m->tcp_flags = TC_TCP_FIN | TC_TCP_RST;

	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	pedit(&a->pedit, TC_PEDIT_ETH_SRC);
	pedit(&a->pedit, TC_PEDIT_ETH_DST);
	pedit(&a->pedit, TC_PEDIT_IP4_SRC);
	pedit(&a->pedit, TC_PEDIT_TCP_SPORT);
	a = tc_rule_add_action(r, TC_ACTION_CSUM);
	a->csum.flags = TC_CSUM_IPV4HDR | TC_CSUM_TCP;
	a = tc_rule_add_action(r, TC_ACTION_MIRRED);
	a->mirred.op = TC_MIRRED_EGRESS_REDIRECT;
	a->mirred.ifindex = 3;
	a->verdict = TC_VERDICT_STOLEN;
}

/* The same for IPv6; with nat, it rewrites the source address (IPv6 NAT). */
static void flow_v6(struct tc_rule *r, bool nat)
{
	struct tc_id id = {
	    .ifindex = 2, .hook = TC_HOOK_INGRESS, .prio = 1, .protocol = ETH_P_IPV6};
	struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	struct tc_action *a;

	tc_rule_init(r, &id);
	strcpy(k->indev, "eth0");
	strcpy(m->indev, "eth0");
	k->eth_type = ETH_P_IPV6;
	m->eth_type = 0xffff;
	k->ip_proto = 17;
	m->ip_proto = 0xff;
	inet_pton(AF_INET6, "2001:db8::10", &k->src.v6);
	inet_pton(AF_INET6, "2001:db8:1::7", &k->dst.v6);
	memset(&m->src.v6, 0xff, 16);
	memset(&m->dst.v6, 0xff, 16);
	k->src_port = 5353;
	k->dst_port = 53;
	m->src_port = m->dst_port = 0xffff;

	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	pedit(&a->pedit, TC_PEDIT_ETH_SRC);
	pedit(&a->pedit, TC_PEDIT_ETH_DST);
	if (nat)
		pedit(&a->pedit, TC_PEDIT_IP6_SRC);
	a = tc_rule_add_action(r, TC_ACTION_MIRRED);
	a->mirred.op = TC_MIRRED_EGRESS_REDIRECT;
	a->mirred.ifindex = 3;
}

/* The ct strategy's chain 0 rule: ip_proto tcp ct_state -trk action ct zone 5 goto chain 1. */
static void ct_chain0(struct tc_rule *r)
{
	struct tc_id id = {.ifindex = 2, .hook = TC_HOOK_INGRESS, .prio = 1, .protocol = ETH_P_IP};
	struct tc_action *a;

	tc_rule_init(r, &id);
	r->flower.key.eth_type = ETH_P_IP;
	r->flower.mask.eth_type = 0xffff;
	r->flower.key.ip_proto = 6;
	r->flower.mask.ip_proto = 0xff;
	r->flower.key.ct_state = 0;
	r->flower.mask.ct_state = TC_CT_TRACKED;
	a = tc_rule_add_action(r, TC_ACTION_CT);
	a->ct.zone = 5;
	a->ct.flags = TC_CT_NAT;
	a = tc_rule_add_action(r, TC_ACTION_GACT);
	a->verdict = TC_VERDICT_GOTO_CHAIN;
	a->goto_chain = 1;
}

/* The ct strategy's chain 1 rule for a routed IPv4 destination. */
static void ct_chain1(struct tc_rule *r)
{
	struct tc_id id = {
	    .ifindex = 2, .hook = TC_HOOK_INGRESS, .chain = 1, .prio = 1, .protocol = ETH_P_IP};
	struct tc_action *a;

	tc_rule_init(r, &id);
	r->flower.key.eth_type = ETH_P_IP;
	r->flower.mask.eth_type = 0xffff;
	inet_pton(AF_INET, "10.0.2.2", &r->flower.key.dst.v4);
	memset(&r->flower.mask.dst.v4, 0xff, 4);
	r->flower.key.ct_state = TC_CT_TRACKED | TC_CT_ESTABLISHED;
	r->flower.mask.ct_state = TC_CT_TRACKED | TC_CT_ESTABLISHED;
	r->flower.key.ct_zone = 5;
	r->flower.mask.ct_zone = 0xffff;
	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	pedit(&a->pedit, TC_PEDIT_ETH_SRC);
	pedit(&a->pedit, TC_PEDIT_ETH_DST);
	pedit(&a->pedit, TC_PEDIT_IP4_TTL);
	a = tc_rule_add_action(r, TC_ACTION_CSUM);
	a->csum.flags = TC_CSUM_IPV4HDR | TC_CSUM_TCP | TC_CSUM_UDP;
	a = tc_rule_add_action(r, TC_ACTION_MIRRED);
	a->mirred.op = TC_MIRRED_EGRESS_REDIRECT;
}

#define ACCEPT(p, r)                                                                               \
	do {                                                                                       \
		char why_[512];                                                                    \
		if (!profile_check_rule((p), (r), why_, sizeof(why_)))                             \
			fail_msg("refused: %s", why_);                                             \
	} while (0)

#define REFUSE(p, r, want)                                                                         \
	do {                                                                                       \
		char why_[512];                                                                    \
		assert_false(profile_check_rule((p), (r), why_, sizeof(why_)));                    \
		assert_string_equal(why_, (want));                                                 \
	} while (0)

static void test_accepts_strategy_shapes(void **state)
{
	struct tc_rule r;

	flow_v4(&r);
	ACCEPT(get(state, "mtk-ppe"), &r);
	ACCEPT(get(state, "airoha-en7581"), &r);
	ACCEPT(get(state, "generic-flow"), &r);
	flow_v6(&r, false);
	ACCEPT(get(state, "mtk-ppe"), &r); /* IPv6 routing is fine */
	flow_v6(&r, true);
	ACCEPT(get(state, "generic-flow"), &r);

	ct_chain0(&r);
	ACCEPT(get(state, "mlx5"), &r);
	ACCEPT(get(state, "generic-ct"), &r);
	ct_chain1(&r);
	ACCEPT(get(state, "mlx5"), &r);
	ACCEPT(get(state, "generic-ct"), &r);
}

static void test_ipv6_nat_on_mtk(void **state)
{
	struct tc_rule r;

	flow_v6(&r, true);
	REFUSE(get(state, "mtk-ppe"), &r,
	       "profile mtk-ppe: IPv6 NAT (pedit ip6 src/dst) is not supported by the hardware");
	REFUSE(get(state, "airoha-en7581"), &r,
	       "profile airoha-en7581: IPv6 NAT (pedit ip6 src/dst) is not supported by the "
	       "hardware");
}

static void test_ttl_on_mtk(void **state)
{
	struct tc_rule r;

	flow_v4(&r);
	pedit(&r.actions[0].pedit, TC_PEDIT_IP4_TTL);
	REFUSE(get(state, "mtk-ppe"), &r,
	       "profile mtk-ppe: TTL / hop limit rewrite (pedit ip ttl, ip6 hoplimit) is not "
	       "supported by the hardware");
	ACCEPT(get(state, "generic-flow"), &r);
}

static void test_ct_on_flow_profiles(void **state)
{
	struct tc_rule r;
	struct tc_action *a;

	flow_v4(&r);
	a = tc_rule_add_action(&r, TC_ACTION_CT);
	a->ct.zone = 0;
	REFUSE(get(state, "mtk-ppe"), &r,
	       "profile mtk-ppe: action ct is not used with strategy flow (connections are "
	       "offloaded as one rule per direction, without act_ct)");
	REFUSE(get(state, "generic-flow"), &r,
	       "profile generic-flow: action ct is not used with strategy flow (connections are "
	       "offloaded as one rule per direction, without act_ct)");

	/* The whole ct chain 0 rule on a flow profile fails on its ct_state match first. */
	ct_chain0(&r);
	REFUSE(get(state, "mtk-ppe"), &r,
	       "profile mtk-ppe: match on ct_state is not supported by the hardware");
}

static void test_ct_state_on_mlx5(void **state)
{
	const struct profile *mlx5 = get(state, "mlx5");
	struct tc_rule r;

	ct_chain1(&r);
	r.flower.key.ct_state = TC_CT_TRACKED | TC_CT_RELATED;
	r.flower.mask.ct_state = TC_CT_TRACKED | TC_CT_RELATED;
	REFUSE(mlx5, &r, "profile mlx5: match on ct_state +rel is not supported by the hardware");

	r.flower.key.ct_state = TC_CT_TRACKED | TC_CT_RELATED | TC_CT_INVALID;
	r.flower.mask.ct_state = TC_CT_TRACKED | TC_CT_RELATED | TC_CT_INVALID;
	REFUSE(mlx5, &r,
	       "profile mlx5: match on ct_state +rel +inv is not supported by the hardware");

	/* -rel -inv and +new are fine; -new is not listed. */
	r.flower.key.ct_state = TC_CT_TRACKED | TC_CT_NEW;
	r.flower.mask.ct_state = TC_CT_TRACKED | TC_CT_NEW | TC_CT_RELATED | TC_CT_INVALID;
	ACCEPT(mlx5, &r);
	r.flower.key.ct_state = TC_CT_TRACKED;
	r.flower.mask.ct_state = TC_CT_TRACKED | TC_CT_NEW;
	REFUSE(mlx5, &r, "profile mlx5: match on ct_state -new is not supported by the hardware");
	ACCEPT(get(state, "generic-ct"), &r);
}

static void test_too_many_actions(void **state)
{
	struct tc_rule r;
	struct tc_action *a;

	flow_v4(&r); /* 8 hardware actions */
	assert_int_equal(profile_rule_hw_actions(&r), 8);
	a = &r.actions[0];
	pedit(&a->pedit, TC_PEDIT_IP4_DST);
	pedit(&a->pedit, TC_PEDIT_TCP_DPORT);
	pedit(&a->pedit, TC_PEDIT_ETH_SRC);
	pedit(&a->pedit, TC_PEDIT_ETH_DST);
	pedit(&a->pedit, TC_PEDIT_ETH_SRC);
	assert_int_equal(profile_rule_hw_actions(&r), 16);
	ACCEPT(get(state, "mtk-ppe"), &r);
	pedit(&a->pedit, TC_PEDIT_ETH_DST);
	assert_int_equal(profile_rule_hw_actions(&r), 18);
	REFUSE(get(state, "mtk-ppe"), &r,
	       "profile mtk-ppe: the rule needs 18 hardware actions (each 32-bit pedit word counts "
	       "once), the hardware takes at most 16");
	ACCEPT(get(state, "generic-flow"), &r);
}

static void test_unsupported_keys(void **state)
{
	struct tc_rule r;

	flow_v4(&r);
	r.flower.key.ip_tos = 0x10;
	r.flower.mask.ip_tos = 0xfc;
	r.flower.key.ct_mark = 1;
	r.flower.mask.ct_mark = 0xffffffff;
	REFUSE(get(state, "mtk-ppe"), &r,
	       "profile mtk-ppe: match on ip_tos, ct_mark is not supported by the hardware");

	ct_chain1(&r);
	strcpy(r.flower.mask.indev, "eth0");
	strcpy(r.flower.key.indev, "eth0");
	r.flower.key.vlan_id = 10;
	r.flower.mask.vlan_id = 0xfff;
	REFUSE(get(state, "mlx5"), &r,
	       "profile mlx5: match on indev, vlan is not supported by the hardware");
}

static void test_required_keys(void **state)
{
	struct tc_rule r;

	flow_v4(&r);
	r.flower.mask.indev[0] = '\0';
	r.flower.mask.src_port = r.flower.mask.dst_port = 0;
	REFUSE(get(state, "mtk-ppe"), &r,
	       "profile mtk-ppe: the hardware needs a match on indev, ports");
	ACCEPT(get(state, "generic-flow"), &r);
}

static void test_hook_skip_sw_vlan(void **state)
{
	struct tc_rule r;
	struct tc_action *a;

	flow_v4(&r);
	r.id.hook = TC_HOOK_EGRESS;
	REFUSE(get(state, "mtk-ppe"), &r,
	       "profile mtk-ppe: tc egress hook is not supported by the hardware");
	ACCEPT(get(state, "generic-flow"), &r);

	ct_chain0(&r);
	r.flower.skip_sw = true;
	REFUSE(get(state, "mlx5"), &r,
	       "profile mlx5: skip_sw is not allowed with strategy ct (act_ct needs the software "
	       "path to build its flowtable)");
	flow_v4(&r);
	r.flower.skip_sw = true;
	ACCEPT(get(state, "mtk-ppe"), &r);
	REFUSE(get(state, "generic-flow"), &r,
	       "profile generic-flow: skip_sw is not used by this profile");

	/* Three VLAN pushes; the PPE pushes at most two. */
	flow_v4(&r);
	for (int i = 0; i < 3; i++) {
		a = tc_rule_add_action(&r, TC_ACTION_VLAN);
		a->vlan.op = TC_VLAN_PUSH;
		a->vlan.id = (uint16_t)(10 + i);
		a->vlan.proto = ETH_P_8021Q;
	}
	REFUSE(get(state, "mtk-ppe"), &r,
	       "profile mtk-ppe: the rule pushes 3 VLAN tags, the hardware pushes at most 2");
	r.n_actions--;
	ACCEPT(get(state, "mtk-ppe"), &r);
	r.actions[r.n_actions - 1].vlan.proto = ETH_P_8021AD;
	REFUSE(get(state, "mtk-ppe"), &r,
	       "profile mtk-ppe: VLAN push of 802.1ad tags is not supported by the hardware");
	REFUSE(get(state, "mlx5"), &r,
	       "profile mlx5: match on indev, tcp_flags is not supported "
	       "by the hardware");
}

static void test_zones(void **state)
{
	static const char text[] = "[profile]\nname = small-zones\nstrategy = ct\n"
	                           "[offload]\nkeys = eth_type ip_proto ct_state ct_zone\n"
	                           "ct_state = +trk +est -trk\nactions = ct ct_nat goto mirred\n"
	                           "max_actions = 8\nct_zones = 1-4\n[limits]\ncapacity = 0\n";
	char err[PROFILE_ERR_MAX];
	struct profile p;
	struct tc_rule r;

	assert_int_equal(profile_parse(text, "z.conf", &p, err, sizeof(err)), 0);
	ct_chain0(&r);
	REFUSE(&p, &r,
	       "profile small-zones: action 1: ct zone 5 is outside the supported range 1-4");
	r.actions[0].ct.zone = 4;
	ACCEPT(&p, &r);
	r.flower.key.ct_zone = 0;
	r.flower.mask.ct_zone = 0xffff;
	REFUSE(&p, &r, "profile small-zones: match: ct zone 0 is outside the supported range 1-4");
}

static void test_pppoe(void **state)
{
	char why[512];

	assert_false(profile_check_pppoe(get(state, "mtk-ppe"), why, sizeof(why)));
	assert_string_equal(why, "profile mtk-ppe: PPPoE push: the hardware can push a PPPoE "
	                         "header, but tc has no PPPoE push action, so PPPoE flows stay in "
	                         "software");
	assert_false(profile_check_pppoe(get(state, "generic-flow"), why, sizeof(why)));
	assert_string_equal(why, "profile generic-flow: PPPoE push is not supported (the hardware "
	                         "does not list it, and tc has no PPPoE push action), so PPPoE "
	                         "flows stay in software");
}

static void test_names(void **state)
{
	assert_string_equal(profile_strategy_name(PROFILE_STRATEGY_FLOW), "flow");
	assert_null(profile_strategy_name(PROFILE_STRATEGY_NONE));
	assert_string_equal(profile_key_name(PROFILE_KEY_CT_LABEL), "ct_label");
	assert_string_equal(profile_action_name(PROFILE_ACT_PEDIT_IP6), "pedit_ip6");
	for (unsigned i = 0; i < PROFILE_KEY_COUNT; i++)
		assert_non_null(profile_key_name((enum profile_key)(1u << i)));
	for (unsigned i = 0; i < PROFILE_ACT_COUNT; i++)
		assert_non_null(profile_action_name((enum profile_action)(1u << i)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts_strategy_shapes),
	    cmocka_unit_test(test_ipv6_nat_on_mtk),
	    cmocka_unit_test(test_ttl_on_mtk),
	    cmocka_unit_test(test_ct_on_flow_profiles),
	    cmocka_unit_test(test_ct_state_on_mlx5),
	    cmocka_unit_test(test_too_many_actions),
	    cmocka_unit_test(test_unsupported_keys),
	    cmocka_unit_test(test_required_keys),
	    cmocka_unit_test(test_hook_skip_sw_vlan),
	    cmocka_unit_test(test_zones),
	    cmocka_unit_test(test_pppoe),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
