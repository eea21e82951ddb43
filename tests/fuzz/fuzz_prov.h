/*
 * The provider drivers' response decoders (provider.h: *_parse) on hostile responses, shared
 * by fuzz_azurecn.c, fuzz_azure.c and fuzz_cdnpro.c.
 *
 * Input: byte 0 picks the operation (read, write, purge batch, preload batch, poll, quota or
 * azure token), byte 1 the HTTP status, then "Name: value" header lines up to an empty line,
 * then the body. The decoders get exactly what http_run would hand them.
 *
 * Properties: a decoder either fails with a message or returns a well-formed result (task
 * state in range, live rules within the model's ranges); and whatever a response put into a task,
 * the next request built from it (the poll) has a URL on the account's base origin without control
 * bytes or spaces, and headers that cannot inject another header (redact_header_valid) once signed.
 */
#ifndef CF_FUZZ_PROV_H
#define CF_FUZZ_PROV_H

#include "reconcile/base/compat.h"

#include <time.h>

#include "reconcile/http.h"
#include "reconcile/prov_int.h"
#include "reconcile/provider.h"
#include "reconcile/redact.h"
#include "reconcile/base/xmem.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_BASE "https://cdn.fuzz.invalid"

struct fuzz_prov {
	struct config *c;
	struct endpoint *ep;
	struct prov_account *pa;
	const struct prov_ops *ops;
	struct purge_batch purge, preload;
};

static void fuzz_mval(struct mval *m, enum mval_kind kind, const char *text)
{
	m->kind = kind;
	m->text = xstrdup(text);
}

/* One account and one endpoint of the given provider, opened once per process (reachable
 * from a static, so the leak checker does not count it). */
static struct fuzz_prov *fuzz_prov_get(enum provider_kind kind)
{
	static struct fuzz_prov fp;
	if (fp.c)
		return &fp;
	setenv("FUZZ_SECRET", "c2VjcmV0LXZhbHVlLWZvci1mdXp6aW5n", 1);
	setenv("FUZZ_ID", "fuzz-key-id", 1);
	fp.c = config_new();
	struct config *c = fp.c;
	c->accounts = xcalloc(1, sizeof(*c->accounts));
	c->naccounts = c->acap = 1;
	struct account *a = &c->accounts[0];
	sval_set(&a->name, "acct", NULL);
	a->provider = kind;
	fuzz_mval(&a->base_url, MVAL_LITERAL, FUZZ_BASE);
	switch (kind) {
	case PROV_AZURE_CHINA:
		fuzz_mval(&a->subscription, MVAL_LITERAL, "e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb");
		fuzz_mval(&a->key_id, MVAL_ENV, "FUZZ_ID");
		fuzz_mval(&a->key_value, MVAL_ENV, "FUZZ_SECRET");
		break;
	case PROV_AZURE:
		fuzz_mval(&a->subscription, MVAL_LITERAL, "e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb");
		fuzz_mval(&a->tenant, MVAL_LITERAL, "tenant");
		fuzz_mval(&a->client_id, MVAL_ENV, "FUZZ_ID");
		fuzz_mval(&a->client_secret, MVAL_ENV, "FUZZ_SECRET");
		fuzz_mval(&a->login_url, MVAL_LITERAL, "https://login.fuzz.invalid");
		break;
	default:
		fuzz_mval(&a->user, MVAL_ENV, "FUZZ_ID");
		fuzz_mval(&a->api_key, MVAL_ENV, "FUZZ_SECRET");
		break;
	}
	c->endpoints = xcalloc(1, sizeof(*c->endpoints));
	c->nendpoints = c->ecap = 1;
	struct endpoint *ep = &c->endpoints[0];
	sval_set(&ep->name, "www", NULL);
	sval_set(&ep->account_name, "acct", NULL);
	ep->account = a;
	sval_set(&ep->remote.endpoint_id, "8137ecc4-71c4-11e7-8259-0017fa00a611", NULL);
	sval_set(&ep->remote.resource_group, "web-rg", NULL);
	sval_set(&ep->remote.profile, "web-cdn", NULL);
	sval_set(&ep->remote.endpoint, "www", NULL);
	sval_set(&ep->remote.target, "production", NULL);
	svec_push(&ep->hosts, "www.example.com", NULL);
	sval_set(&ep->scheme, "https", NULL);
	ep->mode = kind == PROV_CDNPRO ? MODE_PURGE_ONLY : MODE_MANAGE;
	ep->has_cache = kind != PROV_CDNPRO;
	if (ep->has_cache) {
		struct rule *r = cache_add_rule(&ep->cache);
		r->kind = RULE_DIR;
		r->ttl = 86400;
		svec_push(&r->items, "/pic/", NULL);
		r = cache_add_rule(&ep->cache);
		r->kind = RULE_SUFFIX;
		r->ttl = 0;
		svec_push(&r->items, "jpg", NULL);
	}
	fp.ep = ep;
	fp.ops = prov_get(kind);
	struct cf_err e;
	err_clear(&e);
	if (fp.ops->account_open(a, NULL, &fp.pa, &e) != 0) {
		fprintf(stderr, "fuzz: account_open: %s\n", e.msg);
		abort();
	}
	if (kind == PROV_AZURE) {
		fp.pa->token = xstrdup("fuzz-token");
		fp.pa->token_expires = time(NULL) + 86400 * 365;
	}
	fp.purge.kind = BATCH_PURGE;
	svec_push(&fp.purge.files, "https://www.example.com/logo.png", NULL);
	svec_push(&fp.purge.dirs, "https://www.example.com/img/", NULL);
	fp.preload.kind = BATCH_PRELOAD;
	svec_push(&fp.preload.files, "https://www.example.com/index.html", NULL);
	return &fp;
}

static void fuzz_no_ctl(const char *s)
{
	for (; s && *s; s++)
		FUZZ_CHECK((unsigned char)*s > 0x20 && *s != 0x7f);
}

static void fuzz_check_task(const struct fuzz_prov *fp, const struct task *t)
{
	FUZZ_CHECK(t->state >= TASK_NONE && t->state <= TASK_FAILED);
	FUZZ_CHECK(t->retry_after_s >= 0);
	/* A poll URL on another origin may be stored (and recorded in the ledger); the poll
	 * request must refuse it, which fuzz_check_poll_req checks. */
	(void)fp;
}

/* Builds (and signs) the poll request a task leads to, and checks what would go on the wire. */
static void fuzz_check_poll_req(struct fuzz_prov *fp, const struct task *t)
{
	struct http_req req;
	struct cf_err e;
	err_clear(&e);
	memset(&req, 0, sizeof req);
	if (fp->ops->poll_req(fp->pa, fp->ep, t, &req, &e) == 0) {
		FUZZ_CHECK(req.url != NULL);
		fuzz_no_ctl(req.url);
		FUZZ_CHECK(prov_same_origin(req.url, fp->pa->base_url));
		if (req.sign && req.sign(req.sign_ctx, &req, &e) == 0)
			for (size_t i = 0; i < req.nheaders; i++)
				FUZZ_CHECK(
				    redact_header_valid(req.headers[i].name, req.headers[i].value));
	}
	http_req_release(&req);
}

static void fuzz_check_live(const struct live_state *ls)
{
	for (size_t r = 0; r < ls->cache.nrules; r++) {
		const struct rule *rl = &ls->cache.rules[r];
		FUZZ_CHECK(rl->ttl >= 0 && rl->ttl <= MODEL_TTL_MAX);
		for (size_t k = 0; k < rl->items.n; k++)
			FUZZ_CHECK(rl->items.v[k].s != NULL);
	}
	if (ls->exists)
		FUZZ_CHECK(strlen(ls->digest) == 64);
}

static const long fuzz_statuses[] = {200, 201, 202, 204, 400, 401, 403, 404,
				     409, 429, 500, 503, 200, 202, 201, 200};

static void fuzz_prov_one(enum provider_kind kind, const uint8_t *data, size_t size)
{
	if (size < 2 || size > ((size_t)1 << 20))
		return;
	struct fuzz_prov *fp = fuzz_prov_get(kind);
	unsigned op = data[0] % 7;
	struct http_resp resp;
	memset(&resp, 0, sizeof resp);
	resp.status = fuzz_statuses[data[1] % CF_ARRAY_LEN(fuzz_statuses)];
	if (data[1] == 0xff) { /* a transport failure instead of an answer */
		resp.rc = CF_ENET;
		err_set(&resp.err, CF_ENET, "connection reset");
	}
	resp.attempts = 1;

	/* header lines up to an empty line */
	const char *p = (const char *)data + 2, *end = (const char *)data + size;
	while (p < end && *p != '\n') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon) {
			const char *v = colon + 1;
			while (v < le && *v == ' ')
				v++;
			xgrow(&resp.headers, &resp.hcap, resp.nheaders + 1, sizeof(*resp.headers));
			char *name = xstrndup(p, (size_t)(colon - p));
			for (char *q = name; *q; q++)
				if (*q >= 'A' && *q <= 'Z')
					*q = (char)(*q - 'A' + 'a');
			resp.headers[resp.nheaders].name = name;
			resp.headers[resp.nheaders].value = xstrndup(v, (size_t)(le - v));
			resp.nheaders++;
		}
		p = nl ? nl + 1 : end;
	}
	if (p < end)
		p++; /* the empty line */
	resp.body_len = (size_t)(end - p);
	resp.body = xmalloc(resp.body_len + 1);
	memcpy(resp.body, p, resp.body_len);
	resp.body[resp.body_len] = '\0';

	struct cf_err e;
	err_clear(&e);
	struct task t;
	memset(&t, 0, sizeof t);
	if (op == 1 && !fp->ops->write_parse)
		op = 2;
	if (op == 5 && !fp->ops->quota_parse)
		op = 6;
	if (op == 6 && kind != PROV_AZURE)
		op = 0;
	if (op == 0 && !fp->ops->read_parse)
		op = 2;
	int rc = 0;
	switch (op) {
	case 0: {
		struct live_state ls;
		memset(&ls, 0, sizeof ls);
		rc = fp->ops->read_parse(fp->ep, &resp, &ls, &e);
		if (rc == 0)
			fuzz_check_live(&ls);
		live_state_release(&ls);
		break;
	}
	case 1:
	case 2:
	case 3:
		if (op == 1)
			rc = fp->ops->write_parse(fp->ep, &resp, &t, &e);
		else
			rc = fp->ops->batch_parse(fp->ep, op == 2 ? &fp->purge : &fp->preload,
						  &resp, &t, &e);
		if (rc == 0) {
			fuzz_check_task(fp, &t);
			fuzz_check_poll_req(fp, &t);
		}
		break;
	case 4:
		t.id = xstrdup("b520c544-ec34-4ac4-86f5-5394363919c3");
		t.state = TASK_RUNNING;
		if (kind != PROV_AZURE_CHINA)
			t.poll_url = xstrdup(FUZZ_BASE "/cdn/purges/b520c544");
		rc = fp->ops->poll_parse(fp->ep, &resp, &t, &e);
		if (rc == 0) {
			fuzz_check_task(fp, &t);
			fuzz_check_poll_req(fp, &t);
		}
		break;
	case 5: {
		struct quota q;
		memset(&q, 0, sizeof q);
		rc = fp->ops->quota_parse(fp->ep, &resp, &q, &e);
		if (rc == 0 && q.known)
			FUZZ_CHECK(q.files_left >= -1 && q.dirs_left >= -1);
		break;
	}
	default:
		rc = prov_azure_token_parse(fp->pa, &resp, time(NULL), &e);
		if (rc == 0) {
			FUZZ_CHECK(fp->pa->token != NULL && fp->pa->token[0] != '\0');
			fuzz_no_ctl(fp->pa->token);
		} else if (!fp->pa->token) {
			fp->pa->token = xstrdup("fuzz-token"); /* keep signing possible */
		}
		fp->pa->token_expires = time(NULL) + 86400 * 365;
		break;
	}
	if (rc < 0) /* PROV_MORE: a multi-request read (cdnpro) goes on */
		FUZZ_CHECK(e.msg[0] != '\0');
	task_release(&t);
	http_resp_release(&resp);
}

#endif
