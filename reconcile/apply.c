#include "reconcile/base/compat.h"
#include "reconcile/apply.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconcile/apply_int.h"
#include "reconcile/inflight.h"
#include "reconcile/pending.h"
#include "reconcile/redact.h"
#include "reconcile/repo_ledger.h"
#include "reconcile/repo_remote.h"
#include "reconcile/base/progress.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define APPLY_REPORT_LINE_MAX 2048 /* one summary line; longer details are cut */
#define APPLY_LEDGER_MSG_MAX  128  /* a ledger commit message: "cacheform VERB: WHAT" */
/*
 * From this many in-sync managed endpoints on, their records are collected and committed by a
 * helper thread while the rounds run instead of in the final commit: at fleet scale (a first
 * apply records every endpoint) that took up to a second after the last request (issue 17).
 * Fewer ride in the final commit, as a commit of their own would cost more than it saves.
 */
#define APPLY_INSYNC_THREAD_MIN 64

/* ---- result ---- */

static void report_line(const struct apply_item *it, FILE *f);

size_t apply_item_add(struct apply_result *r, const char *fmt, ...)
{
	struct sb sb;
	va_list ap;
	sb_init(&sb, 0);
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	xgrow(&r->v, &r->cap, r->n + 1, sizeof(*r->v));
	memset(&r->v[r->n], 0, sizeof(r->v[r->n]));
	r->v[r->n].what = sb_detach(&sb);
	r->v[r->n].outcome = APPLY_NOT_ATTEMPTED;
	return r->n++;
}

void apply_item_set(struct apply_result *r, size_t i, enum apply_outcome o, const char *detail)
{
	bool first = !r->v[i].settled;
	r->v[i].outcome = o;
	if (first)
		r->settled++;
	r->v[i].settled = true;
	free(r->v[i].detail);
	r->v[i].detail = NULL;
	if (detail) {
		/* details quote providers, and providers may quote our credentials */
		struct sb sb;
		sb_init(&sb, 0);
		redact_text(detail, &sb);
		r->v[i].detail = sb_detach(&sb);
	}
	/* a CI log sees each result when it happens, not at the end */
	if (first && r->live && (!r->live_quiet || o == APPLY_FAILED)) {
		progress_clear();
		report_line(&r->v[i], r->live);
		fflush(r->live);
		r->v[i].shown = true;
	}
}

void apply_result_release(struct apply_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].what);
		free(r->v[i].detail);
		free(r->v[i].endpoint);
		free(r->v[i].manifest);
		for (int o = 0; o < APPLY_OP_COUNT; o++) {
			for (size_t k = 0; k < r->v[i].ops[o].ntasks; k++)
				free(r->v[i].ops[o].tasks[k].id);
			free(r->v[i].ops[o].tasks);
		}
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

/*
 * "what: detail", except that a provider error is already a whole line naming the endpoint
 * ("endpoint 'www' (azure-china): write cache rules: HTTP 403 ..."): it is shown alone rather
 * than after a second "endpoint 'www': ".
 */
static const char *item_line(const struct apply_item *it, char *buf, size_t n)
{
	static const char subject[] = "endpoint '";
	if (!it->detail)
		return it->what;
	if (strncmp(it->what, subject, sizeof(subject) - 1) == 0 &&
	    strncmp(it->detail, subject, sizeof(subject) - 1) == 0)
		return it->detail;
	snprintf(buf, n, "%s: %s", it->what, it->detail);
	return buf;
}

static void report_line(const struct apply_item *it, FILE *f)
{
	static const char *const label[] = {"done", "FAILED", "not attempted", "submitted"};
	char line[APPLY_REPORT_LINE_MAX];
	fprintf(f, "  %-13s %s\n", label[it->outcome], item_line(it, line, sizeof(line)));
}

void apply_report(const struct apply_result *r, bool quiet, FILE *f)
{
	for (int o = APPLY_DONE; o <= APPLY_SUBMITTED; o++)
		for (size_t i = 0; i < r->n; i++) {
			const struct apply_item *it = &r->v[i];
			if ((int)it->outcome != o || it->shown || (quiet && o != APPLY_FAILED))
				continue;
			report_line(it, f);
		}
	fprintf(f, "Apply: %zu done, %zu failed, %zu not attempted", r->done, r->failed,
		r->not_attempted);
	if (r->submitted)
		fprintf(f, ", %zu submitted (not waited for)", r->submitted);
	fprintf(f, ".\n");
}

const char *apply_status_name(enum apply_status s)
{
	static const char *const name[APPLY_ST_COUNT] = {"done", "failed", "not attempted",
							 "submitted", "unknown"};
	return (unsigned)s < APPLY_ST_COUNT ? name[s] : "unknown";
}

const char *apply_op_name(enum apply_op o)
{
	static const char *const name[APPLY_OP_COUNT] = {"rules", "purge", "preload"};
	return (unsigned)o < APPLY_OP_COUNT ? name[o] : "?";
}

/* The status an item's outcome gives its operations when nothing finer is known. */
enum apply_status apply_status_of(enum apply_outcome o)
{
	switch (o) {
	case APPLY_DONE:
		return APPLY_ST_DONE;
	case APPLY_FAILED:
		return APPLY_ST_FAILED;
	case APPLY_SUBMITTED:
		return APPLY_ST_SUBMITTED;
	case APPLY_NOT_ATTEMPTED:
		break;
	}
	return APPLY_ST_NOT_ATTEMPTED;
}

static void json_op(const struct apply_item *it, enum apply_op o, struct sb *out)
{
	const struct apply_opres *op = &it->ops[o];
	sb_addf(out, "{\"operation\":\"%s\",\"endpoint\":", apply_op_name(o));
	sb_add_json_str(out, it->endpoint ? it->endpoint : "");
	sb_adds(out, ",\"manifest\":");
	if (it->manifest)
		sb_add_json_str(out, it->manifest);
	else
		sb_adds(out, "null");
	sb_addf(out, ",\"status\":\"%s\",\"tasks\":[", apply_status_name(op->status));
	for (size_t k = 0; k < op->ntasks; k++) {
		sb_adds(out, k ? ",{\"id\":" : "{\"id\":");
		if (op->tasks[k].id)
			sb_add_json_str(out, op->tasks[k].id);
		else
			sb_adds(out, "null");
		sb_addf(out, ",\"state\":\"%s\"}", op->tasks[k].state);
	}
	sb_adds(out, "],\"error\":");
	if (op->status != APPLY_ST_DONE && it->detail)
		sb_add_json_str(out, it->detail);
	else
		sb_adds(out, "null");
	sb_addc(out, '}');
}

void apply_report_json(const struct apply_result *r, struct sb *out)
{
	size_t totals[APPLY_ST_COUNT] = {0}, n = 0;
	sb_adds(out, "\"operations\":[");
	for (size_t i = 0; i < r->n; i++)
		for (int o = 0; o < APPLY_OP_COUNT; o++) {
			if (!r->v[i].ops[o].present)
				continue;
			sb_adds(out, n++ ? ",\n" : "\n");
			json_op(&r->v[i], (enum apply_op)o, out);
			totals[r->v[i].ops[o].status]++;
		}
	sb_adds(out, "],\"totals\":{");
	for (int s = 0; s < APPLY_ST_COUNT; s++) {
		sb_adds(out, s ? "," : "");
		sb_add_json_str(out, apply_status_name((enum apply_status)s));
		sb_addf(out, ":%zu", totals[s]);
	}
	sb_addc(out, '}');
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

static void plan_purge_free(struct plan_purge *pp)
{
	free(pp->id);
	free(pp->endpoint);
	free(pp->account);
	free(pp->quota);
	plan_purge_urls_release(pp);
}

/* Keeps the purges whose keep[] is set, in order, in one pass (a move per dropped purge was
 * quadratic in the purges). */
static void plan_keep_purges(struct plan *p, const bool *keep)
{
	size_t k = 0;
	for (size_t i = 0; i < p->npurges; i++) {
		if (!keep[i])
			plan_purge_free(&p->purges[i]);
		else
			p->purges[k++] = p->purges[i];
	}
	p->npurges = k;
}

/* The plan file's purges sorted by (id, endpoint, position): one lookup each by binary
 * search, the first of equal keys winning as planfile_purge_find()'s scan does. */
struct pf_purge_ix {
	const struct planfile_purge **v;
	size_t n;
};

static int pf_key_cmp(const struct planfile_purge *a, const char *id, const char *endpoint)
{
	int c = strcmp(a->id, id);
	return c ? c : strcmp(a->endpoint, endpoint);
}

static int pf_purge_order(const void *x, const void *y)
{
	const struct planfile_purge *a = *(const struct planfile_purge *const *)x,
				    *b = *(const struct planfile_purge *const *)y;
	int c = pf_key_cmp(a, b->id, b->endpoint);
	return c ? c : (a > b) - (a < b);
}

static void pf_purge_ix_build(const struct planfile *pf, struct pf_purge_ix *ix)
{
	ix->n = pf->npurges;
	ix->v = xcalloc(ix->n + 1, sizeof(*ix->v));
	for (size_t i = 0; i < ix->n; i++)
		ix->v[i] = &pf->purges[i];
	if (ix->n)
		qsort(ix->v, ix->n, sizeof(*ix->v), pf_purge_order);
}

static const struct planfile_purge *pf_purge_ix_find(const struct pf_purge_ix *ix, const char *id,
						     const char *endpoint)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pf_key_cmp(ix->v[mid], id, endpoint) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->n && pf_key_cmp(ix->v[lo], id, endpoint) == 0 ? ix->v[lo] : NULL;
}

static int check_endpoints(const struct plan *fresh, const struct planfile *pf, struct cf_err *e)
{
	for (size_t i = 0; i < pf->neps; i++) {
		const struct planfile_endpoint *want = &pf->eps[i];
		const struct plan_endpoint *now = plan_endpoint_find(fresh, want->name);
		if (!now)
			return err_set(e, CF_ECONFLICT,
				       "endpoint '%s' is no longer in the repository", want->name);
		/* apply never writes an observe endpoint (nor its purges): a console edit
		 * there since the plan changes nothing this plan would do */
		if (now->mode == MODE_OBSERVE)
			continue;
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
	/* one lookup per planned endpoint: a scan each was quadratic in the fleet (issue 17) */
	if (fresh->ep_indexed != fresh->neps)
		plan_index_endpoints(fresh);
	int rc = check_endpoints(fresh, pf, e);
	if (rc < 0)
		return rc;
	struct pf_purge_ix ix;
	pf_purge_ix_build(pf, &ix);
	bool *keep = xcalloc(fresh->npurges + 1, sizeof(*keep));
	for (size_t i = 0; i < fresh->npurges && rc == 0; i++) {
		const struct plan_purge *pp = &fresh->purges[i];
		const struct planfile_purge *want = pf_purge_ix_find(&ix, pp->id, pp->endpoint);
		keep[i] =
		    want &&
		    (want->state == PLAN_PURGE_RUN || want->state == PLAN_PURGE_RETRY ||
		     want->state == PLAN_PURGE_RETRY_UNKNOWN || want->state == PLAN_PURGE_PENDING);
		if (keep[i] && strcmp(want->content_hash, pp->content_hash) != 0)
			rc = err_set(e, CF_ECONFLICT,
				     "purge '%s' was edited since the plan was made", pp->id);
	}
	if (rc == 0) /* nothing is dropped from a plan that is refused */
		plan_keep_purges(fresh, keep);
	free(keep);
	free(ix.v);
	return rc;
}

/* ---- run context ---- */

void apply_failed(struct ctx *c, size_t item, const char *why)
{
	apply_item_set(c->r, item, APPLY_FAILED, why);
	if (!c->o->keep_going)
		c->stop = true;
}

/* ---- one round: every request that may go now, in one http_run() ---- */

/* Returns the next request slot, tagged; the caller fills it or calls apply_round_drop(). */
struct http_req *apply_round_slot(struct round *rd, enum rkind k, size_t i, size_t b)
{
	xgrow(&rd->reqs, &rd->rcap, rd->n + 1, sizeof(*rd->reqs));
	xgrow(&rd->tags, &rd->tcap, rd->n + 1, sizeof(*rd->tags));
	memset(&rd->reqs[rd->n], 0, sizeof(*rd->reqs));
	rd->tags[rd->n] = (struct rtag){k, i, b};
	return &rd->reqs[rd->n++];
}

void apply_round_drop(struct round *rd)
{
	http_req_release(&rd->reqs[--rd->n]);
}

/* Moves w to the re-read that confirms the write (a fresh read: multi-request reads restart). */
static void confirm_start(struct wjob *w)
{
	live_state_release(&w->x->live);
	w->x->read = false;
	w->st = W_CONFIRM;
}

static void collect_confirm(struct ctx *c, struct round *rd, size_t i)
{
	struct wjob *w = &c->w[i];
	const struct prov_ops *ops = w->x->acct->ops;
	struct http_req *req = apply_round_slot(rd, R_CONFIRM, i, 0);
	struct cf_err e;
	int rc;
	err_clear(&e);
	if (w->x->live.step == 0)
		rc = ops->read_req(w->x->acct->pa, w->x->ep, req, &e);
	else if (ops->read_next)
		rc = ops->read_next(w->x->acct->pa, w->x->ep, &w->x->live, req, &e);
	else
		rc = err_set(&e, CF_EINVAL, "the driver asked for a second read");
	if (rc < 0) {
		apply_round_drop(rd);
		apply_failed(c, w->item, e.msg);
		w->st = W_END;
	}
}

/* The next request of a multi-request write, or on to the confirmation when there is none. */
static void collect_next(struct ctx *c, struct round *rd, size_t i)
{
	struct wjob *w = &c->w[i];
	const struct prov_ops *ops = w->x->acct->ops;
	struct cf_err e;
	char key[APPLY_LANE_MAX];
	err_clear(&e);
	w->x->live.wstep++;
	w->x->live.wprev_id = w->t.id;
	if (ops->write_join && ops->write_join_req &&
	    ops->write_join(w->x->ep, &w->x->live, key, sizeof(key))) {
		w->x->live.wprev_id = NULL;
		w->st = W_JOIN; /* collect_joins sends it with the others of its key */
		return;
	}
	int rc = ops->write_next(w->x->acct->pa, w->x->ep, &w->x->live,
				 apply_round_slot(rd, R_WRITE, i, 0), &e);
	w->x->live.wprev_id = NULL;
	if (rc == PROV_MORE)
		return;
	apply_round_drop(rd);
	if (rc < 0) {
		apply_failed(c, w->item, e.msg);
		w->st = W_END;
		return;
	}
	confirm_start(w);
	collect_confirm(c, rd, i);
}

/* Whether an earlier write of w's lane (provider write_lane) has not finished its tasks:
 * submitted or about to be (W_SUBMIT before it), polled, or between two requests. */
static bool lane_busy(const struct ctx *c, size_t i)
{
	const struct wjob *w = &c->w[i];
	char mine[APPLY_LANE_MAX], other[APPLY_LANE_MAX];
	const char *(*lane)(const struct endpoint *, char *, size_t) = w->x->acct->ops->write_lane;

	if (!lane)
		return false;
	lane(w->x->ep, mine, sizeof(mine));
	for (size_t j = 0; j < c->nw; j++) {
		const struct wjob *o = &c->w[j];
		bool holds = o->st == W_POLL || o->st == W_NEXT || (o->st == W_SUBMIT && j < i);

		if (j != i && holds && o->x->acct == w->x->acct &&
		    strcmp(lane(o->x->ep, other, sizeof(other)), mine) == 0)
			return true;
	}
	return false;
}

/* Whether a write of x's account could still reach a shared step: not yet at one (to be
 * sent, between two requests, or polling a step of its own). */
static bool join_reachable(const struct ctx *c, const struct eng_account *a)
{
	for (size_t j = 0; j < c->nw; j++) {
		const struct wjob *o = &c->w[j];
		if (o->x->acct == a &&
		    (o->st == W_SUBMIT || o->st == W_NEXT || (o->st == W_POLL && !o->joined)))
			return true;
	}
	return false;
}

/* Sends each shared step whose account has no write that could still join it: one request
 * for every job held with the same key, sent and polled by the first (the leader). */
static void collect_joins(struct ctx *c, struct round *rd)
{
	char key[APPLY_LANE_MAX], other[APPLY_LANE_MAX];
	for (size_t i = 0; i < c->nw; i++) {
		struct wjob *w = &c->w[i];
		const struct prov_ops *ops = w->x->acct->ops;
		if (w->st != W_JOIN || w->joined || join_reachable(c, w->x->acct))
			continue;
		ops->write_join(w->x->ep, &w->x->live, key, sizeof(key));
		const struct endpoint **eps = xcalloc(c->nw, sizeof(*eps));
		const struct live_state **lives = xcalloc(c->nw, sizeof(*lives));
		size_t n = 0;
		for (size_t j = i; j < c->nw; j++) {
			struct wjob *o = &c->w[j];
			if (o->st != W_JOIN || o->joined || o->x->acct != w->x->acct ||
			    strcmp(ops->write_join(o->x->ep, &o->x->live, other, sizeof(other)),
				   key) != 0)
				continue;
			eps[n] = o->x->ep;
			lives[n++] = &o->x->live;
			o->joined = true;
			o->leader = i;
			if (j != i)
				o->st = W_JOINED;
		}
		struct cf_err e;
		err_clear(&e);
		if (ops->write_join_req(w->x->acct->pa, eps, lives, n,
					apply_round_slot(rd, R_WRITE, i, 0), &e) < 0) {
			apply_round_drop(rd);
			for (size_t j = i; j < c->nw; j++)
				if (c->w[j].joined && c->w[j].leader == i &&
				    (c->w[j].st == W_JOIN || c->w[j].st == W_JOINED)) {
					apply_failed(c, c->w[j].item, e.msg);
					c->w[j].st = W_END;
				}
		}
		free(eps);
		free(lives);
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
			apply_poll_add(rd, R_WPOLL, i, 0, w->x, &w->t, &w->pc, now);
		} else if (w->st == W_CONFIRM) {
			collect_confirm(c, rd, i);
		} else if (w->st == W_NEXT) {
			collect_next(c, rd, i);
		} else if (w->st == W_SUBMIT && lane_busy(c, i)) {
			continue; /* its lane's earlier write runs: the provider would refuse */
		} else if (w->st == W_SUBMIT) {
			if (!ops->write_req) {
				apply_failed(c, w->item, "the provider has no cache-rule API");
				w->st = W_END;
			} else if (ops->write_req(w->x->acct->pa, w->x->ep, &w->x->live,
						  apply_round_slot(rd, R_WRITE, i, 0), &e) < 0) {
				apply_round_drop(rd);
				apply_failed(c, w->item, e.msg);
				w->st = W_END;
			}
		}
	}
	collect_joins(c, rd);
}

/* ---- answers ---- */

/* The shared step the leader sent is over (it is no longer polled): its followers take its
 * outcome and its task (for the report). */
static void join_follow(struct ctx *c, struct wjob *l)
{
	size_t li = (size_t)(l - c->w);
	const struct apply_item *it = &c->r->v[l->item];
	for (size_t j = 0; j < c->nw; j++) {
		struct wjob *f = &c->w[j];
		if (j == li || f->st != W_JOINED || f->leader != li)
			continue;
		task_release(&f->t);
		f->t.state = l->t.state;
		f->t.id = l->t.id ? xstrdup(l->t.id) : NULL;
		if (l->st == W_END && it->outcome == APPLY_FAILED) {
			char msg[APPLY_REPORT_LINE_MAX];
			snprintf(msg, sizeof(msg),
				 "endpoint '%s': its step shared with '%s' failed: %s", f->pe->name,
				 l->pe->name, it->detail ? it->detail : "failed");
			apply_failed(c, f->item, msg);
			f->st = W_END;
		} else if (l->st == W_END) {
			apply_item_set(c->r, f->item, it->outcome, it->detail);
			f->ok = l->ok;
			f->st = W_END;
		} else {
			f->st = l->st; /* W_NEXT: on to its own next step */
		}
	}
}

static void write_done(struct ctx *c, struct wjob *w, int64_t now)
{
	if (w->pc.gave_up) {
		char msg[APPLY_ERR_SHOWN * 2];
		snprintf(msg, sizeof(msg),
			 "gave up on task %s after %u failed polls in a row (last error: %s)",
			 w->t.id ? w->t.id : "?", w->pc.fails, w->pc.last_err);
		apply_failed(c, w->item, msg);
		w->st = W_END;
	} else if (w->t.state == TASK_FAILED) {
		apply_failed(c, w->item,
			     w->t.message ? w->t.message : "the provider's task failed");
		w->st = W_END;
	} else if (!apply_task_running(&w->t)) {
		if (w->x->acct->ops->write_next)
			w->st = W_NEXT;
		else
			confirm_start(w);
	} else if ((c->o->no_wait && !w->x->acct->ops->write_next) || !w->x->acct->ops->poll_req) {
		apply_item_set(c->r, w->item, APPLY_SUBMITTED, w->t.id ? w->t.id : NULL);
		w->ok = true; /* as before --no-wait: its purges go without the confirmation */
		w->st = W_END;
	} else {
		if (w->st != W_POLL)
			apply_pclock_start(&w->pc, &w->t, now);
		else
			apply_pclock_next(&w->pc, &w->t, now);
		w->st = W_POLL;
	}
	if (w->joined && w->st != W_POLL)
		join_follow(c, w);
}

static void confirm_done(struct ctx *c, struct wjob *w, const struct http_resp *resp)
{
	struct eng_endpoint *x = w->x;
	w->st = W_END;
	struct cf_err e;
	err_clear(&e);
	int rc = x->acct->ops->read_parse(x->ep, resp, &x->live, &e);
	if (rc < 0) {
		engine_ep_fail(x, rc, &e);
	} else {
		engine_ep_ok(x);
		x->rc = rc;
	}
	x->read = x->rc == 0;
	if (x->rc == PROV_MORE) {
		x->rc = 0;
		x->live.step++;
		w->st = W_CONFIRM;
		return;
	}
	if (x->rc < 0) {
		apply_failed(c, w->item, engine_ep_why(x));
		return;
	}
	if (!prov_cache_matches(&x->live, &x->ep->cache) && !prov_behaves_as(x->ep, &x->live)) {
		apply_failed(c, w->item,
			     "the live rules do not match the desired rules after the write");
		return;
	}
	w->ok = true;
	apply_item_set(c->r, w->item, APPLY_DONE, NULL);
	if (c->o->no_endpoint_records)
		return;
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

static void write_answer(struct ctx *c, struct wjob *w, enum rkind k, const struct http_resp *resp,
			 int64_t now)
{
	struct cf_err e;
	err_clear(&e);
	if (k == R_WPOLL) {
		apply_poll_parse(w->x, &w->t, &w->pc, resp);
	} else {
		task_release(&w->t); /* the previous step's, if any */
		if (w->x->acct->ops->write_parse(w->x->ep, resp, &w->t, &e) < 0) {
			apply_failed(c, w->item, e.msg);
			w->st = W_END;
			if (w->joined)
				join_follow(c, w);
			return;
		}
	}
	write_done(c, w, now);
}

static void round_answers(struct ctx *c, struct round *rd, struct http_resp *resps)
{
	int64_t now = apply_now_ms();
	for (size_t k = 0; k < rd->n; k++) {
		const struct rtag *tg = &rd->tags[k];
		if (tg->k == R_SEEN) {
			/* handled as it arrived (round_done) */
		} else if (tg->k == R_WRITE || tg->k == R_WPOLL) {
			write_answer(c, &c->w[tg->i], tg->k, &resps[k], now);
		} else if (tg->k == R_CONFIRM) {
			confirm_done(c, &c->w[tg->i], &resps[k]);
		} else if (tg->k == R_BATCH) {
			apply_purge_batch_done(rd, &c->j[tg->i], tg->b, &resps[k], now);
		} else if (tg->k == R_FIND) {
			apply_purge_find_done(c, rd, &c->j[tg->i], tg->b, &resps[k], now);
		} else {
			struct pjob *j = &c->j[tg->i];
			apply_poll_parse(j->x, &j->t[tg->b], &j->pc[tg->b], &resps[k]);
			if (apply_task_running(&j->t[tg->b]) && !j->pc[tg->b].gave_up)
				apply_pclock_next(&j->pc[tg->b], &j->t[tg->b], now);
		}
		http_req_release(&rd->reqs[k]);
		http_resp_release(&resps[k]);
	}
	rd->n = 0;
}

/* ---- purge jobs ---- */

/* ---- the ledger ---- */

/* Endpoint records of the in-sync managed endpoints whose ledger record is missing or says
 * something else (appended to *v). */
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
		if (ledger_endpoint_current(old, x->live.digest, x->ep->account_name.s,
					    &x->ep->cache))
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

/* One ledger commit, pushed when the ledger has a remote. *local: it reached the local
 * ledger at least. */
static int ledger_write(struct engine *en, const struct ledger_purge *p, size_t np,
			const struct ledger_endpoint *eps, size_t nep, const char *msg, bool *local,
			struct cf_err *e)
{
	if (en->rr)
		return repo_remote_record(en->rr, en->rl, p, np, eps, nep, msg, local, e);
	int rc = repo_ledger_record(en->rl, p, np, eps, nep, msg, e);
	*local = rc == 0;
	return rc;
}

/*
 * The ledger refused records of purges the provider accepted: they go to the pending journal
 * (the next apply records them before it plans), each is reported with its tasks, and the
 * jobs end as submitted (the provider holds them), never "not attempted".
 */
static void keep_pending(struct ctx *c, const struct ledger_purge *recs, size_t nr,
			 const struct cf_err *why)
{
	struct cf_err je;
	struct sb path;
	err_clear(&je);
	sb_init(&path, 0);
	pending_path(repo_ledger_gitdir(c->en->rl), &path);
	int jrc = pending_save(repo_ledger_gitdir(c->en->rl), recs, nr, &je);
	if (jrc == 0)
		c->unrecorded = false; /* the pending journal holds them */
	progress_clear();
	fprintf(stderr, "cacheform apply: the ledger could not be written: %s\n", why->msg);
	fprintf(stderr, "  accepted by the provider and not in the ledger:\n");
	for (size_t i = 0; i < nr; i++) {
		fprintf(stderr, "    purge '%s' on '%s':", recs[i].id, recs[i].endpoint);
		size_t shown = 0;
		for (size_t t = 0; t < recs[i].ntasks; t++)
			if (recs[i].tasks[t].state != LTASK_UNKNOWN || recs[i].tasks[t].id[0]) {
				fprintf(stderr, " %s task %s",
					recs[i].tasks[t].preload ? "preload" : "purge",
					recs[i].tasks[t].id[0] ? recs[i].tasks[t].id
							       : "(id unknown)");
				shown++;
			}
		fprintf(stderr, "%s (%s)\n", shown ? "" : " no task yet",
			ledger_status_name(recs[i].status));
	}
	if (jrc == 0)
		fprintf(
		    stderr,
		    "  kept in '%s'; the next apply records them in the ledger before it plans, "
		    "and sends none of them again\n",
		    path.buf);
	else
		fprintf(
		    stderr,
		    "  and the pending journal could not be written either (%s): the next apply "
		    "may send these purges again\n",
		    je.msg);
	for (size_t i = 0; i < c->nj; i++) {
		struct pjob *j = &c->j[i];
		if (!j->dirty || !j->accepted)
			continue;
		if (j->st != P_END)
			apply_item_set(c->r, j->item, APPLY_SUBMITTED,
				       jrc == 0
					   ? "accepted by the provider; the ledger write failed, "
					     "kept in the pending journal"
					   : "accepted by the provider; the ledger write failed");
		j->st = P_END;
	}
	sb_release(&path);
}

/* Commits every changed purge record and the pending endpoint records in one
 * compare-and-swap commit (none when there is nothing to say), its message "cacheform VERB: "
 * + msg. */
static int commit(struct ctx *c, const char *msg, struct cf_err *e)
{
	struct ledger_purge *recs = xcalloc(c->nj + 1, sizeof(*recs));
	char full[APPLY_LEDGER_MSG_MAX];
	size_t nr = 0, na = 0;
	bool local = true;
	int rc = 0;
	snprintf(full, sizeof(full), "cacheform %s: %s", c->o->verb ? c->o->verb : "apply", msg);
	msg = full;
	for (size_t i = 0; i < c->nj; i++)
		if (c->j[i].dirty && (c->j[i].accepted || c->j[i].claimed)) {
			apply_purge_rec_tasks(&c->j[i]);
			recs[nr++] = c->j[i].rec; /* shallow: borrowed for encoding */
			na += c->j[i].accepted;
		}
	if ((nr || c->neprec) && c->en->rl)
		rc = ledger_write(c->en, recs, nr, c->eprec, c->neprec, msg, &local, e);
	if (rc < 0 && !local && na)
		keep_pending(c, recs, nr, e);
	else if (local && (nr || c->neprec))
		c->unrecorded = false; /* the local ledger holds every acceptance so far */
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
	bool local;
	collect_in_sync(en, p, &v, &n, &cap);
	if (n && en->rl)
		rc = ledger_write(en, NULL, 0, v, n, "cacheform apply: endpoints in sync", &local,
				  e);
	free(v);
	return rc;
}

int apply_fold_pending(struct engine *en, size_t *n, size_t *ninflight, struct cf_err *e)
{
	struct pending pj;
	struct inflight_taken taken;
	bool local = false, done = false; /* done: the journals may go */
	*n = *ninflight = 0;
	if (!en->rl)
		return 0;
	const char *gitdir = repo_ledger_gitdir(en->rl);
	int rc = pending_load_file(gitdir, &pj, e);
	if (rc < 0)
		return rc;
	size_t from_pending = pj.n;
	/* a live apply's journal stays its own: only dead applies' are taken */
	if ((rc = inflight_load(gitdir, &pj, &taken, e)) < 0) {
		pending_release(&pj);
		return rc;
	}
	/* a dead apply's record the ledger already holds as final (it was killed after its
	 * last commit) is not recorded again */
	size_t keep = from_pending;
	for (size_t i = from_pending; i < pj.n; i++) {
		const struct ledger_purge *have =
		    ledger_find_purge(&en->led, pj.v[i].id, pj.v[i].endpoint);
		if (have && ledger_status_final(have->status))
			ledger_purge_release(&pj.v[i]);
		else
			pj.v[keep++] = pj.v[i];
	}
	pj.n = keep;
	if (pj.n) {
		rc = ledger_write(en, pj.v, pj.n, NULL, 0,
				  taken.n
				      ? "cacheform apply: records from the in-flight and pending "
					"journals"
				      : "cacheform apply: records from the pending journal",
				  &local, e);
		/* once the local ledger holds them, the journals have done their work (a
		 * record already final there stays as it is) */
		if (local && pending_remove(gitdir, e) == 0) {
			*n = from_pending;
			*ninflight = pj.n - from_pending;
			done = true;
		} else if (local && rc == 0) {
			rc = e->rc;
		}
	} else {
		done = true; /* nothing in them but torn lines, if anything */
	}
	inflight_release_taken(&taken, done);
	pending_release(&pj);
	if (rc == 0)
		rc = engine_ledger_reload(en, e);
	return rc;
}

/*
 * The in-sync records' own commit, made by a helper thread while the rounds run: it collects
 * them (collect_in_sync, which may read records from the ledger's tree) and commits them.
 * Only when no purge job needs the ledger before the end (claims, "purges submitted"): then
 * nothing but this thread touches the repository or en->led until apply_run joins it, and
 * the records are final from the start (an in-sync endpoint is never written).
 */
struct insync {
	struct engine *en;
	const struct plan *p;
	struct ledger_endpoint *v; /* cache borrowed, as c->eprec */
	size_t n, cap;
	char msg[APPLY_LEDGER_MSG_MAX];
	pthread_t th;
	bool running, committed;
	int rc;
	struct cf_err e;
};

static void *insync_main(void *arg)
{
	struct insync *s = arg;
	bool local;
	collect_in_sync(s->en, s->p, &s->v, &s->n, &s->cap);
	if (s->n)
		s->rc = ledger_write(s->en, NULL, 0, s->v, s->n, s->msg, &local, &s->e);
	s->committed = s->rc == 0;
	return NULL;
}

/* The managed endpoints the plan found in sync: those collect_in_sync looks at. */
static size_t in_sync_count(const struct plan *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->neps; i++)
		n += p->eps[i].action == PLAN_EP_NONE && p->eps[i].mode == MODE_MANAGE;
	return n;
}

/* Starts the helper when it is worth it; otherwise the records are collected now and wait
 * for the final commit. */
static void insync_start(struct ctx *c, struct insync *s)
{
	sigset_t all, old;
	memset(s, 0, sizeof(*s));
	s->en = c->en;
	s->p = c->p;
	err_clear(&s->e);
	if (c->o->no_endpoint_records)
		return;
	if (!c->nj && c->en->rl && in_sync_count(c->p) >= APPLY_INSYNC_THREAD_MIN) {
		snprintf(s->msg, sizeof(s->msg), "cacheform %s: endpoints in sync",
			 c->o->verb ? c->o->verb : "apply");
		/* signals stay with the main thread: its handler stops the run */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		s->running = pthread_create(&s->th, NULL, insync_main, s) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (!s->running)
		collect_in_sync(c->en, c->p, &s->v, &s->n, &s->cap);
}

/* Joins the helper. Records it did not commit (not started, or its commit failed) go to
 * c->eprec when keep: the final commit takes them, and says what went wrong if the ledger
 * still refuses. */
static void insync_finish(struct ctx *c, struct insync *s, bool keep)
{
	if (s->running) {
		pthread_join(s->th, NULL);
		s->running = false;
	}
	if (!s->committed && keep && s->n) {
		xgrow(&c->eprec, &c->eprec_cap, c->neprec + s->n, sizeof(*c->eprec));
		memcpy(&c->eprec[c->neprec], s->v, s->n * sizeof(*s->v));
		c->neprec += s->n;
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- the loop ---- */

static void round_tick(void *ctx, size_t done, size_t n)
{
	const struct ctx *c = ctx;
	int64_t due;
	(void)done;
	(void)n;
	if (progress_due())
		apply_progress_show(c, apply_tasks_waiting(c, &due));
}

struct round_run {
	struct ctx *c;
	struct round *rd;
};

/*
 * An answer as it arrives (http_run_each). A purge or preload batch's (and a lost one's
 * lookup) is handled at once: an acceptance goes to the in-flight journal, whose writer makes
 * it durable while the round goes on (acceptances arriving together share one sync), so an
 * apply killed before the round's ledger commit repeats only what was in that window. Other
 * answers wait for round_answers.
 */
static void round_done(size_t k, struct http_resp *resp, void *arg)
{
	struct round_run *rr = arg;
	struct ctx *c = rr->c;
	struct rtag *tg = &rr->rd->tags[k];
	if (tg->k != R_BATCH && tg->k != R_FIND)
		return;
	struct pjob *j = &c->j[tg->i];
	if (tg->k == R_BATCH)
		apply_purge_batch_done(rr->rd, j, tg->b, resp, apply_now_ms());
	else
		apply_purge_find_done(c, rr->rd, j, tg->b, resp, apply_now_ms());
	apply_purge_journal(c, j, tg->b);
	tg->k = R_SEEN;
}

/* Waits until the acceptances queued in the in-flight journal are durable; a journal that
 * fails is said once and then left alone (the ledger commit still follows). */
static void journal_sync(struct ctx *c)
{
	struct cf_err e;
	err_clear(&e);
	if (!c->jr || inflight_sync(c->jr, &e) == 0 || c->jr_warned)
		return;
	c->jr_warned = true;
	progress_clear();
	fprintf(stderr,
		"warning: %s; an apply killed before its ledger write may send this round's "
		"accepted purges again\n",
		e.msg);
}

/* Rounds until nothing is left to send or wait for (or the deadline passes). */
static int run_rounds(struct ctx *c, struct cf_err *e)
{
	struct round rd = {0};
	int rc = 0;
	for (;;) {
		int64_t now = apply_now_ms(), due;
		if (apply_interrupted(c))
			break;
		engine_refresh(c->en);
		apply_purge_advance(c);
		collect_writes(c, &rd, now);
		apply_purge_collect(c, &rd, now);
		if (rd.n == 0) {
			size_t left = apply_tasks_waiting(c, &due);
			/* a job whose purges an earlier run finished moves to its preloads only
			 * once it was opened, in this round: give it the next one */
			if (!left && apply_purge_advance(c))
				continue;
			if (!left)
				break;
			if (!apply_wait_next(c, left, due) || apply_interrupted(c))
				break;
			continue;
		}
		struct http_resp *resps = xcalloc(rd.n + 1, sizeof(*resps));
		for (size_t k = 0; k < rd.n; k++)
			c->r->writes += rd.tags[k].k == R_WRITE;
		struct round_run rr = {c, &rd};
		rd.accepted = false;
		http_set_tick(c->en->http, round_tick, c);
		(void)http_run_each(c->en->http, rd.reqs, resps, rd.n, round_done, &rr);
		http_set_tick(c->en->http, NULL, NULL);
		journal_sync(c);
		round_answers(c, &rd, resps);
		free(resps);
		/* recorded as submitted before any polling, so a crash cannot lose an accepted
		 * purge; confirmed endpoints ride along */
		if (rd.accepted && (rc = commit(c, "purges submitted", e)) < 0)
			break;
	}
	progress_clear();
	free(rd.reqs);
	free(rd.tags);
	return rc;
}

/* Outcomes of whatever the loop left behind (deadline passed, or stopped). */
static void settle_left(struct ctx *c)
{
	for (size_t i = 0; i < c->nw; i++) {
		struct wjob *w = &c->w[i];
		if (c->interrupted && (w->st == W_POLL || w->st == W_CONFIRM)) {
			/* the provider took the write: it is not lost, only not confirmed */
			w->st = W_END;
			apply_item_set(c->r, w->item, APPLY_SUBMITTED,
				       "interrupted before it was confirmed; the next plan shows "
				       "what is live");
		} else if (w->st == W_POLL) {
			w->st = W_END;
			apply_failed(c, w->item, "timed out waiting for the provider's task");
			if (w->joined)
				join_follow(c, w);
		} else if (w->st == W_JOIN) {
			/* held for a shared step that was never sent (stopped first) */
			w->st = W_END;
			apply_failed(c, w->item, "stopped before its deployment step was sent");
		}
	}
	/* followers of a leader the interruption left submitted */
	for (size_t i = 0; i < c->nw; i++)
		if (c->w[i].st == W_JOINED) {
			c->w[i].st = W_END;
			apply_item_set(c->r, c->w[i].item, APPLY_SUBMITTED,
				       "interrupted before it was confirmed; the next plan shows "
				       "what is live");
		}
	apply_purge_settle(c);
}

/* The rule write's operation for --format json: its outcome and its task, if any. */
static void write_snapshot(struct ctx *c, const struct wjob *w)
{
	struct apply_item *it = &c->r->v[w->item];
	struct apply_opres *op = &it->ops[APPLY_OP_RULES];
	op->present = true;
	op->status = apply_status_of(it->outcome);
	if (!w->t.id)
		return;
	op->tasks = xcalloc(1, sizeof(*op->tasks));
	op->tasks[0].id = xstrdup(w->t.id);
	op->tasks[0].state = w->t.state == TASK_FAILED	  ? "failed"
			     : w->t.state == TASK_RUNNING ? "running"
							  : "succeeded";
	op->ntasks = 1;
}

/* This apply's in-flight journal, when it has purges to send and a ledger to record them in.
 * Without one it goes on as before (acceptances durable at the round's ledger commit). */
static void journal_open(struct ctx *c)
{
	struct cf_err e;
	err_clear(&e);
	if (!c->nj || !c->en->rl)
		return;
	if (inflight_open(repo_ledger_gitdir(c->en->rl), &c->jr, &e) < 0) {
		c->jr_warned = true;
		fprintf(stderr,
			"warning: %s; an apply killed before its ledger write may send a whole "
			"round of purges again\n",
			e.msg);
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
		w->item = apply_item_add(c->r, "endpoint '%s': cache rules", p->eps[i].name);
		c->r->v[w->item].endpoint = xstrdup(p->eps[i].name);
	}
	/* after the writes: a purge job finds its endpoint's write job */
	apply_purge_plan(c);
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
	r->live = o->live;
	r->live_quiet = o->live_quiet;
	c.deadline_ms =
	    apply_now_ms() + (o->timeout_s > 0 ? o->timeout_s : APPLY_DEFAULT_TIMEOUT_S) * 1000;
	plan_jobs(&c);
	journal_open(&c);
	struct insync s;
	insync_start(&c, &s);
	int rc = run_rounds(&c, e);
	if (rc < 0) {
		/* the ledger failed: stopped like an interrupt, what was accepted is submitted */
		c.stop = c.interrupted = true;
		settle_left(&c);
		/* as before: no endpoint record after a failed ledger write */
		insync_finish(&c, &s, false);
	} else {
		settle_left(&c);
		insync_finish(&c, &s, true);
		rc = commit(&c, "finished", e);
	}
	/* kept when it holds what neither the ledger nor the pending journal does: the next
	 * apply folds it in */
	inflight_close(c.jr, !c.unrecorded);
	for (size_t i = 0; i < c.nw; i++)
		write_snapshot(&c, &c.w[i]);
	apply_purge_snapshot(&c);
	for (size_t i = 0; i < c.nw; i++)
		task_release(&c.w[i].t);
	for (size_t i = 0; i < c.nj; i++)
		apply_purge_release(&c.j[i]);
	free(c.w);
	free(c.j);
	free(c.eprec);
	result_count(r);
	if (rc < 0)
		return rc;
	return r->failed ? CF_EAPI : 0;
}
