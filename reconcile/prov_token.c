/*
 * Azure Entra ID client-credentials token: the request, the answer, the refresh decision
 * and the bearer signer. The token lives in the account (prov_account.token) and is
 * refreshed PROV_TOKEN_MARGIN_S before it expires.
 */
#include "reconcile/base/compat.h"

#include <strings.h>

#include "reconcile/codec.h"
#include "reconcile/prov_int.h"
#include "reconcile/redact.h"
#include "reconcile/secret.h"
#include "reconcile/sign.h"
#include "reconcile/base/xmem.h"

#define TOK_SCOPE    "https://management.azure.com/.default"
#define TOK_TTL_MAX  (INT64_C(86400) * 7) /* an expires_in we believe */
#define TOK_AUTH_MAX (PROV_TOKEN_MAX + 16)
#define TOK_WHAT_MAX 128

#define OP_TOKEN "fetch access token"

#define OPT CODEC_OPTIONAL

/* OAuth errors are flat: {"error": code, "error_description": message}. */
static const struct prov_err_shape tok_err = {NULL, false, "error", "error_description", 0};

bool prov_azure_token_fresh(const struct prov_account *pa, time_t now)
{
	return pa->token && now + PROV_TOKEN_MARGIN_S < pa->token_expires;
}

int prov_azure_token_req(struct prov_account *pa, struct http_req *req, struct cf_err *e)
{
	struct sb url, body;
	char what[TOK_WHAT_MAX];
	sb_init(&url, PROV_URL_MAX);
	sb_init(&body, PROV_URL_MAX);
	sb_addf(&url, "%s/", pa->login_url);
	prov_add_segment(&url, pa->tenant);
	sb_adds(&url, "/oauth2/v2.0/token");
	sb_adds(&body, "client_id=");
	prov_add_form(&body, pa->client_id);
	sb_adds(&body, "&scope=");
	prov_add_form(&body, pa->token_scope ? pa->token_scope : TOK_SCOPE);
	sb_adds(&body, "&client_secret=");
	prov_add_form(&body, pa->client_secret);
	sb_adds(&body, "&grant_type=client_credentials");
	if (url.overflow || body.overflow) {
		sign_wipe(body.buf, body.len);
		sb_release(&url);
		sb_release(&body);
		return err_set(e, CF_ELIMIT, "account '%s': token request too long", pa->name);
	}
	snprintf(what, sizeof(what), "account '%s': %s", pa->name, OP_TOKEN);
	http_req_init(req, "POST", url.buf, what);
	req->retry = HTTP_RETRY_SAFE; /* asking for a token twice does no harm */
	req->ca_file = pa->ca_file;
	req->timeout_ms = pa->timeout_ms;
	http_req_header(req, "Content-Type", "application/x-www-form-urlencoded");
	http_req_header(req, "Accept", "application/json");
	size_t len = body.len;
	http_req_body(req, sb_detach(&body), len);
	sb_release(&url);
	return 0;
}

/* Goes into an HTTP header: printable ASCII without spaces, and bounded. */
static bool token_ok(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > PROV_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] <= ' ' || t[i] > '~')
			return false;
	return true;
}

/* A 4xx from the token endpoint means the credentials are wrong, whatever the status. */
static int token_error(struct prov_account *pa, const struct http_resp *resp, struct cf_err *e)
{
	struct json_object *root = NULL;
	const char *code, *msg;
	prov_error_fields(resp, &tok_err, &root, &code, &msg);
	int rc = prov_account_http_error(pa, OP_TOKEN, resp, code, msg, e);
	codec_put(root);
	return rc == CF_EAPI && resp->status >= 400 && resp->status < 500 ? CF_EAUTH : rc;
}

static int decode_token(struct prov_account *pa, struct json_object *root, time_t now,
			struct cf_err *e)
{
	const char *tok, *type = NULL;
	int64_t ttl;
	/* v2.0 sends expires_in as a number, v1 as a string: accept both */
	int rc = codec_str(root, "", "access_token", 0, &tok, e);
	if (rc == 0 && !token_ok(tok))
		rc = err_set(e, CF_EAPI, "'access_token' is not a bearer token");
	if (rc == 0)
		rc = codec_str(root, "", "token_type", OPT, &type, e);
	if (rc == 0 && type && strcasecmp(type, "Bearer") != 0)
		rc = err_set(e, CF_EAPI, "token_type '%.20s', want Bearer", type);
	if (rc == 0)
		rc = codec_int(root, "", "expires_in", CODEC_LOOSE, 1, TOK_TTL_MAX, &ttl, NULL, e);
	if (rc != 0)
		return rc;
	secret_free(pa->token);
	pa->token = xstrdup(tok);
	redact_known_add(pa->token, false);
	pa->token_expires = now + (time_t)ttl;
	return 0;
}

int prov_azure_token_parse(struct prov_account *pa, const struct http_resp *resp, time_t now,
			   struct cf_err *e)
{
	struct json_object *root = NULL;
	int rc = prov_resp_transport(resp, e);
	if (rc != 0)
		return rc;
	if (resp->status != 200)
		return token_error(pa, resp, e);
	rc = codec_parse_obj(resp->body, resp->body_len, &root, e);
	if (rc == 0)
		rc = decode_token(pa, root, now, e);
	codec_put(root);
	if (rc != 0)
		err_prefix(e, "account '%s' (%s): %s: unexpected response", pa->name,
			   provider_name(pa->kind), OP_TOKEN);
	return rc;
}

int prov_azure_ready(struct prov_account *pa, struct http_client *c, struct cf_err *e)
{
	struct http_req req;
	struct http_resp resp;
	/* expiry counts from before the request left, so a slow answer errs on the safe side */
	time_t t0 = prov_now(pa);
	if (prov_azure_token_fresh(pa, t0))
		return 0;
	int rc = prov_azure_token_req(pa, &req, e);
	if (rc != 0)
		return rc;
	memset(&resp, 0, sizeof(resp));
	http_run(c, &req, &resp, 1);
	rc = prov_azure_token_parse(pa, &resp, t0, e);
	if (req.body)
		sign_wipe(req.body, req.body_len);
	http_req_release(&req);
	if (resp.body)
		sign_wipe(resp.body, resp.body_len);
	http_resp_release(&resp);
	return rc;
}

int prov_azure_sign(void *ctx, struct http_req *req, struct cf_err *e)
{
	struct prov_account *pa = ctx;
	struct sb auth;
	if (!pa->token)
		return err_set(e, CF_EAUTH, "%s: no access token (account not ready)", req->what);
	sb_init(&auth, TOK_AUTH_MAX);
	sb_addf(&auth, "Bearer %s", pa->token);
	return prov_sign_finish(req, NULL, NULL, &auth, 0, e);
}
