/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The netlink core against this host's kernel (NETLINK_ROUTE), no fake. Runs in a private
 * network namespace when it may create one (then also installs clsact on its own lo); never
 * changes the host's network. Skips when netlink sockets are unavailable.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>

#include "nft-tc-offload/nl.h"
#include "test_util.h"

struct smoke {
	bool own_netns;
};

static struct nlc_sock *open_or_skip(const struct nlc_sock_opts *o)
{
	struct nlc_sock *s = NULL;
	int err = nlc_open(&s, NETLINK_ROUTE, o);

	if (err) {
		print_message("netlink unavailable (%s): skipped\n", strerror(-err));
		skip();
	}
	return s;
}

static void test_features(void **state)
{
	struct nlc_sock *s = open_or_skip(&(struct nlc_sock_opts){.cap_ack = true});

	(void)state;
	assert_true(nlc_features(s)->ext_ack);
	print_message("strict_chk=%d cap_ack=%d rcvbuf=%zu portid=%u\n",
	              nlc_features(s)->strict_chk, nlc_features(s)->cap_ack, nlc_rcvbuf(s),
	              nlc_portid(s));
	assert_true(nlc_fd(s) >= 0);
	assert_int_equal(nlc_set_rcvbuf(s, 1 << 20), 0);
	assert_true(nlc_rcvbuf(s) >= 1 << 20 || nlc_rcvbuf(s) > 200000); /* FORCE, or capped */
	nlc_close(s);
}

#define N_GET 300

/* Many RTM_GETLINK lo requests, pipelined: each answered (reply + ACK) by its own seq. */
static void test_pipelined_getlink(void **state)
{
	struct nlc_sock *s = open_or_skip(&(struct nlc_sock_opts){.rcvbuf = 1 << 20});
	struct treq *t = calloc(N_GET, sizeof(*t));
	struct nlc_op *ops = calloc(N_GET, sizeof(*ops));
	const struct nlc_stats *st = nlc_stats(s);

	(void)state;
	for (int i = 0; i < N_GET; i++) {
		t[i].idx = 1;
		ops[i] = (struct nlc_op){.encode = treq_encode, .reply = treq_reply, .ctx = &t[i]};
	}
	assert_int_equal(
	    nlc_batch(s, ops, N_GET, &(struct nlc_batch_opts){.reply_cost = NLC_REPLY_COST_ECHO}),
	    0);
	for (int i = 0; i < N_GET; i++) {
		assert_int_equal(ops[i].error, 0);
		assert_int_equal(t[i].replies, 1);
		assert_int_equal(t[i].reply_idx, 1);
	}
	print_message("%u requests in %lu sendmsgs\n", N_GET, (unsigned long)st->sendmsgs);
	assert_true(st->sendmsgs < N_GET / 10); /* pipelined, not one round trip each */
	assert_int_equal(st->enobufs, 0);
	assert_int_equal(st->strays, 0);
	free(t);
	free(ops);
	nlc_close(s);
}

/* RTM_GETLINK with a malformed IFLA_EXT_MASK (2 bytes instead of 4). */
static int encode_bad_attr(void *ctx, uint32_t seq, void *buf, size_t len)
{
	int n = treq_encode(ctx, seq, buf, len);
	uint16_t v = 1;

	if (n <= 0)
		return n;
	if (!mnl_attr_put_check(buf, len, IFLA_EXT_MASK, sizeof(v), &v))
		return 0;
	return (int)((struct nlmsghdr *)buf)->nlmsg_len;
}

/* RTM_NEWTFILTER with prio 0 and no NLM_F_CREATE: refused before anything is looked up. */
static int encode_bad_filter(void *ctx, uint32_t seq, void *buf, size_t len)
{
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	(void)ctx;
	if (len < 64)
		return 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWTFILTER;
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_ifindex = 999999;
	tcm->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
	mnl_attr_put_strz(nlh, TCA_KIND, "flower");
	return (int)nlh->nlmsg_len;
}

enum kind { K_OK, K_NODEV, K_BAD_HEADER, K_BAD_ATTR, K_BAD_FILTER, K_MAX };

/* Requests the kernel refuses, interleaved: each gets its own errno and extack. */
static void test_refusals_by_seq(void **state)
{
	struct nlc_sock *s = open_or_skip(NULL);
	const int n = 100;
	struct treq *t = calloc((size_t)n, sizeof(*t));
	struct nlc_op *ops = calloc((size_t)n, sizeof(*ops));
	bool strict = nlc_features(s)->strict_chk;

	(void)state;
	for (int i = 0; i < n; i++) {
		t[i].idx = 1;
		ops[i] = (struct nlc_op){.encode = treq_encode, .reply = treq_reply, .ctx = &t[i]};
		switch (i % K_MAX) {
		case K_NODEV:
			t[i].idx = 0x7ffffff0;
			break;
		case K_BAD_HEADER:
			t[i].ifi_flags = 1;
			break;
		case K_BAD_ATTR:
			ops[i].encode = encode_bad_attr;
			break;
		case K_BAD_FILTER:
			ops[i].encode = encode_bad_filter;
			break;
		}
	}
	nlc_batch(s, ops, (size_t)n, &(struct nlc_batch_opts){.reply_cost = NLC_REPLY_COST_ECHO});
	for (int i = 0; i < n; i++) {
		struct nlc_op *op = &ops[i];

		switch (i % K_MAX) {
		case K_OK:
			assert_int_equal(op->error, 0);
			assert_int_equal(t[i].replies, 1);
			break;
		case K_NODEV:
			assert_int_equal(op->error, -ENODEV);
			break;
		case K_BAD_HEADER:
			if (!strict)
				break;
			assert_int_equal(op->error, -EINVAL);
			assert_string_equal(op->ext.msg,
			                    "Invalid values in header for get link request");
			break;
		case K_BAD_ATTR:
			/* the offset points at the attribute: after nlmsghdr and ifinfomsg */
			assert_true(op->error < 0);
			assert_int_equal(op->ext.off, 32);
			assert_true(op->ext.msg[0] != '\0');
			break;
		case K_BAD_FILTER:
			if (op->error == -EPERM) /* no CAP_NET_ADMIN */
				break;
			assert_int_equal(op->error, -ENOENT);
			assert_string_equal(op->ext.msg,
			                    "Invalid filter command with priority of zero");
			break;
		}
	}
	assert_int_equal(nlc_stats(s)->strays, 0);
	free(t);
	free(ops);
	nlc_close(s);
}

/* A tiny receive buffer and a wide window: the kernel drops replies (ENOBUFS); the batch
 * counts it, shrinks the window, re-sends what lost its ACK, and every request completes. */
static void test_real_overrun(void **state)
{
	struct nlc_sock *s = open_or_skip(NULL);
	const int n = 200;
	struct treq *t = calloc((size_t)n, sizeof(*t));
	struct nlc_op *ops = calloc((size_t)n, sizeof(*ops));

	(void)state;
	assert_int_equal(nlc_set_rcvbuf(s, 4096), 0);
	for (int i = 0; i < n; i++) {
		t[i].idx = 1;
		ops[i] = (struct nlc_op){.encode = treq_encode, .reply = treq_reply, .ctx = &t[i]};
	}
	assert_int_equal(nlc_batch(s, ops, (size_t)n,
	                           &(struct nlc_batch_opts){.window = 200, .max_retries = 30}),
	                 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(ops[i].error, 0);
		assert_true(t[i].replies >= 1);
	}
	print_message("rcvbuf %zu: %lu overruns, %lu re-sent\n", nlc_rcvbuf(s),
	              (unsigned long)nlc_stats(s)->enobufs, (unsigned long)nlc_stats(s)->retries);
	assert_true(nlc_stats(s)->enobufs >= 1);
	assert_true(nlc_stats(s)->retries >= 1);
	free(t);
	free(ops);
	nlc_close(s);
}

struct link_dump {
	unsigned int links;
	bool saw_lo;
};

static int link_msg(void *ctx, const struct nlmsghdr *nlh)
{
	struct link_dump *d = ctx;

	if (nlh->nlmsg_type == RTM_NEWLINK) {
		d->links++;
		d->saw_lo |= req_idx(nlh) == 1;
	}
	return 0;
}

static void link_reset(void *ctx)
{
	*(struct link_dump *)ctx = (struct link_dump){0};
}

static int link_dump_encode(void *ctx, uint32_t seq, void *buf, size_t len)
{
	(void)ctx;
	return treq_encode(&(struct treq){.flags = NLM_F_DUMP}, seq, buf, len);
}

static int bad_link_dump_encode(void *ctx, uint32_t seq, void *buf, size_t len)
{
	(void)ctx;
	return treq_encode(&(struct treq){.flags = NLM_F_DUMP, .ifi_flags = 1}, seq, buf, len);
}

static void test_dumps(void **state)
{
	struct nlc_sock *s = open_or_skip(NULL);
	struct link_dump d = {0};
	struct nlc_dump_req req = {
	    .encode = link_dump_encode, .msg = link_msg, .reset = link_reset, .ctx = &d};
	struct nlc_extack ext;

	(void)state;
	assert_int_equal(nlc_dump(s, &req, &ext), 0);
	assert_true(d.saw_lo);
	assert_true(d.links >= 1);
	if (nlc_features(s)->strict_chk) {
		req.encode = bad_link_dump_encode;
		assert_int_equal(nlc_dump(s, &req, &ext), -EINVAL);
		assert_string_equal(ext.msg, "Invalid values in header for link dump request");
		/* the socket stays usable */
		req.encode = link_dump_encode;
		assert_int_equal(nlc_dump(s, &req, NULL), 0);
		assert_true(d.saw_lo);
	}
	assert_int_equal(nlc_stats(s)->strays, 0);
	nlc_close(s);
}

struct qdisc_req {
	uint16_t type, flags;
	const char *kind;
};

static int qdisc_encode(void *ctx, uint32_t seq, void *buf, size_t len)
{
	const struct qdisc_req *q = ctx;
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	if (len < 64)
		return 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = q->type;
	nlh->nlmsg_flags = NLM_F_REQUEST | q->flags;
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_ifindex = 1;
	tcm->tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
	tcm->tcm_parent = TC_H_INGRESS;
	mnl_attr_put_strz(nlh, TCA_KIND, q->kind);
	return (int)nlh->nlmsg_len;
}

static int qdisc_op(struct nlc_sock *s, uint16_t type, uint16_t flags, const char *kind)
{
	struct qdisc_req q = {type, flags, kind};
	struct nlc_op op = {.encode = qdisc_encode, .ctx = &q};

	nlc_batch(s, &op, 1, NULL);
	return op.error;
}

/* clsact on the private namespace's lo: created, then found (EEXIST is success); an "ingress"
 * qdisc in its place is reported. */
static void test_clsact(void **state)
{
	struct smoke *sm = *state;
	struct nlc_sock *s;
	struct nlc_extack ext;

	if (!sm->own_netns) {
		print_message("no private network namespace: skipped\n");
		skip();
	}
	s = open_or_skip(NULL);
	assert_int_equal(nlc_tc_ensure_clsact(s, 1, &ext), 0);
	assert_int_equal(nlc_tc_ensure_clsact(s, 1, &ext), 0);
	assert_int_equal(nlc_tc_ensure_clsact(s, 0x7ffffff0, &ext), -ENODEV);

	assert_int_equal(qdisc_op(s, RTM_DELQDISC, 0, "clsact"), 0);
	assert_int_equal(qdisc_op(s, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, "ingress"), 0);
	assert_int_equal(nlc_tc_ensure_clsact(s, 1, &ext), -EEXIST);
	assert_string_equal(ext.msg, "device 1 has a qdisc other than clsact");
	assert_int_equal(qdisc_op(s, RTM_DELQDISC, 0, "ingress"), 0);
	assert_int_equal(nlc_tc_ensure_clsact(s, 1, &ext), 0);
	nlc_close(s);
}

int main(void)
{
	struct smoke sm = {.own_netns = unshare(CLONE_NEWNET) == 0};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_prestate(test_features, &sm),
	    cmocka_unit_test_prestate(test_pipelined_getlink, &sm),
	    cmocka_unit_test_prestate(test_refusals_by_seq, &sm),
	    cmocka_unit_test_prestate(test_real_overrun, &sm),
	    cmocka_unit_test_prestate(test_dumps, &sm),
	    cmocka_unit_test_prestate(test_clsact, &sm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
