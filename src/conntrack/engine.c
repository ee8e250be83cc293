/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine glue: conntrack events -> eligibility -> paths -> two flower rules -> sink.
 *
 *  - NEW / UPDATE: the flow is tracked (found or added); eligible connections get their paths
 *    resolved (one callback per direction), their rules built and checked against the
 *    profile, and one INSTALL operation; connections that stop being eligible (FIN/RST:
 *    closing TCP states) get one DELETE operation. Refusals are recorded on the flow with a
 *    reason code and a text (kept once in a string pool).
 *  - DESTROY: DELETE when offloaded, and the flow leaves the table.
 *  - stats polls: ct_engine_stats() tells active flows (refresh conntrack's timeout: packets
 *    that go through tc never touch conntrack) from idle ones (rules deleted after idle_s, as
 *    the kernel flowtable's 30 s).
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft-tc-offload/conntrack.h"

#define POOL_MAX   4096 /* distinct reason texts kept; then texts fall back to reason names */
#define POOL_SLOTS 8192

struct spool {
	char *v[POOL_MAX]; /* 1..n used */
	uint16_t n;
	uint16_t slots[POOL_SLOTS]; /* pool index, 0 = empty */
};

struct ct_engine {
	struct ct_engine_opts o;
	struct ct_table *t;
	struct ct_engine_counters c;
	uint32_t next_handle;
	size_t max_offloaded;
	struct spool pool;
};

void ct_engine_opts_init(struct ct_engine_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->rule.prio = 0x2000;
	o->rule.ttl_dec = true;
	o->idle_s = 30;
	o->poll_s = 5;
	o->tcp_timeout_s = 432000;
	o->udp_timeout_s = 120;
}

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* The pool index of text (added when new); 0 when the pool is full or out of memory. */
static uint16_t pool_intern(struct spool *p, const char *text)
{
	uint32_t i = str_hash(text) & (POOL_SLOTS - 1);

	for (; p->slots[i]; i = (i + 1) & (POOL_SLOTS - 1))
		if (strcmp(p->v[p->slots[i]], text) == 0)
			return p->slots[i];
	if (p->n + 1 >= POOL_MAX)
		return 0;
	p->v[p->n + 1] = strdup(text);
	if (!p->v[p->n + 1])
		return 0;
	p->n++;
	p->slots[i] = p->n;
	return p->n;
}

struct ct_engine *ct_engine_new(const struct ct_engine_opts *o)
{
	struct ct_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->o = *o;
	if (o->profile && !(o->profile->actions & PROFILE_ACT_PEDIT_TTL))
		e->o.rule.ttl_dec = false; /* the hardware decrements TTL itself (PPE) */
	if (o->profile && o->profile->skip_sw)
		e->o.rule.skip_sw = true;
	e->max_offloaded = o->max_offloaded;
	if (!e->max_offloaded && o->profile && o->profile->capacity)
		e->max_offloaded = (size_t)(o->profile->capacity / 2);
	e->next_handle = 1;
	e->t = ct_table_new(o->expected_flows ? o->expected_flows : 4096, o->max_flows);
	if (!e->t) {
		free(e);
		return NULL;
	}
	return e;
}

void ct_engine_free(struct ct_engine *e)
{
	if (!e)
		return;
	for (uint16_t i = 1; i <= e->pool.n; i++)
		free(e->pool.v[i]);
	ct_table_free(e->t);
	free(e);
}

struct ct_table *ct_engine_table(struct ct_engine *e)
{
	return e->t;
}

const struct ct_engine_counters *ct_engine_counters(const struct ct_engine *e)
{
	return &e->c;
}

static bool transient(enum ct_reason r)
{
	return r == CT_R_TCP_STATE || r == CT_R_NOT_ASSURED || r == CT_R_UDP_UNREPLIED ||
	       r == CT_R_POLICY || r == CT_R_IDLE;
}

/* A hash of both paths (the resolver fills them from zeroed memory), eight bytes a step: one
 * per install and per re-resolve, over a few hundred bytes. */
static uint32_t paths_hash(const struct flow_path paths[2])
{
	const uint8_t *p = (const uint8_t *)paths;
	size_t n = 2 * sizeof(*paths), i = 0;
	uint64_t h = 0x9e3779b97f4a7c15u, w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3u;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return (uint32_t)(h ^ (h >> 32));
}

/* Both directions' paths; 0, or the resolver's error with the reason in text. */
static int resolve(struct ct_engine *e, const struct flow_conn *c, struct flow_path paths[2],
                   char *text, size_t len)
{
	char why[256];

	memset(paths, 0, 2 * sizeof(*paths));
	if (!e->o.path) {
		snprintf(text, len, "no path resolver");
		return -EINVAL;
	}
	/* original: from the client to where DNAT sends it; reply: back to the client */
	for (int d = 0; d < 2; d++) {
		const union tc_addr *src = d == FLOW_DIR_ORIG ? &c->orig.src : &c->reply.src;
		const union tc_addr *dst = d == FLOW_DIR_ORIG ? &c->reply.src : &c->orig.src;
		int rc;

		why[0] = '\0';
		e->c.path_calls++;
		rc =
		    e->o.path(e->o.path_ctx, c->orig.family, src, dst, &paths[d], why, sizeof(why));
		if (rc) {
			snprintf(text, len, "%s direction: %s",
			         d == FLOW_DIR_ORIG ? "original" : "reply",
			         why[0] ? why : "no path");
			return rc;
		}
	}
	return 0;
}

static void set_reason(struct ct_engine *e, struct ct_flow *f, enum ct_reason r, const char *text)
{
	if (f->reason != r || f->state == CT_FLOW_OFFLOADED)
		e->c.refusals[r]++;
	f->reason = (uint8_t)r;
	f->detail = text && text[0] ? pool_intern(&e->pool, text) : 0;
	ct_table_set_state(e->t, f, transient(r) ? CT_FLOW_CANDIDATE : CT_FLOW_REFUSED);
}

static uint16_t vlan_of(const struct ct_flow *f, enum flow_dir d)
{
	uint8_t q = d == FLOW_DIR_ORIG ? CT_FF_ORIG_8021Q : CT_FF_REPLY_8021Q;
	uint8_t ad = d == FLOW_DIR_ORIG ? CT_FF_ORIG_8021AD : CT_FF_REPLY_8021AD;

	if (f->flags & ad)
		return ETH_P_8021AD;
	if (f->flags & q)
		return ETH_P_8021Q;
	return 0;
}

void ct_engine_reserve_handles(struct ct_engine *e, uint32_t next)
{
	if (next > e->next_handle)
		e->next_handle = next;
}

void ct_engine_rule_ids(const struct ct_engine *e, const struct ct_flow *f, struct tc_id ids[2])
{
	for (int d = 0; d < 2; d++) {
		uint16_t vlan = vlan_of(f, (enum flow_dir)d);

		ids[d] = (struct tc_id){
		    .ifindex = f->ifindex[d],
		    .hook = TC_HOOK_INGRESS,
		    .chain = e->o.rule.chain,
		    .prio = flowrule_prio(&e->o.rule, f->key.family, vlan),
		    .protocol = flowrule_protocol(f->key.family, vlan),
		    .handle = f->handle[d],
		};
	}
}

/* Emits the DELETE of a flow's two rules. */
static int delete_rules(struct ct_engine *e, struct ct_flow *f)
{
	struct ct_op op; /* not zero-initialized: its two rules (10 KB) are set up below */
	struct tc_id ids[2];
	int rc;

	op.kind = CT_OP_DELETE;
	op.key = &f->key;
	op.ct_id = f->id;
	op.tcp_liberal = false;
	op.packets_polled[0] = f->packets[0];
	op.packets_polled[1] = f->packets[1];
	ct_engine_rule_ids(e, f, ids);
	tc_rule_init(&op.rules[0], &ids[0]);
	tc_rule_init(&op.rules[1], &ids[1]);
	rc = e->o.sink(e->o.sink_ctx, &op);
	e->c.deletes++;
	if (rc)
		e->c.sink_errors++;
	return rc;
}

static int install(struct ct_engine *e, struct ct_flow *f, const struct ct_event *ev, uint32_t now)
{
	const struct flow_conn *c = &ev->conn;
	struct flow_path paths[2];
	struct ct_verdict v;
	struct ct_op op; /* not zero-initialized: flowrule_build sets up its two rules (10 KB) */
	struct flowrule_opts ro = e->o.rule;
	char why[256], text[300];
	int rc;

	op.kind = CT_OP_INSTALL;
	op.key = &f->key;
	op.ct_id = ev->id;
	op.tcp_liberal = f->key.proto == IPPROTO_TCP;
	op.packets_polled[0] = op.packets_polled[1] = 0;
	if (e->max_offloaded &&
	    ct_table_counters(e->t)->flows[CT_FLOW_OFFLOADED] >= e->max_offloaded) {
		snprintf(text, sizeof(text),
		         "table full: %zu connections offloaded, the hardware's capacity",
		         e->max_offloaded);
		set_reason(e, f, CT_R_FULL, text);
		return 0;
	}
	if (e->o.admit) {
		enum ct_reason r;

		text[0] = '\0';
		r = e->o.admit(e->o.admit_ctx, ev, f, text, sizeof(text));
		if (r != CT_R_NONE) {
			set_reason(e, f, r, text);
			return 0;
		}
	}
	if (resolve(e, c, paths, text, sizeof(text))) {
		set_reason(e, f, CT_R_PATH, text);
		return 0;
	}
	if (!ct_elig_rules(e->o.rules, e->o.n_rules, ev, paths, &v)) {
		set_reason(e, f, v.reason, v.text);
		return 0;
	}
	ro.handle[0] = e->next_handle++;
	if (!e->next_handle)
		e->next_handle = 1;
	ro.handle[1] = e->next_handle++;
	if (!e->next_handle)
		e->next_handle = 1;
	rc = flowrule_build(c, paths, &ro, op.rules, why, sizeof(why));
	if (rc) {
		set_reason(e, f, CT_R_RULE, why);
		return 0;
	}
	if (e->o.profile) {
		for (int d = 0; d < 2; d++) {
			if (!profile_check_rule(e->o.profile, &op.rules[d], why, sizeof(why))) {
				snprintf(text, sizeof(text), "%s rule: %s",
				         d == FLOW_DIR_ORIG ? "original" : "reply", why);
				set_reason(e, f, CT_R_PROFILE, text);
				return 0;
			}
		}
	}
	rc = e->o.sink(e->o.sink_ctx, &op);
	if (rc) {
		e->c.sink_errors++;
		snprintf(text, sizeof(text), "install failed: %s", strerror(-rc));
		set_reason(e, f, CT_R_INSTALL, text);
		return 0;
	}
	e->c.installs++;
	for (int d = 0; d < 2; d++) {
		f->ifindex[d] = paths[d].in_ifindex;
		f->handle[d] = ro.handle[d];
		f->packets[d] = 0;
	}
	f->flags &= CT_FF_KERNEL_OFFLOAD;
	if (paths[0].n_in_vlan)
		f->flags |= paths[0].in_vlan[0].proto == ETH_P_8021AD ? CT_FF_ORIG_8021AD
		                                                      : CT_FF_ORIG_8021Q;
	if (paths[1].n_in_vlan)
		f->flags |= paths[1].in_vlan[0].proto == ETH_P_8021AD ? CT_FF_REPLY_8021AD
		                                                      : CT_FF_REPLY_8021Q;
	f->path_hash = paths_hash(paths);
	f->last_active_s = now;
	/* An established TCP entry has at least min(its state's timeout, 300 s: unacknowledged
	 * data, retransmissions) left when its rules go in: the install counts as a refresh, so
	 * a burst of new connections costs no burst of refreshes (each one a get and an update).
	 * A UDP entry may hold only nf_conntrack_udp_timeout (30 s) yet: it is refreshed at its
	 * first poll with packets. */
	if (f->key.proto == IPPROTO_TCP) {
		f->flags |= CT_FF_REFRESHED;
		f->refreshed_s = now;
	}
	f->reason = CT_R_NONE;
	f->detail = 0;
	ct_table_set_state(e->t, f, CT_FLOW_OFFLOADED);
	return 0;
}

int ct_engine_event(struct ct_engine *e, const struct ct_event *ev, uint32_t now_s)
{
	struct ct_key k;
	struct ct_flow *f;
	struct ct_verdict v;
	bool created;

	if ((unsigned)ev->type < 4)
		e->c.events[ev->type]++;
	ct_key_from_conn(&ev->conn, &k);
	if (ev->type == CT_EVENT_DESTROY) {
		f = ct_table_find(e->t, &k);
		if (!f)
			return 0;
		if (f->state == CT_FLOW_OFFLOADED || f->state == CT_FLOW_PENDING_DELETE)
			delete_rules(e, f);
		ct_table_remove(e->t, &k);
		return 0;
	}
	f = ct_table_insert(e->t, &k, &created);
	if (!f) {
		e->c.refusals[CT_R_FULL]++;
		return ct_table_count(e->t) < (e->o.max_flows ? e->o.max_flows : SIZE_MAX) ? -ENOMEM
		                                                                           : 0;
	}
	f->id = ev->id;
	f->mark = ev->conn.mark;
	f->reply_src = ev->conn.reply.src;
	f->reply_dst = ev->conn.reply.dst;
	f->reply_sport = ev->conn.reply.sport;
	f->reply_dport = ev->conn.reply.dport;
	if (ev->has_tcp_state)
		f->tcp_state = ev->tcp_state;
	if (ev->status & CT_ST_OFFLOAD)
		f->flags |= CT_FF_KERNEL_OFFLOAD;
	else
		f->flags &= (uint8_t)~CT_FF_KERNEL_OFFLOAD;

	if (!ct_elig_conn(ev, &v) || !ct_elig_rules(e->o.rules, e->o.n_rules, ev, NULL, &v)) {
		if (f->state == CT_FLOW_OFFLOADED && delete_rules(e, f)) {
			ct_table_set_state(e->t, f, CT_FLOW_PENDING_DELETE);
			return 0;
		}
		set_reason(e, f, v.reason, v.text);
		return 0;
	}
	if (f->state == CT_FLOW_OFFLOADED)
		return 0;
	if (f->state == CT_FLOW_PENDING_DELETE && delete_rules(e, f))
		return 0;
	return install(e, f, ev, now_s);
}

void ct_flow_to_event(const struct ct_flow *f, struct ct_event *ev)
{
	struct flow_conn *c = &ev->conn;

	memset(ev, 0, sizeof(*ev));
	ev->type = CT_EVENT_UPDATE;
	ev->id = f->id;
	c->orig.family = c->reply.family = f->key.family;
	c->orig.proto = c->reply.proto = f->key.proto;
	c->orig.src = f->key.src;
	c->orig.dst = f->key.dst;
	c->orig.sport = f->key.sport;
	c->orig.dport = f->key.dport;
	c->reply.src = f->reply_src;
	c->reply.dst = f->reply_dst;
	c->reply.sport = f->reply_sport;
	c->reply.dport = f->reply_dport;
	c->zone = f->key.zone;
	c->mark = f->mark;
	ev->status = CT_ST_CONFIRMED | CT_ST_SEEN_REPLY | CT_ST_ASSURED;
	if (f->flags & CT_FF_KERNEL_OFFLOAD)
		ev->status |= CT_ST_OFFLOAD;
	if (f->key.proto == IPPROTO_TCP) {
		ev->has_tcp_state = true;
		ev->tcp_state = f->tcp_state ? f->tcp_state : CT_TCP_ESTABLISHED;
	}
}

int ct_engine_reresolve(struct ct_engine *e, struct ct_flow *f, uint32_t now_s)
{
	struct flow_path paths[2];
	struct ct_event ev;
	char text[300];

	ct_flow_to_event(f, &ev);
	if (f->state == CT_FLOW_REFUSED &&
	    (f->reason == CT_R_PATH || f->reason == CT_R_RULE || f->reason == CT_R_FULL)) {
		install(e, f, &ev, now_s);
		return f->state == CT_FLOW_OFFLOADED;
	}
	if (f->state != CT_FLOW_OFFLOADED)
		return 0;
	if (resolve(e, &ev.conn, paths, text, sizeof(text)) == 0 &&
	    paths_hash(paths) == f->path_hash)
		return 0;
	delete_rules(e, f);
	ct_table_set_state(e->t, f, CT_FLOW_CANDIDATE);
	install(e, f, &ev, now_s);
	return 1;
}

void ct_engine_failed(struct ct_engine *e, const struct ct_key *k, int err, const char *msg)
{
	struct ct_flow *f = ct_table_find(e->t, k);
	char text[300];

	if (!f)
		return;
	if (f->state == CT_FLOW_OFFLOADED)
		delete_rules(e, f); /* one of the two may be in: take both out */
	snprintf(text, sizeof(text), "install failed: %s%s%s", strerror(err < 0 ? -err : err),
	         msg && msg[0] ? ": " : "", msg ? msg : "");
	set_reason(e, f, CT_R_INSTALL, text);
}

int ct_engine_explain(const struct ct_engine *e, const struct ct_flow *f, char *buf, size_t len)
{
	static const char *const states[CT_FLOW_STATE_COUNT] = {"candidate", "offloaded", "refused",
	                                                        "pending delete"};
	const char *detail = f->detail && f->detail <= e->pool.n ? e->pool.v[f->detail] : NULL;

	if (f->state == CT_FLOW_OFFLOADED)
		return snprintf(buf, len,
		                "offloaded: rules on ifindex %u handle 0x%x, ifindex %u "
		                "handle 0x%x",
		                f->ifindex[0], f->handle[0], f->ifindex[1], f->handle[1]);
	if (f->reason == CT_R_NONE)
		return snprintf(buf, len, "%s", states[f->state]);
	return snprintf(buf, len, "%s (%s): %s", states[f->state], ct_reason_name(f->reason),
	                detail ? detail : ct_reason_name(f->reason));
}

void ct_engine_set_poll_s(struct ct_engine *e, uint32_t poll_s)
{
	e->o.poll_s = poll_s;
}

uint32_t ct_refresh_interval(uint32_t timeout_s)
{
	uint32_t v = timeout_s / 3;

	return v > CT_REFRESH_MAX_S ? CT_REFRESH_MAX_S : v ? v : 1;
}

size_t ct_engine_stats(struct ct_engine *e, struct ct_stats_item *items, size_t n, uint32_t now_s)
{
	size_t refresh = 0;

	for (size_t i = 0; i < n; i++) {
		struct ct_stats_item *it = &items[i];
		struct ct_flow *f = ct_table_find(e->t, &it->key);
		bool active = false;
		uint32_t idle_for;

		it->timeout_s = 0;
		if (!f || f->state != CT_FLOW_OFFLOADED) {
			it->verdict = CT_STATS_UNKNOWN;
			continue;
		}
		for (int d = 0; d < 2; d++) {
			uint32_t p = (uint32_t)it->st[d].packets;

			if (!it->st[d].valid)
				continue;
			if (p != f->packets[d]) {
				active = true;
				f->packets[d] = p;
				/* lastused says when, more precisely than our poll */
				uint32_t ago = (uint32_t)(it->st[d].lastused_ms / 1000);
				uint32_t at = ago < now_s ? now_s - ago : 0;

				if (at > f->last_active_s)
					f->last_active_s = at;
			}
		}
		if (active) {
			uint32_t to =
			    f->key.proto == IPPROTO_TCP ? e->o.tcp_timeout_s : e->o.udp_timeout_s;

			/* The first time the rules carry packets, then once per interval: each
			 * refresh is two round trips to conntrack (get, update). */
			if ((f->flags & CT_FF_REFRESHED) &&
			    now_s - f->refreshed_s + e->o.poll_s + 1 < ct_refresh_interval(to)) {
				it->verdict = CT_STATS_ACTIVE;
				e->c.refreshes_deferred++;
				continue;
			}
			f->flags |= CT_FF_REFRESHED | CT_FF_TIMEOUT_SET;
			f->refreshed_s = now_s;
			it->verdict = CT_STATS_REFRESH;
			it->timeout_s = to;
			e->c.refreshes++;
			refresh++;
			continue;
		}
		idle_for = now_s > f->last_active_s ? now_s - f->last_active_s : 0;
		if (idle_for < e->o.idle_s) {
			it->verdict = CT_STATS_IDLE;
			continue;
		}
		/* Back to software, like the kernel flowtable's timeout. The flow stays in the
		 * table: ct_engine_idle_check finds out when it carries packets again. What the
		 * timeout should read then is known when we set it last and nothing else did. */
		it->verdict = CT_STATS_EXPIRED;
		e->c.idle_expired++;
		{
			uint32_t to =
			    f->key.proto == IPPROTO_TCP ? e->o.tcp_timeout_s : e->o.udp_timeout_s;
			/* known only when a refresh of ours set it (an install counts as one, but
			 * the kernel may have set 300 s for unacknowledged data then) */
			uint32_t at =
			    (f->flags & CT_FF_TIMEOUT_SET) && to ? f->refreshed_s + to : 0;

			delete_rules(e, f);
			f->flags &= (uint8_t) ~(CT_FF_REFRESHED | CT_FF_TIMEOUT_SET);
			f->idle_expiry_s = at;
		}
		set_reason(e, f, CT_R_IDLE,
		           "no packets on its rules for the idle time: back in software until "
		           "conntrack shows traffic again");
	}
	return refresh;
}

int ct_engine_idle_check(struct ct_engine *e, const struct ct_event *ev, uint32_t now_s)
{
	struct ct_key k;
	struct ct_flow *f;
	int64_t expect, diff;

	ct_key_from_conn(&ev->conn, &k);
	f = ct_table_find(e->t, &k);
	if (!f || f->state != CT_FLOW_CANDIDATE || f->reason != CT_R_IDLE ||
	    ev->type == CT_EVENT_DESTROY)
		return -1;
	if (!ev->has_timeout)
		return 0;
	if (!f->idle_expiry_s) {
		f->idle_expiry_s = now_s + ev->timeout;
		return 0;
	}
	expect = (int64_t)f->idle_expiry_s - now_s;
	diff = (int64_t)ev->timeout - expect;
	if (diff >= -CT_IDLE_SLACK_S && diff <= CT_IDLE_SLACK_S)
		return 0;
	e->c.idle_resumed++;
	ct_engine_event(e, ev, now_s);
	return 1;
}
