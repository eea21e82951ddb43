#include "reconcile/compat.h"
#include "reconcile/planfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "reconcile/xmem.h"

#define PLANFILE_TMP_SUFFIX ".tmp"

#define J     planfile_json_new
#define jadd  planfile_json_add
#define jpush planfile_json_push

static void json_oom(void)
{
	fprintf(stderr, "cacheform: out of memory (building JSON)\n");
	exit(1);
}

struct json_object *planfile_json_new(struct json_object *o)
{
	if (!o)
		json_oom();
	return o;
}

void planfile_json_add(struct json_object *obj, const char *key, struct json_object *v)
{
	if (json_object_object_add(obj, key, v) < 0)
		json_oom();
}

void planfile_json_push(struct json_object *arr, struct json_object *v)
{
	if (json_object_array_add(arr, v) < 0)
		json_oom();
}

/* Defined below with the decoder. */
static struct json_object *parse_once(const char *json, size_t len, int depth, const char **why);

const char *planfile_json_text(struct json_object *o)
{
	size_t len = 0;
	const char *why;
	const char *s = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
	    &len);
	if (!s)
		json_oom();
	/*
	 * json-c's serialiser ignores some failed appends, so an allocation failure can drop
	 * part of the text without an error. Reading the text back must give the same tree.
	 */
	struct json_object *back = parse_once(s, len, PLANFILE_MAX_DEPTH, &why);
	bool same = back && json_object_equal(o, back);
	json_object_put(back);
	if (!same)
		json_oom();
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
	if (f & DIFF_F_KIND)
		jpush(a, J(json_object_new_string("kind")));
	if (f & DIFF_F_ITEMS)
		jpush(a, J(json_object_new_string("items")));
	if (f & DIFF_F_TTL)
		jpush(a, J(json_object_new_string("ttl")));
	return a;
}

static struct json_object *changes_to_json(const struct plan_endpoint *pe)
{
	struct json_object *a = J(json_object_new_array());
	for (size_t i = 0; i < pe->diff.n; i++) {
		const struct diff_entry *d = &pe->diff.v[i];
		struct json_object *o = J(json_object_new_object());
		jadd(o, "change", J(json_object_new_string(diff_op_name(d->op))));
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
		const struct diff_flag_change *f = &pe->diff.flags[i];
		struct json_object *o = J(json_object_new_object());
		jadd(o, "name", J(json_object_new_string(diff_flag_name(f->flag))));
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
	const char *s = planfile_json_text(root);
	int rc = sb_adds(out, s) < 0 || sb_addc(out, '\n') < 0 ? -1 : 0;
	json_object_put(root);
	return rc;
}

/* ---- decoding: every field is type-checked, a wrong type is an error, not a zero ---- */

static int get(struct json_object *o, const char *key, enum json_type t, struct json_object **v,
	       struct cf_err *e)
{
	if (!json_object_object_get_ex(o, key, v) || !json_object_is_type(*v, t))
		return err_set(e, CF_EINVAL, "'%s' is missing or has the wrong type", key);
	return 0;
}

static int get_hex(struct json_object *o, const char *key, char *dst, size_t n, bool nullable,
		   struct cf_err *e)
{
	struct json_object *v;
	dst[0] = 0;
	if (nullable &&
	    (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)))
		return 0;
	if (get(o, key, json_type_string, &v, e) < 0)
		return CF_EINVAL;
	const char *s = json_object_get_string(v);
	size_t len = strlen(s);
	if (len >= n || strspn(s, "0123456789abcdef") != len)
		return err_set(e, CF_EINVAL, "'%s' is not a hex digest", key);
	memcpy(dst, s, len + 1);
	return 0;
}

static int rule_kind_parse(const char *s, enum rule_kind *k)
{
	for (int i = RULE_DIR; i <= RULE_PATH; i++)
		if (strcmp(rule_kind_name((enum rule_kind)i), s) == 0) {
			*k = (enum rule_kind)i;
			return 0;
		}
	return -1;
}

static int rule_from_json(struct json_object *o, struct rule *r, struct cf_err *e)
{
	struct json_object *kind, *items, *ttl;
	if (get(o, "kind", json_type_string, &kind, e) < 0 ||
	    get(o, "items", json_type_array, &items, e) < 0 ||
	    get(o, "ttl", json_type_int, &ttl, e) < 0)
		return CF_EINVAL;
	if (rule_kind_parse(json_object_get_string(kind), &r->kind) < 0)
		return err_set(e, CF_EINVAL, "unknown rule kind '%s'",
			       json_object_get_string(kind));
	r->ttl = json_object_get_int64(ttl);
	if (r->ttl < 0 || r->ttl > MODEL_TTL_MAX)
		return err_set(e, CF_EINVAL, "ttl out of range");
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		if (!json_object_is_type(it, json_type_string))
			return err_set(e, CF_EINVAL, "rule item is not a string");
		svec_push(&r->items, json_object_get_string(it), NULL);
	}
	struct json_object *name;
	if (json_object_object_get_ex(o, "name", &name) &&
	    json_object_is_type(name, json_type_string))
		sval_set(&r->name, json_object_get_string(name), NULL);
	return 0;
}

int planfile_cache_from_json(struct json_object *o, struct cache *out, struct cf_err *e)
{
	struct json_object *cc, *ck, *qs, *rules;
	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(o, json_type_object))
		return err_set(e, CF_EINVAL, "cache is not an object");
	if (get(o, "ignore_cache_control", json_type_boolean, &cc, e) < 0 ||
	    get(o, "ignore_cookie", json_type_boolean, &ck, e) < 0 ||
	    get(o, "ignore_query_string", json_type_boolean, &qs, e) < 0 ||
	    get(o, "rules", json_type_array, &rules, e) < 0)
		return CF_EINVAL;
	out->ignore_cache_control = json_object_get_boolean(cc);
	out->ignore_cookie = json_object_get_boolean(ck);
	out->ignore_query_string = json_object_get_boolean(qs);
	for (size_t i = 0; i < json_object_array_length(rules); i++) {
		struct json_object *r = json_object_array_get_idx(rules, i);
		if (!json_object_is_type(r, json_type_object) ||
		    rule_from_json(r, cache_add_rule(out), e) < 0) {
			cache_release(out);
			return err_set(e, CF_EINVAL, "rule %zu is malformed", i + 1);
		}
	}
	return 0;
}

static int ep_action_parse(const char *s, enum plan_ep_action *a)
{
	for (int i = PLAN_EP_NONE; i <= PLAN_EP_ERROR; i++)
		if (strcmp(plan_ep_action_name((enum plan_ep_action)i), s) == 0) {
			*a = (enum plan_ep_action)i;
			return 0;
		}
	return -1;
}

static int purge_state_parse(const char *s, enum plan_purge_state *st)
{
	for (int i = PLAN_PURGE_RUN; i <= PLAN_PURGE_OVER_QUOTA; i++)
		if (strcmp(plan_purge_state_name((enum plan_purge_state)i), s) == 0) {
			*st = (enum plan_purge_state)i;
			return 0;
		}
	return -1;
}

static int endpoint_from_json(struct json_object *o, struct planfile *pf, struct cf_err *e)
{
	struct json_object *name, *action, *ls, *desired;
	if (get(o, "name", json_type_string, &name, e) < 0 ||
	    get(o, "action", json_type_string, &action, e) < 0 ||
	    get(o, "live_state", json_type_object, &ls, e) < 0 ||
	    get(o, "desired", json_type_object, &desired, e) < 0)
		return CF_EINVAL;
	xgrow(&pf->eps, &pf->ecap, pf->neps + 1, sizeof(*pf->eps));
	struct planfile_endpoint *pe = &pf->eps[pf->neps];
	memset(pe, 0, sizeof(*pe));
	if (ep_action_parse(json_object_get_string(action), &pe->action) < 0)
		return err_set(e, CF_EINVAL, "unknown action '%s'", json_object_get_string(action));
	if (get_hex(ls, "digest", pe->digest, sizeof(pe->digest), true, e) < 0 ||
	    planfile_cache_from_json(desired, &pe->desired, e) < 0)
		return CF_EINVAL;
	pe->name = xstrdup(json_object_get_string(name));
	pf->neps++;
	return 0;
}

static int purge_from_json(struct json_object *o, struct planfile *pf, struct cf_err *e)
{
	struct json_object *id, *ep, *state;
	if (get(o, "id", json_type_string, &id, e) < 0 ||
	    get(o, "endpoint", json_type_string, &ep, e) < 0 ||
	    get(o, "state", json_type_string, &state, e) < 0)
		return CF_EINVAL;
	struct planfile_purge pp = {0};
	if (purge_state_parse(json_object_get_string(state), &pp.state) < 0)
		return err_set(e, CF_EINVAL, "unknown purge state '%s'",
			       json_object_get_string(state));
	if (get_hex(o, "content_hash", pp.content_hash, sizeof(pp.content_hash), false, e) < 0)
		return CF_EINVAL;
	pp.id = xstrdup(json_object_get_string(id));
	pp.endpoint = xstrdup(json_object_get_string(ep));
	xgrow(&pf->purges, &pf->pcap, pf->npurges + 1, sizeof(*pf->purges));
	pf->purges[pf->npurges++] = pp;
	return 0;
}

static int planfile_from_root(struct json_object *root, struct planfile *pf, struct cf_err *e)
{
	struct json_object *ver, *eps, *purges, *np;
	if (!json_object_is_type(root, json_type_object))
		return err_set(e, CF_EINVAL, "not a JSON object");
	if (get(root, "format_version", json_type_int, &ver, e) < 0)
		return CF_EINVAL;
	if (json_object_get_int(ver) != PLANFILE_FORMAT_VERSION)
		return err_set(e, CF_EINVAL, "format_version %d is not supported (expected %d)",
			       json_object_get_int(ver), PLANFILE_FORMAT_VERSION);
	if (get_hex(root, "desired_commit", pf->commit, sizeof(pf->commit), true, e) < 0 ||
	    get(root, "endpoints", json_type_array, &eps, e) < 0 ||
	    get(root, "purges", json_type_array, &purges, e) < 0 ||
	    get(root, "no_purges", json_type_boolean, &np, e) < 0)
		return CF_EINVAL;
	pf->no_purges = json_object_get_boolean(np);
	for (size_t i = 0; i < json_object_array_length(eps); i++) {
		struct json_object *o = json_object_array_get_idx(eps, i);
		if (!json_object_is_type(o, json_type_object) || endpoint_from_json(o, pf, e) < 0) {
			err_prefix(e, "endpoints[%zu]", i);
			return CF_EINVAL;
		}
	}
	for (size_t i = 0; i < json_object_array_length(purges); i++) {
		struct json_object *o = json_object_array_get_idx(purges, i);
		if (!json_object_is_type(o, json_type_object) || purge_from_json(o, pf, e) < 0) {
			err_prefix(e, "purges[%zu]", i);
			return CF_EINVAL;
		}
	}
	return 0;
}

/* One attempt: the root, or NULL with *why set (a static description). */
static struct json_object *parse_once(const char *json, size_t len, int depth, const char **why)
{
	struct json_tokener *tok = json_tokener_new_ex(depth);
	if (!tok)
		json_oom();
	struct json_object *root = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	*why = NULL;
	if (!root || json_tokener_get_parse_end(tok) != len) {
		*why = jerr == json_tokener_success ? "trailing data or an empty document"
						    : json_tokener_error_desc(jerr);
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

struct json_object *planfile_json_parse(const char *json, size_t len, int depth, const char **why)
{
	if (len > INT32_MAX) {
		*why = "document too large";
		return NULL;
	}
	/*
	 * json-c reports some allocation failures as syntax errors and ignores others (a
	 * member that could not be inserted is dropped). Parsing is a function of the input
	 * alone, so two parses that disagree mean an allocation failed in one of them.
	 */
	const char *again;
	struct json_object *root = parse_once(json, len, depth, why);
	struct json_object *other = parse_once(json, len, depth, &again);
	bool agree = root ? other && json_object_equal(root, other) : !other;
	json_object_put(other);
	if (!agree) {
		json_object_put(root);
		json_oom();
	}
	return root;
}

int planfile_decode(const char *json, size_t len, struct planfile *out, struct cf_err *e)
{
	const char *why;
	memset(out, 0, sizeof(*out));
	if (len > PLANFILE_MAX_BYTES)
		return err_set(e, CF_ELIMIT, "plan is larger than %zu bytes", PLANFILE_MAX_BYTES);
	struct json_object *root = planfile_json_parse(json, len, PLANFILE_MAX_DEPTH, &why);
	if (!root)
		return err_set(e, CF_EINVAL, "plan is not valid JSON: %s", why);
	int rc = planfile_from_root(root, out, e);
	if (rc < 0)
		planfile_release(out);
	json_object_put(root);
	return rc;
}

int planfile_read(const char *path, struct planfile *out, struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_set(e, CF_EIO, "cannot open plan '%s': %s", path, strerror(errno));
	struct sb sb;
	sb_init(&sb, PLANFILE_MAX_BYTES);
	char buf[65536];
	size_t n;
	int rc = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (sb_add(&sb, buf, n) < 0) {
			rc = err_set(e, CF_ELIMIT, "plan '%s' is larger than %zu bytes", path,
				     PLANFILE_MAX_BYTES);
			goto out;
		}
	if (ferror(f)) {
		rc = err_set(e, CF_EIO, "cannot read plan '%s'", path);
		goto out;
	}
	rc = planfile_decode(sb.buf, sb.len, out, e);
	if (rc < 0)
		err_prefix(e, "plan '%s'", path);
out:
	fclose(f);
	sb_release(&sb);
	return rc;
}

int planfile_write(const struct plan *p, const char *path, struct cf_err *e)
{
	struct sb sb, tmp;
	sb_init(&sb, PLANFILE_MAX_BYTES);
	sb_init(&tmp, 0);
	int rc = 0, fd = -1;
	if (planfile_encode(p, &sb) < 0) {
		rc = err_set(e, CF_ELIMIT, "plan is larger than %zu bytes", PLANFILE_MAX_BYTES);
		goto out;
	}
	sb_addf(&tmp, "%s%s", path, PLANFILE_TMP_SUFFIX);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = err_set(e, CF_EIO, "cannot write plan '%s': %s", tmp.buf, strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < sb.len;) {
		ssize_t w = write(fd, sb.buf + off, sb.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = err_set(e, CF_EIO, "cannot write plan '%s': %s", tmp.buf,
				     strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		rc = err_set(e, CF_EIO, "cannot write plan '%s': %s", tmp.buf, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp.buf, path) < 0)
		rc = err_set(e, CF_EIO, "cannot rename plan to '%s': %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp.len)
		unlink(tmp.buf);
	sb_release(&tmp);
	sb_release(&sb);
	return rc;
}

void planfile_release(struct planfile *pf)
{
	if (!pf)
		return;
	for (size_t i = 0; i < pf->neps; i++) {
		free(pf->eps[i].name);
		cache_release(&pf->eps[i].desired);
	}
	free(pf->eps);
	for (size_t i = 0; i < pf->npurges; i++) {
		free(pf->purges[i].id);
		free(pf->purges[i].endpoint);
	}
	free(pf->purges);
	memset(pf, 0, sizeof(*pf));
}

struct planfile_endpoint *planfile_endpoint_find(const struct planfile *pf, const char *name)
{
	for (size_t i = 0; i < pf->neps; i++)
		if (strcmp(pf->eps[i].name, name) == 0)
			return &pf->eps[i];
	return NULL;
}

struct planfile_purge *planfile_purge_find(const struct planfile *pf, const char *id,
					   const char *endpoint)
{
	for (size_t i = 0; i < pf->npurges; i++)
		if (strcmp(pf->purges[i].id, id) == 0 &&
		    strcmp(pf->purges[i].endpoint, endpoint) == 0)
			return &pf->purges[i];
	return NULL;
}
