/* Unit tests of fakecdn's latency clock (cmd/fakecdn/fk_delay.c): entries run earliest first,
 * ties in the order they were added, never before their time, all due ones at once or one a
 * call (run_one); next_ns says how long to sleep; flush runs what is left, due or not. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <time.h>

#include "cmd/fakecdn/fk_delay.h"

#define RAN_MAX 16

static int ran[RAN_MAX];
static size_t nran;

static void record(void *arg)
{
	if (nran < RAN_MAX)
		ran[nran++] = *(int *)arg;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void test_fk_delay__order(void **state)
{
	/* waits in ms, added in this order; want: the ids in the order they must run */
	static const struct {
		int64_t wait[6];
		size_t n;
		int want[6];
	} cases[] = {
	    {{0}, 1, {0}},
	    {{30, 10, 20}, 3, {1, 2, 0}},
	    {{10, 10, 10}, 3, {0, 1, 2}},	       /* ties: first added first */
	    {{20, -5, 0, 20, 10}, 5, {1, 2, 4, 0, 3}}, /* negative: due at once */
	    {{5, 4, 3, 2, 1, 0}, 6, {5, 4, 3, 2, 1, 0}},
	};
	int ids[6] = {0, 1, 2, 3, 4, 5};

	(void)state;
	/* one: entries run by fk_delay_run_one, one a call (the server's loop), else all due */
	for (int one = 0; one < 2; one++) {
		for (size_t c = 0; c < CF_ARRAY_LEN(cases); c++) {
			struct fk_delay *d = fk_delay_new(record);

			nran = 0;
			for (size_t i = 0; i < cases[c].n; i++)
				fk_delay_add(d, cases[c].wait[i], &ids[i]);
			while (fk_delay_next_ns(d) >= 0) {
				size_t before = nran;

				sleep_ns(fk_delay_next_ns(d));
				if (one)
					assert_true(fk_delay_run_one(d));
				else
					fk_delay_run(d);
				assert_true(one ? nran == before + 1 : nran > before);
			}
			assert_false(fk_delay_run_one(d));
			assert_int_equal(nran, cases[c].n);
			for (size_t i = 0; i < cases[c].n; i++)
				assert_int_equal(ran[i], cases[c].want[i]);
			fk_delay_free(d);
		}
	}
}

static void test_fk_delay__never_early(void **state)
{
	struct fk_delay *d = fk_delay_new(record);
	int a = 1, b = 2;
	struct timespec t0, t1;

	(void)state;
	nran = 0;
	assert_int_equal(fk_delay_next_ns(d), -1);
	assert_int_equal(fk_delay_run(d), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fk_delay_add(d, 40, &a);
	fk_delay_add(d, 400, &b);
	assert_true(fk_delay_next_ns(d) > 0 && fk_delay_next_ns(d) <= 40 * 1000000L);
	assert_int_equal(fk_delay_run(d), 0);
	assert_false(fk_delay_run_one(d));
	while (nran == 0) {
		sleep_ns(fk_delay_next_ns(d));
		fk_delay_run(d);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) >=
		    40 * 1000000L);
	assert_int_equal(nran, 1);
	assert_int_equal(ran[0], 1);
	assert_true(fk_delay_next_ns(d) > 0);
	/* flush runs the rest now, due or not */
	fk_delay_flush(d);
	assert_int_equal(nran, 2);
	assert_int_equal(ran[1], 2);
	assert_int_equal(fk_delay_next_ns(d), -1);
	fk_delay_free(d);
	fk_delay_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fk_delay__order),
	    cmocka_unit_test(test_fk_delay__never_early),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
