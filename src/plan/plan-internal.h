/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals of the planner: string helpers, match sets, spec building, the strategies. */
#ifndef NTO_PLAN_INTERNAL_H
#define NTO_PLAN_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/plan.h"

/* ---- strings ---- */

struct strv {
	char **v;
	size_t n, cap;
	bool oom;
};

void strv_addf(struct strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strv_free(struct strv *s);
/* Joins with sep; NULL on allocation failure. */
char *strv_join(const struct strv *s, const char *sep);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* "FILE:LINE" / "FILE:LINE:COL" of a location ("?" for an unknown file). */
void loc_line(const struct nft_loc *l, char *buf, size_t len);
void loc_col(const struct nft_loc *l, char *buf, size_t len);

/* ---- sets ---- */

/* A network prefix or port block, as the rules use them. */
struct plan_cidr {
	int family; /* 0 = any */
	union tc_addr addr;
	unsigned len;
};

struct plan_portblk {
	uint16_t value, mask; /* mask 0 = any */
};

void addrset_free(struct plan_addr_set *s);
void portset_free(struct plan_port_set *s);
int addrset_copy(struct plan_addr_set *d, const struct plan_addr_set *s);
int portset_copy(struct plan_port_set *d, const struct plan_port_set *s);
/* a = a ∩ b. 0 or -ENOMEM. */
int addrset_intersect(struct plan_addr_set *a, const struct plan_addr_set *b);
int portset_intersect(struct plan_port_set *a, const struct plan_port_set *b);
/* The set of a match's values (addresses or ports); -EINVAL for values of another type. */
int addrset_from_match(const struct nft_match *m, struct plan_addr_set *out);
int portset_from_match(const struct nft_match *m, struct plan_port_set *out);
bool addrset_has_family(const struct plan_addr_set *s, int family);
/* The addresses of one family (ports) not in s: exact complements, for negated matches. */
int addrset_complement(const struct plan_addr_set *s, int family, struct plan_addr_set *out);
int portset_complement(const struct plan_port_set *s, struct plan_port_set *out);
size_t addrset_cidr_count(const struct plan_addr_set *s, int family);

/* CIDR prefixes of one family covering the set exactly ({any} for an `any` set). */
int addrset_cidrs(const struct plan_addr_set *s, int family, struct plan_cidr **out, size_t *n);
/* Value/mask blocks covering the set exactly ({0/0} for an `any` set); with exact, single
 * ports only (mask 0xffff). */
int portset_blocks(const struct plan_port_set *s, bool exact, struct plan_portblk **out, size_t *n);

/* ---- specs ---- */

void spec_init(struct plan_spec *s, unsigned families);
void spec_free(struct plan_spec *s);
int spec_copy(struct plan_spec *d, const struct plan_spec *s);
/* Families a table family allows (0 for families without a forward hook). */
unsigned table_families(enum nft_family f);

enum apply_result {
	APPLY_OK = 0,
	APPLY_UNEXPRESSIBLE, /* flower can't match it in chain 0 */
	APPLY_NOMEM,
};

/* Applies a match as if it were not negated. Interface and ct mark matches are recorded. */
enum apply_result spec_apply_positive(struct plan_spec *s, const struct nft_match *m);
/* Applies a negated match where that is exact without exclusions (protocols, families,
 * interfaces, ct mark). Returns true when handled. */
bool spec_apply_negated(struct plan_spec *s, const struct nft_match *m, bool *nomem);
/* The family/protocol that a match implies even when negated (`ip saddr != X` is IPv4). */
void spec_apply_implied(struct plan_spec *s, const struct nft_match *m);
/* No packet can match. */
bool spec_empty(const struct plan_spec *s);
/* s = s ∩ o for families and protocols; for address and port dimensions only where s
 * constrains them (exclusions stay cheap: broader pass rules are safe). */
int spec_restrict(struct plan_spec *s, const struct plan_spec *o);
/* Swaps the directions: saddr<->daddr, sport<->dport; iif matches dropped. */
void spec_mirror(struct plan_spec *s);
bool spec_covers(const struct plan_spec *e, const struct plan_spec *o);
/* Does the interface name satisfy the iifname/iif (or oifname/oif) matches? */
bool names_ok(const struct nft_match *const *m, size_t n, const char *ifname);

/* Adds a pointer to a match list; false on allocation failure. */
bool matchv_add(const struct nft_match ***v, size_t *n, const struct nft_match *m);

/* Human text for a spec (one line, for comments). */
void spec_describe(const struct plan_spec *s, struct sbuf *b);

/* ---- building ---- */

/* Per-build state shared by the strategies. */
struct plan_ctx {
	const struct plan_opts *opts;
	struct plan *plan;
	/* next free prio per ifindex */
	uint32_t *prio_ifindex;
	uint16_t *prio_next;
	size_t n_prio;
};

/* Computes a flow rule's eligibility (shared by both strategies). Returns 0, -ENOMEM, or 1 when
 * the rule is refused (reason in *reason). Notes go to notes. */
int plan_offload_eligibility(const struct plan_ctx *c, const struct nft_table *t,
                             const struct nft_offload_rule *o, struct plan_eligibility *el,
                             struct strv *notes, char **reason);
void eligibility_free(struct plan_eligibility *el);

int plan_ct_rule(struct plan_ctx *c, struct plan_flowtable *pf, struct plan_offload *po,
                 struct plan_block *blk, struct strv *notes);
int plan_flow_rule(struct plan_ctx *c, struct plan_flowtable *pf, struct plan_offload *po,
                   struct plan_block *blk, struct strv *notes);

#endif
