/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conntrack messages: the input's first byte holds options (the event type, flow rule options),
 * the rest is one ctnetlink message (struct nlmsghdr, struct nfgenmsg, CTA_* attributes) that
 * libnetfilter_conntrack parses into an object with nfct_parse_conntrack(): the parser behind
 * nfct_catch() and nfct_query() callbacks, which is how the daemon gets events and dumps.
 *
 * libnetfilter_conntrack 1.0.9 calls exit() ("ctnetlink kernel ABI is broken") when a known
 * attribute has the wrong size, which libFuzzer would report as a crash of every such input. So
 * the harness first checks the message against the attributes the kernel sends (below, with
 * their sizes) and skips messages with anything else: the fuzzer varies values, presence,
 * order, repetition and nesting. ct_event_from_nfct() converts the object; on
 * success the event is formatted, checked for eligibility, converted back (ct_event_to_nfct),
 * which must give the same event, and its two flow rules are built and round-tripped through
 * tc_encode / tc_decode. ct_event_from_nlmsg(), the daemon's own reader of dump entries, must
 * read every ctnetlink message the library reads the same way (event, counters, refusals).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "fuzz.h"
#include "nft-tc-offload/conntrack.h"
#include "nft-tc-offload/flowrule.h"
#include "nft-tc-offload/tc.h"

#define MSG_MAX 16384

/* Attribute grammar: per nesting level, a type's payload size (0 = nested, -1 = NUL-terminated
 * string, -2 = not allowed) and the level of its children. */
enum level { L_TOP, L_TUPLE, L_IP, L_PROTO, L_PROTOINFO, L_TCP, L_HELP, L_COUNTERS, L_COUNT };
#define NESTED  0
#define NULSTR  (-1)
#define MAXTYPE 24

struct attr_rule {
	int size;
	enum level child;
};

static struct attr_rule rule_of(enum level l, unsigned type)
{
	/* CTA_* of linux/netfilter/nfnetlink_conntrack.h */
	static const struct attr_rule top[MAXTYPE] = {
	    [1] = {NESTED, L_TUPLE},     [2] = {NESTED, L_TUPLE},     [3] = {4, L_COUNT},
	    [4] = {NESTED, L_PROTOINFO}, [5] = {NESTED, L_HELP},      [7] = {4, L_COUNT},
	    [8] = {4, L_COUNT},          [9] = {NESTED, L_COUNTERS},  [10] = {NESTED, L_COUNTERS},
	    [11] = {4, L_COUNT},         [12] = {4, L_COUNT},         [14] = {NESTED, L_TUPLE},
	    [18] = {2, L_COUNT},         [20] = {NESTED, L_COUNTERS},
	};
	static const struct attr_rule tuple[MAXTYPE] = {
	    [1] = {NESTED, L_IP}, [2] = {NESTED, L_PROTO}, [3] = {2, L_COUNT}};
	static const struct attr_rule ip[MAXTYPE] = {
	    [1] = {4, L_COUNT}, [2] = {4, L_COUNT}, [3] = {16, L_COUNT}, [4] = {16, L_COUNT}};
	static const struct attr_rule proto[MAXTYPE] = {
	    [1] = {1, L_COUNT}, [2] = {2, L_COUNT}, [3] = {2, L_COUNT},
	    [4] = {2, L_COUNT}, [5] = {1, L_COUNT}, [6] = {1, L_COUNT},
	    [7] = {2, L_COUNT}, [8] = {1, L_COUNT}, [9] = {1, L_COUNT},
	};
	static const struct attr_rule protoinfo[MAXTYPE] = {[1] = {NESTED, L_TCP}};
	static const struct attr_rule tcp[MAXTYPE] = {[1] = {1, L_COUNT},
	                                              [2] = {1, L_COUNT},
	                                              [3] = {1, L_COUNT},
	                                              [4] = {2, L_COUNT},
	                                              [5] = {2, L_COUNT}};
	static const struct attr_rule help[MAXTYPE] = {[1] = {NULSTR, L_COUNT}};
	static const struct attr_rule counters[MAXTYPE] = {[1] = {8, L_COUNT}, [2] = {8, L_COUNT}};
	static const struct attr_rule *const levels[L_COUNT] = {top,       tuple, ip,   proto,
	                                                        protoinfo, tcp,   help, counters};
	struct attr_rule none = {-2, L_COUNT};

	if (type >= MAXTYPE || l >= L_COUNT || !levels[l][type].child)
		return none;
	return levels[l][type];
}

/* Set by attrs_ok: a tuple carries ICMP/ICMPv6 attributes (CTA_PROTO_ICMP*, 4..9). The
 * library keeps an ICMP id in the same union as the source port, so for a TCP or UDP tuple
 * with such an attribute (which the kernel never sends) its port is the id; the daemon's
 * reader keeps the port. Those inputs are not compared. */
static bool icmp_attrs;

/* Whether every attribute in [p, p + len) (and below) follows the grammar. */
static bool attrs_ok(const uint8_t *p, size_t len, enum level l, int depth)
{
	while (len >= 4) {
		uint16_t alen, type;
		struct attr_rule r;
		size_t plen;

		memcpy(&alen, p, 2);
		memcpy(&type, p + 2, 2);
		if (alen < 4 || alen > len)
			return false;
		plen = alen - 4u;
		r = rule_of(l, type & NLA_TYPE_MASK);
		if (r.size == -2)
			return false;
		if (l == L_PROTO && (type & NLA_TYPE_MASK) >= 4)
			icmp_attrs = true;
		if (r.size == NESTED) {
			if (depth > 4 || (plen && plen < 4) ||
			    !attrs_ok(p + 4, plen, r.child, depth + 1))
				return false;
		} else if (r.size == NULSTR) {
			if (!plen || p[4 + plen - 1] != '\0')
				return false;
		} else if (plen != (size_t)r.size) {
			return false;
		}
		alen = (uint16_t)((alen + 3u) & ~3u);
		if (alen >= len)
			break;
		p += alen;
		len -= alen;
	}
	return true;
}

static bool same_tuple(const struct flow_tuple *a, const struct flow_tuple *b)
{
	return a->family == b->family && a->proto == b->proto && a->sport == b->sport &&
	       a->dport == b->dport && memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	       memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0;
}

/* What ct_event_to_nfct() carries (not the counters). */
static bool same_event(const struct ct_event *a, const struct ct_event *b)
{
	return a->type == b->type && a->id == b->id && same_tuple(&a->conn.orig, &b->conn.orig) &&
	       same_tuple(&a->conn.reply, &b->conn.reply) && a->conn.zone == b->conn.zone &&
	       a->conn.mark == b->conn.mark && a->status == b->status &&
	       a->has_tcp_state == b->has_tcp_state && a->tcp_state == b->tcp_state &&
	       a->has_timeout == b->has_timeout && a->timeout == b->timeout &&
	       strcmp(a->helper, b->helper) == 0;
}

static void rules(const struct ct_event *ev, uint8_t cfg)
{
	struct flow_path path[2] = {
	    {.in_ifindex = 2, .in_ifname = "eth0", .out_ifindex = 3, .out_ifname = "eth1"},
	    {.in_ifindex = 3, .in_ifname = "eth1", .out_ifindex = 2, .out_ifname = "eth0"},
	};
	struct flowrule_opts o = {.prio = 0x2000, .ttl_dec = cfg & 1, .skip_sw = cfg & 2};
	struct tc_rule r[2];
	char why[256];

	if (cfg & 4) {
		path[0].n_in_vlan = 1;
		path[0].in_vlan[0] = (struct flow_vlan){.id = 10, .proto = 0x8100};
		path[1].n_out_vlan = 1;
		path[1].out_vlan[0] = (struct flow_vlan){.id = 10, .proto = 0x8100};
	}
	if (cfg & 8) {
		o.cookie_len = 16;
		memcpy(o.cookie, "nto\x01ownrruleid01", 16);
	}
	if (flowrule_build(&ev->conn, path, &o, r, why, sizeof(why)) != 0)
		return;
	for (int d = 0; d < 2; d++) {
		uint8_t buf[8192];
		struct tc_rule back;
		int n = tc_encode(&r[d], TC_MSG_REPLACE, 0, 1, buf, sizeof(buf), why, sizeof(why));

		if (n <= 0)
			continue;
		FUZZ_CHECK(tc_decode(buf, (size_t)n, &back, why, sizeof(why)) == 0);
		FUZZ_CHECK(tc_rule_equal(&r[d], &back));
	}
}

int nto_fuzz_conntrack(const uint8_t *data, size_t size)
{
	static const int types[] = {NFCT_T_NEW, NFCT_T_UPDATE, NFCT_T_DESTROY, NFCT_T_UNKNOWN};
	struct nf_conntrack *ct, *back;
	struct ct_event ev, ev2, mine;
	bool ctnetlink;
	int mine_rc;
	struct ct_verdict v;
	struct ct_key k;
	char line[512];
	struct nlmsghdr *nlh;
	uint8_t cfg;
	int type, rc, n;

	if (size < 1 + sizeof(*nlh) + 4 || size - 1 > MSG_MAX) /* header + struct nfgenmsg */
		return 0;
	cfg = data[0];
	type = types[(cfg >> 1) & 3];
	/* an exact-size heap copy whose header's length is the message's */
	nlh = malloc(size - 1);
	if (!nlh)
		return 0;
	memcpy(nlh, data + 1, size - 1);
	nlh->nlmsg_len = (uint32_t)(size - 1);
	icmp_attrs = false;
	if (!attrs_ok((const uint8_t *)nlh + 20, size - 1 - 20, L_TOP, 0)) {
		free(nlh);
		return 0;
	}
	/* the daemon's own reader of dump entries, on the same bytes */
	mine_rc = ct_event_from_nlmsg(nlh, size - 1, &mine);
	ctnetlink = NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_CTNETLINK;
	ct = nfct_new();
	if (!ct) {
		free(nlh);
		return 0;
	}
	/* NFCT_T_ALL: parse whatever kind of message it is; the result is its kind, as the
	 * library's callback gets it */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	rc = nfct_parse_conntrack(NFCT_T_ALL, nlh, ct);
#pragma GCC diagnostic pop
	free(nlh);
	if (rc <= 0) { /* an error, or not a conntrack message */
		nfct_destroy(ct);
		return 0;
	}
	/* ct_event_from_nlmsg reads what the library reads, the same way: the same event, the
	 * same refusals (for the message's own kind, the callback's view) */
	if (ctnetlink && !icmp_attrs &&
	    (rc == NFCT_T_NEW || rc == NFCT_T_UPDATE || rc == NFCT_T_DESTROY)) {
		int lib_rc = ct_event_from_nfct(rc, ct, &ev);

		FUZZ_CHECK((lib_rc == 0) == (mine_rc == 0));
		if (!lib_rc) {
			FUZZ_CHECK(same_event(&ev, &mine));
			FUZZ_CHECK(ev.has_counters == mine.has_counters &&
			           !memcmp(ev.packets, mine.packets, sizeof(ev.packets)) &&
			           !memcmp(ev.bytes, mine.bytes, sizeof(ev.bytes)));
		}
	}
	if (cfg & 1)
		type = rc; /* the callback's view (NFCT_T_NEW, ...) instead of the input's */
	rc = ct_event_from_nfct(type, ct, &ev);
	nfct_destroy(ct);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc)
		return 0;

	n = ct_event_format(&ev, line, sizeof(line));
	FUZZ_CHECK(n >= 0 &&
	           strlen(line) == ((size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1));
	(void)ct_elig_conn(&ev, &v);
	FUZZ_CHECK(memchr(v.text, '\0', sizeof(v.text)) != NULL);
	ct_key_from_conn(&ev.conn, &k);

	back = ct_event_to_nfct(&ev);
	if (back) {
		FUZZ_CHECK(ct_event_from_nfct(type, back, &ev2) == 0);
		if (!same_event(&ev, &ev2)) {
			char line2[512];

			ct_event_format(&ev2, line2, sizeof(line2));
			fprintf(stderr, "event:      %s\nround trip: %s\n", line, line2);
		}
		FUZZ_CHECK(same_event(&ev, &ev2));
		nfct_destroy(back);
	}
	rules(&ev, cfg >> 3);
	return 0;
}

#ifndef NTO_FUZZ_NO_ENTRY
NTO_FUZZ_ENTRY(nto_fuzz_conntrack)
#endif
