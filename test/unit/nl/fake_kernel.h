/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake netlink kernel behind struct nlc_transport: every request message of a sent datagram
 * goes to a responder the test supplies, which queues reply datagrams (ACKs with extack,
 * echoes, dump parts). It can reverse the replies of a datagram, drop replies beyond a
 * receive-buffer capacity (then report ENOBUFS, like the kernel), and fail a send.
 */
#ifndef NTO_TEST_FAKE_KERNEL_H
#define NTO_TEST_FAKE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "nft-tc-offload/nl.h"

#define FK_MAX_DGRAMS 8192

struct fake_kernel;
typedef void (*fk_respond_fn)(struct fake_kernel *k, const struct nlmsghdr *req);

struct fk_dgram {
	size_t len;
	bool is_ack; /* one NLMSG_ERROR for a request: counts against outstanding */
	uint32_t seq;
	uint8_t data[];
};

struct fake_kernel {
	fk_respond_fn respond; /* NULL: ACK every request with 0 */
	void *priv;
	bool reverse;     /* queue the replies of one datagram in reverse order */
	size_t capacity;  /* most datagrams queued; beyond: dropped + ENOBUFS; 0 = no limit */
	int fail_send_at; /* the n-th send (1-based) fails with fail_send_err; 0 = never */
	int fail_send_err;

	/* state */
	struct fk_dgram *q[FK_MAX_DGRAMS];
	size_t qhead, qlen;
	struct fk_dgram *pending[FK_MAX_DGRAMS]; /* replies of the datagram being processed */
	size_t npending;
	bool enobufs;

	/* what happened */
	unsigned int sends, requests, dropped, acks_delivered;
	unsigned int outstanding, max_outstanding; /* requests sent, ACK not yet received */
	unsigned int max_per_send;
	uint32_t delivered_ack_seq[FK_MAX_DGRAMS]; /* seqs of the ACKs the reader got */
};

extern const struct nlc_transport fk_transport;

void fk_init(struct fake_kernel *k);
void fk_free(struct fake_kernel *k);

/* For responders: queue a reply datagram (copied). */
void fk_reply(struct fake_kernel *k, const void *buf, size_t len);
/* Queue an NLMSG_ERROR for req: error, optional extack message and offset, capped or not. */
void fk_ack(struct fake_kernel *k, const struct nlmsghdr *req, int error, const char *msg,
            uint32_t off, bool capped);
/* Build an NLMSG_ERROR like fk_ack into buf; returns its length. */
size_t fk_build_ack(void *buf, size_t len, const struct nlmsghdr *req, int error, const char *msg,
                    uint32_t off, bool capped);
/* Build an NLMSG_DONE for seq with error (and extack msg) into buf; returns its length. */
size_t fk_build_done(void *buf, size_t len, uint32_t seq, uint16_t flags, int error,
                     const char *msg);

/* Did the reader receive the ACK of seq? */
bool fk_ack_delivered(const struct fake_kernel *k, uint32_t seq);

#endif
