/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NLMSG_ERROR / NLMSG_DONE results and their extended ACK (extack) TLVs. */
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include "nft-tc-offload/nl.h"

static int extack_attr(const struct nlattr *a, void *data)
{
	struct nlc_extack *ext = data;
	uint16_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case NLMSGERR_ATTR_MSG: {
		const char *str = mnl_attr_get_payload(a);
		size_t n = strnlen(str, len);

		if (n >= sizeof(ext->msg))
			n = sizeof(ext->msg) - 1;
		memcpy(ext->msg, str, n);
		ext->msg[n] = '\0';
		break;
	}
	case NLMSGERR_ATTR_OFFS:
		if (len >= sizeof(uint32_t))
			ext->off = mnl_attr_get_u32(a);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

int nlc_msg_error(const struct nlmsghdr *nlh, struct nlc_extack *ext)
{
	size_t payload = nlh->nlmsg_len >= NLMSG_HDRLEN ? nlh->nlmsg_len - NLMSG_HDRLEN : 0;
	size_t tlv_off;
	int error;

	if (ext) { /* cleared = no message, no offset (not the whole buffer: once per ACK) */
		ext->msg[0] = '\0';
		ext->off = 0;
	}
	if (nlh->nlmsg_len < NLMSG_HDRLEN)
		return -EBADMSG;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		if (payload < sizeof(*e))
			return -EBADMSG;
		error = e->error;
		tlv_off = sizeof(*e);
		/* Without NLM_F_CAPPED the request's payload follows the header copy. */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > NLMSG_HDRLEN)
			tlv_off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	} else if (nlh->nlmsg_type == NLMSG_DONE) {
		/* Old kernels may end a dump with an empty NLMSG_DONE. */
		if (payload < sizeof(int))
			return 0;
		memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
		tlv_off = sizeof(int);
	} else {
		return -EBADMSG;
	}
	if (error > 0) /* the kernel sends negative errnos; be strict about garbage */
		return -EBADMSG;

	if (ext && (nlh->nlmsg_flags & NLM_F_ACK_TLVS) && MNL_ALIGN(tlv_off) <= payload)
		mnl_attr_parse(nlh, (unsigned int)tlv_off, extack_attr, ext);
	return error;
}
