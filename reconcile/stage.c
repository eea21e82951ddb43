/* CDN Pro staging probes and promotion (see stage.h). */
#include "reconcile/base/compat.h"
#include "reconcile/stage.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconcile/apply.h"
#include "reconcile/ledger.h"
#include "reconcile/prov_cdnpro_el.h"
#include "reconcile/repo_ledger.h"
#include "reconcile/repo_remote.h"
#include "reconcile/sem.h"
#include "reconcile/base/nameidx.h"
#include "reconcile/base/xmem.h"

#define STAGE_IP_MAX	  64
#define STAGE_CONNECT_MAX 96
#define STAGE_URL_MAX	  4200

enum stage_decision stage_decide(const struct pro_el_deployed *d)
{
	if (!d->staging)
		return STAGE_SKIP;
	if (d->staging == d->production)
		return STAGE_SAME;
	/* the API's deployment times have whole seconds: a production deployment in the same
	 * second as staging's is not seen as later */
	if (d->production_at && d->staging_at && d->production_at > d->staging_at)
		return STAGE_REFUSE;
	return STAGE_PROMOTE;
}

int64_t stage_age_parse(const char *age)
{
	char *end = NULL;
	long long a;
	if (!age || !isdigit((unsigned char)*age))
		return -1;
	errno = 0;
	a = strtoll(age, &end, 10);
	return errno == 0 && *end == '\0' ? (int64_t)a : -1;
}

void stage_probe_judge(const struct sem_result *want, const struct stage_seen *seen,
		       struct stage_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->hit = seen->x_cache && strstr(seen->x_cache, "HIT") != NULL;
	/* no rule of the YAML decides: the origin and the foreign Edge Logic do (plan names the
	 * paths a foreign location takes); listed, not judged */
	v->judged = want->mode != SEM_ORIGIN;
	/* the origin's Cache-Control reaches the client as the origin sent it (cache directives
	 * change the edge's TTL only), so the YAML's TTL for this answer can be worked out */
	v->want_ttl = sem_effective_ttl(want, seen->cache_control, STAGE_CDNPRO_DEFAULT_TTL_S);
	/* a fresh hit's Age is below the TTL the edge applies: Age >= the YAML's TTL proves a
	 * longer one (e.g. an object cached under the previous version's rule) */
	v->longer = v->hit && v->want_ttl > 0 && seen->age >= v->want_ttl;
	v->ok =
	    seen->answered && (!v->judged || (v->want_ttl > 0 ? v->hit && !v->longer : !v->hit));
}

bool stage_applies(const struct endpoint *ep)
{
	return ep->account && ep->account->provider == PROV_CDNPRO && ep->mode == MODE_MANAGE &&
	       ep->remote.property_id.s;
}

void stage_force_staging(struct engine *en, bool *own_staging)
{
	for (size_t i = 0; i < en->neps; i++) {
		struct endpoint *ep = en->eps[i].ep;
		if (!stage_applies(ep))
			continue;
		if (own_staging)
			own_staging[i] =
			    ep->remote.target.s && strcmp(ep->remote.target.s, "staging") == 0;
		free(ep->remote.target.s);
		ep->remote.target.s = xstrdup("staging");
	}
}

/* The endpoint's edge member, else its account's; NULL when neither sets it. */
static const char *edge_of(const struct endpoint *ep, bool scheme)
{
	const struct sval *mine = scheme ? &ep->edge.scheme : &ep->edge.connect_to;
	const struct sval *acct =
	    scheme ? &ep->account->edge.scheme : &ep->account->edge.connect_to;
	return mine->s ? mine->s : acct->s;
}

struct probe {
	const struct eng_endpoint *x;
	char url[STAGE_URL_MAX];
	char connect[STAGE_CONNECT_MAX];
	struct sem_result want;
	char x_cache[64];
	char cc[STAGE_CC_MAX]; /* the answer's Cache-Control ("" when none) */
	int64_t age;	       /* the answer's Age, -1 when absent */
	long status;
	bool answered;
};

/* The staging server of each account used, in one batch: ips[i] for en->accts[i]. */
static int staging_ips(struct engine *en, char (*ips)[STAGE_IP_MAX], struct cf_err *e)
{
	struct http_req *reqs = xcalloc(en->naccts + 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(en->naccts + 1, sizeof(*resps));
	const struct endpoint **who = xcalloc(en->naccts + 1, sizeof(*who));
	size_t *acct = xcalloc(en->naccts + 1, sizeof(*acct));
	size_t n = 0;
	int rc = 0;
	for (size_t a = 0; a < en->naccts && rc == 0; a++) {
		for (size_t i = 0; i < en->neps && !who[n]; i++)
			if (en->eps[i].acct == &en->accts[a] && stage_applies(en->eps[i].ep) &&
			    en->accts[a].pa)
				who[n] = en->eps[i].ep;
		if (!who[n])
			continue;
		acct[n] = a;
		rc = pro_el_staging_req(en->accts[a].pa, who[n], &reqs[n], e);
		n += rc == 0;
	}
	if (rc == 0)
		(void)http_run(en->http, reqs, resps, n);
	for (size_t k = 0; k < n; k++) {
		if (rc == 0)
			rc = pro_el_staging_parse(who[k], &resps[k], ips[acct[k]], STAGE_IP_MAX, e);
		http_req_release(&reqs[k]);
		http_resp_release(&resps[k]);
	}
	free(reqs);
	free(resps);
	free(who);
	free(acct);
	return rc;
}

/* The probe of entry s on x, or false when s names another endpoint's host. */
static bool probe_of(const struct eng_endpoint *x, const char *s, const char *ip, struct probe *p)
{
	const struct endpoint *ep = x->ep;
	char path[SEM_PATH_MAX];
	const char *host = ep->hosts.n ? ep->hosts.v[0].s : NULL, *rest = s;
	if (!host || !ip[0] || sem_path_of(s, path, sizeof(path)) != 0)
		return false;
	const char *sep = strstr(s, "://");
	if (sep) {
		const char *h = sep + 3;
		size_t hl = strcspn(h, "/?#:");
		bool mine = false;
		for (size_t i = 0; i < ep->hosts.n && !mine; i++)
			mine = strlen(ep->hosts.v[i].s) == hl &&
			       strncasecmp(ep->hosts.v[i].s, h, hl) == 0;
		if (!mine)
			return false;
		rest = h + strcspn(h, "/?#");
		host = NULL; /* keep the URL's own host */
	}
	memset(p, 0, sizeof(*p));
	p->x = x;
	const char *scheme = edge_of(ep, true) ? edge_of(ep, true) : "https";
	const char *ct = edge_of(ep, false), *port = ct ? strrchr(ct, ':') : NULL;
	snprintf(p->connect, sizeof(p->connect), "%s:%s", ip,
		 port			       ? port + 1
		 : strcmp(scheme, "http") == 0 ? "80"
					       : "443");
	if (host)
		snprintf(p->url, sizeof(p->url), "%s://%s%s", scheme, host, rest);
	else
		snprintf(p->url, sizeof(p->url), "%s://%.*s%s", scheme,
			 (int)strcspn(sep + 3, "/?#"), sep + 3, rest);
	sem_desired(&ep->cache, path, &p->want);
	return true;
}

/* One GET of every probe; the answers' X-Cache kept. */
static void probe_round(struct engine *en, struct probe *v, size_t n)
{
	struct http_req *reqs = xcalloc(n + 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(n + 1, sizeof(*resps));
	for (size_t i = 0; i < n; i++) {
		http_req_init(&reqs[i], "GET", v[i].url, "staging probe");
		reqs[i].connect_to = v[i].connect;
	}
	(void)http_run(en->http, reqs, resps, n);
	for (size_t i = 0; i < n; i++) {
		const char *xc = http_resp_header(&resps[i], "x-cache");
		const char *cc = http_resp_header(&resps[i], "cache-control");
		v[i].answered = resps[i].rc == 0 && resps[i].status > 0;
		v[i].status = resps[i].status;
		v[i].age = stage_age_parse(http_resp_header(&resps[i], "age"));
		snprintf(v[i].x_cache, sizeof(v[i].x_cache), "%s", xc ? xc : "");
		snprintf(v[i].cc, sizeof(v[i].cc), "%s", cc ? cc : "");
		http_req_release(&reqs[i]);
		http_resp_release(&resps[i]);
	}
	free(reqs);
	free(resps);
}

int stage_probe(struct engine *en, const struct svec *urls, FILE *out, size_t *bad,
		struct cf_err *e)
{
	char(*ips)[STAGE_IP_MAX] = xcalloc(en->naccts + 1, sizeof(*ips));
	struct probe *v = NULL;
	size_t n = 0, cap = 0, shown = 0;
	*bad = 0;
	int rc = staging_ips(en, ips, e);
	for (size_t i = 0; rc == 0 && i < en->neps; i++) {
		const struct eng_endpoint *x = &en->eps[i];
		if (!stage_applies(x->ep))
			continue;
		for (size_t u = 0; u < urls->n; u++) {
			xgrow(&v, &cap, n + 1, sizeof(*v));
			n += probe_of(x, urls->v[u].s, ips[x->acct - en->accts], &v[n]);
		}
	}
	if (rc == 0 && n) {
		probe_round(en, v, n); /* fills the staging cache */
		probe_round(en, v, n); /* what a second client gets */
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct probe *p = &v[i];
		struct stage_seen seen = {p->answered, p->x_cache, p->age, p->cc[0] ? p->cc : NULL};
		struct stage_verdict vd;
		stage_probe_judge(&p->want, &seen, &vd);
		*bad += !vd.ok;
		if (shown++ >= STAGE_SHOWN_MAX)
			continue;
		fprintf(out, "  %s %s via %s: ", vd.ok ? "ok  " : "FAIL", p->url, p->connect);
		if (!p->answered) {
			fprintf(out, "no answer\n");
			continue;
		}
		fprintf(out, "HTTP %ld, X-Cache %s", p->status,
			p->x_cache[0] ? p->x_cache : "(none)");
		if (p->age >= 0)
			fprintf(out, ", Age %lld", (long long)p->age);
		if (!vd.judged)
			fprintf(out, "; the origin decides (not judged)\n");
		else if (vd.ok)
			fprintf(out, "; expected TTL %lld s, %s\n", (long long)vd.want_ttl,
				vd.want_ttl > 0 ? "cached" : "not cached");
		else if (vd.longer)
			fprintf(out,
				"; expected TTL %lld s, observed TTL > %lld s (a hit at Age %lld: "
				"cached longer than the YAML says, e.g. under an earlier rule)\n",
				(long long)vd.want_ttl, (long long)p->age, (long long)p->age);
		else
			fprintf(out, "; expected TTL %lld s, observed TTL %s\n",
				(long long)vd.want_ttl,
				vd.hit ? "> 0 s (cached)" : "0 s (not cached)");
	}
	if (rc == 0 && shown > STAGE_SHOWN_MAX)
		fprintf(out, "  ... and %zu more probes\n", shown - STAGE_SHOWN_MAX);
	if (rc == 0)
		fprintf(out, "Staging probes: %zu, %zu failed.\n", n, *bad);
	free(v);
	free(ips);
	return rc;
}

/* ---- promotion ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Sends the deployment task of one account and waits for it. */
static int promote_account(struct engine *en, struct eng_account *a, const struct endpoint **eps,
			   const int64_t *versions, size_t n, int64_t deadline,
			   const volatile sig_atomic_t *interrupt, FILE *out, char *task_id,
			   struct cf_err *e)
{
	struct http_req req;
	struct http_resp resp;
	struct task t;
	memset(&t, 0, sizeof(t));
	int rc = pro_el_promote_req(a->pa, eps, versions, n, &req, e);
	if (rc < 0)
		return rc;
	memset(&resp, 0, sizeof(resp));
	(void)http_run(en->http, &req, &resp, 1);
	http_req_release(&req);
	rc = a->ops->write_parse(eps[0], &resp, &t, e);
	http_resp_release(&resp);
	int64_t wait = STAGE_POLL_FIRST_MS;
	while (rc == 0 && t.state == TASK_RUNNING) {
		if (now_ms() > deadline || (interrupt && *interrupt)) {
			rc =
			    err_set(e, CF_ETIMEOUT, "deployment task %s still runs; not waited for",
				    t.id ? t.id : "?");
			break;
		}
		sleep_ms(wait);
		wait = wait * 3 / 2 > STAGE_POLL_MAX_MS ? STAGE_POLL_MAX_MS : wait * 3 / 2;
		rc = a->ops->poll_req(a->pa, eps[0], &t, &req, e);
		if (rc < 0)
			break;
		memset(&resp, 0, sizeof(resp));
		(void)http_run(en->http, &req, &resp, 1);
		http_req_release(&req);
		rc = a->ops->poll_parse(eps[0], &resp, &t, e);
		http_resp_release(&resp);
	}
	if (rc == 0 && t.state == TASK_FAILED)
		rc = err_set(e, CF_EAPI, "deployment task %s to production failed: %s",
			     t.id ? t.id : "?", t.message ? t.message : "no detail");
	if (rc == 0)
		fprintf(out, "Promoted %zu propert%s to production (task %s).\n", n,
			n == 1 ? "y" : "ies", t.id ? t.id : "?");
	snprintf(task_id, LEDGER_DEPLOY_ID_MAX, "%s", t.id ? t.id : "");
	task_release(&t);
	return rc;
}

/* ---- the ledger ---- */

/* One ledger commit of endpoint or staging records, pushed when the ledger has a remote. */
static int ledger_put(struct engine *en, const struct ledger_endpoint *v, size_t n, const char *msg,
		      struct cf_err *e)
{
	bool local;
	if (!n || !en->rl)
		return 0;
	if (en->rr)
		return repo_remote_record(en->rr, en->rl, NULL, 0, v, n, msg, &local, e);
	return repo_ledger_record(en->rl, NULL, 0, v, n, msg, e);
}

/*
 * The rule writes of r that are done with a task, by endpoint: one lookup per staged endpoint
 * (a scan of r each was quadratic in the fleet). The first of an endpoint's writes wins, as
 * with the scan.
 */
static void write_tasks_index(const struct apply_result *r, struct nameidx *ix)
{
	nameidx_init(ix);
	for (size_t i = 0; r && i < r->n; i++) {
		const struct apply_item *it = &r->v[i];
		const struct apply_opres *op = &it->ops[APPLY_OP_RULES];
		if (!it->manifest && it->endpoint && it->outcome == APPLY_DONE && op->ntasks &&
		    op->tasks[op->ntasks - 1].id)
			nameidx_add(ix, it->endpoint, i);
	}
	nameidx_sort(ix);
}

/* The deployment task of x's rule write in r ("" when it wrote nothing or has no task). */
static const char *write_task(const struct apply_result *r, const struct nameidx *ix,
			      const struct eng_endpoint *x)
{
	size_t i = nameidx_find(ix, x->ep->name.s);
	if (i == NAMEIDX_NONE)
		return "";
	const struct apply_opres *op = &r->v[i].ops[APPLY_OP_RULES];
	return op->tasks[op->ntasks - 1].id;
}

/* An endpoint record for x, which its own target (staging) runs, unless the ledger's says so. */
static void own_record(struct engine *en, const struct eng_endpoint *x,
		       const struct ledger_endpoint *st, struct ledger_endpoint *v, size_t *n)
{
	const struct ledger_endpoint *old = ledger_find_endpoint(&en->led, x->ep->name.s);
	if (ledger_endpoint_current(old, x->live.digest, x->ep->account_name.s, &x->ep->cache) &&
	    old->version == st->version)
		return;
	v[*n] = *st; /* borrowed strings and rules, for encoding only */
	v[*n].staging = false;
	(*n)++;
}

int stage_record_staging(struct engine *en, const struct apply_result *r, const bool *own_staging,
			 size_t *n, struct cf_err *e)
{
	*n = 0;
	if (!en->rl)
		return 0; /* not in git: no ledger to record in */
	struct ledger_endpoint *v = xcalloc(2 * en->neps + 1, sizeof(*v));
	struct ledger_endpoint *old = xcalloc(en->neps + 1, sizeof(*old));
	struct nameidx tasks;
	size_t nv = 0;
	int rc = 0;
	write_tasks_index(r, &tasks);
	for (size_t i = 0; i < en->neps && rc >= 0; i++) {
		const struct eng_endpoint *x = &en->eps[i];
		struct pro_el_deployed d;
		struct ledger_endpoint le;
		if (!stage_applies(x->ep) || !x->read || x->rc < 0 ||
		    pro_el_deployed(&x->live, &d) < 0 || !d.staging ||
		    (!prov_cache_matches(&x->live, &x->ep->cache) &&
		     !prov_behaves_as(x->ep, &x->live)))
			continue; /* staging does not run the YAML: nothing to say it does */
		const char *task = write_task(r, &tasks, x);
		struct ledger_endpoint *o = &old[i];
		if ((rc = repo_ledger_staging(en->rl, x->ep->name.s, o, e)) < 0)
			break;
		bool same = rc == 1 && o->version == d.staging;
		memset(&le, 0, sizeof(le));
		le.name = x->ep->name.s;
		le.account = x->ep->account_name.s;
		snprintf(le.commit, sizeof(le.commit), "%s", en->commit);
		memcpy(le.digest, x->live.digest, sizeof(le.digest));
		le.applied_at = (int64_t)time(NULL);
		le.cache = x->ep->cache; /* borrowed for encoding only */
		le.staging = true;
		le.version = d.staging;
		/* the same version again (no write this run): the task that deployed it stays */
		snprintf(le.task, sizeof(le.task), "%s", task[0] ? task : same ? o->task : "");
		/* an unchanged staging record is kept: a no-op staging apply makes no commit */
		if (!same || task[0] || !cache_equal(&o->cache, &x->ep->cache)) {
			v[nv++] = le;
			(*n)++;
		}
		/* an endpoint whose own target is staging: this apply is its apply */
		if (own_staging && own_staging[i])
			own_record(en, x, &le, v, &nv);
	}
	if (rc >= 0)
		rc = ledger_put(en, v, nv, "cacheform apply --stage staging: finished", e);
	for (size_t i = 0; i < en->neps; i++)
		ledger_endpoint_release(&old[i]);
	nameidx_release(&tasks);
	free(old);
	free(v);
	return rc < 0 ? rc : 0;
}

/*
 * After a promotion: the promoted endpoints are read again (what production runs now) and
 * each one whose own target is production gets its endpoint record, like an apply's: the
 * commit and rules of the staging record when it names the version promoted (what was
 * staged), else HEAD's when production now runs them, else the rules read with no commit.
 */
static int promote_record(struct engine *en, const int64_t *versions,
			  const char (*tasks)[LEDGER_DEPLOY_ID_MAX], FILE *out, struct cf_err *e)
{
	struct eng_endpoint **xs = xcalloc(en->neps + 1, sizeof(*xs));
	struct ledger_endpoint *v = xcalloc(en->neps + 1, sizeof(*v));
	struct ledger_endpoint *st = xcalloc(en->neps + 1, sizeof(*st));
	size_t nx = 0, n = 0;
	int rc = 0;
	for (size_t i = 0; i < en->neps; i++)
		if (versions[i] && en->eps[i].ep->remote.target.s &&
		    strcmp(en->eps[i].ep->remote.target.s, "production") == 0)
			xs[nx++] = &en->eps[i];
	if (nx && en->rl)
		(void)engine_read(en, xs, nx);
	for (size_t k = 0; k < nx && en->rl && rc >= 0; k++) {
		struct eng_endpoint *x = xs[k];
		size_t i = (size_t)(x - en->eps);
		struct ledger_endpoint *le = &v[n], *s = &st[k];
		if (!x->read || x->rc < 0) {
			fprintf(out, "  %s: not read after the promotion (%s); not recorded\n",
				x->ep->name.s, x->rc < 0 ? engine_ep_why(x) : "no answer");
			continue;
		}
		if ((rc = repo_ledger_staging(en->rl, x->ep->name.s, s, e)) < 0)
			break;
		bool staged = rc == 1 && s->version == versions[i];
		le->name = x->ep->name.s;
		le->account = x->ep->account_name.s;
		memcpy(le->digest, x->live.digest, sizeof(le->digest));
		le->applied_at = (int64_t)time(NULL);
		le->version = versions[i];
		snprintf(le->task, sizeof(le->task), "%s", tasks[x->acct - en->accts]);
		if (staged) {
			snprintf(le->commit, sizeof(le->commit), "%s", s->commit);
			le->cache = s->cache; /* borrowed for encoding only */
			snprintf(le->promoted_from, sizeof(le->promoted_from), "%s", s->task);
		} else if (prov_cache_matches(&x->live, &x->ep->cache) ||
			   prov_behaves_as(x->ep, &x->live)) {
			snprintf(le->commit, sizeof(le->commit), "%s", en->commit);
			le->cache = x->ep->cache;
		} else {
			le->cache = x->live.cache; /* staged by someone else: no commit says it */
		}
		n++;
	}
	if (rc >= 0)
		rc = ledger_put(en, v, n, "cacheform apply --promote: finished", e);
	for (size_t k = 0; k < nx; k++)
		ledger_endpoint_release(&st[k]);
	free(st);
	free(v);
	free(xs);
	return rc < 0 ? rc : 0;
}

int stage_promote(struct engine *en, int64_t timeout_s, const volatile sig_atomic_t *interrupt,
		  FILE *out, struct cf_err *e)
{
	const struct endpoint **eps = xcalloc(en->neps + 1, sizeof(*eps));
	int64_t *versions = xcalloc(en->neps + 1, sizeof(*versions));
	int64_t deadline = now_ms() + timeout_s * 1000;
	char(*tasks)[LEDGER_DEPLOY_ID_MAX] = xcalloc(en->naccts + 1, sizeof(*tasks));
	size_t refused = 0;
	int rc = 0;
	/* every check first: nothing is sent when one property refuses */
	for (size_t i = 0; i < en->neps && rc == 0; i++) {
		const struct eng_endpoint *x = &en->eps[i];
		struct pro_el_deployed d;
		if (!stage_applies(x->ep))
			continue;
		if (x->rc < 0 || pro_el_deployed(&x->live, &d) < 0) {
			rc = err_set(e, x->rc < 0 ? x->rc : CF_EINVAL, "endpoint '%s': %s",
				     x->ep->name.s, x->rc < 0 ? engine_ep_why(x) : "not read");
			break;
		}
		enum stage_decision dec = stage_decide(&d);
		if (dec == STAGE_SKIP) {
			fprintf(out, "  %s: nothing in staging; skipped\n", x->ep->name.s);
		} else if (dec == STAGE_REFUSE) {
			fprintf(out,
				"  %s: REFUSED: production (version %lld) was deployed after "
				"staging (version %lld): someone else deployed; run apply --stage "
				"staging again\n",
				x->ep->name.s, (long long)d.production, (long long)d.staging);
			refused++;
		} else if (dec == STAGE_SAME) {
			fprintf(out, "  %s: production already runs version %lld\n", x->ep->name.s,
				(long long)d.staging);
		} else {
			fprintf(out, "  %s: version %lld: staging -> production (was %lld)\n",
				x->ep->name.s, (long long)d.staging, (long long)d.production);
			versions[i] = d.staging;
		}
	}
	if (rc == 0 && refused)
		rc = err_set(e, CF_ECONFLICT,
			     "%zu propert%s changed in production since staging was deployed; "
			     "nothing was promoted",
			     refused, refused == 1 ? "y" : "ies");
	/* one task per account: a task is one customer's */
	size_t upto = 0; /* accounts [0, upto) were promoted */
	for (size_t a = 0; rc == 0 && a < en->naccts; a++) {
		const struct endpoint **mine = xcalloc(en->neps + 1, sizeof(*mine));
		int64_t *vs = xcalloc(en->neps + 1, sizeof(*vs));
		size_t n = 0;
		for (size_t i = 0; i < en->neps; i++)
			if (versions[i] && en->eps[i].acct == &en->accts[a]) {
				mine[n] = en->eps[i].ep;
				vs[n++] = versions[i];
			}
		if (n)
			rc = promote_account(en, &en->accts[a], mine, vs, n, deadline, interrupt,
					     out, tasks[a], e);
		upto = rc == 0 ? a + 1 : a;
		free(mine);
		free(vs);
	}
	/* what was promoted is recorded, even when a later account's task failed */
	bool any = false;
	for (size_t i = 0; i < en->neps; i++) {
		if ((size_t)(en->eps[i].acct - en->accts) >= upto)
			versions[i] = 0;
		any = any || versions[i];
	}
	if (any) {
		struct cf_err re;
		err_clear(&re);
		int rrc = promote_record(en, versions, tasks, out, &re);
		if (rrc < 0 && rc == 0) {
			rc = rrc;
			*e = re;
		} else if (rrc < 0) {
			fprintf(out, "  the ledger could not record the promotion: %s\n", re.msg);
		}
	}
	free(eps);
	free(versions);
	free(tasks);
	return rc;
}
