/*
 * The validated desired state, as plain structs. schema/ builds it from YAML; everything in
 * reconcile/ reads it. No library type appears here.
 *
 * Ownership: a struct config owns everything reachable from it (strings, arrays, the file
 * name table that every struct pos indexes). Free it with config_free().
 * Lists read from YAML (rule items, hosts, purge entries) are the bulk of a large config, so the
 * loader packs their arrays and strings into the config's arena (config_strndup, config_alloc)
 * instead of one heap block per string; see struct svec for how such lists stay safe to edit.
 * An endpoint's own name, account, scheme and remote ids go there too (struct endpoint's
 * arena_strs): those are read-only.
 * Live state read from a provider uses the same struct cache, so desired and live compare
 * with cache_equal().
 */
#ifndef CF_MODEL_H
#define CF_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"

#define MODEL_TTL_MAX INT64_C(3153600000) /* 100 years in seconds */

enum provider_kind { PROV_AZURE_CHINA, PROV_AZURE, PROV_CDNPRO, PROV_AZURE_FRONTDOOR, PROV__COUNT };

/* Returns "azure-china", "azure", "cdnpro" or "azure-frontdoor". */
const char *provider_name(enum provider_kind p);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int provider_parse(const char *name, enum provider_kind *out);

/*
 * A source position in 8 bytes: a fleet holds millions of them (five per rule, one per list
 * item), and a file pointer plus two unsigned took 16. file indexes the owning config's file
 * table, 1-based, 0 = no location (so `if (p.file)` still asks "is it located?");
 * config_file_name() returns the name. Line and column share 32 bits, 20 and 12: the loader
 * caps a file at 8 MiB (LOAD_MAX_FILE_BYTES) and 500,000 nodes (YTREE_MAX_NODES), so a node
 * past line 1,048,575 needs half a million lines with no node on them, while a flow list on one
 * line (hosts: [a, b, ...]) passes column 1,023 at a few dozen items. Values beyond the field
 * saturate at POS_LINE_MAX / POS_COL_MAX (pos_make), and a message prints the saturated value:
 * a line or column that large exists in the file, so it still points into the right file at or
 * before the node (the true column stays on the printed line when only the column saturates).
 * Errors found while parsing (schema/ytree.c) carry their exact struct loc and never saturate.
 */
#define POS_LINE_BITS 20
#define POS_COL_BITS  12
#define POS_LINE_MAX  ((1u << POS_LINE_BITS) - 1)
#define POS_COL_MAX   ((1u << POS_COL_BITS) - 1)

struct pos {
	uint32_t file;
	uint32_t line : POS_LINE_BITS;
	uint32_t col : POS_COL_BITS;
};

/* A position in file (an index from config_intern_file, 0 = none), saturating line and col. */
static inline struct pos pos_make(uint32_t file, unsigned line, unsigned col)
{
	struct pos p = {file, line > POS_LINE_MAX ? POS_LINE_MAX : line,
			col > POS_COL_MAX ? POS_COL_MAX : col};
	return p;
}

/* A located string. */
struct sval {
	char *s; /* owned; NULL when the key was absent */
	struct pos pos;
};

/*
 * A list of located strings. Usually the array and every string are heap blocks owned by the
 * svec (cap > 0). A "borrowed" svec (cap == 0 with v != NULL, see svec_borrowed) has its array
 * and strings in a config's arena or a packed cache's block (cache_pack): svec_release only
 * forgets it, and svec_push first copies it to the heap, so code that builds or edits lists
 * needs no change. Strings may be edited in place either way; never free() or realloc() them
 * or the array directly.
 */
struct svec {
	struct sval *v;
	size_t n, cap;
	struct pos pos; /* position of the sequence itself */
};

/*
 * A scalar that may be indirect: {env: NAME} or {file: PATH}. Secrets are only ever held in
 * this unresolved form in the model; reconcile/secret.h resolves them when a command needs them.
 */
enum mval_kind { MVAL_ABSENT, MVAL_LITERAL, MVAL_ENV, MVAL_FILE };
struct mval {
	enum mval_kind kind;
	char *text; /* literal value, variable name or path; owned */
	struct pos pos;
};

struct rate_limit {
	bool set;
	unsigned per_minute;
	unsigned burst;
	struct pos pos; /* of the rate_limit value; file NULL = use the account's */
};

/* edge: on an account or an endpoint: where `apply --verify` sends its probes. */
struct edge_cfg {
	struct sval connect_to; /* "HOST:PORT"; NULL = the URL's own host */
	struct sval scheme;	/* "http" | "https" for the probe URLs; NULL = the endpoint's */
	struct pos pos;		/* of the edge: block; file NULL = absent */
};

struct account {
	struct sval name;
	const char *file; /* borrowed from the file table; where its secrets' positions are */
	enum provider_kind provider;
	struct pos pos;
	/* azure-china: subscription key_id key_value; azure: subscription tenant client_id
	 * client_secret; cdnpro: user api_key. */
	struct mval subscription, key_id, key_value;
	struct mval tenant, client_id, client_secret;
	struct mval user, api_key;
	struct mval base_url, login_url, api_version, ca_file;
	struct mval cloud; /* azure-frontdoor: global (default) | china */
	/* Literal; accounts naming the same domain share one provider rate limit (--shard). */
	struct mval rate_domain;
	struct rate_limit rate_limit;
	int64_t timeout_s;	/* 0 = module default */
	struct pos timeout_pos; /* file NULL = use the account's */
	struct edge_cfg edge;	/* the endpoints' default */
};

enum rule_kind { RULE_DIR, RULE_SUFFIX, RULE_PATH };

/* A rule's own ignore_cache_control: unset (the cache block's value applies), true or false.
 * Azure and Front Door carry Override/SetIfMissing in each rule, so a live list can mix them. */
enum rule_cc { RULE_CC_INHERIT, RULE_CC_IGNORE, RULE_CC_HONOUR };

/* Returns "dir", "suffix" or "path". */
const char *rule_kind_name(enum rule_kind k);

/* The two enums side by side: a fleet holds millions of rules, and the padding each one left
 * after it cost 8 bytes per rule (136 -> 128). */
struct rule {
	enum rule_kind kind;
	enum rule_cc cc;
	struct svec
	    items;   /* at least one; dir and path items start with '/', suffixes have no dot */
	int64_t ttl; /* seconds; 0 = do not cache */
	struct pos ttl_pos;
	struct sval name;  /* azure delivery-rule name; NULL = "cacheformN" */
	struct pos cc_pos; /* of the rule's ignore_cache_control; file NULL when unset */
	struct pos pos;
};

struct cache {
	bool ignore_cache_control;
	bool ignore_cookie;
	bool ignore_query_string;
	struct rule *rules;
	size_t nrules, cap;
	struct pos pos;		      /* of the cache: block */
	struct pos ignore_cookie_pos; /* file NULL = use pos */
	/* cache_pack: one heap block holding every rule's item array and strings (the items
	 * are borrowed svecs into it, see struct svec); NULL otherwise. Freed by cache_release. */
	char *pack;
	size_t pack_len;
};

enum endpoint_mode { MODE_MANAGE, MODE_OBSERVE, MODE_PURGE_ONLY };
const char *endpoint_mode_name(enum endpoint_mode m);

struct remote {
	struct sval endpoint_id;		       /* azure-china */
	struct sval resource_group, profile, endpoint; /* azure */
	struct sval target;			       /* cdnpro: staging | production */
	struct sval property_id;     /* cdnpro mode manage: the property whose Edge Logic we own */
	struct sval route, rule_set; /* azure-frontdoor (with resource_group, profile, endpoint) */
};

/* A new member must be copied by schema/load.c's copy_endpoint too (cacheform diff copies
 * the endpoints of unchanged files instead of parsing them again) and compared by
 * tests/unit/test_loadmemo.c's same_endpoint. */
struct endpoint {
	struct sval name;
	const char *file; /* borrowed from the file table */
	struct sval account_name;
	struct account *account; /* resolved by validation; borrowed */
	struct remote remote;
	struct svec hosts;
	struct sval scheme; /* "https" when absent */
	enum endpoint_mode mode;
	bool has_cache; /* a cache: block was given */
	/*
	 * Set by the loader: name, account_name, scheme and remote's endpoint_id,
	 * resource_group, profile and endpoint live in the config's arena (config_strndup), not
	 * one heap block each: a fleet holds six such short strings per endpoint, and a 32-byte
	 * malloc chunk for a 7-byte name was most of their cost. They are read-only: never
	 * free() them or sval_set() them. remote's target, property_id, route and rule_set and
	 * edge's members stay heap strings (apply's staging switch replaces target).
	 */
	bool arena_strs;
	struct cache cache;
	struct pos pos;
	struct pos mode_pos; /* file NULL = use pos */
	/* overrides the account's edge: member by member */
	struct edge_cfg edge;
};

enum purge_action { PURGE_INVALIDATE, PURGE_DELETE };

struct purge {
	struct sval id;
	const char *file; /* borrowed */
	struct svec endpoints;
	struct svec files, dirs, patterns, regex, preload;
	/* cdnpro fileHeaders (file_headers: {name: value}): parallel lists, same length */
	struct svec header_names, header_values;
	enum purge_action action;
	char content_hash[65]; /* hex SHA-256 of the manifest bytes */
	struct pos pos;
	struct pos action_pos; /* file NULL = use pos */
};

struct safety {
	int64_t max_change_pct; /* default 30 */
	int64_t min_rules;	/* default 5 */
};

struct model_arena;

struct config {
	int64_t version;
	struct pos version_pos;
	struct account *accounts;
	size_t naccounts, acap;
	struct endpoint *endpoints;
	size_t nendpoints, ecap;
	struct purge *purges;
	size_t npurges, pcap;
	struct safety safety;
	char commit[41]; /* desired commit id when read with --ref or from a clean HEAD; ""
			    otherwise */
	/* file name table: pos.file N names files[N - 1] */
	char **files;
	size_t nfiles, fcap;
	struct model_arena *arena; /* borrowed svecs' arrays and strings; NULL until first use */
};

/* Returns a new empty config with defaults set. Caller frees with config_free(). */
struct config *config_new(void);
void config_free(struct config *c);
/* Returns the index of a stable copy of name in c's file table (interned), for struct pos. */
uint32_t config_intern_file(struct config *c, const char *name);
/* The name of file index id (from config_intern_file), NULL for 0. Borrowed until config_free. */
const char *config_file_name(const struct config *c, uint32_t id);
/*
 * Resolves p (a position in c) into *out and returns out, or returns NULL when p is NULL, so
 * a finding can be placed with diag_add(d, sev, config_loc(c, p, &l), ...).
 */
const struct loc *config_loc(const struct config *c, const struct pos *p, struct loc *out);

/* Lookups; return NULL when absent. Borrowed pointers valid until config_free(). */
struct account *config_account(const struct config *c, const char *name);
struct endpoint *config_endpoint(const struct config *c, const char *name);
struct purge *config_purge(const struct config *c, const char *id);

/* Returns a NUL-terminated copy of the first len bytes of s in c's arena, freed by config_free. */
char *config_strndup(struct config *c, const char *s, size_t len);
/* Returns n zeroed elements of esz bytes in c's arena, freed by config_free. Never NULL. */
void *config_alloc(struct config *c, size_t n, size_t esz);
/* Bytes c's arena holds from the heap (the sum of its chunks), for tests and measurements. */
size_t config_arena_held(const struct config *c);

/* svec helpers: push copies s (a borrowed v is copied to the heap first). */
void svec_push(struct svec *v, const char *s, const struct pos *pos);
/* Frees an owned v, forgets a borrowed one; v is empty afterwards either way. */
void svec_release(struct svec *v);
/* Whether v's array and strings live in a config's arena (see struct svec). */
bool svec_borrowed(const struct svec *v);
bool svec_contains(const struct svec *v, const char *s);
/* Makes room for n strings in all (a borrowed v is copied to the heap first): a decoder that
 * knows a list's length grows it once, to that length, not to xgrow's 8 slots. */
void svec_reserve(struct svec *v, size_t n);

void sval_set(struct sval *v, const char *s, const struct pos *pos);
void mval_release(struct mval *m);

/* Cache helpers. cache_add_rule returns the new zeroed rule (owned by c). */
struct rule *cache_add_rule(struct cache *c);
void cache_release(struct cache *c);
void cache_copy(struct cache *dst, const struct cache *src);
/*
 * A copy of src in two heap blocks, whatever its size: the rule array (exactly src->nrules)
 * and one block for every item array, item and rule name. For copies that are read, not
 * edited (a plan's desired and live caches): cache_copy makes one block per list and string,
 * with room to grow. Flags, TTLs and cc may be set; items may be pushed (the list moves to
 * the heap); cache_add_rule works; a rule name must not be set with sval_set.
 */
void cache_pack(struct cache *dst, const struct cache *src);
/* Makes room for n rules in all, so that a decoder adding them costs one allocation. */
void cache_reserve(struct cache *c, size_t n);
/* Whether r ignores the origin's Cache-Control: its own value, else the cache block's. */
bool rule_ignores_cc(const struct cache *c, const struct rule *r);

/* Unsets each rule's own ignore_cache_control where it says what the block says (and on
 * ttl 0 rules, where it means nothing), so that output shows only real exceptions. */
void cache_fold_cc(struct cache *c);

/* Exact comparison: flags, rule order, kinds, items in order, TTLs, each caching rule's
 * effective ignore_cache_control (names ignored). */
bool cache_equal(const struct cache *a, const struct cache *b);
bool rule_equal(const struct rule *a, const struct rule *b);

/*
 * Durations: "86400", "30d", "1h30m", "90s", "1w2d". Returns 0 and sets *secs, or -1 with a
 * reason in err (static string) for negative, non-numeric, empty or overflowing input.
 */
int duration_parse(const char *s, int64_t *secs, const char **err);
/* Writes the shortest w/d/h/m/s form of secs ("0" for zero) into buf. */
void duration_format(int64_t secs, char *buf, size_t n);

#endif
