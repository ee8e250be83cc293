/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flowrt.h: the core (core.c) on the daemon's loop, with the real kernel behind it.
 *
 *  - conntrack events: a non-blocking subscription (NEW / UPDATE / DESTROY) on the loop; each
 *    readable callback reads everything queued, then flushes the pending rule operations
 *    once (events arriving together become one install batch). On ENOBUFS (events lost) the
 *    overrun is counted, the receive buffer doubled up to [daemon] rcvbuf_max_kb, and one
 *    resync dump scheduled (coalesced: further overruns before it runs add nothing).
 *  - a full dump at start and on resyncs, through a second conntrack handle (also used for
 *    the timeout refreshes and the TCP be_liberal updates).
 *  - a stats timer (stats_interval_ms, else the profiles' smallest): rule stats in one get
 *    batch, conntrack timeouts refreshed for flows whose rules carried packets, idle flows'
 *    rules deleted; a dump when flows wait for the packet policy or for capacity.
 *  - netstate changes: debounced (50 ms), then one snapshot and a re-resolution.
 *
 * Conntrack accounting: the packet counters userspace can read (CTA_COUNTERS) cannot be set:
 * ctnetlink's change path (ctnetlink_change_conntrack, 6.1) takes helper, timeout, status,
 * protoinfo, mark, seq-adjust, synproxy and labels only, and creation ignores counters too; the
 * only write is zeroing (IPCTNL_MSG_CT_GET_CTRZERO). So packets carried by tc are not added to
 * conntrack's counters; the runtime reports what its rules carried instead (status
 * "carried_packets", and per deleted flow in the log).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flowrt_int.h"
#include "nft-tc-offload/install.h"

#define FR_NETSTATE_DEBOUNCE_MS 50
#define FR_CT_RCVBUF_START      (1u << 20)
#define FR_EVENTS_PER_READ      4096

struct flowrt {
	struct flowrt_opts o;
	struct fr_core *core;
	struct nfct_handle *evh; /* events */
	struct nfct_handle *qh;  /* dumps, timeout refreshes, be_liberal */
	struct ct_handler ev_handler, dump_handler;
	unsigned ev_budget; /* events left in this read (ev_handler.budget) */
	struct ev_timer *stats_t, *resync_t, *netstate_t;
	bool fd_added;
	size_t rcvbuf, rcvbuf_max;
	char acct_note[200];
	char timeout_note[400];
	bool acct_by_us;
};

__attribute__((format(printf, 3, 4))) static void rlog(struct flowrt *rt, enum log_level l,
                                                       const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!rt->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rt->o.log(rt->o.log_ctx, l, "%s", buf);
}

static uint32_t now_s(void)
{
	return (uint32_t)(ev_now_ms() / 1000);
}

/* ---- sysctls (read and written as files: no shelling out) ---- */

static int sysctl_read(const char *name, long *v)
{
	char path[160], buf[32];
	FILE *f;
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "/proc/sys/net/netfilter/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fgets(buf, sizeof(buf), f)) {
		*v = strtol(buf, NULL, 10);
		rc = 0;
	}
	fclose(f);
	return rc;
}

static int sysctl_write(const char *name, const char *v)
{
	char path[160];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/netfilter/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	if (fputs(v, f) < 0)
		rc = -EIO;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	return rc;
}

/* ---- the backend ---- */

static int be_clsact(void *ctx, uint32_t ifindex, char *why, size_t len)
{
	struct flowrt *rt = ctx;
	struct nlc_extack ext;
	int rc = nlc_tc_ensure_clsact(rt->o.rtnl, ifindex, &ext);

	if (rc)
		snprintf(why, len, "clsact on ifindex %u: %s", ifindex, ext.msg);
	return rc;
}

static int be_replace(void *ctx, const struct tc_rule *r, size_t n, struct nlc_tc_result *res)
{
	struct flowrt *rt = ctx;

	return nlc_tc_replace_batch(rt->o.rtnl, r, n, res, NULL, NULL);
}

static int be_del(void *ctx, const struct tc_rule *r, size_t n, struct nlc_tc_result *res)
{
	struct flowrt *rt = ctx;

	return nlc_tc_delete_batch(rt->o.rtnl, r, n, res, NULL);
}

/*
 * The stats poll's counters. From FR_STATS_DUMP_MIN rules on, one terse dump of each device
 * instead of a get each: a get makes the kernel fill, and us read, the whole rule (about 1 KB
 * of match and action options) for two counters. With 1,000 connections in the lab VM the
 * gets' reading was the daemon's largest cost, and a poll held the loop for seconds while
 * installs and conntrack events waited (lab.daemon_flow step 8). The time of last use is not
 * in a terse dump: the engine then takes the poll's time for a rule whose counters moved.
 */
#define FR_STATS_DUMP_MIN 32

static int be_get(void *ctx, const struct tc_id *ids, size_t n, struct nlc_tc_result *res)
{
	struct flowrt *rt = ctx;

	if (n >= FR_STATS_DUMP_MIN)
		return nlc_tc_stats_dump(rt->o.rtnl, ids, n, res);
	return nlc_tc_get_batch(rt->o.rtnl, ids, n, res, NULL, NULL);
}

static int be_refresh(void *ctx, const struct ct_key *k, uint32_t timeout_s)
{
	struct flowrt *rt = ctx;

	return ct_refresh_timeout(rt->qh, k, timeout_s);
}

static int be_liberal(void *ctx, const struct ct_key *k)
{
	struct flowrt *rt = ctx;

	return ct_set_tcp_liberal(rt->qh, k);
}

static int be_dump(void *ctx, struct fr_core *core)
{
	struct flowrt *rt = ctx;

	(void)core;
	return ct_dump(rt->qh, &rt->dump_handler);
}

/* ---- conntrack ---- */

static int on_event(void *ctx, const struct ct_event *ev)
{
	struct flowrt *rt = ctx;

	fr_event(rt->core, ev, now_s());
	return 0;
}

static int on_dump_entry(void *ctx, const struct ct_event *ev)
{
	struct flowrt *rt = ctx;

	fr_dump_entry(rt->core, ev);
	return 0;
}

static void set_ct_rcvbuf(struct flowrt *rt, size_t bytes)
{
	int fd = nfct_fd(rt->evh);
	int v = (int)bytes;
	socklen_t l = sizeof(v);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0)
		rt->rcvbuf = (size_t)v;
	rt->rcvbuf = bytes > rt->rcvbuf ? bytes : rt->rcvbuf;
}

static void publish_info(struct flowrt *rt)
{
	struct fr_sock_info si = {
	    .ct_rcvbuf = rt->rcvbuf,
	    .acct_enabled_by_us = rt->acct_by_us,
	    .acct_note = rt->acct_note[0] ? rt->acct_note : NULL,
	    .timeout_note = rt->timeout_note[0] ? rt->timeout_note : NULL,
	};

	fr_set_sock_info(rt->core, &si);
}

static void schedule_resync(struct flowrt *rt)
{
	if (rt->resync_t && !ev_timer_armed(rt->resync_t))
		ev_timer_arm(rt->resync_t, 1, 0);
}

static void on_ct_readable(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct flowrt *rt = arg;
	int rc;

	(void)loop;
	(void)fd;
	(void)events;
	/* FR_EVENTS_PER_READ at most, then back to the loop (the socket stays readable): the
	 * control socket, the stats poll and the installs of what was read go on under an
	 * event storm */
	rt->ev_budget = FR_EVENTS_PER_READ;
	for (int tries = 0; tries < 8; tries++) {
		rc = ct_events_read(rt->evh, &rt->ev_handler);
		if (rc == -EAGAIN)
			rc = 0;
		if (rc != -ENOBUFS)
			break;
		fr_counters_mut(rt->core)->enobufs++;
		if (rt->rcvbuf < rt->rcvbuf_max) {
			size_t want =
			    rt->rcvbuf * 2 < rt->rcvbuf_max ? rt->rcvbuf * 2 : rt->rcvbuf_max;

			set_ct_rcvbuf(rt, want);
			rlog(rt, LOG_LEVEL_WARNING,
			     "conntrack events lost (receive buffer overrun): buffer now %zu KiB, "
			     "resync scheduled",
			     rt->rcvbuf / 1024);
		} else {
			rlog(rt, LOG_LEVEL_WARNING,
			     "conntrack events lost (receive buffer overrun at the %zu KiB cap): "
			     "resync scheduled",
			     rt->rcvbuf / 1024);
		}
		publish_info(rt);
		schedule_resync(rt);
	}
	if (rc && rc != -ENOBUFS)
		rlog(rt, LOG_LEVEL_ERROR, "conntrack events: %s", strerror(-rc));
	fr_flush(rt->core);
}

static void on_resync(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct flowrt *rt = arg;

	(void)loop;
	(void)t;
	fr_counters_mut(rt->core)->resyncs++;
	/* read what is queued first: the dump then supersedes it */
	rt->ev_budget = UINT_MAX; /* all of it: the dump then supersedes it */
	ct_events_read(rt->evh, &rt->ev_handler);
	if (fr_resync(rt->core, now_s()) == -ENOBUFS)
		schedule_resync(rt);
	fr_flush(rt->core);
}

static void on_stats(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct flowrt *rt = arg;

	(void)loop;
	(void)t;
	if (fr_poll(rt->core, now_s()))
		fr_recheck(rt->core, now_s());
	fr_flush(rt->core);
}

/* True when the network now forwards differently (or when no new snapshot could be taken:
 * then everything is looked at again against the old one, as before). */
static bool take_snapshot(struct flowrt *rt)
{
	struct netstate_snapshot snap;
	int rc;

	if (!rt->o.netstate)
		return true;
	memset(&snap, 0, sizeof(snap));
	rc = netstate_snapshot(rt->o.netstate, &snap);
	if (rc) {
		rlog(rt, LOG_LEVEL_ERROR, "network state snapshot: %s", strerror(-rc));
		return true;
	}
	return fr_set_snapshot(rt->core, &snap);
}

static void on_netstate(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct flowrt *rt = arg;

	(void)loop;
	(void)t;
	fr_reresolve(rt->core, now_s(), take_snapshot(rt));
}

void flowrt_netstate_changed(struct flowrt *rt)
{
	if (rt && rt->netstate_t && !ev_timer_armed(rt->netstate_t))
		ev_timer_arm(rt->netstate_t, FR_NETSTATE_DEBOUNCE_MS, 0);
}

/* ---- life cycle ---- */

static void check_acct(struct flowrt *rt, const struct config *cfg, bool *acct)
{
	long v = 0;
	int rc = sysctl_read("nf_conntrack_acct", &v);
	bool policy = cfg && (cfg->flow_min_packets || cfg->flow_min_bytes);

	*acct = rc == 0 && v != 0;
	if (*acct || !policy)
		return;
	rc = sysctl_write("nf_conntrack_acct", "1");
	if (rc == 0) {
		*acct = true;
		rt->acct_by_us = true;
		snprintf(
		    rt->acct_note, sizeof(rt->acct_note),
		    "net.netfilter.nf_conntrack_acct was 0: set to 1 for [flow] min_packets / "
		    "min_bytes (connections older than that have no counters and are not held)");
		rlog(rt, LOG_LEVEL_INFO, "%s", rt->acct_note);
		return;
	}
	snprintf(rt->acct_note, sizeof(rt->acct_note),
	         "net.netfilter.nf_conntrack_acct is off and could not be set (%s): [flow] "
	         "min_packets / min_bytes are not applied",
	         strerror(-rc));
	rlog(rt, LOG_LEVEL_WARNING, "%s", rt->acct_note);
}

/* The cookie owners of the plan's flow-strategy flowtables. */
struct owners {
	uint32_t v[64];
	size_t n;
};

static bool owned_by_flow(void *ctx, const struct tc_rule *r)
{
	const struct owners *o = ctx;
	uint32_t owner = nto_cookie_owner_of(r);

	for (size_t i = 0; i < o->n; i++)
		if (o->v[i] == owner)
			return true;
	return false;
}

struct adopt_reset_ctx {
	struct flowrt *rt;
	uint32_t ifindex;
};

static void adopt_cb_reset(void *ctx, enum tc_hook hook)
{
	struct adopt_reset_ctx *c = ctx;

	fr_adopt_reset(c->rt->core, c->ifindex, hook);
}

static int adopt_cb_rule(void *ctx, const struct tc_brief *b)
{
	struct adopt_reset_ctx *c = ctx;

	return fr_adopt_rule(c->rt->core, b);
}

#define FR_MAX_DEVS 256

static bool has_dev(const uint32_t *devs, size_t n, uint32_t ifindex)
{
	for (size_t k = 0; k < n; k++)
		if (devs[k] == ifindex)
			return true;
	return false;
}

static bool has_owner(const struct owners *o, uint32_t owner)
{
	for (size_t k = 0; k < o->n; k++)
		if (o->v[k] == owner)
			return true;
	return false;
}

/* The flow strategy's part of a plan: its flowtables' cookie owners and their present
 * devices (at most FR_MAX_DEVS). Returns the number of devices. */
static size_t flow_scope(const struct plan *plan, struct owners *o, uint32_t *devs)
{
	size_t n = 0;

	o->n = 0;
	for (size_t f = 0; plan && f < plan->n_flowtables; f++) {
		const struct plan_flowtable *pf = &plan->flowtables[f];

		if (pf->strategy != PROFILE_STRATEGY_FLOW || pf->reason ||
		    o->n == sizeof(o->v) / sizeof(o->v[0]))
			continue;
		o->v[o->n++] = nto_cookie_owner(nft_family_name(pf->table->family), pf->table->name,
		                                pf->flowtable->name);
		for (size_t i = 0; i < pf->n_devices && n < FR_MAX_DEVS; i++)
			if (pf->devices[i].present && pf->devices[i].ifindex &&
			    !has_dev(devs, n, pf->devices[i].ifindex))
				devs[n++] = pf->devices[i].ifindex;
	}
	return n;
}

/*
 * Prepares the flow-strategy devices: a clsact qdisc on each, and a previous run's
 * per-connection rules (kill -9, crash, on_stop = keep) indexed for adoption by the start-up
 * conntrack dump (fr_adopt_*: equal rules of live connections are kept, the rest replaced or
 * deleted), read from a terse dump (nlc_tc_dump_brief). Only rules whose cookie names one of
 * the plan's flow-strategy flowtables, on their devices. When a device's dump fails, adoption
 * is dropped and those rules are deleted instead
 * (the conntrack dump installs fresh ones). Returns the number deleted that way (0 when
 * adopting), or a negative errno.
 */
static long remove_leftovers(struct flowrt *rt, const struct plan *plan, char *err, size_t errlen)
{
	uint64_t t0, t1, t2;
	struct owners o;
	uint32_t devs[FR_MAX_DEVS];
	size_t n = flow_scope(plan, &o, devs);

	if (!n)
		return 0;
	t0 = ev_now_ms();
	/* clsact now rather than at the first connection: creating it may load sch_ingress,
	 * which delayed the first connection's rules by ~0.5 s in the lab VM */
	for (size_t i = 0; i < n; i++) {
		struct nlc_extack ext;

		if (nlc_tc_ensure_clsact(rt->o.rtnl, devs[i], &ext))
			rlog(rt, LOG_LEVEL_WARNING, "flow: clsact on ifindex %u: %s", devs[i],
			     ext.msg[0] ? ext.msg : "refused");
	}
	t1 = ev_now_ms();
	fr_adopt_begin(rt->core);
	for (size_t i = 0; i < n; i++) {
		struct adopt_reset_ctx c = {.rt = rt, .ifindex = devs[i]};
		struct nlc_tc_brief_dump_cb cb = {
		    .rule = adopt_cb_rule, .reset = adopt_cb_reset, .ctx = &c, .no_stats = true};
		struct nlc_extack ext;
		int rc;

		memset(&ext, 0, sizeof(ext));
		rc = nlc_tc_dump_brief(rt->o.rtnl, devs[i], &cb, NULL, &ext);
		if (rc && rc != -ENODEV && rc != -ENOENT && rc != -EINVAL) {
			rlog(rt, LOG_LEVEL_WARNING,
			     "flow: dump of ifindex %u for adoption: %s%s%s: rules of an earlier "
			     "run are deleted instead",
			     devs[i], strerror(-rc), ext.msg[0] ? ": " : "", ext.msg);
			fr_adopt_abort(rt->core);
			return flush_owned_match(rt->o.rtnl, devs, n, owned_by_flow, &o, err,
			                         errlen);
		}
	}
	t2 = ev_now_ms();
	fr_adopt_index(rt->core);
	rlog(rt, LOG_LEVEL_INFO, "flow: adoption index: clsact %llu ms, dump %llu ms, sort %llu ms",
	     (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1),
	     (unsigned long long)(ev_now_ms() - t2));
	return 0;
}

/*
 * A software flowtable (`flow add @ft` without `flags offload`) also takes the connections we
 * offload, until our rules carry their packets: then its entry idles out after
 * nf_flowtable_{tcp,udp}_timeout, and 6.1's flow_offload_fixup_ct() sets the conntrack timeout
 * to the state's timeout minus that (clamped at 0). With an established timeout at or below the
 * flowtable's, the conntrack entry dies at once, and our refresh cannot help (the kernel answers
 * EOPNOTSUPP while the flowtable holds the entry). Found in lab.daemon_flow with the timeout at
 * 15 s; worth a warning.
 */
static void check_flowtable_timeouts(struct flowrt *rt)
{
	static const char *const pairs[2][2] = {
	    {"nf_conntrack_tcp_timeout_established", "nf_flowtable_tcp_timeout"},
	    {"nf_conntrack_udp_timeout_stream", "nf_flowtable_udp_timeout"},
	};
	size_t at = 0;

	for (int i = 0; i < 2; i++) {
		long ct = 0, ft = 0;

		if (sysctl_read(pairs[i][0], &ct) || sysctl_read(pairs[i][1], &ft) || ct > ft)
			continue;
		at += (size_t)snprintf(rt->timeout_note + at, sizeof(rt->timeout_note) - at,
		                       "%s%s (%ld s) <= %s (%ld s)", at ? "; " : "", pairs[i][0],
		                       ct, pairs[i][1], ft);
		if (at >= sizeof(rt->timeout_note))
			break;
	}
	if (!at)
		return;
	if (at < sizeof(rt->timeout_note))
		snprintf(
		    rt->timeout_note + at, sizeof(rt->timeout_note) - at,
		    ": a connection a software flowtable held dies when its flowtable entry idles "
		    "out; raise the conntrack timeout or lower the flowtable's");
	rlog(rt, LOG_LEVEL_WARNING, "flow: %s", rt->timeout_note);
}

/*
 * The adoption a start and a re-plan share: the plan's flow devices dumped tersely and their
 * rules of ours indexed (remove_leftovers), the network snapshot, the conntrack dump (equal
 * rules of live connections adopted, changed ones replaced in place), the unclaimed rules
 * deleted, the installs sent. t[]: when the conntrack dump began, ended, and the deletes
 * ended (ev_now_ms). Returns the conntrack dump's result (on failure a resync is scheduled).
 */
static int reconcile(struct flowrt *rt, const struct plan *plan, const char *what, uint64_t t[3])
{
	char why[512];
	long gone = remove_leftovers(rt, plan, why, sizeof(why));
	int rc;

	if (gone < 0)
		rlog(rt, LOG_LEVEL_WARNING, "flow: %s: per-connection rules found installed: %s",
		     what, why);
	else if (gone > 0)
		rlog(rt, LOG_LEVEL_INFO,
		     "flow: %s: deleted %ld per-connection rules found installed; live "
		     "connections are offloaded again from the conntrack dump",
		     what, gone);
	t[0] = ev_now_ms();
	take_snapshot(rt);
	rc = fr_resync(rt->core, now_s());
	if (rc) {
		rlog(rt, LOG_LEVEL_WARNING, "flow: %s: conntrack dump: %s (retried)", what,
		     strerror(-rc));
		schedule_resync(rt);
	}
	t[1] = ev_now_ms();
	fr_adopt_end(rt->core);
	t[2] = ev_now_ms();
	fr_flush(rt->core);
	return rc;
}

int flowrt_start(struct flowrt **out, const struct flowrt_opts *o, const struct plan *plan,
                 char *err, size_t errlen)
{
	struct flowrt *rt;
	struct fr_params p;
	uint64_t t0, t[3];
	long v = 0;
	int rc;

	*out = NULL;
	if (!o || !o->loop || !o->rtnl) {
		snprintf(err, errlen, "flowrt: a loop and a netlink socket are required");
		return -EINVAL;
	}
	rt = calloc(1, sizeof(*rt));
	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rt->o = *o;
	rt->ev_handler = (struct ct_handler){.fn = on_event, .ctx = rt, .budget = &rt->ev_budget};
	rt->dump_handler = (struct ct_handler){.fn = on_dump_entry, .ctx = rt};
	rt->rcvbuf_max = o->cfg && o->cfg->rcvbuf_max_kb ? (size_t)o->cfg->rcvbuf_max_kb * 1024
	                                                 : (size_t)64 << 20;

	memset(&p, 0, sizeof(p));
	p.plan = plan;
	p.cfg = o->cfg;
	p.log = o->log;
	p.log_ctx = o->log_ctx;
	p.be = (struct fr_backend){
	    .clsact = be_clsact,
	    .replace = be_replace,
	    .del = be_del,
	    .get = be_get,
	    .refresh = be_refresh,
	    .liberal = be_liberal,
	    .dump = be_dump,
	    .ctx = rt,
	};
	check_acct(rt, o->cfg, &p.acct);
	/* refresh to the kernel's own timeouts for the state */
	if (sysctl_read("nf_conntrack_tcp_timeout_established", &v) == 0 && v > 0)
		p.tcp_timeout_s = (uint32_t)v;
	if (sysctl_read("nf_conntrack_udp_timeout_stream", &v) == 0 && v > 0)
		p.udp_timeout_s = (uint32_t)v;
	check_flowtable_timeouts(rt);
	rc = fr_create(&rt->core, &p, err, errlen);
	if (rc)
		goto fail;

	rt->evh = ct_events_open(&rc);
	if (!rt->evh) {
		snprintf(err, errlen, "conntrack event subscription: %s", strerror(-rc));
		goto fail;
	}
	rt->qh = nfct_open(CONNTRACK, 0);
	if (!rt->qh) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "conntrack query handle: %s", strerror(-rc));
		goto fail;
	}
	rc = ct_events_set_handler(rt->evh, &rt->ev_handler);
	if (rc) {
		snprintf(err, errlen, "conntrack event handler: %s", strerror(-rc));
		goto fail;
	}
	fcntl(nfct_fd(rt->evh), F_SETFL, fcntl(nfct_fd(rt->evh), F_GETFL) | O_NONBLOCK);
	set_ct_rcvbuf(rt,
	              FR_CT_RCVBUF_START < rt->rcvbuf_max ? FR_CT_RCVBUF_START : rt->rcvbuf_max);
	publish_info(rt);

	rt->stats_t = ev_timer_new(o->loop, on_stats, rt);
	rt->resync_t = ev_timer_new(o->loop, on_resync, rt);
	rt->netstate_t = ev_timer_new(o->loop, on_netstate, rt);
	if (!rt->stats_t || !rt->resync_t || !rt->netstate_t) {
		rc = -ENOMEM;
		snprintf(err, errlen, "timers: out of memory");
		goto fail;
	}
	rc = ev_loop_add_fd(o->loop, nfct_fd(rt->evh), on_ct_readable, rt);
	if (rc) {
		snprintf(err, errlen, "conntrack events on the loop: %s", strerror(-rc));
		goto fail;
	}
	rt->fd_added = true;
	t0 = ev_now_ms();
	/* the initial state: everything conntrack holds now (events queue meanwhile); rules of
	 * an earlier run that match are adopted, the rest deleted before the installs go out */
	reconcile(rt, plan, "start", t);
	{
		const struct fr_adopt_stats *as = fr_adopt_stats(rt->core);
		uint64_t ms = ev_now_ms() - t0;

		fr_set_startup_reconcile_ms(rt->core, ms);
		if (as->found)
			rlog(rt, LOG_LEVEL_INFO,
			     "flow: start-up reconcile in %llu ms (tc dump %llu, conntrack dump "
			     "%llu, deletes %llu, installs %llu): %llu rules of an earlier run "
			     "found, %llu adopted, %llu replaced, %llu deleted",
			     (unsigned long long)ms, (unsigned long long)(t[0] - t0),
			     (unsigned long long)(t[1] - t[0]), (unsigned long long)(t[2] - t[1]),
			     (unsigned long long)(ev_now_ms() - t[2]),
			     (unsigned long long)as->found, (unsigned long long)as->adopted,
			     (unsigned long long)as->replaced, (unsigned long long)as->deleted);
	}
	{
		unsigned ms = fr_stats_interval_ms(rt->core);

		/* the first poll at once: adopted connections' conntrack timeouts were last set by
		 * the earlier run, before its end and this start (with a short established timeout
		 * one ran out in that gap in lab.daemon_flow step 7) */
		ev_timer_arm(rt->stats_t, 1, ms);
	}
	rlog(rt, LOG_LEVEL_INFO,
	     "flow runtime: %zu flowtable(s), stats every %u ms, conntrack accounting %s",
	     fr_n_flowtables(rt->core), fr_stats_interval_ms(rt->core), p.acct ? "on" : "off");
	*out = rt;
	return 0;
fail:
	flowrt_stop(rt, false);
	return rc ? rc : -EIO;
}

/*
 * A new plan keeps the installed rules, the way a restart does: the engines are rebuilt empty,
 * the rules still wanted are adopted by the conntrack dump (nothing written when equal), the
 * rest replaced or deleted. Rules of flowtables the new plan drops are deleted on every device
 * of either plan; rules of kept flowtables on devices the new plan no longer names, on those.
 * (Before, a re-plan deleted every rule and installed everything again: on a router whose
 * ruleset changes often, each change took every offloaded connection back to software.)
 */
int flowrt_set_plan(struct flowrt *rt, const struct plan *plan)
{
	struct owners old_o, new_o, gone = {.n = 0}, kept = {.n = 0};
	uint32_t old_d[FR_MAX_DEVS], new_d[FR_MAX_DEVS], all[2 * FR_MAX_DEVS], dropped[FR_MAX_DEVS];
	size_t n_old = flow_scope(fr_plan(rt->core), &old_o, old_d);
	size_t n_new = flow_scope(plan, &new_o, new_d), n_all = 0, n_dropped = 0;
	char err[512];
	uint64_t t0 = ev_now_ms();
	uint64_t t[3];
	long gone_rules = 0, moved_rules = 0;
	int rc;

	for (size_t i = 0; i < old_o.n; i++) {
		if (has_owner(&new_o, old_o.v[i]))
			kept.v[kept.n++] = old_o.v[i];
		else
			gone.v[gone.n++] = old_o.v[i];
	}
	for (size_t i = 0; i < n_old; i++) {
		all[n_all++] = old_d[i];
		if (!has_dev(new_d, n_new, old_d[i]))
			dropped[n_dropped++] = old_d[i];
	}
	for (size_t i = 0; i < n_new; i++)
		if (!has_dev(all, n_all, new_d[i]))
			all[n_all++] = new_d[i];

	rc = fr_set_plan_keep(rt->core, plan, err, sizeof(err));
	if (rc) {
		rlog(rt, LOG_LEVEL_ERROR, "flow runtime: new plan: %s", err);
		return rc;
	}
	if (gone.n && n_all)
		gone_rules = flush_owned_match(rt->o.rtnl, all, n_all, owned_by_flow, &gone, err,
		                               sizeof(err));
	if (gone_rules < 0)
		rlog(rt, LOG_LEVEL_WARNING, "flow: rules of flowtables the plan dropped: %s", err);
	if (kept.n && n_dropped)
		moved_rules = flush_owned_match(rt->o.rtnl, dropped, n_dropped, owned_by_flow,
		                                &kept, err, sizeof(err));
	if (moved_rules < 0)
		rlog(rt, LOG_LEVEL_WARNING, "flow: rules on devices the plan dropped: %s", err);
	rc = reconcile(rt, plan, "re-plan", t);
	fr_set_replan_reconcile_ms(rt->core, ev_now_ms() - t0);
	{
		const struct fr_adopt_stats *as = fr_adopt_stats(rt->core);

		rlog(
		    rt, LOG_LEVEL_INFO,
		    "flow: re-plan in %llu ms: %llu rules found, %llu adopted, %llu replaced, %llu "
		    "deleted; %ld of dropped flowtables and %ld on dropped devices deleted",
		    (unsigned long long)as->reconcile_ms, (unsigned long long)as->found,
		    (unsigned long long)as->adopted, (unsigned long long)as->replaced,
		    (unsigned long long)as->deleted, gone_rules > 0 ? gone_rules : 0L,
		    moved_rules > 0 ? moved_rules : 0L);
	}
	return rc;
}

void flowrt_stop(struct flowrt *rt, bool remove_rules)
{
	if (!rt)
		return;
	if (rt->core && remove_rules)
		fr_remove_all(rt->core);
	if (rt->fd_added)
		ev_loop_del_fd(rt->o.loop, nfct_fd(rt->evh));
	ev_timer_free(rt->stats_t);
	ev_timer_free(rt->resync_t);
	ev_timer_free(rt->netstate_t);
	if (rt->evh)
		nfct_close(rt->evh);
	if (rt->qh)
		nfct_close(rt->qh);
	fr_destroy(rt->core);
	free(rt);
}

json_t *flowrt_status_json(const struct flowrt *rt)
{
	return fr_status_json(rt->core);
}

json_t *flowrt_flows_json(const struct flowrt *rt)
{
	json_t *a = fr_flows_json(rt->core), *f;
	json_int_t now = (json_int_t)now_s();
	size_t i;

	/* seconds since the rules last carried a packet, on the loop's clock (the engine's) */
	json_array_foreach(a, i, f)
	{
		json_t *la = json_object_get(f, "last_active_s");

		if (json_is_integer(la))
			json_object_set_new(f, "idle_s",
			                    json_integer(now > json_integer_value(la)
			                                     ? now - json_integer_value(la)
			                                     : 0));
	}
	return a;
}

int flowrt_explain(const struct flowrt *rt, const struct plan_query *q, char *buf, size_t len)
{
	return fr_explain(rt->core, q, buf, len);
}
