/*
 * Unit tests: the HTTP module. Pure policy first (retry decisions, Retry-After, token
 * bucket, loopback URLs), then http_run() against a canned-answer server forked on
 * 127.0.0.1 by this file. The server records every request's arrival in shared memory so
 * tests can check ordering, attempt counts and connection reuse.
 */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reconcile/http.h"
#include "reconcile/base/sb.h"

/* ---- retry decisions ---- */

#define NOW_T 1735689600 /* Wed, 01 Jan 2025 00:00:00 GMT */

struct retry_case {
	enum http_retry policy;
	enum http_fail fail;
	long status;
	const char *ra, *rra;
	unsigned attempt;
	bool retry;
	int64_t lo, hi; /* delay bounds over all jitter values */
};

#define S  HTTP_RETRY_SAFE
#define U  HTTP_RETRY_UNSAFE
#define N  HTTP_RETRY_NEVER
#define OK HTTP_FAIL_NONE

static const struct retry_case retry_cases[] = {
    /* safe requests: every transient failure, with growing, capped backoff */
    {S, HTTP_FAIL_CONNECT, 0, NULL, NULL, 1, true, 100, 200},
    {S, HTTP_FAIL_TIMEOUT, 0, NULL, NULL, 2, true, 200, 400},
    {S, HTTP_FAIL_NET, 0, NULL, NULL, 3, true, 400, 800},
    {S, OK, 408, NULL, NULL, 1, true, 100, 200},
    {S, OK, 429, NULL, NULL, 1, true, 100, 200},
    {S, OK, 500, NULL, NULL, 1, true, 100, 200},
    {S, OK, 502, NULL, NULL, 1, true, 100, 200},
    {S, OK, 503, NULL, NULL, 1, true, 100, 200},
    {S, OK, 504, NULL, NULL, 5, true, 1600, 3200},
    {S, OK, 500, NULL, NULL, 5, true, 1600, 3200},
    /* not transient */
    {S, OK, 200, NULL, NULL, 1, false, 0, 0},
    {S, OK, 400, NULL, NULL, 1, false, 0, 0},
    {S, OK, 401, NULL, NULL, 1, false, 0, 0},
    {S, OK, 404, NULL, NULL, 1, false, 0, 0},
    {S, OK, 409, NULL, NULL, 1, false, 0, 0},
    {S, OK, 501, NULL, NULL, 1, false, 0, 0},
    {S, HTTP_FAIL_FATAL, 0, NULL, NULL, 1, false, 0, 0},
    /* budget spent: attempt 6 of 6 */
    {S, OK, 503, NULL, NULL, 6, false, 0, 0},
    {S, HTTP_FAIL_CONNECT, 0, NULL, NULL, 6, false, 0, 0},
    /* purge POST: only when the provider provably did not take it */
    {U, HTTP_FAIL_CONNECT, 0, NULL, NULL, 1, true, 100, 200},
    {U, OK, 429, NULL, NULL, 1, true, 100, 200},
    {U, OK, 503, NULL, NULL, 1, true, 100, 200},
    {U, HTTP_FAIL_TIMEOUT, 0, NULL, NULL, 1, false, 0, 0},
    {U, HTTP_FAIL_NET, 0, NULL, NULL, 1, false, 0, 0},
    {U, OK, 500, NULL, NULL, 1, false, 0, 0},
    {U, OK, 502, NULL, NULL, 1, false, 0, 0},
    {U, OK, 504, NULL, NULL, 1, false, 0, 0},
    {U, OK, 408, NULL, NULL, 1, false, 0, 0},
    {U, OK, 500, "1", NULL, 1, false, 0, 0},
    /* never */
    {N, HTTP_FAIL_CONNECT, 0, NULL, NULL, 1, false, 0, 0},
    {N, OK, 503, "1", NULL, 1, false, 0, 0},
    /* Retry-After and x-rate-limit-retry-after-seconds replace the backoff */
    {S, OK, 503, "2", NULL, 1, true, 2000, 2200},
    {S, OK, 429, NULL, "1.5", 1, true, 1500, 1650},
    {S, OK, 429, "1", "3", 1, true, 3000, 3300},
    {U, OK, 429, NULL, "7", 1, true, 7000, 7700},
    {S, OK, 503, "0", NULL, 4, true, 0, 0},
    {S, OK, 503, "Wed, 01 Jan 2025 00:00:05 GMT", NULL, 1, true, 5000, 5500},
    {S, OK, 503, "Tue, 31 Dec 2024 23:00:00 GMT", NULL, 1, true, 0, 0},
    {S, OK, 503, "soon", NULL, 1, true, 100, 200}, /* unparsable: backoff */
    /* longer than the module will wait: give up and report the status */
    {S, OK, 503, "600", NULL, 1, false, 0, 0},
    /* a Retry-After on a transport failure does not exist: backoff applies */
    {S, HTTP_FAIL_NET, 0, "9", NULL, 1, true, 100, 200},
};

static void test_http__retry_decide(void **state)
{
	(void)state;
	const uint32_t rnds[] = {0, 1, 77, 100, 12345, UINT32_MAX};
	for (size_t i = 0; i < CF_ARRAY_LEN(retry_cases); i++) {
		const struct retry_case *c = &retry_cases[i];
		for (size_t j = 0; j < CF_ARRAY_LEN(rnds); j++) {
			struct http_retry_in in = {c->policy,  c->fail, c->status, c->ra, c->rra,
						   c->attempt, 6,	NOW_T,	   1.0,	  rnds[j]};
			int64_t d = -1;
			bool r = http_retry_decide(&in, &d);
			if (r != c->retry || d < c->lo || d > c->hi)
				fail_msg("case %zu rnd %u: retry %d delay %lld", i, rnds[j], r,
					 (long long)d);
		}
	}
}

static void test_http__retry_backoff_cap_and_scale(void **state)
{
	(void)state;
	struct http_retry_in in = {S, HTTP_FAIL_NET, 0, NULL, NULL, 40, 100, NOW_T, 1.0, 0};
	int64_t d;
	assert_true(http_retry_decide(&in, &d));
	assert_int_equal(d, 15000); /* half of the 30 s cap, the jitter floor */
	in.rnd = UINT32_MAX;
	assert_true(http_retry_decide(&in, &d));
	assert_true(d >= 15000 && d <= 30000);
	/* CACHEFORM_RETRY_SCALE shrinks Retry-After proportionally */
	struct http_retry_in ra = {S, OK, 503, "2", NULL, 1, 6, NOW_T, 0.01, 0};
	assert_true(http_retry_decide(&ra, &d));
	assert_int_equal(d, 20);
}

static void test_http__retry_after_parse(void **state)
{
	(void)state;
	assert_int_equal(http_retry_after_ms("120", NOW_T), 120000);
	assert_int_equal(http_retry_after_ms(" 3 ", NOW_T), 3000);
	assert_int_equal(http_retry_after_ms("0.25", NOW_T), 250);
	assert_int_equal(http_retry_after_ms("Wed, 01 Jan 2025 00:01:00 GMT", NOW_T), 60000);
	assert_int_equal(http_retry_after_ms("Tue, 31 Dec 2024 23:59:59 GMT", NOW_T), 0);
	assert_int_equal(http_retry_after_ms("Wed, 01 Foo 2025 00:01:00 GMT", NOW_T), -1);
	assert_int_equal(http_retry_after_ms("Wed, 01 anF 2025 00:01:00 GMT", NOW_T), -1);
	assert_int_equal(http_retry_after_ms("Wed, 01 Jan 2025 00:01:00 UTC", NOW_T), -1);
	assert_int_equal(http_retry_after_ms("Wed, 01 Jan 2025 25:01:00 GMT", NOW_T), -1);
	assert_int_equal(http_retry_after_ms("-1", NOW_T), -1);
	assert_int_equal(http_retry_after_ms("1e3", NOW_T), -1);
	assert_int_equal(http_retry_after_ms("", NOW_T), -1);
	assert_int_equal(http_retry_after_ms(NULL, NOW_T), -1);
	assert_int_equal(http_retry_after_ms("99999999999", NOW_T), -1);
}

/* ---- token bucket on a fake clock ---- */

struct tb_step {
	int64_t t;
	int64_t wait;
};

static void test_http__token_bucket(void **state)
{
	(void)state;
	struct http_tb b;
	/*
	 * cdnpro default: 30/min, burst 60 -> 60 immediate; then one per 2041 ms (2% under
	 * 2000), the first of them 50 ms later still (the refill after an idle burst lags).
	 */
	http_tb_init(&b, 30, 60, 0);
	for (int i = 0; i < 60; i++)
		assert_int_equal(http_tb_take(&b, 0), 0);
	assert_int_equal(http_tb_take(&b, 0), 2091);
	assert_int_equal(http_tb_take(&b, 1500), 591);
	assert_int_equal(http_tb_take(&b, 2091), 0);
	assert_int_equal(http_tb_take(&b, 2091), 2041);

	/* 120/min, burst 2: paced at 510.2 ms per token (500 x 100/98) */
	const struct tb_step steps[] = {
	    {0, 0},
	    {0, 0},
	    {0, 561}, /* 50 ms lag + 511 */
	    {560, 1},
	    {561, 0},
	    {561, 510}, /* the fraction left over from the last refill counts */
	    /* a long idle refills only up to the burst, and opens the next burst with the lag */
	    {100000, 0},
	    {100000, 0},
	    {100000, 561},
	    {100250, 311},
	};
	http_tb_init(&b, 120, 2, 0);
	for (size_t i = 0; i < CF_ARRAY_LEN(steps); i++)
		assert_int_equal(http_tb_take(&b, steps[i].t), steps[i].wait);

	/* burst 1 taken as soon as it refills: no lag on a bucket that was never idle */
	const struct tb_step paced[] = {{0, 0},	    {0, 153}, {153, 0},
					{153, 103}, {256, 0}, {256, 103}};
	http_tb_init(&b, 600, 1, 0);
	for (size_t i = 0; i < CF_ARRAY_LEN(paced); i++)
		assert_int_equal(http_tb_take(&b, paced[i].t), paced[i].wait);

	/* exact (a split shard's share): the same at exactly 100 ms a token, the idle lag kept */
	const struct tb_step exact[] = {{0, 0},	    {0, 150}, {150, 0},
					{150, 100}, {250, 0}, {250, 100}};
	http_tb_init(&b, 600, 1, 0);
	http_tb_exact(&b, 600);
	for (size_t i = 0; i < CF_ARRAY_LEN(exact); i++)
		assert_int_equal(http_tb_take(&b, exact[i].t), exact[i].wait);

	/* a clock that goes backwards takes nothing extra: the token is due on the bucket's clock
	 */
	http_tb_init(&b, 60, 1, 5000);
	assert_int_equal(http_tb_take(&b, 5000), 0);
	assert_int_equal(http_tb_take(&b, 4000), 2071);
}

/*
 * The provider's bucket at exactly the configured rate, as fakecdn and CDN Pro run it: full,
 * refilling from the moment it handles the first request (double tokens, like fk_cdnpro.c).
 */
struct srv_tb {
	double level, burst, per_ms;
	int64_t last;
	bool started;
};

static bool srv_tb_take(struct srv_tb *s, int64_t t)
{
	if (!s->started) {
		s->started = true;
		s->last = t;
	}
	if (t > s->last) {
		s->level += (double)(t - s->last) * s->per_ms;
		s->last = t;
	}
	if (s->level > s->burst)
		s->level = s->burst;
	if (s->level < 1.0)
		return false;
	s->level -= 1.0;
	return true;
}

struct tb_race {
	unsigned rate, burst, requests;
	int64_t first_delay_ms; /* one-way delay of the first request (connection set-up) */
	int64_t jitter_ms;	/* later requests arrive after 0..jitter_ms */
	int64_t idle_ms;	/* pause after request `idle_after` (0 = none) */
	unsigned idle_after;
};

/* Drives the client bucket on a fake clock against a provider bucket at exactly the same
 * rate: no request may be refused, and the last one must go within 3% of the floor. */
static void test_http__token_bucket_vs_provider(void **state)
{
	(void)state;
	const struct tb_race cases[] = {
	    {30, 60, 91, 5, 3, 0, 0},	 /* the cdnpro benchmark: 45 purges + 45 polls + quota */
	    {30, 60, 91, 45, 0, 0, 0},	 /* a slow first connection */
	    {30, 60, 130, 5, 30, 0, 0},	 /* jitter of up to 30 ms on every request */
	    {600, 10, 200, 20, 1, 0, 0}, /* a fast bucket: 100 ms per token */
	    {30, 60, 200, 40, 2, 300000, 100}, /* idle long enough to refill, then a second burst */
	};
	for (size_t c = 0; c < CF_ARRAY_LEN(cases); c++) {
		const struct tb_race *k = &cases[c];
		struct http_tb b;
		struct srv_tb s = {(double)k->burst, (double)k->burst, k->rate / 60000.0, 0, false};
		int64_t t = 1000, start = t;
		unsigned counted = k->requests;
		uint32_t rnd = 12345;
		http_tb_init(&b, k->rate, k->burst, 0);
		for (unsigned i = 0; i < k->requests; i++) {
			if (k->idle_ms && i == k->idle_after) {
				/* both buckets refill: only the pacing after the pause counts */
				t += k->idle_ms;
				start = t;
				counted = k->requests - k->idle_after;
			}
			int64_t w;
			while ((w = http_tb_take(&b, t)) > 0)
				t += w;
			rnd = rnd * 1103515245u + 12345u;
			int64_t delay = i == 0 || i == k->idle_after
					    ? k->first_delay_ms
					    : (int64_t)(rnd >> 16) % (k->jitter_ms + 1);
			if (!srv_tb_take(&s, t + delay))
				fail_msg("case %zu: request %u refused by the provider's bucket", c,
					 i);
		}
		int64_t over = counted > k->burst ? counted - k->burst : 0;
		int64_t floor_ms = over * 60000 / k->rate, spent = t - start;
		print_message("case %zu: last request after %lld ms, floor %lld ms\n", c,
			      (long long)spent, (long long)floor_ms);
		assert_true(spent <= floor_ms * 103 / 100 + 100);
	}
}

static void test_http__loopback(void **state)
{
	(void)state;
	const char *yes[] = {"http://127.0.0.1:8080/x", "http://localhost/", "http://[::1]:9/",
			     "https://127.1.2.3/", "http://LOCALHOST:1"};
	const char *no[] = {"http://example.com/", "http://127.0.0.1.example.com/",
			    "http://128.0.0.1/",   "http://localhost.evil.com/",
			    "http://10.0.0.1/",	   "not a url",
			    "http://[::2]/",	   "http://127.0.0.256/"};
	for (size_t i = 0; i < CF_ARRAY_LEN(yes); i++)
		assert_true(http_is_loopback_url(yes[i]));
	for (size_t i = 0; i < CF_ARRAY_LEN(no); i++)
		assert_false(http_is_loopback_url(no[i]));
}

/* Only URLs on exactly base's origin may carry a credential (issue 14). */
static void test_http__url_on_origin(void **state)
{
	(void)state;
	static const struct {
		const char *url, *base;
		bool ok;
	} cases[] = {
	    {"https://api.example.com/cdn/purges/1", "https://api.example.com", true},
	    {"HTTPS://API.example.com:443/cdn/purges/1?x=1", "https://api.example.com", true},
	    {"http://127.0.0.1:8080/a/b", "http://127.0.0.1:8080", true},
	    {"https://api.example.com.evil.net/cdn/purges/1", "https://api.example.com", false},
	    {"https://api.example.com:444/cdn/purges/1", "https://api.example.com", false},
	    {"http://api.example.com/cdn/purges/1", "https://api.example.com", false},
	    {"https://user@api.example.com/x", "https://api.example.com", false},
	    {"https://api.example.com:443@evil.net/x", "https://api.example.com", false},
	    {"https://api.example.com/cdn/../_admin", "https://api.example.com", false},
	    {"https://api.example.com/cdn/%2e%2E/_admin", "https://api.example.com", false},
	    {"https://api.example.com/cdn/.", "https://api.example.com", false},
	    {".evil.net/cdn/purges/1", "https://api.example.com", false},
	    {"/cdn/purges/1", "https://api.example.com", false},
	    {"ftp://api.example.com/x", "ftp://api.example.com", false},
	    {"https://api.example.com/a.b/..c/x", "https://api.example.com", true},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++)
		if (http_url_on_origin(cases[i].url, cases[i].base) != cases[i].ok)
			fail_msg("%s on %s: want %d", cases[i].url, cases[i].base, cases[i].ok);
}

/* libcurl's timer as a due time: -1 stays none, 0 is now, a positive one a ms later than
 * asked (libcurl truncates; an early wake-up would find nothing due and never be re-armed). */
static void test_http__timer_at(void **state)
{
	(void)state;
	static const struct {
		int64_t now;
		long timeout;
		int64_t at;
	} cases[] = {
	    {1000, -1, -1}, {1000, 0, 1000}, {1000, 1, 1002}, {1000, 59999, 61000}, {0, 5, 6},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(http_timer_at(cases[i].now, cases[i].timeout), cases[i].at);
	}
}

/* The event loop sleeps until the earliest of its three deadlines, capped, never negative. */
static void test_http__wait_ms(void **state)
{
	(void)state;
	static const struct {
		int64_t now, next, timer, tick;
		int cap, want;
	} cases[] = {
	    /* nothing pending: the cap */
	    {1000, -1, -1, -1, 1000, 1000},
	    {1000, -1, -1, -1, 100, 100},
	    /* each deadline alone */
	    {1000, 30, -1, -1, 1000, 30},
	    {1000, -1, 1250, -1, 1000, 250},
	    {1000, -1, -1, 1100, 1000, 100},
	    /* the earliest wins */
	    {1000, 30, 1020, 1100, 1000, 20},
	    {1000, 5, 1020, 1100, 1000, 5},
	    {1000, 500, 1400, 1050, 1000, 50},
	    /* past the cap: the cap */
	    {1000, 5000, 9000, -1, 1000, 1000},
	    /* due or overdue: no sleep */
	    {1000, 0, -1, -1, 1000, 0},
	    {1000, -1, 1000, -1, 1000, 0},
	    {1000, -1, 990, -1, 1000, 0},
	    {1000, -1, -1, 900, 100, 0},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(http_wait_ms(cases[i].now, cases[i].next, cases[i].timer,
					      cases[i].tick, cases[i].cap),
				 cases[i].want);
	}
}

/* Only a retry-safe GET without body, CA file or connect-to keeps its handle's options. */
static void test_http__plain_get(void **state)
{
	(void)state;
	static const struct {
		const char *method;
		enum http_retry retry;
		bool body, ca, connect_to;
		bool plain;
	} cases[] = {
	    {"GET", HTTP_RETRY_SAFE, false, false, false, true},
	    {"get", HTTP_RETRY_SAFE, false, false, false, true},
	    {"GET", HTTP_RETRY_UNSAFE, false, false, false, false},
	    {"GET", HTTP_RETRY_NEVER, false, false, false, false},
	    {"GET", HTTP_RETRY_SAFE, true, false, false, false},
	    {"GET", HTTP_RETRY_SAFE, false, true, false, false},
	    {"GET", HTTP_RETRY_SAFE, false, false, true, false},
	    {"HEAD", HTTP_RETRY_SAFE, false, false, false, false},
	    {"PUT", HTTP_RETRY_SAFE, true, false, false, false},
	    {"PATCH", HTTP_RETRY_SAFE, true, false, false, false},
	    {"POST", HTTP_RETRY_UNSAFE, true, false, false, false},
	    {"DELETE", HTTP_RETRY_SAFE, false, false, false, false},
	    {"GETX", HTTP_RETRY_SAFE, false, false, false, false},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct http_req r;
		print_message("case %zu: %s\n", i, cases[i].method);
		http_req_init(&r, cases[i].method, "https://api.example.com/x", "plain");
		r.retry = cases[i].retry;
		if (cases[i].body)
			http_req_body(&r, strdup("{}"), 2);
		r.ca_file = cases[i].ca ? "/etc/ssl/ca.pem" : NULL;
		r.connect_to = cases[i].connect_to ? "127.0.0.1:8443" : NULL;
		assert_int_equal(http_req_plain_get(&r), cases[i].plain);
		http_req_release(&r);
	}
}

/* ---- the loopback server ---- */

#define SRV_LOG_MAX    256
#define SRV_LARGE_BODY ((size_t)1100 << 10) /* past curl's 1 MiB Expect threshold */
#define SRV_BUF	       ((size_t)2 << 20)

struct srv_shared {
	int seq;		   /* requests received */
	int nconn;		   /* connections accepted */
	char log[SRV_LOG_MAX][96]; /* "METHOD /path" in arrival order */
	int flaky, ratelimit;	   /* per-route counters */
};

struct srv {
	pid_t pid;
	int port;
	struct srv_shared *sh;
};

static struct srv g_srv;

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			_exit(0);
		p += w;
		n -= (size_t)w;
	}
}

static void reply(int fd, int status, const char *extra, const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n",
			 status, len, extra ? extra : "");
	send_all(fd, head, (size_t)n);
	send_all(fd, body, len);
}

/* Reads one request into buf; returns its total length (head + body) or 0 at EOF. */
static size_t read_request(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	char *end;
	for (;;) {
		buf[n] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")))
			break;
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			return 0;
		n += (size_t)r;
	}
	size_t head = (size_t)(end + 4 - buf), clen = 0;
	const char *cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl && cl < end)
		clen = strtoul(cl + 17, NULL, 10);
	while (n < head + clen && n < cap - 1) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			return 0;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

static void route(int fd, const char *req, size_t len, struct srv_shared *sh)
{
	char method[16] = "", path[64] = "";
	sscanf(req, "%15s %63s", method, path);
	int seq = __sync_fetch_and_add(&sh->seq, 1);
	if (seq < SRV_LOG_MAX)
		snprintf(sh->log[seq], sizeof(sh->log[seq]), "%s %s", method, path);
	static char big[200000];
	if (strncmp(path, "/flaky", 6) == 0 && __sync_fetch_and_add(&sh->flaky, 1) == 0)
		reply(fd, 503, "Retry-After: 1\r\n", "busy", 4);
	else if (strncmp(path, "/ratelimit", 10) == 0 &&
		 __sync_fetch_and_add(&sh->ratelimit, 1) == 0)
		reply(fd, 429, "x-rate-limit-retry-after-seconds: 2\r\n", "", 0);
	else if (strcmp(path, "/always503") == 0)
		reply(fd, 503, NULL, "down", 4);
	else if (strcmp(path, "/always500") == 0)
		reply(fd, 500, NULL, "oops", 4);
	else if (strcmp(path, "/big") == 0)
		reply(fd, 200, NULL, big, sizeof(big));
	else if (strcmp(path, "/bigclose") == 0) {
		/* no Content-Length: only the running byte count can stop it */
		const char *h = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
		send_all(fd, h, strlen(h));
		send_all(fd, big, sizeof(big));
		_exit(0);
	} else if (strcmp(path, "/slow") == 0) {
		usleep(1500 * 1000);
		reply(fd, 200, NULL, "late", 4);
	} else if (strcmp(path, "/sleep200") == 0) {
		usleep(200 * 1000);
		reply(fd, 200, NULL, "ok", 2);
	} else if (strcmp(path, "/token") == 0) {
		const char *b = "{\"token_type\":\"Bearer\",\"access_token\":\"TOKENVALUE42\"}";
		reply(fd, 200, "Content-Type: application/json\r\n", b, strlen(b));
	} else {
		/* echo: the whole request, so tests can see what was sent */
		reply(fd, 200, "X-Echo: 1\r\n", req, len);
	}
}

static void serve_conn(int fd, struct srv_shared *sh)
{
	char *buf = malloc(SRV_BUF);
	size_t n;
	while ((n = read_request(fd, buf, SRV_BUF)) > 0)
		route(fd, buf, n, sh);
	_exit(0);
}

static int srv_start(void **state)
{
	(void)state;
	g_srv.sh = mmap(NULL, sizeof(*g_srv.sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			-1, 0);
	if (g_srv.sh == MAP_FAILED)
		return -1;
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 64) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) < 0)
		return -1;
	g_srv.port = ntohs(a.sin_port);
	g_srv.pid = fork();
	if (g_srv.pid < 0)
		return -1;
	if (g_srv.pid == 0) {
		setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN); /* connection handlers reap themselves */
		for (;;) {
			int fd = accept(ls, NULL, NULL);
			if (fd < 0)
				continue;
			__sync_fetch_and_add(&g_srv.sh->nconn, 1);
			if (fork() == 0) {
				close(ls);
				serve_conn(fd, g_srv.sh);
			}
			close(fd);
		}
	}
	setpgid(g_srv.pid, g_srv.pid);
	close(ls);
	setenv("CACHEFORM_RETRY_SCALE", "0.05", 1);
	unsetenv("CACHEFORM_DEBUG");
	return 0;
}

static int srv_stop(void **state)
{
	(void)state;
	kill(-g_srv.pid, SIGKILL);
	kill(g_srv.pid, SIGKILL);
	waitpid(g_srv.pid, NULL, 0);
	munmap(g_srv.sh, sizeof(*g_srv.sh));
	return 0;
}

static void srv_reset(void)
{
	memset(g_srv.sh, 0, sizeof(*g_srv.sh));
}

static char *url(const char *path)
{
	struct sb sb;
	sb_init(&sb, 0);
	sb_addf(&sb, "http://127.0.0.1:%d%s", g_srv.port, path);
	return sb_detach(&sb);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void req_at(struct http_req *r, const char *method, const char *path, enum http_retry retry)
{
	char *u = url(path);
	http_req_init(r, method, u, path);
	r->retry = retry;
	free(u);
}

static void batch_release(struct http_req *reqs, struct http_resp *resps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		http_req_release(&reqs[i]);
		http_resp_release(&resps[i]);
	}
}

/* Counts calls and stamps the attempt number, as a signer stamps a fresh date. */
static int count_sign(void *ctx, struct http_req *req, struct cf_err *e)
{
	(void)e;
	int *calls = ctx;
	char v[16];
	snprintf(v, sizeof(v), "%d", ++*calls);
	http_req_set_header(req, "X-Attempt", v);
	return 0;
}

static void test_http__basic_and_reuse(void **state)
{
	(void)state;
	struct http_opts o = {.parallelism = 1, .max_retries = 5};
	struct http_client *c = http_new(&o);
	srv_reset();
	for (int round = 0; round < 2; round++) {
		struct http_req reqs[5];
		struct http_resp resps[5];
		for (int i = 0; i < 5; i++) {
			req_at(&reqs[i], i % 2 ? "PUT" : "GET", "/echo", S);
			http_req_header(&reqs[i], "Content-Type", "application/json");
			if (i % 2)
				http_req_body(&reqs[i], strdup("{\"a\":1}"), 7);
		}
		/* a body large enough that curl would otherwise ask "Expect: 100-continue" */
		char *large = malloc(SRV_LARGE_BODY + 1);
		memset(large, 'x', SRV_LARGE_BODY);
		large[SRV_LARGE_BODY] = '\0';
		http_req_body(&reqs[4], large, SRV_LARGE_BODY);
		free(reqs[4].method);
		reqs[4].method = strdup("POST");
		assert_int_equal(http_run(c, reqs, resps, 5), 0);
		for (int i = 0; i < 5; i++) {
			assert_int_equal(resps[i].rc, 0);
			assert_int_equal(resps[i].status, 200);
			assert_int_equal(resps[i].attempts, 1);
			assert_string_equal(http_resp_header(&resps[i], "X-ECHO"), "1");
			assert_non_null(strstr(resps[i].body, i == 4  ? "POST /echo"
							      : i % 2 ? "PUT /echo"
								      : "GET /echo"));
			assert_null(strstr(resps[i].body, "Expect"));
			if (i % 2)
				assert_non_null(strstr(resps[i].body, "\r\n\r\n{\"a\":1}"));
		}
		batch_release(reqs, resps, 5);
	}
	/* ten requests over two batches on one kept-alive connection */
	assert_int_equal(g_srv.sh->seq, 10);
	assert_int_equal(g_srv.sh->nconn, 1);
	http_free(c);
}

/* Counts the lines of the request head that start with name (followed by ':'). */
static int head_lines(const char *req, const char *name)
{
	int n = 0;
	size_t len = strlen(name);
	const char *end = strstr(req, "\r\n\r\n");
	for (const char *p = strstr(req, "\r\n"); p && (!end || p < end); p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, len) == 0 && p[2 + len] == ':')
			n++;
	return n;
}

/*
 * User-Agent and Accept-Encoding are our header lines (libcurl formatted its own for every
 * request): each is sent once, where libcurl put its own (after Host), and a request naming
 * its own keeps only that one.
 */
static void test_http__identity_headers(void **state)
{
	(void)state;
	static const struct {
		const char *method, *own_ua, *own_ae;
		const char *ua_prefix, *ae; /* what is sent */
	} cases[] = {
	    {"GET", NULL, NULL, "User-Agent: cacheform/", "Accept-Encoding: "},
	    {"PUT", NULL, NULL, "User-Agent: cacheform/", "Accept-Encoding: "},
	    {"GET", "probe/1", NULL, "User-Agent: probe/1\r\n", "Accept-Encoding: "},
	    {"GET", NULL, "identity", "User-Agent: cacheform/", "Accept-Encoding: identity\r\n"},
	};
	struct http_opts o = {.parallelism = 1};
	struct http_client *c = http_new(&o);
	srv_reset();
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		struct http_req req;
		struct http_resp resp;
		req_at(&req, cases[i].method, "/echo", S);
		if (cases[i].own_ua)
			http_req_header(&req, "User-Agent", cases[i].own_ua);
		if (cases[i].own_ae)
			http_req_header(&req, "Accept-Encoding", cases[i].own_ae);
		assert_int_equal(http_run(c, &req, &resp, 1), 0);
		assert_int_equal(resp.status, 200);
		assert_int_equal(head_lines(resp.body, "User-Agent"), 1);
		assert_int_equal(head_lines(resp.body, "Accept-Encoding"), 1);
		const char *host = strstr(resp.body, "\r\nHost: ");
		const char *ua = strstr(resp.body, cases[i].ua_prefix);
		const char *ae = strstr(resp.body, cases[i].ae);
		assert_non_null(host);
		assert_non_null(ua);
		assert_non_null(ae);
		if (!cases[i].own_ua && !cases[i].own_ae)
			assert_true(host < ua && ua < ae); /* libcurl's own order */
		http_req_release(&req);
		http_resp_release(&resp);
	}
	http_free(c);
}

/*
 * One handle goes from read to read without a reset; nothing of a write may stay on it. At
 * parallelism 1 every request takes the same handle: reads after a POST are still GETs
 * without a body, and the POST's fresh, closed connection is not theirs too.
 */
static void test_http__handle_reuse_kinds(void **state)
{
	(void)state;
	struct http_opts o = {.parallelism = 1};
	struct http_client *c = http_new(&o);
	static const struct {
		const char *method;
		enum http_retry retry;
	} seq[] = {{"GET", S}, {"GET", S}, {"POST", U}, {"GET", S},
		   {"PUT", S}, {"GET", S}, {"GET", S}};
	enum { NSEQ = CF_ARRAY_LEN(seq) };
	struct http_req reqs[NSEQ];
	struct http_resp resps[NSEQ];
	srv_reset();
	for (size_t i = 0; i < NSEQ; i++) {
		req_at(&reqs[i], seq[i].method, "/echo", seq[i].retry);
		if (strcmp(seq[i].method, "GET") != 0)
			http_req_body(&reqs[i], strdup("{\"w\":1}"), 7);
	}
	assert_int_equal(http_run(c, reqs, resps, NSEQ), 0);
	for (size_t i = 0; i < NSEQ; i++) {
		char line[32];
		print_message("request %zu: %s\n", i, seq[i].method);
		assert_int_equal(resps[i].status, 200);
		snprintf(line, sizeof(line), "%s /echo HTTP/1.1\r\n", seq[i].method);
		assert_memory_equal(resps[i].body, line, strlen(line));
		if (strcmp(seq[i].method, "GET") == 0) {
			assert_null(strcasestr(resps[i].body, "Content-Length"));
			assert_null(strstr(resps[i].body, "{\"w\":1}"));
		} else {
			assert_non_null(strstr(resps[i].body, "\r\n\r\n{\"w\":1}"));
		}
	}
	/* the POST on a connection of its own, closed after it (and, the connection limit being
	 * 1, the first reads' connection closed for it); everything after it shares one */
	assert_int_equal(g_srv.sh->seq, NSEQ);
	assert_int_equal(g_srv.sh->nconn, 3);
	batch_release(reqs, resps, NSEQ);
	http_free(c);
}

static void test_http__retry_then_success(void **state)
{
	(void)state;
	struct http_opts o = {.parallelism = 1, .max_retries = 5};
	struct http_client *c = http_new(&o);
	struct http_req reqs[2];
	struct http_resp resps[2];
	int calls = 0;
	srv_reset();
	/* 503 with Retry-After: 1 (50 ms at scale 0.05); a POST purge may retry a 503 */
	req_at(&reqs[0], "POST", "/flaky", U);
	reqs[0].sign = count_sign;
	reqs[0].sign_ctx = &calls;
	req_at(&reqs[1], "GET", "/echo", S);
	int64_t t0 = mono_ms();
	assert_int_equal(http_run(c, reqs, resps, 2), 0);
	int64_t el = mono_ms() - t0;
	assert_int_equal(resps[0].status, 200);
	assert_int_equal(resps[0].attempts, 2);
	assert_int_equal(calls, 2); /* signed again before the second attempt */
	assert_non_null(strstr(resps[0].body, "X-Attempt: 2"));
	assert_true(el >= 50);
	/* with one slot, the other request ran while the first waited for its retry */
	assert_string_equal(g_srv.sh->log[0], "POST /flaky");
	assert_string_equal(g_srv.sh->log[1], "GET /echo");
	assert_string_equal(g_srv.sh->log[2], "POST /flaky");
	batch_release(reqs, resps, 2);

	/* x-rate-limit-retry-after-seconds: 2 -> at least 100 ms at scale 0.05 */
	srv_reset();
	req_at(&reqs[0], "GET", "/ratelimit", S);
	t0 = mono_ms();
	assert_int_equal(http_run(c, reqs, resps, 1), 0);
	el = mono_ms() - t0;
	assert_int_equal(resps[0].status, 200);
	assert_int_equal(resps[0].attempts, 2);
	assert_true(el >= 100);
	batch_release(reqs, resps, 1);
	http_free(c);
}

static void test_http__unsafe_not_retried(void **state)
{
	(void)state;
	struct http_opts o = {.parallelism = 4, .max_retries = 3};
	struct http_client *c = http_new(&o);
	struct http_req reqs[3];
	struct http_resp resps[3];
	srv_reset();
	req_at(&reqs[0], "POST", "/always500", U); /* may have been accepted: once */
	req_at(&reqs[1], "POST", "/always503", U); /* provably refused: budget */
	req_at(&reqs[2], "GET", "/always500", S);
	assert_int_equal(http_run(c, reqs, resps, 3), 0);
	assert_int_equal(resps[0].status, 500);
	assert_int_equal(resps[0].attempts, 1);
	assert_int_equal(resps[1].status, 503);
	assert_int_equal(resps[1].attempts, 4);
	assert_int_equal(resps[2].status, 500);
	assert_int_equal(resps[2].attempts, 4);
	assert_string_equal(resps[2].body, "oops");
	assert_int_equal(g_srv.sh->seq, 9);
	batch_release(reqs, resps, 3);
	http_free(c);
}

static void test_http__limits_and_timeouts(void **state)
{
	(void)state;
	struct http_opts o = {.parallelism = 4, .max_retries = 2, .max_body = 1000};
	struct http_client *c = http_new(&o);
	struct http_req reqs[3];
	struct http_resp resps[3];
	srv_reset();
	req_at(&reqs[0], "GET", "/big", S);
	req_at(&reqs[1], "GET", "/bigclose", S);
	req_at(&reqs[2], "GET", "/slow", N);
	reqs[2].timeout_ms = 300;
	int64_t t0 = mono_ms();
	assert_int_equal(http_run(c, reqs, resps, 3), CF_ELIMIT);
	int64_t el = mono_ms() - t0;
	assert_int_equal(resps[0].rc, CF_ELIMIT);
	assert_int_equal(resps[0].attempts, 1); /* a size cap is not retried */
	assert_non_null(strstr(resps[0].err.msg, "larger than 1000 bytes"));
	assert_int_equal(resps[1].rc, CF_ELIMIT);
	assert_true(resps[1].body_len <= 1000);
	assert_int_equal(resps[2].rc, CF_ETIMEOUT);
	assert_non_null(strstr(resps[2].err.msg, "/slow"));
	assert_true(el >= 300 && el < 1400); /* /slow answers at 1500 ms */
	batch_release(reqs, resps, 3);
	http_free(c);
}

static void test_http__refusals(void **state)
{
	(void)state;
	struct http_client *c = http_new(NULL);
	struct http_req reqs[5];
	struct http_resp resps[5];
	srv_reset();
	http_req_init(&reqs[0], "GET", "http://example.com/x", "endpoint 'www': read");
	http_req_init(&reqs[1], "GET", "ftp://127.0.0.1/x", "ftp");
	http_req_init(&reqs[2], "GET", "https://user:pw@127.0.0.1/x", "userinfo");
	req_at(&reqs[3], "GET", "/echo", S);
	http_req_header(&reqs[3], "X-Injected", "a\r\nX-Evil: 1");
	req_at(&reqs[4], "GET", "/echo", S);
	assert_int_equal(http_run(c, reqs, resps, 5), CF_EINVAL);
	assert_int_equal(resps[0].rc, CF_EINVAL);
	assert_int_equal(resps[0].attempts, 0);
	assert_string_equal(resps[0].err.msg, "endpoint 'www': read: refusing plain http to "
					      "'example.com'; only loopback hosts may use http://");
	assert_int_equal(resps[1].rc, CF_EINVAL);
	assert_int_equal(resps[2].rc, CF_EINVAL);
	assert_null(strstr(resps[2].err.msg, "pw"));
	assert_int_equal(resps[3].rc, CF_EINVAL);
	assert_non_null(strstr(resps[3].err.msg, "X-Injected"));
	assert_int_equal(resps[4].rc, 0);
	assert_int_equal(g_srv.sh->seq, 1); /* only the good request reached the server */
	batch_release(reqs, resps, 5);
	http_free(c);
}

static void test_http__connection_refused(void **state)
{
	(void)state;
	/* a port that was just free: connecting is refused, so even a purge may retry */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	char u[64];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/purges", ntohs(a.sin_port));
	struct http_opts o = {.parallelism = 2, .max_retries = 3};
	struct http_client *c = http_new(&o);
	struct http_req reqs[2];
	struct http_resp resps[2];
	http_req_init(&reqs[0], "POST", u, "purge 'p1'");
	http_req_init(&reqs[1], "POST", u, "purge 'p2'");
	reqs[1].retry = N;
	assert_int_equal(http_run(c, reqs, resps, 2), CF_ENET);
	assert_int_equal(resps[0].rc, CF_ENET);
	assert_int_equal(resps[0].attempts, 4);
	assert_non_null(strstr(resps[0].err.msg, "purge 'p1'"));
	assert_non_null(strstr(resps[0].err.msg, "4 attempts"));
	assert_int_equal(resps[1].attempts, 1);
	batch_release(reqs, resps, 2);
	http_free(c);
}

/* ---- a fed run (http_run_fed): requests built as slots free up, within a window ---- */

struct fed_case {
	size_t n;
	unsigned parallelism;
	size_t window;	      /* asked for (0: the default) */
	size_t window_eff;    /* what the run must keep to */
	size_t skip_mod;      /* k % skip_mod == skip_mod - 1 is skipped (0: none) */
	size_t refuse_at;     /* this k gets a URL http_run refuses ((size_t)-1: none) */
	const char *path;     /* every request's path, "/fed" + k appended */
	const char *bucket_a; /* even k go through bucket "a" (600/min, burst 1), or NULL */
};

struct fed_state {
	const struct fed_case *fc;
	size_t next_k;	  /* the k feed must be asked for next */
	size_t fed, done; /* requests fed (not skipped) and requests done */
	size_t max_live;  /* most fed and not done at a feed */
	unsigned char seen[64];
	int rc[64];
	long status[64];
	unsigned attempts;
};

static bool fed_skip(const struct fed_case *fc, size_t k)
{
	return fc->skip_mod && k % fc->skip_mod == fc->skip_mod - 1;
}

static bool fed_feed(size_t k, struct http_req *req, void *arg)
{
	struct fed_state *st = arg;
	char path[64];
	assert_int_equal(k, st->next_k); /* in order, each k once */
	st->next_k++;
	if (fed_skip(st->fc, k)) {
		req_at(req, "GET", "/not-sent", S); /* whatever was put in is released */
		return false;
	}
	snprintf(path, sizeof(path), "%s/%zu", st->fc->path, k);
	if (k == st->fc->refuse_at) {
		http_req_init(req, "GET", "ftp://127.0.0.1/x", path);
	} else {
		req_at(req, "GET", path, S);
		if (st->fc->bucket_a && k % 2 == 0)
			req->bucket = "a";
	}
	st->fed++;
	if (st->fed - st->done > st->max_live)
		st->max_live = st->fed - st->done;
	return true;
}

static void fed_done(size_t k, struct http_resp *resp, void *arg)
{
	struct fed_state *st = arg;
	assert_true(k < st->fc->n && !fed_skip(st->fc, k));
	st->seen[k]++;
	st->done++;
	st->rc[k] = resp->rc;
	st->status[k] = resp->status;
	st->attempts += resp->attempts;
	if (resp->rc == 0) {
		/* the echo server quotes the request: the answer is k's own */
		char line[64];
		snprintf(line, sizeof(line), "GET %s/%zu HTTP", st->fc->path, k);
		assert_non_null(resp->body);
		assert_non_null(strstr(resp->body, line));
	}
	http_resp_release(resp); /* allowed; the run releases it again */
}

static const struct fed_case fed_cases[] = {
    {0, 2, 0, 8, 0, (size_t)-1, "/echo", NULL},	 {1, 1, 1, 1, 0, (size_t)-1, "/echo", NULL},
    {12, 3, 4, 4, 5, (size_t)-1, "/echo", NULL}, {20, 4, 0, 16, 0, 7, "/echo", NULL},
    {9, 4, 2, 4, 3, (size_t)-1, "/echo", NULL},	 /* a window under the parallelism is raised */
    {6, 2, 3, 3, 0, (size_t)-1, "/flaky", NULL}, /* one 503, retried, within the window */
    {8, 4, 8, 8, 0, (size_t)-1, "/echo", "a"},	 /* odd k need no token: not held up */
    {40, 8, 10, 10, 4, 13, "/echo", NULL},
};

static void test_http__fed_window(void **state)
{
	(void)state;
	for (size_t c = 0; c < CF_ARRAY_LEN(fed_cases); c++) {
		const struct fed_case *fc = &fed_cases[c];
		struct http_opts o = {.parallelism = fc->parallelism};
		struct http_client *cl = http_new(&o);
		struct fed_state st;
		memset(&st, 0, sizeof(st));
		st.fc = fc;
		srv_reset();
		if (fc->bucket_a)
			http_bucket(cl, "a", 600, 1);
		int rc = http_run_fed(cl, fc->n, fc->window, fed_feed, fed_done, &st);
		size_t want_sent = 0;
		for (size_t k = 0; k < fc->n; k++) {
			if (fed_skip(fc, k)) {
				assert_int_equal(st.seen[k], 0);
				continue;
			}
			want_sent++;
			if (st.seen[k] != 1)
				fail_msg("case %zu: request %zu done %u times", c, k, st.seen[k]);
			if (k == fc->refuse_at) {
				assert_int_equal(st.rc[k], CF_EINVAL);
			} else {
				assert_int_equal(st.rc[k], 0);
				assert_int_equal(st.status[k], 200);
			}
		}
		assert_int_equal(st.next_k, fc->n);
		assert_int_equal(st.fed, want_sent);
		assert_int_equal(st.done, want_sent);
		if (st.max_live > fc->window_eff)
			fail_msg("case %zu: %zu requests live, window %zu", c, st.max_live,
				 fc->window_eff);
		assert_int_equal(rc, fc->refuse_at < fc->n ? CF_EINVAL : 0);
		/* only the refused one never reached the server; /flaky's first try is repeated */
		int want_seq = (int)(want_sent - (fc->refuse_at < fc->n)) +
			       (strcmp(fc->path, "/flaky") == 0 && fc->n > 0);
		assert_int_equal(g_srv.sh->seq, want_seq);
		if (fc->bucket_a) {
			/* the last odd k (no bucket) went before the last even one (a token each
			 * 100 ms): the dry bucket held back only its own requests */
			int last_odd = -1, last_even = -1;
			for (int i = 0; i < g_srv.sh->seq; i++) {
				size_t k = strtoul(strrchr(g_srv.sh->log[i], '/') + 1, NULL, 10);
				*(k % 2 ? &last_odd : &last_even) = i;
			}
			assert_true(last_odd >= 0 && last_odd < last_even);
		}
		http_free(cl);
	}
}

static void test_http__parallel_and_bucket(void **state)
{
	(void)state;
	struct http_opts o = {.parallelism = 8};
	struct http_client *c = http_new(&o);
	struct http_req reqs[8];
	struct http_resp resps[8];
	srv_reset();
	for (int i = 0; i < 8; i++)
		req_at(&reqs[i], "GET", "/sleep200", S);
	int64_t t0 = mono_ms();
	assert_int_equal(http_run(c, reqs, resps, 8), 0);
	int64_t par8 = mono_ms() - t0;
	batch_release(reqs, resps, 8);
	print_message("8 x 200 ms requests at parallelism 8: %lld ms\n", (long long)par8);
	assert_true(par8 < 1000); /* one at a time would take 1600 ms */

	/* bucket: 600/min, burst 1 -> one token per 100 ms for account "a"; "b" is unlimited */
	srv_reset();
	http_bucket(c, "a", 600, 1);
	for (int i = 0; i < 3; i++) {
		req_at(&reqs[i], "GET", "/echo?a", S);
		reqs[i].bucket = "a";
	}
	req_at(&reqs[3], "GET", "/echo?b", S);
	reqs[3].bucket = "b";
	t0 = mono_ms();
	assert_int_equal(http_run(c, reqs, resps, 4), 0);
	int64_t el = mono_ms() - t0;
	print_message("3 requests through a 600/min burst-1 bucket: %lld ms\n", (long long)el);
	assert_true(el >= 200 && el < 1200);
	/* the unlimited account went while "a" waited for tokens */
	int pos_b = -1, pos_a2 = -1, na = 0;
	for (int i = 0; i < g_srv.sh->seq; i++) {
		if (strcmp(g_srv.sh->log[i], "GET /echo?b") == 0)
			pos_b = i;
		else if (++na == 2)
			pos_a2 = i;
	}
	assert_true(pos_b >= 0 && pos_a2 > pos_b);
	batch_release(reqs, resps, 4);
	http_free(c);
}

/* Starts `openssl s_server` on a free loopback port with a fresh self-signed certificate
 * for 127.0.0.1; returns its pid, or -1 when the openssl tool is not there. */
static pid_t tls_server_start(const char *dir, int *port)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		 "-keyout %s/k.pem -out %s/c.pem -days 1 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
		 dir, dir);
	if (system(cmd) != 0)
		return -1;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	*port = ntohs(a.sin_port);
	pid_t pid = fork();
	if (pid == 0) {
		char acc[16], cert[256], key[256];
		snprintf(acc, sizeof(acc), "%d", *port);
		snprintf(cert, sizeof(cert), "%s/c.pem", dir);
		snprintf(key, sizeof(key), "%s/k.pem", dir);
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execlp("openssl", "openssl", "s_server", "-accept", acc, "-cert", cert, "-key", key,
		       "-www", "-quiet", (char *)NULL);
		_exit(127);
	}
	/* ready when it accepts a connection */
	for (int i = 0; i < 100; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		int ok = connect(c, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(c);
		if (ok)
			return pid;
		usleep(20 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void test_http__tls_verification(void **state)
{
	(void)state;
	char dir[] = "/tmp/cf-tls-XXXXXX", u[64], ca[64];
	int port = 0;
	assert_non_null(mkdtemp(dir));
	pid_t pid = tls_server_start(dir, &port);
	if (pid < 0)
		skip();
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/", port);
	snprintf(ca, sizeof(ca), "%s/c.pem", dir);
	struct http_client *c = http_new(NULL);
	struct http_req reqs[2];
	struct http_resp resps[2];
	http_req_init(&reqs[0], "GET", u, "self-signed");
	http_req_init(&reqs[1], "GET", u, "trusted");
	reqs[1].ca_file = ca;
	int rc = http_run(c, reqs, resps, 2);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	snprintf(u, sizeof(u), "rm -rf '%s'", dir);
	assert_int_equal(system(u), 0);
	/* an untrusted certificate fails at once: retrying cannot make it trusted */
	assert_int_equal(rc, CF_ENET);
	assert_int_equal(resps[0].rc, CF_ENET);
	assert_int_equal(resps[0].attempts, 1);
	assert_non_null(strstr(resps[0].err.msg, "self-signed: "));
	assert_int_equal(resps[1].rc, 0);
	assert_int_equal(resps[1].status, 200);
	batch_release(reqs, resps, 2);
	http_free(c);
}

/* Runs one batch with stderr captured into a string (caller frees). */
static char *run_traced(struct http_client *c, struct http_req *reqs, struct http_resp *resps,
			size_t n)
{
	char path[] = "/tmp/cf-trace-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	int rc = http_run(c, reqs, resps, n);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(rc, 0);
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = calloc(1, (size_t)len + 1);
	assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
	close(fd);
	unlink(path);
	return buf;
}

static int bearer_sign(void *ctx, struct http_req *req, struct cf_err *e)
{
	(void)ctx;
	(void)e;
	http_req_set_header(req, "Authorization", "Bearer SECRETBEARER99");
	return 0;
}

static void test_http__debug_trace_redacted(void **state)
{
	(void)state;
	struct http_opts o = {.parallelism = 2, .debug = true};
	struct http_client *c = http_new(&o);
	struct http_req reqs[2];
	struct http_resp resps[2];
	const char *form = "client_id=app&client_secret=FORMSECRET77&grant_type=client_credentials";
	req_at(&reqs[0], "POST", "/echo", S);
	reqs[0].sign = bearer_sign;
	http_req_header(&reqs[0], "Content-Type", "application/x-www-form-urlencoded");
	http_req_body(&reqs[0], strdup(form), strlen(form));
	req_at(&reqs[1], "POST", "/token", S);
	char *t = run_traced(c, reqs, resps, 2);
	/* the echo really carried the secrets, and the trace shows none of them */
	assert_non_null(strstr(resps[0].body, "SECRETBEARER99"));
	assert_non_null(strstr(resps[1].body, "TOKENVALUE42"));
	assert_non_null(strstr(t, "> POST http://127.0.0.1:"));
	assert_non_null(strstr(t, "> Authorization: Bearer <redacted>"));
	assert_non_null(strstr(t, "client_secret=<redacted>"));
	assert_non_null(strstr(t, "\"access_token\":\"<redacted>\""));
	assert_non_null(strstr(t, "< x-echo: 1"));
	assert_null(strstr(t, "SECRETBEARER99"));
	assert_null(strstr(t, "FORMSECRET77"));
	assert_null(strstr(t, "TOKENVALUE42"));
	free(t);
	batch_release(reqs, resps, 2);
	http_free(c);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
	    cmocka_unit_test(test_http__retry_decide),
	    cmocka_unit_test(test_http__retry_backoff_cap_and_scale),
	    cmocka_unit_test(test_http__retry_after_parse),
	    cmocka_unit_test(test_http__token_bucket),
	    cmocka_unit_test(test_http__token_bucket_vs_provider),
	    cmocka_unit_test(test_http__loopback),
	    cmocka_unit_test(test_http__url_on_origin),
	    cmocka_unit_test(test_http__timer_at),
	    cmocka_unit_test(test_http__wait_ms),
	    cmocka_unit_test(test_http__plain_get),
	};
	const struct CMUnitTest live[] = {
	    cmocka_unit_test(test_http__basic_and_reuse),
	    cmocka_unit_test(test_http__identity_headers),
	    cmocka_unit_test(test_http__handle_reuse_kinds),
	    cmocka_unit_test(test_http__retry_then_success),
	    cmocka_unit_test(test_http__unsafe_not_retried),
	    cmocka_unit_test(test_http__limits_and_timeouts),
	    cmocka_unit_test(test_http__refusals),
	    cmocka_unit_test(test_http__connection_refused),
	    cmocka_unit_test(test_http__parallel_and_bucket),
	    cmocka_unit_test(test_http__fed_window),
	    cmocka_unit_test(test_http__debug_trace_redacted),
	    cmocka_unit_test(test_http__tls_verification),
	};
	int failed = cmocka_run_group_tests_name("policy", pure, NULL, NULL);
	failed += cmocka_run_group_tests_name("live", live, srv_start, srv_stop);
	return failed;
}
