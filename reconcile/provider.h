/*
 * One interface, three drivers (prov_azurecn.c, prov_azure.c, prov_cdnpro.c).
 *
 * A *_req that fails leaves req zeroed (http_req_release on it is harmless).
 * Drivers do no I/O of their own: each operation is a pair, *_req building a struct
 * http_req and *_parse decoding the struct http_resp, so the engine can batch requests of
 * many endpoints through http_run() and the decoders can be fuzzed alone. The exceptions are
 * account_ready(), which may fetch a token, and nothing else.
 * json-c stays inside the drivers' codecs; live state comes back in the model's structs,
 * normalised so that cache_equal(desired, live) is exact.
 */
#ifndef CF_PROVIDER_H
#define CF_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/http.h"

/* A delivery rule cacheform does not own (azure); kept verbatim and written back as is. */
struct foreign_rule {
	char *name; /* owned */
	int order;
	char *json; /* owned: the rule's JSON text as read */
};

struct live_state {
	bool exists;
	struct cache cache;
	struct foreign_rule *foreign;
	size_t nforeign, fcap;
	char digest[65]; /* hex SHA-256 of the canonical live state (prov_digest) */
	/*
	 * Added for azure, where the wire cannot always be said in the model's terms.
	 * cache_control_unknown: no owned rule carries ignore_cache_control (none, or only
	 *   BypassCache ones), so the live value is not observable; compare without it.
	 * inexact: non-NULL (owned) when the live settings have no exact model form
	 *   (queryStringCachingBehavior NotSet/BypassCaching, owned rules mixing Override and
	 *   SetIfMissing); such a state differs from every desired state.
	 * Use prov_cache_matches(), not cache_equal(), to compare desired with live.
	 */
	bool cache_control_unknown;
	char *inexact;
	/* azure: deliveryPolicy.description as read (owned; NULL when absent), written back as
	 * is: it belongs to whoever set it, not to cacheform */
	char *policy_description;
};

/* True when live's cache is exactly desired (honours cache_control_unknown and inexact). */
bool prov_cache_matches(const struct live_state *live, const struct cache *desired);

void live_state_release(struct live_state *ls);

enum task_state { TASK_NONE, TASK_RUNNING, TASK_SUCCEEDED, TASK_FAILED };
const char *task_state_name(enum task_state s);

struct task {
	enum task_state state;
	char *id;	/* owned: provider task id (TaskTrackId, operation id, purge id) */
	char *poll_url; /* owned: absolute URL to poll (azure LRO, cdnpro Location); may be NULL */
	char *message;	/* owned: failure detail */
	int retry_after_s; /* suggested poll delay, 0 = default */
};

void task_release(struct task *t);

enum batch_kind { BATCH_PURGE, BATCH_PRELOAD };

/* One request's worth of a purge manifest for one endpoint, already expanded to what the
 * provider wants on the wire (absolute URLs or paths). */
struct purge_batch {
	enum batch_kind kind;
	struct svec files, dirs, patterns, regex;
	enum purge_action action;
};

void purge_batch_release(struct purge_batch *b);

struct quota {
	bool known;
	int64_t files_left; /* -1 = unlimited/unknown */
	int64_t dirs_left;
};

struct prov_account; /* opaque: resolved secrets, signing keys, token cache */

struct prov_ops {
	enum provider_kind kind;
	/* Per-request caps (SPEC §6). */
	size_t max_files, max_dirs, max_regex;

	/* Resolves the account's secrets (repo_root for {file:}). Caller closes. */
	int (*account_open)(const struct account *a, const char *repo_root,
			    struct prov_account **out, struct cf_err *e);
	void (*account_close)(struct prov_account *pa);
	/* Makes the account able to sign (azure: fetch or refresh the token through c). */
	int (*account_ready)(struct prov_account *pa, struct http_client *c, struct cf_err *e);

	/* NULL when the provider has no cache-rule API (cdnpro): its endpoints are purge-only,
	 * and write_req/write_parse are NULL too. */
	int (*read_req)(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
			struct cf_err *e);
	int (*read_parse)(const struct endpoint *ep, const struct http_resp *resp,
			  struct live_state *out, struct cf_err *e);

	/* Writes ep's desired cache (keeping live's foreign rules). NULL for cdnpro. */
	int (*write_req)(struct prov_account *pa, const struct endpoint *ep,
			 const struct live_state *live, struct http_req *req, struct cf_err *e);
	int (*write_parse)(const struct endpoint *ep, const struct http_resp *resp,
			   struct task *out, struct cf_err *e);
	/* May be NULL. The limits write_req enforces on ep's desired cache against live (azure:
	 * own + preserved rules at most 25), so plan refuses with the same code and message
	 * that apply would. Returns 0 or a negative code with e filled. */
	int (*write_check)(const struct endpoint *ep, const struct live_state *live,
			   struct cf_err *e);

	/* Expands and splits one manifest for one endpoint into batches; returns the count,
	 * *out owned by the caller (release each, free the array). Purge batches come first,
	 * then preload batches. */
	size_t (*split)(const struct endpoint *ep, const struct purge *p, struct purge_batch **out);

	int (*batch_req)(struct prov_account *pa, const struct endpoint *ep,
			 const struct purge_batch *b, struct http_req *req, struct cf_err *e);
	int (*batch_parse)(const struct endpoint *ep, const struct purge_batch *b,
			   const struct http_resp *resp, struct task *out, struct cf_err *e);

	int (*poll_req)(struct prov_account *pa, const struct endpoint *ep, const struct task *t,
			struct http_req *req, struct cf_err *e);
	int (*poll_parse)(const struct endpoint *ep, const struct http_resp *resp, struct task *t,
			  struct cf_err *e);

	/* Remaining daily purge quota; NULL when the provider has no quota API (azure-china
	 * counts from the ledger, azure has none). */
	int (*quota_req)(struct prov_account *pa, const struct endpoint *ep, struct http_req *req,
			 struct cf_err *e);
	int (*quota_parse)(const struct endpoint *ep, const struct http_resp *resp,
			   struct quota *out, struct cf_err *e);
};

/* Returns the driver for a provider; never NULL for a valid kind. */
const struct prov_ops *prov_get(enum provider_kind kind);

/* Fills ls->digest from ls's canonical serialisation (flags, rules, foreign rules). */
void prov_digest(struct live_state *ls);

/*
 * Turns a non-2xx response into one line naming the endpoint, the operation, the HTTP status
 * and the provider's error code: "endpoint 'www': write cache rules: HTTP 400 ParameterInvalid: …".
 */
int prov_http_error(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		    const char *code, const char *msg, struct cf_err *e);

#endif
