/*
 * Azure Front Door Standard/Premium: what a route's rule sets do to a request path, written
 * from Microsoft's documents (learn.microsoft.com "Rule set match conditions" and "Actions"; README
 * "Azure Front Door"). Pure computation, no I/O, no library types: the driver (prov_afd.c) decodes
 * live rules into these structs, the compiler (afd_compile.c) produces them from the YAML,
 * and tests compare both against cacheform's first-match meaning.
 *
 * Semantics: rule sets run in the order of route.ruleSets[]; inside a set, rules by ascending
 * order; conditions are ANDed, the values of one condition ORed; a rule without conditions
 * matches every request; every matching rule runs and a later RouteConfigurationOverride
 * replaces an earlier one whole; matchProcessingBehavior Stop ends evaluation, including the
 * route's later rule sets. UrlPath sees the path without its leading '/', and a match value
 * is compared with one leading '/' removed. A route without cacheConfiguration does not
 * cache; an override without cacheConfiguration disables caching for the request.
 *
 * struct sem_afd_result mirrors struct sem_result of reconcile/sem.h (branch "sem": rule,
 * mode, ttl, yields_to_no_store, uncertain, rule_id) plus the rule set and the cache key,
 * so sem_afd_eval can serve as that module's SEM_AZURE_FRONTDOOR hook with a field copy.
 */
#ifndef CF_SEM_AFD_H
#define CF_SEM_AFD_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/model.h"

#define SEM_AFD_NO_RULE	      (-1)
#define SEM_AFD_DURATION_NULL (-1) /* cacheDuration null (HonorOrigin) */

enum sem_afd_var { AFDV_URL_PATH, AFDV_URL_EXT, AFDV_URL_FILENAME, AFDV_OTHER };
enum sem_afd_op {
	AFDO_ANY,
	AFDO_EQUAL,
	AFDO_CONTAINS,
	AFDO_BEGINS,
	AFDO_ENDS,
	AFDO_LT,
	AFDO_LE,
	AFDO_GT,
	AFDO_GE,
	AFDO_WILDCARD,
	AFDO_OTHER /* RegEx and anything unknown: not evaluated (result marked uncertain) */
};
/* transforms, as a bit set */
enum sem_afd_tf {
	AFDT_LOWER = 1 << 0,
	AFDT_UPPER = 1 << 1,
	AFDT_TRIM = 1 << 2,
	AFDT_URLDECODE = 1 << 3,
	AFDT_URLENCODE = 1 << 4,
	AFDT_REMOVENULLS = 1 << 5,
};
enum sem_afd_behavior { AFDB_HONOR, AFDB_OVERRIDE, AFDB_IF_MISSING };
enum sem_afd_qs { AFDQ_IGNORE, AFDQ_USE, AFDQ_IGNORE_SPECIFIED, AFDQ_INCLUDE_SPECIFIED };

/* How the decision relates to the origin (as sem.h's enum sem_mode). */
enum sem_afd_mode { AFDM_ORIGIN, AFDM_BYPASS, AFDM_OVERRIDE, AFDM_IF_MISSING };

struct sem_afd_cond {
	enum sem_afd_var var;
	enum sem_afd_op op;
	bool negate;
	unsigned transforms; /* enum sem_afd_tf bits */
	struct svec values;  /* owned, as stored */
};

struct sem_afd_rule {
	char *name; /* owned; may be NULL */
	int64_t order;
	struct sem_afd_cond *conds;
	size_t nconds, ccap;
	bool stop;	/* matchProcessingBehavior Stop */
	bool override;	/* has a RouteConfigurationOverride action */
	bool has_cache; /* ... with a cacheConfiguration */
	enum sem_afd_behavior behavior;
	int64_t duration; /* seconds, SEM_AFD_DURATION_NULL for null */
	enum sem_afd_qs qs;
	char *qparams;	    /* owned; NULL for null */
	bool other_actions; /* actions besides the override (headers, redirects, ...) */
};

struct sem_afd_set {
	char *name; /* owned */
	bool owned; /* cacheform's rule set */
	struct sem_afd_rule *rules;
	size_t n, cap;
};

struct sem_afd_route {
	bool has_cache; /* the route has a cacheConfiguration */
	enum sem_afd_qs qs;
	char *qparams;		  /* owned */
	struct sem_afd_set *sets; /* in route.ruleSets[] order */
	size_t n, cap;
};

struct sem_afd_result {
	int rule;		/* index in its set of the deciding rule, SEM_AFD_NO_RULE */
	int set;		/* index in route->sets of that rule's set, -1 */
	enum sem_afd_mode mode; /* AFDM_ORIGIN when no rule decides and the route caches */
	int64_t ttl;		/* seconds for OVERRIDE / IF_MISSING */
	bool yields_to_no_store;
	bool uncertain;		 /* a condition this model cannot evaluate from the path alone */
	const char *rule_id;	 /* deciding rule's name; borrowed from the route */
	int stop_set, stop_rule; /* the rule whose Stop ended evaluation, or -1 */
	enum sem_afd_qs qs;	 /* query-string cache key in effect */
	const char *qparams;	 /* borrowed */
};

/* Returns a new zeroed rule (order 0, duration null) owned by s. */
struct sem_afd_rule *sem_afd_add_rule(struct sem_afd_set *s);
/* Returns a new zeroed condition owned by r. */
struct sem_afd_cond *sem_afd_add_cond(struct sem_afd_rule *r);
/* Returns a new zeroed rule set owned by rt. */
struct sem_afd_set *sem_afd_add_set(struct sem_afd_route *rt, const char *name);
/* Sorts s's rules by ascending order, stably. */
void sem_afd_sort(struct sem_afd_set *s);
void sem_afd_rule_release(struct sem_afd_rule *r);
void sem_afd_set_release(struct sem_afd_set *s);
void sem_afd_route_release(struct sem_afd_route *rt);

/* Deep copy of src into dst (dst uninitialised). */
void sem_afd_rule_copy(struct sem_afd_rule *dst, const struct sem_afd_rule *src);

/*
 * Front Door's meaning of rt for path (a percent-decoded path starting with '/', no query):
 * fills out. Rule sets must be sorted (sem_afd_sort). Never fails.
 */
void sem_afd_eval(const struct sem_afd_route *rt, const char *path, struct sem_afd_result *out);

/* Whether one condition matches path (false, with *uncertain set, for AFDV_OTHER/AFDO_OTHER). */
bool sem_afd_cond_matches(const struct sem_afd_cond *c, const char *path, bool *uncertain);

/* True when a and b cache alike (mode, ttl, cache key); rule positions are ignored. */
bool sem_afd_same(const struct sem_afd_result *a, const struct sem_afd_result *b);

/*
 * cacheform's first-match meaning of c for path (SPEC §2.2) in this module's terms, with the
 * query-string key ignore_query_string gives; out->set is -1 and out->rule the YAML index.
 */
void sem_afd_desired(const struct cache *c, const char *path, struct sem_afd_result *out);

#endif
