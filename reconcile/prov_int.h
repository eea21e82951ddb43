/*
 * Internals shared by the three drivers (provider.c, prov_*.c) and their unit tests. Not for
 * the engine: it sees only provider.h.
 */
#ifndef CF_PROV_INT_H
#define CF_PROV_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <time.h>

#include "reconcile/provider.h"
#include "reconcile/base/sb.h"

#define PROV_URL_MAX	    8192	      /* a request URL we build or accept in a header */
#define PROV_BODY_MAX	    ((size_t)4 << 20) /* a request body we build */
#define PROV_ERR_TEXT_MAX   200		      /* provider message quoted in an error line */
#define PROV_ID_MAX	    128		      /* task ids handed back by providers */
#define PROV_TOKEN_MARGIN_S 300		      /* refresh an azure token this long before expiry */
#define PROV_TOKEN_MAX	    16384	      /* bytes of an access token */

/*
 * One opened account. Secrets (key_value, client_secret, api_key, token) are wiped on close.
 * Fields a provider does not use stay NULL.
 */
struct prov_account {
	enum provider_kind kind;
	char *name;	 /* account name, for messages */
	char *bucket;	 /* token-bucket key: the account's rate domain (shard_domain_key) */
	char *base_url;	 /* no trailing '/' */
	char *ca_file;	 /* NULL = system store */
	long timeout_ms; /* 0 = module default */
	/* azure-china */
	char *subscription, *key_id, *key_value;
	/* azure */
	char *tenant, *client_id, *client_secret, *login_url, *api_version;
	char *token;
	char *token_scope;    /* azure-frontdoor: the cloud's scope; NULL = the public cloud's */
	time_t token_expires; /* absolute, from the clock given to the token parser */
	/* cdnpro */
	char *user, *api_key;
	/* cdnpro manage: the service quota's allowProduction, read once per run by the first
	 * production endpoint's read (el_quota_claimed): 1 true, 0 false (a quota that is set
	 * says so), -1 unknown (no quota set: 404, or no permission: 403) */
	bool el_quota_claimed;
	int el_allow_production;
	/* tests: a fixed clock for signing (0 = time(NULL)) */
	time_t fixed_now;
};

/* Field table used by prov_account_open: which model field goes where. */
struct prov_field {
	const char *name; /* "subscription" */
	size_t model_off; /* offsetof(struct account, ...) of the struct mval */
	size_t pa_off;	  /* offsetof(struct prov_account, ...) of the char * */
	bool required;
	const char *default_val; /* used when absent and not required; NULL = stays NULL */
};

int prov_account_open(const struct account *a, const char *repo_root,
		      const struct prov_field *fields, size_t nfields, const char *default_base,
		      struct prov_account **out, struct cf_err *e);
void prov_account_close(struct prov_account *pa);
time_t prov_now(const struct prov_account *pa);

/* Starts a request: method, url, "endpoint 'NAME': OP", bucket, CA, timeout, signer. */
void prov_req_start(struct http_req *req, struct prov_account *pa, const struct endpoint *ep,
		    const char *method, const char *url, const char *op, http_sign_fn sign);
/* Attaches a JSON body (taken from sb) with Content-Type; CF_ELIMIT when sb overflowed
 * (req is then released: every *_req leaves req zeroed on failure). */
int prov_req_json(struct http_req *req, struct sb *sb, struct cf_err *e);

/* Appends s percent-encoded as one URL path segment (unreserved characters kept). */
int prov_add_segment(struct sb *sb, const char *s);
/* Appends s form-urlencoded (application/x-www-form-urlencoded). */
int prov_add_form(struct sb *sb, const char *s);

/* Like prov_http_error for account-level calls (the azure token): "account 'x' (azure): …". */
int prov_account_http_error(const struct prov_account *pa, const char *op,
			    const struct http_resp *resp, const char *code, const char *msg,
			    struct cf_err *e);
/* rc != 0 (no usable answer): copies the transport error into e and returns it. */
int prov_resp_transport(const struct http_resp *resp, struct cf_err *e);
/* Prefixes e's message with "endpoint 'NAME' (PROVIDER): OP: " after a decoding failure. */
int prov_decode_error(const struct endpoint *ep, const char *op, int rc, struct cf_err *e);

/* True for a provider task id we are willing to put into a URL: 1..PROV_ID_MAX characters
 * of [A-Za-z0-9._~-], and neither "." nor "..". */
bool prov_valid_id(const char *s);
/* Last non-empty path segment of url (query and fragment dropped), copied; NULL if none or
 * longer than PROV_ID_MAX or with characters outside [A-Za-z0-9._~-]. */
char *prov_last_segment(const char *url);
/* True when url has the same scheme, host and port as base, no user information and no dot
 * segment (http_url_on_origin): the only URLs our credentials are sent to. */
bool prov_same_origin(const char *url, const char *base);
/* Header value as a non-negative number of seconds (Retry-After); 0 when absent or not one. */
int prov_retry_after(const struct http_resp *resp);

/* Purge expansion (SPEC §2.3): a path against every host of ep with its scheme; an
 * absolute URL as is. Results are de-duplicated and appended to out. */
void prov_expand_urls(const struct endpoint *ep, const struct svec *in, const char *suffix,
		      struct svec *out);
/* The path (with query) of an absolute URL, or s itself when it is a path. */
const char *prov_url_path(const char *s);
/* Drops every later copy of an item, in O(n) (a hash set: a purge may list 100,000 URLs);
 * the first copies keep their order. v must own its strings (built with svec_push). */
void prov_svec_dedup(struct svec *v);
/* Appends s unless v holds it (a linear scan: for the short lists of one rule or request). */
void prov_svec_add_unique(struct svec *v, const char *s);

/* Caps for packing expanded items into batches. dirs and patterns share max_dirs (cdnpro
 * sends both as dirUrls); max_total bounds the sum of all kinds (0 = no bound). */
struct prov_caps {
	size_t max_files, max_dirs, max_regex, max_total;
};

/* Packs the lists into as few batches of kind as the caps allow, appending to *out / *n.
 * Takes the items (the svecs are left empty). */
void prov_pack(enum batch_kind kind, enum purge_action action, struct svec *files,
	       struct svec *dirs, struct svec *patterns, struct svec *regex,
	       const struct prov_caps *caps, struct purge_batch **out, size_t *n);

/* ---- shared by the drivers' request and response code (provider.c) ---- */

struct json_object;

/* Where a provider's error body keeps its code and message. */
struct prov_err_shape {
	const char *wrap;  /* member object holding them ("error"); NULL: the root itself */
	bool wrap_or_root; /* wrap absent or not an object: look in the root instead */
	const char *code, *msg;
	unsigned flags; /* codec flags for the lookups (CODEC_CI, CODEC_LOOSE) */
};

/* Code and message from resp's body as shape says (NULL when absent); *root is the parsed
 * body they point into (NULL when it is no JSON object), for the caller to codec_put. */
void prov_error_fields(const struct http_resp *resp, const struct prov_err_shape *shape,
		       struct json_object **root, const char **code, const char **msg);
/* prov_http_error with code and message from the body; without either, the raw body is the
 * message. */
int prov_api_error(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		   const struct prov_err_shape *shape, struct cf_err *e);

/* Fills out from the decoded JSON object root; returns 0 or a negative cf_rc with e set. */
typedef int (*prov_decode_fn)(struct json_object *root, void *out, struct cf_err *e);

/*
 * A JSON answer the way every driver takes it: a transport failure passes through, a status
 * other than 200 (and ok_too, when not 0) is the provider's error line, and a body that does
 * not decode with fn is "endpoint 'x' (provider): OP: unexpected response: …".
 */
int prov_parse_json(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		    const struct prov_err_shape *shape, long ok_too, prov_decode_fn fn, void *out,
		    struct cf_err *e);
/* prov_parse_json for account-level answers of any JSON type (a listing): errors say
 * "account 'x' (provider): OP: ...". */
int prov_parse_account_json(const struct prov_account *pa, const char *op,
			    const struct http_resp *resp, const struct prov_err_shape *shape,
			    prov_decode_fn fn, void *out, struct cf_err *e);
/* read_parse for a cache-rule API: out zeroed, filled by fn, marked existing and digested;
 * released again on failure. */
int prov_parse_live(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		    const struct prov_err_shape *shape, prov_decode_fn fn, struct live_state *out,
		    struct cf_err *e);
/* The sem_cfg that fn (a read_parse decoder, which fills live_state.sem) makes of body:
 * what a provider would store from a write body of the same shape as its read answer. */
int prov_sem_of_body(const struct endpoint *ep, const char *body, size_t len, prov_decode_fn fn,
		     struct sem_cfg *out, struct cf_err *e);
/* prov_parse_json into a task, which takes the Retry-After hint on success. */
int prov_parse_task(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		    const struct prov_err_shape *shape, long ok_too, prov_decode_fn fn,
		    struct task *t, struct cf_err *e);
/* Marks t running on the provider's id and status URL (taken), with the Retry-After hint. */
void prov_task_running(struct task *t, const struct http_resp *resp, char *id, const char *url);

/* Request start for a URL built in *url (released here): CF_ELIMIT when it overflowed. */
int prov_req_url(struct http_req *req, struct prov_account *pa, const struct endpoint *ep,
		 const char *method, struct sb *url, const char *op, http_sign_fn sign,
		 struct cf_err *e);
/* GET of an absolute status URL a provider handed back; our credentials go only to base_url's
 * origin, anything else is CF_EAPI ("endpoint 'x': WHAT 'url' is not on base"). */
int prov_req_status_url(struct http_req *req, struct prov_account *pa, const struct endpoint *ep,
			const char *url, const char *what, const char *op, http_sign_fn sign,
			struct cf_err *e);
/* True for a URL from a response header we may store and request later: 1..PROV_URL_MAX
 * bytes, no spaces or control bytes. */
bool prov_header_url_ok(const char *url);

/* Ends a signer: on sign_rc == 0 sets date_header (unless NULL) to date and Authorization to
 * auth; wipes and releases auth either way. */
int prov_sign_finish(struct http_req *req, const char *date_header, const char *date,
		     struct sb *auth, int sign_rc, struct cf_err *e);
/* account_ready for drivers whose keys sign each request alone. */
int prov_ready_none(struct prov_account *pa, struct http_client *c, struct cf_err *e);

/* Appends a JSON array of the strings of a then b (b may be NULL). */
void prov_add_str_array(struct sb *sb, const struct svec *a, const struct svec *b);

/* What a driver's split expanded, still to be packed. */
struct prov_items {
	struct svec files, dirs, patterns, regex, preload;
};

/* De-duplicates each list of x, then packs it into purge batches then preload batches
 * (split's result); takes x's items. */
size_t prov_split_pack(enum purge_action action, struct prov_items *x,
		       const struct prov_caps *purge_caps, const struct prov_caps *load_caps,
		       struct purge_batch **out);

/* Driver tables (provider.c hands them out through prov_get). */
extern const struct prov_ops prov_azurecn_ops;
extern const struct prov_ops prov_azure_ops;
extern const struct prov_ops prov_cdnpro_ops;
extern const struct prov_ops prov_afd_ops;

/* ---- Azure Resource Manager (prov_arm.c), shared by prov_azure.c and prov_afd.c ---- */

/* ARM's error body: {"error":{"code","message"}} or flat {code,message}. */
extern const struct prov_err_shape prov_arm_err;

/* A write's or purge's first answer: 200/201/204 done, 202 running (polled at
 * Azure-AsyncOperation, else Location), anything else the ARM error line. */
int prov_arm_lro_start(const struct endpoint *ep, const char *op, const struct http_resp *resp,
		       struct task *t, struct cf_err *e);
/* poll_req / poll_parse for an ARM operation status URL. */
int prov_arm_poll_req(struct prov_account *pa, const struct endpoint *ep, const struct task *t,
		      struct http_req *req, struct cf_err *e);
int prov_arm_poll_parse(const struct endpoint *ep, const struct http_resp *resp, struct task *t,
			struct cf_err *e);

/* ---- azure Entra ID token (prov_token.c) ---- */

/* Request and answer are pure so tests can drive them on a fake clock. */
bool prov_azure_token_fresh(const struct prov_account *pa, time_t now);
int prov_azure_token_req(struct prov_account *pa, struct http_req *req, struct cf_err *e);
int prov_azure_token_parse(struct prov_account *pa, const struct http_resp *resp, time_t now,
			   struct cf_err *e);
/* account_ready: fetches a token through c unless the one held is fresh. */
int prov_azure_ready(struct prov_account *pa, struct http_client *c, struct cf_err *e);
/* Signer: "Authorization: Bearer <token>"; CF_EAUTH without a token. */
int prov_azure_sign(void *ctx, struct http_req *req, struct cf_err *e);

#endif
