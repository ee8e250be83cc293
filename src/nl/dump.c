/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dumps: one request, many replies up to NLMSG_DONE; redone when the kernel flags it
 * inconsistent (NLM_F_DUMP_INTR) or replies were lost. */
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "nl_priv.h"

struct dump_run {
	uint32_t seq;
	bool intr; /* inconsistent or lossy: redo */
	bool done; /* NLMSG_DONE or NLMSG_ERROR seen */
	bool stop; /* msg() failed: read on, deliver no more */
	int error; /* kernel's or msg()'s */
};

static void dump_msg(struct nlc_sock *s, const struct nlc_dump_req *d, struct dump_run *r,
                     const struct nlmsghdr *nlh, struct nlc_extack *ext)
{
	int err;

	if (nlh->nlmsg_seq != r->seq) {
		s->stats.strays++;
		return;
	}
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		r->intr = true;
	switch (nlh->nlmsg_type) {
	case NLMSG_DONE:
	case NLMSG_ERROR:
		err = nlc_msg_error(nlh, ext);
		r->done = true;
		if (err && !r->error)
			r->error = err;
		break;
	case NLMSG_NOOP:
	case NLMSG_OVERRUN:
		break;
	default:
		if (r->intr || r->stop)
			break;
		err = d->msg(d->ctx, nlh);
		if (err < 0) {
			r->error = err;
			r->stop = true;
		}
		break;
	}
}

/* One pass: sends the request and reads to the end of the dump. */
static int dump_once(struct nlc_sock *s, const struct nlc_dump_req *d, struct dump_run *r,
                     struct nlc_extack *ext)
{
	int len, err;

	r->seq = s->seq++;
	len = d->encode(d->ctx, r->seq, s->sbuf, sizeof(s->sbuf));
	if (len == 0)
		return -EMSGSIZE;
	if (len < 0)
		return len;
	err = nlc_stamp(s->sbuf, len, sizeof(s->sbuf), r->seq, 0);
	if (!err)
		err = nlc_send_raw(s, s->sbuf, (size_t)len);
	if (err)
		return err;
	s->stats.requests++;

	while (!r->done) {
		ssize_t n = nlc_recv_raw(s, true);
		const struct nlmsghdr *nlh = (const void *)s->rbuf;
		int rem;

		if (n == -ENOBUFS) {
			r->intr = true; /* something of ours may be lost */
			continue;
		}
		if (n == -EAGAIN)
			n = -ETIMEDOUT;
		if (n < 0)
			return (int)n;
		rem = (int)n;
		/* mnl_nlmsg_ok() lets nlmsg_len >= 2^31 through (see batch.c) */
		while (!r->done && mnl_nlmsg_ok(nlh, rem) && nlh->nlmsg_len <= (uint32_t)rem) {
			dump_msg(s, d, r, nlh, ext);
			nlh = mnl_nlmsg_next(nlh, &rem);
		}
	}
	return 0;
}

int nlc_dump(struct nlc_sock *s, const struct nlc_dump_req *d, struct nlc_extack *ext)
{
	unsigned int tries = d->max_tries ? d->max_tries : NLC_DUMP_TRIES, t;
	struct nlc_extack scratch;
	int err;

	if (!ext)
		ext = &scratch;
	for (t = 0; t < tries; t++) {
		struct dump_run r = {0};

		memset(ext, 0, sizeof(*ext));
		if (t > 0) {
			s->stats.dump_restarts++;
			if (d->reset)
				d->reset(d->ctx);
		}
		err = dump_once(s, d, &r, ext);
		if (err)
			return err;
		if (r.error)
			return r.error;
		if (!r.intr)
			return 0;
	}
	return -EINTR;
}
