/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nftables rule parser: one rule's tokens -> matches, verdict, flow statement.
 *
 * A rule is a sequence of items: matches (SELECTOR [binop] [relop] VALUE), statements
 * (counter, log, limit, comment, flow add|offload @ft, `... set ...`, nat and friends) and a
 * final verdict. Selectors the model knows get their values parsed (bad values are errors,
 * as in nft); any other nft selector or statement is kept as NFT_MATCH_UNSUPPORTED with its
 * text and a reason. Words that are neither are syntax errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft-internal.h"

struct rp {
	struct pctx *ctx;
	const struct tok *const *t;
	size_t n;
	size_t i;
	struct nft_rule *r;
	bool after_flow;
	const struct tok *verdict_tok;
};

enum vclass {
	VC_NONE,
	VC_PROTO,     /* 0-255, protocol names */
	VC_NFPROTO,   /* ipv4 / ipv6 */
	VC_ETHERTYPE, /* ip / ip6 / arp / vlan / numbers */
	VC_ADDR4,
	VC_ADDR6,
	VC_IFNAME,
	VC_PORT,
	VC_CTSTATE,
	VC_ZONE,
	VC_MARK,
};

static const struct {
	const char *head;
	const char *field; /* NULL: one-word selector */
	enum nft_match_key key;
	enum vclass vc;
} known[] = {
    {"meta", "l4proto", NFT_MATCH_L4PROTO, VC_PROTO},
    {"meta", "nfproto", NFT_MATCH_NFPROTO, VC_NFPROTO},
    {"meta", "protocol", NFT_MATCH_META_PROTOCOL, VC_ETHERTYPE},
    {"meta", "iifname", NFT_MATCH_IIFNAME, VC_IFNAME},
    {"meta", "oifname", NFT_MATCH_OIFNAME, VC_IFNAME},
    {"meta", "iif", NFT_MATCH_IIF, VC_IFNAME},
    {"meta", "oif", NFT_MATCH_OIF, VC_IFNAME},
    {"meta", "mark", NFT_MATCH_META_MARK, VC_MARK},
    {"iifname", NULL, NFT_MATCH_IIFNAME, VC_IFNAME},
    {"oifname", NULL, NFT_MATCH_OIFNAME, VC_IFNAME},
    {"iif", NULL, NFT_MATCH_IIF, VC_IFNAME},
    {"oif", NULL, NFT_MATCH_OIF, VC_IFNAME},
    {"mark", NULL, NFT_MATCH_META_MARK, VC_MARK},
    {"ip", "protocol", NFT_MATCH_IP_PROTOCOL, VC_PROTO},
    {"ip", "saddr", NFT_MATCH_IP_SADDR, VC_ADDR4},
    {"ip", "daddr", NFT_MATCH_IP_DADDR, VC_ADDR4},
    {"ip6", "nexthdr", NFT_MATCH_IP6_NEXTHDR, VC_PROTO},
    {"ip6", "saddr", NFT_MATCH_IP6_SADDR, VC_ADDR6},
    {"ip6", "daddr", NFT_MATCH_IP6_DADDR, VC_ADDR6},
    {"tcp", "sport", NFT_MATCH_TCP_SPORT, VC_PORT},
    {"tcp", "dport", NFT_MATCH_TCP_DPORT, VC_PORT},
    {"udp", "sport", NFT_MATCH_UDP_SPORT, VC_PORT},
    {"udp", "dport", NFT_MATCH_UDP_DPORT, VC_PORT},
    {"th", "sport", NFT_MATCH_TH_SPORT, VC_PORT},
    {"th", "dport", NFT_MATCH_TH_DPORT, VC_PORT},
    {"ct", "state", NFT_MATCH_CT_STATE, VC_CTSTATE},
    {"ct", "zone", NFT_MATCH_CT_ZONE, VC_ZONE},
    {"ct", "mark", NFT_MATCH_CT_MARK, VC_MARK},
};

/* Selector heads nft knows that take a field word (`ip dscp`, `vlan id`, ...). */
static const char *const heads[] = {
    "ether",  "vlan",    "arp",    "ip",   "ip6",    "icmp",     "icmpv6", "igmp",  "tcp",
    "udp",    "udplite", "sctp",   "dccp", "th",     "ah",       "esp",    "comp",  "gre",
    "gretap", "vxlan",   "geneve", "meta", "ct",     "socket",   "hbh",    "rt0",   "rt2",
    "srh",    "frag",    "dst",    "mh",   "exthdr", "cgroupv2", "tunnel", "inner", "dhcp",
};

/* One-word meta selectors besides the known ones. */
static const char *const bare_meta[] = {
    "skuid",   "skgid",    "nftrace", "rtclassid", "ibriport", "obriport", "ibrname",
    "obrname", "pkttype",  "cpu",     "iifgroup",  "oifgroup", "cgroup",   "iiftype",
    "oiftype", "priority", "ibrpvid", "ibrvproto", "length",   "random",   "secmark",
    "hour",    "day",      "time",    "iifkind",   "oifkind",  "broute",   "secpath",
};

/* Statements nft knows that are not matches. */
static const char *const other_stmts[] = {
    "masquerade", "snat", "dnat",  "redirect", "notrack", "tproxy",  "synproxy",
    "dup",        "fwd",  "meter", "add",      "update",  "delete",  "xt",
    "reset",      "last", "set",   "numgen",   "jhash",   "symhash",
};

static bool in_list(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(w, list[i]))
			return true;
	return false;
}

#define IN_LIST(w, l) in_list(w, l, sizeof(l) / sizeof(l[0]))

static const struct tok *at(const struct rp *p, size_t j)
{
	return j < p->n ? p->t[j] : NULL;
}

static bool word_at(const struct rp *p, size_t j, const char *w)
{
	const struct tok *t = at(p, j);

	return t && t->type == TOK_WORD && (!w || !strcmp(t->text, w));
}

static bool is_verdict_word(const char *w)
{
	static const char *const v[] = {"accept", "drop", "reject", "queue",
	                                "jump",   "goto", "return", "continue"};

	return IN_LIST(w, v);
}

static bool is_stop_word(const struct tok *t)
{
	static const char *const s[] = {"counter", "log", "limit", "comment", "flow", "quota"};

	return t->type == TOK_WORD && (is_verdict_word(t->text) || IN_LIST(t->text, s));
}

/* Index after a balanced group starting at j (or j + 1 for a single token). */
static size_t skip_group(const struct rp *p, size_t j)
{
	int depth = 0;

	do {
		const struct tok *t = p->t[j];

		if (t->type == TOK_LBRACE || t->type == TOK_LPAREN || t->type == TOK_LBRACKET)
			depth++;
		else if (t->type == TOK_RBRACE || t->type == TOK_RPAREN || t->type == TOK_RBRACKET)
			depth--;
		j++;
	} while (j < p->n && depth > 0);
	return j;
}

char *nft_tokens_text(const struct tok *const *t, size_t a, size_t b)
{
	size_t len = 1;
	char *s, *w;

	for (size_t i = a; i < b; i++)
		len += strlen(t[i]->text) + 3;
	s = malloc(len);
	if (!s)
		return NULL;
	w = s;
	for (size_t i = a; i < b; i++) {
		bool glue = i > a && (t[i - 1]->type == TOK_AT || t[i]->type == TOK_COMMA);

		if (t[i]->type == TOK_NEWLINE)
			continue;
		if (i > a && !glue)
			*w++ = ' ';
		if (t[i]->type == TOK_STRING)
			w += sprintf(w, "\"%s\"", t[i]->text);
		else
			w += sprintf(w, "%s", t[i]->text);
	}
	*w = '\0';
	return s;
}

static int oom(struct rp *p)
{
	return nft_perr(p->ctx, NULL, "out of memory");
}

/* ---------------------------------------------------------------- numbers and names */

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		v = strtoull(s + 2, &end, 16);
	else
		v = strtoull(s, &end, 10);
	if (errno || *end || end == s || v > max)
		return -1;
	*out = v;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return true;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

struct name_num {
	const char *name;
	uint64_t num;
};

static const struct name_num protos[] = {
    {"icmp", 1},   {"igmp", 2},   {"tcp", 6},       {"udp", 17},    {"dccp", 33},
    {"gre", 47},   {"esp", 50},   {"ah", 51},       {"icmpv6", 58}, {"ipv6-icmp", 58},
    {"comp", 108}, {"sctp", 132}, {"udplite", 136}, {"ipip", 4},    {"ipv6", 41},
    {"ospf", 89},  {"pim", 103},  {"vrrp", 112},    {"l2tp", 115},
};

static const struct name_num services[] = {
    {"ftp-data", 20},       {"ftp", 21},          {"ssh", 22},
    {"telnet", 23},         {"smtp", 25},         {"domain", 53},
    {"bootps", 67},         {"bootpc", 68},       {"tftp", 69},
    {"http", 80},           {"pop3", 110},        {"sunrpc", 111},
    {"auth", 113},          {"ntp", 123},         {"netbios-ns", 137},
    {"netbios-dgm", 138},   {"netbios-ssn", 139}, {"imap", 143},
    {"imap2", 143},         {"snmp", 161},        {"snmp-trap", 162},
    {"bgp", 179},           {"ldap", 389},        {"https", 443},
    {"microsoft-ds", 445},  {"isakmp", 500},      {"syslog", 514},
    {"submission", 587},    {"ldaps", 636},       {"dhcpv6-client", 546},
    {"dhcpv6-server", 547}, {"rsync", 873},       {"imaps", 993},
    {"pop3s", 995},         {"openvpn", 1194},    {"ms-sql-s", 1433},
    {"l2tp", 1701},         {"pptp", 1723},       {"radius", 1812},
    {"nfs", 2049},          {"mysql", 3306},      {"ipsec-nat-t", 4500},
    {"sip", 5060},          {"mdns", 5353},       {"postgresql", 5432},
    {"http-alt", 8080},     {"wireguard", 51820},
};

static const struct name_num ct_states[] = {
    {"invalid", NFT_CT_STATE_INVALID},     {"established", NFT_CT_STATE_ESTABLISHED},
    {"related", NFT_CT_STATE_RELATED},     {"new", NFT_CT_STATE_NEW},
    {"untracked", NFT_CT_STATE_UNTRACKED},
};

static const struct name_num ethertypes[] = {
    {"ip", 0x0800},   {"ip6", 0x86dd},   {"arp", 0x0806},
    {"vlan", 0x8100}, {"8021q", 0x8100}, {"8021ad", 0x88a8},
};

static const struct name_num nfprotos[] = {{"ipv4", 2}, {"ipv6", 10}};

static bool lookup(const struct name_num *tab, size_t n, const char *w, uint64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(tab[i].name, w)) {
			*out = tab[i].num;
			return true;
		}
	}
	return false;
}

#define LOOKUP(tab, w, out) lookup(tab, sizeof(tab) / sizeof(tab[0]), w, out)

static uint64_t vc_max(enum vclass vc)
{
	switch (vc) {
	case VC_PROTO:
		return 255;
	case VC_PORT:
	case VC_ZONE:
	case VC_ETHERTYPE:
		return 65535;
	case VC_MARK:
		return 0xffffffffu;
	case VC_CTSTATE:
		return 0xffffffffu;
	case VC_NFPROTO:
		return 255;
	default:
		return 0;
	}
}

/* ---------------------------------------------------------------- match construction */

static struct nft_value *add_value(struct rp *p, struct nft_match *m)
{
	struct nft_value *v = realloc(m->values, (m->n_values + 1) * sizeof(*v));

	if (!v) {
		oom(p);
		return NULL;
	}
	m->values = v;
	v = &m->values[m->n_values++];
	memset(v, 0, sizeof(*v));
	return v;
}

/* Turn m into an unsupported match (values dropped). */
static int unsupported(struct rp *p, struct nft_match *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int unsupported(struct rp *p, struct nft_match *m, const char *fmt, ...)
{
	va_list ap;
	char *reason = NULL;

	if (m->key == NFT_MATCH_UNSUPPORTED && m->reason)
		return 0; /* keep the first reason */
	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		reason = NULL;
	va_end(ap);
	if (!reason)
		return oom(p);
	for (size_t i = 0; i < m->n_values; i++)
		nft_value_free(&m->values[i]);
	free(m->values);
	m->values = NULL;
	m->n_values = 0;
	free(m->reason);
	m->reason = reason;
	m->key = NFT_MATCH_UNSUPPORTED;
	return 0;
}

/* A numeric value in a class (names resolved); 1 = name unknown (unsupported), -1 = error. */
static int class_number(struct rp *p, struct nft_match *m, enum vclass vc, const struct tok *t,
                        const char *s, uint64_t *out)
{
	uint64_t max = vc_max(vc);

	if (all_digits(s)) {
		if (parse_u64(s, max, out)) {
			if (vc == VC_PORT)
				return nft_perr(p->ctx, t, "port '%s' out of range (0-65535)", s);
			return nft_perr(p->ctx, t, "value '%s' out of range for %s (0-%llu)", s,
			                nft_match_key_name(m->key), (unsigned long long)max);
		}
		return 0;
	}
	switch (vc) {
	case VC_PROTO:
		if (LOOKUP(protos, s, out))
			return 0;
		unsupported(p, m, "unknown protocol name '%s'", s);
		return 1;
	case VC_PORT:
		if (LOOKUP(services, s, out))
			return 0;
		unsupported(p, m, "unknown service name '%s' (resolved by nft from /etc/services)",
		            s);
		return 1;
	case VC_CTSTATE:
		if (LOOKUP(ct_states, s, out))
			return 0;
		return nft_perr(p->ctx, t, "unknown ct state '%s'", s);
	case VC_ETHERTYPE:
		if (LOOKUP(ethertypes, s, out))
			return 0;
		unsupported(p, m, "unknown ethertype '%s'", s);
		return 1;
	case VC_NFPROTO:
		if (LOOKUP(nfprotos, s, out))
			return 0;
		return nft_perr(p->ctx, t, "unknown nfproto '%s' (expected ipv4 or ipv6)", s);
	default:
		return nft_perr(p->ctx, t, "invalid number '%s' for %s", s,
		                nft_match_key_name(m->key));
	}
}

static bool looks_like_hostname(const char *s, bool v6)
{
	bool alpha = false;

	for (; *s && *s != '/'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
			if (v6 && ((*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
				continue;
			alpha = true;
		}
	}
	return alpha && !strchr(s, ':');
}

static void mask_addr(union nft_addr *a, unsigned int plen, bool v6)
{
	uint8_t *b = v6 ? a->v6.s6_addr : (uint8_t *)&a->v4.s_addr;
	unsigned int bytes = v6 ? 16 : 4;

	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int bit = i * 8;

		if (bit >= plen)
			b[i] = 0;
		else if (bit + 8 > plen)
			b[i] &= (uint8_t)(0xff << (8 - (plen - bit)));
	}
}

/* address, address/prefix or address-address; returns 1 for an unsupported hostname */
static int parse_addr_value(struct rp *p, struct nft_match *m, const struct tok *t, bool v6,
                            const char *s, const char *s_hi)
{
	int af = v6 ? AF_INET6 : AF_INET;
	unsigned int maxp = v6 ? 128 : 32;
	char buf[128], *slash, *dash;
	union nft_addr a, hi;
	uint64_t plen = maxp;
	struct nft_value *v;

	if (strlen(s) >= sizeof(buf))
		return nft_perr(p->ctx, t, "invalid address '%s'", s);
	strcpy(buf, s);
	dash = (!v6 && !s_hi) ? strchr(buf, '-') : NULL;
	if (dash) {
		*dash = '\0';
		s_hi = dash + 1;
	}
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (s_hi || parse_u64(slash + 1, 255, &plen))
			return nft_perr(p->ctx, t, "bad prefix '%s'", s);
		if (plen > maxp)
			return nft_perr(p->ctx, t, "prefix length %llu is invalid for %s (0-%u)",
			                (unsigned long long)plen, v6 ? "IPv6" : "IPv4", maxp);
	}
	memset(&a, 0, sizeof(a));
	memset(&hi, 0, sizeof(hi));
	if (inet_pton(af, buf, &a) != 1) {
		if (looks_like_hostname(buf, v6)) {
			unsupported(p, m, "host name '%s' (resolved by nft at load time)", buf);
			return 1;
		}
		if (!v6 && strchr(buf, ':'))
			return nft_perr(p->ctx, t, "'%s' is an IPv6 address, expected IPv4", buf);
		if (v6 && inet_pton(AF_INET, buf, &hi) == 1)
			return nft_perr(p->ctx, t, "'%s' is an IPv4 address, expected IPv6", buf);
		return nft_perr(p->ctx, t, "invalid %s address '%s'", v6 ? "IPv6" : "IPv4", buf);
	}
	if (s_hi && inet_pton(af, s_hi, &hi) != 1)
		return nft_perr(p->ctx, t, "invalid %s address '%s'", v6 ? "IPv6" : "IPv4", s_hi);
	if (s_hi && memcmp(&a, &hi, v6 ? 16 : 4) > 0)
		return nft_perr(p->ctx, t, "address range '%s' has its bounds reversed", s);
	v = add_value(p, m);
	if (!v)
		return -1;
	v->type = v6 ? NFT_VALUE_IPV6 : NFT_VALUE_IPV4;
	mask_addr(&a, (unsigned int)plen, v6);
	v->addr = a;
	v->prefix_len = (unsigned int)plen;
	if (s_hi) {
		v->addr_range = true;
		v->addr_hi = hi;
	}
	return 0;
}

/* One scalar: `lo` alone or the range `lo`-`hi` (hi from a spaced range, or NULL). */
static int parse_scalar(struct rp *p, struct nft_match *m, enum vclass vc, const struct tok *t,
                        const char *lo, const char *hi)
{
	struct nft_value *v;
	uint64_t a, b;
	int r;

	if (m->key == NFT_MATCH_UNSUPPORTED)
		return 0;
	switch (vc) {
	case VC_ADDR4:
	case VC_ADDR6:
		r = parse_addr_value(p, m, t, vc == VC_ADDR6, lo, hi);
		return r < 0 ? -1 : 0;
	case VC_IFNAME:
		if (hi)
			return nft_perr(p->ctx, t, "interface names cannot be ranges");
		if (!*lo || strlen(lo) >= 16)
			return nft_perr(p->ctx, t, "invalid interface name '%s' (1-15 characters)",
			                lo);
		v = add_value(p, m);
		if (!v)
			return -1;
		v->type = NFT_VALUE_NAME;
		v->name = strdup(lo);
		return v->name ? 0 : oom(p);
	default:
		break;
	}
	if (!hi) {
		const char *dash = strchr(lo, '-');

		/* 1024-65535 without spaces (service names with '-' win) */
		if (dash && dash != lo && !(vc == VC_PORT && LOOKUP(services, lo, &a)) &&
		    !(vc == VC_PROTO && LOOKUP(protos, lo, &a))) {
			char buf[64];

			if ((size_t)(dash - lo) >= sizeof(buf))
				return nft_perr(p->ctx, t, "invalid value '%s'", lo);
			memcpy(buf, lo, (size_t)(dash - lo));
			buf[dash - lo] = '\0';
			r = class_number(p, m, vc, t, buf, &a);
			if (r)
				return r < 0 ? -1 : 0;
			r = class_number(p, m, vc, t, dash + 1, &b);
			if (r)
				return r < 0 ? -1 : 0;
			goto range;
		}
		r = class_number(p, m, vc, t, lo, &a);
		if (r)
			return r < 0 ? -1 : 0;
		v = add_value(p, m);
		if (!v)
			return -1;
		v->type = NFT_VALUE_NUM;
		v->num = v->num_hi = a;
		return 0;
	}
	r = class_number(p, m, vc, t, lo, &a);
	if (r)
		return r < 0 ? -1 : 0;
	r = class_number(p, m, vc, t, hi, &b);
	if (r)
		return r < 0 ? -1 : 0;
range:
	if (vc == VC_CTSTATE || vc == VC_NFPROTO)
		return nft_perr(p->ctx, t, "%s cannot be a range", nft_match_key_name(m->key));
	if (a > b)
		return nft_perr(p->ctx, t, "range '%s' has zero or negative size", lo);
	v = add_value(p, m);
	if (!v)
		return -1;
	v->type = a == b ? NFT_VALUE_NUM : NFT_VALUE_RANGE;
	v->num = a;
	v->num_hi = b;
	return 0;
}

/* Elements t[a..b) of a value: a set, a comma list, or one scalar. */
static int parse_elems(struct rp *p, struct nft_match *m, enum vclass vc, size_t a, size_t b,
                       int depth)
{
	size_t j = a;

	if (depth > NFT_MAX_NEST_DEPTH)
		return nft_perr(p->ctx, p->t[a], "nesting too deep");
	while (j < b && m->key != NFT_MATCH_UNSUPPORTED) {
		const struct tok *t = p->t[j];
		size_t e;

		if (t->type == TOK_COMMA || t->type == TOK_NEWLINE) {
			j++;
			continue;
		}
		if (t->type == TOK_LBRACE) {
			e = skip_group(p, j);
			if (parse_elems(p, m, vc, j + 1, e - 1, depth + 1))
				return -1;
			j = e;
			continue;
		}
		if (t->type == TOK_AT)
			return unsupported(p, m, "named set @%s (its elements live in the kernel)",
			                   word_at(p, j + 1, NULL) ? p->t[j + 1]->text : "?");
		if (t->type != TOK_WORD && t->type != TOK_STRING)
			return nft_perr(p->ctx, t, "unexpected '%s' in value", t->text);
		/* element extent: up to the next comma / newline at this level */
		e = j + 1;
		while (e < b && p->t[e]->type != TOK_COMMA && p->t[e]->type != TOK_NEWLINE)
			e = skip_group(p, e);
		if (e - j == 1) {
			if (parse_scalar(p, m, vc, t, t->text, NULL))
				return -1;
		} else if (e - j == 3 && p->t[j + 1]->type == TOK_OP &&
		           !strcmp(p->t[j + 1]->text, "-") && p->t[j + 2]->type == TOK_WORD) {
			if (parse_scalar(p, m, vc, t, t->text, p->t[j + 2]->text))
				return -1;
		} else if (word_at(p, j + 1, ".")) {
			return unsupported(p, m, "concatenated value");
		} else if (word_at(p, j + 1, "/")) {
			return unsupported(p, m, "value with a mask");
		} else if (word_at(p, j + 1, ":") ||
		           strchr(t->text, ':') == t->text + strlen(t->text) - 1) {
			return unsupported(p, m, "map element");
		} else {
			return nft_perr(p->ctx, p->t[j + 1], "unexpected '%s' in value",
			                p->t[j + 1]->text);
		}
		j = e;
	}
	return 0;
}

static int apply_relop(struct rp *p, struct nft_match *m, enum vclass vc, const char *op,
                       const struct tok *at_tok)
{
	uint64_t max = vc_max(vc), v;

	if (m->key == NFT_MATCH_UNSUPPORTED || !op)
		return 0;
	if (m->n_values != 1 || m->values[0].type != NFT_VALUE_NUM ||
	    (vc != VC_PORT && vc != VC_ZONE && vc != VC_MARK && vc != VC_PROTO))
		return unsupported(p, m, "comparison '%s'", op);
	v = m->values[0].num;
	if (!strcmp(op, "<") || !strcmp(op, "lt")) {
		if (v == 0)
			return nft_perr(p->ctx, at_tok, "comparison '< 0' matches nothing");
		m->values[0].num = 0;
		m->values[0].num_hi = v - 1;
	} else if (!strcmp(op, "<=") || !strcmp(op, "le")) {
		m->values[0].num = 0;
		m->values[0].num_hi = v;
	} else if (!strcmp(op, ">") || !strcmp(op, "gt")) {
		if (v >= max)
			return nft_perr(p->ctx, at_tok, "comparison '> %llu' matches nothing",
			                (unsigned long long)v);
		m->values[0].num = v + 1;
		m->values[0].num_hi = max;
	} else { /* >= */
		m->values[0].num = v;
		m->values[0].num_hi = max;
	}
	m->values[0].type =
	    m->values[0].num == m->values[0].num_hi ? NFT_VALUE_NUM : NFT_VALUE_RANGE;
	return 0;
}

/* ---------------------------------------------------------------- selectors */

/*
 * A selector at j: sets the key and value class of known ones (NFT_MATCH_UNSUPPORTED otherwise) and
 * *end. Returns false when t[j] starts no selector.
 */
static bool selector(const struct rp *p, size_t j, enum nft_match_key *key, enum vclass *vc,
                     size_t *end)
{
	const struct tok *t = at(p, j);
	const char *h;

	*key = NFT_MATCH_UNSUPPORTED;
	*vc = VC_NONE;
	if (!t)
		return false;
	if (t->type == TOK_AT) { /* raw payload @base,offset,length */
		j++;
		while (j < p->n && (p->t[j]->type == TOK_WORD || p->t[j]->type == TOK_COMMA))
			j++;
		*end = j;
		return true;
	}
	if (t->type != TOK_WORD)
		return false;
	h = t->text;
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		if (strcmp(known[k].head, h))
			continue;
		if (!known[k].field) {
			*key = known[k].key;
			*vc = known[k].vc;
			*end = j + 1;
			return true;
		}
		if (word_at(p, j + 1, known[k].field)) {
			*key = known[k].key;
			*vc = known[k].vc;
			*end = j + 2;
			return true;
		}
	}
	if (IN_LIST(h, bare_meta)) {
		*end = j + 1;
		return true;
	}
	if (!strcmp(h, "fib") || !strcmp(h, "osf")) {
		/* fib saddr . iif oif | fib daddr type ; osf [ttl X] name|version */
		size_t k = j + 1;

		while (k < p->n && k < j + 10 && p->t[k]->type == TOK_WORD) {
			const char *w = p->t[k]->text;

			k++;
			if (!strcmp(w, "type") || !strcmp(w, "oif") || !strcmp(w, "oifname") ||
			    !strcmp(w, "name") || !strcmp(w, "version"))
				break;
		}
		*end = k;
		return true;
	}
	if (!strcmp(h, "rt") || !strcmp(h, "ipsec")) {
		size_t k = j + 1;

		if (word_at(p, k, "in") || word_at(p, k, "out"))
			k++;
		if (word_at(p, k, "spnum"))
			k += 2;
		if (word_at(p, k, "ip") || word_at(p, k, "ip6"))
			k++;
		if (word_at(p, k, NULL))
			k++;
		*end = k > p->n ? p->n : k;
		return true;
	}
	if (IN_LIST(h, heads) && word_at(p, j + 1, NULL)) {
		const char *f = p->t[j + 1]->text;
		size_t k = j + 2;

		if (!strcmp(h, "ct")) {
			if (!strcmp(f, "original") || !strcmp(f, "reply")) {
				if (word_at(p, k, "ip") || word_at(p, k, "ip6"))
					k++;
				k++;
			} else if (!strcmp(f, "count") && word_at(p, k, "over")) {
				k++;
			}
		} else if (!strcmp(f, "option") || !strcmp(f, "options")) {
			static const char *const fields[] = {
			    "kind", "length", "size", "value", "count", "left",   "right",
			    "type", "ptr",    "addr", "tsval", "tsecr", "subtype"};

			if (word_at(p, k, NULL))
				k++;
			if (word_at(p, k, NULL) && IN_LIST(p->t[k]->text, fields))
				k++;
		}
		*end = k > p->n ? p->n : k;
		return true;
	}
	return false;
}

static bool is_binop(const struct tok *t)
{
	static const char *const ops[] = {"and", "or", "xor", "&", "|", "^", "<<", ">>"};

	return t && (t->type == TOK_WORD || t->type == TOK_OP) && IN_LIST(t->text, ops);
}

static const char *relop(const struct tok *t)
{
	static const char *const ops[] = {"==", "!=", "<",  ">",  "<=", ">=", "!",
	                                  "eq", "ne", "lt", "gt", "le", "ge"};

	if (t && (t->type == TOK_WORD || t->type == TOK_OP) && IN_LIST(t->text, ops))
		return t->text;
	return NULL;
}

/* A value at j: set, @set, word/string with ranges, comma lists, concatenations. */
static int value_end(struct rp *p, size_t j, const char *after, size_t *end)
{
	const struct tok *t = at(p, j);

	if (!t || (t->type == TOK_WORD && is_stop_word(t) && !word_at(p, j + 1, "-")))
		return nft_perr(p->ctx, t ? t : p->t[p->n - 1], "expected a value after '%s'",
		                after);
	if (t->type == TOK_LBRACE) {
		*end = skip_group(p, j);
		return 0;
	}
	if (t->type == TOK_AT) {
		j++;
		if (!word_at(p, j, NULL) && !(at(p, j) && at(p, j)->type == TOK_STRING))
			return nft_perr(p->ctx, t, "expected a set name after '@'");
		*end = j + 1;
		return 0;
	}
	if (t->type != TOK_WORD && t->type != TOK_STRING)
		return nft_perr(p->ctx, t, "expected a value after '%s', got '%s'", after, t->text);
	j++;
	while (j < p->n) {
		const struct tok *u = p->t[j];
		const struct tok *v = at(p, j + 1);

		if (u->type == TOK_OP && !strcmp(u->text, "-") && v && v->type == TOK_WORD)
			j += 2;
		else if (u->type == TOK_COMMA && v &&
		         (v->type == TOK_WORD || v->type == TOK_STRING))
			j += 2;
		else if (u->type == TOK_WORD && (!strcmp(u->text, ".") || !strcmp(u->text, "/")) &&
		         v && (v->type == TOK_WORD || v->type == TOK_STRING))
			j += 2;
		else
			break;
	}
	*end = j;
	return 0;
}

static int push_match(struct rp *p, struct nft_match *m)
{
	struct nft_rule *r = p->r;
	struct nft_match *nm;

	if (p->after_flow) { /* only the matches before the flow statement are kept */
		nft_match_free(m);
		return 0;
	}
	nft_values_canonicalize(m);
	nm = realloc(r->matches, (r->n_matches + 1) * sizeof(*nm));
	if (!nm) {
		nft_match_free(m);
		return oom(p);
	}
	r->matches = nm;
	r->matches[r->n_matches++] = *m;
	memset(m, 0, sizeof(*m));
	return 0;
}

static int new_match(struct rp *p, struct nft_match *m, size_t a, size_t b)
{
	if (b > p->n)
		b = p->n;
	memset(m, 0, sizeof(*m));
	m->mask = 0xffffffffu;
	m->loc = nft_tok_loc(p->t[a]);
	m->text = nft_tokens_text(p->t, a, b);
	return m->text ? 0 : oom(p);
}

/* Statement we don't model: up to the next verdict / known statement. */
static int unknown_statement(struct rp *p, const char *why)
{
	size_t a = p->i, j = p->i + 1;
	struct nft_match m;

	while (j < p->n && !is_stop_word(p->t[j]))
		j = skip_group(p, j);
	if (new_match(p, &m, a, j))
		return -1;
	p->i = j;
	if (unsupported(p, &m, "%s '%s'", why, p->t[a]->text)) {
		nft_match_free(&m);
		return -1;
	}
	return push_match(p, &m);
}

/* SELECTOR [. SELECTOR]* [binop V]* (set V | vmap {} | [relop] VALUE) */
static int parse_match(struct rp *p)
{
	size_t a = p->i, j, vs, ve;
	enum nft_match_key key, k2;
	enum vclass vc, vc2;
	struct nft_match m;
	const char *op = NULL;
	const struct tok *op_tok = NULL;
	bool concat = false, has_mask = false, bad_binop = false;
	uint64_t mask = 0xffffffffu;
	char *sel_text;

	if (!selector(p, a, &key, &vc, &j))
		return -1; /* caller checked */
	while (word_at(p, j, ".")) {
		if (!selector(p, j + 1, &k2, &vc2, &j))
			return nft_perr(p->ctx, p->t[j], "expected a selector after '.'");
		concat = true;
	}
	sel_text = nft_tokens_text(p->t, a, j);
	if (!sel_text)
		return oom(p);
	while (is_binop(at(p, j))) {
		const struct tok *bop = p->t[j], *bv = at(p, j + 1);
		uint64_t mv;

		if (!bv || (bv->type != TOK_WORD && bv->type != TOK_STRING)) {
			free(sel_text);
			return nft_perr(p->ctx, bv ? bv : bop, "expected a value after '%s'",
			                bop->text);
		}
		if ((key == NFT_MATCH_META_MARK || key == NFT_MATCH_CT_MARK) && !has_mask &&
		    (!strcmp(bop->text, "and") || !strcmp(bop->text, "&"))) {
			if (parse_u64(bv->text, 0xffffffffu, &mv)) {
				free(sel_text);
				return nft_perr(p->ctx, bv, "invalid mark mask '%s'", bv->text);
			}
			mask = mv;
			has_mask = true;
		} else {
			bad_binop = true;
		}
		j += 2;
	}
	if (word_at(p, j, "set")) {
		/* a statement: SELECTOR set VALUE-EXPRESSION */
		size_t e = j + 1;
		enum nft_match_key k3;
		enum vclass vc3;
		int r;

		if (selector(p, e, &k3, &vc3, &e)) {
			/* value from another selector, e.g. ct mark set meta mark */
		} else if (value_end(p, e, "set", &e)) {
			free(sel_text);
			return -1;
		}
		while (is_binop(at(p, e)) && e + 1 < p->n)
			e += 2;
		if (word_at(p, e, "map") && e + 1 < p->n)
			e = skip_group(p, e + 1);
		if (new_match(p, &m, a, e)) {
			free(sel_text);
			return -1;
		}
		r = unsupported(p, &m, "statement '%s set': changes the packet or connection",
		                sel_text);
		free(sel_text);
		p->i = e;
		return r ? -1 : push_match(p, &m);
	}
	if (word_at(p, j, "vmap")) {
		if (!at(p, j + 1) || p->t[j + 1]->type != TOK_LBRACE) {
			if (!(at(p, j + 1) && p->t[j + 1]->type == TOK_AT && at(p, j + 2))) {
				free(sel_text);
				return nft_perr(p->ctx, at(p, j + 1) ? p->t[j + 1] : p->t[j],
				                "expected '{' or '@map' after 'vmap'");
			}
			j += 3;
		} else {
			j = skip_group(p, j + 1);
		}
		/* the rule ends in some verdict for some packets: keep the lookup as a match */
		if (new_match(p, &m, a, j)) {
			free(sel_text);
			return -1;
		}
		unsupported(p, &m, "verdict map on '%s'", sel_text);
		free(sel_text);
		p->verdict_tok = p->t[a];
		p->r->verdict = NFT_VERDICT_VMAP;
		p->i = j;
		return push_match(p, &m);
	}
	if ((op = relop(at(p, j)))) {
		op_tok = p->t[j];
		j++;
	}
	if (value_end(p, j, op ? op : sel_text, &ve)) {
		free(sel_text);
		return -1;
	}
	vs = j;
	if (new_match(p, &m, a, ve)) {
		free(sel_text);
		return -1;
	}
	m.key = key;
	m.mask = (uint32_t)mask;
	p->i = ve;
	if (op && (!strcmp(op, "!=") || !strcmp(op, "ne") || !strcmp(op, "!"))) {
		m.negate = true;
		op = NULL;
	} else if (op && (!strcmp(op, "==") || !strcmp(op, "eq"))) {
		op = NULL;
	}
	if (concat)
		unsupported(p, &m, "concatenation '%s'", sel_text);
	else if (key == NFT_MATCH_UNSUPPORTED)
		unsupported(p, &m, "'%s' is not a match the offload model expresses", sel_text);
	else if (bad_binop)
		unsupported(p, &m, "binary operation on '%s'", sel_text);
	free(sel_text);
	if (parse_elems(p, &m, vc, vs, ve, 0) || apply_relop(p, &m, vc, op, op_tok)) {
		nft_match_free(&m);
		return -1;
	}
	if (m.key == NFT_MATCH_UNSUPPORTED && !m.reason)
		unsupported(p, &m, "unsupported match");
	return push_match(p, &m);
}

/* ---------------------------------------------------------------- statements */

static void skip_args(struct rp *p, const char *const *words, size_t n_words, bool numbers)
{
	while (p->i < p->n) {
		const struct tok *t = p->t[p->i];

		if (t->type == TOK_STRING || t->type == TOK_COMMA) {
			p->i++;
			continue;
		}
		if (t->type == TOK_OP && !strcmp(t->text, "-")) {
			p->i++;
			continue;
		}
		if (t->type != TOK_WORD)
			break;
		if (in_list(t->text, words, n_words) ||
		    (numbers &&
		     ((t->text[0] >= '0' && t->text[0] <= '9') || strchr(t->text, '/')))) {
			p->i++;
			continue;
		}
		break;
	}
}

#define SKIP_ARGS(p, l, num) skip_args(p, l, sizeof(l) / sizeof(l[0]), num)

static int set_verdict(struct rp *p, enum nft_verdict v, const struct tok *t)
{
	p->r->verdict = v;
	p->verdict_tok = t;
	p->i++;
	return 0;
}

static int parse_flow(struct rp *p)
{
	const struct tok *kw = p->t[p->i], *t = at(p, p->i + 1);

	if (!t || t->type != TOK_WORD || (strcmp(t->text, "add") && strcmp(t->text, "offload")))
		return nft_perr(p->ctx, t ? t : kw, "expected 'add' or 'offload' after 'flow'");
	t = at(p, p->i + 2);
	if (!t || t->type != TOK_AT || !at(p, p->i + 3) ||
	    (p->t[p->i + 3]->type != TOK_WORD && p->t[p->i + 3]->type != TOK_STRING))
		return nft_perr(p->ctx, t ? t : p->t[p->i + 1],
		                "expected '@FLOWTABLE' after 'flow %s'", p->t[p->i + 1]->text);
	if (p->r->flowtable)
		return nft_perr(p->ctx, kw, "a rule can have only one flow statement");
	p->r->flowtable = strdup(p->t[p->i + 3]->text);
	if (!p->r->flowtable)
		return oom(p);
	p->r->flow_loc = nft_tok_loc(kw);
	p->after_flow = true;
	p->i += 4;
	return 0;
}

static int parse_item(struct rp *p)
{
	const struct tok *t = p->t[p->i];
	enum nft_match_key key;
	enum vclass vc;
	size_t end;
	const char *w = t->text;

	if (t->type == TOK_NEWLINE) {
		p->i++;
		return 0;
	}
	if (p->r->verdict != NFT_VERDICT_NONE && !(t->type == TOK_WORD && !strcmp(w, "comment")))
		return nft_perr(p->ctx, t, "statement after terminal statement '%s' has no effect",
		                p->verdict_tok ? p->verdict_tok->text : "verdict");
	if (t->type == TOK_AT)
		return parse_match(p);
	if (t->type != TOK_WORD)
		return nft_perr(p->ctx, t, "unexpected '%s' in rule", w);

	if (!strcmp(w, "accept"))
		return set_verdict(p, NFT_VERDICT_ACCEPT, t);
	if (!strcmp(w, "drop"))
		return set_verdict(p, NFT_VERDICT_DROP, t);
	if (!strcmp(w, "return"))
		return set_verdict(p, NFT_VERDICT_RETURN, t);
	if (!strcmp(w, "continue"))
		return set_verdict(p, NFT_VERDICT_CONTINUE, t);
	if (!strcmp(w, "reject")) {
		static const char *const args[] = {"with", "icmp",  "icmpv6", "icmpx",
		                                   "tcp",  "reset", "type"};

		set_verdict(p, NFT_VERDICT_REJECT, t);
		if (word_at(p, p->i, "with")) {
			SKIP_ARGS(p, args, false);
			if (p->i < p->n && p->t[p->i]->type == TOK_WORD &&
			    !is_stop_word(p->t[p->i]))
				p->i++; /* the icmp code name */
		}
		return 0;
	}
	if (!strcmp(w, "queue")) {
		static const char *const args[] = {"num", "flags", "bypass", "fanout", "to"};

		set_verdict(p, NFT_VERDICT_QUEUE, t);
		SKIP_ARGS(p, args, true);
		return 0;
	}
	if (!strcmp(w, "jump") || !strcmp(w, "goto")) {
		const struct tok *target = at(p, p->i + 1);

		if (!target || (target->type != TOK_WORD && target->type != TOK_STRING))
			return nft_perr(p->ctx, target ? target : t,
			                "expected a chain name after '%s'", w);
		p->r->target = strdup(target->text);
		if (!p->r->target)
			return oom(p);
		p->r->target_loc = nft_tok_loc(target);
		set_verdict(p, w[0] == 'j' ? NFT_VERDICT_JUMP : NFT_VERDICT_GOTO, t);
		p->i++;
		return 0;
	}
	if (!strcmp(w, "flow"))
		return parse_flow(p);
	if (!strcmp(w, "counter")) {
		static const char *const args[] = {"packets", "bytes", "name"};

		p->i++;
		SKIP_ARGS(p, args, true);
		return 0;
	}
	if (!strcmp(w, "log")) {
		static const char *const args[] = {
		    "prefix", "level",    "group",   "snaplen", "queue-threshold", "flags", "tcp",
		    "ip",     "sequence", "options", "skuid",   "ether",           "all",   "emerg",
		    "alert",  "crit",     "err",     "warn",    "notice",          "info",  "debug",
		    "audit"};

		p->i++;
		SKIP_ARGS(p, args, true);
		return 0;
	}
	if (!strcmp(w, "limit")) {
		static const char *const args[] = {"rate",   "over",   "until",  "burst", "packets",
		                                   "bytes",  "kbytes", "mbytes", "name",  "second",
		                                   "minute", "hour",   "day",    "week"};

		p->i++;
		SKIP_ARGS(p, args, true);
		return 0;
	}
	if (!strcmp(w, "comment")) {
		const struct tok *c = at(p, p->i + 1);

		if (!c || (c->type != TOK_STRING && c->type != TOK_WORD))
			return nft_perr(p->ctx, c ? c : t, "expected a string after 'comment'");
		free(p->r->comment);
		p->r->comment = strdup(c->text);
		if (!p->r->comment)
			return oom(p);
		p->i += 2;
		return 0;
	}
	if (!strcmp(w, "quota"))
		return unknown_statement(p, "statement");
	if (selector(p, p->i, &key, &vc, &end))
		return parse_match(p);
	if (IN_LIST(w, other_stmts))
		return unknown_statement(p, "statement");
	return nft_perr(p->ctx, t, "unknown statement or expression '%s'", w);
}

/* The protocol a match implies, as nft(8) knows it: ip saddr implies nfproto ipv4, tcp dport
 * implies l4proto tcp, `icmpv6 type` both. nfproto/l4proto are 0 when the match implies none. */
static void implied_protocols(const struct nft_match *m, unsigned *nfproto, unsigned *l4proto)
{
	static const struct {
		const char *word;
		unsigned nfproto, l4proto;
	} words[] = {
	    {"ip", 2, 0},       {"ip6", 10, 0}, {"icmp", 2, 1},
	    {"icmpv6", 10, 58}, {"tcp", 0, 6},  {"udp", 0, 17},
	};

	*nfproto = *l4proto = 0;
	switch (m->key) {
	case NFT_MATCH_IP_SADDR:
	case NFT_MATCH_IP_DADDR:
	case NFT_MATCH_IP_PROTOCOL:
		*nfproto = 2;
		return;
	case NFT_MATCH_IP6_SADDR:
	case NFT_MATCH_IP6_DADDR:
	case NFT_MATCH_IP6_NEXTHDR:
		*nfproto = 10;
		return;
	case NFT_MATCH_TCP_SPORT:
	case NFT_MATCH_TCP_DPORT:
		*l4proto = 6;
		return;
	case NFT_MATCH_UDP_SPORT:
	case NFT_MATCH_UDP_DPORT:
		*l4proto = 17;
		return;
	case NFT_MATCH_UNSUPPORTED:
		for (size_t i = 0; m->text && i < sizeof(words) / sizeof(words[0]); i++) {
			size_t len = strlen(words[i].word);

			if (!strncmp(m->text, words[i].word, len) && m->text[len] == ' ') {
				*nfproto = words[i].nfproto;
				*l4proto = words[i].l4proto;
			}
		}
		return;
	default:
		return;
	}
}

/*
 * Drops `meta nfproto X` / `meta l4proto X` matches that another match of the rule implies
 * (`meta nfproto ipv6 icmpv6 type ...` is `icmpv6 type ...`). nft itself does this when it
 * lists a ruleset, so the model of a file and of the kernel's listing agree; the meaning of
 * the rule does not change.
 */
static void drop_implied_dependencies(struct nft_rule *r)
{
	unsigned l4 = 0;
	size_t k = 0;

	/* `th dport` under a known protocol is that protocol's port, as nft lists it. */
	for (size_t i = 0; i < r->n_matches; i++) {
		const struct nft_match *m = &r->matches[i];

		if ((m->key == NFT_MATCH_L4PROTO || m->key == NFT_MATCH_IP_PROTOCOL ||
		     m->key == NFT_MATCH_IP6_NEXTHDR) &&
		    !m->negate && m->n_values == 1 && m->values[0].type == NFT_VALUE_NUM)
			l4 = (unsigned)m->values[0].num;
	}
	for (size_t i = 0; i < r->n_matches && (l4 == 6 || l4 == 17); i++) {
		struct nft_match *m = &r->matches[i];

		if (m->key == NFT_MATCH_TH_SPORT)
			m->key = l4 == 6 ? NFT_MATCH_TCP_SPORT : NFT_MATCH_UDP_SPORT;
		else if (m->key == NFT_MATCH_TH_DPORT)
			m->key = l4 == 6 ? NFT_MATCH_TCP_DPORT : NFT_MATCH_UDP_DPORT;
	}

	for (size_t i = 0; i < r->n_matches; i++) {
		struct nft_match *m = &r->matches[i];
		bool implied = false;

		if ((m->key == NFT_MATCH_NFPROTO || m->key == NFT_MATCH_L4PROTO) && !m->negate &&
		    m->n_values == 1 && m->values[0].type == NFT_VALUE_NUM) {
			for (size_t j = 0; j < r->n_matches && !implied; j++) {
				unsigned nfp, l4p;

				if (j == i)
					continue;
				implied_protocols(&r->matches[j], &nfp, &l4p);
				implied = m->key == NFT_MATCH_NFPROTO ? nfp == m->values[0].num
				                                      : l4p == m->values[0].num;
			}
		}
		if (implied)
			nft_match_free(m);
		else
			r->matches[k++] = *m;
	}
	r->n_matches = k;
}

int nft_parse_rule(struct pctx *ctx, const struct tok *const *t, size_t n, struct nft_rule *r)
{
	struct rp p = {.ctx = ctx, .t = t, .n = n, .r = r};

	memset(r, 0, sizeof(*r));
	r->loc = nft_tok_loc(t[0]);
	r->text = nft_tokens_text(t, 0, n);
	if (!r->text)
		return oom(&p);
	while (p.i < p.n)
		if (parse_item(&p))
			return -1;
	drop_implied_dependencies(r);
	r->complete = true;
	for (size_t i = 0; i < r->n_matches; i++)
		if (r->matches[i].key == NFT_MATCH_UNSUPPORTED)
			r->complete = false;
	return 0;
}
