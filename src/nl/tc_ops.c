/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tc filter operations on the netlink core: replace / delete / get in pipelined batches, and
 * device filter dumps. Filter messages are made and read by tc.h only; this file knows
 * RTM_*TFILTER and struct tcmsg (dump requests), never the flower attributes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "nft-tc-offload/tc.h"
#include "nl_priv.h"

/* ---- filter batches ---------------------------------------------------------------------- */

/*
 * One request's context. Kept small (no buffers): a batch of 100,000 rules allocates one per
 * rule, and their zeroing and first-touch page faults were most of the core's own cost. The
 * encoder's or the echo comparison's reason goes straight into res->ext.msg, where the kernel's
 * extack replaces it when there is one.
 */
struct tc_op_ctx {
	enum tc_msg_op op;
	uint16_t flags;
	const struct tc_rule *rule; /* replace / delete */
	const struct tc_id *id;     /* get */
	struct nlc_tc_result *res;
	struct tc_rule *out;
};

#define WHY(c) ((c)->res->ext.msg)

static int tc_op_encode(void *ctx, uint32_t seq, void *buf, size_t len)
{
	struct tc_op_ctx *c = ctx;
	struct tc_rule r;

	if (c->rule)
		return tc_encode(c->rule, c->op, c->flags, seq, buf, len, WHY(c), sizeof(WHY(c)));
	tc_rule_init(&r, c->id);
	return tc_encode(&r, c->op, c->flags, seq, buf, len, WHY(c), sizeof(WHY(c)));
}

static const char *rule_diff(const struct tc_rule *want, const struct tc_rule *got)
{
	const struct tc_id *a = &want->id, *b = &got->id;

	if (a->ifindex != b->ifindex || a->block_index != b->block_index || a->hook != b->hook)
		return "device or hook";
	if (a->chain != b->chain || a->prio != b->prio || a->protocol != b->protocol ||
	    a->handle != b->handle)
		return "chain, prio, protocol or handle";
	if (want->n_actions != got->n_actions)
		return "number of actions";
	if (want->cookie_len != got->cookie_len ||
	    memcmp(want->cookie, got->cookie, want->cookie_len) != 0)
		return "cookie";
	return "match or action contents";
}

static int tc_op_reply(void *ctx, const struct nlmsghdr *nlh)
{
	struct tc_op_ctx *c = ctx;
	struct tc_rule got, want;
	char why[NLC_EXTACK_MSG_MAX] = "";
	int err;

	if (nlh->nlmsg_type != RTM_NEWTFILTER)
		return 0;
	c->res->echoed = true;
	err = tc_decode(nlh, nlh->nlmsg_len, &got, why, sizeof(why));
	if (err) {
		snprintf(WHY(c), sizeof(WHY(c)), "kernel reply not decodable: %.200s",
		         why[0] ? why : strerror(-err));
		if (c->op != TC_MSG_REPLACE)
			return err;
		c->res->mismatch = true;
		return 0;
	}
	c->res->id = got.id;
	c->res->state = got.state;
	if (c->out)
		*c->out = got;
	if (c->op != TC_MSG_REPLACE)
		return 0;
	want = *c->rule;
	if (!want.id.handle)
		want.id.handle = got.id.handle;
	if (!want.id.prio)
		want.id.prio = got.id.prio;
	if (!tc_rule_equal(&want, &got)) {
		c->res->mismatch = true;
		snprintf(WHY(c), sizeof(WHY(c)), "kernel installed a different rule: %s differ",
		         rule_diff(&want, &got));
	}
	return 0;
}

/*
 * Without the echo the kernel's handle and prio are never learnt: a rule that leaves either to
 * the kernel is refused before anything is sent (its result says why).
 */
static int tc_check_noecho(const struct tc_rule *r, char *why, size_t len)
{
	if (r->id.handle && r->id.prio)
		return 0;
	snprintf(why, len,
	         "replace without echo needs the rule's %s (the kernel's choice would not "
	         "be reported)",
	         r->id.handle ? "prio"
	         : r->id.prio ? "handle"
	                      : "handle and prio");
	return -EINVAL;
}

static int tc_op_encode_noecho(void *ctx, uint32_t seq, void *buf, size_t len)
{
	struct tc_op_ctx *c = ctx;
	int err = tc_check_noecho(c->rule, WHY(c), sizeof(WHY(c)));

	if (err)
		return err;
	return tc_encode(c->rule, c->op, c->flags, seq, buf, len, WHY(c), sizeof(WHY(c)));
}

/*
 * A large batch runs as consecutive nlc_batch() calls of at most TC_RUN_CHUNK requests over the
 * same op and context arrays. Those arrays take about 350 bytes per request (an op carries its
 * extack buffer): sized for the whole batch, 20,000 deletes wrote 7 MB of fresh pages (about 1%
 * of the delete's time in the lab VM, docs/benchmarks.md). Pipelining is not lost: the kernel
 * handles a sendmsg()'s requests before it returns, so one chunk's ACKs are already queued when
 * the chunk ends.
 */
#define TC_RUN_CHUNK 4096

static void tc_result_init(struct nlc_tc_result *r, const struct tc_id *id)
{
	/* not a memset: ext.msg is 256 bytes, and only its first is read while it is empty */
	r->error = 0;
	r->ext.msg[0] = '\0';
	r->ext.off = 0;
	r->echoed = false;
	r->mismatch = false;
	r->id = *id;
	memset(&r->state, 0, sizeof(r->state));
}

static int tc_run(struct nlc_sock *s, enum tc_msg_op op, uint16_t flags,
                  const struct tc_rule *rules, const struct tc_id *ids, size_t n,
                  struct nlc_tc_result *res, struct tc_rule *out, const struct nlc_batch_opts *o,
                  size_t cost)
{
	/* a replace without NLM_F_ECHO gets an ACK only: nothing to read but the ACK */
	bool noecho = op == TC_MSG_REPLACE && !(flags & NLM_F_ECHO);
	size_t chunk = n < TC_RUN_CHUNK ? n : TC_RUN_CHUNK;
	struct nlc_batch_opts opts = {0};
	struct tc_op_ctx *ctx;
	struct nlc_op *ops;
	int failed = 0;
	size_t i, base;

	if (o)
		opts = *o;
	if (!opts.reply_cost)
		opts.reply_cost = cost;
	for (i = 0; i < n; i++)
		tc_result_init(&res[i], rules ? &rules[i].id : &ids[i]);
	/* malloc, not calloc: every field is written below (nlc_batch() fills the ops' results) */
	ctx = malloc((chunk ? chunk : 1) * sizeof(*ctx));
	ops = malloc((chunk ? chunk : 1) * sizeof(*ops));
	if (!ctx || !ops) {
		for (i = 0; i < n; i++)
			res[i].error = -ENOMEM;
		failed = (int)n;
		goto out;
	}
	for (base = 0; base < n; base += chunk) {
		size_t m = n - base < chunk ? n - base : chunk;

		for (i = 0; i < m; i++) {
			size_t k = base + i;

			ctx[i] = (struct tc_op_ctx){
			    .op = op,
			    .flags = flags,
			    .rule = rules ? &rules[k] : NULL,
			    .id = ids ? &ids[k] : NULL,
			    .res = &res[k],
			    .out = out ? &out[k] : NULL,
			};
			ops[i].encode = noecho ? tc_op_encode_noecho : tc_op_encode;
			ops[i].reply = op != TC_MSG_DELETE && !noecho ? tc_op_reply : NULL;
			ops[i].ctx = &ctx[i];
		}
		nlc_batch(s, ops, m, &opts);
		for (i = 0; i < m; i++) {
			struct nlc_tc_result *r = &res[base + i];

			r->error = ops[i].error;
			if (op == TC_MSG_GET && !r->error && !r->echoed)
				r->error = -ENODATA;
			/* The kernel's extack wins; our own reason (encoder refusal, echo mismatch,
			 * in r->ext.msg already) stays when the kernel gave none and the rule
			 * failed. */
			if (ops[i].ext.msg[0]) {
				r->ext = ops[i].ext;
			} else {
				r->ext.off = ops[i].ext.off;
				if (!r->error && !r->mismatch)
					r->ext.msg[0] = '\0';
			}
			failed += r->error || r->mismatch;
		}
	}
out:
	free(ctx);
	free(ops);
	return failed;
}

int nlc_tc_replace_batch(struct nlc_sock *s, const struct tc_rule *rules, size_t n,
                         struct nlc_tc_result *res, struct tc_rule *out,
                         const struct nlc_batch_opts *o)
{
	return tc_run(s, TC_MSG_REPLACE, NLM_F_ECHO, rules, NULL, n, res, out, o,
	              NLC_REPLY_COST_ECHO);
}

int nlc_tc_replace_batch_noecho(struct nlc_sock *s, const struct tc_rule *rules, size_t n,
                                struct nlc_tc_result *res, const struct nlc_batch_opts *o)
{
	return tc_run(s, TC_MSG_REPLACE, 0, rules, NULL, n, res, NULL, o, NLC_REPLY_COST_ACK);
}

int nlc_tc_delete_batch(struct nlc_sock *s, const struct tc_rule *rules, size_t n,
                        struct nlc_tc_result *res, const struct nlc_batch_opts *o)
{
	return tc_run(s, TC_MSG_DELETE, 0, rules, NULL, n, res, NULL, o, NLC_REPLY_COST_ACK);
}

int nlc_tc_get_batch(struct nlc_sock *s, const struct tc_id *ids, size_t n,
                     struct nlc_tc_result *res, struct tc_rule *out, const struct nlc_batch_opts *o)
{
	return tc_run(s, TC_MSG_GET, 0, NULL, ids, n, res, out, o, NLC_REPLY_COST_ECHO);
}

static int single_result(const struct nlc_tc_result *res)
{
	if (res->error)
		return res->error;
	return res->mismatch ? -EILSEQ : 0;
}

int nlc_tc_replace(struct nlc_sock *s, const struct tc_rule *r, struct nlc_tc_result *res)
{
	struct nlc_tc_result local;

	if (!res)
		res = &local;
	nlc_tc_replace_batch(s, r, 1, res, NULL, NULL);
	return single_result(res);
}

int nlc_tc_delete(struct nlc_sock *s, const struct tc_rule *r, struct nlc_tc_result *res)
{
	struct nlc_tc_result local;

	if (!res)
		res = &local;
	nlc_tc_delete_batch(s, r, 1, res, NULL);
	return single_result(res);
}

int nlc_tc_get(struct nlc_sock *s, const struct tc_id *id, struct tc_rule *out,
               struct nlc_tc_result *res)
{
	struct nlc_tc_result local;

	if (!res)
		res = &local;
	nlc_tc_get_batch(s, id, 1, res, out, NULL);
	return single_result(res);
}

/* ---- device dump ------------------------------------------------------------------------- */

struct tc_dump_ctx {
	struct nlc_tcmsg_req req;
	enum tc_hook hook;
	const struct nlc_tc_dump_cb *cb;             /* a full dump */
	const struct nlc_tc_brief_dump_cb *brief_cb; /* or a terse one */
	struct nlc_tc_dump_stats st;
};

static int tc_dump_msg(void *ctx, const struct nlmsghdr *nlh)
{
	struct tc_dump_ctx *d = ctx;
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	char why[NLC_EXTACK_MSG_MAX] = "";
	struct tc_rule r;
	int err;

	if (nlh->nlmsg_type != RTM_NEWTFILTER || nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*tcm))
		return 0;
	if (tcm->tcm_handle == 0) /* the per-prio header the kernel sends before the filters */
		return 0;
	if (d->brief_cb) {
		struct tc_brief b;

		if (tc_decode_brief_flags(nlh, nlh->nlmsg_len, &b,
		                          d->brief_cb->no_stats ? TC_BRIEF_NO_STATS : 0, NULL, 0)) {
			d->st.skipped++;
			return 0;
		}
		d->st.rules++;
		return d->brief_cb->rule ? d->brief_cb->rule(d->brief_cb->ctx, &b) : 0;
	}
	err = tc_decode(nlh, nlh->nlmsg_len, &r, why, sizeof(why));
	if (err) {
		d->st.skipped++;
		if (!d->cb->other)
			return 0;
		return d->cb->other(d->cb->ctx, nlh, err,
		                    why[0] ? why : (err == -ENOENT ? "not a flower filter" : ""));
	}
	d->st.rules++;
	return d->cb->rule ? d->cb->rule(d->cb->ctx, &r) : 0;
}

static void tc_dump_reset(void *ctx)
{
	struct tc_dump_ctx *d = ctx;
	void (*reset)(void *, enum tc_hook) = d->brief_cb ? d->brief_cb->reset : d->cb->reset;

	d->st = (struct nlc_tc_dump_stats){0};
	if (reset)
		reset(d->brief_cb ? d->brief_cb->ctx : d->cb->ctx, d->hook);
}

static int tc_dump_dev(struct nlc_sock *s, uint32_t ifindex, const struct nlc_tc_dump_cb *cb,
                       const struct nlc_tc_brief_dump_cb *brief_cb, struct nlc_tc_dump_stats *st,
                       struct nlc_extack *ext)
{
	static const struct {
		enum tc_hook hook;
		uint16_t min;
	} hooks[] = {{TC_HOOK_INGRESS, TC_H_MIN_INGRESS}, {TC_HOOK_EGRESS, TC_H_MIN_EGRESS}};
	size_t i;
	int err;

	if (st)
		*st = (struct nlc_tc_dump_stats){0};
	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		struct tc_dump_ctx d = {
		    .req = {.type = RTM_GETTFILTER,
		            .flags = NLM_F_DUMP,
		            .ifindex = ifindex,
		            .parent = TC_H_MAKE(TC_H_CLSACT, hooks[i].min),
		            .dump_flags = brief_cb ? TCA_DUMP_FLAGS_TERSE : 0},
		    .hook = hooks[i].hook,
		    .cb = cb,
		    .brief_cb = brief_cb,
		};
		struct nlc_dump_req req = {
		    .encode = nlc_tcmsg_encode,
		    .msg = tc_dump_msg,
		    .reset = tc_dump_reset,
		    .ctx = &d,
		};

		/* nlc_tcmsg_encode reads the request from the start of its context */
		err = nlc_dump(s, &req, ext);
		if (st) {
			st->rules += d.st.rules;
			st->skipped += d.st.skipped;
		}
		if (err)
			return err;
	}
	return 0;
}

int nlc_tc_dump(struct nlc_sock *s, uint32_t ifindex, const struct nlc_tc_dump_cb *cb,
                struct nlc_tc_dump_stats *st, struct nlc_extack *ext)
{
	return tc_dump_dev(s, ifindex, cb, NULL, st, ext);
}

int nlc_tc_dump_brief(struct nlc_sock *s, uint32_t ifindex, const struct nlc_tc_brief_dump_cb *cb,
                      struct nlc_tc_dump_stats *st, struct nlc_extack *ext)
{
	return tc_dump_dev(s, ifindex, NULL, cb, st, ext);
}

/* ---- counters by terse dumps ------------------------------------------------------------- */

/* One asked filter: its id and where its result goes. */
struct stats_ask {
	struct tc_id id;
	size_t i;
};

/* A filter's place within a device: hook, chain, prio and handle (a handle is unique within
 * its chain and prio, and the protocol is the prio's). */
static int ask_place_cmp(const struct tc_id *a, const struct tc_id *b)
{
	if (a->hook != b->hook)
		return a->hook < b->hook ? -1 : 1;
	if (a->chain != b->chain)
		return a->chain < b->chain ? -1 : 1;
	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	if (a->handle != b->handle)
		return a->handle < b->handle ? -1 : 1;
	return 0;
}

static int ask_cmp(const void *pa, const void *pb)
{
	const struct stats_ask *a = pa, *b = pb;

	if (a->id.ifindex != b->id.ifindex)
		return a->id.ifindex < b->id.ifindex ? -1 : 1;
	return ask_place_cmp(&a->id, &b->id);
}

struct stats_dump_ctx {
	const struct stats_ask *v; /* one device's asked filters, sorted */
	size_t n;
	struct nlc_tc_result *res;
};

static int stats_dump_rule(void *ctx, const struct tc_brief *b)
{
	struct stats_dump_ctx *c = ctx;
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = ask_place_cmp(&c->v[mid].id, &b->id);

		if (k == 0) {
			struct nlc_tc_result *r = &c->res[c->v[mid].i];

			r->error = 0;
			r->ext.msg[0] = '\0';
			r->id = b->id;
			r->state = b->state;
			return 0;
		}
		if (k < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0; /* not asked for */
}

static void not_dumped(struct nlc_tc_result *r)
{
	memset(r, 0, sizeof(*r));
	r->error = -ENOENT;
	snprintf(r->ext.msg, sizeof(r->ext.msg), "not in the device's filter dump");
}

/* A restarted dump of one hook: what its first try found is forgotten. */
static void stats_dump_reset(void *ctx, enum tc_hook hook)
{
	struct stats_dump_ctx *c = ctx;

	for (size_t j = 0; j < c->n; j++)
		if (c->v[j].id.hook == hook)
			not_dumped(&c->res[c->v[j].i]);
}

/* Gets for the asked filters v[0..n) (a shared block's, or a device whose dump failed). */
static void stats_by_gets(struct nlc_sock *s, const struct stats_ask *v, size_t n,
                          struct nlc_tc_result *res)
{
	struct tc_id *ids = calloc(n, sizeof(*ids));
	struct nlc_tc_result *r = calloc(n, sizeof(*r));

	if (!ids || !r) {
		for (size_t j = 0; j < n; j++) {
			memset(&res[v[j].i], 0, sizeof(res[0]));
			res[v[j].i].error = -ENOMEM;
		}
		goto out;
	}
	for (size_t j = 0; j < n; j++)
		ids[j] = v[j].id;
	nlc_tc_get_batch(s, ids, n, r, NULL, NULL);
	for (size_t j = 0; j < n; j++)
		res[v[j].i] = r[j];
out:
	free(ids);
	free(r);
}

int nlc_tc_stats_dump(struct nlc_sock *s, const struct tc_id *ids, size_t n,
                      struct nlc_tc_result *res)
{
	struct stats_ask *v;
	size_t i = 0;
	int failed = 0;

	if (!n)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v) /* the gets need no index */
		return nlc_tc_get_batch(s, ids, n, res, NULL, NULL);
	for (size_t j = 0; j < n; j++) {
		v[j].id = ids[j];
		v[j].i = j;
		not_dumped(&res[j]);
	}
	qsort(v, n, sizeof(*v), ask_cmp);
	while (i < n) {
		size_t end = i + 1;

		while (end < n && v[end].id.ifindex == v[i].id.ifindex)
			end++;
		if (!v[i].id.ifindex) {
			stats_by_gets(s, &v[i], end - i, res);
		} else {
			struct stats_dump_ctx c = {.v = &v[i], .n = end - i, .res = res};
			struct nlc_tc_brief_dump_cb cb = {
			    .rule = stats_dump_rule, .reset = stats_dump_reset, .ctx = &c};

			if (nlc_tc_dump_brief(s, v[i].id.ifindex, &cb, NULL, NULL)) {
				stats_dump_reset(&c, TC_HOOK_INGRESS);
				stats_dump_reset(&c, TC_HOOK_EGRESS);
				stats_by_gets(s, &v[i], end - i, res);
			}
		}
		i = end;
	}
	for (size_t j = 0; j < n; j++)
		failed += res[j].error != 0;
	free(v);
	return failed;
}
