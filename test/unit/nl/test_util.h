/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small requests for the nl tests: an RTM_GETLINK carrying an index (and padding). */
#ifndef NTO_TEST_NL_UTIL_H
#define NTO_TEST_NL_UTIL_H

#include <stdint.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

struct treq {
	int32_t idx;    /* goes into ifi_index */
	size_t extra;   /* payload bytes after the ifinfomsg */
	int fail;       /* encode returns this when non-zero */
	uint16_t type;  /* 0 = RTM_GETLINK */
	uint16_t flags; /* besides NLM_F_REQUEST */
	unsigned int ifi_flags;
	unsigned int replies; /* reply() calls */
	int32_t reply_idx;    /* ifi_index of the last reply */
	int reply_ret;        /* what reply() returns */
};

static inline int treq_encode(void *ctx, uint32_t seq, void *buf, size_t len)
{
	struct treq *t = ctx;
	size_t need = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg)) + MNL_ALIGN(t->extra);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (t->fail)
		return t->fail;
	if (len < need)
		return 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = t->type ? t->type : RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | t->flags;
	nlh->nlmsg_seq = seq;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = t->idx;
	ifm->ifi_flags = t->ifi_flags;
	if (t->extra)
		memset(mnl_nlmsg_put_extra_header(nlh, t->extra), 0xab, t->extra);
	return (int)nlh->nlmsg_len;
}

static inline int treq_reply(void *ctx, const struct nlmsghdr *nlh)
{
	struct treq *t = ctx;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	t->replies++;
	t->reply_idx = ifm->ifi_index;
	return t->reply_ret;
}

static inline int32_t req_idx(const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	return ifm->ifi_index;
}

#endif
