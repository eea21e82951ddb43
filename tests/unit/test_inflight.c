/* Unit tests: the in-flight journal (reconcile/inflight.c): parsing and merging (table: torn
 * last lines, corrupt lines, task merges by batch), appending with group-committed syncs, and
 * taking only a dead apply's journal. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconcile/inflight.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define HASH "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEAD(id, st)                                                                               \
	"{\"format_version\": 1, \"purge\": \"" id "\", \"endpoint\": \"www\", \"content_hash\": " \
	"\"" HASH "\", \"status\": \"" st "\", "
#define TASK(id, b)                                                                                \
	"{\"id\": \"" id "\", \"preload\": false, \"batch\": " #b ", \"state\": \"running\"}"
#define TASK_NOIDX(id)	   "{\"id\": \"" id "\", \"preload\": false, \"state\": \"running\"}"
#define REC(id, st, tasks) HEAD(id, st) "\"tasks\": [" tasks "]}"

struct parse_case {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen(in) */
	int rc;
	size_t n;	   /* records when rc == 0 */
	size_t torn;	   /* bytes ignored at the end */
	const char *tasks; /* the first record's task ids, space-separated, when rc == 0 */
	const char *msg;   /* part of the message when rc != 0 */
};

static const struct parse_case parse_cases[] = {
    {"empty", "", 0, 0, 0, 0, NULL, NULL},
    {"blank lines", "\n \t\r\n", 0, 0, 0, 0, NULL, NULL},
    {"one line", REC("p1", "submitted", TASK("t0", 0)) "\n", 0, 0, 1, 0, "t0", NULL},
    {"torn last line: a prefix", REC("p1", "submitted", TASK("t0", 0)) "\n" HEAD("p2", "sub"), 0, 0,
     1, sizeof(HEAD("p2", "sub")) - 1, "t0", NULL},
    {"torn last line that decodes whole: never read without its newline",
     REC("p1", "submitted", TASK("t0", 0)), 0, 0, 0,
     sizeof(REC("p1", "submitted", TASK("t0", 0))) - 1, NULL, NULL},
    {"torn last line: zeros after a crash", REC("p1", "submitted", TASK("t0", 0)) "\n\0\0\0\0",
     sizeof(REC("p1", "submitted", TASK("t0", 0)) "\n\0\0\0\0") - 1, 0, 1, 4, "t0", NULL},
    {"corrupt complete line", REC("p1", "submitted", TASK("t0", 0)) "\n{\"purge\": 1\n", 0,
     CF_EINVAL, 0, 0, NULL, "line 2"},
    {"not json", "garbage\n", 0, CF_EINVAL, 0, 0, NULL, "line 1"},
    {"zeros inside a complete line", "\0\0\n", 3, CF_EINVAL, 0, 0, NULL, "line 1"},
    {"bad status", REC("p1", "exploded", TASK("t0", 0)) "\n", 0, CF_EINVAL, 0, 0, NULL, "line 1"},
    {"a later line adds its batch's task",
     REC("p1", "submitted", TASK("t0", 0)) "\n" REC("p1", "submitted", TASK("t1", 1)) "\n", 0, 0, 1,
     0, "t0 t1", NULL},
    {"a later line replaces its batch's task",
     REC("p1", "submitted", TASK("t0", 0) "," TASK("t1", 1)) "\n" REC("p1", "submitted",
								      TASK("t1b", 1)) "\n",
     0, 0, 1, 0, "t0 t1b", NULL},
    {"two purges",
     REC("p1", "submitted", TASK("t0", 0)) "\n" REC("p2", "submitted", TASK("u0", 0)) "\n", 0, 0, 2,
     0, "t0", NULL},
    {"unindexed tasks: the later line replaces",
     REC("p1", "submitted", TASK_NOIDX("t0")) "\n" REC("p1", "submitted", TASK("t1", 1)) "\n", 0, 0,
     1, 0, "t1", NULL},
};

static void task_ids(const struct ledger_purge *p, struct sb *out)
{
	for (size_t i = 0; i < p->ntasks; i++)
		sb_addf(out, "%s%s", i ? " " : "", p->tasks[i].id);
}

static void test_inflight__parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct pending p = {0};
		struct cf_err e;
		size_t torn = 99;
		err_clear(&e);
		int rc = inflight_parse(c->in, c->len ? c->len : strlen(c->in), &p, &torn, &e);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d (%s)", c->name, rc, c->rc, e.msg);
		if (rc < 0) {
			if (!strstr(e.msg, c->msg))
				fail_msg("%s: message '%s' lacks '%s'", c->name, e.msg, c->msg);
			pending_release(&p);
			continue;
		}
		if (p.n != c->n)
			fail_msg("%s: %zu records, want %zu", c->name, p.n, c->n);
		if (torn != c->torn)
			fail_msg("%s: %zu torn bytes, want %zu", c->name, torn, c->torn);
		if (c->tasks) {
			struct sb ids;
			sb_init(&ids, 0);
			task_ids(&p.v[0], &ids);
			if (strcmp(ids.buf ? ids.buf : "", c->tasks) != 0)
				fail_msg("%s: tasks '%s', want '%s'", c->name, ids.buf, c->tasks);
			sb_release(&ids);
		}
		pending_release(&p);
	}
}

static void test_inflight__cap(void **state)
{
	(void)state;
	struct pending p = {0};
	struct cf_err e;
	size_t torn;
	err_clear(&e);
	assert_int_equal(inflight_parse("", PENDING_MAX_BYTES + 1, &p, &torn, &e), CF_ELIMIT);
}

static void rec_fill(struct ledger_purge *r, const char *id, const char *task, int64_t batch)
{
	memset(r, 0, sizeof(*r));
	r->id = xstrdup(id);
	r->endpoint = xstrdup("www");
	r->account = xstrdup("cn");
	memcpy(r->content_hash, HASH, sizeof(HASH));
	r->status = LEDGER_SUBMITTED;
	r->message = xstrdup("line one\nline two"); /* a newline inside a string */
	ledger_purge_add_task(r, task, NULL, false);
	r->tasks[0].batch = batch;
}

static void run(const char *fmt, ...) CF_PRINTF(1, 2);
static void run(const char *fmt, ...)
{
	struct sb cmd;
	va_list ap;
	sb_init(&cmd, 0);
	va_start(ap, fmt);
	sb_vaddf(&cmd, fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd.buf), 0);
	sb_release(&cmd);
}

static void test_inflight__append_load_take(void **state)
{
	(void)state;
	char dir[] = "/tmp/cf-inflight-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct inflight *f;
	struct ledger_purge r;
	struct pending p = {0};
	struct inflight_taken t;
	struct cf_err e;
	char id[32], task[32];
	err_clear(&e);
	assert_int_equal(inflight_open(dir, &f, &e), 0);
	/* 200 purges of two batches each, queued as fast as they come: far fewer syncs */
	for (int i = 0; i < 200; i++)
		for (int b = 0; b < 2; b++) {
			snprintf(id, sizeof(id), "p%d", i);
			snprintf(task, sizeof(task), "t%d-%d", i, b);
			rec_fill(&r, id, task, b);
			inflight_add(f, &r);
			ledger_purge_release(&r);
		}
	assert_int_equal(inflight_sync(f, &e), 0);
	size_t syncs = inflight_syncs(f);
	print_message("400 lines durable after %zu fdatasync calls\n", syncs);
	assert_true(syncs >= 1 && syncs < 100);
	/* what plan sees: every journal, the live one too */
	assert_int_equal(inflight_load(dir, &p, NULL, &e), 0);
	assert_int_equal(p.n, 200);
	assert_string_equal(p.v[7].id, "p7");
	assert_int_equal(p.v[7].ntasks, 2);
	assert_string_equal(p.v[7].tasks[1].id, "t7-1");
	assert_string_equal(p.v[7].message, "line one\nline two");
	pending_release(&p);
	/* a live apply's journal is not taken */
	assert_int_equal(inflight_load(dir, &p, &t, &e), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(p.n, 0);
	inflight_release_taken(&t, true);
	/* once its apply is gone, it is */
	inflight_close(f, false);
	assert_int_equal(inflight_load(dir, &p, &t, &e), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(p.n, 200);
	pending_release(&p);
	inflight_release_taken(&t, true);
	run("test -z \"$(ls -A '%s')\"", dir); /* removed, nothing left beside it */
	/* a finished apply removes its own */
	assert_int_equal(inflight_open(dir, &f, &e), 0);
	inflight_close(f, true);
	run("test -z \"$(ls -A '%s')\"", dir);
	run("rm -rf '%s'", dir);
}

static void test_inflight__untrusted_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/cf-inflight-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct pending p = {0};
	struct cf_err e;
	err_clear(&e);
	/* names not of the journal's form are never read */
	run("printf 'garbage\\n' >'%s/cacheform-inflight-a.b.jsonl'", dir);
	run("printf 'garbage\\n' >'%s/cacheform-inflight-XXXXXX.new'", dir);
	run("printf 'garbage\\n' >'%s/cacheform-inflight-.jsonl'", dir);
	assert_int_equal(inflight_load(dir, &p, NULL, &e), 0);
	assert_int_equal(p.n, 0);
	/* a symbolic link is refused, not followed */
	run("ln -s /etc/passwd '%s/cacheform-inflight-LINK.jsonl'", dir);
	assert_int_equal(inflight_load(dir, &p, NULL, &e), CF_EIO);
	assert_non_null(strstr(e.msg, "cacheform-inflight-LINK.jsonl"));
	run("rm '%s/cacheform-inflight-LINK.jsonl'", dir);
	/* a corrupt line names the file and the line */
	run("printf '\\n\\nnope\\n' >'%s/cacheform-inflight-BAD.jsonl'", dir);
	err_clear(&e);
	assert_int_equal(inflight_load(dir, &p, NULL, &e), CF_EINVAL);
	assert_non_null(strstr(e.msg, "cacheform-inflight-BAD.jsonl"));
	assert_non_null(strstr(e.msg, "line 3"));
	run("rm -rf '%s'", dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_inflight__parse_table),
	    cmocka_unit_test(test_inflight__cap),
	    cmocka_unit_test(test_inflight__append_load_take),
	    cmocka_unit_test(test_inflight__untrusted_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
