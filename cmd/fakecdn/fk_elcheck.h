/*
 * What CDN Pro checks in a property version's `edgeLogic` (reference cdnpro-edgelogic-api.md
 * §3.1, §4.2, §5.3), as fakecdn emulates it. Two kinds of error, as on the service:
 *
 *  - synchronous, answered by POST/PATCH of the version with 400 {code, message}:
 *    a directive name outside the base list (InvalidDirective, case-sensitive), an advanced
 *    directive the customer was not granted (UnauthorizedDirective), the structural rules
 *    (InvalidEdgeLogic): (a) every location has origin_pass or return directly, (b) a location
 *    with break has origin_pass, (c) a top-level if has return and no origin_pass, (d) a
 *    top-level `location /` exists;
 *  - asynchronous, found by the validation task and reported nginx-style in statusDetails:
 *    unbalanced braces or quotes, argument counts, time and status syntax of the cache
 *    directives, proxy_cache_valid inside if, duplicate locations, a location nested in an
 *    exact one, an origin_pass naming no origin.
 *
 * nginx's tokenizer rules (ngx_conf_read_token): tokens split on whitespace and ; { },
 * '#' starts a comment only at a token boundary, quotes group and backslash escapes.
 * Pure: no I/O, no allocation visible to the caller.
 */
#ifndef FK_ELCHECK_H
#define FK_ELCHECK_H

#include <stddef.h>
#include <stdbool.h>

#define FK_EL_MSG_MAX 512
/* nginx names the generated server file; its line is the Edge Logic line plus this offset
 * (the server block's header lines the service writes before edgeLogic). */
#define FK_EL_CONF_FILE	       "/usr/local/qtl-nginx/conf/../domain_conf/ccve-validation.conf"
#define FK_EL_CONF_LINE_OFFSET 20

struct fk_el_report {
	const char *code; /* synchronous error code (HTTP 400), NULL when none */
	char message[FK_EL_MSG_MAX];
	bool failed; /* the validation task fails with details */
	char details[FK_EL_MSG_MAX];
	unsigned directives; /* statements read (blocks included) */
};

/*
 * Checks text[0..len). origins: the version's origins[].name (norigins of them); allowed: the
 * advanced directives granted (service quota allowedCacheDirectives). Never fails.
 */
void fk_el_check(const char *text, size_t len, const char *const *origins, size_t norigins,
		 const char *const *allowed, size_t nallowed, struct fk_el_report *out);

/* Whether name is a base (every customer) or advanced (granted per case) directive. */
bool fk_el_base_directive(const char *name);
bool fk_el_advanced_directive(const char *name);
/* The lists themselves (GET /cdn/systemConfigs); *n is set to their length. */
const char *const *fk_el_directives(bool advanced, size_t *n);

#endif
