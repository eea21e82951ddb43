/* Unit tests: ledger record codec, and the ref store's compare-and-swap under concurrency. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>
#include <unistd.h>

#include "reconcile/ledger.h"
#include "reconcile/repo_ledger.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define HASH_A		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B		   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define WRITERS		   4
#define RECORDS_PER_WRITER 12

static void purge_fill(struct ledger_purge *p, const char *id, const char *ep,
		       enum ledger_status st)
{
	memset(p, 0, sizeof(*p));
	p->id = xstrdup(id);
	p->endpoint = xstrdup(ep);
	p->account = xstrdup("cn");
	memcpy(p->content_hash, HASH_A, sizeof(HASH_A));
	p->status = st;
	p->files = 3;
	p->dirs = 1;
	p->batches = 1;
	p->submitted_at = 1763715600; /* 2025-11-21T09:00:00Z */
}

static void test_ledger__purge_roundtrip(void **state)
{
	(void)state;
	struct ledger_purge p, q;
	struct sb sb;
	purge_fill(&p, "2026-logo", "www", LEDGER_SUCCEEDED);
	ledger_purge_add_task(&p, "task-1", "http://127.0.0.1:1/x", false);
	ledger_purge_add_task(&p, "task-2", NULL, true);
	p.finished_at = p.submitted_at + 30;
	p.message = xstrdup("done");
	sb_init(&sb, 0);
	assert_int_equal(ledger_purge_encode(&p, &sb), 0);
	assert_non_null(strstr(sb.buf, "\"submitted_at\": \"2025-11-21T09:00:00Z\""));
	assert_int_equal(ledger_purge_decode(sb.buf, sb.len, &q, NULL), 0);
	assert_string_equal(q.id, "2026-logo");
	assert_string_equal(q.endpoint, "www");
	assert_string_equal(q.content_hash, HASH_A);
	assert_int_equal(q.status, LEDGER_SUCCEEDED);
	assert_int_equal(q.ntasks, 2);
	assert_string_equal(q.tasks[0].poll_url, "http://127.0.0.1:1/x");
	assert_null(q.tasks[1].poll_url);
	assert_true(q.tasks[1].preload);
	assert_int_equal(q.submitted_at, p.submitted_at);
	assert_int_equal(q.finished_at, p.finished_at);
	assert_int_equal(q.files, 3);
	ledger_purge_release(&q);
	ledger_purge_release(&p);
	sb_release(&sb);
}

/* Per-batch fate and the unknown status survive a round trip; older tasks read as batch -1. */
static void test_ledger__batch_states(void **state)
{
	(void)state;
	struct ledger_purge p, q;
	struct sb sb;
	purge_fill(&p, "2026-logo", "www", LEDGER_UNKNOWN);
	ledger_purge_add_task(&p, "task-1", NULL, false);
	p.tasks[0].batch = 0;
	p.tasks[0].state = LTASK_SUCCEEDED;
	ledger_purge_add_task(&p, "", NULL, true);
	p.tasks[1].batch = 2;
	p.tasks[1].state = LTASK_UNKNOWN;
	sb_init(&sb, 0);
	assert_int_equal(ledger_purge_encode(&p, &sb), 0);
	assert_non_null(strstr(sb.buf, "\"status\": \"unknown\""));
	assert_int_equal(ledger_purge_decode(sb.buf, sb.len, &q, NULL), 0);
	assert_int_equal(q.status, LEDGER_UNKNOWN);
	assert_false(ledger_status_final(LEDGER_UNKNOWN)); /* a retry's "submitted" replaces it */
	assert_int_equal(q.ntasks, 2);
	assert_int_equal(q.tasks[0].batch, 0);
	assert_int_equal(q.tasks[0].state, LTASK_SUCCEEDED);
	assert_int_equal(q.tasks[1].batch, 2);
	assert_int_equal(q.tasks[1].state, LTASK_UNKNOWN);
	assert_string_equal(q.tasks[1].id, "");
	ledger_purge_release(&q);
	static const char old[] = "{\"purge\": \"x\", \"endpoint\": \"e\", \"status\": "
				  "\"submitted\", \"tasks\": [{\"id\": \"t\"}]}";
	assert_int_equal(ledger_purge_decode(old, strlen(old), &q, NULL), 0);
	assert_int_equal(q.tasks[0].batch, -1);
	assert_int_equal(q.tasks[0].state, LTASK_RUNNING);
	ledger_purge_release(&q);
	ledger_purge_release(&p);
	sb_release(&sb);
}

static void test_ledger__decode_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"purge\": \"x\"}",
	    "{\"purge\": \"x\", \"endpoint\": \"e\", \"status\": \"weird\", \"tasks\": []}",
	    "{\"purge\": 5, \"endpoint\": \"e\", \"status\": \"failed\", \"tasks\": []}",
	    "{\"purge\": \"x\", \"endpoint\": \"e\", \"status\": \"failed\", \"tasks\": [], "
	    "\"files\": -1}",
	    "{\"purge\": \"x\", \"endpoint\": \"e\", \"status\": \"failed\", \"tasks\": [], "
	    "\"submitted_at\": \"yesterday\"}",
	    "{\"purge\": \"x\", \"endpoint\": \"e\", \"status\": \"failed\", \"tasks\": "
	    "[{\"id\": \"t\", \"batch\": -1}]}",
	    "{\"purge\": \"x\", \"endpoint\": \"e\", \"status\": \"failed\", \"tasks\": "
	    "[{\"id\": \"t\", \"state\": \"lost\"}]}",
	    "{\"format_version\": 2, \"purge\": \"x\", \"endpoint\": \"e\", \"status\": "
	    "\"failed\", \"tasks\": []}",
	    "{\"format_version\": \"1\", \"purge\": \"x\", \"endpoint\": \"e\", \"status\": "
	    "\"failed\", \"tasks\": []}",
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		struct ledger_purge p;
		struct cf_err e;
		err_clear(&e);
		if (ledger_purge_decode(bad[i], strlen(bad[i]), &p, &e) == 0)
			fail_msg("case %zu decoded", i);
		assert_true(e.msg[0] != 0);
	}
}

static void test_ledger__path_component(void **state)
{
	(void)state;
	struct sb sb;
	sb_init(&sb, 0);
	ledger_path_component("../etc/x y.json", &sb);
	assert_string_equal(sb.buf, "%2E.%2Fetc%2Fx%20y.json");
	sb_release(&sb);
}

static void test_ledger__usage(void **state)
{
	(void)state;
	struct ledger l;
	struct ledger_purge p;
	int64_t f, d;
	ledger_init(&l);
	purge_fill(&p, "a", "www", LEDGER_SUCCEEDED);
	ledger_put_purge(&l, &p);
	ledger_purge_release(&p);
	purge_fill(&p, "b", "www", LEDGER_SUBMITTED);
	p.submitted_at -= 86400; /* yesterday */
	ledger_put_purge(&l, &p);
	ledger_purge_release(&p);
	purge_fill(&p, "c", "www", LEDGER_MARKED);
	ledger_put_purge(&l, &p);
	ledger_purge_release(&p);
	assert_int_equal(ledger_usage(&l, "cn", 1763715600 - 3600, 1763715600 + 3600, &f, &d, NULL),
			 0);
	assert_int_equal(f, 3); /* marked and yesterday's do not count */
	assert_int_equal(d, 1);
	assert_int_equal(ledger_usage(&l, "other", 0, INT64_MAX, &f, &d, NULL), 0);
	assert_int_equal(f, 0);
	ledger_release(&l);
}

/* Counts in a pushed record are untrusted: a sum past INT64_MAX stops there (quota spent). */
static void test_ledger__usage_saturates(void **state)
{
	(void)state;
	static const char huge[] =
	    "{\"purge\": \"p\", \"endpoint\": \"e\", \"account\": \"cn\", \"status\": "
	    "\"succeeded\", \"tasks\": [], \"files\": 9223372036854775807, \"dirs\": 1, "
	    "\"submitted_at\": \"2025-11-21T09:00:00Z\"}";
	struct ledger l;
	struct ledger_purge p;
	int64_t f, d;
	ledger_init(&l);
	assert_int_equal(ledger_purge_decode(huge, strlen(huge), &p, NULL), 0);
	ledger_put_purge(&l, &p);
	ledger_purge_release(&p);
	purge_fill(&p, "a", "www", LEDGER_SUCCEEDED);
	ledger_put_purge(&l, &p);
	ledger_purge_release(&p);
	assert_int_equal(ledger_usage(&l, "cn", 0, INT64_MAX, &f, &d, NULL), 0);
	assert_true(f == INT64_MAX);
	assert_int_equal(d, 2);
	ledger_release(&l);
}

/* A fresh git repository in a temporary directory; the path is returned (caller frees). */
static char *temp_repo(void)
{
	char tmpl[] = "/tmp/cf-ledger-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	struct sb cmd;
	sb_init(&cmd, 0);
	sb_addf(&cmd, "git init -q '%s'", dir);
	assert_int_equal(system(cmd.buf), 0);
	sb_release(&cmd);
	return xstrdup(dir);
}

static void rm_rf(const char *dir)
{
	struct sb cmd;
	sb_init(&cmd, 0);
	sb_addf(&cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd.buf), 0);
	sb_release(&cmd);
}

static void test_ledger__store_roundtrip(void **state)
{
	(void)state;
	char *dir = temp_repo();
	struct repo_ledger *rl;
	struct ledger l;
	assert_int_equal(repo_ledger_open(dir, &rl, NULL), 0);
	assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
	assert_int_equal(l.npurges + l.nendpoints, 0);
	ledger_release(&l);

	struct ledger_purge p;
	struct ledger_endpoint ep = {0};
	purge_fill(&p, "logo/../x", "www", LEDGER_SUBMITTED);
	ep.name = xstrdup("www");
	memcpy(ep.digest, HASH_B, sizeof(HASH_B));
	struct rule *r = cache_add_rule(&ep.cache);
	r->kind = RULE_SUFFIX;
	r->ttl = 60;
	svec_push(&r->items, "jpg", NULL);
	assert_int_equal(repo_ledger_record(rl, &p, 1, &ep, 1, "test", NULL), 0);
	/* a final status is kept; a later "submitted" for the same key does not undo it */
	p.status = LEDGER_SUCCEEDED;
	assert_int_equal(repo_ledger_record(rl, &p, 1, NULL, 0, "test", NULL), 0);
	p.status = LEDGER_SUBMITTED;
	assert_int_equal(repo_ledger_record(rl, &p, 1, NULL, 0, "test", NULL), 0);

	assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
	assert_int_equal(l.npurges, 1);
	assert_string_equal(l.purges[0].id, "logo/../x");
	assert_int_equal(l.purges[0].status, LEDGER_SUCCEEDED);
	struct ledger_endpoint *got = ledger_find_endpoint(&l, "www");
	assert_non_null(got);
	assert_string_equal(got->digest, HASH_B);
	assert_true(cache_equal(&got->cache, &ep.cache));
	ledger_release(&l);
	char tip[41];
	repo_ledger_tip(rl, tip, sizeof(tip));
	assert_int_equal(strlen(tip), 40);
	/* two commits (the refused downgrade wrote none); the ref is not a branch: HEAD has none */
	struct sb cmd;
	sb_init(&cmd, 0);
	sb_addf(&cmd,
		"test $(git -C '%s' rev-list --count refs/cacheform/ledger) = 2 && "
		"! git -C '%s' rev-parse -q --verify HEAD >/dev/null",
		dir, dir);
	assert_int_equal(system(cmd.buf), 0);
	sb_release(&cmd);
	ledger_purge_release(&p);
	ledger_endpoint_release(&ep);
	repo_ledger_close(rl);
	rm_rf(dir);
	free(dir);
}

#define PACKED_RECORDS 300

/*
 * A commit's objects are written as one pack, not one loose file per record (a fleet's
 * first apply records every endpoint), and git itself reads the result.
 */
static void test_ledger__one_pack_per_commit(void **state)
{
	(void)state;
	char *dir = temp_repo();
	struct repo_ledger *rl;
	struct ledger_endpoint *eps = calloc(PACKED_RECORDS, sizeof(*eps));
	assert_non_null(eps);
	assert_int_equal(repo_ledger_open(dir, &rl, NULL), 0);
	for (int i = 0; i < PACKED_RECORDS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "ep%04d", i);
		eps[i].name = xstrdup(name);
		memcpy(eps[i].digest, HASH_B, sizeof(HASH_B));
	}
	assert_int_equal(repo_ledger_record(rl, NULL, 0, eps, PACKED_RECORDS, "many", NULL), 0);
	struct ledger l;
	assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
	assert_int_equal(l.nendpoints, PACKED_RECORDS);
	ledger_release(&l);
	const char *checks[] = {
	    "test $(find .git/objects -path '*/objects/[0-9a-f][0-9a-f]/*' -type f | wc -l) = 0",
	    "test $(ls .git/objects/pack/ | grep -c '[.]pack$') = 1",
	    "git fsck --full >/dev/null 2>&1",
	    "git cat-file -p \"refs/cacheform/ledger:$(git ls-tree -r --name-only "
	    "refs/cacheform/ledger | grep '^v2/endpoints/../../ep0299[.]json$')\" | grep -q ep0299",
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(checks); i++) {
		struct sb cmd;
		sb_init(&cmd, 0);
		sb_addf(&cmd, "cd '%s' && %s", dir, checks[i]);
		print_message("%s\n", cmd.buf);
		assert_int_equal(system(cmd.buf), 0);
		sb_release(&cmd);
	}
	for (int i = 0; i < PACKED_RECORDS; i++)
		ledger_endpoint_release(&eps[i]);
	free(eps);
	repo_ledger_close(rl);
	rm_rf(dir);
	free(dir);
}

static int writer(const char *dir, int w)
{
	struct repo_ledger *rl;
	struct cf_err e;
	if (repo_ledger_open(dir, &rl, &e) < 0)
		return 1;
	int rc = 0;
	for (int i = 0; i < RECORDS_PER_WRITER && rc == 0; i++) {
		struct ledger_purge p;
		char id[32];
		snprintf(id, sizeof(id), "w%d-r%d", w, i);
		purge_fill(&p, id, "www", LEDGER_SUBMITTED);
		rc = repo_ledger_record(rl, &p, 1, NULL, 0, "concurrent", &e);
		ledger_purge_release(&p);
	}
	if (rc)
		fprintf(stderr, "writer %d: %s\n", w, e.msg);
	repo_ledger_close(rl);
	return rc ? 1 : 0;
}

/* Several processes record at once; the compare-and-swap keeps every record. */
static void test_ledger__concurrent_writers(void **state)
{
	(void)state;
	char *dir = temp_repo();
	pid_t pids[WRITERS];
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0)
			_exit(writer(dir, w));
	}
	for (int w = 0; w < WRITERS; w++) {
		int st;
		assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	struct repo_ledger *rl;
	struct ledger l;
	assert_int_equal(repo_ledger_open(dir, &rl, NULL), 0);
	assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
	assert_int_equal(l.npurges, WRITERS * RECORDS_PER_WRITER);
	ledger_release(&l);
	repo_ledger_close(rl);
	rm_rf(dir);
	free(dir);
}

/* A lock left by a process killed while holding it does not wedge the ledger. */
static void test_ledger__stale_lock(void **state)
{
	(void)state;
	char *dir = temp_repo();
	struct repo_ledger *rl;
	struct ledger_purge p;
	struct sb cmd;
	sb_init(&cmd, 0);
	sb_addf(&cmd,
		"mkdir -p '%s/.git/refs/cacheform' && touch -d '1 minute ago' "
		"'%s/.git/refs/cacheform/ledger.lock'",
		dir, dir);
	assert_int_equal(system(cmd.buf), 0);
	assert_int_equal(repo_ledger_open(dir, &rl, NULL), 0);
	purge_fill(&p, "x", "www", LEDGER_SUBMITTED);
	assert_int_equal(repo_ledger_record(rl, &p, 1, NULL, 0, "after a crash", NULL), 0);
	ledger_purge_release(&p);
	repo_ledger_close(rl);
	sb_release(&cmd);
	rm_rf(dir);
	free(dir);
}

static void test_ledger__not_a_repo(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/cf-noledger-XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct repo_ledger *rl = NULL;
	struct cf_err e;
	err_clear(&e);
	/* GIT_CEILING_DIRECTORIES keeps discovery from finding an enclosing repository */
	setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1);
	assert_int_equal(repo_ledger_open(dir, &rl, &e), CF_EIO);
	assert_non_null(strstr(e.msg, "not inside a git repository"));
	unsetenv("GIT_CEILING_DIRECTORIES");
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ledger__purge_roundtrip),
	    cmocka_unit_test(test_ledger__batch_states),
	    cmocka_unit_test(test_ledger__decode_rejects),
	    cmocka_unit_test(test_ledger__path_component),
	    cmocka_unit_test(test_ledger__usage),
	    cmocka_unit_test(test_ledger__usage_saturates),
	    cmocka_unit_test(test_ledger__store_roundtrip),
	    cmocka_unit_test(test_ledger__one_pack_per_commit),
	    cmocka_unit_test(test_ledger__concurrent_writers),
	    cmocka_unit_test(test_ledger__stale_lock),
	    cmocka_unit_test(test_ledger__not_a_repo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
