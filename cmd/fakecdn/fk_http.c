#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_http.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/xmem.h"

#include <strings.h>

#define CTYPE_JSON "application/json; charset=utf-8"

static void add_kv(struct fk_kv **arr, size_t *n, size_t *cap, char *name, char *value)
{
	xgrow(arr, cap, *n + 1, sizeof(**arr));
	(*arr)[*n].name = name;
	(*arr)[*n].value = value;
	(*n)++;
}

/* Adds one "name=value" query component; returns -1 when it has a bad escape. */
static int add_arg(struct fk_req *req, const char *p, size_t len)
{
	const char *eq = memchr(p, '=', len);
	size_t nlen = eq ? (size_t)(eq - p) : len;
	char *name = fk_url_decode(p, nlen, true);
	char *value = eq ? fk_url_decode(eq + 1, len - nlen - 1, true) : xstrdup("");

	if (!name || !value) {
		free(name);
		free(value);
		return -1;
	}
	add_kv(&req->args, &req->nargs, &req->args_cap, name, value);
	return 0;
}

int fk_req_init(struct fk_req *req, const char *method, const char *target)
{
	const char *q = strchr(target, '?');
	const char *p;
	int rc = 0;

	memset(req, 0, sizeof(*req));
	req->method = xstrdup(method);
	req->path = q ? xstrndup(target, (size_t)(q - target)) : xstrdup(target);
	req->query = xstrdup(q ? q + 1 : "");
	req->body = xstrdup("");
	req->now_ms = fk_now_ms();
	for (p = req->query; *p;) {
		size_t len = strcspn(p, "&");

		if (len && add_arg(req, p, len) < 0)
			rc = -1;
		p += len;
		if (*p == '&')
			p++;
	}
	return rc;
}

void fk_req_add_header(struct fk_req *req, const char *name, const char *value)
{
	add_kv(&req->hdrs, &req->nhdrs, &req->hdrs_cap, xstrdup(name), xstrdup(value));
}

void fk_req_set_body(struct fk_req *req, const char *body, size_t len)
{
	free(req->body);
	req->body = xstrndup(body, len);
	req->body_len = len;
}

static void free_kvs(struct fk_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
	free(kv);
}

void fk_req_release(struct fk_req *req)
{
	free(req->method);
	free(req->path);
	free(req->query);
	free(req->body);
	free_kvs(req->args, req->nargs);
	free_kvs(req->hdrs, req->nhdrs);
	memset(req, 0, sizeof(*req));
}

const char *fk_req_header(const struct fk_req *req, const char *name)
{
	for (size_t i = 0; i < req->nhdrs; i++)
		if (strcasecmp(req->hdrs[i].name, name) == 0)
			return req->hdrs[i].value;
	return NULL;
}

const char *fk_req_arg(const struct fk_req *req, const char *name)
{
	for (size_t i = 0; i < req->nargs; i++)
		if (strcmp(req->args[i].name, name) == 0)
			return req->args[i].value;
	return NULL;
}

struct json_object *fk_req_json(const struct fk_req *req)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (req->body_len == 0 || strlen(req->body) != req->body_len)
		return NULL;
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
	/* Trailing garbage after the value makes the body invalid, as a strict parser would. */
	if (o && json_tokener_get_error(tok) == json_tokener_success &&
	    req->body[json_tokener_get_parse_end(tok)] != '\0') {
		const char *rest = req->body + json_tokener_get_parse_end(tok);

		if (rest[strspn(rest, " \t\r\n")] != '\0') {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	return o;
}

void fk_resp_init(struct fk_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 500;
	resp->provider = "unknown";
	resp->op = "unknown";
}

void fk_resp_release(struct fk_resp *resp)
{
	for (size_t i = 0; i < resp->nhdrs; i++) {
		free(resp->hdrs[i].name);
		free(resp->hdrs[i].value);
	}
	free(resp->body);
	resp->nhdrs = 0;
	resp->body = NULL;
	resp->body_len = 0;
}

void fk_resp_header(struct fk_resp *resp, const char *name, const char *value)
{
	if (resp->nhdrs == FK_RESP_MAX_HDRS)
		return;
	resp->hdrs[resp->nhdrs].name = xstrdup(name);
	resp->hdrs[resp->nhdrs].value = xstrdup(value);
	resp->nhdrs++;
}

void fk_resp_json(struct fk_resp *resp, int status, struct json_object *o)
{
	free(resp->body);
	resp->status = status;
	resp->body = fk_json_text(o);
	resp->body_len = strlen(resp->body);
	resp->ctype = CTYPE_JSON;
}

void fk_resp_json_text(struct fk_resp *resp, int status, char *text, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->body = text;
	resp->body_len = len;
	resp->ctype = CTYPE_JSON;
}

void fk_resp_text(struct fk_resp *resp, int status, const char *ctype, const char *text)
{
	free(resp->body);
	resp->status = status;
	resp->body = text ? xstrdup(text) : NULL;
	resp->body_len = text ? strlen(text) : 0;
	resp->ctype = ctype;
}
