/*
 * The ledger's storage: refs/cacheform/ledger in the desired-state repository, a chain of
 * commits (never on a branch). The ledger half of the repository module; the only place
 * libgit2 is used for the ledger.
 *
 * Tree layout (fan-out by a hash of the manifest id or endpoint name, so no tree grows with
 * the ledger and a commit rewrites only the few small trees on its records' paths):
 *   v2/purges/<h1>/<h2>/<id>/<endpoint>.json   purge records
 *   v2/endpoints/<h1>/<h2>/<name>.json         endpoint records
 *   v2/compacted/<h1>/<h2>/<id>.json           summaries written by `ledger compact`
 * <h1><h2> are the first 4 hex digits of the 32-bit FNV-1a hash of the id or name. Ledgers
 * written before it (purges/<id>/<endpoint>.json, endpoints/<name>.json) are read as they
 * are; a record written again moves to the v2 path and its old path is removed in the same
 * commit. A record at a v2 path wins over one at an old path; both win over a summary.
 *
 * Every update is a compare-and-swap on the ref: build a commit on top of the tip that was
 * read, move the ref only if it still points there, otherwise re-read and re-apply the same
 * upserts. Two processes recording at once therefore both keep their records. cacheform's
 * writers also take the writers' lock (reconcile/repo_lock.h) around each update, so they
 * queue instead of racing, and one kept waiting names the holder ("ledger locked by PID@HOST").
 */
#ifndef CF_REPO_LEDGER_H
#define CF_REPO_LEDGER_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/base/diag.h"
#include "reconcile/ledger.h"

#define REPO_LEDGER_REF	      "refs/cacheform/ledger"
#define REPO_LEDGER_CAS_TRIES 500 /* attempts before giving up on a contended ref */

struct repo_ledger;

/*
 * Opens the git repository containing dir (searching upwards). Returns 0, or CF_EIO when
 * dir is not inside a git repository. Caller closes with repo_ledger_close().
 */
int repo_ledger_open(const char *dir, struct repo_ledger **out, struct cf_err *e);
void repo_ledger_close(struct repo_ledger *rl);

/* Reads every record at the ref's tip into *out (initialised here; empty when the ref does
 * not exist yet). Returns 0, CF_EIO or CF_EINVAL (a malformed record, named). */
int repo_ledger_read(struct repo_ledger *rl, struct ledger *out, struct cf_err *e);

/* Reads manifest id's purge records and the endpoint record named id (`ledger show`) at the
 * ref's tip into *out (initialised here): a few paths, whatever the ledger's size. Returns 0,
 * CF_EIO or CF_EINVAL. */
int repo_ledger_read_manifest(struct repo_ledger *rl, const char *id, struct ledger *out,
			      struct cf_err *e);

/*
 * Initialises *out empty and makes it read records of the ref's tip on demand, one path per
 * lookup (ledger_set_source): what a plan needs from a ledger of any size. rl must outlive
 * *out. Returns 0 or CF_EIO.
 */
int repo_ledger_attach(struct repo_ledger *rl, struct ledger *out, struct cf_err *e);

/*
 * Adds or replaces np purge records and nep endpoint records in one commit, by
 * compare-and-swap with retries. A purge record already final at the tip is never replaced
 * by a "submitted" one (a concurrent apply finished it). Returns 0, CF_ECONFLICT after
 * REPO_LEDGER_CAS_TRIES lost races or when the writers' lock stayed held
 * (REPO_LOCK_WAIT_MS), or CF_EIO.
 */
int repo_ledger_record(struct repo_ledger *rl, const struct ledger_purge *p, size_t np,
		       const struct ledger_endpoint *eps, size_t nep, const char *message,
		       struct cf_err *e);

/*
 * The CDN Pro staging record of endpoint name at the ref's tip (ledger_endpoint.staging,
 * written through repo_ledger_record like any endpoint record). Returns 1 (*out filled, owned
 * by the caller), 0 (none) or a negative code.
 */
int repo_ledger_staging(struct repo_ledger *rl, const char *name, struct ledger_endpoint *out,
			struct cf_err *e);

/*
 * Claims purges before they are sent (SPEC §5): in one compare-and-swap commit, records
 * claims[i] (status claimed, with its claimant) for every i whose record at the tip is still
 * the expected[i] this apply planned from (NULL: absent); won[i] tells which. A record that
 * changed since (another apply claimed, sent or finished it) is left alone and won[i] is
 * false. Returns 0, CF_ECONFLICT after REPO_LEDGER_CAS_TRIES lost races, or CF_EIO.
 */
int repo_ledger_claim(struct repo_ledger *rl, const struct ledger_purge *claims,
		      const struct ledger_purge *const *expected, size_t n, bool *won,
		      const char *message, struct cf_err *e);

/*
 * `ledger compact`: in one compare-and-swap commit, replaces every succeeded or marked purge
 * record finished (or, without a finish time, submitted) before `before` (unix seconds) by
 * its manifest's summary (ledger_summary_encode, merged with an earlier summary). Failed,
 * unknown, submitted and claimed records stay. *records and *manifests say how many were
 * compacted. Returns 0, CF_ECONFLICT or CF_EIO.
 */
int repo_ledger_compact(struct repo_ledger *rl, int64_t before, const char *message,
			size_t *records, size_t *manifests, struct cf_err *e);

/* The repository's common git directory (with a trailing '/'), where the writers' lock
 * (reconcile/repo_lock.h) and the pending journal (reconcile/pending.h) live. Borrowed. */
const char *repo_ledger_gitdir(const struct repo_ledger *rl);

/* Returns the ref's tip as 40 hex digits into buf (>= 41 bytes), "" when absent. */
void repo_ledger_tip(struct repo_ledger *rl, char *buf, size_t n);

#endif
