/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tc flower decoder: tc_decode() on the input as one netlink message. On success the rule
 * goes through tc_print() and tc_encode() (every message kind); when tc_encode() takes it, the
 * encoding must decode back to an equal rule (tc_rule_equal), and every smaller buffer must make
 * tc_encode() say "does not fit". The rule is also checked against the built-in profiles.
 * tc_decode_brief() (terse dumps) reads the same input: whatever tc_decode() takes, it takes
 * with the same id, action count and cookie.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

#define MSG_MAX 16384

static const char *ifname(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	(void)ctx;
	if (ifindex > 1000)
		return NULL; /* unknown device: tc_print falls back to the number or refuses */
	snprintf(buf, IFNAMSIZ, "eth%u", ifindex);
	return buf;
}

static void print(const struct tc_rule *r, enum tc_msg_op op)
{
	char line[4096], small[16];
	int n = tc_print(r, op, ifname, NULL, line, sizeof(line));

	if (n < 0)
		return;
	if ((size_t)n < sizeof(line))
		FUZZ_CHECK(strlen(line) == (size_t)n);
	/* a truncated print must report the same length */
	FUZZ_CHECK(tc_print(r, op, ifname, NULL, small, sizeof(small)) == n);
	FUZZ_CHECK(strlen(small) < sizeof(small));
}

static void encode(const struct tc_rule *r, enum tc_msg_op op)
{
	uint8_t buf[MSG_MAX];
	char err[256];
	struct tc_rule back;
	int n = tc_encode(r, op, 0, 7, buf, sizeof(buf), err, sizeof(err));

	FUZZ_CHECK(n >= 0 || n == -EINVAL);
	if (n <= 0)
		return;
	FUZZ_CHECK(tc_encode(r, op, 0, 7, buf, (size_t)n - 1, err, sizeof(err)) == 0);
	n = tc_encode(r, op, 0, 7, buf, sizeof(buf), err, sizeof(err));
	if (op == TC_MSG_DELETE || op == TC_MSG_GET)
		return; /* ids only: decode wants a whole filter */
	FUZZ_CHECK(tc_decode(buf, (size_t)n, &back, err, sizeof(err)) == 0);
	FUZZ_CHECK(tc_rule_equal(r, &back));
}

int nto_fuzz_tc(const uint8_t *data, size_t size)
{
	static const enum tc_msg_op ops[] = {TC_MSG_NEW, TC_MSG_REPLACE, TC_MSG_DELETE, TC_MSG_GET};
	struct profile_set profiles;
	char err[PROFILE_ERR_MAX];
	char err2[PROFILE_ERR_MAX];
	struct tc_rule r;
	struct tc_brief b;
	void *msg;
	int rc, brc;

	if (size > MSG_MAX)
		return 0;
	/* an exact-size heap copy: ASan sees any read past the message */
	msg = malloc(size ? size : 1);
	if (!msg)
		return 0;
	if (size)
		memcpy(msg, data, size);
	rc = tc_decode(msg, size, &r, err, sizeof(err));
	/* the brief decoder (terse dumps) on the same bytes: it reads less, so it takes every
	 * message tc_decode takes, with the same place and cookie */
	brc = tc_decode_brief_flags(msg, size, &b, size % 2 ? TC_BRIEF_NO_STATS : 0, err2,
	                            sizeof(err2));
	free(msg);
	FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL);
	FUZZ_CHECK(brc == 0 || brc == -ENOENT || brc == -EINVAL);
	if (rc)
		return 0;
	FUZZ_CHECK(brc == 0);
	FUZZ_CHECK(!memcmp(&b.id, &r.id, sizeof(b.id)) && b.n_actions == r.n_actions &&
	           b.cookie_len == r.cookie_len && !memcmp(b.cookie, r.cookie, r.cookie_len));
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		print(&r, ops[i]);
		encode(&r, ops[i]);
	}
	(void)profile_rule_hw_actions(&r);
	profile_set_init(&profiles);
	FUZZ_CHECK(profile_set_load_builtin(&profiles, err, sizeof(err)) == 0);
	for (size_t i = 0; i < profiles.n; i++)
		(void)profile_check_rule(&profiles.v[i], &r, err, sizeof(err));
	profile_set_free(&profiles);
	return 0;
}

#ifndef NTO_FUZZ_NO_ENTRY
NTO_FUZZ_ENTRY(nto_fuzz_tc)
#endif
