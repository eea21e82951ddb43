/*
 * Internals of apply_run() shared by its three files; nothing outside reconcile/apply*.c
 * includes this. apply.c runs the rounds and the endpoint writes and keeps the result and the
 * ledger commits; apply_purge.c drives the purge and preload jobs and their ledger records;
 * apply_poll.c schedules task polls and the waits between rounds.
 */
#ifndef CF_APPLY_INT_H
#define CF_APPLY_INT_H

#include <stdint.h>
#include <stdbool.h>

#include "reconcile/apply.h"
#include "reconcile/http.h"
#include "reconcile/ledger.h"
#include "reconcile/provider.h"

#define APPLY_ERR_SHOWN 200 /* bytes of a poll's last error kept for the report */

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
	W_NEXT,	   /* a multi-request write: the next write request is to be built */
	W_JOIN,	   /* held at a step shared with other endpoints (prov_ops.write_join) */
	W_JOINED,  /* that step was sent for it by another job (leader), which polls it */
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
	bool ok;       /* confirmed, or submitted under --no-wait: its purges may go */
	bool joined;   /* a shared step was sent for it (as leader, or W_JOINED) */
	size_t leader; /* W_JOINED: the job that sent the shared step */
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
	bool *find;    /* an earlier run's unknown batch: looked up in the provider's task list
			  (prov_ops.find_req) before it is sent again */
	int64_t since; /* when that earlier run claimed it (unix seconds) */
	struct ledger_purge rec;
	size_t item;
	enum pstate st;
	enum batch_kind kind; /* the kind being submitted or polled */
	/* accepted: the provider holds (or may hold) some of it, so it has a record; dirty: rec
	 * changed since it was last committed; refused: a batch was refused or a task failed */
	bool accepted, dirty, refused;
	bool resumed;	/* pending from an earlier run whose tasks carry no batch index: its
			   purge batches are never resent */
	bool claimed;	/* this apply claimed it in the ledger: only it sends the batches */
	bool journaled; /* its whole record is in the in-flight journal: later lines add tasks */
	char *why;
};

struct ctx {
	struct engine *en;
	const struct plan *p;
	const struct apply_opts *o;
	struct apply_result *r;
	int64_t deadline_ms;
	bool stop;	  /* a failure without keep_going: nothing new starts */
	bool interrupted; /* a signal: stop, accepted tasks are left submitted */
	struct wjob *w;
	size_t nw;
	struct pjob *j;
	size_t nj;
	/* the in-flight journal (reconcile/inflight.h), or NULL; unrecorded: it holds
	 * acceptances the local ledger (or the pending journal) does not hold yet */
	struct inflight *jr;
	bool unrecorded, jr_warned;
	/* endpoint records confirmed since the last commit (cache borrowed) */
	struct ledger_endpoint *eprec;
	size_t neprec, eprec_cap;
};

/* R_SEEN: an answer already handled as it arrived (a batch's or a lookup's) */
enum rkind { R_WRITE, R_WPOLL, R_CONFIRM, R_BATCH, R_BPOLL, R_FIND, R_SEEN };

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

/* ---- apply.c: result items, failures, round slots ---- */

size_t apply_item_add(struct apply_result *r, const char *fmt, ...) CF_PRINTF(2, 3);
void apply_item_set(struct apply_result *r, size_t i, enum apply_outcome o, const char *detail);
/* The status of an operation whose item came to o, when nothing finer is known. */
enum apply_status apply_status_of(enum apply_outcome o);
/* Sets the item failed; without keep_going nothing new starts after it. */
void apply_failed(struct ctx *c, size_t item, const char *why);
/* Returns the next request slot, tagged; the caller fills it or calls apply_round_drop(). */
struct http_req *apply_round_slot(struct round *rd, enum rkind k, size_t i, size_t b);
void apply_round_drop(struct round *rd);

/* ---- apply_poll.c: task polls and waiting ---- */

int64_t apply_now_ms(void);
/* True once o->interrupt says a signal arrived (then also c->stop and c->interrupted). */
bool apply_interrupted(struct ctx *c);
bool apply_task_running(const struct task *t);
void apply_pclock_start(struct pclock *pc, const struct task *t, int64_t now);
void apply_pclock_next(struct pclock *pc, const struct task *t, int64_t now);
void apply_poll_add(struct round *rd, enum rkind k, size_t i, size_t b, struct eng_endpoint *x,
		    struct task *t, const struct pclock *pc, int64_t now);
void apply_poll_parse(struct eng_endpoint *x, struct task *t, struct pclock *pc,
		      const struct http_resp *resp);
/* Tasks still waited for, and in next_due when the first of them is due. */
size_t apply_tasks_waiting(const struct ctx *c, int64_t *next_due);
bool apply_wait_next(struct ctx *c, size_t left, int64_t due);
/* The progress status "writing 3/9[, waiting for 4 tasks]" into buf. */
void apply_progress_status(const struct ctx *c, size_t waiting, char *buf, size_t n);
/* Shows it (reconcile/base/progress.h) when due, given the tasks waited for; plain lines (CI
 * logs) also name up to APPLY_NOTE_SHOWN of them. */
void apply_progress_show(const struct ctx *c, size_t waiting);

/* ---- apply_purge.c: purge and preload jobs ---- */

/* Creates a job for every purge the plan runs, resumes or refuses (after the write jobs). */
void apply_purge_plan(struct ctx *c);
void apply_purge_release(struct pjob *j);
void apply_purge_collect(struct ctx *c, struct round *rd, int64_t now);
void apply_purge_batch_done(struct round *rd, struct pjob *j, size_t b,
			    const struct http_resp *resp, int64_t now);
bool apply_purge_advance(struct ctx *c);
/* The answer to a task-list lookup of a lost batch: found, it is polled; else sent next round. */
void apply_purge_find_done(struct ctx *c, struct round *rd, struct pjob *j, size_t b,
			   const struct http_resp *resp, int64_t now);
void apply_purge_rec_tasks(struct pjob *j);
/* Queues batch b's outcome in the in-flight journal when it was accepted (or may have been):
 * the job's whole record the first time, the batch's task after. */
void apply_purge_journal(struct ctx *c, struct pjob *j, size_t b);
/* Outcomes of the jobs the loop left behind (deadline passed, or stopped). */
void apply_purge_settle(struct ctx *c);
/* Fills each job's item operations (purge, preload) for --format json, once it ended. */
void apply_purge_snapshot(struct ctx *c);

#endif
