#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_admin.h"
#include "cmd/fakecdn/fk_azure.h"
#include "cmd/fakecdn/fk_azurecn.h"
#include "cmd/fakecdn/fk_cdnpro_prop.h"
#include "cmd/fakecdn/fk_edge.h"
#include "cmd/fakecdn/fk_migrate.h"
#include "cmd/fakecdn/fk_util.h"

#define MSG_MAX 512

static void ok_json(struct fk_resp *resp, struct json_object *o)
{
	fk_resp_json(resp, 200, o);
	json_object_put(o);
}

static void h_state(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		    struct fk_resp *resp)
{
	CF_UNUSED(req);
	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	fk_resp_json(resp, 200, app->state);
}

static void h_faults_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp)
{
	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	ok_json(resp, fk_knobs_json(&app->knobs, req->now_ms));
}

/* Knobs are not state: setting them never marks the request as a state change. */
static void h_faults_set(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp)
{
	struct json_object *body = fk_req_json(req);
	char msg[MSG_MAX];
	int64_t old_burst = app->knobs.cdnpro_burst, old_arm = app->knobs.arm_burst;

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (fk_knobs_apply(&app->knobs, body, req->now_ms, msg, sizeof(msg)) < 0) {
		fk_error_admin(resp, 400, msg);
	} else {
		/* A new bucket size starts full, so a test raising the limit sees it at once. */
		if (app->knobs.cdnpro_burst != old_burst)
			app->bucket =
			    (struct fk_bucket){(double)app->knobs.cdnpro_burst, req->now_ms};
		if (app->knobs.arm_burst != old_arm)
			app->arm_bucket =
			    (struct fk_bucket){(double)app->knobs.arm_burst, req->now_ms};
		ok_json(resp, fk_knobs_json(&app->knobs, req->now_ms));
	}
	json_object_put(body);
}

static void h_reset(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		    struct fk_resp *resp)
{
	CF_UNUSED(req);
	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	fk_app_reset(app);
	fk_state_changed(app, resp);
	fk_resp_json(resp, 200, app->state);
}

/* PUT /_fakecdn/azure-china/{endpointId}/cacherules: applied at once, no task. */
static void h_china_rules(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			  struct fk_resp *resp)
{
	struct json_object *ep = fk_azurecn_find_endpoint(app, seg[2], NULL), *body, *pol = NULL;
	char msg[MSG_MAX];
	const char *type;

	CF_UNUSED(nseg);
	if (!ep) {
		fk_error_admin(resp, 404, "no such azure-china endpoint");
		return;
	}
	body = fk_req_json(req);
	type = fk_azurecn_policy(body, &pol, msg, sizeof(msg));
	json_object_put(body);
	if (type) {
		fk_error_admin(resp, 400, msg);
		return;
	}
	json_object_object_add(ep, "cacherules", pol);
	fk_state_changed(app, resp);
	fk_resp_json(resp, 200, pol);
}

/* PATCH /_fakecdn/azure-china/{endpointId} {"enabled": bool, "hosts": [...]}. */
static void h_china_endpoint(struct fk_app *app, const struct fk_req *req, const char **seg,
			     int nseg, struct fk_resp *resp)
{
	struct json_object *ep = fk_azurecn_find_endpoint(app, seg[2], NULL), *body, *v;

	CF_UNUSED(nseg);
	if (!ep) {
		fk_error_admin(resp, 404, "no such azure-china endpoint");
		return;
	}
	body = fk_req_json(req);
	if (!body || !json_object_is_type(body, json_type_object)) {
		fk_error_admin(resp, 400, "the body must be a JSON object");
	} else {
		if (json_object_object_get_ex(body, "enabled", &v) &&
		    json_object_is_type(v, json_type_boolean))
			json_object_object_add(ep, "enabled", json_object_get(v));
		if (fk_jarr(body, "hosts"))
			json_object_object_add(ep, "hosts",
					       json_object_get(fk_jarr(body, "hosts")));
		fk_state_changed(app, resp);
		fk_resp_json(resp, 200, ep);
	}
	json_object_put(body);
}

/* PATCH /_fakecdn/azure/{resourceGroup}/{profile}/{endpoint}: the ARM PATCH body. */
static void h_arm_endpoint(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			   struct fk_resp *resp)
{
	struct json_object *ep = fk_azure_find_endpoint(app, NULL, seg[2], seg[3], seg[4]), *body;
	char msg[MSG_MAX];

	CF_UNUSED(nseg);
	if (!ep) {
		fk_error_admin(resp, 404, "no such azure endpoint");
		return;
	}
	body = fk_req_json(req);
	if (fk_azure_patch(ep, body, msg, sizeof(msg)) < 0) {
		fk_error_admin(resp, 400, msg);
	} else {
		fk_state_changed(app, resp);
		fk_resp_json(resp, 200, ep);
	}
	json_object_put(body);
}

/* PUT /_fakecdn/cdnpro/hosts {"production": [...], "staging": [...]}. */
static void h_pro_hosts(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			struct fk_resp *resp)
{
	struct json_object *body = fk_req_json(req), *pro = fk_jobj(app->state, "cdnpro");

	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	if (!body || !json_object_is_type(body, json_type_object) || !pro) {
		fk_error_admin(
		    resp, 400,
		    "the body must be a JSON object and the state needs a cdnpro section");
	} else {
		json_object_object_add(pro, "hosts", json_object_get(body));
		fk_state_changed(app, resp);
		fk_resp_json(resp, 200, body);
	}
	json_object_put(body);
}

static void h_health(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		     struct fk_resp *resp)
{
	CF_UNUSED(app);
	CF_UNUSED(req);
	CF_UNUSED(seg);
	CF_UNUSED(nseg);
	fk_resp_text(resp, 200, "application/json", "{\"ok\":true}");
}

const struct fk_route fk_admin_routes[] = {
    {"GET", "_fakecdn/health", "admin_health", h_health},
    {"GET", "_fakecdn/state", "admin_state", h_state},
    {"GET", "_fakecdn/faults", "admin_faults", h_faults_get},
    {"POST", "_fakecdn/faults", "admin_faults", h_faults_set},
    {"POST", "_fakecdn/reset", "admin_reset", h_reset},
    {"PUT", "_fakecdn/azure-china/*/cacherules", "admin_rules", h_china_rules},
    {"PATCH", "_fakecdn/azure-china/*", "admin_endpoint", h_china_endpoint},
    {"PATCH", "_fakecdn/azure/*/*/*", "admin_rules", h_arm_endpoint},
    {"POST", "_fakecdn/azure/*/*/migrate", "admin_migrate", fk_migrate_h_admin},
    {"PUT", "_fakecdn/cdnpro/hosts", "admin_hosts", h_pro_hosts},
    {"POST", "_fakecdn/cdnpro/properties", "admin_property", fk_pp_h_admin_create},
    {"GET", "_fakecdn/clock", "admin_clock", fk_edge_h_clock_get},
    {"POST", "_fakecdn/clock", "admin_clock", fk_edge_h_clock_set},
    {"PUT", "_fakecdn/edge/origin", "admin_origin", fk_edge_h_origin},
    {"GET", "_fakecdn/edge/cache", "admin_cache", fk_edge_h_cache},
    {"PUT", "_fakecdn/azure/*/*/*/customdomains", "admin_domains", fk_edge_h_domains},
};
const size_t fk_admin_nroutes = CF_ARRAY_LEN(fk_admin_routes);
