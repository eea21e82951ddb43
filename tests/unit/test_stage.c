/* Unit tests: CDN Pro staging and promotion decisions (reconcile/stage.c). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconcile/prov_cdnpro_el.h"
#include "reconcile/sem.h"
#include "reconcile/stage.h"

static void test_stage__decide(void **state)
{
	static const struct {
		struct pro_el_deployed d;
		enum stage_decision want;
	} cases[] = {
	    {{0, 3, 0, 100}, STAGE_SKIP},      /* nothing in staging */
	    {{4, 3, 200, 100}, STAGE_PROMOTE}, /* staged after production */
	    {{4, 3, 200, 201}, STAGE_REFUSE},  /* production deployed after staging */
	    {{4, 3, 200, 200}, STAGE_PROMOTE}, /* the same second: not seen as later */
	    {{4, 4, 200, 300}, STAGE_SAME},    /* deployed again later: nothing to do */
	    {{4, 4, 300, 200}, STAGE_SAME},    /* production already runs it */
	    {{4, 0, 200, 0}, STAGE_PROMOTE},   /* never in production */
	    {{5, 3, 0, 0}, STAGE_PROMOTE},     /* times unknown: no refusal */
	};
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++)
		if (stage_decide(&cases[i].d) != cases[i].want)
			fail_msg("case %zu: %d, want %d", i, stage_decide(&cases[i].d),
				 cases[i].want);
}

static void test_stage__probe_verdict(void **state)
{
	static const struct {
		enum sem_mode mode;
		int64_t ttl;
		bool answered;
		const char *x_cache;
		int64_t age;
		const char *cc;
		bool ok, judged, longer;
		int64_t want_ttl;
	} cases[] = {
	    {SEM_OVERRIDE, 86400, true, "TCP_HIT", 0, NULL, true, true, false, 86400},
	    {SEM_OVERRIDE, 86400, true, "TCP_HIT", 86399, NULL, true, true, false, 86400},
	    /* a hit as old as the TTL: the edge caches longer than the YAML says */
	    {SEM_OVERRIDE, 3600, true, "TCP_HIT", 3600, NULL, false, true, true, 3600},
	    {SEM_OVERRIDE, 3600, true, "TCP_HIT", 7200, NULL, false, true, true, 3600},
	    /* the override does not yield to the origin's max-age */
	    {SEM_OVERRIDE, 3600, true, "TCP_HIT", 10, "max-age=60", true, true, false, 3600},
	    {SEM_OVERRIDE, 86400, true, "TCP_MISS", 0, NULL, false, true, false, 86400},
	    {SEM_OVERRIDE, 86400, true, NULL, -1, NULL, false, true, false, 86400},
	    {SEM_OVERRIDE, 86400, false, NULL, -1, NULL, false, true, false, 86400},
	    {SEM_BYPASS, 0, true, "TCP_MISS", -1, NULL, true, true, false, 0},
	    {SEM_BYPASS, 0, true, "TCP_HIT", 0, NULL, false, true, false, 0},
	    {SEM_ORIGIN, 0, true, "TCP_HIT", 0, "max-age=60", true, false, false, 60},
	    {SEM_ORIGIN, 0, true, "TCP_MISS", -1, NULL, true, false, false, 0},
	    /* the rule applies when the origin sends nothing; its max-age wins otherwise */
	    {SEM_IF_MISSING, 600, true, "TCP_MISS", -1, NULL, false, true, false, 600},
	    {SEM_IF_MISSING, 600, true, "TCP_HIT", 100, "max-age=60", false, true, true, 60},
	    {SEM_IF_MISSING, 600, true, "TCP_MISS", -1, "no-store", true, true, false, 0},
	    {SEM_ORIGIN, 0, false, NULL, -1, NULL, false, false, false, 0}, /* no answer */
	};
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct sem_result want = {.mode = cases[i].mode, .ttl = cases[i].ttl};
		struct stage_seen seen = {cases[i].answered, cases[i].x_cache, cases[i].age,
					  cases[i].cc};
		struct stage_verdict v;
		stage_probe_judge(&want, &seen, &v);
		if (v.ok != cases[i].ok || v.judged != cases[i].judged ||
		    v.longer != cases[i].longer || v.want_ttl != cases[i].want_ttl)
			fail_msg("case %zu: ok %d judged %d longer %d want_ttl %lld", i, v.ok,
				 v.judged, v.longer, (long long)v.want_ttl);
	}
}

static void test_stage__age_parse(void **state)
{
	static const struct {
		const char *in;
		int64_t want;
	} cases[] = {
	    {NULL, -1}, {"", -1}, {"0", 0}, {"7200", 7200}, {"-3", -1}, {"12x", -1}, {" 5", -1},
	};
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++)
		if (stage_age_parse(cases[i].in) != cases[i].want)
			fail_msg("case %zu: %lld", i, (long long)stage_age_parse(cases[i].in));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stage__decide),
	    cmocka_unit_test(test_stage__probe_verdict),
	    cmocka_unit_test(test_stage__age_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
