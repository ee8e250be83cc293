/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals of the nftables text front end: tokens, sources, the growing arrays. */
#ifndef NTO_NFT_INTERNAL_H
#define NTO_NFT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "nft-tc-offload/nft.h"

enum tok_type {
	TOK_EOF = 0,
	TOK_NEWLINE,
	TOK_WORD,   /* identifiers, numbers, addresses, prefixes, ranges without spaces */
	TOK_STRING, /* "quoted", text without the quotes */
	TOK_VAR,    /* $name, text without the '$' */
	TOK_AT,     /* @ */
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_LBRACKET,
	TOK_RBRACKET,
	TOK_SEMI,
	TOK_COMMA,
	TOK_ASSIGN, /* = */
	TOK_OP,     /* == != ! < > <= >= & | ^ << >> + - */
};

struct nft_src {
	char *name; /* display name; interned in the ruleset's file list */
	char *buf;  /* NUL-terminated copy */
	size_t len;
};

struct tok {
	enum tok_type type;
	char *text; /* NUL-terminated, never NULL */
	unsigned int line;
	unsigned int col;
	const struct nft_src *src;
};

struct tok_array {
	struct tok *v;
	size_t n;
	size_t cap;
};

/* Lexer: fills `out` with every token of `src` and a final TOK_EOF. On error, returns -1
 * and sets the error position and message (a static string). */
int nft_lex(const struct nft_src *src, struct tok_array *out, unsigned int *err_line,
            unsigned int *err_col, const char **err_msg);
void nft_tok_array_free(struct tok_array *a);

/* Growing arrays: grow `*v` (element size `size`) to hold at least n+1 elements. */
int nft_grow(void *v, size_t *cap, size_t n, size_t size);

/* Formatted error: file:line:col: error: message + source line + caret. */
void nft_error_set(struct nft_error *err, const struct nft_src *src, unsigned int line,
                   unsigned int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

void nft_value_free(struct nft_value *v);
void nft_match_free(struct nft_match *m);
void nft_rule_free(struct nft_rule *r);
void nft_chain_free(struct nft_chain *c);
void nft_flowtable_free(struct nft_flowtable *f);
void nft_table_free(struct nft_table *t);

/* Parser context (parser.c) and the rule parser (rule.c) that reports errors through it. */
struct pctx;
int nft_perr(struct pctx *ctx, const struct tok *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parse a rule's tokens (one statement, without its terminator) into r. */
int nft_parse_rule(struct pctx *ctx, const struct tok *const *t, size_t n, struct nft_rule *r);
/* Tokens t[a..b) joined by single spaces (strings quoted); NULL on allocation failure. */
char *nft_tokens_text(const struct tok *const *t, size_t a, size_t b);
/* The file-name string interned for a source (for locations). */
struct nft_loc nft_tok_loc(const struct tok *t);

/* Sort and dedup a match's values. */
void nft_values_canonicalize(struct nft_match *m);
int nft_value_cmp(const struct nft_value *a, const struct nft_value *b);

#endif
