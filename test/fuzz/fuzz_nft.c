/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nft text front end: nft_parse_buffer() on the input; on success the canonical dumps (text
 * and JSON, with and without sources), then the planner (plan_build with the built-in profiles
 * and a fake resolver), its renderings, and an encode/decode round trip of every planned rule.
 *
 * Includes: the display name lies in a fresh empty temporary directory (one per process), so
 * relative includes and globs find nothing and fail cleanly. Inputs that could reach files
 * elsewhere (an absolute include path or "..") are skipped, so the fuzzer never reads the host's
 * files (or blocks on /dev/stdin).
 *
 * The plan options come from a hash of the input, so one input always takes the same path.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

#define MAX_DEVICES 64

struct resolver {
	char names[MAX_DEVICES][IFNAMSIZ];
	size_t n;
};

/* Pseudo ifindexes; the driver (hence the profile) from the name's prefix, like the plan tests.
 */
static int resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	struct resolver *r = ctx;
	size_t i;

	if (strncmp(ifname, "gone", 4) == 0)
		return -ENODEV;
	if (strncmp(ifname, "fail", 4) == 0)
		return -EIO;
	for (i = 0; i < r->n; i++)
		if (strncmp(r->names[i], ifname, IFNAMSIZ - 1) == 0)
			break;
	if (i == r->n) {
		if (r->n == MAX_DEVICES)
			return -ENOSPC;
		snprintf(r->names[r->n++], IFNAMSIZ, "%s", ifname);
	}
	memset(info, 0, sizeof(*info));
	info->ifindex = (uint32_t)i + 1;
	if (strncmp(ifname, "mlx", 3) == 0) {
		snprintf(info->driver, sizeof(info->driver), "mlx5_core");
		info->has_pci_id = true;
		info->pci_vendor = 0x15b3;
		info->pci_device = 0x101d;
	} else if (strncmp(ifname, "mtk", 3) == 0) {
		snprintf(info->driver, sizeof(info->driver), "mtk_soc_eth");
	} else if (strncmp(ifname, "air", 3) == 0) {
		snprintf(info->driver, sizeof(info->driver), "airoha_eth");
	} else if (strncmp(ifname, "veth", 4) == 0) {
		snprintf(info->driver, sizeof(info->driver), "veth");
	}
	info->present = info->driver[0] != '\0';
	return 0;
}

static bool unsafe_include(const uint8_t *data, size_t size)
{
	return memmem(data, size, "include", 7) &&
	       (memmem(data, size, "\"/", 2) || memmem(data, size, "..", 2));
}

static uint32_t hash(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	return h;
}

static void dumps(const struct nft_ruleset *rs)
{
	static const unsigned flags[] = {0, NFT_DUMP_NO_SOURCE};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		char *t = nft_ruleset_dump_text(rs, flags[i]);
		char *j = nft_ruleset_dump_json(rs, flags[i]);

		FUZZ_CHECK(t && j); /* only allocation failures may fail */
		free(t);
		free(j);
	}
}

/* A rule the planner made must survive tc's encoding when tc accepts it. */
static void round_trip(const struct tc_rule *r)
{
	static const enum tc_msg_op ops[] = {TC_MSG_NEW, TC_MSG_REPLACE};
	uint8_t buf[8192];
	char err[256];

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct tc_rule back;
		int n = tc_encode(r, ops[i], 0, 1, buf, sizeof(buf), err, sizeof(err));

		if (n <= 0)
			continue;
		FUZZ_CHECK(tc_decode(buf, (size_t)n, &back, err, sizeof(err)) == 0);
		FUZZ_CHECK(tc_rule_equal(r, &back));
	}
}

static void plan(const struct nft_ruleset *rs, const struct profile_set *profiles, uint32_t h)
{
	struct resolver res = {.n = 0};
	struct plan_opts o;
	struct plan *p = NULL;
	char err[256];
	int rc;

	plan_opts_init(&o);
	o.profiles = profiles;
	o.resolve = resolve;
	o.resolve_ctx = &res;
	/* 0: each device's own profile; else a forced one (or an unknown name) */
	if (h % (profiles->n + 2) > 0) {
		size_t k = h % (profiles->n + 2) - 1;

		o.force_profile = k < profiles->n ? profiles->v[k].name : "no-such-profile";
	}
	h /= (uint32_t)(profiles->n + 2);
	o.port_masks = h & 1;
	o.ct_nat = h & 2;
	o.zone_set = h & 4;
	o.zone = (uint16_t)(h >> 3);
	if (h & 0x100) {
		o.cookie_len = 16;
		memcpy(o.cookie, "nto\x01ownrruleid01", 16);
	}
	if (h & 0x200)
		o.max_rules = 1 + (h >> 10) % 8;

	rc = plan_build(rs, &o, &p, err, sizeof(err));
	if (rc != 0) {
		/* out of memory, or the unknown forced profile */
		FUZZ_CHECK(rc == -ENOMEM || (rc == -EINVAL && o.force_profile &&
		                             !profile_set_find(profiles, o.force_profile)));
		return;
	}
	for (size_t i = 0; i < p->n_flowtables; i++)
		for (size_t b = 0; b < p->flowtables[i].n_blocks; b++)
			for (size_t r = 0; r < p->flowtables[i].blocks[b].n_rules; r++)
				round_trip(&p->flowtables[i].blocks[b].rules[r]);

	for (int json = 0; json < 2; json++) {
		int c = 0;
		char *s = json ? plan_render_json(p, &c) : plan_render_text(p, &c);

		/* tc's syntax matches ports exactly: port masks may be unprintable */
		FUZZ_CHECK(s || c == -ENOMEM || o.port_masks);
		free(s);
	}
	plan_free(p);
}

static char tmpdir[] = "/tmp/nto-fuzz-nft.XXXXXX";

static void remove_tmpdir(void)
{
	rmdir(tmpdir);
}

/*
 * The input's display name: fuzz.nft in a fresh, empty directory made once per process (the
 * parser only reads, so it stays empty; a mkdtemp and rmdir per input cost a fifth of the time)
 * and removed at exit.
 */
static const char *display_name(void)
{
	static char name[sizeof(tmpdir) + 16];

	if (!name[0]) {
		FUZZ_CHECK(mkdtemp(tmpdir) != NULL);
		atexit(remove_tmpdir);
		snprintf(name, sizeof(name), "%s/fuzz.nft", tmpdir);
	}
	return name;
}

/*
 * The built-in profiles, parsed once per process: no input controls them, and parsing them for
 * every input took most of the time (about 400 inputs a second). plan_build only reads them.
 * Never freed (LeakSanitizer does not report memory still reachable from a static).
 */
static const struct profile_set *builtin_profiles(void)
{
	static struct profile_set profiles;
	static bool loaded;
	char err[PROFILE_ERR_MAX];

	if (!loaded) {
		profile_set_init(&profiles);
		FUZZ_CHECK(profile_set_load_builtin(&profiles, err, sizeof(err)) == 0);
		loaded = true;
	}
	return &profiles;
}

int nto_fuzz_nft(const uint8_t *data, size_t size)
{
	const char *name = display_name();
	struct nft_ruleset *rs = NULL;
	struct nft_error e = {0};
	bool with_ft = false;

	if (size > 65536 || unsafe_include(data, size))
		return 0;
	if (nft_parse_buffer((const char *)data, size, name, &rs, &e) != 0) {
		FUZZ_CHECK(e.message && e.formatted);
		nft_error_clear(&e);
		return 0;
	}
	dumps(rs);
	/* the planner only has work with a flowtable */
	for (size_t i = 0; i < rs->n_tables; i++)
		with_ft |= rs->tables[i].n_flowtables > 0;
	if (!with_ft) {
		nft_ruleset_free(rs);
		return 0;
	}
	plan(rs, builtin_profiles(), hash(data, size));
	nft_ruleset_free(rs);
	return 0;
}

#ifndef NTO_FUZZ_NO_ENTRY
NTO_FUZZ_ENTRY(nto_fuzz_nft)
#endif
