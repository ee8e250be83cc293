/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The nft model's plumbing: freeing, names, priorities, lookups, error formatting. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft-internal.h"

void nft_value_free(struct nft_value *v)
{
	free(v->name);
	v->name = NULL;
}

void nft_match_free(struct nft_match *m)
{
	for (size_t i = 0; i < m->n_values; i++)
		nft_value_free(&m->values[i]);
	free(m->values);
	free(m->text);
	free(m->reason);
	memset(m, 0, sizeof(*m));
}

void nft_rule_free(struct nft_rule *r)
{
	for (size_t i = 0; i < r->n_matches; i++)
		nft_match_free(&r->matches[i]);
	free(r->matches);
	free(r->target);
	free(r->flowtable);
	free(r->comment);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

void nft_chain_free(struct nft_chain *c)
{
	for (size_t i = 0; i < c->n_rules; i++)
		nft_rule_free(&c->rules[i]);
	free(c->rules);
	free(c->name);
	free(c->type);
	free(c->hook);
	memset(c, 0, sizeof(*c));
}

void nft_flowtable_free(struct nft_flowtable *f)
{
	for (size_t i = 0; i < f->n_devices; i++)
		free(f->devices[i]);
	free(f->devices);
	free(f->name);
	free(f->hook);
	memset(f, 0, sizeof(*f));
}

void nft_table_free(struct nft_table *t)
{
	for (size_t i = 0; i < t->n_flowtables; i++)
		nft_flowtable_free(&t->flowtables[i]);
	free(t->flowtables);
	for (size_t i = 0; i < t->n_chains; i++)
		nft_chain_free(&t->chains[i]);
	free(t->chains);
	for (size_t i = 0; i < t->n_offload_rules; i++)
		free(t->offload_rules[i].exclusions);
	free(t->offload_rules);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

void nft_ruleset_free(struct nft_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_tables; i++)
		nft_table_free(&rs->tables[i]);
	free(rs->tables);
	for (size_t i = 0; i < rs->n_warnings; i++)
		free(rs->warnings[i]);
	free(rs->warnings);
	for (size_t i = 0; i < rs->n_files; i++)
		free(rs->files[i]);
	free(rs->files);
	free(rs);
}

void nft_error_clear(struct nft_error *err)
{
	if (!err)
		return;
	free(err->file);
	free(err->message);
	free(err->formatted);
	memset(err, 0, sizeof(*err));
}

/* The text of line `line` of src (without newline), or "" when out of range. */
static void source_line(const struct nft_src *src, unsigned int line, const char **start,
                        size_t *len)
{
	const char *p = src ? src->buf : NULL, *end;
	unsigned int l = 1;

	*start = "";
	*len = 0;
	if (!p)
		return;
	end = p + src->len;
	while (p < end && l < line) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			return;
		p = nl + 1;
		l++;
	}
	if (l != line)
		return;
	*start = p;
	while (p < end && *p != '\n')
		p++;
	*len = (size_t)(p - *start);
	if (*len && (*start)[*len - 1] == '\r')
		(*len)--;
}

void nft_error_set(struct nft_error *err, const struct nft_src *src, unsigned int line,
                   unsigned int col, const char *fmt, va_list ap)
{
	char *msg = NULL, *caret = NULL, *out = NULL;
	const char *ls;
	size_t ll;

	if (!err || err->message)
		return; /* keep the first error */
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	err->message = msg;
	err->line = line;
	err->col = col;
	err->file = src ? strdup(src->name) : NULL;
	source_line(src, line, &ls, &ll);
	caret = malloc((size_t)col + 1);
	if (caret) {
		size_t i;

		/* keep tabs so the caret lines up under the column */
		for (i = 0; i + 1 < col; i++)
			caret[i] = (i < ll && ls[i] == '\t') ? '\t' : ' ';
		caret[i++] = '^';
		caret[i] = '\0';
	}
	if (src) {
		if (asprintf(&out, "%s:%u:%u: error: %s\n%.*s\n%s\n", src->name, line, col,
		             msg ? msg : "out of memory", (int)ll, ls, caret ? caret : "^") < 0)
			out = NULL;
	} else if (asprintf(&out, "error: %s\n", msg ? msg : "out of memory") < 0) {
		out = NULL;
	}
	free(caret);
	err->formatted = out;
}

static const char *const family_names[] = {
    [NFT_FAMILY_IP] = "ip",   [NFT_FAMILY_IP6] = "ip6",       [NFT_FAMILY_INET] = "inet",
    [NFT_FAMILY_ARP] = "arp", [NFT_FAMILY_BRIDGE] = "bridge", [NFT_FAMILY_NETDEV] = "netdev",
};

const char *nft_family_name(enum nft_family f)
{
	if ((unsigned int)f < sizeof(family_names) / sizeof(family_names[0]))
		return family_names[f];
	return "?";
}

static const char *const key_names[] = {
    [NFT_MATCH_UNSUPPORTED] = "unsupported",
    [NFT_MATCH_L4PROTO] = "meta l4proto",
    [NFT_MATCH_IP_PROTOCOL] = "ip protocol",
    [NFT_MATCH_IP6_NEXTHDR] = "ip6 nexthdr",
    [NFT_MATCH_NFPROTO] = "meta nfproto",
    [NFT_MATCH_META_PROTOCOL] = "meta protocol",
    [NFT_MATCH_IP_SADDR] = "ip saddr",
    [NFT_MATCH_IP_DADDR] = "ip daddr",
    [NFT_MATCH_IP6_SADDR] = "ip6 saddr",
    [NFT_MATCH_IP6_DADDR] = "ip6 daddr",
    [NFT_MATCH_IIFNAME] = "meta iifname",
    [NFT_MATCH_OIFNAME] = "meta oifname",
    [NFT_MATCH_IIF] = "meta iif",
    [NFT_MATCH_OIF] = "meta oif",
    [NFT_MATCH_TCP_SPORT] = "tcp sport",
    [NFT_MATCH_TCP_DPORT] = "tcp dport",
    [NFT_MATCH_UDP_SPORT] = "udp sport",
    [NFT_MATCH_UDP_DPORT] = "udp dport",
    [NFT_MATCH_TH_SPORT] = "th sport",
    [NFT_MATCH_TH_DPORT] = "th dport",
    [NFT_MATCH_CT_STATE] = "ct state",
    [NFT_MATCH_CT_ZONE] = "ct zone",
    [NFT_MATCH_META_MARK] = "meta mark",
    [NFT_MATCH_CT_MARK] = "ct mark",
};

const char *nft_match_key_name(enum nft_match_key k)
{
	if ((unsigned int)k < NFT_MATCH_KEY_MAX)
		return key_names[k];
	return "?";
}

static const char *const verdict_names[] = {
    [NFT_VERDICT_NONE] = "none",         [NFT_VERDICT_ACCEPT] = "accept",
    [NFT_VERDICT_DROP] = "drop",         [NFT_VERDICT_REJECT] = "reject",
    [NFT_VERDICT_QUEUE] = "queue",       [NFT_VERDICT_JUMP] = "jump",
    [NFT_VERDICT_GOTO] = "goto",         [NFT_VERDICT_RETURN] = "return",
    [NFT_VERDICT_CONTINUE] = "continue", [NFT_VERDICT_VMAP] = "vmap",
};

const char *nft_verdict_name(enum nft_verdict v)
{
	if ((unsigned int)v < sizeof(verdict_names) / sizeof(verdict_names[0]))
		return verdict_names[v];
	return "?";
}

/* nft(8), "PRIORITY": standard priority names per family and hook. */
struct std_prio {
	const char *name;
	int value;
	const char *hook; /* NULL: every hook */
};

static const struct std_prio inet_prios[] = {
    {"raw", -300, NULL}, {"mangle", -150, NULL}, {"dstnat", -100, "prerouting"},
    {"filter", 0, NULL}, {"security", 50, NULL}, {"srcnat", 100, "postrouting"},
};

static const struct std_prio bridge_prios[] = {
    {"dstnat", -300, "prerouting"},
    {"filter", -200, NULL},
    {"out", 100, "output"},
    {"srcnat", 300, "postrouting"},
};

static const struct std_prio other_prios[] = {
    {"filter", 0, NULL},
};

int nft_priority_keyword(const char *kw, enum nft_family family, const char *hook, int *out)
{
	const struct std_prio *tab;
	size_t n;

	switch (family) {
	case NFT_FAMILY_IP:
	case NFT_FAMILY_IP6:
	case NFT_FAMILY_INET:
		tab = inet_prios;
		n = sizeof(inet_prios) / sizeof(inet_prios[0]);
		break;
	case NFT_FAMILY_BRIDGE:
		tab = bridge_prios;
		n = sizeof(bridge_prios) / sizeof(bridge_prios[0]);
		break;
	default:
		tab = other_prios;
		n = 1;
		break;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(tab[i].name, kw))
			continue;
		if (tab[i].hook && (!hook || strcmp(tab[i].hook, hook)))
			return -1;
		*out = tab[i].value;
		return 0;
	}
	return -1;
}

const struct nft_table *nft_ruleset_table(const struct nft_ruleset *rs, enum nft_family family,
                                          const char *name)
{
	for (size_t i = 0; rs && i < rs->n_tables; i++)
		if (rs->tables[i].family == family && !strcmp(rs->tables[i].name, name))
			return &rs->tables[i];
	return NULL;
}

const struct nft_flowtable *nft_table_flowtable(const struct nft_table *t, const char *name)
{
	for (size_t i = 0; t && i < t->n_flowtables; i++)
		if (!strcmp(t->flowtables[i].name, name))
			return &t->flowtables[i];
	return NULL;
}

const struct nft_chain *nft_table_chain(const struct nft_table *t, const char *name)
{
	for (size_t i = 0; t && i < t->n_chains; i++)
		if (!strcmp(t->chains[i].name, name))
			return &t->chains[i];
	return NULL;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

int nft_value_cmp(const struct nft_value *a, const struct nft_value *b)
{
	int r;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	switch (a->type) {
	case NFT_VALUE_NUM:
	case NFT_VALUE_RANGE:
		r = cmp_u64(a->num, b->num);
		return r ? r : cmp_u64(a->num_hi, b->num_hi);
	case NFT_VALUE_IPV4:
	case NFT_VALUE_IPV6: {
		size_t sz = a->type == NFT_VALUE_IPV4 ? 4 : 16;

		r = memcmp(&a->addr, &b->addr, sz);
		if (r)
			return r;
		if (a->addr_range != b->addr_range)
			return a->addr_range ? 1 : -1;
		if (a->addr_range)
			return memcmp(&a->addr_hi, &b->addr_hi, sz);
		return cmp_u64(a->prefix_len, b->prefix_len);
	}
	case NFT_VALUE_NAME:
		return strcmp(a->name ? a->name : "", b->name ? b->name : "");
	}
	return 0;
}

static int value_qcmp(const void *a, const void *b)
{
	return nft_value_cmp(a, b);
}

void nft_values_canonicalize(struct nft_match *m)
{
	size_t w = 0;

	if (m->n_values < 2)
		return;
	qsort(m->values, m->n_values, sizeof(*m->values), value_qcmp);
	for (size_t i = 0; i < m->n_values; i++) {
		if (w && !nft_value_cmp(&m->values[w - 1], &m->values[i])) {
			nft_value_free(&m->values[i]);
			continue;
		}
		m->values[w++] = m->values[i];
	}
	m->n_values = w;
}
