/*
 * In-place migration of an Azure CDN Standard from Microsoft (classic) profile to Front Door
 * Standard, as Microsoft's migration does it (learn.microsoft.com, "Migrate Azure CDN from
 * Microsoft (classic) to Azure Front Door"; REST: Profiles_CdnMigrateToAfd and
 * Profiles_MigrationCommit): every classic endpoint of the profile becomes an afdEndpoint with
 * one route, its origins an origin group, and its delivery rules plus its query-string caching
 * behaviour a rule set on that route with the same caching for every path.
 *
 * Surfaces: POST /_fakecdn/azure/{rg}/{profile}/migrate (admin: migrate and commit at once)
 * and the ARM operations POST .../profiles/{p}/cdnMigrateToAfd and .../migrationCommit (long
 * running: Azure-AsyncOperation, like every Front Door write).
 */
#ifndef FK_MIGRATE_H
#define FK_MIGRATE_H

#include "cmd/fakecdn/fk_app.h"

#define FK_MIGRATE_ROUTE    "default-route"   /* the route Front Door creates with an endpoint */
#define FK_MIGRATE_SET_TAIL "MigratedRuleSet" /* rule set: endpoint's letters/digits + this */
#define FK_MIGRATE_SKU	    "Standard_AzureFrontDoor"

/*
 * Translates one classic endpoint (as fakecdn stores it: {name, properties}) into the Front
 * Door objects of profile_id ("/subscriptions/.../profiles/NAME"): *afd_ep (an afdEndpoint
 * named to, with its route), *og (its origin group) and *set (its rule set, NULL when the
 * endpoint has no delivery rule). Returns 0, or -1 with a sentence in msg and nothing made.
 */
int fk_migrate_endpoint(struct json_object *classic, const char *to, const char *profile_id,
			struct json_object **afd_ep, struct json_object **og,
			struct json_object **set, char *msg, size_t msgsz);

/* The rule set name of endpoint name: its letters and digits + FK_MIGRATE_SET_TAIL. */
void fk_migrate_set_name(const char *name, char *out, size_t outsz);

void fk_migrate_h_admin(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp);
void fk_migrate_h_arm(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		      struct fk_resp *resp);
void fk_migrate_h_commit(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp);

#endif
