/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dumps against a fake kernel: NLM_F_DUMP_INTR restarts, errors with extack, strays, overruns. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_kernel.h"
#include "test_util.h"

enum script {
	INTR_ONCE,
	ALWAYS_INTR,
	DONE_ERROR,
	START_ERROR,
	STRAYS,
	ENOBUFS_ONCE,
	CLEAN,
};

struct dump_fixture {
	struct fake_kernel k;
	struct nlc_sock *s;
	enum script script;
	unsigned int calls;
	/* what the dump callback saw */
	int32_t got[64];
	unsigned int ngot, resets;
	int fail_at; /* msg() fails on this message number (1-based) */
};

/* Appends one dump message (an RTM_NEWLINK carrying idx) to buf at *off. */
static void put_msg(uint8_t *buf, size_t *off, uint32_t seq, uint16_t flags, int32_t idx)
{
	struct treq t = {.idx = idx, .type = RTM_NEWLINK, .flags = NLM_F_MULTI | flags};

	*off += MNL_ALIGN((size_t)treq_encode(&t, seq, buf + *off, 4096));
}

static void put_done(uint8_t *buf, size_t *off, uint32_t seq, uint16_t flags, int err,
                     const char *msg)
{
	*off += MNL_ALIGN(fk_build_done(buf + *off, 4096, seq, flags, err, msg));
}

static void respond_dump(struct fake_kernel *k, const struct nlmsghdr *req)
{
	struct dump_fixture *f = k->priv;
	uint32_t seq = req->nlmsg_seq;
	uint8_t buf[8192];
	size_t off = 0;
	bool clean = f->script == CLEAN ||
	             (f->calls > 0 && (f->script == INTR_ONCE || f->script == ENOBUFS_ONCE));

	assert_true(req->nlmsg_flags & NLM_F_DUMP);
	f->calls++;
	if (clean) {
		put_msg(buf, &off, seq, 0, 10);
		put_msg(buf, &off, seq, 0, 11);
		put_msg(buf, &off, seq, 0, 12);
		fk_reply(k, buf, off);
		off = 0;
		put_msg(buf, &off, seq, 0, 13);
		put_msg(buf, &off, seq, 0, 14);
		put_done(buf, &off, seq, 0, 0, NULL);
		fk_reply(k, buf, off);
		return;
	}
	switch (f->script) {
	case INTR_ONCE:
	case ALWAYS_INTR:
		put_msg(buf, &off, seq, 0, 1);
		put_msg(buf, &off, seq, NLM_F_DUMP_INTR, 2);
		fk_reply(k, buf, off);
		off = 0;
		put_msg(buf, &off, seq, NLM_F_DUMP_INTR, 3);
		put_done(buf, &off, seq, NLM_F_DUMP_INTR, 0, NULL);
		fk_reply(k, buf, off);
		break;
	case DONE_ERROR:
		put_msg(buf, &off, seq, 0, 1);
		put_done(buf, &off, seq, 0, -EOPNOTSUPP, "no dump for you");
		fk_reply(k, buf, off);
		break;
	case START_ERROR:
		fk_ack(k, req, -EINVAL, "Invalid values in header for dump request", 20, false);
		break;
	case STRAYS:
		fk_ack(k, req, 0, NULL, 0, true); /* an ACK for an old request of another seq */
		((struct nlmsghdr *)k->pending[0]->data)->nlmsg_seq = seq - 7;
		put_msg(buf, &off, seq + 1, 0, 99);
		put_msg(buf, &off, seq, 0, 1);
		put_msg(buf, &off, seq - 1, 0, 98);
		put_done(buf, &off, seq, 0, 0, NULL);
		fk_reply(k, buf, off);
		break;
	case ENOBUFS_ONCE:
		put_msg(buf, &off, seq, 0, 1);
		fk_reply(k, buf, off);
		off = 0;
		put_done(buf, &off, seq, 0, 0, NULL);
		fk_reply(k, buf, off);
		k->enobufs = true; /* something in between was lost */
		break;
	case CLEAN:
		break;
	}
}

static int dump_msg(void *ctx, const struct nlmsghdr *nlh)
{
	struct dump_fixture *f = ctx;

	if (f->ngot < 64)
		f->got[f->ngot] = req_idx(nlh);
	f->ngot++;
	if (f->fail_at && (int)f->ngot == f->fail_at)
		return -ENOMEM;
	return 0;
}

static void dump_reset(void *ctx)
{
	struct dump_fixture *f = ctx;

	f->ngot = 0;
	f->resets++;
}

static int dump_encode(void *ctx, uint32_t seq, void *buf, size_t len)
{
	struct treq t = {.flags = NLM_F_DUMP};

	(void)ctx;
	return treq_encode(&t, seq, buf, len);
}

static int run_dump(struct dump_fixture *f, struct nlc_extack *ext)
{
	struct nlc_dump_req d = {
	    .encode = dump_encode, .msg = dump_msg, .reset = dump_reset, .ctx = f};

	return nlc_dump(f->s, &d, ext);
}

static int setup(void **state)
{
	struct dump_fixture *f = calloc(1, sizeof(*f));

	fk_init(&f->k);
	f->k.respond = respond_dump;
	f->k.priv = f;
	assert_int_equal(nlc_open_transport(&f->s, &fk_transport, &f->k, 1 << 20), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct dump_fixture *f = *state;

	nlc_close(f->s);
	fk_free(&f->k);
	free(f);
	return 0;
}

static void assert_clean_result(struct dump_fixture *f)
{
	assert_int_equal(f->ngot, 5);
	for (unsigned int i = 0; i < 5; i++)
		assert_int_equal(f->got[i], 10 + (int)i);
}

static void test_clean(void **state)
{
	struct dump_fixture *f = *state;
	struct nlc_extack ext;

	f->script = CLEAN;
	assert_int_equal(run_dump(f, &ext), 0);
	assert_clean_result(f);
	assert_int_equal(f->resets, 0);
	assert_int_equal(nlc_stats(f->s)->dump_restarts, 0);
}

static void test_intr_then_clean(void **state)
{
	struct dump_fixture *f = *state;

	f->script = INTR_ONCE;
	assert_int_equal(run_dump(f, NULL), 0);
	assert_int_equal(f->calls, 2);
	assert_int_equal(f->resets, 1);
	assert_clean_result(f); /* nothing of the inconsistent pass is left */
	assert_int_equal(nlc_stats(f->s)->dump_restarts, 1);
}

static void test_always_intr(void **state)
{
	struct dump_fixture *f = *state;

	f->script = ALWAYS_INTR;
	assert_int_equal(run_dump(f, NULL), -EINTR);
	assert_int_equal(f->calls, NLC_DUMP_TRIES);
	assert_int_equal(f->resets, NLC_DUMP_TRIES - 1);
	/* the socket is in step: a clean dump afterwards works */
	f->script = CLEAN;
	f->ngot = 0;
	assert_int_equal(run_dump(f, NULL), 0);
	assert_clean_result(f);
	assert_int_equal(nlc_stats(f->s)->strays, 0);
}

static void test_done_error(void **state)
{
	struct dump_fixture *f = *state;
	struct nlc_extack ext;

	f->script = DONE_ERROR;
	assert_int_equal(run_dump(f, &ext), -EOPNOTSUPP);
	assert_string_equal(ext.msg, "no dump for you");
	assert_int_equal(f->calls, 1);
}

static void test_start_error(void **state)
{
	struct dump_fixture *f = *state;
	struct nlc_extack ext;

	f->script = START_ERROR;
	assert_int_equal(run_dump(f, &ext), -EINVAL);
	assert_string_equal(ext.msg, "Invalid values in header for dump request");
	assert_int_equal(ext.off, 20);
	assert_int_equal(f->ngot, 0);
}

static void test_strays(void **state)
{
	struct dump_fixture *f = *state;

	f->script = STRAYS;
	assert_int_equal(run_dump(f, NULL), 0);
	assert_int_equal(f->ngot, 1);
	assert_int_equal(f->got[0], 1);
	assert_int_equal(nlc_stats(f->s)->strays, 3);
}

static void test_enobufs_redo(void **state)
{
	struct dump_fixture *f = *state;

	f->script = ENOBUFS_ONCE;
	assert_int_equal(run_dump(f, NULL), 0);
	assert_int_equal(f->calls, 2);
	assert_clean_result(f);
	assert_int_equal(nlc_stats(f->s)->enobufs, 1);
}

static void test_callback_error(void **state)
{
	struct dump_fixture *f = *state;

	f->script = CLEAN;
	f->fail_at = 2;
	assert_int_equal(run_dump(f, NULL), -ENOMEM);
	assert_int_equal(f->ngot, 2); /* no more deliveries after the failure */
	/* the rest of the dump was read: the next one starts clean */
	f->fail_at = 0;
	f->ngot = 0;
	assert_int_equal(run_dump(f, NULL), 0);
	assert_clean_result(f);
	assert_int_equal(nlc_stats(f->s)->strays, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_intr_then_clean, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_always_intr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_done_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strays, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enobufs_redo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_callback_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
