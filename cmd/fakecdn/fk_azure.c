#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_azure.h"
#include "cmd/fakecdn/fk_index.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <regex.h>
#include <strings.h>

#define MAX_RULES	  25
#define MAX_CONDITIONS	  10
#define MAX_ACTIONS	  5
#define MAX_CONTENT_PATHS 100
#define MAX_LOAD_PATH	  1024
#define MAX_TOKENS	  10000
#define ODATA_PREFIX	  "#Microsoft.Azure.Cdn.Models."
#define TYPENAME_SINCE	  "2022-05-01"
#define ARM_SCOPE_SUFFIX  "/.default"
#define MSG_MAX		  512
#define URL_MAX		  2048
#define DURATION_RE	  "^([0-9]+\\.)?([0-1][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
#define RULE_NAME_RE	  "^[a-zA-Z][a-zA-Z0-9]*$"
#define LOAD_PATH_RE	  "^(/[-a-zA-Z0-9_.%= ]+)+(\\?[-_a-zA-Z0-9/%:;=!,.+'& ]*)?$"
#define MS_PER_S	  1000

/* Discriminator of each supported condition and action name. */
static const char *const type_names[][2] = {
    {"UrlPath", "DeliveryRuleUrlPathMatchConditionParameters"},
    {"UrlFileExtension", "DeliveryRuleUrlFileExtensionMatchConditionParameters"},
    {"UrlFileName", "DeliveryRuleUrlFilenameConditionParameters"},
    {"RequestMethod", "DeliveryRuleRequestMethodConditionParameters"},
    {"RemoteAddress", "DeliveryRuleRemoteAddressConditionParameters"},
    {"QueryString", "DeliveryRuleQueryStringConditionParameters"},
    {"RequestHeader", "DeliveryRuleRequestHeaderConditionParameters"},
    {"RequestScheme", "DeliveryRuleRequestSchemeConditionParameters"},
    {"RequestUri", "DeliveryRuleRequestUriConditionParameters"},
    {"IsDevice", "DeliveryRuleIsDeviceConditionParameters"},
    {"Cookies", "DeliveryRuleCookiesConditionParameters"},
    {"PostArgs", "DeliveryRulePostArgsConditionParameters"},
    {"HttpVersion", "DeliveryRuleHttpVersionConditionParameters"},
    {"RequestBody", "DeliveryRuleRequestBodyConditionParameters"},
    {"CacheExpiration", "DeliveryRuleCacheExpirationActionParameters"},
    {"CacheKeyQueryString", "DeliveryRuleCacheKeyQueryStringBehaviorActionParameters"},
    {"ModifyRequestHeader", "DeliveryRuleHeaderActionParameters"},
    {"ModifyResponseHeader", "DeliveryRuleHeaderActionParameters"},
    {"UrlRedirect", "DeliveryRuleUrlRedirectActionParameters"},
    {"UrlRewrite", "DeliveryRuleUrlRewriteActionParameters"},
};

static const char *const patchable[] = {
    "originPath",
    "contentTypesToCompress",
    "originHostHeader",
    "isCompressionEnabled",
    "isHttpAllowed",
    "isHttpsAllowed",
    "queryStringCachingBehavior",
    "optimizationType",
    "probePath",
    "geoFilters",
    "defaultOriginGroup",
    "urlSigningKeys",
    "deliveryPolicy",
    "webApplicationFirewallPolicyLink",
};

static bool regex_ok(const char *re, const char *s)
{
	regex_t rx;
	bool ok;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* ---- state lookups ---- */

static struct json_object *arm_subs(struct fk_app *app)
{
	return fk_jarr(fk_jobj(app->state, "azure"), "subscriptions");
}

/*
 * ARM endpoints by name (fk_index.c). Keys: 's' sub, rg, profile, name (one subscription),
 * 'a' rg, profile, name (any subscription) and 'p' sub, rg, profile (a profile's first
 * endpoint); the first endpoint in state order wins, as the scan's did. Built at start
 * (fk_azure_index_build) and on first use after a drop; the state's endpoints are never added
 * while it lives, and whatever removes them (fk_app_reset(), fk_app_release(), a migration's
 * commit) drops the index.
 */
static struct fk_index *arm_index(struct fk_app *app)
{
	if (app->arm_index)
		return app->arm_index;
	struct fk_index *ix = fk_index_new();
	struct json_object *subs = arm_subs(app);
	for (size_t i = 0, n = subs ? json_object_array_length(subs) : 0; i < n; i++) {
		struct json_object *sub = json_object_array_get_idx(subs, i);
		struct json_object *eps = fk_jarr(sub, "endpoints");
		const char *sid = fk_jstr(sub, "id") ? fk_jstr(sub, "id") : "";
		for (size_t j = 0, m = eps ? json_object_array_length(eps) : 0; j < m; j++) {
			struct json_object *ep = json_object_array_get_idx(eps, j);
			const char *r = fk_jstr(ep, "resource_group"), *p = fk_jstr(ep, "profile");
			const char *e = fk_jstr(ep, "name");
			const char *one[] = {sid, r, p, e}, *any[] = {r, p, e},
				   *prof[] = {sid, r, p};
			fk_index_add(ix, 's', one, CF_ARRAY_LEN(one), ep);
			fk_index_add(ix, 'a', any, CF_ARRAY_LEN(any), ep);
			fk_index_add(ix, 'p', prof, CF_ARRAY_LEN(prof), ep);
		}
	}
	app->arm_index = ix;
	return ix;
}

void fk_azure_index_build(struct fk_app *app)
{
	(void)arm_index(app);
}

void fk_azure_index_drop(struct fk_app *app)
{
	fk_index_free(app->arm_index);
	app->arm_index = NULL;
}

static struct json_object *index_find(struct fk_app *app, char k, const char *const *parts,
				      size_t n)
{
	return fk_index_find(arm_index(app), k, parts, n);
}

struct json_object *fk_azure_find_endpoint(struct fk_app *app, const char *sub_id, const char *rg,
					   const char *profile, const char *name)
{
	const char *one[] = {sub_id, rg, profile, name}, *any[] = {rg, profile, name};
	return sub_id ? index_find(app, 's', one, CF_ARRAY_LEN(one))
		      : index_find(app, 'a', any, CF_ARRAY_LEN(any));
}

/* ---- delivery policy validation ---- */

static const char *expected_type(const char *name)
{
	for (size_t i = 0; name && i < CF_ARRAY_LEN(type_names); i++)
		if (strcmp(type_names[i][0], name) == 0)
			return type_names[i][1];
	return NULL;
}

/* Moves "@odata.type" (either spelling) to "typeName" and checks it against the name. */
static int normalize_params(struct json_object *item, const char *what, char *msg, size_t msgsz)
{
	const char *name = fk_jstr(item, "name"), *want = expected_type(name);
	struct json_object *p = fk_jobj(item, "parameters");
	const char *odata = fk_jstr(p, "@odata.type"), *tn = fk_jstr(p, "typeName");

	if (!name || !want)
		return snprintf(msg, msgsz, "The %s name '%s' is not supported.", what,
				name ? name : "(missing)"),
		       -1;
	if (!p)
		return snprintf(msg, msgsz, "The %s '%s' has no parameters.", what, name), -1;
	if (!tn && odata) {
		const char *t = odata + (odata[0] == '#');

		if (strncmp(t, ODATA_PREFIX + 1, strlen(ODATA_PREFIX) - 1) == 0)
			t += strlen(ODATA_PREFIX) - 1;
		json_object_object_add(p, "typeName", json_object_new_string(t));
		tn = fk_jstr(p, "typeName");
	}
	json_object_object_del(p, "@odata.type");
	if (!tn || strcmp(tn, want) != 0)
		return snprintf(msg, msgsz, "The %s '%s' must have typeName '%s'.", what, name,
				want),
		       -1;
	return 0;
}

static int check_cache_expiration(struct json_object *p, char *msg, size_t msgsz)
{
	static const char *const behaviors[] = {"BypassCache", "Override", "SetIfMissing"};
	const char *b = fk_jstr(p, "cacheBehavior"), *t = fk_jstr(p, "cacheType");
	const char *d = fk_jstr(p, "cacheDuration");
	struct json_object *dv = NULL;

	if (!in_list(b, behaviors, CF_ARRAY_LEN(behaviors)))
		return snprintf(msg, msgsz,
				"cacheBehavior must be BypassCache, Override or SetIfMissing."),
		       -1;
	if (!t || strcmp(t, "All") != 0)
		return snprintf(msg, msgsz, "cacheType must be 'All'."), -1;
	json_object_object_get_ex(p, "cacheDuration", &dv);
	if (strcmp(b, "BypassCache") == 0 && dv && !json_object_is_type(dv, json_type_null))
		return snprintf(msg, msgsz,
				"cacheDuration must not be set when cacheBehavior is BypassCache."),
		       -1;
	if (strcmp(b, "BypassCache") != 0 && (!d || !regex_ok(DURATION_RE, d)))
		return snprintf(msg, msgsz,
				"cacheDuration '%s' is not a valid duration ([d.]hh:mm:ss).",
				d ? d : "(missing)"),
		       -1;
	return 0;
}

static int check_condition(struct json_object *c, char *msg, size_t msgsz)
{
	static const char *const path_ops[] = {
	    "Any",	"Equal",	   "Contains",	  "BeginsWith",		"EndsWith",
	    "LessThan", "LessThanOrEqual", "GreaterThan", "GreaterThanOrEqual", "Wildcard",
	    "RegEx"};
	struct json_object *p;
	const char *name, *op;
	size_t nops = CF_ARRAY_LEN(path_ops);

	if (!json_object_is_type(c, json_type_object) ||
	    normalize_params(c, "condition", msg, msgsz) < 0)
		return msg[0] ? -1 : (snprintf(msg, msgsz, "A condition is not an object."), -1);
	p = fk_jobj(c, "parameters");
	name = fk_jstr(c, "name");
	op = fk_jstr(p, "operator");
	if (!op)
		return snprintf(msg, msgsz, "The condition '%s' has no operator.", name), -1;
	/* UrlFileExtension takes the UrlPath operators except Wildcard (the last one). */
	if (strcmp(name, "UrlFileExtension") == 0)
		nops -= 2;
	if ((strcmp(name, "UrlPath") == 0 || strcmp(name, "UrlFileExtension") == 0) &&
	    !in_list(op, path_ops, nops) && strcmp(op, "RegEx") != 0)
		return snprintf(msg, msgsz, "The operator '%s' is not valid for '%s'.", op, name),
		       -1;
	if (!fk_jarr(p, "transforms"))
		json_object_object_add(p, "transforms", json_object_new_array());
	return 0;
}

static int check_action(struct json_object *a, char *msg, size_t msgsz)
{
	if (!json_object_is_type(a, json_type_object))
		return snprintf(msg, msgsz, "An action is not an object."), -1;
	if (normalize_params(a, "action", msg, msgsz) < 0)
		return -1;
	if (strcmp(fk_jstr(a, "name"), "CacheExpiration") == 0)
		return check_cache_expiration(fk_jobj(a, "parameters"), msg, msgsz);
	return 0;
}

static int check_rule(struct json_object *r, int64_t *order, char *msg, size_t msgsz)
{
	struct json_object *acts = fk_jarr(r, "actions"), *conds = fk_jarr(r, "conditions");
	struct json_object *ov;
	const char *name = fk_jstr(r, "name");
	size_t na = acts ? json_object_array_length(acts) : 0;
	size_t nc = conds ? json_object_array_length(conds) : 0;

	if (!json_object_is_type(r, json_type_object) ||
	    !json_object_object_get_ex(r, "order", &ov) ||
	    !json_object_is_type(ov, json_type_int) || json_object_get_int64(ov) < 0)
		return snprintf(msg, msgsz,
				"Every delivery rule needs a non-negative integer order."),
		       -1;
	*order = json_object_get_int64(ov);
	if (name && !regex_ok(RULE_NAME_RE, name))
		return snprintf(msg, msgsz,
				"The rule name '%s' must start with a letter and contain only "
				"letters and numbers.",
				name),
		       -1;
	if (na == 0 || na > MAX_ACTIONS)
		return snprintf(msg, msgsz, "A delivery rule must have between 1 and %d actions.",
				MAX_ACTIONS),
		       -1;
	if (nc > MAX_CONDITIONS)
		return snprintf(msg, msgsz, "A delivery rule can have at most %d conditions.",
				MAX_CONDITIONS),
		       -1;
	if (*order == 0 && nc > 0)
		return snprintf(msg, msgsz,
				"The global delivery rule (order 0) cannot have conditions."),
		       -1;
	for (size_t i = 0; i < nc; i++)
		if (check_condition(json_object_array_get_idx(conds, i), msg, msgsz) < 0)
			return -1;
	for (size_t i = 0; i < na; i++)
		if (check_action(json_object_array_get_idx(acts, i), msg, msgsz) < 0)
			return -1;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Validates and normalises pol in place (it is a private copy). */
static int check_policy(struct json_object *pol, char *msg, size_t msgsz)
{
	struct json_object *rules = fk_jarr(pol, "rules");
	size_t n = rules ? json_object_array_length(rules) : 0;
	int64_t orders[MAX_RULES];

	if (json_object_is_type(pol, json_type_null))
		return 0;
	if (!rules)
		return snprintf(msg, msgsz, "deliveryPolicy.rules is required."), -1;
	if (n > MAX_RULES)
		return snprintf(msg, msgsz,
				"An endpoint can have at most %d delivery rules; %zu were given.",
				MAX_RULES, n),
		       -1;
	for (size_t i = 0; i < n; i++)
		if (check_rule(json_object_array_get_idx(rules, i), &orders[i], msg, msgsz) < 0)
			return -1;
	qsort(orders, n, sizeof(orders[0]), cmp_i64);
	for (size_t i = 0; i < n; i++)
		if (orders[i] != orders[0] + (int64_t)i || orders[0] > 1)
			return snprintf(msg, msgsz,
					"The delivery rules order values must start from 0 (if "
					"using a base rule) or 1 and be consecutive."),
			       -1;
	return 0;
}

static int check_properties(struct json_object *props, char *msg, size_t msgsz)
{
	static const char *const qs[] = {"IgnoreQueryString", "BypassCaching", "UseQueryString",
					 "NotSet"};
	struct json_object *v;

	if (json_object_object_get_ex(props, "queryStringCachingBehavior", &v) &&
	    !in_list(json_object_get_string(v), qs, CF_ARRAY_LEN(qs)))
		return snprintf(msg, msgsz,
				"queryStringCachingBehavior must be one of IgnoreQueryString, "
				"BypassCaching, UseQueryString, NotSet."),
		       -1;
	if (json_object_object_get_ex(props, "deliveryPolicy", &v))
		return check_policy(v, msg, msgsz);
	return 0;
}

int fk_azure_patch(struct json_object *ep, struct json_object *body, char *msg, size_t msgsz)
{
	struct json_object *copy = NULL, *props, *tags, *dst;
	int rc = -1;

	msg[0] = '\0';
	if (!body || !json_object_is_type(body, json_type_object)) {
		snprintf(msg, msgsz, "The request body must be a JSON object.");
		return -1;
	}
	/* Validate a private copy so a rejected PATCH leaves the endpoint untouched. */
	json_object_deep_copy(body, &copy, NULL);
	props = fk_jobj(copy, "properties");
	tags = fk_jobj(copy, "tags");
	if (props && check_properties(props, msg, msgsz) < 0)
		goto out;
	if (tags)
		json_object_object_add(ep, "tags", json_object_get(tags));
	dst = fk_jobj(ep, "properties");
	if (!dst) {
		dst = json_object_new_object();
		json_object_object_add(ep, "properties", dst);
	}
	for (size_t i = 0; props && i < CF_ARRAY_LEN(patchable); i++) {
		struct json_object *v;

		if (json_object_object_get_ex(props, patchable[i], &v))
			json_object_object_add(dst, patchable[i], json_object_get(v));
	}
	rc = 0;
out:
	json_object_put(copy);
	return rc;
}

/* ---- tokens ---- */

static char *form_value(const char *body, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = body; *p;) {
		size_t len = strcspn(p, "&");

		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
			return fk_url_decode(p + nl + 1, len - nl - 1, true);
		p += len;
		if (*p == '&')
			p++;
	}
	return NULL;
}

/* Client credentials from the form or from HTTP Basic (RFC 6749 §2.3.1). */
static void client_creds(const struct fk_req *req, char **id, char **secret)
{
	const char *auth = fk_req_header(req, "Authorization");
	unsigned char *dec;
	size_t n = 0;
	char *colon;

	*id = form_value(req->body, "client_id");
	*secret = form_value(req->body, "client_secret");
	if (*secret || !auth || strncasecmp(auth, "Basic ", 6) != 0)
		return;
	dec = fk_b64_decode(auth + 6, &n);
	colon = dec ? strchr((char *)dec, ':') : NULL;
	if (colon) {
		*colon = '\0';
		free(*id);
		*id = fk_url_decode((char *)dec, strlen((char *)dec), true);
		*secret = fk_url_decode(colon + 1, strlen(colon + 1), true);
	}
	free(dec);
}

static void issue_token(struct fk_app *app, const struct fk_req *req, const char *tenant, bool v2,
			const char *resource, struct fk_resp *resp)
{
	struct json_object *o = json_object_new_object();
	struct fk_token *t;
	int64_t exp_s = app->knobs.token_expiry_s, now_s = req->now_ms / MS_PER_S;
	char num[32];
	size_t keep = 0;

	for (size_t i = 0; i < app->ntokens; i++) {
		if (app->tokens[i].expires_ms > req->now_ms && app->ntokens - i < MAX_TOKENS)
			app->tokens[keep++] = app->tokens[i];
		else
			free(app->tokens[i].tenant);
	}
	app->ntokens = keep;
	xgrow(&app->tokens, &app->tokens_cap, app->ntokens + 1, sizeof(*app->tokens));
	t = &app->tokens[app->ntokens++];
	fk_random_hex(FK_TOKEN_HEX / 2, t->token);
	t->tenant = xstrdup(tenant);
	t->expires_ms = req->now_ms + exp_s * MS_PER_S;
	json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
	if (v2) {
		json_object_object_add(o, "expires_in", json_object_new_int64(exp_s));
		json_object_object_add(o, "ext_expires_in", json_object_new_int64(exp_s));
	} else {
		snprintf(num, sizeof(num), "%lld", (long long)exp_s);
		json_object_object_add(o, "expires_in", json_object_new_string(num));
		json_object_object_add(o, "ext_expires_in", json_object_new_string(num));
		snprintf(num, sizeof(num), "%lld", (long long)(now_s + exp_s));
		json_object_object_add(o, "expires_on", json_object_new_string(num));
		snprintf(num, sizeof(num), "%lld", (long long)now_s);
		json_object_object_add(o, "not_before", json_object_new_string(num));
		json_object_object_add(o, "resource", json_object_new_string(resource));
	}
	json_object_object_add(o, "access_token", json_object_new_string(t->token));
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

struct token_form {
	char *grant, *scope, *resource, *id, *secret;
};

static void form_release(struct token_form *f)
{
	free(f->grant);
	free(f->scope);
	free(f->resource);
	free(f->id);
	free(f->secret);
}

/* Returns true when the form is acceptable, else fills resp with the AADSTS error. */
static bool check_form(struct fk_app *app, const struct token_form *f, const char *tenant, bool v2,
		       struct fk_resp *resp)
{
	struct json_object *tenants = fk_jarr(fk_jobj(app->state, "azure"), "tenants");
	struct json_object *ten = fk_jfind(tenants, "id", tenant);
	struct json_object *client = fk_jfind(fk_jarr(ten, "clients"), "client_id", f->id);
	const char *secret = fk_jstr(client, "client_secret"), *code = "invalid_request";
	size_t sl = f->scope ? strlen(f->scope) : 0, xl = strlen(ARM_SCOPE_SUFFIX);
	char msg[MSG_MAX];

	if (!ten) {
		snprintf(msg, sizeof(msg), "AADSTS90002: Tenant '%s' not found.", tenant);
	} else if (!f->grant || strcmp(f->grant, "client_credentials") != 0) {
		code = "unsupported_grant_type";
		snprintf(msg, sizeof(msg),
			 "AADSTS70003: The app requested an unsupported grant type '%s'.",
			 f->grant ? f->grant : "");
	} else if (!f->id) {
		snprintf(msg, sizeof(msg),
			 "AADSTS900144: The request body must contain the following parameter: "
			 "'client_id'.");
	} else if (v2 && (sl < xl || strcmp(f->scope + sl - xl, ARM_SCOPE_SUFFIX) != 0)) {
		code = "invalid_scope";
		snprintf(msg, sizeof(msg),
			 "AADSTS70011: The provided value for the input parameter 'scope' is not "
			 "valid.");
	} else if (!v2 && !f->resource) {
		snprintf(msg, sizeof(msg),
			 "AADSTS900144: The request body must contain the following parameter: "
			 "'resource'.");
	} else if (!client) {
		code = "unauthorized_client";
		snprintf(msg, sizeof(msg),
			 "AADSTS700016: Application with identifier '%s' was not found in the "
			 "directory '%s'.",
			 f->id, tenant);
	} else if (!f->secret || !secret || !fk_secure_equal(secret, f->secret)) {
		fk_error_token(resp, 401, "invalid_client",
			       "AADSTS7000215: Invalid client secret provided.");
		return false;
	} else {
		return true;
	}
	fk_error_token(resp, 400, code, msg);
	return false;
}

static void token_common(struct fk_app *app, const struct fk_req *req, const char *tenant, bool v2,
			 struct fk_resp *resp)
{
	const char *ct = fk_req_header(req, "Content-Type");
	struct token_form f;

	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		fk_error_token(resp, 400, "invalid_request",
			       "AADSTS900144: The request body must be form-encoded.");
		return;
	}
	f.grant = form_value(req->body, "grant_type");
	f.scope = form_value(req->body, "scope");
	f.resource = form_value(req->body, "resource");
	client_creds(req, &f.id, &f.secret);
	if (check_form(app, &f, tenant, v2, resp)) {
		resp->auth = true;
		issue_token(app, req, tenant, v2, f.resource ? f.resource : "", resp);
	}
	form_release(&f);
}

static void h_token_v2(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		       struct fk_resp *resp)
{
	CF_UNUSED(nseg);
	token_common(app, req, seg[0], true, resp);
}

static void h_token_v1(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		       struct fk_resp *resp)
{
	CF_UNUSED(nseg);
	token_common(app, req, seg[0], false, resp);
}

/* ---- ARM requests ---- */

static void auth_fail(struct fk_resp *resp, const struct fk_req *req, const char *code,
		      const char *msg)
{
	char hdr[MSG_MAX];

	fk_error_arm(resp, req, 401, code, msg);
	snprintf(hdr, sizeof(hdr),
		 "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", "
		 "error=\"invalid_token\", error_description=\"%s\"",
		 msg);
	fk_resp_header(resp, "WWW-Authenticate", hdr);
}

/* Bearer token, api-version and subscription; returns the subscription or NULL. */
static struct json_object *begin(struct fk_app *app, const struct fk_req *req, const char *sub_id,
				 struct fk_resp *resp)
{
	const char *auth = fk_req_header(req, "Authorization");
	struct json_object *sub = fk_jfind(arm_subs(app), "id", sub_id);
	const struct fk_token *tok = NULL;
	char msg[MSG_MAX];

	if (!auth || !*auth)
		return auth_fail(resp, req, "AuthenticationFailed",
				 "Authentication failed. The 'Authorization' header is missing."),
		       NULL;
	if (strncasecmp(auth, "Bearer ", 7) != 0)
		return auth_fail(resp, req, "AuthenticationFailed",
				 "Authentication failed. The 'Authorization' header is not a "
				 "bearer token."),
		       NULL;
	for (size_t i = 0; i < app->ntokens && !tok; i++)
		if (fk_secure_equal(app->tokens[i].token, auth + 7))
			tok = &app->tokens[i];
	if (!tok)
		return auth_fail(resp, req, "InvalidAuthenticationToken",
				 "The access token is invalid."),
		       NULL;
	if (tok->expires_ms <= req->now_ms)
		return auth_fail(resp, req, "ExpiredAuthenticationToken",
				 "The access token has expired."),
		       NULL;
	if (sub &&
	    strcasecmp(fk_jstr(sub, "tenant") ? fk_jstr(sub, "tenant") : "", tok->tenant) != 0)
		return auth_fail(resp, req, "InvalidAuthenticationTokenTenant",
				 "The access token is from the wrong issuer: the subscription "
				 "belongs to another tenant."),
		       NULL;
	resp->auth = true;
	if (app->knobs.arm_rate_per_minute > 0) {
		/* ARM meters the principal: one bucket for every ARM request (arm_* knobs) */
		int64_t left = 0, retry = 0;
		char num[32];
		if (!fk_bucket_take(&app->arm_bucket, app->knobs.arm_rate_per_minute,
				    app->knobs.arm_burst, req->now_ms, &left, &retry)) {
			snprintf(num, sizeof(num), "%lld", (long long)retry);
			fk_error_arm(resp, req, 429, "TooManyRequests", "Rate limit is exceeded.");
			fk_resp_header(resp, "Retry-After", num);
			return NULL;
		}
	}
	if (!fk_req_arg(req, "api-version"))
		return fk_error_arm(resp, req, 400, "MissingApiVersionParameter",
				    "The api-version query parameter (?api-version=) is required "
				    "for all requests."),
		       NULL;
	if (!sub) {
		snprintf(msg, sizeof(msg), "The subscription '%s' could not be found.", sub_id);
		return fk_error_arm(resp, req, 404, "SubscriptionNotFound", msg), NULL;
	}
	return sub;
}

/* seg: subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Cdn/profiles/{p}/endpoints/{e}
 */
static struct json_object *begin_endpoint(struct fk_app *app, const struct fk_req *req,
					  const char **seg, struct fk_resp *resp)
{
	struct json_object *sub = begin(app, req, seg[1], resp), *ep;
	char msg[MSG_MAX];

	if (!sub)
		return NULL;
	ep = fk_azure_find_endpoint(app, seg[1], seg[3], seg[7], seg[9]);
	if (ep)
		return ep;
	if (!fk_jfind(fk_jarr(sub, "endpoints"), "resource_group", seg[3])) {
		snprintf(msg, sizeof(msg), "Resource group '%s' could not be found.", seg[3]);
		fk_error_arm(resp, req, 404, "ResourceGroupNotFound", msg);
	} else {
		snprintf(msg, sizeof(msg),
			 "The Resource 'Microsoft.Cdn/profiles/%s/endpoints/%s' under resource "
			 "group '%s' was not found.",
			 seg[7], seg[9], seg[3]);
		fk_error_arm(resp, req, 404, "ResourceNotFound", msg);
	}
	return NULL;
}

/* Rewrites typeName into the old "@odata.type" form for api-versions that used it. */
static void old_discriminators(struct json_object *rules)
{
	size_t n = rules ? json_object_array_length(rules) : 0;
	static const char *const lists[] = {"conditions", "actions"};

	for (size_t i = 0; i < n; i++)
		for (size_t l = 0; l < CF_ARRAY_LEN(lists); l++) {
			struct json_object *arr =
			    fk_jarr(json_object_array_get_idx(rules, i), lists[l]);
			size_t m = arr ? json_object_array_length(arr) : 0;

			for (size_t j = 0; j < m; j++) {
				struct json_object *p =
				    fk_jobj(json_object_array_get_idx(arr, j), "parameters");
				const char *tn = fk_jstr(p, "typeName");
				char buf[256];

				if (!tn)
					continue;
				snprintf(buf, sizeof(buf), "%s%s", ODATA_PREFIX, tn);
				json_object_object_add(p, "@odata.type",
						       json_object_new_string(buf));
				json_object_object_del(p, "typeName");
			}
		}
}

static struct json_object *endpoint_json(const struct fk_req *req, const char *sub_id,
					 struct json_object *ep)
{
	struct json_object *o = json_object_new_object(), *props = NULL,
			   *tags = fk_jobj(ep, "tags");
	const char *v = fk_req_arg(req, "api-version"), *loc = fk_jstr(ep, "location");
	char id[URL_MAX];

	snprintf(
	    id, sizeof(id),
	    "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.Cdn/profiles/%s/endpoints/%s",
	    sub_id, fk_jstr(ep, "resource_group"), fk_jstr(ep, "profile"), fk_jstr(ep, "name"));
	/* The answer is serialised under the lock, before the state can change: it shares the
	 * stored properties, copied only to rewrite them (a copy per read was most of a GET). */
	if (!fk_jobj(ep, "properties")) {
		props = json_object_new_object();
	} else if (v && strcmp(v, TYPENAME_SINCE) < 0) {
		json_object_deep_copy(fk_jobj(ep, "properties"), &props, NULL);
		old_discriminators(fk_jarr(fk_jobj(props, "deliveryPolicy"), "rules"));
	} else {
		props = json_object_get(fk_jobj(ep, "properties"));
	}
	json_object_object_add(o, "name", json_object_new_string(fk_jstr(ep, "name")));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "type",
			       json_object_new_string("Microsoft.Cdn/profiles/endpoints"));
	json_object_object_add(o, "tags", tags ? json_object_get(tags) : json_object_new_object());
	json_object_object_add(o, "location", json_object_new_string(loc ? loc : "Global"));
	json_object_object_add(o, "properties", props);
	return o;
}

/* endpoint_json's text, written without building its tree: the wrapper's objects, a hash
 * table each, and their release were most of a GET. Same members in the same order. */
static void endpoint_body(struct fk_resp *resp, const struct fk_req *req, const char *sub_id,
			  struct json_object *ep)
{
	struct json_object *props = fk_jobj(ep, "properties"), *tags = fk_jobj(ep, "tags"), *o;
	const char *v = fk_req_arg(req, "api-version"), *loc = fk_jstr(ep, "location");
	struct fk_jw w = {NULL, 0, 0, false};
	char id[URL_MAX], *text;
	size_t len;

	if (!props || !v || strcmp(v, TYPENAME_SINCE) >= 0) {
		snprintf(id, sizeof(id),
			 "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.Cdn/profiles/%s/"
			 "endpoints/%s",
			 sub_id, fk_jstr(ep, "resource_group"), fk_jstr(ep, "profile"),
			 fk_jstr(ep, "name"));
		fk_jw_raw(&w, "{\"name\":");
		fk_jw_str(&w, fk_jstr(ep, "name"));
		fk_jw_raw(&w, ",\"id\":");
		fk_jw_str(&w, id);
		fk_jw_raw(&w, ",\"type\":\"Microsoft.Cdn/profiles/endpoints\",\"tags\":");
		if (tags)
			fk_jw_json(&w, tags);
		else
			fk_jw_raw(&w, "{}");
		fk_jw_raw(&w, ",\"location\":");
		fk_jw_str(&w, loc ? loc : "Global");
		fk_jw_raw(&w, ",\"properties\":");
		if (props)
			fk_jw_json(&w, props);
		else
			fk_jw_raw(&w, "{}");
		fk_jw_raw(&w, "}");
		text = fk_jw_finish(&w, &len);
		if (text) {
			fk_resp_json_text(resp, 200, text, len);
			return;
		}
	}
	o = endpoint_json(req, sub_id, ep);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

/* GET .../providers/Microsoft.Cdn/profiles: one classic (Standard_Microsoft) profile per
 * resource group and profile name the subscription's endpoints use. */
static void h_list_profiles(struct fk_app *app, const struct fk_req *req, const char **seg,
			    int nseg, struct fk_resp *resp)
{
	struct json_object *sub = begin(app, req, seg[1], resp), *value, *o, *eps;
	char id[URL_MAX];

	CF_UNUSED(nseg);
	if (!sub)
		return;
	value = json_object_new_array();
	eps = fk_jarr(sub, "endpoints");
	for (size_t i = 0, n = eps ? json_object_array_length(eps) : 0; i < n; i++) {
		struct json_object *ep = json_object_array_get_idx(eps, i), *p, *sku;
		bool seen = false;

		snprintf(id, sizeof(id),
			 "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.Cdn/profiles/%s",
			 seg[1], fk_jstr(ep, "resource_group"), fk_jstr(ep, "profile"));
		for (size_t j = 0; j < json_object_array_length(value) && !seen; j++)
			seen = !strcmp(fk_jstr(json_object_array_get_idx(value, j), "id"), id);
		if (seen)
			continue;
		p = json_object_new_object();
		sku = json_object_new_object();
		json_object_object_add(sku, "name", json_object_new_string("Standard_Microsoft"));
		json_object_object_add(p, "id", json_object_new_string(id));
		json_object_object_add(p, "name", json_object_new_string(fk_jstr(ep, "profile")));
		json_object_object_add(p, "type", json_object_new_string("Microsoft.Cdn/profiles"));
		json_object_object_add(p, "location", json_object_new_string("Global"));
		json_object_object_add(p, "sku", sku);
		json_object_array_add(value, p);
	}
	o = json_object_new_object();
	json_object_object_add(o, "value", value);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

/* GET .../profiles/{p}/endpoints: the profile's endpoints (404 for an unknown profile). */
static void h_list_endpoints(struct fk_app *app, const struct fk_req *req, const char **seg,
			     int nseg, struct fk_resp *resp)
{
	struct json_object *sub = begin(app, req, seg[1], resp), *value, *o, *eps;
	char msg[MSG_MAX];

	CF_UNUSED(nseg);
	if (!sub)
		return;
	value = json_object_new_array();
	eps = fk_jarr(sub, "endpoints");
	for (size_t i = 0, n = eps ? json_object_array_length(eps) : 0; i < n; i++) {
		struct json_object *ep = json_object_array_get_idx(eps, i);
		const char *r = fk_jstr(ep, "resource_group"), *p = fk_jstr(ep, "profile");

		if (r && p && !strcasecmp(r, seg[3]) && !strcasecmp(p, seg[7]))
			json_object_array_add(value, endpoint_json(req, seg[1], ep));
	}
	if (json_object_array_length(value) == 0) {
		json_object_put(value);
		snprintf(msg, sizeof(msg),
			 "The Resource 'Microsoft.Cdn/profiles/%s' under resource group '%s' was "
			 "not found.",
			 seg[7], seg[3]);
		fk_error_arm(resp, req, 404, "ResourceNotFound", msg);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "value", value);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

static void h_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		  struct fk_resp *resp)
{
	struct json_object *ep = begin_endpoint(app, req, seg, resp);

	CF_UNUSED(nseg);
	if (ep)
		endpoint_body(resp, req, seg[1], ep);
}

static void h_patch(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		    struct fk_resp *resp)
{
	struct json_object *ep = begin_endpoint(app, req, seg, resp), *body;
	char msg[MSG_MAX];

	CF_UNUSED(nseg);
	if (!ep)
		return;
	body = fk_req_json(req);
	if (fk_azure_patch(ep, body, msg, sizeof(msg)) < 0) {
		fk_error_arm(resp, req, 400, "BadRequest", msg);
	} else {
		fk_state_changed(app, resp);
		endpoint_body(resp, req, seg[1], ep);
	}
	json_object_put(body);
}

static bool purge_path_ok(const char *p)
{
	size_t len = strlen(p);
	const char *star = strchr(p, '*');

	if (p[0] != '/' || len > URL_MAX || strpbrk(p, "$\\ \t\r\n"))
		return false;
	/* One wildcard, only as the last segment: "/path/" followed by a star. */
	return !star || (star == p + len - 1 && star[-1] == '/');
}

static bool load_path_ok(const char *p)
{
	return strlen(p) <= MAX_LOAD_PATH && regex_ok(LOAD_PATH_RE, p);
}

static int check_paths(struct json_object *paths, bool load, char *msg, size_t msgsz)
{
	size_t n = paths ? json_object_array_length(paths) : 0;

	if (n == 0)
		return snprintf(msg, msgsz, "contentPaths is required and must not be empty."), -1;
	if (n > MAX_CONTENT_PATHS)
		return snprintf(msg, msgsz, "At most %d content paths are allowed per request.",
				MAX_CONTENT_PATHS),
		       -1;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(paths, i);
		const char *p = json_object_get_string(v);

		if (!json_object_is_type(v, json_type_string) ||
		    !(load ? load_path_ok(p) : purge_path_ok(p)))
			return snprintf(
				   msg, msgsz,
				   load ? "Invalid ContentPath \"%s\". ContentPath for load action "
					  "must be a relative path of a single file without "
					  "wildcards."
					: "Invalid ContentPath \"%s\". ContentPath for purge "
					  "action must be a relative path: either for a single "
					  "resource \"/path/pic.jpg\" or a wild card \"/path/*\".",
				   p),
			       -1;
	}
	return 0;
}

static void add_lro_headers(struct fk_app *app, struct fk_resp *resp, const struct fk_req *req,
			    const char **seg, const char *id)
{
	const char *host = fk_status_host(app, req), *v = fk_req_arg(req, "api-version");
	struct sb url;
	size_t base;

	sb_init(&url, 0);
	sb_addf(&url,
		"%s://%s/subscriptions/%s/resourcegroups/%s/providers/Microsoft.Cdn/"
		"operationresults/%s",
		app->tls ? "https" : "http", host, seg[1], seg[3], id);
	base = url.len;
	sb_addf(&url, "?api-version=%s", v);
	fk_resp_header(resp, "Azure-AsyncOperation", url.buf);
	sb_truncate(&url, base);
	sb_addf(&url, "/profileresults/%s/endpointresults/%s?api-version=%s", seg[7], seg[9], v);
	fk_resp_header(resp, "Location", url.buf);
	sb_release(&url);
}

static void submit(struct fk_app *app, const struct fk_req *req, const char **seg,
		   struct fk_resp *resp, bool load)
{
	struct json_object *ep = begin_endpoint(app, req, seg, resp), *body, *paths, *t;
	char msg[MSG_MAX], id[FK_UUID_LEN + 1];

	if (!ep)
		return;
	body = fk_req_json(req);
	paths = fk_jarr(body, "contentPaths");
	if (check_paths(paths, load, msg, sizeof(msg)) < 0) {
		fk_error_arm(resp, req, 400, "BadRequest", msg);
	} else {
		fk_uuid(id);
		t = fk_task_new(app, load ? "arm_load" : "arm_purge", id, req->now_ms);
		json_object_object_add(t, "subscription", json_object_new_string(seg[1]));
		json_object_object_add(t, "endpoint", json_object_new_string(fk_jstr(ep, "name")));
		json_object_object_add(t, "paths", json_object_get(paths));
		fk_resp_text(resp, 202, NULL, NULL);
		add_lro_headers(app, resp, req, seg, id);
		fk_state_changed(app, resp);
	}
	json_object_put(body);
}

static void h_purge(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		    struct fk_resp *resp)
{
	CF_UNUSED(nseg);
	submit(app, req, seg, resp, false);
}

static void h_load(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		   struct fk_resp *resp)
{
	CF_UNUSED(nseg);
	submit(app, req, seg, resp, true);
}

static struct json_object *find_op(struct fk_app *app, const char *sub, const char *id)
{
	struct json_object *t = fk_task_find(app, "arm_purge", id);
	const char *ts;

	if (!t)
		t = fk_task_find(app, "arm_load", id);
	if (!t)
		t = fk_task_find(app, "afd_op", id); /* Front Door operations (fk_afd.c) */
	ts = fk_jstr(t, "subscription");
	return t && ts && strcasecmp(ts, sub) == 0 ? t : NULL;
}

/* seg: subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Cdn/operationresults/{id}[/…] */
static void h_op(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		 struct fk_resp *resp)
{
	struct json_object *t, *o, *err;
	const char *st;

	if (!begin(app, req, seg[1], resp))
		return;
	t = find_op(app, seg[1], seg[7]);
	if (!t) {
		fk_error_arm(resp, req, 404, "NotFound", "The operation was not found.");
		return;
	}
	st = fk_task_status(t);
	if (nseg > 8) {
		/* The Location URL: 202 while running, 200 when done, the error when failed. */
		if (strcmp(st, "failed") == 0)
			fk_error_arm(resp, req, 500, "InternalServerError",
				     "The operation failed.");
		else
			fk_resp_text(resp, strcmp(st, "running") == 0 ? 202 : 200, NULL, NULL);
		return;
	}
	o = json_object_new_object();
	err = json_object_new_object();
	json_object_object_add(o, "status",
			       json_object_new_string(strcmp(st, "succeeded") == 0 ? "Succeeded"
						      : strcmp(st, "failed") == 0  ? "Failed"
										   : "InProgress"));
	json_object_object_add(
	    err, "code",
	    json_object_new_string(strcmp(st, "failed") == 0 ? "InternalServerError" : "None"));
	json_object_object_add(
	    err, "message",
	    strcmp(st, "failed") == 0 ? json_object_new_string("The operation failed.") : NULL);
	json_object_object_add(o, "error", err);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

struct json_object *fk_azure_begin(struct fk_app *app, const struct fk_req *req, const char *sub_id,
				   struct fk_resp *resp)
{
	return begin(app, req, sub_id, resp);
}

struct json_object *fk_azure_find_profile(struct fk_app *app, const char *sub_id, const char *rg,
					  const char *profile)
{
	const char *prof[] = {sub_id, rg, profile};
	return index_find(app, 'p', prof, CF_ARRAY_LEN(prof));
}

#define ARM_EP	     "subscriptions/*/resourceGroups/*/providers/Microsoft.Cdn/profiles/*/endpoints/*"
#define ARM_OP	     "subscriptions/*/resourceGroups/*/providers/Microsoft.Cdn/operationresults/*"
#define ARM_PROFILES "subscriptions/*/providers/Microsoft.Cdn/profiles"
#define ARM_PROFILE_EPS                                                                            \
	"subscriptions/*/resourceGroups/*/providers/Microsoft.Cdn/profiles/*/endpoints"
const struct fk_route fk_azure_routes[] = {
    {"GET", ARM_PROFILES, "list_profiles", h_list_profiles},
    {"GET", ARM_PROFILE_EPS, "list_endpoints", h_list_endpoints},
    {"GET", ARM_EP, "read_rules", h_get},
    {"PATCH", ARM_EP, "write_rules", h_patch},
    {"POST", ARM_EP "/purge", "purge", h_purge},
    {"POST", ARM_EP "/load", "preload", h_load},
    {"GET", ARM_OP, "poll", h_op},
    {"GET", ARM_OP "/profileresults/*/endpointresults/*", "poll", h_op},
};
const size_t fk_azure_nroutes = CF_ARRAY_LEN(fk_azure_routes);

const struct fk_route fk_token_routes[] = {
    {"POST", "*/oauth2/v2.0/token", "token", h_token_v2},
    {"POST", "*/oauth2/token", "token", h_token_v1},
};
const size_t fk_token_nroutes = CF_ARRAY_LEN(fk_token_routes);
