#include "reconcile/base/compat.h"
#include "reconcile/plan.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconcile/claimant.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

const char *plan_ep_action_name(enum plan_ep_action a)
{
	static const char *const names[] = {"none", "update", "drift", "unmanaged", "error"};
	return (size_t)a < CF_ARRAY_LEN(names) ? names[a] : "?";
}

const char *plan_purge_state_name(enum plan_purge_state s)
{
	static const char *const names[] = {"run",    "retry",	    "pending",
					    "edited", "over-quota", "retry-unknown"};
	return (size_t)s < CF_ARRAY_LEN(names) ? names[s] : "?";
}

void plan_init(struct plan *p)
{
	memset(p, 0, sizeof(*p));
}

static void plan_endpoint_release(struct plan_endpoint *pe)
{
	free(pe->name);
	free(pe->account);
	free(pe->error);
	free(pe->inexact);
	free(pe->behaviour_path);
	cache_release(&pe->desired);
	cache_release(&pe->live);
	cache_diff_release(&pe->diff);
	for (size_t i = 0; i < pe->nforeign; i++)
		free(pe->foreign[i].name);
	free(pe->foreign);
	svec_release(&pe->notes);
	free(pe->text_diff);
}

void plan_release(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->neps; i++)
		plan_endpoint_release(&p->eps[i]);
	free(p->eps);
	nameidx_release(&p->ep_index);
	for (size_t i = 0; i < p->npurges; i++) {
		free(p->purges[i].id);
		free(p->purges[i].endpoint);
		free(p->purges[i].account);
		free(p->purges[i].quota);
		plan_purge_urls_release(&p->purges[i]);
	}
	free(p->purges);
	for (size_t i = 0; i < p->nurls; i++) {
		free(p->urls[i].endpoint);
		free(p->urls[i].path);
	}
	free(p->urls);
	for (size_t i = 0; i < p->nquotas; i++)
		free(p->quotas[i].account);
	free(p->quotas);
	memset(p, 0, sizeof(*p));
}

void plan_add_url_effect(struct plan *p, const char *endpoint, const char *path,
			 const struct sem_result *before, const struct sem_result *after)
{
	xgrow(&p->urls, &p->ucap, p->nurls + 1, sizeof(*p->urls));
	struct plan_url_effect *u = &p->urls[p->nurls++];
	u->endpoint = xstrdup(endpoint);
	u->path = xstrdup(path);
	u->before_mode = before->mode;
	u->before_ttl = before->ttl;
	u->after_mode = after->mode;
	u->after_ttl = after->ttl;
}

/* The safety share counts what an apply would disturb among the rules that exist now. */
static void plan_safety(struct plan_endpoint *pe, const struct safety *s)
{
	pe->existing = pe->live.nrules;
	pe->disturbed = cache_diff_disturbed(&pe->diff);
	pe->pct = pe->existing ? (unsigned)(pe->disturbed * 100 / pe->existing) : 0;
	pe->safety_applies =
	    s && pe->action == PLAN_EP_UPDATE && (int64_t)pe->existing >= s->min_rules;
	pe->safety_exceeded = pe->safety_applies && (int64_t)pe->pct > s->max_change_pct;
}

static void plan_copy_foreign(struct plan_endpoint *pe, const struct live_state *live)
{
	if (!live->nforeign)
		return;
	pe->foreign = xcalloc(live->nforeign, sizeof(*pe->foreign));
	for (size_t i = 0; i < live->nforeign; i++) {
		pe->foreign[i].name = xstrdup(live->foreign[i].name ? live->foreign[i].name : "");
		pe->foreign[i].order = live->foreign[i].order;
	}
	pe->nforeign = live->nforeign;
}

/* Keeps the example path of a behaviour change for the renderers (takes b->path). */
static void plan_behaviour(struct plan_endpoint *pe, struct prov_behaviour *b)
{
	if (!b->path)
		return;
	pe->behaviour_path = b->path;
	b->path = NULL;
	pe->behaviour_before_mode = b->before.mode;
	pe->behaviour_before_ttl = b->before.ttl;
	pe->behaviour_after_mode = b->after.mode;
	pe->behaviour_after_ttl = b->after.ttl;
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void plan_reserve(struct plan *p, size_t n)
{
	if (n > p->ecap) {
		p->eps = xreallocarray(p->eps, n, sizeof(*p->eps));
		p->ecap = n;
	}
}

struct plan_endpoint *plan_add_endpoint(struct plan *p, const struct endpoint *ep,
					const struct live_state *live, const char *read_error,
					const struct safety *s, struct cf_err *e)
{
	xgrow(&p->eps, &p->ecap, p->neps + 1, sizeof(*p->eps));
	struct plan_endpoint *pe = &p->eps[p->neps];
	memset(pe, 0, sizeof(*pe));
	pe->name = xstrdup(ep->name.s);
	pe->account = xstrdup(ep->account_name.s ? ep->account_name.s : "");
	pe->provider = ep->account ? ep->account->provider : PROV_AZURE_CHINA;
	pe->mode = ep->mode;
	/* read-only copies in two blocks each: cache_copy's block per list and string, with
	 * room to grow, was a sixth of a 10,000-endpoint plan's CPU, mostly fresh heap pages */
	cache_pack(&pe->desired, &ep->cache);
	if (ep->mode == MODE_PURGE_ONLY && !read_error) {
		pe->action = PLAN_EP_UNMANAGED;
	} else if (!live || read_error) {
		pe->action = PLAN_EP_ERROR;
		pe->error = xstrdup(read_error ? read_error : "live state was not read");
	} else if (!live->exists) {
		pe->action = PLAN_EP_ERROR;
		pe->error = xstrdup("endpoint does not exist at the provider");
	} else {
		pe->read = true;
		memcpy(pe->digest, live->digest, sizeof(pe->digest));
		cache_pack(&pe->live, &live->cache);
		/* an unobservable flag is not a difference (prov_cache_matches agrees) */
		if (live->cache_control_unknown)
			pe->live.ignore_cache_control = pe->desired.ignore_cache_control;
		cache_fold_cc(&pe->live);
		pe->inexact = xstrdup(live->inexact);
		plan_copy_foreign(pe, live);
		for (size_t i = 0; i < live->notes.n; i++)
			svec_push(&pe->notes, live->notes.v[i].s, NULL);
		pe->text_diff = live->text_diff ? xstrdup(live->text_diff) : NULL;
		if (rulediff_cache(&pe->desired, &pe->live, &pe->diff, e) < 0) {
			plan_endpoint_release(pe);
			return NULL;
		}
		struct prov_behaviour b = {.same = -1};
		if (!cache_diff_empty(&pe->diff) || pe->inexact) {
			double t0 = cpu_seconds();
			prov_behaviour_compare(ep, live, &b);
			p->behaviour_cpu_s += cpu_seconds() - t0;
			p->behaviour_n++;
		}
		if (cache_diff_empty(&pe->diff) && !pe->inexact) {
			pe->action = PLAN_EP_NONE;
		} else if (b.same == 1) {
			/* spelled or ordered differently, same caching for every path: no write */
			pe->action = PLAN_EP_NONE;
			pe->equivalent = true;
			cache_diff_release(&pe->diff);
			memset(&pe->diff, 0, sizeof(pe->diff));
			free(pe->inexact);
			pe->inexact = NULL;
		} else {
			pe->action = ep->mode == MODE_OBSERVE ? PLAN_EP_DRIFT : PLAN_EP_UPDATE;
			plan_behaviour(pe, &b);
		}
		prov_behaviour_release(&b);
	}
	p->neps++;
	plan_safety(pe, s);
	return pe;
}

static void urls_add(struct svec *dst, const struct svec *src)
{
	for (size_t i = 0; i < src->n; i++)
		svec_push(dst, src->v[i].s, NULL);
}

void plan_purge_urls_release(struct plan_purge *pp)
{
	svec_release(&pp->urls);
	svec_release(&pp->url_files);
	svec_release(&pp->url_dirs);
	svec_release(&pp->url_patterns);
	svec_release(&pp->url_regex);
	svec_release(&pp->url_preload);
}

static void plan_purge_cost(struct plan_purge *pp, const struct purge_batch *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		if (b[i].kind == BATCH_PRELOAD) {
			pp->preloads += (int64_t)b[i].files.n;
			urls_add(&pp->url_preload, &b[i].files);
			continue;
		}
		urls_add(&pp->url_files, &b[i].files);
		urls_add(&pp->url_dirs, &b[i].dirs);
		urls_add(&pp->url_patterns, &b[i].patterns);
		urls_add(&pp->url_regex, &b[i].regex);
		pp->files += (int64_t)b[i].files.n;
		pp->dirs += (int64_t)b[i].dirs.n;
		pp->patterns += (int64_t)b[i].patterns.n;
		pp->regex += (int64_t)b[i].regex.n;
		const struct svec *lists[] = {&b[i].files, &b[i].dirs, &b[i].patterns, &b[i].regex};
		for (size_t l = 0; l < CF_ARRAY_LEN(lists); l++)
			for (size_t k = 0; k < lists[l]->n; k++)
				svec_push(&pp->urls, lists[l]->v[k].s, NULL);
	}
	pp->requests = nb;
}

struct plan_purge *plan_add_purge(struct plan *p, const struct purge *m, const struct endpoint *ep,
				  const struct purge_batch *b, size_t nb, const struct ledger *led)
{
	const struct ledger_purge *rec = led ? ledger_find_purge(led, m->id.s, ep->name.s) : NULL;
	enum plan_purge_state st = PLAN_PURGE_RUN;
	if (rec && rec->status == LEDGER_FAILED)
		st = PLAN_PURGE_RETRY;
	else if (rec && rec->status == LEDGER_UNKNOWN)
		st = PLAN_PURGE_RETRY_UNKNOWN;
	else if (rec && strcmp(rec->content_hash, m->content_hash) != 0 &&
		 rec->status != LEDGER_MARKED)
		st = PLAN_PURGE_EDITED;
	else if (rec && rec->status == LEDGER_SUBMITTED)
		st = PLAN_PURGE_PENDING;
	else if (rec && rec->status == LEDGER_CLAIMED)
		/* another apply sends it; one that died before sending is retried after the
		 * lease (at once when it ran here and is gone), a limited number of times */
		st = ((int64_t)time(NULL) - rec->claimed_at >= LEDGER_CLAIM_LEASE_S ||
		      claimant_gone(rec->claim_proc)) &&
			     rec->claims < LEDGER_CLAIM_RETRIES
			 ? PLAN_PURGE_RETRY
			 : PLAN_PURGE_PENDING;
	else if (rec)
		return NULL;
	xgrow(&p->purges, &p->pcap, p->npurges + 1, sizeof(*p->purges));
	struct plan_purge *pp = &p->purges[p->npurges++];
	memset(pp, 0, sizeof(*pp));
	pp->id = xstrdup(m->id.s);
	pp->endpoint = xstrdup(ep->name.s);
	pp->account = xstrdup(ep->account_name.s ? ep->account_name.s : "");
	pp->provider = ep->account ? ep->account->provider : PROV_AZURE_CHINA;
	struct sb key;
	sb_init(&key, 0);
	plan_quota_key(ep, &key);
	pp->quota = sb_detach(&key);
	memcpy(pp->content_hash, m->content_hash, sizeof(pp->content_hash));
	if (rec && st != PLAN_PURGE_RETRY && st != PLAN_PURGE_RETRY_UNKNOWN)
		memcpy(pp->recorded_hash, rec->content_hash, sizeof(pp->recorded_hash));
	pp->state = st;
	plan_purge_cost(pp, b, nb);
	/* purges are planned after the endpoints: the index is built once */
	if (p->ep_indexed != p->neps)
		plan_index_endpoints(p);
	struct plan_endpoint *pe = plan_endpoint_find(p, ep->name.s);
	/* nothing can be sent for an endpoint that could not be read or whose account failed */
	pp->blocked = pe && pe->action == PLAN_EP_ERROR;
	return pp;
}

void plan_quota_key(const struct endpoint *ep, struct sb *out)
{
	sb_adds(out, ep->account_name.s ? ep->account_name.s : "");
	if (ep->account && ep->account->provider == PROV_CDNPRO)
		sb_addf(out, ":%s", ep->remote.target.s ? ep->remote.target.s : "production");
}

struct plan_quota *plan_quota_find(const struct plan *p, const char *key)
{
	for (size_t i = 0; i < p->nquotas; i++)
		if (strcmp(p->quotas[i].account, key) == 0)
			return &p->quotas[i];
	return NULL;
}

void plan_index_endpoints(struct plan *p)
{
	nameidx_reset(&p->ep_index);
	for (size_t i = 0; i < p->neps; i++)
		nameidx_add(&p->ep_index, p->eps[i].name, i);
	nameidx_sort(&p->ep_index);
	p->ep_indexed = p->neps;
}

struct plan_endpoint *plan_endpoint_find(const struct plan *p, const char *name)
{
	size_t i = nameidx_find(&p->ep_index, name);
	if (i != NAMEIDX_NONE)
		return &p->eps[i];
	/* endpoints added since the index was built come after every indexed one */
	for (i = p->ep_indexed; i < p->neps; i++)
		if (strcmp(p->eps[i].name, name) == 0)
			return &p->eps[i];
	return NULL;
}

void plan_set_quota(struct plan *p, const char *key, enum provider_kind prov, bool known,
		    int64_t files_left, int64_t dirs_left)
{
	struct plan_quota *q = plan_quota_find(p, key);
	if (!q) {
		xgrow(&p->quotas, &p->qcap, p->nquotas + 1, sizeof(*p->quotas));
		q = &p->quotas[p->nquotas++];
		memset(q, 0, sizeof(*q));
		q->account = xstrdup(key);
	}
	q->provider = prov;
	q->known = known;
	q->files_left = files_left;
	q->dirs_left = dirs_left;
}

bool plan_purge_runs(const struct plan_purge *pp)
{
	return (pp->state == PLAN_PURGE_RUN || pp->state == PLAN_PURGE_RETRY ||
		pp->state == PLAN_PURGE_RETRY_UNKNOWN) &&
	       !pp->blocked;
}

void plan_check_quotas(struct plan *p)
{
	for (size_t i = 0; i < p->npurges; i++) {
		struct plan_purge *pp = &p->purges[i];
		struct plan_quota *q = plan_quota_find(p, pp->quota);
		if (!plan_purge_runs(pp) || !q || !q->known)
			continue;
		/* cdnpro spends directory tokens on dirs, wildcard patterns and regex alike */
		int64_t dirs = pp->dirs + pp->patterns + pp->regex;
		bool fits = (q->files_left < 0 || q->files_planned + pp->files <= q->files_left) &&
			    (q->dirs_left < 0 || q->dirs_planned + dirs <= q->dirs_left);
		if (!fits) {
			pp->state = PLAN_PURGE_OVER_QUOTA;
			q->exceeded = true;
			continue;
		}
		q->files_planned += pp->files;
		q->dirs_planned += dirs;
	}
}

void plan_count(const struct plan *p, struct plan_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < p->neps; i++) {
		const struct plan_endpoint *pe = &p->eps[i];
		switch (pe->action) {
		case PLAN_EP_UPDATE:
			c->update++;
			break;
		case PLAN_EP_DRIFT:
			c->drift++;
			break;
		case PLAN_EP_ERROR:
			c->error++;
			break;
		case PLAN_EP_UNMANAGED:
			c->unmanaged++;
			break;
		case PLAN_EP_NONE:
			c->same++;
			break;
		}
		if (pe->action == PLAN_EP_UPDATE) {
			c->added += pe->diff.nadd;
			c->removed += pe->diff.nremove;
			c->changed += pe->diff.nchange;
			c->moved += pe->diff.nmove;
		}
		c->safety_exceeded += pe->safety_exceeded;
	}
	for (size_t i = 0; i < p->npurges; i++) {
		const struct plan_purge *pp = &p->purges[i];
		c->purges_run += plan_purge_runs(pp);
		c->purges_pending += pp->state == PLAN_PURGE_PENDING;
		c->purges_edited += pp->state == PLAN_PURGE_EDITED;
		c->purges_over_quota += pp->state == PLAN_PURGE_OVER_QUOTA;
	}
}

bool plan_has_changes(const struct plan *p)
{
	struct plan_counts c;
	plan_count(p, &c);
	return c.update || c.purges_run || c.purges_over_quota;
}
