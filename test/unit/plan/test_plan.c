/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Planner tests: inline rulesets through the parser, plan_build and the renderers. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

/* Devices: pseudo ifindexes in order of first lookup. Names starting with "mlx" have the
 * mlx5_core driver, "mtk" mtk_soc_eth, "veth" veth; "gone*" does not exist; any other name is
 * not present (translate's case without --profile). */
struct fixture {
	char names[32][IFNAMSIZ];
	size_t n;
	struct profile_set profiles;
	struct plan_opts opts;
	struct nft_ruleset *rs;
	struct plan *plan;
	char *text;
	bool no_render; /* port masks: tc_print matches ports exactly */
};

static int resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	struct fixture *f = ctx;
	size_t i;

	if (strncmp(ifname, "gone", 4) == 0)
		return -ENODEV;
	for (i = 0; i < f->n; i++)
		if (strcmp(f->names[i], ifname) == 0)
			break;
	if (i == f->n)
		snprintf(f->names[f->n++], IFNAMSIZ, "%s", ifname);
	memset(info, 0, sizeof(*info));
	info->ifindex = (uint32_t)i + 1;
	if (strncmp(ifname, "mlx", 3) == 0)
		snprintf(info->driver, sizeof(info->driver), "mlx5_core");
	else if (strncmp(ifname, "mtk", 3) == 0)
		snprintf(info->driver, sizeof(info->driver), "mtk_soc_eth");
	else if (strncmp(ifname, "veth", 4) == 0)
		snprintf(info->driver, sizeof(info->driver), "veth");
	info->present = info->driver[0] != '\0';
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[PROFILE_ERR_MAX];

	assert_non_null(f);
	profile_set_init(&f->profiles);
	assert_int_equal(profile_set_load_builtin(&f->profiles, err, sizeof(err)), 0);
	plan_opts_init(&f->opts);
	f->opts.profiles = &f->profiles;
	f->opts.resolve = resolve;
	f->opts.resolve_ctx = f;
	f->opts.force_profile = "generic-ct";
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->text);
	plan_free(f->plan);
	nft_ruleset_free(f->rs);
	profile_set_free(&f->profiles);
	free(f);
	return 0;
}

/* Parses src (the body of `table FAMILY t`), with flowtable ft on devices and a forward chain
 * with the given rules, then plans and renders it. */
static void build_raw(struct fixture *f, const char *text)
{
	struct nft_error err;
	char perr[512];

	free(f->text);
	plan_free(f->plan);
	nft_ruleset_free(f->rs);
	f->text = NULL;
	f->plan = NULL;
	f->rs = NULL;
	memset(&err, 0, sizeof(err));
	if (nft_parse_buffer(text, strlen(text), "t.nft", &f->rs, &err) != 0) {
		fprintf(stderr, "%s", err.formatted ? err.formatted : "parse error\n");
		nft_error_clear(&err);
		fail();
	}
	assert_int_equal(plan_build(f->rs, &f->opts, &f->plan, perr, sizeof(perr)), 0);
	if (f->no_render)
		return;
	f->text = plan_render_text(f->plan, NULL);
	assert_non_null(f->text);
}

static void build(struct fixture *f, const char *family, const char *devices, const char *rules)
{
	char buf[16384];

	snprintf(buf, sizeof(buf),
	         "table %s t {\n"
	         "\tflowtable ft {\n\t\thook ingress priority 0; devices = { %s };\n\t}\n"
	         "\tchain forward {\n\t\ttype filter hook forward priority 0;\n%s\n\t}\n}\n",
	         family, devices, rules);
	build_raw(f, buf);
}

static const struct plan_flowtable *ft0(const struct fixture *f)
{
	assert_true(f->plan->n_flowtables >= 1);
	return &f->plan->flowtables[0];
}

/* The rule lines of the rendering, in order (at most max), as pointers into a copy. */
static size_t rule_lines(const struct fixture *f, char **lines, size_t max, char **copy)
{
	size_t n = 0;
	char *save = NULL, *line;

	*copy = strdup(f->text);
	assert_non_null(*copy);
	for (line = strtok_r(*copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "filter ", 7) == 0 && n < max)
			lines[n++] = line;
	return n;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle)) {
		fprintf(stderr, "expected to find:\n  %s\nin:\n%s\n", needle, hay ? hay : "(null)");
		fail();
	}
}

static const struct plan_block *block0(const struct fixture *f)
{
	const struct plan_flowtable *pf = ft0(f);

	assert_true(pf->n_blocks >= 1);
	return &pf->blocks[0];
}

static void test_simple_inet(void **state)
{
	struct fixture *f = *state;
	const struct plan_flowtable *pf;
	const struct tc_rule *r;
	char *lines[16], *copy;
	size_t n;

	f->opts.cookie_len = 4;
	memcpy(f->opts.cookie, "\x01\x02\x03\x04", 4);
	build(f, "inet", "eth0, eth1", "meta l4proto { tcp, udp } flow add @ft");
	pf = ft0(f);
	assert_null(pf->reason);
	assert_int_equal(pf->strategy, PROFILE_STRATEGY_CT);
	assert_int_equal(pf->n_blocks, 1);
	assert_int_equal(pf->blocks[0].n_rules, 8);
	r = &pf->blocks[0].rules[0];
	assert_int_equal(r->id.hook, TC_HOOK_INGRESS);
	assert_int_equal(r->id.chain, 0);
	assert_int_equal(r->id.prio, PLAN_DEFAULT_PRIO_BASE);
	assert_int_equal(r->flower.mask.ct_state, TC_CT_TRACKED);
	assert_int_equal(r->flower.key.ct_state, 0);
	assert_false(r->flower.skip_sw);
	assert_int_equal(r->n_actions, 2);
	assert_int_equal(r->actions[0].kind, TC_ACTION_CT);
	assert_int_equal(r->actions[0].ct.flags, TC_CT_NAT);
	assert_int_equal(r->actions[0].ct.zone, 0);
	assert_int_equal(r->actions[0].verdict, TC_VERDICT_PIPE);
	assert_int_equal(r->actions[1].verdict, TC_VERDICT_GOTO_CHAIN);
	assert_int_equal(r->actions[1].goto_chain, 1);
	assert_int_equal(r->cookie_len, 4);

	n = rule_lines(f, lines, 16, &copy);
	assert_int_equal(n, 8);
	assert_string_equal(lines[0], "filter add dev eth0 ingress protocol ip pref 4096 chain 0 "
	                              "flower ip_proto tcp ct_state -trk action ct nat pipe cookie "
	                              "01020304 action goto chain 1 cookie 01020304");
	assert_contains(lines[1], "dev eth0 ingress protocol ip pref 4097 chain 0 flower ip_proto "
	                          "udp ct_state -trk action ct nat pipe");
	assert_contains(lines[2], "dev eth0 ingress protocol ipv6 pref 4098 chain 0 flower "
	                          "ip_proto tcp ct_state -trk");
	assert_contains(lines[3], "dev eth0 ingress protocol ipv6 pref 4099 chain 0 flower "
	                          "ip_proto udp ct_state -trk");
	assert_contains(lines[4], "dev eth1 ingress protocol ip pref 4096 ");
	free(copy);
	assert_contains(f->text, "qdisc replace dev eth0 clsact\nqdisc replace dev eth1 clsact\n");
	assert_contains(f->text, "# table inet t, flowtable ft (t.nft:2): strategy ct, profile "
	                         "generic-ct on eth0, eth1\n");
	assert_contains(
	    f->text, "# chain 1 forwarding rules are built at run time from routes and neighbours");
}

static void test_no_l4_note_and_zone(void **state)
{
	struct fixture *f = *state;
	const struct plan_block *b;

	f->opts.zone = 7;
	f->opts.zone_set = true;
	f->opts.ct_nat = false;
	build(f, "ip", "eth0", "ct zone 9 flow add @ft");
	b = block0(f);
	assert_int_equal(b->n_rules, 2); /* IPv4 only: tcp, udp */
	assert_int_equal(b->rules[0].actions[0].ct.zone, 9);
	assert_int_equal(b->rules[0].actions[0].ct.flags, 0);
	assert_int_equal(b->rules[0].id.protocol, 0x0800);
	assert_contains(b->comment, "only TCP and UDP connections are offloadable");
	assert_contains(b->comment, "zone 9 from `ct zone 9` replaces zone 7");
}

static void test_ssh_exclusion(void **state)
{
	struct fixture *f = *state;
	char *lines[16], *copy;
	size_t n;

	build(f, "ip", "eth0", "tcp dport 22 accept\nmeta l4proto tcp flow add @ft");
	n = rule_lines(f, lines, 16, &copy);
	assert_int_equal(n, 3);
	assert_string_equal(lines[0], "filter add dev eth0 ingress protocol ip pref 4096 chain 0 "
	                              "flower ip_proto tcp dst_port 22 action pass");
	assert_string_equal(lines[1], "filter add dev eth0 ingress protocol ip pref 4097 chain 0 "
	                              "flower ip_proto tcp src_port 22 action pass");
	assert_string_equal(lines[2], "filter add dev eth0 ingress protocol ip pref 4098 chain 0 "
	                              "flower ip_proto tcp ct_state -trk action ct nat pipe action "
	                              "goto chain 1");
	free(copy);
	assert_contains(block0(f)->comment, "excluded (reply direction): IPv4; tcp; sport 22");
}

/* Equal rules are made once per device: an exclusion written twice; and with a set of a few
 * hundred elements, exclusions that overlap once expanded (the index that finds them keeps
 * planning linear). */
static void test_duplicates_dropped(void **state)
{
	struct fixture *f = *state;
	char rules[12000];
	size_t at;

	build(f, "ip", "eth0",
	      "tcp dport 22 accept\ntcp dport 22 accept\nmeta l4proto tcp flow add @ft");
	assert_int_equal(block0(f)->n_rules, 3); /* pass dport 22, pass sport 22, ct */

	/* the same exclusion of 300 addresses twice: 600 pass rules (both directions), one ct */
	at = 0;
	for (int copy = 0; copy < 2; copy++) {
		at += (size_t)snprintf(rules + at, sizeof(rules) - at, "ip saddr { ");
		for (int i = 0; i < 300; i++)
			at += (size_t)snprintf(rules + at, sizeof(rules) - at, "%s10.%d.%d.0/24",
			                       i ? ", " : "", i / 100, 2 * (i % 100));
		at += (size_t)snprintf(rules + at, sizeof(rules) - at, " } tcp dport 22 accept\n");
	}
	snprintf(rules + at, sizeof(rules) - at, "meta l4proto tcp flow add @ft");
	f->opts.max_rules = 1000;
	build(f, "ip", "eth0", rules);
	assert_int_equal(block0(f)->n_rules, 601);
}

static void test_exclusion_restricted_to_rule(void **state)
{
	struct fixture *f = *state;

	/* icmp can't reach a tcp-only rule; udp 53 neither */
	build(f, "inet", "eth0",
	      "meta l4proto icmp accept\nudp dport 53 accept\nmeta l4proto tcp flow add @ft");
	assert_int_equal(block0(f)->n_rules, 2);
	assert_int_equal(block0(f)->rules[0].n_actions, 2);
}

static void test_address_prefix_set(void **state)
{
	struct fixture *f = *state;
	const struct plan_block *b;
	char *lines[16], *copy;
	size_t n;

	build(f, "ip", "eth0",
	      "ip saddr { 10.0.0.0/8, 192.168.1.0/24 } ip daddr 198.51.100.7 meta l4proto tcp flow "
	      "add @ft");
	b = block0(f);
	assert_int_equal(b->n_rules, 2);
	assert_int_equal(b->rules[0].flower.key.src.v4.s_addr, htonl(0x0a000000));
	assert_int_equal(b->rules[0].flower.mask.src.v4.s_addr, htonl(0xff000000));
	assert_int_equal(b->rules[1].flower.mask.src.v4.s_addr, htonl(0xffffff00));
	assert_int_equal(b->rules[1].flower.mask.dst.v4.s_addr, 0xffffffff);
	n = rule_lines(f, lines, 16, &copy);
	assert_int_equal(n, 2);
	assert_contains(lines[0], "flower ip_proto tcp src_ip 10.0.0.0/8 dst_ip 198.51.100.7 "
	                          "ct_state -trk");
	assert_contains(lines[1], "src_ip 192.168.1.0/24 dst_ip 198.51.100.7");
	free(copy);
}

static void test_address_range_split(void **state)
{
	struct fixture *f = *state;
	const struct plan_block *b;

	build(f, "ip", "eth0", "ip saddr 10.0.0.1-10.0.0.6 meta l4proto udp flow add @ft");
	b = block0(f);
	/* 10.0.0.1/32, 10.0.0.2/31, 10.0.0.4/31, 10.0.0.6/32 */
	assert_int_equal(b->n_rules, 4);
	assert_int_equal(b->rules[0].flower.key.src.v4.s_addr, htonl(0x0a000001));
	assert_int_equal(b->rules[0].flower.mask.src.v4.s_addr, 0xffffffff);
	assert_int_equal(b->rules[1].flower.key.src.v4.s_addr, htonl(0x0a000002));
	assert_int_equal(b->rules[1].flower.mask.src.v4.s_addr, htonl(0xfffffffe));
	assert_int_equal(b->rules[2].flower.key.src.v4.s_addr, htonl(0x0a000004));
	assert_int_equal(b->rules[3].flower.key.src.v4.s_addr, htonl(0x0a000006));
	assert_int_equal(b->rules[3].flower.mask.src.v4.s_addr, 0xffffffff);
}

static void test_port_range_blocks(void **state)
{
	struct fixture *f = *state;
	static const uint16_t want[][2] = {
	    {1000, 0xfff8}, {1008, 0xfff0}, {1024, 0xfe00}, {1536, 0xff00},
	    {1792, 0xff80}, {1920, 0xffc0}, {1984, 0xfff0},
	};
	const struct plan_block *b;

	f->opts.port_masks = true;
	f->no_render = true;
	build(f, "ip", "eth0", "tcp dport 1000-1999 flow add @ft");
	b = block0(f);
	assert_int_equal(b->n_rules, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(b->rules[i].flower.key.dst_port, want[i][0]);
		assert_int_equal(b->rules[i].flower.mask.dst_port, want[i][1]);
		assert_int_equal(b->rules[i].flower.key.ip_proto, 6);
	}
}

static void test_port_set_exact(void **state)
{
	struct fixture *f = *state;
	const struct plan_block *b;

	build(f, "ip", "eth0", "udp dport { 53, 67-68 } flow add @ft");
	b = block0(f);
	assert_int_equal(b->n_rules, 3);
	assert_int_equal(b->rules[0].flower.key.dst_port, 53);
	assert_int_equal(b->rules[1].flower.key.dst_port, 67);
	assert_int_equal(b->rules[2].flower.key.dst_port, 68);
	assert_int_equal(b->rules[2].flower.mask.dst_port, 0xffff);
}

static void test_rule_cap(void **state)
{
	struct fixture *f = *state;
	const struct plan_flowtable *pf;

	/* exact ports (the default): 1000 rules */
	build(f, "ip", "eth0", "tcp dport 1000-1999 flow add @ft");
	pf = ft0(f);
	assert_non_null(pf->reason);
	assert_contains(pf->reason, "needs 1000 rules on eth0, more than the cap of 256");
	assert_contains(f->text, "# not offloaded: rule t.nft:7: needs 1000 rules");
}

static void test_iifname_devices(void **state)
{
	struct fixture *f = *state;
	const struct plan_block *b;

	build(f, "ip", "lan0, lan1, wan0",
	      "iifname \"lan*\" iifname != \"lan1\" meta l4proto tcp flow add @ft");
	b = block0(f);
	assert_int_equal(b->n_rules, 1);
	assert_contains(f->text, "filter add dev lan0 ");
	assert_null(strstr(f->text, "filter add dev lan1 "));
	assert_null(strstr(f->text, "filter add dev wan0 "));
	assert_null(strstr(f->text, "qdisc replace dev wan0"));
}

static void test_iifname_none(void **state)
{
	struct fixture *f = *state;

	build(f, "ip", "eth0", "iifname \"lo\" flow add @ft");
	assert_contains(ft0(f)->reason, "iifname/iif matches select none");
}

static void test_oifname_recorded(void **state)
{
	struct fixture *f = *state;
	const struct plan_flowtable *pf;

	build(f, "ip", "eth0, eth1", "oifname \"eth1\" meta l4proto tcp flow add @ft");
	pf = ft0(f);
	assert_int_equal(pf->blocks[0].n_rules, 2);
	assert_int_equal(pf->offloads[0].elig.match.n_oif, 1);
	assert_true(plan_spec_oif_ok(&pf->offloads[0].elig.match, "eth1"));
	assert_false(plan_spec_oif_ok(&pf->offloads[0].elig.match, "eth0"));
	assert_contains(pf->blocks[0].comment, "egress restriction `oifname \"eth1\"`");
}

static void test_negation_exclusion(void **state)
{
	struct fixture *f = *state;
	char *lines[16], *copy;
	size_t n;

	build(f, "ip", "eth0", "ip saddr != 10.0.0.0/8 meta l4proto tcp flow add @ft");
	n = rule_lines(f, lines, 16, &copy);
	assert_int_equal(n, 3);
	assert_contains(lines[0], "pref 4096 chain 0 flower ip_proto tcp src_ip 10.0.0.0/8 action "
	                          "pass");
	assert_contains(lines[1], "pref 4097 chain 0 flower ip_proto tcp dst_ip 10.0.0.0/8 action "
	                          "pass");
	assert_contains(lines[2], "pref 4098 chain 0 flower ip_proto tcp ct_state -trk action ct");
	free(copy);
	assert_true(ft0(f)->offloads[0].elig.exclusions[0].from_negation);
}

static void test_unsupported_refused(void **state)
{
	struct fixture *f = *state;

	build(f, "inet", "eth0", "meta skuid 1000 flow add @ft");
	assert_contains(ft0(f)->reason, "match `meta skuid 1000` at t.nft:7:1 cannot be expressed "
	                                "in tc flower");
}

static void test_meta_mark_refused(void **state)
{
	struct fixture *f = *state;

	build(f, "inet", "eth0", "meta mark 0x10 flow add @ft");
	assert_contains(ft0(f)->reason, "match `meta mark 0x10` at t.nft:7:1 cannot be expressed");
}

static void test_ct_state(void **state)
{
	struct fixture *f = *state;

	build(f, "inet", "eth0", "ct state new flow add @ft");
	assert_contains(ft0(f)->reason, "excludes established connections");
}

static void test_exclusion_narrowed(void **state)
{
	struct fixture *f = *state;
	char *lines[16], *copy;
	size_t n;

	build(f, "ip", "eth0", "meta mark 0x1 tcp dport 22 accept\nmeta l4proto tcp flow add @ft");
	assert_contains(block0(f)->comment, "narrowed: `meta mark 0x1` at t.nft:7:1 dropped from "
	                                    "the exclusion");
	n = rule_lines(f, lines, 16, &copy);
	assert_int_equal(n, 3);
	assert_contains(lines[0], "ip_proto tcp dst_port 22 action pass");
	free(copy);
}

static void test_exclusion_everything(void **state)
{
	struct fixture *f = *state;

	build(f, "ip", "eth0", "meta mark 0x1 accept\nmeta l4proto tcp flow add @ft");
	assert_contains(ft0(f)->reason, "exclusion `meta mark 0x1 accept` (t.nft:7) excludes every "
	                                "packet this rule would offload");
}

static void test_exclusion_ct_state(void **state)
{
	struct fixture *f = *state;

	build(f, "ip", "eth0",
	      "ct state invalid drop\nmeta l4proto tcp flow add @ft\nct state established accept");
	assert_null(ft0(f)->reason);
	assert_contains(block0(f)->comment, "matches no established connection: ignored");
}

static void test_exclusion_iifname(void **state)
{
	struct fixture *f = *state;

	build(f, "ip", "eth0, eth1",
	      "iifname \"eth1\" tcp dport 25 drop\nmeta l4proto tcp flow add @ft");
	assert_contains(f->text, "filter add dev eth1 ingress protocol ip pref 4096 chain 0 flower "
	                         "ip_proto tcp dst_port 25 action pass");
	assert_null(strstr(f->text,
	                   "dev eth0 ingress protocol ip pref 4096 chain 0 flower ip_proto "
	                   "tcp dst_port 25"));
	/* drop: no mirror */
	assert_int_equal(ft0(f)->offloads[0].elig.n_exclusions, 1);
}

static void test_no_flow_rule(void **state)
{
	struct fixture *f = *state;

	build_raw(f, "table ip t {\n\tflowtable ft {\n\t\thook ingress priority 0; devices = { "
	             "eth0 };\n\t}\n\tflowtable ft2 {\n\t\thook ingress priority 0; devices = { "
	             "eth1 };\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority "
	             "0;\n\t\tflow add @ft\n\t}\n}\n");
	assert_int_equal(f->plan->n_flowtables, 2);
	assert_null(f->plan->flowtables[0].reason);
	assert_string_equal(f->plan->flowtables[1].reason, "no `flow add @ft2` rule refers to it");
	assert_contains(f->text, "# table ip t, flowtable ft2 (t.nft:5)\n# not offloaded: no `flow "
	                         "add @ft2` rule refers to it\n");
}

static void test_not_reached(void **state)
{
	struct fixture *f = *state;

	build_raw(f, "table ip t {\n\tflowtable ft {\n\t\thook ingress priority 0; devices = { "
	             "eth0 };\n\t}\n\tchain other {\n\t\tflow add @ft\n\t}\n}\n");
	assert_contains(f->plan->flowtables[0].reason, "sits in chain other, which no forward hook "
	                                               "reaches");
}

static void test_mixed_strategies(void **state)
{
	struct fixture *f = *state;

	f->opts.force_profile = NULL;
	build(f, "inet", "mlx0, mtk0", "flow add @ft");
	assert_string_equal(ft0(f)->reason,
	                    "its devices resolve to profiles of different "
	                    "strategies: ct on mlx0 (mlx5); flow on mtk0 (mtk-ppe)");
}

static void test_device_not_present(void **state)
{
	struct fixture *f = *state;

	f->opts.force_profile = NULL;
	build(f, "inet", "eth0, gone0", "flow add @ft");
	assert_contains(ft0(f)->reason,
	                "no profile matches its devices (eth0: no profile: device "
	                "not present (use --profile); gone0: device does not exist)");
	build(f, "inet", "gone0, gone1", "flow add @ft");
	assert_string_equal(ft0(f)->reason, "none of its devices exists");
}

static void test_profile_refuses_pass(void **state)
{
	struct fixture *f = *state;
	struct profile p;
	char err[PROFILE_ERR_MAX];
	static const char conf[] =
	    "[profile]\nname = nogact\nstrategy = ct\n"
	    "[offload]\nkeys = eth_type ip_proto ipv4 ports ct_state\n"
	    "ct_state = -trk +trk +est\nactions = ct ct_nat goto\n"
	    "hooks = ingress\nskip_sw = no\nmax_actions = 8\nct_zones = 0-65535\n"
	    "[limits]\ncapacity = 0\nstats_interval_ms = 1000\n";

	/* A profile without gact: pass rules are refused, so the exclusion can't be enforced
	 * and the device gets no rules */
	if (profile_parse(conf, "nogact.conf", &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		fail();
	}
	assert_int_equal(profile_set_add(&f->profiles, &p, false, err, sizeof(err)), 0);
	f->opts.force_profile = "nogact";
	build(f, "ip", "eth0", "tcp dport 22 accept\nmeta l4proto tcp flow add @ft");
	assert_non_null(ft0(f)->reason);
	assert_contains(ft0(f)->reason, "eth0: exclusion rule refused (profile nogact");
}

static void test_profile_refuses_ct_rule(void **state)
{
	struct fixture *f = *state;
	struct profile p;
	char err[PROFILE_ERR_MAX];
	static const char conf[] =
	    "[profile]\nname = v4only\nstrategy = ct\n"
	    "[offload]\nkeys = eth_type ip_proto ipv4 ports ct_state\n"
	    "ct_state = -trk +trk +est\nactions = ct ct_nat goto gact\n"
	    "hooks = ingress\nskip_sw = no\nmax_actions = 8\nct_zones = 0-65535\n"
	    "[limits]\ncapacity = 0\nstats_interval_ms = 1000\n";

	if (profile_parse(conf, "v4only.conf", &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		fail();
	}
	assert_int_equal(profile_set_add(&f->profiles, &p, false, err, sizeof(err)), 0);
	f->opts.force_profile = "v4only";
	build(f, "inet", "eth0",
	      "ip6 daddr 2001:db8::/32 meta l4proto tcp flow add @ft\n"
	      "ip daddr 192.0.2.0/24 meta l4proto tcp flow add @ft");
	assert_null(ft0(f)->reason);
	assert_int_equal(ft0(f)->n_blocks, 2);
	assert_true(ft0(f)->offloads[0].refused);
	assert_int_equal(ft0(f)->blocks[0].n_rules, 0);
	assert_contains(ft0(f)->blocks[0].comment, "eth0: rule refused (profile v4only");
	assert_int_equal(ft0(f)->blocks[1].n_rules, 1);
	assert_int_equal(ft0(f)->blocks[1].rules[0].id.protocol, 0x0800);
}

static void test_flow_strategy(void **state)
{
	struct fixture *f = *state;
	const struct plan_flowtable *pf;
	struct plan_tuple t = {.family = AF_INET, .proto = 6, .sport = 40000, .dport = 443};

	f->opts.force_profile = "mtk-ppe";
	build(f, "ip", "eth0, eth1", "tcp dport 22 accept\nmeta l4proto tcp flow add @ft");
	pf = ft0(f);
	assert_null(pf->reason);
	assert_int_equal(pf->strategy, PROFILE_STRATEGY_FLOW);
	assert_int_equal(pf->blocks[0].n_rules, 0);
	assert_int_equal(pf->blocks[0].n_template_lines, 2);
	assert_contains(f->text, "# filter add dev <orig.in> ingress protocol ip pref <prio> chain "
	                         "0 handle <handle> flower indev <orig.in> ip_proto tcp");
	assert_contains(f->text, "tcp_flags 0x0/0x5 skip_sw action pedit ex munge eth src set "
	                         "<egress mac>");
	assert_null(strstr(f->text, "qdisc"));
	assert_int_equal(pf->offloads[0].elig.n_exclusions, 2);
	inet_pton(AF_INET, "192.0.2.1", &t.saddr.v4);
	inet_pton(AF_INET, "198.51.100.1", &t.daddr.v4);
	assert_true(plan_spec_match_tuple(&pf->offloads[0].elig.match, &t));
	assert_false(plan_spec_match_tuple(&pf->offloads[0].elig.exclusions[0].match, &t));
	t.dport = 22;
	assert_true(plan_spec_match_tuple(&pf->offloads[0].elig.exclusions[0].match, &t));
	t.proto = 17;
	assert_false(plan_spec_match_tuple(&pf->offloads[0].elig.match, &t));
}

static void test_json(void **state)
{
	struct fixture *f = *state;
	json_error_t jerr;
	json_t *root, *ft;
	char *s;

	build(f, "ip", "eth0", "meta l4proto tcp flow add @ft");
	s = plan_render_json(f->plan, NULL);
	assert_non_null(s);
	root = json_loads(s, 0, &jerr);
	free(s);
	assert_non_null(root);
	ft = json_array_get(json_object_get(root, "flowtables"), 0);
	assert_string_equal(json_string_value(json_object_get(ft, "strategy")), "ct");
	assert_string_equal(json_string_value(json_object_get(ft, "flowtable")), "ft");
	assert_true(json_is_null(json_object_get(ft, "reason")));
	assert_int_equal(json_array_size(json_object_get(
	                     json_array_get(json_object_get(ft, "blocks"), 0), "rules")),
	                 1);
	json_decref(root);
}

static void test_prio_shared_device(void **state)
{
	struct fixture *f = *state;

	/* two flowtables on one device: prio ranges continue, never collide */
	build_raw(f, "table ip a {\n\tflowtable ft {\n\t\thook ingress priority 0; devices = { "
	             "eth0 };\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority "
	             "0;\n\t\tmeta l4proto tcp flow add @ft\n\t}\n}\n"
	             "table ip b {\n\tflowtable ft {\n\t\thook ingress priority 0; devices = { "
	             "eth0 };\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority "
	             "0;\n\t\tmeta l4proto udp flow add @ft\n\t}\n}\n");
	assert_int_equal(f->plan->flowtables[0].blocks[0].rules[0].id.prio, 4096);
	assert_int_equal(f->plan->flowtables[1].blocks[0].rules[0].id.prio, 4097);
}

static void test_bad_options(void **state)
{
	struct fixture *f = *state;
	struct nft_error err;
	char perr[256];
	static const char txt[] = "table ip t {\n}\n";

	memset(&err, 0, sizeof(err));
	assert_int_equal(nft_parse_buffer(txt, strlen(txt), "t.nft", &f->rs, &err), 0);
	f->opts.force_profile = "no-such-profile";
	assert_int_equal(plan_build(f->rs, &f->opts, &f->plan, perr, sizeof(perr)), -EINVAL);
	assert_string_equal(perr, "unknown profile \"no-such-profile\"");
}

/* Each test gets a fresh fixture; build() after build() frees the previous plan first. */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_simple_inet),
	    T(test_no_l4_note_and_zone),
	    T(test_ssh_exclusion),
	    T(test_exclusion_restricted_to_rule),
	    T(test_duplicates_dropped),
	    T(test_address_prefix_set),
	    T(test_address_range_split),
	    T(test_port_range_blocks),
	    T(test_port_set_exact),
	    T(test_rule_cap),
	    T(test_iifname_devices),
	    T(test_iifname_none),
	    T(test_oifname_recorded),
	    T(test_negation_exclusion),
	    T(test_unsupported_refused),
	    T(test_meta_mark_refused),
	    T(test_ct_state),
	    T(test_exclusion_narrowed),
	    T(test_exclusion_everything),
	    T(test_exclusion_ct_state),
	    T(test_exclusion_iifname),
	    T(test_no_flow_rule),
	    T(test_not_reached),
	    T(test_mixed_strategies),
	    T(test_device_not_present),
	    T(test_profile_refuses_pass),
	    T(test_profile_refuses_ct_rule),
	    T(test_flow_strategy),
	    T(test_json),
	    T(test_prio_shared_device),
	    T(test_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
