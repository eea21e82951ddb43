/*
 * Drift: the desired state (the repository), the live state (read from the provider) and
 * the last applied state (the cache rules the ledger recorded for the endpoint's last apply)
 * compared three ways, so a difference between desired and live can be attributed:
 *
 *   pending   the repository changed since the last apply; live still equals what was applied
 *   external  live changed outside cacheform since the last apply; the repository did not
 *   both      both changed
 *
 * Without a ledger record the origin cannot be told apart; cacheform then calls the
 * difference `pending` for a managed endpoint (applying would write it: it was never applied)
 * and `external` for an observe-mode endpoint (cacheform never writes those, so the
 * repository is the expectation and live has departed from it).
 * Purge-only endpoints have no managed rules and are not checked.
 */
#ifndef CF_DRIFT_H
#define CF_DRIFT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/rulediff.h"
#include "reconcile/engine.h"
#include "reconcile/base/model.h"
#include "reconcile/base/sb.h"
#include "reconcile/shard.h"

enum drift_class { DRIFT_IN_SYNC, DRIFT_PENDING, DRIFT_EXTERNAL, DRIFT_BOTH, DRIFT_ERROR };

/* Returns "in-sync", "pending", "external", "both" or "error". */
const char *drift_class_name(enum drift_class c);

/* Classifies one endpoint. applied is NULL when the ledger has no record of it. */
enum drift_class drift_classify(const struct cache *desired, const struct cache *live,
				const struct cache *applied, enum endpoint_mode mode);

struct drift_ep {
	char *name, *account; /* owned */
	char *file;	      /* owned; the endpoint's file in the repository ("" when unknown) */
	unsigned line;	      /* of the endpoint: key in it (0 when unknown) */
	enum provider_kind provider;
	enum endpoint_mode mode;
	enum drift_class cls;
	char *error; /* owned; the read failure when cls is DRIFT_ERROR */
	bool has_record;
	char applied_commit[41];
	int64_t applied_at;
	struct cache desired, live; /* owned copies (live empty on error) */
	struct cache_diff diff;	    /* what applying would change: live -> desired */
};

struct drift_report {
	struct drift_ep *v;
	size_t n, cap;
	size_t counts[DRIFT_ERROR + 1]; /* per class */
	size_t skipped;			/* purge-only endpoints in the selection */
};

void drift_report_release(struct drift_report *r);

/*
 * Narrows the engine's selection to the endpoints of shard s (before engine_connect, so
 * accounts used only by other shards are never opened). Returns how many remain.
 */
size_t drift_select_shard(struct engine *en, const struct shard *s);

/*
 * Starts the working-tree check a deferred open left on a thread of its own, to run during
 * the reads (repo_src_settle_start); drift_settle_commit collects it. Call after the
 * configuration is loaded.
 */
void drift_settle_begin(struct engine *en);

/*
 * Runs the working-tree check a deferred open left (repo_src_open_deferred); when the files
 * read differ from HEAD, the engine's and the configuration's commit become "" (as an eager
 * check would have made them). Call after the reads, before anything names the commit.
 */
void drift_settle_commit(struct engine *en);

/*
 * Builds the report from the engine's selected endpoints after engine_read_all() and its
 * ledger snapshot. Returns 0, or CF_ELIMIT (rule diff refused) with e filled.
 */
int drift_build(const struct engine *en, struct drift_report *out, struct cf_err *e);

/*
 * Appends why d has its class, for people ("live changed outside cacheform since the last
 * apply (abc123def456)", "not checked: ..."). The one wording every drift format uses.
 */
void drift_reason(struct sb *sb, const struct drift_ep *d);

/* True when some endpoint drifted (pending, external or both). */
bool drift_found(const struct drift_report *r);

#endif
