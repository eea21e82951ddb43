/*
 * The ledger writers' lock: <git dir>/cacheform-ledger.lock, held with flock(2) by a cacheform
 * process while it updates refs/cacheform/ledger (locally, or on a ledger remote that is a
 * path), and holding "PID@HOST" so that a process kept waiting can say who holds it.
 *
 * git's own ref lock (refs/cacheform/ledger.lock) is held for well under a millisecond and says
 * nothing about its holder; this lock serialises cacheform's writers around the whole
 * compare-and-swap so they stop losing races to each other, and an flock ends with its process,
 * so a SIGKILLed apply never leaves it held. The compare-and-swap on the ref still guards
 * against every other writer (git, another tool).
 */
#ifndef CF_REPO_LOCK_H
#define CF_REPO_LOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/base/diag.h"

#define REPO_LOCK_FILE	      "cacheform-ledger.lock"
#define REPO_LOCK_WAIT_MS     5000  /* a writer holds it for milliseconds: 5 s is a stuck one */
#define REPO_LOCK_WAIT_MAX_MS 60000 /* behind holders that keep changing: then give up */
#define REPO_LOCK_HOLDER_MAX  320   /* "PID@HOST" */

struct repo_lock {
	int fd; /* -1: not held */
};

/*
 * Takes the lock in gitdir, waiting up to wait_ms after it last changed hands (at most
 * REPO_LOCK_WAIT_MAX_MS in all). Returns 0 (lk held), CF_ECONFLICT when one process held it
 * all that time ("ledger locked by PID@HOST (held for N s)"), or CF_EIO
 * when the lock file cannot be created or written (a read-only or full file system). lk->fd is
 * -1 after a failure.
 */
int repo_lock_take(const char *gitdir, int wait_ms, struct repo_lock *lk, struct cf_err *e);

/* Releases the lock (NULL-safe, and safe on a lock not held). */
void repo_lock_release(struct repo_lock *lk);

/*
 * Reads who holds the lock into buf: "PID@HOST" as written by the holder, "" when nobody holds
 * it (the flock is free) or the file does not exist. Returns true when somebody holds it.
 */
bool repo_lock_holder(const char *gitdir, char *buf, size_t n);

/*
 * Before anything is sent: proves the ledger can be written by taking the lock (wait_ms) and
 * creating, writing, syncing and removing a file in gitdir/objects, where the ledger's objects
 * go. Returns 0, CF_ECONFLICT (locked, named) or CF_EIO (not writable, with the reason).
 */
int repo_lock_probe(const char *gitdir, int wait_ms, struct cf_err *e);

#endif
