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
#include <stdint.h>
#include <time.h>

#include "reconcile/base/diag.h"

struct http_header {
	char *name;  /* owned */
	char *value; /* owned */
};

/* When a failed attempt may be repeated. Every request other than HTTP_RETRY_SAFE is sent on
 * a fresh connection closed after it, so libcurl never resends it on its own. */
enum http_retry {
	HTTP_RETRY_SAFE,   /* reads and whole-set writes (GET, PUT/PATCH of rules) */
	HTTP_RETRY_UNSAFE, /* purge/preload POST: only when the provider provably did not accept it
			    */
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
	/* borrowed "HOST:PORT" or NULL: connect there instead of to the URL's host, keeping the
	 * URL (Host header, TLS name); no proxy is used then. Plain http is allowed when HOST
	 * is loopback. */
	const char *connect_to;
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

/* Every field left 0 takes the module default (see http.c); HTTP_RETRY_NEVER on a request,
 * not max_retries, is how a caller forbids retries. */
/* --parallelism above this is a usage error (commands check it; http_new clamps as a guard). */
#define HTTP_PARALLELISM_MAX 1024

struct http_opts {
	unsigned parallelism;	 /* default 8, at most HTTP_PARALLELISM_MAX */
	long connect_timeout_ms; /* default 10 s */
	long total_timeout_ms;	 /* per attempt; default 60 s */
	size_t max_body;	 /* response size cap; default 8 MiB */
	unsigned max_retries;	 /* default 5 (6 attempts), at most 20 */
	bool debug; /* trace exchanges to stderr, secrets redacted; also CACHEFORM_DEBUG=1 */
};

struct http_client;

/* Returns a client; opts may be NULL for defaults. Caller frees with http_free(). */
struct http_client *http_new(const struct http_opts *opts);
void http_free(struct http_client *c);
/* Declares a token bucket: `rate_per_minute` refill, `burst` capacity. Key is copied. */
void http_bucket(struct http_client *c, const char *key, unsigned rate_per_minute, unsigned burst);
/* Makes the bucket under key (made by http_bucket) refill at exactly its rate, also after a
 * later http_bucket tightens it (http_tb_exact says when that is safe). */
void http_bucket_exact(struct http_client *c, const char *key);

/*
 * Runs n requests; resps[i] receives the outcome of reqs[i] (the caller releases each with
 * http_resp_release). Returns 0 when every request got an HTTP answer (any status), or the
 * first failure code; per-request results are always filled.
 */
int http_run(struct http_client *c, struct http_req *reqs, struct http_resp *resps, size_t n);

/*
 * Progress: while it runs, http_run() (and http_run_each) calls fn(ctx, done, n) at least every 100
 * ms and once more at the start, done being how many of its n requests have ended. fn NULL = none.
 */
typedef void (*http_tick_fn)(void *ctx, size_t done, size_t n);
void http_set_tick(struct http_client *c, http_tick_fn fn, void *ctx);

/*
 * Called once per request, once it is over (answered, failed or refused), with its index:
 * at the end of the wake-up that ended it, after the requests that may start then have
 * been sent. It may release resps[i] (http_resp_release) and must not call back into c.
 */
typedef void (*http_done_fn)(size_t i, struct http_resp *resp, void *arg);

/*
 * http_run that hands each outcome to done as it arrives, so that a caller which consumes and
 * releases answers holds at most `parallelism` bodies at once, not n. Returns as http_run.
 */
int http_run_each(struct http_client *c, struct http_req *reqs, struct http_resp *resps, size_t n,
		  http_done_fn done, void *arg);

/*
 * A fed run's source of requests: fills *req (zeroed) with request k and returns true, or
 * returns false to skip k (nothing is sent for it and done is not called; whatever was put
 * in *req is released).
 */
typedef bool (*http_feed_fn)(size_t k, struct http_req *req, void *arg);

/*
 * http_run_each over requests built as they are needed: feed is called for k = 0, 1, ... n-1
 * in order, each time a connection slot is free and nothing already due waits for it, with
 * at most `window` requests fed whose done has not been called yet (0: 4 x the parallelism;
 * never less than the parallelism). So a run of any length holds requests and answers for its
 * window only, and no request waits for a batch's slowest answer. done(k, resp, arg) is called once
 * for every request fed; the run releases the request and the answer after it. Due retries go
 * before requests not yet fed. Returns as http_run.
 */
int http_run_fed(struct http_client *c, size_t n, size_t window, http_feed_fn feed,
		 http_done_fn done, void *arg);

/*
 * http_run_fed with done run on a second thread (reconcile/base/workq.h), one request at a
 * time in the order they ended, while this one goes on sending: an answer's decoding no longer
 * holds up the requests behind it. done must touch only what belongs to its request k (and
 * what no other done of this run and no feed touches); it still must not call back into c.
 * Every done has run when this returns. Without a thread to be had, it is http_run_fed.
 */
int http_run_fed_worker(struct http_client *c, size_t n, size_t window, http_feed_fn feed,
			http_done_fn done, void *arg);

/*
 * Request helpers. http_req_init copies method, url and what; retry defaults to
 * HTTP_RETRY_UNSAFE for POST and HTTP_RETRY_SAFE otherwise. http_req_header refuses
 * nothing itself: http_run() refuses a request whose header holds CR, LF or a control byte.
 */
void http_req_init(struct http_req *r, const char *method, const char *url, const char *what);
void http_req_header(struct http_req *r, const char *name, const char *value);
/* Replaces a header of that name (case-insensitive) or adds it. */
void http_req_set_header(struct http_req *r, const char *name, const char *value);
/* Takes ownership of body. */
void http_req_body(struct http_req *r, char *body, size_t len);
void http_req_release(struct http_req *r);
void http_resp_release(struct http_resp *r);
/* Drops the answer (status, body, headers) and keeps rc, attempts and err. */
void http_resp_clear(struct http_resp *r);
/* Returns the first response header with that name (case-insensitive), or NULL. Borrowed. */
const char *http_resp_header(const struct http_resp *r, const char *name);

/*
 * True when url is an absolute http(s) URL on exactly base's scheme, host and port (default
 * ports filled in), without user information and without a "." or ".." path segment (plain
 * or %-encoded): the only URLs a credential may be attached to.
 */
bool http_url_on_origin(const char *url, const char *base);

/* True when url's host is loopback (127.0.0.0/8, localhost, [::1]). */
bool http_is_loopback_url(const char *url);

/*
 * Policy, exposed as pure functions so tests can check decisions without a network.
 */

/* How an attempt failed, independent of libcurl's codes. */
enum http_fail {
	HTTP_FAIL_NONE,	   /* an HTTP status arrived */
	HTTP_FAIL_CONNECT, /* no connection, the request provably unsent: refused, DNS, connect
			      timeout, TLS handshake */
	HTTP_FAIL_TIMEOUT, /* the deadline passed after the request may have been sent */
	HTTP_FAIL_NET,	   /* the connection broke after the request may have been sent */
	HTTP_FAIL_FATAL,   /* retrying cannot help: TLS verification, size cap, bad URL */
};

struct http_retry_in {
	enum http_retry policy;
	enum http_fail fail;
	long status;		      /* when fail == HTTP_FAIL_NONE */
	const char *retry_after;      /* Retry-After value or NULL */
	const char *rate_retry_after; /* x-rate-limit-retry-after-seconds value or NULL */
	unsigned attempt;	      /* attempts made so far, >= 1 */
	unsigned max_attempts;
	time_t now;   /* wall clock, for a Retry-After HTTP date */
	double scale; /* multiplies every delay, Retry-After included (CACHEFORM_RETRY_SCALE) */
	uint32_t rnd; /* random bits for the jitter */
};

/* Returns true when the attempt should be repeated, with the wait in *delay_ms. */
bool http_retry_decide(const struct http_retry_in *in, int64_t *delay_ms);

/* Returns the wait a Retry-After value asks for in ms (delta-seconds or HTTP date relative
 * to now; a past date is 0), or -1 when it cannot be parsed. */
int64_t http_retry_after_ms(const char *value, time_t now);

/* Token bucket in 1/6,000,000 tokens, so a per-minute rate refills in whole units per ms. */
struct http_tb {
	int64_t level, cap, rate; /* rate: units per ms (98 x tokens per minute: paced 2% under;
				   100 x after http_tb_exact) */
	int64_t last_ms; /* refilled up to here; after an idle burst start, in the future */
	int64_t full_ms; /* when the bucket last became full */
};

/*
 * A full bucket of `burst` tokens (at least 1) refilled a little slower than rate_per_minute
 * (at least 1), with the refill after an idle spell starting a little after the first take,
 * so a provider bucket at exactly that rate never refuses (see http_policy.c).
 */
void http_tb_init(struct http_tb *b, unsigned rate_per_minute, unsigned burst, int64_t now_ms);
/*
 * Drops the pace margin: the bucket refills at exactly rate_per_minute. Only for a bucket
 * whose provider-side bucket keeps headroom of its own, such as a split shard's (1/N of the
 * rate, 1/(2N) of the burst: N such buckets leave half the provider's burst unused).
 */
void http_tb_exact(struct http_tb *b, unsigned rate_per_minute);
/* Takes one token and returns 0, or takes nothing and returns the ms until one is there. */
int64_t http_tb_take(struct http_tb *b, int64_t now_ms);

/*
 * True when r is a plain read: a retry-safe GET without a body, on the system CA store and
 * without connect-to. Consecutive plain reads differ only in URL, headers and timeouts, so
 * a libcurl handle goes from one to the next without a reset and without setting again the
 * options they share.
 */
bool http_req_plain_get(const struct http_req *r);

/*
 * The event loop's clock arithmetic (all times monotonic ms; -1 = none).
 *
 * http_timer_at: when libcurl's timer, set to timeout_ms at now (-1 = deleted), is due. A
 * positive timeout is rounded up by 1 ms: libcurl truncates it, and a wake-up before its
 * deadline finds nothing expired and does not re-arm the timer, so the loop would spin.
 *
 * http_wait_ms: how long to sleep for the next event: until the earliest of the
 * scheduler's next start (next_ms, relative), libcurl's timer and the next progress tick
 * (both absolute), at most cap_ms, never negative.
 */
int64_t http_timer_at(int64_t now, long timeout_ms);
int http_wait_ms(int64_t now, int64_t next_ms, int64_t timer_at, int64_t tick_at, int cap_ms);

/* Returns the version of the libcurl loaded at run time, e.g. "7.88.1". Static. */
const char *http_lib_version(void);

#endif
