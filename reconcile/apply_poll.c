/*
 * Task polling for apply_run(): when each running task is next polled, reading a poll's
 * answer, and the waits (with progress and "still waiting" lines) between rounds.
 */
#include "reconcile/base/compat.h"
#include "reconcile/apply_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "reconcile/base/progress.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

int64_t apply_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool apply_interrupted(struct ctx *c)
{
	if (c->o->interrupt && *c->o->interrupt)
		c->interrupted = c->stop = true;
	return c->interrupted;
}

/* A signal ends the sleep (the handler is installed without SA_RESTART). */
static void sleep_ms(struct ctx *c, int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !apply_interrupted(c))
		;
}

bool apply_task_running(const struct task *t)
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
void apply_pclock_start(struct pclock *pc, const struct task *t, int64_t now)
{
	pc->delay_ms = APPLY_POLL_FIRST_MS;
	pc->due_ms = now + hinted(t, pc->delay_ms);
}

void apply_pclock_next(struct pclock *pc, const struct task *t, int64_t now)
{
	pc->delay_ms =
	    pc->delay_ms * 3 / 2 > APPLY_POLL_MAX_MS ? APPLY_POLL_MAX_MS : pc->delay_ms * 3 / 2;
	pc->due_ms = now + hinted(t, pc->delay_ms);
}

static void task_fail(struct task *t, const char *why)
{
	t->state = TASK_FAILED;
	free(t->message);
	t->message = xstrdup(why);
}

/* Adds a poll of t when it is due; a poll that cannot be built fails the task. */
void apply_poll_add(struct round *rd, enum rkind k, size_t i, size_t b, struct eng_endpoint *x,
		    struct task *t, const struct pclock *pc, int64_t now)
{
	struct cf_err e;
	if (!apply_task_running(t) || pc->gave_up || pc->due_ms > now || !x->acct->ops->poll_req)
		return;
	err_clear(&e);
	if (x->acct->ops->poll_req(x->acct->pa, x->ep, t, apply_round_slot(rd, k, i, b), &e) < 0) {
		apply_round_drop(rd);
		task_fail(t, e.msg);
	}
}

/* A failed poll is not a failed task: poll again, but after APPLY_POLL_FAILS_MAX failures
 * in a row stop waiting for it (gave_up) rather than stay silent until the deadline. */
void apply_poll_parse(struct eng_endpoint *x, struct task *t, struct pclock *pc,
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

size_t apply_tasks_waiting(const struct ctx *c, int64_t *next_due)
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
			if (c->j[i].sent[b] && apply_task_running(&c->j[i].t[b]) &&
			    !c->j[i].pc[b].gave_up && c->j[i].x->acct->ops->poll_req) {
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
			if (j->sent[b] && apply_task_running(&j->t[b]) && !j->pc[b].gave_up &&
			    ++shown)
				sb_addf(out, "%s%s '%s' on '%s' (task %s)", shown > 1 ? ", " : "",
					j->b[b].kind == BATCH_PRELOAD ? "preload" : "purge",
					j->pp->id, j->pp->endpoint, j->t[b].id ? j->t[b].id : "?");
	}
}

/* "writing 3/9, waiting for 4 tasks": the operations settled and the tasks still waited for. */
void apply_progress_status(const struct ctx *c, size_t waiting, char *buf, size_t n)
{
	int k = snprintf(buf, n, "writing %zu/%zu", c->r->settled, c->r->n);
	if (waiting && k > 0 && (size_t)k < n)
		snprintf(buf + k, n - (size_t)k, ", waiting for %zu task%s", waiting,
			 waiting == 1 ? "" : "s");
}

void apply_progress_show(const struct ctx *c, size_t left)
{
	char status[PROGRESS_LINE_MAX];
	struct sb names;
	if (!progress_due())
		return;
	apply_progress_status(c, left, status, sizeof(status));
	sb_init(&names, 0);
	if (progress_mode() == PROGRESS_LINES) {
		pending_names(c, &names);
		if (left > APPLY_NOTE_SHOWN)
			sb_adds(&names, ", ...");
	}
	progress_show(status, names.buf);
	sb_release(&names);
}

/* Sleeps until the next poll is due, in steps short enough for the progress line. Returns
 * false when that is past the deadline. */
bool apply_wait_next(struct ctx *c, size_t left, int64_t due)
{
	int64_t now = apply_now_ms();
	apply_progress_show(c, left);
	if (due > c->deadline_ms)
		return false;
	while (due > now && !apply_interrupted(c)) {
		int64_t step = due - now;
		if (progress_mode() != PROGRESS_OFF && step > PROGRESS_REDRAW_MS)
			step = PROGRESS_REDRAW_MS;
		sleep_ms(c, step);
		apply_progress_show(c, left);
		now = apply_now_ms();
	}
	return true;
}
