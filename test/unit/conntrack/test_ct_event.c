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
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ct_test.h"

/* A masqueraded TCP connection as the kernel reports it once established. */
static void test_from_nfct_v4(void **state)
{
	struct nf_conntrack *ct = nfct_new();
	struct ct_event ev;
	struct flow_conn want;
	char line[512];

	(void)state;
	assert_non_null(ct);
	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, inet_addr("10.0.1.2"));
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, inet_addr("10.0.2.2"));
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(40000));
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(5201));
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, inet_addr("10.0.2.2"));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, inet_addr("10.0.2.1"));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(5201));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(40000));
	nfct_set_attr_u32(ct, ATTR_STATUS, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4));
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, CT_TCP_ESTABLISHED);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, 431999);
	nfct_set_attr_u32(ct, ATTR_ID, 0xdeadbeef);
	nfct_set_attr_u32(ct, ATTR_MARK, 7);
	nfct_set_attr_u16(ct, ATTR_ZONE, 3);

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_nfct_v4),
	    cmocka_unit_test(test_offload_helper_v6),
	    cmocka_unit_test(test_bad_objects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
