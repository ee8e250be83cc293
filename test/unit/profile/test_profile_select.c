/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Choosing a profile for a device: by driver, PCI id, ifname glob, priority, and overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nft-tc-offload/profile.h"

static int setup(void **state)
{
	static struct profile_set s;
	char err[PROFILE_ERR_MAX];

	profile_set_init(&s);
	if (profile_set_load_builtin(&s, err, sizeof(err)))
		return -1;
	*state = &s;
	return 0;
}

static int teardown(void **state)
{
	profile_set_free(*state);
	return 0;
}

static const struct profile *pick(const struct profile_set *s, const char *ifname,
                                  const char *driver, char *reason, size_t len)
{
	struct profile_device d = {.ifname = ifname, .driver = driver};

	return profile_select(s, &d, reason, len);
}

static void test_by_driver(void **state)
{
	const struct profile_set *s = *state;
	char reason[512];
	const struct profile *p;

	p = pick(s, "enp1s0f0np0", "mlx5_core", reason, sizeof(reason));
	assert_non_null(p);
	assert_string_equal(p->name, "mlx5");
	assert_string_equal(reason, "profile mlx5 (builtin:mlx5.conf) for enp1s0f0np0 (driver "
	                            "mlx5_core, no PCI id): matches driver mlx5_core, priority 0");

	p = pick(s, "eth0", "mtk_soc_eth", reason, sizeof(reason));
	assert_non_null(p);
	assert_string_equal(p->name, "mtk-ppe");

	p = pick(s, "eth1", "airoha_eth", reason, sizeof(reason));
	assert_non_null(p);
	assert_string_equal(p->name, "airoha-en7581");

	p = pick(s, "veth0", "veth", reason, sizeof(reason));
	assert_non_null(p);
	assert_string_equal(p->name, "generic-flow");
	assert_string_equal(reason, "profile generic-flow (builtin:generic-flow.conf) for veth0 "
	                            "(driver veth, no PCI id): matches driver veth, priority -100");
}

static void test_unknown_driver(void **state)
{
	const struct profile_set *s = *state;
	struct profile_device d = {.ifname = "eth0",
	                           .driver = "e1000e",
	                           .has_pci_id = true,
	                           .pci_vendor = 0x8086,
	                           .pci_device = 0x10d3};
	char reason[512];

	assert_null(profile_select(s, &d, reason, sizeof(reason)));
	assert_string_equal(reason,
	                    "no profile matches eth0 (driver e1000e, PCI 8086:10d3): none of the 5 "
	                    "loaded profiles lists this driver, PCI id or interface name (name a "
	                    "profile for the device, or add one)");

	/* virtio_net is not chosen automatically (generic-* only by name). */
	assert_null(pick(s, "ens3", "virtio_net", reason, sizeof(reason)));
	assert_null(pick(s, "lo", NULL, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "(driver none, no PCI id)"));
}

static void test_by_name(void **state)
{
	const struct profile_set *s = *state;

	assert_non_null(profile_set_find(s, "generic-ct"));
	assert_null(profile_set_find(s, "nope"));
}

static void add_text(struct profile_set *s, const char *text, bool replace)
{
	char err[PROFILE_ERR_MAX];
	struct profile p;

	if (profile_parse(text, "test.conf", &p, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(profile_set_add(s, &p, replace, err, sizeof(err)), 0);
}

#define BODY "[offload]\nkeys = indev\nactions = mirred\nmax_actions = 4\n[limits]\ncapacity = 0\n"

/* Priority, then the number of matched lists, then the name decide. */
static void test_precedence(void **state)
{
	struct profile_set s;
	struct profile_device d = {.ifname = "wan0",
	                           .driver = "mlx5_core",
	                           .has_pci_id = true,
	                           .pci_vendor = 0x15b3,
	                           .pci_device = 0x101d};
	char err[PROFILE_ERR_MAX], reason[512];
	const struct profile *p;

	profile_set_init(&s);
	assert_int_equal(profile_set_load_builtin(&s, err, sizeof(err)), 0);

	/* Same priority as mlx5, but matches on driver and PCI id: more specific wins. */
	add_text(&s,
	         "[profile]\nname = cx6dx\nstrategy = flow\n[match]\ndriver = mlx5_core\n"
	         "pci_id = 15b3:101d\n" BODY,
	         false);
	p = profile_select(&s, &d, reason, sizeof(reason));
	assert_non_null(p);
	assert_string_equal(p->name, "cx6dx");
	assert_string_equal(reason,
	                    "profile cx6dx (test.conf) for wan0 (driver mlx5_core, PCI 15b3:101d): "
	                    "matches driver mlx5_core, PCI id 15b3:101d, priority 0; chosen over "
	                    "mlx5 (priority 0) by matches on more lists; 2 profiles matched");

	/* An ifname glob with a higher priority beats both. */
	add_text(&s,
	         "[profile]\nname = wan\nstrategy = flow\n[match]\nifname = wan* uplink\n"
	         "priority = 10\n" BODY,
	         false);
	p = profile_select(&s, &d, reason, sizeof(reason));
	assert_non_null(p);
	assert_string_equal(p->name, "wan");
	assert_non_null(strstr(reason,
	                       "matches ifname wan0 (glob wan*), priority 10; chosen over "
	                       "cx6dx (priority 0) by higher priority; 3 profiles matched"));

	/* A PCI id with a device wildcard, on a device of another vendor: no match. */
	add_text(&s,
	         "[profile]\nname = any-intel\nstrategy = flow\n[match]\npci_id = 8086:*\n"
	         "priority = 100\n" BODY,
	         false);
	p = profile_select(&s, &d, reason, sizeof(reason));
	assert_string_equal(p->name, "wan");
	d.pci_vendor = 0x8086;
	d.driver = "ice";
	d.ifname = "eth9";
	p = profile_select(&s, &d, reason, sizeof(reason));
	assert_non_null(p);
	assert_string_equal(p->name, "any-intel");

	/* Equal rank: the first name wins, and the reason says so. */
	add_text(&s,
	         "[profile]\nname = aaa-intel\nstrategy = flow\n[match]\npci_id = 8086:*\n"
	         "priority = 100\n" BODY,
	         false);
	p = profile_select(&s, &d, reason, sizeof(reason));
	assert_string_equal(p->name, "aaa-intel");
	assert_non_null(strstr(reason, "chosen over any-intel (priority 100) by equal rank, first "
	                               "by name"));
	profile_set_free(&s);
}

/* An override (replace) changes what a driver selects. */
static void test_override(void **state)
{
	struct profile_set s;
	char err[PROFILE_ERR_MAX], reason[512];
	const struct profile *p;

	profile_set_init(&s);
	assert_int_equal(profile_set_load_builtin(&s, err, sizeof(err)), 0);
	/* Without replace, a second "mlx5" is a duplicate. */
	{
		struct profile q;

		assert_int_equal(profile_parse("[profile]\nname = mlx5\nstrategy = flow\n[match]\n"
		                               "driver = e1000e\n" BODY,
		                               "etc/mlx5.conf", &q, err, sizeof(err)),
		                 0);
		assert_int_equal(profile_set_add(&s, &q, false, err, sizeof(err)), -1);
		assert_string_equal(err, "etc/mlx5.conf:2: error: duplicate profile name 'mlx5' "
		                         "(first defined at builtin:mlx5.conf:7)");
		assert_int_equal(profile_set_add(&s, &q, true, err, sizeof(err)), 0);
	}
	assert_int_equal(s.n, 5);
	p = pick(&s, "eth0", "e1000e", reason, sizeof(reason));
	assert_non_null(p);
	assert_string_equal(p->name, "mlx5");
	assert_string_equal(p->origin, "etc/mlx5.conf");
	assert_null(pick(&s, "eth0", "mlx5_core", reason, sizeof(reason)));
	profile_set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_by_driver), cmocka_unit_test(test_unknown_driver),
	    cmocka_unit_test(test_by_name),   cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_override),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
