/*
 * The HTTP module: the only user of libcurl. One multi handle per client keeps the
 * connection cache and a pool of easy handles alive across batches. http_run() is a single
 * loop: start what may start (parallelism slot, retry time and bucket token permitting),
 * let curl work, settle finished attempts, then wait until the next event or due time, so a
 * request waiting for a retry or a token never blocks the others.
 *
 * libcurl is driven by its socket interface: it tells us which sockets to watch and when
 * its timer is due, we watch them in our own epoll set and hand it only the socket that is
 * ready, with the readiness, so it neither walks every transfer nor polls each socket
 * itself on every wake-up (curl_multi_perform did both: ~7 poll calls per request).
 */
#include "reconcile/base/compat.h"
#include "reconcile/http.h"
#include "reconcile/base/host.h"
#include "reconcile/base/progress.h"

#include <curl/curl.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "reconcile/redact.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/version.h"
#include "reconcile/sign.h"
#include "reconcile/base/workq.h"
#include "reconcile/base/xmem.h"

#define HTTP_PARALLELISM	8
#define HTTP_FD_SPARE		64 /* descriptors beyond the connections (files, git, journal) */
#define HTTP_CONNECT_TIMEOUT_MS 10000L
#define HTTP_TOTAL_TIMEOUT_MS	60000L /* per attempt */
#define HTTP_MAX_BODY		((size_t)8 << 20)
#define HTTP_MAX_RETRIES	5 /* so 6 attempts */
#define HTTP_MAX_RETRIES_MAX	20
#define HTTP_RETRY_SCALE_MAX	100.0
#define HTTP_MAX_RESP_HEADERS	256
#define HTTP_MAX_HEADER_BYTES	((size_t)256 << 10)
#define HTTP_POLL_MAX_MS	1000
#define HTTP_EPOLL_EVENTS	64   /* socket events taken per wake-up */
#define HTTP_NOTICE_MIN_MS	1000 /* retries waiting at least this long are announced */
#define HTTP_TICK_MS		100  /* with a tick callback, it is called at least this often */
#define HTTP_FED_WINDOW		4    /* a fed run's default window, in times the parallelism */
#define HTTP_TRACE_BODY_MAX	4096
#define HTTP_USER_AGENT_FMT	"cacheform/%s (+%s)" /* version, home page */
#define HTTP_USER_AGENT_MAX	160
#define HTTP_UA_HDR_MAX		(HTTP_USER_AGENT_MAX + 16)
#define HTTP_AE_HDR_MAX		64
#define HTTP_RETRY_SCALE_ENV	"CACHEFORM_RETRY_SCALE"
#define HTTP_DEBUG_ENV		"CACHEFORM_DEBUG"
#define HTTP_RATE_HEADER	"x-rate-limit-retry-after-seconds"
#define HTTP_CONNECT_TO_MAX	512 /* bytes of a "HOST:PORT" connect-to address */

struct xfer;

/* A FIFO of due transfers, linked through xfer.qnext. */
struct xq {
	struct xfer *head, *tail;
};

struct bucket {
	char *key;
	unsigned rate, burst; /* as declared: the strictest of the domain's accounts */
	bool exact;	      /* http_bucket_exact: refilled at exactly rate */
	struct http_tb tb;
	struct xq ready; /* due transfers waiting for this bucket's token (during http_run) */
};

/*
 * The scheduler of one http_run: transfers not yet due (initially none; retries with a
 * backoff) in a min-heap by (not_before, id); due ones in FIFOs, one for transfers without a
 * bucket and one per bucket. A wake-up reads the clock once and touches only what it starts,
 * what became due and one entry per bucket, so 10,000 waiting requests cost nothing per wake.
 */
struct sched {
	struct xfer **heap;
	size_t nheap, cap;
	struct xq ready;
};

/* An easy handle between attempts. A handle whose last attempt was a plain read keeps its
 * options: the next plain read through the same proxy choice only sets what differs. */
struct idle_easy {
	CURL *h;
	bool plain;	/* configured for a plain read (http_req_plain_get), not reset */
	bool proxy_off; /* ... with the proxy turned off (loopback) */
};

struct http_client {
	CURLM *multi;
	struct http_opts o;
	struct bucket *buckets;
	size_t nbuckets, bcap;
	struct idle_easy *idle; /* easy handles kept for reuse */
	size_t nidle, icap;
	double scale;
	uint64_t rng;
	unsigned seq;	     /* trace ids */
	struct sched *sched; /* during http_run */
	size_t finished;     /* requests of this http_run that ended */
	http_tick_fn tick;
	void *tick_ctx;
	struct run_ctx *run; /* during http_run: who hears of finished requests */
	int epfd;	     /* the sockets libcurl asked us to watch */
	int64_t now;	     /* the clock of the current wake-up (read once per wake-up) */
	int64_t timer_at;    /* libcurl's timer, monotonic ms; -1 = none */
	char ua[HTTP_USER_AGENT_MAX];
	/*
	 * "User-Agent: ..." and "Accept-Encoding: ..." as header lines of our own (ua_hdr,
	 * ae_hdr). libcurl 7.88 formats its own User-Agent and Accept-Encoding lines anew for every
	 * transfer, a byte at a time (aprintf): 12,000 instructions a request, a tenth of its cost
	 * (issue 17). A header line of the same name makes it skip them; the bytes sent are
	 * the same. CURLOPT_USERAGENT stays set where a proxy may be used (env_proxy): libcurl's
	 * CONNECT carries it from there. CURLOPT_ACCEPT_ENCODING stays set: it turns the
	 * decoding of the answers on.
	 */
	char ua_hdr[HTTP_UA_HDR_MAX];
	char ae_hdr[HTTP_AE_HDR_MAX];
	bool env_proxy;
};

enum xstate { XS_WAIT, XS_RUN, XS_DONE };

struct xfer {
	struct http_client *c;
	struct http_req *req;
	struct http_resp *resp;
	enum xstate st;
	int64_t not_before; /* monotonic ms */
	struct bucket *bucket;
	bool loopback;	 /* the URL's host is loopback (check_url) */
	bool plain;	 /* this attempt is a plain read (http_req_plain_get) */
	bool configured; /* its handle already carries the options of a plain read */
	CURL *easy;
	struct curl_slist *hdrs;
	struct curl_slist *connect; /* CURLOPT_CONNECT_TO list when req->connect_to */
	CURLU *uh;		    /* the URL as check_url parsed it, handed to libcurl */
	struct sb body;
	size_t hbytes;
	bool too_big;
	unsigned id;
	int64_t started;
	struct xfer *qnext; /* in a ready FIFO */
	size_t k;	    /* index of the request in its run */
	char errbuf[CURL_ERROR_SIZE];
};

static void sched_wait(struct sched *s, struct xfer *x);

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t rng_next(struct http_client *c)
{
	/* xorshift64: jitter needs spread, not secrecy */
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return (uint32_t)(c->rng >> 32);
}

/* ---- URLs ---- */

/* Whether a "HOST:PORT" connect-to target is loopback. */
static bool connect_to_is_loopback(const char *hp)
{
	const char *colon = strrchr(hp, ':');
	size_t n = colon ? (size_t)(colon - hp) : strlen(hp);
	char host[HTTP_CONNECT_TO_MAX];
	if (n >= sizeof(host))
		return false;
	memcpy(host, hp, n);
	host[n] = '\0';
	return host_is_loopback(host, n);
}

/* Returns the URL's scheme, host and user parts (each NULL when absent); 0 or -1. With keep,
 * *keep receives the parsed URL on success (the caller cleans it up), NULL otherwise. */
static int url_parts(const char *url, char **scheme, char **host, char **user, CURLU **keep)
{
	*scheme = *host = *user = NULL;
	if (keep)
		*keep = NULL;
	CURLU *u = curl_url();
	if (!u)
		return -1;
	int ret = -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_USER, user, 0) != CURLUE_OK)
		*user = NULL;
	ret = 0;
	if (keep) {
		*keep = u;
		u = NULL;
	}
out:
	curl_url_cleanup(u);
	return ret;
}

bool http_is_loopback_url(const char *url)
{
	char *scheme, *host, *user;
	bool yes = false;
	if (url && url_parts(url, &scheme, &host, &user, NULL) == 0)
		yes = host_is_loopback(host, strlen(host));
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	return yes;
}

/* True when a path holds a "." or ".." segment, plain or %-encoded. */
static bool has_dot_segment(const char *path)
{
	const char *p = path;
	while (*p) {
		size_t n = strcspn(p, "/?#"), dots = 0, i = 0;
		while (i < n && dots < 3) {
			if (p[i] == '.')
				i++;
			else if (i + 2 < n && p[i] == '%' && p[i + 1] == '2' &&
				 (p[i + 2] == 'e' || p[i + 2] == 'E'))
				i += 3;
			else
				break;
			dots++;
		}
		if (n > 0 && i == n && dots <= 2)
			return true;
		if (p[n] != '/')
			return false;
		p += n + 1;
	}
	return false;
}

/* Scheme, host and port of url (default port filled in), lower-cased; user information and
 * dot segments make it unusable. Returns 0 or -1. */
static int origin_of(const char *url, char **scheme, char **host, char **port)
{
	*scheme = *host = *port = NULL;
	CURLU *u = curl_url();
	char *user = NULL, *pw = NULL, *path = NULL;
	int ret = -1;
	if (!u)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK)
		goto out;
	for (char *q = *host; *q; q++)
		*q = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
	ret = has_dot_segment(path) ? -1 : 0;
out:
	curl_free(user);
	curl_free(pw);
	curl_free(path);
	curl_url_cleanup(u);
	return ret;
}

bool http_url_on_origin(const char *url, const char *base)
{
	char *s1 = NULL, *h1 = NULL, *p1 = NULL, *s2 = NULL, *h2 = NULL, *p2 = NULL;
	bool same = false;
	/* the raw text too: libcurl normalises "/a/../b" away before we could see it */
	if (!url || !base || strncasecmp(url, "http", 4) != 0 || has_dot_segment(url))
		return false;
	if (origin_of(url, &s1, &h1, &p1) == 0 && origin_of(base, &s2, &h2, &p2) == 0)
		same = strcasecmp(s1, s2) == 0 && strcmp(h1, h2) == 0 && strcmp(p1, p2) == 0 &&
		       (strcasecmp(s1, "https") == 0 || strcasecmp(s1, "http") == 0);
	curl_free(s1);
	curl_free(h1);
	curl_free(p1);
	curl_free(s2);
	curl_free(h2);
	curl_free(p2);
	return same;
}

/* Refuses, before any connection, what the transport policy does not allow. *loopback
 * says whether the URL's host is loopback and *uh is the parsed URL (parsed once per request,
 * used by every attempt; NULL when refused). */
static int check_url(const struct http_req *r, bool *loopback, CURLU **uh, struct cf_err *e)
{
	char *scheme, *host, *user;
	int ret = 0;
	*loopback = false;
	if (!r->url || url_parts(r->url, &scheme, &host, &user, uh) < 0) {
		struct sb shown;
		sb_init(&shown, 0);
		redact_url(r->url ? r->url : "", &shown);
		ret = err_set(e, CF_EINVAL, "%s: cannot parse URL '%s'", r->what, shown.buf);
		sb_release(&shown);
		return ret;
	}
	*loopback = host_is_loopback(host, strlen(host));
	if (user)
		ret =
		    err_set(e, CF_EINVAL, "%s: URL for '%s' carries user information; refusing it",
			    r->what, host);
	else if (r->connect_to && (strlen(r->connect_to) >= HTTP_CONNECT_TO_MAX ||
				   strpbrk(r->connect_to, "\r\n ,") || !strchr(r->connect_to, ':')))
		ret = err_set(e, CF_EINVAL, "%s: bad connect-to address '%s' (want HOST:PORT)",
			      r->what, r->connect_to);
	else if (strcasecmp(scheme, "http") == 0 &&
		 !(r->connect_to ? connect_to_is_loopback(r->connect_to) : *loopback))
		ret =
		    err_set(e, CF_EINVAL,
			    "%s: refusing plain http to '%s'; only loopback hosts may use http://",
			    r->what, host);
	else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
		ret = err_set(e, CF_EINVAL, "%s: unsupported URL scheme '%s'", r->what, scheme);
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	if (ret != 0) {
		curl_url_cleanup(*uh);
		*uh = NULL;
	}
	return ret;
}

/* ---- client ---- */

static double env_scale(void)
{
	const char *s = getenv(HTTP_RETRY_SCALE_ENV);
	if (!s || !*s)
		return 1.0;
	char *end;
	double v = strtod(s, &end);
	if (*end || !(v >= 0) || v > HTTP_RETRY_SCALE_MAX) {
		fprintf(stderr, "cacheform: ignoring %s='%s' (want a number from 0 to %g)\n",
			HTTP_RETRY_SCALE_ENV, s, HTTP_RETRY_SCALE_MAX);
		return 1.0;
	}
	return v;
}

/* Each connection is a descriptor, and curl keeps up to twice the parallelism open: lift the
 * soft RLIMIT_NOFILE towards the hard one so --parallelism 1024 does not fail at 1024 fds. */
static void raise_fd_limit(unsigned parallelism)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)parallelism * 2 + HTTP_FD_SPARE;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* ---- libcurl's socket interface ---- */

/* A non-NULL socketp (curl_multi_assign) marks a socket already in the epoll set, so a
 * change of interest is one EPOLL_CTL_MOD, never a failed ADD first. */
static char watched_mark;

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		/* libcurl says so before it closes the socket; an error means it is gone anyway */
		(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0U) | (what & CURL_POLL_OUT ? EPOLLOUT : 0U);
	ev.data.fd = s;
	int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(c->epfd, op, s, &ev) < 0 &&
	    epoll_ctl(c->epfd, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) < 0) {
		/* only ENOMEM/ENOSPC get here; a -1 to libcurl would leave its multi handle
		 * dead and every transfer on it hanging, so end the run as on other
		 * allocation failures */
		fprintf(stderr, "cacheform: cannot watch a socket: %s\n", strerror(errno));
		exit(1);
	}
	if (!socketp)
		curl_multi_assign(c->multi, s, &watched_mark);
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	(void)multi;
	c->timer_at = http_timer_at(c->now, timeout_ms);
	return 0;
}

/* What epoll saw, as libcurl's readiness bits. A hang-up or error is passed on as readable:
 * the read that follows returns the end of file or the socket's error, as a poll would. */
static int ready_bits(uint32_t events)
{
	int bits = 0;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		bits |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		bits |= CURL_CSELECT_OUT;
	return bits;
}

/* Whether libcurl may take a proxy from the environment (the variables it reads). */
static bool env_proxy(void)
{
	static const char *const vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
					   "ALL_PROXY"};
	for (size_t i = 0; i < CF_ARRAY_LEN(vars); i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return true;
	}
	return false;
}

/* The Accept-Encoding line CURLOPT_ACCEPT_ENCODING "" makes libcurl 7.88 send: every
 * encoding it decodes, in its order. Empty when it decodes none. */
static void accept_encoding_hdr(char *out, size_t n)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	struct sb line;
	sb_init(&line, n - 1);
	if (v && (v->features & CURL_VERSION_LIBZ))
		sb_adds(&line, ", deflate, gzip");
	if (v && (v->features & CURL_VERSION_BROTLI))
		sb_adds(&line, ", br");
	if (v && (v->features & CURL_VERSION_ZSTD))
		sb_adds(&line, ", zstd");
	out[0] = '\0';
	if (line.len && !line.overflow)
		snprintf(out, n, "Accept-Encoding: %s", line.buf + 2);
	sb_release(&line);
}

struct http_client *http_new(const struct http_opts *opts)
{
	struct http_client *c = xcalloc(1, sizeof(*c));
	snprintf(c->ua, sizeof(c->ua), HTTP_USER_AGENT_FMT, cf_version(), cf_home_url());
	snprintf(c->ua_hdr, sizeof(c->ua_hdr), "User-Agent: %s", c->ua);
	c->env_proxy = env_proxy();
	if (opts)
		c->o = *opts;
	if (c->o.parallelism == 0)
		c->o.parallelism = HTTP_PARALLELISM;
	if (c->o.parallelism > HTTP_PARALLELISM_MAX) /* callers refuse more; a last guard */
		c->o.parallelism = HTTP_PARALLELISM_MAX;
	raise_fd_limit(c->o.parallelism);
	if (c->o.connect_timeout_ms <= 0)
		c->o.connect_timeout_ms = HTTP_CONNECT_TIMEOUT_MS;
	if (c->o.total_timeout_ms <= 0)
		c->o.total_timeout_ms = HTTP_TOTAL_TIMEOUT_MS;
	if (c->o.max_body == 0)
		c->o.max_body = HTTP_MAX_BODY;
	if (c->o.max_retries == 0)
		c->o.max_retries = HTTP_MAX_RETRIES;
	if (c->o.max_retries > HTTP_MAX_RETRIES_MAX)
		c->o.max_retries = HTTP_MAX_RETRIES_MAX;
	const char *dbg = getenv(HTTP_DEBUG_ENV);
	if (dbg && strcmp(dbg, "1") == 0)
		c->o.debug = true;
	c->scale = env_scale();
	c->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uint64_t)now_ms();
	if (!c->rng)
		c->rng = 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c->multi = curl_multi_init();
	accept_encoding_hdr(c->ae_hdr, sizeof(c->ae_hdr));
	if (!c->multi) {
		fprintf(stderr, "cacheform: cannot initialise libcurl\n");
		exit(1);
	}
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->o.parallelism);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->o.parallelism);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)c->o.parallelism * 2);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		fprintf(stderr, "cacheform: cannot create an epoll set: %s\n", strerror(errno));
		exit(1);
	}
	c->now = now_ms();
	c->timer_at = -1;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

void http_free(struct http_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i].h);
	free(c->idle);
	for (size_t i = 0; i < c->nbuckets; i++)
		free(c->buckets[i].key);
	free(c->buckets);
	curl_multi_cleanup(c->multi); /* may still tell on_socket to forget sockets */
	close(c->epfd);
	curl_global_cleanup();
	free(c);
}

static struct bucket *bucket_find(struct http_client *c, const char *key)
{
	for (size_t i = 0; key && i < c->nbuckets; i++)
		if (strcmp(c->buckets[i].key, key) == 0)
			return &c->buckets[i];
	return NULL;
}

void http_bucket(struct http_client *c, const char *key, unsigned rate_per_minute, unsigned burst)
{
	struct bucket *b = bucket_find(c, key);
	if (b) { /* another account of the domain: the stricter limit holds for both */
		if (rate_per_minute >= b->rate && burst >= b->burst)
			return;
		b->rate = rate_per_minute < b->rate ? rate_per_minute : b->rate;
		b->burst = burst < b->burst ? burst : b->burst;
		http_tb_init(&b->tb, b->rate, b->burst, now_ms());
		if (b->exact)
			http_tb_exact(&b->tb, b->rate);
		return;
	}
	xgrow(&c->buckets, &c->bcap, c->nbuckets + 1, sizeof(*c->buckets));
	b = &c->buckets[c->nbuckets++];
	b->key = xstrdup(key);
	b->rate = rate_per_minute;
	b->burst = burst;
	http_tb_init(&b->tb, rate_per_minute, burst, now_ms());
}

void http_bucket_exact(struct http_client *c, const char *key)
{
	struct bucket *b = bucket_find(c, key);
	if (!b)
		return;
	b->exact = true;
	http_tb_exact(&b->tb, b->rate);
}

/* Whether the attempt's connection must bypass any proxy: local traffic never goes to an
 * http_proxy, nor does a connect-to request. */
static bool proxy_off(const struct xfer *x)
{
	return x->loopback || x->req->connect_to;
}

/* Gives x a handle, noting whether it is already configured for x's kind of request. */
static void easy_get(struct http_client *c, struct xfer *x)
{
	x->configured = false;
	if (c->nidle) {
		const struct idle_easy *ie = &c->idle[--c->nidle];
		x->easy = ie->h;
		x->configured = ie->plain && x->plain && ie->proxy_off == proxy_off(x);
		if (ie->plain && !x->configured)
			curl_easy_reset(x->easy); /* kept for a read, wanted for something else */
		return;
	}
	x->easy = curl_easy_init();
	if (!x->easy) {
		fprintf(stderr, "cacheform: cannot create a libcurl handle\n");
		exit(1);
	}
}

/* Takes x's handle back. One that served anything but a plain read is reset, so no option
 * of a write (method, body, fresh connection, CA file) leaks into the next request; one
 * kept configured is reset by easy_get when the next request is not a plain read alike. */
static void easy_put(struct http_client *c, struct xfer *x)
{
	if (!x->plain)
		curl_easy_reset(x->easy);
	else /* the parsed URL goes with its request; the next attempt sets its own */
		curl_easy_setopt(x->easy, CURLOPT_CURLU, (CURLU *)NULL);
	xgrow(&c->idle, &c->icap, c->nidle + 1, sizeof(*c->idle));
	c->idle[c->nidle++] = (struct idle_easy){x->easy, x->plain, proxy_off(x)};
	x->easy = NULL;
}

/* ---- tracing ---- */

static void trace_body(struct sb *t, const char *mark, const char *body, size_t len)
{
	if (!body || !len)
		return;
	struct sb red;
	sb_init(&red, 0);
	/* Redact the whole body first so truncation cannot split a secret out of a match. */
	redact_body(body, len, &red);
	size_t show = red.len > HTTP_TRACE_BODY_MAX ? HTTP_TRACE_BODY_MAX : red.len;
	(void)sb_addf(t, "%s\n", mark);
	for (size_t i = 0; i < show;) {
		const char *nl = memchr(red.buf + i, '\n', show - i);
		size_t end = nl ? (size_t)(nl - red.buf) : show;
		(void)sb_addf(t, "%s ", mark);
		(void)sb_add(t, red.buf + i, end - i);
		(void)sb_addc(t, '\n');
		i = end + 1;
	}
	if (red.len > HTTP_TRACE_BODY_MAX)
		(void)sb_addf(t, "%s [%zu of %zu bytes shown]\n", mark, show, len);
	sb_release(&red);
}

static void trace_request(const struct xfer *x)
{
	const struct http_req *r = x->req;
	struct sb t;
	sb_init(&t, 0);
	(void)sb_addf(&t, "* [%u] %s (attempt %u)\n> %s ", x->id, r->what, x->resp->attempts,
		      r->method);
	redact_url(r->url, &t);
	(void)sb_addc(&t, '\n');
	for (size_t i = 0; i < r->nheaders; i++) {
		(void)sb_addf(&t, "> %s: ", r->headers[i].name);
		redact_header(r->headers[i].name, r->headers[i].value, &t);
		(void)sb_addc(&t, '\n');
	}
	trace_body(&t, ">", r->body, r->body_len);
	progress_clear();
	fwrite(t.buf, 1, t.len, stderr);
	sb_release(&t);
}

static void trace_response(const struct xfer *x, CURLcode res, int64_t ms)
{
	const struct http_resp *r = x->resp;
	struct sb t;
	sb_init(&t, 0);
	if (res == CURLE_OK)
		(void)sb_addf(&t, "* [%u] %ld in %lld ms\n", x->id, r->status, (long long)ms);
	else
		(void)sb_addf(&t, "* [%u] failed after %lld ms: %s\n", x->id, (long long)ms,
			      x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
	for (size_t i = 0; i < r->nheaders; i++) {
		(void)sb_addf(&t, "< %s: ", r->headers[i].name);
		redact_header(r->headers[i].name, r->headers[i].value, &t);
		(void)sb_addc(&t, '\n');
	}
	trace_body(&t, "<", x->body.buf, x->body.len);
	progress_clear();
	fwrite(t.buf, 1, t.len, stderr);
	sb_release(&t);
}

/* ---- transfers ---- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (sb_add(&x->body, p, n) < 0) {
		x->too_big = true;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	struct http_resp *r = x->resp;
	size_t n = size * nmemb;
	x->hbytes += n;
	if (x->hbytes > HTTP_MAX_HEADER_BYTES || r->nheaders >= HTTP_MAX_RESP_HEADERS) {
		x->too_big = true;
		return 0;
	}
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* a new status line (after 1xx): only the final header block counts */
		http_resp_clear(r);
		return n;
	}
	const char *colon = memchr(p, ':', n);
	if (!colon || colon == p)
		return n;
	size_t vs = (size_t)(colon - p) + 1, ve = n;
	while (vs < ve && (p[vs] == ' ' || p[vs] == '\t'))
		vs++;
	while (ve > vs &&
	       (p[ve - 1] == '\r' || p[ve - 1] == '\n' || p[ve - 1] == ' ' || p[ve - 1] == '\t'))
		ve--;
	xgrow(&r->headers, &r->hcap, r->nheaders + 1, sizeof(*r->headers));
	char *name = xstrndup(p, (size_t)(colon - p));
	for (char *q = name; *q; q++)
		*q = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = xstrndup(p + vs, ve - vs);
	r->nheaders++;
	return n;
}

static bool req_has_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return true;
	return false;
}

/* Builds the header list; refuses header injection. Returns 0 or CF_EINVAL. */
static int build_headers(struct xfer *x, struct cf_err *e)
{
	const struct http_req *r = x->req;
	struct sb line;
	int ret = 0;
	sb_init(&line, 0);
	/* ours first, where libcurl put its own (byte for byte the request it sent), unless the
	 * request names its own */
	if (!req_has_header(r, "User-Agent"))
		x->hdrs = curl_slist_append(x->hdrs, x->c->ua_hdr);
	if (x->c->ae_hdr[0] && !req_has_header(r, "Accept-Encoding"))
		x->hdrs = curl_slist_append(x->hdrs, x->c->ae_hdr);
	for (size_t i = 0; i < r->nheaders && ret == 0; i++) {
		const struct http_header *h = &r->headers[i];
		if (!redact_header_valid(h->name, h->value)) {
			ret =
			    err_set(e, CF_EINVAL,
				    "%s: header '%s' has a bad name or a control character in its "
				    "value; refusing to send it",
				    r->what, h->name);
			break;
		}
		sb_reset(&line);
		(void)sb_adds(&line, h->name);
		/* "Name;" is curl's spelling of a header with an empty value */
		if (*h->value) {
			(void)sb_adds(&line, ": ");
			(void)sb_adds(&line, h->value);
		} else {
			(void)sb_addc(&line, ';');
		}
		x->hdrs = curl_slist_append(x->hdrs, line.buf);
	}
	/* no "Expect: 100-continue" round trip before a body */
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");
	sign_wipe(line.buf, line.len);
	sb_release(&line);
	if (!x->hdrs && ret == 0)
		ret = err_set(e, CF_EINVAL, "%s: cannot build headers", r->what);
	return ret;
}

static void set_method(CURL *h, const struct http_req *r)
{
	if (strcasecmp(r->method, "GET") == 0 && !r->body) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (strcasecmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		return;
	}
	if (r->body || strcasecmp(r->method, "DELETE") != 0) {
		/* POST/PUT/PATCH always carry a body, if empty, so Content-Length: 0 is sent */
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
}

/* The options that differ from one attempt to the next, set on every attempt. */
static void configure_attempt(struct xfer *x)
{
	const struct http_client *c = x->c;
	const struct http_req *r = x->req;
	CURL *h = x->easy;
	long total = r->timeout_ms > 0 ? r->timeout_ms : c->o.total_timeout_ms;
	long conn = c->o.connect_timeout_ms < total ? c->o.connect_timeout_ms : total;

	curl_easy_setopt(h, CURLOPT_URL, r->url);
	/*
	 * The URL check_url parsed (as libcurl would: an absolute http(s) URL reads the same
	 * with libcurl's parse flags and with none): libcurl takes its parts from a copy of it
	 * instead of parsing r->url again and rebuilding it through its printf, about a sixth
	 * of its work per request (issue 17). CURLOPT_URL still names the request.
	 */
	curl_easy_setopt(h, CURLOPT_CURLU, x->uh);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, conn);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
}

/* Every option of the request on a fresh (or reset) handle. */
static void configure(struct xfer *x)
{
	const struct http_client *c = x->c;
	const struct http_req *r = x->req;
	CURL *h = x->easy;

	configure_attempt(x);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
	if (proxy_off(x))
		curl_easy_setopt(h, CURLOPT_PROXY,
				 ""); /* an http_proxy must not see local traffic */
	if (r->connect_to) {
		char spec[HTTP_CONNECT_TO_MAX + 3];
		/* "::HOST:PORT": every host and port of this request goes there */
		snprintf(spec, sizeof(spec), "::%s", r->connect_to);
		x->connect = curl_slist_append(NULL, spec);
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, x->connect);
	}
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (c->env_proxy && !proxy_off(x))
		curl_easy_setopt(h, CURLOPT_USERAGENT, c->ua);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->o.max_body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	if (r->retry != HTTP_RETRY_SAFE) {
		/*
		 * libcurl resends a request whose reused connection died before any answer
		 * ("Connection died, retrying a fresh connect"), unseen by us. A purge may have
		 * been accepted by then, so an unsafe request gets a connection of its own,
		 * closed after it: a lost answer is then reported, never silently repeated.
		 */
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	}
	set_method(h, r);
}

/* A fed run's request with its answer and transfer, recycled once its done has been called. */
struct slot {
	struct xfer x;
	struct http_req req;
	struct http_resp resp;
	struct slot *next; /* in the free list (where every slot is when the run ends) */
};

struct run_ctx {
	http_done_fn done;
	void *arg;
	int first_rc;
	/* ended requests whose done is still to be called: after the wake-up's starts */
	struct xfer **ended;
	size_t nended, ecap;
	/* a fed run (feed != NULL): requests k < fed were asked for; live of them have a slot
	 * (not yet handed to done), at most window */
	http_feed_fn feed;
	size_t n, fed, live, window;
	struct slot *free;
	/* http_run_fed_worker: done runs on wq's thread; its finished slots come back as
	 * wq's descriptor (watched in epfd) turns readable */
	struct workq *wq;
	void **back;
	size_t bcap;
};

/* Ends a request for good; its done is called at the end of the wake-up (deliver). */
static void finish(struct xfer *x, int rc)
{
	struct run_ctx *run = x->c->run;
	x->resp->rc = rc;
	x->st = XS_DONE;
	/* no attempt follows: its handle, if it had one, is out of the multi handle by now */
	curl_url_cleanup(x->uh);
	x->uh = NULL;
	x->c->finished++;
	if (run->first_rc == 0 && rc < 0)
		run->first_rc = rc;
	xgrow(&run->ended, &run->ecap, run->nended + 1, sizeof(*run->ended));
	run->ended[run->nended++] = x;
}

/* done for one ended request; a fed request's request and answer are released with it */
static void hand_over(struct run_ctx *run, struct xfer *x)
{
	if (run->done)
		run->done(x->k, x->resp, run->arg);
	if (run->feed) {
		struct slot *sl = (struct slot *)x; /* x is the slot's first member */
		sb_release(&x->body);
		http_req_release(&sl->req);
		http_resp_release(&sl->resp);
	}
}

/* The worker's side of http_run_fed_worker. */
static void hand_over_item(void *item, void *arg)
{
	hand_over(arg, item);
}

/* A fed request's slot is free again once its done has run. */
static void slot_free(struct run_ctx *run, struct xfer *x)
{
	struct slot *sl = (struct slot *)x;
	sl->next = run->free;
	run->free = sl;
	run->live--;
}

/*
 * Hands the ended requests to done. It runs after the wake-up has started what the ended
 * ones made room for: decoding an answer (the caller's done) no longer delays the requests
 * queued behind it, which at --parallelism 32 put every answer of a wave between the first
 * one's arrival and the next wave's departure (issue 17). With a worker, done runs there and
 * the slots come back later (take_back). Returns how many slots were freed.
 */
static size_t deliver(struct run_ctx *run)
{
	size_t n = run->nended;
	run->nended = 0;
	if (run->wq) {
		workq_put(run->wq, (void *const *)run->ended, n);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		hand_over(run, run->ended[i]);
		if (run->feed)
			slot_free(run, run->ended[i]);
	}
	return n;
}

/* Frees the slots whose done the worker has run. Returns how many. */
static size_t take_back(struct run_ctx *run)
{
	size_t n = workq_take(run->wq, &run->back, &run->bcap);
	for (size_t i = 0; i < n; i++)
		slot_free(run, run->back[i]);
	return n;
}

/* Whether a fed run would ask for a request now. */
static bool feed_room(const struct run_ctx *run, unsigned running, unsigned par)
{
	return run->feed && running < par && run->live < run->window && run->fed < run->n;
}

/* Starts one attempt: sign, validate, hand to curl. A refusal ends the request. */
static void start_attempt(struct xfer *x)
{
	struct http_resp *resp = x->resp;
	struct cf_err *e = &resp->err;
	int rc;

	http_resp_clear(resp);
	err_clear(e);
	resp->attempts++;
	if (x->req->sign && (rc = x->req->sign(x->req->sign_ctx, x->req, e)) < 0) {
		if (!e->msg[0])
			err_set(e, rc, "%s: cannot sign the request", x->req->what);
		finish(x, rc);
		return;
	}
	if ((rc = build_headers(x, e)) < 0) {
		curl_slist_free_all(x->hdrs);
		x->hdrs = NULL;
		finish(x, rc);
		return;
	}
	sb_init(&x->body, x->c->o.max_body);
	x->hbytes = 0;
	x->too_big = false;
	x->errbuf[0] = '\0';
	x->plain = http_req_plain_get(x->req);
	easy_get(x->c, x);
	if (x->configured)
		configure_attempt(x);
	else
		configure(x);
	if (x->c->o.debug)
		trace_request(x);
	x->started = x->c->now;
	x->st = XS_RUN;
	curl_multi_add_handle(x->c->multi, x->easy);
}

static enum http_fail classify(CURL *h, CURLcode res, bool too_big)
{
	curl_off_t pre = 0;
	switch (res) {
	case CURLE_OK:
		return HTTP_FAIL_NONE;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		return HTTP_FAIL_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		/* no pretransfer time: the connection never got to sending the request */
		if (curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pre) == CURLE_OK && pre == 0)
			return HTTP_FAIL_CONNECT;
		return HTTP_FAIL_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_FILESIZE_EXCEEDED:
		return HTTP_FAIL_FATAL;
	case CURLE_WRITE_ERROR:
		return too_big ? HTTP_FAIL_FATAL : HTTP_FAIL_NET;
	default:
		return too_big ? HTTP_FAIL_FATAL : HTTP_FAIL_NET;
	}
}

/* Fills the error record of a request that ends without a usable answer. */
static int fail_rc(struct xfer *x, CURLcode res, enum http_fail f)
{
	struct http_resp *r = x->resp;
	const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
	const char *what = x->req->what;
	if (x->too_big || res == CURLE_FILESIZE_EXCEEDED)
		return err_set(&r->err, CF_ELIMIT, "%s: response larger than %zu bytes", what,
			       x->c->o.max_body);
	if (f == HTTP_FAIL_TIMEOUT || res == CURLE_OPERATION_TIMEDOUT)
		return err_set(&r->err, CF_ETIMEOUT, "%s: timed out: %s (%u attempt%s)", what, why,
			       r->attempts, r->attempts == 1 ? "" : "s");
	return err_set(&r->err, CF_ENET, "%s: %s (%u attempt%s)", what, why, r->attempts,
		       r->attempts == 1 ? "" : "s");
}

static void announce_retry(const struct xfer *x, CURLcode res, int64_t delay, unsigned left)
{
	if (!x->c->o.debug && delay < HTTP_NOTICE_MIN_MS)
		return;
	char why[CURL_ERROR_SIZE + 32];
	if (res == CURLE_OK)
		snprintf(why, sizeof(why), "HTTP %ld", x->resp->status);
	else
		snprintf(why, sizeof(why), "%s",
			 x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
	progress_clear();
	fprintf(stderr, "cacheform: %s: %s; retrying in %.1f s (%u left)\n", x->req->what, why,
		(double)delay / 1000.0, left);
}

/* Settles a finished attempt: keep the answer, then retry or end. */
static void settle(struct xfer *x, CURLcode res)
{
	struct http_client *c = x->c;
	struct http_resp *r = x->resp;
	long status = 0;
	int64_t t = c->now, delay = 0;

	curl_multi_remove_handle(c->multi, x->easy);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	enum http_fail f = classify(x->easy, res, x->too_big);
	r->status = res == CURLE_OK ? status : 0;
	if (c->o.debug)
		trace_response(x, res, t - x->started);
	r->body_len = x->body.len;
	r->body = sb_detach(&x->body);
	struct http_retry_in in = {
	    .policy = x->req->retry,
	    .fail = f,
	    .status = r->status,
	    .retry_after = http_resp_header(r, "retry-after"),
	    .rate_retry_after = http_resp_header(r, HTTP_RATE_HEADER),
	    .attempt = r->attempts,
	    .max_attempts = c->o.max_retries + 1,
	    .now = time(NULL),
	    .scale = c->scale,
	    .rnd = rng_next(c),
	};
	if (http_retry_decide(&in, &delay)) {
		announce_retry(x, res, delay, in.max_attempts - in.attempt);
		x->st = XS_WAIT;
		x->not_before = t + delay;
		sched_wait(x->c->sched, x);
	} else {
		finish(x, f == HTTP_FAIL_NONE ? 0 : fail_rc(x, res, f));
	}
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	curl_slist_free_all(x->connect);
	x->connect = NULL;
	easy_put(c, x);
}

static bool xfer_before(const struct xfer *a, const struct xfer *b)
{
	return a->not_before < b->not_before || (a->not_before == b->not_before && a->id < b->id);
}

static void heap_push(struct sched *s, struct xfer *x)
{
	xgrow(&s->heap, &s->cap, s->nheap + 1, sizeof(*s->heap));
	size_t i = s->nheap++;
	while (i > 0 && xfer_before(x, s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = x;
}

static struct xfer *heap_pop(struct sched *s)
{
	struct xfer *top = s->heap[0], *last = s->heap[--s->nheap];
	size_t i = 0;
	for (;;) {
		size_t k = 2 * i + 1;
		if (k >= s->nheap)
			break;
		if (k + 1 < s->nheap && xfer_before(s->heap[k + 1], s->heap[k]))
			k++;
		if (!xfer_before(s->heap[k], last))
			break;
		s->heap[i] = s->heap[k];
		i = k;
	}
	if (s->nheap)
		s->heap[i] = last;
	return top;
}

static void xq_push(struct xq *q, struct xfer *x)
{
	x->qnext = NULL;
	if (q->tail)
		q->tail->qnext = x;
	else
		q->head = x;
	q->tail = x;
}

static struct xfer *xq_pop(struct xq *q)
{
	struct xfer *x = q->head;
	q->head = x->qnext;
	if (!q->head)
		q->tail = NULL;
	return x;
}

/* A transfer that waits (first attempt, or a retry after its backoff) enters the scheduler. */
static void sched_wait(struct sched *s, struct xfer *x)
{
	heap_push(s, x);
}

static void start_one(struct xfer *x, unsigned *running)
{
	start_attempt(x);
	*running += x->st == XS_RUN;
}

/* Starts what may start now from q through bucket b (NULL: no bucket). Returns the ms until
 * b's next token when its FIFO still waits for one, -1 otherwise. */
static int64_t start_ready(struct xq *q, struct bucket *b, int64_t now, unsigned *running,
			   unsigned par)
{
	while (q->head && *running < par) {
		int64_t wait = b ? http_tb_take(&b->tb, now) : 0;
		if (wait > 0)
			return wait;
		start_one(xq_pop(q), running);
	}
	return -1;
}

static int64_t min_wait(int64_t a, int64_t b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* Makes x request k of the run (req, resp) and checks its URL. Returns 0, or the refusal's
 * code: x has ended then. */
static int xfer_init(struct http_client *c, struct xfer *x, struct http_req *req,
		     struct http_resp *resp, size_t k)
{
	memset(resp, 0, sizeof(*resp));
	x->c = c;
	x->req = req;
	x->resp = resp;
	x->k = k;
	x->id = ++c->seq;
	x->st = XS_WAIT;
	x->bucket = bucket_find(c, req->bucket);
	sb_init(&x->body, c->o.max_body);
	int rc = check_url(x->req, &x->loopback, &x->uh, &x->resp->err);
	if (rc < 0)
		finish(x, rc);
	return rc;
}

/*
 * A fed run: asks for the next request while a connection slot is free, the window has room
 * and requests are left. Each goes to the tail of its FIFO and starts if its bucket allows,
 * so a request is built just before it is sent and none waits for another's answer.
 */
static void feed_more(struct http_client *c, unsigned *running, unsigned par)
{
	struct run_ctx *run = c->run;
	while (feed_room(run, *running, par)) {
		size_t k = run->fed++;
		struct slot *sl = run->free;
		if (sl)
			run->free = sl->next;
		else
			sl = xmalloc(sizeof(*sl));
		memset(sl, 0, sizeof(*sl));
		if (!run->feed(k, &sl->req, run->arg)) {
			http_req_release(&sl->req);
			sl->next = run->free;
			run->free = sl;
			continue;
		}
		run->live++;
		struct xfer *x = &sl->x;
		if (xfer_init(c, x, &sl->req, &sl->resp, k) < 0)
			continue;
		struct xq *q = x->bucket ? &x->bucket->ready : &c->sched->ready;
		xq_push(q, x);
		(void)start_ready(q, x->bucket, c->now, running, par);
	}
}

/* Starts every waiting request whose time has come and that gets a slot and a token, then
 * (a fed run) new ones while slots are left. Returns the ms until something may become
 * startable (-1 when nothing waits on time). */
static int64_t start_due(struct http_client *c, unsigned *running, unsigned par)
{
	struct sched *s = c->sched;
	int64_t now = c->now, next = -1;
	while (s->nheap && s->heap[0]->not_before <= now) {
		struct xfer *x = heap_pop(s);
		xq_push(x->bucket ? &x->bucket->ready : &s->ready, x);
	}
	(void)start_ready(&s->ready, NULL, now, running, par);
	for (size_t i = 0; i < c->nbuckets; i++)
		(void)start_ready(&c->buckets[i].ready, &c->buckets[i], now, running, par);
	feed_more(c, running, par);
	/* what still waits for a token: nothing starts here that did not above (the feed
	 * started what its bucket allowed), so this only reads the waits */
	for (size_t i = 0; i < c->nbuckets; i++)
		next = min_wait(
		    next, start_ready(&c->buckets[i].ready, &c->buckets[i], now, running, par));
	if (s->nheap)
		next = min_wait(next, s->heap[0]->not_before - now);
	return next;
}

/* Hands finished attempts to settle(). Returns how many ended their attempt. */
static unsigned reap(struct http_client *c)
{
	CURLMsg *m;
	int left;
	unsigned done = 0;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		CURLcode res = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (!x)
			continue;
		settle(x, res);
		done++;
	}
	return done;
}

static void xfers_setup(struct http_client *c, struct xfer *xs, struct http_req *reqs,
			struct http_resp *resps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (xfer_init(c, &xs[i], &reqs[i], &resps[i], i) == 0)
			sched_wait(c->sched, &xs[i]);
}

int http_run(struct http_client *c, struct http_req *reqs, struct http_resp *resps, size_t n)
{
	return http_run_each(c, reqs, resps, n, NULL, NULL);
}

/* Lets libcurl act on one ready socket, or on its timer (CURL_SOCKET_TIMEOUT, bits 0). */
static void act(struct http_client *c, curl_socket_t s, int bits)
{
	int still = 0;
	(void)curl_multi_socket_action(c->multi, s, bits, &still);
}

static bool timer_due(const struct http_client *c)
{
	return c->timer_at >= 0 && c->timer_at <= c->now;
}

/* Lets libcurl act on its due timer. */
static void fire_timer(struct http_client *c)
{
	int64_t was = c->timer_at;
	act(c, CURL_SOCKET_TIMEOUT, 0);
	/*
	 * libcurl calls on_timer only when its deadline changes. Our clock is read once per
	 * wake-up and its own on every call, so a deadline set late in a busy wake-up can look
	 * due to us a little before it is to libcurl, which then finds nothing to do and says
	 * nothing: look again 1 ms later rather than spin until it is.
	 */
	if (c->timer_at == was)
		c->timer_at = c->now + 1;
}

/*
 * Starts what may start now. New transfers ask for libcurl's timer at once; they are kicked
 * in the same wake-up, and whatever that ends (a refused connection, a request answered
 * from nothing) is settled and may free a slot for the next. Returns as start_due.
 */
static int64_t start_and_kick(struct http_client *c, unsigned *running)
{
	for (;;) {
		int64_t next = start_due(c, running, c->o.parallelism);
		if (!timer_due(c))
			return next;
		fire_timer(c);
		unsigned ended = reap(c);
		*running -= ended;
		if (ended == 0)
			return next;
	}
}

/* The one run loop: the n requests are xs (array given whole) or, with run->feed, asked for as
 * room frees. */
static void run_loop(struct http_client *c, struct run_ctx *run, struct xfer *xs,
		     struct http_req *reqs, struct http_resp *resps)
{
	struct sched sched;
	unsigned running = 0;
	struct epoll_event evs[HTTP_EPOLL_EVENTS] = {0};
	int nev = 0;
	bool back = false;	    /* the worker has finished slots to give back */
	int64_t tick_at = -1;	    /* next progress tick; -1: none wanted */
	size_t ticked = (size_t)-1; /* the count the last tick showed */
	size_t n = run->n;

	memset(&sched, 0, sizeof(sched));
	c->run = run;
	for (size_t i = 0; i < c->nbuckets; i++)
		memset(&c->buckets[i].ready, 0, sizeof(c->buckets[i].ready));
	/* the scheduler lives for this call only; c->sched is reset to NULL before returning */
	// cppcheck-suppress autoVariables
	c->sched = &sched;
	c->finished = 0;
	c->now = now_ms();
	if (c->tick)
		tick_at = c->now;
	if (!run->feed)
		xfers_setup(c, xs, reqs, resps, n);
	for (;;) {
		/* one wake-up: the ready sockets, libcurl's timer, then the scheduler */
		for (int i = 0; i < nev; i++) {
			if (run->wq && evs[i].data.fd == workq_fd(run->wq))
				back = true;
			else
				act(c, evs[i].data.fd, ready_bits(evs[i].events));
		}
		if (timer_due(c))
			fire_timer(c);
		running -= reap(c);
		if (back)
			(void)take_back(run);
		back = false;
		if (tick_at >= 0 && c->now >= tick_at) {
			c->tick(c->tick_ctx, c->finished, n);
			ticked = c->finished;
			tick_at = c->now + HTTP_TICK_MS;
		}
		int64_t next = start_and_kick(c, &running);
		/* a full window has room again once done has been called */
		while (deliver(run) && feed_room(run, running, c->o.parallelism))
			next = start_and_kick(c, &running);
		if (running == 0 && next < 0 && !(run->wq && workq_held(run->wq)))
			break;
		int wait = http_wait_ms(c->now, next, c->timer_at, tick_at,
					c->tick ? HTTP_TICK_MS : HTTP_POLL_MAX_MS);
		nev = epoll_wait(c->epfd, evs, HTTP_EPOLL_EVENTS, wait);
		if (nev < 0)
			nev = 0; /* EINTR: a signal's handler ran; look again */
		c->now = now_ms();
	}
	/* the last word is the final count */
	if (c->tick && ticked != c->finished)
		c->tick(c->tick_ctx, c->finished, n);
	free(sched.heap);
	free(run->ended);
	c->sched = NULL;
	c->run = NULL;
}

int http_run_each(struct http_client *c, struct http_req *reqs, struct http_resp *resps, size_t n,
		  http_done_fn done, void *arg)
{
	struct xfer *xs = n ? xcalloc(n, sizeof(*xs)) : NULL;
	struct run_ctx run;

	memset(&run, 0, sizeof(run));
	run.done = done;
	run.arg = arg;
	run.n = n;
	run_loop(c, &run, xs, reqs, resps);
	for (size_t i = 0; i < n; i++) {
		sb_release(&xs[i].body);
		curl_url_cleanup(xs[i].uh);
	}
	free(xs);
	return run.first_rc;
}

/* Watches the worker's descriptor with the sockets; false when it cannot be watched. */
static bool watch_worker(struct http_client *c, struct workq *wq)
{
	struct epoll_event ev = {.events = EPOLLIN};
	ev.data.fd = workq_fd(wq);
	return epoll_ctl(c->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) == 0;
}

static int run_fed(struct http_client *c, size_t n, size_t window, http_feed_fn feed,
		   http_done_fn done, void *arg, bool worker)
{
	struct run_ctx run;

	memset(&run, 0, sizeof(run));
	run.done = done;
	run.arg = arg;
	run.n = n;
	run.feed = feed;
	run.window = window ? window : (size_t)HTTP_FED_WINDOW * c->o.parallelism;
	if (run.window < c->o.parallelism)
		run.window = c->o.parallelism; /* fewer would leave connections idle */
	/* no worker: done runs on this thread, as http_run_fed */
	if (worker && done && n > 1 && (run.wq = workq_start(hand_over_item, &run)) &&
	    !watch_worker(c, run.wq)) {
		workq_stop(run.wq);
		run.wq = NULL;
	}
	run_loop(c, &run, NULL, NULL, NULL);
	if (run.wq) {
		(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, workq_fd(run.wq), NULL);
		workq_stop(run.wq);
	}
	free(run.back);
	while (run.free) {
		struct slot *sl = run.free;
		run.free = sl->next;
		free(sl);
	}
	return run.first_rc;
}

int http_run_fed(struct http_client *c, size_t n, size_t window, http_feed_fn feed,
		 http_done_fn done, void *arg)
{
	return run_fed(c, n, window, feed, done, arg, false);
}

int http_run_fed_worker(struct http_client *c, size_t n, size_t window, http_feed_fn feed,
			http_done_fn done, void *arg)
{
	return run_fed(c, n, window, feed, done, arg, true);
}

void http_set_tick(struct http_client *c, http_tick_fn fn, void *ctx)
{
	c->tick = fn;
	c->tick_ctx = ctx;
}

const char *http_lib_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}
