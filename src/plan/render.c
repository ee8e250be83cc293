/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rendering a plan: `tc -batch` text with '#' comments (tc -batch skips them), or JSON with
 * the same content. Both are deterministic: the plan is sorted by table, flowtable, device.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "plan-internal.h"

#define CHAIN1_NOTE "chain 1 forwarding rules are built at run time from routes and neighbours"

static char *rule_line(const struct plan *p, const struct tc_rule *r, int *rc)
{
	size_t len = 512;

	for (int tries = 0; tries < 2; tries++) {
		char *buf = malloc(len);
		int n;

		if (!buf) {
			*rc = -ENOMEM;
			return NULL;
		}
		n = tc_print(r, TC_MSG_NEW, plan_ifname, (void *)p, buf, len);
		if (n < 0) {
			free(buf);
			*rc = n;
			return NULL;
		}
		if ((size_t)n < len)
			return buf;
		free(buf);
		len = (size_t)n + 1;
	}
	*rc = -EINVAL;
	return NULL;
}

static const char *strategy_name(enum profile_strategy s)
{
	const char *n = profile_strategy_name(s);

	return n ? n : "none";
}

static void header(struct sbuf *b, const struct plan_flowtable *pf)
{
	char where[256];

	loc_line(&pf->flowtable->loc, where, sizeof(where));
	sb_printf(b, "# table %s %s, flowtable %s (%s)", nft_family_name(pf->table->family),
	          pf->table->name, pf->flowtable->name, where);
	if (pf->reason) {
		sb_printf(b, "\n");
		return;
	}
	sb_printf(b, ": strategy %s", strategy_name(pf->strategy));
	/* profiles in order of their first device, each with its devices */
	for (size_t i = 0; i < pf->n_devices; i++) {
		const struct profile *pr = pf->devices[i].profile;
		bool seen = false, first = true;

		if (!pr)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = pf->devices[j].profile == pr;
		if (seen)
			continue;
		sb_printf(b, "%s profile %s on", i && pf->devices[0].profile != pr ? ";" : ",",
		          pr->name);
		for (size_t j = i; j < pf->n_devices; j++) {
			if (pf->devices[j].profile != pr)
				continue;
			sb_printf(b, "%s %s", first ? "" : ",", pf->devices[j].name);
			first = false;
		}
	}
	sb_printf(b, "\n");
}

static void comment_lines(struct sbuf *b, const char *text)
{
	const char *s = text;

	while (s && *s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		sb_printf(b, "# %.*s\n", (int)n, s);
		s = nl ? nl + 1 : NULL;
	}
}

/* Devices that have at least one rule, in the plan's device order. */
static bool device_has_rules(const struct plan_flowtable *pf, uint32_t ifindex)
{
	for (size_t i = 0; i < pf->n_blocks; i++)
		for (size_t j = 0; j < pf->blocks[i].n_rules; j++)
			if (pf->blocks[i].rules[j].id.ifindex == ifindex)
				return true;
	return false;
}

char *plan_render_text(const struct plan *p, int *rcp)
{
	struct sbuf b = {0};
	int rc = 0;

	for (size_t f = 0; f < p->n_flowtables && rc == 0; f++) {
		const struct plan_flowtable *pf = &p->flowtables[f];

		if (f)
			sb_printf(&b, "\n");
		header(&b, pf);
		for (size_t i = 0; i < pf->n_notes; i++)
			sb_printf(&b, "# note: %s\n", pf->notes[i]);
		if (pf->reason) {
			sb_printf(&b, "# not offloaded: %s\n", pf->reason);
			continue;
		}
		if (pf->strategy == PROFILE_STRATEGY_CT)
			for (size_t i = 0; i < pf->n_devices; i++)
				if (device_has_rules(pf, pf->devices[i].ifindex))
					sb_printf(&b, "qdisc replace dev %s clsact\n",
					          pf->devices[i].name);
		for (size_t i = 0; i < pf->n_blocks && rc == 0; i++) {
			const struct plan_block *blk = &pf->blocks[i];

			comment_lines(&b, blk->comment);
			for (size_t j = 0; j < blk->n_rules && rc == 0; j++) {
				char *line = rule_line(p, &blk->rules[j], &rc);

				if (line)
					sb_printf(&b, "%s\n", line);
				free(line);
			}
			for (size_t j = 0; j < blk->n_template_lines; j++)
				sb_printf(&b, "# %s\n", blk->template_lines[j]);
		}
		if (pf->strategy == PROFILE_STRATEGY_CT)
			sb_printf(&b, "# %s\n", CHAIN1_NOTE);
	}
	if (rc == 0 && b.oom)
		rc = -ENOMEM;
	if (rcp)
		*rcp = rc;
	if (rc) {
		free(b.s);
		return NULL;
	}
	return b.s ? b.s : strdup("");
}

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int render_flowtable_json(const struct plan *p, const struct plan_flowtable *pf, json_t *arr)
{
	json_t *o = json_object(), *devs = json_array(), *blocks = json_array(),
	       *notes = json_array(), *qd = json_array();
	char where[256];
	int rc = 0;

	if (!o || !devs || !blocks || !notes || !qd)
		goto nomem;
	loc_line(&pf->flowtable->loc, where, sizeof(where));
	json_object_set_new(o, "family", json_string(nft_family_name(pf->table->family)));
	json_object_set_new(o, "table", json_string(pf->table->name));
	json_object_set_new(o, "flowtable", json_string(pf->flowtable->name));
	json_object_set_new(o, "location", json_string(where));
	json_object_set_new(o, "strategy",
	                    pf->reason ? json_null() : json_string(strategy_name(pf->strategy)));
	for (size_t i = 0; i < pf->n_devices; i++) {
		const struct plan_device *d = &pf->devices[i];
		json_t *jd = json_object();

		if (!jd)
			goto nomem;
		json_object_set_new(jd, "name", json_string(d->name));
		json_object_set_new(jd, "profile",
		                    d->profile ? json_string(d->profile->name) : json_null());
		json_object_set_new(jd, "reason", jstr_or_null(d->reason));
		json_array_append_new(devs, jd);
		if (!pf->reason && pf->strategy == PROFILE_STRATEGY_CT &&
		    device_has_rules(pf, d->ifindex)) {
			char *q = xasprintf("qdisc replace dev %s clsact", d->name);

			if (!q)
				goto nomem;
			json_array_append_new(qd, json_string(q));
			free(q);
		}
	}
	for (size_t i = 0; i < pf->n_notes; i++)
		json_array_append_new(notes, json_string(pf->notes[i]));
	if (!pf->reason && pf->strategy == PROFILE_STRATEGY_CT)
		json_array_append_new(notes, json_string(CHAIN1_NOTE));
	for (size_t i = 0; i < pf->n_blocks && !pf->reason; i++) {
		const struct plan_block *blk = &pf->blocks[i];
		json_t *jb = json_object(), *rules = json_array(), *tpl = json_array();

		if (!jb || !rules || !tpl) {
			json_decref(jb);
			json_decref(rules);
			json_decref(tpl);
			goto nomem;
		}
		json_object_set_new(jb, "comment", jstr_or_null(blk->comment));
		for (size_t j = 0; j < blk->n_rules && rc == 0; j++) {
			char *line = rule_line(p, &blk->rules[j], &rc);

			if (line)
				json_array_append_new(rules, json_string(line));
			free(line);
		}
		for (size_t j = 0; j < blk->n_template_lines; j++)
			json_array_append_new(tpl, json_string(blk->template_lines[j]));
		json_object_set_new(jb, "rules", rules);
		json_object_set_new(jb, "templates", tpl);
		json_array_append_new(blocks, jb);
	}
	json_object_set_new(o, "devices", devs);
	json_object_set_new(o, "qdiscs", qd);
	json_object_set_new(o, "blocks", blocks);
	json_object_set_new(o, "notes", notes);
	json_object_set_new(o, "reason", jstr_or_null(pf->reason));
	json_array_append_new(arr, o);
	return rc;
nomem:
	json_decref(o);
	json_decref(devs);
	json_decref(blocks);
	json_decref(notes);
	json_decref(qd);
	return -ENOMEM;
}

char *plan_render_json(const struct plan *p, int *rcp)
{
	json_t *root = json_object(), *arr = json_array();
	char *s = NULL;
	int rc = 0;

	if (!root || !arr) {
		json_decref(root);
		json_decref(arr);
		rc = -ENOMEM;
		goto out;
	}
	json_object_set_new(root, "flowtables", arr);
	for (size_t i = 0; i < p->n_flowtables && rc == 0; i++)
		rc = render_flowtable_json(p, &p->flowtables[i], arr);
	if (rc == 0) {
		s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!s)
			rc = -ENOMEM;
	}
	json_decref(root);
out:
	if (rcp)
		*rcp = rc;
	return s;
}
