/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Profile sets: names, loading (built-in and from a directory), lookup and device selection. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nft-tc-offload/profile.h"

#include "profile-private.h"

/* ---- names ---- */

const char *profile_strategy_name(enum profile_strategy s)
{
	switch (s) {
	case PROFILE_STRATEGY_CT:
		return "ct";
	case PROFILE_STRATEGY_FLOW:
		return "flow";
	case PROFILE_STRATEGY_NONE:
		break;
	}
	return NULL;
}

const char *profile_key_name(enum profile_key k)
{
	switch (k) {
	case PROFILE_KEY_INDEV:
		return "indev";
	case PROFILE_KEY_ETH_TYPE:
		return "eth_type";
	case PROFILE_KEY_ETH_ADDRS:
		return "eth_addrs";
	case PROFILE_KEY_VLAN:
		return "vlan";
	case PROFILE_KEY_CVLAN:
		return "cvlan";
	case PROFILE_KEY_IP_PROTO:
		return "ip_proto";
	case PROFILE_KEY_IPV4:
		return "ipv4";
	case PROFILE_KEY_IPV6:
		return "ipv6";
	case PROFILE_KEY_PORTS:
		return "ports";
	case PROFILE_KEY_TCP_FLAGS:
		return "tcp_flags";
	case PROFILE_KEY_IP_TOS:
		return "ip_tos";
	case PROFILE_KEY_IP_TTL:
		return "ip_ttl";
	case PROFILE_KEY_CT_STATE:
		return "ct_state";
	case PROFILE_KEY_CT_ZONE:
		return "ct_zone";
	case PROFILE_KEY_CT_MARK:
		return "ct_mark";
	case PROFILE_KEY_CT_LABEL:
		return "ct_label";
	}
	return NULL;
}

const char *profile_action_name(enum profile_action a)
{
	switch (a) {
	case PROFILE_ACT_CT:
		return "ct";
	case PROFILE_ACT_CT_NAT:
		return "ct_nat";
	case PROFILE_ACT_GACT:
		return "gact";
	case PROFILE_ACT_GOTO:
		return "goto";
	case PROFILE_ACT_MIRRED:
		return "mirred";
	case PROFILE_ACT_PEDIT_ETH:
		return "pedit_eth";
	case PROFILE_ACT_PEDIT_IP4:
		return "pedit_ip4";
	case PROFILE_ACT_PEDIT_IP6:
		return "pedit_ip6";
	case PROFILE_ACT_PEDIT_PORTS:
		return "pedit_ports";
	case PROFILE_ACT_PEDIT_TTL:
		return "pedit_ttl";
	case PROFILE_ACT_CSUM:
		return "csum";
	case PROFILE_ACT_VLAN_PUSH:
		return "vlan_push";
	case PROFILE_ACT_VLAN_POP:
		return "vlan_pop";
	case PROFILE_ACT_PPPOE_PUSH:
		return "pppoe_push";
	}
	return NULL;
}

static const struct {
	const char *name;
	uint16_t bit;
} ct_flags[] = {
    {"trk", TC_CT_TRACKED}, {"est", TC_CT_ESTABLISHED}, {"new", TC_CT_NEW},
    {"rel", TC_CT_RELATED}, {"rpl", TC_CT_REPLY},       {"inv", TC_CT_INVALID},
};

uint16_t profile_ct_flag_bit(const char *name)
{
	for (size_t i = 0; i < sizeof(ct_flags) / sizeof(ct_flags[0]); i++)
		if (strcmp(ct_flags[i].name, name) == 0)
			return ct_flags[i].bit;
	return 0;
}

const char *profile_ct_flag_name(uint16_t bit)
{
	for (size_t i = 0; i < sizeof(ct_flags) / sizeof(ct_flags[0]); i++)
		if (ct_flags[i].bit == bit)
			return ct_flags[i].name;
	return NULL;
}

/* ---- comparison ---- */

bool profile_equal(const struct profile *a, const struct profile *b)
{
	const struct profile_match *ma = &a->match, *mb = &b->match;

	if (strcmp(a->name, b->name) || strcmp(a->description, b->description) ||
	    strcmp(a->notes, b->notes) || a->strategy != b->strategy)
		return false;
	if (ma->n_drivers != mb->n_drivers || ma->n_pci_ids != mb->n_pci_ids ||
	    ma->n_ifnames != mb->n_ifnames || ma->priority != mb->priority)
		return false;
	for (unsigned i = 0; i < ma->n_drivers; i++)
		if (strcmp(ma->drivers[i], mb->drivers[i]))
			return false;
	for (unsigned i = 0; i < ma->n_pci_ids; i++)
		if (ma->pci_ids[i].vendor != mb->pci_ids[i].vendor ||
		    ma->pci_ids[i].device != mb->pci_ids[i].device ||
		    ma->pci_ids[i].any_device != mb->pci_ids[i].any_device)
			return false;
	for (unsigned i = 0; i < ma->n_ifnames; i++)
		if (strcmp(ma->ifnames[i], mb->ifnames[i]))
			return false;
	return a->keys == b->keys && a->required_keys == b->required_keys &&
	       a->ct_state_set == b->ct_state_set && a->ct_state_clear == b->ct_state_clear &&
	       a->actions == b->actions && a->ignored_actions == b->ignored_actions &&
	       a->max_actions == b->max_actions && a->max_vlan_tags == b->max_vlan_tags &&
	       a->vlan_protocols == b->vlan_protocols && a->hooks == b->hooks &&
	       a->skip_sw == b->skip_sw && a->switchdev == b->switchdev &&
	       a->has_ct_zones == b->has_ct_zones && a->ct_zone_min == b->ct_zone_min &&
	       a->ct_zone_max == b->ct_zone_max && a->capacity == b->capacity &&
	       a->stats_interval_ms == b->stats_interval_ms;
}

/* ---- sets ---- */

void profile_set_init(struct profile_set *s)
{
	s->n = 0;
	s->v = NULL;
}

void profile_set_free(struct profile_set *s)
{
	free(s->v);
	profile_set_init(s);
}

/* Index of name, or of where it would go (with *found false). */
static size_t set_index(const struct profile_set *s, const char *name, bool *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(s->v[mid].name, name);

		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

const struct profile *profile_set_find(const struct profile_set *s, const char *name)
{
	bool found;
	size_t i = set_index(s, name, &found);

	return found ? &s->v[i] : NULL;
}

int profile_set_add(struct profile_set *s, const struct profile *p, bool replace, char *err,
                    size_t errlen)
{
	bool found;
	size_t i = set_index(s, p->name, &found);
	struct profile *v;

	if (found) {
		if (!replace) {
			snprintf(
			    err, errlen,
			    "%s:%u: error: duplicate profile name '%s' (first defined at %s:%u)",
			    p->origin, p->origin_line, p->name, s->v[i].origin,
			    s->v[i].origin_line);
			return -1;
		}
		s->v[i] = *p;
		return 0;
	}
	v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "%s: error: out of memory", p->origin);
		return -ENOMEM;
	}
	s->v = v;
	memmove(&v[i + 1], &v[i], (s->n - i) * sizeof(*v));
	v[i] = *p;
	s->n++;
	return 0;
}

int profile_set_load_builtin(struct profile_set *s, char *err, size_t errlen)
{
	struct profile *p = malloc(sizeof(*p));
	char origin[PROFILE_ORIGIN_MAX];
	int rc = 0;

	if (!p) {
		snprintf(err, errlen, "builtin: error: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < profile_builtin_count() && !rc; i++) {
		const struct profile_builtin *b = profile_builtin_get(i);

		snprintf(origin, sizeof(origin), "builtin:%s", b->file);
		rc = profile_parse(b->text, origin, p, err, errlen);
		if (!rc) {
			p->builtin = true;
			rc = profile_set_add(s, p, false, err, errlen);
		}
	}
	free(p);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_conf_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".conf") == 0;
}

int profile_set_load_dir(struct profile_set *s, const char *dir, char *err, size_t errlen)
{
	struct profile *p = NULL;
	char **names = NULL, path[PROFILE_ORIGIN_MAX];
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: error: cannot open directory: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (!is_conf_name(de->d_name))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));

			if (!nn) {
				rc = -ENOMEM;
				break;
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (!rc)
		p = malloc(sizeof(*p));
	if (rc || !p) {
		snprintf(err, errlen, "%s: error: out of memory", dir);
		rc = -ENOMEM;
		goto out;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct profile *old;
		struct stat st;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path)) {
			snprintf(err, errlen, "%s/%s: error: path too long", dir, names[i]);
			rc = -1;
			break;
		}
		/* Subdirectories named *.conf are not profiles. */
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		rc = profile_load_file(path, p, err, errlen);
		if (rc)
			break;
		/* A file replaces a built-in profile; two files of one name are an error. */
		old = profile_set_find(s, p->name);
		rc = profile_set_add(s, p, old && old->builtin, err, errlen);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(p);
	return rc;
}

int profile_set_load(struct profile_set *s, const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	rc = profile_set_load_builtin(s, err, errlen);
	if (!rc && dir) {
		if (stat(dir, &st) < 0 && errno == ENOENT)
			return 0;
		rc = profile_set_load_dir(s, dir, err, errlen);
	}
	if (rc)
		profile_set_free(s);
	return rc;
}

/* ---- selection ---- */

struct match_result {
	bool ok;
	unsigned lists; /* how many lists it matched on */
	char why[160];
};

static void describe_device(const struct profile_device *d, char *buf, size_t len)
{
	char pci[24] = "no PCI id";

	if (d->has_pci_id)
		snprintf(pci, sizeof(pci), "PCI %04x:%04x", d->pci_vendor, d->pci_device);
	snprintf(buf, len, "%s (driver %s, %s)", d->ifname ? d->ifname : "device",
	         d->driver && d->driver[0] ? d->driver : "none", pci);
}

static void match_one(const struct profile *p, const struct profile_device *d,
                      struct match_result *r)
{
	const struct profile_match *m = &p->match;
	size_t off = 0;
	bool hit;

	memset(r, 0, sizeof(*r));
	if (!m->n_drivers && !m->n_pci_ids && !m->n_ifnames)
		return; /* chosen by name only */
	if (m->n_drivers) {
		hit = false;
		for (unsigned i = 0; i < m->n_drivers && d->driver && !hit; i++)
			hit = strcmp(m->drivers[i], d->driver) == 0;
		if (!hit)
			return;
		off += (size_t)snprintf(r->why + off, sizeof(r->why) - off, "driver %s", d->driver);
		r->lists++;
	}
	if (m->n_pci_ids) {
		hit = false;
		for (unsigned i = 0; i < m->n_pci_ids && d->has_pci_id && !hit; i++)
			hit = m->pci_ids[i].vendor == d->pci_vendor &&
			      (m->pci_ids[i].any_device || m->pci_ids[i].device == d->pci_device);
		if (!hit)
			return;
		off += (size_t)snprintf(r->why + off, sizeof(r->why) - off, "%sPCI id %04x:%04x",
		                        off ? ", " : "", d->pci_vendor, d->pci_device);
		r->lists++;
	}
	if (m->n_ifnames) {
		unsigned i;

		hit = false;
		for (i = 0; i < m->n_ifnames && d->ifname && !hit; i++)
			hit = fnmatch(m->ifnames[i], d->ifname, 0) == 0;
		if (!hit)
			return;
		if (off < sizeof(r->why))
			snprintf(r->why + off, sizeof(r->why) - off, "%sifname %s (glob %s)",
			         off ? ", " : "", d->ifname, m->ifnames[i - 1]);
		r->lists++;
	}
	r->ok = true;
}

/* Whether a beats b (both match). */
static bool better(const struct profile *a, const struct match_result *ra, const struct profile *b,
                   const struct match_result *rb)
{
	if (a->match.priority != b->match.priority)
		return a->match.priority > b->match.priority;
	if (ra->lists != rb->lists)
		return ra->lists > rb->lists;
	return strcmp(a->name, b->name) < 0;
}

const struct profile *profile_select(const struct profile_set *s, const struct profile_device *d,
                                     char *reason, size_t len)
{
	const struct profile *best = NULL, *second = NULL;
	struct match_result rbest = {0}, rsecond = {0}, r;
	char dev[128];
	size_t n_match = 0;

	describe_device(d, dev, sizeof(dev));
	for (size_t i = 0; i < s->n; i++) {
		match_one(&s->v[i], d, &r);
		if (!r.ok)
			continue;
		n_match++;
		if (!best || better(&s->v[i], &r, best, &rbest)) {
			second = best;
			rsecond = rbest;
			best = &s->v[i];
			rbest = r;
		} else if (!second || better(&s->v[i], &r, second, &rsecond)) {
			second = &s->v[i];
			rsecond = r;
		}
	}
	if (!best) {
		snprintf(
		    reason, len,
		    "no profile matches %s: none of the %zu loaded profiles lists this driver, "
		    "PCI id or interface name (name a profile for the device, or add one)",
		    dev, s->n);
		return NULL;
	}
	if (!second) {
		snprintf(reason, len, "profile %s (%s) for %s: matches %s, priority %d", best->name,
		         best->origin, dev, rbest.why, best->match.priority);
	} else {
		const char *how = best->match.priority != second->match.priority ? "higher priority"
		                  : rbest.lists != rsecond.lists ? "matches on more lists"
		                                                 : "equal rank, first by name";

		snprintf(reason, len,
		         "profile %s (%s) for %s: matches %s, priority %d; chosen over %s "
		         "(priority %d) by %s; %zu profiles matched",
		         best->name, best->origin, dev, rbest.why, best->match.priority,
		         second->name, second->match.priority, how, n_match);
	}
	return best;
}
