/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flowrule: the two per-connection rules in the kernel flowtable's layout, compared as
 * `tc -batch` text (tc_print, which the tc golden tests tie to iproute2's bytes).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ct_test.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

static void opts(struct flowrule_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->prio = 10;
	o->handle[0] = 1;
	o->handle[1] = 2;
	o->ttl_dec = true;
}

static void expect_rule(const struct tc_rule *r, const char *want)
{
	char buf[2048];
	int n = tc_print(r, TC_MSG_REPLACE, test_ifname, NULL, buf, sizeof(buf));

	assert_true(n > 0 && (size_t)n < sizeof(buf));
	if (strcmp(buf, want) != 0)
		fprintf(stderr, "got:  %s\nwant: %s\n", buf, want);
	assert_string_equal(buf, want);
	{
		/* and it encodes, and decodes back to itself */
		uint8_t msg[4096];
		char err[256] = "";
		struct tc_rule back;
		int len = tc_encode(r, TC_MSG_REPLACE, 0, 1, msg, sizeof(msg), err, sizeof(err));

		if (len <= 0)
			fprintf(stderr, "tc_encode: %d %s\n", len, err);
		assert_true(len > 0);
		assert_int_equal(tc_decode(msg, (size_t)len, &back, err, sizeof(err)), 0);
		assert_true(tc_rule_equal(r, &back));
	}
}

static void build(const struct flow_conn *c, const struct flow_path p[2],
                  const struct flowrule_opts *o, struct tc_rule r[2])
{
	char why[256] = "";
	int rc = flowrule_build(c, p, o, r, why, sizeof(why));

	if (rc)
		fprintf(stderr, "flowrule_build: %s\n", why);
	assert_int_equal(rc, 0);
}

/* A masqueraded TCP connection: 192.168.1.10:40000 -> 203.0.113.5:443 leaves as
 * 198.51.100.1:50000. */
static void test_masquerade_tcp(void **state)
{
	struct flow_conn c;
	struct flow_path p[2];
	struct flowrule_opts o;
	struct tc_rule r[2];

	(void)state;
	test_conn(&c, AF_INET, IPPROTO_TCP, "192.168.1.10", 40000, "203.0.113.5", 443,
	          "203.0.113.5", 443, "198.51.100.1", 50000);
	assert_int_equal(flowrule_nat(&c), FLOW_NAT_SRC);
	test_paths(p);
	opts(&o);
	o.cookie_len = 4;
	memcpy(o.cookie, "\xa1\xb2\xc3\xd4", 4);
	build(&c, p, &o, r);
	expect_rule(&r[0],
	            "filter replace dev lan0 ingress protocol ip pref 10 chain 0 handle 0x1 flower "
	            "indev lan0 ip_proto tcp src_ip 192.168.1.10 dst_ip 203.0.113.5 src_port 40000 "
	            "dst_port 443 tcp_flags 0x0/0x5 action pedit ex munge eth src set "
	            "02:00:00:00:00:02 munge eth dst set 02:00:00:00:00:22 munge ip src set "
	            "198.51.100.1 munge tcp sport set 50000 munge ip ttl add 0xff pipe cookie "
	            "a1b2c3d4 action csum iph tcp pipe cookie a1b2c3d4 action mirred egress "
	            "redirect dev wan0 cookie a1b2c3d4");
	expect_rule(&r[1],
	            "filter replace dev wan0 ingress protocol ip pref 10 chain 0 handle 0x2 flower "
	            "indev wan0 ip_proto tcp src_ip 203.0.113.5 dst_ip 198.51.100.1 src_port 443 "
	            "dst_port 50000 tcp_flags 0x0/0x5 action pedit ex munge eth src set "
	            "02:00:00:00:00:01 munge eth dst set 02:00:00:00:00:11 munge ip dst set "
	            "192.168.1.10 munge tcp dport set 40000 munge ip ttl add 0xff pipe cookie "
	            "a1b2c3d4 action csum iph tcp pipe cookie a1b2c3d4 action mirred egress "
	            "redirect dev lan0 cookie a1b2c3d4");
}

/* Routed UDP (no NAT), without the TTL decrement (a PPE decrements itself): no csum at all. */
static void test_udp_routed(void **state)
{
	struct flow_conn c;
	struct flow_path p[2];
	struct flowrule_opts o;
	struct tc_rule r[2];

	(void)state;
	test_conn(&c, AF_INET, IPPROTO_UDP, "10.0.1.2", 5353, "10.0.2.2", 53, "10.0.2.2", 53,
	          "10.0.1.2", 5353);
	assert_int_equal(flowrule_nat(&c), 0);
	test_paths(p);
	opts(&o);
	o.ttl_dec = false;
	o.skip_sw = true;
	build(&c, p, &o, r);
	expect_rule(&r[0], "filter replace dev lan0 ingress protocol ip pref 10 chain 0 handle 0x1 "
	                   "flower indev lan0 ip_proto udp src_ip 10.0.1.2 dst_ip 10.0.2.2 "
	                   "src_port 5353 dst_port 53 skip_sw action pedit ex munge eth src set "
	                   "02:00:00:00:00:02 munge eth dst set 02:00:00:00:00:22 pipe action "
	                   "mirred egress redirect dev wan0");
	expect_rule(&r[1], "filter replace dev wan0 ingress protocol ip pref 10 chain 0 handle 0x2 "
	                   "flower indev wan0 ip_proto udp src_ip 10.0.2.2 dst_ip 10.0.1.2 "
	                   "src_port 53 dst_port 5353 skip_sw action pedit ex munge eth src set "
	                   "02:00:00:00:00:01 munge eth dst set 02:00:00:00:00:11 pipe action "
	                   "mirred egress redirect dev lan0");
}

/* Routed UDP with the TTL decrement: csum iph only (no L4 rewrite). */
static void test_udp_ttl(void **state)
{
	struct flow_conn c;
	struct flow_path p[2];
	struct flowrule_opts o;
	struct tc_rule r[2];

	(void)state;
	test_conn(&c, AF_INET, IPPROTO_UDP, "10.0.1.2", 5353, "10.0.2.2", 53, "10.0.2.2", 53,
	          "10.0.1.2", 5353);
	test_paths(p);
	opts(&o);
	build(&c, p, &o, r);
	expect_rule(&r[0], "filter replace dev lan0 ingress protocol ip pref 10 chain 0 handle 0x1 "
	                   "flower indev lan0 ip_proto udp src_ip 10.0.1.2 dst_ip 10.0.2.2 "
	                   "src_port 5353 dst_port 53 action pedit ex munge eth src set "
	                   "02:00:00:00:00:02 munge eth dst set 02:00:00:00:00:22 munge ip ttl "
	                   "add 0xff pipe action csum iph pipe action mirred egress redirect dev "
	                   "wan0");
}

/* IPv6, routed: hop limit, no csum, prio + 1. */
static void test_ipv6_routed(void **state)
{
	struct flow_conn c;
	struct flow_path p[2];
	struct flowrule_opts o;
	struct tc_rule r[2];

	(void)state;
	test_conn(&c, AF_INET6, IPPROTO_TCP, "fd00:1::2", 41000, "fd00:2::2", 5201, "fd00:2::2",
	          5201, "fd00:1::2", 41000);
	test_paths(p);
	opts(&o);
	build(&c, p, &o, r);
	expect_rule(&r[0], "filter replace dev lan0 ingress protocol ipv6 pref 11 chain 0 handle "
	                   "0x1 flower indev lan0 ip_proto tcp src_ip fd00:1::2 dst_ip fd00:2::2 "
	                   "src_port 41000 dst_port 5201 tcp_flags 0x0/0x5 action pedit ex munge "
	                   "eth src set 02:00:00:00:00:02 munge eth dst set 02:00:00:00:00:22 "
	                   "munge ip6 hoplimit add 0xff pipe action mirred egress redirect dev "
	                   "wan0");
	expect_rule(&r[1], "filter replace dev wan0 ingress protocol ipv6 pref 11 chain 0 handle "
	                   "0x2 flower indev wan0 ip_proto tcp src_ip fd00:2::2 dst_ip fd00:1::2 "
	                   "src_port 5201 dst_port 41000 tcp_flags 0x0/0x5 action pedit ex munge "
	                   "eth src set 02:00:00:00:00:01 munge eth dst set 02:00:00:00:00:11 "
	                   "munge ip6 hoplimit add 0xff pipe action mirred egress redirect dev "
	                   "lan0");
}

/* A port forward: wan client 198.51.100.7:33000 -> 203.0.113.1:8080 goes to 192.168.1.20:80. */
static void test_dnat_port_forward(void **state)
{
	struct flow_conn c;
	struct flow_path p[2];
	struct flowrule_opts o;
	struct tc_rule r[2];

	(void)state;
	test_conn(&c, AF_INET, IPPROTO_TCP, "198.51.100.7", 33000, "203.0.113.1", 8080,
	          "192.168.1.20", 80, "198.51.100.7", 33000);
	assert_int_equal(flowrule_nat(&c), FLOW_NAT_DST);
	test_paths(p);
	/* the original enters on wan0 and leaves on lan0 */
	{
		struct flow_path t = p[0];

		p[0] = p[1];
		p[1] = t;
	}
	opts(&o);
	build(&c, p, &o, r);
	expect_rule(&r[0],
	            "filter replace dev wan0 ingress protocol ip pref 10 chain 0 handle 0x1 flower "
	            "indev wan0 ip_proto tcp src_ip 198.51.100.7 dst_ip 203.0.113.1 src_port 33000 "
	            "dst_port 8080 tcp_flags 0x0/0x5 action pedit ex munge eth src set "
	            "02:00:00:00:00:01 munge eth dst set 02:00:00:00:00:11 munge ip dst set "
	            "192.168.1.20 munge tcp dport set 80 munge ip ttl add 0xff pipe action csum "
	            "iph tcp pipe action mirred egress redirect dev lan0");
	expect_rule(&r[1],
	            "filter replace dev lan0 ingress protocol ip pref 10 chain 0 handle 0x2 flower "
	            "indev lan0 ip_proto tcp src_ip 192.168.1.20 dst_ip 198.51.100.7 src_port 80 "
	            "dst_port 33000 tcp_flags 0x0/0x5 action pedit ex munge eth src set "
	            "02:00:00:00:00:02 munge eth dst set 02:00:00:00:00:22 munge ip src set "
	            "203.0.113.1 munge tcp sport set 8080 munge ip ttl add 0xff pipe action csum "
	            "iph tcp pipe action mirred egress redirect dev wan0");
}

/* Both SNAT and DNAT (hairpin-like): the kernel's order, SNAT before DNAT. */
static void test_snat_and_dnat(void **state)
{
	struct flow_conn c;
	struct flow_path p[2];
	struct flowrule_opts o;
	struct tc_rule r[2];

	(void)state;
	test_conn(&c, AF_INET, IPPROTO_UDP, "10.0.1.2", 1000, "10.0.9.9", 2000, "10.0.2.2", 3000,
	          "10.0.2.1", 4000);
	assert_int_equal(flowrule_nat(&c), FLOW_NAT_SRC | FLOW_NAT_DST);
	test_paths(p);
	opts(&o);
	o.ttl_dec = false;
	build(&c, p, &o, r);
	expect_rule(&r[0], "filter replace dev lan0 ingress protocol ip pref 10 chain 0 handle 0x1 "
	                   "flower indev lan0 ip_proto udp src_ip 10.0.1.2 dst_ip 10.0.9.9 "
	                   "src_port 1000 dst_port 2000 action pedit ex munge eth src set "
	                   "02:00:00:00:00:02 munge eth dst set 02:00:00:00:00:22 munge ip src set "
	                   "10.0.2.1 munge udp sport set 4000 munge ip dst set 10.0.2.2 munge udp "
	                   "dport set 3000 pipe action csum iph udp pipe action mirred egress "
	                   "redirect dev wan0");
	expect_rule(&r[1], "filter replace dev wan0 ingress protocol ip pref 10 chain 0 handle 0x2 "
	                   "flower indev wan0 ip_proto udp src_ip 10.0.2.2 dst_ip 10.0.2.1 "
	                   "src_port 3000 dst_port 4000 action pedit ex munge eth src set "
	                   "02:00:00:00:00:01 munge eth dst set 02:00:00:00:00:11 munge ip src set "
	                   "10.0.9.9 munge udp sport set 2000 munge ip dst set 10.0.1.2 munge udp "
	                   "dport set 1000 pipe action csum iph udp pipe action mirred egress "
	                   "redirect dev lan0");
}

/* VLAN: tagged ingress is matched and popped, the egress tag pushed; NAT after the tags. */
static void test_vlan(void **state)
{
	struct flow_conn c;
	struct flow_path p[2];
	struct flowrule_opts o;
	struct tc_rule r[2];

	(void)state;
	test_conn(&c, AF_INET, IPPROTO_TCP, "192.168.1.10", 40000, "203.0.113.5", 443,
	          "203.0.113.5", 443, "198.51.100.1", 50000);
	test_paths(p);
	p[0].n_in_vlan = 1;
	p[0].in_vlan[0] = (struct flow_vlan){.id = 100, .proto = ETH_P_8021Q};
	p[0].n_out_vlan = 1;
	p[0].out_vlan[0] = (struct flow_vlan){.id = 200, .prio = 0, .proto = ETH_P_8021Q};
	opts(&o);
	build(&c, p, &o, r);
	expect_rule(
	    &r[0], "filter replace dev lan0 ingress protocol 802.1Q pref 12 chain 0 handle 0x1 "
	           "flower indev lan0 vlan_id 100 vlan_ethtype ip ip_proto tcp src_ip "
	           "192.168.1.10 dst_ip 203.0.113.5 src_port 40000 dst_port 443 tcp_flags "
	           "0x0/0x5 action pedit ex munge eth src set 02:00:00:00:00:02 munge eth dst set "
	           "02:00:00:00:00:22 pipe action vlan pop pipe action vlan push id 200 protocol "
	           "802.1Q pipe action pedit ex munge ip src set 198.51.100.1 munge "
	           "tcp sport set 50000 munge ip ttl add 0xff pipe action csum iph tcp pipe action "
	           "mirred egress redirect dev wan0");
	assert_int_equal(tc_rule_family(&r[0]), AF_INET);
}

static void test_refusals(void **state)
{
	struct flow_conn c;
	struct flow_path p[2];
	struct flowrule_opts o;
	struct tc_rule r[2];
	char why[256];

	(void)state;
	opts(&o);
	test_paths(p);
	test_conn(&c, AF_INET, IPPROTO_ICMP, "10.0.1.2", 0, "10.0.2.2", 0, "10.0.2.2", 0,
	          "10.0.1.2", 0);
	assert_int_equal(flowrule_build(&c, p, &o, r, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "only TCP and UDP"));
	test_conn(&c, AF_INET, IPPROTO_TCP, "10.0.1.2", 1, "10.0.2.2", 2, "10.0.2.2", 2, "10.0.1.2",
	          1);
	p[0].out_pppoe = true;
	assert_int_equal(flowrule_build(&c, p, &o, r, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "PPPoE"));
}

/* IPv6 NAT on a MediaTek PPE: the profile refuses the rule with a reason; routed IPv6 and
 * IPv4 NAT (without the TTL mangle the PPE does not take) pass. */
static void test_profile_mtk(void **state)
{
	struct profile_set ps;
	const struct profile *mtk;
	struct flow_conn c;
	struct flow_path p[2];
	struct flowrule_opts o;
	struct tc_rule r[2];
	char err[PROFILE_ERR_MAX], why[256];

	(void)state;
	profile_set_init(&ps);
	assert_int_equal(profile_set_load_builtin(&ps, err, sizeof(err)), 0);
	mtk = profile_set_find(&ps, "mtk-ppe");
	assert_non_null(mtk);
	test_paths(p);
	opts(&o);
	o.ttl_dec = false;
	o.skip_sw = true;

	test_conn(&c, AF_INET6, IPPROTO_TCP, "fd00:1::2", 41000, "2001:db8::5", 443, "2001:db8::5",
	          443, "2001:db8:1::1", 41000);
	build(&c, p, &o, r);
	assert_false(profile_check_rule(mtk, &r[0], why, sizeof(why)));
	fprintf(stderr, "mtk-ppe, IPv6 NAT: %s\n", why);
	assert_non_null(strstr(why, "profile mtk-ppe"));
	assert_non_null(strstr(why, "IPv6 NAT"));

	test_conn(&c, AF_INET6, IPPROTO_TCP, "fd00:1::2", 41000, "fd00:2::2", 443, "fd00:2::2", 443,
	          "fd00:1::2", 41000);
	build(&c, p, &o, r);
	assert_true(profile_check_rule(mtk, &r[0], why, sizeof(why)));
	assert_true(profile_check_rule(mtk, &r[1], why, sizeof(why)));

	test_conn(&c, AF_INET, IPPROTO_TCP, "192.168.1.10", 40000, "203.0.113.5", 443,
	          "203.0.113.5", 443, "198.51.100.1", 50000);
	build(&c, p, &o, r);
	assert_true(profile_check_rule(mtk, &r[0], why, sizeof(why)));
	assert_true(profile_check_rule(mtk, &r[1], why, sizeof(why)));
	/* with the TTL mangle it would refuse */
	o.ttl_dec = true;
	build(&c, p, &o, r);
	assert_false(profile_check_rule(mtk, &r[0], why, sizeof(why)));
	fprintf(stderr, "mtk-ppe, TTL mangle: %s\n", why);
	/* without indev (the META key) it refuses too */
	o.ttl_dec = false;
	o.no_indev = true;
	build(&c, p, &o, r);
	assert_false(profile_check_rule(mtk, &r[0], why, sizeof(why)));
	fprintf(stderr, "mtk-ppe, no indev: %s\n", why);
	profile_set_free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_masquerade_tcp),
	    cmocka_unit_test(test_udp_routed),
	    cmocka_unit_test(test_udp_ttl),
	    cmocka_unit_test(test_ipv6_routed),
	    cmocka_unit_test(test_dnat_port_forward),
	    cmocka_unit_test(test_snat_and_dnat),
	    cmocka_unit_test(test_vlan),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_profile_mtk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
