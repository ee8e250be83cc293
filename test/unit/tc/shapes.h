/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The golden rule shapes, built with the model API (test/golden/shapes.txt has their tc lines). */
#ifndef NTO_TEST_TC_SHAPES_H
#define NTO_TEST_TC_SHAPES_H

#include <stdint.h>

#include "nft-tc-offload/tc.h"

/* The capture namespace of test/golden/capture.sh: eth0 = 2, eth1 = 3. */
#define ETH0 2
#define ETH1 3

struct shape {
	const char *name; /* test/golden/NAME.hex */
	enum tc_msg_op op;
	void (*build)(struct tc_rule *r);
};

extern const struct shape shapes[];
extern const unsigned n_shapes;

const char *fake_ifname(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ]);

/* Reads test/golden/NAME.hex: the tc line into cmd, the bytes into buf; returns the size. */
size_t load_vector(const char *name, char *cmd, size_t cmdlen, uint8_t *buf, size_t buflen);

#endif
