/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon: configuration, input, plan and runtimes on one loop. See daemon.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "daemon-internal.h"
#include "nft-tc-offload/config.h"
#include "nft-tc-offload/ctl.h"
#include "nft-tc-offload/ctrt.h"
#include "nft-tc-offload/daemon.h"
#include "nft-tc-offload/flowrt.h"
#include "nft-tc-offload/install.h"
#include "nft-tc-offload/loop.h"
#include "nft-tc-offload/netstate.h"
#include "nft-tc-offload/nft.h"
#include "nft-tc-offload/nftlive.h"
#include "nft-tc-offload/nl.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/sdnotify.h"
#include "nft-tc-offload/version.h"

#define RTNL_RCVBUF     (4u << 20)
#define HOUSEKEEPING_MS 1000
#define RESYNC_DELAY_MS 200
#define NFTMON_RCVBUF   (1u << 20)

/* ---- logging ---------------------------------------------------------------------------- */

static void vlog_msg(struct daemon *d, enum log_level l, const char *fmt, va_list ap)
{
	static const int syslog_prio[] = {3, 4, 6, 7};
	char msg[4096];

	if (l > d->log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (d->journal)
		fprintf(stderr, "<%d>%s\n", syslog_prio[l], msg);
	else
		fprintf(stderr, "nft-tc-offload: %s%s%s\n",
		        l == LOG_LEVEL_INFO ? "" : log_level_name(l),
		        l == LOG_LEVEL_INFO ? "" : ": ", msg);
}

static void log_msg(struct daemon *d, enum log_level l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_msg(struct daemon *d, enum log_level l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_msg(d, l, fmt, ap);
	va_end(ap);
}

static void log_cb(void *ctx, enum log_level l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_cb(void *ctx, enum log_level l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_msg(ctx, l, fmt, ap);
	va_end(ap);
}

static void notify(struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void notify(struct daemon *d, const char *fmt, ...)
{
	char state[1024];
	va_list ap;
	int rc;

	if (!sd_notifier_enabled(&d->sd))
		return;
	va_start(ap, fmt);
	vsnprintf(state, sizeof(state), fmt, ap);
	va_end(ap);
	rc = sd_notify_send(&d->sd, state);
	if (rc < 0)
		log_msg(d, LOG_LEVEL_WARNING, "sd_notify: %s", strerror(-rc));
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- one generation of input ------------------------------------------------------------- */

static void gen_free(struct gen *g)
{
	if (!g)
		return;
	plan_free(g->plan);
	nft_ruleset_free(g->rs);
	profile_set_free(&g->profiles);
	free(g->text);
	free(g);
}

static const struct config_device *cfg_device(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->n_devices; i++)
		if (!strcmp(c->devices[i].name, name))
			return &c->devices[i];
	return NULL;
}

static struct profile *set_find_mut(struct profile_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return &s->v[i];
	return NULL;
}

/*
 * [device NAME] profile = P: P is chosen for NAME whatever its driver. The daemon's own copy of
 * P also matches NAME by interface name (when P selects by name, or by nothing at all, like
 * generic-ct), and the resolver reports P's driver and PCI id for NAME (see resolve()).
 */
static int apply_device_profiles(struct gen *g, const char *origin, char *err, size_t errlen)
{
	for (size_t i = 0; i < g->cfg.n_devices; i++) {
		const struct config_device *cd = &g->cfg.devices[i];
		struct profile *p;

		if (!strcmp(cd->profile, "none"))
			continue;
		p = set_find_mut(&g->profiles, cd->profile);
		if (!p) {
			snprintf(err, errlen, "%s:%u: error: [device %s]: unknown profile \"%s\"",
			         origin, cd->line, cd->name, cd->profile);
			return -1;
		}
		if (p->match.n_ifnames || (!p->match.n_drivers && !p->match.n_pci_ids)) {
			if (p->match.n_ifnames == PROFILE_MATCH_MAX) {
				snprintf(err, errlen,
				         "%s:%u: error: [device %s]: profile %s already matches %d "
				         "interface names",
				         origin, cd->line, cd->name, cd->profile,
				         PROFILE_MATCH_MAX);
				return -1;
			}
			snprintf(p->match.ifnames[p->match.n_ifnames++], PROFILE_GLOB_MAX, "%s",
			         cd->name);
		}
	}
	return 0;
}

struct resolve_ctx {
	const struct netstate_snapshot *snap;
	const struct gen *g;
};

static int resolve(void *ctx, const char *ifname, struct plan_device_info *info)
{
	struct resolve_ctx *r = ctx;
	const struct netstate_link *l = netstate_link_by_name(r->snap, ifname);
	const struct config_device *cd = cfg_device(&r->g->cfg, ifname);

	if (!l)
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	info->ifindex = l->ifindex;
	info->present = true;
	snprintf(info->driver, sizeof(info->driver), "%s", l->driver);
	info->has_pci_id = l->has_pci_id;
	info->pci_vendor = l->pci_vendor;
	info->pci_device = l->pci_device;
	if (cd && strcmp(cd->profile, "none")) {
		const struct profile *p = profile_set_find(&r->g->profiles, cd->profile);

		info->driver[0] = '\0';
		info->has_pci_id = false;
		if (p && p->match.n_drivers)
			snprintf(info->driver, sizeof(info->driver), "%s", p->match.drivers[0]);
		if (p && p->match.n_pci_ids) {
			info->has_pci_id = true;
			info->pci_vendor = p->match.pci_ids[0].vendor;
			info->pci_device = p->match.pci_ids[0].device;
		}
	}
	return 0;
}

/* [device NAME] profile = none: the device is taken out of every flowtable before planning. */
static void exclude_devices(struct gen *g)
{
	for (size_t t = 0; t < g->rs->n_tables; t++) {
		struct nft_table *tb = &g->rs->tables[t];

		for (size_t f = 0; f < tb->n_flowtables; f++) {
			struct nft_flowtable *ft = &tb->flowtables[f];
			size_t w = 0;

			for (size_t i = 0; i < ft->n_devices; i++) {
				const struct config_device *cd =
				    cfg_device(&g->cfg, ft->devices[i]);
				bool seen = false;

				if (!cd || strcmp(cd->profile, "none")) {
					ft->devices[w++] = ft->devices[i];
					continue;
				}
				for (size_t k = 0; k < g->n_excluded && !seen; k++)
					seen = !strcmp(g->excluded[k], ft->devices[i]);
				if (!seen && g->n_excluded < EXCLUDED_MAX)
					snprintf(g->excluded[g->n_excluded++], IFNAMSIZ, "%s",
					         ft->devices[i]);
				free(ft->devices[i]);
			}
			ft->n_devices = w;
		}
	}
}

/* With the live source, `flags offload` means the kernel itself programs drivers that
 * implement TC_SETUP_FT: two managers for one NIC would conflict, so such flowtables are left
 * to the kernel (docs/architecture.md). */
static int leave_hw_flowtables(struct gen *g)
{
	if (strcmp(g->cfg.source, "kernel"))
		return 0;
	for (size_t f = 0; f < g->plan->n_flowtables; f++) {
		struct plan_flowtable *pf = &g->plan->flowtables[f];

		if (!pf->flowtable->offload)
			continue;
		free(pf->reason);
		pf->reason = strdup("flags offload: the kernel offloads this flowtable itself "
		                    "(TC_SETUP_FT); nft-tc-offload leaves it alone");
		if (!pf->reason)
			return -ENOMEM;
		pf->strategy = PROFILE_STRATEGY_NONE;
	}
	return 0;
}

/* Builds a generation from cfg; text (source = kernel, may be NULL: listed here) is taken
 * over. Returns 0, or 2 (input error) / 1 (other) with the reason in err. */
static int gen_load(struct daemon *d, const struct config *cfg, char *text, struct gen **out,
                    char *err, size_t errlen)
{
	struct gen *g = calloc(1, sizeof(*g));
	struct netstate_snapshot snap = {0};
	struct resolve_ctx rc_ctx;
	struct nft_error nerr = {0};
	struct plan_opts po;
	int rc;

	*out = NULL;
	if (!g) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	g->cfg = *cfg;
	g->text = text;
	g->loaded_ms = ev_now_ms();
	profile_set_init(&g->profiles);
	if (profile_set_load(&g->profiles, cfg->profile_dir, err, errlen) != 0 ||
	    apply_device_profiles(g, d->config_path, err, errlen) != 0) {
		rc = 2;
		goto fail;
	}
	if (!strcmp(cfg->source, "kernel")) {
		if (!g->text)
			g->text = nft_live_ruleset_text(err, errlen);
		if (!g->text) {
			rc = 1;
			goto fail;
		}
		rc = nft_parse_buffer(g->text, strlen(g->text), "kernel", &g->rs, &nerr);
	} else {
		rc = nft_parse_file(cfg->source, &g->rs, &nerr);
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s",
		         nerr.formatted
		             ? nerr.formatted
		             : (nerr.message ? nerr.message : "cannot parse the ruleset"));
		err[strcspn(err, "\n")] = '\0';
		nft_error_clear(&nerr);
		rc = 2;
		goto fail;
	}
	exclude_devices(g);
	rc = netstate_snapshot(d->ns, &snap);
	if (rc) {
		snprintf(err, errlen, "network state: %s", strerror(-rc));
		rc = 1;
		goto fail;
	}
	rc_ctx = (struct resolve_ctx){.snap = &snap, .g = g};
	plan_opts_init(&po);
	po.profiles = &g->profiles;
	po.resolve = resolve;
	po.resolve_ctx = &rc_ctx;
	po.zone_set = cfg->ct_zone_set;
	po.zone = cfg->ct_zone;
	po.ct_nat = cfg->ct_nat;
	rc = plan_build(g->rs, &po, &g->plan, err, errlen);
	netstate_snapshot_free(&snap);
	if (rc) {
		rc = 1;
		goto fail;
	}
	install_mark_plan(g->plan);
	if (leave_hw_flowtables(g)) {
		snprintf(err, errlen, "out of memory");
		rc = 1;
		goto fail;
	}
	*out = g;
	return 0;
fail:
	gen_free(g);
	return rc;
}

static bool plan_has_flow(const struct plan *p)
{
	for (size_t f = 0; p && f < p->n_flowtables; f++)
		if (p->flowtables[f].strategy == PROFILE_STRATEGY_FLOW && !p->flowtables[f].reason)
			return true;
	return false;
}

static void report_plan(struct daemon *d, const struct plan *p)
{
	for (size_t f = 0; f < p->n_flowtables; f++) {
		const struct plan_flowtable *pf = &p->flowtables[f];

		if (pf->reason)
			log_msg(d, LOG_LEVEL_WARNING,
			        "table %s %s, flowtable %s: not offloaded: %s",
			        nft_family_name(pf->table->family), pf->table->name,
			        pf->flowtable->name, pf->reason);
		else
			log_msg(d, LOG_LEVEL_INFO, "table %s %s, flowtable %s: %s strategy",
			        nft_family_name(pf->table->family), pf->table->name,
			        pf->flowtable->name,
			        pf->strategy == PROFILE_STRATEGY_CT ? "ct" : "flow");
	}
}

/* ---- runtimes ---------------------------------------------------------------------------- */

static int flow_start(struct daemon *d, char *err, size_t errlen)
{
	struct flowrt_opts fo = {.loop = d->loop,
	                         .rtnl = d->rtnl,
	                         .netstate = d->ns,
	                         .cfg = &d->cfg,
	                         .log = log_cb,
	                         .log_ctx = d};

	return flowrt_start(&d->flow, &fo, d->gen->plan, err, errlen);
}

/* Makes g the running generation: the runtimes get its plan (they apply the difference). */
static void gen_apply(struct daemon *d, struct gen *g)
{
	struct gen *old = d->gen;
	char err[ERR_MAX];

	d->gen = g;
	d->cfg = g->cfg;
	d->log_level = g->cfg.log_level;
	report_plan(d, g->plan);
	if (d->ct)
		ctrt_set_plan(d->ct, g->plan);
	if (d->flow) {
		flowrt_set_plan(d->flow, g->plan);
	} else if (plan_has_flow(g->plan) && flow_start(d, err, sizeof(err)) < 0) {
		log_msg(d, LOG_LEVEL_ERROR, "flow runtime: %s", err);
		d->flow = NULL;
	}
	gen_free(old);
}

static void nft_changed(void *ctx, bool overrun);

static void monitor_update(struct daemon *d)
{
	bool want = !strcmp(d->gen->cfg.source, "kernel");
	char err[512];

	if (want && !d->mon) {
		if (nftmon_open(&d->mon, d->loop, NFTMON_RCVBUF,
		                (size_t)d->gen->cfg.rcvbuf_max_kb << 10, nft_changed, d, err,
		                sizeof(err)) < 0)
			log_msg(d, LOG_LEVEL_ERROR, "%s: live changes are not followed", err);
	} else if (!want && d->mon) {
		nftmon_close(d->mon);
		d->mon = NULL;
	}
}

/* A live change or a link change: list the ruleset again, re-plan when anything differs. */
static void replan_now(struct daemon *d)
{
	char err[ERR_MAX];
	char *text = NULL;
	struct gen *g;
	bool links = d->replan_links;
	int rc;

	d->replan_links = false;
	if (!strcmp(d->gen->cfg.source, "kernel")) {
		text = nft_live_ruleset_text(err, sizeof(err));
		if (!text) {
			d->replan_failures++;
			snprintf(d->last_error, sizeof(d->last_error), "%s", err);
			log_msg(d, LOG_LEVEL_ERROR, "re-reading the ruleset: %s", err);
			return;
		}
		if (!links && d->gen->text && !strcmp(text, d->gen->text)) {
			d->replans_unchanged++;
			free(text);
			return;
		}
	}
	rc = gen_load(d, &d->gen->cfg, text, &g, err, sizeof(err));
	if (rc) {
		d->replan_failures++;
		snprintf(d->last_error, sizeof(d->last_error), "%s", err);
		log_msg(d, LOG_LEVEL_ERROR, "re-planning: %s; the running plan stays", err);
		return;
	}
	d->replans++;
	log_msg(d, LOG_LEVEL_INFO, "%s changed: re-planned",
	        links ? "the network devices" : "the ruleset");
	gen_apply(d, g);
	d->last_replan_unix_ms = wall_ms();
}

static void replan_fired(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	replan_now(arg);
}

static void nft_changed(void *ctx, bool overrun)
{
	struct daemon *d = ctx;

	d->nft_triggers++;
	if (overrun)
		log_msg(d, LOG_LEVEL_WARNING,
		        "nftables notifications overran (%" PRIu64
		        " so far): receive buffer now %zu bytes; re-reading the ruleset",
		        nftmon_stats(d->mon)->overruns, nftmon_stats(d->mon)->rcvbuf);
	ev_timer_arm(d->replan, overrun ? 1 : d->gen->cfg.debounce_ms, 0);
}

/* One coalesced full resync (after overruns): every device looked at again. */
static void resync_fired(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct daemon *d = arg;

	d->resyncs++;
	log_msg(d, LOG_LEVEL_INFO, "resync after netlink overruns");
	if (d->ct)
		ctrt_sync(d->ct, true, NULL);
	if (d->flow)
		flowrt_netstate_changed(d->flow);
	d->replan_links = true;
	ev_timer_arm(d->replan, 1, 0);
}

static void schedule_resync(struct daemon *d)
{
	if (!ev_timer_armed(d->resync))
		ev_timer_arm(d->resync, RESYNC_DELAY_MS, 0);
}

static void netflow_fired(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct daemon *d = arg;

	if (d->flow)
		flowrt_netstate_changed(d->flow);
}

static void on_netstate(void *ctx, const struct netstate_change *c)
{
	struct daemon *d = ctx;

	d->netstate_changes++;
	if (c->object == NETSTATE_CHANGE_RESYNC) {
		size_t grown =
		    daemon_grow_rcvbuf(netstate_fd(d->ns), (size_t)d->gen->cfg.rcvbuf_max_kb << 10);

		d->netstate_overruns++;
		if (grown)
			d->netstate_rcvbuf = grown;
		log_msg(d, LOG_LEVEL_WARNING,
		        "network state notifications overran (%" PRIu64 " so far)%s; resync",
		        d->netstate_overruns, grown ? ", receive buffer grown" : "");
		schedule_resync(d);
		return;
	}
	if (c->object == NETSTATE_CHANGE_LINK &&
	    (c->action != NETSTATE_CHANGED || strcmp(c->old.link.name, c->new.link.name))) {
		d->replan_links = true;
		if (!ev_timer_armed(d->replan))
			ev_timer_arm(d->replan, d->gen->cfg.netstate_debounce_ms, 0);
	}
	if (d->ct)
		ctrt_netstate_changed(d->ct);
	if (d->flow)
		ev_timer_arm(d->netflow, d->gen->cfg.netstate_debounce_ms, 0);
}

static void netstate_readable(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	int rc = netstate_process(d->ns);

	if (rc < 0 && rc != -EAGAIN)
		log_msg(d, LOG_LEVEL_ERROR, "network state: %s", strerror(-rc));
}

/* Overruns on the rtnetlink request socket (replies lost: the nl layer re-sent what it could). */
static void check_rtnl(struct daemon *d)
{
	uint64_t e = nlc_stats(d->rtnl)->enobufs;

	if (e == d->rtnl_enobufs_seen)
		return;
	d->rtnl_overruns += e - d->rtnl_enobufs_seen;
	d->rtnl_enobufs_seen = e;
	{
		size_t cur = nlc_rcvbuf(d->rtnl) / 2, max = (size_t)d->gen->cfg.rcvbuf_max_kb << 10;

		if (cur < max)
			nlc_set_rcvbuf(d->rtnl, cur * 2 < max ? cur * 2 : max);
	}
	log_msg(d, LOG_LEVEL_WARNING,
	        "rtnetlink replies overran (%" PRIu64 " so far): receive buffer now %zu; resync",
	        d->rtnl_overruns, nlc_rcvbuf(d->rtnl));
	schedule_resync(d);
}

static void housekeeping_fired(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	check_rtnl(arg);
}

static void watchdog_fired(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	notify(arg, "WATCHDOG=1");
}

static int ctl_open(struct daemon *d, const struct config *c, struct ctl_server **out, char *err,
                    size_t errlen)
{
	struct ctl_server_opts o = {.path = c->control_socket,
	                            .mode = c->control_mode,
	                            .group = c->control_group,
	                            .handler = daemon_ctl_handler,
	                            .ctx = d};

	return ctl_server_open(out, d->loop, &o, err, errlen);
}

/* ---- reload and stop --------------------------------------------------------------------- */

static void reload(struct daemon *d)
{
	struct config cfg;
	char err[ERR_MAX];
	struct gen *g;
	bool ctl_changed;

	notify(d, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading", monotonic_usec());
	log_msg(d, LOG_LEVEL_INFO, "reloading %s", d->config_path);
	if (config_load(d->config_path, !d->config_given, &cfg, err, sizeof(err)) != 0 ||
	    gen_load(d, &cfg, NULL, &g, err, sizeof(err)) != 0) {
		d->reload_failures++;
		snprintf(d->last_error, sizeof(d->last_error), "reload: %.2000s", err);
		log_msg(d, LOG_LEVEL_ERROR, "reload failed: %s; the running configuration stays",
		        err);
		notify(d, "READY=1\nSTATUS=reload failed (the running configuration stays): %.400s",
		       err);
		return;
	}
	ctl_changed = strcmp(cfg.control_socket, d->gen->cfg.control_socket) ||
	              cfg.control_mode != d->gen->cfg.control_mode ||
	              strcmp(cfg.control_group, d->gen->cfg.control_group);
	if (ctl_changed) {
		/* the new socket first: when it cannot be made (e.g. a control_group that does not
		 * exist) the old one comes back and the whole reload is refused */
		struct ctl_server *s = NULL;
		char err2[ERR_MAX];

		ctl_server_close(d->ctl);
		d->ctl = NULL;
		if (ctl_open(d, &g->cfg, &s, err, sizeof(err)) < 0) {
			if (ctl_open(d, &d->gen->cfg, &d->ctl, err2, sizeof(err2)) < 0)
				log_msg(d, LOG_LEVEL_ERROR, "control socket: the old one too: %s",
				        err2);
			gen_free(g);
			d->reload_failures++;
			snprintf(d->last_error, sizeof(d->last_error),
			         "reload: control socket: %.1900s", err);
			log_msg(
			    d, LOG_LEVEL_ERROR,
			    "reload failed: control socket: %s; the running configuration stays",
			    err);
			notify(d,
			       "READY=1\nSTATUS=reload failed (the running configuration stays): "
			       "%.400s",
			       err);
			return;
		}
		d->ctl = s;
	}
	d->reloads++;
	d->last_error[0] = '\0';
	gen_apply(d, g);
	monitor_update(d);
	log_msg(d, LOG_LEVEL_INFO, "reloaded");
	notify(d, "READY=1\nSTATUS=running (reloaded)");
}

static void on_signal(struct ev_loop *loop, int signo, void *arg)
{
	struct daemon *d = arg;

	if (signo == SIGHUP) {
		reload(d);
		return;
	}
	log_msg(d, LOG_LEVEL_INFO, "%s: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
	ev_loop_stop(loop);
}

static void shutdown_all(struct daemon *d)
{
	bool remove = !d->gen || d->gen->cfg.on_stop == CONFIG_STOP_REMOVE;

	if (d->ctl)
		ctl_server_close(d->ctl);
	nftmon_close(d->mon);
	if (d->flow)
		flowrt_stop(d->flow, remove);
	if (d->ct) {
		long n = ctrt_stop(d->ct, remove);

		if (remove && n < 0)
			log_msg(d, LOG_LEVEL_ERROR, "could not remove our rules: %s",
			        strerror((int)-n));
		else if (remove)
			log_msg(d, LOG_LEVEL_INFO, "removed %ld rules of ours", n);
		else
			log_msg(d, LOG_LEVEL_INFO,
			        "on_stop = keep: our rules stay for the next start");
	}
	ev_timer_free(d->watchdog);
	ev_timer_free(d->replan);
	ev_timer_free(d->resync);
	ev_timer_free(d->housekeeping);
	ev_timer_free(d->netflow);
	if (d->ns) {
		ev_loop_del_fd(d->loop, netstate_fd(d->ns));
		netstate_close(d->ns);
	}
	if (d->rtnl)
		nlc_close(d->rtnl);
	gen_free(d->gen);
	sd_notifier_close(&d->sd);
	if (d->loop)
		ev_loop_free(d->loop);
}

/* ---- start ------------------------------------------------------------------------------- */

static int start(struct daemon *d, const struct config *cfg)
{
	struct nlc_sock_opts so = {.rcvbuf = RTNL_RCVBUF};
	struct netstate_opts no = {.change = on_netstate, .ctx = d};
	struct ctrt_opts co;
	char err[ERR_MAX];
	uint64_t wd;
	int rc;

	d->loop = ev_loop_new();
	if (!d->loop) {
		log_msg(d, LOG_LEVEL_ERROR, "epoll: %s", strerror(errno));
		return 1;
	}
	if (ev_loop_add_signal(d->loop, SIGTERM, on_signal, d) ||
	    ev_loop_add_signal(d->loop, SIGINT, on_signal, d) ||
	    ev_loop_add_signal(d->loop, SIGHUP, on_signal, d)) {
		log_msg(d, LOG_LEVEL_ERROR, "signals: cannot set up the signalfd");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	d->replan = ev_timer_new(d->loop, replan_fired, d);
	d->resync = ev_timer_new(d->loop, resync_fired, d);
	d->housekeeping = ev_timer_new(d->loop, housekeeping_fired, d);
	d->netflow = ev_timer_new(d->loop, netflow_fired, d);
	if (!d->replan || !d->resync || !d->housekeeping || !d->netflow) {
		log_msg(d, LOG_LEVEL_ERROR, "timers: %s", strerror(errno));
		return 1;
	}
	rc = nlc_open(&d->rtnl, NETLINK_ROUTE, &so);
	if (rc < 0) {
		log_msg(d, LOG_LEVEL_ERROR, "cannot open rtnetlink: %s", strerror(-rc));
		return 1;
	}
	rc = netstate_open(&d->ns, &no);
	if (rc < 0) {
		log_msg(d, LOG_LEVEL_ERROR, "cannot read the network state: %s", strerror(-rc));
		return 1;
	}
	rc = ev_loop_add_fd(d->loop, netstate_fd(d->ns), netstate_readable, d);
	if (rc < 0) {
		log_msg(d, LOG_LEVEL_ERROR, "network state: %s", strerror(-rc));
		return 1;
	}
	rc = gen_load(d, cfg, NULL, &d->gen, err, sizeof(err));
	if (rc) {
		log_msg(d, LOG_LEVEL_ERROR, "%s", err);
		return rc;
	}
	d->cfg = d->gen->cfg;
	d->log_level = d->gen->cfg.log_level;
	report_plan(d, d->gen->plan);
	/* another daemon on the same socket would fight over the rules: check before touching */
	rc = ctl_open(d, &d->gen->cfg, &d->ctl, err, sizeof(err));
	if (rc < 0) {
		log_msg(d, LOG_LEVEL_ERROR, "%s", err);
		return 1;
	}
	co = (struct ctrt_opts){.loop = d->loop,
	                        .rtnl = d->rtnl,
	                        .netstate = d->ns,
	                        .debounce_ms = d->gen->cfg.netstate_debounce_ms,
	                        .log = log_cb,
	                        .log_ctx = d};
	rc = ctrt_start(&d->ct, &co, d->gen->plan, err, sizeof(err));
	if (rc < 0) {
		log_msg(d, LOG_LEVEL_ERROR, "ct runtime: %s", err);
		return 1;
	}
	if (plan_has_flow(d->gen->plan) && flow_start(d, err, sizeof(err)) < 0) {
		log_msg(d, LOG_LEVEL_ERROR, "flow runtime: %s", err);
		d->flow = NULL;
		return 1;
	}
	monitor_update(d);
	ev_timer_arm(d->housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
	wd = sd_notifier_watchdog_ms(&d->sd);
	if (wd) {
		d->watchdog = ev_timer_new(d->loop, watchdog_fired, d);
		if (d->watchdog)
			ev_timer_arm(d->watchdog, wd, wd);
	}
	check_rtnl(d);
	log_msg(d, LOG_LEVEL_INFO, "running (source %s, control socket %s)", d->gen->cfg.source,
	        d->gen->cfg.control_socket);
	notify(d, "READY=1\nSTATUS=running\nMAINPID=%d", (int)getpid());
	return 0;
}

int daemon_run(const struct daemon_args *a)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct config cfg;
	char err[ERR_MAX];
	int rc;

	if (!d)
		return 1;
	d->config_path = a->config_path ? a->config_path : CONFIG_DEFAULT_PATH;
	d->config_given = a->config_path != NULL;
	d->log_level = LOG_LEVEL_INFO;
	d->journal = getenv("JOURNAL_STREAM") != NULL;
	d->start_ms = ev_now_ms();
	/* the configuration first: a bad one stops here, with nothing touched */
	if (config_load(d->config_path, !d->config_given, &cfg, err, sizeof(err)) != 0) {
		log_msg(d, LOG_LEVEL_ERROR, "%s", err);
		free(d);
		return 2;
	}
	d->log_level = cfg.log_level;
	rc = sd_notifier_init(&d->sd);
	if (rc < 0)
		log_msg(d, LOG_LEVEL_WARNING, "NOTIFY_SOCKET: %s: not notifying", strerror(-rc));
	rc = start(d, &cfg);
	if (rc == 0) {
		rc = ev_loop_run(d->loop);
		if (rc < 0)
			log_msg(d, LOG_LEVEL_ERROR, "event loop: %s", strerror(-rc));
		rc = rc < 0 ? 1 : 0;
		notify(d, "STOPPING=1\nSTATUS=stopping");
	} else {
		notify(d, "STATUS=failed to start\nERRNO=%d", rc == 2 ? EINVAL : EIO);
	}
	shutdown_all(d);
	free(d);
	return rc;
}
