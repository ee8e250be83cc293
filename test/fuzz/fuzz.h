/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer targets (test/fuzz/fuzz_*.c). Each target is a function nto_fuzz_NAME(data, size);
 * its file also defines LLVMFuzzerTestOneInput unless NTO_FUZZ_NO_ENTRY is set, which is how
 * the cmocka regression test (regress.c) links every target into one gcc-built executable and
 * replays the inputs under test/fuzz/regress/NAME/.
 *
 * A target returns 0 for every input; a broken invariant (decode(encode(x)) != x, a dump that
 * failed without running out of memory, ...) calls FUZZ_CHECK, which aborts: libFuzzer reports
 * it as a crash, cmocka as a failed test.
 */
#ifndef NTO_TEST_FUZZ_H
#define NTO_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__,  \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int nto_fuzz_nft(const uint8_t *data, size_t size);
int nto_fuzz_tc(const uint8_t *data, size_t size);
int nto_fuzz_nl(const uint8_t *data, size_t size);
int nto_fuzz_conntrack(const uint8_t *data, size_t size);
int nto_fuzz_config(const uint8_t *data, size_t size);
int nto_fuzz_profile(const uint8_t *data, size_t size);
int nto_fuzz_ctl(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (for the text parsers); NULL when out of memory. */
char *fuzz_strdup(const uint8_t *data, size_t size);

/* libFuzzer's entry point (declared for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NTO_FUZZ_ENTRY(fn)                                                                         \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                               \
	{                                                                                          \
		return fn(data, size);                                                             \
	}

#endif
