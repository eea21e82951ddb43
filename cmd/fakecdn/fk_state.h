/*
 * The emulator's state: one JSON document (the state file's format, documented in
 * examples/fakecdn/README.md) guarded by one mutex, plus the run-time knobs, the azure
 * bearer tokens and the cdnpro token bucket, which live only in memory.
 *
 * Handlers run with app->mu held and may read and change app->state freely; a handler that
 * changes the state calls fk_state_changed(), which marks the request and the state dirty.
 */
#ifndef FK_STATE_H
#define FK_STATE_H

#include <pthread.h>
#include <stdio.h>

#include "cmd/fakecdn/fk_http.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/diag.h"

#define FK_TOKEN_HEX 64

/* Run-time knobs (CLI flags, the state file's "settings", POST /_fakecdn/faults). */
struct fk_knobs {
	int64_t latency_ms;
	double error_rate;	   /* share of requests answered 500/503 */
	int64_t throttle_every;	   /* every Nth provider request gets 429 (0 = off) */
	int64_t throttle_until_ms; /* 429 for every provider request until then (absolute) */
	int64_t retry_after_s;
	double drop_rate;      /* close the connection without an answer */
	double truncate_rate;  /* announce the full length, send half, close */
	double malformed_rate; /* replace the body with broken JSON of a valid length */
	double act_drop_rate;  /* purge/preload requests: act on it, then close without an answer */
	bool status_elsewhere; /* status URLs (Location, Azure-AsyncOperation) name another host */
	bool echo_secrets; /* refuse with a message quoting Authorization and the body (a WAF) */
	int64_t task_delay_ms;
	bool task_fail;
	int64_t token_expiry_s;
	int64_t china_date_window_s;
	int64_t cdnpro_date_window_s;
	int64_t cdnpro_rate_per_minute;
	int64_t cdnpro_burst;
	int64_t arm_rate_per_minute; /* one bucket for every ARM request (0 = no limit) */
	int64_t arm_burst;
	int64_t cdnpro_validation_ms; /* how long a CDN Pro validation task runs */
	int64_t cdnpro_deploy_ms;     /* how long a CDN Pro deployment task runs */
	int64_t cdnpro_version_cap;   /* versions per property before 403 TooManyVersions */
	int64_t afd_op_ms;	      /* how long one Front Door global operation runs */
	int64_t read_padding_bytes; /* azure-china rule reads carry a "Padding" string this long */
	char only[16];		    /* faults hit only this provider ("" = all provider routes) */
};

struct fk_edge; /* cmd/fakecdn/fk_edge.c: the edge's cache and clock */
struct fk_index;

struct fk_token {
	char token[FK_TOKEN_HEX + 1];
	char *tenant;
	int64_t expires_ms;
};

struct fk_app {
	pthread_mutex_t mu;
	struct json_object *state; /* live state */
	struct json_object *seed;  /* the state as loaded, for POST /_fakecdn/reset */
	struct fk_knobs knobs;
	struct fk_knobs seed_knobs;
	uint64_t provider_requests; /* counts for throttle_every */
	struct fk_token *tokens;
	size_t ntokens, tokens_cap;
	struct fk_bucket bucket;     /* cdnpro: the customer's */
	struct fk_bucket arm_bucket; /* ARM (azure, azure-frontdoor) when arm_rate_per_minute > 0 */
	char *state_path;
	bool save;
	bool tls; /* served over TLS: async URLs use https */
	bool dirty;
	pthread_mutex_t jmu; /* journal */
	FILE *journal;
	struct fk_edge *edge;	    /* NULL until the edge is first used */
	struct fk_index *arm_index; /* fk_azure.c: ARM endpoints by name; NULL until used */
	struct fk_index *afd_index; /* fk_afd.c: Front Door profiles, endpoints, rule sets */
	struct fk_index *cn_index;  /* fk_azurecn.c: azure-china endpoints by id */
	int64_t tasks_next_due_ms;  /* no running task is due before (0: unknown, scan) */
	char staging_ip[64];	    /* the CDN Pro staging listener's address, "" = none */
};

/* Loads the state file and sets knobs from its "settings". Returns 0 or -1 (e filled). */
int fk_app_init(struct fk_app *app, const char *state_path, struct cf_err *e);
void fk_app_release(struct fk_app *app);
/* Restores the seed state and knobs, forgets tokens, refills the bucket (lock held). */
void fk_app_reset(struct fk_app *app);
/* Writes the state atomically (temp file + rename) when --save and dirty (lock held). */
int fk_app_save(struct fk_app *app, struct cf_err *e);
/* Fills the token buckets (CDN Pro's, ARM's) to their burst: a new or reset emulator. */
void fk_app_fill_buckets(struct fk_app *app, int64_t now_ms);
/* Records that the request changed the state. */
void fk_state_changed(struct fk_app *app, struct fk_resp *resp);

/* Knobs <-> JSON. fk_knobs_apply returns -1 with a message for an unknown or bad member. */
int fk_knobs_apply(struct fk_knobs *k, struct json_object *o, int64_t now_ms, char *msg,
		   size_t msgsz);
struct json_object *fk_knobs_json(const struct fk_knobs *k, int64_t now_ms);

/* Asynchronous tasks, stored in state.tasks. kind: "cacherules", "purge", "preload",
 * "arm_purge", "arm_load", "cdnpro_purge", "cdnpro_prefetch". Returns the new task (owned by
 * the state); the caller adds kind-specific members. */
struct json_object *fk_task_new(struct fk_app *app, const char *kind, const char *id,
				int64_t now_ms);
struct json_object *fk_task_find(struct fk_app *app, const char *kind, const char *id);
/* Completes due tasks (applying staged cache rules); true when anything changed. */
bool fk_tasks_advance(struct fk_app *app, int64_t now_ms);
/* "running", "succeeded" or "failed". */
const char *fk_task_status(struct json_object *task);

#endif
