/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Installing and removing our rules: the cookie that marks them, a plan installed in one
 * pipelined batch (all or nothing), and the removal of every rule we own on a device while
 * operators' own filters stay untouched.
 */
#ifndef NFT_TC_OFFLOAD_INSTALL_H
#define NFT_TC_OFFLOAD_INSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/rule.h"

/*
 * Our action cookie (TCA_ACT_COOKIE, on every action of every rule we install):
 *   bytes 0..3   "nto" + format version 1   -- what tells our rules from an operator's
 *   bytes 4..7   owner: a hash of "family table flowtable" (0 for rules of no flowtable)
 *   bytes 8..11  check: a hash of the rule's contents (the flow strategy's, for adoption from a
 *                terse dump); 0 = none (static rules, and rules of versions before it)
 *   bytes 12..15 rule id: 0 for static plan rules; the flow strategy puts the conntrack id here
 * All big-endian. A filter is ours when its cookie starts with the magic; nothing else is
 * assumed. (Until the check existed, bytes 8..15 were one 64-bit rule id: the same bytes for
 * 32-bit ids.)
 */
#define NTO_COOKIE_LEN 16
extern const uint8_t nto_cookie_magic[4];

/* A cookie with check 0. */
void nto_cookie_make(uint8_t cookie[NTO_COOKIE_LEN], uint32_t owner, uint32_t rule_id);
void nto_cookie_set_check(uint8_t cookie[NTO_COOKIE_LEN], uint32_t check);
bool nto_cookie_is_ours(const struct tc_rule *r);
uint32_t nto_cookie_owner(const char *family, const char *table, const char *flowtable);

/* The fields of a cookie of ours of len bytes; 0 when it is not ours. */
uint32_t nto_cookie_owner_in(const uint8_t *cookie, size_t len);
uint32_t nto_cookie_check_in(const uint8_t *cookie, size_t len);
uint32_t nto_cookie_rule_id_in(const uint8_t *cookie, size_t len);

/* Sets the cookie of every rule of the plan (the owner from its flowtable). */
void install_mark_plan(struct plan *p);

struct install_report {
	size_t devices;         /* devices that got a clsact qdisc and rules */
	size_t installed;       /* rules installed (and kept) */
	size_t failed;          /* rules the kernel refused (then everything was rolled back) */
	char first_error[2048]; /* the first refusal: rule text and the kernel's extack */
};

/*
 * Installs every rule of the plan in one pipelined batch, after a clsact qdisc on each device.
 * All or nothing: when the kernel refuses any rule, the rules this call installed are removed
 * again and -EIO is returned with the first refusal in rep->first_error. ifname (with ctx)
 * names devices in messages.
 */
int install_plan(struct nlc_sock *s, const struct plan *p, tc_ifname_fn ifname, void *ctx,
                 struct install_report *rep);

/*
 * Removes every filter of ours (by cookie) on the given devices, ingress and egress, all
 * chains; filters without our cookie are left alone. n == 0: every device of the namespace.
 * Returns the number removed, or a negative errno with the reason in err.
 */
long flush_owned(struct nlc_sock *s, const uint32_t *ifindexes, size_t n, char *err, size_t errlen);

/* The same, for the filters of ours that match also accepts (match(ctx, rule) true). */
long flush_owned_match(struct nlc_sock *s, const uint32_t *ifindexes, size_t n,
                       bool (*match)(void *ctx, const struct tc_rule *r), void *ctx, char *err,
                       size_t errlen);

/* The owner field of one of our rules' cookie (bytes 4..7); 0 when the rule is not ours. */
uint32_t nto_cookie_owner_of(const struct tc_rule *r);

/* The rule id of one of our rules' cookie (bytes 12..15); 0 when the rule is not ours. */
uint32_t nto_cookie_rule_id_of(const struct tc_rule *r);

#endif
