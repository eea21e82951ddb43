/*
 * Shared plumbing of plan, apply (and anything else that talks to providers): load and
 * check the desired state, select endpoints, open the accounts they use, read their live
 * state in one batch through http_run() at --parallelism, load the ledger, and build the
 * plan model from all of that.
 *
 * Ownership: struct engine owns the config, the HTTP client, the opened accounts, each
 * selected endpoint's live state and the ledger snapshot; engine_close() frees them all.
 */
#ifndef CF_ENGINE_H
#define CF_ENGINE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/nameidx.h"
#include "reconcile/http.h"
#include "reconcile/ledger.h"
#include "reconcile/base/model.h"
#include "reconcile/plan.h"
#include "reconcile/provider.h"
#include "reconcile/shard.h"

/* azure-china counts its daily quota in China Standard Time (UTC+8). */
#define ENGINE_AZURECN_TZ_OFFSET_S (8 * 3600)

struct repo_src;

struct engine_opts {
	struct repo_src *src;	    /* the loaded repository; the engine takes ownership */
	struct config *cfg;	    /* validated (cmd_load); the engine takes ownership */
	const struct svec *only;    /* -e NAME...; NULL or empty = every endpoint */
	unsigned parallelism;	    /* 0 = default 8 */
	bool need_ledger;	    /* fail when the repository has no git directory */
	const struct svec *exclude; /* --exclude PATTERN...; NULL or empty = none */
	/* --purge ID...; NULL or empty = every manifest. Otherwise only these manifests (ids or
	 * globs) are planned, and only the endpoints they target are selected (with -e) */
	const struct svec *purges;
};

/*
 * True when an endpoint of that name is selected: it matches one of only (names or fnmatch
 * globs such as "cn-*"; none = all) and none of exclude.
 */
bool engine_selects(const char *name, const struct svec *only, const struct svec *exclude);

struct eng_account {
	const struct account *a; /* borrowed from the config */
	const struct prov_ops *ops;
	struct prov_account *pa; /* NULL until opened */
	bool used, tried;
	int rc; /* 0, or why the account could not be opened or made ready */
	struct cf_err err;
};

struct eng_endpoint {
	struct endpoint *ep; /* borrowed from the config */
	struct eng_account *acct;
	struct live_state live;
	bool read; /* live holds a fresh read */
	int rc;	   /* 0, or the read failure */
	/* why rc < 0, NULL otherwise (engine_ep_fail): a struct cf_err is 1 KB and almost no
	 * endpoint fails, so embedded it was 100 MB of zero pages at 100,000 (issue 17) */
	struct cf_err *err;
};

/* Records x's failure: rc (< 0) and a copy of e (NULL: no message). */
void engine_ep_fail(struct eng_endpoint *x, int rc, const struct cf_err *e);
/* Forgets x's failure: rc 0, err freed. */
void engine_ep_ok(struct eng_endpoint *x);
/* Why x failed, or "" when it has no recorded failure. */
const char *engine_ep_why(const struct eng_endpoint *x);

struct repo_ledger;
struct repo_remote;

struct engine {
	struct repo_src *src;
	struct config *cfg;
	struct http_client *http;
	struct eng_account *accts;
	size_t naccts;
	struct eng_endpoint *eps; /* the selected endpoints, in repository order */
	size_t neps;
	struct nameidx by_name;	   /* eps' names to their positions (engine_endpoint) */
	struct repo_ledger *rl;	   /* NULL when the repository is not in git */
	struct repo_remote *rr;	   /* the ledger remote (apply --ledger-remote), or NULL; owned */
	const struct svec *purges; /* borrowed engine_opts.purges: the manifests planned */
	struct ledger led;	   /* snapshot read at open (engine_ledger_reload refreshes) */
	char commit[41];
	unsigned rate_share; /* each account's bucket is divided by this (--shard-budget split) */
	size_t read_chunk;   /* reads built, unanswered at once (engine_read); 0 = default */
};

/*
 * Loads, checks (validation errors printed on stderr) and selects. Returns 0, or CF_EINVAL
 * (invalid configuration, unknown -e or --purge name, with "did you mean") / CF_EIO with e
 * filled. engine_close() is always
 * safe afterwards.
 */
int engine_open(struct engine *en, const struct engine_opts *o, struct cf_err *e);

/*
 * engine_open selecting, besides, only the endpoints shard_takes() gives shard s (drift
 * --shard; NULL: no shard). The filter runs before anything is built per endpoint, so a shard
 * of a 100,000-endpoint repository allocates and touches entries for its own 1/N only.
 */
int engine_open_shard(struct engine *en, const struct engine_opts *o, const struct shard *s,
		      struct cf_err *e);
void engine_close(struct engine *en);

/* Re-reads the ledger snapshot from the ref, with the records of the pending journal
 * (reconcile/pending.h) over it: what the provider accepted counts before it reached the ref.
 * Returns 0 or a negative code. */
int engine_ledger_reload(struct engine *en, struct cf_err *e);

/*
 * Declares account a's token bucket on http, keyed by its rate domain so accounts of one
 * domain share it: its rate_limit (CDN Pro: 30/min, burst 60 by default; others: none),
 * divided by share (0 or 1: whole; --shard-budget split passes N).
 */
void engine_account_bucket(struct http_client *http, const struct account *a, unsigned share);

/* Opens and readies (token fetch) every account a selected endpoint uses. Failures are
 * per account and reach its endpoints' rc; returns 0 unless nothing could proceed. */
int engine_connect(struct engine *en, struct cf_err *e);

/*
 * Makes every connected account ready again: an Azure token within PROV_TOKEN_MARGIN_S of
 * its expiry is fetched anew (a no-op for the others and for a fresh token). For long runs
 * (apply's rounds), so a poll after an hour does not go out with an expired token.
 */
void engine_refresh(struct engine *en);

/* True when the endpoint's live rules are read (managed or observed, with a read API). */
bool engine_needs_read(const struct eng_endpoint *x);

/*
 * Reads the live state of the n endpoints in one http_run() batch. Per-endpoint failures
 * land in each rc/err; returns 0.
 */
int engine_read(struct engine *en, struct eng_endpoint **eps, size_t n);

/* engine_read of every selected endpoint that needs a read. */
int engine_read_all(struct engine *en);

struct engine_plan_opts {
	bool no_purges;
};

/*
 * Builds the plan from the selected endpoints' reads, the purge manifests (split by each
 * driver), the ledger and the quotas (azure-china from the ledger's records of today,
 * cdnpro through one quota request per account and target, in one batch).
 * Returns 0 or a negative code (e filled); out is initialised here either way.
 */
int engine_plan(struct engine *en, const struct engine_plan_opts *o, struct plan *out,
		struct cf_err *e);

/*
 * Rebuilds the name index engine_endpoint() searches; call it after changing en->eps (as
 * drift's shard selection does), since the index points into that array. Owns nothing new.
 */
void engine_index_names(struct engine *en);

/* The selected endpoint of that name, or NULL. */
struct eng_endpoint *engine_endpoint(const struct engine *en, const char *name);

/* Start of the current quota day for a provider (unix seconds). */
int64_t engine_quota_day_start(enum provider_kind p, int64_t now);

#endif
