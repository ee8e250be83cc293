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
	rc = ctfwd_diff(installed->v, installed->n, wanted->v, wanted->n, &d);
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
		for (size_t i = 0; i < d.n_add; i++) {
			struct nlc_extack ext;
			bool seen = false;

			for (size_t j = 0; j < i && !seen; j++)
				seen = d.add[j].id.ifindex == d.add[i].id.ifindex;
			if (!seen)
				nlc_tc_ensure_clsact(s, d.add[i].id.ifindex, &ext);
		}
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
