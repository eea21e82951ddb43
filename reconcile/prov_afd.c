/*
 * Driver for Azure Front Door Standard/Premium (ARM Microsoft.Cdn AFD resources), global and
 * China clouds. cacheform owns one rule set attached to one route, and the route's
 * query-string cache key; the route's other rule sets are read (for the plan and the
 * semantics) and never written. Reference: learn.microsoft.com/rest/api/frontdoor (AFD rule sets,
 * rules, routes).
 *
 * Read (one request each, PROV_MORE between them): the route; the owned rule set (404 = to
 * create); its rules (per-rule mode, following nextLink); then each foreign rule set on the
 * route and its rules. Write: the sequence afd_ops() computes from what was read, one global
 * operation per request, each polled before the next (the engine's write_next).
 */
#include "reconcile/base/compat.h"

#include <stdarg.h>
#include <strings.h>
#include <openssl/evp.h>

#include "reconcile/afd_compile.h"
#include "reconcile/codec.h"
#include "reconcile/prov_afd.h"
#include "reconcile/prov_int.h"
#include "reconcile/sem.h"
#include "reconcile/sem_afd.h"
#include "reconcile/base/limits.h"
#include "reconcile/base/xmem.h"

#define AFD_RAW_MAX	   ((size_t)8 << 20) /* bytes of live JSON kept for the digest */
#define AFD_NOTES_MAX	   5	/* foreign rules named per endpoint where they decide */
#define AFD_NOTE_PATHS_MAX 5	/* paths named per such rule */
#define AFD_PROBE_MAX	   4096 /* probe paths tried for those notes */

#define OP_READ	 "read Front Door route"
#define OP_RSET	 "read rule set"
#define OP_RULES "read rules"
#define OP_WRITE "write Front Door rules"
#define OP_PURGE "submit purge"

#define OPT CODEC_OPTIONAL

#define T_PATH	"DeliveryRuleUrlPathMatchConditionParameters"
#define T_EXT	"DeliveryRuleUrlFileExtensionMatchConditionParameters"
#define T_ROUTE "DeliveryRuleRouteConfigurationOverrideActionParameters"

enum afd_phase { PH_ROUTE, PH_SET, PH_RULES };

/* What a read found (live_state.priv). */
struct afd_priv {
	enum afd_phase phase;
	char *next_url;		 /* the next GET, absolute */
	long reading;		 /* -1: the owned set; else the index in rt.sets being read */
	struct sem_afd_route rt; /* route settings and its rule sets; the owned one is empty */
	long owned_at;		 /* index in rt.sets of the owned set, -1 when not attached */
	struct svec set_ids;	 /* route.ruleSets[].id as read */
	char *compression;	 /* route compressionSettings as read (JSON), NULL */
	bool compress;		 /* compressionSettings.isCompressionEnabled */
	bool owned_exists, owned_batch;
	struct sem_afd_set owned; /* the owned set's live rules */
	struct sb raw;		  /* every body read, for the digest */
};

static void priv_free(void *v)
{
	struct afd_priv *p = v;
	free(p->next_url);
	sem_afd_route_release(&p->rt);
	svec_release(&p->set_ids);
	free(p->compression);
	sem_afd_set_release(&p->owned);
	sb_release(&p->raw);
	free(p);
}

static struct afd_priv *priv_of(struct live_state *ls)
{
	if (!ls->priv) {
		struct afd_priv *p = xcalloc(1, sizeof(*p));
		p->owned_at = -1;
		p->reading = -1;
		sb_init(&p->raw, AFD_RAW_MAX);
		ls->priv = p;
		ls->priv_free = priv_free;
	}
	return ls->priv;
}

/* ---- account ---- */

static const struct prov_field afd_fields[] = {
    {"subscription", offsetof(struct account, subscription),
     offsetof(struct prov_account, subscription), true, NULL},
    {"tenant", offsetof(struct account, tenant), offsetof(struct prov_account, tenant), true, NULL},
    {"client_id", offsetof(struct account, client_id), offsetof(struct prov_account, client_id),
     true, NULL},
    {"client_secret", offsetof(struct account, client_secret),
     offsetof(struct prov_account, client_secret), true, NULL},
    {"api_version", offsetof(struct account, api_version),
     offsetof(struct prov_account, api_version), false, AFD_DEFAULT_API},
};

/* cloud picks the ARM host, the login host and the token scope (the ARM host's). */
static int afd_open(const struct account *a, const char *repo_root, struct prov_account **out,
		    struct cf_err *e)
{
	bool china =
	    a->cloud.kind == MVAL_LITERAL && a->cloud.text && strcmp(a->cloud.text, "china") == 0;
	const char *arm = china ? AFD_CHINA_ARM : AFD_GLOBAL_ARM;
	struct prov_field f[CF_ARRAY_LEN(afd_fields) + 1];
	memcpy(f, afd_fields, sizeof(afd_fields));
	f[CF_ARRAY_LEN(afd_fields)] =
	    (struct prov_field){"login_url", offsetof(struct account, login_url),
				offsetof(struct prov_account, login_url), false,
				china ? AFD_CHINA_LOGIN : AFD_GLOBAL_LOGIN};
	int rc = prov_account_open(a, repo_root, f, CF_ARRAY_LEN(f), arm, out, e);
	if (rc != 0)
		return rc;
	const char *v = (*out)->api_version;
	if (strspn(v, "0123456789abcdefghijklmnopqrstuvwxyz-") != strlen(v)) {
		rc =
		    err_set(e, CF_EINVAL, "account '%s': api_version '%.40s' is not an api-version",
			    a->name.s, v);
		prov_account_close(*out);
		*out = NULL;
		return rc;
	}
	struct sb scope;
	sb_init(&scope, PROV_URL_MAX);
	sb_addf(&scope, "%s/.default", arm);
	(*out)->token_scope = sb_detach(&scope);
	return 0;
}

static bool batch_api(const struct prov_account *pa)
{
	return strcmp(pa->api_version, AFD_BATCH_API_MIN) >= 0;
}

/* ---- URLs ---- */

/* {base}/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Cdn/profiles/{p} */
static int profile_url(const struct prov_account *pa, const struct endpoint *ep, struct sb *url,
		       bool with_base, struct cf_err *e)
{
	const struct remote *r = &ep->remote;
	if (!r->resource_group.s || !r->profile.s || !r->endpoint.s || !r->route.s ||
	    !r->rule_set.s)
		return err_set(e, CF_EINVAL,
			       "endpoint '%s': remote needs resource_group, profile, endpoint, "
			       "route and rule_set",
			       ep->name.s);
	sb_init(url, PROV_URL_MAX);
	if (with_base)
		sb_adds(url, pa->base_url);
	sb_adds(url, "/subscriptions/");
	prov_add_segment(url, pa->subscription);
	sb_adds(url, "/resourceGroups/");
	prov_add_segment(url, r->resource_group.s);
	sb_adds(url, "/providers/Microsoft.Cdn/profiles/");
	prov_add_segment(url, r->profile.s);
	return 0;
}

/* tail: "route", "set", "rules", or a rule name; set: a rule-set name (NULL = owned). */
static int afd_url(const struct prov_account *pa, const struct endpoint *ep, const char *set,
		   const char *what, const char *rule, struct sb *url, struct cf_err *e)
{
	int rc = profile_url(pa, ep, url, true, e);
	if (rc != 0)
		return rc;
	if (strcmp(what, "route") == 0 || strcmp(what, "purge") == 0) {
		sb_adds(url, "/afdEndpoints/");
		prov_add_segment(url, ep->remote.endpoint.s);
		if (what[0] == 'r') {
			sb_adds(url, "/routes/");
			prov_add_segment(url, ep->remote.route.s);
		} else {
			sb_adds(url, "/purge");
		}
	} else {
		sb_adds(url, "/ruleSets/");
		prov_add_segment(url, set ? set : ep->remote.rule_set.s);
		if (strcmp(what, "rules") == 0)
			sb_adds(url, "/rules");
		if (rule) {
			sb_adds(url, "/rules/");
			prov_add_segment(url, rule);
		}
	}
	sb_addf(url, "?api-version=%s", pa->api_version);
	if (url->overflow) {
		sb_release(url);
		return err_set(e, CF_ELIMIT, "endpoint '%s': request URL too long", ep->name.s);
	}
	return 0;
}

/* ---- decoding ---- */

static enum sem_afd_qs parse_qs(const char *s, bool *ok)
{
	static const char *const names[] = {"IgnoreQueryString", "UseQueryString",
					    "IgnoreSpecifiedQueryStrings",
					    "IncludeSpecifiedQueryStrings"};
	*ok = true;
	if (!s)
		return AFDQ_IGNORE; /* the default when omitted (reference §4.13) */
	for (size_t i = 0; i < CF_ARRAY_LEN(names); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (enum sem_afd_qs)i;
	*ok = false;
	return AFDQ_IGNORE;
}

static const char *qs_name(enum sem_afd_qs q)
{
	return q == AFDQ_USE ? "UseQueryString" : "IgnoreQueryString";
}

static enum sem_afd_op parse_op(const char *s)
{
	static const struct {
		const char *name;
		enum sem_afd_op op;
	} ops[] = {{"Any", AFDO_ANY},
		   {"Equal", AFDO_EQUAL},
		   {"Contains", AFDO_CONTAINS},
		   {"BeginsWith", AFDO_BEGINS},
		   {"EndsWith", AFDO_ENDS},
		   {"LessThan", AFDO_LT},
		   {"LessThanOrEqual", AFDO_LE},
		   {"GreaterThan", AFDO_GT},
		   {"GreaterThanOrEqual", AFDO_GE},
		   {"Wildcard", AFDO_WILDCARD}};
	for (size_t i = 0; i < CF_ARRAY_LEN(ops); i++)
		if (strcasecmp(s, ops[i].name) == 0)
			return ops[i].op;
	return AFDO_OTHER;
}

static unsigned parse_transform(const char *s)
{
	static const char *const names[] = {"Lowercase", "Uppercase", "Trim",
					    "UrlDecode", "UrlEncode", "RemoveNulls"};
	for (size_t i = 0; i < CF_ARRAY_LEN(names); i++)
		if (strcasecmp(s, names[i]) == 0)
			return 1u << i;
	return 0;
}

static int decode_strs(struct json_object *p, const char *key, struct svec *out, unsigned *tf,
		       struct cf_err *e)
{
	struct json_object *arr;
	size_t n;
	int rc = codec_arr(p, "", key, OPT, &arr, &n, e);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *s;
		rc = codec_as_str(codec_at(arr, i), key, 0, &s, e);
		if (rc == 0 && tf)
			*tf |= parse_transform(s);
		else if (rc == 0)
			svec_push(out, s, NULL);
	}
	return rc;
}

static int decode_cond(struct json_object *c, struct sem_afd_rule *r, struct cf_err *e)
{
	struct json_object *p;
	const char *name, *op = NULL;
	bool neg = false;
	int rc = codec_str(c, "", "name", 0, &name, e);
	if (rc == 0)
		rc = codec_obj(c, "", "parameters", 0, &p, e);
	if (rc == 0)
		rc = codec_str(p, "", "operator", OPT, &op, e);
	if (rc == 0)
		rc = codec_bool(p, "", "negateCondition", OPT, &neg, NULL, e);
	if (rc != 0)
		return rc;
	struct sem_afd_cond *cd = sem_afd_add_cond(r);
	cd->var = strcmp(name, "UrlPath") == 0		  ? AFDV_URL_PATH
		  : strcmp(name, "UrlFileExtension") == 0 ? AFDV_URL_EXT
		  : strcmp(name, "UrlFileName") == 0	  ? AFDV_URL_FILENAME
							  : AFDV_OTHER;
	cd->op = op ? parse_op(op) : AFDO_OTHER;
	cd->negate = neg;
	rc = decode_strs(p, "matchValues", &cd->values, NULL, e);
	if (rc == 0)
		rc = decode_strs(p, "transforms", NULL, &cd->transforms, e);
	return rc;
}

static int decode_cache_cfg(struct json_object *cc, struct sem_afd_rule *r, struct cf_err *e)
{
	const char *q = NULL, *qp = NULL, *beh = NULL, *dur = NULL;
	bool ok;
	int rc = codec_str(cc, "", "queryStringCachingBehavior", OPT, &q, e);
	if (rc == 0)
		rc = codec_str(cc, "", "queryParameters", OPT, &qp, e);
	if (rc == 0)
		rc = codec_str(cc, "", "cacheBehavior", OPT, &beh, e);
	if (rc == 0)
		rc = codec_str(cc, "", "cacheDuration", OPT, &dur, e);
	if (rc != 0)
		return rc;
	r->has_cache = true;
	r->qs = parse_qs(q, &ok);
	if (!ok)
		return err_set(e, CF_EAPI, "unknown queryStringCachingBehavior '%.40s'", q);
	free(r->qparams);
	r->qparams = qp ? xstrdup(qp) : NULL;
	if (!beh || strcmp(beh, "HonorOrigin") == 0)
		r->behavior = AFDB_HONOR;
	else if (strcmp(beh, "OverrideAlways") == 0)
		r->behavior = AFDB_OVERRIDE;
	else if (strcmp(beh, "OverrideIfOriginMissing") == 0)
		r->behavior = AFDB_IF_MISSING;
	else
		return err_set(e, CF_EAPI, "unknown cacheBehavior '%.40s'", beh);
	r->duration = SEM_AFD_DURATION_NULL;
	if (dur && afd_duration_parse(dur, &r->duration) != 0)
		return err_set(e, CF_EAPI, "cacheDuration '%.40s' is not [d.]hh:mm:ss", dur);
	return 0;
}

static int decode_action(struct json_object *a, struct sem_afd_rule *r, struct cf_err *e)
{
	struct json_object *p, *cc = NULL, *og = NULL;
	const char *name;
	int rc = codec_str(a, "", "name", 0, &name, e);
	if (rc == 0)
		rc = codec_obj(a, "", "parameters", 0, &p, e);
	if (rc != 0)
		return rc;
	if (strcmp(name, "RouteConfigurationOverride") != 0) {
		r->other_actions = true;
		return 0;
	}
	rc = codec_obj(p, "", "cacheConfiguration", OPT, &cc, e);
	if (rc == 0)
		rc = codec_obj(p, "", "originGroupOverride", OPT, &og, e);
	if (rc != 0)
		return rc;
	/* a later override replaces an earlier one whole (reference §4.5) */
	r->override = true;
	r->has_cache = false;
	r->other_actions |= og != NULL;
	return cc ? decode_cache_cfg(cc, r, e) : 0;
}

/* props: a rule's properties (per-rule) or a batch rule object. */
static int decode_rule(struct json_object *props, const char *name, struct sem_afd_set *s,
		       struct cf_err *e)
{
	struct json_object *conds, *acts;
	const char *mpb = NULL;
	size_t nc, na;
	struct sem_afd_rule *r = sem_afd_add_rule(s);
	r->name = xstrdup(name ? name : "");
	int rc = codec_int(props, "", "order", OPT, 0, INT32_MAX, &r->order, NULL, e);
	if (rc == 0)
		rc = codec_str(props, "", "matchProcessingBehavior", OPT, &mpb, e);
	if (rc == 0 && mpb && strcmp(mpb, "Stop") != 0 && strcmp(mpb, "Continue") != 0)
		rc = err_set(e, CF_EAPI, "unknown matchProcessingBehavior '%.40s'", mpb);
	r->stop = mpb && strcmp(mpb, "Stop") == 0;
	if (rc == 0)
		rc = codec_arr(props, "", "conditions", OPT, &conds, &nc, e);
	for (size_t i = 0; rc == 0 && i < nc; i++)
		rc = decode_cond(codec_at(conds, i), r, e);
	if (rc == 0)
		rc = codec_arr(props, "", "actions", OPT, &acts, &na, e);
	for (size_t i = 0; rc == 0 && i < na; i++)
		rc = decode_action(codec_at(acts, i), r, e);
	if (rc != 0)
		err_prefix(e, "rule '%.60s'", name ? name : "?");
	return rc;
}

static void add_foreign(struct live_state *ls, const char *set, const char *rule, int64_t order,
			const char *json)
{
	struct sb sb;
	sb_init(&sb, 0);
	sb_addf(&sb, "%s/%s", set, rule ? rule : "");
	xgrow(&ls->foreign, &ls->fcap, ls->nforeign + 1, sizeof(*ls->foreign));
	struct foreign_rule *f = &ls->foreign[ls->nforeign++];
	f->name = sb_detach(&sb);
	f->order = (int)order;
	f->json = xstrdup(json ? json : "");
}

/* The set being read: the owned one or a foreign one of the route. */
static struct sem_afd_set *reading_set(struct afd_priv *p)
{
	return p->reading < 0 ? &p->owned : &p->rt.sets[p->reading];
}

/* Per-rule list {value:[{name, properties}], nextLink} or batch rules[{ruleName, ...}]. */
static int decode_rule_list(struct live_state *ls, struct json_object *arr, size_t n, bool batch,
			    struct cf_err *e)
{
	struct afd_priv *p = ls->priv;
	struct sem_afd_set *s = reading_set(p);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct json_object *it = codec_at(arr, i), *props = it;
		const char *name = NULL;
		rc = codec_is(it, "rule", CODEC_OBJECT, 0, e);
		if (rc == 0)
			rc = codec_str(it, "", batch ? "ruleName" : "name", OPT, &name, e);
		if (rc == 0 && !batch)
			rc = codec_obj(it, "", "properties", 0, &props, e);
		if (rc == 0)
			rc = decode_rule(props, name, s, e);
		if (rc == 0 && p->reading >= 0) {
			char *json = codec_dup_text(it);
			add_foreign(ls, s->name, name, s->rules[s->n - 1].order, json);
			free(json);
		}
	}
	return rc;
}

/* "/subscriptions/…/ruleSets/NAME" -> NAME (borrowed) when it is a rule set of ep's profile. */
static const char *set_name_of(const struct endpoint *ep, const char *id)
{
	const char *slash = strrchr(id, '/');
	if (!slash || !slash[1])
		return NULL;
	const char *prof = strcasestr(id, "/profiles/");
	if (!prof)
		return NULL;
	prof += strlen("/profiles/");
	size_t n = strlen(ep->remote.profile.s);
	if (strncasecmp(prof, ep->remote.profile.s, n) != 0 ||
	    strncasecmp(prof + n, "/ruleSets/", 10))
		return NULL;
	return slash + 1;
}

int prov_afd_sem_route(struct json_object *props, struct sem_afd_route *rt, struct cf_err *e)
{
	struct json_object *cc = NULL;
	const char *q = NULL, *qp = NULL;
	bool ok = true;
	int rc = codec_obj(props, "", "cacheConfiguration", OPT, &cc, e);
	if (rc == 0 && cc)
		rc = codec_str(cc, "", "queryStringCachingBehavior", OPT, &q, e);
	if (rc == 0 && cc)
		rc = codec_str(cc, "", "queryParameters", OPT, &qp, e);
	if (rc != 0)
		return rc;
	rt->has_cache = cc != NULL;
	rt->qs = parse_qs(q, &ok);
	if (!ok)
		return err_set(e, CF_EAPI, "unknown queryStringCachingBehavior '%.40s'", q);
	free(rt->qparams);
	rt->qparams = qp ? xstrdup(qp) : NULL;
	return 0;
}

int prov_afd_sem_rule(struct json_object *props, const char *name, struct sem_afd_set *s,
		      struct cf_err *e)
{
	return decode_rule(props, name, s, e);
}

static int decode_route(const struct endpoint *ep, struct json_object *root, struct afd_priv *p,
			struct cf_err *e)
{
	struct json_object *props, *cc = NULL, *sets = NULL, *comp = NULL;
	size_t ns = 0;
	int rc = codec_obj(root, "", "properties", 0, &props, e);
	if (rc == 0)
		rc = prov_afd_sem_route(props, &p->rt, e);
	if (rc == 0)
		rc = codec_obj(props, "", "cacheConfiguration", OPT, &cc, e);
	if (rc == 0 && cc)
		rc = codec_obj(cc, "", "compressionSettings", OPT, &comp, e);
	if (rc == 0 && comp)
		rc = codec_bool(comp, "", "isCompressionEnabled", OPT, &p->compress, NULL, e);
	if (rc == 0)
		rc = codec_arr(props, "", "ruleSets", OPT, &sets, &ns, e);
	if (rc != 0)
		return rc;
	p->compression = comp ? codec_dup_text(comp) : NULL;
	for (size_t i = 0; i < ns && rc == 0; i++) {
		struct json_object *ref = codec_at(sets, i);
		const char *id, *name;
		rc = codec_is(ref, "ruleSets[]", CODEC_OBJECT, 0, e);
		if (rc == 0)
			rc = codec_str(ref, "", "id", 0, &id, e);
		if (rc != 0)
			break;
		name = set_name_of(ep, id);
		svec_push(&p->set_ids, id, NULL);
		struct sem_afd_set *s = sem_afd_add_set(&p->rt, name ? name : id);
		if (name && strcasecmp(name, ep->remote.rule_set.s) == 0 && p->owned_at < 0) {
			s->owned = true;
			p->owned_at = (long)i;
		}
	}
	return rc;
}

/* ---- read steps ---- */

static int parse_body(const struct http_resp *resp, struct afd_priv *p, struct json_object **root,
		      struct cf_err *e)
{
	sb_addf(&p->raw, "%ld %zu:", resp->status, resp->body_len);
	if (resp->body)
		sb_add(&p->raw, resp->body, resp->body_len);
	sb_addc(&p->raw, '\n');
	return codec_parse_obj(resp->body, resp->body_len, root, e);
}

/* Points p at the next foreign set to read; false when none is left. */
static bool next_foreign(struct afd_priv *p)
{
	for (long i = p->reading + 1; i < (long)p->rt.n; i++) {
		if (!p->rt.sets[i].owned && strchr(p->rt.sets[i].name, '/') == NULL) {
			p->reading = i;
			return true;
		}
	}
	return false;
}

static int afd_read_req(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
			struct cf_err *e)
{
	struct sb url;
	memset(req, 0, sizeof(*req));
	int rc = afd_url(pa, ep, NULL, "route", NULL, &url, e);
	return rc ? rc : prov_req_url(req, pa, ep, "GET", &url, OP_READ, prov_azure_sign, e);
}

/* The request after the one just parsed: nextLink, a set's rules, or the next set. */
static int afd_read_next(struct prov_account *pa, const struct endpoint *ep,
			 const struct live_state *ls, struct http_req *req, struct cf_err *e)
{
	const struct afd_priv *p = ls->priv;
	struct sb url;
	memset(req, 0, sizeof(*req));
	if (!p)
		return err_set(e, CF_EINVAL, "endpoint '%s': read state lost", ep->name.s);
	if (p->next_url)
		return prov_req_status_url(req, pa, ep, p->next_url, "nextLink", OP_RULES,
					   prov_azure_sign, e);
	const char *set = p->reading < 0 ? NULL : p->rt.sets[p->reading].name;
	int rc = afd_url(pa, ep, set, p->phase == PH_RULES ? "rules" : "set", NULL, &url, e);
	return rc ? rc
		  : prov_req_url(req, pa, ep, "GET", &url,
				 p->phase == PH_RULES ? OP_RULES : OP_RSET, prov_azure_sign, e);
}

static int after_set(struct afd_priv *p)
{
	if (!next_foreign(p))
		return 0;
	p->phase = PH_SET;
	return PROV_MORE;
}

static int step_route(const struct endpoint *ep, struct json_object *root, struct live_state *ls,
		      struct cf_err *e)
{
	struct afd_priv *p = ls->priv;
	int rc = decode_route(ep, root, p, e);
	if (rc != 0)
		return rc;
	p->phase = PH_SET;
	p->reading = -1;
	return PROV_MORE;
}

static int step_set(struct json_object *root, struct live_state *ls, struct cf_err *e)
{
	struct afd_priv *p = ls->priv;
	struct json_object *props = NULL, *rules = NULL;
	bool batch = false;
	size_t n = 0;
	int rc = codec_obj(root, "", "properties", OPT, &props, e);
	if (rc == 0 && props)
		rc = codec_bool(props, "", "batchMode", OPT, &batch, NULL, e);
	if (rc == 0 && props && batch)
		rc = codec_arr(props, "", "rules", OPT, &rules, &n, e);
	if (rc != 0)
		return rc;
	if (p->reading < 0) {
		p->owned_exists = true;
		p->owned_batch = batch;
	}
	if (!batch) {
		p->phase = PH_RULES;
		return PROV_MORE;
	}
	rc = decode_rule_list(ls, rules, n, true, e);
	return rc ? rc : after_set(p);
}

static int step_rules(struct json_object *root, struct live_state *ls, struct cf_err *e)
{
	struct afd_priv *p = ls->priv;
	struct json_object *vals;
	const char *next = NULL;
	size_t n;
	int rc = codec_arr(root, "", "value", 0, &vals, &n, e);
	if (rc == 0)
		rc = codec_str(root, "", "nextLink", OPT, &next, e);
	if (rc == 0)
		rc = decode_rule_list(ls, vals, n, false, e);
	if (rc != 0)
		return rc;
	free(p->next_url);
	p->next_url = NULL;
	if (next && *next) {
		if (!prov_header_url_ok(next))
			return err_set(e, CF_EAPI, "nextLink is not a usable URL");
		p->next_url = xstrdup(next);
		return PROV_MORE;
	}
	return after_set(p);
}

static int afd_finish(const struct endpoint *ep, struct live_state *ls, struct cf_err *e);

static int afd_read_parse(const struct endpoint *ep, const struct http_resp *resp,
			  struct live_state *ls, struct cf_err *e)
{
	static const char *const ops[] = {OP_READ, OP_RSET, OP_RULES};
	struct afd_priv *p = priv_of(ls);
	struct json_object *root = NULL;
	const char *op = ops[p->phase];
	int rc = prov_resp_transport(resp, e);
	if (rc != 0)
		return rc;
	if (resp->status == 404 && p->phase != PH_RULES) {
		/* no route: the endpoint does not exist; no rule set: to create (or a dangling
		 * foreign reference, read as empty) */
		if (p->phase == PH_ROUTE) {
			ls->exists = false;
			prov_digest(ls);
			return 0;
		}
		rc = after_set(p);
		return rc == PROV_MORE ? rc : afd_finish(ep, ls, e);
	}
	if (resp->status != 200)
		return prov_api_error(ep, op, resp, &prov_arm_err, e);
	rc = parse_body(resp, p, &root, e);
	if (rc == 0)
		rc = p->phase == PH_ROUTE ? step_route(ep, root, ls, e)
		     : p->phase == PH_SET ? step_set(root, ls, e)
					  : step_rules(root, ls, e);
	codec_put(root);
	if (rc < 0)
		return prov_decode_error(ep, op, rc, e);
	return rc == PROV_MORE ? rc : afd_finish(ep, ls, e);
}

/* ---- live state in the model's terms ---- */

static void add_inexact(struct live_state *ls, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_inexact(struct live_state *ls, const char *fmt, ...)
{
	struct sb sb;
	va_list ap;
	sb_init(&sb, 0);
	if (ls->inexact)
		sb_addf(&sb, "%s; ", ls->inexact);
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	free(ls->inexact);
	ls->inexact = sb_detach(&sb);
}

/* One live owned rule back into a YAML rule, when it has a shape cacheform writes. */
static bool to_model(const struct sem_afd_rule *r, struct rule *out, int *cc)
{
	memset(out, 0, sizeof(*out));
	if (r->stop || !r->override || r->other_actions || r->nconds > 1)
		return false;
	if (r->has_cache && (r->behavior == AFDB_HONOR || r->duration <= 0))
		return false;
	*cc = !r->has_cache ? 0 : r->behavior == AFDB_OVERRIDE ? 1 : 2;
	out->ttl = r->has_cache ? r->duration : 0;
	if (r->nconds == 0) {
		out->kind = RULE_DIR;
		svec_push(&out->items, "/", NULL);
		return true;
	}
	const struct sem_afd_cond *c = &r->conds[0];
	if (c->negate || c->values.n == 0)
		return false;
	if (c->var == AFDV_URL_EXT && c->op == AFDO_EQUAL && c->transforms == AFDT_LOWER)
		out->kind = RULE_SUFFIX;
	else if (c->var == AFDV_URL_PATH && c->transforms == 0 && c->op == AFDO_BEGINS)
		out->kind = RULE_DIR;
	else if (c->var == AFDV_URL_PATH && c->transforms == 0 && c->op == AFDO_EQUAL)
		out->kind = RULE_PATH;
	else
		return false;
	for (size_t i = 0; i < c->values.n; i++) {
		const char *v = c->values.v[i].s;
		struct sb sb;
		sb_init(&sb, 0);
		if (out->kind != RULE_SUFFIX && strcmp(v, "/") != 0)
			sb_addc(&sb, '/');
		sb_adds(&sb, out->kind != RULE_SUFFIX && v[0] == '/' && v[1] ? v + 1 : v);
		if (!svec_contains(&out->items, sb.buf))
			svec_push(&out->items, sb.buf, NULL);
		sb_release(&sb);
	}
	return true;
}

/* Best-effort model of the owned rules (YAML order = reverse evaluation order). The cache
 * behaviour lives in each rule, so each caching rule carries its own and the block's flag is
 * not observable (plan takes the desired one); it is set to the majority for import. */
static void model_of_owned(struct live_state *ls, const struct afd_priv *p)
{
	size_t over = 0, ifmiss = 0;
	for (size_t k = p->owned.n; k-- > 0;) {
		struct rule r;
		int cc = 0;
		if (!to_model(&p->owned.rules[k], &r, &cc)) {
			svec_release(&r.items);
			add_inexact(ls, "rule '%s' has a form cacheform does not write",
				    p->owned.rules[k].name);
			continue;
		}
		over += cc == 1;
		ifmiss += cc == 2;
		r.cc = cc == 1 ? RULE_CC_IGNORE : cc == 2 ? RULE_CC_HONOUR : RULE_CC_INHERIT;
		*cache_add_rule(&ls->cache) = r;
	}
	ls->cache.ignore_cache_control = over > ifmiss;
	ls->cache_control_unknown = true;
}

static void model_of_route(const struct endpoint *ep, struct live_state *ls,
			   const struct afd_priv *p)
{
	const char *route = ep->remote.route.s, *set = ep->remote.rule_set.s;
	ls->cache.ignore_query_string = p->rt.qs == AFDQ_IGNORE;
	if (!p->rt.has_cache)
		add_inexact(ls, "route '%s' has no cacheConfiguration (nothing cached)", route);
	if (p->rt.qs == AFDQ_IGNORE_SPECIFIED || p->rt.qs == AFDQ_INCLUDE_SPECIFIED)
		add_inexact(ls, "route '%s' caches by %s", route,
			    p->rt.qs == AFDQ_IGNORE_SPECIFIED ? "IgnoreSpecifiedQueryStrings"
							      : "IncludeSpecifiedQueryStrings");
	if (!p->owned_exists)
		add_inexact(ls,
			    "rule set '%s' does not exist: created and attached last to route '%s'",
			    set, route);
	else if (p->owned_at < 0)
		add_inexact(ls, "rule set '%s' is not on route '%s': attached last", set, route);
}

/* The route as it will be after the write: the owned slot holds s (appended if missing). */
static void route_with(const struct afd_priv *p, const struct sem_afd_set *s,
		       struct sem_afd_route *out, struct sem_afd_set *slots)
{
	*out = p->rt;
	for (size_t i = 0; i < p->rt.n; i++)
		slots[i] = p->rt.sets[i];
	size_t at = p->owned_at >= 0 ? (size_t)p->owned_at : p->rt.n;
	slots[at] = *s;
	out->sets = slots;
	out->n = p->rt.n + (p->owned_at < 0);
	out->has_cache = true; /* the write gives the route a cacheConfiguration */
}

static void probe_add(struct svec *v, const char *a, const char *b)
{
	struct sb sb;
	sb_init(&sb, PROV_URL_MAX);
	sb_addf(&sb, "%s%s", a, b);
	if (v->n < AFD_PROBE_MAX && !sb.overflow && !svec_contains(v, sb.buf))
		svec_push(v, sb.buf, NULL);
	sb_release(&sb);
}

static void probes_of(const struct cache *c, const struct sem_afd_route *rt, struct svec *out)
{
	probe_add(out, "/", "");
	probe_add(out, "/cacheform-probe", "");
	for (size_t i = 0; i < c->nrules; i++)
		for (size_t j = 0; j < c->rules[i].items.n; j++) {
			const char *it = c->rules[i].items.v[j].s;
			if (c->rules[i].kind == RULE_SUFFIX) {
				probe_add(out, "/cacheform-probe.", it);
				continue;
			}
			probe_add(out, it, "");
			probe_add(out, it, c->rules[i].kind == RULE_DIR ? "/x" : "");
		}
	for (size_t s = 0; s < rt->n; s++)
		for (size_t i = 0; i < rt->sets[s].n; i++)
			for (size_t k = 0; k < rt->sets[s].rules[i].nconds; k++) {
				const struct sem_afd_cond *cd = &rt->sets[s].rules[i].conds[k];
				for (size_t j = 0; j < cd->values.n; j++) {
					const char *v = cd->values.v[j].s;
					if (cd->var == AFDV_URL_EXT)
						probe_add(out, "/cacheform-probe.", v);
					else if (cd->var == AFDV_URL_PATH)
						probe_add(out, v[0] == '/' ? "" : "/", v);
				}
			}
}

/* Where a foreign rule set makes the YAML's meaning impossible, say which paths and why
 * (as entries of the foreign list, which plan prints). */
/* One foreign rule that keeps paths from the YAML's meaning, and those paths. */
struct fnote {
	int set, rule;
	bool stop;
	struct svec paths;
	size_t more; /* paths past AFD_NOTE_PATHS_MAX */
};

static struct fnote *fnote_of(struct fnote *v, size_t *n, int set, int rule, bool stop)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].set == set && v[i].rule == rule)
			return &v[i];
	if (*n >= AFD_NOTES_MAX)
		return NULL;
	v[*n] = (struct fnote){.set = set, .rule = rule, .stop = stop};
	return &v[(*n)++];
}

static void fnote_say(const struct sem_afd_route *after, const struct fnote *f,
		      struct live_state *ls)
{
	const struct sem_afd_rule *r = &after->sets[f->set].rules[f->rule];
	struct sb sb;
	sb_init(&sb, 0);
	sb_addf(&sb, "rule set '%s', rule '%s' (order %lld) ", after->sets[f->set].name,
		r->name ? r->name : "?", (long long)r->order);
	sb_adds(&sb, f->stop ? "stops evaluation before cacheform's rule set runs"
			     : "runs after cacheform's rule set and overrides its caching");
	sb_adds(&sb, ": ");
	for (size_t i = 0; i < f->paths.n; i++)
		sb_addf(&sb, "%s%s", i ? ", " : "", f->paths.v[i].s);
	if (f->more)
		sb_addf(&sb, " and %zu more", f->more);
	sb_addf(&sb, " cannot be cached as the YAML says");
	svec_push(&ls->notes, sb.buf, NULL);
	sb_release(&sb);
}

/* Paths (among the probes) where a foreign rule set makes the YAML's meaning impossible: a
 * Stop before the owned set, or an override after it. One note per foreign rule. */
static void foreign_notes(const struct endpoint *ep, struct live_state *ls,
			  const struct afd_priv *p, const struct sem_afd_set *want)
{
	struct sem_afd_set *slots = xcalloc(p->rt.n + 1, sizeof(*slots));
	struct sem_afd_route after;
	struct svec probes = {0};
	struct fnote notes[AFD_NOTES_MAX];
	size_t nnotes = 0;
	route_with(p, want, &after, slots);
	probes_of(&ep->cache, &after, &probes);
	size_t owned = p->owned_at >= 0 ? (size_t)p->owned_at : p->rt.n;
	for (size_t i = 0; i < probes.n; i++) {
		struct sem_afd_result d, g;
		const char *path = probes.v[i].s;
		sem_afd_desired(&ep->cache, path, &d);
		sem_afd_eval(&after, path, &g);
		if (g.uncertain || sem_afd_same(&d, &g))
			continue;
		bool stop = g.stop_set >= 0 && (size_t)g.stop_set < owned;
		int s = stop ? g.stop_set : g.set, r = stop ? g.stop_rule : g.rule;
		if (s < 0 || (size_t)s == owned)
			continue;
		struct fnote *f = fnote_of(notes, &nnotes, s, r, stop);
		if (f && f->paths.n < AFD_NOTE_PATHS_MAX)
			svec_push(&f->paths, path, NULL);
		else if (f)
			f->more++;
	}
	for (size_t i = 0; i < nnotes; i++) {
		fnote_say(&after, &notes[i], ls);
		svec_release(&notes[i].paths);
	}
	svec_release(&probes);
	free(slots);
}

/* ---- the semantics module's view (sem.h hook SEM_AZURE_FRONTDOOR) ---- */

static void route_free(void *cfg)
{
	sem_afd_route_release(cfg);
	free(cfg);
}

/* Deep copy of rt (every set sorted as it is). */
static struct sem_afd_route *route_dup(const struct sem_afd_route *rt)
{
	struct sem_afd_route *c = xcalloc(1, sizeof(*c));
	c->has_cache = rt->has_cache;
	c->qs = rt->qs;
	c->qparams = rt->qparams ? xstrdup(rt->qparams) : NULL;
	for (size_t i = 0; i < rt->n; i++) {
		struct sem_afd_set *s = sem_afd_add_set(c, rt->sets[i].name);
		s->owned = rt->sets[i].owned;
		for (size_t j = 0; j < rt->sets[i].n; j++)
			sem_afd_rule_copy(sem_afd_add_rule(s), &rt->sets[i].rules[j]);
	}
	return c;
}

static void hook_eval(const void *cfg, const char *path, struct sem_result *out)
{
	const struct sem_afd_route *rt = cfg;
	struct sem_afd_result r;
	static const enum sem_mode modes[] = {[AFDM_ORIGIN] = SEM_ORIGIN,
					      [AFDM_BYPASS] = SEM_BYPASS,
					      [AFDM_OVERRIDE] = SEM_OVERRIDE,
					      [AFDM_IF_MISSING] = SEM_IF_MISSING};
	sem_afd_eval(rt, path, &r);
	memset(out, 0, sizeof(*out));
	out->mode = modes[r.mode];
	out->ttl = r.ttl;
	out->yields_to_no_store = r.yields_to_no_store;
	out->uncertain = r.uncertain;
	out->rule_id = r.rule_id;
	out->rule = SEM_NO_RULE;
	if (r.rule >= 0 && r.mode != AFDM_ORIGIN) {
		size_t flat = (size_t)r.rule;
		for (int i = 0; i < r.set; i++)
			flat += rt->sets[i].n;
		out->rule = (int)flat; /* rules of all sets on the route, in evaluation order */
	}
}

static void hook_probe(const void *cfg, struct sem_probe *p)
{
	const struct sem_afd_route *rt = cfg;
	struct sb sb;
	sb_init(&sb, PROV_URL_MAX);
	for (size_t s = 0; s < rt->n; s++)
		for (size_t i = 0; i < rt->sets[s].n; i++)
			for (size_t k = 0; k < rt->sets[s].rules[i].nconds; k++) {
				const struct sem_afd_cond *c = &rt->sets[s].rules[i].conds[k];
				for (size_t j = 0; j < c->values.n; j++) {
					const char *v = c->values.v[j].s;
					sb_reset(&sb);
					sb_addf(&sb, "%s%s", v[0] == '/' ? "" : "/", v);
					if (c->var == AFDV_URL_EXT)
						prov_svec_add_unique(&p->exts, v);
					else if (c->var == AFDV_URL_PATH && c->op == AFDO_BEGINS &&
						 sb.len && sb.buf[sb.len - 1] == '/')
						prov_svec_add_unique(&p->dirs, sb.buf);
					else if (c->var == AFDV_URL_PATH && !sb.overflow)
						prov_svec_add_unique(&p->paths, sb.buf);
				}
			}
	sb_release(&sb);
}

static void sem_of(struct sem_cfg *out, struct sem_afd_route *rt)
{
	memset(out, 0, sizeof(*out));
	out->kind = SEM_AZURE_FRONTDOOR;
	out->hook = (struct sem_hook){hook_eval, rt, route_free, hook_probe};
}

void prov_afd_sem_cfg(struct sem_afd_route *rt, struct sem_cfg *out)
{
	sem_of(out, rt);
}

/* What the route does after the write: the compiled set in the owned slot (appended when
 * not attached), the route caching with the desired key. */
static int afd_sem_write(const struct endpoint *ep, const struct live_state *live,
			 struct sem_cfg *out, struct cf_err *e)
{
	const struct afd_priv *p = live ? live->priv : NULL;
	struct sem_afd_set want = {0};
	memset(out, 0, sizeof(*out));
	if (!p)
		return err_set(e, CF_EINVAL, "endpoint '%s': no Front Door state read", ep->name.s);
	afd_compile(&ep->cache, &want);
	for (size_t i = 0; i < want.n; i++)
		want.rules[i].order = (int64_t)(i + 1) * AFD_ORDER_STEP;
	struct sem_afd_set *slots = xcalloc(p->rt.n + 1, sizeof(*slots));
	struct sem_afd_route after;
	route_with(p, &want, &after, slots);
	after.qs = ep->cache.ignore_query_string ? AFDQ_IGNORE : AFDQ_USE;
	sem_of(out, route_dup(&after));
	free(slots);
	sem_afd_set_release(&want);
	return 0;
}

/* What the route does now: its sets as read, the owned one with its live rules. */
static void live_sem(struct live_state *ls, const struct afd_priv *p)
{
	struct sem_afd_route now = p->rt;
	struct sem_afd_set *slots = xcalloc(p->rt.n + 1, sizeof(*slots));
	for (size_t i = 0; i < p->rt.n; i++)
		slots[i] = p->rt.sets[i];
	if (p->owned_at >= 0)
		slots[p->owned_at] = p->owned;
	now.sets = slots;
	sem_of(&ls->sem, route_dup(&now));
	free(slots);
}

/* Mixes what was read verbatim into the digest, so any live change makes a plan stale. */
static void digest_raw(struct live_state *ls, const struct afd_priv *p)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		xmem_oom("digest");
	prov_digest(ls);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, ls->digest, strlen(ls->digest));
	EVP_DigestUpdate(ctx, p->raw.buf ? p->raw.buf : "", p->raw.len);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(ls->digest + 2 * i, 3, "%02x", md[i]);
}

static bool route_ok(const struct endpoint *ep, const struct afd_priv *p)
{
	enum sem_afd_qs want = ep->cache.ignore_query_string ? AFDQ_IGNORE : AFDQ_USE;
	return p->rt.has_cache && p->rt.qs == want && p->owned_at >= 0;
}

static int afd_finish(const struct endpoint *ep, struct live_state *ls, struct cf_err *e)
{
	struct afd_priv *p = ls->priv;
	struct sem_afd_set want = {0};
	CF_UNUSED(e);
	sem_afd_sort(&p->owned);
	for (size_t i = 0; i < p->rt.n; i++)
		sem_afd_sort(&p->rt.sets[i]);
	afd_compile(&ep->cache, &want);
	ls->exists = true;
	if (p->owned_exists && route_ok(ep, p) && afd_set_same(&p->owned, &want)) {
		cache_copy(&ls->cache, &ep->cache); /* behaves exactly as the YAML: no change */
	} else {
		model_of_route(ep, ls, p);
		model_of_owned(ls, p);
		if (!ls->inexact && prov_cache_matches(ls, &ep->cache))
			add_inexact(ls, "rules differ in order, Stop or cache key from the "
					"compiled YAML");
	}
	foreign_notes(ep, ls, p, &want);
	live_sem(ls, p);
	sem_afd_set_release(&want);
	digest_raw(ls, p);
	return 0;
}

/* ---- writes ---- */

enum wop_kind { WOP_SET_BATCH, WOP_SET_EMPTY, WOP_RULE, WOP_ROUTE };

struct wop {
	enum wop_kind kind;
	struct afd_op op; /* WOP_RULE */
};

struct wplan {
	struct sem_afd_set want;
	struct wop *v;
	size_t n, cap;
};

static void wadd(struct wplan *w, enum wop_kind k, const struct afd_op *op)
{
	xgrow(&w->v, &w->cap, w->n + 1, sizeof(*w->v));
	w->v[w->n].kind = k;
	if (op)
		w->v[w->n].op = *op;
	w->n++;
}

/*
 * Every global operation the write takes, in order: the rule set (one batch PUT where the
 * api-version has batch mode and the set is, or will be, a batch set; else per-rule writes
 * from afd_plan_writes), then the route (cache key, cacheConfiguration, attachment) when it
 * differs. Recomputed from the same live state for each step of the write.
 */
static void afd_ops(const struct prov_account *pa, const struct endpoint *ep,
		    const struct afd_priv *p, struct wplan *w)
{
	afd_compile(&ep->cache, &w->want);
	bool same = p->owned_exists && afd_set_same(&p->owned, &w->want);
	bool batch = p->owned_exists ? p->owned_batch : batch_api(pa);
	if (!same && batch) {
		wadd(w, WOP_SET_BATCH, NULL);
	} else if (!same) {
		struct sem_afd_set none = {0};
		struct afd_op *ops = NULL;
		if (!p->owned_exists)
			wadd(w, WOP_SET_EMPTY, NULL);
		size_t n = afd_plan_writes(p->owned_exists ? &p->owned : &none, &w->want, &ops);
		for (size_t i = 0; i < n; i++)
			wadd(w, WOP_RULE, &ops[i]);
		free(ops);
	}
	if (!route_ok(ep, p))
		wadd(w, WOP_ROUTE, NULL);
}

static void wplan_release(struct wplan *w)
{
	sem_afd_set_release(&w->want);
	free(w->v);
}

static void add_values_json(struct sb *b, const struct svec *v)
{
	sb_addc(b, '[');
	for (size_t i = 0; i < v->n; i++) {
		sb_adds(b, i ? "," : "");
		sb_add_json_str(b, v->v[i].s);
	}
	sb_addc(b, ']');
}

/* conditions, actions and matchProcessingBehavior of one compiled rule */
static void encode_rule_body(struct sb *b, const struct sem_afd_rule *r, int64_t order,
			     bool compress)
{
	sb_addf(b, "\"order\":%lld,\"matchProcessingBehavior\":\"Continue\",\"conditions\":[",
		(long long)order);
	for (size_t i = 0; i < r->nconds; i++) {
		const struct sem_afd_cond *c = &r->conds[i];
		bool ext = c->var == AFDV_URL_EXT;
		sb_addf(
		    b,
		    "%s{\"name\":\"%s\",\"parameters\":{\"typeName\":\"%s\",\"operator\":\"%s\","
		    "\"negateCondition\":false,\"matchValues\":",
		    i ? "," : "", ext ? "UrlFileExtension" : "UrlPath", ext ? T_EXT : T_PATH,
		    c->op == AFDO_BEGINS ? "BeginsWith" : "Equal");
		add_values_json(b, &c->values);
		sb_addf(b, ",\"transforms\":[%s]}}",
			c->transforms & AFDT_LOWER ? "\"Lowercase\"" : "");
	}
	sb_addf(b,
		"],\"actions\":[{\"name\":\"RouteConfigurationOverride\",\"parameters\":{"
		"\"typeName\":\"%s\"",
		T_ROUTE);
	if (r->has_cache) {
		char dur[AFD_DURATION_BUF];
		afd_duration_format(r->duration, dur, sizeof(dur));
		sb_addf(b,
			",\"cacheConfiguration\":{\"queryStringCachingBehavior\":\"%s\","
			"\"queryParameters\":null,\"isCompressionEnabled\":\"%s\","
			"\"cacheBehavior\":\"%s\",\"cacheDuration\":\"%s\"}",
			qs_name(r->qs), compress ? "Enabled" : "Disabled",
			r->behavior == AFDB_OVERRIDE ? "OverrideAlways" : "OverrideIfOriginMissing",
			dur);
	}
	sb_adds(b, "}}]");
}

static void encode_batch(struct sb *b, const struct sem_afd_set *want, bool compress)
{
	sb_adds(b, "{\"properties\":{\"batchMode\":true,\"rules\":[");
	for (size_t i = 0; i < want->n; i++) {
		sb_adds(b, i ? ",{\"ruleName\":" : "{\"ruleName\":");
		sb_add_json_str(b, want->rules[i].name);
		sb_addc(b, ',');
		encode_rule_body(b, &want->rules[i], (int64_t)(i + 1) * AFD_ORDER_STEP, compress);
		sb_addc(b, '}');
	}
	sb_adds(b, "]}}");
}

static void encode_route(struct sb *b, const struct prov_account *pa, const struct endpoint *ep,
			 const struct afd_priv *p)
{
	sb_addf(b,
		"{\"properties\":{\"cacheConfiguration\":{\"queryStringCachingBehavior\":\"%s\","
		"\"queryParameters\":null,\"compressionSettings\":%s},\"ruleSets\":[",
		ep->cache.ignore_query_string ? "IgnoreQueryString" : "UseQueryString",
		p->compression ? p->compression
			       : "{\"contentTypesToCompress\":[],\"isCompressionEnabled\":false}");
	for (size_t i = 0; i < p->set_ids.n; i++) {
		sb_adds(b, i ? ",{\"id\":" : "{\"id\":");
		sb_add_json_str(b, p->set_ids.v[i].s);
		sb_addc(b, '}');
	}
	if (p->owned_at < 0) {
		struct sb id;
		if (profile_url(pa, ep, &id, false, NULL) == 0) {
			sb_adds(&id, "/ruleSets/");
			prov_add_segment(&id, ep->remote.rule_set.s);
			sb_adds(b, p->set_ids.n ? ",{\"id\":" : "{\"id\":");
			sb_add_json_str(b, id.buf);
			sb_addc(b, '}');
			sb_release(&id);
		}
	}
	sb_adds(b, "]}}");
}

static int build_op(struct prov_account *pa, const struct endpoint *ep, const struct afd_priv *p,
		    const struct wplan *w, size_t k, struct http_req *req, struct cf_err *e)
{
	const struct wop *o = &w->v[k];
	const char *method = "PUT", *what = "set", *rule = NULL;
	struct sb url, body;
	sb_init(&body, PROV_BODY_MAX);
	if (o->kind == WOP_SET_BATCH) {
		encode_batch(&body, &w->want, p->compress);
	} else if (o->kind == WOP_SET_EMPTY) {
		sb_adds(&body, "{}");
	} else if (o->kind == WOP_ROUTE) {
		method = "PATCH";
		what = "route";
		encode_route(&body, pa, ep, p);
	} else if (o->op.kind == AFD_OP_DELETE) {
		method = "DELETE";
		rule = p->owned.rules[o->op.idx].name;
	} else {
		rule = w->want.rules[o->op.idx].name;
		sb_adds(&body, "{\"properties\":{");
		encode_rule_body(&body, &w->want.rules[o->op.idx], o->op.order, p->compress);
		sb_adds(&body, "}}");
	}
	int rc = afd_url(pa, ep, NULL, what, rule, &url, e);
	if (rc == 0)
		rc = prov_req_url(req, pa, ep, method, &url, OP_WRITE, prov_azure_sign, e);
	if (rc == 0 && strcmp(method, "DELETE") != 0)
		rc = prov_req_json(req, &body, e);
	sb_release(&body);
	return rc;
}

static int write_step(struct prov_account *pa, const struct endpoint *ep,
		      const struct live_state *live, unsigned k, struct http_req *req,
		      struct cf_err *e)
{
	struct wplan w = {0};
	int rc;
	memset(req, 0, sizeof(*req));
	if (!live || !live->priv)
		return err_set(e, CF_EINVAL, "endpoint '%s': write without a read", ep->name.s);
	if (ep->cache.nrules > AFD_RULES_PER_SET)
		return err_set(e, CF_ELIMIT, "endpoint '%s': %zu rules exceed the %d of a rule set",
			       ep->name.s, ep->cache.nrules, AFD_RULES_PER_SET);
	afd_ops(pa, ep, live->priv, &w);
	if (k < w.n)
		rc = build_op(pa, ep, live->priv, &w, k, req, e);
	else
		rc = k == 0 ? err_set(e, CF_EINVAL, "endpoint '%s': nothing to write", ep->name.s)
			    : 0;
	if (rc == 0 && k < w.n && k > 0)
		rc = PROV_MORE;
	wplan_release(&w);
	return rc;
}

static int afd_write_req(struct prov_account *pa, const struct endpoint *ep,
			 const struct live_state *live, struct http_req *req, struct cf_err *e)
{
	return write_step(pa, ep, live, 0, req, e);
}

static int afd_write_next(struct prov_account *pa, const struct endpoint *ep,
			  const struct live_state *live, struct http_req *req, struct cf_err *e)
{
	return write_step(pa, ep, live, live ? live->wstep : 0, req, e);
}

static int afd_write_parse(const struct endpoint *ep, const struct http_resp *resp,
			   struct task *out, struct cf_err *e)
{
	task_release(out); /* the previous step's finished operation */
	return prov_arm_lro_start(ep, OP_WRITE, resp, out, e);
}

/* ---- purge: contentPaths (<= 100 a request) and the endpoint's hosts as domains ---- */

static size_t afd_split(const struct endpoint *ep, const struct purge *p, struct purge_batch **out)
{
	const struct prov_caps caps = {AFD_PURGE_PATHS, AFD_PURGE_PATHS, 0, AFD_PURGE_PATHS};
	struct prov_items x = {0};
	struct sb sb;
	CF_UNUSED(ep);
	sb_init(&sb, PROV_URL_MAX * 2);
	for (size_t i = 0; i < p->files.n; i++)
		prov_svec_add_unique(&x.files, prov_url_path(p->files.v[i].s));
	for (size_t i = 0; i < p->dirs.n; i++) {
		sb_reset(&sb);
		sb_addf(&sb, "%s*", prov_url_path(p->dirs.v[i].s)); /* "/img/" -> "/img/" + star */
		prov_svec_add_unique(&x.dirs, sb.buf);
	}
	sb_release(&sb);
	/* preload does not exist on Front Door: validation refuses it (CF425) */
	return prov_split_pack(p->action, &x, &caps, &caps, out);
}

static int afd_batch_req(struct prov_account *pa, const struct endpoint *ep,
			 const struct purge_batch *b, struct http_req *req, struct cf_err *e)
{
	struct sb url, body;
	memset(req, 0, sizeof(*req));
	if (b->kind != BATCH_PURGE)
		return err_set(e, CF_EINVAL, "endpoint '%s': Front Door has no preload",
			       ep->name.s);
	int rc = afd_url(pa, ep, NULL, "purge", NULL, &url, e);
	if (rc == 0)
		rc = prov_req_url(req, pa, ep, "POST", &url, OP_PURGE, prov_azure_sign, e);
	if (rc != 0)
		return rc;
	sb_init(&body, PROV_BODY_MAX);
	sb_adds(&body, "{\"contentPaths\":");
	prov_add_str_array(&body, &b->files, &b->dirs);
	sb_adds(&body, ",\"domains\":");
	prov_add_str_array(&body, &ep->hosts, NULL);
	sb_addc(&body, '}');
	rc = prov_req_json(req, &body, e);
	sb_release(&body);
	return rc;
}

static int afd_batch_parse(const struct endpoint *ep, const struct purge_batch *b,
			   const struct http_resp *resp, struct task *out, struct cf_err *e)
{
	CF_UNUSED(b);
	return prov_arm_lro_start(ep, OP_PURGE, resp, out, e);
}

/* A profile runs one global operation at a time. */
static const char *afd_write_lane(const struct endpoint *ep, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", ep->remote.resource_group.s ? ep->remote.resource_group.s : "",
		 ep->remote.profile.s ? ep->remote.profile.s : "");
	return buf;
}

const struct prov_ops prov_afd_ops = {
    .kind = PROV_AZURE_FRONTDOOR,
    .max_files = AFD_PURGE_PATHS,
    .max_dirs = AFD_PURGE_PATHS,
    .max_regex = 0,
    .account_open = afd_open,
    .account_close = prov_account_close,
    .account_ready = prov_azure_ready,
    .read_req = afd_read_req,
    .read_parse = afd_read_parse,
    .write_req = afd_write_req,
    .write_parse = afd_write_parse,
    .sem_write = afd_sem_write,
    .read_next = afd_read_next,
    .write_next = afd_write_next,
    .split = afd_split,
    .batch_req = afd_batch_req,
    .batch_parse = afd_batch_parse,
    .poll_req = prov_arm_poll_req,
    .poll_parse = prov_arm_poll_parse,
    .quota_req = NULL,
    .quota_parse = NULL,
    .write_lane = afd_write_lane,
};
