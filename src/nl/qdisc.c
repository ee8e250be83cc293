/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The clsact qdisc, and the plain struct tcmsg requests (qdisc requests, filter dump requests). */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "nl_priv.h"

int nlc_tcmsg_encode(void *ctx, uint32_t seq, void *buf, size_t len)
{
	const struct nlc_tcmsg_req *q = ctx;
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*tcm)))
		return 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = q->type;
	nlh->nlmsg_flags = NLM_F_REQUEST | q->flags;
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = (int)q->ifindex;
	tcm->tcm_handle = q->handle;
	tcm->tcm_parent = q->parent;
	if (q->kind && !mnl_attr_put_strz_check(nlh, len, TCA_KIND, q->kind))
		return 0;
	if (q->dump_flags) {
		struct nla_bitfield32 f = {.value = q->dump_flags, .selector = q->dump_flags};

		if (!mnl_attr_put_check(nlh, len, TCA_DUMP_FLAGS, sizeof(f), &f))
			return 0;
	}
	return (int)nlh->nlmsg_len;
}

static int run_one(struct nlc_sock *s, const struct nlc_tcmsg_req *q, struct nlc_extack *ext)
{
	struct nlc_op op = {.encode = nlc_tcmsg_encode, .ctx = (void *)q};

	nlc_batch(s, &op, 1, NULL);
	if (ext)
		*ext = op.ext;
	return op.error;
}

int nlc_tc_ensure_clsact(struct nlc_sock *s, uint32_t ifindex, struct nlc_extack *ext)
{
	struct nlc_tcmsg_req q = {
	    .type = RTM_NEWQDISC,
	    .flags = NLM_F_CREATE | NLM_F_EXCL,
	    .ifindex = ifindex,
	    .handle = TC_H_MAKE(TC_H_CLSACT, 0),
	    .parent = TC_H_CLSACT,
	    .kind = "clsact",
	};
	int err = run_one(s, &q, ext);

	if (err != -EEXIST)
		return err;
	/* Something holds the ingress slot: the kernel checks the kind named in a get. */
	q.type = RTM_GETQDISC;
	q.flags = 0;
	q.handle = 0;
	err = run_one(s, &q, ext);
	if (err == -EINVAL && ext)
		snprintf(ext->msg, sizeof(ext->msg), "device %u has a qdisc other than clsact",
		         ifindex);
	return err ? -EEXIST : 0;
}
