/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hardware profile parser: profile_parse() on the input as text. On success the profile
 * joins a set with the built-in ones (replacing one of the same name), is selected for a few
 * devices, and checks a few rules (a chain-0 ct rule, a flow-strategy rule with NAT pedits).
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <string.h>

#include "fuzz.h"
#include "nft-tc-offload/profile.h"

static void sample_rules(struct tc_rule r[2])
{
	struct tc_id id = {.ifindex = 2, .prio = 0x1000, .protocol = ETH_P_IP};
	struct tc_pedit_op op = {.field = TC_PEDIT_IP4_SRC};
	struct tc_action *a;

	tc_rule_init(&r[0], &id);
	r[0].flower.key.ip_proto = 6;
	r[0].flower.mask.ip_proto = 0xff;
	r[0].flower.key.ct_state = 0;
	r[0].flower.mask.ct_state = TC_CT_TRACKED;
	a = tc_rule_add_action(&r[0], TC_ACTION_CT);
	a->verdict = TC_VERDICT_GOTO_CHAIN;
	a->goto_chain = 1;

	id.prio = 0x2000;
	id.protocol = ETH_P_IPV6;
	tc_rule_init(&r[1], &id);
	r[1].flower.key.ip_proto = 17;
	r[1].flower.mask.ip_proto = 0xff;
	r[1].flower.key.dst_port = 53;
	r[1].flower.mask.dst_port = 0xffff;
	snprintf(r[1].flower.key.indev, IFNAMSIZ, "eth0");
	snprintf(r[1].flower.mask.indev, IFNAMSIZ, "eth0");
	r[1].flower.skip_sw = true;
	a = tc_rule_add_action(&r[1], TC_ACTION_PEDIT);
	tc_pedit_add(&a->pedit, &op);
	a = tc_rule_add_action(&r[1], TC_ACTION_VLAN);
	a = tc_rule_add_action(&r[1], TC_ACTION_MIRRED);
	a->verdict = TC_VERDICT_STOLEN;
	a->mirred.op = TC_MIRRED_EGRESS_REDIRECT;
	a->mirred.ifindex = 3;
}

int nto_fuzz_profile(const uint8_t *data, size_t size)
{
	static const struct profile_device devs[] = {
	    {.ifname = "eth0",
	     .driver = "mlx5_core",
	     .has_pci_id = true,
	     .pci_vendor = 0x15b3,
	     .pci_device = 0x101d},
	    {.ifname = "lan1", .driver = "mtk_soc_eth"},
	    {.ifname = "veth0", .driver = NULL},
	    {.ifname = NULL, .driver = "airoha_eth"},
	};
	struct profile_set set;
	struct profile *p;
	struct tc_rule r[2];
	char err[PROFILE_ERR_MAX], reason[512];
	char *text;

	if (size > 65536)
		return 0;
	text = fuzz_strdup(data, size);
	p = malloc(sizeof(*p));
	if (!text || !p) {
		free(text);
		free(p);
		return 0;
	}
	err[0] = '\0';
	if (profile_parse(text, "fuzz.conf", p, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
		goto out;
	}
	FUZZ_CHECK(profile_equal(p, p));
	(void)profile_strategy_name(p->strategy);
	profile_set_init(&set);
	if (profile_set_load_builtin(&set, err, sizeof(err)) == 0 &&
	    profile_set_add(&set, p, true, err, sizeof(err)) == 0) {
		const struct profile *q = profile_set_find(&set, p->name);

		FUZZ_CHECK(q && profile_equal(p, q));
		for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
			(void)profile_select(&set, &devs[i], reason, sizeof(reason));
	}
	profile_set_free(&set);
	sample_rules(r);
	for (int i = 0; i < 2; i++) {
		(void)profile_check_rule(p, &r[i], reason, sizeof(reason));
		FUZZ_CHECK(memchr(reason, '\0', sizeof(reason)) != NULL);
	}
	(void)profile_check_pppoe(p, reason, sizeof(reason));
out:
	free(p);
	free(text);
	return 0;
}

#ifndef NTO_FUZZ_NO_ENTRY
NTO_FUZZ_ENTRY(nto_fuzz_profile)
#endif
