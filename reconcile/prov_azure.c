/*
 * Driver for Azure Resource Manager Microsoft.Cdn endpoints: cache rules are delivery rules
 * with one condition and one CacheExpiration action plus queryStringCachingBehavior (GET /
 * PATCH endpoint); purge and load are long-running operations; auth is an Entra ID
 * client-credentials token kept in the account and refreshed before it expires
 * (prov_token.c).
 * Delivery rules of any other shape are foreign: kept as JSON text and written back.
 */
#include "reconcile/base/compat.h"

#include <ctype.h>
#include <strings.h>

#include "reconcile/codec.h"
#include "reconcile/prov_azure.h"
#include "reconcile/prov_int.h"
#include "reconcile/base/limits.h"
#include "reconcile/base/xmem.h"

#define AZ_DEFAULT_BASE	 "https://management.azure.com"
#define AZ_DEFAULT_LOGIN "https://login.microsoftonline.com"
#define AZ_DEFAULT_API	 "2024-09-01"
#define AZ_MAX_PATHS	 LIM_AZURE_PURGE_PATHS
#define AZ_MAX_LOAD	 LIM_AZURE_LOAD_PATHS
#define AZ_MAX_RULES	 LIM_AZURE_RULES
#define AZ_AUTO_NAME	 "cacheform" /* + N: the name of a rule that has none of its own */
#define AZ_ODATA_BEFORE	 "2022"	     /* api-versions older than this use @odata.type */
#define AZ_ODATA_PREFIX	 "#Microsoft.Azure.Cdn.Models."
#define AZ_DURATION_MAX	 32

#define OP_READ	 "read endpoint"
#define OP_WRITE "write delivery rules"
#define OP_PURGE "submit purge"
#define OP_LOAD	 "submit load"

#define OPT CODEC_OPTIONAL

#define T_PATH	"DeliveryRuleUrlPathMatchConditionParameters"
#define T_EXT	"DeliveryRuleUrlFileExtensionMatchConditionParameters"
#define T_CACHE "DeliveryRuleCacheExpirationActionParameters"

static const struct prov_field az_fields[] = {
    {"subscription", offsetof(struct account, subscription),
     offsetof(struct prov_account, subscription), true, NULL},
    {"tenant", offsetof(struct account, tenant), offsetof(struct prov_account, tenant), true, NULL},
    {"client_id", offsetof(struct account, client_id), offsetof(struct prov_account, client_id),
     true, NULL},
    {"client_secret", offsetof(struct account, client_secret),
     offsetof(struct prov_account, client_secret), true, NULL},
    {"login_url", offsetof(struct account, login_url), offsetof(struct prov_account, login_url),
     false, AZ_DEFAULT_LOGIN},
    {"api_version", offsetof(struct account, api_version),
     offsetof(struct prov_account, api_version), false, AZ_DEFAULT_API},
};

static int az_open(const struct account *a, const char *repo_root, struct prov_account **out,
		   struct cf_err *e)
{
	int rc = prov_account_open(a, repo_root, az_fields, CF_ARRAY_LEN(az_fields),
				   AZ_DEFAULT_BASE, out, e);
	if (rc == 0 && strspn((*out)->api_version, "0123456789abcdefghijklmnopqrstuvwxyz-") !=
			   strlen((*out)->api_version)) {
		/* not echoed: it may come from {file: PATH} */
		rc = err_set(e, CF_EINVAL,
			     "account '%s': api_version is not an api-version (lower-case letters, "
			     "digits and '-')",
			     a->name.s);
		prov_account_close(*out);
		*out = NULL;
	}
	return rc;
}

/* ---- requests ---- */

/* {base}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Cdn/profiles/{profile}/
 * endpoints/{endpoint}{tail}?api-version={v} */
/* {base}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Cdn/profiles/{p} */
static void add_profile_url(struct sb *url, const struct prov_account *pa, const struct remote *r)
{
	sb_addf(url, "%s/subscriptions/", pa->base_url);
	prov_add_segment(url, pa->subscription);
	sb_adds(url, "/resourceGroups/");
	prov_add_segment(url, r->resource_group.s);
	sb_adds(url, "/providers/Microsoft.Cdn/profiles/");
	prov_add_segment(url, r->profile.s);
}

static int az_start(struct prov_account *pa, const struct endpoint *ep, const char *method,
		    const char *tail, const char *op, struct http_req *req, struct cf_err *e)
{
	const struct remote *r = &ep->remote;
	struct sb url;
	memset(req, 0, sizeof(*req));
	if (!r->resource_group.s || !r->profile.s || !r->endpoint.s)
		return err_set(e, CF_EINVAL,
			       "endpoint '%s': remote needs resource_group, profile "
			       "and endpoint",
			       ep->name.s);
	sb_init(&url, PROV_URL_MAX);
	add_profile_url(&url, pa, r);
	sb_adds(&url, "/endpoints/");
	prov_add_segment(&url, r->endpoint.s);
	sb_addf(&url, "%s?api-version=%s", tail, pa->api_version);
	return prov_req_url(req, pa, ep, method, &url, op, prov_azure_sign, e);
}

/* ---- durations [d.]hh:mm:ss ---- */

static int two_digits(const char *p, int max)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	int v = (p[0] - '0') * 10 + (p[1] - '0');
	return v <= max ? v : -1;
}

static int parse_duration(const char *s, int64_t *out)
{
	int64_t days = 0;
	const char *dot = strchr(s, '.');
	if (dot) {
		size_t nd = (size_t)(dot - s);
		if (nd == 0 || nd > 6 || strspn(s, "0123456789") != nd)
			return -1;
		days = strtoll(s, NULL, 10);
		s = dot + 1;
	}
	if (strlen(s) != 8 || s[2] != ':' || s[5] != ':')
		return -1;
	int h = two_digits(s, 23), m = two_digits(s + 3, 59), sec = two_digits(s + 6, 59);
	if (h < 0 || m < 0 || sec < 0)
		return -1;
	*out = days * 86400 + h * 3600 + m * 60 + sec;
	return *out <= MODEL_TTL_MAX ? 0 : -1;
}

static void format_duration(int64_t secs, char *buf, size_t n)
{
	int64_t d = secs / 86400, r = secs % 86400;
	int h = (int)(r / 3600), m = (int)(r % 3600 / 60), s = (int)(r % 60);
	if (d > 0)
		snprintf(buf, n, "%lld.%02d:%02d:%02d", (long long)d, h, m, s);
	else
		snprintf(buf, n, "%02d:%02d:%02d", h, m, s);
}

/* ---- delivery rules: decoding ---- */

enum cc_behaviour { CC_BYPASS, CC_OVERRIDE, CC_IF_MISSING };

struct owned {
	int order;
	struct rule rule;
	enum cc_behaviour cc;
};

/* The discriminator, when present, must name the expected parameter type; both the new
 * `typeName` and the older `@odata.type` ("#Microsoft.Azure.Cdn.Models.X") are accepted. */
static int check_type(struct json_object *params, const char *want, struct cf_err *e)
{
	const char *t = NULL, *o = NULL;
	int rc = codec_str(params, "", "typeName", OPT, &t, e);
	if (rc == 0)
		rc = codec_str(params, "", "@odata.type", OPT, &o, e);
	if (rc != 0)
		return rc;
	const char *got = t ? t : o;
	if (!got)
		return 0;
	size_t gl = strlen(got), wl = strlen(want);
	if (gl >= wl && strcmp(got + gl - wl, want) == 0 && (gl == wl || got[gl - wl - 1] == '.'))
		return 0;
	return err_set(e, CF_EAPI, "parameters type '%.80s', want '%s'", got, want);
}

static bool has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

/* Fills r from a condition if it has one of cacheform's three shapes; *mine false otherwise. */
static int decode_condition(struct json_object *c, struct rule *r, bool *mine, struct cf_err *e)
{
	struct json_object *p, *vals, *tr;
	const char *name, *op;
	bool neg = false;
	size_t nv = 0, nt = 0;
	*mine = false;
	int rc = codec_str(c, "", "name", 0, &name, e);
	if (rc == 0)
		rc = codec_obj(c, "", "parameters", 0, &p, e);
	if (rc != 0)
		return rc;
	bool path = strcmp(name, "UrlPath") == 0, ext = strcmp(name, "UrlFileExtension") == 0;
	if (!path && !ext)
		return 0;
	rc = check_type(p, path ? T_PATH : T_EXT, e);
	if (rc == 0)
		rc = codec_str(p, "", "operator", 0, &op, e);
	if (rc == 0)
		rc = codec_bool(p, "", "negateCondition", OPT, &neg, NULL, e);
	if (rc == 0)
		rc = codec_arr(p, "", "transforms", OPT, &tr, &nt, e);
	if (rc == 0)
		rc = codec_arr(p, "", "matchValues", OPT, &vals, &nv, e);
	if (rc != 0 || neg || nv == 0)
		return rc;
	/* cacheform writes extensions lower-cased behind a Lowercase transform (the YAML's
	 * suffixes are case-insensitive); other transforms are not its shape */
	bool lower = false;
	if (nt > 1 || (nt == 1 && !ext))
		return 0;
	if (nt == 1) {
		const char *t;
		if (codec_as_str(codec_at(tr, 0), "transforms[]", 0, &t, NULL) != 0 ||
		    strcmp(t, "Lowercase") != 0)
			return 0;
		lower = true;
	}
	if (path && strcasecmp(op, "BeginsWith") == 0)
		r->kind = RULE_DIR;
	else if (strcasecmp(op, "Equal") == 0)
		r->kind = path ? RULE_PATH : RULE_SUFFIX;
	else
		return 0;
	svec_reserve(&r->items, r->items.n + nv);
	for (size_t i = 0; i < nv; i++) {
		const char *s;
		rc = codec_as_str(codec_at(vals, i), "matchValues[]", 0, &s, e);
		if (rc != 0)
			return rc;
		if (!*s || svec_contains(&r->items, s) || (lower && has_upper(s)))
			return 0; /* not a list cacheform could have written */
		svec_push(&r->items, s, NULL);
	}
	*mine = true;
	return 0;
}

static int decode_action(struct json_object *a, struct owned *o, bool *mine, struct cf_err *e)
{
	struct json_object *p;
	const char *name, *beh, *type, *dur = NULL;
	*mine = false;
	int rc = codec_str(a, "", "name", 0, &name, e);
	if (rc == 0)
		rc = codec_obj(a, "", "parameters", 0, &p, e);
	if (rc != 0 || strcmp(name, "CacheExpiration") != 0)
		return rc;
	rc = check_type(p, T_CACHE, e);
	if (rc == 0)
		rc = codec_str(p, "", "cacheBehavior", 0, &beh, e);
	if (rc == 0)
		rc = codec_str(p, "", "cacheType", 0, &type, e);
	if (rc == 0)
		rc = codec_str(p, "", "cacheDuration", OPT, &dur, e);
	if (rc != 0 || strcmp(type, "All") != 0)
		return rc;
	if (strcmp(beh, "BypassCache") == 0) {
		o->cc = CC_BYPASS;
		o->rule.ttl = 0;
		*mine = dur == NULL;
		return 0;
	}
	if (strcmp(beh, "Override") == 0)
		o->cc = CC_OVERRIDE;
	else if (strcmp(beh, "SetIfMissing") == 0)
		o->cc = CC_IF_MISSING;
	else
		return err_set(e, CF_EAPI, "unknown cacheBehavior '%.40s'", beh);
	if (!dur || parse_duration(dur, &o->rule.ttl) != 0)
		return err_set(e, CF_EAPI, "cacheDuration '%.40s' is not [d.]hh:mm:ss",
			       dur ? dur : "null");
	*mine = o->rule.ttl > 0; /* Override for 0 s has no model form (ttl 0 is BypassCache) */
	return 0;
}

/* One delivery rule: owned (filled into o) or not. */
static int decode_rule(struct json_object *r, struct owned *o, bool *mine, struct cf_err *e)
{
	struct json_object *conds, *acts;
	const char *name = NULL;
	int64_t order;
	size_t nc, na;
	bool cmine = false, amine = false;
	*mine = false;
	int rc = codec_is(r, "rule", CODEC_OBJECT, 0, e);
	if (rc == 0)
		rc = codec_int(r, "", "order", 0, 0, INT32_MAX, &order, NULL, e);
	if (rc == 0)
		rc = codec_str(r, "", "name", OPT, &name, e);
	if (rc == 0)
		rc = codec_arr(r, "", "conditions", OPT, &conds, &nc, e);
	if (rc == 0)
		rc = codec_arr(r, "", "actions", 0, &acts, &na, e);
	if (rc != 0)
		return rc;
	o->order = (int)order;
	if (nc != 1 || na != 1)
		return 0;
	rc = decode_condition(codec_at(conds, 0), &o->rule, &cmine, e);
	if (rc == 0 && cmine)
		rc = decode_action(codec_at(acts, 0), o, &amine, e);
	if (rc == 0 && amine && name)
		sval_set(&o->rule.name, name, NULL);
	*mine = cmine && amine;
	return rc;
}

static void rule_clear(struct rule *r)
{
	svec_release(&r->items);
	free(r->name.s);
	memset(r, 0, sizeof(*r));
}

static void add_foreign(struct live_state *ls, struct json_object *r, int order)
{
	const char *name = NULL;
	codec_str(r, "", "name", OPT, &name, NULL);
	xgrow(&ls->foreign, &ls->fcap, ls->nforeign + 1, sizeof(*ls->foreign));
	struct foreign_rule *f = &ls->foreign[ls->nforeign++];
	f->name = xstrdup(name ? name : "");
	f->order = order;
	f->json = codec_dup_text(r);
}

static int cmp_owned(const void *a, const void *b)
{
	const struct owned *x = a, *y = b;
	return (x->order > y->order) - (x->order < y->order);
}

static void add_inexact(struct live_state *ls, const char *why)
{
	struct sb sb;
	sb_init(&sb, 0);
	if (ls->inexact)
		sb_addf(&sb, "%s; ", ls->inexact);
	sb_adds(&sb, why);
	free(ls->inexact);
	ls->inexact = sb_detach(&sb);
}

/* Override/SetIfMissing lives in each rule, so every caching rule gets its own value and the
 * cache block's flag is not observable (plan takes the desired one); the flag is set to the
 * majority so that import writes the fewest per-rule overrides. BypassCache rules say nothing. */
static void derive_cache_control(struct live_state *ls, struct owned *o, size_t n)
{
	size_t over = 0, ifmiss = 0;
	for (size_t i = 0; i < n; i++) {
		over += o[i].cc == CC_OVERRIDE;
		ifmiss += o[i].cc == CC_IF_MISSING;
		if (o[i].cc == CC_OVERRIDE || o[i].cc == CC_IF_MISSING)
			o[i].rule.cc = o[i].cc == CC_OVERRIDE ? RULE_CC_IGNORE : RULE_CC_HONOUR;
	}
	ls->cache.ignore_cache_control = over > ifmiss;
	ls->cache_control_unknown = true;
}

/* ---- delivery rules as the rules engine evaluates them (sem.h), owned or foreign ---- */

static enum sem_az_op sem_op(const char *op)
{
	static const struct {
		const char *wire;
		enum sem_az_op op;
	} ops[] = {{"Any", SEM_OP_ANY},
		   {"Equal", SEM_OP_EQUAL},
		   {"BeginsWith", SEM_OP_BEGINS},
		   {"EndsWith", SEM_OP_ENDS},
		   {"Contains", SEM_OP_CONTAINS}};
	for (size_t i = 0; op && i < CF_ARRAY_LEN(ops); i++)
		if (strcasecmp(op, ops[i].wire) == 0)
			return ops[i].op;
	return SEM_OP_OTHER;
}

static enum sem_az_var sem_var(const char *name)
{
	if (!name)
		return SEM_AZ_OTHER;
	if (strcmp(name, "UrlPath") == 0)
		return SEM_AZ_URL_PATH;
	if (strcmp(name, "UrlFileExtension") == 0)
		return SEM_AZ_URL_EXT;
	return strcmp(name, "UrlFileName") == 0 ? SEM_AZ_URL_FILENAME : SEM_AZ_OTHER;
}

/* Transforms act on the request value: case ones are modelled, UrlDecode is what the path
 * already is, the rest (Trim, RemoveNulls, UrlEncode) make the condition unknown. */
static void sem_transforms(struct json_object *tr, size_t nt, struct sem_az_cond *sc)
{
	for (size_t i = 0; i < nt; i++) {
		const char *t = "";
		codec_as_str(codec_at(tr, i), "transforms[]", 0, &t, NULL);
		if (strcmp(t, "Lowercase") == 0)
			sc->transform = SEM_CASE_LOWER;
		else if (strcmp(t, "Uppercase") == 0)
			sc->transform = SEM_CASE_UPPER;
		else if (strcmp(t, "UrlDecode") != 0)
			sc->op = SEM_OP_OTHER;
	}
}

static void sem_condition(struct json_object *c, struct sem_az_rule *r)
{
	struct sem_az_cond *sc = sem_az_add_cond(r);
	struct json_object *p = NULL, *vals = NULL, *tr = NULL;
	const char *name = NULL, *op = NULL;
	size_t nv = 0, nt = 0;
	codec_str(c, "", "name", OPT, &name, NULL);
	codec_obj(c, "", "parameters", OPT, &p, NULL);
	sc->var = p ? sem_var(name) : SEM_AZ_OTHER;
	if (!p)
		return;
	codec_str(p, "", "operator", OPT, &op, NULL);
	sc->op = sem_op(op);
	codec_bool(p, "", "negateCondition", OPT, &sc->negate, NULL, NULL);
	if (codec_arr(p, "", "transforms", OPT, &tr, &nt, NULL) == 0)
		sem_transforms(tr, nt, sc);
	if (codec_arr(p, "", "matchValues", OPT, &vals, &nv, NULL) != 0)
		nv = 0;
	svec_reserve(&sc->values, nv);
	for (size_t i = 0; i < nv; i++) {
		const char *v;
		if (codec_as_str(codec_at(vals, i), "matchValues[]", 0, &v, NULL) == 0)
			svec_push(&sc->values, v, NULL);
	}
}

/* The last CacheExpiration action of a rule is the one it leaves in effect. */
static void sem_action(struct json_object *a, struct sem_az_rule *r)
{
	struct json_object *p = NULL;
	const char *name = NULL, *beh = NULL, *dur = NULL;
	int64_t ttl = 0;
	codec_str(a, "", "name", OPT, &name, NULL);
	codec_obj(a, "", "parameters", OPT, &p, NULL);
	if (!name || !p || strcmp(name, "CacheExpiration") != 0)
		return;
	codec_str(p, "", "cacheBehavior", OPT, &beh, NULL);
	codec_str(p, "", "cacheDuration", OPT, &dur, NULL);
	if (beh && strcmp(beh, "BypassCache") == 0) {
		r->has_cache = true;
		r->mode = SEM_BYPASS;
		r->ttl = 0;
		return;
	}
	bool over = beh && strcmp(beh, "Override") == 0;
	if ((!over && !(beh && strcmp(beh, "SetIfMissing") == 0)) || !dur ||
	    parse_duration(dur, &ttl) != 0)
		return;
	r->has_cache = true;
	r->mode = over ? SEM_OVERRIDE : SEM_IF_MISSING;
	r->ttl = ttl;
}

void prov_azure_sem_rule(struct json_object *j, struct sem_az *az, bool foreign)
{
	struct json_object *conds = NULL, *acts = NULL;
	const char *name = NULL;
	int64_t order = 0;
	size_t nc = 0, na = 0;
	struct sem_az_rule *r = sem_az_add_rule(az);
	r->foreign = foreign;
	codec_str(j, "", "name", OPT, &name, NULL);
	r->name = name ? xstrdup(name) : NULL;
	codec_int(j, "", "order", OPT, 0, INT32_MAX, &order, NULL, NULL);
	r->order = (int)order;
	if (codec_arr(j, "", "conditions", OPT, &conds, &nc, NULL) != 0)
		nc = 0;
	sem_az_reserve_conds(r, nc);
	for (size_t i = 0; i < nc; i++)
		sem_condition(codec_at(conds, i), r);
	if (codec_arr(j, "", "actions", OPT, &acts, &na, NULL) != 0)
		na = 0;
	for (size_t i = 0; i < na; i++)
		sem_action(codec_at(acts, i), r);
}

static int decode_rules(struct json_object *rules, size_t n, struct live_state *ls,
			struct cf_err *e)
{
	struct owned *o = xcalloc(n ? n : 1, sizeof(*o));
	size_t no = 0;
	int rc = 0;
	sem_az_reserve_rules(&ls->sem.az, ls->sem.az.n + n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool mine = false;
		struct json_object *r = codec_at(rules, i);
		rc = decode_rule(r, &o[no], &mine, e);
		if (rc == 0)
			prov_azure_sem_rule(r, &ls->sem.az, !mine);
		if (rc != 0)
			err_prefix(e, "deliveryPolicy.rules[%zu]", i);
		else if (mine)
			no++;
		else {
			add_foreign(ls, r, o[no].order);
			rule_clear(&o[no].rule);
		}
	}
	if (rc == 0) {
		qsort(o, no, sizeof(*o), cmp_owned);
		derive_cache_control(ls, o, no);
		cache_reserve(&ls->cache, ls->cache.nrules + no);
		/* the rule that runs last wins: read back, the highest order is the first match */
		for (size_t i = no; i-- > 0;) {
			*cache_add_rule(&ls->cache) = o[i].rule;
			memset(&o[i].rule, 0, sizeof(o[i].rule));
		}
		ls->sem.kind = SEM_AZURE;
		sem_az_sort(&ls->sem.az);
	}
	for (size_t i = 0; i <= no && i < n; i++)
		rule_clear(&o[i].rule);
	free(o);
	return rc;
}

/* IgnoreQueryString / UseQueryString are the model's two values. NotSet (also what an absent
 * value means) is the service default, which ignores query strings ("Ignore query strings:
 * default mode", learn.microsoft.com, "Control Azure CDN caching behavior with query
 * strings"), so it reads as IgnoreQueryString. BypassCaching has no model form: inexact. */
static int decode_qs(struct json_object *props, struct live_state *ls, struct cf_err *e)
{
	const char *q = NULL;
	int rc = codec_str(props, "", "queryStringCachingBehavior", OPT, &q, e);
	if (rc != 0)
		return rc;
	if (q && strcmp(q, "IgnoreQueryString") == 0)
		ls->cache.ignore_query_string = true;
	else if (q && strcmp(q, "UseQueryString") == 0)
		ls->cache.ignore_query_string = false;
	else if (!q || strcmp(q, "NotSet") == 0)
		ls->cache.ignore_query_string = true;
	else if (strcmp(q, "BypassCaching") == 0) {
		add_inexact(ls, "queryStringCachingBehavior is BypassCaching");
		ls->qs_inexact = true;
	} else
		rc = err_set(e, CF_EAPI, "unknown queryStringCachingBehavior '%.40s'", q);
	return rc;
}

static int decode_endpoint(struct json_object *root, void *out, struct cf_err *e)
{
	struct live_state *ls = out;
	struct json_object *props, *policy = NULL, *rules = NULL;
	size_t n = 0;
	int rc = codec_obj(root, "", "properties", 0, &props, e);
	if (rc == 0)
		rc = codec_obj(props, "", "deliveryPolicy", OPT, &policy, e);
	if (rc == 0 && policy)
		rc = codec_arr(policy, "", "rules", 0, &rules, &n, e);
	ls->sem.kind = SEM_AZURE;
	if (rc == 0 && policy) {
		const char *d = NULL;
		rc = codec_str(policy, "", "description", OPT, &d, e);
		if (rc == 0 && d)
			ls->policy_description = xstrdup(d);
	}
	if (rc == 0)
		rc = decode_rules(rules, n, ls, e);
	if (rc == 0)
		rc = decode_qs(props, ls, e);
	return rc;
}

static int az_read_req(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
		       struct cf_err *e)
{
	return az_start(pa, ep, "GET", "", OP_READ, req, e);
}

/* ignore_cookie is not expressible: it always reads false */
static int az_read_parse(const struct endpoint *ep, const struct http_resp *resp,
			 struct live_state *out, struct cf_err *e)
{
	return prov_parse_live(ep, OP_READ, resp, &prov_arm_err, decode_endpoint, out, e);
}

/* ---- delivery rules: encoding ---- */

static void add_type(struct sb *sb, const struct prov_account *pa, const char *type)
{
	if (strcmp(pa->api_version, AZ_ODATA_BEFORE) < 0)
		sb_addf(sb, "\"@odata.type\":\"%s%s\"", AZ_ODATA_PREFIX, type);
	else
		sb_addf(sb, "\"typeName\":\"%s\"", type);
}

/*
 * A dir item is a directory: BeginsWith "/pic" would also take "/picture.png", so it is
 * written with its trailing '/'. A suffix is matched case-insensitively: written lower-case
 * behind a Lowercase transform of the request's extension.
 */
static void encode_item(struct sb *sb, enum rule_kind k, const char *item)
{
	size_t n = strlen(item);
	char *t = xmalloc(n + 2);
	memcpy(t, item, n + 1);
	if (k == RULE_DIR && (n == 0 || t[n - 1] != '/'))
		memcpy(t + n, "/", 2);
	for (char *p = t; k == RULE_SUFFIX && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	sb_add_json_str(sb, t);
	free(t);
}

static bool same_items(const struct rule *a, const struct rule *b)
{
	if (a->kind != b->kind || a->items.n != b->items.n)
		return false;
	for (size_t i = 0; i < a->items.n; i++)
		if (strcmp(a->items.v[i].s, b->items.v[i].s) != 0)
			return false;
	return true;
}

static bool name_taken(char **names, size_t n, const struct cache *c, const struct live_state *live,
		       const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return true;
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i].name.s && strcmp(c->rules[i].name.s, s) == 0)
			return true;
	for (size_t i = 0; live && i < live->nforeign; i++)
		if (strcmp(live->foreign[i].name, s) == 0)
			return true;
	return false;
}

/*
 * Names of cacheform's rules that have none in the repository. A live rule with the same
 * kind and items keeps its name, so removing rule 2 does not rename cacheform3 to cacheform2
 * behind the plan's back; a new rule takes cacheformN for its position N when that is free,
 * else the first free cacheformN. Returns c->nrules names (NULL where the rule has its own
 * name); the caller frees each and the array.
 */
static char **owned_names(const struct cache *c, const struct live_state *live)
{
	char **names = xcalloc(c->nrules + 1, sizeof(*names));
	bool *used = xcalloc((live ? live->cache.nrules : 0) + 1, sizeof(*used));
	for (size_t i = 0; i < c->nrules; i++)
		for (size_t j = 0; live && !c->rules[i].name.s && j < live->cache.nrules; j++) {
			const struct rule *l = &live->cache.rules[j];
			if (used[j] || !l->name.s || !same_items(&c->rules[i], l) ||
			    strncmp(l->name.s, AZ_AUTO_NAME, strlen(AZ_AUTO_NAME)) != 0 ||
			    name_taken(names, c->nrules, c, NULL, l->name.s))
				continue;
			used[j] = true;
			names[i] = xstrdup(l->name.s);
			break;
		}
	for (size_t i = 0; i < c->nrules; i++) {
		char buf[sizeof(AZ_AUTO_NAME) + 24];
		if (c->rules[i].name.s || names[i])
			continue;
		snprintf(buf, sizeof(buf), AZ_AUTO_NAME "%zu", i + 1);
		for (size_t k = 1; name_taken(names, c->nrules, c, live, buf); k++)
			snprintf(buf, sizeof(buf), AZ_AUTO_NAME "%zu", k);
		names[i] = xstrdup(buf);
	}
	free(used);
	return names;
}

static void encode_owned(struct sb *sb, const struct prov_account *pa, const struct cache *c,
			 size_t i, const char *auto_name, int order)
{
	const struct rule *r = &c->rules[i];
	bool ext = r->kind == RULE_SUFFIX;
	sb_adds(sb, "{\"name\":");
	sb_add_json_str(sb, r->name.s ? r->name.s : auto_name);
	sb_addf(sb, ",\"order\":%d,\"conditions\":[{\"name\":\"%s\",\"parameters\":{", order,
		ext ? "UrlFileExtension" : "UrlPath");
	add_type(sb, pa, ext ? T_EXT : T_PATH);
	sb_addf(sb, ",\"operator\":\"%s\",\"negateCondition\":false,\"matchValues\":[",
		r->kind == RULE_DIR ? "BeginsWith" : "Equal");
	for (size_t j = 0; j < r->items.n; j++) {
		sb_adds(sb, j ? "," : "");
		encode_item(sb, r->kind, r->items.v[j].s);
	}
	sb_addf(sb,
		"],\"transforms\":[%s]}}],\"actions\":[{\"name\":\"CacheExpiration\","
		"\"parameters\":{",
		ext ? "\"Lowercase\"" : "");
	add_type(sb, pa, T_CACHE);
	if (r->ttl == 0) {
		sb_adds(sb, ",\"cacheBehavior\":\"BypassCache\",\"cacheType\":\"All\"}}]}");
		return;
	}
	char dur[AZ_DURATION_MAX];
	format_duration(r->ttl, dur, sizeof(dur));
	sb_addf(sb, ",\"cacheBehavior\":\"%s\",\"cacheType\":\"All\",\"cacheDuration\":\"%s\"}}]}",
		rule_ignores_cc(c, r) ? "Override" : "SetIfMissing", dur);
}

static int cmp_foreign(const void *a, const void *b)
{
	const struct foreign_rule *x = *(const struct foreign_rule *const *)a;
	const struct foreign_rule *y = *(const struct foreign_rule *const *)b;
	if (x->order != y->order)
		return (x->order > y->order) - (x->order < y->order);
	return (x > y) - (x < y); /* stable: keep the order they were read in */
}

static int encode_foreign(struct sb *sb, const struct foreign_rule *f, int order, struct cf_err *e)
{
	char *text = codec_set_int(f->json, "order", order);
	if (!text)
		return err_set(e, CF_EINVAL, "preserved delivery rule '%s' is not a JSON object",
			       f->name);
	sb_adds(sb, text);
	free(text);
	return 0;
}

/* The limit of az_write_req, also checked by plan (write_check): same code, same words. */
static int rules_fit(const struct cache *c, const struct live_state *live, struct cf_err *e)
{
	size_t nf = live ? live->nforeign : 0;
	if (nf + c->nrules > AZ_MAX_RULES)
		return err_set(e, CF_ELIMIT,
			       "%zu cache rules and %zu preserved rules exceed the "
			       "%d delivery rules azure allows",
			       c->nrules, nf, AZ_MAX_RULES);
	return 0;
}

static int az_write_check(const struct endpoint *ep, const struct live_state *live,
			  struct cf_err *e)
{
	return rules_fit(&ep->cache, live, e);
}

/*
 * Rules in order: a foreign global rule (order 0) first, then slots 1..M where each foreign
 * rule keeps its order when it can and cacheform's rules fill the gaps in reverse: every
 * matching rule runs and a later action overwrites an earlier one, so the YAML's first rule
 * (first match wins) must act last. Orders come out consecutive, as the service requires.
 */
static int encode_rules(struct sb *sb, const struct prov_account *pa, const struct cache *c,
			const struct live_state *live, struct cf_err *e)
{
	size_t nf = live ? live->nforeign : 0, fi = 0, oi = 0;
	const struct foreign_rule **f = xcalloc(nf ? nf : 1, sizeof(*f));
	char **names = owned_names(c, live);
	int rc = 0, slot = 0;
	for (size_t i = 0; i < nf; i++)
		f[i] = &live->foreign[i];
	qsort(f, nf, sizeof(*f), cmp_foreign);
	rc = rules_fit(c, live, e);
	if (rc == 0 && nf > 0 && f[0]->order == 0)
		rc = encode_foreign(sb, f[fi++], slot, e);
	while (rc == 0 && (fi < nf || oi < c->nrules)) {
		sb_adds(sb, fi + oi > 0 ? "," : "");
		slot++;
		if (fi < nf && (f[fi]->order <= slot || oi == c->nrules))
			rc = encode_foreign(sb, f[fi++], slot, e);
		else {
			size_t k = c->nrules - 1 - oi++;
			encode_owned(sb, pa, c, k, names[k], slot);
		}
	}
	for (size_t i = 0; i < c->nrules; i++)
		free(names[i]);
	free(names);
	free(f);
	return rc;
}

/* The PATCH body: the whole delivery policy and the query-string behaviour. */
static int encode_endpoint(struct sb *body, const struct prov_account *pa,
			   const struct endpoint *ep, const struct live_state *live,
			   struct cf_err *e)
{
	sb_adds(body, "{\"properties\":{\"deliveryPolicy\":{");
	/* the description is someone else's: written back as read, never replaced */
	if (live && live->policy_description) {
		sb_adds(body, "\"description\":");
		sb_add_json_str(body, live->policy_description);
		sb_addc(body, ',');
	}
	sb_adds(body, "\"rules\":[");
	int rc = encode_rules(body, pa, &ep->cache, live, e);
	sb_addf(body, "]},\"queryStringCachingBehavior\":\"%s\"}}",
		ep->cache.ignore_query_string ? "IgnoreQueryString" : "UseQueryString");
	return rc;
}

static int az_sem_write(const struct endpoint *ep, const struct live_state *live,
			struct sem_cfg *out, struct cf_err *e)
{
	struct prov_account pa;
	struct sb body;
	memset(&pa, 0, sizeof(pa));
	pa.api_version = (char *)AZ_DEFAULT_API; /* only the discriminator spelling depends on it */
	memset(out, 0, sizeof(*out));
	sb_init(&body, PROV_BODY_MAX);
	int rc = encode_endpoint(&body, &pa, ep, live, e);
	if (rc == 0 && body.overflow)
		rc = err_set(e, CF_ELIMIT, "endpoint '%s': delivery policy too large", ep->name.s);
	if (rc == 0)
		rc = prov_sem_of_body(ep, body.buf, body.len, decode_endpoint, out, e);
	sb_release(&body);
	return rc;
}

static int az_write_req(struct prov_account *pa, const struct endpoint *ep,
			const struct live_state *live, struct http_req *req, struct cf_err *e)
{
	struct sb body;
	int rc = az_start(pa, ep, "PATCH", "", OP_WRITE, req, e);
	if (rc != 0)
		return rc;
	sb_init(&body, PROV_BODY_MAX);
	rc = encode_endpoint(&body, pa, ep, live, e);
	if (rc == 0)
		rc = prov_req_json(req, &body, e);
	else
		http_req_release(req);
	sb_release(&body);
	return rc;
}

static int az_write_parse(const struct endpoint *ep, const struct http_resp *resp, struct task *out,
			  struct cf_err *e)
{
	return prov_arm_lro_start(ep, OP_WRITE, resp, out, e);
}

static size_t az_split(const struct endpoint *ep, const struct purge *p, struct purge_batch **out)
{
	const struct prov_caps purge_caps = {AZ_MAX_PATHS, AZ_MAX_PATHS, 0, AZ_MAX_PATHS};
	const struct prov_caps load_caps = {AZ_MAX_LOAD, 0, 0, AZ_MAX_LOAD};
	struct prov_items x = {0};
	struct sb sb;
	CF_UNUSED(ep); /* paths are relative to the endpoint: no host expansion */
	sb_init(&sb, PROV_URL_MAX * 2);
	for (size_t i = 0; i < p->files.n; i++)
		svec_push(&x.files, prov_url_path(p->files.v[i].s), NULL);
	for (size_t i = 0; i < p->dirs.n; i++) {
		sb_reset(&sb);
		sb_addf(&sb, "%s*",
			prov_url_path(p->dirs.v[i].s)); /* "/img/" becomes "/img/" plus a star */
		svec_push(&x.dirs, sb.buf, NULL);
	}
	sb_release(&sb);
	for (size_t i = 0; i < p->preload.n; i++)
		svec_push(&x.preload, prov_url_path(p->preload.v[i].s), NULL);
	return prov_split_pack(p->action, &x, &purge_caps, &load_caps, out);
}

static int az_batch_req(struct prov_account *pa, const struct endpoint *ep,
			const struct purge_batch *b, struct http_req *req, struct cf_err *e)
{
	bool purge = b->kind == BATCH_PURGE;
	struct sb body;
	int rc = az_start(pa, ep, "POST", purge ? "/purge" : "/load", purge ? OP_PURGE : OP_LOAD,
			  req, e);
	if (rc != 0)
		return rc;
	sb_init(&body, PROV_BODY_MAX);
	sb_adds(&body, "{\"contentPaths\":");
	prov_add_str_array(&body, &b->files, &b->dirs);
	sb_addc(&body, '}');
	rc = prov_req_json(req, &body, e);
	sb_release(&body);
	return rc;
}

static int az_batch_parse(const struct endpoint *ep, const struct purge_batch *b,
			  const struct http_resp *resp, struct task *out, struct cf_err *e)
{
	return prov_arm_lro_start(ep, b->kind == BATCH_PURGE ? OP_PURGE : OP_LOAD, resp, out, e);
}

/* ---- listing (import --all): the subscription's CDN profiles, then each classic profile's
 * endpoints, following nextLink pages ---- */

#define AZ_LIST_OP	     "list endpoints"
#define AZ_PROFILE_TYPE	     "Microsoft.Cdn/profiles"
#define AZ_ENDPOINT_TYPE     "Microsoft.Cdn/profiles/endpoints"
#define AZ_FRONTDOOR_SKU_TAG "AzureFrontDoor" /* Front Door profiles are azure-frontdoor's */

static int az_list_req(struct prov_account *pa, const struct prov_listing *l, struct http_req *req,
		       struct cf_err *e)
{
	struct sb url;
	memset(req, 0, sizeof(*req));
	if (l->step > 0) {
		prov_req_start(req, pa, NULL, "GET", l->next.v[l->step - 1].s, AZ_LIST_OP,
			       prov_azure_sign);
		return 0;
	}
	sb_init(&url, PROV_URL_MAX);
	sb_addf(&url, "%s/subscriptions/", pa->base_url);
	prov_add_segment(&url, pa->subscription);
	sb_addf(&url, "/providers/Microsoft.Cdn/profiles?api-version=%s", pa->api_version);
	return prov_req_url(req, pa, NULL, "GET", &url, AZ_LIST_OP, prov_azure_sign, e);
}

struct az_list_ctx {
	const struct prov_account *pa;
	struct prov_listing *l;
};

/* The segment after `key/` in an ARM id ("/subscriptions/S/resourcegroups/RG/..."), matched
 * case-insensitively as ARM does; NULL when absent. Caller frees. */
static char *arm_id_part(const char *id, const char *key)
{
	size_t k = strlen(key);
	for (const char *p = id; (p = strchr(p, '/')) != NULL; p++)
		if (strncasecmp(p + 1, key, k) == 0 && p[1 + k] == '/') {
			const char *v = p + 2 + k, *end = strchr(v, '/');
			return end ? xstrndup(v, (size_t)(end - v)) : xstrdup(v);
		}
	return NULL;
}

/* A profile id from the answer becomes a URL only when it is a plain ARM path. */
static int queue_profile(struct az_list_ctx *c, const char *id, struct cf_err *e)
{
	if (strncasecmp(id, "/subscriptions/", 15) != 0 || strpbrk(id, "?#%\\ ") ||
	    strstr(id, "/.") || strlen(id) > PROV_URL_MAX / 2)
		return err_set(e, CF_EAPI, "profile id '%.80s' is not an ARM resource path", id);
	struct sb url;
	sb_init(&url, PROV_URL_MAX);
	sb_addf(&url, "%s%s/endpoints?api-version=%s", c->pa->base_url, id, c->pa->api_version);
	svec_push(&c->l->next, url.buf, NULL);
	sb_release(&url);
	return 0;
}

static int add_endpoint(struct az_list_ctx *c, struct json_object *o, const char *id,
			struct cf_err *e)
{
	struct json_object *props = NULL;
	const char *name = NULL, *host = NULL;
	int rc = codec_str(o, "", "name", 0, &name, e);
	if (rc == 0)
		rc = codec_obj(o, "", "properties", OPT, &props, e);
	if (rc == 0 && props)
		rc = codec_str(props, "", "hostName", OPT, &host, e);
	char *rg = arm_id_part(id, "resourcegroups"), *profile = arm_id_part(id, "profiles");
	if (rc == 0 && (!rg || !profile))
		rc = err_set(e, CF_EAPI, "endpoint id '%.80s' names no resource group or profile",
			     id);
	if (rc == 0) {
		struct prov_found *f = prov_listing_add(c->l);
		sval_set(&f->remote.resource_group, rg, NULL);
		sval_set(&f->remote.profile, profile, NULL);
		sval_set(&f->remote.endpoint, name, NULL);
		f->name = xstrdup(name);
		f->host = host ? xstrdup(host) : NULL;
	}
	free(rg);
	free(profile);
	return rc;
}

static int list_item(struct az_list_ctx *c, struct json_object *o, struct cf_err *e)
{
	const char *type = NULL, *id = NULL, *sku = NULL;
	struct json_object *skuo = NULL;
	int rc = codec_is(o, "value[]", CODEC_OBJECT, 0, e);
	if (rc == 0)
		rc = codec_str(o, "", "type", 0, &type, e);
	if (rc == 0)
		rc = codec_str(o, "", "id", 0, &id, e);
	if (rc != 0)
		return rc;
	if (strcasecmp(type, AZ_ENDPOINT_TYPE) == 0)
		return add_endpoint(c, o, id, e);
	if (strcasecmp(type, AZ_PROFILE_TYPE) != 0)
		return 0;
	rc = codec_obj(o, "", "sku", OPT, &skuo, e);
	if (rc == 0 && skuo)
		rc = codec_str(skuo, "", "name", OPT, &sku, e);
	if (rc != 0 || (sku && strstr(sku, AZ_FRONTDOOR_SKU_TAG)))
		return rc;
	return queue_profile(c, id, e);
}

static int decode_page(struct json_object *root, void *out, struct cf_err *e)
{
	struct az_list_ctx *c = out;
	struct json_object *value;
	const char *next = NULL;
	size_t n;
	int rc = codec_arr(root, "", "value", 0, &value, &n, e);
	if (rc == 0)
		rc = codec_str(root, "", "nextLink", OPT, &next, e);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = list_item(c, codec_at(value, i), e);
	if (rc == 0 && next && *next) {
		if (!prov_same_origin(next, c->pa->base_url))
			return err_set(e, CF_EAPI, "nextLink '%.80s' is not on %s", next,
				       c->pa->base_url);
		svec_push(&c->l->next, next, NULL);
	}
	return rc;
}

static int az_list_parse(const struct prov_account *pa, const struct http_resp *resp,
			 struct prov_listing *l, struct cf_err *e)
{
	struct az_list_ctx c = {pa, l};
	int rc = prov_parse_account_json(pa, AZ_LIST_OP, resp, &prov_arm_err, decode_page, &c, e);
	if (rc != 0)
		return rc;
	l->step++;
	return l->step - 1 < l->next.n ? PROV_MORE : 0;
}

const struct prov_ops prov_azure_ops = {
    .kind = PROV_AZURE,
    .max_files = AZ_MAX_PATHS,
    .max_dirs = AZ_MAX_PATHS,
    .max_regex = 0,
    .account_open = az_open,
    .account_close = prov_account_close,
    .account_ready = prov_azure_ready,
    .read_req = az_read_req,
    .read_parse = az_read_parse,
    .write_req = az_write_req,
    .write_parse = az_write_parse,
    .sem_write = az_sem_write,
    .write_check = az_write_check,
    .split = az_split,
    .batch_req = az_batch_req,
    .batch_parse = az_batch_parse,
    .poll_req = prov_arm_poll_req,
    .poll_parse = prov_arm_poll_parse,
    .quota_req = NULL,
    .quota_parse = NULL,
    .list_req = az_list_req,
    .list_parse = az_list_parse,
};

/* ---- Profiles_CdnCanMigrateToAfd (`cacheform migrate`) ---- */

#define AZ_CANMIGRATE_OP "check migration to Front Door (cdnCanMigrateToAfd)"

int prov_azure_can_migrate_req(struct prov_account *pa, const struct endpoint *ep,
			       struct http_req *req, struct cf_err *e)
{
	const struct remote *r = &ep->remote;
	struct sb url;
	memset(req, 0, sizeof(*req));
	if (!r->resource_group.s || !r->profile.s)
		return err_set(e, CF_EINVAL,
			       "endpoint '%s': remote needs resource_group and profile",
			       ep->name.s);
	sb_init(&url, PROV_URL_MAX);
	add_profile_url(&url, pa, r);
	sb_addf(&url, "/cdnCanMigrateToAfd?api-version=%s", pa->api_version);
	return prov_req_url(req, pa, ep, "POST", &url, AZ_CANMIGRATE_OP, prov_azure_sign, e);
}

/* One errors[] item as a line: "CODE resource: message (next steps)". */
static int can_migrate_error(struct json_object *o, struct prov_azure_migrate *m, struct cf_err *e)
{
	const char *code = NULL, *res = NULL, *msg = NULL, *next = NULL;
	int rc = codec_is(o, "properties.errors[]", CODEC_OBJECT, 0, e);
	if (rc == 0)
		rc = codec_str(o, "", "code", OPT, &code, e);
	if (rc == 0)
		rc = codec_str(o, "", "resourceName", OPT, &res, e);
	if (rc == 0)
		rc = codec_str(o, "", "errorMessage", OPT, &msg, e);
	if (rc == 0)
		rc = codec_str(o, "", "nextSteps", OPT, &next, e);
	if (rc != 0)
		return rc;
	struct sb line;
	sb_init(&line, 0);
	sb_addf(&line, "%s%s%s: %s", code ? code : "error", res ? " " : "", res ? res : "",
		msg ? msg : "no message");
	if (next && *next)
		sb_addf(&line, " (%s)", next);
	svec_push(&m->errors, line.buf, NULL);
	sb_release(&line);
	return 0;
}

static int decode_can_migrate(struct json_object *root, void *out, struct cf_err *e)
{
	struct prov_azure_migrate *m = out;
	struct json_object *props = NULL, *errs = NULL;
	const char *sku = NULL;
	size_t n = 0;
	int rc = codec_obj(root, "", "properties", 0, &props, e);
	if (rc == 0)
		rc = codec_bool(props, "properties", "canMigrate", 0, &m->can, NULL, e);
	if (rc == 0)
		rc = codec_str(props, "properties", "defaultSku", OPT, &sku, e);
	if (rc == 0 && sku)
		m->default_sku = xstrdup(sku);
	if (rc == 0)
		rc = codec_arr(props, "properties", "errors", OPT, &errs, &n, e);
	for (size_t i = 0; rc == 0 && errs && i < n; i++)
		rc = can_migrate_error(codec_at(errs, i), m, e);
	return rc;
}

int prov_azure_can_migrate_parse(const struct endpoint *ep, const struct http_resp *resp,
				 struct prov_azure_migrate *out, struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	int rc = prov_parse_json(ep, AZ_CANMIGRATE_OP, resp, &prov_arm_err, 0, decode_can_migrate,
				 out, e);
	if (rc != 0)
		prov_azure_migrate_release(out);
	return rc;
}

void prov_azure_migrate_release(struct prov_azure_migrate *m)
{
	free(m->default_sku);
	svec_release(&m->errors);
	memset(m, 0, sizeof(*m));
}
