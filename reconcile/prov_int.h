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
#include "reconcile/sb.h"

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
	char *name;	 /* account name: token-bucket key and messages */
	char *base_url;	 /* no trailing '/' */
	char *ca_file;	 /* NULL = system store */
	long timeout_ms; /* 0 = module default */
	/* azure-china */
	char *subscription, *key_id, *key_value;
	/* azure */
	char *tenant, *client_id, *client_secret, *login_url, *api_version;
	char *token;
	time_t token_expires; /* absolute, from the clock given to the token parser */
	/* cdnpro */
	char *user, *api_key;
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
 * of [A-Za-z0-9._~-]. */
bool prov_valid_id(const char *s);
/* Last non-empty path segment of url (query and fragment dropped), copied; NULL if none or
 * longer than PROV_ID_MAX or with characters outside [A-Za-z0-9._~-]. */
char *prov_last_segment(const char *url);
/* True when url has the same scheme, host and port as base. */
bool prov_same_origin(const char *url, const char *base);
/* Header value as a non-negative number of seconds (Retry-After); 0 when absent or not one. */
int prov_retry_after(const struct http_resp *resp);

/* Purge expansion (SPEC §2.3): a path against every host of ep with its scheme; an
 * absolute URL as is. Results are de-duplicated and appended to out. */
void prov_expand_urls(const struct endpoint *ep, const struct svec *in, const char *suffix,
		      struct svec *out);
/* The path (with query) of an absolute URL, or s itself when it is a path. */
const char *prov_url_path(const char *s);
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

/* Driver tables (provider.c hands them out through prov_get). */
extern const struct prov_ops prov_azurecn_ops;
extern const struct prov_ops prov_azure_ops;
extern const struct prov_ops prov_cdnpro_ops;

/* azure token handling, pure so tests can drive it on a fake clock. */
bool prov_azure_token_fresh(const struct prov_account *pa, time_t now);
int prov_azure_token_req(struct prov_account *pa, struct http_req *req, struct cf_err *e);
int prov_azure_token_parse(struct prov_account *pa, const struct http_resp *resp, time_t now,
			   struct cf_err *e);

#endif
