/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ct_labdriver: a test-only driver of the conntrack engine for the VM lab (not the product
 * CLI). Run in the router's namespace, it subscribes to conntrack events, feeds them to the
 * engine with the `flow add` constraints of an nft file (parsed and planned, never loaded) and
 * a path resolver built from --dev arguments, and either prints the rules the engine builds
 * (dry) or installs / deletes them through the netlink core (--install).
 *
 *   ct_labdriver --nft FILE --dev NAME,PREFIX/LEN,PEER-MAC [--dev ...] [--install]
 *                [--batch FILE] [--ready FILE] [--stop FILE] [--seconds N]
 *
 * stdout, one line each (line buffered):
 *   event: <conntrack(8)-like line>                 every event
 *   flow: <explain text>                            the engine's state of it afterwards
 *   install: <tuple> ok | error <errno> <extack>   --install
 *   rule: <tc -batch line>                          each rule of an INSTALL (also to --batch)
 *   delete: <tuple> orig_packets=N reply_packets=N  stats read just before the delete
 *   counters: ...                                   at the end
 * Stops after --seconds (default 120) or once --stop FILE exists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nft-tc-offload/conntrack.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/tc.h"

#define MAX_DEVS 8

struct dev {
	char name[IFNAMSIZ];
	uint32_t ifindex;
	int family;
	union tc_addr net;
	unsigned plen;
	uint8_t mac[6];      /* the device's own */
	uint8_t peer_mac[6]; /* the neighbour behind it */
	bool clsact;
};

struct driver {
	struct dev devs[MAX_DEVS];
	size_t n_devs;
	bool install;
	FILE *batch;
	struct nlc_sock *nl;
	struct nfct_handle *query; /* for ct_set_tcp_liberal */
	struct ct_engine *engine;
};

static uint32_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_sec;
}

static bool in_prefix(const struct dev *d, int family, const union tc_addr *a)
{
	const uint8_t *x = (const uint8_t *)a, *n = (const uint8_t *)&d->net;

	if (family != d->family)
		return false;
	for (unsigned i = 0; i < d->plen; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		if ((x[i / 8] & bit) != (n[i / 8] & bit))
			return false;
	}
	return true;
}

static const struct dev *dev_for(const struct driver *drv, int family, const union tc_addr *a)
{
	for (size_t i = 0; i < drv->n_devs; i++)
		if (in_prefix(&drv->devs[i], family, a))
			return &drv->devs[i];
	return NULL;
}

/* Devices from --dev, neighbours' MACs as given: the lab's stand-in for netstate. */
static int lab_path(void *ctx, int family, const union tc_addr *src, const union tc_addr *dst,
                    struct flow_path *p, char *why, size_t len)
{
	const struct driver *drv = ctx;
	const struct dev *in = dev_for(drv, family, src), *out = dev_for(drv, family, dst);

	if (!in || !out) {
		snprintf(why, len, "no --dev prefix holds the %s address",
		         in ? "destination" : "source");
		return -EHOSTUNREACH;
	}
	memset(p, 0, sizeof(*p));
	p->in_ifindex = in->ifindex;
	snprintf(p->in_ifname, sizeof(p->in_ifname), "%s", in->name);
	p->out_ifindex = out->ifindex;
	snprintf(p->out_ifname, sizeof(p->out_ifname), "%s", out->name);
	memcpy(p->src_mac, out->mac, 6);
	memcpy(p->dst_mac, out->peer_mac, 6);
	return 0;
}

static const char *ifname_of(void *ctx, uint32_t ifindex, char buf[IFNAMSIZ])
{
	const struct driver *drv = ctx;

	for (size_t i = 0; i < drv->n_devs; i++)
		if (drv->devs[i].ifindex == ifindex)
			return drv->devs[i].name;
	return if_indextoname(ifindex, buf);
}

static void key_text(const struct ct_key *k, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	inet_ntop(k->family, &k->src, s, sizeof(s));
	inet_ntop(k->family, &k->dst, d, sizeof(d));
	snprintf(buf, len, "%s src=%s dst=%s sport=%u dport=%u zone=%u",
	         k->proto == IPPROTO_TCP ? "tcp" : "udp", s, d, k->sport, k->dport, k->zone);
}

static int ensure_clsact(struct driver *drv, uint32_t ifindex)
{
	for (size_t i = 0; i < drv->n_devs; i++) {
		struct dev *d = &drv->devs[i];
		struct nlc_extack ext;
		int rc;

		if (d->ifindex != ifindex || d->clsact)
			continue;
		rc = nlc_tc_ensure_clsact(drv->nl, ifindex, &ext);
		if (rc) {
			printf("clsact: %s: %s %s\n", d->name, strerror(-rc), ext.msg);
			return rc;
		}
		d->clsact = true;
	}
	return 0;
}

static int sink(void *ctx, const struct ct_op *op)
{
	struct driver *drv = ctx;
	struct nlc_tc_result res[2];
	char key[256], line[2048];
	int failed;

	key_text(op->key, key, sizeof(key));
	if (op->kind == CT_OP_INSTALL) {
		for (int d = 0; d < 2; d++) {
			tc_print(&op->rules[d], TC_MSG_REPLACE, ifname_of, drv, line, sizeof(line));
			printf("rule: %s\n", line);
			if (drv->batch) {
				fprintf(drv->batch, "%s\n", line);
				fflush(drv->batch);
			}
		}
		if (!drv->install)
			return 0;
		if (ensure_clsact(drv, op->rules[0].id.ifindex) ||
		    ensure_clsact(drv, op->rules[1].id.ifindex))
			return -EIO;
		memset(res, 0, sizeof(res));
		failed = nlc_tc_replace_batch(drv->nl, op->rules, 2, res, NULL, NULL);
		for (int d = 0; d < 2; d++)
			printf("install: %s dir=%d %s %s%s%s\n", key, d,
			       res[d].error ? "error" : "ok",
			       res[d].error ? strerror(-res[d].error) : "", res[d].ext.msg,
			       res[d].mismatch ? " (echo mismatch)" : "");
		if (failed)
			return res[0].error ? res[0].error : res[1].error ? res[1].error : -EILSEQ;
		if (op->tcp_liberal) {
			int rc = ct_set_tcp_liberal(drv->query, op->key);

			printf("liberal: %s %s\n", key, rc ? strerror(-rc) : "ok");
		}
		return 0;
	}
	if (!drv->install) {
		printf("delete: %s (dry)\n", key);
		return 0;
	}
	{
		struct tc_id ids[2] = {op->rules[0].id, op->rules[1].id};
		struct tc_rule out[2];

		memset(res, 0, sizeof(res));
		memset(out, 0, sizeof(out));
		nlc_tc_get_batch(drv->nl, ids, 2, res, out, NULL);
		printf("delete: %s orig_packets=%llu reply_packets=%llu\n", key,
		       res[0].error ? 0ULL : (unsigned long long)res[0].state.packets,
		       res[1].error ? 0ULL : (unsigned long long)res[1].state.packets);
		memset(res, 0, sizeof(res));
		failed = nlc_tc_delete_batch(drv->nl, op->rules, 2, res, NULL);
		if (failed)
			printf("delete-error: %s %s %s\n", key, strerror(-res[0].error),
			       strerror(-res[1].error));
	}
	return 0;
}

static int cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct driver *drv = data;
	struct ct_event ev;
	struct ct_key k;
	struct ct_flow *f;
	char line[512];

	if (ct_event_from_nfct(type, ct, &ev))
		return NFCT_CB_CONTINUE;
	ct_event_format(&ev, line, sizeof(line));
	printf("event: %s\n", line);
	ct_engine_event(drv->engine, &ev, now_s());
	ct_key_from_conn(&ev.conn, &k);
	f = ct_table_find(ct_engine_table(drv->engine), &k);
	if (f) {
		ct_engine_explain(drv->engine, f, line, sizeof(line));
		printf("flow: %s\n", line);
	} else {
		printf("flow: gone\n");
	}
	return NFCT_CB_CONTINUE;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* NAME,PREFIX/LEN,PEER-MAC */
static int parse_dev(struct driver *drv, const char *arg)
{
	char buf[256], *name, *pfx, *mac, *slash;
	struct dev *d;
	struct ifreq ifr;
	int fd;

	if (drv->n_devs == MAX_DEVS)
		return -1;
	d = &drv->devs[drv->n_devs];
	snprintf(buf, sizeof(buf), "%s", arg);
	name = strtok(buf, ",");
	pfx = strtok(NULL, ",");
	mac = strtok(NULL, ",");
	if (!name || !pfx || !mac || parse_mac(mac, d->peer_mac))
		return -1;
	slash = strchr(pfx, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	d->family = strchr(pfx, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(d->family, pfx, &d->net) != 1)
		return -1;
	d->plen = (unsigned)atoi(slash + 1);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->ifindex = if_nametoindex(name);
	if (!d->ifindex)
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	memcpy(d->mac, ifr.ifr_hwaddr.sa_data, 6);
	drv->n_devs++;
	return 0;
}

static int plan_resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	(void)ctx;
	memset(info, 0, sizeof(*info));
	info->ifindex = if_nametoindex(ifname);
	if (!info->ifindex)
		return -ENODEV;
	info->present = true;
	snprintf(info->driver, sizeof(info->driver), "veth");
	return 0;
}

int main(int argc, char **argv)
{
	struct driver drv;
	const char *nft = NULL, *ready = NULL, *stop = NULL, *batch = NULL;
	unsigned seconds = 120;
	struct nft_ruleset *rs = NULL;
	struct nft_error nerr;
	struct profile_set ps;
	struct plan_opts po;
	struct plan *plan = NULL;
	struct ct_elig_rule rules[8];
	size_t n_rules = 0;
	struct ct_engine_opts eo;
	struct nfct_handle *h;
	char err[512];
	uint32_t start;
	int rc;

	memset(&drv, 0, sizeof(drv));
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--install") == 0) {
			drv.install = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "ct_labdriver: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--nft") == 0)
			nft = v;
		else if (strcmp(a, "--dev") == 0) {
			if (parse_dev(&drv, v)) {
				fprintf(stderr, "ct_labdriver: bad --dev %s\n", v);
				return 2;
			}
		} else if (strcmp(a, "--ready") == 0)
			ready = v;
		else if (strcmp(a, "--stop") == 0)
			stop = v;
		else if (strcmp(a, "--batch") == 0)
			batch = v;
		else if (strcmp(a, "--seconds") == 0)
			seconds = (unsigned)atoi(v);
		else {
			fprintf(stderr, "ct_labdriver: unknown option %s\n", a);
			return 2;
		}
	}
	if (!nft || !drv.n_devs) {
		fprintf(stderr, "usage: ct_labdriver --nft FILE --dev NAME,PREFIX/LEN,PEER-MAC... "
		                "[--install] [--batch FILE] [--ready FILE] [--stop FILE] "
		                "[--seconds N]\n");
		return 2;
	}

	/* the `flow add` constraints: plan the file with the software profile */
	memset(&nerr, 0, sizeof(nerr));
	if (nft_parse_file(nft, &rs, &nerr)) {
		fprintf(stderr, "%s", nerr.formatted ? nerr.formatted : "nft parse error\n");
		return 1;
	}
	profile_set_init(&ps);
	if (profile_set_load_builtin(&ps, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	plan_opts_init(&po);
	po.profiles = &ps;
	po.force_profile = "generic-flow";
	po.resolve = plan_resolve;
	if (plan_build(rs, &po, &plan, err, sizeof(err))) {
		fprintf(stderr, "plan: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < plan->n_flowtables; i++)
		if (plan->flowtables[i].strategy == PROFILE_STRATEGY_FLOW)
			n_rules = ct_elig_rules_from_plan(&plan->flowtables[i], rules, 8);
	printf("plan: %zu flow add rule(s)\n", n_rules);

	if (batch) {
		drv.batch = fopen(batch, "w");
		if (!drv.batch) {
			perror(batch);
			return 1;
		}
	}
	if (drv.install) {
		rc = nlc_open(&drv.nl, NETLINK_ROUTE, NULL);
		if (rc) {
			fprintf(stderr, "nlc_open: %s\n", strerror(-rc));
			return 1;
		}
		drv.query = nfct_open(CONNTRACK, 0);
		if (!drv.query) {
			perror("nfct_open");
			return 1;
		}
	}
	ct_engine_opts_init(&eo);
	eo.rules = rules;
	eo.n_rules = n_rules;
	eo.profile = profile_set_find(&ps, "generic-flow");
	eo.path = lab_path;
	eo.path_ctx = &drv;
	eo.sink = sink;
	eo.sink_ctx = &drv;
	eo.rule.prio = 0x2000;
	eo.rule.cookie_len = 4;
	memcpy(eo.rule.cookie, "\x6e\x74\x6f\x31", 4); /* "nto1" */
	drv.engine = ct_engine_new(&eo);
	if (!drv.engine)
		return 1;

	h = ct_events_open(&rc);
	if (!h) {
		fprintf(stderr, "ct_events_open: %s\n", strerror(-rc));
		return 1;
	}
	nfct_callback_register(h, NFCT_T_ALL, cb, &drv);
	fcntl(nfct_fd(h), F_SETFL, fcntl(nfct_fd(h), F_GETFL) | O_NONBLOCK);
	{
		int sz = 4 << 20;

		setsockopt(nfct_fd(h), SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	start = now_s();
	for (;;) {
		struct pollfd pfd = {.fd = nfct_fd(h), .events = POLLIN};

		if (now_s() - start >= seconds || (stop && access(stop, F_OK) == 0))
			break;
		if (poll(&pfd, 1, 200) > 0 && nfct_catch(h) < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK) {
			if (errno == ENOBUFS)
				printf("enobufs: events lost\n");
			else
				printf("nfct_catch: %s\n", strerror(errno));
		}
	}
	{
		const struct ct_engine_counters *c = ct_engine_counters(drv.engine);
		const struct ct_table_counters *t = ct_table_counters(ct_engine_table(drv.engine));

		printf("counters: new=%llu update=%llu destroy=%llu installs=%llu deletes=%llu "
		       "sink_errors=%llu tracked=%zu offloaded=%llu\n",
		       (unsigned long long)c->events[CT_EVENT_NEW],
		       (unsigned long long)c->events[CT_EVENT_UPDATE],
		       (unsigned long long)c->events[CT_EVENT_DESTROY],
		       (unsigned long long)c->installs, (unsigned long long)c->deletes,
		       (unsigned long long)c->sink_errors,
		       ct_table_count(ct_engine_table(drv.engine)),
		       (unsigned long long)t->flows[CT_FLOW_OFFLOADED]);
	}
	nfct_close(h);
	ct_engine_free(drv.engine);
	if (drv.nl)
		nlc_close(drv.nl);
	if (drv.query)
		nfct_close(drv.query);
	if (drv.batch)
		fclose(drv.batch);
	plan_free(plan);
	nft_ruleset_free(rs);
	profile_set_free(&ps);
	return 0;
}
