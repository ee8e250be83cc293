/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The shipped configuration file (etc/nft-tc-offload.conf) documents every key with its
 * default: as shipped (all commented) it parses to the built-in defaults, and with every
 * "#key = value" line of the [daemon], [ct] and [flow] sections uncommented (but zone) it
 * still does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nft-tc-offload/config.h"

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void path_of(char *out, size_t len)
{
	const char *src = getenv("NTO_SOURCE_DIR");

	snprintf(out, len, "%s/etc/nft-tc-offload.conf", src ? src : ".");
}

static void test_as_shipped(void **state)
{
	struct config c, d;
	char path[512], err[512];

	path_of(path, sizeof(path));
	assert_int_equal(config_load(path, false, &c, err, sizeof(err)), 0);
	config_defaults(&d);
	assert_memory_equal(&c, &d, sizeof(c));
}

/* Uncomments "#key = value" lines (no space after '#') up to the [device] examples. */
static void test_uncommented(void **state)
{
	char path[512], err[512];
	char *text, *out, *line, *save = NULL;
	struct config c, d;
	size_t at = 0, keys = 0;

	path_of(path, sizeof(path));
	text = read_all(path);
	out = calloc(1, strlen(text) + 2);
	assert_non_null(out);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "#[device", 8))
			break;
		/* (zone: setting it at all means "explicit", which is not the default) */
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strstr(line, " =") &&
		    strncmp(line, "#zone ", 6) != 0) {
			line++;
			keys++;
		}
		at += (size_t)sprintf(out + at, "%s\n", line);
	}
	/* every key of [daemon] (11), [ct] (2, zone aside) and [flow] (4) is documented */
	assert_int_equal(keys, 16);
	config_defaults(&c);
	assert_int_equal(config_parse(out, "shipped", &c, err, sizeof(err)), 0);
	config_defaults(&d);
	assert_memory_equal(&c, &d, sizeof(c));
	free(out);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_as_shipped),
	    cmocka_unit_test(test_uncommented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
