/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared helpers of the conntrack engine's unit tests: tuples, paths, device names. */
#ifndef NTO_TEST_CT_TEST_H
#define NTO_TEST_CT_TEST_H

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nft-tc-offload/conntrack.h"
#include "nft-tc-offload/flowrule.h"

/* Devices of the tests: 1 lan0, 2 wan0, 3 lan1. */
static inline const char *test_ifname(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	static const char *const names[] = {"?", "lan0", "wan0", "lan1"};

	(void)ctx;
	if (ifindex >= sizeof(names) / sizeof(names[0]))
		return NULL;
	snprintf(buf, IFNAMSIZ, "%s", names[ifindex]);
	return buf;
}

static inline void test_tuple(struct flow_tuple *t, int family, uint8_t proto, const char *src,
                              uint16_t sport, const char *dst, uint16_t dport)
{
	memset(t, 0, sizeof(*t));
	t->family = family;
	t->proto = proto;
	inet_pton(family, src, &t->src);
	inet_pton(family, dst, &t->dst);
	t->sport = sport;
	t->dport = dport;
}

/* A connection: original src:sport -> dst:dport, reply rsrc:rsport -> rdst:rdport. */
static inline void test_conn(struct flow_conn *c, int family, uint8_t proto, const char *src,
                             uint16_t sport, const char *dst, uint16_t dport, const char *rsrc,
                             uint16_t rsport, const char *rdst, uint16_t rdport)
{
	memset(c, 0, sizeof(*c));
	test_tuple(&c->orig, family, proto, src, sport, dst, dport);
	test_tuple(&c->reply, family, proto, rsrc, rsport, rdst, rdport);
}

static inline void test_mac(uint8_t mac[6], uint8_t last)
{
	static const uint8_t base[6] = {0x02, 0, 0, 0, 0, 0};

	memcpy(mac, base, 6);
	mac[5] = last;
}

/* lan side: ifindex 1 "lan0" (our MAC :01, client :11); wan side: 2 "wan0" (:02, server :22) */
static inline void test_paths(struct flow_path p[2])
{
	memset(p, 0, 2 * sizeof(*p));
	p[0].in_ifindex = 1;
	snprintf(p[0].in_ifname, IFNAMSIZ, "lan0");
	p[0].out_ifindex = 2;
	snprintf(p[0].out_ifname, IFNAMSIZ, "wan0");
	test_mac(p[0].src_mac, 0x02);
	test_mac(p[0].dst_mac, 0x22);
	p[1].in_ifindex = 2;
	snprintf(p[1].in_ifname, IFNAMSIZ, "wan0");
	p[1].out_ifindex = 1;
	snprintf(p[1].out_ifname, IFNAMSIZ, "lan0");
	test_mac(p[1].src_mac, 0x01);
	test_mac(p[1].dst_mac, 0x11);
}

#endif
