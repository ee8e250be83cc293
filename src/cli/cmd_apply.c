/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `nft-tc-offload apply [--profile NAME] [--profile-dir DIR] [--zone N] FILE.nft`: installs the
 * static plan of a ruleset (like `nft -f`: one shot). Our earlier rules on the plan's devices
 * are replaced; a refused rule rolls the whole apply back and the kernel's reason is printed.
 *
 * `nft-tc-offload flush [DEV...]`: removes every rule we own (by cookie) on the given devices,
 * or on all devices; operators' own filters stay.
 *
 * Exit status: 0 done, 1 the kernel refused (nothing changed), 2 usage or input error (nothing
 * touched).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nft-tc-offload/install.h"
#include "nft-tc-offload/nl.h"

/* Netlink replies for big batches: a buffer wide enough to keep many requests in flight. */
#define CLI_RCVBUF (8u << 20)

static int open_rtnl(const char *cmd, struct nlc_sock **s)
{
	struct nlc_sock_opts o = {.rcvbuf = CLI_RCVBUF};
	int ret = nlc_open(s, NETLINK_ROUTE, &o);

	if (ret < 0)
		fprintf(stderr, "%s: cannot open rtnetlink: %s\n", cmd, strerror(-ret));
	return ret;
}

/* The distinct devices that get rules. */
static size_t plan_ifindexes(const struct plan *p, uint32_t *out, size_t cap)
{
	size_t n = 0;

	for (size_t f = 0; f < p->n_flowtables; f++) {
		for (size_t b = 0; b < p->flowtables[f].n_blocks; b++) {
			const struct plan_block *blk = &p->flowtables[f].blocks[b];

			for (size_t i = 0; i < blk->n_rules; i++) {
				uint32_t ifi = blk->rules[i].id.ifindex;
				size_t j = 0;

				while (j < n && out[j] != ifi)
					j++;
				if (j == n && n < cap)
					out[n++] = ifi;
			}
		}
	}
	return n;
}

/* Flowtables with nothing offloaded are worth a line on stderr: apply is not silent about it. */
static void report_unplanned(const struct plan *p)
{
	for (size_t f = 0; f < p->n_flowtables; f++) {
		const struct plan_flowtable *pf = &p->flowtables[f];

		if (pf->reason)
			fprintf(stderr, "apply: table %s %s, flowtable %s: not offloaded: %s\n",
			        nft_family_name(pf->table->family), pf->table->name,
			        pf->flowtable->name, pf->reason);
	}
}

int cmd_apply(int argc, char **argv)
{
	struct cli_plan *cp = calloc(1, sizeof(*cp));
	uint32_t devs[CLI_MAX_DEVICES];
	struct install_report rep;
	struct nlc_sock *s = NULL;
	char err[512];
	size_t n_devs;
	long removed;
	int rc;

	if (!cp)
		return 1;
	cp->real_devices = true;
	rc = cli_plan_load("apply", argc, argv, cp);
	if (rc != 0)
		goto out;
	install_mark_plan(cp->plan);
	report_unplanned(cp->plan);
	rc = 1;
	if (open_rtnl("apply", &s) < 0)
		goto out;
	n_devs = plan_ifindexes(cp->plan, devs, CLI_MAX_DEVICES);
	removed = n_devs ? flush_owned(s, devs, n_devs, err, sizeof(err)) : 0;
	if (removed < 0) {
		fprintf(stderr, "apply: %s\n", err);
		goto out;
	}
	if (install_plan(s, cp->plan, cli_plan_ifname(cp), cli_plan_ifname_ctx(cp), &rep) < 0) {
		fprintf(stderr, "apply: the kernel refused %zu rule%s, nothing applied: %s\n",
		        rep.failed, rep.failed == 1 ? "" : "s", rep.first_error);
		goto out;
	}
	printf("apply: %zu rules on %zu devices (%ld earlier rules of ours replaced)\n",
	       rep.installed, rep.devices, removed);
	rc = 0;
out:
	if (s)
		nlc_close(s);
	cli_plan_free(cp);
	free(cp);
	return rc < 0 ? 0 : rc;
}

int cmd_flush(int argc, char **argv)
{
	uint32_t devs[CLI_MAX_DEVICES];
	struct nlc_sock *s;
	size_t n = 0;
	char err[512];
	long removed;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("Usage: nft-tc-offload flush [DEV...]\n");
			return 0;
		}
		if (n == CLI_MAX_DEVICES)
			break;
		devs[n] = if_nametoindex(argv[i]);
		if (!devs[n]) {
			fprintf(stderr, "flush: no such device: %s\n", argv[i]);
			return 2;
		}
		n++;
	}
	if (open_rtnl("flush", &s) < 0)
		return 1;
	removed = flush_owned(s, devs, n, err, sizeof(err));
	nlc_close(s);
	if (removed < 0) {
		fprintf(stderr, "flush: %s\n", err);
		return 1;
	}
	printf("flush: %ld rules removed\n", removed);
	return 0;
}
