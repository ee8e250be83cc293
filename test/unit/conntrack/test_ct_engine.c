/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Eligibility (conntrack side and the plan's `flow add` constraints) and the engine glue:
 * events through a fake path resolver into a recording sink; FIN/DESTROY deletes; stats
 * (refresh / idle); profile refusals; capacity; sink failures; `explain` texts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ct_test.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

#define MAX_OPS 64

struct fixture {
	struct profile_set profiles;
	struct nft_ruleset *rs;
	struct plan *plan;
	struct ct_elig_rule rules[8];
	size_t n_rules;
	/* sink */
	struct ct_op ops[MAX_OPS];
	size_t n_ops;
	int sink_rc;
	/* path resolver */
	unsigned path_calls;
};

static int plan_resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	(void)ctx;
	memset(info, 0, sizeof(*info));
	info->ifindex = strcmp(ifname, "lan0") == 0 ? 1 : strcmp(ifname, "wan0") == 0 ? 2 : 3;
	info->present = true;
	snprintf(info->driver, sizeof(info->driver), "veth");
	return 0;
}

/* Parses a ruleset (inet table t, flowtable ft on lan0 wan0 lan1, forward chain with rules),
 * plans it with profile, and takes the flow flowtable's rules. */
static void load(struct fixture *f, const char *profile, const char *chain)
{
	char text[4096], err[512];
	struct nft_error nerr;
	struct plan_opts po;

	plan_free(f->plan);
	nft_ruleset_free(f->rs);
	snprintf(text, sizeof(text),
	         "table inet t {\n"
	         "\tflowtable ft {\n\t\thook ingress priority 0; devices = { lan0, wan0, lan1 };\n"
	         "\t}\n"
	         "\tchain forward {\n\t\ttype filter hook forward priority 0;\n%s\n\t}\n}\n",
	         chain);
	memset(&nerr, 0, sizeof(nerr));
	if (nft_parse_buffer(text, strlen(text), "t.nft", &f->rs, &nerr)) {
		fprintf(stderr, "%s", nerr.formatted ? nerr.formatted : "parse error\n");
		nft_error_clear(&nerr);
		fail();
	}
	plan_opts_init(&po);
	po.profiles = &f->profiles;
	po.force_profile = profile;
	po.resolve = plan_resolve;
	assert_int_equal(plan_build(f->rs, &po, &f->plan, err, sizeof(err)), 0);
	assert_int_equal(f->plan->n_flowtables, 1);
	assert_int_equal(f->plan->flowtables[0].strategy, PROFILE_STRATEGY_FLOW);
	f->n_rules = ct_elig_rules_from_plan(&f->plan->flowtables[0], f->rules, 8);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[PROFILE_ERR_MAX];

	assert_non_null(f);
	profile_set_init(&f->profiles);
	assert_int_equal(profile_set_load_builtin(&f->profiles, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	plan_free(f->plan);
	nft_ruleset_free(f->rs);
	profile_set_free(&f->profiles);
	free(f);
	return 0;
}

/* 10.0.1.0/24 and fd00:1::/64 behind lan0 (1), everything else behind wan0 (2); 10.0.2.99
 * has no valid neighbour. */
static int fake_path(void *ctx, int family, const union tc_addr *src, const union tc_addr *dst,
                     struct flow_path *p, char *why, size_t len)
{
	struct fixture *f = ctx;
	struct flow_path two[2];
	bool src_lan, dst_lan;

	f->path_calls++;
	if (family == AF_INET && dst->v4.s_addr == inet_addr("10.0.2.99")) {
		snprintf(why, len, "neighbour 10.0.2.99 on wan0 is not valid (STALE)");
		return -EHOSTUNREACH;
	}
	if (family == AF_INET) {
		src_lan = (ntohl(src->v4.s_addr) >> 8) == 0x0a0001;
		dst_lan = (ntohl(dst->v4.s_addr) >> 8) == 0x0a0001;
	} else {
		src_lan = src->v6.s6_addr[0] == 0xfd && src->v6.s6_addr[3] == 1;
		dst_lan = dst->v6.s6_addr[0] == 0xfd && dst->v6.s6_addr[3] == 1;
	}
	test_paths(two);
	*p = two[src_lan ? 0 : 1];
	(void)dst_lan;
	return 0;
}

static int record_sink(void *ctx, const struct ct_op *op)
{
	struct fixture *f = ctx;

	if (f->sink_rc && op->kind == CT_OP_INSTALL)
		return f->sink_rc;
	assert_true(f->n_ops < MAX_OPS);
	f->ops[f->n_ops++] = *op;
	return 0;
}

static void event(struct ct_event *ev, enum ct_event_type type, uint8_t tcp_state, uint32_t status)
{
	ev->type = type;
	ev->has_tcp_state = ev->conn.orig.proto == IPPROTO_TCP && type != CT_EVENT_DESTROY;
	ev->tcp_state = tcp_state;
	ev->status = status;
}

/* client 10.0.1.2:40000 -> server 10.0.2.2:dport, masqueraded to 10.0.2.1:50000 */
static void masq(struct ct_event *ev, uint8_t proto, uint16_t sport, uint16_t dport)
{
	memset(ev, 0, sizeof(*ev));
	test_conn(&ev->conn, AF_INET, proto, "10.0.1.2", sport, "10.0.2.2", dport, "10.0.2.2",
	          dport, "10.0.2.1", (uint16_t)(sport + 10000));
	ev->id = sport;
}

#define EST   (CT_ST_SEEN_REPLY | CT_ST_ASSURED | CT_ST_CONFIRMED)
#define RULES "\t\ttcp dport 22 accept\n\t\tmeta l4proto { tcp, udp } flow add @ft\n"

static void expect_refused(const struct ct_event *ev, enum ct_reason r, const char *text)
{
	struct ct_verdict v;

	assert_false(ct_elig_conn(ev, &v));
	if (strcmp(v.text, text) != 0)
		fprintf(stderr, "got: %s\n", v.text);
	assert_int_equal(v.reason, r);
	assert_string_equal(v.text, text);
}

static void test_elig_conn(void **state)
{
	struct ct_event ev;
	struct ct_verdict v;

	(void)state;
	masq(&ev, IPPROTO_TCP, 40000, 443);
	event(&ev, CT_EVENT_NEW, CT_TCP_SYN_SENT, CT_ST_CONFIRMED);
	expect_refused(&ev, CT_R_TCP_STATE, "tcp state SYN_SENT: not established yet");
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, CT_ST_SEEN_REPLY);
	expect_refused(&ev, CT_R_NOT_ASSURED,
	               "tcp established but not assured yet (only assured connections are "
	               "offloaded)");
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
	assert_true(ct_elig_conn(&ev, &v));
	event(&ev, CT_EVENT_UPDATE, CT_TCP_FIN_WAIT, EST);
	expect_refused(&ev, CT_R_TCP_CLOSING,
	               "tcp state FIN_WAIT: closing connections stay in software");
	event(&ev, CT_EVENT_UPDATE, CT_TCP_TIME_WAIT, EST);
	expect_refused(&ev, CT_R_TCP_CLOSING,
	               "tcp state TIME_WAIT: closing connections stay in software");
	/* in the kernel's flowtable: no TCP state, OFFLOAD instead of ASSURED */
	event(&ev, CT_EVENT_UPDATE, 0, CT_ST_SEEN_REPLY | CT_ST_OFFLOAD);
	ev.has_tcp_state = false;
	assert_true(ct_elig_conn(&ev, &v));
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST | CT_ST_HELPER);
	snprintf(ev.helper, sizeof(ev.helper), "ftp");
	expect_refused(&ev, CT_R_HELPER,
	               "helper ftp attached: its packets must reach the helper in the stack");
	ev.helper[0] = '\0';
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST | CT_ST_SEQ_ADJUST);
	expect_refused(&ev, CT_R_SEQ_ADJUST,
	               "sequence numbers adjusted (seq-adjust): every packet needs the stack");
	masq(&ev, IPPROTO_UDP, 5000, 53);
	event(&ev, CT_EVENT_NEW, 0, CT_ST_CONFIRMED);
	expect_refused(&ev, CT_R_UDP_UNREPLIED,
	               "udp without a reply yet: offloaded once the peer answers");
	event(&ev, CT_EVENT_UPDATE, 0, CT_ST_CONFIRMED | CT_ST_SEEN_REPLY);
	assert_true(ct_elig_conn(&ev, &v));
	masq(&ev, IPPROTO_ICMP, 0, 0);
	event(&ev, CT_EVENT_NEW, 0, EST);
	expect_refused(&ev, CT_R_PROTO,
	               "protocol 1: only TCP and UDP connections are offloaded (as by the "
	               "kernel's flowtable)");
}

static void expect_rules(struct fixture *f, const struct ct_event *ev,
                         const struct flow_path *paths, enum ct_reason r, const char *text)
{
	struct ct_verdict v;
	bool ok = ct_elig_rules(f->rules, f->n_rules, ev, paths, &v);

	if (v.reason != r || strcmp(v.text, text) != 0)
		fprintf(stderr, "got %s: %s\n", ct_reason_name(v.reason), v.text);
	assert_int_equal(ok, r == CT_R_NONE);
	assert_int_equal(v.reason, r);
	assert_string_equal(v.text, text);
}

static void test_elig_rules(void **state)
{
	struct fixture *f = *state;
	struct ct_event ev;
	struct flow_path p[2];

	load(f, "generic-flow", RULES);
	assert_int_equal(f->n_rules, 1);
	masq(&ev, IPPROTO_TCP, 40000, 443);
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
	expect_rules(f, &ev, NULL, CT_R_NONE, "");
	masq(&ev, IPPROTO_TCP, 40000, 22);
	expect_rules(f, &ev, NULL, CT_R_EXCLUDED,
	             "matched exclusion `tcp dport 22 accept` at t.nft:7");

	/* a port forward to 22 inside: the forward chain sees the DNAT'ed port */
	memset(&ev, 0, sizeof(ev));
	test_conn(&ev.conn, AF_INET, IPPROTO_TCP, "198.51.100.7", 33000, "203.0.113.1", 2222,
	          "10.0.1.5", 22, "198.51.100.7", 33000);
	expect_rules(f, &ev, NULL, CT_R_EXCLUDED,
	             "matched exclusion `tcp dport 22 accept` at t.nft:7");

	load(f, "generic-flow",
	     "\t\tiifname \"lan*\" oifname wan0 ct mark 0x10 ip daddr 10.0.2.0/24 flow add @ft\n");
	masq(&ev, IPPROTO_TCP, 40000, 443);
	ev.conn.mark = 0x10;
	test_paths(p);
	expect_rules(f, &ev, p, CT_R_NONE, "");
	ev.conn.mark = 0x11;
	expect_rules(f, &ev, NULL, CT_R_MARK,
	             "ct mark 0x11 fails `ct mark 0x10` of `iifname \"lan*\" oifname wan0 ct mark "
	             "0x10 ip daddr 10.0.2.0/24 flow add @ft` at t.nft:7");
	ev.conn.mark = 0x10;
	snprintf(p[0].in_ifname, IFNAMSIZ, "wan1");
	expect_rules(f, &ev, p, CT_R_IIF,
	             "enters on wan1: the iif matches of `iifname \"lan*\" oifname wan0 ct mark "
	             "0x10 ip daddr 10.0.2.0/24 flow add @ft` at t.nft:7 exclude it");
	test_paths(p);
	snprintf(p[0].out_ifname, IFNAMSIZ, "lan1");
	expect_rules(f, &ev, p, CT_R_OIF,
	             "leaves on lan1: the oif matches of `iifname \"lan*\" oifname wan0 ct mark "
	             "0x10 ip daddr 10.0.2.0/24 flow add @ft` at t.nft:7 exclude it");
	test_conn(&ev.conn, AF_INET6, IPPROTO_TCP, "fd00:1::2", 1, "fd00:2::2", 2, "fd00:2::2", 2,
	          "fd00:1::2", 1);
	expect_rules(f, &ev, NULL, CT_R_SPEC,
	             "its original direction (protocol, addresses, ports) is outside `iifname "
	             "\"lan*\" oifname wan0 ct mark 0x10 ip daddr 10.0.2.0/24 flow add @ft` at "
	             "t.nft:7");

	load(f, "generic-flow", "\t\tct zone 5 flow add @ft\n");
	masq(&ev, IPPROTO_UDP, 40000, 53);
	expect_rules(f, &ev, NULL, CT_R_ZONE,
	             "conntrack zone 0: `ct zone 5 flow add @ft` at t.nft:7 matches ct zone 5");
	ev.conn.zone = 5;
	expect_rules(f, &ev, NULL, CT_R_NONE, "");
}

static struct ct_engine *engine(struct fixture *f, const char *profile)
{
	struct ct_engine_opts o;
	struct ct_engine *e;

	ct_engine_opts_init(&o);
	o.rules = f->rules;
	o.n_rules = f->n_rules;
	o.profile = profile ? profile_set_find(&f->profiles, profile) : NULL;
	o.path = fake_path;
	o.path_ctx = f;
	o.sink = record_sink;
	o.sink_ctx = f;
	o.expected_flows = 16;
	e = ct_engine_new(&o);
	assert_non_null(e);
	f->n_ops = 0;
	return e;
}

static void explain(struct ct_engine *e, const struct ct_event *ev, const char *want)
{
	struct ct_key k;
	struct ct_flow *f;
	char buf[512];

	ct_key_from_conn(&ev->conn, &k);
	f = ct_table_find(ct_engine_table(e), &k);
	assert_non_null(f);
	ct_engine_explain(e, f, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fprintf(stderr, "explain: %s\n", buf);
	assert_string_equal(buf, want);
}

static void print_op(const struct ct_op *op, int d, char *buf, size_t len)
{
	assert_true(tc_print(&op->rules[d],
	                     op->kind == CT_OP_INSTALL ? TC_MSG_REPLACE : TC_MSG_DELETE,
	                     test_ifname, NULL, buf, len) > 0);
}

/* A masqueraded TCP connection's life: handshake, established, FIN, destroy. */
static void test_engine_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct ct_engine *e;
	struct ct_event ev;
	char buf[1024];

	load(f, "generic-flow", RULES);
	e = engine(f, "generic-flow");
	masq(&ev, IPPROTO_TCP, 40000, 443);
	event(&ev, CT_EVENT_NEW, CT_TCP_SYN_SENT, CT_ST_CONFIRMED);
	assert_int_equal(ct_engine_event(e, &ev, 100), 0);
	assert_int_equal(f->n_ops, 0);
	explain(e, &ev, "candidate (tcp-state): tcp state SYN_SENT: not established yet");
	event(&ev, CT_EVENT_UPDATE, CT_TCP_SYN_RECV, CT_ST_CONFIRMED | CT_ST_SEEN_REPLY);
	ct_engine_event(e, &ev, 100);
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
	ct_engine_event(e, &ev, 100);
	assert_int_equal(f->n_ops, 1);
	assert_int_equal(f->ops[0].kind, CT_OP_INSTALL);
	print_op(&f->ops[0], 0, buf, sizeof(buf));
	assert_string_equal(buf,
	                    "filter replace dev lan0 ingress protocol ip pref 8192 chain 0 handle "
	                    "0x1 flower indev lan0 ip_proto tcp src_ip 10.0.1.2 dst_ip 10.0.2.2 "
	                    "src_port 40000 dst_port 443 tcp_flags 0x0/0x5 action pedit ex munge "
	                    "eth src set 02:00:00:00:00:02 munge eth dst set 02:00:00:00:00:22 "
	                    "munge ip src set 10.0.2.1 munge tcp sport set 50000 munge ip ttl add "
	                    "0xff pipe action csum iph tcp pipe action mirred egress redirect dev "
	                    "wan0");
	print_op(&f->ops[0], 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "dev wan0 ingress protocol ip pref 8192 chain 0 handle 0x2"));
	assert_non_null(strstr(buf, "munge ip dst set 10.0.1.2 munge tcp dport set 40000"));
	explain(e, &ev, "offloaded: rules on ifindex 1 handle 0x1, ifindex 2 handle 0x2");
	/* the same state again: nothing */
	ct_engine_event(e, &ev, 101);
	assert_int_equal(f->n_ops, 1);
	/* FIN: both rules go */
	event(&ev, CT_EVENT_UPDATE, CT_TCP_FIN_WAIT, EST);
	ct_engine_event(e, &ev, 102);
	assert_int_equal(f->n_ops, 2);
	assert_int_equal(f->ops[1].kind, CT_OP_DELETE);
	print_op(&f->ops[1], 0, buf, sizeof(buf));
	assert_string_equal(buf, "filter del dev lan0 ingress protocol ip pref 8192 chain 0 "
	                         "handle 0x1 flower");
	print_op(&f->ops[1], 1, buf, sizeof(buf));
	assert_string_equal(buf, "filter del dev wan0 ingress protocol ip pref 8192 chain 0 "
	                         "handle 0x2 flower");
	explain(e, &ev,
	        "refused (tcp-closing): tcp state FIN_WAIT: closing connections stay in "
	        "software");
	event(&ev, CT_EVENT_UPDATE, CT_TCP_TIME_WAIT, EST);
	ct_engine_event(e, &ev, 103);
	event(&ev, CT_EVENT_DESTROY, 0, EST);
	ct_engine_event(e, &ev, 104);
	assert_int_equal(f->n_ops, 2);
	assert_int_equal(ct_table_count(ct_engine_table(e)), 0);

	/* established then destroyed (RST, timeout): one delete */
	masq(&ev, IPPROTO_TCP, 40001, 443);
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
	ct_engine_event(e, &ev, 105);
	event(&ev, CT_EVENT_DESTROY, 0, EST);
	ct_engine_event(e, &ev, 106);
	assert_int_equal(f->n_ops, 4);
	assert_int_equal(f->ops[3].kind, CT_OP_DELETE);
	assert_int_equal(f->ops[3].rules[0].id.handle, 3);
	assert_int_equal(ct_engine_counters(e)->installs, 2);
	assert_int_equal(ct_engine_counters(e)->deletes, 2);
	assert_int_equal(ct_engine_counters(e)->events[CT_EVENT_UPDATE], 6);

	/* excluded, then no path */
	masq(&ev, IPPROTO_TCP, 40002, 22);
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
	ct_engine_event(e, &ev, 107);
	explain(e, &ev, "refused (excluded): matched exclusion `tcp dport 22 accept` at t.nft:7");
	memset(&ev, 0, sizeof(ev));
	test_conn(&ev.conn, AF_INET, IPPROTO_UDP, "10.0.1.2", 999, "10.0.2.99", 53, "10.0.2.99", 53,
	          "10.0.1.2", 999);
	event(&ev, CT_EVENT_UPDATE, 0, EST);
	ct_engine_event(e, &ev, 108);
	explain(e, &ev,
	        "refused (path): original direction: neighbour 10.0.2.99 on wan0 is not "
	        "valid (STALE)");
	assert_int_equal(f->n_ops, 4);
	assert_int_equal(ct_table_counters(ct_engine_table(e))->flows[CT_FLOW_REFUSED], 2);
	ct_engine_free(e);
}

static void test_engine_stats(void **state)
{
	struct fixture *f = *state;
	struct ct_engine *e;
	struct ct_event ev;
	struct ct_stats_item it;

	load(f, "generic-flow", RULES);
	e = engine(f, NULL);
	masq(&ev, IPPROTO_UDP, 5000, 53);
	event(&ev, CT_EVENT_UPDATE, 0, EST);
	ct_engine_event(e, &ev, 1000);
	assert_int_equal(f->n_ops, 1);

	memset(&it, 0, sizeof(it));
	ct_key_from_conn(&ev.conn, &it.key);
	it.st[0] = (struct tc_rule_state){.valid = true, .packets = 50, .lastused_ms = 200};
	it.st[1] = (struct tc_rule_state){.valid = true, .packets = 40, .lastused_ms = 300};
	assert_int_equal(ct_engine_stats(e, &it, 1, 1005), 1);
	assert_int_equal(it.verdict, CT_STATS_REFRESH);
	assert_int_equal(it.timeout_s, 120);
	/* carrying packets again: the 120 s set at 1005 holds for a third (40 s); refreshed at
	 * the last 5-s poll before that (elapsed + poll_s + 1 >= 40: from 1039 on) */
	it.st[0].packets = 60;
	assert_int_equal(ct_engine_stats(e, &it, 1, 1010), 0);
	assert_int_equal(it.verdict, CT_STATS_ACTIVE);
	assert_int_equal(it.timeout_s, 0);
	it.st[0].packets = 70;
	assert_int_equal(ct_engine_stats(e, &it, 1, 1038), 0);
	assert_int_equal(it.verdict, CT_STATS_ACTIVE);
	it.st[0].packets = 80;
	assert_int_equal(ct_engine_stats(e, &it, 1, 1039), 1);
	assert_int_equal(it.verdict, CT_STATS_REFRESH);
	assert_int_equal(ct_engine_counters(e)->refreshes, 2);
	assert_int_equal(ct_engine_counters(e)->refreshes_deferred, 2);
	/* no packets since: idle, then past 30 s expired: rules deleted, the flow stays (idle) */
	it.st[0].lastused_ms = 10000;
	it.st[1].lastused_ms = 10000;
	assert_int_equal(ct_engine_stats(e, &it, 1, 1060), 0);
	assert_int_equal(it.verdict, CT_STATS_IDLE);
	assert_int_equal(ct_engine_stats(e, &it, 1, 1076), 0);
	assert_int_equal(it.verdict, CT_STATS_EXPIRED);
	assert_int_equal(f->n_ops, 2);
	assert_int_equal(f->ops[1].kind, CT_OP_DELETE);
	assert_int_equal(ct_table_count(ct_engine_table(e)), 1);
	explain(e, &ev,
	        "candidate (idle): no packets on its rules for the idle time: back in software "
	        "until conntrack shows traffic again");
	assert_int_equal(ct_engine_stats(e, &it, 1, 1080), 0);
	assert_int_equal(it.verdict, CT_STATS_UNKNOWN);

	/* what conntrack says of it: the 120 s set at 1039 run out at 1159 while no packet
	 * comes (within CT_IDLE_SLACK_S); a packet sets 120 s again: offered, installed */
	ev.has_timeout = true;
	ev.timeout = 1159 - 1090;
	assert_int_equal(ct_engine_idle_check(e, &ev, 1090), 0);
	ev.timeout = 1159 - 1100 + CT_IDLE_SLACK_S;
	assert_int_equal(ct_engine_idle_check(e, &ev, 1100), 0);
	assert_int_equal(f->n_ops, 2);
	ev.timeout = 119;
	assert_int_equal(ct_engine_idle_check(e, &ev, 1105), 1);
	assert_int_equal(f->n_ops, 3);
	assert_int_equal(f->ops[2].kind, CT_OP_INSTALL);
	assert_int_equal(ct_engine_counters(e)->idle_resumed, 1);
	/* not idle any more: the caller handles the entry as usual */
	assert_int_equal(ct_engine_idle_check(e, &ev, 1106), -1);
	/* its new rules carry nothing: idle again; never refreshed since the install, so the
	 * first entry seen is the baseline; a timeout that went down faster than the clock (a
	 * packet with data in flight sets 300 s, say) counts as traffic too */
	it.st[0] = (struct tc_rule_state){.valid = true};
	it.st[1] = (struct tc_rule_state){.valid = true};
	assert_int_equal(ct_engine_stats(e, &it, 1, 1140), 0);
	assert_int_equal(it.verdict, CT_STATS_EXPIRED);
	ev.timeout = 5000;
	assert_int_equal(ct_engine_idle_check(e, &ev, 1300), 0);
	assert_int_equal(ct_engine_idle_check(e, &ev, 1300), 0); /* idle_expiry_s 6300 */
	ev.timeout = 4000;
	assert_int_equal(ct_engine_idle_check(e, &ev, 1310), 1);
	assert_int_equal(f->ops[f->n_ops - 1].kind, CT_OP_INSTALL);
	/* a DESTROY of an idle flow is the caller's (the flow leaves the table) */
	ev.type = CT_EVENT_DESTROY;
	assert_int_equal(ct_engine_idle_check(e, &ev, 1311), -1);
	ct_engine_free(e);
}

/* TCP: the install counts as a refresh (the entry has >= 300 s left); the first refresh comes
 * at the last poll before the interval (100 s with the default 432000 s) */
static void test_tcp_refresh_after_install(void **state)
{
	struct fixture *f = *state;
	struct ct_engine *e;
	struct ct_event ev;
	struct ct_stats_item it;

	load(f, "generic-flow", RULES);
	e = engine(f, NULL);
	masq(&ev, IPPROTO_TCP, 5000, 443);
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
	ct_engine_event(e, &ev, 1000);
	assert_int_equal(f->n_ops, 1);
	memset(&it, 0, sizeof(it));
	ct_key_from_conn(&ev.conn, &it.key);
	for (uint32_t t = 1005, p = 10; t <= 1090; t += 5, p += 10) {
		it.st[0] = (struct tc_rule_state){.valid = true, .packets = p};
		assert_int_equal(ct_engine_stats(e, &it, 1, t), 0);
		assert_int_equal(it.verdict, CT_STATS_ACTIVE);
	}
	it.st[0].packets = 1000;
	assert_int_equal(ct_engine_stats(e, &it, 1, 1094), 1);
	assert_int_equal(it.verdict, CT_STATS_REFRESH);
	assert_int_equal(it.timeout_s, 432000);

	/* installed again, idle before any refresh of ours: what conntrack's timeout reads is not
	 * known (300 s if the last packet left data unacknowledged), so the first entry seen is
	 * the baseline, not a resume */
	ev.type = CT_EVENT_DESTROY;
	ct_engine_event(e, &ev, 1100);
	ev.type = CT_EVENT_UPDATE;
	ct_engine_event(e, &ev, 1100);
	it.st[0] = (struct tc_rule_state){.valid = true};
	assert_int_equal(ct_engine_stats(e, &it, 1, 1135), 0);
	assert_int_equal(it.verdict, CT_STATS_EXPIRED);
	ev.has_timeout = true;
	ev.timeout = 265;
	assert_int_equal(ct_engine_idle_check(e, &ev, 1135), 0);
	ev.timeout = 255;
	assert_int_equal(ct_engine_idle_check(e, &ev, 1145), 0);
	ev.timeout = 432000;
	assert_int_equal(ct_engine_idle_check(e, &ev, 1150), 1);
	ct_engine_free(e);
}

static void test_refresh_interval(void **state)
{
	(void)state;
	assert_int_equal(ct_refresh_interval(432000), CT_REFRESH_MAX_S); /* TCP established */
	assert_int_equal(ct_refresh_interval(120), 40);                  /* UDP stream */
	assert_int_equal(ct_refresh_interval(15), 5);
	assert_int_equal(ct_refresh_interval(2), 1);
	assert_int_equal(ct_refresh_interval(0), 1);
}

/* mtk-ppe: no TTL mangle (the PPE decrements), skip_sw; IPv6 NAT refused with the reason;
 * capacity; a failing install. */
static void test_engine_profile(void **state)
{
	struct fixture *f = *state;
	struct ct_engine *e;
	struct ct_event ev;
	char buf[1024];

	load(f, "mtk-ppe", RULES);
	e = engine(f, "mtk-ppe");
	masq(&ev, IPPROTO_TCP, 40000, 443);
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
	ct_engine_event(e, &ev, 1);
	assert_int_equal(f->n_ops, 1);
	print_op(&f->ops[0], 0, buf, sizeof(buf));
	assert_null(strstr(buf, "ttl"));
	assert_non_null(strstr(buf, "skip_sw"));

	memset(&ev, 0, sizeof(ev));
	test_conn(&ev.conn, AF_INET6, IPPROTO_TCP, "fd00:1::2", 41000, "2001:db8::5", 443,
	          "2001:db8::5", 443, "2001:db8:1::1", 41000);
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
	ct_engine_event(e, &ev, 2);
	assert_int_equal(f->n_ops, 1);
	explain(e, &ev,
	        "refused (profile): original rule: profile mtk-ppe: IPv6 NAT (pedit ip6 "
	        "src/dst) is not supported by the hardware");

	f->sink_rc = -EOPNOTSUPP;
	masq(&ev, IPPROTO_TCP, 40001, 443);
	event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
	ct_engine_event(e, &ev, 3);
	explain(e, &ev, "refused (install): install failed: Operation not supported");
	f->sink_rc = 0;
	/* a later event tries again */
	ct_engine_event(e, &ev, 4);
	assert_int_equal(f->n_ops, 2);
	ct_engine_free(e);

	/* capacity */
	{
		struct ct_engine_opts o;

		ct_engine_opts_init(&o);
		o.rules = f->rules;
		o.n_rules = f->n_rules;
		o.path = fake_path;
		o.path_ctx = f;
		o.sink = record_sink;
		o.sink_ctx = f;
		o.max_offloaded = 1;
		e = ct_engine_new(&o);
		f->n_ops = 0;
		masq(&ev, IPPROTO_TCP, 40000, 443);
		event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
		ct_engine_event(e, &ev, 1);
		masq(&ev, IPPROTO_TCP, 40001, 443);
		event(&ev, CT_EVENT_UPDATE, CT_TCP_ESTABLISHED, EST);
		ct_engine_event(e, &ev, 1);
		assert_int_equal(f->n_ops, 1);
		explain(e, &ev,
		        "refused (table-full): table full: 1 connections offloaded, the hardware's "
		        "capacity");
		ct_engine_free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_elig_conn),
	    cmocka_unit_test_setup_teardown(test_elig_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_engine_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_engine_stats, setup, teardown),
	    cmocka_unit_test(test_refresh_interval),
	    cmocka_unit_test_setup_teardown(test_tcp_refresh_after_install, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_engine_profile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
