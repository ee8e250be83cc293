/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The event model: libnetfilter_conntrack objects (built with nfct_set_attr) to struct
 * ct_event and back, and the conntrack(8)-like line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct_test.h"

static void masq_v4(struct nf_conntrack *ct, uint16_t sport)
{
	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, inet_addr("10.0.1.2"));
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, inet_addr("10.0.2.2"));
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(sport));
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(5201));
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, inet_addr("10.0.2.2"));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, inet_addr("10.0.2.1"));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(5201));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(sport));
	nfct_set_attr_u32(ct, ATTR_STATUS, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4));
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, CT_TCP_ESTABLISHED);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, 431999);
	nfct_set_attr_u32(ct, ATTR_ID, 0xdeadbe00u + sport);
	nfct_set_attr_u32(ct, ATTR_MARK, 7);
	nfct_set_attr_u16(ct, ATTR_ZONE, 3);
}

/* A masqueraded TCP connection as the kernel reports it once established. */
static void test_from_nfct_v4(void **state)
{
	struct nf_conntrack *ct = nfct_new();
	struct ct_event ev;
	struct flow_conn want;
	char line[512];

	(void)state;
	assert_non_null(ct);
	masq_v4(ct, 40000);
	nfct_set_attr_u32(ct, ATTR_ID, 0xdeadbeef);

	assert_int_equal(ct_event_from_nfct(NFCT_T_UPDATE, ct, &ev), 0);
	assert_int_equal(ev.type, CT_EVENT_UPDATE);
	test_conn(&want, AF_INET, IPPROTO_TCP, "10.0.1.2", 40000, "10.0.2.2", 5201, "10.0.2.2",
	          5201, "10.0.2.1", 40000);
	want.zone = 3;
	want.mark = 7;
	assert_memory_equal(&ev.conn, &want, sizeof(want));
	assert_int_equal(ev.status,
	                 CT_ST_SEEN_REPLY | CT_ST_ASSURED | CT_ST_CONFIRMED | CT_ST_SRC_NAT);
	assert_true(ev.has_tcp_state);
	assert_int_equal(ev.tcp_state, CT_TCP_ESTABLISHED);
	assert_true(ev.has_timeout);
	assert_int_equal(ev.timeout, 431999);
	assert_int_equal(ev.id, 0xdeadbeef);
	ct_event_format(&ev, line, sizeof(line));
	assert_string_equal(line, "UPDATE tcp 431999 ESTABLISHED src=10.0.1.2 dst=10.0.2.2 "
	                          "sport=40000 dport=5201 src=10.0.2.2 dst=10.0.2.1 sport=5201 "
	                          "dport=40000 [ASSURED] mark=7 zone=3 id=3735928559");
	nfct_destroy(ct);
}

/* The kernel's flowtable holds it: IPS_OFFLOAD, no TCP state, no timeout; a helper. */
static void test_offload_helper_v6(void **state)
{
	struct ct_event in, out;
	struct nf_conntrack *ct;
	char line[512];

	(void)state;
	memset(&in, 0, sizeof(in));
	in.type = CT_EVENT_NEW;
	test_conn(&in.conn, AF_INET6, IPPROTO_TCP, "fd00:1::2", 40000, "fd00:2::2", 21, "fd00:2::2",
	          21, "fd00:1::2", 40000);
	in.status = CT_ST_SEEN_REPLY | CT_ST_OFFLOAD | CT_ST_HELPER | CT_ST_SEQ_ADJUST;
	snprintf(in.helper, sizeof(in.helper), "ftp");
	ct = ct_event_to_nfct(&in);
	assert_non_null(ct);
	assert_int_equal(nfct_get_attr_u32(ct, ATTR_STATUS),
	                 (1u << 1) | (1u << 14) | (1u << 13) | (1u << 6));
	assert_int_equal(ct_event_from_nfct(NFCT_T_NEW, ct, &out), 0);
	assert_int_equal(out.type, CT_EVENT_NEW);
	assert_memory_equal(&out.conn, &in.conn, sizeof(in.conn));
	assert_int_equal(out.status, in.status);
	assert_string_equal(out.helper, "ftp");
	assert_false(out.has_tcp_state);
	assert_false(out.has_timeout);
	ct_event_format(&out, line, sizeof(line));
	assert_string_equal(line, "NEW tcp src=fd00:1::2 dst=fd00:2::2 sport=40000 dport=21 "
	                          "src=fd00:2::2 dst=fd00:1::2 sport=21 dport=40000 [OFFLOAD] "
	                          "[SEQ_ADJUST] helper=ftp mark=0 zone=0 id=0");
	nfct_destroy(ct);
}

static void test_bad_objects(void **state)
{
	struct nf_conntrack *ct = nfct_new();
	struct ct_event ev;

	(void)state;
	assert_int_equal(ct_event_from_nfct(NFCT_T_NEW, ct, &ev), -EINVAL); /* no tuple */
	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_ICMP);
	assert_int_equal(ct_event_from_nfct(NFCT_T_NEW, ct, &ev), -EINVAL); /* no addresses */
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, inet_addr("10.0.1.2"));
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, inet_addr("10.0.2.2"));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, inet_addr("10.0.2.2"));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, inet_addr("10.0.1.2"));
	assert_int_equal(ct_event_from_nfct(NFCT_T_DESTROY, ct, &ev), 0);
	assert_int_equal(ev.type, CT_EVENT_DESTROY);
	assert_int_equal(ev.conn.orig.proto, IPPROTO_ICMP);
	assert_int_equal(ev.conn.orig.sport, 0);
	nfct_destroy(ct);
}

/* ---- ctnetlink messages read without the library (ct_event_from_nlmsg) ---- */

/* ct's message as the kernel would send it (the library's builder), with counters appended
 * (what only the kernel sends: 64-bit packets and bytes of both directions). */
static size_t build_msg(uint8_t *buf, const struct nf_conntrack *ct, int family, uint16_t type,
                        uint16_t flags, uint32_t seq, bool counters)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)family;
	nfg->version = NFNETLINK_V0;
	assert_int_equal(nfct_nlmsg_build(nlh, ct), 0);
	/* the id: the builder leaves it out (a request cannot set it), the kernel sends it */
	if (nfct_attr_is_set(ct, ATTR_ID))
		mnl_attr_put_u32(nlh, CTA_ID, htonl(nfct_get_attr_u32(ct, ATTR_ID)));
	if (counters)
		for (int d = 0; d < 2; d++) {
			struct nlattr *n =
			    mnl_attr_nest_start(nlh, d ? CTA_COUNTERS_REPLY : CTA_COUNTERS_ORIG);

			mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(100u + (unsigned)d));
			mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(15000u + (unsigned)d));
			mnl_attr_nest_end(nlh, n);
		}
	return nlh->nlmsg_len;
}

/* the library's reading of the same message */
static void via_library(const uint8_t *buf, struct ct_event *ev)
{
	struct nf_conntrack *ct = nfct_new();
	int type;

	assert_non_null(ct);
	type = nfct_nlmsg_parse((const struct nlmsghdr *)buf, ct);
	assert_int_equal(type, 0);
	type = ((const struct nlmsghdr *)buf)->nlmsg_type & 0xff;
	type = type == IPCTNL_MSG_CT_DELETE ? NFCT_T_DESTROY
	       : ((const struct nlmsghdr *)buf)->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)
	           ? NFCT_T_NEW
	           : NFCT_T_UPDATE;
	assert_int_equal(ct_event_from_nfct(type, ct, ev), 0);
	nfct_destroy(ct);
}

static void test_from_nlmsg_same_as_library(void **state)
{
	static uint8_t buf[4096] __attribute__((aligned(8)));
	struct nf_conntrack *ct = nfct_new();
	struct ct_event mine, lib;
	struct ct_event in;
	size_t n;

	(void)state;
	masq_v4(ct, 40000);
	n = build_msg(buf, ct, AF_INET, IPCTNL_MSG_CT_NEW, NLM_F_MULTI, 1, true);
	assert_int_equal(ct_event_from_nlmsg(buf, n, &mine), 0);
	via_library(buf, &lib);
	assert_memory_equal(&mine, &lib, sizeof(mine));
	assert_int_equal(mine.type, CT_EVENT_UPDATE);
	assert_int_equal(mine.id, 0xdeadbe00u + 40000);
	assert_int_equal(mine.conn.orig.sport, 40000);
	assert_int_equal(mine.conn.reply.dst.v4.s_addr, inet_addr("10.0.2.1"));
	assert_int_equal(mine.conn.zone, 3);
	assert_int_equal(mine.tcp_state, CT_TCP_ESTABLISHED);
	assert_true(mine.has_counters);
	assert_int_equal(mine.packets[1], 101);
	assert_int_equal(mine.bytes[0], 15000);
	nfct_destroy(ct);

	/* NEW (IPv6, a helper, no counters), then DESTROY */
	memset(&in, 0, sizeof(in));
	in.type = CT_EVENT_NEW;
	test_conn(&in.conn, AF_INET6, IPPROTO_UDP, "fd00:1::2", 40000, "fd00:2::2", 69, "fd00:2::2",
	          69, "fd00:1::2", 40000);
	in.status = CT_ST_SEEN_REPLY | CT_ST_HELPER;
	snprintf(in.helper, sizeof(in.helper), "tftp");
	ct = ct_event_to_nfct(&in);
	assert_non_null(ct);
	n = build_msg(buf, ct, AF_INET6, IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, 2, false);
	assert_int_equal(ct_event_from_nlmsg(buf, n, &mine), 0);
	via_library(buf, &lib);
	assert_memory_equal(&mine, &lib, sizeof(mine));
	assert_int_equal(mine.type, CT_EVENT_NEW);
	assert_string_equal(mine.helper, "tftp");
	assert_false(mine.has_counters);
	n = build_msg(buf, ct, AF_INET6, IPCTNL_MSG_CT_DELETE, 0, 3, false);
	assert_int_equal(ct_event_from_nlmsg(buf, n, &mine), 0);
	via_library(buf, &lib);
	assert_memory_equal(&mine, &lib, sizeof(mine));
	assert_int_equal(mine.type, CT_EVENT_DESTROY);

	/* refused: cut short, another subsystem, an attribute of the wrong size */
	for (size_t cut = 0; cut < n; cut++)
		if (cut < n - 3) /* the last attribute's padding aside */
			assert_int_equal(ct_event_from_nlmsg(buf, cut, &mine), -EINVAL);
	((struct nlmsghdr *)buf)->nlmsg_type = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | 0;
	assert_int_equal(ct_event_from_nlmsg(buf, n, &mine), -EINVAL);
	nfct_destroy(ct);
	{
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));

		nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
		nfg->nfgen_family = AF_INET;
		ct = nfct_new();
		masq_v4(ct, 40001);
		assert_int_equal(nfct_nlmsg_build(nlh, ct), 0);
		mnl_attr_put_u16(nlh, CTA_MARK, 7); /* 2 bytes: CTA_MARK is 4 */
		assert_int_equal(ct_event_from_nlmsg(buf, nlh->nlmsg_len, &mine), -EINVAL);
		nfct_destroy(ct);
	}
}

/* ct_dump_fd against a fake kernel on the other end of a socket pair (a child process): the
 * request it sends, entries of its sequence number delivered as UPDATEs, another's skipped. */
struct dump_got {
	struct ct_event ev[4];
	int n;
};

static int got_event(void *ctx, const struct ct_event *ev)
{
	struct dump_got *g = ctx;

	if (g->n < 4)
		g->ev[g->n] = *ev;
	g->n++;
	return 0;
}

static void fake_ctnetlink(int fd)
{
	static uint8_t req[256] __attribute__((aligned(8)));
	static uint8_t buf[8192] __attribute__((aligned(8)));
	const struct nlmsghdr *r = (const struct nlmsghdr *)req;
	const struct nfgenmsg *nfg = (const struct nfgenmsg *)(req + NLMSG_HDRLEN);
	struct nf_conntrack *ct = nfct_new();
	struct nlmsghdr *done;
	size_t off = 0;

	if (recv(fd, req, sizeof(req), 0) != NLMSG_HDRLEN + (ssize_t)sizeof(*nfg) ||
	    r->nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET) ||
	    r->nlmsg_flags != (NLM_F_REQUEST | NLM_F_DUMP) || nfg->nfgen_family != AF_UNSPEC)
		_exit(3);
	masq_v4(ct, 41000);
	off +=
	    build_msg(buf + off, ct, AF_INET, IPCTNL_MSG_CT_NEW, NLM_F_MULTI, r->nlmsg_seq, true);
	masq_v4(ct, 41001); /* a late reply to another request: skipped */
	off += build_msg(buf + off, ct, AF_INET, IPCTNL_MSG_CT_NEW, NLM_F_MULTI, r->nlmsg_seq + 1,
	                 true);
	if (send(fd, buf, off, 0) < 0)
		_exit(4);
	off = 0;
	masq_v4(ct, 41002);
	off +=
	    build_msg(buf + off, ct, AF_INET, IPCTNL_MSG_CT_NEW, NLM_F_MULTI, r->nlmsg_seq, true);
	done = (struct nlmsghdr *)(buf + off);
	memset(done, 0, NLMSG_HDRLEN + 4);
	done->nlmsg_len = NLMSG_HDRLEN + 4;
	done->nlmsg_type = NLMSG_DONE;
	done->nlmsg_flags = NLM_F_MULTI;
	done->nlmsg_seq = r->nlmsg_seq;
	off += done->nlmsg_len;
	if (send(fd, buf, off, 0) < 0)
		_exit(5);
	nfct_destroy(ct);
	_exit(0);
}

static void test_dump_fd(void **state)
{
	struct dump_got g = {0};
	struct ct_handler hd = {.fn = got_event, .ctx = &g};
	int sv[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		fake_ctnetlink(sv[1]);
	}
	close(sv[1]);
	assert_int_equal(ct_dump_fd(sv[0], &hd), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.ev[0].conn.orig.sport, 41000);
	assert_int_equal(g.ev[1].conn.orig.sport, 41002);
	assert_int_equal(g.ev[1].type, CT_EVENT_UPDATE);
	assert_true(g.ev[1].has_counters);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_nfct_v4), cmocka_unit_test(test_offload_helper_v6),
	    cmocka_unit_test(test_bad_objects),  cmocka_unit_test(test_from_nlmsg_same_as_library),
	    cmocka_unit_test(test_dump_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
