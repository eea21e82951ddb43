/* Unit tests: cdnpro driver — purge/prefetch batching and bodies, Location tasks, status,
 * quota, signing. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/provider.h"
#include "reconcile/rulediff.h"
#include "reconcile/sign.h"
#include "tests/unit/prov_fixture.h"

#define BASE "http://127.0.0.1:8099"

static int setup(void **state)
{
	struct fx *f = fx_new(PROV_CDNPRO, "pro", BASE, "dl", "dl.example.com|cdn.example.com");
	fx_lit(&f->a.user, "alice");
	fx_lit(&f->a.api_key, "k3y");
	f->ep.mode = MODE_PURGE_ONLY;
	f->ep.remote.target.s = xstrdup("production");
	f->ep.scheme.s = xstrdup("http");
	if (fx_open(f, state) != 0)
		return -1;
	f->pa->fixed_now = 1337283478; /* Thu, 17 May 2012 19:37:58 GMT */
	return 0;
}

static void test_prov_cdnpro__capabilities(void **state)
{
	struct fx *f = *state;
	/* cache rules through Edge Logic: multi-request reads and writes */
	assert_non_null(f->ops->read_next);
	assert_non_null(f->ops->write_next);
	assert_non_null(f->ops->quota_req);
	assert_int_equal(f->ops->max_files, 1000);
	assert_int_equal(f->ops->max_dirs, 20);
	assert_int_equal(f->ops->max_regex, 2);
	struct prov_account *pa;
	struct cf_err e;
	mval_release(&f->a.api_key);
	assert_int_equal(f->ops->account_open(&f->a, NULL, &pa, &e), CF_EINVAL);
	assert_non_null(strstr(e.msg, "api_key"));
	fx_lit(&f->a.api_key, "k3y");
}

#define PROP "5dca2205f9e9cc0001df7b33"

static const char version_3[] =
    "{\"version\":3,\"configs\":{\"hostnames\":[\"dl.example.com\"],\"origins\":[{\"name\":"
    "\"o1\",\"servers\":[\"1.2.3.4\"]}],\"edgeLogic\":\"location / { origin_pass o1; }\\n\","
    "\"syntaxVersion\":1}}";

static const char versions_with_draft[] =
    "{\"count\":5,\"propertyVersions\":[{\"version\":5,\"frozen\":false,"
    "\"description\":\"cacheform draft base=3 region=00\",\"lastUpdateTime\":"
    "\"2026-11-21T12:00:42Z\"},{\"version\":4,\"frozen\":true},{\"version\":3,"
    "\"frozen\":true,\"description\":\"cacheform draft\"}]}";

/* read: property, versions (that list), the version deployed to the target */
static void read_property_list(struct fx *f, struct live_state *ls, const char *versions,
			       const char *version_body);

static void read_property(struct fx *f, struct live_state *ls, const char *version_body)
{
	read_property_list(f, ls, versions_with_draft, version_body);
}

static void read_property_list(struct fx *f, struct live_state *ls, const char *versions,
			       const char *version_body)
{
	struct http_req req;
	struct cf_err e;
	memset(ls, 0, sizeof(*ls));
	assert_int_equal(f->ops->read_req(f->pa, &f->ep, &req, &e), 0);
	assert_string_equal(req.url, BASE "/cdn/properties/" PROP);
	http_req_release(&req);
	assert_int_equal(
	    fx_read(f, 200, "{\"versionInProduction\":3,\"versionInStaging\":4}", ls, &e),
	    PROV_MORE);
	ls->step++;
	assert_int_equal(f->ops->read_next(f->pa, &f->ep, ls, &req, &e), 0);
	assert_string_equal(req.url, BASE "/cdn/properties/" PROP
					  "/versions?sortBy=version&sortOrder=desc&limit=200");
	http_req_release(&req);
	assert_int_equal(fx_read(f, 200, versions, ls, &e), PROV_MORE);
	ls->step++;
	assert_int_equal(f->ops->read_next(f->pa, &f->ep, ls, &req, &e), 0);
	assert_string_equal(req.url, BASE "/cdn/properties/" PROP "/versions/3");
	http_req_release(&req);
	int rc = fx_read(f, 200, version_body, ls, &e);
	if (rc == PROV_MORE) {
		/* the account's first production read also reads the service quota, once */
		ls->step++;
		assert_int_equal(f->ops->read_next(f->pa, &f->ep, ls, &req, &e), 0);
		assert_string_equal(req.url, BASE "/cdn/serviceQuotas/customer/me");
		http_req_release(&req);
		rc = fx_read(f, 404, "{\"allowProduction\":false}", ls, &e);
	}
	if (rc != 0)
		fail_msg("%s", e.msg);
}

static void test_prov_cdnpro__edge_logic_lifecycle(void **state)
{
	struct fx *f = *state;
	struct live_state ls;
	struct http_req req;
	struct http_resp resp;
	struct task t;
	struct cf_err e;
	f->ep.mode = MODE_MANAGE;
	f->ep.remote.property_id.s = xstrdup(PROP);
	fx_rule(&f->ep.cache, RULE_DIR, 86400, "/img/");
	f->ep.cache.ignore_query_string = true;

	read_property(f, &ls, version_3);
	assert_true(ls.exists);
	assert_non_null(strstr(ls.inexact, "no cacheform region"));
	assert_false(prov_cache_matches(&ls, &f->ep.cache));

	/* write 0: PATCH our undeployed draft (5), guarded by its last update */
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, &ls, &req, &e), 0);
	assert_string_equal(req.method, "PATCH");
	assert_string_equal(req.url, BASE "/cdn/properties/" PROP "/versions/5");
	assert_string_equal(fx_req_header(&req, "If-Unmodified-Since"),
			    "Sat, 21 Nov 2026 12:00:42 GMT");
	assert_non_null(strstr(req.body, "\"description\":\"cacheform draft base=3 region="));
	assert_non_null(strstr(req.body, "location ~ \\\"^/img/\\\""));
	/* the foreign default location is kept, and none is added */
	assert_non_null(strstr(req.body, "# cacheform:end\\nlocation / { origin_pass o1; }\\n"));
	assert_null(strstr(req.body, "location / {\\n  origin_pass"));
	http_req_release(&req);
	fx_resp(&resp, 204, NULL);
	assert_int_equal(f->ops->write_parse(&f->ep, &resp, &t, &e), 0);
	assert_int_equal(t.state, TASK_SUCCEEDED);
	assert_null(t.id);
	http_resp_release(&resp);
	/* the next step is this endpoint's own (validation), not the shared deployment */
	char key[64];
	ls.wstep = 1;
	assert_null(f->ops->write_join(&f->ep, &ls, key, sizeof(key)));

	/* write 1: validate version 5; the task is polled under base_url by its id */
	assert_int_equal(f->ops->write_next(f->pa, &f->ep, &ls, &req, &e), PROV_MORE);
	assert_string_equal(req.url, BASE "/cdn/validations");
	assert_string_equal(req.body, "{\"propertyId\":\"" PROP "\",\"version\":5}");
	http_req_release(&req);
	fx_resp(&resp, 201, NULL);
	fx_resp_header(&resp, "Location", "https://ngapi.example.net/cdn/validations/6a1b2c");
	assert_int_equal(f->ops->write_parse(&f->ep, &resp, &t, &e), 0);
	assert_int_equal(t.state, TASK_RUNNING);
	http_resp_release(&resp);
	assert_int_equal(f->ops->poll_req(f->pa, &f->ep, &t, &req, &e), 0);
	assert_string_equal(req.url, BASE "/cdn/validations/6a1b2c");
	http_req_release(&req);
	assert_int_equal(fx_poll(f, 200, "{\"status\":\"in progress\"}", &t, &e), 0);
	assert_int_equal(t.state, TASK_RUNNING);
	assert_int_equal(fx_poll(f, 200,
				 "{\"status\":\"failed\",\"statusDetails\":\"invalid number of "
				 "arguments in \\\"expires\\\" directive\"}",
				 &t, &e),
			 0);
	assert_int_equal(t.state, TASK_FAILED);
	assert_string_equal(t.message, "invalid number of arguments in \"expires\" directive");
	task_release(&t);

	/* write 2: the deployment to the endpoint's target is a step shared by the account's
	 * endpoints (apply sends it once for all); alone it is the same single task */
	ls.wstep = 2;
	assert_string_equal(f->ops->write_join(&f->ep, &ls, key, sizeof(key)), "deploy production");
	assert_int_equal(f->ops->write_next(f->pa, &f->ep, &ls, &req, &e), PROV_MORE);
	assert_string_equal(req.url, BASE "/cdn/deploymentTasks");
	assert_string_equal(req.body,
			    "{\"name\":\"cacheform\",\"target\":\"production\",\"actions\":[{"
			    "\"action\":\"deploy_property\",\"propertyId\":\"" PROP
			    "\",\"version\":5}]}");
	http_req_release(&req);
	ls.wstep = 3;
	assert_int_equal(f->ops->write_next(f->pa, &f->ep, &ls, &req, &e), 0);
	assert_null(req.url);
	live_state_release(&ls);

	/* the confirming read: the deployed region is exactly the compiled rules */
	struct sb v;
	sb_init(&v, SB_DEFAULT_MAX);
	{
		struct live_state tmp;
		read_property(f, &tmp, version_3);
		assert_int_equal(f->ops->write_req(f->pa, &f->ep, &tmp, &req, &e), 0);
		/* the PATCH body's configs, as the version would now read */
		sb_addf(&v, "{\"version\":3,\"configs\":%s}", req.body);
		http_req_release(&req);
		live_state_release(&tmp);
	}
	read_property(f, &ls, v.buf);
	assert_null(ls.inexact);
	assert_true(prov_cache_matches(&ls, &f->ep.cache));
	live_state_release(&ls);
	sb_release(&v);

	cache_release(&f->ep.cache);
	f->ep.mode = MODE_PURGE_ONLY;
}

/* A 412 on the draft's PATCH re-reads the draft once and PATCHes with its new date; a second
 * 412 is a conflict. A POST's Location names the version validated and deployed. */
static void test_prov_cdnpro__edge_logic_412_and_location(void **state)
{
	struct fx *f = *state;
	struct live_state ls;
	struct http_req req;
	struct http_resp resp;
	struct task t;
	struct cf_err e;
	f->ep.mode = MODE_MANAGE;
	f->ep.remote.property_id.s = xstrdup(PROP);
	fx_rule(&f->ep.cache, RULE_DIR, 86400, "/img/");
	read_property(f, &ls, version_3);

	assert_int_equal(f->ops->write_req(f->pa, &f->ep, &ls, &req, &e), 0);
	assert_string_equal(req.method, "PATCH");
	http_req_release(&req);
	fx_resp(&resp, 412, "{\"code\":\"PreconditionFailed\",\"message\":\"modified\"}");
	assert_int_equal(f->ops->write_parse(&f->ep, &resp, &t, &e), 0);
	assert_int_equal(t.state, TASK_SUCCEEDED);
	http_resp_release(&resp);
	/* re-read the draft */
	ls.wstep = 1;
	ls.wprev_id = t.id;
	assert_null(f->ops->write_join(&f->ep, &ls, (char[64]){0}, 64));
	assert_int_equal(f->ops->write_next(f->pa, &f->ep, &ls, &req, &e), PROV_MORE);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.url, BASE "/cdn/properties/" PROP "/versions/5");
	http_req_release(&req);
	task_release(&t);
	fx_resp(&resp, 200, version_3);
	fx_resp_header(&resp, "Last-Modified", "Sun, 22 Nov 2026 08:00:00 GMT");
	assert_int_equal(f->ops->write_parse(&f->ep, &resp, &t, &e), 0);
	http_resp_release(&resp);
	/* PATCH again with the new date */
	ls.wstep = 2;
	ls.wprev_id = t.id;
	assert_int_equal(f->ops->write_next(f->pa, &f->ep, &ls, &req, &e), PROV_MORE);
	assert_string_equal(req.method, "PATCH");
	assert_string_equal(fx_req_header(&req, "If-Unmodified-Since"),
			    "Sun, 22 Nov 2026 08:00:00 GMT");
	http_req_release(&req);
	task_release(&t);
	/* a second 412: a conflict, said once */
	fx_resp(&resp, 412, "{\"code\":\"PreconditionFailed\",\"message\":\"modified\"}");
	assert_int_equal(f->ops->write_parse(&f->ep, &resp, &t, &e), 0);
	http_resp_release(&resp);
	ls.wstep = 3;
	ls.wprev_id = t.id;
	assert_int_equal(f->ops->write_next(f->pa, &f->ep, &ls, &req, &e), CF_ECONFLICT);
	assert_non_null(strstr(e.msg, "changed again after it was re-read"));
	task_release(&t);
	ls.wprev_id = NULL;
	live_state_release(&ls);

	/* no draft: POST a new version; the validation takes the Location's number (9), not the
	 * guess (newest + 1 = 6) */
	read_property_list(f, &ls,
			   "{\"count\":2,\"propertyVersions\":[{\"version\":5,\"frozen\":true},"
			   "{\"version\":3,\"frozen\":true}]}",
			   version_3);
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, &ls, &req, &e), 0);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, BASE "/cdn/properties/" PROP "/versions");
	assert_null(fx_req_header(&req, "If-Unmodified-Since"));
	http_req_release(&req);
	fx_resp(&resp, 201, NULL);
	fx_resp_header(&resp, "Location",
		       "https://ngapi.example.net/cdn/properties/" PROP "/versions/9");
	assert_int_equal(f->ops->write_parse(&f->ep, &resp, &t, &e), 0);
	assert_string_equal(t.id, "9");
	http_resp_release(&resp);
	ls.wstep = 1;
	ls.wprev_id = t.id;
	assert_int_equal(f->ops->write_next(f->pa, &f->ep, &ls, &req, &e), PROV_MORE);
	assert_string_equal(req.body, "{\"propertyId\":\"" PROP "\",\"version\":9}");
	http_req_release(&req);
	task_release(&t);
	ls.wprev_id = NULL;
	live_state_release(&ls);
	cache_release(&f->ep.cache);
	f->ep.mode = MODE_PURGE_ONLY;
}

/* plan's view of the region: its unified diff while it differs, and one note per foreign
 * location that takes paths from the YAML's meaning, naming nginx's step. */
static void test_prov_cdnpro__edge_logic_diff_and_foreign(void **state)
{
	static const char version_foreign[] =
	    "{\"version\":3,\"configs\":{\"hostnames\":[\"dl.example.com\"],\"origins\":[{"
	    "\"name\":\"o1\",\"servers\":[\"1.2.3.4\"]}],\"edgeLogic\":\"location ^~ /img/old/ "
	    "{ proxy_cache_valid 5m; origin_pass o1; }\\nlocation = /img/a.png { return 404; }\\n"
	    "location / { origin_pass o1; }\\n\",\"syntaxVersion\":1}}";
	struct fx *f = *state;
	struct live_state ls;
	f->ep.mode = MODE_MANAGE;
	f->ep.remote.property_id.s = xstrdup(PROP);
	fx_rule(&f->ep.cache, RULE_DIR, 86400, "/img/");
	fx_rule(&f->ep.cache, RULE_PATH, 0, "/img/a.png");
	read_property(f, &ls, version_foreign);
	assert_non_null(ls.text_diff);
	/* no region yet: every line of the region is added */
	assert_true(strncmp(ls.text_diff, "@@ -0,0 +1,", 11) == 0);
	assert_non_null(strstr(ls.text_diff, "\n+# cacheform:begin v1 sha256="));
	assert_non_null(strstr(ls.text_diff, "\n+location ~ \"^/img/\" {\n"));
	assert_null(strstr(ls.text_diff, "\n-"));
	size_t prefix = 0, exact = 0;
	for (size_t i = 0; i < ls.notes.n; i++) {
		const char *n = ls.notes.v[i].s;
		if (strstr(n, "foreign location '^~ /img/old/' (Edge Logic line 1) takes "
			      "/img/old/cf~probe") &&
		    strstr(n, "(^~ prefix)"))
			prefix++;
		/* the exact location returns 404 (no cache directive: origin) while the YAML
		 * bypasses the cache: both do not store, but the meaning differs */
		if (strstr(n,
			   "foreign location '= /img/a.png' (Edge Logic line 2) takes /img/a.png "
			   "(exact match)"))
			exact++;
	}
	if (prefix != 1 || exact != 1) {
		for (size_t i = 0; i < ls.notes.n; i++)
			print_message("note: %s\n", ls.notes.v[i].s);
		fail_msg("prefix %zu exact %zu", prefix, exact);
	}
	live_state_release(&ls);

	/* the region in place and equal to the rules: no diff, the notes stay */
	struct http_req req;
	struct cf_err e;
	struct sb v;
	sb_init(&v, SB_DEFAULT_MAX);
	read_property(f, &ls, version_foreign);
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, &ls, &req, &e), 0);
	sb_addf(&v, "{\"version\":3,\"configs\":%s}", req.body);
	http_req_release(&req);
	live_state_release(&ls);
	read_property(f, &ls, v.buf);
	assert_null(ls.inexact);
	assert_null(ls.text_diff);
	assert_int_equal(ls.notes.n, 2);
	live_state_release(&ls);
	/* one TTL changed: the diff is that one line */
	f->ep.cache.rules[0].ttl = 2 * 86400;
	read_property(f, &ls, v.buf);
	assert_non_null(ls.text_diff);
	assert_non_null(
	    strstr(ls.text_diff, "\n-  proxy_cache_valid 1d;\n+  proxy_cache_valid 2d;\n"));
	live_state_release(&ls);
	sb_release(&v);
	cache_release(&f->ep.cache);
	f->ep.mode = MODE_PURGE_ONLY;
}

/* s with its first from replaced by to (caller frees); the test fails when s has none. */
static char *replaced(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	struct sb sb;
	if (!at)
		fail_msg("no '%s' in %s", from, s);
	sb_init(&sb, SB_DEFAULT_MAX);
	sb_add(&sb, s, (size_t)(at - s));
	sb_adds(&sb, to);
	sb_adds(&sb, at + strlen(from));
	return sb_detach(&sb);
}

/* The live rules read back from a region cacheform wrote, when the YAML moved on: the rule
 * diff is the one changed TTL; a region not exactly as cacheform writes it in this
 * property's context (another origin, a `location /` gone) is said, with no rules. */
static void test_prov_cdnpro__edge_logic_live_rules(void **state)
{
	static const char version_foreign[] =
	    "{\"version\":3,\"configs\":{\"hostnames\":[\"dl.example.com\"],\"origins\":[{"
	    "\"name\":\"o1\",\"servers\":[\"1.2.3.4\"]}],\"edgeLogic\":\"location ^~ /img/old/ "
	    "{ proxy_cache_valid 5m; origin_pass o1; }\\nlocation / { origin_pass o1; }\\n\","
	    "\"syntaxVersion\":1}}";
	struct fx *f = *state;
	struct live_state ls;
	struct http_req req;
	struct cf_err e;
	struct cache written;
	struct cache_diff d;
	f->ep.mode = MODE_MANAGE;
	f->ep.remote.property_id.s = xstrdup(PROP);
	fx_rule(&f->ep.cache, RULE_DIR, 86400, "/img/,/doc");
	fx_rule(&f->ep.cache, RULE_SUFFIX, 30 * 86400, "jpg,png");
	fx_rule(&f->ep.cache, RULE_PATH, 0, "/index.html");
	f->ep.cache.ignore_query_string = true;
	cache_copy(&written, &f->ep.cache);
	read_property(f, &ls, version_foreign);
	assert_int_equal(f->ops->write_req(f->pa, &f->ep, &ls, &req, &e), 0);
	live_state_release(&ls);
	struct sb v;
	sb_init(&v, SB_DEFAULT_MAX);
	sb_addf(&v, "{\"version\":3,\"configs\":%s}", req.body);
	http_req_release(&req);

	/* one TTL changed in the YAML: the live rules are the written ones, the diff one line */
	f->ep.cache.rules[0].ttl = 2 * 86400;
	read_property(f, &ls, v.buf);
	assert_null(ls.inexact);
	assert_true(cache_equal(&ls.cache, &written));
	assert_false(prov_cache_matches(&ls, &f->ep.cache));
	assert_non_null(ls.text_diff);
	assert_int_equal(rulediff_cache(&f->ep.cache, &ls.cache, &d, &e), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.nchange, 1);
	assert_int_equal(d.nsame, 2);
	assert_int_equal(d.v[0].fields, RULEDIFF_F_TTL);
	cache_diff_release(&d);
	live_state_release(&ls);

	static const struct {
		const char *from, *to, *why;
	} cases[] = {
	    {"\"name\":\"o1\"", "\"name\":\"o2\"",
	     "the cacheform region passes to origin 'o1', not to the property's first origin 'o2'"},
	    {"location / { origin_pass o1; }", "location /x/ { origin_pass o1; }",
	     "the cacheform region has no 'location /' and Edge Logic has none outside it"},
	    {"proxy_cache_valid 1d;", "proxy_cache_valid 24h;", "edited by hand (hash mismatch)"},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		char *body = replaced(v.buf, cases[i].from, cases[i].to);
		read_property(f, &ls, body);
		if (!ls.inexact || !strstr(ls.inexact, cases[i].why))
			fail_msg("case %zu: %s", i, ls.inexact ? ls.inexact : "(exact)");
		assert_int_equal(ls.cache.nrules, 0);
		live_state_release(&ls);
		free(body);
	}
	sb_release(&v);
	cache_release(&written);
	cache_release(&f->ep.cache);
	f->ep.mode = MODE_PURGE_ONLY;
}

/* The semantics module's view: the live Edge Logic (foreign locations too) as live.sem, the
 * Edge Logic the write stores as prov_sem_write's, compared on paths both mention. */
static void test_prov_cdnpro__edge_logic_sem(void **state)
{
	static const char version_foreign[] =
	    "{\"version\":3,\"configs\":{\"hostnames\":[\"dl.example.com\"],\"origins\":[{"
	    "\"name\":\"o1\",\"servers\":[\"1.2.3.4\"]}],\"edgeLogic\":\"location ^~ /img/old/ "
	    "{ proxy_cache_valid 5m; origin_pass o1; }\\nlocation ~* \\\"\\\\\\\\.gif$\\\" { "
	    "proxy_no_cache 1; proxy_cache_bypass 1; origin_pass o1; }\\nlocation / { origin_pass "
	    "o1; }\\n\",\"syntaxVersion\":1}}";
	static const struct {
		const char *path;
		enum sem_mode before, after;
		int64_t ttl_before, ttl_after;
	} cases[] = {
	    {"/img/a.png", SEM_ORIGIN, SEM_IF_MISSING, 0, 86400},
	    {"/img/old/a.png", SEM_IF_MISSING, SEM_IF_MISSING, 300, 300}, /* ^~ keeps it */
	    {"/img/a.gif", SEM_BYPASS, SEM_IF_MISSING, 0, 86400}, /* the region comes first */
	    {"/x.html", SEM_ORIGIN, SEM_ORIGIN, 0, 0},
	};
	struct fx *f = *state;
	struct live_state ls;
	struct sem_cfg after;
	struct prov_behaviour b;
	struct cf_err e;
	f->ep.mode = MODE_MANAGE;
	f->ep.remote.property_id.s = xstrdup(PROP);
	fx_rule(&f->ep.cache, RULE_DIR, 86400, "/img/");
	read_property(f, &ls, version_foreign);
	assert_int_equal(ls.sem.kind, SEM_CDNPRO);
	assert_int_equal(prov_sem_write(&f->ep, &ls, &after, &e), 0);
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct sem_result rb, ra;
		sem_eval(&ls.sem, cases[i].path, &rb);
		sem_eval(&after, cases[i].path, &ra);
		if (rb.mode != cases[i].before || ra.mode != cases[i].after ||
		    rb.ttl != cases[i].ttl_before || ra.ttl != cases[i].ttl_after)
			fail_msg("%s: %d/%lld -> %d/%lld", cases[i].path, rb.mode,
				 (long long)rb.ttl, ra.mode, (long long)ra.ttl);
	}
	/* the foreign locations' paths are probed: /img/old/ is among them */
	struct sem_probe pr;
	struct svec paths = {0};
	memset(&pr, 0, sizeof(pr));
	sem_probe_add_cfg(&pr, &ls.sem);
	sem_probe_paths(&pr, &paths);
	assert_true(svec_contains(&paths, "/img/old/cf~probe"));
	assert_true(svec_contains(&paths, "/cf~probe.gif"));
	svec_release(&paths);
	sem_probe_release(&pr);
	sem_cfg_release(&after);
	prov_behaviour_compare(&f->ep, &ls, &b);
	assert_int_equal(b.same, 0);
	assert_non_null(b.path);
	assert_int_equal(b.after.mode, SEM_IF_MISSING);
	assert_int_equal(b.after.ttl, 86400);
	prov_behaviour_release(&b);
	/* a purge-only endpoint has no Edge Logic of cacheform's to evaluate */
	f->ep.mode = MODE_PURGE_ONLY;
	assert_int_equal(prov_sem_write(&f->ep, &ls, &after, &e), CF_EINVAL);
	assert_int_equal(prov_sem_write(&f->ep, NULL, &after, &e), CF_EINVAL);
	live_state_release(&ls);
	cache_release(&f->ep.cache);
}

/* The service quota, read once per account: only a quota that is set and says
 * allowProduction: false refuses production endpoints in plan (write_check). */
static void test_prov_cdnpro__edge_logic_allow_production(void **state)
{
	static const struct {
		long status;
		const char *body, *target;
		bool refused;
	} cases[] = {
	    {200, "{\"allowProduction\":false}", "production", true},
	    {200, "{\"allowProduction\":true}", "production", false},
	    {200, "{\"allowProduction\":false}", "staging", false},
	    {404, "{\"allowProduction\":false}", "production", false}, /* no quota set */
	    {403, "{\"code\":\"AccessDenied\",\"message\":\"no\"}", "production", false},
	    {200, "{}", "production", false},
	    {200, "not json", "production", false},
	};
	struct fx *f = *state;
	f->ep.mode = MODE_MANAGE;
	f->ep.remote.property_id.s = xstrdup(PROP);
	fx_rule(&f->ep.cache, RULE_DIR, 86400, "/img/");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct live_state ls;
		struct http_req req;
		struct cf_err e;
		f->pa->el_quota_claimed = false;
		/* the quota is read on a production read; staging endpoints then use it */
		read_property_list(f, &ls, versions_with_draft, version_3);
		assert_true(f->pa->el_quota_claimed);
		live_state_release(&ls);
		f->pa->el_quota_claimed = false;
		memset(&ls, 0, sizeof(ls));
		assert_int_equal(f->ops->read_req(f->pa, &f->ep, &req, &e), 0);
		http_req_release(&req);
		assert_int_equal(fx_read(f, 200, "{\"versionInProduction\":3}", &ls, &e),
				 PROV_MORE);
		ls.step++;
		assert_int_equal(f->ops->read_next(f->pa, &f->ep, &ls, &req, &e), 0);
		http_req_release(&req);
		assert_int_equal(fx_read(f, 200, versions_with_draft, &ls, &e), PROV_MORE);
		ls.step++;
		assert_int_equal(f->ops->read_next(f->pa, &f->ep, &ls, &req, &e), 0);
		http_req_release(&req);
		assert_int_equal(fx_read(f, 200, version_3, &ls, &e), PROV_MORE);
		ls.step++;
		assert_int_equal(f->ops->read_next(f->pa, &f->ep, &ls, &req, &e), 0);
		http_req_release(&req);
		assert_int_equal(fx_read(f, cases[i].status, cases[i].body, &ls, &e), 0);
		free(f->ep.remote.target.s);
		f->ep.remote.target.s = xstrdup(cases[i].target);
		int rc = f->ops->write_check(&f->ep, &ls, &e);
		if ((rc != 0) != cases[i].refused)
			fail_msg("case %zu: write_check %d", i, rc);
		if (rc != 0)
			assert_non_null(strstr(e.msg, "allowProduction: false"));
		free(f->ep.remote.target.s);
		f->ep.remote.target.s = xstrdup("production");
		live_state_release(&ls);
	}
	cache_release(&f->ep.cache);
	f->ep.mode = MODE_PURGE_ONLY;
}

/* Refused writes say what to do; other answers are kept as the API gave them. */
static void test_prov_cdnpro__edge_logic_refusals(void **state)
{
	static const struct {
		long status;
		const char *target, *body, *want, *not_want;
	} cases[] = {
	    {403, "production", "{\"code\":\"AccessDenied\",\"message\":\"denied\"}",
	     "allowProduction", NULL},
	    {403, "staging", "{\"code\":\"AccessDenied\",\"message\":\"denied\"}", "denied",
	     "allowProduction"},
	    {403, "production", "{\"code\":\"TooManyVersions\",\"message\":\"max\"}",
	     "TooManyVersions", "allowProduction"},
	    {400, "production",
	     "{\"code\":\"UnauthorizedDirective\",\"message\":\"The directive "
	     "'origin_fast_route' is not enabled\"}",
	     "allowedCacheDirectives", NULL},
	    {400, "production", "{\"code\":\"InvalidDirective\",\"message\":\"bad\"}",
	     "InvalidDirective", "allowedCacheDirectives"},
	};
	struct fx *f = *state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_resp resp;
		struct task t;
		struct cf_err e;
		free(f->ep.remote.target.s);
		f->ep.remote.target.s = xstrdup(cases[i].target);
		fx_resp(&resp, cases[i].status, cases[i].body);
		assert_true(f->ops->write_parse(&f->ep, &resp, &t, &e) < 0);
		if (!strstr(e.msg, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].want);
		if (cases[i].not_want && strstr(e.msg, cases[i].not_want))
			fail_msg("case %zu: '%s' has '%s'", i, e.msg, cases[i].not_want);
		http_resp_release(&resp);
	}
	free(f->ep.remote.target.s);
	f->ep.remote.target.s = xstrdup("production");
}

/* The shared deployment: one task, one deploy_property action per property, in order. */
static void test_prov_cdnpro__edge_logic_join(void **state)
{
	struct fx *f = *state;
	struct live_state ls[3];
	struct endpoint eps[3];
	const struct endpoint *ep_of[3];
	const struct live_state *ls_of[3];
	static const char *const props[] = {"5dca2205f9e9cc0001df7b31", "5dca2205f9e9cc0001df7b32",
					    "5dca2205f9e9cc0001df7b33"};
	struct http_req req;
	struct cf_err e;
	f->ep.mode = MODE_MANAGE;
	f->ep.remote.property_id.s = xstrdup(PROP);
	fx_rule(&f->ep.cache, RULE_DIR, 86400, "/img/");
	for (size_t i = 0; i < 3; i++) {
		read_property(f, &ls[i], version_3);
		assert_int_equal(f->ops->write_req(f->pa, &f->ep, &ls[i], &req, &e), 0);
		http_req_release(&req);
		ls[i].wstep = 1;
		assert_int_equal(f->ops->write_next(f->pa, &f->ep, &ls[i], &req, &e), PROV_MORE);
		http_req_release(&req);
		ls[i].wstep = 2;
		eps[i] = f->ep;
		eps[i].remote.property_id.s = (char *)props[i];
		ep_of[i] = &eps[i];
		ls_of[i] = &ls[i];
	}
	char key[64];
	assert_string_equal(f->ops->write_join(&eps[1], &ls[1], key, sizeof(key)),
			    "deploy production");
	assert_int_equal(f->ops->write_join_req(f->pa, ep_of, ls_of, 3, &req, &e), 0);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, BASE "/cdn/deploymentTasks");
	assert_string_equal(
	    req.body, "{\"name\":\"cacheform\",\"target\":\"production\",\"actions\":["
		      "{\"action\":\"deploy_property\",\"propertyId\":\"5dca2205f9e9cc0001df7b31\","
		      "\"version\":5},"
		      "{\"action\":\"deploy_property\",\"propertyId\":\"5dca2205f9e9cc0001df7b32\","
		      "\"version\":5},"
		      "{\"action\":\"deploy_property\",\"propertyId\":\"5dca2205f9e9cc0001df7b33\","
		      "\"version\":5}]}");
	http_req_release(&req);
	/* after it, each write is complete (the next step is the confirming read) */
	for (size_t i = 0; i < 3; i++) {
		ls[i].wstep = 3;
		assert_null(f->ops->write_join(&eps[i], &ls[i], key, sizeof(key)));
		assert_int_equal(f->ops->write_next(f->pa, &eps[i], &ls[i], &req, &e), 0);
		live_state_release(&ls[i]);
	}
	assert_int_equal(f->ops->write_join_req(f->pa, ep_of, ls_of, 0, &req, &e), CF_EINVAL);
	cache_release(&f->ep.cache);
	f->ep.mode = MODE_PURGE_ONLY;
}

static void test_prov_cdnpro__split_caps(void **state)
{
	struct fx *f = *state;
	struct purge p = {0};
	struct purge_batch *b;
	char s[64];
	for (int i = 0; i < 600; i++) { /* x2 hosts = 1200 files */
		snprintf(s, sizeof(s), "/f%d", i);
		svec_push(&p.files, s, NULL);
	}
	for (int i = 0; i < 8; i++) { /* x2 hosts = 16 dirUrls */
		snprintf(s, sizeof(s), "/d%d/", i);
		svec_push(&p.dirs, s, NULL);
	}
	fx_svec(&p.patterns, "https://dl.example.com/a/*.css|https://dl.example.com/b/**|"
			     "https://dl.example.com/c/*.js|https://dl.example.com/d/*|"
			     "https://dl.example.com/e/*|/f/*.png");
	fx_svec(&p.regex, "https://dl.example.com/v[0-9]+/.*|any://dl.example.com/x.*|"
			  "http://dl.example.com/y.*");
	fx_svec(&p.preload, "/index.html");
	p.action = PURGE_DELETE;
	size_t n = f->ops->split(&f->ep, &p, &b);
	/* files 1200 -> 2 requests; dirUrls 16 + 7 = 23 -> 2; regex 3 -> 2; preload 1 */
	assert_int_equal(n, 3);
	assert_int_equal(b[0].files.n, 1000);
	assert_int_equal(b[0].dirs.n + b[0].patterns.n, 20);
	assert_int_equal(b[0].dirs.n, 16);
	assert_int_equal(b[0].regex.n, 2);
	assert_int_equal(b[0].action, PURGE_DELETE);
	assert_int_equal(b[1].files.n, 200);
	assert_int_equal(b[1].patterns.n, 3);
	assert_int_equal(b[1].regex.n, 1);
	assert_string_equal(b[0].files.v[0].s, "http://dl.example.com/f0");
	assert_string_equal(b[0].files.v[1].s, "http://cdn.example.com/f0");
	assert_string_equal(b[0].dirs.v[0].s, "http://dl.example.com/d0/**");
	assert_string_equal(b[1].patterns.v[2].s, "http://cdn.example.com/f/*.png");
	assert_int_equal(b[2].kind, BATCH_PRELOAD);
	assert_int_equal(b[2].files.n, 2);
	fx_batches_release(b, n);
	fx_purge_release(&p);

	/* 1000 exactly is one request, 1001 two */
	for (int k = 0; k < 2; k++) {
		struct purge q = {0};
		for (int i = 0; i < 1000 + k; i++) {
			snprintf(s, sizeof(s), "https://dl.example.com/%d", i);
			svec_push(&q.files, s, NULL);
		}
		n = f->ops->split(&f->ep, &q, &b);
		assert_int_equal(n, (size_t)(1 + k));
		fx_batches_release(b, n);
		fx_purge_release(&q);
	}
}

static void test_prov_cdnpro__batch_bodies(void **state)
{
	struct fx *f = *state;
	struct purge_batch b = {.kind = BATCH_PURGE, .action = PURGE_INVALIDATE};
	struct http_req req;
	struct cf_err e;
	fx_svec(&b.files, "http://dl.example.com/a.png");
	fx_svec(&b.dirs, "http://dl.example.com/img/**");
	fx_svec(&b.patterns, "http://dl.example.com/x/*.css");
	fx_svec(&b.regex, "https://dl.example.com/v[0-9]+/.*\\.js");
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &b, &req, &e), 0);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.url, BASE "/cdn/purges");
	assert_int_equal(req.retry, HTTP_RETRY_UNSAFE);
	/* the bucket is the rate domain (reconcile/shard.h), shared by accounts of one user */
	assert_string_equal(req.bucket, "cdnpro|base=" BASE "|user=alice");
	assert_string_equal(fx_req_header(&req, "Content-Type"), "application/json");
	assert_string_equal(req.body,
			    "{\"target\":\"production\",\"action\":\"invalidate\",\"fileUrls\":["
			    "\"http://dl.example.com/a.png\"],\"dirUrls\":[\"http://dl.example.com/"
			    "img/**\",\"http://dl.example.com/x/*.css\"],\"regexPatterns\":["
			    "\"https://dl.example.com/v[0-9]+/.*\\\\.js\"]}");
	http_req_release(&req);
	/* only the kinds present are sent */
	svec_release(&b.files);
	svec_release(&b.dirs);
	svec_release(&b.regex);
	b.action = PURGE_DELETE;
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &b, &req, &e), 0);
	assert_string_equal(req.body, "{\"target\":\"production\",\"action\":\"delete\","
				      "\"dirUrls\":[\"http://dl.example.com/x/*.css\"]}");
	http_req_release(&req);
	/* fileHeaders ride along with fileUrls, and only with them */
	struct purge m = {0};
	fx_svec(&m.header_names, "X-Device|Accept-Language");
	fx_svec(&m.header_values, "mobile|de \"x\"");
	b.manifest = &m;
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &b, &req, &e), 0);
	assert_null(strstr(req.body, "fileHeaders"));
	http_req_release(&req);
	fx_svec(&b.files, "http://dl.example.com/a.png");
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &b, &req, &e), 0);
	assert_string_equal(
	    req.body, "{\"target\":\"production\",\"action\":\"delete\",\"fileUrls\":["
		      "\"http://dl.example.com/a.png\"],\"dirUrls\":[\"http://dl.example.com/"
		      "x/*.css\"],\"fileHeaders\":[{\"name\":\"X-Device\",\"value\":\"mobile\"},"
		      "{\"name\":\"Accept-Language\",\"value\":\"de \\\"x\\\"\"}]}");
	http_req_release(&req);
	svec_release(&m.header_names);
	svec_release(&m.header_values);
	purge_batch_release(&b);

	struct purge_batch pre = {.kind = BATCH_PRELOAD};
	fx_svec(&pre.files, "http://dl.example.com/a|http://dl.example.com/b");
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &pre, &req, &e), 0);
	assert_string_equal(req.url, BASE "/cdn/prefetches");
	assert_string_equal(req.body, "{\"fileList\":[{\"url\":\"http://dl.example.com/a\"},"
				      "{\"url\":\"http://dl.example.com/b\"}]}");
	http_req_release(&req);

	free(f->ep.remote.target.s);
	f->ep.remote.target.s = xstrdup("prod");
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &pre, &req, &e), 0);
	http_req_release(&req);
	pre.kind = BATCH_PURGE;
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &pre, &req, &e), CF_EINVAL);
	assert_null(req.url);
	purge_batch_release(&pre);
}

static void test_prov_cdnpro__sign(void **state)
{
	struct fx *f = *state;
	struct purge_batch b = {.kind = BATCH_PURGE};
	struct http_req req;
	struct cf_err e;
	struct sb want;
	fx_svec(&b.files, "http://dl.example.com/a.png");
	assert_int_equal(f->ops->batch_req(f->pa, &f->ep, &b, &req, &e), 0);
	assert_int_equal(req.sign(req.sign_ctx, &req, &e), 0);
	assert_string_equal(fx_req_header(&req, "Date"), "Thu, 17 May 2012 19:37:58 GMT");
	sb_init(&want, 0);
	sign_cdnpro_auth("alice", "k3y", "Thu, 17 May 2012 19:37:58 GMT", &want);
	assert_string_equal(fx_req_header(&req, "Authorization"), want.buf);
	assert_int_equal(strncmp(want.buf, "Basic ", 6), 0);
	sb_release(&want);
	http_req_release(&req);
	purge_batch_release(&b);
}

static const struct {
	long status;
	const char *location, *body;
	int rc;
	const char *id, *poll;
} created_cases[] = {
    {201, BASE "/cdn/purges/5dca2205f9e9cc0001df7b33", NULL, 0, "5dca2205f9e9cc0001df7b33",
     "/cdn/purges/5dca2205f9e9cc0001df7b33"},
    {201, "/cdn/purges/e91e8674-c2c5-4440-a1de-8b2ea99293dd", "", 0,
     "e91e8674-c2c5-4440-a1de-8b2ea99293dd", "/cdn/purges/e91e8674-c2c5-4440-a1de-8b2ea99293dd"},
    {201, NULL, NULL, CF_EAPI, NULL, NULL},
    {201, BASE "/cdn/purges/", NULL, CF_EAPI, NULL, NULL},
    /* the vendor's own example answers on another host: the id still comes through */
    {201, "https://open.chinanetcenter.com/cdn/purges/12330c199e5f9dd381daff5e", NULL, 0,
     "12330c199e5f9dd381daff5e", "/cdn/purges/12330c199e5f9dd381daff5e"},
    {201, "https://ngapi.cdnetworks.com/cdn/purges/p1?x=1", NULL, 0, "p1", "/cdn/purges/p1"},
    {201, "cdn/purges/x", NULL, CF_EAPI, NULL, NULL},
    {201, BASE "/cdn/purges/a%2Fb", NULL, CF_EAPI, NULL, NULL},
    {201, "https://evil.test/cdn/purges/..", NULL, CF_EAPI, NULL, NULL},
    {400, NULL,
     "{\"code\":\"InvalidPurgeUrl\",\"message\":\"The host 'test.domain.info' has not been "
     "deployed in the 'production' environment.\"}",
     CF_EAPI, NULL, NULL},
    {403, NULL, "{\"code\":\"AccessDenied\",\"message\":\"Please enter valid credentials.\"}",
     CF_EAUTH, NULL, NULL},
    {401, NULL, "{\"status\":0,\"result\":\"account name does not exist.\"}", CF_EAUTH, NULL, NULL},
};

static void test_prov_cdnpro__created(void **state)
{
	struct fx *f = *state;
	struct purge_batch b = {.kind = BATCH_PURGE};
	for (size_t i = 0; i < CF_ARRAY_LEN(created_cases); i++) {
		struct http_resp resp;
		struct task t;
		struct cf_err e;
		fx_resp(&resp, created_cases[i].status, created_cases[i].body);
		if (created_cases[i].location)
			fx_resp_header(&resp, "Location", created_cases[i].location);
		int rc = f->ops->batch_parse(&f->ep, &b, &resp, &t, &e);
		if (rc != created_cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		if (rc == 0) {
			assert_int_equal(t.state, TASK_RUNNING);
			assert_string_equal(t.id, created_cases[i].id);
			assert_string_equal(t.poll_url, created_cases[i].poll);
		} else {
			assert_non_null(strstr(e.msg, "endpoint 'dl' (cdnpro): submit purge"));
		}
		task_release(&t);
		http_resp_release(&resp);
	}
	struct http_resp resp;
	struct task t;
	struct cf_err e;
	fx_resp(&resp, 400, created_cases[9].body);
	f->ops->batch_parse(&f->ep, &b, &resp, &t, &e);
	assert_string_equal(e.msg,
			    "endpoint 'dl' (cdnpro): submit purge: HTTP 400 InvalidPurgeUrl: "
			    "The host 'test.domain.info' has not been deployed in the "
			    "'production' environment.");
	assert_string_equal(e.code, "InvalidPurgeUrl");
	http_resp_release(&resp);
}

static void test_prov_cdnpro__poll_req(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct cf_err e;
	const struct {
		const char *id, *poll;
		int rc;
		const char *url;
	} cases[] = {
	    {"p1", BASE "/cdn/prefetches/p1", 0, BASE "/cdn/prefetches/p1"},
	    {"p1", "/cdn/purges/p1", 0, BASE "/cdn/purges/p1"},
	    {"p1", NULL, 0, BASE "/cdn/purges/p1"},
	    /* elsewhere (CDN Pro's second API host, a forged ledger record): by id on base */
	    {"p1", "https://evil.test/cdn/purges/p1", 0, BASE "/cdn/purges/p1"},
	    {"p1", "http://127.0.0.1:8100/cdn/prefetches/p1", 0, BASE "/cdn/prefetches/p1"},
	    {"p1", ".evil.net/cdn/purges/p1", 0, BASE "/cdn/purges/p1"},
	    {"p1", BASE "/cdn/purges/../../_admin", 0, BASE "/cdn/purges/p1"},
	    {"..", ".evil.net/cdn/purges/..", CF_EINVAL, NULL},
	    {"../x", "https://evil.test/cdn/purges/../x", CF_EINVAL, NULL},
	    {"../x", NULL, CF_EINVAL, NULL},
	    {NULL, NULL, CF_EINVAL, NULL},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct task t = {.state = TASK_RUNNING,
				 .id = xstrdup(cases[i].id),
				 .poll_url = xstrdup(cases[i].poll)};
		int rc = f->ops->poll_req(f->pa, &f->ep, &t, &req, &e);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		if (rc == 0) {
			assert_string_equal(req.method, "GET");
			assert_string_equal(req.url, cases[i].url);
			assert_int_equal(req.retry, HTTP_RETRY_SAFE);
		} else {
			assert_null(req.url);
		}
		http_req_release(&req);
		task_release(&t);
	}
}

static const struct {
	const char *body;
	int rc;
	enum task_state st;
	const char *msg;
} status_cases[] = {
    {"{\"submissionTime\":\"2019-11-21T12:00:42Z\",\"finishTime\":\"2019-11-21T12:03:47Z\","
     "\"status\":\"finished\",\"fileUrls\":[\"http://download.info/sun.jpg\"],\"action\":"
     "\"invalidate\",\"target\":\"production\",\"apiRequestId\":\"38738aeb12406c27\","
     "\"customerId\":10000021,\"successRate\":100}",
     0, TASK_SUCCEEDED, NULL},
    {"{\"status\":\"waiting\",\"successRate\":0}", 0, TASK_RUNNING, NULL},
    {"{\"status\":\"inprogress\",\"successRate\":40}", 0, TASK_RUNNING, NULL},
    {"{\"status\":\"finished\"}", 0, TASK_SUCCEEDED, NULL},
    {"{\"status\":\"finished\",\"successRate\":80}", 0, TASK_FAILED,
     "finished with success rate 80%"},
    {"{\"name\":\"x\",\"fileList\":[],\"metadata\":{\"status\":\"finished\",\"successRate\":"
     "100}}",
     0, TASK_SUCCEEDED, NULL},
    {"{\"metaData\":{\"status\":\"inprogress\"}}", 0, TASK_RUNNING, NULL},
    {"{\"status\":\"exploded\"}", CF_EAPI, TASK_NONE, NULL},
    {"{\"status\":\"finished\",\"successRate\":\"100\"}", CF_EAPI, TASK_NONE, NULL},
    {"{\"status\":\"finished\",\"successRate\":101}", CF_EAPI, TASK_NONE, NULL},
    {"{\"status\":\"finished\",\"successRate\":66.7}", 0, TASK_FAILED,
     "finished with success rate 66.7%"},
    {"{\"status\":\"finished\",\"successRate\":100.0}", 0, TASK_SUCCEEDED, NULL},
    {"{\"status\":\"finished\",\"successRate\":-0.5}", CF_EAPI, TASK_NONE, NULL},
    {"{\"submissionTime\":\"x\"}", CF_EAPI, TASK_NONE, NULL},
    {"{\"metadata\":{\"successRate\":100}}", CF_EAPI, TASK_NONE, NULL},
    {"{\"status\":\"finished\"", CF_EAPI, TASK_NONE, NULL},
    {"[]", CF_EAPI, TASK_NONE, NULL},
};

static void test_prov_cdnpro__poll_parse(void **state)
{
	struct fx *f = *state;
	struct task t = {.state = TASK_RUNNING, .id = xstrdup("p1")};
	struct cf_err e;
	for (size_t i = 0; i < CF_ARRAY_LEN(status_cases); i++) {
		t.state = TASK_RUNNING;
		int rc = fx_poll(f, 200, status_cases[i].body, &t, &e);
		if (rc != status_cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		if (rc == 0)
			assert_int_equal(t.state, status_cases[i].st);
		if (status_cases[i].msg)
			assert_string_equal(t.message, status_cases[i].msg);
	}
	assert_int_equal(
	    fx_poll(f, 404,
		    "{\"code\":\"InvalidPurgeTaskId\",\"message\":\"The specified purge "
		    "task ID does not exist or has been deleted.\"}",
		    &t, &e),
	    CF_EAPI);
	assert_string_equal(e.code, "InvalidPurgeTaskId");
	task_release(&t);
}

static void test_prov_cdnpro__quota(void **state)
{
	struct fx *f = *state;
	struct http_req req;
	struct cf_err e;
	assert_int_equal(f->ops->quota_req(f->pa, &f->ep, &req, &e), 0);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.url, BASE "/cdn/purges/purgeTokens?target=production");
	http_req_release(&req);
	const struct {
		const char *body;
		int rc;
		int64_t files, dirs;
	} cases[] = {
	    {"{\"filePurgeTokens\":200,\"dirPurgeTokens\":20}", 0, 200, 20},
	    {"{\"filePurgeTokens\":-5,\"dirPurgeTokens\":0}", 0, 0, 0},
	    {"{\"filePurgeTokens\":200}", CF_EAPI, 0, 0},
	    {"{\"filePurgeTokens\":\"200\",\"dirPurgeTokens\":20}", CF_EAPI, 0, 0},
	    {"{\"filePurgeTokens\":2.5,\"dirPurgeTokens\":20}", CF_EAPI, 0, 0},
	    {"{\"filePurgeTokens\":null,\"dirPurgeTokens\":20}", CF_EAPI, 0, 0},
	    {"", CF_EAPI, 0, 0},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct http_resp resp;
		struct quota q;
		fx_resp(&resp, 200, cases[i].body);
		int rc = f->ops->quota_parse(&f->ep, &resp, &q, &e);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		assert_int_equal(q.known, rc == 0);
		if (rc == 0) {
			assert_int_equal(q.files_left, cases[i].files);
			assert_int_equal(q.dirs_left, cases[i].dirs);
		}
		http_resp_release(&resp);
	}
	free(f->ep.remote.target.s);
	f->ep.remote.target.s = xstrdup("production&x=1");
	assert_int_equal(f->ops->quota_req(f->pa, &f->ep, &req, &e), CF_EINVAL);
}

#define FIND_SINCE 1764691200 /* 2025-12-02T16:00:00Z, when the lost batch was claimed */
#define ENTRY(id, when, files, hosts)                                                              \
	"{\"id\":\"" id "\",\"submissionTime\":\"" when "\",\"fileEntries\":" #files               \
	",\"dirEntries\":0,\"hostnames\":[" hosts "]}"

static const struct {
	const char *name;
	long status;
	const char *body;
	int rc;
	const char *id;
} find_cases[] = {
    {"the one match", 200,
     "{\"count\":1,\"purgeRequests\":[" ENTRY("t1", "2025-12-02T16:00:03Z", 1,
					      "\"dl.example.com\"") "]}",
     1, "t1"},
    {"an id the ledger knows", 200,
     "{\"purgeRequests\":[" ENTRY("known-1", "2025-12-02T16:00:03Z", 1, "\"dl.example.com\"") "]}",
     0, NULL},
    {"submitted before the claim", 200,
     "{\"purgeRequests\":[" ENTRY("t2", "2025-12-02T15:50:00Z", 1, "\"dl.example.com\"") "]}", 0,
     NULL},
    {"other entry counts", 200,
     "{\"purgeRequests\":[" ENTRY("t3", "2025-12-02T16:00:03Z", 2, "\"dl.example.com\"") "]}", 0,
     NULL},
    {"another host", 200,
     "{\"purgeRequests\":[" ENTRY("t4", "2025-12-02T16:00:03Z", 1, "\"evil.example.net\"") "]}", 0,
     NULL},
    {"a dot id", 200,
     "{\"purgeRequests\":[" ENTRY("..", "2025-12-02T16:00:03Z", 1, "\"dl.example.com\"") "]}", 0,
     NULL},
    {"two could be it", 200,
     "{\"purgeRequests\":[" ENTRY("t5", "2025-12-02T16:00:03Z", 1, "\"dl.example.com\"") "," ENTRY(
	 "t6", "2025-12-02T16:00:04Z", 1, "\"cdn.example.com\"") "]}",
     0, NULL},
    {"not a list", 200, "{\"count\":0}", CF_EAPI, NULL},
    {"refused", 400, "{\"code\":\"InvalidStartDate\",\"message\":\"bad\"}", CF_EAPI, NULL},
};

static void test_prov_cdnpro__find(void **state)
{
	struct fx *f = *state;
	struct purge_batch b = {.kind = BATCH_PURGE};
	struct svec known = {0};
	struct http_req req;
	struct cf_err e;
	svec_push(&b.files, "http://dl.example.com/a.png", NULL);
	svec_push(&known, "known-1", NULL);
	err_clear(&e);
	assert_int_equal(f->ops->find_req(f->pa, &f->ep, &b, FIND_SINCE, &req, &e), 0);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.url, BASE "/cdn/purges?startdate=2025-12-02T15:55:00Z&target="
					  "production&sortOrder=asc&limit=200");
	http_req_release(&req);
	for (size_t i = 0; i < CF_ARRAY_LEN(find_cases); i++) {
		struct http_resp resp;
		struct task t;
		err_clear(&e);
		fx_resp(&resp, find_cases[i].status, find_cases[i].body);
		int rc = f->ops->find_parse(&f->ep, &b, FIND_SINCE, &known, &resp, &t, &e);
		if (rc != find_cases[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", find_cases[i].name, rc,
				 find_cases[i].rc, e.msg);
		if (rc == 1) {
			assert_int_equal(t.state, TASK_RUNNING);
			assert_string_equal(t.id, find_cases[i].id);
			assert_string_equal(t.poll_url, "/cdn/purges/t1");
		}
		if (strcmp(find_cases[i].name, "two could be it") == 0)
			assert_non_null(
			    strstr(e.msg, "2 listed purge tasks could be the lost one"));
		task_release(&t);
		http_resp_release(&resp);
	}
	b.kind = BATCH_PRELOAD;
	assert_true(f->ops->find_req(f->pa, &f->ep, &b, FIND_SINCE, &req, &e) < 0);
	svec_release(&b.files);
	svec_release(&known);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_prov_cdnpro__capabilities),
	    FX_TEST(test_prov_cdnpro__split_caps),
	    FX_TEST(test_prov_cdnpro__batch_bodies),
	    FX_TEST(test_prov_cdnpro__sign),
	    FX_TEST(test_prov_cdnpro__created),
	    FX_TEST(test_prov_cdnpro__poll_req),
	    FX_TEST(test_prov_cdnpro__poll_parse),
	    FX_TEST(test_prov_cdnpro__quota),
	    FX_TEST(test_prov_cdnpro__find),
	    FX_TEST(test_prov_cdnpro__edge_logic_lifecycle),
	    FX_TEST(test_prov_cdnpro__edge_logic_412_and_location),
	    FX_TEST(test_prov_cdnpro__edge_logic_refusals),
	    FX_TEST(test_prov_cdnpro__edge_logic_allow_production),
	    FX_TEST(test_prov_cdnpro__edge_logic_diff_and_foreign),
	    FX_TEST(test_prov_cdnpro__edge_logic_live_rules),
	    FX_TEST(test_prov_cdnpro__edge_logic_sem),
	    FX_TEST(test_prov_cdnpro__edge_logic_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
