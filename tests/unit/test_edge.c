/* Unit tests of fakecdn's edge (cmd/fakecdn/fk_edge.c), driven through fk_app_handle() on the
 * example state: the TTL each provider's semantics give a path on the live rules, the cache
 * key, Age on the edge clock, the origin's Cache-Control, purge eviction at task completion
 * and preload warming. Expected TTLs are read off examples/fakecdn/state.json by hand. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <strings.h>

#include "cmd/fakecdn/fk_app.h"
#include "cmd/fakecdn/fk_edge.h"
#include "cmd/fakecdn/fk_util.h"

#define EXAMPLE_STATE "examples/fakecdn/state.json"
#define DAY	      86400
#define AZURE_DEFAULT (2 * DAY)

struct answer {
	int status;
	char op[32];
	char x_cache[16];
	long age; /* -1 = no Age */
	long ttl; /* X-Fakecdn-Ttl, -1 = none */
	char body[256];
};

static const char *resp_header(const struct fk_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

static struct answer req(struct fk_app *app, const char *method, const char *host,
			 const char *target, const char *body)
{
	struct fk_req rq;
	struct fk_resp rs;
	struct answer a;
	const char *v;

	memset(&a, 0, sizeof(a));
	fk_req_init(&rq, method, target);
	if (host)
		fk_req_add_header(&rq, "Host", host);
	if (body)
		fk_req_set_body(&rq, body, strlen(body));
	fk_resp_init(&rs);
	fk_app_handle(app, &rq, &rs);
	a.status = rs.status;
	snprintf(a.op, sizeof(a.op), "%s", rs.op);
	v = resp_header(&rs, "X-Cache");
	snprintf(a.x_cache, sizeof(a.x_cache), "%s", v ? v : "");
	v = resp_header(&rs, "Age");
	a.age = v ? strtol(v, NULL, 10) : -1;
	v = resp_header(&rs, "X-Fakecdn-Ttl");
	a.ttl = v ? strtol(v, NULL, 10) : -1;
	if (rs.body)
		snprintf(a.body, sizeof(a.body), "%.*s", (int)rs.body_len, rs.body);
	fk_resp_release(&rs);
	fk_req_release(&rq);
	return a;
}

static struct answer get(struct fk_app *app, const char *host, const char *target)
{
	return req(app, "GET", host, target, NULL);
}

static void advance(struct fk_app *app, long s)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"advance_s\": %ld}", s);
	assert_int_equal(req(app, "POST", "127.0.0.1:8480", "/_fakecdn/clock", body).status, 200);
}

static void open_app(struct fk_app *app)
{
	struct cf_err e;

	assert_int_equal(fk_app_init(app, EXAMPLE_STATE, &e), 0);
	app->knobs.task_delay_ms = 0;
}

/* Every provider's live rules: the first answer stores for the TTL its semantics give. */
static void test_edge__ttl_by_provider_semantics(void **state)
{
	static const struct {
		const char *host, *path;
		long ttl; /* 0 = not cached */
	} cases[] = {
	    /* azure-china: TTL-0 rules first, then the first configured match */
	    {"www.example.cn", "/index.html", 0},
	    {"www.example.cn", "/sw.js", 0},
	    {"www.example.cn", "/pic/a.jpg", 3600}, /* Dir /pic/ is configured before Suffix */
	    {"www.example.cn", "/a.JPG", 2592000},  /* suffixes ignore case */
	    {"www.example.cn", "/picture.png", 2592000},
	    {"www.example.cn", "/x/y", 600},
	    {"dl.example.cn", "/releases/v1.zip", 86400},
	    {"dl.example.cn", "/other.txt", 2 * DAY}, /* no rule, no header: default */
	    /* azure: every matching rule runs in order, the last cache action wins */
	    {"shop.example.com", "/checkout.html", 0},
	    {"shop.example.com", "/assets/app.js", 7 * DAY},
	    {"shop.example.com", "/fonts/a.woff2", AZURE_DEFAULT}, /* rule without cache action */
	    {"shop.azureedge.net", "/assets/app.js", 7 * DAY},
	    {"docs.example.com", "/index.html", 3600},
	    {"docs.example.com", "/_static/page.html",
	     3600}, /* the YAML's first rule (html) acts last */
	    /* cdnpro: Edge Logic is not emulated; without origin headers nothing is cached */
	    {"media.example.com", "/v1/a.mp4", 0},
	    {"x.example.com", "/", -1}, /* not an edge host: the API's 404 */
	};
	struct fk_app app;

	(void)state;
	open_app(&app);
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct answer a = get(&app, cases[i].host, cases[i].path), b;

		if (cases[i].ttl < 0) {
			assert_int_equal(a.status, 404);
			assert_string_equal(a.x_cache, "");
			continue;
		}
		b = get(&app, cases[i].host, cases[i].path);
		if (a.status != 200 || strcmp(a.x_cache, "TCP_MISS") != 0 ||
		    a.ttl != (cases[i].ttl ? cases[i].ttl : -1) ||
		    strcmp(b.x_cache, cases[i].ttl ? "TCP_HIT" : "TCP_MISS") != 0)
			fail_msg("%s%s: %d %s ttl %ld then %s (want ttl %ld)", cases[i].host,
				 cases[i].path, a.status, a.x_cache, a.ttl, b.x_cache,
				 cases[i].ttl);
		assert_string_equal(b.op, cases[i].ttl ? "edge_hit" : "edge_miss");
	}
	fk_app_release(&app);
}

static void test_edge__age_clock_and_expiry(void **state)
{
	struct fk_app app;
	struct answer a;

	(void)state;
	open_app(&app);
	a = get(&app, "www.example.cn", "/x/page");
	assert_string_equal(a.x_cache, "TCP_MISS");
	assert_int_equal(a.age, 0);
	assert_non_null(strstr(a.body, "path: /x/page"));
	advance(&app, 599);
	a = get(&app, "www.example.cn:443", "/x/page"); /* the port is not part of the host */
	assert_string_equal(a.x_cache, "TCP_HIT");
	assert_int_equal(a.age, 599);
	advance(&app, 1);
	a = get(&app, "WWW.example.cn", "/x/page");
	assert_string_equal(a.x_cache, "TCP_MISS");
	assert_int_equal(a.age, 0);
	/* frozen, the clock moves only when advanced: Age is exact however slow the machine */
	assert_int_equal(
	    req(&app, "POST", "127.0.0.1", "/_fakecdn/clock", "{\"freeze\": true}").status, 200);
	advance(&app, 10);
	a = get(&app, "www.example.cn", "/x/page");
	assert_string_equal(a.x_cache, "TCP_HIT");
	assert_int_equal(a.age, 10);
	assert_int_equal(
	    req(&app, "POST", "127.0.0.1", "/_fakecdn/clock", "{\"freeze\": 1}").status, 400);
	assert_int_equal(req(&app, "POST", "127.0.0.1", "/_fakecdn/clock", "{\"other\": 1}").status,
			 400);
	/* reset forgets the cache and the clock */
	assert_int_equal(req(&app, "POST", "127.0.0.1", "/_fakecdn/reset", "").status, 200);
	a = get(&app, "www.example.cn", "/x/page");
	assert_string_equal(a.x_cache, "TCP_MISS");
	fk_app_release(&app);
}

static void test_edge__cache_key_and_query(void **state)
{
	struct fk_app app;

	(void)state;
	open_app(&app);
	/* www ignores the query string; dl does not */
	assert_string_equal(get(&app, "www.example.cn", "/x/q?a=1").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "www.example.cn", "/x/q?a=2").x_cache, "TCP_HIT");
	assert_string_equal(get(&app, "dl.example.cn", "/releases/a.zip?a=1").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "dl.example.cn", "/releases/a.zip?a=2").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "dl.example.cn", "/releases/a.zip?a=1").x_cache, "TCP_HIT");
	/* the host is part of the key: static. and dl. are one endpoint, two keys */
	assert_string_equal(get(&app, "static.example.cn", "/releases/a.zip?a=1").x_cache,
			    "TCP_MISS");
	/* the rules see the decoded path */
	assert_int_equal(get(&app, "www.example.cn", "/%70ic/b.jpg").ttl, 3600);
	assert_int_equal(get(&app, "www.example.cn", "/bad%zz").status, 400);
	assert_int_equal(req(&app, "POST", "www.example.cn", "/x", "{}").status, 405);
	fk_app_release(&app);
}

static void test_edge__origin_cache_control(void **state)
{
	struct fk_app app;

	(void)state;
	open_app(&app);
	assert_int_equal(req(&app, "PUT", "127.0.0.1", "/_fakecdn/edge/origin",
			     "{\"cache_control\": {\"/pic/b.jpg\": \"max-age=60\","
			     " \"/assets/n.js\": \"no-store\", \"/assets/m.js\": \"max-age=5\","
			     " \"*\": \"s-maxage=30, max-age=10\"}}")
			     .status,
			 200);
	/* www: ignore_cache_control false, the origin's max-age wins over the rule */
	assert_int_equal(get(&app, "www.example.cn", "/pic/b.jpg").ttl, 60);
	/* shop: Override replaces max-age but yields to no-store */
	assert_int_equal(get(&app, "shop.example.com", "/assets/n.js").ttl, -1);
	assert_int_equal(get(&app, "shop.example.com", "/assets/m.js").ttl, 7 * DAY);
	/* no rule: the origin decides, s-maxage before max-age */
	assert_int_equal(get(&app, "media.example.com", "/a.mp4").ttl, 30);
	assert_int_equal(req(&app, "PUT", "127.0.0.1", "/_fakecdn/edge/origin",
			     "{\"cache_control\": {\"/x\": 5}}")
			     .status,
			 400);
	fk_app_release(&app);
}

static void add_task(struct fk_app *app, const char *kind, const char *member, const char *json)
{
	struct json_object *t = fk_task_new(app, kind, "t1", fk_now_ms());

	json_object_object_add(t, member, json_tokener_parse(json));
	if (strncmp(kind, "arm_", 4) == 0) {
		json_object_object_add(
		    t, "subscription",
		    json_object_new_string("11111111-1111-4111-8111-111111111111"));
		json_object_object_add(t, "endpoint", json_object_new_string("shop"));
	}
}

static void test_edge__purge_evicts_when_its_task_completes(void **state)
{
	struct fk_app app;

	(void)state;
	open_app(&app);
	app.knobs.task_delay_ms = 60000;
	assert_string_equal(get(&app, "www.example.cn", "/pic/a.jpg").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "www.example.cn", "/pic/z.jpg").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "www.example.cn", "/doc/a.pdf").x_cache, "TCP_MISS");
	add_task(&app, "purge", "files", "[\"https://www.example.cn/pic/a.jpg\"]");
	add_task(&app, "purge", "dirs", "[\"https://www.example.cn/doc/\"]");
	assert_string_equal(get(&app, "www.example.cn", "/pic/a.jpg").x_cache, "TCP_HIT");
	advance(&app, 59);
	assert_string_equal(get(&app, "www.example.cn", "/pic/a.jpg").x_cache, "TCP_HIT");
	advance(&app, 1);
	assert_string_equal(get(&app, "www.example.cn", "/pic/a.jpg").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "www.example.cn", "/doc/a.pdf").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "www.example.cn", "/pic/z.jpg").x_cache, "TCP_HIT");
	/* azure: a wildcard path purges on every host of the endpoint */
	app.knobs.task_delay_ms = 0;
	assert_string_equal(get(&app, "shop.example.com", "/assets/a.js").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "shop.azureedge.net", "/assets/b.js").x_cache, "TCP_MISS");
	add_task(&app, "arm_purge", "paths", "[\"/assets/*\"]");
	assert_string_equal(get(&app, "shop.example.com", "/assets/a.js").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "shop.azureedge.net", "/assets/b.js").x_cache, "TCP_MISS");
	/* cdnpro regex on the whole URL */
	req(&app, "PUT", "127.0.0.1", "/_fakecdn/edge/origin",
	    "{\"cache_control\": {\"*\": \"max-age=100\"}}");
	assert_string_equal(get(&app, "media.example.com", "/v2/a.mp4").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "media.example.com", "/v2/a.jpg").x_cache, "TCP_MISS");
	add_task(&app, "cdnpro_purge", "regexPatterns",
		 "[\"https://media.example.com/v[0-9]+/.*\\\\.mp4\"]");
	assert_string_equal(get(&app, "media.example.com", "/v2/a.mp4").x_cache, "TCP_MISS");
	assert_string_equal(get(&app, "media.example.com", "/v2/a.jpg").x_cache, "TCP_HIT");
	fk_app_release(&app);
}

static void test_edge__preload_warms(void **state)
{
	struct fk_app app;
	struct answer a;

	(void)state;
	open_app(&app);
	add_task(&app, "preload", "files",
		 "[\"https://www.example.cn/pic/w.jpg\", \"https://www.example.cn/index.html\"]");
	a = get(&app, "www.example.cn", "/pic/w.jpg");
	assert_string_equal(a.x_cache, "TCP_HIT");
	assert_int_equal(a.age, 0);
	/* a path the rules never cache stays cold */
	assert_string_equal(get(&app, "www.example.cn", "/index.html").x_cache, "TCP_MISS");
	add_task(&app, "arm_load", "paths", "[\"/assets/p.js\"]");
	assert_string_equal(get(&app, "shop.example.com", "/assets/p.js").x_cache, "TCP_HIT");
	assert_string_equal(get(&app, "shop.azureedge.net", "/assets/p.js").x_cache, "TCP_HIT");
	fk_app_release(&app);
}

/* A Front Door profile (no such thing in the example state): its route keys on the query
 * parameters it names, a .png override keys on all but utm and caches 1 h, private/ is not
 * cached, and anything else takes Front Door's default. */
#define AFD_RS                                                                                     \
	"/subscriptions/s/resourceGroups/fd-rg/providers/Microsoft.Cdn/profiles/p/ruleSets/rs"
#define AFD_OVR(cc)                                                                                \
	"[{\"name\":\"RouteConfigurationOverride\",\"parameters\":{\"typeName\":"                  \
	"\"DeliveryRuleRouteConfigurationOverrideActionParameters\"" cc "}}]"
static const char afd_profile[] =
    "{\"subscription\":\"s\",\"resource_group\":\"fd-rg\",\"name\":\"p\",\"afdEndpoints\":[{"
    "\"name\":\"web\",\"hostName\":\"web-1.z01.azurefd.net\",\"routes\":[{\"name\":\"default\","
    "\"properties\":{\"patternsToMatch\":[\"/*\"],\"ruleSets\":[{\"id\":\"" AFD_RS "\"}],"
    "\"cacheConfiguration\":{\"queryStringCachingBehavior\":\"IncludeSpecifiedQueryStrings\","
    "\"queryParameters\":\"v,lang\"}}}]}],\"ruleSets\":[{\"name\":\"rs\",\"rules\":["
    "{\"name\":\"img\",\"properties\":{\"order\":1,\"conditions\":[{\"name\":\"UrlFileExtension\","
    "\"parameters\":{\"operator\":\"Equal\",\"matchValues\":[\"png\"]}}],\"actions\":" AFD_OVR(
	",\"cacheConfiguration\":{\"queryStringCachingBehavior\":\"IgnoreSpecifiedQueryStrings\","
	"\"queryParameters\":\"utm\",\"cacheBehavior\":\"OverrideAlways\",\"cacheDuration\":"
	"\"01:00:00\"}") "}},"
			 "{\"name\":\"nocache\",\"properties\":{\"order\":2,\"conditions\":[{"
			 "\"name\":\"UrlPath\","
			 "\"parameters\":{\"operator\":\"BeginsWith\",\"matchValues\":[\"private/"
			 "\"]}}],"
			 "\"actions\":" AFD_OVR("") "}}]}]}";

static void test_edge__frontdoor_route_rules_and_query_keys(void **state)
{
	static const struct {
		const char *target, *x_cache;
		long ttl; /* X-Fakecdn-Ttl, -1 = none */
	} steps[] = {
	    {"/a.js?v=1&x=1", "TCP_MISS", DAY}, /* no rule, no header: 1 day */
	    {"/a.js?x=2&v=1", "TCP_HIT", DAY},	/* only v and lang are in the key */
	    {"/a.js?v=2", "TCP_MISS", DAY},
	    {"/p.png?utm=a&k=1", "TCP_MISS", 3600}, /* the override's key: all but utm */
	    {"/p.png?k=1&utm=b", "TCP_HIT", 3600},
	    {"/p.png?k=2", "TCP_MISS", 3600},
	    {"/private/x.js", "TCP_MISS", -1}, /* an override without cacheConfiguration */
	    {"/private/x.js", "TCP_MISS", -1},
	};
	struct fk_app app;
	struct fk_edge_decision d;

	(void)state;
	open_app(&app);
	json_object_object_add(app.state, "frontdoor", json_object_new_object());
	json_object_object_add(fk_jobj(app.state, "frontdoor"), "profiles",
			       json_object_new_array());
	json_object_array_add(fk_jarr(fk_jobj(app.state, "frontdoor"), "profiles"),
			      json_tokener_parse(afd_profile));
	for (size_t i = 0; i < CF_ARRAY_LEN(steps); i++) {
		struct answer a = get(&app, "web-1.z01.azurefd.net", steps[i].target);

		if (a.status != 200 || strcmp(a.x_cache, steps[i].x_cache) != 0 ||
		    a.ttl != steps[i].ttl)
			fail_msg("%s: %d %s ttl %ld (want %s ttl %ld)", steps[i].target, a.status,
				 a.x_cache, a.ttl, steps[i].x_cache, steps[i].ttl);
	}
	assert_int_equal(fk_edge_decide(&app, "web-1.z01.azurefd.net", "/x/a.css", NULL, &d), 0);
	assert_int_equal(d.kind, FK_EDGE_DEFAULT);
	assert_int_equal(d.ttl_s, DAY);
	assert_int_equal(fk_edge_decide(&app, "web-1.z01.azurefd.net", "/x/p.png", NULL, &d), 0);
	assert_int_equal(d.kind, FK_EDGE_TTL);
	assert_int_equal(d.rule_ttl_s, 3600);
	fk_app_release(&app);
}

static void test_edge__decide_and_hosts(void **state)
{
	struct fk_app app;
	struct fk_edge_decision d;

	(void)state;
	open_app(&app);
	assert_int_equal(fk_edge_decide(&app, "www.example.cn", "/index.html", NULL, &d), 0);
	assert_int_equal(d.kind, FK_EDGE_NOCACHE);
	assert_int_equal(d.rule, 0);
	assert_int_equal(fk_edge_decide(&app, "docs.example.com", "/a.html", NULL, &d), 0);
	assert_int_equal(d.kind, FK_EDGE_TTL);
	assert_int_equal(d.rule_ttl_s, 3600);
	assert_int_equal(fk_edge_decide(&app, "media.example.com", "/a", NULL, &d), 0);
	assert_int_equal(d.kind, FK_EDGE_DEFAULT);
	assert_int_equal(fk_edge_decide(&app, "nope.example.com", "/a", NULL, &d), -1);
	/* custom domains through the admin API make a host an edge host */
	assert_int_equal(get(&app, "new.example.org", "/a").status, 404);
	assert_int_equal(req(&app, "PUT", "127.0.0.1",
			     "/_fakecdn/azure/web-rg/web-cdn/shop/customdomains",
			     "[\"new.example.org\"]")
			     .status,
			 200);
	assert_string_equal(get(&app, "new.example.org", "/checkout.html").x_cache, "TCP_MISS");
	assert_int_equal(get(&app, "new.example.org", "/assets/x").ttl, 7 * DAY);
	assert_int_equal(req(&app, "PUT", "127.0.0.1",
			     "/_fakecdn/azure/web-rg/web-cdn/shop/customdomains", "[\"a/b\"]")
			     .status,
			 400);
	/* the API host is not an edge host */
	assert_string_equal(get(&app, "127.0.0.1:8480", "/_fakecdn/health").op, "admin_health");
	fk_app_release(&app);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edge__ttl_by_provider_semantics),
	    cmocka_unit_test(test_edge__age_clock_and_expiry),
	    cmocka_unit_test(test_edge__cache_key_and_query),
	    cmocka_unit_test(test_edge__origin_cache_control),
	    cmocka_unit_test(test_edge__purge_evicts_when_its_task_completes),
	    cmocka_unit_test(test_edge__preload_warms),
	    cmocka_unit_test(test_edge__decide_and_hosts),
	    cmocka_unit_test(test_edge__frontdoor_route_rules_and_query_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
