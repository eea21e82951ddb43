/*
 * Azure Resource Manager, shared by the Azure CDN (prov_azure.c) and Front Door (prov_afd.c)
 * drivers: the error shape, and long-running operations (a 202 polled at Azure-AsyncOperation,
 * else Location, until its status is final).
 */
#include "reconcile/base/compat.h"

#include <strings.h>

#include "reconcile/codec.h"
#include "reconcile/prov_int.h"
#include "reconcile/base/xmem.h"

#define OPT	CODEC_OPTIONAL
#define OP_POLL "poll operation"

/* ARM errors are flat {code,message} (2015-06-01) or wrapped {"error":{code,message}}. */
const struct prov_err_shape prov_arm_err = {"error", true, "code", "message", 0};

/* The operation id of a status URL: the segment after "operationresults/" (a Location goes
 * on to profileresults/...), else the last one; NULL when not a valid id. */
static char *op_id(const char *url)
{
	const char *p = strcasestr(url, "/operationresults/");
	if (!p)
		return prov_last_segment(url);
	p += strlen("/operationresults/");
	char *id = xstrndup(p, strcspn(p, "/?#"));
	if (!prov_valid_id(id)) {
		free(id);
		return NULL;
	}
	return id;
}

/* 200: done. 202: running, polled at Azure-AsyncOperation (else Location). */
int prov_arm_lro_start(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		       struct task *t, struct cf_err *e)
{
	int rc = prov_resp_transport(resp, e);
	memset(t, 0, sizeof(*t));
	if (rc != 0)
		return rc;
	/* 200/201 with Azure-AsyncOperation (Front Door rule-set PUT) still runs: poll it */
	const char *async = http_resp_header(resp, "azure-asyncoperation");
	if (resp->status == 204 ||
	    ((resp->status == 200 || resp->status == 201) && (!async || !*async))) {
		t->state = TASK_SUCCEEDED;
		return 0;
	}
	if (resp->status != 202 && resp->status != 200 && resp->status != 201)
		return prov_api_error(ep, op, resp, &prov_arm_err, e);
	const char *url = async;
	if (!url || !*url)
		url = http_resp_header(resp, "location");
	if (!url || !*url)
		return prov_decode_error(
		    ep, op, err_set(e, CF_EAPI, "202 without Azure-AsyncOperation or Location"), e);
	if (!prov_header_url_ok(url) || strncasecmp(url, "http", 4) != 0)
		return prov_decode_error(
		    ep, op, err_set(e, CF_EAPI, "operation URL '%.80s' is not usable", url), e);
	prov_task_running(t, resp, op_id(url), url);
	return 0;
}

/* The path of a status URL, to be polled on base_url: "/subscriptions/{our subscription}/
 * .../operationresults/{id}[/...]" with every segment a valid id (so no "..", no encoding
 * tricks); written to out without the query. Returns false when it has another shape. */
static bool status_path(const struct prov_account *pa, const char *url, struct sb *out)
{
	const char *path = prov_url_path(url);
	size_t n = strcspn(path, "?#"), pre = strlen("/subscriptions/");
	size_t sub = strlen(pa->subscription);
	if (n <= pre + sub || strncasecmp(path, "/subscriptions/", pre) != 0 ||
	    strncasecmp(path + pre, pa->subscription, sub) != 0 || path[pre + sub] != '/')
		return false;
	char *p = xstrndup(path, n);
	bool ok = strcasestr(p, "/operationresults/") != NULL;
	for (char *seg = p + 1; ok && seg;) {
		char *slash = strchr(seg, '/');
		if (slash)
			*slash = '\0';
		ok = prov_valid_id(seg);
		seg = slash ? slash + 1 : NULL;
	}
	free(p);
	if (ok)
		sb_add(out, path, n);
	return ok;
}

/*
 * The bearer token goes only back to the service it was issued for: a status URL on
 * base_url's origin is polled as given; one on another host (a proxy in front of ARM) or a
 * forged one from the ledger is polled on base_url by its operation path, or refused.
 */
int prov_arm_poll_req(struct prov_account *pa, const struct endpoint *ep, const struct task *t,
		      struct http_req *req, struct cf_err *e)
{
	struct sb url;
	memset(req, 0, sizeof(*req));
	if (!t->poll_url)
		return err_set(e, CF_EINVAL, "endpoint '%s': operation has no status URL",
			       ep->name.s);
	if (prov_same_origin(t->poll_url, pa->base_url))
		return prov_req_status_url(req, pa, ep, t->poll_url, "status URL", OP_POLL,
					   prov_azure_sign, e);
	sb_init(&url, PROV_URL_MAX);
	sb_adds(&url, pa->base_url);
	if (!status_path(pa, t->poll_url, &url)) {
		sb_release(&url);
		return err_set(e, CF_EAPI,
			       "endpoint '%s': status URL '%.80s' is neither on %s nor an "
			       "operation of subscription %s; not polled",
			       ep->name.s, t->poll_url, pa->base_url, pa->subscription);
	}
	sb_addf(&url, "?api-version=%s", pa->api_version);
	return prov_req_url(req, pa, ep, "GET", &url, OP_POLL, prov_azure_sign, e);
}

static int decode_status(struct json_object *root, void *out, struct cf_err *e)
{
	struct task *t = out;
	struct json_object *err = NULL;
	const char *st = NULL, *code = NULL, *msg = NULL;
	int rc = codec_str(root, "", "status", OPT, &st, e);
	if (rc == 0)
		rc = codec_obj(root, "", "error", OPT, &err, e);
	if (rc == 0 && err)
		rc = codec_str(err, "", "code", OPT, &code, e);
	if (rc == 0 && err)
		rc = codec_str(err, "", "message", OPT, &msg, e);
	if (rc != 0)
		return rc;
	/* no status: a Location poll answering with the finished resource */
	if (!st || strcmp(st, "Succeeded") == 0) {
		t->state = TASK_SUCCEEDED;
	} else if (strcmp(st, "Failed") == 0 || strcmp(st, "Canceled") == 0) {
		struct sb sb;
		sb_init(&sb, PROV_ERR_TEXT_MAX * 2);
		sb_addf(&sb, "%s%s%s%s%s", st, code ? " " : "", code ? code : "", msg ? ": " : "",
			msg ? msg : "");
		t->state = TASK_FAILED;
		free(t->message);
		t->message = sb_detach(&sb);
	} else {
		t->state = TASK_RUNNING; /* ARM: every other value means still running */
	}
	return 0;
}

/* 202: still running; 204 or an empty 200: done (a Location poll may answer so). */
int prov_arm_poll_parse(const struct endpoint *ep, const struct http_resp *resp, struct task *t,
			struct cf_err *e)
{
	int rc = prov_resp_transport(resp, e);
	if (rc != 0)
		return rc;
	t->retry_after_s = prov_retry_after(resp);
	if (resp->status == 202) {
		t->state = TASK_RUNNING;
		return 0;
	}
	if (resp->status == 204 || (resp->status == 200 && (!resp->body || resp->body_len == 0))) {
		t->state = TASK_SUCCEEDED;
		return 0;
	}
	return prov_parse_json(ep, OP_POLL, resp, &prov_arm_err, 0, decode_status, t, e);
}
