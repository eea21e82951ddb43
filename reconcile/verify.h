/*
 * apply --verify: once purges and preloads have completed, probe the affected URLs at the
 * edge, as a user would ("inspect the response header of the CDN url": X-Cache), and say
 * whether each purge is visible and each preload warm, and how long that took.
 *
 * A purged URL is visible when the edge answers it as a miss (X-Cache without "HIT", or no
 * X-Cache at all: "if this header is not present then the resource has been read from the
 * original repository"), or as a hit whose Age shows it was cached after the apply began.
 * A hit older than that is the purge not having reached the edge yet: it is probed again,
 * with growing waits, until the deadline. A preloaded URL is warm when the first answer is
 * a hit; a miss is final, since that very probe has just filled the cache.
 *
 * Probes go through reconcile/http.h (GET, retried as reads are), to the URL's host or to the
 * endpoint's (else the account's) `edge.connect_to` with the Host header kept.
 */
#ifndef CF_VERIFY_H
#define CF_VERIFY_H

#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/apply.h"
#include "reconcile/base/model.h"
#include "reconcile/http.h"
#include "reconcile/plan.h"

#define VERIFY_TIMEOUT_MS    120000 /* default deadline for purges to become visible */
#define VERIFY_FIRST_WAIT_MS 500    /* first wait before a purge is probed again */
#define VERIFY_MAX_WAIT_MS   5000   /* the wait grows by half each round up to this */
#define VERIFY_AGE_SLACK_MS  1000   /* Age counts whole seconds */

enum verify_kind { VERIFY_PURGE, VERIFY_PRELOAD };

/* What one answer says. */
enum verify_verdict {
	VERIFY_OK,	/* purge visible / preload warm */
	VERIFY_NOT_YET, /* purge: a hit older than the apply (probe again) */
	VERIFY_NO,	/* preload: a miss (final) */
};

struct verify_probe {
	char *url;		/* owned: absolute URL probed */
	char *purge, *endpoint; /* owned: the manifest and endpoint it comes from */
	const char *connect_to; /* borrowed from the config; NULL = the URL's host */
	enum verify_kind kind;
	/* outcome */
	bool answered; /* an HTTP answer came */
	enum verify_verdict verdict;
	long status;
	char x_cache[64]; /* as sent, "" when absent */
	int64_t age_s;	  /* -1 when no Age header */
	int64_t ms;	  /* from the start of verification to the deciding answer */
	unsigned probes;
	char *error; /* owned: why no answer came (last attempt); NULL otherwise */
};

struct verify_set {
	struct verify_probe *v;
	size_t n, cap;
};

/*
 * Adds the probes of purge manifest m as run on endpoint ep: each entry of `files` (purge)
 * and of `preload` (preload), a path expanded on each of ep's hosts, an absolute URL as
 * written; the scheme is the endpoint's edge.scheme, else the account's, else the URL's or the
 * endpoint's. `dirs`, `patterns` and `regex` name no single URL and add nothing. A URL both
 * purged and preloaded is probed once, as a preload.
 */
void verify_add(struct verify_set *s, const struct endpoint *ep, const struct purge *m);

/*
 * Adds the probes of every purge of plan p whose apply item in r is done: the item named
 * "purge 'ID' on 'ENDPOINT'" (reconcile/apply_purge.c). Returns how many manifests.
 */
size_t verify_add_applied(struct verify_set *s, const struct config *cfg, const struct plan *p,
			  const struct apply_result *r);

/*
 * The verdict on one answer for kind: x_cache and age are the headers (NULL when absent);
 * since_ms is the time from the start of apply to the answer. Pure, for tests.
 */
enum verify_verdict verify_judge(enum verify_kind kind, const char *x_cache, const char *age,
				 int64_t since_ms);

struct verify_opts {
	int64_t applied_ms; /* wall-clock ms when apply began (judges Age) */
	int64_t timeout_ms; /* 0 = VERIFY_TIMEOUT_MS */
};

/*
 * Probes every entry of s through c until each is decided or the deadline passes. Returns 0
 * when every purge is visible and every preload warm, CF_EAPI when some are not (the
 * probes say which), or another negative code (e filled) when nothing could be probed.
 */
int verify_run(struct http_client *c, struct verify_set *s, const struct verify_opts *o,
	       struct cf_err *e);

/* Prints one line per probe and a count line. */
void verify_report(const struct verify_set *s, FILE *f);
/* Probes not visible or not warm. */
size_t verify_failed(const struct verify_set *s);
void verify_release(struct verify_set *s);

/* Wall-clock ms (the edge's Age is wall-clock time). */
int64_t verify_wall_ms(void);

#endif
