/*
 * A second thread for work that must not hold up the one that feeds it. The HTTP loop
 * hands each answer to the worker and goes back to its sockets at once: decoding an answer
 * (json-c, the provider's decode, the behaviour digest) is most of cacheform's CPU per
 * endpoint, and done on the loop's thread it delayed every request queued behind it and
 * kept the emulator's wake-up waiting on the same core (issue 17).
 *
 * Items go in with workq_put in order; the worker runs fn on them in that order and puts
 * them on a finished list, and workq_fd becomes readable. The feeding thread takes them back
 * with workq_take. Items belong to the worker from put to take.
 */
#ifndef CF_WORKQ_H
#define CF_WORKQ_H

#include <stddef.h>

struct workq;

/* Runs on the worker for each item, in the order put. */
typedef void (*workq_fn)(void *item, void *arg);

/*
 * Starts the worker. Returns NULL when no thread or descriptor can be had (the caller then
 * does the work itself); caller stops it with workq_stop.
 */
struct workq *workq_start(workq_fn fn, void *arg);

/* Hands n items to the worker, in order. */
void workq_put(struct workq *q, void *const *items, size_t n);

/* A descriptor that is readable while finished items wait to be taken (for epoll/poll). */
int workq_fd(const struct workq *q);

/*
 * Moves every finished item into *out (grown as needed, *cap its capacity; caller frees)
 * and returns how many; 0 when none. Never blocks.
 */
size_t workq_take(struct workq *q, void ***out, size_t *cap);

/* How many items were put and not yet taken back. */
size_t workq_held(const struct workq *q);

/* Waits until fn ran on every item put, stops the worker and frees q (NULL is a no-op).
 * Finished items not taken are dropped: take them first when they own something. */
void workq_stop(struct workq *q);

#endif
