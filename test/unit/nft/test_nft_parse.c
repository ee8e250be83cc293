/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The nft parser on well-formed rulesets (the samples in test/data/nft): model content. */
#include "nft-test.h"

static void test_fw4(void **state)
{
	struct nft_ruleset *rs = load_ok("fw4.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "fw4");
	const struct nft_flowtable *ft = nft_table_flowtable(t, "ft");
	const struct nft_chain *fwd = nft_table_chain(t, "forward");
	const struct nft_match *m;

	(void)state;
	assert_int_equal(rs->n_tables, 1);
	assert_non_null(ft);
	assert_string_equal(ft->hook, "ingress");
	assert_int_equal(ft->priority, 0);
	assert_true(ft->offload);
	assert_true(ft->counter);
	assert_int_equal(ft->n_devices, 5);
	assert_string_equal(ft->devices[0], "lan1");
	assert_string_equal(ft->devices[3], "lan4");
	assert_string_equal(ft->devices[4], "wan");
	assert_int_equal(ft->loc.line, 35);
	assert_int_equal(ft->loc.col, 12);

	assert_non_null(fwd);
	assert_true(fwd->base);
	assert_string_equal(fwd->hook, "forward");
	assert_int_equal(fwd->policy, NFT_POLICY_DROP);
	assert_int_equal(fwd->n_rules, 5);
	assert_int_equal(fwd->rules[1].verdict, NFT_VERDICT_VMAP);
	assert_int_equal(fwd->rules[2].verdict, NFT_VERDICT_JUMP);
	assert_string_equal(fwd->rules[2].target, "forward_lan");
	assert_string_equal(fwd->rules[2].comment, "!fw4: Handle lan IPv4/IPv6 forward traffic");
	assert_int_equal(t->n_chains, 28);

	/* chain priorities by keyword */
	assert_int_equal(nft_table_chain(t, "dstnat")->priority, -100);
	assert_int_equal(nft_table_chain(t, "srcnat")->priority, 100);
	assert_int_equal(nft_table_chain(t, "raw_prerouting")->priority, -300);
	assert_int_equal(nft_table_chain(t, "mangle_forward")->priority, -150);

	/* the one offload rule: the forward chain's first rule */
	assert_int_equal(t->n_offload_rules, 1);
	assert_ptr_equal(t->offload_rules[0].chain, fwd);
	assert_ptr_equal(t->offload_rules[0].flowtable, ft);
	assert_ptr_equal(t->offload_rules[0].rule, &fwd->rules[0]);
	assert_int_equal(t->offload_rules[0].n_exclusions, 0);
	assert_true(t->offload_rules[0].exclusions_complete);
	assert_true(fwd->rules[0].complete);
	assert_int_equal(fwd->rules[0].n_matches, 1);
	m = get_match(&fwd->rules[0], NFT_MATCH_L4PROTO);
	assert_int_equal(m->n_values, 2);
	assert_num(&m->values[0], 6);
	assert_num(&m->values[1], 17);
	assert_false(m->negate);
	assert_int_equal(fwd->rules[0].loc.line, 61);
	assert_int_equal(fwd->rules[0].flow_loc.col, 29);
	assert_true(ends_with(fwd->rules[0].loc.file, "fw4.nft"));

	/* rules elsewhere are parsed too: masquerade is kept as a statement */
	assert_int_equal(nft_table_chain(t, "srcnat_wan")->rules[0].matches[1].key,
	                 NFT_MATCH_UNSUPPORTED);
	assert_int_equal(rs->n_warnings, 0);
	nft_ruleset_free(rs);
}

static void test_debian(void **state)
{
	struct nft_ruleset *rs = load_ok("debian.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "filter");
	const struct nft_table *nat = get_table(rs, NFT_FAMILY_IP, "nat");
	const struct nft_flowtable *ft = nft_table_flowtable(t, "f");
	const struct nft_offload_rule *o;
	const struct nft_match *m;

	(void)state;
	assert_int_equal(rs->n_tables, 2);
	assert_ptr_equal(&rs->tables[0], nat); /* ip sorts before inet */
	assert_non_null(ft);
	assert_int_equal(ft->n_devices, 2);
	assert_string_equal(ft->devices[0], "enp1s0");
	assert_string_equal(ft->devices[1], "enp2s0");
	assert_true(ft->offload);
	assert_false(ft->counter);
	assert_int_equal(t->n_offload_rules, 1);
	o = &t->offload_rules[0];
	m = get_match(o->rule, NFT_MATCH_IP_PROTOCOL);
	assert_int_equal(m->n_values, 2);
	assert_num(&m->values[0], 6);
	assert_num(&m->values[1], 17);
	assert_int_equal(o->n_exclusions, 0);
	assert_int_equal(nat->n_flowtables, 0);
	assert_int_equal(nat->n_offload_rules, 0);
	/* input chain: `tcp dport ssh` resolves the service name */
	m = get_match(&nft_table_chain(t, "input")->rules[4], NFT_MATCH_TCP_DPORT);
	assert_num(&m->values[0], 22);
	/* ipv6-icmp is a protocol name, not a range */
	m = get_match(&nft_table_chain(t, "input")->rules[3], NFT_MATCH_L4PROTO);
	assert_int_equal(m->n_values, 2);
	assert_num(&m->values[0], 1);
	assert_num(&m->values[1], 58);
	nft_ruleset_free(rs);
}

static void test_connectx(void **state)
{
	struct nft_ruleset *rs = load_ok("connectx.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "cx");
	const struct nft_flowtable *ft = nft_table_flowtable(t, "cxft");
	const struct nft_offload_rule *o;
	const struct nft_match *m;

	(void)state;
	assert_non_null(ft);
	assert_int_equal(ft->priority, 10);
	assert_int_equal(ft->n_devices, 4);
	assert_string_equal(ft->devices[0], "p0");
	assert_string_equal(ft->devices[1], "pf0vf0_rep");
	assert_string_equal(ft->devices[3], "pf0vf2_rep");
	assert_int_equal(t->n_offload_rules, 1);
	o = &t->offload_rules[0];
	m = get_match(o->rule, NFT_MATCH_IIFNAME);
	assert_int_equal(m->n_values, 4);
	assert_name(&m->values[0], "p0");
	assert_name(&m->values[2], "pf0vf1_rep");
	m = get_match(o->rule, NFT_MATCH_OIFNAME);
	assert_int_equal(m->n_values, 4);
	assert_true(has_match(o->rule, NFT_MATCH_L4PROTO));
	/* exclusions: invalid dropped, spoofed sources dropped */
	assert_int_equal(o->n_exclusions, 2);
	assert_int_equal(o->exclusions[0]->verdict, NFT_VERDICT_DROP);
	m = get_match(o->exclusions[0], NFT_MATCH_CT_STATE);
	assert_num(&m->values[0], NFT_CT_STATE_INVALID);
	m = get_match(o->exclusions[1], NFT_MATCH_IP_SADDR);
	assert_true(m->negate);
	assert_v4(&m->values[0], "10.20.0.0", 16);
	assert_int_equal(get_match(o->exclusions[1], NFT_MATCH_IIFNAME)->n_values, 3);
	assert_string_equal(o->exclusions[1]->comment, "anti-spoofing");
	nft_ruleset_free(rs);
}

static void test_ssh_accept(void **state)
{
	struct nft_ruleset *rs = load_ok("ssh-accept.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_IP, "router");
	const struct nft_offload_rule *o;
	const struct nft_match *m;

	(void)state;
	assert_int_equal(t->n_offload_rules, 1);
	o = &t->offload_rules[0];
	assert_int_equal(get_match(o->rule, NFT_MATCH_L4PROTO)->values[0].num, 6);
	assert_int_equal(o->n_exclusions, 3);
	assert_true(o->exclusions_complete);
	assert_int_equal(o->exclusions[0]->verdict, NFT_VERDICT_ACCEPT);
	assert_int_equal(o->exclusions[0]->n_matches, 1);
	m = get_match(o->exclusions[0], NFT_MATCH_TCP_DPORT);
	assert_num(&m->values[0], 22);
	assert_int_equal(o->exclusions[0]->loc.line, 10);
	assert_int_equal(o->exclusions[1]->verdict, NFT_VERDICT_DROP);
	assert_num(&get_match(o->exclusions[1], NFT_MATCH_UDP_DPORT)->values[0], 53);
	assert_int_equal(o->exclusions[2]->verdict, NFT_VERDICT_REJECT);
	assert_v4(&get_match(o->exclusions[2], NFT_MATCH_IP_DADDR)->values[0], "192.0.2.10", 32);
	m = get_match(o->exclusions[2], NFT_MATCH_TCP_DPORT);
	assert_int_equal(m->n_values, 2);
	assert_num(&m->values[1], 443);
	nft_ruleset_free(rs);
}

static void test_inet_sets(void **state)
{
	struct nft_ruleset *rs = load_ok("inet-sets.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "edge");
	const struct nft_rule *r;
	const struct nft_match *m;
	char buf[INET_ADDRSTRLEN];

	(void)state;
	assert_int_equal(nft_table_flowtable(t, "ft")->priority, -10);
	assert_int_equal(t->n_offload_rules, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_true(t->offload_rules[i].rule->complete);
		assert_int_equal(t->offload_rules[i].n_exclusions, 0);
	}

	r = t->offload_rules[0].rule;
	m = get_match(r, NFT_MATCH_IP_SADDR);
	assert_int_equal(m->n_values, 3);
	assert_v4(&m->values[0], "10.0.0.0", 8);
	assert_v4(&m->values[1], "172.16.0.0", 12);
	assert_true(m->values[2].addr_range);
	inet_ntop(AF_INET, &m->values[2].addr_hi.v4, buf, sizeof(buf));
	assert_string_equal(buf, "192.168.10.50");
	m = get_match(r, NFT_MATCH_IP_DADDR);
	assert_true(m->negate);
	assert_v4(&m->values[0], "192.168.99.0", 24);
	m = get_match(r, NFT_MATCH_TCP_DPORT);
	assert_int_equal(m->n_values, 3);
	assert_num(&m->values[0], 80);
	assert_num(&m->values[1], 443);
	assert_range(&m->values[2], 8000, 8999);
	assert_range(&get_match(r, NFT_MATCH_TCP_SPORT)->values[0], 1024, 65535);

	r = t->offload_rules[1].rule;
	m = get_match(r, NFT_MATCH_IP6_SADDR);
	assert_int_equal(m->n_values, 2);
	assert_v6(&m->values[0], "2001:db8::", 32);
	assert_v6(&m->values[1], "fd00::", 8);
	m = get_match(r, NFT_MATCH_IP6_DADDR);
	assert_true(m->negate);
	assert_v6(&m->values[0], "::1", 128);
	assert_range(&get_match(r, NFT_MATCH_UDP_DPORT)->values[2], 5000, 5100);
	m = get_match(r, NFT_MATCH_UDP_SPORT);
	assert_true(m->negate);
	assert_num(&m->values[0], 0);

	r = t->offload_rules[2].rule;
	m = get_match(r, NFT_MATCH_IIFNAME);
	assert_int_equal(m->n_values, 2);
	assert_name(&m->values[1], "lan1");
	assert_name(&get_match(r, NFT_MATCH_OIFNAME)->values[0], "wan0");
	m = get_match(r, NFT_MATCH_CT_STATE);
	assert_int_equal(m->n_values, 2);
	assert_num(&m->values[0], NFT_CT_STATE_ESTABLISHED);
	assert_num(&m->values[1], NFT_CT_STATE_RELATED);
	assert_num(&get_match(r, NFT_MATCH_CT_ZONE)->values[0], 5);
	m = get_match(r, NFT_MATCH_META_MARK);
	assert_int_equal(m->mask, 0xff00);
	assert_num(&m->values[0], 0x100);

	r = t->offload_rules[3].rule;
	assert_num(&get_match(r, NFT_MATCH_IP_PROTOCOL)->values[0], 6);
	m = get_match(r, NFT_MATCH_CT_MARK);
	assert_int_equal(m->mask, 0xffffffffu);
	assert_num(&m->values[0], 42);
	/* `th dport` under `ip protocol tcp` is `tcp dport`, as nft lists it */
	assert_false(has_match(r, NFT_MATCH_TH_DPORT));
	assert_range(&get_match(r, NFT_MATCH_TCP_DPORT)->values[0], 22, 23);
	m = get_match(r, NFT_MATCH_L4PROTO);
	assert_true(m->negate);
	assert_num(&m->values[0], 1);

	r = t->offload_rules[4].rule;
	assert_int_equal(get_match(r, NFT_MATCH_IP6_NEXTHDR)->n_values, 2);
	assert_num(&get_match(r, NFT_MATCH_META_MARK)->values[0], 0x10);

	r = t->offload_rules[5].rule;
	assert_num(&get_match(r, NFT_MATCH_NFPROTO)->values[0], 2);
	assert_num(&get_match(r, NFT_MATCH_META_PROTOCOL)->values[0], 0x0800);
	assert_name(&get_match(r, NFT_MATCH_IIF)->values[0], "lo");
	assert_name(&get_match(r, NFT_MATCH_OIF)->values[0], "lo");
	assert_range(&get_match(r, NFT_MATCH_TCP_DPORT)->values[0], 0, 1023);
	nft_ruleset_free(rs);
}

static void test_multi_flowtables(void **state)
{
	struct nft_ruleset *rs = load_ok("multi-flowtables.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "router");

	(void)state;
	assert_int_equal(t->n_flowtables, 2);
	assert_string_equal(t->flowtables[0].name, "hw");
	assert_string_equal(t->flowtables[1].name, "sw");
	assert_true(t->flowtables[0].offload);
	assert_false(t->flowtables[1].offload);
	assert_int_equal(t->flowtables[1].priority, 5);
	assert_string_equal(t->flowtables[1].devices[0], "dmz");
	assert_int_equal(t->n_offload_rules, 3);
	assert_ptr_equal(t->offload_rules[0].flowtable, &t->flowtables[1]);
	assert_ptr_equal(t->offload_rules[1].flowtable, &t->flowtables[1]);
	assert_ptr_equal(t->offload_rules[2].flowtable, &t->flowtables[0]);
	/* flow add is not a verdict: the sw rules do not exclude anything from hw */
	assert_int_equal(t->offload_rules[2].n_exclusions, 0);
	assert_name(&get_match(t->offload_rules[0].rule, NFT_MATCH_IIFNAME)->values[0], "dmz");
	nft_ruleset_free(rs);
}

static void test_multi_tables(void **state)
{
	struct nft_ruleset *rs = load_ok("multi-tables.nft");
	const struct nft_table *v4, *v6;

	(void)state;
	assert_int_equal(rs->n_tables, 3);
	assert_int_equal(rs->tables[0].family, NFT_FAMILY_IP);
	assert_int_equal(rs->tables[1].family, NFT_FAMILY_IP6);
	assert_int_equal(rs->tables[2].family, NFT_FAMILY_INET);
	v4 = get_table(rs, NFT_FAMILY_IP, "v4");
	v6 = get_table(rs, NFT_FAMILY_IP6, "v6");
	assert_true(v4->flowtables[0].offload);
	assert_false(v6->flowtables[0].offload);
	assert_string_equal(v6->flowtables[0].devices[1], "eth2");
	assert_int_equal(v4->n_offload_rules, 1);
	assert_string_equal(v4->offload_rules[0].chain->name, "fwd4");
	assert_int_equal(v6->n_offload_rules, 1);
	assert_int_equal(v6->offload_rules[0].n_exclusions, 1);
	assert_v6(&get_match(v6->offload_rules[0].exclusions[0], NFT_MATCH_IP6_DADDR)->values[0],
	          "2001:db8:1::", 48);
	assert_num(&get_match(v6->offload_rules[0].rule, NFT_MATCH_IP6_NEXTHDR)->values[0], 17);
	assert_int_equal(rs->tables[2].n_offload_rules, 0);
	nft_ruleset_free(rs);
}

static void test_include_define(void **state)
{
	struct nft_ruleset *rs = load_ok("include-main.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "inc");
	const struct nft_flowtable *ft = nft_table_flowtable(t, "ft");
	const struct nft_rule *r;
	const struct nft_match *m;

	(void)state;
	assert_int_equal(ft->n_devices, 3);
	assert_string_equal(ft->devices[0], "eth0");
	assert_string_equal(ft->devices[2], "eth2");
	assert_int_equal(rs->n_files, 2);
	assert_int_equal(t->n_offload_rules, 1);
	r = t->offload_rules[0].rule;
	assert_true(ends_with(r->loc.file, "include-main.nft"));
	assert_int_equal(r->loc.line, 11);
	m = get_match(r, NFT_MATCH_IIFNAME);
	assert_int_equal(m->n_values, 2);
	assert_name(&m->values[0], "eth1");
	assert_name(&get_match(r, NFT_MATCH_OIFNAME)->values[0], "eth0");
	m = get_match(r, NFT_MATCH_L4PROTO);
	assert_int_equal(m->n_values, 2);
	/* a value from a define keeps the define's location */
	assert_true(ends_with(m->loc.file, "include-main.nft"));
	nft_ruleset_free(rs);
}

static void test_include_glob(void **state)
{
	struct nft_ruleset *rs = load_ok("include-glob.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "globbed");

	(void)state;
	assert_int_equal(rs->n_files, 3);
	assert_true(ends_with(t->flowtables[0].loc.file, "include.d/10-flowtable.nft"));
	assert_int_equal(t->n_offload_rules, 1);
	assert_true(ends_with(t->offload_rules[0].rule->loc.file, "include.d/20-forward.nft"));
	assert_int_equal(t->offload_rules[0].rule->loc.line, 4);
	nft_ruleset_free(rs);
}

static void test_netdev(void **state)
{
	struct nft_ruleset *rs = load_ok("netdev.nft");
	const struct nft_table *nd = get_table(rs, NFT_FAMILY_NETDEV, "filter");
	const struct nft_table *in = get_table(rs, NFT_FAMILY_INET, "routing");
	const struct nft_chain *c = nft_table_chain(nd, "ingress_eth0");

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->hook, "ingress");
	assert_int_equal(c->priority, -500);
	assert_int_equal(c->n_rules, 2);
	assert_int_equal(nd->n_offload_rules, 0);
	assert_int_equal(nd->n_flowtables, 0);
	assert_int_equal(in->n_offload_rules, 1);
	assert_int_equal(nft_table_chain(in, "forward")->policy, NFT_POLICY_NONE);
	nft_ruleset_free(rs);
}

static void test_unsupported(void **state)
{
	struct nft_ruleset *rs = load_ok("unsupported.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "u");
	const struct nft_offload_rule *o;
	const struct nft_match *m;
	size_t n_unsup = 0;

	(void)state;
	assert_int_equal(t->n_offload_rules, 3);
	o = &t->offload_rules[0];
	assert_false(o->rule->complete);
	assert_num(&get_match(o->rule, NFT_MATCH_L4PROTO)->values[0], 6);
	m = get_match(o->rule, NFT_MATCH_UNSUPPORTED);
	assert_string_equal(m->text, "meta skuid 1000");
	assert_non_null(strstr(m->reason, "meta skuid"));
	assert_int_equal(m->loc.line, 18);
	assert_int_equal(m->loc.col, 3);

	/* the exclusions are unparseable: a named set and a verdict map */
	assert_false(o->exclusions_complete);
	assert_int_equal(o->n_exclusions, 2);
	m = get_match(o->exclusions[0], NFT_MATCH_UNSUPPORTED);
	assert_non_null(strstr(m->reason, "named set @blocked"));
	assert_int_equal(o->exclusions[1]->verdict, NFT_VERDICT_VMAP);
	assert_non_null(
	    strstr(get_match(o->exclusions[1], NFT_MATCH_UNSUPPORTED)->reason, "verdict map"));

	o = &t->offload_rules[1];
	for (size_t i = 0; i < o->rule->n_matches; i++)
		if (o->rule->matches[i].key == NFT_MATCH_UNSUPPORTED)
			n_unsup++;
	assert_int_equal(n_unsup, 2);
	assert_string_equal(o->rule->matches[0].text, "ip dscp cs1");
	assert_non_null(strstr(o->rule->matches[1].reason, "concatenation"));

	o = &t->offload_rules[2];
	m = get_match(o->rule, NFT_MATCH_UNSUPPORTED);
	assert_non_null(strstr(m->reason, "meta mark set"));
	nft_ruleset_free(rs);
}

static void test_commands(void **state)
{
	struct nft_ruleset *rs = load_ok("commands.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "cmd");
	const struct nft_chain *fwd = nft_table_chain(t, "forward");

	(void)state;
	assert_non_null(get_table(rs, NFT_FAMILY_IP, "other"));
	assert_true(nft_table_flowtable(t, "ft")->offload);
	assert_int_equal(fwd->n_rules, 3);
	/* `insert rule` went first */
	assert_num(&get_match(&fwd->rules[0], NFT_MATCH_TCP_DPORT)->values[0], 25);
	assert_string_equal(fwd->rules[1].flowtable, "ft");
	assert_int_equal(t->n_offload_rules, 1);
	assert_int_equal(t->offload_rules[0].n_exclusions, 1);
	assert_int_equal(t->offload_rules[0].exclusions[0]->verdict, NFT_VERDICT_DROP);
	assert_false(nft_table_chain(t, "allowed")->base);
	assert_int_equal(nft_table_chain(t, "allowed")->n_rules, 1);
	nft_ruleset_free(rs);
}

static void test_priority(void **state)
{
	struct nft_ruleset *rs = load_ok("priority.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "prio");
	const struct nft_table *br = get_table(rs, NFT_FAMILY_BRIDGE, "br");
	int v;

	(void)state;
	assert_int_equal(nft_table_flowtable(t, "a")->priority, -5);
	assert_int_equal(nft_table_flowtable(t, "b")->priority, -200);
	assert_int_equal(nft_table_flowtable(t, "c")->priority, 300);
	assert_int_equal(nft_table_chain(t, "pre")->priority, -299);
	assert_int_equal(nft_table_chain(t, "fwd_main")->priority, -160);
	assert_int_equal(nft_table_chain(t, "post")->priority, 120);
	assert_int_equal(nft_table_chain(t, "sec")->priority, 50);
	assert_int_equal(nft_table_chain(br, "fwd_main")->priority, -200);
	assert_int_equal(nft_table_chain(br, "pre")->priority, -300);
	assert_int_equal(nft_table_chain(br, "out")->priority, 100);
	assert_int_equal(t->n_offload_rules, 1);

	assert_int_equal(nft_priority_keyword("srcnat", NFT_FAMILY_IP, "postrouting", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(nft_priority_keyword("srcnat", NFT_FAMILY_IP, "prerouting", &v), -1);
	assert_int_equal(nft_priority_keyword("raw", NFT_FAMILY_NETDEV, "ingress", &v), -1);
	assert_int_equal(nft_priority_keyword("filter", NFT_FAMILY_NETDEV, "ingress", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(nft_priority_keyword("filter", NFT_FAMILY_BRIDGE, "forward", &v), 0);
	assert_int_equal(v, -200);
	nft_ruleset_free(rs);
}

static void test_jumps(void **state)
{
	struct nft_ruleset *rs = load_ok("jumps.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "j");
	const struct nft_offload_rule *o;

	(void)state;
	assert_int_equal(t->n_offload_rules, 2);
	o = &t->offload_rules[0];
	/* counter-only rule and `continue` are not exclusions */
	assert_int_equal(o->n_exclusions, 4);
	assert_int_equal(o->exclusions[0]->verdict, NFT_VERDICT_JUMP);
	assert_string_equal(o->exclusions[0]->target, "from_wan");
	assert_int_equal(o->exclusions[0]->target_loc.col, 23);
	assert_int_equal(o->exclusions[1]->verdict, NFT_VERDICT_GOTO);
	assert_string_equal(o->exclusions[1]->target, "quarantine");
	assert_v4(&get_match(o->exclusions[1], NFT_MATCH_IP_DADDR)->values[0], "10.9.0.0", 16);
	assert_int_equal(o->exclusions[2]->verdict, NFT_VERDICT_QUEUE);
	assert_num(&get_match(o->exclusions[2], NFT_MATCH_UDP_DPORT)->values[0], 1194);
	assert_int_equal(o->exclusions[3]->verdict, NFT_VERDICT_RETURN);
	assert_num(&get_match(o->exclusions[3], NFT_MATCH_META_MARK)->values[0], 0xdead);
	o = &t->offload_rules[1];
	assert_int_equal(o->n_exclusions, 5);
	assert_int_equal(o->exclusions[4]->verdict, NFT_VERDICT_ACCEPT);
	assert_name(&get_match(o->exclusions[4], NFT_MATCH_OIFNAME)->values[0], "eth1");
	nft_ruleset_free(rs);
}

static void test_syntax_forms(void **state)
{
	struct nft_ruleset *rs = load_ok("syntax-forms.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_IP, "syn");
	const struct nft_chain *c = nft_table_chain(t, "forward");
	const struct nft_match *m;

	(void)state;
	assert_true(nft_table_flowtable(t, "ft")->counter);
	assert_int_equal(c->n_rules, 4);
	assert_int_equal(t->n_offload_rules, 2);
	m = get_match(t->offload_rules[0].rule, NFT_MATCH_TCP_DPORT);
	assert_int_equal(m->n_values, 2);
	assert_num(&m->values[1], 443);
	assert_string_equal(t->offload_rules[0].rule->comment, "web");
	assert_int_equal(t->offload_rules[0].rule->loc.line, 5);
	assert_int_equal(t->offload_rules[0].n_exclusions, 1);
	/* the second declaration of the chain appended; limit is skipped */
	assert_int_equal(c->rules[2].verdict, NFT_VERDICT_DROP);
	assert_int_equal(c->rules[2].n_matches, 1);
	assert_int_equal(t->offload_rules[1].rule->loc.line, 10);
	assert_int_equal(t->offload_rules[1].rule->loc.col, 50);
	assert_int_equal(t->offload_rules[1].n_exclusions, 2);
	nft_ruleset_free(rs);
}

static void test_flush_delete(void **state)
{
	struct nft_ruleset *rs = load_ok("flush-delete.nft");

	(void)state;
	assert_int_equal(rs->n_tables, 1);
	assert_null(nft_ruleset_table(rs, NFT_FAMILY_IP, "old"));
	assert_int_equal(get_table(rs, NFT_FAMILY_IP, "fresh")->n_offload_rules, 1);
	assert_int_equal(rs->n_warnings, 1);
	assert_non_null(strstr(rs->warnings[0], "flush-delete.nft:17:1: warning: 'delete table'"));
	nft_ruleset_free(rs);
}

static void test_regular_chain_flow(void **state)
{
	struct nft_ruleset *rs = load_ok("regular-chain-flow.nft");
	const struct nft_table *t = get_table(rs, NFT_FAMILY_INET, "r");

	(void)state;
	assert_int_equal(t->n_offload_rules, 0);
	assert_string_equal(nft_table_chain(t, "do_offload")->rules[0].flowtable, "ft");
	assert_int_equal(rs->n_warnings, 1);
	assert_non_null(strstr(rs->warnings[0], "do_offload"));
	nft_ruleset_free(rs);
}

/* Protocol matches another match implies are dropped, as nft drops them when it lists a ruleset:
 * the model of a file and of the kernel's listing must agree. */
static void test_implied_dependencies(void **state)
{
	static const char text[] =
	    "table inet t {\n chain f {\n  type filter hook forward priority 0;\n"
	    "  meta nfproto ipv6 icmpv6 type echo-request accept\n"
	    "  meta l4proto tcp tcp dport 22 accept\n"
	    "  meta nfproto ipv4 tcp dport 80 accept\n"
	    "  meta l4proto udp th dport 53 accept\n }\n}\n";
	struct nft_ruleset *rs = NULL;
	struct nft_error err = {0};
	const struct nft_chain *c;

	assert_int_equal(nft_parse_buffer(text, strlen(text), "deps.nft", &rs, &err), 0);
	c = &rs->tables[0].chains[0];
	assert_int_equal(c->n_rules, 4);
	assert_int_equal(c->rules[0].n_matches, 1); /* icmpv6 type (unsupported) alone */
	assert_int_equal(c->rules[0].matches[0].key, NFT_MATCH_UNSUPPORTED);
	assert_int_equal(c->rules[1].n_matches, 1); /* tcp dport 22 alone */
	assert_int_equal(c->rules[1].matches[0].key, NFT_MATCH_TCP_DPORT);
	assert_int_equal(c->rules[2].n_matches, 2); /* tcp implies no family: nfproto stays */
	assert_true(has_match(&c->rules[2], NFT_MATCH_NFPROTO));
	/* th dport under udp is udp dport, which then implies the l4proto: `udp dport 53` */
	assert_int_equal(c->rules[3].n_matches, 1);
	assert_int_equal(c->rules[3].matches[0].key, NFT_MATCH_UDP_DPORT);
	nft_ruleset_free(rs);
}

static void test_buffer_api(void **state)
{
	static const char text[] = "include \"include-defs.nft\"\n"
	                           "table netdev n { flowtable f { hook ingress priority 0; "
	                           "devices = $lan_ifs; }; }\n";
	struct nft_ruleset *rs = NULL;
	struct nft_error err;
	char *name = data_path("virtual.nft");
	const struct nft_table *t;

	(void)state;
	/* includes resolve against the display name's directory */
	assert_int_equal(nft_parse_buffer(text, strlen(text), name, &rs, &err), 0);
	t = get_table(rs, NFT_FAMILY_NETDEV, "n");
	assert_int_equal(t->flowtables[0].n_devices, 2);
	assert_string_equal(t->flowtables[0].loc.file, name);
	nft_ruleset_free(rs);

	/* empty input is an empty ruleset */
	assert_int_equal(nft_parse_buffer("", 0, "empty", &rs, &err), 0);
	assert_int_equal(rs->n_tables, 0);
	nft_ruleset_free(rs);
	assert_int_equal(nft_parse_buffer(NULL, 0, NULL, &rs, NULL), 0);
	nft_ruleset_free(rs);
	free(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fw4),
	    cmocka_unit_test(test_debian),
	    cmocka_unit_test(test_connectx),
	    cmocka_unit_test(test_ssh_accept),
	    cmocka_unit_test(test_inet_sets),
	    cmocka_unit_test(test_multi_flowtables),
	    cmocka_unit_test(test_multi_tables),
	    cmocka_unit_test(test_include_define),
	    cmocka_unit_test(test_include_glob),
	    cmocka_unit_test(test_netdev),
	    cmocka_unit_test(test_unsupported),
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_priority),
	    cmocka_unit_test(test_jumps),
	    cmocka_unit_test(test_syntax_forms),
	    cmocka_unit_test(test_flush_delete),
	    cmocka_unit_test(test_regular_chain_flow),
	    cmocka_unit_test(test_buffer_api),
	    cmocka_unit_test(test_implied_dependencies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
