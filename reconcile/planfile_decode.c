#include "reconcile/base/compat.h"
#include "reconcile/planfile.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/codec.h"
#include "reconcile/base/xmem.h"

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

/* Plan documents are cacheform's own: errors are CF_EINVAL and name the JSON path. */
#define PF CODEC_FILE

/* Counts apply does not use: when present and not null, a non-negative integer. */
static int opt_counts(struct json_object *o, const char *at, const char *const *keys, size_t n,
		      struct cf_err *e)
{
	for (size_t i = 0; i < n; i++) {
		int64_t c;
		if (codec_int(o, at, keys[i], PF | CODEC_OPTIONAL, 0, INT64_MAX, &c, NULL, e) < 0)
			return CF_EINVAL;
	}
	return 0;
}

/* Exactly nhex lowercase hex digits into dst (nhex + 1 bytes); "" for null when nullable. */
static int get_hex(struct json_object *o, const char *at, const char *key, size_t nhex,
		   bool nullable, char *dst, struct cf_err *e)
{
	struct json_object *v;
	struct codec_path p;
	dst[0] = 0;
	int rc = codec_get(o, at, key, CODEC_STRING, nullable ? PF | CODEC_OPTIONAL : PF, &v, e);
	if (rc < 0 || !v)
		return rc;
	const char *s = codec_s(v);
	if (codec_slen(v) != nhex || strspn(s, PLANFILE_HEX_CHARS) != nhex)
		return codec_err(e, PF, codec_path_key(&p, at, key),
				 "expected %zu lowercase hex digits", nhex);
	memcpy(dst, s, nhex + 1);
	return 0;
}

/* An endpoint name or purge id as the loader accepts them (schema/check.c name_valid). */
static int get_name(struct json_object *o, const char *at, const char *key, const char **out,
		    struct cf_err *e)
{
	struct json_object *v;
	struct codec_path p;
	if (codec_get(o, at, key, CODEC_STRING, PF, &v, e) < 0)
		return CF_EINVAL;
	const char *s = codec_s(v);
	size_t n = codec_slen(v);
	if (n == 0 || n > PLANFILE_NAME_MAX || !isalnum((unsigned char)s[0]) ||
	    strspn(s, PLANFILE_NAME_CHARS) != n)
		return codec_err(e, PF, codec_path_key(&p, at, key), "not a valid name");
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
	struct codec_path p;
	size_t n = codec_len(items);
	if (n == 0)
		return codec_err(e, PF, at, "empty list");
	for (size_t i = 0; i < n; i++) {
		struct json_object *it = codec_at(items, i);
		if (codec_is(it, codec_path_idx(&p, at, i), CODEC_STRING, PF, e) < 0)
			return CF_EINVAL;
		const char *s = codec_s(it);
		size_t len = (size_t)codec_slen(it);
		if (len == 0)
			return codec_err(e, PF, p.s, "empty item");
		for (size_t k = 0; k < len; k++)
			if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
				return codec_err(e, PF, p.s, "control character in item");
		svec_push(&r->items, s, NULL);
	}
	return 0;
}

static int rule_from_json(struct json_object *o, const char *at, struct rule *r, struct cf_err *e)
{
	struct json_object *kind, *items, *name, *cc;
	struct codec_path p;
	if (codec_is(o, at, CODEC_OBJECT, PF, e) < 0 ||
	    codec_get(o, at, "kind", CODEC_STRING, PF, &kind, e) < 0 ||
	    codec_get(o, at, "items", CODEC_ARRAY, PF, &items, e) < 0 ||
	    codec_int(o, at, "ttl", PF, 0, MODEL_TTL_MAX, &r->ttl, NULL, e) < 0 ||
	    codec_get(o, at, "name", CODEC_STRING, PF | CODEC_OPTIONAL, &name, e) < 0 ||
	    codec_get(o, at, "ignore_cache_control", CODEC_BOOL, PF | CODEC_OPTIONAL, &cc, e) < 0)
		return CF_EINVAL;
	if (cc)
		r->cc = codec_b(cc) ? RULE_CC_IGNORE : RULE_CC_HONOUR;
	if (rule_kind_parse(codec_s(kind), &r->kind) < 0)
		return codec_err(e, PF, codec_path_key(&p, at, "kind"), "unknown rule kind");
	if (items_from_json(items, codec_path_key(&p, at, "items"), r, e) < 0)
		return CF_EINVAL;
	if (name)
		sval_set(&r->name, codec_s(name), NULL);
	return 0;
}

static int cache_from_json(struct json_object *o, const char *at, struct cache *out,
			   struct cf_err *e)
{
	struct json_object *cc, *ck, *qs, *rules;
	struct codec_path pr, pi;
	memset(out, 0, sizeof(*out));
	if (codec_is(o, at, CODEC_OBJECT, PF, e) < 0 ||
	    codec_get(o, at, "ignore_cache_control", CODEC_BOOL, PF, &cc, e) < 0 ||
	    codec_get(o, at, "ignore_cookie", CODEC_BOOL, PF, &ck, e) < 0 ||
	    codec_get(o, at, "ignore_query_string", CODEC_BOOL, PF, &qs, e) < 0 ||
	    codec_get(o, at, "rules", CODEC_ARRAY, PF, &rules, e) < 0)
		return CF_EINVAL;
	out->ignore_cache_control = codec_b(cc);
	out->ignore_cookie = codec_b(ck);
	out->ignore_query_string = codec_b(qs);
	codec_path_key(&pr, at, "rules");
	for (size_t i = 0; i < codec_len(rules); i++) {
		struct json_object *r = codec_at(rules, i);
		if (rule_from_json(r, codec_path_idx(&pi, pr.s, i), cache_add_rule(out), e) < 0) {
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
	struct codec_path p;
	if (codec_get(ls, at, "read", CODEC_BOOL, PF, &read, e) < 0 ||
	    get_hex(ls, at, "digest", PLANFILE_DIGEST_HEX, true, digest, e) < 0)
		return CF_EINVAL;
	if (codec_b(read) != (digest[0] != 0))
		return codec_err(e, PF, codec_path_key(&p, at, "digest"),
				 digest[0] ? "set for an endpoint that was not read"
					   : "missing for an endpoint that was read");
	return 0;
}

/* rule_changes is informational, but its indices must point into the rule lists. */
static int changes_check(struct json_object *o, const char *at, size_t ndesired, struct cf_err *e)
{
	static const char *const idx[] = {"before_index", "after_index"};
	struct json_object *ch, *after;
	struct codec_path pa, pi, p;
	if (codec_get(o, at, "rule_changes", CODEC_ARRAY, PF | CODEC_OPTIONAL, &ch, e) < 0)
		return CF_EINVAL;
	if (!ch)
		return 0;
	codec_path_key(&pa, at, "rule_changes");
	for (size_t i = 0; i < codec_len(ch); i++) {
		struct json_object *c = codec_at(ch, i);
		if (codec_is(c, codec_path_idx(&pi, pa.s, i), CODEC_OBJECT, PF, e) < 0 ||
		    opt_counts(c, pi.s, idx, CF_ARRAY_LEN(idx), e) < 0)
			return CF_EINVAL;
		if (codec_get(c, pi.s, "after_index", CODEC_INT, PF | CODEC_OPTIONAL, &after, e) <
		    0)
			return CF_EINVAL;
		if (after && (size_t)codec_i(after) >= ndesired)
			return codec_err(e, PF, codec_path_key(&p, pi.s, "after_index"),
					 "no such desired rule");
	}
	return 0;
}

static int endpoint_from_json(struct json_object *o, const char *at, struct planfile_endpoint *pe,
			      struct cf_err *e)
{
	struct json_object *action, *ls, *desired;
	const char *name;
	struct codec_path p;
	if (codec_is(o, at, CODEC_OBJECT, PF, e) < 0 || get_name(o, at, "name", &name, e) < 0 ||
	    codec_get(o, at, "action", CODEC_STRING, PF, &action, e) < 0 ||
	    codec_get(o, at, "live_state", CODEC_OBJECT, PF, &ls, e) < 0 ||
	    codec_get(o, at, "desired", CODEC_OBJECT, PF, &desired, e) < 0)
		return CF_EINVAL;
	if (ep_action_parse(codec_s(action), &pe->action) < 0)
		return codec_err(e, PF, codec_path_key(&p, at, "action"), "unknown action");
	if (live_from_json(ls, codec_path_key(&p, at, "live_state"), pe->digest, e) < 0 ||
	    cache_from_json(desired, codec_path_key(&p, at, "desired"), &pe->desired, e) < 0 ||
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
	struct codec_path p;
	if (codec_is(o, at, CODEC_OBJECT, PF, e) < 0 || get_name(o, at, "id", &id, e) < 0 ||
	    get_name(o, at, "endpoint", &ep, e) < 0 ||
	    codec_get(o, at, "state", CODEC_STRING, PF, &state, e) < 0 ||
	    get_hex(o, at, "content_hash", PLANFILE_DIGEST_HEX, false, pp->content_hash, e) < 0 ||
	    get_hex(o, at, "recorded_hash", PLANFILE_DIGEST_HEX, true, recorded, e) < 0 ||
	    opt_counts(o, at, counts, CF_ARRAY_LEN(counts), e) < 0)
		return CF_EINVAL;
	if (purge_state_parse(codec_s(state), &pp->state) < 0)
		return codec_err(e, PF, codec_path_key(&p, at, "state"), "unknown purge state");
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
	struct codec_path p;
	for (size_t i = 0; i < codec_len(eps); i++) {
		xgrow(&pf->eps, &pf->ecap, pf->neps + 1, sizeof(*pf->eps));
		struct planfile_endpoint *pe = &pf->eps[pf->neps++];
		memset(pe, 0, sizeof(*pe)); /* released with pf, even half-filled */
		if (endpoint_from_json(codec_at(eps, i), codec_path_idx(&p, "endpoints", i), pe,
				       e) < 0)
			return CF_EINVAL;
	}
	return 0;
}

static int purges_from_json(struct json_object *purges, struct planfile *pf, struct cf_err *e)
{
	struct codec_path p;
	for (size_t i = 0; i < codec_len(purges); i++) {
		xgrow(&pf->purges, &pf->pcap, pf->npurges + 1, sizeof(*pf->purges));
		struct planfile_purge *pp = &pf->purges[pf->npurges++];
		memset(pp, 0, sizeof(*pp));
		if (purge_from_json(codec_at(purges, i), codec_path_idx(&p, "purges", i), pp, e) <
		    0)
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
	if (codec_type_of(root) != CODEC_OBJECT)
		return err_set(e, CF_EINVAL, "expected a JSON object, found %s",
			       codec_type_name(codec_type_of(root)));
	if (codec_get(root, "", "format_version", CODEC_INT, PF, &ver, e) < 0)
		return CF_EINVAL;
	if (codec_i(ver) != PLANFILE_FORMAT_VERSION)
		return codec_err(e, PF, "format_version",
				 "%" PRId64 " is not supported (expected %d)", codec_i(ver),
				 PLANFILE_FORMAT_VERSION);
	if (get_hex(root, "", "desired_commit", PLANFILE_COMMIT_HEX, true, pf->commit, e) < 0 ||
	    codec_get(root, "", "no_purges", CODEC_BOOL, PF, &np, e) < 0 ||
	    codec_get(root, "", "endpoints", CODEC_ARRAY, PF, &eps, e) < 0 ||
	    codec_get(root, "", "purges", CODEC_ARRAY, PF, &purges, e) < 0 ||
	    codec_get(root, "", "summary", CODEC_OBJECT, PF | CODEC_OPTIONAL, &summary, e) < 0 ||
	    (summary &&
	     opt_counts(summary, "summary", summary_counts, CF_ARRAY_LEN(summary_counts), e) < 0))
		return CF_EINVAL;
	pf->no_purges = codec_b(np);
	if (endpoints_from_json(eps, pf, e) < 0 || purges_from_json(purges, pf, e) < 0)
		return CF_EINVAL;
	return check_names(pf, e);
}

int planfile_decode(const char *json, size_t len, struct planfile *out, struct cf_err *e)
{
	const char *why;
	size_t at;
	memset(out, 0, sizeof(*out));
	if (len > PLANFILE_MAX_BYTES)
		return err_set(e, CF_ELIMIT, "plan is larger than %zu bytes", PLANFILE_MAX_BYTES);
	struct json_object *root = codec_parse_doc(json, len, PLANFILE_MAX_DEPTH, &why, &at);
	if (why)
		return err_set(e, CF_EINVAL, "not valid JSON: %s at byte %zu", why, at);
	int rc = planfile_from_root(root, out, e);
	if (rc < 0)
		planfile_release(out);
	codec_put(root);
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
