#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_afd.h"
#include "cmd/fakecdn/fk_azure.h"
#include "cmd/fakecdn/fk_index.h"
#include "cmd/fakecdn/fk_migrate.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/limits.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <regex.h>
#include <strings.h>

#define MSG_MAX	    512
#define DURATION_RE "^([0-9]{1,3}\\.)?([0-1][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
#define MAX_DAYS    365
#define CONFLICT_MSG                                                                               \
	"The requested operation cannot be executed on the entity as another operation is in "     \
	"progress."
#define IN_USE_MSG                                                                                 \
	"This resource is still associated with a route. Please delete the association with the "  \
	"route first before deleting this resource."

/* seg: subscriptions/{1}/resourceGroups/{3}/providers/Microsoft.Cdn/profiles/{7}/{8}/{9}/... */
enum { S_SUB = 1, S_RG = 3, S_PROF = 7, S_KIND = 8, S_NAME = 9, S_SUB2 = 10, S_NAME2 = 11 };

static const char *const url_path_ops[] = {
    "Any",	"Equal",	   "Contains",	  "BeginsWith",		"EndsWith",
    "LessThan", "LessThanOrEqual", "GreaterThan", "GreaterThanOrEqual", "RegEx",
    "Wildcard"};
static const char *const transforms[] = {"Lowercase", "Uppercase", "Trim",
					 "UrlDecode", "UrlEncode", "RemoveNulls"};
static const char *const behaviors[] = {"HonorOrigin", "OverrideAlways", "OverrideIfOriginMissing"};
static const char *const qs_kinds[] = {"IgnoreQueryString", "UseQueryString",
				       "IgnoreSpecifiedQueryStrings",
				       "IncludeSpecifiedQueryStrings"};
static const char *const cond_names[][2] = {
    {"UrlPath", "DeliveryRuleUrlPathMatchConditionParameters"},
    {"UrlFileExtension", "DeliveryRuleUrlFileExtensionMatchConditionParameters"},
    {"UrlFileName", "DeliveryRuleUrlFilenameConditionParameters"},
    {"RequestMethod", "DeliveryRuleRequestMethodConditionParameters"},
    {"RequestHeader", "DeliveryRuleRequestHeaderConditionParameters"},
    {"QueryString", "DeliveryRuleQueryStringConditionParameters"},
    {"RequestScheme", "DeliveryRuleRequestSchemeConditionParameters"},
    {"HostName", "DeliveryRuleHostNameConditionParameters"},
};
static const char *const action_names[][2] = {
    {"RouteConfigurationOverride", "DeliveryRuleRouteConfigurationOverrideActionParameters"},
    {"ModifyRequestHeader", "DeliveryRuleHeaderActionParameters"},
    {"ModifyResponseHeader", "DeliveryRuleHeaderActionParameters"},
    {"UrlRedirect", "DeliveryRuleUrlRedirectActionParameters"},
    {"UrlRewrite", "DeliveryRuleUrlRewriteActionParameters"},
};

static bool one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static const char *type_of(const char *name, const char *const (*tab)[2], size_t n)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(tab[i][0], name) == 0)
			return tab[i][1];
	return NULL;
}

static bool duration_ok(const char *s)
{
	regex_t rx;
	bool ok = false;
	if (regcomp(&rx, DURATION_RE, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	if (ok && strchr(s, '.'))
		ok = strtol(s, NULL, 10) <= MAX_DAYS;
	return ok;
}

/* The member key of o whatever its type (NULL for a JSON null). */
static struct json_object *member(struct json_object *o, const char *key, bool *present)
{
	struct json_object *v = NULL;
	*present = o && json_object_object_get_ex(o, key, &v);
	return v;
}

static bool has(struct json_object *o, const char *key)
{
	bool present;
	(void)member(o, key, &present);
	return present;
}

/* ---- state ---- */

/*
 * Profiles, their endpoints and rule sets by name (fk_index.c; the scans they replace were
 * linear in the fleet). Keys: 'P' sub, rg, profile; 'E' sub, rg, profile, endpoint; 'S' sub,
 * rg, profile, rule set. Built on first use and dropped whenever a profile or rule set is
 * added or removed (fk_afd_index_drop()); rules and routes are per rule set or endpoint, few,
 * and still scanned.
 */
static void index_children(struct fk_index *ix, char k, const char *const *prof,
			   struct json_object *arr)
{
	for (size_t i = 0, n = arr ? json_object_array_length(arr) : 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *parts[] = {prof[0], prof[1], prof[2], fk_jstr(o, "name")};
		fk_index_add(ix, k, parts, CF_ARRAY_LEN(parts), o);
	}
}

static struct fk_index *afd_index(struct fk_app *app)
{
	if (app->afd_index)
		return app->afd_index;
	struct fk_index *ix = fk_index_new();
	struct json_object *ps = fk_jarr(fk_jobj(app->state, "frontdoor"), "profiles");
	for (size_t i = 0, n = ps ? json_object_array_length(ps) : 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(ps, i);
		const char *key[] = {fk_jstr(p, "subscription"), fk_jstr(p, "resource_group"),
				     fk_jstr(p, "name")};
		fk_index_add(ix, 'P', key, CF_ARRAY_LEN(key), p);
		/* a later profile of the same name is never found, nor are its children */
		if (fk_index_find(ix, 'P', key, CF_ARRAY_LEN(key)) != p)
			continue;
		index_children(ix, 'E', key, fk_jarr(p, "afdEndpoints"));
		index_children(ix, 'S', key, fk_jarr(p, "ruleSets"));
	}
	app->afd_index = ix;
	return ix;
}

void fk_afd_index_drop(struct fk_app *app)
{
	fk_index_free(app->afd_index);
	app->afd_index = NULL;
}

static struct json_object *find_profile(struct fk_app *app, const char **seg)
{
	const char *key[] = {seg[S_SUB], seg[S_RG], seg[S_PROF]};
	return fk_index_find(afd_index(app), 'P', key, CF_ARRAY_LEN(key));
}

/* The endpoint ("afdEndpoints") or rule set ("ruleSets") name of the profile seg names. */
static struct json_object *find_in(struct fk_app *app, const char **seg, const char *arr,
				   const char *name)
{
	const char *key[] = {seg[S_SUB], seg[S_RG], seg[S_PROF], name};
	return fk_index_find(afd_index(app), strcasecmp(arr, "ruleSets") == 0 ? 'S' : 'E', key,
			     CF_ARRAY_LEN(key));
}

static void rid(struct sb *sb, const char **seg)
{
	sb_addf(sb, "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.Cdn/profiles/%s",
		seg[S_SUB], seg[S_RG], seg[S_PROF]);
}

/* Auth, api-version, subscription (fk_azure.c), then the profile; NULL with resp filled. */
static struct json_object *begin_profile(struct fk_app *app, const struct fk_req *req,
					 const char **seg, struct fk_resp *resp)
{
	if (!fk_azure_begin(app, req, seg[S_SUB], resp))
		return NULL;
	struct json_object *p = find_profile(app, seg);
	if (!p) {
		char msg[MSG_MAX];
		snprintf(msg, sizeof(msg),
			 "The Resource 'Microsoft.Cdn/profiles/%s' under resource group '%s' was "
			 "not found.",
			 seg[S_PROF], seg[S_RG]);
		fk_error_arm(resp, req, 404, "ResourceNotFound", msg);
	}
	return p;
}

/* A global operation: refused while the profile's previous one runs; else the profile is
 * busy for afd_op_ms and the answer carries the operation's status URL. */
static bool global_op_start(struct fk_app *app, struct json_object *prof, const struct fk_req *req,
			    struct fk_resp *resp)
{
	int64_t busy = fk_jint(prof, "busy_until_ms", 0);
	if (busy > req->now_ms) {
		fk_error_arm(resp, req, 409, "Conflict", CONFLICT_MSG);
		return false;
	}
	json_object_object_add(prof, "busy_until_ms",
			       json_object_new_int64(req->now_ms + app->knobs.afd_op_ms));
	return true;
}

static struct json_object *op_headers(struct fk_app *app, const struct fk_req *req,
				      const char **seg, struct fk_resp *resp)
{
	const char *host = fk_req_header(req, "Host"), *v = fk_req_arg(req, "api-version");
	char id[FK_UUID_LEN + 1];
	struct sb url;
	fk_uuid(id);
	struct json_object *t = fk_task_new(app, "afd_op", id, req->now_ms);
	json_object_object_add(t, "subscription", json_object_new_string(seg[S_SUB]));
	json_object_object_add(t, "due_ms",
			       json_object_new_int64(req->now_ms + app->knobs.afd_op_ms));
	sb_init(&url, 0);
	sb_addf(&url,
		"%s://%s/subscriptions/%s/resourcegroups/%s/providers/Microsoft.Cdn/"
		"operationresults/%s?api-version=%s",
		app->tls ? "https" : "http", host ? host : "127.0.0.1", seg[S_SUB], seg[S_RG], id,
		v ? v : "");
	fk_resp_header(resp, "Azure-AsyncOperation", url.buf);
	fk_resp_header(resp, "Retry-After", "1");
	sb_release(&url);
	fk_state_changed(app, resp);
	return t;
}

struct json_object *fk_afd_op_start(struct fk_app *app, const struct fk_req *req, const char **seg,
				    struct fk_resp *resp)
{
	return op_headers(app, req, seg, resp);
}

/* ---- validation and read-back normalisation ---- */

static int check_condition(struct json_object *c, char *msg, size_t n)
{
	const char *name = fk_jstr(c, "name"),
		   *want = type_of(name, cond_names, CF_ARRAY_LEN(cond_names));
	struct json_object *p = fk_jobj(c, "parameters");
	const char *op = fk_jstr(p, "operator"), *tn = fk_jstr(p, "typeName");
	if (!want)
		return snprintf(msg, n, "The condition name '%s' is not supported.",
				name ? name : "(missing)"),
		       -1;
	if (!tn || strcmp(tn, want) != 0)
		return snprintf(msg, n, "Property 'typeName' must be '%s'.", want), -1;
	if (!op || !one_of(op, url_path_ops, CF_ARRAY_LEN(url_path_ops)) ||
	    (strcmp(op, "Wildcard") == 0 && strcmp(name, "UrlPath") != 0))
		return snprintf(msg, n,
				"Property 'Rule.Conditions.Parameters.Operator' cannot be set to "
				"'%s'.",
				op ? op : ""),
		       -1;
	struct json_object *tr = fk_jarr(p, "transforms");
	for (size_t i = 0; tr && i < json_object_array_length(tr); i++) {
		const char *t = json_object_get_string(json_object_array_get_idx(tr, i));
		if (!one_of(t, transforms, CF_ARRAY_LEN(transforms)))
			return snprintf(
				   msg, n,
				   "Property 'Rule.Conditions.Parameters.Transforms' cannot be "
				   "set to '%s'. Acceptable values are: Lowercase, Uppercase, "
				   "Trim, UrlDecode, UrlEncode, RemoveNulls",
				   t ? t : ""),
			       -1;
	}
	if (!has(p, "negateCondition"))
		json_object_object_add(p, "negateCondition", json_object_new_boolean(0));
	if (!tr)
		json_object_object_add(p, "transforms", json_object_new_array());
	if (!fk_jarr(p, "matchValues"))
		json_object_object_add(p, "matchValues", json_object_new_array());
	return 0;
}

static int check_cache_cfg(struct json_object *cc, bool *caching, char *msg, size_t n)
{
	const char *beh = fk_jstr(cc, "cacheBehavior"), *dur = fk_jstr(cc, "cacheDuration"),
		   *qs = fk_jstr(cc, "queryStringCachingBehavior");
	if (!beh || !one_of(beh, behaviors, CF_ARRAY_LEN(behaviors)))
		return snprintf(msg, n, "Property 'cacheBehavior' cannot be set to '%s'.",
				beh ? beh : ""),
		       -1;
	if (qs && !one_of(qs, qs_kinds, CF_ARRAY_LEN(qs_kinds)))
		return snprintf(msg, n,
				"Property 'queryStringCachingBehavior' cannot be set to '%s'.", qs),
		       -1;
	if (strcmp(beh, "HonorOrigin") != 0 && (!dur || !duration_ok(dur)))
		return snprintf(msg, n,
				"Rules validation failed. More information: cacheDuration '%s' is "
				"not a valid [d.]hh:mm:ss duration of at most 365.23:59:59.",
				dur ? dur : "null"),
		       -1;
	if (!has(cc, "queryParameters"))
		json_object_object_add(cc, "queryParameters", NULL);
	if (strcmp(beh, "HonorOrigin") == 0 && !dur)
		json_object_object_add(cc, "cacheDuration", NULL);
	*caching = true;
	return 0;
}

static int check_action(struct json_object *a, bool *caching, char *msg, size_t n)
{
	const char *name = fk_jstr(a, "name"),
		   *want = type_of(name, action_names, CF_ARRAY_LEN(action_names));
	struct json_object *p = fk_jobj(a, "parameters");
	const char *tn = fk_jstr(p, "typeName");
	if (!want)
		return snprintf(msg, n, "The action name '%s' is not supported.",
				name ? name : "(missing)"),
		       -1;
	if (!tn || strcmp(tn, want) != 0)
		return snprintf(msg, n, "Property 'typeName' must be '%s'.", want), -1;
	struct json_object *cc = fk_jobj(p, "cacheConfiguration");
	return cc && strcmp(name, "RouteConfigurationOverride") == 0
		   ? check_cache_cfg(cc, caching, msg, n)
		   : 0;
}

/* props: a rule's properties (or a batch rule); fills defaults in place. */
static int check_rule(struct json_object *props, bool *caching, char *msg, size_t n)
{
	struct json_object *conds = fk_jarr(props, "conditions"), *acts = fk_jarr(props, "actions");
	const char *mpb = fk_jstr(props, "matchProcessingBehavior");
	size_t nc = conds ? json_object_array_length(conds) : 0;
	size_t na = acts ? json_object_array_length(acts) : 0;
	*caching = false;
	if (nc > AFD_CONDITIONS_PER_RULE || na > AFD_ACTIONS_PER_RULE)
		return snprintf(msg, n,
				"Rules validation failed. More information: a rule has at most %d "
				"conditions and %d actions.",
				AFD_CONDITIONS_PER_RULE, AFD_ACTIONS_PER_RULE),
		       -1;
	if (na == 0)
		return snprintf(msg, n, "A rule needs at least one action."), -1;
	if (mpb && strcmp(mpb, "Continue") != 0 && strcmp(mpb, "Stop") != 0)
		return snprintf(msg, n, "Property 'matchProcessingBehavior' cannot be set to '%s'.",
				mpb),
		       -1;
	bool present;
	struct json_object *order = member(props, "order", &present);
	if (!present || json_object_get_type(order) != json_type_int ||
	    json_object_get_int64(order) < 0)
		return snprintf(msg, n, "Property 'order' must be a non-negative integer."), -1;
	for (size_t i = 0; i < nc; i++)
		if (check_condition(json_object_array_get_idx(conds, i), msg, n) < 0)
			return -1;
	for (size_t i = 0; i < na; i++)
		if (check_action(json_object_array_get_idx(acts, i), caching, msg, n) < 0)
			return -1;
	if (!mpb)
		json_object_object_add(props, "matchProcessingBehavior",
				       json_object_new_string("Continue"));
	if (!conds)
		json_object_object_add(props, "conditions", json_object_new_array());
	return 0;
}

/* Orders unique and the set within its capacity (batch: a caching rule counts twice). Rules
 * as stored: {name, properties, _caching}. */
static int check_set(struct json_object *rules, bool batch, char *msg, size_t n)
{
	size_t cnt = rules ? json_object_array_length(rules) : 0, weight = 0;
	for (size_t i = 0; i < cnt; i++) {
		struct json_object *r = json_object_array_get_idx(rules, i);
		struct json_object *pi = fk_jobj(r, "properties");
		weight += batch && fk_jbool(r, "_caching", false) ? AFD_BATCH_CACHING_WEIGHT : 1;
		for (size_t j = 0; j < i; j++) {
			struct json_object *pj =
			    fk_jobj(json_object_array_get_idx(rules, j), "properties");
			if (fk_jint(pi, "order", -1) == fk_jint(pj, "order", -2))
				return snprintf(
					   msg, n,
					   "Rules validation failed. More information: another "
					   "rule in this rule set already has order %lld.",
					   (long long)fk_jint(pi, "order", 0)),
				       -1;
		}
	}
	if (weight > AFD_RULES_PER_SET)
		return snprintf(msg, n,
				"Rules validation failed. More information: a rule set holds at "
				"most %d rules (counted %zu).",
				AFD_RULES_PER_SET, weight),
		       -1;
	return 0;
}

/* ---- bodies ---- */

static struct json_object *rule_json(const char **seg, const char *set, struct json_object *r)
{
	struct json_object *o = json_object_new_object();
	struct json_object *props = json_object_get(fk_jobj(r, "properties"));
	struct sb id;
	sb_init(&id, 0);
	rid(&id, seg);
	sb_addf(&id, "/rulesets/%s/rules/%s", set, fk_jstr(r, "name"));
	json_object_object_add(o, "name", json_object_new_string(fk_jstr(r, "name")));
	json_object_object_add(o, "id", json_object_new_string(id.buf));
	json_object_object_add(o, "type",
			       json_object_new_string("Microsoft.Cdn/profiles/rulesets/rules"));
	json_object_object_add(props, "ruleSetName", json_object_new_string(set));
	json_object_object_add(props, "provisioningState", json_object_new_string("Succeeded"));
	json_object_object_add(props, "deploymentStatus", json_object_new_string("NotStarted"));
	json_object_object_add(o, "properties", props);
	sb_release(&id);
	return o;
}

static struct json_object *set_json(const char **seg, struct json_object *rs)
{
	struct json_object *o = json_object_new_object(), *p = json_object_new_object();
	struct sb id;
	sb_init(&id, 0);
	rid(&id, seg);
	sb_addf(&id, "/rulesets/%s", fk_jstr(rs, "name"));
	json_object_object_add(o, "name", json_object_new_string(fk_jstr(rs, "name")));
	json_object_object_add(o, "id", json_object_new_string(id.buf));
	json_object_object_add(o, "type",
			       json_object_new_string("Microsoft.Cdn/profiles/rulesets"));
	json_object_object_add(p, "provisioningState", json_object_new_string("Succeeded"));
	json_object_object_add(p, "deploymentStatus", json_object_new_string("NotStarted"));
	if (fk_jbool(rs, "batchMode", false)) {
		struct json_object *rules = json_object_new_array(), *src = fk_jarr(rs, "rules");
		for (size_t i = 0; src && i < json_object_array_length(src); i++) {
			struct json_object *r =
			    fk_jobj(json_object_array_get_idx(src, i), "properties");
			json_object_array_add(rules, json_object_get(r));
		}
		json_object_object_add(p, "batchMode", json_object_new_boolean(1));
		json_object_object_add(p, "rules", rules);
	}
	json_object_object_add(o, "properties", p);
	sb_release(&id);
	return o;
}

/* ---- routes ---- */

static struct json_object *find_route(struct fk_app *app, const char **seg)
{
	struct json_object *ep = find_in(app, seg, "afdEndpoints", seg[S_NAME]);
	return fk_jfind(fk_jarr(ep, "routes"), "name", seg[S_NAME2]);
}

static void h_route_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp)
{
	struct json_object *prof = begin_profile(app, req, seg, resp), *rt;
	CF_UNUSED(nseg);
	if (!prof)
		return;
	rt = find_route(app, seg);
	if (!rt) {
		fk_error_arm(resp, req, 404, "NotFound", "The route was not found.");
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(fk_jstr(rt, "name")));
	json_object_object_add(
	    o, "type", json_object_new_string("Microsoft.Cdn/profiles/afdendpoints/routes"));
	json_object_object_add(o, "properties", json_object_get(fk_jobj(rt, "properties")));
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

/* Every ruleSets[].id must name a rule set of the profile seg names. */
static int check_route_sets(struct fk_app *app, const char **seg, struct json_object *sets,
			    char *msg, size_t n)
{
	for (size_t i = 0; sets && i < json_object_array_length(sets); i++) {
		const char *id = fk_jstr(json_object_array_get_idx(sets, i), "id");
		const char *slash = id ? strrchr(id, '/') : NULL;
		if (!slash || !find_in(app, seg, "ruleSets", slash + 1))
			return snprintf(msg, n, "Rule set '%s' was not found in this profile.",
					id ? id : ""),
			       -1;
	}
	return 0;
}

static void h_route_patch(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			  struct fk_resp *resp)
{
	struct json_object *prof = begin_profile(app, req, seg, resp), *rt, *body, *bp;
	char msg[MSG_MAX];
	CF_UNUSED(nseg);
	if (!prof)
		return;
	rt = find_route(app, seg);
	body = fk_req_json(req);
	bp = fk_jobj(body, "properties");
	if (!rt) {
		fk_error_arm(resp, req, 404, "NotFound", "The route was not found.");
	} else if (!bp) {
		fk_error_arm(resp, req, 400, "BadRequest", "The request body has no properties.");
	} else if (check_route_sets(app, seg, fk_jarr(bp, "ruleSets"), msg, sizeof(msg)) < 0) {
		fk_error_arm(resp, req, 400, "BadRequest", msg);
	} else if (global_op_start(app, prof, req, resp)) {
		struct json_object *props = fk_jobj(rt, "properties");
		/* PATCH merges: members sent replace, members absent stay */
		json_object_object_foreach(bp, k, v)
		{
			json_object_object_add(props, k, json_object_get(v));
		}
		fk_resp_text(resp, 202, NULL, NULL);
		op_headers(app, req, seg, resp);
	}
	json_object_put(body);
}

/* ---- rule sets ---- */

static bool set_in_use(struct json_object *prof, const char *name)
{
	struct json_object *eps = fk_jarr(prof, "afdEndpoints");
	for (size_t i = 0; eps && i < json_object_array_length(eps); i++) {
		struct json_object *rts = fk_jarr(json_object_array_get_idx(eps, i), "routes");
		for (size_t j = 0; rts && j < json_object_array_length(rts); j++) {
			struct json_object *p =
			    fk_jobj(json_object_array_get_idx(rts, j), "properties");
			struct json_object *sets = fk_jarr(p, "ruleSets");
			for (size_t k = 0; sets && k < json_object_array_length(sets); k++) {
				const char *id = fk_jstr(json_object_array_get_idx(sets, k), "id");
				const char *s = id ? strrchr(id, '/') : NULL;
				if (s && strcasecmp(s + 1, name) == 0)
					return true;
			}
		}
	}
	return false;
}

static void h_set_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		      struct fk_resp *resp)
{
	struct json_object *prof = begin_profile(app, req, seg, resp), *rs;
	CF_UNUSED(nseg);
	if (!prof)
		return;
	rs = find_in(app, seg, "ruleSets", seg[S_NAME]);
	if (!rs) {
		fk_error_arm(resp, req, 404, "NotFound", "The rule set was not found.");
		return;
	}
	struct json_object *o = set_json(seg, rs);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

/* Batch rules[] -> stored rules {name, properties, _caching}; all or nothing. */
static struct json_object *batch_rules(struct json_object *in, char *msg, size_t n)
{
	struct json_object *out = json_object_new_array();
	for (size_t i = 0; in && i < json_object_array_length(in); i++) {
		struct json_object *r = json_object_get(json_object_array_get_idx(in, i));
		const char *name = fk_jstr(r, "ruleName");
		bool caching = false;
		if (!name || check_rule(r, &caching, msg, n) < 0) {
			if (!name)
				snprintf(msg, n, "Property 'ruleName' is required.");
			json_object_put(r);
			json_object_put(out);
			return NULL;
		}
		struct json_object *s = json_object_new_object();
		json_object_object_add(s, "name", json_object_new_string(name));
		json_object_object_add(s, "properties", r);
		json_object_object_add(s, "_caching", json_object_new_boolean(caching));
		json_object_array_add(out, s);
	}
	if (check_set(out, true, msg, n) < 0) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

static void h_set_put(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		      struct fk_resp *resp)
{
	struct json_object *prof = begin_profile(app, req, seg, resp), *rs, *body, *bp,
			   *rules = NULL;
	char msg[MSG_MAX];
	CF_UNUSED(nseg);
	if (!prof)
		return;
	rs = find_in(app, seg, "ruleSets", seg[S_NAME]);
	body = fk_req_json(req);
	bp = fk_jobj(body, "properties");
	bool batch = fk_jbool(bp, "batchMode", rs ? fk_jbool(rs, "batchMode", false) : false);
	msg[0] = '\0';
	if (rs && batch != fk_jbool(rs, "batchMode", false)) {
		fk_error_arm(resp, req, 400, "BadRequest",
			     "Property 'batchMode' can only be set when the rule set is created.");
	} else if (!rs && json_object_array_length(fk_jarr_ensure(prof, "ruleSets")) >=
			      AFD_RULE_SETS_STANDARD) {
		fk_error_arm(resp, req, 400, "BadRequest",
			     "The number of rule sets in this profile has reached its limit.");
	} else if (batch && !(rules = batch_rules(fk_jarr(bp, "rules"), msg, sizeof(msg)))) {
		fk_error_arm(resp, req, 400, "BadRequest", msg);
	} else if (global_op_start(app, prof, req, resp)) {
		int status = rs ? 200 : 201;
		if (!rs) {
			rs = json_object_new_object();
			json_object_object_add(rs, "name", json_object_new_string(seg[S_NAME]));
			json_object_object_add(rs, "batchMode", json_object_new_boolean(batch));
			json_object_object_add(rs, "rules", json_object_new_array());
			json_object_array_add(fk_jarr_ensure(prof, "ruleSets"), rs);
			fk_afd_index_drop(app);
		}
		if (rules) {
			json_object_object_add(rs, "rules", rules);
			rules = NULL;
		}
		struct json_object *o = set_json(seg, rs);
		fk_resp_json(resp, status, o);
		json_object_put(o);
		op_headers(app, req, seg, resp);
	}
	json_object_put(rules);
	json_object_put(body);
}

static void h_set_delete(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp)
{
	struct json_object *prof = begin_profile(app, req, seg, resp), *sets;
	CF_UNUSED(nseg);
	if (!prof)
		return;
	sets = fk_jarr(prof, "ruleSets");
	for (size_t i = 0; sets && i < json_object_array_length(sets); i++) {
		const char *name = fk_jstr(json_object_array_get_idx(sets, i), "name");
		if (!name || strcasecmp(name, seg[S_NAME]) != 0)
			continue;
		if (set_in_use(prof, name)) {
			fk_error_arm(resp, req, 400, "BadRequest", IN_USE_MSG);
		} else if (global_op_start(app, prof, req, resp)) {
			json_object_array_del_idx(sets, i, 1);
			fk_afd_index_drop(app);
			fk_resp_text(resp, 202, NULL, NULL);
			op_headers(app, req, seg, resp);
		}
		return;
	}
	fk_resp_text(resp, 204, NULL, NULL);
}

/* ---- rules (per-rule mode) ---- */

static struct json_object *plain_set(struct fk_app *app, const struct fk_req *req, const char **seg,
				     struct fk_resp *resp, struct json_object **prof)
{
	struct json_object *rs;
	*prof = begin_profile(app, req, seg, resp);
	if (!*prof)
		return NULL;
	rs = find_in(app, seg, "ruleSets", seg[S_NAME]);
	if (!rs)
		fk_error_arm(resp, req, 404, "NotFound", "The rule set was not found.");
	else if (fk_jbool(rs, "batchMode", false))
		fk_error_arm(resp, req, 400, "BadRequest",
			     "Rules of a batch-mode rule set are written through the rule set.");
	return rs && !fk_jbool(rs, "batchMode", false) ? rs : NULL;
}

static void h_rules_list(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp)
{
	struct json_object *prof, *rs = plain_set(app, req, seg, resp, &prof), *o, *v, *rules;
	CF_UNUSED(nseg);
	if (!rs)
		return;
	o = json_object_new_object();
	v = json_object_new_array();
	rules = fk_jarr(rs, "rules");
	for (size_t i = 0; rules && i < json_object_array_length(rules); i++)
		json_object_array_add(
		    v, rule_json(seg, fk_jstr(rs, "name"), json_object_array_get_idx(rules, i)));
	json_object_object_add(o, "value", v);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

static void h_rule_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		       struct fk_resp *resp)
{
	struct json_object *prof, *rs = plain_set(app, req, seg, resp, &prof), *r;
	CF_UNUSED(nseg);
	if (!rs)
		return;
	r = fk_jfind(fk_jarr(rs, "rules"), "name", seg[S_NAME2]);
	if (!r) {
		fk_error_arm(resp, req, 404, "NotFound", "The rule was not found.");
		return;
	}
	struct json_object *o = rule_json(seg, fk_jstr(rs, "name"), r);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

/* The set with rule `name` replaced by (or added as) r; NULL with msg when invalid. */
static struct json_object *set_with(struct json_object *rules, const char *name,
				    struct json_object *r, char *msg, size_t n)
{
	struct json_object *out = json_object_new_array();
	bool placed = false;
	for (size_t i = 0; rules && i < json_object_array_length(rules); i++) {
		struct json_object *x = json_object_array_get_idx(rules, i);
		bool same = !strcasecmp(fk_jstr(x, "name") ? fk_jstr(x, "name") : "", name);
		if (same && r)
			json_object_array_add(out, json_object_get(r));
		else if (!same)
			json_object_array_add(out, json_object_get(x));
		placed |= same;
	}
	if (!placed && r)
		json_object_array_add(out, json_object_get(r));
	if (check_set(out, false, msg, n) < 0) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

static void h_rule_put(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		       struct fk_resp *resp)
{
	struct json_object *prof, *rs = plain_set(app, req, seg, resp, &prof), *body, *bp, *next;
	char msg[MSG_MAX];
	bool caching;
	CF_UNUSED(nseg);
	if (!rs)
		return;
	body = fk_req_json(req);
	bp = fk_jobj(body, "properties");
	if (!bp || check_rule(bp, &caching, msg, sizeof(msg)) < 0) {
		fk_error_arm(resp, req, 400, "BadRequest",
			     bp ? msg : "The body has no properties.");
		json_object_put(body);
		return;
	}
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "name", json_object_new_string(seg[S_NAME2]));
	json_object_object_add(r, "properties", json_object_get(bp));
	next = set_with(fk_jarr(rs, "rules"), seg[S_NAME2], r, msg, sizeof(msg));
	if (!next) {
		fk_error_arm(resp, req, 400, "BadRequest", msg);
	} else if (global_op_start(app, prof, req, resp)) {
		json_object_object_add(rs, "rules", next);
		next = NULL;
		struct json_object *o = rule_json(seg, fk_jstr(rs, "name"), r);
		fk_resp_json(resp, 202, o);
		json_object_put(o);
		op_headers(app, req, seg, resp);
	}
	json_object_put(next);
	json_object_put(r);
	json_object_put(body);
}

/* Rules_Update: PATCH merges the members sent into the rule's properties. */
static void h_rule_patch(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp)
{
	struct json_object *prof, *rs = plain_set(app, req, seg, resp, &prof), *body, *bp, *r;
	CF_UNUSED(nseg);
	if (!rs)
		return;
	r = fk_jfind(fk_jarr(rs, "rules"), "name", seg[S_NAME2]);
	if (!r) {
		fk_error_arm(resp, req, 404, "NotFound", "The rule was not found.");
		return;
	}
	body = fk_req_json(req);
	bp = fk_jobj(body, "properties");
	struct json_object *merged = NULL;
	if (bp && json_object_deep_copy(fk_jobj(r, "properties"), &merged, NULL) == 0) {
		json_object_object_foreach(bp, k, v)
		{
			json_object_object_add(merged, k, json_object_get(v));
		}
		struct json_object *put = json_object_new_object();
		json_object_object_add(put, "properties", merged);
		char *text = fk_json_text(put);
		struct fk_req copy = *req;
		copy.body = text;
		copy.body_len = strlen(text);
		json_object_put(put);
		json_object_put(body);
		h_rule_put(app, &copy, seg, nseg, resp);
		free(text);
		return;
	}
	fk_error_arm(resp, req, 400, "BadRequest", "The body has no properties.");
	json_object_put(body);
}

static void h_rule_delete(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			  struct fk_resp *resp)
{
	struct json_object *prof, *rs = plain_set(app, req, seg, resp, &prof), *next;
	char msg[MSG_MAX];
	CF_UNUSED(nseg);
	if (!rs)
		return;
	if (!fk_jfind(fk_jarr(rs, "rules"), "name", seg[S_NAME2])) {
		fk_resp_text(resp, 204, NULL, NULL);
		return;
	}
	next = set_with(fk_jarr(rs, "rules"), seg[S_NAME2], NULL, msg, sizeof(msg));
	if (next && global_op_start(app, prof, req, resp)) {
		json_object_object_add(rs, "rules", next);
		next = NULL;
		fk_resp_text(resp, 202, NULL, NULL);
		op_headers(app, req, seg, resp);
	}
	json_object_put(next);
}

/* ---- purge, usages, migration check ---- */

/* A purge is a global operation too, but it queues behind the running one instead of being
 * refused (D-FAQ: "later operations queue until the previous one finishes"). The task keeps
 * what it purges, so the edge evicts when it completes (fk_edge_task_done). */
static void purge_queued(struct fk_app *app, struct json_object *prof, const struct fk_req *req,
			 const char **seg, struct json_object *body, struct fk_resp *resp)
{
	int64_t start = fk_jint(prof, "busy_until_ms", 0);
	if (start < req->now_ms)
		start = req->now_ms;
	int64_t due = start + app->knobs.afd_op_ms;
	json_object_object_add(prof, "busy_until_ms", json_object_new_int64(due));
	fk_resp_text(resp, 202, NULL, NULL);
	struct json_object *t = op_headers(app, req, seg, resp);
	json_object_object_add(t, "due_ms", json_object_new_int64(due));
	json_object_object_add(t, "resource_group", json_object_new_string(seg[S_RG]));
	json_object_object_add(t, "profile", json_object_new_string(seg[S_PROF]));
	json_object_object_add(t, "endpoint", json_object_new_string(seg[S_NAME]));
	json_object_object_add(t, "paths", json_object_get(fk_jarr(body, "contentPaths")));
	if (fk_jarr(body, "domains"))
		json_object_object_add(t, "domains", json_object_get(fk_jarr(body, "domains")));
}

static void h_purge(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		    struct fk_resp *resp)
{
	struct json_object *prof = begin_profile(app, req, seg, resp), *body, *paths;
	CF_UNUSED(nseg);
	if (!prof)
		return;
	body = fk_req_json(req);
	paths = fk_jarr(body, "contentPaths");
	size_t n = paths ? json_object_array_length(paths) : 0;
	bool ok = n > 0 && n <= AFD_PURGE_PATHS;
	for (size_t i = 0; ok && i < n; i++) {
		const char *p = json_object_get_string(json_object_array_get_idx(paths, i));
		ok = p && p[0] == '/';
	}
	if (!find_in(app, seg, "afdEndpoints", seg[S_NAME]))
		fk_error_arm(resp, req, 404, "NotFound", "The endpoint was not found.");
	else if (!ok)
		fk_error_arm(resp, req, 400, "BadRequest",
			     "Property 'contentPaths' must hold 1 to 100 paths, each starting "
			     "with '/'.");
	else
		purge_queued(app, prof, req, seg, body, resp);
	json_object_put(body);
}

static void usage(struct fk_resp *resp, const char *name, int64_t cur, int64_t limit)
{
	struct json_object *o = json_object_new_object(), *v = json_object_new_array();
	struct json_object *u = json_object_new_object(), *nm = json_object_new_object();
	json_object_object_add(u, "unit", json_object_new_string("Count"));
	json_object_object_add(u, "currentValue", json_object_new_int64(cur));
	json_object_object_add(u, "limit", json_object_new_int64(limit));
	json_object_object_add(nm, "value", json_object_new_string(name));
	json_object_object_add(nm, "localizedValue", json_object_new_string(name));
	json_object_object_add(u, "name", nm);
	json_object_array_add(v, u);
	json_object_object_add(o, "value", v);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

/* What a usages call counts: the rules of a rule set, the routes of an endpoint. */
static const struct usage_kind {
	const char *kind;  /* the collection in the path (seg[S_KIND]) */
	const char *items; /* the member array counted */
	const char *unit;  /* the usage's name */
	const char *missing;
	int64_t limit;
} usage_kinds[] = {
    {"ruleSets", "rules", "rule", "The rule set was not found.", AFD_RULES_PER_SET},
    {"afdEndpoints", "routes", "route", "The endpoint was not found.", AFD_RULE_SETS_STANDARD},
};

/* RuleSets_ListResourceUsage and AFDEndpoints_ListResourceUsage. */
static void h_usages(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		     struct fk_resp *resp)
{
	struct json_object *prof = begin_profile(app, req, seg, resp), *it;
	const struct usage_kind *k = &usage_kinds[0];
	CF_UNUSED(nseg);
	if (!prof)
		return;
	for (size_t i = 0; i < CF_ARRAY_LEN(usage_kinds); i++)
		if (strcasecmp(seg[S_KIND], usage_kinds[i].kind) == 0)
			k = &usage_kinds[i];
	it = find_in(app, seg, k->kind, seg[S_NAME]);
	if (!it)
		fk_error_arm(resp, req, 404, "NotFound", k->missing);
	else
		usage(resp, k->unit,
		      (int64_t)json_object_array_length(fk_jarr_ensure(it, k->items)), k->limit);
}

/* Profiles_CdnCanMigrateToAfd: for classic profiles (fk_azure.c's endpoints). */
static void h_can_migrate(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			  struct fk_resp *resp)
{
	CF_UNUSED(nseg);
	if (!fk_azure_begin(app, req, seg[S_SUB], resp))
		return;
	if (find_profile(app, seg)) {
		fk_error_arm(resp, req, 400, "BadRequest",
			     "That action isn\u2019t allowed in this profile.");
		return;
	}
	struct json_object *ep = fk_azure_find_profile(app, seg[S_SUB], seg[S_RG], seg[S_PROF]);
	if (!ep) {
		fk_error_arm(resp, req, 404, "ResourceNotFound", "The profile was not found.");
		return;
	}
	bool can = fk_jbool(ep, "can_migrate", true);
	struct json_object *o = json_object_new_object(), *p = json_object_new_object();
	json_object_object_add(o, "type",
			       json_object_new_string("Microsoft.Cdn/profiles/canmigrate"));
	json_object_object_add(p, "canMigrate", json_object_new_boolean(can));
	json_object_object_add(p, "defaultSku", json_object_new_string("Standard_AzureFrontDoor"));
	if (can) {
		json_object_object_add(p, "errors", NULL);
	} else {
		struct json_object *errs = json_object_new_array(), *e1 = json_object_new_object();
		json_object_object_add(e1, "code", json_object_new_string("MigrationBlocked"));
		json_object_object_add(e1, "resourceName",
				       json_object_new_string(fk_jstr(ep, "name")));
		json_object_object_add(
		    e1, "errorMessage",
		    json_object_new_string(
			"The endpoint uses a feature Front Door does not have."));
		json_object_object_add(e1, "nextSteps",
				       json_object_new_string("Remove the feature and retry."));
		json_object_array_add(errs, e1);
		json_object_object_add(p, "errors", errs);
	}
	json_object_object_add(o, "properties", p);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

#define P "subscriptions/*/resourceGroups/*/providers/Microsoft.Cdn/profiles/*"
const struct fk_route fk_afd_routes[] = {
    {"GET", P "/afdEndpoints/*/routes/*", "afd_read_route", h_route_get},
    {"PATCH", P "/afdEndpoints/*/routes/*", "afd_write_route", h_route_patch},
    {"POST", P "/afdEndpoints/*/purge", "afd_purge", h_purge},
    {"POST", P "/afdEndpoints/*/usages", "afd_usages", h_usages},
    {"GET", P "/ruleSets/*", "afd_read_ruleset", h_set_get},
    {"PUT", P "/ruleSets/*", "afd_write_ruleset", h_set_put},
    {"DELETE", P "/ruleSets/*", "afd_delete_ruleset", h_set_delete},
    {"POST", P "/ruleSets/*/usages", "afd_usages", h_usages},
    {"GET", P "/ruleSets/*/rules", "afd_read_rules", h_rules_list},
    {"GET", P "/ruleSets/*/rules/*", "afd_read_rule", h_rule_get},
    {"PUT", P "/ruleSets/*/rules/*", "afd_write_rule", h_rule_put},
    {"PATCH", P "/ruleSets/*/rules/*", "afd_write_rule", h_rule_patch},
    {"DELETE", P "/ruleSets/*/rules/*", "afd_delete_rule", h_rule_delete},
    {"POST", P "/cdnCanMigrateToAfd", "afd_can_migrate", h_can_migrate},
    {"POST", P "/cdnMigrateToAfd", "afd_migrate", fk_migrate_h_arm},
    {"POST", P "/migrationCommit", "afd_migration_commit", fk_migrate_h_commit},
};
const size_t fk_afd_nroutes = CF_ARRAY_LEN(fk_afd_routes);
