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
#define APPLY_ERR_SHOWN	     200 /* bytes of a poll's last error kept for the report */

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
		    want &&
		    (want->state == PLAN_PURGE_RUN || want->state == PLAN_PURGE_RETRY ||
		     want->state == PLAN_PURGE_RETRY_UNKNOWN || want->state == PLAN_PURGE_PENDING);
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

/* One task's poll schedule: first after APPLY_POLL_FIRST_MS, then growing by half; and its
 * failed polls in a row, up to APPLY_POLL_FAILS_MAX (then gave_up: no longer waited for). */
struct pclock {
	int64_t due_ms, delay_ms;
	unsigned fails;
	bool gave_up;
	char last_err[APPLY_ERR_SHOWN];
};

enum wstate {
	W_SUBMIT,  /* the write request is to be sent */
	W_POLL,	   /* the provider's task runs */
	W_CONFIRM, /* to be re-read */
	W_END,	   /* confirmed, failed, or left submitted (--no-wait) */
};

struct wjob {
	const struct plan_endpoint *pe;
	struct eng_endpoint *x;
	struct task t;
	struct pclock pc;
	size_t item;
	enum wstate st;
	bool ok; /* confirmed, or submitted under --no-wait: its purges may go */
};

enum pstate {
	P_GATED,  /* waiting for its endpoint's rule write */
	P_ACTIVE, /* submitting or polling batches of the current kind */
	P_END,	  /* finished (item outcome set) */
};

struct pjob {
	const struct plan_purge *pp;
	struct eng_endpoint *x;
	struct wjob *w; /* its endpoint's rule write, or NULL */
	struct purge_batch *b;
	size_t nb;
	struct task *t;	   /* one per batch */
	struct pclock *pc; /* one per batch */
	bool *sent;
	bool *unknown; /* the batch's answer could not be read: it may have been accepted */
	struct ledger_purge rec;
	size_t item;
	enum pstate st;
	enum batch_kind kind; /* the kind being submitted or polled */
	/* accepted: the provider holds (or may hold) some of it, so it has a record; dirty: rec
	 * changed since it was last committed; refused: a batch was refused or a task failed */
	bool accepted, dirty, refused;
	bool resumed; /* pending from an earlier run whose tasks carry no batch index: its
			 purge batches are never resent */
	char *why;
};

struct ctx {
	struct engine *en;
	const struct plan *p;
	const struct apply_opts *o;
	struct apply_result *r;
	int64_t deadline_ms;
	bool stop; /* a failure without keep_going: nothing new starts */
	struct wjob *w;
	size_t nw;
	struct pjob *j;
	int64_t noted_ms; /* last "still waiting" line (no terminal) */
	size_t nj;
	/* endpoint records confirmed since the last commit (cache borrowed) */
	struct ledger_endpoint *eprec;
	size_t neprec, eprec_cap;
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

static bool running(const struct task *t)
{
	return t->state == TASK_RUNNING;
}

/* A provider's poll hint wins over the growing delay, up to APPLY_RETRY_AFTER_MAX_S. */
static int64_t hinted(const struct task *t, int64_t delay)
{
	if (!t->retry_after_s)
		return delay;
	return (t->retry_after_s > APPLY_RETRY_AFTER_MAX_S ? APPLY_RETRY_AFTER_MAX_S
							   : t->retry_after_s) *
	       (int64_t)1000;
}

/* Called when the task became known, at the end of the round that created it, so the
 * first poll never comes before the provider had APPLY_POLL_FIRST_MS to finish it. */
static void pclock_start(struct pclock *pc, const struct task *t, int64_t now)
{
	pc->delay_ms = APPLY_POLL_FIRST_MS;
	pc->due_ms = now + hinted(t, pc->delay_ms);
}

static void pclock_next(struct pclock *pc, const struct task *t, int64_t now)
{
	pc->delay_ms =
	    pc->delay_ms * 3 / 2 > APPLY_POLL_MAX_MS ? APPLY_POLL_MAX_MS : pc->delay_ms * 3 / 2;
	pc->due_ms = now + hinted(t, pc->delay_ms);
}

/* ---- one round: every request that may go now, in one http_run() ---- */

enum rkind { R_WRITE, R_WPOLL, R_CONFIRM, R_BATCH, R_BPOLL };

struct rtag {
	enum rkind k;
	size_t i, b; /* wjob or pjob index; batch index */
};

struct round {
	struct http_req *reqs;
	struct rtag *tags;
	size_t n, rcap, tcap;
	bool accepted; /* a purge or preload batch was accepted: commit before polling */
};

/* Returns the next request slot, tagged; the caller fills it or calls round_drop(). */
static struct http_req *round_slot(struct round *rd, enum rkind k, size_t i, size_t b)
{
	xgrow(&rd->reqs, &rd->rcap, rd->n + 1, sizeof(*rd->reqs));
	xgrow(&rd->tags, &rd->tcap, rd->n + 1, sizeof(*rd->tags));
	memset(&rd->reqs[rd->n], 0, sizeof(*rd->reqs));
	rd->tags[rd->n] = (struct rtag){k, i, b};
	return &rd->reqs[rd->n++];
}

static void round_drop(struct round *rd)
{
	http_req_release(&rd->reqs[--rd->n]);
}

static void task_fail(struct task *t, const char *why)
{
	t->state = TASK_FAILED;
	free(t->message);
	t->message = xstrdup(why);
}

/* Adds a poll of t when it is due; a poll that cannot be built fails the task. */
static void add_poll(struct round *rd, enum rkind k, size_t i, size_t b, struct eng_endpoint *x,
		     struct task *t, const struct pclock *pc, int64_t now)
{
	struct cf_err e;
	if (!running(t) || pc->gave_up || pc->due_ms > now || !x->acct->ops->poll_req)
		return;
	err_clear(&e);
	if (x->acct->ops->poll_req(x->acct->pa, x->ep, t, round_slot(rd, k, i, b), &e) < 0) {
		round_drop(rd);
		task_fail(t, e.msg);
	}
}

static void collect_writes(struct ctx *c, struct round *rd, int64_t now)
{
	for (size_t i = 0; i < c->nw; i++) {
		struct wjob *w = &c->w[i];
		const struct prov_ops *ops = w->x->acct->ops;
		struct cf_err e;
		err_clear(&e);
		if (w->st == W_POLL) {
			add_poll(rd, R_WPOLL, i, 0, w->x, &w->t, &w->pc, now);
		} else if (w->st == W_CONFIRM) {
			if (ops->read_req(w->x->acct->pa, w->x->ep, round_slot(rd, R_CONFIRM, i, 0),
					  &e) < 0) {
				round_drop(rd);
				failed(c, w->item, e.msg);
				w->st = W_END;
			}
		} else if (w->st == W_SUBMIT) {
			if (!ops->write_req) {
				failed(c, w->item, "the provider has no cache-rule API");
				w->st = W_END;
			} else if (ops->write_req(w->x->acct->pa, w->x->ep, &w->x->live,
						  round_slot(rd, R_WRITE, i, 0), &e) < 0) {
				round_drop(rd);
				failed(c, w->item, e.msg);
				w->st = W_END;
			}
		}
	}
}

static void pjob_fail(struct pjob *j, const char *why)
{
	if (!j->why)
		j->why = xstrdup(why);
}

/* Sends the unsent batches of the job's current kind. */
static void collect_batches(struct ctx *c, struct round *rd, size_t ji)
{
	struct pjob *j = &c->j[ji];
	if (j->kind == BATCH_PURGE && j->resumed)
		return;
	for (size_t b = 0; b < j->nb; b++) {
		struct cf_err e;
		if (j->b[b].kind != j->kind || j->sent[b])
			continue;
		err_clear(&e);
		if (j->x->acct->ops->batch_req(j->x->acct->pa, j->x->ep, &j->b[b],
					       round_slot(rd, R_BATCH, ji, b), &e) < 0) {
			round_drop(rd);
			j->refused = true;
			pjob_fail(j, e.msg);
			/* never sent: kind_state() reports it, the job fails at its end */
		}
	}
}

static bool sent_all(const struct pjob *j, enum batch_kind kind)
{
	for (size_t b = 0; b < j->nb; b++)
		if (j->b[b].kind == kind && !j->sent[b])
			return false;
	return true;
}

/* Gate of a purge job: may it start? Sets the outcome when it never will. */
static bool gate_open(struct ctx *c, struct pjob *j)
{
	if (j->w && j->w->st != W_END)
		return false;
	if (j->w && !j->w->ok) {
		item_set(c->r, j->item, APPLY_NOT_ATTEMPTED, "the endpoint's rule write failed");
		j->st = P_END;
		return false;
	}
	if (c->stop) {
		item_set(c->r, j->item, APPLY_NOT_ATTEMPTED, NULL);
		j->st = P_END;
		return false;
	}
	j->st = P_ACTIVE;
	return true;
}

static void collect_purges(struct ctx *c, struct round *rd, int64_t now)
{
	for (size_t i = 0; i < c->nj; i++) {
		struct pjob *j = &c->j[i];
		if (j->st == P_GATED && !gate_open(c, j))
			continue;
		if (j->st != P_ACTIVE)
			continue;
		for (size_t b = 0; b < j->nb; b++)
			if (j->sent[b] && !c->o->no_wait)
				add_poll(rd, R_BPOLL, i, b, j->x, &j->t[b], &j->pc[b], now);
		if (!sent_all(j, j->kind) && !j->why)
			collect_batches(c, rd, i);
	}
}

/* ---- answers ---- */

static void write_done(struct ctx *c, struct wjob *w, int64_t now)
{
	if (w->pc.gave_up) {
		char msg[APPLY_ERR_SHOWN * 2];
		snprintf(msg, sizeof(msg),
			 "gave up on task %s after %u failed polls in a row (last error: %s)",
			 w->t.id ? w->t.id : "?", w->pc.fails, w->pc.last_err);
		failed(c, w->item, msg);
		w->st = W_END;
	} else if (w->t.state == TASK_FAILED) {
		failed(c, w->item, w->t.message ? w->t.message : "the provider's task failed");
		w->st = W_END;
	} else if (!running(&w->t)) {
		w->st = W_CONFIRM;
	} else if (c->o->no_wait || !w->x->acct->ops->poll_req) {
		item_set(c->r, w->item, APPLY_SUBMITTED, w->t.id ? w->t.id : NULL);
		w->ok = true; /* as before --no-wait: its purges go without the confirmation */
		w->st = W_END;
	} else {
		if (w->st != W_POLL)
			pclock_start(&w->pc, &w->t, now);
		else
			pclock_next(&w->pc, &w->t, now);
		w->st = W_POLL;
	}
}

static void confirm_done(struct ctx *c, struct wjob *w, const struct http_resp *resp)
{
	struct eng_endpoint *x = w->x;
	w->st = W_END;
	live_state_release(&x->live);
	err_clear(&x->err);
	x->rc = x->acct->ops->read_parse(x->ep, resp, &x->live, &x->err);
	x->read = x->rc == 0;
	if (x->rc < 0) {
		failed(c, w->item, x->err.msg);
		return;
	}
	if (!prov_cache_matches(&x->live, &x->ep->cache)) {
		failed(c, w->item, "the live rules do not match the desired rules after the write");
		return;
	}
	w->ok = true;
	item_set(c->r, w->item, APPLY_DONE, NULL);
	xgrow(&c->eprec, &c->eprec_cap, c->neprec + 1, sizeof(*c->eprec));
	struct ledger_endpoint *le = &c->eprec[c->neprec++];
	memset(le, 0, sizeof(*le));
	le->name = x->ep->name.s;
	le->account = x->ep->account_name.s;
	snprintf(le->commit, sizeof(le->commit), "%s", c->en->commit);
	memcpy(le->digest, x->live.digest, sizeof(le->digest));
	le->applied_at = (int64_t)time(NULL);
	le->cache = x->ep->cache; /* borrowed for encoding only */
}

/*
 * Only an HTTP error status proves the provider refused a purge or preload request; a broken
 * connection, a timeout or an unreadable 2xx answer may come after it was accepted.
 */
static bool answer_unknown(const struct http_resp *resp)
{
	return resp->rc != 0 || (resp->status >= 200 && resp->status < 300);
}

static void batch_done(struct round *rd, struct pjob *j, size_t b, const struct http_resp *resp,
		       int64_t now)
{
	struct cf_err e;
	err_clear(&e);
	if (j->x->acct->ops->batch_parse(j->x->ep, &j->b[b], resp, &j->t[b], &e) < 0) {
		if (!answer_unknown(resp)) {
			j->refused = true;
			pjob_fail(j, e.msg);
			return;
		}
		/* recorded now, like an accepted batch: the next apply sends it once more */
		struct sb msg;
		sb_init(&msg, 0);
		sb_addf(&msg,
			"%s; the provider may have accepted it, so it is recorded as unknown "
			"and the next apply sends it once more",
			e.msg);
		pjob_fail(j, msg.buf);
		sb_release(&msg);
		j->unknown[b] = true;
		j->accepted = j->dirty = rd->accepted = true;
		return;
	}
	j->sent[b] = true;
	j->accepted = j->dirty = true;
	rd->accepted = true;
	if (!j->rec.submitted_at)
		j->rec.submitted_at = (int64_t)time(NULL);
	pclock_start(&j->pc[b], &j->t[b], now);
}

/* A failed poll is not a failed task: poll again, but after APPLY_POLL_FAILS_MAX failures
 * in a row stop waiting for it (gave_up) rather than stay silent until the deadline. */
static void poll_parse(struct eng_endpoint *x, struct task *t, struct pclock *pc,
		       const struct http_resp *resp)
{
	struct cf_err e;
	err_clear(&e);
	if (x->acct->ops->poll_parse(x->ep, resp, t, &e) < 0) {
		t->state = TASK_RUNNING;
		snprintf(pc->last_err, sizeof(pc->last_err), "%.*s", (int)sizeof(pc->last_err) - 1,
			 e.msg);
		pc->gave_up = ++pc->fails >= APPLY_POLL_FAILS_MAX;
	} else {
		pc->fails = 0;
	}
}

static void write_answer(struct ctx *c, struct wjob *w, enum rkind k, const struct http_resp *resp,
			 int64_t now)
{
	struct cf_err e;
	err_clear(&e);
	if (k == R_WPOLL) {
		poll_parse(w->x, &w->t, &w->pc, resp);
	} else if (w->x->acct->ops->write_parse(w->x->ep, resp, &w->t, &e) < 0) {
		failed(c, w->item, e.msg);
		w->st = W_END;
		return;
	}
	write_done(c, w, now);
}

static void round_answers(struct ctx *c, struct round *rd, struct http_resp *resps)
{
	int64_t now = now_ms();
	for (size_t k = 0; k < rd->n; k++) {
		const struct rtag *tg = &rd->tags[k];
		if (tg->k == R_WRITE || tg->k == R_WPOLL) {
			write_answer(c, &c->w[tg->i], tg->k, &resps[k], now);
		} else if (tg->k == R_CONFIRM) {
			confirm_done(c, &c->w[tg->i], &resps[k]);
		} else if (tg->k == R_BATCH) {
			batch_done(rd, &c->j[tg->i], tg->b, &resps[k], now);
		} else {
			struct pjob *j = &c->j[tg->i];
			poll_parse(j->x, &j->t[tg->b], &j->pc[tg->b], &resps[k]);
			if (running(&j->t[tg->b]) && !j->pc[tg->b].gave_up)
				pclock_next(&j->pc[tg->b], &j->t[tg->b], now);
		}
		http_req_release(&rd->reqs[k]);
		http_resp_release(&resps[k]);
	}
	rd->n = 0;
}

/* ---- purge jobs ---- */

static void pjob_release(struct pjob *j)
{
	for (size_t i = 0; i < j->nb; i++) {
		purge_batch_release(&j->b[i]);
		task_release(&j->t[i]);
	}
	free(j->b);
	free(j->t);
	free(j->pc);
	free(j->sent);
	free(j->unknown);
	free(j->why);
	ledger_purge_release(&j->rec);
}

/* Gives a recorded task to the next unsent batch of its kind (batches split the same way
 * on every run, and tasks were recorded in batch order). */
static void resume_task(struct pjob *j, const struct ledger_task *lt, int64_t now)
{
	enum batch_kind kind = lt->preload ? BATCH_PRELOAD : BATCH_PURGE;
	for (size_t b = 0; b < j->nb; b++)
		if (j->b[b].kind == kind && !j->sent[b]) {
			j->t[b].state = TASK_RUNNING;
			j->t[b].id = xstrdup(lt->id);
			j->t[b].poll_url = xstrdup(lt->poll_url);
			j->sent[b] = true;
			pclock_start(&j->pc[b], &j->t[b], now);
			return;
		}
}

/* True when every recorded task names a batch of its kind (records written since per-batch
 * tracking), so the fate of each batch is known. */
static bool tasks_indexed(const struct pjob *j, const struct ledger_purge *old)
{
	for (size_t i = 0; i < old->ntasks; i++) {
		const struct ledger_task *lt = &old->tasks[i];
		if (lt->batch < 0 || (size_t)lt->batch >= j->nb ||
		    (j->b[lt->batch].kind == BATCH_PRELOAD) != lt->preload)
			return false;
	}
	return old->ntasks > 0;
}

/* Takes over what an earlier run got accepted: running tasks are polled, succeeded ones are
 * done; failed and unknown batches stay unsent, so they go again (the unknown ones once:
 * this run records their new outcome). */
static void adopt_tasks(struct pjob *j, const struct ledger_purge *old, int64_t now)
{
	ledger_purge_copy(&j->rec, old);
	j->rec.status = LEDGER_SUBMITTED;
	j->rec.finished_at = 0;
	free(j->rec.message);
	j->rec.message = NULL;
	j->accepted = true;
	for (size_t i = 0; i < old->ntasks; i++) {
		const struct ledger_task *lt = &old->tasks[i];
		size_t b = (size_t)lt->batch;
		if (lt->state != LTASK_RUNNING && lt->state != LTASK_SUCCEEDED)
			continue;
		task_release(&j->t[b]);
		j->t[b].state = lt->state == LTASK_SUCCEEDED ? TASK_SUCCEEDED : TASK_RUNNING;
		j->t[b].id = xstrdup(lt->id);
		j->t[b].poll_url = xstrdup(lt->poll_url);
		j->sent[b] = true;
		pclock_start(&j->pc[b], &j->t[b], now);
	}
}

/* Rewrites the record's tasks from the batches: one per batch accepted or unknown. */
static void rec_tasks(struct pjob *j)
{
	ledger_purge_clear_tasks(&j->rec);
	for (size_t b = 0; b < j->nb; b++) {
		if (!j->sent[b] && !j->unknown[b])
			continue;
		ledger_purge_add_task(&j->rec, j->sent[b] ? j->t[b].id : NULL,
				      j->sent[b] ? j->t[b].poll_url : NULL,
				      j->b[b].kind == BATCH_PRELOAD);
		struct ledger_task *lt = &j->rec.tasks[j->rec.ntasks - 1];
		lt->batch = (int64_t)b;
		lt->state = !j->sent[b]			      ? LTASK_UNKNOWN
			    : j->t[b].state == TASK_SUCCEEDED ? LTASK_SUCCEEDED
			    : j->t[b].state == TASK_FAILED    ? LTASK_FAILED
							      : LTASK_RUNNING;
	}
}

static struct wjob *wjob_of(struct ctx *c, const char *endpoint)
{
	for (size_t i = 0; i < c->nw; i++)
		if (strcmp(c->w[i].pe->name, endpoint) == 0)
			return &c->w[i];
	return NULL;
}

static void pjob_init(struct ctx *c, struct pjob *j, const struct plan_purge *pp)
{
	int64_t now = now_ms();
	j->pp = pp;
	j->x = engine_endpoint(c->en, pp->endpoint);
	j->w = wjob_of(c, pp->endpoint);
	const struct purge *m = config_purge(c->en->cfg, pp->id);
	j->nb = j->x->acct->ops->split(j->x->ep, m, &j->b);
	j->t = xcalloc(j->nb + 1, sizeof(*j->t));
	j->pc = xcalloc(j->nb + 1, sizeof(*j->pc));
	j->sent = xcalloc(j->nb + 1, sizeof(*j->sent));
	j->unknown = xcalloc(j->nb + 1, sizeof(*j->unknown));
	j->item = item_add(c->r, "purge '%s' on '%s'", pp->id, pp->endpoint);
	j->kind = BATCH_PURGE;
	struct ledger_purge *old = ledger_find_purge(&c->en->led, pp->id, pp->endpoint);
	bool again = pp->state == PLAN_PURGE_PENDING || pp->state == PLAN_PURGE_RETRY ||
		     pp->state == PLAN_PURGE_RETRY_UNKNOWN;
	if (again && old && strcmp(old->content_hash, pp->content_hash) == 0 &&
	    tasks_indexed(j, old)) {
		/* only the batches never accepted (or whose task failed) are sent */
		adopt_tasks(j, old, now);
		j->rec.batches = j->nb;
		return;
	}
	if (pp->state == PLAN_PURGE_PENDING && old) {
		/* resume: the tasks recorded by an earlier run are polled, not resubmitted */
		ledger_purge_copy(&j->rec, old);
		for (size_t i = 0; i < old->ntasks; i++)
			resume_task(j, &old->tasks[i], now);
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

static bool any_running(const struct pjob *j)
{
	for (size_t b = 0; b < j->nb; b++)
		if (j->sent[b] && running(&j->t[b]) && !j->pc[b].gave_up)
			return true;
	return false;
}

/* A task no longer waited for (APPLY_POLL_FAILS_MAX failed polls): its batch, or nb. */
static size_t gave_up_on(const struct pjob *j)
{
	for (size_t b = 0; b < j->nb; b++)
		if (j->sent[b] && running(&j->t[b]) && j->pc[b].gave_up)
			return b;
	return j->nb;
}

/* Unknown when the only trouble is answers that could not be read. */
static enum ledger_status failure_status(const struct pjob *j)
{
	bool unknown = false;
	for (size_t b = 0; b < j->nb; b++) {
		if (j->sent[b] && j->t[b].state == TASK_FAILED)
			return LEDGER_FAILED;
		unknown |= j->unknown[b];
	}
	return unknown && !j->refused ? LEDGER_UNKNOWN : LEDGER_FAILED;
}

static void gave_up_fail(struct ctx *c, struct pjob *j, size_t b)
{
	char msg[APPLY_ERR_SHOWN * 3];
	snprintf(msg, sizeof(msg),
		 "gave up on %s task %s after %u failed polls in a row (last error: %s); it "
		 "stays submitted in the ledger and the next apply polls it again",
		 j->b[b].kind == BATCH_PRELOAD ? "preload" : "purge", j->t[b].id ? j->t[b].id : "?",
		 j->pc[b].fails, j->pc[b].last_err);
	j->dirty = true; /* the other tasks' states */
	failed(c, j->item, msg);
}

/* Sets the job's outcome and final record; timed_out: its tasks are no longer waited for. */
static void finish_job(struct ctx *c, struct pjob *j, bool timed_out)
{
	int ps = kind_state(j, BATCH_PURGE);
	int ls = ps == 1 ? kind_state(j, BATCH_PRELOAD) : 0;
	size_t g = gave_up_on(j);
	j->st = P_END;
	if (ps < 0 || ls < 0) {
		j->rec.status = failure_status(j);
		j->rec.finished_at = (int64_t)time(NULL);
		free(j->rec.message);
		j->rec.message = xstrdup(j->why ? j->why : "a batch was not accepted");
		j->dirty = j->accepted;
		failed(c, j->item, j->rec.message);
	} else if (ps == 1 && ls == 1) {
		j->rec.status = LEDGER_SUCCEEDED;
		j->rec.finished_at = (int64_t)time(NULL);
		j->dirty = true;
		item_set(c->r, j->item, APPLY_DONE, NULL);
	} else if (c->o->no_wait) {
		item_set(c->r, j->item, APPLY_SUBMITTED, NULL);
	} else if (g < j->nb) {
		gave_up_fail(c, j, g);
	} else if (timed_out) {
		failed(c, j->item, "timed out waiting for the provider's task");
	} else {
		j->st = P_ACTIVE; /* still running */
	}
}

/*
 * Moves active jobs on once nothing of theirs runs: from purges to preloads (never under
 * --no-wait, as before), or to their end. Returns true when a job moved to its preloads.
 */
static bool advance_jobs(struct ctx *c)
{
	bool moved = false;
	for (size_t i = 0; i < c->nj; i++) {
		struct pjob *j = &c->j[i];
		if (j->st != P_ACTIVE || any_running(j))
			continue;
		if (!sent_all(j, j->kind) && !j->why && !(j->kind == BATCH_PURGE && j->resumed))
			continue; /* batches still to send */
		if (j->kind == BATCH_PURGE && !c->o->no_wait && !j->why &&
		    kind_state(j, BATCH_PURGE) == 1 && !sent_all(j, BATCH_PRELOAD)) {
			j->kind = BATCH_PRELOAD;
			moved = true;
			continue;
		}
		finish_job(c, j, false);
	}
	return moved;
}

/* ---- the ledger ---- */

/* Endpoint records of the in-sync managed endpoints whose ledger record is missing or says
 * something else (appended to c->eprec). */
static void collect_in_sync(struct engine *en, const struct plan *p, struct ledger_endpoint **v,
			    size_t *n, size_t *cap)
{
	for (size_t i = 0; i < p->neps; i++) {
		const struct plan_endpoint *pe = &p->eps[i];
		struct eng_endpoint *x = engine_endpoint(en, pe->name);
		if (pe->action != PLAN_EP_NONE || pe->mode != MODE_MANAGE || !x || !x->read ||
		    !x->live.exists)
			continue;
		const struct ledger_endpoint *old = ledger_find_endpoint(&en->led, pe->name);
		/*
		 * An unchanged record is kept even when the desired commit moved: it still
		 * says what was last confirmed, and a converged fleet's re-apply then makes
		 * no ledger commit at all.
		 */
		if (old && strcmp(old->digest, x->live.digest) == 0 &&
		    strcmp(old->account ? old->account : "", x->ep->account_name.s) == 0 &&
		    cache_equal(&old->cache, &x->ep->cache))
			continue;
		xgrow(v, cap, *n + 1, sizeof(**v));
		struct ledger_endpoint *le = &(*v)[(*n)++];
		memset(le, 0, sizeof(*le));
		le->name = x->ep->name.s;
		le->account = x->ep->account_name.s;
		snprintf(le->commit, sizeof(le->commit), "%s", en->commit);
		memcpy(le->digest, x->live.digest, sizeof(le->digest));
		le->applied_at = (int64_t)time(NULL);
		le->cache = x->ep->cache; /* borrowed for encoding only */
	}
}

/* Commits every changed purge record and the pending endpoint records in one
 * compare-and-swap commit (none when there is nothing to say). */
static int commit(struct ctx *c, const char *msg, struct cf_err *e)
{
	struct ledger_purge *recs = xcalloc(c->nj + 1, sizeof(*recs));
	size_t nr = 0;
	int rc = 0;
	for (size_t i = 0; i < c->nj; i++)
		if (c->j[i].dirty && c->j[i].accepted) {
			rec_tasks(&c->j[i]);
			recs[nr++] = c->j[i].rec; /* shallow: borrowed for encoding */
		}
	if ((nr || c->neprec) && c->en->rl)
		rc = repo_ledger_record(c->en->rl, recs, nr, c->eprec, c->neprec, msg, e);
	if (rc == 0) {
		for (size_t i = 0; i < c->nj; i++)
			c->j[i].dirty = false;
		c->neprec = 0;
	}
	free(recs);
	return rc;
}

int apply_record_in_sync(struct engine *en, const struct plan *p, struct cf_err *e)
{
	struct ledger_endpoint *v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	collect_in_sync(en, p, &v, &n, &cap);
	if (n && en->rl)
		rc = repo_ledger_record(en->rl, NULL, 0, v, n, "cacheform apply: endpoints in sync",
					e);
	free(v);
	return rc;
}

/* ---- the loop ---- */

static size_t tasks_waiting(const struct ctx *c, int64_t *next_due)
{
	size_t n = 0;
	*next_due = INT64_MAX;
	for (size_t i = 0; i < c->nw; i++)
		if (c->w[i].st == W_POLL && !c->w[i].pc.gave_up) {
			n++;
			if (c->w[i].pc.due_ms < *next_due)
				*next_due = c->w[i].pc.due_ms;
		}
	for (size_t i = 0; i < c->nj && !c->o->no_wait; i++)
		for (size_t b = 0; c->j[i].st == P_ACTIVE && b < c->j[i].nb; b++)
			if (c->j[i].sent[b] && running(&c->j[i].t[b]) && !c->j[i].pc[b].gave_up &&
			    c->j[i].x->acct->ops->poll_req) {
				n++;
				if (c->j[i].pc[b].due_ms < *next_due)
					*next_due = c->j[i].pc[b].due_ms;
			}
	return n;
}

/* Appends "purge 'id' on 'ep' (task T)" for up to APPLY_NOTE_SHOWN waited-for tasks. */
static void pending_names(const struct ctx *c, struct sb *out)
{
	size_t shown = 0;
	for (size_t i = 0; i < c->nw && shown < APPLY_NOTE_SHOWN; i++)
		if (c->w[i].st == W_POLL && !c->w[i].pc.gave_up && ++shown)
			sb_addf(out, "%srules of '%s' (task %s)", shown > 1 ? ", " : "",
				c->w[i].pe->name, c->w[i].t.id ? c->w[i].t.id : "?");
	for (size_t i = 0; i < c->nj; i++) {
		const struct pjob *j = &c->j[i];
		for (size_t b = 0; j->st == P_ACTIVE && b < j->nb && shown < APPLY_NOTE_SHOWN; b++)
			if (j->sent[b] && running(&j->t[b]) && !j->pc[b].gave_up && ++shown)
				sb_addf(out, "%s%s '%s' on '%s' (task %s)", shown > 1 ? ", " : "",
					j->b[b].kind == BATCH_PRELOAD ? "preload" : "purge",
					j->pp->id, j->pp->endpoint, j->t[b].id ? j->t[b].id : "?");
	}
}

/* Without a terminal (CI logs): one line saying what is still pending, at most every
 * note_every_s, so a long wait is never silent. */
static void note_waiting(struct ctx *c, size_t left, int64_t now, int64_t since)
{
	int64_t every =
	    (c->o->note_every_s > 0 ? c->o->note_every_s : APPLY_NOTE_EVERY_S) * (int64_t)1000;
	if (c->o->progress || now - (c->noted_ms ? c->noted_ms : since) < every)
		return;
	struct sb names;
	sb_init(&names, 0);
	pending_names(c, &names);
	c->noted_ms = now;
	fprintf(stderr, "cacheform: still waiting after %" PRId64 " s for %zu task%s: %s%s\n",
		(now - since) / 1000, left, left == 1 ? "" : "s", names.buf ? names.buf : "",
		left > APPLY_NOTE_SHOWN ? ", ..." : "");
	sb_release(&names);
}

/* Sleeps until the next poll is due. Returns false when that is past the deadline. */
static bool wait_next(struct ctx *c, size_t left, int64_t due, int64_t since)
{
	int64_t now = now_ms();
	note_waiting(c, left, now, since);
	if (c->o->progress)
		fprintf(stderr, "\rwaiting for %zu task%s (%" PRId64 " s)   ", left,
			left == 1 ? "" : "s", (now - since) / 1000);
	if (due > c->deadline_ms) {
		if (c->o->progress)
			fprintf(stderr, "\n");
		return false;
	}
	if (due > now)
		sleep_ms(due - now);
	return true;
}

/* Rounds until nothing is left to send or wait for (or the deadline passes). */
static int run_rounds(struct ctx *c, struct cf_err *e)
{
	struct round rd = {0};
	int64_t start = now_ms();
	bool waited = false;
	int rc = 0;
	for (;;) {
		int64_t now = now_ms(), due;
		advance_jobs(c);
		collect_writes(c, &rd, now);
		collect_purges(c, &rd, now);
		if (rd.n == 0) {
			size_t left = tasks_waiting(c, &due);
			/* a job whose purges an earlier run finished moves to its preloads only
			 * once it was opened, in this round: give it the next one */
			if (!left && advance_jobs(c))
				continue;
			if (!left)
				break;
			waited = true;
			if (!wait_next(c, left, due, start))
				break;
			continue;
		}
		struct http_resp *resps = xcalloc(rd.n + 1, sizeof(*resps));
		for (size_t k = 0; k < rd.n; k++)
			c->r->writes += rd.tags[k].k == R_WRITE;
		(void)http_run(c->en->http, rd.reqs, resps, rd.n);
		rd.accepted = false;
		round_answers(c, &rd, resps);
		free(resps);
		/* recorded as submitted before any polling, so a crash cannot lose an accepted
		 * purge; confirmed endpoints ride along */
		if (rd.accepted && (rc = commit(c, "cacheform apply: purges submitted", e)) < 0)
			break;
	}
	if (waited && c->o->progress)
		fprintf(stderr, "\r%40s\r", "");
	free(rd.reqs);
	free(rd.tags);
	return rc;
}

/* Outcomes of whatever the loop left behind (deadline passed, or stopped). */
static void settle_left(struct ctx *c)
{
	for (size_t i = 0; i < c->nw; i++)
		if (c->w[i].st == W_POLL) {
			c->w[i].st = W_END;
			failed(c, c->w[i].item, "timed out waiting for the provider's task");
		}
	for (size_t i = 0; i < c->nj; i++) {
		struct pjob *j = &c->j[i];
		if (j->st == P_GATED)
			(void)gate_open(c, j);
		if (j->st == P_ACTIVE && !j->accepted && !j->resumed && !j->why) {
			item_set(c->r, j->item, APPLY_NOT_ATTEMPTED, NULL);
			j->st = P_END;
		}
		if (j->st == P_ACTIVE)
			finish_job(c, j, true);
	}
}

static void plan_jobs(struct ctx *c)
{
	const struct plan *p = c->p;
	c->w = xcalloc(p->neps + 1, sizeof(*c->w));
	for (size_t i = 0; i < p->neps; i++) {
		if (p->eps[i].action != PLAN_EP_UPDATE)
			continue;
		struct wjob *w = &c->w[c->nw++];
		w->pe = &p->eps[i];
		w->x = engine_endpoint(c->en, p->eps[i].name);
		w->item = item_add(c->r, "endpoint '%s': cache rules", p->eps[i].name);
	}
	c->j = xcalloc(p->npurges + 1, sizeof(*c->j));
	for (size_t i = 0; i < p->npurges; i++) {
		const struct plan_purge *pp = &p->purges[i];
		if (!plan_purge_runs(pp) && pp->state != PLAN_PURGE_PENDING &&
		    pp->state != PLAN_PURGE_OVER_QUOTA)
			continue;
		struct pjob *j = &c->j[c->nj++];
		pjob_init(c, j, pp);
		if (pp->state == PLAN_PURGE_OVER_QUOTA) {
			/* refused by the plan, not failed at the provider: the purges that fit
			 * the quota still run (the exit code reports the refusal) */
			item_set(c->r, j->item, APPLY_FAILED,
				 "refused: it would exceed the daily purge quota");
			j->st = P_END;
		} else if (pp->blocked) {
			item_set(c->r, j->item, APPLY_NOT_ATTEMPTED,
				 "the endpoint's rule write failed");
			j->st = P_END;
		}
	}
}

int apply_run(struct engine *en, const struct plan *p, const struct apply_opts *o,
	      struct apply_result *r, struct cf_err *e)
{
	memset(r, 0, sizeof(*r));
	struct ctx c = {0};
	c.en = en;
	c.p = p;
	c.o = o;
	c.r = r;
	c.deadline_ms =
	    now_ms() + (o->timeout_s > 0 ? o->timeout_s : APPLY_DEFAULT_TIMEOUT_S) * 1000;
	plan_jobs(&c);
	int rc = run_rounds(&c, e);
	if (rc == 0) {
		settle_left(&c);
		collect_in_sync(en, p, &c.eprec, &c.neprec, &c.eprec_cap);
		rc = commit(&c, "cacheform apply: finished", e);
	}
	for (size_t i = 0; i < c.nw; i++)
		task_release(&c.w[i].t);
	for (size_t i = 0; i < c.nj; i++)
		pjob_release(&c.j[i]);
	free(c.w);
	free(c.j);
	free(c.eprec);
	result_count(r);
	if (rc < 0)
		return rc;
	return r->failed ? CF_EAPI : 0;
}
