/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pipelined batches and extack parsing against a fake kernel: no netlink needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_kernel.h"
#include "test_util.h"

#define N_OPS 1000

struct fixture {
	struct fake_kernel *k;
	struct nlc_sock *s;
	struct treq *t;
	struct nlc_op *ops;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->k = malloc(sizeof(*f->k));
	fk_init(f->k);
	/* 200 KB of receive buffer: 50 ACKs, 12 echoes per window */
	assert_int_equal(nlc_open_transport(&f->s, &fk_transport, f->k, 200 * 1024), 0);
	f->t = calloc(N_OPS, sizeof(*f->t));
	f->ops = calloc(N_OPS, sizeof(*f->ops));
	for (int i = 0; i < N_OPS; i++) {
		f->t[i].idx = i;
		f->ops[i] =
		    (struct nlc_op){.encode = treq_encode, .reply = treq_reply, .ctx = &f->t[i]};
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nlc_close(f->s);
	fk_free(f->k);
	free(f->k);
	free(f->t);
	free(f->ops);
	free(f);
	return 0;
}

/* ---- extack parsing ---------------------------------------------------------------------- */

static void test_extack_parse(void **state)
{
	uint8_t req_buf[256], buf[1024];
	struct treq t = {.idx = 7, .extra = 40};
	struct nlmsghdr *req = (void *)req_buf, *nlh = (void *)buf;
	struct nlc_extack ext;
	char longmsg[400];

	(void)state;
	treq_encode(&t, 42, req_buf, sizeof(req_buf));

	/* capped, message and offset */
	fk_build_ack(buf, sizeof(buf), req, -EINVAL, "Invalid thing", 36, true);
	assert_int_equal(nlc_msg_error(nlh, &ext), -EINVAL);
	assert_string_equal(ext.msg, "Invalid thing");
	assert_int_equal(ext.off, 36);

	/* not capped: the TLVs come after the whole request */
	fk_build_ack(buf, sizeof(buf), req, -EOPNOTSUPP, "Not here", 0, false);
	assert_int_equal(nlc_msg_error(nlh, &ext), -EOPNOTSUPP);
	assert_string_equal(ext.msg, "Not here");
	assert_int_equal(ext.off, 0);

	/* an ACK with a warning */
	fk_build_ack(buf, sizeof(buf), req, 0, "just a warning", 0, true);
	assert_int_equal(nlc_msg_error(nlh, &ext), 0);
	assert_string_equal(ext.msg, "just a warning");

	/* no TLVs: ext cleared */
	strcpy(ext.msg, "stale");
	ext.off = 9;
	fk_build_ack(buf, sizeof(buf), req, -ENODEV, NULL, 0, false);
	assert_int_equal(nlc_msg_error(nlh, &ext), -ENODEV);
	assert_string_equal(ext.msg, "");
	assert_int_equal(ext.off, 0);

	/* a long message is cut to the buffer */
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	fk_build_ack(buf, sizeof(buf), req, -EINVAL, longmsg, 0, true);
	assert_int_equal(nlc_msg_error(nlh, &ext), -EINVAL);
	assert_int_equal(strlen(ext.msg), NLC_EXTACK_MSG_MAX - 1);

	/* NLMSG_DONE with an error and extack, and an old-style empty one */
	fk_build_done(buf, sizeof(buf), 5, 0, -EMSGSIZE, "dump too big");
	assert_int_equal(nlc_msg_error(nlh, &ext), -EMSGSIZE);
	assert_string_equal(ext.msg, "dump too big");
	nlh->nlmsg_len = NLMSG_HDRLEN;
	assert_int_equal(nlc_msg_error(nlh, &ext), 0);

	/* malformed: too short for struct nlmsgerr, a positive error */
	fk_build_ack(buf, sizeof(buf), req, -EINVAL, NULL, 0, true);
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(nlc_msg_error(nlh, &ext), -EBADMSG);
	fk_build_ack(buf, sizeof(buf), req, 5, NULL, 0, true);
	assert_int_equal(nlc_msg_error(nlh, &ext), -EBADMSG);

	/* an uncapped error claiming a request longer than itself: no TLVs read */
	fk_build_ack(buf, sizeof(buf), req, -EINVAL, "m", 0, true);
	nlh->nlmsg_flags &= ~NLM_F_CAPPED;
	assert_int_equal(nlc_msg_error(nlh, &ext), -EINVAL);
	assert_string_equal(ext.msg, "");
}

/* ---- batches ----------------------------------------------------------------------------- */

static void test_all_acked_windowed(void **state)
{
	struct fixture *f = *state;
	const struct nlc_stats *st = nlc_stats(f->s);

	assert_int_equal(nlc_batch(f->s, f->ops, N_OPS, NULL), 0);
	for (int i = 0; i < N_OPS; i++) {
		assert_int_equal(f->ops[i].state, NLC_OP_DONE);
		assert_int_equal(f->ops[i].error, 0);
		assert_int_equal(f->ops[i].tries, 1);
	}
	/* window = 200 KB / 2 / 2048 = 50, capped at NLC_WINDOW_MAX (32) */
	assert_int_equal(f->k->max_outstanding, NLC_WINDOW_MAX);
	assert_int_equal(f->k->max_per_send, NLC_WINDOW_MAX);
	assert_int_equal(f->k->requests, N_OPS);
	assert_true(f->k->sends <= N_OPS / NLC_WINDOW_MAX + 1);
	assert_int_equal(st->requests, N_OPS);
	assert_int_equal(st->strays, 0);
	assert_int_equal(st->enobufs, 0);

	/* an explicit window, above the cap too, and the echo cost (under the cap) */
	fk_init(f->k);
	assert_int_equal(nlc_batch(f->s, f->ops, N_OPS, &(struct nlc_batch_opts){.window = 7}), 0);
	assert_int_equal(f->k->max_outstanding, 7);
	fk_init(f->k);
	assert_int_equal(nlc_batch(f->s, f->ops, N_OPS, &(struct nlc_batch_opts){.window = 45}), 0);
	assert_int_equal(f->k->max_outstanding, 45);
	fk_init(f->k);
	assert_int_equal(nlc_batch(f->s, f->ops, N_OPS,
	                           &(struct nlc_batch_opts){.reply_cost = NLC_REPLY_COST_ECHO}),
	                 0);
	assert_int_equal(f->k->max_outstanding, 200 * 1024 / 2 / NLC_REPLY_COST_ECHO);
}

static void respond_errors(struct fake_kernel *k, const struct nlmsghdr *req)
{
	int32_t i = req_idx(req);
	char msg[64];

	switch (i % 3) {
	case 0:
		snprintf(msg, sizeof(msg), "bad request %d", i);
		fk_ack(k, req, i % 2 ? -EINVAL : -EOPNOTSUPP, msg, 16 + (uint32_t)i, i % 2);
		break;
	case 1:
		snprintf(msg, sizeof(msg), "warning %d", i);
		fk_ack(k, req, 0, msg, 0, false);
		break;
	default:
		fk_ack(k, req, 0, NULL, 0, false);
		break;
	}
}

static void test_errors_out_of_order(void **state)
{
	struct fixture *f = *state;
	char want[64];
	int failed = 0;

	f->k->respond = respond_errors;
	f->k->reverse = true; /* every datagram's ACKs come back newest first */
	for (int i = 0; i < N_OPS; i++)
		failed += i % 3 == 0;
	assert_int_equal(nlc_batch(f->s, f->ops, N_OPS, NULL), failed);
	for (int i = 0; i < N_OPS; i++) {
		struct nlc_op *op = &f->ops[i];

		assert_int_equal(op->state, NLC_OP_DONE);
		switch (i % 3) {
		case 0:
			snprintf(want, sizeof(want), "bad request %d", i);
			assert_int_equal(op->error, i % 2 ? -EINVAL : -EOPNOTSUPP);
			assert_string_equal(op->ext.msg, want);
			assert_int_equal(op->ext.off, 16 + i);
			break;
		case 1:
			snprintf(want, sizeof(want), "warning %d", i);
			assert_int_equal(op->error, 0);
			assert_string_equal(op->ext.msg, want);
			break;
		default:
			assert_int_equal(op->error, 0);
			assert_string_equal(op->ext.msg, "");
			break;
		}
	}
	assert_int_equal(nlc_stats(f->s)->strays, 0);
}

static void respond_echo(struct fake_kernel *k, const struct nlmsghdr *req)
{
	uint8_t buf[2048];
	struct treq t = {.idx = req_idx(req) * 10, .type = RTM_NEWLINK, .extra = 1000};
	int len = treq_encode(&t, req->nlmsg_seq, buf, sizeof(buf));

	fk_reply(k, buf, (size_t)len); /* the echo comes before the ACK */
	fk_ack(k, req, 0, NULL, 0, true);
	/* a stray: an ACK for a sequence number nobody used */
	((struct nlmsghdr *)buf)->nlmsg_seq = req->nlmsg_seq + 5000000;
	fk_ack(k, (void *)buf, 0, NULL, 0, true);
}

static void test_echo_and_strays(void **state)
{
	struct fixture *f = *state;

	f->k->respond = respond_echo;
	f->t[17].reply_ret = -EILSEQ; /* a reply callback can fail its op */
	assert_int_equal(nlc_batch(f->s, f->ops, N_OPS,
	                           &(struct nlc_batch_opts){.reply_cost = NLC_REPLY_COST_ECHO}),
	                 1);
	for (int i = 0; i < N_OPS; i++) {
		assert_int_equal(f->t[i].replies, 1);
		assert_int_equal(f->t[i].reply_idx, i * 10);
		assert_int_equal(f->ops[i].error, i == 17 ? -EILSEQ : 0);
	}
	/* the last stray is still queued: the batch stops reading at its last ACK */
	assert_int_equal(nlc_stats(f->s)->strays, N_OPS - 1);
}

static void test_encode_failures(void **state)
{
	struct fixture *f = *state;
	const int n = 40;

	f->t[3].fail = -EINVAL; /* the encoder refuses the rule */
	f->t[5].extra = 40000;  /* never fits, even alone */
	f->t[10].extra = 20000; /* fit alone: forces a flush before and after */
	f->t[11].extra = 20000;
	assert_int_equal(nlc_batch(f->s, f->ops, n, NULL), 2);
	assert_int_equal(f->ops[3].error, -EINVAL);
	assert_int_equal(f->ops[3].tries, 0);
	assert_int_equal(f->ops[5].error, -EMSGSIZE);
	assert_int_equal(f->ops[5].tries, 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(f->ops[i].state, NLC_OP_DONE);
		if (i != 3 && i != 5)
			assert_int_equal(f->ops[i].error, 0);
	}
	assert_int_equal(f->k->requests, n - 2);
	assert_true(f->k->sends >= 3); /* 0-10 | 11 | 12-39 at least */
}

static void test_enobufs_retry(void **state)
{
	struct fixture *f = *state;
	const int n = 300;

	f->k->capacity = 10; /* the "receive buffer" holds 10 replies */
	assert_int_equal(
	    nlc_batch(f->s, f->ops, n, &(struct nlc_batch_opts){.window = 64, .max_retries = 8}),
	    0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(f->ops[i].state, NLC_OP_DONE);
		assert_int_equal(f->ops[i].error, 0);
		assert_true(fk_ack_delivered(f->k, f->ops[i].seq));
	}
	assert_true(nlc_stats(f->s)->enobufs >= 1);
	assert_true(nlc_stats(f->s)->retries >= 54);
	assert_true(f->ops[63].tries > 1);
	assert_int_equal(f->ops[0].tries, 1);
}

static void test_enobufs_no_retry(void **state)
{
	struct fixture *f = *state;
	const int n = 200;
	int failed = 0, ok = 0;

	f->k->capacity = 10;
	failed = nlc_batch(f->s, f->ops, n, &(struct nlc_batch_opts){.window = 32});
	assert_true(failed > 0);
	/* every op knows exactly whether its ACK arrived */
	for (int i = 0; i < n; i++) {
		struct nlc_op *op = &f->ops[i];

		assert_int_equal(op->state, NLC_OP_DONE);
		assert_int_equal(op->tries, 1);
		if (fk_ack_delivered(f->k, op->seq)) {
			assert_int_equal(op->error, 0);
			ok++;
		} else {
			assert_int_equal(op->error, -ENOBUFS);
		}
	}
	assert_int_equal(ok + failed, n);
	assert_int_equal(ok, (int)f->k->acks_delivered);
	assert_int_equal(f->ops[0].error, 0);
	assert_int_equal(f->ops[10].error, -ENOBUFS);
	assert_true(nlc_stats(f->s)->enobufs >= 1);
}

static void respond_drop_5(struct fake_kernel *k, const struct nlmsghdr *req)
{
	if (req_idx(req) != 5)
		fk_ack(k, req, 0, NULL, 0, true);
}

static void test_timeout(void **state)
{
	struct fixture *f = *state;

	f->k->respond = respond_drop_5;
	assert_int_equal(nlc_batch(f->s, f->ops, 20, NULL), 1);
	for (int i = 0; i < 20; i++)
		assert_int_equal(f->ops[i].error, i == 5 ? -ETIMEDOUT : 0);
	assert_int_equal(nlc_stats(f->s)->timeouts, 1);
}

static void test_send_failure(void **state)
{
	struct fixture *f = *state;
	int failed;

	f->k->fail_send_at = 2;
	f->k->fail_send_err = -EPERM;
	failed = nlc_batch(f->s, f->ops, 100, &(struct nlc_batch_opts){.window = 10});
	assert_int_equal(failed, 10);
	for (int i = 0; i < 100; i++)
		assert_int_equal(f->ops[i].error, i >= 10 && i < 20 ? -EPERM : 0);
}

static void test_empty_and_seq(void **state)
{
	struct fixture *f = *state;
	uint32_t seq;

	assert_int_equal(nlc_batch(f->s, f->ops, 0, NULL), 0);
	assert_int_equal(nlc_batch(f->s, f->ops, 3, NULL), 0);
	seq = f->ops[2].seq;
	assert_int_equal(f->ops[1].seq, seq - 1);
	assert_int_equal(nlc_batch(f->s, f->ops, 1, NULL), 0);
	assert_int_equal(f->ops[0].seq, seq + 1); /* sequence numbers never repeat */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_extack_parse),
	    cmocka_unit_test_setup_teardown(test_all_acked_windowed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors_out_of_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_echo_and_strays, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_encode_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enobufs_retry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enobufs_no_retry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_and_seq, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
