/* Driver table, live-state digest, error lines and the helpers the three drivers share. */
#include "reconcile/base/compat.h"

#include <pthread.h>
#include <strings.h>
#include <time.h>
#include <openssl/evp.h>

#include "reconcile/codec.h"
#include "reconcile/prov_int.h"
#include "reconcile/redact.h"
#include "reconcile/secret.h"
#include "reconcile/shard.h"
#include "reconcile/sign.h"
#include "reconcile/base/xmem.h"

#define PROV_DIGEST_MAGIC    "cacheform-live/1\n"
#define PROV_DIGEST_MAX	     ((size_t)16 << 20) /* canonical form of one endpoint's live state */
#define PROV_RETRY_AFTER_MAX 3600		/* seconds; longer hints are clamped */
#define PROV_WHAT_MAX	     256
#define PROV_UNIQ_MIN	     16 /* slots of the smallest de-duplication set */

const struct prov_ops *prov_get(enum provider_kind kind)
{
	switch (kind) {
	case PROV_AZURE_CHINA:
		return &prov_azurecn_ops;
	case PROV_AZURE:
		return &prov_azure_ops;
	case PROV_CDNPRO:
		return &prov_cdnpro_ops;
	case PROV_AZURE_FRONTDOOR:
		return &prov_afd_ops;
	case PROV__COUNT:
		break;
	}
	return NULL;
}

const char *task_state_name(enum task_state s)
{
	switch (s) {
	case TASK_NONE:
		return "none";
	case TASK_RUNNING:
		return "running";
	case TASK_SUCCEEDED:
		return "succeeded";
	case TASK_FAILED:
		return "failed";
	}
	return "unknown";
}

struct prov_found *prov_listing_add(struct prov_listing *l)
{
	xgrow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	return &l->v[l->n++];
}

void prov_listing_release(struct prov_listing *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct remote *r = &l->v[i].remote;
		struct sval *f[] = {&r->endpoint_id, &r->resource_group, &r->profile, &r->endpoint};
		for (size_t k = 0; k < CF_ARRAY_LEN(f); k++)
			free(f[k]->s);
		free(l->v[i].name);
		free(l->v[i].host);
	}
	free(l->v);
	svec_release(&l->next);
	memset(l, 0, sizeof(*l));
}

void live_state_release(struct live_state *ls)
{
	if (!ls)
		return;
	cache_release(&ls->cache);
	for (size_t i = 0; i < ls->nforeign; i++) {
		free(ls->foreign[i].name);
		free(ls->foreign[i].json);
	}
	free(ls->foreign);
	free(ls->inexact);
	if (ls->priv && ls->priv_free)
		ls->priv_free(ls->priv);
	sem_cfg_release(&ls->sem);
	free(ls->policy_description);
	svec_release(&ls->notes);
	free(ls->text_diff);
	memset(ls, 0, sizeof(*ls));
}

void task_release(struct task *t)
{
	if (!t)
		return;
	free(t->id);
	free(t->poll_url);
	free(t->message);
	memset(t, 0, sizeof(*t));
}

void purge_batch_release(struct purge_batch *b)
{
	if (!b)
		return;
	svec_release(&b->files);
	svec_release(&b->dirs);
	svec_release(&b->patterns);
	svec_release(&b->regex);
	memset(b, 0, sizeof(*b));
}

bool prov_cache_matches(const struct live_state *live, const struct cache *desired)
{
	if (!live->exists || live->inexact)
		return false;
	if (!live->cache_control_unknown)
		return cache_equal(&live->cache, desired);
	struct cache probe = live->cache;
	probe.ignore_cache_control = desired->ignore_cache_control;
	return cache_equal(&probe, desired);
}

int prov_sem_write(const struct endpoint *ep, const struct live_state *live, struct sem_cfg *out,
		   struct cf_err *e)
{
	const struct prov_ops *ops = ep->account ? prov_get(ep->account->provider) : NULL;
	memset(out, 0, sizeof(*out));
	if (!ops || !ops->sem_write)
		return err_set(e, CF_EINVAL,
			       "endpoint '%s': the provider's cache rules are not "
			       "managed by cacheform",
			       ep->name.s);
	return ops->sem_write(ep, live, out, e);
}

int prov_sem_of_body(const struct endpoint *ep, const char *body, size_t len, prov_decode_fn fn,
		     struct sem_cfg *out, struct cf_err *e)
{
	struct json_object *root = NULL;
	struct live_state ls;
	memset(&ls, 0, sizeof(ls));
	memset(out, 0, sizeof(*out));
	int rc = codec_parse_obj(body, len, &root, e);
	if (rc == 0)
		rc = fn(root, &ls, e);
	if (rc == 0) {
		*out = ls.sem;
		memset(&ls.sem, 0, sizeof(ls.sem));
	} else {
		prov_decode_error(ep, "compile cache rules", rc, e);
	}
	codec_put(root);
	live_state_release(&ls);
	return rc;
}

/* Flags that act on every path alike and are not part of the rule evaluation. */
static bool flags_agree(const struct endpoint *ep, const struct live_state *live)
{
	const struct cache *d = &ep->cache, *l = &live->cache;
	if (live->qs_inexact || d->ignore_query_string != l->ignore_query_string ||
	    d->ignore_cookie != l->ignore_cookie)
		return false;
	/* azure-china's IgnoreCacheControl is endpoint-wide; azure's lives in each rule */
	return ep->account->provider != PROV_AZURE_CHINA ||
	       d->ignore_cache_control == l->ignore_cache_control;
}

void prov_behaviour_compare(const struct endpoint *ep, const struct live_state *live,
			    struct prov_behaviour *out)
{
	struct sem_cfg after;
	struct sem_probe pr;
	struct svec paths = {0};
	struct cf_err e;
	memset(out, 0, sizeof(*out));
	out->same = -1;
	if (!live->exists || !ep->account)
		return;
	out->flags_differ = !flags_agree(ep, live);
	if (out->flags_differ) { /* a change whatever the rules do: spare the probing */
		out->same = 0;
		return;
	}
	err_clear(&e);
	if (prov_sem_write(ep, live, &after, &e) != 0)
		return;
	memset(&pr, 0, sizeof(pr));
	sem_probe_add_cache(&pr, &ep->cache);
	sem_probe_add_cache(&pr, &live->cache);
	sem_probe_add_cfg(&pr, &live->sem);
	sem_probe_add_cfg(&pr, &after);
	sem_probe_paths(&pr, &paths);
	long at = sem_first_difference(&live->sem, &after, &paths);
	if (at >= 0) {
		out->path = xstrdup(paths.v[at].s);
		sem_eval(&live->sem, out->path, &out->before);
		sem_eval(&after, out->path, &out->after);
		out->before.rule_id = out->after.rule_id = NULL;
	}
	out->same = at < 0 && !out->flags_differ;
	svec_release(&paths);
	sem_probe_release(&pr);
	sem_cfg_release(&after);
}

void prov_behaviour_release(struct prov_behaviour *b)
{
	free(b->path);
	memset(b, 0, sizeof(*b));
}

bool prov_behaves_as(const struct endpoint *ep, const struct live_state *live)
{
	struct prov_behaviour b;
	if (!live->exists || !ep->account || !flags_agree(ep, live))
		return false; /* cheap answer first: no probing needed */
	prov_behaviour_compare(ep, live, &b);
	bool same = b.same == 1;
	prov_behaviour_release(&b);
	return same;
}

/* ---- digest ---- */

/* Length-prefixed strings keep the serialisation unambiguous whatever the bytes are. */
/* The digest's text is built without a format string: it runs once for each endpoint read,
 * and its sb_addf calls were most of a large plan's formatting (issue 17). Byte for byte what
 * the "%zu" / "%d" / "%lld" forms gave: stored digests still compare. */
static void dig_str(struct sb *sb, const char *s)
{
	s = s ? s : "";
	size_t n = strlen(s);
	sb_addu(sb, n);
	sb_addc(sb, ':');
	sb_add(sb, s, n);
}

static void dig_flag(struct sb *sb, const char *label, bool v)
{
	sb_adds(sb, label);
	sb_addc(sb, v ? '1' : '0');
}

static void dig_cache(struct sb *sb, const struct cache *c)
{
	dig_flag(sb, "icc ", c->ignore_cache_control);
	dig_flag(sb, " icookie ", c->ignore_cookie);
	dig_flag(sb, " iqs ", c->ignore_query_string);
	sb_adds(sb, " rules ");
	sb_addu(sb, c->nrules);
	sb_addc(sb, '\n');
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		sb_adds(sb, "rule ");
		sb_adds(sb, rule_kind_name(r->kind));
		sb_addc(sb, ' ');
		sb_addi(sb, r->ttl);
		sb_addc(sb, ' ');
		dig_str(sb, r->name.s);
		sb_addc(sb, ' ');
		sb_addu(sb, r->items.n);
		sb_addc(sb, '\n');
		if (r->cc != RULE_CC_INHERIT) { /* absent when unset: digests of older plans hold */
			sb_adds(sb, "cc ");
			sb_addi(sb, (int)r->cc);
			sb_addc(sb, '\n');
		}
		for (size_t j = 0; j < r->items.n; j++) {
			sb_adds(sb, "item ");
			dig_str(sb, r->items.v[j].s);
			sb_addc(sb, '\n');
		}
	}
}

/* SHA-256 fetched once: EVP_sha256() made each EVP_Digest look the implementation up again,
 * more than half of a digest's cost (issue 17). */
static EVP_MD *fetched_sha256;
static pthread_once_t fetched_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
	fetched_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* Fetched once a process: answers are digested on http_run_fed_worker's thread too. */
static const EVP_MD *digest_sha256(void)
{
	pthread_once(&fetched_once, fetch_sha256);
	return fetched_sha256 ? fetched_sha256 : EVP_sha256();
}

void prov_digest(struct live_state *ls)
{
	static const char hex[] = "0123456789abcdef";
	struct sb sb;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	sb_init(&sb, PROV_DIGEST_MAX);
	sb_adds(&sb, PROV_DIGEST_MAGIC);
	dig_flag(&sb, "exists ", ls->exists);
	dig_flag(&sb, " ccunknown ", ls->cache_control_unknown);
	sb_adds(&sb, " inexact ");
	dig_str(&sb, ls->inexact);
	sb_addc(&sb, '\n');
	dig_cache(&sb, &ls->cache);
	sb_adds(&sb, "foreign ");
	sb_addu(&sb, ls->nforeign);
	sb_addc(&sb, '\n');
	for (size_t i = 0; i < ls->nforeign; i++) {
		sb_adds(&sb, "f ");
		sb_addi(&sb, ls->foreign[i].order);
		sb_addc(&sb, ' ');
		dig_str(&sb, ls->foreign[i].name);
		sb_addc(&sb, ' ');
		dig_str(&sb, ls->foreign[i].json);
		sb_addc(&sb, '\n');
	}
	/* An overflowed form still hashes deterministically; mark it so it cannot collide
	 * with a complete one. */
	if (sb.overflow)
		sb_adds(&sb, "!overflow");
	EVP_Digest(sb.buf, sb.len, md, &mdlen, digest_sha256(), NULL);
	size_t i = 0;
	for (; i < mdlen && i < 32; i++) {
		ls->digest[2 * i] = hex[md[i] >> 4];
		ls->digest[2 * i + 1] = hex[md[i] & 0xf];
	}
	ls->digest[2 * i] = '\0';
	sb_release(&sb);
}

/* ---- error lines ---- */

/* Copies a provider's text into out: control characters become spaces, and it is cut at
 * PROV_ERR_TEXT_MAX bytes on a UTF-8 boundary so one line stays one line. */
static void clean_text(const char *s, char *out, size_t n)
{
	size_t o = 0, cap = n - 1 < PROV_ERR_TEXT_MAX ? n - 1 : PROV_ERR_TEXT_MAX;
	bool cut = false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (o >= cap) {
			cut = true;
			break;
		}
		out[o++] = (*p < 0x20 || *p == 0x7f) ? ' ' : (char)*p;
	}
	if (cut) {
		while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
			o--;
		if (o + 3 <= n - 1) {
			out[o++] = '.';
			out[o++] = '.';
			out[o++] = '.';
		}
	}
	out[o] = '\0';
}

/* Appends s with control bytes as spaces (one line stays one line), then redacted. */
static void scrub_text(const char *s, struct sb *out)
{
	char *line = xstrdup(s ? s : "");
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	redact_text(line, out);
	free(line);
}

static int http_error_line(const char *subject, const char *op, const struct http_resp *resp,
			   const char *code, const char *msg, struct cf_err *e)
{
	char ctext[32], mtext[PROV_ERR_TEXT_MAX + 4];
	int rc = (resp->status == 401 || resp->status == 403) ? CF_EAUTH : CF_EAPI;
	struct sb rc_text, rm_text;
	/* provider text may quote the request (gateways, WAFs): scrubbed before it is cut */
	sb_init(&rc_text, 0);
	sb_init(&rm_text, 0);
	scrub_text(code, &rc_text);
	scrub_text(msg, &rm_text);
	clean_text(rc_text.buf ? rc_text.buf : "", ctext, sizeof(ctext));
	clean_text(rm_text.buf ? rm_text.buf : "", mtext, sizeof(mtext));
	sb_release(&rc_text);
	sb_release(&rm_text);
	err_set(e, rc, "%s: %s: HTTP %ld%s%s%s%s", subject, op, resp->status, ctext[0] ? " " : "",
		ctext, mtext[0] ? ": " : "", mtext);
	if (e)
		snprintf(e->code, sizeof(e->code), "%s", ctext);
	return rc;
}

int prov_http_error(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		    const char *code, const char *msg, struct cf_err *e)
{
	char subject[PROV_WHAT_MAX];
	const char *prov = ep->account ? provider_name(ep->account->provider) : "?";
	snprintf(subject, sizeof(subject), "endpoint '%s' (%s)", ep->name.s, prov);
	return http_error_line(subject, op, resp, code, msg, e);
}

int prov_account_http_error(const struct prov_account *pa, const char *op,
			    const struct http_resp *resp, const char *code, const char *msg,
			    struct cf_err *e)
{
	char subject[PROV_WHAT_MAX];
	snprintf(subject, sizeof(subject), "account '%s' (%s)", pa->name, provider_name(pa->kind));
	return http_error_line(subject, op, resp, code, msg, e);
}

int prov_resp_transport(const struct http_resp *resp, struct cf_err *e)
{
	if (resp->rc == 0)
		return 0;
	if (e)
		*e = resp->err;
	return resp->rc;
}

int prov_decode_error(const struct endpoint *ep, const char *op, int rc, struct cf_err *e)
{
	const char *prov = ep->account ? provider_name(ep->account->provider) : "?";
	err_prefix(e, "endpoint '%s' (%s): %s: unexpected response", ep->name.s, prov, op);
	return rc;
}

void prov_error_fields(const struct http_resp *resp, const struct prov_err_shape *shape,
		       struct json_object **root, const char **code, const char **msg)
{
	struct json_object *in = NULL;
	unsigned opt = shape->flags | CODEC_OPTIONAL;
	*code = *msg = NULL;
	if (codec_parse_obj(resp->body, resp->body_len, root, NULL) != 0)
		return;
	in = *root;
	if (shape->wrap && (codec_obj(*root, "", shape->wrap, opt, &in, NULL) != 0 || !in))
		in = shape->wrap_or_root ? *root : NULL;
	if (!in)
		return;
	codec_str(in, "", shape->code, opt, code, NULL);
	codec_str(in, "", shape->msg, opt, msg, NULL);
}

int prov_api_error(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		   const struct prov_err_shape *shape, struct cf_err *e)
{
	struct json_object *root = NULL;
	const char *code, *msg;
	prov_error_fields(resp, shape, &root, &code, &msg);
	int rc = prov_http_error(ep, op, resp, code, msg ? msg : (code ? NULL : resp->body), e);
	codec_put(root);
	return rc;
}

/* ---- answers ---- */

int prov_parse_json(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		    const struct prov_err_shape *shape, long ok_too, prov_decode_fn fn, void *out,
		    struct cf_err *e)
{
	struct json_object *root = NULL;
	int rc = prov_resp_transport(resp, e);
	if (rc != 0)
		return rc;
	if (resp->status != 200 && (ok_too == 0 || resp->status != ok_too))
		return prov_api_error(ep, op, resp, shape, e);
	rc = codec_parse_obj(resp->body, resp->body_len, &root, e);
	if (rc == 0)
		rc = fn(root, out, e);
	codec_put(root);
	return rc != 0 ? prov_decode_error(ep, op, rc, e) : 0;
}

int prov_parse_account_json(const struct prov_account *pa, const char *op,
			    const struct http_resp *resp, const struct prov_err_shape *shape,
			    prov_decode_fn fn, void *out, struct cf_err *e)
{
	struct json_object *root = NULL;
	const char *code, *msg;
	int rc = prov_resp_transport(resp, e);
	if (rc != 0)
		return rc;
	if (resp->status != 200) {
		prov_error_fields(resp, shape, &root, &code, &msg);
		rc = prov_account_http_error(pa, op, resp, code,
					     msg ? msg : (code ? NULL : resp->body), e);
		codec_put(root);
		return rc;
	}
	rc = codec_parse(resp->body, resp->body_len, &root, e);
	if (rc == 0)
		rc = fn(root, out, e);
	codec_put(root);
	if (rc != 0)
		err_prefix(e, "account '%s' (%s): %s: unexpected response: ", pa->name,
			   provider_name(pa->kind), op);
	return rc;
}

int prov_parse_live(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		    const struct prov_err_shape *shape, prov_decode_fn fn, struct live_state *out,
		    struct cf_err *e)
{
	memset(out, 0, sizeof(*out));
	int rc = prov_parse_json(ep, op, resp, shape, 0, fn, out, e);
	if (rc != 0) {
		live_state_release(out);
		return rc;
	}
	out->exists = true;
	prov_digest(out);
	return 0;
}

int prov_parse_task(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		    const struct prov_err_shape *shape, long ok_too, prov_decode_fn fn,
		    struct task *t, struct cf_err *e)
{
	int rc = prov_parse_json(ep, op, resp, shape, ok_too, fn, t, e);
	if (rc == 0)
		t->retry_after_s = prov_retry_after(resp);
	return rc;
}

void prov_task_running(struct task *t, const struct http_resp *resp, char *id, const char *url)
{
	t->state = TASK_RUNNING;
	t->id = id;
	t->poll_url = xstrdup(url);
	t->retry_after_s = prov_retry_after(resp);
}

/* ---- accounts ---- */

static int open_field(const struct account *a, const char *repo_root, const struct prov_field *f,
		      struct prov_account *pa, struct cf_err *e)
{
	const struct mval *m = (const struct mval *)((const char *)a + f->model_off);
	char **dst = (char **)((char *)pa + f->pa_off);
	char what[PROV_WHAT_MAX];
	snprintf(what, sizeof(what), "account '%s': %s", a->name.s, f->name);
	if (m->kind == MVAL_ABSENT) {
		if (f->required)
			return err_set(e, CF_EINVAL, "%s is missing", what);
		*dst = xstrdup(f->default_val);
		return 0;
	}
	return secret_resolve(m, a->file, repo_root, what, dst, e);
}

/* SPEC §2.1: https everywhere, plain http only towards this machine. */
static int check_base(const char *name, const char *field, char *url, struct cf_err *e)
{
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
	if (strncasecmp(url, "https://", 8) == 0 && n > 8)
		return 0;
	if (strncasecmp(url, "http://", 7) == 0 && http_is_loopback_url(url))
		return 0;
	return err_set(e, CF_EINVAL,
		       "account '%s': %s must be an https:// URL (http:// only for loopback)", name,
		       field);
}

int prov_account_open(const struct account *a, const char *repo_root,
		      const struct prov_field *fields, size_t nfields, const char *default_base,
		      struct prov_account **out, struct cf_err *e)
{
	const struct prov_field common[] = {
	    {"base_url", offsetof(struct account, base_url),
	     offsetof(struct prov_account, base_url), false, default_base},
	    {"ca_file", offsetof(struct account, ca_file), offsetof(struct prov_account, ca_file),
	     false, NULL},
	};
	struct prov_account *pa = xcalloc(1, sizeof(*pa));
	int rc = 0;
	pa->kind = a->provider;
	pa->name = xstrdup(a->name.s);
	struct sb key;
	sb_init(&key, 0);
	shard_domain_key(a, &key);
	pa->bucket = xstrdup(key.buf ? key.buf : a->name.s);
	sb_release(&key);
	pa->timeout_ms = a->timeout_s > 0 ? (long)(a->timeout_s * 1000) : 0;
	for (size_t i = 0; i < CF_ARRAY_LEN(common) && rc == 0; i++)
		rc = open_field(a, repo_root, &common[i], pa, e);
	for (size_t i = 0; i < nfields && rc == 0; i++)
		rc = open_field(a, repo_root, &fields[i], pa, e);
	if (rc == 0)
		rc = check_base(a->name.s, "base_url", pa->base_url, e);
	if (rc == 0 && pa->login_url)
		rc = check_base(a->name.s, "login_url", pa->login_url, e);
	if (rc != 0) {
		prov_account_close(pa);
		pa = NULL;
	} else {
		/* so a provider message quoting one of them is scrubbed (redact_text) */
		const char *secrets[] = {pa->key_value, pa->client_secret, pa->api_key};
		for (size_t i = 0; i < CF_ARRAY_LEN(secrets); i++)
			redact_known_add(secrets[i], false);
	}
	*out = pa;
	return rc;
}

void prov_account_close(struct prov_account *pa)
{
	if (!pa)
		return;
	char **s[] = {&pa->name,	  &pa->base_url,  &pa->ca_file,	    &pa->subscription,
		      &pa->key_id,	  &pa->key_value, &pa->tenant,	    &pa->client_id,
		      &pa->client_secret, &pa->login_url, &pa->api_version, &pa->token,
		      &pa->user,	  &pa->api_key,	  &pa->token_scope, &pa->bucket};
	for (size_t i = 0; i < CF_ARRAY_LEN(s); i++)
		secret_free(*s[i]);
	sign_wipe(pa, sizeof(*pa));
	free(pa);
}

time_t prov_now(const struct prov_account *pa)
{
	return pa->fixed_now ? pa->fixed_now : time(NULL);
}

/* ---- requests ---- */

void prov_req_start(struct http_req *req, struct prov_account *pa, const struct endpoint *ep,
		    const char *method, const char *url, const char *op, http_sign_fn sign)
{
	char what[PROV_WHAT_MAX];
	snprintf(what, sizeof(what), "endpoint '%s': %s", ep ? ep->name.s : "?", op);
	http_req_init(req, method, url, what);
	req->retry = strcmp(method, "POST") == 0 ? HTTP_RETRY_UNSAFE : HTTP_RETRY_SAFE;
	req->bucket = pa->bucket;
	req->ca_file = pa->ca_file;
	req->timeout_ms = pa->timeout_ms;
	req->sign = sign;
	req->sign_ctx = pa;
	http_req_header(req, "Accept", "application/json");
}

int prov_req_url(struct http_req *req, struct prov_account *pa, const struct endpoint *ep,
		 const char *method, struct sb *url, const char *op, http_sign_fn sign,
		 struct cf_err *e)
{
	int rc = 0;
	memset(req, 0, sizeof(*req));
	if (url->overflow)
		rc = err_set(e, CF_ELIMIT, "request URL over %d bytes", PROV_URL_MAX);
	else
		prov_req_start(req, pa, ep, method, url->buf, op, sign);
	sb_release(url);
	return rc;
}

int prov_req_status_url(struct http_req *req, struct prov_account *pa, const struct endpoint *ep,
			const char *url, const char *what, const char *op, http_sign_fn sign,
			struct cf_err *e)
{
	memset(req, 0, sizeof(*req));
	if (!prov_same_origin(url, pa->base_url))
		return err_set(e, CF_EAPI, "endpoint '%s': %s '%.80s' is not on %s", ep->name.s,
			       what, url, pa->base_url);
	prov_req_start(req, pa, ep, "GET", url, op, sign);
	return 0;
}

int prov_sign_finish(struct http_req *req, const char *date_header, const char *date,
		     struct sb *auth, int sign_rc, struct cf_err *e)
{
	int rc = 0;
	if (sign_rc != 0)
		rc = err_set(e, CF_EINVAL, "%s: cannot sign the request", req->what);
	if (rc == 0 && date_header)
		http_req_set_header(req, date_header, date);
	if (rc == 0) {
		http_req_set_header(req, "Authorization", auth->buf);
		/* the value and its credential part: an echo of either is scrubbed */
		redact_known_add(auth->buf, true);
		const char *sp = strchr(auth->buf, ' ');
		if (sp)
			redact_known_add(sp + 1, true);
	}
	sign_wipe(auth->buf, auth->len);
	sb_release(auth);
	return rc;
}

int prov_ready_none(struct prov_account *pa, struct http_client *c, struct cf_err *e)
{
	CF_UNUSED(pa);
	CF_UNUSED(c);
	CF_UNUSED(e);
	return 0;
}

int prov_req_json(struct http_req *req, struct sb *sb, struct cf_err *e)
{
	if (sb->overflow) {
		err_set(e, CF_ELIMIT, "%s: request body over %zu bytes", req->what, sb->max);
		http_req_release(req);
		return CF_ELIMIT;
	}
	size_t len = sb->len;
	http_req_body(req, sb_detach(sb), len);
	http_req_header(req, "Content-Type", "application/json");
	return 0;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int prov_add_segment(struct sb *sb, const char *s)
{
	int r = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && r == 0; p++)
		r = unreserved(*p) ? sb_addc(sb, (char)*p) : sb_addf(sb, "%%%02X", *p);
	return r;
}

int prov_add_form(struct sb *sb, const char *s)
{
	int r = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && r == 0; p++)
		r = *p == ' '	     ? sb_addc(sb, '+')
		    : unreserved(*p) ? sb_addc(sb, (char)*p)
				     : sb_addf(sb, "%%%02X", *p);
	return r;
}

void prov_add_str_array(struct sb *sb, const struct svec *a, const struct svec *b)
{
	size_t na = a->n, nb = b ? b->n : 0;
	sb_addc(sb, '[');
	for (size_t i = 0; i < na + nb; i++) {
		sb_adds(sb, i ? "," : "");
		sb_add_json_str(sb, i < na ? a->v[i].s : b->v[i - na].s);
	}
	sb_addc(sb, ']');
}

/* ---- URLs ---- */

bool prov_header_url_ok(const char *url)
{
	size_t n = url ? strlen(url) : 0;
	if (n == 0 || n > PROV_URL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return false;
	return true;
}

bool prov_valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PROV_ID_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!unreserved((unsigned char)s[i]))
			return false;
	return true;
}

char *prov_last_segment(const char *url)
{
	size_t end = strcspn(url, "?#");
	while (end > 0 && url[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && url[start - 1] != '/')
		start--;
	size_t n = end - start;
	if (n == 0 || n > PROV_ID_MAX)
		return NULL;
	char *id = xstrndup(url + start, n);
	if (!prov_valid_id(id)) {
		free(id);
		return NULL;
	}
	return id;
}

/* Length of "scheme://authority" at the start of url, 0 when url is not absolute. */
static size_t origin_len(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p || p == url || strcspn(url, ":/?#") != (size_t)(p - url))
		return 0;
	p += 3;
	return (size_t)(p - url) + strcspn(p, "/?#");
}

bool prov_same_origin(const char *url, const char *base)
{
	return http_url_on_origin(url, base);
}

int prov_retry_after(const struct http_resp *resp)
{
	const char *v = http_resp_header(resp, "retry-after");
	if (!v || !*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 6)
		return 0;
	long s = strtol(v, NULL, 10);
	return s > PROV_RETRY_AFTER_MAX ? PROV_RETRY_AFTER_MAX : (int)s;
}

/* ---- purge expansion and packing ---- */

static bool is_absolute(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

const char *prov_url_path(const char *s)
{
	size_t o = is_absolute(s) ? origin_len(s) : 0;
	return s[o] ? s + o : "/";
}

static uint64_t uniq_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void prov_svec_dedup(struct svec *v)
{
	size_t cap = PROV_UNIQ_MIN, n = 0;
	while (cap < 2 * v->n)
		cap <<= 1;
	const char **set = xcalloc(cap, sizeof(*set));
	for (size_t i = 0; i < v->n; i++) {
		size_t k = (size_t)uniq_hash(v->v[i].s) & (cap - 1);
		while (set[k] && strcmp(set[k], v->v[i].s) != 0)
			k = (k + 1) & (cap - 1);
		if (set[k]) {
			free(v->v[i].s); /* a later copy: the first one keeps its place */
			continue;
		}
		set[k] = v->v[i].s;
		v->v[n++] = v->v[i];
	}
	v->n = n;
	free(set);
}

void prov_expand_urls(const struct endpoint *ep, const struct svec *in, const char *suffix,
		      struct svec *out)
{
	const char *scheme = ep->scheme.s ? ep->scheme.s : "https";
	struct sb sb;
	sb_init(&sb, PROV_URL_MAX * 2);
	for (size_t i = 0; i < in->n; i++) {
		const char *item = in->v[i].s;
		if (is_absolute(item)) {
			sb_reset(&sb);
			sb_adds(&sb, item);
			sb_adds(&sb, suffix);
			svec_push(out, sb.buf, NULL);
			continue;
		}
		for (size_t h = 0; h < ep->hosts.n; h++) {
			sb_reset(&sb);
			sb_addf(&sb, "%s://%s%s%s", scheme, ep->hosts.v[h].s, item, suffix);
			svec_push(out, sb.buf, NULL);
		}
	}
	sb_release(&sb);
	prov_svec_dedup(out);
}

static size_t take(struct svec *dst, const struct svec *src, size_t *at, size_t room)
{
	size_t k = 0;
	for (; k < room && *at < src->n; k++, (*at)++)
		svec_push(dst, src->v[*at].s, NULL);
	return k;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

void prov_pack(enum batch_kind kind, enum purge_action action, struct svec *files,
	       struct svec *dirs, struct svec *patterns, struct svec *regex,
	       const struct prov_caps *caps, struct purge_batch **out, size_t *n)
{
	size_t fi = 0, di = 0, pi = 0, ri = 0;
	size_t cap = *n;
	while (fi < files->n || di < dirs->n || pi < patterns->n || ri < regex->n) {
		struct purge_batch b = {.kind = kind, .action = action};
		size_t total = caps->max_total ? caps->max_total : SIZE_MAX;
		total -= take(&b.files, files, &fi, min_sz(caps->max_files, total));
		size_t d = take(&b.dirs, dirs, &di, min_sz(caps->max_dirs, total));
		total -= d;
		total -= take(&b.patterns, patterns, &pi, min_sz(caps->max_dirs - d, total));
		take(&b.regex, regex, &ri, min_sz(caps->max_regex, total));
		if (!b.files.n && !b.dirs.n && !b.patterns.n && !b.regex.n)
			break; /* a kind with cap 0: the driver never passes one (validation) */
		xgrow(out, &cap, *n + 1, sizeof(**out));
		(*out)[(*n)++] = b;
	}
	svec_release(files);
	svec_release(dirs);
	svec_release(patterns);
	svec_release(regex);
}

size_t prov_split_pack(enum purge_action action, struct prov_items *x,
		       const struct prov_caps *purge_caps, const struct prov_caps *load_caps,
		       struct purge_batch **out)
{
	size_t n = 0;
	*out = NULL;
	struct svec *lists[] = {&x->files, &x->dirs, &x->patterns, &x->regex, &x->preload};
	for (size_t i = 0; i < CF_ARRAY_LEN(lists); i++)
		prov_svec_dedup(lists[i]);
	prov_pack(BATCH_PURGE, action, &x->files, &x->dirs, &x->patterns, &x->regex, purge_caps,
		  out, &n);
	/* the first pack emptied the other kinds: preloads go alone */
	prov_pack(BATCH_PRELOAD, action, &x->preload, &x->dirs, &x->patterns, &x->regex, load_caps,
		  out, &n);
	return n;
}

void prov_svec_add_unique(struct svec *v, const char *s)
{
	if (!svec_contains(v, s))
		svec_push(v, s, NULL);
}
