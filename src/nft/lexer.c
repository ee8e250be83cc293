/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nftables text lexer: bytes -> tokens with exact line/column. Comments (#) and line
 * continuations (backslash-newline) vanish; newlines are tokens because nft separates
 * statements with them. Words are deliberately loose (identifiers, numbers, addresses,
 * prefixes, ranges without spaces); the parser gives them meaning.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nft-internal.h"

int nft_grow(void *v, size_t *cap, size_t n, size_t size)
{
	void **pv = v;
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap > SIZE_MAX / size)
		return -1;
	p = realloc(*pv, ncap * size);
	if (!p)
		return -1;
	*pv = p;
	*cap = ncap;
	return 0;
}

void nft_tok_array_free(struct tok_array *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i].text);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

static int is_word_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '/' || c == ':' || c == '*' || c == '%' || c == '~';
}

static int is_word_char(unsigned char c)
{
	return is_word_start(c) || c == '-';
}

static int is_var_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static int push(struct tok_array *out, const struct nft_src *src, enum tok_type type,
                const char *text, size_t len, unsigned int line, unsigned int col)
{
	struct tok *t;

	if (nft_grow(&out->v, &out->cap, out->n, sizeof(*out->v)))
		return -1;
	t = &out->v[out->n];
	t->text = strndup(text, len);
	if (!t->text)
		return -1;
	t->type = type;
	t->line = line;
	t->col = col;
	t->src = src;
	out->n++;
	return 0;
}

int nft_lex(const struct nft_src *src, struct tok_array *out, unsigned int *err_line,
            unsigned int *err_col, const char **err_msg)
{
	const unsigned char *s = (const unsigned char *)src->buf;
	size_t len = src->len, i = 0;
	unsigned int line = 1, col = 1;

#define FAIL(msg)                                                                                  \
	do {                                                                                       \
		*err_line = line;                                                                  \
		*err_col = col;                                                                    \
		*err_msg = (msg);                                                                  \
		return -1;                                                                         \
	} while (0)
#define PUSH(type, p, n, l, c)                                                                     \
	do {                                                                                       \
		if (push(out, src, type, (const char *)(p), n, l, c))                              \
			FAIL("out of memory");                                                     \
	} while (0)

	while (i < len) {
		unsigned char c = s[i];
		unsigned int tl = line, tc = col;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			i++;
			col++;
			continue;
		}
		if (c == '\n') {
			PUSH(TOK_NEWLINE, "\n", 1, tl, tc);
			i++;
			line++;
			col = 1;
			continue;
		}
		if (c == '#') {
			while (i < len && s[i] != '\n') {
				i++;
				col++;
			}
			continue;
		}
		if (c == '\\') {
			size_t j = i + 1;

			while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r'))
				j++;
			if (j < len && s[j] == '\n') {
				i = j + 1;
				line++;
				col = 1;
				continue;
			}
			FAIL("stray '\\' (a line continuation must end the line)");
		}
		if (c == '"') {
			size_t j = i + 1;

			while (j < len && s[j] != '"' && s[j] != '\n' && s[j] != '\0')
				j++;
			if (j >= len || s[j] != '"')
				FAIL("unterminated string");
			PUSH(TOK_STRING, s + i + 1, j - i - 1, tl, tc);
			col += (unsigned int)(j + 1 - i);
			i = j + 1;
			continue;
		}
		if (c == '$') {
			size_t j = i + 1;

			while (j < len && is_var_char(s[j]))
				j++;
			if (j == i + 1)
				FAIL("expected a variable name after '$'");
			PUSH(TOK_VAR, s + i + 1, j - i - 1, tl, tc);
			col += (unsigned int)(j - i);
			i = j;
			continue;
		}
		if (is_word_start(c)) {
			size_t j = i;

			while (j < len && is_word_char(s[j]))
				j++;
			PUSH(TOK_WORD, s + i, j - i, tl, tc);
			col += (unsigned int)(j - i);
			i = j;
			continue;
		}
		{
			enum tok_type t = TOK_OP;
			size_t n = 1;

			switch (c) {
			case '{':
				t = TOK_LBRACE;
				break;
			case '}':
				t = TOK_RBRACE;
				break;
			case '(':
				t = TOK_LPAREN;
				break;
			case ')':
				t = TOK_RPAREN;
				break;
			case '[':
				t = TOK_LBRACKET;
				break;
			case ']':
				t = TOK_RBRACKET;
				break;
			case ';':
				t = TOK_SEMI;
				break;
			case ',':
				t = TOK_COMMA;
				break;
			case '@':
				t = TOK_AT;
				break;
			case '=':
				if (i + 1 < len && s[i + 1] == '=')
					n = 2;
				else
					t = TOK_ASSIGN;
				break;
			case '!':
			case '<':
			case '>':
				if (i + 1 < len && s[i + 1] == '=')
					n = 2;
				else if (c != '!' && i + 1 < len && s[i + 1] == c)
					n = 2;
				break;
			case '&':
			case '|':
			case '^':
			case '+':
			case '-':
				break;
			default:
				FAIL("unexpected character");
			}
			PUSH(t, s + i, n, tl, tc);
			i += n;
			col += (unsigned int)n;
		}
	}
	PUSH(TOK_EOF, "", 0, line, col);
	return 0;
#undef PUSH
#undef FAIL
}
