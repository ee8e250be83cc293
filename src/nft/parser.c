/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nftables ruleset parser: recursive descent over the lexer's tokens.
 *
 * Top level: include, define/redefine/undefine, table blocks, the `add|create|insert` command
 * forms (table, chain, flowtable, rule; sets, maps and other objects are skipped), `flush
 * ruleset`; delete/list/reset/... are skipped with a warning. Inside tables: chains,
 * flowtables, and objects skipped by balanced braces. Inside chains: the base chain
 * declaration, policy, and rules (handed to rule.c as token slices).
 *
 * `$name` is expanded by the token cursor, so every parser sees plain tokens; definitions are
 * stored expanded. After the whole input is read, references are checked (flowtables, jump
 * targets), everything is sorted and the offload rules with their exclusions are built.
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft-internal.h"

struct define {
	char *name;
	struct tok_array val; /* expanded tokens (texts owned), no EOF */
};

struct cursor {
	const struct tok *toks; /* ends with TOK_EOF */
	size_t pos;
	const struct tok *exp; /* tokens of a $variable being read */
	size_t exp_n;
	size_t exp_pos;
};

struct pctx {
	struct nft_error *err;
	bool failed;
	struct nft_ruleset *rs;
	struct nft_src **srcs;
	size_t n_srcs;
	struct tok_array **arrays;
	size_t n_arrays;
	struct define *defs;
	size_t n_defs;
	struct cursor *cur;
	int include_depth;
	struct tok eof;
	bool *declared; /* per table: declared by a table command */
	size_t n_declared;
};

/* ---------------------------------------------------------------- errors and helpers */

static const struct nft_src *src_of_loc(struct pctx *ctx, const struct nft_loc *loc)
{
	for (size_t i = 0; i < ctx->n_srcs; i++)
		if (ctx->srcs[i]->name == loc->file)
			return ctx->srcs[i];
	return NULL;
}

static int perr_at(struct pctx *ctx, const struct nft_src *src, unsigned int line, unsigned int col,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int perr_at(struct pctx *ctx, const struct nft_src *src, unsigned int line, unsigned int col,
                   const char *fmt, ...)
{
	va_list ap;

	if (ctx->failed)
		return -1;
	ctx->failed = true;
	va_start(ap, fmt);
	nft_error_set(ctx->err, src, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

int nft_perr(struct pctx *ctx, const struct tok *at, const char *fmt, ...)
{
	va_list ap;

	if (ctx->failed)
		return -1;
	ctx->failed = true;
	va_start(ap, fmt);
	nft_error_set(ctx->err, at ? at->src : NULL, at ? at->line : 0, at ? at->col : 0, fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct pctx *ctx)
{
	return nft_perr(ctx, NULL, "out of memory");
}

struct nft_loc nft_tok_loc(const struct tok *t)
{
	struct nft_loc l = {t->src ? t->src->name : NULL, t->line, t->col};

	return l;
}

static void warn(struct pctx *ctx, const struct tok *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn(struct pctx *ctx, const struct tok *at, const char *fmt, ...)
{
	struct nft_ruleset *rs = ctx->rs;
	char *msg = NULL, *out = NULL;
	char **nw;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	if (asprintf(&out, "%s:%u:%u: warning: %s", at->src ? at->src->name : "?", at->line,
	             at->col, msg) < 0)
		out = NULL;
	free(msg);
	if (!out)
		return;
	nw = realloc(rs->warnings, (rs->n_warnings + 1) * sizeof(*nw));
	if (!nw) {
		free(out);
		return;
	}
	rs->warnings = nw;
	rs->warnings[rs->n_warnings++] = out;
}

/* Append a zeroed element to a heap array; returns it or NULL. */
static void *append(void *arrp, size_t *n, size_t size)
{
	void **arr = arrp;
	char *p;

	if (*n >= SIZE_MAX / size - 1)
		return NULL;
	p = realloc(*arr, (*n + 1) * size);
	if (!p)
		return NULL;
	*arr = p;
	memset(p + *n * size, 0, size);
	return p + (*n)++ * size;
}

static const char *tok_desc(const struct tok *t)
{
	switch (t->type) {
	case TOK_EOF:
		return "end of file";
	case TOK_NEWLINE:
		return "newline";
	default:
		return t->text;
	}
}

/* ---------------------------------------------------------------- the token cursor */

static const struct define *find_define(struct pctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->n_defs; i++)
		if (!strcmp(ctx->defs[i].name, name))
			return &ctx->defs[i];
	return NULL;
}

static const struct tok *peek(struct pctx *ctx)
{
	struct cursor *c = ctx->cur;

	if (ctx->failed || !c)
		return &ctx->eof;
	for (;;) {
		const struct tok *t;
		const struct define *d;

		if (c->exp) {
			if (c->exp_pos < c->exp_n)
				return &c->exp[c->exp_pos];
			c->exp = NULL;
		}
		t = &c->toks[c->pos];
		if (t->type != TOK_VAR)
			return t;
		d = find_define(ctx, t->text);
		if (!d) {
			nft_perr(ctx, t, "undefined variable '$%s'", t->text);
			return &ctx->eof;
		}
		c->pos++;
		c->exp = d->val.v;
		c->exp_n = d->val.n;
		c->exp_pos = 0;
	}
}

static const struct tok *next(struct pctx *ctx)
{
	const struct tok *t = peek(ctx);
	struct cursor *c = ctx->cur;

	if (t->type == TOK_EOF)
		return t;
	if (c->exp && c->exp_pos < c->exp_n)
		c->exp_pos++;
	else
		c->pos++;
	return t;
}

static bool is_kw(const struct tok *t, const char *w)
{
	return t->type == TOK_WORD && !strcmp(t->text, w);
}

static bool is_sep(const struct tok *t)
{
	return t->type == TOK_NEWLINE || t->type == TOK_SEMI;
}

/* End of a statement: a separator (consumed), or a '}' / end of file (left). */
static int expect_end(struct pctx *ctx, const char *what)
{
	const struct tok *t = peek(ctx);

	if (ctx->failed)
		return -1;
	if (is_sep(t)) {
		next(ctx);
		return 0;
	}
	if (t->type == TOK_RBRACE || t->type == TOK_EOF)
		return 0;
	return nft_perr(ctx, t, "expected ';' or newline after %s, got '%s'", what, tok_desc(t));
}

/* After a nested block's '}', nft wants a separator (or end of file at the top level). */
static int expect_block_end(struct pctx *ctx, bool top)
{
	const struct tok *t = peek(ctx);

	if (ctx->failed)
		return -1;
	if (is_sep(t)) {
		next(ctx);
		return 0;
	}
	if (t->type == TOK_EOF && top)
		return 0;
	return nft_perr(ctx, t, "expected ';' or newline after '}', got '%s'", tok_desc(t));
}

static int name_tok(struct pctx *ctx, const char *what, const struct tok **out)
{
	const struct tok *t = peek(ctx);

	if (t->type != TOK_WORD && t->type != TOK_STRING)
		return nft_perr(ctx, t, "expected %s, got '%s'", what, tok_desc(t));
	*out = next(ctx);
	return 0;
}

/*
 * Skip one statement: tokens up to a separator or '}' at depth 0 (not consumed), braces
 * balanced. Errors on an unclosed brace.
 */
static int skip_statement(struct pctx *ctx)
{
	const struct tok *open[NFT_MAX_NEST_DEPTH];
	int depth = 0;

	for (;;) {
		const struct tok *t = peek(ctx);

		if (ctx->failed)
			return -1;
		if (t->type == TOK_EOF) {
			if (depth)
				return nft_perr(ctx, open[depth - 1],
				                "unbalanced braces: '{' is never closed");
			return 0;
		}
		if (!depth && (is_sep(t) || t->type == TOK_RBRACE))
			return 0;
		if (t->type == TOK_LBRACE) {
			if (depth == NFT_MAX_NEST_DEPTH)
				return nft_perr(ctx, t, "nesting too deep");
			open[depth++] = t;
		} else if (t->type == TOK_RBRACE) {
			depth--;
		}
		next(ctx);
	}
}

/* ---------------------------------------------------------------- model building helpers */

static char *xstrdup(struct pctx *ctx, const char *s)
{
	char *d = strdup(s);

	if (!d)
		oom(ctx);
	return d;
}

static bool family_from_word(const char *w, enum nft_family *f)
{
	static const struct {
		const char *name;
		enum nft_family f;
	} fams[] = {
	    {"ip", NFT_FAMILY_IP},   {"ip6", NFT_FAMILY_IP6},       {"inet", NFT_FAMILY_INET},
	    {"arp", NFT_FAMILY_ARP}, {"bridge", NFT_FAMILY_BRIDGE}, {"netdev", NFT_FAMILY_NETDEV},
	};

	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		if (!strcmp(w, fams[i].name)) {
			*f = fams[i].f;
			return true;
		}
	}
	return false;
}

/* [family] name; family defaults to ip as in nft. */
static int table_spec(struct pctx *ctx, enum nft_family *fam, const struct tok **name)
{
	const struct tok *t = peek(ctx);

	*fam = NFT_FAMILY_IP;
	if (t->type == TOK_WORD && family_from_word(t->text, fam)) {
		next(ctx);
		t = peek(ctx);
		if (t->type != TOK_WORD && t->type != TOK_STRING)
			return nft_perr(ctx, t, "expected a table name, got '%s'", tok_desc(t));
	}
	return name_tok(ctx, "a table name", name);
}

static int table_get(struct pctx *ctx, enum nft_family fam, const struct tok *name, bool declare)
{
	struct nft_ruleset *rs = ctx->rs;
	struct nft_table *t;
	size_t i;

	for (i = 0; i < rs->n_tables; i++)
		if (rs->tables[i].family == fam && !strcmp(rs->tables[i].name, name->text))
			break;
	if (i == rs->n_tables) {
		size_t nd = ctx->n_declared;

		t = append(&rs->tables, &rs->n_tables, sizeof(*t));
		if (!t || !append(&ctx->declared, &nd, sizeof(bool)))
			return oom(ctx);
		ctx->n_declared = nd;
		t->family = fam;
		t->loc = nft_tok_loc(name);
		t->name = xstrdup(ctx, name->text);
		if (!t->name)
			return -1;
	}
	if (declare)
		ctx->declared[i] = true;
	return (int)i;
}

static int chain_get(struct pctx *ctx, int ti, const struct tok *name)
{
	struct nft_table *t = &ctx->rs->tables[ti];
	struct nft_chain *c;

	for (size_t i = 0; i < t->n_chains; i++)
		if (!strcmp(t->chains[i].name, name->text))
			return (int)i;
	c = append(&t->chains, &t->n_chains, sizeof(*c));
	if (!c)
		return oom(ctx);
	c->loc = nft_tok_loc(name);
	c->name = xstrdup(ctx, name->text);
	if (!c->name)
		return -1;
	return (int)(t->n_chains - 1);
}

static int flowtable_get(struct pctx *ctx, int ti, const struct tok *name)
{
	struct nft_table *t = &ctx->rs->tables[ti];
	struct nft_flowtable *f;

	for (size_t i = 0; i < t->n_flowtables; i++)
		if (!strcmp(t->flowtables[i].name, name->text))
			return (int)i;
	f = append(&t->flowtables, &t->n_flowtables, sizeof(*f));
	if (!f)
		return oom(ctx);
	f->loc = nft_tok_loc(name);
	f->name = xstrdup(ctx, name->text);
	if (!f->name)
		return -1;
	return (int)(t->n_flowtables - 1);
}

/* ---------------------------------------------------------------- priorities */

static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (!*s)
		return -1;
	errno = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		v = strtoll(s + 2, &end, 16);
	else
		v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/*
 * PRIO: [-]NUM | KEYWORD [(+|-) NUM]. Flowtables resolve keywords as netdev/ingress (only
 * `filter`), chains by their family and hook.
 */
static int parse_priority(struct pctx *ctx, enum nft_family fam, const char *hook, bool flowtable,
                          int *out)
{
	const struct tok *t = next(ctx), *start = t;
	long long v, off;
	bool neg = false;
	int base;

	if (t->type == TOK_OP && !strcmp(t->text, "-")) {
		neg = true;
		t = next(ctx);
	}
	if (t->type != TOK_WORD)
		return nft_perr(ctx, t,
		                "bad priority expression: expected a number or a name, got '%s'",
		                tok_desc(t));
	if (t->text[0] >= '0' && t->text[0] <= '9') {
		if (parse_int(t->text, 0, INT_MAX, &v))
			return nft_perr(ctx, t, "bad priority expression: '%s' is not a number",
			                t->text);
		*out = (int)(neg ? -v : v);
		return 0;
	}
	if (neg)
		return nft_perr(ctx, t, "bad priority expression: '-%s'", t->text);
	if (nft_priority_keyword(t->text, flowtable ? NFT_FAMILY_NETDEV : fam,
	                         flowtable ? "ingress" : hook, &base)) {
		if (flowtable)
			return nft_perr(ctx, start,
			                "invalid priority expression '%s': flowtables accept a "
			                "number or 'filter' with an offset",
			                t->text);
		return nft_perr(ctx, start,
		                "invalid priority expression '%s' for family %s hook %s", t->text,
		                nft_family_name(fam), hook ? hook : "?");
	}
	t = peek(ctx);
	if (t->type == TOK_OP && (!strcmp(t->text, "+") || !strcmp(t->text, "-"))) {
		bool minus = t->text[0] == '-';

		next(ctx);
		t = next(ctx);
		if (t->type != TOK_WORD || parse_int(t->text, 0, INT_MAX, &off))
			return nft_perr(ctx, t,
			                "bad priority expression: expected a number after '%c'",
			                minus ? '-' : '+');
		v = minus ? (long long)base - off : (long long)base + off;
		if (v < INT_MIN || v > INT_MAX)
			return nft_perr(ctx, t, "bad priority expression: out of range");
		*out = (int)v;
		return 0;
	}
	*out = base;
	return 0;
}

/* ---------------------------------------------------------------- defines */

static int copy_tok(struct pctx *ctx, struct tok_array *a, const struct tok *t)
{
	struct tok *d;

	if (nft_grow(&a->v, &a->cap, a->n, sizeof(*a->v)))
		return oom(ctx);
	d = &a->v[a->n];
	*d = *t;
	d->text = strdup(t->text);
	if (!d->text)
		return oom(ctx);
	a->n++;
	return 0;
}

/* define NAME = VALUE (VALUE: tokens up to the end of the statement, braces balanced). */
static int parse_define(struct pctx *ctx, bool redefine)
{
	const struct tok *kw = next(ctx), *name, *open[NFT_MAX_NEST_DEPTH];
	struct tok_array val = {0};
	struct define *d;
	int depth = 0;

	if (peek(ctx)->type != TOK_WORD)
		return nft_perr(ctx, peek(ctx), "expected a variable name after '%s'", kw->text);
	name = next(ctx);
	if (peek(ctx)->type != TOK_ASSIGN)
		return nft_perr(ctx, peek(ctx), "expected '=' after 'define %s'", name->text);
	next(ctx);
	for (;;) {
		const struct tok *t = peek(ctx);

		if (ctx->failed)
			goto fail;
		if (t->type == TOK_EOF && depth) {
			nft_perr(ctx, open[depth - 1], "unbalanced braces: '{' is never closed");
			goto fail;
		}
		if (t->type == TOK_EOF || (!depth && (is_sep(t) || t->type == TOK_RBRACE)))
			break;
		if (t->type == TOK_LBRACE) {
			if (depth == NFT_MAX_NEST_DEPTH) {
				nft_perr(ctx, t, "nesting too deep");
				goto fail;
			}
			open[depth++] = t;
		} else if (t->type == TOK_RBRACE) {
			depth--;
		}
		if (t->type == TOK_NEWLINE) { /* inside braces */
			next(ctx);
			continue;
		}
		if (copy_tok(ctx, &val, t))
			goto fail;
		next(ctx);
	}
	if (!val.n) {
		nft_perr(ctx, peek(ctx), "'define %s' has no value", name->text);
		goto fail;
	}
	for (size_t i = 0; i < ctx->n_defs; i++) {
		if (strcmp(ctx->defs[i].name, name->text))
			continue;
		if (!redefine) {
			nft_perr(ctx, name, "redefinition of variable '$%s' (use 'redefine')",
			         name->text);
			goto fail;
		}
		nft_tok_array_free(&ctx->defs[i].val);
		ctx->defs[i].val = val;
		return expect_end(ctx, "a define");
	}
	d = append(&ctx->defs, &ctx->n_defs, sizeof(*d));
	if (!d) {
		oom(ctx);
		goto fail;
	}
	d->val = val;
	d->name = xstrdup(ctx, name->text);
	if (!d->name)
		return -1;
	return expect_end(ctx, "a define");
fail:
	nft_tok_array_free(&val);
	return -1;
}

static int parse_undefine(struct pctx *ctx)
{
	const struct tok *name;

	next(ctx);
	if (name_tok(ctx, "a variable name", &name))
		return -1;
	for (size_t i = 0; i < ctx->n_defs; i++) {
		if (strcmp(ctx->defs[i].name, name->text))
			continue;
		free(ctx->defs[i].name);
		nft_tok_array_free(&ctx->defs[i].val);
		ctx->defs[i] = ctx->defs[--ctx->n_defs];
		return expect_end(ctx, "undefine");
	}
	return nft_perr(ctx, name, "undefine of unknown variable '$%s'", name->text);
}

/* ---------------------------------------------------------------- flowtables */

static int add_device(struct pctx *ctx, struct nft_flowtable *f, const struct tok *t)
{
	char **d;

	if (!t->text[0] || strlen(t->text) >= 16)
		return nft_perr(ctx, t, "invalid device name '%s'", t->text);
	d = append(&f->devices, &f->n_devices, sizeof(*d));
	if (!d)
		return oom(ctx);
	*d = xstrdup(ctx, t->text);
	return *d ? 0 : -1;
}

/* A device list: NAME | { NAME, { NAME, ... }, ... } (nested sets come from variables). */
static int parse_devices(struct pctx *ctx, struct nft_flowtable *f, int depth)
{
	const struct tok *open = peek(ctx);
	bool need_sep = false;

	if (open->type == TOK_WORD || open->type == TOK_STRING)
		return add_device(ctx, f, next(ctx));
	if (open->type != TOK_LBRACE)
		return nft_perr(ctx, open, "expected a device name or '{', got '%s'",
		                tok_desc(open));
	if (depth >= NFT_MAX_NEST_DEPTH)
		return nft_perr(ctx, open, "nesting too deep");
	next(ctx);
	for (;;) {
		const struct tok *t = peek(ctx);

		if (ctx->failed)
			return -1;
		if (t->type == TOK_NEWLINE) {
			next(ctx);
			continue;
		}
		if (t->type == TOK_RBRACE) {
			next(ctx);
			return 0;
		}
		if (t->type == TOK_EOF)
			return nft_perr(ctx, open, "unbalanced braces: '{' is never closed");
		if (need_sep) {
			if (t->type != TOK_COMMA)
				return nft_perr(ctx, t,
				                "expected ',' or '}' in device list, got '%s'",
				                tok_desc(t));
			next(ctx);
			need_sep = false;
			continue;
		}
		if (parse_devices(ctx, f, depth + 1))
			return -1;
		need_sep = true;
	}
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_devices(struct nft_flowtable *f)
{
	size_t w = 0;

	if (!f->n_devices)
		return;
	qsort(f->devices, f->n_devices, sizeof(char *), str_cmp);
	for (size_t i = 0; i < f->n_devices; i++) {
		if (w && !strcmp(f->devices[w - 1], f->devices[i])) {
			free(f->devices[i]);
			continue;
		}
		f->devices[w++] = f->devices[i];
	}
	f->n_devices = w;
}

static int parse_flowtable_block(struct pctx *ctx, int ti, const struct tok *name)
{
	enum nft_family fam = ctx->rs->tables[ti].family;
	const struct tok *open;
	struct nft_flowtable *f;
	int fi = flowtable_get(ctx, ti, name);

	if (fi < 0)
		return -1;
	f = &ctx->rs->tables[ti].flowtables[fi];
	open = peek(ctx);
	if (open->type != TOK_LBRACE)
		return nft_perr(ctx, open, "expected '{' after 'flowtable %s', got '%s'",
		                name->text, tok_desc(open));
	next(ctx);
	for (;;) {
		const struct tok *t = peek(ctx);

		if (ctx->failed)
			return -1;
		if (is_sep(t)) {
			next(ctx);
			continue;
		}
		if (t->type == TOK_RBRACE) {
			next(ctx);
			break;
		}
		if (t->type == TOK_EOF)
			return nft_perr(ctx, open, "unbalanced braces: '{' is never closed");
		if (is_kw(t, "hook")) {
			const struct tok *h;
			int prio;

			next(ctx);
			if (name_tok(ctx, "a hook name", &h))
				return -1;
			if (strcmp(h->text, "ingress"))
				return nft_perr(
				    ctx, h, "flowtable hook must be 'ingress', not '%s'", h->text);
			if (!is_kw(peek(ctx), "priority"))
				return nft_perr(
				    ctx, peek(ctx),
				    "expected 'priority' after 'hook ingress', got '%s'",
				    tok_desc(peek(ctx)));
			next(ctx);
			if (parse_priority(ctx, fam, "ingress", true, &prio))
				return -1;
			if (f->hook && f->priority != prio)
				return nft_perr(
				    ctx, h, "flowtable '%s' redeclared with priority %d (was %d)",
				    f->name, prio, f->priority);
			f->priority = prio;
			if (!f->hook && !(f->hook = xstrdup(ctx, "ingress")))
				return -1;
			if (expect_end(ctx, "the flowtable hook"))
				return -1;
		} else if (is_kw(t, "devices")) {
			next(ctx);
			if (peek(ctx)->type != TOK_ASSIGN)
				return nft_perr(ctx, peek(ctx),
				                "expected '=' after 'devices', got '%s'",
				                tok_desc(peek(ctx)));
			next(ctx);
			if (parse_devices(ctx, f, 0) || expect_end(ctx, "the device list"))
				return -1;
		} else if (is_kw(t, "counter")) {
			next(ctx);
			f->counter = true;
			if (expect_end(ctx, "'counter'"))
				return -1;
		} else if (is_kw(t, "flags")) {
			next(ctx);
			for (;;) {
				const struct tok *fl = next(ctx);

				if (is_kw(fl, "offload"))
					f->offload = true;
				else
					return nft_perr(ctx, fl, "unknown flowtable flag '%s'",
					                tok_desc(fl));
				if (peek(ctx)->type != TOK_COMMA)
					break;
				next(ctx);
			}
			if (expect_end(ctx, "the flowtable flags"))
				return -1;
		} else if (is_kw(t, "comment")) {
			next(ctx);
			if (peek(ctx)->type != TOK_STRING && peek(ctx)->type != TOK_WORD)
				return nft_perr(ctx, peek(ctx),
				                "expected a string after 'comment'");
			next(ctx);
			if (expect_end(ctx, "the comment"))
				return -1;
		} else {
			return nft_perr(ctx, t, "unknown flowtable keyword '%s'", tok_desc(t));
		}
	}
	if (!f->hook)
		return nft_perr(ctx, name,
		                "flowtable '%s' has no hook (expected 'hook ingress priority N;')",
		                name->text);
	if (!f->n_devices)
		warn(ctx, name, "flowtable '%s' has no devices", name->text);
	return 0;
}

/* ---------------------------------------------------------------- chains and rules */

static bool valid_hook(const char *h)
{
	static const char *const hooks[] = {"prerouting",  "input",   "forward", "output",
	                                    "postrouting", "ingress", "egress"};

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (!strcmp(h, hooks[i]))
			return true;
	return false;
}

static int parse_base_chain(struct pctx *ctx, int ti, int ci)
{
	enum nft_family fam = ctx->rs->tables[ti].family;
	const struct tok *type, *hook;
	struct nft_chain *c;
	int prio;

	next(ctx); /* type */
	if (name_tok(ctx, "a chain type", &type))
		return -1;
	if (strcmp(type->text, "filter") && strcmp(type->text, "nat") &&
	    strcmp(type->text, "route"))
		return nft_perr(ctx, type, "unknown chain type '%s'", type->text);
	if (!is_kw(peek(ctx), "hook"))
		return nft_perr(ctx, peek(ctx), "expected 'hook' after 'type %s', got '%s'",
		                type->text, tok_desc(peek(ctx)));
	next(ctx);
	if (name_tok(ctx, "a hook name", &hook))
		return -1;
	if (!valid_hook(hook->text))
		return nft_perr(ctx, hook, "unknown chain hook '%s'", hook->text);
	if (is_kw(peek(ctx), "device")) {
		const struct tok *d;

		next(ctx);
		if (name_tok(ctx, "a device name", &d))
			return -1;
	} else if (is_kw(peek(ctx), "devices")) {
		struct nft_flowtable tmp = {0};
		int r;

		next(ctx);
		if (peek(ctx)->type != TOK_ASSIGN)
			return nft_perr(ctx, peek(ctx), "expected '=' after 'devices'");
		next(ctx);
		r = parse_devices(ctx, &tmp, 0);
		nft_flowtable_free(&tmp);
		if (r)
			return -1;
	}
	if (!is_kw(peek(ctx), "priority"))
		return nft_perr(ctx, peek(ctx),
		                "expected 'priority' in the base chain declaration, got '%s'",
		                tok_desc(peek(ctx)));
	next(ctx);
	if (parse_priority(ctx, fam, hook->text, false, &prio))
		return -1;
	c = &ctx->rs->tables[ti].chains[ci];
	free(c->type);
	free(c->hook);
	c->base = true;
	c->type = xstrdup(ctx, type->text);
	c->hook = xstrdup(ctx, hook->text);
	c->priority = prio;
	if (!c->type || !c->hook)
		return -1;
	return expect_end(ctx, "the base chain declaration");
}

/* Collect one rule's tokens (to a separator or '}' at depth 0) and parse it. */
static int parse_rule_stmt(struct pctx *ctx, int ti, int ci, bool insert)
{
	const struct tok **v = NULL, *open[NFT_MAX_NEST_DEPTH];
	size_t n = 0;
	struct nft_chain *c;
	struct nft_rule r = {0}, *slot;
	int depth = 0, ret = -1;

	for (;;) {
		const struct tok *t = peek(ctx), **p;

		if (ctx->failed)
			goto out;
		if (t->type == TOK_EOF) {
			if (depth) {
				nft_perr(ctx, open[depth - 1],
				         "unbalanced braces: '{' is never closed");
				goto out;
			}
			break;
		}
		if (!depth && (is_sep(t) || t->type == TOK_RBRACE))
			break;
		if (t->type == TOK_LBRACE) {
			if (depth == NFT_MAX_NEST_DEPTH) {
				nft_perr(ctx, t, "nesting too deep");
				goto out;
			}
			open[depth++] = t;
		} else if (t->type == TOK_RBRACE) {
			depth--;
		}
		p = append(&v, &n, sizeof(*v));
		if (!p) {
			oom(ctx);
			goto out;
		}
		*p = next(ctx);
	}
	if (!n) {
		ret = 0;
		goto out;
	}
	if (nft_parse_rule(ctx, v, n, &r))
		goto out;
	c = &ctx->rs->tables[ti].chains[ci];
	slot = append(&c->rules, &c->n_rules, sizeof(*slot));
	if (!slot) {
		oom(ctx);
		goto out;
	}
	if (insert) {
		memmove(c->rules + 1, c->rules, (c->n_rules - 1) * sizeof(*slot));
		slot = c->rules;
	}
	*slot = r;
	memset(&r, 0, sizeof(r));
	ret = expect_end(ctx, "the rule");
out:
	nft_rule_free(&r);
	free(v);
	return ret;
}

static int parse_chain_block(struct pctx *ctx, int ti, int ci)
{
	const struct tok *open = peek(ctx);

	if (open->type != TOK_LBRACE)
		return nft_perr(ctx, open, "expected '{' after the chain name, got '%s'",
		                tok_desc(open));
	next(ctx);
	for (;;) {
		const struct tok *t = peek(ctx);

		if (ctx->failed)
			return -1;
		if (is_sep(t)) {
			next(ctx);
			continue;
		}
		if (t->type == TOK_RBRACE) {
			next(ctx);
			return 0;
		}
		if (t->type == TOK_EOF)
			return nft_perr(ctx, open, "unbalanced braces: '{' is never closed");
		if (is_kw(t, "type")) {
			if (parse_base_chain(ctx, ti, ci))
				return -1;
		} else if (is_kw(t, "policy")) {
			const struct tok *p;

			next(ctx);
			p = next(ctx);
			if (is_kw(p, "accept"))
				ctx->rs->tables[ti].chains[ci].policy = NFT_POLICY_ACCEPT;
			else if (is_kw(p, "drop"))
				ctx->rs->tables[ti].chains[ci].policy = NFT_POLICY_DROP;
			else
				return nft_perr(
				    ctx, p, "expected 'accept' or 'drop' after 'policy', got '%s'",
				    tok_desc(p));
			if (expect_end(ctx, "the policy"))
				return -1;
		} else if (is_kw(t, "comment") || is_kw(t, "flags") || is_kw(t, "devices")) {
			if (skip_statement(ctx))
				return -1;
		} else if (is_kw(t, "define") || is_kw(t, "redefine")) {
			if (parse_define(ctx, is_kw(t, "redefine")))
				return -1;
		} else if (parse_rule_stmt(ctx, ti, ci, false)) {
			return -1;
		}
	}
}

/* ---------------------------------------------------------------- tables */

static bool is_skipped_object(const struct tok *t)
{
	static const char *const objs[] = {"set",   "map",     "counter",  "quota",
	                                   "limit", "secmark", "synproxy", "element"};

	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
		if (is_kw(t, objs[i]))
			return true;
	return false;
}

static int parse_table_block(struct pctx *ctx, int ti)
{
	const struct tok *open = next(ctx); /* '{' */

	for (;;) {
		const struct tok *t = peek(ctx), *name;

		if (ctx->failed)
			return -1;
		if (is_sep(t)) {
			next(ctx);
			continue;
		}
		if (t->type == TOK_RBRACE) {
			next(ctx);
			return 0;
		}
		if (t->type == TOK_EOF)
			return nft_perr(ctx, open, "unbalanced braces: '{' is never closed");
		if (t->type != TOK_WORD)
			return nft_perr(ctx, t, "unexpected '%s' in table block", tok_desc(t));
		if (is_kw(t, "chain")) {
			int ci;

			next(ctx);
			if (name_tok(ctx, "a chain name", &name))
				return -1;
			ci = chain_get(ctx, ti, name);
			if (ci < 0 || parse_chain_block(ctx, ti, ci) ||
			    expect_block_end(ctx, false))
				return -1;
		} else if (is_kw(t, "flowtable")) {
			next(ctx);
			if (name_tok(ctx, "a flowtable name", &name) ||
			    parse_flowtable_block(ctx, ti, name) || expect_block_end(ctx, false))
				return -1;
		} else if (is_skipped_object(t) || is_kw(t, "ct") || is_kw(t, "flags") ||
		           is_kw(t, "comment")) {
			if (skip_statement(ctx))
				return -1;
		} else if (is_kw(t, "define") || is_kw(t, "redefine")) {
			if (parse_define(ctx, is_kw(t, "redefine")))
				return -1;
		} else {
			return nft_perr(ctx, t, "unknown table-level keyword '%s'", t->text);
		}
	}
}

/* ---------------------------------------------------------------- commands */

static int parse_source(struct pctx *ctx, const char *buf, size_t len, const char *name,
                        const struct tok *from);

static void remove_tables(struct pctx *ctx, const struct tok *fam_tok)
{
	struct nft_ruleset *rs = ctx->rs;
	enum nft_family fam = NFT_FAMILY_IP;
	bool all = !fam_tok || !family_from_word(fam_tok->text, &fam);
	size_t w = 0;

	for (size_t i = 0; i < rs->n_tables; i++) {
		if (all || rs->tables[i].family == fam) {
			nft_table_free(&rs->tables[i]);
			continue;
		}
		ctx->declared[w] = ctx->declared[i];
		rs->tables[w++] = rs->tables[i];
	}
	rs->n_tables = w;
	ctx->n_declared = w;
}

/* add|create|insert OBJECT ... (the keyword already consumed; `kw` is it, or NULL). */
static int parse_add(struct pctx *ctx, const struct tok *kw, bool top_implicit)
{
	const struct tok *obj = peek(ctx), *tname, *name;
	enum nft_family fam;
	bool insert = kw && is_kw(kw, "insert");
	int ti, ci;

	if (obj->type != TOK_WORD)
		return nft_perr(ctx, obj, "expected an object after '%s', got '%s'",
		                kw ? kw->text : "", tok_desc(obj));
	next(ctx);
	if (is_kw(obj, "table")) {
		if (table_spec(ctx, &fam, &tname))
			return -1;
		if ((ti = table_get(ctx, fam, tname, true)) < 0)
			return -1;
		if (peek(ctx)->type == TOK_LBRACE)
			return parse_table_block(ctx, ti) || expect_block_end(ctx, true) ? -1 : 0;
		return expect_end(ctx, "the table");
	}
	if (is_kw(obj, "chain") || is_kw(obj, "flowtable") || is_kw(obj, "rule")) {
		if (table_spec(ctx, &fam, &tname))
			return -1;
		if ((ti = table_get(ctx, fam, tname, false)) < 0)
			return -1;
		if (name_tok(ctx, is_kw(obj, "flowtable") ? "a flowtable name" : "a chain name",
		             &name))
			return -1;
		if (is_kw(obj, "flowtable"))
			return parse_flowtable_block(ctx, ti, name) || expect_block_end(ctx, true)
			           ? -1
			           : 0;
		if (is_kw(obj, "chain")) {
			if ((ci = chain_get(ctx, ti, name)) < 0)
				return -1;
			if (peek(ctx)->type == TOK_LBRACE)
				return parse_chain_block(ctx, ti, ci) || expect_block_end(ctx, true)
				           ? -1
				           : 0;
			return expect_end(ctx, "the chain");
		}
		if (!nft_table_chain(&ctx->rs->tables[ti], name->text))
			warn(ctx, name, "rule added to chain '%s' not declared in this input",
			     name->text);
		if ((ci = chain_get(ctx, ti, name)) < 0)
			return -1;
		if (is_kw(peek(ctx), "position") || is_kw(peek(ctx), "index") ||
		    is_kw(peek(ctx), "handle")) {
			warn(ctx, peek(ctx), "rule '%s' ignored: the position is in the kernel",
			     peek(ctx)->text);
			return skip_statement(ctx);
		}
		return parse_rule_stmt(ctx, ti, ci, insert);
	}
	if (is_skipped_object(obj) || is_kw(obj, "ct")) {
		(void)top_implicit;
		return skip_statement(ctx);
	}
	return nft_perr(ctx, obj, "unknown object '%s' after '%s'", obj->text, kw ? kw->text : "");
}

static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0;
	char *b;

	if (!f)
		return -1;
	b = malloc(cap);
	if (!b) {
		fclose(f);
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		size_t r;

		if (n == cap) {
			char *nb;

			if (cap >= NFT_MAX_INPUT_SIZE) {
				free(b);
				fclose(f);
				errno = EFBIG;
				return -1;
			}
			nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			b = nb;
			cap *= 2;
		}
		r = fread(b + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				free(b);
				fclose(f);
				errno = EIO;
				return -1;
			}
			break;
		}
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

static int include_one(struct pctx *ctx, const char *path, const struct tok *at)
{
	char *buf;
	size_t len;
	int r;

	if (read_file(path, &buf, &len))
		return nft_perr(ctx, at, "include file '%s' not found: %s", path, strerror(errno));
	r = parse_source(ctx, buf, len, path, at);
	free(buf);
	return r;
}

static int parse_include_stmt(struct pctx *ctx)
{
	const struct tok *kw = next(ctx), *f = peek(ctx);
	const char *name = kw->src ? kw->src->name : "";
	const char *slash = strrchr(name, '/');
	char *path = NULL;
	int r;

	if (f->type != TOK_STRING)
		return nft_perr(ctx, f, "expected a quoted file name after 'include', got '%s'",
		                tok_desc(f));
	next(ctx);
	if (f->text[0] == '/' || !slash) {
		path = xstrdup(ctx, f->text);
	} else if (asprintf(&path, "%.*s/%s", (int)(slash - name), name, f->text) < 0) {
		path = NULL;
		oom(ctx);
	}
	if (!path)
		return -1;
	if (strpbrk(f->text, "*?[")) {
		glob_t g;
		int gr = glob(path, 0, NULL, &g);

		r = 0;
		if (gr == 0) {
			for (size_t i = 0; i < g.gl_pathc && !r; i++)
				r = include_one(ctx, g.gl_pathv[i], f);
		} else if (gr != GLOB_NOMATCH) {
			r = nft_perr(ctx, f, "include pattern '%s' failed", path);
		}
		if (gr == 0)
			globfree(&g);
	} else {
		r = include_one(ctx, path, f);
	}
	free(path);
	return r ? -1 : expect_end(ctx, "the include");
}

static int parse_toplevel(struct pctx *ctx)
{
	for (;;) {
		const struct tok *t = peek(ctx);

		if (ctx->failed)
			return -1;
		if (t->type == TOK_EOF)
			return 0;
		if (is_sep(t)) {
			next(ctx);
			continue;
		}
		if (t->type == TOK_RBRACE)
			return nft_perr(ctx, t, "unbalanced braces: unexpected '}'");
		if (t->type != TOK_WORD)
			return nft_perr(ctx, t, "unexpected '%s' at top level", tok_desc(t));
		if (is_kw(t, "include")) {
			if (parse_include_stmt(ctx))
				return -1;
		} else if (is_kw(t, "define") || is_kw(t, "redefine")) {
			if (parse_define(ctx, is_kw(t, "redefine")))
				return -1;
		} else if (is_kw(t, "undefine")) {
			if (parse_undefine(ctx))
				return -1;
		} else if (is_kw(t, "add") || is_kw(t, "create") || is_kw(t, "insert")) {
			if (parse_add(ctx, next(ctx), false))
				return -1;
		} else if (is_kw(t, "table") || is_kw(t, "chain") || is_kw(t, "flowtable") ||
		           is_kw(t, "rule") || is_skipped_object(t)) {
			if (parse_add(ctx, NULL, true))
				return -1;
		} else if (is_kw(t, "flush") || is_kw(t, "delete") || is_kw(t, "destroy")) {
			const struct tok *kw = next(ctx), *what = peek(ctx);

			if (is_kw(kw, "flush") && is_kw(what, "ruleset")) {
				next(ctx);
				remove_tables(ctx, peek(ctx)->type == TOK_WORD ? peek(ctx) : NULL);
				if (peek(ctx)->type == TOK_WORD)
					next(ctx);
				if (expect_end(ctx, "'flush ruleset'"))
					return -1;
				continue;
			}
			warn(ctx, kw, "'%s %s' ignored", kw->text, tok_desc(what));
			if (skip_statement(ctx))
				return -1;
		} else if (is_kw(t, "list") || is_kw(t, "reset") || is_kw(t, "rename") ||
		           is_kw(t, "replace") || is_kw(t, "export") || is_kw(t, "monitor") ||
		           is_kw(t, "describe") || is_kw(t, "get")) {
			warn(ctx, t, "'%s' command ignored", t->text);
			if (skip_statement(ctx))
				return -1;
		} else {
			return nft_perr(ctx, t, "unknown top-level keyword '%s'", t->text);
		}
	}
}

static int intern_file(struct pctx *ctx, const char *name, char **out)
{
	struct nft_ruleset *rs = ctx->rs;
	char **slot;

	for (size_t i = 0; i < rs->n_files; i++) {
		if (!strcmp(rs->files[i], name)) {
			*out = rs->files[i];
			return 0;
		}
	}
	slot = append(&rs->files, &rs->n_files, sizeof(*slot));
	if (!slot)
		return oom(ctx);
	*slot = xstrdup(ctx, name);
	if (!*slot) {
		rs->n_files--;
		return -1;
	}
	*out = *slot;
	return 0;
}

static int parse_source(struct pctx *ctx, const char *buf, size_t len, const char *name,
                        const struct tok *from)
{
	struct nft_src *src, **ss;
	struct tok_array *toks, **ts;
	struct cursor cur = {0}, *saved;
	unsigned int el, ec;
	const char *emsg;
	int r;

	if (ctx->include_depth >= NFT_MAX_INCLUDE_DEPTH)
		return nft_perr(ctx, from, "includes nested too deep (limit %d)",
		                NFT_MAX_INCLUDE_DEPTH);
	if (len > NFT_MAX_INPUT_SIZE)
		return nft_perr(ctx, from, "input too large");
	src = calloc(1, sizeof(*src));
	ss = src ? append(&ctx->srcs, &ctx->n_srcs, sizeof(*ss)) : NULL;
	if (!ss) {
		free(src);
		return oom(ctx);
	}
	*ss = src;
	if (intern_file(ctx, name, &src->name))
		return -1;
	src->buf = malloc(len + 1);
	if (!src->buf)
		return oom(ctx);
	if (len)
		memcpy(src->buf, buf, len);
	src->buf[len] = '\0';
	src->len = len;

	toks = calloc(1, sizeof(*toks));
	ts = toks ? append(&ctx->arrays, &ctx->n_arrays, sizeof(*ts)) : NULL;
	if (!ts) {
		free(toks);
		return oom(ctx);
	}
	*ts = toks;
	if (nft_lex(src, toks, &el, &ec, &emsg))
		return perr_at(ctx, src, el, ec, "%s", emsg);

	cur.toks = toks->v;
	saved = ctx->cur;
	ctx->cur = &cur;
	ctx->include_depth++;
	r = parse_toplevel(ctx);
	ctx->include_depth--;
	ctx->cur = saved;
	return r;
}

/* ---------------------------------------------------------------- finishing */

static int table_cmp(const void *a, const void *b)
{
	const struct nft_table *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int ft_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nft_flowtable *)a)->name,
	              ((const struct nft_flowtable *)b)->name);
}

static int chain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nft_chain *)a)->name, ((const struct nft_chain *)b)->name);
}

static int check_refs(struct pctx *ctx, size_t ti)
{
	struct nft_table *t = &ctx->rs->tables[ti];

	for (size_t c = 0; c < t->n_chains; c++) {
		for (size_t r = 0; r < t->chains[c].n_rules; r++) {
			struct nft_rule *rule = &t->chains[c].rules[r];

			if (rule->flowtable && !nft_table_flowtable(t, rule->flowtable))
				return perr_at(ctx, src_of_loc(ctx, &rule->flow_loc),
				               rule->flow_loc.line, rule->flow_loc.col,
				               "flowtable '%s' is not declared in table %s %s",
				               rule->flowtable, nft_family_name(t->family),
				               t->name);
			if (rule->target && ctx->declared[ti] && !nft_table_chain(t, rule->target))
				return perr_at(
				    ctx, src_of_loc(ctx, &rule->target_loc), rule->target_loc.line,
				    rule->target_loc.col,
				    "%s to chain '%s', which is not declared in table %s %s",
				    nft_verdict_name(rule->verdict), rule->target,
				    nft_family_name(t->family), t->name);
		}
	}
	return 0;
}

static void warn_flow_ignored(struct pctx *ctx, const struct nft_loc *loc, const char *chain)
{
	struct tok at = {.src = src_of_loc(ctx, loc), .line = loc->line, .col = loc->col};

	warn(ctx, &at,
	     "flow statement in chain '%s' ignored: only filter forward base chains offload",
	     chain);
}

static int build_offload(struct pctx *ctx, struct nft_table *t)
{
	for (size_t c = 0; c < t->n_chains; c++) {
		const struct nft_chain *ch = &t->chains[c];
		bool fwd = ch->base && !strcmp(ch->type, "filter") && !strcmp(ch->hook, "forward");

		for (size_t r = 0; r < ch->n_rules; r++) {
			const struct nft_rule *rule = &ch->rules[r];
			struct nft_offload_rule *o;

			if (!rule->flowtable)
				continue;
			if (!fwd) {
				warn_flow_ignored(ctx, &rule->flow_loc, ch->name);
				continue;
			}
			o = append(&t->offload_rules, &t->n_offload_rules, sizeof(*o));
			if (!o)
				return oom(ctx);
			o->chain = ch;
			o->rule = rule;
			o->flowtable = nft_table_flowtable(t, rule->flowtable);
			o->exclusions_complete = true;
			for (size_t e = 0; e < r; e++) {
				const struct nft_rule *x = &ch->rules[e];
				const struct nft_rule **slot;

				if (x->verdict == NFT_VERDICT_NONE ||
				    x->verdict == NFT_VERDICT_CONTINUE)
					continue;
				slot = append(&o->exclusions, &o->n_exclusions, sizeof(*slot));
				if (!slot)
					return oom(ctx);
				*slot = x;
				if (!x->complete)
					o->exclusions_complete = false;
			}
		}
	}
	return 0;
}

static int finish(struct pctx *ctx)
{
	struct nft_ruleset *rs = ctx->rs;

	for (size_t i = 0; i < rs->n_tables; i++)
		if (check_refs(ctx, i))
			return -1;
	if (rs->n_tables)
		qsort(rs->tables, rs->n_tables, sizeof(*rs->tables), table_cmp);
	for (size_t i = 0; i < rs->n_tables; i++) {
		struct nft_table *t = &rs->tables[i];

		for (size_t f = 0; f < t->n_flowtables; f++)
			sort_devices(&t->flowtables[f]);
		if (t->n_flowtables)
			qsort(t->flowtables, t->n_flowtables, sizeof(*t->flowtables), ft_cmp);
		if (t->n_chains)
			qsort(t->chains, t->n_chains, sizeof(*t->chains), chain_cmp);
		if (build_offload(ctx, t))
			return -1;
	}
	return 0;
}

static void ctx_free(struct pctx *ctx)
{
	for (size_t i = 0; i < ctx->n_arrays; i++) {
		nft_tok_array_free(ctx->arrays[i]);
		free(ctx->arrays[i]);
	}
	free(ctx->arrays);
	for (size_t i = 0; i < ctx->n_srcs; i++) {
		free(ctx->srcs[i]->buf);
		free(ctx->srcs[i]);
	}
	free(ctx->srcs);
	for (size_t i = 0; i < ctx->n_defs; i++) {
		free(ctx->defs[i].name);
		nft_tok_array_free(&ctx->defs[i].val);
	}
	free(ctx->defs);
	free(ctx->declared);
}

int nft_parse_buffer(const char *buf, size_t len, const char *name, struct nft_ruleset **out,
                     struct nft_error *err)
{
	struct nft_error local = {0};
	struct pctx ctx = {0};
	int r;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	ctx.err = err ? err : &local;
	ctx.eof.type = TOK_EOF;
	ctx.eof.text = (char *)"";
	ctx.rs = calloc(1, sizeof(*ctx.rs));
	if (!ctx.rs) {
		oom(&ctx);
		nft_error_clear(&local);
		return -1;
	}
	r = parse_source(&ctx, buf ? buf : "", buf ? len : 0, name ? name : "<input>", NULL);
	if (!r && !ctx.failed)
		r = finish(&ctx);
	if (ctx.failed)
		r = -1;
	/* an error inside finish() may point into sources: they are still alive here */
	ctx_free(&ctx);
	if (r) {
		nft_ruleset_free(ctx.rs);
		nft_error_clear(&local);
		return -1;
	}
	*out = ctx.rs;
	return 0;
}

int nft_parse_file(const char *path, struct nft_ruleset **out, struct nft_error *err)
{
	struct nft_error local = {0};
	char *buf;
	size_t len;
	int r;

	*out = NULL;
	if (read_file(path, &buf, &len)) {
		struct nft_error *e = err ? err : &local;

		memset(e, 0, sizeof(*e));
		if (asprintf(&e->message, "cannot read '%s': %s", path, strerror(errno)) < 0)
			e->message = NULL;
		e->file = strdup(path);
		if (asprintf(&e->formatted, "%s: error: %s\n", path,
		             e->message ? e->message : "cannot read") < 0)
			e->formatted = NULL;
		nft_error_clear(&local);
		return -1;
	}
	r = nft_parse_buffer(buf, len, path, out, err);
	free(buf);
	return r;
}
