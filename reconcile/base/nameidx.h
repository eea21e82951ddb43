/*
 * Names with their positions, sorted: finds a name's first position by binary search. A scan
 * per item made plan, apply and diff quadratic in the fleet (issue 17); one index per array
 * keeps "the first of equal names wins", as the scans it replaces did.
 */
#ifndef CF_NAMEIDX_H
#define CF_NAMEIDX_H

#include <stddef.h>

#define NAMEIDX_NONE ((size_t)-1) /* nameidx_find: the name is absent */

struct nameidx_ent {
	const char *name; /* borrowed: the indexed array owns it */
	size_t pos;
};

struct nameidx {
	struct nameidx_ent *v;
	size_t n, cap;
};

void nameidx_init(struct nameidx *x);
void nameidx_release(struct nameidx *x);
/* Forgets the names, keeps the memory (an index rebuilt after its array grew). */
void nameidx_reset(struct nameidx *x);
/* Records name at pos; a NULL name is not recorded (it matches nothing). */
void nameidx_add(struct nameidx *x, const char *name, size_t pos);
/* Sorts by name, then position. Call after the last nameidx_add, before nameidx_find. */
void nameidx_sort(struct nameidx *x);
/* The lowest position recorded with name, or NAMEIDX_NONE (also for a NULL name). */
size_t nameidx_find(const struct nameidx *x, const char *name);

#endif
