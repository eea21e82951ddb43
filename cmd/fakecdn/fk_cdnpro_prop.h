/*
 * CDN Pro properties, versions, validations, deployment tasks, staging servers, service
 * quotas, system configs and hostnames (reference cdnpro-edgelogic-api.md §1-2, §5; the
 * vendor's OpenAPI spec, operationIds queryProperty, getPropertyVersions, getPropertyVersion,
 * createPropertyVersion, updatePropertyVersion, createValidationTask, createDeployment).
 *
 * State: cdnpro.properties[] of {id, name, description, created_ms, updated_ms,
 * [allowProduction], [staging|production: {version, deployed_ms}], versions[] of {version,
 * configs, created_ms, updated_ms, frozen, validation, validated_ms, validated_update_ms,
 * last_staging_ms, last_production_ms}}; a state file may instead give a property in the seed
 * shape of POST /_fakecdn/cdnpro/properties, converted when loaded. cdnpro.service_quota holds
 * the API's service quota object (absent: GET answers 404 with the defaults, as the service).
 *
 * Every function runs with app->mu held.
 */
#ifndef FK_CDNPRO_PROP_H
#define FK_CDNPRO_PROP_H

#include "cmd/fakecdn/fk_app.h"

/* Journal ops (resp->op) are the route's: property_list, property_create, property_get,
 * version_list, version_create, version_get, version_patch, validation_create,
 * validation_get, deployment_create, deployment_get, staging_servers, service_quota,
 * system_configs, hostname_get. */
void fk_pp_h_list(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);
void fk_pp_h_create(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);
void fk_pp_h_get(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);
void fk_pp_h_versions(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);
void fk_pp_h_ver_create(struct fk_app *, const struct fk_req *, const char **, int,
			struct fk_resp *);
void fk_pp_h_ver_get(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);
void fk_pp_h_ver_patch(struct fk_app *, const struct fk_req *, const char **, int,
		       struct fk_resp *);
void fk_pp_h_val_create(struct fk_app *, const struct fk_req *, const char **, int,
			struct fk_resp *);
void fk_pp_h_val_get(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);
void fk_pp_h_dep_create(struct fk_app *, const struct fk_req *, const char **, int,
			struct fk_resp *);
void fk_pp_h_dep_get(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);
void fk_pp_h_staging(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);
void fk_pp_h_quota(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);
void fk_pp_h_sysconf(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);
void fk_pp_h_hostname(struct fk_app *, const struct fk_req *, const char **, int, struct fk_resp *);

/* Placed first in fk_cdnpro_routes (before its catch-all routes). */
#define FK_CDNPRO_PROP_ROUTES                                                                      \
	{"GET", "cdn/properties", "property_list", fk_pp_h_list},                                  \
	    {"POST", "cdn/properties", "property_create", fk_pp_h_create},                         \
	    {"GET", "cdn/properties/*", "property_get", fk_pp_h_get},                              \
	    {"GET", "cdn/properties/*/versions", "version_list", fk_pp_h_versions},                \
	    {"POST", "cdn/properties/*/versions", "version_create", fk_pp_h_ver_create},           \
	    {"GET", "cdn/properties/*/versions/*", "version_get", fk_pp_h_ver_get},                \
	    {"PATCH", "cdn/properties/*/versions/*", "version_patch", fk_pp_h_ver_patch},          \
	    {"POST", "cdn/validations", "validation_create", fk_pp_h_val_create},                  \
	    {"GET", "cdn/validations/*", "validation_get", fk_pp_h_val_get},                       \
	    {"POST", "cdn/deploymentTasks", "deployment_create", fk_pp_h_dep_create},              \
	    {"GET", "cdn/deploymentTasks/*", "deployment_get", fk_pp_h_dep_get},                   \
	    {"GET", "cdn/stagingServers", "staging_servers", fk_pp_h_staging},                     \
	    {"GET", "cdn/serviceQuotas/customer/*", "service_quota", fk_pp_h_quota},               \
	    {"GET", "cdn/systemConfigs", "system_configs", fk_pp_h_sysconf},                       \
	{                                                                                          \
		"GET", "cdn/hostnames/*", "hostname_get", fk_pp_h_hostname                         \
	}

/* POST /_fakecdn/cdnpro/properties (admin, no auth): {id?, name, description?,
 * allowProduction?, version: {config}, deploy: ["staging", "production"]} creates a property
 * whose version 1 is validated and, for each deploy target, deployed (so frozen). */
void fk_pp_h_admin_create(struct fk_app *, const struct fk_req *, const char **, int,
			  struct fk_resp *);

/* Converts seed-shaped entries of cdnpro.properties (state file) into properties. Returns -1
 * with msg when one is invalid. */
int fk_cdnpro_prop_seed(struct fk_app *app, int64_t now_ms, char *msg, size_t msgsz);

/* The configs of the version deployed to target ("staging"/"production") whose hostnames
 * take host ("*.domain" covers one label); NULL when none. Borrowed from the state. */
struct json_object *fk_cdnpro_prop_serving(struct fk_app *app, const char *host,
					   const char *target);

/* Task kinds of this module ("cdnpro_validation", "cdnpro_deploy"). */
bool fk_cdnpro_prop_task(const char *kind);
/* A validation or deployment task finished (fail: it failed): records the outcome. */
void fk_cdnpro_prop_task_done(struct fk_app *app, struct json_object *t, bool fail,
			      int64_t when_ms);

#endif
