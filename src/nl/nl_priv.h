/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private to src/nl/: the socket context shared by sock.c, batch.c, dump.c. */
#ifndef NTO_NL_PRIV_H
#define NTO_NL_PRIV_H

#include <stdint.h>

#include "nft-tc-offload/nl.h"

#define NLC_RECV_BUF 65536 /* a kernel datagram is at most 32 KB (dump skbs) */

struct mnl_socket;

struct nlc_sock {
	const struct nlc_transport *tr;
	void *tr_ctx;
	struct mnl_socket *mnl; /* NULL on a custom transport */
	uint32_t portid;
	uint32_t seq; /* next sequence number */
	size_t rcvbuf;
	struct nlc_features feat;
	struct nlc_stats stats;
	uint8_t sbuf[NLC_SEND_CHUNK];
	uint8_t rbuf[NLC_RECV_BUF];
};

/* Sends one datagram; counts it. */
int nlc_send_raw(struct nlc_sock *s, const void *buf, size_t len);

/* Receives one datagram into s->rbuf; counts it (and overruns). Returns its length or -errno. */
ssize_t nlc_recv_raw(struct nlc_sock *s, bool wait);

/* Stamps a freshly encoded request: checks its length against what encode returned, sets seq
 * and NLM_F_REQUEST plus the extra flags. Returns 0 or -EPROTO for a broken encoder result. */
int nlc_stamp(void *buf, int len, size_t room, uint32_t seq, uint16_t flags);

/* A request that is a struct tcmsg plus an optional TCA_KIND (qdisc.c). */
struct nlc_tcmsg_req {
	uint16_t type;
	uint16_t flags; /* besides NLM_F_REQUEST */
	uint32_t ifindex;
	uint32_t handle;
	uint32_t parent;
	const char *kind;    /* TCA_KIND, or NULL */
	uint32_t dump_flags; /* TCA_DUMP_FLAGS (TCA_DUMP_FLAGS_TERSE), or 0 for none */
};

/* nlc_encode_fn for a struct nlc_tcmsg_req (ctx points to one). */
int nlc_tcmsg_encode(void *ctx, uint32_t seq, void *buf, size_t len);

#endif
