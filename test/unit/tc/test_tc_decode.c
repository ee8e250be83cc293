/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tc_decode against what the kernel sends back, and against garbage; tc_encode/tc_print
 * refusals.
 *
 * Kernel dump replies: this host's kernel has no cls_flower, so the dump below is synthesized
 * after net/sched/cls_flower.c fl_dump() and act_api.c tcf_action_dump_1() of Linux 6.1: the
 * ethertype among the keys, masks for every key (ports too), TCA_FLOWER_FLAGS with IN_HW,
 * TCA_FLOWER_IN_HW_COUNT, per action TCA_ACT_STATS {BASIC, BASIC_HW, QUEUE}, the cookie,
 * TCA_ACT_IN_HW_COUNT, options with index/refcnt/bindcnt filled in, pedit's KEYS_EX before
 * PARMS_EX, ct's zone always, each action's TM, and a filter-level TCA_STATS2 after the options.
 * NOTE for the lab: replace or complement this with a dump captured from a real 6.1 kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/gen_stats.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>

#include "shapes.h"

#define MAXMSG              8192
#define NTO_TEST_COOKIE_LEN 16 /* the golden vectors' cookies */

/* Attribute numbers of the linux/tc_act headers (those headers clash with rule.h's struct names).
 */
enum { PEDIT_TM = 1, PEDIT_PARMS_EX = 4, PEDIT_KEYS_EX = 5, PEDIT_KEY_EX = 6 };
enum { CSUM_PARMS = 1, CSUM_TM = 2, MIRRED_TM = 1, MIRRED_PARMS = 2 };

struct gen {
	uint32_t index, capab;
	int32_t action, refcnt, bindcnt;
};

static const uint8_t cookie[4] = {0xde, 0xad, 0xbe, 0xef};

static void put_stats(struct nlmsghdr *nlh, uint64_t bytes, uint32_t packets, uint64_t hw_bytes,
                      uint32_t hw_packets)
{
	struct nlattr *st = mnl_attr_nest_start(nlh, TCA_ACT_STATS);
	struct gnet_stats_basic b = {.bytes = bytes, .packets = packets};
	struct gnet_stats_basic hw = {.bytes = hw_bytes, .packets = hw_packets};
	struct gnet_stats_queue q = {0};

	mnl_attr_put(nlh, TCA_STATS_BASIC, sizeof(b), &b);
	mnl_attr_put(nlh, TCA_STATS_BASIC_HW, sizeof(hw), &hw);
	mnl_attr_put(nlh, TCA_STATS_QUEUE, sizeof(q), &q);
	mnl_attr_nest_end(nlh, st);
}

static void put_tm(struct nlmsghdr *nlh, uint16_t type, uint64_t lastuse)
{
	struct tcf_t tm = {.install = 9000, .lastuse = lastuse, .expires = 0, .firstuse = 8000};

	mnl_attr_put(nlh, type, sizeof(tm), &tm);
}

static struct nlattr *act_start(struct nlmsghdr *nlh, uint16_t prio, const char *kind,
                                uint64_t bytes, uint32_t packets)
{
	struct nlattr *a = mnl_attr_nest_start(nlh, prio);

	a->nla_type &= ~NLA_F_NESTED;
	mnl_attr_put_strz(nlh, TCA_ACT_KIND, kind);
	put_stats(nlh, bytes, packets, bytes / 2, packets / 2);
	mnl_attr_put(nlh, TCA_ACT_COOKIE, sizeof(cookie), cookie);
	mnl_attr_put_u32(nlh, TCA_ACT_IN_HW_COUNT, 1);
	return a;
}

static void pedit_key(struct nlmsghdr *nlh, uint8_t *keys, unsigned *n, uint32_t mask_be,
                      uint32_t val_be, uint32_t off, uint16_t htype, uint16_t cmd)
{
	uint32_t k[6] = {htonl(mask_be), htonl(val_be), off, 0, 0, 0};
	struct nlattr *kex = mnl_attr_nest_start(nlh, PEDIT_KEY_EX);

	memcpy(keys + 24 + *n * sizeof(k), k, sizeof(k));
	(*n)++;
	mnl_attr_put_u16(nlh, 1, htype);
	mnl_attr_put_u16(nlh, 2, cmd);
	mnl_attr_nest_end(nlh, kex);
}

/* The kernel's dump of shape ct_chain1_est_v4 (+ cookie), installed in hardware. */
static size_t build_dump(uint8_t *buf)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *t;
	struct nlattr *opts, *acts, *a, *o, *kx, *top;
	uint8_t keys[24 + 5 * 24] = {0};
	struct gen g = {.index = 7, .action = TC_ACT_PIPE, .refcnt = 1, .bindcnt = 1};
	unsigned n = 0;

	nlh->nlmsg_type = RTM_NEWTFILTER;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = 42;
	t = mnl_nlmsg_put_extra_header(nlh, sizeof(*t));
	t->tcm_ifindex = ETH0;
	t->tcm_handle = 0x8001;
	t->tcm_parent = 0xfffffff2;
	t->tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_IP));
	mnl_attr_put_strz(nlh, TCA_KIND, "flower");
	mnl_attr_put_u32(nlh, TCA_CHAIN, 1);
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	opts->nla_type &= ~NLA_F_NESTED;
	mnl_attr_put_u16(nlh, TCA_FLOWER_KEY_ETH_TYPE, htons(ETH_P_IP));
	mnl_attr_put_u32(nlh, TCA_FLOWER_KEY_IPV4_DST, inet_addr("10.0.2.0"));
	mnl_attr_put_u32(nlh, TCA_FLOWER_KEY_IPV4_DST_MASK, inet_addr("255.255.255.0"));
	mnl_attr_put_u16(nlh, TCA_FLOWER_KEY_CT_STATE, TC_CT_TRACKED | TC_CT_ESTABLISHED);
	mnl_attr_put_u16(nlh, TCA_FLOWER_KEY_CT_STATE_MASK, TC_CT_TRACKED | TC_CT_ESTABLISHED);
	mnl_attr_put_u32(nlh, TCA_FLOWER_FLAGS, TCA_CLS_FLAGS_IN_HW);
	mnl_attr_put_u32(nlh, TCA_FLOWER_IN_HW_COUNT, 1);
	acts = mnl_attr_nest_start(nlh, TCA_FLOWER_ACT);
	acts->nla_type &= ~NLA_F_NESTED;

	a = act_start(nlh, 1, "pedit", 15000, 100);
	o = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	kx = mnl_attr_nest_start(nlh, PEDIT_KEYS_EX);
	pedit_key(nlh, keys, &n, 0xffff0000, 0x00000200, 4, 1, 0); /* eth src 02:00:00:00:00:01 */
	pedit_key(nlh, keys, &n, 0x00000000, 0x00000001, 8, 1, 0);
	pedit_key(nlh, keys, &n, 0x00000000, 0x02000000, 0, 1, 0); /* eth dst 02:00:00:00:00:02 */
	pedit_key(nlh, keys, &n, 0x0000ffff, 0x00020000, 4, 1, 0);
	pedit_key(nlh, keys, &n, 0x00ffffff, 0xff000000, 8, 2, 1); /* ip ttl add 0xff */
	mnl_attr_nest_end(nlh, kx);
	memcpy(keys, &g, sizeof(g));
	keys[20] = (uint8_t)n;
	mnl_attr_put(nlh, PEDIT_PARMS_EX, sizeof(keys), keys);
	put_tm(nlh, PEDIT_TM, 300);
	mnl_attr_nest_end(nlh, o);
	mnl_attr_nest_end(nlh, a);

	a = act_start(nlh, 2, "csum", 15000, 100);
	o = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	{
		struct {
			struct gen g;
			uint32_t flags;
		} p = {g, TC_CSUM_IPV4HDR | TC_CSUM_TCP | TC_CSUM_UDP};

		mnl_attr_put(nlh, CSUM_PARMS, sizeof(p), &p);
	}
	put_tm(nlh, CSUM_TM, 250); /* the most recent use: 2.5 s ago */
	mnl_attr_nest_end(nlh, o);
	mnl_attr_nest_end(nlh, a);

	a = act_start(nlh, 3, "mirred", 15000, 100);
	o = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	{
		struct {
			struct gen g;
			int32_t eaction;
			uint32_t ifindex;
		} p = {g, 1 /* TCA_EGRESS_REDIR */, ETH1};

		p.g.action = TC_ACT_STOLEN;
		mnl_attr_put(nlh, MIRRED_PARMS, sizeof(p), &p);
	}
	put_tm(nlh, MIRRED_TM, 260);
	mnl_attr_nest_end(nlh, o);
	mnl_attr_nest_end(nlh, a);
	mnl_attr_nest_end(nlh, acts);
	mnl_attr_nest_end(nlh, opts);

	top = mnl_attr_nest_start(nlh, TCA_STATS2);
	{
		struct gnet_stats_basic b = {.bytes = 15000, .packets = 100};

		mnl_attr_put(nlh, TCA_STATS_BASIC, sizeof(b), &b);
	}
	mnl_attr_nest_end(nlh, top);
	return nlh->nlmsg_len;
}

static const struct shape *find_shape(const char *name)
{
	for (unsigned i = 0; i < n_shapes; i++)
		if (!strcmp(shapes[i].name, name))
			return &shapes[i];
	abort();
}

static void test_kernel_dump(void **state)
{
	uint8_t buf[MAXMSG] __attribute__((aligned(8)));
	struct tc_rule want, got;
	char err[256];
	size_t n = build_dump(buf);
	int ret;

	(void)state;
	find_shape("ct_chain1_est_v4")->build(&want);
	want.id.handle = 0x8001;
	want.cookie_len = sizeof(cookie);
	memcpy(want.cookie, cookie, sizeof(cookie));

	ret = tc_decode(buf, n, &got, err, sizeof(err));
	if (ret)
		fail_msg("decode: %d %s", ret, err);
	assert_true(tc_rule_equal(&want, &got));
	assert_true(got.state.valid);
	assert_true(got.state.in_hw);
	assert_false(got.state.not_in_hw);
	assert_int_equal(got.state.in_hw_count, 1);
	assert_int_equal(got.state.bytes, 15000);
	assert_int_equal(got.state.packets, 100);
	assert_int_equal(got.state.hw_bytes, 7500);
	assert_int_equal(got.state.hw_packets, 50);
	assert_int_equal(got.state.lastused_ms, 2500);
}

static size_t load(const char *name, uint8_t *buf)
{
	char cmd[4096];

	return load_vector(name, cmd, sizeof(cmd), buf, MAXMSG);
}

static int decode(const uint8_t *buf, size_t n, char *err, size_t errlen)
{
	struct tc_rule r;

	return tc_decode(buf, n, &r, err, errlen);
}

static void test_truncated(void **state)
{
	uint8_t buf[MAXMSG] __attribute__((aligned(8)));
	uint8_t cut[MAXMSG] __attribute__((aligned(8)));

	(void)state;
	for (unsigned i = 0; i < n_shapes; i++) {
		size_t n;

		if (shapes[i].op == TC_MSG_GET)
			continue;
		n = load(shapes[i].name, buf);
		for (size_t len = 0; len < n; len++) {
			int ret;

			/* shorter than nlmsg_len says */
			assert_int_equal(decode(buf, len, NULL, 0), -EINVAL);
			/* or nlmsg_len cut too: a clean cut between attributes may still decode,
			 * anything else must be refused, and nothing may crash (ASan/UBSan) */
			memcpy(cut, buf, len);
			if (len >= sizeof(struct nlmsghdr))
				((struct nlmsghdr *)cut)->nlmsg_len = (uint32_t)len;
			ret = decode(cut, len, NULL, 0);
			assert_true(ret == 0 || ret == -EINVAL);
		}
	}
}

static size_t find(const uint8_t *buf, size_t n, const uint8_t *pat, size_t plen)
{
	for (size_t i = 0; i + plen <= n; i++)
		if (!memcmp(buf + i, pat, plen))
			return i;
	fail_msg("pattern not found");
	return 0;
}

static void expect_einval(const uint8_t *buf, size_t n, const char *reason_part)
{
	char err[256] = "";
	int ret = decode(buf, n, err, sizeof(err));

	assert_int_equal(ret, -EINVAL);
	if (!strstr(err, reason_part))
		fail_msg("reason \"%s\" lacks \"%s\"", err, reason_part);
}

static void test_bad_lengths(void **state)
{
	uint8_t buf[MAXMSG] __attribute__((aligned(8)));
	static const uint8_t ip_proto_tcp[] = {0x05, 0x00, 0x09, 0x00, 0x06};
	size_t n, at;

	(void)state;
	/* an attribute longer than its parent */
	n = load("ct_chain0_v4", buf);
	at = 0x38; /* TCA_OPTIONS: after tcmsg (0x24), TCA_CHAIN (8) and TCA_KIND (12) */
	assert_int_equal(buf[at + 2], 2);
	buf[at] = 0xf0;
	buf[at + 1] = 0x7f;
	expect_einval(buf, n, "bad length");

	/* an attribute shorter than its header */
	n = load("ct_chain0_v4", buf);
	at = find(buf, n, ip_proto_tcp, sizeof(ip_proto_tcp));
	buf[at] = 2;
	expect_einval(buf, n, "bad length");

	/* ip_proto with a 2-byte payload (same aligned size, so the walk stays in step) */
	n = load("ct_chain0_v4", buf);
	at = find(buf, n, ip_proto_tcp, sizeof(ip_proto_tcp));
	buf[at] = 6;
	expect_einval(buf, n, "ip_proto");

	/* nlmsg_len beyond the buffer, and below the headers */
	n = load("ct_chain0_v4", buf);
	((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)n + 4;
	expect_einval(buf, n, "nlmsg_len");
	((struct nlmsghdr *)buf)->nlmsg_len = 20;
	expect_einval(buf, n, "nlmsg_len");

	/* unaligned input */
	n = load("ct_chain0_v4", buf);
	memmove(buf + 1, buf, n);
	expect_einval(buf + 1, n, "aligned");
}

static void test_unknown_pedit_layout(void **state)
{
	uint8_t buf[MAXMSG] __attribute__((aligned(8)));
	/* ip ttl add 0xff: mask 00ffffff, val ff000000, offset 8 */
	static const uint8_t ttl_key[] = {0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x08};
	size_t n = load("ct_chain1_est_v4", buf), at = find(buf, n, ttl_key, sizeof(ttl_key));

	(void)state;
	buf[at + 2] = 0x00; /* mask 00ff00ff: two bytes rewritten, no named field */
	expect_einval(buf, n, "pedit key");

	n = load("ct_chain1_est_v4", buf);
	buf[at + 8] = 12; /* offset 12 with a one-byte mask: nothing we know */
	expect_einval(buf, n, "pedit key");
}

/*
 * One filter (shape flow_orig_snat) as the lab VM's Linux 6.1 dumps it (test/golden/
 * capture-dump.sh): full, and terse (TCA_DUMP_FLAGS_TERSE: no match, no action options).
 */
static void test_real_dump_full_and_terse(void **state)
{
	uint8_t full[MAXMSG] __attribute__((aligned(8)));
	uint8_t terse[MAXMSG] __attribute__((aligned(8)));
	size_t nf = load("kernel/dump_full", full), nt = load("kernel/dump_terse", terse);
	struct tc_rule want, got;
	struct tc_brief b, bf;
	char err[256];
	int ret;

	(void)state;
	assert_true(nt < nf / 2); /* what the terse dump saves: 384 of 1,044 bytes here */
	find_shape("flow_orig_snat")->build(&want);
	ret = tc_decode(full, nf, &got, err, sizeof(err));
	if (ret)
		fail_msg("decode: %d %s", ret, err);
	assert_true(tc_rule_equal(&want, &got));
	assert_true(got.state.valid);
	assert_true(got.state.not_in_hw); /* a veth: software only */

	/* the full filter has every action's options: the brief decoder leaves them alone */
	ret = tc_decode_brief(terse, nt, &b, err, sizeof(err));
	if (ret)
		fail_msg("brief: %d %s", ret, err);
	assert_memory_equal(&b.id, &want.id, sizeof(b.id));
	assert_int_equal(b.n_actions, 3);
	assert_int_equal(b.cookie_len, want.cookie_len);
	assert_memory_equal(b.cookie, want.cookie, want.cookie_len);
	assert_false(b.skip_sw);
	assert_false(b.skip_hw);
	assert_true(b.state.valid);
	assert_true(b.state.not_in_hw);
	assert_int_equal(b.state.packets, 0);

	/* without the counters */
	ret = tc_decode_brief_flags(terse, nt, &bf, TC_BRIEF_NO_STATS, err, sizeof(err));
	assert_int_equal(ret, 0);
	assert_memory_equal(&bf.id, &b.id, sizeof(b.id));
	assert_memory_equal(bf.cookie, b.cookie, b.cookie_len);
	assert_true(bf.state.not_in_hw);

	/* a kernel without terse dumps sends the full filter: read alike */
	ret = tc_decode_brief(full, nf, &bf, err, sizeof(err));
	if (ret)
		fail_msg("brief of the full dump: %d %s", ret, err);
	assert_memory_equal(&bf.id, &b.id, sizeof(b.id));
	assert_int_equal(bf.n_actions, b.n_actions);
	assert_int_equal(bf.cookie_len, b.cookie_len);
	assert_memory_equal(bf.cookie, b.cookie, b.cookie_len);

	/* the full decoder refuses the terse message: its actions have no options */
	assert_int_equal(tc_decode(terse, nt, &got, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "without options"));
}

/* The brief decoder: a filter that is not flower, another action's cookie, garbage. */
static void test_brief_refusals(void **state)
{
	uint8_t orig[MAXMSG] __attribute__((aligned(8)));
	uint8_t buf[MAXMSG] __attribute__((aligned(8)));
	static const uint8_t flower[] = "flower";
	static const uint8_t cookie_start[] = {0x00, 0x11, 0x22, 0x33};
	size_t n = load("kernel/dump_terse", orig), at;
	struct tc_brief b;
	char err[256];
	uint32_t seed = 777;

	(void)state;
	memcpy(buf, orig, n);
	at = find(buf, n, flower, 6);
	memcpy(buf + at, "flowex", 6);
	assert_int_equal(tc_decode_brief(buf, n, &b, NULL, 0), -ENOENT);

	/* the third action's cookie differs from the first's: refused, as tc_decode does */
	memcpy(buf, orig, n);
	at = find(buf, n, cookie_start, 4);
	at = find(buf + at + 4, n - at - 4, cookie_start, 4) + at + 4;
	at = find(buf + at + 4, n - at - 4, cookie_start, 4) + at + 4;
	buf[at + 15] ^= 1;
	assert_int_equal(tc_decode_brief(buf, n, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "action 3: cookie differs"));

	/* cut short, in a buffer of exactly that size (the sanitizers see any read past it):
	 * refused, or read up to an attribute's end (an id only, or fewer actions), never a part
	 * of a cookie */
	for (size_t cut = 0; cut < n; cut += 4) {
		uint8_t *m = malloc(cut ? cut : 1);
		int ret;

		assert_non_null(m);
		memcpy(m, orig, cut);
		if (cut >= sizeof(struct nlmsghdr))
			((struct nlmsghdr *)m)->nlmsg_len = (uint32_t)cut;
		ret = tc_decode_brief(m, cut, &b, NULL, 0);
		if (cut < NLMSG_HDRLEN + sizeof(struct tcmsg))
			assert_int_equal(ret, -EINVAL);
		assert_true(ret == 0 || ret == -EINVAL);
		if (ret == 0)
			assert_true(b.cookie_len == 0 || b.cookie_len == NTO_TEST_COOKIE_LEN);
		free(m);
	}
	for (int iter = 0; iter < 20000; iter++) {
		int ret;

		memcpy(buf, orig, n);
		for (int f = 0; f < 3; f++) {
			seed = seed * 1103515245 + 12345;
			buf[16 + (seed >> 8) % (n - 16)] = (uint8_t)(seed >> 16);
		}
		ret = tc_decode_brief(buf, n, &b, NULL, 0);
		assert_true(ret == 0 || ret == -EINVAL || ret == -ENOENT);
	}
}

static void test_not_flower(void **state)
{
	uint8_t buf[MAXMSG] __attribute__((aligned(8)));
	static const uint8_t flower[] = "flower";
	size_t n = load("ct_chain0_v4", buf), at = find(buf, n, flower, 6);
	struct tc_rule r;

	(void)state;
	memcpy(buf + at, "flowex", 6);
	assert_int_equal(tc_decode(buf, n, &r, NULL, 0), -ENOENT);
	n = load("ct_chain0_v4", buf);
	((struct nlmsghdr *)buf)->nlmsg_type = RTM_NEWQDISC;
	expect_einval(buf, n, "not a filter");
}

/* Random corruption of every vector: decode must answer, never crash (sanitizers watch). */
static void test_mutations(void **state)
{
	uint8_t orig[MAXMSG] __attribute__((aligned(8)));
	uint8_t buf[MAXMSG] __attribute__((aligned(8)));
	uint32_t seed = 12345;

	(void)state;
	for (unsigned i = 0; i < n_shapes; i++) {
		size_t n = load(shapes[i].name, orig);

		for (int iter = 0; iter < 2000; iter++) {
			int flips, ret;

			memcpy(buf, orig, n);
			seed = seed * 1103515245 + 12345;
			flips = 1 + (int)(seed >> 16) % 4;
			for (int f = 0; f < flips; f++) {
				seed = seed * 1103515245 + 12345;
				size_t pos = 16 + (seed >> 8) % (n - 16);

				seed = seed * 1103515245 + 12345;
				buf[pos] = (uint8_t)(seed >> 16);
			}
			ret = decode(buf, n, NULL, 0);
			assert_true(ret == 0 || ret == -EINVAL || ret == -ENOENT);
		}
	}
}

static void expect_refused(struct tc_rule *r, const char *reason_part)
{
	uint8_t buf[MAXMSG];
	char err[256] = "", line[4096];
	int ret = tc_encode(r, TC_MSG_NEW, 0, 1, buf, sizeof(buf), err, sizeof(err));

	assert_int_equal(ret, -EINVAL);
	if (!strstr(err, reason_part))
		fail_msg("reason \"%s\" lacks \"%s\"", err, reason_part);
	/* refused regardless of the buffer: -EINVAL wins over "does not fit" */
	assert_int_equal(tc_encode(r, TC_MSG_NEW, 0, 1, buf, 10, NULL, 0), -EINVAL);
	assert_int_equal(tc_print(r, TC_MSG_NEW, fake_ifname, NULL, line, sizeof(line)), -EINVAL);
}

static void test_encode_refusals(void **state)
{
	struct tc_rule r;
	struct tc_action *a;

	(void)state;
	find_shape("ct_nat_src_range")->build(&r);
	r.actions[0].ct.nat_family = 0;
	expect_refused(&r, "address range");

	find_shape("ct_chain0_v4")->build(&r);
	r.flower.key.vlan_id = 5;
	r.flower.mask.vlan_id = 0xffff;
	expect_refused(&r, "802.1Q");

	find_shape("ct_chain0_v4")->build(&r);
	r.flower.mask.ip_proto = 0;
	r.flower.key.dst_port = 80;
	r.flower.mask.dst_port = 0xffff;
	expect_refused(&r, "ip_proto");

	find_shape("ct_chain0_v4")->build(&r);
	r.flower.mask.dst_port = 0xff00;
	expect_refused(&r, "dst_port");

	find_shape("ct_chain0_v4")->build(&r);
	r.actions[1].goto_chain = 0x20000000;
	expect_refused(&r, "goto chain");

	find_shape("ct_chain1_est_v4")->build(&r);
	r.actions[2].verdict = TC_VERDICT_PIPE;
	expect_refused(&r, "stolen");

	find_shape("ct_chain1_new")->build(&r);
	r.actions[0].verdict = TC_VERDICT_STOLEN;
	expect_refused(&r, "stolen");

	find_shape("block_skip_hw")->build(&r);
	r.id.hook = TC_HOOK_EGRESS;
	expect_refused(&r, "block");

	find_shape("ct_chain1_new")->build(&r);
	r.id.ifindex = 0;
	expect_refused(&r, "ifindex");

	find_shape("ct_chain1_new")->build(&r);
	a = tc_rule_add_action(&r, TC_ACTION_CT);
	a->ct.flags = TC_CT_CLEAR;
	a->ct.zone = 3;
	expect_refused(&r, "clear");

	find_shape("ct_chain1_new")->build(&r);
	r.flower.skip_hw = r.flower.skip_sw = true;
	expect_refused(&r, "skip_sw");
}

/* tc_rule_vec_reserve: room for n more without moving the array; a size that cannot be
 * allocated is refused with the vector unchanged */
static void test_vec_reserve(void **state)
{
	struct tc_rule_vec rv = {0};
	struct tc_rule *first;

	(void)state;
	assert_int_equal(tc_rule_vec_reserve(&rv, 0), 0);
	assert_int_equal(tc_rule_vec_reserve(&rv, 40), 0);
	assert_int_equal(rv.cap, 40);
	first = tc_rule_vec_add(&rv);
	assert_non_null(first);
	first->id.prio = 7;
	for (int i = 1; i < 40; i++)
		assert_non_null(tc_rule_vec_add(&rv));
	assert_ptr_equal(rv.v, first);
	assert_int_equal(rv.cap, 40);
	/* the 41st grows it (doubling), keeping what was there */
	assert_non_null(tc_rule_vec_add(&rv));
	assert_int_equal(rv.n, 41);
	assert_int_equal(rv.cap, 80);
	assert_int_equal(rv.v[0].id.prio, 7);
	/* already room: nothing moves */
	assert_int_equal(tc_rule_vec_reserve(&rv, 39), 0);
	assert_int_equal(rv.cap, 80);
	assert_int_equal(tc_rule_vec_reserve(&rv, SIZE_MAX / 2), -ENOMEM);
	assert_int_equal(rv.n, 41);
	assert_int_equal(rv.cap, 80);
	assert_int_equal(rv.v[0].id.prio, 7);
	/* a small reserve past the capacity still doubles it, so reserving
	 * a few rules per device does not reallocate for every device */
	while (rv.n < rv.cap)
		assert_non_null(tc_rule_vec_add(&rv));
	assert_int_equal(tc_rule_vec_reserve(&rv, 5), 0);
	assert_int_equal(rv.cap, 160);
	/* a large one gets exactly what it asks for */
	assert_int_equal(tc_rule_vec_reserve(&rv, 1000), 0);
	assert_int_equal(rv.cap, 1080);
	assert_int_equal(rv.v[0].id.prio, 7);
	tc_rule_vec_free(&rv);
	assert_null(rv.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kernel_dump),     cmocka_unit_test(test_real_dump_full_and_terse),
	    cmocka_unit_test(test_brief_refusals),  cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_bad_lengths),     cmocka_unit_test(test_unknown_pedit_layout),
	    cmocka_unit_test(test_not_flower),      cmocka_unit_test(test_mutations),
	    cmocka_unit_test(test_encode_refusals), cmocka_unit_test(test_vec_reserve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
