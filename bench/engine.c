/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_engine: the flow strategy's conntrack engine on one core, no kernel.
 *
 * Synthetic masqueraded IPv4 TCP connections go through their life as conntrack reports it:
 * NEW (SYN_SENT, unreplied: a candidate), UPDATE (ESTABLISHED, ASSURED: both rules built,
 * checked against the generic-flow profile and handed to the sink) and DESTROY (both rules
 * deleted). The sink encodes every rule with tc_encode (replace with NLM_F_ECHO, or delete)
 * into a scratch buffer and drops it: everything the daemon does per event except the socket.
 * The eligibility constraints come from a real plan (an nft text, planned with the
 * generic-flow profile); the path resolver is a constant-time fake (two devices).
 *
 * For each table size (10k, 100k, 1M flows) all flows get NEW, then all UPDATE, then all
 * DESTROY, so the table peaks at that size; small sizes repeat the cycle to reach about
 * 3,000,000 events per measurement. The baseline, run the same way right after, is the floor
 * of any engine: the same event generator plus an open-addressing hash table of the same keys
 * (insert on NEW, lookup on UPDATE, delete on DESTROY). Every figure is the median of
 * --reps repetitions (sizes and engine/floor interleaved), in CPU time of the process (the
 * machine is shared; CPU time does not count time spent waiting for a core).
 *
 * Memory: first thing in the process, 1,000,000 flows are filled in (NEW then UPDATE) and the
 * resident set (/proc/self/statm) before and after is divided by the flow count; ct_table_bytes
 * is reported next to it.
 *
 *   bench_engine [--reps N] [--max-flows N] [--events N]
 *
 * Last line: RESULT engine_events_per_s <events/s at the largest size> events/s
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"
#include "nft-tc-offload/conntrack.h"
#include "nft-tc-offload/install.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

#define IF_LAN 2
#define IF_WAN 3

static const char plan_text[] = "table inet filter {\n"
                                "    flowtable ft {\n"
                                "        hook ingress priority 0; devices = { lan0, wan0 };\n"
                                "    }\n"
                                "    chain forward {\n"
                                "        type filter hook forward priority 0; policy accept;\n"
                                "        tcp dport 22 accept\n"
                                "        meta l4proto { tcp, udp } flow add @ft\n"
                                "    }\n"
                                "}\n";

struct setup {
	struct nft_ruleset *rs;
	struct profile_set ps;
	struct plan *plan;
	struct ct_elig_rule rules[8];
	size_t n_rules;
	const struct profile *profile;
};

struct sink_ctx {
	uint8_t buf[8192];
	uint64_t bytes, msgs, errors;
};

static int resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	(void)ctx;
	memset(info, 0, sizeof(*info));
	if (strcmp(ifname, "lan0") == 0)
		info->ifindex = IF_LAN;
	else if (strcmp(ifname, "wan0") == 0)
		info->ifindex = IF_WAN;
	else
		return -ENODEV;
	info->present = true;
	snprintf(info->driver, sizeof(info->driver), "veth");
	return 0;
}

static int setup_init(struct setup *s)
{
	struct nft_error nerr;
	struct plan_opts po;
	char err[512];

	memset(s, 0, sizeof(*s));
	memset(&nerr, 0, sizeof(nerr));
	if (nft_parse_buffer(plan_text, strlen(plan_text), "bench.nft", &s->rs, &nerr)) {
		fprintf(stderr, "%s", nerr.formatted ? nerr.formatted : "nft parse error\n");
		return -1;
	}
	profile_set_init(&s->ps);
	if (profile_set_load_builtin(&s->ps, err, sizeof(err))) {
		fprintf(stderr, "profiles: %s\n", err);
		return -1;
	}
	plan_opts_init(&po);
	po.profiles = &s->ps;
	po.force_profile = "generic-flow";
	po.resolve = resolve;
	if (plan_build(s->rs, &po, &s->plan, err, sizeof(err))) {
		fprintf(stderr, "plan: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < s->plan->n_flowtables; i++)
		if (s->plan->flowtables[i].strategy == PROFILE_STRATEGY_FLOW)
			s->n_rules = ct_elig_rules_from_plan(&s->plan->flowtables[i], s->rules, 8);
	s->profile = profile_set_find(&s->ps, "generic-flow");
	if (!s->n_rules || !s->profile) {
		fprintf(stderr, "plan: no flow-strategy `flow add` rule\n");
		return -1;
	}
	return 0;
}

static void setup_free(struct setup *s)
{
	plan_free(s->plan);
	nft_ruleset_free(s->rs);
	profile_set_free(&s->ps);
}

/* Clients 10.1.0.0/16 behind lan0, servers 10.2.0.0/16 behind wan0 (masqueraded as
 * 10.2.255.254). Nothing else is reachable. */
static int fake_path(void *ctx, int family, const union tc_addr *src, const union tc_addr *dst,
                     struct flow_path *p, char *why, size_t len)
{
	static const uint8_t mac_lan[6] = {0x02, 0, 0, 0, 0, 0x01},
	                     mac_wan[6] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t peer_lan[6] = {0x02, 0, 0, 0, 1, 0x01},
	                     peer_wan[6] = {0x02, 0, 0, 0, 1, 0x02};
	uint32_t s = ntohl(src->v4.s_addr) >> 16, d = ntohl(dst->v4.s_addr) >> 16;
	bool to_wan;

	(void)ctx;
	if (family != AF_INET || s == d || (s != 0x0a01 && s != 0x0a02) ||
	    (d != 0x0a01 && d != 0x0a02)) {
		snprintf(why, len, "no route");
		return -EHOSTUNREACH;
	}
	to_wan = d == 0x0a02;
	memset(p, 0, sizeof(*p));
	p->in_ifindex = to_wan ? IF_LAN : IF_WAN;
	snprintf(p->in_ifname, sizeof(p->in_ifname), "%s", to_wan ? "lan0" : "wan0");
	p->out_ifindex = to_wan ? IF_WAN : IF_LAN;
	snprintf(p->out_ifname, sizeof(p->out_ifname), "%s", to_wan ? "wan0" : "lan0");
	memcpy(p->src_mac, to_wan ? mac_wan : mac_lan, 6);
	memcpy(p->dst_mac, to_wan ? peer_wan : peer_lan, 6);
	return 0;
}

static int encode_sink(void *ctx, const struct ct_op *op)
{
	struct sink_ctx *c = ctx;

	for (int d = 0; d < 2; d++) {
		int n = op->kind == CT_OP_INSTALL
		            ? tc_encode(&op->rules[d], TC_MSG_REPLACE, NLM_F_ECHO,
		                        (uint32_t)c->msgs, c->buf, sizeof(c->buf), NULL, 0)
		            : tc_encode(&op->rules[d], TC_MSG_DELETE, 0, (uint32_t)c->msgs, c->buf,
		                        sizeof(c->buf), NULL, 0);

		if (n <= 0) {
			c->errors++;
			continue;
		}
		c->bytes += (uint64_t)n;
		c->msgs++;
	}
	return 0;
}

/* Connection i: client 10.1.x.y:sport -> server 10.2.a.b:443, masqueraded to 10.2.255.254
 * with a unique NAT port per server address. Unique original and reply tuples for i < 2^32. */
static void gen_event(uint32_t i, enum ct_event_type type, struct ct_event *ev)
{
	struct flow_conn *c = &ev->conn;
	uint32_t client = 0x0a010000u | (((i / 50000u) & 0xffffu) + 1u);
	uint32_t server = 0x0a020000u | ((i % 4000u) + 1u);
	uint16_t sport = (uint16_t)(10000u + i % 50000u);
	uint16_t natport = (uint16_t)(1024u + (i / 4000u) % 60000u);

	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->id = i + 1;
	c->orig.family = c->reply.family = AF_INET;
	c->orig.proto = c->reply.proto = IPPROTO_TCP;
	c->orig.src.v4.s_addr = htonl(client);
	c->orig.dst.v4.s_addr = htonl(server);
	c->orig.sport = sport;
	c->orig.dport = 443;
	c->reply.src.v4.s_addr = htonl(server);
	c->reply.dst.v4.s_addr = htonl(0x0a02fffeu);
	c->reply.sport = 443;
	c->reply.dport = natport;
	ev->has_tcp_state = true;
	switch (type) {
	case CT_EVENT_NEW:
		ev->tcp_state = CT_TCP_SYN_SENT;
		ev->status = CT_ST_CONFIRMED | CT_ST_SRC_NAT;
		ev->has_timeout = true;
		ev->timeout = 120;
		break;
	case CT_EVENT_UPDATE:
		ev->tcp_state = CT_TCP_ESTABLISHED;
		ev->status = CT_ST_CONFIRMED | CT_ST_SRC_NAT | CT_ST_SEEN_REPLY | CT_ST_ASSURED;
		ev->has_timeout = true;
		ev->timeout = 432000;
		break;
	case CT_EVENT_DESTROY:
		ev->tcp_state = CT_TCP_CLOSE;
		ev->status = CT_ST_CONFIRMED | CT_ST_SRC_NAT | CT_ST_SEEN_REPLY | CT_ST_ASSURED;
		break;
	}
}

/* ---- the floor: an open-addressing table of the same keys ------------------------------- */

struct floor_table {
	struct ct_key *keys; /* family 0 = empty */
	size_t mask, n;
};

static uint32_t floor_hash(const struct ct_key *k)
{
	uint64_t w[5], h = 0x9e3779b97f4a7c15ull;

	memcpy(w, k, sizeof(w));
	for (int i = 0; i < 5; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return (uint32_t)h;
}

static int floor_init(struct floor_table *t, size_t flows)
{
	size_t n = 16;

	while (n < flows * 2)
		n <<= 1;
	t->keys = calloc(n, sizeof(*t->keys));
	t->mask = n - 1;
	t->n = 0;
	return t->keys ? 0 : -1;
}

static size_t floor_probe(const struct floor_table *t, const struct ct_key *k, bool *found)
{
	size_t i = floor_hash(k) & t->mask;

	for (;; i = (i + 1) & t->mask) {
		if (!t->keys[i].family) {
			*found = false;
			return i;
		}
		if (memcmp(&t->keys[i], k, sizeof(*k)) == 0) {
			*found = true;
			return i;
		}
	}
}

/* Backward-shift deletion, as the engine's table does. */
static void floor_remove(struct floor_table *t, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & t->mask;
		if (!t->keys[j].family)
			break;
		home = floor_hash(&t->keys[j]) & t->mask;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->keys[i] = t->keys[j];
			i = j;
		}
	}
	memset(&t->keys[i], 0, sizeof(t->keys[i]));
	t->n--;
}

static uint64_t floor_event(struct floor_table *t, const struct ct_event *ev)
{
	struct ct_key k;
	bool found;
	size_t i;

	ct_key_from_conn(&ev->conn, &k);
	i = floor_probe(t, &k, &found);
	if (ev->type == CT_EVENT_NEW && !found) {
		t->keys[i] = k;
		t->n++;
	} else if (ev->type == CT_EVENT_DESTROY && found) {
		floor_remove(t, i);
	}
	return found;
}

/* ---- runs ----------------------------------------------------------------------------- */

struct run_result {
	double ns_per_event[4]; /* by event type; [0] = all */
	uint64_t events;
};

static struct ct_engine *new_engine(const struct setup *s, struct sink_ctx *sink)
{
	struct ct_engine_opts eo;

	ct_engine_opts_init(&eo);
	eo.rules = s->rules;
	eo.n_rules = s->n_rules;
	eo.profile = s->profile;
	eo.path = fake_path;
	eo.sink = encode_sink;
	eo.sink_ctx = sink;
	eo.rule.prio = 0x2000;
	eo.rule.ttl_dec = false;
	eo.rule.cookie_len = NTO_COOKIE_LEN;
	nto_cookie_make(eo.rule.cookie, 0x12345678u, 0);
	return ct_engine_new(&eo);
}

static int engine_run(const struct setup *s, size_t flows, unsigned cycles, struct run_result *r)
{
	struct sink_ctx *sink = calloc(1, sizeof(*sink));
	struct ct_engine *e = sink ? new_engine(s, sink) : NULL;
	uint64_t t[4] = {0};
	struct ct_event ev;

	if (!e) {
		free(sink);
		return -1;
	}
	for (unsigned c = 0; c < cycles; c++) {
		for (int type = CT_EVENT_NEW; type <= CT_EVENT_DESTROY; type++) {
			uint64_t t0 = bench_cpu_ns();

			for (uint32_t i = 0; i < flows; i++) {
				gen_event(i, (enum ct_event_type)type, &ev);
				if (ct_engine_event(e, &ev, c)) {
					fprintf(stderr, "engine: out of memory\n");
					ct_engine_free(e);
					free(sink);
					return -1;
				}
			}
			t[type] += bench_cpu_ns() - t0;
		}
		if (ct_table_count(ct_engine_table(e)) != 0)
			fprintf(stderr, "engine: %zu flows left after DESTROY\n",
			        ct_table_count(ct_engine_table(e)));
	}
	{
		const struct ct_engine_counters *ec = ct_engine_counters(e);

		if (ec->installs != (uint64_t)flows * cycles || sink->errors)
			fprintf(stderr,
			        "engine: %llu installs for %zu flows x %u, %llu encode errors\n",
			        (unsigned long long)ec->installs, flows, cycles,
			        (unsigned long long)sink->errors);
	}
	r->events = (uint64_t)flows * cycles * 3;
	for (int type = 1; type <= 3; type++)
		r->ns_per_event[type] = (double)t[type] / ((double)flows * cycles);
	r->ns_per_event[0] = (double)(t[1] + t[2] + t[3]) / (double)r->events;
	ct_engine_free(e);
	free(sink);
	return 0;
}

static int floor_run(size_t flows, unsigned cycles, struct run_result *r)
{
	struct floor_table ft;
	uint64_t t[4] = {0}, sum = 0;
	struct ct_event ev;

	if (floor_init(&ft, flows))
		return -1;
	for (unsigned c = 0; c < cycles; c++) {
		for (int type = CT_EVENT_NEW; type <= CT_EVENT_DESTROY; type++) {
			uint64_t t0 = bench_cpu_ns();

			for (uint32_t i = 0; i < flows; i++) {
				gen_event(i, (enum ct_event_type)type, &ev);
				sum += floor_event(&ft, &ev);
			}
			t[type] += bench_cpu_ns() - t0;
		}
	}
	if (ft.n || sum != (uint64_t)flows * cycles * 2)
		fprintf(stderr, "floor: table not consistent (%zu left, %llu found)\n", ft.n,
		        (unsigned long long)sum);
	r->events = (uint64_t)flows * cycles * 3;
	for (int type = 1; type <= 3; type++)
		r->ns_per_event[type] = (double)t[type] / ((double)flows * cycles);
	r->ns_per_event[0] = (double)(t[1] + t[2] + t[3]) / (double)r->events;
	free(ft.keys);
	return 0;
}

/* Memory per flow at `flows` flows, in a process that has allocated nothing big yet. */
static int memory_run(const struct setup *s, size_t flows)
{
	struct sink_ctx *sink = calloc(1, sizeof(*sink));
	struct ct_engine *e = sink ? new_engine(s, sink) : NULL;
	struct ct_event ev;
	size_t rss0, rss_new, rss_est, tbytes;

	if (!e) {
		free(sink);
		return -1;
	}
	rss0 = bench_rss_bytes();
	for (uint32_t i = 0; i < flows; i++) {
		gen_event(i, CT_EVENT_NEW, &ev);
		ct_engine_event(e, &ev, 0);
	}
	rss_new = bench_rss_bytes();
	for (uint32_t i = 0; i < flows; i++) {
		gen_event(i, CT_EVENT_UPDATE, &ev);
		ct_engine_event(e, &ev, 0);
	}
	rss_est = bench_rss_bytes();
	tbytes = ct_table_bytes(ct_engine_table(e));
	printf("memory: flows=%zu tracked=%zu offloaded=%llu rss_before=%zu rss_after_new=%zu "
	       "rss_after_established=%zu table_bytes=%zu\n",
	       flows, ct_table_count(ct_engine_table(e)),
	       (unsigned long long)ct_table_counters(ct_engine_table(e))->flows[CT_FLOW_OFFLOADED],
	       rss0, rss_new, rss_est, tbytes);
	printf("memory: rss_per_flow=%.1f B table_bytes_per_flow=%.1f B (goal <= 256)\n",
	       (double)((rss_est > rss_new ? rss_est : rss_new) - rss0) / (double)flows,
	       (double)tbytes / (double)flows);
	printf("RESULT engine_rss_per_flow %.1f B\n",
	       (double)((rss_est > rss_new ? rss_est : rss_new) - rss0) / (double)flows);
	ct_engine_free(e);
	free(sink);
	return 0;
}

#define MAX_REPS  15
#define MAX_SIZES 3

int main(int argc, char **argv)
{
	size_t sizes[MAX_SIZES] = {10000, 100000, 1000000};
	unsigned reps = 5;
	uint64_t target_events = 3000000;
	double eng[MAX_SIZES][4][MAX_REPS], flo[MAX_SIZES][4][MAX_REPS];
	double med_e[MAX_SIZES][4], med_f[MAX_SIZES][4];
	struct setup s;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--reps") == 0 && v) {
			reps = (unsigned)atoi(v);
			i++;
		} else if (strcmp(argv[i], "--max-flows") == 0 && v) {
			sizes[2] = (size_t)atol(v);
			i++;
		} else if (strcmp(argv[i], "--events") == 0 && v) {
			target_events = (uint64_t)atoll(v);
			i++;
		} else {
			fprintf(stderr,
			        "usage: bench_engine [--reps N] [--max-flows N] [--events N]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > MAX_REPS || sizes[2] < sizes[1]) {
		fprintf(stderr, "bench_engine: --reps 1..%d, --max-flows >= %zu\n", MAX_REPS,
		        sizes[1]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup_init(&s))
		return 1;
	if (memory_run(&s, sizes[2]))
		return 1;

	for (unsigned rep = 0; rep < reps; rep++) {
		for (int z = 0; z < MAX_SIZES; z++) {
			unsigned cycles = (unsigned)(target_events / 3 / sizes[z]);
			struct run_result re, rf;

			if (cycles < 1)
				cycles = 1;
			if (engine_run(&s, sizes[z], cycles, &re) ||
			    floor_run(sizes[z], cycles, &rf))
				return 1;
			printf("rep %u flows=%zu events=%llu engine_ns/event=%.1f (new %.1f update "
			       "%.1f destroy %.1f) floor_ns/event=%.1f\n",
			       rep + 1, sizes[z], (unsigned long long)re.events, re.ns_per_event[0],
			       re.ns_per_event[1], re.ns_per_event[2], re.ns_per_event[3],
			       rf.ns_per_event[0]);
			for (int k = 0; k < 4; k++) {
				eng[z][k][rep] = re.ns_per_event[k];
				flo[z][k][rep] = rf.ns_per_event[k];
			}
		}
	}
	for (int z = 0; z < MAX_SIZES; z++) {
		for (int k = 0; k < 4; k++) {
			med_e[z][k] = bench_median(eng[z][k], reps);
			med_f[z][k] = bench_median(flo[z][k], reps);
		}
		printf("median flows=%zu engine_ns/event=%.1f (new %.1f update %.1f destroy %.1f) "
		       "floor_ns/event=%.1f engine/floor=%.2f events/s=%.0f\n",
		       sizes[z], med_e[z][0], med_e[z][1], med_e[z][2], med_e[z][3], med_f[z][0],
		       med_e[z][0] / med_f[z][0], 1e9 / med_e[z][0]);
	}
	printf("RESULT engine_vs_floor_1m %.2f x\n", med_e[2][0] / med_f[2][0]);
	printf("RESULT engine_cost_1m_vs_10k %.2f x\n", med_e[2][0] / med_e[0][0]);
	printf("RESULT floor_cost_1m_vs_10k %.2f x\n", med_f[2][0] / med_f[0][0]);
	printf("RESULT engine_events_per_s %.0f events/s\n", 1e9 / med_e[2][0]);
	setup_free(&s);
	return 0;
}
