/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "fake_kernel.h"

void fk_init(struct fake_kernel *k)
{
	memset(k, 0, sizeof(*k));
}

void fk_free(struct fake_kernel *k)
{
	while (k->qlen) {
		free(k->q[k->qhead]);
		k->qhead = (k->qhead + 1) % FK_MAX_DGRAMS;
		k->qlen--;
	}
}

void fk_reply(struct fake_kernel *k, const void *buf, size_t len)
{
	struct fk_dgram *d = malloc(sizeof(*d) + len);
	const struct nlmsghdr *nlh = buf;

	if (!d)
		abort();
	d->len = len;
	d->is_ack = nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_len == len;
	d->seq = nlh->nlmsg_seq;
	memcpy(d->data, buf, len);
	if (k->npending == FK_MAX_DGRAMS)
		abort();
	k->pending[k->npending++] = d;
}

size_t fk_build_ack(void *buf, size_t len, const struct nlmsghdr *req, int error, const char *msg,
                    uint32_t off, bool capped)
{
	size_t copy = capped ? sizeof(*req) : req->nlmsg_len;
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;

	memset(buf, 0, len);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = req->nlmsg_seq;
	nlh->nlmsg_flags = capped ? NLM_F_CAPPED : 0;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e) - sizeof(*req) + copy);
	e->error = error;
	memcpy(&e->msg, req, copy);
	if (msg || off) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		if (msg)
			mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
		if (off)
			mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, off);
	}
	return nlh->nlmsg_len;
}

size_t fk_build_done(void *buf, size_t len, uint32_t seq, uint16_t flags, int error,
                     const char *msg)
{
	struct nlmsghdr *nlh;
	int *perr;

	memset(buf, 0, len);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = NLM_F_MULTI | flags;
	perr = mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	*perr = error;
	if (msg) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
	}
	return nlh->nlmsg_len;
}

void fk_ack(struct fake_kernel *k, const struct nlmsghdr *req, int error, const char *msg,
            uint32_t off, bool capped)
{
	uint8_t buf[70000];

	fk_reply(k, buf, fk_build_ack(buf, sizeof(buf), req, error, msg, off, capped));
}

static void flush_pending(struct fake_kernel *k)
{
	size_t i;

	for (i = 0; i < k->npending; i++) {
		struct fk_dgram *d = k->pending[k->reverse ? k->npending - 1 - i : i];

		if ((k->capacity && k->qlen >= k->capacity) || k->qlen == FK_MAX_DGRAMS) {
			if (d->is_ack)
				k->outstanding--; /* lost: never coming */
			free(d);
			k->dropped++;
			k->enobufs = true;
			continue;
		}
		k->q[(k->qhead + k->qlen) % FK_MAX_DGRAMS] = d;
		k->qlen++;
	}
	k->npending = 0;
}

static int fk_send(void *ctx, const void *buf, size_t len)
{
	struct fake_kernel *k = ctx;
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;
	unsigned int n = 0;

	k->sends++;
	if (k->fail_send_at && (int)k->sends == k->fail_send_at)
		return k->fail_send_err;
	while (mnl_nlmsg_ok(nlh, rem)) {
		k->requests++;
		n++;
		if (nlh->nlmsg_flags & NLM_F_ACK) {
			k->outstanding++;
			if (k->outstanding > k->max_outstanding)
				k->max_outstanding = k->outstanding;
		}
		if (k->respond)
			k->respond(k, nlh);
		else
			fk_ack(k, nlh, 0, NULL, 0, true);
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	if (n > k->max_per_send)
		k->max_per_send = n;
	flush_pending(k);
	return 0;
}

static ssize_t fk_recv(void *ctx, void *buf, size_t len, bool wait)
{
	struct fake_kernel *k = ctx;
	struct fk_dgram *d;
	ssize_t n;

	if (k->enobufs) {
		k->enobufs = false;
		return -ENOBUFS;
	}
	if (!k->qlen)
		return wait ? -ETIMEDOUT : -EAGAIN;
	d = k->q[k->qhead];
	k->qhead = (k->qhead + 1) % FK_MAX_DGRAMS;
	k->qlen--;
	if (d->len > len) {
		free(d);
		return -EMSGSIZE;
	}
	memcpy(buf, d->data, d->len);
	n = (ssize_t)d->len;
	if (d->is_ack) {
		k->outstanding--;
		if (k->acks_delivered < FK_MAX_DGRAMS)
			k->delivered_ack_seq[k->acks_delivered] = d->seq;
		k->acks_delivered++;
	}
	free(d);
	return n;
}

bool fk_ack_delivered(const struct fake_kernel *k, uint32_t seq)
{
	unsigned int i;

	for (i = 0; i < k->acks_delivered && i < FK_MAX_DGRAMS; i++)
		if (k->delivered_ack_seq[i] == seq)
			return true;
	return false;
}

const struct nlc_transport fk_transport = {
    .send = fk_send,
    .recv = fk_recv,
};
