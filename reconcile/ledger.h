/*
 * The ledger's records and their JSON codec (no git here: reconcile/repo_ledger.h stores
 * them on refs/cacheform/ledger).
 *
 * A purge record is keyed by (manifest id, endpoint) and lives at
 * purges/<id>/<endpoint>.json; an endpoint record lives at endpoints/<name>.json. Both are
 * small JSON documents with "format_version": 1 so other tools can read the ref.
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
	int64_t claimed_at; /* unix seconds of that claim; 0 = never claimed */
	int64_t claims;	    /* claims made so far (LEDGER_CLAIM_RETRIES at most) */
};

struct ledger_endpoint {
	char *name;    /* owned */
	char *account; /* owned */
	char commit[41];
	char digest[65]; /* live digest read back after the apply */
	int64_t applied_at;
	struct cache cache; /* the rules applied (owned) */
};

struct ledger {
	struct ledger_purge *purges;
	size_t npurges, pcap;
	struct ledger_endpoint *endpoints;
	size_t nendpoints, ecap;
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

/* Lookups; borrowed results valid until the ledger changes, NULL when absent. */
struct ledger_purge *ledger_find_purge(const struct ledger *l, const char *id,
				       const char *endpoint);
struct ledger_endpoint *ledger_find_endpoint(const struct ledger *l, const char *name);
/* Adds or replaces a record (deep copy). */
void ledger_put_purge(struct ledger *l, const struct ledger_purge *p);
void ledger_put_endpoint(struct ledger *l, const struct ledger_endpoint *ep);

/*
 * Sums files and dirs of the account's records submitted in [since, until) (unix seconds):
 * the quota already spent today.
 */
void ledger_usage(const struct ledger *l, const char *account, int64_t since, int64_t until,
		  int64_t *files, int64_t *dirs);

/* Encoders append one record as JSON to out (0, or -1 when out's cap was hit). */
int ledger_purge_encode(const struct ledger_purge *p, struct sb *out);
int ledger_endpoint_encode(const struct ledger_endpoint *ep, struct sb *out);
/* Decoders fill *out (initialised here) from len bytes of JSON. Return 0 or CF_EINVAL. */
int ledger_purge_decode(const char *json, size_t len, struct ledger_purge *out, struct cf_err *e);
int ledger_endpoint_decode(const char *json, size_t len, struct ledger_endpoint *out,
			   struct cf_err *e);

/*
 * Writes s into out as one safe file-name component: [A-Za-z0-9_-] and '.' (not first)
 * kept, everything else as %XX, so ids with '/' or ".." cannot escape their directory.
 */
void ledger_path_component(const char *s, struct sb *out);

#endif
