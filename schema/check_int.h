/*
 * Internal to the check module (schema/check.c, schema/check_purge.c): the shared context,
 * the message and lookup helpers. Not for use elsewhere; schema/check.h is the interface.
 * check.c owns accounts, endpoints, cache rules, lints and provider limits and the helpers
 * below; check_purge.c owns the purge manifests.
 */
#ifndef CF_CHECK_INT_H
#define CF_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"

#define CHECK_QUOTE_MAX	     80 /* bytes of a user value quoted in a message */
#define CHECK_SCHEME_SEP_LEN 3	/* "://" */

/* p is a const struct pos * into x->c (or NULL); the finding gets its resolved location. */
#define CHECK_LOC(x, p)	      config_loc((x)->c, (p), &(struct loc){NULL, 0, 0})
#define ERR(x, p, code, ...)  diag_add((x)->d, DIAG_ERROR, CHECK_LOC(x, p), (code), __VA_ARGS__)
#define WARN(x, p, code, ...) diag_add((x)->d, DIAG_WARNING, CHECK_LOC(x, p), (code), __VA_ARGS__)
#define NOTE(x, p, code, ...) diag_add((x)->d, DIAG_NOTICE, CHECK_LOC(x, p), (code), __VA_ARGS__)

/* Open-addressing string → index table, so name lookups stay O(1) for 10,000 endpoints. */
struct check_nidx {
	const char **key; /* borrowed from the config */
	size_t *val;
	size_t mask;
};

struct check_cover; /* check.c's lint scratch */

struct check_ctx {
	struct config *c;
	struct diag_list *d;
	struct check_nidx accounts, endpoints;
	struct check_cover *cov; /* scratch, one per item of the rule being linted */
	size_t covcap;
	bool no_settings; /* cacheform.yaml failed to load: do not blame every endpoint */
};

/* A message-safe rendering of a user value: control bytes escaped, long values cut. */
struct check_qbuf {
	char s[CHECK_QUOTE_MAX * 4 + 8];
};

/* Returns s rendered into b (valid while b is). */
const char *check_quote(struct check_qbuf *b, const char *s);
/* The name of p's file for a message, "?" when p has none. */
const char *check_fname(const struct check_ctx *x, const struct pos *p);
/* Returns p when it carries a location, else the fallback (the enclosing object). */
const struct pos *check_at(const struct pos *p, const struct pos *fallback);

/* A table for n keys; caller releases. */
void check_nidx_init(struct check_nidx *x, size_t n);
void check_nidx_release(struct check_nidx *x);
/* Adds key → val; returns false (and *prev) when key is already there. Capacity ≥ 2n. */
bool check_nidx_put(struct check_nidx *x, const char *key, size_t val, size_t *prev);
bool check_nidx_get(const struct check_nidx *x, const char *key, size_t *val);

typedef void check_dup_fn(struct check_ctx *x, const struct sval *dup, const struct sval *first,
			  const void *arg);
/* Calls fn for every item of v equal to an earlier one: pairwise when small, hashed beyond. */
void check_find_dups(struct check_ctx *x, const struct svec *v, check_dup_fn *fn, const void *arg);

/* Checks a required name (account, endpoint, purge id), reporting what is wrong; returns
 * false when it is absent. */
bool check_name(struct check_ctx *x, const struct sval *v, const struct pos *owner,
		const char *what);

/* Checks every purge manifest (check_purge.c). Needs x->endpoints and endpoint->account. */
void check_purges(struct check_ctx *x);
/* CF316: azure-china TTL-0 rules that would change the list's meaning (check_sem.c). */
void check_cn_semantics(struct check_ctx *x, const struct endpoint *e);
/* CF317: a rule whose own ignore_cache_control differs from azure-china's endpoint-wide one. */
void check_cn_rule_cc(struct check_ctx *x, const struct endpoint *e);

#endif
