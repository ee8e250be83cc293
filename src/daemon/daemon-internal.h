/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's internal pieces: the nftables change monitor and helpers shared with tests. */
#ifndef NTO_DAEMON_INTERNAL_H
#define NTO_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/loop.h"

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

#endif
