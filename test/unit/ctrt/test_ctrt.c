/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ct runtime's pure parts: which installed rules it manages, and explain over a plan and a
 * hand-built snapshot of the lab router. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/ctrt/ctrt-internal.h"
#include "nft-tc-offload/ctfwd.h"
#include "nft-tc-offload/ctrt.h"
#include "nft-tc-offload/install.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"

static void test_cookie_static(void **state)
{
	struct tc_rule r = {0};

	assert_false(ctrt_cookie_static(&r)); /* no cookie: an operator's rule */
	r.cookie_len = NTO_COOKIE_LEN;
	nto_cookie_make(r.cookie, 0x12345678, 0);
	assert_true(ctrt_cookie_static(&r));
	nto_cookie_make(r.cookie, 0x12345678, 42); /* a flow-strategy rule: flowrt's */
	assert_false(ctrt_cookie_static(&r));
	nto_cookie_make(r.cookie, 0, 0);
	r.cookie[0] = 'x'; /* someone else's cookie */
	assert_false(ctrt_cookie_static(&r));
	r.cookie_len = 4; /* too short to carry a rule id */
	memcpy(r.cookie, nto_cookie_magic, 4);
	assert_false(ctrt_cookie_static(&r));
}

static union tc_addr A(const char *s) {
	union tc_addr a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(inet_pton(strchr(s, ':') ? AF_INET6 : AF_INET, s, &a), 1);
	return a;
}

struct lab {
	struct netstate_link links[4];
	struct netstate_route routes[8];
	struct netstate_neigh neighs[4];
	struct netstate_snapshot s;
};

static void route(struct lab *l, uint32_t table, uint8_t type, const char *pfx, unsigned len,
                  uint32_t oif)
{
	struct netstate_route *r = &l->routes[l->s.n_routes++];

	r->family = strchr(pfx, ':') ? AF_INET6 : AF_INET;
	r->table = table;
	r->type = type;
	r->dst = A(pfx);
	r->dst_len = (uint8_t)len;
	r->oif = oif;
}

static void neigh(struct lab *l, uint32_t ifindex, const char *addr, uint8_t last)
{
	struct netstate_neigh *n = &l->neighs[l->s.n_neighs++];

	n->family = AF_INET;
	n->ifindex = ifindex;
	n->addr = A(addr);
	n->state = NETSTATE_NUD_REACHABLE;
	n->valid = n->has_lladdr = true;
	n->lladdr[0] = 0x0a;
	n->lladdr[5] = last;
}

/* rt-cli (3) 10.0.1.1/24, rt-srv (4) 10.0.2.1/24; the server's neighbour only. */
static void lab_router(struct lab *l)
{
	memset(l, 0, sizeof(*l));
	for (int i = 0; i < 2; i++) {
		struct netstate_link *k = &l->links[l->s.n_links++];

		k->ifindex = (uint32_t)(3 + i);
		snprintf(k->name, sizeof(k->name), "%s", i ? "rt-srv" : "rt-cli");
		k->arptype = 1;
		k->has_mac = true;
		k->mac[5] = (uint8_t)(3 + i);
		k->mtu = 1500;
		k->up = k->running = true;
	}
	route(l, NETSTATE_TABLE_MAIN, NETSTATE_RTN_UNICAST, "10.0.1.0", 24, 3);
	route(l, NETSTATE_TABLE_MAIN, NETSTATE_RTN_UNICAST, "10.0.2.0", 24, 4);
	route(l, NETSTATE_TABLE_LOCAL, NETSTATE_RTN_LOCAL, "10.0.1.1", 32, 3);
	route(l, NETSTATE_TABLE_LOCAL, NETSTATE_RTN_LOCAL, "10.0.2.1", 32, 4);
	neigh(l, 4, "10.0.2.2", 0x22);
	l->s.links = l->links;
	l->s.routes = l->routes;
	l->s.neighs = l->neighs;
	netstate_snapshot_sort(&l->s);
}

static int resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	const struct netstate_link *l = netstate_link_by_name(ctx, ifname);

	if (!l)
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	info->ifindex = l->ifindex;
	info->present = true;
	return 0;
}

static void test_explain(void **state)
{
	static const char text[] = "table inet lab {\n"
	                           "\tflowtable ft { hook ingress priority 0; devices = { rt-cli, "
	                           "rt-srv }; }\n"
	                           "\tchain forward {\n\t\ttype filter hook forward priority 0;\n"
	                           "\t\ttcp dport 5202 drop\n"
	                           "\t\tmeta l4proto { tcp, udp } flow add @ft\n"
	                           "\t}\n}\n";
	struct profile_set ps;
	struct plan_opts o;
	struct nft_ruleset *rs = NULL;
	struct nft_error nerr = {0};
	struct plan *plan = NULL;
	struct lab l;
	struct plan_tuple t = {.family = AF_INET, .proto = IPPROTO_TCP, .sport = 40000};
	char buf[4096], err[512];

	lab_router(&l);
	profile_set_init(&ps);
	assert_int_equal(profile_set_load_builtin(&ps, err, sizeof(err)), 0);
	plan_opts_init(&o);
	o.profiles = &ps;
	o.force_profile = "generic-ct";
	o.resolve = resolve;
	o.resolve_ctx = &l.s;
	assert_int_equal(nft_parse_buffer(text, strlen(text), "lab.nft", &rs, &nerr), 0);
	assert_int_equal(plan_build(rs, &o, &plan, err, sizeof(err)), 0);

	/* client -> server: selected; the server side has a neighbour, the client side none */
	t.saddr = A("10.0.1.2");
	t.daddr = A("10.0.2.2");
	t.dport = 5201;
	assert_int_equal(ctrt_explain_plan(plan, &l.s, &t, 0, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "flowtable inet lab ft (ct strategy), ingress rt-cli"));
	assert_non_null(strstr(buf, "selected by the rule at line 6"));
	assert_non_null(strstr(buf, "original: chain 1 on rt-cli"));
	assert_non_null(strstr(buf, "redirect to rt-srv, eth dst 0a:00:00:00:00:22"));
	assert_non_null(strstr(buf, "reply: no valid neighbour entry for 10.0.1.2 on rt-cli"));
	/* with the client's neighbour: offloaded both ways */
	neigh(&l, 3, "10.0.1.2", 0x12);
	netstate_snapshot_sort(&l.s);
	assert_int_equal(ctrt_explain_plan(plan, &l.s, &t, 0, buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "offloaded: established packets of both directions"));
	/* the blocked port: excluded, with the rule's line */
	t.dport = 5202;
	assert_int_equal(ctrt_explain_plan(plan, &l.s, &t, 0, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "stays in software: excluded by the rule at line 5 "
	                            "(tcp dport 5202 drop)"));
	/* to the router itself: chain 1 does not forward it */
	t.dport = 22;
	t.daddr = A("10.0.2.1");
	assert_int_equal(ctrt_explain_plan(plan, &l.s, &t, 0, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "routed by a local-table route"));
	/* from outside any flowtable device */
	t.saddr = A("192.0.2.1");
	assert_int_equal(ctrt_explain_plan(plan, &l.s, &t, 0, buf, sizeof(buf)), -ENOENT);

	plan_free(plan);
	nft_ruleset_free(rs);
	profile_set_free(&ps);
}

/* A probe of ifindex where every tested feature worked (skip_sw not tested). */
static struct probe_device probe_ok(uint32_t ifindex, const char *name)
{
	struct probe_device d;

	memset(&d, 0, sizeof(d));
	d.ifindex = ifindex;
	snprintf(d.name, sizeof(d.name), "%s", name);
	for (int f = 0; f < PROBE_SKIP_SW; f++)
		d.r[f].tested = d.r[f].ok = true;
	return d;
}

static void set_switch(struct netstate_link *l, uint8_t id, const char *port)
{
	l->switch_id_len = 8;
	memset(l->switch_id, 0, sizeof(l->switch_id));
	l->switch_id[0] = 0xb8;
	l->switch_id[7] = id;
	snprintf(l->port_name, sizeof(l->port_name), "%s", port);
}

/*
 * The runtime's refusals over a hand-built flowtable and snapshot: a switchdev profile's
 * devices must share one eswitch (veth with generic-ct has no phys_switch_id and is not
 * checked), and every device's probe must cover what the rules need.
 */
static void test_refuse(void **state)
{
	struct profile_set ps;
	const struct profile *mlx5, *gct;
	struct netstate_link links[3];
	struct netstate_snapshot snap = {.links = links, .n_links = 3};
	struct plan_device devs[2];
	struct tc_rule chain0;
	struct plan_block block = {.rules = &chain0, .n_rules = 1};
	struct plan_flowtable pf = {.strategy = PROFILE_STRATEGY_CT,
	                            .devices = devs,
	                            .n_devices = 2,
	                            .blocks = &block,
	                            .n_blocks = 1};
	struct probe_device probes[3];
	struct tc_id id = {.ifindex = 3, .protocol = 0x0800, .prio = 0x1000};
	struct tc_action *a;
	char err[PROFILE_ERR_MAX], why[1024];

	profile_set_init(&ps);
	assert_int_equal(profile_set_load_builtin(&ps, err, sizeof(err)), 0);
	mlx5 = profile_set_find(&ps, "mlx5");
	gct = profile_set_find(&ps, "generic-ct");
	assert_true(mlx5->switchdev);
	assert_false(gct->switchdev);

	/* the lab: two veths, generic-ct, no phys_switch_id */
	memset(links, 0, sizeof(links));
	for (int i = 0; i < 3; i++) {
		links[i].ifindex = (uint32_t)(3 + i);
		snprintf(links[i].name, sizeof(links[i].name), "%s",
		         i == 0   ? "rt-cli"
		         : i == 1 ? "rt-srv"
		                  : "pf0vf0");
	}
	netstate_snapshot_sort(&snap);
	devs[0] =
	    (struct plan_device){.name = "rt-cli", .ifindex = 3, .present = true, .profile = gct};
	devs[1] =
	    (struct plan_device){.name = "rt-srv", .ifindex = 4, .present = true, .profile = gct};
	/* chain 0 as the planner builds it: ct_state -trk, ct zone 0 nat, goto chain 1 */
	tc_rule_init(&chain0, &id);
	chain0.flower.mask.ct_state = TC_CT_TRACKED;
	a = tc_rule_add_action(&chain0, TC_ACTION_CT);
	a->ct.flags = TC_CT_NAT;
	a = tc_rule_add_action(&chain0, TC_ACTION_GACT);
	a->verdict = TC_VERDICT_GOTO_CHAIN;
	a->goto_chain = 1;
	assert_int_equal(ctrt_flowtable_needs(&pf), PROBE_CHAIN1_NEEDS | PROBE_BIT(PROBE_CT) |
	                                                PROBE_BIT(PROBE_CT_NAT) |
	                                                PROBE_BIT(PROBE_GOTO));
	probes[0] = probe_ok(3, "rt-cli");
	probes[1] = probe_ok(4, "rt-srv");
	assert_false(ctrt_refuse_flowtable(&pf, &snap, probes, 2, why, sizeof(why)));
	assert_string_equal(why, "");

	/* a device without a probe: refused, nothing attempted */
	assert_true(ctrt_refuse_flowtable(&pf, &snap, probes, 1, why, sizeof(why)));
	assert_string_equal(why, "probe: rt-srv was not probed");
	/* act_ct nat refused by the kernel on rt-srv */
	probes[1].r[PROBE_CT_NAT].ok = false;
	probes[1].r[PROBE_CT_NAT].error = -EOPNOTSUPP;
	snprintf(probes[1].r[PROBE_CT_NAT].extack, sizeof(probes[1].r[0].extack), "no nat");
	assert_true(ctrt_refuse_flowtable(&pf, &snap, probes, 2, why, sizeof(why)));
	assert_string_equal(why, "probe: act_ct nat refused on rt-srv: no nat (Operation not "
	                         "supported)");
	/* a plan without nat does not need it */
	chain0.actions[0].ct.flags = 0;
	assert_false(ctrt_refuse_flowtable(&pf, &snap, probes, 2, why, sizeof(why)));
	probes[1] = probe_ok(4, "rt-srv");
	/* a device that is not used (no profile) is neither probed nor checked */
	devs[1].profile = NULL;
	assert_false(ctrt_refuse_flowtable(&pf, &snap, probes, 1, why, sizeof(why)));
	devs[1].profile = gct;

	/* mlx5 (switchdev) on ports without a phys_switch_id */
	devs[0].profile = devs[1].profile = mlx5;
	assert_true(ctrt_refuse_flowtable(&pf, &snap, probes, 2, why, sizeof(why)));
	assert_string_equal(why, "eswitch: profile mlx5 is a switchdev profile and the flowtable's "
	                         "devices must be ports of one eswitch: rt-cli has no "
	                         "phys_switch_id (not an eswitch port)");
	/* two ports of one eswitch: fine */
	set_switch(&links[0], 1, "p0");
	set_switch(&links[1], 1, "pf0vf0");
	assert_false(ctrt_refuse_flowtable(&pf, &snap, probes, 2, why, sizeof(why)));
	/* ports of two eswitches: refused */
	set_switch(&links[1], 2, "pf1vf0");
	assert_true(ctrt_refuse_flowtable(&pf, &snap, probes, 2, why, sizeof(why)));
	assert_string_equal(why, "eswitch: profile mlx5 is a switchdev profile and the flowtable's "
	                         "devices must be ports of one eswitch: rt-cli and rt-srv are on "
	                         "different eswitches (switch id b800000000000001 vs "
	                         "b800000000000002)");
	/* mixed: an eswitch port (mlx5) with a veth (generic-ct) */
	set_switch(&links[1], 1, "pf0vf0");
	links[1].switch_id_len = 0;
	devs[1].profile = gct;
	assert_true(ctrt_refuse_flowtable(&pf, &snap, probes, 2, why, sizeof(why)));
	assert_non_null(strstr(why, "rt-srv has no phys_switch_id (not an eswitch port)"));
	/* a device that is not present does not count */
	devs[1].present = false;
	assert_false(ctrt_refuse_flowtable(&pf, &snap, probes, 2, why, sizeof(why)));
	/* the eswitch check comes before the probe: both wrong, the eswitch is named */
	devs[1].present = true;
	probes[0].r[PROBE_CT].ok = false;
	assert_true(ctrt_refuse_flowtable(&pf, &snap, probes, 2, why, sizeof(why)));
	assert_true(strncmp(why, "eswitch: ", 9) == 0);
	profile_set_free(&ps);
}

/* sync_diff (grouped) gives what ctfwd_diff (every pair) gives: the same kept, changed, added
 * and deleted rules, over a set with each kind of difference and a duplicate. */
static void sync_rule(struct tc_rule *r, uint32_t dst, uint32_t handle, enum tc_verdict v)
{
	struct tc_id id = {.ifindex = 7,
	                   .hook = TC_HOOK_INGRESS,
	                   .chain = 1,
	                   .prio = 10,
	                   .protocol = 0x0800,
	                   .handle = handle};
	struct tc_action *a;

	tc_rule_init(r, &id);
	r->flower.key.ip_proto = 6;
	r->flower.mask.ip_proto = 0xff;
	r->flower.key.dst.v4.s_addr = htonl(0x0a000000u + dst);
	r->flower.mask.dst.v4.s_addr = 0xffffffffu;
	/* garbage under a zero mask must not split a group */
	r->flower.key.src.v4.s_addr = htonl(handle * 7919u);
	a = tc_rule_add_action(r, TC_ACTION_GACT);
	assert_non_null(a);
	a->verdict = v;
}

static int rule_order(const void *a, const void *b)
{
	const struct tc_rule *x = a, *y = b;

	if (x->flower.key.dst.v4.s_addr != y->flower.key.dst.v4.s_addr)
		return x->flower.key.dst.v4.s_addr < y->flower.key.dst.v4.s_addr ? -1 : 1;
	return x->id.handle < y->id.handle ? -1 : x->id.handle > y->id.handle;
}

static void same_rules(struct tc_rule *a, size_t na, struct tc_rule *b, size_t nb)
{
	assert_int_equal(na, nb);
	qsort(a, na, sizeof(*a), rule_order);
	qsort(b, nb, sizeof(*b), rule_order);
	for (size_t i = 0; i < na; i++)
		assert_true(tc_rule_equal(&a[i], &b[i]));
}

static void test_sync_diff(void **state)
{
	enum { N = 300 };
	struct tc_rule *inst = calloc(N + 1, sizeof(*inst)), *want = calloc(N + 50, sizeof(*want));
	struct ctfwd_diff a, b;
	size_t ni = 0, nw = 0;

	(void)state;
	assert_non_null(inst);
	assert_non_null(want);
	for (uint32_t i = 0; i < N; i++) {
		sync_rule(&inst[ni++], i, i + 1, TC_VERDICT_OK);
		if (i % 3 == 0) /* kept (any handle) */
			sync_rule(&want[nw++], i, 0, TC_VERDICT_OK);
		else if (i % 3 == 1) /* changed: another verdict */
			sync_rule(&want[nw++], i, 0, TC_VERDICT_SHOT);
		/* i % 3 == 2: deleted */
	}
	sync_rule(&inst[ni++], 3, 999, TC_VERDICT_OK); /* a duplicate of a kept one */
	for (uint32_t i = 0; i < 50; i++)              /* added */
		sync_rule(&want[nw++], 1000 + i, 0, TC_VERDICT_OK);
	assert_int_equal(ctfwd_diff(inst, ni, want, nw, &a), 0);
	assert_int_equal(sync_diff(inst, ni, want, nw, &b), 0);
	assert_int_equal(b.n_keep, N / 3);
	assert_int_equal(b.n_change, N / 3);
	assert_int_equal(b.n_add, 50);
	assert_int_equal(b.n_del, N / 3 + 1);
	same_rules(a.keep, a.n_keep, b.keep, b.n_keep);
	same_rules(a.change, a.n_change, b.change, b.n_change);
	same_rules(a.add, a.n_add, b.add, b.n_add);
	same_rules(a.del, a.n_del, b.del, b.n_del);
	ctfwd_diff_free(&a);
	ctfwd_diff_free(&b);
	free(inst);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cookie_static),
	    cmocka_unit_test(test_explain),
	    cmocka_unit_test(test_refuse),
	    cmocka_unit_test(test_sync_diff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
