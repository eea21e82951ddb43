/* Unit tests of the worker thread (reconcile/base/workq.c): items run once each, in the order
 * put, on a thread other than the caller's; they come back through workq_take only after they
 * ran, the descriptor is readable exactly while some wait; stop waits for what is in hand. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "reconcile/base/workq.h"

#define ITEMS_MAX 4096

struct item {
	int id;
	atomic_int runs;
	pthread_t ran_on;
};

struct sink {
	atomic_int order[ITEMS_MAX]; /* ids in the order fn saw them */
	atomic_int n;
	int delay_us; /* fn's work per item, to let puts pile up */
};

static void run(void *p, void *arg)
{
	struct item *it = p;
	struct sink *s = arg;
	if (s->delay_us) {
		struct timespec ts = {0, (long)s->delay_us * 1000};
		nanosleep(&ts, NULL);
	}
	it->ran_on = pthread_self();
	atomic_fetch_add(&it->runs, 1);
	s->order[atomic_fetch_add(&s->n, 1)] = it->id;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

/* Takes back until `want` items came back in all; returns how many came back in all. */
static size_t take_all(struct workq *q, size_t want, void ***buf, size_t *cap, size_t got)
{
	while (got < want && readable(workq_fd(q), 5000)) {
		size_t n = workq_take(q, buf, cap);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(atomic_load(&((struct item *)(*buf)[i])->runs), 1);
		got += n;
	}
	return got;
}

static void test_workq__order_and_return(void **state)
{
	/* items, how many a put hands over, fn's delay per item (us) */
	static const struct {
		size_t n, per_put;
		int delay_us;
	} cases[] = {
	    {1, 1, 0}, {10, 1, 0}, {10, 10, 0}, {100, 7, 50}, {ITEMS_MAX, 64, 0}, {300, 1, 20},
	};
	(void)state;
	for (size_t c = 0; c < CF_ARRAY_LEN(cases); c++) {
		struct sink *s = calloc(1, sizeof(*s));
		struct item *items = calloc(cases[c].n, sizeof(*items));
		void **buf = NULL;
		size_t cap = 0, got = 0;
		s->delay_us = cases[c].delay_us;
		struct workq *q = workq_start(run, s);
		assert_non_null(q);
		assert_false(readable(workq_fd(q), 0));
		for (size_t i = 0; i < cases[c].n; i += cases[c].per_put) {
			void *batch[64];
			size_t k = 0;
			for (; k < cases[c].per_put && i + k < cases[c].n; k++) {
				items[i + k].id = (int)(i + k);
				batch[k] = &items[i + k];
			}
			workq_put(q, batch, k);
			size_t back = workq_take(q, &buf, &cap); /* never blocks */
			for (size_t j = 0; j < back; j++)
				assert_int_equal(atomic_load(&((struct item *)buf[j])->runs), 1);
			got += back;
		}
		got = take_all(q, cases[c].n, &buf, &cap, got);
		assert_int_equal(got, cases[c].n);
		assert_int_equal(workq_held(q), 0);
		assert_false(readable(workq_fd(q), 0));
		assert_int_equal(atomic_load(&s->n), (int)cases[c].n);
		for (size_t i = 0; i < cases[c].n; i++) {
			assert_int_equal(atomic_load(&s->order[i]), (int)i);
			assert_false(pthread_equal(items[i].ran_on, pthread_self()));
		}
		workq_stop(q);
		free(buf);
		free(items);
		free(s);
	}
}

static void test_workq__stop_waits(void **state)
{
	/* items put and never taken: stop still runs fn on every one before it returns */
	static const size_t counts[] = {0, 1, 5, 200};
	(void)state;
	for (size_t c = 0; c < CF_ARRAY_LEN(counts); c++) {
		struct sink *s = calloc(1, sizeof(*s));
		struct item *items = calloc(counts[c] + 1, sizeof(*items));
		s->delay_us = 100;
		struct workq *q = workq_start(run, s);
		assert_non_null(q);
		for (size_t i = 0; i < counts[c]; i++) {
			void *p = &items[i];
			items[i].id = (int)i;
			workq_put(q, &p, 1);
		}
		assert_int_equal(workq_held(q), counts[c]);
		workq_stop(q);
		assert_int_equal(atomic_load(&s->n), (int)counts[c]);
		for (size_t i = 0; i < counts[c]; i++)
			assert_int_equal(atomic_load(&items[i].runs), 1);
		free(items);
		free(s);
	}
	workq_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_workq__order_and_return),
	    cmocka_unit_test(test_workq__stop_waits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
