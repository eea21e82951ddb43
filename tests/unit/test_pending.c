/* Unit tests: the pending journal (reconcile/pending.c): parsing (table), saving and loading
 * atomically, and its overlay on the ledger snapshot. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "reconcile/pending.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define HASH "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define REC(id, ep, st)                                                                            \
	"{\"format_version\": 1, \"purge\": \"" id "\", \"endpoint\": \"" ep                       \
	"\", \"content_hash\": \"" HASH "\", \"status\": \"" st "\", \"tasks\": []}"

struct parse_case {
	const char *name;
	const char *in;
	int rc;		    /* 0 or the error code */
	size_t n;	    /* records when rc == 0 */
	const char *status; /* of the first record when rc == 0 and n > 0 */
	const char *msg;    /* part of the message when rc != 0 */
};

static const struct parse_case parse_cases[] = {
    {"empty", "", 0, 0, NULL, NULL},
    {"blank lines", "\n  \n\t\r\n", 0, 0, NULL, NULL},
    {"one", REC("p1", "www", "submitted") "\n", 0, 1, "submitted", NULL},
    {"no final newline", REC("p1", "www", "submitted"), 0, 1, "submitted", NULL},
    {"two", REC("p1", "www", "submitted") "\n" REC("p2", "www", "succeeded") "\n", 0, 2,
     "submitted", NULL},
    {"later replaces earlier",
     REC("p1", "www", "submitted") "\n" REC("p1", "www", "succeeded") "\n", 0, 1, "succeeded",
     NULL},
    {"same id, two endpoints", REC("p1", "www", "submitted") "\n" REC("p1", "img", "submitted"), 0,
     2, "submitted", NULL},
    {"not json", "{\n", CF_EINVAL, 0, NULL, "line 1"},
    {"bad second line", REC("p1", "www", "submitted") "\n[1,2]\n", CF_EINVAL, 0, NULL, "line 2"},
    {"unknown status", REC("p1", "www", "exploded") "\n", CF_EINVAL, 0, NULL, "line 1"},
    {"no endpoint", "{\"format_version\": 1, \"purge\": \"p\", \"status\": \"submitted\"}\n",
     CF_EINVAL, 0, NULL, "line 1"},
};

static void test_pending__parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct pending p;
		struct cf_err e;
		err_clear(&e);
		int rc = pending_parse(c->in, strlen(c->in), &p, &e);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d (%s)", c->name, rc, c->rc, e.msg);
		if (rc < 0) {
			if (!strstr(e.msg, c->msg))
				fail_msg("%s: message '%s' lacks '%s'", c->name, e.msg, c->msg);
			assert_int_equal(p.n, 0);
			continue;
		}
		if (p.n != c->n)
			fail_msg("%s: %zu records, want %zu", c->name, p.n, c->n);
		if (c->status)
			assert_string_equal(ledger_status_name(p.v[0].status), c->status);
		pending_release(&p);
	}
}

static void test_pending__cap(void **state)
{
	(void)state;
	struct pending p;
	struct cf_err e;
	err_clear(&e);
	assert_int_equal(pending_parse("", PENDING_MAX_BYTES + 1, &p, &e), CF_ELIMIT);
}

static void rec_fill(struct ledger_purge *r, const char *id, enum ledger_status st)
{
	memset(r, 0, sizeof(*r));
	r->id = xstrdup(id);
	r->endpoint = xstrdup("www");
	r->account = xstrdup("cn");
	memcpy(r->content_hash, HASH, sizeof(HASH));
	r->status = st;
	r->message = xstrdup("line one\nline two"); /* a newline inside a string */
	ledger_purge_add_task(r, "task-1", NULL, false);
}

static void test_pending__save_load_remove(void **state)
{
	(void)state;
	char dir[] = "/tmp/cf-pending-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct ledger_purge r[2];
	struct pending p;
	struct cf_err e;
	err_clear(&e);
	rec_fill(&r[0], "p1", LEDGER_SUBMITTED);
	rec_fill(&r[1], "p2", LEDGER_SUBMITTED);
	assert_int_equal(pending_load(dir, &p, &e), 0); /* none yet */
	assert_int_equal(p.n, 0);
	assert_int_equal(pending_save(dir, &r[0], 1, &e), 0);
	r[0].status = LEDGER_SUCCEEDED;
	assert_int_equal(pending_save(dir, r, 2, &e), 0); /* appended; p1 again */
	assert_int_equal(pending_load(dir, &p, &e), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.v[0].id, "p1");
	assert_int_equal(p.v[0].status, LEDGER_SUCCEEDED);
	assert_string_equal(p.v[0].message, "line one\nline two");
	assert_string_equal(p.v[1].tasks[0].id, "task-1");
	pending_release(&p);
	/* no temporary file left beside it */
	struct sb cmd;
	sb_init(&cmd, 0);
	sb_addf(&cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd.buf), 0);
	assert_int_equal(pending_remove(dir, &e), 0);
	assert_int_equal(pending_remove(dir, &e), 0); /* already gone: fine */
	assert_int_equal(pending_load(dir, &p, &e), 0);
	assert_int_equal(p.n, 0);
	/* a journal that cannot be written says so */
	assert_int_equal(pending_save("/nonexistent-dir-cf", r, 1, &e), CF_EIO);
	sb_reset(&cmd);
	sb_addf(&cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd.buf), 0);
	sb_release(&cmd);
	ledger_purge_release(&r[0]);
	ledger_purge_release(&r[1]);
}

struct overlay_case {
	const char *name;
	int have;		 /* -1: no record in the ledger, else its status */
	enum ledger_status pend; /* the journal's */
	enum ledger_status want;
};

static const struct overlay_case overlay_cases[] = {
    {"absent", -1, LEDGER_SUBMITTED, LEDGER_SUBMITTED},
    {"over a claim", LEDGER_CLAIMED, LEDGER_SUBMITTED, LEDGER_SUBMITTED},
    {"over unknown", LEDGER_UNKNOWN, LEDGER_SUCCEEDED, LEDGER_SUCCEEDED},
    {"not over succeeded", LEDGER_SUCCEEDED, LEDGER_SUBMITTED, LEDGER_SUCCEEDED},
    {"not over failed", LEDGER_FAILED, LEDGER_SUBMITTED, LEDGER_FAILED},
};

static void test_pending__overlay_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(overlay_cases) / sizeof(overlay_cases[0]); i++) {
		const struct overlay_case *c = &overlay_cases[i];
		struct ledger l;
		struct ledger_purge r;
		struct pending p = {0};
		ledger_init(&l);
		if (c->have >= 0) {
			rec_fill(&r, "p1", (enum ledger_status)c->have);
			ledger_put_purge(&l, &r);
			ledger_purge_release(&r);
		}
		rec_fill(&r, "p1", c->pend);
		p.v = &r;
		p.n = 1;
		pending_overlay(&p, &l);
		const struct ledger_purge *got = ledger_find_purge(&l, "p1", "www");
		assert_non_null(got);
		if (got->status != c->want)
			fail_msg("%s: %s, want %s", c->name, ledger_status_name(got->status),
				 ledger_status_name(c->want));
		ledger_purge_release(&r);
		ledger_release(&l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pending__parse_table),
	    cmocka_unit_test(test_pending__cap),
	    cmocka_unit_test(test_pending__save_load_remove),
	    cmocka_unit_test(test_pending__overlay_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
