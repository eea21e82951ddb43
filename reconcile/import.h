/*
 * `cacheform import`: the YAML of an endpoint file written from a live endpoint, such that
 * loading it gives back the same struct cache (so a plan right after shows no change).
 * Pure: the caller reads the live state through the driver and writes the file.
 */
#ifndef CF_IMPORT_H
#define CF_IMPORT_H

#include "reconcile/base/model.h"
#include "reconcile/provider.h"
#include "reconcile/base/sb.h"

/*
 * Appends endpoints/NAME.yaml's text for ep (name, account_name, remote and hosts set; the
 * account resolved) whose live state is live. Rules named like cacheform's own default
 * ("cacheformN" at position N) get no name: key. Delivery rules cacheform does not own are
 * listed in a comment (they stay at the provider and plan preserves them).
 */
void import_yaml(const struct endpoint *ep, const struct live_state *live, struct sb *out);

/*
 * Appends the YAML of ep from its `endpoint:` key on (no leading comment): name, account,
 * remote (every field set, Front Door's route and rule_set included), hosts, scheme when set,
 * ep->mode, and c as its cache block (left out for a purge-only endpoint without rules).
 * ep->account must be resolved; it decides which cache keys the provider accepts.
 */
void import_yaml_endpoint(const struct endpoint *ep, const struct cache *c, struct sb *out);

/* Appends s as a YAML scalar, quoted when a plain scalar would not read back as this string. */
void import_yaml_scalar(const char *s, struct sb *out);

#endif
