/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the nft parser tests. */
#ifndef NTO_TEST_NFT_H
#define NTO_TEST_NFT_H

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-tc-offload/nft.h"

/* Absolute path of a file under test/data/nft (static buffer per call site is not needed:
 * the caller frees the result). */
static inline char *data_path(const char *name)
{
	const char *root = getenv("NTO_SOURCE_DIR");
	char *p = NULL;

	if (asprintf(&p, "%s/test/data/nft/%s", root ? root : ".", name) < 0)
		return NULL;
	return p;
}

static inline struct nft_ruleset *load_ok(const char *name)
{
	struct nft_ruleset *rs = NULL;
	struct nft_error err;
	char *path = data_path(name);
	int r;

	assert_non_null(path);
	r = nft_parse_file(path, &rs, &err);
	if (r)
		fprintf(stderr, "%s", err.formatted ? err.formatted : "(no message)\n");
	nft_error_clear(&err);
	free(path);
	assert_int_equal(r, 0);
	assert_non_null(rs);
	return rs;
}

static inline const struct nft_table *get_table(const struct nft_ruleset *rs, enum nft_family f,
                                                const char *name)
{
	const struct nft_table *t = nft_ruleset_table(rs, f, name);

	assert_non_null(t);
	return t;
}

/* The first match of a key in a rule (fails the test when absent). */
static inline const struct nft_match *get_match(const struct nft_rule *r, enum nft_match_key key)
{
	for (size_t i = 0; i < r->n_matches; i++)
		if (r->matches[i].key == key)
			return &r->matches[i];
	fail_msg("rule '%s' has no %s match", r->text, nft_match_key_name(key));
	return NULL;
}

static inline bool has_match(const struct nft_rule *r, enum nft_match_key key)
{
	for (size_t i = 0; i < r->n_matches; i++)
		if (r->matches[i].key == key)
			return true;
	return false;
}

static inline void assert_num(const struct nft_value *v, uint64_t n)
{
	assert_int_equal(v->type, NFT_VALUE_NUM);
	assert_int_equal(v->num, n);
}

static inline void assert_range(const struct nft_value *v, uint64_t lo, uint64_t hi)
{
	assert_int_equal(v->type, NFT_VALUE_RANGE);
	assert_int_equal(v->num, lo);
	assert_int_equal(v->num_hi, hi);
}

static inline void assert_name(const struct nft_value *v, const char *n)
{
	assert_int_equal(v->type, NFT_VALUE_NAME);
	assert_string_equal(v->name, n);
}

static inline void assert_v4(const struct nft_value *v, const char *addr, unsigned int plen)
{
	char buf[INET_ADDRSTRLEN];

	assert_int_equal(v->type, NFT_VALUE_IPV4);
	assert_false(v->addr_range);
	assert_non_null(inet_ntop(AF_INET, &v->addr.v4, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
	assert_int_equal(v->prefix_len, plen);
}

static inline void assert_v6(const struct nft_value *v, const char *addr, unsigned int plen)
{
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(v->type, NFT_VALUE_IPV6);
	assert_false(v->addr_range);
	assert_non_null(inet_ntop(AF_INET6, &v->addr.v6, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
	assert_int_equal(v->prefix_len, plen);
}

static inline bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

#endif
