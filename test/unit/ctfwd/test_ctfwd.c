/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctfwd: chain-1 forwarding rules from hand-built snapshots, compared as tc -batch text. */
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
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

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
	struct netstate_route routes[48];
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

static struct netstate_route *add_route(struct snap *n, uint32_t table, uint8_t type,
                                        const char *pfx, unsigned len, const char *gw, uint32_t oif)
{
	struct netstate_route *r = &n->routes[n->s.n_routes++];

	memset(r, 0, sizeof(*r));
	r->family = fam(pfx);
	r->table = table;
	r->type = type;
	r->dst = A(pfx);
	r->dst_len = (uint8_t)len;
	if (gw) {
		r->has_gateway = true;
		r->gateway = A(gw);
	}
	r->oif = oif;
	return r;
}

static struct netstate_route *main_route(struct snap *n, const char *pfx, unsigned len,
                                         const char *gw, uint32_t oif)
{
	return add_route(n, NETSTATE_TABLE_MAIN, NETSTATE_RTN_UNICAST, pfx, len, gw, oif);
}

static void local_addr(struct snap *n, const char *addr, uint32_t oif)
{
	add_route(n, NETSTATE_TABLE_LOCAL, NETSTATE_RTN_LOCAL, addr,
	          fam(addr) == AF_INET ? 32 : 128, NULL, oif);
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

/* The lab router (test/lab/lib.sh): lo (1), rt-cli (3) 10.0.1.1/24 fd00:1::1/64, rt-srv (4)
 * 10.0.2.1/24 fd00:2::1/64, with the routes and local addresses the kernel creates. */
static void lab_router(struct snap *n)
{
	memset(n, 0, sizeof(*n));
	add_link(n, 1, "lo")->has_mac = false;
	n->links[0].arptype = 772;
	add_link(n, 3, "rt-cli");
	add_link(n, 4, "rt-srv");
	main_route(n, "10.0.1.0", 24, NULL, 3);
	main_route(n, "10.0.2.0", 24, NULL, 4);
	main_route(n, "fd00:1::", 64, NULL, 3);
	main_route(n, "fd00:2::", 64, NULL, 4);
	main_route(n, "fe80::", 64, NULL, 3);
	main_route(n, "fe80::", 64, NULL, 4);
	local_addr(n, "10.0.1.1", 3);
	local_addr(n, "10.0.2.1", 4);
	local_addr(n, "127.0.0.1", 1);
	local_addr(n, "fd00:1::1", 3);
	local_addr(n, "fd00:2::1", 4);
	add_route(n, NETSTATE_TABLE_LOCAL, 5 /* RTN_MULTICAST */, "ff00::", 8, NULL, 3);
	add_neigh(n, 3, "10.0.1.2", NETSTATE_NUD_REACHABLE, 0x12);
	add_neigh(n, 4, "10.0.2.2", NETSTATE_NUD_STALE, 0x22);
	add_neigh(n, 3, "fd00:1::2", NETSTATE_NUD_REACHABLE, 0x61);
	add_neigh(n, 4, "fd00:2::2", NETSTATE_NUD_DELAY, 0x62);
	add_neigh(n, 4, "fe80::2", NETSTATE_NUD_REACHABLE, 0x62);
	add_neigh(n, 4, "ff02::16", NETSTATE_NUD_NOARP, 0x33);
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

/* The rules as tc -batch lines, one per line; malloc'ed. */
static char *print_rules(const struct netstate_snapshot *s, const struct tc_rule *v, size_t n)
{
	size_t cap = 1 + n * 512, off = 0;
	char *out = calloc(1, cap);

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		int k =
		    tc_print(&v[i], TC_MSG_REPLACE, ifname, (void *)s, out + off, cap - off - 1);

		assert_true(k > 0 && (size_t)k < cap - off - 1);
		off += (size_t)k;
		out[off++] = '\n';
	}
	return out;
}

static char *joined_notes(const struct ctfwd_result *r)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < r->n_notes; i++)
		len += strlen(r->notes[i]) + 1;
	s = calloc(1, len);
	assert_non_null(s);
	for (size_t i = 0; i < r->n_notes; i++) {
		strcat(s, r->notes[i]);
		strcat(s, "\n");
	}
	return s;
}

struct build {
	struct ctfwd_device devs[8];
	size_t n;
	struct ctfwd_input in;
	struct ctfwd_result res;
	char *text, *notes;
};

static void dev(struct build *b, uint32_t ifindex, bool ingress)
{
	b->devs[b->n++] = (struct ctfwd_device){.ifindex = ifindex, .ingress = ingress};
}

static void run(struct build *b, const struct snap *n)
{
	b->in.snap = &n->s;
	b->in.devices = b->devs;
	b->in.n_devices = b->n;
	assert_int_equal(ctfwd_build(&b->in, &b->res), 0);
	b->text = print_rules(&n->s, b->res.rules, b->res.n_rules);
	b->notes = joined_notes(&b->res);
}

static void clear(struct build *b)
{
	ctfwd_result_free(&b->res);
	free(b->text);
	free(b->notes);
	memset(b, 0, sizeof(*b));
}

/* A home router: lan (3) 10.0.1.1/24, wan (5) 192.0.2.1/24 with the default route, a tun (6,
 * not in the flowtable) for 10.9.0.0/16, a blackhole, a subnet behind a lan gateway whose
 * neighbour is unknown, and a public address on lo. */
static void home_router(struct snap *n)
{
	struct netstate_link *tun;

	memset(n, 0, sizeof(*n));
	add_link(n, 1, "lo")->has_mac = false;
	add_link(n, 3, "lan");
	add_link(n, 5, "wan");
	tun = add_link(n, 6, "tun0");
	tun->has_mac = false;
	tun->arptype = 65534;
	main_route(n, "10.0.1.0", 24, NULL, 3);
	main_route(n, "192.0.2.0", 24, NULL, 5);
	main_route(n, "0.0.0.0", 0, "192.0.2.254", 5)->priority = 10;
	main_route(n, "0.0.0.0", 0, "192.0.2.253", 5)->priority = 20; /* loses on metric */
	main_route(n, "10.9.0.0", 16, NULL, 6);
	add_route(n, NETSTATE_TABLE_MAIN, 6 /* RTN_BLACKHOLE */, "10.66.0.0", 16, NULL, 0);
	main_route(n, "198.51.100.0", 24, "10.0.1.9", 3);
	local_addr(n, "10.0.1.1", 3);
	local_addr(n, "192.0.2.1", 5);
	local_addr(n, "203.0.113.5", 1);
	add_neigh(n, 3, "10.0.1.2", NETSTATE_NUD_REACHABLE, 0x12);
	add_neigh(n, 3, "10.0.1.3", NETSTATE_NUD_INCOMPLETE, 0x13);
	add_neigh(n, 3, "10.0.1.4", NETSTATE_NUD_FAILED, 0x14);
	add_neigh(n, 5, "192.0.2.254", NETSTATE_NUD_STALE, 0xfe);
	add_neigh(n, 5, "192.0.2.253", NETSTATE_NUD_REACHABLE, 0xfd);
	done(n);
}

/* In place: replaces every occurrence of from by to (to no longer than from). */
static void replace_all(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	char *p = s;

	assert_true(tl <= fl);
	while ((p = strstr(p, from))) {
		memmove(p + tl, p + fl, strlen(p + fl) + 1);
		memcpy(p, to, tl);
		p += tl;
	}
}

/* The printed rules, shortened for readable expectations. */
static char *condensed(const struct build *b)
{
	char *s = strdup(b->text);

	assert_non_null(s);
	replace_all(s, "filter replace dev ", "");
	replace_all(s, " ingress protocol ", " ");
	replace_all(s, " chain 1 flower", "");
	replace_all(s, " ct_state +trk+est ct_zone 0", " est");
	replace_all(s, " action pedit ex munge eth src set ", " fwd src ");
	replace_all(s, " munge eth dst set ", " dst ");
	replace_all(s,
	            " munge ip ttl add 0xff pipe action csum iph pipe action mirred egress "
	            "redirect dev ",
	            " ttl-1 csum -> ");
	replace_all(s, " munge ip6 hoplimit add 0xff pipe action mirred egress redirect dev ",
	            " hl-1 -> ");
	return s;
}

static void expect(const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "--- got:\n%s--- want:\n%s", got, want);
		fail();
	}
}

static void expect_condensed(const struct build *b, const char *want)
{
	char *s = condensed(b);

	expect(s, want);
	free(s);
}

/* The lab topology, both ports in the flowtable: the exact layout DESIGN.md measured. */
static void test_lab_router(void **state)
{
	struct snap n;
	struct build b = {0};

	lab_router(&n);
	dev(&b, 3, true);
	dev(&b, 4, true);
	b.in.cookie_len = 4;
	memcpy(b.in.cookie, "nto1", 4);
	run(&b, &n);
	expect(
	    b.text,
	    "filter replace dev rt-cli ingress protocol ip pref 4096 chain 1 flower ip_ttl "
	    "0x0/0xfe action pass cookie 6e746f31\n"
	    "filter replace dev rt-cli ingress protocol ipv6 pref 4097 chain 1 flower ip_ttl "
	    "0x0/0xfe action pass cookie 6e746f31\n"
	    "filter replace dev rt-cli ingress protocol ip pref 4098 chain 1 flower ip_proto tcp "
	    "dst_ip 10.0.2.2 ct_state +trk+est ct_zone 0 action pedit ex munge eth src set "
	    "02:00:00:00:00:04 munge eth dst set 0a:00:00:00:00:22 munge ip ttl add 0xff pipe "
	    "cookie 6e746f31 action csum iph pipe cookie 6e746f31 action mirred egress redirect "
	    "dev rt-srv cookie 6e746f31\n"
	    "filter replace dev rt-cli ingress protocol ip pref 4098 chain 1 flower ip_proto udp "
	    "dst_ip 10.0.2.2 ct_state +trk+est ct_zone 0 action pedit ex munge eth src set "
	    "02:00:00:00:00:04 munge eth dst set 0a:00:00:00:00:22 munge ip ttl add 0xff pipe "
	    "cookie 6e746f31 action csum iph pipe cookie 6e746f31 action mirred egress redirect "
	    "dev rt-srv cookie 6e746f31\n"
	    "filter replace dev rt-cli ingress protocol ipv6 pref 4131 chain 1 flower ip_proto "
	    "tcp dst_ip fd00:2::2 ct_state +trk+est ct_zone 0 action pedit ex munge eth src set "
	    "02:00:00:00:00:04 munge eth dst set 0a:00:00:00:00:62 munge ip6 hoplimit add 0xff "
	    "pipe cookie 6e746f31 action mirred egress redirect dev rt-srv cookie 6e746f31\n"
	    "filter replace dev rt-cli ingress protocol ipv6 pref 4131 chain 1 flower ip_proto "
	    "udp dst_ip fd00:2::2 ct_state +trk+est ct_zone 0 action pedit ex munge eth src set "
	    "02:00:00:00:00:04 munge eth dst set 0a:00:00:00:00:62 munge ip6 hoplimit add 0xff "
	    "pipe cookie 6e746f31 action mirred egress redirect dev rt-srv cookie 6e746f31\n"
	    "filter replace dev rt-srv ingress protocol ip pref 4096 chain 1 flower ip_ttl "
	    "0x0/0xfe action pass cookie 6e746f31\n"
	    "filter replace dev rt-srv ingress protocol ipv6 pref 4097 chain 1 flower ip_ttl "
	    "0x0/0xfe action pass cookie 6e746f31\n"
	    "filter replace dev rt-srv ingress protocol ip pref 4098 chain 1 flower ip_proto tcp "
	    "dst_ip 10.0.1.2 ct_state +trk+est ct_zone 0 action pedit ex munge eth src set "
	    "02:00:00:00:00:03 munge eth dst set 0a:00:00:00:00:12 munge ip ttl add 0xff pipe "
	    "cookie 6e746f31 action csum iph pipe cookie 6e746f31 action mirred egress redirect "
	    "dev rt-cli cookie 6e746f31\n"
	    "filter replace dev rt-srv ingress protocol ip pref 4098 chain 1 flower ip_proto udp "
	    "dst_ip 10.0.1.2 ct_state +trk+est ct_zone 0 action pedit ex munge eth src set "
	    "02:00:00:00:00:03 munge eth dst set 0a:00:00:00:00:12 munge ip ttl add 0xff pipe "
	    "cookie 6e746f31 action csum iph pipe cookie 6e746f31 action mirred egress redirect "
	    "dev rt-cli cookie 6e746f31\n"
	    "filter replace dev rt-srv ingress protocol ipv6 pref 4131 chain 1 flower ip_proto "
	    "tcp dst_ip fd00:1::2 ct_state +trk+est ct_zone 0 action pedit ex munge eth src set "
	    "02:00:00:00:00:03 munge eth dst set 0a:00:00:00:00:61 munge ip6 hoplimit add 0xff "
	    "pipe cookie 6e746f31 action mirred egress redirect dev rt-cli cookie 6e746f31\n"
	    "filter replace dev rt-srv ingress protocol ipv6 pref 4131 chain 1 flower ip_proto "
	    "udp dst_ip fd00:1::2 ct_state +trk+est ct_zone 0 action pedit ex munge eth src set "
	    "02:00:00:00:00:03 munge eth dst set 0a:00:00:00:00:61 munge ip6 hoplimit add 0xff "
	    "pipe cookie 6e746f31 action mirred egress redirect dev rt-cli cookie 6e746f31\n");
	/* link-local and multicast neighbours, and the hairpin, give nothing and say nothing */
	expect(b.notes, "");
	/* every rule is accepted by the software profile and by mlx5's but for the guards */
	clear(&b);
}

/* A home router (see home_router): most specific first, pass rules for everything a broader
 * forwarding rule would wrongly catch, reasons for what stays in software. */
static void test_home_router(void **state)
{
	struct snap n;
	struct build b = {0};

	home_router(&n);
	dev(&b, 3, true);
	dev(&b, 5, true);
	dev(&b, 6, false); /* ignored: not Ethernet */
	run(&b, &n);
	expect_condensed(
	    &b,
	    /* lan: the TTL guard first */
	    "lan ip pref 4096 ip_ttl 0x0/0xfe action pass\n"
	    /* /32: the router's own addresses stay local; wan neighbours forward */
	    "lan ip pref 4098 ip_proto tcp dst_ip 10.0.1.1 est action pass\n"
	    "lan ip pref 4098 ip_proto udp dst_ip 10.0.1.1 est action pass\n"
	    "lan ip pref 4098 ip_proto tcp dst_ip 192.0.2.1 est action pass\n"
	    "lan ip pref 4098 ip_proto udp dst_ip 192.0.2.1 est action pass\n"
	    "lan ip pref 4098 ip_proto tcp dst_ip 192.0.2.253 est fwd src 02:00:00:00:00:05 dst "
	    "0a:00:00:00:00:fd ttl-1 csum -> wan\n"
	    "lan ip pref 4098 ip_proto udp dst_ip 192.0.2.253 est fwd src 02:00:00:00:00:05 dst "
	    "0a:00:00:00:00:fd ttl-1 csum -> wan\n"
	    "lan ip pref 4098 ip_proto tcp dst_ip 192.0.2.254 est fwd src 02:00:00:00:00:05 dst "
	    "0a:00:00:00:00:fe ttl-1 csum -> wan\n"
	    "lan ip pref 4098 ip_proto udp dst_ip 192.0.2.254 est fwd src 02:00:00:00:00:05 dst "
	    "0a:00:00:00:00:fe ttl-1 csum -> wan\n"
	    "lan ip pref 4098 ip_proto tcp dst_ip 203.0.113.5 est action pass\n"
	    "lan ip pref 4098 ip_proto udp dst_ip 203.0.113.5 est action pass\n"
	    "lan ip pref 4098 ip_proto tcp dst_ip 255.255.255.255 est action pass\n"
	    "lan ip pref 4098 ip_proto udp dst_ip 255.255.255.255 est action pass\n"
	    /* /24: lan itself (hairpin), the rest of wan's subnet, the unresolved gateway */
	    "lan ip pref 4106 ip_proto tcp dst_ip 10.0.1.0/24 est action pass\n"
	    "lan ip pref 4106 ip_proto udp dst_ip 10.0.1.0/24 est action pass\n"
	    "lan ip pref 4106 ip_proto tcp dst_ip 192.0.2.0/24 est action pass\n"
	    "lan ip pref 4106 ip_proto udp dst_ip 192.0.2.0/24 est action pass\n"
	    "lan ip pref 4106 ip_proto tcp dst_ip 198.51.100.0/24 est action pass\n"
	    "lan ip pref 4106 ip_proto udp dst_ip 198.51.100.0/24 est action pass\n"
	    /* /16: the tunnel (not a flowtable device) and the blackhole */
	    "lan ip pref 4114 ip_proto tcp dst_ip 10.9.0.0/16 est action pass\n"
	    "lan ip pref 4114 ip_proto udp dst_ip 10.9.0.0/16 est action pass\n"
	    "lan ip pref 4114 ip_proto tcp dst_ip 10.66.0.0/16 est action pass\n"
	    "lan ip pref 4114 ip_proto udp dst_ip 10.66.0.0/16 est action pass\n"
	    "lan ip pref 4126 ip_proto tcp dst_ip 224.0.0.0/4 est action pass\n"
	    "lan ip pref 4126 ip_proto udp dst_ip 224.0.0.0/4 est action pass\n"
	    /* /0: the default route's gateway (metric 10 beats 20) */
	    "lan ip pref 4130 ip_proto tcp est fwd src 02:00:00:00:00:05 dst 0a:00:00:00:00:fe "
	    "ttl-1 csum -> wan\n"
	    "lan ip pref 4130 ip_proto udp est fwd src 02:00:00:00:00:05 dst 0a:00:00:00:00:fe "
	    "ttl-1 csum -> wan\n"
	    /* wan: only the valid lan neighbour; nothing broader, so no pass rules */
	    "wan ip pref 4096 ip_ttl 0x0/0xfe action pass\n"
	    "wan ip pref 4098 ip_proto tcp dst_ip 10.0.1.2 est fwd src 02:00:00:00:00:03 dst "
	    "0a:00:00:00:00:12 ttl-1 csum -> lan\n"
	    "wan ip pref 4098 ip_proto udp dst_ip 10.0.1.2 est fwd src 02:00:00:00:00:03 dst "
	    "0a:00:00:00:00:12 ttl-1 csum -> lan\n");
	expect(b.notes, "lan -> tun0: no forwarding: not an Ethernet device\n"
	                "wan -> tun0: no forwarding: not an Ethernet device\n"
	                "wan -> lan: 198.51.100.0/24 via 10.0.1.9: gateway neighbour absent: no "
	                "rule (the stack resolves it)\n"
	                "wan -> lan: neighbour 10.0.1.3 is INCOMPLETE: no rule (the stack "
	                "resolves it)\n"
	                "wan -> lan: neighbour 10.0.1.4 is FAILED: no rule (the stack resolves "
	                "it)\n");
	clear(&b);

	/* the gateway's neighbour goes stale -> still valid; fails -> the default route's rules
	 * go, and so do the pass rules they needed; the /32 neighbour rules stay */
	n.neighs[4].state = NETSTATE_NUD_FAILED; /* sorted: lan 3 x3, then wan .253, .254 */
	assert_int_equal(n.neighs[4].addr.v4.s_addr, A("192.0.2.254").v4.s_addr);
	n.neighs[4].valid = false;
	dev(&b, 3, true);
	dev(&b, 5, true);
	run(&b, &n);
	expect_condensed(&b, "lan ip pref 4096 ip_ttl 0x0/0xfe action pass\n"
	                     "lan ip pref 4098 ip_proto tcp dst_ip 192.0.2.253 est fwd src "
	                     "02:00:00:00:00:05 dst 0a:00:00:00:00:fd ttl-1 csum -> wan\n"
	                     "lan ip pref 4098 ip_proto udp dst_ip 192.0.2.253 est fwd src "
	                     "02:00:00:00:00:05 dst 0a:00:00:00:00:fd ttl-1 csum -> wan\n"
	                     "wan ip pref 4096 ip_ttl 0x0/0xfe action pass\n"
	                     "wan ip pref 4098 ip_proto tcp dst_ip 10.0.1.2 est fwd src "
	                     "02:00:00:00:00:03 dst 0a:00:00:00:00:12 ttl-1 csum -> lan\n"
	                     "wan ip pref 4098 ip_proto udp dst_ip 10.0.1.2 est fwd src "
	                     "02:00:00:00:00:03 dst 0a:00:00:00:00:12 ttl-1 csum -> lan\n");
	assert_non_null(strstr(b.notes, "lan -> wan: 0.0.0.0/0 via 192.0.2.254: gateway neighbour "
	                                "FAILED: no rule (the stack resolves it)\n"));
	assert_non_null(strstr(b.notes,
	                       "lan -> wan: neighbour 192.0.2.254 is FAILED: no rule (the stack "
	                       "resolves it)\n"));
	clear(&b);
}

static const struct profile *builtin(struct profile_set *ps, const char *name)
{
	char err[PROFILE_ERR_MAX];
	const struct profile *p;

	profile_set_init(ps);
	assert_int_equal(profile_set_load_builtin(ps, err, sizeof(err)), 0);
	p = profile_set_find(ps, name);
	assert_non_null(p);
	return p;
}

/* mlx5 takes every forwarding rule but not the TTL guard (no ip_ttl key): the guard is
 * installed skip_hw, with a note. */
static void test_profile_mlx5(void **state)
{
	struct profile_set ps;
	const struct profile *mlx5 = builtin(&ps, "mlx5");
	struct snap n;
	struct build b = {0};
	char *c;

	lab_router(&n);
	b.devs[b.n++] = (struct ctfwd_device){.ifindex = 3, .ingress = true, .profile = mlx5};
	dev(&b, 4, false);
	run(&b, &n);
	c = condensed(&b);
	expect(c,
	       "rt-cli ip pref 4096 ip_ttl 0x0/0xfe skip_hw action pass\n"
	       "rt-cli ipv6 pref 4097 ip_ttl 0x0/0xfe skip_hw action pass\n"
	       "rt-cli ip pref 4098 ip_proto tcp dst_ip 10.0.2.2 est fwd src 02:00:00:00:00:04 dst "
	       "0a:00:00:00:00:22 ttl-1 csum -> rt-srv\n"
	       "rt-cli ip pref 4098 ip_proto udp dst_ip 10.0.2.2 est fwd src 02:00:00:00:00:04 dst "
	       "0a:00:00:00:00:22 ttl-1 csum -> rt-srv\n"
	       "rt-cli ipv6 pref 4131 ip_proto tcp dst_ip fd00:2::2 est fwd src 02:00:00:00:00:04 "
	       "dst 0a:00:00:00:00:62 hl-1 -> rt-srv\n"
	       "rt-cli ipv6 pref 4131 ip_proto udp dst_ip fd00:2::2 est fwd src 02:00:00:00:00:04 "
	       "dst 0a:00:00:00:00:62 hl-1 -> rt-srv\n");
	free(c);
	assert_non_null(strstr(b.notes, "rt-cli: IPv4 TTL guard refused by the profile (profile "
	                                "mlx5: "));
	assert_non_null(strstr(b.notes, "installed skip_hw, so the hardware may forward TTL <= 1"));
	/* the mlx5 profile accepts every other rule as built */
	for (size_t i = 0; i < b.res.n_rules; i++) {
		char why[256];

		if (!b.res.rules[i].flower.skip_hw)
			assert_true(profile_check_rule(mlx5, &b.res.rules[i], why, sizeof(why)));
	}
	clear(&b);
	profile_set_free(&ps);
}

/* A profile without pedit: forwarding rules are refused; they would become pass rules, which
 * a family without forwarding rules does not need: nothing at all, with the reason. */
static void test_profile_refuses(void **state)
{
	static const char text[] = "[profile]\nname = nopedit\nstrategy = ct\n"
	                           "[offload]\nkeys = eth_type ip_proto ipv4 ipv6 ct_state "
	                           "ct_zone ip_ttl\n"
	                           "ct_state = +trk +est -trk\nactions = ct gact goto mirred csum\n"
	                           "max_actions = 8\nhooks = ingress\nct_zones = 0-65535\n"
	                           "[limits]\ncapacity = 0\n";
	struct profile p;
	char err[PROFILE_ERR_MAX];
	struct snap n;
	struct build b = {0};

	if (profile_parse(text, "test", &p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	lab_router(&n);
	b.devs[b.n++] = (struct ctfwd_device){.ifindex = 3, .ingress = true, .profile = &p};
	dev(&b, 4, false);
	run(&b, &n);
	expect(b.text, "");
	assert_non_null(strstr(b.notes, "rt-cli: forwarding rule refused (profile nopedit: "));
	assert_non_null(strstr(b.notes, "such destinations stay in software (first: 10.0.2.2/32)"));
	clear(&b);
}

/* Egress checks: MTU smaller than the ingress, down, no carrier. */
static void test_egress_checks(void **state)
{
	struct snap n;
	struct build b = {0};

	lab_router(&n);
	n.links[1].mtu = 9000; /* rt-cli (sorted: lo, rt-cli, rt-srv) */
	dev(&b, 3, true);
	dev(&b, 4, true);
	run(&b, &n);
	/* rt-cli -> rt-srv (1500 < 9000) refused; rt-srv -> rt-cli still fine */
	expect(b.notes, "rt-cli -> rt-srv: no forwarding: MTU 1500 is smaller than rt-cli's 9000: "
	                "packets that need fragmentation or an ICMP must reach the stack\n");
	assert_null(strstr(b.text, "dev rt-cli ingress"));
	assert_non_null(strstr(b.text, "dev rt-srv ingress"));
	clear(&b);

	lab_router(&n);
	n.links[2].running = false;
	dev(&b, 3, true);
	dev(&b, 4, true);
	run(&b, &n);
	expect(b.notes, "rt-cli -> rt-srv: no forwarding: no carrier (not running)\n");
	clear(&b);
	n.links[2].up = false;
	dev(&b, 3, true);
	dev(&b, 4, true);
	run(&b, &n);
	expect(b.notes, "rt-cli -> rt-srv: no forwarding: down\n");
	clear(&b);

	/* an unknown ingress, a non-Ethernet ingress, an unknown egress */
	lab_router(&n);
	dev(&b, 1, true);
	dev(&b, 42, true);
	dev(&b, 43, false);
	run(&b, &n);
	expect(b.text, "");
	expect(b.notes, "lo: not an Ethernet device: no chain-1 rules\n"
	                "ifindex 42: no such device: no chain-1 rules\n");
	clear(&b);
}

/* Zone, prio base, families, protocols and no guard. */
static void test_options(void **state)
{
	struct snap n;
	struct build b = {0};

	lab_router(&n);
	b.devs[b.n++] = (struct ctfwd_device){
	    .ifindex = 3, .ingress = true, .families = PLAN_FAMILY_IPV6, .protos = PLAN_PROTO_UDP};
	dev(&b, 4, false);
	b.in.zone = 5;
	b.in.prio_base = 100;
	run(&b, &n);
	expect(b.text, "filter replace dev rt-cli ingress protocol ipv6 pref 101 chain 1 flower "
	               "ip_ttl 0x0/0xfe action pass\n"
	               "filter replace dev rt-cli ingress protocol ipv6 pref 135 chain 1 flower "
	               "ip_proto udp dst_ip fd00:2::2 ct_state +trk+est ct_zone 5 action pedit ex "
	               "munge eth src set 02:00:00:00:00:04 munge eth dst set 0a:00:00:00:00:62 "
	               "munge ip6 hoplimit add 0xff pipe action mirred egress redirect dev "
	               "rt-srv\n");
	clear(&b);

	b.devs[b.n++] = (struct ctfwd_device){
	    .ifindex = 3, .ingress = true, .families = PLAN_FAMILY_IPV4, .protos = PLAN_PROTO_TCP};
	dev(&b, 4, false);
	b.in.no_ttl_guard = true;
	run(&b, &n);
	expect_condensed(&b, "rt-cli ip pref 4098 ip_proto tcp dst_ip 10.0.2.2 est fwd src "
	                     "02:00:00:00:00:04 dst 0a:00:00:00:00:22 ttl-1 csum -> rt-srv\n");
	clear(&b);

	/* a prio base too high for the span */
	b.in.prio_base = 0xff80;
	b.in.snap = &n.s;
	assert_int_equal(ctfwd_build(&b.in, &b.res), -EINVAL);
	b.in.prio_base = 0;
	b.in.cookie_len = TC_COOKIE_MAX + 1;
	assert_int_equal(ctfwd_build(&b.in, &b.res), -EINVAL);
}

static void test_prio(void **state)
{
	assert_int_equal(ctfwd_guard_prio(0, AF_INET), CTFWD_DEFAULT_PRIO_BASE);
	assert_int_equal(ctfwd_guard_prio(0, AF_INET6), CTFWD_DEFAULT_PRIO_BASE + 1);
	assert_int_equal(ctfwd_prio(10, AF_INET, 32), 12);
	assert_int_equal(ctfwd_prio(10, AF_INET, 0), 44);
	assert_int_equal(ctfwd_prio(10, AF_INET6, 128), 45);
	assert_int_equal(ctfwd_prio(10, AF_INET6, 0), 10 + CTFWD_PRIO_SPAN - 1);
	/* longer prefixes first, within each family */
	for (unsigned l = 1; l <= 32; l++)
		assert_true(ctfwd_prio(0, AF_INET, l) < ctfwd_prio(0, AF_INET, l - 1));
	for (unsigned l = 1; l <= 128; l++)
		assert_true(ctfwd_prio(0, AF_INET6, l) < ctfwd_prio(0, AF_INET6, l - 1));
}

/* Builds the lab router's rules and "installs" them: handles 1, 2, ... as the kernel would. */
static void installed_from(struct build *b, const struct snap *n, struct tc_rule **out,
                           size_t *n_out)
{
	dev(b, 3, true);
	dev(b, 4, true);
	b->in.cookie_len = 4;
	memcpy(b->in.cookie, "nto1", 4);
	run(b, n);
	*out = calloc(b->res.n_rules + 1, sizeof(**out));
	assert_non_null(*out);
	memcpy(*out, b->res.rules, b->res.n_rules * sizeof(**out));
	for (size_t i = 0; i < b->res.n_rules; i++)
		(*out)[i].id.handle = (uint32_t)i + 1;
	*n_out = b->res.n_rules;
	clear(b);
}

static void rebuild(struct build *b, const struct snap *n)
{
	dev(b, 3, true);
	dev(b, 4, true);
	b->in.cookie_len = 4;
	memcpy(b->in.cookie, "nto1", 4);
	run(b, n);
}

static void test_diff(void **state)
{
	struct snap n;
	struct build b = {0};
	struct tc_rule *inst;
	size_t n_inst;
	struct ctfwd_diff d;

	lab_router(&n);
	installed_from(&b, &n, &inst, &n_inst);
	assert_int_equal(n_inst, 12);

	/* nothing changed: all kept */
	rebuild(&b, &n);
	assert_int_equal(ctfwd_diff(inst, n_inst, b.res.rules, b.res.n_rules, &d), 0);
	assert_int_equal(d.n_keep, 12);
	assert_int_equal(d.n_add + d.n_del + d.n_change, 0);
	ctfwd_diff_free(&d);
	clear(&b);

	/* the server's MAC changes: its two rules on rt-cli change in place, with their handles */
	n.neighs[1].lladdr[5] = 0x99; /* sorted: v4 rt-cli .2, v4 rt-srv .2, ... */
	assert_int_equal(n.neighs[1].addr.v4.s_addr, A("10.0.2.2").v4.s_addr);
	rebuild(&b, &n);
	assert_int_equal(ctfwd_diff(inst, n_inst, b.res.rules, b.res.n_rules, &d), 0);
	assert_int_equal(d.n_keep, 10);
	assert_int_equal(d.n_change, 2);
	assert_int_equal(d.n_add + d.n_del, 0);
	assert_int_equal(d.change[0].id.handle, 3);
	assert_int_equal(d.change[1].id.handle, 4);
	assert_int_equal(d.change[0].actions[0].pedit.ops[1].val.mac[5], 0x99);
	assert_int_equal(d.change[0].flower.key.ip_proto, 6);
	assert_int_equal(d.change[1].flower.key.ip_proto, 17);
	ctfwd_diff_free(&d);
	clear(&b);
	n.neighs[1].lladdr[5] = 0x22;

	/* a second server appears: two adds (handle 0: the kernel picks) */
	add_neigh(&n, 4, "10.0.2.3", NETSTATE_NUD_REACHABLE, 0x23);
	done(&n);
	rebuild(&b, &n);
	assert_int_equal(ctfwd_diff(inst, n_inst, b.res.rules, b.res.n_rules, &d), 0);
	assert_int_equal(d.n_keep, 12);
	assert_int_equal(d.n_add, 2);
	assert_int_equal(d.n_change + d.n_del, 0);
	assert_int_equal(d.add[0].id.handle, 0);
	assert_int_equal(d.add[0].id.prio, ctfwd_prio(0, AF_INET, 32));
	assert_int_equal(d.add[0].flower.key.dst.v4.s_addr, A("10.0.2.3").v4.s_addr);
	ctfwd_diff_free(&d);
	clear(&b);

	/* the client's IPv4 neighbour fails: its two rules and rt-srv's IPv4 guard go */
	lab_router(&n);
	n.neighs[0].state = NETSTATE_NUD_FAILED;
	n.neighs[0].valid = false;
	assert_int_equal(n.neighs[0].addr.v4.s_addr, A("10.0.1.2").v4.s_addr);
	rebuild(&b, &n);
	assert_int_equal(ctfwd_diff(inst, n_inst, b.res.rules, b.res.n_rules, &d), 0);
	assert_int_equal(d.n_keep, 9);
	assert_int_equal(d.n_del, 3);
	assert_int_equal(d.n_add + d.n_change, 0);
	assert_int_equal(d.del[0].id.handle, 7); /* rt-srv's IPv4 guard */
	assert_int_equal(d.del[1].id.handle, 9);
	assert_int_equal(d.del[2].id.handle, 10);
	ctfwd_diff_free(&d);
	clear(&b);

	/* nothing wanted: everything deleted; nothing installed: everything added */
	assert_int_equal(ctfwd_diff(inst, n_inst, NULL, 0, &d), 0);
	assert_int_equal(d.n_del, 12);
	ctfwd_diff_free(&d);
	assert_int_equal(ctfwd_diff(NULL, 0, inst, n_inst, &d), 0);
	assert_int_equal(d.n_add, 12);
	ctfwd_diff_free(&d);
	free(inst);
}

static void test_owns(void **state)
{
	struct tc_rule r;
	struct tc_id id = {.ifindex = 3, .hook = TC_HOOK_INGRESS, .chain = 1, .prio = 5};

	tc_rule_init(&r, &id);
	r.cookie_len = 4;
	memcpy(r.cookie, "nto1", 4);
	assert_true(ctfwd_owns(&r, (const uint8_t *)"nto1", 4));
	assert_false(ctfwd_owns(&r, (const uint8_t *)"nto2", 4));
	assert_false(ctfwd_owns(&r, (const uint8_t *)"nto1x", 5));
	r.id.chain = 0;
	assert_false(ctfwd_owns(&r, (const uint8_t *)"nto1", 4));
	r.id.chain = 1;
	r.id.hook = TC_HOOK_EGRESS;
	assert_false(ctfwd_owns(&r, (const uint8_t *)"nto1", 4));
}

/* The oif hook through the planner: `oifname "rt-srv" flow add @ft` on a flowtable of
 * rt-cli, rt-srv and wan0 lets chain 1 forward to rt-srv only. */
struct resolve_ctx {
	const struct netstate_snapshot *s;
};

static int resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	struct resolve_ctx *rc = ctx;
	const struct netstate_link *l = netstate_link_by_name(rc->s, ifname);

	if (!l)
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	info->ifindex = l->ifindex;
	info->present = true;
	snprintf(info->driver, sizeof(info->driver), "veth");
	return 0;
}

static void test_oif_from_plan(void **state)
{
	static const char text[] =
	    "table inet t {\n"
	    "\tflowtable ft {\n\t\thook ingress priority 0; devices = { rt-cli, rt-srv, wan0 };\n"
	    "\t}\n"
	    "\tchain forward {\n\t\ttype filter hook forward priority 0;\n"
	    "\t\toifname \"rt-srv\" meta l4proto tcp flow add @ft\n"
	    "\t}\n}\n";
	struct profile_set ps;
	struct plan_opts o;
	struct nft_ruleset *rs = NULL;
	struct nft_error err;
	struct plan *plan = NULL;
	struct snap n;
	struct resolve_ctx rc = {.s = &n.s};
	struct ctfwd_device devs[8];
	size_t n_devs = 0;
	struct build b = {0};
	char perr[512];

	lab_router(&n);
	add_link(&n, 5, "wan0");
	main_route(&n, "0.0.0.0", 0, "192.0.2.254", 5);
	main_route(&n, "192.0.2.0", 24, NULL, 5);
	add_neigh(&n, 5, "192.0.2.254", NETSTATE_NUD_REACHABLE, 0xfe);
	done(&n);

	builtin(&ps, "generic-ct");
	plan_opts_init(&o);
	o.profiles = &ps;
	o.force_profile = "generic-ct";
	o.resolve = resolve;
	o.resolve_ctx = &rc;
	memset(&err, 0, sizeof(err));
	assert_int_equal(nft_parse_buffer(text, strlen(text), "t.nft", &rs, &err), 0);
	assert_int_equal(plan_build(rs, &o, &plan, perr, sizeof(perr)), 0);
	assert_int_equal(plan->n_flowtables, 1);
	assert_int_equal(ctfwd_devices_from_plan(&plan->flowtables[0], devs, &n_devs), 0);
	assert_int_equal(n_devs, 3);
	for (size_t i = 0; i < n_devs; i++) {
		assert_true(devs[i].ingress);
		assert_int_equal(devs[i].n_oif_specs, 1);
		assert_int_equal(devs[i].protos, PLAN_PROTO_TCP);
		assert_int_equal(devs[i].families, PLAN_FAMILY_ALL);
		assert_non_null(devs[i].profile);
		b.devs[b.n++] = devs[i];
	}
	run(&b, &n);
	/* rt-cli and wan0 forward to rt-srv (TCP only); rt-srv forwards nowhere */
	expect_condensed(&b, "rt-cli ip pref 4096 ip_ttl 0x0/0xfe action pass\n"
	                     "rt-cli ipv6 pref 4097 ip_ttl 0x0/0xfe action pass\n"
	                     "rt-cli ip pref 4098 ip_proto tcp dst_ip 10.0.2.2 est fwd src "
	                     "02:00:00:00:00:04 dst 0a:00:00:00:00:22 ttl-1 csum -> rt-srv\n"
	                     "rt-cli ipv6 pref 4131 ip_proto tcp dst_ip fd00:2::2 est fwd src "
	                     "02:00:00:00:00:04 dst 0a:00:00:00:00:62 hl-1 -> rt-srv\n"
	                     "wan0 ip pref 4096 ip_ttl 0x0/0xfe action pass\n"
	                     "wan0 ipv6 pref 4097 ip_ttl 0x0/0xfe action pass\n"
	                     "wan0 ip pref 4098 ip_proto tcp dst_ip 10.0.2.2 est fwd src "
	                     "02:00:00:00:00:04 dst 0a:00:00:00:00:22 ttl-1 csum -> rt-srv\n"
	                     "wan0 ipv6 pref 4131 ip_proto tcp dst_ip fd00:2::2 est fwd src "
	                     "02:00:00:00:00:04 dst 0a:00:00:00:00:62 hl-1 -> rt-srv\n");
	assert_non_null(strstr(b.notes, "rt-cli -> wan0: no forwarding: not allowed by the "
	                                "oifname/oif matches of a `flow add` rule\n"));
	assert_non_null(strstr(b.notes, "rt-srv -> rt-cli: no forwarding: not allowed by the "
	                                "oifname/oif matches of a `flow add` rule\n"));
	clear(&b);
	ctfwd_devices_free(devs, n_devs);
	plan_free(plan);
	nft_ruleset_free(rs);
	profile_set_free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lab_router),    cmocka_unit_test(test_home_router),
	    cmocka_unit_test(test_profile_mlx5),  cmocka_unit_test(test_profile_refuses),
	    cmocka_unit_test(test_egress_checks), cmocka_unit_test(test_options),
	    cmocka_unit_test(test_prio),          cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_owns),          cmocka_unit_test(test_oif_from_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
