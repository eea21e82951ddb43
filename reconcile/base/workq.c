#include "reconcile/base/compat.h"
#include "reconcile/base/workq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "reconcile/base/xmem.h"

/* items in a list before it first grows: a fed HTTP run holds a few times its parallelism */
#define WORKQ_FIRST_CAP 64

struct ilist {
	void **v;
	size_t n, cap;
};

struct workq {
	workq_fn fn;
	void *arg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more; /* todo has items, or stop */
	struct ilist todo;   /* put, not yet started */
	struct ilist done;   /* finished, not yet taken */
	size_t held;	     /* put and not taken (read by the feeding thread only) */
	bool stop;
	int efd;
};

static void ilist_add(struct ilist *l, void *const *items, size_t n)
{
	if (l->n + n > l->cap) {
		size_t cap = l->cap ? l->cap : WORKQ_FIRST_CAP;
		while (cap < l->n + n)
			cap *= 2;
		l->v = xreallocarray(l->v, cap, sizeof(*l->v));
		l->cap = cap;
	}
	memcpy(l->v + l->n, items, n * sizeof(*items));
	l->n += n;
}

static void ilist_swap(struct ilist *a, struct ilist *b)
{
	struct ilist t = *a;
	*a = *b;
	*b = t;
}

/* Tells the feeding thread finished items wait; a failed write only delays the take. */
static void signal_done(struct workq *q)
{
	uint64_t one = 1;
	ssize_t w;
	do
		w = write(q->efd, &one, sizeof(one));
	while (w < 0 && errno == EINTR);
}

/*
 * Takes the whole todo list at once and runs fn on it outside the lock, so the feeding
 * thread is blocked only for a swap of two lists, whatever fn costs.
 */
static void *worker(void *arg)
{
	struct workq *q = arg;
	struct ilist batch = {0};
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->todo.n == 0 && !q->stop)
			pthread_cond_wait(&q->more, &q->lock);
		if (q->todo.n == 0)
			break;
		batch.n = 0;
		ilist_swap(&batch, &q->todo);
		pthread_mutex_unlock(&q->lock);
		for (size_t i = 0; i < batch.n; i++)
			q->fn(batch.v[i], q->arg);
		pthread_mutex_lock(&q->lock);
		bool was_empty = q->done.n == 0;
		ilist_add(&q->done, batch.v, batch.n);
		if (was_empty)
			signal_done(q);
	}
	pthread_mutex_unlock(&q->lock);
	free(batch.v);
	return NULL;
}

struct workq *workq_start(workq_fn fn, void *arg)
{
	struct workq *q = xcalloc(1, sizeof(*q));
	q->fn = fn;
	q->arg = arg;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0)
		goto fail;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->more, NULL);
	if (pthread_create(&q->thread, NULL, worker, q) != 0) {
		pthread_cond_destroy(&q->more);
		pthread_mutex_destroy(&q->lock);
		close(q->efd);
		goto fail;
	}
	return q;
fail:
	free(q);
	return NULL;
}

void workq_put(struct workq *q, void *const *items, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&q->lock);
	ilist_add(&q->todo, items, n);
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
	q->held += n;
}

int workq_fd(const struct workq *q)
{
	return q->efd;
}

size_t workq_take(struct workq *q, void ***out, size_t *cap)
{
	uint64_t v;
	while (read(q->efd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&q->lock);
	size_t n = q->done.n;
	if (n > *cap) {
		*out = xreallocarray(*out, n, sizeof(**out));
		*cap = n;
	}
	if (n)
		memcpy(*out, q->done.v, n * sizeof(**out));
	q->done.n = 0;
	pthread_mutex_unlock(&q->lock);
	q->held -= n;
	return n;
}

size_t workq_held(const struct workq *q)
{
	return q->held;
}

void workq_stop(struct workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->more);
	pthread_mutex_destroy(&q->lock);
	close(q->efd);
	free(q->todo.v);
	free(q->done.v);
	free(q);
}
