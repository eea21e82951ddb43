/*
 * One interface, three drivers (prov_azurecn.c, prov_azure.c, prov_cdnpro.c).
 *
 * A *_req that fails leaves req zeroed (http_req_release on it is harmless).
 * Drivers do no I/O of their own: each operation is a pair, *_req building a struct
 * http_req and *_parse decoding the struct http_resp, so the engine can batch requests of
 * many endpoints through http_run() and the decoders can be fuzzed alone. The exceptions are
 * account_ready(), which may fetch a token, and nothing else.
 * Drivers read and build JSON through the JSON layer (codec.h); live state comes back in the
 * model's structs, normalised so that cache_equal(desired, live) is exact.
 */
#ifndef CF_PROVIDER_H
#define CF_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/http.h"
#include "reconcile/sem.h"

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
	/*
	 * Multi-request reads and writes (see prov_ops.read_next/write_next). step counts the
	 * requests of the current read already parsed (0 while parsing the first), wstep the
	 * writes of the current write already completed. priv is the driver's own progress or
	 * parsed extras (e.g. foreign rule sets, the property version read), freed through
	 * priv_free by live_state_release.
	 */
	unsigned step, wstep;
	/* borrowed, set by apply before write_next: the id the previous write step's answer
	 * gave (its task id; CDN Pro: the version number of a created version); NULL if none */
	const char *wprev_id;
	void *priv;
	void (*priv_free)(void *priv);
	/* The query-string setting has no model form (azure BypassCaching): differs in
	 * behaviour from every desired state. */
	bool qs_inexact;
	/* What the provider does with everything read, owned and foreign rules alike (sem.h);
	 * kind set and rules filled by read_parse. */
	struct sem_cfg sem;
	/* azure: deliveryPolicy.description as read (owned; NULL when absent), written back as
	 * is: it belongs to whoever set it, not to cacheform */
	char *policy_description;
	/* Sentences for people about what was read against the YAML (azure-frontdoor: a foreign
	 * rule set keeps some paths from the YAML's meaning, and which); owned, not part of the
	 * digest (they follow from what was read and the YAML). */
	struct svec notes;
	/* owned, may be NULL: a unified diff (reconcile/textdiff.h) of the provider's own text
	 * that the write would change, live -> desired (CDN Pro: the Edge Logic region); the
	 * text plan shows it */
	char *text_diff;
};

/* True when live's cache is exactly desired (honours cache_control_unknown and inexact). */
bool prov_cache_matches(const struct live_state *live, const struct cache *desired);

/*
 * True when writing ep's desired cache over live would change nothing a request could see:
 * the provider's evaluation of live (foreign rules included) equals its evaluation of what
 * the driver would write, on every probe path (sem_probe), and the flags agree. Needs
 * ops->sem_write; false when the provider has none or the write cannot be built.
 */
bool prov_behaves_as(const struct endpoint *ep, const struct live_state *live);

/* What prov_behaves_as found: where the write would change caching. */
struct prov_behaviour {
	int same;	   /* 1 alike, 0 different, -1 cannot tell (no evaluator, no write) */
	bool flags_differ; /* ignore_query_string / ignore_cookie / azure-china icc differ */
	char *path;	   /* owned; first probe path that caches differently, or NULL */
	struct sem_result before; /* live, at path (rule_id cleared: it would dangle) */
	struct sem_result after;  /* what the write would store, at path */
};

/* Fills out (release with prov_behaviour_release) the way prov_behaves_as decides. */
void prov_behaviour_compare(const struct endpoint *ep, const struct live_state *live,
			    struct prov_behaviour *out);
void prov_behaviour_release(struct prov_behaviour *b);

/*
 * The provider-level meaning of what ep's driver would write over live (foreign rules kept):
 * the body write_req sends, decoded as read_parse decodes a stored configuration. Returns 0
 * with *out filled (release with sem_cfg_release), or a negative CF_E* code.
 */
int prov_sem_write(const struct endpoint *ep, const struct live_state *live, struct sem_cfg *out,
		   struct cf_err *e);

void live_state_release(struct live_state *ls);

/* One endpoint a provider lists (`import --all`): where it lives and what it is called. */
struct prov_found {
	struct remote remote; /* owned svals; the fields of the provider's remote */
	char *name;	      /* owned: a name for endpoints/NAME.yaml (the provider's own) */
	char *host;	      /* owned; NULL when the listing does not say */
};

/* What list_req/list_parse accumulate over the requests of one listing. */
struct prov_listing {
	struct prov_found *v;
	size_t n, cap;
	unsigned step;	  /* answers parsed so far */
	struct svec next; /* the driver's own queue of what is still to request */
};

/* Returns a new zeroed entry owned by l. */
struct prov_found *prov_listing_add(struct prov_listing *l);
void prov_listing_release(struct prov_listing *l);

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
	const struct purge *manifest; /* borrowed; set by drivers that send its extras (cdnpro) */
};

void purge_batch_release(struct purge_batch *b);

struct quota {
	bool known;
	int64_t files_left; /* -1 = unlimited/unknown */
	int64_t dirs_left;
};

struct prov_account; /* opaque: resolved secrets, signing keys, token cache */

/* Returned by read_parse and write_next when another request of the same read or write follows. */
#define PROV_MORE 1

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
	/* prov_sem_write for this provider; NULL when rules are not managed here. */
	int (*sem_write)(const struct endpoint *ep, const struct live_state *live,
			 struct sem_cfg *out, struct cf_err *e);

	/*
	 * Optional, for providers whose read or write takes several requests (NULL otherwise).
	 * Read: read_req builds the first request; when read_parse returns PROV_MORE the engine
	 * increments ls->step and calls read_next for the next request, then read_parse again on
	 * the same ls (kept, not released, between the requests of one read).
	 * Write: write_req builds the first write; after each write's task has completed, the
	 * engine increments live->wstep and calls write_next, which returns PROV_MORE when it
	 * filled req with the next write (answered through write_parse and polled like the
	 * first), 0 when the write is complete (req untouched), or a negative code.
	 */
	int (*read_next)(struct prov_account *pa, const struct endpoint *ep,
			 const struct live_state *ls, struct http_req *req, struct cf_err *e);
	int (*write_next)(struct prov_account *pa, const struct endpoint *ep,
			  const struct live_state *live, struct http_req *req, struct cf_err *e);
	/*
	 * Optional (NULL: the provider cannot list; `import --all` says so). list_req builds the
	 * next request of a listing of every endpoint the account reaches; list_parse adds what
	 * the answer lists to l and returns PROV_MORE when another request follows, 0 when done.
	 */
	int (*list_req)(struct prov_account *pa, const struct prov_listing *l, struct http_req *req,
			struct cf_err *e);
	int (*list_parse)(const struct prov_account *pa, const struct http_resp *resp,
			  struct prov_listing *l, struct cf_err *e);
	/* May be NULL. The limits write_req enforces on ep's desired cache against live (azure:
	 * own + preserved rules at most 25), so plan refuses with the same code and message
	 * that apply would. Returns 0 or a negative code with e filled. */
	int (*write_check)(const struct endpoint *ep, const struct live_state *live,
			   struct cf_err *e);
	/* May be NULL. Writes whose lanes are equal (within one account) never overlap: apply
	 * starts an endpoint's write only once the earlier writes of its lane have finished
	 * their tasks (Front Door: one global operation at a time per profile, the service
	 * refuses the next with 409 Conflict). Fills buf (capacity n) and returns it. */
	const char *(*write_lane)(const struct endpoint *ep, char *buf, size_t n);
	/*
	 * May be NULL (both). A write step shared by several endpoints of one account: called
	 * with live->wstep already counting the step write_next would build next, write_join
	 * fills buf (capacity n) with the step's key and returns it when that step can carry
	 * other endpoints too (CDN Pro: "deploy production", one deployment task for every
	 * property of the run), NULL when it is the endpoint's own. apply holds each endpoint
	 * at that step until no write of the account can still reach it, then builds one
	 * request for all endpoints held with the key through write_join_req; the answer goes
	 * through write_parse of the first (eps[0]), its task is polled once, and its outcome
	 * settles every one of them (then write_next goes on, wstep incremented again).
	 */
	const char *(*write_join)(const struct endpoint *ep, const struct live_state *live,
				  char *buf, size_t n);
	int (*write_join_req)(struct prov_account *pa, const struct endpoint *const *eps,
			      const struct live_state *const *lives, size_t n, struct http_req *req,
			      struct cf_err *e);

	/* Expands and splits one manifest for one endpoint into batches; returns the count,
	 * *out owned by the caller (release each, free the array). Purge batches come first,
	 * then preload batches. */
	size_t (*split)(const struct endpoint *ep, const struct purge *p, struct purge_batch **out);

	int (*batch_req)(struct prov_account *pa, const struct endpoint *ep,
			 const struct purge_batch *b, struct http_req *req, struct cf_err *e);
	int (*batch_parse)(const struct endpoint *ep, const struct purge_batch *b,
			   const struct http_resp *resp, struct task *out, struct cf_err *e);

	/*
	 * Optional (NULL: the provider has no list of tasks; an unknown batch is sent again).
	 * Finds the task a purge batch became whose answer was lost (recorded unknown), so it is
	 * polled, not sent again: find_req lists the tasks submitted since `since` (unix seconds,
	 * the claim before that send); find_parse returns 1 with *out running on the one listed
	 * task that matches the batch (entry counts, hosts, submission time, an id not in known),
	 * 0 when none or several match, or a negative code.
	 */
	int (*find_req)(struct prov_account *pa, const struct endpoint *ep,
			const struct purge_batch *b, int64_t since, struct http_req *req,
			struct cf_err *e);
	int (*find_parse)(const struct endpoint *ep, const struct purge_batch *b, int64_t since,
			  const struct svec *known, const struct http_resp *resp, struct task *out,
			  struct cf_err *e);

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
