/*
 * Azure Resource Manager Microsoft.Cdn endpoints (learn.microsoft.com/rest/api/cdn) and the Entra
 * ID client-credentials token endpoint (v2.0 and v1). Tokens are opaque random strings kept in
 * memory; they expire after the token_expiry_s knob.
 */
#ifndef FK_AZURE_H
#define FK_AZURE_H

#include "cmd/fakecdn/fk_app.h"

extern const struct fk_route fk_azure_routes[];
extern const size_t fk_azure_nroutes;
extern const struct fk_route fk_token_routes[];
extern const size_t fk_token_nroutes;

/* Finds an endpoint by resource group, profile and name (case-insensitive) in any
 * subscription, or in sub_id when it is not NULL. */
struct json_object *fk_azure_find_endpoint(struct fk_app *app, const char *sub_id, const char *rg,
					   const char *profile, const char *name);
/* Builds the index of the ARM endpoints now (main, before the port is announced): built on
 * first use instead, a fleet's (300,000 keys at 100,000 endpoints) held every request, token
 * requests too, for 1-2 s just as the first clients arrived. */
void fk_azure_index_build(struct fk_app *app);
/* Drops the index of the ARM endpoints (the state is replaced or released). */
void fk_azure_index_drop(struct fk_app *app);
/* Validates an EndpointUpdateParameters body and applies it to ep (all or nothing).
 * Returns 0, or -1 with a message. Shared with the admin surface. */
int fk_azure_patch(struct json_object *ep, struct json_object *body, char *msg, size_t msgsz);

/* Bearer token, api-version and subscription checks of every ARM request (fk_afd.c shares
 * them). Returns the subscription, or NULL with resp filled. */
struct json_object *fk_azure_begin(struct fk_app *app, const struct fk_req *req, const char *sub_id,
				   struct fk_resp *resp);
/* The first classic endpoint of a profile (its can_migrate member answers
 * cdnCanMigrateToAfd), or NULL. */
struct json_object *fk_azure_find_profile(struct fk_app *app, const char *sub_id, const char *rg,
					  const char *profile);

#endif
