/*
 * The ledger shared through a git remote (apply --ledger-remote NAME, or the repository's git
 * setting cacheform.ledgerRemote): refs/cacheform/ledger is fetched from the remote before an
 * apply plans, and every ledger commit (claims included) is pushed right after it is made.
 *
 * A push that loses to another clone (non-fast-forward) fetches again and re-applies the same
 * update: a claim is decided again against the records the remote now holds (so of several
 * clones racing for a purge exactly one wins it, SPEC §5), a record commit is merged on top of
 * the remote's. A remote that is a repository on this file system is updated by
 * compare-and-swap on its ref directly, under its writers' lock (reconcile/repo_lock.h): libgit2's
 * own local push moves the ref without checking its old value, so two clones could both "win".
 * Other remotes go through libgit2's transports (the server checks the old value); SSH
 * authenticates through ssh-agent.
 *
 * libgit2 stays inside reconcile/repo*.c.
 */
#ifndef CF_REPO_REMOTE_H
#define CF_REPO_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/base/diag.h"
#include "reconcile/ledger.h"
#include "reconcile/repo_ledger.h"

#define REPO_REMOTE_CONFIG     "cacheform.ledgerRemote" /* git config: the default NAME */
#define REPO_REMOTE_PUSH_TRIES 100 /* pushes lost to other clones before giving up */
#define REPO_REMOTE_NAME_MAX   256

struct repo_remote;

/* True when the repository at dir sets cacheform.ledgerRemote; its value goes into buf. */
bool repo_remote_configured(const char *dir, char *buf, size_t n);

/*
 * Opens the git remote NAME of the repository containing dir. Returns 0, CF_EINVAL when the
 * repository has no such remote, or CF_EIO. Caller closes with repo_remote_close().
 */
int repo_remote_open(const char *dir, const char *name, struct repo_remote **out, struct cf_err *e);
void repo_remote_close(struct repo_remote *rr);
const char *repo_remote_name(const struct repo_remote *rr);

/*
 * Fetches the remote's refs/cacheform/ledger into the local ref: the local ref moves forward to
 * it, stays when it is ahead (commits not pushed yet: the next push sends them), and otherwise
 * becomes a merge of both (the local records on top of the remote's; a local record does not
 * replace a final one the remote holds). *absent is true when the remote has no ledger (the
 * local ref is then left as it is). Returns 0, or CF_EIO when the fetch failed: the remote
 * could not be reached or read. That is not "absent": nothing may be sent.
 */
int repo_remote_fetch(struct repo_remote *rr, bool *absent, struct cf_err *e);

/*
 * Pushes the local ref. *rejected is true when the remote moved on since the last fetch
 * (another clone pushed): fetch and try again. Returns 0 (pushed, or rejected), or CF_EIO.
 */
int repo_remote_push(struct repo_remote *rr, bool *rejected, struct cf_err *e);

/*
 * repo_ledger_claim() shared through the remote: fetch, claim locally, push; a push rejected
 * undoes the local claim commit and starts again from a new fetch, so a claim counts only once
 * the remote holds it. Returns 0 (won[] says which), CF_ECONFLICT after REPO_REMOTE_PUSH_TRIES
 * lost pushes, or CF_EIO (nothing was claimed: the local ref is back where it was).
 */
int repo_remote_claim(struct repo_remote *rr, struct repo_ledger *rl,
		      const struct ledger_purge *claims, const struct ledger_purge *const *expected,
		      size_t n, bool *won, const char *message, struct cf_err *e);

/*
 * repo_ledger_record() shared through the remote: record locally, then push; a rejected push
 * fetches (merging the records on top of the remote's) and pushes again. Returns 0, or a
 * negative code: with *local false, from the local record (nothing recorded); with *local
 * true, the records are in the local ledger but not on the remote (the message says so; the
 * next apply's fetch merges and pushes them).
 */
int repo_remote_record(struct repo_remote *rr, struct repo_ledger *rl, const struct ledger_purge *p,
		       size_t np, const struct ledger_endpoint *eps, size_t nep,
		       const char *message, bool *local, struct cf_err *e);

/* The URL's kind, for tests and messages: true when it names a repository on this file
 * system (an absolute or relative path, or file://), with that path into buf. */
bool repo_remote_url_path(const char *url, char *buf, size_t n);

#endif
