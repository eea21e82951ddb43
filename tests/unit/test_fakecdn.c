/* Unit tests of fakecdn's own pieces: signature checks (vectors computed with the openssl
 * command line, not with cacheform's signing code), date parsing, validators, dispatch. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cmd/fakecdn/fk_app.h"
#include "cmd/fakecdn/fk_azure.h"
#include "cmd/fakecdn/fk_auth.h"
#include "cmd/fakecdn/fk_azurecn.h"
#include "cmd/fakecdn/fk_cdnpro.h"
#include "cmd/fakecdn/fk_util.h"

#define EXAMPLE_STATE "examples/fakecdn/state.json"

/* printf '/subscriptions/s/endpoints/e/purges\r\napiVersion:1.0, b:x y\r\n2026-11-21
 * 09:00:00\r\nPOST' | openssl dgst -sha256 -hmac fakecdn-rw-secret */
#define CN_VECTOR "9F5B2004E0ACA4B520CFBD6FFFF285392E3059F38CABB9940A5916313B713957"
/* printf 'Thu, 17 May 2012 19:37:58 GMT' | openssl dgst -sha1 -hmac fakecdn-api-key -binary |
 * base64 */
#define PRO_VECTOR "5b2Aj80EZgyjURAj6opjo0qmJ5I="

static void test_fake__china_string_to_sign(void **state)
{
	struct fk_req req;
	char *sts, mac[65];

	(void)state;
	/* Sorted by name, first value of a repeated name, values URL-decoded. */
	fk_req_init(&req, "POST", "/subscriptions/s/endpoints/e/purges?b=x%20y&apiVersion=1.0&b=2");
	sts = fk_azurecn_string_to_sign(&req, "2026-11-21 09:00:00");
	assert_string_equal(sts, "/subscriptions/s/endpoints/e/purges\r\napiVersion:1.0, b:x y\r\n"
				 "2026-11-21 09:00:00\r\nPOST");
	fk_azurecn_mac("fakecdn-rw-secret", sts, mac);
	assert_string_equal(mac, CN_VECTOR);
	free(sts);
	fk_req_release(&req);
}

static struct json_object *keys(void)
{
	return json_tokener_parse(
	    "[{\"id\":\"rw\",\"value\":\"fakecdn-rw-secret\",\"access\":\"read-write\"},"
	    "{\"id\":\"ro\",\"value\":\"fakecdn-rw-secret\",\"access\":\"read-only\"}]");
}

static void verify(const char *auth, const char *date, int64_t now_s, bool write,
		   const char *want_type)
{
	struct json_object *k = keys();
	struct fk_azurecn_auth a;
	struct fk_req req;

	fk_req_init(&req, "POST", "/subscriptions/s/endpoints/e/purges?b=x%20y&apiVersion=1.0&b=2");
	if (auth)
		fk_req_add_header(&req, "Authorization", auth);
	if (date)
		fk_req_add_header(&req, "X-AzureCDN-Request-Date", date);
	req.now_ms = now_s * 1000;
	fk_azurecn_verify(&req, k, write, 900, &a);
	assert_string_equal(a.type, want_type);
	fk_req_release(&req);
	json_object_put(k);
}

static void test_fake__china_verify(void **state)
{
	int64_t t = fk_parse_china_date("2026-11-21 09:00:00");

	(void)state;
	assert_true(t > 0);
	verify("AzureCDN rw:" CN_VECTOR, "2026-11-21 09:00:00", t + 899, true, "");
	verify("AzureCDN rw:" CN_VECTOR, "2026-11-21 09:00:00", t + 901, true,
	       "AuthorizationHeaderExpired");
	verify("AzureCDN rw:" CN_VECTOR, "2026-11-21 09:00:00", t - 901, true,
	       "AuthorizationHeaderExpired");
	verify("AzureCDN ro:" CN_VECTOR, "2026-11-21 09:00:00", t, true, "PermissionDenied");
	verify("AzureCDN nope:" CN_VECTOR, "2026-11-21 09:00:00", t, true, "ApiKeyNotFound");
	verify("AzureCDN rw:" CN_VECTOR, "2026-11-21 09:00:01", t, true, "WrongSignature");
	verify("AzureCDN rw:0" CN_VECTOR, "2026-11-21 09:00:00", t, true, "WrongSignature");
	verify("AzureCDN rw", "2026-11-21 09:00:00", t, true, "InvalidAuthorizationHeader");
	verify("SharedKey rw:" CN_VECTOR, "2026-11-21 09:00:00", t, true,
	       "InvalidAuthorizationHeader");
	verify(NULL, "2026-11-21 09:00:00", t, true, "MissingAuthorizationHeader");
	verify("AzureCDN rw:" CN_VECTOR, NULL, t, true, "MissingRequestDateHeader");
	verify("AzureCDN rw:" CN_VECTOR, "21/11/2026", t, true, "InvalidRequestDateHeader");
}

static void test_fake__dates(void **state)
{
	(void)state;
	assert_int_equal(fk_parse_china_date("1970-01-01 00:01:00"), 60);
	/* The service accepted a non-padded date in a real log
	 * (docs.azure.cn/cdn/cdn-api-signature). */
	assert_int_equal(fk_parse_china_date("2017-7-26 5:37:18"),
			 fk_parse_china_date("2017-07-26 05:37:18"));
	assert_int_equal(fk_parse_china_date("2017-13-01 00:00:00"), -1);
	assert_int_equal(fk_parse_china_date("2017-01-01 00:00:00 extra"), -1);
	assert_int_equal(fk_parse_http_date("Thu, 01 Jan 1970 00:00:10 GMT"), 10);
	assert_int_equal(fk_parse_http_date("Thu, 01 Jan 1970 00:00:10"), -1);
	assert_int_equal(fk_parse_http_date("1970-01-01T00:00:10Z"), -1);
}

static void test_fake__cdnpro_password(void **state)
{
	struct json_object *users =
	    json_tokener_parse("[{\"user\":\"u\",\"api_key\":\"fakecdn-api-key\"}]");
	const char *date = "Thu, 17 May 2012 19:37:58 GMT";
	char *pass = fk_cdnpro_password("fakecdn-api-key", date), *b64, cred[128];
	struct fk_req req;

	(void)state;
	assert_string_equal(pass, PRO_VECTOR);
	snprintf(cred, sizeof(cred), "u:%s", pass);
	b64 = fk_b64_encode((const unsigned char *)cred, strlen(cred));
	snprintf(cred, sizeof(cred), " Basic %s", b64);
	fk_req_init(&req, "GET", "/cdn/purges");
	fk_req_add_header(&req, "Authorization", cred);
	fk_req_add_header(&req, "Date", date);
	req.now_ms = (fk_parse_http_date(date) + 299) * 1000;
	assert_true(fk_cdnpro_verify(&req, users, 300));
	req.now_ms += 2000;
	assert_false(fk_cdnpro_verify(&req, users, 300));
	free(pass);
	free(b64);
	fk_req_release(&req);
	json_object_put(users);
}

static void test_fake__cdnpro_regex(void **state)
{
	static const struct {
		const char *re;
		bool ok;
	} cases[] = {
	    {"https://test.domain.com/my.*\\.(jpg|png)\\?q=", true},
	    {"any://h.example.com/a{1,59}b+", true},
	    {"http://h.example.com/a\\*\\+[*+]x*y+", true}, /* escaped and bracketed do not count */
	    {"https://h.example.com/a.*b.*c.*", false},	    /* three unlimited quantifiers */
	    {"https://h.example.com/a{2,}b*c+", false},	    /* {n,} counts as unlimited */
	    {"https://h.example.com/a{1,60}", false},
	    {"ftp://h.example.com/a", false},
	    {"https://h.example.com", false},
	    {"https:///a", false},
	    {"https://h.example.com/(unclosed", false},
	};
	char msg[256];

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		const char *why = fk_cdnpro_check_regex(cases[i].re, msg, sizeof(msg));

		if ((why == NULL) != cases[i].ok)
			fail_msg("regex %s: got %s", cases[i].re, why ? why : "ok");
	}
}

static void test_fake__china_policy(void **state)
{
	static const struct {
		const char *body;
		const char *type;
	} cases[] = {
	    {"{\"Rules\":[{\"Type\":\"FullUri\",\"Items\":[\"/a.html\"],\"TTL\":0}]}", NULL},
	    {"{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a/"
	     "\"],\"TTL\":\"60\"}],\"IgnoreCookie\":\"true\"}",
	     NULL},
	    {"{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a.b/\"],\"TTL\":1}]}",
	     "ParameterInvalid"},
	    {"{\"Rules\":[{\"Type\":\"Suffix\",\"Items\":[\"a(b\"],\"TTL\":1}]}",
	     "ParameterInvalid"},
	    {"{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[],\"TTL\":1}]}", "ParameterMissing"},
	    {"{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"/a/\"],\"TTL\":1.5}]}",
	     "ParameterInvalid"},
	    {"{\"Rules\":[],\"IgnoreCookie\":\"yes\"}", "ParameterInvalid"},
	    {"{}", "ParameterMissing"},
	    {"[]", "ParameterInvalid"},
	};
	char msg[256];

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct json_object *in = json_tokener_parse(cases[i].body), *out = NULL;
		const char *type = fk_azurecn_policy(in, &out, msg, sizeof(msg));

		if ((type == NULL) != (cases[i].type == NULL) ||
		    (type && strcmp(type, cases[i].type) != 0))
			fail_msg("%s: got %s (%s)", cases[i].body, type ? type : "ok", msg);
		assert_true((out != NULL) == (type == NULL));
		if (out && i == 1) /* canonical form: numbers and booleans */
			assert_string_equal(
			    json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN),
			    "{\"Rules\":[{\"Type\":\"Dir\",\"Items\":[\"\\/a\\/\"],\"TTL\":60}],"
			    "\"IgnoreCacheControl\":false,\"IgnoreCookie\":true,"
			    "\"IgnoreQueryString\":false}");
		json_object_put(out);
		json_object_put(in);
	}
}

static void test_fake__arm_patch_all_or_nothing(void **state)
{
	struct json_object *ep =
	    json_tokener_parse("{\"properties\":{\"queryStringCachingBehavior\":\"NotSet\"}}");
	struct json_object *bad = json_tokener_parse(
	    "{\"properties\":{\"queryStringCachingBehavior\":\"UseQueryString\",\"deliveryPolicy\":"
	    "{\"rules\":[{\"order\":0,\"actions\":[{\"name\":\"CacheExpiration\",\"parameters\":"
	    "{\"typeName\":\"DeliveryRuleCacheExpirationActionParameters\",\"cacheBehavior\":"
	    "\"Override\","
	    "\"cacheType\":\"All\",\"cacheDuration\":\"1:00:00\"}}]}]}}}");
	char msg[256];

	(void)state;
	assert_int_equal(fk_azure_patch(ep, bad, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "cacheDuration"));
	/* The valid half of a rejected PATCH was not applied. */
	assert_string_equal(fk_jstr(fk_jobj(ep, "properties"), "queryStringCachingBehavior"),
			    "NotSet");
	json_object_put(bad);
	json_object_put(ep);
}

static void test_fake__dispatch_and_bucket(void **state)
{
	struct fk_app app;
	struct cf_err e;
	int statuses[4];

	(void)state;
	assert_int_equal(fk_app_init(&app, EXAMPLE_STATE, &e), 0);
	app.knobs.cdnpro_burst = 2;
	app.bucket.tokens = 2;
	app.knobs.cdnpro_rate_per_minute = 1;
	for (size_t i = 0; i < CF_ARRAY_LEN(statuses); i++) {
		struct fk_req req;
		struct fk_resp resp;

		fk_req_init(&req, "GET", "/cdn/purges");
		fk_resp_init(&resp);
		assert_int_equal(fk_app_handle(&app, &req, &resp), FK_FAULT_NONE);
		assert_string_equal(resp.provider, "cdnpro");
		assert_string_equal(resp.op, "list_purges");
		statuses[i] = resp.status;
		fk_resp_release(&resp);
		fk_req_release(&req);
	}
	/* Unauthenticated requests still take tokens: two 403s, then 429s. */
	assert_int_equal(statuses[0], 403);
	assert_int_equal(statuses[1], 403);
	assert_int_equal(statuses[2], 429);
	assert_int_equal(statuses[3], 429);
	fk_app_release(&app);
}

static void test_fake__routes(void **state)
{
	static const struct {
		const char *method, *target, *provider, *op;
		int status;
	} cases[] = {
	    {"GET", "/_fakecdn/health", "admin", "admin_health", 200},
	    {"DELETE", "/_fakecdn/state", "admin", "unknown", 405},
	    {"GET", "/subscriptions/x/endpoints/y/cacherules?apiVersion=1.0", "azure-china",
	     "read_rules", 404},
	    {"GET",
	     "/subscriptions/x/resourceGroups/r/providers/Microsoft.Cdn/profiles/p/endpoints/e",
	     "azure", "read_rules", 401},
	    {"POST", "/t/oauth2/v2.0/token", "token", "token", 400},
	    {"GET", "/nothing/here", "unknown", "unknown", 404},
	};
	struct fk_app app;
	struct cf_err e;

	(void)state;
	assert_int_equal(fk_app_init(&app, EXAMPLE_STATE, &e), 0);
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct fk_req req;
		struct fk_resp resp;

		fk_req_init(&req, cases[i].method, cases[i].target);
		fk_resp_init(&resp);
		fk_app_handle(&app, &req, &resp);
		if (strcmp(resp.provider, cases[i].provider) || strcmp(resp.op, cases[i].op) ||
		    resp.status != cases[i].status)
			fail_msg("%s %s: %s %s %d", cases[i].method, cases[i].target, resp.provider,
				 resp.op, resp.status);
		fk_resp_release(&resp);
		fk_req_release(&req);
	}
	fk_app_release(&app);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fake__china_string_to_sign),
	    cmocka_unit_test(test_fake__china_verify),
	    cmocka_unit_test(test_fake__dates),
	    cmocka_unit_test(test_fake__cdnpro_password),
	    cmocka_unit_test(test_fake__cdnpro_regex),
	    cmocka_unit_test(test_fake__china_policy),
	    cmocka_unit_test(test_fake__arm_patch_all_or_nothing),
	    cmocka_unit_test(test_fake__dispatch_and_bucket),
	    cmocka_unit_test(test_fake__routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
