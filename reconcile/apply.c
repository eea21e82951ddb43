#include "reconcile/compat.h"
#include "reconcile/apply.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconcile/repo_ledger.h"
#include "reconcile/sb.h"
#include "reconcile/xmem.h"

#define APPLY_LEDGER_MSG_MAX 200

/* ---- result ---- */

static size_t item_add(struct apply_result *r, const char *fmt, ...) CF_PRINTF(2, 3);
static size_t item_add(struct apply_result *r, const char *fmt, ...)
{
	struct sb sb;
	va_list ap;
	sb_init(&sb, 0);
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	xgrow(&r->v, &r->cap, r->n + 1, sizeof(*r->v));
	r->v[r->n] = (struct apply_item){sb_detach(&sb), APPLY_NOT_ATTEMPTED, NULL};
	return r->n++;
}

static void item_set(struct apply_result *r, size_t i, enum apply_outcome o, const char *detail)
{
	r->v[i].outcome = o;
	free(r->v[i].detail);
	r->v[i].detail = xstrdup(detail);
}

void apply_result_release(struct apply_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].what);
		free(r->v[i].detail);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static void result_count(struct apply_result *r)
{
	r->done = r->failed = r->not_attempted = r->submitted = 0;
	for (size_t i = 0; i < r->n; i++)
		switch (r->v[i].outcome) {
		case APPLY_DONE:
			r->done++;
			break;
		case APPLY_FAILED:
			r->failed++;
			break;
		case APPLY_NOT_ATTEMPTED:
			r->not_attempted++;
			break;
		case APPLY_SUBMITTED:
			r->submitted++;
			break;
		}
}

void apply_report(const struct apply_result *r, FILE *f)
{
	static const char *const label[] = {"done", "FAILED", "not attempted", "submitted"};
	for (int o = APPLY_DONE; o <= APPLY_SUBMITTED; o++)
		for (size_t i = 0; i < r->n; i++) {
			const struct apply_item *it = &r->v[i];
			if ((int)it->outcome != o)
				continue;
			fprintf(f, "  %-13s %s%s%s\n", label[o], it->what, it->detail ? ": " : "",
				it->detail ? it->detail : "");
		}
	fprintf(f, "Apply: %zu done, %zu failed, %zu not attempted", r->done, r->failed,
		r->not_attempted);
	if (r->submitted)
		fprintf(f, ", %zu submitted (not waited for)", r->submitted);
	fprintf(f, ".\n");
}

/* ---- checks before any write ---- */

size_t apply_safety_violations(const struct plan *p, FILE *f)
{
	size_t n = 0;
	for (size_t i = 0; i < p->neps; i++) {
		const struct plan_endpoint *pe = &p->eps[i];
		if (!pe->safety_exceeded)
			continue;
		n++;
		if (f)
			fprintf(
			    f,
			    "refusing: endpoint '%s' would remove, change or move %zu of its %zu "
			    "rules (%u%%, limit set by safety.max_change_pct); re-run with "
			    "--force\n",
			    pe->name, pe->disturbed, pe->existing, pe->pct);
	}
	return n;
}

static void plan_drop_purge(struct plan *p, size_t i)
{
	free(p->purges[i].id);
	free(p->purges[i].endpoint);
	free(p->purges[i].account);
	free(p->purges[i].quota);
	memmove(&p->purges[i], &p->purges[i + 1], (p->npurges - i - 1) * sizeof(*p->purges));
	p->npurges--;
}

static int check_endpoints(const struct plan *fresh, const struct planfile *pf, struct cf_err *e)
{
	for (size_t i = 0; i < pf->neps; i++) {
		const struct planfile_endpoint *want = &pf->eps[i];
		const struct plan_endpoint *now = plan_endpoint_find(fresh, want->name);
		if (!now)
			return err_set(e, CF_ECONFLICT,
				       "endpoint '%s' is no longer in the repository", want->name);
		if (now->action == PLAN_EP_ERROR)
			return err_set(e, CF_EAPI, "endpoint '%s': %s", now->name, now->error);
		if (strcmp(want->digest, now->read ? now->digest : "") != 0)
			return err_set(e, CF_ECONFLICT,
				       "endpoint '%s' changed since the plan was made (live digest "
				       "%.12s, plan has %.12s)",
				       now->name, now->digest, want->digest);
		if (now->mode != MODE_PURGE_ONLY && !cache_equal(&want->desired, &now->desired))
			return err_set(e, CF_ECONFLICT,
				       "the desired rules of endpoint '%s' changed since the plan "
				       "was made",
				       now->name);
	}
	return 0;
}

int apply_check_planfile(struct plan *fresh, const struct planfile *pf, struct cf_err *e)
{
	int rc = check_endpoints(fresh, pf, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < fresh->npurges;) {
		struct plan_purge *pp = &fresh->purges[i];
		const struct planfile_purge *want = planfile_purge_find(pf, pp->id, pp->endpoint);
		bool planned =
		    want && (want->state == PLAN_PURGE_RUN || want->state == PLAN_PURGE_RETRY ||
			     want->state == PLAN_PURGE_PENDING);
		if (planned && strcmp(want->content_hash, pp->content_hash) != 0)
			return err_set(e, CF_ECONFLICT,
				       "purge '%s' was edited since the plan was made", pp->id);
		if (!planned)
			plan_drop_purge(fresh, i);
		else
			i++;
	}
	return 0;
}

/* ---- run context ---- */

struct ctx {
	struct engine *en;
	const struct plan *p;
	const struct apply_opts *o;
	struct apply_result *r;
	int64_t deadline_ms;
	bool stop; /* a failure without keep_going */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void failed(struct ctx *c, size_t item, const char *why)
{
	item_set(c->r, item, APPLY_FAILED, why);
	if (!c->o->keep_going)
		c->stop = true;
}

/* ---- waiting for tasks ---- */

struct pollee {
	struct task *t;
	struct eng_endpoint *x;
};

static bool running(const struct task *t)
{
	return t->state == TASK_RUNNING;
}

static void poll_round(struct ctx *c, struct pollee *v, size_t n)
{
	struct http_req *reqs = xcalloc(n + 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(n + 1, sizeof(*resps));
	size_t *idx = xcalloc(n + 1, sizeof(*idx)), nr = 0;
	for (size_t i = 0; i < n; i++) {
		struct cf_err e;
		if (!running(v[i].t))
			continue;
		err_clear(&e);
		if (v[i].x->acct->ops->poll_req(v[i].x->acct->pa, v[i].x->ep, v[i].t, &reqs[nr],
						&e) < 0) {
			http_req_release(&reqs[nr]);
			v[i].t->state = TASK_FAILED;
			free(v[i].t->message);
			v[i].t->message = xstrdup(e.msg);
			continue;
		}
		idx[nr++] = i;
	}
	if (nr)
		(void)http_run(c->en->http, reqs, resps, nr);
	for (size_t k = 0; k < nr; k++) {
		struct pollee *pl = &v[idx[k]];
		struct cf_err e;
		err_clear(&e);
		/* a failed poll is not a failed task: keep polling until the deadline */
		if (pl->x->acct->ops->poll_parse(pl->x->ep, &resps[k], pl->t, &e) < 0)
			pl->t->state = TASK_RUNNING;
		http_req_release(&reqs[k]);
		http_resp_release(&resps[k]);
	}
	free(idx);
	free(resps);
	free(reqs);
}

/* Polls until no task runs or the deadline passes. Returns the number still running. */
static size_t wait_tasks(struct ctx *c, struct pollee *v, size_t n)
{
	int64_t delay = APPLY_POLL_FIRST_MS, start = now_ms();
	for (;;) {
		size_t left = 0;
		int64_t hint = 0;
		for (size_t i = 0; i < n; i++)
			if (running(v[i].t)) {
				left++;
				if (v[i].t->retry_after_s > hint)
					hint = v[i].t->retry_after_s;
			}
		if (!left)
			break;
		if (c->o->progress)
			fprintf(stderr, "\rwaiting for %zu task%s (%" PRId64 " s)   ", left,
				left == 1 ? "" : "s", (now_ms() - start) / 1000);
		int64_t wait =
		    hint ? (hint > APPLY_RETRY_AFTER_MAX_S ? APPLY_RETRY_AFTER_MAX_S : hint) * 1000
			 : delay;
		if (now_ms() + wait > c->deadline_ms) {
			if (c->o->progress)
				fprintf(stderr, "\n");
			return left;
		}
		sleep_ms(wait);
		delay = delay * 3 / 2 > APPLY_POLL_MAX_MS ? APPLY_POLL_MAX_MS : delay * 3 / 2;
		poll_round(c, v, n);
	}
	if (c->o->progress)
		fprintf(stderr, "\r%40s\r", "");
	return 0;
}

/* ---- phase 1: rule writes ---- */

struct wjob {
	const struct plan_endpoint *pe;
	struct eng_endpoint *x;
	struct task t;
	size_t item;
	bool ok;
};

static void write_submit(struct ctx *c, struct wjob *w, size_t n)
{
	struct http_req *reqs = xcalloc(n + 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(n + 1, sizeof(*resps));
	size_t *idx = xcalloc(n + 1, sizeof(*idx)), nr = 0;
	for (size_t i = 0; i < n; i++) {
		struct cf_err e;
		err_clear(&e);
		const struct prov_ops *ops = w[i].x->acct->ops;
		if (!ops->write_req) {
			failed(c, w[i].item, "the provider has no cache-rule API");
			continue;
		}
		if (ops->write_req(w[i].x->acct->pa, w[i].x->ep, &w[i].x->live, &reqs[nr], &e) <
		    0) {
			http_req_release(&reqs[nr]);
			failed(c, w[i].item, e.msg);
			continue;
		}
		idx[nr++] = i;
	}
	if (nr)
		(void)http_run(c->en->http, reqs, resps, nr);
	c->r->writes += nr;
	for (size_t k = 0; k < nr; k++) {
		struct wjob *wj = &w[idx[k]];
		struct cf_err e;
		err_clear(&e);
		if (wj->x->acct->ops->write_parse(wj->x->ep, &resps[k], &wj->t, &e) < 0)
			failed(c, wj->item, e.msg);
		else
			wj->ok = true;
		http_req_release(&reqs[k]);
		http_resp_release(&resps[k]);
	}
	free(idx);
	free(resps);
	free(reqs);
}

static void write_wait(struct ctx *c, struct wjob *w, size_t n)
{
	struct pollee *v = xcalloc(n + 1, sizeof(*v));
	size_t np = 0;
	for (size_t i = 0; i < n; i++)
		if (w[i].ok && running(&w[i].t) && w[i].x->acct->ops->poll_req)
			v[np++] = (struct pollee){&w[i].t, w[i].x};
	if (np && !c->o->no_wait)
		wait_tasks(c, v, np);
	free(v);
	for (size_t i = 0; i < n; i++) {
		if (!w[i].ok)
			continue;
		if (w[i].t.state == TASK_FAILED) {
			w[i].ok = false;
			failed(c, w[i].item,
			       w[i].t.message ? w[i].t.message : "the provider's task failed");
		} else if (running(&w[i].t) && !c->o->no_wait) {
			w[i].ok = false;
			failed(c, w[i].item, "timed out waiting for the provider's task");
		}
	}
}

/* Re-reads written endpoints, confirms them and records them in the ledger. */
static int write_confirm(struct ctx *c, struct wjob *w, size_t n, struct cf_err *e)
{
	struct eng_endpoint **v = xcalloc(n + 1, sizeof(*v));
	struct ledger_endpoint *recs = xcalloc(n + 1, sizeof(*recs));
	size_t nv = 0, nrec = 0;
	for (size_t i = 0; i < n; i++)
		if (w[i].ok && !running(&w[i].t))
			v[nv++] = w[i].x;
	if (nv)
		engine_read(c->en, v, nv);
	for (size_t i = 0; i < n; i++) {
		struct wjob *wj = &w[i];
		if (!wj->ok)
			continue;
		if (running(&wj->t)) {
			item_set(c->r, wj->item, APPLY_SUBMITTED, wj->t.id ? wj->t.id : NULL);
			continue;
		}
		if (wj->x->rc < 0) {
			failed(c, wj->item, wj->x->err.msg);
			continue;
		}
		if (!prov_cache_matches(&wj->x->live, &wj->x->ep->cache)) {
			failed(c, wj->item,
			       "the live rules do not match the desired rules after the write");
			continue;
		}
		item_set(c->r, wj->item, APPLY_DONE, NULL);
		struct ledger_endpoint *le = &recs[nrec++];
		le->name = wj->x->ep->name.s;
		le->account = wj->x->ep->account_name.s;
		snprintf(le->commit, sizeof(le->commit), "%s", c->en->commit);
		memcpy(le->digest, wj->x->live.digest, sizeof(le->digest));
		le->applied_at = (int64_t)time(NULL);
		le->cache = wj->x->ep->cache; /* borrowed for encoding only */
	}
	int rc = 0;
	if (nrec && c->en->rl)
		rc = repo_ledger_record(c->en->rl, NULL, 0, recs, nrec,
					"cacheform apply: cache rules", e);
	free(recs);
	free(v);
	return rc;
}

static int phase_writes(struct ctx *c, bool *ep_failed, struct cf_err *e)
{
	const struct plan *p = c->p;
	struct wjob *w = xcalloc(p->neps + 1, sizeof(*w));
	size_t n = 0;
	for (size_t i = 0; i < p->neps; i++) {
		if (p->eps[i].action != PLAN_EP_UPDATE)
			continue;
		w[n].pe = &p->eps[i];
		w[n].x = engine_endpoint(c->en, p->eps[i].name);
		w[n].item = item_add(c->r, "endpoint '%s': cache rules", p->eps[i].name);
		n++;
	}
	int rc = 0;
	if (n) {
		write_submit(c, w, n);
		write_wait(c, w, n);
		rc = write_confirm(c, w, n, e);
	}
	for (size_t i = 0; i < n; i++) {
		if (!w[i].ok || c->r->v[w[i].item].outcome == APPLY_FAILED)
			ep_failed[w[i].pe - p->eps] = true;
		task_release(&w[i].t);
	}
	free(w);
	return rc;
}

/* ---- phase 2: purges ---- */

struct pjob {
	const struct plan_purge *pp;
	struct eng_endpoint *x;
	struct purge_batch *b;
	size_t nb;
	struct task *t; /* one per batch */
	bool *sent;
	struct ledger_purge rec;
	size_t item;
	bool active, accepted;
	bool resumed; /* pending from an earlier run: its purge batches are never resent */
	char *why;
};

static void pjob_release(struct pjob *j)
{
	for (size_t i = 0; i < j->nb; i++) {
		purge_batch_release(&j->b[i]);
		task_release(&j->t[i]);
	}
	free(j->b);
	free(j->t);
	free(j->sent);
	free(j->why);
	ledger_purge_release(&j->rec);
}

static void pjob_fail(struct pjob *j, const char *why)
{
	if (!j->why)
		j->why = xstrdup(why);
}

/* Gives a recorded task to the next unsent batch of its kind (batches split the same way
 * on every run, and tasks were recorded in batch order). */
static void resume_task(struct pjob *j, const struct ledger_task *lt)
{
	enum batch_kind kind = lt->preload ? BATCH_PRELOAD : BATCH_PURGE;
	for (size_t b = 0; b < j->nb; b++)
		if (j->b[b].kind == kind && !j->sent[b]) {
			j->t[b].state = TASK_RUNNING;
			j->t[b].id = xstrdup(lt->id);
			j->t[b].poll_url = xstrdup(lt->poll_url);
			j->sent[b] = true;
			return;
		}
}

static void pjob_init(struct ctx *c, struct pjob *j, const struct plan_purge *pp)
{
	j->pp = pp;
	j->x = engine_endpoint(c->en, pp->endpoint);
	const struct purge *m = config_purge(c->en->cfg, pp->id);
	j->nb = j->x->acct->ops->split(j->x->ep, m, &j->b);
	j->t = xcalloc(j->nb + 1, sizeof(*j->t));
	j->sent = xcalloc(j->nb + 1, sizeof(*j->sent));
	j->item = item_add(c->r, "purge '%s' on '%s'", pp->id, pp->endpoint);
	struct ledger_purge *old = ledger_find_purge(&c->en->led, pp->id, pp->endpoint);
	if (pp->state == PLAN_PURGE_PENDING && old) {
		/* resume: the tasks recorded by an earlier run are polled, not resubmitted */
		ledger_purge_copy(&j->rec, old);
		for (size_t i = 0; i < old->ntasks; i++)
			resume_task(j, &old->tasks[i]);
		j->accepted = old->ntasks > 0;
		j->resumed = true;
		return;
	}
	j->rec.id = xstrdup(pp->id);
	j->rec.endpoint = xstrdup(pp->endpoint);
	j->rec.account = xstrdup(j->x->ep->account_name.s);
	memcpy(j->rec.content_hash, pp->content_hash, sizeof(j->rec.content_hash));
	j->rec.batches = j->nb;
	j->rec.files = pp->files;
	j->rec.dirs = pp->dirs + pp->patterns + pp->regex;
	snprintf(j->rec.commit, sizeof(j->rec.commit), "%s", c->en->commit);
}

/* Status of one kind's batches: 1 all succeeded, 0 some still running, -1 some failed. */
static int kind_state(struct pjob *j, enum batch_kind kind)
{
	int st = 1;
	for (size_t b = 0; b < j->nb; b++) {
		if (j->b[b].kind != kind)
			continue;
		if (!j->sent[b] || j->t[b].state == TASK_FAILED) {
			if (j->t[b].message)
				pjob_fail(j, j->t[b].message);
			return -1;
		}
		if (running(&j->t[b]))
			st = 0;
	}
	return st;
}

/* Sends the batches of one kind that are not sent yet, for every active job, in one run. */
static void submit_kind(struct ctx *c, struct pjob *jobs, size_t n, enum batch_kind kind)
{
	size_t cap = 0;
	for (size_t i = 0; i < n; i++)
		cap += jobs[i].nb;
	struct http_req *reqs = xcalloc(cap + 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(cap + 1, sizeof(*resps));
	struct {
		size_t j, b;
	} *idx = xcalloc(cap + 1, sizeof(*idx));
	size_t nr = 0;
	for (size_t i = 0; i < n; i++) {
		struct pjob *j = &jobs[i];
		if ((kind == BATCH_PURGE && j->resumed) ||
		    (kind == BATCH_PRELOAD && (!j->active || kind_state(j, BATCH_PURGE) != 1)))
			continue;
		for (size_t b = 0; j->active && b < j->nb; b++) {
			struct cf_err e;
			if (j->b[b].kind != kind || j->sent[b])
				continue;
			err_clear(&e);
			if (j->x->acct->ops->batch_req(j->x->acct->pa, j->x->ep, &j->b[b],
						       &reqs[nr], &e) < 0) {
				http_req_release(&reqs[nr]);
				pjob_fail(j, e.msg);
				continue;
			}
			idx[nr].j = i;
			idx[nr++].b = b;
		}
	}
	if (nr)
		(void)http_run(c->en->http, reqs, resps, nr);
	for (size_t k = 0; k < nr; k++) {
		struct pjob *j = &jobs[idx[k].j];
		size_t b = idx[k].b;
		struct cf_err e;
		err_clear(&e);
		if (j->x->acct->ops->batch_parse(j->x->ep, &j->b[b], &resps[k], &j->t[b], &e) < 0) {
			pjob_fail(j, e.msg);
		} else {
			j->sent[b] = true;
			j->accepted = true;
			ledger_purge_add_task(&j->rec, j->t[b].id, j->t[b].poll_url,
					      kind == BATCH_PRELOAD);
			if (!j->rec.submitted_at)
				j->rec.submitted_at = (int64_t)time(NULL);
		}
		http_req_release(&reqs[k]);
		http_resp_release(&resps[k]);
	}
	free(idx);
	free(resps);
	free(reqs);
}

/* Records every accepted job's current record in one compare-and-swap commit. */
static int record_jobs(struct ctx *c, struct pjob *jobs, size_t n, const char *msg,
		       struct cf_err *e)
{
	struct ledger_purge *recs = xcalloc(n + 1, sizeof(*recs));
	size_t nr = 0;
	for (size_t i = 0; i < n; i++)
		if (jobs[i].active && jobs[i].accepted)
			recs[nr++] = jobs[i].rec; /* shallow: borrowed for encoding */
	int rc = 0;
	if (nr && c->en->rl)
		rc = repo_ledger_record(c->en->rl, recs, nr, NULL, 0, msg, e);
	free(recs);
	return rc;
}

static void wait_kind(struct ctx *c, struct pjob *jobs, size_t n, enum batch_kind kind)
{
	size_t cap = 0, np = 0;
	for (size_t i = 0; i < n; i++)
		cap += jobs[i].nb;
	struct pollee *v = xcalloc(cap + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		for (size_t b = 0; jobs[i].active && b < jobs[i].nb; b++)
			if (jobs[i].b[b].kind == kind && jobs[i].sent[b] &&
			    running(&jobs[i].t[b]) && jobs[i].x->acct->ops->poll_req)
				v[np++] = (struct pollee){&jobs[i].t[b], jobs[i].x};
	if (np)
		wait_tasks(c, v, np);
	free(v);
}

static void finish_job(struct ctx *c, struct pjob *j)
{
	if (!j->active)
		return;
	int ps = kind_state(j, BATCH_PURGE);
	int ls = ps == 1 ? kind_state(j, BATCH_PRELOAD) : 0;
	if (ps < 0 || ls < 0) {
		j->rec.status = LEDGER_FAILED;
		j->rec.finished_at = (int64_t)time(NULL);
		free(j->rec.message);
		j->rec.message = xstrdup(j->why ? j->why : "a batch was not accepted");
		failed(c, j->item, j->rec.message);
	} else if (ps == 1 && ls == 1) {
		j->rec.status = LEDGER_SUCCEEDED;
		j->rec.finished_at = (int64_t)time(NULL);
		item_set(c->r, j->item, APPLY_DONE, NULL);
	} else if (c->o->no_wait) {
		item_set(c->r, j->item, APPLY_SUBMITTED, NULL);
	} else {
		failed(c, j->item, "timed out waiting for the provider's task");
	}
}

static bool purge_can_run(struct ctx *c, const struct plan_purge *pp, const bool *ep_failed,
			  size_t item)
{
	const struct plan_endpoint *pe = plan_endpoint_find(c->p, pp->endpoint);
	if (pp->state == PLAN_PURGE_OVER_QUOTA) {
		failed(c, item, "refused: it would exceed the daily purge quota");
		return false;
	}
	if (pp->blocked || (pe && ep_failed[pe - c->p->eps])) {
		item_set(c->r, item, APPLY_NOT_ATTEMPTED, "the endpoint's rule write failed");
		return false;
	}
	if (c->stop) {
		item_set(c->r, item, APPLY_NOT_ATTEMPTED, NULL);
		return false;
	}
	return true;
}

static int phase_purges(struct ctx *c, const bool *ep_failed, struct cf_err *e)
{
	const struct plan *p = c->p;
	struct pjob *jobs = xcalloc(p->npurges + 1, sizeof(*jobs));
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < p->npurges; i++) {
		const struct plan_purge *pp = &p->purges[i];
		if (!plan_purge_runs(pp) && pp->state != PLAN_PURGE_PENDING &&
		    pp->state != PLAN_PURGE_OVER_QUOTA)
			continue;
		pjob_init(c, &jobs[n], pp);
		jobs[n].active = purge_can_run(c, pp, ep_failed, jobs[n].item);
		n++;
	}
	submit_kind(c, jobs, n, BATCH_PURGE);
	/* recorded as submitted before any polling, so a crash cannot lose an accepted purge */
	rc = record_jobs(c, jobs, n, "cacheform apply: purges submitted", e);
	if (rc == 0 && !c->o->no_wait) {
		wait_kind(c, jobs, n, BATCH_PURGE);
		submit_kind(c, jobs, n, BATCH_PRELOAD);
		rc = record_jobs(c, jobs, n, "cacheform apply: preloads submitted", e);
		if (rc == 0)
			wait_kind(c, jobs, n, BATCH_PRELOAD);
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		finish_job(c, &jobs[i]);
	if (rc == 0)
		rc = record_jobs(c, jobs, n, "cacheform apply: purges finished", e);
	for (size_t i = 0; i < n; i++)
		pjob_release(&jobs[i]);
	free(jobs);
	return rc;
}

int apply_run(struct engine *en, const struct plan *p, const struct apply_opts *o,
	      struct apply_result *r, struct cf_err *e)
{
	memset(r, 0, sizeof(*r));
	struct ctx c = {en, p, o, r, 0, false};
	c.deadline_ms =
	    now_ms() + (o->timeout_s > 0 ? o->timeout_s : APPLY_DEFAULT_TIMEOUT_S) * 1000;
	bool *ep_failed = xcalloc(p->neps + 1, sizeof(*ep_failed));
	int rc = phase_writes(&c, ep_failed, e);
	if (rc == 0)
		rc = phase_purges(&c, ep_failed, e);
	free(ep_failed);
	result_count(r);
	if (rc < 0)
		return rc;
	return r->failed ? CF_EAPI : 0;
}
