/*
 * `cacheform migrate`: an azure-china or azure endpoint translated into an azure-frontdoor
 * endpoint with the same meaning (SPEC §2.2: the same first-match rule list, compiled by
 * afd_compile.c and evaluated by sem_afd.c), every gap named with a CF6xx code, and the
 * minimal edit that sets an endpoint file to `mode: observe`. Pure: no I/O; the command
 * (cmd/cacheform/cmd_migrate.c) reads and writes the files and asks Microsoft's own check.
 */
#ifndef CF_MIGRATE_H
#define CF_MIGRATE_H

#include <stddef.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/base/sb.h"

#define MIGRATE_NAME_SUFFIX   "-fd"	      /* new endpoint name: old name + this */
#define MIGRATE_ROUTE_DEFAULT "default-route" /* the route Front Door creates with an endpoint */
#define MIGRATE_SET_PREFIX    "cacheform"     /* rule set: this + the endpoint name's letters */

/* Where the translated endpoints go. NULL fields take the defaults of migrate_endpoint. */
struct migrate_target {
	const struct account *account; /* the azure-frontdoor account (borrowed) */
	const char *account_name;      /* as written in cacheform.yaml */
	const char *resource_group, *profile, *endpoint, *route, *rule_set;
	bool batch; /* the account writes batch rule sets: a rule that caches counts twice */
};

struct migrate_gap {
	const char *code;  /* static "CF6xx" (schema/codes.md) */
	enum diag_sev sev; /* DIAG_ERROR blocks the endpoint's translation */
	char *msg;	   /* owned: one sentence */
};

struct migrate_result {
	struct endpoint ep; /* the translated endpoint; its strings owned by the result */
	struct migrate_gap *gaps;
	size_t ngaps, gcap;
	size_t probes;	  /* probe paths compared (old meaning vs Front Door evaluation) */
	size_t differ;	  /* of them, those that cache differently */
	char *first_diff; /* owned; the first such path, or NULL */
	bool blocked;	  /* a gap of severity DIAG_ERROR: not written */
};

/*
 * Translates old (an azure-china or azure endpoint of cfg) for t into out (zeroed here;
 * release with migrate_result_release). Defaults: name = old name + MIGRATE_NAME_SUFFIX;
 * resource_group, profile = old remote's (azure; azure-china has none: a CF607 gap);
 * endpoint = old remote endpoint (azure) or old name (azure-china); route =
 * MIGRATE_ROUTE_DEFAULT; rule_set = MIGRATE_SET_PREFIX + the letters and digits of the old
 * name. The cache block is copied except ignore_cookie (CF601) and rule names Front Door
 * refuses (CF605); gaps CF602-CF609 are added as they apply, and the compiled rule set is
 * compared with the old list's meaning on every probe path (CF609 when any differs).
 */
void migrate_endpoint(const struct config *cfg, const struct endpoint *old,
		      const struct migrate_target *t, struct migrate_result *out);
void migrate_result_release(struct migrate_result *r);

/* Appends the file text of r's endpoint (endpoints/NAME.yaml), saying where it came from. */
void migrate_yaml(const struct endpoint *old, const struct migrate_result *r, struct sb *out);

/*
 * Appends to out the endpoint file text with its top-level `mode:` line set to `mode:
 * observe` (replaced in place, the rest of the line's comment kept; inserted after the
 * `endpoint:` line, else first, when there is none). Every other byte is kept. Returns 0, or
 * -1 when the file sets mode in a form this edit does not handle (flow mapping, anchors).
 */
int migrate_observe_text(const char *text, size_t len, struct sb *out);

#endif
