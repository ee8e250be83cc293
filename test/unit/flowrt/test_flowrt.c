/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow runtime without a kernel: path resolution from a hand-built netstate snapshot, and
 * the core (src/flowrt/core.c) driven with conntrack events against a fake backend that
 * records the tc batches and conntrack updates it gets.
 *
 * Network: lan0 (1, 02::01) holds 10.0.1.0/24 and fd00:1::/64 with the client 10.0.1.2
 * (02::11); wan0 (2, 02::02) holds 10.0.2.0/24 and fd00:2::/64 with the server 10.0.2.2
 * (02::22) and the default gateway 10.0.2.254 (02::fe); 10.0.2.3 is INCOMPLETE; lan1 (3) is
 * not in the flowtable, wan0.10 (4) is a VLAN on wan0 with 10.0.3.0/24 (10.0.3.2, 02::33).
 * The router masquerades to 10.0.2.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "flowrt_int.h"
#include "nft-tc-offload/ctl.h"
#include "nft-tc-offload/daemon.h"
#include "nft-tc-offload/install.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/tc.h"

#define MAXR 64

struct fake {
	unsigned replace_calls, del_calls, get_calls, refresh_calls, liberal_calls, clsact_calls,
	    dump_calls;
	size_t n_replace, n_del;
	struct tc_rule replaced[MAXR];
	struct tc_id deleted[MAXR];
	int replace_err;  /* every rule of the next replace fails with it (once) */
	uint64_t packets; /* every get answers this */
	int get_err;
	uint32_t last_timeout;
	unsigned call_seq, last_del_seq, last_replace_seq;
	struct fr_core *core;
	struct ct_event dump[8];
	size_t n_dump;
	/* after dump[]: n_gen generated ESTABLISHED connections from port gen_base on, every
	 * gen_udp_every-th one UDP (0: all TCP) */
	size_t n_gen;
	uint32_t gen_timeout; /* generated entries: conntrack's timeout left (0: none given) */
	uint16_t gen_base;
	unsigned gen_udp_every;
	bool in_dump; /* fk_dump is running: liberal / refresh must not come */
	size_t replaced_total, deleted_total, max_replace_batch;
	unsigned replace_in_dump; /* replace calls while the dump ran */
	struct tc_rule orphan[4]; /* rules "in the kernel" whose flower key is taken */
	size_t n_orphan;
	unsigned eexist;            /* rules refused for an orphan's key */
	unsigned replace_after_del; /* replace calls right after a delete call */
};

struct fx {
	struct profile_set profiles;
	struct nft_ruleset *rs;
	struct plan *plan;
	struct config cfg;
	struct fake fk;
	struct fr_core *rt;
	char log[8192];
};

/* ---- fake backend ---- */

static int fk_clsact(void *ctx, uint32_t ifindex, char *why, size_t len)
{
	struct fake *k = ctx;

	(void)ifindex;
	(void)why;
	(void)len;
	k->clsact_calls++;
	return 0;
}

static int fk_replace(void *ctx, const struct tc_rule *r, size_t n, struct nlc_tc_result *res)
{
	struct fake *k = ctx;
	int failed = 0;

	k->replace_calls++;
	k->replace_after_del += k->last_del_seq == k->call_seq;
	k->last_replace_seq = ++k->call_seq;
	k->replace_in_dump += k->in_dump;
	k->replaced_total += n;
	if (n > k->max_replace_batch)
		k->max_replace_batch = n;
	for (size_t i = 0; i < n; i++) {
		if (k->n_replace < MAXR)
			k->replaced[k->n_replace++] = r[i];
		res[i].error = k->replace_err;
		if (k->replace_err) {
			snprintf(res[i].ext.msg, sizeof(res[i].ext.msg), "fake refusal");
			failed++;
			continue;
		}
		/* flower's rule: one filter per key in a prio (another handle is refused) */
		for (size_t j = 0; j < k->n_orphan; j++) {
			const struct tc_rule *o = &k->orphan[j];

			if (o->id.ifindex == r[i].id.ifindex && o->id.prio == r[i].id.prio &&
			    o->id.protocol == r[i].id.protocol && o->id.handle != r[i].id.handle &&
			    memcmp(&o->flower.key, &r[i].flower.key, sizeof(o->flower.key)) == 0 &&
			    memcmp(&o->flower.mask, &r[i].flower.mask, sizeof(o->flower.mask)) ==
			        0) {
				res[i].error = -EEXIST;
				snprintf(res[i].ext.msg, sizeof(res[i].ext.msg),
				         "fake: an orphan has this key");
				k->eexist++;
				failed++;
				break;
			}
		}
	}
	k->replace_err = 0;
	return failed;
}

static int fk_del(void *ctx, const struct tc_rule *r, size_t n, struct nlc_tc_result *res)
{
	struct fake *k = ctx;

	k->del_calls++;
	k->last_del_seq = ++k->call_seq;
	k->deleted_total += n;
	for (size_t i = 0; i < n; i++) {
		if (k->n_del < MAXR)
			k->deleted[k->n_del++] = r[i].id;
		res[i].error = 0;
		for (size_t j = 0; j < k->n_orphan; j++)
			if (k->orphan[j].id.ifindex == r[i].id.ifindex &&
			    k->orphan[j].id.handle == r[i].id.handle) {
				k->orphan[j] = k->orphan[--k->n_orphan];
				break;
			}
	}
	return 0;
}

static int fk_get(void *ctx, const struct tc_id *ids, size_t n, struct nlc_tc_result *res)
{
	struct fake *k = ctx;

	(void)ids;
	k->get_calls++;
	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].error = k->get_err;
		res[i].state.valid = !k->get_err;
		res[i].state.packets = k->packets;
		res[i].state.bytes = k->packets * 1000;
	}
	return k->get_err ? (int)n : 0;
}

static int fk_refresh(void *ctx, const struct ct_key *key, uint32_t timeout_s)
{
	struct fake *k = ctx;

	(void)key;
	assert_false(k->in_dump); /* the dump's conntrack handle is busy */
	k->refresh_calls++;
	k->last_timeout = timeout_s;
	return 0;
}

static int fk_liberal(void *ctx, const struct ct_key *key)
{
	struct fake *k = ctx;

	(void)key;
	assert_false(k->in_dump); /* the dump's conntrack handle is busy */
	k->liberal_calls++;
	return 0;
}

static struct ct_event ev4(enum ct_event_type type, uint8_t proto, uint16_t cport, uint8_t tcp);

static int fk_dump(void *ctx, struct fr_core *rt)
{
	struct fake *k = ctx;

	k->dump_calls++;
	k->in_dump = true;
	for (size_t i = 0; i < k->n_dump; i++)
		fr_dump_entry(rt, &k->dump[i]);
	for (size_t i = 0; i < k->n_gen; i++) {
		bool udp = k->gen_udp_every && i % k->gen_udp_every == 0;
		struct ct_event e = ev4(CT_EVENT_UPDATE, udp ? IPPROTO_UDP : IPPROTO_TCP,
		                        (uint16_t)(k->gen_base + i), CT_TCP_ESTABLISHED);

		e.has_timeout = k->gen_timeout != 0;
		e.timeout = k->gen_timeout;
		fr_dump_entry(rt, &e);
	}
	k->in_dump = false;
	return 0;
}

static void test_log(void *ctx, enum log_level l, const char *fmt, ...)
{
	struct fx *f = ctx;
	size_t n = strlen(f->log);
	va_list ap;

	(void)l;
	if (n + 2 >= sizeof(f->log))
		return;
	va_start(ap, fmt);
	vsnprintf(f->log + n, sizeof(f->log) - n - 1, fmt, ap);
	va_end(ap);
	strcat(f->log, "\n");
}

/* ---- network state ---- */

static void mac(uint8_t m[6], uint8_t last)
{
	static const uint8_t base[6] = {0x02, 0, 0, 0, 0, 0};

	memcpy(m, base, 6);
	m[5] = last;
}

static void addr(int family, const char *s, union tc_addr *a)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(inet_pton(family, s, a), 1);
}

static void add_link(struct netstate_snapshot *s, uint32_t ifindex, const char *name, uint8_t m,
                     uint32_t vlan_lower)
{
	struct netstate_link *l = &s->links[s->n_links++];

	memset(l, 0, sizeof(*l));
	l->ifindex = ifindex;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->arptype = 1;
	l->has_mac = true;
	mac(l->mac, m);
	l->mtu = 1500;
	l->up = l->running = true;
	if (vlan_lower) {
		l->is_vlan = true;
		l->vlan_id = 10;
		l->vlan_lower = vlan_lower;
		snprintf(l->kind, sizeof(l->kind), "vlan");
	} else {
		snprintf(l->kind, sizeof(l->kind), "veth");
	}
}

static void add_route(struct netstate_snapshot *s, int family, const char *dst, uint8_t len,
                      const char *gw, uint32_t oif, uint32_t table)
{
	struct netstate_route *r = &s->routes[s->n_routes++];

	memset(r, 0, sizeof(*r));
	r->family = family;
	r->table = table;
	r->type = table == NETSTATE_TABLE_LOCAL ? NETSTATE_RTN_LOCAL : NETSTATE_RTN_UNICAST;
	addr(family, dst, &r->dst);
	r->dst_len = len;
	if (gw) {
		r->has_gateway = true;
		addr(family, gw, &r->gateway);
	}
	r->oif = oif;
}

static void add_neigh(struct netstate_snapshot *s, int family, const char *a, uint32_t ifindex,
                      int m, uint16_t state)
{
	struct netstate_neigh *n = &s->neighs[s->n_neighs++];

	memset(n, 0, sizeof(*n));
	n->family = family;
	n->ifindex = ifindex;
	addr(family, a, &n->addr);
	if (m >= 0) {
		n->has_lladdr = true;
		mac(n->lladdr, (uint8_t)m);
	}
	n->state = state;
	n->valid = (state & NETSTATE_NUD_VALID) && n->has_lladdr;
}

/* The test network into a malloc'ed snapshot; server_mac: the server's MAC's last byte. */
static void build_snap(struct netstate_snapshot *out, uint8_t server_mac, bool with_wan)
{
	struct netstate_link links[8];
	struct netstate_route routes[16];
	struct netstate_neigh neighs[16];
	struct netstate_snapshot s = {.links = links, .routes = routes, .neighs = neighs};

	add_link(&s, 1, "lan0", 0x01, 0);
	if (with_wan)
		add_link(&s, 2, "wan0", 0x02, 0);
	add_link(&s, 3, "lan1", 0x03, 0);
	if (with_wan)
		add_link(&s, 4, "wan0.10", 0x02, 2);
	add_route(&s, AF_INET, "10.0.1.0", 24, NULL, 1, NETSTATE_TABLE_MAIN);
	add_route(&s, AF_INET, "10.0.5.0", 24, NULL, 3, NETSTATE_TABLE_MAIN);
	add_route(&s, AF_INET, "10.0.1.1", 32, NULL, 1, NETSTATE_TABLE_LOCAL);
	add_route(&s, AF_INET6, "fd00:1::", 64, NULL, 1, NETSTATE_TABLE_MAIN);
	if (with_wan) {
		add_route(&s, AF_INET, "10.0.2.0", 24, NULL, 2, NETSTATE_TABLE_MAIN);
		add_route(&s, AF_INET, "10.0.3.0", 24, NULL, 4, NETSTATE_TABLE_MAIN);
		add_route(&s, AF_INET, "0.0.0.0", 0, "10.0.2.254", 2, NETSTATE_TABLE_MAIN);
		add_route(&s, AF_INET, "10.0.2.1", 32, NULL, 2, NETSTATE_TABLE_LOCAL);
		add_route(&s, AF_INET6, "fd00:2::", 64, NULL, 2, NETSTATE_TABLE_MAIN);
	}
	add_neigh(&s, AF_INET, "10.0.1.2", 1, 0x11, NETSTATE_NUD_REACHABLE);
	add_neigh(&s, AF_INET, "10.0.5.2", 3, 0x55, NETSTATE_NUD_REACHABLE);
	add_neigh(&s, AF_INET6, "fd00:1::2", 1, 0x11, NETSTATE_NUD_REACHABLE);
	if (with_wan) {
		add_neigh(&s, AF_INET, "10.0.2.2", 2, server_mac, NETSTATE_NUD_STALE);
		add_neigh(&s, AF_INET, "10.0.2.254", 2, 0xfe, NETSTATE_NUD_REACHABLE);
		add_neigh(&s, AF_INET, "10.0.2.3", 2, -1, NETSTATE_NUD_INCOMPLETE);
		add_neigh(&s, AF_INET, "10.0.3.2", 4, 0x33, NETSTATE_NUD_REACHABLE);
		add_neigh(&s, AF_INET6, "fd00:2::2", 2, server_mac, NETSTATE_NUD_REACHABLE);
	}
	netstate_snapshot_sort(&s);
	assert_int_equal(netstate_snapshot_copy(out, &s), 0);
}

/* ---- plan and runtime ---- */

/* An explain query as the control socket takes it ("SADDR DADDR [PROTO [SPORT DPORT]]"). */
static int explain(const struct fr_core *rt, const char *query, char *buf, size_t len)
{
	char line[256], err[256], *argv[8];
	struct plan_query q;
	int argc;

	snprintf(line, sizeof(line), "%s", query);
	argc = ctl_split(line, argv, 8);
	if (argc < 0 || daemon_parse_tuple(argc, argv, &q, err, sizeof(err)))
		return -EINVAL;
	return fr_explain(rt, &q, buf, len);
}

static int plan_resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	(void)ctx;
	memset(info, 0, sizeof(*info));
	info->ifindex = strcmp(ifname, "lan0") == 0 ? 1 : 2;
	info->present = true;
	snprintf(info->driver, sizeof(info->driver), "veth");
	return 0;
}

static void load_plan(struct fx *f, const char *profile)
{
	static const char text[] = "table inet t {\n"
	                           "\tflowtable ft {\n"
	                           "\t\thook ingress priority 0; devices = { lan0, wan0 };\n"
	                           "\t}\n"
	                           "\tchain forward {\n"
	                           "\t\ttype filter hook forward priority 0;\n"
	                           "\t\ttcp dport 22 accept\n"
	                           "\t\tmeta l4proto { tcp, udp } flow add @ft\n"
	                           "\t}\n"
	                           "}\n";
	struct nft_error nerr;
	struct plan_opts po;
	char err[512];

	memset(&nerr, 0, sizeof(nerr));
	assert_int_equal(nft_parse_buffer(text, strlen(text), "t.nft", &f->rs, &nerr), 0);
	plan_opts_init(&po);
	po.profiles = &f->profiles;
	po.force_profile = profile;
	po.resolve = plan_resolve;
	assert_int_equal(plan_build(f->rs, &po, &f->plan, err, sizeof(err)), 0);
	assert_int_equal(f->plan->flowtables[0].strategy, PROFILE_STRATEGY_FLOW);
}

static void start(struct fx *f, bool acct)
{
	struct fr_params p;
	struct netstate_snapshot snap;
	char err[256];

	memset(&p, 0, sizeof(p));
	p.plan = f->plan;
	p.cfg = &f->cfg;
	p.log = test_log;
	p.log_ctx = f;
	p.acct = acct;
	p.tcp_timeout_s = 3600;
	p.udp_timeout_s = 60;
	p.idle_s = 30;
	p.be = (struct fr_backend){fk_clsact,  fk_replace, fk_del,  fk_get,
	                           fk_refresh, fk_liberal, fk_dump, &f->fk};
	assert_int_equal(fr_create(&f->rt, &p, err, sizeof(err)), 0);
	f->fk.core = f->rt;
	build_snap(&snap, 0x22, true);
	fr_set_snapshot(f->rt, &snap);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[PROFILE_ERR_MAX];

	assert_non_null(f);
	profile_set_init(&f->profiles);
	assert_int_equal(profile_set_load_builtin(&f->profiles, err, sizeof(err)), 0);
	config_defaults(&f->cfg);
	load_plan(f, "generic-flow");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fr_destroy(f->rt);
	plan_free(f->plan);
	nft_ruleset_free(f->rs);
	profile_set_free(&f->profiles);
	free(f);
	return 0;
}

/* An event: client port cport -> server (v4: 10.0.2.2:5201 masqueraded to 10.0.2.1). */
static struct ct_event ev4(enum ct_event_type type, uint8_t proto, uint16_t cport, uint8_t tcp)
{
	struct ct_event e;
	struct flow_conn *c = &e.conn;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.id = 1000u + cport;
	c->orig.family = c->reply.family = AF_INET;
	c->orig.proto = c->reply.proto = proto;
	addr(AF_INET, "10.0.1.2", &c->orig.src);
	addr(AF_INET, "10.0.2.2", &c->orig.dst);
	c->orig.sport = cport;
	c->orig.dport = 5201;
	addr(AF_INET, "10.0.2.2", &c->reply.src);
	addr(AF_INET, "10.0.2.1", &c->reply.dst);
	c->reply.sport = 5201;
	c->reply.dport = cport;
	e.status = CT_ST_CONFIRMED | CT_ST_SEEN_REPLY | CT_ST_ASSURED | CT_ST_SRC_NAT;
	if (proto == IPPROTO_TCP) {
		e.has_tcp_state = true;
		e.tcp_state = tcp;
	}
	return e;
}

static struct ct_flow *flow_of(struct fx *f, const struct ct_event *e)
{
	struct ct_key k;

	ct_key_from_conn(&e->conn, &k);
	return ct_table_find(ct_engine_table(fr_engine(f->rt, 0)), &k);
}

static void established(struct fx *f, uint16_t cport)
{
	struct ct_event e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, cport, CT_TCP_ESTABLISHED);

	fr_event(f->rt, &e, 100);
}

/* ---- path resolution ---- */

static void test_path(void **state)
{
	struct fx *f = *state;
	struct netstate_snapshot snap;
	struct fr_path_opts o;
	struct flow_path p;
	union tc_addr s, d;
	char why[256];

	(void)f;
	build_snap(&snap, 0x22, true);
	memset(&o, 0, sizeof(o));
	o.snap = &snap;
	o.pf = &f->plan->flowtables[0];

	/* original direction of a masqueraded connection: client -> server */
	addr(AF_INET, "10.0.1.2", &s);
	addr(AF_INET, "10.0.2.2", &d);
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), 0);
	assert_int_equal(p.in_ifindex, 1);
	assert_string_equal(p.in_ifname, "lan0");
	assert_int_equal(p.out_ifindex, 2);
	assert_int_equal(p.src_mac[5], 0x02);
	assert_int_equal(p.dst_mac[5], 0x22); /* STALE is valid */
	assert_int_equal(p.n_in_vlan + p.n_out_vlan, 0);

	/* reply: server -> client */
	assert_int_equal(fr_path_resolve(&o, AF_INET, &d, &s, &p, why, sizeof(why)), 0);
	assert_int_equal(p.in_ifindex, 2);
	assert_int_equal(p.out_ifindex, 1);
	assert_int_equal(p.src_mac[5], 0x01);
	assert_int_equal(p.dst_mac[5], 0x11);

	/* beyond the gateway: the gateway's MAC */
	addr(AF_INET, "192.0.2.7", &d);
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), 0);
	assert_int_equal(p.dst_mac[5], 0xfe);

	/* IPv6 */
	addr(AF_INET6, "fd00:1::2", &s);
	addr(AF_INET6, "fd00:2::2", &d);
	assert_int_equal(fr_path_resolve(&o, AF_INET6, &s, &d, &p, why, sizeof(why)), 0);
	assert_int_equal(p.out_ifindex, 2);
	assert_int_equal(p.dst_mac[5], 0x22);

	/* neighbour not valid */
	addr(AF_INET, "10.0.1.2", &s);
	addr(AF_INET, "10.0.2.3", &d);
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), -EHOSTUNREACH);
	assert_non_null(strstr(why, "neighbour 10.0.2.3 on wan0 is INCOMPLETE"));
	addr(AF_INET, "10.0.2.9", &d);
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), -EHOSTUNREACH);
	assert_non_null(strstr(why, "not in the neighbour table"));

	/* the host's own address */
	addr(AF_INET, "10.0.1.1", &d);
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), -EHOSTUNREACH);
	assert_non_null(strstr(why, "address of this host"));

	/* ingress not in the flowtable (lan1) */
	addr(AF_INET, "10.0.5.2", &s);
	addr(AF_INET, "10.0.2.2", &d);
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), -ENODEV);
	assert_non_null(strstr(why, "lan1 is not a device of the flowtable"));

	/* VLAN egress: software rule on the VLAN device itself; refused when hardware-only */
	addr(AF_INET, "10.0.1.2", &s);
	addr(AF_INET, "10.0.3.2", &d);
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), 0);
	assert_int_equal(p.out_ifindex, 4);
	assert_string_equal(p.out_ifname, "wan0.10");
	assert_int_equal(p.dst_mac[5], 0x33);
	/* VLAN ingress counts as its lower device's flowtable membership */
	assert_int_equal(fr_path_resolve(&o, AF_INET, &d, &s, &p, why, sizeof(why)), 0);
	assert_int_equal(p.in_ifindex, 4);
	o.hw_only = true;
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), -EOPNOTSUPP);
	assert_non_null(strstr(why, "egress wan0.10 is a VLAN device"));
	o.hw_only = false;

	/* a device going down; a smaller egress MTU */
	snap.links[1].up = false; /* wan0 (sorted by ifindex) */
	addr(AF_INET, "10.0.2.2", &d);
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), -ENETDOWN);
	assert_non_null(strstr(why, "egress wan0 is down"));
	snap.links[1].up = true;
	snap.links[1].mtu = 1400;
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), -EMSGSIZE);
	assert_non_null(strstr(why, "MTU 1400"));

	/* no snapshot */
	o.snap = NULL;
	assert_int_equal(fr_path_resolve(&o, AF_INET, &s, &d, &p, why, sizeof(why)), -EAGAIN);
	netstate_snapshot_free(&snap);
}

/* ---- batching and coalescing ---- */

static void test_batching(void **state)
{
	struct fx *f = *state;
	struct ct_event e;

	start(f, true);
	/* three connections become established within one read: one install batch */
	for (uint16_t p = 40000; p < 40003; p++) {
		e = ev4(CT_EVENT_NEW, IPPROTO_TCP, p, CT_TCP_SYN_SENT);
		fr_event(f->rt, &e, 100);
		established(f, p);
	}
	assert_int_equal(fr_pending(f->rt), 3);
	assert_int_equal(f->fk.replace_calls, 0);
	assert_int_equal(fr_flush(f->rt), 6);
	assert_int_equal(f->fk.replace_calls, 1);
	assert_int_equal(f->fk.n_replace, 6);
	assert_int_equal(f->fk.del_calls, 0);
	assert_int_equal(f->fk.liberal_calls, 3); /* TCP: be_liberal after the install */
	assert_int_equal(f->fk.clsact_calls, 2);  /* once per device */
	assert_int_equal(fr_pending(f->rt), 0);

	/* rules: the original one on lan0 with our cookie carrying the conntrack id */
	{
		const struct tc_rule *r = &f->fk.replaced[0];
		uint8_t want[NTO_COOKIE_LEN];

		assert_int_equal(r->id.ifindex, 1);
		assert_false(r->flower.skip_sw); /* generic-flow: software too */
		assert_int_equal(r->cookie_len, NTO_COOKIE_LEN);
		assert_true(nto_cookie_is_ours(r));
		nto_cookie_make(want, nto_cookie_owner("inet", "t", "ft"), 1000u + 40000u);
		/* bytes 8..11: the check of the rule's contents, different for the reply's rule */
		assert_int_not_equal(nto_cookie_check_in(r->cookie, r->cookie_len), 0);
		assert_int_not_equal(nto_cookie_check_in(r->cookie, r->cookie_len),
		                     nto_cookie_check_in(f->fk.replaced[1].cookie, NTO_COOKIE_LEN));
		nto_cookie_set_check(want, nto_cookie_check_in(r->cookie, r->cookie_len));
		assert_memory_equal(r->cookie, want, NTO_COOKIE_LEN);
		assert_int_equal(nto_cookie_rule_id_of(r), 1000u + 40000u);
		assert_int_equal(f->fk.replaced[1].id.ifindex, 2);
	}

	/* a connection that closes before the flush never reaches the kernel */
	established(f, 40010);
	assert_int_equal(fr_pending(f->rt), 1);
	e = ev4(CT_EVENT_DESTROY, IPPROTO_TCP, 40010, CT_TCP_CLOSE);
	fr_event(f->rt, &e, 101);
	assert_int_equal(fr_pending(f->rt), 0);
	assert_int_equal(fr_counters(f->rt)->coalesced, 1);
	assert_int_equal(fr_flush(f->rt), 0);

	/* FIN (closing state) of one and DESTROY of another: one delete batch, stats read
	 * first */
	e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 40000, CT_TCP_FIN_WAIT);
	fr_event(f->rt, &e, 102);
	e = ev4(CT_EVENT_DESTROY, IPPROTO_TCP, 40001, CT_TCP_CLOSE);
	fr_event(f->rt, &e, 102);
	f->fk.packets = 7;
	assert_int_equal(fr_flush(f->rt), 8); /* 4 gets + 4 deletes */
	assert_int_equal(f->fk.del_calls, 1);
	assert_int_equal(f->fk.n_del, 4);
	assert_int_equal(f->fk.get_calls, 1);
	assert_int_equal(fr_counters(f->rt)->carried_bytes, 4 * 7000);
	assert_non_null(strstr(f->log, "orig_packets=7 reply_packets=7"));
	assert_int_equal(flow_of(f, &e), NULL);
	e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 40000, CT_TCP_FIN_WAIT);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_REFUSED);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_TCP_CLOSING);
}

/* ---- idle flows: back in software, offloaded again when their timeout shows traffic ---- */

static void test_idle_resume(void **state)
{
	struct fx *f = *state;
	struct ct_event e = ev4(CT_EVENT_UPDATE, IPPROTO_UDP, 5100, 0);
	unsigned replaces;
	json_t *st, *lat;

	start(f, true);
	st = fr_status_json(f->rt);
	assert_true(json_is_null(json_object_get(st, "install_latency"))); /* none yet */
	json_decref(st);
	fr_event(f->rt, &e, 100);
	fr_flush(f->rt);
	f->fk.packets = 50;
	fr_poll(f->rt, 105); /* refreshed: 60 s from 105, so conntrack's entry ends at 165 */
	assert_int_equal(f->fk.refresh_calls, 1);
	assert_true(fr_poll(f->rt, 140)); /* idle since 105: rules deleted, a dump wanted */
	assert_int_equal(flow_of(f, &e)->reason, CT_R_IDLE);
	replaces = f->fk.replace_calls;

	/* the dump: 24 s left at 141, as set at 105: no packet since, stays in software */
	f->fk.dump[0] = e;
	f->fk.dump[0].has_timeout = true;
	f->fk.dump[0].timeout = 24;
	f->fk.n_dump = 1;
	assert_int_equal(fr_resync(f->rt, 141), 0);
	fr_flush(f->rt);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_CANDIDATE);
	assert_int_equal(f->fk.replace_calls, replaces);
	/* the next dump for it: not before 30 s */
	assert_false(fr_poll(f->rt, 150));
	assert_true(fr_poll(f->rt, 171));
	/* such a recheck sweeps nothing: a dump that missed the entry leaves the flow alone */
	f->fk.n_dump = 0;
	assert_int_equal(fr_recheck(f->rt, 171), 0);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_IDLE);
	assert_int_equal(fr_counters(f->rt)->swept, 0);
	f->fk.n_dump = 1;

	/* a packet went through conntrack: 60 s left at 171 where 0 were due: offloaded */
	f->fk.dump[0].timeout = 60;
	assert_int_equal(fr_recheck(f->rt, 171), 0);
	fr_flush(f->rt);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_OFFLOADED);
	assert_int_equal(f->fk.replace_calls, replaces + 1);
	st = fr_status_json(f->rt);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(st, "flowtables"), 0), "idle_resumed")),
	                 1);
	/* install latency: the event's install is timed, the dump's is not */
	lat = json_object_get(st, "install_latency");
	assert_int_equal(json_integer_value(json_object_get(lat, "samples")), 1);
	assert_true(json_integer_value(json_object_get(lat, "p50_us")) <=
	            json_integer_value(json_object_get(lat, "max_us")));
	json_decref(st);
	/* nothing idle any more: no dump wanted */
	f->fk.packets = 60;
	assert_false(fr_poll(f->rt, 210));
}

/* ---- stats: refresh while active, delete when idle ---- */

static void test_stats(void **state)
{
	struct fx *f = *state;
	struct ct_event e = ev4(CT_EVENT_UPDATE, IPPROTO_UDP, 5000, 0);
	struct ct_event e2 = ev4(CT_EVENT_UPDATE, IPPROTO_UDP, 5001, 0);
	struct ct_flow *fl;
	uint64_t carried;

	start(f, true);
	fr_event(f->rt, &e, 100);
	fr_flush(f->rt);
	assert_int_equal(f->fk.liberal_calls, 0); /* UDP */
	fl = flow_of(f, &e);
	assert_int_equal(fl->state, CT_FLOW_OFFLOADED);

	/* packets went through the rules: conntrack's timeout refreshed (UDP stream value) */
	f->fk.packets = 50;
	assert_false(fr_poll(f->rt, 105));
	assert_int_equal(f->fk.refresh_calls, 1);
	assert_int_equal(f->fk.last_timeout, 60);
	assert_int_equal(fr_counters(f->rt)->carried_packets, 100);
	assert_int_equal(f->fk.del_calls, 0);

	/* more packets, 5 s later: the 60 s just set holds for a third of it (no round trips) */
	f->fk.packets = 65;
	assert_false(fr_poll(f->rt, 110));
	assert_int_equal(f->fk.refresh_calls, 1);

	/* nothing new: no refresh; still within idle_s */
	assert_false(fr_poll(f->rt, 120));
	assert_int_equal(f->fk.refresh_calls, 1);
	assert_int_equal(f->fk.del_calls, 0);

	/* more packets, 20 s after the refresh: refreshed again */
	f->fk.packets = 80;
	fr_poll(f->rt, 125);
	assert_int_equal(f->fk.refresh_calls, 2);

	/* idle past 30 s: rules deleted (nothing counted twice); the flow stays, idle, and the
	 * poll asks for a dump (their traffic raises no event) */
	assert_true(fr_poll(f->rt, 170));
	assert_int_equal(f->fk.del_calls, 1);
	assert_int_equal(f->fk.n_del, 2);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_CANDIDATE);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_IDLE);
	assert_int_equal(fr_counters(f->rt)->carried_packets, 160);

	/* rules that vanished behind our back: the flow goes back to software, with a reason */
	fr_event(f->rt, &e, 200);
	fr_flush(f->rt);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_OFFLOADED);
	f->fk.get_err = -ENOENT;
	fr_poll(f->rt, 205);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_REFUSED);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_INSTALL);
	assert_non_null(strstr(f->log, "disappeared"));

	/* an empty resync dump: every tracked connection is gone */
	f->fk.n_dump = 0;
	assert_int_equal(fr_resync(f->rt, 210), 0);
	assert_null(flow_of(f, &e));
	assert_int_equal(fr_counters(f->rt)->swept, 1);

	/* what the rules carried between the last poll and their deletion counts too */
	f->fk.get_err = 0;
	f->fk.packets = 0;
	fr_event(f->rt, &e2, 220);
	fr_flush(f->rt);
	assert_int_equal(flow_of(f, &e2)->state, CT_FLOW_OFFLOADED);
	carried = fr_counters(f->rt)->carried_packets;
	f->fk.packets = 10;
	fr_poll(f->rt, 225);
	assert_int_equal(fr_counters(f->rt)->carried_packets, carried + 20);
	f->fk.packets = 15;
	e2.type = CT_EVENT_DESTROY;
	fr_event(f->rt, &e2, 226);
	fr_flush(f->rt);
	assert_null(flow_of(f, &e2));
	assert_int_equal(fr_counters(f->rt)->carried_packets, carried + 30);
}

/* ---- re-resolution after network changes ---- */

static void test_reresolve(void **state)
{
	struct fx *f = *state;
	struct ct_event e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 41000, CT_TCP_ESTABLISHED);
	struct netstate_snapshot snap;
	uint32_t h0;

	start(f, true);
	fr_event(f->rt, &e, 100);
	fr_flush(f->rt);
	h0 = flow_of(f, &e)->handle[0];
	f->fk.n_replace = 0;

	/* same network: nothing sent, no flow looked at */
	build_snap(&snap, 0x22, true);
	fr_reresolve(f->rt, 110, fr_set_snapshot(f->rt, &snap));
	assert_int_equal(f->fk.replace_calls, 1);
	assert_int_equal(f->fk.del_calls, 0);
	assert_int_equal(fr_counters(f->rt)->reresolves, 0);
	assert_int_equal(fr_counters(f->rt)->netstate_unchanged, 1);

	/* the server's neighbour entry went from STALE to REACHABLE: forwards alike */
	build_snap(&snap, 0x22, true);
	for (size_t i = 0; i < snap.n_neighs; i++)
		if (snap.neighs[i].state == NETSTATE_NUD_STALE)
			snap.neighs[i].state = NETSTATE_NUD_REACHABLE;
	fr_reresolve(f->rt, 110, fr_set_snapshot(f->rt, &snap));
	assert_int_equal(fr_counters(f->rt)->reresolves, 0);
	assert_int_equal(fr_counters(f->rt)->netstate_unchanged, 2);
	assert_int_equal(f->fk.replace_calls, 1);

	/* the server's MAC changed: old rules deleted first, then new ones installed */
	build_snap(&snap, 0x23, true);
	fr_reresolve(f->rt, 111, fr_set_snapshot(f->rt, &snap));
	assert_int_equal(f->fk.del_calls, 1);
	assert_int_equal(f->fk.replace_calls, 2);
	assert_true(f->fk.last_del_seq < f->fk.last_replace_seq);
	assert_int_equal(f->fk.n_replace, 2);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_OFFLOADED);
	assert_int_not_equal(flow_of(f, &e)->handle[0], h0);
	assert_int_equal(fr_counters(f->rt)->path_changes, 1);
	{
		/* the original rule's pedit sets the new destination MAC */
		const struct tc_rule *r = &f->fk.replaced[0];
		bool seen = false;

		for (unsigned i = 0; i < r->n_actions; i++)
			if (r->actions[i].kind == TC_ACTION_PEDIT)
				for (unsigned j = 0; j < r->actions[i].pedit.n_ops; j++) {
					const struct tc_pedit_op *op = &r->actions[i].pedit.ops[j];

					if (op->field == TC_PEDIT_ETH_DST && op->val.mac[5] == 0x23)
						seen = true;
				}
		assert_true(seen);
	}

	/* wan0 vanished: rules deleted, the flow stays in software with the path reason */
	build_snap(&snap, 0x23, false);
	fr_reresolve(f->rt, 112, fr_set_snapshot(f->rt, &snap));
	assert_int_equal(f->fk.del_calls, 2);
	assert_int_equal(f->fk.replace_calls, 2);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_REFUSED);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_PATH);

	/* it came back: installed again */
	build_snap(&snap, 0x23, true);
	fr_reresolve(f->rt, 113, fr_set_snapshot(f->rt, &snap));
	assert_int_equal(f->fk.replace_calls, 3);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_OFFLOADED);
}

/* ---- capacity, prefer tcp, ENOSPC ---- */

static void test_capacity(void **state)
{
	struct fx *f = *state;
	struct ct_event e;
	char buf[1024];

	f->cfg.flow_max = 10;
	start(f, true);
	for (uint16_t p = 0; p < 9; p++)
		established(f, (uint16_t)(42000 + p));
	fr_flush(f->rt);
	assert_int_equal(f->fk.n_replace, 18);

	/* 9 of 10: UDP waits (prefer = tcp), TCP still goes */
	e = ev4(CT_EVENT_UPDATE, IPPROTO_UDP, 6000, 0);
	fr_event(f->rt, &e, 100);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_REFUSED);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_FULL);
	assert_int_equal(explain(f->rt, "10.0.1.2 10.0.2.2 udp 6000 5201", buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "UDP waits so TCP goes first"));
	established(f, 42100);
	fr_flush(f->rt);
	assert_int_equal(f->fk.n_replace, 20);

	/* 10 of 10: full for everyone */
	established(f, 42101);
	e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 42101, CT_TCP_ESTABLISHED);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_FULL);
	assert_non_null(strstr(f->log, "") /* no log needed */);
	assert_int_equal(explain(f->rt, "10.0.1.2 10.0.2.2 tcp 42101 5201", buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "[flow] max_flows"));

	/* one closes: the poll wants a dump, which installs the waiting TCP connection */
	e = ev4(CT_EVENT_DESTROY, IPPROTO_TCP, 42000, CT_TCP_CLOSE);
	fr_event(f->rt, &e, 101);
	fr_flush(f->rt);
	f->fk.dump[0] = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 42101, CT_TCP_ESTABLISHED);
	f->fk.n_dump = 1;
	assert_true(fr_poll(f->rt, 102));
	assert_int_equal(fr_resync(f->rt, 102), 0);
	fr_flush(f->rt);
	assert_int_equal(flow_of(f, &f->fk.dump[0])->state, CT_FLOW_OFFLOADED);
	/* the sweep: what the dump did not show is gone (lost DESTROY events) */
	assert_int_equal(fr_counters(f->rt)->swept, 10); /* 9 TCP + the UDP one */
	assert_int_equal(ct_table_count(ct_engine_table(fr_engine(f->rt, 0))), 1);
}

static void test_enospc(void **state)
{
	struct fx *f = *state;
	struct ct_event e;
	json_t *st;

	start(f, true);
	established(f, 42999);
	fr_flush(f->rt);
	established(f, 43000);
	f->fk.replace_err = -ENOSPC;
	fr_flush(f->rt);
	e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 43000, CT_TCP_ESTABLISHED);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_REFUSED);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_INSTALL);
	assert_int_equal(f->fk.del_calls, 1); /* the pair is taken out (one may be in) */
	assert_non_null(
	    strstr(f->log, "No space left on device: fake refusal (stays in software)"));

	/* the table is full: the next connection is not tried */
	established(f, 43001);
	e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 43001, CT_TCP_ESTABLISHED);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_FULL);
	assert_int_equal(fr_pending(f->rt), 0);
	st = fr_status_json(f->rt);
	assert_true(json_is_true(json_object_get(st, "hardware_full")));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(st, "netlink"), "enospc")), 1);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(st, "in_software_by_reason"), "table-full")),
	                 1);
	json_decref(st);

	/* a rule deleted: room again */
	e = ev4(CT_EVENT_DESTROY, IPPROTO_TCP, 42999, CT_TCP_CLOSE);
	fr_event(f->rt, &e, 103);
	fr_flush(f->rt);
	established(f, 43002);
	fr_flush(f->rt);
	e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 43002, CT_TCP_ESTABLISHED);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_OFFLOADED);
}

/* ---- min packets policy ---- */

static void test_policy(void **state)
{
	struct fx *f = *state;
	struct ct_event e;

	f->cfg.flow_min_packets = 10;
	start(f, true);
	established(f, 44000);
	e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 44000, CT_TCP_ESTABLISHED);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_CANDIDATE);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_POLICY);
	assert_int_equal(fr_pending(f->rt), 0);

	/* the poll wants a dump: 4 + 2 packets, still waiting */
	assert_true(fr_poll(f->rt, 101));
	f->fk.dump[0] = e;
	f->fk.dump[0].has_counters = true;
	f->fk.dump[0].packets[0] = 4;
	f->fk.dump[0].packets[1] = 2;
	f->fk.n_dump = 1;
	fr_resync(f->rt, 101);
	assert_int_equal(flow_of(f, &e)->reason, CT_R_POLICY);
	{
		char buf[512];

		explain(f->rt, "10.0.2.2 10.0.2.1 tcp 5201 44000", buf, sizeof(buf)); /* reply */
		assert_non_null(
		    strstr(buf, "6 packets, 6000 bytes") == NULL ? strstr(buf, "6 packets") : buf);
		assert_non_null(strstr(buf, "offloaded after 10 packets"));
	}
	/* 12 packets: offloaded */
	f->fk.dump[0].packets[0] = 8;
	f->fk.dump[0].packets[1] = 4;
	fr_resync(f->rt, 106);
	fr_flush(f->rt);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_OFFLOADED);
	assert_false(fr_poll(f->rt, 111));

	/* accounting off: the policy cannot apply, connections go at once */
	fr_destroy(f->rt);
	f->rt = NULL;
	start(f, false);
	established(f, 44001);
	fr_flush(f->rt);
	e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 44001, CT_TCP_ESTABLISHED);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_OFFLOADED);
}

/* ---- views ---- */

static void test_views(void **state)
{
	struct fx *f = *state;
	struct ct_event e;
	char buf[2048];
	json_t *st, *fl, *one;

	start(f, true);
	established(f, 45000);
	e = ev4(CT_EVENT_NEW, IPPROTO_TCP, 45001, CT_TCP_SYN_SENT);
	fr_event(f->rt, &e, 100);
	/* the default gateway path, to an address without a valid neighbour */
	e = ev4(CT_EVENT_UPDATE, IPPROTO_UDP, 7000, 0);
	addr(AF_INET, "10.0.2.3", &e.conn.orig.dst);
	addr(AF_INET, "10.0.2.3", &e.conn.reply.src);
	fr_event(f->rt, &e, 100);
	fr_flush(f->rt);

	assert_int_equal(explain(f->rt, "10.0.1.2 10.0.2.2 tcp 45000 5201", buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "flowtable inet t ft: tcp 10.0.1.2 45000 -> 10.0.2.2 5201 "
	                            "(reply 10.0.2.2 5201 -> 10.0.2.1 45000) zone 0 id 46000 "
	                            "ESTABLISHED: offloaded: rules on lan0 (handle 0x1) and wan0 "
	                            "(handle 0x2)"));
	assert_int_equal(explain(f->rt, "10.0.1.2 10.0.2.2 tcp 45001 5201", buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "candidate (tcp-state): tcp state SYN_SENT: not established"));
	assert_int_equal(explain(f->rt, "10.0.1.2 10.0.2.3 udp 7000 5201", buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "refused (path): original direction: neighbour 10.0.2.3 on "
	                            "wan0 is INCOMPLETE"));
	assert_int_equal(explain(f->rt, "10.0.1.2 10.0.2.2 tcp 1 5201", buf, sizeof(buf)), -ENOENT);
	assert_non_null(strstr(buf, "no tracked connection matches"));
	assert_int_equal(explain(f->rt, "1 2 icmp 3", buf, sizeof(buf)), -EINVAL);

	st = fr_status_json(f->rt);
	assert_int_equal(json_integer_value(json_object_get(st, "tracked")), 3);
	assert_int_equal(json_integer_value(json_object_get(st, "offloaded")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "in_software")), 2);
	assert_int_equal(json_integer_value(
	                     json_object_get(json_object_get(st, "in_software_by_reason"), "path")),
	                 1);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(st, "in_software_by_reason"), "tcp-state")),
	                 1);
	assert_true(json_is_null(json_object_get(st, "capacity")));
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(st, "flowtables"), 0), "profile")),
	                    "generic-flow");
	json_decref(st);

	fl = fr_flows_json(f->rt);
	assert_int_equal(json_array_size(fl), 3);
	one = json_array_get(fl, 0);
	assert_string_equal(json_string_value(json_object_get(one, "state")), "offloaded");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(one, "reply"), "dst")), "10.0.2.1");
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(one, "rules"), 1), "dev")),
	                    "wan0");
	json_decref(fl);

	/* stop with removal: both rules of the offloaded flow deleted */
	fr_remove_all(f->rt);
	assert_int_equal(f->fk.n_del, 2);
}

/* ---- adoption after a restart ---- */

/* A first run installs the rules of connections from cport on (n of them); they are copied out
 * as "the kernel's", the runtime is destroyed (kill -9) and a new one started on the same
 * fake. */
static size_t first_run(struct fx *f, uint16_t cport, size_t n, struct tc_rule *kernel)
{
	start(f, false);
	for (size_t i = 0; i < n; i++)
		established(f, (uint16_t)(cport + i));
	fr_flush(f->rt);
	assert_int_equal(f->fk.n_replace, 2 * n);
	memcpy(kernel, f->fk.replaced, 2 * n * sizeof(*kernel));
	fr_destroy(f->rt);
	f->rt = NULL;
	memset(&f->fk, 0, sizeof(f->fk));
	return 2 * n;
}

/* The restarted runtime: the installed rules indexed, conntrack dumped (the connections
 * cports[]), the rest deleted, then the flush. */
static void adopt_kernel(struct fx *f, const struct tc_rule *kernel, size_t n_kernel)
{
	fr_adopt_begin(f->rt);
	for (size_t i = 0; i < n_kernel; i++) {
		/* as a dump shows it: the rule's netlink message read by the terse decoder */
		static uint8_t buf[16384];
		struct tc_brief back;
		char err[256];
		int len =
		    tc_encode(&kernel[i], TC_MSG_REPLACE, 0, 1, buf, sizeof(buf), err, sizeof(err));

		assert_true(len > 0);
		assert_int_equal(tc_decode_brief(buf, (size_t)len, &back, err, sizeof(err)), 0);
		assert_memory_equal(&back.id, &kernel[i].id, sizeof(back.id));
		assert_int_equal(fr_adopt_rule(f->rt, &back), 0);
	}
	fr_adopt_index(f->rt);
}

static void restart(struct fx *f, const struct tc_rule *kernel, size_t n_kernel,
                    const uint16_t *cports, size_t n_conn, uint8_t server_mac)
{
	struct netstate_snapshot snap;

	start(f, false);
	if (server_mac != 0x22) {
		build_snap(&snap, server_mac, true);
		fr_set_snapshot(f->rt, &snap);
	}
	adopt_kernel(f, kernel, n_kernel);
	f->fk.n_dump = n_conn;
	for (size_t i = 0; i < n_conn; i++)
		f->fk.dump[i] = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, cports[i], CT_TCP_ESTABLISHED);
	assert_int_equal(fr_resync(f->rt, 200), 0);
	fr_adopt_end(f->rt);
	fr_flush(f->rt);
}

static bool deleted_handle(const struct fake *k, uint32_t ifindex, uint32_t handle)
{
	for (size_t i = 0; i < k->n_del; i++)
		if (k->deleted[i].ifindex == ifindex && k->deleted[i].handle == handle)
			return true;
	return false;
}

/* equal rules of a live connection: adopted, no netlink write, the flow keeps their handles */
static void test_adopt_equal(void **state)
{
	struct fx *f = *state;
	struct tc_rule kernel[4];
	uint16_t cports[2] = {41000, 41001};
	size_t n = first_run(f, 41000, 2, kernel);
	struct ct_event e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 41001, CT_TCP_ESTABLISHED);
	struct ct_flow *fl;

	restart(f, kernel, n, cports, 2, 0x22);
	assert_int_equal(f->fk.replace_calls, 0);
	assert_int_equal(f->fk.del_calls, 0);
	assert_int_equal(f->fk.n_replace + f->fk.n_del, 0);
	assert_int_equal(fr_adopt_stats(f->rt)->found, 4);
	assert_int_equal(fr_adopt_stats(f->rt)->adopted, 4);
	assert_int_equal(fr_adopt_stats(f->rt)->replaced + fr_adopt_stats(f->rt)->deleted, 0);
	fl = flow_of(f, &e);
	assert_non_null(fl);
	assert_int_equal(fl->state, CT_FLOW_OFFLOADED);
	assert_int_equal(fl->handle[0], kernel[2].id.handle);
	assert_int_equal(fl->handle[1], kernel[3].id.handle);

	/* a new connection gets handles above the adopted ones */
	established(f, 41100);
	fr_flush(f->rt);
	assert_int_equal(f->fk.n_replace, 2);
	assert_true(f->fk.replaced[0].id.handle > kernel[3].id.handle);
	assert_true(f->fk.replaced[1].id.handle > kernel[3].id.handle);

	/* the adopted flow's DESTROY deletes the adopted handles */
	e.type = CT_EVENT_DESTROY;
	fr_event(f->rt, &e, 201);
	fr_flush(f->rt);
	assert_true(deleted_handle(&f->fk, kernel[2].id.ifindex, kernel[2].id.handle));
	assert_true(deleted_handle(&f->fk, kernel[3].id.ifindex, kernel[3].id.handle));
}

/* A re-plan keeps the rules: no delete for the offloaded flows, a pending install dropped, a
 * pending delete sent; the adoption dump afterwards adopts the rules with no write, and the
 * flows keep their handles. */
static void test_replan_keeps_rules(void **state)
{
	struct fx *f = *state;
	struct tc_rule kernel[4];
	uint16_t cports[2] = {42000, 42001};
	struct ct_event gone = ev4(CT_EVENT_DESTROY, IPPROTO_TCP, 42002, CT_TCP_ESTABLISHED);
	struct ct_event e1 = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 42001, CT_TCP_ESTABLISHED);
	char err[256];
	struct ct_flow *fl;

	start(f, false);
	for (uint16_t i = 0; i < 3; i++)
		established(f, (uint16_t)(42000 + i));
	fr_flush(f->rt);
	assert_int_equal(f->fk.n_replace, 6);
	memcpy(kernel, f->fk.replaced, sizeof(kernel));
	/* a delete (the third connection closed) and an install (a new one) still pending */
	fr_event(f->rt, &gone, 150);
	established(f, 42003);
	f->fk.n_replace = 0;
	f->fk.replace_calls = f->fk.del_calls = 0;
	f->fk.n_del = 0;

	assert_int_equal(fr_set_plan_keep(f->rt, f->plan, err, sizeof(err)), 0);
	assert_ptr_equal(fr_plan(f->rt), f->plan);
	assert_int_equal(f->fk.n_replace, 0); /* the pending install never went out */
	assert_int_equal(f->fk.n_del, 2);     /* the pending delete did */
	assert_int_equal(f->fk.deleted[0].handle, f->fk.replaced[4].id.handle);
	f->fk.del_calls = 0;
	f->fk.n_del = 0;

	/* as flowrt_set_plan goes on: the rules dumped and indexed, conntrack dumped */
	adopt_kernel(f, kernel, 4);
	f->fk.n_dump = 2;
	for (size_t i = 0; i < 2; i++)
		f->fk.dump[i] = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, cports[i], CT_TCP_ESTABLISHED);
	assert_int_equal(fr_resync(f->rt, 200), 0);
	fr_adopt_end(f->rt);
	fr_flush(f->rt);
	fr_set_replan_reconcile_ms(f->rt, 7);
	assert_int_equal(f->fk.replace_calls + f->fk.del_calls, 0);
	assert_int_equal(fr_adopt_stats(f->rt)->adopted, 4);
	fl = flow_of(f, &e1);
	assert_non_null(fl);
	assert_int_equal(fl->state, CT_FLOW_OFFLOADED);
	assert_int_equal(fl->handle[0], kernel[2].id.handle);
	assert_int_equal(fl->handle[1], kernel[3].id.handle);
	{
		json_t *st = fr_status_json(f->rt);

		assert_int_equal(json_integer_value(json_object_get(st, "replans")), 1);
		assert_int_equal(
		    json_integer_value(json_object_get(st, "last_replan_reconcile_ms")), 7);
		assert_int_equal(json_integer_value(json_object_get(
		                     json_object_get(st, "last_replan_reconcile"), "adopted")),
		                 4);
		assert_true(json_is_null(json_object_get(st, "startup_reconcile_ms")));
		json_decref(st);
	}
}

/* 30 connections' rules found in an order unlike the index's (reversed, the two directions
 * apart): the index is sorted, every connection finds its own two rules */
static void test_adopt_many_unordered(void **state)
{
	struct fx *f = *state;
	static struct tc_rule kernel[60], mixed[60];
	size_t n = first_run(f, 45000, 30, kernel);

	assert_int_equal(n, 60);
	for (size_t i = 0; i < 30; i++) {
		mixed[i] = kernel[n - 1 - 2 * i];      /* reply directions, last first */
		mixed[30 + i] = kernel[n - 2 - 2 * i]; /* then the originals */
	}
	start(f, false);
	adopt_kernel(f, mixed, n);
	f->fk.n_dump = 0;
	f->fk.n_gen = 30;
	f->fk.gen_base = 45000;
	assert_int_equal(fr_resync(f->rt, 200), 0);
	fr_adopt_end(f->rt);
	fr_flush(f->rt);
	assert_int_equal(fr_adopt_stats(f->rt)->found, 60);
	assert_int_equal(fr_adopt_stats(f->rt)->adopted, 60);
	assert_int_equal(f->fk.replace_calls + f->fk.del_calls, 0);
	for (uint16_t p = 45000; p < 45030; p++) {
		struct ct_event e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, p, CT_TCP_ESTABLISHED);
		const struct ct_flow *fl = flow_of(f, &e);

		assert_non_null(fl);
		assert_int_equal(fl->handle[0], kernel[2 * (p - 45000)].id.handle);
		assert_int_equal(fl->handle[1], kernel[2 * (p - 45000) + 1].id.handle);
	}
}

/* a rule that differs (the server's MAC changed meanwhile): replaced in place */
static void test_adopt_replace(void **state)
{
	struct fx *f = *state;
	struct tc_rule kernel[2];
	uint16_t cport = 42000;
	size_t n = first_run(f, 42000, 1, kernel);
	struct ct_event e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 42000, CT_TCP_ESTABLISHED);

	restart(f, kernel, n, &cport, 1, 0x23);
	assert_int_equal(f->fk.del_calls, 0);
	assert_int_equal(f->fk.replace_calls, 1);
	assert_int_equal(f->fk.n_replace, 2);
	assert_int_equal(fr_adopt_stats(f->rt)->adopted, 0);
	assert_int_equal(fr_adopt_stats(f->rt)->replaced, 2);
	/* at the installed handles, with the new rule */
	for (int d = 0; d < 2; d++) {
		assert_int_equal(f->fk.replaced[d].id.handle, kernel[d].id.handle);
		assert_int_equal(f->fk.replaced[d].id.ifindex, kernel[d].id.ifindex);
		assert_false(tc_rule_equal(&f->fk.replaced[d], &kernel[d]) && d == 0);
	}
	assert_int_equal(flow_of(f, &e)->handle[0], kernel[0].id.handle);
	assert_int_equal(flow_of(f, &e)->handle[1], kernel[1].id.handle);
}

/* rules of an earlier version (no check in the cookie: bytes 8..11 zero) are never taken as
 * equal: replaced in place once */
static void test_adopt_without_check(void **state)
{
	struct fx *f = *state;
	struct tc_rule kernel[2];
	uint16_t cport = 42500;
	size_t n = first_run(f, 42500, 1, kernel);
	struct ct_event e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 42500, CT_TCP_ESTABLISHED);

	for (size_t i = 0; i < n; i++)
		nto_cookie_set_check(kernel[i].cookie, 0);
	restart(f, kernel, n, &cport, 1, 0x22);
	assert_int_equal(fr_adopt_stats(f->rt)->found, 2);
	assert_int_equal(fr_adopt_stats(f->rt)->adopted, 0);
	assert_int_equal(fr_adopt_stats(f->rt)->replaced, 2);
	assert_int_equal(f->fk.del_calls, 0);
	assert_int_equal(f->fk.n_replace, 2);
	for (int d = 0; d < 2; d++) {
		assert_int_equal(f->fk.replaced[d].id.handle, kernel[d].id.handle);
		assert_int_not_equal(nto_cookie_check_in(f->fk.replaced[d].cookie, NTO_COOKIE_LEN),
		                     0);
	}
	assert_int_equal(flow_of(f, &e)->handle[0], kernel[0].id.handle);
}

/* rules of a connection conntrack no longer has: deleted; others' filters untouched */
static void test_adopt_orphan(void **state)
{
	struct fx *f = *state;
	struct tc_rule kernel[5];
	uint16_t cport = 43001;
	size_t n = first_run(f, 43000, 2, kernel);

	/* a filter of ours of a flowtable this plan does not have: not the flow runtime's */
	kernel[n] = kernel[0];
	nto_cookie_make(kernel[n].cookie, nto_cookie_owner("inet", "t", "other"), 1);
	kernel[n].id.handle = 500;
	restart(f, kernel, n + 1, &cport, 1, 0x22);
	assert_int_equal(fr_adopt_stats(f->rt)->found, 4);
	assert_int_equal(fr_adopt_stats(f->rt)->adopted, 2);
	assert_int_equal(fr_adopt_stats(f->rt)->deleted, 2);
	assert_int_equal(f->fk.replace_calls, 0);
	assert_int_equal(f->fk.n_del, 2);
	assert_true(deleted_handle(&f->fk, kernel[0].id.ifindex, kernel[0].id.handle));
	assert_true(deleted_handle(&f->fk, kernel[1].id.ifindex, kernel[1].id.handle));
	assert_false(deleted_handle(&f->fk, kernel[0].id.ifindex, 500));
}

/* a second filter for one connection (same rule, another handle; another prio): deleted */
static void test_adopt_duplicate(void **state)
{
	struct fx *f = *state;
	struct tc_rule kernel[4];
	uint16_t cport = 44000;
	struct ct_event e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 44000, CT_TCP_ESTABLISHED);

	assert_int_equal(first_run(f, 44000, 1, kernel), 2);
	kernel[2] = kernel[0];
	kernel[2].id.handle = 77;
	kernel[3] = kernel[1];
	kernel[3].id.prio = (uint16_t)(kernel[1].id.prio + 1);
	restart(f, kernel, 4, &cport, 1, 0x22);
	assert_int_equal(fr_adopt_stats(f->rt)->adopted, 2);
	assert_int_equal(fr_adopt_stats(f->rt)->deleted, 2);
	assert_int_equal(f->fk.replace_calls, 0);
	assert_int_equal(f->fk.n_del, 2);
	assert_true(deleted_handle(&f->fk, kernel[0].id.ifindex, 77));
	assert_true(deleted_handle(&f->fk, kernel[1].id.ifindex, kernel[1].id.handle));
	assert_int_equal(f->fk.deleted[0].prio + f->fk.deleted[1].prio,
	                 kernel[0].id.prio + kernel[3].id.prio);
	/* the one adopted is the one at the original handles */
	assert_int_equal(flow_of(f, &e)->handle[0], kernel[0].id.handle);
	assert_int_equal(flow_of(f, &e)->handle[1], kernel[1].id.handle);
}

/* ---- the pending list stays bounded ---- */

static size_t count_state(struct fx *f, enum ct_flow_state st)
{
	struct ct_table *t = ct_engine_table(fr_engine(f->rt, 0));
	size_t n = 0;

	for (size_t i = 0; i < ct_table_count(t); i++)
		n += ct_table_at(t, i)->state == st;
	return n;
}

/* A dump of 5,000 new connections (a fifth UDP): installs go out during the dump, never more
 * than FR_PENDING_CAP operations wait; be_liberal (fk_liberal asserts it is not called while
 * the dump runs) reaches every TCP connection after it. The re-resolution of all of them, their
 * idle deletes and a sweep are bounded too. */
static void test_dump_bounded(void **state)
{
	struct fx *f = *state;
	const size_t n = 5000, n_tcp = 4000;
	struct netstate_snapshot snap;
	json_t *st;

	start(f, false);
	f->fk.gen_base = 20000;
	f->fk.n_gen = n;
	f->fk.gen_udp_every = 5;
	assert_int_equal(fr_resync(f->rt, 100), 0);
	assert_true(f->fk.replace_in_dump >= n / FR_PENDING_CAP);
	assert_true(fr_pending(f->rt) < FR_PENDING_CAP);
	assert_int_equal(fr_counters(f->rt)->pending_max, FR_PENDING_CAP);
	/* what went out during the dump got its be_liberal at its end */
	assert_true(fr_counters(f->rt)->liberal_deferred > n_tcp / 2);
	assert_int_equal(f->fk.liberal_calls, fr_counters(f->rt)->liberal_deferred);
	fr_flush(f->rt);
	assert_int_equal(f->fk.replaced_total, 2 * n);
	assert_true(f->fk.max_replace_batch <= 2 * FR_PENDING_CAP);
	assert_int_equal(count_state(f, CT_FLOW_OFFLOADED), n);
	assert_int_equal(f->fk.liberal_calls, n_tcp);
	assert_int_equal(fr_counters(f->rt)->liberal_ok, n_tcp);
	assert_int_equal(fr_counters(f->rt)->install_errors, 0);
	st = fr_status_json(f->rt);
	assert_int_equal(json_integer_value(json_object_get(st, "pending_max")), FR_PENDING_CAP);
	json_decref(st);

	/* the server's MAC changed: a delete and an install each, in bounded flushes, deletes
	 * first in each */
	build_snap(&snap, 0x23, true);
	assert_true(fr_set_snapshot(f->rt, &snap));
	f->fk.replaced_total = f->fk.deleted_total = 0;
	f->fk.replace_calls = f->fk.del_calls = f->fk.replace_after_del = 0;
	fr_reresolve(f->rt, 101, true);
	assert_true(f->fk.replace_calls >= 2 * n / FR_PENDING_CAP);
	assert_int_equal(f->fk.replace_after_del, f->fk.replace_calls);
	assert_int_equal(f->fk.deleted_total, 2 * n);
	assert_int_equal(f->fk.replaced_total, 2 * n);
	assert_true(f->fk.del_calls >= 2 * n / FR_PENDING_CAP);
	assert_int_equal(fr_counters(f->rt)->pending_max, FR_PENDING_CAP);
	assert_int_equal(count_state(f, CT_FLOW_OFFLOADED), n);

	/* all idle: deleted by the poll, in bounded flushes; the flows stay (idle) */
	f->fk.deleted_total = 0;
	fr_poll(f->rt, 1000);
	assert_int_equal(f->fk.deleted_total, 2 * n);
	assert_int_equal(count_state(f, CT_FLOW_CANDIDATE), n);
	assert_int_equal(fr_counters(f->rt)->pending_max, FR_PENDING_CAP);

	/* their conntrack timeouts show traffic (a baseline, then reset by packets): installed
	 * again; then a dump without them: the sweep's deletes are bounded too */
	f->fk.gen_timeout = 100;
	assert_int_equal(fr_resync(f->rt, 1001), 0);
	f->fk.gen_timeout = 120;
	assert_int_equal(fr_resync(f->rt, 1011), 0);
	fr_flush(f->rt);
	f->fk.gen_timeout = 0;
	assert_int_equal(count_state(f, CT_FLOW_OFFLOADED), n);
	f->fk.n_gen = 0;
	f->fk.deleted_total = 0;
	assert_int_equal(fr_resync(f->rt, 1002), 0);
	fr_flush(f->rt);
	assert_int_equal(fr_counters(f->rt)->swept, n);
	assert_int_equal(f->fk.deleted_total, 2 * n);
	assert_int_equal(ct_table_count(ct_engine_table(fr_engine(f->rt, 0))), 0);
	assert_int_equal(fr_counters(f->rt)->pending_max, FR_PENDING_CAP);
	assert_int_equal(fr_pending(f->rt), 0);

	/* stop with removal: bounded as well */
	f->fk.n_gen = n;
	assert_int_equal(fr_resync(f->rt, 1003), 0);
	fr_flush(f->rt);
	f->fk.deleted_total = 0;
	fr_remove_all(f->rt);
	assert_int_equal(f->fk.deleted_total, 2 * n);
	assert_int_equal(fr_counters(f->rt)->pending_max, FR_PENDING_CAP);
}

/* After a restart, a connection re-created with the same tuple under a new conntrack id: its
 * old rules are orphans with the same flower keys, deleted only at fr_adopt_end. Its install,
 * flushed during the dump, is refused (EEXIST), held, and sent again after the deletes. With
 * destroy, its DESTROY arrives while the install is held: it never goes out. */
static void adopt_collision(struct fx *f, bool destroy)
{
	struct tc_rule kernel[2];
	size_t n = first_run(f, 46000, 1, kernel);
	struct ct_event e = ev4(CT_EVENT_UPDATE, IPPROTO_TCP, 46000, CT_TCP_ESTABLISHED);
	const size_t more = FR_PENDING_CAP + 10, left = (1 + more) % FR_PENDING_CAP;

	e.id = 90000;
	start(f, false);
	adopt_kernel(f, kernel, n);
	memcpy(f->fk.orphan, kernel, sizeof(kernel));
	f->fk.n_orphan = 2;
	f->fk.dump[0] = e;
	f->fk.n_dump = 1;
	f->fk.gen_base = 30000;
	f->fk.n_gen = more;
	assert_int_equal(fr_resync(f->rt, 200), 0);
	assert_true(f->fk.replace_in_dump >= 1);
	assert_true(f->fk.eexist >= 1);
	assert_int_equal(fr_adopt_stats(f->rt)->retried, 1);
	assert_int_equal(fr_counters(f->rt)->install_errors, 0);
	assert_int_equal(flow_of(f, &e)->state, CT_FLOW_OFFLOADED);
	if (destroy) {
		e.type = CT_EVENT_DESTROY;
		fr_event(f->rt, &e, 201);
		assert_null(flow_of(f, &e));
		assert_int_equal(fr_pending(f->rt), left + 1); /* its DELETE */
	}
	f->fk.replaced_total = 0;
	assert_int_equal(fr_adopt_end(f->rt), 2);
	assert_int_equal(fr_adopt_stats(f->rt)->deleted, 2);
	assert_int_equal(f->fk.n_orphan, 0);
	fr_flush(f->rt);
	assert_true(f->fk.last_replace_seq > f->fk.last_del_seq);
	assert_int_equal(fr_counters(f->rt)->install_errors, 0);
	assert_int_equal(f->fk.replaced_total, 2 * ((destroy ? 0 : 1) + left));
	assert_int_equal(count_state(f, CT_FLOW_OFFLOADED), more + (destroy ? 0 : 1));
	assert_int_equal(f->fk.liberal_calls, more + (destroy ? 0 : 1));
	if (destroy) {
		/* the held install is gone; its DELETE went out (after the orphans') */
		assert_int_equal(fr_adopt_stats(f->rt)->retried, 1);
		assert_int_equal(f->fk.del_calls, 2);
	} else {
		const struct ct_flow *fl = flow_of(f, &e);

		assert_int_equal(fl->state, CT_FLOW_OFFLOADED);
		assert_int_equal(fl->id, 90000);
		assert_true(fl->handle[0] > kernel[1].id.handle);
	}
}

static void test_adopt_collision(void **state)
{
	adopt_collision(*state, false);
}

static void test_adopt_collision_destroyed(void **state)
{
	adopt_collision(*state, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reresolve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enospc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_views, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_equal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replan_keeps_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_replace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_without_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_many_unordered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_orphan, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_duplicate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dump_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_collision, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_collision_destroyed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
