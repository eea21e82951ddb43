/*
 * Merges the `drift --format json` reports of the N shards of one fleet into one report of the
 * same shape (`cacheform drift-merge`). The shards must describe one desired state (the same
 * commit) and together be exactly shards 1..N of one --shard count and budget, each once; an
 * endpoint reported by two shards is an error, since shards partition the fleet.
 */
#ifndef CF_DRIFTMERGE_H
#define CF_DRIFTMERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/sb.h"

#define DRIFTMERGE_MAX_BYTES ((size_t)1 << 30) /* one shard's report */
#define DRIFTMERGE_MAX_DEPTH 32
#define DRIFTMERGE_MAX_FILES 4096 /* SHARD_MAX_COUNT */

struct driftmerge;

/* A new, empty merge; caller frees with driftmerge_free(). */
struct driftmerge *driftmerge_new(void);
void driftmerge_free(struct driftmerge *m);

/*
 * Adds one shard's report: text[0..len) read from name (named in errors). Returns 0, or
 * CF_EINVAL with e ("name: why") when it is not a drift report, disagrees with the reports
 * added before (commit, shard count or budget) or repeats a shard or an endpoint.
 */
int driftmerge_add(struct driftmerge *m, const char *name, const char *text, size_t len,
		   struct cf_err *e);

/*
 * Appends the merged report (endpoints sorted by name) to out. Returns 0, or CF_EINVAL when a
 * shard of 1..N is missing (named). *drift tells whether any endpoint drifted and *errors how
 * many could not be checked; *ledgers_differ that the shards read different ledger tips (a
 * ledger write between them), which the report also says.
 */
int driftmerge_write(struct driftmerge *m, struct sb *out, bool *drift, size_t *errors,
		     bool *ledgers_differ, struct cf_err *e);

#endif
