/*
 * Azure CDN operated in China, REST v1.0 (docs.azure.cn/cdn/cdn-api): endpoints, cache rules
 * (PUT is asynchronous: the rules read back change when the task succeeds), purges,
 * preloads and task status, with AzureCDN signature verification.
 */
#ifndef FK_AZURECN_H
#define FK_AZURECN_H

#include "cmd/fakecdn/fk_app.h"

extern const struct fk_route fk_azurecn_routes[];
extern const size_t fk_azurecn_nroutes;

/*
 * Validates a CachePolicy body and returns its canonical form (TTL numbers, boolean flags)
 * in *out, or NULL with the ErrorInfo.Type and a message. Shared with the admin surface.
 */
const char *fk_azurecn_policy(struct json_object *in, struct json_object **out, char *msg,
			      size_t msgsz);
/* Finds a subscription / endpoint object in the state; NULL when absent. */
struct json_object *fk_azurecn_find_endpoint(struct fk_app *app, const char *endpoint_id,
					     struct json_object **sub_out);
/* The endpoint endpoint_id of the subscription sub_id, or NULL (hashed). */
struct json_object *fk_azurecn_endpoint(struct fk_app *app, const char *sub_id,
					const char *endpoint_id);
/* Builds the index of the azure-china endpoints now (see fk_azure_index_build). */
void fk_azurecn_index_build(struct fk_app *app);
/* Drops the index of the endpoints by id (the state is replaced or released). */
void fk_azurecn_index_drop(struct fk_app *app);

#endif
