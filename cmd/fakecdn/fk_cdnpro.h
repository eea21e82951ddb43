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

/* Shared with fk_cdnpro_prop.c: rate limit then credentials (false: resp holds the error);
 * the x-rate-limit-remaining header on a 2xx answer; a Location header naming
 * /cdn/{coll}/{id} on the status host. */
bool fk_cdnpro_begin(struct fk_app *app, const struct fk_req *req, struct fk_resp *resp,
		     int64_t *remaining);
void fk_cdnpro_finish(struct fk_resp *resp, int64_t remaining);
void fk_cdnpro_location(struct fk_app *app, const struct fk_req *req, struct fk_resp *resp,
			const char *coll, const char *id);

#endif
