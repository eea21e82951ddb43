/*
 * The latency knob's clock: entries waiting for their time in a min-heap, so a delayed answer
 * costs a heap slot instead of a sleeping thread. Not locked: the server's one event-loop
 * thread adds entries (from its request handler) and runs the due ones.
 */
#ifndef FK_DELAY_H
#define FK_DELAY_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*fk_delay_fn)(void *arg);

struct fk_delay;

struct fk_delay *fk_delay_new(fk_delay_fn fn);
/* Waits ms milliseconds (monotonic clock; <= 0: due at once) before fn(arg) may run. */
void fk_delay_add(struct fk_delay *d, int64_t ms, void *arg);
/* Nanoseconds until the earliest entry is due: 0 when one is due, -1 when nothing waits. */
int64_t fk_delay_next_ns(const struct fk_delay *d);
/* Calls fn for every entry that is due (never one that is not), earliest first; entries due
 * at the same time in the order they were added. Returns how many ran. */
size_t fk_delay_run(struct fk_delay *d);
/* Calls fn for the earliest entry if it is due. Returns whether one ran. */
bool fk_delay_run_one(struct fk_delay *d);
/* Calls fn for every entry still waiting, due or not (the caller is shutting down). */
void fk_delay_flush(struct fk_delay *d);
/* Frees d (NULL: no-op); entries still waiting are forgotten. */
void fk_delay_free(struct fk_delay *d);

#endif
