/* Shared fixtures for the provider driver tests: accounts, endpoints, canned responses. */
#ifndef CF_TEST_PROV_FIXTURE_H
#define CF_TEST_PROV_FIXTURE_H

#include <ctype.h>
#include <strings.h>

#include "reconcile/prov_int.h"
#include "reconcile/xmem.h"

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
			    &a->base_url,     &a->login_url,	 &a->api_version, &a->ca_file};
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

#endif
