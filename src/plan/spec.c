/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Specs: what an nft rule's matches select, as sets the tc rules can express (families,
 * TCP/UDP, address and port sets) plus the matches only later stages can check (interfaces at
 * egress, ct mark). Also the small string helpers of the planner.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "plan-internal.h"

/* ---- strings ---- */

void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->oom)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (!b->s || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		char *s;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		s = realloc(b->s, cap);
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}

char *xasprintf(const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(&b, fmt, ap);
	va_end(ap);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	if (!b.s)
		return strdup("");
	return b.s;
}

void strv_addf(struct strv *s, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;

	if (s->oom)
		return;
	va_start(ap, fmt);
	sb_vprintf(&b, fmt, ap);
	va_end(ap);
	if (b.oom || !b.s) {
		free(b.s);
		s->oom = true;
		return;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			free(b.s);
			s->oom = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = b.s;
}

void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

char *strv_join(const struct strv *s, const char *sep)
{
	struct sbuf b = {0};

	for (size_t i = 0; i < s->n; i++)
		sb_printf(&b, "%s%s", i ? sep : "", s->v[i]);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s ? b.s : strdup("");
}

void loc_line(const struct nft_loc *l, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u", l->file ? l->file : "?", l->line);
}

void loc_col(const struct nft_loc *l, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u:%u", l->file ? l->file : "?", l->line, l->col);
}

/* ---- specs ---- */

void spec_init(struct plan_spec *s, unsigned families)
{
	memset(s, 0, sizeof(*s));
	s->families = families;
	s->protos = PLAN_PROTO_ALL;
	s->saddr.any = s->daddr.any = true;
	s->sport.any = s->dport.any = true;
}

void spec_free(struct plan_spec *s)
{
	addrset_free(&s->saddr);
	addrset_free(&s->daddr);
	portset_free(&s->sport);
	portset_free(&s->dport);
	free(s->iif);
	free(s->oif);
	free(s->ct_mark);
	memset(s, 0, sizeof(*s));
}

static int matchv_copy(const struct nft_match ***d, const struct nft_match *const *s, size_t n)
{
	*d = NULL;
	if (!n)
		return 0;
	*d = malloc(n * sizeof(**d));
	if (!*d)
		return -ENOMEM;
	memcpy(*d, s, n * sizeof(**d));
	return 0;
}

int spec_copy(struct plan_spec *d, const struct plan_spec *s)
{
	struct plan_spec c = *s;

	c.saddr.v = c.daddr.v = NULL;
	c.sport.v = c.dport.v = NULL;
	c.iif = c.oif = c.ct_mark = NULL;
	c.saddr.n = c.daddr.n = c.sport.n = c.dport.n = 0;
	c.n_iif = c.n_oif = c.n_ct_mark = 0;
	if (addrset_copy(&c.saddr, &s->saddr) || addrset_copy(&c.daddr, &s->daddr) ||
	    portset_copy(&c.sport, &s->sport) || portset_copy(&c.dport, &s->dport))
		goto fail;
	if (matchv_copy(&c.iif, s->iif, s->n_iif))
		goto fail;
	c.n_iif = s->n_iif;
	if (matchv_copy(&c.oif, s->oif, s->n_oif))
		goto fail;
	c.n_oif = s->n_oif;
	if (matchv_copy(&c.ct_mark, s->ct_mark, s->n_ct_mark))
		goto fail;
	c.n_ct_mark = s->n_ct_mark;
	*d = c;
	return 0;
fail:
	spec_free(&c);
	return -ENOMEM;
}

bool matchv_add(const struct nft_match ***v, size_t *n, const struct nft_match *m)
{
	const struct nft_match **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return false;
	nv[(*n)++] = m;
	*v = nv;
	return true;
}

unsigned table_families(enum nft_family f)
{
	switch (f) {
	case NFT_FAMILY_IP:
		return PLAN_FAMILY_IPV4;
	case NFT_FAMILY_IP6:
		return PLAN_FAMILY_IPV6;
	case NFT_FAMILY_INET:
	case NFT_FAMILY_BRIDGE:
		return PLAN_FAMILY_ALL;
	default:
		return 0;
	}
}

static bool value_has(const struct nft_value *v, uint64_t x)
{
	if (v->type == NFT_VALUE_NUM)
		return v->num == x;
	if (v->type == NFT_VALUE_RANGE)
		return v->num <= x && x <= v->num_hi;
	return false;
}

static bool match_has(const struct nft_match *m, uint64_t x)
{
	for (size_t i = 0; i < m->n_values; i++)
		if (value_has(&m->values[i], x))
			return true;
	return false;
}

static unsigned match_protos(const struct nft_match *m)
{
	return (match_has(m, 6) ? PLAN_PROTO_TCP : 0) | (match_has(m, 17) ? PLAN_PROTO_UDP : 0);
}

static unsigned match_families(const struct nft_match *m)
{
	if (m->key == NFT_MATCH_NFPROTO)
		return (match_has(m, 2) ? PLAN_FAMILY_IPV4 : 0) |
		       (match_has(m, 10) ? PLAN_FAMILY_IPV6 : 0);
	return (match_has(m, 0x0800) ? PLAN_FAMILY_IPV4 : 0) |
	       (match_has(m, 0x86dd) ? PLAN_FAMILY_IPV6 : 0);
}

void spec_apply_implied(struct plan_spec *s, const struct nft_match *m)
{
	switch (m->key) {
	case NFT_MATCH_IP_PROTOCOL:
	case NFT_MATCH_IP_SADDR:
	case NFT_MATCH_IP_DADDR:
		s->families &= PLAN_FAMILY_IPV4;
		break;
	case NFT_MATCH_IP6_NEXTHDR:
	case NFT_MATCH_IP6_SADDR:
	case NFT_MATCH_IP6_DADDR:
		s->families &= PLAN_FAMILY_IPV6;
		break;
	case NFT_MATCH_TCP_SPORT:
	case NFT_MATCH_TCP_DPORT:
		s->protos &= PLAN_PROTO_TCP;
		s->l4_given = true;
		break;
	case NFT_MATCH_UDP_SPORT:
	case NFT_MATCH_UDP_DPORT:
		s->protos &= PLAN_PROTO_UDP;
		s->l4_given = true;
		break;
	case NFT_MATCH_TH_SPORT:
	case NFT_MATCH_TH_DPORT:
		s->l4_given = true;
		break;
	default:
		break;
	}
}

static enum apply_result apply_addr(struct plan_addr_set *dst, const struct nft_match *m)
{
	struct plan_addr_set set;
	int rc = addrset_from_match(m, &set);

	if (rc == -EINVAL) {
		addrset_free(&set);
		return APPLY_UNEXPRESSIBLE;
	}
	if (rc == 0)
		rc = addrset_intersect(dst, &set);
	addrset_free(&set);
	return rc ? APPLY_NOMEM : APPLY_OK;
}

static enum apply_result apply_port(struct plan_port_set *dst, const struct nft_match *m)
{
	struct plan_port_set set;
	int rc = portset_from_match(m, &set);

	if (rc == -EINVAL) {
		portset_free(&set);
		return APPLY_UNEXPRESSIBLE;
	}
	if (rc == 0)
		rc = portset_intersect(dst, &set);
	portset_free(&set);
	return rc ? APPLY_NOMEM : APPLY_OK;
}

enum apply_result spec_apply_positive(struct plan_spec *s, const struct nft_match *m)
{
	spec_apply_implied(s, m);
	switch (m->key) {
	case NFT_MATCH_L4PROTO:
	case NFT_MATCH_IP_PROTOCOL:
	case NFT_MATCH_IP6_NEXTHDR:
		s->protos &= match_protos(m);
		s->l4_given = true;
		return APPLY_OK;
	case NFT_MATCH_NFPROTO:
	case NFT_MATCH_META_PROTOCOL:
		s->families &= match_families(m);
		return APPLY_OK;
	case NFT_MATCH_IP_SADDR:
	case NFT_MATCH_IP6_SADDR:
		return apply_addr(&s->saddr, m);
	case NFT_MATCH_IP_DADDR:
	case NFT_MATCH_IP6_DADDR:
		return apply_addr(&s->daddr, m);
	case NFT_MATCH_TCP_SPORT:
	case NFT_MATCH_UDP_SPORT:
	case NFT_MATCH_TH_SPORT:
		return apply_port(&s->sport, m);
	case NFT_MATCH_TCP_DPORT:
	case NFT_MATCH_UDP_DPORT:
	case NFT_MATCH_TH_DPORT:
		return apply_port(&s->dport, m);
	case NFT_MATCH_IIFNAME:
	case NFT_MATCH_IIF:
		return matchv_add(&s->iif, &s->n_iif, m) ? APPLY_OK : APPLY_NOMEM;
	case NFT_MATCH_OIFNAME:
	case NFT_MATCH_OIF:
		return matchv_add(&s->oif, &s->n_oif, m) ? APPLY_OK : APPLY_NOMEM;
	case NFT_MATCH_CT_MARK:
		return matchv_add(&s->ct_mark, &s->n_ct_mark, m) ? APPLY_OK : APPLY_NOMEM;
	default:
		return APPLY_UNEXPRESSIBLE;
	}
}

bool spec_apply_negated(struct plan_spec *s, const struct nft_match *m, bool *nomem)
{
	*nomem = false;
	spec_apply_implied(s, m);
	switch (m->key) {
	case NFT_MATCH_L4PROTO:
	case NFT_MATCH_IP_PROTOCOL:
	case NFT_MATCH_IP6_NEXTHDR:
		s->protos &= ~match_protos(m);
		s->l4_given = true;
		return true;
	case NFT_MATCH_NFPROTO:
	case NFT_MATCH_META_PROTOCOL:
		s->families &= ~match_families(m);
		return true;
	case NFT_MATCH_IIFNAME:
	case NFT_MATCH_IIF:
		*nomem = !matchv_add(&s->iif, &s->n_iif, m);
		return true;
	case NFT_MATCH_OIFNAME:
	case NFT_MATCH_OIF:
		*nomem = !matchv_add(&s->oif, &s->n_oif, m);
		return true;
	case NFT_MATCH_CT_MARK:
		*nomem = !matchv_add(&s->ct_mark, &s->n_ct_mark, m);
		return true;
	default:
		return false;
	}
}

static bool addrset_empty_for(const struct plan_addr_set *s, unsigned families)
{
	if (s->any)
		return false;
	return !((families & PLAN_FAMILY_IPV4) && addrset_has_family(s, AF_INET)) &&
	       !((families & PLAN_FAMILY_IPV6) && addrset_has_family(s, AF_INET6));
}

bool spec_empty(const struct plan_spec *s)
{
	unsigned fam = s->families;

	if (!s->saddr.any || !s->daddr.any) {
		unsigned ok = 0;

		for (unsigned f = PLAN_FAMILY_IPV4; f <= PLAN_FAMILY_IPV6; f <<= 1) {
			if ((fam & f) && !addrset_empty_for(&s->saddr, f) &&
			    !addrset_empty_for(&s->daddr, f))
				ok |= f;
		}
		fam = ok;
	}
	return fam == 0 || s->protos == 0 || (!s->sport.any && s->sport.n == 0) ||
	       (!s->dport.any && s->dport.n == 0);
}

int spec_restrict(struct plan_spec *s, const struct plan_spec *o)
{
	s->families &= o->families;
	s->protos &= o->protos;
	if (!s->saddr.any && addrset_intersect(&s->saddr, &o->saddr))
		return -ENOMEM;
	if (!s->daddr.any && addrset_intersect(&s->daddr, &o->daddr))
		return -ENOMEM;
	if (!s->sport.any && portset_intersect(&s->sport, &o->sport))
		return -ENOMEM;
	if (!s->dport.any && portset_intersect(&s->dport, &o->dport))
		return -ENOMEM;
	return 0;
}

void spec_mirror(struct plan_spec *s)
{
	struct plan_addr_set a = s->saddr;
	struct plan_port_set p = s->sport;

	s->saddr = s->daddr;
	s->daddr = a;
	s->sport = s->dport;
	s->dport = p;
	/* the reply's ingress device is the original's egress: oif matches become iif ones */
	free(s->iif);
	s->iif = s->oif;
	s->n_iif = s->n_oif;
	s->oif = NULL;
	s->n_oif = 0;
}

bool spec_covers(const struct plan_spec *e, const struct plan_spec *o)
{
	return e->saddr.any && e->daddr.any && e->sport.any && e->dport.any &&
	       (e->families & o->families) == o->families && (e->protos & o->protos) == o->protos;
}

static bool name_value_ok(const struct nft_value *v, const char *ifname)
{
	size_t len;

	if (v->type != NFT_VALUE_NAME || !v->name)
		return false;
	len = strlen(v->name);
	if (len && v->name[len - 1] == '*')
		return strncmp(v->name, ifname, len - 1) == 0;
	return strcmp(v->name, ifname) == 0;
}

bool names_ok(const struct nft_match *const *m, size_t n, const char *ifname)
{
	for (size_t i = 0; i < n; i++) {
		bool hit = false;

		for (size_t j = 0; j < m[i]->n_values && !hit; j++)
			hit = name_value_ok(&m[i]->values[j], ifname);
		if (hit == m[i]->negate)
			return false;
	}
	return true;
}

bool plan_spec_iif_ok(const struct plan_spec *s, const char *ifname)
{
	return names_ok(s->iif, s->n_iif, ifname);
}

bool plan_spec_oif_ok(const struct plan_spec *s, const char *ifname)
{
	return names_ok(s->oif, s->n_oif, ifname);
}

static void describe_addrs(struct sbuf *b, const char *what, const struct plan_addr_set *s)
{
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];

	if (s->any)
		return;
	sb_printf(b, "; %s ", what);
	if (s->n == 0)
		sb_printf(b, "(none)");
	for (size_t i = 0; i < s->n; i++) {
		inet_ntop(s->v[i].family, &s->v[i].lo, lo, sizeof(lo));
		inet_ntop(s->v[i].family, &s->v[i].hi, hi, sizeof(hi));
		if (memcmp(&s->v[i].lo, &s->v[i].hi, sizeof(s->v[i].lo)) == 0)
			sb_printf(b, "%s%s", i ? ", " : "", lo);
		else
			sb_printf(b, "%s%s-%s", i ? ", " : "", lo, hi);
	}
}

static void describe_ports(struct sbuf *b, const char *what, const struct plan_port_set *s)
{
	if (s->any)
		return;
	sb_printf(b, "; %s ", what);
	if (s->n == 0)
		sb_printf(b, "(none)");
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].lo == s->v[i].hi)
			sb_printf(b, "%s%u", i ? ", " : "", s->v[i].lo);
		else
			sb_printf(b, "%s%u-%u", i ? ", " : "", s->v[i].lo, s->v[i].hi);
	}
}

static void describe_matches(struct sbuf *b, const char *what, const struct nft_match *const *m,
                             size_t n)
{
	if (!n)
		return;
	sb_printf(b, "; %s", what);
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "%s`%s`", i ? " and " : " ", m[i]->text ? m[i]->text : "?");
}

void spec_describe(const struct plan_spec *s, struct sbuf *b)
{
	const char *fam = s->families == PLAN_FAMILY_ALL    ? "IPv4, IPv6"
	                  : s->families == PLAN_FAMILY_IPV4 ? "IPv4"
	                  : s->families == PLAN_FAMILY_IPV6 ? "IPv6"
	                                                    : "no family";
	const char *pro = s->protos == PLAN_PROTO_ALL   ? "tcp, udp"
	                  : s->protos == PLAN_PROTO_TCP ? "tcp"
	                  : s->protos == PLAN_PROTO_UDP ? "udp"
	                                                : "no protocol";

	sb_printf(b, "%s; %s", fam, pro);
	describe_addrs(b, "saddr", &s->saddr);
	describe_addrs(b, "daddr", &s->daddr);
	describe_ports(b, "sport", &s->sport);
	describe_ports(b, "dport", &s->dport);
	describe_matches(b, "ingress", s->iif, s->n_iif);
	describe_matches(b, "egress", s->oif, s->n_oif);
	describe_matches(b, "ct mark", s->ct_mark, s->n_ct_mark);
}

/* ---- explain queries ---- */

bool plan_query_match(const struct plan_query *q, const struct plan_tuple *dir)
{
	size_t alen = q->t.family == AF_INET ? 4 : 16;

	if (dir->family != q->t.family || (q->t.proto && dir->proto != q->t.proto))
		return false;
	if (memcmp(&dir->saddr, &q->t.saddr, alen) || memcmp(&dir->daddr, &q->t.daddr, alen))
		return false;
	return !q->has_ports || (dir->sport == q->t.sport && dir->dport == q->t.dport);
}

void plan_query_format(const struct plan_query *q, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int n;

	inet_ntop(q->t.family, &q->t.saddr, s, sizeof(s));
	inet_ntop(q->t.family, &q->t.daddr, d, sizeof(d));
	n = snprintf(buf, len, "%s %s", s, d);
	if (n < 0 || (size_t)n >= len || !q->t.proto)
		return;
	n += snprintf(buf + n, len - (size_t)n, " %s", q->t.proto == IPPROTO_TCP ? "tcp" : "udp");
	if (q->has_ports && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " %u %u", q->t.sport, q->t.dport);
}
