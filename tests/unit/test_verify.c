/* Unit tests of apply --verify (reconcile/verify.c): the verdict on one answer, which URLs a
 * manifest probes and where, and verify_run() against fakecdn's edge started in-process (so
 * the HTTP module's connect_to is exercised too), with its clock knob making a stale hit. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cmd/fakecdn/fk_app.h"
#include "cmd/fakecdn/fk_edge.h"
#include "cmd/fakecdn/fk_server.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/xmem.h"
#include "reconcile/verify.h"

#define EXAMPLE_STATE "examples/fakecdn/state.json"

static void test_verify__judge(void **state)
{
	static const struct {
		enum verify_kind kind;
		const char *x_cache, *age;
		int64_t since_ms;
		enum verify_verdict want;
	} cases[] = {
	    {VERIFY_PURGE, "TCP_MISS", "0", 0, VERIFY_OK},
	    {VERIFY_PURGE, NULL, NULL, 0, VERIFY_OK}, /* no X-Cache: read from the origin */
	    {VERIFY_PURGE, "MISS from edge", NULL, 0, VERIFY_OK},
	    {VERIFY_PURGE, "TCP_HIT", "3", 3000, VERIFY_OK}, /* cached after apply began */
	    {VERIFY_PURGE, "TCP_HIT", "4", 3000, VERIFY_OK}, /* Age rounds: one second slack */
	    {VERIFY_PURGE, "TCP_HIT", "5", 3000, VERIFY_NOT_YET},
	    {VERIFY_PURGE, "TCP_HIT", NULL, 3000, VERIFY_NOT_YET},
	    {VERIFY_PURGE, "tcp_hit", "x", 3000, VERIFY_NOT_YET},
	    {VERIFY_PURGE, "HIT", "-1", 3000, VERIFY_NOT_YET},
	    {VERIFY_PRELOAD, "TCP_HIT", "1000", 0, VERIFY_OK},
	    {VERIFY_PRELOAD, "Hit from cloudfront", NULL, 0, VERIFY_OK},
	    {VERIFY_PRELOAD, "TCP_MISS", "0", 0, VERIFY_NO},
	    {VERIFY_PRELOAD, NULL, NULL, 0, VERIFY_NO},
	};

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++)
		if (verify_judge(cases[i].kind, cases[i].x_cache, cases[i].age,
				 cases[i].since_ms) != cases[i].want)
			fail_msg("case %zu: %s / %s", i, cases[i].x_cache ? cases[i].x_cache : "-",
				 cases[i].age ? cases[i].age : "-");
}

struct fixture {
	struct account acct;
	struct endpoint ep;
	struct purge m;
};

static void fixture_init(struct fixture *f, const char *connect_to)
{
	memset(f, 0, sizeof(*f));
	f->acct.edge.scheme.s = xstrdup("http");
	f->ep.name.s = xstrdup("www");
	f->ep.account = &f->acct;
	f->ep.scheme.s = xstrdup("https");
	svec_push(&f->ep.hosts, "www.example.cn", NULL);
	if (connect_to)
		f->ep.edge.connect_to.s = xstrdup(connect_to);
	f->m.id.s = xstrdup("p1");
}

static void fixture_release(struct fixture *f)
{
	free(f->acct.edge.scheme.s);
	free(f->ep.name.s);
	free(f->ep.scheme.s);
	free(f->ep.edge.connect_to.s);
	svec_release(&f->ep.hosts);
	free(f->m.id.s);
	svec_release(&f->m.files);
	svec_release(&f->m.dirs);
	svec_release(&f->m.preload);
}

static void test_verify__urls(void **state)
{
	struct verify_set s = {0};
	struct fixture f;

	(void)state;
	fixture_init(&f, "127.0.0.1:9");
	svec_push(&f.ep.hosts, "dl.example.cn", NULL);
	svec_push(&f.m.files, "/a.png", NULL);
	svec_push(&f.m.files, "https://www.example.cn/b.png?v=1", NULL);
	svec_push(&f.m.dirs, "/pic/", NULL); /* no single URL: not probed */
	svec_push(&f.m.preload, "/a.png", NULL);
	verify_add(&s, &f.ep, &f.m);
	assert_int_equal(s.n, 3);
	/* the account's edge scheme applies; a URL both purged and preloaded is a preload */
	assert_string_equal(s.v[0].url, "http://www.example.cn/a.png");
	assert_int_equal(s.v[0].kind, VERIFY_PRELOAD);
	assert_string_equal(s.v[1].url, "http://dl.example.cn/a.png");
	assert_string_equal(s.v[2].url, "http://www.example.cn/b.png?v=1");
	assert_int_equal(s.v[2].kind, VERIFY_PURGE);
	assert_string_equal(s.v[2].connect_to, "127.0.0.1:9");
	assert_string_equal(s.v[2].purge, "p1");
	verify_release(&s);
	/* without an edge scheme, the endpoint's scheme and the URL's own */
	free(f.acct.edge.scheme.s);
	f.acct.edge.scheme.s = NULL;
	verify_add(&s, &f.ep, &f.m);
	assert_string_equal(s.v[0].url, "https://www.example.cn/a.png");
	assert_string_equal(s.v[2].url, "https://www.example.cn/b.png?v=1");
	verify_release(&s);
	fixture_release(&f);
}

static struct verify_probe *probe(struct verify_set *s, const char *url)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].url, url) == 0)
			return &s->v[i];
	fail_msg("no probe for %s", url);
	return NULL;
}

/* GET through the app, as a user would, to fill the edge cache. */
static void edge_get(struct fk_app *app, const char *path)
{
	struct fk_req rq;
	struct fk_resp rs;

	fk_req_init(&rq, "GET", path);
	fk_req_add_header(&rq, "Host", "www.example.cn");
	fk_resp_init(&rs);
	fk_app_handle(app, &rq, &rs);
	assert_int_equal(rs.status, 200);
	fk_resp_release(&rs);
	fk_req_release(&rq);
}

static void test_verify__run_against_the_edge(void **state)
{
	struct verify_opts o = {verify_wall_ms(), 1200};
	struct verify_set s = {0};
	struct http_client *c = http_new(NULL);
	struct fk_server *srv;
	struct fixture f;
	struct fk_app app;
	struct cf_err e;
	char hp[64];

	(void)state;
	assert_int_equal(fk_app_init(&app, EXAMPLE_STATE, &e), 0);
	srv = fk_server_start(&app, 0, NULL, NULL, &e);
	assert_non_null(srv);
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", fk_server_port(srv));
	fixture_init(&f, hp);
	/* stale: cached, then 100 s pass on the edge clock: a hit older than the apply */
	edge_get(&app, "/pic/stale.jpg");
	{
		struct fk_req rq;
		struct fk_resp rs;

		fk_req_init(&rq, "POST", "/_fakecdn/clock");
		fk_req_set_body(&rq, "{\"advance_s\": 100}", 18);
		fk_resp_init(&rs);
		fk_app_handle(&app, &rq, &rs);
		assert_int_equal(rs.status, 200);
		fk_resp_release(&rs);
		fk_req_release(&rq);
	}
	edge_get(&app, "/pic/warm.jpg");
	svec_push(&f.m.files, "/pic/stale.jpg", NULL);
	svec_push(&f.m.files, "/pic/gone.jpg", NULL);
	svec_push(&f.m.preload, "/pic/warm.jpg", NULL);
	svec_push(&f.m.preload, "/index.html", NULL); /* ttl 0: never warm */
	verify_add(&s, &f.ep, &f.m);
	assert_int_equal(verify_run(c, &s, &o, &e), CF_EAPI);
	assert_int_equal(verify_failed(&s), 2);
	assert_int_equal(probe(&s, "http://www.example.cn/pic/gone.jpg")->verdict, VERIFY_OK);
	assert_string_equal(probe(&s, "http://www.example.cn/pic/gone.jpg")->x_cache, "TCP_MISS");
	assert_int_equal(probe(&s, "http://www.example.cn/pic/warm.jpg")->verdict, VERIFY_OK);
	assert_int_equal(probe(&s, "http://www.example.cn/index.html")->verdict, VERIFY_NO);
	assert_int_equal(probe(&s, "http://www.example.cn/index.html")->probes, 1);
	/* the stale hit was probed again until the deadline */
	assert_int_equal(probe(&s, "http://www.example.cn/pic/stale.jpg")->verdict, VERIFY_NOT_YET);
	assert_true(probe(&s, "http://www.example.cn/pic/stale.jpg")->probes >= 2);
	assert_int_equal(probe(&s, "http://www.example.cn/pic/stale.jpg")->age_s, 100);
	verify_release(&s);
	/* nothing listens there: no answer at all is an error, not a verdict */
	free(f.ep.edge.connect_to.s);
	f.ep.edge.connect_to.s = xstrdup("127.0.0.1:1");
	verify_add(&s, &f.ep, &f.m);
	err_clear(&e);
	assert_int_equal(verify_run(c, &s, &o, &e), CF_ENET);
	assert_non_null(strstr(e.msg, "no probe got an answer"));
	verify_release(&s);
	fixture_release(&f);
	http_free(c);
	fk_server_stop(srv);
	fk_app_release(&app);
}

int main(void)
{
	setenv("CACHEFORM_RETRY_SCALE", "0.01", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verify__judge),
	    cmocka_unit_test(test_verify__urls),
	    cmocka_unit_test(test_verify__run_against_the_edge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
