/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Golden tests: for every shape of test/golden/shapes.txt,
 *  - tc_encode(rule) equals the bytes iproute2's tc sent for the line (captured by
 *    test/golden/capture.sh), ignoring nlmsg_seq and nlmsg_pid;
 *  - tc_print(rule) is exactly that line, so the printed text is proven to be what tc turns into
 *    the same bytes;
 *  - tc_decode(encode(rule)) == rule and tc_decode(tc's bytes) == rule;
 *  - every buffer smaller than the message gives 0 ("does not fit"), never a partial write.
 *
 * Differences from tc's bytes, all in the netlink header:
 *  - nlmsg_seq / nlmsg_pid: tc uses the time and its socket; ours are the caller's.
 *  - TC_MSG_GET: `tc filter get` sends NLM_F_REQUEST|NLM_F_ECHO without NLM_F_ACK; tc_encode
 *    always sets NLM_F_ACK (tc.h contract, so a pipelined batch sees one ack per request). The
 *    kernel answers a get the same way either way, plus the ack. We pass NLM_F_ECHO like tc and
 *    expect tc's flags | NLM_F_ACK.
 * Everything else (TCA_OPTIONS with flags + ethertype on delete/get, NLM_F_CREATE without
 * NLM_F_REPLACE on replace, no NLA_F_NESTED outside action options) matches tc 6.1 exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/netlink.h>

#include "shapes.h"

#define MAXMSG 8192

static void hexdump_diff(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	size_t n = na > nb ? na : nb;

	for (size_t i = 0; i < n; i++)
		if (i >= na || i >= nb || a[i] != b[i])
			fprintf(stderr, "  offset %zu (0x%zx): ours %02x tc %02x\n", i, i,
			        i < na ? a[i] : 0, i < nb ? b[i] : 0);
}

static int encode_like_tc(const struct shape *s, const struct tc_rule *r, uint8_t *buf, size_t len)
{
	char err[256];
	int n = tc_encode(r, s->op, s->op == TC_MSG_GET ? NLM_F_ECHO : 0, 0, buf, len, err,
	                  sizeof(err));

	if (n < 0)
		fprintf(stderr, "%s: tc_encode: %s\n", s->name, err);
	return n;
}

static void test_encode_matches_tc(void **state)
{
	(void)state;
	for (unsigned i = 0; i < n_shapes; i++) {
		const struct shape *s = &shapes[i];
		uint8_t want[MAXMSG], got[MAXMSG];
		char cmd[4096];
		struct tc_rule r;
		size_t nwant = load_vector(s->name, cmd, sizeof(cmd), want, sizeof(want));
		int n;

		s->build(&r);
		n = encode_like_tc(s, &r, got, sizeof(got));
		assert_true(n > 0);
		assert_true(nwant >= sizeof(struct nlmsghdr));
		/* seq and pid are the caller's / tc's own */
		memcpy(got + offsetof(struct nlmsghdr, nlmsg_seq),
		       want + offsetof(struct nlmsghdr, nlmsg_seq), 8);
		if (s->op == TC_MSG_GET) {
			struct nlmsghdr *g = (struct nlmsghdr *)got;

			assert_int_equal(g->nlmsg_flags,
			                 ((struct nlmsghdr *)want)->nlmsg_flags | NLM_F_ACK);
			g->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
		}
		if ((size_t)n != nwant || memcmp(got, want, nwant)) {
			fprintf(stderr, "%s: %d bytes, tc sent %zu; differences:\n", s->name, n,
			        nwant);
			hexdump_diff(got, (size_t)n, want, nwant);
			fail_msg("%s: encoding differs from tc's", s->name);
		}
	}
}

static void test_print_is_tc_line(void **state)
{
	(void)state;
	for (unsigned i = 0; i < n_shapes; i++) {
		const struct shape *s = &shapes[i];
		uint8_t want[MAXMSG];
		char cmd[4096], line[4096];
		struct tc_rule r;
		int n;

		load_vector(s->name, cmd, sizeof(cmd), want, sizeof(want));
		s->build(&r);
		n = tc_print(&r, s->op, fake_ifname, NULL, line, sizeof(line));
		assert_int_equal(n, (int)strlen(cmd));
		if (strcmp(line, cmd))
			fail_msg("%s:\n  printed %s\n  tc line %s", s->name, line, cmd);
	}
}

static void check_decode(const struct shape *s, const struct tc_rule *want, const uint8_t *msg,
                         size_t len, const char *what)
{
	struct tc_rule got;
	char err[256];
	int ret = tc_decode(msg, len, &got, err, sizeof(err));

	if (ret)
		fail_msg("%s: decode of %s: %d %s", s->name, what, ret, err);
	if (!tc_rule_equal(want, &got)) {
		char a[4096], b[4096];

		tc_print(want, TC_MSG_NEW, fake_ifname, NULL, a, sizeof(a));
		tc_print(&got, TC_MSG_NEW, fake_ifname, NULL, b, sizeof(b));
		fail_msg("%s: decode of %s differs:\n  want %s\n  got  %s", s->name, what, a, b);
	}
	assert_false(got.state.valid); /* requests carry no stats */
}

static void test_decode_roundtrip(void **state)
{
	(void)state;
	for (unsigned i = 0; i < n_shapes; i++) {
		const struct shape *s = &shapes[i];
		uint8_t want[MAXMSG] __attribute__((aligned(8)));
		uint8_t got[MAXMSG] __attribute__((aligned(8)));
		char cmd[4096];
		struct tc_rule r;
		size_t nwant;
		int n;

		if (s->op == TC_MSG_GET) /* a request, not a filter message */
			continue;
		nwant = load_vector(s->name, cmd, sizeof(cmd), want, sizeof(want));
		s->build(&r);
		n = encode_like_tc(s, &r, got, sizeof(got));
		assert_true(n > 0);
		check_decode(s, &r, got, (size_t)n, "our encoding");
		check_decode(s, &r, want, nwant, "tc's bytes");
	}
}

static void test_too_small(void **state)
{
	(void)state;
	for (unsigned i = 0; i < n_shapes; i++) {
		const struct shape *s = &shapes[i];
		uint8_t full[MAXMSG];
		struct tc_rule r;
		int n;

		s->build(&r);
		n = encode_like_tc(s, &r, full, sizeof(full));
		assert_true(n > 0);
		for (int size = 0; size < n; size++) {
			/* exactly size bytes on the heap: ASan catches any write past it */
			uint8_t *buf = malloc(size ? (size_t)size : 1);

			assert_non_null(buf);
			assert_int_equal(encode_like_tc(s, &r, buf, (size_t)size), 0);
			free(buf);
		}
		assert_int_equal(encode_like_tc(s, &r, full, (size_t)n), n);
	}
}

static void test_print_truncates(void **state)
{
	struct tc_rule r;
	char full[4096], small[16];
	int n;

	(void)state;
	shapes[0].build(&r);
	n = tc_print(&r, TC_MSG_NEW, fake_ifname, NULL, full, sizeof(full));
	assert_true(n > (int)sizeof(small));
	assert_int_equal(tc_print(&r, TC_MSG_NEW, fake_ifname, NULL, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, full, sizeof(small) - 1);
	assert_int_equal(tc_print(&r, TC_MSG_NEW, fake_ifname, NULL, NULL, 0), n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_matches_tc), cmocka_unit_test(test_print_is_tc_line),
	    cmocka_unit_test(test_decode_roundtrip),  cmocka_unit_test(test_too_small),
	    cmocka_unit_test(test_print_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
