/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the subcommands of the command line. */
#ifndef NTO_CLI_H
#define NTO_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"

#define CLI_MAX_DEVICES 4096

/* A ruleset file, planned. translate plans for devices that need not exist (pseudo ifindexes);
 * apply (real_devices) for the devices of this network namespace. */
struct cli_plan {
	bool real_devices; /* set by the caller before cli_plan_load() */
	bool json;         /* -j (translate only) */
	struct profile_set profiles;
	struct nft_ruleset *rs;
	struct plan *plan;
	char *names[CLI_MAX_DEVICES]; /* pseudo ifindex i + 1 */
	size_t n;
};

/*
 * Parses `[--profile NAME] [--profile-dir DIR] [--zone N] [-j] FILE.nft`, the file, the
 * profiles, and builds the plan. Returns 0; -1 after --help; or the exit status to return
 * (2: usage, parse or profile error, with the message printed; 1: other errors).
 */
int cli_plan_load(const char *cmd, int argc, char **argv, struct cli_plan *cp);
void cli_plan_free(struct cli_plan *cp);

/* How to name devices of the plan in messages and tc text. */
tc_ifname_fn cli_plan_ifname(const struct cli_plan *cp);
void *cli_plan_ifname_ctx(const struct cli_plan *cp);

int cmd_translate(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_metrics(int argc, char **argv);

#endif
