/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's INI configuration: embedded defaults, line-precise errors. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nft-tc-offload/config.h"
#include "nft-tc-offload/ini.h"

#define CONFIG_FILE_MAX (256u << 10)

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->source, sizeof(c->source), "kernel");
	snprintf(c->profile_dir, sizeof(c->profile_dir), "/etc/nft-tc-offload/profiles");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/nft-tc-offload/control.sock");
	c->control_mode = 0600;
	c->log_level = LOG_LEVEL_INFO;
	c->debounce_ms = 500;
	c->netstate_debounce_ms = 100;
	c->on_stop = CONFIG_STOP_REMOVE;
	c->rcvbuf_max_kb = 64 * 1024;
	c->ct_nat = true;
	c->flow_tcp_first = true;
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};

const char *log_level_name(enum log_level l)
{
	return (unsigned)l < 4 ? level_names[l] : "?";
}

struct parse {
	struct config *c;
	const char *origin;
	char *err;
	size_t errlen;
	enum { S_NONE, S_DAEMON, S_CT, S_FLOW, S_DEVICE } section;
	struct config_device *dev;
};

static int fail(struct parse *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parse *p, unsigned line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%u: error: %s", p->origin, line, msg);
	return -1;
}

static bool parse_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!*v || *v == '-')
		return false;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end || x > max)
		return false;
	*out = x;
	return true;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") ||
	    !strcasecmp(v, "on"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
	         !strcasecmp(v, "off"))
		*out = false;
	else
		return false;
	return true;
}

static int set_string(struct parse *p, unsigned line, const char *name, const char *v, char *dst,
                      size_t len)
{
	if (strlen(v) >= len)
		return fail(p, line, "%s: longer than %zu characters", name, len - 1);
	snprintf(dst, len, "%s", v);
	return 0;
}

static int number(struct parse *p, unsigned line, const char *name, const char *v, uint64_t max,
                  uint64_t *out)
{
	if (!parse_u64(v, max, out))
		return fail(p, line, "%s: \"%s\" is not a number from 0 to %" PRIu64, name, v, max);
	return 0;
}

static int daemon_key(struct parse *p, const char *n, const char *v, unsigned line)
{
	struct config *c = p->c;
	uint64_t x = 0; /* set by number(); gcc -O3 cannot see that */

	if (!strcmp(n, "source")) {
		if (strcmp(v, "kernel") && v[0] != '/')
			return fail(p, line,
			            "source: \"kernel\" or an absolute path to an nft file");
		return set_string(p, line, n, v, c->source, sizeof(c->source));
	}
	if (!strcmp(n, "profile_dir"))
		return set_string(p, line, n, v, c->profile_dir, sizeof(c->profile_dir));
	if (!strcmp(n, "control_socket")) {
		if (v[0] != '/')
			return fail(p, line, "control_socket: an absolute path");
		return set_string(p, line, n, v, c->control_socket, sizeof(c->control_socket));
	}
	if (!strcmp(n, "control_mode")) {
		char *end;
		unsigned long m;

		errno = 0;
		m = strtoul(v, &end, 8);
		if (errno || *end || !*v || m > 0666)
			return fail(p, line, "control_mode: octal permission bits, at most 0666");
		c->control_mode = (mode_t)m;
		return 0;
	}
	if (!strcmp(n, "control_group"))
		return set_string(p, line, n, v, c->control_group, sizeof(c->control_group));
	if (!strcmp(n, "log_level")) {
		for (unsigned i = 0; i < 4; i++) {
			if (!strcmp(v, level_names[i])) {
				c->log_level = (enum log_level)i;
				return 0;
			}
		}
		return fail(p, line, "log_level: error, warning, info or debug");
	}
	if (!strcmp(n, "stats_interval_ms")) {
		if (number(p, line, n, v, 3600000, &x))
			return -1;
		c->stats_interval_ms = (unsigned)x;
		return 0;
	}
	if (!strcmp(n, "debounce_ms")) {
		if (number(p, line, n, v, 60000, &x))
			return -1;
		c->debounce_ms = (unsigned)x;
		return 0;
	}
	if (!strcmp(n, "netstate_debounce_ms")) {
		if (number(p, line, n, v, 60000, &x))
			return -1;
		c->netstate_debounce_ms = (unsigned)x;
		return 0;
	}
	if (!strcmp(n, "on_stop")) {
		if (!strcmp(v, "remove"))
			c->on_stop = CONFIG_STOP_REMOVE;
		else if (!strcmp(v, "keep"))
			c->on_stop = CONFIG_STOP_KEEP;
		else
			return fail(p, line, "on_stop: remove or keep");
		return 0;
	}
	if (!strcmp(n, "rcvbuf_max_kb")) {
		if (number(p, line, n, v, 1024 * 1024, &x))
			return -1;
		if (x < 256)
			return fail(p, line, "rcvbuf_max_kb: at least 256");
		c->rcvbuf_max_kb = (unsigned)x;
		return 0;
	}
	return fail(p, line,
	            "unknown key \"%s\" in [daemon] (source, profile_dir, control_socket, "
	            "control_mode, control_group, log_level, stats_interval_ms, debounce_ms, "
	            "netstate_debounce_ms, on_stop, rcvbuf_max_kb)",
	            n);
}

static int ct_key(struct parse *p, const char *n, const char *v, unsigned line)
{
	uint64_t x = 0; /* set by number(); gcc -O3 cannot see that */

	if (!strcmp(n, "zone")) {
		if (number(p, line, n, v, 65535, &x))
			return -1;
		p->c->ct_zone = (uint16_t)x;
		p->c->ct_zone_set = true;
		return 0;
	}
	if (!strcmp(n, "nat")) {
		if (!parse_bool(v, &p->c->ct_nat))
			return fail(p, line, "nat: yes or no");
		return 0;
	}
	return fail(p, line, "unknown key \"%s\" in [ct] (zone, nat)", n);
}

static int flow_key(struct parse *p, const char *n, const char *v, unsigned line)
{
	struct config *c = p->c;

	if (!strcmp(n, "min_packets"))
		return number(p, line, n, v, UINT64_MAX, &c->flow_min_packets);
	if (!strcmp(n, "min_bytes"))
		return number(p, line, n, v, UINT64_MAX, &c->flow_min_bytes);
	if (!strcmp(n, "max_flows"))
		return number(p, line, n, v, UINT64_MAX, &c->flow_max);
	if (!strcmp(n, "prefer")) {
		if (!strcmp(v, "tcp"))
			c->flow_tcp_first = true;
		else if (!strcmp(v, "none"))
			c->flow_tcp_first = false;
		else
			return fail(p, line, "prefer: tcp or none");
		return 0;
	}
	return fail(p, line,
	            "unknown key \"%s\" in [flow] (min_packets, min_bytes, max_flows, prefer)", n);
}

static int begin_section(struct parse *p, const char *name, unsigned line)
{
	const char *dev;

	p->dev = NULL;
	if (!strcmp(name, "daemon")) {
		p->section = S_DAEMON;
		return 0;
	}
	if (!strcmp(name, "ct")) {
		p->section = S_CT;
		return 0;
	}
	if (!strcmp(name, "flow")) {
		p->section = S_FLOW;
		return 0;
	}
	if (strncmp(name, "device ", 7) == 0) {
		char buf[IFNAMSIZ];
		size_t len;

		/* [device eth0] or [device "eth0"] */
		dev = name + 7;
		while (*dev == ' ')
			dev++;
		len = strlen(dev);
		if (len >= 2 && dev[0] == '"' && dev[len - 1] == '"') {
			dev++;
			len -= 2;
		}
		if (len == 0 || len >= IFNAMSIZ || memchr(dev, ' ', len) || memchr(dev, '/', len) ||
		    memchr(dev, '"', len))
			return fail(
			    p, line,
			    "[device NAME]: a device name of 1 to %d characters, no spaces, "
			    "quotes or '/'",
			    IFNAMSIZ - 1);
		memcpy(buf, dev, len);
		buf[len] = '\0';
		for (size_t i = 0; i < p->c->n_devices; i++)
			if (!strcmp(p->c->devices[i].name, buf))
				return fail(p, line, "[device %s] already given at line %u", buf,
				            p->c->devices[i].line);
		if (p->c->n_devices == CONFIG_MAX_DEVICES)
			return fail(p, line, "more than %d [device] sections", CONFIG_MAX_DEVICES);
		p->dev = &p->c->devices[p->c->n_devices++];
		memset(p->dev, 0, sizeof(*p->dev));
		memcpy(p->dev->name, buf, len + 1);
		p->dev->line = line;
		p->section = S_DEVICE;
		return 0;
	}
	return fail(p, line, "unknown section [%s] (daemon, ct, flow, device NAME)", name);
}

static int on_line(void *ctx, const char *section, const char *name, const char *value,
                   unsigned line)
{
	struct parse *p = ctx;

	if (!name)
		return begin_section(p, section, line);
	switch (p->section) {
	case S_DAEMON:
		return daemon_key(p, name, value, line);
	case S_CT:
		return ct_key(p, name, value, line);
	case S_FLOW:
		return flow_key(p, name, value, line);
	case S_DEVICE:
		if (strcmp(name, "profile"))
			return fail(p, line, "unknown key \"%s\" in [device %s] (profile)", name,
			            p->dev->name);
		if (!value[0])
			return fail(p, line, "profile: a profile name, or none");
		return set_string(p, line, name, value, p->dev->profile, sizeof(p->dev->profile));
	case S_NONE:
		break;
	}
	return fail(p, line, "\"%s\" outside a section", name);
}

int config_parse(const char *text, const char *origin, struct config *c, char *err, size_t errlen)
{
	struct parse p = {.c = c, .origin = origin, .err = err, .errlen = errlen};

	return ini_parse_text(text, origin, on_line, &p, err, errlen);
}

int config_load(const char *path, bool allow_missing, struct config *c, char *err, size_t errlen)
{
	char *text;
	int rc;

	config_defaults(c);
	if (allow_missing && access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	text = ini_read_file(path, CONFIG_FILE_MAX, err, errlen);
	if (!text)
		return -1;
	rc = config_parse(text, path, c, err, errlen);
	free(text);
	return rc;
}
