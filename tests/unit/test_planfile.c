/* Unit tests: plan file JSON round trip, refusal of bad documents, stale-plan detection. */
#include "reconcile/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <unistd.h>

#include "reconcile/apply.h"
#include "reconcile/planfile.h"
#include "reconcile/sb.h"
#include "reconcile/xmem.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define COMMIT "0123456789abcdef0123456789abcdef01234567"

struct world {
	struct account acct;
	struct endpoint ep;
	struct live_state live;
	struct purge m;
	struct safety safety;
};

static void world_init(struct world *w, int64_t ttl, const char *digest)
{
	memset(w, 0, sizeof(*w));
	sval_set(&w->acct.name, "cn", NULL);
	w->acct.provider = PROV_AZURE_CHINA;
	sval_set(&w->ep.name, "www", NULL);
	sval_set(&w->ep.account_name, "cn", NULL);
	w->ep.account = &w->acct;
	struct rule *r = cache_add_rule(&w->ep.cache);
	r->kind = RULE_SUFFIX;
	r->ttl = ttl;
	svec_push(&r->items, "jpg", NULL);
	svec_push(&r->items, "png", NULL);
	w->ep.cache.ignore_query_string = true;
	w->live.exists = true;
	memcpy(w->live.digest, digest, 65);
	sval_set(&w->m.id, "logo", NULL);
	memcpy(w->m.content_hash, HASH_A, 65);
	w->safety.max_change_pct = 30;
	w->safety.min_rules = 5;
}

static void world_release(struct world *w)
{
	free(w->acct.name.s);
	free(w->ep.name.s);
	free(w->ep.account_name.s);
	free(w->m.id.s);
	cache_release(&w->ep.cache);
	live_state_release(&w->live);
}

static void world_plan(struct world *w, struct plan *p)
{
	struct purge_batch b = {0};
	svec_push(&b.files, "https://www.example.com/logo.png", NULL);
	plan_init(p);
	memcpy(p->commit, COMMIT, 41);
	assert_non_null(plan_add_endpoint(p, &w->ep, &w->live, NULL, &w->safety, NULL));
	assert_non_null(plan_add_purge(p, &w->m, &w->ep, &b, 1, NULL));
	purge_batch_release(&b);
}

static void test_planfile__roundtrip(void **state)
{
	(void)state;
	struct world w;
	struct plan p;
	struct planfile pf;
	struct sb sb;
	world_init(&w, 3600, HASH_B);
	world_plan(&w, &p);
	sb_init(&sb, 0);
	assert_int_equal(planfile_encode(&p, &sb), 0);
	assert_int_equal(planfile_decode(sb.buf, sb.len, &pf, NULL), 0);
	assert_string_equal(pf.commit, COMMIT);
	assert_int_equal(pf.neps, 1);
	assert_string_equal(pf.eps[0].name, "www");
	assert_string_equal(pf.eps[0].digest, HASH_B);
	assert_int_equal(pf.eps[0].action, PLAN_EP_UPDATE);
	assert_true(cache_equal(&pf.eps[0].desired, &w.ep.cache));
	assert_int_equal(pf.npurges, 1);
	assert_string_equal(pf.purges[0].id, "logo");
	assert_string_equal(pf.purges[0].content_hash, HASH_A);
	assert_int_equal(pf.purges[0].state, PLAN_PURGE_RUN);
	planfile_release(&pf);

	/* the file form: written atomically, read back */
	char path[] = "/tmp/cf-planfile-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(planfile_write(&p, path, NULL), 0);
	assert_int_equal(planfile_read(path, &pf, NULL), 0);
	assert_int_equal(pf.neps, 1);
	planfile_release(&pf);
	unlink(path);
	sb_release(&sb);
	plan_release(&p);
	world_release(&w);
}

static void test_planfile__rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"format_version\": 2, \"endpoints\": [], \"purges\": [], \"no_purges\": false}",
		"{\"format_version\": \"1\", \"endpoints\": [], \"purges\": [], \"no_purges\": false}",
		"{\"format_version\": 1, \"endpoints\": {}, \"purges\": [], \"no_purges\": false}",
		"{\"format_version\": 1, \"endpoints\": [{\"name\": \"x\"}], \"purges\": [], \"no_purges\": false}",
		"{\"format_version\": 1, \"endpoints\": [], \"purges\": [{\"id\": \"p\", \"endpoint\": \"e\", "
		"\"state\": \"run\", \"content_hash\": \"XYZ\"}], \"no_purges\": false}",
		"{\"format_version\": 1, \"desired_commit\": \"../../etc\", \"endpoints\": [], \"purges\": [], "
		"\"no_purges\": false}",
		"{\"format_version\": 1, \"endpoints\": [], \"purges\": [], \"no_purges\": false} trailing",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		struct planfile pf;
		struct cf_err e;
		err_clear(&e);
		if (planfile_decode(bad[i], strlen(bad[i]), &pf, &e) == 0)
			fail_msg("case %zu was accepted", i);
		assert_true(e.msg[0] != 0);
	}
	struct planfile pf;
	struct cf_err e;
	err_clear(&e);
	assert_int_equal(planfile_read("/nonexistent/plan.json", &pf, &e), CF_EIO);
}

/* A plan saved, then the live endpoint changes: apply must see it as stale. */
static void test_planfile__stale(void **state)
{
	(void)state;
	struct world w, now;
	struct plan saved, fresh;
	struct planfile pf;
	struct sb sb;
	struct cf_err e;
	world_init(&w, 3600, HASH_B);
	world_plan(&w, &saved);
	sb_init(&sb, 0);
	assert_int_equal(planfile_encode(&saved, &sb), 0);
	assert_int_equal(planfile_decode(sb.buf, sb.len, &pf, NULL), 0);

	/* same live digest, same desired: holds */
	world_init(&now, 3600, HASH_B);
	world_plan(&now, &fresh);
	assert_int_equal(apply_check_planfile(&fresh, &pf, NULL), 0);
	assert_int_equal(fresh.npurges, 1);
	plan_release(&fresh);
	world_release(&now);

	/* an admin changed the endpoint: digest differs */
	world_init(&now, 3600, HASH_A);
	world_plan(&now, &fresh);
	err_clear(&e);
	assert_int_equal(apply_check_planfile(&fresh, &pf, &e), CF_ECONFLICT);
	assert_non_null(strstr(e.msg, "changed since the plan was made"));
	plan_release(&fresh);
	world_release(&now);

	/* the repository changed: desired differs */
	world_init(&now, 7200, HASH_B);
	world_plan(&now, &fresh);
	assert_int_equal(apply_check_planfile(&fresh, &pf, &e), CF_ECONFLICT);
	assert_non_null(strstr(e.msg, "desired rules"));
	plan_release(&fresh);
	world_release(&now);

	/* a purge the saved plan did not run is dropped, not run */
	planfile_release(&pf);
	assert_int_equal(planfile_decode(sb.buf, sb.len, &pf, NULL), 0);
	free(pf.purges[0].id);
	pf.purges[0].id = xstrdup("other");
	world_init(&now, 3600, HASH_B);
	world_plan(&now, &fresh);
	assert_int_equal(apply_check_planfile(&fresh, &pf, NULL), 0);
	assert_int_equal(fresh.npurges, 0);
	plan_release(&fresh);
	world_release(&now);

	planfile_release(&pf);
	sb_release(&sb);
	plan_release(&saved);
	world_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_planfile__roundtrip),
		cmocka_unit_test(test_planfile__rejects),
		cmocka_unit_test(test_planfile__stale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
