/*
 * The ledger's records and their JSON codec (no git here: reconcile/repo_ledger.h stores
 * them on refs/cacheform/ledger).
 *
 * A purge record is keyed by (manifest id, endpoint), an endpoint record by its name. Both
 * are small JSON documents with "format_version": 1 so other tools can read the ref (where
 * they live in its tree: reconcile/repo_ledger.h).
 */
#ifndef CF_LEDGER_H
#define CF_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/base/sb.h"

#define LEDGER_FORMAT_VERSION 1
#define LEDGER_RECORD_MAX     ((size_t)1 << 20) /* one record's JSON; a bound for reading */
#define LEDGER_MAX_TASKS      4096
#define LEDGER_DEPLOY_ID_MAX  128 /* a CDN Pro deployment task id (a uuid) with room */

enum ledger_status {
	LEDGER_SUBMITTED, /* the provider accepted (some of) its requests; result not known yet */
	LEDGER_SUCCEEDED,
	LEDGER_FAILED,
	LEDGER_MARKED,	/* recorded by `ledger mark`, never run by cacheform */
	LEDGER_UNKNOWN, /* the answer to a request could not be read: it may have been
			   accepted; its batches are sent again once, by the next apply */
	LEDGER_CLAIMED, /* an apply (claim_by) took it and is about to send it; another apply
			   leaves it alone until LEDGER_CLAIM_LEASE_S passed (then one retry) */
};

/*
 * How long a claim holds without a submitted record following it. An apply that claimed a
 * purge and died before sending leaves the claim behind; after the lease one later apply
 * claims it again and sends it (LEDGER_CLAIM_RETRIES claims in all, then it is left for a
 * person: `ledger mark`, or remove the record). Longer than any apply's wait for a token
 * and its retries, short enough that a pipeline re-run a few minutes later recovers.
 */
#define LEDGER_CLAIM_LEASE_S 600
#define LEDGER_CLAIM_RETRIES 2

/* Returns "submitted", "succeeded", "failed", "marked", "unknown" or "claimed". */
const char *ledger_status_name(enum ledger_status s);
/* True for every status that a later "submitted" record must not replace (unknown is not:
 * the next apply resends its batches and records them as submitted). */
bool ledger_status_final(enum ledger_status s);

/* What is known of one request (batch) of a manifest. */
enum ledger_task_state {
	LTASK_RUNNING,	 /* accepted; its task's result not known yet */
	LTASK_SUCCEEDED, /* accepted and its task succeeded: never sent or polled again */
	LTASK_FAILED,	 /* accepted and its task failed: sent again by a retry */
	LTASK_UNKNOWN,	 /* answer unreadable (id may be ""): sent again once by the next apply */
};
/* Returns "running", "succeeded", "failed" or "unknown". */
const char *ledger_task_state_name(enum ledger_task_state s);

struct ledger_task {
	char *id;	/* owned; "" for an unknown batch */
	char *poll_url; /* owned; may be NULL */
	bool preload;	/* a preload task (runs after the purge tasks succeeded) */
	int64_t batch;	/* index of the request among the manifest's batches; -1 = not
			   recorded (records before per-batch tracking) */
	enum ledger_task_state state;
};

struct ledger_purge {
	char *id;	/* owned: manifest id */
	char *endpoint; /* owned */
	char *account;	/* owned; may be NULL for marked records */
	char content_hash[65];
	enum ledger_status status;
	struct ledger_task *tasks; /* owned */
	size_t ntasks, tcap;
	size_t batches;	     /* requests the manifest needs (purge + preload); 0 = unknown */
	int64_t files, dirs; /* entries counted against daily quotas */
	int64_t submitted_at, finished_at; /* unix seconds; 0 = not yet */
	char commit[41];		   /* desired commit it was applied from; may be "" */
	char *message;			   /* owned; failure detail or mark reason; may be NULL */
	char *claim_by;	    /* owned: "PID@HOST" of the apply that claimed it; may be NULL */
	char *claim_proc;   /* owned: its process identity (reconcile/claimant.h); may be NULL */
	int64_t claimed_at; /* unix seconds of that claim; 0 = never claimed */
	int64_t claims;	    /* claims made so far (LEDGER_CLAIM_RETRIES at most) */
	bool compacted;	    /* read from a summary (ledger compact): tasks and message gone */
};

struct ledger_endpoint {
	char *name;    /* owned */
	char *account; /* owned */
	char commit[41];
	char digest[65]; /* live digest read back after the apply */
	int64_t applied_at;
	struct cache cache; /* the rules applied (owned) */
	/*
	 * CDN Pro deployments (reconcile/stage.h); 0 and "" when not one. A staging record
	 * (staging true) says what `apply --stage staging` deployed to the property's staging
	 * environment; it lives apart (v2/staging/) from the endpoint record, which says what the
	 * endpoint's own target runs, so drift and plan never read it as applied.
	 */
	bool staging;
	int64_t version;			  /* the property version deployed */
	char task[LEDGER_DEPLOY_ID_MAX];	  /* the deployment task that deployed it */
	char promoted_from[LEDGER_DEPLOY_ID_MAX]; /* promote: the staging deployment promoted */
};

/*
 * Where records that are not in memory yet come from: reconcile/repo_ledger.h reads one
 * record by its path in the ref's tree, so a plan looks up the records of its manifests
 * instead of reading a ledger of a million records. purge/endpoint return 1 (out filled,
 * owned by the caller), 0 (absent) or a negative code; all reads every record into l
 * (ledger_adopt_*); release frees ctx.
 */
struct ledger;
struct ledger_source {
	void *ctx;
	int (*purge)(void *ctx, const char *id, const char *endpoint, struct ledger_purge *out,
		     struct cf_err *e);
	int (*endpoint)(void *ctx, const char *name, struct ledger_endpoint *out, struct cf_err *e);
	int (*all)(void *ctx, struct ledger *l, struct cf_err *e);
	void (*release)(void *ctx);
	/* optional: reads into l (ledger_adopt_*) at least every purge record submitted in
	 * [since, until), from an index by day; 0 or a negative code */
	int (*window)(void *ctx, int64_t since, int64_t until, struct ledger *l, struct cf_err *e);
};

struct ledger_ix; /* hash index of the records (ledger.c) */

struct ledger {
	/* records read in full or put; records loaded on demand from the source are not in
	 * these arrays until ledger_load_all() */
	struct ledger_purge *purges;
	size_t npurges, pcap;
	struct ledger_endpoint *endpoints;
	size_t nendpoints, ecap;
	/* by (manifest id, endpoint) and by endpoint name; also holds the records loaded on
	 * demand (at stable addresses) and the keys known to be absent. Behind a pointer so a
	 * lookup through a const ledger may fill it. */
	struct ledger_ix *ix;
};

void ledger_init(struct ledger *l);
void ledger_release(struct ledger *l);
void ledger_purge_release(struct ledger_purge *p);
void ledger_endpoint_release(struct ledger_endpoint *ep);
/* Deep copies; dst is overwritten (not released first). */
void ledger_purge_copy(struct ledger_purge *dst, const struct ledger_purge *src);
void ledger_endpoint_copy(struct ledger_endpoint *dst, const struct ledger_endpoint *src);
/* Appends a task (strings copied), batch -1 and state running. */
void ledger_purge_add_task(struct ledger_purge *p, const char *id, const char *poll_url,
			   bool preload);
/* Appends a copy of t. */
void ledger_purge_push_task(struct ledger_purge *p, const struct ledger_task *t);
/* Frees the tasks (the record keeps its other fields). */
void ledger_purge_clear_tasks(struct ledger_purge *p);

/*
 * Lookups in O(1) (hash index); a record not in memory is read from the source once (a
 * miss is remembered too). Borrowed results stay valid until ledger_put_*, ledger_adopt_*,
 * ledger_load_all or ledger_release; records loaded on demand never move. NULL when absent,
 * and when the source failed (the failure is remembered: ledger_source_error()).
 */
struct ledger_purge *ledger_find_purge(const struct ledger *l, const char *id,
				       const char *endpoint);
struct ledger_endpoint *ledger_find_endpoint(const struct ledger *l, const char *name);
/*
 * Whether old (NULL: no record) still says what a record of the endpoint made now would: the
 * same live digest, account and rules. The desired commit and the time do not count: an
 * unchanged record is kept when only the commit moved, so re-applying a converged fleet makes
 * no ledger commit (apply's in-sync records, and stage.c's records of an endpoint whose own
 * target is staging, which also compare the version).
 */
bool ledger_endpoint_current(const struct ledger_endpoint *old, const char *digest,
			     const char *account, const struct cache *cache);
/* Adds or replaces a record (deep copy). */
void ledger_put_purge(struct ledger *l, const struct ledger_purge *p);
void ledger_put_endpoint(struct ledger *l, const struct ledger_endpoint *ep);
/* Adds or replaces a record, taking ownership of its members (*p is zeroed). */
void ledger_adopt_purge(struct ledger *l, struct ledger_purge *p);
void ledger_adopt_endpoint(struct ledger *l, struct ledger_endpoint *ep);

/* Reads records on demand from src from now on (the ledger owns it: released with it). */
void ledger_set_source(struct ledger *l, const struct ledger_source *src);
/* Reads every record of the source into the arrays (once). Returns 0 or a negative code. */
int ledger_load_all(struct ledger *l, struct cf_err *e);
/* The first error of an on-demand read, or 0 (e filled when non-NULL). */
int ledger_source_error(const struct ledger *l, struct cf_err *e);

/*
 * Sums files and dirs of the account's records submitted in [since, until) (unix seconds):
 * the quota already spent today. With a source, reads the records of those days first (its
 * window), or every record when it has no index by day.
 * Returns 0 or a negative code (counts then 0).
 */
int ledger_usage(struct ledger *l, const char *account, int64_t since, int64_t until,
		 int64_t *files, int64_t *dirs, struct cf_err *e);

/* Encoders append one record as JSON to out (0, or -1 when out's cap was hit). */
int ledger_purge_encode(const struct ledger_purge *p, struct sb *out);
int ledger_endpoint_encode(const struct ledger_endpoint *ep, struct sb *out);
/* Decoders fill *out (initialised here) from len bytes of JSON. Return 0 or CF_EINVAL. */
int ledger_purge_decode(const char *json, size_t len, struct ledger_purge *out, struct cf_err *e);
int ledger_endpoint_decode(const char *json, size_t len, struct ledger_endpoint *out,
			   struct cf_err *e);

/*
 * A summary (`cacheform ledger compact`) of one manifest's final records: per endpoint the
 * account, status, content hash, times and the files and dirs counted against quotas; no
 * tasks, messages or claims. Decoded records carry LEDGER_COMPACTED_MESSAGE as message.
 * Encode: 0 or -1 (cap); decode: 0 or CF_EINVAL, *recs owned by the caller.
 */
#define LEDGER_COMPACTED_MESSAGE "compacted by 'cacheform ledger compact'"
int ledger_summary_encode(const struct ledger_purge *recs, size_t n, int64_t compacted_at,
			  struct sb *out);
int ledger_summary_decode(const char *json, size_t len, struct ledger_purge **recs, size_t *n,
			  struct cf_err *e);

/*
 * Writes s into out as one safe file-name component: [A-Za-z0-9_-] and '.' (not first)
 * kept, everything else as %XX, so ids with '/' or ".." cannot escape their directory.
 */
void ledger_path_component(const char *s, struct sb *out);

#endif
