/*
 * Purge and preload jobs for apply_run(): each purge split into batches, sent once its
 * endpoint's rule write is confirmed, its tasks polled, and its ledger record kept in step
 * (taken over from an earlier run, rewritten from the batches before each commit).
 */
#include "reconcile/base/compat.h"
#include "reconcile/apply_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconcile/claimant.h"
#include "reconcile/inflight.h"
#include "reconcile/redact.h"
#include "reconcile/repo_ledger.h"
#include "reconcile/repo_remote.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

/* ---- jobs ---- */

void apply_purge_release(struct pjob *j)
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
	free(j->find);
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
			apply_pclock_start(&j->pc[b], &j->t[b], now);
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
	j->since = old->claimed_at ? old->claimed_at : old->submitted_at;
	j->rec.status = LEDGER_SUBMITTED;
	j->rec.finished_at = 0;
	free(j->rec.message);
	j->rec.message = NULL;
	j->accepted = true;
	for (size_t i = 0; i < old->ntasks; i++) {
		const struct ledger_task *lt = &old->tasks[i];
		size_t b = (size_t)lt->batch;
		/* a lost answer is looked up in the provider's task list before it is resent */
		if (lt->state == LTASK_UNKNOWN && !lt->preload && j->x->acct->ops->find_req &&
		    j->since > 0)
			j->find[b] = true;
		if (lt->state != LTASK_RUNNING && lt->state != LTASK_SUCCEEDED)
			continue;
		task_release(&j->t[b]);
		j->t[b].state = lt->state == LTASK_SUCCEEDED ? TASK_SUCCEEDED : TASK_RUNNING;
		j->t[b].id = xstrdup(lt->id);
		j->t[b].poll_url = xstrdup(lt->poll_url);
		j->sent[b] = true;
		apply_pclock_start(&j->pc[b], &j->t[b], now);
	}
}

/* Appends batch b's task to rec when it was accepted or its answer was lost. */
static void add_batch_task(const struct pjob *j, size_t b, struct ledger_purge *rec)
{
	if (!j->sent[b] && !j->unknown[b])
		return;
	ledger_purge_add_task(rec, j->sent[b] ? j->t[b].id : NULL,
			      j->sent[b] ? j->t[b].poll_url : NULL, j->b[b].kind == BATCH_PRELOAD);
	struct ledger_task *lt = &rec->tasks[rec->ntasks - 1];
	lt->batch = (int64_t)b;
	lt->state = !j->sent[b]			      ? LTASK_UNKNOWN
		    : j->t[b].state == TASK_SUCCEEDED ? LTASK_SUCCEEDED
		    : j->t[b].state == TASK_FAILED    ? LTASK_FAILED
						      : LTASK_RUNNING;
}

/* Rewrites the record's tasks from the batches: one per batch accepted or unknown. */
void apply_purge_rec_tasks(struct pjob *j)
{
	ledger_purge_clear_tasks(&j->rec);
	for (size_t b = 0; b < j->nb; b++)
		add_batch_task(j, b, &j->rec);
}

void apply_purge_journal(struct ctx *c, struct pjob *j, size_t b)
{
	if (!c->jr || (!j->sent[b] && !j->unknown[b]))
		return;
	c->unrecorded = true;
	if (!j->journaled) {
		/* the first line: the whole record, the tasks an earlier run recorded too */
		apply_purge_rec_tasks(j);
		struct ledger_purge r = j->rec; /* shallow: borrowed for encoding */
		r.status = LEDGER_SUBMITTED;
		inflight_add(c->jr, &r);
		j->journaled = true;
		return;
	}
	struct ledger_purge r = j->rec; /* shallow, but its own one task */
	r.tasks = NULL;
	r.ntasks = r.tcap = 0;
	r.status = LEDGER_SUBMITTED;
	add_batch_task(j, b, &r);
	inflight_add(c->jr, &r);
	ledger_purge_clear_tasks(&r);
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
	int64_t now = apply_now_ms();
	j->pp = pp;
	j->x = engine_endpoint(c->en, pp->endpoint);
	j->w = wjob_of(c, pp->endpoint);
	const struct purge *m = config_purge(c->en->cfg, pp->id);
	j->nb = j->x->acct->ops->split(j->x->ep, m, &j->b);
	j->t = xcalloc(j->nb + 1, sizeof(*j->t));
	j->pc = xcalloc(j->nb + 1, sizeof(*j->pc));
	j->sent = xcalloc(j->nb + 1, sizeof(*j->sent));
	j->unknown = xcalloc(j->nb + 1, sizeof(*j->unknown));
	j->find = xcalloc(j->nb + 1, sizeof(*j->find));
	j->item = apply_item_add(c->r, "purge '%s' on '%s'", pp->id, pp->endpoint);
	c->r->v[j->item].endpoint = xstrdup(pp->endpoint);
	c->r->v[j->item].manifest = xstrdup(pp->id);
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

/* The purge is another apply's (its claim holds): reported, never sent, never recorded. */
static void taken(struct ctx *c, struct pjob *j, const struct ledger_purge *rec)
{
	char msg[APPLY_ERR_SHOWN] = "taken by another apply (it claimed it first)";
	int64_t ago = rec ? (int64_t)time(NULL) - rec->claimed_at : 0;
	if (rec)
		snprintf(msg, sizeof(msg), "taken by another apply (%s, claimed %llds ago)",
			 rec->claim_by ? rec->claim_by : "?", (long long)(ago < 0 ? 0 : ago));
	apply_item_set(c->r, j->item, APPLY_NOT_ATTEMPTED, msg);
	j->accepted = j->dirty = false;
	j->st = P_END;
}

void apply_purge_plan(struct ctx *c)
{
	const struct plan *p = c->p;
	c->j = xcalloc(p->npurges + 1, sizeof(*c->j));
	for (size_t i = 0; i < p->npurges; i++) {
		const struct plan_purge *pp = &p->purges[i];
		if (!plan_purge_runs(pp) && pp->state != PLAN_PURGE_PENDING &&
		    pp->state != PLAN_PURGE_OVER_QUOTA)
			continue;
		struct pjob *j = &c->j[c->nj++];
		pjob_init(c, j, pp);
		const struct ledger_purge *old =
		    ledger_find_purge(&c->en->led, pp->id, pp->endpoint);
		if (pp->state == PLAN_PURGE_PENDING && old && old->status == LEDGER_CLAIMED) {
			taken(c, j, old);
		} else if (pp->state == PLAN_PURGE_OVER_QUOTA) {
			/* refused by the plan, not failed at the provider: the purges that fit
			 * the quota still run (the exit code reports the refusal) */
			apply_item_set(c->r, j->item, APPLY_FAILED,
				       "refused: it would exceed the daily purge quota");
			j->st = P_END;
		} else if (pp->blocked) {
			apply_item_set(c->r, j->item, APPLY_NOT_ATTEMPTED,
				       "the endpoint's rule write failed");
			j->st = P_END;
		}
	}
}

/* ---- batches and their answers ---- */

/* The first failure; scrubbed (it is printed and recorded in the ledger). */
static void pjob_fail(struct pjob *j, const char *why)
{
	if (j->why)
		return;
	struct sb sb;
	sb_init(&sb, 0);
	redact_text(why, &sb);
	j->why = sb_detach(&sb);
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
		if (j->find[b]) {
			/* this round asks the provider whether it already holds the batch; the
			 * next one sends it when it does not */
			j->find[b] = false;
			if (j->x->acct->ops->find_req(j->x->acct->pa, j->x->ep, &j->b[b], j->since,
						      apply_round_slot(rd, R_FIND, ji, b), &e) < 0)
				apply_round_drop(rd);
			else
				continue;
		}
		if (j->x->acct->ops->batch_req(j->x->acct->pa, j->x->ep, &j->b[b],
					       apply_round_slot(rd, R_BATCH, ji, b), &e) < 0) {
			apply_round_drop(rd);
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
		apply_item_set(c->r, j->item, APPLY_NOT_ATTEMPTED,
			       "the endpoint's rule write failed");
		j->st = P_END;
		return false;
	}
	if (c->stop) {
		apply_item_set(c->r, j->item, APPLY_NOT_ATTEMPTED, NULL);
		j->st = P_END;
		return false;
	}
	j->st = P_ACTIVE;
	return true;
}

/* True when the job is about to send batches it never claimed. */
static bool needs_claim(const struct pjob *j)
{
	return j->st == P_ACTIVE && !j->claimed && !(j->kind == BATCH_PURGE && j->resumed) &&
	       !j->why && !sent_all(j, j->kind);
}

/*
 * Claims, in one compare-and-swap commit, every job about to send its first batch, so of
 * several applies racing for a purge exactly one sends it (SPEC §5). A lost claim is taken by
 * another apply; a ledger that cannot be written stops the sending (nothing went out yet).
 */
static void claim_jobs(struct ctx *c)
{
	size_t n = 0;
	struct ledger_purge *claims = xcalloc(c->nj + 1, sizeof(*claims));
	const struct ledger_purge **expected = xcalloc(c->nj + 1, sizeof(*expected));
	size_t *which = xcalloc(c->nj + 1, sizeof(*which));
	bool *won = xcalloc(c->nj + 1, sizeof(*won));
	char who[CLAIMANT_NAME_MAX], proc[CLAIMANT_PROC_MAX];
	struct cf_err e;
	claimant_name(who, sizeof(who));
	claimant_self(proc, sizeof(proc));
	for (size_t i = 0; i < c->nj; i++) {
		struct pjob *j = &c->j[i];
		if (!needs_claim(j))
			continue;
		const struct ledger_purge *old =
		    ledger_find_purge(&c->en->led, j->pp->id, j->pp->endpoint);
		apply_purge_rec_tasks(j);
		free(j->rec.claim_by);
		j->rec.claim_by = xstrdup(who);
		free(j->rec.claim_proc);
		j->rec.claim_proc = xstrdup(proc);
		j->rec.claimed_at = (int64_t)time(NULL);
		j->rec.claims = (old ? old->claims : 0) + 1;
		claims[n] = j->rec; /* shallow: borrowed for encoding */
		claims[n].status = LEDGER_CLAIMED;
		expected[n] = old;
		which[n++] = i;
	}
	err_clear(&e);
	int rc = 0;
	if (n && c->en->rr)
		rc = repo_remote_claim(c->en->rr, c->en->rl, claims, expected, n, won,
				       "cacheform apply: claim purges", &e);
	else if (n && c->en->rl)
		rc = repo_ledger_claim(c->en->rl, claims, expected, n, won,
				       "cacheform apply: claim purges", &e);
	for (size_t k = 0; k < n; k++) {
		struct pjob *j = &c->j[which[k]];
		if (rc < 0) {
			j->refused = true;
			pjob_fail(j, e.msg);
		} else if (!c->en->rl || won[k]) {
			j->claimed = true;
		} else {
			taken(c, j, NULL);
		}
	}
	free(claims);
	free(expected);
	free(which);
	free(won);
}

void apply_purge_collect(struct ctx *c, struct round *rd, int64_t now)
{
	for (size_t i = 0; i < c->nj; i++) {
		struct pjob *j = &c->j[i];
		if (j->st == P_GATED)
			(void)gate_open(c, j);
	}
	claim_jobs(c);
	for (size_t i = 0; i < c->nj; i++) {
		struct pjob *j = &c->j[i];
		if (j->st != P_ACTIVE)
			continue;
		for (size_t b = 0; b < j->nb; b++)
			if (j->sent[b] && !c->o->no_wait)
				apply_poll_add(rd, R_BPOLL, i, b, j->x, &j->t[b], &j->pc[b], now);
		if (!sent_all(j, j->kind) && !j->why)
			collect_batches(c, rd, i);
	}
}

/*
 * Only an HTTP error status proves the provider refused a purge or preload request; a broken
 * connection, a timeout or an unreadable 2xx answer may come after it was accepted.
 */
static bool answer_unknown(const struct http_resp *resp)
{
	return resp->rc != 0 || (resp->status >= 200 && resp->status < 300);
}

void apply_purge_batch_done(struct round *rd, struct pjob *j, size_t b,
			    const struct http_resp *resp, int64_t now)
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
	apply_pclock_start(&j->pc[b], &j->t[b], now);
}

/* Every task id the ledger knows: a listed task with one of them is not the lost one. */
static void known_ids(const struct ledger *l, struct svec *out)
{
	for (size_t i = 0; i < l->npurges; i++)
		for (size_t t = 0; t < l->purges[i].ntasks; t++)
			if (l->purges[i].tasks[t].id && l->purges[i].tasks[t].id[0])
				svec_push(out, l->purges[i].tasks[t].id, NULL);
}

void apply_purge_find_done(struct ctx *c, struct round *rd, struct pjob *j, size_t b,
			   const struct http_resp *resp, int64_t now)
{
	struct svec known = {0};
	struct task t;
	struct cf_err e;
	err_clear(&e);
	known_ids(&c->en->led, &known);
	int rc = j->x->acct->ops->find_parse(j->x->ep, &j->b[b], j->since, &known, resp, &t, &e);
	svec_release(&known);
	if (rc != 1) {
		/* not listed (or not surely): the batch goes again next round, once */
		if (rc < 0 || e.msg[0])
			fprintf(
			    stderr,
			    "warning: purge '%s' on '%s': the lost request was not found in the "
			    "provider's task list (%s); sending it again\n",
			    j->pp->id, j->pp->endpoint, e.msg[0] ? e.msg : "no answer");
		return;
	}
	task_release(&j->t[b]);
	j->t[b] = t;
	j->sent[b] = true;
	j->accepted = j->dirty = rd->accepted = true;
	apply_pclock_start(&j->pc[b], &j->t[b], now);
}

/* ---- outcomes ---- */

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
		if (apply_task_running(&j->t[b]))
			st = 0;
	}
	return st;
}

static bool any_running(const struct pjob *j)
{
	for (size_t b = 0; b < j->nb; b++)
		if (j->sent[b] && apply_task_running(&j->t[b]) && !j->pc[b].gave_up)
			return true;
	return false;
}

/* A task no longer waited for (APPLY_POLL_FAILS_MAX failed polls): its batch, or nb. */
static size_t gave_up_on(const struct pjob *j)
{
	for (size_t b = 0; b < j->nb; b++)
		if (j->sent[b] && apply_task_running(&j->t[b]) && j->pc[b].gave_up)
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
	apply_failed(c, j->item, msg);
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
		j->dirty = j->accepted || j->claimed; /* a claim is released as failed */
		apply_failed(c, j->item, j->rec.message);
	} else if (ps == 1 && ls == 1) {
		j->rec.status = LEDGER_SUCCEEDED;
		j->rec.finished_at = (int64_t)time(NULL);
		j->dirty = true;
		apply_item_set(c->r, j->item, APPLY_DONE, NULL);
	} else if (c->o->no_wait) {
		apply_item_set(c->r, j->item, APPLY_SUBMITTED, NULL);
	} else if (c->interrupted) {
		/* its record stays "submitted": the next apply polls its tasks */
		apply_item_set(c->r, j->item, APPLY_SUBMITTED, "interrupted; not waited for");
	} else if (g < j->nb) {
		gave_up_fail(c, j, g);
	} else if (timed_out) {
		apply_failed(c, j->item, "timed out waiting for the provider's task");
	} else {
		j->st = P_ACTIVE; /* still running */
	}
}

/*
 * Moves active jobs on once nothing of theirs runs: from purges to preloads (never under
 * --no-wait, as before), or to their end. Returns true when a job moved to its preloads.
 */
bool apply_purge_advance(struct ctx *c)
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

void apply_purge_settle(struct ctx *c)
{
	for (size_t i = 0; i < c->nj; i++) {
		struct pjob *j = &c->j[i];
		if (j->st == P_GATED)
			(void)gate_open(c, j);
		if (j->st == P_ACTIVE && !j->accepted && !j->resumed && !j->why) {
			apply_item_set(c->r, j->item, APPLY_NOT_ATTEMPTED, NULL);
			j->st = P_END;
		}
		if (j->st == P_ACTIVE)
			finish_job(c, j, true);
	}
}

/* ---- --format json ---- */

static const char *batch_state(const struct pjob *j, size_t b)
{
	if (!j->sent[b])
		return "unknown";
	switch (j->t[b].state) {
	case TASK_SUCCEEDED:
		return "succeeded";
	case TASK_FAILED:
		return "failed";
	default:
		return "running";
	}
}

/*
 * One kind's status from its batches: all succeeded is done; a failed task failed; an answer
 * that could not be read unknown; a task still running takes the item's outcome (submitted,
 * or failed when it was given up); nothing sent is failed for the kind the job stopped at
 * (refused before or at the provider) and not attempted for a later one.
 */
static enum apply_status kind_status(const struct pjob *j, enum batch_kind k,
				     enum apply_outcome item)
{
	bool all = true, failed = false, unknown = false, running = false;
	for (size_t b = 0; b < j->nb; b++) {
		if (j->b[b].kind != k)
			continue;
		if (!j->sent[b]) {
			all = false;
			unknown |= j->unknown[b];
		} else if (j->t[b].state == TASK_FAILED) {
			all = false;
			failed = true;
		} else if (apply_task_running(&j->t[b])) {
			all = false;
			running = true;
		}
	}
	if (all || item == APPLY_DONE)
		return APPLY_ST_DONE;
	if (failed)
		return APPLY_ST_FAILED;
	if (unknown)
		return APPLY_ST_UNKNOWN;
	if (running)
		return apply_status_of(item);
	return item == APPLY_FAILED && j->kind == k ? APPLY_ST_FAILED : APPLY_ST_NOT_ATTEMPTED;
}

static void kind_snapshot(const struct pjob *j, enum batch_kind k, struct apply_item *it)
{
	struct apply_opres *op = &it->ops[k == BATCH_PRELOAD ? APPLY_OP_PRELOAD : APPLY_OP_PURGE];
	op->tasks = xcalloc(j->nb + 1, sizeof(*op->tasks));
	for (size_t b = 0; b < j->nb; b++) {
		if (j->b[b].kind != k)
			continue;
		op->present = true;
		if (!j->sent[b] && !j->unknown[b])
			continue;
		op->tasks[op->ntasks].id = j->sent[b] && j->t[b].id ? xstrdup(j->t[b].id) : NULL;
		op->tasks[op->ntasks++].state = batch_state(j, b);
	}
	if (op->present)
		op->status = kind_status(j, k, it->outcome);
}

void apply_purge_snapshot(struct ctx *c)
{
	for (size_t i = 0; i < c->nj; i++) {
		struct apply_item *it = &c->r->v[c->j[i].item];
		kind_snapshot(&c->j[i], BATCH_PURGE, it);
		kind_snapshot(&c->j[i], BATCH_PRELOAD, it);
		if (!it->ops[APPLY_OP_PURGE].present && !it->ops[APPLY_OP_PRELOAD].present) {
			it->ops[APPLY_OP_PURGE].present =
			    true; /* nothing to send, still reported */
			it->ops[APPLY_OP_PURGE].status = apply_status_of(it->outcome);
		}
	}
}
