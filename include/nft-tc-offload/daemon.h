/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon (`nft-tc-offload run`): one epoll loop (loop.h) holding the configuration
 * (config.h), the input (an nft file or the live ruleset, followed through nftables
 * notifications), the plan (plan.h), the ct runtime (ctrt.h), the flow runtime (flowrt.h), the
 * network state (netstate.h), the control socket (ctl.h) and the sd_notify protocol
 * (sdnotify.h). Everything hangs off one struct daemon, passed explicitly.
 *
 * Life cycle:
 *  - start: the configuration is read first; a bad one ("FILE:LINE: error: ...") or a bad
 *    profile or nft file ends the start with status 2 before anything in the kernel is touched.
 *    Then: netlink sockets, network state, the plan, adoption of our rules left by an earlier
 *    run (ctrt_start), the flow runtime, the nftables monitor (source = kernel), the control
 *    socket, READY=1.
 *  - SIGHUP (systemctl reload): RELOADING=1, re-reads the configuration, the profiles and the
 *    source, re-plans and applies the difference only; a bad configuration or input keeps the
 *    running one (logged, in STATUS= and in `status`). READY=1.
 *  - live changes (source = kernel): every nftables notification re-arms a debounce timer
 *    (debounce_ms); then the ruleset is listed again and, when its text changed, re-planned and
 *    diff-applied. Link changes re-plan too (devices appear, vanish, are renamed); route and
 *    neighbour changes re-sync chain 1 (netstate_debounce_ms) and the flow runtime.
 *  - netlink overruns (ENOBUFS) on the rtnetlink request socket, the network-state socket and
 *    the nftables monitor: counted, the receive buffer doubled up to rcvbuf_max_kb, and one
 *    coalesced full resync scheduled.
 *  - SIGTERM / SIGINT: STOPPING=1; our rules are removed (on_stop = remove) or left for the
 *    next start to adopt (keep); the control socket is removed; exit 0.
 */
#ifndef NFT_TC_OFFLOAD_DAEMON_H
#define NFT_TC_OFFLOAD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "nft-tc-offload/plan.h"

struct daemon_args {
	const char *config_path; /* NULL: CONFIG_DEFAULT_PATH (which may be missing) */
};

/* Runs the daemon in the foreground until SIGTERM/SIGINT. Returns the exit status: 0 after a
 * clean stop, 2 for a bad configuration / profile / nft source (nothing touched), 1 for other
 * failures. */
int daemon_run(const struct daemon_args *a);

/* Parses an explain query "SADDR DADDR [PROTO [SPORT DPORT]]" (IPv4 or IPv6, tcp|udp, ports
 * 0-65535). 0, or -EINVAL with the reason in err. */
int daemon_parse_tuple(int argc, char **argv, struct plan_query *q, char *err, size_t errlen);

#endif
