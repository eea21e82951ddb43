/*
 * Executes a plan: one whole-set write per endpoint whose rules differ, the purges not yet
 * in the ledger, waiting for asynchronous tasks, re-reading written endpoints to confirm
 * them, and recording everything in the ledger. The run is a series of rounds, each one
 * http_run() batch of every request that may go at that moment (writes, confirming reads,
 * purge and preload batches, due polls), so --parallelism bounds the concurrency and no
 * endpoint waits for another's steps: the purges of endpoints without a rule write go in
 * the first round with the writes, an endpoint's purges go as soon as its write is
 * confirmed.
 *
 * Order and recording rules (SPEC §4, §5):
 *   - an endpoint's rule write happens (and is confirmed) before its purges; a failed write
 *     skips its purges;
 *   - a purge is recorded "submitted" (with its task ids) right after the round in which
 *     the provider accepted it and before it is polled, then "succeeded" or "failed"; each
 *     task carries its batch index and state, so a later run polls the accepted batches and
 *     sends only those never accepted (or whose task failed); a batch whose answer could not
 *     be read (broken connection, unreadable 2xx) is recorded "unknown": the next apply
 *     sends it once more, never this one; all
 *     records of one round go in one compare-and-swap commit, and the final records, the
 *     confirmed endpoints and the in-sync endpoints (apply_record_in_sync) in one more; when
 *     no purge job needs the ledger and many endpoints are in sync, their records are
 *     committed by a helper thread while the rounds run (their own commit, before the final
 *     one; if it fails they go in the final one);
 *   - without keep_going the first failure stops everything not yet started; requests
 *     already sent in the same round (other endpoints' purges) finish and are recorded.
 */
#ifndef CF_APPLY_H
#define CF_APPLY_H

#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/sb.h"
#include "reconcile/engine.h"
#include "reconcile/plan.h"
#include "reconcile/planfile.h"

#define APPLY_DEFAULT_TIMEOUT_S 1800
#define APPLY_POLL_FIRST_MS	200  /* first wait before polling a task */
#define APPLY_POLL_MAX_MS	5000 /* the wait grows by half each round up to this */
#define APPLY_RETRY_AFTER_MAX_S 30   /* a provider's poll hint is honoured up to this */
#define APPLY_LANE_MAX		512  /* bytes of a provider's write lane key */
/* Failed polls in a row after which a task is no longer waited for: it stays "submitted" in
 * the ledger, the next apply polls it again, and this one fails naming it. Each failed poll
 * has already been retried by the HTTP layer, so this many means the provider (or the way
 * to it) is down, not a blip. */
#define APPLY_POLL_FAILS_MAX 5
/* Progress lines without a terminal (reconcile/base/progress.h) name this many tasks. */
#define APPLY_NOTE_SHOWN 3

struct apply_opts {
	bool force, keep_going, no_wait;
	int64_t timeout_s; /* 0 = APPLY_DEFAULT_TIMEOUT_S; progress goes through progress.h */
	/* may be NULL; non-zero (a signal arrived): nothing new starts, the round in flight
	 * finishes and is recorded, accepted tasks are left submitted (not waited for) */
	const volatile sig_atomic_t *interrupt;
	/* may be NULL: each summary line is printed here as soon as its outcome is known (only
	 * the failed ones when live_quiet); apply_report then prints the rest */
	FILE *live;
	bool live_quiet;
	/* NULL = "apply"; the command's name in the ledger's commit messages ("rollback") */
	const char *verb;
	/* apply --stage staging: no endpoint record is written (the ledger's endpoint records
	 * say what each endpoint's own target runs) */
	bool no_endpoint_records;
};

enum apply_outcome { APPLY_DONE, APPLY_FAILED, APPLY_NOT_ATTEMPTED, APPLY_SUBMITTED };

/* What one operation of `apply --format json` came to: the outcomes, and "unknown" for a
 * purge or preload request whose answer could not be read (the provider may hold it). */
enum apply_status {
	APPLY_ST_DONE,
	APPLY_ST_FAILED,
	APPLY_ST_NOT_ATTEMPTED,
	APPLY_ST_SUBMITTED,
	APPLY_ST_UNKNOWN,
};
#define APPLY_ST_COUNT 5

/* "done", "failed", "not attempted", "submitted" or "unknown". */
const char *apply_status_name(enum apply_status s);

enum apply_op { APPLY_OP_RULES, APPLY_OP_PURGE, APPLY_OP_PRELOAD };
#define APPLY_OP_COUNT 3

/* "rules", "purge" or "preload". */
const char *apply_op_name(enum apply_op o);

/* A provider task of an operation, as the run left it. */
struct apply_task {
	char *id;	   /* owned; NULL when the answer naming it could not be read */
	const char *state; /* static: "running", "succeeded", "failed" or "unknown" */
};

/* One operation of an item: the rule write, or the purge or the preload part of a purge. */
struct apply_opres {
	bool present; /* the item has this operation (a purge item may have no preload) */
	enum apply_status status;
	struct apply_task *tasks; /* owned */
	size_t ntasks;
};

/* One line of the summary: an endpoint write or a purge on an endpoint. */
struct apply_item {
	char *what; /* owned: "endpoint 'www': cache rules" / "purge 'logo' on 'www'" */
	enum apply_outcome outcome;
	bool settled;		   /* the outcome was set (not the initial "not attempted") */
	bool shown;		   /* its line was printed as it settled (apply_opts.live) */
	char *detail;		   /* owned; may be NULL */
	char *endpoint, *manifest; /* owned; manifest NULL for a rule write */
	struct apply_opres ops[APPLY_OP_COUNT]; /* filled when apply_run returns */
};

struct apply_result {
	struct apply_item *v;
	size_t n, cap;
	size_t done, failed, not_attempted, submitted;
	size_t settled; /* items whose outcome is set (progress while the run goes on) */
	FILE *live;	/* apply_opts.live, during apply_run */
	bool live_quiet;
	size_t writes; /* write requests sent */
};

void apply_result_release(struct apply_result *r);

/* Endpoints over the safety threshold (0 = none). Prints each one on f when f != NULL. */
size_t apply_safety_violations(const struct plan *p, FILE *f);

/*
 * Checks a saved plan against a fresh one built from the same endpoints: every live digest
 * and every endpoint's desired rules must be unchanged (otherwise CF_ECONFLICT: stale) and
 * every purge it would run must carry the same content hash. Purges in fresh that the plan
 * file does not run are dropped from fresh. Returns 0, or CF_ECONFLICT with e naming the
 * first difference.
 */
int apply_check_planfile(struct plan *fresh, const struct planfile *pf, struct cf_err *e);

/*
 * Runs the plan. Returns 0 when every item is done (or submitted with no_wait), CF_EAPI
 * when some failed (r says which), or another negative code for an error that stopped
 * everything (e filled, e.g. the ledger could not be written). r is initialised here.
 */
int apply_run(struct engine *en, const struct plan *p, const struct apply_opts *o,
	      struct apply_result *r, struct cf_err *e);

/*
 * Records every selected managed endpoint the plan found in sync (action none, live read)
 * whose ledger record is missing or differs in live digest, account or rules, in one
 * compare-and-swap commit (none when every record already holds). apply_run() does the same
 * as part of its last commit; this is for an apply that finds nothing to change, so a later
 * console edit is reported by drift as external, not pending. Returns 0 or a negative code.
 */
int apply_record_in_sync(struct engine *en, const struct plan *p, struct cf_err *e);

/*
 * Records the pending journal's purges (reconcile/pending.h: accepted by the provider when the
 * ledger could not be written) and those of the in-flight journals of applies that died
 * (reconcile/inflight.h: accepted before the ledger write) in the ledger, pushed when it has a
 * remote, removes the journals and re-reads the ledger; *n and *ninflight say how many records
 * each kind held. For apply, before it plans. Returns 0 or a negative code (the journals stay
 * when the local ledger did not take them).
 */
int apply_fold_pending(struct engine *en, size_t *n, size_t *ninflight, struct cf_err *e);

/* Prints the summary: done, failed and not attempted items not printed live (quiet: only
 * the failed ones), then counts. */
void apply_report(const struct apply_result *r, bool quiet, FILE *f);

/*
 * Appends the operations of r as a JSON array member list for `apply --format json`:
 * "operations":[{"operation","endpoint","manifest","status","tasks":[{"id","state"}],
 * "error"}...],"totals":{"done",...} (no enclosing braces; README "apply --format json").
 * Strings go through sb_add_json_str.
 */
void apply_report_json(const struct apply_result *r, struct sb *out);

#endif
