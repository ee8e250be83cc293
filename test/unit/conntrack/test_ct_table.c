/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The connection table: find/insert/remove against a reference, state counters, and the
 * memory per flow at 1,000,000 flows (goal: at most 256 bytes, index included).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ct_test.h"

static void key_n(struct ct_key *k, uint32_t n, bool v6)
{
	memset(k, 0, sizeof(*k));
	k->family = v6 ? AF_INET6 : AF_INET;
	k->proto = (n & 1) ? IPPROTO_UDP : IPPROTO_TCP;
	k->sport = (uint16_t)(1024 + (n % 60000));
	k->dport = 443;
	if (v6) {
		k->src.v6.s6_addr[0] = 0xfd;
		memcpy(&k->src.v6.s6_addr[12], &n, 4);
		k->dst.v6.s6_addr[0] = 0x20;
	} else {
		k->src.v4.s_addr = htonl(0x0a000000u | (n / 60000));
		k->dst.v4.s_addr = htonl(0xcb007105u);
	}
}

static void test_sizes(void **state)
{
	(void)state;
	fprintf(stderr, "sizeof(struct ct_key) = %zu, sizeof(struct ct_flow) = %zu\n",
	        sizeof(struct ct_key), sizeof(struct ct_flow));
	assert_int_equal(sizeof(struct ct_key), 40);
	assert_true(sizeof(struct ct_flow) <= 128);
}

/* Random inserts and removes checked against a presence array: backward-shift deletion and
 * the move of the last entry keep every other flow findable. */
static void test_random_ops(void **state)
{
	enum { N = 20000 };
	struct ct_table *t = ct_table_new(16, 0);
	bool *in = calloc(N, sizeof(*in));
	size_t count = 0;
	uint32_t seed = 12345;

	(void)state;
	assert_non_null(t);
	for (int step = 0; step < 200000; step++) {
		struct ct_key k;
		uint32_t n;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 8) % N;
		key_n(&k, n, n & 2);
		if ((seed >> 4) & 1) {
			bool created;
			struct ct_flow *f = ct_table_insert(t, &k, &created);

			assert_non_null(f);
			assert_int_equal(created, !in[n]);
			assert_memory_equal(&f->key, &k, sizeof(k));
			if (created) {
				f->id = n;
				count++;
			}
			assert_int_equal(f->id, n);
			in[n] = true;
		} else {
			assert_int_equal(ct_table_remove(t, &k), in[n]);
			if (in[n])
				count--;
			in[n] = false;
		}
		assert_int_equal(ct_table_count(t), count);
	}
	for (uint32_t n = 0; n < N; n++) {
		struct ct_key k;
		struct ct_flow *f;

		key_n(&k, n, n & 2);
		f = ct_table_find(t, &k);
		assert_int_equal(f != NULL, in[n]);
		if (f)
			assert_int_equal(f->id, n);
	}
	assert_int_equal(ct_table_counters(t)->flows[CT_FLOW_CANDIDATE], count);
	free(in);
	ct_table_free(t);
}

static void test_states_and_limit(void **state)
{
	struct ct_table *t = ct_table_new(4, 3);
	struct ct_key k;
	struct ct_flow *f;
	bool created;

	(void)state;
	for (uint32_t n = 0; n < 3; n++) {
		key_n(&k, n, false);
		assert_non_null(ct_table_insert(t, &k, &created));
	}
	key_n(&k, 3, false);
	assert_null(ct_table_insert(t, &k, &created));
	assert_int_equal(ct_table_counters(t)->full, 1);
	key_n(&k, 1, false);
	f = ct_table_find(t, &k);
	ct_table_set_state(t, f, CT_FLOW_OFFLOADED);
	assert_int_equal(ct_table_counters(t)->flows[CT_FLOW_OFFLOADED], 1);
	assert_int_equal(ct_table_counters(t)->flows[CT_FLOW_CANDIDATE], 2);
	assert_true(ct_table_remove(t, &k));
	assert_int_equal(ct_table_counters(t)->flows[CT_FLOW_OFFLOADED], 0);
	assert_false(ct_table_remove(t, &k));
	ct_table_free(t);
}

/* 1,000,000 flows, sized up front (the daemon knows its max) and grown from small. */
static void test_million(void **state)
{
	enum { N = 1000000 };

	(void)state;
	for (int grown = 0; grown < 2; grown++) {
		struct ct_table *t = ct_table_new(grown ? 1024 : N, 0);
		struct ct_key k;
		double per;

		assert_non_null(t);
		for (uint32_t n = 0; n < N; n++) {
			key_n(&k, n, false);
			k.src.v4.s_addr ^= htonl(n); /* unique per n */
			assert_non_null(ct_table_insert(t, &k, NULL));
		}
		assert_int_equal(ct_table_count(t), N);
		per = (double)ct_table_bytes(t) / N;
		fprintf(stderr,
		        "%s: %d flows, %zu bytes, %.1f bytes per flow, %.2f probes per lookup\n",
		        grown ? "grown from 1024" : "sized for 1M", N, ct_table_bytes(t), per,
		        (double)ct_table_counters(t)->probes /
		            (double)ct_table_counters(t)->lookups);
		assert_true(per <= 256.0);
		ct_table_free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_random_ops),
	    cmocka_unit_test(test_states_and_limit),
	    cmocka_unit_test(test_million),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
