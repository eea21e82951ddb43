#include "reconcile/base/compat.h"
#include "reconcile/verify.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define VERIFY_ITEM_MAX 1024 /* "purge 'ID' on 'ENDPOINT'" */

int64_t verify_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- which URLs ---- */

/* The endpoint's edge member, else its account's. */
static const char *edge_member(const struct endpoint *ep, size_t off)
{
	const struct sval *own = (const struct sval *)((const char *)&ep->edge + off);
	const struct sval *acc =
	    ep->account ? (const struct sval *)((const char *)&ep->account->edge + off) : NULL;
	if (own->s)
		return own->s;
	return acc ? acc->s : NULL;
}

static struct verify_probe *find(struct verify_set *s, const char *url, const char *endpoint)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].url, url) == 0 && strcmp(s->v[i].endpoint, endpoint) == 0)
			return &s->v[i];
	return NULL;
}

static void add_url(struct verify_set *s, const struct endpoint *ep, const struct purge *m,
		    const char *url, enum verify_kind kind)
{
	struct verify_probe *p = find(s, url, ep->name.s);
	if (p) {
		if (kind == VERIFY_PRELOAD)
			p->kind = VERIFY_PRELOAD; /* a warm URL cannot also be shown purged */
		return;
	}
	xgrow(&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	p = &s->v[s->n++];
	memset(p, 0, sizeof(*p));
	p->url = xstrdup(url);
	p->purge = xstrdup(m->id.s);
	p->endpoint = xstrdup(ep->name.s);
	p->connect_to = edge_member(ep, offsetof(struct edge_cfg, connect_to));
	p->kind = kind;
	p->age_s = -1;
}

static void add_entries(struct verify_set *s, const struct endpoint *ep, const struct purge *m,
			const struct svec *v, enum verify_kind kind)
{
	const char *scheme = edge_member(ep, offsetof(struct edge_cfg, scheme));
	struct sb url;
	sb_init(&url, 0);
	for (size_t i = 0; i < v->n; i++) {
		const char *e = v->v[i].s, *rest = strstr(e, "://");
		if (rest &&
		    (strncasecmp(e, "http://", 7) == 0 || strncasecmp(e, "https://", 8) == 0)) {
			sb_reset(&url);
			if (scheme)
				sb_addf(&url, "%s%s", scheme, rest);
			else
				sb_adds(&url, e);
			add_url(s, ep, m, url.buf, kind);
			continue;
		}
		for (size_t h = 0; e[0] == '/' && h < ep->hosts.n; h++) {
			sb_reset(&url);
			sb_addf(&url, "%s://%s%s",
				scheme	       ? scheme
				: ep->scheme.s ? ep->scheme.s
					       : "https",
				ep->hosts.v[h].s, e);
			add_url(s, ep, m, url.buf, kind);
		}
	}
	sb_release(&url);
}

void verify_add(struct verify_set *s, const struct endpoint *ep, const struct purge *m)
{
	add_entries(s, ep, m, &m->files, VERIFY_PURGE);
	add_entries(s, ep, m, &m->preload, VERIFY_PRELOAD);
}

static bool item_done(const struct apply_result *r, const char *purge, const char *endpoint)
{
	char want[VERIFY_ITEM_MAX];
	snprintf(want, sizeof(want), "purge '%s' on '%s'", purge, endpoint);
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].outcome == APPLY_DONE && strcmp(r->v[i].what, want) == 0)
			return true;
	return false;
}

size_t verify_add_applied(struct verify_set *s, const struct config *cfg, const struct plan *p,
			  const struct apply_result *r)
{
	size_t n = 0;
	for (size_t i = 0; i < p->npurges; i++) {
		const struct plan_purge *pp = &p->purges[i];
		const struct purge *m = config_purge(cfg, pp->id);
		const struct endpoint *ep = config_endpoint(cfg, pp->endpoint);
		if (!m || !ep || !item_done(r, pp->id, pp->endpoint))
			continue;
		verify_add(s, ep, m);
		n++;
	}
	return n;
}

/* ---- judging ---- */

static bool says_hit(const char *x_cache)
{
	for (const char *p = x_cache; p && *p; p++)
		if (strncasecmp(p, "HIT", 3) == 0)
			return true;
	return false;
}

enum verify_verdict verify_judge(enum verify_kind kind, const char *x_cache, const char *age,
				 int64_t since_ms)
{
	char *end = NULL;
	long long a;
	if (!says_hit(x_cache))
		return kind == VERIFY_PRELOAD ? VERIFY_NO : VERIFY_OK;
	if (kind == VERIFY_PRELOAD)
		return VERIFY_OK;
	/* A hit cached after the apply began was fetched after the purge took effect. */
	if (age && isdigit((unsigned char)*age)) {
		errno = 0;
		a = strtoll(age, &end, 10);
		if (errno == 0 && *end == '\0' && a <= (since_ms + VERIFY_AGE_SLACK_MS) / 1000)
			return VERIFY_OK;
	}
	return VERIFY_NOT_YET;
}

/* ---- probing ---- */

static bool open_probe(const struct verify_probe *p)
{
	return p->probes == 0 || (p->answered && p->verdict == VERIFY_NOT_YET);
}

static void take_answer(struct verify_probe *p, const struct http_resp *resp,
			const struct verify_opts *o, int64_t elapsed)
{
	const char *xc = http_resp_header(resp, "x-cache"), *age = http_resp_header(resp, "age");
	char *end = NULL;
	p->probes++;
	p->ms = elapsed;
	free(p->error);
	p->error = NULL;
	if (resp->rc != 0) {
		p->answered = false;
		p->error = xstrdup(resp->err.msg[0] ? resp->err.msg : "no answer");
		return;
	}
	p->answered = true;
	p->status = resp->status;
	snprintf(p->x_cache, sizeof(p->x_cache), "%s", xc ? xc : "");
	p->age_s = age ? strtoll(age, &end, 10) : -1;
	if (age && (*end || p->age_s < 0))
		p->age_s = -1;
	p->verdict = verify_judge(p->kind, xc, age, verify_wall_ms() - o->applied_ms);
}

/* One http_run() batch of every open probe. Returns how many were sent. */
static size_t probe_round(struct http_client *c, struct verify_set *s, const struct verify_opts *o,
			  int64_t started)
{
	struct http_req *reqs = xcalloc(s->n ? s->n : 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(s->n ? s->n : 1, sizeof(*resps));
	size_t *idx = xcalloc(s->n ? s->n : 1, sizeof(*idx)), n = 0;
	struct sb what;
	sb_init(&what, 0);
	for (size_t i = 0; i < s->n; i++) {
		if (!open_probe(&s->v[i]))
			continue;
		sb_reset(&what);
		sb_addf(&what, "verify: purge '%s' on '%s': %s", s->v[i].purge, s->v[i].endpoint,
			s->v[i].url);
		http_req_init(&reqs[n], "GET", s->v[i].url, what.buf);
		reqs[n].retry = HTTP_RETRY_SAFE;
		reqs[n].connect_to = s->v[i].connect_to;
		idx[n++] = i;
	}
	if (n)
		(void)http_run(c, reqs, resps, n);
	for (size_t k = 0; k < n; k++) {
		take_answer(&s->v[idx[k]], &resps[k], o, mono_ms() - started);
		http_req_release(&reqs[k]);
		http_resp_release(&resps[k]);
	}
	sb_release(&what);
	free(reqs);
	free(resps);
	free(idx);
	return n;
}

size_t verify_failed(const struct verify_set *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!s->v[i].answered || s->v[i].verdict != VERIFY_OK)
			n++;
	return n;
}

int verify_run(struct http_client *c, struct verify_set *s, const struct verify_opts *o,
	       struct cf_err *e)
{
	int64_t started = mono_ms(), wait = VERIFY_FIRST_WAIT_MS;
	int64_t deadline = started + (o->timeout_ms > 0 ? o->timeout_ms : VERIFY_TIMEOUT_MS);
	size_t answered = 0;
	while (probe_round(c, s, o, started) > 0) {
		bool left = false;
		for (size_t i = 0; i < s->n; i++)
			left = left || open_probe(&s->v[i]);
		if (!left || mono_ms() + wait > deadline)
			break;
		sleep_ms(wait);
		wait = wait + wait / 2 < VERIFY_MAX_WAIT_MS ? wait + wait / 2 : VERIFY_MAX_WAIT_MS;
	}
	for (size_t i = 0; i < s->n; i++)
		answered += s->v[i].answered;
	if (s->n && !answered)
		return err_set(e, CF_ENET, "verify: no probe got an answer (first: %s)",
			       s->v[0].error ? s->v[0].error : "no answer");
	return verify_failed(s) ? CF_EAPI : 0;
}

/* ---- report ---- */

static const char *label(const struct verify_probe *p)
{
	if (!p->answered)
		return "NO ANSWER";
	if (p->kind == VERIFY_PRELOAD)
		return p->verdict == VERIFY_OK ? "warm" : "NOT WARM";
	return p->verdict == VERIFY_OK ? "visible" : "NOT VISIBLE";
}

void verify_report(const struct verify_set *s, FILE *f)
{
	size_t visible = 0, warm = 0;
	fprintf(f, "\nVerify at the edge (%zu URL%s):\n", s->n, s->n == 1 ? "" : "s");
	for (size_t i = 0; i < s->n; i++) {
		const struct verify_probe *p = &s->v[i];
		fprintf(f, "  %-11s purge '%s' on '%s': %s%s", label(p), p->purge, p->endpoint,
			p->kind == VERIFY_PRELOAD ? "preload " : "", p->url);
		if (!p->answered) {
			fprintf(f, " (%s)\n", p->error ? p->error : "no answer");
			continue;
		}
		fprintf(f, " (HTTP %ld, X-Cache %s", p->status,
			p->x_cache[0] ? p->x_cache : "absent");
		if (p->age_s >= 0)
			fprintf(f, ", Age %lld", (long long)p->age_s);
		fprintf(f, ", after %lld ms, %u probe%s)\n", (long long)p->ms, p->probes,
			p->probes == 1 ? "" : "s");
		if (p->verdict == VERIFY_OK)
			*(p->kind == VERIFY_PRELOAD ? &warm : &visible) += 1;
	}
	fprintf(f, "Verify: %zu purge%s visible, %zu preload%s warm, %zu failed.\n", visible,
		visible == 1 ? "" : "s", warm, warm == 1 ? "" : "s", verify_failed(s));
}

void verify_release(struct verify_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].url);
		free(s->v[i].purge);
		free(s->v[i].endpoint);
		free(s->v[i].error);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}
