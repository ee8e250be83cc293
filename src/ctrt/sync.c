/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Diff-applying a set of wanted rules against the installed ones of ours: dump, select,
 * ctfwd_diff(), then delete / change / add through pipelined batches. The ct runtime uses it
 * for chain 0 and chain 1 together; it is the logic the ctfwd lab driver spells out by hand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrt-internal.h"
#include "nft-tc-offload/ctfwd.h"
#include "nft-tc-offload/tc.h"

int rulev_push(struct tc_rule_vec *v, const struct tc_rule *r)
{
	struct tc_rule *d = tc_rule_vec_add(v);

	if (!d)
		return -ENOMEM;
	*d = *r;
	return 0;
}

struct collect {
	struct tc_rule_vec *v;
	sync_select_fn select;
	int error;
};

static int collect_rule(void *ctx, const struct tc_rule *r)
{
	struct collect *c = ctx;

	if (!c->select(r))
		return 0;
	if (rulev_push(c->v, r))
		return c->error = -ENOMEM;
	return 0;
}

static void forget_hook(void *ctx, enum tc_hook hook)
{
	struct collect *c = ctx;
	size_t w = 0;

	for (size_t i = 0; i < c->v->n; i++)
		if (c->v->v[i].id.hook != hook)
			c->v->v[w++] = c->v->v[i];
	c->v->n = w;
}

int sync_dump(struct nlc_sock *s, const uint32_t *ifindexes, size_t n, sync_select_fn select,
              struct tc_rule_vec *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		struct tc_rule_vec dev = {0};
		struct collect c = {.v = &dev, .select = select};
		struct nlc_tc_dump_cb cb = {.rule = collect_rule, .reset = forget_hook, .ctx = &c};
		struct nlc_extack ext = {0};
		int rc = nlc_tc_dump(s, ifindexes[i], &cb, NULL, &ext);

		if (c.error)
			rc = c.error;
		for (size_t k = 0; rc == 0 && k < dev.n; k++)
			rc = rulev_push(out, &dev.v[k]);
		tc_rule_vec_free(&dev);
		/* a device gone meanwhile has no rules to look at */
		if (rc == -ENODEV || rc == -ENOENT)
			continue;
		if (rc < 0) {
			snprintf(err, errlen, "cannot list the filters of ifindex %u: %s%s%s",
			         ifindexes[i], strerror(-rc), ext.msg[0] ? ": " : "", ext.msg);
			return rc;
		}
	}
	return 0;
}

/*
 * ctfwd_diff() compares every wanted rule with every installed one (quadratic). A wanted rule
 * can only be kept or changed by an installed rule in the same place (device or block, hook,
 * chain, prio, protocol) with the same match, so both sets are grouped by the place and a hash
 * of part of the match (each field as its mask and its masked key, which flower_equal() treats
 * as equal exactly when these bytes are equal), sorted, and ctfwd_diff() runs per group: the
 * same result, in O(n log n) plus the groups' own sizes squared (a group holds rules that only
 * differ in actions or in fields outside the hash: one or two, in practice).
 */
struct grp_ref {
	uint64_t h;
	size_t i;
	bool wanted;
};

static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 1099511628211ull;
}

static void hash_masked(uint64_t *h, const void *key, const void *mask, size_t n)
{
	const uint8_t *k = key, *m = mask;

	for (size_t i = 0; i < n; i++) {
		*h = (*h ^ m[i]) * 1099511628211ull;
		*h = (*h ^ (uint8_t)(k[i] & m[i])) * 1099511628211ull;
	}
}

static uint64_t group_hash(const struct tc_rule *r)
{
	const struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	uint64_t h = 14695981039346656037ull;
	uint32_t place[5] = {r->id.ifindex, r->id.block_index, (uint32_t)r->id.hook, r->id.chain,
	                     (uint32_t)r->id.prio << 16 | r->id.protocol};

	hash_bytes(&h, place, sizeof(place));
#define HM(f) hash_masked(&h, &k->f, &m->f, sizeof(k->f))
	HM(ip_proto);
	HM(src);
	HM(dst);
	HM(src_port);
	HM(dst_port);
	HM(eth_dst);
	HM(ct_state);
	HM(ct_zone);
	HM(ct_mark);
#undef HM
	return h;
}

static int grp_cmp(const void *a, const void *b)
{
	const struct grp_ref *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	if (x->wanted != y->wanted)
		return x->wanted ? 1 : -1;
	return x->i < y->i ? -1 : x->i > y->i; /* stable: ctfwd_diff's order within a group */
}

static int append_rules(struct tc_rule **dst, size_t *n, size_t *cap, const struct tc_rule *src,
                        size_t k)
{
	if (*n + k > *cap) {
		size_t c = *cap ? *cap : 16;
		struct tc_rule *v;

		while (c < *n + k)
			c *= 2;
		v = realloc(*dst, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		*dst = v;
		*cap = c;
	}
	if (k)
		memcpy(*dst + *n, src, k * sizeof(*src));
	*n += k;
	return 0;
}

int sync_diff(const struct tc_rule *installed, size_t n_installed, const struct tc_rule *wanted,
              size_t n_wanted, struct ctfwd_diff *out)
{
	size_t n = n_installed + n_wanted, cap_del = 0, cap_change = 0, cap_add = 0, cap_keep = 0;
	struct grp_ref *refs = calloc(n + 1, sizeof(*refs));
	struct tc_rule *gi = NULL, *gw = NULL;
	size_t cap_gi = 0, cap_gw = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < n_installed; i++)
		refs[i] = (struct grp_ref){.h = group_hash(&installed[i]), .i = i, .wanted = false};
	for (size_t i = 0; i < n_wanted; i++)
		refs[n_installed + i] =
		    (struct grp_ref){.h = group_hash(&wanted[i]), .i = i, .wanted = true};
	qsort(refs, n, sizeof(*refs), grp_cmp);
	for (size_t a = 0, b; a < n && !rc; a = b) {
		struct ctfwd_diff d;
		size_t ni = 0, nw = 0;

		for (b = a; b < n && refs[b].h == refs[a].h; b++)
			;
		for (size_t j = a; j < b && !rc; j++) {
			if (refs[j].wanted)
				rc = append_rules(&gw, &nw, &cap_gw, &wanted[refs[j].i], 1);
			else
				rc = append_rules(&gi, &ni, &cap_gi, &installed[refs[j].i], 1);
		}
		if (rc)
			break;
		rc = ctfwd_diff(gi, ni, gw, nw, &d);
		if (rc)
			break;
		rc = append_rules(&out->del, &out->n_del, &cap_del, d.del, d.n_del);
		if (!rc)
			rc = append_rules(&out->change, &out->n_change, &cap_change, d.change,
			                  d.n_change);
		if (!rc)
			rc = append_rules(&out->add, &out->n_add, &cap_add, d.add, d.n_add);
		if (!rc)
			rc = append_rules(&out->keep, &out->n_keep, &cap_keep, d.keep, d.n_keep);
		ctfwd_diff_free(&d);
	}
	free(refs);
	free(gi);
	free(gw);
	if (rc)
		ctfwd_diff_free(out);
	return rc;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void describe(const char *what, const struct tc_rule *r, const struct nlc_tc_result *res,
                     tc_ifname_fn ifname, void *ctx, char *out, size_t len)
{
	char line[1024];

	if (tc_print(r, TC_MSG_REPLACE, ifname, ctx, line, sizeof(line)) < 0)
		snprintf(line, sizeof(line), "(rule on ifindex %u chain %u prio %u)", r->id.ifindex,
		         r->id.chain, r->id.prio);
	if (res->mismatch)
		snprintf(out, len, "%s %s: the kernel installed something else (%s)", what, line,
		         res->ext.msg);
	else
		snprintf(out, len, "%s %s: %s%s%s", what, line, strerror(-res->error),
		         res->ext.msg[0] ? ": " : "", res->ext.msg);
}

static size_t count_failures(const char *what, const struct tc_rule *v, size_t n,
                             const struct nlc_tc_result *res, bool enoent_ok,
                             const struct sync_apply_opts *o)
{
	size_t failed = 0;

	for (size_t i = 0; i < n; i++) {
		char msg[1536];

		if (!res[i].error && !res[i].mismatch)
			continue;
		if (enoent_ok && res[i].error == -ENOENT)
			continue;
		failed++;
		describe(what, &v[i], &res[i], o->ifname, o->ifname_ctx, msg, sizeof(msg));
		if (o->on_failure)
			o->on_failure(o->ctx, msg);
	}
	return failed;
}

int sync_apply(struct nlc_sock *s, const struct tc_rule_vec *installed,
               const struct tc_rule_vec *wanted, const struct sync_apply_opts *o,
               struct sync_result *out)
{
	struct ctfwd_diff d;
	struct nlc_tc_result *res;
	size_t max;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sync_diff(installed->v, installed->n, wanted->v, wanted->n, &d);
	if (rc)
		return rc;
	max = d.n_del + d.n_change + d.n_add + 1;
	res = calloc(max, sizeof(*res));
	if (!res) {
		ctfwd_diff_free(&d);
		return -ENOMEM;
	}
	out->kept = d.n_keep;
	for (size_t i = 0; i < d.n_keep; i++)
		if (rulev_push(&out->now, &d.keep[i]))
			rc = -ENOMEM;
	if (d.n_del) {
		nlc_tc_delete_batch(s, d.del, d.n_del, res, NULL);
		out->failed += count_failures("delete", d.del, d.n_del, res, true, o);
		out->deleted = d.n_del;
	}
	if (d.n_change) {
		memset(res, 0, max * sizeof(*res));
		nlc_tc_replace_batch(s, d.change, d.n_change, res, NULL, NULL);
		out->failed += count_failures("change", d.change, d.n_change, res, false, o);
		for (size_t i = 0; i < d.n_change; i++)
			if (!res[i].error && !res[i].mismatch) {
				struct tc_rule r = d.change[i];

				r.id = res[i].echoed ? res[i].id : r.id;
				out->changed++;
				if (rulev_push(&out->now, &r))
					rc = -ENOMEM;
			}
	}
	if (d.n_add) {
		/* a clsact on every device that gets a rule (an existing one is fine) */
		uint32_t *devs = malloc(d.n_add * sizeof(*devs));

		for (size_t i = 0; devs && i < d.n_add; i++)
			devs[i] = d.add[i].id.ifindex;
		if (devs)
			qsort(devs, d.n_add, sizeof(*devs), u32_cmp);
		for (size_t i = 0; i < d.n_add; i++) {
			struct nlc_extack ext;
			uint32_t dev = devs ? devs[i] : d.add[i].id.ifindex;

			if (!devs || i == 0 || devs[i] != devs[i - 1])
				nlc_tc_ensure_clsact(s, dev, &ext);
		}
		free(devs);
		memset(res, 0, max * sizeof(*res));
		nlc_tc_replace_batch(s, d.add, d.n_add, res, NULL, NULL);
		out->failed += count_failures("add", d.add, d.n_add, res, false, o);
		for (size_t i = 0; i < d.n_add; i++)
			if (!res[i].error && !res[i].mismatch) {
				struct tc_rule r = d.add[i];

				r.id = res[i].echoed ? res[i].id : r.id;
				out->added++;
				if (rulev_push(&out->now, &r))
					rc = -ENOMEM;
			}
	}
	free(res);
	ctfwd_diff_free(&d);
	return rc;
}
