/*
 * The name a desired-state directory goes by in pull-request comment markers
 * (<!-- cacheform:KIND:PATH -->): its path inside its git work tree, so that it is the same
 * on every CI runner and distinct for two cacheform directories of one monorepo.
 */
#ifndef CF_REPO_LABEL_H
#define CF_REPO_LABEL_H

#include "reconcile/base/sb.h"

/*
 * Appends dir's path relative to the nearest enclosing directory holding ".git" ("." for
 * the top itself), or dir as given when it cannot be resolved or no work tree encloses it.
 * dir NULL means ".".
 */
void repo_label(const char *dir, struct sb *out);

#endif
