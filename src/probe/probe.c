/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ct strategy's per-device capability probe (probe.h): test rules in a reserved chain. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nft-tc-offload/install.h"
#include "nft-tc-offload/probe.h"

#define ETH_P_IP_       0x0800
#define TCP_            6
#define PROBE_PORT_BASE 0xfff0 /* tcp dst_port of the test rules: 65520 + feature */

static const struct {
	const char *key, *label;
	uint16_t ct_flag; /* ct_state tests: the flag besides +trk */
} features[PROBE_FEATURE_COUNT] = {
    [PROBE_FLOWER] = {"flower", "flower", 0},
    [PROBE_CT_STATE_TRK] = {"ct_state_trk", "ct_state trk", TC_CT_TRACKED},
    [PROBE_CT_STATE_EST] = {"ct_state_est", "ct_state est", TC_CT_ESTABLISHED},
    [PROBE_CT_STATE_NEW] = {"ct_state_new", "ct_state new", TC_CT_NEW},
    [PROBE_CT_STATE_RPL] = {"ct_state_rpl", "ct_state rpl", TC_CT_REPLY},
    [PROBE_CT_STATE_REL] = {"ct_state_rel", "ct_state rel", TC_CT_RELATED},
    [PROBE_CT_STATE_INV] = {"ct_state_inv", "ct_state inv", TC_CT_INVALID},
    [PROBE_CT_ZONE_MATCH] = {"ct_zone_match", "ct_zone match", 0},
    [PROBE_GOTO] = {"goto_chain", "goto chain", 0},
    [PROBE_CT] = {"ct", "act_ct", 0},
    [PROBE_CT_NAT] = {"ct_nat", "act_ct nat", 0},
    [PROBE_SKIP_SW] = {"skip_sw", "skip_sw", 0},
};

const char *probe_feature_key(enum probe_feature f)
{
	return (unsigned)f < PROBE_FEATURE_COUNT ? features[f].key : "?";
}

const char *probe_feature_label(enum probe_feature f)
{
	return (unsigned)f < PROBE_FEATURE_COUNT ? features[f].label : "?";
}

unsigned probe_features(const struct profile *p)
{
	unsigned all = PROBE_BIT(PROBE_FEATURE_COUNT) - 1;

	return p && p->skip_sw ? all : all & ~PROBE_BIT(PROBE_SKIP_SW);
}

uint16_t probe_zone(const struct profile *p)
{
	uint16_t z = 1;

	if (!p || !p->has_ct_zones)
		return z;
	if (z < p->ct_zone_min)
		z = p->ct_zone_min;
	if (z > p->ct_zone_max)
		z = p->ct_zone_max;
	return z;
}

int probe_build_rule(enum probe_feature f, uint32_t ifindex, uint16_t zone, struct tc_rule *r)
{
	struct tc_id id = {.ifindex = ifindex,
	                   .hook = TC_HOOK_INGRESS,
	                   .chain = PROBE_CHAIN,
	                   .prio = PROBE_PRIO,
	                   .protocol = ETH_P_IP_,
	                   .handle = (uint32_t)f + 1};
	struct tc_flower *fl = &r->flower;
	struct tc_action *a;

	if ((unsigned)f >= PROBE_FEATURE_COUNT)
		return -EINVAL;
	tc_rule_init(r, &id);
	fl->key.ip_proto = TCP_;
	fl->mask.ip_proto = 0xff;
	/* flower refuses two filters with the same key and mask in one prio (EEXIST): a port
	 * per feature keeps them apart */
	fl->key.dst_port = (uint16_t)(PROBE_PORT_BASE + f);
	fl->mask.dst_port = 0xffff;
	switch (f) {
	case PROBE_CT_STATE_TRK:
	case PROBE_CT_STATE_EST:
	case PROBE_CT_STATE_NEW:
	case PROBE_CT_STATE_RPL:
	case PROBE_CT_STATE_REL:
	case PROBE_CT_STATE_INV:
		/* the kernel wants +trk with any other flag (fl_validate_ct_state) */
		fl->key.ct_state = fl->mask.ct_state = TC_CT_TRACKED | features[f].ct_flag;
		break;
	case PROBE_CT_ZONE_MATCH:
		fl->key.ct_zone = zone;
		fl->mask.ct_zone = 0xffff;
		break;
	case PROBE_SKIP_SW:
		fl->skip_sw = true;
		break;
	case PROBE_CT:
	case PROBE_CT_NAT:
		a = tc_rule_add_action(r, TC_ACTION_CT);
		a->ct.zone = zone;
		if (f == PROBE_CT_NAT)
			a->ct.flags = TC_CT_NAT;
		break;
	default:
		break;
	}
	a = tc_rule_add_action(r, TC_ACTION_GACT);
	a->verdict = TC_VERDICT_OK;
	if (f == PROBE_GOTO) {
		a->verdict = TC_VERDICT_GOTO_CHAIN;
		a->goto_chain = PROBE_GOTO_CHAIN;
	}
	r->cookie_len = NTO_COOKIE_LEN;
	nto_cookie_make(r->cookie, nto_cookie_owner("probe", "nto", "probe"), 0);
	return 0;
}

unsigned probe_rule_needs(const struct tc_rule *r)
{
	unsigned n = PROBE_BIT(PROBE_FLOWER);
	uint16_t ct = r->flower.mask.ct_state | r->flower.key.ct_state;

	for (int f = PROBE_CT_STATE_TRK; f <= PROBE_CT_STATE_INV; f++)
		if (ct & features[f].ct_flag)
			n |= PROBE_BIT(f);
	if (r->flower.mask.ct_zone)
		n |= PROBE_BIT(PROBE_CT_ZONE_MATCH);
	if (r->flower.skip_sw)
		n |= PROBE_BIT(PROBE_SKIP_SW);
	for (unsigned i = 0; i < r->n_actions; i++) {
		const struct tc_action *a = &r->actions[i];

		if (a->verdict == TC_VERDICT_GOTO_CHAIN)
			n |= PROBE_BIT(PROBE_GOTO);
		if (a->kind != TC_ACTION_CT)
			continue;
		n |= PROBE_BIT(PROBE_CT);
		if (a->ct.flags & (TC_CT_NAT | TC_CT_NAT_SRC | TC_CT_NAT_DST))
			n |= PROBE_BIT(PROBE_CT_NAT);
	}
	return n;
}

static void result_text(const struct probe_result *res, char *buf, size_t len)
{
	if (res->mismatch)
		snprintf(buf, len, "%s", res->extack);
	else if (res->extack[0])
		snprintf(buf, len, "%s (%s)", res->extack, strerror(-res->error));
	else
		snprintf(buf, len, "%s", strerror(-res->error));
}

bool probe_check(const struct probe_device *d, unsigned needs, char *reason, size_t len)
{
	char why[NLC_EXTACK_MSG_MAX + 64];

	if (len)
		reason[0] = '\0';
	if (d->error) {
		snprintf(reason, len, "probe: cannot probe %s: %s", d->name, d->msg);
		return false;
	}
	for (int f = 0; f < PROBE_FEATURE_COUNT; f++) {
		const struct probe_result *res = &d->r[f];

		if (!(needs & PROBE_BIT(f)))
			continue;
		if (!res->tested) {
			snprintf(reason, len, "probe: %s not tested on %s", features[f].label,
			         d->name);
			return false;
		}
		if (res->ok)
			continue;
		result_text(res, why, sizeof(why));
		snprintf(reason, len, "probe: %s refused on %s: %s", features[f].label, d->name,
		         why);
		return false;
	}
	return true;
}

bool probe_all_ok(const struct probe_device *d)
{
	if (d->error || d->leftovers)
		return false;
	for (int f = 0; f < PROBE_FEATURE_COUNT; f++)
		if (d->r[f].tested && !d->r[f].ok)
			return false;
	return true;
}

int probe_run(struct nlc_sock *s, uint32_t ifindex, const char *ifname, const struct profile *p,
              struct probe_device *out)
{
	struct tc_rule rules[PROBE_FEATURE_COUNT], got[PROBE_FEATURE_COUNT];
	struct tc_id ids[PROBE_FEATURE_COUNT];
	struct nlc_tc_result res[PROBE_FEATURE_COUNT];
	enum probe_feature feat[PROBE_FEATURE_COUNT];
	unsigned want = probe_features(p);
	struct nlc_extack ext = {0};
	size_t n = 0, n_ok = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->ifindex = ifindex;
	snprintf(out->name, sizeof(out->name), "%s", ifname ? ifname : "?");
	snprintf(out->profile, sizeof(out->profile), "%s", p ? p->name : "");
	out->zone = probe_zone(p);
	rc = nlc_tc_ensure_clsact(s, ifindex, &ext);
	if (rc < 0) {
		out->error = rc;
		snprintf(out->msg, sizeof(out->msg), "clsact: %s%s%s", strerror(-rc),
		         ext.msg[0] ? ": " : "", ext.msg);
		return rc;
	}
	/* every test rule, including those of features not tested now: earlier leftovers go */
	for (int f = 0; f < PROBE_FEATURE_COUNT; f++)
		probe_build_rule((enum probe_feature)f, ifindex, out->zone, &rules[f]);
	nlc_tc_delete_batch(s, rules, PROBE_FEATURE_COUNT, res, NULL);

	for (int f = 0; f < PROBE_FEATURE_COUNT; f++) {
		if (!(want & PROBE_BIT(f)))
			continue;
		feat[n] = (enum probe_feature)f;
		probe_build_rule((enum probe_feature)f, ifindex, out->zone, &rules[n++]);
	}
	memset(res, 0, sizeof(res));
	nlc_tc_replace_batch(s, rules, n, res, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		struct probe_result *pr = &out->r[feat[i]];

		pr->tested = true;
		pr->error = res[i].error;
		snprintf(pr->extack, sizeof(pr->extack), "%s", res[i].ext.msg);
		if (res[i].mismatch) {
			pr->mismatch = true;
			snprintf(pr->extack, sizeof(pr->extack),
			         "the kernel installed something else: %s", res[i].ext.msg);
		}
		if (res[i].error && !res[i].mismatch)
			continue;
		/* installed (maybe not as asked): read it back, delete it below */
		ids[n_ok] = res[i].echoed ? res[i].id : rules[i].id;
		rules[n_ok] = rules[i];
		feat[n_ok++] = feat[i];
	}
	if (n_ok) {
		memset(res, 0, sizeof(res));
		nlc_tc_get_batch(s, ids, n_ok, res, got, NULL);
		for (size_t i = 0; i < n_ok; i++) {
			struct probe_result *pr = &out->r[feat[i]];

			if (pr->mismatch)
				continue;
			if (res[i].error) {
				pr->error = res[i].error;
				snprintf(pr->extack, sizeof(pr->extack),
				         "installed, but reading it back failed: %s",
				         res[i].ext.msg[0] ? res[i].ext.msg
				                           : strerror(-res[i].error));
				pr->mismatch = true;
				continue;
			}
			pr->in_hw = got[i].state.in_hw;
			if (!tc_rule_equal(&rules[i], &got[i])) {
				pr->mismatch = true;
				pr->error = -EILSEQ;
				snprintf(pr->extack, sizeof(pr->extack),
				         "the rule read back differs from the request");
				continue;
			}
			pr->ok = true;
		}
		/* delete by the installed ids */
		for (size_t i = 0; i < n_ok; i++)
			rules[i].id = ids[i];
		memset(res, 0, sizeof(res));
		nlc_tc_delete_batch(s, rules, n_ok, res, NULL);
		for (size_t i = 0; i < n_ok; i++)
			if (res[i].error && res[i].error != -ENOENT)
				out->leftovers++;
	}
	for (int f = 0; f < PROBE_FEATURE_COUNT; f++)
		if (out->r[f].tested && !out->r[f].ok && !out->r[f].error)
			out->r[f].error = -EILSEQ;
	return 0;
}

json_t *probe_device_json(const struct probe_device *d)
{
	json_t *o = json_object(), *fs = json_object();

	json_object_set_new(o, "ifindex", json_integer((json_int_t)d->ifindex));
	json_object_set_new(o, "name", json_string(d->name));
	json_object_set_new(o, "profile", json_string(d->profile));
	json_object_set_new(o, "chain", json_integer((json_int_t)PROBE_CHAIN));
	json_object_set_new(o, "prio", json_integer(PROBE_PRIO));
	json_object_set_new(o, "zone", json_integer(d->zone));
	json_object_set_new(o, "ok", json_boolean(probe_all_ok(d)));
	json_object_set_new(o, "error", d->error ? json_string(d->msg) : json_null());
	json_object_set_new(o, "leftovers", json_integer(d->leftovers));
	for (int f = 0; f < PROBE_FEATURE_COUNT; f++) {
		const struct probe_result *r = &d->r[f];
		json_t *x;

		if (!r->tested)
			continue;
		x = json_pack("{s:b, s:b}", "ok", r->ok, "in_hw", r->in_hw);
		json_object_set_new(x, "error",
		                    r->ok ? json_null() : json_string(strerror(-r->error)));
		json_object_set_new(x, "extack",
		                    r->extack[0] ? json_string(r->extack) : json_null());
		json_object_set_new(fs, features[f].key, x);
	}
	json_object_set_new(o, "features", fs);
	return o;
}
