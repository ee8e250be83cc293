/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Representor discovery over a snapshot: eswitch groups by phys_switch_id and the shape of
 * phys_port_name. The names are the ones the kernel's devlink port code generates
 * (__devlink_port_phys_port_name_get): "p0" for a physical port, "pf0" for a PF, "pf0vf3" for a
 * VF, "pf0sf1" for a sub-function, each optionally prefixed with "c<controller>" for an
 * external controller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft-tc-offload/netstate.h"

/* Reads a decimal number at *p; advances past it. false when there are no digits. */
static bool number(const char **p, int *out)
{
	long v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (*s - '0');
		if (v > 1000000)
			return false;
		s++;
	}
	*out = (int)v;
	*p = s;
	return true;
}

enum netstate_port_kind netstate_port_classify(const char *name, struct netstate_port *out)
{
	struct netstate_port p = {.controller = -1, .port = -1, .pf = -1, .vf = -1, .sf = -1};
	const char *s = name;

	if (!name || !*name) {
		p.kind = NETSTATE_PORT_NONE;
		goto done;
	}
	p.kind = NETSTATE_PORT_OTHER;
	if (*s == 'c') {
		s++;
		if (!number(&s, &p.controller))
			goto other;
	}
	if (s[0] == 'p' && s[1] != 'f') {
		s++;
		if (!number(&s, &p.port) || *s || p.controller >= 0)
			goto other;
		p.kind = NETSTATE_PORT_UPLINK;
		goto done;
	}
	if (strncmp(s, "pf", 2) != 0)
		goto other;
	s += 2;
	if (!number(&s, &p.pf))
		goto other;
	if (!*s) {
		p.kind = NETSTATE_PORT_PF;
		goto done;
	}
	if (strncmp(s, "vf", 2) == 0) {
		s += 2;
		if (!number(&s, &p.vf) || *s)
			goto other;
		p.kind = NETSTATE_PORT_VF;
		goto done;
	}
	if (strncmp(s, "sf", 2) == 0) {
		s += 2;
		if (!number(&s, &p.sf) || *s)
			goto other;
		p.kind = NETSTATE_PORT_SF;
		goto done;
	}
other:
	p = (struct netstate_port){.kind = NETSTATE_PORT_OTHER,
	                           .controller = -1,
	                           .port = -1,
	                           .pf = -1,
	                           .vf = -1,
	                           .sf = -1};
done:
	if (out)
		*out = p;
	return p.kind;
}

const char *netstate_port_kind_name(enum netstate_port_kind k)
{
	switch (k) {
	case NETSTATE_PORT_NONE:
		return "none";
	case NETSTATE_PORT_UPLINK:
		return "uplink";
	case NETSTATE_PORT_PF:
		return "pf";
	case NETSTATE_PORT_VF:
		return "vf";
	case NETSTATE_PORT_SF:
		return "sf";
	case NETSTATE_PORT_OTHER:
		return "other";
	}
	return "?";
}

const char *netstate_switch_id_str(const uint8_t *id, size_t len, char *buf, size_t buflen)
{
	size_t off = 0;

	if (!buflen)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < len && off + 3 <= buflen; i++)
		off += (size_t)snprintf(buf + off, buflen - off, "%02x", id[i]);
	return buf;
}

static bool same_id(const struct netstate_link *l, const uint8_t *id, size_t len)
{
	return l->switch_id_len == len && memcmp(l->switch_id, id, len) == 0;
}

void netstate_switch_groups_free(struct netstate_switch_group *g, size_t n)
{
	if (!g)
		return;
	for (size_t i = 0; i < n; i++)
		free(g[i].ifindexes);
	free(g);
}

int netstate_switch_groups(const struct netstate_snapshot *s, struct netstate_switch_group **out)
{
	struct netstate_switch_group *g = NULL;
	size_t n = 0;

	*out = NULL;
	/* links are sorted by ifindex, so groups come out by lowest ifindex and each group's
	 * members in ascending order */
	for (size_t i = 0; i < s->n_links; i++) {
		const struct netstate_link *l = &s->links[i];
		struct netstate_switch_group *grp = NULL;
		uint32_t *v;

		if (!l->switch_id_len)
			continue;
		for (size_t j = 0; j < n && !grp; j++)
			if (same_id(l, g[j].switch_id, g[j].switch_id_len))
				grp = &g[j];
		if (!grp) {
			struct netstate_switch_group *ng = realloc(g, (n + 1) * sizeof(*g));

			if (!ng)
				goto nomem;
			g = ng;
			grp = &g[n++];
			memset(grp, 0, sizeof(*grp));
			grp->switch_id_len = l->switch_id_len;
			memcpy(grp->switch_id, l->switch_id, l->switch_id_len);
		}
		v = realloc(grp->ifindexes, (grp->n + 1) * sizeof(*v));
		if (!v)
			goto nomem;
		grp->ifindexes = v;
		v[grp->n++] = l->ifindex;
	}
	*out = g;
	return (int)n;
nomem:
	netstate_switch_groups_free(g, n);
	return -ENOMEM;
}

/* The link whose switch id counts for l: a VLAN device's lower device (recursively, bounded). */
static const struct netstate_link *eswitch_port(const struct netstate_snapshot *s,
                                                const struct netstate_link *l)
{
	for (int depth = 0; l && l->is_vlan && depth < 4; depth++)
		l = netstate_link_by_index(s, l->vlan_lower);
	return l;
}

bool netstate_same_eswitch(const struct netstate_snapshot *s, const uint32_t *ifindexes, size_t n,
                           char *reason, size_t len)
{
	const struct netstate_link *first = NULL, *first_dev = NULL;
	char a[2 * NETSTATE_SWITCH_ID_MAX + 1], b[2 * NETSTATE_SWITCH_ID_MAX + 1];

	if (len)
		reason[0] = '\0';
	if (n == 0) {
		snprintf(reason, len, "no devices");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct netstate_link *dev = netstate_link_by_index(s, ifindexes[i]);
		const struct netstate_link *l = dev ? eswitch_port(s, dev) : NULL;

		if (!dev) {
			snprintf(reason, len, "ifindex %u does not exist", ifindexes[i]);
			return false;
		}
		if (!l) {
			snprintf(reason, len, "%s: its lower device (ifindex %u) does not exist",
			         dev->name, dev->vlan_lower);
			return false;
		}
		if (!l->switch_id_len) {
			if (l != dev)
				snprintf(reason, len,
				         "%s (over %s): %s has no phys_switch_id (not an eswitch "
				         "port)",
				         dev->name, l->name, l->name);
			else
				snprintf(reason, len,
				         "%s has no phys_switch_id (not an eswitch port)",
				         dev->name);
			return false;
		}
		if (!first) {
			first = l;
			first_dev = dev;
			continue;
		}
		if (!same_id(l, first->switch_id, first->switch_id_len)) {
			snprintf(
			    reason, len,
			    "%s and %s are on different eswitches (switch id %s vs %s)",
			    first_dev->name, dev->name,
			    netstate_switch_id_str(first->switch_id, first->switch_id_len, a,
			                           sizeof(a)),
			    netstate_switch_id_str(l->switch_id, l->switch_id_len, b, sizeof(b)));
			return false;
		}
	}
	return true;
}
