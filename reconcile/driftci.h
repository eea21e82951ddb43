/*
 * Drift reports for CI systems other than GitHub: a GitLab Code Quality report (one issue per
 * endpoint that drifted or could not be checked, at the endpoint's file and line) and JUnit
 * XML (one testsuite, one testcase per endpoint: passed when in sync, <failure> when it
 * drifted, <error> when it could not be checked). The formats' pieces are reconcile/base/cirep.h.
 */
#ifndef CF_DRIFTCI_H
#define CF_DRIFTCI_H

#include "reconcile/base/outfmt.h"
#include "reconcile/base/sb.h"
#include "reconcile/drift.h"

struct driftci_opts {
	enum out_format format;	 /* OUT_GITLAB or OUT_JUNIT */
	const char *path_prefix; /* --repo, prepended to file names; NULL or "." for none */
	const char *suite;	 /* JUnit testsuite name (e.g. the scope); NULL = "drift" */
};

/*
 * Appends the report r in o's format to out. Returns 0, or -1 for another format or when out's
 * cap was hit.
 */
int driftci_write(struct sb *out, const struct drift_report *r, const struct driftci_opts *o);

#endif
