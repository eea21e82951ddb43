/*
 * Requests and responses of the HTTP module as plain data: building, header lookup,
 * release. No libcurl here; http.c turns these into transfers.
 */
#include "reconcile/base/compat.h"
#include "reconcile/http.h"

#include <strings.h>

#include "reconcile/base/xmem.h"

void http_req_init(struct http_req *r, const char *method, const char *url, const char *what)
{
	memset(r, 0, sizeof(*r));
	r->method = xstrdup(method);
	r->url = xstrdup(url);
	r->what = xstrdup(what ? what : "request");
	r->retry = strcasecmp(method, "POST") == 0 ? HTTP_RETRY_UNSAFE : HTTP_RETRY_SAFE;
}

void http_req_header(struct http_req *r, const char *name, const char *value)
{
	xgrow(&r->headers, &r->hcap, r->nheaders + 1, sizeof(*r->headers));
	r->headers[r->nheaders].name = xstrdup(name);
	r->headers[r->nheaders].value = xstrdup(value);
	r->nheaders++;
}

void http_req_set_header(struct http_req *r, const char *name, const char *value)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0) {
			char *v = xstrdup(value);
			free(r->headers[i].value);
			r->headers[i].value = v;
			return;
		}
	}
	http_req_header(r, name, value);
}

void http_req_body(struct http_req *r, char *body, size_t len)
{
	free(r->body);
	r->body = body;
	r->body_len = body ? len : 0;
}

static void headers_free(struct http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

void http_req_release(struct http_req *r)
{
	if (!r)
		return;
	free(r->method);
	free(r->url);
	headers_free(r->headers, r->nheaders);
	free(r->body);
	free(r->what);
	memset(r, 0, sizeof(*r));
}

void http_resp_clear(struct http_resp *r)
{
	free(r->body);
	headers_free(r->headers, r->nheaders);
	r->body = NULL;
	r->body_len = 0;
	r->headers = NULL;
	r->nheaders = r->hcap = 0;
	r->status = 0;
}

void http_resp_release(struct http_resp *r)
{
	if (!r)
		return;
	http_resp_clear(r);
	memset(r, 0, sizeof(*r));
}

const char *http_resp_header(const struct http_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}
