/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The running ruleset's text through libnftables. */
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft-tc-offload/nftlive.h"

char *nft_live_ruleset_text(char *err, size_t errlen)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	char *text = NULL;

	if (!nft) {
		snprintf(err, errlen, "libnftables: cannot create a context");
		return NULL;
	}
	if (nft_ctx_buffer_output(nft) || nft_ctx_buffer_error(nft)) {
		snprintf(err, errlen, "libnftables: cannot buffer output");
		goto out;
	}
	/* Stateless: counters' values would make two listings of one ruleset differ. */
	nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_STATELESS);
	if (nft_run_cmd_from_buffer(nft, "list ruleset") != 0) {
		const char *msg = nft_ctx_get_error_buffer(nft);
		size_t len = msg ? strcspn(msg, "\n") : 0;

		snprintf(err, errlen, "cannot list the ruleset: %.*s", (int)len,
		         len ? msg : "unknown error");
		goto out;
	}
	text = strdup(nft_ctx_get_output_buffer(nft));
	if (!text)
		snprintf(err, errlen, "out of memory");
out:
	nft_ctx_free(nft);
	return text;
}
