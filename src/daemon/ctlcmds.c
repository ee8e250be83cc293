/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's control-socket requests: status, flows, explain, rules, metrics, ping. Each
 * answers with one JSON object built from the running state (struct daemon); the CLI prints
 * it as text or, with -j, as it is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "daemon-internal.h"
#include "nft-tc-offload/conntrack.h"
#include "nft-tc-offload/ctrt.h"
#include "nft-tc-offload/daemon.h"
#include "nft-tc-offload/flowrt.h"
#include "nft-tc-offload/install.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/tc.h"
#include "nft-tc-offload/version.h"

#define EXPLAIN_BUF   16384
#define EXPLAIN_CONNS 16 /* connections explained for a query without ports */

/* ---- status ------------------------------------------------------------------------------ */

static const char *strategy_name(enum profile_strategy s)
{
	return s == PROFILE_STRATEGY_CT ? "ct" : s == PROFILE_STRATEGY_FLOW ? "flow" : "none";
}

static json_t *flowtables_json(struct daemon *d)
{
	json_t *a = json_array();
	const struct plan *p = d->gen->plan;

	for (size_t f = 0; f < p->n_flowtables; f++) {
		const struct plan_flowtable *pf = &p->flowtables[f];
		json_t *devs = json_array(), *notes = json_array();
		/* the planner's refusal, else the ct runtime's (capability probe, eswitch) */
		const char *reason = pf->reason ? pf->reason
		                     : d->ct    ? ctrt_flowtable_refusal(d->ct, pf)
		                                : NULL;

		for (size_t i = 0; i < pf->n_devices; i++) {
			const struct plan_device *pd = &pf->devices[i];
			size_t rules = d->ct ? ctrt_device_rules(d->ct, pd->ifindex) : 0;
			json_t *o = json_pack("{s:s, s:I, s:b}", "name", pd->name, "ifindex",
			                      (json_int_t)pd->ifindex, "present", pd->present);

			json_object_set_new(o, "profile",
			                    pd->profile ? json_string(pd->profile->name)
			                                : json_null());
			json_object_set_new(o, "strategy",
			                    json_string(pd->profile
			                                    ? strategy_name(pd->profile->strategy)
			                                    : "none"));
			json_object_set_new(o, "reason",
			                    pd->reason ? json_string(pd->reason) : json_null());
			if (pf->strategy == PROFILE_STRATEGY_CT) {
				json_object_set_new(o, "rules", json_integer((json_int_t)rules));
				json_object_set_new(
				    o, "capacity",
				    json_integer(pd->profile ? (json_int_t)pd->profile->capacity
				                             : 0));
			}
			json_array_append_new(devs, o);
		}
		for (size_t i = 0; i < pf->n_notes; i++)
			json_array_append_new(notes, json_string(pf->notes[i]));
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o}",
		                                   "family", nft_family_name(pf->table->family),
		                                   "table", pf->table->name, "name",
		                                   pf->flowtable->name, "strategy",
		                                   strategy_name(pf->strategy), "flags_offload",
		                                   pf->flowtable->offload, "reason",
		                                   reason ? json_string(reason) : json_null(),
		                                   "devices", devs, "notes", notes));
	}
	return a;
}

static json_t *status_json(struct daemon *d)
{
	json_t *o = json_object(), *src, *ovr, *excl = json_array();
	const struct config *c = &d->gen->cfg;

	json_object_set_new(o, "version", json_string(NTO_VERSION));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "uptime_s",
	                    json_integer((json_int_t)((ev_now_ms() - d->start_ms) / 1000)));
	json_object_set_new(o, "config", json_string(d->config_path));
	src = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "source", c->source, "plan_age_s",
	                (json_int_t)((ev_now_ms() - d->gen->loaded_ms) / 1000), "nft_triggers",
	                (json_int_t)d->nft_triggers, "replans", (json_int_t)d->replans,
	                "replans_unchanged", (json_int_t)d->replans_unchanged, "replan_failures",
	                (json_int_t)d->replan_failures);
	json_object_set_new(src, "following", json_boolean(d->mon != NULL));
	json_object_set_new(src, "last_replan_unix_ms",
	                    d->last_replan_unix_ms
	                        ? json_integer((json_int_t)d->last_replan_unix_ms)
	                        : json_null());
	json_object_set_new(o, "sources", src);
	json_object_set_new(o, "reloads", json_integer((json_int_t)d->reloads));
	json_object_set_new(o, "reload_failures", json_integer((json_int_t)d->reload_failures));
	json_object_set_new(o, "last_error",
	                    d->last_error[0] ? json_string(d->last_error) : json_null());
	json_object_set_new(o, "flowtables", flowtables_json(d));
	for (size_t i = 0; i < d->gen->n_excluded; i++)
		json_array_append_new(excl, json_string(d->gen->excluded[i]));
	json_object_set_new(o, "excluded_devices", excl);
	json_object_set_new(o, "ct", d->ct ? ctrt_status_json(d->ct) : json_null());
	json_object_set_new(o, "flow", d->flow ? flowrt_status_json(d->flow) : json_null());
	ovr = json_pack("{s:I, s:I, s:I, s:I, s:I}", "rtnl", (json_int_t)d->rtnl_overruns,
	                "netstate", (json_int_t)d->netstate_overruns, "nft_monitor",
	                (json_int_t)(d->mon ? nftmon_stats(d->mon)->overruns : 0), "resyncs",
	                (json_int_t)d->resyncs, "rtnl_rcvbuf", (json_int_t)nlc_rcvbuf(d->rtnl));
	json_object_set_new(o, "overruns", ovr);
	json_object_set_new(o, "netstate_changes", json_integer((json_int_t)d->netstate_changes));
	return o;
}

/* ---- explain ----------------------------------------------------------------------------- */

int daemon_parse_tuple(int argc, char **argv, struct plan_query *q, char *err, size_t errlen)
{
	struct plan_tuple *t = &q->t;
	char *end;
	unsigned long p;

	memset(q, 0, sizeof(*q));
	if (argc != 2 && argc != 3 && argc != 5) {
		snprintf(err, errlen, "expected SADDR DADDR [PROTO [SPORT DPORT]]");
		return -EINVAL;
	}
	if (inet_pton(AF_INET, argv[0], &t->saddr) == 1 &&
	    inet_pton(AF_INET, argv[1], &t->daddr) == 1)
		t->family = AF_INET;
	else if (inet_pton(AF_INET6, argv[0], &t->saddr) == 1 &&
	         inet_pton(AF_INET6, argv[1], &t->daddr) == 1)
		t->family = AF_INET6;
	else {
		snprintf(err, errlen, "\"%s\" and \"%s\": two addresses of one family", argv[0],
		         argv[1]);
		return -EINVAL;
	}
	if (argc == 2)
		return 0;
	if (!strcmp(argv[2], "tcp"))
		t->proto = IPPROTO_TCP;
	else if (!strcmp(argv[2], "udp"))
		t->proto = IPPROTO_UDP;
	else {
		snprintf(err, errlen, "protocol \"%s\": tcp or udp", argv[2]);
		return -EINVAL;
	}
	for (int i = 3; i < argc; i++) {
		errno = 0;
		p = strtoul(argv[i], &end, 10);
		if (errno || *end || end == argv[i] || p > 65535 || argv[i][0] == '-') {
			snprintf(err, errlen, "port \"%s\": 0 to 65535", argv[i]);
			return -EINVAL;
		}
		if (i == 3)
			t->sport = (uint16_t)p;
		else
			t->dport = (uint16_t)p;
	}
	q->has_ports = argc == 5;
	return 0;
}

static void tuple_of(const struct flow_tuple *f, struct plan_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->family = f->family;
	t->proto = f->proto;
	t->saddr = f->src;
	t->daddr = f->dst;
	t->sport = f->sport;
	t->dport = f->dport;
}

/* Connections of the conntrack table a query without ports (or protocol) asks about. */
struct ct_matches {
	const struct plan_query *q;
	struct ct_event ev[EXPLAIN_CONNS];
	size_t n, more;
};

static int ct_match_cb(void *ctx, const struct ct_event *ev)
{
	struct ct_matches *m = ctx;
	struct plan_tuple o, r;

	tuple_of(&ev->conn.orig, &o);
	tuple_of(&ev->conn.reply, &r);
	if (!plan_query_match(m->q, &o) && !plan_query_match(m->q, &r))
		return 0;
	if (m->n < EXPLAIN_CONNS)
		m->ev[m->n++] = *ev;
	else
		m->more++;
	return 0;
}

/* The ct strategy for a query without ports: each matching connection of the conntrack table
 * explained on its own. Returns 1 when any is offloaded, 0, or -ENOENT when none is seen. */
static int explain_ct_conns(struct daemon *d, const struct plan_query *q, char *buf, size_t len)
{
	struct ct_matches *m = calloc(1, sizeof(*m));
	struct ct_handler hd = {.fn = ct_match_cb, .ctx = m};
	struct nfct_handle *h;
	size_t at = 0;
	int rc, best = -ENOENT;

	if (!m)
		return -ENOMEM;
	m->q = q;
	h = nfct_open(CONNTRACK, 0);
	rc = h ? ct_dump(h, &hd) : -errno;
	if (h)
		nfct_close(h);
	if (rc) {
		snprintf(buf, len, "cannot read the conntrack table: %s\n", strerror(-rc));
		free(m);
		return rc;
	}
	for (size_t i = 0; i < m->n && at + 1 < len; i++) {
		struct plan_tuple t;
		char line[512];
		int r;

		tuple_of(&m->ev[i].conn.orig, &t);
		ct_event_format(&m->ev[i], line, sizeof(line));
		/* a dump entry formats as an UPDATE event: drop the event type */
		at += (size_t)snprintf(buf + at, len - at, "connection %s\n",
		                       strncmp(line, "UPDATE ", 7) ? line : line + 7);
		if (at >= len)
			break;
		r = ctrt_explain(d->ct, &t, 0, buf + at, len - at);
		at = strlen(buf);
		if (r == 1 || (r == 0 && best != 1))
			best = r;
	}
	if (m->more && at + 1 < len)
		snprintf(buf + at, len - at,
		         "(%zu more connections not shown: give PROTO SPORT DPORT)\n", m->more);
	free(m);
	return best;
}

static json_t *explain_json(struct daemon *d, int argc, char **argv, char *err, size_t errlen)
{
	struct plan_query q;
	char *buf, query[256];
	json_t *o;
	int ct = -ENOENT, fl = -ENOENT;
	size_t at = 0;

	if (daemon_parse_tuple(argc, argv, &q, err, errlen))
		return NULL;
	buf = calloc(1, EXPLAIN_BUF);
	if (!buf)
		return NULL;
	plan_query_format(&q, query, sizeof(query));
	if (d->ct) {
		if (q.has_ports)
			ct = ctrt_explain(d->ct, &q.t, 0, buf, EXPLAIN_BUF);
		else
			ct = explain_ct_conns(d, &q, buf, EXPLAIN_BUF);
		if (ct < 0 && ct != -ENOENT)
			ct = -ENOENT; /* the text says why */
		at = strlen(buf);
	}
	if (d->flow) {
		fl = flowrt_explain(d->flow, &q, buf + at, EXPLAIN_BUF - at);
		if (fl == -ENOENT)
			buf[at] = '\0';
	}
	if (!buf[0])
		snprintf(buf, EXPLAIN_BUF, "not offloaded: no flowtable of ours sees %s (%s)\n",
		         query,
		         d->ct ? "it does not enter through a device of a ct-strategy flowtable, "
		                 "and the flow runtime tracks no such connection"
		               : "the flow runtime tracks no such connection");
	o = json_pack("{s:s, s:b, s:s, s:s}", "query", query, "offloaded", ct == 1 || fl == 0,
	              "strategy",
	              ct == 1   ? "ct"
	              : fl == 0 ? "flow"
	                        : "none",
	              "text", buf);
	free(buf);
	return o;
}

/* ---- rules ------------------------------------------------------------------------------- */

struct rules_ctx {
	json_t *arr;
	size_t n_theirs;
};

static int rules_cb(void *ctx, const struct tc_rule *r)
{
	struct rules_ctx *c = ctx;
	char line[4096], dev[IFNAMSIZ];
	const struct tc_rule_state *st = &r->state;
	json_t *o;

	if (!nto_cookie_is_ours(r)) {
		c->n_theirs++;
		return 0;
	}
	if (tc_print(r, TC_MSG_NEW, NULL, NULL, line, sizeof(line)) < 0)
		snprintf(line, sizeof(line), "(cannot print)");
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "dev",
	              if_indextoname(r->id.ifindex, dev) ? dev : "?", "hook",
	              r->id.hook == TC_HOOK_EGRESS ? "egress" : "ingress", "chain",
	              (json_int_t)r->id.chain, "pref", (json_int_t)r->id.prio, "handle",
	              (json_int_t)r->id.handle, "tc", line);
	json_object_set_new(o, "packets", json_integer((json_int_t)st->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new(o, "hw_packets", json_integer((json_int_t)st->hw_packets));
	json_object_set_new(o, "hw_bytes", json_integer((json_int_t)st->hw_bytes));
	json_object_set_new(o, "lastused_ms", json_integer((json_int_t)st->lastused_ms));
	json_object_set_new(o, "in_hw", json_boolean(st->in_hw));
	json_object_set_new(o, "in_hw_count", json_integer((json_int_t)st->in_hw_count));
	json_object_set_new(o, "not_in_hw", json_boolean(st->not_in_hw));
	json_array_append_new(c->arr, o);
	return 0;
}

static bool seen_before(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Our rules (by cookie) on every present device of the plan's flowtables, from a dump. */
static json_t *rules_json(struct daemon *d, char *err, size_t errlen)
{
	const struct plan *p = d->gen->plan;
	struct rules_ctx c = {.arr = json_array()};
	struct nlc_tc_dump_cb cb = {.rule = rules_cb, .ctx = &c};
	json_t *devs = json_array(), *o;
	uint32_t seen[CONFIG_MAX_DEVICES * 4];
	size_t n_seen = 0;

	for (size_t f = 0; p && f < p->n_flowtables; f++) {
		const struct plan_flowtable *pf = &p->flowtables[f];

		for (size_t i = 0; i < pf->n_devices; i++) {
			const struct plan_device *pd = &pf->devices[i];
			struct nlc_extack ext = {0};
			int rc;

			if (!pd->present || !pd->ifindex ||
			    seen_before(seen, n_seen, pd->ifindex) ||
			    n_seen == sizeof(seen) / sizeof(seen[0]))
				continue;
			seen[n_seen++] = pd->ifindex;
			json_array_append_new(devs, json_string(pd->name));
			rc = nlc_tc_dump(d->rtnl, pd->ifindex, &cb, NULL, &ext);
			if (rc && rc != -ENOENT && rc != -EINVAL) {
				snprintf(err, errlen, "dump of %s: %s%s%s", pd->name, strerror(-rc),
				         ext.msg[0] ? ": " : "", ext.msg);
				json_decref(c.arr);
				json_decref(devs);
				return NULL;
			}
		}
	}
	o = json_pack("{s:o, s:o, s:I}", "devices", devs, "rules", c.arr, "others",
	              (json_int_t)c.n_theirs);
	return o;
}

/* ---- metrics ----------------------------------------------------------------------------- */

struct prom {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void prom_put(struct prom *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void prom_put(struct prom *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(m->buf + m->len, m->cap - m->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			m->oom = true;
			return;
		}
		if (m->len + (size_t)n < m->cap) {
			m->len += (size_t)n;
			return;
		}
		{
			size_t cap = (m->cap + (size_t)n + 1) * 2;
			char *b = realloc(m->buf, cap);

			if (!b) {
				m->oom = true;
				return;
			}
			m->buf = b;
			m->cap = cap;
		}
	}
}

/* One metric family: HELP and TYPE lines. */
static void prom_family(struct prom *m, const char *name, const char *type, const char *help)
{
	prom_put(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped as the exposition format wants. */
static const char *prom_label(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; s && *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			buf[o++] = '\\';
			buf[o++] = *s == '\n' ? 'n' : *s;
		} else
			buf[o++] = *s;
	}
	buf[o] = '\0';
	return buf;
}

static json_int_t jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* A counter or gauge without labels, from a status number. */
static void prom_one(struct prom *m, const char *name, const char *type, const char *help,
                     json_int_t v)
{
	prom_family(m, name, type, help);
	prom_put(m, "%s %lld\n", name, (long long)v);
}

static void metrics_flowtables(struct prom *m, json_t *fts)
{
	size_t i, j;
	json_t *ft, *dev;
	char a[128], b[128], c[128], e[128];

	prom_family(m, "nto_flowtable_info", "gauge",
	            "Flowtables the daemon serves: 1 per flowtable, its strategy as a label; "
	            "refused=1 when it is not offloaded at all");
	json_array_foreach(fts, i, ft)
	{
		prom_put(
		    m,
		    "nto_flowtable_info{family=\"%s\",table=\"%s\",flowtable=\"%s\","
		    "strategy=\"%s\",refused=\"%d\"} 1\n",
		    prom_label(json_string_value(json_object_get(ft, "family")), a, sizeof(a)),
		    prom_label(json_string_value(json_object_get(ft, "table")), b, sizeof(b)),
		    prom_label(json_string_value(json_object_get(ft, "name")), c, sizeof(c)),
		    prom_label(json_string_value(json_object_get(ft, "strategy")), e, sizeof(e)),
		    json_is_string(json_object_get(ft, "reason")));
	}
	prom_family(m, "nto_device_info", "gauge",
	            "Flowtable devices: 1 per device, with its profile and whether it is present");
	json_array_foreach(fts, i, ft)
	{
		json_array_foreach(json_object_get(ft, "devices"), j, dev)
		{
			const char *prof = json_string_value(json_object_get(dev, "profile"));

			prom_put(m,
			         "nto_device_info{flowtable=\"%s\",device=\"%s\",profile=\"%s\","
			         "strategy=\"%s\",present=\"%d\"} 1\n",
			         prom_label(json_string_value(json_object_get(ft, "name")), a,
			                    sizeof(a)),
			         prom_label(json_string_value(json_object_get(dev, "name")), b,
			                    sizeof(b)),
			         prom_label(prof ? prof : "", c, sizeof(c)),
			         prom_label(json_string_value(json_object_get(dev, "strategy")), e,
			                    sizeof(e)),
			         json_is_true(json_object_get(dev, "present")));
		}
	}
}

static void metrics_flow(struct prom *m, json_t *fl)
{
	const char *key;
	json_t *v, *nl = json_object_get(fl, "netlink"), *ct = json_object_get(fl, "conntrack");
	char a[128];

	prom_family(m, "nto_flow_connections", "gauge",
	            "Connections the flow strategy tracks, by state");
	prom_put(m, "nto_flow_connections{state=\"offloaded\"} %lld\n",
	         (long long)jint(fl, "offloaded"));
	prom_put(m, "nto_flow_connections{state=\"software\"} %lld\n",
	         (long long)jint(fl, "in_software"));
	prom_family(m, "nto_flow_software_connections", "gauge",
	            "Tracked connections that stay in software, by reason");
	json_object_foreach(json_object_get(fl, "in_software_by_reason"), key, v)
	    prom_put(m, "nto_flow_software_connections{reason=\"%s\"} %lld\n",
	             prom_label(key, a, sizeof(a)), (long long)json_integer_value(v));
	if (json_is_integer(json_object_get(fl, "capacity")))
		prom_one(m, "nto_flow_capacity", "gauge",
		         "Connections the profile lets the hardware hold", jint(fl, "capacity"));
	prom_one(m, "nto_flow_carried_packets_total", "counter",
	         "Packets our per-connection rules carried (closed and live connections)",
	         jint(fl, "carried_packets"));
	prom_one(m, "nto_flow_stats_polls_total", "counter", "Rule statistics polls",
	         jint(fl, "polls"));
	if (json_is_object(json_object_get(fl, "install_latency"))) {
		json_t *lat = json_object_get(fl, "install_latency");

		prom_family(
		    m, "nto_flow_install_latency_seconds", "gauge",
		    "Conntrack event read to both rules acknowledged, over the last installs");
		prom_put(m, "nto_flow_install_latency_seconds{quantile=\"0.5\"} %.6f\n",
		         (double)jint(lat, "p50_us") / 1e6);
		prom_put(m, "nto_flow_install_latency_seconds{quantile=\"0.99\"} %.6f\n",
		         (double)jint(lat, "p99_us") / 1e6);
	}
	if (json_is_object(nl)) {
		prom_one(m, "nto_flow_install_errors_total", "counter",
		         "Rules the kernel refused to install", jint(nl, "install_errors"));
		prom_one(m, "nto_flow_delete_errors_total", "counter",
		         "Rule deletions the kernel refused", jint(nl, "delete_errors"));
		prom_one(m, "nto_flow_netlink_batches_total", "counter", "tc batches sent",
		         jint(nl, "batches"));
	}
	if (json_is_object(ct)) {
		prom_one(m, "nto_conntrack_events_total", "counter", "Conntrack events received",
		         jint(ct, "events"));
		prom_one(m, "nto_conntrack_resyncs_total", "counter",
		         "Full conntrack dumps after event losses", jint(ct, "resyncs"));
		prom_one(m, "nto_conntrack_timeout_refreshes_total", "counter",
		         "Conntrack timeouts refreshed for connections carried by tc",
		         jint(ct, "refresh_ok"));
	}
}

/* Prometheus text exposition (version 0.0.4) of the status numbers. */
static json_t *metrics_json(struct daemon *d)
{
	json_t *st = status_json(d), *src = json_object_get(st, "sources"),
	       *ovr = json_object_get(st, "overruns"), *ct = json_object_get(st, "ct"),
	       *fl = json_object_get(st, "flow"), *o;
	struct prom m = {0};

	prom_one(&m, "nto_up", "gauge", "1 while the daemon runs", 1);
	prom_family(&m, "nto_build_info", "gauge", "The daemon's version");
	prom_put(&m, "nto_build_info{version=\"%s\"} 1\n", NTO_VERSION);
	prom_one(&m, "nto_uptime_seconds", "gauge", "Seconds since the daemon started",
	         jint(st, "uptime_s"));
	prom_one(&m, "nto_reloads_total", "counter", "Configuration reloads (SIGHUP)",
	         jint(st, "reloads"));
	prom_one(&m, "nto_reload_failures_total", "counter",
	         "Reloads refused (the old configuration kept)", jint(st, "reload_failures"));
	prom_one(&m, "nto_replans_total", "counter", "Re-plans after nftables or link changes",
	         jint(src, "replans"));
	prom_one(&m, "nto_replan_failures_total", "counter", "Re-plans that failed",
	         jint(src, "replan_failures"));
	prom_family(&m, "nto_netlink_overruns_total", "counter",
	            "Netlink receive overruns (ENOBUFS), by socket");
	prom_put(&m, "nto_netlink_overruns_total{socket=\"rtnl\"} %lld\n",
	         (long long)jint(ovr, "rtnl"));
	prom_put(&m, "nto_netlink_overruns_total{socket=\"netstate\"} %lld\n",
	         (long long)jint(ovr, "netstate"));
	prom_put(&m, "nto_netlink_overruns_total{socket=\"nft_monitor\"} %lld\n",
	         (long long)jint(ovr, "nft_monitor"));
	if (json_is_object(fl))
		prom_put(&m, "nto_netlink_overruns_total{socket=\"conntrack\"} %lld\n",
		         (long long)jint(json_object_get(fl, "conntrack"), "overruns"));
	prom_one(&m, "nto_resyncs_total", "counter", "Coalesced resyncs after overruns",
	         jint(ovr, "resyncs"));
	metrics_flowtables(&m, json_object_get(st, "flowtables"));
	if (json_is_object(ct)) {
		prom_family(&m, "nto_ct_rules", "gauge", "ct strategy rules installed, by chain");
		prom_put(&m, "nto_ct_rules{chain=\"0\"} %lld\n",
		         (long long)jint(ct, "rules_chain0"));
		prom_put(&m, "nto_ct_rules{chain=\"1\"} %lld\n",
		         (long long)jint(ct, "rules_chain1"));
		prom_one(&m, "nto_ct_syncs_total", "counter", "ct strategy rule syncs",
		         jint(ct, "syncs"));
		prom_one(&m, "nto_ct_sync_errors_total", "counter", "ct strategy syncs that failed",
		         jint(ct, "sync_errors"));
	}
	if (json_is_object(fl))
		metrics_flow(&m, fl);
	json_decref(st);
	if (m.oom) {
		free(m.buf);
		return NULL;
	}
	o = json_pack("{s:s}", "text", m.buf ? m.buf : "");
	free(m.buf);
	return o;
}

/* ---- the handler ------------------------------------------------------------------------- */

json_t *daemon_ctl_handler(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	struct daemon *d = ctx;

	if (!strcmp(argv[0], "status") && argc == 1)
		return status_json(d);
	if (!strcmp(argv[0], "flows") && argc == 1) {
		json_t *o = json_object();
		bool has_ct = false;

		for (size_t f = 0; d->gen->plan && f < d->gen->plan->n_flowtables; f++)
			has_ct |= d->gen->plan->flowtables[f].strategy == PROFILE_STRATEGY_CT;
		if (has_ct)
			json_object_set_new(
			    o, "ct",
			    json_string("ct strategy: act_ct keeps its own connection "
			                "table in the kernel (conntrack -L shows the "
			                "connections; `rules` shows chain 1's "
			                "counters)"));
		json_object_set_new(o, "flows",
		                    d->flow ? flowrt_flows_json(d->flow) : json_array());
		return o;
	}
	if (!strcmp(argv[0], "explain"))
		return explain_json(d, argc - 1, argv + 1, err, errlen);
	if (!strcmp(argv[0], "rules") && argc == 1)
		return rules_json(d, err, errlen);
	if (!strcmp(argv[0], "metrics") && argc == 1)
		return metrics_json(d);
	if (!strcmp(argv[0], "ping") && argc == 1)
		return json_object();
	snprintf(err, errlen,
	         "unknown request \"%s\" (status, flows, explain, rules, metrics, ping)", argv[0]);
	return NULL;
}
