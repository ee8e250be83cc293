/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Canonical dumps of the nft model: JSON shape, and equal dumps for equivalent rulesets. */
#include <jansson.h>

#include "nft-test.h"

static struct nft_ruleset *parse_str(const char *text)
{
	struct nft_ruleset *rs = NULL;
	struct nft_error err;

	if (nft_parse_buffer(text, strlen(text), "mem.nft", &rs, &err))
		fail_msg("%s", err.formatted);
	return rs;
}

static void test_json_shape(void **state)
{
	struct nft_ruleset *rs = load_ok("ssh-accept.nft");
	char *s = nft_ruleset_dump_json(rs, 0);
	json_error_t jerr;
	json_t *root, *t, *ft, *o, *ex;

	(void)state;
	assert_non_null(s);
	root = json_loads(s, 0, &jerr);
	assert_non_null(root);
	t = json_array_get(json_object_get(root, "tables"), 0);
	assert_string_equal(json_string_value(json_object_get(t, "family")), "ip");
	assert_string_equal(json_string_value(json_object_get(t, "name")), "router");
	ft = json_array_get(json_object_get(t, "flowtables"), 0);
	assert_int_equal(json_integer_value(json_object_get(ft, "priority")), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(ft, "devices"), 1)),
	                    "eth1");
	o = json_array_get(json_object_get(t, "offload_rules"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "flowtable")), "ft");
	ex = json_object_get(o, "exclusions");
	assert_int_equal(json_array_size(ex), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ex, 0), "text")),
	                    "tcp dport 22 accept");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(ex, 0), "loc")),
	                       "ssh-accept.nft:10:3"));
	json_decref(root);
	free(s);

	s = nft_ruleset_dump_text(rs, NFT_DUMP_NO_SOURCE);
	assert_non_null(s);
	assert_non_null(strstr(s, "flowtable ft hook ingress priority 0 devices { eth0, eth1 }"));
	assert_non_null(strstr(s, "    unless tcp dport 22 accept\n"));
	assert_non_null(strstr(s, "    unless ip daddr 192.0.2.10 tcp dport { 80, 443 } reject\n"));
	assert_null(strstr(s, "ssh-accept.nft"));
	free(s);
	nft_ruleset_free(rs);
}

/* The same ruleset written two ways: different order, names, syntax forms. */
static void test_canonical(void **state)
{
	static const char a[] =
	    "define devs = { wan, lan2, lan1 }\n"
	    "table inet x {\n"
	    "  flowtable ft { hook ingress priority filter; devices = $devs; flags offload; }\n"
	    "  chain other { }\n"
	    "  chain forward {\n"
	    "    type filter hook forward priority filter; policy accept;\n"
	    "    tcp dport { 443, 22, 80 } accept\n"
	    "    meta l4proto { udp, tcp } iifname { \"lan2\", lan1 } flow offload @ft\n"
	    "  }\n"
	    "}\n"
	    "table ip y { }\n";
	static const char b[] =
	    "add table ip y\n"
	    "add table inet x\n"
	    "add chain inet x forward { type filter hook forward priority 0; policy accept; }\n"
	    "add flowtable inet x ft { hook ingress priority 0; devices = { lan1, lan2, wan, "
	    "lan1 }; flags offload; }\n"
	    "add chain inet x other\n"
	    "add rule inet x forward tcp dport { ssh, http, https } accept\n"
	    "add rule inet x forward iifname { lan1, lan2 } meta l4proto { 6, 17 } flow add @ft\n";
	struct nft_ruleset *ra = parse_str(a), *rb = parse_str(b);
	char *ja = nft_ruleset_dump_json(ra, NFT_DUMP_NO_SOURCE);
	char *jb = nft_ruleset_dump_json(rb, NFT_DUMP_NO_SOURCE);
	char *ta = nft_ruleset_dump_text(ra, NFT_DUMP_NO_SOURCE);
	char *tb = nft_ruleset_dump_text(rb, NFT_DUMP_NO_SOURCE);

	(void)state;
	assert_string_equal(ja, jb);
	assert_string_equal(ta, tb);
	assert_non_null(strstr(ta, "when meta iifname { lan1, lan2 } meta l4proto { 6, 17 } flow "
	                           "add @ft\n    unless tcp dport { 22, 80, 443 } accept\n"));
	free(ja);
	free(jb);
	free(ta);
	free(tb);
	/* with sources the dumps differ (locations, texts) */
	ja = nft_ruleset_dump_json(ra, 0);
	jb = nft_ruleset_dump_json(rb, 0);
	assert_string_not_equal(ja, jb);
	free(ja);
	free(jb);
	nft_ruleset_free(ra);
	nft_ruleset_free(rb);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(nft_family_name(NFT_FAMILY_BRIDGE), "bridge");
	assert_string_equal(nft_match_key_name(NFT_MATCH_TH_DPORT), "th dport");
	assert_string_equal(nft_verdict_name(NFT_VERDICT_GOTO), "goto");
	assert_null(nft_ruleset_table(NULL, NFT_FAMILY_IP, "x"));
	nft_ruleset_free(NULL);
	nft_error_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_shape),
	    cmocka_unit_test(test_canonical),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
