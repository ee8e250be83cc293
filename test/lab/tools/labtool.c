/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * labtool: drives the project's tc and netlink layers from lab scenarios (test/lab/tests/).
 *
 *   labtool golden-install VECTOR DEV PEER   install a golden shape through our netlink core
 *   labtool golden-print VECTOR DEV PEER     print it as a `tc -batch` line (our printer)
 *   labtool refuse DEV                       install rules the kernel refuses; print extacks
 *   labtool bulk DEV PEER N                  install N per-connection rules in one batch
 *   labtool count DEV                        count our view of the device's flower filters
 *   labtool nft-model FILE|--live            the canonical nft model dump (no source info)
 *   labtool nft-devices FILE                 the devices of every flowtable, one a line
 *
 * A golden vector (test/golden/NAME.hex) holds the bytes iproute2's tc sent for a shape, with
 * eth0 = ifindex 2 and eth1 = ifindex 3. Decoding it gives the shape as a rule (the unit tests
 * prove decode(encode(shape)) == shape and encode(shape) == those bytes); DEV and PEER take
 * the places of eth0 and eth1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/nftlive.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/rule.h"
#include "nft-tc-offload/tc.h"

static __attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "labtool: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static uint32_t ifindex_of(const char *name)
{
	uint32_t i = if_nametoindex(name);

	if (!i)
		die("no such device: %s", name);
	return i;
}

/* Reads a golden vector: "cmd ..." then hex lines. Returns the message length. */
static size_t read_vector(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t linecap = 0, n = 0;

	if (!f)
		die("cannot open %s", path);
	while (getline(&line, &linecap, f) > 0) {
		if (strncmp(line, "cmd ", 4) == 0)
			continue;
		for (char *p = line; p[0] && p[1] && p[0] != '\n'; p += 2) {
			unsigned v;

			if (sscanf(p, "%2x", &v) != 1 || n >= cap)
				die("bad vector %s", path);
			buf[n++] = (uint8_t)v;
		}
	}
	free(line);
	fclose(f);
	return n;
}

static uint32_t retarget(uint32_t ifindex, uint32_t dev, uint32_t peer)
{
	if (ifindex == 2)
		return dev;
	if (ifindex == 3)
		return peer;
	return ifindex;
}

static void load_shape(const char *path, const char *dev, const char *peer, struct tc_rule *r)
{
	static uint8_t buf[8192];
	char err[256] = "";
	size_t len = read_vector(path, buf, sizeof(buf));
	uint32_t d = ifindex_of(dev), p = ifindex_of(peer);

	if (tc_decode(buf, len, r, err, sizeof(err)) < 0)
		die("cannot decode the vector: %s", err);
	r->id.ifindex = retarget(r->id.ifindex, d, p);
	/* flower's indev is a name: eth0/eth1 of the capture become DEV/PEER too */
	if (!strcmp(r->flower.key.indev, "eth0"))
		snprintf(r->flower.key.indev, sizeof(r->flower.key.indev), "%s", dev);
	else if (!strcmp(r->flower.key.indev, "eth1"))
		snprintf(r->flower.key.indev, sizeof(r->flower.key.indev), "%s", peer);
	for (unsigned i = 0; i < r->n_actions; i++)
		if (r->actions[i].kind == TC_ACTION_MIRRED)
			r->actions[i].mirred.ifindex = retarget(r->actions[i].mirred.ifindex, d, p);
}

static struct nlc_sock *open_route(void)
{
	struct nlc_sock_opts o = {.rcvbuf = 8u << 20}; /* a wide window for pipelined batches */
	struct nlc_sock *s;
	int ret = nlc_open(&s, NETLINK_ROUTE, &o);

	if (ret < 0)
		die("cannot open rtnetlink: %s", strerror(-ret));
	return s;
}

static void ensure_clsact(struct nlc_sock *s, uint32_t ifindex)
{
	struct nlc_extack ext;
	int ret = nlc_tc_ensure_clsact(s, ifindex, &ext);

	if (ret < 0) {
		fprintf(stderr, "labtool: clsact: %s (%s)\n", strerror(-ret), ext.msg);
		exit(1);
	}
}

static int golden_install(const char *path, const char *dev, const char *peer)
{
	struct tc_rule r, echo;
	struct nlc_tc_result res;
	struct nlc_sock *s = open_route();
	int ret;

	load_shape(path, dev, peer, &r);
	ensure_clsact(s, r.id.ifindex);
	ret = nlc_tc_replace_batch(s, &r, 1, &res, &echo, NULL);
	nlc_close(s);
	if (ret) {
		fprintf(stderr, "labtool: install failed: %s%s%s%s\n", strerror(-res.error),
		        res.ext.msg[0] ? " (" : "", res.ext.msg, res.ext.msg[0] ? ")" : "");
		if (res.mismatch)
			fprintf(stderr, "labtool: the kernel's echo differs from the request\n");
		return 1;
	}
	printf("installed handle 0x%x pref %u in_hw %d\n", res.id.handle, res.id.prio,
	       res.state.in_hw);
	return 0;
}

static int golden_print(const char *path, const char *dev, const char *peer)
{
	struct tc_rule r;
	char line[4096];
	int n;

	load_shape(path, dev, peer, &r);
	n = tc_print(&r, TC_MSG_NEW, NULL, NULL, line, sizeof(line));
	if (n < 0 || (size_t)n >= sizeof(line))
		die("cannot print %s", path);
	printf("%s\n", line);
	return 0;
}

/* A per-connection rule in the flow strategy's layout, connection number i. */
static void flow_rule(struct tc_rule *r, uint32_t dev, uint32_t peer, uint32_t i)
{
	struct tc_id id = {.ifindex = dev,
	                   .hook = TC_HOOK_INGRESS,
	                   .prio = 10,
	                   .protocol = ETH_P_IP,
	                   .handle = i + 1};
	struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	struct tc_action *a;
	struct tc_pedit_op op;

	tc_rule_init(r, &id);
	k->ip_proto = IPPROTO_TCP;
	m->ip_proto = 0xff;
	k->src.v4.s_addr = htonl(0x0a000100u | (i >> 16)); /* 10.0.1.x */
	k->dst.v4.s_addr = htonl(0x0a000200u);             /* 10.0.2.0 */
	m->src.v4.s_addr = m->dst.v4.s_addr = 0xffffffff;
	k->src_port = (uint16_t)(1024 + (i & 0xffff) % 60000);
	k->dst_port = (uint16_t)(443 + i / 60000);
	m->src_port = m->dst_port = 0xffff;
	k->tcp_flags = 0;
	m->tcp_flags = TC_TCP_FIN | TC_TCP_RST;

	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	memset(&op, 0, sizeof(op));
	op.field = TC_PEDIT_ETH_SRC;
	memcpy(op.val.mac, "\x02\x00\x00\x00\x00\x01", 6);
	tc_pedit_add(&a->pedit, &op);
	op.field = TC_PEDIT_ETH_DST;
	memcpy(op.val.mac, "\x02\x00\x00\x00\x00\x02", 6);
	tc_pedit_add(&a->pedit, &op);
	op.field = TC_PEDIT_IP4_SRC;
	op.val.addr.v4.s_addr = htonl(0x0a000201u);
	tc_pedit_add(&a->pedit, &op);
	memset(&op.val, 0, sizeof(op.val));
	op.field = TC_PEDIT_TCP_SPORT;
	op.val.port = (uint16_t)(20000 + i % 40000);
	tc_pedit_add(&a->pedit, &op);
	a = tc_rule_add_action(r, TC_ACTION_CSUM);
	a->csum.flags = TC_CSUM_IPV4HDR | TC_CSUM_TCP;
	a = tc_rule_add_action(r, TC_ACTION_MIRRED);
	a->mirred.op = TC_MIRRED_EGRESS_REDIRECT;
	a->mirred.ifindex = peer;
	a->verdict = TC_VERDICT_STOLEN;
	r->cookie_len = 4;
	memcpy(r->cookie, "nto1", 4);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bulk(const char *dev, const char *peer, const char *count)
{
	uint32_t d = ifindex_of(dev), p = ifindex_of(peer);
	size_t n = strtoul(count, NULL, 10);
	struct tc_rule *rules = calloc(n, sizeof(*rules));
	struct nlc_tc_result *res = calloc(n, sizeof(*res));
	struct nlc_sock *s = open_route();
	const struct nlc_stats *st;
	double t0;
	int failed;

	if (!rules || !res)
		die("%s", "out of memory");
	for (size_t i = 0; i < n; i++)
		flow_rule(&rules[i], d, p, (uint32_t)i);
	ensure_clsact(s, d);
	t0 = now_s();
	failed = nlc_tc_replace_batch(s, rules, n, res, NULL, NULL);
	st = nlc_stats(s);
	printf("installed %zu rules in %.3f s: %d failed, %llu sendmsg, %llu requests, %llu "
	       "overruns\n",
	       n, now_s() - t0, failed, (unsigned long long)st->sendmsgs,
	       (unsigned long long)st->requests, (unsigned long long)st->enobufs);
	for (size_t i = 0; i < n && failed; i++) {
		if (res[i].error || res[i].mismatch) {
			fprintf(stderr, "rule %zu: %s %s%s\n", i, strerror(-res[i].error),
			        res[i].ext.msg, res[i].mismatch ? " (echo mismatch)" : "");
			break;
		}
	}
	nlc_close(s);
	free(rules);
	free(res);
	return failed ? 1 : 0;
}

static int count_rule(void *ctx, const struct tc_rule *r)
{
	(*(unsigned *)ctx)++;
	return 0;
}

static int count(const char *dev)
{
	struct nlc_sock *s = open_route();
	unsigned n = 0;
	struct nlc_tc_dump_cb cb = {.rule = count_rule, .ctx = &n};
	struct nlc_extack ext;
	int ret = nlc_tc_dump(s, ifindex_of(dev), &cb, NULL, &ext);

	nlc_close(s);
	if (ret < 0) {
		fprintf(stderr, "labtool: dump: %s %s\n", strerror(-ret), ext.msg);
		return 1;
	}
	printf("%u\n", n);
	return 0;
}

/* Requests the kernel must refuse; each result's errno and extack are printed. */
static int refuse(const char *dev)
{
	uint32_t d = ifindex_of(dev);
	struct tc_rule r[2];
	struct nlc_tc_result res[2];
	struct nlc_sock *s = open_route();
	struct tc_action *a;
	int failed;

	/* 0: mirred to a device that does not exist. */
	flow_rule(&r[0], d, d, 0);
	r[0].actions[2].mirred.ifindex = 999999;
	/* 1: the same prio as rule 0's but another protocol, in the same chain. */
	flow_rule(&r[1], d, d, 1);
	r[1].id.protocol = ETH_P_IPV6;
	r[1].flower.key.eth_type = ETH_P_IPV6;
	memset(&r[1].flower.key.src, 0, sizeof(r[1].flower.key.src));
	memset(&r[1].flower.mask.src, 0, sizeof(r[1].flower.mask.src));
	memset(&r[1].flower.key.dst, 0, sizeof(r[1].flower.key.dst));
	memset(&r[1].flower.mask.dst, 0, sizeof(r[1].flower.mask.dst));
	r[1].n_actions = 0;
	a = tc_rule_add_action(&r[1], TC_ACTION_GACT);
	a->verdict = TC_VERDICT_SHOT;

	ensure_clsact(s, d);
	/* A valid rule at that prio first, so rule 1's clash is real. */
	{
		struct tc_rule ok;
		struct nlc_tc_result okres;

		flow_rule(&ok, d, d, 2);
		if (nlc_tc_replace(s, &ok, &okres) < 0) {
			fprintf(stderr, "labtool: the valid rule failed: %s\n", okres.ext.msg);
			return 1;
		}
	}
	failed = nlc_tc_replace_batch(s, r, 2, res, NULL, NULL);
	for (int i = 0; i < 2; i++)
		printf("rule %d: error %d (%s) extack \"%s\"\n", i, res[i].error,
		       res[i].error ? strerror(-res[i].error) : "ok", res[i].ext.msg);
	nlc_close(s);
	return failed == 2 ? 0 : 1;
}

/* The model of a file, or of the running ruleset read through libnftables. */
static int nft_model(const char *src)
{
	struct nft_ruleset *rs = NULL;
	struct nft_error err = {0};
	char why[512];
	char *dump;
	int ret;

	if (strcmp(src, "--live") == 0) {
		char *text = nft_live_ruleset_text(why, sizeof(why));

		if (!text)
			die("%s", why);
		ret = nft_parse_buffer(text, strlen(text), "kernel", &rs, &err);
		if (ret < 0)
			fprintf(stderr, "--- live ruleset text ---\n%s\n", text);
		free(text);
	} else {
		ret = nft_parse_file(src, &rs, &err);
	}
	if (ret < 0) {
		fprintf(stderr, "%s", err.formatted ? err.formatted : "parse error\n");
		nft_error_clear(&err);
		return 2;
	}
	dump = nft_ruleset_dump_text(rs, NFT_DUMP_NO_SOURCE);
	if (!dump)
		die("%s", "out of memory");
	fputs(dump, stdout);
	free(dump);
	nft_ruleset_free(rs);
	return 0;
}

static int nft_devices(const char *path)
{
	struct nft_ruleset *rs = NULL;
	struct nft_error err = {0};

	if (nft_parse_file(path, &rs, &err) < 0) {
		fprintf(stderr, "%s", err.formatted ? err.formatted : "parse error\n");
		nft_error_clear(&err);
		return 2;
	}
	for (size_t t = 0; t < rs->n_tables; t++)
		for (size_t f = 0; f < rs->tables[t].n_flowtables; f++)
			for (size_t d = 0; d < rs->tables[t].flowtables[f].n_devices; d++)
				printf("%s\n", rs->tables[t].flowtables[f].devices[d]);
	nft_ruleset_free(rs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "nft-devices") == 0)
		return nft_devices(argv[2]);
	if (argc == 3 && strcmp(argv[1], "nft-model") == 0)
		return nft_model(argv[2]);
	if (argc == 5 && strcmp(argv[1], "golden-install") == 0)
		return golden_install(argv[2], argv[3], argv[4]);
	if (argc == 5 && strcmp(argv[1], "golden-print") == 0)
		return golden_print(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "refuse") == 0)
		return refuse(argv[2]);
	if (argc == 5 && strcmp(argv[1], "bulk") == 0)
		return bulk(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "count") == 0)
		return count(argv[2]);
	fprintf(stderr, "usage: labtool golden-install|golden-print VECTOR DEV PEER | refuse DEV | "
	                "bulk DEV PEER N | count DEV | nft-model FILE|--live | nft-devices FILE\n");
	return 2;
}
