/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-connection eligibility for the flow strategy, in two parts:
 *  - the conntrack side, as the kernel's nft_flow_offload_eval() decides it: TCP established
 *    (or already in the kernel's flowtable: IPS_OFFLOAD, no TCP state), assured and not
 *    closing; UDP once the peer replied; nothing with a helper or seq-adjust; only TCP/UDP;
 *  - the nft side, from the plan: the `flow add` rule's zone, protocols, addresses, ports and
 *    ct mark (and, once the paths are known, its iif/oif matches), and none of its exclusions.
 *
 * The tuple the nft forward chain sees: DNAT happened before it (prerouting), SNAT happens
 * after it (postrouting). So the original direction crosses forward as
 * orig.src:orig.sport -> reply.src:reply.sport, and the reply direction as its mirror. The
 * plan's specs and exclusions are in those terms; mirrored exclusions (built by the planner
 * for the reply direction) are checked on the reply direction with its devices.
 *
 * Every refusal has a reason code and one line of text, free of per-connection addresses so
 * the engine can keep few distinct texts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nft-tc-offload/conntrack.h"

static bool refuse(struct ct_verdict *v, enum ct_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool refuse(struct ct_verdict *v, enum ct_reason r, const char *fmt, ...)
{
	va_list ap;

	v->reason = r;
	va_start(ap, fmt);
	vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
	return false;
}

/* refuse() for a text of three parts, without printf: the TCP state refusals come with every
 * NEW and most UPDATE events before a connection is established */
static bool refuse_cat(struct ct_verdict *v, enum ct_reason r, const char *a, const char *b,
                       const char *c)
{
	const char *parts[3] = {a, b, c};
	size_t at = 0;

	v->reason = r;
	for (int i = 0; i < 3; i++) {
		size_t n = strnlen(parts[i], sizeof(v->text) - 1 - at);

		memcpy(v->text + at, parts[i], n);
		at += n;
	}
	v->text[at] = '\0';
	return false;
}

static bool accept_conn(struct ct_verdict *v)
{
	v->reason = CT_R_NONE;
	v->text[0] = '\0';
	return true;
}

bool ct_elig_conn(const struct ct_event *ev, struct ct_verdict *v)
{
	const struct flow_tuple *o = &ev->conn.orig;

	if (o->family != AF_INET && o->family != AF_INET6)
		return refuse(v, CT_R_FAMILY, "address family %d: only IPv4 and IPv6 are offloaded",
		              o->family);
	if (o->proto != IPPROTO_TCP && o->proto != IPPROTO_UDP)
		return refuse(v, CT_R_PROTO,
		              "protocol %u: only TCP and UDP connections are offloaded (as by the "
		              "kernel's flowtable)",
		              o->proto);
	if (ev->status & CT_ST_HELPER)
		return refuse(v, CT_R_HELPER,
		              "helper %s attached: its packets must reach the helper in the stack",
		              ev->helper[0] ? ev->helper : "(unnamed)");
	if (ev->status & CT_ST_SEQ_ADJUST)
		return refuse(
		    v, CT_R_SEQ_ADJUST,
		    "sequence numbers adjusted (seq-adjust): every packet needs the stack");
	if (o->proto == IPPROTO_UDP) {
		if (!(ev->status & (CT_ST_SEEN_REPLY | CT_ST_OFFLOAD)))
			return refuse(v, CT_R_UDP_UNREPLIED,
			              "udp without a reply yet: offloaded once the peer answers");
		return accept_conn(v);
	}
	/* TCP. The kernel's flowtable holds IPS_OFFLOAD entries with no TCP state: established. */
	if (ev->status & CT_ST_OFFLOAD)
		return accept_conn(v);
	if (!ev->has_tcp_state)
		return refuse(v, CT_R_TCP_STATE, "tcp state not reported: waiting for an update");
	switch (ev->tcp_state) {
	case CT_TCP_ESTABLISHED:
		break;
	case CT_TCP_FIN_WAIT:
	case CT_TCP_CLOSE_WAIT:
	case CT_TCP_LAST_ACK:
	case CT_TCP_TIME_WAIT:
	case CT_TCP_CLOSE:
		return refuse_cat(v, CT_R_TCP_CLOSING, "tcp state ",
		                  ct_tcp_state_name(ev->tcp_state),
		                  ": closing connections stay in software");
	default:
		return refuse_cat(v, CT_R_TCP_STATE, "tcp state ", ct_tcp_state_name(ev->tcp_state),
		                  ": not established yet");
	}
	if (!(ev->status & CT_ST_ASSURED))
		return refuse(v, CT_R_NOT_ASSURED,
		              "tcp established but not assured yet (only assured connections are "
		              "offloaded)");
	return accept_conn(v);
}

size_t ct_elig_rules_from_plan(const struct plan_flowtable *pf, struct ct_elig_rule *out,
                               size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < pf->n_offloads && n < max; i++) {
		const struct plan_offload *po = &pf->offloads[i];
		const struct nft_rule *r = po->src ? po->src->rule : NULL;
		bool zone_set = false;

		if (po->refused)
			continue;
		for (size_t m = 0; r && m < r->n_matches; m++)
			zone_set |= r->matches[m].key == NFT_MATCH_CT_ZONE;
		out[n++] =
		    (struct ct_elig_rule){.elig = &po->elig, .rule = r, .zone_set = zone_set};
	}
	return n;
}

/* "`TEXT` at FILE:LINE" of a rule, into buf (returned): formatted only for a refusal */
static const char *rule_where(const struct nft_rule *r, char *buf, size_t len)
{
	if (!r)
		snprintf(buf, len, "the `flow add` rule");
	else
		snprintf(buf, len, "`%s` at %s:%u", r->text ? r->text : "?",
		         r->loc.file ? r->loc.file : "ruleset", r->loc.line);
	return buf;
}

static bool mark_value_ok(const struct nft_value *v, uint32_t x)
{
	if (v->type == NFT_VALUE_RANGE)
		return x >= v->num && x <= v->num_hi;
	return x == v->num;
}

/* The ct mark match that fails, or NULL. */
static const struct nft_match *marks_fail(const struct plan_spec *s, uint32_t mark)
{
	for (size_t i = 0; i < s->n_ct_mark; i++) {
		const struct nft_match *m = s->ct_mark[i];
		uint32_t x = mark & m->mask;
		bool hit = false;

		for (size_t j = 0; j < m->n_values && !hit; j++)
			hit = mark_value_ok(&m->values[j], x);
		if (hit == m->negate)
			return m;
	}
	return NULL;
}

static void fwd_tuples(const struct flow_conn *c, struct plan_tuple *o, struct plan_tuple *r)
{
	*o = (struct plan_tuple){
	    .family = c->orig.family,
	    .proto = c->orig.proto,
	    .saddr = c->orig.src,
	    .daddr = c->reply.src,
	    .sport = c->orig.sport,
	    .dport = c->reply.sport,
	};
	*r = (struct plan_tuple){
	    .family = c->orig.family,
	    .proto = c->orig.proto,
	    .saddr = c->reply.src,
	    .daddr = c->orig.src,
	    .sport = c->reply.sport,
	    .dport = c->orig.sport,
	};
}

/* Whether exclusion x takes the connection (paths NULL: those with interface matches are
 * left for the call with paths). */
static bool excluded_by(const struct plan_exclusion *x, const struct plan_tuple *fo,
                        const struct plan_tuple *fr, const struct flow_conn *c,
                        const struct flow_path *paths)
{
	const struct plan_spec *s = &x->match;
	const struct flow_path *p =
	    paths ? &paths[x->mirrored ? FLOW_DIR_REPLY : FLOW_DIR_ORIG] : NULL;

	if (!plan_spec_match_tuple(s, x->mirrored ? fr : fo))
		return false;
	if (marks_fail(s, c->mark))
		return false;
	if (s->n_iif || s->n_oif) {
		if (!p)
			return false;
		if (!plan_spec_iif_ok(s, p->in_ifname) || !plan_spec_oif_ok(s, p->out_ifname))
			return false;
	}
	return true;
}

static bool rule_ok(const struct ct_elig_rule *er, const struct ct_event *ev,
                    const struct flow_path *paths, struct ct_verdict *v)
{
	const struct plan_eligibility *el = er->elig;
	const struct flow_conn *c = &ev->conn;
	const struct nft_match *m;
	struct plan_tuple fo, fr;
	char where[200], xw[200];

#define WHERE rule_where(er->rule, where, sizeof(where))
	if (er->zone_set && c->zone != el->zone)
		return refuse(v, CT_R_ZONE, "conntrack zone %u: %s matches ct zone %u", c->zone,
		              WHERE, el->zone);
	fwd_tuples(c, &fo, &fr);
	if (!plan_spec_match_tuple(&el->match, &fo))
		return refuse(v, CT_R_SPEC,
		              "its original direction (protocol, addresses, ports) is outside %s",
		              WHERE);
	m = marks_fail(&el->match, c->mark);
	if (m)
		return refuse(v, CT_R_MARK, "ct mark 0x%x fails `%s` of %s", c->mark,
		              m->text ? m->text : "ct mark", WHERE);
	if (paths) {
		if (!plan_spec_iif_ok(&el->match, paths[FLOW_DIR_ORIG].in_ifname))
			return refuse(v, CT_R_IIF, "enters on %s: the iif matches of %s exclude it",
			              paths[FLOW_DIR_ORIG].in_ifname, WHERE);
		if (!plan_spec_oif_ok(&el->match, paths[FLOW_DIR_ORIG].out_ifname))
			return refuse(v, CT_R_OIF, "leaves on %s: the oif matches of %s exclude it",
			              paths[FLOW_DIR_ORIG].out_ifname, WHERE);
	}
	for (size_t i = 0; i < el->n_exclusions; i++) {
		const struct plan_exclusion *x = &el->exclusions[i];

		if (!excluded_by(x, &fo, &fr, c, paths))
			continue;
		if (x->from_negation)
			return refuse(v, CT_R_EXCLUDED, "a negated match of %s excludes it%s",
			              WHERE, x->mirrored ? " (reply direction)" : "");
		return refuse(v, CT_R_EXCLUDED, "matched exclusion %s%s",
		              rule_where(x->rule, xw, sizeof(xw)),
		              x->mirrored ? " (reply direction)" : "");
	}
	return accept_conn(v);
#undef WHERE
}

bool ct_elig_rules(const struct ct_elig_rule *rules, size_t n, const struct ct_event *ev,
                   const struct flow_path *paths, struct ct_verdict *v)
{
	struct ct_verdict first = {.reason = CT_R_NONE};

	if (n == 0)
		return refuse(v, CT_R_NO_RULE, "no offloadable `flow add` rule for this flowtable");
	for (size_t i = 0; i < n; i++) {
		if (rule_ok(&rules[i], ev, paths, v))
			return true;
		if (i == 0)
			first = *v;
	}
	*v = first;
	return false;
}
