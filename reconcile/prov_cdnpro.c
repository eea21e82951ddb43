/*
 * Driver for CDNetworks CDN Pro (ngapi): purges (files, directory wildcards, regex) and
 * prefetches as tasks located by the 201's Location header, and the purge-token quota.
 * Cache rules live in Edge Logic and are out of scope, so read/write are NULL and the
 * endpoints are purge-only.
 */
#include "reconcile/base/compat.h"

#include <strings.h>
#include <json-c/json.h>

#include "reconcile/codec.h"
#include "reconcile/prov_int.h"
#include "reconcile/sign.h"
#include "reconcile/base/xmem.h"

#define PRO_DEFAULT_BASE "https://ngapi.cdnetworks.com"
#define PRO_MAX_FILES	 1000 /* fileUrls per purge (maxFilePurgeEntries default) */
#define PRO_MAX_DIRS	 20   /* dirUrls per purge */
#define PRO_MAX_REGEX	 2    /* regexPatterns per purge */
#define PRO_MAX_PREFETCH 1000 /* fileList per prefetch: undocumented, same as fileUrls */
#define PRO_TOKENS_MAX	 INT64_C(1000000000) /* a purge-token count we believe */
#define PRO_AUTH_MAX	 512
#define PRO_DIR_WILDCARD "**" /* ".../img/" + "**": everything below the directory */

#define OP_PURGE    "submit purge"
#define OP_PREFETCH "submit prefetch"
#define OP_POLL	    "poll task"
#define OP_QUOTA    "read purge quota"

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

static int pro_start(struct prov_account *pa, const struct endpoint *ep, const char *method,
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
	return prov_split_pack(p->action, &x, &purge_caps, &load_caps, out);
}

/* ,"key":[a…, b…] when there is anything to send */
static void add_urls(struct sb *sb, const char *key, const struct svec *a, const struct svec *b)
{
	if (a->n + (b ? b->n : 0) == 0)
		return;
	sb_addf(sb, ",\"%s\":", key);
	prov_add_str_array(sb, a, b);
}

static void encode_purge(const struct endpoint *ep, const struct purge_batch *b, struct sb *sb)
{
	sb_adds(sb, "{\"target\":");
	sb_add_json_str(sb, target_of(ep));
	sb_addf(sb, ",\"action\":\"%s\"", b->action == PURGE_DELETE ? "delete" : "invalidate");
	add_urls(sb, "fileUrls", &b->files, NULL);
	add_urls(sb, "dirUrls", &b->dirs, &b->patterns);
	add_urls(sb, "regexPatterns", &b->regex, NULL);
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
		rc = pro_start(pa, ep, "POST", purge ? "/cdn/purges" : "/cdn/prefetches",
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

/* The id from a Location ({base}/cdn/purges/{id}, absolute or a path); NULL when the
 * header is missing or has another shape. */
static char *task_id(const char *loc, const char *prefix)
{
	if (!prov_header_url_ok(loc) || (loc[0] != '/' && strncasecmp(loc, "http", 4) != 0))
		return NULL;
	const char *path = prov_url_path(loc);
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) != 0)
		return NULL;
	char *id = xstrndup(path + n, strcspn(path + n, "?#"));
	if (!prov_valid_id(id)) {
		free(id);
		return NULL;
	}
	return id;
}

/* 201 + Location: {base}/cdn/purges/{id}; the id is its last segment. A relative Location
 * is kept as a path and resolved against base_url when polled. */
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
	char *id = task_id(loc, b->kind == BATCH_PURGE ? "/cdn/purges/" : "/cdn/prefetches/");
	if (!id)
		return prov_decode_error(
		    ep, op,
		    err_set(e, CF_EAPI, "no usable Location header ('%.80s')", loc ? loc : ""), e);
	prov_task_running(t, resp, id, loc);
	return 0;
}

/* Polls the Location; a task without one (resumed from its id alone) is a purge. Our
 * credentials go only to base_url's origin. */
static int pro_poll_req(struct prov_account *pa, const struct endpoint *ep, const struct task *t,
			struct http_req *req, struct cf_err *e)
{
	struct sb path;
	int rc = 0;
	memset(req, 0, sizeof(*req));
	if (t->poll_url && strncasecmp(t->poll_url, "http", 4) == 0)
		return prov_req_status_url(req, pa, ep, t->poll_url, "task URL", OP_POLL, pro_sign,
					   e);
	if (!t->poll_url && (!t->id || !prov_valid_id(t->id)))
		return err_set(e, CF_EINVAL, "endpoint '%s': task has no usable id", ep->name.s);
	sb_init(&path, PROV_URL_MAX);
	if (t->poll_url)
		sb_adds(&path, t->poll_url);
	else
		sb_addf(&path, "/cdn/purges/%s", t->id);
	rc = pro_start(pa, ep, "GET", path.buf, OP_POLL, req, e);
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
	int64_t rate = 100;
	bool has_rate = false;
	int rc = codec_str(root, "status", OPT, &st, e);
	if (rc == 0 && !st) {
		rc = codec_obj(root, "metadata", CODEC_CI, &meta, e);
		src = meta;
		if (rc == 0)
			rc = codec_str(meta, "status", 0, &st, e);
	}
	if (rc == 0)
		rc = pro_status(st, &t->state, e);
	if (rc == 0)
		rc = codec_int(src, "successRate", OPT, 0, 100, &rate, &has_rate, e);
	if (rc != 0 || t->state != TASK_SUCCEEDED || rate >= 100)
		return rc;
	struct sb sb;
	sb_init(&sb, PROV_ERR_TEXT_MAX);
	sb_addf(&sb, "finished with success rate %lld%%", (long long)rate);
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
	return pro_start(pa, ep, "GET", path, OP_QUOTA, req, e);
}

/* negative counts are possible: a day may overdraw the next day's quota */
static int decode_quota(struct json_object *root, void *out, struct cf_err *e)
{
	struct quota *q = out;
	int rc = codec_int(root, "filePurgeTokens", 0, -PRO_TOKENS_MAX, PRO_TOKENS_MAX,
			   &q->files_left, NULL, e);
	if (rc == 0)
		rc = codec_int(root, "dirPurgeTokens", 0, -PRO_TOKENS_MAX, PRO_TOKENS_MAX,
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
    .read_req = NULL,
    .read_parse = NULL,
    .write_req = NULL,
    .write_parse = NULL,
    .split = pro_split,
    .batch_req = pro_batch_req,
    .batch_parse = pro_batch_parse,
    .poll_req = pro_poll_req,
    .poll_parse = pro_poll_parse,
    .quota_req = pro_quota_req,
    .quota_parse = pro_quota_parse,
};
