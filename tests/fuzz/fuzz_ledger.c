/*
 * ledger_purge_decode and ledger_endpoint_decode (reconcile/ledger.c) on arbitrary bytes: the
 * records come back from refs/cacheform/ledger, which other pipelines push, so a hostile or
 * corrupted record must be refused with a message or read into a well-formed struct.
 * Every input is tried as both kinds of record and as a summary (ledger compact).
 * Properties: failures carry a message; an accepted record has its required strings, fixed
 * fields NUL-terminated within their arrays, enums in range, counts non-negative, tasks within
 * LEDGER_MAX_TASKS with batch indices in range; it survives encode -> decode unchanged; its
 * names map to one safe path component; and summing its quota usage cannot overflow. A
 * summary holds only final records of its own manifest, marked compacted, without tasks, and
 * survives encode -> decode unchanged.
 */
#include "reconcile/base/compat.h"

#include <string.h>

#include "reconcile/ledger.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_SB_CAP   ((size_t)8 << 20)
#define USAGE_RECORDS 3 /* the same record under several endpoints: their sum must saturate */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void check_fixed(const char *s, size_t cap)
{
	FUZZ_CHECK(strnlen(s, cap) < cap);
}

/* The escaped name stays inside its directory: no '/', never "." or ".." or a dot file. */
static void check_path_component(const char *s)
{
	struct sb sb;
	sb_init(&sb, FUZZ_SB_CAP);
	ledger_path_component(s, &sb);
	if (s[0] != '\0') {
		FUZZ_CHECK(sb.len > 0 && sb.buf[0] != '.');
		FUZZ_CHECK(memchr(sb.buf, '/', sb.len) == NULL);
		FUZZ_CHECK(strlen(sb.buf) == sb.len);
	}
	sb_release(&sb);
}

static void check_task(const struct ledger_task *t)
{
	FUZZ_CHECK(t->id != NULL);
	FUZZ_CHECK(t->batch >= -1 && t->batch < LEDGER_MAX_TASKS);
	FUZZ_CHECK((int)t->state >= LTASK_RUNNING && (int)t->state <= LTASK_UNKNOWN);
}

static bool task_equal(const struct ledger_task *a, const struct ledger_task *b)
{
	return str_eq(a->id, b->id) && str_eq(a->poll_url, b->poll_url) &&
	       a->preload == b->preload && a->batch == b->batch && a->state == b->state;
}

static bool purge_equal(const struct ledger_purge *a, const struct ledger_purge *b)
{
	if (!str_eq(a->id, b->id) || !str_eq(a->endpoint, b->endpoint) ||
	    !str_eq(a->account, b->account) || !str_eq(a->message, b->message) ||
	    strcmp(a->content_hash, b->content_hash) != 0 || strcmp(a->commit, b->commit) != 0 ||
	    a->status != b->status || a->ntasks != b->ntasks || a->batches != b->batches ||
	    a->files != b->files || a->dirs != b->dirs || a->submitted_at != b->submitted_at ||
	    a->finished_at != b->finished_at)
		return false;
	for (size_t i = 0; i < a->ntasks; i++)
		if (!task_equal(&a->tasks[i], &b->tasks[i]))
			return false;
	return true;
}

/* Quota usage over every time: the record counted under several endpoints. */
static void check_usage(const struct ledger_purge *p)
{
	if (!p->account)
		return;
	struct ledger l;
	ledger_init(&l);
	struct ledger_purge copy;
	ledger_purge_copy(&copy, p);
	for (int i = 0; i < USAGE_RECORDS; i++) {
		char name[16];
		snprintf(name, sizeof name, "ep%d", i);
		free(copy.endpoint);
		copy.endpoint = xstrdup(name);
		ledger_put_purge(&l, &copy);
	}
	int64_t files, dirs;
	(void)ledger_usage(&l, p->account, INT64_MIN, INT64_MAX, &files, &dirs, NULL);
	FUZZ_CHECK(files >= 0 && dirs >= 0);
	ledger_purge_release(&copy);
	ledger_release(&l);
}

static void fuzz_purge(const char *data, size_t size)
{
	struct ledger_purge p, back;
	struct cf_err e;
	err_clear(&e);
	if (ledger_purge_decode(data, size, &p, &e) < 0) {
		FUZZ_CHECK(e.rc != 0 && e.msg[0] != '\0');
		return;
	}
	FUZZ_CHECK(p.id != NULL && p.endpoint != NULL);
	check_fixed(p.content_hash, sizeof p.content_hash);
	check_fixed(p.commit, sizeof p.commit);
	FUZZ_CHECK((int)p.status >= LEDGER_SUBMITTED && (int)p.status <= LEDGER_UNKNOWN);
	FUZZ_CHECK(p.files >= 0 && p.dirs >= 0);
	FUZZ_CHECK(p.ntasks <= LEDGER_MAX_TASKS);
	for (size_t i = 0; i < p.ntasks; i++)
		check_task(&p.tasks[i]);
	check_path_component(p.id);
	check_path_component(p.endpoint);
	check_usage(&p);

	struct sb sb;
	sb_init(&sb, FUZZ_SB_CAP);
	FUZZ_CHECK(ledger_purge_encode(&p, &sb) == 0);
	err_clear(&e);
	FUZZ_CHECK(ledger_purge_decode(sb.buf, sb.len, &back, &e) == 0);
	FUZZ_CHECK(purge_equal(&p, &back));
	ledger_purge_release(&back);
	sb_release(&sb);
	ledger_purge_release(&p);
}

static void fuzz_endpoint(const char *data, size_t size)
{
	struct ledger_endpoint ep, back;
	struct cf_err e;
	err_clear(&e);
	if (ledger_endpoint_decode(data, size, &ep, &e) < 0) {
		FUZZ_CHECK(e.rc != 0 && e.msg[0] != '\0');
		return;
	}
	FUZZ_CHECK(ep.name != NULL);
	check_fixed(ep.commit, sizeof ep.commit);
	check_fixed(ep.digest, sizeof ep.digest);
	for (size_t r = 0; r < ep.cache.nrules; r++) {
		const struct rule *rl = &ep.cache.rules[r];
		FUZZ_CHECK(rl->ttl >= 0 && rl->ttl <= MODEL_TTL_MAX);
		for (size_t k = 0; k < rl->items.n; k++)
			FUZZ_CHECK(rl->items.v[k].s != NULL);
	}
	check_path_component(ep.name);

	struct sb sb;
	sb_init(&sb, FUZZ_SB_CAP);
	FUZZ_CHECK(ledger_endpoint_encode(&ep, &sb) == 0);
	err_clear(&e);
	FUZZ_CHECK(ledger_endpoint_decode(sb.buf, sb.len, &back, &e) == 0);
	FUZZ_CHECK(str_eq(ep.name, back.name) && str_eq(ep.account, back.account));
	FUZZ_CHECK(strcmp(ep.commit, back.commit) == 0 && strcmp(ep.digest, back.digest) == 0);
	FUZZ_CHECK(ep.applied_at == back.applied_at);
	FUZZ_CHECK(cache_equal(&ep.cache, &back.cache));
	ledger_endpoint_release(&back);
	sb_release(&sb);
	ledger_endpoint_release(&ep);
}

static void fuzz_summary(const char *data, size_t size)
{
	struct ledger_purge *v, *back;
	size_t n, nback;
	struct cf_err e;
	err_clear(&e);
	if (ledger_summary_decode(data, size, &v, &n, &e) < 0) {
		FUZZ_CHECK(e.rc != 0 && e.msg[0] != '\0');
		FUZZ_CHECK(v == NULL && n == 0);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(v[i].compacted && v[i].ntasks == 0 && ledger_status_final(v[i].status));
		FUZZ_CHECK(strcmp(v[i].id, v[0].id) == 0);
		FUZZ_CHECK(v[i].files >= 0 && v[i].dirs >= 0);
		check_fixed(v[i].content_hash, sizeof v[i].content_hash);
	}
	struct sb sb;
	sb_init(&sb, FUZZ_SB_CAP);
	FUZZ_CHECK(ledger_summary_encode(v, n, 0, &sb) == 0);
	FUZZ_CHECK(ledger_summary_decode(sb.buf, sb.len, &back, &nback, &e) == 0);
	FUZZ_CHECK(nback == n);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(str_eq(v[i].id, back[i].id) && str_eq(v[i].endpoint, back[i].endpoint));
		FUZZ_CHECK(str_eq(v[i].account, back[i].account) && v[i].status == back[i].status);
		FUZZ_CHECK(v[i].files == back[i].files && v[i].dirs == back[i].dirs);
		FUZZ_CHECK(v[i].submitted_at == back[i].submitted_at &&
			   v[i].finished_at == back[i].finished_at);
		FUZZ_CHECK(strcmp(v[i].content_hash, back[i].content_hash) == 0);
		ledger_purge_release(&back[i]);
		ledger_purge_release(&v[i]);
	}
	free(back);
	free(v);
	sb_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_purge((const char *)data, size);
	fuzz_endpoint((const char *)data, size);
	fuzz_summary((const char *)data, size);
	return 0;
}
