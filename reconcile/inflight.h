/*
 * The in-flight journal: every purge acceptance an apply sees, made durable the moment it is
 * seen (SPEC §5: a process killed between the provider's acceptance and the ledger write may
 * repeat that one purge, nothing else), before the round's ledger commit.
 *
 * One file per apply process, <git dir>/cacheform-inflight-XXXXXX.jsonl, created exclusively
 * and held under flock(2) for the process's life: an flock ends with its process (SIGKILL
 * too), so a later apply tells a dead apply's journal (it can take the lock) from a live one's
 * (it cannot). Lines are appended (O_APPEND), and a writer thread makes whatever was queued
 * durable with one write and one fdatasync: acceptances that arrive together share one sync
 * (group commit) and the HTTP loop never waits on the disk.
 *
 * A line is a ledger purge record (reconcile/ledger.h's JSON). The first line of a purge holds
 * its whole record; a later one holds only the tasks accepted since, which are merged into it
 * by batch index (so n acceptances write O(n) bytes, not O(n^2)). A crash can tear only the
 * last line (nobody appends to a dead apply's file): bytes after the last newline are ignored,
 * never decoded. Read back as untrusted bytes: size- and count-capped, every complete line
 * decoded and checked; a complete line that does not decode is an error naming it.
 */
#ifndef CF_INFLIGHT_H
#define CF_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/base/diag.h"
#include "reconcile/ledger.h"
#include "reconcile/pending.h"

#define INFLIGHT_PREFIX	   "cacheform-inflight-"
#define INFLIGHT_SUFFIX	   ".jsonl"
#define INFLIGHT_MAX_FILES 256 /* journals of dead applies not folded yet; more is an error */

struct inflight;

/* Creates this process's journal in gitdir and starts its writer. Returns 0 or CF_EIO. */
int inflight_open(const char *gitdir, struct inflight **out, struct cf_err *e);

/*
 * Queues rec as a line (first for its purge: the whole record; later: pass only the new tasks,
 * the rest of rec as the first time) and wakes the writer; never waits for the disk. A failed
 * write is reported by inflight_sync.
 */
void inflight_add(struct inflight *f, const struct ledger_purge *rec);

/* Waits until every line queued so far is durable. Returns 0 or CF_EIO (then every later call
 * fails too: the journal is no longer trusted to hold what was added). */
int inflight_sync(struct inflight *f, struct cf_err *e);

/* fdatasync calls made so far (for --debug statistics and tests). */
size_t inflight_syncs(const struct inflight *f);

/* Stops the writer (after the queue is written) and closes the journal, releasing its lock;
 * remove: unlink it first (its records reached the ledger). NULL-safe. */
void inflight_close(struct inflight *f, bool remove);

/*
 * Parses len bytes of one journal, merging its records into *out (not cleared: lines of
 * several journals gather in one set). Bytes after the last newline are a torn line: ignored,
 * their count in *torn. Blank lines are skipped. Returns 0 or CF_EINVAL/CF_ELIMIT naming the
 * line.
 */
int inflight_parse(const char *buf, size_t len, struct pending *out, size_t *torn,
		   struct cf_err *e);

/* Journals of gitdir that load (or take) found, for inflight_release_taken. */
struct inflight_taken {
	int *fd;
	char **path;
	size_t n;
};

/*
 * Merges the records of gitdir's journals into *out. take NULL: all of them (the live ones'
 * too: what plan and the overlay see). take set: only those of applies gone (their lock could
 * be taken), kept locked in *take so nobody else folds or removes them meanwhile. Returns 0
 * or a negative code (unreadable, too many, too large, malformed).
 */
int inflight_load(const char *gitdir, struct pending *out, struct inflight_taken *take,
		  struct cf_err *e);

/* Unlocks the taken journals; remove: unlinks them first (their records reached the ledger). */
void inflight_release_taken(struct inflight_taken *t, bool remove);

#endif
