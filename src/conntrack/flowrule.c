/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-connection rules in the kernel flowtable's layout (see flowrule.h). The order of the
 * actions follows nf_flow_rule_route_ipv4/ipv6() of net/netfilter/nf_flow_table_offload.c:
 * Ethernet source, Ethernet destination, VLAN pop (ingress tags), VLAN push (egress tags),
 * SNAT, DNAT, checksum, redirect. The TTL decrement (optional) goes after the NAT rewrites,
 * in the same pedit as they are.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nft-tc-offload/flowrule.h"

static bool addr_eq(int family, const union tc_addr *a, const union tc_addr *b)
{
	if (family == AF_INET)
		return a->v4.s_addr == b->v4.s_addr;
	return memcmp(&a->v6, &b->v6, sizeof(a->v6)) == 0;
}

unsigned flowrule_nat(const struct flow_conn *c)
{
	unsigned nat = 0;
	int f = c->orig.family;

	if (!addr_eq(f, &c->orig.src, &c->reply.dst) || c->orig.sport != c->reply.dport)
		nat |= FLOW_NAT_SRC;
	if (!addr_eq(f, &c->orig.dst, &c->reply.src) || c->orig.dport != c->reply.sport)
		nat |= FLOW_NAT_DST;
	return nat;
}

uint16_t flowrule_protocol(int family, uint16_t vlan_proto)
{
	if (vlan_proto)
		return vlan_proto;
	return family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP;
}

uint16_t flowrule_prio(const struct flowrule_opts *o, int family, uint16_t vlan_proto)
{
	if (vlan_proto == ETH_P_8021AD)
		return (uint16_t)(o->prio + FLOWRULE_PRIO_8021AD);
	if (vlan_proto == ETH_P_8021Q)
		return (uint16_t)(o->prio + FLOWRULE_PRIO_8021Q);
	return (uint16_t)(o->prio + (family == AF_INET6 ? FLOWRULE_PRIO_V6 : 0));
}

static int fail(char *why, size_t len, const char *msg)
{
	if (why && len)
		snprintf(why, len, "%s", msg);
	return -EINVAL;
}

static bool pedit(struct tc_act_pedit *p, enum tc_pedit_field f, enum tc_pedit_cmd cmd,
                  const void *val, size_t n)
{
	struct tc_pedit_op op = {.field = f, .cmd = cmd};

	memcpy(&op.val, val, n);
	return tc_pedit_add(p, &op);
}

static bool pedit_port(struct tc_act_pedit *p, enum tc_pedit_field f, uint16_t port)
{
	struct tc_pedit_op op = {.field = f, .cmd = TC_PEDIT_SET};

	op.val.port = port;
	return tc_pedit_add(p, &op);
}

static bool valid_vlans(const struct flow_vlan *v, uint8_t n)
{
	if (n > FLOW_VLAN_MAX)
		return false;
	for (uint8_t i = 0; i < n; i++)
		if ((v[i].proto != ETH_P_8021Q && v[i].proto != ETH_P_8021AD) || v[i].id > 0xfff)
			return false;
	return true;
}

/* The NAT rewrites of one direction's rule, as the kernel does them: in the original
 * direction SNAT sets the source to reply.dst / reply.dport and DNAT the destination to
 * reply.src / reply.sport; the reply direction undoes them with the original tuple's values
 * (its destination back to orig.src / orig.sport, its source back to orig.dst / orig.dport). */
static bool add_nat(struct tc_act_pedit *p, const struct flow_conn *c, enum flow_dir dir)
{
	bool v6 = c->orig.family == AF_INET6, tcp = c->orig.proto == IPPROTO_TCP;
	enum tc_pedit_field src = v6 ? TC_PEDIT_IP6_SRC : TC_PEDIT_IP4_SRC;
	enum tc_pedit_field dst = v6 ? TC_PEDIT_IP6_DST : TC_PEDIT_IP4_DST;
	enum tc_pedit_field sport = tcp ? TC_PEDIT_TCP_SPORT : TC_PEDIT_UDP_SPORT;
	enum tc_pedit_field dport = tcp ? TC_PEDIT_TCP_DPORT : TC_PEDIT_UDP_DPORT;
	unsigned nat = flowrule_nat(c);
	size_t alen = v6 ? sizeof(struct in6_addr) : sizeof(struct in_addr);
	bool ok = true;

	if (dir == FLOW_DIR_ORIG) {
		if (nat & FLOW_NAT_SRC)
			ok = ok && pedit(p, src, TC_PEDIT_SET, &c->reply.dst, alen) &&
			     pedit_port(p, sport, c->reply.dport);
		if (nat & FLOW_NAT_DST)
			ok = ok && pedit(p, dst, TC_PEDIT_SET, &c->reply.src, alen) &&
			     pedit_port(p, dport, c->reply.sport);
	} else {
		/* the reply of a DNAT'ed connection gets its source back (the kernel's SNAT
		 * of the reply tuple), the reply of a SNAT'ed one its destination */
		if (nat & FLOW_NAT_DST)
			ok = ok && pedit(p, src, TC_PEDIT_SET, &c->orig.dst, alen) &&
			     pedit_port(p, sport, c->orig.dport);
		if (nat & FLOW_NAT_SRC)
			ok = ok && pedit(p, dst, TC_PEDIT_SET, &c->orig.src, alen) &&
			     pedit_port(p, dport, c->orig.sport);
	}
	return ok;
}

int flowrule_build_dir(const struct flow_conn *c, enum flow_dir dir, const struct flow_path *path,
                       const struct flowrule_opts *o, struct tc_rule *r, char *why, size_t len)
{
	const struct flow_tuple *t = dir == FLOW_DIR_ORIG ? &c->orig : &c->reply;
	bool v6 = t->family == AF_INET6, tcp = t->proto == IPPROTO_TCP;
	uint16_t ethertype = v6 ? ETH_P_IPV6 : ETH_P_IP;
	uint16_t outer = path->n_in_vlan ? path->in_vlan[0].proto : 0;
	struct tc_flower_key *k = &r->flower.key, *m = &r->flower.mask;
	struct tc_action *a;
	unsigned nat = flowrule_nat(c);
	struct tc_id id = {
	    .ifindex = path->in_ifindex,
	    .hook = TC_HOOK_INGRESS,
	    .chain = o->chain,
	    .prio = flowrule_prio(o, t->family, outer),
	    .protocol = flowrule_protocol(t->family, outer),
	    .handle = o->handle[dir],
	};

	if (t->family != AF_INET && t->family != AF_INET6)
		return fail(why, len, "address family is neither IPv4 nor IPv6");
	if (c->orig.family != c->reply.family || c->orig.proto != c->reply.proto)
		return fail(why, len, "original and reply tuples differ in family or protocol");
	if (t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP)
		return fail(why, len, "only TCP and UDP connections have a flowtable layout");
	if (!path->in_ifindex || !path->out_ifindex)
		return fail(why, len, "path without ingress or egress device");
	if (path->out_pppoe)
		return fail(why, len, "egress is a PPPoE device: tc has no PPPoE push action");
	if (!valid_vlans(path->in_vlan, path->n_in_vlan) ||
	    !valid_vlans(path->out_vlan, path->n_out_vlan))
		return fail(why, len, "VLAN tags: at most 2, 802.1Q or 802.1ad, id below 4096");

	tc_rule_init(r, &id);
	r->flower.skip_sw = o->skip_sw;
	if (!o->no_indev && path->in_ifname[0]) {
		size_t n = strnlen(path->in_ifname, sizeof(k->indev) - 1);

		memcpy(k->indev, path->in_ifname, n);
		k->indev[n] = '\0';
		memcpy(m->indev, k->indev, n + 1);
	}
	if (path->n_in_vlan) {
		k->vlan_id = path->in_vlan[0].id;
		m->vlan_id = 0xffff;
		if (path->n_in_vlan == 2) {
			k->vlan_eth_type = path->in_vlan[1].proto;
			m->vlan_eth_type = 0xffff;
			k->cvlan_id = path->in_vlan[1].id;
			m->cvlan_id = 0xffff;
			k->cvlan_eth_type = ethertype;
			m->cvlan_eth_type = 0xffff;
		} else {
			k->vlan_eth_type = ethertype;
			m->vlan_eth_type = 0xffff;
		}
	}
	k->ip_proto = t->proto;
	m->ip_proto = 0xff;
	k->src = t->src;
	k->dst = t->dst;
	if (v6) {
		memset(&m->src.v6, 0xff, sizeof(m->src.v6));
		memset(&m->dst.v6, 0xff, sizeof(m->dst.v6));
	} else {
		m->src.v4.s_addr = 0xffffffffu;
		m->dst.v4.s_addr = 0xffffffffu;
	}
	k->src_port = t->sport;
	m->src_port = 0xffff;
	k->dst_port = t->dport;
	m->dst_port = 0xffff;
	if (tcp) {
		k->tcp_flags = 0;
		m->tcp_flags = TC_TCP_FIN | TC_TCP_RST;
	}

	/* Ethernet rewrite (src then dst, the kernel's order) */
	a = tc_rule_add_action(r, TC_ACTION_PEDIT);
	if (!pedit(&a->pedit, TC_PEDIT_ETH_SRC, TC_PEDIT_SET, path->src_mac, 6) ||
	    !pedit(&a->pedit, TC_PEDIT_ETH_DST, TC_PEDIT_SET, path->dst_mac, 6))
		return fail(why, len, "too many pedit keys");
	/* VLAN: pop every ingress tag, push the egress tags innermost first */
	if (path->n_in_vlan || path->n_out_vlan) {
		for (uint8_t i = 0; i < path->n_in_vlan; i++) {
			a = tc_rule_add_action(r, TC_ACTION_VLAN);
			if (!a)
				return fail(why, len, "too many actions");
			a->vlan.op = TC_VLAN_POP;
		}
		for (uint8_t i = path->n_out_vlan; i-- > 0;) {
			a = tc_rule_add_action(r, TC_ACTION_VLAN);
			if (!a)
				return fail(why, len, "too many actions");
			a->vlan.op = TC_VLAN_PUSH;
			a->vlan.id = path->out_vlan[i].id;
			a->vlan.prio = path->out_vlan[i].prio;
			a->vlan.proto = path->out_vlan[i].proto;
		}
		/* L3/L4 rewrites in a pedit of their own, after the tags */
		if (nat || o->ttl_dec) {
			a = tc_rule_add_action(r, TC_ACTION_PEDIT);
			if (!a)
				return fail(why, len, "too many actions");
		}
	}
	if (nat && !add_nat(&a->pedit, c, dir))
		return fail(why, len, "too many pedit keys");
	if (o->ttl_dec) {
		uint8_t dec = 0xff;

		if (!pedit(&a->pedit, v6 ? TC_PEDIT_IP6_HOPLIMIT : TC_PEDIT_IP4_TTL, TC_PEDIT_ADD,
		           &dec, 1))
			return fail(why, len, "too many pedit keys");
	}
	/* csum: the IPv4 header checksum whenever the header changed (TTL or addresses), the
	 * L4 checksum whenever addresses or ports changed (pedit does not fix it; IPv6 has no
	 * header checksum but its L4 checksum covers the addresses) */
	{
		uint32_t flags = 0;

		if (!v6 && (nat || o->ttl_dec))
			flags |= TC_CSUM_IPV4HDR;
		if (nat)
			flags |= tcp ? TC_CSUM_TCP : TC_CSUM_UDP;
		if (flags) {
			a = tc_rule_add_action(r, TC_ACTION_CSUM);
			if (!a)
				return fail(why, len, "too many actions");
			a->csum.flags = flags;
		}
	}
	a = tc_rule_add_action(r, TC_ACTION_MIRRED);
	if (!a)
		return fail(why, len, "too many actions");
	a->mirred.op = TC_MIRRED_EGRESS_REDIRECT;
	a->mirred.ifindex = path->out_ifindex;
	a->verdict = TC_VERDICT_STOLEN;
	if (o->cookie_len) {
		if (o->cookie_len > TC_COOKIE_MAX)
			return fail(why, len, "cookie longer than 16 bytes");
		r->cookie_len = o->cookie_len;
		memcpy(r->cookie, o->cookie, o->cookie_len);
	}
	return 0;
}

int flowrule_build(const struct flow_conn *c, const struct flow_path path[2],
                   const struct flowrule_opts *o, struct tc_rule out[2], char *why, size_t len)
{
	int rc = flowrule_build_dir(c, FLOW_DIR_ORIG, &path[FLOW_DIR_ORIG], o, &out[0], why, len);

	if (rc == 0)
		rc = flowrule_build_dir(c, FLOW_DIR_REPLY, &path[FLOW_DIR_REPLY], o, &out[1], why,
		                        len);
	return rc;
}
