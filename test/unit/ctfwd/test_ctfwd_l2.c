/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctfwd, L2: chain-1 rules from a bridge FDB (hand-built snapshots, compared as tc -batch
 * text), what is left out and why, and the diff when the FDB changes. */
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

#include "nft-tc-offload/ctfwd.h"
#include "nft-tc-offload/netstate.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

struct snap {
	struct netstate_link links[16];
	struct netstate_fdb fdbs[32];
	struct netstate_snapshot s;
};

static struct netstate_link *add_link(struct snap *n, uint32_t ifindex, const char *name,
                                      uint32_t master, const char *kind)
{
	struct netstate_link *l = &n->links[n->s.n_links++];

	memset(l, 0, sizeof(*l));
	l->ifindex = ifindex;
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->kind, sizeof(l->kind), "%s", kind);
	l->arptype = 1;
	l->has_mac = true;
	l->mac[0] = 0x02;
	l->mac[5] = (uint8_t)ifindex;
	l->mtu = 1500;
	l->up = l->running = true;
	l->master = master;
	return l;
}

static struct netstate_fdb *add_fdb(struct snap *n, uint32_t port, uint32_t master, uint8_t last,
                                    uint16_t state)
{
	struct netstate_fdb *f = &n->fdbs[n->s.n_fdbs++];

	memset(f, 0, sizeof(*f));
	f->ifindex = port;
	f->master = master;
	f->mac[0] = 0x0a;
	f->mac[5] = last;
	f->state = state;
	return f;
}

static void done(struct snap *n)
{
	n->s.links = n->links;
	n->s.fdbs = n->fdbs;
	netstate_snapshot_sort(&n->s);
}

static struct netstate_fdb *fdb_of(struct snap *n, uint8_t last)
{
	for (size_t i = 0; i < n->s.n_fdbs; i++)
		if (n->fdbs[i].mac[0] == 0x0a && n->fdbs[i].mac[5] == last && !n->fdbs[i].vlan)
			return &n->fdbs[i];
	fail_msg("no FDB entry 0a:..:%02x", last);
	return NULL;
}

/*
 * Bridge br0 (10) with ports p1 (3), p2 (4), p3 (5); lo (1); wan (6) outside the bridge;
 * a second bridge br1 (11) with port q1 (7). FDB of br0: host A (0a:..:01) behind p1, B (..02)
 * behind p2 (learned), C (..03) behind p3 (static), p1's own address (permanent), br0's own
 * entry, a multicast MAC on p2 and D (..04) in VLAN 100 on p2; br1 has E (..05) behind q1.
 */
static void bridged(struct snap *n)
{
	memset(n, 0, sizeof(*n));
	add_link(n, 1, "lo", 0, "")->has_mac = false;
	n->links[0].arptype = 772;
	add_link(n, 10, "br0", 0, "bridge");
	add_link(n, 3, "p1", 10, "veth");
	add_link(n, 4, "p2", 10, "veth");
	add_link(n, 5, "p3", 10, "veth");
	add_link(n, 6, "wan", 0, "veth");
	add_link(n, 11, "br1", 0, "bridge");
	add_link(n, 7, "q1", 11, "veth");
	add_fdb(n, 3, 10, 0x01, NETSTATE_NUD_REACHABLE);
	add_fdb(n, 4, 10, 0x02, NETSTATE_NUD_REACHABLE);
	add_fdb(n, 5, 10, 0x03, NETSTATE_NUD_NOARP);
	add_fdb(n, 3, 10, 0x33, NETSTATE_NUD_PERMANENT);  /* p1's own address */
	add_fdb(n, 10, 10, 0x10, NETSTATE_NUD_PERMANENT); /* br0's own entry */
	{
		struct netstate_fdb *m = add_fdb(n, 4, 10, 0x16, NETSTATE_NUD_REACHABLE);

		memcpy(m->mac, "\x01\x00\x5e\x00\x00\x16", 6);
	}
	add_fdb(n, 4, 10, 0x04, NETSTATE_NUD_REACHABLE)->vlan = 100;
	add_fdb(n, 7, 11, 0x05, NETSTATE_NUD_REACHABLE);
	done(n);
}

static const char *ifname(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	const struct netstate_link *l = netstate_link_by_index(ctx, ifindex);

	if (!l)
		return NULL;
	snprintf(buf, IFNAMSIZ, "%s", l->name);
	return buf;
}

struct build {
	struct ctfwd_device devs[8];
	size_t n;
	struct ctfwd_input in;
	struct ctfwd_result res;
	char text[16384];
	char notes[4096];
};

static void dev(struct build *b, uint32_t ifindex, bool ingress)
{
	b->devs[b->n++] = (struct ctfwd_device){.ifindex = ifindex, .ingress = ingress};
}

/* Builds, and prints the rules shortened: "DEV PROTO pref N ip_proto P dst_mac M -> EGRESS". */
static void run(struct build *b, const struct snap *n)
{
	size_t off = 0;

	b->in.snap = &n->s;
	b->in.devices = b->devs;
	b->in.n_devices = b->n;
	b->in.cookie_len = 4;
	memcpy(b->in.cookie, "nto1", 4);
	assert_int_equal(ctfwd_build(&b->in, &b->res), 0);
	b->text[0] = b->notes[0] = '\0';
	for (size_t i = 0; i < b->res.n_rules; i++) {
		char line[1024], *p;
		int k = tc_print(&b->res.rules[i], TC_MSG_REPLACE, ifname, (void *)&n->s, line,
		                 sizeof(line));

		assert_true(k > 0 && (size_t)k < sizeof(line));
		/* keep the parts that differ between rules */
		p = strstr(line, " cookie ");
		if (p)
			*p = '\0';
		off += (size_t)snprintf(b->text + off, sizeof(b->text) - off, "%s\n", line);
		assert_true(off < sizeof(b->text));
	}
	for (size_t i = 0; i < b->res.n_notes; i++) {
		strncat(b->notes, b->res.notes[i], sizeof(b->notes) - strlen(b->notes) - 2);
		strcat(b->notes, "\n");
	}
}

static void clear(struct build *b)
{
	ctfwd_result_free(&b->res);
	memset(b, 0, sizeof(*b));
}

static void expect(const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "--- got:\n%s--- want:\n%s", got, want);
		fail();
	}
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Lines of text holding both a and b. */
static size_t lines_with(const char *text, const char *a, const char *b)
{
	size_t n = 0;

	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) + 1 : strlen(l);
		char buf[1024];

		snprintf(buf, sizeof(buf), "%.*s", (int)len, l);
		n += strstr(buf, a) && strstr(buf, b);
		l += len;
	}
	return n;
}

/* p1 and p2 send connections to chain 1, p3 is an egress only: each ingress port gets one rule
 * per (family, protocol) for every host behind another flowtable port of its bridge. */
static void test_l2_plan(void **state)
{
	struct snap n;
	struct build b = {0};
	char *p1;

	bridged(&n);
	dev(&b, 3, true);
	dev(&b, 4, true);
	dev(&b, 5, false);
	dev(&b, 6, true);
	run(&b, &n);
	/* the head of p1's rules, exactly; the rest by count */
	p1 = strdup(b.text);
	assert_non_null(p1);
	p1[strlen("filter replace dev p1 ingress protocol ip pref 4094 chain 1 flower dst_mac "
	          "0a:00:00:00:00:02 ip_proto tcp ct_state +trk+est ct_zone 0 action mirred "
	          "egress redirect dev p2\n")] = '\0';
	expect(p1, "filter replace dev p1 ingress protocol ip pref 4094 chain 1 flower dst_mac "
	           "0a:00:00:00:00:02 ip_proto tcp ct_state +trk+est ct_zone 0 action mirred "
	           "egress redirect dev p2\n");
	free(p1);
	assert_int_equal(b.res.n_rules, 16);
	assert_int_equal(count(b.text, "dev p1 ingress"), 8);
	assert_int_equal(count(b.text, "dev p2 ingress"), 8);
	assert_int_equal(count(b.text, "dev p1 ingress protocol ip pref 4094"), 4);
	assert_int_equal(count(b.text, "dev p1 ingress protocol ipv6 pref 4095"), 4);
	/* p1: B -> p2, C -> p3; p2: A -> p1, C -> p3 */
	assert_int_equal(lines_with(b.text, "dst_mac 0a:00:00:00:00:02 ", "redirect dev p2\n"), 4);
	assert_int_equal(lines_with(b.text, "dst_mac 0a:00:00:00:00:01 ", "redirect dev p1\n"), 4);
	assert_int_equal(lines_with(b.text, "dst_mac 0a:00:00:00:00:03 ", "redirect dev p3\n"), 8);
	/* no MAC rewrite, no TTL decrement, no guard (L2 only), nothing for wan (no bridge) */
	assert_null(strstr(b.text, "pedit"));
	assert_null(strstr(b.text, "ip_ttl"));
	assert_null(strstr(b.text, "dev wan"));
	/* left out: own addresses, br0's entry, multicast, the other bridge's host */
	assert_null(strstr(b.text, ":33 "));
	assert_null(strstr(b.text, ":10 "));
	assert_null(strstr(b.text, "01:00:5e"));
	assert_null(strstr(b.text, ":05 "));
	/* D (VLAN 100) is left out with a note, once per ingress port */
	assert_null(strstr(b.text, ":04 "));
	assert_non_null(strstr(b.notes, "p1 -> p2: bridge br0: FDB entries with a VLAN id "
	                                "(vlan_filtering) get no L2 rules (first: "
	                                "0a:00:00:00:00:04 vlan 100)"));
	assert_int_equal(count(b.notes, "vlan_filtering"), 1); /* p2 -> p2 is a hairpin */
	/* rules are in prio order per device: every L2 prio is below the guards' */
	assert_true(ctfwd_l2_prio(0, AF_INET) < ctfwd_l2_prio(0, AF_INET6));
	assert_true(ctfwd_l2_prio(0, AF_INET6) < ctfwd_guard_prio(0, AF_INET));
	assert_int_equal(ctfwd_l2_prio(0, AF_INET), CTFWD_DEFAULT_PRIO_BASE - 2);
	assert_int_equal(ctfwd_l2_prio(100, AF_INET6), 99);
	clear(&b);

	/* families and protocols follow chain 0 */
	b.devs[b.n++] = (struct ctfwd_device){
	    .ifindex = 3, .ingress = true, .families = PLAN_FAMILY_IPV4, .protos = PLAN_PROTO_TCP};
	dev(&b, 4, false);
	run(&b, &n);
	expect(b.text, "filter replace dev p1 ingress protocol ip pref 4094 chain 1 flower dst_mac "
	               "0a:00:00:00:00:02 ip_proto tcp ct_state +trk+est ct_zone 0 action mirred "
	               "egress redirect dev p2\n");
	clear(&b);
}

/* Egress ports the L2 rules never use: not in the flowtable, down, another bridge's port,
 * a master that is not a bridge; and a profile without Ethernet address matches. */
static void test_l2_filters(void **state)
{
	static const char text[] =
	    "[profile]\nname = noeth\nstrategy = ct\n"
	    "[offload]\nkeys = eth_type ip_proto ipv4 ipv6 ct_state "
	    "ct_zone ip_ttl\n"
	    "ct_state = +trk +est -trk\nactions = ct gact goto mirred pedit_eth "
	    "pedit_ip4 pedit_ip6 pedit_ttl csum\n"
	    "max_actions = 8\nhooks = ingress\nct_zones = 0-65535\n"
	    "[limits]\ncapacity = 0\n";
	struct profile p;
	char err[PROFILE_ERR_MAX];
	struct snap n;
	struct build b = {0};

	/* p3 not in the flowtable: only B */
	bridged(&n);
	dev(&b, 3, true);
	dev(&b, 4, false);
	run(&b, &n);
	assert_int_equal(b.res.n_rules, 4);
	assert_int_equal(count(b.text, "redirect dev p2"), 4);
	clear(&b);

	/* p2 down: no rule towards it, and the reason */
	bridged(&n);
	((struct netstate_link *)netstate_link_by_index(&n.s, 4))->up = false;
	dev(&b, 3, true);
	dev(&b, 4, false);
	dev(&b, 5, false);
	run(&b, &n);
	assert_int_equal(b.res.n_rules, 4);
	assert_int_equal(count(b.text, "redirect dev p3"), 4);
	assert_non_null(strstr(b.notes, "p1 -> p2: no forwarding: down"));
	clear(&b);

	/* an FDB entry naming a port that left the bridge (stale): no rule */
	bridged(&n);
	((struct netstate_link *)netstate_link_by_index(&n.s, 4))->master = 0;
	dev(&b, 3, true);
	dev(&b, 4, false);
	run(&b, &n);
	expect(b.text, "");
	clear(&b);

	/* p1's master is a bond (no FDB entry names it), not a bridge: no L2 rules at all */
	bridged(&n);
	add_link(&n, 12, "bond0", 0, "bond");
	((struct netstate_link *)netstate_link_by_index(&n.s, 3))->master = 12;
	done(&n);
	dev(&b, 3, true);
	dev(&b, 4, false);
	dev(&b, 5, false);
	run(&b, &n);
	expect(b.text, "");
	clear(&b);

	/* the bridge's own link object is missing or sparse (no kind): its FDB entries still say
	 * it is a bridge */
	bridged(&n);
	((struct netstate_link *)netstate_link_by_index(&n.s, 10))->kind[0] = '\0';
	dev(&b, 3, true);
	dev(&b, 4, false);
	run(&b, &n);
	assert_int_equal(b.res.n_rules, 4);
	clear(&b);

	/* the profile refuses dst_mac matches: no rule, one note */
	if (profile_parse(text, "test", &p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	bridged(&n);
	b.devs[b.n++] = (struct ctfwd_device){.ifindex = 3, .ingress = true, .profile = &p};
	dev(&b, 4, false);
	dev(&b, 5, false);
	run(&b, &n);
	expect(b.text, "");
	assert_non_null(strstr(b.notes, "p1: L2 rule refused (profile noeth: "));
	assert_non_null(strstr(b.notes, "bridged connections stay in software (first: "
	                                "0a:00:00:00:00:02)"));
	assert_int_equal(count(b.notes, "L2 rule refused"), 1);
	clear(&b);

	/* a prio base that leaves no room below it for the L2 prios */
	bridged(&n);
	dev(&b, 3, true);
	b.in.prio_base = CTFWD_L2_PRIOS;
	b.in.snap = &n.s;
	b.in.devices = b.devs;
	b.in.n_devices = b.n;
	assert_int_equal(ctfwd_build(&b.in, &b.res), -EINVAL);
	clear(&b);
}

/* "Installs" the bridged plan (p1, p2 ingress; p3 egress): handles 1, 2, ... */
static void install(const struct snap *n, struct tc_rule **out, size_t *n_out)
{
	struct build b = {0};

	dev(&b, 3, true);
	dev(&b, 4, true);
	dev(&b, 5, false);
	run(&b, n);
	*out = calloc(b.res.n_rules + 1, sizeof(**out));
	assert_non_null(*out);
	memcpy(*out, b.res.rules, b.res.n_rules * sizeof(**out));
	for (size_t i = 0; i < b.res.n_rules; i++)
		(*out)[i].id.handle = (uint32_t)i + 1;
	*n_out = b.res.n_rules;
	clear(&b);
}

static void diff_against(const struct tc_rule *inst, size_t n_inst, const struct snap *n,
                         struct ctfwd_diff *d)
{
	struct build b = {0};

	dev(&b, 3, true);
	dev(&b, 4, true);
	dev(&b, 5, false);
	run(&b, n);
	assert_int_equal(ctfwd_diff(inst, n_inst, b.res.rules, b.res.n_rules, d), 0);
	clear(&b);
}

/* The FDB changes and the rules follow: a MAC moving ports, an entry aging out, a new host. */
static void test_l2_diff(void **state)
{
	struct snap n;
	struct tc_rule *inst;
	size_t n_inst;
	struct ctfwd_diff d;

	bridged(&n);
	install(&n, &inst, &n_inst);
	assert_int_equal(n_inst, 16);

	/* nothing changed */
	diff_against(inst, n_inst, &n, &d);
	assert_int_equal(d.n_keep, 16);
	assert_int_equal(d.n_add + d.n_del + d.n_change, 0);
	ctfwd_diff_free(&d);

	/* B moves from p2 to p3: p1's four rules for B change in place (same match, same
	 * handles, the new port); p2 gets four new ones (B is no longer behind itself) */
	fdb_of(&n, 0x02)->ifindex = 5;
	done(&n);
	diff_against(inst, n_inst, &n, &d);
	assert_int_equal(d.n_keep, 12);
	assert_int_equal(d.n_change, 4);
	assert_int_equal(d.n_add, 4);
	assert_int_equal(d.n_del, 0);
	for (size_t i = 0; i < d.n_change; i++) {
		assert_int_equal(d.change[i].id.ifindex, 3);
		assert_int_equal(d.change[i].flower.key.eth_dst[5], 0x02);
		assert_int_equal(d.change[i].actions[0].mirred.ifindex, 5);
		assert_int_not_equal(d.change[i].id.handle, 0);
	}
	for (size_t i = 0; i < d.n_add; i++) {
		assert_int_equal(d.add[i].id.ifindex, 4);
		assert_int_equal(d.add[i].flower.key.eth_dst[5], 0x02);
		assert_int_equal(d.add[i].actions[0].mirred.ifindex, 5);
	}
	ctfwd_diff_free(&d);

	/* B ages out (the entry is gone): p1's four rules for B are deleted, nothing else */
	bridged(&n);
	for (size_t i = 0; i < n.s.n_fdbs; i++)
		if (n.fdbs[i].mac[5] == 0x02 && n.fdbs[i].mac[0] == 0x0a) {
			n.fdbs[i] = n.fdbs[--n.s.n_fdbs];
			break;
		}
	done(&n);
	diff_against(inst, n_inst, &n, &d);
	assert_int_equal(d.n_keep, 12);
	assert_int_equal(d.n_del, 4);
	assert_int_equal(d.n_add + d.n_change, 0);
	for (size_t i = 0; i < d.n_del; i++) {
		assert_int_equal(d.del[i].id.ifindex, 3);
		assert_int_equal(d.del[i].flower.key.eth_dst[5], 0x02);
	}
	ctfwd_diff_free(&d);

	/* a new host F behind p3 (learned): four rules on each of p1 and p2 */
	bridged(&n);
	add_fdb(&n, 5, 10, 0x06, NETSTATE_NUD_REACHABLE);
	done(&n);
	diff_against(inst, n_inst, &n, &d);
	assert_int_equal(d.n_keep, 16);
	assert_int_equal(d.n_add, 8);
	assert_int_equal(d.n_del + d.n_change, 0);
	ctfwd_diff_free(&d);

	/* an entry turning stale (aged, not yet removed) keeps its rules: the bridge still uses
	 * it; turning into the port's own (permanent) address removes them */
	bridged(&n);
	fdb_of(&n, 0x02)->state = NETSTATE_NUD_STALE;
	diff_against(inst, n_inst, &n, &d);
	assert_int_equal(d.n_keep, 16);
	ctfwd_diff_free(&d);
	fdb_of(&n, 0x02)->state = NETSTATE_NUD_PERMANENT;
	diff_against(inst, n_inst, &n, &d);
	assert_int_equal(d.n_del, 4);
	ctfwd_diff_free(&d);
	free(inst);
}

/* netstate's FDB lookup and the snapshot copy carry the entries. */
static void test_fdb_snapshot(void **state)
{
	struct snap n;
	struct netstate_snapshot c;
	const uint8_t b[6] = {0x0a, 0, 0, 0, 0, 0x02};

	bridged(&n);
	assert_non_null(netstate_fdb_lookup(&n.s, 10, b, 0));
	assert_int_equal(netstate_fdb_lookup(&n.s, 10, b, 0)->ifindex, 4);
	assert_null(netstate_fdb_lookup(&n.s, 11, b, 0));
	assert_null(netstate_fdb_lookup(&n.s, 10, b, 100));
	assert_int_equal(netstate_snapshot_copy(&c, &n.s), 0);
	assert_int_equal(c.n_fdbs, n.s.n_fdbs);
	assert_int_equal(memcmp(c.fdbs, n.s.fdbs, n.s.n_fdbs * sizeof(*c.fdbs)), 0);
	/* sorted by bridge first */
	for (size_t i = 1; i < c.n_fdbs; i++)
		assert_true(c.fdbs[i - 1].master <= c.fdbs[i].master);
	netstate_snapshot_free(&c);
	assert_null(c.fdbs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_l2_plan),
	    cmocka_unit_test(test_l2_filters),
	    cmocka_unit_test(test_l2_diff),
	    cmocka_unit_test(test_fdb_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
