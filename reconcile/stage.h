/*
 * CDN Pro staging and promotion (SPEC §2.5): `apply --stage staging` deploys cacheform's
 * version to staging whatever each endpoint's target, then probes URLs through a staging
 * server (GET /cdn/stagingServers, the edge connect_to mechanism) against the YAML's meaning;
 * `apply --promote` deploys to production, in one deployment task, the version each property
 * runs in staging, refusing when production was deployed after staging (someone else did).
 */
#ifndef CF_STAGE_H
#define CF_STAGE_H

#include <signal.h>
#include <stdio.h>
#include <stdint.h>

#include "reconcile/base/diag.h"
#include "reconcile/engine.h"
#include "reconcile/sem.h"

#define STAGE_POLL_FIRST_MS 200
#define STAGE_POLL_MAX_MS   5000
#define STAGE_SHOWN_MAX	    50 /* probe lines printed; the rest are counted */

struct pro_el_deployed;
struct apply_result;

/* What --promote does with one property, from what its read found deployed. */
enum stage_decision {
	STAGE_SKIP,    /* nothing in staging */
	STAGE_REFUSE,  /* production was deployed after staging: someone else deployed */
	STAGE_SAME,    /* production already runs the staging version */
	STAGE_PROMOTE, /* the staging version goes to production */
};
enum stage_decision stage_decide(const struct pro_el_deployed *d);

/* CDN Pro's edge without cache directives: "if these two headers are not present in a
 * response from the origin, the response is not cached" (vendor Edge Logic FAQ). */
#define STAGE_CDNPRO_DEFAULT_TTL_S 0
#define STAGE_CC_MAX		   256 /* bytes of an answer's Cache-Control kept */

/* What a staging probe's second answer showed. */
struct stage_seen {
	bool answered;
	const char *x_cache;	   /* NULL or "" when absent */
	int64_t age;		   /* the Age header in seconds, -1 when absent or unreadable */
	const char *cache_control; /* as the origin sent it; NULL when absent */
};

struct stage_verdict {
	bool ok;
	bool judged;	  /* false when no rule of the YAML decides (the origin does) */
	bool hit;	  /* X-Cache says HIT */
	bool longer;	  /* a hit at an Age >= want_ttl: the edge's TTL is longer */
	int64_t want_ttl; /* the YAML's TTL given the answer's Cache-Control; 0 = not cached */
};

/*
 * A staging probe's verdict: the YAML's meaning want against the second answer. A real edge
 * does not say which TTL it applies (CDN Pro's cache directives leave the client-facing
 * headers alone; Age is the time since the origin fetch): what it shows is whether the answer
 * was cached, and on a hit a lower bound of its TTL (Age). So a TTL > 0 must be a hit with
 * Age below it, a TTL of 0 must not be a hit.
 */
void stage_probe_judge(const struct sem_result *want, const struct stage_seen *seen,
		       struct stage_verdict *v);

/* An Age header's value in seconds; -1 when age is NULL or not a number. */
int64_t stage_age_parse(const char *age);

/* True when the endpoint is one staging and promotion act on: cdnpro, mode manage. */
bool stage_applies(const struct endpoint *ep);

/* Makes every selected stage_applies endpoint deploy to staging (before the engine reads);
 * own_staging (NULL, or en->neps entries) says which ones already had target: staging. */
void stage_force_staging(struct engine *en, bool *own_staging);

/*
 * Probes each entry of urls (paths or URLs) on every selected stage_applies endpoint whose
 * hosts it names (a path: the endpoint's first host) through the account's first IPv4
 * staging server, twice, and judges the second answer (stage_probe_judge): X-Cache, Age and
 * Cache-Control against the TTL the YAML means (origin-decided paths are not judged).
 * Prints one line a probe on out; *bad counts the disagreements and the unanswered. Returns 0,
 * or a negative code (e filled) when the staging servers could not be listed.
 */
int stage_probe(struct engine *en, const struct svec *urls, FILE *out, size_t *bad,
		struct cf_err *e);

/*
 * After `apply --stage staging`: records in the ledger (one commit, its message "cacheform
 * apply --stage staging: finished") a staging record (ledger_endpoint.staging) for every
 * selected stage_applies endpoint whose staging now runs the YAML: the commit, the rules, the
 * version and the deployment task (from r, the run's result). An unchanged record is kept.
 * An endpoint whose own target is staging (own_staging[i], from stage_force_staging; may be
 * NULL) also gets its endpoint record, as a plain apply would write it. *n says how many
 * staging records were written. Returns 0 or a negative code.
 */
int stage_record_staging(struct engine *en, const struct apply_result *r, const bool *own_staging,
			 size_t *n, struct cf_err *e);

/*
 * Promotes: for every selected stage_applies endpoint read, the version in staging goes to
 * production in one deployment task per account, polled until done (or timeout_s). Returns 0
 * (printing what was promoted, or that nothing differs), CF_ECONFLICT when a property's
 * production was deployed after its staging (nothing is sent), or another negative code.
 * Each promoted endpoint whose own target is production is read again and recorded in the
 * ledger like an apply (commit "cacheform apply --promote: finished"), with the version, the
 * promotion's deployment task and the staging deployment it promoted (its staging record).
 */
int stage_promote(struct engine *en, int64_t timeout_s, const volatile sig_atomic_t *interrupt,
		  FILE *out, struct cf_err *e);

#endif
