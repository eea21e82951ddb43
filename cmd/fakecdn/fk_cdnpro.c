#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_cdnpro.h"
#include "cmd/fakecdn/fk_auth.h"
#include "cmd/fakecdn/fk_cdnpro_prop.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/xmem.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <strings.h>

#define URL_MIN		       10
#define URL_MAX		       2048
#define REGEX_BODY_MAX	       126
#define REGEX_UNLIMITED_MAX    2
#define REGEX_BOUND_MAX	       59
#define DEFAULT_MAX_FILES      1000
#define DEFAULT_MAX_DIRS       20
#define MAX_REGEX	       2
#define DEFAULT_FILE_QUOTA     5000
#define DEFAULT_DIR_QUOTA      20
#define DEFAULT_PREFETCH_QUOTA 5000
#define DEFAULT_CUSTOMER       10000021
#define WINDOW_MS	       (24LL * 3600 * 1000)
#define LIST_RETENTION_MS      (15LL * 24 * 3600 * 1000)
#define DEFAULT_LIST_LIMIT     100
#define MSG_MAX		       512
#define ENCODE_CHARS	       "[]{}`|^<>\\\" "

static struct json_object *pro(struct fk_app *app)
{
	return fk_jobj(app->state, "cdnpro");
}

static int64_t quota(struct fk_app *app, const char *key, int64_t fallback)
{
	return fk_jint(fk_jobj(pro(app), "quota"), key, fallback);
}

/* Rate limit then credentials; on success the remaining-token header goes on 2xx answers. */
bool fk_cdnpro_begin(struct fk_app *app, const struct fk_req *req, struct fk_resp *resp,
		     int64_t *remaining)
{
	int64_t retry = 0;
	char num[32];

	/* Every request costs a token, failed and malformed ones too (§6.2). */
	if (!fk_bucket_take(&app->bucket, app->knobs.cdnpro_rate_per_minute,
			    app->knobs.cdnpro_burst, req->now_ms, remaining, &retry)) {
		snprintf(num, sizeof(num), "%lld", (long long)retry);
		fk_error_pro(resp, 429, "TooManyRequests",
			     "Too many requests. Please retry later.");
		fk_resp_header(resp, "x-rate-limit-retry-after-seconds", num);
		return false;
	}
	if (!fk_cdnpro_verify(req, fk_jarr(pro(app), "users"), app->knobs.cdnpro_date_window_s)) {
		fk_error_pro(resp, 403, "AccessDenied", "Please enter valid credentials.");
		return false;
	}
	resp->auth = true;
	return true;
}

void fk_cdnpro_finish(struct fk_resp *resp, int64_t remaining)
{
	char num[32];

	if (resp->status >= 200 && resp->status < 300) {
		snprintf(num, sizeof(num), "%lld", (long long)remaining);
		fk_resp_header(resp, "x-rate-limit-remaining", num);
	}
}

/* Host of an absolute URL (scheme://host[:port]/…) into buf; false when there is none. */
static bool url_host(const char *url, char *buf, size_t bufsz)
{
	const char *h = strstr(url, "://");
	size_t len;

	if (!h)
		return false;
	h += 3;
	len = strcspn(h, "/:?#");
	if (len == 0 || len >= bufsz)
		return false;
	memcpy(buf, h, len);
	buf[len] = '\0';
	return true;
}

static bool host_deployed(struct fk_app *app, const char *host, const char *target)
{
	struct json_object *hosts = fk_jarr(fk_jobj(pro(app), "hosts"), target);
	size_t n = hosts ? json_object_array_length(hosts) : 0;

	/* A property version deployed there serves its hostnames too. */
	if (fk_cdnpro_prop_serving(app, host, target))
		return true;
	for (size_t i = 0; i < n; i++) {
		const char *h = json_object_get_string(json_object_array_get_idx(hosts, i));
		size_t hl = strlen(h), l = strlen(host);

		if (strcasecmp(h, host) == 0)
			return true;
		/* "*.example.com" covers one more label on the left. */
		if (h[0] == '*' && h[1] == '.' && l > hl - 1 &&
		    strcasecmp(host + l - (hl - 1), h + 1) == 0 && !memchr(host, '.', l - (hl - 1)))
			return true;
	}
	return false;
}

static bool bad_percent_or_chars(const char *u)
{
	for (const char *p = u; *p; p++) {
		if (iscntrl((unsigned char)*p) || strchr(ENCODE_CHARS, *p))
			return true;
		if (*p == '%' && !(isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])))
			return true;
	}
	return false;
}

/* One fileUrls / dirUrls entry; returns a message (code InvalidPurgeUrl) or NULL. */
static const char *check_url(struct fk_app *app, const char *u, bool dir, const char *target,
			     char *msg, size_t msgsz)
{
	char host[256];
	size_t len = strlen(u);

	if (len < URL_MIN || len > URL_MAX)
		snprintf(msg, msgsz,
			 "The purge URL '%.300s' is invalid. Its length must be between %d and %d.",
			 u, URL_MIN, URL_MAX);
	else if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		snprintf(
		    msg, msgsz,
		    "The purge URL '%.300s' is invalid. It must start with http:// or https://.",
		    u);
	else if (!dir && strchr(u, '*'))
		snprintf(
		    msg, msgsz,
		    "The purge URL '%.300s' is invalid. Wildcards are only allowed in dirUrls.", u);
	else if (bad_percent_or_chars(u))
		snprintf(msg, msgsz,
			 "The purge URL '%.300s' is invalid. Special letters need to be encoded.",
			 u);
	else if (!url_host(u, host, sizeof(host)))
		snprintf(msg, msgsz, "The purge URL '%.300s' is invalid. It has no host.", u);
	else if (!host_deployed(app, host, target))
		snprintf(msg, msgsz, "The host '%s' has not been deployed in the '%s' environment.",
			 host, target);
	else
		return NULL;
	return msg;
}

/* Counts unlimited quantifiers and checks {m,n} bounds, skipping escapes and classes. */
static const char *check_quantifiers(const char *body, char *msg, size_t msgsz)
{
	int unlimited = 0;
	bool in_class = false;

	for (const char *p = body; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
		} else if (in_class) {
			in_class = *p != ']';
		} else if (*p == '[') {
			in_class = true;
		} else if (*p == '*' || *p == '+') {
			unlimited++;
		} else if (*p == '{') {
			char *end;
			long lo = strtol(p + 1, &end, 10), hi;

			if (end == p + 1 || (*end != ',' && *end != '}'))
				continue;
			if (*end == ',' && end[1] == '}') {
				unlimited++;
				continue;
			}
			hi = *end == ',' ? strtol(end + 1, &end, 10) : lo;
			if (hi > REGEX_BOUND_MAX)
				return snprintf(msg, msgsz,
						"The quantifier upper bound %ld exceeds %d.", hi,
						REGEX_BOUND_MAX),
				       msg;
		}
	}
	if (unlimited > REGEX_UNLIMITED_MAX)
		return snprintf(msg, msgsz,
				"The pattern has %d unlimited quantifiers; at most %d are allowed.",
				unlimited, REGEX_UNLIMITED_MAX),
		       msg;
	return NULL;
}

const char *fk_cdnpro_check_regex(const char *pattern, char *msg, size_t msgsz)
{
	const char *rest = NULL, *slash;
	pcre2_code *re;
	PCRE2_SIZE off;
	int err;

	if (strncmp(pattern, "http://", 7) == 0 || strncmp(pattern, "any://", 6) == 0)
		rest = pattern + (pattern[0] == 'h' ? 7 : 6);
	else if (strncmp(pattern, "https://", 8) == 0)
		rest = pattern + 8;
	slash = rest ? strchr(rest, '/') : NULL;
	if (!slash || slash == rest)
		return snprintf(msg, msgsz,
				"The regex pattern '%.300s' must start with http://, https:// or "
				"any:// followed by the host and '/'.",
				pattern),
		       msg;
	if (strlen(slash + 1) > REGEX_BODY_MAX)
		return snprintf(msg, msgsz,
				"The regex pattern '%.300s' is longer than %d characters after the "
				"host.",
				pattern, REGEX_BODY_MAX),
		       msg;
	if (check_quantifiers(slash + 1, msg, msgsz))
		return msg;
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
	if (!re)
		return snprintf(msg, msgsz,
				"The regex pattern '%.300s' does not compile (offset %zu).",
				pattern, (size_t)off),
		       msg;
	pcre2_code_free(re);
	return NULL;
}

struct purge_req {
	struct json_object *files, *dirs, *regex, *headers;
	const char *target, *action;
	size_t nf, nd, nr;
};

static const char *check_lists(struct fk_app *app, const struct purge_req *p, const char **code,
			       char *msg, size_t msgsz)
{
	struct json_object *lists[] = {p->files, p->dirs, p->regex};

	for (size_t l = 0; l < CF_ARRAY_LEN(lists); l++) {
		size_t n = lists[l] ? json_object_array_length(lists[l]) : 0;

		for (size_t i = 0; i < n; i++) {
			struct json_object *v = json_object_array_get_idx(lists[l], i);
			const char *s = json_object_get_string(v);
			char host[256];

			*code = l == 2 ? "InvalidRegexPattern" : "InvalidPurgeUrl";
			if (!json_object_is_type(v, json_type_string))
				return snprintf(msg, msgsz, "Every purge entry must be a string."),
				       msg;
			if (l < 2 && check_url(app, s, l == 1, p->target, msg, msgsz))
				return msg;
			if (l == 2 && fk_cdnpro_check_regex(s, msg, msgsz))
				return msg;
			if (l == 2 && url_host(s, host, sizeof(host)) &&
			    !host_deployed(app, host, p->target)) {
				*code = "InvalidPurgeUrl";
				return snprintf(msg, msgsz,
						"The host '%s' has not been deployed in the '%s' "
						"environment.",
						host, p->target),
				       msg;
			}
		}
	}
	return NULL;
}

static const char *check_headers(struct json_object *hdrs, char *msg, size_t msgsz)
{
	size_t n = hdrs ? json_object_array_length(hdrs) : 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++) {
			const char *a = fk_jstr(json_object_array_get_idx(hdrs, i), "name");
			const char *b = fk_jstr(json_object_array_get_idx(hdrs, j), "name");

			if (a && b && strcasecmp(a, b) == 0)
				return snprintf(msg, msgsz,
						"Multiple headers with same name are not allowed "
						"in fileHeaders."),
				       msg;
		}
	return NULL;
}

/* Entries purged in target over the last 24 hours: files, and dirs + regex together. */
static void used_24h(struct fk_app *app, const char *kind, const char *target, int64_t now,
		     int64_t *files, int64_t *dirs)
{
	struct json_object *tasks = fk_jarr(app->state, "tasks");
	size_t n = tasks ? json_object_array_length(tasks) : 0;

	*files = *dirs = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(tasks, i), *a;
		const char *k = fk_jstr(t, "kind"), *tg = fk_jstr(t, "target");

		if (!k || strcmp(k, kind) || (target && (!tg || strcmp(tg, target))) ||
		    fk_jint(t, "created_ms", 0) <= now - WINDOW_MS)
			continue;
		a = fk_jarr(t, strcmp(kind, "cdnpro_prefetch") == 0 ? "fileList" : "fileUrls");
		*files += a ? (int64_t)json_object_array_length(a) : 0;
		a = fk_jarr(t, "dirUrls");
		*dirs += a ? (int64_t)json_object_array_length(a) : 0;
		a = fk_jarr(t, "regexPatterns");
		*dirs += a ? (int64_t)json_object_array_length(a) : 0;
	}
}

static void tokens_left(struct fk_app *app, const char *target, int64_t now, int64_t *files,
			int64_t *dirs)
{
	char fk[64], dk[64];
	int64_t uf, ud;

	snprintf(fk, sizeof(fk), "file_purge_%s", target);
	snprintf(dk, sizeof(dk), "dir_purge_%s", target);
	used_24h(app, "cdnpro_purge", target, now, &uf, &ud);
	*files = quota(app, fk, DEFAULT_FILE_QUOTA) - uf;
	*dirs = quota(app, dk, DEFAULT_DIR_QUOTA) - ud;
}

/* Shape and limits of the body; returns the error code or NULL. */
static const char *parse_purge(struct fk_app *app, struct json_object *body, struct purge_req *p,
			       char *msg, size_t msgsz)
{
	const char *code = "InvalidPurgeUrl";

	memset(p, 0, sizeof(*p));
	if (!body || !json_object_is_type(body, json_type_object))
		return snprintf(msg, msgsz, "The request body must be a JSON object."),
		       "InvalidJson";
	p->files = fk_jarr(body, "fileUrls");
	p->dirs = fk_jarr(body, "dirUrls");
	p->regex = fk_jarr(body, "regexPatterns");
	p->headers = fk_jarr(body, "fileHeaders");
	p->target = fk_jstr(body, "target");
	p->action = fk_jstr(body, "action") ? fk_jstr(body, "action") : "invalidate";
	p->nf = p->files ? json_object_array_length(p->files) : 0;
	p->nd = p->dirs ? json_object_array_length(p->dirs) : 0;
	p->nr = p->regex ? json_object_array_length(p->regex) : 0;
	if (!p->target || (strcmp(p->target, "staging") && strcmp(p->target, "production")))
		return snprintf(msg, msgsz,
				"An invalid target was specified. It must be either 'staging' or "
				"'production'."),
		       "InvalidTarget";
	if (strcmp(p->action, "invalidate") && strcmp(p->action, "delete"))
		return snprintf(msg, msgsz, "The action must be either 'invalidate' or 'delete'."),
		       "InvalidAction";
	if (p->nf + p->nd + p->nr == 0)
		return snprintf(msg, msgsz,
				"The purge request has no fileUrls, dirUrls or regexPatterns."),
		       "EmptyPurgeRequest";
	if ((int64_t)p->nf > quota(app, "max_file_entries", DEFAULT_MAX_FILES) ||
	    (int64_t)p->nd > quota(app, "max_dir_entries", DEFAULT_MAX_DIRS) || p->nr > MAX_REGEX)
		return snprintf(msg, msgsz,
				"Too many entries: at most %lld fileUrls, %lld dirUrls and %d "
				"regexPatterns per request.",
				(long long)quota(app, "max_file_entries", DEFAULT_MAX_FILES),
				(long long)quota(app, "max_dir_entries", DEFAULT_MAX_DIRS),
				MAX_REGEX),
		       "TooManyPurgeEntries";
	if (check_headers(p->headers, msg, msgsz))
		return "DuplicateFileHeaderName";
	if (check_lists(app, p, &code, msg, msgsz))
		return code;
	return NULL;
}

void fk_cdnpro_location(struct fk_app *app, const struct fk_req *req, struct fk_resp *resp,
			const char *coll, const char *id)
{
	char url[URL_MAX];

	snprintf(url, sizeof(url), "%s://%s/cdn/%s/%s", app->tls ? "https" : "http",
		 fk_status_host(app, req), coll, id);
	fk_resp_header(resp, "Location", url);
}

static struct json_object *new_task(struct fk_app *app, const struct fk_req *req, const char *kind,
				    struct json_object *body)
{
	char id[FK_UUID_LEN + 1], rid[17];
	struct json_object *t;

	fk_random_hex(12, id); /* 24 hex characters, like the service's ids */
	fk_random_hex(8, rid);
	t = fk_task_new(app, kind, id, req->now_ms);
	json_object_object_foreach(body, key, val)
	{
		/* Task bookkeeping keys win over request members of the same name. */
		if (!json_object_object_get_ex(t, key, NULL))
			json_object_object_add(t, key, json_object_get(val));
	}
	json_object_object_add(t, "apiRequestId", json_object_new_string(rid));
	return t;
}

static void h_purge(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		    struct fk_resp *resp)
{
	struct json_object *body;
	struct purge_req p;
	int64_t remaining, lf, ld;
	char msg[MSG_MAX];
	const char *code;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	body = fk_req_json(req);
	code = parse_purge(app, body, &p, msg, sizeof(msg));
	if (code) {
		fk_error_pro(resp, 400, code, msg);
	} else {
		tokens_left(app, p.target, req->now_ms, &lf, &ld);
		if ((int64_t)p.nf > lf || (int64_t)(p.nd + p.nr) > ld) {
			snprintf(msg, sizeof(msg),
				 "The purge quota is exhausted: %lld file and %lld directory/regex "
				 "tokens left in '%s'.",
				 (long long)(lf > 0 ? lf : 0), (long long)(ld > 0 ? ld : 0),
				 p.target);
			fk_error_pro(resp, 403, "PurgeQuotaExceeded", msg);
		} else {
			struct json_object *t = new_task(app, req, "cdnpro_purge", body);

			json_object_object_add(t, "action", json_object_new_string(p.action));
			fk_resp_text(resp, 201, NULL, NULL);
			fk_cdnpro_location(app, req, resp, "purges", fk_jstr(t, "id"));
			fk_state_changed(app, resp);
		}
	}
	json_object_put(body);
	fk_cdnpro_finish(resp, remaining);
}

/* waiting for the first third of the delay, then inprogress, then finished. */
static const char *pro_status(struct json_object *t, int64_t now)
{
	int64_t created = fk_jint(t, "created_ms", 0), due = fk_jint(t, "due_ms", 0);

	if (strcmp(fk_task_status(t), "running") != 0)
		return "finished";
	return now < created + (due - created) / 3 ? "waiting" : "inprogress";
}

static void add_times(struct json_object *o, struct json_object *t)
{
	char when[FK_TIME_LEN];
	bool done = strcmp(fk_task_status(t), "running") != 0;

	fk_fmt_time(fk_jint(t, "created_ms", 0), false, when);
	json_object_object_add(o, "submissionTime", json_object_new_string(when));
	fk_fmt_time(fk_jint(t, "finished_ms", 0), false, when);
	json_object_object_add(o, "finishTime", json_object_new_string(done ? when : ""));
	json_object_object_add(
	    o, "successRate",
	    json_object_new_int(strcmp(fk_task_status(t), "succeeded") == 0 ? 100 : 0));
}

static void copy_member(struct json_object *dst, struct json_object *src, const char *key,
			bool array)
{
	struct json_object *v;

	if (json_object_object_get_ex(src, key, &v))
		json_object_object_add(dst, key, json_object_get(v));
	else if (array)
		json_object_object_add(dst, key, json_object_new_array());
}

static void h_purge_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp)
{
	static const char *const arrays[] = {"fileUrls", "dirUrls", "regexPatterns", "fileHeaders"};
	struct json_object *t, *o;
	int64_t remaining;

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	t = fk_task_find(app, "cdnpro_purge", seg[2]);
	if (!t) {
		fk_error_pro(resp, 404, "InvalidPurgeTaskId",
			     "The specified purge task ID does not exist or has been deleted.");
		return;
	}
	o = json_object_new_object();
	copy_member(o, t, "name", false);
	for (size_t i = 0; i < CF_ARRAY_LEN(arrays); i++)
		copy_member(o, t, arrays[i], true);
	copy_member(o, t, "target", false);
	copy_member(o, t, "action", false);
	copy_member(o, t, "webhook", false);
	add_times(o, t);
	json_object_object_add(o, "status", json_object_new_string(pro_status(t, req->now_ms)));
	copy_member(o, t, "apiRequestId", false);
	json_object_object_add(
	    o, "customerId",
	    json_object_new_int64(fk_jint(pro(app), "customer_id", DEFAULT_CUSTOMER)));
	fk_resp_json(resp, 200, o);
	json_object_put(o);
	fk_cdnpro_finish(resp, remaining);
}

static void add_hostnames(struct json_object *o, struct json_object *t)
{
	static const char *const lists[] = {"fileUrls", "dirUrls", "regexPatterns"};
	struct json_object *hosts = json_object_new_array();

	for (size_t l = 0; l < CF_ARRAY_LEN(lists); l++) {
		struct json_object *a = fk_jarr(t, lists[l]);
		size_t n = a ? json_object_array_length(a) : 0;

		for (size_t i = 0; i < n; i++) {
			char host[256];
			bool seen = false;

			if (!url_host(json_object_get_string(json_object_array_get_idx(a, i)), host,
				      sizeof(host)))
				continue;
			for (size_t j = 0; j < json_object_array_length(hosts); j++)
				seen = seen || strcasecmp(json_object_get_string(
							      json_object_array_get_idx(hosts, j)),
							  host) == 0;
			if (!seen)
				json_object_array_add(hosts, json_object_new_string(host));
		}
	}
	json_object_object_add(o, "hostnames", hosts);
}

static struct json_object *list_entry(struct fk_app *app, struct json_object *t, int64_t now)
{
	struct json_object *o = json_object_new_object();
	struct json_object *f = fk_jarr(t, "fileUrls"), *d = fk_jarr(t, "dirUrls");
	struct json_object *r = fk_jarr(t, "regexPatterns");

	copy_member(o, t, "id", false);
	add_times(o, t);
	add_hostnames(o, t);
	json_object_object_add(o, "fileEntries",
			       json_object_new_int64(f ? (int64_t)json_object_array_length(f) : 0));
	json_object_object_add(o, "dirEntries",
			       json_object_new_int64(d ? (int64_t)json_object_array_length(d) : 0));
	json_object_object_add(o, "regexEntries",
			       json_object_new_int64(r ? (int64_t)json_object_array_length(r) : 0));
	copy_member(o, t, "target", false);
	copy_member(o, t, "action", false);
	json_object_object_add(o, "status", json_object_new_string(pro_status(t, now)));
	copy_member(o, t, "apiRequestId", false);
	json_object_object_add(
	    o, "ownerCustomerId",
	    json_object_new_int64(fk_jint(pro(app), "customer_id", DEFAULT_CUSTOMER)));
	return o;
}

static bool parse_nonneg(const char *s, int64_t *out)
{
	char *end;

	if (!s)
		return true;
	*out = strtoll(s, &end, 10);
	return *s && !*end && *out >= 0;
}

static void h_purge_list(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp)
{
	struct json_object *tasks = fk_jarr(app->state, "tasks"), *arr, *o;
	const char *target = fk_req_arg(req, "target"), *order = fk_req_arg(req, "sortOrder");
	int64_t offset = 0, limit = DEFAULT_LIST_LIMIT, remaining, count = 0;
	size_t n = tasks ? json_object_array_length(tasks) : 0;
	bool asc;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	if (!parse_nonneg(fk_req_arg(req, "limit"), &limit) || limit == 0) {
		fk_error_pro(resp, 400, "InvalidListLimit",
			     "The value of limit should be an integer.");
		return;
	}
	if (!parse_nonneg(fk_req_arg(req, "offset"), &offset)) {
		fk_error_pro(resp, 400, "InvalidListOffset",
			     "The offset must be a valid non-negative integer.");
		return;
	}
	if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
		fk_error_pro(resp, 400, "InvalidSortOrder",
			     "The valid sort order values are asc or desc.");
		return;
	}
	asc = order && strcmp(order, "asc") == 0;
	arr = json_object_new_array();
	/* Tasks are stored oldest first; desc (the default) walks them backwards. */
	for (size_t k = 0; k < n; k++) {
		struct json_object *t = json_object_array_get_idx(tasks, asc ? k : n - 1 - k);
		const char *kind = fk_jstr(t, "kind"), *tg = fk_jstr(t, "target");

		if (!kind || strcmp(kind, "cdnpro_purge") ||
		    (target && (!tg || strcmp(tg, target))) ||
		    fk_jint(t, "created_ms", 0) < req->now_ms - LIST_RETENTION_MS)
			continue;
		if (count >= offset && count < offset + limit)
			json_object_array_add(arr, list_entry(app, t, req->now_ms));
		count++;
	}
	o = json_object_new_object();
	json_object_object_add(o, "count", json_object_new_int64(count));
	json_object_object_add(o, "purgeRequests", arr);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
	fk_cdnpro_finish(resp, remaining);
}

static void h_purge_tokens(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			   struct fk_resp *resp)
{
	const char *target = fk_req_arg(req, "target");
	struct json_object *o;
	int64_t remaining, lf, ld;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	if (!target)
		target = "production";
	if (strcmp(target, "production") && strcmp(target, "staging")) {
		fk_error_pro(resp, 400, "InvalidTarget",
			     "An invalid target was specified. It must be either 'staging' or "
			     "'production' or left empty.");
		return;
	}
	tokens_left(app, target, req->now_ms, &lf, &ld);
	o = json_object_new_object();
	json_object_object_add(o, "filePurgeTokens", json_object_new_int64(lf > 0 ? lf : 0));
	json_object_object_add(o, "dirPurgeTokens", json_object_new_int64(ld > 0 ? ld : 0));
	fk_resp_json(resp, 200, o);
	json_object_put(o);
	fk_cdnpro_finish(resp, remaining);
}

static const char *check_prefetch(struct fk_app *app, struct json_object *body, char *msg,
				  size_t msgsz)
{
	static const char *const regions[] = {"Africa",	       "Asia",	  "Europe",
					      "North America", "Oceania", "South America",
					      "Mainland China"};
	struct json_object *files = fk_jarr(body, "fileList"), *regs = fk_jarr(body, "regions");
	size_t n = files ? json_object_array_length(files) : 0;
	char host[256];

	if (n == 0)
		return snprintf(msg, msgsz, "The file list shouldn't be empty."),
		       "InvalidPrefetchUrl";
	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(files, i),
				   *h = fk_jarr(f, "headers");
		const char *u = fk_jstr(f, "url");

		if (!u || strlen(u) < URL_MIN || strlen(u) > URL_MAX || bad_percent_or_chars(u) ||
		    (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) ||
		    !url_host(u, host, sizeof(host)))
			return snprintf(msg, msgsz, "The prefetch URL '%.300s' is invalid.",
					u ? u : ""),
			       "InvalidPrefetchUrl";
		for (size_t j = 0; h && j < json_object_array_length(h); j++) {
			const char *hn = fk_jstr(json_object_array_get_idx(h, j), "name");

			if (!hn || !*hn)
				return snprintf(msg, msgsz,
						"Invalid prefetch header. The header name "
						"shouldn't be empty."),
				       "InvalidPrefetchUrl";
		}
		if (!host_deployed(app, host, "production"))
			return snprintf(msg, msgsz,
					"The host '%s' has not been deployed in the 'production' "
					"environment.",
					host),
			       "NoSuchDomain";
	}
	for (size_t i = 0; regs && i < json_object_array_length(regs); i++) {
		const char *r = json_object_get_string(json_object_array_get_idx(regs, i));
		bool ok = false;

		for (size_t j = 0; j < CF_ARRAY_LEN(regions); j++)
			ok = ok || (r && strcmp(r, regions[j]) == 0);
		if (!ok)
			return snprintf(msg, msgsz, "Invalid region: %s.", r ? r : ""),
			       "InvalidRegion";
	}
	return NULL;
}

static int64_t prefetch_left(struct fk_app *app, int64_t now)
{
	int64_t files, dirs;

	used_24h(app, "cdnpro_prefetch", NULL, now, &files, &dirs);
	return quota(app, "prefetch", DEFAULT_PREFETCH_QUOTA) - files;
}

static void h_prefetch(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		       struct fk_resp *resp)
{
	struct json_object *body, *t;
	int64_t remaining;
	char msg[MSG_MAX];
	const char *code;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	body = fk_req_json(req);
	if (!body || !json_object_is_type(body, json_type_object)) {
		code = "InvalidJson";
		snprintf(msg, sizeof(msg), "The request body must be a JSON object.");
	} else {
		code = check_prefetch(app, body, msg, sizeof(msg));
	}
	if (code) {
		fk_error_pro(resp, 400, code, msg);
	} else if ((int64_t)json_object_array_length(fk_jarr(body, "fileList")) >
		   prefetch_left(app, req->now_ms)) {
		fk_error_pro(resp, 403, "PrefetchQuotaExceeded",
			     "The prefetch quota is exhausted.");
	} else {
		t = new_task(app, req, "cdnpro_prefetch", body);
		fk_resp_text(resp, 201, NULL, NULL);
		fk_cdnpro_location(app, req, resp, "prefetches", fk_jstr(t, "id"));
		fk_state_changed(app, resp);
	}
	json_object_put(body);
	fk_cdnpro_finish(resp, remaining);
}

static void h_prefetch_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			   struct fk_resp *resp)
{
	struct json_object *t, *o, *meta;
	int64_t remaining;

	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	t = fk_task_find(app, "cdnpro_prefetch", seg[2]);
	if (!t) {
		fk_error_pro(resp, 404, "InvalidPrefetchTaskId",
			     "The specified prefetch task ID does not exist.");
		return;
	}
	o = json_object_new_object();
	meta = json_object_new_object();
	copy_member(o, t, "name", false);
	copy_member(o, t, "fileList", true);
	copy_member(o, t, "regions", true);
	copy_member(o, t, "startTime", false);
	copy_member(o, t, "webhook", false);
	json_object_object_add(o, "prefetchLevel", json_object_new_string("Parent"));
	copy_member(meta, t, "id", false);
	add_times(meta, t);
	json_object_object_add(meta, "status", json_object_new_string(pro_status(t, req->now_ms)));
	copy_member(meta, t, "apiRequestId", false);
	json_object_object_add(
	    meta, "customerId",
	    json_object_new_int64(fk_jint(pro(app), "customer_id", DEFAULT_CUSTOMER)));
	json_object_object_add(o, "metadata", meta);
	fk_resp_json(resp, 200, o);
	json_object_put(o);
	fk_cdnpro_finish(resp, remaining);
}

static void h_prefetch_tokens(struct fk_app *app, const struct fk_req *req, const char **seg,
			      int nseg, struct fk_resp *resp)
{
	struct json_object *o;
	int64_t remaining, left;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!fk_cdnpro_begin(app, req, resp, &remaining))
		return;
	left = prefetch_left(app, req->now_ms);
	o = json_object_new_object();
	json_object_object_add(o, "prefetchTokens", json_object_new_int64(left > 0 ? left : 0));
	fk_resp_json(resp, 200, o);
	json_object_put(o);
	fk_cdnpro_finish(resp, remaining);
}

/* Unknown /cdn/ paths still cost a token and need credentials, as on the service. */
static void h_other(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		    struct fk_resp *resp)
{
	int64_t remaining;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (fk_cdnpro_begin(app, req, resp, &remaining))
		fk_error_pro(resp, 404, "NotFound", "The requested resource does not exist.");
}

const struct fk_route fk_cdnpro_routes[] = {
    FK_CDNPRO_PROP_ROUTES,
    {"POST", "cdn/purges", "purge", h_purge},
    {"GET", "cdn/purges", "list_purges", h_purge_list},
    {"GET", "cdn/purges/purgeTokens", "quota", h_purge_tokens},
    {"GET", "cdn/purges/*", "poll", h_purge_get},
    {"POST", "cdn/prefetches", "preload", h_prefetch},
    {"GET", "cdn/prefetches/prefetchTokens", "quota", h_prefetch_tokens},
    {"GET", "cdn/prefetches/*", "poll", h_prefetch_get},
    {"GET", "cdn/*", "unknown", h_other},
    {"GET", "cdn/*/*", "unknown", h_other},
};
const size_t fk_cdnpro_nroutes = CF_ARRAY_LEN(fk_cdnpro_routes);
