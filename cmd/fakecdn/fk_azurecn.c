#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_azurecn.h"
#include "cmd/fakecdn/fk_auth.h"
#include "cmd/fakecdn/fk_index.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/xmem.h"

#include <ctype.h>
#include <strings.h>

#define API_VERSION	       "1.0"
#define FORBIDDEN_RULE_CHARS   "{}()[]?*\\^$"
#define DEFAULT_DAILY_FILES    2000
#define DEFAULT_DAILY_DIRS     500
#define DEFAULT_DAILY_PRELOADS 2000
#define FK_PADDING_MAX	       ((int64_t)64 << 20) /* read_padding_bytes cap */
#define MAX_TTL		       (100LL * 365 * 24 * 3600)
#define MSG_MAX		       512
#define DAY_LEN		       11
#define URL_MAX		       2048

/* Everything a handler needs after the common checks. */
struct ctx {
	struct json_object *sub;
	struct json_object *ep;
	const char *sub_id;
	const char *ep_id;
};

static struct json_object *subscriptions(struct fk_app *app)
{
	return fk_jarr(fk_jobj(app->state, "azure_china"), "subscriptions");
}

/*
 * Endpoints by id (fk_index.c): a scan per request grew with the fleet (issue 17). Keys: 'e'
 * subscription, endpoint id -> the endpoint; 'o' endpoint id -> the first subscription holding
 * it (state order, as the scan's). Built at start (fk_azurecn_index_build) and on first use
 * after a drop; the state's azure-china endpoints are never added or removed while it lives
 * (fk_app_reset()/fk_app_release() drop the index).
 */
static struct fk_index *cn_index(struct fk_app *app)
{
	if (app->cn_index)
		return app->cn_index;
	struct fk_index *ix = fk_index_new();
	struct json_object *subs = subscriptions(app);
	for (size_t i = 0, n = subs ? json_object_array_length(subs) : 0; i < n; i++) {
		struct json_object *sub = json_object_array_get_idx(subs, i);
		struct json_object *eps = fk_jarr(sub, "endpoints");
		for (size_t j = 0, m = eps ? json_object_array_length(eps) : 0; j < m; j++) {
			struct json_object *ep = json_object_array_get_idx(eps, j);
			const char *one[] = {fk_jstr(sub, "id"), fk_jstr(ep, "id")},
				   *any[] = {fk_jstr(ep, "id")};
			fk_index_add(ix, 'e', one, CF_ARRAY_LEN(one), ep);
			fk_index_add(ix, 'o', any, CF_ARRAY_LEN(any), sub);
		}
	}
	app->cn_index = ix;
	return ix;
}

void fk_azurecn_index_build(struct fk_app *app)
{
	(void)cn_index(app);
}

void fk_azurecn_index_drop(struct fk_app *app)
{
	fk_index_free(app->cn_index);
	app->cn_index = NULL;
}

struct json_object *fk_azurecn_endpoint(struct fk_app *app, const char *sub_id,
					const char *endpoint_id)
{
	const char *key[] = {sub_id, endpoint_id};
	return fk_index_find(cn_index(app), 'e', key, CF_ARRAY_LEN(key));
}

struct json_object *fk_azurecn_find_endpoint(struct fk_app *app, const char *endpoint_id,
					     struct json_object **sub_out)
{
	const char *key[] = {endpoint_id};
	struct json_object *sub = fk_index_find(cn_index(app), 'o', key, CF_ARRAY_LEN(key));
	struct json_object *ep =
	    sub ? fk_azurecn_endpoint(app, fk_jstr(sub, "id"), endpoint_id) : NULL;

	if (ep && sub_out)
		*sub_out = sub;
	return ep;
}

static bool is_write(const struct fk_req *req)
{
	return strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0;
}

/* Subscription, signature, apiVersion, then the endpoint (when the path names one). */
static bool begin(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		  struct fk_resp *resp, struct ctx *c)
{
	const char *v = fk_req_arg(req, "apiVersion");
	struct fk_azurecn_auth a;
	struct json_object *owner = NULL;
	char id[FK_UUID_LEN + 1];

	fk_uuid(id);
	fk_resp_header(resp, "X-Correlation-Id", id);
	memset(c, 0, sizeof(*c));
	c->sub_id = seg[1];
	c->sub = fk_jfind(subscriptions(app), "id", c->sub_id);
	if (!c->sub) {
		fk_error_china(resp, 404, "SubscriptionNotFound",
			       "The subscription was not found.");
		return false;
	}
	fk_azurecn_verify(req, fk_jarr(c->sub, "keys"), is_write(req),
			  app->knobs.china_date_window_s, &a);
	if (a.type[0]) {
		fk_error_china(resp, a.status, a.type, a.message);
		return false;
	}
	resp->auth = true;
	if (!v) {
		fk_error_china(resp, 400, "ParameterMissing",
			       "The apiVersion parameter is missing.");
		return false;
	}
	if (strcmp(v, API_VERSION) != 0) {
		fk_error_china(resp, 400, "ParameterInvalid",
			       "The apiVersion parameter is invalid.");
		return false;
	}
	if (nseg < 4)
		return true;
	c->ep_id = seg[3];
	c->ep = fk_azurecn_endpoint(app, fk_jstr(c->sub, "id"), c->ep_id);
	if (!c->ep && fk_azurecn_find_endpoint(app, c->ep_id, &owner)) {
		fk_error_china(resp, 403, "EndpointDoesNotBelongToSubscription",
			       "The endpoint does not belong to the subscription.");
		return false;
	}
	if (!c->ep) {
		fk_error_china(resp, 404, "EndpointNotFound", "The endpoint was not found.");
		return false;
	}
	if (is_write(req) && !fk_jbool(c->ep, "enabled", true)) {
		fk_error_china(resp, 409, "EndpointNotInActiveState",
			       "The endpoint is not active.");
		return false;
	}
	return true;
}

static const char *bool_text(bool b)
{
	return b ? "true" : "false";
}

static struct json_object *endpoint_json(struct json_object *ep, const char *sub_id)
{
	struct json_object *o = json_object_new_object(), *set = json_object_new_object();
	struct json_object *st = json_object_new_object(), *origin = json_object_new_object();
	struct json_object *addrs = json_object_new_array(), *hosts = fk_jarr(ep, "hosts");
	const char *id = fk_jstr(ep, "id"), *org = fk_jstr(ep, "origin");
	const char *host0 = hosts && json_object_array_length(hosts)
				? json_object_get_string(json_object_array_get_idx(hosts, 0))
				: "";
	const char *stype = fk_jstr(ep, "service_type");
	bool enabled = fk_jbool(ep, "enabled", true);
	char cname[128];

	snprintf(cname, sizeof(cname), "%.36s.mschcdn.com", id ? id : "");
	json_object_array_add(addrs, json_object_new_string(org ? org : "origin.example.com"));
	json_object_object_add(origin, "Addresses", addrs);
	json_object_object_add(set, "CustomDomain", json_object_new_string(host0));
	json_object_object_add(set, "Host", json_object_new_string(cname));
	json_object_object_add(
	    set, "ICP", json_object_new_string(fk_jstr(ep, "icp") ? fk_jstr(ep, "icp") : ""));
	json_object_object_add(set, "Origin", origin);
	json_object_object_add(set, "ServiceType", json_object_new_string(stype ? stype : "Web"));
	json_object_object_add(st, "Enabled", json_object_new_string(bool_text(enabled)));
	json_object_object_add(st, "IcpVerifyStatus", json_object_new_string("IcpVerified"));
	json_object_object_add(st, "LifetimeStatus", json_object_new_string("Normal"));
	json_object_object_add(st, "CNameConfigured", json_object_new_string("true"));
	json_object_object_add(st, "FreeTrialExpired", json_object_new_string("false"));
	json_object_object_add(o, "EndpointID", json_object_new_string(id ? id : ""));
	json_object_object_add(o, "SubscriptionID", json_object_new_string(sub_id));
	json_object_object_add(o, "Setting", set);
	json_object_object_add(o, "Status", st);
	return o;
}

static void h_list(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		   struct fk_resp *resp)
{
	struct ctx c;
	struct json_object *arr, *eps;
	size_t n;

	if (!begin(app, req, seg, nseg, resp, &c))
		return;
	arr = json_object_new_array();
	eps = fk_jarr(c.sub, "endpoints");
	n = eps ? json_object_array_length(eps) : 0;
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr,
				      endpoint_json(json_object_array_get_idx(eps, i), c.sub_id));
	fk_resp_json(resp, 200, arr);
	json_object_put(arr);
}

static void h_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		  struct fk_resp *resp)
{
	struct ctx c;
	struct json_object *o;

	if (!begin(app, req, seg, nseg, resp, &c))
		return;
	o = endpoint_json(c.ep, c.sub_id);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

static struct json_object *default_policy(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "Rules", json_object_new_array());
	json_object_object_add(o, "IgnoreCacheControl", json_object_new_boolean(false));
	json_object_object_add(o, "IgnoreCookie", json_object_new_boolean(false));
	json_object_object_add(o, "IgnoreQueryString", json_object_new_boolean(false));
	return o;
}

/* A copy of o with a "Padding" member of n bytes: answers as large as a client must bound
 * (read_padding_bytes, capped at FK_PADDING_MAX). Consumes o. */
static struct json_object *padded(struct json_object *o, int64_t n)
{
	struct json_object *copy = NULL;
	size_t len = (size_t)(n < FK_PADDING_MAX ? n : FK_PADDING_MAX);
	char *pad = malloc(len + 1);
	if (!pad || json_object_deep_copy(o, &copy, NULL) != 0) {
		free(pad);
		return o;
	}
	memset(pad, 'x', len);
	pad[len] = '\0';
	json_object_object_add(copy, "Padding", json_object_new_string_len(pad, (int)len));
	free(pad);
	json_object_put(o);
	return copy;
}

static void h_read_rules(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp)
{
	struct ctx c;
	struct json_object *rules;

	if (!begin(app, req, seg, nseg, resp, &c))
		return;
	rules = fk_jobj(c.ep, "cacherules");
	rules = rules ? json_object_get(rules) : default_policy();
	if (app->knobs.read_padding_bytes > 0)
		rules = padded(rules, app->knobs.read_padding_bytes);
	fk_resp_json(resp, 200, rules);
	json_object_put(rules);
}

/* Accepts a JSON boolean or the strings "true"/"false" (the Swagger types them as strings). */
static int get_flag(struct json_object *in, const char *key, bool *out)
{
	struct json_object *v;

	*out = false;
	if (!json_object_object_get_ex(in, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v);
		return 0;
	}
	if (json_object_is_type(v, json_type_string) &&
	    (strcasecmp(json_object_get_string(v), "true") == 0 ||
	     strcasecmp(json_object_get_string(v), "false") == 0)) {
		*out = strcasecmp(json_object_get_string(v), "true") == 0;
		return 0;
	}
	return -1;
}

static int get_ttl(struct json_object *rule, int64_t *ttl)
{
	struct json_object *v;
	char *end;

	if (!json_object_object_get_ex(rule, "TTL", &v))
		return -1;
	if (json_object_is_type(v, json_type_int)) {
		*ttl = json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		*ttl = strtoll(s, &end, 10);
		if (!*s || *end)
			return -1;
	} else {
		return -1;
	}
	return *ttl >= 0 && *ttl <= MAX_TTL ? 0 : -1;
}

/* Checks one item of a rule of the given type; returns a message or NULL. */
static const char *check_item(const char *type, const char *item)
{
	if (!*item)
		return "is empty";
	if (strpbrk(item, FORBIDDEN_RULE_CHARS))
		return "contains a forbidden character ({ } ( ) [ ] ? * \\ ^ $)";
	for (const char *p = item; *p; p++)
		if (iscntrl((unsigned char)*p) || *p == ' ')
			return "contains whitespace or a control character";
	if (strcmp(type, "FullUri") != 0 && strchr(item, '.'))
		return "contains '.', which is allowed only in FullUri items";
	if (strcmp(type, "Suffix") == 0 && strchr(item, '/'))
		return "contains '/'";
	if (strcmp(type, "Suffix") != 0 && item[0] != '/')
		return "does not start with '/'";
	return NULL;
}

static const char *check_rule(struct json_object *rule, size_t idx, struct json_object **out,
			      char *msg, size_t msgsz)
{
	const char *type = fk_jstr(rule, "Type");
	struct json_object *items = fk_jarr(rule, "Items"), *copy;
	int64_t ttl = 0;
	size_t n = items ? json_object_array_length(items) : 0;

	if (!type || (strcmp(type, "Dir") && strcmp(type, "Suffix") && strcmp(type, "FullUri")))
		return snprintf(msg, msgsz, "Rules[%zu].Type must be Dir, Suffix or FullUri.", idx),
		       "ParameterInvalid";
	if (n == 0)
		return snprintf(msg, msgsz, "Rules[%zu].Items is missing or empty.", idx),
		       "ParameterMissing";
	if (get_ttl(rule, &ttl) < 0)
		return snprintf(msg, msgsz, "Rules[%zu].TTL must be a number of seconds.", idx),
		       "ParameterInvalid";
	for (size_t i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		const char *why = json_object_is_type(it, json_type_string)
				      ? check_item(type, json_object_get_string(it))
				      : "is not a string";

		if (why)
			return snprintf(msg, msgsz, "Rules[%zu].Items[%zu] '%s' %s.", idx, i,
					json_object_get_string(it), why),
			       "ParameterInvalid";
	}
	copy = json_object_new_object();
	json_object_object_add(copy, "Type", json_object_new_string(type));
	json_object_object_add(copy, "Items", json_object_get(items));
	json_object_object_add(copy, "TTL", json_object_new_int64(ttl));
	*out = copy;
	return NULL;
}

const char *fk_azurecn_policy(struct json_object *in, struct json_object **out, char *msg,
			      size_t msgsz)
{
	static const char *const flags[] = {"IgnoreCacheControl", "IgnoreCookie",
					    "IgnoreQueryString"};
	struct json_object *rules = fk_jarr(in, "Rules"), *pol, *arr;
	size_t n = rules ? json_object_array_length(rules) : 0;

	*out = NULL;
	if (!in || !json_object_is_type(in, json_type_object))
		return snprintf(msg, msgsz, "The request body is not a JSON object."),
		       "ParameterInvalid";
	if (!rules)
		return snprintf(msg, msgsz, "Rules is missing."), "ParameterMissing";
	pol = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(pol, "Rules", arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = NULL;
		const char *type =
		    check_rule(json_object_array_get_idx(rules, i), i, &r, msg, msgsz);

		if (type) {
			json_object_put(pol);
			return type;
		}
		json_object_array_add(arr, r);
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(flags); i++) {
		bool b;

		if (get_flag(in, flags[i], &b) < 0) {
			json_object_put(pol);
			return snprintf(msg, msgsz, "%s must be true or false.", flags[i]),
			       "ParameterInvalid";
		}
		json_object_object_add(pol, flags[i], json_object_new_boolean(b));
	}
	*out = pol;
	return NULL;
}

static void async_accepted(struct fk_resp *resp, const char *id)
{
	struct json_object *o = json_object_new_object(), *info = json_object_new_object();

	json_object_object_add(info, "TaskTrackId", json_object_new_string(id));
	json_object_object_add(info, "TaskStatus", json_object_new_string("Processing"));
	json_object_object_add(o, "Succeeded", json_object_new_boolean(true));
	json_object_object_add(o, "IsAsync", json_object_new_boolean(true));
	json_object_object_add(o, "AsyncInfo", info);
	fk_resp_json(resp, 202, o);
	json_object_put(o);
}

static struct json_object *new_task(struct fk_app *app, const struct fk_req *req,
				    const struct ctx *c, const char *kind)
{
	char id[FK_UUID_LEN + 1], when[FK_TIME_LEN];
	struct json_object *t;

	fk_uuid(id);
	fk_fmt_time(req->now_ms, false, when);
	t = fk_task_new(app, kind, id, req->now_ms);
	json_object_object_add(t, "subscription", json_object_new_string(fk_jstr(c->sub, "id")));
	json_object_object_add(t, "endpoint", json_object_new_string(fk_jstr(c->ep, "id")));
	/* The quota day is the UTC calendar day of submission. */
	json_object_object_add(t, "day", json_object_new_string_len(when, DAY_LEN - 1));
	return t;
}

static void h_write_rules(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			  struct fk_resp *resp)
{
	struct json_object *body, *pol = NULL, *t;
	char msg[MSG_MAX];
	const char *type;
	struct ctx c;

	if (!begin(app, req, seg, nseg, resp, &c))
		return;
	body = fk_req_json(req);
	type = fk_azurecn_policy(body, &pol, msg, sizeof(msg));
	json_object_put(body);
	if (type) {
		fk_error_china(resp, 400, type, msg);
		return;
	}
	t = new_task(app, req, &c, "cacherules");
	json_object_object_add(t, "rules", pol);
	async_accepted(resp, fk_jstr(t, "id"));
	fk_state_changed(app, resp);
	/* With a zero task delay the rules are visible to the very next read. */
	fk_tasks_advance(app, req->now_ms);
}

/* Returns true when url is an absolute http(s) URL on one of hosts; *bad names the problem. */
static bool url_host_ok(const char *url, struct json_object *hosts, const char **bad)
{
	const char *h, *end;
	size_t hl, n = hosts ? json_object_array_length(hosts) : 0;

	*bad = "is not an absolute http or https URL";
	if (strncasecmp(url, "http://", 7) == 0)
		h = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		h = url + 8;
	else
		return false;
	end = h + strcspn(h, "/:?#");
	hl = (size_t)(end - h);
	*bad = "names a host that is not one of the endpoint's domains";
	for (size_t i = 0; i < n; i++) {
		const char *host = json_object_get_string(json_object_array_get_idx(hosts, i));

		if (host && strlen(host) == hl && strncasecmp(host, h, hl) == 0)
			return true;
	}
	return false;
}

static bool has_traversal(const char *url)
{
	static const char *const bad[] = {"/../", "/./", "/%2e%2e/", "/%2e/", "/..%2f", "/.%2f"};
	size_t len = strlen(url);

	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++)
		if (strcasestr(url, bad[i]))
			return true;
	return (len >= 3 && strcmp(url + len - 3, "/..") == 0) ||
	       (len >= 2 && strcmp(url + len - 2, "/.") == 0);
}

/* Validates a Files / Directories list; returns an ErrorInfo.Type or NULL. */
static const char *check_urls(struct json_object *list, const char *what, bool dirs,
			      struct json_object *hosts, char *msg, size_t msgsz)
{
	size_t n = list ? json_object_array_length(list) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(list, i);
		const char *u = json_object_get_string(v), *bad = NULL;

		if (!json_object_is_type(v, json_type_string))
			return snprintf(msg, msgsz, "%s[%zu] is not a string.", what, i),
			       "ParameterInvalid";
		if (strlen(u) > URL_MAX || strpbrk(u, " \t\r\n") || has_traversal(u) ||
		    !url_host_ok(u, hosts, &bad))
			return snprintf(msg, msgsz, "Malicious item path detected: %s '%s' %s.",
					what, u, bad ? bad : "is malformed"),
			       "MaliciousItemPathDetected";
		if (dirs && u[strlen(u) - 1] != '/')
			return snprintf(msg, msgsz, "%s '%s' must end with '/'.", what, u),
			       "ParameterInvalid";
	}
	return NULL;
}

/* Sums the files and directories of today's tasks of a kind in the subscription. */
static void used_today(struct fk_app *app, const char *kind, const char *sub, const char *day,
		       int64_t *files, int64_t *dirs)
{
	struct json_object *tasks = fk_jarr(app->state, "tasks");
	size_t n = tasks ? json_object_array_length(tasks) : 0;

	*files = *dirs = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(tasks, i);
		const char *k = fk_jstr(t, "kind"), *s = fk_jstr(t, "subscription");
		const char *d = fk_jstr(t, "day");
		struct json_object *f = fk_jarr(t, "files"), *dd = fk_jarr(t, "dirs");

		if (!k || !s || !d || strcmp(k, kind) || strcasecmp(s, sub) || strcmp(d, day))
			continue;
		*files += f ? (int64_t)json_object_array_length(f) : 0;
		*dirs += dd ? (int64_t)json_object_array_length(dd) : 0;
	}
}

static int64_t limit_of(struct fk_app *app, const char *key, int64_t fallback)
{
	return fk_jint(fk_jobj(app->state, "azure_china"), key, fallback);
}

/* Refuses the request when it would take the day's total past the subscription's quota. */
static bool quota_ok(struct fk_app *app, const struct fk_req *req, const struct ctx *c,
		     const char *kind, size_t nfiles, size_t ndirs, struct fk_resp *resp)
{
	char when[FK_TIME_LEN], msg[MSG_MAX];
	int64_t files, dirs, max_files, max_dirs;
	bool preload = strcmp(kind, "preload") == 0;

	fk_fmt_time(req->now_ms, false, when);
	when[DAY_LEN - 1] = '\0';
	used_today(app, kind, fk_jstr(c->sub, "id"), when, &files, &dirs);
	max_files = limit_of(app, preload ? "daily_file_preloads" : "daily_file_purges",
			     preload ? DEFAULT_DAILY_PRELOADS : DEFAULT_DAILY_FILES);
	max_dirs = limit_of(app, "daily_dir_purges", DEFAULT_DAILY_DIRS);
	if (files + (int64_t)nfiles <= max_files && dirs + (int64_t)ndirs <= max_dirs)
		return true;
	snprintf(msg, sizeof(msg),
		 "Daily %s quota exceeded: %lld of %lld files and %lld of %lld directories used "
		 "today; this request asks for %zu files and %zu directories.",
		 kind, (long long)files, (long long)max_files, (long long)dirs, (long long)max_dirs,
		 nfiles, ndirs);
	fk_error_china(resp, 400, "ParameterInvalid", msg);
	return false;
}

static void submit_items(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp, const char *kind)
{
	bool preload = strcmp(kind, "preload") == 0;
	struct json_object *body, *files, *dirs, *t;
	struct json_object *hosts;
	char msg[MSG_MAX];
	const char *type;
	size_t nf, nd;
	struct ctx c;

	if (!begin(app, req, seg, nseg, resp, &c))
		return;
	body = fk_req_json(req);
	hosts = fk_jarr(c.ep, "hosts");
	files = fk_jarr(body, "Files");
	dirs = preload ? NULL : fk_jarr(body, "Directories");
	nf = files ? json_object_array_length(files) : 0;
	nd = dirs ? json_object_array_length(dirs) : 0;
	type = NULL;
	if (!body || !json_object_is_type(body, json_type_object)) {
		type = "ParameterInvalid";
		snprintf(msg, sizeof(msg), "The request body is not a JSON object.");
	} else if (nf + nd == 0) {
		type = "ParameterMissing";
		snprintf(msg, sizeof(msg), "%s",
			 preload ? "Files is missing or empty."
				 : "Files and Directories are missing or empty.");
	}
	if (!type)
		type = check_urls(files, "Files", false, hosts, msg, sizeof(msg));
	if (!type)
		type = check_urls(dirs, "Directories", true, hosts, msg, sizeof(msg));
	if (type) {
		fk_error_china(resp, 400, type, msg);
	} else if (quota_ok(app, req, &c, kind, nf, nd, resp)) {
		t = new_task(app, req, &c, kind);
		json_object_object_add(t, "files",
				       files ? json_object_get(files) : json_object_new_array());
		json_object_object_add(t, "dirs",
				       dirs ? json_object_get(dirs) : json_object_new_array());
		async_accepted(resp, fk_jstr(t, "id"));
		fk_state_changed(app, resp);
	}
	json_object_put(body);
}

static void h_purge(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		    struct fk_resp *resp)
{
	submit_items(app, req, seg, nseg, resp, "purge");
}

static void h_preload(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		      struct fk_resp *resp)
{
	submit_items(app, req, seg, nseg, resp, "preload");
}

/* A task of one of kinds that belongs to the endpoint in the path. */
static struct json_object *find_task(struct fk_app *app, const struct ctx *c, const char *id,
				     const char *const *kinds, size_t nkinds)
{
	for (size_t i = 0; i < nkinds; i++) {
		struct json_object *t = fk_task_find(app, kinds[i], id);
		const char *ep = fk_jstr(t, "endpoint");

		if (t && ep && strcasecmp(ep, c->ep_id) == 0)
			return t;
	}
	return NULL;
}

/* Item status of a purge or preload task at now. */
static const char *item_status(struct json_object *t, bool preload, int64_t now)
{
	const char *st = fk_task_status(t);
	int64_t created = fk_jint(t, "created_ms", 0), due = fk_jint(t, "due_ms", 0);

	if (strcmp(st, "succeeded") == 0)
		return "Succeed";
	if (strcmp(st, "failed") == 0)
		return "Failed";
	return preload && now < created + (due - created) / 2 ? "Waiting" : "Running";
}

static struct json_object *item_list(struct json_object *urls, const char *status)
{
	struct json_object *arr = json_object_new_array();
	size_t n = urls ? json_object_array_length(urls) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "Url",
				       json_object_get(json_object_array_get_idx(urls, i)));
		json_object_object_add(o, "Status", json_object_new_string(status));
		json_object_array_add(arr, o);
	}
	return arr;
}

static void query_items(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp, const char *kind)
{
	bool preload = strcmp(kind, "preload") == 0;
	struct json_object *t, *o;
	const char *status;
	struct ctx c;

	if (!begin(app, req, seg, nseg, resp, &c))
		return;
	t = find_task(app, &c, seg[5], &kind, 1);
	if (!t) {
		fk_error_china(resp, 404, "ParameterInvalid", "The task was not found.");
		return;
	}
	status = item_status(t, preload, req->now_ms);
	o = json_object_new_object();
	json_object_object_add(o, "Files", item_list(fk_jarr(t, "files"), status));
	if (!preload)
		json_object_object_add(o, "Directories", item_list(fk_jarr(t, "dirs"), status));
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

static void h_get_purge(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp)
{
	query_items(app, req, seg, nseg, resp, "purge");
}

static void h_get_preload(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			  struct fk_resp *resp)
{
	query_items(app, req, seg, nseg, resp, "preload");
}

static const char *op_type(const char *kind)
{
	if (strcmp(kind, "purge") == 0)
		return "Purge";
	if (strcmp(kind, "preload") == 0)
		return "Preload";
	return "UpdateCacheRules";
}

static void h_operation(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp)
{
	static const char *const kinds[] = {"cacherules", "purge", "preload"};
	char start[FK_TIME_LEN], end[FK_TIME_LEN];
	struct json_object *t, *o;
	const char *st;
	struct ctx c;

	if (!begin(app, req, seg, nseg, resp, &c))
		return;
	t = find_task(app, &c, seg[5], kinds, CF_ARRAY_LEN(kinds));
	if (!t) {
		fk_error_china(resp, 404, "ParameterInvalid", "The operation was not found.");
		return;
	}
	st = fk_task_status(t);
	fk_fmt_time(fk_jint(t, "created_ms", 0), true, start);
	fk_fmt_time(fk_jint(t, "finished_ms", 0), true, end);
	o = json_object_new_object();
	json_object_object_add(o, "Id", json_object_new_string(seg[5]));
	json_object_object_add(o, "Type", json_object_new_string(op_type(fk_jstr(t, "kind"))));
	json_object_object_add(o, "Status",
			       json_object_new_string(strcmp(st, "succeeded") == 0 ? "Succeeded"
						      : strcmp(st, "failed") == 0  ? "Failed"
										   : "Processing"));
	json_object_object_add(
	    o, "Message",
	    json_object_new_string(strcmp(st, "failed") == 0 ? "The task failed." : ""));
	json_object_object_add(o, "Start", json_object_new_string(start));
	json_object_object_add(o, "End",
			       strcmp(st, "running") == 0 ? NULL : json_object_new_string(end));
	json_object_object_add(o, "EndpointId", json_object_new_string(fk_jstr(c.ep, "id")));
	json_object_object_add(o, "SubscriptionId", json_object_new_string(fk_jstr(c.sub, "id")));
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

#define EP "subscriptions/*/endpoints/*"
const struct fk_route fk_azurecn_routes[] = {
    {"GET", "subscriptions/*/endpoints", "list_endpoints", h_list},
    {"GET", EP, "get_endpoint", h_get},
    {"GET", EP "/cacherules", "read_rules", h_read_rules},
    {"PUT", EP "/cacherules", "write_rules", h_write_rules},
    {"POST", EP "/purges", "purge", h_purge},
    {"GET", EP "/purges/*", "poll", h_get_purge},
    {"POST", EP "/preloads", "preload", h_preload},
    {"GET", EP "/preloads/*", "poll", h_get_preload},
    {"GET", EP "/operations/*", "poll", h_operation},
};
const size_t fk_azurecn_nroutes = CF_ARRAY_LEN(fk_azurecn_routes);
