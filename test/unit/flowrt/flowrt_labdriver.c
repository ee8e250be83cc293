/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flowrt_labdriver: a test-only driver of the flow runtime for the VM lab (not the product
 * daemon). Run in the router's namespace: it plans an nft file (parsed, never loaded) with a
 * profile (default generic-flow), opens netstate and a netlink socket, starts flowrt on an
 * ev_loop and runs until SIGTERM / SIGINT (then stops it, removing its rules).
 *
 *   flowrt_labdriver --nft FILE [--profile NAME] [--status FILE] [--ready FILE]
 *                    [--stats-ms N] [--min-packets N] [--min-bytes N] [--max-flows N]
 *
 * SIGUSR1 writes {"status": flowrt_status_json, "flows": flowrt_flows_json} to --status
 * (atomically: a temporary file renamed), and so does the stop. The runtime's log goes to
 * stdout, one line each ("info: ...", "warning: ..."), line buffered.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nft-tc-offload/config.h"
#include "nft-tc-offload/flowrt.h"
#include "nft-tc-offload/loop.h"
#include "nft-tc-offload/netstate.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"

struct drv {
	struct ev_loop *loop;
	struct netstate *ns;
	struct flowrt *rt;
	const char *status;
};

static void drv_log(void *ctx, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	printf("%s: ", log_level_name(level));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void write_status(struct drv *d)
{
	char tmp[512];
	json_t *o;

	if (!d->status || !d->rt)
		return;
	o = json_object();
	json_object_set_new(o, "status", flowrt_status_json(d->rt));
	json_object_set_new(o, "flows", flowrt_flows_json(d->rt));
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->status);
	if (json_dump_file(o, tmp, JSON_INDENT(1)) == 0 && rename(tmp, d->status) == 0)
		printf("status: written\n");
	else
		printf("status: cannot write %s\n", d->status);
	json_decref(o);
}

static void on_signal(struct ev_loop *loop, int signo, void *arg)
{
	struct drv *d = arg;

	if (signo == SIGUSR1) {
		write_status(d);
		return;
	}
	ev_loop_stop(loop);
}

static void on_netstate_change(void *ctx, const struct netstate_change *c)
{
	struct drv *d = ctx;

	(void)c;
	flowrt_netstate_changed(d->rt);
}

static void on_netstate_fd(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct drv *d = arg;

	(void)loop;
	(void)fd;
	(void)events;
	netstate_process(d->ns);
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
	const char *nft = NULL, *profile = "generic-flow", *ready = NULL;
	struct drv d;
	struct config cfg;
	struct nft_ruleset *rs = NULL;
	struct nft_error nerr;
	struct profile_set ps;
	struct plan_opts po;
	struct plan *plan = NULL;
	struct netstate_opts nso;
	struct nlc_sock *nl = NULL;
	struct flowrt_opts fo;
	char err[512];
	int rc;

	memset(&d, 0, sizeof(d));
	setvbuf(stdout, NULL, _IOLBF, 0);
	config_defaults(&cfg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			fprintf(stderr, "flowrt_labdriver: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--nft") == 0)
			nft = v;
		else if (strcmp(a, "--profile") == 0)
			profile = v;
		else if (strcmp(a, "--status") == 0)
			d.status = v;
		else if (strcmp(a, "--ready") == 0)
			ready = v;
		else if (strcmp(a, "--stats-ms") == 0)
			cfg.stats_interval_ms = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--min-packets") == 0)
			cfg.flow_min_packets = strtoull(v, NULL, 10);
		else if (strcmp(a, "--min-bytes") == 0)
			cfg.flow_min_bytes = strtoull(v, NULL, 10);
		else if (strcmp(a, "--max-flows") == 0)
			cfg.flow_max = strtoull(v, NULL, 10);
		else {
			fprintf(stderr, "flowrt_labdriver: unknown option %s\n", a);
			return 2;
		}
	}
	if (!nft) {
		fprintf(stderr,
		        "usage: flowrt_labdriver --nft FILE [--profile NAME] [--status FILE] "
		        "[--ready FILE] [--stats-ms N] [--min-packets N] [--min-bytes N] "
		        "[--max-flows N]\n");
		return 2;
	}
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
	po.force_profile = profile;
	po.resolve = plan_resolve;
	if (plan_build(rs, &po, &plan, err, sizeof(err))) {
		fprintf(stderr, "plan: %s\n", err);
		return 1;
	}

	d.loop = ev_loop_new();
	if (!d.loop) {
		perror("ev_loop_new");
		return 1;
	}
	memset(&nso, 0, sizeof(nso));
	nso.change = on_netstate_change;
	nso.ctx = &d;
	rc = netstate_open(&d.ns, &nso);
	if (rc) {
		fprintf(stderr, "netstate_open: %s\n", strerror(-rc));
		return 1;
	}
	ev_loop_add_fd(d.loop, netstate_fd(d.ns), on_netstate_fd, &d);
	rc = nlc_open(&nl, NETLINK_ROUTE, NULL);
	if (rc) {
		fprintf(stderr, "nlc_open: %s\n", strerror(-rc));
		return 1;
	}
	ev_loop_add_signal(d.loop, SIGTERM, on_signal, &d);
	ev_loop_add_signal(d.loop, SIGINT, on_signal, &d);
	ev_loop_add_signal(d.loop, SIGUSR1, on_signal, &d);

	memset(&fo, 0, sizeof(fo));
	fo.loop = d.loop;
	fo.rtnl = nl;
	fo.netstate = d.ns;
	fo.cfg = &cfg;
	fo.log = drv_log;
	rc = flowrt_start(&d.rt, &fo, plan, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "flowrt_start: %s\n", err);
		return 1;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	rc = ev_loop_run(d.loop);
	if (rc)
		fprintf(stderr, "ev_loop_run: %s\n", strerror(-rc));
	write_status(&d);
	flowrt_stop(d.rt, true);
	printf("stopped\n");
	nlc_close(nl);
	netstate_close(d.ns);
	ev_loop_free(d.loop);
	plan_free(plan);
	nft_ruleset_free(rs);
	profile_set_free(&ps);
	return 0;
}
