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

#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"

int cmd_translate(int argc, char **argv);

#define MAX_DEVICES 4096

struct resolver {
	char *names[MAX_DEVICES];
	size_t n;
};

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

static int resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	struct resolver *r = ctx;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->names[i], ifname) == 0)
			break;
	if (i == r->n) {
		if (r->n == MAX_DEVICES)
			return -ENOSPC;
		r->names[r->n] = strdup(ifname);
		if (!r->names[r->n])
			return -ENOMEM;
		r->n++;
	}
	memset(info, 0, sizeof(*info));
	info->ifindex = (uint32_t)i + 1;
	if (safe_ifname(ifname))
		sysfs_device(ifname, info);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: nft-tc-offload translate [--profile NAME] [--profile-dir DIR] "
	             "[--zone N] [-j] FILE.nft\n");
}

int cmd_translate(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"profile", required_argument, NULL, 'p'},
	    {"profile-dir", required_argument, NULL, 'd'},
	    {"zone", required_argument, NULL, 'z'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct resolver res = {.n = 0};
	struct profile_set profiles;
	struct nft_ruleset *rs = NULL;
	struct nft_error nerr;
	struct plan_opts opts;
	struct plan *plan = NULL;
	const char *profile_dir = NULL;
	char err[PROFILE_ERR_MAX];
	bool json = false;
	char *text = NULL;
	int c, rc = 1;

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
				fprintf(stderr, "translate: invalid zone \"%s\" (0-65535)\n",
				        optarg);
				return 2;
			}
			opts.zone = (uint16_t)z;
			opts.zone_set = true;
			break;
		}
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}

	memset(&nerr, 0, sizeof(nerr));
	if (nft_parse_file(argv[optind], &rs, &nerr) != 0) {
		if (nerr.formatted)
			fputs(nerr.formatted, stderr);
		else
			fprintf(stderr, "translate: %s: %s\n", argv[optind],
			        nerr.message ? nerr.message : "cannot parse");
		nft_error_clear(&nerr);
		return 2;
	}

	profile_set_init(&profiles);
	if (profile_set_load_builtin(&profiles, err, sizeof(err)) != 0 ||
	    (profile_dir && profile_set_load_dir(&profiles, profile_dir, err, sizeof(err)) != 0)) {
		fprintf(stderr, "translate: %s\n", err);
		goto out;
	}
	opts.profiles = &profiles;
	opts.resolve = resolve;
	opts.resolve_ctx = &res;
	if (plan_build(rs, &opts, &plan, err, sizeof(err)) != 0) {
		fprintf(stderr, "translate: %s\n", err);
		goto out;
	}
	text = json ? plan_render_json(plan, &c) : plan_render_text(plan, &c);
	if (!text) {
		fprintf(stderr, "translate: cannot render the plan: %s\n", strerror(-c));
		goto out;
	}
	fputs(text, stdout);
	if (json)
		fputc('\n', stdout);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	free(text);
	plan_free(plan);
	profile_set_free(&profiles);
	nft_ruleset_free(rs);
	for (size_t i = 0; i < res.n; i++)
		free(res.names[i]);
	return rc;
}
