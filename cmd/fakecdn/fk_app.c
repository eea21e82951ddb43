#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_app.h"
#include "cmd/fakecdn/fk_admin.h"
#include "cmd/fakecdn/fk_afd.h"
#include "cmd/fakecdn/fk_azure.h"
#include "cmd/fakecdn/fk_azurecn.h"
#include "cmd/fakecdn/fk_edge.h"
#include "cmd/fakecdn/fk_cdnpro.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <errno.h>
#include <strings.h>
#include <time.h>

#define PATH_BUF_MAX 4096
/* Bytes of a request's path or query kept in its journal line; longer ones are cut (on a
 * UTF-8 boundary) and the line says "cut": true. With JSON escaping (6 bytes a byte at worst)
 * a line then stays under JOURNAL_LINE_MAX, so it always ends with its "}\n". */
#define JOURNAL_FIELD_MAX 4096
#define JOURNAL_LINE_MAX  (2 * 6 * JOURNAL_FIELD_MAX + 1024)
#define ARM_FLAT_VERSION  "2015-06-01"
#define JOURNAL_MS_PER_S  1000

struct provider {
	const char *name;
	const struct fk_route *routes;
	const size_t *nroutes;
};

/* Order matters only where patterns overlap: none do across providers. */
static const struct provider provider_table[] = {
    {"admin", fk_admin_routes, &fk_admin_nroutes},
    {"cdnpro", fk_cdnpro_routes, &fk_cdnpro_nroutes},
    {"azure-china", fk_azurecn_routes, &fk_azurecn_nroutes},
    {"azure", fk_azure_routes, &fk_azure_nroutes},
    {"token", fk_token_routes, &fk_token_nroutes},
    {"azure-frontdoor", fk_afd_routes, &fk_afd_nroutes},
};

/* Requests for an endpoint's host name (fk_edge.h), whatever their path. */
static const size_t edge_nroutes = 1;
static const struct provider edge_provider = {"edge", &fk_edge_route, &edge_nroutes};

#define PATTERN_MAX 256

/* A route's pattern, split once: route_find runs on every request. */
struct pattern {
	char buf[PATTERN_MAX];
	const char *seg[FK_ROUTE_MAX_SEGMENTS];
	int nseg; /* -1: too long or too deep, matches nothing */
};

static struct pattern *patterns[CF_ARRAY_LEN(provider_table)];
static pthread_once_t patterns_once = PTHREAD_ONCE_INIT;

static void split_patterns(void)
{
	for (size_t p = 0; p < CF_ARRAY_LEN(provider_table); p++) {
		const struct provider *prov = &provider_table[p];

		patterns[p] = xcalloc(*prov->nroutes, sizeof(*patterns[p]));
		for (size_t r = 0; r < *prov->nroutes; r++) {
			struct pattern *pt = &patterns[p][r];

			pt->nseg = fk_split_path(prov->routes[r].pattern, pt->buf, sizeof(pt->buf),
						 pt->seg, FK_ROUTE_MAX_SEGMENTS);
		}
	}
}

static bool pattern_match(const struct pattern *pt, const char **seg, int nseg)
{
	if (pt->nseg != nseg)
		return false;
	for (int i = 0; i < nseg; i++)
		if (strcmp(pt->seg[i], "*") != 0 && strcasecmp(pt->seg[i], seg[i]) != 0)
			return false;
	return true;
}

struct match {
	const struct provider *prov;
	const struct fk_route *route; /* NULL: the path matched but not the method, or nothing */
};

static struct match route_find(const char *method, const char **seg, int nseg)
{
	struct match m = {NULL, NULL};

	pthread_once(&patterns_once, split_patterns);
	for (size_t p = 0; p < CF_ARRAY_LEN(provider_table); p++) {
		const struct provider *prov = &provider_table[p];

		for (size_t r = 0; r < *prov->nroutes; r++) {
			if (!pattern_match(&patterns[p][r], seg, nseg))
				continue;
			m.prov = prov;
			if (strcmp(prov->routes[r].method, method) == 0) {
				m.route = &prov->routes[r];
				return m;
			}
		}
	}
	return m;
}

/* Guesses the provider of an unmatched path, so its 404 has the right shape. */
static const char *guess_provider(const char **seg, int nseg)
{
	if (nseg == 0)
		return "unknown";
	if (strcmp(seg[0], "_fakecdn") == 0)
		return "admin";
	if (strcmp(seg[0], "cdn") == 0)
		return "cdnpro";
	if (strcasecmp(seg[0], "subscriptions") == 0)
		return nseg >= 3 && strcasecmp(seg[2], "endpoints") == 0 ? "azure-china" : "azure";
	return "unknown";
}

static void provider_error(struct fk_resp *resp, const struct fk_req *req, int status,
			   const char *code, const char *msg)
{
	const char *p = resp->provider;

	if (strcmp(p, "azure-china") == 0)
		fk_error_china(resp, status, code, msg);
	else if (strcmp(p, "azure") == 0 || strcmp(p, "azure-frontdoor") == 0)
		fk_error_arm(resp, req, status, code, msg);
	else if (strcmp(p, "cdnpro") == 0)
		fk_error_pro(resp, status, code, msg);
	else if (strcmp(p, "token") == 0)
		fk_error_token(resp, status, "temporarily_unavailable", msg);
	else
		fk_error_admin(resp, status, msg);
}

/* matched: the provider whose pattern matched the path with another method, or NULL. */
static void not_routed(const char *matched, const struct fk_req *req, const char **seg, int nseg,
		       struct fk_resp *resp)
{
	resp->provider = matched ? matched : guess_provider(seg, nseg);
	if (matched) {
		provider_error(resp, req, 405, "MethodNotAllowed", "The method is not allowed.");
		return;
	}
	provider_error(resp, req, 404, "NotFound", "No such resource.");
}

static bool op_unsafe(const char *op)
{
	return strcmp(op, "purge") == 0 || strcmp(op, "preload") == 0;
}

/* Draws the fault decisions for one request into x (lock held). */
static void plan_faults(struct fk_app *app, const char *provider, const char *op, int64_t now,
			struct fk_exchange *x)
{
	struct fk_exchange fp = {.route = x->route, .matched = x->matched};
	const struct fk_knobs *k = &app->knobs;

	/* The edge is not a provider API: faults are for the APIs. */
	if (strcmp(provider, "admin") == 0 || strcmp(provider, "edge") == 0 ||
	    (k->only[0] && strcmp(k->only, provider) != 0)) {
		*x = fp;
		return;
	}
	app->provider_requests++;
	fp.latency_ms = k->latency_ms;
	fp.retry_after_s = k->retry_after_s;
	fp.drop = k->drop_rate > 0 && fk_rand01() < k->drop_rate;
	fp.throttle =
	    now < k->throttle_until_ms ||
	    (k->throttle_every > 0 && app->provider_requests % (uint64_t)k->throttle_every == 0);
	fp.error = k->error_rate > 0 && fk_rand01() < k->error_rate;
	fp.truncate = k->truncate_rate > 0 && fk_rand01() < k->truncate_rate;
	fp.malformed = k->malformed_rate > 0 && fk_rand01() < k->malformed_rate;
	fp.echo = k->echo_secrets;
	fp.act_drop = op_unsafe(op) && k->act_drop_rate > 0 && fk_rand01() < k->act_drop_rate;
	*x = fp;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void inject_throttle(struct fk_resp *resp, const struct fk_req *req, int64_t retry_s)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", (long long)retry_s);
	if (strcmp(resp->provider, "azure-china") == 0)
		fk_error_china(resp, 429, "RequestThrottled", "The request is throttled.");
	else if (strcmp(resp->provider, "azure") == 0 ||
		 strcmp(resp->provider, "azure-frontdoor") == 0)
		fk_error_arm(resp, req, 429, "TooManyRequests", "Rate limit is exceeded.");
	else
		provider_error(resp, req, 429, "TooManyRequests", "Too many requests.");
	fk_resp_header(resp, "Retry-After", num);
	if (strcmp(resp->provider, "cdnpro") == 0)
		fk_resp_header(resp, "x-rate-limit-retry-after-seconds", num);
}

static void inject_error(struct fk_resp *resp, const struct fk_req *req)
{
	bool unavailable = fk_rand01() < 0.5;

	if (strcmp(resp->provider, "azure-china") == 0)
		fk_error_china(resp, unavailable ? 503 : 500, "InternalError",
			       "An internal error occurred.");
	else
		provider_error(resp, req, unavailable ? 503 : 500,
			       unavailable ? "ServiceUnavailable" : "InternalServerError",
			       "An internal error occurred.");
}

/* A gateway that refuses the request and quotes it back, credentials and all. */
static void inject_echo(struct fk_resp *resp, const struct fk_req *req)
{
	const char *auth = fk_req_header(req, "Authorization");
	struct sb msg;

	sb_init(&msg, JOURNAL_LINE_MAX);
	sb_addf(&msg, "request rejected by the gateway: Authorization=%s; body=", auth ? auth : "");
	sb_add(&msg, req->body ? req->body : "", req->body ? req->body_len : 0);
	provider_error(resp, req, 400, "RequestRejected", msg.buf);
	sb_release(&msg);
}

/* Runs the handler under the lock; advances tasks first so every read sees due results. */
static void run_locked(struct fk_app *app, const struct fk_exchange *x, struct fk_req *req,
		       const char **seg, int nseg, struct fk_resp *resp)
{
	struct cf_err e;

	fk_tasks_advance(app, req->now_ms);
	if (x->route)
		x->route->fn(app, req, seg, nseg, resp);
	else
		not_routed(x->matched, req, seg, nseg, resp);
	if (fk_app_save(app, &e) < 0)
		err_print(&e);
}

/* The request's path split into segments (nseg < 0: too long or too deep to route). */
struct split {
	char buf[PATH_BUF_MAX];
	const char *seg[FK_ROUTE_MAX_SEGMENTS];
	int nseg;
};

static void split_req(const struct fk_req *req, struct split *sp)
{
	sp->nseg =
	    fk_split_path(req->path, sp->buf, sizeof(sp->buf), sp->seg, FK_ROUTE_MAX_SEGMENTS);
}

int64_t fk_app_begin(struct fk_app *app, struct fk_req *req, struct fk_resp *resp,
		     struct fk_exchange *x)
{
	struct split sp;
	struct match m = {NULL, NULL};

	split_req(req, &sp);
	if (fk_edge_claims(app, req))
		m = (struct match){&edge_provider, &fk_edge_route};
	else if (sp.nseg >= 0)
		m = route_find(req->method, sp.seg, sp.nseg);
	x->route = m.route;
	x->matched = m.prov ? m.prov->name : NULL;
	resp->provider =
	    x->matched ? x->matched : guess_provider(sp.seg, sp.nseg < 0 ? 0 : sp.nseg);
	resp->op = m.route ? m.route->op : "unknown";
	pthread_mutex_lock(&app->mu);
	plan_faults(app, resp->provider, resp->op, req->now_ms, x);
	pthread_mutex_unlock(&app->mu);
	if (x->drop) {
		resp->status = 0;
		fk_journal_write(app, req, resp, "drop");
		return -1;
	}
	return x->latency_ms > 0 ? x->latency_ms : 0;
}

enum fk_fault fk_app_finish(struct fk_app *app, const struct fk_exchange *x, struct fk_req *req,
			    struct fk_resp *resp)
{
	struct split sp;
	const char *fault = NULL;

	split_req(req, &sp);
	if (sp.nseg < 0)
		sp.nseg = 0;
	req->now_ms = fk_now_ms();
	if (x->echo) {
		fault = "echo";
		inject_echo(resp, req);
	} else if (x->throttle || x->error) {
		fault = x->throttle ? "throttle" : "error";
		if (x->throttle)
			inject_throttle(resp, req, x->retry_after_s);
		else
			inject_error(resp, req);
	} else {
		pthread_mutex_lock(&app->mu);
		run_locked(app, x, req, sp.seg, sp.nseg, resp);
		pthread_mutex_unlock(&app->mu);
	}
	if (!fault && x->act_drop) {
		/* the provider took it and the answer was lost: a proxy reset, an idle timeout */
		fk_journal_write(app, req, resp, "act_drop");
		return FK_FAULT_DROP;
	}
	if (!fault && x->truncate)
		fault = "truncate";
	else if (!fault && x->malformed)
		fault = "malformed";
	fk_journal_write(app, req, resp, fault);
	if (fault && strcmp(fault, "truncate") == 0)
		return FK_FAULT_TRUNCATE;
	return fault && strcmp(fault, "malformed") == 0 ? FK_FAULT_MALFORMED : FK_FAULT_NONE;
}

enum fk_fault fk_app_handle(struct fk_app *app, struct fk_req *req, struct fk_resp *resp)
{
	struct fk_exchange x;
	int64_t wait_ms = fk_app_begin(app, req, resp, &x);

	if (wait_ms < 0)
		return FK_FAULT_DROP;
	sleep_ms(wait_ms);
	return fk_app_finish(app, &x, req, resp);
}

const char *fk_status_host(const struct fk_app *app, const struct fk_req *req)
{
	const char *host = fk_req_header(req, "Host");

	if (app->knobs.status_elsewhere)
		return FK_STATUS_ELSEWHERE;
	return host ? host : "127.0.0.1";
}

int fk_journal_open(struct fk_app *app, const char *path, struct cf_err *e)
{
	app->journal = fopen(path, "a");
	if (!app->journal)
		return err_set(e, CF_EIO, "cannot open journal '%s': %s", path, strerror(errno)),
		       -1;
	return 0;
}

/* Appends ,"key":"value" with value cut to JOURNAL_FIELD_MAX bytes; returns true when cut. */
static bool journal_field(struct sb *sb, const char *key, const char *v)
{
	size_t n = v ? strlen(v) : 0;
	bool cut = n > JOURNAL_FIELD_MAX;
	if (cut) {
		n = JOURNAL_FIELD_MAX;
		while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
	}
	sb_adds(sb, ",\"");
	sb_adds(sb, key);
	sb_adds(sb, "\":");
	sb_add_json_strn(sb, v ? v : "", n);
	return cut;
}

/* fk_fmt_time(ms, true): gmtime and a printf once a second per thread, not once a line. */
static void journal_time(struct sb *sb, int64_t ms)
{
	static _Thread_local int64_t sec = -1;
	static _Thread_local char head[FK_TIME_LEN]; /* up to the seconds, without the "Z" */
	static _Thread_local size_t head_len;
	char when[FK_TIME_LEN];
	int frac = (int)(ms % JOURNAL_MS_PER_S);
	char tail[] = {'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
		       (char)('0' + frac % 10), 'Z'};

	if (ms < 0) {
		fk_fmt_time(ms, true, when);
		sb_adds(sb, when);
		return;
	}
	if (ms / JOURNAL_MS_PER_S != sec) {
		fk_fmt_time(ms, false, head);
		head_len = strlen(head) - 1;
		sec = ms / JOURNAL_MS_PER_S;
	}
	sb_add(sb, head, head_len);
	sb_add(sb, tail, sizeof(tail));
}

void fk_journal_write(struct fk_app *app, const struct fk_req *req, const struct fk_resp *resp,
		      const char *fault)
{
	struct sb sb;

	if (!app->journal)
		return;
	/* sb_adds rather than sb_addf: a printf per line was a tenth of a read's CPU. */
	sb_init(&sb, JOURNAL_LINE_MAX);
	sb_adds(&sb, "{\"time\":\"");
	journal_time(&sb, req->now_ms);
	sb_adds(&sb, "\",\"provider\":\"");
	sb_adds(&sb, resp->provider);
	sb_adds(&sb, "\",\"op\":\"");
	sb_adds(&sb, resp->op);
	sb_adds(&sb, "\",\"method\":");
	sb_add_json_str(&sb, req->method);
	bool cut = journal_field(&sb, "path", req->path);
	cut |= journal_field(&sb, "query", req->query);
	if (cut)
		sb_adds(&sb, ",\"cut\":true");
	sb_adds(&sb, ",\"status\":");
	sb_addi(&sb, resp->status);
	sb_adds(&sb, resp->auth ? ",\"auth\":true" : ",\"auth\":false");
	sb_adds(&sb, resp->changed ? ",\"changed\":true" : ",\"changed\":false");
	if (fault) {
		sb_adds(&sb, ",\"fault\":\"");
		sb_adds(&sb, fault);
		sb_addc(&sb, '"');
	}
	sb_adds(&sb, "}\n");
	pthread_mutex_lock(&app->jmu);
	/* One write per line, flushed, so a test reading the journal never sees half a line. */
	fwrite(sb.buf, 1, sb.len, app->journal);
	fflush(app->journal);
	pthread_mutex_unlock(&app->jmu);
	sb_release(&sb);
}

void fk_error_china(struct fk_resp *resp, int status, const char *type, const char *msg)
{
	struct json_object *o = json_object_new_object(), *info = json_object_new_object();

	json_object_object_add(info, "Type", json_object_new_string(type));
	json_object_object_add(info, "Message", json_object_new_string(msg));
	json_object_object_add(o, "Succeeded", json_object_new_boolean(false));
	json_object_object_add(o, "ErrorInfo", info);
	fk_resp_json(resp, status, o);
	json_object_put(o);
}

void fk_error_arm(struct fk_resp *resp, const struct fk_req *req, int status, const char *code,
		  const char *msg)
{
	const char *v = fk_req_arg(req, "api-version");
	struct json_object *err = json_object_new_object(), *o;

	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(msg));
	/* api-version 2015-06-01 declares the flat ErrorResponse; later ones wrap it. */
	if (v && strcmp(v, ARM_FLAT_VERSION) == 0) {
		o = err;
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "error", err);
	}
	fk_resp_json(resp, status, o);
	json_object_put(o);
}

void fk_error_pro(struct fk_resp *resp, int status, const char *code, const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	fk_resp_json(resp, status, o);
	json_object_put(o);
}

void fk_error_token(struct fk_resp *resp, int status, const char *error, const char *desc)
{
	struct json_object *o = json_object_new_object();
	char when[FK_TIME_LEN], trace[FK_UUID_LEN + 1];

	fk_fmt_time(fk_now_ms(), false, when);
	fk_uuid(trace);
	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "error_description", json_object_new_string(desc));
	json_object_object_add(o, "timestamp", json_object_new_string(when));
	json_object_object_add(o, "trace_id", json_object_new_string(trace));
	json_object_object_add(o, "correlation_id", json_object_new_string(trace));
	fk_resp_json(resp, status, o);
	json_object_put(o);
}

void fk_error_admin(struct fk_resp *resp, int status, const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	fk_resp_json(resp, status, o);
	json_object_put(o);
}
