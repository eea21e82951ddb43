#include "reconcile/base/compat.h"
#include "reconcile/engine.h"
#include "reconcile/shard.h"

#include <fnmatch.h>

#include "reconcile/base/nameidx.h"
#include "reconcile/base/near.h"
#include "reconcile/base/progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconcile/claimant.h"
#include "reconcile/repo.h"
#include "reconcile/pending.h"
#include "reconcile/repo_ledger.h"
#include "reconcile/repo_remote.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define ENGINE_DEFAULT_PARALLELISM 8
#define ENGINE_CDNPRO_RATE	   30 /* requests per minute (CDN Pro's documented default) */
#define ENGINE_CDNPRO_BURST	   60
#define DAY_S			   86400

/* reads built and not yet answered at once, at most: the running ones and those waiting for
 * a token or a retry; room for requests of other accounts while one account's bucket is dry */
#define ENGINE_READ_CHUNK (4 * HTTP_PARALLELISM_MAX)

static struct eng_account *account_slot(struct engine *en, const struct account *a)
{
	for (size_t i = 0; i < en->naccts; i++)
		if (en->accts[i].a == a)
			return &en->accts[i];
	return NULL;
}

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static bool matches_any(const char *name, const struct svec *pats)
{
	for (size_t i = 0; pats && i < pats->n; i++)
		if (fnmatch(pats->v[i].s, name, 0) == 0)
			return true;
	return false;
}

bool engine_selects(const char *name, const struct svec *only, const struct svec *exclude)
{
	return (!only || !only->n || matches_any(name, only)) && !matches_any(name, exclude);
}

/* A pattern without fnmatch's special characters matches only itself. */
static bool is_literal(const char *p)
{
	return strpbrk(p, "*?[\\") == NULL;
}

/*
 * Every -e or --exclude pattern must name (or match) some endpoint: a typo is an error with
 * the nearest name, not a silently empty selection. `apply plan.json` passes every endpoint of
 * the plan as a pattern: a name is looked up in an index, and the nearest name is sought only
 * for a miss (an edit distance to each endpoint per pattern was quadratic, issue 17).
 */
static int check_patterns(const struct config *c, const struct svec *pats, const char *opt,
			  struct cf_err *e)
{
	struct nameidx names;
	int rc = 0;
	nameidx_init(&names);
	for (size_t k = 0; pats && pats->n && k < c->nendpoints; k++)
		nameidx_add(&names, c->endpoints[k].name.s, k);
	nameidx_sort(&names);
	for (size_t i = 0; pats && i < pats->n && rc == 0; i++) {
		const char *p = pats->v[i].s;
		bool hit = false;
		if (is_literal(p))
			hit = nameidx_find(&names, p) != NAMEIDX_NONE;
		for (size_t k = 0; !is_literal(p) && k < c->nendpoints && !hit; k++)
			hit = fnmatch(p, c->endpoints[k].name.s, 0) == 0;
		if (hit)
			continue;
		struct near n;
		near_init(&n, p);
		for (size_t k = 0; k < c->nendpoints; k++)
			near_offer(&n, c->endpoints[k].name.s);
		if (is_glob(p))
			rc = err_set(e, CF_EINVAL, "%s '%s' matches no endpoint", opt, p);
		else if (near_result(&n))
			rc = err_set(e, CF_EINVAL, "unknown endpoint '%s' (%s); did you mean '%s'?",
				     p, opt, near_result(&n));
		else
			rc = err_set(e, CF_EINVAL, "unknown endpoint '%s' (%s)", p, opt);
	}
	nameidx_release(&names);
	return rc;
}

/* Every --purge pattern must name (or match) a manifest, like -e for endpoints. */
static int check_purges(const struct config *c, const struct svec *pats, struct cf_err *e)
{
	for (size_t i = 0; pats && i < pats->n; i++) {
		const char *p = pats->v[i].s;
		bool hit = false;
		struct near n;
		near_init(&n, p);
		for (size_t k = 0; k < c->npurges && !hit; k++) {
			hit = fnmatch(p, c->purges[k].id.s, 0) == 0;
			near_offer(&n, c->purges[k].id.s);
		}
		if (hit)
			continue;
		if (is_glob(p))
			return err_set(e, CF_EINVAL, "--purge '%s' matches no purge manifest", p);
		if (near_result(&n))
			return err_set(e, CF_EINVAL,
				       "unknown purge manifest '%s' (--purge); did you mean '%s'?",
				       p, near_result(&n));
		return err_set(e, CF_EINVAL, "unknown purge manifest '%s' (--purge)", p);
	}
	return 0;
}

/* True when the manifest is planned: no --purge, or one of them matches its id. */
static bool purge_selected(const struct engine *en, const struct purge *m)
{
	return !en->purges || !en->purges->n || matches_any(m->id.s, en->purges);
}

/* With --purge, an endpoint is selected only when a selected manifest targets it. */
static bool purge_targets(const struct engine *en, const char *name)
{
	if (!en->purges || !en->purges->n)
		return true;
	for (size_t i = 0; i < en->cfg->npurges; i++) {
		const struct purge *m = &en->cfg->purges[i];
		for (size_t k = 0; purge_selected(en, m) && k < m->endpoints.n; k++)
			if (strcmp(m->endpoints.v[k].s, name) == 0)
				return true;
	}
	return false;
}

/*
 * -e or --exclude as a lookup: names by an index, globs by fnmatch. `apply plan.json` selects
 * with one pattern per planned endpoint: each endpoint against each pattern was quadratic.
 */
struct patset {
	struct nameidx names;
	const char **globs;
	size_t nglobs;
};

static void patset_init(struct patset *ps, const struct svec *pats)
{
	nameidx_init(&ps->names);
	ps->globs = xcalloc((pats ? pats->n : 0) + 1, sizeof(*ps->globs));
	ps->nglobs = 0;
	for (size_t i = 0; pats && i < pats->n; i++) {
		if (is_literal(pats->v[i].s))
			nameidx_add(&ps->names, pats->v[i].s, i);
		else
			ps->globs[ps->nglobs++] = pats->v[i].s;
	}
	nameidx_sort(&ps->names);
}

static bool patset_matches(const struct patset *ps, const char *name)
{
	if (nameidx_find(&ps->names, name) != NAMEIDX_NONE)
		return true;
	for (size_t i = 0; i < ps->nglobs; i++)
		if (fnmatch(ps->globs[i], name, 0) == 0)
			return true;
	return false;
}

static void patset_release(struct patset *ps)
{
	nameidx_release(&ps->names);
	free(ps->globs);
}

static int select_endpoints(struct engine *en, const struct svec *only, const struct svec *exclude,
			    const struct shard *shard, struct cf_err *e)
{
	const struct config *c = en->cfg;
	int rc = check_patterns(c, only, "-e", e);
	if (rc == 0)
		rc = check_patterns(c, exclude, "--exclude", e);
	if (rc == 0)
		rc = check_purges(c, en->purges, e);
	if (rc < 0)
		return rc;
	en->accts = xcalloc(c->naccounts + 1, sizeof(*en->accts));
	for (size_t i = 0; i < c->naccounts; i++) {
		en->accts[i].a = &c->accounts[i];
		en->accts[i].ops = prov_get(c->accounts[i].provider);
	}
	en->naccts = c->naccounts;
	en->eps = xcalloc(c->nendpoints + 1, sizeof(*en->eps));
	struct patset in, out;
	patset_init(&in, only);
	patset_init(&out, exclude);
	for (size_t i = 0; i < c->nendpoints; i++) {
		struct endpoint *ep = &c->endpoints[i];
		/* engine_selects(), through the lookups */
		if ((only && only->n && !patset_matches(&in, ep->name.s)) ||
		    patset_matches(&out, ep->name.s) || !purge_targets(en, ep->name.s) ||
		    (shard && !shard_takes(shard, ep->account, ep->name.s)))
			continue;
		struct eng_endpoint *x = &en->eps[en->neps++];
		x->ep = ep;
		x->acct = account_slot(en, ep->account);
		x->acct->used = true;
	}
	patset_release(&in);
	patset_release(&out);
	engine_index_names(en);
	return 0;
}

void engine_index_names(struct engine *en)
{
	nameidx_reset(&en->by_name);
	for (size_t i = 0; i < en->neps; i++)
		nameidx_add(&en->by_name, en->eps[i].ep->name.s, i);
	nameidx_sort(&en->by_name);
}

int engine_open(struct engine *en, const struct engine_opts *o, struct cf_err *e)
{
	return engine_open_shard(en, o, NULL, e);
}

int engine_open_shard(struct engine *en, const struct engine_opts *o, const struct shard *s,
		      struct cf_err *e)
{
	memset(en, 0, sizeof(*en));
	ledger_init(&en->led);
	en->src = o->src;
	en->cfg = o->cfg;
	int rc = 0;
	snprintf(en->commit, sizeof(en->commit), "%s", en->cfg->commit);
	en->purges = o->purges;
	rc = select_endpoints(en, o->only, o->exclude, s, e);
	if (rc < 0)
		return rc;
	struct cf_err le;
	err_clear(&le);
	if (repo_ledger_open(repo_src_root(en->src), &en->rl, &le) < 0) {
		en->rl = NULL;
		if (o->need_ledger) {
			*e = le;
			return le.rc;
		}
	} else {
		claimant_bind(repo_ledger_gitdir(en->rl));
	}
	rc = engine_ledger_reload(en, e);
	if (rc < 0)
		return rc;
	struct http_opts ho = {0};
	ho.parallelism = o->parallelism ? o->parallelism : ENGINE_DEFAULT_PARALLELISM;
	en->http = http_new(&ho);
	return 0;
}

int engine_ledger_reload(struct engine *en, struct cf_err *e)
{
	struct pending pj;
	ledger_release(&en->led);
	ledger_init(&en->led);
	if (!en->rl)
		return 0;
	/* records are read as plan and apply look them up: a ledger of any size costs what the
	 * run's manifests and endpoints need */
	int rc = repo_ledger_attach(en->rl, &en->led, e);
	if (rc == 0 && (rc = pending_load(repo_ledger_gitdir(en->rl), &pj, e)) == 0) {
		pending_overlay(&pj, &en->led);
		pending_release(&pj);
	}
	return rc;
}

void engine_ep_fail(struct eng_endpoint *x, int rc, const struct cf_err *e)
{
	x->rc = rc;
	if (!x->err)
		x->err = xmalloc(sizeof(*x->err));
	if (e)
		*x->err = *e;
	else
		err_clear(x->err);
}

void engine_ep_ok(struct eng_endpoint *x)
{
	x->rc = 0;
	free(x->err);
	x->err = NULL;
}

const char *engine_ep_why(const struct eng_endpoint *x)
{
	return x->err ? x->err->msg : "";
}

void engine_close(struct engine *en)
{
	for (size_t i = 0; i < en->neps; i++) {
		live_state_release(&en->eps[i].live);
		free(en->eps[i].err);
	}
	free(en->eps);
	nameidx_release(&en->by_name);
	for (size_t i = 0; i < en->naccts; i++)
		if (en->accts[i].pa)
			en->accts[i].ops->account_close(en->accts[i].pa);
	free(en->accts);
	http_free(en->http);
	ledger_release(&en->led);
	repo_remote_close(en->rr);
	repo_ledger_close(en->rl);
	config_free(en->cfg);
	repo_src_free(en->src);
	memset(en, 0, sizeof(*en));
}

void engine_account_bucket(struct http_client *http, const struct account *a, unsigned share)
{
	unsigned n = share ? share : 1;
	struct sb key;
	sb_init(&key, 0);
	shard_domain_key(a, &key);
	if (a->rate_limit.set)
		http_bucket(http, key.buf, shard_share(a->rate_limit.per_minute, n),
			    shard_burst_share(a->rate_limit.burst, n));
	else if (a->provider == PROV_CDNPRO)
		http_bucket(http, key.buf, shard_share(ENGINE_CDNPRO_RATE, n),
			    shard_burst_share(ENGINE_CDNPRO_BURST, n));
	/* a split share leaves half the domain's burst unused: that, not a slower pace, absorbs
	 * the jitter, so the N shards together run at the domain's full rate */
	if (n > 1)
		http_bucket_exact(http, key.buf);
	sb_release(&key);
}

static void account_connect(struct engine *en, struct eng_account *x)
{
	x->tried = true;
	err_clear(&x->err);
	x->rc = x->ops->account_open(x->a, repo_src_root(en->src), &x->pa, &x->err);
	if (x->rc == 0) {
		engine_account_bucket(en->http, x->a, en->rate_share);
		x->rc = x->ops->account_ready(x->pa, en->http, &x->err);
	}
}

int engine_connect(struct engine *en, struct cf_err *e)
{
	CF_UNUSED(e);
	for (size_t i = 0; i < en->naccts; i++)
		if (en->accts[i].used && !en->accts[i].tried)
			account_connect(en, &en->accts[i]);
	for (size_t i = 0; i < en->neps; i++) {
		struct eng_endpoint *x = &en->eps[i];
		if (x->acct->rc < 0 && x->rc == 0)
			engine_ep_fail(x, x->acct->rc, &x->acct->err);
	}
	return 0;
}

void engine_refresh(struct engine *en)
{
	for (size_t i = 0; i < en->naccts; i++) {
		struct eng_account *x = &en->accts[i];
		struct cf_err e;
		err_clear(&e);
		/* a failed refresh keeps the old token: its requests then say what went wrong */
		if (x->used && x->tried && x->rc == 0)
			(void)x->ops->account_ready(x->pa, en->http, &e);
	}
}

bool engine_needs_read(const struct eng_endpoint *x)
{
	return x->ep->mode != MODE_PURGE_ONLY && x->acct->ops->read_req != NULL;
}

/* A read step's outcome into x: its error only when it failed (e is the step's). Returns rc. */
static int ep_result(struct eng_endpoint *x, int rc, const struct cf_err *e)
{
	if (rc < 0)
		engine_ep_fail(x, rc, e);
	else
		x->rc = rc;
	return rc;
}

/* Builds x's next read request: the first, or the next one of a multi-request read. */
static int read_build(struct eng_endpoint *x, struct http_req *req, struct cf_err *e)
{
	const struct prov_ops *ops = x->acct->ops;
	if (x->live.step == 0)
		return ops->read_req(x->acct->pa, x->ep, req, e);
	if (!ops->read_next)
		return err_set(e, CF_EINVAL, "endpoint '%s': the driver asked for a second read",
			       x->ep->name.s);
	return ops->read_next(x->acct->pa, x->ep, &x->live, req, e);
}

/* What the read batch has done so far, for the progress line. */
struct read_progress {
	size_t before; /* endpoints finished in earlier rounds */
	size_t total;
};

static void read_tick(void *ctx, size_t done, size_t n)
{
	const struct read_progress *rp = ctx;
	char status[PROGRESS_LINE_MAX];
	size_t d = rp->before + done;
	(void)n;
	snprintf(status, sizeof(status), "reading %zu/%zu endpoint%s",
		 d > rp->total ? rp->total : d, rp->total, rp->total == 1 ? "" : "s");
	progress_show(status, NULL);
}

struct read_batch {
	struct eng_endpoint **v, **more_v;
	size_t more;
};

/* Builds the request for v[k] as a connection is free for it; an endpoint whose request
 * cannot be built keeps the reason and is not sent. */
static bool read_feed(size_t k, struct http_req *req, void *arg)
{
	struct eng_endpoint *x = ((struct read_batch *)arg)->v[k];
	struct cf_err e;
	err_clear(&e);
	return ep_result(x, read_build(x, req, &e), &e) >= 0;
}

/* Each answer is decoded and dropped in the wake-up it arrives in: a round holds at most
 * `parallelism` answer bodies, however many endpoints it reads. */
static void read_done(size_t k, struct http_resp *resp, void *arg)
{
	struct read_batch *b = arg;
	struct eng_endpoint *x = b->v[k];
	struct cf_err e;
	err_clear(&e);
	ep_result(x, x->acct->ops->read_parse(x->ep, resp, &x->live, &e), &e);
	x->read = x->rc == 0;
	if (x->rc == PROV_MORE) {
		x->rc = 0;
		x->live.step++;
		b->more_v[b->more++] = x;
	}
	http_resp_release(resp);
}

/*
 * Sends one request for each endpoint of v; returns how many of them (moved to the front of
 * v) need another request. The requests are built as connections free up, at most
 * en->read_chunk of them built and unanswered at once: requests and answer slots for the
 * whole fleet at once grew with it (2 KB an endpoint, issue 17), and queueing them in chunks
 * made each chunk wait for its slowest answer.
 */
static size_t read_round(struct engine *en, struct eng_endpoint **v, size_t n)
{
	struct read_batch b = {v, xcalloc(n + 1, sizeof(*b.more_v)), 0};
	size_t window = en->read_chunk ? en->read_chunk : ENGINE_READ_CHUNK;
	(void)http_run_fed_worker(en->http, n, window, read_feed, read_done, &b);
	memcpy(v, b.more_v, b.more * sizeof(*v));
	free(b.more_v);
	return b.more;
}

int engine_read(struct engine *en, struct eng_endpoint **eps, size_t n)
{
	struct eng_endpoint **pending = xcalloc(n + 1, sizeof(*pending));
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		struct eng_endpoint *x = eps[i];
		live_state_release(&x->live);
		x->read = false;
		if (x->acct->rc < 0)
			continue;
		engine_ep_ok(x);
		pending[np++] = x;
	}
	struct read_progress rp = {0, np};
	http_set_tick(en->http, read_tick, &rp);
	while (np) {
		rp.before = rp.total - np;
		np = read_round(en, pending, np);
	}
	http_set_tick(en->http, NULL, NULL);
	progress_clear();
	free(pending);
	return 0;
}

int engine_read_all(struct engine *en)
{
	struct eng_endpoint **v = xcalloc(en->neps + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < en->neps; i++)
		if (engine_needs_read(&en->eps[i]))
			v[n++] = &en->eps[i];
	int rc = engine_read(en, v, n);
	free(v);
	return rc;
}

/* A binary search: a scan per endpoint made apply quadratic in the fleet (issue 17). The first
 * of equal names in repository order wins, as the scan's did. */
struct eng_endpoint *engine_endpoint(const struct engine *en, const char *name)
{
	if (en->by_name.n != en->neps) { /* no index yet (an engine built by hand) */
		for (size_t i = 0; i < en->neps; i++)
			if (strcmp(en->eps[i].ep->name.s, name) == 0)
				return &en->eps[i];
		return NULL;
	}
	size_t at = nameidx_find(&en->by_name, name);
	return at == NAMEIDX_NONE ? NULL : &en->eps[at];
}

int64_t engine_quota_day_start(enum provider_kind p, int64_t now)
{
	int64_t off = p == PROV_AZURE_CHINA ? ENGINE_AZURECN_TZ_OFFSET_S : 0;
	return (now + off) / DAY_S * DAY_S - off;
}

/* A write the driver would refuse (azure: over 25 rules) is an error in the plan already,
 * with the driver's own code and words, not a surprise at apply. */
static void write_refused(struct plan *out, const struct eng_endpoint *x)
{
	/* the endpoint plan_add_endpoint() has just added: a search by name for each endpoint
	 * made plan quadratic in the fleet (15% of its CPU at 10,000 endpoints, issue 17) */
	struct plan_endpoint *pe = out->neps ? &out->eps[out->neps - 1] : NULL;
	if (pe && strcmp(pe->name, x->ep->name.s) != 0)
		pe = plan_endpoint_find(out, x->ep->name.s);
	struct cf_err we;
	err_clear(&we);
	if (!pe || pe->action != PLAN_EP_UPDATE || !x->acct->ops->write_check ||
	    x->acct->ops->write_check(x->ep, &x->live, &we) == 0)
		return;
	pe->action = PLAN_EP_ERROR;
	free(pe->error);
	pe->error = xstrdup(we.msg);
}

static void plan_endpoints(struct engine *en, struct plan *out, struct cf_err *e)
{
	plan_reserve(out, en->neps);
	for (size_t i = 0; i < en->neps; i++) {
		struct eng_endpoint *x = &en->eps[i];
		const char *why = x->rc < 0 ? engine_ep_why(x) : NULL;
		const struct live_state *live = x->read ? &x->live : NULL;
		if (!live && !why && engine_needs_read(x))
			why = "live state was not read";
		struct cf_err de;
		err_clear(&de);
		if (!plan_add_endpoint(out, x->ep, live, why, &en->cfg->safety, &de)) {
			/* the diff was refused (too many rules): show the endpoint as an error */
			plan_add_endpoint(out, x->ep, NULL, de.msg, &en->cfg->safety, e);
		}
		write_refused(out, x);
	}
	/* purges, quotas and apply look endpoints up by name from here on */
	plan_index_endpoints(out);
}

/*
 * azure-china counts its daily purge quota per subscription, whichever account (key pair)
 * spends it: accounts on one subscription share one quota, named after the first of them in
 * cacheform.yaml. Subscriptions are compared as written (the GUID, or the same {env:}/{file:}).
 */
static bool same_subscription(const struct account *a, const struct account *b)
{
	return a->provider == PROV_AZURE_CHINA && b->provider == PROV_AZURE_CHINA &&
	       a->subscription.kind == b->subscription.kind && a->subscription.text &&
	       b->subscription.text && strcmp(a->subscription.text, b->subscription.text) == 0;
}

static const struct account *azurecn_quota_owner(const struct config *c, const struct account *a)
{
	for (size_t i = 0; i < c->naccounts; i++)
		if (same_subscription(&c->accounts[i], a))
			return &c->accounts[i];
	return a;
}

static void plan_purges(struct engine *en, struct plan *out)
{
	const struct config *c = en->cfg;
	for (size_t i = 0; i < c->npurges; i++) {
		const struct purge *m = &c->purges[i];
		for (size_t j = 0; purge_selected(en, m) && j < m->endpoints.n; j++) {
			struct eng_endpoint *x = engine_endpoint(en, m->endpoints.v[j].s);
			/* observe endpoints never write, purges included (CF424) */
			if (!x || x->ep->mode == MODE_OBSERVE)
				continue;
			struct purge_batch *b = NULL;
			size_t nb = x->acct->ops->split(x->ep, m, &b);
			struct plan_purge *pp = plan_add_purge(out, m, x->ep, b, nb, &en->led);
			if (pp && x->ep->account && x->ep->account->provider == PROV_AZURE_CHINA) {
				free(pp->quota);
				pp->quota = xstrdup(azurecn_quota_owner(c, x->ep->account)->name.s);
			}
			for (size_t k = 0; k < nb; k++)
				purge_batch_release(&b[k]);
			free(b);
		}
	}
}

static bool plan_needs_quota(const struct plan *p, const char *key)
{
	for (size_t i = 0; i < p->npurges; i++)
		if (plan_purge_runs(&p->purges[i]) && strcmp(p->purges[i].quota, key) == 0)
			return true;
	return false;
}

static void quota_failed(struct engine *en, struct plan *out, const char *key, const char *msg);

/* azure-china: the ledger's records of today, of every account on the subscription. */
static void quota_azurecn(struct engine *en, struct plan *out, const struct eng_endpoint *x,
			  const char *key)
{
	int64_t now = (int64_t)time(NULL), files = 0, dirs = 0;
	int64_t since = engine_quota_day_start(PROV_AZURE_CHINA, now);
	for (size_t i = 0; i < en->cfg->naccounts; i++) {
		const struct account *a = &en->cfg->accounts[i];
		int64_t f, d;
		if (a != x->ep->account && !same_subscription(a, x->ep->account))
			continue;
		struct cf_err le;
		err_clear(&le);
		if (ledger_usage(&en->led, a->name.s, since, since + DAY_S, &f, &d, &le) < 0) {
			plan_set_quota(out, key, PROV_AZURE_CHINA, false, -1, -1);
			quota_failed(en, out, key, le.msg);
			return;
		}
		files += f;
		dirs += d;
	}
	int64_t fl = PLAN_AZURECN_FILES_PER_DAY - files, dl = PLAN_AZURECN_DIRS_PER_DAY - dirs;
	plan_set_quota(out, key, PROV_AZURE_CHINA, true, fl < 0 ? 0 : fl, dl < 0 ? 0 : dl);
}

/*
 * A quota that could not be read (wrong credentials, an unreadable answer) fails the plan:
 * every endpoint counting on it is in error and its purges are blocked, as apply would fail
 * on them too. "will run" would promise what the account cannot do.
 */
static void quota_failed(struct engine *en, struct plan *out, const char *key, const char *msg)
{
	struct sb k;
	sb_init(&k, 0);
	for (size_t i = 0; i < en->neps; i++) {
		sb_reset(&k);
		plan_quota_key(en->eps[i].ep, &k);
		struct plan_endpoint *pe = plan_endpoint_find(out, en->eps[i].ep->name.s);
		if (strcmp(k.buf, key) != 0 || !pe || pe->action == PLAN_EP_ERROR)
			continue;
		pe->action = PLAN_EP_ERROR;
		free(pe->error);
		pe->error = xstrdup(msg);
	}
	for (size_t i = 0; i < out->npurges; i++)
		if (strcmp(out->purges[i].quota, key) == 0)
			out->purges[i].blocked = true;
	sb_release(&k);
}

/* cdnpro: one purgeTokens request per account and target, all in one batch. */
static void quota_remote(struct engine *en, struct plan *out, struct eng_endpoint **v, char **keys,
			 size_t n)
{
	struct http_req *reqs = xcalloc(n + 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(n + 1, sizeof(*resps));
	struct eng_endpoint **who = xcalloc(n + 1, sizeof(*who));
	char **wkeys = xcalloc(n + 1, sizeof(*wkeys));
	size_t nr = 0;
	for (size_t i = 0; i < n; i++) {
		struct cf_err qe;
		err_clear(&qe);
		if (v[i]->acct->ops->quota_req(v[i]->acct->pa, v[i]->ep, &reqs[nr], &qe) < 0) {
			plan_set_quota(out, keys[i], v[i]->acct->a->provider, false, -1, -1);
			quota_failed(en, out, keys[i], qe.msg);
			continue;
		}
		who[nr] = v[i];
		wkeys[nr++] = keys[i];
	}
	if (nr)
		(void)http_run(en->http, reqs, resps, nr);
	for (size_t i = 0; i < nr; i++) {
		struct quota q = {0};
		struct cf_err qe;
		err_clear(&qe);
		bool ok = who[i]->acct->ops->quota_parse(who[i]->ep, &resps[i], &q, &qe) == 0;
		plan_set_quota(out, wkeys[i], who[i]->acct->a->provider, ok && q.known,
			       q.files_left, q.dirs_left);
		if (!ok)
			quota_failed(en, out, wkeys[i], qe.msg);
		http_req_release(&reqs[i]);
		http_resp_release(&resps[i]);
	}
	free(wkeys);
	free(who);
	free(resps);
	free(reqs);
}

static void plan_quotas(struct engine *en, struct plan *out)
{
	struct eng_endpoint **v = xcalloc(en->neps + 1, sizeof(*v));
	char **keys = xcalloc(en->neps + 1, sizeof(*keys));
	size_t n = 0;
	struct sb key;
	sb_init(&key, 0);
	for (size_t i = 0; i < en->neps; i++) {
		struct eng_endpoint *x = &en->eps[i];
		sb_reset(&key);
		if (x->acct->a->provider == PROV_AZURE_CHINA)
			sb_adds(&key, azurecn_quota_owner(en->cfg, x->acct->a)->name.s);
		else
			plan_quota_key(x->ep, &key);
		if (plan_quota_find(out, key.buf) || !plan_needs_quota(out, key.buf) ||
		    x->acct->rc < 0)
			continue;
		if (x->acct->a->provider == PROV_AZURE_CHINA) {
			quota_azurecn(en, out, x, key.buf);
		} else if (x->acct->ops->quota_req) {
			plan_set_quota(out, key.buf, x->acct->a->provider, false, -1, -1);
			v[n] = x;
			keys[n++] = xstrdup(key.buf);
		}
	}
	if (n)
		quota_remote(en, out, v, keys, n);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(v);
	sb_release(&key);
}

int engine_plan(struct engine *en, const struct engine_plan_opts *o, struct plan *out,
		struct cf_err *e)
{
	plan_init(out);
	snprintf(out->commit, sizeof(out->commit), "%s", en->commit);
	out->no_purges = o && o->no_purges;
	plan_endpoints(en, out, e);
	if (!out->no_purges) {
		plan_purges(en, out);
		plan_quotas(en, out);
		plan_check_quotas(out);
	}
	/* a ledger record that could not be read must not read as "never ran" */
	return ledger_source_error(&en->led, e);
}
