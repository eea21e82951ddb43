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
		bool ok, judged;
	} cases[] = {
	    {SEM_OVERRIDE, 86400, true, "TCP_HIT", true, true},
	    {SEM_OVERRIDE, 86400, true, "TCP_MISS", false, true},
	    {SEM_OVERRIDE, 86400, true, NULL, false, true},
	    {SEM_OVERRIDE, 86400, false, NULL, false, true},
	    {SEM_BYPASS, 0, true, "TCP_MISS", true, true},
	    {SEM_BYPASS, 0, true, "TCP_HIT", false, true},
	    {SEM_ORIGIN, 0, true, "TCP_HIT", true, false},
	    {SEM_ORIGIN, 0, true, "TCP_MISS", true, false},
	    {SEM_IF_MISSING, 600, true, "TCP_MISS", true, false}, /* the origin decides */
	    {SEM_ORIGIN, 0, false, NULL, false, false},		  /* no answer fails anyway */
	};
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct sem_result want = {.mode = cases[i].mode, .ttl = cases[i].ttl};
		bool judged = !cases[i].judged;
		bool ok = stage_probe_ok(&want, cases[i].answered, cases[i].x_cache, &judged);
		if (ok != cases[i].ok || judged != cases[i].judged)
			fail_msg("case %zu: ok %d judged %d", i, ok, judged);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stage__decide),
	    cmocka_unit_test(test_stage__probe_verdict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
