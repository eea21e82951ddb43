/*
 * Azure Front Door Standard/Premium (learn.microsoft.com/rest/api/frontdoor): routes, rule sets
 * (per-rule and batch mode), rules, purge, usages and Profiles_CdnCanMigrateToAfd (the in-place
 * migration itself, CdnMigrateToAfd and MigrationCommit, is fk_migrate.c), under the ARM
 * paths of fk_azure.c and its bearer tokens (global and China clouds alike: the token endpoint
 * takes any
 * ".../.default" scope). State: "frontdoor": {"profiles": [...]}. Every write is a global
 * operation of its profile: it answers with an Azure-AsyncOperation URL, the profile is busy
 * for the afd_op_ms knob, and a write while busy is refused with 409 Conflict, as the service
 * answers.
 */
#ifndef FK_AFD_H
#define FK_AFD_H

#include "cmd/fakecdn/fk_app.h"

extern const struct fk_route fk_afd_routes[];

/* Starts a global operation of the profile in seg (ARM path segments): the answer's
 * Azure-AsyncOperation and Retry-After, and its task, due after afd_op_ms (fk_migrate.c). */
struct json_object *fk_afd_op_start(struct fk_app *app, const struct fk_req *req, const char **seg,
				    struct fk_resp *resp);
extern const size_t fk_afd_nroutes;
/* Drops the index of the Front Door profiles, endpoints and rule sets: call it whenever one
 * is added or removed, or the state is replaced or released. */
void fk_afd_index_drop(struct fk_app *app);

#endif
