/* Unit tests: azure-china driver (request building, decoding, batching), shared provider
 * helpers (error line, digest, expansion). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/provider.h"
#include "reconcile/sign.h"
#include "tests/unit/prov_fixture.h"

#define SUB  "E0FBEA86-6CF2-4B2D-81E2-9C59F4F96BCB"
#define EPID "8137ECC4-71C4-11E7-8259-0017FA00A611"
#define BASE "https://cdn.test"
#define EPURL                                                                                      \
	BASE "/subscriptions/e0fbea86-6cf2-4b2d-81e2-9c59f4f96bcb/endpoints/"                      \
	     "8137ecc4-71c4-11e7-8259-0017fa00a611"

static int setup(void **state)
{
	struct fx *f =
	    fx_new(PROV_AZURE_CHINA, "cn", BASE "/", "www", "www.example.com|img.example.com");
	fx_lit(&f->a.subscription, SUB);
	fx_lit(&f->a.key_id, "kid");
	fx_lit(&f->a.key_value, "secretvalue");
	f->ep.remote.endpoint_id.s = xstrdup(EPID);
	f->ep.scheme.s = xstrdup("https");
	if (fx_open(f, state) != 0)
		return -1;
	f->pa->fixed_now = 1500000000; /* 2017-07-14 02:40:00 UTC */
	return 0;
}

/* ---- accounts ---- */

static void test_prov_azurecn__account_open_errors(void **state)
{
	struct fx *f = *state;
	struct prov_account *pa = NULL;
	struct cf_err e;
	const struct {
		const char *base;
		int ok;
	} cases[] = {
	    {"http://cdn.test", 0},    {"ftp://x", 0},
	    {"https://", 0},	       {"http://127.0.0.1:8080/", 1},
	    {"http://localhost:1", 1}, {"https://a.b", 1},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		mval_release(&f->a.base_url);
		fx_lit(&f->a.base_url, cases[i].base);
		int rc = f->ops->account_open(&f->a, NULL, &pa, &e);
		assert_int_equal(rc == 0, cases[i].ok);
		if (rc == 0) {
			assert_null(strchr(pa->base_url + 8, '/'));
			f->ops->account_close(pa);
		} else {
			assert_null(pa);
			assert_non_null(strstr(e.msg, "base_url"));
		}
	}
	mval_release(&f->a.key_value);
	assert_int_equal(f->ops->account_open(&f->a, NULL, &pa, &e), CF_EINVAL);
	assert_non_null(strstr(e.msg, "key_value"));
	assert_null(strstr(e.msg, "secretvalue"));
	fx_lit(&f->a.key_value, "secretvalue");
	/* default base when absent */
	mval_release(&f->a.base_url);
	assert_int_equal(f->ops->account_open(&f->a, NULL, &pa, &e), 0);
	assert_string_equal(pa->base_url, "https://restapi.cdn.azure.cn");
	f->ops->account_close(pa);
}

/* ---- read ---- */

static void test_prov_azurecn__read_req(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct cf_err e;
	assert_int_equal(f->ops->read_req(f->pa, &f->ep, &req, &e), 0);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.url, EPURL "/cacherules?apiVersion=1.0");
	assert_int_equal(req.retry, HTTP_RETRY_SAFE);
	/* the bucket is the rate domain (reconcile/shard.h): the subscription key */
	assert_string_equal(
	    req.bucket,
	    "azure-china|base=https://cdn.test/|sub=E0FBEA86-6CF2-4B2D-81E2-9C59F4F96BCB|key=kid");
	assert_non_null(req.sign);
	assert_int_equal(req.sign(req.sign_ctx, &req, &e), 0);
	assert_string_equal(fx_req_header(&req, "x-azurecdn-request-date"), "2017-07-14 02:40:00");
	struct sb want;
	sb_init(&want, 0);
	assert_int_equal(
	    sign_azurecn_auth("kid", "secretvalue", "GET", req.url, "2017-07-14 02:40:00", &want),
	    0);
	assert_string_equal(fx_req_header(&req, "Authorization"), want.buf);
	assert_int_equal(strncmp(want.buf, "AzureCDN kid:", 13), 0);
	assert_int_equal(strlen(want.buf), 13 + 64);
	/* re-signing replaces, never duplicates */
	size_t nh = req.nheaders;
	assert_int_equal(req.sign(req.sign_ctx, &req, &e), 0);
	assert_int_equal(req.nheaders, nh);
	sb_release(&want);
	http_req_release(&req);

	free(f->ep.remote.endpoint_id.s);
	f->ep.remote.endpoint_id.s = xstrdup("../etc");
	assert_int_equal(f->ops->read_req(f->pa, &f->ep, &req, &e), CF_EINVAL);
	assert_null(req.url);
}

#define DOC_POLICY                                                                                 \
	"{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/test1/\",\"/test2/\"],\"TTL\":86400},"        \
	"{\"Type\":\"Suffix\",\"Items\":[\"7z\",\"apk\"],\"TTL\":2592000},"                        \
	"{\"Type\":\"FullUri\",\"Items\":[\"/test1/test.xml\"],\"TTL\":0}],"                       \
	"\"IgnoreCacheControl\":false,\"IgnoreCookie\":true,\"IgnoreQueryString\":false}"

static void want_doc_policy(const struct cache *c)
{
	assert_int_equal(c->nrules, 3);
	assert_int_equal(c->rules[0].kind, RULE_DIR);
	assert_int_equal(c->rules[0].ttl, 86400);
	assert_int_equal(c->rules[0].items.n, 2);
	assert_string_equal(c->rules[0].items.v[1].s, "/test2/");
	assert_int_equal(c->rules[1].kind, RULE_SUFFIX);
	assert_int_equal(c->rules[1].ttl, 2592000);
	assert_string_equal(c->rules[1].items.v[0].s, "7z");
	assert_int_equal(c->rules[2].kind, RULE_PATH);
	assert_int_equal(c->rules[2].ttl, 0);
	assert_false(c->ignore_cache_control);
	assert_true(c->ignore_cookie);
	assert_false(c->ignore_query_string);
}

static const char *const policy_ok[] = {
    DOC_POLICY,
    /* observed variations: key case, TTL as string, booleans as strings, whitespace */
    " {\"rules\":[{\"type\":\"dir\",\"items\":[\"/test1/\",\"/test2/\"],\"ttl\":\"86400\"},"
    "{\"TYPE\":\"SUFFIX\",\"ITEMS\":[\"7z\",\"apk\"],\"Ttl\":2592000},"
    "{\"Type\":\"fulluri\",\"Items\":[\"/test1/test.xml\"],\"TTL\":\"0\"}],"
    "\"ignoreCacheControl\":\"false\",\"IGNORECOOKIE\":\"True\",\"IgnoreQueryString\":false}\n",
};

static const char *const policy_bad[] = {
    "",
    "   ",
    "[]",
    "{\"Rules\":[],\"IgnoreCacheControl\":false,\"IgnoreCookie\":false}",
    "{\"Rules\":[],\"IgnoreCacheControl\":false,\"IgnoreCookie\":\"yes\",\"IgnoreQueryString\":"
    "false}",
    "{\"Rules\":[],\"IgnoreCacheControl\":0,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":{},\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":"
    "false}",
    "{\"Rules\":[{\"Type\":\"Regex\",\"Items\":[\"/a/\"],\"TTL\":1}],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a/\"],\"TTL\":1.5}],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a/"
    "\"],\"TTL\":\"1.5\"}],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a/\"],\"TTL\":-1}],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a/\"],\"TTL\":99999999999999999999}],"
    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[],\"TTL\":1}],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[7],\"TTL\":1}],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":\"/a/\",\"TTL\":1}],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a/\"]}],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a/\"],\"TTL\":1,\"ttl\":2}],"
    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    /* the documentation's own example has a trailing comma: not JSON */
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a/\"],\"TTL\":1},],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[],\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false",
    "{\"Rules\":[],\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}"
    "x",
    "{\"Rules\":[],\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}"
    "{}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"\"],\"TTL\":1}],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
    "{\"Rules\":[\"Dir\"],\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,"
    "\"IgnoreQueryString\":false}",
    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/\xff/\"],\"TTL\":1}],\"IgnoreCacheControl\":false,"
    "\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
};

static void test_prov_azurecn__read_parse_variations(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < CF_ARRAY_LEN(policy_ok); i++) {
		struct live_state ls;
		struct cf_err e;
		assert_int_equal(fx_read(f, 200, policy_ok[i], &ls, &e), 0);
		assert_true(ls.exists);
		assert_false(ls.cache_control_unknown);
		assert_null(ls.inexact);
		assert_int_equal(ls.nforeign, 0);
		want_doc_policy(&ls.cache);
		assert_int_equal(strlen(ls.digest), 64);
		live_state_release(&ls);
	}
}

static void test_prov_azurecn__read_parse_rejects(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < CF_ARRAY_LEN(policy_bad); i++) {
		struct live_state ls;
		struct cf_err e;
		err_clear(&e);
		int rc = fx_read(f, 200, policy_bad[i], &ls, &e);
		if (rc == 0)
			fail_msg("accepted bad policy %zu: %s", i, policy_bad[i]);
		assert_true(rc < 0);
		assert_false(ls.exists);
		assert_int_equal(ls.cache.nrules, 0);
		assert_non_null(strstr(e.msg, "endpoint 'www' (azure-china): read cache rules"));
	}
}

static void test_prov_azurecn__null_rules_is_empty(void **state)
{
	struct fx *f = *state;
	struct live_state ls;
	struct cf_err e;
	assert_int_equal(
	    fx_read(f, 200,
		    "{\"Rules\":null,\"IgnoreCacheControl\":true,\"IgnoreCookie\":false,"
		    "\"IgnoreQueryString\":true}",
		    &ls, &e),
	    0);
	assert_int_equal(ls.cache.nrules, 0);
	assert_true(ls.cache.ignore_cache_control);
	assert_true(ls.cache.ignore_query_string);
	live_state_release(&ls);
}

/* ---- errors ---- */

static const struct {
	long status;
	const char *body;
	int rc;
	const char *want;
} error_cases[] = {
    {404,
     "{\"Succeeded\":false,\"ErrorInfo\":{\"Type\":\"EndpointNotFound\",\"Message\":\"Endpoint "
     "not found.\"}}",
     CF_EAPI,
     "endpoint 'www' (azure-china): read cache rules: HTTP 404 EndpointNotFound: Endpoint not "
     "found."},
    {401, "{\"succeeded\":false,\"errorInfo\":{\"type\":\"WrongSignature\",\"message\":\"bad\"}}",
     CF_EAUTH, "endpoint 'www' (azure-china): read cache rules: HTTP 401 WrongSignature: bad"},
    {500, "<html>oops\r\nline</html>", CF_EAPI,
     "endpoint 'www' (azure-china): read cache rules: HTTP 500: <html>oops  line</html>"},
    {429, "{\"ErrorInfo\":{\"Type\":\"RequestThrottled\"}}", CF_EAPI,
     "endpoint 'www' (azure-china): read cache rules: HTTP 429 RequestThrottled"},
    {502, NULL, CF_EAPI, "endpoint 'www' (azure-china): read cache rules: HTTP 502"},
};

static void test_prov_azurecn__error_lines(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < CF_ARRAY_LEN(error_cases); i++) {
		struct live_state ls;
		struct cf_err e;
		assert_int_equal(fx_read(f, error_cases[i].status, error_cases[i].body, &ls, &e),
				 error_cases[i].rc);
		assert_string_equal(e.msg, error_cases[i].want);
	}
}

static void test_prov_azurecn__error_message_capped(void **state)
{
	struct fx *f = *state;
	struct http_resp resp;
	struct cf_err e;
	char msg[1000];
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	fx_resp(&resp, 400, NULL);
	prov_http_error(&f->ep, "write cache rules", &resp, "ParameterInvalid", msg, &e);
	assert_string_equal(e.code, "ParameterInvalid");
	const char *head = "endpoint 'www' (azure-china): write cache rules: HTTP 400 "
			   "ParameterInvalid: xxx";
	assert_int_equal(strncmp(e.msg, head, strlen(head)), 0);
	assert_true(strlen(e.msg) < 80 + PROV_ERR_TEXT_MAX);
	assert_non_null(strstr(e.msg, "x..."));
	http_resp_release(&resp);
}

static void test_prov_azurecn__transport_error_passes_through(void **state)
{
	struct fx *f = *state;
	struct http_resp resp;
	struct live_state ls;
	struct cf_err e;
	fx_resp(&resp, 0, NULL);
	resp.rc = CF_ENET;
	err_set(&resp.err, CF_ENET, "connection refused");
	assert_int_equal(f->ops->read_parse(&f->ep, &resp, &ls, &e), CF_ENET);
	assert_string_equal(e.msg, "connection refused");
	http_resp_release(&resp);
}

/* ---- write ---- */

static void test_prov_azurecn__write_req_body(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct cf_err e;
	fx_rule(&f->ep.cache, RULE_DIR, 86400, "/pic/,/doc/");
	fx_rule(&f->ep.cache, RULE_SUFFIX, 2592000, "jpg,png");
	fx_rule(&f->ep.cache, RULE_PATH, 0, "/index.html,/q\"uote");
	f->ep.cache.ignore_query_string = true;
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, NULL, &req, &e), 0);
	assert_string_equal(req.method, "PUT");
	assert_string_equal(req.url, EPURL "/cacherules?apiVersion=1.0");
	assert_string_equal(fx_req_header(&req, "Content-Type"), "application/json");
	assert_string_equal(
	    req.body,
	    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/pic/\",\"/doc/\"],\"TTL\":86400},"
	    "{\"Type\":\"Suffix\",\"Items\":[\"jpg\",\"png\"],\"TTL\":2592000},"
	    "{\"Type\":\"FullUri\",\"Items\":[\"/index.html\",\"/q\\\"uote\"],\"TTL\":0}],"
	    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":true}");
	assert_int_equal(req.body_len, strlen(req.body));
	http_req_release(&req);
}

/* What we write reads back as the same cache. */
static void test_prov_azurecn__write_read_roundtrip(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct http_resp resp;
	struct live_state ls;
	struct cf_err e;
	fx_rule(&f->ep.cache, RULE_DIR, 60, "/a/");
	fx_rule(&f->ep.cache, RULE_SUFFIX, 3600, "css,js");
	f->ep.cache.ignore_cookie = true;
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, NULL, &req, &e), 0);
	fx_resp(&resp, 200, req.body);
	assert_int_equal(f->ops->read_parse(&f->ep, &resp, &ls, &e), 0);
	assert_true(cache_equal(&ls.cache, &f->ep.cache));
	assert_true(prov_cache_matches(&ls, &f->ep.cache));
	live_state_release(&ls);
	http_resp_release(&resp);
	http_req_release(&req);
}

static const struct {
	long status;
	const char *body;
	int rc;
	enum task_state st;
	const char *id;
} accept_cases[] = {
    {202,
     "{\"Succeeded\":true,\"IsAsync\":true,\"AsyncInfo\":{\"TaskTrackId\":\"b520c544-ec34-"
     "4ac4-86f5-5394363919c3\",\"TaskStatus\":\"Processing\"}}",
     0, TASK_RUNNING, "b520c544-ec34-4ac4-86f5-5394363919c3"},
    {202,
     "{\"succeed\":\"true\",\"isAsync\":\"true\",\"asyncInfo\":{\"taskTrackId\":\"T1\","
     "\"taskStatus\":\"Succeed\"}}",
     0, TASK_SUCCEEDED, "T1"},
    {202, "{\"Succeeded\":true,\"IsAsync\":true,\"AsyncInfo\":{\"TaskTrackId\":\"T2\"}}", 0,
     TASK_RUNNING, "T2"},
    {200, "{\"Succeeded\":true,\"IsAsync\":false}", 0, TASK_SUCCEEDED, NULL},
    {202, "{\"Succeeded\":true,\"IsAsync\":true}", CF_EAPI, TASK_NONE, NULL},
    {202, "{\"Succeeded\":false,\"IsAsync\":true}", CF_EAPI, TASK_NONE, NULL},
    {202, "{\"IsAsync\":true,\"AsyncInfo\":{\"TaskTrackId\":\"T3\"}}", CF_EAPI, TASK_NONE, NULL},
    {202, "{\"Succeeded\":true,\"IsAsync\":true,\"AsyncInfo\":{\"TaskTrackId\":\"../../x\"}}",
     CF_EAPI, TASK_NONE, NULL},
    {202, "{\"Succeeded\":true,\"IsAsync\":true,\"AsyncInfo\":{\"TaskTrackId\":7}}", CF_EAPI,
     TASK_NONE, NULL},
    {202,
     "{\"Succeeded\":true,\"IsAsync\":true,\"AsyncInfo\":{\"TaskTrackId\":\"T4\","
     "\"TaskStatus\":\"Exploded\"}}",
     CF_EAPI, TASK_NONE, NULL},
    {202, "", CF_EAPI, TASK_NONE, NULL},
    {400, "{\"Succeeded\":false,\"ErrorInfo\":{\"Type\":\"ParameterInvalid\",\"Message\":\"bad\"}}",
     CF_EAPI, TASK_NONE, NULL},
    {403,
     "{\"Succeeded\":false,\"ErrorInfo\":{\"Type\":\"PermissionDenied\",\"Message\":\"ro key\"}}",
     CF_EAUTH, TASK_NONE, NULL},
};

static void test_prov_azurecn__write_parse(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < CF_ARRAY_LEN(accept_cases); i++) {
		struct http_resp resp;
		struct task t;
		struct cf_err e;
		fx_resp(&resp, accept_cases[i].status, accept_cases[i].body);
		int rc = f->ops->write_parse(&f->ep, &resp, &t, &e);
		if (rc != accept_cases[i].rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, rc, accept_cases[i].rc, e.msg);
		if (rc == 0) {
			assert_int_equal(t.state, accept_cases[i].st);
			if (accept_cases[i].id)
				assert_string_equal(t.id, accept_cases[i].id);
			else
				assert_null(t.id);
			assert_null(t.poll_url);
		} else {
			assert_non_null(strstr(e.msg, "write cache rules"));
			assert_null(t.id);
		}
		task_release(&t);
		http_resp_release(&resp);
	}
}

/* ---- purges ---- */

static void test_prov_azurecn__split_expands_and_caps(void **state)
{
	struct fx *f = *state;
	struct purge p = {0};
	struct purge_batch *b;
	char path[64];
	/* 60 paths x 2 hosts = 120 files, plus one absolute URL and one duplicate of it */
	for (int i = 0; i < 60; i++) {
		snprintf(path, sizeof(path), "/f%d.png", i);
		svec_push(&p.files, path, NULL);
	}
	fx_svec(&p.files, "https://www.example.com/f0.png|https://img.example.com/x.js");
	fx_svec(&p.dirs, "/img/|http://www.example.com/raw/");
	fx_svec(&p.preload, "/index.html");
	size_t n = f->ops->split(&f->ep, &p, &b);
	/* 121 files + 3 dirs = 124 items: 100 + 24 */
	assert_int_equal(n, 3);
	assert_int_equal(b[0].kind, BATCH_PURGE);
	assert_int_equal(b[0].files.n + b[0].dirs.n, 100);
	assert_int_equal(b[1].kind, BATCH_PURGE);
	assert_int_equal(b[0].files.n + b[1].files.n, 121);
	assert_int_equal(b[0].dirs.n + b[1].dirs.n, 3);
	assert_string_equal(b[0].files.v[0].s, "https://www.example.com/f0.png");
	assert_string_equal(b[0].files.v[1].s, "https://img.example.com/f0.png");
	assert_string_equal(b[1].dirs.v[0].s, "https://www.example.com/img/");
	assert_string_equal(b[1].dirs.v[2].s, "http://www.example.com/raw/");
	assert_int_equal(b[2].kind, BATCH_PRELOAD);
	assert_int_equal(b[2].files.n, 2);
	assert_int_equal(b[2].dirs.n, 0);
	fx_batches_release(b, n);

	struct http_req req;
	struct cf_err e;
	struct purge_batch one = {.kind = BATCH_PURGE};
	fx_svec(&one.files, "https://www.example.com/a.png");
	fx_svec(&one.dirs, "https://www.example.com/img/");
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &one, &req, &e), 0);
	assert_string_equal(req.method, "POST");
	assert_int_equal(req.retry, HTTP_RETRY_UNSAFE);
	assert_string_equal(req.url, EPURL "/purges?apiVersion=1.0");
	assert_string_equal(req.body, "{\"Files\":[\"https://www.example.com/a.png\"],"
				      "\"Directories\":[\"https://www.example.com/img/\"]}");
	http_req_release(&req);
	one.kind = BATCH_PRELOAD;
	svec_release(&one.dirs);
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &one, &req, &e), 0);
	assert_string_equal(req.url, EPURL "/preloads?apiVersion=1.0");
	assert_string_equal(req.body, "{\"Files\":[\"https://www.example.com/a.png\"]}");
	http_req_release(&req);
	purge_batch_release(&one);
	fx_purge_release(&p);
}

static void test_prov_azurecn__split_exact_cap(void **state)
{
	struct fx *f = *state;
	const size_t counts[] = {1, 50, 51, 100, 101, 250};
	const size_t want[] = {1, 1, 2, 2, 3, 5}; /* 2 hosts each */
	for (size_t k = 0; k < CF_ARRAY_LEN(counts); k++) {
		struct purge p = {0};
		struct purge_batch *b;
		char path[64];
		for (size_t i = 0; i < counts[k]; i++) {
			snprintf(path, sizeof(path), "/p%zu", i);
			svec_push(&p.files, path, NULL);
		}
		size_t n = f->ops->split(&f->ep, &p, &b);
		assert_int_equal(n, want[k]);
		size_t total = 0;
		for (size_t i = 0; i < n; i++) {
			assert_true(b[i].files.n <= 100);
			assert_true(b[i].files.n > 0);
			total += b[i].files.n;
		}
		assert_int_equal(total, counts[k] * 2);
		fx_batches_release(b, n);
		fx_purge_release(&p);
	}
}

/* ---- polling ---- */

static const struct {
	const char *body;
	int rc;
	enum task_state st;
} op_cases[] = {
    {"{\"Id\":\"T1\",\"Type\":\"Purge\",\"Status\":\"Succeeded\",\"Message\":null}", 0,
     TASK_SUCCEEDED},
    {"{\"id\":\"t1\",\"status\":\"Succeed\"}", 0, TASK_SUCCEEDED},
    {"{\"Id\":\"T1\",\"Status\":\"Processing\"}", 0, TASK_RUNNING},
    {"{\"Id\":\"T1\",\"Status\":\"NotSet\"}", 0, TASK_RUNNING},
    {"{\"Id\":\"T1\",\"Status\":\"Failed\",\"Message\":\"origin unreachable\"}", 0, TASK_FAILED},
    {"{\"Id\":\"T2\",\"Status\":\"Succeeded\"}", CF_EAPI, TASK_NONE},
    {"{\"Id\":\"T1\",\"Status\":\"Done\"}", CF_EAPI, TASK_NONE},
    {"{\"Id\":\"T1\"}", CF_EAPI, TASK_NONE},
    {"{\"Id\":\"T1\",\"Status\":true}", CF_EAPI, TASK_NONE},
    {"{\"Id\":\"T1\",\"Status\":\"Succ", CF_EAPI, TASK_NONE},
};

static void test_prov_azurecn__poll(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct cf_err e;
	struct task t = {.state = TASK_RUNNING, .id = xstrdup("T1")};
	assert_int_equal(f->ops->poll_req(f->pa, &f->ep, &t, &req, &e), 0);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.url, EPURL "/operations/T1?apiVersion=1.0");
	http_req_release(&req);
	for (size_t i = 0; i < CF_ARRAY_LEN(op_cases); i++) {
		t.state = TASK_RUNNING;
		int rc = fx_poll(f, 200, op_cases[i].body, &t, &e);
		if (rc != op_cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		if (rc == 0)
			assert_int_equal(t.state, op_cases[i].st);
		if (rc == 0 && t.state == TASK_FAILED)
			assert_string_equal(t.message, "origin unreachable");
	}
	task_release(&t);
	struct task bad = {.state = TASK_RUNNING, .id = xstrdup("a/b")};
	assert_int_equal(f->ops->poll_req(f->pa, &f->ep, &bad, &req, &e), CF_EAPI);
	task_release(&bad);
	assert_null(f->ops->quota_req);
}

/* ---- digest ---- */

static void digest_of(struct fx *f, const char *body, char out[65])
{
	struct live_state ls;
	struct cf_err e;
	assert_int_equal(fx_read(f, 200, body, &ls, &e), 0);
	memcpy(out, ls.digest, 65);
	live_state_release(&ls);
}

static void test_prov_azurecn__digest(void **state)
{
	struct fx *f = *state;
	const char *variants[] = {
	    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/b/\",\"/a/\"],\"TTL\":60}],"
	    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
	    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/b/\",\"/a/\"],\"TTL\":61}],"
	    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
	    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a/\",\"/b/\"],\"TTL\":60}],"
	    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
	    "{\"Rules\":[{\"Type\":\"FullUri\",\"Items\":[\"/b/\",\"/a/\"],\"TTL\":60}],"
	    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
	    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/b/\",\"/a/\"],\"TTL\":60}],"
	    "\"IgnoreCacheControl\":true,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
	    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/b/\",\"/a/\"],\"TTL\":60}],"
	    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":true,\"IgnoreQueryString\":false}",
	    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/b/\",\"/a/\"],\"TTL\":60}],"
	    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":true}",
	    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/b/\",\"/a/\"],\"TTL\":60},"
	    "{\"Type\":\"Dir\",\"Items\":[\"/c/\"],\"TTL\":60}],"
	    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
	    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/b//a/\"],\"TTL\":60}],"
	    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":false,\"IgnoreQueryString\":false}",
	};
	char d[CF_ARRAY_LEN(variants)][65], again[65];
	for (size_t i = 0; i < CF_ARRAY_LEN(variants); i++)
		digest_of(f, variants[i], d[i]);
	/* same state, differently spelled on the wire: same digest */
	digest_of(f,
		  " {\"ignoreQueryString\":\"false\",\"rules\":[{\"items\":[\"/b/\",\"/a/\"],"
		  "\"ttl\":\"60\",\"type\":\"dir\"}],\"ignoreCookie\":false,"
		  "\"ignoreCacheControl\":false}",
		  again);
	assert_string_equal(again, d[0]);
	for (size_t i = 0; i < CF_ARRAY_LEN(variants); i++)
		for (size_t j = i + 1; j < CF_ARRAY_LEN(variants); j++)
			if (strcmp(d[i], d[j]) == 0)
				fail_msg("variants %zu and %zu share a digest", i, j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_prov_azurecn__account_open_errors),
	    FX_TEST(test_prov_azurecn__read_req),
	    FX_TEST(test_prov_azurecn__read_parse_variations),
	    FX_TEST(test_prov_azurecn__read_parse_rejects),
	    FX_TEST(test_prov_azurecn__null_rules_is_empty),
	    FX_TEST(test_prov_azurecn__error_lines),
	    FX_TEST(test_prov_azurecn__error_message_capped),
	    FX_TEST(test_prov_azurecn__transport_error_passes_through),
	    FX_TEST(test_prov_azurecn__write_req_body),
	    FX_TEST(test_prov_azurecn__write_read_roundtrip),
	    FX_TEST(test_prov_azurecn__write_parse),
	    FX_TEST(test_prov_azurecn__split_expands_and_caps),
	    FX_TEST(test_prov_azurecn__split_exact_cap),
	    FX_TEST(test_prov_azurecn__poll),
	    FX_TEST(test_prov_azurecn__digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
