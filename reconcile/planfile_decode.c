#include "reconcile/base/compat.h"
#include "reconcile/planfile.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "reconcile/planfile_int.h"
#include "reconcile/base/xmem.h"

#define PLANFILE_PATH_MAX   192 /* longest JSON path an error message names */
#define PLANFILE_NAME_MAX   128 /* CHECK_NAME_MAX: the names the loader accepts */
#define PLANFILE_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define PLANFILE_HEX_CHARS  "0123456789abcdef"
#define PLANFILE_COMMIT_HEX 40 /* git object id */
#define PLANFILE_DIGEST_HEX 64 /* SHA-256: live digests and purge content hashes */

/*
 * Decoding half of the plan-file codec (encoding is planfile.c). A plan file is untrusted
 * input (an artifact handed from one CI job to another): every member apply relies on is
 * checked against what `plan` can write, and every error names its JSON path
 * ("endpoints[3].desired.rules[0].items: empty list"). Messages never echo the document's
 * strings, which may hold control characters.
 */

struct jpath {
	char s[PLANFILE_PATH_MAX];
};

/* A path longer than the buffer ends in "..." (plan paths are short; a hostile one may not be). */
static const char *jp_done(struct jpath *p, int n)
{
	if (n < 0 || (size_t)n >= sizeof(p->s))
		memcpy(p->s + sizeof(p->s) - 4, "...", 4);
	return p->s;
}

/* "parent.key", or "key" at the root. */
static const char *jp_key(struct jpath *p, const char *parent, const char *key)
{
	return jp_done(p,
		       snprintf(p->s, sizeof(p->s), "%s%s%s", parent, parent[0] ? "." : "", key));
}

/* "parent[i]" */
static const char *jp_idx(struct jpath *p, const char *parent, size_t i)
{
	return jp_done(p, snprintf(p->s, sizeof(p->s), "%s[%zu]", parent, i));
}

static int bad(struct cf_err *e, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets "at: message" and returns CF_EINVAL. */
static int bad(struct cf_err *e, const char *at, const char *fmt, ...)
{
	char msg[CF_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(e, CF_EINVAL, "%s: %s", at, msg);
}

static int expect_type(struct json_object *v, const char *at, enum json_type t, struct cf_err *e)
{
	if (json_object_is_type(v, t))
		return 0;
	return bad(e, at, "expected %s, found %s", json_type_to_name(t),
		   json_type_to_name(json_object_get_type(v)));
}

/* o[key] of type t: absent, null or another type is an error. */
static int get(struct json_object *o, const char *at, const char *key, enum json_type t,
	       struct json_object **v, struct cf_err *e)
{
	struct jpath p;
	if (!json_object_object_get_ex(o, key, v))
		return bad(e, jp_key(&p, at, key), "missing");
	return expect_type(*v, jp_key(&p, at, key), t, e);
}

/* Same, but absent or null gives *v == NULL. */
static int get_opt(struct json_object *o, const char *at, const char *key, enum json_type t,
		   struct json_object **v, struct cf_err *e)
{
	if (!json_object_object_get_ex(o, key, v) || !*v) {
		*v = NULL;
		return 0;
	}
	return get(o, at, key, t, v, e);
}

static int get_int(struct json_object *o, const char *at, const char *key, int64_t lo, int64_t hi,
		   int64_t *out, struct cf_err *e)
{
	struct json_object *v;
	struct jpath p;
	if (get(o, at, key, json_type_int, &v, e) < 0)
		return CF_EINVAL;
	*out = json_object_get_int64(v);
	if (*out < 0 && lo == 0)
		return bad(e, jp_key(&p, at, key), "%" PRId64 " is negative", *out);
	if (*out < lo || *out > hi)
		return bad(e, jp_key(&p, at, key),
			   "%" PRId64 " is out of range %" PRId64 "..%" PRId64, *out, lo, hi);
	return 0;
}

/* Counts apply does not use: when present and not null, a non-negative integer. */
static int opt_counts(struct json_object *o, const char *at, const char *const *keys, size_t n,
		      struct cf_err *e)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *v;
		int64_t c;
		if (json_object_object_get_ex(o, keys[i], &v) && v &&
		    get_int(o, at, keys[i], 0, INT64_MAX, &c, e) < 0)
			return CF_EINVAL;
	}
	return 0;
}

/* Exactly nhex lowercase hex digits into dst (nhex + 1 bytes); "" for null when nullable. */
static int get_hex(struct json_object *o, const char *at, const char *key, size_t nhex,
		   bool nullable, char *dst, struct cf_err *e)
{
	struct json_object *v;
	struct jpath p;
	dst[0] = 0;
	int rc = nullable ? get_opt(o, at, key, json_type_string, &v, e)
			  : get(o, at, key, json_type_string, &v, e);
	if (rc < 0 || !v)
		return rc;
	const char *s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != nhex || strspn(s, PLANFILE_HEX_CHARS) != nhex)
		return bad(e, jp_key(&p, at, key), "expected %zu lowercase hex digits", nhex);
	memcpy(dst, s, nhex + 1);
	return 0;
}

/* An endpoint name or purge id as the loader accepts them (schema/check.c name_valid). */
static int get_name(struct json_object *o, const char *at, const char *key, const char **out,
		    struct cf_err *e)
{
	struct json_object *v;
	struct jpath p;
	if (get(o, at, key, json_type_string, &v, e) < 0)
		return CF_EINVAL;
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n > PLANFILE_NAME_MAX || !isalnum((unsigned char)s[0]) ||
	    strspn(s, PLANFILE_NAME_CHARS) != n)
		return bad(e, jp_key(&p, at, key), "not a valid name");
	*out = s;
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

/* A non-empty list of non-empty strings without control characters (the loader's rules). */
static int items_from_json(struct json_object *items, const char *at, struct rule *r,
			   struct cf_err *e)
{
	struct jpath p;
	size_t n = json_object_array_length(items);
	if (n == 0)
		return bad(e, at, "empty list");
	for (size_t i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		if (expect_type(it, jp_idx(&p, at, i), json_type_string, e) < 0)
			return CF_EINVAL;
		const char *s = json_object_get_string(it);
		size_t len = (size_t)json_object_get_string_len(it);
		if (len == 0)
			return bad(e, p.s, "empty item");
		for (size_t k = 0; k < len; k++)
			if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
				return bad(e, p.s, "control character in item");
		svec_push(&r->items, s, NULL);
	}
	return 0;
}

static int rule_from_json(struct json_object *o, const char *at, struct rule *r, struct cf_err *e)
{
	struct json_object *kind, *items, *name, *cc;
	struct jpath p;
	if (expect_type(o, at, json_type_object, e) < 0 ||
	    get(o, at, "kind", json_type_string, &kind, e) < 0 ||
	    get(o, at, "items", json_type_array, &items, e) < 0 ||
	    get_int(o, at, "ttl", 0, MODEL_TTL_MAX, &r->ttl, e) < 0 ||
	    get_opt(o, at, "name", json_type_string, &name, e) < 0 ||
	    get_opt(o, at, "ignore_cache_control", json_type_boolean, &cc, e) < 0)
		return CF_EINVAL;
	if (cc)
		r->cc = json_object_get_boolean(cc) ? RULE_CC_IGNORE : RULE_CC_HONOUR;
	if (rule_kind_parse(json_object_get_string(kind), &r->kind) < 0)
		return bad(e, jp_key(&p, at, "kind"), "unknown rule kind");
	if (items_from_json(items, jp_key(&p, at, "items"), r, e) < 0)
		return CF_EINVAL;
	if (name)
		sval_set(&r->name, json_object_get_string(name), NULL);
	return 0;
}

static int cache_from_json(struct json_object *o, const char *at, struct cache *out,
			   struct cf_err *e)
{
	struct json_object *cc, *ck, *qs, *rules;
	struct jpath pr, pi;
	memset(out, 0, sizeof(*out));
	if (expect_type(o, at, json_type_object, e) < 0 ||
	    get(o, at, "ignore_cache_control", json_type_boolean, &cc, e) < 0 ||
	    get(o, at, "ignore_cookie", json_type_boolean, &ck, e) < 0 ||
	    get(o, at, "ignore_query_string", json_type_boolean, &qs, e) < 0 ||
	    get(o, at, "rules", json_type_array, &rules, e) < 0)
		return CF_EINVAL;
	out->ignore_cache_control = json_object_get_boolean(cc);
	out->ignore_cookie = json_object_get_boolean(ck);
	out->ignore_query_string = json_object_get_boolean(qs);
	jp_key(&pr, at, "rules");
	for (size_t i = 0; i < json_object_array_length(rules); i++) {
		struct json_object *r = json_object_array_get_idx(rules, i);
		if (rule_from_json(r, jp_idx(&pi, pr.s, i), cache_add_rule(out), e) < 0) {
			cache_release(out);
			return CF_EINVAL;
		}
	}
	return 0;
}

int planfile_cache_from_json(struct json_object *o, struct cache *out, struct cf_err *e)
{
	return cache_from_json(o, "cache", out, e);
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
	for (int i = PLAN_PURGE_RUN; i <= PLAN_PURGE_RETRY_UNKNOWN; i++)
		if (strcmp(plan_purge_state_name((enum plan_purge_state)i), s) == 0) {
			*st = (enum plan_purge_state)i;
			return 0;
		}
	return -1;
}

/* live_state: a digest exactly when the endpoint was read (plan.c sets both together). */
static int live_from_json(struct json_object *ls, const char *at, char *digest, struct cf_err *e)
{
	struct json_object *read;
	struct jpath p;
	if (get(ls, at, "read", json_type_boolean, &read, e) < 0 ||
	    get_hex(ls, at, "digest", PLANFILE_DIGEST_HEX, true, digest, e) < 0)
		return CF_EINVAL;
	if (json_object_get_boolean(read) != (digest[0] != 0))
		return bad(e, jp_key(&p, at, "digest"),
			   digest[0] ? "set for an endpoint that was not read"
				     : "missing for an endpoint that was read");
	return 0;
}

/* rule_changes is informational, but its indices must point into the rule lists. */
static int changes_check(struct json_object *o, const char *at, size_t ndesired, struct cf_err *e)
{
	static const char *const idx[] = {"before_index", "after_index"};
	struct json_object *ch, *after;
	struct jpath pa, pi, p;
	if (get_opt(o, at, "rule_changes", json_type_array, &ch, e) < 0)
		return CF_EINVAL;
	if (!ch)
		return 0;
	jp_key(&pa, at, "rule_changes");
	for (size_t i = 0; i < json_object_array_length(ch); i++) {
		struct json_object *c = json_object_array_get_idx(ch, i);
		if (expect_type(c, jp_idx(&pi, pa.s, i), json_type_object, e) < 0 ||
		    opt_counts(c, pi.s, idx, CF_ARRAY_LEN(idx), e) < 0)
			return CF_EINVAL;
		if (json_object_object_get_ex(c, "after_index", &after) && after &&
		    (size_t)json_object_get_int64(after) >= ndesired)
			return bad(e, jp_key(&p, pi.s, "after_index"), "no such desired rule");
	}
	return 0;
}

static int endpoint_from_json(struct json_object *o, const char *at, struct planfile_endpoint *pe,
			      struct cf_err *e)
{
	struct json_object *action, *ls, *desired;
	const char *name;
	struct jpath p;
	if (expect_type(o, at, json_type_object, e) < 0 || get_name(o, at, "name", &name, e) < 0 ||
	    get(o, at, "action", json_type_string, &action, e) < 0 ||
	    get(o, at, "live_state", json_type_object, &ls, e) < 0 ||
	    get(o, at, "desired", json_type_object, &desired, e) < 0)
		return CF_EINVAL;
	if (ep_action_parse(json_object_get_string(action), &pe->action) < 0)
		return bad(e, jp_key(&p, at, "action"), "unknown action");
	if (live_from_json(ls, jp_key(&p, at, "live_state"), pe->digest, e) < 0 ||
	    cache_from_json(desired, jp_key(&p, at, "desired"), &pe->desired, e) < 0 ||
	    changes_check(o, at, pe->desired.nrules, e) < 0)
		return CF_EINVAL;
	pe->name = xstrdup(name);
	return 0;
}

static int purge_from_json(struct json_object *o, const char *at, struct planfile_purge *pp,
			   struct cf_err *e)
{
	static const char *const counts[] = {"files", "dirs",	  "patterns",
					     "regex", "preloads", "requests"};
	struct json_object *state;
	const char *id, *ep;
	char recorded[PLANFILE_DIGEST_HEX + 1];
	struct jpath p;
	if (expect_type(o, at, json_type_object, e) < 0 || get_name(o, at, "id", &id, e) < 0 ||
	    get_name(o, at, "endpoint", &ep, e) < 0 ||
	    get(o, at, "state", json_type_string, &state, e) < 0 ||
	    get_hex(o, at, "content_hash", PLANFILE_DIGEST_HEX, false, pp->content_hash, e) < 0 ||
	    get_hex(o, at, "recorded_hash", PLANFILE_DIGEST_HEX, true, recorded, e) < 0 ||
	    opt_counts(o, at, counts, CF_ARRAY_LEN(counts), e) < 0)
		return CF_EINVAL;
	if (purge_state_parse(json_object_get_string(state), &pp->state) < 0)
		return bad(e, jp_key(&p, at, "state"), "unknown purge state");
	pp->id = xstrdup(id);
	pp->endpoint = xstrdup(ep);
	return 0;
}

/* A name pair and its index, sorted to find duplicates in O(n log n) (10,000 endpoints). */
struct name_key {
	const char *a, *b;
	size_t i;
};

static int name_key_cmp(const void *x, const void *y)
{
	const struct name_key *p = x, *q = y;
	int c = strcmp(p->a, q->a);
	if (c == 0)
		c = strcmp(p->b, q->b);
	if (c == 0)
		c = p->i < q->i ? -1 : p->i > q->i;
	return c;
}

/* Ignores b and i: finds an endpoint by name in the sorted keys. */
static int name_key_find(const void *x, const void *y)
{
	return strcmp(((const struct name_key *)x)->a, ((const struct name_key *)y)->a);
}

/* Names `plan` cannot write twice, and purges only for endpoints in the plan. */
static int check_names(const struct planfile *pf, struct cf_err *e)
{
	struct name_key *ek = xcalloc(pf->neps, sizeof(*ek));
	struct name_key *pk = xcalloc(pf->npurges, sizeof(*pk));
	int rc = 0;
	for (size_t i = 0; i < pf->neps; i++)
		ek[i] = (struct name_key){pf->eps[i].name, "", i};
	qsort(ek, pf->neps, sizeof(*ek), name_key_cmp);
	for (size_t i = 1; i < pf->neps && rc == 0; i++)
		if (strcmp(ek[i].a, ek[i - 1].a) == 0)
			rc = err_set(e, CF_EINVAL,
				     "endpoints[%zu].name: same as endpoints[%zu].name", ek[i].i,
				     ek[i - 1].i);
	for (size_t i = 0; i < pf->npurges && rc == 0; i++) {
		struct name_key k = {pf->purges[i].endpoint, "", 0};
		pk[i] = (struct name_key){pf->purges[i].id, pf->purges[i].endpoint, i};
		if (!bsearch(&k, ek, pf->neps, sizeof(*ek), name_key_find))
			rc = err_set(e, CF_EINVAL,
				     "purges[%zu].endpoint: not an endpoint of this plan", i);
	}
	if (rc == 0)
		qsort(pk, pf->npurges, sizeof(*pk), name_key_cmp);
	for (size_t i = 1; i < pf->npurges && rc == 0; i++)
		if (strcmp(pk[i].a, pk[i - 1].a) == 0 && strcmp(pk[i].b, pk[i - 1].b) == 0)
			rc = err_set(e, CF_EINVAL,
				     "purges[%zu]: same id and endpoint as purges[%zu]", pk[i].i,
				     pk[i - 1].i);
	free(ek);
	free(pk);
	return rc;
}

static int endpoints_from_json(struct json_object *eps, struct planfile *pf, struct cf_err *e)
{
	struct jpath p;
	for (size_t i = 0; i < json_object_array_length(eps); i++) {
		xgrow(&pf->eps, &pf->ecap, pf->neps + 1, sizeof(*pf->eps));
		struct planfile_endpoint *pe = &pf->eps[pf->neps++];
		memset(pe, 0, sizeof(*pe)); /* released with pf, even half-filled */
		if (endpoint_from_json(json_object_array_get_idx(eps, i),
				       jp_idx(&p, "endpoints", i), pe, e) < 0)
			return CF_EINVAL;
	}
	return 0;
}

static int purges_from_json(struct json_object *purges, struct planfile *pf, struct cf_err *e)
{
	struct jpath p;
	for (size_t i = 0; i < json_object_array_length(purges); i++) {
		xgrow(&pf->purges, &pf->pcap, pf->npurges + 1, sizeof(*pf->purges));
		struct planfile_purge *pp = &pf->purges[pf->npurges++];
		memset(pp, 0, sizeof(*pp));
		if (purge_from_json(json_object_array_get_idx(purges, i), jp_idx(&p, "purges", i),
				    pp, e) < 0)
			return CF_EINVAL;
	}
	return 0;
}

static int planfile_from_root(struct json_object *root, struct planfile *pf, struct cf_err *e)
{
	static const char *const summary_counts[] = {
	    "endpoints",      "update",		"drift",	 "error",
	    "rules_added",    "rules_removed",	"rules_changed", "rules_moved",
	    "purges_run",     "purges_pending", "purges_edited", "purges_over_quota",
	    "safety_exceeded"};
	struct json_object *ver, *eps, *purges, *np, *summary;
	if (!json_object_is_type(root, json_type_object))
		return err_set(e, CF_EINVAL, "expected a JSON object, found %s",
			       json_type_to_name(json_object_get_type(root)));
	if (get(root, "", "format_version", json_type_int, &ver, e) < 0)
		return CF_EINVAL;
	if (json_object_get_int64(ver) != PLANFILE_FORMAT_VERSION)
		return bad(e, "format_version", "%" PRId64 " is not supported (expected %d)",
			   json_object_get_int64(ver), PLANFILE_FORMAT_VERSION);
	if (get_hex(root, "", "desired_commit", PLANFILE_COMMIT_HEX, true, pf->commit, e) < 0 ||
	    get(root, "", "no_purges", json_type_boolean, &np, e) < 0 ||
	    get(root, "", "endpoints", json_type_array, &eps, e) < 0 ||
	    get(root, "", "purges", json_type_array, &purges, e) < 0 ||
	    get_opt(root, "", "summary", json_type_object, &summary, e) < 0 ||
	    (summary &&
	     opt_counts(summary, "summary", summary_counts, CF_ARRAY_LEN(summary_counts), e) < 0))
		return CF_EINVAL;
	pf->no_purges = json_object_get_boolean(np);
	if (endpoints_from_json(eps, pf, e) < 0 || purges_from_json(purges, pf, e) < 0)
		return CF_EINVAL;
	return check_names(pf, e);
}

static bool all_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", s[i]) || !s[i])
			return false;
	return true;
}

/*
 * json_tokener_parse_ex reports json_tokener_continue both for truncated input and for a
 * number or literal that ends exactly at the end of its input (it waits for a delimiter), so
 * the end is marked by feeding the NUL a C string would have: what is still incomplete then
 * was cut short.
 */
struct json_object *planfile_parse_once(const char *json, size_t len, int depth, const char **why,
					size_t *at)
{
	struct json_tokener *tok = json_tokener_new_ex(depth);
	if (!tok)
		xmem_oom("json-c");
	struct json_object *root = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	*at = json_tokener_get_parse_end(tok);
	*why = NULL;
	if (jerr == json_tokener_continue) {
		root = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		*at = len;
		if (jerr != json_tokener_success)
			*why = all_blank(json, len) ? "empty document" : "unexpected end of input";
	} else if (jerr != json_tokener_success) {
		*why = json_tokener_error_desc(jerr);
	} else if (*at < len) {
		*why = "unexpected data after the document";
	}
	if (*why) {
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

/*
 * Compares two parses by their text, not with json_object_equal(): NaN, which json-c accepts,
 * is unequal to itself. A serialisation that fails is out of memory.
 */
static bool same_json(struct json_object *a, struct json_object *b)
{
	const char *ta = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
	if (!ta)
		xmem_oom("json-c");
	char *copy = xstrdup(ta);
	const char *tb = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);
	if (!tb)
		xmem_oom("json-c");
	bool same = strcmp(copy, tb) == 0;
	free(copy);
	return same;
}

/* planfile_json_parse, with the byte offset of a syntax error in *at. */
static struct json_object *json_parse_at(const char *json, size_t len, int depth, const char **why,
					 size_t *at)
{
	*at = 0;
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
	size_t at2;
	struct json_object *root = planfile_parse_once(json, len, depth, why, at);
	struct json_object *other = planfile_parse_once(json, len, depth, &again, &at2);
	bool agree = root ? other && same_json(root, other) : !other && *at == at2;
	json_object_put(other);
	if (!agree) {
		json_object_put(root);
		xmem_oom("json-c");
	}
	return root;
}

struct json_object *planfile_json_parse(const char *json, size_t len, int depth, const char **why)
{
	size_t at;
	return json_parse_at(json, len, depth, why, &at);
}

int planfile_decode(const char *json, size_t len, struct planfile *out, struct cf_err *e)
{
	const char *why;
	size_t at;
	memset(out, 0, sizeof(*out));
	if (len > PLANFILE_MAX_BYTES)
		return err_set(e, CF_ELIMIT, "plan is larger than %zu bytes", PLANFILE_MAX_BYTES);
	struct json_object *root = json_parse_at(json, len, PLANFILE_MAX_DEPTH, &why, &at);
	if (why)
		return err_set(e, CF_EINVAL, "not valid JSON: %s at byte %zu", why, at);
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
		err_prefix(e, "%s", path);
out:
	fclose(f);
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
