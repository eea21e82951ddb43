/* Shared fixtures for the provider driver tests: accounts, endpoints, canned responses. */
#ifndef CF_TEST_PROV_FIXTURE_H
#define CF_TEST_PROV_FIXTURE_H

#include <ctype.h>
#include <strings.h>

#include "reconcile/prov_int.h"
#include "reconcile/base/xmem.h"

/* One opened account and one endpoint on it: every driver test's state. */
struct fx {
	struct account a;
	struct endpoint ep;
	struct prov_account *pa;
	const struct prov_ops *ops;
};

/* Registers a test with the file's own setup and the shared teardown. */
#define FX_TEST(name) cmocka_unit_test_setup_teardown(name, setup, fx_teardown)

static inline void fx_lit(struct mval *m, const char *s)
{
	m->kind = MVAL_LITERAL;
	m->text = xstrdup(s);
}

static inline void fx_account_release(struct account *a)
{
	free(a->name.s);
	struct mval *m[] = {&a->subscription, &a->key_id,	 &a->key_value,	  &a->tenant,
			    &a->client_id,    &a->client_secret, &a->user,	  &a->api_key,
			    &a->base_url,     &a->login_url,	 &a->api_version, &a->ca_file,
			    &a->cloud};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		mval_release(m[i]);
	memset(a, 0, sizeof(*a));
}

static inline void fx_endpoint_release(struct endpoint *ep)
{
	free(ep->name.s);
	free(ep->remote.endpoint_id.s);
	free(ep->remote.resource_group.s);
	free(ep->remote.profile.s);
	free(ep->remote.endpoint.s);
	free(ep->remote.target.s);
	free(ep->remote.property_id.s);
	free(ep->remote.route.s);
	free(ep->remote.rule_set.s);
	svec_release(&ep->hosts);
	free(ep->scheme.s);
	cache_release(&ep->cache);
	memset(ep, 0, sizeof(*ep));
}

static inline void fx_rule(struct cache *c, enum rule_kind k, int64_t ttl, const char *items)
{
	struct rule *r = cache_add_rule(c);
	r->kind = k;
	r->ttl = ttl;
	/* items: comma-separated */
	const char *p = items;
	while (*p) {
		size_t n = strcspn(p, ",");
		char *s = xstrndup(p, n);
		svec_push(&r->items, s, NULL);
		free(s);
		p += n + (p[n] == ',');
	}
}

static inline void fx_resp(struct http_resp *r, long status, const char *body)
{
	memset(r, 0, sizeof(*r));
	r->status = status;
	if (body) {
		r->body = xstrdup(body);
		r->body_len = strlen(body);
	}
}

/* read_parse of one canned answer; the response is released, ls is the caller's. */
static inline int fx_read(struct fx *f, long status, const char *body, struct live_state *ls,
			  struct cf_err *e)
{
	struct http_resp resp;
	fx_resp(&resp, status, body);
	int rc = f->ops->read_parse(&f->ep, &resp, ls, e);
	http_resp_release(&resp);
	return rc;
}

/* poll_parse of one canned answer into t. */
static inline int fx_poll(struct fx *f, long status, const char *body, struct task *t,
			  struct cf_err *e)
{
	struct http_resp resp;
	fx_resp(&resp, status, body);
	int rc = f->ops->poll_parse(&f->ep, &resp, t, e);
	http_resp_release(&resp);
	return rc;
}

static inline void fx_resp_header(struct http_resp *r, const char *name, const char *value)
{
	xgrow(&r->headers, &r->hcap, r->nheaders + 1, sizeof(*r->headers));
	char *n = xstrdup(name);
	for (char *p = n; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	r->headers[r->nheaders].name = n;
	r->headers[r->nheaders].value = xstrdup(value);
	r->nheaders++;
}

static inline const char *fx_req_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static inline void fx_svec(struct svec *v, const char *items)
{
	const char *p = items;
	while (*p) {
		size_t n = strcspn(p, "|");
		char *s = xstrndup(p, n);
		svec_push(v, s, NULL);
		free(s);
		p += n + (p[n] == '|');
	}
}

static inline void fx_purge_release(struct purge *p)
{
	svec_release(&p->files);
	svec_release(&p->dirs);
	svec_release(&p->patterns);
	svec_release(&p->regex);
	svec_release(&p->preload);
	svec_release(&p->endpoints);
	memset(p, 0, sizeof(*p));
}

static inline void fx_batches_release(struct purge_batch *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		purge_batch_release(&b[i]);
	free(b);
}

/* Account `account` of kind at base, endpoint `endpoint` on hosts ("a|b"); the test's setup
 * adds the provider's own fields, then calls fx_open. */
static inline struct fx *fx_new(enum provider_kind kind, const char *account, const char *base,
				const char *endpoint, const char *hosts)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	f->a.name.s = xstrdup(account);
	f->a.provider = kind;
	fx_lit(&f->a.base_url, base);
	f->ep.name.s = xstrdup(endpoint);
	f->ep.account = &f->a;
	fx_svec(&f->ep.hosts, hosts);
	return f;
}

static inline int fx_open(struct fx *f, void **state)
{
	struct cf_err e;
	f->ops = prov_get(f->a.provider);
	if (f->ops->account_open(&f->a, NULL, &f->pa, &e) != 0)
		return -1;
	*state = f;
	return 0;
}

static inline int fx_teardown(void **state)
{
	struct fx *f = *state;
	f->ops->account_close(f->pa);
	fx_endpoint_release(&f->ep);
	fx_account_release(&f->a);
	free(f);
	return 0;
}

#endif
