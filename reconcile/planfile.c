#include "reconcile/base/compat.h"
#include "reconcile/planfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "reconcile/planfile_int.h"
#include "reconcile/base/afile.h"
#include "reconcile/base/xmem.h"

/*
 * Encoding half of the plan-file codec: plan -> JSON, the json-c wrappers and the cache
 * encoder the ledger codec shares, and the atomic write. Decoding untrusted plan files lives
 * in planfile_decode.c.
 */

#define PLANFILE_MODE 0644

#define J     planfile_json_new
#define jadd  planfile_json_add
#define jpush planfile_json_push

struct json_object *planfile_json_new(struct json_object *o)
{
	if (!o)
		xmem_oom("json-c");
	return o;
}

void planfile_json_add(struct json_object *obj, const char *key, struct json_object *v)
{
	if (json_object_object_add(obj, key, v) < 0)
		xmem_oom("json-c");
}

void planfile_json_push(struct json_object *arr, struct json_object *v)
{
	if (json_object_array_add(arr, v) < 0)
		xmem_oom("json-c");
}

const char *planfile_json_text(struct json_object *o)
{
	size_t len = 0, at;
	const char *why;
	const char *s = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
	    &len);
	if (!s)
		xmem_oom("json-c");
	/*
	 * json-c's serialiser ignores some failed appends, so an allocation failure can drop
	 * part of the text without an error. Reading the text back must give the same tree.
	 */
	struct json_object *back = planfile_parse_once(s, len, PLANFILE_MAX_DEPTH, &why, &at);
	bool same = back && json_object_equal(o, back);
	json_object_put(back);
	if (!same)
		xmem_oom("json-c");
	return s;
}

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

static struct json_object *jstr(const char *s)
{
	return s ? J(json_object_new_string(s)) : NULL;
}

static struct json_object *rule_to_json(const struct rule *r)
{
	struct json_object *o = J(json_object_new_object());
	struct json_object *items = J(json_object_new_array());
	for (size_t i = 0; i < r->items.n; i++)
		jpush(items, J(json_object_new_string(r->items.v[i].s)));
	char ttl[32];
	duration_format(r->ttl, ttl, sizeof(ttl));
	jadd(o, "kind", J(json_object_new_string(rule_kind_name(r->kind))));
	jadd(o, "items", items);
	jadd(o, "ttl", J(json_object_new_int64(r->ttl)));
	jadd(o, "ttl_text", J(json_object_new_string(ttl)));
	if (r->name.s)
		jadd(o, "name", J(json_object_new_string(r->name.s)));
	if (r->cc != RULE_CC_INHERIT)
		jadd(o, "ignore_cache_control",
		     J(json_object_new_boolean(r->cc == RULE_CC_IGNORE)));
	return o;
}

struct json_object *planfile_cache_to_json(const struct cache *c)
{
	struct json_object *o = J(json_object_new_object());
	jadd(o, "ignore_cache_control", J(json_object_new_boolean(c->ignore_cache_control)));
	jadd(o, "ignore_cookie", J(json_object_new_boolean(c->ignore_cookie)));
	jadd(o, "ignore_query_string", J(json_object_new_boolean(c->ignore_query_string)));
	struct json_object *rules = J(json_object_new_array());
	for (size_t i = 0; i < c->nrules; i++)
		jpush(rules, rule_to_json(&c->rules[i]));
	jadd(o, "rules", rules);
	return o;
}

static struct json_object *fields_to_json(unsigned f)
{
	struct json_object *a = J(json_object_new_array());
	if (f & RULEDIFF_F_KIND)
		jpush(a, J(json_object_new_string("kind")));
	if (f & RULEDIFF_F_ITEMS)
		jpush(a, J(json_object_new_string("items")));
	if (f & RULEDIFF_F_TTL)
		jpush(a, J(json_object_new_string("ttl")));
	if (f & RULEDIFF_F_CC)
		jpush(a, J(json_object_new_string("ignore_cache_control")));
	return a;
}

static struct json_object *changes_to_json(const struct plan_endpoint *pe)
{
	struct json_object *a = J(json_object_new_array());
	for (size_t i = 0; i < pe->diff.n; i++) {
		const struct rulediff_entry *d = &pe->diff.v[i];
		struct json_object *o = J(json_object_new_object());
		jadd(o, "change", J(json_object_new_string(rulediff_op_name(d->op))));
		jadd(o, "before_index",
		     d->before >= 0 ? J(json_object_new_int64(d->before)) : NULL);
		jadd(o, "after_index", d->after >= 0 ? J(json_object_new_int64(d->after)) : NULL);
		jadd(o, "before", d->before >= 0 ? rule_to_json(&pe->live.rules[d->before]) : NULL);
		jadd(o, "after", d->after >= 0 ? rule_to_json(&pe->desired.rules[d->after]) : NULL);
		jadd(o, "fields", fields_to_json(d->fields));
		jpush(a, o);
	}
	return a;
}

static struct json_object *flags_to_json(const struct plan_endpoint *pe)
{
	struct json_object *a = J(json_object_new_array());
	for (size_t i = 0; i < pe->diff.nflags; i++) {
		const struct rulediff_flag_change *f = &pe->diff.flags[i];
		struct json_object *o = J(json_object_new_object());
		jadd(o, "name", J(json_object_new_string(rulediff_flag_name(f->flag))));
		jadd(o, "before", J(json_object_new_boolean(f->before)));
		jadd(o, "after", J(json_object_new_boolean(f->after)));
		jpush(a, o);
	}
	return a;
}

static struct json_object *endpoint_to_json(const struct plan_endpoint *pe)
{
	struct json_object *o = J(json_object_new_object());
	jadd(o, "name", J(json_object_new_string(pe->name)));
	jadd(o, "account", J(json_object_new_string(pe->account)));
	jadd(o, "provider", J(json_object_new_string(provider_name(pe->provider))));
	jadd(o, "mode", J(json_object_new_string(endpoint_mode_name(pe->mode))));
	jadd(o, "action", J(json_object_new_string(plan_ep_action_name(pe->action))));
	jadd(o, "error", jstr(pe->error));
	struct json_object *ls = J(json_object_new_object());
	jadd(ls, "read", J(json_object_new_boolean(pe->read)));
	jadd(ls, "digest", pe->read ? J(json_object_new_string(pe->digest)) : NULL);
	jadd(ls, "inexact", jstr(pe->inexact));
	jadd(o, "live_state", ls);
	jadd(o, "flags", flags_to_json(pe));
	jadd(o, "rule_changes", changes_to_json(pe));
	struct json_object *fr = J(json_object_new_array());
	for (size_t i = 0; i < pe->nforeign; i++) {
		struct json_object *f = J(json_object_new_object());
		jadd(f, "name", J(json_object_new_string(pe->foreign[i].name)));
		jadd(f, "order", J(json_object_new_int(pe->foreign[i].order)));
		jpush(fr, f);
	}
	jadd(o, "foreign_rules", fr);
	struct json_object *sf = J(json_object_new_object());
	jadd(sf, "existing_rules", J(json_object_new_int64((int64_t)pe->existing)));
	jadd(sf, "disturbed_rules", J(json_object_new_int64((int64_t)pe->disturbed)));
	jadd(sf, "percent", J(json_object_new_int64(pe->pct)));
	jadd(sf, "applies", J(json_object_new_boolean(pe->safety_applies)));
	jadd(sf, "exceeded", J(json_object_new_boolean(pe->safety_exceeded)));
	jadd(o, "safety", sf);
	jadd(o, "desired", planfile_cache_to_json(&pe->desired));
	return o;
}

/* "key": [entries as the requests send them], left out when empty */
static void jadd_urls(struct json_object *o, const char *key, const struct svec *v)
{
	if (!v->n)
		return;
	struct json_object *a = J(json_object_new_array_ext((int)v->n));
	for (size_t i = 0; i < v->n; i++)
		jpush(a, J(json_object_new_string(v->v[i].s)));
	jadd(o, key, a);
}

static struct json_object *purge_to_json(const struct plan_purge *pp)
{
	struct json_object *o = J(json_object_new_object());
	jadd(o, "id", J(json_object_new_string(pp->id)));
	jadd(o, "endpoint", J(json_object_new_string(pp->endpoint)));
	jadd(o, "account", J(json_object_new_string(pp->account)));
	jadd(o, "provider", J(json_object_new_string(provider_name(pp->provider))));
	jadd(o, "state", J(json_object_new_string(plan_purge_state_name(pp->state))));
	jadd(o, "blocked", J(json_object_new_boolean(pp->blocked)));
	jadd(o, "content_hash", J(json_object_new_string(pp->content_hash)));
	jadd(o, "recorded_hash",
	     pp->recorded_hash[0] ? J(json_object_new_string(pp->recorded_hash)) : NULL);
	jadd(o, "files", J(json_object_new_int64(pp->files)));
	jadd(o, "dirs", J(json_object_new_int64(pp->dirs)));
	jadd(o, "patterns", J(json_object_new_int64(pp->patterns)));
	jadd(o, "regex", J(json_object_new_int64(pp->regex)));
	jadd(o, "preloads", J(json_object_new_int64(pp->preloads)));
	jadd(o, "requests", J(json_object_new_int64((int64_t)pp->requests)));
	struct json_object *urls = J(json_object_new_object());
	jadd_urls(urls, "files", &pp->url_files);
	jadd_urls(urls, "dirs", &pp->url_dirs);
	jadd_urls(urls, "patterns", &pp->url_patterns);
	jadd_urls(urls, "regex", &pp->url_regex);
	jadd_urls(urls, "preload", &pp->url_preload);
	jadd(o, "urls", urls);
	return o;
}

static struct json_object *quota_to_json(const struct plan_quota *q)
{
	struct json_object *o = J(json_object_new_object());
	jadd(o, "account", J(json_object_new_string(q->account)));
	jadd(o, "provider", J(json_object_new_string(provider_name(q->provider))));
	jadd(o, "known", J(json_object_new_boolean(q->known)));
	jadd(o, "files_left", q->known ? J(json_object_new_int64(q->files_left)) : NULL);
	jadd(o, "dirs_left", q->known ? J(json_object_new_int64(q->dirs_left)) : NULL);
	jadd(o, "files_planned", J(json_object_new_int64(q->files_planned)));
	jadd(o, "dirs_planned", J(json_object_new_int64(q->dirs_planned)));
	jadd(o, "exceeded", J(json_object_new_boolean(q->exceeded)));
	return o;
}

static struct json_object *summary_to_json(const struct plan *p)
{
	struct plan_counts c;
	plan_count(p, &c);
	struct json_object *o = J(json_object_new_object());
	jadd(o, "changes", J(json_object_new_boolean(plan_has_changes(p))));
	jadd(o, "endpoints", J(json_object_new_int64((int64_t)p->neps)));
	jadd(o, "update", J(json_object_new_int64((int64_t)c.update)));
	jadd(o, "drift", J(json_object_new_int64((int64_t)c.drift)));
	jadd(o, "error", J(json_object_new_int64((int64_t)c.error)));
	jadd(o, "rules_added", J(json_object_new_int64((int64_t)c.added)));
	jadd(o, "rules_removed", J(json_object_new_int64((int64_t)c.removed)));
	jadd(o, "rules_changed", J(json_object_new_int64((int64_t)c.changed)));
	jadd(o, "rules_moved", J(json_object_new_int64((int64_t)c.moved)));
	jadd(o, "purges_run", J(json_object_new_int64((int64_t)c.purges_run)));
	jadd(o, "purges_pending", J(json_object_new_int64((int64_t)c.purges_pending)));
	jadd(o, "purges_edited", J(json_object_new_int64((int64_t)c.purges_edited)));
	jadd(o, "purges_over_quota", J(json_object_new_int64((int64_t)c.purges_over_quota)));
	jadd(o, "safety_exceeded", J(json_object_new_int64((int64_t)c.safety_exceeded)));
	return o;
}

static struct json_object *behaviour_to_json(enum sem_mode m, int64_t ttl)
{
	static const char *const modes[] = {"origin", "bypass", "override", "if_missing"};
	struct json_object *o = J(json_object_new_object());
	jadd(o, "mode", J(json_object_new_string(modes[m])));
	jadd(o, "ttl",
	     m == SEM_OVERRIDE || m == SEM_IF_MISSING ? J(json_object_new_int64(ttl)) : NULL);
	return o;
}

/* plan --urls: each path whose caching the plan changes (not read back by the decoder). */
static struct json_object *urls_to_json(const struct plan *p)
{
	struct json_object *arr = J(json_object_new_array());
	for (size_t i = 0; i < p->nurls; i++) {
		const struct plan_url_effect *u = &p->urls[i];
		struct json_object *o = J(json_object_new_object());
		jadd(o, "endpoint", J(json_object_new_string(u->endpoint)));
		jadd(o, "path", J(json_object_new_string(u->path)));
		jadd(o, "before", behaviour_to_json(u->before_mode, u->before_ttl));
		jadd(o, "after", behaviour_to_json(u->after_mode, u->after_ttl));
		jpush(arr, o);
	}
	return arr;
}

int planfile_encode(const struct plan *p, struct sb *out)
{
	struct json_object *root = J(json_object_new_object());
	jadd(root, "format_version", J(json_object_new_int(PLANFILE_FORMAT_VERSION)));
	jadd(root, "desired_commit", p->commit[0] ? J(json_object_new_string(p->commit)) : NULL);
	jadd(root, "no_purges", J(json_object_new_boolean(p->no_purges)));
	jadd(root, "summary", summary_to_json(p));
	struct json_object *eps = J(json_object_new_array());
	for (size_t i = 0; i < p->neps; i++)
		jpush(eps, endpoint_to_json(&p->eps[i]));
	jadd(root, "endpoints", eps);
	struct json_object *purges = J(json_object_new_array());
	for (size_t i = 0; i < p->npurges; i++)
		jpush(purges, purge_to_json(&p->purges[i]));
	jadd(root, "purges", purges);
	struct json_object *quotas = J(json_object_new_array());
	for (size_t i = 0; i < p->nquotas; i++)
		jpush(quotas, quota_to_json(&p->quotas[i]));
	jadd(root, "quotas", quotas);
	if (p->urls_given)
		jadd(root, "url_effects", urls_to_json(p));
	const char *s = planfile_json_text(root);
	int rc = sb_adds(out, s) < 0 || sb_addc(out, '\n') < 0 ? -1 : 0;
	json_object_put(root);
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
