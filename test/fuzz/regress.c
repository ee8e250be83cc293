/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replays fuzz inputs through the fuzz targets (built without libFuzzer, see fuzz.h):
 *  - test/fuzz/regress/TARGET/ *: inputs a fuzzer once crashed on (fixed since; see
 *    docs/reliability.md for what each was);
 *  - the seeds from the test data (nft samples, golden tc vectors, profiles), so the harnesses
 *    keep building and running in the normal build;
 *  - test/fuzz/seeds/ctl: control-socket requests (valid, malformed, overlong).
 * A target aborts on a broken invariant, which fails this test.
 */
#include <ctype.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fuzz.h"

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	assert_non_null(f);
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t r = fread(buf + n, 1, cap - n, f);

		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* test/golden/NAME.hex: a "cmd ..." line, then the message in hex. */
static uint8_t *golden_bytes(const char *text, size_t len, size_t *out)
{
	uint8_t *b = malloc(len / 2 + 1);
	size_t n = 0, i = 0;
	int hi = -1;

	assert_non_null(b);
	if (len > 4 && memcmp(text, "cmd ", 4) == 0)
		while (i < len && text[i] != '\n')
			i++;
	for (; i < len; i++) {
		int c = (unsigned char)text[i], v;

		if (!isxdigit(c))
			continue;
		v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
		if (hi < 0) {
			hi = v;
		} else {
			b[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	*out = n;
	return b;
}

/* Replays every regular file of dir whose name ends in suffix ("" = any); returns how many. */
static unsigned replay_dir(fuzz_fn fn, const char *dir, const char *suffix, bool hex)
{
	struct dirent *de;
	unsigned count = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name), sl = strlen(suffix), len;
		char path[4096];
		char *buf;

		if (de->d_name[0] == '.' || nl < sl || strcmp(de->d_name + nl - sl, suffix) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		buf = read_all(path, &len);
		if (hex) {
			size_t n;
			uint8_t *b = golden_bytes(buf, len, &n);

			fn(b, n);
			free(b);
		} else {
			fn((const uint8_t *)buf, len);
		}
		free(buf);
		count++;
	}
	closedir(d);
	return count;
}

static const char *src_dir(void)
{
	const char *s = getenv("NTO_SOURCE_DIR");

	return s ? s : ".";
}

static unsigned replay(fuzz_fn fn, const char *rel, const char *suffix, bool hex)
{
	char dir[4096];

	if (snprintf(dir, sizeof(dir), "%s/%s", src_dir(), rel) >= (int)sizeof(dir))
		return 0;
	return replay_dir(fn, dir, suffix, hex);
}

static void test_nft(void **state)
{
	(void)state;
	replay(nto_fuzz_nft, "test/fuzz/regress/nft", "", false);
	assert_true(replay(nto_fuzz_nft, "test/data/nft", ".nft", false) > 10);
	replay(nto_fuzz_nft, "test/data/nft/bad", ".nft", false);
	replay(nto_fuzz_nft, "test/data/plan", ".nft", false);
}

static void test_tc(void **state)
{
	(void)state;
	replay(nto_fuzz_tc, "test/fuzz/regress/tc", "", false);
	assert_true(replay(nto_fuzz_tc, "test/golden", ".hex", true) > 10);
}

static void test_nl(void **state)
{
	(void)state;
	replay(nto_fuzz_nl, "test/fuzz/regress/nl", "", false);
	replay(nto_fuzz_nl, "test/fuzz/seeds/nl", "", false);
}

static void test_conntrack(void **state)
{
	(void)state;
	replay(nto_fuzz_conntrack, "test/fuzz/regress/conntrack", "", false);
	replay(nto_fuzz_conntrack, "test/fuzz/seeds/conntrack", "", false);
}

static void test_config(void **state)
{
	(void)state;
	replay(nto_fuzz_config, "test/fuzz/regress/config", "", false);
	assert_true(replay(nto_fuzz_config, "test/fuzz/seeds/config", "", false) > 0);
}

static void test_profile(void **state)
{
	(void)state;
	replay(nto_fuzz_profile, "test/fuzz/regress/profile", "", false);
	assert_true(replay(nto_fuzz_profile, "profiles", ".conf", false) > 0);
	replay(nto_fuzz_profile, "test/data/profiles", ".conf", false);
}

static void test_ctl(void **state)
{
	(void)state;
	replay(nto_fuzz_ctl, "test/fuzz/regress/ctl", "", false);
	assert_true(replay(nto_fuzz_ctl, "test/fuzz/seeds/ctl", "", false) > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nft),    cmocka_unit_test(test_tc),
	    cmocka_unit_test(test_nl),     cmocka_unit_test(test_conntrack),
	    cmocka_unit_test(test_config), cmocka_unit_test(test_profile),
	    cmocka_unit_test(test_ctl),
	};

	/* a regression may be a hang (regress/nl/dump-nlmsg-len-2g-hang was): SIGALRM ends the
	 * test instead of ctest's 25 minutes */
	alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
