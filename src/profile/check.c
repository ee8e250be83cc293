/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whether a tc rule fits a profile. Like OVS's translation that consumes each mask bit it
 * handled, this collects every key and action the rule uses and names the first thing the
 * hardware cannot take, so a flow kept in software always has a reason.
 */
#include <linux/if_ether.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nft-tc-offload/profile.h"

#include "profile-private.h"

static bool refuse(const struct profile *p, char *reason, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool refuse(const struct profile *p, char *reason, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!reason || !len)
		return false;
	n = snprintf(reason, len, "profile %s: ", p->name);
	if (n < 0 || (size_t)n >= len)
		return false;
	va_start(ap, fmt);
	vsnprintf(reason + n, len - n, fmt, ap);
	va_end(ap);
	return false;
}

static bool nonzero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return true;
	return false;
}

/* The match keys a rule uses (enum profile_key bits). */
static uint32_t rule_keys(const struct tc_rule *r)
{
	const struct tc_flower_key *m = &r->flower.mask;
	uint32_t k = 0;

	if (m->indev[0])
		k |= PROFILE_KEY_INDEV;
	/* flower matches the filter's protocol as its eth_type key (rule.h) */
	if (m->eth_type || (r->id.protocol && r->id.protocol != ETH_P_ALL))
		k |= PROFILE_KEY_ETH_TYPE;
	if (nonzero(m->eth_dst, 6) || nonzero(m->eth_src, 6))
		k |= PROFILE_KEY_ETH_ADDRS;
	if (m->vlan_id || m->vlan_prio || m->vlan_eth_type)
		k |= PROFILE_KEY_VLAN;
	if (m->cvlan_id || m->cvlan_prio || m->cvlan_eth_type)
		k |= PROFILE_KEY_CVLAN;
	if (m->ip_proto)
		k |= PROFILE_KEY_IP_PROTO;
	if (nonzero(&m->src, sizeof(m->src)) || nonzero(&m->dst, sizeof(m->dst)))
		k |= tc_rule_family(r) == AF_INET6 ? PROFILE_KEY_IPV6 : PROFILE_KEY_IPV4;
	if (m->src_port || m->dst_port)
		k |= PROFILE_KEY_PORTS;
	if (m->tcp_flags)
		k |= PROFILE_KEY_TCP_FLAGS;
	if (m->ip_tos)
		k |= PROFILE_KEY_IP_TOS;
	if (m->ip_ttl)
		k |= PROFILE_KEY_IP_TTL;
	if (m->ct_state)
		k |= PROFILE_KEY_CT_STATE;
	if (m->ct_zone)
		k |= PROFILE_KEY_CT_ZONE;
	if (m->ct_mark)
		k |= PROFILE_KEY_CT_MARK;
	if (nonzero(m->ct_label, sizeof(m->ct_label)))
		k |= PROFILE_KEY_CT_LABEL;
	return k;
}

/* Appends the names of the bits of `bits` to buf, separated by ", ". */
static void bit_names(char *buf, size_t len, uint32_t bits, unsigned count,
                      const char *(*name)(uint32_t bit))
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < count && off < len; i++) {
		if (!(bits & (1u << i)))
			continue;
		int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", name(1u << i));

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static const char *key_name_u(uint32_t b)
{
	return profile_key_name((enum profile_key)b);
}

static uint32_t pedit_field_action(enum tc_pedit_field f)
{
	switch (f) {
	case TC_PEDIT_ETH_DST:
	case TC_PEDIT_ETH_SRC:
		return PROFILE_ACT_PEDIT_ETH;
	case TC_PEDIT_IP4_SRC:
	case TC_PEDIT_IP4_DST:
		return PROFILE_ACT_PEDIT_IP4;
	case TC_PEDIT_IP6_SRC:
	case TC_PEDIT_IP6_DST:
		return PROFILE_ACT_PEDIT_IP6;
	case TC_PEDIT_IP4_TTL:
	case TC_PEDIT_IP6_HOPLIMIT:
		return PROFILE_ACT_PEDIT_TTL;
	case TC_PEDIT_TCP_SPORT:
	case TC_PEDIT_TCP_DPORT:
	case TC_PEDIT_UDP_SPORT:
	case TC_PEDIT_UDP_DPORT:
		return PROFILE_ACT_PEDIT_PORTS;
	}
	return 0;
}

/* 32-bit pedit keys (flow_action mangle entries) one op takes. */
static unsigned pedit_field_words(enum tc_pedit_field f)
{
	switch (f) {
	case TC_PEDIT_ETH_DST: /* offsets 0 and 4 */
	case TC_PEDIT_ETH_SRC: /* offsets 4 and 8 */
		return 2;
	case TC_PEDIT_IP6_SRC:
	case TC_PEDIT_IP6_DST:
		return 4;
	default:
		return 1;
	}
}

unsigned profile_rule_hw_actions(const struct tc_rule *r)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->n_actions && i < TC_RULE_MAX_ACTIONS; i++) {
		const struct tc_action *a = &r->actions[i];

		if (a->kind == TC_ACTION_PEDIT) {
			for (unsigned j = 0; j < a->pedit.n_ops && j < TC_PEDIT_MAX_OPS; j++)
				n += pedit_field_words(a->pedit.ops[j].field);
		} else {
			n++;
		}
	}
	return n;
}

/* How the reason names an action the hardware lacks. */
static const char *action_phrase(uint32_t act)
{
	switch (act) {
	case PROFILE_ACT_CT:
		return "action ct (connection tracking)";
	case PROFILE_ACT_CT_NAT:
		return "action ct nat";
	case PROFILE_ACT_GACT:
		return "action gact (pass/drop)";
	case PROFILE_ACT_GOTO:
		return "goto chain";
	case PROFILE_ACT_MIRRED:
		return "action mirred (redirect/mirror)";
	case PROFILE_ACT_PEDIT_ETH:
		return "Ethernet address rewrite (pedit eth src/dst)";
	case PROFILE_ACT_PEDIT_IP4:
		return "IPv4 NAT (pedit ip src/dst)";
	case PROFILE_ACT_PEDIT_IP6:
		return "IPv6 NAT (pedit ip6 src/dst)";
	case PROFILE_ACT_PEDIT_PORTS:
		return "port NAT (pedit tcp/udp sport/dport)";
	case PROFILE_ACT_PEDIT_TTL:
		return "TTL / hop limit rewrite (pedit ip ttl, ip6 hoplimit)";
	case PROFILE_ACT_CSUM:
		return "action csum";
	case PROFILE_ACT_VLAN_PUSH:
		return "VLAN push";
	case PROFILE_ACT_VLAN_POP:
		return "VLAN pop";
	case PROFILE_ACT_PPPOE_PUSH:
		return "PPPoE push";
	}
	return "an unknown action";
}

static bool check_action_bit(const struct profile *p, uint32_t act, char *reason, size_t len)
{
	if (p->actions & act)
		return true;
	if ((act & (PROFILE_ACT_CT | PROFILE_ACT_CT_NAT)) && p->strategy == PROFILE_STRATEGY_FLOW)
		return refuse(p, reason, len,
		              "action %s is not used with strategy flow (connections are offloaded "
		              "as one rule per direction, without act_ct)",
		              act == PROFILE_ACT_CT ? "ct" : "ct nat");
	return refuse(p, reason, len, "%s is not supported by the hardware", action_phrase(act));
}

static bool check_zone(const struct profile *p, unsigned zone, const char *what, char *reason,
                       size_t len)
{
	if (!p->has_ct_zones)
		return refuse(p, reason, len, "%s: ct zones are not supported", what);
	if (zone < p->ct_zone_min || zone > p->ct_zone_max)
		return refuse(p, reason, len, "%s: ct zone %u is outside the supported range %u-%u",
		              what, zone, p->ct_zone_min, p->ct_zone_max);
	return true;
}

static bool check_actions(const struct profile *p, const struct tc_rule *r, char *reason,
                          size_t len)
{
	unsigned pushes = 0, hw;

	for (unsigned i = 0; i < r->n_actions && i < TC_RULE_MAX_ACTIONS; i++) {
		const struct tc_action *a = &r->actions[i];
		char what[32];

		if (a->verdict == TC_VERDICT_GOTO_CHAIN &&
		    !check_action_bit(p, PROFILE_ACT_GOTO, reason, len))
			return false;
		switch (a->kind) {
		case TC_ACTION_GACT:
			/* a bare "goto chain N" is a gact whose verdict is the goto */
			if (a->verdict != TC_VERDICT_GOTO_CHAIN &&
			    !check_action_bit(p, PROFILE_ACT_GACT, reason, len))
				return false;
			break;
		case TC_ACTION_MIRRED:
			if (!check_action_bit(p, PROFILE_ACT_MIRRED, reason, len))
				return false;
			break;
		case TC_ACTION_PEDIT:
			for (unsigned j = 0; j < a->pedit.n_ops && j < TC_PEDIT_MAX_OPS; j++) {
				uint32_t act = pedit_field_action(a->pedit.ops[j].field);

				if (!act)
					return refuse(p, reason, len,
					              "action %u: unknown pedit field %d", i + 1,
					              (int)a->pedit.ops[j].field);
				if (!check_action_bit(p, act, reason, len))
					return false;
			}
			break;
		case TC_ACTION_CSUM:
			if (!check_action_bit(p, PROFILE_ACT_CSUM, reason, len))
				return false;
			break;
		case TC_ACTION_VLAN:
			if (a->vlan.op == TC_VLAN_POP) {
				if (!check_action_bit(p, PROFILE_ACT_VLAN_POP, reason, len))
					return false;
				break;
			}
			if (a->vlan.op == TC_VLAN_MODIFY && !(p->actions & PROFILE_ACT_VLAN_POP &&
			                                      p->actions & PROFILE_ACT_VLAN_PUSH))
				return refuse(p, reason, len,
				              "VLAN modify needs both VLAN pop and push, which the "
				              "hardware lacks");
			if (a->vlan.op == TC_VLAN_PUSH) {
				uint32_t proto = a->vlan.proto == ETH_P_8021AD ? PROFILE_VLAN_8021AD
				                                               : PROFILE_VLAN_8021Q;

				if (!check_action_bit(p, PROFILE_ACT_VLAN_PUSH, reason, len))
					return false;
				if (!(p->vlan_protocols & proto))
					return refuse(p, reason, len,
					              "VLAN push of %s tags is not supported by "
					              "the hardware",
					              proto == PROFILE_VLAN_8021AD ? "802.1ad"
					                                           : "802.1Q");
				pushes++;
			}
			break;
		case TC_ACTION_CT:
			if (!check_action_bit(p, PROFILE_ACT_CT, reason, len))
				return false;
			if ((a->ct.flags & (TC_CT_NAT | TC_CT_NAT_SRC | TC_CT_NAT_DST)) &&
			    !check_action_bit(p, PROFILE_ACT_CT_NAT, reason, len))
				return false;
			snprintf(what, sizeof(what), "action %u", i + 1);
			if (!(a->ct.flags & TC_CT_CLEAR) &&
			    !check_zone(p, a->ct.zone, what, reason, len))
				return false;
			break;
		default:
			return refuse(p, reason, len, "action %u: unknown action kind %d", i + 1,
			              (int)a->kind);
		}
	}
	if (pushes > p->max_vlan_tags)
		return refuse(p, reason, len,
		              "the rule pushes %u VLAN tags, the hardware pushes at most %u",
		              pushes, p->max_vlan_tags);
	hw = profile_rule_hw_actions(r);
	if (hw > p->max_actions)
		return refuse(p, reason, len,
		              "the rule needs %u hardware actions (each 32-bit pedit word counts "
		              "once), the hardware takes at most %u",
		              hw, p->max_actions);
	return true;
}

static bool check_ct_state(const struct profile *p, const struct tc_rule *r, char *reason,
                           size_t len)
{
	uint16_t mask = r->flower.mask.ct_state, key = r->flower.key.ct_state;
	char bad[64];
	size_t off = 0;

	bad[0] = '\0';
	for (unsigned i = 0; i < 16; i++) {
		uint16_t bit = (uint16_t)(1u << i);
		const char *name;
		bool on, ok;

		if (!(mask & bit))
			continue;
		on = key & bit;
		name = profile_ct_flag_name(bit);
		ok = name && (on ? p->ct_state_set & bit : p->ct_state_clear & bit);
		if (!ok && off < sizeof(bad)) {
			int n = snprintf(bad + off, sizeof(bad) - off, "%s%c%s", off ? " " : "",
			                 on ? '+' : '-', name ? name : "?");

			if (n > 0)
				off += (size_t)n;
		}
	}
	if (bad[0])
		return refuse(p, reason, len,
		              "match on ct_state %s is not supported by the hardware", bad);
	return true;
}

bool profile_check_rule(const struct profile *p, const struct tc_rule *r, char *reason, size_t len)
{
	uint32_t keys, missing;
	char names[256];

	if (reason && len)
		reason[0] = '\0';
	if (!(p->hooks & (1u << r->id.hook)))
		return refuse(p, reason, len, "tc %s hook is not supported by the hardware",
		              r->id.hook == TC_HOOK_EGRESS ? "egress" : "ingress");
	if (r->flower.skip_sw && !p->skip_sw)
		return refuse(p, reason, len, "%s",
		              p->strategy == PROFILE_STRATEGY_CT
		                  ? "skip_sw is not allowed with strategy ct (act_ct needs the "
		                    "software path to build its flowtable)"
		                  : "skip_sw is not used by this profile");

	keys = rule_keys(r);
	missing = keys & ~p->keys;
	if (missing) {
		bit_names(names, sizeof(names), missing, PROFILE_KEY_COUNT, key_name_u);
		return refuse(p, reason, len, "match on %s is not supported by the hardware",
		              names);
	}
	missing = p->required_keys & ~keys;
	if (missing) {
		bit_names(names, sizeof(names), missing, PROFILE_KEY_COUNT, key_name_u);
		return refuse(p, reason, len, "the hardware needs a match on %s", names);
	}
	if (!check_ct_state(p, r, reason, len))
		return false;
	if (keys & PROFILE_KEY_CT_ZONE &&
	    !check_zone(p, r->flower.key.ct_zone, "match", reason, len))
		return false;
	{
		unsigned tags = !!(keys & PROFILE_KEY_VLAN) + !!(keys & PROFILE_KEY_CVLAN);

		if (tags > p->max_vlan_tags)
			return refuse(
			    p, reason, len,
			    "the rule matches %u VLAN tags, the hardware takes at most %u", tags,
			    p->max_vlan_tags);
	}
	return check_actions(p, r, reason, len);
}

bool profile_check_pppoe(const struct profile *p, char *reason, size_t len)
{
	if (p->actions & PROFILE_ACT_PPPOE_PUSH)
		return refuse(
		    p, reason, len,
		    "PPPoE push: the hardware can push a PPPoE header, but tc has no PPPoE "
		    "push action, so PPPoE flows stay in software");
	return refuse(p, reason, len,
	              "PPPoE push is not supported (the hardware does not list it, and tc has no "
	              "PPPoE push action), so PPPoE flows stay in software");
}
