/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading profiles: the shipped ones (directory and built-in copies are identical), overrides,
 * and malformed files with their exact error line and message. */
#include <dirent.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-tc-offload/profile.h"

static const char *const shipped[] = {"airoha-en7581", "generic-ct", "generic-flow", "mlx5",
                                      "mtk-ppe"};
#define N_SHIPPED (sizeof(shipped) / sizeof(shipped[0]))

static void src_path(char *buf, size_t len, const char *rel)
{
	const char *root = getenv("NTO_SOURCE_DIR");

	assert_non_null(root);
	snprintf(buf, len, "%s/%s", root, rel);
}

static char *read_all(const char *path)
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
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_builtin_loads(void **state)
{
	struct profile_set s;
	char err[PROFILE_ERR_MAX] = "";

	profile_set_init(&s);
	assert_int_equal(profile_set_load_builtin(&s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(s.n, N_SHIPPED);
	for (size_t i = 0; i < N_SHIPPED; i++) {
		const struct profile *p = profile_set_find(&s, shipped[i]);

		assert_non_null(p);
		assert_true(p->builtin);
		assert_int_equal(strncmp(p->origin, "builtin:", 8), 0);
		assert_true(p->description[0] != '\0');
	}
	profile_set_free(&s);
}

static void test_dir_loads(void **state)
{
	struct profile_set s;
	char dir[512], err[PROFILE_ERR_MAX] = "";

	src_path(dir, sizeof(dir), "profiles");
	profile_set_init(&s);
	assert_int_equal(profile_set_load_dir(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(s.n, N_SHIPPED);
	for (size_t i = 0; i < N_SHIPPED; i++) {
		assert_string_equal(s.v[i].name, shipped[i]); /* sorted by name */
		assert_false(s.v[i].builtin);
	}
	profile_set_free(&s);
}

/* Each built-in text is byte for byte its file, and both parse to equal profiles. */
static void test_builtin_equals_files(void **state)
{
	char path[512], err[PROFILE_ERR_MAX];
	struct profile a, b;

	assert_int_equal(profile_builtin_count(), N_SHIPPED);
	assert_null(profile_builtin_get(N_SHIPPED));
	for (size_t i = 0; i < profile_builtin_count(); i++) {
		const struct profile_builtin *bi = profile_builtin_get(i);
		char rel[128], *text;

		snprintf(rel, sizeof(rel), "profiles/%s", bi->file);
		src_path(path, sizeof(path), rel);
		text = read_all(path);
		assert_int_equal(strlen(text), bi->len);
		assert_memory_equal(text, bi->text, bi->len);
		free(text);

		assert_int_equal(profile_parse(bi->text, bi->file, &a, err, sizeof(err)), 0);
		assert_int_equal(profile_load_file(path, &b, err, sizeof(err)), 0);
		assert_true(profile_equal(&a, &b));
		assert_string_equal(b.origin, path);
	}
}

static void test_shipped_contents(void **state)
{
	struct profile_set s;
	char err[PROFILE_ERR_MAX];
	const struct profile *p;

	profile_set_init(&s);
	assert_int_equal(profile_set_load_builtin(&s, err, sizeof(err)), 0);

	p = profile_set_find(&s, "mlx5");
	assert_non_null(p);
	assert_int_equal(p->strategy, PROFILE_STRATEGY_CT);
	assert_string_equal(p->match.drivers[0], "mlx5_core");
	assert_false(p->skip_sw);
	assert_true(p->switchdev);
	assert_int_equal(p->ct_state_set,
	                 TC_CT_TRACKED | TC_CT_ESTABLISHED | TC_CT_NEW | TC_CT_REPLY);
	assert_int_equal(p->ct_state_set & (TC_CT_RELATED | TC_CT_INVALID), 0);
	assert_true(p->ct_state_clear & TC_CT_RELATED);
	assert_true(p->ct_state_clear & TC_CT_INVALID);
	assert_true(p->keys & PROFILE_KEY_CT_MARK);
	assert_true(p->keys & PROFILE_KEY_CT_LABEL);
	assert_true(p->has_ct_zones);
	assert_int_equal(p->capacity, 0);

	p = profile_set_find(&s, "mtk-ppe");
	assert_non_null(p);
	assert_int_equal(p->strategy, PROFILE_STRATEGY_FLOW);
	assert_string_equal(p->match.drivers[0], "mtk_soc_eth");
	assert_int_equal(p->capacity, 16384);
	assert_int_equal(p->actions & PROFILE_ACT_PEDIT_IP6, 0);
	assert_true(p->actions & PROFILE_ACT_PPPOE_PUSH);
	assert_int_equal(p->ignored_actions, PROFILE_ACT_CSUM);
	assert_int_equal(p->max_vlan_tags, 2);
	assert_int_equal(p->hooks, PROFILE_HOOK_INGRESS);

	p = profile_set_find(&s, "airoha-en7581");
	assert_non_null(p);
	assert_string_equal(p->match.drivers[0], "airoha_eth");
	assert_int_equal(p->capacity, 16384);

	p = profile_set_find(&s, "generic-flow");
	assert_non_null(p);
	assert_false(p->skip_sw);
	assert_int_equal(p->strategy, PROFILE_STRATEGY_FLOW);
	p = profile_set_find(&s, "generic-ct");
	assert_non_null(p);
	assert_false(p->skip_sw);
	assert_false(p->switchdev); /* veth in the lab: no phys_switch_id */
	assert_int_equal(p->strategy, PROFILE_STRATEGY_CT);
	assert_int_equal(p->match.n_drivers + p->match.n_pci_ids + p->match.n_ifnames, 0);
	profile_set_free(&s);
}

/* A directory profile replaces the built-in one of the same name. */
static void test_dir_overrides_builtin(void **state)
{
	struct profile_set s;
	char dir[512], err[PROFILE_ERR_MAX];
	const struct profile *p;

	profile_set_init(&s);
	assert_int_equal(profile_set_load_builtin(&s, err, sizeof(err)), 0);
	src_path(dir, sizeof(dir), "profiles");
	assert_int_equal(profile_set_load_dir(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(s.n, N_SHIPPED);
	for (size_t i = 0; i < s.n; i++)
		assert_false(s.v[i].builtin);
	p = profile_set_find(&s, "mlx5");
	assert_non_null(p);
	assert_non_null(strstr(p->origin, "profiles/mlx5.conf"));
	profile_set_free(&s);
}

/* The daemon's loader: a missing directory is fine, a bad one empties the set. */
static void test_set_load(void **state)
{
	struct profile_set s;
	char dir[512], err[PROFILE_ERR_MAX];

	profile_set_init(&s);
	assert_int_equal(profile_set_load(&s, "/nonexistent/nft-tc-offload", err, sizeof(err)), 0);
	assert_int_equal(s.n, N_SHIPPED);
	profile_set_free(&s);

	src_path(dir, sizeof(dir), "test/data/profiles/duplicate");
	assert_int_equal(profile_set_load(&s, dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate profile name 'twin'"));
	assert_int_equal(s.n, 0);
	assert_null(s.v);
}

struct bad_case {
	const char *file; /* under test/data/profiles */
	unsigned line;
	const char *message;
};

static const struct bad_case bad_cases[] = {
    {"unknown-key.conf", 4, "unknown key 'stratgy' in [profile]"},
    {"bad-value.conf", 9, "max_actions: 'lots' is not a whole number from 1 to 64"},
    {"unknown-section.conf", 6,
     "unknown section [hardware] (sections: profile, match, offload, limits)"},
    {"missing-strategy.conf", 3,
     "profile 'no-strategy' has no strategy (add 'strategy = ct' or 'strategy = flow' to "
     "[profile])"},
    {"ct-state-unsigned.conf", 9, "ct_state: 'trk' needs a '+' or '-' sign (e.g. +trk, -inv)"},
    {"skip-sw-ct.conf", 11,
     "skip_sw: cannot be yes with strategy ct (act_ct needs the software path to build its "
     "flowtable)"},
    {"unknown-action.conf", 9,
     "actions: unknown action 'pedit_ipv6' (known: ct ct_nat gact goto mirred pedit_eth "
     "pedit_ip4 pedit_ip6 pedit_ports pedit_ttl csum vlan_push vlan_pop pppoe_push)"},
    {"duplicate-key.conf", 14, "duplicate key 'capacity' (first set at line 12)"},
    {"wrong-section.conf", 7, "unknown key 'driver' in [offload] ('driver' belongs in [match])"},
    {"syntax-error.conf", 5, "syntax error (expected '[section]', 'key = value' or a '#' comment)"},
    {"ct-action-on-flow.conf", 8,
     "actions: 'ct' needs strategy ct (this profile has strategy flow)"},
    {"bad-pci-id.conf", 8,
     "pci_id: '15b3-1017' is not a PCI id (VVVV:DDDD or VVVV:*, 4 hex digits each)"},
    {"long-line.conf", 4, "line is longer than 197 characters"},
    {"switchdev-flow.conf", 10,
     "switchdev: only for strategy ct (the one-eswitch check applies to ct flowtables)"},
};

static void test_malformed(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char rel[128], path[512], want[1024], err[PROFILE_ERR_MAX] = "";
		struct profile p;

		snprintf(rel, sizeof(rel), "test/data/profiles/%s", c->file);
		src_path(path, sizeof(path), rel);
		snprintf(want, sizeof(want), "%s:%u: error: %s", path, c->line, c->message);
		assert_int_equal(profile_load_file(path, &p, err, sizeof(err)), -1);
		if (strcmp(err, want) != 0)
			print_error("case %s\n  got:  %s\n  want: %s\n", c->file, err, want);
		assert_string_equal(err, want);
	}
}

/* Every malformed sample is in the table above, and loading their directory stops at the first
 * bad file in name order. */
static void test_malformed_all_listed(void **state)
{
	char dir[512], err[PROFILE_ERR_MAX];
	struct profile_set s;
	struct dirent *de;
	size_t n_files = 0;
	DIR *d;

	src_path(dir, sizeof(dir), "test/data/profiles");
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		bool listed = false;

		if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		n_files++;
		for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
			listed |= strcmp(bad_cases[i].file, de->d_name) == 0;
		if (!listed)
			fail_msg("%s has no expected error in bad_cases[]", de->d_name);
	}
	closedir(d);
	assert_int_equal(n_files, sizeof(bad_cases) / sizeof(bad_cases[0]));

	profile_set_init(&s);
	assert_int_equal(profile_set_load_dir(&s, dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/bad-pci-id.conf:8: error: "));
	assert_int_equal(s.n, 0);
	profile_set_free(&s);
}

static void test_duplicate_name_in_dir(void **state)
{
	char dir[256], want[1200], err[PROFILE_ERR_MAX];
	struct profile_set s;

	src_path(dir, sizeof(dir), "test/data/profiles/duplicate");
	profile_set_init(&s);
	assert_int_equal(profile_set_load_dir(&s, dir, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
	         "%s/b.conf:5: error: duplicate profile name 'twin' (first defined at %s/a.conf:3)",
	         dir, dir);
	assert_string_equal(err, want);
	profile_set_free(&s);
}

static void test_parse_string_errors(void **state)
{
	char err[PROFILE_ERR_MAX];
	struct profile p;

	assert_int_equal(profile_parse("name = x\n", "t.conf", &p, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "t.conf:1: error: key 'name' is outside a section (start with [profile])");
	assert_int_equal(profile_parse("# nothing\n", "t.conf", &p, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:1: error: missing section [profile]");
	assert_int_equal(
	    profile_parse("[profile]\nname = a\n[profile]\n", "t.conf", &p, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:3: error: duplicate section [profile] (first at line 1)");
	assert_int_equal(profile_parse("[profile]\nname = Bad\n", "t.conf", &p, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "t.conf:2: error: name: 'Bad' is not a profile name"));
	assert_int_equal(profile_parse("[profile]\nname = a\nstrategy = ct\n  more\n", "t.conf", &p,
	                               err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "t.conf:4: error: indented line continues 'strategy', which "
	                         "takes one value (remove the indentation)");
	assert_int_equal(profile_parse("[profile]\nname = a\nstrategy = flow\n[limits]\ncapacity = "
	                               "-1\n",
	                               "t.conf", &p, err, sizeof(err)),
	                 -1);
	assert_string_equal(
	    err, "t.conf:5: error: capacity: '-1' is not a whole number from 0 to 4294967295");
}

static void test_parse_minimal_and_defaults(void **state)
{
	static const char text[] = "[profile]\n"
	                           "name = mini\n"
	                           "strategy = flow\n"
	                           "[offload]\n"
	                           "keys = indev, eth_type ; inline comment\n"
	                           "actions = mirred\n"
	                           "max_actions = 4\n"
	                           "[limits]\n"
	                           "capacity = 10\n";
	char err[PROFILE_ERR_MAX] = "";
	struct profile p;

	assert_int_equal(profile_parse(text, "mini.conf", &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "mini");
	assert_int_equal(p.origin_line, 2);
	assert_int_equal(p.keys, PROFILE_KEY_INDEV | PROFILE_KEY_ETH_TYPE);
	assert_int_equal(p.hooks, PROFILE_HOOK_INGRESS);
	assert_int_equal(p.vlan_protocols, PROFILE_VLAN_8021Q | PROFILE_VLAN_8021AD);
	assert_int_equal(p.stats_interval_ms, 1000);
	assert_int_equal(p.capacity, 10);
	assert_false(p.skip_sw);
}

/* A UTF-8 BOM and CRLF line ends are fine, continuation lines append to lists. */
static void test_parse_bom_crlf_continuation(void **state)
{
	static const char text[] = "\xEF\xBB\xBF[profile]\r\n"
	                           "name = crlf\r\n"
	                           "strategy = flow\r\n"
	                           "[offload]\r\n"
	                           "keys = indev\r\n"
	                           "# a comment between continuation lines\r\n"
	                           "  eth_type\r\n"
	                           "\r\n"
	                           "  ports\r\n"
	                           "actions = mirred\r\n"
	                           "max_actions = 4\r\n"
	                           "[limits]\r\n"
	                           "capacity = 1\r\n";
	char err[PROFILE_ERR_MAX] = "";
	struct profile p;

	if (profile_parse(text, "crlf.conf", &p, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(p.name, "crlf");
	assert_int_equal(p.keys, PROFILE_KEY_INDEV | PROFILE_KEY_ETH_TYPE | PROFILE_KEY_PORTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtin_loads),
	    cmocka_unit_test(test_dir_loads),
	    cmocka_unit_test(test_builtin_equals_files),
	    cmocka_unit_test(test_shipped_contents),
	    cmocka_unit_test(test_dir_overrides_builtin),
	    cmocka_unit_test(test_set_load),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_malformed_all_listed),
	    cmocka_unit_test(test_duplicate_name_in_dir),
	    cmocka_unit_test(test_parse_string_errors),
	    cmocka_unit_test(test_parse_minimal_and_defaults),
	    cmocka_unit_test(test_parse_bom_crlf_continuation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
