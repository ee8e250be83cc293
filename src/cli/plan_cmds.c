/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `nft-tc-offload translate [--profile NAME] [--profile-dir DIR] [--zone N] [-j] FILE.nft`:
 * parses a ruleset file, plans it and prints the tc rules as `tc -batch` text (or JSON).
 * Touches nothing: devices that exist are looked up in sysfs (driver, PCI id) for profile
 * selection; every device gets a pseudo ifindex, mapped back to its name when printing.
 *
 * Exit status: 0 when the translation ran (some flowtables may not be offloaded), 2 on a usage
 * or parse error, 1 on other errors.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <net/if.h>

#include "cli.h"
#include "nft-tc-offload/install.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"

static bool safe_ifname(const char *n)
{
	return n[0] && strlen(n) < IFNAMSIZ && !strchr(n, '/') && strcmp(n, ".") != 0 &&
	       strcmp(n, "..") != 0;
}

static bool read_hex16(const char *path, uint16_t *out)
{
	FILE *f = fopen(path, "re");
	unsigned long v;
	char buf[32];
	char *end;
	bool ok = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		errno = 0;
		v = strtoul(buf, &end, 16);
		ok = errno == 0 && end != buf && v <= 0xffff;
		*out = (uint16_t)v;
	}
	fclose(f);
	return ok;
}

/* What sysfs says about an existing device: driver (basename of device/driver) and PCI id. */
static void sysfs_device(const char *ifname, struct plan_device_info *info)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	if (stat(path, &st) != 0)
		return;
	info->present = true;
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/driver", ifname);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		const char *base;

		link[n] = '\0';
		base = strrchr(link, '/');
		snprintf(info->driver, sizeof(info->driver), "%.*s", (int)sizeof(info->driver) - 1,
		         base ? base + 1 : link);
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/vendor", ifname);
	if (read_hex16(path, &info->pci_vendor)) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/device/device", ifname);
		info->has_pci_id = read_hex16(path, &info->pci_device);
	}
}

/* translate: a pseudo ifindex per name (devices need not exist); apply: the real one. */
static int resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	struct cli_plan *r = ctx;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->names[i], ifname) == 0)
			break;
	if (i == r->n) {
		if (r->n == CLI_MAX_DEVICES)
			return -ENOSPC;
		r->names[r->n] = strdup(ifname);
		if (!r->names[r->n])
			return -ENOMEM;
		r->n++;
	}
	memset(info, 0, sizeof(*info));
	info->ifindex = (uint32_t)i + 1;
	if (r->real_devices) {
		info->ifindex = if_nametoindex(ifname);
		if (!info->ifindex)
			return -ENODEV;
	}
	if (safe_ifname(ifname))
		sysfs_device(ifname, info);
	return 0;
}

/* plan_ifname for real devices: the kernel's names. */
static const char *real_ifname(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	return if_indextoname(ifindex, buf);
}

tc_ifname_fn cli_plan_ifname(const struct cli_plan *cp)
{
	return cp->real_devices ? real_ifname : plan_ifname;
}

void *cli_plan_ifname_ctx(const struct cli_plan *cp)
{
	return cp->real_devices ? NULL : cp->plan;
}

static void usage(FILE *out, const char *cmd)
{
	fprintf(
	    out,
	    "Usage: nft-tc-offload %s [--profile NAME] [--profile-dir DIR] [--zone N]%s FILE.nft\n",
	    cmd, strcmp(cmd, "translate") == 0 ? " [-j]" : "");
}

int cli_plan_load(const char *cmd, int argc, char **argv, struct cli_plan *cp)
{
	static const struct option longopts[] = {
	    {"profile", required_argument, NULL, 'p'},
	    {"profile-dir", required_argument, NULL, 'd'},
	    {"zone", required_argument, NULL, 'z'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct nft_error nerr;
	struct plan_opts opts;
	const char *profile_dir = NULL;
	char err[PROFILE_ERR_MAX];
	int c;

	profile_set_init(&cp->profiles);
	plan_opts_init(&opts);
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:d:z:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opts.force_profile = optarg;
			break;
		case 'd':
			profile_dir = optarg;
			break;
		case 'z': {
			char *end;
			unsigned long z;

			errno = 0;
			z = strtoul(optarg, &end, 0);
			if (errno || *end || end == optarg || z > 0xffff) {
				fprintf(stderr, "%s: invalid zone \"%s\" (0-65535)\n", cmd, optarg);
				return 2;
			}
			opts.zone = (uint16_t)z;
			opts.zone_set = true;
			break;
		}
		case 'j':
			if (cp->real_devices) {
				usage(stderr, cmd);
				return 2;
			}
			cp->json = true;
			break;
		case 'h':
			usage(stdout, cmd);
			return -1;
		default:
			usage(stderr, cmd);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr, cmd);
		return 2;
	}

	memset(&nerr, 0, sizeof(nerr));
	if (nft_parse_file(argv[optind], &cp->rs, &nerr) != 0) {
		if (nerr.formatted)
			fputs(nerr.formatted, stderr);
		else
			fprintf(stderr, "%s: %s: %s\n", cmd, argv[optind],
			        nerr.message ? nerr.message : "cannot parse");
		nft_error_clear(&nerr);
		return 2;
	}
	if (profile_set_load_builtin(&cp->profiles, err, sizeof(err)) != 0 ||
	    (profile_dir &&
	     profile_set_load_dir(&cp->profiles, profile_dir, err, sizeof(err)) != 0)) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return 2;
	}
	opts.profiles = &cp->profiles;
	opts.resolve = resolve;
	opts.resolve_ctx = cp;
	if (plan_build(cp->rs, &opts, &cp->plan, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return 1;
	}
	return 0;
}

void cli_plan_free(struct cli_plan *cp)
{
	plan_free(cp->plan);
	profile_set_free(&cp->profiles);
	nft_ruleset_free(cp->rs);
	for (size_t i = 0; i < cp->n; i++)
		free(cp->names[i]);
	memset(cp, 0, sizeof(*cp));
}

int cmd_translate(int argc, char **argv)
{
	struct cli_plan cp;
	char *text = NULL;
	int rc, c;

	memset(&cp, 0, sizeof(cp));
	rc = cli_plan_load("translate", argc, argv, &cp);
	if (rc != 0)
		goto out;
	/* The very rules apply installs, cookie included, so the text reviews exactly that. */
	install_mark_plan(cp.plan);
	text = cp.json ? plan_render_json(cp.plan, &c) : plan_render_text(cp.plan, &c);
	if (!text) {
		fprintf(stderr, "translate: cannot render the plan: %s\n", strerror(-c));
		rc = 1;
		goto out;
	}
	fputs(text, stdout);
	if (cp.json)
		fputc('\n', stdout);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	free(text);
	cli_plan_free(&cp);
	return rc < 0 ? 0 : rc;
}
