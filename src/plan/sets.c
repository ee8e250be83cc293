/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Address and port sets of the planner: unions of ranges, their intersection, and their exact
 * cover by CIDR prefixes (addresses) or value/mask blocks (ports, flower port masks).
 * Addresses are handled as 128-bit numbers (IPv4 in the low 32 bits).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "plan-internal.h"

struct u128 {
	uint64_t hi, lo;
};

static int u128_cmp(struct u128 a, struct u128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/* The low k bits set (k in 0..128). */
static struct u128 u128_low(unsigned k)
{
	struct u128 r = {0, 0};

	if (k >= 128)
		return (struct u128){~0ull, ~0ull};
	if (k >= 64) {
		r.lo = ~0ull;
		r.hi = k == 64 ? 0 : (~0ull >> (128 - k));
	} else {
		r.lo = k == 0 ? 0 : (~0ull >> (64 - k));
	}
	return r;
}

static struct u128 u128_inc(struct u128 a)
{
	a.lo++;
	if (a.lo == 0)
		a.hi++;
	return a;
}

static struct u128 addr_to_u(int family, const union tc_addr *a)
{
	struct u128 r = {0, 0};

	if (family == AF_INET) {
		r.lo = ntohl(a->v4.s_addr);
	} else {
		for (int i = 0; i < 8; i++)
			r.hi = (r.hi << 8) | a->v6.s6_addr[i];
		for (int i = 8; i < 16; i++)
			r.lo = (r.lo << 8) | a->v6.s6_addr[i];
	}
	return r;
}

static union tc_addr u_to_addr(int family, struct u128 u)
{
	union tc_addr a;

	memset(&a, 0, sizeof(a));
	if (family == AF_INET) {
		a.v4.s_addr = htonl((uint32_t)u.lo);
	} else {
		for (int i = 7; i >= 0; i--, u.hi >>= 8)
			a.v6.s6_addr[i] = (uint8_t)u.hi;
		for (int i = 15; i >= 8; i--, u.lo >>= 8)
			a.v6.s6_addr[i] = (uint8_t)u.lo;
	}
	return a;
}

static unsigned family_width(int family)
{
	return family == AF_INET ? 32 : 128;
}

void addrset_free(struct plan_addr_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->any = true;
}

void portset_free(struct plan_port_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->any = true;
}

int addrset_copy(struct plan_addr_set *d, const struct plan_addr_set *s)
{
	*d = *s;
	d->v = NULL;
	if (s->n) {
		d->v = malloc(s->n * sizeof(*s->v));
		if (!d->v)
			return -ENOMEM;
		memcpy(d->v, s->v, s->n * sizeof(*s->v));
	}
	return 0;
}

int portset_copy(struct plan_port_set *d, const struct plan_port_set *s)
{
	*d = *s;
	d->v = NULL;
	if (s->n) {
		d->v = malloc(s->n * sizeof(*s->v));
		if (!d->v)
			return -ENOMEM;
		memcpy(d->v, s->v, s->n * sizeof(*s->v));
	}
	return 0;
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct plan_addr_range *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return u128_cmp(addr_to_u(a->family, &a->lo), addr_to_u(b->family, &b->lo));
}

/* Sorts and merges overlapping or adjacent ranges. */
static void addrset_normalize(struct plan_addr_set *s)
{
	size_t o = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), range_cmp);
	for (size_t i = 1; i < s->n; i++) {
		struct plan_addr_range *cur = &s->v[o];
		int f = cur->family;
		struct u128 chi = addr_to_u(f, &cur->hi);

		if (s->v[i].family == f &&
		    (u128_cmp(chi, u128_low(family_width(f))) == 0 ||
		     u128_cmp(addr_to_u(f, &s->v[i].lo), u128_inc(chi)) <= 0)) {
			if (u128_cmp(addr_to_u(f, &s->v[i].hi), chi) > 0)
				cur->hi = s->v[i].hi;
			continue;
		}
		s->v[++o] = s->v[i];
	}
	s->n = o + 1;
}

int addrset_intersect(struct plan_addr_set *a, const struct plan_addr_set *b)
{
	struct plan_addr_range *v;
	size_t n = 0, i = 0, j = 0;

	if (b->any)
		return 0;
	if (a->any)
		return addrset_copy(a, b);
	v = calloc(a->n + b->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (i < a->n && j < b->n) {
		const struct plan_addr_range *x = &a->v[i], *y = &b->v[j];
		struct u128 xlo, xhi, ylo, yhi;
		int f = x->family;

		if (x->family != y->family) {
			if (x->family < y->family)
				i++;
			else
				j++;
			continue;
		}
		xlo = addr_to_u(f, &x->lo);
		xhi = addr_to_u(f, &x->hi);
		ylo = addr_to_u(f, &y->lo);
		yhi = addr_to_u(f, &y->hi);
		if (u128_cmp(u128_cmp(xlo, ylo) > 0 ? xlo : ylo,
		             u128_cmp(xhi, yhi) < 0 ? xhi : yhi) <= 0) {
			v[n].family = f;
			v[n].lo = u128_cmp(xlo, ylo) > 0 ? x->lo : y->lo;
			v[n].hi = u128_cmp(xhi, yhi) < 0 ? x->hi : y->hi;
			n++;
		}
		if (u128_cmp(xhi, yhi) < 0)
			i++;
		else
			j++;
	}
	free(a->v);
	a->v = v;
	a->n = n;
	a->any = false;
	return 0;
}

int portset_intersect(struct plan_port_set *a, const struct plan_port_set *b)
{
	struct plan_port_range *v;
	size_t n = 0, i = 0, j = 0;

	if (b->any)
		return 0;
	if (a->any)
		return portset_copy(a, b);
	v = calloc(a->n + b->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (i < a->n && j < b->n) {
		uint16_t lo = a->v[i].lo > b->v[j].lo ? a->v[i].lo : b->v[j].lo;
		uint16_t hi = a->v[i].hi < b->v[j].hi ? a->v[i].hi : b->v[j].hi;

		if (lo <= hi)
			v[n++] = (struct plan_port_range){lo, hi};
		if (a->v[i].hi < b->v[j].hi)
			i++;
		else
			j++;
	}
	free(a->v);
	a->v = v;
	a->n = n;
	a->any = false;
	return 0;
}

int addrset_from_match(const struct nft_match *m, struct plan_addr_set *out)
{
	out->any = false;
	out->n = 0;
	out->v = calloc(m->n_values + 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_values; i++) {
		const struct nft_value *val = &m->values[i];
		struct plan_addr_range *r = &out->v[out->n];
		union tc_addr a;
		int f;

		if (val->type == NFT_VALUE_IPV4)
			f = AF_INET;
		else if (val->type == NFT_VALUE_IPV6)
			f = AF_INET6;
		else
			return -EINVAL;
		r->family = f;
		memcpy(&a, &val->addr, sizeof(a));
		if (val->addr_range) {
			r->lo = a;
			memcpy(&r->hi, &val->addr_hi, sizeof(r->hi));
		} else {
			unsigned w = family_width(f);
			unsigned plen = val->prefix_len > w ? w : val->prefix_len;
			struct u128 u = addr_to_u(f, &a), host = u128_low(w - plen);

			u.hi &= ~host.hi;
			u.lo &= ~host.lo;
			r->lo = u_to_addr(f, u);
			u.hi |= host.hi;
			u.lo |= host.lo;
			r->hi = u_to_addr(f, u);
		}
		if (u128_cmp(addr_to_u(f, &r->lo), addr_to_u(f, &r->hi)) > 0)
			continue;
		out->n++;
	}
	addrset_normalize(out);
	return 0;
}

static int port_cmp(const void *pa, const void *pb)
{
	const struct plan_port_range *a = pa, *b = pb;

	return (int)a->lo - (int)b->lo;
}

int portset_from_match(const struct nft_match *m, struct plan_port_set *out)
{
	size_t o = 0;

	out->any = false;
	out->n = 0;
	out->v = calloc(m->n_values + 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_values; i++) {
		const struct nft_value *val = &m->values[i];
		uint64_t lo = val->num, hi = val->type == NFT_VALUE_RANGE ? val->num_hi : val->num;

		if (val->type != NFT_VALUE_NUM && val->type != NFT_VALUE_RANGE)
			return -EINVAL;
		if (lo > 65535 || lo > hi)
			continue;
		if (hi > 65535)
			hi = 65535;
		out->v[out->n++] = (struct plan_port_range){(uint16_t)lo, (uint16_t)hi};
	}
	if (out->n == 0)
		return 0;
	qsort(out->v, out->n, sizeof(*out->v), port_cmp);
	for (size_t i = 1; i < out->n; i++) {
		if ((uint32_t)out->v[i].lo <= (uint32_t)out->v[o].hi + 1) {
			if (out->v[i].hi > out->v[o].hi)
				out->v[o].hi = out->v[i].hi;
			continue;
		}
		out->v[++o] = out->v[i];
	}
	out->n = o + 1;
	return 0;
}

bool addrset_has_family(const struct plan_addr_set *s, int family)
{
	if (s->any)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].family == family)
			return true;
	return false;
}

/* Splits [lo, hi] (width bits) into aligned blocks; calls emit(block start, bits of the block). */
struct split_out {
	int family;
	struct plan_cidr *cidrs;
	struct plan_portblk *ports;
	size_t n, cap;
	bool oom;
};

static void split_emit(struct split_out *o, struct u128 start, unsigned width, unsigned host_bits)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		void *p = o->cidrs ? (void *)o->cidrs : (void *)o->ports;
		size_t sz = o->family ? sizeof(*o->cidrs) : sizeof(*o->ports);

		p = realloc(p, cap * sz);
		if (!p) {
			o->oom = true;
			return;
		}
		if (o->family)
			o->cidrs = p;
		else
			o->ports = p;
		o->cap = cap;
	}
	if (o->family) {
		o->cidrs[o->n].family = o->family;
		o->cidrs[o->n].addr = u_to_addr(o->family, start);
		o->cidrs[o->n].len = width - host_bits;
	} else {
		o->ports[o->n].value = (uint16_t)start.lo;
		o->ports[o->n].mask = (uint16_t)(~u128_low(host_bits).lo & 0xffff);
	}
	o->n++;
}

static void split_range(struct split_out *o, struct u128 lo, struct u128 hi, unsigned width,
                        unsigned max_bits)
{
	for (;;) {
		unsigned k = 0;
		struct u128 last;

		while (k < max_bits) {
			struct u128 m = u128_low(k + 1), end;

			if ((lo.hi & m.hi) || (lo.lo & m.lo))
				break;
			end.hi = lo.hi | m.hi;
			end.lo = lo.lo | m.lo;
			if (u128_cmp(end, hi) > 0)
				break;
			k++;
		}
		split_emit(o, lo, width, k);
		if (o->oom)
			return;
		last = u128_low(k);
		last.hi |= lo.hi;
		last.lo |= lo.lo;
		if (u128_cmp(last, hi) >= 0)
			return;
		lo = u128_inc(last);
	}
}

int addrset_cidrs(const struct plan_addr_set *s, int family, struct plan_cidr **out, size_t *n)
{
	struct split_out o = {.family = family};

	*out = NULL;
	*n = 0;
	if (s->any) {
		*out = calloc(1, sizeof(**out));
		if (!*out)
			return -ENOMEM;
		*n = 1;
		return 0;
	}
	for (size_t i = 0; i < s->n && !o.oom; i++)
		if (s->v[i].family == family)
			split_range(&o, addr_to_u(family, &s->v[i].lo),
			            addr_to_u(family, &s->v[i].hi), family_width(family),
			            family_width(family));
	if (o.oom) {
		free(o.cidrs);
		return -ENOMEM;
	}
	*out = o.cidrs;
	*n = o.n;
	return 0;
}

int portset_blocks(const struct plan_port_set *s, bool exact, struct plan_portblk **out, size_t *n)
{
	struct split_out o = {.family = 0};

	*out = NULL;
	*n = 0;
	if (s->any) {
		*out = calloc(1, sizeof(**out));
		if (!*out)
			return -ENOMEM;
		*n = 1;
		return 0;
	}
	for (size_t i = 0; i < s->n && !o.oom; i++)
		split_range(&o, (struct u128){0, s->v[i].lo}, (struct u128){0, s->v[i].hi}, 16,
		            exact ? 0 : 16);
	if (o.oom) {
		free(o.ports);
		return -ENOMEM;
	}
	*out = o.ports;
	*n = o.n;
	return 0;
}

static bool addr_in(const struct plan_addr_set *s, int family, const union tc_addr *a)
{
	struct u128 u = addr_to_u(family, a);

	if (s->any)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].family == family && u128_cmp(addr_to_u(family, &s->v[i].lo), u) <= 0 &&
		    u128_cmp(u, addr_to_u(family, &s->v[i].hi)) <= 0)
			return true;
	return false;
}

static bool port_in(const struct plan_port_set *s, uint16_t p)
{
	if (s->any)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].lo <= p && p <= s->v[i].hi)
			return true;
	return false;
}

bool plan_spec_match_tuple(const struct plan_spec *s, const struct plan_tuple *t)
{
	unsigned fam = t->family == AF_INET ? PLAN_FAMILY_IPV4 : PLAN_FAMILY_IPV6;
	unsigned proto = t->proto == IPPROTO_TCP   ? PLAN_PROTO_TCP
	                 : t->proto == IPPROTO_UDP ? PLAN_PROTO_UDP
	                                           : 0;

	if (!(s->families & fam) || !(s->protos & proto))
		return false;
	return addr_in(&s->saddr, t->family, &t->saddr) &&
	       addr_in(&s->daddr, t->family, &t->daddr) && port_in(&s->sport, t->sport) &&
	       port_in(&s->dport, t->dport);
}

int addrset_complement(const struct plan_addr_set *s, int family, struct plan_addr_set *out)
{
	struct u128 next = {0, 0}, max = u128_low(family_width(family));
	bool done = false;

	out->any = false;
	out->n = 0;
	out->v = calloc(s->n + 2, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n && !done; i++) {
		struct u128 lo, hi;

		if (s->v[i].family != family)
			continue;
		lo = addr_to_u(family, &s->v[i].lo);
		hi = addr_to_u(family, &s->v[i].hi);
		if (u128_cmp(lo, next) > 0) {
			struct u128 end = lo;

			/* end = lo - 1 */
			if (end.lo-- == 0)
				end.hi--;
			out->v[out->n++] = (struct plan_addr_range){family, u_to_addr(family, next),
			                                            u_to_addr(family, end)};
		}
		if (u128_cmp(hi, max) >= 0)
			done = true;
		else
			next = u128_inc(hi);
	}
	if (!done)
		out->v[out->n++] = (struct plan_addr_range){family, u_to_addr(family, next),
		                                            u_to_addr(family, max)};
	return 0;
}

int portset_complement(const struct plan_port_set *s, struct plan_port_set *out)
{
	uint32_t next = 0;

	out->any = false;
	out->n = 0;
	out->v = calloc(s->n + 2, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].lo > next)
			out->v[out->n++] =
			    (struct plan_port_range){(uint16_t)next, (uint16_t)(s->v[i].lo - 1)};
		next = (uint32_t)s->v[i].hi + 1;
	}
	if (next <= 65535)
		out->v[out->n++] = (struct plan_port_range){(uint16_t)next, 65535};
	return 0;
}

size_t addrset_cidr_count(const struct plan_addr_set *s, int family)
{
	struct plan_cidr *c;
	size_t n;

	if (addrset_cidrs(s, family, &c, &n))
		return SIZE_MAX;
	free(c);
	return n;
}
