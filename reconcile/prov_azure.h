/*
 * The Azure CDN driver's reading of delivery rules as the rules engine evaluates them
 * (reconcile/sem.h). One reading for the driver (plan, explain) and fakecdn's edge, so the
 * emulator serves what the driver predicts from the same JSON.
 */
#ifndef CF_PROV_AZURE_H
#define CF_PROV_AZURE_H

#include <stdbool.h>

#include "reconcile/sem.h"

struct json_object;

/*
 * Appends delivery rule j (one element of deliveryPolicy.rules) to az as the engine reads it:
 * UrlPath / UrlFileExtension / UrlFileName conditions, the last CacheExpiration action; what
 * the model lacks becomes SEM_OP_OTHER / SEM_AZ_OTHER (uncertain). foreign marks a rule
 * cacheform does not own. Never fails: malformed parts read as unknown.
 */
void prov_azure_sem_rule(struct json_object *j, struct sem_az *az, bool foreign);

/* ---- Microsoft's own migration check (Profiles_CdnCanMigrateToAfd), for `migrate` ---- */

struct prov_account;
struct endpoint;
struct http_req;
struct http_resp;
struct cf_err;

/* What cdnCanMigrateToAfd answered for the profile of a classic endpoint. */
struct prov_azure_migrate {
	bool can;	    /* properties.canMigrate */
	char *default_sku;  /* owned; properties.defaultSku, NULL when absent */
	struct svec errors; /* owned; "CODE resource: message (next steps)" per errors[] item */
};

/*
 * Builds POST .../profiles/{remote.profile}/cdnCanMigrateToAfd for ep (an azure endpoint) with
 * pa's credentials. Returns 0, or a negative code (remote incomplete) with e filled.
 */
int prov_azure_can_migrate_req(struct prov_account *pa, const struct endpoint *ep,
			       struct http_req *req, struct cf_err *e);
/* Decodes the 200 answer into out (zeroed first; release with prov_azure_migrate_release).
 * Returns 0, or a negative code naming the endpoint and the HTTP status or the bad field. */
int prov_azure_can_migrate_parse(const struct endpoint *ep, const struct http_resp *resp,
				 struct prov_azure_migrate *out, struct cf_err *e);
void prov_azure_migrate_release(struct prov_azure_migrate *m);

#endif
