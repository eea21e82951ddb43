/*
 * Content validation of a loaded struct config (SPEC section 3): cross-file references,
 * accounts and secrets, cache rules and their lints, provider limits, purge manifests.
 * YAML-level problems (syntax, keys, types, encodings) belong to the loader.
 *
 * Stable codes (severity E = error, W = warning, promoted to error by --strict, N = notice):
 *   CF201 E version is not 1               CF202 E duplicate endpoint name
 *   CF203 E duplicate purge id             CF204 E endpoint names an unknown account
 *   CF205 E purge names an unknown endpoint
 *   CF206 E account lacks a field its provider requires
 *   CF207 E account field not valid for its provider
 *   CF208 E remote field missing for the account's provider
 *   CF209 E remote field not valid for the provider, or malformed (GUID, target, ARM name)
 *   CF210 E base_url/login_url not https:// (http:// only to loopback), or malformed
 *   CF211 E scheme is not http or https    CF212 E mode value out of range
 *   CF213 E rate_limit or timeout out of range
 *   CF214 E hosts missing, malformed or duplicated
 *   CF215 E endpoint listed twice in one purge
 *   CF216 E duplicate account name         CF217 E required field missing
 *   CF218 E {env:}/{file:} reference empty or not a variable name
 *   CF219 E account value malformed (subscription GUID, api_version)
 *   CF220 E name (account, endpoint, purge id) has characters outside [A-Za-z0-9._-] or is long
 *   CF301 E forbidden character { } ( ) [ ] ? * \ ^ $ in a cache item
 *   CF302 E '.' in a dir or suffix item    CF303 E dir/path item does not start with '/'
 *   CF304 E empty item                     CF305 E control character or whitespace in an item
 *   CF306 E duplicate item within a rule   CF307 N leading '.' dropped from a suffix
 *   CF308 E rule has no items              CF309 E ttl outside 0..MODEL_TTL_MAX
 *   CF310 W rule can never match (earlier rules cover all its items)
 *   CF311 W the same item in two rules
 *   CF312 W item can never match (an earlier rule covers it)
 *   CF313 E item longer than CHECK_ITEM_MAX
 *   CF314 W cache rules on a purge-only endpoint are not managed
 *   CF315 N never-matches lints skipped: too many items on one endpoint
 *   CF316 E azure-china: a ttl 0 rule would take over paths an earlier rule decides
 *   CF317 E azure-china: a rule's own ignore_cache_control differs from the endpoint's
 *   CF401 E purge has nothing to do        CF402 E not an absolute http(s) URL or '/' path
 *   CF403 E URL host not served by the endpoint
 *   CF404 E URL longer than 2048 characters (also after expanding a path with a host)
 *   CF405 E '*' in files, dirs or preload  CF406 E '%' not followed by two hex digits
 *   CF407 E character must be percent-encoded
 *   CF408 E '.' or '..' path segment       CF409 E CR, LF or NUL (plain or encoded)
 *   CF410 E dirs entry does not end with '/'
 *   CF411 E patterns for a non-cdnpro endpoint
 *   CF412 E regex for a non-cdnpro endpoint
 *   CF413 E more than 2 regex in one manifest (one request per endpoint)
 *   CF414 E regex prefix is not http:// https:// any:// + host + '/'
 *   CF415 E regex longer than 126 characters after "host/"
 *   CF416 E regex has more than 2 unlimited quantifiers
 *   CF417 E regex quantifier bound above 59
 *   CF418 E regex does not compile (PCRE2)
 *   CF419 E action delete for a non-cdnpro endpoint
 *   CF420 E azure preload has a wildcard   CF421 E azure preload longer than 1024
 *   CF422 E azure preload character outside the load API's set
 *   CF423 W duplicate entry in one purge list
 *   CF424 W purge targets an observe-mode endpoint (it will not run)
 *   CF425 E preload on a cdnpro endpoint whose target is staging (prefetch needs production)
 *   CF501 E secret written literally (key_value, client_secret, api_key)
 *   CF502 E azure: more than 25 delivery rules
 *   CF503 E azure: rule name not ^[a-zA-Z][a-zA-Z0-9]*$
 *   CF504 E azure: ignore_cookie true        CF505 E cdnpro: mode is not purge-only
 *   CF506 E cdnpro: cache block or rules given
 *   CF507 W rule name on a non-azure endpoint (ignored)
 *   CF508 E azure: two delivery rules with the same effective name
 *
 * Matching semantics used by the never-matches lints (first matching rule wins, query
 * strings ignored): a dir item D matches a path P when P starts with D (a plain string
 * prefix, as azure-china Dir and azure UrlPath BeginsWith: dir "/pic" also matches
 * "/picture.png"); a suffix S matches when the last segment of P ends in "." S; a path item
 * X matches only P == X. So an earlier dir D covers a later dir or path item that starts
 * with D, and dir "/" covers everything; an earlier suffix covers the same suffix and every
 * path item with that extension; an earlier path covers only the same path. On azure-china
 * a TTL-0 rule takes precedence over caching rules (its API documents "no-cache rules are
 * prioritized"), so there a TTL-0 rule is only shadowed by earlier TTL-0 rules.
 * Items are compared byte for byte (case-sensitive); query strings play no part.
 */
#ifndef CF_CHECK_H
#define CF_CHECK_H

#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/limits.h"
#include "reconcile/base/model.h"

#define CHECK_ITEM_MAX	       1024 /* a cache rule item */
#define CHECK_NAME_MAX	       128  /* account, endpoint and purge names */
#define CHECK_AZURE_RULES_MAX  LIM_AZURE_RULES
#define CHECK_LINT_MAX_ITEMS   1024 /* per endpoint; above this the O(n^2) lints are skipped */
#define CHECK_RATE_PER_MIN_MAX 100000
#define CHECK_RATE_BURST_MAX   100000
#define CHECK_TIMEOUT_MAX_S    3600

struct check_opts {
	bool strict;  /* turn warnings into errors (all of d's warnings, the loader's too) */
	bool retired; /* say which accounts use retired or retiring services (validate) */
};

/*
 * Validates c and appends every finding to d (which may already hold the loader's). Also
 * sets each endpoint->account (borrowed, NULL when unknown) and normalises suffix items
 * that start with '.' (the dot is removed in place, with a CF307 notice). Never resolves
 * {env:} or {file:} values. o may be NULL (not strict). When d already holds errors and c has
 * no accounts (cacheform.yaml did not load), unknown-account and unlocated version findings
 * are left out: the loader has reported the cause.
 * Returns 0 when d holds no error afterwards, CF_EINVAL otherwise.
 */
int check_config(struct config *c, const struct check_opts *o, struct diag_list *d);

/*
 * azure-china prioritises no-cache (TTL 0) rules over the first match, so a list means what
 * SPEC §2.2 says only when no TTL-0 rule matches a path an earlier rule with a TTL decides.
 * Returns true and sets *earlier, *later (rule indexes) and example (a path of that kind,
 * NUL-terminated in n bytes) for the first such pair; false when the list is expressible.
 */
bool check_cn_takeover(const struct cache *c, size_t *earlier, size_t *later, char *example,
		       size_t n);

/*
 * True when s is a valid account, endpoint or purge name: 1 to CHECK_NAME_MAX letters, digits,
 * '.', '_' or '-', starting with a letter or digit (so never a path, never a hidden file).
 */
bool check_name_valid(const char *s);

#endif
