/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft-tc-offload: the command line. Subcommands in the style of ip/tc/nft:
 * `nft-tc-offload [OPTIONS] COMMAND [ARGS]`; a unique prefix of a command is accepted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nft-tc-offload/version.h"

struct cli_cmd {
	const char *name;
	const char *args;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct cli_cmd commands[] = {
    {"help", "", "list the commands", cmd_help},
    {"version", "", "print the version", cmd_version},
    {"translate", "[OPTIONS] FILE.nft", "print the tc rules for a ruleset file", cmd_translate},
    {"apply", "[OPTIONS] FILE.nft", "install the static tc rules of a ruleset file", cmd_apply},
    {"flush", "[DEV...]", "remove every rule of ours (by cookie)", cmd_flush},
    {"run", "[--config FILE]", "run the daemon in the foreground", cmd_run},
    {"status", "[-j]", "the running daemon's state", cmd_status},
    {"flows", "[-j]", "the running daemon's connections", cmd_flows},
    {"explain", "[-j] SADDR DADDR [PROTO [SPORT DPORT]]", "why connections are (not) offloaded",
     cmd_explain},
    {"rules", "[-j]", "the running daemon's tc rules, with counters", cmd_rules},
    {"metrics", "[-j]", "the running daemon's Prometheus metrics", cmd_metrics},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "Usage: nft-tc-offload COMMAND [ARGS]\n\n"
	             "Turns nftables flowtable offload requests into tc flower rules.\n\n"
	             "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %-24s %s\n", commands[i].name, commands[i].args,
		        commands[i].summary);
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	printf("nft-tc-offload %s\n", NTO_VERSION);
	return 0;
}

/* Exact name first, then a unique prefix ("ver" for "version"), as ip(8) does. */
static const struct cli_cmd *find_command(const char *name)
{
	const struct cli_cmd *found = NULL;
	size_t len = strlen(name);

	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
		if (len > 0 && strncmp(commands[i].name, name, len) == 0) {
			if (found)
				return NULL;
			found = &commands[i];
		}
	}
	return found;
}

int main(int argc, char **argv)
{
	const struct cli_cmd *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);

	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr,
		        "nft-tc-offload: unknown or ambiguous command \"%s\"; try "
		        "\"nft-tc-offload help\"\n",
		        argv[1]);
		return 2;
	}
	return cmd->run(argc - 1, argv + 1);
}
