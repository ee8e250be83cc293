/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live half of netstate: libnl-3's cache manager over route/link, route/route and
 * route/neigh, change callbacks converted to plain data, and snapshots.
 *
 * The cache manager's event socket is non-blocking (libnl sets it so); its initial fills use
 * the manager's own synchronous socket. Receive overruns: libnl reports ENOBUFS as
 * -NLE_NOMEM; we drain what is queued, refill every cache through a socket of our own
 * (nl_cache_resync) and report one NETSTATE_CHANGE_RESYNC, as conntrackd does.
 *
 * Driver names: the ethtool ioctl (SIOCETHTOOL ETHTOOL_GDRVINFO) on a socket of this network
 * namespace answers for veth and for devices with a parent device alike (the kernel fills the
 * driver from dev->dev.parent when the driver has no get_drvinfo); sysfs
 * /sys/class/net/DEV/device/driver is the fallback. sysfs shows the namespace it was mounted
 * in, which need not be ours, so ethtool goes first. PCI ids come from
 * /sys/bus/pci/devices/<bus_info>/{vendor,device} (namespace independent), else from
 * /sys/class/net/DEV/device/{vendor,device}. The result is cached per (ifindex, name).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/ethtool.h>
#include <linux/neighbour.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "nft-tc-offload/netstate.h"

#define DEFAULT_RCVBUF (4u << 20)

_Static_assert(sizeof(((struct ethtool_drvinfo *)0)->driver) == NETSTATE_DRIVER_MAX,
               "driver name size");
_Static_assert(sizeof(((struct ethtool_drvinfo *)0)->bus_info) == NETSTATE_BUSINFO_MAX,
               "bus_info size");

struct drvinfo {
	uint32_t ifindex;
	char name[IFNAMSIZ];
	char driver[NETSTATE_DRIVER_MAX];
	char bus_info[NETSTATE_BUSINFO_MAX];
	bool has_pci_id;
	uint16_t vendor, device;
};

struct netstate {
	struct netstate_opts opts;
	struct nl_sock *syncsock; /* resyncs after overruns */
	struct nl_cache_mngr *mngr;
	struct nl_cache *links, *routes, *neighs;
	int ioctl_fd; /* AF_UNIX datagram socket for SIOCETHTOOL */
	struct drvinfo *drv;
	size_t n_drv;
	int changes_now; /* changes reported by the current netstate_process() */
	struct netstate_stats stats;
};

static int nlerr(int e)
{
	switch (e < 0 ? -e : e) {
	case 0:
		return 0;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_DUMP_INTR:
		return -EINTR;
	default:
		return -EIO;
	}
}

/* ---- plain-data conversion ---- */

static void copy_addr(int family, union tc_addr *dst, struct nl_addr *a, uint8_t *len_out)
{
	size_t want = family == AF_INET ? 4 : 16;

	memset(dst, 0, sizeof(*dst));
	if (len_out)
		*len_out = 0;
	if (!a)
		return;
	if (nl_addr_get_len(a) >= want)
		memcpy(dst, nl_addr_get_binary_addr(a), want);
	if (len_out)
		*len_out = (uint8_t)nl_addr_get_prefixlen(a);
}

static void clear_host_bits(int family, union tc_addr *a, unsigned len)
{
	uint8_t *p = (uint8_t *)a;
	unsigned width = family == AF_INET ? 32 : 128;

	for (unsigned b = len; b < width; b++)
		p[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
}

static void link_from_nl(struct rtnl_link *l, struct netstate_link *out)
{
	struct nl_addr *a = rtnl_link_get_addr(l);
	struct nl_data *sid = rtnl_link_get_phys_switch_id(l);
	const char *s;
	unsigned flags = rtnl_link_get_flags(l);

	memset(out, 0, sizeof(*out));
	out->ifindex = (uint32_t)rtnl_link_get_ifindex(l);
	s = rtnl_link_get_name(l);
	snprintf(out->name, sizeof(out->name), "%s", s ? s : "");
	out->arptype = (uint16_t)rtnl_link_get_arptype(l);
	if (a && nl_addr_get_len(a) == 6) {
		out->has_mac = true;
		memcpy(out->mac, nl_addr_get_binary_addr(a), 6);
	}
	out->mtu = rtnl_link_get_mtu(l);
	out->up = (flags & IFF_UP) != 0;
	out->running = (flags & IFF_RUNNING) != 0;
	s = rtnl_link_get_type(l);
	snprintf(out->kind, sizeof(out->kind), "%s", s ? s : "");
	out->master = (uint32_t)rtnl_link_get_master(l);
	out->link = (uint32_t)rtnl_link_get_link(l);
	if (rtnl_link_is_vlan(l)) {
		out->is_vlan = true;
		out->vlan_id = (uint16_t)rtnl_link_vlan_get_id(l);
		out->vlan_lower = out->link;
	}
	if (sid && nl_data_get_size(sid) > 0) {
		size_t n = nl_data_get_size(sid);

		if (n > NETSTATE_SWITCH_ID_MAX)
			n = NETSTATE_SWITCH_ID_MAX;
		out->switch_id_len = (uint8_t)n;
		memcpy(out->switch_id, nl_data_get(sid), n);
	}
	s = rtnl_link_get_phys_port_name(l);
	snprintf(out->port_name, sizeof(out->port_name), "%s", s ? s : "");
}

/* false when the route is outside the snapshot's scope */
static bool route_from_nl(struct rtnl_route *r, struct netstate_route *out)
{
	int family = rtnl_route_get_family(r);
	int nnh = rtnl_route_get_nnexthops(r);

	memset(out, 0, sizeof(*out));
	if (family != AF_INET && family != AF_INET6)
		return false;
	out->family = family;
	out->table = rtnl_route_get_table(r);
	if (out->table != NETSTATE_TABLE_MAIN && out->table != NETSTATE_TABLE_LOCAL)
		return false;
	out->type = rtnl_route_get_type(r);
	out->protocol = rtnl_route_get_protocol(r);
	out->scope = rtnl_route_get_scope(r);
	out->priority = rtnl_route_get_priority(r);
	copy_addr(family, &out->dst, rtnl_route_get_dst(r), &out->dst_len);
	clear_host_bits(family, &out->dst, out->dst_len);
	if (nnh == 1) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
		struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);

		if (rtnl_route_nh_get_via(nh)) {
			out->multipath = true; /* a gateway of the other family: not resolved */
			return true;
		}
		out->oif = (uint32_t)rtnl_route_nh_get_ifindex(nh);
		if (gw && nl_addr_get_family(gw) == family) {
			out->has_gateway = true;
			copy_addr(family, &out->gateway, gw, NULL);
		}
	} else if (nnh > 1) {
		out->multipath = true;
	} else if (out->type == NETSTATE_RTN_UNICAST) {
		out->multipath = true; /* a nexthop object, or no device: not resolved here */
	}
	return true;
}

static bool neigh_from_nl(struct rtnl_neigh *n, struct netstate_neigh *out)
{
	int family = rtnl_neigh_get_family(n);
	struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
	int state = rtnl_neigh_get_state(n);

	memset(out, 0, sizeof(*out));
	if (family != AF_INET && family != AF_INET6)
		return false;
	out->family = family;
	out->ifindex = (uint32_t)rtnl_neigh_get_ifindex(n);
	copy_addr(family, &out->addr, rtnl_neigh_get_dst(n), NULL);
	if (ll && nl_addr_get_len(ll) == 6) {
		out->has_lladdr = true;
		memcpy(out->lladdr, nl_addr_get_binary_addr(ll), 6);
	}
	out->state = state < 0 ? 0 : (uint16_t)state;
	out->flags = (uint8_t)rtnl_neigh_get_flags(n);
	out->valid = (out->state & NETSTATE_NUD_VALID) != 0;
	return true;
}

/* A bridge's FDB entry for one of its ports; false for anything else (IP neighbours, a
 * device's own "self" entries, entries of the bridge device itself). */
static bool fdb_from_nl(struct rtnl_neigh *n, struct netstate_fdb *out)
{
	struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
	int state = rtnl_neigh_get_state(n);
	int vlan = rtnl_neigh_get_vlan(n);

	memset(out, 0, sizeof(*out));
	if (rtnl_neigh_get_family(n) != AF_BRIDGE || !ll || nl_addr_get_len(ll) != 6)
		return false;
	out->ifindex = (uint32_t)rtnl_neigh_get_ifindex(n);
	out->master = (uint32_t)rtnl_neigh_get_master(n);
	out->flags = (uint8_t)rtnl_neigh_get_flags(n);
	if (!out->master || out->master == out->ifindex || (out->flags & NTF_SELF))
		return false;
	memcpy(out->mac, nl_addr_get_binary_addr(ll), 6);
	out->vlan = vlan > 0 ? (uint16_t)vlan : 0;
	out->state = state < 0 ? 0 : (uint16_t)state;
	return true;
}

/* ---- driver info ---- */

static bool read_hex_file(const char *path, uint16_t *out)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	*out = (uint16_t)strtoul(buf, NULL, 16);
	return true;
}

static bool is_pci_addr(const char *s)
{
	unsigned a, b, c, d;
	char tail;

	return sscanf(s, "%x:%x:%x.%x%c", &a, &b, &c, &d, &tail) == 4;
}

static void drvinfo_fill(struct netstate *ns, struct drvinfo *d)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	if (ns->ioctl_fd >= 0) {
		struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
		struct ifreq ifr;

		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->name);
		ifr.ifr_data = (void *)&info;
		if (ioctl(ns->ioctl_fd, SIOCETHTOOL, &ifr) == 0) {
			info.driver[sizeof(info.driver) - 1] = '\0';
			info.bus_info[sizeof(info.bus_info) - 1] = '\0';
			memcpy(d->driver, info.driver, sizeof(d->driver));
			memcpy(d->bus_info, info.bus_info, sizeof(d->bus_info));
		}
	}
	if (!d->driver[0]) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/device/driver", d->name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			snprintf(d->driver, sizeof(d->driver), "%s", basename(target));
		}
	}
	if (d->bus_info[0] && is_pci_addr(d->bus_info)) {
		char vpath[PATH_MAX];

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", d->bus_info);
		snprintf(vpath, sizeof(vpath), "/sys/bus/pci/devices/%s/vendor", d->bus_info);
		d->has_pci_id = read_hex_file(vpath, &d->vendor) && read_hex_file(path, &d->device);
	}
	if (!d->has_pci_id) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/device/subsystem", d->name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (strcmp(basename(target), "pci") == 0) {
				char vpath[PATH_MAX];

				snprintf(vpath, sizeof(vpath), "/sys/class/net/%s/device/vendor",
				         d->name);
				snprintf(path, sizeof(path), "/sys/class/net/%s/device/device",
				         d->name);
				d->has_pci_id = read_hex_file(vpath, &d->vendor) &&
				                read_hex_file(path, &d->device);
			}
		}
	}
}

static const struct drvinfo *drvinfo_get(struct netstate *ns, const struct netstate_link *l)
{
	struct drvinfo *d;

	for (size_t i = 0; i < ns->n_drv; i++)
		if (ns->drv[i].ifindex == l->ifindex && strcmp(ns->drv[i].name, l->name) == 0)
			return &ns->drv[i];
	d = realloc(ns->drv, (ns->n_drv + 1) * sizeof(*d));
	if (!d)
		return NULL;
	ns->drv = d;
	d = &ns->drv[ns->n_drv];
	memset(d, 0, sizeof(*d));
	d->ifindex = l->ifindex;
	snprintf(d->name, sizeof(d->name), "%s", l->name);
	drvinfo_fill(ns, d);
	/* only cache once the entry is complete (a failed fill is retried next time) */
	ns->n_drv++;
	return d;
}

static void drvinfo_forget(struct netstate *ns, uint32_t ifindex)
{
	for (size_t i = 0; i < ns->n_drv;) {
		if (ns->drv[i].ifindex == ifindex)
			ns->drv[i] = ns->drv[--ns->n_drv];
		else
			i++;
	}
}

static void link_set_drvinfo(struct netstate_link *l, const struct drvinfo *d)
{
	if (!d)
		return;
	memcpy(l->driver, d->driver, sizeof(l->driver));
	memcpy(l->bus_info, d->bus_info, sizeof(l->bus_info));
	l->has_pci_id = d->has_pci_id;
	l->pci_vendor = d->vendor;
	l->pci_device = d->device;
}

static void link_add_drvinfo(struct netstate *ns, struct netstate_link *l)
{
	link_set_drvinfo(l, drvinfo_get(ns, l));
}

/* Only what is cached already (no ioctl for a link that may be gone). */
static void link_peek_drvinfo(struct netstate *ns, struct netstate_link *l)
{
	for (size_t i = 0; i < ns->n_drv; i++)
		if (ns->drv[i].ifindex == l->ifindex && strcmp(ns->drv[i].name, l->name) == 0)
			link_set_drvinfo(l, &ns->drv[i]);
}

/* ---- change callbacks ---- */

static void report(struct netstate *ns, const struct netstate_change *c)
{
	ns->stats.changes++;
	ns->changes_now++;
	if (ns->opts.change)
		ns->opts.change(ns->opts.ctx, c);
}

/*
 * Whether a link object is a device of its own. A bridge announces its ports (and itself)
 * with sparse RTM_NEWLINK messages of family AF_BRIDGE (port state, VLANs: no IFLA_LINKINFO);
 * libnl keys links by (ifindex, family), so for a port those become a second object with the
 * same ifindex and no kind, which a snapshot must not mix with the port's own (AF_UNSPEC)
 * object. libnl files a bridge device itself under AF_BRIDGE (from its kind), so objects
 * with a kind stay.
 */
static bool link_is_device(struct rtnl_link *l)
{
	return rtnl_link_get_family(l) == AF_UNSPEC || rtnl_link_get_type(l) != NULL;
}

static enum netstate_action action_of(int act)
{
	switch (act) {
	case NL_ACT_NEW:
		return NETSTATE_ADDED;
	case NL_ACT_DEL:
		return NETSTATE_REMOVED;
	default:
		return NETSTATE_CHANGED;
	}
}

static void on_change(struct nl_cache *cache, struct nl_object *old_obj, struct nl_object *new_obj,
                      uint64_t diff, int act, void *data)
{
	struct netstate *ns = data;
	struct netstate_change c;
	bool have_old = false, have_new = false;

	memset(&c, 0, sizeof(c));
	c.action = action_of(act);
	if (cache == ns->links &&
	    !link_is_device((struct rtnl_link *)(new_obj ? new_obj : old_obj)))
		return;
	if (cache == ns->links) {
		c.object = NETSTATE_CHANGE_LINK;
		if (old_obj) {
			link_from_nl((struct rtnl_link *)old_obj, &c.old.link);
			have_old = true;
		}
		if (new_obj) {
			link_from_nl((struct rtnl_link *)new_obj, &c.new.link);
			have_new = true;
		}
		/* driver info is cached per (ifindex, name): drop it for removed or renamed
		 * links, then fill it for the new state */
		if (have_old)
			link_peek_drvinfo(ns, &c.old.link);
		if (have_old && (!have_new || strcmp(c.old.link.name, c.new.link.name) != 0))
			drvinfo_forget(ns, c.old.link.ifindex);
		if (have_new)
			link_add_drvinfo(ns, &c.new.link);
	} else if (cache == ns->routes) {
		c.object = NETSTATE_CHANGE_ROUTE;
		if (old_obj)
			have_old = route_from_nl((struct rtnl_route *)old_obj, &c.old.route);
		if (new_obj)
			have_new = route_from_nl((struct rtnl_route *)new_obj, &c.new.route);
	} else if (cache == ns->neighs &&
	           rtnl_neigh_get_family((struct rtnl_neigh *)(new_obj ? new_obj : old_obj)) ==
	               AF_BRIDGE) {
		c.object = NETSTATE_CHANGE_FDB;
		if (old_obj)
			have_old = fdb_from_nl((struct rtnl_neigh *)old_obj, &c.old.fdb);
		if (new_obj)
			have_new = fdb_from_nl((struct rtnl_neigh *)new_obj, &c.new.fdb);
	} else if (cache == ns->neighs) {
		c.object = NETSTATE_CHANGE_NEIGH;
		if (old_obj)
			have_old = neigh_from_nl((struct rtnl_neigh *)old_obj, &c.old.neigh);
		if (new_obj)
			have_new = neigh_from_nl((struct rtnl_neigh *)new_obj, &c.new.neigh);
	} else {
		return;
	}
	if (!have_old && !have_new)
		return; /* out of scope (other table, bridge FDB, ...) */
	if (c.action == NETSTATE_CHANGED && (!have_old || !have_new))
		c.action = have_new ? NETSTATE_ADDED : NETSTATE_REMOVED;
	report(ns, &c);
}

/* ---- open / close ---- */

static int set_rcvbuf(int fd, size_t bytes)
{
	int v = bytes > INT_MAX ? INT_MAX : (int)bytes;

	if (fd < 0)
		return -EBADF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0)
		return 0;
	return -errno;
}

static int add_cache(struct netstate *ns, const char *name, struct nl_cache **out)
{
	struct nl_cache *c;
	int err = nl_cache_alloc_name(name, &c);

	if (err < 0)
		return nlerr(err);
	err = nl_cache_mngr_add_cache_v2(ns->mngr, c, on_change, ns);
	if (err < 0) {
		nl_cache_free(c);
		return nlerr(err);
	}
	*out = c;
	return 0;
}

/*
 * The bridge FDB into the neighbour cache. The route/neigh cache's own dump (AF_UNSPEC)
 * reaches the kernel's neighbour tables only (neigh_dump_info answers it, not the bridge's
 * rtnl_fdb_dump), while RTNLGRP_NEIGH events carry FDB changes too and land in that cache.
 * So the FDB is dumped once through a separate AF_BRIDGE cache and its entries are merged into
 * the neighbour cache (no change callbacks), at open and after every resync (whose AF_UNSPEC
 * dump drops them). A cache manager takes one cache per kind, hence the merge.
 */
static int fill_fdb(struct netstate *ns)
{
	struct nl_cache *fdb;
	struct nl_object *o, *next;
	int err = nl_cache_alloc_name("route/neigh", &fdb);

	if (err < 0)
		return nlerr(err);
	nl_cache_set_arg1(fdb, AF_BRIDGE);
	err = nl_cache_refill(ns->syncsock, fdb);
	/* nl_cache_include() moves a new object out of fdb: take the next one first */
	for (o = nl_cache_get_first(fdb); o && err >= 0; o = next) {
		next = nl_cache_get_next(o);
		err = nl_cache_include(ns->neighs, o, NULL, NULL);
	}
	nl_cache_free(fdb);
	return err < 0 ? nlerr(err) : 0;
}

int netstate_open(struct netstate **out, const struct netstate_opts *o)
{
	struct netstate *ns = calloc(1, sizeof(*ns));
	int rc;

	*out = NULL;
	if (!ns)
		return -ENOMEM;
	if (o)
		ns->opts = *o;
	ns->ioctl_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ns->syncsock = nl_socket_alloc();
	if (!ns->syncsock) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = nlerr(nl_connect(ns->syncsock, NETLINK_ROUTE));
	if (rc)
		goto fail;
	/* the manager allocates (and frees) its own event socket */
	rc = nlerr(nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, 0, &ns->mngr));
	if (rc)
		goto fail;
	/* best effort: a small buffer still works, overruns are resynced */
	(void)set_rcvbuf(nl_cache_mngr_get_fd(ns->mngr),
	                 ns->opts.rcvbuf ? ns->opts.rcvbuf : DEFAULT_RCVBUF);
	/* The initial fills report nothing: the caller starts from a snapshot. */
	{
		netstate_change_fn fn = ns->opts.change;

		ns->opts.change = NULL;
		rc = add_cache(ns, "route/link", &ns->links);
		if (!rc)
			rc = add_cache(ns, "route/route", &ns->routes);
		if (!rc)
			rc = add_cache(ns, "route/neigh", &ns->neighs);
		if (!rc)
			rc = fill_fdb(ns);
		ns->opts.change = fn;
	}
	if (rc)
		goto fail;
	ns->stats.changes = 0;
	*out = ns;
	return 0;
fail:
	netstate_close(ns);
	return rc;
}

void netstate_close(struct netstate *ns)
{
	if (!ns)
		return;
	if (ns->mngr)
		nl_cache_mngr_free(ns->mngr); /* frees the caches it holds */
	if (ns->syncsock)
		nl_socket_free(ns->syncsock);
	if (ns->ioctl_fd >= 0)
		close(ns->ioctl_fd);
	free(ns->drv);
	free(ns);
}

int netstate_fd(const struct netstate *ns)
{
	return nl_cache_mngr_get_fd(ns->mngr);
}

const struct netstate_stats *netstate_stats(const struct netstate *ns)
{
	return &ns->stats;
}

static int resync(struct netstate *ns)
{
	struct nl_cache *caches[3] = {ns->links, ns->routes, ns->neighs};
	struct netstate_change c = {.object = NETSTATE_CHANGE_RESYNC, .action = NETSTATE_CHANGED};

	/* drain what is still queued, so no stale event lands after the dumps */
	for (int i = 0; i < 64 && nl_cache_mngr_data_ready(ns->mngr) == -NLE_NOMEM; i++)
		;
	for (int i = 0; i < 3; i++) {
		int err = nl_cache_resync(ns->syncsock, caches[i], NULL, NULL);

		if (err < 0)
			return nlerr(err);
	}
	{
		int rc = fill_fdb(ns);

		if (rc)
			return rc;
	}
	ns->n_drv = 0; /* any link may have been replaced meanwhile */
	ns->stats.resyncs++;
	report(ns, &c);
	return 0;
}

int netstate_process(struct netstate *ns)
{
	int err;

	ns->changes_now = 0;
	err = nl_cache_mngr_data_ready(ns->mngr);
	if (err == -NLE_NOMEM) {
		/* libnl maps ENOBUFS (events lost) to NLE_NOMEM */
		int rc = resync(ns);

		if (rc)
			return rc;
	} else if (err < 0 && err != -NLE_AGAIN) {
		return nlerr(err);
	}
	return ns->changes_now;
}

/* ---- snapshots ---- */

struct grow {
	void *v;
	size_t n, cap, size;
};

static void *grow_push(struct grow *g)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 32;
		void *v = realloc(g->v, cap * g->size);

		if (!v)
			return NULL;
		g->v = v;
		g->cap = cap;
	}
	return (char *)g->v + g->n++ * g->size;
}

int netstate_snapshot(struct netstate *ns, struct netstate_snapshot *out)
{
	struct grow gl = {.size = sizeof(struct netstate_link)};
	struct grow gr = {.size = sizeof(struct netstate_route)};
	struct grow gn = {.size = sizeof(struct netstate_neigh)};
	struct grow gf = {.size = sizeof(struct netstate_fdb)};
	struct nl_object *o;

	memset(out, 0, sizeof(*out));
	for (o = nl_cache_get_first(ns->links); o; o = nl_cache_get_next(o)) {
		struct netstate_link *l;

		if (!link_is_device((struct rtnl_link *)o))
			continue;
		l = grow_push(&gl);
		if (!l)
			goto nomem;
		link_from_nl((struct rtnl_link *)o, l);
		link_add_drvinfo(ns, l);
	}
	for (o = nl_cache_get_first(ns->routes); o; o = nl_cache_get_next(o)) {
		struct netstate_route *r = grow_push(&gr);

		if (!r)
			goto nomem;
		if (!route_from_nl((struct rtnl_route *)o, r))
			gr.n--;
	}
	for (o = nl_cache_get_first(ns->neighs); o; o = nl_cache_get_next(o)) {
		struct netstate_neigh *n;

		if (rtnl_neigh_get_family((struct rtnl_neigh *)o) == AF_BRIDGE) {
			struct netstate_fdb *f = grow_push(&gf);

			if (!f)
				goto nomem;
			if (!fdb_from_nl((struct rtnl_neigh *)o, f))
				gf.n--;
			continue;
		}
		n = grow_push(&gn);
		if (!n)
			goto nomem;
		if (!neigh_from_nl((struct rtnl_neigh *)o, n) ||
		    (n->flags & NTF_PROXY)) /* proxy entries answer for others: not nexthops */
			gn.n--;
	}
	out->links = gl.v;
	out->n_links = gl.n;
	out->routes = gr.v;
	out->n_routes = gr.n;
	out->neighs = gn.v;
	out->n_neighs = gn.n;
	out->fdbs = gf.v;
	out->n_fdbs = gf.n;
	netstate_snapshot_sort(out);
	return 0;
nomem:
	free(gl.v);
	free(gr.v);
	free(gn.v);
	free(gf.v);
	return -ENOMEM;
}
