/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tc flower encode / decode / print. The only code that knows TCA_* attributes.
 * All functions are pure: no sockets, no allocation, no global state.
 */
#ifndef NFT_TC_OFFLOAD_TC_H
#define NFT_TC_OFFLOAD_TC_H

#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/rule.h"

enum tc_msg_op {
	TC_MSG_NEW,     /* RTM_NEWTFILTER with NLM_F_CREATE|NLM_F_EXCL */
	TC_MSG_REPLACE, /* RTM_NEWTFILTER with NLM_F_CREATE only, as tc filter replace */
	TC_MSG_DELETE,  /* RTM_DELTFILTER: id only */
	TC_MSG_GET,     /* RTM_GETTFILTER: id only (needs handle) */
};

/*
 * Encodes one request for rule r into buf (len bytes): a complete struct nlmsghdr with the given
 * extra nlmsg_flags (NLM_F_REQUEST|NLM_F_ACK are always set; pass NLM_F_ECHO to ask for an echo)
 * and sequence number. Returns the message size, or 0 when it does not fit in len, or -EINVAL
 * when the rule cannot be expressed (the reason goes to err/errlen when err is not NULL).
 */
int tc_encode(const struct tc_rule *r, enum tc_msg_op op, uint16_t nlmsg_flags, uint32_t seq,
              void *buf, size_t len, char *err, size_t errlen);

/*
 * Decodes an RTM_NEWTFILTER message (a dump reply or an echo) of a flower filter into r,
 * including r->state (stats, lastused, in_hw flags). Returns 0, or -ENOENT when the message is
 * not a flower filter, or -EINVAL for malformed or unsupported content (reason in err). r starts
 * as tc_rule_init leaves it: entries of actions[] past n_actions keep what they held.
 */
int tc_decode(const void *nlh, size_t len, struct tc_rule *r, char *err, size_t errlen);

/*
 * Decodes a flower filter's message into b: what a terse dump carries (struct tc_brief). A
 * full message is read the same way (its match and action options skipped, not checked).
 * Returns 0, -ENOENT when the message is not a flower filter, or -EINVAL (reason in err).
 */
int tc_decode_brief(const void *nlh, size_t len, struct tc_brief *b, char *err, size_t errlen);

/* The same; TC_BRIEF_NO_STATS in flags: the actions' counters are not read (b->state has the
 * flags' part only), a third of the work for a dump that needs the cookies alone. */
#define TC_BRIEF_NO_STATS 1u
int tc_decode_brief_flags(const void *nlh, size_t len, struct tc_brief *b, unsigned flags,
                          char *err, size_t errlen);

/* Gives the device name for an ifindex when printing; returns NULL when it has none. */
typedef const char *(*tc_ifname_fn)(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ]);

/*
 * Prints r as one line of `tc -batch` input (no trailing newline), e.g.
 * "filter add dev eth0 ingress protocol ip pref 10 chain 0 flower ip_proto tcp ... action ...".
 * ifname resolves devices (NULL = if_indextoname). Returns the length that the whole line needs
 * (like snprintf: the output is truncated when that is >= len), or -EINVAL.
 */
int tc_print(const struct tc_rule *r, enum tc_msg_op op, tc_ifname_fn ifname, void *ctx, char *buf,
             size_t len);

#endif
