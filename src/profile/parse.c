/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile files: INI text (inih) → struct profile, with "FILE:LINE: error: MESSAGE" errors.
 *
 * inih is fed through ini_parse_stream() with our own line reader, which hands it one line at a
 * time from memory. The reader counts lines (so every handler call knows its line without
 * INI_HANDLER_LINENO, which Debian's libinih is not built with), sees section headers (so an
 * unknown or repeated section is reported at its own line, even when it holds no keys), and
 * knows which lines inih will treat as continuation lines. After the first error the reader
 * returns EOF, so only that error is reported.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "nft-tc-offload/profile.h"

#include "profile-private.h"

#define PROFILE_FILE_MAX (1u << 20) /* a profile file is a few KiB; refuse anything huge */

enum section {
	SEC_NONE = 0,
	SEC_PROFILE,
	SEC_MATCH,
	SEC_OFFLOAD,
	SEC_LIMITS,
	SEC_COUNT,
};

static const char *const section_names[SEC_COUNT] = {
    [SEC_NONE] = "",           [SEC_PROFILE] = "profile", [SEC_MATCH] = "match",
    [SEC_OFFLOAD] = "offload", [SEC_LIMITS] = "limits",
};

enum line_kind {
	LINE_OTHER = 0, /* blank, comment, key = value */
	LINE_SECTION,
	LINE_CONTINUATION, /* indented text after a key: inih hands it over as more of that key */
};

struct pctx;
typedef int (*setter_fn)(struct pctx *c, const char *v, bool continuation);

struct key_def {
	enum section section;
	const char *name;
	setter_fn set;
	bool continues; /* takes continuation lines */
};

struct pctx {
	const char *origin;
	const char *text;
	size_t len, pos;
	unsigned line; /* the line inih is working on */
	enum line_kind kind;
	bool prev_name; /* a key was seen in the current section (inih's prev_name) */
	enum section section;
	unsigned section_line[SEC_COUNT];
	const struct key_def *last_key;
	unsigned *key_line; /* per key_defs[] entry: line where set, 0 = not set */
	struct profile *p;
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct pctx *c, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct pctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->failed)
		return;
	c->failed = true;
	if (!c->err || !c->errlen)
		return;
	n = snprintf(c->err, c->errlen, "%s:%u: error: ", c->origin, line);
	if (n < 0 || (size_t)n >= c->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	va_end(ap);
}

/* ---- value helpers ---- */

/* The next token of a list separated by blanks and commas; false at the end. */
static bool next_token(const char **s, char *tok, size_t toklen, bool *too_long)
{
	const char *p = *s;
	size_t n = 0;

	*too_long = false;
	while (*p && (isspace((unsigned char)*p) || *p == ','))
		p++;
	if (!*p) {
		*s = p;
		return false;
	}
	while (p[n] && !isspace((unsigned char)p[n]) && p[n] != ',')
		n++;
	if (n >= toklen) {
		*too_long = true;
		n = toklen - 1;
	}
	memcpy(tok, p, n);
	tok[n] = '\0';
	while (*p && !isspace((unsigned char)*p) && *p != ',')
		p++;
	*s = p;
	return true;
}

static bool parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!isdigit((unsigned char)*v))
		return false;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || x < min || x > max)
		return false;
	*out = x;
	return true;
}

static int set_uint(struct pctx *c, const char *key, const char *v, uint64_t min, uint64_t max,
                    uint64_t *out)
{
	if (!parse_u64(v, min, max, out)) {
		fail(c, c->line, "%s: '%s' is not a whole number from %" PRIu64 " to %" PRIu64, key,
		     v, min, max);
		return -1;
	}
	return 0;
}

static int append_text(struct pctx *c, const char *key, char *dst, const char *v, bool continuation)
{
	size_t have = strlen(dst), add = strlen(v);

	if (have + (continuation ? 1 : 0) + add >= PROFILE_TEXT_MAX) {
		fail(c, c->line, "%s: text is longer than %d characters", key,
		     PROFILE_TEXT_MAX - 1);
		return -1;
	}
	if (continuation && have)
		dst[have++] = ' ';
	memcpy(dst + have, v, add + 1);
	return 0;
}

/* Looks tok up in a bit-name table (index i names bit 1 << i). */
static bool name_to_bit(const char *tok, const char *(*name)(uint32_t bit), unsigned count,
                        uint32_t *bit)
{
	for (unsigned i = 0; i < count; i++) {
		const char *n = name(1u << i);

		if (n && strcmp(n, tok) == 0) {
			*bit = 1u << i;
			return true;
		}
	}
	return false;
}

static const char *key_name_u(uint32_t b)
{
	return profile_key_name((enum profile_key)b);
}

static const char *action_name_u(uint32_t b)
{
	return profile_action_name((enum profile_action)b);
}

static void list_names(char *buf, size_t len, const char *(*name)(uint32_t bit), unsigned count)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < count && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? " " : "", name(1u << i));

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static int set_bits(struct pctx *c, const char *key, const char *what, const char *v,
                    const char *(*name)(uint32_t bit), unsigned count, uint32_t *out)
{
	char tok[64], known[512];
	bool too_long;
	uint32_t bit;

	while (next_token(&v, tok, sizeof(tok), &too_long)) {
		if (too_long || !name_to_bit(tok, name, count, &bit)) {
			list_names(known, sizeof(known), name, count);
			fail(c, c->line, "%s: unknown %s '%s' (known: %s)", key, what, tok, known);
			return -1;
		}
		if (*out & bit) {
			fail(c, c->line, "%s: '%s' is listed twice", key, tok);
			return -1;
		}
		*out |= bit;
	}
	return 0;
}

/* ---- setters: [profile] ---- */

static int set_name(struct pctx *c, const char *v, bool cont)
{
	size_t n = strlen(v);

	if (n >= PROFILE_NAME_MAX) {
		fail(c, c->line, "name: '%s' is longer than %d characters", v,
		     PROFILE_NAME_MAX - 1);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		bool ok = islower(ch) || isdigit(ch) || (i > 0 && strchr("._-", ch));

		if (!ok) {
			fail(c, c->line,
			     "name: '%s' is not a profile name (lower-case letters, digits, '.', "
			     "'_' "
			     "and '-', starting with a letter or digit)",
			     v);
			return -1;
		}
	}
	memcpy(c->p->name, v, n + 1);
	c->p->origin_line = c->line;
	return 0;
}

static int set_description(struct pctx *c, const char *v, bool cont)
{
	return append_text(c, "description", c->p->description, v, cont);
}

static int set_notes(struct pctx *c, const char *v, bool cont)
{
	return append_text(c, "notes", c->p->notes, v, cont);
}

static int set_strategy(struct pctx *c, const char *v, bool cont)
{
	if (strcmp(v, "ct") == 0) {
		c->p->strategy = PROFILE_STRATEGY_CT;
	} else if (strcmp(v, "flow") == 0) {
		c->p->strategy = PROFILE_STRATEGY_FLOW;
	} else {
		fail(c, c->line, "strategy: '%s' is not a strategy (ct or flow)", v);
		return -1;
	}
	return 0;
}

/* ---- setters: [match] ---- */

static int set_driver(struct pctx *c, const char *v, bool cont)
{
	struct profile_match *m = &c->p->match;
	char tok[PROFILE_DRIVER_MAX];
	bool too_long;

	while (next_token(&v, tok, sizeof(tok), &too_long)) {
		if (too_long) {
			fail(c, c->line, "driver: '%s...' is longer than %d characters", tok,
			     PROFILE_DRIVER_MAX - 1);
			return -1;
		}
		for (const char *q = tok; *q; q++) {
			if (!isalnum((unsigned char)*q) && !strchr("_-.", *q)) {
				fail(
				    c, c->line,
				    "driver: '%s' is not a driver name (letters, digits, '_', '-', "
				    "'.'; globs are not allowed here)",
				    tok);
				return -1;
			}
		}
		if (m->n_drivers >= PROFILE_MATCH_MAX) {
			fail(c, c->line, "driver: more than %d drivers", PROFILE_MATCH_MAX);
			return -1;
		}
		memcpy(m->drivers[m->n_drivers++], tok, strlen(tok) + 1);
	}
	return 0;
}

static bool parse_hex16(const char *s, size_t n, uint16_t *out)
{
	unsigned x = 0;

	if (n != 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
		x = x * 16 + (unsigned)(isdigit((unsigned char)s[i])
		                            ? s[i] - '0'
		                            : tolower((unsigned char)s[i]) - 'a' + 10);
	}
	*out = (uint16_t)x;
	return true;
}

static int set_pci_id(struct pctx *c, const char *v, bool cont)
{
	struct profile_match *m = &c->p->match;
	char tok[32];
	bool too_long;

	while (next_token(&v, tok, sizeof(tok), &too_long)) {
		struct profile_pci_id id = {0};
		const char *colon = strchr(tok, ':');

		if (too_long || !colon || !parse_hex16(tok, (size_t)(colon - tok), &id.vendor) ||
		    !(strcmp(colon + 1, "*") == 0
		          ? (id.any_device = true)
		          : parse_hex16(colon + 1, strlen(colon + 1), &id.device))) {
			fail(
			    c, c->line,
			    "pci_id: '%s' is not a PCI id (VVVV:DDDD or VVVV:*, 4 hex digits each)",
			    tok);
			return -1;
		}
		if (m->n_pci_ids >= PROFILE_MATCH_MAX) {
			fail(c, c->line, "pci_id: more than %d PCI ids", PROFILE_MATCH_MAX);
			return -1;
		}
		m->pci_ids[m->n_pci_ids++] = id;
	}
	return 0;
}

static int set_ifname(struct pctx *c, const char *v, bool cont)
{
	struct profile_match *m = &c->p->match;
	char tok[PROFILE_GLOB_MAX];
	bool too_long;

	while (next_token(&v, tok, sizeof(tok), &too_long)) {
		if (too_long) {
			fail(c, c->line, "ifname: '%s...' is longer than %d characters", tok,
			     PROFILE_GLOB_MAX - 1);
			return -1;
		}
		if (m->n_ifnames >= PROFILE_MATCH_MAX) {
			fail(c, c->line, "ifname: more than %d globs", PROFILE_MATCH_MAX);
			return -1;
		}
		memcpy(m->ifnames[m->n_ifnames++], tok, strlen(tok) + 1);
	}
	return 0;
}

static int set_priority(struct pctx *c, const char *v, bool cont)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (!*v || *end || errno || x < -1000 || x > 1000 ||
	    !(isdigit((unsigned char)*v) ||
	      ((*v == '-' || *v == '+') && isdigit((unsigned char)v[1])))) {
		fail(c, c->line, "priority: '%s' is not a whole number from -1000 to 1000", v);
		return -1;
	}
	c->p->match.priority = (int)x;
	return 0;
}

/* ---- setters: [offload] ---- */

static int set_keys(struct pctx *c, const char *v, bool cont)
{
	return set_bits(c, "keys", "match key", v, key_name_u, PROFILE_KEY_COUNT, &c->p->keys);
}

static int set_required_keys(struct pctx *c, const char *v, bool cont)
{
	return set_bits(c, "required_keys", "match key", v, key_name_u, PROFILE_KEY_COUNT,
	                &c->p->required_keys);
}

static int set_actions(struct pctx *c, const char *v, bool cont)
{
	return set_bits(c, "actions", "action", v, action_name_u, PROFILE_ACT_COUNT,
	                &c->p->actions);
}

static int set_ignored_actions(struct pctx *c, const char *v, bool cont)
{
	return set_bits(c, "ignored_actions", "action", v, action_name_u, PROFILE_ACT_COUNT,
	                &c->p->ignored_actions);
}

static int set_ct_state(struct pctx *c, const char *v, bool cont)
{
	char tok[16];
	bool too_long;

	while (next_token(&v, tok, sizeof(tok), &too_long)) {
		uint16_t bit = too_long ? 0 : profile_ct_flag_bit(tok + 1);
		uint16_t *set;

		if (tok[0] != '+' && tok[0] != '-') {
			fail(c, c->line, "ct_state: '%s' needs a '+' or '-' sign (e.g. +trk, -inv)",
			     tok);
			return -1;
		}
		if (!bit) {
			fail(c, c->line,
			     "ct_state: unknown flag '%s' (known: trk est new rel rpl inv, each "
			     "with "
			     "+ or -)",
			     tok);
			return -1;
		}
		set = tok[0] == '+' ? &c->p->ct_state_set : &c->p->ct_state_clear;
		if (*set & bit) {
			fail(c, c->line, "ct_state: '%s' is listed twice", tok);
			return -1;
		}
		*set |= bit;
	}
	return 0;
}

static int set_hooks(struct pctx *c, const char *v, bool cont)
{
	char tok[16];
	bool too_long;

	while (next_token(&v, tok, sizeof(tok), &too_long)) {
		uint32_t bit;

		if (strcmp(tok, "ingress") == 0) {
			bit = PROFILE_HOOK_INGRESS;
		} else if (strcmp(tok, "egress") == 0) {
			bit = PROFILE_HOOK_EGRESS;
		} else {
			fail(c, c->line, "hooks: unknown hook '%s' (known: ingress egress)", tok);
			return -1;
		}
		if (c->p->hooks & bit) {
			fail(c, c->line, "hooks: '%s' is listed twice", tok);
			return -1;
		}
		c->p->hooks |= bit;
	}
	return 0;
}

static int set_vlan_protocols(struct pctx *c, const char *v, bool cont)
{
	char tok[16];
	bool too_long;

	while (next_token(&v, tok, sizeof(tok), &too_long)) {
		uint32_t bit;

		if (strcmp(tok, "802.1q") == 0) {
			bit = PROFILE_VLAN_8021Q;
		} else if (strcmp(tok, "802.1ad") == 0) {
			bit = PROFILE_VLAN_8021AD;
		} else {
			fail(c, c->line,
			     "vlan_protocols: unknown VLAN protocol '%s' (known: 802.1q 802.1ad)",
			     tok);
			return -1;
		}
		if (c->p->vlan_protocols & bit) {
			fail(c, c->line, "vlan_protocols: '%s' is listed twice", tok);
			return -1;
		}
		c->p->vlan_protocols |= bit;
	}
	return 0;
}

static int set_skip_sw(struct pctx *c, const char *v, bool cont)
{
	if (strcmp(v, "yes") == 0) {
		c->p->skip_sw = true;
	} else if (strcmp(v, "no") == 0) {
		c->p->skip_sw = false;
	} else {
		fail(c, c->line, "skip_sw: '%s' is not yes or no", v);
		return -1;
	}
	return 0;
}

static int set_switchdev(struct pctx *c, const char *v, bool cont)
{
	if (strcmp(v, "yes") == 0) {
		c->p->switchdev = true;
	} else if (strcmp(v, "no") == 0) {
		c->p->switchdev = false;
	} else {
		fail(c, c->line, "switchdev: '%s' is not yes or no", v);
		return -1;
	}
	return 0;
}

static int set_ct_zones(struct pctx *c, const char *v, bool cont)
{
	char lo[16], hi[16];
	const char *dash = strchr(v, '-');
	uint64_t a, b;
	size_t n = dash ? (size_t)(dash - v) : strlen(v);

	if (n >= sizeof(lo) || (dash && strlen(dash + 1) >= sizeof(hi)))
		goto bad;
	memcpy(lo, v, n);
	lo[n] = '\0';
	snprintf(hi, sizeof(hi), "%s", dash ? dash + 1 : lo);
	if (!parse_u64(lo, 0, 65535, &a) || !parse_u64(hi, 0, 65535, &b) || a > b)
		goto bad;
	c->p->has_ct_zones = true;
	c->p->ct_zone_min = (uint16_t)a;
	c->p->ct_zone_max = (uint16_t)b;
	return 0;
bad:
	fail(c, c->line, "ct_zones: '%s' is not a zone range (N or N-M, 0 to 65535, N <= M)", v);
	return -1;
}

static int set_max_vlan_tags(struct pctx *c, const char *v, bool cont)
{
	uint64_t x;

	if (set_uint(c, "max_vlan_tags", v, 0, 2, &x))
		return -1;
	c->p->max_vlan_tags = (unsigned)x;
	return 0;
}

static int set_max_actions(struct pctx *c, const char *v, bool cont)
{
	uint64_t x;

	if (set_uint(c, "max_actions", v, 1, 64, &x))
		return -1;
	c->p->max_actions = (unsigned)x;
	return 0;
}

/* ---- setters: [limits] ---- */

static int set_capacity(struct pctx *c, const char *v, bool cont)
{
	return set_uint(c, "capacity", v, 0, UINT32_MAX, &c->p->capacity);
}

static int set_stats_interval(struct pctx *c, const char *v, bool cont)
{
	uint64_t x;

	if (set_uint(c, "stats_interval_ms", v, 100, 3600000, &x))
		return -1;
	c->p->stats_interval_ms = (unsigned)x;
	return 0;
}

/* Every key a profile file may hold; anything else is an error. */
static const struct key_def key_defs[] = {
    {SEC_PROFILE, "name", set_name, false},
    {SEC_PROFILE, "description", set_description, true},
    {SEC_PROFILE, "strategy", set_strategy, false},
    {SEC_PROFILE, "notes", set_notes, true},
    {SEC_MATCH, "driver", set_driver, true},
    {SEC_MATCH, "pci_id", set_pci_id, true},
    {SEC_MATCH, "ifname", set_ifname, true},
    {SEC_MATCH, "priority", set_priority, false},
    {SEC_OFFLOAD, "keys", set_keys, true},
    {SEC_OFFLOAD, "required_keys", set_required_keys, true},
    {SEC_OFFLOAD, "ct_state", set_ct_state, true},
    {SEC_OFFLOAD, "actions", set_actions, true},
    {SEC_OFFLOAD, "ignored_actions", set_ignored_actions, true},
    {SEC_OFFLOAD, "max_actions", set_max_actions, false},
    {SEC_OFFLOAD, "max_vlan_tags", set_max_vlan_tags, false},
    {SEC_OFFLOAD, "vlan_protocols", set_vlan_protocols, true},
    {SEC_OFFLOAD, "hooks", set_hooks, true},
    {SEC_OFFLOAD, "skip_sw", set_skip_sw, false},
    {SEC_OFFLOAD, "switchdev", set_switchdev, false},
    {SEC_OFFLOAD, "ct_zones", set_ct_zones, false},
    {SEC_LIMITS, "capacity", set_capacity, false},
    {SEC_LIMITS, "stats_interval_ms", set_stats_interval, false},
};
#define N_KEYS (sizeof(key_defs) / sizeof(key_defs[0]))

static const struct key_def *find_key(enum section sec, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (key_defs[i].section == sec && strcmp(key_defs[i].name, name) == 0)
			return &key_defs[i];
	return NULL;
}

static size_t key_index(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(key_defs[i].name, name) == 0)
			return i;
	return N_KEYS;
}

/* ---- the inih side ---- */

static bool is_comment_start(char ch)
{
	return ch == ';' || ch == '#';
}

/* A section header line: checks the name and remembers where the section starts. */
static void see_section(struct pctx *c, const char *start)
{
	const char *close = strchr(start, ']');
	char name[32];
	size_t n;
	enum section sec = SEC_NONE;

	if (!close) {
		fail(c, c->line, "section header without ']'");
		return;
	}
	start++;
	while (start < close && isspace((unsigned char)*start))
		start++;
	n = (size_t)(close - start);
	while (n && isspace((unsigned char)start[n - 1]))
		n--;
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, start, n);
	name[n] = '\0';
	for (int i = SEC_NONE + 1; i < SEC_COUNT; i++)
		if (strcmp(name, section_names[i]) == 0)
			sec = (enum section)i;
	if (sec == SEC_NONE) {
		fail(c, c->line, "unknown section [%s] (sections: profile, match, offload, limits)",
		     name);
		return;
	}
	if (c->section_line[sec]) {
		fail(c, c->line, "duplicate section [%s] (first at line %u)", name,
		     c->section_line[sec]);
		return;
	}
	c->section_line[sec] = c->line;
	c->section = sec;
	c->prev_name = false;
}

/* fgets-style reader over c->text, one line per call. */
static char *reader(char *str, int num, void *stream)
{
	struct pctx *c = stream;
	const char *start, *nl, *s;
	size_t n;

	if (c->failed || c->pos >= c->len)
		return NULL;
	start = c->text + c->pos;
	nl = memchr(start, '\n', c->len - c->pos);
	n = nl ? (size_t)(nl - start) + 1 : c->len - c->pos;
	c->line++;
	/* inih needs room for the line, a possible '\r' and the NUL. */
	if (num < 4 || n + 2 > (size_t)num) {
		fail(c, c->line, "line is longer than %d characters", num < 4 ? 0 : num - 3);
		return NULL;
	}
	memcpy(str, start, n);
	str[n] = '\0';
	c->pos += n;

	/* Classify the line the way inih will (it skips a UTF-8 BOM on line 1). */
	s = str;
	if (c->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	for (; *s && isspace((unsigned char)*s); s++)
		;
	c->kind = LINE_OTHER;
	if (!*s || is_comment_start(*s)) {
		/* blank or comment */
	} else if (c->prev_name && s > str) {
		c->kind = LINE_CONTINUATION;
	} else if (*s == '[') {
		c->kind = LINE_SECTION;
		see_section(c, s);
		if (c->failed)
			return NULL;
	} else {
		c->prev_name = true;
	}
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct pctx *c = user;
	const struct key_def *k;
	size_t idx;

	if (c->failed)
		return 1;
	if (c->kind == LINE_CONTINUATION) {
		k = c->last_key;
		if (!k)
			return 1;
		if (!k->continues) {
			fail(c, c->line,
			     "indented line continues '%s', which takes one value (remove the "
			     "indentation)",
			     k->name);
			return 1;
		}
		if (strchr(value, '=')) {
			fail(c, c->line,
			     "indented line continues '%s'; to set another key, remove the "
			     "indentation",
			     k->name);
			return 1;
		}
		k->set(c, value, true);
		return 1;
	}
	if (c->section == SEC_NONE) {
		fail(c, c->line, "key '%s' is outside a section (start with [profile])", name);
		return 1;
	}
	k = find_key(c->section, name);
	if (!k) {
		idx = key_index(name);
		if (idx < N_KEYS)
			fail(c, c->line, "unknown key '%s' in [%s] ('%s' belongs in [%s])", name,
			     section, name, section_names[key_defs[idx].section]);
		else
			fail(c, c->line, "unknown key '%s' in [%s]", name, section);
		return 1;
	}
	idx = (size_t)(k - key_defs);
	if (c->key_line[idx]) {
		fail(c, c->line, "duplicate key '%s' (first set at line %u)", name,
		     c->key_line[idx]);
		return 1;
	}
	c->key_line[idx] = c->line;
	c->last_key = k;
	if (!*value) {
		fail(c, c->line, "key '%s' has no value", name);
		return 1;
	}
	k->set(c, value, false);
	return 1;
}

static unsigned line_of(const struct pctx *c, const char *key)
{
	return c->key_line[key_index(key)];
}

/* A missing key is reported at its section's header, or at line 1 without the section. */
static void fail_missing(struct pctx *c, enum section sec, const char *msg)
{
	unsigned line = c->section_line[sec] ? c->section_line[sec] : 1;

	fail(c, line, "%s", msg);
}

static void check_profile(struct pctx *c)
{
	struct profile *p = c->p;
	char msg[256];
	uint32_t extra;

	if (!c->section_line[SEC_PROFILE]) {
		fail(c, 1, "missing section [profile]");
		return;
	}
	if (!p->name[0]) {
		fail_missing(c, SEC_PROFILE, "[profile] has no name (add 'name = ...')");
		return;
	}
	if (p->strategy == PROFILE_STRATEGY_NONE) {
		snprintf(
		    msg, sizeof(msg),
		    "profile '%s' has no strategy (add 'strategy = ct' or 'strategy = flow' to "
		    "[profile])",
		    p->name);
		fail_missing(c, SEC_PROFILE, msg);
		return;
	}
	if (!line_of(c, "keys") || !line_of(c, "actions") || !line_of(c, "max_actions")) {
		snprintf(msg, sizeof(msg),
		         "profile '%s': [offload] needs keys, actions and max_actions", p->name);
		fail_missing(c, SEC_OFFLOAD, msg);
		return;
	}
	if (!line_of(c, "capacity")) {
		snprintf(msg, sizeof(msg),
		         "profile '%s': [limits] needs capacity (0 = no limit known)", p->name);
		fail_missing(c, SEC_LIMITS, msg);
		return;
	}
	extra = p->required_keys & ~p->keys;
	if (extra) {
		fail(c, line_of(c, "required_keys"), "required_keys: '%s' is not in keys",
		     profile_key_name((enum profile_key)(extra & -extra)));
		return;
	}
	extra = p->ignored_actions & ~p->actions;
	if (extra) {
		fail(c, line_of(c, "ignored_actions"), "ignored_actions: '%s' is not in actions",
		     profile_action_name((enum profile_action)(extra & -extra)));
		return;
	}
	if (p->strategy == PROFILE_STRATEGY_FLOW &&
	    (p->actions & (PROFILE_ACT_CT | PROFILE_ACT_CT_NAT))) {
		fail(c, line_of(c, "actions"),
		     "actions: '%s' needs strategy ct (this profile has strategy flow)",
		     (p->actions & PROFILE_ACT_CT) ? "ct" : "ct_nat");
		return;
	}
	if (p->strategy == PROFILE_STRATEGY_CT && !(p->actions & PROFILE_ACT_CT)) {
		fail(c, line_of(c, "actions"), "actions: strategy ct needs action 'ct'");
		return;
	}
	if ((p->actions & PROFILE_ACT_CT_NAT) && !(p->actions & PROFILE_ACT_CT)) {
		fail(c, line_of(c, "actions"), "actions: 'ct_nat' needs 'ct' as well");
		return;
	}
	if (p->strategy == PROFILE_STRATEGY_CT && p->skip_sw) {
		fail(c, line_of(c, "skip_sw"),
		     "skip_sw: cannot be yes with strategy ct (act_ct needs the software path to "
		     "build its flowtable)");
		return;
	}
	if ((p->ct_state_set | p->ct_state_clear) && !(p->keys & PROFILE_KEY_CT_STATE)) {
		fail(c, line_of(c, "ct_state"),
		     "ct_state: flags given but 'ct_state' is not in keys");
		return;
	}
	if ((p->keys & PROFILE_KEY_CT_STATE) && !(p->ct_state_set | p->ct_state_clear)) {
		fail(c, line_of(c, "keys"),
		     "keys: 'ct_state' needs a ct_state list of the flags the hardware matches");
		return;
	}
	if (p->strategy == PROFILE_STRATEGY_CT && !p->has_ct_zones) {
		snprintf(msg, sizeof(msg), "profile '%s': strategy ct needs ct_zones in [offload]",
		         p->name);
		fail_missing(c, SEC_OFFLOAD, msg);
		return;
	}
	if (p->strategy != PROFILE_STRATEGY_CT && p->switchdev) {
		fail(c, line_of(c, "switchdev"),
		     "switchdev: only for strategy ct (the one-eswitch check applies to ct "
		     "flowtables)");
		return;
	}
	if (p->strategy == PROFILE_STRATEGY_FLOW && p->has_ct_zones) {
		fail(c, line_of(c, "ct_zones"), "ct_zones: only for strategy ct");
		return;
	}
}

int profile_parse(const char *text, const char *origin, struct profile *p, char *err, size_t errlen)
{
	unsigned key_line[N_KEYS] = {0};
	struct pctx c = {
	    .origin = origin ? origin : "<string>",
	    .text = text,
	    .len = strlen(text),
	    .key_line = key_line,
	    .p = p,
	    .err = err,
	    .errlen = errlen,
	};
	int rc;

	if (err && errlen)
		err[0] = '\0';
	memset(p, 0, sizeof(*p));
	p->hooks = 0;
	rc = ini_parse_stream(reader, &c, handler, &c);
	if (!c.failed && rc == -2)
		fail(&c, c.line, "out of memory");
	else if (!c.failed && rc > 0)
		fail(&c, (unsigned)rc,
		     "syntax error (expected '[section]', 'key = value' or a '#' comment)");
	if (!c.failed)
		check_profile(&c);
	if (c.failed)
		return -1;
	/* defaults for keys not given */
	if (!line_of(&c, "hooks"))
		p->hooks = PROFILE_HOOK_INGRESS;
	if (!line_of(&c, "vlan_protocols"))
		p->vlan_protocols = PROFILE_VLAN_8021Q | PROFILE_VLAN_8021AD;
	if (!line_of(&c, "stats_interval_ms"))
		p->stats_interval_ms = PROFILE_DEFAULT_STATS_MS;
	snprintf(p->origin, sizeof(p->origin), "%s", c.origin);
	return 0;
}

int profile_load_file(const char *path, struct profile *p, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t have = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: error: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PROFILE_FILE_MAX) {
		snprintf(err, errlen, "%s: error: not a regular file of at most %u bytes", path,
		         PROFILE_FILE_MAX);
		close(fd);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "%s: error: out of memory", path);
		return -1;
	}
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: error: read failed: %s", path,
			         n < 0 ? strerror(errno) : "file shrank");
			free(buf);
			close(fd);
			return -1;
		}
		have += (size_t)n;
	}
	close(fd);
	buf[have] = '\0';
	if (memchr(buf, '\0', have)) {
		snprintf(err, errlen, "%s: error: the file contains a NUL byte", path);
		free(buf);
		return -1;
	}
	rc = profile_parse(buf, path, p, err, errlen);
	free(buf);
	return rc;
}
