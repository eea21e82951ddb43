/*
 * plan --urls: which of a list of paths or URLs the plan changes in behaviour, per endpoint
 * it updates or finds drifted. Pure computation over what the engine already read.
 */
#ifndef CF_PLANURLS_H
#define CF_PLANURLS_H

#include "reconcile/base/model.h"
#include "reconcile/engine.h"
#include "reconcile/plan.h"

/*
 * For every endpoint p updates (or finds drifted) and every entry of urls (a path, or an
 * http(s) URL of one of the endpoint's hosts): evaluates the live rules and what the write
 * would store with the provider's semantics, and records each path whose caching differs
 * (plan_add_url_effect). Entries that are not a path or URL are skipped (callers check them
 * with sem_path_of first). Sets p->urls_given.
 */
void planurls_add(struct plan *p, const struct engine *en, const struct svec *urls);

#endif
