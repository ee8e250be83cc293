/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's internal pieces: the nftables change monitor and helpers shared with tests. */
#ifndef NTO_DAEMON_INTERNAL_H
#define NTO_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net/if.h>

#include <jansson.h>

#include "nft-tc-offload/config.h"
#include "nft-tc-offload/loop.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/sdnotify.h"

/*
 * nftmon: a NETLINK_NETFILTER socket subscribed to NFNLGRP_NFTABLES (libmnl), on the loop.
 * Any nftables notification (a committed transaction) calls changed(ctx, false); a receive
 * overrun (ENOBUFS: notifications were lost) is counted, the receive buffer doubled up to
 * rcvbuf_max, and changed(ctx, true) called once: the caller re-reads the whole ruleset.
 */
struct nftmon;
typedef void (*nftmon_changed_fn)(void *ctx, bool overrun);

struct nftmon_stats {
	uint64_t messages; /* notifications received */
	uint64_t batches;  /* reads that carried at least one (one changed() call each) */
	uint64_t overruns; /* ENOBUFS */
	size_t rcvbuf;     /* current receive buffer (the kernel's figure) */
};

int nftmon_open(struct nftmon **out, struct ev_loop *loop, size_t rcvbuf, size_t rcvbuf_max,
                nftmon_changed_fn changed, void *ctx, char *err, size_t errlen);
void nftmon_close(struct nftmon *m);
const struct nftmon_stats *nftmon_stats(const struct nftmon *m);

/* Grows a socket's receive buffer: doubles it (SO_RCVBUFFORCE, else SO_RCVBUF), at most max.
 * Returns the new size as the kernel reports it, or 0 when it could not grow. */
size_t daemon_grow_rcvbuf(int fd, size_t max);

/* ---- the daemon's state (daemon.c), shared with its control-socket commands (ctlcmds.c) ---- */

#define ERR_MAX      2048
#define EXCLUDED_MAX CONFIG_MAX_DEVICES

/* One generation of input: configuration, profiles, ruleset and its plan. A reload or a live
 * change builds a new one beside the running one and swaps them only when it is complete. */
struct gen {
	struct config cfg;
	struct profile_set profiles;
	char *text; /* the listing it was parsed from (source = kernel) */
	struct nft_ruleset *rs;
	struct plan *plan;
	char excluded[EXCLUDED_MAX][IFNAMSIZ]; /* devices taken out by [device NAME] profile=none */
	size_t n_excluded;
	uint64_t loaded_ms;
};

struct daemon {
	struct ev_loop *loop;
	struct sd_notifier sd;
	const char *config_path;
	bool config_given;
	enum log_level log_level;
	bool journal; /* stderr goes to the journal: "<N>" level prefixes */

	struct gen *gen;
	struct config cfg; /* the running generation's, at a stable address (flowrt keeps it) */
	struct nlc_sock *rtnl;
	struct netstate *ns;
	struct ctrt *ct;
	struct flowrt *flow;
	struct nftmon *mon;
	struct ctl_server *ctl;

	struct ev_timer *watchdog, *replan, *resync, *housekeeping, *netflow;
	bool replan_links; /* a link appeared, vanished or was renamed since the last plan */

	uint64_t start_ms;
	uint64_t reloads, reload_failures, replans, replans_unchanged, replan_failures;
	uint64_t nft_triggers, netstate_changes, netstate_overruns, rtnl_overruns, resyncs;
	uint64_t rtnl_enobufs_seen;
	uint64_t last_replan_unix_ms; /* wall clock of the last applied re-plan, 0 = none yet */
	size_t netstate_rcvbuf;
	char last_error[ERR_MAX]; /* of the last failed reload / re-plan */
	int status;               /* exit status */
};

/* ctlcmds.c: the control socket's requests (status, flows, explain, rules, metrics, ping);
 * ctx is the struct daemon. A new JSON object, or NULL with the reason in err. */
json_t *daemon_ctl_handler(void *ctx, int argc, char **argv, char *err, size_t errlen);

#endif
