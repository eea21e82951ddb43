/*
 * Unit tests: `cacheform migrate`'s translation (reconcile/migrate.c): the remote's defaults,
 * every gap code and when it blocks, the meaning kept on random rule lists, the file text
 * written, and the minimal `mode: observe` edit.
 */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/migrate.h"
#include "reconcile/base/limits.h"
#include "reconcile/base/xmem.h"

#define RANDOM_LISTS 2000 /* random rule lists in the meaning test */
#define RANDOM_SEED  12u

/* A repository with accounts fd (Front Door), cn (azure-china) and az (azure). */
struct fx {
	struct config *c;
	struct migrate_target t;
};

static void fx_init(struct fx *f)
{
	static const struct {
		const char *name;
		enum provider_kind p;
	} accts[] = {{"fd", PROV_AZURE_FRONTDOOR}, {"cn", PROV_AZURE_CHINA}, {"az", PROV_AZURE}};
	f->c = config_new();
	for (size_t i = 0; i < CF_ARRAY_LEN(accts); i++) {
		xgrow(&f->c->accounts, &f->c->acap, f->c->naccounts + 1, sizeof(*f->c->accounts));
		struct account *a = &f->c->accounts[f->c->naccounts++];
		memset(a, 0, sizeof(*a));
		sval_set(&a->name, accts[i].name, NULL);
		a->provider = accts[i].p;
	}
	memset(&f->t, 0, sizeof(f->t));
	f->t.account = &f->c->accounts[0];
	f->t.account_name = "fd";
}

/* Adds an endpoint of account index acct; returns its index (pointers move as it grows). */
static size_t fx_ep(struct fx *f, const char *name, size_t acct)
{
	struct config *c = f->c;
	xgrow(&c->endpoints, &c->ecap, c->nendpoints + 1, sizeof(*c->endpoints));
	struct endpoint *e = &c->endpoints[c->nendpoints];
	memset(e, 0, sizeof(*e));
	e->file = config_file_name(c, config_intern_file(c, "endpoints/x.yaml"));
	sval_set(&e->name, name, NULL);
	e->account = &c->accounts[acct];
	sval_set(&e->account_name, c->accounts[acct].name.s, NULL);
	svec_push(&e->hosts, "www.example.com", NULL);
	e->has_cache = true;
	if (c->accounts[acct].provider == PROV_AZURE) {
		sval_set(&e->remote.resource_group, "web-rg", NULL);
		sval_set(&e->remote.profile, "web-cdn", NULL);
		sval_set(&e->remote.endpoint, "shop-classic", NULL);
	}
	return c->nendpoints++;
}

/* items: comma-separated */
static struct rule *fx_rule(struct cache *c, enum rule_kind k, int64_t ttl, const char *items)
{
	struct rule *r = cache_add_rule(c);
	char *dup = xstrdup(items), *save = NULL;
	r->kind = k;
	r->ttl = ttl;
	r->pos.line = (unsigned)c->nrules + 10;
	for (char *p = strtok_r(dup, ",", &save); p; p = strtok_r(NULL, ",", &save))
		svec_push(&r->items, p, NULL);
	free(dup);
	return r;
}

static bool has_gap(const struct migrate_result *r, const char *code)
{
	for (size_t i = 0; i < r->ngaps; i++)
		if (strcmp(r->gaps[i].code, code) == 0)
			return true;
	return false;
}

/* ---- the table: one endpoint each, the gaps expected and whether it blocks ---- */

enum shape {
	S_PLAIN,      /* cn: three rules, rg/profile given */
	S_COOKIE,     /* cn: ignore_cookie true */
	S_NO_PROFILE, /* cn: no --remote resource_group/profile */
	S_LONG_TTL,   /* 400 days */
	S_MANY,	      /* 101 rules */
	S_BATCH_MANY, /* 60 caching rules in batch mode (count 120) */
	S_FIT,	      /* 60 caching rules, per-rule mode */
	S_BAD_NAME,   /* rule name with '-' */
	S_TAKEN,      /* NAME-fd exists */
	S_PRELOAD,    /* a purge preloads through it */
	S_AZURE,      /* classic azure, defaults from its remote */
};

static const struct {
	enum shape shape;
	const char *gaps; /* expected codes, space separated (CF606 always, not listed) */
	bool blocked;
} cases[] = {
    {S_PLAIN, "", false},	 {S_COOKIE, "CF601", false},   {S_NO_PROFILE, "CF607", true},
    {S_LONG_TTL, "CF603", true}, {S_MANY, "CF604", true},      {S_BATCH_MANY, "CF604", true},
    {S_FIT, "", false},		 {S_BAD_NAME, "CF605", false}, {S_TAKEN, "CF608", true},
    {S_PRELOAD, "CF602", false}, {S_AZURE, "", false},
};

static size_t build_case(struct fx *f, enum shape s)
{
	size_t i = fx_ep(f, "www", s == S_AZURE ? 2 : 1);
	struct cache *c = &f->c->endpoints[i].cache;
	if (s != S_NO_PROFILE && s != S_AZURE) {
		f->t.resource_group = "fd-rg";
		f->t.profile = "web-afd";
	}
	fx_rule(c, RULE_PATH, 0, "/index.html");
	fx_rule(c, RULE_DIR, s == S_LONG_TTL ? 400 * 86400 : 86400, "/img/");
	fx_rule(c, RULE_SUFFIX, 3600, "css,JS");
	c->ignore_cookie = s == S_COOKIE;
	f->t.batch = s == S_BATCH_MANY;
	for (int k = 0; (s == S_MANY && k < 98) || ((s == S_BATCH_MANY || s == S_FIT) && k < 57);
	     k++) {
		char item[32];
		snprintf(item, sizeof(item), "/d%d/", k);
		fx_rule(c, RULE_DIR, 60, item);
	}
	if (s == S_BAD_NAME) {
		sval_set(&c->rules[0].name, "no-cache", NULL);
		sval_set(&c->rules[1].name, "images", NULL);
	}
	if (s == S_TAKEN)
		fx_ep(f, "www-fd", 0);
	if (s == S_PRELOAD) {
		xgrow(&f->c->purges, &f->c->pcap, 1, sizeof(*f->c->purges));
		struct purge *p = &f->c->purges[f->c->npurges++];
		memset(p, 0, sizeof(*p));
		sval_set(&p->id, "warm", NULL);
		svec_push(&p->endpoints, "www", NULL);
		svec_push(&p->preload, "/index.html", NULL);
	}
	return i;
}

static void check_case(size_t n, const struct migrate_result *r, const char *gaps, bool blocked)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", gaps);
	size_t want = 1; /* CF606 */
	for (char *save = NULL, *g = strtok_r(buf, " ", &save); g; g = strtok_r(NULL, " ", &save)) {
		if (!has_gap(r, g))
			fail_msg("case %zu: no gap %s", n, g);
		want++;
	}
	if (!has_gap(r, "CF606") || r->ngaps != want)
		fail_msg("case %zu: %zu gaps, want %zu (first %s)", n, r->ngaps, want,
			 r->ngaps ? r->gaps[0].code : "-");
	assert_int_equal(r->blocked, blocked);
	assert_int_equal(r->differ, 0);
	assert_true(r->probes > 0);
}

static void test_migrate__gaps(void **state)
{
	(void)state;
	for (size_t n = 0; n < CF_ARRAY_LEN(cases); n++) {
		struct fx f;
		struct migrate_result r;
		fx_init(&f);
		size_t i = build_case(&f, cases[n].shape);
		migrate_endpoint(f.c, &f.c->endpoints[i], &f.t, &r);
		check_case(n, &r, cases[n].gaps, cases[n].blocked);
		assert_string_equal(r.ep.name.s, "www-fd");
		assert_false(r.ep.cache.ignore_cookie);
		if (cases[n].shape == S_BAD_NAME) {
			assert_null(r.ep.cache.rules[0].name.s);
			assert_string_equal(r.ep.cache.rules[1].name.s, "images");
		}
		migrate_result_release(&r);
		config_free(f.c);
	}
}

/* Remote defaults: classic azure keeps its group, profile and endpoint; options win. */
static void test_migrate__remote_defaults(void **state)
{
	struct fx f;
	struct migrate_result r;
	(void)state;
	fx_init(&f);
	size_t i = fx_ep(&f, "shop", 2);
	migrate_endpoint(f.c, &f.c->endpoints[i], &f.t, &r);
	assert_string_equal(r.ep.remote.resource_group.s, "web-rg");
	assert_string_equal(r.ep.remote.profile.s, "web-cdn");
	assert_string_equal(r.ep.remote.endpoint.s, "shop-classic");
	assert_string_equal(r.ep.remote.route.s, MIGRATE_ROUTE_DEFAULT);
	assert_string_equal(r.ep.remote.rule_set.s, "cacheformshop");
	assert_ptr_equal(r.ep.account, &f.c->accounts[0]);
	migrate_result_release(&r);
	f.t.profile = "p2";
	f.t.route = "r2";
	f.t.rule_set = "rs2";
	f.t.endpoint = "e2";
	i = fx_ep(&f, "static-cn", 1);
	migrate_endpoint(f.c, &f.c->endpoints[i], &f.t, &r);
	assert_true(has_gap(&r, "CF607")); /* the resource group is still unknown */
	assert_string_equal(r.ep.remote.profile.s, "p2");
	assert_string_equal(r.ep.remote.route.s, "r2");
	assert_string_equal(r.ep.remote.rule_set.s, "rs2");
	assert_string_equal(r.ep.remote.endpoint.s, "e2");
	migrate_result_release(&r);
	config_free(f.c);
}

/* The same meaning on random lists: every kind, TTLs 0/short/long, per-rule
 * ignore_cache_control, both query-string keys; 0 probe paths differ. */
static void test_migrate__meaning_random(void **state)
{
	static const char *const dirs[] = {"/", "/a/", "/a/b/", "/img/", "/A/"};
	static const char *const sufs[] = {"jpg", "JPG", "css", "html", "gz"};
	static const char *const paths[] = {"/", "/index.html", "/a/x.jpg", "/img/a.css"};
	static const int64_t ttls[] = {0, 60, 86400, AFD_DURATION_MAX_S};
	unsigned seed = RANDOM_SEED;
	size_t probes = 0;
	(void)state;
	for (int n = 0; n < RANDOM_LISTS; n++) {
		struct fx f;
		struct migrate_result r;
		fx_init(&f);
		f.t.resource_group = "rg";
		f.t.profile = "p";
		size_t i = fx_ep(&f, "e", (size_t)(1 + rand_r(&seed) % 2));
		struct cache *c = &f.c->endpoints[i].cache;
		c->ignore_cache_control = rand_r(&seed) % 2;
		c->ignore_query_string = rand_r(&seed) % 2;
		for (int k = rand_r(&seed) % 6; k >= 0; k--) {
			int kind = rand_r(&seed) % 3;
			const char *item = kind == RULE_DIR	 ? dirs[rand_r(&seed) % 5]
					   : kind == RULE_SUFFIX ? sufs[rand_r(&seed) % 5]
								 : paths[rand_r(&seed) % 4];
			struct rule *ru =
			    fx_rule(c, (enum rule_kind)kind, ttls[rand_r(&seed) % 4], item);
			ru->cc = (enum rule_cc)(rand_r(&seed) % 3);
		}
		migrate_endpoint(f.c, &f.c->endpoints[i], &f.t, &r);
		if (r.differ)
			fail_msg("list %d: %zu of %zu probe paths differ (first %s)", n, r.differ,
				 r.probes, r.first_diff);
		probes += r.probes;
		migrate_result_release(&r);
		config_free(f.c);
	}
	assert_true(probes > (size_t)RANDOM_LISTS * 5);
}

/* The file text: Front Door remote, no ignore_cookie key, gaps as comments. */
static void test_migrate__yaml(void **state)
{
	struct fx f;
	struct migrate_result r;
	struct sb out;
	(void)state;
	fx_init(&f);
	f.t.resource_group = "fd-rg";
	f.t.profile = "web-afd";
	size_t i = fx_ep(&f, "www", 1);
	struct endpoint *e = &f.c->endpoints[i];
	e->cache.ignore_cookie = true;
	fx_rule(&e->cache, RULE_DIR, 600, "/pic/");
	migrate_endpoint(f.c, e, &f.t, &r);
	sb_init(&out, 0);
	migrate_yaml(e, &r, &out);
	assert_non_null(strstr(out.buf, "# CF601: ignore_cookie: true is dropped"));
	assert_non_null(strstr(out.buf, "endpoint: www-fd\naccount: fd\nremote:\n"
					"  resource_group: fd-rg\n  profile: web-afd\n"
					"  endpoint: www\n  route: default-route\n"
					"  rule_set: cacheformwww\n"));
	assert_null(strstr(out.buf, "\n  ignore_cookie:"));
	assert_non_null(strstr(out.buf, "mode: manage\n"));
	assert_non_null(strstr(out.buf, "    - dir: [/pic/]\n      ttl: 10m\n"));
	sb_release(&out);
	migrate_result_release(&r);
	config_free(f.c);
}

static void test_migrate__observe_edit(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} t[] = {
	    {"endpoint: a\nmode: manage   # was managed\nx: 1\n",
	     "endpoint: a\nmode: observe # was managed\nx: 1\n"},
	    {"# top\nendpoint: a\nhosts: [x]\n", "# top\nendpoint: a\nmode: observe\nhosts: [x]\n"},
	    {"endpoint: a", "endpoint: a\nmode: observe\n"},
	    {"cache:\n  mode: x\n", "mode: observe\ncache:\n  mode: x\n"},
	    {"endpoint: a\nmode: purge-only\n", "endpoint: a\nmode: observe\n"},
	    {"endpoint: a\r\nmode: manage\r\n", "endpoint: a\r\nmode: observe\r\n"},
	    {"{endpoint: a, mode: manage}\n", NULL},
	};
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(t); i++) {
		struct sb out;
		sb_init(&out, 0);
		int rc = migrate_observe_text(t[i].in, strlen(t[i].in), &out);
		if (!t[i].out)
			assert_int_equal(rc, -1);
		else if (rc != 0 || strcmp(out.buf ? out.buf : "", t[i].out) != 0)
			fail_msg("case %zu: got '%s'", i, out.buf ? out.buf : "(null)");
		sb_release(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_migrate__gaps),
	    cmocka_unit_test(test_migrate__remote_defaults),
	    cmocka_unit_test(test_migrate__meaning_random),
	    cmocka_unit_test(test_migrate__yaml),
	    cmocka_unit_test(test_migrate__observe_edit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
