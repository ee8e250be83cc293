/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow strategy's path resolver: one direction of a connection (packets from src to dst)
 * through a netstate snapshot, as the kernel's flowtable finds it (nft_flow_route and
 * nft_dev_forward_path):
 *
 *  - ingress: the device the FIB routes src out of (reverse path: asymmetric routing gets a
 *    rule on the device the packets would come in on if routing were symmetric; a packet that
 *    arrives elsewhere matches no rule and goes to the stack, as the rule's indev match says).
 *    It must be a device of the flowtable (by name; a VLAN device counts through its lower
 *    device, as the kernel follows the forward path to the real device).
 *  - egress: the main table's unicast route to dst (local destinations, multipath and routes
 *    without a device are refused), the next hop (gateway or dst itself) as a VALID neighbour
 *    with a link-layer address on that device; source MAC: the egress device's own.
 *  - both devices: Ethernet, up and running; the egress MTU at least the ingress one (a
 *    packet that needs fragmentation or an ICMP must reach the stack).
 *  - VLAN devices: the rule lives on the VLAN device itself (its clsact ingress sees the
 *    untagged packets after the VLAN driver's receive, and a redirect to a VLAN device gets
 *    tagged by its transmit), which is exact for the software datapath. Hardware wants the
 *    rule on the lower device with a VLAN match, pop and push (flow_path.in_vlan/out_vlan),
 *    but the snapshot does not carry a VLAN device's protocol (802.1Q / 802.1ad), so with a
 *    hardware-only profile (skip_sw) such connections are refused with a reason rather than
 *    given a rule with a guessed tag.
 *
 * Pure: no kernel access.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "flowrt_int.h"

#define ARPHRD_ETHER_ 1

static const char *astr(int family, const union tc_addr *a, char *buf, size_t len)
{
	return inet_ntop(family, a, buf, (socklen_t)len) ? buf : "?";
}

static bool never_forwarded(int family, const union tc_addr *a)
{
	const uint8_t *b = (const uint8_t *)a;

	if (family == AF_INET)
		return b[0] == 127 || b[0] >= 224 || (b[0] == 0);
	/* multicast ff00::/8, link-local fe80::/10, loopback ::1 */
	if (b[0] == 0xff || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
		return true;
	for (int i = 0; i < 15; i++)
		if (b[i])
			return false;
	return b[15] <= 1;
}

static bool in_flowtable(const struct fr_path_opts *o, const struct netstate_link *l)
{
	const struct netstate_link *lower = NULL;

	if (!o->pf)
		return true;
	if (l->is_vlan && l->vlan_lower)
		lower = netstate_link_by_index(o->snap, l->vlan_lower);
	for (size_t i = 0; i < o->pf->n_devices; i++) {
		const char *n = o->pf->devices[i].name;

		if (!n)
			continue;
		if (strcmp(n, l->name) == 0 || (lower && strcmp(n, lower->name) == 0))
			return true;
	}
	return false;
}

/* An interface name into an IFNAMSIZ buffer, cut and terminated. Not snprintf: this runs for
 * every connection's two directions, and snprintf was 4.5% of a restart's adoption of 10,000
 * connections (callgrind, docs/benchmarks.md §6b). */
static void copy_name(char dst[IFNAMSIZ], const char *src)
{
	size_t n = strnlen(src, IFNAMSIZ - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool usable(const struct netstate_link *l, const char *what, char *why, size_t len)
{
	if (l->arptype != ARPHRD_ETHER_ || !l->has_mac) {
		snprintf(why, len, "%s %s is not an Ethernet device", what, l->name);
		return false;
	}
	if (!l->up || !l->running) {
		snprintf(why, len, "%s %s is %s", what, l->name,
		         l->up ? "without carrier (not running)" : "down");
		return false;
	}
	return true;
}

/* The main-table unicast route the FIB picks for a, with its device; NULL with why. */
static const struct netstate_route *route_of(const struct netstate_snapshot *s, int family,
                                             const union tc_addr *a, const char *what, char *why,
                                             size_t len)
{
	const struct netstate_route *r = netstate_route_lookup(s, family, a);
	char ab[INET6_ADDRSTRLEN];

	if (!r) {
		snprintf(why, len, "no route to %s %s", what, astr(family, a, ab, sizeof(ab)));
		return NULL;
	}
	if (r->table == NETSTATE_TABLE_LOCAL || r->type == NETSTATE_RTN_LOCAL) {
		snprintf(why, len, "%s %s is an address of this host", what,
		         astr(family, a, ab, sizeof(ab)));
		return NULL;
	}
	if (r->type != NETSTATE_RTN_UNICAST) {
		snprintf(why, len, "the route to %s %s is not unicast (type %u)", what,
		         astr(family, a, ab, sizeof(ab)), r->type);
		return NULL;
	}
	if (r->multipath || !r->oif) {
		snprintf(why, len, "the route to %s %s is %s", what,
		         astr(family, a, ab, sizeof(ab)),
		         r->multipath ? "multipath (not resolved)" : "without a device");
		return NULL;
	}
	return r;
}

int fr_path_resolve(void *ctx, int family, const union tc_addr *src, const union tc_addr *dst,
                    struct flow_path *out, char *why, size_t len)
{
	const struct fr_path_opts *o = ctx;
	const struct netstate_snapshot *s = o->snap;
	const struct netstate_route *rin, *rout;
	const struct netstate_link *lin, *lout;
	const struct netstate_neigh *n;
	const union tc_addr *hop;
	char ab[INET6_ADDRSTRLEN], st[64];

	memset(out, 0, sizeof(*out));
	if (!s) {
		snprintf(why, len, "no network state yet");
		return -EAGAIN;
	}
	if (never_forwarded(family, src) || never_forwarded(family, dst)) {
		snprintf(why, len, "loopback, link-local or multicast address");
		return -EINVAL;
	}
	rin = route_of(s, family, src, "source", why, len);
	if (!rin)
		return -EHOSTUNREACH;
	rout = route_of(s, family, dst, "destination", why, len);
	if (!rout)
		return -EHOSTUNREACH;
	lin = netstate_link_by_index(s, rin->oif);
	lout = netstate_link_by_index(s, rout->oif);
	if (!lin || !lout) {
		snprintf(why, len, "device %u of the route is gone", !lin ? rin->oif : rout->oif);
		return -ENODEV;
	}
	if (!usable(lin, "ingress", why, len) || !usable(lout, "egress", why, len))
		return -ENETDOWN;
	if (!in_flowtable(o, lin)) {
		snprintf(why, len, "ingress %s is not a device of the flowtable", lin->name);
		return -ENODEV;
	}
	if (o->hw_only && (lin->is_vlan || lout->is_vlan)) {
		snprintf(why, len,
		         "%s %s is a VLAN device: a hardware rule needs the lower device with a "
		         "VLAN match and push, and the VLAN protocol is not known here",
		         lin->is_vlan ? "ingress" : "egress",
		         lin->is_vlan ? lin->name : lout->name);
		return -EOPNOTSUPP;
	}
	if (lout->mtu < lin->mtu) {
		snprintf(why, len,
		         "egress %s MTU %u is smaller than ingress %s's %u: packets that need "
		         "fragmentation or an ICMP must reach the stack",
		         lout->name, lout->mtu, lin->name, lin->mtu);
		return -EMSGSIZE;
	}
	hop = rout->has_gateway ? &rout->gateway : dst;
	n = netstate_neigh_lookup(s, family, rout->oif, hop);
	if (!n) {
		const struct netstate_neigh *any = netstate_neigh_find(s, family, rout->oif, hop);

		snprintf(why, len, "%s %s on %s is %s", rout->has_gateway ? "gateway" : "neighbour",
		         astr(family, hop, ab, sizeof(ab)), lout->name,
		         !any ? "not in the neighbour table"
		         : !(any->state & NETSTATE_NUD_VALID)
		             ? netstate_nud_str(any->state, st, sizeof(st))
		             : "without a link-layer address");
		return -EHOSTUNREACH;
	}
	out->in_ifindex = lin->ifindex;
	copy_name(out->in_ifname, lin->name);
	out->out_ifindex = lout->ifindex;
	copy_name(out->out_ifname, lout->name);
	memcpy(out->src_mac, lout->mac, 6);
	memcpy(out->dst_mac, n->lladdr, 6);
	return 0;
}
