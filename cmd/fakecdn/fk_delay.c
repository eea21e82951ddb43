#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_delay.h"
#include "reconcile/base/xmem.h"

#include <time.h>

#define NS_PER_MS  INT64_C(1000000)
#define NS_PER_S   INT64_C(1000000000)
#define HEAP_FIRST 64

struct entry {
	int64_t due_ns;
	uint64_t seq; /* ties: first added, first run */
	void *arg;
};

struct fk_delay {
	fk_delay_fn fn;
	struct entry *heap; /* min-heap by (due_ns, seq) */
	size_t n, cap;
	uint64_t seq;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static bool before(const struct entry *a, const struct entry *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void heap_push(struct fk_delay *d, struct entry en)
{
	size_t i;

	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : HEAP_FIRST;
		d->heap = xreallocarray(d->heap, d->cap, sizeof(*d->heap));
	}
	i = d->n++;
	while (i > 0 && before(&en, &d->heap[(i - 1) / 2])) {
		d->heap[i] = d->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	d->heap[i] = en;
}

static struct entry heap_pop(struct fk_delay *d)
{
	struct entry top = d->heap[0], last = d->heap[--d->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= d->n)
			break;
		if (c + 1 < d->n && before(&d->heap[c + 1], &d->heap[c]))
			c++;
		if (!before(&d->heap[c], &last))
			break;
		d->heap[i] = d->heap[c];
		i = c;
	}
	if (d->n)
		d->heap[i] = last;
	return top;
}

struct fk_delay *fk_delay_new(fk_delay_fn fn)
{
	struct fk_delay *d = xcalloc(1, sizeof(*d));

	d->fn = fn;
	return d;
}

void fk_delay_add(struct fk_delay *d, int64_t ms, void *arg)
{
	struct entry en = {mono_ns() + (ms > 0 ? ms : 0) * NS_PER_MS, d->seq++, arg};

	heap_push(d, en);
}

int64_t fk_delay_next_ns(const struct fk_delay *d)
{
	int64_t left;

	if (d->n == 0)
		return -1;
	left = d->heap[0].due_ns - mono_ns();
	return left <= 0 ? 0 : left;
}

size_t fk_delay_run(struct fk_delay *d)
{
	int64_t now = mono_ns();
	size_t ran = 0;

	/* fn may add entries; they are due later than now unless their wait is 0 */
	while (d->n && d->heap[0].due_ns <= now) {
		d->fn(heap_pop(d).arg);
		ran++;
	}
	return ran;
}

bool fk_delay_run_one(struct fk_delay *d)
{
	if (!d->n || d->heap[0].due_ns > mono_ns())
		return false;
	d->fn(heap_pop(d).arg);
	return true;
}

void fk_delay_flush(struct fk_delay *d)
{
	while (d->n)
		d->fn(heap_pop(d).arg);
}

void fk_delay_free(struct fk_delay *d)
{
	if (!d)
		return;
	free(d->heap);
	free(d);
}
