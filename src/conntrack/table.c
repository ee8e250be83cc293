/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The connection table: flows in one dense array (no allocation per flow), found through an
 * open-addressing index of 8-byte slots (entry number + hash), linear probing, kept at most
 * half full, deletion by backward shift (no tombstones). Removing a flow moves the last one
 * into its place, so the array stays dense and iteration is a plain loop.
 *
 * Memory at 1,000,000 flows: 1,000,000 x 120-byte entries + 2^21 x 8-byte slots = 137 MB,
 * about 137 bytes per flow (the unit test measures it).
 */
#include <stdlib.h>
#include <string.h>

#include "nft-tc-offload/conntrack.h"

_Static_assert(sizeof(struct ct_key) == 40, "ct_key has no padding");

struct slot {
	uint32_t idx1; /* entry index + 1; 0 = empty */
	uint32_t hash;
};

struct ct_table {
	struct ct_flow *v;
	size_t n, cap, max;
	struct slot *slots;
	size_t mask; /* slots - 1 */
	struct ct_table_counters c;
};

static uint32_t key_hash(const struct ct_key *k)
{
	uint64_t w[5], h = 0x9e3779b97f4a7c15ull;

	memcpy(w, k, sizeof(w));
	for (int i = 0; i < 5; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h *= 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(h ^ (h >> 29));
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

struct ct_table *ct_table_new(size_t expected, size_t max)
{
	struct ct_table *t = calloc(1, sizeof(*t));
	size_t cap = expected ? expected : 1024;

	if (!t)
		return NULL;
	if (max && cap > max)
		cap = max;
	t->max = max;
	t->cap = cap;
	t->v = malloc(cap * sizeof(*t->v));
	t->mask = pow2_at_least(cap * 2) - 1;
	t->slots = calloc(t->mask + 1, sizeof(*t->slots));
	if (!t->v || !t->slots) {
		ct_table_free(t);
		return NULL;
	}
	return t;
}

void ct_table_free(struct ct_table *t)
{
	if (!t)
		return;
	free(t->v);
	free(t->slots);
	free(t);
}

/* The slot holding k, or the empty slot where it would go. */
static size_t probe(struct ct_table *t, const struct ct_key *k, uint32_t h, bool *found)
{
	size_t i = h & t->mask;

	for (;; i = (i + 1) & t->mask) {
		const struct slot *s = &t->slots[i];

		t->c.probes++;
		if (!s->idx1) {
			*found = false;
			return i;
		}
		if (s->hash == h && memcmp(&t->v[s->idx1 - 1].key, k, sizeof(*k)) == 0) {
			*found = true;
			return i;
		}
	}
}

static bool grow_index(struct ct_table *t)
{
	size_t n = (t->mask + 1) * 2;
	struct slot *s = calloc(n, sizeof(*s)), *old = t->slots;
	size_t oldn = t->mask + 1;

	if (!s)
		return false;
	t->slots = s;
	t->mask = n - 1;
	for (size_t i = 0; i < oldn; i++) {
		size_t j;

		if (!old[i].idx1)
			continue;
		for (j = old[i].hash & t->mask; s[j].idx1; j = (j + 1) & t->mask)
			;
		s[j] = old[i];
	}
	free(old);
	return true;
}

struct ct_flow *ct_table_find(struct ct_table *t, const struct ct_key *k)
{
	bool found;
	size_t i;

	t->c.lookups++;
	i = probe(t, k, key_hash(k), &found);
	return found ? &t->v[t->slots[i].idx1 - 1] : NULL;
}

struct ct_flow *ct_table_insert(struct ct_table *t, const struct ct_key *k, bool *created)
{
	uint32_t h = key_hash(k);
	bool found;
	size_t i;
	struct ct_flow *f;

	t->c.lookups++;
	i = probe(t, k, h, &found);
	if (created)
		*created = !found;
	if (found)
		return &t->v[t->slots[i].idx1 - 1];
	if (t->max && t->n >= t->max) {
		t->c.full++;
		return NULL;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap * 2;
		struct ct_flow *v;

		if (t->max && cap > t->max)
			cap = t->max;
		v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	if ((t->n + 1) * 2 > t->mask + 1) {
		if (!grow_index(t))
			return NULL;
		i = probe(t, k, h, &found);
	}
	f = &t->v[t->n];
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->state = CT_FLOW_CANDIDATE;
	t->slots[i] = (struct slot){.idx1 = (uint32_t)(t->n + 1), .hash = h};
	t->n++;
	t->c.inserts++;
	t->c.flows[CT_FLOW_CANDIDATE]++;
	return f;
}

/* Backward-shift deletion of slot i. */
static void slot_delete(struct ct_table *t, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & t->mask;
		if (!t->slots[j].idx1)
			break;
		home = t->slots[j].hash & t->mask;
		/* move j back to i unless its home lies cyclically in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].idx1 = 0;
}

bool ct_table_remove(struct ct_table *t, const struct ct_key *k)
{
	bool found;
	size_t i = probe(t, k, key_hash(k), &found), idx, last;

	if (!found)
		return false;
	idx = t->slots[i].idx1 - 1;
	t->c.flows[t->v[idx].state]--;
	slot_delete(t, i);
	last = t->n - 1;
	if (idx != last) {
		uint32_t h = key_hash(&t->v[last].key);
		size_t j = h & t->mask;

		while (t->slots[j].idx1 != last + 1)
			j = (j + 1) & t->mask;
		t->slots[j].idx1 = (uint32_t)(idx + 1);
		t->v[idx] = t->v[last];
	}
	t->n--;
	t->c.removes++;
	return true;
}

void ct_table_set_state(struct ct_table *t, struct ct_flow *f, enum ct_flow_state s)
{
	t->c.flows[f->state]--;
	t->c.flows[s]++;
	f->state = (uint8_t)s;
}

size_t ct_table_count(const struct ct_table *t)
{
	return t->n;
}

struct ct_flow *ct_table_at(struct ct_table *t, size_t i)
{
	return i < t->n ? &t->v[i] : NULL;
}

const struct ct_table_counters *ct_table_counters(const struct ct_table *t)
{
	return &t->c;
}

size_t ct_table_bytes(const struct ct_table *t)
{
	return sizeof(*t) + t->cap * sizeof(*t->v) + (t->mask + 1) * sizeof(*t->slots);
}
