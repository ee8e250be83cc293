/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's request parsing, as the daemon runs it on what a client sent:
 * ctl_parse_request() (framing, accepted bytes, ctl_split into at most CTL_MAX_ARGS words),
 * then, for "explain", daemon_parse_tuple() on the words after it (through its declared
 * prototype only). ctl_split() is also fuzzed alone with a word limit from the input.
 *
 * The input is the bytes a client sent, at most CTL_REQUEST_MAX (what the server buffers); the
 * first byte also picks the word limit for the ctl_split pass (1..CTL_MAX_ARGS + 8).
 *
 * Invariants:
 *  - ctl_parse_request returns -1 with a non-empty, terminated reason that jansson accepts as a
 *    JSON string (the server sends it back), or 1..CTL_MAX_ARGS words, each non-empty, printable
 *    ASCII without a separator, in input order inside the request line; joining the words with
 *    single spaces and parsing again gives the same words.
 *  - ctl_split alone: -1, or 1..max words free of separators.
 *  - daemon_parse_tuple returns 0 or -EINVAL; on -EINVAL a non-empty, terminated reason that is
 *    a valid JSON string; on 0 an IPv4 or IPv6 query whose addresses are those of two of the
 *    words, protocol 0, tcp or udp; formatted back with plan_query_format and parsed again it
 *    gives the same query.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "nft-tc-offload/ctl.h"
#include "nft-tc-offload/daemon.h"
#include "nft-tc-offload/plan.h"

#define SEPARATORS " \t\r\n"

static void check_reason(const char *err, size_t errlen)
{
	json_t *j;

	FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
	FUZZ_CHECK(err[0] != '\0');
	j = json_string(err); /* NULL when not valid UTF-8 (or out of memory) */
	FUZZ_CHECK(j != NULL);
	json_decref(j);
}

static void check_words(char **argv, int argc, int max)
{
	FUZZ_CHECK(argc >= 1 && argc <= max);
	for (int i = 0; i < argc; i++) {
		FUZZ_CHECK(argv[i][0] != '\0');
		FUZZ_CHECK(strpbrk(argv[i], SEPARATORS) == NULL);
		if (i)
			FUZZ_CHECK(argv[i] > argv[i - 1] + strlen(argv[i - 1]));
	}
}

/* Is one of the words an address of family fam equal to addr? */
static int word_is_addr(int fam, const void *addr, char **argv, int argc)
{
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;

	for (int i = 0; i < argc; i++)
		if (inet_pton(fam, argv[i], &a) == 1 &&
		    !memcmp(&a, addr, fam == AF_INET ? sizeof(a.v4) : sizeof(a.v6)))
			return 1;
	return 0;
}

static int same_query(const struct plan_query *a, const struct plan_query *b)
{
	size_t alen = a->t.family == AF_INET ? 4 : 16;

	return a->t.family == b->t.family && a->t.proto == b->t.proto &&
	       a->has_ports == b->has_ports && !memcmp(&a->t.saddr, &b->t.saddr, alen) &&
	       !memcmp(&a->t.daddr, &b->t.daddr, alen) &&
	       (!a->has_ports || (a->t.sport == b->t.sport && a->t.dport == b->t.dport));
}

static void fuzz_tuple(int argc, char **argv)
{
	struct plan_query q, q2;
	char err[512], text[512], *words[CTL_MAX_ARGS + 1], again[CTL_REQUEST_MAX + 1];
	int rc, n;

	memset(err, 0x55, sizeof(err));
	rc = daemon_parse_tuple(argc, argv, &q, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		check_reason(err, sizeof(err));
		return;
	}
	FUZZ_CHECK(q.t.family == AF_INET || q.t.family == AF_INET6);
	FUZZ_CHECK(q.t.proto == 0 || q.t.proto == IPPROTO_TCP || q.t.proto == IPPROTO_UDP);
	FUZZ_CHECK(word_is_addr(q.t.family, &q.t.saddr, argv, argc));
	FUZZ_CHECK(word_is_addr(q.t.family, &q.t.daddr, argv, argc));

	/* the query as the CLI would write it parses back to itself */
	plan_query_format(&q, text, sizeof(text));
	FUZZ_CHECK(memchr(text, '\0', sizeof(text)) != NULL);
	snprintf(again, sizeof(again), "%s", text);
	n = ctl_parse_request(again, strlen(again), words, CTL_MAX_ARGS, err, sizeof(err));
	FUZZ_CHECK(n > 0);
	rc = daemon_parse_tuple(n, words, &q2, err, sizeof(err));
	if (rc)
		fprintf(stderr, "formatted \"%s\" does not parse: %s\n", text, err);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(same_query(&q, &q2));
}

int nto_fuzz_ctl(const uint8_t *data, size_t size)
{
	char buf[CTL_REQUEST_MAX + 1], err[512], *argv[CTL_MAX_ARGS + 8];
	char joined[CTL_REQUEST_MAX + 1], *argv2[CTL_MAX_ARGS];
	char *line;
	size_t at = 0;
	int argc, argc2, max;

	if (size > CTL_REQUEST_MAX)
		return 0;

	/* ctl_split alone on the input as a string, with a word limit from the first byte */
	line = fuzz_strdup(data, size);
	if (!line)
		return 0;
	max = size ? 1 + data[0] % (CTL_MAX_ARGS + 8) : CTL_MAX_ARGS;
	argc = ctl_split(line, argv, max);
	FUZZ_CHECK(argc == -1 || (argc >= 1 && argc <= max));
	if (argc > 0)
		check_words(argv, argc, max);
	free(line);

	/* what the server does with a client's bytes */
	if (size)
		memcpy(buf, data, size);
	memset(err, 0x55, sizeof(err));
	argc = ctl_parse_request(buf, size, argv, CTL_MAX_ARGS, err, sizeof(err));
	if (argc < 0) {
		FUZZ_CHECK(argc == -1);
		check_reason(err, sizeof(err));
		return 0;
	}
	check_words(argv, argc, CTL_MAX_ARGS);
	for (int i = 0; i < argc; i++) {
		for (const char *p = argv[i]; *p; p++)
			FUZZ_CHECK(*p > 0x20 && *p < 0x7f);
		FUZZ_CHECK(argv[i] >= buf && argv[i] + strlen(argv[i]) <= buf + size);
	}

	/* the words joined with single spaces parse to the same words */
	for (int i = 0; i < argc; i++)
		at += (size_t)snprintf(joined + at, sizeof(joined) - at, "%s%s", i ? " " : "",
		                       argv[i]);
	FUZZ_CHECK(at < sizeof(joined));
	argc2 = ctl_parse_request(joined, at, argv2, CTL_MAX_ARGS, err, sizeof(err));
	FUZZ_CHECK(argc2 == argc);
	for (int i = 0; i < argc; i++)
		FUZZ_CHECK(strcmp(argv[i], argv2[i]) == 0);

	if (!strcmp(argv[0], "explain"))
		fuzz_tuple(argc - 1, argv + 1);
	return 0;
}

#ifndef NTO_FUZZ_NO_ENTRY
NTO_FUZZ_ENTRY(nto_fuzz_ctl)
#endif
