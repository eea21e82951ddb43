/* Unit tests: drift classification (reconcile/drift.c). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/drift.h"

#define TTL_DAY 86400

/* A one-rule cache: dir /pic/ with the given TTL. */
static void cache_one(struct cache *c, int64_t ttl)
{
	memset(c, 0, sizeof(*c));
	struct rule *r = cache_add_rule(c);
	r->kind = RULE_DIR;
	svec_push(&r->items, "/pic/", NULL);
	r->ttl = ttl;
}

struct class_case {
	int64_t desired, live, applied; /* TTLs; applied < 0 = no ledger record */
	enum endpoint_mode mode;
	enum drift_class want;
};

static const struct class_case cases[] = {
    {1, 1, 1, MODE_MANAGE, DRIFT_IN_SYNC},
    {1, 1, 2, MODE_MANAGE, DRIFT_IN_SYNC},    /* both moved to the same place */
    {2, 1, 1, MODE_MANAGE, DRIFT_PENDING},    /* repository moved */
    {1, 2, 1, MODE_MANAGE, DRIFT_EXTERNAL},   /* live moved */
    {2, 3, 1, MODE_MANAGE, DRIFT_BOTH},	      /* both moved, apart */
    {2, 1, -1, MODE_MANAGE, DRIFT_PENDING},   /* never applied */
    {2, 1, -1, MODE_OBSERVE, DRIFT_EXTERNAL}, /* observe: the repository is the expectation */
    {1, 1, -1, MODE_OBSERVE, DRIFT_IN_SYNC},
    {1, 2, 1, MODE_OBSERVE, DRIFT_EXTERNAL},
};

static void test_drift__classify(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct cache d, l, a;
		cache_one(&d, cases[i].desired * TTL_DAY);
		cache_one(&l, cases[i].live * TTL_DAY);
		cache_one(&a, cases[i].applied * TTL_DAY);
		enum drift_class got =
		    drift_classify(&d, &l, cases[i].applied < 0 ? NULL : &a, cases[i].mode);
		if (got != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i, drift_class_name(got),
				 drift_class_name(cases[i].want));
		cache_release(&d);
		cache_release(&l);
		cache_release(&a);
	}
}

static void test_drift__flags_count(void **state)
{
	struct cache d, l, a;
	(void)state;
	cache_one(&d, TTL_DAY);
	cache_one(&l, TTL_DAY);
	cache_one(&a, TTL_DAY);
	l.ignore_query_string = true; /* a console user flipped a flag only */
	assert_int_equal(drift_classify(&d, &l, &a, MODE_MANAGE), DRIFT_EXTERNAL);
	cache_release(&d);
	cache_release(&l);
	cache_release(&a);
}

static void test_drift__names(void **state)
{
	(void)state;
	assert_string_equal(drift_class_name(DRIFT_IN_SYNC), "in-sync");
	assert_string_equal(drift_class_name(DRIFT_PENDING), "pending");
	assert_string_equal(drift_class_name(DRIFT_EXTERNAL), "external");
	assert_string_equal(drift_class_name(DRIFT_BOTH), "both");
	assert_string_equal(drift_class_name(DRIFT_ERROR), "error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drift__classify),
	    cmocka_unit_test(test_drift__flags_count),
	    cmocka_unit_test(test_drift__names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
