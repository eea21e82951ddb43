/*
 * What CDN Pro does with a request path, given an Edge Logic document (reconcile/edgelogic.h):
 * nginx's location precedence (docs.cdnetworks.com CDN Pro "Edge Logic" docs, from
 * ngx_http_core_find_location) over every top-level location, foreign ones included, and the
 * cache behaviour of the chosen location (§3.3-3.4).
 *
 * The result mirrors the shared semantics module's struct sem_result (reconcile/sem.h): `mode`
 * has sem_mode's values in the same order (ORIGIN, BYPASS, OVERRIDE, IF_MISSING);
 * sem_el_hook makes a document a SEM_CDNPRO hook of that module.
 */
#ifndef CF_SEM_EDGELOGIC_H
#define CF_SEM_EDGELOGIC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/edgelogic.h"
#include "reconcile/sem.h"

/* The step of nginx's search that chose the location: also why a foreign location wins. */
enum el_step {
	EL_STEP_NONE,	     /* no location matched: origin decides */
	EL_STEP_EXACT,	     /* `= path` equal to the URI */
	EL_STEP_PREFIX_STOP, /* the longest prefix is `^~`: regexes not tried */
	EL_STEP_REGEX,	     /* the first regex in file order that matches */
	EL_STEP_PREFIX,	     /* no regex matched: the longest prefix */
};

struct el_result {
	int loc;	    /* index in the document's locs, -1 when none */
	bool owned;	    /* the location is inside cacheform's region */
	enum el_cache mode; /* EL_ORIGIN exactly when nothing decides */
	int64_t ttl;	    /* seconds for OVERRIDE / IF_MISSING, 0 otherwise */
	bool uncertain;	    /* the location's caching depends on more than the path */
	enum el_step step;
};

struct el_eval; /* opaque: the document's regexes, compiled */

/*
 * Prepares d for evaluation (d is borrowed and must outlive the evaluator). Returns 0, or
 * CF_EINVAL naming the line of a regex PCRE2 refuses (nginx would refuse it too).
 */
int el_eval_open(const struct el_doc *d, struct el_eval **out, struct cf_err *e);
void el_eval_close(struct el_eval *ev);

/* Evaluates path (percent-decoded, normalised, no query string) into *out. Never fails. */
void el_eval_path(const struct el_eval *ev, const char *path, struct el_result *out);

/*
 * Makes *d (moved: d is left empty) the configuration of a SEM_CDNPRO hook: out->eval gives
 * sem_results (rule = the location's index, SEM_NO_RULE when origin decides), out->free_cfg
 * releases it. Returns 0, or el_eval_open's error (d is released then).
 */
int sem_el_hook(struct el_doc *d, struct sem_hook *out, struct cf_err *e);

/*
 * Adds to p the paths d's locations mention (the hook's probe function): exact and prefix
 * patterns, the literal start of a regex anchored with '^', the extensions of one ending in
 * "\.ext$" or "\.(a|b)$"; both cases for `~*`.
 */
void el_probe_add(const struct el_doc *d, struct sem_probe *p);

/* "exact match", "^~ prefix", "earlier regex", "longest prefix" or "none" */
const char *el_step_name(enum el_step s);

#endif
