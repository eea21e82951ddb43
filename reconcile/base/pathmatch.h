/*
 * Whether a cache-rule item matches a request path, in cacheform's meaning (SPEC §2.2). The
 * base of reconcile/sem.h, here so that schema/ (validation) and reconcile/ share one copy.
 */
#ifndef CF_PATHMATCH_H
#define CF_PATHMATCH_H

#include <stddef.h>
#include <stdbool.h>

#include "reconcile/base/model.h"

/*
 * dir: path starts with the item taken with a trailing '/' ("/" matches every path);
 * suffix: the last segment ends with "." + item, case-insensitively; path: exact.
 */
bool pathmatch_item(enum rule_kind k, const char *item, const char *path);
/* Returns the index of the first rule of c with an item matching path, or -1. */
long pathmatch_first(const struct cache *c, const char *path);
/* Whether some item of r matches path. */
bool pathmatch_rule(const struct rule *r, const char *path);

#endif
