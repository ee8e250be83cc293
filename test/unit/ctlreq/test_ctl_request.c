/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctl_parse_request: what the control server does with the bytes a client sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nft-tc-offload/ctl.h"

/* Parses len bytes of req (copied into a server-sized buffer); returns argc, err filled. */
static int parse(const char *req, size_t len, char **argv, char *err, size_t errlen)
{
	static char buf[CTL_REQUEST_MAX + 1];

	assert_true(len <= CTL_REQUEST_MAX);
	memcpy(buf, req, len);
	err[0] = '\0';
	return ctl_parse_request(buf, len, argv, CTL_MAX_ARGS, err, errlen);
}

#define PARSE(lit) parse((lit), sizeof(lit) - 1, argv, err, sizeof(err))

static void test_valid(void **state)
{
	char *argv[CTL_MAX_ARGS], err[256];

	(void)state;
	assert_int_equal(PARSE("status\n"), 1);
	assert_string_equal(argv[0], "status");
	/* no '\n': the client ended its stream; '\r' and tabs separate words */
	assert_int_equal(PARSE("explain\t10.0.1.2  10.0.2.2 tcp\r"), 4);
	assert_string_equal(argv[3], "tcp");
	/* only the first line counts, whatever follows it */
	assert_int_equal(PARSE("ping\n\xff\x00 more"), 1);
	assert_string_equal(argv[0], "ping");
	/* 16 words */
	assert_int_equal(PARSE("a b c d e f g h i j k l m n o p\n"), 16);
	assert_string_equal(argv[15], "p");
}

static void test_refused(void **state)
{
	char *argv[CTL_MAX_ARGS], err[256], big[CTL_REQUEST_MAX];

	(void)state;
	assert_int_equal(PARSE("\n"), -1);
	assert_string_equal(err, "empty request");
	assert_int_equal(PARSE(" \t\r "), -1);
	assert_string_equal(err, "empty request");
	assert_int_equal(PARSE("a b c d e f g h i j k l m n o p q\n"), -1);
	assert_string_equal(err, "more than 16 words in the request");
	assert_int_equal(PARSE("status\x00junk\n"), -1);
	assert_string_equal(err, "byte 0x00 at offset 6 of the request: printable ASCII only");
	assert_int_equal(PARSE("explain \xc3\xa9\n"), -1);
	assert_string_equal(err, "byte 0xc3 at offset 8 of the request: printable ASCII only");
	assert_int_equal(PARSE("\x7f\n"), -1);
	assert_string_equal(err, "byte 0x7f at offset 0 of the request: printable ASCII only");
	/* a full buffer without '\n' is too long; 1023 bytes and a '\n' are fine */
	memset(big, 'x', sizeof(big));
	assert_int_equal(parse(big, sizeof(big), argv, err, sizeof(err)), -1);
	assert_string_equal(err, "request longer than 1023 bytes");
	big[sizeof(big) - 1] = '\n';
	assert_int_equal(parse(big, sizeof(big), argv, err, sizeof(err)), 1);
	assert_int_equal(strlen(argv[0]), CTL_REQUEST_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
