/* Unit tests: the ledger shared through a git remote (reconcile/repo_remote.c): URL kinds,
 * absent vs failed fetches, pushes rejected when another clone pushed first, merges of
 * diverged ledgers, and claims decided against what the remote holds. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <unistd.h>

#include "reconcile/ledger.h"
#include "reconcile/repo_ledger.h"
#include "reconcile/repo_remote.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define HASH	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define T_CMD_MAX 4096

static char tmp[64];

CF_PRINTF(1, 2)
static void sh(const char *fmt, ...)
{
	struct sb sb;
	va_list ap;
	sb_init(&sb, T_CMD_MAX);
	(void)sb_addf(&sb, "cd '%s' && { ", tmp);
	va_start(ap, fmt);
	(void)sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	(void)sb_adds(&sb, "; } >/dev/null 2>&1");
	int r = system(sb.buf);
	if (r != 0)
		fail_msg("command failed (%d): %s", r, sb.buf);
	sb_release(&sb);
}

/* A bare remote with one commit on main, cloned as a/ and b/; c/ has a remote to nowhere. */
static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/cf-remote-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	sh("git init -q --bare r.git && git init -q -b main s && cd s && git config user.email "
	   "t@x && git config user.name t && git commit -q --allow-empty -m one && git remote add "
	   "origin ../r.git && git push -q origin main && cd .. && git clone -q r.git a && git "
	   "clone -q r.git b && git init -q --bare empty.git && cd a && git remote add empty "
	   "../empty.git && git remote add gone ../nowhere.git");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sh("cd / && rm -rf '%s'", tmp);
	return 0;
}

static void rec_fill(struct ledger_purge *p, const char *id, enum ledger_status st)
{
	memset(p, 0, sizeof(*p));
	p->id = xstrdup(id);
	p->endpoint = xstrdup("www");
	p->account = xstrdup("cn");
	memcpy(p->content_hash, HASH, sizeof(HASH));
	p->status = st;
	p->batches = 1;
}

struct clone {
	struct repo_ledger *rl;
	struct repo_remote *rr;
};

static void clone_open(struct clone *c, const char *name, const char *remote)
{
	char dir[128];
	struct cf_err e;
	err_clear(&e);
	snprintf(dir, sizeof(dir), "%s/%s", tmp, name);
	assert_int_equal(repo_ledger_open(dir, &c->rl, &e), 0);
	if (repo_remote_open(dir, remote, &c->rr, &e) != 0)
		fail_msg("open %s: %s", remote, e.msg);
}

static void clone_close(struct clone *c)
{
	repo_remote_close(c->rr);
	repo_ledger_close(c->rl);
}

/* The status of record id in the clone's local ledger, or -1 when absent. */
static int status_of(struct clone *c, const char *id)
{
	struct ledger l;
	assert_int_equal(repo_ledger_read(c->rl, &l, NULL), 0);
	const struct ledger_purge *p = ledger_find_purge(&l, id, "www");
	int st = p ? (int)p->status : -1;
	ledger_release(&l);
	return st;
}

struct url_case {
	const char *url;
	bool path;
	const char *want;
};

static const struct url_case url_cases[] = {
    {"/srv/ledger.git", true, "/srv/ledger.git"},
    {"../ledger.git", true, "../ledger.git"},
    {"file:///srv/ledger.git", true, "/srv/ledger.git"},
    {"https://git.example.com/team/site.git", false, NULL},
    {"ssh://git@git.example.com/team/site.git", false, NULL},
    {"git@github.com:team/site.git", false, NULL},
    {"host:path/x.git", false, NULL},
    {"dir/with:colon", true, "dir/with:colon"},
    {"file://", false, NULL},
};

static void test_remote__url_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		char buf[256];
		bool got = repo_remote_url_path(url_cases[i].url, buf, sizeof(buf));
		if (got != url_cases[i].path)
			fail_msg("%s: path %d, want %d", url_cases[i].url, got, url_cases[i].path);
		if (got)
			assert_string_equal(buf, url_cases[i].want);
	}
}

static void test_remote__absent_failed_unknown(void **state)
{
	(void)state;
	struct clone a;
	struct repo_remote *rr = NULL;
	struct cf_err e;
	bool absent = false;
	char dir[128];
	err_clear(&e);
	snprintf(dir, sizeof(dir), "%s/a", tmp);
	assert_int_equal(repo_remote_open(dir, "nosuch", &rr, &e), CF_EINVAL);
	assert_non_null(strstr(e.msg, "no git remote 'nosuch'"));
	clone_open(&a, "a", "empty");
	assert_int_equal(repo_remote_fetch(a.rr, &absent, &e), 0);
	assert_true(absent);
	clone_close(&a);
	clone_open(&a, "a", "gone");
	absent = false;
	assert_int_equal(repo_remote_fetch(a.rr, &absent, &e), CF_EIO);
	assert_false(absent); /* failed is not absent */
	assert_non_null(strstr(e.msg, "cannot fetch the ledger from 'gone'"));
	clone_close(&a);
}

static void test_remote__record_push_reject_merge(void **state)
{
	(void)state;
	struct clone a, b;
	struct ledger_purge p1, p2, p3;
	struct cf_err e;
	bool rejected, absent, local;
	err_clear(&e);
	clone_open(&a, "a", "origin");
	clone_open(&b, "b", "origin");
	rec_fill(&p1, "p1", LEDGER_SUBMITTED);
	rec_fill(&p2, "p2", LEDGER_SUBMITTED);
	rec_fill(&p3, "p1", LEDGER_SUCCEEDED);
	/* a records and pushes; b fetches it */
	assert_int_equal(repo_remote_record(a.rr, a.rl, &p1, 1, NULL, 0, "a", &local, &e), 0);
	assert_int_equal(repo_remote_fetch(b.rr, &absent, &e), 0);
	assert_false(absent);
	assert_int_equal(status_of(&b, "p1"), LEDGER_SUBMITTED);
	/* a finishes p1 and pushes; b, not having fetched, records p2: its push is refused */
	assert_int_equal(repo_remote_record(a.rr, a.rl, &p3, 1, NULL, 0, "a2", &local, &e), 0);
	assert_int_equal(repo_ledger_record(b.rl, &p2, 1, NULL, 0, "b", &e), 0);
	assert_int_equal(repo_remote_push(b.rr, &rejected, &e), 0);
	assert_true(rejected);
	/* the fetch merges: both records, a's final p1 kept */
	assert_int_equal(repo_remote_fetch(b.rr, &absent, &e), 0);
	assert_int_equal(status_of(&b, "p1"), LEDGER_SUCCEEDED);
	assert_int_equal(status_of(&b, "p2"), LEDGER_SUBMITTED);
	assert_int_equal(repo_remote_push(b.rr, &rejected, &e), 0);
	assert_false(rejected);
	assert_int_equal(repo_remote_fetch(a.rr, &absent, &e), 0);
	assert_int_equal(status_of(&a, "p2"), LEDGER_SUBMITTED);
	/* both add p4: the remote's final record is not replaced by a local one that is not */
	struct ledger_purge p4;
	rec_fill(&p4, "p4", LEDGER_SUCCEEDED);
	assert_int_equal(repo_remote_record(a.rr, a.rl, &p4, 1, NULL, 0, "a3", &local, &e), 0);
	p4.status = LEDGER_UNKNOWN;
	assert_int_equal(repo_ledger_record(b.rl, &p4, 1, NULL, 0, "b stale", &e), 0);
	assert_int_equal(repo_remote_fetch(b.rr, &absent, &e), 0);
	assert_int_equal(status_of(&b, "p4"), LEDGER_SUCCEEDED);
	ledger_purge_release(&p4);
	ledger_purge_release(&p1);
	ledger_purge_release(&p2);
	ledger_purge_release(&p3);
	clone_close(&a);
	clone_close(&b);
}

static void test_remote__claim_once_across_clones(void **state)
{
	(void)state;
	struct clone a, b;
	struct ledger_purge c;
	struct cf_err e;
	const struct ledger_purge *none[1] = {NULL};
	bool won_a = false, won_b = true, absent;
	err_clear(&e);
	clone_open(&a, "a", "origin");
	clone_open(&b, "b", "origin");
	rec_fill(&c, "claimed-once", LEDGER_CLAIMED);
	c.claim_by = xstrdup("1@a");
	c.claims = 1;
	/* both planned from "no record": a claims first, b finds a's claim on the remote */
	assert_int_equal(repo_remote_claim(a.rr, a.rl, &c, none, 1, &won_a, "claim a", &e), 0);
	assert_true(won_a);
	free(c.claim_by);
	c.claim_by = xstrdup("2@b");
	assert_int_equal(repo_remote_claim(b.rr, b.rl, &c, none, 1, &won_b, "claim b", &e), 0);
	assert_false(won_b);
	/* the remote holds a's claim */
	assert_int_equal(repo_remote_fetch(a.rr, &absent, &e), 0);
	struct ledger l;
	assert_int_equal(repo_ledger_read(a.rl, &l, NULL), 0);
	const struct ledger_purge *got = ledger_find_purge(&l, "claimed-once", "www");
	assert_non_null(got);
	assert_string_equal(got->claim_by, "1@a");
	ledger_release(&l);
	ledger_purge_release(&c);
	clone_close(&a);
	clone_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_remote__url_table),
	    cmocka_unit_test(test_remote__absent_failed_unknown),
	    cmocka_unit_test(test_remote__record_push_reject_merge),
	    cmocka_unit_test(test_remote__claim_once_across_clones),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
