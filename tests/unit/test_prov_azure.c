/* Unit tests: azure (ARM) driver — token caching, delivery-rule mapping, foreign rules, LROs. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/prov_azure.h"
#include "reconcile/provider.h"
#include "tests/unit/prov_fixture.h"

#define BASE "https://arm.test"
#define EPURL                                                                                      \
	BASE "/subscriptions/sub-1/resourceGroups/web-rg/providers/Microsoft.Cdn/profiles/"        \
	     "web-cdn/endpoints/www"
#define API "?api-version=2024-09-01"

static int setup(void **state)
{
	struct fx *f = fx_new(PROV_AZURE, "global", BASE, "www", "www.example.com|cdn.example.com");
	fx_lit(&f->a.subscription, "sub-1");
	fx_lit(&f->a.tenant, "tenant-1");
	fx_lit(&f->a.client_id, "app-1");
	fx_lit(&f->a.client_secret, "s3cr&t=+/ x");
	fx_lit(&f->a.login_url, "https://login.test/");
	f->ep.remote.resource_group.s = xstrdup("web-rg");
	f->ep.remote.profile.s = xstrdup("web-cdn");
	f->ep.remote.endpoint.s = xstrdup("www");
	if (fx_open(f, state) != 0)
		return -1;
	f->pa->token = xstrdup("tok-abc");
	f->pa->token_expires = 2000000000;
	return 0;
}

/* ---- token ---- */

static void test_prov_azure__token_refresh_decision(void **state)
{
	struct fx *f = *state;
	const time_t now = 1700000000;
	const struct {
		bool have;
		time_t expires;
		bool fresh;
	} cases[] = {
	    {false, now + 3600, false},
	    {true, now + 3600, true},
	    {true, now + PROV_TOKEN_MARGIN_S + 1, true},
	    {true, now + PROV_TOKEN_MARGIN_S, false},
	    {true, now + 10, false},
	    {true, now - 10, false},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		free(f->pa->token);
		f->pa->token = cases[i].have ? xstrdup("t") : NULL;
		f->pa->token_expires = cases[i].expires;
		assert_int_equal(prov_azure_token_fresh(f->pa, now), cases[i].fresh);
	}
}

static void test_prov_azure__token_req(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct cf_err e;
	assert_int_equal(prov_azure_token_req(f->pa, &req, &e), 0);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, "https://login.test/tenant-1/oauth2/v2.0/token");
	assert_string_equal(fx_req_header(&req, "Content-Type"),
			    "application/x-www-form-urlencoded");
	assert_string_equal(req.body, "client_id=app-1&scope=https%3A%2F%2Fmanagement.azure.com%2F"
				      ".default&client_secret=s3cr%26t%3D%2B%2F+x"
				      "&grant_type=client_credentials");
	assert_null(req.sign);
	assert_null(fx_req_header(&req, "Authorization"));
	http_req_release(&req);
}

static const struct {
	long status;
	const char *body;
	int rc;
	time_t expires; /* relative to now */
} token_cases[] = {
    {200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"eyJ0.a.b\"}", 0, 3599},
    {200,
     "{\"access_token\":\"eyJ0.a.b\",\"token_type\":\"Bearer\",\"expires_in\":\"3599\","
     "\"expires_on\":\"1388452167\",\"resource\":\"https://management.azure.com/\"}",
     0, 3599},
    {200, "{\"expires_in\":3599,\"access_token\":\"eyJ0.a.b\"}", 0, 3599},
    {200, "{\"token_type\":\"Bearer\",\"expires_in\":3599}", CF_EAPI, 0},
    {200, "{\"token_type\":\"mac\",\"expires_in\":3599,\"access_token\":\"x\"}", CF_EAPI, 0},
    {200, "{\"token_type\":\"Bearer\",\"expires_in\":\"soon\",\"access_token\":\"x\"}", CF_EAPI, 0},
    {200, "{\"token_type\":\"Bearer\",\"expires_in\":0,\"access_token\":\"x\"}", CF_EAPI, 0},
    {200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"a b\"}", CF_EAPI, 0},
    {200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"\"}", CF_EAPI, 0},
    {200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"x\"", CF_EAPI, 0},
    {400,
     "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client "
     "secret provided.\",\"error_codes\":[7000215]}",
     CF_EAUTH, 0},
    {500, "{\"error\":{\"code\":\"InternalError\"}}", CF_EAPI, 0},
};

static void test_prov_azure__token_parse(void **state)
{
	struct fx *f = *state;
	const time_t now = 1700000000;
	for (size_t i = 0; i < CF_ARRAY_LEN(token_cases); i++) {
		struct http_resp resp;
		struct cf_err e;
		free(f->pa->token);
		f->pa->token = NULL;
		fx_resp(&resp, token_cases[i].status, token_cases[i].body);
		int rc = prov_azure_token_parse(f->pa, &resp, now, &e);
		if (rc != token_cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		if (rc == 0) {
			assert_string_equal(f->pa->token, "eyJ0.a.b");
			assert_int_equal(f->pa->token_expires, now + token_cases[i].expires);
			assert_true(prov_azure_token_fresh(f->pa, now));
			assert_false(prov_azure_token_fresh(f->pa, now + 3599 - 299));
		} else {
			assert_null(f->pa->token);
			assert_non_null(
			    strstr(e.msg, "account 'global' (azure): fetch access token"));
			assert_null(strstr(e.msg, "s3cr"));
		}
		http_resp_release(&resp);
	}
	struct http_resp resp;
	struct cf_err e;
	fx_resp(&resp, 400, token_cases[10].body);
	prov_azure_token_parse(f->pa, &resp, now, &e);
	assert_string_equal(e.msg,
			    "account 'global' (azure): fetch access token: HTTP 400 "
			    "invalid_client: AADSTS7000215: Invalid client secret provided.");
	http_resp_release(&resp);
}

static void test_prov_azure__sign_bearer(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct cf_err e;
	assert_int_equal(f->ops->read_req(f->pa, &f->ep, &req, &e), 0);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.url, EPURL API);
	assert_int_equal(req.sign(req.sign_ctx, &req, &e), 0);
	assert_int_equal(req.sign(req.sign_ctx, &req, &e), 0);
	assert_string_equal(fx_req_header(&req, "Authorization"), "Bearer tok-abc");
	size_t n = 0;
	for (size_t i = 0; i < req.nheaders; i++)
		n += strcasecmp(req.headers[i].name, "Authorization") == 0;
	assert_int_equal(n, 1);
	free(f->pa->token);
	f->pa->token = NULL;
	assert_int_equal(req.sign(req.sign_ctx, &req, &e), CF_EAUTH);
	http_req_release(&req);

	free(f->ep.remote.profile.s);
	f->ep.remote.profile.s = xstrdup("a b/c");
	f->pa->token = xstrdup("t");
	assert_int_equal(f->ops->read_req(f->pa, &f->ep, &req, &e), 0);
	assert_non_null(strstr(req.url, "/profiles/a%20b%2Fc/endpoints/"));
	http_req_release(&req);
}

/* ---- read ---- */

#define COND(name, type, op, vals)                                                                 \
	"{\"name\":\"" name "\",\"parameters\":{\"typeName\":\"" type "\",\"operator\":\"" op      \
	"\",\"negateCondition\":false,\"matchValues\":[" vals "],\"transforms\":[]}}"
#define PATHC(op, vals) COND("UrlPath", "DeliveryRuleUrlPathMatchConditionParameters", op, vals)
#define EXTC(vals)                                                                                 \
	COND("UrlFileExtension", "DeliveryRuleUrlFileExtensionMatchConditionParameters", "Equal",  \
	     vals)
#define CACHEA(beh, dur)                                                                           \
	"{\"name\":\"CacheExpiration\",\"parameters\":{\"typeName\":"                              \
	"\"DeliveryRuleCacheExpirationActionParameters\",\"cacheBehavior\":\"" beh "\","           \
	"\"cacheType\":\"All\"" dur "}}"
#define RULE(name, order, cond, act)                                                               \
	"{\"name\":\"" name "\",\"order\":" #order ",\"conditions\":[" cond "],\"actions\":[" act  \
	"]}"
#define GLOBAL_RULE                                                                                \
	"{\"name\":\"Global\",\"order\":0,\"actions\":[{\"name\":\"ModifyResponseHeader\","        \
	"\"parameters\":{\"typeName\":\"DeliveryRuleHeaderActionParameters\",\"headerAction\":"    \
	"\"Overwrite\",\"headerName\":\"X-A\",\"value\":\"1\"}}]}"
#define IP_RULE                                                                                    \
	"{\"name\":\"blockip\",\"order\":2,\"conditions\":[{\"name\":\"RemoteAddress\","           \
	"\"parameters\":{\"operator\":\"IPMatch\",\"negateCondition\":true,\"matchValues\":["      \
	"\"10.0.0.0/24\"],\"typeName\":\"DeliveryRuleRemoteAddressConditionParameters\"}}],"       \
	"\"actions\":[" CACHEA("Override", ",\"cacheDuration\":\"10:10:09\"") "]}"
#define ENDPOINT(rules, qs)                                                                        \
	"{\"name\":\"www\",\"id\":\"/subscriptions/sub-1/resourcegroups/web-rg/providers/"         \
	"Microsoft.Cdn/profiles/web-cdn/endpoints/www\",\"location\":\"Global\",\"properties\":{"  \
	"\"hostName\":\"www.azureedge.net\",\"originPath\":null,"                                  \
	"\"queryStringCachingBehavior\":" qs                                                       \
	",\"deliveryPolicy\":{\"description\":\"x\",\"rules\":[" rules "]}}}"

static const char *const full_endpoint = ENDPOINT(
    RULE(
	"cacheform2", 3, EXTC("\"jpg\",\"png\""),
	CACHEA(
	    "SetIfMissing",
	    ",\"cacheDuration\":\"30.00:00:00\"")) "," GLOBAL_RULE
						   "," RULE(
						       "pics", 1,
						       PATHC("BeginsWith", "\"/pic/\",\"/doc/\""),
						       CACHEA("SetIfMissing",
							      ",\"cacheDuration\":\"1.00:00:"
							      "00\"")) "," IP_RULE
								       "," RULE(
									   "cacheform3", 4,
									   PATHC("Equal",
										 "\"/index.html\""),
									   CACHEA("BypassCache",
										  ",\"cacheDurati"
										  "on\":null")),
    "\"IgnoreQueryString\"");

static void read_ok(struct fx *f, const char *body, struct live_state *ls)
{
	struct cf_err e;
	if (fx_read(f, 200, body, ls, &e) != 0)
		fail_msg("read_parse: %s", e.msg);
}

static void test_prov_azure__read_owned_and_foreign(void **state)
{
	struct fx *f = *state;
	struct live_state ls;
	read_ok(f, full_endpoint, &ls);
	assert_true(ls.exists);
	assert_null(ls.inexact);
	/* the behaviour lives in each rule: the block's flag is not observable */
	assert_true(ls.cache_control_unknown);
	/* read back as a first-match list: the rule that runs last (highest order) first */
	assert_int_equal(ls.cache.nrules, 3);
	assert_int_equal(ls.cache.rules[2].kind, RULE_DIR);
	assert_int_equal(ls.cache.rules[2].ttl, 86400);
	assert_string_equal(ls.cache.rules[2].name.s, "pics");
	assert_string_equal(ls.cache.rules[2].items.v[1].s, "/doc/");
	assert_int_equal(ls.cache.rules[1].kind, RULE_SUFFIX);
	assert_int_equal(ls.cache.rules[1].ttl, 30 * 86400);
	assert_int_equal(ls.cache.rules[0].kind, RULE_PATH);
	assert_int_equal(ls.cache.rules[0].ttl, 0);
	/* the provider-level view holds all five rules, in order */
	assert_int_equal(ls.sem.kind, SEM_AZURE);
	assert_int_equal(ls.sem.az.n, 5);
	assert_string_equal(ls.sem.az.rules[0].name, "Global");
	assert_true(ls.sem.az.rules[0].foreign);
	assert_false(ls.sem.az.rules[0].has_cache);
	assert_int_equal(ls.sem.az.rules[2].conds[0].var, SEM_AZ_OTHER);
	assert_false(ls.cache.ignore_cache_control);
	assert_false(ls.cache.ignore_cookie);
	assert_true(ls.cache.ignore_query_string);
	assert_int_equal(ls.nforeign, 2);
	assert_string_equal(ls.foreign[0].name, "Global");
	assert_int_equal(ls.foreign[0].order, 0);
	assert_string_equal(ls.foreign[1].name, "blockip");
	assert_int_equal(ls.foreign[1].order, 2);
	assert_non_null(strstr(ls.foreign[1].json, "\"10.0.0.0/24\""));
	live_state_release(&ls);
}

/* Each of these reads back as rule set {dir /a/ 1h}, flags as given; the discriminator
 * spelling, missing transforms, and the old @odata.type do not matter. */
static const struct {
	const char *body;
	bool icc, iqs, unknown;
	const char *inexact;
	size_t nrules, nforeign;
} read_cases[] = {
    {ENDPOINT(RULE("r", 1, PATHC("BeginsWith", "\"/a/\""),
		   CACHEA("Override", ",\"cacheDuration\":\"01:00:00\"")),
	      "\"UseQueryString\""),
     true, false, true, NULL, 1, 0},
    {ENDPOINT("{\"name\":\"r\",\"order\":1,\"conditions\":[{\"name\":\"UrlPath\",\"parameters\":"
	      "{\"@odata.type\":\"#Microsoft.Azure.Cdn.Models."
	      "DeliveryRuleUrlPathMatchConditionParameters\",\"operator\":\"BeginsWith\","
	      "\"matchValues\":[\"/a/\"]}}],\"actions\":[{\"name\":\"CacheExpiration\","
	      "\"parameters\":{\"@odata.type\":\"Microsoft.Azure.Cdn.Models."
	      "DeliveryRuleCacheExpirationActionParameters\",\"cacheBehavior\":\"Override\","
	      "\"cacheType\":\"All\",\"cacheDuration\":\"01:00:00\"}}]}",
	      "\"IgnoreQueryString\""),
     true, true, true, NULL, 1, 0},
    /* only BypassCache rules: ignore_cache_control cannot be observed */
    {ENDPOINT(RULE("r", 1, PATHC("Equal", "\"/a\""), CACHEA("BypassCache", "")),
	      "\"IgnoreQueryString\""),
     false, true, true, NULL, 1, 0},
    {ENDPOINT("", "\"UseQueryString\""), false, false, true, NULL, 0, 0},
    /* NotSet and absent are the service default, which ignores query strings; BypassCaching
     * has no model form */
    {ENDPOINT("", "\"NotSet\""), false, true, true, NULL, 0, 0},
    {ENDPOINT("", "\"BypassCaching\""), false, false, true,
     "queryStringCachingBehavior is BypassCaching", 0, 0},
    {"{\"properties\":{\"hostName\":\"h\",\"deliveryPolicy\":null}}", false, true, true, NULL, 0,
     0},
    /* mixed behaviours */
    {ENDPOINT(RULE("a", 1, PATHC("BeginsWith", "\"/a/\""),
		   CACHEA("Override",
			  ",\"cacheDuration\":\"01:00:00\"")) "," RULE("b", 2, EXTC("\"css\""),
								       CACHEA("SetIfMissing",
									      ",\"cacheDuration\":"
									      "\"00:01:00\"")),
	      "\"UseQueryString\""),
     false, false, true, NULL, 2, 0},
    /* not cacheform shapes: foreign */
    {ENDPOINT(
	 RULE(
	     "neg", 1,
	     "{\"name\":\"UrlPath\",\"parameters\":{\"operator\":\"BeginsWith\","
	     "\"negateCondition\":true,\"matchValues\":[\"/a/\"]}}",
	     CACHEA(
		 "Override",
		 ",\"cacheDuration\":\"01:00:00\"")) "," RULE("tr", 2,
							      "{\"name\":\"UrlPath\","
							      "\"parameters\":{\"operator\":"
							      "\"BeginsWith\","
							      "\"matchValues\":[\"/a/"
							      "\"],\"transforms\":[\"Lowercase\"]}"
							      "}",
							      CACHEA(
								  "Override",
								  ",\"cacheDuration\":\"01:00:"
								  "00\"")) "," RULE("wild", 3,
										    PATHC(
											"Wildcard",
											"\"/a/*\""),
										    CACHEA(
											"Override",
											",\"cacheDu"
											"ration\":"
											"\"01:00:"
											"00\"")) "," RULE("zero",
													  4,
													  PATHC(
													      "Equal",
													      "\"/z\""),
													  CACHEA(
													      "Override",
													      ",\"cacheDuration\":\"00:00:00\"")) ","
																		  "{\"name\":\"two\",\"order\":5,\"conditions\":[" PATHC(
																		      "Equal",
																		      "\"/t\"") "],"
																				"\"actions\":[" CACHEA(
																				    "Override",
																				    ",\"cacheDuration\":\"01:00:00\"") ","
																								       "{\"name\":\"ModifyResponseHeader\",\"parameters\":{\"headerAction\":\"Delete\","
																								       "\"headerName\":\"X\"}}]}",
	 "\"UseQueryString\""),
     false, false, true, NULL, 0, 5},
};

static void test_prov_azure__read_variations(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < CF_ARRAY_LEN(read_cases); i++) {
		struct live_state ls;
		read_ok(f, read_cases[i].body, &ls);
		if (ls.cache.nrules != read_cases[i].nrules ||
		    ls.nforeign != read_cases[i].nforeign ||
		    ls.cache.ignore_cache_control != read_cases[i].icc)
			fail_msg("case %zu: %zu rules %zu foreign icc %d", i, ls.cache.nrules,
				 ls.nforeign, ls.cache.ignore_cache_control);
		assert_int_equal(ls.cache.ignore_cache_control, read_cases[i].icc);
		assert_int_equal(ls.cache.ignore_query_string, read_cases[i].iqs);
		assert_int_equal(ls.cache_control_unknown, read_cases[i].unknown);
		if (read_cases[i].inexact)
			assert_string_equal(ls.inexact, read_cases[i].inexact);
		else
			assert_null(ls.inexact);
		if (ls.cache.nrules == 1 && i < 2) {
			assert_int_equal(ls.cache.rules[0].ttl, 3600);
			assert_string_equal(ls.cache.rules[0].items.v[0].s, "/a/");
			assert_int_equal(ls.cache.rules[0].cc, RULE_CC_IGNORE);
		}
		if (ls.cache.nrules == 2) { /* the mixed list: each rule keeps its own (reversed) */
			assert_int_equal(ls.cache.rules[0].cc, RULE_CC_HONOUR);
			assert_int_equal(ls.cache.rules[1].cc, RULE_CC_IGNORE);
		}
		live_state_release(&ls);
	}
}

static const char *const read_bad[] = {
    "{}",
    "{\"properties\":[]}",
    "{\"properties\":{\"queryStringCachingBehavior\":\"Sometimes\"}}",
    "{\"properties\":{\"queryStringCachingBehavior\":3}}",
    "{\"properties\":{\"deliveryPolicy\":{\"description\":\"x\"}}}",
    "{\"properties\":{\"deliveryPolicy\":{\"rules\":{}}}}",
    ENDPOINT("{\"name\":\"r\",\"conditions\":[],\"actions\":[]}", "\"UseQueryString\""),
    ENDPOINT("{\"name\":\"r\",\"order\":\"1\",\"actions\":[]}", "\"UseQueryString\""),
    ENDPOINT("{\"name\":\"r\",\"order\":1}", "\"UseQueryString\""),
    ENDPOINT(RULE("r", 1, PATHC("BeginsWith", "\"/a/\""),
		  CACHEA("Override", ",\"cacheDuration\":\"1 day\"")),
	     "\"UseQueryString\""),
    ENDPOINT(RULE("r", 1, PATHC("BeginsWith", "\"/a/\""),
		  CACHEA("Override", ",\"cacheDuration\":\"24:00:00\"")),
	     "\"UseQueryString\""),
    ENDPOINT(RULE("r", 1, PATHC("BeginsWith", "\"/a/\""), CACHEA("Override", "")),
	     "\"UseQueryString\""),
    ENDPOINT(RULE("r", 1, PATHC("BeginsWith", "\"/a/\""),
		  CACHEA("Sometimes", ",\"cacheDuration\":\"01:00:00\"")),
	     "\"UseQueryString\""),
    ENDPOINT(RULE("r", 1, PATHC("BeginsWith", "7"),
		  CACHEA("Override", ",\"cacheDuration\":\"01:00:00\"")),
	     "\"UseQueryString\""),
    ENDPOINT(RULE("r", 1,
		  COND("UrlPath", "DeliveryRuleCookiesConditionParameters", "Equal", "\"/a\""),
		  CACHEA("Override", ",\"cacheDuration\":\"01:00:00\"")),
	     "\"UseQueryString\""),
    ENDPOINT(RULE("r", 1, PATHC("BeginsWith", "\"/a/\""),
		  "{\"name\":\"CacheExpiration\",\"parameters\":{\"cacheBehavior\":\"Override\","
		  "\"cacheDuration\":\"01:00:00\"}}"),
	     "\"UseQueryString\""),
    ENDPOINT(RULE("r", 1, "{\"name\":\"UrlPath\"}",
		  CACHEA("Override", ",\"cacheDuration\":\"01:00:00\"")),
	     "\"UseQueryString\""),
    "{\"properties\":{\"deliveryPolicy\":{\"rules\":[]}}",
};

static void test_prov_azure__read_rejects(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < CF_ARRAY_LEN(read_bad); i++) {
		struct live_state ls;
		struct cf_err e;
		if (fx_read(f, 200, read_bad[i], &ls, &e) == 0)
			fail_msg("accepted bad endpoint %zu", i);
		assert_false(ls.exists);
		assert_non_null(strstr(e.msg, "endpoint 'www' (azure): read endpoint"));
	}
}

static void test_prov_azure__cache_matches(void **state)
{
	struct fx *f = *state;
	struct live_state ls;
	struct cache want = {0};
	/* only a BypassCache rule: either desired flag matches */
	read_ok(f, read_cases[2].body, &ls);
	fx_rule(&want, RULE_PATH, 0, "/a");
	want.ignore_query_string = true;
	assert_true(prov_cache_matches(&ls, &want));
	want.ignore_cache_control = true;
	assert_true(prov_cache_matches(&ls, &want));
	want.ignore_query_string = false;
	assert_false(prov_cache_matches(&ls, &want));
	live_state_release(&ls);
	/* NotSet is IgnoreQueryString; BypassCaching never matches */
	read_ok(f, read_cases[4].body, &ls);
	cache_release(&want);
	want.ignore_query_string = false;
	assert_false(prov_cache_matches(&ls, &want));
	want.ignore_query_string = true;
	assert_true(prov_cache_matches(&ls, &want));
	live_state_release(&ls);
	read_ok(f, read_cases[5].body, &ls);
	assert_false(prov_cache_matches(&ls, &want));
	want.ignore_query_string = false;
	assert_false(prov_cache_matches(&ls, &want));
	live_state_release(&ls);
	cache_release(&want);
}

/* ---- write ---- */

static void test_prov_azure__write_body_exact(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct cf_err e;
	fx_rule(&f->ep.cache, RULE_SUFFIX, 90061, "jpg");
	fx_rule(&f->ep.cache, RULE_PATH, 0, "/index.html");
	f->ep.cache.ignore_cache_control = true;
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, NULL, &req, &e), 0);
	assert_string_equal(req.method, "PATCH");
	assert_string_equal(req.url, EPURL API);
	assert_int_equal(req.retry, HTTP_RETRY_SAFE);
	assert_string_equal(
	    req.body,
	    "{\"properties\":{\"deliveryPolicy\":{\"rules\":["
	    "{\"name\":\"cacheform2\",\"order\":1,\"conditions\":[{\"name\":\"UrlPath\","
	    "\"parameters\":{\"typeName\":\"DeliveryRuleUrlPathMatchConditionParameters\","
	    "\"operator\":\"Equal\",\"negateCondition\":false,\"matchValues\":[\"/index.html\"],"
	    "\"transforms\":[]}}],\"actions\":[{\"name\":\"CacheExpiration\",\"parameters\":{"
	    "\"typeName\":\"DeliveryRuleCacheExpirationActionParameters\",\"cacheBehavior\":"
	    "\"BypassCache\",\"cacheType\":\"All\"}}]},"
	    "{\"name\":\"cacheform1\",\"order\":2,\"conditions\":[{\"name\":\"UrlFileExtension\","
	    "\"parameters\":{\"typeName\":\"DeliveryRuleUrlFileExtensionMatchConditionParameters\","
	    "\"operator\":\"Equal\",\"negateCondition\":false,\"matchValues\":[\"jpg\"],"
	    "\"transforms\":[\"Lowercase\"]}}],\"actions\":[{\"name\":\"CacheExpiration\","
	    "\"parameters\":{\"typeName\":\"DeliveryRuleCacheExpirationActionParameters\","
	    "\"cacheBehavior\":\"Override\",\"cacheType\":\"All\",\"cacheDuration\":"
	    "\"1.01:01:01\"}}]}]},"
	    "\"queryStringCachingBehavior\":\"UseQueryString\"}}");
	http_req_release(&req);
	/* an older api-version gets the @odata.type discriminator */
	free(f->pa->api_version);
	f->pa->api_version = xstrdup("2020-09-01");
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, NULL, &req, &e), 0);
	assert_non_null(strstr(req.body, "\"@odata.type\":\"#Microsoft.Azure.Cdn.Models."
					 "DeliveryRuleCacheExpirationActionParameters\""));
	assert_null(strstr(req.body, "typeName"));
	assert_non_null(strstr(req.url, "?api-version=2020-09-01"));
	http_req_release(&req);
}

/* Desired rules written around the foreign ones read back as desired, foreign untouched. */
static void test_prov_azure__write_keeps_foreign(void **state)
{
	struct fx *f = *state;
	struct live_state live, back;
	struct http_req req;
	struct cf_err e;
	read_ok(f, full_endpoint, &live);
	fx_rule(&f->ep.cache, RULE_DIR, 3600, "/x/");
	fx_rule(&f->ep.cache, RULE_SUFFIX, 60, "css,js");
	fx_rule(&f->ep.cache, RULE_PATH, 7 * 86400, "/p");
	f->ep.cache.rules[1].name.s = xstrdup("styles");
	f->ep.cache.ignore_query_string = true;
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, &live, &req, &e), 0);
	read_ok(f, req.body, &back);
	assert_true(prov_cache_matches(&back, &f->ep.cache));
	assert_string_equal(back.cache.rules[0].name.s, "cacheform1");
	assert_string_equal(back.cache.rules[1].name.s, "styles");
	assert_int_equal(back.nforeign, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(back.foreign[i].name, live.foreign[i].name);
		assert_int_equal(back.foreign[i].order, live.foreign[i].order);
		assert_string_equal(back.foreign[i].json, live.foreign[i].json);
	}
	/* orders: Global 0, cacheform3 1, blockip 2, styles 3, cacheform1 4 (the YAML's first
	 * rule acts last) */
	assert_true(strstr(req.body, "\"name\":\"cacheform3\",\"order\":1") != NULL);
	assert_true(strstr(req.body, "\"name\":\"styles\",\"order\":3") != NULL);
	assert_true(strstr(req.body, "\"name\":\"cacheform1\",\"order\":4") != NULL);
	live_state_release(&back);
	http_req_release(&req);

	/* a foreign rule past the end moves down to stay consecutive */
	live.foreign[1].order = 9;
	char *moved = xstrdup(live.foreign[1].json);
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, &live, &req, &e), 0);
	read_ok(f, req.body, &back);
	assert_int_equal(back.foreign[1].order, 4);
	assert_true(prov_cache_matches(&back, &f->ep.cache));
	free(moved);
	live_state_release(&back);
	http_req_release(&req);
	live_state_release(&live);
}

static void test_prov_azure__write_rule_limit(void **state)
{
	struct fx *f = *state;
	struct live_state live;
	struct http_req req;
	struct cf_err e;
	read_ok(f, full_endpoint, &live); /* 2 foreign */
	char item[32];
	for (int i = 0; i < 23; i++) {
		snprintf(item, sizeof(item), "/d%d/", i);
		fx_rule(&f->ep.cache, RULE_DIR, 60, item);
	}
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, &live, &req, &e), 0);
	http_req_release(&req);
	fx_rule(&f->ep.cache, RULE_DIR, 60, "/one-more/");
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, &live, &req, &e), CF_ELIMIT);
	assert_null(req.url);
	assert_non_null(strstr(e.msg, "25"));
	live_state_release(&live);
}

static const struct {
	long status;
	const char *async, *location, *body;
	int rc;
	enum task_state st;
	const char *id;
} lro_cases[] = {
    {200, NULL, NULL, "{}", 0, TASK_SUCCEEDED, NULL},
    {202,
     BASE "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Cdn/operationresults/"
	  "6e323b7a-926b-4891-a57d-398390d36fd3?api-version=2024-09-01",
     BASE "/x/endpointresults/www?api-version=2024-09-01", "", 0, TASK_RUNNING,
     "6e323b7a-926b-4891-a57d-398390d36fd3"},
    {202, NULL, BASE "/subscriptions/s/operationresults/op-1/endpointresults/www", NULL, 0,
     TASK_RUNNING, "op-1"},
    {202, NULL, NULL, NULL, CF_EAPI, TASK_NONE, NULL},
    {202, "not a url", NULL, NULL, CF_EAPI, TASK_NONE, NULL},
    {400, NULL, NULL,
     "{\"error\":{\"code\":\"BadRequest\",\"message\":\"Invalid ContentPath \\\"/$web/*\\\".\"}}",
     CF_EAPI, TASK_NONE, NULL},
    {400, NULL, NULL, "{\"code\":\"BadRequest\",\"message\":\"flat\"}", CF_EAPI, TASK_NONE, NULL},
    {401, NULL, NULL, "{\"error\":{\"code\":\"ExpiredAuthenticationToken\"}}", CF_EAUTH, TASK_NONE,
     NULL},
};

static void test_prov_azure__lro_start(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < CF_ARRAY_LEN(lro_cases); i++) {
		struct http_resp resp;
		struct task t;
		struct cf_err e;
		fx_resp(&resp, lro_cases[i].status, lro_cases[i].body);
		if (lro_cases[i].async)
			fx_resp_header(&resp, "Azure-AsyncOperation", lro_cases[i].async);
		if (lro_cases[i].location)
			fx_resp_header(&resp, "Location", lro_cases[i].location);
		fx_resp_header(&resp, "Retry-After", "17");
		int rc = f->ops->write_parse(&f->ep, &resp, &t, &e);
		if (rc != lro_cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		if (rc == 0) {
			assert_int_equal(t.state, lro_cases[i].st);
			if (lro_cases[i].id)
				assert_string_equal(t.id, lro_cases[i].id);
			if (t.state == TASK_RUNNING) {
				assert_string_equal(t.poll_url, lro_cases[i].async
								    ? lro_cases[i].async
								    : lro_cases[i].location);
				assert_int_equal(t.retry_after_s, 17);
			}
		}
		task_release(&t);
		http_resp_release(&resp);
	}
	struct http_resp resp;
	struct task t;
	struct cf_err e;
	fx_resp(&resp, 400, lro_cases[5].body);
	f->ops->write_parse(&f->ep, &resp, &t, &e);
	assert_string_equal(e.msg, "endpoint 'www' (azure): write delivery rules: HTTP 400 "
				   "BadRequest: Invalid ContentPath \"/$web/*\".");
	http_resp_release(&resp);
}

/* ---- cdnCanMigrateToAfd (migrate) ---- */

static const struct {
	long status;
	const char *body;
	int rc;
	bool can;
	const char *sku, *error; /* error: the first errors[] line */
} canmig_cases[] = {
    {200,
     "{\"type\":\"Microsoft.Cdn/profiles/canmigrate\",\"properties\":{\"canMigrate\":true,"
     "\"defaultSku\":\"Standard_AzureFrontDoor\",\"errors\":null}}",
     0, true, "Standard_AzureFrontDoor", NULL},
    {200,
     "{\"properties\":{\"canMigrate\":false,\"errors\":[{\"code\":\"MigrationBlocked\","
     "\"resourceName\":\"www\",\"errorMessage\":\"uses geo filters\",\"nextSteps\":"
     "\"Remove them.\"}]}}",
     0, false, NULL, "MigrationBlocked www: uses geo filters (Remove them.)"},
    {200, "{\"properties\":{\"errors\":[]}}", CF_EAPI, false, NULL, NULL},
    {200, "{\"properties\":{\"canMigrate\":true,\"errors\":[\"x\"]}}", CF_EAPI, false, NULL, NULL},
    {400, "{\"error\":{\"code\":\"BadRequest\",\"message\":\"not classic\"}}", CF_EAPI, false, NULL,
     NULL},
};

static void test_prov_azure__can_migrate(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct cf_err e;
	assert_int_equal(prov_azure_can_migrate_req(f->pa, &f->ep, &req, &e), 0);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, BASE "/subscriptions/sub-1/resourceGroups/web-rg/providers/"
					  "Microsoft.Cdn/profiles/web-cdn/cdnCanMigrateToAfd" API);
	http_req_release(&req);
	for (size_t i = 0; i < CF_ARRAY_LEN(canmig_cases); i++) {
		struct http_resp resp;
		struct prov_azure_migrate m;
		fx_resp(&resp, canmig_cases[i].status, canmig_cases[i].body);
		int rc = prov_azure_can_migrate_parse(&f->ep, &resp, &m, &e);
		if (rc != canmig_cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		if (rc == 0) {
			assert_int_equal(m.can, canmig_cases[i].can);
			if (canmig_cases[i].sku)
				assert_string_equal(m.default_sku, canmig_cases[i].sku);
			else
				assert_null(m.default_sku);
			assert_int_equal(m.errors.n, canmig_cases[i].error ? 1 : 0);
			if (canmig_cases[i].error)
				assert_string_equal(m.errors.v[0].s, canmig_cases[i].error);
		}
		prov_azure_migrate_release(&m);
		http_resp_release(&resp);
	}
}

/* ---- purge and load ---- */

static void test_prov_azure__split_and_batch(void **state)
{
	struct fx *f = *state;
	struct purge p = {0};
	struct purge_batch *b;
	struct http_req req;
	struct cf_err e;
	char path[64];
	for (int i = 0; i < 140; i++) {
		snprintf(path, sizeof(path), "/f%d.png", i);
		svec_push(&p.files, path, NULL);
	}
	fx_svec(&p.files, "https://www.example.com/f0.png|https://cdn.example.com/q.js?v=1");
	fx_svec(&p.dirs, "/img/|https://www.example.com/css/");
	for (int i = 0; i < 60; i++) {
		snprintf(path, sizeof(path), "/l%d.html", i);
		svec_push(&p.preload, path, NULL);
	}
	size_t n = f->ops->split(&f->ep, &p, &b);
	/* 141 unique paths + 2 dirs = 143: 100 + 43; loads 60: 50 + 10 */
	assert_int_equal(n, 4);
	assert_int_equal(b[0].files.n + b[0].dirs.n, 100);
	assert_int_equal(b[1].files.n, 41);
	assert_int_equal(b[1].dirs.n, 2);
	assert_string_equal(b[1].files.v[40].s, "/q.js?v=1");
	assert_string_equal(b[1].dirs.v[0].s, "/img/*");
	assert_string_equal(b[1].dirs.v[1].s, "/css/*");
	assert_int_equal(b[2].kind, BATCH_PRELOAD);
	assert_int_equal(b[2].files.n, 50);
	assert_int_equal(b[3].files.n, 10);

	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &b[1], &req, &e), 0);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, EPURL "/purge" API);
	assert_int_equal(strncmp(req.body, "{\"contentPaths\":[\"/f100.png\",", 29), 0);
	assert_non_null(strstr(req.body, "\"/q.js?v=1\",\"/img/*\",\"/css/*\"]}"));
	http_req_release(&req);
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &b[3], &req, &e), 0);
	assert_string_equal(req.url, EPURL "/load" API);
	assert_int_equal(strncmp(req.body, "{\"contentPaths\":[\"/l50.html\"", 28), 0);
	http_req_release(&req);
	fx_batches_release(b, n);
	fx_purge_release(&p);
}

static const struct {
	long status;
	const char *body;
	int rc;
	enum task_state st;
	const char *msg;
} poll_cases[] = {
    {200, "{\"status\":\"InProgress\",\"error\":{\"code\":\"None\",\"message\":null}}", 0,
     TASK_RUNNING, NULL},
    {200, "{\"status\":\"Accepted\"}", 0, TASK_RUNNING, NULL},
    {200, "{\"status\":\"Succeeded\",\"error\":{\"code\":\"None\",\"message\":null}}", 0,
     TASK_SUCCEEDED, NULL},
    {200,
     "{\"status\":\"Failed\",\"error\":{\"code\":\"PurgeFailed\",\"message\":\"origin "
     "down\"}}",
     0, TASK_FAILED, "Failed PurgeFailed: origin down"},
    {200, "{\"status\":\"Canceled\"}", 0, TASK_FAILED, "Canceled"},
    {202, "", 0, TASK_RUNNING, NULL},
    {200, "{\"name\":\"www\",\"properties\":{}}", 0, TASK_SUCCEEDED, NULL},
    {204, NULL, 0, TASK_SUCCEEDED, NULL},
    {200, "{\"status\":1}", CF_EAPI, TASK_NONE, NULL},
    {200, "{\"status\":\"Failed\",\"error\":\"x\"}", CF_EAPI, TASK_NONE, NULL},
    {200, "{\"status\":\"Succ", CF_EAPI, TASK_NONE, NULL},
    {404, "{\"error\":{\"code\":\"NotFound\",\"message\":\"gone\"}}", CF_EAPI, TASK_NONE, NULL},
};

static void test_prov_azure__poll(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct cf_err e;
	struct task t = {.state = TASK_RUNNING,
			 .poll_url =
			     xstrdup(BASE "/subscriptions/s/operationresults/op?api-version=1")};
	assert_int_equal(f->ops->poll_req(f->pa, &f->ep, &t, &req, &e), 0);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.url, t.poll_url);
	http_req_release(&req);
	/* the bearer token never goes to another host */
	free(t.poll_url);
	t.poll_url = xstrdup("https://evil.test/operationresults/op");
	assert_int_equal(f->ops->poll_req(f->pa, &f->ep, &t, &req, &e), CF_EAPI);
	free(t.poll_url);
	t.poll_url = xstrdup("https://arm.test.evil/x");
	assert_int_equal(f->ops->poll_req(f->pa, &f->ep, &t, &req, &e), CF_EAPI);
	/* a status URL on another host (a proxy) is polled on base_url by its operation path */
	free(t.poll_url);
	t.poll_url = xstrdup("https://proxy.test/subscriptions/sub-1/resourcegroups/web-rg/"
			     "providers/Microsoft.Cdn/operationresults/op-2?api-version=x");
	assert_int_equal(f->ops->poll_req(f->pa, &f->ep, &t, &req, &e), 0);
	assert_string_equal(req.url,
			    BASE "/subscriptions/sub-1/resourcegroups/web-rg/providers/"
				 "Microsoft.Cdn/operationresults/op-2?api-version=2024-09-01");
	http_req_release(&req);
	/* ... but only an operation of our subscription, with no dot segment */
	const char *bad[] = {
	    "https://proxy.test/subscriptions/sub-2/providers/Microsoft.Cdn/operationresults/op",
	    "https://proxy.test/subscriptions/sub-1/x/../operationresults/op",
	    "https://arm.test:444/subscriptions/sub-1/x/%2e%2e/y",
	    "https://u@arm.test/subscriptions/sub-1/x/y",
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		free(t.poll_url);
		t.poll_url = xstrdup(bad[i]);
		if (f->ops->poll_req(f->pa, &f->ep, &t, &req, &e) != CF_EAPI)
			fail_msg("%s was polled", bad[i]);
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(poll_cases); i++) {
		t.state = TASK_RUNNING;
		int rc = fx_poll(f, poll_cases[i].status, poll_cases[i].body, &t, &e);
		if (rc != poll_cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		if (rc == 0)
			assert_int_equal(t.state, poll_cases[i].st);
		if (poll_cases[i].msg)
			assert_string_equal(t.message, poll_cases[i].msg);
	}
	task_release(&t);
	assert_null(f->ops->quota_req);
}

static void test_prov_azure__digest_sees_foreign(void **state)
{
	struct fx *f = *state;
	struct live_state a, b;
	read_ok(f, full_endpoint, &a);
	read_ok(f, full_endpoint, &b);
	assert_string_equal(a.digest, b.digest);
	free(b.foreign[1].json);
	b.foreign[1].json = xstrdup("{}");
	prov_digest(&b);
	assert_string_not_equal(a.digest, b.digest);
	live_state_release(&b);
	read_ok(f, full_endpoint, &b);
	sval_set(&b.cache.rules[0].name, "renamed", NULL);
	prov_digest(&b);
	assert_string_not_equal(a.digest, b.digest);
	live_state_release(&b);
	read_ok(f, full_endpoint, &b);
	b.cache.rules[0].cc =
	    b.cache.rules[0].cc == RULE_CC_IGNORE ? RULE_CC_HONOUR : RULE_CC_IGNORE;
	prov_digest(&b);
	assert_string_not_equal(a.digest, b.digest);
	live_state_release(&b);
	live_state_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_prov_azure__token_refresh_decision),
	    FX_TEST(test_prov_azure__token_req),
	    FX_TEST(test_prov_azure__token_parse),
	    FX_TEST(test_prov_azure__sign_bearer),
	    FX_TEST(test_prov_azure__read_owned_and_foreign),
	    FX_TEST(test_prov_azure__read_variations),
	    FX_TEST(test_prov_azure__read_rejects),
	    FX_TEST(test_prov_azure__cache_matches),
	    FX_TEST(test_prov_azure__write_body_exact),
	    FX_TEST(test_prov_azure__write_keeps_foreign),
	    FX_TEST(test_prov_azure__write_rule_limit),
	    FX_TEST(test_prov_azure__lro_start),
	    FX_TEST(test_prov_azure__can_migrate),
	    FX_TEST(test_prov_azure__split_and_batch),
	    FX_TEST(test_prov_azure__poll),
	    FX_TEST(test_prov_azure__digest_sees_foreign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
