/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Our cookie, plan installation (all or nothing) and removal of our rules. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft-tc-offload/install.h"
#include "nft-tc-offload/tc.h"

const uint8_t nto_cookie_magic[4] = {'n', 't', 'o', 1};

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void nto_cookie_make(uint8_t cookie[NTO_COOKIE_LEN], uint32_t owner, uint32_t rule_id)
{
	memcpy(cookie, nto_cookie_magic, 4);
	put_be32(cookie + 4, owner);
	put_be32(cookie + 8, 0);
	put_be32(cookie + 12, rule_id);
}

void nto_cookie_set_check(uint8_t cookie[NTO_COOKIE_LEN], uint32_t check)
{
	put_be32(cookie + 8, check);
}

static bool cookie_ours(const uint8_t *cookie, size_t len)
{
	return len >= NTO_COOKIE_LEN && memcmp(cookie, nto_cookie_magic, 4) == 0;
}

uint32_t nto_cookie_owner_in(const uint8_t *cookie, size_t len)
{
	return cookie_ours(cookie, len) ? get_be32(cookie + 4) : 0;
}

uint32_t nto_cookie_check_in(const uint8_t *cookie, size_t len)
{
	return cookie_ours(cookie, len) ? get_be32(cookie + 8) : 0;
}

uint32_t nto_cookie_rule_id_in(const uint8_t *cookie, size_t len)
{
	return cookie_ours(cookie, len) ? get_be32(cookie + 12) : 0;
}

bool nto_cookie_is_ours(const struct tc_rule *r)
{
	return r->cookie_len >= sizeof(nto_cookie_magic) &&
	       memcmp(r->cookie, nto_cookie_magic, sizeof(nto_cookie_magic)) == 0;
}

/* FNV-1a over the three names, separated so that ("ab", "c") and ("a", "bc") differ. */
uint32_t nto_cookie_owner(const char *family, const char *table, const char *flowtable)
{
	const char *parts[3] = {family, table, flowtable};
	uint32_t h = 2166136261u;

	for (int i = 0; i < 3; i++) {
		for (const char *c = parts[i] ? parts[i] : ""; *c; c++)
			h = (h ^ (uint8_t)*c) * 16777619u;
		h = (h ^ 0xff) * 16777619u;
	}
	return h;
}

void install_mark_plan(struct plan *p)
{
	for (size_t f = 0; f < p->n_flowtables; f++) {
		struct plan_flowtable *pf = &p->flowtables[f];
		uint8_t cookie[NTO_COOKIE_LEN];

		nto_cookie_make(cookie,
		                nto_cookie_owner(nft_family_name(pf->table->family),
		                                 pf->table->name, pf->flowtable->name),
		                0);
		for (size_t b = 0; b < pf->n_blocks; b++) {
			for (size_t i = 0; i < pf->blocks[b].n_rules; i++) {
				struct tc_rule *r = &pf->blocks[b].rules[i];

				r->cookie_len = NTO_COOKIE_LEN;
				memcpy(r->cookie, cookie, NTO_COOKIE_LEN);
			}
		}
	}
}

static void describe_failure(const struct tc_rule *r, const struct nlc_tc_result *res,
                             tc_ifname_fn ifname, void *ctx, char *out, size_t len)
{
	char line[1024];

	if (tc_print(r, TC_MSG_NEW, ifname, ctx, line, sizeof(line)) < 0)
		snprintf(line, sizeof(line), "(rule on ifindex %u)", r->id.ifindex);
	if (res->mismatch)
		snprintf(out, len, "%s: the kernel installed something else (%s)", line,
		         res->ext.msg);
	else
		snprintf(out, len, "%s: %s%s%s", line, strerror(-res->error),
		         res->ext.msg[0] ? ": " : "", res->ext.msg);
}

/* Removes rules installed by a failed batch (their ids carry the kernel's handles). */
static void roll_back(struct nlc_sock *s, const struct tc_rule *rules,
                      const struct nlc_tc_result *res, size_t n)
{
	struct tc_rule *undo = calloc(n ? n : 1, sizeof(*undo));
	struct nlc_tc_result *ures = calloc(n ? n : 1, sizeof(*ures));
	size_t k = 0;

	if (undo && ures) {
		for (size_t i = 0; i < n; i++) {
			if (res[i].error || !res[i].echoed)
				continue;
			undo[k] = rules[i];
			undo[k].id = res[i].id;
			k++;
		}
		nlc_tc_delete_batch(s, undo, k, ures, NULL);
	}
	free(undo);
	free(ures);
}

int install_plan(struct nlc_sock *s, const struct plan *p, tc_ifname_fn ifname, void *ctx,
                 struct install_report *rep)
{
	struct tc_rule *rules = NULL;
	struct nlc_tc_result *res = NULL;
	size_t n = 0, k = 0;
	int ret = 0;

	memset(rep, 0, sizeof(*rep));
	for (size_t f = 0; f < p->n_flowtables; f++)
		for (size_t b = 0; b < p->flowtables[f].n_blocks; b++)
			n += p->flowtables[f].blocks[b].n_rules;
	if (n == 0)
		return 0;
	rules = calloc(n, sizeof(*rules));
	res = calloc(n, sizeof(*res));
	if (!rules || !res) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t f = 0; f < p->n_flowtables; f++)
		for (size_t b = 0; b < p->flowtables[f].n_blocks; b++)
			for (size_t i = 0; i < p->flowtables[f].blocks[b].n_rules; i++)
				rules[k++] = p->flowtables[f].blocks[b].rules[i];

	/* One clsact per device, in the order devices first appear. */
	for (size_t i = 0; i < n; i++) {
		struct nlc_extack ext;
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = rules[j].id.ifindex == rules[i].id.ifindex;
		if (seen)
			continue;
		ret = nlc_tc_ensure_clsact(s, rules[i].id.ifindex, &ext);
		if (ret < 0) {
			char name[IFNAMSIZ];
			const char *dev = ifname ? ifname(ctx, rules[i].id.ifindex, name) : NULL;

			snprintf(rep->first_error, sizeof(rep->first_error), "clsact on %s: %s%s%s",
			         dev ? dev : "?", strerror(-ret), ext.msg[0] ? ": " : "", ext.msg);
			goto out;
		}
		rep->devices++;
	}

	if (nlc_tc_replace_batch(s, rules, n, res, NULL, NULL) == 0) {
		rep->installed = n;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!res[i].error && !res[i].mismatch)
			continue;
		if (rep->failed++ == 0)
			describe_failure(&rules[i], &res[i], ifname, ctx, rep->first_error,
			                 sizeof(rep->first_error));
	}
	roll_back(s, rules, res, n);
	ret = -EIO;
out:
	free(rules);
	free(res);
	return ret;
}

struct owned {
	struct tc_rule_vec rules;
	int error;
	bool (*match)(void *ctx, const struct tc_rule *r);
	void *match_ctx;
};

static int collect_owned(void *ctx, const struct tc_rule *r)
{
	struct owned *o = ctx;
	struct tc_rule *d;

	if (!nto_cookie_is_ours(r) || (o->match && !o->match(o->match_ctx, r)))
		return 0;
	d = tc_rule_vec_add(&o->rules);
	if (!d)
		return o->error = -ENOMEM;
	*d = *r;
	return 0;
}

static void forget_hook(void *ctx, enum tc_hook hook)
{
	struct owned *o = ctx;
	size_t k = 0;

	for (size_t i = 0; i < o->rules.n; i++)
		if (o->rules.v[i].id.hook != hook)
			o->rules.v[k++] = o->rules.v[i];
	o->rules.n = k;
}

static long flush_device(struct nlc_sock *s, uint32_t ifindex,
                         bool (*match)(void *ctx, const struct tc_rule *r), void *match_ctx,
                         char *err, size_t errlen)
{
	struct owned o = {.match = match, .match_ctx = match_ctx};
	struct nlc_tc_dump_cb cb = {.rule = collect_owned, .reset = forget_hook, .ctx = &o};
	struct nlc_tc_result *res = NULL;
	struct nlc_extack ext;
	long ret;

	ret = nlc_tc_dump(s, ifindex, &cb, NULL, &ext);
	if (ret < 0 || o.error) {
		ret = ret < 0 ? ret : o.error;
		snprintf(err, errlen, "cannot list the filters of ifindex %u: %s%s%s", ifindex,
		         strerror((int)-ret), ext.msg[0] ? ": " : "", ext.msg);
		goto out;
	}
	if (o.rules.n == 0)
		goto out;
	res = calloc(o.rules.n, sizeof(*res));
	if (!res) {
		ret = -ENOMEM;
		goto out;
	}
	if (nlc_tc_delete_batch(s, o.rules.v, o.rules.n, res, NULL) != 0) {
		for (size_t i = 0; i < o.rules.n; i++) {
			/* A filter already gone (its chain went with an earlier one) is fine. */
			if (res[i].error && res[i].error != -ENOENT) {
				snprintf(err, errlen,
				         "cannot delete a filter of ifindex %u: %s%s%s", ifindex,
				         strerror(-res[i].error), res[i].ext.msg[0] ? ": " : "",
				         res[i].ext.msg);
				ret = res[i].error;
				goto out;
			}
		}
	}
	ret = (long)o.rules.n;
out:
	free(res);
	tc_rule_vec_free(&o.rules);
	return ret;
}

long flush_owned(struct nlc_sock *s, const uint32_t *ifindexes, size_t n, char *err, size_t errlen)
{
	return flush_owned_match(s, ifindexes, n, NULL, NULL, err, errlen);
}

uint32_t nto_cookie_owner_of(const struct tc_rule *r)
{
	return nto_cookie_owner_in(r->cookie, r->cookie_len);
}

uint32_t nto_cookie_rule_id_of(const struct tc_rule *r)
{
	return nto_cookie_rule_id_in(r->cookie, r->cookie_len);
}

long flush_owned_match(struct nlc_sock *s, const uint32_t *ifindexes, size_t n,
                       bool (*match)(void *ctx, const struct tc_rule *r), void *ctx, char *err,
                       size_t errlen)
{
	struct if_nameindex *all = NULL;
	long total = 0;

	if (n == 0) {
		all = if_nameindex();
		if (!all) {
			snprintf(err, errlen, "cannot list the network devices: %s",
			         strerror(errno));
			return -errno;
		}
	}
	for (size_t i = 0; all ? all[i].if_index != 0 : i < n; i++) {
		long ret =
		    flush_device(s, all ? all[i].if_index : ifindexes[i], match, ctx, err, errlen);

		if (ret < 0) {
			total = ret;
			break;
		}
		total += ret;
	}
	if (all)
		if_freenameindex(all);
	return total;
}
