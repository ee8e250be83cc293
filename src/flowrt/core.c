/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow runtime without sockets (see flowrt_int.h).
 *
 * One conntrack engine per flow-strategy flowtable of the plan; every event goes to each
 * (a connection is offloaded by the flowtable whose devices its path enters through: the path
 * resolver refuses ingress devices of other flowtables; should two flowtables both take one
 * connection, the second install is refused, the first stays).
 *
 * Operations the engines emit are not sent at once: they wait in a pending list that the
 * loop flushes once per iteration (after an event read, a poll, a re-resolution), as one
 * pipelined delete batch then one pipelined install batch. A DELETE of rules whose INSTALL is
 * still pending cancels both (a connection that opens and closes within one read never
 * reaches the kernel). Deletes go first: a re-resolved flow's new rules have the same flower
 * key as its old ones, which flower refuses twice in one prio.
 *
 * The list is bounded: where one pass emits an operation per connection (a conntrack dump's
 * entries and its sweep, a poll's idle deletes, a re-resolution, a removal of everything) it is
 * flushed whenever it holds FR_PENDING_CAP operations (flowrt_int.h), at points between two
 * engine calls (never inside the sink: flushing runs ct_engine_failed). A dump of N new
 * connections so holds at most FR_PENDING_CAP 10-KB operations, not N. Two things cannot go out
 * in the middle of a dump and wait for its end:
 *  - the TCP be_liberal updates of installs acknowledged mid-dump: the backend runs them on the
 *    conntrack handle the dump is reading (flowrt.c), where a query cannot run inside the
 *    dump's callback. They are kept as (flowtable, key, id), 48 bytes each, and applied by
 *    fr_dump_end to the connections still tracked.
 *  - during adoption (fr_adopt_*), an install flower refuses with EEXIST: a rule of an earlier
 *    run with the same key (the connection's tuple reused under a new conntrack id while the
 *    daemon was down) is an orphan that only fr_adopt_end deletes. The operation is held
 *    (ad.retry) and queued again after those deletes.
 *
 * Cookies: each rule's actions carry nto_cookie_make(owner of the flowtable, conntrack id) and
 * the check of the rule's contents (rule_check), which the adoption compares.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "flowrt_int.h"
#include "nft-tc-offload/install.h"

#define FR_MAX_RULES      32
#define FR_FLOW_PRIO      0x2000
#define FR_NEAR_FULL      90 /* percent of capacity from which UDP waits (prefer = tcp) */
#define FR_MAX_ROUNDS     4  /* flush rounds (install failures queue deletes) */
#define FR_IDLE_RECHECK_S 30 /* dumps for flows whose rules idled out: at most this often */

enum fr_admit_mode {
	FR_ADMIT_EVENT = 0, /* an event: no counters unless DESTROY */
	FR_ADMIT_DUMP,      /* a dump entry: counters when accounting is on */
	FR_ADMIT_RETRY,     /* re-resolution of an admitted flow */
};

struct fr_ft {
	struct fr_core *rt;
	uint32_t index;
	const struct plan_flowtable *pf;
	char name[160];
	const struct profile *profile;
	struct ct_elig_rule rules[FR_MAX_RULES];
	size_t n_rules;
	struct fr_path_opts po;
	uint32_t owner;
	struct ct_engine *e;
};

struct fr_op {
	enum ct_op_kind kind;
	uint32_t ft;
	struct ct_key key;
	uint32_t ct_id;
	bool tcp_liberal;
	bool cleanup;               /* DELETE after a failed install: does not free hardware room */
	uint32_t packets_polled[2]; /* DELETE: see struct ct_op */
	uint64_t queued_ns; /* INSTALL for an event: CLOCK_MONOTONIC when queued; 0 = not timed */
	struct tc_rule rules[2];
};

/* A TCP be_liberal update that waits for the end of a dump (48 bytes). */
struct fr_later {
	struct ct_key key;
	uint32_t ft, ct_id;
};

/* One rule of ours found installed at start (the adoption index: 32 bytes a rule, never a
 * struct tc_rule), from a terse dump: its place and cookie (owner, conntrack id, and the check
 * of its contents, rule_check). */
struct fr_inst {
	uint32_t rule_id; /* the cookie's rule id: the conntrack id */
	uint32_t check;
	uint32_t owner, ifindex, chain, handle;
	uint16_t prio, protocol;
	uint8_t hook, claimed;
};

struct fr_adopt {
	bool active; /* between fr_adopt_begin and fr_adopt_end */
	struct fr_inst *v;
	size_t n, cap;
	bool fix; /* a flow's handles to set after the engine's install (adopted or in place) */
	uint32_t fix_ft;
	struct ct_key fix_key;
	uint32_t fix_handle[2];
	struct fr_op *retry; /* installs flower refused (EEXIST) while orphans were still in */
	size_t n_retry, cap_retry;
	struct fr_adopt_stats st;      /* the running or last adoption */
	struct fr_adopt_stats startup; /* the start's, kept for status */
	struct fr_adopt_stats replan;  /* the last re-plan's */
	uint64_t replans;
};

/* Event-driven installs: from the engine queueing them (right after the conntrack event was
 * read) to both rules acknowledged, the last FR_LAT_SAMPLES of them (µs). */
#define FR_LAT_SAMPLES 1024
struct fr_latency {
	uint32_t us[FR_LAT_SAMPLES];
	uint64_t n; /* samples taken in all (us[] holds the last ones) */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lat_add(struct fr_latency *l, uint64_t ns)
{
	uint64_t us = ns / 1000;

	l->us[l->n % FR_LAT_SAMPLES] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	l->n++;
}

/*
 * The check in our cookie (bytes 8..11): a 32-bit hash of what tc_rule_equal() compares, handle
 * excepted: the id's other fields, the flower key, mask and flags, the actions in use and the
 * cookie with its check bytes 0, as bytes (rule_check). Built rules start zeroed (tc_rule_init,
 * tc_rule_add_action), so equal rules of one build hash equal; another build's layout, or a
 * rule equal under tc_rule_equal but filled differently, only costs a replace in place. The
 * adoption after a restart compares it with the check in an installed rule's cookie, read from
 * a terse dump: the match and actions are not dumped at all. A rule whose contents differ but
 * whose check collides (1 in 2^32 a changed rule) would be kept.
 */
struct hstate {
	uint64_t a, b;
};

/* Two multiply lanes over the bytes: each step is a bijection of a lane's state for a given
 * word, so inputs that differ in one word leave different states; the shifts at the end of each
 * part bring high bits down. */
static void mix(struct hstate *h, const void *p, size_t n)
{
	const uint8_t *c = p;
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		uint64_t w0, w1;

		memcpy(&w0, c + i, 8);
		memcpy(&w1, c + i + 8, 8);
		h->a = (h->a ^ w0) * 0x9e3779b97f4a7c15ull;
		h->b = (h->b ^ w1) * 0xc2b2ae3d27d4eb4full;
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, c + i, 8);
		h->a = (h->a ^ w) * 0x9e3779b97f4a7c15ull;
	}
	for (; i < n; i++)
		h->b = (h->b ^ c[i]) * 0x100000001b3ull;
	h->a ^= h->a >> 31;
	h->b ^= h->b >> 29;
}

/* The bytes of an action that hold what it does: its kind, verdict and its kind's part of the
 * union (a pedit's ops in use only). */
static size_t action_span(const struct tc_action *a)
{
	size_t n;

	switch (a->kind) {
	case TC_ACTION_PEDIT:
		n = a->pedit.n_ops <= TC_PEDIT_MAX_OPS ? a->pedit.n_ops : TC_PEDIT_MAX_OPS;
		return offsetof(struct tc_action, pedit.ops) + n * sizeof(a->pedit.ops[0]);
	case TC_ACTION_MIRRED:
		return offsetof(struct tc_action, mirred) + sizeof(a->mirred);
	case TC_ACTION_CSUM:
		return offsetof(struct tc_action, csum) + sizeof(a->csum);
	case TC_ACTION_VLAN:
		return offsetof(struct tc_action, vlan) + sizeof(a->vlan);
	case TC_ACTION_CT:
		return offsetof(struct tc_action, ct) + sizeof(a->ct);
	default:
		return offsetof(struct tc_action, mirred); /* gact: the verdict */
	}
}

/* The check of rule r carrying cookie (its check bytes taken as 0): the id's fields but the
 * handle, the flower key, mask and flags, each action's span, the cookie. */
static uint32_t rule_check(const struct tc_rule *r, const uint8_t cookie[NTO_COOKIE_LEN])
{
	struct tc_id id = r->id;
	struct hstate h = {14695981039346656037ull, 0x243f6a8885a308d3ull};
	uint8_t n = r->n_actions <= TC_RULE_MAX_ACTIONS ? r->n_actions : TC_RULE_MAX_ACTIONS;
	uint8_t c[NTO_COOKIE_LEN];
	uint64_t x;
	uint32_t v;

	memcpy(c, cookie, sizeof(c));
	nto_cookie_set_check(c, 0);
	id.handle = 0;
	mix(&h, &id, sizeof(id));
	mix(&h, &r->flower, sizeof(r->flower));
	mix(&h, &n, 1);
	for (uint8_t i = 0; i < n; i++)
		mix(&h, &r->actions[i], action_span(&r->actions[i]));
	mix(&h, c, sizeof(c));
	/* murmur3's 64-bit finalizer over both lanes */
	x = h.a ^ (h.b << 32 | h.b >> 32);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	v = (uint32_t)(x ^ x >> 32);
	return v ? v : 1;
}

/* The cookie of flowtable ft's rule r for conntrack id ct_id: owner, id, and the check. */
static void install_cookie(const struct fr_ft *ft, const struct tc_rule *r, uint32_t ct_id,
                           uint8_t cookie[NTO_COOKIE_LEN])
{
	nto_cookie_make(cookie, ft->owner, ct_id);
	nto_cookie_set_check(cookie, rule_check(r, cookie));
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* {"samples", "p50_us", "p99_us", "max_us"} over the samples held; null before the first. */
static json_t *lat_json(const struct fr_latency *l)
{
	size_t n = l->n < FR_LAT_SAMPLES ? (size_t)l->n : FR_LAT_SAMPLES;
	uint32_t v[FR_LAT_SAMPLES];
	json_t *o;

	if (!n)
		return json_null();
	memcpy(v, l->us, n * sizeof(*v));
	qsort(v, n, sizeof(*v), u32_cmp);
	o = json_object();
	json_object_set_new(o, "samples", json_integer((json_int_t)n));
	json_object_set_new(o, "taken", json_integer((json_int_t)l->n));
	json_object_set_new(o, "p50_us", json_integer(v[(n - 1) / 2]));
	json_object_set_new(o, "p99_us", json_integer(v[(n - 1) * 99 / 100]));
	json_object_set_new(o, "max_us", json_integer(v[n - 1]));
	return o;
}

struct fr_core {
	struct fr_params p;
	struct fr_ft *fts;
	size_t n_fts;
	struct netstate_snapshot snap;
	bool have_snap;
	struct fr_op *ops;
	size_t n_ops, cap_ops;
	uint32_t *clsact;
	size_t n_clsact, cap_clsact;
	struct fr_counters c;
	struct fr_sock_info si;
	enum fr_admit_mode admit_mode;
	bool hw_full;    /* the kernel said ENOSPC; cleared by a successful delete */
	bool in_cleanup; /* ct_engine_failed is running: its DELETE is a cleanup */
	struct ct_key *seen;
	size_t n_seen, cap_seen;
	bool seen_lost; /* a key could not be kept: no sweep after this dump */
	uint32_t now;
	struct fr_latency lat;
	uint32_t last_dump_s; /* engine clock of the last dump (with dumped) */
	bool dumped;
	bool dumping; /* between fr_dump_begin and fr_dump_end: the conntrack handle is busy */
	struct fr_later *later;
	size_t n_later, cap_later;
	struct fr_adopt ad;
};

__attribute__((format(printf, 3, 4))) static void logf_(const struct fr_core *rt, enum log_level l,
                                                        const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!rt->p.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rt->p.log(rt->p.log_ctx, l, "%s", buf);
}

static void key_text(const struct ct_key *k, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	inet_ntop(k->family, &k->src, s, sizeof(s));
	inet_ntop(k->family, &k->dst, d, sizeof(d));
	snprintf(buf, len, "%s src=%s dst=%s sport=%u dport=%u zone=%u",
	         k->proto == IPPROTO_TCP ? "tcp" : "udp", s, d, k->sport, k->dport, k->zone);
}

static size_t total_offloaded(const struct fr_core *rt)
{
	size_t n = 0;

	for (size_t i = 0; i < rt->n_fts; i++)
		n += ct_table_counters(ct_engine_table(rt->fts[i].e))->flows[CT_FLOW_OFFLOADED];
	return n;
}

/* Connections the hardware takes: [flow] max_flows, else the smallest profile capacity / 2
 * (two rules a connection); 0 = no limit. */
static uint64_t capacity(const struct fr_core *rt)
{
	uint64_t cap = rt->p.cfg ? rt->p.cfg->flow_max : 0;

	for (size_t i = 0; i < rt->n_fts; i++) {
		const struct profile *pr = rt->fts[i].profile;

		if (pr && pr->capacity && (!cap || pr->capacity / 2 < cap))
			cap = pr->capacity / 2;
	}
	return cap;
}

/* ---- the engines' callbacks ----------------------------------------------------------------- */

static struct fr_op *op_push(struct fr_core *rt)
{
	if (rt->n_ops == rt->cap_ops) {
		size_t cap = rt->cap_ops ? rt->cap_ops * 2 : 64;
		struct fr_op *v = realloc(rt->ops, cap * sizeof(*v));

		if (!v)
			return NULL;
		rt->ops = v;
		rt->cap_ops = cap;
	}
	if (rt->n_ops + 1 > rt->c.pending_max)
		rt->c.pending_max = rt->n_ops + 1;
	return &rt->ops[rt->n_ops++];
}

/* Called between two engine calls of a pass that may emit an operation per connection. */
static void flush_if_full(struct fr_core *rt)
{
	if (rt->n_ops >= FR_PENDING_CAP)
		fr_flush(rt);
}

static bool same_rules(const struct fr_op *a, const struct ct_op *b)
{
	for (int d = 0; d < 2; d++)
		if (a->rules[d].id.ifindex != b->rules[d].id.ifindex ||
		    a->rules[d].id.handle != b->rules[d].id.handle)
			return false;
	return true;
}

/* An INSTALL of the same rules as the DELETE op (flowtable ft) in v[0..*n): removed (true). */
static bool cancel_install(struct fr_op *v, size_t *n, uint32_t ft, const struct ct_op *op)
{
	for (size_t i = *n; i-- > 0;) {
		struct fr_op *o = &v[i];

		if (o->kind == CT_OP_INSTALL && o->ft == ft &&
		    memcmp(&o->key, op->key, sizeof(o->key)) == 0 && same_rules(o, op)) {
			memmove(o, o + 1, (*n - i - 1) * sizeof(*o));
			(*n)--;
			return true;
		}
	}
	return false;
}

static bool adopt_match(struct fr_core *rt, const struct fr_ft *ft, const struct ct_op *op,
                        uint8_t cookie[2][NTO_COOKIE_LEN], uint32_t handle[2]);

static int sink(void *ctx, const struct ct_op *op)
{
	struct fr_ft *ft = ctx;
	struct fr_core *rt = ft->rt;
	uint8_t cookie[2][NTO_COOKIE_LEN];
	uint32_t handle[2];
	struct fr_op *o;

	if (op->kind == CT_OP_INSTALL) {
		for (size_t i = 0; i < rt->n_fts; i++) {
			const struct ct_flow *f;

			if (i == ft->index)
				continue;
			f = ct_table_find(ct_engine_table(rt->fts[i].e), op->key);
			if (f && f->state == CT_FLOW_OFFLOADED)
				return -EEXIST; /* offloaded by another flowtable */
		}
	} else if (cancel_install(rt->ops, &rt->n_ops, ft->index, op)) {
		/* a pending install of the same rules never goes out */
		rt->c.coalesced++;
		return 0;
	} else {
		/* nor does a held one (adoption); one of its rules may be in: the DELETE goes */
		cancel_install(rt->ad.retry, &rt->ad.n_retry, ft->index, op);
	}
	if (op->kind == CT_OP_INSTALL) {
		for (int d = 0; d < 2; d++) {
			install_cookie(ft, &op->rules[d], op->ct_id, cookie[d]);
			handle[d] = op->rules[d].id.handle;
		}
		if (rt->ad.active && adopt_match(rt, ft, op, cookie, handle))
			return 0; /* both rules are in the kernel already: nothing queued */
	}
	o = op_push(rt);
	if (!o)
		return -ENOMEM;
	o->kind = op->kind;
	o->ft = ft->index;
	o->key = *op->key;
	o->ct_id = op->ct_id;
	o->tcp_liberal = op->tcp_liberal;
	o->cleanup = rt->in_cleanup;
	o->packets_polled[0] = op->packets_polled[0];
	o->packets_polled[1] = op->packets_polled[1];
	o->rules[0] = op->rules[0];
	o->rules[1] = op->rules[1];
	o->queued_ns =
	    op->kind == CT_OP_INSTALL && rt->admit_mode == FR_ADMIT_EVENT ? mono_ns() : 0;
	if (op->kind == CT_OP_INSTALL)
		for (int d = 0; d < 2; d++) {
			memcpy(o->rules[d].cookie, cookie[d], NTO_COOKIE_LEN);
			o->rules[d].cookie_len = NTO_COOKIE_LEN;
			o->rules[d].id.handle =
			    handle[d]; /* an installed rule's, replaced in place */
		}
	return 0;
}

static enum ct_reason admit(void *ctx, const struct ct_event *ev, const struct ct_flow *f,
                            char *why, size_t len)
{
	struct fr_ft *ft = ctx;
	struct fr_core *rt = ft->rt;
	const struct config *cfg = rt->p.cfg;
	uint64_t cap = capacity(rt), used = total_offloaded(rt);

	(void)f;
	if (rt->hw_full) {
		snprintf(why, len,
		         "the kernel answered ENOSPC (the hardware table is full): waiting for a "
		         "rule to be deleted");
		return CT_R_FULL;
	}
	if (cap && used >= cap) {
		snprintf(why, len, "table full: %llu connections offloaded, the capacity (%s)",
		         (unsigned long long)used,
		         cfg && cfg->flow_max == cap ? "[flow] max_flows" : "profile capacity / 2");
		return CT_R_FULL;
	}
	if (cfg && cfg->flow_tcp_first && cap && ev->conn.orig.proto == IPPROTO_UDP &&
	    used * 100 >= cap * FR_NEAR_FULL) {
		snprintf(
		    why, len,
		    "near capacity (%llu of %llu connections offloaded): UDP waits so TCP goes "
		    "first ([flow] prefer = tcp)",
		    (unsigned long long)used, (unsigned long long)cap);
		return CT_R_FULL;
	}
	if (cfg && (cfg->flow_min_packets || cfg->flow_min_bytes) && rt->p.acct &&
	    rt->admit_mode != FR_ADMIT_RETRY) {
		uint64_t pk = ev->packets[0] + ev->packets[1], by = ev->bytes[0] + ev->bytes[1];

		if (!ev->has_counters) {
			/* events carry no counters (only DESTROY does): the next poll's dump will;
			 * a dump entry without them predates accounting: offload it */
			if (rt->admit_mode == FR_ADMIT_DUMP)
				return CT_R_NONE;
			snprintf(why, len,
			         "waiting for %llu packets or %llu bytes ([flow] min_packets / "
			         "min_bytes): counters are read at the next poll",
			         (unsigned long long)cfg->flow_min_packets,
			         (unsigned long long)cfg->flow_min_bytes);
			return CT_R_POLICY;
		}
		if ((!cfg->flow_min_packets || pk < cfg->flow_min_packets) &&
		    (!cfg->flow_min_bytes || by < cfg->flow_min_bytes)) {
			snprintf(why, len,
			         "%llu packets, %llu bytes so far: offloaded after %llu packets or "
			         "%llu bytes ([flow] min_packets / min_bytes)",
			         (unsigned long long)pk, (unsigned long long)by,
			         (unsigned long long)cfg->flow_min_packets,
			         (unsigned long long)cfg->flow_min_bytes);
			return CT_R_POLICY;
		}
	}
	return CT_R_NONE;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static int ft_init(struct fr_core *rt, struct fr_ft *ft, uint32_t index,
                   const struct plan_flowtable *pf, char *err, size_t errlen)
{
	const char *fam = nft_family_name(pf->table->family);
	struct ct_engine_opts eo;

	memset(ft, 0, sizeof(*ft));
	ft->rt = rt;
	ft->index = index;
	ft->pf = pf;
	snprintf(ft->name, sizeof(ft->name), "%s %s %s", fam, pf->table->name, pf->flowtable->name);
	ft->owner = nto_cookie_owner(fam, pf->table->name, pf->flowtable->name);
	for (size_t i = 0; i < pf->n_devices; i++) {
		const struct profile *pr = pf->devices[i].profile;

		if (!pr)
			continue;
		if (!ft->profile)
			ft->profile = pr;
		else if (pr != ft->profile && strcmp(pr->name, ft->profile->name) != 0)
			logf_(rt, LOG_LEVEL_WARNING,
			      "flowtable %s: devices with profiles %s and %s: rules are checked "
			      "against %s",
			      ft->name, ft->profile->name, pr->name, ft->profile->name);
	}
	ft->n_rules = ct_elig_rules_from_plan(pf, ft->rules, FR_MAX_RULES);
	ft->po.snap = rt->have_snap ? &rt->snap : NULL;
	ft->po.pf = pf;
	ft->po.hw_only = ft->profile && ft->profile->skip_sw;

	ct_engine_opts_init(&eo);
	eo.rules = ft->rules;
	eo.n_rules = ft->n_rules;
	eo.profile = ft->profile;
	eo.path = fr_path_resolve;
	eo.path_ctx = &ft->po;
	eo.sink = sink;
	eo.sink_ctx = ft;
	eo.admit = admit;
	eo.admit_ctx = ft;
	eo.rule.prio = FR_FLOW_PRIO;
	eo.rule.cookie_len = NTO_COOKIE_LEN;
	nto_cookie_make(eo.rule.cookie, ft->owner, 0);
	if (rt->p.tcp_timeout_s)
		eo.tcp_timeout_s = rt->p.tcp_timeout_s;
	if (rt->p.udp_timeout_s)
		eo.udp_timeout_s = rt->p.udp_timeout_s;
	if (rt->p.idle_s)
		eo.idle_s = rt->p.idle_s;
	ft->e = ct_engine_new(&eo);
	if (!ft->e) {
		snprintf(err, errlen, "flowtable %s: out of memory", ft->name);
		return -ENOMEM;
	}
	return 0;
}

static int build_fts(struct fr_core *rt, const struct plan *plan, char *err, size_t errlen)
{
	size_t n = 0;

	rt->fts = NULL;
	rt->n_fts = 0;
	if (!plan)
		return 0;
	for (size_t i = 0; i < plan->n_flowtables; i++)
		if (plan->flowtables[i].strategy == PROFILE_STRATEGY_FLOW)
			n++;
	if (!n)
		return 0;
	rt->fts = calloc(n, sizeof(*rt->fts));
	if (!rt->fts) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < plan->n_flowtables; i++) {
		int rc;

		if (plan->flowtables[i].strategy != PROFILE_STRATEGY_FLOW)
			continue;
		rc = ft_init(rt, &rt->fts[rt->n_fts], (uint32_t)rt->n_fts, &plan->flowtables[i],
		             err, errlen);
		if (rc)
			return rc;
		rt->n_fts++;
	}
	/* the poll all of them share: a refresh is due one poll before its interval ends */
	for (size_t i = 0; i < rt->n_fts; i++)
		ct_engine_set_poll_s(rt->fts[i].e, (fr_stats_interval_ms(rt) + 999) / 1000);
	return 0;
}

static void free_fts(struct fr_core *rt)
{
	for (size_t i = 0; i < rt->n_fts; i++)
		ct_engine_free(rt->fts[i].e);
	free(rt->fts);
	rt->fts = NULL;
	rt->n_fts = 0;
}

int fr_create(struct fr_core **out, const struct fr_params *p, char *err, size_t errlen)
{
	struct fr_core *rt = calloc(1, sizeof(*rt));
	int rc;

	*out = NULL;
	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rt->p = *p;
	rc = build_fts(rt, p->plan, err, errlen);
	if (rc) {
		fr_destroy(rt);
		return rc;
	}
	*out = rt;
	return 0;
}

void fr_destroy(struct fr_core *rt)
{
	if (!rt)
		return;
	free_fts(rt);
	netstate_snapshot_free(&rt->snap);
	free(rt->ops);
	free(rt->clsact);
	free(rt->seen);
	free(rt->later);
	free(rt->ad.v);
	free(rt->ad.retry);
	free(rt);
}

bool fr_set_snapshot(struct fr_core *rt, struct netstate_snapshot *snap)
{
	bool changed = !rt->have_snap || !netstate_snapshot_fwd_equal(&rt->snap, snap);

	netstate_snapshot_free(&rt->snap);
	rt->snap = *snap;
	memset(snap, 0, sizeof(*snap));
	rt->have_snap = true;
	for (size_t i = 0; i < rt->n_fts; i++)
		rt->fts[i].po.snap = &rt->snap;
	return changed;
}

const struct fr_counters *fr_counters(const struct fr_core *rt)
{
	return &rt->c;
}

struct fr_counters *fr_counters_mut(struct fr_core *rt)
{
	return &rt->c;
}

void fr_set_sock_info(struct fr_core *rt, const struct fr_sock_info *si)
{
	rt->si = *si;
}

size_t fr_n_flowtables(const struct fr_core *rt)
{
	return rt->n_fts;
}

struct ct_engine *fr_engine(struct fr_core *rt, size_t i)
{
	return i < rt->n_fts ? rt->fts[i].e : NULL;
}

size_t fr_pending(const struct fr_core *rt)
{
	return rt->n_ops;
}

unsigned fr_stats_interval_ms(const struct fr_core *rt)
{
	unsigned ms = 0;

	if (rt->p.cfg && rt->p.cfg->stats_interval_ms)
		return rt->p.cfg->stats_interval_ms;
	for (size_t i = 0; i < rt->n_fts; i++) {
		const struct profile *pr = rt->fts[i].profile;

		if (pr && pr->stats_interval_ms && (!ms || pr->stats_interval_ms < ms))
			ms = pr->stats_interval_ms;
	}
	return ms ? ms : 5000;
}

/* ---- events and dumps ------------------------------------------------------------------------ */

static void adopt_fix(struct fr_core *rt, size_t ft);

/* A dump entry of a flow whose rules idled out is offered again only when its timeout shows
 * traffic (ct_engine_idle_check); an event is offered always (conntrack saw a packet). */
static void feed(struct fr_core *rt, const struct ct_event *ev, uint32_t now_s, bool dump)
{
	for (size_t i = 0; i < rt->n_fts; i++) {
		bool offer = !dump || ct_engine_idle_check(rt->fts[i].e, ev, now_s) < 0;

		if (offer && ct_engine_event(rt->fts[i].e, ev, now_s))
			logf_(rt, LOG_LEVEL_ERROR, "flowtable %s: out of memory for a connection",
			      rt->fts[i].name);
		if (rt->ad.fix)
			adopt_fix(rt, i);
	}
}

void fr_event(struct fr_core *rt, const struct ct_event *ev, uint32_t now_s)
{
	rt->c.events++;
	rt->admit_mode = FR_ADMIT_EVENT;
	feed(rt, ev, now_s, false);
}

static void apply_later(struct fr_core *rt);

void fr_dump_begin(struct fr_core *rt)
{
	rt->dumping = true;
	rt->n_seen = 0;
	rt->seen_lost = false;
	rt->admit_mode = FR_ADMIT_DUMP;
	rt->c.dumps++;
}

void fr_dump_entry(struct fr_core *rt, const struct ct_event *ev)
{
	struct ct_event e = *ev;

	rt->c.dump_entries++;
	e.type = CT_EVENT_UPDATE;
	if (rt->n_seen == rt->cap_seen) {
		size_t cap = rt->cap_seen ? rt->cap_seen * 2 : 1024;
		struct ct_key *v = realloc(rt->seen, cap * sizeof(*v));

		if (v) {
			rt->seen = v;
			rt->cap_seen = cap;
		}
	}
	if (rt->n_seen < rt->cap_seen)
		ct_key_from_conn(&e.conn, &rt->seen[rt->n_seen++]);
	else
		rt->seen_lost = true;
	rt->admit_mode = FR_ADMIT_DUMP;
	feed(rt, &e, rt->now, true);
	/* installs go out during the dump: its new connections never all wait in the list */
	flush_if_full(rt);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ct_key));
}

void fr_dump_end(struct fr_core *rt, bool complete, uint32_t now_s)
{
	rt->admit_mode = FR_ADMIT_EVENT;
	rt->dumping = false;
	apply_later(rt); /* the conntrack handle is free again */
	if (!complete || rt->seen_lost)
		return;
	if (rt->n_seen)
		qsort(rt->seen, rt->n_seen, sizeof(*rt->seen), key_cmp);
	for (size_t i = 0; i < rt->n_fts; i++) {
		struct ct_table *t = ct_engine_table(rt->fts[i].e);

		/* backwards: a removal moves the last entry into the hole */
		for (size_t j = ct_table_count(t); j-- > 0;) {
			struct ct_flow *f = ct_table_at(t, j);
			struct ct_event ev;

			if (j >= ct_table_count(t))
				continue;
			if (rt->n_seen &&
			    bsearch(&f->key, rt->seen, rt->n_seen, sizeof(*rt->seen), key_cmp))
				continue;
			ct_flow_to_event(f, &ev);
			ev.type = CT_EVENT_DESTROY;
			rt->c.swept++;
			ct_engine_event(rt->fts[i].e, &ev, now_s);
			/* a flush neither adds flows nor removes any (ct_engine_failed refuses) */
			flush_if_full(rt);
		}
	}
}

static int run_dump(struct fr_core *rt, uint32_t now_s, bool sweep)
{
	int rc;

	if (!rt->p.be.dump)
		return -EOPNOTSUPP;
	rt->now = now_s;
	rt->last_dump_s = now_s;
	rt->dumped = true;
	fr_dump_begin(rt);
	rc = rt->p.be.dump(rt->p.be.ctx, rt);
	fr_dump_end(rt, rc == 0 && sweep, now_s);
	if (rc)
		logf_(rt, LOG_LEVEL_WARNING, "conntrack dump failed: %s", strerror(-rc));
	return rc;
}

int fr_resync(struct fr_core *rt, uint32_t now_s)
{
	return run_dump(rt, now_s, true);
}

int fr_recheck(struct fr_core *rt, uint32_t now_s)
{
	return run_dump(rt, now_s, false);
}

/* ---- flushing ------------------------------------------------------------------------------ */

static int ensure_clsact(struct fr_core *rt, uint32_t ifindex, char *why, size_t len)
{
	int rc;

	for (size_t i = 0; i < rt->n_clsact; i++)
		if (rt->clsact[i] == ifindex)
			return 0;
	if (!rt->p.be.clsact)
		return 0;
	rc = rt->p.be.clsact(rt->p.be.ctx, ifindex, why, len);
	if (rc)
		return rc;
	if (rt->n_clsact == rt->cap_clsact) {
		size_t cap = rt->cap_clsact ? rt->cap_clsact * 2 : 16;
		uint32_t *v = realloc(rt->clsact, cap * sizeof(*v));

		if (!v)
			return 0; /* asked again next time */
		rt->clsact = v;
		rt->cap_clsact = cap;
	}
	rt->clsact[rt->n_clsact++] = ifindex;
	return 0;
}

static void forget_clsact(struct fr_core *rt, uint32_t ifindex)
{
	for (size_t i = 0; i < rt->n_clsact; i++)
		if (rt->clsact[i] == ifindex) {
			rt->clsact[i] = rt->clsact[--rt->n_clsact];
			return;
		}
}

static bool gone(int err)
{
	return err == -ENOENT || err == -ENODEV || err == -EINVAL;
}

/* Deletes of one round: a last stats read (what the rules carried since the last poll), then
 * the delete batch. */
static void flush_deletes(struct fr_core *rt, const struct fr_op *ops, size_t n)
{
	struct tc_rule *rules;
	struct tc_id *ids;
	struct nlc_tc_result *res;
	bool *cleanup;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += ops[i].kind == CT_OP_DELETE ? 2 : 0;
	if (!k)
		return;
	rules = calloc(k, sizeof(*rules));
	ids = calloc(k, sizeof(*ids));
	res = calloc(k, sizeof(*res));
	cleanup = calloc(k, sizeof(*cleanup));
	if (!rules || !ids || !res || !cleanup) {
		logf_(rt, LOG_LEVEL_ERROR, "out of memory: %zu rule deletes dropped", k);
		goto out;
	}
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].kind != CT_OP_DELETE)
			continue;
		for (int d = 0; d < 2; d++) {
			rules[k] = ops[i].rules[d];
			ids[k] = ops[i].rules[d].id;
			cleanup[k] = ops[i].cleanup;
			k++;
		}
	}
	if (rt->p.be.get) {
		rt->p.be.get(rt->p.be.ctx, ids, k, res);
		rt->c.rules_sent += k;
		k = 0;
		for (size_t i = 0; i < n; i++) {
			char key[200];
			uint64_t p[2] = {0, 0}, b[2] = {0, 0};

			if (ops[i].kind != CT_OP_DELETE)
				continue;
			for (int d = 0; d < 2; d++, k++)
				if (!res[k].error && res[k].state.valid) {
					p[d] = res[k].state.packets;
					b[d] = res[k].state.bytes;
					rt->c.carried_packets +=
					    (uint32_t)p[d] - ops[i].packets_polled[d];
				}
			rt->c.carried_bytes += b[0] + b[1];
			key_text(&ops[i].key, key, sizeof(key));
			logf_(rt, LOG_LEVEL_INFO,
			      "delete: %s id=%u orig_packets=%llu reply_packets=%llu "
			      "orig_bytes=%llu reply_bytes=%llu",
			      key, ops[i].ct_id, (unsigned long long)p[0], (unsigned long long)p[1],
			      (unsigned long long)b[0], (unsigned long long)b[1]);
		}
		memset(res, 0, k * sizeof(*res));
	}
	rt->p.be.del(rt->p.be.ctx, rules, k, res);
	rt->c.batches++;
	rt->c.rules_sent += k;
	for (size_t i = 0; i < k; i++) {
		if (!res[i].error) {
			if (!cleanup[i])
				rt->hw_full = false;
			continue;
		}
		if (gone(res[i].error))
			continue; /* already gone (device deleted, or never installed) */
		rt->c.delete_errors++;
		logf_(rt, LOG_LEVEL_WARNING,
		      "delete of rule handle 0x%x on ifindex %u failed: %s%s%s", rules[i].id.handle,
		      rules[i].id.ifindex, strerror(-res[i].error), res[i].ext.msg[0] ? ": " : "",
		      res[i].ext.msg);
	}
out:
	free(rules);
	free(ids);
	free(res);
	free(cleanup);
}

static void install_failed(struct fr_core *rt, const struct fr_op *op, int err, const char *msg)
{
	char key[200];

	rt->c.install_errors++;
	if (err == -ENOSPC) {
		rt->c.enospc++;
		rt->hw_full = true;
	}
	key_text(&op->key, key, sizeof(key));
	logf_(rt, err == -ENOSPC || err == -EOPNOTSUPP ? LOG_LEVEL_WARNING : LOG_LEVEL_ERROR,
	      "install: %s: %s%s%s (stays in software)", key, strerror(-err), msg[0] ? ": " : "",
	      msg);
	rt->in_cleanup = true;
	ct_engine_failed(rt->fts[op->ft].e, &op->key, err, msg);
	rt->in_cleanup = false;
}

static void liberal(struct fr_core *rt, const struct ct_key *k)
{
	int rc = rt->p.be.liberal(rt->p.be.ctx, k);

	if (rc) {
		char key[200];

		rt->c.liberal_errors++;
		key_text(k, key, sizeof(key));
		logf_(rt, LOG_LEVEL_WARNING,
		      "tcp be_liberal on %s: %s (its FIN may be seen INVALID)", key, strerror(-rc));
	} else {
		rt->c.liberal_ok++;
	}
}

/* An install acknowledged during a dump: its be_liberal waits for fr_dump_end. */
static void liberal_later(struct fr_core *rt, const struct fr_op *op)
{
	if (rt->n_later == rt->cap_later) {
		size_t cap = rt->cap_later ? rt->cap_later * 2 : 256;
		struct fr_later *v = realloc(rt->later, cap * sizeof(*v));

		if (!v) {
			char key[200];

			rt->c.liberal_errors++;
			key_text(&op->key, key, sizeof(key));
			logf_(rt, LOG_LEVEL_WARNING,
			      "tcp be_liberal on %s: out of memory (its FIN may be seen INVALID)",
			      key);
			return;
		}
		rt->later = v;
		rt->cap_later = cap;
	}
	rt->later[rt->n_later].key = op->key;
	rt->later[rt->n_later].ft = op->ft;
	rt->later[rt->n_later].ct_id = op->ct_id;
	rt->n_later++;
	rt->c.liberal_deferred++;
}

/* After a dump: the deferred be_liberal updates of connections still tracked (the same
 * conntrack id; a connection the dump saw closing has had its rules deleted since, and still
 * gets it: its FIN goes through the stack). */
static void apply_later(struct fr_core *rt)
{
	for (size_t i = 0; i < rt->n_later; i++) {
		const struct fr_later *l = &rt->later[i];
		const struct ct_flow *f =
		    l->ft < rt->n_fts ? ct_table_find(ct_engine_table(rt->fts[l->ft].e), &l->key)
		                      : NULL;

		if (f && f->id == l->ct_id)
			liberal(rt, &l->key);
	}
	free(rt->later);
	rt->later = NULL;
	rt->n_later = rt->cap_later = 0;
}

/* During adoption: an install refused because a rule of an earlier run with the same flower
 * key is still in (an orphan, deleted by fr_adopt_end) waits for those deletes. */
static bool hold_for_adoption(struct fr_core *rt, const struct fr_op *op, int err)
{
	if (!rt->ad.active || err != -EEXIST)
		return false;
	if (rt->ad.n_retry == rt->ad.cap_retry) {
		size_t cap = rt->ad.cap_retry ? rt->ad.cap_retry * 2 : 8;
		struct fr_op *v = realloc(rt->ad.retry, cap * sizeof(*v));

		if (!v)
			return false;
		rt->ad.retry = v;
		rt->ad.cap_retry = cap;
	}
	rt->ad.retry[rt->ad.n_retry++] = *op;
	rt->ad.st.retried++;
	return true;
}

static void flush_installs(struct fr_core *rt, const struct fr_op *ops, size_t n)
{
	struct tc_rule *rules;
	struct nlc_tc_result *res;
	size_t *idx, k = 0, m = 0;

	for (size_t i = 0; i < n; i++)
		m += ops[i].kind == CT_OP_INSTALL;
	if (!m)
		return;
	rules = calloc(2 * m, sizeof(*rules));
	res = calloc(2 * m, sizeof(*res));
	idx = calloc(m, sizeof(*idx));
	if (!rules || !res || !idx) {
		for (size_t i = 0; i < n; i++)
			if (ops[i].kind == CT_OP_INSTALL)
				install_failed(rt, &ops[i], -ENOMEM, "out of memory");
		goto out;
	}
	m = 0;
	for (size_t i = 0; i < n; i++) {
		char why[NLC_EXTACK_MSG_MAX] = "";
		int rc = 0;

		if (ops[i].kind != CT_OP_INSTALL)
			continue;
		for (int d = 0; d < 2 && !rc; d++)
			rc = ensure_clsact(rt, ops[i].rules[d].id.ifindex, why, sizeof(why));
		if (rc) {
			install_failed(rt, &ops[i], rc, why[0] ? why : "no clsact qdisc");
			continue;
		}
		idx[m++] = i;
		rules[k++] = ops[i].rules[0];
		rules[k++] = ops[i].rules[1];
	}
	if (k) {
		rt->p.be.replace(rt->p.be.ctx, rules, k, res);
		rt->c.batches++;
		rt->c.rules_sent += k;
	}
	for (size_t j = 0; j < m; j++) {
		const struct fr_op *op = &ops[idx[j]];
		const struct nlc_tc_result *r = &res[2 * j];
		int err = r[0].error ? r[0].error : r[1].error;
		const char *msg = r[0].error ? r[0].ext.msg : r[1].ext.msg;

		if (!err && (r[0].mismatch || r[1].mismatch)) {
			err = -EILSEQ;
			msg = "the kernel's echo differs from the rule";
		}
		if (err) {
			if (err == -ENODEV || err == -EINVAL)
				for (int d = 0; d < 2; d++)
					forget_clsact(rt, op->rules[d].id.ifindex);
			if (!hold_for_adoption(rt, op, err))
				install_failed(rt, op, err, msg);
			continue;
		}
		if (op->queued_ns)
			lat_add(&rt->lat, mono_ns() - op->queued_ns);
		if (op->tcp_liberal && rt->p.be.liberal) {
			if (rt->dumping)
				liberal_later(rt, op);
			else
				liberal(rt, &op->key);
		}
	}
out:
	free(rules);
	free(res);
	free(idx);
}

size_t fr_flush(struct fr_core *rt)
{
	size_t sent0 = rt->c.rules_sent;

	for (int round = 0; round < FR_MAX_ROUNDS && rt->n_ops; round++) {
		struct fr_op *ops = rt->ops;
		size_t n = rt->n_ops;

		/* failures queue new operations: into a fresh list */
		rt->ops = NULL;
		rt->n_ops = rt->cap_ops = 0;
		flush_deletes(rt, ops, n);
		flush_installs(rt, ops, n);
		free(ops);
	}
	return (size_t)(rt->c.rules_sent - sent0);
}

/* Pending (and held) installs are dropped: they never go out. Pending deletes stay. */
static void drop_pending_installs(struct fr_core *rt)
{
	for (size_t i = 0; i < rt->n_ops;)
		if (rt->ops[i].kind == CT_OP_INSTALL) {
			memmove(&rt->ops[i], &rt->ops[i + 1],
			        (rt->n_ops - i - 1) * sizeof(*rt->ops));
			rt->n_ops--;
		} else {
			i++;
		}
	free(rt->ad.retry);
	rt->ad.retry = NULL;
	rt->ad.n_retry = rt->ad.cap_retry = 0;
}

void fr_remove_all(struct fr_core *rt)
{
	drop_pending_installs(rt);
	for (size_t i = 0; i < rt->n_fts; i++) {
		struct ct_table *t = ct_engine_table(rt->fts[i].e);

		for (size_t j = 0; j < ct_table_count(t); j++) {
			struct ct_flow *f = ct_table_at(t, j);
			struct tc_id ids[2];
			struct fr_op *o;

			if (f->state != CT_FLOW_OFFLOADED && f->state != CT_FLOW_PENDING_DELETE)
				continue;
			o = op_push(rt);
			if (!o)
				break;
			memset(o, 0, sizeof(*o));
			o->kind = CT_OP_DELETE;
			o->ft = (uint32_t)i;
			o->key = f->key;
			o->ct_id = f->id;
			o->packets_polled[0] = f->packets[0];
			o->packets_polled[1] = f->packets[1];
			ct_engine_rule_ids(rt->fts[i].e, f, ids);
			tc_rule_init(&o->rules[0], &ids[0]);
			tc_rule_init(&o->rules[1], &ids[1]);
			ct_table_set_state(t, f, CT_FLOW_CANDIDATE);
			flush_if_full(rt); /* deletes only: nothing is queued back */
		}
	}
	fr_flush(rt);
}

/* ---- adoption after a restart ------------------------------------------------------------- */

static bool inst_less(const struct fr_inst *x, const struct fr_inst *y)
{
	if (x->owner != y->owner)
		return x->owner < y->owner;
	if (x->rule_id != y->rule_id)
		return x->rule_id < y->rule_id;
	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex;
	return x->handle < y->handle;
}

/* Sorts v (n entries) by owner, rule id, ifindex, handle: a bottom-up merge sort with the
 * comparison inline, through tmp (room for n, or NULL: allocated here; qsort's indirect calls
 * were most of the index's cost). */
static void inst_sort(struct fr_inst *v, size_t n, struct fr_inst *tmp)
{
	struct fr_inst *src = v, *dst, *own = NULL;

	if (n < 2)
		return;
	if (!tmp) {
		own = tmp = malloc(n * sizeof(*v));
		if (!tmp) { /* insertion sort: slow, but sorted */
			for (size_t i = 1; i < n; i++) {
				struct fr_inst e = v[i];
				size_t j = i;

				for (; j > 0 && inst_less(&e, &v[j - 1]); j--)
					v[j] = v[j - 1];
				v[j] = e;
			}
			return;
		}
	}
	dst = tmp;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				dst[k++] = inst_less(&src[j], &src[i]) ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		{
			struct fr_inst *t = src;

			src = dst;
			dst = t;
		}
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(own);
}

void fr_adopt_begin(struct fr_core *rt)
{
	rt->ad.active = true;
	rt->ad.n = 0;
	rt->ad.fix = false;
	memset(&rt->ad.st, 0, sizeof(rt->ad.st));
}

int fr_adopt_rule(struct fr_core *rt, const struct tc_brief *b)
{
	uint32_t owner = nto_cookie_owner_in(b->cookie, b->cookie_len);
	struct fr_inst *e;
	bool mine = false;

	if (!rt->ad.active || !owner)
		return 0;
	for (size_t i = 0; i < rt->n_fts && !mine; i++)
		mine = rt->fts[i].owner == owner;
	if (!mine)
		return 0; /* ours, but not of a flow-strategy flowtable of this plan: left alone */
	if (rt->ad.n == rt->ad.cap) {
		size_t cap = rt->ad.cap ? rt->ad.cap * 2 : 1024;
		struct fr_inst *v = realloc(rt->ad.v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rt->ad.v = v;
		rt->ad.cap = cap;
	}
	e = &rt->ad.v[rt->ad.n++];
	memset(e, 0, sizeof(*e));
	e->owner = owner;
	e->rule_id = nto_cookie_rule_id_in(b->cookie, b->cookie_len);
	e->ifindex = b->id.ifindex;
	e->chain = b->id.chain;
	e->handle = b->id.handle;
	e->prio = b->id.prio;
	e->protocol = b->id.protocol;
	e->hook = (uint8_t)b->id.hook;
	/* 0 (a rule of a version without the check, or on a block): never adopted as equal */
	e->check = b->id.block_index ? 0 : nto_cookie_check_in(b->cookie, b->cookie_len);
	rt->ad.st.found++;
	return 0;
}

void fr_adopt_reset(struct fr_core *rt, uint32_t ifindex, enum tc_hook hook)
{
	size_t k = 0;

	for (size_t i = 0; i < rt->ad.n; i++)
		if (rt->ad.v[i].ifindex != ifindex || rt->ad.v[i].hook != (uint8_t)hook)
			rt->ad.v[k++] = rt->ad.v[i];
	rt->ad.st.found -= rt->ad.n - k;
	rt->ad.n = k;
}

void fr_adopt_index(struct fr_core *rt)
{
	uint32_t max = 0;

	if (rt->ad.n)
		inst_sort(rt->ad.v, rt->ad.n, NULL);
	for (size_t i = 0; i < rt->ad.n; i++)
		max = rt->ad.v[i].handle > max ? rt->ad.v[i].handle : max;
	/* new rules get handles above every installed one: a replace at an adopted rule's
	 * handle would overwrite it */
	if (max && max < UINT32_MAX)
		for (size_t i = 0; i < rt->n_fts; i++)
			ct_engine_reserve_handles(rt->fts[i].e, max + 1);
}

static bool same_slot(const struct fr_inst *e, const struct tc_id *id)
{
	return e->ifindex == id->ifindex && e->hook == (uint8_t)id->hook && e->chain == id->chain &&
	       e->prio == id->prio && e->protocol == id->protocol && !id->block_index;
}

/*
 * An INSTALL during the start-up dump (cookie: its rules' cookies, checks included): the
 * installed rules of its connection (owner, conntrack id) that are equal to the planned ones
 * are adopted (true: nothing to send; handle[] theirs); otherwise the planned rules take the
 * handles of installed rules in the same place (handle[d] set: replaced in place) or stay new.
 * Installed rules no flow claims are deleted by fr_adopt_end.
 */
static bool adopt_match(struct fr_core *rt, const struct fr_ft *ft, const struct ct_op *op,
                        uint8_t cookie[2][NTO_COOKIE_LEN], uint32_t handle[2])
{
	struct fr_adopt *ad = &rt->ad;
	struct fr_inst key = {.owner = ft->owner, .rule_id = op->ct_id};
	size_t lo = 0, hi = ad->n, end;
	long m[2] = {-1, -1};

	/* lower bound of (owner, rule id) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct fr_inst *e = &ad->v[mid];

		if (e->owner < key.owner || (e->owner == key.owner && e->rule_id < key.rule_id))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo;
	     end < ad->n && ad->v[end].owner == key.owner && ad->v[end].rule_id == key.rule_id;
	     end++)
		;
	if (lo == end)
		return false;
	for (int d = 0; d < 2; d++) {
		uint32_t check = nto_cookie_check_in(cookie[d], NTO_COOKIE_LEN);

		for (size_t i = lo; i < end; i++)
			if (!ad->v[i].claimed && (long)i != m[0] && check &&
			    same_slot(&ad->v[i], &op->rules[d].id) && ad->v[i].check == check) {
				m[d] = (long)i;
				break;
			}
	}
	ad->fix = true;
	ad->fix_ft = ft->index;
	ad->fix_key = *op->key;
	if (m[0] >= 0 && m[1] >= 0) {
		for (int d = 0; d < 2; d++) {
			ad->v[m[d]].claimed = 1;
			handle[d] = ad->fix_handle[d] = ad->v[m[d]].handle;
		}
		ad->st.adopted += 2;
		return true;
	}
	/* something differs: both rules are written, in place where a rule of this connection
	 * is installed at the same device and prio */
	for (int d = 0; d < 2; d++) {
		for (size_t i = lo; i < end && m[d] < 0; i++)
			if (!ad->v[i].claimed && (long)i != m[1 - d] &&
			    same_slot(&ad->v[i], &op->rules[d].id))
				m[d] = (long)i;
		if (m[d] >= 0) {
			ad->v[m[d]].claimed = 1;
			handle[d] = ad->v[m[d]].handle;
			ad->st.replaced++;
		}
		ad->fix_handle[d] = handle[d];
	}
	return false;
}

static void adopt_fix(struct fr_core *rt, size_t ft)
{
	struct ct_flow *f;

	if (rt->ad.fix_ft != ft)
		return;
	rt->ad.fix = false;
	f = ct_table_find(ct_engine_table(rt->fts[ft].e), &rt->ad.fix_key);
	if (!f || f->state != CT_FLOW_OFFLOADED)
		return;
	f->handle[0] = rt->ad.fix_handle[0];
	f->handle[1] = rt->ad.fix_handle[1];
}

#define FR_ADOPT_DEL_CHUNK 1024

/* The installs held for the orphans' deletes go back into the pending list (the caller's
 * fr_flush sends them); one that fails again is an ordinary install failure. */
static void requeue_retries(struct fr_core *rt)
{
	for (size_t i = 0; i < rt->ad.n_retry; i++) {
		struct fr_op *o = op_push(rt);

		if (!o) {
			install_failed(rt, &rt->ad.retry[i], -ENOMEM, "out of memory");
			continue;
		}
		*o = rt->ad.retry[i];
	}
	free(rt->ad.retry);
	rt->ad.retry = NULL;
	rt->ad.n_retry = rt->ad.cap_retry = 0;
}

size_t fr_adopt_end(struct fr_core *rt)
{
	struct fr_adopt *ad = &rt->ad;
	struct tc_rule *rules = NULL;
	struct nlc_tc_result *res = NULL;
	size_t k = 0, gone_n = 0;

	if (!ad->active)
		return 0;
	ad->active = false;
	ad->fix = false;
	for (size_t i = 0; i < ad->n; i++)
		k += !ad->v[i].claimed;
	if (k && rt->p.be.del) {
		rules = calloc(FR_ADOPT_DEL_CHUNK, sizeof(*rules));
		res = calloc(FR_ADOPT_DEL_CHUNK, sizeof(*res));
	}
	if (k && (!rules || !res))
		logf_(rt, LOG_LEVEL_ERROR, "flow: out of memory: %zu rules of an earlier run kept",
		      k);
	for (size_t i = 0, n = 0; rules && res && i <= ad->n; i++) {
		if (i < ad->n && !ad->v[i].claimed) {
			const struct fr_inst *e = &ad->v[i];
			struct tc_id id = {.ifindex = e->ifindex,
			                   .hook = (enum tc_hook)e->hook,
			                   .chain = e->chain,
			                   .prio = e->prio,
			                   .protocol = e->protocol,
			                   .handle = e->handle};

			tc_rule_init(&rules[n++], &id);
		}
		if (n && (n == FR_ADOPT_DEL_CHUNK || i == ad->n)) {
			memset(res, 0, n * sizeof(*res));
			rt->p.be.del(rt->p.be.ctx, rules, n, res);
			rt->c.batches++;
			rt->c.rules_sent += n;
			for (size_t j = 0; j < n; j++) {
				if (!res[j].error || gone(res[j].error)) {
					gone_n++;
					continue;
				}
				ad->st.delete_errors++;
				logf_(
				    rt, LOG_LEVEL_WARNING,
				    "flow: delete of an earlier run's rule (handle 0x%x on ifindex "
				    "%u) failed: %s",
				    rules[j].id.handle, rules[j].id.ifindex,
				    strerror(-res[j].error));
			}
			n = 0;
		}
	}
	ad->st.deleted = gone_n;
	free(rules);
	free(res);
	free(ad->v);
	ad->v = NULL;
	ad->n = ad->cap = 0;
	requeue_retries(rt);
	return gone_n;
}

void fr_adopt_abort(struct fr_core *rt)
{
	rt->ad.active = false;
	rt->ad.fix = false;
	free(rt->ad.v);
	rt->ad.v = NULL;
	rt->ad.n = rt->ad.cap = 0;
	requeue_retries(rt);
}

void fr_set_startup_reconcile_ms(struct fr_core *rt, uint64_t ms)
{
	rt->ad.st.done = true;
	rt->ad.st.reconcile_ms = ms;
	rt->ad.startup = rt->ad.st;
}

void fr_set_replan_reconcile_ms(struct fr_core *rt, uint64_t ms)
{
	rt->ad.st.done = true;
	rt->ad.st.reconcile_ms = ms;
	rt->ad.replan = rt->ad.st;
	rt->ad.replans++;
}

const struct fr_adopt_stats *fr_adopt_stats(const struct fr_core *rt)
{
	return &rt->ad.st;
}

/* ---- polls ----------------------------------------------------------------------------------- */

static void poll_ft(struct fr_core *rt, struct fr_ft *ft, uint32_t now_s)
{
	struct ct_table *t = ct_engine_table(ft->e);
	size_t n = ct_table_counters(t)->flows[CT_FLOW_OFFLOADED], k = 0;
	struct ct_stats_item *items;
	struct tc_id *ids;
	struct nlc_tc_result *res;
	uint32_t *prev;
	bool *lost;

	if (!n || !rt->p.be.get)
		return;
	items = calloc(n, sizeof(*items));
	ids = calloc(2 * n, sizeof(*ids));
	res = calloc(2 * n, sizeof(*res));
	prev = calloc(2 * n, sizeof(*prev));
	lost = calloc(n, sizeof(*lost));
	if (!items || !ids || !res || !prev || !lost)
		goto out;
	for (size_t j = 0; j < ct_table_count(t) && k < n; j++) {
		struct ct_flow *f = ct_table_at(t, j);

		if (f->state != CT_FLOW_OFFLOADED)
			continue;
		items[k].key = f->key;
		ct_engine_rule_ids(ft->e, f, &ids[2 * k]);
		prev[2 * k] = f->packets[0];
		prev[2 * k + 1] = f->packets[1];
		k++;
	}
	rt->p.be.get(rt->p.be.ctx, ids, 2 * k, res);
	rt->c.rules_sent += 2 * k;
	rt->c.batches++;
	for (size_t i = 0; i < k; i++) {
		for (int d = 0; d < 2; d++) {
			const struct nlc_tc_result *r = &res[2 * i + (size_t)d];

			if (r->error) {
				rt->c.get_errors++;
				if (gone(r->error))
					lost[i] = true;
				continue;
			}
			items[i].st[d] = r->state;
			items[i].st[d].valid = true;
			rt->c.carried_packets +=
			    (uint32_t)r->state.packets - prev[2 * i + (size_t)d];
		}
	}
	for (size_t i = 0; i < k; i++) {
		char key[200];
		int rc;

		/* in chunks of FR_PENDING_CAP / 2 flows: an idle flow's delete, or a lost one's
		 * cleanup, is one operation each */
		if (i % (FR_PENDING_CAP / 2) == 0) {
			size_t c = k - i < FR_PENDING_CAP / 2 ? k - i : FR_PENDING_CAP / 2;

			if (rt->n_ops + 2 * c > FR_PENDING_CAP)
				fr_flush(rt);
			ct_engine_stats(ft->e, &items[i], c, now_s);
		}

		if (lost[i] && items[i].verdict != CT_STATS_EXPIRED) {
			key_text(&items[i].key, key, sizeof(key));
			logf_(rt, LOG_LEVEL_WARNING, "rules of %s disappeared from the kernel",
			      key);
			ct_engine_failed(
			    ft->e, &items[i].key, -ENOENT,
			    "its rules disappeared from the kernel (deleted by someone "
			    "else?)");
			continue;
		}
		if (items[i].verdict != CT_STATS_REFRESH || !items[i].timeout_s ||
		    !rt->p.be.refresh)
			continue;
		rc = rt->p.be.refresh(rt->p.be.ctx, &items[i].key, items[i].timeout_s);
		if (!rc) {
			rt->c.refresh_ok++;
		} else if (rc == -EOPNOTSUPP) {
			rt->c.refresh_offload++; /* the kernel's flowtable holds it */
		} else {
			rt->c.refresh_errors++;
			key_text(&items[i].key, key, sizeof(key));
			logf_(rt, rc == -ENOENT ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING,
			      "conntrack timeout refresh of %s: %s", key, strerror(-rc));
		}
	}
out:
	free(items);
	free(ids);
	free(res);
	free(prev);
	free(lost);
}

bool fr_poll(struct fr_core *rt, uint32_t now_s)
{
	uint64_t cap = capacity(rt);
	bool room = !rt->hw_full && (!cap || total_offloaded(rt) < cap);
	bool want_dump = false;
	/* flows whose rules idled out: a dump every FR_IDLE_RECHECK_S shows which carry traffic
	 * again (their packets raise no conntrack event) */
	bool idle_due = !rt->dumped || now_s - rt->last_dump_s >= FR_IDLE_RECHECK_S;

	rt->c.polls++;
	for (size_t i = 0; i < rt->n_fts; i++)
		poll_ft(rt, &rt->fts[i], now_s);
	fr_flush(rt);
	/* flows that wait for counters (policy) or for room (capacity): a dump gives both the
	 * counters and a fresh try */
	for (size_t i = 0; i < rt->n_fts && !want_dump; i++) {
		struct ct_table *t = ct_engine_table(rt->fts[i].e);

		for (size_t j = 0; j < ct_table_count(t); j++) {
			const struct ct_flow *f = ct_table_at(t, j);

			if ((f->state == CT_FLOW_CANDIDATE && f->reason == CT_R_POLICY) ||
			    (room && f->state == CT_FLOW_REFUSED && f->reason == CT_R_FULL) ||
			    (idle_due && f->state == CT_FLOW_CANDIDATE && f->reason == CT_R_IDLE)) {
				want_dump = true;
				break;
			}
		}
	}
	return want_dump;
}

void fr_reresolve(struct fr_core *rt, uint32_t now_s, bool fwd_changed)
{
	if (!fwd_changed)
		rt->c.netstate_unchanged++;
	rt->admit_mode = FR_ADMIT_RETRY;
	for (size_t i = 0; i < rt->n_fts; i++) {
		struct ct_table *t = ct_engine_table(rt->fts[i].e);

		for (size_t j = 0; j < ct_table_count(t); j++) {
			struct ct_flow *f = ct_table_at(t, j);
			bool was = f->state == CT_FLOW_OFFLOADED;

			/* an unchanged network gives an offloaded flow the same path: only the
			 * refused ones try again (a kernel refusal may have had other causes) */
			if (was ? !fwd_changed
			        : !(f->state == CT_FLOW_REFUSED &&
			            (f->reason == CT_R_PATH || f->reason == CT_R_RULE)))
				continue;
			rt->c.reresolves++;
			if (ct_engine_reresolve(rt->fts[i].e, f, now_s) && was)
				rt->c.path_changes++;
			/* a flow's DELETE and INSTALL stay in one flush (deletes first) */
			flush_if_full(rt);
		}
	}
	rt->admit_mode = FR_ADMIT_EVENT;
	fr_flush(rt);
}

/* ---- plan ---------------------------------------------------------------------------------- */

int fr_set_plan_keep(struct fr_core *rt, const struct plan *plan, char *err, size_t errlen)
{
	/* pending installs never go out (the adoption dump decides again); pending deletes do,
	 * before the flowtables they name are freed */
	drop_pending_installs(rt);
	fr_flush(rt);
	free_fts(rt);
	rt->p.plan = plan;
	return build_fts(rt, plan, err, errlen);
}

const struct plan *fr_plan(const struct fr_core *rt)
{
	return rt->p.plan;
}

/* ---- views ----------------------------------------------------------------------------------- */

static const char *state_name(unsigned s)
{
	static const char *const n[CT_FLOW_STATE_COUNT] = {"candidate", "offloaded", "refused",
	                                                   "pending-delete"};

	return s < CT_FLOW_STATE_COUNT ? n[s] : "?";
}

static const char *dev_name(const struct fr_core *rt, uint32_t ifindex, char buf[IFNAMSIZ])
{
	const struct netstate_link *l =
	    rt->have_snap ? netstate_link_by_index(&rt->snap, ifindex) : NULL;

	if (l)
		return l->name;
	snprintf(buf, IFNAMSIZ, "ifindex %u", ifindex);
	return buf;
}

static json_t *adopt_json(const struct fr_adopt_stats *st)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "found", (json_int_t)st->found,
	                 "adopted", (json_int_t)st->adopted, "replaced", (json_int_t)st->replaced,
	                 "deleted", (json_int_t)st->deleted, "delete_errors",
	                 (json_int_t)st->delete_errors, "retried", (json_int_t)st->retried);
}

json_t *fr_status_json(const struct fr_core *rt)
{
	json_t *o = json_object(), *fts = json_array(), *refused = json_object();
	uint64_t tracked = 0, off = 0, sw = 0, by_reason[CT_R_COUNT] = {0};
	const struct fr_counters *c = &rt->c;
	uint64_t cap = capacity(rt);

	for (size_t i = 0; i < rt->n_fts; i++) {
		const struct fr_ft *ft = &rt->fts[i];
		struct ct_table *t = ct_engine_table(ft->e);
		const struct ct_table_counters *tc = ct_table_counters(t);
		const struct ct_engine_counters *ec = ct_engine_counters(ft->e);
		json_t *j = json_object();

		tracked += ct_table_count(t);
		off += tc->flows[CT_FLOW_OFFLOADED];
		for (size_t k = 0; k < ct_table_count(t); k++) {
			const struct ct_flow *f = ct_table_at(t, k);

			if (f->state != CT_FLOW_OFFLOADED && f->reason < CT_R_COUNT)
				by_reason[f->reason]++;
		}
		json_object_set_new(j, "flowtable", json_string(ft->name));
		json_object_set_new(j, "profile",
		                    ft->profile ? json_string(ft->profile->name) : json_null());
		json_object_set_new(j, "flow_add_rules", json_integer((json_int_t)ft->n_rules));
		json_object_set_new(j, "tracked", json_integer((json_int_t)ct_table_count(t)));
		for (int s = 0; s < CT_FLOW_STATE_COUNT; s++)
			json_object_set_new(j, state_name((unsigned)s),
			                    json_integer((json_int_t)tc->flows[s]));
		json_object_set_new(j, "events_new", json_integer((json_int_t)ec->events[1]));
		json_object_set_new(j, "events_update", json_integer((json_int_t)ec->events[2]));
		json_object_set_new(j, "events_destroy", json_integer((json_int_t)ec->events[3]));
		json_object_set_new(j, "installs", json_integer((json_int_t)ec->installs));
		json_object_set_new(j, "deletes", json_integer((json_int_t)ec->deletes));
		json_object_set_new(j, "refreshes", json_integer((json_int_t)ec->refreshes));
		json_object_set_new(j, "refreshes_deferred",
		                    json_integer((json_int_t)ec->refreshes_deferred));
		json_object_set_new(j, "idle_expired", json_integer((json_int_t)ec->idle_expired));
		json_object_set_new(j, "idle_resumed", json_integer((json_int_t)ec->idle_resumed));
		json_object_set_new(j, "table_full", json_integer((json_int_t)tc->full));
		json_array_append_new(fts, j);
	}
	sw = tracked - off;
	for (int r = 1; r < CT_R_COUNT; r++)
		if (by_reason[r])
			json_object_set_new(refused, ct_reason_name((enum ct_reason)r),
			                    json_integer((json_int_t)by_reason[r]));
	json_object_set_new(o, "tracked", json_integer((json_int_t)tracked));
	json_object_set_new(o, "offloaded", json_integer((json_int_t)off));
	json_object_set_new(o, "in_software", json_integer((json_int_t)sw));
	json_object_set_new(o, "in_software_by_reason", refused);
	json_object_set_new(o, "capacity", cap ? json_integer((json_int_t)cap) : json_null());
	json_object_set_new(o, "capacity_used_percent",
	                    cap ? json_real(100.0 * (double)off / (double)cap) : json_null());
	json_object_set_new(o, "hardware_full", json_boolean(rt->hw_full));
	json_object_set_new(o, "flowtables", fts);
	{
		json_t *ct = json_object();

		json_object_set_new(ct, "events", json_integer((json_int_t)c->events));
		json_object_set_new(ct, "overruns", json_integer((json_int_t)c->enobufs));
		json_object_set_new(ct, "resyncs", json_integer((json_int_t)c->resyncs));
		json_object_set_new(ct, "dumps", json_integer((json_int_t)c->dumps));
		json_object_set_new(ct, "dump_entries", json_integer((json_int_t)c->dump_entries));
		json_object_set_new(ct, "swept", json_integer((json_int_t)c->swept));
		json_object_set_new(ct, "rcvbuf", json_integer((json_int_t)rt->si.ct_rcvbuf));
		json_object_set_new(ct, "accounting", json_boolean(rt->p.acct));
		if (rt->si.acct_note)
			json_object_set_new(ct, "accounting_note", json_string(rt->si.acct_note));
		if (rt->si.timeout_note)
			json_object_set_new(ct, "timeout_note", json_string(rt->si.timeout_note));
		json_object_set_new(ct, "refresh_ok", json_integer((json_int_t)c->refresh_ok));
		json_object_set_new(ct, "refresh_errors",
		                    json_integer((json_int_t)c->refresh_errors));
		json_object_set_new(ct, "refresh_kernel_offload",
		                    json_integer((json_int_t)c->refresh_offload));
		json_object_set_new(ct, "liberal_ok", json_integer((json_int_t)c->liberal_ok));
		json_object_set_new(ct, "liberal_errors",
		                    json_integer((json_int_t)c->liberal_errors));
		json_object_set_new(ct, "liberal_after_dump",
		                    json_integer((json_int_t)c->liberal_deferred));
		json_object_set_new(o, "conntrack", ct);
	}
	{
		json_t *nl = json_object();

		json_object_set_new(nl, "batches", json_integer((json_int_t)c->batches));
		json_object_set_new(nl, "requests", json_integer((json_int_t)c->rules_sent));
		json_object_set_new(nl, "install_errors",
		                    json_integer((json_int_t)c->install_errors));
		json_object_set_new(nl, "delete_errors",
		                    json_integer((json_int_t)c->delete_errors));
		json_object_set_new(nl, "get_errors", json_integer((json_int_t)c->get_errors));
		json_object_set_new(nl, "enospc", json_integer((json_int_t)c->enospc));
		json_object_set_new(nl, "coalesced", json_integer((json_int_t)c->coalesced));
		json_object_set_new(o, "netlink", nl);
	}
	json_object_set_new(o, "polls", json_integer((json_int_t)c->polls));
	json_object_set_new(o, "reresolves", json_integer((json_int_t)c->reresolves));
	json_object_set_new(o, "install_latency", lat_json(&rt->lat));
	json_object_set_new(o, "path_changes", json_integer((json_int_t)c->path_changes));
	json_object_set_new(o, "netstate_unchanged",
	                    json_integer((json_int_t)c->netstate_unchanged));
	json_object_set_new(o, "carried_packets", json_integer((json_int_t)c->carried_packets));
	json_object_set_new(o, "carried_bytes_closed", json_integer((json_int_t)c->carried_bytes));
	json_object_set_new(o, "pending", json_integer((json_int_t)rt->n_ops));
	json_object_set_new(o, "pending_max", json_integer((json_int_t)c->pending_max));
	/* the start-up reconcile: rules of an earlier run adopted, replaced, deleted */
	json_object_set_new(o, "startup_reconcile_ms",
	                    rt->ad.startup.done
	                        ? json_integer((json_int_t)rt->ad.startup.reconcile_ms)
	                        : json_null());
	json_object_set_new(o, "startup_reconcile", adopt_json(&rt->ad.startup));
	/* re-plans keep the installed rules the same way: adopted, replaced, deleted */
	json_object_set_new(o, "replans", json_integer((json_int_t)rt->ad.replans));
	json_object_set_new(o, "last_replan_reconcile_ms",
	                    rt->ad.replan.done
	                        ? json_integer((json_int_t)rt->ad.replan.reconcile_ms)
	                        : json_null());
	json_object_set_new(o, "last_replan_reconcile", adopt_json(&rt->ad.replan));
	return o;
}

static json_t *tuple_json(int family, uint8_t proto, const union tc_addr *s, const union tc_addr *d,
                          uint16_t sp, uint16_t dp)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	inet_ntop(family, s, a, sizeof(a));
	inet_ntop(family, d, b, sizeof(b));
	(void)proto;
	return json_pack("{s:s, s:s, s:i, s:i}", "src", a, "dst", b, "sport", (int)sp, "dport",
	                 (int)dp);
}

static void flow_explain(const struct fr_core *rt, const struct fr_ft *ft, const struct ct_flow *f,
                         char *buf, size_t len)
{
	char a[IFNAMSIZ], b[IFNAMSIZ];

	if (f->state == CT_FLOW_OFFLOADED) {
		snprintf(buf, len, "offloaded: rules on %s (handle 0x%x) and %s (handle 0x%x)",
		         dev_name(rt, f->ifindex[0], a), f->handle[0],
		         dev_name(rt, f->ifindex[1], b), f->handle[1]);
		return;
	}
	ct_engine_explain(ft->e, f, buf, len);
}

json_t *fr_flows_json(const struct fr_core *rt)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < rt->n_fts; i++) {
		const struct fr_ft *ft = &rt->fts[i];
		struct ct_table *t = ct_engine_table(ft->e);

		for (size_t k = 0; k < ct_table_count(t); k++) {
			const struct ct_flow *f = ct_table_at(t, k);
			json_t *j = json_object();
			char text[512], dn[IFNAMSIZ];

			json_object_set_new(j, "flowtable", json_string(ft->name));
			json_object_set_new(j, "id", json_integer(f->id));
			json_object_set_new(j, "family",
			                    json_string(f->key.family == AF_INET ? "ip" : "ip6"));
			json_object_set_new(
			    j, "proto", json_string(f->key.proto == IPPROTO_TCP ? "tcp" : "udp"));
			json_object_set_new(j, "original",
			                    tuple_json(f->key.family, f->key.proto, &f->key.src,
			                               &f->key.dst, f->key.sport, f->key.dport));
			json_object_set_new(j, "reply",
			                    tuple_json(f->key.family, f->key.proto, &f->reply_src,
			                               &f->reply_dst, f->reply_sport,
			                               f->reply_dport));
			json_object_set_new(j, "zone", json_integer(f->key.zone));
			json_object_set_new(j, "mark", json_integer(f->mark));
			if (f->key.proto == IPPROTO_TCP)
				json_object_set_new(j, "tcp_state",
				                    json_string(ct_tcp_state_name(f->tcp_state)));
			json_object_set_new(j, "state", json_string(state_name(f->state)));
			json_object_set_new(
			    j, "reason",
			    f->reason ? json_string(ct_reason_name((enum ct_reason)f->reason))
			              : json_null());
			flow_explain(rt, ft, f, text, sizeof(text));
			json_object_set_new(j, "explain", json_string(text));
			if (f->state == CT_FLOW_OFFLOADED) {
				json_t *rules = json_array();
				struct tc_id ids[2];

				ct_engine_rule_ids(ft->e, f, ids);
				for (int d = 0; d < 2; d++)
					json_array_append_new(
					    rules,
					    json_pack("{s:s, s:s, s:i, s:i, s:i, s:i}", "dir",
					              d ? "reply" : "original", "dev",
					              dev_name(rt, ids[d].ifindex, dn), "ifindex",
					              (int)ids[d].ifindex, "prio", (int)ids[d].prio,
					              "handle", (int)ids[d].handle, "packets",
					              (int)f->packets[d]));
				json_object_set_new(j, "rules", rules);
				json_object_set_new(j, "last_active_s",
				                    json_integer(f->last_active_s));
			}
			json_array_append_new(arr, j);
		}
	}
	return arr;
}

static void plan_tuple_of(const struct ct_flow *f, bool reply, struct plan_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->family = f->key.family;
	t->proto = f->key.proto;
	t->saddr = reply ? f->reply_src : f->key.src;
	t->daddr = reply ? f->reply_dst : f->key.dst;
	t->sport = reply ? f->reply_sport : f->key.sport;
	t->dport = reply ? f->reply_dport : f->key.dport;
}

int fr_explain(const struct fr_core *rt, const struct plan_query *q, char *buf, size_t len)
{
	char query[256];
	size_t off = 0;
	int found = 0, offloaded = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < rt->n_fts; i++) {
		const struct fr_ft *ft = &rt->fts[i];
		struct ct_table *t = ct_engine_table(ft->e);

		for (size_t k = 0; k < ct_table_count(t); k++) {
			const struct ct_flow *f = ct_table_at(t, k);
			char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], rs[INET6_ADDRSTRLEN],
			    rd[INET6_ADDRSTRLEN], text[512];
			struct plan_tuple o, r;
			int n;

			plan_tuple_of(f, false, &o);
			plan_tuple_of(f, true, &r);
			if (!plan_query_match(q, &o) && !plan_query_match(q, &r))
				continue;
			found++;
			offloaded += f->state == CT_FLOW_OFFLOADED;
			inet_ntop(o.family, &f->key.src, s, sizeof(s));
			inet_ntop(o.family, &f->key.dst, d, sizeof(d));
			inet_ntop(o.family, &f->reply_src, rs, sizeof(rs));
			inet_ntop(o.family, &f->reply_dst, rd, sizeof(rd));
			flow_explain(rt, ft, f, text, sizeof(text));
			n = snprintf(
			    buf + off, off < len ? len - off : 0,
			    "flowtable %s: %s %s %u -> %s %u (reply %s %u -> %s %u) zone %u "
			    "id %u%s%s: %s\n",
			    ft->name, o.proto == IPPROTO_TCP ? "tcp" : "udp", s, f->key.sport, d,
			    f->key.dport, rs, f->reply_sport, rd, f->reply_dport, f->key.zone,
			    f->id, f->key.proto == IPPROTO_TCP ? " " : "",
			    f->key.proto == IPPROTO_TCP ? ct_tcp_state_name(f->tcp_state) : "",
			    text);
			if (n > 0)
				off += (size_t)n;
		}
	}
	if (!found) {
		plan_query_format(q, query, sizeof(query));
		snprintf(buf, len, "no tracked connection matches \"%s\" (in either direction)%s\n",
		         query, rt->n_fts ? "" : ": no flowtable uses the flow strategy");
		return -ENOENT;
	}
	return offloaded ? 0 : 1;
}
