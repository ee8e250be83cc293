/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netstate: lookups and representor helpers on hand-built snapshots (no kernel). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-tc-offload/netstate.h"

static union tc_addr A(const char *s) {
	union tc_addr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':'))
		assert_int_equal(inet_pton(AF_INET6, s, &a.v6), 1);
	else
		assert_int_equal(inet_pton(AF_INET, s, &a.v4), 1);
	return a;
}

static int
fam(const char *s)
{
	return strchr(s, ':') ? AF_INET6 : AF_INET;
}

struct snap {
	struct netstate_link links[16];
	struct netstate_route routes[32];
	struct netstate_neigh neighs[32];
	struct netstate_snapshot s;
};

static struct netstate_link *add_link(struct snap *n, uint32_t ifindex, const char *name)
{
	struct netstate_link *l = &n->links[n->s.n_links++];

	memset(l, 0, sizeof(*l));
	l->ifindex = ifindex;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->arptype = 1;
	l->has_mac = true;
	l->mac[0] = 0x02;
	l->mac[5] = (uint8_t)ifindex;
	l->mtu = 1500;
	l->up = l->running = true;
	return l;
}

/* route "10.0.1.0/24" [via GW] dev oif [metric] in table */
static struct netstate_route *add_route(struct snap *n, uint32_t table, const char *pfx,
                                        unsigned len, const char *gw, uint32_t oif, uint32_t metric)
{
	struct netstate_route *r = &n->routes[n->s.n_routes++];

	memset(r, 0, sizeof(*r));
	r->family = fam(pfx);
	r->table = table;
	r->type = table == NETSTATE_TABLE_LOCAL ? NETSTATE_RTN_LOCAL : NETSTATE_RTN_UNICAST;
	r->dst = A(pfx);
	r->dst_len = (uint8_t)len;
	if (gw) {
		r->has_gateway = true;
		r->gateway = A(gw);
	}
	r->oif = oif;
	r->priority = metric;
	return r;
}

static struct netstate_neigh *add_neigh(struct snap *n, uint32_t ifindex, const char *addr,
                                        uint16_t state, uint8_t last)
{
	struct netstate_neigh *e = &n->neighs[n->s.n_neighs++];

	memset(e, 0, sizeof(*e));
	e->family = fam(addr);
	e->ifindex = ifindex;
	e->addr = A(addr);
	e->state = state;
	e->valid = (state & NETSTATE_NUD_VALID) != 0;
	if (state != NETSTATE_NUD_INCOMPLETE && state != NETSTATE_NUD_FAILED) {
		e->has_lladdr = true;
		e->lladdr[0] = 0x0a;
		e->lladdr[5] = last;
	}
	return e;
}

static void done(struct snap *n)
{
	n->s.links = n->links;
	n->s.routes = n->routes;
	n->s.neighs = n->neighs;
	netstate_snapshot_sort(&n->s);
}

/* The lab router: rt-cli (3) 10.0.1.1/24, rt-srv (4) 10.0.2.1/24, plus a default route. */
static void lab_router(struct snap *n)
{
	memset(n, 0, sizeof(*n));
	add_link(n, 4, "rt-srv");
	add_link(n, 1, "lo")->has_mac = false;
	add_link(n, 3, "rt-cli");
	add_route(n, NETSTATE_TABLE_MAIN, "10.0.2.0", 24, NULL, 4, 0);
	add_route(n, NETSTATE_TABLE_MAIN, "10.0.1.0", 24, NULL, 3, 0);
	add_route(n, NETSTATE_TABLE_MAIN, "0.0.0.0", 0, "10.0.2.254", 4, 100);
	add_route(n, NETSTATE_TABLE_MAIN, "0.0.0.0", 0, "10.0.1.254", 3, 50);
	add_route(n, NETSTATE_TABLE_MAIN, "10.0.2.128", 25, "10.0.1.9", 3, 0);
	add_route(n, NETSTATE_TABLE_LOCAL, "10.0.2.1", 32, NULL, 4, 0);
	add_route(n, NETSTATE_TABLE_MAIN, "fd00:2::", 64, NULL, 4, 256);
	add_route(n, NETSTATE_TABLE_MAIN, "fd00:1::", 64, NULL, 3, 256);
	add_route(n, NETSTATE_TABLE_MAIN, "fd00:2:0:0:8000::", 65, "fd00:1::9", 3, 1024);
	add_neigh(n, 4, "10.0.2.2", NETSTATE_NUD_REACHABLE, 2);
	add_neigh(n, 4, "10.0.2.3", NETSTATE_NUD_INCOMPLETE, 3);
	add_neigh(n, 4, "10.0.2.4", NETSTATE_NUD_FAILED, 4);
	add_neigh(n, 4, "10.0.2.5", NETSTATE_NUD_STALE, 5);
	add_neigh(n, 3, "10.0.1.2", NETSTATE_NUD_DELAY, 6);
	add_neigh(n, 4, "fd00:2::2", NETSTATE_NUD_PROBE, 7);
	add_neigh(n, 4, "fd00:2::3", NETSTATE_NUD_NOARP, 8);
	add_neigh(n, 4, "fd00:2::4", NETSTATE_NUD_PERMANENT, 9);
	done(n);
}

static void test_links(void **state)
{
	struct snap n;

	lab_router(&n);
	/* sorted by ifindex */
	assert_int_equal(n.s.links[0].ifindex, 1);
	assert_int_equal(n.s.links[2].ifindex, 4);
	assert_string_equal(netstate_link_by_index(&n.s, 3)->name, "rt-cli");
	assert_string_equal(netstate_link_by_index(&n.s, 4)->name, "rt-srv");
	assert_null(netstate_link_by_index(&n.s, 2));
	assert_null(netstate_link_by_index(&n.s, 99));
	assert_int_equal(netstate_link_by_name(&n.s, "rt-srv")->ifindex, 4);
	assert_int_equal(netstate_link_by_name(&n.s, "lo")->ifindex, 1);
	assert_null(netstate_link_by_name(&n.s, "rt"));
	assert_null(netstate_link_by_name(&n.s, "rt-srv0"));
}

static const struct netstate_route *lookup(const struct snap *n, const char *addr)
{
	union tc_addr a = A(addr);

	return netstate_route_lookup(&n->s, fam(addr), &a);
}

static void test_route_lookup(void **state)
{
	struct snap n;
	const struct netstate_route *r;

	lab_router(&n);
	/* connected */
	r = lookup(&n, "10.0.1.77");
	assert_non_null(r);
	assert_int_equal(r->oif, 3);
	assert_int_equal(r->dst_len, 24);
	assert_false(r->has_gateway);
	/* the more specific /25 via rt-cli wins over the connected /24 */
	r = lookup(&n, "10.0.2.200");
	assert_int_equal(r->dst_len, 25);
	assert_int_equal(r->oif, 3);
	r = lookup(&n, "10.0.2.127");
	assert_int_equal(r->dst_len, 24);
	assert_int_equal(r->oif, 4);
	/* default: the lower metric of the two */
	r = lookup(&n, "192.0.2.1");
	assert_int_equal(r->dst_len, 0);
	assert_int_equal(r->priority, 50);
	assert_int_equal(r->oif, 3);
	/* a local address: the local table first */
	r = lookup(&n, "10.0.2.1");
	assert_int_equal(r->table, NETSTATE_TABLE_LOCAL);
	assert_int_equal(r->type, NETSTATE_RTN_LOCAL);
	/* IPv6: /65 inside the /64, and no default */
	r = lookup(&n, "fd00:2::8000:0:0:1");
	assert_int_equal(r->dst_len, 65);
	assert_int_equal(r->oif, 3);
	r = lookup(&n, "fd00:2::1");
	assert_int_equal(r->dst_len, 64);
	assert_int_equal(r->oif, 4);
	assert_null(lookup(&n, "2001:db8::1"));
}

static void test_route_lookup_empty(void **state)
{
	struct netstate_snapshot s = {0};
	union tc_addr a = A("10.0.0.1");

	assert_null(netstate_route_lookup(&s, AF_INET, &a));
	assert_null(netstate_neigh_lookup(&s, AF_INET, 1, &a));
	assert_null(netstate_link_by_index(&s, 1));
}

static const struct netstate_neigh *neigh(const struct snap *n, uint32_t ifindex, const char *addr)
{
	union tc_addr a = A(addr);

	return netstate_neigh_lookup(&n->s, fam(addr), ifindex, &a);
}

static void test_neigh_lookup(void **state)
{
	struct snap n;
	union tc_addr a;

	lab_router(&n);
	assert_non_null(neigh(&n, 4, "10.0.2.2"));
	assert_int_equal(neigh(&n, 4, "10.0.2.2")->lladdr[5], 2);
	assert_null(neigh(&n, 4, "10.0.2.3"));      /* INCOMPLETE */
	assert_null(neigh(&n, 4, "10.0.2.4"));      /* FAILED */
	assert_non_null(neigh(&n, 4, "10.0.2.5"));  /* STALE is valid (NUD_VALID) */
	assert_non_null(neigh(&n, 3, "10.0.1.2"));  /* DELAY */
	assert_null(neigh(&n, 4, "10.0.1.2"));      /* wrong device */
	assert_non_null(neigh(&n, 4, "fd00:2::2")); /* PROBE */
	assert_non_null(neigh(&n, 4, "fd00:2::3")); /* NOARP */
	assert_non_null(neigh(&n, 4, "fd00:2::4")); /* PERMANENT */
	assert_null(neigh(&n, 4, "fd00:2::5"));
	/* find: any state */
	a = A("10.0.2.3");
	assert_non_null(netstate_neigh_find(&n.s, AF_INET, 4, &a));
	assert_false(netstate_neigh_find(&n.s, AF_INET, 4, &a)->valid);
	/* the same bytes as IPv4 and IPv6 keys do not mix */
	a = A("10.0.2.2");
	assert_null(netstate_neigh_find(&n.s, AF_INET6, 4, &a));
}

static void test_prefix_contains(void **state)
{
	union tc_addr p = A("10.0.2.128"), a = A("10.0.2.200"), b = A("10.0.2.127");
	union tc_addr p6 = A("fd00:2::"), a6 = A("fd00:2::1"), b6 = A("fd00:3::1");

	assert_true(netstate_prefix_contains(AF_INET, &p, 25, &a));
	assert_false(netstate_prefix_contains(AF_INET, &p, 25, &b));
	assert_true(netstate_prefix_contains(AF_INET, &p, 0, &b));
	assert_true(netstate_prefix_contains(AF_INET, &a, 32, &a));
	assert_false(netstate_prefix_contains(AF_INET, &a, 33, &a));
	assert_true(netstate_prefix_contains(AF_INET6, &p6, 64, &a6));
	assert_false(netstate_prefix_contains(AF_INET6, &p6, 64, &b6));
	assert_true(netstate_prefix_contains(AF_INET6, &p6, 31, &b6));
	assert_false(netstate_prefix_contains(AF_INET6, &p6, 32, &b6));
}

static void test_nud_str(void **state)
{
	char buf[64];

	assert_string_equal(netstate_nud_str(NETSTATE_NUD_REACHABLE, buf, sizeof(buf)),
	                    "REACHABLE");
	assert_string_equal(
	    netstate_nud_str(NETSTATE_NUD_STALE | NETSTATE_NUD_NOARP, buf, sizeof(buf)),
	    "STALE|NOARP");
	assert_string_equal(netstate_nud_str(0, buf, sizeof(buf)), "NONE");
	assert_string_equal(netstate_nud_str(NETSTATE_NUD_FAILED, buf, 4), "FAI"); /* truncated */
}

static void test_copy(void **state)
{
	struct snap n;
	struct netstate_snapshot c;

	lab_router(&n);
	assert_int_equal(netstate_snapshot_copy(&c, &n.s), 0);
	assert_int_equal(c.n_links, n.s.n_links);
	assert_int_equal(c.n_routes, n.s.n_routes);
	assert_int_equal(c.n_neighs, n.s.n_neighs);
	assert_ptr_not_equal(c.links, n.s.links);
	assert_memory_equal(c.routes, n.s.routes, n.s.n_routes * sizeof(*c.routes));
	netstate_snapshot_free(&c);
	assert_null(c.links);
	assert_int_equal(c.n_links, 0);
	netstate_snapshot_free(NULL);
}

/* Forwarding-equal: NUD states that stay valid (or stay invalid) and FDB ageing do not count;
 * anything a path reads does. */
static void test_fwd_equal(void **state)
{
	struct snap a, b;
	struct netstate_fdb fa = {
	    .ifindex = 3, .master = 9, .mac = {2, 0, 0, 0, 0, 7}, .state = NETSTATE_NUD_REACHABLE};
	struct netstate_fdb fb = fa;

	(void)state;
	lab_router(&a);
	lab_router(&b);
	assert_true(netstate_snapshot_fwd_equal(&a.s, &b.s));

	/* REACHABLE -> STALE (10.0.2.2), DELAY -> REACHABLE (10.0.1.2), INCOMPLETE -> FAILED */
	for (size_t i = 0; i < b.s.n_neighs; i++) {
		struct netstate_neigh *e = &b.s.neighs[i];

		if (e->state == NETSTATE_NUD_REACHABLE)
			e->state = NETSTATE_NUD_STALE;
		else if (e->state == NETSTATE_NUD_DELAY)
			e->state = NETSTATE_NUD_REACHABLE;
		else if (e->state == NETSTATE_NUD_INCOMPLETE)
			e->state = NETSTATE_NUD_FAILED;
		e->flags ^= 0x80; /* NTF_ROUTER */
	}
	assert_true(netstate_snapshot_fwd_equal(&a.s, &b.s));

	/* a neighbour resolved (INCOMPLETE -> REACHABLE with an address) */
	lab_router(&b);
	for (size_t i = 0; i < b.s.n_neighs; i++)
		if (b.s.neighs[i].state == NETSTATE_NUD_INCOMPLETE) {
			b.s.neighs[i].state = NETSTATE_NUD_REACHABLE;
			b.s.neighs[i].valid = true;
			b.s.neighs[i].has_lladdr = true;
			b.s.neighs[i].lladdr[5] = 3;
		}
	assert_false(netstate_snapshot_fwd_equal(&a.s, &b.s));

	/* a new MAC */
	lab_router(&b);
	b.s.neighs[0].lladdr[5] ^= 1;
	assert_false(netstate_snapshot_fwd_equal(&a.s, &b.s));

	/* a link down, an MTU, a route's metric, one route less, one neighbour less */
	lab_router(&b);
	b.s.links[1].running = false;
	assert_false(netstate_snapshot_fwd_equal(&a.s, &b.s));
	lab_router(&b);
	b.s.links[2].mtu = 9000;
	assert_false(netstate_snapshot_fwd_equal(&a.s, &b.s));
	lab_router(&b);
	b.s.routes[0].priority++;
	assert_false(netstate_snapshot_fwd_equal(&a.s, &b.s));
	lab_router(&b);
	b.s.n_routes--;
	assert_false(netstate_snapshot_fwd_equal(&a.s, &b.s));
	lab_router(&b);
	b.s.n_neighs--;
	assert_false(netstate_snapshot_fwd_equal(&a.s, &b.s));

	/* FDB: a learned entry ageing is alike; turning static or moving port is not */
	a.s.fdbs = &fa;
	a.s.n_fdbs = 1;
	lab_router(&b);
	b.s.fdbs = &fb;
	b.s.n_fdbs = 1;
	fb.state = NETSTATE_NUD_STALE;
	assert_true(netstate_snapshot_fwd_equal(&a.s, &b.s));
	fb.state = NETSTATE_NUD_NOARP;
	assert_false(netstate_snapshot_fwd_equal(&a.s, &b.s));
	fb.state = NETSTATE_NUD_REACHABLE;
	fb.ifindex = 4;
	assert_false(netstate_snapshot_fwd_equal(&a.s, &b.s));
}

static void test_port_classify(void **state)
{
	struct netstate_port p;

	assert_int_equal(netstate_port_classify("p0", &p), NETSTATE_PORT_UPLINK);
	assert_int_equal(p.port, 0);
	assert_int_equal(p.controller, -1);
	assert_int_equal(netstate_port_classify("p1", &p), NETSTATE_PORT_UPLINK);
	assert_int_equal(p.port, 1);
	assert_int_equal(netstate_port_classify("pf0vf3", &p), NETSTATE_PORT_VF);
	assert_int_equal(p.pf, 0);
	assert_int_equal(p.vf, 3);
	assert_int_equal(netstate_port_classify("pf1vf12", &p), NETSTATE_PORT_VF);
	assert_int_equal(p.pf, 1);
	assert_int_equal(p.vf, 12);
	assert_int_equal(netstate_port_classify("pf0", &p), NETSTATE_PORT_PF);
	assert_int_equal(p.pf, 0);
	assert_int_equal(p.vf, -1);
	assert_int_equal(netstate_port_classify("pf0sf88", &p), NETSTATE_PORT_SF);
	assert_int_equal(p.sf, 88);
	assert_int_equal(netstate_port_classify("c1pf0vf2", &p), NETSTATE_PORT_VF);
	assert_int_equal(p.controller, 1);
	assert_int_equal(p.vf, 2);
	assert_int_equal(netstate_port_classify("", &p), NETSTATE_PORT_NONE);
	assert_int_equal(netstate_port_classify(NULL, &p), NETSTATE_PORT_NONE);
	assert_int_equal(netstate_port_classify(NULL, NULL), NETSTATE_PORT_NONE);
	/* other shapes */
	assert_int_equal(netstate_port_classify("p", &p), NETSTATE_PORT_OTHER);
	assert_int_equal(netstate_port_classify("p0x", &p), NETSTATE_PORT_OTHER);
	assert_int_equal(netstate_port_classify("pf", &p), NETSTATE_PORT_OTHER);
	assert_int_equal(netstate_port_classify("pf0vf", &p), NETSTATE_PORT_OTHER);
	assert_int_equal(p.pf, -1);
	assert_int_equal(netstate_port_classify("pf0vf1x", &p), NETSTATE_PORT_OTHER);
	assert_int_equal(netstate_port_classify("eth0", &p), NETSTATE_PORT_OTHER);
	assert_int_equal(netstate_port_classify("c1p0", &p), NETSTATE_PORT_OTHER);
	assert_int_equal(netstate_port_classify("pf0vf99999999999", &p), NETSTATE_PORT_OTHER);
	assert_string_equal(netstate_port_kind_name(NETSTATE_PORT_VF), "vf");
	assert_string_equal(netstate_port_kind_name(NETSTATE_PORT_UPLINK), "uplink");
}

static void set_switch(struct netstate_link *l, uint8_t id, const char *port)
{
	l->switch_id_len = 8;
	memset(l->switch_id, 0, sizeof(l->switch_id));
	l->switch_id[0] = 0x98;
	l->switch_id[7] = id;
	snprintf(l->port_name, sizeof(l->port_name), "%s", port);
}

/* Two ConnectX cards: eswitch 1 (uplink + 2 VF representors), eswitch 2 (uplink), a VLAN on
 * eswitch 1's uplink, and a veth. */
static void two_eswitches(struct snap *n)
{
	struct netstate_link *v;

	memset(n, 0, sizeof(*n));
	set_switch(add_link(n, 10, "enp1s0f0np0"), 1, "p0");
	set_switch(add_link(n, 12, "enp1s0f0pf0vf0"), 1, "pf0vf0");
	set_switch(add_link(n, 11, "enp2s0f0np0"), 2, "p0");
	set_switch(add_link(n, 13, "enp1s0f0pf0vf1"), 1, "pf0vf1");
	snprintf(add_link(n, 20, "veth0")->kind, NETSTATE_KIND_MAX, "veth");
	v = add_link(n, 30, "uplink.100");
	snprintf(v->kind, NETSTATE_KIND_MAX, "vlan");
	v->is_vlan = true;
	v->vlan_id = 100;
	v->vlan_lower = 10;
	v = add_link(n, 31, "orphan.7");
	v->is_vlan = true;
	v->vlan_lower = 99;
	done(n);
}

static void test_switch_groups(void **state)
{
	struct snap n;
	struct netstate_switch_group *g;
	char buf[80];
	int ng;

	two_eswitches(&n);
	ng = netstate_switch_groups(&n.s, &g);
	assert_int_equal(ng, 2);
	assert_int_equal(g[0].n, 3);
	assert_int_equal(g[0].ifindexes[0], 10);
	assert_int_equal(g[0].ifindexes[1], 12);
	assert_int_equal(g[0].ifindexes[2], 13);
	assert_int_equal(g[1].n, 1);
	assert_int_equal(g[1].ifindexes[0], 11);
	assert_string_equal(
	    netstate_switch_id_str(g[1].switch_id, g[1].switch_id_len, buf, sizeof(buf)),
	    "9800000000000002");
	netstate_switch_groups_free(g, (size_t)ng);

	/* no eswitch ports at all */
	lab_router(&n);
	ng = netstate_switch_groups(&n.s, &g);
	assert_int_equal(ng, 0);
	netstate_switch_groups_free(g, 0);
}

static void test_same_eswitch(void **state)
{
	struct snap n;
	char why[256];
	uint32_t one[] = {10, 12, 13}, vlan[] = {30, 12}, two[] = {12, 11}, veth[] = {10, 20},
	         gone[] = {10, 77}, orphan[] = {31};

	two_eswitches(&n);
	assert_true(netstate_same_eswitch(&n.s, one, 3, why, sizeof(why)));
	assert_string_equal(why, "");
	assert_true(netstate_same_eswitch(&n.s, vlan, 2, why, sizeof(why)));
	assert_false(netstate_same_eswitch(&n.s, two, 2, why, sizeof(why)));
	assert_string_equal(why, "enp1s0f0pf0vf0 and enp2s0f0np0 are on different eswitches "
	                         "(switch id 9800000000000001 vs 9800000000000002)");
	assert_false(netstate_same_eswitch(&n.s, veth, 2, why, sizeof(why)));
	assert_string_equal(why, "veth0 has no phys_switch_id (not an eswitch port)");
	assert_false(netstate_same_eswitch(&n.s, gone, 2, why, sizeof(why)));
	assert_string_equal(why, "ifindex 77 does not exist");
	assert_false(netstate_same_eswitch(&n.s, orphan, 1, why, sizeof(why)));
	assert_string_equal(why, "orphan.7: its lower device (ifindex 99) does not exist");
	assert_false(netstate_same_eswitch(&n.s, one, 0, why, sizeof(why)));
	assert_string_equal(why, "no devices");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_links),
	    cmocka_unit_test(test_route_lookup),
	    cmocka_unit_test(test_route_lookup_empty),
	    cmocka_unit_test(test_neigh_lookup),
	    cmocka_unit_test(test_prefix_contains),
	    cmocka_unit_test(test_nud_str),
	    cmocka_unit_test(test_copy),
	    cmocka_unit_test(test_fwd_equal),
	    cmocka_unit_test(test_port_classify),
	    cmocka_unit_test(test_switch_groups),
	    cmocka_unit_test(test_same_eswitch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
