/*
 * The plan model: everything a plan says, built once and rendered four ways (render.h) or
 * saved as a plan file (planfile.h). Building it does no I/O: callers hand in the desired
 * endpoint, the live state as read (or the read error), the purge batches the driver would
 * send and the ledger, so every decision here is unit-testable.
 *
 * Ownership: a struct plan owns copies of everything it shows; the config, live states and
 * ledger it was built from may be freed afterwards.
 */
#ifndef CF_PLAN_H
#define CF_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/rulediff.h"
#include "reconcile/ledger.h"
#include "reconcile/base/model.h"
#include "reconcile/provider.h"
#include "reconcile/base/nameidx.h"

/* azure-china daily purge quota per subscription (SPEC §6). */
#define PLAN_AZURECN_FILES_PER_DAY 2000
#define PLAN_AZURECN_DIRS_PER_DAY  500

enum plan_ep_action {
	PLAN_EP_NONE,	   /* live matches desired */
	PLAN_EP_UPDATE,	   /* one whole-set write */
	PLAN_EP_DRIFT,	   /* mode observe: differs, never written */
	PLAN_EP_UNMANAGED, /* mode purge-only: rules not read or compared */
	PLAN_EP_ERROR,	   /* could not be read */
};
/* Returns "none", "update", "drift", "unmanaged" or "error". */
const char *plan_ep_action_name(enum plan_ep_action a);

struct plan_foreign {
	char *name; /* owned */
	int order;
};

struct plan_endpoint {
	char *name, *account; /* owned */
	enum provider_kind provider;
	enum endpoint_mode mode;
	enum plan_ep_action action;
	char *error;	 /* owned; read failure (action PLAN_EP_ERROR) */
	char *inexact;	 /* owned; live settings with no exact model form (forces an update) */
	bool read;	 /* live state was read */
	bool equivalent; /* live differs in spelling or order only: behaves as desired (no write) */
	/* for an update or drift: a path whose caching changes, live -> desired (NULL if none
	 * found, e.g. only a flag changes) */
	char *behaviour_path;
	enum sem_mode behaviour_before_mode, behaviour_after_mode;
	int64_t behaviour_before_ttl, behaviour_after_ttl;
	char digest[65];      /* live digest as read; "" when not read */
	struct cache desired; /* owned copy */
	struct cache live;    /* owned copy; empty when not read */
	struct cache_diff diff;
	struct plan_foreign *foreign; /* preserved rules cacheform does not own (azure) */
	size_t nforeign;
	struct svec notes; /* owned: the read's notes for people (live_state.notes) */
	char *text_diff;   /* owned, may be NULL: live_state.text_diff (text plans show it) */
	/* safety: share of the existing rules removed, changed or moved */
	size_t existing, disturbed;
	unsigned pct;
	bool safety_applies, safety_exceeded;
};

enum plan_purge_state {
	PLAN_PURGE_RUN,		  /* not in the ledger: will be submitted */
	PLAN_PURGE_RETRY,	  /* in the ledger as failed: will be submitted again */
	PLAN_PURGE_PENDING,	  /* submitted earlier; apply waits for its result */
	PLAN_PURGE_EDITED,	  /* ran with other content: reported, not run */
	PLAN_PURGE_OVER_QUOTA,	  /* would exceed the daily quota: refused */
	PLAN_PURGE_RETRY_UNKNOWN, /* in the ledger as unknown (an answer could not be read):
				     its unconfirmed batches are sent again, once */
};
/* Returns "run", "retry", "pending", "edited", "over-quota" or "retry-unknown". */
const char *plan_purge_state_name(enum plan_purge_state s);

struct plan_purge {
	char *id, *endpoint, *account; /* owned */
	char *quota;		       /* owned: quota key (plan_quota_key) */
	enum provider_kind provider;
	char content_hash[65];
	char recorded_hash[65]; /* ledger's hash when edited or pending; "" otherwise */
	enum plan_purge_state state;
	/* cost, counted from the driver's batches */
	int64_t files, dirs, patterns, regex, preloads;
	size_t requests;
	bool blocked;	  /* its endpoint's rule write is in error, so it cannot run */
	struct svec urls; /* owned: what is purged, as sent (files, dirs, patterns, regex; not
			     preloads); for people only, so not part of plan files */
	/* every entry the driver's batches send, as sent (expanded URLs or paths), so a plan
	 * file shows each operation (SPEC §4), not only counts; owned */
	struct svec url_files, url_dirs, url_patterns, url_regex, url_preload;
};

/* Frees pp's URL lists (plan_release and the planfile check use it). */
void plan_purge_urls_release(struct plan_purge *pp);

struct plan_quota {
	char *account; /* owned: the quota key */
	enum provider_kind provider;
	bool known;
	int64_t files_left, dirs_left; /* before this plan */
	int64_t files_planned, dirs_planned;
	bool exceeded;
};

/* A path whose caching the plan changes (plan --urls): before = the live rules under the
 * provider's semantics, after = what the write would store. */
struct plan_url_effect {
	char *endpoint, *path; /* owned */
	enum sem_mode before_mode, after_mode;
	int64_t before_ttl, after_ttl;
};

struct plan {
	char commit[41];
	struct plan_url_effect *urls;
	size_t nurls, ucap;
	bool urls_given;     /* --urls was given: say so even when no listed path changes */
	bool show_unchanged; /* text: list endpoints without changes (else one count line) */
	struct plan_endpoint *eps;
	size_t neps, ecap;
	/* eps[0..ep_indexed) by name (plan_index_endpoints); later ones are scanned */
	struct nameidx ep_index;
	size_t ep_indexed;
	struct plan_purge *purges;
	size_t npurges, pcap;
	struct plan_quota *quotas;
	size_t nquotas, qcap;
	bool no_purges; /* --no-purges: purges were not planned */
	/* CPU the behaviour comparison took (CACHEFORM_PLAN_STATS, make bench) */
	size_t behaviour_n;
	double behaviour_cpu_s;
};

void plan_init(struct plan *p);
/* Records that path on endpoint goes from before to after (copies the strings). */
void plan_add_url_effect(struct plan *p, const char *endpoint, const char *path,
			 const struct sem_result *before, const struct sem_result *after);
void plan_release(struct plan *p);
/* Makes room for n endpoints in all (a caller that knows the count grows the array once). */
void plan_reserve(struct plan *p, size_t n);

/*
 * Adds an endpoint. live is NULL when it was not read (read_error says why, or the endpoint
 * is purge-only). Computes the diff, the action and the safety share against s.
 * Returns the new entry (owned by p), or NULL with e filled when the diff was refused.
 */
struct plan_endpoint *plan_add_endpoint(struct plan *p, const struct endpoint *ep,
					const struct live_state *live, const char *read_error,
					const struct safety *s, struct cf_err *e);

/*
 * Adds one manifest for one endpoint, given the batches the driver split it into. The
 * ledger (may be NULL) decides the state: absent → run, failed → retry, unknown →
 * retry-unknown, submitted → pending, other final states with the same content hash → not added
 * (returns NULL), with another hash → edited.
 */
struct plan_purge *plan_add_purge(struct plan *p, const struct purge *m, const struct endpoint *ep,
				  const struct purge_batch *b, size_t nb, const struct ledger *led);

/*
 * Appends the quota key of an endpoint to out: its account name, plus ":target" for cdnpro
 * (each environment has its own token bucket).
 */
struct sb;
void plan_quota_key(const struct endpoint *ep, struct sb *out);

/* Records an account's remaining quota before this plan (known = false: no quota). */
void plan_set_quota(struct plan *p, const char *key, enum provider_kind prov, bool known,
		    int64_t files_left, int64_t dirs_left);
/*
 * Walks the runnable purges in order, charging each to its account's quota; a purge that
 * does not fit becomes PLAN_PURGE_OVER_QUOTA and its account is marked exceeded.
 */
void plan_check_quotas(struct plan *p);

/*
 * Indexes the endpoints added so far by name, so that plan_endpoint_find is a binary search:
 * a scan per lookup made purge planning and apply's plan file check quadratic in the fleet.
 */
void plan_index_endpoints(struct plan *p);

/* Lookups; NULL when absent. The first endpoint of a name wins. */
struct plan_endpoint *plan_endpoint_find(const struct plan *p, const char *name);
struct plan_quota *plan_quota_find(const struct plan *p, const char *key);

/* Counts for summaries. */
struct plan_counts {
	size_t update, drift, error, same, unmanaged;
	size_t added, removed, changed, moved;
	size_t purges_run, purges_pending, purges_edited, purges_over_quota;
	size_t safety_exceeded;
};
void plan_count(const struct plan *p, struct plan_counts *c);

/* True when applying would write something or submit a purge. */
bool plan_has_changes(const struct plan *p);
/* True when a purge state means apply submits it. */
bool plan_purge_runs(const struct plan_purge *pp);

#endif
