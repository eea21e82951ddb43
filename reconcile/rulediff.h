/*
 * Rule-level difference between a desired and a live cache policy.
 *
 * Rules are ordered (first match wins), so the diff is an alignment, not a set comparison:
 * inserting one rule shows one add, a rule that only changed its TTL shows one change, and a
 * rule that kept its content but moved relative to the others shows one move. The write is
 * still whole-set; the diff exists so people can read the plan and so safety thresholds can
 * count what an apply would remove or change.
 */
#ifndef CF_RULEDIFF_H
#define CF_RULEDIFF_H

#include <stddef.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"

/* Above this many rules on either side the alignment (O(n*m) cells) is refused. */
#define RULEDIFF_MAX_RULES 2000

enum rulediff_op { RULEDIFF_ADD, RULEDIFF_REMOVE, RULEDIFF_CHANGE, RULEDIFF_MOVE };

/* What a RULEDIFF_CHANGE or RULEDIFF_MOVE altered besides position. */
enum rulediff_field {
	RULEDIFF_F_TTL = 1 << 0,
	RULEDIFF_F_ITEMS = 1 << 1,
	RULEDIFF_F_KIND = 1 << 2,
	RULEDIFF_F_CC = 1 << 3, /* the rule's effective ignore_cache_control */
};

struct rulediff_entry {
	enum rulediff_op op;
	long before;	 /* index in live, -1 for RULEDIFF_ADD */
	long after;	 /* index in desired, -1 for RULEDIFF_REMOVE */
	unsigned fields; /* enum rulediff_field bits */
};

enum rulediff_flag {
	RULEDIFF_FLAG_CACHE_CONTROL,
	RULEDIFF_FLAG_COOKIE,
	RULEDIFF_FLAG_QUERY_STRING
};

struct rulediff_flag_change {
	enum rulediff_flag flag;
	bool before, after;
};

struct cache_diff {
	struct rulediff_entry
	    *v; /* in reading order: by desired position, removals where they were */
	size_t n, cap;
	struct rulediff_flag_change flags[3];
	size_t nflags;
	size_t nadd, nremove, nchange, nmove, nsame;
};

/* Returns "ignore_cache_control", "ignore_cookie" or "ignore_query_string". */
const char *rulediff_flag_name(enum rulediff_flag f);
/* Returns "add", "remove", "change" or "move". */
const char *rulediff_op_name(enum rulediff_op op);

/*
 * Fills out (initialised here) with the changes that turn live into desired. Both caches are
 * borrowed. Returns 0, or CF_ELIMIT when either side has more than RULEDIFF_MAX_RULES rules.
 * Release with cache_diff_release().
 */
int rulediff_cache(const struct cache *desired, const struct cache *live, struct cache_diff *out,
		   struct cf_err *e);
void cache_diff_release(struct cache_diff *d);

/* True when the diff has no rule or flag change. */
bool cache_diff_empty(const struct cache_diff *d);
/* Number of live rules removed, changed or moved (what safety thresholds count). */
size_t cache_diff_disturbed(const struct cache_diff *d);

#endif
