/*
 * The edge (SPEC §7): a request whose Host is one of an endpoint's hosts is answered as that
 * CDN would answer it, from a simulated origin, cached by the provider's own semantics applied
 * to the endpoint's live rules (reconcile/sem.h, the evaluators `explain` uses), with
 * X-Cache (TCP_HIT / TCP_MISS) and Age. Purges evict when their task completes; preloads warm.
 *
 * Hosts: azure-china endpoints' `hosts`, azure endpoints' `properties.hostName` and custom
 * domains, cdnpro's production `hosts` (`*.domain` allowed), Front Door afdEndpoints'
 * `hostName` (the route whose patternsToMatch takes the path most specifically serves it, its
 * rule sets read as the driver reads them, reconcile/prov_afd.h; no route: 404). The origin answers
 * every path with 200, a deterministic body and the Cache-Control set for that path through PUT
 * /_fakecdn/edge/origin (state member `edge.cache_control`). The cache and the edge clock live in
 * memory only; POST /_fakecdn/clock advances the clock (cached objects age, running tasks come due)
 * and can freeze it (then only advancing moves it), so tests never sleep and Age is exact.
 *
 * Every function runs with app->mu held unless it says otherwise.
 */
#ifndef FK_EDGE_H
#define FK_EDGE_H

#include "cmd/fakecdn/fk_app.h"

/* What the live rules decide for one path (before the origin's Cache-Control is applied). */
enum fk_edge_kind {
	FK_EDGE_DEFAULT, /* no rule decides: origin headers, then the provider default */
	FK_EDGE_NOCACHE, /* a rule says do not cache */
	FK_EDGE_TTL,	 /* a rule gives a TTL (how it meets the origin's header: see ttl_s) */
};

struct fk_edge_decision {
	enum fk_edge_kind kind;
	int64_t rule_ttl_s; /* the deciding rule's TTL (FK_EDGE_TTL) */
	int64_t ttl_s;	    /* seconds the response is cached for; 0 = not cached */
	int rule;	    /* index of the deciding live rule, -1 = none */
};

/* Returns true when req's Host (port ignored) is an edge host. Takes app->mu itself. */
bool fk_edge_claims(struct fk_app *app, const struct fk_req *req);

/* The one route fk_app.c dispatches claimed requests to (any method; GET and HEAD served). */
extern const struct fk_route fk_edge_route;

/*
 * What the live rules of the endpoint serving host decide for raw path (percent-encoded,
 * no query) with origin Cache-Control cc (NULL = none), into *out. Returns 0, or -1 when
 * host is no edge host or the path does not decode.
 */
int fk_edge_decide(struct fk_app *app, const char *host, const char *path, const char *cc,
		   struct fk_edge_decision *out);

/* Edge time: real ms (or the ms it was frozen at) plus the clock's advance. */
int64_t fk_edge_now(const struct fk_app *app, int64_t real_ms);

/* A task finished successfully at real time now_ms: a purge (a Front Door operation carrying
 * contentPaths included) evicts, a preload warms. */
void fk_edge_task_done(struct fk_app *app, struct json_object *task, int64_t now_ms);
/* Forgets the cache and the clock's advance (POST /_fakecdn/reset). */
void fk_edge_reset(struct fk_app *app);
/* Frees app->edge (fk_app_release). */
void fk_edge_release(struct fk_app *app);

/* Admin handlers (routes in fk_admin.c). */
void fk_edge_h_clock_get(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp);
void fk_edge_h_clock_set(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			 struct fk_resp *resp);
void fk_edge_h_origin(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		      struct fk_resp *resp);
void fk_edge_h_cache(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		     struct fk_resp *resp);
void fk_edge_h_domains(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
		       struct fk_resp *resp);

#endif
