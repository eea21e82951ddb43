/*
 * Transport policy of the HTTP module as pure functions (SPEC §6): which failed attempts are
 * repeated and after how long, and the per-account token bucket. No I/O and no clock of
 * their own, so tests can check every decision.
 */
#include "reconcile/base/compat.h"
#include "reconcile/http.h"

#include <strings.h>
#include <time.h>

#define HTTP_RETRY_BASE_MS	200
#define HTTP_RETRY_CAP_MS	30000
#define HTTP_RETRY_AFTER_MAX_MS 300000 /* a longer Retry-After is not waited for */
#define HTTP_SECONDS_DIGITS_MAX 9      /* delta-seconds beyond ~31 years are nonsense */
/*
 * The bucket runs a little behind the rate it is given, because the provider's own bucket
 * runs at exactly that rate on its clock: a client at the same rate lands within
 * milliseconds of the limit on every request after the burst and a few ms of network
 * jitter turn into 429s. TB_PACE_PCT below the rate buys 2% of one interval per request
 * (40 ms at cdnpro's 30/min), growing with every further request.
 */
#define TB_PACE_SCALE 100 /* units per token per (token per minute) */
#define TB_PACE_PCT   2
#define TB_UNIT	      (60000 * TB_PACE_SCALE) /* bucket units per token */
/*
 * After an idle spell both buckets are full, and the provider's starts refilling when it
 * handles our first request, up to one connection set-up later than we sent it (the first
 * request opens the connection; later ones reuse it and arrive sooner). So a refill after
 * an idle full bucket starts this much after the take that opened it.
 */
#define TB_START_LAG_MS 50

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/* Parses "12" or "1.5" seconds into ms; -1 when malformed. */
static int64_t seconds_ms(const char *v)
{
	size_t ip = strspn(v, "0123456789");
	if (ip == 0 || ip > HTTP_SECONDS_DIGITS_MAX)
		return -1;
	int64_t ms = strtoll(v, NULL, 10) * 1000;
	if (v[ip] == '\0')
		return ms;
	if (v[ip] != '.')
		return -1;
	const char *f = v + ip + 1;
	size_t fl = strlen(f);
	if (!is_digits(f, fl))
		return -1;
	int64_t scale = 100;
	for (size_t i = 0; i < fl && scale; i++, scale /= 10)
		ms += (f[i] - '0') * scale;
	return ms;
}

/*
 * Parses an IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT", RFC 9110 §5.6.7), the only form
 * servers may send. Returns 0 and sets *out, or -1.
 */
static int parse_imf_date(const char *s, time_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char wd[4], mon[4], zone[4], tail;
	struct tm tm = {0};
	if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3s%c", wd, &tm.tm_mday, mon,
		   &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, zone, &tail) != 8 ||
	    strcmp(zone, "GMT") != 0 || strlen(mon) != 3)
		return -1;
	const char *m = strstr(months, mon);
	if (!m || (m - months) % 3 != 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
		return -1;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year -= 1900;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

int64_t http_retry_after_ms(const char *value, time_t now)
{
	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	char buf[64];
	size_t n = strlen(value);
	while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, value, n);
	buf[n] = '\0';
	if (buf[0] >= '0' && buf[0] <= '9')
		return seconds_ms(buf);
	time_t t;
	if (parse_imf_date(buf, &t) < 0)
		return -1;
	return t <= now ? 0 : (int64_t)(t - now) * 1000;
}

static bool status_retryable(long st)
{
	return st == 408 || st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

/* Only these prove the provider did not take the request (SPEC §6). */
static bool unsafe_retryable(enum http_fail f, long st)
{
	if (f == HTTP_FAIL_CONNECT)
		return true;
	return f == HTTP_FAIL_NONE && (st == 429 || st == 503);
}

static bool policy_allows(const struct http_retry_in *in)
{
	switch (in->policy) {
	case HTTP_RETRY_NEVER:
		return false;
	case HTTP_RETRY_UNSAFE:
		return unsafe_retryable(in->fail, in->status);
	case HTTP_RETRY_SAFE:
		break;
	}
	if (in->fail == HTTP_FAIL_NONE)
		return status_retryable(in->status);
	return in->fail != HTTP_FAIL_FATAL;
}

bool http_retry_decide(const struct http_retry_in *in, int64_t *delay_ms)
{
	*delay_ms = 0;
	if (in->attempt >= in->max_attempts || !policy_allows(in))
		return false;
	int64_t backoff = HTTP_RETRY_BASE_MS;
	for (unsigned i = 1; i < in->attempt && backoff < HTTP_RETRY_CAP_MS; i++)
		backoff *= 2;
	if (backoff > HTTP_RETRY_CAP_MS)
		backoff = HTTP_RETRY_CAP_MS;
	/* "equal jitter": at least half the backoff, so retries still spread out */
	int64_t delay = backoff / 2 + (int64_t)(in->rnd % (uint32_t)(backoff / 2 + 1));
	int64_t asked = -1;
	if (in->fail == HTTP_FAIL_NONE) {
		int64_t a = http_retry_after_ms(in->retry_after, in->now);
		int64_t b = http_retry_after_ms(in->rate_retry_after, in->now);
		asked = a > b ? a : b;
	}
	if (asked > HTTP_RETRY_AFTER_MAX_MS)
		return false;
	if (asked >= 0)
		delay = asked + (int64_t)(in->rnd % (uint32_t)(asked / 10 + 1));
	double scaled = (double)delay * in->scale;
	*delay_ms = scaled < 0 ? 0 : (int64_t)scaled;
	return true;
}

void http_tb_init(struct http_tb *b, unsigned rate_per_minute, unsigned burst, int64_t now_ms_)
{
	b->rate = (int64_t)(rate_per_minute ? rate_per_minute : 1) * (TB_PACE_SCALE - TB_PACE_PCT);
	b->cap = (int64_t)(burst ? burst : 1) * TB_UNIT;
	b->level = b->cap;
	b->last_ms = now_ms_;
	b->full_ms = now_ms_ - TB_START_LAG_MS; /* idle from the start */
}

void http_tb_exact(struct http_tb *b, unsigned rate_per_minute)
{
	b->rate = (int64_t)(rate_per_minute ? rate_per_minute : 1) * TB_PACE_SCALE;
}

/* Adds what accrued since last_ms; notes when the bucket became full. */
static void tb_refill(struct http_tb *b, int64_t now)
{
	if (now <= b->last_ms)
		return;
	int64_t add = (now - b->last_ms) * b->rate;
	if (add >= b->cap - b->level) {
		if (b->level < b->cap)
			b->full_ms = b->last_ms + (b->cap - b->level + b->rate - 1) / b->rate;
		b->level = b->cap;
	} else {
		b->level += add;
	}
	b->last_ms = now;
}

int64_t http_tb_take(struct http_tb *b, int64_t now)
{
	tb_refill(b, now);
	if (b->level >= TB_UNIT) {
		/* a bucket full for a while (not just refilled by pacing) opens a burst */
		bool idle = b->level == b->cap && now - b->full_ms >= TB_START_LAG_MS;
		b->level -= TB_UNIT;
		if (idle && b->last_ms <= now)
			b->last_ms = now + TB_START_LAG_MS;
		return 0;
	}
	int64_t ahead = b->last_ms > now ? b->last_ms - now : 0;
	return ahead + (TB_UNIT - b->level + b->rate - 1) / b->rate;
}

int64_t http_timer_at(int64_t now, long timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	return now + timeout_ms + (timeout_ms > 0);
}

int http_wait_ms(int64_t now, int64_t next_ms, int64_t timer_at, int64_t tick_at, int cap_ms)
{
	int64_t w = cap_ms;
	if (next_ms >= 0 && next_ms < w)
		w = next_ms;
	if (timer_at >= 0 && timer_at - now < w)
		w = timer_at - now;
	if (tick_at >= 0 && tick_at - now < w)
		w = tick_at - now;
	return w < 0 ? 0 : (int)w;
}

bool http_req_plain_get(const struct http_req *r)
{
	return r->retry == HTTP_RETRY_SAFE && !r->body && !r->ca_file && !r->connect_to &&
	       r->method && strcasecmp(r->method, "GET") == 0;
}
