#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_cdnpro_prop.h"
#include "cmd/fakecdn/fk_auth.h"
#include "cmd/fakecdn/fk_cdnpro.h"
#include "cmd/fakecdn/fk_elcheck.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/xmem.h"

#include <ctype.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_CUSTOMER   10000021
#define DEFAULT_PROP_LIMIT 100
#define DEFAULT_HOST_LIMIT 100
#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX	   200
#define NAME_MAX_LEN	   250 /* property name and description */
#define VER_DESC_MAX	   10000
#define HOSTNAME_MAX	   253
#define ID_HEX_BYTES	   12 /* 24 hex characters, as the service's ids */
#define MSG_MAX		   FK_EL_MSG_MAX
#define ORIGINS_MAX	   64
#define ALLOWED_MAX	   64
#define HTTP_DATE_MAX	   64
#define LOCATION_MAX	   256
#define OLDEST_VALIDATION  "2021-10-23T00:00:00Z"
#define STAGING_CODE	   "LOCAL"
#define STAGING_LOCATION   "fakecdn loopback staging listener"
#define DEPLOY_SUCCESS	   "Task has successfully finished"
#define KIND_VALIDATION	   "cdnpro_validation"
#define KIND_DEPLOY	   "cdnpro_deploy"
#define MSG_NO_PROPERTY	   "The specified property ID does not exist."
#define MSG_NO_VERSION	   "The property version specified does not exist."
#define MSG_BAD_VERSION	   "The version must be a positive integer or \"latest\"."
#define MSG_FROZEN                                                                                 \
	"The property version cannot be updated because it is currently deployed to staging or "   \
	"production."
#define MSG_TOO_MANY_VERSIONS                                                                      \
	"You have created the maximum number of versions allowed in a property. Please create a "  \
	"new property, or ask our support team to delete old versions."

/* Members a version body may carry (createPropertyVersion schema); others are InvalidInput. */
static const char *const config_fields[] = {
    "description",
    "hostnames",
    "hasBeian",
    "beianContentType",
    "origins",
    "allowProtocolDowngrade",
    "enableIpv6Origin",
    "followClientIpVersion",
    "edgeLogic",
    "loadBalancerLogic",
    "syntaxVersion",
    "cacheKeyHostname",
    "cacheKeyUri",
    "schemeInCacheKey",
    "redirectHttpToHttps",
    "disableHttp2",
    "enableHttp3",
    "extraServicePorts",
    "tlsCertificateId",
    "tlsCertificateId1",
    "tlsMinVersion",
    "tlsMaxVersion",
    "tlsCiphers",
    "enableOcspStapling",
    "tls0Rtt",
    "tlsSessionTimeout",
    "tlsVerifyClient",
    "tlsClientCACertId",
    "disableCertAutomation",
    "accessControlRules",
    "realTimeLog",
    "videoSeek",
};

/* ---- state ---- */

static struct json_object *pro_sec(struct fk_app *app, bool create)
{
	struct json_object *p = fk_jobj(app->state, "cdnpro");

	if (!p && create) {
		p = json_object_new_object();
		json_object_object_add(app->state, "cdnpro", p);
	}
	return p;
}

static struct json_object *props(struct fk_app *app, bool create)
{
	struct json_object *p = pro_sec(app, create);

	return create ? fk_jarr_ensure(p, "properties") : fk_jarr(p, "properties");
}

static size_t alen(struct json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static struct json_object *prop_find(struct fk_app *app, const char *id)
{
	return fk_jfind(props(app, false), "id", id);
}

static struct json_object *ver_find(struct json_object *prop, int64_t v)
{
	struct json_object *vs = fk_jarr(prop, "versions");

	for (size_t i = 0; i < alen(vs); i++)
		if (fk_jint(json_object_array_get_idx(vs, i), "version", 0) == v)
			return json_object_array_get_idx(vs, i);
	return NULL;
}

static int64_t ver_latest(struct json_object *prop)
{
	struct json_object *vs = fk_jarr(prop, "versions");
	int64_t m = 0;

	for (size_t i = 0; i < alen(vs); i++) {
		int64_t v = fk_jint(json_object_array_get_idx(vs, i), "version", 0);

		m = v > m ? v : m;
	}
	return m;
}

static int64_t customer(struct fk_app *app)
{
	return fk_jint(pro_sec(app, false), "customer_id", DEFAULT_CUSTOMER);
}

static void set_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void set_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void set_time(struct json_object *o, const char *k, int64_t ms)
{
	char t[FK_TIME_LEN];

	fk_fmt_time(ms, false, t);
	set_str(o, k, t);
}

/* RFC 1123, as Last-Modified carries it and If-Unmodified-Since must. */
static void http_date(int64_t ms, char out[HTTP_DATE_MAX])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, HTTP_DATE_MAX, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void last_modified(struct fk_resp *resp, int64_t ms)
{
	char d[HTTP_DATE_MAX];

	http_date(ms, d);
	fk_resp_header(resp, "Last-Modified", d);
}

/* "*.example.com" covers one more label on the left. */
static bool host_match(const char *pattern, const char *host)
{
	size_t pl = strlen(pattern), hl = strlen(host);

	if (strcasecmp(pattern, host) == 0)
		return true;
	return pattern[0] == '*' && pattern[1] == '.' && hl > pl - 1 &&
	       strcasecmp(host + hl - (pl - 1), pattern + 1) == 0 &&
	       !memchr(host, '.', hl - (pl - 1));
}

struct json_object *fk_cdnpro_prop_serving(struct fk_app *app, const char *host, const char *target)
{
	struct json_object *ps = props(app, false);

	for (size_t i = 0; i < alen(ps); i++) {
		struct json_object *p = json_object_array_get_idx(ps, i);
		struct json_object *dep = fk_jobj(p, target);
		struct json_object *v = dep ? ver_find(p, fk_jint(dep, "version", 0)) : NULL;
		struct json_object *cfg = fk_jobj(v, "configs"), *hs = fk_jarr(cfg, "hostnames");

		for (size_t k = 0; k < alen(hs); k++) {
			const char *h = json_object_get_string(json_object_array_get_idx(hs, k));

			if (h && host_match(h, host))
				return cfg;
		}
	}
	return NULL;
}

/* ---- service quota ---- */

static struct json_object *quota_defaults(struct fk_app *app)
{
	struct json_object *q = json_object_new_object(),
			   *pq = fk_jobj(pro_sec(app, false), "quota");

	json_object_object_add(q, "allowProduction", json_object_new_boolean(false));
	json_object_object_add(q, "allowedCacheDirectives", json_object_new_array());
	set_int(q, "propertyLimit", DEFAULT_PROP_LIMIT);
	set_int(q, "hostnameLimit", DEFAULT_HOST_LIMIT);
	json_object_object_add(q, "allowDeploymentInChina", json_object_new_boolean(false));
	set_str(q, "status", "active");
	/* The purge figures the emulator enforces (cdnpro.quota), under the API's names. */
	set_int(q, "filePurgeQuotaInProduction", fk_jint(pq, "file_purge_production", 5000));
	set_int(q, "filePurgeQuotaInStaging", fk_jint(pq, "file_purge_staging", 5000));
	set_int(q, "dirPurgeQuotaInProduction", fk_jint(pq, "dir_purge_production", 20));
	set_int(q, "dirPurgeQuotaInStaging", fk_jint(pq, "dir_purge_staging", 20));
	set_int(q, "maxFilePurgeEntries", fk_jint(pq, "max_file_entries", 1000));
	set_int(q, "maxDirPurgeEntries", fk_jint(pq, "max_dir_entries", 20));
	set_int(q, "prefetchQuota", fk_jint(pq, "prefetch", 5000));
	return q;
}

/* The effective quota (state members over the defaults). Owned. */
static struct json_object *quota_get(struct fk_app *app)
{
	struct json_object *q = quota_defaults(app),
			   *sq = fk_jobj(pro_sec(app, false), "service_quota");

	if (!sq)
		return q;
	json_object_object_foreach(sq, k, v)
	{
		json_object_object_add(q, k, json_object_get(v));
	}
	return q;
}

static bool allow_production(struct fk_app *app, struct json_object *prop)
{
	struct json_object *v, *q;
	bool ok;

	if (json_object_object_get_ex(prop, "allowProduction", &v) &&
	    json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	q = quota_get(app);
	ok = fk_jbool(q, "allowProduction", false);
	json_object_put(q);
	return ok;
}

/* ---- version bodies ---- */

static bool str_array(struct json_object *a, size_t min)
{
	if (!a || !json_object_is_type(a, json_type_array) || alen(a) < min)
		return false;
	for (size_t i = 0; i < alen(a); i++)
		if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string))
			return false;
	return true;
}

static bool hostname_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > HOSTNAME_MAX || h[0] == '.' || h[n - 1] == '.')
		return false;
	if (h[0] == '*' && (n < 3 || h[1] != '.'))
		return false;
	for (size_t i = h[0] == '*' ? 2 : 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
			return false;
	return true;
}

static const char *check_hostnames(struct json_object *body, char *msg, size_t msgsz)
{
	struct json_object *hs = fk_jarr(body, "hostnames");

	if (!str_array(hs, 1))
		return snprintf(msg, msgsz, "The field 'hostnames' must be a non-empty list."),
		       "InvalidHostname";
	for (size_t i = 0; i < alen(hs); i++) {
		const char *h = json_object_get_string(json_object_array_get_idx(hs, i));

		if (!hostname_ok(h))
			return snprintf(msg, msgsz, "The hostname '%.200s' is invalid.", h),
			       "InvalidHostname";
	}
	return NULL;
}

/* origins[].name into names (borrowed); returns the error code or NULL. */
static const char *check_origins(struct json_object *body, const char **names, size_t *n, char *msg,
				 size_t msgsz)
{
	struct json_object *os = fk_jarr(body, "origins");

	*n = 0;
	if (!os || alen(os) == 0)
		return snprintf(msg, msgsz, "The field 'origins' must be a non-empty list."),
		       "InvalidOrigins";
	for (size_t i = 0; i < alen(os); i++) {
		struct json_object *o = json_object_array_get_idx(os, i);
		const char *name = fk_jstr(o, "name");

		if (!name || !*name || !str_array(fk_jarr(o, "servers"), 1))
			return snprintf(msg, msgsz,
					"Origin %zu needs a name and a non-empty list of servers.",
					i),
			       "InvalidOrigins";
		for (size_t k = 0; k < *n; k++)
			if (strcmp(names[k], name) == 0)
				return snprintf(msg, msgsz,
						"The origin name '%.200s' is not unique.", name),
				       "InvalidOrigins";
		if (*n < ORIGINS_MAX)
			names[(*n)++] = name;
	}
	return NULL;
}

static bool syntax_ok(struct json_object *v)
{
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v) == 1;
	return json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), "1") == 0;
}

/* Granted advanced directives into names (borrowed from q). */
static size_t allowed_names(struct json_object *q, const char **names)
{
	struct json_object *a = fk_jarr(q, "allowedCacheDirectives");
	size_t n = 0;

	for (size_t i = 0; i < alen(a) && n < ALLOWED_MAX; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));

		if (s)
			names[n++] = s;
	}
	return n;
}

/* Runs the Edge Logic checks on a stored or submitted config. */
static void el_report(struct fk_app *app, struct json_object *cfg, struct fk_el_report *rep)
{
	const char *origins[ORIGINS_MAX], *allowed[ALLOWED_MAX];
	const char *el = fk_jstr(cfg, "edgeLogic");
	struct json_object *q = quota_get(app), *os = fk_jarr(cfg, "origins");
	size_t no = 0, na = allowed_names(q, allowed);

	for (size_t i = 0; i < alen(os) && no < ORIGINS_MAX; i++) {
		const char *name = fk_jstr(json_object_array_get_idx(os, i), "name");

		if (name)
			origins[no++] = name;
	}
	fk_el_check(el ? el : "", el ? strlen(el) : 0, origins, no, allowed, na, rep);
	json_object_put(q);
}

/* The synchronous checks of createPropertyVersion; returns the 400 code or NULL. */
static const char *check_config(struct fk_app *app, struct json_object *body, char *msg,
				size_t msgsz)
{
	const char *names[ORIGINS_MAX], *code, *desc;
	struct json_object *v;
	struct fk_el_report rep;
	size_t n;

	if (!body || !json_object_is_type(body, json_type_object))
		return snprintf(msg, msgsz, "The request body must be a JSON object."),
		       "InvalidInput";
	json_object_object_foreach(body, key, val)
	{
		bool known = false;

		CF_UNUSED(val);
		for (size_t i = 0; i < CF_ARRAY_LEN(config_fields); i++)
			known = known || strcmp(config_fields[i], key) == 0;
		if (!known)
			return snprintf(msg, msgsz, "Invalid field '%.200s'.", key), "InvalidInput";
	}
	if (!json_object_object_get_ex(body, "syntaxVersion", &v) || !syntax_ok(v))
		return snprintf(msg, msgsz, "The field 'syntaxVersion' is required and must be 1."),
		       "InvalidInput";
	desc = fk_jstr(body, "description");
	if (desc && strlen(desc) > VER_DESC_MAX)
		return snprintf(msg, msgsz, "The description is longer than %d characters.",
				VER_DESC_MAX),
		       "InvalidInput";
	if ((code = check_hostnames(body, msg, msgsz)) != NULL)
		return code;
	if ((code = check_origins(body, names, &n, msg, msgsz)) != NULL)
		return code;
	if (!fk_jstr(body, "edgeLogic"))
		return snprintf(msg, msgsz, "The field 'edgeLogic' is required."),
		       "InvalidEdgeLogic";
	el_report(app, body, &rep);
	if (rep.code)
		return snprintf(msg, msgsz, "%s", rep.message), rep.code;
	return NULL;
}

static struct json_object *ver_new(struct json_object *prop, struct json_object *cfg, int64_t now)
{
	struct json_object *v = json_object_new_object(), *copy = NULL;

	json_object_deep_copy(cfg, &copy, NULL);
	set_int(v, "version", ver_latest(prop) + 1);
	json_object_object_add(v, "configs", copy);
	set_int(v, "created_ms", now);
	set_int(v, "updated_ms", now);
	json_object_object_add(v, "frozen", json_object_new_boolean(false));
	set_str(v, "validation", "NotValidated");
	json_object_array_add(fk_jarr_ensure(prop, "versions"), v);
	set_int(prop, "updated_ms", now);
	return v;
}

static struct json_object *prop_new(struct fk_app *app, const char *id, const char *name,
				    const char *desc, int64_t now)
{
	struct json_object *p = json_object_new_object();
	char hex[2 * ID_HEX_BYTES + 1];

	if (!id) {
		fk_random_hex(ID_HEX_BYTES, hex);
		id = hex;
	}
	set_str(p, "id", id);
	set_str(p, "name", name);
	set_str(p, "description", desc);
	set_int(p, "created_ms", now);
	set_int(p, "updated_ms", now);
	json_object_object_add(p, "versions", json_object_new_array());
	json_object_array_add(props(app, true), p);
	return p;
}

/* ---- request helpers ---- */

/* Parses "latest" (→ the newest) or a positive integer; false when neither. */
static bool parse_version(struct json_object *prop, const char *s, int64_t *v)
{
	char *end;

	if (strcmp(s, "latest") == 0) {
		*v = ver_latest(prop);
		return true;
	}
	*v = strtoll(s, &end, 10);
	return *s && !*end && *v >= 1;
}

static bool parse_count(const char *s, int64_t *out, int64_t lo, int64_t hi)
{
	char *end;

	if (!s)
		return true;
	*out = strtoll(s, &end, 10);
	return *s && !*end && *out >= lo && *out <= hi;
}

static void reply(struct fk_resp *resp, int status, struct json_object *o, int64_t remaining)
{
	fk_resp_json(resp, status, o);
	json_object_put(o);
	fk_cdnpro_finish(resp, remaining);
}

static void created(struct fk_app *app, const struct fk_req *req, struct fk_resp *resp,
		    const char *coll, const char *id, int64_t remaining)
{
	fk_resp_text(resp, 201, NULL, NULL);
	fk_cdnpro_location(app, req, resp, coll, id);
	fk_state_changed(app, resp);
	fk_cdnpro_finish(resp, remaining);
}

/* The property of seg[2], or a 404 in resp. */
static struct json_object *want_prop(struct fk_app *app, const char **seg, struct fk_resp *resp)
{
	struct json_object *p = prop_find(app, seg[2]);

	if (!p)
		fk_error_pro(resp, 404, "InvalidPropertyId", MSG_NO_PROPERTY);
	return p;
}

/* The version of seg[4] in prop, or a 400/404 in resp. */
static struct json_object *want_ver(struct json_object *prop, const char **seg,
				    struct fk_resp *resp)
{
	struct json_object *v;
	int64_t n;

	if (!parse_version(prop, seg[4], &n)) {
		fk_error_pro(resp, 400, "InvalidVersion", MSG_BAD_VERSION);
		return NULL;
	}
	v = ver_find(prop, n);
	if (!v)
		fk_error_pro(resp, 404, "InvalidVersion", MSG_NO_VERSION);
	return v;
}

/* ---- properties ---- */

static struct json_object *env_summary(struct json_object *prop, const char *target)
{
	struct json_object *dep = fk_jobj(prop, target), *o, *cfg, *v;

	if (!dep)
		return NULL;
	v = ver_find(prop, fk_jint(dep, "version", 0));
	cfg = fk_jobj(v, "configs");
	o = json_object_new_object();
	set_int(o, "version", fk_jint(dep, "version", 0));
	json_object_object_add(o, "hostnames", json_object_get(fk_jarr(cfg, "hostnames")));
	if (fk_jstr(cfg, "tlsCertificateId"))
		set_str(o, "tlsCertificateId", fk_jstr(cfg, "tlsCertificateId"));
	return o;
}

void fk_pp_h_list(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		  struct fk_resp *resp)
{
	struct json_object *ps = props(app, false), *arr, *o;
	int64_t offset = 0, limit = LIST_LIMIT_DEFAULT, remaining, count = 0;
	const char *target = fk_req_arg(req, "target"), *order = fk_req_arg(req, "sortOrder");
	bool asc = order && strcmp(order, "asc") == 0;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	if (!parse_count(fk_req_arg(req, "limit"), &limit, 1, LIST_LIMIT_MAX)) {
		fk_error_pro(resp, 400, "InvalidListLimit",
			     "The value of limit should be an integer between 1 and 200.");
		return;
	}
	if (!parse_count(fk_req_arg(req, "offset"), &offset, 0, INT64_MAX)) {
		fk_error_pro(resp, 400, "InvalidListOffset",
			     "The offset must be a valid non-negative integer.");
		return;
	}
	if (target && strcmp(target, "all") && strcmp(target, "staging") &&
	    strcmp(target, "production")) {
		fk_error_pro(resp, 400, "InvalidTarget", "An invalid target was specified.");
		return;
	}
	arr = json_object_new_array();
	/* Stored oldest first: desc (the default, by creationTime) walks backwards. */
	for (size_t k = 0; k < alen(ps); k++) {
		struct json_object *p = json_object_array_get_idx(ps, asc ? k : alen(ps) - 1 - k),
				   *it;
		struct json_object *st = env_summary(p, "staging"),
				   *pr = env_summary(p, "production");

		if (target && strcmp(target, "all") &&
		    !(strcmp(target, "staging") == 0 ? st : pr)) {
			json_object_put(st);
			json_object_put(pr);
			continue;
		}
		if (count++ < offset || (int64_t)alen(arr) >= limit) {
			json_object_put(st);
			json_object_put(pr);
			continue;
		}
		it = json_object_new_object();
		set_str(it, "id", fk_jstr(p, "id"));
		set_str(it, "name", fk_jstr(p, "name"));
		set_str(it, "description", fk_jstr(p, "description"));
		set_time(it, "creationTime", fk_jint(p, "created_ms", 0));
		set_time(it, "lastUpdateTime", fk_jint(p, "updated_ms", 0));
		set_int(it, "latestVersion", ver_latest(p));
		if (st)
			json_object_object_add(it, "stagingVersion", st);
		if (pr)
			json_object_object_add(it, "productionVersion", pr);
		set_int(it, "customerId", customer(app));
		json_object_array_add(arr, it);
	}
	o = json_object_new_object();
	set_int(o, "count", count);
	json_object_object_add(o, "properties", arr);
	reply(resp, 200, o, remaining);
}

/* Creates a property with version 1; returns it, or NULL with the status, code and msg. */
static struct json_object *create_prop(struct fk_app *app, struct json_object *body, const char *id,
				       int64_t now, int *status, const char **code, char *msg,
				       size_t msgsz)
{
	const char *name = fk_jstr(body, "name"), *desc = fk_jstr(body, "description");
	struct json_object *q, *cfg = fk_jobj(body, "version"), *p;
	int64_t limit;

	*status = 400;
	if (!name || !*name || strlen(name) > NAME_MAX_LEN || (desc && strlen(desc) > NAME_MAX_LEN))
		return *code = "InvalidInput",
		       snprintf(msg, msgsz,
				"The name is required; name and description take at "
				"most 250 characters."),
		       NULL;
	if (fk_jfind(props(app, false), "name", name)) {
		*status = 409;
		return *code = "DuplicatePropertyName",
		       snprintf(msg, msgsz, "A property named '%.200s' already exists.", name),
		       NULL;
	}
	if (id && prop_find(app, id)) {
		*status = 409;
		return *code = "DuplicatePropertyId",
		       snprintf(msg, msgsz, "A property with id '%.64s' already exists.", id), NULL;
	}
	q = quota_get(app);
	limit = fk_jint(q, "propertyLimit", DEFAULT_PROP_LIMIT);
	json_object_put(q);
	if ((int64_t)alen(props(app, false)) >= limit) {
		*status = 403;
		return *code = "TooManyProperties",
		       snprintf(msg, msgsz,
				"You have created the maximum number of properties (%lld).",
				(long long)limit),
		       NULL;
	}
	if ((*code = check_config(app, cfg, msg, msgsz)) != NULL)
		return NULL;
	p = prop_new(app, id, name, desc, now);
	ver_new(p, cfg, now);
	return p;
}

void fk_pp_h_create(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		    struct fk_resp *resp)
{
	struct json_object *body, *p;
	int64_t remaining;
	const char *code = NULL;
	char msg[MSG_MAX];
	int status;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	body = fk_req_json(req);
	p = create_prop(app, body, NULL, req->now_ms, &status, &code, msg, sizeof(msg));
	json_object_put(body);
	if (!p) {
		fk_error_pro(resp, status, code, msg);
		return;
	}
	created(app, req, resp, "properties", fk_jstr(p, "id"), remaining);
}

void fk_pp_h_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		 struct fk_resp *resp)
{
	struct json_object *p, *o, *st, *pr;
	int64_t remaining;

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining) || !(p = want_prop(app, seg, resp)))
		return;
	st = fk_jobj(p, "staging");
	pr = fk_jobj(p, "production");
	o = json_object_new_object();
	set_str(o, "name", fk_jstr(p, "name"));
	set_str(o, "description", fk_jstr(p, "description"));
	set_int(o, "ownerCustomerId", customer(app));
	set_int(o, "versions", (int64_t)alen(fk_jarr(p, "versions")));
	/* The deployment members are left out where the property is not deployed. */
	if (pr) {
		set_int(o, "versionInProduction", fk_jint(pr, "version", 0));
		set_time(o, "productionDeploymentTime", fk_jint(pr, "deployed_ms", 0));
	}
	if (st) {
		set_int(o, "versionInStaging", fk_jint(st, "version", 0));
		set_time(o, "stagingDeploymentTime", fk_jint(st, "deployed_ms", 0));
	}
	set_time(o, "creationTime", fk_jint(p, "created_ms", 0));
	set_time(o, "lastUpdateTime", fk_jint(p, "updated_ms", 0));
	last_modified(resp, fk_jint(p, "updated_ms", 0));
	reply(resp, 200, o, remaining);
}

/* ---- versions ---- */

static bool in_env(struct json_object *p, const char *target, int64_t v)
{
	struct json_object *dep = fk_jobj(p, target);

	return dep && fk_jint(dep, "version", 0) == v;
}

static void add_validation(struct json_object *o, struct json_object *v)
{
	set_str(o, "lastValidationStatus", fk_jstr(v, "validation"));
	if (fk_jint(v, "validated_ms", 0))
		set_time(o, "lastValidationTime", fk_jint(v, "validated_ms", 0));
	else
		set_str(o, "lastValidationTime", "");
}

static struct json_object *ver_item(struct json_object *v)
{
	struct json_object *it = json_object_new_object(), *cfg = fk_jobj(v, "configs");

	set_int(it, "version", fk_jint(v, "version", 0));
	set_str(it, "description", fk_jstr(cfg, "description"));
	set_time(it, "creationTime", fk_jint(v, "created_ms", 0));
	set_time(it, "lastUpdateTime", fk_jint(v, "updated_ms", 0));
	json_object_object_add(it, "hostnames", json_object_get(fk_jarr(cfg, "hostnames")));
	json_object_object_add(it, "frozen", json_object_new_boolean(fk_jbool(v, "frozen", false)));
	add_validation(it, v);
	set_str(it, "warning", "");
	return it;
}

/* Whether a sorts before b under the list's sortBy/sortOrder. */
static bool before(struct json_object *a, struct json_object *b, bool by_update, bool asc)
{
	const char *k = by_update ? "updated_ms" : "version";
	int64_t x = fk_jint(a, k, 0), y = fk_jint(b, k, 0);

	if (x == y) {
		x = fk_jint(a, "version", 0);
		y = fk_jint(b, "version", 0);
	}
	return asc ? x < y : x > y;
}

void fk_pp_h_versions(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		      struct fk_resp *resp)
{
	const char *by = fk_req_arg(req, "sortBy"), *order = fk_req_arg(req, "sortOrder");
	const char *search = fk_req_arg(req, "search");
	int64_t offset = 0, limit = LIST_LIMIT_DEFAULT, remaining, count = 0;
	struct json_object *p, *vs, **sorted, *arr, *o;
	bool by_update, asc;
	size_t n;

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	if (!parse_count(fk_req_arg(req, "limit"), &limit, 1, LIST_LIMIT_MAX)) {
		fk_error_pro(resp, 400, "InvalidListLimit",
			     "The value of limit should be an integer between 1 and 200.");
		return;
	}
	if (!parse_count(fk_req_arg(req, "offset"), &offset, 0, INT64_MAX)) {
		fk_error_pro(resp, 400, "InvalidListOffset",
			     "The offset must be a valid non-negative integer.");
		return;
	}
	if (by && strcmp(by, "version") && strcmp(by, "lastUpdateTime")) {
		fk_error_pro(resp, 400, "InvalidSortBy",
			     "The valid sortBy values are version or lastUpdateTime.");
		return;
	}
	if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
		fk_error_pro(resp, 400, "InvalidSortOrder",
			     "The valid sort order values are asc or desc.");
		return;
	}
	if (!(p = want_prop(app, seg, resp)))
		return;
	by_update = by && strcmp(by, "lastUpdateTime") == 0;
	asc = !order || strcmp(order, "asc") == 0; /* default asc, unlike the other lists */
	vs = fk_jarr(p, "versions");
	n = alen(vs);
	sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	for (size_t i = 0; i < n; i++) { /* insertion sort: a property holds at most the cap */
		struct json_object *v = json_object_array_get_idx(vs, i);
		size_t j = i;

		while (j > 0 && before(v, sorted[j - 1], by_update, asc)) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = v;
	}
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		const char *d = fk_jstr(fk_jobj(sorted[i], "configs"), "description");

		if (search && *search && (!d || !strstr(d, search)))
			continue;
		if (count++ >= offset && (int64_t)alen(arr) < limit)
			json_object_array_add(arr, ver_item(sorted[i]));
	}
	free(sorted);
	o = json_object_new_object();
	set_int(o, "count", count);
	json_object_object_add(o, "propertyVersions", arr);
	reply(resp, 200, o, remaining);
}

void fk_pp_h_ver_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		     struct fk_resp *resp)
{
	struct json_object *p, *v, *o, *st;
	int64_t remaining, n;

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining) || !(p = want_prop(app, seg, resp)) ||
	    !(v = want_ver(p, seg, resp)))
		return;
	n = fk_jint(v, "version", 0);
	o = json_object_new_object();
	set_int(o, "version", n);
	json_object_object_add(o, "configs", json_object_get(fk_jobj(v, "configs")));
	st = json_object_new_object();
	add_validation(st, v);
	json_object_object_add(st, "frozen", json_object_new_boolean(fk_jbool(v, "frozen", false)));
	set_time(st, "creationTime", fk_jint(v, "created_ms", 0));
	set_time(st, "lastUpdateTime", fk_jint(v, "updated_ms", 0));
	json_object_object_add(st, "inProduction",
			       json_object_new_boolean(in_env(p, "production", n)));
	json_object_object_add(st, "inStaging", json_object_new_boolean(in_env(p, "staging", n)));
	set_str(st, "warning", "");
	if (fk_jint(v, "last_staging_ms", 0))
		set_time(st, "lastStagingDeployment", fk_jint(v, "last_staging_ms", 0));
	if (fk_jint(v, "last_production_ms", 0))
		set_time(st, "lastProductionDeployment", fk_jint(v, "last_production_ms", 0));
	json_object_object_add(st, "secrets", json_object_new_array());
	json_object_object_add(st, "deleted", json_object_new_boolean(false));
	json_object_object_add(o, "status", st);
	last_modified(resp, fk_jint(v, "updated_ms", 0));
	reply(resp, 200, o, remaining);
}

void fk_pp_h_ver_create(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp)
{
	struct json_object *p, *body, *v;
	char msg[MSG_MAX], loc[LOCATION_MAX], num[32];
	const char *code;
	int64_t remaining;

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining) || !(p = want_prop(app, seg, resp)))
		return;
	if ((int64_t)alen(fk_jarr(p, "versions")) >= app->knobs.cdnpro_version_cap) {
		fk_error_pro(resp, 403, "TooManyVersions", MSG_TOO_MANY_VERSIONS);
		return;
	}
	body = fk_req_json(req);
	code = check_config(app, body, msg, sizeof(msg));
	if (code) {
		json_object_put(body);
		{
			fk_error_pro(resp, 400, code, msg);
			return;
		}
	}
	v = ver_new(p, body, req->now_ms);
	json_object_put(body);
	snprintf(loc, sizeof(loc), "properties/%s/versions", fk_jstr(p, "id"));
	snprintf(num, sizeof(num), "%lld", (long long)fk_jint(v, "version", 0));
	created(app, req, resp, loc, num, remaining);
}

/* A frozen version takes a body that changes nothing but its description. */
static bool description_only(struct json_object *body, struct json_object *cfg)
{
	struct json_object *a = NULL, *b = NULL;
	bool same;

	json_object_deep_copy(body, &a, NULL);
	json_object_deep_copy(cfg, &b, NULL);
	json_object_object_del(a, "description");
	json_object_object_del(b, "description");
	same = json_object_object_length(a) == 0 || json_object_equal(a, b);
	json_object_put(a);
	json_object_put(b);
	return same;
}

void fk_pp_h_ver_patch(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		       struct fk_resp *resp)
{
	const char *ius = fk_req_header(req, "If-Unmodified-Since"), *code;
	struct json_object *p, *v, *body, *cfg;
	int64_t remaining, since;
	char msg[MSG_MAX];

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining) || !(p = want_prop(app, seg, resp)) ||
	    !(v = want_ver(p, seg, resp)))
		return;
	since = ius ? fk_parse_http_date(ius) : -1;
	/* Dates have whole seconds: changed since means a later second. */
	if (since >= 0 && fk_jint(v, "updated_ms", 0) / 1000 > since) {
		fk_error_pro(resp, 412, "PreconditionFailed",
			     "The resource has been modified since the date specified in "
			     "the If-Unmodified-Since header.");
		return;
	}
	body = fk_req_json(req);
	cfg = fk_jobj(v, "configs");
	if (fk_jbool(v, "frozen", false)) {
		if (!body || !json_object_is_type(body, json_type_object) ||
		    !description_only(body, cfg)) {
			json_object_put(body);
			{
				fk_error_pro(resp, 400, "FrozenPropertyVersion", MSG_FROZEN);
				return;
			}
		}
		if (fk_jstr(body, "description"))
			set_str(cfg, "description", fk_jstr(body, "description"));
		/* A new description does not make a validated version outdated (rollback). */
		if (fk_jint(v, "validated_update_ms", -1) == fk_jint(v, "updated_ms", 0))
			set_int(v, "validated_update_ms", req->now_ms);
	} else if ((code = check_config(app, body, msg, sizeof(msg))) != NULL) {
		json_object_put(body);
		{
			fk_error_pro(resp, 400, code, msg);
			return;
		}
	} else {
		/* The whole config is replaced (the reference's reading: send all of it). */
		struct json_object *copy = NULL;

		json_object_deep_copy(body, &copy, NULL);
		json_object_object_add(v, "configs", copy);
		set_str(v, "validation", "NotValidated");
	}
	json_object_put(body);
	set_int(v, "updated_ms", req->now_ms);
	set_int(p, "updated_ms", req->now_ms);
	fk_resp_text(resp, 204, NULL, NULL);
	fk_state_changed(app, resp);
	fk_cdnpro_finish(resp, remaining);
}

/* ---- tasks ---- */

static struct json_object *task_new(struct fk_app *app, const struct fk_req *req, const char *kind,
				    int64_t delay_ms, const char *name)
{
	char id[2 * ID_HEX_BYTES + 1], rid[17];
	struct json_object *t;

	fk_random_hex(ID_HEX_BYTES, id);
	fk_random_hex(8, rid);
	t = fk_task_new(app, kind, id, req->now_ms);
	set_int(t, "due_ms", req->now_ms + delay_ms);
	set_str(t, "apiRequestId", rid);
	if (name)
		set_str(t, "name", name);
	return t;
}

/* Integer or numeric string (the spec types deployment versions as strings; tools send
 * numbers); 0 when neither. */
static int64_t json_version(struct json_object *o, const char *key)
{
	struct json_object *v;
	char *end;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_string))
		return 0;
	n = strtoll(json_object_get_string(v), &end, 10);
	return *json_object_get_string(v) && !*end ? n : 0;
}

void fk_pp_h_val_create(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp)
{
	struct json_object *body = NULL, *p, *v, *t;
	struct fk_el_report rep;
	int64_t remaining;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	body = fk_req_json(req);
	p = prop_find(app, fk_jstr(body, "propertyId"));
	v = p ? ver_find(p, json_version(body, "version")) : NULL;
	if (!v) {
		fk_error_pro(resp, 400, "InvalidPropertyVersion", MSG_NO_VERSION);
	} else if (fk_jbool(v, "frozen", false)) {
		fk_error_pro(resp, 400, "FrozenPropertyVersion",
			     "The property version cannot be validated again because it has been "
			     "deployed to staging or production.");
	} else {
		t = task_new(app, req, KIND_VALIDATION, app->knobs.cdnpro_validation_ms,
			     fk_jstr(body, "name"));
		set_str(t, "propertyId", fk_jstr(p, "id"));
		set_int(t, "version", fk_jint(v, "version", 0));
		set_int(t, "version_updated_ms", fk_jint(v, "updated_ms", 0));
		if (fk_jstr(body, "webhook"))
			set_str(t, "webhook", fk_jstr(body, "webhook"));
		/* What nginx would refuse is known now; the task reports it when it ends. */
		el_report(app, fk_jobj(v, "configs"), &rep);
		if (rep.failed) {
			json_object_object_add(t, "fail", json_object_new_boolean(true));
			set_str(t, "statusDetails", rep.details);
		} else if (fk_jbool(t, "fail", false)) {
			set_str(t, "statusDetails",
				"validation failed: the task_fail knob is set (fakecdn)");
		}
		set_str(v, "validation", "InProgress");
		created(app, req, resp, "validations", fk_jstr(t, "id"), remaining);
	}
	json_object_put(body);
}

/* waiting for the first third of the delay, then running. */
static bool waiting(struct json_object *t, int64_t now)
{
	int64_t c = fk_jint(t, "created_ms", 0), d = fk_jint(t, "due_ms", 0);

	return now < c + (d - c) / 3;
}

static void task_times(struct json_object *o, struct json_object *t, bool done)
{
	set_time(o, "submissionTime", fk_jint(t, "created_ms", 0));
	if (done)
		set_time(o, "finishTime", fk_jint(t, "finished_ms", 0));
	else
		set_str(o, "finishTime", "");
}

/* statusDetails of a succeeded validation: the JSON-encoded probe list, one per hostname. */
static char *probe_details(struct fk_app *app, struct json_object *t)
{
	struct json_object *p = prop_find(app, fk_jstr(t, "propertyId"));
	struct json_object *v = ver_find(p, fk_jint(t, "version", 0));
	struct json_object *hs = fk_jarr(fk_jobj(v, "configs"), "hostnames");
	struct json_object *arr = json_object_new_array();
	char url[HOSTNAME_MAX + 16], *s;

	for (size_t i = 0; i < alen(hs); i++) {
		struct json_object *e = json_object_new_object();

		snprintf(url, sizeof(url), "http://%s",
			 json_object_get_string(json_object_array_get_idx(hs, i)));
		set_str(e, "url", url);
		set_str(e, "status", "succeeded");
		set_str(e, "reason", "200");
		json_object_array_add(arr, e);
	}
	s = fk_json_text(arr);
	json_object_put(arr);
	return s;
}

void fk_pp_h_val_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		     struct fk_resp *resp)
{
	struct json_object *t, *o;
	const char *st;
	int64_t remaining;
	char *details = NULL;

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	if (!(t = fk_task_find(app, KIND_VALIDATION, seg[2]))) {
		fk_error_pro(resp, 404, "InvalidValidationTaskId",
			     "The specified validation task ID does not exist.");
		return;
	}
	st = fk_task_status(t);
	o = json_object_new_object();
	set_str(o, "propertyId", fk_jstr(t, "propertyId"));
	set_int(o, "version", fk_jint(t, "version", 0));
	task_times(o, t, strcmp(st, "running") != 0);
	if (strcmp(st, "running") == 0) {
		bool w = waiting(t, req->now_ms);

		set_str(o, "status", w ? "waiting" : "in progress");
		set_str(o, "statusDetails", w ? "queued after 0 tasks" : "");
	} else if (strcmp(st, "failed") == 0) {
		set_str(o, "status", "failed");
		set_str(o, "statusDetails", fk_jstr(t, "statusDetails"));
	} else {
		details = probe_details(app, t);
		set_str(o, "status", "succeeded");
		set_str(o, "statusDetails", details);
	}
	free(details);
	set_int(o, "customerId", customer(app));
	set_str(o, "apiRequestId", fk_jstr(t, "apiRequestId"));
	if (fk_jstr(t, "name"))
		set_str(o, "name", fk_jstr(t, "name"));
	if (fk_jstr(t, "webhook"))
		set_str(o, "webhook", fk_jstr(t, "webhook"));
	reply(resp, 200, o, remaining);
}

/* A running deployment task of target already touching property id. */
static bool deploying(struct fk_app *app, const char *id, const char *target)
{
	struct json_object *ts = fk_jarr(app->state, "tasks");

	for (size_t i = 0; i < alen(ts); i++) {
		struct json_object *t = json_object_array_get_idx(ts, i);
		const char *k = fk_jstr(t, "kind"), *tg = fk_jstr(t, "target");

		if (!k || strcmp(k, KIND_DEPLOY) || !tg || strcmp(tg, target) ||
		    strcmp(fk_task_status(t), "running") != 0)
			continue;
		if (fk_jfind(fk_jarr(t, "actions"), "propertyId", id))
			return true;
	}
	return false;
}

/* Checks one action of a deployment; returns the error code (status in *status) or NULL. */
static const char *check_action(struct fk_app *app, struct json_object *a, const char *target,
				int *status, char *msg, size_t msgsz)
{
	const char *act = fk_jstr(a, "action"), *id = fk_jstr(a, "propertyId");
	struct json_object *p = prop_find(app, id), *v;
	int64_t n = json_version(a, "version");

	*status = 400;
	if (!act || (strcmp(act, "deploy_property") && strcmp(act, "remove_property")))
		return snprintf(msg, msgsz,
				"Invalid action '%.64s': fakecdn emulates deploy_property and "
				"remove_property.",
				act ? act : ""),
		       "InvalidAction";
	if (!p)
		return snprintf(msg, msgsz, "The property ID '%.64s' does not exist.",
				id ? id : ""),
		       "InvalidPropertyId";
	if (deploying(app, id, target))
		return snprintf(msg, msgsz,
				"A version of property '%.64s' is already being deployed in the "
				"'%s' environment.",
				id, target),
		       "DuplicateDeployment";
	if (strcmp(act, "remove_property") == 0)
		return NULL;
	if (!(v = ver_find(p, n)))
		return snprintf(msg, msgsz,
				"The specified version %lld or property '%.64s' does not exist.",
				(long long)n, id),
		       "InvalidPropertyVersion";
	if (strcmp(fk_jstr(v, "validation"), "Validated") != 0 ||
	    fk_jint(v, "validated_update_ms", -1) != fk_jint(v, "updated_ms", 0))
		return snprintf(msg, msgsz,
				"Version %lld of property '%.64s' has not been validated since its "
				"last change. Please validate the property again.",
				(long long)n, id),
		       "OutdatedProperty";
	if (strcmp(target, "production") == 0 && !allow_production(app, p)) {
		*status = 403;
		return snprintf(msg, msgsz,
				"Deployment to production is not allowed for property '%.64s' "
				"(allowProduction is false). Deployment to staging is always "
				"permitted.",
				id),
		       "AccessDenied";
	}
	return NULL;
}

void fk_pp_h_dep_create(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp)
{
	struct json_object *body, *acts, *t;
	const char *target, *code = NULL;
	char msg[MSG_MAX], uuid[FK_UUID_LEN + 1];
	int64_t remaining;
	int status = 400;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	body = fk_req_json(req);
	target = fk_jstr(body, "target");
	acts = fk_jarr(body, "actions");
	if (!target || (strcmp(target, "staging") && strcmp(target, "production"))) {
		code = "InvalidDeploymentTarget";
		snprintf(msg, sizeof(msg), "The target must be 'staging' or 'production'.");
	} else if (alen(acts) == 0) {
		code = "InvalidAction";
		snprintf(msg, sizeof(msg), "The field 'actions' must be a non-empty list.");
	}
	for (size_t i = 0; !code && i < alen(acts); i++)
		code = check_action(app, json_object_array_get_idx(acts, i), target, &status, msg,
				    sizeof(msg));
	if (code) {
		json_object_put(body);
		{
			fk_error_pro(resp, status, code, msg);
			return;
		}
	}
	t = task_new(app, req, KIND_DEPLOY, app->knobs.cdnpro_deploy_ms, fk_jstr(body, "name"));
	/* Deployment task ids are UUIDs (the spec's Location example). */
	fk_uuid(uuid);
	set_str(t, "id", uuid);
	set_str(t, "target", target);
	json_object_object_add(t, "actions", json_object_get(acts));
	if (fk_jstr(body, "webhook"))
		set_str(t, "webhook", fk_jstr(body, "webhook"));
	json_object_put(body);
	created(app, req, resp, "deploymentTasks", uuid, remaining);
}

void fk_pp_h_dep_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		     struct fk_resp *resp)
{
	struct json_object *t, *o;
	const char *st;
	int64_t remaining;

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	if (!(t = fk_task_find(app, KIND_DEPLOY, seg[2]))) {
		fk_error_pro(resp, 404, "InvalidDeploymentTaskId",
			     "The specified deployment task ID does not exist.");
		return;
	}
	st = fk_task_status(t);
	o = json_object_new_object();
	if (fk_jstr(t, "name"))
		set_str(o, "name", fk_jstr(t, "name"));
	task_times(o, t, strcmp(st, "running") != 0);
	json_object_object_add(o, "actions", json_object_get(fk_jarr(t, "actions")));
	set_str(o, "target", fk_jstr(t, "target"));
	if (strcmp(st, "running") == 0) {
		set_str(o, "status", waiting(t, req->now_ms) ? "waiting" : "inprogress");
		set_str(o, "statusDetails", "");
	} else {
		set_str(o, "status", st);
		set_str(o, "statusDetails",
			strcmp(st, "succeeded") == 0
			    ? DEPLOY_SUCCESS
			    : "The deployment failed: the task_fail knob is set (fakecdn).");
	}
	set_str(o, "apiRequestId", fk_jstr(t, "apiRequestId"));
	set_int(o, "customerId", customer(app));
	if (fk_jstr(t, "webhook"))
		set_str(o, "webhook", fk_jstr(t, "webhook"));
	reply(resp, 200, o, remaining);
}

bool fk_cdnpro_prop_task(const char *kind)
{
	return kind && (strcmp(kind, KIND_VALIDATION) == 0 || strcmp(kind, KIND_DEPLOY) == 0);
}

static void deploy_done(struct fk_app *app, struct json_object *t, int64_t when)
{
	struct json_object *acts = fk_jarr(t, "actions");
	const char *target = fk_jstr(t, "target");
	char key[32];

	for (size_t i = 0; target && i < alen(acts); i++) {
		struct json_object *a = json_object_array_get_idx(acts, i);
		struct json_object *p = prop_find(app, fk_jstr(a, "propertyId")), *v, *dep;

		if (!p)
			continue;
		if (strcmp(fk_jstr(a, "action"), "remove_property") == 0) {
			json_object_object_del(p, target);
			continue;
		}
		if (!(v = ver_find(p, json_version(a, "version"))))
			continue;
		dep = json_object_new_object();
		set_int(dep, "version", fk_jint(v, "version", 0));
		set_int(dep, "deployed_ms", when);
		json_object_object_add(p, target, dep);
		/* Ever deployed: frozen for good, so any deployed version can be rolled back to. */
		json_object_object_add(v, "frozen", json_object_new_boolean(true));
		snprintf(key, sizeof(key), "last_%s_ms", target);
		set_int(v, key, when);
	}
}

void fk_cdnpro_prop_task_done(struct fk_app *app, struct json_object *t, bool fail, int64_t when_ms)
{
	const char *kind = fk_jstr(t, "kind");
	struct json_object *p, *v;

	if (strcmp(kind, KIND_DEPLOY) == 0) {
		if (!fail)
			deploy_done(app, t, when_ms);
		return;
	}
	p = prop_find(app, fk_jstr(t, "propertyId"));
	v = ver_find(p, fk_jint(t, "version", 0));
	/* A version changed while it was validated keeps NotValidated (its PATCH set it). */
	if (!v || fk_jint(v, "updated_ms", 0) != fk_jint(t, "version_updated_ms", -1))
		return;
	set_str(v, "validation", fail ? "Failed" : "Validated");
	set_int(v, "validated_ms", when_ms);
	set_int(v, "validated_update_ms", fk_jint(v, "updated_ms", 0));
}

/* ---- staging servers, quotas, system configs, hostnames ---- */

void fk_pp_h_staging(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		     struct fk_resp *resp)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array(), *s;
	int64_t remaining;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining)) {
		json_object_put(o);
		json_object_put(arr);
		return;
	}
	/* The staging listener (main.c): same port as the API, its own loopback address. */
	if (app->staging_ip[0]) {
		s = json_object_new_object();
		set_str(s, "ip", app->staging_ip);
		set_str(s, "code", STAGING_CODE);
		set_str(s, "location", STAGING_LOCATION);
		set_int(s, "ipVersion", 4);
		json_object_array_add(arr, s);
	}
	json_object_object_add(o, "stagingServers", arr);
	reply(resp, 200, o, remaining);
}

void fk_pp_h_quota(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		   struct fk_resp *resp)
{
	char own[32];
	int64_t remaining;
	bool set;

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	snprintf(own, sizeof(own), "%lld", (long long)customer(app));
	if (strcmp(seg[3], "me") && strcmp(seg[3], own)) {
		fk_error_pro(resp, 403, "AccessDenied",
			     "This user is not allowed to perform this request.");
		return;
	}
	/* No quota defined: 404 with the defaults in the body, as the service answers. */
	set = fk_jobj(pro_sec(app, false), "service_quota") != NULL;
	reply(resp, set ? 200 : 404, set ? quota_get(app) : quota_defaults(app), remaining);
}

static struct json_object *str_list(const char *const *l, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(l[i]));
	return a;
}

void fk_pp_h_sysconf(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		     struct fk_resp *resp)
{
	struct json_object *o;
	const char *const *l;
	int64_t remaining;
	size_t n;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	o = json_object_new_object();
	l = fk_el_directives(false, &n);
	json_object_object_add(o, "baseDirectives", str_list(l, n));
	l = fk_el_directives(true, &n);
	json_object_object_add(o, "advancedDirectives", str_list(l, n));
	set_str(o, "oldestPropertyValidationTime", OLDEST_VALIDATION);
	reply(resp, 200, o, remaining);
}

/* {propertyId, version, certificateId} of the property serving host in target, or null. */
static struct json_object *host_env(struct fk_app *app, const char *host, const char *target)
{
	struct json_object *ps = props(app, false);
	struct json_object *cfg = fk_cdnpro_prop_serving(app, host, target), *o;

	for (size_t i = 0; cfg && i < alen(ps); i++) {
		struct json_object *p = json_object_array_get_idx(ps, i);
		struct json_object *dep = fk_jobj(p, target);
		struct json_object *v = dep ? ver_find(p, fk_jint(dep, "version", 0)) : NULL;

		if (!v || fk_jobj(v, "configs") != cfg)
			continue;
		o = json_object_new_object();
		set_str(o, "propertyId", fk_jstr(p, "id"));
		set_int(o, "version", fk_jint(v, "version", 0));
		json_object_object_add(o, "certificateId", NULL);
		return o;
	}
	return NULL;
}

void fk_pp_h_hostname(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		      struct fk_resp *resp)
{
	struct json_object *o;
	int64_t remaining;

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	o = json_object_new_object();
	set_str(o, "hostname", seg[2]);
	json_object_object_add(o, "propertyInProduction", host_env(app, seg[2], "production"));
	json_object_object_add(o, "propertyInStaging", host_env(app, seg[2], "staging"));
	reply(resp, 200, o, remaining);
}

/* ---- seeding ---- */

/* Creates a property from the seed shape, deployed where it says; NULL with msg. */
static struct json_object *seed_one(struct fk_app *app, struct json_object *seed, int64_t now,
				    char *msg, size_t msgsz)
{
	struct json_object *deploy = fk_jarr(seed, "deploy"), *p, *v, *allow;
	const char *code = NULL, *id = fk_jstr(seed, "id");
	char pmsg[MSG_MAX];
	int status;

	if (id && (strlen(id) != 2 * ID_HEX_BYTES || strspn(id, "0123456789abcdef") != strlen(id)))
		return snprintf(msg, msgsz, "property id '%.64s' is not 24 lower-case hex digits",
				id),
		       NULL;
	for (size_t i = 0; i < alen(deploy); i++) {
		const char *tg = json_object_get_string(json_object_array_get_idx(deploy, i));

		if (!tg || (strcmp(tg, "staging") && strcmp(tg, "production")))
			return snprintf(msg, msgsz, "deploy takes \"staging\" and \"production\""),
			       NULL;
	}
	p = create_prop(app, seed, id, now, &status, &code, pmsg, sizeof(pmsg));
	if (!p)
		return snprintf(msg, msgsz, "%s: %s", code, pmsg), NULL;
	if (json_object_object_get_ex(seed, "allowProduction", &allow) &&
	    json_object_is_type(allow, json_type_boolean))
		json_object_object_add(p, "allowProduction", json_object_get(allow));
	v = ver_find(p, 1);
	set_str(v, "validation", "Validated");
	set_int(v, "validated_ms", now);
	set_int(v, "validated_update_ms", now);
	for (size_t i = 0; i < alen(deploy); i++) {
		const char *tg = json_object_get_string(json_object_array_get_idx(deploy, i));
		struct json_object *dep = json_object_new_object();
		char key[32];

		set_int(dep, "version", 1);
		set_int(dep, "deployed_ms", now);
		json_object_object_add(p, tg, dep);
		json_object_object_add(v, "frozen", json_object_new_boolean(true));
		snprintf(key, sizeof(key), "last_%s_ms", tg);
		set_int(v, key, now);
	}
	return p;
}

void fk_pp_h_admin_create(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			  struct fk_resp *resp)
{
	struct json_object *body = fk_req_json(req), *p;
	char msg[MSG_MAX];

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!body || !json_object_is_type(body, json_type_object)) {
		json_object_put(body);
		{
			fk_error_admin(resp, 400, "the body must be a JSON object");
			return;
		}
	}
	p = seed_one(app, body, req->now_ms, msg, sizeof(msg));
	json_object_put(body);
	if (!p) {
		fk_error_admin(resp, 400, msg);
		return;
	}
	fk_state_changed(app, resp);
	fk_resp_json(resp, 201, p);
}

int fk_cdnpro_prop_seed(struct fk_app *app, int64_t now_ms, char *msg, size_t msgsz)
{
	struct json_object *ps = props(app, false), *seeds;
	int rc = 0;

	if (!ps)
		return 0;
	/* Entries without "versions" are seeds: take them out and create them in order. */
	seeds = json_object_new_array();
	for (size_t i = alen(ps); i-- > 0;) {
		struct json_object *e = json_object_array_get_idx(ps, i);

		if (fk_jarr(e, "versions"))
			continue;
		json_object_array_put_idx(seeds, json_object_array_length(seeds),
					  json_object_get(e));
		json_object_array_del_idx(ps, i, 1);
	}
	for (size_t i = alen(seeds); rc == 0 && i-- > 0;)
		if (!seed_one(app, json_object_array_get_idx(seeds, i), now_ms, msg, msgsz))
			rc = -1;
	json_object_put(seeds);
	return rc;
}
