/*
 * CDNetworks CDN Pro purges and prefetches (docs.cdnetworks.com/cdn/apidocs, createPurge /
 * createPrefetch) with Basic/HMAC-SHA1 authentication, the per-customer token bucket (§6.2) and
 * rolling 24-hour purge quotas.
 */
#ifndef FK_CDNPRO_H
#define FK_CDNPRO_H

#include "cmd/fakecdn/fk_app.h"

extern const struct fk_route fk_cdnpro_routes[];
extern const size_t fk_cdnpro_nroutes;

/* Validates one regexPatterns entry as the service does; returns a message or NULL. */
const char *fk_cdnpro_check_regex(const char *pattern, char *msg, size_t msgsz);

#endif
