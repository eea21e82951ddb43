/*
 * Driver for Azure CDN in China (restapi.cdn.azure.cn, REST v1.0): cache rules through
 * GET/PUT cacherules, purges and preloads as async tasks polled through operations/{id}.
 * Wire keys are matched case-insensitively and booleans/TTLs accepted as strings, because the
 * service's own documents and captured responses disagree on both (reference §2.1, §2.2).
 */
#include "reconcile/base/compat.h"

#include <ctype.h>
#include <strings.h>

#include "reconcile/codec.h"
#include "reconcile/prov_int.h"
#include "reconcile/sign.h"
#include "reconcile/base/limits.h"
#include "reconcile/base/xmem.h"

#define AZCN_DEFAULT_BASE "https://restapi.cdn.azure.cn"
#define AZCN_API_QUERY	  "?apiVersion=1.0" /* always sent: it fixes the signed query line */
#define AZCN_MAX_ITEMS	  LIM_AZCN_PURGE_ITEMS
#define AZCN_ID_MAX	  64 /* subscription and endpoint ids (GUIDs) */
#define AZCN_AUTH_MAX	  512

#define OP_READ	   "read cache rules"
#define OP_WRITE   "write cache rules"
#define OP_PURGE   "submit purge"
#define OP_PRELOAD "submit preload"
#define OP_POLL	   "poll task"

#define KEYS  (CODEC_CI | CODEC_LOOSE)
#define OKEYS (CODEC_CI | CODEC_LOOSE | CODEC_OPTIONAL)

static const struct prov_field azcn_fields[] = {
    {"subscription", offsetof(struct account, subscription),
     offsetof(struct prov_account, subscription), true, NULL},
    {"key_id", offsetof(struct account, key_id), offsetof(struct prov_account, key_id), true, NULL},
    {"key_value", offsetof(struct account, key_value), offsetof(struct prov_account, key_value),
     true, NULL},
};

static int azcn_open(const struct account *a, const char *repo_root, struct prov_account **out,
		     struct cf_err *e)
{
	return prov_account_open(a, repo_root, azcn_fields, CF_ARRAY_LEN(azcn_fields),
				 AZCN_DEFAULT_BASE, out, e);
}

static int azcn_sign(void *ctx, struct http_req *req, struct cf_err *e)
{
	struct prov_account *pa = ctx;
	char date[SIGN_AZURECN_DATE_LEN + 1];
	struct sb auth;
	sign_azurecn_date(prov_now(pa), date, sizeof(date));
	sb_init(&auth, AZCN_AUTH_MAX);
	int rc = sign_azurecn_auth(pa->key_id, pa->key_value, req->method, req->url, date, &auth);
	return prov_sign_finish(req, "x-azurecdn-request-date", date, &auth, rc, e);
}

/* GUIDs go into the path lower-cased: the C# sample signs a lower-cased path, the others
 * the path as sent, and lower case satisfies both (reference §1.4). */
static int add_id(struct sb *sb, const char *field, const char *id, struct cf_err *e)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > AZCN_ID_MAX || strspn(id, "0123456789abcdefABCDEF-") != n)
		/* never echoed: it may come from {file: PATH} or {env: NAME} (a key's first line)
		 */
		return err_set(e, CF_EINVAL, "%s is not a GUID (%zu characters)", field, n);
	for (size_t i = 0; i < n; i++)
		sb_addc(sb, (char)tolower((unsigned char)id[i]));
	return 0;
}

/* {base}/subscriptions/{sub}/endpoints/{ep}/{tail}[/{id}]?apiVersion=1.0 */
static int azcn_start(struct prov_account *pa, const struct endpoint *ep, const char *method,
		      const char *tail, const char *id, const char *op, struct http_req *req,
		      struct cf_err *e)
{
	struct sb url;
	memset(req, 0, sizeof(*req));
	sb_init(&url, PROV_URL_MAX);
	sb_adds(&url, pa->base_url);
	sb_adds(&url, "/subscriptions/");
	int rc = add_id(&url, "subscription", pa->subscription, e);
	if (rc == 0)
		sb_adds(&url, "/endpoints/");
	if (rc == 0)
		rc = add_id(&url, "remote.endpoint_id", ep->remote.endpoint_id.s, e);
	if (rc == 0 && id && !prov_valid_id(id))
		rc = err_set(e, CF_EAPI, "task id '%.70s' is not usable in a URL", id);
	if (rc != 0) {
		sb_release(&url);
		return rc;
	}
	sb_addf(&url, "/%s%s%s" AZCN_API_QUERY, tail, id ? "/" : "", id ? id : "");
	return prov_req_url(req, pa, ep, method, &url, op, azcn_sign, e);
}

/* Non-2xx: the envelope {"Succeeded":false,"ErrorInfo":{"Type","Message"}} when it decodes,
 * else the raw body as the message. */
static const struct prov_err_shape azcn_err = {"ErrorInfo", false, "Type", "Message", KEYS};

/* ---- cache policy ---- */

static const struct {
	const char *wire;
	enum rule_kind kind;
} azcn_kinds[] = {{"Dir", RULE_DIR}, {"Suffix", RULE_SUFFIX}, {"FullUri", RULE_PATH}};

static int decode_items(struct json_object *arr, size_t n, struct rule *r, struct cf_err *e)
{
	if (n == 0)
		return err_set(e, CF_EAPI, "'Items' is empty");
	svec_reserve(&r->items, r->items.n + n);
	for (size_t i = 0; i < n; i++) {
		const char *s;
		int rc = codec_as_str(codec_at(arr, i), "Items[]", 0, &s, e);
		if (rc != 0)
			return rc;
		if (!*s)
			return err_set(e, CF_EAPI, "'Items' has an empty string");
		svec_push(&r->items, s, NULL);
	}
	return 0;
}

static int decode_rule(struct json_object *o, struct rule *r, struct cf_err *e)
{
	const char *type;
	struct json_object *items;
	size_t n;
	int rc = codec_is(o, "rule", CODEC_OBJECT, 0, e);
	if (rc == 0)
		rc = codec_str(o, "", "Type", KEYS, &type, e);
	for (size_t i = 0; rc == 0 && i <= CF_ARRAY_LEN(azcn_kinds); i++) {
		if (i == CF_ARRAY_LEN(azcn_kinds))
			rc = err_set(e, CF_EAPI, "unknown rule Type '%.40s'", type);
		else if (strcasecmp(type, azcn_kinds[i].wire) == 0) {
			r->kind = azcn_kinds[i].kind;
			break;
		}
	}
	if (rc == 0)
		rc = codec_int(o, "", "TTL", KEYS, 0, MODEL_TTL_MAX, &r->ttl, NULL, e);
	if (rc == 0)
		rc = codec_arr(o, "", "Items", KEYS, &items, &n, e);
	if (rc == 0)
		rc = decode_items(items, n, r, e);
	return rc;
}

static int decode_policy(struct json_object *root, void *out, struct cf_err *e)
{
	struct cache *c = &((struct live_state *)out)->cache;
	struct json_object *rules;
	size_t n;
	int rc =
	    codec_bool(root, "", "IgnoreCacheControl", KEYS, &c->ignore_cache_control, NULL, e);
	if (rc == 0)
		rc = codec_bool(root, "", "IgnoreCookie", KEYS, &c->ignore_cookie, NULL, e);
	if (rc == 0)
		rc = codec_bool(root, "", "IgnoreQueryString", KEYS, &c->ignore_query_string, NULL,
				e);
	/* A policy without rules may come back as null; the flags above are still required. */
	if (rc == 0)
		rc = codec_arr(root, "", "Rules", OKEYS, &rules, &n, e);
	if (rc == 0)
		cache_reserve(c, c->nrules + n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = decode_rule(codec_at(rules, i), cache_add_rule(c), e);
		if (rc != 0)
			err_prefix(e, "Rules[%zu]", i);
	}
	if (rc == 0) { /* the service evaluates the list as stored (sem_cn_eval) */
		((struct live_state *)out)->sem.kind = SEM_AZURE_CHINA;
		cache_pack(&((struct live_state *)out)->sem.cn, c); /* read, never edited */
	}
	return rc;
}

static int azcn_read_req(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
			 struct cf_err *e)
{
	return azcn_start(pa, ep, "GET", "cacherules", NULL, OP_READ, req, e);
}

static int azcn_read_parse(const struct endpoint *ep, const struct http_resp *resp,
			   struct live_state *out, struct cf_err *e)
{
	return prov_parse_live(ep, OP_READ, resp, &azcn_err, decode_policy, out, e);
}

static const char *kind_wire(enum rule_kind k)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(azcn_kinds); i++)
		if (azcn_kinds[i].kind == k)
			return azcn_kinds[i].wire;
	return "?";
}

/* The whole policy, strict JSON (the documented example's trailing comma is not copied). */
static void encode_policy(const struct cache *c, struct sb *sb)
{
	sb_adds(sb, "{\"Rules\":[");
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		sb_addf(sb, "%s{\"Type\":\"%s\",\"Items\":", i ? "," : "", kind_wire(r->kind));
		prov_add_str_array(sb, &r->items, NULL);
		sb_addf(sb, ",\"TTL\":%lld}", (long long)r->ttl);
	}
	sb_addf(sb, "],\"IgnoreCacheControl\":%s,\"IgnoreCookie\":%s,\"IgnoreQueryString\":%s}",
		c->ignore_cache_control ? "true" : "false", c->ignore_cookie ? "true" : "false",
		c->ignore_query_string ? "true" : "false");
}

static int azcn_write_req(struct prov_account *pa, const struct endpoint *ep,
			  const struct live_state *live, struct http_req *req, struct cf_err *e)
{
	struct sb body;
	CF_UNUSED(live); /* the policy is replaced whole; nothing foreign to keep */
	int rc = azcn_start(pa, ep, "PUT", "cacherules", NULL, OP_WRITE, req, e);
	if (rc != 0)
		return rc;
	sb_init(&body, PROV_BODY_MAX);
	encode_policy(&ep->cache, &body);
	rc = prov_req_json(req, &body, e);
	sb_release(&body);
	return rc;
}

static int azcn_sem_write(const struct endpoint *ep, const struct live_state *live,
			  struct sem_cfg *out, struct cf_err *e)
{
	struct sb body;
	CF_UNUSED(live);
	sb_init(&body, PROV_BODY_MAX);
	encode_policy(&ep->cache, &body);
	int rc = body.overflow
		     ? err_set(e, CF_ELIMIT, "endpoint '%s': cache policy too large", ep->name.s)
		     : prov_sem_of_body(ep, body.buf, body.len, decode_policy, out, e);
	sb_release(&body);
	return rc;
}

/* ---- tasks ---- */

static int task_status(const char *s, enum task_state *out, struct cf_err *e)
{
	static const struct {
		const char *wire;
		enum task_state st;
	} map[] = {
	    {"NotSet", TASK_RUNNING},  {"Processing", TASK_RUNNING},  {"Running", TASK_RUNNING},
	    {"Waiting", TASK_RUNNING}, {"Succeeded", TASK_SUCCEEDED}, {"Succeed", TASK_SUCCEEDED},
	    {"Failed", TASK_FAILED},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(map); i++)
		if (strcasecmp(s, map[i].wire) == 0) {
			*out = map[i].st;
			return 0;
		}
	return err_set(e, CF_EAPI, "unknown task status '%.40s'", s);
}

/* {"Succeeded":true,"IsAsync":true,"AsyncInfo":{"TaskTrackId":…,"TaskStatus":…}} */
static int decode_envelope(struct json_object *root, void *out, struct cf_err *e)
{
	struct task *t = out;
	struct json_object *info = NULL;
	bool ok = false, present = false, async = false;
	const char *id = NULL, *st = NULL;
	int rc = codec_bool(root, "", "Succeeded", OKEYS, &ok, &present, e);
	if (rc == 0 && !present)
		rc = codec_bool(root, "", "Succeed", KEYS, &ok, NULL, e);
	if (rc == 0 && !ok)
		return err_set(e, CF_EAPI, "success status with \"Succeeded\": false");
	if (rc == 0)
		rc = codec_bool(root, "", "IsAsync", OKEYS, &async, NULL, e);
	if (rc == 0)
		rc = codec_obj(root, "", "AsyncInfo", async ? KEYS : OKEYS, &info, e);
	if (rc != 0)
		return rc;
	if (!info) {
		t->state = TASK_SUCCEEDED; /* applied synchronously */
		return 0;
	}
	rc = codec_str(info, "", "TaskTrackId", KEYS, &id, e);
	if (rc == 0 && !prov_valid_id(id))
		rc = err_set(e, CF_EAPI, "TaskTrackId '%.70s' is not a task id", id);
	if (rc == 0)
		rc = codec_str(info, "", "TaskStatus", OKEYS, &st, e);
	t->state = TASK_RUNNING;
	if (rc == 0 && st)
		rc = task_status(st, &t->state, e);
	if (rc == 0)
		t->id = xstrdup(id);
	return rc;
}

static int parse_accepted(const struct endpoint *ep, const char *op, const struct http_resp *resp,
			  struct task *t, struct cf_err *e)
{
	memset(t, 0, sizeof(*t));
	int rc = prov_parse_task(ep, op, resp, &azcn_err, 202, decode_envelope, t, e);
	if (rc != 0)
		task_release(t);
	return rc;
}

static int azcn_write_parse(const struct endpoint *ep, const struct http_resp *resp,
			    struct task *out, struct cf_err *e)
{
	return parse_accepted(ep, OP_WRITE, resp, out, e);
}

/* ---- purges and preloads ---- */

static size_t azcn_split(const struct endpoint *ep, const struct purge *p, struct purge_batch **out)
{
	const struct prov_caps purge_caps = {AZCN_MAX_ITEMS, AZCN_MAX_ITEMS, 0, AZCN_MAX_ITEMS};
	const struct prov_caps load_caps = {AZCN_MAX_ITEMS, 0, 0, AZCN_MAX_ITEMS};
	struct prov_items x = {0};
	/* patterns and regex are cdnpro-only (validation refuses them here) */
	prov_expand_urls(ep, &p->files, "", &x.files);
	prov_expand_urls(ep, &p->dirs, "", &x.dirs);
	prov_expand_urls(ep, &p->preload, "", &x.preload);
	return prov_split_pack(p->action, &x, &purge_caps, &load_caps, out);
}

static int azcn_batch_req(struct prov_account *pa, const struct endpoint *ep,
			  const struct purge_batch *b, struct http_req *req, struct cf_err *e)
{
	bool purge = b->kind == BATCH_PURGE;
	struct sb body;
	int rc = azcn_start(pa, ep, "POST", purge ? "purges" : "preloads", NULL,
			    purge ? OP_PURGE : OP_PRELOAD, req, e);
	if (rc != 0)
		return rc;
	sb_init(&body, PROV_BODY_MAX);
	sb_adds(&body, "{\"Files\":");
	prov_add_str_array(&body, &b->files, NULL);
	if (purge && b->dirs.n) {
		sb_adds(&body, ",\"Directories\":");
		prov_add_str_array(&body, &b->dirs, NULL);
	}
	sb_addc(&body, '}');
	rc = prov_req_json(req, &body, e);
	sb_release(&body);
	return rc;
}

static int azcn_batch_parse(const struct endpoint *ep, const struct purge_batch *b,
			    const struct http_resp *resp, struct task *out, struct cf_err *e)
{
	return parse_accepted(ep, b->kind == BATCH_PURGE ? OP_PURGE : OP_PRELOAD, resp, out, e);
}

/* Every task (rule write, purge, preload) is polled through operations/{id}: it is the one
 * query that needs nothing but the id, so a task resumed from the ledger polls the same way. */
static int azcn_poll_req(struct prov_account *pa, const struct endpoint *ep, const struct task *t,
			 struct http_req *req, struct cf_err *e)
{
	memset(req, 0, sizeof(*req));
	if (!t->id)
		return err_set(e, CF_EINVAL, "endpoint '%s': task has no id to poll", ep->name.s);
	return azcn_start(pa, ep, "GET", "operations", t->id, OP_POLL, req, e);
}

/* Operation: {Id, Type, Status, Message, Start, End, EndpointId, SubscriptionId} */
static int decode_operation(struct json_object *root, void *out, struct cf_err *e)
{
	struct task *t = out;
	const char *id = NULL, *st, *msg = NULL;
	int rc = codec_str(root, "", "Id", OKEYS, &id, e);
	if (rc == 0 && id && t->id && strcasecmp(id, t->id) != 0)
		rc = err_set(e, CF_EAPI, "operation '%.70s' answered for task '%s'", id, t->id);
	if (rc == 0)
		rc = codec_str(root, "", "Status", KEYS, &st, e);
	if (rc == 0)
		rc = task_status(st, &t->state, e);
	if (rc == 0)
		rc = codec_str(root, "", "Message", OKEYS, &msg, e);
	if (rc == 0 && t->state == TASK_FAILED) {
		free(t->message);
		t->message = xstrdup(msg && *msg ? msg : "the provider reported the task failed");
	}
	return rc;
}

static int azcn_poll_parse(const struct endpoint *ep, const struct http_resp *resp, struct task *t,
			   struct cf_err *e)
{
	return prov_parse_task(ep, OP_POLL, resp, &azcn_err, 0, decode_operation, t, e);
}

/* ---- listing (import --all): GET /subscriptions/{sub}/endpoints, one answer ---- */

static int azcn_list_req(struct prov_account *pa, const struct prov_listing *l,
			 struct http_req *req, struct cf_err *e)
{
	struct sb url;
	CF_UNUSED(l);
	memset(req, 0, sizeof(*req));
	sb_init(&url, PROV_URL_MAX);
	sb_addf(&url, "%s/subscriptions/", pa->base_url);
	int rc = add_id(&url, "subscription", pa->subscription, e);
	if (rc != 0) {
		sb_release(&url);
		return rc;
	}
	sb_adds(&url, "/endpoints" AZCN_API_QUERY);
	return prov_req_url(req, pa, NULL, "GET", &url, "list endpoints", azcn_sign, e);
}

/* Endpoint objects: EndpointID and Setting{CustomDomain} as documented, EndpointId and
 * Settings as observed (keys are matched case-insensitively). */
static int decode_found(struct json_object *o, struct prov_listing *l, struct cf_err *e)
{
	const char *id = NULL, *host = NULL;
	struct json_object *set = NULL;
	int rc = codec_is(o, "endpoint", CODEC_OBJECT, 0, e);
	if (rc == 0)
		rc = codec_str(o, "", "EndpointID", KEYS, &id, e);
	if (rc == 0 && codec_obj(o, "", "Setting", OKEYS, &set, NULL) != 0)
		rc = codec_obj(o, "", "Settings", KEYS, &set, e);
	if (rc == 0 && set)
		rc = codec_str(set, "", "CustomDomain", OKEYS, &host, e);
	if (rc != 0)
		return rc;
	struct prov_found *f = prov_listing_add(l);
	sval_set(&f->remote.endpoint_id, id, NULL);
	f->host = host && *host ? xstrdup(host) : NULL;
	f->name = xstrdup(f->host ? f->host : id);
	return 0;
}

static int decode_list(struct json_object *root, void *out, struct cf_err *e)
{
	int lrc = codec_is(root, "endpoint list", CODEC_ARRAY, 0, e);
	if (lrc != 0)
		return lrc;
	size_t n = codec_len(root);
	for (size_t i = 0; i < n; i++) {
		int rc = decode_found(codec_at(root, i), out, e);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int azcn_list_parse(const struct prov_account *pa, const struct http_resp *resp,
			   struct prov_listing *l, struct cf_err *e)
{
	int rc = prov_parse_account_json(pa, "list endpoints", resp, &azcn_err, decode_list, l, e);
	if (rc == 0)
		l->step++;
	return rc;
}

const struct prov_ops prov_azurecn_ops = {
    .kind = PROV_AZURE_CHINA,
    .max_files = AZCN_MAX_ITEMS,
    .max_dirs = AZCN_MAX_ITEMS,
    .max_regex = 0,
    .account_open = azcn_open,
    .account_close = prov_account_close,
    .account_ready = prov_ready_none, /* HMAC keys need no exchange */
    .read_req = azcn_read_req,
    .read_parse = azcn_read_parse,
    .write_req = azcn_write_req,
    .write_parse = azcn_write_parse,
    .sem_write = azcn_sem_write,
    .split = azcn_split,
    .batch_req = azcn_batch_req,
    .batch_parse = azcn_batch_parse,
    .poll_req = azcn_poll_req,
    .poll_parse = azcn_poll_parse,
    .quota_req = NULL,
    .quota_parse = NULL,
    .list_req = azcn_list_req,
    .list_parse = azcn_list_parse,
};
