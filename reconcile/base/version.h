/*
 * The build's identity, fixed when the binary is built (see the Makefile's version header):
 * what `cacheform version` prints and what the HTTP User-Agent and SARIF driver carry.
 */
#ifndef CF_VERSION_H
#define CF_VERSION_H

/* Returns the semver version, e.g. "0.1.0", "0.1.0-3-gabc1234-dirty" or "0.2.0-dev". Static. */
const char *cf_version(void);

/* Returns the full commit id the binary was built from, or "unknown". Static. */
const char *cf_commit(void);

/* Returns the build date as ISO 8601 UTC (SOURCE_DATE_EPOCH when set). Static. */
const char *cf_build_date(void);

/* Returns the project's home page (documentation and code reference). Static. */
const char *cf_home_url(void);

#endif
