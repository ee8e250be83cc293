/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tc operations (tc_ops.c) against a fake kernel. The test brings its own tc_encode() /
 * tc_decode(): they carry the whole struct tc_rule in one attribute, so these tests check the
 * netlink side (flags, seq, echo comparison, dump filtering) independently of src/tc/. Being
 * defined here, the linker never pulls the real ones from libnto.a.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "fake_kernel.h"
#include "nft-tc-offload/tc.h"

#define FAKE_RULE_ATTR 1

static uint32_t hook_parent(enum tc_hook hook)
{
	return TC_H_MAKE(TC_H_CLSACT, hook == TC_HOOK_EGRESS ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
}

int tc_encode(const struct tc_rule *r, enum tc_msg_op op, uint16_t nlmsg_flags, uint32_t seq,
              void *buf, size_t len, char *err, size_t errlen)
{
	static const uint16_t types[] = {
	    [TC_MSG_NEW] = RTM_NEWTFILTER,
	    [TC_MSG_REPLACE] = RTM_NEWTFILTER,
	    [TC_MSG_DELETE] = RTM_DELTFILTER,
	    [TC_MSG_GET] = RTM_GETTFILTER,
	};
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	if (r->id.chain == 999) {
		snprintf(err, errlen, "fake: chain 999 is not allowed");
		return -EINVAL;
	}
	if (len <
	    MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*tcm)) + MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(*r)))
		return 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = types[op];
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | nlmsg_flags;
	if (op == TC_MSG_NEW)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	if (op == TC_MSG_REPLACE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_ifindex = (int)r->id.ifindex;
	tcm->tcm_handle = r->id.handle;
	tcm->tcm_parent = hook_parent(r->id.hook);
	tcm->tcm_info = TC_H_MAKE((uint32_t)r->id.prio << 16, htons(r->id.protocol));
	mnl_attr_put(nlh, FAKE_RULE_ATTR, sizeof(*r), r);
	return (int)nlh->nlmsg_len;
}

static const struct nlattr *rule_attr(const struct nlmsghdr *nlh)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct tcmsg))
	{
		if (mnl_attr_get_type(a) == FAKE_RULE_ATTR)
			return a;
	}
	return NULL;
}

int tc_decode(const void *msg, size_t len, struct tc_rule *r, char *err, size_t errlen)
{
	const struct nlmsghdr *nlh = msg;
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a = rule_attr(nlh);

	(void)len;
	if (!a)
		return -ENOENT;
	if (mnl_attr_get_payload_len(a) != sizeof(*r)) {
		snprintf(err, errlen, "fake: bad rule size");
		return -EINVAL;
	}
	memcpy(r, mnl_attr_get_payload(a), sizeof(*r));
	r->id.handle = tcm->tcm_handle; /* what the kernel says wins */
	r->id.prio = (uint16_t)(tcm->tcm_info >> 16);
	return 0;
}

/* the terse reading of the same fake message: what tc_decode_brief takes from a rule */
int tc_decode_brief_flags(const void *msg, size_t len, struct tc_brief *b, unsigned flags,
                          char *err, size_t errlen)
{
	struct tc_rule r;
	int rc = tc_decode(msg, len, &r, err, errlen);

	if (rc)
		return rc;
	memset(b, 0, sizeof(*b));
	b->id = r.id;
	b->n_actions = r.n_actions;
	b->cookie_len = r.cookie_len;
	memcpy(b->cookie, r.cookie, sizeof(b->cookie));
	if (!(flags & TC_BRIEF_NO_STATS))
		b->state = r.state;
	return 0;
}

/* ---- the fake kernel's tc ---------------------------------------------------------------- */

struct tc_fixture {
	struct fake_kernel k;
	struct nlc_sock *s;
	uint32_t next_handle;
	unsigned int qdisc_requests;
	unsigned int new_requests, echo_requests; /* RTM_NEWTFILTER seen, of them with NLM_F_ECHO */
	unsigned int dump_requests, terse_requests; /* filter dumps, of them TCA_DUMP_FLAGS terse */
	uint32_t last_handle;                       /* tcm_handle of the last RTM_NEWTFILTER */
};

static void put_filter(uint8_t *buf, size_t *off, uint32_t seq, uint16_t type,
                       const struct tc_rule *r, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	nlh = mnl_nlmsg_put_header(buf + *off);
	nlh->nlmsg_type = type;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = flags;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_ifindex = (int)r->id.ifindex;
	tcm->tcm_handle = r->id.handle;
	tcm->tcm_parent = hook_parent(r->id.hook);
	tcm->tcm_info = TC_H_MAKE((uint32_t)r->id.prio << 16, htons(r->id.protocol));
	if (r->n_actions != 255) /* 255: a non-flower filter, no rule attribute */
		mnl_attr_put(nlh, FAKE_RULE_ATTR, sizeof(*r), r);
	*off += MNL_ALIGN(nlh->nlmsg_len);
}

static void respond_newfilter(struct tc_fixture *f, const struct nlmsghdr *req)
{
	uint8_t buf[3 * sizeof(struct tc_rule)];
	struct tc_rule r;
	size_t off = 0;

	memcpy(&r, mnl_attr_get_payload(rule_attr(req)), sizeof(r));
	assert_true(req->nlmsg_flags & NLM_F_REPLACE);
	assert_true(req->nlmsg_flags & NLM_F_CREATE);
	f->new_requests++;
	f->echo_requests += !!(req->nlmsg_flags & NLM_F_ECHO);
	f->last_handle = ((const struct tcmsg *)mnl_nlmsg_get_payload(req))->tcm_handle;
	if (r.id.ifindex == 404) {
		fk_ack(&f->k, req, -ENODEV, "Cannot find specified netdevice", 20, true);
		return;
	}
	if (!r.id.handle)
		r.id.handle = ++f->next_handle;
	if (!r.id.prio)
		r.id.prio = 49152;
	if (r.flower.key.ct_zone == 77)
		r.flower.key.ct_zone = 78; /* the "kernel" installs something else */
	r.state.valid = true;
	r.state.in_hw = true;
	if (req->nlmsg_flags & NLM_F_ECHO) {
		put_filter(buf, &off, req->nlmsg_seq, RTM_NEWTFILTER, &r, 0);
		fk_reply(&f->k, buf, off);
	}
	fk_ack(&f->k, req, 0, NULL, 0, true);
}

static void respond_dump(struct tc_fixture *f, const struct nlmsghdr *req)
{
	uint8_t buf[8 * sizeof(struct tc_rule)];
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(req);
	bool egress = tcm->tcm_parent == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
	struct tc_id id = {.ifindex = (uint32_t)tcm->tcm_ifindex,
	                   .hook = egress ? TC_HOOK_EGRESS : TC_HOOK_INGRESS,
	                   .prio = 1,
	                   .protocol = ETH_P_IP};
	const struct nlattr *a;
	struct tc_rule r;
	size_t off = 0;

	assert_true(tcm->tcm_parent == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS) || egress);
	f->dump_requests++;
	mnl_attr_for_each(a, req, sizeof(*tcm))
	{
		const struct nla_bitfield32 *fl = mnl_attr_get_payload(a);

		if (mnl_attr_get_type(a) != TCA_DUMP_FLAGS)
			continue;
		assert_int_equal(mnl_attr_get_payload_len(a), sizeof(*fl));
		assert_int_equal(fl->value, TCA_DUMP_FLAGS_TERSE);
		assert_int_equal(fl->selector, TCA_DUMP_FLAGS_TERSE);
		f->terse_requests++;
	}
	if (tcm->tcm_ifindex == 66) { /* a device whose dump the kernel refuses */
		fk_ack(&f->k, req, -EOPNOTSUPP, "fake: no dump here", 0, true);
		return;
	}
	tc_rule_init(&r, &id);
	put_filter(buf, &off, req->nlmsg_seq, RTM_NEWTFILTER, &r, NLM_F_MULTI); /* header */
	r.state.valid = true;
	for (uint32_t h = 1; h <= (egress ? 1u : 2u); h++) {
		r.id.handle = egress ? 10 + h : h;
		r.id.chain = h;
		r.state.packets = 1000 + r.id.handle; /* a get answers handle * 10 */
		put_filter(buf, &off, req->nlmsg_seq, RTM_NEWTFILTER, &r, NLM_F_MULTI);
	}
	r.id.handle = 99;
	r.n_actions = 255; /* a u32 filter, say */
	put_filter(buf, &off, req->nlmsg_seq, RTM_NEWTFILTER, &r, NLM_F_MULTI);
	off += MNL_ALIGN(fk_build_done(buf + off, 64, req->nlmsg_seq, 0, 0, NULL));
	fk_reply(&f->k, buf, off);
}

static void respond_tc(struct fake_kernel *k, const struct nlmsghdr *req)
{
	struct tc_fixture *f = k->priv;
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(req);
	uint8_t buf[2 * sizeof(struct tc_rule)];
	const struct nlattr *a;
	const char *kind = NULL;
	struct tc_rule r;
	size_t off = 0;

	switch (req->nlmsg_type) {
	case RTM_NEWTFILTER:
		respond_newfilter(f, req);
		break;
	case RTM_DELTFILTER:
		if (tcm->tcm_handle)
			fk_ack(k, req, 0, NULL, 0, true);
		else
			fk_ack(k, req, -ENOENT, "Filter with specified priority/protocol not found",
			       0, true);
		break;
	case RTM_GETTFILTER:
		if (req->nlmsg_flags & NLM_F_DUMP) {
			respond_dump(f, req);
			break;
		}
		memcpy(&r, mnl_attr_get_payload(rule_attr(req)), sizeof(r));
		r.state.valid = true;
		r.state.packets = r.id.handle * 10;
		put_filter(buf, &off, req->nlmsg_seq, RTM_NEWTFILTER, &r, 0);
		fk_reply(k, buf, off);
		fk_ack(k, req, 0, NULL, 0, true);
		break;
	case RTM_NEWQDISC:
	case RTM_GETQDISC:
		f->qdisc_requests++;
		mnl_attr_for_each(a, req, sizeof(*tcm))
		{
			if (mnl_attr_get_type(a) == TCA_KIND)
				kind = mnl_attr_get_str(a);
		}
		assert_non_null(kind);
		assert_string_equal(kind, "clsact");
		assert_int_equal(tcm->tcm_parent, TC_H_CLSACT);
		if (req->nlmsg_type == RTM_NEWQDISC) {
			assert_int_equal(tcm->tcm_handle, TC_H_MAKE(TC_H_CLSACT, 0));
			assert_true(req->nlmsg_flags & NLM_F_EXCL);
			if (tcm->tcm_ifindex == 1)
				fk_ack(k, req, 0, NULL, 0, true);
			else
				fk_ack(k, req, -EEXIST, "Exclusivity flag on, cannot modify", 0,
				       true);
		} else if (tcm->tcm_ifindex == 2) {
			fk_ack(k, req, 0, NULL, 0, true);
		} else {
			fk_ack(k, req, -EINVAL, "Invalid qdisc name", 0, true);
		}
		break;
	default:
		fail_msg("unexpected request type %u", req->nlmsg_type);
	}
}

static int setup(void **state)
{
	struct tc_fixture *f = calloc(1, sizeof(*f));

	fk_init(&f->k);
	f->k.respond = respond_tc;
	f->k.priv = f;
	assert_int_equal(nlc_open_transport(&f->s, &fk_transport, &f->k, 256 * 1024), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct tc_fixture *f = *state;

	nlc_close(f->s);
	fk_free(&f->k);
	free(f);
	return 0;
}

#define N_RULES 60

static void make_rules(struct tc_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct tc_id id = {.ifindex = 5,
		                   .hook = i % 2 ? TC_HOOK_EGRESS : TC_HOOK_INGRESS,
		                   .chain = (uint32_t)i % 3,
		                   .prio = i % 4 ? 10 : 0, /* 0: the kernel picks */
		                   .protocol = ETH_P_IP,
		                   .handle = i % 5 ? (uint32_t)i + 100 : 0};
		struct tc_action *a;

		tc_rule_init(&rules[i], &id);
		rules[i].flower.key.ip_proto = 6;
		rules[i].flower.mask.ip_proto = 0xff;
		a = tc_rule_add_action(&rules[i], TC_ACTION_MIRRED);
		a->verdict = TC_VERDICT_STOLEN;
		a->mirred.op = TC_MIRRED_EGRESS_REDIRECT;
		a->mirred.ifindex = 7;
	}
}

static void test_replace_batch(void **state)
{
	struct tc_fixture *f = *state;
	struct tc_rule *rules = calloc(N_RULES, sizeof(*rules));
	struct tc_rule *out = calloc(N_RULES, sizeof(*out));
	struct nlc_tc_result res[N_RULES];

	make_rules(rules, N_RULES);
	rules[7].flower.key.ct_zone = 77; /* installed differently: mismatch */
	rules[7].flower.mask.ct_zone = 0xffff;
	rules[9].id.ifindex = 404; /* refused by the kernel */
	rules[11].id.chain = 999;  /* refused by the encoder */
	assert_int_equal(nlc_tc_replace_batch(f->s, rules, N_RULES, res, out, NULL), 3);

	for (int i = 0; i < N_RULES; i++) {
		struct nlc_tc_result *r = &res[i];

		if (i == 9) {
			assert_int_equal(r->error, -ENODEV);
			assert_string_equal(r->ext.msg, "Cannot find specified netdevice");
			assert_int_equal(r->ext.off, 20);
			assert_false(r->echoed);
			continue;
		}
		if (i == 11) {
			assert_int_equal(r->error, -EINVAL);
			assert_string_equal(r->ext.msg, "fake: chain 999 is not allowed");
			continue;
		}
		assert_int_equal(r->error, 0);
		assert_true(r->echoed);
		assert_true(r->state.in_hw);
		assert_int_equal(r->mismatch, i == 7);
		if (i == 7)
			assert_string_equal(r->ext.msg,
			                    "kernel installed a different rule: match or action "
			                    "contents differ");
		else
			assert_string_equal(r->ext.msg, "");
		/* the kernel's picks are reported, and are not a mismatch */
		assert_int_equal(r->id.prio, rules[i].id.prio ? rules[i].id.prio : 49152);
		if (rules[i].id.handle)
			assert_int_equal(r->id.handle, rules[i].id.handle);
		else
			assert_true(r->id.handle > 0);
		assert_int_equal(out[i].id.handle, r->id.handle);
		assert_int_equal(out[i].id.chain, rules[i].id.chain);
	}
	/* echoes are expensive: the window follows NLC_REPLY_COST_ECHO */
	assert_int_equal(f->k.max_outstanding, 256 * 1024 / 2 / NLC_REPLY_COST_ECHO);
	assert_true(f->k.max_per_send > 1);

	/* the single form */
	assert_int_equal(nlc_tc_replace(f->s, &rules[7], NULL), -EILSEQ);
	assert_int_equal(nlc_tc_replace(f->s, &rules[8], NULL), 0);
	free(rules);
	free(out);
}

/* The echo-less replace: ACKs only, errors and extack still per rule; the caller's ids. */
static void test_replace_noecho(void **state)
{
	struct tc_fixture *f = *state;
	struct tc_rule *rules = calloc(N_RULES, sizeof(*rules));
	struct nlc_tc_result res[N_RULES];
	unsigned int sent = 0;
	int want_failed = 0;

	make_rules(rules, N_RULES);
	rules[7].flower.key.ct_zone = 77; /* installed differently: not seen without the echo */
	rules[7].flower.mask.ct_zone = 0xffff;
	rules[9].id.ifindex = 404; /* refused by the kernel */
	rules[11].id.chain = 999;  /* refused by the encoder */
	rules[13].id.handle = 500; /* make_rules gives it prio 10 */
	for (int i = 0; i < N_RULES; i++) {
		bool unsendable = !rules[i].id.handle || !rules[i].id.prio || i == 11;

		want_failed += unsendable || i == 9;
		sent += !unsendable;
	}
	f->k.reverse = true; /* ACKs come back in any order: matched by seq */
	assert_int_equal(nlc_tc_replace_batch_noecho(f->s, rules, N_RULES, res, NULL), want_failed);
	assert_int_equal(f->new_requests, sent);
	assert_int_equal(f->echo_requests, 0);

	for (int i = 0; i < N_RULES; i++) {
		struct nlc_tc_result *r = &res[i];

		assert_false(r->echoed);
		assert_false(r->mismatch);
		assert_false(r->state.valid);
		assert_memory_equal(&r->id, &rules[i].id, sizeof(r->id));
		if (i == 9) {
			assert_int_equal(r->error, -ENODEV);
			assert_string_equal(r->ext.msg, "Cannot find specified netdevice");
			assert_int_equal(r->ext.off, 20);
		} else if (i == 11) {
			assert_int_equal(r->error, -EINVAL);
			assert_string_equal(r->ext.msg, "fake: chain 999 is not allowed");
		} else if (!rules[i].id.handle || !rules[i].id.prio) {
			const char *what = !rules[i].id.handle && !rules[i].id.prio
			                       ? "handle and prio"
			                   : !rules[i].id.handle ? "handle"
			                                         : "prio";
			char want[NLC_EXTACK_MSG_MAX];

			snprintf(
			    want, sizeof(want),
			    "replace without echo needs the rule's %s (the kernel's choice would "
			    "not be reported)",
			    what);
			assert_int_equal(r->error, -EINVAL);
			assert_string_equal(r->ext.msg, want);
		} else {
			assert_int_equal(r->error, 0);
			assert_string_equal(r->ext.msg, "");
		}
	}
	/* ACKs only: the window follows NLC_REPLY_COST_ACK (64 here), up to NLC_WINDOW_MAX; 2x the
	 * echo window */
	assert_int_equal(f->k.max_outstanding, sent < NLC_WINDOW_MAX ? sent : NLC_WINDOW_MAX);
	assert_true(f->k.max_outstanding > 256 * 1024 / 2 / NLC_REPLY_COST_ECHO);
	assert_true(f->k.max_per_send > 1);

	/* the handle the caller chose is the one on the wire */
	assert_int_equal(nlc_tc_replace_batch_noecho(f->s, &rules[13], 1, res, NULL), 0);
	assert_int_equal(f->last_handle, 500);
	assert_int_equal(f->echo_requests, 0);
	free(rules);
}

static void test_delete_batch(void **state)
{
	struct tc_fixture *f = *state;
	struct tc_rule *rules = calloc(N_RULES, sizeof(*rules));
	struct nlc_tc_result res[N_RULES];
	int want_failed = 0;

	make_rules(rules, N_RULES);
	for (int i = 0; i < N_RULES; i++)
		want_failed += rules[i].id.handle == 0;
	assert_int_equal(nlc_tc_delete_batch(f->s, rules, N_RULES, res, NULL), want_failed);
	for (int i = 0; i < N_RULES; i++) {
		if (rules[i].id.handle) {
			assert_int_equal(res[i].error, 0);
		} else {
			assert_int_equal(res[i].error, -ENOENT);
			assert_string_equal(res[i].ext.msg,
			                    "Filter with specified priority/protocol not found");
		}
		assert_false(res[i].echoed);
	}
	assert_int_equal(nlc_tc_delete(f->s, &rules[1], NULL), 0);
	free(rules);
}

/* More deletes than one chunk of the batch (TC_RUN_CHUNK, 4096): results land at the request's
 * own index in both chunks, and the count of failures spans them. */
static void test_delete_batch_chunks(void **state)
{
	enum { N = 4096 + 7 };
	struct tc_fixture *f = *state;
	struct tc_rule *rules = calloc(N, sizeof(*rules));
	struct nlc_tc_result *res = malloc(N * sizeof(*res));
	int want_failed = 0;

	assert_non_null(rules);
	assert_non_null(res);
	memset(res, 0x5a, N * sizeof(*res)); /* nothing of an earlier use may stay */
	for (size_t i = 0; i < N; i++) {
		struct tc_id id = {.ifindex = 5,
		                   .hook = TC_HOOK_INGRESS,
		                   .prio = 10,
		                   .protocol = ETH_P_IP,
		                   .handle = (uint32_t)i + 1};

		/* handle 0 is refused by the fake kernel: one in each chunk and the last */
		if (i == 3 || i == 4095 || i == 4096 || i == N - 1)
			id.handle = 0;
		want_failed += id.handle == 0;
		tc_rule_init(&rules[i], &id);
	}
	assert_int_equal(nlc_tc_delete_batch(f->s, rules, N, res, NULL), want_failed);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(res[i].id.handle, rules[i].id.handle);
		assert_false(res[i].echoed);
		assert_false(res[i].mismatch);
		assert_false(res[i].state.valid);
		if (rules[i].id.handle) {
			assert_int_equal(res[i].error, 0);
			assert_string_equal(res[i].ext.msg, "");
		} else {
			assert_int_equal(res[i].error, -ENOENT);
			assert_string_equal(res[i].ext.msg,
			                    "Filter with specified priority/protocol not found");
		}
	}
	free(res);
	free(rules);
}

static void test_get(void **state)
{
	struct tc_fixture *f = *state;
	struct tc_id id = {.ifindex = 5, .prio = 3, .protocol = ETH_P_IP, .handle = 42};
	struct nlc_tc_result res;
	struct tc_rule out;

	assert_int_equal(nlc_tc_get(f->s, &id, &out, &res), 0);
	assert_true(out.state.valid);
	assert_int_equal(out.state.packets, 420);
	assert_int_equal(res.state.packets, 420);
	assert_int_equal(out.id.handle, 42);
}

struct dump_seen {
	unsigned int ingress, egress, others, resets;
	int other_err;
};

static int seen_rule(void *ctx, const struct tc_rule *r)
{
	struct dump_seen *d = ctx;

	assert_int_not_equal(r->id.handle, 0);
	if (r->id.hook == TC_HOOK_EGRESS)
		d->egress++;
	else
		d->ingress++;
	return 0;
}

static int seen_other(void *ctx, const struct nlmsghdr *nlh, int err, const char *why)
{
	struct dump_seen *d = ctx;

	(void)nlh;
	(void)why;
	d->others++;
	d->other_err = err;
	return 0;
}

static void test_dump(void **state)
{
	struct tc_fixture *f = *state;
	struct dump_seen d = {0};
	struct nlc_tc_dump_cb cb = {.rule = seen_rule, .ctx = &d};
	struct nlc_tc_dump_stats st;

	assert_int_equal(nlc_tc_dump(f->s, 5, &cb, &st, NULL), 0);
	assert_int_equal(d.ingress, 2);
	assert_int_equal(d.egress, 1);
	assert_int_equal(st.rules, 3);
	assert_int_equal(st.skipped, 2); /* one non-flower filter per hook; headers not counted */

	cb.other = seen_other;
	d = (struct dump_seen){0};
	assert_int_equal(nlc_tc_dump(f->s, 5, &cb, &st, NULL), 0);
	assert_int_equal(d.others, 2);
	assert_int_equal(d.other_err, -ENOENT);
}

static int seen_brief(void *ctx, const struct tc_brief *b)
{
	struct dump_seen *d = ctx;

	assert_int_not_equal(b->id.handle, 0);
	assert_int_equal(b->id.chain,
	                 b->id.hook == TC_HOOK_EGRESS ? b->id.handle - 10 : b->id.handle);
	if (b->id.hook == TC_HOOK_EGRESS)
		d->egress++;
	else
		d->ingress++;
	return 0;
}

/* the terse dump: both hooks asked with TCA_DUMP_FLAGS_TERSE, the filters read briefly */
static void test_dump_brief(void **state)
{
	struct tc_fixture *f = *state;
	struct dump_seen d = {0};
	struct nlc_tc_brief_dump_cb cb = {.rule = seen_brief, .ctx = &d};
	struct nlc_tc_dump_stats st;

	assert_int_equal(nlc_tc_dump_brief(f->s, 5, &cb, &st, NULL), 0);
	assert_int_equal(f->dump_requests, 2);
	assert_int_equal(f->terse_requests, 2);
	assert_int_equal(d.ingress, 2);
	assert_int_equal(d.egress, 1);
	assert_int_equal(st.rules, 3);
	assert_int_equal(st.skipped, 2);

	/* a full dump asks without the flag */
	assert_int_equal(nlc_tc_dump(f->s, 5, &(struct nlc_tc_dump_cb){0}, &st, NULL), 0);
	assert_int_equal(f->dump_requests, 4);
	assert_int_equal(f->terse_requests, 2);
}

/* counters from terse dumps, one per device; a filter not dumped: -ENOENT; a device whose
 * dump fails, and a shared block's filter: asked with gets */
static void test_stats_dump(void **state)
{
	struct tc_fixture *f = *state;
	const struct tc_id ids[] = {
	    {.ifindex = 5, .hook = TC_HOOK_EGRESS, .chain = 1, .prio = 1, .handle = 11},
	    {.ifindex = 5, .chain = 2, .prio = 1, .protocol = ETH_P_IP, .handle = 2},
	    {.ifindex = 66, .chain = 0, .prio = 1, .protocol = ETH_P_IP, .handle = 7},
	    {.ifindex = 5, .chain = 1, .prio = 1, .protocol = ETH_P_IP, .handle = 1},
	    {.ifindex = 5, .chain = 1, .prio = 1, .protocol = ETH_P_IP, .handle = 3}, /* absent */
	    {.ifindex = 5,
	     .chain = 1,
	     .prio = 2,
	     .protocol = ETH_P_IP,
	     .handle = 1}, /* other prio */
	    {.block_index = 9, .prio = 1, .protocol = ETH_P_IP, .handle = 4},
	};
	struct nlc_tc_result res[7];

	assert_int_equal(nlc_tc_stats_dump(f->s, ids, 7, res), 2);
	/* device 5: one dump for both hooks; device 66: its refused dump, then one get; the
	 * block: one get */
	assert_int_equal(f->dump_requests, 3);
	assert_int_equal(f->terse_requests, 3);
	assert_int_equal(res[0].error, 0);
	assert_int_equal(res[0].state.packets, 1011);
	assert_int_equal(res[1].state.packets, 1002);
	assert_int_equal(res[3].state.packets, 1001);
	assert_true(res[3].state.valid);
	assert_int_equal(res[2].error, 0);
	assert_int_equal(res[2].state.packets, 70); /* the get's answer */
	assert_int_equal(res[6].error, 0);
	assert_int_equal(res[6].state.packets, 40);
	assert_int_equal(res[4].error, -ENOENT);
	assert_int_equal(res[5].error, -ENOENT);
	assert_false(res[4].state.valid);
	assert_int_equal(nlc_tc_stats_dump(f->s, ids, 0, res), 0);
	assert_int_equal(f->dump_requests, 3);
}

static void test_clsact(void **state)
{
	struct tc_fixture *f = *state;
	struct nlc_extack ext;

	assert_int_equal(nlc_tc_ensure_clsact(f->s, 1, &ext), 0); /* created */
	assert_int_equal(f->qdisc_requests, 1);
	assert_int_equal(nlc_tc_ensure_clsact(f->s, 2, &ext), 0); /* already there */
	assert_int_equal(f->qdisc_requests, 3);
	assert_int_equal(nlc_tc_ensure_clsact(f->s, 3, &ext), -EEXIST); /* another qdisc */
	assert_string_equal(ext.msg, "device 3 has a qdisc other than clsact");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_replace_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replace_noecho, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_batch_chunks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dump, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dump_brief, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stats_dump, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clsact, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
