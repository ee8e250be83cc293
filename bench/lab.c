/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_lab: the benchmarks' helper inside the lab VM (the scripts in bench/lab/ run it; see
 * docs/benchmarks.md). Every rule set is the flow strategy's per-connection layout, built by
 * flowrule_build_dir: indev + IPv4 5-tuple + tcp_flags 0/fin|rst, pedit eth src/dst + ip src +
 * tcp sport (masquerade), csum iph tcp, mirred egress redirect, our 16-byte cookie. Rule i
 * (0..N-1) has handle i+1, prio 0x2000, on DEV's clsact ingress, redirecting to PEER.
 *
 *   bench_lab text DEV PEER N ADD DEL    `tc -batch` files (tc_print): replace / delete lines
 *   bench_lab encode DEV PEER N ADD DEL  pre-encoded netlink requests (tc_encode, no echo)
 *   bench_lab replay FILE                send FILE's requests (32 KB per sendmsg, or at most
 *                                        NTO_BENCH_RAW_MSGS requests), read all ACKs after each
 *   bench_lab add DEV PEER N [--no-echo] install through the netlink core (nlc_tc_replace_batch
 *                                        with echo; --no-echo: nlc_tc_replace_batch_noecho)
 *   bench_lab del DEV PEER N             delete through the netlink core (nlc_tc_delete_batch)
 *   bench_lab count DEV                  flower filters on DEV (a dump through the core)
 *   bench_lab restart-setup DEV PEER N   the state a restarted daemon finds: N rules of ours
 *                                        plus duplicates (see cmd_rs_setup)
 *   bench_lab reconcile DEV PEER N       the restarted daemon's reconcile against its plan:
 *                                        dump, adopt, delete the rest of ours, add the missing
 *   bench_lab verify DEV PEER N          a dump afterwards: missing, duplicates, orphans
 *   bench_lab rawdump DEV [FILE]         DEV's ingress dumped on a plain socket, not decoded
 *                                        (FILE: the datagrams saved, for decodecost)
 *   bench_lab rawdump-terse DEV [FILE]   the same with TCA_DUMP_FLAGS_TERSE (handles, flags,
 * actions' kinds, cookies and counters only) bench_lab ctrawdump                  the IPv4
 * conntrack table dumped on a plain socket bench_lab decodecost FILE [REPS]     host: FILE's
 * filters tc_decode()d, ns per filter bench_lab latency LAN WAN N          conntrack entry created
 * -> event -> engine -> both rules acknowledged, N connections one at a time bench_lab flowpair LAN
 * WAN CLIENT:PORT SERVER:PORT LAN-PEER-MAC WAN-PEER-MAC install the two rules of one (unNATed) TCP
 * connection bench_lab ctcreate FROM N [GAP_US]   conntrack entries FROM..FROM+N-1
 * (restart-daemon's masqueraded TCP connections) through ctnetlink, GAP_US apart bench_lab ctverify
 * LAN WAN           every such entry has one rule of ours on LAN and one on WAN; no orphans, no
 * duplicates (by cookie id) bench_lab ctdupe DEV K               a copy of the first K rules of
 * ours at the next prio
 *
 * Each prints `time_s=<seconds>` for its timed part (and errors=<n>); exits 1 on any failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "benchlib.h"
#include "nft-tc-offload/conntrack.h"
#include "nft-tc-offload/install.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

#define BENCH_PRIO  0x2000
#define BENCH_OWNER 0x62656e63u /* "benc" */
#define RCVBUF      (8u << 20)

static __attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_lab: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint32_t ifindex_of(const char *name)
{
	uint32_t i = if_nametoindex(name);

	if (!i)
		die("no such device: %s", name);
	return i;
}

static void dev_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		die("cannot read the address of %s", name);
	close(fd);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

static unsigned long parse_count(const char *s)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);

	if (*end || !n || n > 1000000)
		die("bad count %s", s);
	return n;
}

/* ---- the per-connection rule set ------------------------------------------------------- */

/* Connection i: 10.1.x.y:sport -> 10.2.0.2:443, masqueraded to 10.2.0.1:natport. A changed
 * connection (restart benchmark: the plan differs from what is installed) has another natport. */
static void bench_conn(uint32_t i, bool changed, struct flow_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->orig.family = c->reply.family = AF_INET;
	c->orig.proto = c->reply.proto = IPPROTO_TCP;
	c->orig.src.v4.s_addr = htonl(0x0a010000u | ((i / 50000u) + 1u));
	c->orig.dst.v4.s_addr = htonl(0x0a020002u);
	c->orig.sport = (uint16_t)(10000u + i % 50000u);
	c->orig.dport = 443;
	c->reply.src = c->orig.dst;
	c->reply.dst.v4.s_addr = htonl(0x0a020001u);
	c->reply.sport = 443;
	c->reply.dport = (uint16_t)(1024u + (i + (changed ? 7u : 0u)) % 60000u);
}

/* The path every rule of the set uses: DEV ingress, redirected to PEER. */
static void bench_path(const char *dev, const char *peer, struct flow_path *p)
{
	memset(p, 0, sizeof(*p));
	p->in_ifindex = ifindex_of(dev);
	snprintf(p->in_ifname, sizeof(p->in_ifname), "%s", dev);
	p->out_ifindex = ifindex_of(peer);
	snprintf(p->out_ifname, sizeof(p->out_ifname), "%s", peer);
	dev_mac(peer, p->src_mac);
	memcpy(p->dst_mac, "\x02\x00\x00\x00\x01\x02", 6);
}

/* The rule of connection i: handle i + 1, rule id i + 1 in our cookie. */
static void bench_rule(const struct flow_path *p, uint32_t i, bool changed, uint16_t prio,
                       struct tc_rule *r)
{
	struct flow_conn c;
	struct flowrule_opts o;
	char why[256];

	memset(&o, 0, sizeof(o));
	o.prio = prio;
	o.cookie_len = NTO_COOKIE_LEN;
	o.handle[FLOW_DIR_ORIG] = i + 1;
	nto_cookie_make(o.cookie, BENCH_OWNER, (uint64_t)i + 1);
	bench_conn(i, changed, &c);
	if (flowrule_build_dir(&c, FLOW_DIR_ORIG, p, &o, r, why, sizeof(why)))
		die("rule %u: %s", i, why);
}

static struct tc_rule *make_rules(const char *dev, const char *peer, size_t n)
{
	struct tc_rule *rules = calloc(n, sizeof(*rules));
	struct flow_path p;

	if (!rules)
		die("out of memory for %zu rules", n);
	bench_path(dev, peer, &p);
	for (size_t i = 0; i < n; i++)
		bench_rule(&p, (uint32_t)i, false, BENCH_PRIO, &rules[i]);
	return rules;
}

static struct nlc_sock *open_route(void)
{
	struct nlc_sock_opts o = {.rcvbuf = RCVBUF};
	struct nlc_sock *s;
	int ret = nlc_open(&s, NETLINK_ROUTE, &o);

	if (ret < 0)
		die("cannot open rtnetlink: %s", strerror(-ret));
	return s;
}

/* ---- text / encode / replay ------------------------------------------------------------ */

static int cmd_text(char **argv)
{
	size_t n = parse_count(argv[2]);
	struct tc_rule *rules = make_rules(argv[0], argv[1], n);
	FILE *add = fopen(argv[3], "w"), *del = fopen(argv[4], "w");
	char line[4096];

	if (!add || !del)
		die("cannot write %s / %s", argv[3], argv[4]);
	for (size_t i = 0; i < n; i++) {
		int len = tc_print(&rules[i], TC_MSG_REPLACE, NULL, NULL, line, sizeof(line));

		if (len < 0 || (size_t)len >= sizeof(line))
			die("cannot print rule %zu", i);
		fprintf(add, "%s\n", line);
		len = tc_print(&rules[i], TC_MSG_DELETE, NULL, NULL, line, sizeof(line));
		if (len < 0 || (size_t)len >= sizeof(line))
			die("cannot print the delete of rule %zu", i);
		fprintf(del, "%s\n", line);
	}
	if (fclose(add) || fclose(del))
		die("write error");
	free(rules);
	return 0;
}

static void write_encoded(const struct tc_rule *rules, size_t n, enum tc_msg_op op,
                          const char *path)
{
	FILE *f = fopen(path, "w");
	uint8_t buf[8192];
	char err[256];

	if (!f)
		die("cannot write %s", path);
	for (size_t i = 0; i < n; i++) {
		int len = tc_encode(&rules[i], op, 0, (uint32_t)i + 1, buf, sizeof(buf), err,
		                    sizeof(err));

		if (len <= 0)
			die("cannot encode rule %zu: %s", i, err);
		if (fwrite(buf, 1, (size_t)len, f) != (size_t)len)
			die("write error");
	}
	if (fclose(f))
		die("write error");
}

static int cmd_encode(char **argv)
{
	size_t n = parse_count(argv[2]);
	struct tc_rule *rules = make_rules(argv[0], argv[1], n);

	write_encoded(rules, n, TC_MSG_REPLACE, argv[3]);
	write_encoded(rules, n, TC_MSG_DELETE, argv[4]);
	free(rules);
	return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		die("cannot read %s", path);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		die("out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r <= 0)
			die("cannot read %s", path);
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

/* The machine's CPU work around a timed part (bench_busy_ns): work_begin() sleeps 20 ms so
 * that what ran before is accounted, work_end() sleeps 1 s so that the kernel's deferred work
 * for the part (a deleted filter is freed after an RCU grace period, in a kworker) runs and is
 * accounted too. Seconds; negative when /proc/schedstat is unreadable. */
static uint64_t slept_ns; /* printed as slept_s: install.sh takes it off the process's time */

static void bench_sleep_us(unsigned us)
{
	uint64_t t0 = bench_now_ns();

	usleep(us);
	slept_ns += bench_now_ns() - t0;
}

static uint64_t work_begin(void)
{
	bench_sleep_us(20000);
	return bench_busy_ns();
}

static double work_end(uint64_t w0)
{
	bench_sleep_us(1000000);
	return w0 ? (double)(bench_busy_ns() - w0) / 1e9 : -1.0;
}

/* The kernel's own pace: pre-encoded requests, 32 KB per sendmsg, then that datagram's ACKs
 * (the kernel handles a datagram's requests inside sendmsg, so they are all queued). */
static int cmd_replay(char **argv)
{
	size_t len, off = 0, msgs = 0, errors = 0, acks = 0;
	uint8_t *buf = read_file(argv[0], &len);
	static uint8_t rbuf[1 << 16];
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int one = 1, sz = (int)RCVBUF;
	const char *cap = getenv("NTO_BENCH_RAW_MSGS"); /* requests per sendmsg; unset: 32 KB */
	size_t most = cap && atoi(cap) > 0 ? (size_t)atoi(cap) : SIZE_MAX;
	uint64_t t0, c0, w0 = work_begin();
	double t_s, c_s;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("cannot open rtnetlink: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	c0 = bench_cpu_ns();
	t0 = bench_now_ns();
	while (off < len) {
		size_t end = off, want = 0;

		while (end < len) {
			const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + end);

			if (end > off &&
			    (end - off + NLMSG_ALIGN(h->nlmsg_len) > 32768 || want == most))
				break;
			end += NLMSG_ALIGN(h->nlmsg_len);
			want++;
		}
		if (send(fd, buf + off, end - off, 0) != (ssize_t)(end - off))
			die("send: %s", strerror(errno));
		msgs += want;
		off = end;
		while (acks < msgs) {
			ssize_t r = recv(fd, rbuf, sizeof(rbuf), 0);

			if (r < 0)
				die("recv: %s", strerror(errno));
			for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)r);
			     h = NLMSG_NEXT(h, r)) {
				if (h->nlmsg_type != NLMSG_ERROR)
					continue;
				acks++;
				if (((struct nlmsgerr *)NLMSG_DATA(h))->error)
					errors++;
			}
		}
	}
	t_s = (double)(bench_now_ns() - t0) / 1e9;
	c_s = (double)(bench_cpu_ns() - c0) / 1e9;
	{
		double work = work_end(w0);

		printf("replay: requests=%zu errors=%zu time_s=%.6f cpu_s=%.6f work_s=%.6f "
		       "slept_s=%.6f\n",
		       msgs, errors, t_s, c_s, work, (double)slept_ns / 1e9);
	}
	close(fd);
	free(buf);
	return errors ? 1 : 0;
}

/* ---- through the netlink core -------------------------------------------------------- */

/* Encoding alone: every rule tc_encode()d into a scratch buffer, as the batch does on the fly
 * (the user-space floor of a batch that encodes its requests itself). */
static double encode_only_s(const struct tc_rule *rules, size_t n, enum tc_msg_op op)
{
	static uint8_t buf[8192];
	uint64_t t0 = bench_now_ns();

	for (size_t i = 0; i < n; i++)
		if (tc_encode(&rules[i], op, 0, (uint32_t)i, buf, sizeof(buf), NULL, 0) <= 0)
			die("cannot encode rule %zu", i);
	return (double)(bench_now_ns() - t0) / 1e9;
}

static int cmd_add(char **argv, bool echo)
{
	size_t n = parse_count(argv[2]), failed = 0;
	struct tc_rule *rules = make_rules(argv[0], argv[1], n);
	struct nlc_tc_result *res = calloc(n, sizeof(*res));
	struct nlc_sock *s = open_route();
	double enc = encode_only_s(rules, n, TC_MSG_REPLACE);
	const char *win = getenv("NTO_BENCH_WINDOW"); /* experiments: requests in flight */
	struct nlc_batch_opts bo = {.window = win ? (unsigned)atoi(win) : 0};
	uint64_t t0, t1, c0, c1, w0;
	double work;

	if (!res)
		die("out of memory");
	w0 = work_begin();
	c0 = bench_cpu_ns();
	t0 = bench_now_ns();
	if (echo)
		failed = (size_t)nlc_tc_replace_batch(s, rules, n, res, NULL, &bo);
	else
		failed = (size_t)nlc_tc_replace_batch_noecho(s, rules, n, res, &bo);
	t1 = bench_now_ns();
	c1 = bench_cpu_ns();
	work = work_end(w0);
	for (size_t i = 0; i < n && failed; i++)
		if (res[i].error || res[i].mismatch) {
			fprintf(stderr, "rule %zu: %s%s %s\n", i, strerror(-res[i].error),
			        res[i].mismatch ? " (echo mismatch)" : "", res[i].ext.msg);
			break;
		}
	printf("add%s: rules=%zu errors=%zu time_s=%.6f cpu_s=%.6f work_s=%.6f slept_s=%.6f "
	       "encode_only_s=%.6f sendmsgs=%llu recvs=%llu enobufs=%llu\n",
	       echo ? "" : "-noecho", n, failed, (double)(t1 - t0) / 1e9, (double)(c1 - c0) / 1e9,
	       work, (double)slept_ns / 1e9, enc, (unsigned long long)nlc_stats(s)->sendmsgs,
	       (unsigned long long)nlc_stats(s)->recvs, (unsigned long long)nlc_stats(s)->enobufs);
	nlc_close(s);
	free(res);
	free(rules);
	return failed ? 1 : 0;
}

static int cmd_del(char **argv)
{
	size_t n = parse_count(argv[2]), failed;
	struct tc_rule *rules = make_rules(argv[0], argv[1], n);
	struct nlc_tc_result *res = calloc(n, sizeof(*res));
	struct nlc_sock *s = open_route();
	const char *win = getenv("NTO_BENCH_WINDOW"); /* experiments: requests in flight */
	struct nlc_batch_opts bo = {.window = win ? (unsigned)atoi(win) : 0};
	uint64_t t0, t1, c0, c1, w0;
	double work;

	if (!res)
		die("out of memory");
	w0 = work_begin();
	c0 = bench_cpu_ns();
	t0 = bench_now_ns();
	failed = (size_t)nlc_tc_delete_batch(s, rules, n, res, &bo);
	t1 = bench_now_ns();
	c1 = bench_cpu_ns();
	work = work_end(w0);
	for (size_t i = 0; i < n && failed; i++)
		if (res[i].error) {
			fprintf(stderr, "rule %zu: %s %s\n", i, strerror(-res[i].error),
			        res[i].ext.msg);
			break;
		}
	printf("del: rules=%zu errors=%zu time_s=%.6f cpu_s=%.6f work_s=%.6f slept_s=%.6f "
	       "encode_only_s=%.6f "
	       "sendmsgs=%llu recvs=%llu\n",
	       n, failed, (double)(t1 - t0) / 1e9, (double)(c1 - c0) / 1e9, work,
	       (double)slept_ns / 1e9, encode_only_s(rules, n, TC_MSG_DELETE),
	       (unsigned long long)nlc_stats(s)->sendmsgs, (unsigned long long)nlc_stats(s)->recvs);
	nlc_close(s);
	free(res);
	free(rules);
	return failed ? 1 : 0;
}

static int count_rule(void *ctx, const struct tc_rule *r)
{
	(void)r;
	(*(size_t *)ctx)++;
	return 0;
}

static int cmd_count(char **argv)
{
	struct nlc_sock *s = open_route();
	size_t n = 0;
	struct nlc_tc_dump_cb cb = {.rule = count_rule, .ctx = &n};
	struct nlc_extack ext;
	int rc = nlc_tc_dump(s, ifindex_of(argv[0]), &cb, NULL, &ext);

	if (rc)
		die("dump: %s %s", strerror(-rc), ext.msg);
	printf("%zu\n", n);
	nlc_close(s);
	return 0;
}

/* ---- decodecost: a saved dump decoded on the host, no kernel ----------------------------- */

/* Every filter of a `rawdump DEV FILE` decoded REPS times as a dump through the core does
 * (tc_decode into a struct tc_rule on the stack): ns per filter, the median of REPS passes. */
static int cmd_decodecost(char **argv, size_t reps)
{
	size_t len, nmsg = 0, bad = 0;
	uint8_t *buf = read_file(argv[0], &len);
	double *t = calloc(reps ? reps : 1, sizeof(*t));
	uint64_t sum = 0;

	if (!t || !reps)
		die("bad repetition count");
	for (size_t rep = 0; rep < reps; rep++) {
		uint64_t t0 = bench_now_ns();
		size_t off = 0, k = 0;

		while (off + 4 <= len) {
			uint32_t dl;
			const struct nlmsghdr *h;
			int rem;

			memcpy(&dl, buf + off, sizeof(dl));
			off += 4;
			if (off + dl > len)
				die("truncated dump file");
			/* datagrams start 4-aligned: the file keeps them at 4-byte offsets */
			h = (const struct nlmsghdr *)(buf + off);
			for (rem = (int)dl; NLMSG_OK(h, (unsigned)rem); h = NLMSG_NEXT(h, rem)) {
				const struct tcmsg *tcm = NLMSG_DATA(h);
				struct tc_rule r;

				if (h->nlmsg_type != RTM_NEWTFILTER || tcm->tcm_handle == 0)
					continue;
				if (tc_decode(h, h->nlmsg_len, &r, NULL, 0))
					bad += rep == 0;
				sum += r.id.handle;
				k++;
			}
			off += dl;
		}
		nmsg = k;
		t[rep] = (double)(bench_now_ns() - t0) / 1e9;
	}
	if (!nmsg)
		die("no filter in %s", argv[0]);
	printf("decodecost: filters=%zu undecodable=%zu reps=%zu median_s=%.6f ns_per_filter=%.0f "
	       "(checksum %llu)\n",
	       nmsg, bad, reps, bench_median(t, reps), bench_median(t, reps) * 1e9 / (double)nmsg,
	       (unsigned long long)sum);
	printf("RESULT decode_ns_per_filter %.0f ns\n", bench_median(t, reps) * 1e9 / (double)nmsg);
	free(t);
	free(buf);
	return bad ? 1 : 0;
}

/* ---- corecost: the core's user-space cost per rule, no kernel ------------------------------ */

/* A transport that ACKs every request of a datagram at once (one datagram of ACKs per send),
 * like the kernel does inside sendmsg, at no kernel cost. */
struct ack_tr {
	uint8_t q[4 << 20]; /* queued ACK datagrams, back to back */
	size_t dg[1 << 16]; /* their ends */
	size_t ndg, next, len;
};

static int ack_send(void *ctx, const void *buf, size_t len)
{
	struct ack_tr *t = ctx;
	const struct nlmsghdr *h = buf;
	int rem = (int)len;

	if (t->next == t->ndg) /* everything read: start over */
		t->next = t->ndg = t->len = 0;
	for (; NLMSG_OK(h, (unsigned)rem); h = NLMSG_NEXT(h, rem)) {
		struct nlmsghdr *a = (struct nlmsghdr *)(t->q + t->len);
		struct nlmsgerr *e = NLMSG_DATA(a);

		if (t->len + 64 > sizeof(t->q))
			return -ENOBUFS;
		a->nlmsg_len = NLMSG_LENGTH(sizeof(*e));
		a->nlmsg_type = NLMSG_ERROR;
		a->nlmsg_flags = NLM_F_CAPPED;
		a->nlmsg_seq = h->nlmsg_seq;
		a->nlmsg_pid = 0;
		e->error = 0;
		e->msg = *h;
		t->len += NLMSG_ALIGN(a->nlmsg_len);
	}
	t->dg[t->ndg++] = t->len;
	return 0;
}

static ssize_t ack_recv(void *ctx, void *buf, size_t len, bool wait)
{
	struct ack_tr *t = ctx;
	size_t start, n;

	(void)wait;
	if (t->next == t->ndg) {
		t->next = t->ndg = t->len = 0;
		return -EAGAIN;
	}
	start = t->next ? t->dg[t->next - 1] : 0;
	n = t->dg[t->next] - start;
	if (n > len)
		return -EMSGSIZE;
	memcpy(buf, t->q + start, n);
	t->next++;
	return (ssize_t)n;
}

/* bench_lab corecost N: ns per rule of nlc_tc_replace_batch_noecho / nlc_tc_delete_batch
 * against a transport that ACKs at no cost, next to tc_encode alone (medians of 5). */
static int cmd_corecost(char **argv)
{
	static const struct nlc_transport tr = {.send = ack_send, .recv = ack_recv};
	size_t n = parse_count(argv[0]);
	struct tc_rule *rules = calloc(n, sizeof(*rules));
	struct nlc_tc_result *res = calloc(n, sizeof(*res));
	struct ack_tr *t = calloc(1, sizeof(*t));
	struct flow_path p;
	double enc[5], add[5], edel[5], del[5];
	struct nlc_sock *s;

	if (!rules || !res || !t)
		die("out of memory");
	memset(&p, 0, sizeof(p));
	p.in_ifindex = 2;
	snprintf(p.in_ifname, sizeof(p.in_ifname), "eth0");
	p.out_ifindex = 3;
	snprintf(p.out_ifname, sizeof(p.out_ifname), "eth1");
	memcpy(p.src_mac, "\x02\x00\x00\x00\x01\x01", 6);
	memcpy(p.dst_mac, "\x02\x00\x00\x00\x01\x02", 6);
	for (size_t i = 0; i < n; i++)
		bench_rule(&p, (uint32_t)i, false, BENCH_PRIO, &rules[i]);
	if (nlc_open_transport(&s, &tr, t, 16u << 20))
		die("transport");
	for (int r = 0; r < 5; r++) {
		uint64_t t0;

		enc[r] = encode_only_s(rules, n, TC_MSG_REPLACE) * 1e9 / (double)n;
		t0 = bench_now_ns();
		if (nlc_tc_replace_batch_noecho(s, rules, n, res, NULL))
			die("replace failed: %d %s", res[0].error, res[0].ext.msg);
		add[r] = (double)(bench_now_ns() - t0) / (double)n;
		edel[r] = encode_only_s(rules, n, TC_MSG_DELETE) * 1e9 / (double)n;
		t0 = bench_now_ns();
		if (nlc_tc_delete_batch(s, rules, n, res, NULL))
			die("delete failed");
		del[r] = (double)(bench_now_ns() - t0) / (double)n;
	}
	printf("corecost: rules=%zu replace_noecho_ns=%.0f encode_replace_ns=%.0f delete_ns=%.0f "
	       "encode_delete_ns=%.0f\n",
	       n, bench_median(add, 5), bench_median(enc, 5), bench_median(del, 5),
	       bench_median(edel, 5));
	nlc_close(s);
	free(t);
	free(res);
	free(rules);
	return 0;
}

/* ---- restart: the reconcile of a restarted daemon ---------------------------------------- */

/*
 * The state a daemon finds after a restart, and its plan (what it wants installed now):
 *   installed  connections 0..N-1 (handle i+1, prio 0x2000), plus a duplicate of every 1000th
 *              one at prio 0x2001 (a second filter for one connection: a crash between an
 *              install and its bookkeeping), plus the operator's own filters (the script's);
 *   plan       connections N/10 .. N/10+N-1; every 50th of them with another NAT port.
 * So the reconcile adopts ~78 % of N, replaces ~2 % in place (same handle), deletes the
 * first 10 % and the duplicates (ours, not in the plan) and adds the last 10 %.
 */
#define CHUNK 4096 /* rules built and sent per batch (a tc_rule is 5 KB) */

struct rs_plan {
	struct flow_path path;
	uint32_t first, n; /* connections first .. first+n-1 */
};

static bool rs_changed(uint32_t conn)
{
	return conn % 50 == 0;
}

/* The plan's entry of an installed filter's id, or -1. */
static long rs_index(const struct rs_plan *pl, const struct tc_id *id)
{
	uint32_t conn = id->handle - 1;

	if (id->hook != TC_HOOK_INGRESS || id->chain || id->prio != BENCH_PRIO ||
	    id->ifindex != pl->path.in_ifindex || !id->handle || conn < pl->first ||
	    conn - pl->first >= pl->n)
		return -1;
	return (long)(conn - pl->first);
}

static void rs_plan_init(struct rs_plan *pl, char **argv, size_t n)
{
	bench_path(argv[0], argv[1], &pl->path);
	pl->first = (uint32_t)(n / 10);
	pl->n = (uint32_t)n;
}

/* Installs rules [from, to) of a generator in chunks through the no-echo batch. */
static size_t rs_install(struct nlc_sock *s, const struct flow_path *p, uint32_t from, uint32_t to,
                         uint16_t prio, const uint8_t *skip, uint32_t skip_base)
{
	struct tc_rule *rules = calloc(CHUNK, sizeof(*rules));
	struct nlc_tc_result *res = calloc(CHUNK, sizeof(*res));
	size_t failed = 0, k = 0;

	if (!rules || !res)
		die("out of memory");
	for (uint32_t i = from; i < to; i++) {
		if (!(skip && skip[i - skip_base]))
			bench_rule(p, i, skip ? rs_changed(i) : false, prio, &rules[k++]);
		if (k == CHUNK || (i + 1 == to && k)) {
			size_t f = (size_t)nlc_tc_replace_batch_noecho(s, rules, k, res, NULL);

			for (size_t j = 0; j < k && f; j++)
				if (res[j].error)
					fprintf(stderr, "install handle %u: %s %s\n",
					        rules[j].id.handle, strerror(-res[j].error),
					        res[j].ext.msg);
			failed += f;
			k = 0;
		}
	}
	free(rules);
	free(res);
	return failed;
}

static int cmd_rs_setup(char **argv)
{
	size_t n = parse_count(argv[2]), failed;
	struct flow_path p;
	struct nlc_sock *s = open_route();
	struct nlc_extack ext;
	uint64_t t0 = bench_now_ns();
	int rc;

	bench_path(argv[0], argv[1], &p);
	rc = nlc_tc_ensure_clsact(s, p.in_ifindex, &ext);
	if (rc)
		die("clsact: %s %s", strerror(-rc), ext.msg);
	failed = rs_install(s, &p, 0, (uint32_t)n, BENCH_PRIO, NULL, 0);
	/* the duplicates: every 1000th connection again, one prio further */
	for (uint32_t i = 0; i < n; i += 1000)
		failed += rs_install(s, &p, i, i + 1, BENCH_PRIO + 1, NULL, 0);
	printf("restart-setup: rules=%zu duplicates=%zu errors=%zu time_s=%.6f\n", n,
	       (n + 999) / 1000, failed, (double)(bench_now_ns() - t0) / 1e9);
	nlc_close(s);
	return failed ? 1 : 0;
}

/* The kernel's pace of a dump: RTM_GETTFILTER dump of DEV's ingress on a plain socket, the
 * messages counted, nothing decoded. */
/*
 * Sends a dump request of len bytes on fd (an AF_NETLINK socket, bound) and reads every
 * datagram of the reply without parsing more than the headers; out (when not NULL) gets each
 * datagram (a 4-byte length, then the bytes). Prints "NAME: messages= bytes= time_s=".
 */
static void raw_dump(int fd, const void *req, size_t len, FILE *out, const char *save,
                     const char *name)
{
	static uint8_t rbuf[1 << 16];
	size_t msgs = 0, bytes = 0;
	uint64_t t0 = bench_now_ns();
	bool done = false;

	if (send(fd, req, len, 0) != (ssize_t)len)
		die("send: %s", strerror(errno));
	while (!done) {
		ssize_t r = recv(fd, rbuf, sizeof(rbuf), 0);

		if (r < 0)
			die("recv: %s", strerror(errno));
		bytes += (size_t)r;
		if (out) {
			uint32_t l = (uint32_t)r;

			if (fwrite(&l, sizeof(l), 1, out) != 1 ||
			    fwrite(rbuf, 1, (size_t)r, out) != (size_t)r)
				die("cannot write %s", save);
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)r);
		     h = NLMSG_NEXT(h, r)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			msgs++;
		}
	}
	printf("%s: messages=%zu bytes=%zu time_s=%.6f\n", name, msgs, bytes,
	       (double)(bench_now_ns() - t0) / 1e9);
}

static int raw_socket(int protocol)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
	int sz = (int)RCVBUF;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("cannot open netlink (%d): %s", protocol, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return fd;
}

/* rawdump[-terse] DEV [FILE]: FILE gets every datagram of the dump (a 4-byte length, then the
 * bytes), for decodecost on the host. terse: TCA_DUMP_FLAGS_TERSE. */
static int cmd_rawdump(char **argv, const char *save, bool terse)
{
	FILE *out = save ? fopen(save, "wb") : NULL;
	struct {
		struct nlmsghdr nlh;
		struct tcmsg tcm;
		struct nlattr flags_hdr;
		struct nla_bitfield32 flags;
	} req;
	int fd;

	if (save && !out)
		die("cannot write %s: %s", save, strerror(errno));
	fd = raw_socket(NETLINK_ROUTE);
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = terse ? sizeof(req) : NLMSG_LENGTH(sizeof(req.tcm));
	req.nlh.nlmsg_type = RTM_GETTFILTER;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = 1;
	req.tcm.tcm_family = AF_UNSPEC;
	req.tcm.tcm_ifindex = (int)ifindex_of(argv[0]);
	req.tcm.tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
	req.flags_hdr.nla_len = sizeof(req.flags_hdr) + sizeof(req.flags);
	req.flags_hdr.nla_type = TCA_DUMP_FLAGS;
	req.flags.value = req.flags.selector = TCA_DUMP_FLAGS_TERSE;
	raw_dump(fd, &req, req.nlh.nlmsg_len, out, save, "rawdump");
	if (out && fclose(out))
		die("cannot write %s", save);
	close(fd);
	return 0;
}

/* ctrawdump: the IPv4 conntrack table dumped on a plain socket, not parsed (the kernel's pace
 * for the restart's conntrack dump). */
static int cmd_ctrawdump(void)
{
	struct {
		struct nlmsghdr nlh;
		struct nfgenmsg nfg;
	} req;
	int fd = raw_socket(NETLINK_NETFILTER);

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = 1;
	req.nfg.nfgen_family = AF_INET;
	req.nfg.version = NFNETLINK_V0;
	raw_dump(fd, &req, sizeof(req), NULL, NULL, "ctrawdump");
	close(fd);
	return 0;
}

struct rs_ctx {
	const struct rs_plan *pl;
	uint8_t *st;       /* per plan entry: 0 not (yet) installed as planned, 1 adopted */
	struct tc_id *del; /* ours, not in the plan: to delete */
	size_t n_del, cap_del;
	size_t seen, ours, adopted, stale_same_handle;
	int error;
};

static int rs_rule(void *ctx, const struct tc_rule *r)
{
	struct rs_ctx *c = ctx;
	long j;

	c->seen++;
	if (!nto_cookie_is_ours(r))
		return 0;
	c->ours++;
	j = rs_index(c->pl, &r->id);
	if (j >= 0 && !c->st[j]) {
		struct tc_rule want;
		uint32_t conn = c->pl->first + (uint32_t)j;

		bench_rule(&c->pl->path, conn, rs_changed(conn), BENCH_PRIO, &want);
		if (tc_rule_equal(&want, r)) {
			c->st[j] = 1;
			c->adopted++;
		} else {
			c->stale_same_handle++; /* the replace overwrites it in place */
		}
		return 0;
	}
	if (c->n_del == c->cap_del) {
		size_t cap = c->cap_del ? 2 * c->cap_del : 1024;
		struct tc_id *v = realloc(c->del, cap * sizeof(*v));

		if (!v)
			return c->error = -ENOMEM;
		c->del = v;
		c->cap_del = cap;
	}
	c->del[c->n_del++] = r->id;
	return 0;
}

static void rs_reset(void *ctx, enum tc_hook hook)
{
	struct rs_ctx *c = ctx;

	(void)hook; /* everything of ours is on ingress: start over */
	memset(c->st, 0, c->pl->n);
	c->n_del = c->seen = c->ours = c->adopted = c->stale_same_handle = 0;
}

/* The reconcile: dump (adopt what equals the plan, note the rest of ours), delete the rest of
 * ours, replace / add what the plan has and the kernel has not. */
static int cmd_reconcile(char **argv)
{
	size_t n = parse_count(argv[2]), del_failed = 0, add_failed;
	struct rs_plan pl;
	struct rs_ctx c = {.pl = &pl};
	struct nlc_tc_dump_cb cb = {.rule = rs_rule, .reset = rs_reset, .ctx = &c};
	struct nlc_tc_dump_stats dst;
	struct nlc_extack ext;
	struct tc_rule *rules;
	struct nlc_tc_result *res;
	struct nlc_sock *s;
	uint64_t t0, t_dump, t_del, t_end;
	int rc;

	rs_plan_init(&pl, argv, n);
	c.st = calloc(pl.n, 1);
	rules = calloc(CHUNK, sizeof(*rules));
	res = calloc(CHUNK, sizeof(*res));
	if (!c.st || !rules || !res)
		die("out of memory");
	t0 = bench_now_ns();
	s = open_route();
	rc = nlc_tc_dump(s, pl.path.in_ifindex, &cb, &dst, &ext);
	if (rc || c.error)
		die("dump: %s %s", strerror(-(rc ? rc : c.error)), ext.msg);
	t_dump = bench_now_ns();
	for (size_t i = 0; i < c.n_del; i += CHUNK) {
		size_t k = c.n_del - i < CHUNK ? c.n_del - i : CHUNK;

		for (size_t j = 0; j < k; j++)
			tc_rule_init(&rules[j], &c.del[i + j]);
		nlc_tc_delete_batch(s, rules, k, res, NULL);
		for (size_t j = 0; j < k; j++)
			if (res[j].error && res[j].error != -ENOENT) {
				del_failed++;
				fprintf(stderr, "delete handle %u: %s %s\n", rules[j].id.handle,
				        strerror(-res[j].error), res[j].ext.msg);
			}
	}
	t_del = bench_now_ns();
	add_failed = rs_install(s, &pl.path, pl.first, pl.first + pl.n, BENCH_PRIO, c.st, pl.first);
	t_end = bench_now_ns();
	printf(
	    "reconcile: filters=%zu ours=%zu adopted=%zu replaced=%zu deleted=%zu added=%zu "
	    "errors=%zu dump_s=%.6f delete_s=%.6f install_s=%.6f time_s=%.6f dump_restarts=%llu\n",
	    c.seen, c.ours, c.adopted, c.stale_same_handle, c.n_del,
	    pl.n - c.adopted - c.stale_same_handle, del_failed + add_failed,
	    (double)(t_dump - t0) / 1e9, (double)(t_del - t_dump) / 1e9,
	    (double)(t_end - t_del) / 1e9, (double)(t_end - t0) / 1e9,
	    (unsigned long long)nlc_stats(s)->dump_restarts);
	nlc_close(s);
	free(c.st);
	free(c.del);
	free(rules);
	free(res);
	return del_failed + add_failed ? 1 : 0;
}

struct vf_ctx {
	const struct rs_plan *pl;
	uint8_t *cnt; /* per plan entry: filters that equal it (saturating) */
	size_t others, orphans, unequal;
};

static int vf_rule(void *ctx, const struct tc_rule *r)
{
	struct vf_ctx *v = ctx;
	struct tc_rule want;
	uint32_t conn;
	long j;

	if (!nto_cookie_is_ours(r)) {
		v->others++;
		return 0;
	}
	j = rs_index(v->pl, &r->id);
	if (j < 0) {
		v->orphans++;
		return 0;
	}
	conn = v->pl->first + (uint32_t)j;
	bench_rule(&v->pl->path, conn, rs_changed(conn), BENCH_PRIO, &want);
	if (!tc_rule_equal(&want, r))
		v->unequal++;
	else if (v->cnt[j] < 255)
		v->cnt[j]++;
	return 0;
}

static void vf_reset(void *ctx, enum tc_hook hook)
{
	struct vf_ctx *v = ctx;

	(void)hook;
	memset(v->cnt, 0, v->pl->n);
	v->others = v->orphans = v->unequal = 0;
}

/* After the reconcile: every plan entry installed exactly once and as planned, nothing else of
 * ours (orphans), the operator's filters untouched (their count printed; the script checks). */
static int cmd_verify(char **argv)
{
	size_t n = parse_count(argv[2]), missing = 0, dups = 0;
	struct rs_plan pl;
	struct vf_ctx v = {.pl = &pl};
	struct nlc_tc_dump_cb cb = {.rule = vf_rule, .reset = vf_reset, .ctx = &v};
	struct nlc_extack ext;
	struct nlc_sock *s = open_route();
	int rc;

	rs_plan_init(&pl, argv, n);
	v.cnt = calloc(pl.n, 1);
	if (!v.cnt)
		die("out of memory");
	rc = nlc_tc_dump(s, pl.path.in_ifindex, &cb, NULL, &ext);
	if (rc)
		die("dump: %s %s", strerror(-rc), ext.msg);
	for (size_t j = 0; j < pl.n; j++) {
		missing += v.cnt[j] == 0;
		dups += v.cnt[j] > 1;
	}
	printf("verify: planned=%u missing=%zu duplicates=%zu orphans=%zu unequal=%zu others=%zu\n",
	       pl.n, missing, dups, v.orphans, v.unequal, v.others);
	nlc_close(s);
	free(v.cnt);
	return missing || dups || v.orphans || v.unequal ? 1 : 0;
}

/* ---- latency: conntrack event -> engine -> both rules acknowledged --------------------- */

struct lat {
	struct nlc_sock *nl;
	struct ct_engine *engine;
	uint32_t lan, wan;
	char lan_name[IFNAMSIZ], wan_name[IFNAMSIZ];
	uint8_t lan_mac[6], wan_mac[6];
	bool clsact;
	uint64_t t_event, t_acked; /* of the last install */
	unsigned installs, errors;
};

static int lat_resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	(void)ctx;
	memset(info, 0, sizeof(*info));
	info->ifindex = if_nametoindex(ifname);
	if (!info->ifindex)
		return -ENODEV;
	info->present = true;
	snprintf(info->driver, sizeof(info->driver), "veth");
	return 0;
}

/* Clients 10.0.1.0/24 behind LAN, servers 10.0.2.0/24 behind WAN (the lab topology). */
static int lat_path(void *ctx, int family, const union tc_addr *src, const union tc_addr *dst,
                    struct flow_path *p, char *why, size_t len)
{
	const struct lat *l = ctx;
	uint32_t s = ntohl(src->v4.s_addr) & 0xffffff00u, d = ntohl(dst->v4.s_addr) & 0xffffff00u;
	bool to_wan = s == 0x0a000100u && d == 0x0a000200u;

	if (family != AF_INET || (!to_wan && !(s == 0x0a000200u && d == 0x0a000100u))) {
		snprintf(why, len, "no route");
		return -EHOSTUNREACH;
	}
	memset(p, 0, sizeof(*p));
	p->in_ifindex = to_wan ? l->lan : l->wan;
	snprintf(p->in_ifname, sizeof(p->in_ifname), "%s", to_wan ? l->lan_name : l->wan_name);
	p->out_ifindex = to_wan ? l->wan : l->lan;
	snprintf(p->out_ifname, sizeof(p->out_ifname), "%s", to_wan ? l->wan_name : l->lan_name);
	memcpy(p->src_mac, to_wan ? l->wan_mac : l->lan_mac, 6);
	memcpy(p->dst_mac, "\x02\x00\x00\x00\x01\x02", 6);
	return 0;
}

static int lat_sink(void *ctx, const struct ct_op *op)
{
	struct lat *l = ctx;
	struct nlc_tc_result res[2];

	if (op->kind != CT_OP_INSTALL)
		return 0;
	if (nlc_tc_replace_batch(l->nl, op->rules, 2, res, NULL, NULL)) {
		l->errors++;
		fprintf(stderr, "install: %s %s\n",
		        strerror(-(res[0].error ? res[0].error : res[1].error)),
		        res[0].ext.msg[0] ? res[0].ext.msg : res[1].ext.msg);
		return res[0].error ? res[0].error : -EIO;
	}
	l->t_acked = bench_now_ns();
	l->installs++;
	return 0;
}

static int lat_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct lat *l = data;
	struct ct_event ev;

	l->t_event = bench_now_ns();
	if (ct_event_from_nfct(type, ct, &ev) == 0)
		ct_engine_event(l->engine, &ev, 0);
	return NFCT_CB_STOP;
}

static void lat_conn(uint32_t i, struct ct_event *ev)
{
	struct flow_conn *c = &ev->conn;

	memset(ev, 0, sizeof(*ev));
	ev->type = CT_EVENT_NEW;
	c->orig.family = c->reply.family = AF_INET;
	c->orig.proto = c->reply.proto = IPPROTO_TCP;
	c->orig.src.v4.s_addr = htonl(0x0a000102u);
	c->orig.dst.v4.s_addr = htonl(0x0a000202u);
	c->orig.sport = (uint16_t)(20000u + i);
	c->orig.dport = 5201;
	c->reply.src = c->orig.dst;
	c->reply.dst.v4.s_addr = htonl(0x0a000201u); /* masqueraded */
	c->reply.sport = 5201;
	c->reply.dport = (uint16_t)(40000u + i);
	ev->status = CT_ST_SEEN_REPLY | CT_ST_ASSURED;
	ev->has_tcp_state = true;
	ev->tcp_state = CT_TCP_ESTABLISHED;
	ev->has_timeout = true;
	ev->timeout = 600;
}

static int cmd_latency(char **argv)
{
	size_t n = parse_count(argv[2]);
	struct lat l;
	char text[512];
	struct nft_ruleset *rs = NULL;
	struct nft_error nerr;
	struct profile_set ps;
	struct plan_opts po;
	struct plan *plan = NULL;
	struct ct_elig_rule rules[8];
	size_t n_rules = 0;
	struct ct_engine_opts eo;
	struct nfct_handle *ev_h, *q_h;
	double *ours = calloc(n, sizeof(double)), *total = calloc(n, sizeof(double));
	double single[20];
	int rc, len;

	if (!ours || !total)
		die("out of memory");
	memset(&l, 0, sizeof(l));
	snprintf(l.lan_name, sizeof(l.lan_name), "%s", argv[0]);
	snprintf(l.wan_name, sizeof(l.wan_name), "%s", argv[1]);
	l.lan = ifindex_of(argv[0]);
	l.wan = ifindex_of(argv[1]);
	dev_mac(argv[0], l.lan_mac);
	dev_mac(argv[1], l.wan_mac);
	len = snprintf(text, sizeof(text),
	               "table inet filter {\n flowtable ft {\n  hook ingress priority 0; devices = "
	               "{ %s, %s };\n }\n chain forward {\n  type filter hook forward priority 0; "
	               "policy accept;\n  meta l4proto { tcp, udp } flow add @ft\n }\n}\n",
	               argv[0], argv[1]);
	memset(&nerr, 0, sizeof(nerr));
	if (nft_parse_buffer(text, (size_t)len, "latency.nft", &rs, &nerr))
		die("nft: %s", nerr.formatted ? nerr.formatted : "parse error");
	profile_set_init(&ps);
	if (profile_set_load_builtin(&ps, text, sizeof(text)))
		die("profiles: %s", text);
	plan_opts_init(&po);
	po.profiles = &ps;
	po.force_profile = "generic-flow";
	po.resolve = lat_resolve;
	if (plan_build(rs, &po, &plan, text, sizeof(text)))
		die("plan: %s", text);
	for (size_t i = 0; i < plan->n_flowtables; i++)
		if (plan->flowtables[i].strategy == PROFILE_STRATEGY_FLOW)
			n_rules = ct_elig_rules_from_plan(&plan->flowtables[i], rules, 8);
	if (!n_rules)
		die("plan: no flow add rule");

	l.nl = open_route();
	for (int d = 0; d < 2; d++) {
		struct nlc_extack ext;

		rc = nlc_tc_ensure_clsact(l.nl, d ? l.wan : l.lan, &ext);
		if (rc)
			die("clsact: %s %s", strerror(-rc), ext.msg);
	}
	ct_engine_opts_init(&eo);
	eo.rules = rules;
	eo.n_rules = n_rules;
	eo.profile = profile_set_find(&ps, "generic-flow");
	eo.path = lat_path;
	eo.path_ctx = &l;
	eo.sink = lat_sink;
	eo.sink_ctx = &l;
	eo.rule.cookie_len = NTO_COOKIE_LEN;
	nto_cookie_make(eo.rule.cookie, BENCH_OWNER, 0);
	l.engine = ct_engine_new(&eo);
	if (!l.engine)
		die("engine: out of memory");

	ev_h = ct_events_open(&rc);
	if (!ev_h)
		die("ct_events_open: %s", strerror(-rc));
	nfct_callback_register(ev_h, NFCT_T_ALL, lat_cb, &l);
	q_h = nfct_open(CONNTRACK, 0);
	if (!q_h)
		die("nfct_open: %s", strerror(errno));

	/* the in-process floor: one pre-built rule through nlc_tc_replace, no event, no engine */
	{
		struct tc_rule r[2];
		struct ct_event ev;
		struct flow_path paths[2];
		struct flowrule_opts ro = eo.rule;
		char why[256];

		lat_conn(30000, &ev);
		lat_path(&l, AF_INET, &ev.conn.orig.src, &ev.conn.reply.src, &paths[0], why,
		         sizeof(why));
		lat_path(&l, AF_INET, &ev.conn.reply.src, &ev.conn.orig.src, &paths[1], why,
		         sizeof(why));
		ro.prio = 0x3000;
		for (int k = 0; k < 20; k++) {
			struct nlc_tc_result res;
			uint64_t t0;

			lat_conn(30000u + (uint32_t)k, &ev); /* a key of its own: flower refuses
			                                      * a second filter with the same key */
			ro.handle[0] = 100000u + (uint32_t)k;
			ro.handle[1] = 200000u + (uint32_t)k;
			if (flowrule_build(&ev.conn, paths, &ro, r, why, sizeof(why)))
				die("rule: %s", why);
			t0 = bench_now_ns();
			if (nlc_tc_replace(l.nl, &r[0], &res))
				die("single replace: %s %s", strerror(-res.error), res.ext.msg);
			single[k] = (double)(bench_now_ns() - t0) / 1e3;
		}
	}

	for (size_t i = 0; i < n; i++) {
		struct ct_event ev;
		struct nf_conntrack *ct;
		uint64_t t0;
		unsigned before = l.installs;

		lat_conn((uint32_t)i, &ev);
		ct = ct_event_to_nfct(&ev);
		if (!ct)
			die("out of memory");
		t0 = bench_now_ns();
		if (nfct_query(q_h, NFCT_Q_CREATE, ct) < 0)
			die("conntrack create %zu: %s", i, strerror(errno));
		nfct_destroy(ct);
		while (l.installs == before) {
			struct pollfd pfd = {.fd = nfct_fd(ev_h), .events = POLLIN};

			if (poll(&pfd, 1, 5000) <= 0)
				die("no conntrack event for connection %zu", i);
			if (nfct_catch(ev_h) < 0 && errno != EAGAIN && errno != EINTR)
				die("nfct_catch: %s", strerror(errno));
			if (l.errors)
				die("install failed");
		}
		ours[i] = (double)(l.t_acked - l.t_event) / 1e3;
		total[i] = (double)(l.t_acked - t0) / 1e3;
	}
	{
		double p50 = bench_percentile(ours, n, 50), p99 = bench_percentile(ours, n, 99);
		double t50 = bench_percentile(total, n, 50), t99 = bench_percentile(total, n, 99);
		double s50 = bench_median(single, 20);

		printf("latency: connections=%zu event_to_acked_us p50=%.0f p99=%.0f "
		       "create_to_acked_us p50=%.0f p99=%.0f single_rule_nlc_us p50=%.0f\n",
		       n, p50, p99, t50, t99, s50);
		for (size_t i = 0; i < n; i++)
			printf("sample %.1f %.1f\n", ours[i], total[i]);
	}
	nfct_close(q_h);
	nfct_close(ev_h);
	ct_engine_free(l.engine);
	nlc_close(l.nl);
	plan_free(plan);
	nft_ruleset_free(rs);
	profile_set_free(&ps);
	free(ours);
	free(total);
	return 0;
}

/* ---- flowpair: the two rules of one unNATed TCP connection (datapath benchmark) ---------- */

static void parse_ep(const char *s, union tc_addr *a, uint16_t *port)
{
	char buf[64], *colon;

	snprintf(buf, sizeof(buf), "%s", s);
	colon = strrchr(buf, ':');
	if (!colon)
		die("bad endpoint %s", s);
	*colon = '\0';
	if (inet_pton(AF_INET, buf, &a->v4) != 1)
		die("bad address %s", buf);
	*port = (uint16_t)atoi(colon + 1);
}

static void parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		die("bad MAC %s", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
}

static int cmd_flowpair(char **argv)
{
	struct flow_conn c;
	struct flow_path p[2];
	struct flowrule_opts o;
	struct tc_rule r[2];
	struct nlc_tc_result res[2];
	struct nlc_sock *s = open_route();
	char why[256];

	memset(&c, 0, sizeof(c));
	c.orig.family = c.reply.family = AF_INET;
	c.orig.proto = c.reply.proto = IPPROTO_TCP;
	parse_ep(argv[2], &c.orig.src, &c.orig.sport);
	parse_ep(argv[3], &c.orig.dst, &c.orig.dport);
	c.reply.src = c.orig.dst;
	c.reply.dst = c.orig.src;
	c.reply.sport = c.orig.dport;
	c.reply.dport = c.orig.sport;
	memset(p, 0, sizeof(p));
	for (int d = 0; d < 2; d++) {
		const char *in = argv[d], *out = argv[1 - d];

		p[d].in_ifindex = ifindex_of(in);
		snprintf(p[d].in_ifname, sizeof(p[d].in_ifname), "%s", in);
		p[d].out_ifindex = ifindex_of(out);
		snprintf(p[d].out_ifname, sizeof(p[d].out_ifname), "%s", out);
		dev_mac(out, p[d].src_mac);
		parse_mac(argv[5 - d], p[d].dst_mac);
	}
	memset(&o, 0, sizeof(o));
	o.prio = BENCH_PRIO;
	o.handle[0] = 1;
	o.handle[1] = 2;
	o.ttl_dec = true;
	o.cookie_len = NTO_COOKIE_LEN;
	nto_cookie_make(o.cookie, BENCH_OWNER, 1);
	if (flowrule_build(&c, p, &o, r, why, sizeof(why)))
		die("rules: %s", why);
	for (int d = 0; d < 2; d++) {
		struct nlc_extack ext;
		int rc = nlc_tc_ensure_clsact(s, p[d].in_ifindex, &ext);

		if (rc)
			die("clsact: %s %s", strerror(-rc), ext.msg);
	}
	if (nlc_tc_replace_batch(s, r, 2, res, NULL, NULL))
		die("install: %s %s", strerror(-(res[0].error ? res[0].error : res[1].error)),
		    res[0].ext.msg[0] ? res[0].ext.msg : res[1].ext.msg);
	for (int d = 0; d < 2; d++) {
		char line[4096];

		tc_print(&r[d], TC_MSG_REPLACE, NULL, NULL, line, sizeof(line));
		printf("%s\n", line);
	}
	nlc_close(s);
	return 0;
}

/* ---- restart-daemon: conntrack entries for a real daemon, and the check afterwards ------- */

/* Connection i (0..N-1) of restart-daemon: client 10.0.1.2:(10000+i) -> server 10.0.2.2:5201,
 * masqueraded to 10.0.2.1 with the same port; TCP ESTABLISHED, ASSURED, an hour to live. */
static void rd_conn(uint32_t i, struct ct_event *ev)
{
	struct flow_conn *c = &ev->conn;

	memset(ev, 0, sizeof(*ev));
	ev->type = CT_EVENT_NEW;
	c->orig.family = c->reply.family = AF_INET;
	c->orig.proto = c->reply.proto = IPPROTO_TCP;
	c->orig.src.v4.s_addr = htonl(0x0a000102u);
	c->orig.dst.v4.s_addr = htonl(0x0a000202u);
	c->orig.sport = (uint16_t)(10000u + i);
	c->orig.dport = 5201;
	c->reply.src = c->orig.dst;
	c->reply.dst.v4.s_addr = htonl(0x0a000201u);
	c->reply.sport = 5201;
	c->reply.dport = c->orig.sport;
	ev->status = CT_ST_CONFIRMED | CT_ST_SEEN_REPLY | CT_ST_ASSURED | CT_ST_SRC_NAT;
	ev->has_tcp_state = true;
	ev->tcp_state = CT_TCP_ESTABLISHED;
	ev->has_timeout = true;
	ev->timeout = 3600;
}

/* ctcreate FROM N [GAP_US]: connections FROM..FROM+N-1 created through ctnetlink (what
 * conntrack -I does), in the current network namespace, GAP_US microseconds apart (default 0:
 * back to back). */
static int cmd_ctcreate(char **argv)
{
	unsigned long from = strtoul(argv[0], NULL, 10), n = parse_count(argv[1]);
	unsigned long gap_us = argv[2] ? strtoul(argv[2], NULL, 10) : 0;
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	size_t errors = 0;
	uint64_t t0;

	if (!h)
		die("nfct_open: %s", strerror(errno));
	if (from + n > 55000)
		die("at most 55,000 connections (client ports 10000..64999)");
	t0 = bench_now_ns();
	for (unsigned long i = from; i < from + n; i++) {
		struct ct_event ev;
		struct nf_conntrack *ct;

		rd_conn((uint32_t)i, &ev);
		ct = ct_event_to_nfct(&ev);
		if (!ct)
			die("out of memory");
		if (nfct_query(h, NFCT_Q_CREATE, ct) < 0 && errno != EEXIST)
			errors++;
		nfct_destroy(ct);
		if (gap_us)
			usleep((useconds_t)gap_us);
	}
	printf("ctcreate: created=%lu errors=%zu time_s=%.6f\n", n, errors,
	       (double)(bench_now_ns() - t0) / 1e9);
	nfct_close(h);
	return errors ? 1 : 0;
}

struct cv_ids {
	uint32_t *v;
	size_t n, cap;
};

static int cv_ct(void *ctx, const struct ct_event *ev)
{
	struct cv_ids *ids = ctx;

	if (ev->conn.orig.proto != IPPROTO_TCP || ev->conn.orig.dport != 5201)
		return 0;
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? 2 * ids->cap : 4096;
		ids->v = realloc(ids->v, ids->cap * sizeof(*ids->v));
		if (!ids->v)
			die("out of memory");
	}
	ids->v[ids->n++] = ev->id;
	return 0;
}

struct cv_rule {
	uint64_t id;
	uint32_t ifindex, handle;
	uint16_t prio;
};

struct cv_rules {
	struct cv_rule *v;
	size_t n, cap, others;
};

static int cv_rule(void *ctx, const struct tc_rule *r)
{
	struct cv_rules *rs = ctx;

	if (!nto_cookie_is_ours(r)) {
		rs->others++;
		return 0;
	}
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 4096;
		rs->v = realloc(rs->v, rs->cap * sizeof(*rs->v));
		if (!rs->v)
			die("out of memory");
	}
	rs->v[rs->n++] = (struct cv_rule){.id = nto_cookie_rule_id_of(r),
	                                  .ifindex = r->id.ifindex,
	                                  .handle = r->id.handle,
	                                  .prio = r->id.prio};
	return 0;
}

static void cv_reset(void *ctx, enum tc_hook hook)
{
	struct cv_rules *rs = ctx;

	(void)hook;
	rs->n = rs->others = 0; /* ingress only has rules of ours here: start over */
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cvr_cmp(const void *a, const void *b)
{
	const struct cv_rule *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->ifindex < y->ifindex ? -1 : x->ifindex > y->ifindex;
}

/* ctverify LAN WAN: every conntrack entry of restart-daemon's (dport 5201) must have exactly
 * one rule of ours on LAN and one on WAN (by the cookie's conntrack id); no rule of ours may
 * name a conntrack id that does not exist (orphans) or be there twice (duplicates); ids that
 * several entries share (shared_ids) count once per entry. */
static int cmd_ctverify(char **argv)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	struct cv_ids ids = {0};
	struct cv_rules rs = {0};
	struct ct_handler hd = {.fn = cv_ct, .ctx = &ids};
	struct nlc_sock *s = open_route();
	size_t missing = 0, dup = 0, orphans = 0, shared_ids = 0, j = 0;
	uint32_t dev[2] = {ifindex_of(argv[0]), ifindex_of(argv[1])};
	int rc;

	if (!h)
		die("nfct_open: %s", strerror(errno));
	rc = ct_dump(h, &hd);
	if (rc)
		die("conntrack dump: %s", strerror(-rc));
	for (int d = 0; d < 2; d++) {
		struct cv_rules one = {0};
		struct nlc_tc_dump_cb cb = {.rule = cv_rule, .reset = cv_reset, .ctx = &one};
		struct nlc_extack ext;

		rc = nlc_tc_dump(s, dev[d], &cb, NULL, &ext);
		if (rc)
			die("dump: %s %s", strerror(-rc), ext.msg);
		rs.v = realloc(rs.v, (rs.n + one.n + 1) * sizeof(*rs.v));
		if (!rs.v)
			die("out of memory");
		memcpy(rs.v + rs.n, one.v, one.n * sizeof(*one.v));
		rs.n += one.n;
		rs.others += one.others;
		free(one.v);
	}
	qsort(ids.v, ids.n, sizeof(*ids.v), u32_cmp);
	qsort(rs.v, rs.n, sizeof(*rs.v), cvr_cmp);
	/* merge: conntrack ids against rules sorted by (id, ifindex). A conntrack id is a 32-bit
	 * hash, not unique (about one pair of 50,000 entries in four shares one): m entries with
	 * one id own m rules of that id on each device. */
	for (size_t i = 0; i < ids.n;) {
		size_t on[2] = {0, 0}, m = 1;

		while (i + m < ids.n && ids.v[i + m] == ids.v[i])
			m++;
		while (j < rs.n && rs.v[j].id < ids.v[i])
			orphans++, j++;
		for (; j < rs.n && rs.v[j].id == ids.v[i]; j++)
			for (int d = 0; d < 2; d++)
				on[d] += rs.v[j].ifindex == dev[d];
		for (int d = 0; d < 2; d++) {
			missing += on[d] < m ? m - on[d] : 0;
			dup += on[d] > m ? on[d] - m : 0;
		}
		shared_ids += m > 1;
		i += m;
	}
	orphans += rs.n - j;
	printf("ctverify: conns=%zu rules=%zu missing=%zu duplicates=%zu orphans=%zu others=%zu "
	       "shared_ids=%zu\n",
	       ids.n, rs.n, missing, dup, orphans, rs.others, shared_ids);
	free(ids.v);
	free(rs.v);
	nlc_close(s);
	nfct_close(h);
	return missing || dup || orphans ? 1 : 0;
}

/* ctdupe DEV K: the first K rules of ours on DEV get a second copy at the next prio (what a
 * crashed run could leave behind: a duplicate the restarted daemon must delete). */
static int dupe_rule(void *ctx, const struct tc_rule *r)
{
	struct tc_rule_vec *v = ctx;
	struct tc_rule *c;

	if (!nto_cookie_is_ours(r) || v->n >= v->cap)
		return 0;
	c = &v->v[v->n++];
	*c = *r;
	c->id.prio = (uint16_t)(r->id.prio + 1);
	return 0;
}

static int cmd_ctdupe(char **argv)
{
	size_t k = parse_count(argv[1]);
	struct tc_rule_vec v = {.v = calloc(k, sizeof(struct tc_rule)), .cap = k};
	struct nlc_tc_result *res = calloc(k, sizeof(*res));
	struct nlc_tc_dump_cb cb = {.rule = dupe_rule, .ctx = &v};
	struct nlc_sock *s = open_route();
	struct nlc_extack ext;
	int rc;

	if (!v.v || !res)
		die("out of memory");
	rc = nlc_tc_dump(s, ifindex_of(argv[0]), &cb, NULL, &ext);
	if (rc)
		die("dump: %s %s", strerror(-rc), ext.msg);
	rc = nlc_tc_replace_batch_noecho(s, v.v, v.n, res, NULL);
	printf("ctdupe: duplicates=%zu errors=%d\n", v.n, rc);
	free(v.v);
	free(res);
	nlc_close(s);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	int nargs = argc - 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(cmd, "text") == 0 && nargs == 5)
		return cmd_text(argv + 2);
	if (strcmp(cmd, "encode") == 0 && nargs == 5)
		return cmd_encode(argv + 2);
	if (strcmp(cmd, "replay") == 0 && nargs == 1)
		return cmd_replay(argv + 2);
	if (strcmp(cmd, "add") == 0 && nargs == 3)
		return cmd_add(argv + 2, true);
	if (strcmp(cmd, "add") == 0 && nargs == 4 && strcmp(argv[5], "--no-echo") == 0)
		return cmd_add(argv + 2, false);
	if (strcmp(cmd, "del") == 0 && nargs == 3)
		return cmd_del(argv + 2);
	if (strcmp(cmd, "restart-setup") == 0 && nargs == 3)
		return cmd_rs_setup(argv + 2);
	if (strcmp(cmd, "reconcile") == 0 && nargs == 3)
		return cmd_reconcile(argv + 2);
	if (strcmp(cmd, "verify") == 0 && nargs == 3)
		return cmd_verify(argv + 2);
	if (strcmp(cmd, "corecost") == 0 && nargs == 1)
		return cmd_corecost(argv + 2);
	if (strcmp(cmd, "rawdump") == 0 && (nargs == 1 || nargs == 2))
		return cmd_rawdump(argv + 2, nargs == 2 ? argv[3] : NULL, false);
	if (strcmp(cmd, "rawdump-terse") == 0 && (nargs == 1 || nargs == 2))
		return cmd_rawdump(argv + 2, nargs == 2 ? argv[3] : NULL, true);
	if (strcmp(cmd, "ctrawdump") == 0 && nargs == 0)
		return cmd_ctrawdump();
	if (strcmp(cmd, "decodecost") == 0 && (nargs == 1 || nargs == 2))
		return cmd_decodecost(argv + 2, nargs == 2 ? parse_count(argv[3]) : 10);
	if (strcmp(cmd, "count") == 0 && nargs == 1)
		return cmd_count(argv + 2);
	if (strcmp(cmd, "latency") == 0 && nargs == 3)
		return cmd_latency(argv + 2);
	if (strcmp(cmd, "flowpair") == 0 && nargs == 6)
		return cmd_flowpair(argv + 2);
	if (strcmp(cmd, "ctcreate") == 0 && (nargs == 2 || nargs == 3))
		return cmd_ctcreate(argv + 2);
	if (strcmp(cmd, "ctverify") == 0 && nargs == 2)
		return cmd_ctverify(argv + 2);
	if (strcmp(cmd, "ctdupe") == 0 && nargs == 2)
		return cmd_ctdupe(argv + 2);
	fprintf(stderr, "usage: bench_lab text|encode DEV PEER N ADD DEL | replay FILE |\n"
	                "       add DEV PEER N [--no-echo] | del DEV PEER N | count DEV |\n"
	                "       restart-setup|reconcile|verify DEV PEER N | rawdump DEV [FILE] |\n"
	                "       decodecost FILE [REPS] |\n"
	                "       latency LAN WAN N | ctcreate FROM N [GAP_US] | ctverify LAN WAN |\n"
	                "       ctdupe DEV K |\n"
	                "       flowpair LAN WAN CLIENT:PORT SERVER:PORT LAN-PEER-MAC "
	                "WAN-PEER-MAC\n");
	return 2;
}
