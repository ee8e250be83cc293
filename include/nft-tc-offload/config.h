/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's configuration (/etc/nft-tc-offload/nft-tc-offload.conf, INI). Every key is
 * optional: config_defaults() is the embedded default, a file only overrides what it names.
 * Unknown sections and keys are errors ("FILE:LINE: error: ..."), so a typo never silently
 * falls back to a default. docs/operations.md documents every key.
 */
#ifndef NFT_TC_OFFLOAD_CONFIG_H
#define NFT_TC_OFFLOAD_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONFIG_DEFAULT_PATH "/etc/nft-tc-offload/nft-tc-offload.conf"
#define CONFIG_PATH_MAX     256
#define CONFIG_MAX_DEVICES  64

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

enum config_on_stop {
	CONFIG_STOP_REMOVE = 0, /* remove every rule of ours when the daemon stops */
	CONFIG_STOP_KEEP,       /* leave them (a hitless upgrade: the next start adopts them) */
};

/* [device NAME]: the profile for one device, or "none" to leave it alone. */
struct config_device {
	char name[IFNAMSIZ];
	char profile[32];
	unsigned line;
};

struct config {
	/* [daemon] */
	char source[CONFIG_PATH_MAX]; /* "kernel" (follow the live ruleset) or an nft file */
	char profile_dir[CONFIG_PATH_MAX];
	char control_socket[CONFIG_PATH_MAX];
	mode_t control_mode;    /* permission bits of the control socket */
	char control_group[32]; /* group owning the socket ("" = root's) */
	enum log_level log_level;
	unsigned stats_interval_ms; /* 0: each profile's own interval */
	unsigned debounce_ms;       /* live ruleset changes are applied this long after the last */
	unsigned netstate_debounce_ms; /* link/route/neighbour changes: this long after the last */
	enum config_on_stop on_stop;
	unsigned rcvbuf_max_kb; /* netlink receive buffers grow on overruns up to this */

	/* [ct] */
	bool ct_zone_set;
	uint16_t ct_zone;
	bool ct_nat;

	/* [flow] */
	uint64_t flow_min_packets; /* offload a connection after it has seen this many packets */
	uint64_t flow_min_bytes;   /* ... or this many bytes (either is enough) */
	bool flow_tcp_first;       /* when the table is near full, TCP goes first */
	uint64_t flow_max;         /* connections in hardware at most; 0 = the profile's capacity */

	/* [device NAME] */
	struct config_device devices[CONFIG_MAX_DEVICES];
	size_t n_devices;
};

void config_defaults(struct config *c);

/* Parses text over the defaults. origin names it in errors. Returns 0 or -1 with the error. */
int config_parse(const char *text, const char *origin, struct config *c, char *err, size_t errlen);

/*
 * Loads path over the defaults. A missing file is an error, except for the default path
 * (allow_missing): then the defaults stand. Returns 0 or -1 with the error in err.
 */
int config_load(const char *path, bool allow_missing, struct config *c, char *err, size_t errlen);

const char *log_level_name(enum log_level l);

#endif
