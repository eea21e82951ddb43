/*
 * Driver for CDNetworks CDN Pro (ngapi): purges (files, directory wildcards, regex) and
 * prefetches as tasks located by the 201's Location header, and the purge-token quota.
 * Cache rules live in a cacheform-owned region of a property's Edge Logic: the read and
 * write steps are in prov_cdnpro_el.c; validation and deployment tasks are polled here.
 */
#include "reconcile/base/compat.h"

#include <stdint.h>
#include <strings.h>
#include <time.h>

#include "reconcile/codec.h"
#include "reconcile/planfile.h"
#include "reconcile/prov_cdnpro_el.h"
#include "reconcile/prov_int.h"
#include "reconcile/sign.h"
#include "reconcile/base/limits.h"
#include "reconcile/base/xmem.h"

#define PRO_DEFAULT_BASE  "https://ngapi.cdnetworks.com"
#define PRO_MAX_FILES	  LIM_PRO_PURGE_FILES
#define PRO_MAX_DIRS	  LIM_PRO_PURGE_DIRS
#define PRO_MAX_REGEX	  LIM_PRO_PURGE_REGEX
#define PRO_MAX_PREFETCH  LIM_PRO_PREFETCH_FILES
#define PRO_TOKENS_MAX	  INT64_C(1000000000) /* a purge-token count we believe */
#define PRO_AUTH_MAX	  512
#define PRO_RATE_FULL	  100.0 /* successRate of a purge that reached every server */
#define PRO_DIR_WILDCARD  "**"	/* ".../img/" + "**": everything below the directory */
#define PRO_PURGE_PATH	  "/cdn/purges/"
#define PRO_PREFETCH_PATH "/cdn/prefetches/"

/* Task kinds a poll_url may name; anything else is polled as a purge. */
static const char *const task_prefixes[] = {PRO_PREFETCH_PATH, "/cdn/validations/",
					    "/cdn/deploymentTasks/"};

#define OP_PURGE    "submit purge"
#define OP_PREFETCH "submit prefetch"
#define OP_POLL	    "poll task"
#define OP_QUOTA    "read purge quota"
#define OP_FIND	    "list purge tasks"
/* Clock difference allowed between our claim time and the provider's submissionTime. */
#define PRO_FIND_SKEW_S 300
#define PRO_FIND_LIMIT	200 /* tasks listed per lookup (sortOrder asc from the claim) */
#define PRO_TIME_LEN	32

#define OPT CODEC_OPTIONAL

static const struct prov_field pro_fields[] = {
    {"user", offsetof(struct account, user), offsetof(struct prov_account, user), true, NULL},
    {"api_key", offsetof(struct account, api_key), offsetof(struct prov_account, api_key), true,
     NULL},
};

static int pro_open(const struct account *a, const char *repo_root, struct prov_account **out,
		    struct cf_err *e)
{
	return prov_account_open(a, repo_root, pro_fields, CF_ARRAY_LEN(pro_fields),
				 PRO_DEFAULT_BASE, out, e);
}

static int pro_sign(void *ctx, struct http_req *req, struct cf_err *e)
{
	struct prov_account *pa = ctx;
	char date[SIGN_RFC1123_DATE_MAX];
	struct sb auth;
	sign_rfc1123_date(prov_now(pa), date, sizeof(date));
	sb_init(&auth, PRO_AUTH_MAX);
	int rc = sign_cdnpro_auth(pa->user, pa->api_key, date, &auth);
	return prov_sign_finish(req, "Date", date, &auth, rc, e);
}

int pro_request(struct prov_account *pa, const struct endpoint *ep, const char *method,
		const char *path, const char *op, struct http_req *req, struct cf_err *e)
{
	struct sb url;
	sb_init(&url, PROV_URL_MAX);
	sb_addf(&url, "%s%s", pa->base_url, path);
	return prov_req_url(req, pa, ep, method, &url, op, pro_sign, e);
}

static const struct prov_err_shape pro_err = {NULL, false, "code", "message", 0};

static const char *target_of(const struct endpoint *ep)
{
	return ep->remote.target.s ? ep->remote.target.s : "";
}

static int check_target(const struct endpoint *ep, struct cf_err *e)
{
	const char *t = target_of(ep);
	if (strcmp(t, "staging") == 0 || strcmp(t, "production") == 0)
		return 0;
	return err_set(e, CF_EINVAL,
		       "endpoint '%s': remote.target '%.40s' is not staging or "
		       "production",
		       ep->name.s, t);
}

/* ---- purges and prefetches ---- */

static size_t pro_split(const struct endpoint *ep, const struct purge *p, struct purge_batch **out)
{
	const struct prov_caps purge_caps = {PRO_MAX_FILES, PRO_MAX_DIRS, PRO_MAX_REGEX, 0};
	const struct prov_caps load_caps = {PRO_MAX_PREFETCH, 0, 0, 0};
	struct prov_items x = {0};
	prov_expand_urls(ep, &p->files, "", &x.files);
	prov_expand_urls(ep, &p->dirs, PRO_DIR_WILDCARD, &x.dirs);
	prov_expand_urls(ep, &p->patterns, "", &x.patterns);
	for (size_t i = 0; i < p->regex.n; i++)
		svec_push(&x.regex, p->regex.v[i].s, NULL);
	prov_expand_urls(ep, &p->preload, "", &x.preload);
	size_t n = prov_split_pack(p->action, &x, &purge_caps, &load_caps, out);
	for (size_t i = 0; i < n; i++)
		(*out)[i].manifest = p;
	return n;
}

/* ,"key":[a…, b…] when there is anything to send */
static void add_urls(struct sb *sb, const char *key, const struct svec *a, const struct svec *b)
{
	if (a->n + (b ? b->n : 0) == 0)
		return;
	sb_addf(sb, ",\"%s\":", key);
	prov_add_str_array(sb, a, b);
}

/* fileHeaders apply to the request's fileUrls (cache keys that include request headers) */
static void add_file_headers(struct sb *sb, const struct purge_batch *b)
{
	const struct purge *p = b->manifest;
	if (!p || !p->header_names.n || !b->files.n)
		return;
	sb_adds(sb, ",\"fileHeaders\":[");
	for (size_t i = 0; i < p->header_names.n; i++) {
		sb_adds(sb, i ? ",{\"name\":" : "{\"name\":");
		sb_add_json_str(sb, p->header_names.v[i].s);
		sb_adds(sb, ",\"value\":");
		sb_add_json_str(sb, p->header_values.v[i].s);
		sb_addc(sb, '}');
	}
	sb_addc(sb, ']');
}

static void encode_purge(const struct endpoint *ep, const struct purge_batch *b, struct sb *sb)
{
	sb_adds(sb, "{\"target\":");
	sb_add_json_str(sb, target_of(ep));
	sb_addf(sb, ",\"action\":\"%s\"", b->action == PURGE_DELETE ? "delete" : "invalidate");
	add_urls(sb, "fileUrls", &b->files, NULL);
	add_urls(sb, "dirUrls", &b->dirs, &b->patterns);
	add_urls(sb, "regexPatterns", &b->regex, NULL);
	add_file_headers(sb, b);
	sb_addc(sb, '}');
}

static void encode_prefetch(const struct purge_batch *b, struct sb *sb)
{
	sb_adds(sb, "{\"fileList\":[");
	for (size_t i = 0; i < b->files.n; i++) {
		sb_adds(sb, i ? ",{\"url\":" : "{\"url\":");
		sb_add_json_str(sb, b->files.v[i].s);
		sb_addc(sb, '}');
	}
	sb_adds(sb, "]}");
}

static int pro_batch_req(struct prov_account *pa, const struct endpoint *ep,
			 const struct purge_batch *b, struct http_req *req, struct cf_err *e)
{
	bool purge = b->kind == BATCH_PURGE;
	struct sb body;
	memset(req, 0, sizeof(*req));
	int rc = purge ? check_target(ep, e) : 0;
	if (rc == 0)
		rc = pro_request(pa, ep, "POST", purge ? "/cdn/purges" : "/cdn/prefetches",
				 purge ? OP_PURGE : OP_PREFETCH, req, e);
	if (rc != 0)
		return rc;
	sb_init(&body, PROV_BODY_MAX);
	if (purge)
		encode_purge(ep, b, &body);
	else
		encode_prefetch(b, &body);
	rc = prov_req_json(req, &body, e);
	sb_release(&body);
	return rc;
}

/*
 * The vendor answers a purge with 201 + Location, and its own example puts that URL on
 * another host than the one asked (open.chinanetcenter.com for api.cdnetworks.com). So the
 * id is the Location's last path segment and the task is always polled as a path under our
 * base_url: our credentials never follow a Location elsewhere.
 */
/* An id we put into a URL path: unreserved characters, and not a dot segment. */
static bool pro_id_ok(const char *id)
{
	return id && prov_valid_id(id) && strspn(id, ".") != strlen(id);
}

static char *task_path(enum batch_kind kind, const char *id)
{
	struct sb p;
	sb_init(&p, PROV_URL_MAX);
	sb_addf(&p, "%s%s", kind == BATCH_PURGE ? PRO_PURGE_PATH : PRO_PREFETCH_PATH, id);
	return sb_detach(&p);
}

static int pro_batch_parse(const struct endpoint *ep, const struct purge_batch *b,
			   const struct http_resp *resp, struct task *t, struct cf_err *e)
{
	const char *op = b->kind == BATCH_PURGE ? OP_PURGE : OP_PREFETCH;
	int rc = prov_resp_transport(resp, e);
	memset(t, 0, sizeof(*t));
	if (rc != 0)
		return rc;
	if (resp->status != 201 && resp->status != 200 && resp->status != 202)
		return prov_api_error(ep, op, resp, &pro_err, e);
	const char *loc = http_resp_header(resp, "location");
	char *id = NULL;
	if (prov_header_url_ok(loc) && (loc[0] == '/' || strncasecmp(loc, "http", 4) == 0)) {
		const char *path = prov_url_path(loc);
		size_t end = strcspn(path, "?#");
		if (end > 0 && path[end - 1] != '/')
			id = prov_last_segment(path);
	}
	if (id && !pro_id_ok(id)) {
		free(id);
		id = NULL;
	}
	if (!id)
		return prov_decode_error(
		    ep, op,
		    err_set(e, CF_EAPI, "no usable Location header ('%.80s')", loc ? loc : ""), e);
	char *path = task_path(b->kind, id);
	prov_task_running(t, resp, id, path);
	free(path);
	return 0;
}

/* A task resumed from an older record may carry an absolute URL: only its id and kind
 * are used, and a URL on base_url's origin is polled as it is. */
static int pro_poll_req(struct prov_account *pa, const struct endpoint *ep, const struct task *t,
			struct http_req *req, struct cf_err *e)
{
	struct sb path;
	int rc = 0;
	memset(req, 0, sizeof(*req));
	if (t->poll_url && strncasecmp(t->poll_url, "http", 4) == 0 &&
	    prov_same_origin(t->poll_url, pa->base_url))
		return prov_req_status_url(req, pa, ep, t->poll_url, "task URL", OP_POLL, pro_sign,
					   e);
	if (!pro_id_ok(t->id))
		return err_set(e, CF_EINVAL, "endpoint '%s': task has no usable id", ep->name.s);
	const char *prefix = PRO_PURGE_PATH;
	for (size_t i = 0; t->poll_url && i < CF_ARRAY_LEN(task_prefixes); i++)
		if (strstr(prov_url_path(t->poll_url), task_prefixes[i]))
			prefix = task_prefixes[i];
	sb_init(&path, PROV_URL_MAX);
	sb_addf(&path, "%s%s", prefix, t->id);
	rc = pro_request(pa, ep, "GET", path.buf, OP_POLL, req, e);
	sb_release(&path);
	return rc;
}

static int pro_status(const char *s, enum task_state *out, struct cf_err *e)
{
	if (strcasecmp(s, "waiting") == 0 || strcasecmp(s, "inprogress") == 0 ||
	    strcasecmp(s, "in progress") == 0)
		*out = TASK_RUNNING;
	else if (strcasecmp(s, "finished") == 0 || strcasecmp(s, "succeeded") == 0)
		*out = TASK_SUCCEEDED;
	else if (strcasecmp(s, "failed") == 0)
		*out = TASK_FAILED;
	else
		return err_set(e, CF_EAPI, "unknown task status '%.40s'", s);
	return 0;
}

/* successRate is a JSON number 0-100 (the vendor shows 66.7); absent means complete. */
static int decode_rate(struct json_object *src, double *rate, struct cf_err *e)
{
	struct json_object *v = NULL;
	int rc = codec_member(src, "", "successRate", OPT, &v, NULL, e);
	if (rc != 0 || !v)
		return rc;
	rc = codec_as_num(v, "successRate", 0, rate, e);
	if (rc != 0)
		return rc;
	if (!(*rate >= 0 && *rate <= PRO_RATE_FULL))
		return err_set(e, CF_EAPI, "'successRate' %.1f is not within 0-100", *rate);
	return 0;
}

/* A failed validation says why in statusDetails (nginx's own message). */
static void failure_details(struct json_object *src, struct task *t)
{
	const char *d = NULL;
	struct cf_err ignored;
	if (codec_str(src, "", "statusDetails", OPT, &d, &ignored) == 0 && d && *d) {
		free(t->message);
		t->message = xstrndup(d, strnlen(d, PROV_ERR_TEXT_MAX));
	}
}

/*
 * Purge: {status, successRate, …}; prefetch: {metadata|metaData: {status, successRate}}.
 * "finished" with a successRate below 100 is a failure: some URLs were not purged, and a
 * ledger entry saying "succeeded" would hide that.
 */
static int decode_task(struct json_object *root, void *out, struct cf_err *e)
{
	struct task *t = out;
	struct json_object *meta = NULL, *src = root;
	const char *st = NULL;
	double rate = PRO_RATE_FULL;
	int rc = codec_str(root, "", "status", OPT, &st, e);
	if (rc == 0 && !st) {
		rc = codec_obj(root, "", "metadata", CODEC_CI, &meta, e);
		src = meta;
		if (rc == 0)
			rc = codec_str(meta, "", "status", 0, &st, e);
	}
	if (rc == 0)
		rc = pro_status(st, &t->state, e);
	if (rc == 0 && t->state == TASK_FAILED)
		failure_details(src, t);
	if (rc == 0)
		rc = decode_rate(src, &rate, e);
	if (rc != 0 || t->state != TASK_SUCCEEDED || rate >= PRO_RATE_FULL)
		return rc;
	struct sb sb;
	sb_init(&sb, PROV_ERR_TEXT_MAX);
	sb_addf(&sb, "finished with success rate %g%%", rate);
	t->state = TASK_FAILED;
	free(t->message);
	t->message = sb_detach(&sb);
	return 0;
}

static int pro_poll_parse(const struct endpoint *ep, const struct http_resp *resp, struct task *t,
			  struct cf_err *e)
{
	return prov_parse_task(ep, OP_POLL, resp, &pro_err, 0, decode_task, t, e);
}

/* ---- finding the task of a lost answer ---- */

static int pro_find_req(struct prov_account *pa, const struct endpoint *ep,
			const struct purge_batch *b, int64_t since, struct http_req *req,
			struct cf_err *e)
{
	char when[PRO_TIME_LEN];
	struct sb path;
	struct tm tm;
	time_t from = (time_t)(since - PRO_FIND_SKEW_S);
	memset(req, 0, sizeof(*req));
	if (b->kind != BATCH_PURGE)
		return err_set(e, CF_EINVAL, "only purge tasks are listed");
	int rc = check_target(ep, e);
	if (rc != 0)
		return rc;
	gmtime_r(&from, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sb_init(&path, PROV_URL_MAX);
	sb_addf(&path, "/cdn/purges?startdate=%s&target=%s&sortOrder=asc&limit=%d", when,
		target_of(ep), PRO_FIND_LIMIT);
	rc = pro_request(pa, ep, "GET", path.buf, OP_FIND, req, e);
	sb_release(&path);
	return rc;
}

struct find {
	const struct endpoint *ep;
	const struct purge_batch *b;
	int64_t since;
	const struct svec *known;
	char *id; /* the one match, owned */
	size_t matches;
};

static bool svec_has(const struct svec *v, const char *s)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (v->v[i].s && strcmp(v->v[i].s, s) == 0)
			return true;
	return false;
}

/* True when every listed hostname is one of the endpoint's (an absent list says nothing). */
static bool hosts_ours(struct json_object *entry, const struct endpoint *ep)
{
	struct json_object *hosts = NULL;
	size_t n = 0;
	if (codec_arr(entry, "", "hostnames", OPT, &hosts, &n, NULL) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *h = NULL;
		if (codec_as_str(codec_at(hosts, i), "hostnames", 0, &h, NULL) != 0 ||
		    !svec_has(&ep->hosts, h))
			return false;
	}
	return true;
}

static bool entry_matches(struct find *f, struct json_object *entry, const char **id)
{
	const char *when = NULL;
	int64_t files = -1, dirs = 0, regex = 0, at = 0;
	if (codec_str(entry, "", "id", 0, id, NULL) != 0 || !pro_id_ok(*id) ||
	    svec_has(f->known, *id) ||
	    codec_str(entry, "", "submissionTime", 0, &when, NULL) != 0 ||
	    planfile_time_parse(when, &at) != 0 || at < f->since - PRO_FIND_SKEW_S ||
	    codec_int(entry, "", "fileEntries", 0, 0, INT64_MAX, &files, NULL, NULL) != 0 ||
	    codec_int(entry, "", "dirEntries", OPT, 0, INT64_MAX, &dirs, NULL, NULL) != 0 ||
	    codec_int(entry, "", "regexEntries", OPT, 0, INT64_MAX, &regex, NULL, NULL) != 0)
		return false;
	return (size_t)files == f->b->files.n && (size_t)dirs == f->b->dirs.n + f->b->patterns.n &&
	       (size_t)regex == f->b->regex.n && hosts_ours(entry, f->ep);
}

/* {"count": N, "purgeRequests": [{id, submissionTime, hostnames, fileEntries, ...}]} */
static int decode_list(struct json_object *root, void *out, struct cf_err *e)
{
	struct find *f = out;
	struct json_object *arr = NULL;
	size_t n = 0;
	int rc = codec_arr(root, "", "purgeRequests", 0, &arr, &n, e);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *id = NULL;
		if (!entry_matches(f, codec_at(arr, i), &id))
			continue;
		if (f->matches++ == 0)
			f->id = xstrdup(id);
	}
	return rc;
}

static int pro_find_parse(const struct endpoint *ep, const struct purge_batch *b, int64_t since,
			  const struct svec *known, const struct http_resp *resp, struct task *out,
			  struct cf_err *e)
{
	struct find f = {ep, b, since, known, NULL, 0};
	memset(out, 0, sizeof(*out));
	int rc = prov_parse_json(ep, OP_FIND, resp, &pro_err, 0, decode_list, &f, e);
	if (rc == 0 && f.matches == 1) {
		/* the batch's own task: polled from now on, like one whose answer arrived */
		char *path = task_path(b->kind, f.id);
		prov_task_running(out, resp, f.id, path);
		free(path);
		return 1;
	}
	free(f.id);
	if (rc == 0 && f.matches > 1)
		err_set(e, CF_EAPI, "%zu listed purge tasks could be the lost one", f.matches);
	return rc < 0 ? rc : 0;
}

/* ---- quota ---- */

static int pro_quota_req(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
			 struct cf_err *e)
{
	char path[64];
	memset(req, 0, sizeof(*req));
	int rc = check_target(ep, e);
	if (rc != 0)
		return rc;
	snprintf(path, sizeof(path), "/cdn/purges/purgeTokens?target=%s", target_of(ep));
	return pro_request(pa, ep, "GET", path, OP_QUOTA, req, e);
}

/* negative counts are possible: a day may overdraw the next day's quota */
static int decode_quota(struct json_object *root, void *out, struct cf_err *e)
{
	struct quota *q = out;
	int rc = codec_int(root, "", "filePurgeTokens", 0, -PRO_TOKENS_MAX, PRO_TOKENS_MAX,
			   &q->files_left, NULL, e);
	if (rc == 0)
		rc = codec_int(root, "", "dirPurgeTokens", 0, -PRO_TOKENS_MAX, PRO_TOKENS_MAX,
			       &q->dirs_left, NULL, e);
	return rc;
}

static int pro_quota_parse(const struct endpoint *ep, const struct http_resp *resp,
			   struct quota *out, struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	int rc = prov_parse_json(ep, OP_QUOTA, resp, &pro_err, 0, decode_quota, out, e);
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	/* an overdrawn day reads as nothing left (-1 would mean unlimited) */
	out->files_left = out->files_left < 0 ? 0 : out->files_left;
	out->dirs_left = out->dirs_left < 0 ? 0 : out->dirs_left;
	out->known = true;
	return 0;
}

const struct prov_ops prov_cdnpro_ops = {
    .kind = PROV_CDNPRO,
    .max_files = PRO_MAX_FILES,
    .max_dirs = PRO_MAX_DIRS,
    .max_regex = PRO_MAX_REGEX,
    .account_open = pro_open,
    .account_close = prov_account_close,
    .account_ready = prov_ready_none, /* each request signs its own Date */
    .read_req = pro_el_read_req,
    .read_parse = pro_el_read_parse,
    .write_req = pro_el_write_req,
    .write_parse = pro_el_write_parse,
    .read_next = pro_el_read_next,
    .write_next = pro_el_write_next,
    .write_join = pro_el_write_join,
    .write_check = pro_el_write_check,
    .write_join_req = pro_el_write_join_req,
    .sem_write = pro_el_sem_write,
    .split = pro_split,
    .batch_req = pro_batch_req,
    .batch_parse = pro_batch_parse,
    .find_req = pro_find_req,
    .find_parse = pro_find_parse,
    .poll_req = pro_poll_req,
    .poll_parse = pro_poll_parse,
    .quota_req = pro_quota_req,
    .quota_parse = pro_quota_parse,
};
