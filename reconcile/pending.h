/*
 * The pending journal: purge records the provider accepted but the ledger could not take (a
 * full disk, a read-only object store, a lock held), kept beside the repository in
 * <git dir>/cacheform-pending.jsonl until the next apply folds them into the ledger.
 *
 * One ledger purge record (reconcile/ledger.h's JSON) per line. The file is rewritten whole
 * (old lines, then the new ones) into a temporary file that is synced and renamed over it, so a
 * crash leaves the old journal or the new one, never half of one. It is local, but it is read
 * back as untrusted bytes like every ledger record: size-capped, each line decoded and checked.
 * A later line replaces an earlier one for the same (manifest, endpoint).
 */
#ifndef CF_PENDING_H
#define CF_PENDING_H

#include <stddef.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/sb.h"
#include "reconcile/ledger.h"

#define PENDING_FILE	    "cacheform-pending.jsonl"
#define PENDING_MAX_BYTES   ((size_t)64 << 20)
#define PENDING_MAX_RECORDS 100000

struct pending {
	struct ledger_purge *v;
	size_t n, cap;
};

void pending_release(struct pending *p);

/* Parses len bytes of journal into *out (initialised here). Blank lines are skipped. Returns 0
 * or CF_EINVAL/CF_ELIMIT naming the line. */
int pending_parse(const char *buf, size_t len, struct pending *out, struct cf_err *e);

/* Appends n records as journal lines to out. Returns 0, or -1 when out's cap was hit. */
int pending_encode(const struct ledger_purge *recs, size_t n, struct sb *out);

/* The record for (id, endpoint) in p, or NULL. */
struct ledger_purge *pending_find(struct pending *p, const char *id, const char *endpoint);

/* The journal's path in gitdir into path. */
void pending_path(const char *gitdir, struct sb *path);
/* The path of file name in gitdir into path. */
void pending_dir_file(const char *gitdir, const char *name, struct sb *path);

/* Reads the journal of gitdir into *out (empty when there is none). Returns 0 or a negative
 * code (unreadable, too large, malformed). */
int pending_load_file(const char *gitdir, struct pending *out, struct cf_err *e);

/* What the next plan must count as sent: the journal of gitdir, then the records of every
 * in-flight journal there (reconcile/inflight.h: acceptances of running or killed applies)
 * merged over it. Returns as pending_load_file. */
int pending_load(const char *gitdir, struct pending *out, struct cf_err *e);

/* Adds n records to the journal of gitdir, atomically and durably (see above). Returns 0 or
 * CF_EIO. */
int pending_save(const char *gitdir, const struct ledger_purge *recs, size_t n, struct cf_err *e);

/* Removes the journal of gitdir (after its records reached the ledger). Returns 0 or CF_EIO. */
int pending_remove(const char *gitdir, struct cf_err *e);

/* Puts every journal record into l, except over a record that is final there (the ledger
 * already knows how it ended). */
void pending_overlay(const struct pending *p, struct ledger *l);

#endif
