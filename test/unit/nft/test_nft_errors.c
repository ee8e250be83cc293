/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nft parser on malformed rulesets (the samples in test/data/nft/bad): position and message of
 * each error, the caret display; and robustness: truncated and mutated inputs never crash.
 */
#include <dirent.h>

#include "nft-test.h"

struct bad_case {
	const char *file;
	unsigned int line;
	unsigned int col;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
    {"unbalanced.nft", 1, 14, "unbalanced braces: '{' is never closed"},
    {"unknown-toplevel.nft", 2, 1, "unknown top-level keyword 'tabel'"},
    {"bad-prefix.nft", 4, 12, "prefix length 33 is invalid for IPv4"},
    {"bad-address.nft", 4, 24, "invalid IPv4 address '10.0.0.300'"},
    {"missing-separator.nft", 3, 39, "expected ';' or newline after the base chain declaration"},
    {"unterminated-string.nft", 4, 11, "unterminated string"},
    {"undefined-variable.nft", 5, 21, "undefined variable '$wan'"},
    {"include-missing.nft", 2, 11, "no-such-file.nft' not found"},
    {"flowtable-no-hook.nft", 2, 12, "flowtable 'ft' has no hook"},
    {"bad-priority.nft", 3, 25, "invalid priority expression 'raw'"},
    {"bad-priority-offset.nft", 3, 46, "expected a number after '+'"},
    {"unknown-flowtable.nft", 7, 20, "flowtable 'fastpath' is not declared in table inet t"},
    {"port-range.nft", 4, 19, "port '70000' out of range"},
    {"stray-brace.nft", 5, 1, "unexpected '}'"},
    {"hook-egress.nft", 3, 8, "flowtable hook must be 'ingress'"},
    {"after-verdict.nft", 4, 23, "statement after terminal statement 'accept'"},
    {"block-separator.nft", 1, 28, "expected ';' or newline after '}'"},
    {"jump-undefined.nft", 4, 22, "jump to chain 'from_wan', which is not declared"},
    {"self-include.nft", 2, 9, "includes nested too deep"},
};

static void test_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct nft_ruleset *rs = (struct nft_ruleset *)1;
		struct nft_error err;
		char *name = NULL, *path;

		assert_true(asprintf(&name, "bad/%s", c->file) > 0);
		path = data_path(name);
		if (nft_parse_file(path, &rs, &err) == 0)
			fail_msg("%s parsed without an error", c->file);
		assert_null(rs);
		assert_non_null(err.message);
		assert_non_null(err.formatted);
		if (!strstr(err.message, c->msg) || err.line != c->line || err.col != c->col)
			fail_msg("%s: expected %u:%u '%s', got:\n%s", c->file, c->line, c->col,
			         c->msg, err.formatted);
		assert_true(ends_with(err.file, c->file));
		nft_error_clear(&err);
		assert_null(err.message);
		free(path);
		free(name);
	}
}

static void test_error_format(void **state)
{
	static const char text[] = "table inet t {\n"
	                           "\tchain c {\n"
	                           "\t\ttype filter hook forward priority 0;\n"
	                           "\t\tip saddr 10.1.2.3/40 drop\n"
	                           "\t}\n"
	                           "}\n";
	struct nft_ruleset *rs;
	struct nft_error err;

	(void)state;
	assert_int_equal(nft_parse_buffer(text, strlen(text), "mem.nft", &rs, &err), -1);
	assert_string_equal(err.file, "mem.nft");
	assert_int_equal(err.line, 4);
	assert_int_equal(err.col, 12);
	/* message, the source line, a caret under the column (tabs kept) */
	assert_string_equal(err.formatted,
	                    "mem.nft:4:12: error: prefix length 40 is invalid for IPv4 (0-32)\n"
	                    "\t\tip saddr 10.1.2.3/40 drop\n"
	                    "\t\t         ^\n");
	nft_error_clear(&err);

	/* the error parameter is optional */
	assert_int_equal(nft_parse_buffer(text, strlen(text), "mem.nft", &rs, NULL), -1);
	assert_null(rs);

	/* unreadable file */
	assert_int_equal(nft_parse_file("/nonexistent/nft-tc-offload.nft", &rs, &err), -1);
	assert_non_null(strstr(err.formatted, "cannot read"));
	nft_error_clear(&err);
}

static void test_more_errors(void **state)
{
	static const struct {
		const char *text;
		unsigned int line, col;
		const char *msg;
	} cases[] = {
	    {"table inet t { flowtable f { hook ingress priority 0; devices = { a }; flags "
	     "fast; }\n}\n",
	     1, 78, "unknown flowtable flag 'fast'"},
	    {"table inet t {\n chain c {\n  type filter hook forward priority 0;\n  ip6 saddr "
	     "10.0.0.1 drop\n }\n}\n",
	     4, 13, "is an IPv4 address, expected IPv6"},
	    {"table inet t {\n chain c {\n  type filter hook forward priority 0;\n  tcp dport "
	     "2000-1000 drop\n }\n}\n",
	     4, 13, "zero or negative size"},
	    {"table inet t {\n chain c {\n  type filter hook forward priority 0;\n  ct state "
	     "bogus drop\n }\n}\n",
	     4, 12, "unknown ct state 'bogus'"},
	    {"table inet t {\n chain c {\n  type filter hook forward priority 0;\n  frobnicate "
	     "drop\n }\n}\n",
	     4, 3, "unknown statement or expression 'frobnicate'"},
	    {"table inet t {\n chain c {\n  type filter hook sideways priority 0;\n }\n}\n", 3, 20,
	     "unknown chain hook 'sideways'"},
	    {"table inet t {\n chain c {\n  type filter hook forward priority 0;\n  meta l4proto "
	     "tcp flow add ft\n }\n}\n",
	     4, 29, "expected '@FLOWTABLE'"},
	    {"table inet t {\n chain c {\n  type filter hook forward priority 0;\n  tcp dport\n "
	     "}\n}\n",
	     4, 7, "expected a value after"},
	    {"define a = 1\ndefine a = 2\n", 2, 8, "redefinition of variable '$a'"},
	    {"table inet t {\n\tbogus x;\n}\n", 2, 2, "unknown table-level keyword 'bogus'"},
	    {"table inet t \\ x\n", 1, 14, "line continuation"},
	    {"table inet t { chain c { type filter hook input priority srcnat; }; }\n", 1, 58,
	     "invalid priority expression 'srcnat' for family inet hook input"},
	    {"table inet t { chain c { iifname \"averyveryverylongname\" accept; }; }\n", 1, 34,
	     "invalid interface name"},
	    {"table ip t { chain c { meta mark and zz 1 accept; }; }\n", 1, 38,
	     "invalid mark mask"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nft_ruleset *rs;
		struct nft_error err;

		if (nft_parse_buffer(cases[i].text, strlen(cases[i].text), "t.nft", &rs, &err) == 0)
			fail_msg("case %zu parsed without an error", i);
		if (!strstr(err.message, cases[i].msg) || err.line != cases[i].line ||
		    err.col != cases[i].col)
			fail_msg("case %zu: expected %u:%u '%s', got:\n%s", i, cases[i].line,
			         cases[i].col, cases[i].msg, err.formatted);
		nft_error_clear(&err);
	}
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void parse_any(const char *buf, size_t len, const char *name)
{
	struct nft_ruleset *rs = NULL;
	struct nft_error err;

	if (nft_parse_buffer(buf, len, name, &rs, &err) == 0) {
		char *a = nft_ruleset_dump_json(rs, 0), *b = nft_ruleset_dump_text(rs, 0);

		assert_non_null(a);
		assert_non_null(b);
		free(a);
		free(b);
		nft_ruleset_free(rs);
	} else {
		assert_null(rs);
		assert_non_null(err.formatted);
		assert_non_null(err.message);
		nft_error_clear(&err);
	}
}

/* Every prefix and a few thousand byte mutations of every sample: no crash, no leak. */
static void test_robustness(void **state)
{
	static const char *const files[] = {"fw4.nft",       "debian.nft",       "connectx.nft",
	                                    "inet-sets.nft", "syntax-forms.nft", "unsupported.nft",
	                                    "jumps.nft",     "commands.nft"};
	static const char junk[] = "{}{};\n\"$@#\\-,.!=<>/*x0:";
	uint32_t seed = 12345;

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char *path = data_path(files[f]), *buf, *copy;
		size_t len;

		buf = read_all(path, &len);
		copy = malloc(len + 1);
		assert_non_null(copy);
		for (size_t cut = 0; cut <= len; cut += 3)
			parse_any(buf, cut, path);
		for (int round = 0; round < 400; round++) {
			memcpy(copy, buf, len);
			for (int k = 0; k < 3; k++) {
				seed = seed * 1103515245u + 12345u;
				size_t pos = (seed >> 8) % (len ? len : 1);

				seed = seed * 1103515245u + 12345u;
				copy[pos] = (round & 1) ? junk[(seed >> 8) % (sizeof(junk) - 1)]
				                        : (char)(seed >> 16);
			}
			parse_any(copy, len, path);
		}
		free(copy);
		free(buf);
		free(path);
	}
}

static void test_deep_nesting(void **state)
{
	size_t n = 5000, len;
	char *buf = malloc(n * 2 + 64);

	(void)state;
	assert_non_null(buf);
	len = (size_t)sprintf(buf, "define x = ");
	for (size_t i = 0; i < n; i++)
		buf[len++] = '{';
	for (size_t i = 0; i < n; i++)
		buf[len++] = '}';
	parse_any(buf, len, "deep.nft");
	len = (size_t)sprintf(buf, "table ip t { chain c { tcp dport ");
	for (size_t i = 0; i < n; i++)
		buf[len++] = '{';
	parse_any(buf, len, "deep2.nft");
	/* nested sets through variables stay bounded as well */
	parse_any(
	    "define a = { x }\ndefine b = { $a, $a }\ndefine c = { $b, $b }\n"
	    "table netdev t { flowtable f { hook ingress priority 0; devices = { $c }; }\n}\n",
	    strlen("define a = { x }\ndefine b = { $a, $a }\ndefine c = { $b, $b }\n"
	           "table netdev t { flowtable f { hook ingress priority 0; devices = { $c "
	           "}; }\n}\n"),
	    "vars.nft");
	/* a NUL byte in the input is an error, not the end of the input */
	parse_any("table ip t {\0}\n", 15, "nul.nft");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_files),    cmocka_unit_test(test_error_format),
	    cmocka_unit_test(test_more_errors),  cmocka_unit_test(test_robustness),
	    cmocka_unit_test(test_deep_nesting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
