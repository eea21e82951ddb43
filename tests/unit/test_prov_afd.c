/*
 * Unit tests: azure-frontdoor driver (reads in steps, golden corpus of live shapes that must
 * plan to no change, write sequences and their counts), the compiler, the per-rule write
 * planner, and the Front Door semantics against cacheform's first-match meaning.
 */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/afd_compile.h"
#include "reconcile/provider.h"
#include "reconcile/sem_afd.h"
#include "reconcile/base/limits.h"
#include "tests/unit/prov_fixture.h"

#define BASE	   "https://arm.test"
#define PROF	   "/subscriptions/sub-1/resourceGroups/web-rg/providers/Microsoft.Cdn/profiles/web-afd"
#define OWNED	   PROF "/ruleSets/cacheform"
#define DIFF_LISTS 10000 /* random rule lists in the differential test */

static int setup(void **state)
{
	struct fx *f = fx_new(PROV_AZURE_FRONTDOOR, "fd", BASE, "web", "www.example.com");
	fx_lit(&f->a.subscription, "sub-1");
	fx_lit(&f->a.tenant, "tenant-1");
	fx_lit(&f->a.client_id, "app-1");
	fx_lit(&f->a.client_secret, "secret");
	f->ep.remote.resource_group.s = xstrdup("web-rg");
	f->ep.remote.profile.s = xstrdup("web-afd");
	f->ep.remote.endpoint.s = xstrdup("web");
	f->ep.remote.route.s = xstrdup("default");
	f->ep.remote.rule_set.s = xstrdup("cacheform");
	/* YAML: images dir 1d, assets suffix 365.23:59:59, home path ttl 0 (first match wins) */
	struct cache *c = &f->ep.cache;
	c->ignore_query_string = true;
	fx_rule(c, RULE_DIR, 86400, "/img/,/static");
	c->rules[0].name.s = xstrdup("images");
	fx_rule(c, RULE_SUFFIX, AFD_DURATION_MAX_S, "css,JS");
	c->rules[1].name.s = xstrdup("assets");
	fx_rule(c, RULE_PATH, 0, "/index.html");
	c->rules[2].name.s = xstrdup("home");
	if (fx_open(f, state) != 0)
		return -1;
	f->pa->token = xstrdup("tok");
	f->pa->token_expires = 2000000000;
	return 0;
}

/* ---- canned live shapes ---- */

static const char route_ok[] =
    "{\"name\":\"default\",\"type\":\"Microsoft.Cdn/profiles/afdendpoints/routes\","
    "\"properties\":{\"cacheConfiguration\":{\"compressionSettings\":{\"contentTypesToCompress\":"
    "[\"text/html\"],\"isCompressionEnabled\":true},\"queryParameters\":null,"
    "\"queryStringCachingBehavior\":\"IgnoreQueryString\"},\"ruleSets\":[{\"id\":\"" OWNED
    "\"}],\"patternsToMatch\":[\"/*\"],\"supportedProtocols\":[\"Https\",\"Http\"]}}";

static const char set_plain[] = "{\"name\":\"cacheform\",\"type\":\"Microsoft.Cdn/profiles/"
				"rulesets\",\"properties\":{\"provisioningState\":\"Succeeded\","
				"\"deploymentStatus\":\"NotStarted\"}}";

#define OVR(cc)                                                                                    \
	"{\"name\":\"RouteConfigurationOverride\",\"parameters\":{\"typeName\":"                   \
	"\"DeliveryRuleRouteConfigurationOverrideActionParameters\"" cc "}}"
#define CC(beh, dur)                                                                               \
	",\"cacheConfiguration\":{\"queryStringCachingBehavior\":\"IgnoreQueryString\","           \
	"\"queryParameters\":null,\"isCompressionEnabled\":\"Enabled\",\"cacheBehavior\":\"" beh   \
	"\",\"cacheDuration\":" dur "}"
#define COND(var, type, op, vals, extra)                                                           \
	"{\"name\":\"" var "\",\"parameters\":{\"typeName\":\"" type "\",\"operator\":\"" op       \
	"\",\"matchValues\":[" vals "]" extra "}}"
#define PATHC(op, vals, extra)                                                                     \
	COND("UrlPath", "DeliveryRuleUrlPathMatchConditionParameters", op, vals, extra)
#define EXTC(vals, extra)                                                                          \
	COND("UrlFileExtension", "DeliveryRuleUrlFileExtensionMatchConditionParameters", "Equal",  \
	     vals, extra)
#define RULE(name, order, mpb, cond, act)                                                          \
	"{\"name\":\"" name                                                                        \
	"\",\"type\":\"Microsoft.Cdn/profiles/rulesets/rules\",\"properties\":{"                   \
	"\"order\":" #order mpb ",\"conditions\":[" cond "],\"actions\":[" act "]}}"
#define CONT  ",\"matchProcessingBehavior\":\"Continue\""
#define LOWER ",\"transforms\":[\"Lowercase\"]"

/* As cacheform writes it. */
static const char rules_canonical[] = "{\"value\":[" RULE(
    "home", 10, CONT,
    PATHC("Equal", "\"index.html\"", ",\"negateCondition\":false,\"transforms\":[]"),
    OVR("")) "," RULE("assets", 20, CONT,
		      EXTC("\"css\",\"js\"", ",\"negateCondition\":false" LOWER),
		      OVR(CC("OverrideIfOriginMissing",
			     "\"365.23:59:59\""))) "," RULE("images", 30, CONT,
							    PATHC("BeginsWith",
								  "\"img/\",\"static/\"",
								  ",\"transforms\":[]"),
							    OVR(CC("OverrideIfOriginMissing",
								   "\"1.00:00:00\""))) "]}";

/* Leading slashes, orders 1..3, no transforms/negateCondition/matchProcessingBehavior. */
static const char rules_slashes[] =
    "{\"value\":[" RULE("home", 1, "", PATHC("Equal", "\"/index.html\"", ""), OVR("")) "," RULE(
	"assets", 2, "", EXTC("\"css\",\"js\"", LOWER),
	OVR(CC("OverrideIfOriginMissing",
	       "\"365.23:59:59\""))) "," RULE("images", 3, "",
					      PATHC("BeginsWith", "\"/img/\",\"/static/\"", ""),
					      OVR(CC("OverrideIfOriginMissing",
						     "\"01.00:00:00\""))) "]}";

/* Listed out of order, renumbered (100, 205, 999), values reordered, extra read-only fields,
 * queryParameters absent, isCompressionEnabled different, keys in another order. */
static const char rules_renumbered[] =
    "{\"value\":["
    "{\"properties\":{\"actions\":[{\"parameters\":{\"cacheConfiguration\":{\"cacheDuration\":"
    "\"1.00:00:00\",\"cacheBehavior\":\"OverrideIfOriginMissing\",\"isCompressionEnabled\":"
    "\"Disabled\",\"queryStringCachingBehavior\":\"IgnoreQueryString\"},\"typeName\":"
    "\"DeliveryRuleRouteConfigurationOverrideActionParameters\"},\"name\":"
    "\"RouteConfigurationOverride\"}],\"conditions\":[" PATHC(
	"BeginsWith", "\"static/\",\"img/\"",
	",\"transforms\":[]") "],\"order\":999,\"ruleSetName\":\"cacheform\",\"provisioningState\":"
			      "\"Succeeded\","
			      "\"deploymentStatus\":\"NotStarted\"},\"name\":\"images\"}," RULE(
				  "home", 100, CONT, PATHC("Equal", "\"index.html\"", ""),
				  OVR("")) "," RULE("assets", 205, CONT,
						    EXTC("\"js\",\"css\"", LOWER),
						    OVR(CC("OverrideIfOriginMissing",
							   "\"365.23:59:59\""))) "]}";

static const char *const golden[] = {rules_canonical, rules_slashes, rules_renumbered};

/* Reads route, owned set, its rules (and nothing more); returns the last read_parse result. */
static int read_live(struct fx *f, const char *route, const char *set, const char *rules,
		     struct live_state *ls)
{
	struct cf_err e;
	memset(ls, 0, sizeof(*ls));
	int rc = fx_read(f, 200, route, ls, &e);
	if (rc != PROV_MORE)
		return rc;
	ls->step++;
	rc = set ? fx_read(f, 200, set, ls, &e) : fx_read(f, 404, "{\"error\":{}}", ls, &e);
	if (rc != PROV_MORE || !rules)
		return rc;
	ls->step++;
	return fx_read(f, 200, rules, ls, &e);
}

static void test_prov_afd__read_requests(void **state)
{
	struct fx *f = *state;
	struct live_state ls = {0};
	struct http_req req;
	struct cf_err e;
	assert_int_equal(f->ops->read_req(f->pa, &f->ep, &req, &e), 0);
	assert_string_equal(req.url,
			    BASE PROF "/afdEndpoints/web/routes/default?api-version=2026-07-01");
	http_req_release(&req);
	assert_int_equal(fx_read(f, 200, route_ok, &ls, &e), PROV_MORE);
	assert_int_equal(f->ops->read_next(f->pa, &f->ep, &ls, &req, &e), 0);
	assert_string_equal(req.url, BASE OWNED "?api-version=2026-07-01");
	http_req_release(&req);
	assert_int_equal(fx_read(f, 200, set_plain, &ls, &e), PROV_MORE);
	assert_int_equal(f->ops->read_next(f->pa, &f->ep, &ls, &req, &e), 0);
	assert_string_equal(req.url, BASE OWNED "/rules?api-version=2026-07-01");
	http_req_release(&req);
	live_state_release(&ls);
}

static void test_prov_afd__golden_no_change(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < CF_ARRAY_LEN(golden); i++) {
		struct live_state ls;
		assert_int_equal(read_live(f, route_ok, set_plain, golden[i], &ls), 0);
		if (ls.inexact)
			fail_msg("golden %zu: %s", i, ls.inexact);
		assert_true(ls.exists);
		assert_true(prov_cache_matches(&ls, &f->ep.cache));
		live_state_release(&ls);
	}
}

static void test_prov_afd__durations(void **state)
{
	const struct {
		const char *s;
		int64_t secs; /* -1: refused */
	} cases[] = {
	    {"00:00:00", 0},	   {"365.23:59:59", AFD_DURATION_MAX_S},
	    {"1.00:00:00", 86400}, {"01.00:00:00", 86400},
	    {"0.01:00:00", 3600},  {"24:00:00", -1},
	    {"1:00:00", -1},	   {".01:00:00", -1},
	    {"00:60:00", -1},
	};
	char buf[AFD_DURATION_BUF];
	CF_UNUSED(state);
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		int64_t v = -1;
		int rc = afd_duration_parse(cases[i].s, &v);
		assert_int_equal(rc == 0 ? v : -1, cases[i].secs);
	}
	afd_duration_format(3600, buf, sizeof(buf));
	assert_string_equal(buf, "01:00:00");
	afd_duration_format(AFD_DURATION_MAX_S, buf, sizeof(buf));
	assert_string_equal(buf, "365.23:59:59");
}

/* Live shapes that behave differently are never "no change". */
static void test_prov_afd__differences_seen(void **state)
{
	struct fx *f = *state;
	static const char stop[] = "{\"value\":[" RULE(
	    "home", 10, ",\"matchProcessingBehavior\":\"Stop\"",
	    PATHC("Equal", "\"index.html\"", ""),
	    OVR("")) "," RULE("assets", 20, "", EXTC("\"css\",\"js\"", LOWER),
			      OVR(CC(
				  "OverrideIfOriginMissing",
				  "\"365.23:59:59\""))) "," RULE("images", 30, "",
								 PATHC("BeginsWith",
								       "\"img/\",\"static/\"", ""),
								 OVR(CC("OverrideIfOriginMissing",
									"\"1.00:00:00\""))) "]}";
	static const char swapped[] = "{\"value\":[" RULE(
	    "home", 20, "", PATHC("Equal", "\"index.html\"", ""),
	    OVR("")) "," RULE("assets", 10, "", EXTC("\"css\",\"js\"", LOWER),
			      OVR(CC(
				  "OverrideIfOriginMissing",
				  "\"365.23:59:59\""))) "," RULE("images", 30, "",
								 PATHC("BeginsWith",
								       "\"img/\",\"static/\"", ""),
								 OVR(CC("OverrideIfOriginMissing",
									"\"1.00:00:00\""))) "]}";
	static const char ttl[] = "{\"value\":[" RULE(
	    "home", 10, "", PATHC("Equal", "\"index.html\"", ""),
	    OVR("")) "," RULE("assets", 20, "", EXTC("\"css\",\"js\"", LOWER),
			      OVR(CC(
				  "OverrideIfOriginMissing",
				  "\"365.23:59:59\""))) "," RULE("images", 30, "",
								 PATHC("BeginsWith",
								       "\"img/\",\"static/\"", ""),
								 OVR(CC("OverrideIfOriginMissing",
									"\"2.00:00:00\""))) "]}";
	static const char honor[] = "{\"value\":[" RULE(
	    "home", 10, "", PATHC("Equal", "\"index.html\"", ""),
	    OVR("")) "," RULE("assets", 20, "", EXTC("\"css\",\"js\"", LOWER),
			      OVR(CC("HonorOrigin",
				     "null"))) "," RULE("images", 30, "",
							PATHC("BeginsWith", "\"img/\",\"static/\"",
							      ""),
							OVR(CC("OverrideIfOriginMissing",
							       "\"1.00:00:00\""))) "]}";
	const char *const cases[] = {stop, swapped, ttl, honor};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct live_state ls;
		assert_int_equal(read_live(f, route_ok, set_plain, cases[i], &ls), 0);
		if (prov_cache_matches(&ls, &f->ep.cache))
			fail_msg("case %zu reads as no change", i);
		live_state_release(&ls);
	}
	/* route: UseQueryString, and a route without our rule set */
	struct live_state ls;
	char *use = xstrdup(route_ok);
	char *q = strstr(use, "IgnoreQueryString");
	memcpy(q, "UseQueryString", 14);
	memmove(q + 14, q + 17, strlen(q + 17) + 1);
	assert_int_equal(read_live(f, use, set_plain, rules_canonical, &ls), 0);
	assert_false(prov_cache_matches(&ls, &f->ep.cache));
	assert_false(ls.cache.ignore_query_string);
	live_state_release(&ls);
	free(use);
	/* the rule set does not exist yet: the plan says it is created and attached */
	assert_int_equal(read_live(f, route_ok, NULL, NULL, &ls), 0);
	assert_non_null(ls.inexact);
	assert_non_null(strstr(ls.inexact, "rule set 'cacheform' does not exist"));
	live_state_release(&ls);
}

/* ---- writes through the driver ---- */

/* Runs write_req and write_next like the engine; returns the count, fills urls (" "-joined). */
static size_t count_writes(struct fx *f, struct live_state *ls, struct sb *log)
{
	struct http_req req;
	struct cf_err e;
	size_t n = 0;
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, ls, &req, &e), 0);
	for (;;) {
		n++;
		if (log)
			sb_addf(log, "%s %s\n", req.method, req.url + strlen(BASE PROF));
		http_req_release(&req);
		ls->wstep++;
		int rc = f->ops->write_next(f->pa, &f->ep, ls, &req, &e);
		assert_true(rc >= 0);
		if (rc == 0)
			break;
	}
	return n;
}

static void test_prov_afd__write_counts(void **state)
{
	struct fx *f = *state;
	struct live_state ls;
	struct sb log;
	sb_init(&log, 0);
	/* per-rule api-version, one TTL changed of three: one PUT */
	free(f->pa->api_version);
	f->pa->api_version = xstrdup("2025-06-01");
	f->ep.cache.rules[0].ttl = 2 * 86400;
	assert_int_equal(read_live(f, route_ok, set_plain, rules_canonical, &ls), 0);
	assert_int_equal(count_writes(f, &ls, &log), 1);
	assert_string_equal(log.buf,
			    "PUT /ruleSets/cacheform/rules/images?api-version=2025-06-01\n");
	live_state_release(&ls);
	/* batch api-version, set missing: one batch PUT and the route */
	free(f->pa->api_version);
	f->pa->api_version = xstrdup("2026-07-01");
	sb_reset(&log);
	assert_int_equal(read_live(f, route_ok, NULL, NULL, &ls), 0);
	assert_int_equal(count_writes(f, &ls, &log), 1); /* attached already: no route write */
	assert_string_equal(log.buf, "PUT /ruleSets/cacheform?api-version=2026-07-01\n");
	live_state_release(&ls);
	/* per-rule api-version, set missing and not attached: create, 3 rules, route */
	free(f->pa->api_version);
	f->pa->api_version = xstrdup("2025-06-01");
	sb_reset(&log);
	char *bare = xstrdup(route_ok);
	char *rs = strstr(bare, "\"ruleSets\":[");
	memmove(rs + 12, strchr(rs, ']'), strlen(strchr(rs, ']')) + 1);
	assert_int_equal(read_live(f, bare, NULL, NULL, &ls), 0);
	assert_int_equal(count_writes(f, &ls, &log), 5);
	assert_non_null(strstr(log.buf, "PATCH /afdEndpoints/web/routes/default"));
	live_state_release(&ls);
	free(bare);
	sb_release(&log);
}

static void test_prov_afd__batch_body(void **state)
{
	struct fx *f = *state;
	struct live_state ls;
	struct http_req req;
	struct cf_err e;
	assert_int_equal(read_live(f, route_ok, NULL, NULL, &ls), 0);
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, &ls, &req, &e), 0);
	assert_string_equal(req.method, "PUT");
	assert_non_null(strstr(req.body, "\"batchMode\":true"));
	/* the YAML's first rule runs last; values without the leading '/'; suffixes lower-case */
	const char *home = strstr(req.body, "\"home\""), *images = strstr(req.body, "\"images\"");
	assert_true(home && images && home < images);
	assert_non_null(strstr(req.body, "[\"img/\",\"static/\"]"));
	assert_non_null(strstr(req.body, "[\"css\",\"js\"],\"transforms\":[\"Lowercase\"]"));
	assert_non_null(strstr(req.body, "\"cacheDuration\":\"365.23:59:59\""));
	assert_non_null(strstr(req.body, "\"isCompressionEnabled\":\"Enabled\""));
	http_req_release(&req);
	live_state_release(&ls);
}

/* ---- per-rule write planner ---- */

static void add_rule(struct sem_afd_set *s, const char *name, int64_t order, int64_t ttl)
{
	struct sem_afd_rule *r = sem_afd_add_rule(s);
	r->name = xstrdup(name);
	r->order = order;
	r->override = true;
	r->has_cache = ttl > 0;
	r->behavior = AFDB_IF_MISSING;
	r->duration = ttl > 0 ? ttl : SEM_AFD_DURATION_NULL;
	struct sem_afd_cond *c = sem_afd_add_cond(r);
	c->var = AFDV_URL_PATH;
	c->op = AFDO_EQUAL;
	svec_push(&c->values, name, NULL);
}

/* Applies ops to live, checking that no two rules ever share an order; then checks that the
 * result behaves like want in want's order. Returns the write count. */
static size_t simulate(const struct sem_afd_set *live, const struct sem_afd_set *want)
{
	struct afd_op *ops;
	size_t n = afd_plan_writes(live, want, &ops);
	struct sem_afd_set cur = {0};
	for (size_t i = 0; i < live->n; i++)
		sem_afd_rule_copy(sem_afd_add_rule(&cur), &live->rules[i]);
	for (size_t k = 0; k < n; k++) {
		const char *name = ops[k].kind == AFD_OP_DELETE ? live->rules[ops[k].idx].name
								: want->rules[ops[k].idx].name;
		size_t at = cur.n;
		for (size_t i = 0; i < cur.n; i++)
			if (strcasecmp(cur.rules[i].name, name) == 0)
				at = i;
		if (ops[k].kind == AFD_OP_DELETE) {
			assert_true(at < cur.n);
			sem_afd_rule_release(&cur.rules[at]);
			cur.rules[at] = cur.rules[--cur.n];
			continue;
		}
		for (size_t i = 0; i < cur.n; i++)
			if (i != at && cur.rules[i].order == ops[k].order)
				fail_msg("op %zu: order %lld already held by '%s'", k,
					 (long long)ops[k].order, cur.rules[i].name);
		if (at == cur.n)
			sem_afd_add_rule(&cur);
		else
			sem_afd_rule_release(&cur.rules[at]);
		sem_afd_rule_copy(&cur.rules[at], &want->rules[ops[k].idx]);
		cur.rules[at].order = ops[k].order;
		assert_true(ops[k].order >= 1);
	}
	sem_afd_sort(&cur);
	assert_true(afd_set_same(&cur, want));
	for (size_t i = 0; i < cur.n; i++)
		assert_string_equal(cur.rules[i].name, want->rules[i].name);
	sem_afd_set_release(&cur);
	free(ops);
	return n;
}

struct plan_case {
	const char *what;
	const char *live; /* "name:order:ttl ..." */
	const char *want; /* "name:ttl ..." in evaluation order */
	size_t writes;
};

static void parse_set(struct sem_afd_set *s, const char *spec, bool with_order)
{
	char name[32];
	long long a, b;
	int used;
	while (*spec) {
		if (with_order && sscanf(spec, "%31[^:]:%lld:%lld%n", name, &a, &b, &used) == 3)
			add_rule(s, name, a, b);
		else if (!with_order && sscanf(spec, "%31[^:]:%lld%n", name, &b, &used) == 2)
			add_rule(s, name, 0, b);
		else
			fail_msg("bad spec '%s'", spec);
		spec += used;
		spec += strspn(spec, " ");
	}
}

static void test_prov_afd__plan_writes(void **state)
{
	static const struct plan_case cases[] = {
	    {"nothing", "a:10:60 b:20:60 c:30:60", "a:60 b:60 c:60", 0},
	    {"renumbered live, same order", "a:1:60 b:7:60 c:999:60", "a:60 b:60 c:60", 0},
	    {"one TTL of three", "a:10:60 b:20:60 c:30:60", "a:60 b:61 c:60", 1},
	    {"two TTLs of five", "a:10:1 b:20:1 c:30:1 d:40:1 e:50:1", "a:1 b:2 c:1 d:2 e:1", 2},
	    {"insert into a gap", "a:10:60 c:30:60", "a:60 b:60 c:60", 1},
	    {"insert at the front", "a:10:60 b:20:60", "z:60 a:60 b:60", 1},
	    {"append", "a:10:60 b:20:60", "a:60 b:60 z:60", 1},
	    {"delete one", "a:10:60 b:20:60 c:30:60", "a:60 c:60", 1},
	    {"insert between consecutive orders", "a:1:60 b:2:60 c:3:60", "a:60 x:60 b:60 c:60", 3},
	    {"insert before a tight pair", "a:1:60 b:5:60 c:6:60", "a:60 x:60 b:60 c:60", 1},
	    {"swap two", "a:10:60 b:20:60", "b:60 a:60", 1},
	    {"move last to first", "a:10:60 b:20:60 c:30:60", "c:60 a:60 b:60", 1},
	    {"move last to first, no room below", "a:1:60 b:2:60 c:3:60", "c:60 a:60 b:60", 2},
	    {"reverse three", "a:1:60 b:2:60 c:3:60", "c:60 b:60 a:60", 2},
	    {"from empty", "", "a:60 b:60 c:60", 3},
	    {"to empty", "a:1:60 b:2:60", "", 2},
	};
	CF_UNUSED(state);
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct sem_afd_set live = {0}, want = {0};
		parse_set(&live, cases[i].live, true);
		parse_set(&want, cases[i].want, false);
		sem_afd_sort(&live);
		size_t n = simulate(&live, &want);
		if (n != cases[i].writes)
			fail_msg("%s: %zu writes, want %zu", cases[i].what, n, cases[i].writes);
		sem_afd_set_release(&live);
		sem_afd_set_release(&want);
	}
}

/* Random live and desired sets: every sequence is conflict-free and reaches the desired set;
 * a change to R of N rules costs R writes. */
static void test_prov_afd__plan_writes_random(void **state)
{
	unsigned seed = 12345;
	CF_UNUSED(state);
	for (int round = 0; round < 2000; round++) {
		struct sem_afd_set live = {0}, want = {0};
		char name[32];
		size_t n = (size_t)(rand_r(&seed) % 12);
		int64_t order = 0;
		for (size_t i = 0; i < n; i++) {
			order += 1 + rand_r(&seed) % (round % 2 ? 3 : 20);
			snprintf(name, sizeof(name), "r%zu", i);
			add_rule(&live, name, order, 60);
		}
		/* shuffle a subset of names into want, some new, some TTLs changed */
		size_t m = (size_t)(rand_r(&seed) % 12);
		for (size_t j = 0; j < m; j++) {
			snprintf(name, sizeof(name), "r%u", (unsigned)(rand_r(&seed) % 16));
			bool dup = false;
			for (size_t k = 0; k < want.n && !dup; k++)
				dup = strcmp(want.rules[k].name, name) == 0;
			if (!dup)
				add_rule(&want, name, 0, rand_r(&seed) % 4 ? 60 : 61);
		}
		simulate(&live, &want);
		sem_afd_set_release(&live);
		sem_afd_set_release(&want);
	}
	/* R changed of N = 20 with orders 10..200: exactly R writes */
	for (size_t r = 0; r <= 20; r += 2) {
		struct sem_afd_set live = {0}, want = {0};
		char name[32];
		for (size_t i = 0; i < 20; i++) {
			snprintf(name, sizeof(name), "r%zu", i);
			add_rule(&live, name, (int64_t)(i + 1) * 10, 60);
			add_rule(&want, name, 0, i < r ? 120 : 60);
		}
		assert_int_equal(simulate(&live, &want), r);
		sem_afd_set_release(&live);
		sem_afd_set_release(&want);
	}
}

/* ---- semantics ---- */

static void route_of(const struct cache *c, struct sem_afd_route *rt)
{
	memset(rt, 0, sizeof(*rt));
	rt->has_cache = true;
	rt->qs = c->ignore_query_string ? AFDQ_IGNORE : AFDQ_USE;
	struct sem_afd_set *s = sem_afd_add_set(rt, "cacheform");
	afd_compile(c, s);
	for (size_t i = 0; i < s->n; i++)
		s->rules[i].order = (int64_t)(i + 1) * AFD_ORDER_STEP;
}

static const char *const probe_paths[] = {
    "/",	"/a",	       "/a/",	     "/a/b",   "/a/b/x.css",	"/a/x.css",  "/A/x.JS",
    "/b/y.png", "/index.html", "/x.CSS",     "/a.css", "/a/b.js/c",	"/.css",     "/ab/x.png",
    "/a/b/",	"/b",	       "/img/p.PNG", "/A",     "/a/index.html", "/x.tar.gz", "/js",
};

static void random_cache(struct cache *c, unsigned *seed)
{
	static const char *const dirs[] = {"/a", "/a/b", "/b", "/A", "/", "/img/"};
	static const char *const sufs[] = {"css", "JS", "js", "png", "gz"};
	static const char *const paths[] = {"/a", "/a/x.css", "/index.html", "/", "/A/x.JS", "/b"};
	static const int64_t ttls[] = {0, 60, 86400};
	memset(c, 0, sizeof(*c));
	c->ignore_cache_control = rand_r(seed) % 2;
	c->ignore_query_string = rand_r(seed) % 2;
	size_t n = 1 + (size_t)(rand_r(seed) % 6);
	for (size_t i = 0; i < n; i++) {
		struct rule *r = cache_add_rule(c);
		r->kind = (enum rule_kind)(rand_r(seed) % 3);
		r->ttl = ttls[rand_r(seed) % 3];
		r->cc =
		    (enum rule_cc)(rand_r(seed) % 3); /* its own ignore_cache_control, or none */
		const char *const *pool = r->kind == RULE_DIR	   ? dirs
					  : r->kind == RULE_SUFFIX ? sufs
								   : paths;
		size_t np = r->kind == RULE_DIR	     ? CF_ARRAY_LEN(dirs)
			    : r->kind == RULE_SUFFIX ? CF_ARRAY_LEN(sufs)
						     : CF_ARRAY_LEN(paths);
		size_t ni = 1 + (size_t)(rand_r(seed) % 3);
		for (size_t j = 0; j < ni; j++) {
			const char *it = pool[rand_r(seed) % np];
			if (!svec_contains(&r->items, it))
				svec_push(&r->items, it, NULL);
		}
	}
}

/* >= 10,000 random rule lists: compiled for Front Door and evaluated by its semantics, they
 * mean what cacheform's first match means, on every probe path. */
static void test_prov_afd__differential(void **state)
{
	unsigned seed = 4242;
	size_t disagreements = 0, checked = 0;
	CF_UNUSED(state);
	for (int k = 0; k < DIFF_LISTS; k++) {
		struct cache c;
		struct sem_afd_route rt;
		random_cache(&c, &seed);
		route_of(&c, &rt);
		for (size_t i = 0; i < CF_ARRAY_LEN(probe_paths); i++) {
			struct sem_afd_result want, got;
			sem_afd_desired(&c, probe_paths[i], &want);
			sem_afd_eval(&rt, probe_paths[i], &got);
			checked++;
			if (!sem_afd_same(&want, &got)) {
				if (disagreements++ < 3)
					print_message("disagree on %s: mode %d/%d ttl %lld/%lld\n",
						      probe_paths[i], want.mode, got.mode,
						      (long long)want.ttl, (long long)got.ttl);
			}
		}
		sem_afd_route_release(&rt);
		cache_release(&c);
	}
	print_message("differential: %d lists, %zu paths, %zu disagreements\n", DIFF_LISTS, checked,
		      disagreements);
	assert_int_equal(disagreements, 0);
}

static void test_prov_afd__semantics(void **state)
{
	struct sem_afd_route rt = {0};
	struct sem_afd_result r;
	CF_UNUSED(state);
	rt.has_cache = true;
	struct sem_afd_set *a = sem_afd_add_set(&rt, "first");
	add_rule(a, "x.html", 1, 60);	/* UrlPath Equal "x.html" */
	add_rule(a, "/x.html", 2, 120); /* leading '/' ignored: also matches */
	sem_afd_eval(&rt, "/x.html", &r);
	assert_int_equal(r.mode, AFDM_IF_MISSING);
	assert_int_equal(r.ttl, 120);  /* all matching rules run; the later one wins */
	a->rules[1].has_cache = false; /* an override without cacheConfiguration */
	sem_afd_eval(&rt, "/x.html", &r);
	assert_int_equal(r.mode, AFDM_BYPASS);
	a->rules[0].stop = true; /* Stop: later rules and rule sets do not run */
	struct sem_afd_set *b = sem_afd_add_set(&rt, "second");
	add_rule(b, "x.html", 1, 999);
	sem_afd_eval(&rt, "/x.html", &r);
	assert_int_equal(r.ttl, 60);
	assert_int_equal(r.stop_set, 0);
	sem_afd_eval(&rt, "/y.html", &r); /* no rule: the route's cacheConfiguration */
	assert_int_equal(r.mode, AFDM_ORIGIN);
	rt.has_cache = false;
	sem_afd_eval(&rt, "/y.html", &r);
	assert_int_equal(r.mode, AFDM_BYPASS);
	sem_afd_route_release(&rt);
}

/* A foreign rule set before cacheform's with Stop: plan names the paths it takes over. */
static void test_prov_afd__foreign_stop_noted(void **state)
{
	struct fx *f = *state;
	static const char route2[] =
	    "{\"properties\":{\"cacheConfiguration\":{\"queryStringCachingBehavior\":"
	    "\"IgnoreQueryString\"},\"ruleSets\":[{\"id\":\"" PROF
	    "/ruleSets/legacy\"},{\"id\":\"" OWNED "\"}]}}";
	static const char legacy_rules[] = "{\"value\":[" RULE(
	    "noimg", 1, ",\"matchProcessingBehavior\":\"Stop\"",
	    PATHC("BeginsWith", "\"/img/\"", ""),
	    OVR(CC("HonorOrigin", "null"))) "," RULE("api", 2, "",
						     PATHC("BeginsWith", "\"api/\"", ""),
						     OVR(CC("HonorOrigin", "\"00:00:00\""))) "]}";
	struct live_state ls;
	struct cf_err e;
	memset(&ls, 0, sizeof(ls));
	assert_int_equal(fx_read(f, 200, route2, &ls, &e), PROV_MORE);
	assert_int_equal(fx_read(f, 200, set_plain, &ls, &e), PROV_MORE);
	assert_int_equal(fx_read(f, 200, rules_canonical, &ls, &e), PROV_MORE);
	assert_int_equal(fx_read(f, 200, set_plain, &ls, &e), PROV_MORE); /* legacy */
	assert_int_equal(fx_read(f, 200, legacy_rules, &ls, &e), 0);
	assert_null(ls.inexact);
	assert_true(prov_cache_matches(&ls, &f->ep.cache));
	/* one note naming the rule set, the rule and the paths; not a foreign rule */
	assert_int_equal(ls.notes.n, 1);
	assert_non_null(strstr(ls.notes.v[0].s, "rule set 'legacy', rule 'noimg' (order 1) stops "
						"evaluation before cacheform's rule set runs"));
	assert_non_null(strstr(ls.notes.v[0].s, "/img/"));
	for (size_t i = 0; i < ls.nforeign; i++)
		assert_null(strstr(ls.foreign[i].name, "noimg:"));
	live_state_release(&ls);
}

static void test_prov_afd__purge(void **state)
{
	struct fx *f = *state;
	struct purge p = {0};
	struct purge_batch *b;
	struct http_req req;
	struct cf_err e;
	char path[32];
	for (int i = 0; i < 150; i++) {
		snprintf(path, sizeof(path), "/f%d.png", i);
		svec_push(&p.files, path, NULL);
	}
	svec_push(&p.dirs, "https://www.example.com/img/", NULL);
	size_t n = f->ops->split(&f->ep, &p, &b);
	assert_int_equal(n, 2);
	assert_int_equal(b[0].files.n + b[0].dirs.n, AFD_PURGE_PATHS);
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &b[1], &req, &e), 0);
	assert_string_equal(req.url, BASE PROF "/afdEndpoints/web/purge?api-version=2026-07-01");
	assert_non_null(strstr(req.body, "\"/img/*\""));
	assert_non_null(strstr(req.body, "\"domains\":[\"www.example.com\"]"));
	http_req_release(&req);
	fx_batches_release(b, n);
	fx_purge_release(&p);
}

static void test_prov_afd__china_cloud(void **state)
{
	struct fx *f = *state;
	struct prov_account *pa;
	struct http_req req;
	struct cf_err e;
	fx_lit(&f->a.cloud, "china");
	mval_release(&f->a.base_url);
	assert_int_equal(f->ops->account_open(&f->a, NULL, &pa, &e), 0);
	assert_string_equal(pa->base_url, AFD_CHINA_ARM);
	assert_string_equal(pa->login_url, AFD_CHINA_LOGIN);
	assert_int_equal(prov_azure_token_req(pa, &req, &e), 0);
	assert_non_null(
	    strstr(req.body, "scope=https%3A%2F%2Fmanagement.chinacloudapi.cn%2F.default"));
	assert_string_equal(req.url, AFD_CHINA_LOGIN "/tenant-1/oauth2/v2.0/token");
	http_req_release(&req);
	f->ops->account_close(pa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_prov_afd__read_requests),	FX_TEST(test_prov_afd__golden_no_change),
	    FX_TEST(test_prov_afd__durations),		FX_TEST(test_prov_afd__differences_seen),
	    FX_TEST(test_prov_afd__write_counts),	FX_TEST(test_prov_afd__batch_body),
	    FX_TEST(test_prov_afd__plan_writes),	FX_TEST(test_prov_afd__plan_writes_random),
	    FX_TEST(test_prov_afd__semantics),		FX_TEST(test_prov_afd__differential),
	    FX_TEST(test_prov_afd__foreign_stop_noted), FX_TEST(test_prov_afd__purge),
	    FX_TEST(test_prov_afd__china_cloud),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
