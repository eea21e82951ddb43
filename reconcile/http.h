/*
 * The one HTTP module (libcurl multi interface). Callers describe requests as plain structs
 * and run them as a batch: up to `parallelism` at once on reused connections, each attempt
 * passing the account's token bucket, signed just before it is sent, retried per SPEC §6.
 * No library type crosses this header.
 */
#ifndef CF_HTTP_H
#define CF_HTTP_H

#include <stddef.h>
#include <stdbool.h>

#include "reconcile/diag.h"

struct http_header {
	char *name;  /* owned */
	char *value; /* owned */
};

/* When a failed attempt may be repeated. */
enum http_retry {
	HTTP_RETRY_SAFE,   /* reads and whole-set writes (GET, PUT/PATCH of rules) */
	HTTP_RETRY_UNSAFE, /* purge/preload POST: only when the provider provably did not accept it */
	HTTP_RETRY_NEVER,
};

struct http_req;
/* Called before every attempt (so dates and tokens are fresh); adds auth headers. */
typedef int (*http_sign_fn)(void *ctx, struct http_req *req, struct cf_err *e);

struct http_req {
	char *method; /* owned, "GET" "PUT" "PATCH" "POST" */
	char *url;    /* owned, absolute */
	struct http_header *headers;
	size_t nheaders, hcap;
	char *body; /* owned, may be NULL */
	size_t body_len;
	enum http_retry retry;
	const char *bucket; /* borrowed: token-bucket key (account name); NULL = none */
	http_sign_fn sign;
	void *sign_ctx;	     /* borrowed */
	const char *ca_file; /* borrowed; NULL = system store */
	long timeout_ms;     /* 0 = module default */
	char *what;	     /* owned: "endpoint 'www': read cache rules", used in messages */
	void *user;	     /* caller's tag, untouched */
};

struct http_resp {
	int rc;	     /* 0, or CF_ENET / CF_ETIMEOUT / CF_ELIMIT when no usable answer came */
	long status; /* HTTP status of the last attempt, 0 if none */
	char *body;  /* owned, NUL-terminated (may contain NULs before body_len) */
	size_t body_len;
	struct http_header *headers; /* owned; names lower-cased */
	size_t nheaders, hcap;
	unsigned attempts;
	struct cf_err err; /* filled when rc != 0 */
};

struct http_opts {
	unsigned parallelism; /* default 8 */
	long connect_timeout_ms;
	long total_timeout_ms;
	size_t max_body; /* response size cap */
	unsigned max_retries;
	bool debug; /* trace exchanges to stderr, secrets redacted */
};

struct http_client;

/* Returns a client; opts may be NULL for defaults. Caller frees with http_free(). */
struct http_client *http_new(const struct http_opts *opts);
void http_free(struct http_client *c);
/* Declares a token bucket: `rate_per_minute` refill, `burst` capacity. Key is copied. */
void http_bucket(struct http_client *c, const char *key, unsigned rate_per_minute, unsigned burst);

/*
 * Runs n requests; resps[i] receives the outcome of reqs[i] (the caller releases each with
 * http_resp_release). Returns 0 when every request got an HTTP answer (any status), or the
 * first failure code; per-request results are always filled.
 */
int http_run(struct http_client *c, struct http_req *reqs, struct http_resp *resps, size_t n);

/* Request helpers. http_req_init copies method, url and what. */
void http_req_init(struct http_req *r, const char *method, const char *url, const char *what);
void http_req_header(struct http_req *r, const char *name, const char *value);
/* Replaces a header of that name (case-insensitive) or adds it. */
void http_req_set_header(struct http_req *r, const char *name, const char *value);
/* Takes ownership of body. */
void http_req_body(struct http_req *r, char *body, size_t len);
void http_req_release(struct http_req *r);
void http_resp_release(struct http_resp *r);
/* Returns the first response header with that name (case-insensitive), or NULL. Borrowed. */
const char *http_resp_header(const struct http_resp *r, const char *name);

/* True when url's host is loopback (127.0.0.0/8, localhost, [::1]). */
bool http_is_loopback_url(const char *url);

#endif
