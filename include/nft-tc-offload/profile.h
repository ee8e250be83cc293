/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hardware profiles: what one family of NICs (or the software tc datapath) can take, as plain
 * data loaded from INI files (profiles/NAME.conf, documented in docs/profiles.md).
 *
 * A profile says which devices it is for (kernel driver, PCI ids, interface name globs), which
 * offload strategy drives them (ct: act_ct chains; flow: one rule per connection direction),
 * and which flower match keys, ct_state flags and actions the hardware accepts. The planner
 * picks a profile per device with profile_select() and asks profile_check_rule() about every
 * rule it builds, so a rule the hardware would refuse stays in software with a precise reason.
 *
 * The shipped profiles are compiled into the binary (profile_builtin_*); a directory of .conf
 * files adds profiles and overrides built-in ones of the same name. Nothing here has global
 * state: a struct profile_set is owned by its caller.
 *
 * Errors are one line, "FILE:LINE: error: MESSAGE", written to err (errlen bytes).
 */
#ifndef NFT_TC_OFFLOAD_PROFILE_H
#define NFT_TC_OFFLOAD_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/rule.h"

#define PROFILE_NAME_MAX   32  /* profile names: [a-z0-9][a-z0-9._-]*, at most 31 chars */
#define PROFILE_TEXT_MAX   512 /* description and notes */
#define PROFILE_MATCH_MAX  16  /* entries per match list (driver, pci_id, ifname) */
#define PROFILE_DRIVER_MAX 32  /* a driver name (module name), at most 31 chars */
#define PROFILE_GLOB_MAX   32  /* an interface name glob, at most 31 chars */
#define PROFILE_ORIGIN_MAX 256 /* "builtin:NAME.conf" or the file's path */
#define PROFILE_ERR_MAX    512 /* a comfortable size for err buffers */

enum profile_strategy {
	PROFILE_STRATEGY_NONE = 0,
	PROFILE_STRATEGY_CT, /* act_ct chains per device; the driver offloads act_ct's flowtable */
	PROFILE_STRATEGY_FLOW, /* one flower rule per connection direction (NPU / PPE style) */
};

/* Flower match keys, as bits. A rule uses a key when the key's mask in struct tc_flower is set. */
enum profile_key {
	PROFILE_KEY_INDEV = 1u << 0,     /* indev (flower's META ingress ifindex) */
	PROFILE_KEY_ETH_TYPE = 1u << 1,  /* eth_type (network protocol) */
	PROFILE_KEY_ETH_ADDRS = 1u << 2, /* dst_mac / src_mac */
	PROFILE_KEY_VLAN = 1u << 3,      /* outer VLAN id / prio / ethtype */
	PROFILE_KEY_CVLAN = 1u << 4,     /* inner VLAN id / prio / ethtype */
	PROFILE_KEY_IP_PROTO = 1u << 5,
	PROFILE_KEY_IPV4 = 1u << 6,  /* IPv4 src_ip / dst_ip */
	PROFILE_KEY_IPV6 = 1u << 7,  /* IPv6 src_ip / dst_ip */
	PROFILE_KEY_PORTS = 1u << 8, /* TCP/UDP src_port / dst_port */
	PROFILE_KEY_TCP_FLAGS = 1u << 9,
	PROFILE_KEY_IP_TOS = 1u << 10,
	PROFILE_KEY_IP_TTL = 1u << 11,
	PROFILE_KEY_CT_STATE = 1u << 12,
	PROFILE_KEY_CT_ZONE = 1u << 13,
	PROFILE_KEY_CT_MARK = 1u << 14,
	PROFILE_KEY_CT_LABEL = 1u << 15,
};
#define PROFILE_KEY_COUNT 16

/* Actions, as bits. pedit is split by the header fields it rewrites. */
enum profile_action {
	PROFILE_ACT_CT = 1u << 0,          /* act_ct (commit, restore, zone) */
	PROFILE_ACT_CT_NAT = 1u << 1,      /* act_ct with nat */
	PROFILE_ACT_GACT = 1u << 2,        /* pass / drop */
	PROFILE_ACT_GOTO = 1u << 3,        /* goto chain N (any action's verdict) */
	PROFILE_ACT_MIRRED = 1u << 4,      /* redirect / mirror */
	PROFILE_ACT_PEDIT_ETH = 1u << 5,   /* pedit eth src / dst */
	PROFILE_ACT_PEDIT_IP4 = 1u << 6,   /* pedit ip src / dst (IPv4 NAT) */
	PROFILE_ACT_PEDIT_IP6 = 1u << 7,   /* pedit ip6 src / dst (IPv6 NAT) */
	PROFILE_ACT_PEDIT_PORTS = 1u << 8, /* pedit tcp/udp sport / dport */
	PROFILE_ACT_PEDIT_TTL = 1u << 9,   /* pedit ip ttl / ip6 hoplimit */
	PROFILE_ACT_CSUM = 1u << 10,       /* csum */
	PROFILE_ACT_VLAN_PUSH = 1u << 11,  /* vlan push */
	PROFILE_ACT_VLAN_POP = 1u << 12,   /* vlan pop */
	PROFILE_ACT_PPPOE_PUSH = 1u << 13, /* the hardware can; tc cannot express it (see
	                                      profile_check_pppoe) */
};
#define PROFILE_ACT_COUNT 14

/* tc hooks a profile's rules may use: bits of 1 << enum tc_hook. */
#define PROFILE_HOOK_INGRESS (1u << TC_HOOK_INGRESS)
#define PROFILE_HOOK_EGRESS  (1u << TC_HOOK_EGRESS)

/* VLAN protocols a profile can push. */
#define PROFILE_VLAN_8021Q  (1u << 0)
#define PROFILE_VLAN_8021AD (1u << 1)

struct profile_pci_id {
	uint16_t vendor;
	uint16_t device;
	bool any_device; /* "15b3:*" */
};

/* Which devices a profile is for. A device matches when every non-empty list has an entry
 * that matches it; a profile whose lists are all empty matches no device (it is chosen by
 * name only). */
struct profile_match {
	unsigned n_drivers;
	char drivers[PROFILE_MATCH_MAX][PROFILE_DRIVER_MAX]; /* exact driver names */
	unsigned n_pci_ids;
	struct profile_pci_id pci_ids[PROFILE_MATCH_MAX];
	unsigned n_ifnames;
	char ifnames[PROFILE_MATCH_MAX][PROFILE_GLOB_MAX]; /* fnmatch(3) globs */
	int priority; /* higher wins when several profiles match; -1000..1000 */
};

struct profile {
	char name[PROFILE_NAME_MAX];
	char description[PROFILE_TEXT_MAX];
	char notes[PROFILE_TEXT_MAX]; /* hardware insertion notes, free text */
	enum profile_strategy strategy;
	struct profile_match match;

	/* [offload] */
	uint32_t keys;            /* enum profile_key bits the hardware matches on */
	uint32_t required_keys;   /* subset of keys every rule must match on */
	uint16_t ct_state_set;    /* enum tc_ct_state_bits allowed as "+flag" */
	uint16_t ct_state_clear;  /* enum tc_ct_state_bits allowed as "-flag" */
	uint32_t actions;         /* enum profile_action bits */
	uint32_t ignored_actions; /* subset of actions the hardware accepts but does not do */
	unsigned max_actions;   /* hardware action entries per rule (see profile_rule_hw_actions) */
	unsigned max_vlan_tags; /* VLAN tags per rule: matched, and pushed, each counted apart */
	uint32_t vlan_protocols; /* PROFILE_VLAN_* a push may use */
	uint32_t hooks;          /* PROFILE_HOOK_* */
	bool skip_sw;            /* rules are installed with skip_sw (hardware only) */
	bool switchdev; /* the devices are eswitch ports (representors): the devices of one ct
	                 * flowtable must share one phys_switch_id (strategy ct only) */
	bool has_ct_zones;
	uint16_t ct_zone_min, ct_zone_max; /* with has_ct_zones */

	/* [limits] */
	uint64_t capacity;          /* offloaded rules per hardware table; 0 = unbounded */
	unsigned stats_interval_ms; /* how often the daemon polls rule stats */

	/* where it came from (not compared by profile_equal) */
	char origin[PROFILE_ORIGIN_MAX]; /* "builtin:mlx5.conf" or the file's path */
	unsigned origin_line;            /* line of its "name =" key */
	bool builtin;
};

/* A loaded set of profiles, sorted by name. Owned by the caller: profile_set_init() it, and
 * profile_set_free() it. */
struct profile_set {
	size_t n;
	struct profile *v;
};

/* One profile file compiled into the binary (generated from profiles/NAME.conf at build time). */
struct profile_builtin {
	const char *file; /* "mlx5.conf" */
	const char *text; /* its content, NUL-terminated */
	size_t len;
};

size_t profile_builtin_count(void);
const struct profile_builtin *profile_builtin_get(size_t i); /* NULL when i is out of range */

/*
 * Parses one profile from text (a whole .conf file); origin names it in errors. Returns 0, or
 * -1 with "ORIGIN:LINE: error: MESSAGE" in err. Unknown sections and keys are errors.
 */
int profile_parse(const char *text, const char *origin, struct profile *p, char *err,
                  size_t errlen);

/* Reads and parses one .conf file. Returns 0, or -1 with the error in err. */
int profile_load_file(const char *path, struct profile *p, char *err, size_t errlen);

void profile_set_init(struct profile_set *s);
void profile_set_free(struct profile_set *s);

/*
 * Adds a copy of p. A profile of the same name is an error unless replace is true, in which
 * case p replaces it. Returns 0, -1 (error in err) or -ENOMEM.
 */
int profile_set_add(struct profile_set *s, const struct profile *p, bool replace, char *err,
                    size_t errlen);

/* Adds every built-in profile (duplicates among them are errors). */
int profile_set_load_builtin(struct profile_set *s, char *err, size_t errlen);

/*
 * Adds every DIR/NAME.conf in strcmp order of file names. Two files defining the same name are an
 * error; a file profile replaces a built-in one of the same name. A missing directory is an
 * error here (the caller decides whether an absent directory is fine). Stops at the first bad
 * file; the set then holds what was added before it: discard it.
 */
int profile_set_load_dir(struct profile_set *s, const char *dir, char *err, size_t errlen);

/*
 * What the daemon loads: the built-in profiles, then dir's files over them (dir may be NULL; a
 * directory that does not exist is fine, any other problem is an error). On error the set is
 * emptied.
 */
int profile_set_load(struct profile_set *s, const char *dir, char *err, size_t errlen);

const struct profile *profile_set_find(const struct profile_set *s, const char *name);

/* What the planner knows about a device when choosing its profile. */
struct profile_device {
	const char *ifname; /* may be NULL */
	const char *driver; /* basename of /sys/class/net/DEV/device/driver; NULL = none (veth has
	                       no device link: the caller passes ethtool -i's driver instead) */
	bool has_pci_id;
	uint16_t pci_vendor, pci_device;
};

/*
 * Chooses the profile for a device: among the profiles that match it, the highest priority;
 * on equal priority the one matching on more lists (driver, pci_id, ifname); then the first
 * name in strcmp order. Returns it with the reason in reason (why it matched, and what it won
 * over), or NULL with why none matched.
 */
const struct profile *profile_select(const struct profile_set *s, const struct profile_device *d,
                                     char *reason, size_t len);

/*
 * Whether the hardware described by p can take rule r: its hook, skip_sw flag, match keys,
 * ct_state flags, ct zones, actions, VLAN tags and number of hardware actions. Returns true, or
 * false with one line "profile NAME: WHY" in reason.
 */
bool profile_check_rule(const struct profile *p, const struct tc_rule *r, char *reason, size_t len);

/* tc has no PPPoE push action: always false, with the reason (which says whether the hardware
 * itself could push PPPoE, per the profile). For flows whose egress is a PPPoE device. */
bool profile_check_pppoe(const struct profile *p, char *reason, size_t len);

/* Hardware action entries rule r takes, as drivers see them (flow_action entries): each pedit
 * 32-bit word counts once (Ethernet address 2, IPv4 address 1, IPv6 address 4, a port 1,
 * TTL / hop limit 1), every other action once. */
unsigned profile_rule_hw_actions(const struct tc_rule *r);

/* Compares everything but the origin fields. */
bool profile_equal(const struct profile *a, const struct profile *b);

/* Names as written in .conf files: "ct", "ipv6", "pedit_ip6"; NULL for unknown values. */
const char *profile_strategy_name(enum profile_strategy s);
const char *profile_key_name(enum profile_key k);
const char *profile_action_name(enum profile_action a);

#endif
