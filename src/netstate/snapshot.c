/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plain-data snapshots: ownership, ordering and the pure lookups over them. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nft-tc-offload/netstate.h"

void netstate_snapshot_free(struct netstate_snapshot *s)
{
	if (!s)
		return;
	free(s->links);
	free(s->routes);
	free(s->neighs);
	free(s->fdbs);
	memset(s, 0, sizeof(*s));
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static int cmp_link(const void *a, const void *b)
{
	const struct netstate_link *x = a, *y = b;

	return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

static int cmp_route(const void *a, const void *b)
{
	const struct netstate_route *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family - y->family;
	if (x->table != y->table)
		return (x->table > y->table) - (x->table < y->table);
	c = memcmp(&x->dst, &y->dst, addr_len(x->family));
	if (c)
		return c;
	if (x->dst_len != y->dst_len)
		return x->dst_len - y->dst_len;
	if (x->priority != y->priority)
		return (x->priority > y->priority) - (x->priority < y->priority);
	return (x->oif > y->oif) - (x->oif < y->oif);
}

static int cmp_neigh(const void *a, const void *b)
{
	const struct netstate_neigh *x = a, *y = b;

	if (x->family != y->family)
		return x->family - y->family;
	if (x->ifindex != y->ifindex)
		return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
	return memcmp(&x->addr, &y->addr, addr_len(x->family));
}

static int cmp_fdb(const void *a, const void *b)
{
	const struct netstate_fdb *x = a, *y = b;
	int c;

	if (x->master != y->master)
		return (x->master > y->master) - (x->master < y->master);
	c = memcmp(x->mac, y->mac, 6);
	if (c)
		return c;
	if (x->vlan != y->vlan)
		return x->vlan - y->vlan;
	return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

void netstate_snapshot_sort(struct netstate_snapshot *s)
{
	if (s->n_fdbs)
		qsort(s->fdbs, s->n_fdbs, sizeof(*s->fdbs), cmp_fdb);
	if (s->n_links)
		qsort(s->links, s->n_links, sizeof(*s->links), cmp_link);
	if (s->n_routes)
		qsort(s->routes, s->n_routes, sizeof(*s->routes), cmp_route);
	if (s->n_neighs)
		qsort(s->neighs, s->n_neighs, sizeof(*s->neighs), cmp_neigh);
}

static void *dup_array(const void *src, size_t n, size_t size, int *rc)
{
	void *p;

	if (!n)
		return NULL;
	p = malloc(n * size);
	if (!p) {
		*rc = -ENOMEM;
		return NULL;
	}
	memcpy(p, src, n * size);
	return p;
}

int netstate_snapshot_copy(struct netstate_snapshot *dst, const struct netstate_snapshot *src)
{
	int rc = 0;

	memset(dst, 0, sizeof(*dst));
	dst->links = dup_array(src->links, src->n_links, sizeof(*src->links), &rc);
	dst->routes = dup_array(src->routes, src->n_routes, sizeof(*src->routes), &rc);
	dst->neighs = dup_array(src->neighs, src->n_neighs, sizeof(*src->neighs), &rc);
	dst->fdbs = dup_array(src->fdbs, src->n_fdbs, sizeof(*src->fdbs), &rc);
	if (rc) {
		netstate_snapshot_free(dst);
		return rc;
	}
	dst->n_links = src->n_links;
	dst->n_routes = src->n_routes;
	dst->n_neighs = src->n_neighs;
	dst->n_fdbs = src->n_fdbs;
	return 0;
}

/* ---- comparison for forwarding ---- */

static bool link_fwd_equal(const void *a, const void *b)
{
	const struct netstate_link *x = a, *y = b;

	return x->ifindex == y->ifindex && strcmp(x->name, y->name) == 0 &&
	       x->arptype == y->arptype && x->has_mac == y->has_mac &&
	       (!x->has_mac || memcmp(x->mac, y->mac, 6) == 0) && x->mtu == y->mtu &&
	       x->up == y->up && x->running == y->running && strcmp(x->kind, y->kind) == 0 &&
	       x->master == y->master && x->link == y->link && x->is_vlan == y->is_vlan &&
	       x->vlan_id == y->vlan_id && x->vlan_lower == y->vlan_lower &&
	       x->switch_id_len == y->switch_id_len &&
	       memcmp(x->switch_id, y->switch_id, x->switch_id_len) == 0 &&
	       strcmp(x->port_name, y->port_name) == 0 && strcmp(x->driver, y->driver) == 0 &&
	       strcmp(x->bus_info, y->bus_info) == 0 && x->has_pci_id == y->has_pci_id &&
	       x->pci_vendor == y->pci_vendor && x->pci_device == y->pci_device;
}

static bool route_fwd_equal(const void *a, const void *b)
{
	const struct netstate_route *x = a, *y = b;

	return cmp_route(x, y) == 0 && x->type == y->type && x->protocol == y->protocol &&
	       x->scope == y->scope && x->has_gateway == y->has_gateway &&
	       (!x->has_gateway || memcmp(&x->gateway, &y->gateway, addr_len(x->family)) == 0) &&
	       x->multipath == y->multipath;
}

/* A neighbour's NUD state matters only as valid or not (what forwarding reads): REACHABLE,
 * STALE, DELAY and PROBE follow each other every few seconds on a live network. */
static bool neigh_fwd_equal(const void *a, const void *b)
{
	const struct netstate_neigh *x = a, *y = b;

	return cmp_neigh(x, y) == 0 && x->valid == y->valid && x->has_lladdr == y->has_lladdr &&
	       (!x->has_lladdr || memcmp(x->lladdr, y->lladdr, 6) == 0);
}

/* Learned entries age from REACHABLE to STALE; local and static ones stay apart. */
static uint16_t fdb_kind(uint16_t state)
{
	return state & (NETSTATE_NUD_REACHABLE | NETSTATE_NUD_STALE) ? NETSTATE_NUD_REACHABLE
	                                                             : state;
}

static bool fdb_fwd_equal(const void *a, const void *b)
{
	const struct netstate_fdb *x = a, *y = b;

	return cmp_fdb(x, y) == 0 && fdb_kind(x->state) == fdb_kind(y->state);
}

static bool arrays_equal(const void *a, size_t na, const void *b, size_t nb, size_t size,
                         bool (*eq)(const void *, const void *))
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!eq((const char *)a + i * size, (const char *)b + i * size))
			return false;
	return true;
}

bool netstate_snapshot_fwd_equal(const struct netstate_snapshot *a,
                                 const struct netstate_snapshot *b)
{
	return arrays_equal(a->links, a->n_links, b->links, b->n_links, sizeof(*a->links),
	                    link_fwd_equal) &&
	       arrays_equal(a->routes, a->n_routes, b->routes, b->n_routes, sizeof(*a->routes),
	                    route_fwd_equal) &&
	       arrays_equal(a->neighs, a->n_neighs, b->neighs, b->n_neighs, sizeof(*a->neighs),
	                    neigh_fwd_equal) &&
	       arrays_equal(a->fdbs, a->n_fdbs, b->fdbs, b->n_fdbs, sizeof(*a->fdbs),
	                    fdb_fwd_equal);
}

const struct netstate_link *netstate_link_by_index(const struct netstate_snapshot *s,
                                                   uint32_t ifindex)
{
	size_t lo = 0, hi = s->n_links;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->links[mid].ifindex == ifindex)
			return &s->links[mid];
		if (s->links[mid].ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct netstate_link *netstate_link_by_name(const struct netstate_snapshot *s,
                                                  const char *name)
{
	for (size_t i = 0; i < s->n_links; i++)
		if (strncmp(s->links[i].name, name, IFNAMSIZ) == 0)
			return &s->links[i];
	return NULL;
}

bool netstate_prefix_contains(int family, const union tc_addr *prefix, unsigned len,
                              const union tc_addr *addr)
{
	const uint8_t *p = (const uint8_t *)prefix, *a = (const uint8_t *)addr;
	unsigned width = family == AF_INET ? 32 : 128;

	if (len > width)
		return false;
	for (unsigned i = 0; i < len / 8; i++)
		if (p[i] != a[i])
			return false;
	if (len % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - len % 8));

		if ((p[len / 8] & m) != (a[len / 8] & m))
			return false;
	}
	return true;
}

static bool better(const struct netstate_route *r, const struct netstate_route *best)
{
	return !best || r->dst_len > best->dst_len ||
	       (r->dst_len == best->dst_len && r->priority < best->priority);
}

const struct netstate_route *netstate_route_lookup(const struct netstate_snapshot *s, int family,
                                                   const union tc_addr *addr)
{
	const struct netstate_route *local = NULL, *main_ = NULL;

	/* One pass for both tables: the lookup runs four times per connection when the flow
	 * strategy resolves paths (route lookups were 9% of a restart's adoption in callgrind;
	 * one pass took the conntrack dump of 10,000 adopted connections from 272 to 266 ms of
	 * guest time, docs/benchmarks.md §6b). */
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct netstate_route *r = &s->routes[i];

		if (r->family != family ||
		    (r->table != NETSTATE_TABLE_LOCAL && r->table != NETSTATE_TABLE_MAIN))
			continue;
		if (!netstate_prefix_contains(family, &r->dst, r->dst_len, addr))
			continue;
		if (r->table == NETSTATE_TABLE_LOCAL) {
			if (better(r, local))
				local = r;
		} else if (better(r, main_)) {
			main_ = r;
		}
	}
	/* The local table holds local, broadcast, anycast and multicast routes; like the FIB,
	 * a hit there wins over the main table. */
	return local ? local : main_;
}

const struct netstate_neigh *netstate_neigh_find(const struct netstate_snapshot *s, int family,
                                                 uint32_t ifindex, const union tc_addr *addr)
{
	size_t lo = 0, hi = s->n_neighs;
	struct netstate_neigh key = {.family = family, .ifindex = ifindex};

	memcpy(&key.addr, addr, addr_len(family));
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_neigh(&s->neighs[mid], &key);

		if (c == 0)
			return &s->neighs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct netstate_neigh *netstate_neigh_lookup(const struct netstate_snapshot *s, int family,
                                                   uint32_t ifindex, const union tc_addr *addr)
{
	const struct netstate_neigh *n = netstate_neigh_find(s, family, ifindex, addr);

	return n && n->valid ? n : NULL;
}

const char *netstate_nud_str(uint16_t state, char *buf, size_t len)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} names[] = {
	    {NETSTATE_NUD_INCOMPLETE, "INCOMPLETE"}, {NETSTATE_NUD_REACHABLE, "REACHABLE"},
	    {NETSTATE_NUD_STALE, "STALE"},           {NETSTATE_NUD_DELAY, "DELAY"},
	    {NETSTATE_NUD_PROBE, "PROBE"},           {NETSTATE_NUD_FAILED, "FAILED"},
	    {NETSTATE_NUD_NOARP, "NOARP"},           {NETSTATE_NUD_PERMANENT, "PERMANENT"},
	};
	size_t off = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n;

		if (!(state & names[i].bit))
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? "|" : "", names[i].name);
		if (n < 0 || (size_t)n >= len - off)
			return buf;
		off += (size_t)n;
	}
	if (!off)
		snprintf(buf, len, "NONE");
	return buf;
}

const struct netstate_fdb *netstate_fdb_lookup(const struct netstate_snapshot *s, uint32_t master,
                                               const uint8_t mac[6], uint16_t vlan)
{
	for (size_t i = 0; i < s->n_fdbs; i++) {
		const struct netstate_fdb *f = &s->fdbs[i];

		if (f->master == master && f->vlan == vlan && memcmp(f->mac, mac, 6) == 0)
			return f;
	}
	return NULL;
}
