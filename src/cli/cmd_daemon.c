/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon and its operator commands:
 *   nft-tc-offload run [--config FILE]
 *   nft-tc-offload status [-j] [--socket PATH]
 *   nft-tc-offload flows [-j] [--socket PATH]
 *   nft-tc-offload explain [-j] [--socket PATH] SADDR DADDR [PROTO [SPORT DPORT]]
 *   nft-tc-offload rules [-j] [--socket PATH]
 *   nft-tc-offload metrics [-j] [--socket PATH]
 * The operator commands ask the running daemon over its control socket (ctl.h) and wait for its
 * answer --timeout SECONDS (default 10); the socket's
 * path comes from --socket, else from the configuration file (--config, else the default).
 *
 * Exit status: 0 done (explain: whether or not the connection is offloaded), 1 the daemon
 * could not be reached or refused the request, 2 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "nft-tc-offload/config.h"
#include "nft-tc-offload/ctl.h"
#include "nft-tc-offload/daemon.h"

#define CTL_TIMEOUT_MS 10000

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct daemon_args a = {0};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a.config_path = optarg;
			break;
		case 'h':
			printf("Usage: nft-tc-offload run [--config FILE]\n");
			return 0;
		default:
			fprintf(stderr, "Usage: nft-tc-offload run [--config FILE]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "Usage: nft-tc-offload run [--config FILE]\n");
		return 2;
	}
	return daemon_run(&a);
}

struct ctl_args {
	bool json;
	int timeout_ms;
	const char *socket;
	const char *config;
	int first; /* index of the first positional argument */
};

static int parse_ctl_args(const char *cmd, const char *usage, int argc, char **argv,
                          struct ctl_args *a)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},         {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'}, {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int c;
	char *end;
	long t;

	memset(a, 0, sizeof(*a));
	a->timeout_ms = CTL_TIMEOUT_MS;
	optind = 1;
	/* options anywhere (GNU permutation): `explain tcp ... -j` works too */
	while ((c = getopt_long(argc, argv, "js:c:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			t = strtol(optarg, &end, 10);
			if (*end || end == optarg || t < 1 || t > 3600) {
				fprintf(stderr, "%s: --timeout: 1 to 3600 seconds\n", cmd);
				return 2;
			}
			a->timeout_ms = (int)t * 1000;
			break;
		case 'j':
			a->json = true;
			break;
		case 's':
			a->socket = optarg;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 'h':
			printf("Usage: nft-tc-offload %s %s\n", cmd, usage);
			return -1;
		default:
			fprintf(stderr, "Usage: nft-tc-offload %s %s\n", cmd, usage);
			return 2;
		}
	}
	a->first = optind;
	return 0;
}

/* Sends the request; prints the error and returns NULL when it failed. */
static json_t *ask(const char *cmd, const struct ctl_args *a, const char *request)
{
	struct config cfg;
	char err[1024];
	const char *path = a->socket;
	json_t *r;

	if (!path) {
		if (config_load(a->config ? a->config : CONFIG_DEFAULT_PATH, !a->config, &cfg, err,
		                sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			return NULL;
		}
		path = cfg.control_socket;
	}
	r = ctl_request(path, request, a->timeout_ms, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return NULL;
	}
	if (!json_is_true(json_object_get(r, "ok"))) {
		const char *e = json_string_value(json_object_get(r, "error"));

		fprintf(stderr, "%s: the daemon says: %s\n", cmd, e ? e : "failed");
		json_decref(r);
		return NULL;
	}
	return r;
}

static void print_json(json_t *r)
{
	json_object_del(r, "ok");
	json_dumpf(r, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

static long long jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : dflt;
}

static void print_status(json_t *r)
{
	json_t *src = json_object_get(r, "sources"), *ct = json_object_get(r, "ct");
	json_t *ovr = json_object_get(r, "overruns"), *fts = json_object_get(r, "flowtables");
	json_t *flow = json_object_get(r, "flow"), *ft, *dev, *v;
	size_t i, k;

	printf("nft-tc-offload %s, pid %lld, up %llds, config %s\n", jstr(r, "version", "?"),
	       jint(r, "pid"), jint(r, "uptime_s"), jstr(r, "config", "?"));
	printf("source: %s%s; plan age %llds; reloads %lld (failed %lld); re-plans %lld "
	       "(unchanged %lld, failed %lld)\n",
	       jstr(src, "source", "?"),
	       json_is_true(json_object_get(src, "following")) ? " (following changes)" : "",
	       jint(src, "plan_age_s"), jint(r, "reloads"), jint(r, "reload_failures"),
	       jint(src, "replans"), jint(src, "replans_unchanged"), jint(src, "replan_failures"));
	if (json_is_string(json_object_get(r, "last_error")))
		printf("last error: %s\n", jstr(r, "last_error", ""));
	json_array_foreach(fts, i, ft)
	{
		const char *reason = jstr(ft, "reason", NULL);

		printf("flowtable %s %s %s: strategy %s%s%s%s\n", jstr(ft, "family", "?"),
		       jstr(ft, "table", "?"), jstr(ft, "name", "?"), jstr(ft, "strategy", "?"),
		       json_is_true(json_object_get(ft, "flags_offload")) ? " (flags offload)" : "",
		       reason ? ": not offloaded: " : "", reason ? reason : "");
		json_array_foreach(json_object_get(ft, "devices"), k, dev)
		{
			const char *why = jstr(dev, "reason", NULL);

			printf("  %-16s profile %-14s strategy %-5s", jstr(dev, "name", "?"),
			       jstr(dev, "profile", "-"), jstr(dev, "strategy", "-"));
			if (json_object_get(dev, "rules")) {
				printf(" rules %lld", jint(dev, "rules"));
				if (jint(dev, "capacity"))
					printf(" of %lld (%.1f%%)", jint(dev, "capacity"),
					       100.0 * (double)jint(dev, "rules") /
					           (double)jint(dev, "capacity"));
			}
			if (why)
				printf(" (%s)", why);
			printf("\n");
		}
	}
	json_array_foreach(json_object_get(r, "excluded_devices"), i, v)
	    printf("excluded by configuration: %s\n", json_string_value(v));
	if (json_is_object(ct)) {
		printf("ct: %lld chain-0 and %lld chain-1 rules; %lld syncs (%lld failed), %lld "
		       "refused",
		       jint(ct, "rules_chain0"), jint(ct, "rules_chain1"), jint(ct, "syncs"),
		       jint(ct, "sync_errors"), jint(ct, "refused"));
		v = json_object_get(ct, "last_sync");
		printf("; last sync: kept %lld, changed %lld, added %lld, deleted %lld\n",
		       jint(v, "kept"), jint(v, "changed"), jint(v, "added"), jint(v, "deleted"));
		if (json_is_string(json_object_get(ct, "last_error")))
			printf("ct: last error: %s\n", jstr(ct, "last_error", ""));
		json_array_foreach(json_object_get(ct, "notes"), i, v)
		    printf("ct: note: %s\n", json_string_value(v));
	}
	if (json_is_object(flow)) {
		json_t *c = json_object_get(flow, "conntrack"),
		       *nl = json_object_get(flow, "netlink");
		const char *key;

		printf("flow: %lld connections tracked, %lld offloaded, %lld in software",
		       jint(flow, "tracked"), jint(flow, "offloaded"), jint(flow, "in_software"));
		json_object_foreach(json_object_get(flow, "in_software_by_reason"), key, v)
		    printf("%s%s %lld",
		           v == json_object_iter_value(json_object_iter(
		                    json_object_get(flow, "in_software_by_reason")))
		               ? " ("
		               : ", ",
		           key, (long long)json_integer_value(v));
		if (json_object_size(json_object_get(flow, "in_software_by_reason")))
			printf(")");
		if (json_is_integer(json_object_get(flow, "capacity")))
			printf("; capacity %lld (%lld%% used)", jint(flow, "capacity"),
			       jint(flow, "capacity_used_percent"));
		printf("; our rules carried %lld packets\n", jint(flow, "carried_packets"));
		printf("flow: conntrack events %lld, overruns %lld, resyncs %lld, receive buffer "
		       "%lld; timeouts refreshed %lld; tc batches %lld (install errors %lld)\n",
		       jint(c, "events"), jint(c, "overruns"), jint(c, "resyncs"),
		       jint(c, "rcvbuf"), jint(c, "refresh_ok"), jint(nl, "batches"),
		       jint(nl, "install_errors"));
		if (json_is_string(json_object_get(c, "timeout_note")))
			printf("flow: warning: %s\n", jstr(c, "timeout_note", ""));
		if (json_is_string(json_object_get(c, "accounting_note")))
			printf("flow: note: %s\n", jstr(c, "accounting_note", ""));
	}
	printf("overruns: rtnetlink %lld, network state %lld, nft monitor %lld; resyncs %lld\n",
	       jint(ovr, "rtnl"), jint(ovr, "netstate"), jint(ovr, "nft_monitor"),
	       jint(ovr, "resyncs"));
}

int cmd_status(int argc, char **argv)
{
	struct ctl_args a;
	json_t *r;
	int rc = parse_ctl_args("status", "[-j] [--socket PATH | --config FILE]", argc, argv, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.first != argc) {
		fprintf(stderr,
		        "Usage: nft-tc-offload status [-j] [--socket PATH | --config FILE]\n");
		return 2;
	}
	r = ask("status", &a, "status");
	if (!r)
		return 1;
	if (a.json)
		print_json(r);
	else
		print_status(r);
	json_decref(r);
	return 0;
}

static void print_tuple(json_t *t)
{
	const char *src = jstr(t, "src", "?"), *dst = jstr(t, "dst", "?");
	bool v6 = strchr(src, ':') != NULL;

	printf("%s%s%s:%lld -> %s%s%s:%lld", v6 ? "[" : "", src, v6 ? "]" : "", jint(t, "sport"),
	       v6 ? "[" : "", dst, v6 ? "]" : "", jint(t, "dport"));
}

/* One connection of `flows`: tuples, state, then the rules' counters or the reason. */
static void print_flow(json_t *f)
{
	json_t *rules = json_object_get(f, "rules"), *rule;
	size_t i;

	printf("  %s ", jstr(f, "proto", "?"));
	print_tuple(json_object_get(f, "original"));
	printf(" reply ");
	print_tuple(json_object_get(f, "reply"));
	printf(" zone %lld %s%s%s", jint(f, "zone"), jstr(f, "tcp_state", ""),
	       json_object_get(f, "tcp_state") ? " " : "", jstr(f, "state", "?"));
	json_array_foreach(rules, i, rule) printf(
	    " %s %s handle 0x%llx %lld packets", jstr(rule, "dir", "?"), jstr(rule, "dev", "?"),
	    (unsigned long long)jint(rule, "handle"), jint(rule, "packets"));
	if (json_object_get(f, "idle_s"))
		printf(" idle %llds", jint(f, "idle_s"));
	if (json_is_string(json_object_get(f, "reason")))
		printf(" (%s)", jstr(f, "reason", ""));
	putchar('\n');
}

int cmd_flows(int argc, char **argv)
{
	struct ctl_args a;
	json_t *r, *f;
	size_t i;
	int rc = parse_ctl_args("flows", "[-j] [--socket PATH | --config FILE]", argc, argv, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.first != argc) {
		fprintf(stderr,
		        "Usage: nft-tc-offload flows [-j] [--socket PATH | --config FILE]\n");
		return 2;
	}
	r = ask("flows", &a, "flows");
	if (!r)
		return 1;
	if (a.json) {
		print_json(r);
	} else {
		if (json_is_string(json_object_get(r, "ct")))
			printf("%s\n", jstr(r, "ct", ""));
		printf("flow strategy: %zu connections\n",
		       json_array_size(json_object_get(r, "flows")));
		json_array_foreach(json_object_get(r, "flows"), i, f) print_flow(f);
	}
	json_decref(r);
	return 0;
}

int cmd_explain(int argc, char **argv)
{
	static const char *usage =
	    "[-j] [--socket PATH | --config FILE] SADDR DADDR [PROTO [SPORT DPORT]]";
	struct ctl_args a;
	char req[CTL_REQUEST_MAX];
	size_t at;
	json_t *r;
	int rc = parse_ctl_args("explain", usage, argc, argv, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc - a.first != 2 && argc - a.first != 3 && argc - a.first != 5) {
		fprintf(stderr, "Usage: nft-tc-offload explain %s\n", usage);
		return 2;
	}
	at = (size_t)snprintf(req, sizeof(req), "explain");
	for (int i = a.first; i < argc && at < sizeof(req); i++)
		at += (size_t)snprintf(req + at, sizeof(req) - at, " %s", argv[i]);
	if (at >= sizeof(req)) {
		fprintf(stderr, "explain: arguments too long\n");
		return 2;
	}
	r = ask("explain", &a, req);
	if (!r)
		return 1;
	if (a.json)
		print_json(r);
	else
		fputs(jstr(r, "text", ""), stdout);
	json_decref(r);
	return 0;
}

/* A command without positional arguments: asks the daemon, prints JSON or text (print). */
static int simple_cmd(const char *cmd, int argc, char **argv, void (*print)(json_t *r))
{
	static const char *usage = "[-j] [--socket PATH | --config FILE]";
	struct ctl_args a;
	json_t *r;
	int rc = parse_ctl_args(cmd, usage, argc, argv, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.first != argc) {
		fprintf(stderr, "Usage: nft-tc-offload %s %s\n", cmd, usage);
		return 2;
	}
	r = ask(cmd, &a, cmd);
	if (!r)
		return 1;
	if (a.json)
		print_json(r);
	else
		print(r);
	json_decref(r);
	return 0;
}

static void print_rules(json_t *r)
{
	json_t *rule;
	size_t i;

	json_array_foreach(json_object_get(r, "rules"), i, rule)
	{
		printf("%s\n", jstr(rule, "tc", "?"));
		printf(
		    "    # handle 0x%llx: %lld packets, %lld bytes (hardware %lld packets), last "
		    "used %lld ms ago, %s\n",
		    (unsigned long long)jint(rule, "handle"), jint(rule, "packets"),
		    jint(rule, "bytes"), jint(rule, "hw_packets"), jint(rule, "lastused_ms"),
		    json_is_true(json_object_get(rule, "in_hw"))       ? "in_hw"
		    : json_is_true(json_object_get(rule, "not_in_hw")) ? "not_in_hw"
		                                                       : "software");
	}
	printf("# %zu rules of ours on %zu devices (%lld filters of others left alone)\n",
	       json_array_size(json_object_get(r, "rules")),
	       json_array_size(json_object_get(r, "devices")), jint(r, "others"));
}

int cmd_rules(int argc, char **argv)
{
	return simple_cmd("rules", argc, argv, print_rules);
}

static void print_metrics(json_t *r)
{
	fputs(jstr(r, "text", ""), stdout);
}

int cmd_metrics(int argc, char **argv)
{
	return simple_cmd("metrics", argc, argv, print_metrics);
}
