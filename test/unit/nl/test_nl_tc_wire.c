/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bytes the tc batches put on the wire, with the real encoder (src/tc), against the golden
 * vectors iproute2's tc sent (test/golden, shapes from test/unit/tc/shapes.c):
 *  - nlc_tc_replace_batch_noecho() of `filter replace ... handle 0x1` sends exactly tc's bytes
 *    (only nlmsg_seq / nlmsg_pid differ): NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE, no NLM_F_ECHO,
 *    tcm_handle 1 as the caller chose it;
 *  - nlc_tc_replace_batch() sends the same plus NLM_F_ECHO;
 *  - the flow strategy's layout (flow_orig_snat, captured as `filter add`) as a no-echo replace:
 *    tc's bytes with NLM_F_CREATE instead of NLM_F_CREATE|NLM_F_EXCL, and its handle;
 *  - per-rule ACKs and extack of a no-echo batch land on the right rule whatever their order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "fake_kernel.h"
#include "nft-tc-offload/tc.h"
#include "shapes.h"

#define MAX_CAPTURE 64

struct wire {
	struct fake_kernel k;
	struct nlc_sock *s;
	size_t n;
	uint8_t req[MAX_CAPTURE][4096];
	size_t len[MAX_CAPTURE];
};

/* Keeps every request; ACKs it, except handle 0x66 which the "kernel" refuses with extack. */
static void respond(struct fake_kernel *k, const struct nlmsghdr *req)
{
	struct wire *w = k->priv;
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(req);

	assert_true(w->n < MAX_CAPTURE);
	assert_true(req->nlmsg_len <= sizeof(w->req[0]));
	memcpy(w->req[w->n], req, req->nlmsg_len);
	w->len[w->n++] = req->nlmsg_len;
	if (tcm->tcm_handle == 0x66)
		fk_ack(k, req, -EEXIST, "Filter already exists", 36, true);
	else
		fk_ack(k, req, 0, NULL, 0, true);
}

static int setup(void **state)
{
	struct wire *w = calloc(1, sizeof(*w));

	fk_init(&w->k);
	w->k.respond = respond;
	w->k.priv = w;
	assert_int_equal(nlc_open_transport(&w->s, &fk_transport, &w->k, 256 * 1024), 0);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct wire *w = *state;

	nlc_close(w->s);
	fk_free(&w->k);
	free(w);
	return 0;
}

static const struct shape *find_shape(const char *name)
{
	for (unsigned i = 0; i < n_shapes; i++)
		if (strcmp(shapes[i].name, name) == 0)
			return &shapes[i];
	fail_msg("no shape %s", name);
	return NULL;
}

static void build(const char *name, struct tc_rule *r, uint8_t *golden, size_t *glen)
{
	char cmd[4096];

	find_shape(name)->build(r);
	*glen = load_vector(name, cmd, sizeof(cmd), golden, 4096);
	assert_true(*glen > sizeof(struct nlmsghdr) + sizeof(struct tcmsg));
}

/* got == want apart from nlmsg_seq and nlmsg_pid, and with want's flags replaced by flags. */
static void assert_wire(const uint8_t *got, size_t gotlen, const uint8_t *want, size_t wantlen,
                        uint16_t flags)
{
	struct nlmsghdr a, b;

	assert_int_equal(gotlen, wantlen);
	memcpy(&a, got, sizeof(a));
	memcpy(&b, want, sizeof(b));
	assert_int_equal(a.nlmsg_len, b.nlmsg_len);
	assert_int_equal(a.nlmsg_type, b.nlmsg_type);
	assert_int_equal(a.nlmsg_flags, flags);
	assert_memory_equal(got + sizeof(a), want + sizeof(b), wantlen - sizeof(a));
}

static uint32_t wire_handle(const uint8_t *msg)
{
	struct tcmsg tcm;

	memcpy(&tcm, msg + NLMSG_HDRLEN, sizeof(tcm));
	return tcm.tcm_handle;
}

static void test_replace_noecho_golden(void **state)
{
	struct wire *w = *state;
	static uint8_t golden[4096];
	struct nlc_tc_result res;
	struct tc_rule r;
	size_t glen;
	struct nlmsghdr g;

	build("replace_v4", &r, golden, &glen);
	memcpy(&g, golden, sizeof(g));
	/* what tc itself sent for `filter replace`: the flags we must send too */
	assert_int_equal(g.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
	assert_int_equal(r.id.handle, 1);

	assert_int_equal(nlc_tc_replace_batch_noecho(w->s, &r, 1, &res, NULL), 0);
	assert_int_equal(w->n, 1);
	assert_wire(w->req[0], w->len[0], golden, glen, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
	assert_int_equal(wire_handle(w->req[0]), 1);
	assert_int_equal(res.error, 0);
	assert_false(res.echoed);
	assert_int_equal(res.id.handle, 1);

	/* the echo path: the same message, asking for the echo */
	assert_int_equal(nlc_tc_replace_batch(w->s, &r, 1, &res, NULL, NULL), 0);
	assert_int_equal(w->n, 2);
	assert_wire(w->req[1], w->len[1], golden, glen,
	            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_ECHO);
	assert_false(res.echoed); /* this fake kernel does not echo */
}

static void test_flow_layout_noecho(void **state)
{
	struct wire *w = *state;
	static uint8_t golden[4096];
	struct nlc_tc_result res;
	struct tc_rule r;
	size_t glen;

	build("flow_orig_snat", &r, golden, &glen); /* captured as `filter add` */
	assert_int_equal(nlc_tc_replace_batch_noecho(w->s, &r, 1, &res, NULL), 0);
	assert_int_equal(w->n, 1);
	assert_wire(w->req[0], w->len[0], golden, glen, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
	assert_int_equal(wire_handle(w->req[0]), r.id.handle);
}

/* Many rules, one refused, replies reversed: each result is its own rule's. */
static void test_noecho_per_rule(void **state)
{
	struct wire *w = *state;
	static uint8_t golden[4096];
	struct tc_rule *rules = calloc(40, sizeof(*rules));
	struct nlc_tc_result res[40];
	size_t glen;

	build("flow_orig_snat", &rules[0], golden, &glen);
	for (uint32_t i = 1; i < 40; i++) {
		rules[i] = rules[0];
		rules[i].id.handle = 0x50 + i; /* 0x66 = i 22 is refused */
		rules[i].flower.key.src_port = (uint16_t)(1000 + i);
	}
	w->k.reverse = true;
	assert_int_equal(nlc_tc_replace_batch_noecho(w->s, rules, 40, res, NULL), 1);
	assert_int_equal(w->n, 40);
	assert_true(w->k.max_per_send > 1); /* pipelined: many requests per sendmsg */
	for (size_t i = 0; i < 40; i++) {
		assert_int_equal(wire_handle(w->req[i]), rules[i].id.handle);
		assert_int_equal(res[i].id.handle, rules[i].id.handle);
		if (rules[i].id.handle == 0x66) {
			assert_int_equal(res[i].error, -EEXIST);
			assert_string_equal(res[i].ext.msg, "Filter already exists");
			assert_int_equal(res[i].ext.off, 36);
		} else {
			assert_int_equal(res[i].error, 0);
			assert_string_equal(res[i].ext.msg, "");
		}
	}
	free(rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_replace_noecho_golden, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flow_layout_noecho, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_noecho_per_rule, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
