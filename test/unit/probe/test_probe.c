/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The capability probe's pure parts: test rules, needs, refusal reasons, status JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-tc-offload/ctrt.h"
#include "nft-tc-offload/install.h"
#include "nft-tc-offload/probe.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

static const char *name7(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	snprintf(buf, IFNAMSIZ, "dev%u", ifindex);
	return buf;
}

/* The text after "filter replace dev dev7 ingress protocol ip pref 65520 chain 268435440
 * handle N flower ", without the cookies, so the expectations stay short. */
static void body(const struct tc_rule *r, char *out, size_t len)
{
	char line[1024], head[256];
	const char *c;
	size_t w = 0;

	assert_true(tc_print(r, TC_MSG_REPLACE, name7, NULL, line, sizeof(line)) <
	            (int)sizeof(line));
	snprintf(head, sizeof(head),
	         "filter replace dev dev7 ingress protocol ip pref 65520 chain 268435440 handle "
	         "0x%x flower ",
	         r->id.handle);
	if (strncmp(line, head, strlen(head)) != 0)
		fail_msg("unexpected head: %s", line);
	for (c = line + strlen(head); *c && w + 1 < len;) {
		if (strncmp(c, " cookie ", 8) == 0) {
			c += 8;
			while (*c && *c != ' ')
				c++;
			continue;
		}
		out[w++] = *c++;
	}
	out[w] = '\0';
}

static void test_rules(void **state)
{
	static const char *const want[PROBE_FEATURE_COUNT] = {
	    [PROBE_FLOWER] = "ip_proto tcp dst_port 65520 action pass",
	    [PROBE_CT_STATE_TRK] = "ip_proto tcp dst_port 65521 ct_state +trk action pass",
	    [PROBE_CT_STATE_EST] = "ip_proto tcp dst_port 65522 ct_state +trk+est action pass",
	    [PROBE_CT_STATE_NEW] = "ip_proto tcp dst_port 65523 ct_state +trk+new action pass",
	    [PROBE_CT_STATE_RPL] = "ip_proto tcp dst_port 65524 ct_state +trk+rpl action pass",
	    [PROBE_CT_STATE_REL] = "ip_proto tcp dst_port 65525 ct_state +trk+rel action pass",
	    [PROBE_CT_STATE_INV] = "ip_proto tcp dst_port 65526 ct_state +trk+inv action pass",
	    [PROBE_CT_ZONE_MATCH] = "ip_proto tcp dst_port 65527 ct_zone 3 action pass",
	    [PROBE_GOTO] = "ip_proto tcp dst_port 65528 action goto chain 268435441",
	    [PROBE_CT] = "ip_proto tcp dst_port 65529 action ct zone 3 pipe action pass",
	    [PROBE_CT_NAT] = "ip_proto tcp dst_port 65530 action ct zone 3 nat pipe action pass",
	    [PROBE_SKIP_SW] = "ip_proto tcp dst_port 65531 skip_sw action pass",
	};
	uint8_t buf[4096];
	char err[256], text[1024];

	for (int f = 0; f < PROBE_FEATURE_COUNT; f++) {
		struct tc_rule r;

		assert_int_equal(probe_build_rule((enum probe_feature)f, 7, 3, &r), 0);
		assert_int_equal(r.id.ifindex, 7);
		assert_int_equal(r.id.hook, TC_HOOK_INGRESS);
		assert_int_equal(r.id.chain, PROBE_CHAIN);
		assert_int_equal(r.id.prio, PROBE_PRIO);
		assert_int_equal(r.id.handle, f + 1);
		/* ours and static: an orphaned test rule is swept by the runtime's adoption */
		assert_true(nto_cookie_is_ours(&r));
		assert_true(ctrt_cookie_static(&r));
		/* the kernel can be asked for it */
		assert_true(
		    tc_encode(&r, TC_MSG_REPLACE, 0, 1, buf, sizeof(buf), err, sizeof(err)) > 0);
		body(&r, text, sizeof(text));
		if (strcmp(text, want[f]) != 0)
			fail_msg("feature %s: got \"%s\", want \"%s\"",
			         probe_feature_key((enum probe_feature)f), text, want[f]);
		/* a test rule needs what it tests */
		assert_true(probe_rule_needs(&r) & PROBE_BIT(f));
	}
	{
		struct tc_rule r;

		assert_int_equal(probe_build_rule(PROBE_FEATURE_COUNT, 7, 3, &r), -EINVAL);
	}
	/* nothing of the planner's ranges: chain 0 and 1, prios 0x1000-0x1fff */
	assert_true(PROBE_PRIO >= 0x2000);
	assert_true(PROBE_CHAIN > 1 && PROBE_GOTO_CHAIN > 1);
	assert_true(PROBE_GOTO_CHAIN <= 0x0fffffff); /* the kernel's chain index limit */
}

static void test_features_zone(void **state)
{
	struct profile_set ps;
	struct profile p;
	char err[PROFILE_ERR_MAX];
	unsigned all = PROBE_BIT(PROBE_FEATURE_COUNT) - 1;

	profile_set_init(&ps);
	assert_int_equal(profile_set_load_builtin(&ps, err, sizeof(err)), 0);
	/* ct profiles never install skip_sw: not tested */
	assert_int_equal(probe_features(profile_set_find(&ps, "generic-ct")),
	                 all & ~PROBE_BIT(PROBE_SKIP_SW));
	assert_int_equal(probe_features(profile_set_find(&ps, "mlx5")),
	                 all & ~PROBE_BIT(PROBE_SKIP_SW));
	/* a profile that claims skip_sw gets it tested */
	assert_int_equal(probe_features(profile_set_find(&ps, "mtk-ppe")), all);
	assert_int_equal(probe_zone(profile_set_find(&ps, "generic-ct")), 1);
	p = *profile_set_find(&ps, "generic-ct");
	p.ct_zone_min = 10;
	p.ct_zone_max = 20;
	assert_int_equal(probe_zone(&p), 10);
	p.ct_zone_min = p.ct_zone_max = 0;
	assert_int_equal(probe_zone(&p), 0);
	profile_set_free(&ps);
}

static void test_needs(void **state)
{
	struct tc_id id = {.ifindex = 3, .chain = 0, .prio = 0x1000, .protocol = 0x0800};
	struct tc_rule r;
	struct tc_action *a;

	/* the planner's chain-0 shape: ct_state -trk, ct zone 5 nat, goto chain 1 */
	tc_rule_init(&r, &id);
	r.flower.mask.ct_state = TC_CT_TRACKED;
	a = tc_rule_add_action(&r, TC_ACTION_CT);
	a->ct.zone = 5;
	a->ct.flags = TC_CT_NAT;
	a = tc_rule_add_action(&r, TC_ACTION_GACT);
	a->verdict = TC_VERDICT_GOTO_CHAIN;
	a->goto_chain = 1;
	assert_int_equal(probe_rule_needs(&r),
	                 PROBE_BIT(PROBE_FLOWER) | PROBE_BIT(PROBE_CT_STATE_TRK) |
	                     PROBE_BIT(PROBE_CT) | PROBE_BIT(PROBE_CT_NAT) | PROBE_BIT(PROBE_GOTO));
	/* without nat */
	r.actions[0].ct.flags = 0;
	assert_false(probe_rule_needs(&r) & PROBE_BIT(PROBE_CT_NAT));
	/* an exclusion pass rule: flower only */
	tc_rule_init(&r, &id);
	a = tc_rule_add_action(&r, TC_ACTION_GACT);
	a->verdict = TC_VERDICT_OK;
	assert_int_equal(probe_rule_needs(&r), PROBE_BIT(PROBE_FLOWER));
	/* chain 1's shape: ct_state +trk+est; a ct_zone match; -rel -inv */
	r.flower.key.ct_state = r.flower.mask.ct_state = TC_CT_TRACKED | TC_CT_ESTABLISHED;
	assert_int_equal(probe_rule_needs(&r), PROBE_CHAIN1_NEEDS);
	r.flower.mask.ct_zone = 0xffff;
	r.flower.key.ct_state = 0;
	r.flower.mask.ct_state = TC_CT_RELATED | TC_CT_INVALID;
	assert_int_equal(probe_rule_needs(&r),
	                 PROBE_BIT(PROBE_FLOWER) | PROBE_BIT(PROBE_CT_ZONE_MATCH) |
	                     PROBE_BIT(PROBE_CT_STATE_REL) | PROBE_BIT(PROBE_CT_STATE_INV));
	r.flower.skip_sw = true;
	assert_true(probe_rule_needs(&r) & PROBE_BIT(PROBE_SKIP_SW));
}

/* A probe of rt-cli where everything but skip_sw was tested and worked. */
static void all_ok(struct probe_device *d)
{
	memset(d, 0, sizeof(*d));
	d->ifindex = 3;
	snprintf(d->name, sizeof(d->name), "rt-cli");
	snprintf(d->profile, sizeof(d->profile), "generic-ct");
	d->zone = 1;
	for (int f = 0; f < PROBE_SKIP_SW; f++)
		d->r[f].tested = d->r[f].ok = true;
}

static void test_check(void **state)
{
	unsigned chain0 = PROBE_BIT(PROBE_FLOWER) | PROBE_BIT(PROBE_CT_STATE_TRK) |
	                  PROBE_BIT(PROBE_CT) | PROBE_BIT(PROBE_GOTO);
	unsigned nat = chain0 | PROBE_BIT(PROBE_CT_NAT) | PROBE_CHAIN1_NEEDS;
	struct probe_device d;
	char why[512];

	all_ok(&d);
	assert_true(probe_all_ok(&d));
	assert_true(probe_check(&d, nat, why, sizeof(why)));
	assert_string_equal(why, "");

	/* nat refused with the kernel's extack: refused when nat is needed, fine without */
	d.r[PROBE_CT_NAT].ok = false;
	d.r[PROBE_CT_NAT].error = -EOPNOTSUPP;
	snprintf(d.r[PROBE_CT_NAT].extack, sizeof(d.r[0].extack), "nat not supported here");
	assert_false(probe_all_ok(&d));
	assert_false(probe_check(&d, nat, why, sizeof(why)));
	assert_string_equal(why, "probe: act_ct nat refused on rt-cli: nat not supported here "
	                         "(Operation not supported)");
	assert_true(probe_check(&d, chain0 | PROBE_CHAIN1_NEEDS, why, sizeof(why)));

	/* act_ct itself missing (module autoloading off): the more basic failure is named */
	all_ok(&d);
	for (int f = PROBE_CT; f <= PROBE_CT_NAT; f++) {
		d.r[f].ok = false;
		d.r[f].error = -ENOENT;
		snprintf(d.r[f].extack, sizeof(d.r[f].extack), "Failed to load TC action module");
	}
	assert_false(probe_check(&d, nat, why, sizeof(why)));
	assert_string_equal(why, "probe: act_ct refused on rt-cli: Failed to load TC action module "
	                         "(No such file or directory)");

	/* no extack: the errno text alone; a mismatch: our own message alone */
	all_ok(&d);
	d.r[PROBE_CT_STATE_EST].ok = false;
	d.r[PROBE_CT_STATE_EST].error = -EINVAL;
	assert_false(probe_check(&d, nat, why, sizeof(why)));
	assert_string_equal(why, "probe: ct_state est refused on rt-cli: Invalid argument");
	all_ok(&d);
	d.r[PROBE_GOTO].ok = false;
	d.r[PROBE_GOTO].mismatch = true;
	d.r[PROBE_GOTO].error = -EILSEQ;
	snprintf(d.r[PROBE_GOTO].extack, sizeof(d.r[0].extack),
	         "the rule read back differs from the request");
	assert_false(probe_check(&d, nat, why, sizeof(why)));
	assert_string_equal(
	    why,
	    "probe: goto chain refused on rt-cli: the rule read back differs from the request");

	/* a feature that was not tested cannot be relied on */
	all_ok(&d);
	assert_false(probe_check(&d, chain0 | PROBE_BIT(PROBE_SKIP_SW), why, sizeof(why)));
	assert_string_equal(why, "probe: skip_sw not tested on rt-cli");

	/* the probe could not run */
	all_ok(&d);
	d.error = -EEXIST;
	snprintf(d.msg, sizeof(d.msg), "clsact: File exists: Exclusivity flag on");
	assert_false(probe_all_ok(&d));
	assert_false(probe_check(&d, PROBE_BIT(PROBE_FLOWER), why, sizeof(why)));
	assert_string_equal(why, "probe: cannot probe rt-cli: clsact: File exists: Exclusivity "
	                         "flag on");
}

static void test_json(void **state)
{
	struct probe_device d;
	json_t *o, *f;

	all_ok(&d);
	d.r[PROBE_CT].ok = false;
	d.r[PROBE_CT].error = -ENOENT;
	snprintf(d.r[PROBE_CT].extack, sizeof(d.r[0].extack), "Failed to load TC action module");
	o = probe_device_json(&d);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "rt-cli");
	assert_int_equal(json_integer_value(json_object_get(o, "prio")), PROBE_PRIO);
	assert_int_equal(json_integer_value(json_object_get(o, "chain")), PROBE_CHAIN);
	assert_true(json_is_false(json_object_get(o, "ok")));
	f = json_object_get(o, "features");
	assert_int_equal(json_object_size(f), PROBE_FEATURE_COUNT - 1); /* skip_sw not tested */
	assert_true(json_is_true(json_object_get(json_object_get(f, "ct_state_inv"), "ok")));
	assert_true(json_is_null(json_object_get(json_object_get(f, "flower"), "extack")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(f, "ct"), "extack")),
	                    "Failed to load TC action module");
	assert_string_equal(json_string_value(json_object_get(json_object_get(f, "ct"), "error")),
	                    "No such file or directory");
	assert_null(json_object_get(f, "skip_sw"));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules), cmocka_unit_test(test_features_zone),
	    cmocka_unit_test(test_needs), cmocka_unit_test(test_check),
	    cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
