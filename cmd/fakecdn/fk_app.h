/*
 * Request dispatch: routes a request to a provider handler by its path, injects the
 * configured faults, holds the state lock around the handler, saves the state and writes
 * the journal line. fk_app_handle() is what the HTTP server calls and what unit tests drive.
 */
#ifndef FK_APP_H
#define FK_APP_H

#include "cmd/fakecdn/fk_http.h"
#include "cmd/fakecdn/fk_state.h"

#define FK_ROUTE_MAX_SEGMENTS 16

/* seg[0..nseg) are the raw path segments. Runs with app->mu held. */
typedef void (*fk_handler)(struct fk_app *app, const struct fk_req *req, const char **seg, int nseg,
			   struct fk_resp *resp);

struct fk_route {
	const char *method;
	const char *pattern; /* segments separated by '/', "*" matches one segment */
	const char *op;	     /* journal "op" */
	fk_handler fn;
};

/* What the server must do with the answer beyond sending it. */
enum fk_fault { FK_FAULT_NONE, FK_FAULT_DROP, FK_FAULT_TRUNCATE, FK_FAULT_MALFORMED };

/* One request between fk_app_begin() and fk_app_finish(): its route and its faults, drawn
 * when it arrived. */
struct fk_exchange {
	const struct fk_route *route; /* NULL: no route for the path and method */
	const char *matched;	      /* provider whose pattern matched the path, NULL none */
	int64_t latency_ms;
	int64_t retry_after_s;
	bool drop, error, throttle, truncate, malformed;
	bool act_drop; /* a purge or preload: handled, then the connection closed unanswered */
	bool echo;     /* refused, quoting the request's credentials */
};

/* Handles req into resp; sleeps for the latency knob (fk_app_begin, sleep, fk_app_finish).
 * Never holds the lock while sleeping. */
enum fk_fault fk_app_handle(struct fk_app *app, struct fk_req *req, struct fk_resp *resp);
/* First half: routes req and draws its faults into x. Returns how many milliseconds the
 * answer waits before fk_app_finish(), or -1 when the request is dropped (its journal line
 * is written; close the connection unanswered). Sets resp's provider and op. */
int64_t fk_app_begin(struct fk_app *app, struct fk_req *req, struct fk_resp *resp,
		     struct fk_exchange *x);
/* Second half, once the wait is over: runs the handler (or the injected fault) into resp
 * and writes the journal line, before the answer leaves. */
enum fk_fault fk_app_finish(struct fk_app *app, const struct fk_exchange *x, struct fk_req *req,
			    struct fk_resp *resp);

/* Opens the journal for appending (line-buffered JSON). Returns -1 (e filled) on failure. */
int fk_journal_open(struct fk_app *app, const char *path, struct cf_err *e);
/* Appends one line for the exchange; fault names an injected fault or is NULL. */
void fk_journal_write(struct fk_app *app, const struct fk_req *req, const struct fk_resp *resp,
		      const char *fault);

/* Host (and port) for the status URLs of an answer: the request's Host, or, with the
 * status_elsewhere knob, FK_STATUS_ELSEWHERE (a proxy base_url, CDN Pro's second API host).
 * Borrowed. */
#define FK_STATUS_ELSEWHERE "status.fakecdn.invalid"
const char *fk_status_host(const struct fk_app *app, const struct fk_req *req);

/* Error bodies in each provider's shape (used for injected faults too). */
void fk_error_china(struct fk_resp *resp, int status, const char *type, const char *msg);
void fk_error_arm(struct fk_resp *resp, const struct fk_req *req, int status, const char *code,
		  const char *msg);
void fk_error_pro(struct fk_resp *resp, int status, const char *code, const char *msg);
void fk_error_token(struct fk_resp *resp, int status, const char *error, const char *desc);
void fk_error_admin(struct fk_resp *resp, int status, const char *msg);

#endif
