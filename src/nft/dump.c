/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Canonical dumps of the nft model (text and JSON). Order that carries no meaning is sorted
 * (tables, flowtables, chains, devices, set values, the matches of a rule), so two models of
 * the same ruleset dump to the same bytes; rule order inside a chain is kept.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft-internal.h"

static const char *ct_state_name(uint64_t bit)
{
	switch (bit) {
	case NFT_CT_STATE_INVALID:
		return "invalid";
	case NFT_CT_STATE_ESTABLISHED:
		return "established";
	case NFT_CT_STATE_RELATED:
		return "related";
	case NFT_CT_STATE_NEW:
		return "new";
	case NFT_CT_STATE_UNTRACKED:
		return "untracked";
	default:
		return NULL;
	}
}

/* One value as text: 22, 1024-65535, 10.0.0.0/8, 10.0.0.1, a-b, eth0, established. */
static void value_str(const struct nft_match *m, const struct nft_value *v, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int af;

	switch (v->type) {
	case NFT_VALUE_NUM:
		if (m->key == NFT_MATCH_CT_STATE && ct_state_name(v->num))
			snprintf(buf, n, "%s", ct_state_name(v->num));
		else if (m->key == NFT_MATCH_META_MARK || m->key == NFT_MATCH_CT_MARK ||
		         m->key == NFT_MATCH_META_PROTOCOL)
			snprintf(buf, n, "0x%llx", (unsigned long long)v->num);
		else
			snprintf(buf, n, "%llu", (unsigned long long)v->num);
		return;
	case NFT_VALUE_RANGE:
		if (m->key == NFT_MATCH_META_MARK || m->key == NFT_MATCH_CT_MARK)
			snprintf(buf, n, "0x%llx-0x%llx", (unsigned long long)v->num,
			         (unsigned long long)v->num_hi);
		else
			snprintf(buf, n, "%llu-%llu", (unsigned long long)v->num,
			         (unsigned long long)v->num_hi);
		return;
	case NFT_VALUE_IPV4:
	case NFT_VALUE_IPV6:
		af = v->type == NFT_VALUE_IPV4 ? AF_INET : AF_INET6;
		if (!inet_ntop(af, &v->addr, a, sizeof(a)))
			a[0] = '\0';
		if (v->addr_range) {
			if (!inet_ntop(af, &v->addr_hi, b, sizeof(b)))
				b[0] = '\0';
			snprintf(buf, n, "%s-%s", a, b);
		} else if (v->prefix_len != (v->type == NFT_VALUE_IPV4 ? 32u : 128u)) {
			snprintf(buf, n, "%s/%u", a, v->prefix_len);
		} else {
			snprintf(buf, n, "%s", a);
		}
		return;
	case NFT_VALUE_NAME:
		snprintf(buf, n, "%s", v->name ? v->name : "");
		return;
	}
	buf[0] = '\0';
}

static char *loc_str(const struct nft_loc *l)
{
	char *s = NULL;

	if (!l->file)
		return NULL;
	if (asprintf(&s, "%s:%u:%u", l->file, l->line, l->col) < 0)
		return NULL;
	return s;
}

/* ---------------------------------------------------------------- JSON */

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v ? json_object_set_new(o, k, v) : -1;
}

static void set_loc(json_t *o, const struct nft_loc *l, unsigned int flags)
{
	char *s;

	if (flags & NFT_DUMP_NO_SOURCE)
		return;
	s = loc_str(l);
	if (s)
		set_new(o, "loc", json_string(s));
	free(s);
}

static json_t *match_json(const struct nft_match *m, unsigned int flags)
{
	json_t *o = json_object(), *vals = json_array();
	char buf[128];

	if (!o || !vals) {
		json_decref(o);
		json_decref(vals);
		return NULL;
	}
	set_new(o, "key", json_string(nft_match_key_name(m->key)));
	if (m->negate)
		set_new(o, "negate", json_true());
	for (size_t i = 0; i < m->n_values; i++) {
		value_str(m, &m->values[i], buf, sizeof(buf));
		json_array_append_new(vals, json_string(buf));
	}
	if (m->key != NFT_MATCH_UNSUPPORTED)
		set_new(o, "values", vals);
	else
		json_decref(vals);
	if ((m->key == NFT_MATCH_META_MARK || m->key == NFT_MATCH_CT_MARK) &&
	    m->mask != 0xffffffffu) {
		snprintf(buf, sizeof(buf), "0x%x", m->mask);
		set_new(o, "mask", json_string(buf));
	}
	if (m->reason)
		set_new(o, "reason", json_string(m->reason));
	if (!(flags & NFT_DUMP_NO_SOURCE)) {
		if (m->text)
			set_new(o, "text", json_string(m->text));
		set_loc(o, &m->loc, flags);
	}
	return o;
}

struct keyed {
	char *key;
	json_t *j;
};

static int keyed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

/* Matches sorted by their source-free rendering. */
static json_t *matches_json(const struct nft_rule *r, unsigned int flags)
{
	struct keyed *k = calloc(r->n_matches ? r->n_matches : 1, sizeof(*k));
	json_t *arr = json_array();

	if (!k || !arr) {
		free(k);
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < r->n_matches; i++) {
		json_t *bare = match_json(&r->matches[i], NFT_DUMP_NO_SOURCE);

		k[i].key = bare ? json_dumps(bare, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(bare);
		k[i].j = match_json(&r->matches[i], flags);
		if (!k[i].key)
			k[i].key = strdup("");
	}
	qsort(k, r->n_matches, sizeof(*k), keyed_cmp);
	for (size_t i = 0; i < r->n_matches; i++) {
		if (k[i].j)
			json_array_append_new(arr, k[i].j);
		free(k[i].key);
	}
	free(k);
	return arr;
}

static json_t *rule_json(const struct nft_rule *r, unsigned int flags)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	set_new(o, "matches", matches_json(r, flags));
	set_new(o, "complete", json_boolean(r->complete));
	set_new(o, "verdict", json_string(nft_verdict_name(r->verdict)));
	if (r->target)
		set_new(o, "target", json_string(r->target));
	if (r->flowtable)
		set_new(o, "flowtable", json_string(r->flowtable));
	if (!(flags & NFT_DUMP_NO_SOURCE)) {
		if (r->comment)
			set_new(o, "comment", json_string(r->comment));
		if (r->text)
			set_new(o, "text", json_string(r->text));
		set_loc(o, &r->loc, flags);
	}
	return o;
}

static json_t *table_json(const struct nft_table *t, unsigned int flags)
{
	json_t *o = json_object(), *fts = json_array(), *chains = json_array(),
	       *offl = json_array();

	if (!o || !fts || !chains || !offl) {
		json_decref(o);
		json_decref(fts);
		json_decref(chains);
		json_decref(offl);
		return NULL;
	}
	set_new(o, "family", json_string(nft_family_name(t->family)));
	set_new(o, "name", json_string(t->name));
	set_loc(o, &t->loc, flags);
	for (size_t i = 0; i < t->n_flowtables; i++) {
		const struct nft_flowtable *f = &t->flowtables[i];
		json_t *fo = json_object(), *devs = json_array();

		for (size_t d = 0; d < f->n_devices; d++)
			json_array_append_new(devs, json_string(f->devices[d]));
		set_new(fo, "name", json_string(f->name));
		set_new(fo, "hook", json_string(f->hook ? f->hook : ""));
		set_new(fo, "priority", json_integer(f->priority));
		set_new(fo, "devices", devs);
		set_new(fo, "offload", json_boolean(f->offload));
		set_new(fo, "counter", json_boolean(f->counter));
		set_loc(fo, &f->loc, flags);
		json_array_append_new(fts, fo);
	}
	for (size_t i = 0; i < t->n_chains; i++) {
		const struct nft_chain *c = &t->chains[i];
		json_t *co = json_object(), *rules = json_array();

		set_new(co, "name", json_string(c->name));
		if (c->base) {
			set_new(co, "type", json_string(c->type));
			set_new(co, "hook", json_string(c->hook));
			set_new(co, "priority", json_integer(c->priority));
			set_new(co, "policy",
			        json_string(c->policy == NFT_POLICY_DROP ? "drop" : "accept"));
		}
		for (size_t r = 0; r < c->n_rules; r++)
			json_array_append_new(rules, rule_json(&c->rules[r], flags));
		set_new(co, "rules", rules);
		set_loc(co, &c->loc, flags);
		json_array_append_new(chains, co);
	}
	for (size_t i = 0; i < t->n_offload_rules; i++) {
		const struct nft_offload_rule *r = &t->offload_rules[i];
		json_t *ro = json_object(), *ex = json_array();

		set_new(ro, "chain", json_string(r->chain->name));
		set_new(ro, "flowtable", json_string(r->rule->flowtable));
		set_new(ro, "rule", rule_json(r->rule, flags));
		for (size_t e = 0; e < r->n_exclusions; e++)
			json_array_append_new(ex, rule_json(r->exclusions[e], flags));
		set_new(ro, "exclusions", ex);
		set_new(ro, "exclusions_complete", json_boolean(r->exclusions_complete));
		json_array_append_new(offl, ro);
	}
	set_new(o, "flowtables", fts);
	set_new(o, "chains", chains);
	set_new(o, "offload_rules", offl);
	return o;
}

char *nft_ruleset_dump_json(const struct nft_ruleset *rs, unsigned int flags)
{
	json_t *root = json_object(), *tables = json_array();
	char *s;

	if (!root || !tables) {
		json_decref(root);
		json_decref(tables);
		return NULL;
	}
	for (size_t i = 0; rs && i < rs->n_tables; i++)
		json_array_append_new(tables, table_json(&rs->tables[i], flags));
	set_new(root, "tables", tables);
	if (rs && !(flags & NFT_DUMP_NO_SOURCE) && rs->n_warnings) {
		json_t *w = json_array();

		for (size_t i = 0; i < rs->n_warnings; i++)
			json_array_append_new(w, json_string(rs->warnings[i]));
		set_new(root, "warnings", w);
	}
	s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	return s;
}

/* ---------------------------------------------------------------- text */

static void match_text(FILE *f, const struct nft_match *m, unsigned int flags)
{
	char buf[128];

	if (m->key == NFT_MATCH_UNSUPPORTED) {
		fprintf(f, "unsupported(%s)", m->reason ? m->reason : "?");
		if (!(flags & NFT_DUMP_NO_SOURCE) && m->text)
			fprintf(f, " \"%s\"", m->text);
		return;
	}
	fprintf(f, "%s", nft_match_key_name(m->key));
	if ((m->key == NFT_MATCH_META_MARK || m->key == NFT_MATCH_CT_MARK) &&
	    m->mask != 0xffffffffu)
		fprintf(f, " & 0x%x", m->mask);
	fprintf(f, " %s", m->negate ? "!= " : "");
	if (m->n_values != 1)
		fprintf(f, "{ ");
	for (size_t i = 0; i < m->n_values; i++) {
		value_str(m, &m->values[i], buf, sizeof(buf));
		fprintf(f, "%s%s", i ? ", " : "", buf);
	}
	if (m->n_values != 1)
		fprintf(f, " }");
}

static int str_qcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void rule_text(FILE *f, const struct nft_rule *r, unsigned int flags)
{
	char **parts = calloc(r->n_matches ? r->n_matches : 1, sizeof(char *));

	for (size_t i = 0; parts && i < r->n_matches; i++) {
		size_t len;
		FILE *mf = open_memstream(&parts[i], &len);

		if (mf) {
			match_text(mf, &r->matches[i], flags);
			fclose(mf);
		}
		if (!parts[i])
			parts[i] = strdup("");
	}
	if (parts)
		qsort(parts, r->n_matches, sizeof(char *), str_qcmp);
	for (size_t i = 0; parts && i < r->n_matches; i++) {
		fprintf(f, "%s%s", i ? " " : "", parts[i] ? parts[i] : "");
		free(parts[i]);
	}
	free(parts);
	if (r->flowtable)
		fprintf(f, "%sflow add @%s", r->n_matches ? " " : "", r->flowtable);
	if (r->verdict != NFT_VERDICT_NONE)
		fprintf(f, "%s%s", (r->n_matches || r->flowtable) ? " " : "",
		        nft_verdict_name(r->verdict));
	if (r->target)
		fprintf(f, " %s", r->target);
	if (!(flags & NFT_DUMP_NO_SOURCE)) {
		char *l = loc_str(&r->loc);

		if (l)
			fprintf(f, "  # %s", l);
		free(l);
	}
}

char *nft_ruleset_dump_text(const struct nft_ruleset *rs, unsigned int flags)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	for (size_t ti = 0; rs && ti < rs->n_tables; ti++) {
		const struct nft_table *t = &rs->tables[ti];

		fprintf(f, "table %s %s\n", nft_family_name(t->family), t->name);
		for (size_t i = 0; i < t->n_flowtables; i++) {
			const struct nft_flowtable *ft = &t->flowtables[i];

			fprintf(f, "  flowtable %s hook %s priority %d devices {", ft->name,
			        ft->hook ? ft->hook : "?", ft->priority);
			for (size_t d = 0; d < ft->n_devices; d++)
				fprintf(f, "%s %s", d ? "," : "", ft->devices[d]);
			fprintf(f, " }%s%s\n", ft->counter ? " counter" : "",
			        ft->offload ? " flags offload" : "");
		}
		for (size_t i = 0; i < t->n_chains; i++) {
			const struct nft_chain *c = &t->chains[i];

			fprintf(f, "  chain %s", c->name);
			if (c->base)
				fprintf(f, " type %s hook %s priority %d policy %s", c->type,
				        c->hook, c->priority,
				        c->policy == NFT_POLICY_DROP ? "drop" : "accept");
			fprintf(f, "\n");
			for (size_t r = 0; r < c->n_rules; r++) {
				fprintf(f, "    rule ");
				rule_text(f, &c->rules[r], flags);
				fprintf(f, "\n");
			}
		}
		for (size_t i = 0; i < t->n_offload_rules; i++) {
			const struct nft_offload_rule *o = &t->offload_rules[i];

			fprintf(f, "  offload chain %s flowtable %s%s\n    when ", o->chain->name,
			        o->rule->flowtable,
			        o->exclusions_complete ? "" : " (exclusions incomplete)");
			rule_text(f, o->rule, flags);
			fprintf(f, "\n");
			for (size_t e = 0; e < o->n_exclusions; e++) {
				fprintf(f, "    unless ");
				rule_text(f, o->exclusions[e], flags);
				fprintf(f, "\n");
			}
		}
	}
	if (rs && !(flags & NFT_DUMP_NO_SOURCE))
		for (size_t i = 0; i < rs->n_warnings; i++)
			fprintf(f, "%s\n", rs->warnings[i]);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}
