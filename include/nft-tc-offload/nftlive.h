/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live ruleset as text. libnftables (the library behind nft(8), linked, not executed)
 * lists the running ruleset in the same syntax `nft -f` reads, so the one nft text parser
 * serves files and the kernel alike, and both produce the same model by construction.
 */
#ifndef NFT_TC_OFFLOAD_NFTLIVE_H
#define NFT_TC_OFFLOAD_NFTLIVE_H

#include <stddef.h>

/* Returns the text of `list ruleset` (caller frees), or NULL with the reason in err. */
char *nft_live_ruleset_text(char *err, size_t errlen);

#endif
