/* Unit tests of fakecdn's in-place migration (cmd/fakecdn/fk_migrate.c): the translation of
 * one classic endpoint (table-driven: query-string key, each delivery rule's Front Door form,
 * refusals), the rule set's name, and through fk_app_handle() on the example state: after the
 * admin migration every probe path is cached by the Front Door edge for the TTL the classic
 * edge gave it. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <strings.h>

#include "cmd/fakecdn/fk_app.h"
#include "cmd/fakecdn/fk_edge.h"
#include "cmd/fakecdn/fk_migrate.h"
#include "cmd/fakecdn/fk_util.h"

#define EXAMPLE_STATE "examples/fakecdn/state.json"
#define PROFILE_ID    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Cdn/profiles/p"
#define MSG_SZ	      512
#define MAX_RULES     4

#define CE(b, d)                                                                                   \
	"{\"name\":\"CacheExpiration\",\"parameters\":{\"typeName\":"                              \
	"\"DeliveryRuleCacheExpirationActionParameters\",\"cacheBehavior\":\"" b "\","             \
	"\"cacheType\":\"All\",\"cacheDuration\":" d "}}"
#define PATH(op, v)                                                                                \
	"{\"name\":\"UrlPath\",\"parameters\":{\"typeName\":"                                      \
	"\"DeliveryRuleUrlPathMatchConditionParameters\",\"operator\":\"" op "\","                 \
	"\"matchValues\":[\"" v "\"]}}"
#define RULE(name, order, cond, act)                                                               \
	"{\"name\":\"" name "\",\"order\":" #order ",\"conditions\":[" cond "],\"actions\":[" act  \
	"]}"
#define EP(qs, rules)                                                                              \
	"{\"name\":\"shop\",\"properties\":{\"hostName\":\"shop.azureedge.net\"" qs ","            \
	"\"origins\":[{\"name\":\"o\",\"properties\":{\"hostName\":\"o.example.com\"}}],"          \
	"\"deliveryPolicy\":{\"rules\":[" rules "]}}}"

struct want_rule {
	const char *name;
	int order;
	const char *value;    /* first condition's first match value; NULL: no condition */
	const char *behavior; /* cacheConfiguration.cacheBehavior; "none": override disables */
	const char *duration; /* NULL: null or absent */
	const char *qs;	      /* cacheConfiguration.queryStringCachingBehavior */
};

static void test_fk_migrate__endpoint_table(void **state)
{
	static const struct {
		const char *what, *ep;
		const char *error; /* substring of the refusal; NULL: translated */
		const char *route_qs;
		size_t nrules;
		struct want_rule rules[MAX_RULES];
	} cases[] = {
	    {"no rules, no query-string setting: ignore (the service default), no rule set",
	     EP("", ""),
	     NULL,
	     "IgnoreQueryString",
	     0,
	     {{0}}},
	    {"NotSet reads as ignore",
	     EP(",\"queryStringCachingBehavior\":\"NotSet\"", ""),
	     NULL,
	     "IgnoreQueryString",
	     0,
	     {{0}}},
	    {"BypassCaching has no route form",
	     EP(",\"queryStringCachingBehavior\":\"BypassCaching\"", ""),
	     "BypassCaching",
	     NULL,
	     0,
	     {{0}}},
	    {"leading '/' dropped where anchored, kept for Contains; orders kept",
	     EP(",\"queryStringCachingBehavior\":\"UseQueryString\"",
		RULE("a", 1, PATH("Equal", "/x.html"), CE("BypassCache", "null")) "," RULE(
		    "b", 2, PATH("BeginsWith", "/assets/"),
		    CE("Override",
		       "\"7.00:00:00\"")) "," RULE("c", 3, PATH("Contains", "/api/"),
						   CE("SetIfMissing",
						      "\"01:00:00\"")) "," RULE("d", 4,
										PATH("Wildcard",
										     "/w/*.js"),
										CE("Override",
										   "\"00:05:"
										   "00\""))),
	     NULL,
	     "UseQueryString",
	     4,
	     {{"a", 1, "x.html", "none", NULL, NULL},
	      {"b", 2, "assets/", "OverrideAlways", "7.00:00:00", "UseQueryString"},
	      {"c", 3, "/api/", "OverrideIfOriginMissing", "01:00:00", "UseQueryString"},
	      {"d", 4, "w/*.js", "OverrideAlways", "00:05:00", "UseQueryString"}}},
	    {"the global rule (order 0, no condition) is named Global; a query key alone honours "
	     "the origin",
	     EP("",
		"{\"order\":0,\"conditions\":[],\"actions\":[" CE(
		    "Override", "\"1.00:00:00\"") "]}," RULE("k", 1, PATH("BeginsWith", "/s/"),
							     "{\"name\":\"CacheKeyQueryString\","
							     "\"parameters\":{\"typeName\":"
							     "\"DeliveryRuleCacheKeyQueryStringBeha"
							     "viorActionParameters\","
							     "\"queryStringBehavior\":\"Include\","
							     "\"queryParameters\":\"v\"}}")),
	     NULL,
	     "IgnoreQueryString",
	     2,
	     {{"Global", 0, NULL, "OverrideAlways", "1.00:00:00", "IgnoreQueryString"},
	      {"k", 1, "s/", "HonorOrigin", NULL, "IncludeSpecifiedQueryStrings"}}},
	    {"a condition Front Door lacks refuses the endpoint",
	     EP("",
		RULE("ip", 1,
		     "{\"name\":\"RemoteAddress\",\"parameters\":{\"typeName\":"
		     "\"DeliveryRuleRemoteAddressConditionParameters\",\"operator\":\"IPMatch\","
		     "\"matchValues\":[\"10.0.0.0/8\"]}}",
		     CE("BypassCache", "null"))),
	     "Rule 'ip': the condition 'RemoteAddress' cannot be migrated",
	     NULL,
	     0,
	     {{0}}},
	    {"an action Front Door lacks refuses the endpoint",
	     EP("", RULE("r", 1, PATH("Equal", "/a"),
			 "{\"name\":\"OriginGroupOverride\",\"parameters\":{}}")),
	     "the action 'OriginGroupOverride' cannot be migrated",
	     NULL,
	     0,
	     {{0}}},
	};
	CF_UNUSED(state);
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct json_object *in = json_tokener_parse(cases[i].ep), *ep, *og, *set;
		char msg[MSG_SZ] = "";
		int rc;

		print_message("case %zu: %s\n", i, cases[i].what);
		assert_non_null(in);
		rc = fk_migrate_endpoint(in, "shop-fd", PROFILE_ID, &ep, &og, &set, msg,
					 sizeof(msg));
		if (cases[i].error) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(msg, cases[i].error));
			assert_null(ep);
			assert_null(set);
			json_object_put(in);
			continue;
		}
		assert_int_equal(rc, 0);
		struct json_object *rt = json_object_array_get_idx(fk_jarr(ep, "routes"), 0);
		struct json_object *rp = fk_jobj(rt, "properties");
		assert_string_equal(fk_jstr(ep, "name"), "shop-fd");
		assert_string_equal(fk_jstr(rt, "name"), FK_MIGRATE_ROUTE);
		assert_string_equal(
		    fk_jstr(fk_jobj(rp, "cacheConfiguration"), "queryStringCachingBehavior"),
		    cases[i].route_qs);
		assert_string_equal(fk_jstr(og, "name"), "shop-origin-group");
		assert_int_equal(json_object_array_length(fk_jarr(og, "origins")), 1);
		assert_int_equal(json_object_array_length(fk_jarr(rp, "ruleSets")),
				 cases[i].nrules ? 1 : 0);
		if (!cases[i].nrules) {
			assert_null(set);
		} else {
			struct json_object *rules = fk_jarr(set, "rules");
			assert_string_equal(fk_jstr(set, "name"), "shopMigratedRuleSet");
			assert_int_equal(json_object_array_length(rules), cases[i].nrules);
			for (size_t k = 0; k < cases[i].nrules; k++) {
				const struct want_rule *w = &cases[i].rules[k];
				struct json_object *r = json_object_array_get_idx(rules, k);
				struct json_object *p = fk_jobj(r, "properties");
				struct json_object *c0 =
				    json_object_array_get_idx(fk_jarr(p, "conditions"), 0);
				struct json_object *a = json_object_array_get_idx(
				    fk_jarr(p, "actions"),
				    json_object_array_length(fk_jarr(p, "actions")) - 1);
				struct json_object *cc =
				    fk_jobj(fk_jobj(a, "parameters"), "cacheConfiguration");
				assert_string_equal(fk_jstr(r, "name"), w->name);
				assert_int_equal(fk_jint(p, "order", -1), w->order);
				if (w->value)
					assert_string_equal(
					    json_object_get_string(json_object_array_get_idx(
						fk_jarr(fk_jobj(c0, "parameters"), "matchValues"),
						0)),
					    w->value);
				else
					assert_null(c0);
				assert_string_equal(fk_jstr(a, "name"),
						    "RouteConfigurationOverride");
				if (strcmp(w->behavior, "none") == 0) {
					assert_null(cc);
					assert_false(fk_jbool(r, "_caching", true));
					continue;
				}
				assert_true(fk_jbool(r, "_caching", false));
				assert_string_equal(fk_jstr(cc, "cacheBehavior"), w->behavior);
				if (w->duration)
					assert_string_equal(fk_jstr(cc, "cacheDuration"),
							    w->duration);
				else
					assert_null(fk_jstr(cc, "cacheDuration"));
				assert_string_equal(fk_jstr(cc, "queryStringCachingBehavior"),
						    w->qs);
			}
		}
		json_object_put(ep);
		json_object_put(og);
		json_object_put(set);
		json_object_put(in);
	}
}

static void test_fk_migrate__set_name(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"shop", "shopMigratedRuleSet"},
	    {"my-shop_2", "myshop2MigratedRuleSet"},
	    {"9lives", "livesMigratedRuleSet"}, /* a name starts with a letter */
	    {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
	     "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrsMigratedRuleSet"},
	};
	char out[128];
	CF_UNUSED(state);
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		fk_migrate_set_name(cases[i].in, out, sizeof(out));
		assert_string_equal(out, cases[i].out);
		assert_true(strlen(out) <= 60);
	}
}

struct answer {
	int status;
	long ttl; /* X-Fakecdn-Ttl, -1 = none */
	char body[8192];
};

static struct answer req(struct fk_app *app, const char *method, const char *host,
			 const char *target)
{
	struct fk_req rq;
	struct fk_resp rs;
	struct answer a;

	memset(&a, 0, sizeof(a));
	a.ttl = -1;
	fk_req_init(&rq, method, target);
	fk_req_add_header(&rq, "Host", host);
	fk_resp_init(&rs);
	fk_app_handle(app, &rq, &rs);
	a.status = rs.status;
	for (size_t i = 0; i < rs.nhdrs; i++)
		if (strcasecmp(rs.hdrs[i].name, "X-Fakecdn-Ttl") == 0)
			a.ttl = strtol(rs.hdrs[i].value, NULL, 10);
	if (rs.body)
		snprintf(a.body, sizeof(a.body), "%.*s", (int)rs.body_len, rs.body);
	fk_resp_release(&rs);
	fk_req_release(&rq);
	return a;
}

/* The example state's two classic profiles, migrated by the admin route: the Front Door edge
 * caches every probe path as the classic edge did (orders, leading slashes, SetIfMissing,
 * BypassCache, the query key), with and without the origin's Cache-Control. */
static void test_fk_migrate__edge_same_ttls(void **state)
{
	static const char *const paths[] = {"/",
					    "/checkout.html",
					    "/checkout.html?a=1",
					    "/x/checkout.html",
					    "/assets/a.js",
					    "/assets",
					    "/x/assets/a",
					    "/f.woff2",
					    "/_static/a.css",
					    "/_static/",
					    "/index.html",
					    "/a/b.html",
					    "/b.HTML",
					    "/other"};
	static const struct {
		const char *rg, *prof, *classic_host;
	} sites[] = {{"web-rg", "web-cdn", "shop.azureedge.net"},
		     {"docs-rg", "docs-cdn", "docs.azureedge.net"}};
	/* with no Cache-Control each service caches for its own default (classic 2 days, Front
	 * Door 1 day): not a configuration's doing, so the origin always sends one here */
	static const char *const origins[] = {"{\"cache_control\": {\"*\": \"max-age=600\"}}",
					      "{\"cache_control\": {\"*\": \"no-store\"}}",
					      "{\"cache_control\": {\"*\": \"max-age=60\", "
					      "\"/assets/a.js\": \"max-age=99\"}}"};
	long before[CF_ARRAY_LEN(sites)][CF_ARRAY_LEN(origins)][CF_ARRAY_LEN(paths)];
	char host[CF_ARRAY_LEN(sites)][128], target[256];
	struct fk_app app;
	struct cf_err e;

	CF_UNUSED(state);
	assert_int_equal(fk_app_init(&app, EXAMPLE_STATE, &e), 0);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t s = 0; s < CF_ARRAY_LEN(sites); s++)
			for (size_t o = 0; o < CF_ARRAY_LEN(origins); o++) {
				/* a fresh edge each time: the first answer is a miss with its TTL
				 */
				fk_edge_reset(&app);
				{
					struct fk_req rq;
					struct fk_resp rs;
					fk_req_init(&rq, "PUT", "/_fakecdn/edge/origin");
					fk_req_add_header(&rq, "Host", "127.0.0.1");
					fk_req_set_body(&rq, origins[o], strlen(origins[o]));
					fk_resp_init(&rs);
					fk_app_handle(&app, &rq, &rs);
					assert_int_equal(rs.status, 200);
					fk_resp_release(&rs);
					fk_req_release(&rq);
				}
				for (size_t p = 0; p < CF_ARRAY_LEN(paths); p++) {
					struct answer a =
					    req(&app, "GET", pass ? host[s] : sites[s].classic_host,
						paths[p]);
					assert_int_equal(a.status, 200);
					if (pass == 0)
						before[s][o][p] = a.ttl;
					else if (a.ttl != before[s][o][p])
						fail_msg(
						    "%s %s origin %zu: classic %ld, Front Door %ld",
						    sites[s].prof, paths[p], o, before[s][o][p],
						    a.ttl);
				}
			}
		if (pass)
			break;
		for (size_t s = 0; s < CF_ARRAY_LEN(sites); s++) {
			struct answer a;
			snprintf(target, sizeof(target), "/_fakecdn/azure/%s/%s/migrate",
				 sites[s].rg, sites[s].prof);
			a = req(&app, "POST", "127.0.0.1", target);
			assert_int_equal(a.status, 200);
			struct json_object *prof = json_tokener_parse(a.body);
			struct json_object *ep0 =
			    json_object_array_get_idx(fk_jarr(prof, "afdEndpoints"), 0);
			assert_non_null(fk_jstr(ep0, "hostName"));
			snprintf(host[s], sizeof(host[s]), "%s", fk_jstr(ep0, "hostName"));
			json_object_put(prof);
			/* the classic endpoint is gone: its host no longer served */
			assert_int_equal(req(&app, "GET", sites[s].classic_host, "/a").status, 404);
			/* a second migration of the same profile is refused */
			assert_int_equal(req(&app, "POST", "127.0.0.1", target).status, 404);
		}
	}
	fk_app_release(&app);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fk_migrate__endpoint_table),
	    cmocka_unit_test(test_fk_migrate__set_name),
	    cmocka_unit_test(test_fk_migrate__edge_same_ttls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
