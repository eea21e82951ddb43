/*
 * What a rule list means: cacheform's meaning (SPEC §2.2, first match wins) and the meaning a
 * provider gives to what it stores, each written from the vendor's documents (see README,
 * "What a rule list means"). Pure computation: no I/O, no library types; fakecdn's edge links
 * it too (tests/lint_layers.sh allows exactly this header there).
 *
 * Paths are request paths already percent-decoded and without query string (sem_path_of turns
 * a URL or raw path into one). Every evaluator fills a struct sem_result; sem_same() says
 * whether two results behave alike, and sem_effective_ttl() combines a result with an origin's
 * Cache-Control header the way the provider does.
 */
#ifndef CF_SEM_H
#define CF_SEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/model.h"

#define SEM_NO_RULE  (-1) /* sem_result.rule when no rule decides (provider default) */
#define SEM_PATH_MAX 8192 /* bytes of a decoded path sem_path_of produces */

/* Whose semantics a struct sem_cfg carries. The last two are hooks (see struct sem_hook). */
enum sem_kind { SEM_AZURE_CHINA, SEM_AZURE, SEM_AZURE_FRONTDOOR, SEM_CDNPRO, SEM__COUNT };

/* Returns "azure-china", "azure", "azure-frontdoor" or "cdnpro". */
const char *sem_kind_name(enum sem_kind k);

/* How a decided TTL relates to the origin's Cache-Control. */
enum sem_mode {
	SEM_ORIGIN,	/* no rule decides: the provider's default, origin headers decide */
	SEM_BYPASS,	/* not cached (ttl 0, BypassCache) */
	SEM_OVERRIDE,	/* ttl replaces what the origin says (ignore_cache_control, Override) */
	SEM_IF_MISSING, /* ttl applies only when the origin sends no caching headers */
};

struct sem_result {
	int rule;	    /* index of the deciding rule in the evaluated list; SEM_NO_RULE */
	enum sem_mode mode; /* SEM_ORIGIN exactly when rule == SEM_NO_RULE */
	int64_t ttl;	    /* seconds for OVERRIDE / IF_MISSING; 0 otherwise */
	/*
	 * OVERRIDE still yields to an origin "no-store"/"private"/"no-cache" (azure Override:
	 * "for cache-control response header with values no-cache, private, no-store, the
	 * action isn't applicable"). IF_MISSING always yields to them.
	 */
	bool yields_to_no_store;
	/* A live rule with a condition this model cannot evaluate from the path alone (request
	 * headers, client address, ...) might change the answer. */
	bool uncertain;
	const char *rule_id; /* provider rule name; borrowed from the evaluated config; or NULL */
};

/* True when a and b cache the same way (mode and ttl; rule indexes, ids and yields_to_no_store
 * are not behaviour of the list and are ignored). */
bool sem_same(const struct sem_result *a, const struct sem_result *b);

/*
 * Seconds a response may be cached for, given the result for its path, the origin's
 * Cache-Control header value (NULL or "" = none sent) and the provider's default TTL for a
 * response without caching headers (0 = such responses are not cached). Returns 0 for "not
 * cached". s-maxage wins over max-age; no-store, private and no-cache make a response
 * uncacheable unless the result overrides them (SEM_OVERRIDE with !yields_to_no_store).
 */
int64_t sem_effective_ttl(const struct sem_result *r, const char *origin_cache_control,
			  int64_t provider_default_ttl);

/*
 * cacheform's meaning of c's rule list for path (SPEC §2.2): the first rule with a matching
 * item decides; ttl 0 = SEM_BYPASS, otherwise SEM_OVERRIDE when c->ignore_cache_control,
 * else SEM_IF_MISSING. out->rule indexes c->rules. Never fails.
 */
void sem_desired(const struct cache *c, const char *path, struct sem_result *out);

/* Whether one item of a rule of kind k matches path, in cacheform's meaning. */
bool sem_item_matches(enum rule_kind k, const char *item, const char *path);

/* ---- azure (classic Standard rules engine): delivery rules ---- */

enum sem_az_var { SEM_AZ_URL_PATH, SEM_AZ_URL_EXT, SEM_AZ_URL_FILENAME, SEM_AZ_OTHER };
enum sem_az_op {
	SEM_OP_ANY,
	SEM_OP_EQUAL,
	SEM_OP_BEGINS,
	SEM_OP_ENDS,
	SEM_OP_CONTAINS,
	SEM_OP_OTHER /* operators this model does not evaluate (RegEx, Wildcard, LessThan, ...) */
};
enum sem_case { SEM_CASE_KEEP, SEM_CASE_LOWER, SEM_CASE_UPPER };

/* One match condition: the request value (after transform) compared with any of values. */
struct sem_az_cond {
	enum sem_az_var var;
	enum sem_az_op op;
	bool negate;
	enum sem_case transform; /* Lowercase / Uppercase transform on the request value */
	struct svec values;	 /* owned */
};

struct sem_az_rule {
	char *name; /* owned; may be NULL */
	int order;
	struct sem_az_cond *conds; /* all must match (AND); none = the global rule */
	size_t nconds, ccap;
	bool has_cache;	    /* a CacheExpiration action; rules without one do not touch caching */
	enum sem_mode mode; /* BYPASS, OVERRIDE or IF_MISSING when has_cache */
	int64_t ttl;
	bool foreign; /* not a rule cacheform writes; informational */
};

/* A deliveryPolicy. Rules are kept sorted by order (sem_az_sort) for evaluation. */
struct sem_az {
	struct sem_az_rule *rules;
	size_t n, cap;
};

/* Returns a new zeroed rule owned by az. */
struct sem_az_rule *sem_az_add_rule(struct sem_az *az);
/* Returns a new zeroed condition owned by r. */
struct sem_az_cond *sem_az_add_cond(struct sem_az_rule *r);
/* Make room for n rules / n conditions in all: a decoder that knows the count allocates
 * once and exactly (every live endpoint keeps its sem_az until the run ends). */
void sem_az_reserve_rules(struct sem_az *az, size_t n);
void sem_az_reserve_conds(struct sem_az_rule *r, size_t n);
/* Sorts rules by order, stably (equal orders keep the order they were added in). */
void sem_az_sort(struct sem_az *az);
void sem_az_release(struct sem_az *az);

/*
 * Microsoft's meaning of az for path: every rule whose conditions all match runs, in order
 * (the order-0 global rule first); a later CacheExpiration overwrites an earlier one, so the
 * last matching rule with a cache action decides. out->rule indexes az->rules (sorted).
 * UrlPath is the path with its leading '/'; UrlFileExtension is what follows the last '.' of
 * the last segment, without the dot; UrlFileName is the last segment. Comparisons are
 * case-sensitive unless a Lowercase/Uppercase transform applies to the request value.
 */
void sem_az_eval(const struct sem_az *az, const char *path, struct sem_result *out);

/* ---- azure-china: Rules[{Type, Items, TTL}] ---- */

/*
 * 21Vianet's meaning of c (rules in configured order, dir items as stored, with or without a
 * trailing '/'): a matching no-cache (TTL 0) rule takes precedence over any other match
 * ("the no-cache rules are prioritized"); otherwise the first configured matching rule wins.
 * Dir = the directory and its subdirectories; Suffix = file extension, case-insensitive;
 * FullUri = exact path. out->rule indexes c->rules.
 */
void sem_cn_eval(const struct cache *c, const char *path, struct sem_result *out);

/* ---- hooks: azure-frontdoor (reconcile/sem_afd.c) and cdnpro Edge Logic
 * (reconcile/sem_edgelogic.c) ---- */

/*
 * An evaluator added by another module: fills out for path from cfg (its own struct, owned
 * by the hook: free_cfg releases it, may be NULL). Must follow the struct sem_result contract.
 */
struct sem_probe;
typedef void (*sem_eval_fn)(const void *cfg, const char *path, struct sem_result *out);
typedef void (*sem_free_fn)(void *cfg);
/* Adds the prefixes, extensions and paths cfg's rules mention (see struct sem_probe). */
typedef void (*sem_probe_fn)(const void *cfg, struct sem_probe *p);

struct sem_hook {
	sem_eval_fn eval;
	void *cfg;
	sem_free_fn free_cfg;
	sem_probe_fn probe; /* may be NULL: then only the other side's items are probed */
};

/* ---- one provider-level configuration of any kind ---- */

struct sem_cfg {
	enum sem_kind kind;
	struct cache cn;      /* SEM_AZURE_CHINA: owned; rules in configured order */
	struct sem_az az;     /* SEM_AZURE: owned */
	struct sem_hook hook; /* SEM_AZURE_FRONTDOOR, SEM_CDNPRO */
};

/* Evaluates cfg for path with its kind's evaluator (a hook without eval: SEM_ORIGIN). */
void sem_eval(const struct sem_cfg *cfg, const char *path, struct sem_result *out);
void sem_cfg_release(struct sem_cfg *cfg);

/* ---- paths ---- */

/*
 * Writes into buf (n bytes) the percent-decoded path of a path or an http(s) URL (scheme and
 * host dropped, query and fragment dropped). Returns 0, or -1 when it is neither, a '%' is
 * not followed by two hex digits, it decodes to a NUL, or it does not fit.
 */
int sem_path_of(const char *path_or_url, char *buf, size_t n);

/*
 * Probe paths: a finite set of paths on which two rule lists that behave alike on every path
 * also agree, built from the items the lists mention. Add every list to compare, then call
 * sem_probe_paths. Owns its strings.
 */
struct sem_probe {
	struct svec dirs;  /* directory prefixes, each ending in '/' */
	struct svec exts;  /* extensions, as written and in both cases */
	struct svec paths; /* exact paths and other literal values */
};

void sem_probe_add_cache(struct sem_probe *p, const struct cache *c);
void sem_probe_add_az(struct sem_probe *p, const struct sem_az *az);
/* Adds whatever cfg's kind mentions (its rules, az rules, or the hook's probe function). */
void sem_probe_add_cfg(struct sem_probe *p, const struct sem_cfg *cfg);
/* Appends the probe paths to out (owned strings, de-duplicated). */
void sem_probe_paths(const struct sem_probe *p, struct svec *out);
void sem_probe_release(struct sem_probe *p);

/*
 * Compares a and b on every path of probes. Returns the index of the first path where they
 * cache differently, or -1 when they agree on all.
 */
long sem_first_difference(const struct sem_cfg *a, const struct sem_cfg *b,
			  const struct svec *probes);
/* The same for cacheform's meaning of desired against a provider configuration. */
long sem_first_difference_desired(const struct cache *desired, const struct sem_cfg *b,
				  const struct svec *probes);

#endif
