/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pipelined request batches: many requests per sendmsg, a window that keeps the kernel's
 * replies within the receive buffer, and ACKs matched to requests by sequence number.
 *
 * Sequence numbers of a batch are base + k for the k-th request sent, so the reply's seq finds
 * its op in seq_op[] directly; a re-sent op gets a new seq and its old one becomes a stray.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "nl_priv.h"

#define NO_OP ((size_t)-1)

struct batch {
	struct nlc_sock *s;
	struct nlc_op *ops;
	size_t n;
	unsigned int window;
	unsigned int max_retries;
	size_t inflight;
	/* queued op indices: a ring of n, popped at head; re-sends are pushed at the head */
	size_t *q;
	size_t qhead, qlen;
	/* seq - base -> op index (NO_OP for none) */
	uint32_t base;
	size_t *seq_op;
	size_t nseq, capseq;
	size_t seq_lo; /* below this no op is in flight */
};

static size_t q_pop(struct batch *b)
{
	size_t i = b->q[b->qhead];

	b->qhead = (b->qhead + 1) % b->n;
	b->qlen--;
	return i;
}

static void q_push_front(struct batch *b, size_t i)
{
	b->qhead = (b->qhead + b->n - 1) % b->n;
	b->q[b->qhead] = i;
	b->qlen++;
}

static int seq_add(struct batch *b, size_t i)
{
	if (b->nseq == b->capseq) {
		size_t cap = b->capseq * 2;
		size_t *p = realloc(b->seq_op, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->seq_op = p;
		b->capseq = cap;
	}
	b->seq_op[b->nseq++] = i;
	return 0;
}

/* The in-flight op that sent seq base + k, or NULL. */
static struct nlc_op *seq_find(struct batch *b, size_t k)
{
	struct nlc_op *op;

	if (k >= b->nseq || b->seq_op[k] == NO_OP)
		return NULL;
	op = &b->ops[b->seq_op[k]];
	if (op->state != NLC_OP_SENT || op->seq != b->base + (uint32_t)k)
		return NULL;
	return op;
}

static void finish(struct batch *b, struct nlc_op *op, int error)
{
	if (op->state == NLC_OP_SENT)
		b->inflight--;
	op->state = NLC_OP_DONE;
	if (error)
		op->error = error;
}

/* Fills one datagram with queued requests (within the window) and sends it. */
static void send_some(struct batch *b)
{
	struct nlc_sock *s = b->s;
	size_t off = 0, first = b->nseq, k;
	unsigned int count = 0;
	int err;

	while (b->qlen && b->inflight < b->window) {
		struct nlc_op *op = &b->ops[b->q[b->qhead]];
		uint32_t seq = b->base + (uint32_t)b->nseq;
		size_t room = sizeof(s->sbuf) - off;
		int len = op->encode(op->ctx, seq, s->sbuf + off, room);

		if (len == 0 && off > 0)
			break; /* send what we have; it gets the whole buffer next time */
		q_pop(b);
		if (len == 0) {
			finish(b, op, -EMSGSIZE); /* does not fit even alone */
			continue;
		}
		if (len < 0) {
			finish(b, op, len);
			continue;
		}
		err = nlc_stamp(s->sbuf + off, len, room, seq, NLM_F_ACK);
		if (!err)
			err = seq_add(b, (size_t)(op - b->ops));
		if (err) {
			finish(b, op, err);
			continue;
		}
		memset(s->sbuf + off + len, 0, NLMSG_ALIGN(len) - (size_t)len);
		off += NLMSG_ALIGN(len);
		op->seq = seq;
		op->state = NLC_OP_SENT;
		op->tries++;
		op->error = 0;
		op->ext.msg[0] = '\0';
		op->ext.off = 0;
		b->inflight++;
		count++;
	}
	if (!count)
		return;
	err = nlc_send_raw(s, s->sbuf, off);
	if (err) {
		for (k = first; k < b->nseq; k++) {
			struct nlc_op *op = seq_find(b, k);

			if (op)
				finish(b, op, err);
		}
		return;
	}
	s->stats.requests += count;
}

static void handle(struct batch *b, const struct nlmsghdr *nlh)
{
	struct nlc_op *op = seq_find(b, nlh->nlmsg_seq - b->base);
	int err;

	if (!op) {
		b->s->stats.strays++;
		return;
	}
	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		err = nlc_msg_error(nlh, &op->ext);
		/* A kernel error wins; an ACK keeps an error reply() reported. */
		finish(b, op, err);
		break;
	case NLMSG_DONE:
	case NLMSG_NOOP:
	case NLMSG_OVERRUN:
		break;
	default:
		if (op->reply) {
			err = op->reply(op->ctx, nlh);
			if (err < 0 && !op->error)
				op->error = err;
		}
		break;
	}
}

static void dispatch(struct batch *b, size_t len)
{
	const struct nlmsghdr *nlh = (const void *)b->s->rbuf;
	int rem = (int)len;

	/* mnl_nlmsg_ok() (libmnl 1.0.4) lets nlmsg_len >= 2^31 through: check it again */
	while (mnl_nlmsg_ok(nlh, rem) && nlh->nlmsg_len <= (uint32_t)rem) {
		handle(b, nlh);
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
}

/* Visits the in-flight ops from the newest to the oldest. */
static void lost(struct batch *b, int error)
{
	size_t k;

	while (b->seq_lo < b->nseq && !seq_find(b, b->seq_lo))
		b->seq_lo++;
	for (k = b->nseq; k-- > b->seq_lo;) {
		struct nlc_op *op = seq_find(b, k);

		if (!op)
			continue;
		if (error == -ENOBUFS && op->tries <= b->max_retries) {
			op->state = NLC_OP_QUEUED;
			b->inflight--;
			q_push_front(b, (size_t)(op - b->ops));
			b->s->stats.retries++;
		} else {
			finish(b, op, error);
			if (error == -ETIMEDOUT)
				b->s->stats.timeouts++;
		}
	}
}

/* Replies were dropped: take what is still queued, then the rest of the in-flight ops have lost
 * their ACK. Retry them with a smaller window. */
static int overrun(struct batch *b)
{
	ssize_t n;

	for (;;) {
		n = nlc_recv_raw(b->s, false);
		if (n >= 0)
			dispatch(b, (size_t)n);
		else if (n != -ENOBUFS)
			break;
	}
	lost(b, -ENOBUFS);
	b->window = b->window > 1 ? b->window / 2 : 1;
	return n == -EAGAIN ? 0 : (int)n;
}

/* Reads replies: waits for one datagram, then takes whatever else is already queued. */
static int recv_some(struct batch *b)
{
	bool wait = true;

	while (b->inflight) {
		ssize_t n = nlc_recv_raw(b->s, wait);

		if (n == -EAGAIN && !wait)
			return 0;
		if (n == -ENOBUFS)
			return overrun(b);
		if (n == -ETIMEDOUT || n == -EAGAIN) {
			lost(b, -ETIMEDOUT);
			return 0;
		}
		if (n < 0)
			return (int)n;
		dispatch(b, (size_t)n);
		wait = false;
	}
	return 0;
}

static void fail_all(struct batch *b, int error)
{
	lost(b, error);
	while (b->qlen)
		finish(b, &b->ops[q_pop(b)], error);
}

int nlc_batch(struct nlc_sock *s, struct nlc_op *ops, size_t n, const struct nlc_batch_opts *o)
{
	static const struct nlc_batch_opts defaults;
	struct batch b = {.s = s, .ops = ops, .n = n, .base = s->seq};
	size_t cost, i;
	int failed = 0, err = 0;

	if (!o)
		o = &defaults;
	for (i = 0; i < n; i++) {
		ops[i].state = NLC_OP_QUEUED;
		ops[i].error = 0;
		ops[i].ext.msg[0] = '\0'; /* cleared; the rest of the buffer is never read */
		ops[i].ext.off = 0;
		ops[i].seq = 0;
		ops[i].tries = 0;
	}
	if (!n)
		return 0;

	cost = o->reply_cost ? o->reply_cost : NLC_REPLY_COST_ACK;
	b.window = o->window ? o->window : (unsigned int)(s->rcvbuf / 2 / cost);
	if (!o->window && b.window > NLC_WINDOW_MAX)
		b.window = NLC_WINDOW_MAX;
	if (!b.window)
		b.window = 1;
	b.max_retries = o->max_retries;
	b.q = malloc(n * sizeof(*b.q));
	b.capseq = n;
	b.seq_op = malloc(n * sizeof(*b.seq_op));
	if (!b.q || !b.seq_op) {
		for (i = 0; i < n; i++)
			finish(&b, &ops[i], -ENOMEM);
		goto out;
	}
	for (i = 0; i < n; i++)
		b.q[i] = i;
	b.qlen = n;

	while (!err && (b.qlen || b.inflight)) {
		if (b.qlen && b.inflight < b.window)
			send_some(&b);
		else
			err = recv_some(&b);
	}
	if (err)
		fail_all(&b, err);
out:
	s->seq = b.base + (uint32_t)b.nseq;
	free(b.q);
	free(b.seq_op);
	for (i = 0; i < n; i++)
		failed += ops[i].error != 0;
	return failed;
}
