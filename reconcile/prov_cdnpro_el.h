/*
 * CDN Pro cache rules through a property's Edge Logic (SPEC 2.5): the read and write steps
 * of prov_cdnpro.c's driver for `mode: manage` endpoints. Internal to the cdnpro driver.
 *
 * Read (live_state.step): 0 GET /cdn/properties/{id} (versions deployed to staging and
 * production), 1 GET its versions (newest first: the highest number and cacheform's own
 * undeployed draft), 2 GET the version deployed to the endpoint's target (else the newest):
 * its config and edgeLogic, parsed, the owned region compared with the compiled rules.
 * Write: PATCH the draft (If-Unmodified-Since) or POST a new version (its number from the
 * 201's Location), POST /cdn/validations (polled), then the deployment: a step shared by
 * every endpoint of the account with the same target (prov_ops.write_join), one POST
 * /cdn/deploymentTasks with one deploy_property action per property (polled). A 412 on the
 * PATCH re-reads the draft once (its new Last-Modified) and PATCHes again; a second 412 is a
 * conflict.
 */
#ifndef CF_PROV_CDNPRO_EL_H
#define CF_PROV_CDNPRO_EL_H

#include "reconcile/prov_int.h"

#define PRO_DRAFT_MARK "cacheform draft" /* version description prefix of our draft */

/* Starts a signed request to base_url + path (prov_cdnpro.c). */
int pro_request(struct prov_account *pa, const struct endpoint *ep, const char *method,
		const char *path, const char *op, struct http_req *req, struct cf_err *e);

int pro_el_read_req(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
		    struct cf_err *e);
int pro_el_read_next(struct prov_account *pa, const struct endpoint *ep,
		     const struct live_state *ls, struct http_req *req, struct cf_err *e);
/* Returns PROV_MORE until the last read step is parsed. */
int pro_el_read_parse(const struct endpoint *ep, const struct http_resp *resp,
		      struct live_state *out, struct cf_err *e);

/*
 * The Edge Logic the write would store (live's, its region replaced by the compiled rules),
 * as a SEM_CDNPRO configuration: prov_ops.sem_write. CF_EINVAL when live holds no Edge Logic
 * (a purge-only endpoint, a read that failed) or the live one cannot be evaluated.
 */
int pro_el_sem_write(const struct endpoint *ep, const struct live_state *live, struct sem_cfg *out,
		     struct cf_err *e);

int pro_el_write_req(struct prov_account *pa, const struct endpoint *ep,
		     const struct live_state *live, struct http_req *req, struct cf_err *e);
int pro_el_write_next(struct prov_account *pa, const struct endpoint *ep,
		      const struct live_state *live, struct http_req *req, struct cf_err *e);
/* plan's early refusal: a production endpoint when the service quota read says
 * allowProduction: false (unknown quotas are not refused: the deployment says so). */
int pro_el_write_check(const struct endpoint *ep, const struct live_state *live, struct cf_err *e);
/* The shared deployment step: "deploy staging" / "deploy production" when it is next. */
const char *pro_el_write_join(const struct endpoint *ep, const struct live_state *live, char *buf,
			      size_t n);
/* One deployment task for eps[0..n) (one target, one account). */
int pro_el_write_join_req(struct prov_account *pa, const struct endpoint *const *eps,
			  const struct live_state *const *lives, size_t n, struct http_req *req,
			  struct cf_err *e);
/* A version write is complete at once; a validation or deployment is a task to poll. */
int pro_el_write_parse(const struct endpoint *ep, const struct http_resp *resp, struct task *out,
		       struct cf_err *e);

/* What the read found deployed (apply --promote). */
struct pro_el_deployed {
	int64_t staging, production;	   /* versions, 0 = none */
	int64_t staging_at, production_at; /* deployment times, unix s, 0 = unknown */
};
/* From a read live state of a `mode: manage` endpoint; CF_EINVAL when it was not read. */
int pro_el_deployed(const struct live_state *ls, struct pro_el_deployed *out);
/* One deployment task to production of versions[i] of eps[i]'s property. */
int pro_el_promote_req(struct prov_account *pa, const struct endpoint *const *eps,
		       const int64_t *versions, size_t n, struct http_req *req, struct cf_err *e);
/* GET /cdn/stagingServers, and its first IPv4 address into ip (n bytes). */
int pro_el_staging_req(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
		       struct cf_err *e);
int pro_el_staging_parse(const struct endpoint *ep, const struct http_resp *resp, char *ip,
			 size_t n, struct cf_err *e);

#endif
