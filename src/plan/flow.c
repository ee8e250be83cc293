/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow strategy's part of the static plan: no rules (they are built per connection by the
 * flow engine), but the templates of the two per-connection rules (original and reply, in the
 * layout of the kernel's nf_flow_table_offload.c) and the eligibility constraints, which stay
 * in struct plan_eligibility for the engine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan-internal.h"

static void cookie_hex(const struct plan_opts *o, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	if (!o->cookie_len)
		return;
	at += (size_t)snprintf(buf, len, " cookie ");
	for (size_t i = 0; i < o->cookie_len && at + 3 < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%02x", o->cookie[i]);
}

static void template(struct strv *t, const char *dir, const char *other, bool v6, bool tcp,
                     const char *skip_sw, const char *cookie)
{
	const char *ip = v6 ? "ip6" : "ip";
	const char *l4 = tcp ? "tcp" : "udp";

	strv_addf(t,
	          "filter add dev <%s.in> ingress protocol %s pref <prio> chain 0 handle <handle> "
	          "flower indev <%s.in> ip_proto %s src_ip <%s.saddr> dst_ip <%s.daddr> src_port "
	          "<%s.sport> dst_port <%s.dport>%s%s action pedit ex munge eth src set <egress "
	          "mac> munge eth dst set <neighbour mac> [munge %s src set <%s.daddr> munge %s "
	          "sport set <%s.dport>] [munge %s dst set <%s.saddr> munge %s dport set "
	          "<%s.sport>] munge %s pipe%s action mirred egress redirect dev <%s.out>%s",
	          dir, v6 ? "ipv6" : "ip", dir, l4, dir, dir, dir, dir,
	          tcp ? " tcp_flags 0x0/0x5" : "", skip_sw, ip, other, l4, other, ip, other, l4,
	          other, v6 ? "ip6 hoplimit add 0xff" : "ip ttl add 0xff",
	          v6 ? "" : (tcp ? " action csum iph tcp pipe" : " action csum iph udp pipe"), dir,
	          cookie);
}

int plan_flow_rule(struct plan_ctx *c, struct plan_flowtable *pf, struct plan_offload *po,
                   struct plan_block *blk, struct strv *notes)
{
	const struct plan_eligibility *el = &po->elig;
	struct strv t = {0}, devs = {0};
	size_t n_skip = 0, n_used = 0;
	char cookie[3 * TC_COOKIE_MAX + 16];
	const char *skip_sw;

	for (size_t d = 0; d < pf->n_devices; d++) {
		const struct plan_device *dev = &pf->devices[d];

		if (!dev->profile || !plan_spec_iif_ok(&el->match, dev->name))
			continue;
		n_used++;
		n_skip += dev->profile->skip_sw;
		strv_addf(&devs, "%s", dev->name);
	}
	if (n_used == 0) {
		strv_free(&devs);
		po->refused = true;
		po->reason = xasprintf("its iifname/iif matches select none of the flowtable's "
		                       "devices");
		return po->reason ? 0 : -ENOMEM;
	}
	skip_sw = n_skip == n_used ? " skip_sw" : n_skip ? " [skip_sw]" : "";
	cookie_hex(c->opts, cookie, sizeof(cookie));
	{
		char *list = strv_join(&devs, ", ");

		strv_addf(notes, "connections entering on: %s", list ? list : "?");
		free(list);
	}
	strv_free(&devs);
	for (int v6 = 0; v6 < 2; v6++) {
		if (!(el->match.families & (v6 ? PLAN_FAMILY_IPV6 : PLAN_FAMILY_IPV4)))
			continue;
		for (int tcp = 1; tcp >= 0; tcp--) {
			if (!(el->match.protos & (tcp ? PLAN_PROTO_TCP : PLAN_PROTO_UDP)))
				continue;
			template(&t, "orig", "reply", v6, tcp, skip_sw, cookie);
			template(&t, "reply", "orig", v6, tcp, skip_sw, cookie);
		}
	}
	strv_addf(notes,
	          "per connection (checked by the flow engine): TCP established and "
	          "assured, not FIN/RST; UDP; no helper, no seq-adjust; destination MAC from "
	          "a valid neighbour");
	if (t.oom || notes->oom) {
		strv_free(&t);
		return -ENOMEM;
	}
	blk->template_lines = t.v;
	blk->n_template_lines = t.n;
	return 0;
}
