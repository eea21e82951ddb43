#include "reconcile/base/compat.h"
#include "reconcile/planfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconcile/codec.h"
#include "reconcile/base/afile.h"
#include "reconcile/base/xmem.h"

/*
 * Encoding half of the plan-file codec: plan -> JSON (a tree written by codec.h), the cache
 * encoder the ledger codec shares, and the atomic write. Decoding untrusted plan files lives
 * in planfile_decode.c.
 */

#define PLANFILE_MODE 0644

void planfile_time_format(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "1970-01-01T00:00:00Z");
}

int planfile_time_parse(const char *s, int64_t *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	*t = (int64_t)timegm(&tm);
	return 0;
}

/* ---- encoding ---- */

static struct json_object *rule_to_json(const struct rule *r)
{
	struct json_object *o = codec_new_obj();
	struct json_object *items = codec_new_arr();
	for (size_t i = 0; i < r->items.n; i++)
		codec_push(items, codec_new_str(r->items.v[i].s));
	char ttl[32];
	duration_format(r->ttl, ttl, sizeof(ttl));
	codec_add(o, "kind", codec_new_str(rule_kind_name(r->kind)));
	codec_add(o, "items", items);
	codec_add(o, "ttl", codec_new_int(r->ttl));
	codec_add(o, "ttl_text", codec_new_str(ttl));
	if (r->name.s)
		codec_add(o, "name", codec_new_str(r->name.s));
	if (r->cc != RULE_CC_INHERIT)
		codec_add(o, "ignore_cache_control", codec_new_bool(r->cc == RULE_CC_IGNORE));
	return o;
}

struct json_object *planfile_cache_to_json(const struct cache *c)
{
	struct json_object *o = codec_new_obj();
	codec_add(o, "ignore_cache_control", codec_new_bool(c->ignore_cache_control));
	codec_add(o, "ignore_cookie", codec_new_bool(c->ignore_cookie));
	codec_add(o, "ignore_query_string", codec_new_bool(c->ignore_query_string));
	struct json_object *rules = codec_new_arr();
	for (size_t i = 0; i < c->nrules; i++)
		codec_push(rules, rule_to_json(&c->rules[i]));
	codec_add(o, "rules", rules);
	return o;
}

static struct json_object *fields_to_json(unsigned f)
{
	struct json_object *a = codec_new_arr();
	if (f & RULEDIFF_F_KIND)
		codec_push(a, codec_new_str("kind"));
	if (f & RULEDIFF_F_ITEMS)
		codec_push(a, codec_new_str("items"));
	if (f & RULEDIFF_F_TTL)
		codec_push(a, codec_new_str("ttl"));
	if (f & RULEDIFF_F_CC)
		codec_push(a, codec_new_str("ignore_cache_control"));
	return a;
}

static struct json_object *changes_to_json(const struct plan_endpoint *pe)
{
	struct json_object *a = codec_new_arr();
	for (size_t i = 0; i < pe->diff.n; i++) {
		const struct rulediff_entry *d = &pe->diff.v[i];
		struct json_object *o = codec_new_obj();
		codec_add(o, "change", codec_new_str(rulediff_op_name(d->op)));
		codec_add(o, "before_index", d->before >= 0 ? codec_new_int(d->before) : NULL);
		codec_add(o, "after_index", d->after >= 0 ? codec_new_int(d->after) : NULL);
		codec_add(o, "before",
			  d->before >= 0 ? rule_to_json(&pe->live.rules[d->before]) : NULL);
		codec_add(o, "after",
			  d->after >= 0 ? rule_to_json(&pe->desired.rules[d->after]) : NULL);
		codec_add(o, "fields", fields_to_json(d->fields));
		codec_push(a, o);
	}
	return a;
}

static struct json_object *flags_to_json(const struct plan_endpoint *pe)
{
	struct json_object *a = codec_new_arr();
	for (size_t i = 0; i < pe->diff.nflags; i++) {
		const struct rulediff_flag_change *f = &pe->diff.flags[i];
		struct json_object *o = codec_new_obj();
		codec_add(o, "name", codec_new_str(rulediff_flag_name(f->flag)));
		codec_add(o, "before", codec_new_bool(f->before));
		codec_add(o, "after", codec_new_bool(f->after));
		codec_push(a, o);
	}
	return a;
}

static struct json_object *behaviour_to_json(enum sem_mode m, int64_t ttl)
{
	static const char *const modes[] = {"origin", "bypass", "override", "if_missing"};
	struct json_object *o = codec_new_obj();
	codec_add(o, "mode", codec_new_str(modes[m]));
	codec_add(o, "ttl", m == SEM_OVERRIDE || m == SEM_IF_MISSING ? codec_new_int(ttl) : NULL);
	return o;
}

/* The first probe path the write changes (text plan's "behaviour: e.g."); not read back. */
static struct json_object *ep_behaviour_to_json(const struct plan_endpoint *pe)
{
	struct json_object *o = codec_new_obj();
	codec_add(o, "path", codec_new_str(pe->behaviour_path));
	codec_add(o, "before",
		  behaviour_to_json(pe->behaviour_before_mode, pe->behaviour_before_ttl));
	codec_add(o, "after", behaviour_to_json(pe->behaviour_after_mode, pe->behaviour_after_ttl));
	return o;
}

static struct json_object *endpoint_to_json(const struct plan_endpoint *pe)
{
	struct json_object *o = codec_new_obj();
	codec_add(o, "name", codec_new_str(pe->name));
	codec_add(o, "account", codec_new_str(pe->account));
	codec_add(o, "provider", codec_new_str(provider_name(pe->provider)));
	codec_add(o, "mode", codec_new_str(endpoint_mode_name(pe->mode)));
	codec_add(o, "action", codec_new_str(plan_ep_action_name(pe->action)));
	codec_add(o, "error", codec_new_str(pe->error));
	struct json_object *ls = codec_new_obj();
	codec_add(ls, "read", codec_new_bool(pe->read));
	codec_add(ls, "digest", pe->read ? codec_new_str(pe->digest) : NULL);
	codec_add(ls, "inexact", codec_new_str(pe->inexact));
	codec_add(o, "live_state", ls);
	codec_add(o, "flags", flags_to_json(pe));
	codec_add(o, "rule_changes", changes_to_json(pe));
	struct json_object *fr = codec_new_arr();
	for (size_t i = 0; i < pe->nforeign; i++) {
		struct json_object *f = codec_new_obj();
		codec_add(f, "name", codec_new_str(pe->foreign[i].name));
		codec_add(f, "order", codec_new_int(pe->foreign[i].order));
		codec_push(fr, f);
	}
	codec_add(o, "foreign_rules", fr);
	if (pe->notes.n) { /* only when there are: plans without notes read as before */
		struct json_object *na = codec_new_arr();
		for (size_t i = 0; i < pe->notes.n; i++)
			codec_push(na, codec_new_str(pe->notes.v[i].s));
		codec_add(o, "notes", na);
	}
	if (pe->behaviour_path) /* only when there is one, like notes */
		codec_add(o, "behaviour", ep_behaviour_to_json(pe));
	struct json_object *sf = codec_new_obj();
	codec_add(sf, "existing_rules", codec_new_int((int64_t)pe->existing));
	codec_add(sf, "disturbed_rules", codec_new_int((int64_t)pe->disturbed));
	codec_add(sf, "percent", codec_new_int(pe->pct));
	codec_add(sf, "applies", codec_new_bool(pe->safety_applies));
	codec_add(sf, "exceeded", codec_new_bool(pe->safety_exceeded));
	codec_add(o, "safety", sf);
	codec_add(o, "desired", planfile_cache_to_json(&pe->desired));
	return o;
}

/* "key": [entries as the requests send them], left out when empty */
static void jadd_urls(struct json_object *o, const char *key, const struct svec *v)
{
	if (!v->n)
		return;
	struct json_object *a = codec_new_arr();
	for (size_t i = 0; i < v->n; i++)
		codec_push(a, codec_new_str(v->v[i].s));
	codec_add(o, key, a);
}

static struct json_object *purge_to_json(const struct plan_purge *pp)
{
	struct json_object *o = codec_new_obj();
	codec_add(o, "id", codec_new_str(pp->id));
	codec_add(o, "endpoint", codec_new_str(pp->endpoint));
	codec_add(o, "account", codec_new_str(pp->account));
	codec_add(o, "provider", codec_new_str(provider_name(pp->provider)));
	codec_add(o, "state", codec_new_str(plan_purge_state_name(pp->state)));
	codec_add(o, "blocked", codec_new_bool(pp->blocked));
	codec_add(o, "content_hash", codec_new_str(pp->content_hash));
	codec_add(o, "recorded_hash",
		  pp->recorded_hash[0] ? codec_new_str(pp->recorded_hash) : NULL);
	codec_add(o, "files", codec_new_int(pp->files));
	codec_add(o, "dirs", codec_new_int(pp->dirs));
	codec_add(o, "patterns", codec_new_int(pp->patterns));
	codec_add(o, "regex", codec_new_int(pp->regex));
	codec_add(o, "preloads", codec_new_int(pp->preloads));
	codec_add(o, "requests", codec_new_int((int64_t)pp->requests));
	struct json_object *urls = codec_new_obj();
	jadd_urls(urls, "files", &pp->url_files);
	jadd_urls(urls, "dirs", &pp->url_dirs);
	jadd_urls(urls, "patterns", &pp->url_patterns);
	jadd_urls(urls, "regex", &pp->url_regex);
	jadd_urls(urls, "preload", &pp->url_preload);
	codec_add(o, "urls", urls);
	return o;
}

static struct json_object *quota_to_json(const struct plan_quota *q)
{
	struct json_object *o = codec_new_obj();
	codec_add(o, "account", codec_new_str(q->account));
	codec_add(o, "provider", codec_new_str(provider_name(q->provider)));
	codec_add(o, "known", codec_new_bool(q->known));
	codec_add(o, "files_left", q->known ? codec_new_int(q->files_left) : NULL);
	codec_add(o, "dirs_left", q->known ? codec_new_int(q->dirs_left) : NULL);
	codec_add(o, "files_planned", codec_new_int(q->files_planned));
	codec_add(o, "dirs_planned", codec_new_int(q->dirs_planned));
	codec_add(o, "exceeded", codec_new_bool(q->exceeded));
	return o;
}

static struct json_object *summary_to_json(const struct plan *p)
{
	struct plan_counts c;
	plan_count(p, &c);
	struct json_object *o = codec_new_obj();
	codec_add(o, "changes", codec_new_bool(plan_has_changes(p)));
	codec_add(o, "endpoints", codec_new_int((int64_t)p->neps));
	codec_add(o, "update", codec_new_int((int64_t)c.update));
	codec_add(o, "drift", codec_new_int((int64_t)c.drift));
	codec_add(o, "error", codec_new_int((int64_t)c.error));
	codec_add(o, "rules_added", codec_new_int((int64_t)c.added));
	codec_add(o, "rules_removed", codec_new_int((int64_t)c.removed));
	codec_add(o, "rules_changed", codec_new_int((int64_t)c.changed));
	codec_add(o, "rules_moved", codec_new_int((int64_t)c.moved));
	codec_add(o, "purges_run", codec_new_int((int64_t)c.purges_run));
	codec_add(o, "purges_pending", codec_new_int((int64_t)c.purges_pending));
	codec_add(o, "purges_edited", codec_new_int((int64_t)c.purges_edited));
	codec_add(o, "purges_over_quota", codec_new_int((int64_t)c.purges_over_quota));
	codec_add(o, "safety_exceeded", codec_new_int((int64_t)c.safety_exceeded));
	return o;
}

/* plan --urls: each path whose caching the plan changes (not read back by the decoder). */
static struct json_object *urls_to_json(const struct plan *p)
{
	struct json_object *arr = codec_new_arr();
	for (size_t i = 0; i < p->nurls; i++) {
		const struct plan_url_effect *u = &p->urls[i];
		struct json_object *o = codec_new_obj();
		codec_add(o, "endpoint", codec_new_str(u->endpoint));
		codec_add(o, "path", codec_new_str(u->path));
		codec_add(o, "before", behaviour_to_json(u->before_mode, u->before_ttl));
		codec_add(o, "after", behaviour_to_json(u->after_mode, u->after_ttl));
		codec_push(arr, o);
	}
	return arr;
}

int planfile_encode(const struct plan *p, struct sb *out)
{
	struct json_object *root = codec_new_obj();
	codec_add(root, "format_version", codec_new_int(PLANFILE_FORMAT_VERSION));
	codec_add(root, "desired_commit", p->commit[0] ? codec_new_str(p->commit) : NULL);
	codec_add(root, "no_purges", codec_new_bool(p->no_purges));
	codec_add(root, "summary", summary_to_json(p));
	struct json_object *eps = codec_new_arr();
	for (size_t i = 0; i < p->neps; i++)
		codec_push(eps, endpoint_to_json(&p->eps[i]));
	codec_add(root, "endpoints", eps);
	struct json_object *purges = codec_new_arr();
	for (size_t i = 0; i < p->npurges; i++)
		codec_push(purges, purge_to_json(&p->purges[i]));
	codec_add(root, "purges", purges);
	struct json_object *quotas = codec_new_arr();
	for (size_t i = 0; i < p->nquotas; i++)
		codec_push(quotas, quota_to_json(&p->quotas[i]));
	codec_add(root, "quotas", quotas);
	if (p->urls_given)
		codec_add(root, "url_effects", urls_to_json(p));
	int rc = codec_write(out, root, CODEC_PRETTY) < 0 || sb_addc(out, '\n') < 0 ? -1 : 0;
	codec_put(root);
	return rc;
}

int planfile_write(const struct plan *p, const char *path, struct cf_err *e)
{
	struct sb sb;
	sb_init(&sb, PLANFILE_MAX_BYTES);
	int rc;
	if (planfile_encode(p, &sb) < 0)
		rc = err_set(e, CF_ELIMIT, "plan is larger than %zu bytes", PLANFILE_MAX_BYTES);
	else
		rc = afile_write(path, sb.buf, sb.len, PLANFILE_MODE, AFILE_REPLACE, "plan", e);
	sb_release(&sb);
	return rc;
}
