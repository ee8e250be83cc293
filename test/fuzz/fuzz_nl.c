/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The netlink core against a fuzzed kernel. The first byte picks a mode:
 *   0  nlc_msg_error() on every message of the rest (the extack reader)
 *   1  nlc_batch(): ops described by the input, replies from the input
 *   2  nlc_dump(): replies from the input
 *   3  nlc_tc_dump(): a device's filter dump (replies go through tc_decode)
 *   4  nlc_tc_replace_batch() with echo checks; 5 delete; 6 get
 * A header of configuration bytes follows (see the modes), then the reply datagrams, each
 *   [ctl:1][len:2 little endian][len bytes]
 * ctl & 7: 0 deliver the datagram, 1 -ENOBUFS (overrun), 2 -EAGAIN, 3 -ETIMEDOUT, 4 -EINTR,
 * 5-7 deliver. ctl & 0x80: rewrite each message's nlmsg_seq to the seq of a request really
 * sent (the message's own seq, modulo the requests sent, picks which), so replies can match;
 * ctl & 0x40: set the first message's nlmsg_len to the datagram length. When the input runs
 * out, recv() times out (or says EAGAIN when not waiting), like a kernel that said everything.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/rtnetlink.h>

#include "fuzz.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/tc.h"

#define MAX_SEQS 4096
#define MAX_OPS  32

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t take(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

struct fake {
	struct input in;
	uint32_t seqs[MAX_SEQS]; /* every request sent, in order */
	size_t nseqs;
	unsigned sends, fail_send_at;
};

/* mnl_nlmsg_ok() of libmnl 1.0.4 compares (int)nlmsg_len: lengths of 2 GB and more pass */
static bool msg_ok(const struct nlmsghdr *nlh, int rem)
{
	return mnl_nlmsg_ok(nlh, rem) && nlh->nlmsg_len <= (uint32_t)rem;
}

static int fake_send(void *ctx, const void *buf, size_t len)
{
	struct fake *f = ctx;
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	f->sends++;
	if (f->fail_send_at && f->sends == f->fail_send_at)
		return -ENOBUFS;
	FUZZ_CHECK(len > 0);
	while (mnl_nlmsg_ok(nlh, rem)) {
		FUZZ_CHECK(nlh->nlmsg_flags & NLM_F_REQUEST);
		if (f->nseqs < MAX_SEQS)
			f->seqs[f->nseqs++] = nlh->nlmsg_seq;
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	FUZZ_CHECK(rem == 0); /* whole messages only */
	return 0;
}

static ssize_t fake_recv(void *ctx, void *buf, size_t len, bool wait)
{
	struct fake *f = ctx;
	uint8_t ctl;
	size_t n;

	if (f->in.left < 3)
		return wait ? -ETIMEDOUT : -EAGAIN;
	ctl = take(&f->in);
	n = take(&f->in);
	n |= (size_t)take(&f->in) << 8;
	switch (ctl & 7) {
	case 1:
		return -ENOBUFS;
	case 2:
		return -EAGAIN;
	case 3:
		return -ETIMEDOUT;
	case 4:
		return -EINTR;
	default:
		break;
	}
	if (n > f->in.left)
		n = f->in.left;
	if (n > len)
		return -EMSGSIZE;
	memcpy(buf, f->in.p, n);
	f->in.p += n;
	f->in.left -= n;
	if ((ctl & 0x40) && n >= sizeof(struct nlmsghdr))
		((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)n;
	if ((ctl & 0x80) && f->nseqs) {
		struct nlmsghdr *nlh = buf;
		int rem = (int)n;

		while (msg_ok(nlh, rem)) {
			nlh->nlmsg_seq = f->seqs[nlh->nlmsg_seq % f->nseqs];
			nlh = mnl_nlmsg_next(nlh, &rem);
		}
	}
	return (ssize_t)n;
}

static const struct nlc_transport transport = {.send = fake_send, .recv = fake_recv};

/* ---- mode 0: the extack reader ---- */

static void msg_errors(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	const struct nlmsghdr *nlh = (const void *)buf;
	int rem = (int)size;

	if (!buf)
		return;
	if (size)
		memcpy(buf, data, size);
	while (msg_ok(nlh, rem)) {
		struct nlc_extack ext;
		int err = nlc_msg_error(nlh, &ext);

		FUZZ_CHECK(err <= 0);
		FUZZ_CHECK(memchr(ext.msg, '\0', sizeof(ext.msg)) != NULL);
		FUZZ_CHECK(nlc_msg_error(nlh, NULL) == err);
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	free(buf);
}

/* ---- mode 1: generic batches ---- */

struct op_ctx {
	uint8_t cfg; /* bits 0-1: encode behaviour, 2-3: reply result, 4-7: payload words */
	unsigned replies;
};

static int op_encode(void *ctx, uint32_t seq, void *buf, size_t len)
{
	struct op_ctx *c = ctx;
	size_t extra = (size_t)(c->cfg >> 4) * 4;
	size_t need = MNL_NLMSG_HDRLEN + extra;
	struct nlmsghdr *nlh;

	switch (c->cfg & 3) {
	case 1:
		return -EINVAL; /* the encoder refuses */
	case 2:
		if (len < NLC_SEND_CHUNK)
			return 0; /* only fits into an empty buffer */
		break;
	default:
		break;
	}
	if (len < need)
		return 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_seq = seq;
	if (extra)
		memset(mnl_nlmsg_put_extra_header(nlh, extra), 0xab, extra);
	if ((c->cfg & 3) == 3)
		return (int)nlh->nlmsg_len + 8; /* a broken encoder: length mismatch */
	return (int)nlh->nlmsg_len;
}

static int op_reply(void *ctx, const struct nlmsghdr *nlh)
{
	struct op_ctx *c = ctx;

	(void)nlh;
	c->replies++;
	return (c->cfg >> 2) & 1 ? -EIO : 0;
}

static void batch(struct nlc_sock *s, struct input *hdr)
{
	struct op_ctx ctx[MAX_OPS];
	struct nlc_op ops[MAX_OPS];
	struct nlc_batch_opts o = {0};
	size_t n = 1 + take(hdr) % MAX_OPS;
	int failed, count = 0;

	o.window = take(hdr) % 8;
	o.max_retries = take(hdr) % 4;
	o.reply_cost = take(hdr) & 1 ? NLC_REPLY_COST_ECHO : 0;
	for (size_t i = 0; i < n; i++) {
		ctx[i] = (struct op_ctx){.cfg = take(hdr)};
		ops[i] = (struct nlc_op){.encode = op_encode, .ctx = &ctx[i]};
		if (ctx[i].cfg & 8)
			ops[i].reply = op_reply;
	}
	failed = nlc_batch(s, ops, n, &o);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(ops[i].state == NLC_OP_DONE);
		FUZZ_CHECK(ops[i].error <= 0);
		FUZZ_CHECK(memchr(ops[i].ext.msg, '\0', sizeof(ops[i].ext.msg)) != NULL);
		count += ops[i].error != 0;
	}
	FUZZ_CHECK(failed == count);
}

/* ---- mode 2: dumps ---- */

struct dump_ctx {
	uint8_t cfg;
	unsigned msgs, resets;
};

static int dump_encode(void *ctx, uint32_t seq, void *buf, size_t len)
{
	struct nlmsghdr *nlh;

	(void)ctx;
	if (len < MNL_NLMSG_HDRLEN)
		return 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	return (int)nlh->nlmsg_len;
}

static int dump_msg(void *ctx, const struct nlmsghdr *nlh)
{
	struct dump_ctx *c = ctx;

	(void)nlh;
	c->msgs++;
	return c->cfg && c->msgs >= c->cfg ? -EIO : 0;
}

static void dump_reset(void *ctx)
{
	struct dump_ctx *c = ctx;

	c->msgs = 0;
	c->resets++;
}

static void dump(struct nlc_sock *s, struct input *hdr)
{
	struct dump_ctx c = {.cfg = take(hdr)};
	struct nlc_dump_req d = {
	    .encode = dump_encode,
	    .msg = dump_msg,
	    .reset = dump_reset,
	    .ctx = &c,
	    .max_tries = take(hdr) % 5,
	};
	struct nlc_extack ext;
	int err = nlc_dump(s, &d, take(hdr) & 1 ? &ext : NULL);

	FUZZ_CHECK(err <= 0);
	FUZZ_CHECK(c.resets < (d.max_tries ? d.max_tries : NLC_DUMP_TRIES));
}

/* ---- modes 3-6: tc operations ---- */

static int dump_rule(void *ctx, const struct tc_rule *r)
{
	unsigned *n = ctx;

	FUZZ_CHECK(r->n_actions <= TC_RULE_MAX_ACTIONS);
	return ++*n > 200 ? -ECANCELED : 0;
}

static int dump_other(void *ctx, const struct nlmsghdr *nlh, int err, const char *why)
{
	(void)ctx;
	FUZZ_CHECK(nlh && why && (err == -ENOENT || err == -EINVAL));
	return 0;
}

static void dump_reset_hook(void *ctx, enum tc_hook hook)
{
	(void)ctx;
	FUZZ_CHECK(hook == TC_HOOK_INGRESS || hook == TC_HOOK_EGRESS);
}

static void tc_dump(struct nlc_sock *s, struct input *hdr)
{
	unsigned n = 0;
	uint8_t cfg = take(hdr);
	struct nlc_tc_dump_cb cb = {
	    .rule = dump_rule,
	    .other = cfg & 1 ? dump_other : NULL,
	    .reset = cfg & 2 ? dump_reset_hook : NULL,
	    .ctx = &n,
	};
	struct nlc_tc_dump_stats st;
	struct nlc_extack ext;

	FUZZ_CHECK(nlc_tc_dump(s, 2, &cb, &st, &ext) <= 0);
}

/* A small rule like the plan's chain-0 rules: tcp to 10.0.0.1, ct zone 0, goto chain 1. */
static void make_rule(struct tc_rule *r, uint8_t cfg, size_t i)
{
	struct tc_id id = {
	    .ifindex = 2,
	    .hook = cfg & 1 ? TC_HOOK_EGRESS : TC_HOOK_INGRESS,
	    .prio = (uint16_t)(cfg & 2 ? 0 : 0x1000 + i),
	    .protocol = ETH_P_IP,
	    .handle = cfg & 4 ? 0 : (uint32_t)i + 1,
	};
	struct tc_action *a;

	tc_rule_init(r, &id);
	r->flower.key.ip_proto = 6;
	r->flower.mask.ip_proto = 0xff;
	r->flower.key.dst.v4.s_addr = htonl(0x0a000001);
	r->flower.mask.dst.v4.s_addr = 0xffffffff;
	a = tc_rule_add_action(r, cfg & 8 ? TC_ACTION_GACT : TC_ACTION_CT);
	a->verdict = TC_VERDICT_GOTO_CHAIN;
	a->goto_chain = 1;
	if (cfg & 16) {
		r->cookie_len = 4;
		memcpy(r->cookie, "nto\x01", 4);
	}
}

static void tc_batch(struct nlc_sock *s, struct input *hdr, int mode)
{
	struct tc_rule rules[8], out[8];
	struct tc_id ids[8];
	struct nlc_tc_result res[8];
	size_t n = 1 + take(hdr) % 8;
	bool want_out = take(hdr) & 1;
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		make_rule(&rules[i], take(hdr), i);
		ids[i] = rules[i].id;
	}
	if (mode == 4)
		failed = nlc_tc_replace_batch(s, rules, n, res, want_out ? out : NULL, NULL);
	else if (mode == 5)
		failed = nlc_tc_delete_batch(s, rules, n, res, NULL);
	else
		failed = nlc_tc_get_batch(s, ids, n, res, out, NULL);
	FUZZ_CHECK(failed >= 0 && (size_t)failed <= n);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(res[i].error <= 0);
		FUZZ_CHECK(memchr(res[i].ext.msg, '\0', sizeof(res[i].ext.msg)) != NULL);
	}
}

int nto_fuzz_nl(const uint8_t *data, size_t size)
{
	struct fake *f;
	struct nlc_sock *s;
	struct input hdr;
	uint8_t mode, hlen;

	if (size < 1)
		return 0;
	mode = data[0] % 8;
	if (mode == 0 || mode == 7) {
		msg_errors(data + 1, size - 1);
		return 0;
	}
	/* header: length, then the mode's bytes; then the datagrams */
	hdr = (struct input){data + 1, size - 1};
	hlen = take(&hdr);
	if (hlen > hdr.left)
		hlen = (uint8_t)hdr.left;
	f = calloc(1, sizeof(*f));
	if (!f)
		return 0;
	f->in = (struct input){hdr.p + hlen, hdr.left - hlen};
	hdr.left = hlen;
	f->fail_send_at = take(&hdr) % 16;
	if (nlc_open_transport(&s, &transport, f, 200 * 1024) != 0) {
		free(f);
		return 0;
	}
	switch (mode) {
	case 1:
		batch(s, &hdr);
		break;
	case 2:
		dump(s, &hdr);
		break;
	case 3:
		tc_dump(s, &hdr);
		break;
	default:
		tc_batch(s, &hdr, mode);
		break;
	}
	nlc_close(s);
	free(f);
	return 0;
}

#ifndef NTO_FUZZ_NO_ENTRY
NTO_FUZZ_ENTRY(nto_fuzz_nl)
#endif
