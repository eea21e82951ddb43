/*
 * The difference between two desired states (two commits, or a commit and the working tree),
 * as `cacheform diff` shows it on a pull request: endpoints added, removed or changed (rule
 * by rule, through reconcile/rulediff.h with the base's cache in the "live" seat), and purge
 * manifests that are new (they run on merge), edited or removed. Pure: no git, no network.
 */
#ifndef CF_REVDIFF_H
#define CF_REVDIFF_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/rulediff.h"
#include "reconcile/base/model.h"
#include "reconcile/base/sb.h"

enum revdiff_ep_kind { REVDIFF_EP_ADDED, REVDIFF_EP_REMOVED, REVDIFF_EP_CHANGED };
enum revdiff_purge_kind { REVDIFF_PURGE_NEW, REVDIFF_PURGE_EDITED, REVDIFF_PURGE_REMOVED };

/* Returns "added", "removed", "changed" / "new", "edited", "removed". */
const char *revdiff_ep_kind_name(enum revdiff_ep_kind k);
const char *revdiff_purge_kind_name(enum revdiff_purge_kind k);

/* A setting other than the rules that differs ("mode", "account", "remote.endpoint_id"...). */
struct revdiff_setting {
	const char *field;    /* static */
	char *before, *after; /* owned; "" when absent */
};

struct revdiff_ep {
	enum revdiff_ep_kind kind;
	const struct endpoint *base, *head; /* borrowed; NULL on the side it is missing from */
	bool rules_managed;	 /* head manages rules (not purge-only); false for removed */
	struct cache_diff rules; /* head's cache against base's (an empty cache when added) */
	struct revdiff_setting *settings;
	size_t nsettings, scap;
};

struct revdiff_purge {
	enum revdiff_purge_kind kind;
	const struct purge *base, *head; /* borrowed */
};

struct revdiff {
	struct revdiff_ep *eps; /* sorted by endpoint name */
	size_t neps, ecap;
	struct revdiff_purge *purges; /* sorted by id */
	size_t npurges, pcap;
};

#define REVDIFF_NO_TWIN SIZE_MAX

/*
 * Compares head against base (both borrowed and kept alive by the caller while out is used).
 * twins, when not NULL, has one entry per head endpoint: the index of a base endpoint known to
 * be equal to it (read from the same blob, cmd_load_pair), else REVDIFF_NO_TWIN; a head
 * endpoint whose base of the same name is its twin is not compared (it has no change). The
 * result is the same as without twins. Returns 0, or CF_ELIMIT (from the rule diff) with e
 * filled. Release with revdiff_release.
 */
int revdiff_build(const struct config *base, const struct config *head, const size_t *twins,
		  struct revdiff *out, struct cf_err *e);
void revdiff_release(struct revdiff *d);

/* True when merging would change what apply does: an endpoint delta, a new or edited purge
 * (a removed manifest changes nothing at the CDN). */
bool revdiff_has_changes(const struct revdiff *d);

/*
 * Appends one line per rule and flag change, worded as the plan shows them ("+ rule 2: ...",
 * "- rule 3: ...", "~ rule 1: ...  (was ...)", "> rule 1 (was 3): ...", "~ flag: a -> b"),
 * each after indent. before/after are the caches d was computed from (after = desired).
 */
void revdiff_cache_lines(struct sb *out, const char *indent, const struct cache *before,
			 const struct cache *after, const struct cache_diff *d);

#endif
