/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctfwd_labdriver: a test-only program for the lab scenarios netstate_live.sh and
 * ctfwd_traffic.sh (not the product CLI). Runs in the current network namespace.
 *
 *   ctfwd_labdriver snapshot
 *       prints the netstate snapshot, one object a line:
 *         link IFINDEX NAME kind=K driver=D mac=M mtu=N up=0|1 running=0|1 master=N
 *         route inet|inet6 main|local|TABLE TYPE PREFIX/LEN [via GW] dev NAME|- metric N
 *         neigh inet|inet6 DEV ADDR lladdr MAC|- state STATE valid=0|1
 *   ctfwd_labdriver watch SECONDS
 *       prints "ready", then every change as "change OBJECT ACTION ..." until a neighbour's
 *       lladdr changes (exit 0) or SECONDS pass (exit 1)
 *   ctfwd_labdriver build|apply [--zone Z] [--prio-base N] DEV...
 *       builds chain 1 for the devices (all of them ingress and egress) from a fresh
 *       snapshot and prints the rules (tc -batch text) and notes; apply then dumps each
 *       device's chain-1 rules carrying our cookie, diffs and applies: deletes, changes,
 *       adds, and prints "apply: keep K change C add A delete D failed F".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/netlink.h>

#include "nft-tc-offload/ctfwd.h"
#include "nft-tc-offload/netstate.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/tc.h"

static const uint8_t cookie[] = {'c', 't', 'f', 'w', 'd', 'l', 'a', 'b'};

static const char *mac_str(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static const char *fam_str(int f)
{
	return f == AF_INET ? "inet" : "inet6";
}

static const char *dev_name(const struct netstate_snapshot *s, uint32_t ifindex)
{
	const struct netstate_link *l = netstate_link_by_index(s, ifindex);

	return l ? l->name : "-";
}

static void print_link(const struct netstate_link *l)
{
	char mac[32];

	printf("link %u %s kind=%s driver=%s mac=%s mtu=%u up=%d running=%d master=%u", l->ifindex,
	       l->name, l->kind[0] ? l->kind : "-", l->driver[0] ? l->driver : "-",
	       l->has_mac ? mac_str(l->mac, mac, sizeof(mac)) : "-", l->mtu, l->up, l->running,
	       l->master);
	if (l->is_vlan)
		printf(" vlan=%u lower=%u", l->vlan_id, l->vlan_lower);
	if (l->port_name[0])
		printf(" port=%s", l->port_name);
	if (l->has_pci_id)
		printf(" pci=%04x:%04x", l->pci_vendor, l->pci_device);
	printf("\n");
}

static void print_route(const struct netstate_snapshot *s, const struct netstate_route *r)
{
	char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
	static const char *types[] = {"unspec",    "unicast",     "local",
	                              "broadcast", "anycast",     "multicast",
	                              "blackhole", "unreachable", "prohibit"};

	inet_ntop(r->family, &r->dst, a, sizeof(a));
	printf("route %s %s %s %s/%u", fam_str(r->family),
	       r->table == NETSTATE_TABLE_MAIN    ? "main"
	       : r->table == NETSTATE_TABLE_LOCAL ? "local"
	                                          : "other",
	       r->type < sizeof(types) / sizeof(types[0]) ? types[r->type] : "?", a, r->dst_len);
	if (r->has_gateway)
		printf(" via %s", inet_ntop(r->family, &r->gateway, g, sizeof(g)));
	printf(" dev %s metric %u%s\n", s ? dev_name(s, r->oif) : "?", r->priority,
	       r->multipath ? " multipath" : "");
}

static void print_neigh(const struct netstate_snapshot *s, const struct netstate_neigh *n)
{
	char a[INET6_ADDRSTRLEN], mac[32], st[64];

	inet_ntop(n->family, &n->addr, a, sizeof(a));
	printf("neigh %s %s %s lladdr %s state %s valid=%d\n", fam_str(n->family),
	       s ? dev_name(s, n->ifindex) : "?", a,
	       n->has_lladdr ? mac_str(n->lladdr, mac, sizeof(mac)) : "-",
	       netstate_nud_str(n->state, st, sizeof(st)), n->valid);
}

static int cmd_snapshot(void)
{
	struct netstate *ns;
	struct netstate_snapshot s;
	int rc = netstate_open(&ns, NULL);

	if (rc) {
		fprintf(stderr, "netstate_open: %s\n", strerror(-rc));
		return 1;
	}
	rc = netstate_snapshot(ns, &s);
	if (rc) {
		fprintf(stderr, "netstate_snapshot: %s\n", strerror(-rc));
		netstate_close(ns);
		return 1;
	}
	for (size_t i = 0; i < s.n_links; i++)
		print_link(&s.links[i]);
	for (size_t i = 0; i < s.n_routes; i++)
		print_route(&s, &s.routes[i]);
	for (size_t i = 0; i < s.n_neighs; i++)
		print_neigh(&s, &s.neighs[i]);
	for (size_t i = 0; i < s.n_fdbs; i++) {
		char mac[32];

		printf("fdb %s %s master %s vlan %u state 0x%x flags 0x%x\n",
		       mac_str(s.fdbs[i].mac, mac, sizeof(mac)), dev_name(&s, s.fdbs[i].ifindex),
		       dev_name(&s, s.fdbs[i].master), s.fdbs[i].vlan, s.fdbs[i].state,
		       s.fdbs[i].flags);
	}
	netstate_snapshot_free(&s);
	netstate_close(ns);
	return 0;
}

struct watch {
	bool lladdr_changed;
};

static void on_change(void *ctx, const struct netstate_change *c)
{
	struct watch *w = ctx;
	static const char *acts[] = {"?", "added", "removed", "changed"};
	char m1[32], m2[32];

	switch (c->object) {
	case NETSTATE_CHANGE_LINK:
		printf("change link %s ", acts[c->action]);
		print_link(c->action == NETSTATE_REMOVED ? &c->old.link : &c->new.link);
		break;
	case NETSTATE_CHANGE_ROUTE:
		printf("change route %s ", acts[c->action]);
		print_route(NULL, c->action == NETSTATE_REMOVED ? &c->old.route : &c->new.route);
		break;
	case NETSTATE_CHANGE_NEIGH:
		printf("change neigh %s ", acts[c->action]);
		print_neigh(NULL, c->action == NETSTATE_REMOVED ? &c->old.neigh : &c->new.neigh);
		if (c->action == NETSTATE_CHANGED && c->old.neigh.has_lladdr &&
		    c->new.neigh.has_lladdr &&memcmp(c->old.neigh.lladdr, c->new.neigh.lladdr, 6) !=
		        0) {
			printf("change neigh lladdr %s -> %s\n",
			       mac_str(c->old.neigh.lladdr, m1, sizeof(m1)),
			       mac_str(c->new.neigh.lladdr, m2, sizeof(m2)));
			w->lladdr_changed = true;
		}
		break;
	case NETSTATE_CHANGE_RESYNC:
		printf("change resync\n");
		break;
	case NETSTATE_CHANGE_FDB: {
		const struct netstate_fdb *f =
		    c->action == NETSTATE_REMOVED ? &c->old.fdb : &c->new.fdb;

		printf("change fdb %s %s port %u bridge %u vlan %u state 0x%x\n", acts[c->action],
		       mac_str(f->mac, m1, sizeof(m1)), f->ifindex, f->master, f->vlan, f->state);
		break;
	}
	}
	fflush(stdout);
}

static int cmd_watch(int seconds)
{
	struct watch w = {0};
	struct netstate_opts o = {.change = on_change, .ctx = &w};
	struct netstate *ns;
	struct timespec t0, now;
	int rc = netstate_open(&ns, &o);

	if (rc) {
		fprintf(stderr, "netstate_open: %s\n", strerror(-rc));
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!w.lladdr_changed) {
		struct pollfd p = {.fd = netstate_fd(ns), .events = POLLIN};
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = seconds * 1000L -
		       ((now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / 1000000L);
		if (left <= 0)
			break;
		if (poll(&p, 1, (int)left) > 0) {
			rc = netstate_process(ns);
			if (rc < 0) {
				fprintf(stderr, "netstate_process: %s\n", strerror(-rc));
				break;
			}
		}
	}
	printf("changes %llu resyncs %llu\n", (unsigned long long)netstate_stats(ns)->changes,
	       (unsigned long long)netstate_stats(ns)->resyncs);
	if (getenv("NTO_LABDRIVER_WATCH_SNAPSHOT")) { /* debugging: the state after the events */
		struct netstate_snapshot s;

		if (netstate_snapshot(ns, &s) == 0) {
			char mac[32];

			for (size_t i = 0; i < s.n_links; i++)
				print_link(&s.links[i]);
			for (size_t i = 0; i < s.n_fdbs; i++)
				printf("fdb %s %s master %s vlan %u state 0x%x\n",
				       mac_str(s.fdbs[i].mac, mac, sizeof(mac)),
				       dev_name(&s, s.fdbs[i].ifindex),
				       dev_name(&s, s.fdbs[i].master), s.fdbs[i].vlan,
				       s.fdbs[i].state);
			netstate_snapshot_free(&s);
		}
	}
	netstate_close(ns);
	return w.lladdr_changed ? 0 : 1;
}

static const char *ifname_cb(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	const struct netstate_link *l = netstate_link_by_index(ctx, ifindex);

	if (!l)
		return NULL;
	snprintf(buf, IFNAMSIZ, "%s", l->name);
	return buf;
}

static void print_rule(const struct netstate_snapshot *s, const char *what, const struct tc_rule *r)
{
	char line[4096];

	if (tc_print(r, TC_MSG_REPLACE, ifname_cb, (void *)s, line, sizeof(line)) < 0)
		snprintf(line, sizeof(line), "(unprintable)");
	printf("%s%s (handle %u)\n", what, line, r->id.handle);
}

struct installed {
	struct tc_rule *v;
	size_t n, cap;
};

static int collect(void *ctx, const struct tc_rule *r)
{
	struct installed *in = ctx;

	if (!ctfwd_owns(r, cookie, sizeof(cookie)))
		return 0;
	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 32;
		struct tc_rule *v = realloc(in->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		in->v = v;
		in->cap = cap;
	}
	in->v[in->n++] = *r;
	return 0;
}

static void reset(void *ctx, enum tc_hook hook)
{
	struct installed *in = ctx;
	size_t w = 0;

	for (size_t i = 0; i < in->n; i++)
		if (in->v[i].id.hook != hook)
			in->v[w++] = in->v[i];
	in->n = w;
}

static int report(const struct netstate_snapshot *s, const char *what, const struct tc_rule *v,
                  const struct nlc_tc_result *res, size_t n)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		if (!res[i].error && !res[i].mismatch)
			continue;
		failed++;
		print_rule(s, "FAILED ", &v[i]);
		printf("  %s: %s%s%s\n", what, strerror(-res[i].error),
		       res[i].ext.msg[0] ? ": " : "", res[i].ext.msg);
	}
	return failed;
}

static int apply(const struct netstate_snapshot *s, const struct ctfwd_input *in,
                 const struct ctfwd_result *res)
{
	struct nlc_sock *sk;
	struct installed inst = {0};
	struct ctfwd_diff d;
	struct nlc_tc_result *r;
	int rc, failed = 0;

	rc = nlc_open(&sk, NETLINK_ROUTE, NULL);
	if (rc) {
		fprintf(stderr, "nlc_open: %s\n", strerror(-rc));
		return 1;
	}
	for (size_t i = 0; i < in->n_devices; i++) {
		struct nlc_tc_dump_cb cb = {.rule = collect, .reset = reset, .ctx = &inst};
		struct nlc_extack ext;

		rc = nlc_tc_dump(sk, in->devices[i].ifindex, &cb, NULL, &ext);
		if (rc) {
			fprintf(stderr, "nlc_tc_dump %u: %s %s\n", in->devices[i].ifindex,
			        strerror(-rc), ext.msg);
			nlc_close(sk);
			free(inst.v);
			return 1;
		}
	}
	rc = ctfwd_diff(inst.v, inst.n, res->rules, res->n_rules, &d);
	if (rc) {
		nlc_close(sk);
		free(inst.v);
		return 1;
	}
	for (size_t i = 0; i < d.n_del; i++)
		print_rule(s, "delete: ", &d.del[i]);
	for (size_t i = 0; i < d.n_change; i++)
		print_rule(s, "change: ", &d.change[i]);
	for (size_t i = 0; i < d.n_add; i++)
		print_rule(s, "add: ", &d.add[i]);
	r = calloc(d.n_del + d.n_change + d.n_add + 1, sizeof(*r));
	if (!r) {
		rc = -ENOMEM;
		goto out;
	}
	if (d.n_del) {
		nlc_tc_delete_batch(sk, d.del, d.n_del, r, NULL);
		failed += report(s, "delete", d.del, r, d.n_del);
	}
	if (d.n_change) {
		nlc_tc_replace_batch(sk, d.change, d.n_change, r, NULL, NULL);
		failed += report(s, "change", d.change, r, d.n_change);
	}
	if (d.n_add) {
		nlc_tc_replace_batch(sk, d.add, d.n_add, r, NULL, NULL);
		failed += report(s, "add", d.add, r, d.n_add);
	}
	printf("apply: keep %zu change %zu add %zu delete %zu failed %d\n", d.n_keep, d.n_change,
	       d.n_add, d.n_del, failed);
	free(r);
out:
	ctfwd_diff_free(&d);
	free(inst.v);
	nlc_close(sk);
	return rc || failed ? 1 : 0;
}

static int cmd_build(int argc, char **argv, bool do_apply)
{
	struct ctfwd_device devs[16];
	struct ctfwd_input in = {0};
	struct ctfwd_result res;
	struct netstate_snapshot s;
	struct netstate *ns;
	int rc, status = 0;

	rc = netstate_open(&ns, NULL);
	if (rc || (rc = netstate_snapshot(ns, &s))) {
		fprintf(stderr, "netstate: %s\n", strerror(-rc));
		return 1;
	}
	netstate_close(ns);
	for (int i = 0; i < argc; i++) {
		const struct netstate_link *l;

		if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc) {
			in.zone = (uint16_t)atoi(argv[++i]);
			continue;
		}
		if (strcmp(argv[i], "--prio-base") == 0 && i + 1 < argc) {
			in.prio_base = (uint16_t)strtoul(argv[++i], NULL, 0);
			continue;
		}
		l = netstate_link_by_name(&s, argv[i]);
		if (!l || in.n_devices == 16) {
			fprintf(stderr, "%s: no such device\n", argv[i]);
			netstate_snapshot_free(&s);
			return 1;
		}
		devs[in.n_devices++] =
		    (struct ctfwd_device){.ifindex = l->ifindex, .ingress = true};
	}
	in.snap = &s;
	in.devices = devs;
	in.cookie_len = sizeof(cookie);
	memcpy(in.cookie, cookie, sizeof(cookie));
	rc = ctfwd_build(&in, &res);
	if (rc) {
		fprintf(stderr, "ctfwd_build: %s\n", strerror(-rc));
		netstate_snapshot_free(&s);
		return 1;
	}
	for (size_t i = 0; i < res.n_rules; i++)
		print_rule(&s, "rule: ", &res.rules[i]);
	for (size_t i = 0; i < res.n_notes; i++)
		printf("note: %s\n", res.notes[i]);
	printf("built: %zu rules, %zu notes\n", res.n_rules, res.n_notes);
	if (do_apply)
		status = apply(&s, &in, &res);
	ctfwd_result_free(&res);
	netstate_snapshot_free(&s);
	return status;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "snapshot") == 0)
		return cmd_snapshot();
	if (argc >= 3 && strcmp(argv[1], "watch") == 0)
		return cmd_watch(atoi(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "build") == 0)
		return cmd_build(argc - 2, argv + 2, false);
	if (argc >= 2 && strcmp(argv[1], "apply") == 0)
		return cmd_build(argc - 2, argv + 2, true);
	fprintf(stderr,
	        "usage: %s snapshot | watch SECONDS | build|apply [--zone Z] "
	        "[--prio-base N] DEV...\n",
	        argv[0]);
	return 2;
}
