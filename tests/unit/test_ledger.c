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

/* ledger_endpoint_current: what makes a stored endpoint record stale, what does not. */
static void test_ledger__endpoint_current(void **state)
{
	(void)state;
	struct rule r = {0};
	r.kind = RULE_DIR;
	r.ttl = 600;
	struct cache one = {0}, other = {0}, none = {0};
	one.rules = &r;
	one.nrules = 1;
	other.ignore_query_string = true;
	char cn[] = "cn";
	struct ledger_endpoint rec = {0};
	rec.account = cn;
	memcpy(rec.digest, HASH_A, sizeof(HASH_A));
	rec.cache = one;
	struct ledger_endpoint noacct = rec;
	noacct.account = NULL;
	static const char commit_b[] = "0123456789012345678901234567890123456789";
	struct ledger_endpoint moved = rec; /* another desired commit, time and version */
	memcpy(moved.commit, commit_b, sizeof(commit_b));
	moved.applied_at = 1;
	moved.version = 7;
	const struct {
		const struct ledger_endpoint *old;
		const char *digest, *account;
		const struct cache *cache;
		bool current;
	} cases[] = {
	    {NULL, HASH_A, "cn", &one, false},	  /* no record */
	    {&rec, HASH_A, "cn", &one, true},	  /* the same */
	    {&moved, HASH_A, "cn", &one, true},	  /* only the commit, time, version moved */
	    {&rec, HASH_B, "cn", &one, false},	  /* the live state changed */
	    {&rec, HASH_A, "cn2", &one, false},	  /* moved to another account */
	    {&rec, HASH_A, "cn", &other, false},  /* other rules */
	    {&rec, HASH_A, "cn", &none, false},	  /* no rules */
	    {&noacct, HASH_A, "", &one, true},	  /* no account: "" */
	    {&noacct, HASH_A, "cn", &one, false}, /* an account now */
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++)
		if (ledger_endpoint_current(cases[i].old, cases[i].digest, cases[i].account,
					    cases[i].cache) != cases[i].current)
			fail_msg("case %zu: expected %s", i,
				 cases[i].current ? "current" : "stale");
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

/*
 * CDN Pro deployment fields survive a round trip; a staging record lives apart: read by name
 * (repo_ledger_staging), never as the endpoint's record nor by a full read.
 */
static void test_ledger__staging_records(void **state)
{
	(void)state;
	char *dir = temp_repo();
	struct repo_ledger *rl;
	struct ledger l;
	struct ledger_endpoint ep = {0}, st = {0}, got;
	assert_int_equal(repo_ledger_open(dir, &rl, NULL), 0);
	assert_int_equal(repo_ledger_staging(rl, "p00", &got, NULL), 0); /* no ledger yet */
	ep.name = xstrdup("p00");
	memcpy(ep.digest, HASH_A, sizeof(HASH_A));
	ep.version = 4;
	snprintf(ep.task, sizeof(ep.task), "prod-task");
	snprintf(ep.promoted_from, sizeof(ep.promoted_from), "stage-task");
	ledger_endpoint_copy(&st, &ep);
	st.staging = true;
	st.version = 5;
	st.promoted_from[0] = 0;
	snprintf(st.task, sizeof(st.task), "stage-task-2");
	memcpy(st.digest, HASH_B, sizeof(HASH_B));
	assert_int_equal(repo_ledger_record(rl, NULL, 0, &ep, 1, "test", NULL), 0);
	assert_int_equal(repo_ledger_staging(rl, "p00", &got, NULL), 0); /* none staged yet */
	assert_int_equal(repo_ledger_record(rl, NULL, 0, &st, 1, "test", NULL), 0);

	assert_int_equal(repo_ledger_staging(rl, "p00", &got, NULL), 1);
	assert_true(got.staging);
	assert_int_equal(got.version, 5);
	assert_string_equal(got.task, "stage-task-2");
	assert_string_equal(got.promoted_from, "");
	assert_string_equal(got.digest, HASH_B);
	ledger_endpoint_release(&got);
	assert_int_equal(repo_ledger_staging(rl, "p01", &got, NULL), 0);

	/* the endpoint record is untouched and the full read sees only it */
	assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
	assert_int_equal(l.nendpoints, 1);
	struct ledger_endpoint *e = ledger_find_endpoint(&l, "p00");
	assert_non_null(e);
	assert_false(e->staging);
	assert_int_equal(e->version, 4);
	assert_string_equal(e->task, "prod-task");
	assert_string_equal(e->promoted_from, "stage-task");
	assert_string_equal(e->digest, HASH_A);
	ledger_release(&l);
	ledger_endpoint_release(&ep);
	ledger_endpoint_release(&st);
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
	/* every record found on demand through the held fan-out directories; a name never
	 * recorded is absent */
	assert_int_equal(repo_ledger_attach(rl, &l, NULL), 0);
	for (int i = 0; i < PACKED_RECORDS; i++) {
		const struct ledger_endpoint *got = ledger_find_endpoint(&l, eps[i].name);
		assert_non_null(got);
		assert_string_equal(got->name, eps[i].name);
	}
	assert_null(ledger_find_endpoint(&l, "ep-none"));
	assert_int_equal(ledger_source_error(&l, NULL), 0);
	ledger_release(&l);
	/* a second commit over a ledger: every directory it rewrites is in its pack */
	for (int i = 0; i < PACKED_RECORDS / 3; i++)
		memcpy(eps[i].digest, HASH_A, sizeof(HASH_A));
	assert_int_equal(repo_ledger_record(rl, NULL, 0, eps, PACKED_RECORDS / 3, "some", NULL), 0);
	const char *checks[] = {
	    "test $(find .git/objects -path '*/objects/[0-9a-f][0-9a-f]/*' -type f | wc -l) = 0",
	    "test $(ls .git/objects/pack/ | grep -c '[.]pack$') = 2",
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

/* ---- the index ---- */

#define INDEX_BULK 5000

/* Keys that must not collide: the separator between id and endpoint counts. */
static const struct {
	const char *id, *ep;
} index_keys[] = {
    {"ab", "c"}, {"a", "bc"}, {"abc", ""}, {"", "abc"}, {"x/../y", "www"}, {"m", "www"},
};

static void test_ledger__index(void **state)
{
	(void)state;
	struct ledger l;
	struct ledger_purge p;
	struct ledger_endpoint ep = {0};
	char id[32];
	ledger_init(&l);
	for (size_t i = 0; i < CF_ARRAY_LEN(index_keys); i++) {
		purge_fill(&p, index_keys[i].id, index_keys[i].ep, LEDGER_SUCCEEDED);
		p.files = (int64_t)i;
		ledger_put_purge(&l, &p);
		ledger_purge_release(&p);
	}
	for (int i = 0; i < INDEX_BULK; i++) {
		snprintf(id, sizeof(id), "bulk-%d", i);
		purge_fill(&p, id, i % 2 ? "www" : "docs", LEDGER_SUBMITTED);
		ledger_put_purge(&l, &p);
		ledger_purge_release(&p);
		ep.name = id;
		ledger_put_endpoint(&l, &ep);
	}
	assert_int_equal(l.npurges, CF_ARRAY_LEN(index_keys) + INDEX_BULK);
	assert_int_equal(l.nendpoints, INDEX_BULK);
	for (size_t i = 0; i < CF_ARRAY_LEN(index_keys); i++) {
		struct ledger_purge *got =
		    ledger_find_purge(&l, index_keys[i].id, index_keys[i].ep);
		assert_non_null(got);
		assert_int_equal(got->files, (int64_t)i);
		assert_ptr_equal(got, &l.purges[i]);
	}
	static const struct {
		const char *id, *ep;
		bool found;
	} lookups[] = {
	    {"bulk-0", "docs", true},	{"bulk-0", "www", false},
	    {"bulk-4999", "www", true}, {"bulk-5000", "docs", false},
	    {"a", "b", false},		{"abc", "", true},
	    {"ab", "", false},		{"", "", false},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(lookups); i++) {
		struct ledger_purge *got = ledger_find_purge(&l, lookups[i].id, lookups[i].ep);
		print_message("%s/%s\n", lookups[i].id, lookups[i].ep);
		assert_int_equal(got != NULL, lookups[i].found);
		if (got) {
			assert_string_equal(got->id, lookups[i].id);
			assert_string_equal(got->endpoint, lookups[i].ep);
		}
	}
	assert_non_null(ledger_find_endpoint(&l, "bulk-1234"));
	assert_null(ledger_find_endpoint(&l, "bulk-12345"));
	/* a put of an existing key replaces it in place */
	purge_fill(&p, "bulk-7", "www", LEDGER_FAILED);
	ledger_put_purge(&l, &p);
	ledger_purge_release(&p);
	assert_int_equal(l.npurges, CF_ARRAY_LEN(index_keys) + INDEX_BULK);
	assert_int_equal(ledger_find_purge(&l, "bulk-7", "www")->status, LEDGER_FAILED);
	ledger_release(&l);
}

/* A source of three records, counting its reads; "bad" fails. */
struct fake_src {
	int purge_reads, endpoint_reads, all_reads;
};

static int fake_purge(void *ctx, const char *id, const char *ep, struct ledger_purge *out,
		      struct cf_err *e)
{
	struct fake_src *f = ctx;
	f->purge_reads++;
	if (strcmp(id, "bad") == 0)
		return err_set(e, CF_EINVAL, "unreadable record");
	if ((strcmp(id, "m1") == 0 || strcmp(id, "m2") == 0) && strcmp(ep, "www") == 0) {
		purge_fill(out, id, ep, LEDGER_SUCCEEDED);
		return 1;
	}
	return 0;
}

static int fake_endpoint(void *ctx, const char *name, struct ledger_endpoint *out, struct cf_err *e)
{
	struct fake_src *f = ctx;
	(void)e;
	f->endpoint_reads++;
	if (strcmp(name, "www") != 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->name = xstrdup(name);
	return 1;
}

static int fake_all(void *ctx, struct ledger *l, struct cf_err *e)
{
	struct fake_src *f = ctx;
	static const char *const ids[] = {"m1", "m2", "m3"};
	f->all_reads++;
	for (size_t i = 0; i < CF_ARRAY_LEN(ids); i++) {
		struct ledger_purge p;
		assert_int_equal(fake_purge(ctx, ids[i], "www", &p, e) == 1, i < 2);
		if (i == 2)
			purge_fill(&p, ids[i], "www", LEDGER_SUCCEEDED);
		ledger_adopt_purge(l, &p);
	}
	return 0;
}

static void test_ledger__on_demand(void **state)
{
	(void)state;
	struct fake_src f = {0};
	struct ledger_source src = {&f, fake_purge, fake_endpoint, fake_all, NULL, NULL};
	struct ledger l;
	ledger_init(&l);
	ledger_set_source(&l, &src);
	static const struct {
		const char *id, *ep;
		bool found;
		int reads; /* the source's purge reads after this lookup */
	} steps[] = {
	    {"m1", "www", true, 1},   {"m1", "www", true, 1},	/* read once */
	    {"m1", "docs", false, 2}, {"m1", "docs", false, 2}, /* a miss is remembered */
	    {"m2", "www", true, 3},   {"m1", "www", true, 3},
	};
	struct ledger_purge *m1 = NULL;
	for (size_t i = 0; i < CF_ARRAY_LEN(steps); i++) {
		struct ledger_purge *got = ledger_find_purge(&l, steps[i].id, steps[i].ep);
		assert_int_equal(got != NULL, steps[i].found);
		assert_int_equal(f.purge_reads, steps[i].reads);
		if (i == 0)
			m1 = got;
	}
	/* records loaded on demand never move: many more loads and puts later, m1 is where it was
	 */
	for (int i = 0; i < 200; i++) {
		char id[32];
		struct ledger_purge p;
		snprintf(id, sizeof(id), "other-%d", i);
		assert_null(ledger_find_purge(&l, id, "www"));
		purge_fill(&p, id, "docs", LEDGER_SUBMITTED);
		ledger_put_purge(&l, &p);
		ledger_purge_release(&p);
	}
	assert_ptr_equal(ledger_find_purge(&l, "m1", "www"), m1);
	/* a put of a key remembered as absent makes it present */
	struct ledger_purge p;
	purge_fill(&p, "m1", "docs", LEDGER_FAILED);
	ledger_put_purge(&l, &p);
	ledger_purge_release(&p);
	assert_int_equal(ledger_find_purge(&l, "m1", "docs")->status, LEDGER_FAILED);
	assert_non_null(ledger_find_endpoint(&l, "www"));
	assert_null(ledger_find_endpoint(&l, "docs"));
	assert_null(ledger_find_endpoint(&l, "docs"));
	assert_int_equal(f.endpoint_reads, 2);
	/* the quota sum reads everything once: m1, m2, m3 (3 files each) and m1/docs */
	int64_t files, dirs;
	assert_int_equal(ledger_usage(&l, "cn", 0, INT64_MAX, &files, &dirs, NULL), 0);
	assert_int_equal(files, 3 * 3 + 200 * 3 + 3);
	assert_int_equal(f.all_reads, 1);
	assert_int_equal(ledger_usage(&l, "cn", 0, INT64_MAX, &files, &dirs, NULL), 0);
	assert_int_equal(f.all_reads, 1);
	assert_ptr_equal(ledger_find_purge(&l, "m1", "www"), m1);
	assert_int_equal(ledger_source_error(&l, NULL), 0);
	/* a failed read is not "absent": it is remembered and reported */
	assert_null(ledger_find_purge(&l, "bad", "www"));
	ledger_release(&l);
	ledger_init(&l);
	ledger_set_source(&l, &src);
	assert_null(ledger_find_purge(&l, "bad", "www"));
	struct cf_err e;
	err_clear(&e);
	assert_int_equal(ledger_source_error(&l, &e), CF_EINVAL);
	assert_non_null(strstr(e.msg, "unreadable"));
	assert_int_equal(ledger_usage(&l, "cn", 0, INT64_MAX, &files, &dirs, NULL), CF_EINVAL);
	ledger_release(&l);
}

/* ---- layouts, incremental commits, compaction ---- */

static void sh(const char *dir, const char *script)
{
	struct sb cmd;
	sb_init(&cmd, 0);
	sb_addf(&cmd, "cd '%s' && %s", dir, script);
	print_message("%s\n", cmd.buf);
	assert_int_equal(system(cmd.buf), 0);
	sb_release(&cmd);
}

static void write_file(const char *path, const struct sb *body)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(body->buf, 1, body->len, f), body->len);
	fclose(f);
}

/* A ledger as cacheform wrote it before the v2 layout: purges/<id>/<ep>.json, endpoints/. */
static void old_layout(const char *dir)
{
	struct sb path, body;
	struct ledger_purge p;
	struct ledger_endpoint ep = {0};
	sb_init(&path, 0);
	sb_init(&body, 0);
	sh(dir, "mkdir -p old/purges/m1 old/endpoints");
	static const struct {
		const char *ep;
		enum ledger_status st;
	} recs[] = {{"www", LEDGER_SUCCEEDED}, {"docs", LEDGER_SUBMITTED}};
	for (size_t i = 0; i < CF_ARRAY_LEN(recs); i++) {
		purge_fill(&p, "m1", recs[i].ep, recs[i].st);
		sb_reset(&body);
		sb_reset(&path);
		assert_int_equal(ledger_purge_encode(&p, &body), 0);
		sb_addf(&path, "%s/old/purges/m1/%s.json", dir, recs[i].ep);
		write_file(path.buf, &body);
		ledger_purge_release(&p);
	}
	ep.name = (char *)"www";
	sb_reset(&body);
	sb_reset(&path);
	assert_int_equal(ledger_endpoint_encode(&ep, &body), 0);
	sb_addf(&path, "%s/old/endpoints/www.json", dir);
	write_file(path.buf, &body);
	sh(dir, "export GIT_INDEX_FILE=$PWD/.git/old-index && git --work-tree=old add -A && "
		"c=$(git -c user.name=t -c user.email=t@example.com commit-tree -m old "
		"$(git write-tree)) && git update-ref refs/cacheform/ledger $c && rm -rf old");
	sb_release(&path);
	sb_release(&body);
}

static void test_ledger__old_layout(void **state)
{
	(void)state;
	char *dir = temp_repo();
	struct repo_ledger *rl;
	struct ledger l;
	old_layout(dir);
	assert_int_equal(repo_ledger_open(dir, &rl, NULL), 0);
	static const struct {
		const char *id, *ep;
		int status; /* -1: absent */
	} want[] = {
	    {"m1", "www", LEDGER_SUCCEEDED},
	    {"m1", "docs", LEDGER_SUBMITTED},
	    {"m2", "www", -1},
	};
	for (int round = 0; round < 2; round++) {
		/* round 0: the old layout as it is; round 1: after m1/docs moved to v2 */
		assert_int_equal(repo_ledger_attach(rl, &l, NULL), 0);
		for (size_t i = 0; i < CF_ARRAY_LEN(want); i++) {
			const struct ledger_purge *got =
			    ledger_find_purge(&l, want[i].id, want[i].ep);
			int st = got ? (int)got->status : -1;
			if (round == 1 && i == 1)
				assert_int_equal(st, LEDGER_SUCCEEDED);
			else
				assert_int_equal(st, want[i].status);
		}
		assert_non_null(ledger_find_endpoint(&l, "www"));
		ledger_release(&l);
		assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
		assert_int_equal(l.npurges, 2);
		assert_int_equal(l.nendpoints, 1);
		ledger_release(&l);
		/* one manifest's records (ledger show): in either layout, nothing of the others */
		static const struct {
			const char *id;
			size_t npurges, nendpoints;
		} one[] = {{"m1", 2, 0}, {"m2", 0, 0}, {"www", 0, 1}};
		for (size_t i = 0; i < CF_ARRAY_LEN(one); i++) {
			assert_int_equal(repo_ledger_read_manifest(rl, one[i].id, &l, NULL), 0);
			assert_int_equal(l.npurges, one[i].npurges);
			assert_int_equal(l.nendpoints, one[i].nendpoints);
			for (size_t k = 0; k < l.npurges; k++)
				assert_int_equal(l.purges[k].status,
						 strcmp(l.purges[k].endpoint, "www") == 0 ||
							 round == 1
						     ? LEDGER_SUCCEEDED
						     : LEDGER_SUBMITTED);
			ledger_release(&l);
		}
		if (round == 0) {
			struct ledger_purge p;
			struct ledger_endpoint ep = {0};
			purge_fill(&p, "m1", "docs", LEDGER_SUCCEEDED);
			ep.name = (char *)"www";
			assert_int_equal(repo_ledger_record(rl, &p, 1, &ep, 1, "move", NULL), 0);
			ledger_purge_release(&p);
		}
	}
	/* the rewritten records moved (old paths gone, empty directories too); m1/www stayed */
	sh(dir, "t=$(git ls-tree -r --name-only refs/cacheform/ledger) && "
		"echo \"$t\" | grep -qx purges/m1/www.json && "
		"! echo \"$t\" | grep -q '^purges/m1/docs.json\\|^endpoints/' && "
		"echo \"$t\" | grep -qx 'v2/purges/../../m1/docs.json' && "
		"echo \"$t\" | grep -qx 'v2/endpoints/../../www.json' && "
		"! git ls-tree -d refs/cacheform/ledger endpoints | grep -q .");
	repo_ledger_close(rl);
	rm_rf(dir);
	free(dir);
}

#define INCR_MANIFESTS 1000
/* commit, root, v2, purges, two fan-out levels, the manifest's directory, the record; and
 * for its day: days, the day, two fan-out levels, the manifest's directory (same blob) */
#define INCR_MAX_OBJECTS 13

/* A commit writes its record and the trees on its path, nothing else. */
static void test_ledger__incremental_commit(void **state)
{
	(void)state;
	char *dir = temp_repo();
	struct repo_ledger *rl;
	struct ledger_purge *v = xcalloc(2 * INCR_MANIFESTS, sizeof(*v));
	assert_int_equal(repo_ledger_open(dir, &rl, NULL), 0);
	for (int i = 0; i < 2 * INCR_MANIFESTS; i++) {
		char id[32];
		snprintf(id, sizeof(id), "m-%d", i / 2);
		purge_fill(&v[i], id, i % 2 ? "www" : "docs", LEDGER_SUCCEEDED);
	}
	assert_int_equal(repo_ledger_record(rl, v, 2 * INCR_MANIFESTS, NULL, 0, "bulk", NULL), 0);
	v[777].status = LEDGER_FAILED;
	assert_int_equal(repo_ledger_record(rl, &v[777], 1, NULL, 0, "one", NULL), 0);
	struct sb cmd;
	sb_init(&cmd, 0);
	sb_addf(&cmd,
		"test $(git rev-list --objects refs/cacheform/ledger ^refs/cacheform/ledger~1 | "
		"wc -l) -le %d && test $(git diff-tree -r --name-only refs/cacheform/ledger~1 "
		"refs/cacheform/ledger | wc -l) = 2 && "
		"test $(git verify-pack -v $(ls -t .git/objects/pack/*.idx | head -1) | "
		"grep -c -E '^[0-9a-f]{40} (blob|tree|commit) ') -le %d",
		INCR_MAX_OBJECTS, INCR_MAX_OBJECTS);
	sh(dir, cmd.buf);
	sb_release(&cmd);
	struct ledger l;
	assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
	assert_int_equal(l.npurges, 2 * INCR_MANIFESTS);
	assert_int_equal(ledger_find_purge(&l, v[777].id, v[777].endpoint)->status, LEDGER_FAILED);
	ledger_release(&l);
	assert_int_equal(repo_ledger_attach(rl, &l, NULL), 0);
	assert_int_equal(ledger_find_purge(&l, "m-388", "www")->status, LEDGER_FAILED);
	assert_int_equal(ledger_find_purge(&l, "m-999", "docs")->status, LEDGER_SUCCEEDED);
	assert_null(ledger_find_purge(&l, "m-1000", "docs"));
	ledger_release(&l);
	for (int i = 0; i < 2 * INCR_MANIFESTS; i++)
		ledger_purge_release(&v[i]);
	free(v);
	repo_ledger_close(rl);
	rm_rf(dir);
	free(dir);
}

#define T_OLD	 1763715600 /* 2025-11-21T09:00:00Z */
#define T_CUT	 (T_OLD + 86400)
#define T_RECENT (T_OLD + 2 * 86400)

static void test_ledger__compact(void **state)
{
	(void)state;
	static const struct {
		const char *id, *ep;
		enum ledger_status st;
		int64_t finished;
		bool compacted;
	} recs[] = {
	    {"a", "www", LEDGER_SUCCEEDED, T_OLD, true},
	    {"a", "docs", LEDGER_MARKED, T_OLD, true},
	    {"b", "www", LEDGER_FAILED, T_OLD, false}, /* still to be retried */
	    {"c", "www", LEDGER_SUCCEEDED, T_RECENT, false},
	    {"d", "www", LEDGER_SUBMITTED, 0, false},
	    {"e", "www", LEDGER_UNKNOWN, 0, false},
	};
	char *dir = temp_repo();
	struct repo_ledger *rl;
	struct ledger_purge p;
	struct ledger l;
	size_t nrec, nman;
	int64_t f0, d0, f1, d1;
	assert_int_equal(repo_ledger_open(dir, &rl, NULL), 0);
	for (size_t i = 0; i < CF_ARRAY_LEN(recs); i++) {
		purge_fill(&p, recs[i].id, recs[i].ep, recs[i].st);
		p.finished_at = recs[i].finished;
		ledger_purge_add_task(&p, "task", "http://127.0.0.1:1/t", false);
		assert_int_equal(repo_ledger_record(rl, &p, 1, NULL, 0, "rec", NULL), 0);
		ledger_purge_release(&p);
	}
	assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
	assert_int_equal(ledger_usage(&l, "cn", 0, INT64_MAX, &f0, &d0, NULL), 0);
	ledger_release(&l);
	assert_int_equal(repo_ledger_compact(rl, T_CUT, "compact", &nrec, &nman, NULL), 0);
	assert_int_equal(nrec, 2);
	assert_int_equal(nman, 1);
	for (int how = 0; how < 2; how++) {
		/* a full read and lookups on demand see the same records */
		if (how == 0)
			assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
		else
			assert_int_equal(repo_ledger_attach(rl, &l, NULL), 0);
		for (size_t i = 0; i < CF_ARRAY_LEN(recs); i++) {
			const struct ledger_purge *got =
			    ledger_find_purge(&l, recs[i].id, recs[i].ep);
			assert_non_null(got);
			assert_int_equal(got->status, recs[i].st);
			assert_int_equal(got->compacted, recs[i].compacted);
			assert_int_equal(got->ntasks, recs[i].compacted ? 0 : 1);
			assert_int_equal(got->files, 3);
			assert_int_equal(got->submitted_at, T_OLD);
			assert_string_equal(got->content_hash, HASH_A);
		}
		assert_int_equal(ledger_usage(&l, "cn", 0, INT64_MAX, &f1, &d1, NULL), 0);
		assert_int_equal(f1, f0);
		assert_int_equal(d1, d0);
		if (how == 0)
			assert_int_equal(l.npurges, CF_ARRAY_LEN(recs));
		ledger_release(&l);
	}
	sh(dir, "t=$(git ls-tree -r --name-only refs/cacheform/ledger) && "
		"test $(echo \"$t\" | grep -c '^v2/compacted/../../a[.]json$') = 1 && "
		"! echo \"$t\" | grep -q '^v2/purges/.*/a/'");
	/* a later compaction merges into the manifest's summary */
	purge_fill(&p, "a", "cdn", LEDGER_SUCCEEDED);
	assert_int_equal(repo_ledger_record(rl, &p, 1, NULL, 0, "rec", NULL), 0);
	ledger_purge_release(&p);
	assert_int_equal(repo_ledger_compact(rl, T_CUT, "compact", &nrec, &nman, NULL), 0);
	assert_int_equal(nrec, 1);
	assert_int_equal(nman, 1);
	assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
	assert_int_equal(l.npurges, CF_ARRAY_LEN(recs) + 1);
	assert_true(ledger_find_purge(&l, "a", "www")->compacted);
	assert_true(ledger_find_purge(&l, "a", "cdn")->compacted);
	ledger_release(&l);
	assert_int_equal(repo_ledger_compact(rl, T_CUT, "compact", &nrec, &nman, NULL), 0);
	assert_int_equal(nrec, 0);
	/* a "submitted" record cannot replace a compacted (final) one */
	purge_fill(&p, "a", "www", LEDGER_SUBMITTED);
	assert_int_equal(repo_ledger_record(rl, &p, 1, NULL, 0, "rec", NULL), 0);
	ledger_purge_release(&p);
	assert_int_equal(repo_ledger_attach(rl, &l, NULL), 0);
	assert_int_equal(ledger_find_purge(&l, "a", "www")->status, LEDGER_SUCCEEDED);
	ledger_release(&l);
	repo_ledger_close(rl);
	rm_rf(dir);
	free(dir);
}

/* A day's quota sum reads that day's records only (v2/days), and stays right as they move. */
static void test_ledger__quota_window(void **state)
{
	(void)state;
	static const struct {
		const char *id;
		int64_t submitted; /* days after T_OLD's day */
		int64_t files;
	} recs[] = {
	    {"d0-a", 0, 1}, {"d0-b", 0, 2}, {"d1-a", 1, 4}, {"d2-a", 2, 8}, {"none", -1, 16},
	};
	static const struct {
		int64_t from, days; /* window, in days after T_OLD's day */
		int64_t files;
		size_t loaded; /* records in the arrays after the sum: only the window's */
	} sums[] = {
	    {0, 1, 3, 2}, {1, 1, 4, 1}, {0, 2, 7, 3}, {2, 1, 8, 1}, {3, 1, 0, 0},
	};
	int64_t day0 = T_OLD - T_OLD % 86400;
	char *dir = temp_repo();
	struct repo_ledger *rl;
	struct ledger_purge p;
	struct ledger l;
	int64_t f, d;
	assert_int_equal(repo_ledger_open(dir, &rl, NULL), 0);
	for (size_t i = 0; i < CF_ARRAY_LEN(recs); i++) {
		purge_fill(&p, recs[i].id, "www", LEDGER_SUCCEEDED);
		p.submitted_at = recs[i].submitted < 0 ? 0 : day0 + recs[i].submitted * 86400 + 60;
		p.files = recs[i].files;
		assert_int_equal(repo_ledger_record(rl, &p, 1, NULL, 0, "rec", NULL), 0);
		ledger_purge_release(&p);
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(sums); i++) {
		int64_t since = day0 + sums[i].from * 86400;
		assert_int_equal(repo_ledger_attach(rl, &l, NULL), 0);
		assert_int_equal(
		    ledger_usage(&l, "cn", since, since + sums[i].days * 86400, &f, &d, NULL), 0);
		print_message("window %d+%d\n", (int)sums[i].from, (int)sums[i].days);
		assert_int_equal(f, sums[i].files);
		assert_int_equal(l.npurges, sums[i].loaded);
		ledger_release(&l);
	}
	/* resubmitted a day later: it leaves day 0's directory for day 1's */
	purge_fill(&p, "d0-b", "www", LEDGER_SUCCEEDED);
	p.submitted_at = day0 + 86400 + 120;
	p.files = 2;
	assert_int_equal(repo_ledger_record(rl, &p, 1, NULL, 0, "rec", NULL), 0);
	ledger_purge_release(&p);
	assert_int_equal(repo_ledger_attach(rl, &l, NULL), 0);
	assert_int_equal(ledger_usage(&l, "cn", day0, day0 + 86400, &f, &d, NULL), 0);
	assert_int_equal(f, 1);
	assert_int_equal(ledger_usage(&l, "cn", day0 + 86400, day0 + 2 * 86400, &f, &d, NULL), 0);
	assert_int_equal(f, 6);
	ledger_release(&l);
	/* compaction drops old day directories; a full read still sums every day */
	size_t nrec, nman;
	assert_int_equal(repo_ledger_compact(rl, day0 + 3 * 86400, "compact", &nrec, &nman, NULL),
			 0);
	assert_int_equal(nrec, CF_ARRAY_LEN(recs));
	sh(dir, "! git ls-tree -r --name-only refs/cacheform/ledger | grep -q '^v2/days/'");
	assert_int_equal(repo_ledger_read(rl, &l, NULL), 0);
	assert_int_equal(ledger_usage(&l, "cn", day0, day0 + 3 * 86400, &f, &d, NULL), 0);
	assert_int_equal(f, 1 + 2 + 4 + 8);
	ledger_release(&l);
	repo_ledger_close(rl);
	rm_rf(dir);
	free(dir);
}

static void test_ledger__summary_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "[]",
	    "{\"purge\": \"a\"}",
	    "{\"purge\": \"a\", \"records\": [{\"purge\": \"b\", \"endpoint\": \"www\", "
	    "\"status\": \"succeeded\"}]}",
	    "{\"purge\": \"a\", \"records\": [{\"purge\": \"a\", \"endpoint\": \"www\", "
	    "\"status\": \"submitted\"}]}",
	    "{\"format_version\": 2, \"purge\": \"a\", \"records\": []}",
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		struct ledger_purge *v = (struct ledger_purge *)1;
		size_t n = 7;
		print_message("%s\n", bad[i]);
		assert_int_equal(ledger_summary_decode(bad[i], strlen(bad[i]), &v, &n, NULL),
				 CF_EINVAL);
		assert_null(v);
		assert_int_equal(n, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ledger__purge_roundtrip),
	    cmocka_unit_test(test_ledger__batch_states),
	    cmocka_unit_test(test_ledger__decode_rejects),
	    cmocka_unit_test(test_ledger__path_component),
	    cmocka_unit_test(test_ledger__endpoint_current),
	    cmocka_unit_test(test_ledger__usage),
	    cmocka_unit_test(test_ledger__usage_saturates),
	    cmocka_unit_test(test_ledger__store_roundtrip),
	    cmocka_unit_test(test_ledger__one_pack_per_commit),
	    cmocka_unit_test(test_ledger__concurrent_writers),
	    cmocka_unit_test(test_ledger__stale_lock),
	    cmocka_unit_test(test_ledger__not_a_repo),
	    cmocka_unit_test(test_ledger__index),
	    cmocka_unit_test(test_ledger__on_demand),
	    cmocka_unit_test(test_ledger__old_layout),
	    cmocka_unit_test(test_ledger__incremental_commit),
	    cmocka_unit_test(test_ledger__compact),
	    cmocka_unit_test(test_ledger__quota_window),
	    cmocka_unit_test(test_ledger__summary_rejects),
	    cmocka_unit_test(test_ledger__staging_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
