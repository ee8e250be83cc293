/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Network state: the links, routes and neighbours of the current network namespace, kept up to
 * date by libnl's cache manager, and handed out as plain-data snapshots.
 *
 * Two halves:
 *  - struct netstate (netstate.c): owns a libnl cache manager with the route/link, route/route
 *    and route/neigh caches. Non-blocking: netstate_fd() goes into the daemon's epoll loop and
 *    netstate_process() is called when it is readable; it calls the change callback once per
 *    changed object (with the object before and after, as plain data). A receive overrun
 *    (ENOBUFS) refills every cache and reports one NETSTATE_CHANGE_RESYNC instead.
 *  - struct netstate_snapshot (snapshot.c, representor.c): plain data, no libnl types, owning
 *    its arrays. Everything that reads it is pure, so the forwarding builders and their tests
 *    work on hand-built snapshots.
 *
 * Snapshot contents:
 *  - links: every link, sorted by ifindex.
 *  - routes: the main table (every type: unicast, blackhole, unreachable, ...) and the local
 *    table (the host's own addresses, broadcast, multicast), sorted by (family, table, prefix).
 *    Consumers that forward use main-table unicast routes; the others say where a more
 *    specific route must NOT be forwarded by a broader rule (see ctfwd.h). Multipath routes
 *    are kept with multipath set and no nexthop (oif 0); so are routes whose nexthop this
 *    module does not resolve (RTA_VIA, nexthop objects).
 *  - neighbours: IPv4 and IPv6, sorted by (family, ifindex, address).
 *  - fdbs: the bridge forwarding databases (AF_BRIDGE neighbours that a bridge holds for its
 *    ports: NDA_MASTER set, not on the bridge device itself; a device's own "self" entries are
 *    left out), sorted by (bridge, MAC, VLAN, port).
 *
 * No global state; the module is not thread-safe (one struct netstate per thread). Errors are
 * negative errno values.
 */
#ifndef NFT_TC_OFFLOAD_NETSTATE_H
#define NFT_TC_OFFLOAD_NETSTATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/rule.h" /* union tc_addr */

#define NETSTATE_KIND_MAX      16 /* IFLA_INFO_KIND: "veth", "vlan", "bridge", ... */
#define NETSTATE_DRIVER_MAX    32 /* ethtool's driver field */
#define NETSTATE_BUSINFO_MAX   32 /* ethtool's bus_info field: "0000:03:00.0" */
#define NETSTATE_SWITCH_ID_MAX 32 /* MAX_PHYS_ITEM_ID_LEN */
#define NETSTATE_PORTNAME_MAX  IFNAMSIZ

/* Table ids and route types as the kernel numbers them (RT_TABLE_*, RTN_*). */
#define NETSTATE_TABLE_MAIN  254
#define NETSTATE_TABLE_LOCAL 255
#define NETSTATE_RTN_UNICAST 1
#define NETSTATE_RTN_LOCAL   2

/* NUD_* states of the kernel, and NUD_VALID (include/net/neighbour.h). */
enum netstate_nud {
	NETSTATE_NUD_INCOMPLETE = 0x01,
	NETSTATE_NUD_REACHABLE = 0x02,
	NETSTATE_NUD_STALE = 0x04,
	NETSTATE_NUD_DELAY = 0x08,
	NETSTATE_NUD_PROBE = 0x10,
	NETSTATE_NUD_FAILED = 0x20,
	NETSTATE_NUD_NOARP = 0x40,
	NETSTATE_NUD_PERMANENT = 0x80,
};
#define NETSTATE_NUD_VALID                                                                         \
	(NETSTATE_NUD_PERMANENT | NETSTATE_NUD_NOARP | NETSTATE_NUD_REACHABLE |                    \
	 NETSTATE_NUD_PROBE | NETSTATE_NUD_STALE | NETSTATE_NUD_DELAY)

struct netstate_link {
	uint32_t ifindex;
	char name[IFNAMSIZ];
	uint16_t arptype; /* ARPHRD_*: 1 = Ethernet */
	bool has_mac;     /* a 6-byte link-layer address */
	uint8_t mac[6];
	uint32_t mtu;
	bool up;                      /* IFF_UP */
	bool running;                 /* IFF_RUNNING (carrier, operationally up) */
	char kind[NETSTATE_KIND_MAX]; /* "" for devices without IFLA_INFO_KIND (physical) */
	uint32_t master;              /* bridge / bond it is enslaved to, 0 = none */
	uint32_t link;                /* IFLA_LINK: lower device (VLAN) or veth peer, 0 = none */
	bool is_vlan;
	uint16_t vlan_id;      /* with is_vlan */
	uint32_t vlan_lower;   /* with is_vlan: the lower device */
	uint8_t switch_id_len; /* IFLA_PHYS_SWITCH_ID, 0 = none */
	uint8_t switch_id[NETSTATE_SWITCH_ID_MAX];
	char port_name[NETSTATE_PORTNAME_MAX]; /* IFLA_PHYS_PORT_NAME, "" = none */
	char driver[NETSTATE_DRIVER_MAX];      /* "" when unknown (lo, some virtual devices) */
	char bus_info[NETSTATE_BUSINFO_MAX];   /* ethtool bus_info, "" when none */
	bool has_pci_id;
	uint16_t pci_vendor, pci_device;
};

struct netstate_route {
	int family; /* AF_INET / AF_INET6 */
	uint32_t table;
	uint8_t type;     /* RTN_*: NETSTATE_RTN_UNICAST for forwarding routes */
	uint8_t protocol; /* RTPROT_* (kernel, boot, static, ...) */
	uint8_t scope;
	union tc_addr dst; /* network order, host bits cleared */
	uint8_t dst_len;
	bool has_gateway;
	union tc_addr gateway;
	uint32_t oif;      /* 0 for multipath and for routes without a device */
	uint32_t priority; /* metric */
	bool multipath;    /* several nexthops: not resolved here */
};

struct netstate_neigh {
	int family; /* AF_INET / AF_INET6 */
	uint32_t ifindex;
	union tc_addr addr;
	bool has_lladdr;
	uint8_t lladdr[6];
	uint16_t state; /* enum netstate_nud bits */
	bool valid;     /* state & NUD_VALID, as the kernel's neigh_valid() */
	uint8_t flags;  /* NTF_* (router, ...) */
};

/* One bridge FDB entry: frames for mac (in VLAN vlan, 0 = none) leave bridge master through
 * port ifindex. */
struct netstate_fdb {
	uint32_t ifindex; /* the bridge port */
	uint32_t master;  /* the bridge */
	uint8_t mac[6];
	uint16_t vlan;  /* 0 = no VLAN (a bridge without vlan_filtering) */
	uint16_t state; /* NUD_PERMANENT: local (the port's own address), NUD_NOARP: static,
	                   NUD_REACHABLE / NUD_STALE: learned (STALE: aged, not yet removed) */
	uint8_t flags;  /* NTF_* (NTF_EXT_LEARNED, NTF_OFFLOADED, ...) */
};

/* Plain data. netstate_snapshot() fills one with malloc'ed arrays (free it with
 * netstate_snapshot_free()); tests may point the arrays at their own storage. Arrays must be
 * sorted as described above for the lookups to work (netstate_snapshot_sort() does it). */
struct netstate_snapshot {
	struct netstate_link *links;
	size_t n_links;
	struct netstate_route *routes;
	size_t n_routes;
	struct netstate_neigh *neighs;
	size_t n_neighs;
	struct netstate_fdb *fdbs;
	size_t n_fdbs;
};

void netstate_snapshot_free(struct netstate_snapshot *s);
/* Sorts the arrays in place (links by ifindex, the others as above). */
void netstate_snapshot_sort(struct netstate_snapshot *s);
/* Deep copy (malloc'ed arrays). 0 or -ENOMEM. */
int netstate_snapshot_copy(struct netstate_snapshot *dst, const struct netstate_snapshot *src);
/* Whether two sorted snapshots forward alike: equal but for the neighbours' NUD states (only
 * valid or not counts), the FDB's learned entries ageing (REACHABLE / STALE) and NTF_* flags. */
bool netstate_snapshot_fwd_equal(const struct netstate_snapshot *a,
                                 const struct netstate_snapshot *b);

/* ---- lookups (pure) ---- */

const struct netstate_link *netstate_link_by_index(const struct netstate_snapshot *s,
                                                   uint32_t ifindex);
const struct netstate_link *netstate_link_by_name(const struct netstate_snapshot *s,
                                                  const char *name);

/*
 * The route the kernel's FIB would choose for addr (family AF_INET/AF_INET6), policy rules
 * aside: the local table first, then the main table; longest prefix, then lowest metric.
 * Returns any route type (check route->type: only unicast routes forward); NULL when no route
 * covers addr.
 */
const struct netstate_route *netstate_route_lookup(const struct netstate_snapshot *s, int family,
                                                   const union tc_addr *addr);

/* The neighbour entry for (ifindex, addr) when it is valid (NUD_VALID with an lladdr), else
 * NULL. netstate_neigh_find() returns it in any state. */
const struct netstate_neigh *netstate_neigh_lookup(const struct netstate_snapshot *s, int family,
                                                   uint32_t ifindex, const union tc_addr *addr);
const struct netstate_neigh *netstate_neigh_find(const struct netstate_snapshot *s, int family,
                                                 uint32_t ifindex, const union tc_addr *addr);

/* The FDB entry of bridge master for (mac, vlan), or NULL. */
const struct netstate_fdb *netstate_fdb_lookup(const struct netstate_snapshot *s, uint32_t master,
                                               const uint8_t mac[6], uint16_t vlan);

/* Whether addr lies in prefix/len (family's width). */
bool netstate_prefix_contains(int family, const union tc_addr *prefix, unsigned len,
                              const union tc_addr *addr);

/* "REACHABLE", "STALE|NOARP", ... for a NUD state (buf of len bytes; returns buf). */
const char *netstate_nud_str(uint16_t state, char *buf, size_t len);

/* ---- representors (pure) ---- */

enum netstate_port_kind {
	NETSTATE_PORT_NONE = 0, /* no phys_port_name */
	NETSTATE_PORT_UPLINK,   /* "p0": the physical port (uplink representor) */
	NETSTATE_PORT_PF,       /* "pf0": a PF representor */
	NETSTATE_PORT_VF,       /* "pf0vf3": a VF representor */
	NETSTATE_PORT_SF,       /* "pf0sf1": a sub-function representor */
	NETSTATE_PORT_OTHER,    /* a name of another shape */
};

struct netstate_port {
	enum netstate_port_kind kind;
	int controller; /* "c1pf0vf3": 1; -1 when the name has no controller part */
	int port;       /* uplink: p<port> */
	int pf;         /* pf / vf / sf: pf<pf> */
	int vf;         /* vf: vf<vf> */
	int sf;         /* sf: sf<sf> */
};

/* Classifies a phys_port_name (NULL or "" gives NETSTATE_PORT_NONE). */
enum netstate_port_kind netstate_port_classify(const char *phys_port_name,
                                               struct netstate_port *out);
const char *netstate_port_kind_name(enum netstate_port_kind k);

/* Links sharing one phys_switch_id (one eswitch), ifindexes in ascending order. */
struct netstate_switch_group {
	uint8_t switch_id_len;
	uint8_t switch_id[NETSTATE_SWITCH_ID_MAX];
	uint32_t *ifindexes;
	size_t n;
};

/* Groups the snapshot's links by phys_switch_id (links without one are left out). Returns the
 * number of groups (>= 0) with *out malloc'ed (free with netstate_switch_groups_free), or
 * -ENOMEM. Groups are in order of their lowest ifindex. */
int netstate_switch_groups(const struct netstate_snapshot *s, struct netstate_switch_group **out);
void netstate_switch_groups_free(struct netstate_switch_group *g, size_t n);

/*
 * Whether every device (by ifindex) sits on one eswitch: all exist and carry the same
 * phys_switch_id. A VLAN device counts as its lower device. Returns true, or false with the
 * reason in reason (len bytes), e.g. "rt-cli has no phys_switch_id (not an eswitch port)".
 */
bool netstate_same_eswitch(const struct netstate_snapshot *s, const uint32_t *ifindexes, size_t n,
                           char *reason, size_t len);

/* Formats a switch id as hex ("00154d123456"). Returns buf. */
const char *netstate_switch_id_str(const uint8_t *id, size_t len, char *buf, size_t buflen);

/* ---- the live module (libnl cache manager) ---- */

enum netstate_object {
	NETSTATE_CHANGE_LINK = 1,
	NETSTATE_CHANGE_ROUTE,
	NETSTATE_CHANGE_NEIGH,
	NETSTATE_CHANGE_RESYNC, /* the caches were refilled after an overrun: assume anything
	                           changed */
	NETSTATE_CHANGE_FDB,    /* a bridge FDB entry (a MAC learned, moved, aged out) */
};

enum netstate_action {
	NETSTATE_ADDED = 1,
	NETSTATE_REMOVED,
	NETSTATE_CHANGED,
};

/* One change. old is valid for REMOVED and CHANGED, new for ADDED and CHANGED (by object:
 * .link, .route, .neigh or .fdb). Routes and neighbours outside the snapshot's scope (other
 * tables, a device's own "self" FDB entries) are not reported. */
struct netstate_change {
	enum netstate_object object;
	enum netstate_action action;
	union {
		struct netstate_link link;
		struct netstate_route route;
		struct netstate_neigh neigh;
		struct netstate_fdb fdb;
	} old, new;
};

typedef void (*netstate_change_fn)(void *ctx, const struct netstate_change *c);

struct netstate;

struct netstate_opts {
	netstate_change_fn change; /* may be NULL */
	void *ctx;
	size_t rcvbuf; /* event socket receive buffer; 0 = 4 MiB (SO_RCVBUFFORCE falls back) */
};

/*
 * Opens the caches and fills them (blocking dumps, done once), then listens for changes.
 * o may be NULL. Returns 0 or a negative errno.
 */
int netstate_open(struct netstate **out, const struct netstate_opts *o);
void netstate_close(struct netstate *ns);

/* The fd to poll for readability (non-blocking). */
int netstate_fd(const struct netstate *ns);

/* Reads every queued event and applies it to the caches, calling the change callback. Returns
 * the number of changes reported (>= 0), or a negative errno. An overrun is handled (resync)
 * and not an error. */
int netstate_process(struct netstate *ns);

/* Counters since open. */
struct netstate_stats {
	uint64_t changes; /* change callbacks made */
	uint64_t resyncs; /* refills after receive overruns */
};
const struct netstate_stats *netstate_stats(const struct netstate *ns);

/* Copies the caches into a plain-data snapshot (driver info from ethtool / sysfs, cached per
 * link). 0 or a negative errno; free it with netstate_snapshot_free(). */
int netstate_snapshot(struct netstate *ns, struct netstate_snapshot *out);

#endif /* NFT_TC_OFFLOAD_NETSTATE_H */
