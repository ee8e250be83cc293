/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to src/tc/: tables and checks that encode, decode and print share, so the three agree
 * on what a rule may contain and how it looks on the wire.
 */
#ifndef NTO_TC_PRIV_H
#define NTO_TC_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/rule.h"
#include "nft-tc-offload/tc.h"

/*
 * Where a named pedit field lives: header type, first byte and length in that header. Its keys
 * are the 32-bit words covering those bytes; in each word the key's mask keeps (0xff) the bytes
 * outside the field and clears (0x00) those inside, and the value holds the field's bytes.
 * This is exactly the layout iproute2's `pedit ex munge` produces (eth src at offsets 4 and 8,
 * eth dst at 0 and 4, ttl at 8 with mask 00ffffff, ...).
 */
struct nto_pedit_layout {
	uint8_t htype; /* TCA_PEDIT_KEY_EX_HDR_TYPE_* */
	uint8_t start;
	uint8_t len;
	const char *tc_name; /* "eth src", "ip ttl", ... as `munge` takes it */
};

const struct nto_pedit_layout *nto_pedit_layout(enum tc_pedit_field f);

/* The field's bytes of a pedit op, in wire order (len bytes, at most 16). */
void nto_pedit_value_bytes(const struct tc_pedit_op *op, uint8_t out[16]);
/* The inverse: sets op->val from the field's wire bytes. */
void nto_pedit_set_value(struct tc_pedit_op *op, const uint8_t *bytes);

/* The network family of the addresses of r: AF_INET, AF_INET6, 0 (see tc_rule_family). */
int nto_rule_family(const struct tc_rule *r);

/*
 * Checks that r can be expressed as a tc flower filter (and as a `tc` command line), in the
 * canonical form that decode produces. Returns 0 or -EINVAL with the reason in err.
 */
int nto_validate(const struct tc_rule *r, enum tc_msg_op op, char *err, size_t errlen);

/* Writes a formatted reason to err (when err is not NULL) and returns -EINVAL. */
int nto_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* TC_ACT_* value of an action's verdict. */
uint32_t nto_verdict_to_tc(const struct tc_action *a);

/* The length of a contiguous prefix mask, or -1 when the mask has holes. */
int nto_prefix_len(const uint8_t *mask, size_t n);

static inline bool nto_all_ones(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0xff)
			return false;
	return true;
}

static inline bool nto_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

#endif
